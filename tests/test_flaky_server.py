"""Tests for the scriptable fault-injection server used by the rest of the suite."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from axios_like.testing.server import FlakyServer, Reply, Seen


@pytest.fixture
def server() -> Iterator[FlakyServer]:
    with FlakyServer() as srv:
        yield srv


def _server_threads(port: int) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name == f"flaky-server-accept-{port}"
        or t.name.startswith(f"flaky-server-conn-{port}-")
    ]


def _raw_exchange(port: int, payload: bytes) -> bytes:
    """Send raw bytes, return everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        chunks: list[bytes] = []
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_url_and_port(server: FlakyServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0


def test_default_echo(server: FlakyServer) -> None:
    response = httpx.post(
        f"{server.url}/echo/me?a=1&b=two",
        content=b"caf\xc3\xa9 \xff",
        headers={"X-Custom": "Value"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "date" in response.headers
    data = response.json()
    assert data["method"] == "POST"
    assert data["path"] == "/echo/me"
    assert data["query"] == "a=1&b=two"
    assert data["headers"]["x-custom"] == "Value"
    assert data["body"] == "café \ufffd"


def test_script_sequence_last_reply_repeats(server: FlakyServer) -> None:
    server.script(
        "/flaky",
        [Reply(503, headers={"Retry-After": "0"}), Reply(200, json={"ok": True})],
    )
    with httpx.Client(base_url=server.url) as client:
        first = client.get("/flaky")
        assert first.status_code == 503
        assert first.headers["retry-after"] == "0"
        for _ in range(3):
            again = client.get("/flaky?x=1")
            assert again.status_code == 200
            assert again.json() == {"ok": True}
    assert server.count("/flaky") == 4
    assert server.count("/other") == 0


def test_script_replaces_and_validates(server: FlakyServer) -> None:
    server.script("/p", [Reply(201)])
    server.script("/p", [Reply(202, body="text body")])
    response = httpx.get(f"{server.url}/p")
    assert response.status_code == 202
    assert response.text == "text body"
    with pytest.raises(ValueError, match="at least one"):
        server.script("/p", [])
    with pytest.raises(ValueError, match="unknown action"):
        Reply(action="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delay"):
        Reply(delay=-1)


def test_keep_alive_reuses_connection(server: FlakyServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/a").status_code == 200
        assert client.post("/b", json={"x": 1}).status_code == 200
    assert server.connections == 1
    assert [seen.connection for seen in server.requests] == [1, 1]


def test_close_after_forces_new_connection(server: FlakyServer) -> None:
    server.script("/bye", [Reply(200, body=b"bye", action="close_after")])
    with httpx.Client(base_url=server.url) as client:
        response = client.get("/bye")
        assert response.headers["connection"] == "close"
        assert response.content == b"bye"
        assert client.get("/bye").content == b"bye"
    assert server.connections == 2


def test_connection_close_request_header_honoured(server: FlakyServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.get("/x", headers={"Connection": "close"})
        client.get("/x")
    assert server.connections == 2


def test_chunked_request_body_received_intact(server: FlakyServer) -> None:
    parts = [b"hello ", b"chunked ", b"x" * 70000, b" world"]

    def generate() -> Iterator[bytes]:
        yield from parts

    response = httpx.post(f"{server.url}/upload", content=generate())
    assert response.status_code == 200
    (seen,) = server.requests_for("/upload")
    assert seen.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in seen.headers
    assert seen.body == b"".join(parts)


def test_drop_gives_remote_protocol_error(server: FlakyServer) -> None:
    server.script("/drop", [Reply(action="drop")])
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{server.url}/drop")
    assert server.count("/drop") == 1  # recorded although never answered


def test_reset_gives_read_error(server: FlakyServer) -> None:
    server.script("/reset", [Reply(action="reset")])
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"{server.url}/reset")
    assert server.count("/reset") == 1


def test_drop_mid_body_fails_while_reading(server: FlakyServer) -> None:
    server.script("/cut", [Reply(200, body=b"0123456789" * 100, action="drop_mid_body")])
    with httpx.Client() as client, client.stream("GET", f"{server.url}/cut") as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == "1000"
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            response.read()


def test_drop_mid_body_without_body_still_cuts(server: FlakyServer) -> None:
    server.script("/cut", [Reply(action="drop_mid_body")])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(f"{server.url}/cut")


def test_delay_triggers_read_timeout(server: FlakyServer) -> None:
    server.script("/slow", [Reply(delay=3.0), Reply(200, body=b"fast")])
    timeout = httpx.Timeout(5.0, read=0.2)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.url}/slow", timeout=timeout)
    assert time.monotonic() - started < 2.0
    assert httpx.get(f"{server.url}/slow", timeout=timeout).content == b"fast"


def test_handler_function(server: FlakyServer) -> None:
    calls: list[Seen] = []

    def auth(seen: Seen) -> Reply:
        calls.append(seen)
        if seen.headers.get("authorization") == "Bearer good":
            return Reply(200, json={"user": "ann"})
        return Reply(401, headers={"WWW-Authenticate": "Bearer"})

    server.handle("/auth", auth)
    assert httpx.get(f"{server.url}/auth").status_code == 401
    ok = httpx.get(f"{server.url}/auth", headers={"Authorization": "Bearer good"})
    assert ok.json() == {"user": "ann"}
    assert len(calls) == 2

    def broken(seen: Seen) -> Reply:
        raise RuntimeError("boom")

    server.handle("/auth", broken)
    failed = httpx.get(f"{server.url}/auth")
    assert failed.status_code == 500
    assert "boom" in failed.text


def test_requests_recorded_with_connection_ids(server: FlakyServer) -> None:
    before = time.monotonic()
    with httpx.Client(base_url=server.url) as first:
        first.get("/one?q=1")
        first.put("/two", content=b"payload")
    with httpx.Client(base_url=server.url) as second:
        second.delete("/one")
    seen = server.requests
    assert [(s.method, s.path, s.connection) for s in seen] == [
        ("GET", "/one", 1),
        ("PUT", "/two", 1),
        ("DELETE", "/one", 2),
    ]
    assert seen[0].target == "/one?q=1"
    assert seen[1].body == b"payload"
    assert all(key == key.lower() for s in seen for key in s.headers)
    assert before <= seen[0].time <= seen[1].time <= seen[2].time <= time.monotonic()
    assert [s.connection for s in server.requests_for("/one")] == [1, 2]
    assert server.connections == 2

    snapshot = server.requests
    snapshot.clear()
    assert len(server.requests) == 3

    server.script("/one", [Reply(204)])
    server.reset()
    assert server.requests == []
    assert httpx.get(f"{server.url}/one").status_code == 200


def test_head_has_no_body_and_keeps_connection_usable(server: FlakyServer) -> None:
    server.script("/h", [Reply(200, body=b"some body")])
    with httpx.Client(base_url=server.url) as client:
        head = client.head("/h")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == "9"
        assert client.get("/h").content == b"some body"
    assert server.connections == 1


def test_reply_headers_not_duplicated(server: FlakyServer) -> None:
    date = "Mon, 01 Jan 2024 00:00:00 GMT"
    server.script(
        "/h",
        [Reply(json=[1], headers={"Content-Type": "application/x-custom", "Date": date})],
    )
    response = httpx.get(f"{server.url}/h")
    assert response.headers.get_list("content-type") == ["application/x-custom"]
    assert response.headers.get_list("date") == [date]
    assert response.headers.get_list("content-length") == ["3"]


def test_raw_http10_expect_continue_and_bad_request(server: FlakyServer) -> None:
    raw = _raw_exchange(server.port, b"GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in raw

    raw = _raw_exchange(
        server.port,
        b"POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
        b"Connection: close\r\n\r\nhi",
    )
    assert raw.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert server.requests_for("/e")[0].body == b"hi"

    raw = _raw_exchange(server.port, b"garbage\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_shutdown_joins_promptly_with_delayed_reply_in_flight() -> None:
    outcome: list[BaseException | httpx.Response] = []

    with FlakyServer() as server:
        server.script("/hang", [Reply(delay=30.0)])
        port = server.port

        def call() -> None:
            try:
                outcome.append(httpx.get(f"{server.url}/hang", timeout=10.0))
            except httpx.HTTPError as exc:
                outcome.append(exc)

        client_thread = threading.Thread(target=call, daemon=True)
        client_thread.start()
        for _ in range(200):
            if server.count("/hang"):
                break
            time.sleep(0.01)
        assert server.count("/hang") == 1
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    assert _server_threads(port) == []

    client_thread.join(5.0)
    assert not client_thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], httpx.HTTPError)


def test_close_is_idempotent_and_stops_accepting() -> None:
    server = FlakyServer()
    url = server.url
    assert httpx.get(url).status_code == 200
    server.close()
    server.close()
    assert "closed" in repr(server)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1.0)
