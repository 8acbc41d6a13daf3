"""Real sockets on 127.0.0.1: refused, timeouts, drops, resets, keep-alive, pools, streams."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import axios_like
from axios_like.testing.server import FlakyServer, Reply, Seen
from tests.conftest import Both


def free_port() -> int:
    """A port nobody listens on: bind one, note it, close it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def connection_threads(server: FlakyServer) -> list[threading.Thread]:
    prefix = f"flaky-server-conn-{server.port}-"
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


async def test_connection_refused(make_client: Callable[..., Both]) -> None:
    api = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(axios_like.ConnectError) as info:
        await api.post("/x", max_retries=0, data={"a": 1})
    error = info.value
    assert error.reason == "connect refused"
    assert error.may_have_reached_server is False
    assert type(error.__cause__).__name__ == "ConnectError"
    assert error.config is not None
    assert error.config["method"] == "POST"


@pytest.mark.usefixtures("instant")
async def test_connection_refused_is_retried_for_any_method(
    make_client: Callable[..., Both],
) -> None:
    api = make_client(base_url=f"http://127.0.0.1:{free_port()}", max_retries=2)
    with pytest.raises(axios_like.RetryError) as info:
        await api.post("/x")
    assert info.value.attempts == 3
    assert info.value.reason == "max_retries"
    assert isinstance(info.value.__cause__, axios_like.ConnectError)
    assert [h.reason for h in info.value.history] == ["connect refused"] * 3


async def test_read_timeout(make_client: Callable[..., Both], server: FlakyServer) -> None:
    server.script("/slow", [Reply(200, delay=2.0)])
    api = make_client(base_url=server.url, timeout=0.2, max_retries=0)
    started = time.monotonic()
    with pytest.raises(axios_like.ReadTimeoutError) as info:
        await api.get("/slow")
    assert 0.15 < time.monotonic() - started < 1.5
    assert info.value.reason == "read timeout"
    assert info.value.may_have_reached_server
    assert isinstance(info.value, axios_like.TimeoutError)
    assert server.count("/slow") == 1


async def test_read_timeout_is_a_builtin_timeout_error(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    import builtins

    server.script("/slow", [Reply(200, delay=2.0)])
    api = make_client(base_url=server.url, timeout=0.2, max_retries=0)
    caught: BaseException | None = None
    try:
        await api.get("/slow")
    except builtins.TimeoutError as exc:  # what asyncio and socket users already catch
        caught = exc
    assert isinstance(caught, axios_like.ReadTimeoutError)
    assert isinstance(caught, axios_like.NetworkError | axios_like.AxiosLikeError | OSError)
    assert str(caught) == caught.message
    assert caught.reason == "read timeout"
    assert caught.config is not None
    assert caught.config["url"] == "/slow"
    assert server.count("/slow") == 1


async def test_connection_dropped_mid_body(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/cut", [Reply(200, body=b"x" * 4096, action="drop_mid_body")])
    api = make_client(base_url=server.url, max_retries=0)
    with pytest.raises(axios_like.NetworkError) as info:
        await api.get("/cut")
    assert isinstance(info.value, axios_like.RemoteProtocolError)
    assert info.value.reason == "connection dropped"
    assert info.value.may_have_reached_server


async def test_connection_reset(make_client: Callable[..., Both], server: FlakyServer) -> None:
    server.script("/reset", [Reply(action="reset")])
    api = make_client(base_url=server.url, max_retries=0)
    with pytest.raises(axios_like.ReadError) as info:
        await api.get("/reset")
    assert info.value.reason == "connection reset"
    assert info.value.may_have_reached_server


@pytest.mark.usefixtures("instant")
async def test_a_drop_mid_body_is_a_failed_attempt_and_retried(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/cut", [Reply(200, action="drop_mid_body"), Reply(200, json={"ok": 1})])
    api = make_client(base_url=server.url)
    r = await api.get("/cut")
    assert (r.data, r.attempts) == ({"ok": 1}, 2)
    assert r.history[0].reason == "connection dropped"


async def test_keep_alive_reuses_one_connection(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    for n in range(5):
        assert (await api.get(f"/n{n}")).status == 200
    assert server.connections == 1
    assert {s.connection for s in server.requests} == {1}


@pytest.mark.usefixtures("instant")
async def test_failed_attempts_are_drained_so_the_connection_is_reused(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/flaky", [Reply(503, body=b"e" * 10_000)] * 3 + [Reply(200)])
    api = make_client(base_url=server.url)
    assert (await api.get("/flaky")).attempts == 4
    assert server.connections == 1


def test_sync_client_closes_its_pool_on_exit(server: FlakyServer) -> None:
    with axios_like.create(base_url=server.url) as api:
        api.get("/x")
        assert len(connection_threads(server)) == 1
    assert wait_until(lambda: not connection_threads(server))  # the server saw it close
    with pytest.raises(axios_like.InvalidRequestError, match="client is closed"):
        api.get("/x", retry_on=lambda error: True)  # the client's own error: never retried
    assert server.count("/x") == 1
    with axios_like.create(base_url=server.url) as other:
        other.get("/y")
    assert server.connections == 2


async def test_async_client_closes_its_pool_on_exit(server: FlakyServer) -> None:
    async with axios_like.create_async(base_url=server.url) as api:
        await api.get("/x")
        assert len(connection_threads(server)) == 1
    assert wait_until(lambda: not connection_threads(server))
    with pytest.raises(axios_like.InvalidRequestError, match="client is closed"):
        await api.get("/x", retry_on=lambda error: True)
    assert server.count("/x") == 1


async def test_close_and_aclose(server: FlakyServer) -> None:
    api = axios_like.create(base_url=server.url)
    aapi = axios_like.create_async(base_url=server.url)
    api.get("/x")
    await aapi.get("/x")
    assert server.connections == 2
    api.close()
    await aapi.aclose()
    assert wait_until(lambda: not connection_threads(server))


def test_sync_stream(server: FlakyServer) -> None:
    server.script("/big", [Reply(200, body=b"line 1\nline 2\n" * 1000)])
    with axios_like.create(base_url=server.url) as api:
        with api.stream("GET", "/big") as r:
            assert r.status == 200
            assert not r.raw.is_stream_consumed
            with pytest.raises(axios_like.StreamError, match="not read yet") as info:
                r.data  # noqa: B018
            assert info.value.config is r.config
            chunks = list(r.iter_bytes())
        assert b"".join(chunks) == b"line 1\nline 2\n" * 1000
        assert r.raw.is_closed
        with api.stream("GET", "/big") as r:
            assert list(r.iter_lines())[:3] == ["line 1", "line 2", "line 1"]
        with api.stream("GET", "/big") as r:
            assert r.read() == b"line 1\nline 2\n" * 1000
            assert r.data == "line 1\nline 2\n" * 1000
        with api.stream("GET", "/big") as r:
            r.close()
            assert r.raw.is_closed
    assert server.connections == 1  # every streamed response gave its connection back


async def test_async_stream(server: FlakyServer) -> None:
    server.script("/big", [Reply(200, json={"n": list(range(500))})])
    async with axios_like.create_async(base_url=server.url) as api:
        async with api.stream("GET", "/big") as r:
            with pytest.raises(axios_like.StreamError):
                r.data  # noqa: B018
            chunks = [chunk async for chunk in r.aiter_bytes(100)]
        assert len(chunks) > 1
        assert all(len(c) <= 100 for c in chunks)
        async with api.stream("GET", "/big") as r:
            lines = [line async for line in r.aiter_lines()]
            assert len(lines) == 1
        async with api.stream("GET", "/big") as r:
            await r.aread()
            assert r.data == {"n": list(range(500))}
        async with api.stream("GET", "/big") as r:
            await r.aclose()
            assert r.raw.is_closed
    assert server.connections == 1


def test_a_sync_client_shared_by_threads_keeps_every_call_apart(server: FlakyServer) -> None:
    def echo(seen: Seen) -> Reply:
        return Reply(200, json={"call": seen.headers.get("x-call")})

    server.handle("/echo", echo)
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def stamp(config: dict[str, Any]) -> dict[str, Any]:
        config["meta"]["seen_by_interceptor"] = config["headers"]["x-call"]
        return config

    with axios_like.create(base_url=server.url, headers={"X-Shared": "s"}) as api:
        api.interceptors.request.use(stamp)

        def worker(thread: int) -> None:
            try:
                for call in range(10):
                    tag = f"{thread}-{call}"
                    r = api.get("/echo", headers={"X-Call": tag}, meta={"tag": tag})
                    with lock:
                        results[tag] = r
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert len(results) == 80
    for tag, r in results.items():
        assert r.data == {"call": tag}
        assert r.config["headers"]["x-call"] == tag
        assert r.request.headers["x-call"] == tag
        assert r.config["meta"] == {"tag": tag, "seen_by_interceptor": tag}
    assert sorted(s.headers["x-call"] for s in server.requests) == sorted(results)
    assert {s.headers["x-shared"] for s in server.requests} == {"s"}
    assert list(api.defaults["headers"].items()) == [("x-shared", "s")]
    assert api.defaults["meta"] == {}


@pytest.mark.usefixtures("instant")
async def test_failed_streamed_attempts_are_drained_or_dropped(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script(
        "/s",
        [
            Reply(503, body=b"x" * 200_000),  # more than the drain limit: closed, not reused
            Reply(503, body=b"y" * 1000, action="drop_mid_body"),  # draining fails
            Reply(503, body=b"z" * 1000),  # drained: its connection is reused
            Reply(200, body=b"ok"),
        ],
    )
    api = make_client(base_url=server.url)
    assert await api.read_stream("GET", "/s") == (200, b"ok")
    assert server.count("/s") == 4
    assert [s.connection for s in server.requests] == [1, 2, 3, 3]


async def test_every_verb_sends_its_method(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    client: Any = api.client
    verbs = ["get", "post", "put", "patch", "delete", "head", "options"]
    for verb in verbs:
        result = getattr(client, verb)(f"/{verb}")
        r = await result if api.is_async else result
        assert (r.status, r.config["method"]) == (200, verb.upper())
    assert [(s.method, s.path) for s in server.requests] == [
        (verb.upper(), f"/{verb}") for verb in verbs
    ]
