"""Records the library hands to users: ``Response``, ``HistoryEntry``, ``RetryEvent``, ``Replay``.

Pure data: no I/O here except what a ``Response`` delegates to its httpx
response when the user streams it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

import httpx

from ._exceptions import AxiosLikeError, HTTPStatusError, StreamError, from_httpx
from ._redact import redact_url

__all__ = ["HistoryEntry", "Replay", "Response", "RetryEvent", "decode_body"]

#: What reading a streamed body can raise in httpx (StreamError is not an HTTPError).
_STREAM_ERRORS = (httpx.HTTPError, httpx.StreamError)
_TEXT_HINTS = ("text/", "xml", "javascript", "x-www-form-urlencoded", "charset=")


def decode_body(raw: httpx.Response) -> Any:
    """Decode a read body the axios way: JSON when it is JSON, else text, else bytes.

    - a ``Content-Type`` mentioning ``json`` -> parsed JSON (text if it does not parse);
    - a textual type (``text/*``, XML, JavaScript, form, or any ``charset=``) -> ``str``;
    - no ``Content-Type``: ``str`` if the body is valid UTF-8, else ``bytes``;
    - any other type (images, ``application/octet-stream``, ...) -> ``bytes``.
    """
    content = raw.content
    ctype = raw.headers.get("content-type", "").lower()
    if "json" in ctype:
        if not content:
            return ""
        try:
            return json.loads(content)
        except ValueError:
            return raw.text
    if any(hint in ctype for hint in _TEXT_HINTS):
        return raw.text
    if not ctype:
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            return content
    return content


class HistoryEntry(NamedTuple):
    """One attempt of a call, as kept in ``Response.history`` and ``RetryError.history``."""

    #: 1 = the first attempt.
    attempt: int
    #: The HTTP status received, or ``None`` when no response arrived.
    status: int | None
    #: What failed (``HTTPStatusError`` for a rejected status), or ``None`` on success.
    error: BaseException | None
    #: The wait after this attempt in seconds, ``None`` for the last one.
    delay: float | None
    #: Short text: ``"ok"``, ``"status 503"``, ``"connect refused"``, ``"Retry-After 2s"``...
    reason: str


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """What ``on_retry`` receives before each wait.

    Example::

        def log_retry(event: axios_like.RetryEvent) -> None:
            print(f"attempt {event.attempt} failed ({event.reason}); "
                  f"waiting {event.delay:.2f}s, {event.elapsed:.2f}s so far")

        api = axios_like.create(on_retry=log_retry)
    """

    #: The number of the attempt that failed (1 = the first), also the retry about to be made.
    attempt: int
    #: Seconds about to be waited.
    delay: float
    #: What failed: ``HTTPStatusError`` for a rejected status, a ``NetworkError``, ...
    error: BaseException
    #: The config of the failed attempt, after request interceptors. Left out of the
    #: repr: its headers and params may hold secrets (cookies, tokens in the query).
    config: Mapping[str, Any] = field(repr=False)
    #: Short text: ``"status 503"``, ``"connect refused"``, ``"status 429, Retry-After 2s"``.
    reason: str
    #: Seconds since the first attempt started.
    elapsed: float


@dataclass(frozen=True, slots=True)
class Replay:
    """Return it from a response interceptor's ``on_rejected`` to send the request again.

    The request goes back through the whole attempt (request interceptors re-run,
    so a refreshed token is used). A replay does not count against
    ``max_retries`` and does not wait. ``meta`` is merged into the call's
    ``meta`` for every later attempt, which is how a handler marks "already
    replayed" and avoids loops. A call replays at most ``MAX_REPLAYS`` times;
    past that the error is raised as itself.

    Example::

        def on_401(error):
            if getattr(error, "status", None) == 401 and not error.config["meta"].get("refreshed"):
                refresh_my_token()
                return axios_like.Replay(meta={"refreshed": True})
            raise error

        api.interceptors.response.use(None, on_401)
    """

    meta: Mapping[str, Any] = field(default_factory=dict)


class Response:
    """An axios-style response: ``status``, ``status_text``, ``headers``, ``data``, ``config``.

    ``data`` is the decoded body (see :func:`decode_body`); ``raw`` is the
    underlying ``httpx.Response`` for everything else; ``attempts`` and
    ``history`` tell how the call went.

    Example::

        r = api.get("/users/1")
        print(r.status, r.data["name"], r.attempts, r.headers["content-type"])
    """

    __slots__ = ("_data", "attempts", "config", "history", "raw")

    def __init__(
        self,
        raw: httpx.Response,
        config: Mapping[str, Any],
        *,
        attempts: int = 1,
        history: tuple[HistoryEntry, ...] = (),
    ) -> None:
        self.raw = raw
        #: The final attempt's config, after request interceptors.
        self.config = config
        #: How many attempts the call made (1 = succeeded first time).
        self.attempts = attempts
        #: One :class:`HistoryEntry` per attempt.
        self.history = history
        self._data: Any = _UNSET

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self.raw.status_code

    @property
    def status_text(self) -> str:
        """The reason phrase, e.g. ``"Service Unavailable"``."""
        return self.raw.reason_phrase

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (case-insensitive)."""
        return self.raw.headers

    @property
    def request(self) -> httpx.Request:
        """The ``httpx.Request`` that was sent on the final attempt."""
        return self.raw.request

    @property
    def url(self) -> httpx.URL:
        """The URL of the final attempt, after redirects (httpx's ``response.url``).

        ``str(r.url)`` is requests' ``r.url``; axios has ``request.responseURL``.
        """
        return self.raw.url

    @property
    def elapsed(self) -> timedelta:
        """Time from sending the final attempt's request to closing its response.

        As httpx's ``response.elapsed``: the last attempt only (retries and
        waits are in ``history``). Read bodies are closed already; a streamed
        response has it once it is read or closed, before that it is a
        ``StreamError``. A response a mock transport built with its body
        already read (``httpx.Response(200, json=...)``) is never timed by
        httpx, which raises there; it reads as 0 here, as it took no time.
        """
        try:
            return self.raw.elapsed
        except RuntimeError as exc:
            if self.raw.is_closed:
                return _NOT_TIMED
            raise StreamError(
                "elapsed is known once a streamed response is read or closed",
                config=self.config,
            ) from exc

    def raise_for_status(self) -> Response:
        """Raise ``HTTPStatusError`` unless the status is 2xx; return the response.

        A response the default ``validate_status`` accepted is always 2xx, so
        this is a no-op. It matters when ``validate_status`` let another status
        through (to read an error body, say): then it raises the same
        ``HTTPStatusError`` a rejected status would have. As httpx's, it
        returns the response, so it chains::

            r = api.get("/report", validate_status=lambda status: True)
            if r.status == 404:
                return None
            data = r.raise_for_status().data
        """
        if 200 <= self.raw.status_code < 300:
            return self
        request, raw = self.raw.request, self.raw
        raise HTTPStatusError(
            f"{request.method} {redact_url(request.url)} failed with status "
            f"{raw.status_code} {raw.reason_phrase}".rstrip(),
            response=self,
        )

    @property
    def data(self) -> Any:
        """The decoded body: JSON value, ``str`` or ``bytes``.

        A streamed response must be read first (``read()`` / ``aread()``).
        """
        if self._data is _UNSET:
            try:
                self.raw.content  # noqa: B018 - raises ResponseNotRead when unread
            except httpx.ResponseNotRead as exc:
                raise StreamError(
                    "the body of a streamed response is not read yet: "
                    "call read() (or await aread()) before using data",
                    config=self.config,
                ) from exc
            self._data = decode_body(self.raw)
        return self._data

    @property
    def text(self) -> str:
        """The body as text."""
        return self.raw.text

    @property
    def content(self) -> bytes:
        """The body as bytes."""
        return self.raw.content

    def json(self) -> Any:
        """Parse the body as JSON whatever its ``Content-Type``."""
        return self.raw.json()

    # Streaming: the sync names work on Client.stream(), the a* names on AsyncClient.stream().
    # A failure while reading (a dropped connection, bad compression) is mapped into our
    # error tree, like a failure of the request itself.
    def _mapped(self, exc: Exception) -> AxiosLikeError:
        request = self.raw.request
        return from_httpx(exc, self.config, request.method, request.url)

    def read(self) -> bytes:
        """Read the whole body of a streamed response."""
        try:
            return self.raw.read()
        except _STREAM_ERRORS as exc:
            raise self._mapped(exc) from exc

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Iterate over the (decoded) body in chunks."""
        try:
            yield from self.raw.iter_bytes(chunk_size)
        except _STREAM_ERRORS as exc:
            raise self._mapped(exc) from exc

    def iter_lines(self) -> Iterator[str]:
        """Iterate over the body line by line."""
        try:
            yield from self.raw.iter_lines()
        except _STREAM_ERRORS as exc:
            raise self._mapped(exc) from exc

    def close(self) -> None:
        """Release the connection of a streamed response."""
        self.raw.close()

    async def aread(self) -> bytes:
        """Read the whole body of a streamed response (async)."""
        try:
            return await self.raw.aread()
        except _STREAM_ERRORS as exc:
            raise self._mapped(exc) from exc

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Iterate over the (decoded) body in chunks (async)."""
        try:
            async for chunk in self.raw.aiter_bytes(chunk_size):
                yield chunk
        except _STREAM_ERRORS as exc:
            raise self._mapped(exc) from exc

    async def aiter_lines(self) -> AsyncIterator[str]:
        """Iterate over the body line by line (async)."""
        try:
            async for line in self.raw.aiter_lines():
                yield line
        except _STREAM_ERRORS as exc:
            raise self._mapped(exc) from exc

    async def aclose(self) -> None:
        """Release the connection of a streamed response (async)."""
        await self.raw.aclose()

    def __repr__(self) -> str:
        return f"<Response [{self.status} {self.status_text}]>"


#: ``elapsed`` of a response httpx never timed (a mock's pre-read body).
_NOT_TIMED = timedelta(0)


class _Unset:
    __slots__ = ()


_UNSET: Any = _Unset()
