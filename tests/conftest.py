"""Shared fixtures.

- ``server``: a real HTTP/1.1 server on 127.0.0.1 (``FlakyServer``), scriptable per path.
- ``instant``: every retry wait skipped (computed and reported, not slept).
- ``make_client``: parametrized over ``sync`` and ``async``; returns a factory of
  :class:`Both`, a facade with awaitable methods over either client flavour, so a
  behaviour is written once and runs over both clients.
"""

from __future__ import annotations

import inspect
import os
import ssl
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any

import pytest

import axios_like
from axios_like.testing import instant_retries
from axios_like.testing.server import FlakyServer
from tests import _core_coverage


@pytest.fixture
def server() -> Iterator[FlakyServer]:
    with FlakyServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def _module_server() -> Iterator[FlakyServer]:
    with FlakyServer() as srv:
        yield srv


@pytest.fixture
def module_server(_module_server: FlakyServer) -> FlakyServer:
    """One server for a whole test module (starting one costs ~50 ms), reset per test.

    For modules whose tests do not count connections (``reset()`` keeps the count).
    """
    _module_server.reset()
    return _module_server


@pytest.fixture
def instant() -> Iterator[None]:
    with instant_retries():
        yield


#: One SSL context for every test client: httpx builds a new one per client (~35 ms),
#: which would dominate the suite's run time. Tests that pass verify= or transport= keep theirs.
_SSL_CONTEXT = ssl.create_default_context()


class Both:
    """One client of either flavour behind awaitable methods."""

    def __init__(self, is_async: bool, config: dict[str, Any]) -> None:
        self.is_async = is_async
        if "verify" not in config and "transport" not in config:
            config = {**config, "verify": _SSL_CONTEXT}
        self.client: axios_like.Client | axios_like.AsyncClient = (
            axios_like.create_async(config) if is_async else axios_like.create(config)
        )

    @property
    def interceptors(self) -> axios_like.Interceptors:
        return self.client.interceptors

    async def request(self, method: str, url: str, **config: Any) -> axios_like.Response:
        result = self.client.request(method, url, **config)
        if inspect.isawaitable(result):
            return await result
        return result

    async def get(self, url: str, **config: Any) -> axios_like.Response:
        return await self.request("GET", url, **config)

    async def post(self, url: str, **config: Any) -> axios_like.Response:
        return await self.request("POST", url, **config)

    async def put(self, url: str, **config: Any) -> axios_like.Response:
        return await self.request("PUT", url, **config)

    async def delete(self, url: str, **config: Any) -> axios_like.Response:
        return await self.request("DELETE", url, **config)

    async def read_stream(self, method: str, url: str, **config: Any) -> tuple[int, bytes]:
        """Open ``stream()``, read the whole body; return (status, body)."""
        if isinstance(self.client, axios_like.AsyncClient):
            async with self.client.stream(method, url, **config) as r:
                return r.status, await r.aread()
        with self.client.stream(method, url, **config) as r:
            return r.status, r.read()

    async def close(self) -> None:
        if isinstance(self.client, axios_like.AsyncClient):
            await self.client.aclose()
        else:
            self.client.close()


#: ``AXIOS_LIKE_TEST_TRANSPORT=aiohttp``: async clients of ``make_client`` send through
#: ``axios_like.transports.aiohttp_transport()``; ``=urllib3``: sync clients send through
#: ``axios_like.transports.urllib3_transport()`` (see docs/performance.md).
TEST_TRANSPORT = os.environ.get("AXIOS_LIKE_TEST_TRANSPORT", "")


@pytest.fixture(params=["sync", "async"])
async def make_client(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Both]]:
    made: list[Both] = []

    def factory(config: dict[str, Any] | None = None, **kwargs: Any) -> Both:
        config = {**(config or {}), **kwargs}
        # AXIOS_LIKE_TEST_TRANSPORT=aiohttp runs the async half over the aiohttp transport.
        if request.param == "async" and TEST_TRANSPORT == "aiohttp" and "transport" not in config:
            config["transport"] = axios_like.transports.aiohttp_transport()
        # AXIOS_LIKE_TEST_TRANSPORT=urllib3 runs the sync half over the urllib3 transport.
        if request.param == "sync" and TEST_TRANSPORT == "urllib3" and "transport" not in config:
            config["transport"] = axios_like.transports.urllib3_transport()
        both = Both(request.param == "async", config)
        made.append(both)
        return both

    yield factory
    for both in made:
        await both.close()


# ---------------------------------------------------------------- the core's coverage floor


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """After the tests, and after pytest-cov (an inner wrapper) has combined its data:
    fail the run if a core module is below 100% branch coverage (tests/_core_coverage.py)."""
    result = yield
    _core_coverage.check(session)
    return result
