"""The error tree of ``axios_like`` and the one table that maps httpx errors into it.

::

    AxiosLikeError                      every error of the library; .config = the attempt's
    ├── ConfigError                     bad config key or value (also a ValueError); never retried
    ├── InvalidRequestError             the client could not build the request; never retried
    │   ├── InvalidURLError             malformed URL or unsupported scheme
    │   ├── BodyNotReplayableError      a streamed body was needed a second time
    │   └── BodyTooLargeError           the request body is above max_body_length: not sent
    ├── NetworkError                    transport failure; .may_have_reached_server, .reason
    │   ├── ConnectError                could not connect (refused, DNS): never reached the server
    │   ├── ReadError                   connection reset / read failed after sending
    │   ├── WriteError                  sending failed part-way
    │   ├── RemoteProtocolError         the server broke HTTP (dropped the connection, bad framing)
    │   ├── ProxyError                  the proxy refused or failed
    │   └── TimeoutError
    │       ├── ConnectTimeoutError     never reached the server
    │       ├── ReadTimeoutError        may have been processed
    │       ├── WriteTimeoutError       may have been partly sent
    │       └── PoolTimeoutError        no connection free in time: never sent
    ├── TooManyRedirectsError
    ├── DecodingError                   the response body could not be decoded
    ├── ContentTooLargeError            the response body passed max_content_length; never retried
    ├── StreamError                     a streamed response was used the wrong way
    ├── HTTPStatusError                 validate_status rejected a status; .response, .status
    ├── AuthRefreshError                (axios_like.auth) refresh_token() failed; __cause__ = why
    ├── CircuitOpenError                the origin's breaker is open: not sent, never retried
    ├── RateLimitedError                the origin's quota would hold the call past its limits
    └── RetryError                      a limit stopped retries; __cause__ = the last error

Every httpx exception a user can see is mapped by :func:`from_httpx` through
``HTTPX_MAP`` below, with the original chained as ``__cause__``.
``asyncio.CancelledError`` and ``KeyboardInterrupt`` are never caught, so never wrapped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ._redact import redact_url

if TYPE_CHECKING:
    from ._models import HistoryEntry, Response

__all__ = [
    "AxiosLikeError",
    "BodyNotReplayableError",
    "BodyTooLargeError",
    "CircuitOpenError",
    "ConfigError",
    "ConnectError",
    "ConnectTimeoutError",
    "ContentTooLargeError",
    "DecodingError",
    "HTTPStatusError",
    "InvalidRequestError",
    "InvalidURLError",
    "NetworkError",
    "PoolTimeoutError",
    "ProxyError",
    "RateLimitedError",
    "ReadError",
    "ReadTimeoutError",
    "RemoteProtocolError",
    "RetryError",
    "StreamError",
    "TimeoutError",
    "TooManyRedirectsError",
    "WriteError",
    "WriteTimeoutError",
    "from_httpx",
]


class AxiosLikeError(Exception):
    """Base class of every error raised by ``axios_like``.

    ``config`` is the request config (after request interceptors) of the attempt
    that produced the error, or ``None`` when there was no request yet.

    Example::

        try:
            api.get("/users/1")
        except axios_like.AxiosLikeError as exc:
            print(exc.config["url"] if exc.config else None)
    """

    #: Short text for histories and logs ("connect refused", "status 503").
    reason: str = "error"

    def __init__(self, message: str, *, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.config: Mapping[str, Any] | None = config

    def __str__(self) -> str:
        return self.message


class ConfigError(AxiosLikeError, ValueError):
    """A config key is unknown, or its value has the wrong kind or makes no sense.

    The message names the key and the value (secrets redacted). Never retried.

    Example::

        >>> import axios_like
        >>> axios_like.create(timeout=-1)
        Traceback (most recent call last):
        ...
        axios_like.ConfigError: timeout: must be a positive number of seconds, ... got -1
    """

    reason = "bad config"

    def __init__(self, key: str, message: str, *, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{key}: {message}", config=config)
        self.key = key


class InvalidRequestError(AxiosLikeError):
    """The client could not build or send the request (its own fault, never retried)."""

    reason = "invalid request"


class InvalidURLError(InvalidRequestError):
    """The URL is malformed or its scheme is not supported."""

    reason = "invalid url"


class BodyNotReplayableError(InvalidRequestError):
    """A request body that can be read only once (a generator, a stream) was needed again."""

    reason = "body not replayable"


class BodyTooLargeError(InvalidRequestError):
    """The request body is larger than ``max_body_length``: it was not sent.

    Example::

        try:
            api.post("/upload", content=b"x" * 2_000, max_body_length=1_000)
        except axios_like.BodyTooLargeError as exc:
            print(exc)  # POST .../upload: the request body is larger than max_body_length=1000
    """

    reason = "body too large"


class NetworkError(AxiosLikeError):
    """The transport failed: no complete response arrived.

    ``may_have_reached_server`` is ``False`` only when the request certainly did
    not reach the server (connection refused, connect timeout, pool timeout):
    such failures are safe to retry for any method.
    """

    reason = "network error"
    may_have_reached_server: bool = True


class ConnectError(NetworkError):
    """The connection could not be made (refused, unreachable, DNS)."""

    reason = "connect error"
    may_have_reached_server = False


class ReadError(NetworkError):
    """Reading the response failed (for example the connection was reset)."""

    reason = "read error"


class WriteError(NetworkError):
    """Sending the request failed part-way."""

    reason = "write error"


class RemoteProtocolError(NetworkError):
    """The server broke the protocol, e.g. closed the connection without a full response."""

    reason = "connection dropped"


class ProxyError(NetworkError):
    """The proxy refused or failed the connection."""

    reason = "proxy error"
    may_have_reached_server = False


class TimeoutError(NetworkError):
    """An attempt ran out of time (see the subclasses for which phase)."""

    reason = "timeout"


class ConnectTimeoutError(TimeoutError):
    """Connecting took longer than the timeout: the request was not sent."""

    reason = "connect timeout"
    may_have_reached_server = False


class ReadTimeoutError(TimeoutError):
    """The response did not arrive in time: the server may have processed the request."""

    reason = "read timeout"


class WriteTimeoutError(TimeoutError):
    """Sending the request took longer than the timeout."""

    reason = "write timeout"


class PoolTimeoutError(TimeoutError):
    """No pooled connection became free in time: the request was not sent."""

    reason = "pool timeout"
    may_have_reached_server = False


class TooManyRedirectsError(AxiosLikeError):
    """The redirect limit was exceeded."""

    reason = "too many redirects"


class DecodingError(AxiosLikeError):
    """The response body could not be decoded (bad compression, bad charset)."""

    reason = "decoding error"


class ContentTooLargeError(AxiosLikeError):
    """The response body passed ``max_content_length`` (decoded bytes): never retried.

    The read stops at the limit and the connection is closed, so a gzip bomb
    costs at most ``max_content_length`` bytes of memory.

    Example::

        try:
            api.get("/export", max_content_length=10_000_000)
        except axios_like.ContentTooLargeError as exc:
            print(exc)  # GET https://.../export: the response body is larger than ...
    """

    reason = "content too large"


class StreamError(AxiosLikeError):
    """A streamed response or request body was used the wrong way (read twice, closed)."""

    reason = "stream error"


class HTTPStatusError(AxiosLikeError):
    """A status that ``validate_status`` rejects (default: anything outside 200-299).

    Raise it from a response interceptor to make a response count as failed
    (and so be considered by the retry engine)::

        def reject_soft_errors(response):
            if response.data.get("error"):
                raise axios_like.HTTPStatusError("soft error", response=response)
            return response
    """

    def __init__(self, message: str, *, response: Response) -> None:
        super().__init__(message, config=response.config)
        self.response = response

    @property
    def status(self) -> int:
        """The HTTP status code of the response."""
        return self.response.status

    @property
    def request(self) -> httpx.Request:
        """The request that got the response."""
        return self.response.request

    @property
    def reason(self) -> str:  # type: ignore[override]
        return f"status {self.response.status}"


class RetryError(AxiosLikeError):
    """A failure the policy would retry was not retried because a limit stopped it.

    ``reason`` is what stopped it: ``"max_retries"``, ``"deadline"`` or
    ``"max_retry_after"``; ``attempts`` how many attempts were made; ``history`` a
    tuple of :class:`HistoryEntry`, one per attempt; ``__cause__`` (and
    ``last_error``) the last underlying error.

    Example::

        try:
            api.get("/flaky")
        except axios_like.RetryError as exc:
            print(exc.attempts, exc.reason, [h.reason for h in exc.history])
            raise exc.last_error from None  # or inspect exc.__cause__
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        attempts: int,
        history: tuple[HistoryEntry, ...],
        last_error: BaseException,
        config: Mapping[str, Any] | None,
        why: str | None = None,
    ) -> None:
        super().__init__(message, config=config)
        self.reason = reason
        self.attempts = attempts
        self.history = history
        self.last_error = last_error
        #: The stop in words, as the message has it: ``"max_retries=3 reached"``,
        #: ``"deadline=2s reached"``, ``"retry budget of the origin spent"``.
        self.why = why if why is not None else str(reason)


class CircuitOpenError(AxiosLikeError):
    """The origin's circuit breaker is open: the request was not sent. Never retried.

    ``origin`` is the ``Origin`` (scheme, host, port) whose breaker refused;
    ``retry_after`` the seconds until it lets a probe through (``None``: unknown).

    Example::

        try:
            api.get("/users/1")
        except axios_like.CircuitOpenError as exc:
            print(f"{exc.origin} is failing; try again in {exc.retry_after:.0f}s")
    """

    reason = "circuit open"

    def __init__(
        self, origin: object, retry_after: float | None, *, config: Mapping[str, Any] | None = None
    ) -> None:
        when = f"; next probe in {retry_after:.3g}s" if retry_after is not None else ""
        super().__init__(f"{origin}: circuit breaker open, not sent{when}", config=config)
        self.origin = origin
        self.retry_after = retry_after


class RateLimitedError(AxiosLikeError):
    """The origin's rate limit would hold the call past its ``deadline`` or ``max_retry_after``.

    ``retry_after`` is the seconds the origin asked to wait.
    """

    reason = "rate limited"

    def __init__(
        self, origin: object, retry_after: float | None, *, config: Mapping[str, Any] | None = None
    ) -> None:
        when = f" {retry_after:.3g}s" if retry_after is not None else ""
        super().__init__(
            f"{origin}: rate limited; the wait{when} would pass the call's limits", config=config
        )
        self.origin = origin
        self.retry_after = retry_after


def _caused_by(exc: BaseException, kind: type[OSError], word: str) -> bool:
    """Whether ``exc`` or what it chains to is a ``kind`` (or says ``word``).

    The sync transport's message says "Connection refused"; the async one (anyio)
    says "All connection attempts failed" and keeps the ``ConnectionRefusedError``
    in the chain, so the chain is searched too (bounded: chains can be cyclic).
    """
    todo: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while todo and len(seen) < 32:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind) or word in str(item).lower():
            return True
        todo.extend((item.__cause__, item.__context__))
        if isinstance(item, BaseExceptionGroup):
            todo.extend(item.exceptions)
    return False


def _connect_reason(exc: httpx.HTTPError) -> str:
    refused = _caused_by(exc, ConnectionRefusedError, "refused")
    return "connect refused" if refused else "connect error"


def _read_reason(exc: httpx.HTTPError) -> str:
    return "connection reset" if _caused_by(exc, ConnectionResetError, "reset") else "read error"


#: httpx exception -> our class. Most specific first: the first ``isinstance`` match wins.
HTTPX_MAP: tuple[tuple[type[Exception], type[AxiosLikeError]], ...] = (
    (httpx.ConnectTimeout, ConnectTimeoutError),
    (httpx.ReadTimeout, ReadTimeoutError),
    (httpx.WriteTimeout, WriteTimeoutError),
    (httpx.PoolTimeout, PoolTimeoutError),
    (httpx.TimeoutException, TimeoutError),
    (httpx.ConnectError, ConnectError),
    (httpx.ReadError, ReadError),
    (httpx.WriteError, WriteError),
    (httpx.RemoteProtocolError, RemoteProtocolError),
    (httpx.ProxyError, ProxyError),
    (httpx.UnsupportedProtocol, InvalidURLError),
    (httpx.InvalidURL, InvalidURLError),
    (httpx.LocalProtocolError, InvalidRequestError),
    (httpx.TooManyRedirects, TooManyRedirectsError),
    (httpx.DecodingError, DecodingError),
    (httpx.StreamConsumed, BodyNotReplayableError),
    (httpx.StreamError, StreamError),
    (httpx.NetworkError, NetworkError),
    (httpx.TransportError, NetworkError),
    (httpx.HTTPError, AxiosLikeError),
)

#: Reasons that depend on the message (refused vs unreachable, reset vs other).
REASON_FROM_MESSAGE: dict[type[AxiosLikeError], Callable[[httpx.HTTPError], str]] = {
    ConnectError: _connect_reason,
    ReadError: _read_reason,
}


def from_httpx(
    exc: Exception, config: Mapping[str, Any] | None, method: str = "", url: object = ""
) -> AxiosLikeError:
    """Map an httpx exception to ours; the caller raises it ``from exc``.

    >>> import httpx
    >>> err = from_httpx(httpx.ConnectError("[Errno 111] Connection refused"), None, "GET", "http://x/")
    >>> type(err).__name__, err.reason, str(err)
    ('ConnectError', 'connect refused', 'GET http://x/: [Errno 111] Connection refused')
    """
    ours: type[AxiosLikeError] = AxiosLikeError
    for theirs, mapped in HTTPX_MAP:
        if isinstance(exc, theirs):
            ours = mapped
            break
    where = f"{method} {redact_url(url)}: " if method else ""
    text = str(exc) or type(exc).__name__
    error = ours(f"{where}{text}", config=config)
    make_reason = REASON_FROM_MESSAGE.get(ours)
    if make_reason is not None and isinstance(exc, httpx.HTTPError):
        error.reason = make_reason(exc)
    return error
