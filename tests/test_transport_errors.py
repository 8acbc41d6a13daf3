"""The error maps of both fast transports, one library exception at a time.

The real-socket tests (tests/test_transports.py, tests/test_urllib3_transport.py)
produce the faults a loopback server can; these pin the rest of each map, built from
the libraries' own exception classes: every one lands on the httpx class httpx's own
transport raises for that fault, so ``may_have_reached_server`` is right.
"""

from __future__ import annotations

import errno
import ssl
from http.client import BadStatusLine, RemoteDisconnected
from typing import Any

import httpx
import pytest

import axios_like
from axios_like import transports

REQUEST = httpx.Request("GET", "http://127.0.0.1:9/x")

urllib3 = pytest.importorskip("urllib3")
aiohttp = pytest.importorskip("aiohttp")
u3 = urllib3.exceptions


def u3_map(exc: Exception, *, reading: bool = False) -> Exception:
    return transports._Urllib3Errors(urllib3).to_httpx(exc, REQUEST, reading=reading)


def reached(exc: Exception) -> bool:
    """What the client makes of it: ``may_have_reached_server`` of our error."""
    from axios_like._exceptions import from_httpx

    ours = from_httpx(exc, None)
    assert isinstance(ours, axios_like.NetworkError), ours
    return ours.may_have_reached_server


POOL = urllib3.HTTPConnectionPool("127.0.0.1", 9)
CONN = urllib3.connection.HTTPConnection("127.0.0.1", 9)

URLLIB3_CASES: list[tuple[str, Exception, bool, type[Exception], bool]] = [
    (
        "refused",
        u3.NewConnectionError(CONN, "[Errno 111] Connection refused"),
        False,
        httpx.ConnectError,
        False,
    ),
    (
        "dns",
        u3.NameResolutionError("x.invalid", CONN, OSError("no")),
        False,
        httpx.ConnectError,
        False,
    ),
    (
        "connect timeout",
        u3.ConnectTimeoutError(CONN, "timed out"),
        False,
        httpx.ConnectTimeout,
        False,
    ),
    ("pool", u3.EmptyPoolError(POOL, "empty"), False, httpx.PoolTimeout, False),
    ("read timeout", u3.ReadTimeoutError(POOL, "/", "timed out"), False, httpx.ReadTimeout, True),
    ("tls", u3.SSLError(ssl.SSLError("bad cert")), False, httpx.ConnectError, False),
    (
        "proxy refused",
        u3.ProxyError("no", u3.NewConnectionError(CONN, "refused")),
        False,
        httpx.ConnectError,
        False,
    ),
    (
        "proxy slow",
        u3.ProxyError("no", u3.ConnectTimeoutError(CONN, "slow")),
        False,
        httpx.ConnectTimeout,
        False,
    ),
    (
        "proxy said no",
        u3.ProxyError("407", OSError("Tunnel connection failed: 407")),
        False,
        httpx.ProxyError,
        False,
    ),
    (
        "drop",
        u3.ProtocolError("Connection aborted.", RemoteDisconnected("closed")),
        False,
        httpx.RemoteProtocolError,
        True,
    ),
    (
        "drop mid body",
        u3.ProtocolError("broken", RemoteDisconnected("closed")),
        True,
        httpx.RemoteProtocolError,
        True,
    ),
    (
        "reset",
        u3.ProtocolError("aborted", ConnectionResetError(errno.ECONNRESET, "reset")),
        False,
        httpx.ReadError,
        True,
    ),
    (
        "reset errno",
        u3.ProtocolError("aborted", OSError(errno.ECONNRESET, "reset")),
        True,
        httpx.ReadError,
        True,
    ),
    (
        "socket timeout in body",
        u3.ProtocolError("broken", TimeoutError("timed out")),
        True,
        httpx.ReadTimeout,
        True,
    ),
    (
        "other os error",
        u3.ProtocolError("aborted", OSError(errno.EHOSTUNREACH, "gone")),
        False,
        httpx.ReadError,
        True,
    ),
    (
        "bad status line",
        u3.ProtocolError("aborted", BadStatusLine("junk")),
        False,
        httpx.RemoteProtocolError,
        True,
    ),
    ("bad url", u3.LocationValueError("no host"), False, httpx.UnsupportedProtocol, None),
    ("anything else", u3.HTTPError("odd"), False, httpx.TransportError, True),
]


@pytest.mark.parametrize(
    ("exc", "reading", "expected", "reaches"),
    [case[1:] for case in URLLIB3_CASES],
    ids=[case[0] for case in URLLIB3_CASES],
)
def test_urllib3_errors(exc: Exception, reading: bool, expected: type, reaches: Any) -> None:
    mapped = u3_map(exc, reading=reading)
    assert type(mapped) is expected
    assert mapped.request is REQUEST  # type: ignore[attr-defined]
    if reaches is not None:
        assert reached(mapped) is reaches


def test_urllib3_map_passes_httpx_and_foreign_errors_through() -> None:
    ours = httpx.StreamConsumed()
    assert u3_map(ours) is ours
    other = KeyError("x")
    assert u3_map(other) is other


def test_urllib3_refused_keeps_the_words_the_reason_needs() -> None:
    from axios_like._exceptions import from_httpx

    mapped = u3_map(u3.NewConnectionError(CONN, "[Errno 111] Connection refused"))
    assert from_httpx(mapped, None).reason == "connect refused"


def test_urllib3_timeout_cache_is_bounded() -> None:
    transport = transports.urllib3_transport()
    for n in range(transports._TIMEOUT_CACHE_SIZE + 5):
        assert transport._timeout(1.0, float(n)).read_timeout == max(float(n), 1e-6)
    assert len(transport._timeouts) <= transports._TIMEOUT_CACHE_SIZE
    assert transport._timeout(1.0, 2.0) is transport._timeout(1.0, 2.0)


def aio_map(exc: Exception, *, reading: bool = False) -> Exception:
    return transports._ErrorMap(aiohttp).to_httpx(exc, REQUEST, reading=reading)


KEY = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 9, False, True, None, None, None)
INFO = aiohttp.RequestInfo(
    url=aiohttp.client_reqrep.URL("http://127.0.0.1:9/"),
    method="GET",
    headers=aiohttp.client_reqrep.CIMultiDictProxy(aiohttp.client_reqrep.CIMultiDict()),
)

AIOHTTP_CASES: list[tuple[str, Exception, bool, type[Exception]]] = [
    (
        "refused",
        aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")),
        False,
        httpx.ConnectError,
    ),
    (
        "unreachable",
        aiohttp.ClientConnectorError(KEY, OSError(113, "no route")),
        False,
        httpx.ConnectError,
    ),
    (
        "proxy",
        aiohttp.ClientProxyConnectionError(KEY, OSError(111, "refused")),
        False,
        httpx.ProxyError,
    ),
    ("connect timeout", aiohttp.ConnectionTimeoutError("slow"), False, httpx.ConnectTimeout),
    ("read timeout", aiohttp.ServerTimeoutError("slow"), False, httpx.ReadTimeout),
    ("asyncio timeout", TimeoutError(), False, httpx.ReadTimeout),
    ("drop", aiohttp.ServerDisconnectedError(), False, httpx.RemoteProtocolError),
    ("drop mid body", aiohttp.ServerDisconnectedError(), True, httpx.RemoteProtocolError),
    ("payload", aiohttp.ClientPayloadError("cut"), True, httpx.RemoteProtocolError),
    ("reset", ConnectionResetError(errno.ECONNRESET, "reset"), True, httpx.ReadError),
    ("reset errno", OSError(errno.ECONNRESET, "reset"), True, httpx.ReadError),
    ("os error", aiohttp.ClientOSError(errno.EPIPE, "pipe"), False, httpx.ReadError),
    ("bad response", aiohttp.ClientResponseError(INFO, ()), False, httpx.RemoteProtocolError),
    ("bad url", aiohttp.InvalidURL("x"), False, httpx.UnsupportedProtocol),
    ("other", aiohttp.ClientError("odd"), False, httpx.TransportError),
]


@pytest.mark.parametrize(
    ("exc", "reading", "expected"),
    [case[1:] for case in AIOHTTP_CASES],
    ids=[case[0] for case in AIOHTTP_CASES],
)
def test_aiohttp_errors(exc: Exception, reading: bool, expected: type) -> None:
    assert type(aio_map(exc, reading=reading)) is expected


def test_aiohttp_map_unwraps_httpx_errors_and_passes_foreign_ones() -> None:
    inner = httpx.StreamConsumed()
    outer = aiohttp.ClientError("wrapped")
    outer.__cause__ = inner
    assert aio_map(outer) is inner
    other = KeyError("x")
    assert aio_map(other) is other


def test_aiohttp_timeout_cache_is_bounded() -> None:
    transport = transports.aiohttp_transport()
    for n in range(transports._TIMEOUT_CACHE_SIZE + 5):
        assert transport._timeout({"read": float(n)}).sock_read == float(n)
    assert len(transport._timeouts) <= transports._TIMEOUT_CACHE_SIZE


def test_urllib3_a_spent_timeout_is_the_least_one_not_an_error() -> None:
    transport = transports.urllib3_transport()
    timeout = transport._timeout(0.0, -1.0)  # a deadline's last instant
    assert (timeout.connect_timeout, timeout.read_timeout) == (1e-6, 1e-6)
    assert transport._timeout(None, None).read_timeout is None
    assert transports._positive(0.0) == 1e-6
    assert transports._positive(None) is None
