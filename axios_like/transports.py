"""Faster engines under the same httpx API: ``aiohttp_transport()`` and ``urllib3_transport()``.

``axios_like`` sits above httpx's transport interface, so the engine that moves the
bytes can be swapped without changing a line of the code that uses the client: the
whole pipeline (interceptors, middleware, retries, errors) runs unchanged. httpx's
default async engine (httpcore) is slow under concurrency; aiohttp's is several times
faster. :func:`aiohttp_transport` puts aiohttp under an :class:`AsyncClient`, and
:func:`urllib3_transport` puts urllib3's connection pool under a sync :class:`Client`::

    pip install 'axios-like[fast]'

    api = axios_like.create_async(
        base_url="https://api.example.com",
        transport=axios_like.transports.aiohttp_transport(),
    )
    sync_api = axios_like.create(
        base_url="https://api.example.com",
        transport=axios_like.transports.urllib3_transport(),
    )

aiohttp and urllib3 are an optional extra (``fast``), never core dependencies: each is
imported when its transport is made, with a clear error if it is missing.

What differs from httpx's default transport (see ``docs/performance.md``):

- aiohttp: async only (aiohttp has no sync API); HTTP/1.1 only (no ``http2=True``);
- aiohttp: no write timeout: aiohttp has none; connect, read and pool timeouts are
  honoured, per attempt, as the retry engine shrinks them to a ``deadline``;
- aiohttp: ``limits.max_keepalive_connections`` has no aiohttp equivalent (aiohttp
  keeps every idle connection until ``keepalive_expiry``); ``max_connections`` is
  honoured;
- aiohttp: proxies given to ``create_async(proxy=...)`` are served by httpx's own
  transport, as httpx always does for a mounted proxy; ``aiohttp_transport`` itself
  sends directly;
- aiohttp: one transport serves one event loop (the session is created on first use);
- urllib3: sync only, HTTP/1.1 only; pool limits apply per origin (urllib3 keeps one
  pool per host); the connect timeout also bounds sending the request (urllib3 has no
  write timeout); ``keepalive_expiry`` is not applied (urllib3 checks a pooled
  connection is still open before reusing it); ``proxy=`` takes ``http://`` and
  ``https://`` proxies, and raises :class:`axios_like.ConfigError` for ``socks``.

Errors are mapped onto httpx's, which the client then maps onto its own tree, so the
retry rules see the same facts as on httpx's own transport: a refused connection, a
connect timeout or a full pool *never reached the server* (retried for any method);
a dropped connection, a reset or a read timeout *may have* (retried only for
idempotent requests). Neither library retries, redirects or decodes behind httpx's back.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
from collections.abc import AsyncIterator, Iterator
from http.client import RemoteDisconnected
from typing import Any, Final

import httpx

__all__ = ["AiohttpTransport", "Urllib3Transport", "aiohttp_transport", "urllib3_transport"]

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
            body = _content(request) or None
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


def _content(request: httpx.Request) -> bytes:
    """The bytes of an in-memory body (httpx leaves a redirect's unread)."""
    try:
        return request.content
    except httpx.RequestNotRead:
        return request.read()


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
        response = self._response
        try:
            # Chunk by chunk as they arrive, even for a small body of known length: a
            # single read() would wait for all of it, past the call's deadline, which the
            # client checks between chunks (a trickling server).
            async for chunk in response.content.iter_any():
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


# -- urllib3: the fast sync engine ---------------------------------------------------

_MISSING_URLLIB3: Final = (
    "axios_like.transports.urllib3_transport() needs urllib3, which is an optional extra: "
    "pip install 'axios-like[fast]'"
)
#: Body chunk size: a body no longer than this is read in one call.
_CHUNK: Final = 65_536
_LEAST_TIMEOUT: Final = 1e-6
_HTTP_VERSIONS: Final = {10: b"HTTP/1.0", 11: b"HTTP/1.1"}
#: Headers urllib3 (or http.client under it) adds when absent; httpx decides them.
_URLLIB3_DEFAULTS: Final = ("User-Agent", "Accept-Encoding")


def urllib3_transport(
    *,
    limits: httpx.Limits = _DEFAULT_LIMITS,
    verify: Any = True,
    cert: Any = None,
    trust_env: bool = True,
    proxy: str | httpx.URL | httpx.Proxy | None = None,
    num_pools: int = 10,
) -> Urllib3Transport:
    """An httpx sync transport that sends through urllib3's connection pool (extra ``fast``).

    Give it to :func:`axios_like.create` (or to a plain ``httpx.Client``)::

        api = axios_like.create(
            base_url="https://api.example.com",
            transport=axios_like.transports.urllib3_transport(),
        )

    ``limits``, ``verify``, ``cert``, ``trust_env`` and ``proxy`` mean what they mean
    to ``httpx.HTTPTransport``, with one difference: urllib3 pools per origin, so
    ``limits.max_connections`` caps the connections *to each host* (a request then
    waits up to the ``pool`` timeout for a free one). ``num_pools`` is how many
    origins keep a pool. An ``http://`` or ``https://`` proxy goes through
    ``urllib3.ProxyManager``; a ``socks`` proxy raises :class:`axios_like.ConfigError`
    (use httpx's own transport for it). Raises ``ImportError`` naming the extra when
    urllib3 is not installed.
    """
    return Urllib3Transport(
        limits=limits,
        verify=verify,
        cert=cert,
        trust_env=trust_env,
        proxy=proxy,
        num_pools=num_pools,
    )


class Urllib3Transport(httpx.BaseTransport):
    """An ``httpx.BaseTransport`` over one ``urllib3.PoolManager`` (or ``ProxyManager``).

    httpx keeps doing what it does above a transport (URLs, headers, auth, cookies,
    redirects, decoding); urllib3 only moves bytes: it follows no redirects
    (``redirect=False``), never retries (``retries=False``: the retry engine above is
    the only one), decodes nothing (``decode_content=False``: httpx decodes
    ``Content-Encoding`` exactly as on its own transport) and adds no default headers
    of its own.

    Use :func:`urllib3_transport` to make one, e.g. under a plain httpx client::

        client = httpx.Client(transport=axios_like.transports.urllib3_transport())
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = _DEFAULT_LIMITS,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
        proxy: str | httpx.URL | httpx.Proxy | None = None,
        num_pools: int = 10,
    ) -> None:
        urllib3 = self._urllib3 = _import_urllib3()
        self._errors = _Urllib3Errors(urllib3)
        self._skip = urllib3.util.SKIP_HEADER
        self._timeouts: dict[tuple[float | None, float | None], Any] = {}
        ssl_context = httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
        if limits.max_connections is not None:  # a hard cap: wait for a free connection
            pool_kwargs: dict[str, Any] = {"maxsize": limits.max_connections, "block": True}
        else:  # no cap: keep this many idle connections, open more when needed
            keep = limits.max_keepalive_connections
            pool_kwargs = {"maxsize": max(keep if keep is not None else 10, 1), "block": False}
        common: dict[str, Any] = {
            "num_pools": num_pools,
            "ssl_context": ssl_context,
            "retries": False,
            **pool_kwargs,
        }
        self._proxied = proxy is not None
        if proxy is None:
            self._pool = urllib3.PoolManager(**common)
        else:
            self._pool = _proxy_manager(urllib3, proxy, common, trust_env=trust_env)

    def _timeout(self, connect: float | None, read: float | None) -> Any:
        """httpx's per-request timeouts as a ``urllib3.Timeout`` (cached)."""
        key = (connect, read)
        timeout = self._timeouts.get(key)
        if timeout is None:
            if len(self._timeouts) >= _TIMEOUT_CACHE_SIZE:
                self._timeouts.clear()  # deadline-shrunk timeouts are all different
            # urllib3 refuses 0 (a deadline's last instant): the least it takes is as good.
            timeout = self._urllib3.Timeout(connect=_positive(connect), read=_positive(read))
            self._timeouts[key] = timeout
        return timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme != "http" and scheme != "https":
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'.", request=request
            )
        raw = request.headers.raw
        headers: Any = dict(raw)
        if len(headers) != len(raw):  # a repeated name: keep every value
            headers = self._urllib3.HTTPHeaderDict()
            for name, value in raw:
                headers.add(name.decode("latin-1"), value.decode("latin-1"))
        given_headers = request.headers
        for default in _URLLIB3_DEFAULTS:
            if default not in given_headers:  # case-insensitive
                headers[default] = self._skip
        stream = request.stream
        body: Any
        if isinstance(stream, httpx.ByteStream):
            body = _content(request) or None
        else:  # streamed: urllib3 frames it from the headers httpx set (chunked or length)
            body = _sync_body(stream)
        extensions = request.extensions
        given = extensions.get("timeout") or {}
        kwargs: dict[str, Any] = {
            "body": body,
            "headers": headers,
            "retries": False,
            "redirect": False,
            "assert_same_host": False,
            "timeout": self._timeout(given.get("connect"), given.get("read")),
            "pool_timeout": _positive(given.get("pool")),
            "preload_content": False,
            "decode_content": False,
        }
        try:
            if self._proxied:
                target = url.copy_with(userinfo=b"") if url.userinfo else url
                response = self._pool.urlopen(request.method, str(target), **kwargs)
            else:
                sni = extensions.get("sni_hostname")
                pool = self._pool.connection_from_host(
                    url.host,
                    url.port,
                    scheme,
                    pool_kwargs={"server_hostname": sni} if sni else None,
                )
                response = pool.urlopen(
                    request.method, url.raw_path.decode("ascii"), release_conn=False, **kwargs
                )
        except Exception as exc:
            mapped = self._errors.to_httpx(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc
        return httpx.Response(
            response.status,
            headers=list(response.headers.iteritems()),
            stream=_Urllib3Stream(response, self._errors, request),
            request=request,
            extensions={
                "http_version": _HTTP_VERSIONS.get(response.version, b"HTTP/1.1"),
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    def close(self) -> None:
        self._pool.clear()


def _positive(seconds: float | None) -> float | None:
    return seconds if seconds is None or seconds > 0 else _LEAST_TIMEOUT


def _import_urllib3() -> Any:
    try:
        return importlib.import_module("urllib3")
    except ImportError as exc:
        raise ImportError(_MISSING_URLLIB3) from exc


def _proxy_manager(
    urllib3: Any, proxy: str | httpx.URL | httpx.Proxy, common: dict[str, Any], *, trust_env: bool
) -> Any:
    from ._exceptions import ConfigError

    if not isinstance(proxy, httpx.Proxy):
        proxy = httpx.Proxy(proxy)
    scheme = proxy.url.scheme
    if scheme not in ("http", "https"):
        raise ConfigError(
            "proxy",
            f"urllib3_transport() supports http:// and https:// proxies, not {scheme}://; "
            "use httpx's own transport (no transport=) for it",
        )
    proxy_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in proxy.headers.raw}
    if proxy.raw_auth is not None:
        user, password = proxy.raw_auth
        basic = urllib3.util.make_headers(
            proxy_basic_auth=f"{user.decode('latin-1')}:{password.decode('latin-1')}"
        )
        proxy_headers.update(basic)
    ssl_context = proxy.ssl_context or httpx.create_ssl_context(trust_env=trust_env)
    return urllib3.ProxyManager(
        str(proxy.url),
        proxy_headers=proxy_headers or None,
        proxy_ssl_context=ssl_context if scheme == "https" else None,
        **common,
    )


def _sync_body(stream: Any) -> Iterator[bytes]:
    yield from stream


class _Urllib3Stream(httpx.SyncByteStream):
    """The body of a urllib3 response as httpx reads it; closing releases the connection."""

    __slots__ = ("_errors", "_request", "_response")

    def __init__(self, response: Any, errors: _Urllib3Errors, request: httpx.Request) -> None:
        self._response = response
        self._errors = errors
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            # read1: what has arrived, at most a chunk. read(n) and stream(n) wait for n
            # bytes, past the call's deadline, which the client checks between chunks.
            while data := response.read1(_CHUNK, decode_content=False):
                yield data
        except Exception as exc:
            mapped = self._errors.to_httpx(exc, self._request, reading=True)
            if mapped is exc:
                raise
            raise mapped from exc

    def close(self) -> None:
        # A body read to the end has already gone back to the pool (urllib3 releases
        # it then); a half-read one is closed, so nothing stale is ever reused, and
        # its slot is given back so a capped pool never shrinks.
        response = self._response
        if response.connection is not None:
            response.close()
            response.release_conn()


class _Urllib3Errors:
    """urllib3's exceptions as httpx's: the class httpx's own transport raises for the
    same fault, so the retry rules see the same facts (connect phase: the request
    cannot have reached the server; read phase: it may have)."""

    def __init__(self, urllib3: Any) -> None:
        self.e = urllib3.exceptions

    def to_httpx(
        self, exc: Exception, request: httpx.Request, *, reading: bool = False
    ) -> Exception:
        e = self.e
        if isinstance(exc, httpx.HTTPError | httpx.StreamError):
            return exc  # raised by httpx itself, e.g. a request stream read twice
        text = str(exc) or type(exc).__name__
        if isinstance(exc, e.ProxyError):
            inner = exc.original_error if hasattr(exc, "original_error") else None
            if isinstance(inner, e.NewConnectionError):  # the proxy itself refused
                return httpx.ConnectError(text, request=request)
            if isinstance(inner, e.ConnectTimeoutError):
                return httpx.ConnectTimeout(text, request=request)
            return httpx.ProxyError(text, request=request)
        if isinstance(exc, e.NewConnectionError):  # refused, unreachable, DNS
            return httpx.ConnectError(text, request=request)
        if isinstance(exc, e.ConnectTimeoutError):
            return httpx.ConnectTimeout(text, request=request)
        if isinstance(exc, e.EmptyPoolError):  # no free connection in time: never sent
            return httpx.PoolTimeout(text, request=request)
        if isinstance(exc, e.ReadTimeoutError):
            return httpx.ReadTimeout(text, request=request)
        if isinstance(exc, e.SSLError):  # the handshake: before anything was sent
            return httpx.ConnectError(text, request=request)
        if isinstance(exc, e.ProtocolError):
            return self._protocol(exc, request, reading=reading)
        if isinstance(exc, e.LocationValueError):
            return httpx.UnsupportedProtocol(text, request=request)
        if isinstance(exc, e.HTTPError):
            return httpx.TransportError(text, request=request)
        return exc

    def _protocol(self, exc: Exception, request: httpx.Request, *, reading: bool) -> Exception:
        """A ``ProtocolError``: urllib3's wrapper of what broke once the request was
        (being) sent; its second argument is the real error."""
        inner = exc.args[1] if len(exc.args) > 1 else None
        if isinstance(inner, RemoteDisconnected):  # (a ConnectionResetError subclass)
            if reading:
                text = "peer closed connection without sending complete message body"
                return httpx.RemoteProtocolError(text, request=request)
            return httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if isinstance(inner, ConnectionResetError) or (
            isinstance(inner, OSError) and inner.errno == errno.ECONNRESET
        ):
            return httpx.ReadError(
                f"[Errno {errno.ECONNRESET}] Connection reset by peer", request=request
            )
        if isinstance(inner, TimeoutError):  # a socket timeout while reading the body
            return httpx.ReadTimeout("The read operation timed out", request=request)
        if isinstance(inner, OSError):
            return httpx.ReadError(str(inner) or type(inner).__name__, request=request)
        if reading:  # IncompleteRead, a bad chunk length
            return httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body: {inner!r}",
                request=request,
            )
        return httpx.RemoteProtocolError(f"illegal response: {inner!r}", request=request)
