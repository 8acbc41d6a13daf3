"""Faster engines under the same httpx API: ``transport=axios_like.transports.aiohttp_transport()``.

``axios_like`` sits above httpx's transport interface, so the engine that moves the
bytes can be swapped without changing a line of the code that uses the client: the
whole pipeline (interceptors, middleware, retries, errors) runs unchanged. httpx's
default async engine (httpcore) is slow under concurrency; aiohttp's is several times
faster. :func:`aiohttp_transport` puts aiohttp under an :class:`AsyncClient`::

    pip install 'axios-like[fast]'

    api = axios_like.create_async(
        base_url="https://api.example.com",
        transport=axios_like.transports.aiohttp_transport(),
    )

aiohttp is an optional extra (``fast``), never a core dependency: it is imported
when :func:`aiohttp_transport` is called, with a clear error if it is missing.

What differs from httpx's default transport (see ``docs/performance.md``):

- async only (aiohttp has no sync API); HTTP/1.1 only (no ``http2=True``);
- no write timeout: aiohttp has none; connect, read and pool timeouts are honoured,
  per attempt, as the retry engine shrinks them to a ``deadline``;
- ``limits.max_keepalive_connections`` has no aiohttp equivalent (aiohttp keeps every
  idle connection until ``keepalive_expiry``); ``max_connections`` is honoured;
- proxies given to ``create_async(proxy=...)`` are served by httpx's own transport, as
  httpx always does for a mounted proxy; ``aiohttp_transport`` itself sends directly;
- one transport serves one event loop (the aiohttp session is created on first use).

aiohttp's errors are mapped onto httpx's, which the client then maps onto its own
tree, so the retry rules see the same facts: a refused connection or a connect
timeout *never reached the server* (retried for any method); a dropped connection, a
reset or a read timeout *may have* (retried only for idempotent requests).
"""

from __future__ import annotations

import asyncio
import errno
import importlib
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx

__all__ = ["AiohttpTransport", "aiohttp_transport"]

_MISSING: Final = (
    "axios_like.transports.aiohttp_transport() needs aiohttp, which is an optional extra: "
    "pip install 'axios-like[fast]'"
)
#: Headers httpx always decides itself; aiohttp must not add its own defaults.
_SKIP_AUTO_HEADERS: Final = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)
_TIMEOUT_CACHE_SIZE: Final = 256


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(_MISSING) from exc


def aiohttp_transport(
    *,
    limits: httpx.Limits = _DEFAULT_LIMITS,
    verify: Any = True,
    cert: Any = None,
    trust_env: bool = True,
) -> AiohttpTransport:
    """An httpx async transport that sends through aiohttp (extra ``fast``).

    Give it to :func:`axios_like.create_async` (or to a plain ``httpx.AsyncClient``)::

        api = axios_like.create_async(
            base_url="https://api.example.com",
            transport=axios_like.transports.aiohttp_transport(),
        )

    ``limits``, ``verify``, ``cert`` and ``trust_env`` mean what they mean to
    ``httpx.AsyncHTTPTransport``. Raises ``ImportError`` naming the extra when
    aiohttp is not installed.
    """
    return AiohttpTransport(limits=limits, verify=verify, cert=cert, trust_env=trust_env)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` over one ``aiohttp.ClientSession``.

    Use :func:`aiohttp_transport` to make one. httpx keeps doing what it does above
    a transport (URLs, headers, auth, cookies, redirects, decoding); aiohttp only
    moves bytes: it stores no cookies, follows no redirects, decompresses nothing
    and adds no default headers of its own.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = _DEFAULT_LIMITS,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
    ) -> None:
        self._aiohttp = _import("aiohttp")
        self._yarl = _import("yarl")
        self._limits = limits
        self._verify = verify
        self._cert = cert
        self._trust_env = trust_env
        self._session: Any = None
        self._timeouts: dict[tuple[float | None, float | None, float | None], Any] = {}
        self._errors = _ErrorMap(self._aiohttp)

    def _open(self) -> Any:
        aiohttp = self._aiohttp
        connector_kwargs: dict[str, Any] = {
            "limit": self._limits.max_connections or 0,
            "ssl": httpx.create_ssl_context(
                verify=self._verify, cert=self._cert, trust_env=self._trust_env
            ),
        }
        if self._limits.keepalive_expiry is not None:
            connector_kwargs["keepalive_timeout"] = self._limits.keepalive_expiry
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(**connector_kwargs),
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            auto_decompress=False,  # httpx decodes
            timeout=aiohttp.ClientTimeout(total=None),
            requote_redirect_url=False,
            trust_env=False,
        )
        # aiohttp silently sends an idempotent request a second time when its connection
        # fails (RFC 9112 section 9.3.1). The retry engine above must be the only one
        # that retries: else max_retries=0 sends twice and attempts/history lie. aiohttp
        # has no public switch; this attribute is the one it reads (tests check the
        # effect: a reset GET with max_retries=0 reaches the server once).
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._session = session
        return session

    def _timeout(self, given: dict[str, float | None] | None) -> Any:
        """httpx's per-request timeouts as an aiohttp ``ClientTimeout`` (cached)."""
        given = given or {}
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            if len(self._timeouts) >= _TIMEOUT_CACHE_SIZE:
                self._timeouts.clear()  # deadline-shrunk timeouts are all different
            connect, read, pool = key
            timeout = self._aiohttp.ClientTimeout(
                total=None, connect=pool, sock_connect=connect, sock_read=read
            )
            self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        body: Any
        if isinstance(request.stream, httpx.ByteStream):
            body = request.content or None
        else:  # a streamed body: let aiohttp frame it (chunked unless a length was given)
            body = _body(request.stream)
            headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        extensions = request.extensions
        kwargs: dict[str, Any] = {}
        sni = extensions.get("sni_hostname")
        if sni:
            kwargs["server_hostname"] = sni
        url = request.url
        if url.userinfo:  # httpx already turned it into an Authorization header
            url = url.copy_with(userinfo=b"")
        try:
            response = await session.request(
                request.method,
                self._yarl.URL(str(url), encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=self._timeout(extensions.get("timeout")),
                **kwargs,
            )
        except Exception as exc:
            mapped = self._errors.to_httpx(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response, self._errors, request),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def _body(stream: Any) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk


class _ResponseStream(httpx.AsyncByteStream):
    """The body of an aiohttp response as httpx reads it; closing releases the connection."""

    __slots__ = ("_errors", "_request", "_response")

    def __init__(self, response: Any, errors: _ErrorMap, request: httpx.Request) -> None:
        self._response = response
        self._errors = errors
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as exc:
            mapped = self._errors.to_httpx(exc, self._request, reading=True)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        # release() keeps the connection only when the body was read to the end;
        # a half-read body closes it, so nothing stale is ever reused.
        self._response.release()


class _ErrorMap:
    """aiohttp's exceptions as httpx's, keeping what matters to the retry rules:
    whether the request could have reached the server."""

    def __init__(self, aiohttp: Any) -> None:
        self.a = aiohttp

    def to_httpx(
        self, exc: Exception, request: httpx.Request, *, reading: bool = False
    ) -> Exception:
        a = self.a
        inner = _httpx_cause(exc)
        if inner is not None:  # raised by httpx itself, e.g. a request stream read twice
            return inner
        text = str(exc) or type(exc).__name__
        if isinstance(exc, a.ClientProxyConnectionError | a.ClientHttpProxyError):
            return httpx.ProxyError(text, request=request)
        if isinstance(exc, a.ClientConnectorError):
            if isinstance(exc.os_error, ConnectionRefusedError):
                text = f"[Errno {errno.ECONNREFUSED}] Connection refused ({text})"
            return httpx.ConnectError(text, request=request)
        if isinstance(exc, a.ConnectionTimeoutError):  # pool wait or connect: never sent
            return httpx.ConnectTimeout(text, request=request)
        if isinstance(exc, a.ServerTimeoutError):  # sock_read
            return httpx.ReadTimeout(text, request=request)
        if isinstance(exc, asyncio.TimeoutError):
            return httpx.ReadTimeout(text, request=request)
        if isinstance(exc, a.ServerDisconnectedError):
            if reading:
                text = "peer closed connection without sending complete message body"
            else:
                text = "Server disconnected without sending a response."
            return httpx.RemoteProtocolError(text, request=request)
        if isinstance(exc, a.ClientPayloadError):
            return httpx.RemoteProtocolError(text, request=request)
        if isinstance(exc, ConnectionResetError) or (
            isinstance(exc, OSError) and exc.errno == errno.ECONNRESET
        ):
            return httpx.ReadError(
                f"[Errno {errno.ECONNRESET}] Connection reset by peer", request=request
            )
        if isinstance(exc, a.ClientOSError):
            return httpx.ReadError(text, request=request)
        if isinstance(exc, a.ClientResponseError):  # a response aiohttp could not parse
            return httpx.RemoteProtocolError(text, request=request)
        if isinstance(exc, a.NonHttpUrlClientError | a.InvalidURL):
            return httpx.UnsupportedProtocol(text, request=request)
        if isinstance(exc, a.ClientError):
            return httpx.TransportError(text, request=request)
        return exc


def _httpx_cause(exc: BaseException) -> Exception | None:
    """The httpx error (raised by httpx's request stream) that aiohttp wrapped, if any."""
    seen: set[int] = set()
    inner = exc.__cause__ or exc.__context__
    while inner is not None and id(inner) not in seen:
        if isinstance(inner, httpx.HTTPError | httpx.StreamError):
            return inner
        seen.add(id(inner))
        inner = inner.__cause__ or inner.__context__
    return None
