"""``axios_like.transports.urllib3_transport()``: the optional fast sync engine (extra ``fast``).

The whole behavioural suite also runs over it (``AXIOS_LIKE_TEST_TRANSPORT=urllib3``);
these tests pin what is particular to the transport, against real loopback sockets:

- every fault (refused port, reset, dropped before the reply, half a body, a stall
  before or inside the body, a malformed reply, a full pool) raises the *same* httpx
  exception class as httpx's own ``HTTPTransport``, so the retry rules (connect phase:
  never reached the server; read phase: may have) hold exactly;
- urllib3 never retries, redirects or decodes behind httpx's back;
- streaming, request bodies, pool limits, timeouts and proxies.
"""

from __future__ import annotations

import gzip
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import axios_like
from axios_like.testing.server import FlakyServer, Reply


def test_missing_extra_is_an_import_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "urllib3", None)  # import urllib3 -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'axios-like\[fast\]'"):
        axios_like.transports.urllib3_transport()


pytest.importorskip("urllib3")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


class RawServer:
    """A loopback server that answers every connection with fixed bytes, then stalls
    ``stall`` seconds (bounded: it stops when closed) and closes."""

    def __init__(self, payload: bytes, stall: float = 0.0) -> None:
        self.payload = payload
        self.stall = stall
        self.done = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.05)  # accept() wakes to see done (close() does not wake it)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5.0)
            with conn:
                conn.recv(65_536)
                conn.sendall(self.payload)
                self.done.wait(self.stall)

    def close(self) -> None:
        self.done.set()
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def raw() -> Iterator[Callable[..., RawServer]]:
    made: list[RawServer] = []

    def factory(payload: bytes, stall: float = 0.0) -> RawServer:
        made.append(RawServer(payload, stall))
        return made[-1]

    yield factory
    for srv in made:
        srv.close()


def engines(**kwargs: Any) -> dict[str, httpx.BaseTransport]:
    return {
        "httpx": httpx.HTTPTransport(**kwargs),
        "urllib3": axios_like.transports.urllib3_transport(**kwargs),
    }


def outcome(transport: httpx.BaseTransport, send: Callable[[httpx.Client], object]) -> str:
    """The httpx exception class a send raises ("ok" if none)."""
    with httpx.Client(transport=transport, timeout=0.3) as client:
        try:
            send(client)
        except httpx.HTTPError as exc:
            return type(exc).__name__
    return "ok"


HEAD_ONLY = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
BAD_CHUNK = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"

#: fault -> (how to produce it, the httpx class both engines must raise)
FAULTS: dict[str, tuple[str, str]] = {
    "refused": ("refused", "ConnectError"),
    "reset": ("reset", "ReadError"),
    "drop": ("drop", "RemoteProtocolError"),
    "half body": ("drop_mid_body", "RemoteProtocolError"),
    "half of a big body": ("drop_mid_body big", "RemoteProtocolError"),
    "stall before the head": ("stall", "ReadTimeout"),
    "stall inside the body": ("raw stall", "ReadTimeout"),
    "garbage status line": ("raw garbage", "RemoteProtocolError"),
    "bad chunk length": ("raw chunk", "RemoteProtocolError"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_fault_raises_what_httpx_own_transport_raises(
    fault: str, server: FlakyServer, raw: Callable[..., RawServer]
) -> None:
    how, expected = FAULTS[fault]
    if how == "refused":
        url = f"http://127.0.0.1:{free_port()}/"
    elif how == "raw stall":
        url = raw(HEAD_ONLY, stall=2.0).url
    elif how == "raw garbage":
        url = raw(b"garbage\r\n\r\n").url
    elif how == "raw chunk":
        url = raw(BAD_CHUNK).url
    elif how == "stall":
        server.script("/f", [Reply(200, delay=2.0)])
        url = f"{server.url}/f"
    else:
        action, _, size = how.partition(" ")
        body = b"x" * (300_000 if size else 1000)
        server.script("/f", [Reply(200, body=body, action=action)])  # type: ignore[arg-type]
        url = f"{server.url}/f"
    seen = {name: outcome(t, lambda c: c.get(url).read()) for name, t in engines().items()}
    assert seen == {"httpx": expected, "urllib3": expected}


def test_a_full_pool_is_a_pool_timeout_on_both(server: FlakyServer) -> None:
    def second_while_first_streams(client: httpx.Client) -> None:
        with client.stream("GET", f"{server.url}/a"):
            client.get(f"{server.url}/b", timeout=httpx.Timeout(2.0, pool=0.1))

    limits = httpx.Limits(max_connections=1)
    seen = {n: outcome(t, second_while_first_streams) for n, t in engines(limits=limits).items()}
    assert seen == {"httpx": "PoolTimeout", "urllib3": "PoolTimeout"}


def client(url: str, **config: Any) -> axios_like.Client:
    return axios_like.create(
        base_url=url, transport=axios_like.transports.urllib3_transport(), **config
    )


@pytest.mark.usefixtures("instant")
def test_refused_is_retried_even_for_post() -> None:
    with (
        client(f"http://127.0.0.1:{free_port()}") as api,
        pytest.raises(axios_like.RetryError) as info,
    ):
        api.post("/x", data={"a": 1}, max_retries=2)
    assert info.value.attempts == 3
    assert isinstance(info.value.__cause__, axios_like.ConnectError)
    assert info.value.__cause__.may_have_reached_server is False
    assert [h.reason for h in info.value.history] == ["connect refused"] * 3


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize(
    ("action", "error", "reason"),
    [
        ("reset", axios_like.ReadError, "connection reset"),
        ("drop", axios_like.RemoteProtocolError, "connection dropped"),
        ("drop_mid_body", axios_like.RemoteProtocolError, "connection dropped"),
    ],
)
def test_read_phase_faults_are_not_retried_for_post(
    server: FlakyServer, action: str, error: type[Exception], reason: str
) -> None:
    server.script("/p", [Reply(200, body=b"x" * 100, action=action), Reply(200)])  # type: ignore[arg-type]
    with client(server.url, max_retries=3) as api, pytest.raises(error) as info:
        api.post("/p", data={"a": 1})
    assert getattr(info.value, "reason", None) == reason
    assert getattr(info.value, "may_have_reached_server", None) is True
    assert server.count("/p") == 1  # sent once: urllib3 retried nothing, nor did we


@pytest.mark.usefixtures("instant")
def test_read_phase_faults_are_retried_for_get(server: FlakyServer) -> None:
    server.script(
        "/g",
        [
            Reply(action="reset"),
            Reply(action="drop"),
            Reply(action="drop_mid_body"),
            Reply(200, json=1),
        ],
    )
    with client(server.url, max_retries=3) as api:
        r = api.get("/g")
    assert (r.data, r.attempts) == (1, 4)
    assert [h.reason for h in r.history] == [
        "connection reset",
        "connection dropped",
        "connection dropped",
        "ok",
    ]
    assert server.count("/g") == 4


def test_a_reset_get_with_no_retries_reaches_the_server_once(server: FlakyServer) -> None:
    server.script("/r", [Reply(action="reset"), Reply(200)])
    with client(server.url) as api, pytest.raises(axios_like.ReadError):
        api.get("/r", max_retries=0)
    assert server.count("/r") == 1


def test_pool_timeout_never_reached_the_server(server: FlakyServer) -> None:
    transport = axios_like.transports.urllib3_transport(limits=httpx.Limits(max_connections=1))
    with axios_like.create(base_url=server.url, transport=transport) as api:
        with api.stream("GET", "/a"), pytest.raises(axios_like.PoolTimeoutError) as info:
            api.get("/b", timeout=httpx.Timeout(2.0, pool=0.1), max_retries=0)
        assert info.value.may_have_reached_server is False
        assert api.get("/c").status == 200  # the stream's connection came back
    assert server.count("/b") == 0


def test_read_timeout_comes_from_the_request_extensions(server: FlakyServer) -> None:
    server.script("/slow", [Reply(200, delay=2.0)])
    with client(server.url, max_retries=0) as api:
        started = time.monotonic()
        with pytest.raises(axios_like.ReadTimeoutError) as info:
            api.get("/slow", timeout=0.2)
        took = time.monotonic() - started
        assert api.get("/fast", timeout=5.0).status == 200  # another value: another Timeout
    assert 0.15 < took < 1.5
    assert info.value.may_have_reached_server is True


def test_keep_alive_and_a_half_read_stream(server: FlakyServer) -> None:
    server.script("/big", [Reply(200, body=b"b" * 300_000)])
    transport = axios_like.transports.urllib3_transport(limits=httpx.Limits(max_connections=1))
    with httpx.Client(transport=transport) as c:
        assert [c.get(f"{server.url}/n{n}").status_code for n in range(3)] == [200] * 3
        assert server.connections == 1  # reused
        with c.stream("GET", f"{server.url}/big") as r:
            first = next(r.iter_raw())
        assert 0 < len(first) < 300_000
        assert c.get(f"{server.url}/after", timeout=2.0).status_code == 200  # slot given back
    assert server.connections == 2  # the half-read connection was closed, not reused


def test_streaming_a_large_body_in_chunks(server: FlakyServer) -> None:
    body = bytes(range(256)) * 2000  # 512 000 bytes
    server.script("/big", [Reply(200, body=body)])
    with httpx.Client(transport=axios_like.transports.urllib3_transport()) as c:
        with c.stream("GET", f"{server.url}/big") as r:
            chunks = list(r.iter_raw())
        assert c.get(f"{server.url}/again").status_code == 200
    assert b"".join(chunks) == body
    assert len(chunks) > 1
    assert server.connections == 1  # read to the end: back in the pool


def test_request_bodies_bytes_streamed_and_sized(server: FlakyServer) -> None:
    with httpx.Client(transport=axios_like.transports.urllib3_transport()) as c:
        c.post(f"{server.url}/bytes", content=b"abc")
        c.post(f"{server.url}/chunked", content=iter([b"ab", b"", b"cd"]))
        c.post(f"{server.url}/sized", content=iter([b"ab", b"cd"]), headers={"Content-Length": "4"})
        c.post(f"{server.url}/empty")
    seen = {s.path: s for s in server.requests}
    assert seen["/bytes"].body == b"abc"
    assert seen["/bytes"].headers["content-length"] == "3"
    assert seen["/chunked"].body == b"abcd"
    assert seen["/chunked"].headers["transfer-encoding"] == "chunked"
    assert seen["/sized"].body == b"abcd"
    assert "transfer-encoding" not in seen["/sized"].headers
    assert seen["/empty"].headers["content-length"] == "0"


def test_a_streamed_body_is_replayed_or_refused_as_on_httpx(server: FlakyServer) -> None:
    server.script("/s", [Reply(action="reset"), Reply(200)])
    with client(server.url) as api, pytest.raises(axios_like.AxiosLikeError) as info:
        api.post("/s", data=iter([b"x"]), max_retries=0)
    assert isinstance(info.value, axios_like.ReadError)
    assert server.count("/s") == 1


def test_headers_are_httpx_s_and_identical_on_both_engines(server: FlakyServer) -> None:
    for name, transport in engines().items():
        with httpx.Client(transport=transport) as c:
            c.get(f"{server.url}/{name}", headers=[("X-A", "1"), ("X-A", "2")])
    by = {s.path: s.headers for s in server.requests}
    assert by["/urllib3"] == by["/httpx"]
    assert by["/urllib3"]["x-a"] == "1, 2"
    assert by["/urllib3"]["user-agent"].startswith("python-httpx/")


def test_no_default_headers_of_urllib3_when_httpx_sends_none(server: FlakyServer) -> None:
    with httpx.Client(transport=axios_like.transports.urllib3_transport()) as c:
        request = c.build_request("GET", f"{server.url}/bare")
        del request.headers["User-Agent"]
        del request.headers["Accept-Encoding"]
        c.send(request)
    seen = server.requests_for("/bare")[0].headers
    assert "user-agent" not in seen
    assert "accept-encoding" not in seen


def test_gzip_is_decoded_by_httpx_exactly_as_on_its_own_transport(server: FlakyServer) -> None:
    packed = gzip.compress(b"hello " * 100)
    results = {}
    for name, transport in engines().items():
        server.script("/gz", [Reply(200, headers={"Content-Encoding": "gzip"}, body=packed)])
        with httpx.Client(transport=transport) as c:
            r = c.get(f"{server.url}/gz")
            with c.stream("GET", f"{server.url}/gz") as s:
                wire = b"".join(s.iter_raw())
        results[name] = (
            r.content,
            r.headers["content-encoding"],
            r.headers["content-length"],
            wire,
        )
    assert results["urllib3"] == results["httpx"]
    assert results["urllib3"][0] == b"hello " * 100
    assert results["urllib3"][3] == packed  # iter_raw: the bytes as sent


def test_bad_gzip_is_a_decoding_error(server: FlakyServer) -> None:
    server.script("/bad", [Reply(200, headers={"Content-Encoding": "gzip"}, body=b"nope")])
    with client(server.url) as api, pytest.raises(axios_like.DecodingError):
        api.get("/bad")


def test_redirects_are_httpx_s(server: FlakyServer) -> None:
    server.script("/from", [Reply(302, headers={"Location": "/to"})])
    with httpx.Client(transport=axios_like.transports.urllib3_transport()) as c:
        unfollowed = c.get(f"{server.url}/from")
        followed = c.get(f"{server.url}/from", follow_redirects=True)
    assert unfollowed.status_code == 302
    assert (followed.status_code, len(followed.history)) == (200, 1)
    assert [s.path for s in server.requests] == ["/from", "/from", "/to"]


def test_response_metadata(server: FlakyServer) -> None:
    server.script("/m", [Reply(201, headers={"X-B": "1"}, body=b"ok")])
    with httpx.Client(transport=axios_like.transports.urllib3_transport()) as c:
        r = c.get(f"{server.url}/m")
    assert (r.status_code, r.http_version, r.reason_phrase, r.text) == (
        201,
        "HTTP/1.1",
        "Created",
        "ok",
    )
    assert r.headers["x-b"] == "1"


def test_unsupported_scheme() -> None:
    transport = axios_like.transports.urllib3_transport()
    with httpx.Client(transport=transport) as c, pytest.raises(httpx.UnsupportedProtocol):
        c.get("ftp://example.invalid/")


def test_an_http_proxy_gets_the_absolute_url_and_credentials(server: FlakyServer) -> None:
    proxy = f"http://user:pw@127.0.0.1:{server.port}"
    transport = axios_like.transports.urllib3_transport(proxy=proxy)
    with httpx.Client(transport=transport) as c:
        r = c.get("http://example.invalid/p?q=1")
    seen = server.requests[0]
    assert r.status_code == 200
    assert seen.target == "http://example.invalid/p?q=1"
    assert seen.headers["proxy-authorization"] == "Basic dXNlcjpwdw=="


@pytest.mark.usefixtures("instant")
def test_a_refused_proxy_is_a_connect_error_so_post_is_retried() -> None:
    proxy = httpx.Proxy(f"http://127.0.0.1:{free_port()}")
    transport = axios_like.transports.urllib3_transport(proxy=proxy)
    with (
        axios_like.create(transport=transport) as api,
        pytest.raises(axios_like.RetryError) as info,
    ):
        api.post("http://example.invalid/", data={"a": 1}, max_retries=1)
    assert info.value.attempts == 2
    assert isinstance(info.value.__cause__, axios_like.ConnectError)


def test_a_socks_proxy_is_a_config_error() -> None:
    with pytest.raises(axios_like.ConfigError, match=r"proxy: .*socks5://"):
        axios_like.transports.urllib3_transport(proxy="socks5://127.0.0.1:1080")


def test_uncapped_limits_and_close(server: FlakyServer) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=2)
    transport = axios_like.transports.urllib3_transport(limits=limits)
    with (
        httpx.Client(transport=transport) as c,
        c.stream("GET", f"{server.url}/a"),
        c.stream("GET", f"{server.url}/b"),
    ):
        assert c.get(f"{server.url}/c").status_code == 200  # a third, uncapped
    assert server.connections == 3
    # closed: every pooled connection was dropped; the transport itself can still send
    response = transport.handle_request(httpx.Request("GET", f"{server.url}/d"))
    response.read()
    assert response.status_code == 200
    assert server.connections == 4
