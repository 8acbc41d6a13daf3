"""``get``, ``post``, ... written once for both clients: each is ``request(METHOD, url, ...)``."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

import httpx
from typing_extensions import Unpack

from ._config import RequestConfig, RequestOptions
from ._models import Response

__all__ = ["AsyncVerbs", "Verbs"]

R = TypeVar("R")


class _Verbs(Generic[R]):
    def request(
        self,
        method: str | RequestConfig,
        url: str | httpx.URL | None = None,
        **config: Unpack[RequestOptions],
    ) -> R:
        raise NotImplementedError

    def get(self, url: str | httpx.URL, **config: Unpack[RequestOptions]) -> R:
        """``request("GET", url, **config)``."""
        return self.request("GET", url, **config)

    def post(self, url: str | httpx.URL, **config: Unpack[RequestOptions]) -> R:
        """``request("POST", url, **config)``: pass the body as ``data=`` (dict -> JSON)."""
        return self.request("POST", url, **config)

    def put(self, url: str | httpx.URL, **config: Unpack[RequestOptions]) -> R:
        """``request("PUT", url, **config)``."""
        return self.request("PUT", url, **config)

    def patch(self, url: str | httpx.URL, **config: Unpack[RequestOptions]) -> R:
        """``request("PATCH", url, **config)``."""
        return self.request("PATCH", url, **config)

    def delete(self, url: str | httpx.URL, **config: Unpack[RequestOptions]) -> R:
        """``request("DELETE", url, **config)``."""
        return self.request("DELETE", url, **config)

    def head(self, url: str | httpx.URL, **config: Unpack[RequestOptions]) -> R:
        """``request("HEAD", url, **config)``."""
        return self.request("HEAD", url, **config)

    def options(self, url: str | httpx.URL, **config: Unpack[RequestOptions]) -> R:
        """``request("OPTIONS", url, **config)``."""
        return self.request("OPTIONS", url, **config)


class Verbs(_Verbs[Response]):
    """The HTTP verb methods of the sync ``Client``."""


class AsyncVerbs(_Verbs[Coroutine[Any, Any, Response]]):
    """The HTTP verb methods of ``AsyncClient`` (each returns an awaitable)."""
