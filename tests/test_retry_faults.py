"""The retry engine against real sockets on 127.0.0.1: refused, reset, timeouts, drops, pools."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

import axios_like
from axios_like import (
    ConnectError,
    FixedDelay,
    HTTPStatusError,
    ReadError,
    ReadTimeoutError,
    RetryError,
    RetryEvent,
)
from axios_like.testing.server import FlakyServer, Reply, Seen
from tests.conftest import Both


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test: connection
    counts are taken as the difference over the test."""
    return module_server


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------- refused, reset, timeouts, drops


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_refused_is_retried_for_any_method(
    make_client: Callable[..., Both], dead_url: str, method: str
) -> None:
    events: list[RetryEvent] = []
    api = make_client(base_url=dead_url, on_retry=events.append)
    with pytest.raises(RetryError) as info:
        await api.request(method, "/x", data=b"payload")
    assert (info.value.attempts, info.value.reason) == (4, "max_retries")
    assert isinstance(info.value.__cause__, ConnectError)
    assert [e.reason for e in events] == ["connect refused"] * 3


@pytest.mark.usefixtures("instant")
async def test_reset_get_is_retried(make_client: Callable[..., Both], server: FlakyServer) -> None:
    server.script("/r", [Reply(action="reset"), Reply(200, json={"ok": 1})])
    api = make_client(base_url=server.url)
    r = await api.get("/r")
    assert (r.status, r.data, r.attempts) == (200, {"ok": 1}, 2)
    assert r.history[0].reason == "connection reset"
    assert server.count("/r") == 2


@pytest.mark.usefixtures("instant")
async def test_reset_post_is_not_retried_and_raised_as_itself(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/r", [Reply(action="reset"), Reply(200)])
    api = make_client(base_url=server.url)
    with pytest.raises(ReadError) as info:
        await api.post("/r", data={"a": 1})
    assert info.value.reason == "connection reset"
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert server.count("/r") == 1


@pytest.mark.usefixtures("instant")
async def test_read_timeout_get_retried_post_raised(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/slow", [Reply(200, delay=2.0), Reply(200, json={"ok": True})])
    api = make_client(base_url=server.url, timeout=0.2)
    r = await api.get("/slow")
    assert (r.data, r.attempts) == ({"ok": True}, 2)
    assert r.history[0].reason == "read timeout"

    server.script("/slow-post", [Reply(200, delay=2.0), Reply(200)])
    with pytest.raises(ReadTimeoutError) as info:
        await api.post("/slow-post", data={"a": 1})
    assert not isinstance(info.value, RetryError)
    assert server.count("/slow-post") == 1


@pytest.mark.usefixtures("instant")
async def test_dropped_mid_body_get_is_retried(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script(
        "/d", [Reply(200, body=b"x" * 4000, action="drop_mid_body"), Reply(200, body=b"done")]
    )
    api = make_client(base_url=server.url)
    r = await api.get("/d")
    assert (r.data, r.attempts) == ("done", 2)
    assert r.history[0].reason == "connection dropped"
    assert server.count("/d") == 2


@pytest.mark.usefixtures("instant")
async def test_dropped_before_answer_post_is_raised(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/d", [Reply(action="drop"), Reply(200)])
    api = make_client(base_url=server.url)
    with pytest.raises(axios_like.RemoteProtocolError):
        await api.post("/d", data={"a": 1})
    assert server.count("/d") == 1


# ---------------------------------------------------------------- pool and threads


def _every_third_ok() -> Callable[[Seen], Reply]:
    counter = itertools.count(1)
    lock = threading.Lock()

    def handler(seen: Seen) -> Reply:
        with lock:
            n = next(counter)
        return Reply(200, json={"n": n}) if n % 3 == 0 else Reply(503, body=b"busy" * 2000)

    return handler


@pytest.mark.usefixtures("instant")
async def test_pool_of_one_connection_never_times_out(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.handle("/p", _every_third_ok())
    before = server.connections
    api = make_client(
        base_url=server.url,
        limits=httpx.Limits(max_connections=1),
        timeout=httpx.Timeout(5.0, pool=0.2),
        retry_budget=None,  # every call needs 2 retries: about the pool, not the budget
    )
    for _ in range(50):
        r = await api.get("/p")
        assert (r.status, r.attempts) == (200, 3)
    assert server.count("/p") == 150
    assert server.connections - before == 1  # failed responses drained: keep-alive reused


@pytest.mark.usefixtures("instant")
async def test_pool_of_one_connection_streaming_calls(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.handle("/p", _every_third_ok())
    before = server.connections
    api = make_client(
        base_url=server.url,
        limits=httpx.Limits(max_connections=1),
        timeout=httpx.Timeout(5.0, pool=0.2),
        retry_budget=None,  # every call needs 2 retries: about the pool, not the budget
    )
    for _ in range(20):
        status, body = await api.read_stream("GET", "/p")
        assert status == 200
        assert body.startswith(b'{"n":')
    assert server.count("/p") == 60
    assert server.connections - before == 1


@pytest.mark.usefixtures("instant")
def test_sync_client_shared_by_8_threads(server: FlakyServer) -> None:
    # One flaky path per thread (503, 503, 200, ...), so every call needs exactly three
    # attempts whatever the scheduling: a shared counter could starve one thread.
    for index in range(8):
        server.handle(f"/f/{index}", _every_third_ok())
    barrier = threading.Barrier(8)
    results: list[tuple[int, axios_like.Response]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    # 80 calls that all need 2 retries: the default budget would (rightly) stop them.
    api = axios_like.create(
        base_url=server.url, max_retries=2, retry_strategy=FixedDelay(0), retry_budget=None
    )

    def worker(index: int) -> None:
        barrier.wait()
        for _ in range(10):
            try:
                r = api.get(f"/f/{index}", headers={"X-Worker": str(index)})
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return
            with lock:
                results.append((index, r))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    api.close()
    assert errors == []
    assert len(results) == 80
    assert len(server.requests) == 240
    for index, r in results:
        assert (r.status, r.attempts) == (200, 3)
        assert r.config["url"] == f"/f/{index}"
        assert r.config["headers"]["x-worker"] == str(index)  # no bleed between calls
        assert [(h.attempt, h.status) for h in r.history] == [(1, 503), (2, 503), (3, 200)]
    for index in range(8):
        seen = server.requests_for(f"/f/{index}")
        assert len(seen) == 30
        assert {s.headers["x-worker"] for s in seen} == {str(index)}
        assert sorted(r.data["n"] for i, r in results if i == index) == list(range(3, 31, 3))


# ---------------------------------------------------------------- cancellation and deadline


async def test_async_cancel_during_a_wait_is_immediate(server: FlakyServer) -> None:
    server.script("/c", [Reply(503)])
    async with axios_like.create_async(base_url=server.url, retry_strategy=FixedDelay(5.0)) as api:
        task = asyncio.create_task(api.get("/c"))
        for _ in range(200):
            if server.count("/c") == 1:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # now inside the 5 s wait
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - start < 0.5
        await asyncio.sleep(0.2)
    assert server.count("/c") == 1


async def test_deadline_shorter_than_the_backoff(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/x", [Reply(503)])
    api = make_client(base_url=server.url, deadline=0.5, retry_strategy=FixedDelay(1.0))
    start = time.monotonic()
    with pytest.raises(RetryError) as info:
        await api.get("/x")
    assert time.monotonic() - start < 0.5
    assert (info.value.reason, info.value.attempts) == ("deadline", 1)
    assert server.count("/x") == 1


async def test_attempt_timeout_shrinks_to_the_deadline(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/slow", [Reply(200, delay=2.0)])
    api = make_client(base_url=server.url, timeout=10.0, deadline=0.5)
    start = time.monotonic()
    with pytest.raises(RetryError) as info:
        await api.get("/slow")
    took = time.monotonic() - start
    assert 0.4 <= took < 1.5
    assert info.value.reason == "deadline"
    assert isinstance(info.value.__cause__, ReadTimeoutError)


# ---------------------------------------------------------------- request bodies


def _one_shot_body(is_async: bool, parts: list[bytes]) -> object:
    if is_async:

        async def agen() -> AsyncIterator[bytes]:
            for part in parts:
                yield part

        return agen()

    def gen() -> Iterator[bytes]:
        yield from parts

    return gen()


@pytest.mark.usefixtures("instant")
async def test_generator_body_with_503_is_not_retried(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/g", [Reply(503), Reply(200)])
    api = make_client(base_url=server.url)
    with pytest.raises(HTTPStatusError) as info:
        await api.put("/g", content=_one_shot_body(api.is_async, [b"abc", b"def"]))
    assert type(info.value) is HTTPStatusError
    assert info.value.status == 503
    assert any("cannot be replayed" in note for note in info.value.__notes__)
    assert [s.body for s in server.requests_for("/g")] == [b"abcdef"]


@pytest.mark.usefixtures("instant")
async def test_generator_body_after_refused_is_retried_whole(
    make_client: Callable[..., Both], dead_url: str
) -> None:
    """A refused connection sent nothing: the untouched generator goes out whole next time."""
    port = int(dead_url.rsplit(":", 1)[1])
    started: list[FlakyServer] = []

    def on_retry(event: RetryEvent) -> None:
        assert event.reason == "connect refused"
        started.append(FlakyServer(port=port))

    api = make_client(base_url=dead_url, on_retry=on_retry)
    try:
        r = await api.put("/g", content=_one_shot_body(api.is_async, [b"hello ", b"world"]))
        assert (r.status, r.attempts) == (200, 2)
        assert r.data["body"] == "hello world"
        assert [s.body for s in started[0].requests_for("/g")] == [b"hello world"]
    finally:
        for srv in started:
            srv.close()
    assert len(started) == 1


@pytest.mark.usefixtures("instant")
async def test_bytes_body_is_replayed_identically(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    payload = bytes(range(256)) * 40
    server.script("/put", [Reply(503), Reply(503), Reply(204)])
    api = make_client(base_url=server.url)
    r = await api.put("/put", content=payload)
    assert (r.status, r.attempts) == (204, 3)
    bodies = [s.body for s in server.requests_for("/put")]
    assert bodies == [payload, payload, payload]


@pytest.mark.usefixtures("instant")
async def test_json_body_is_replayed_identically(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/j", [Reply(502), Reply(200)])
    api = make_client(base_url=server.url)
    r = await api.put("/j", data={"name": "ada", "n": [1, 2]})
    assert r.attempts == 2
    bodies = [s.body for s in server.requests_for("/j")]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert b'"ada"' in bodies[0]


# ---------------------------------------------------------------- streaming


@pytest.mark.usefixtures("instant")
async def test_stream_retries_while_opening(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/s", [Reply(503, body=b"no" * 100), Reply(503), Reply(200, body=b"x" * 5000)])
    api = make_client(base_url=server.url)
    status, body = await api.read_stream("GET", "/s")
    assert (status, body) == (200, b"x" * 5000)
    assert server.count("/s") == 3


@pytest.mark.usefixtures("instant")
async def test_stream_never_retries_after_the_body_is_handed_over(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script(
        "/s", [Reply(200, body=b"y" * 10_000, action="drop_mid_body"), Reply(200, body=b"ok")]
    )
    api = make_client(base_url=server.url)
    with pytest.raises(axios_like.RemoteProtocolError) as caught:
        await api.read_stream("GET", "/s")
    # Mapped into our tree like any other failure, with httpx's error as the cause.
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert caught.value.config is not None
    assert caught.value.config["url"] == "/s"
    assert str(caught.value).startswith(f"GET {server.url}/s: ")
    await asyncio.sleep(0.05)
    assert server.count("/s") == 1


async def test_stream_iteration_errors_are_mapped(server: FlakyServer) -> None:
    server.script("/s", [Reply(200, body=b"line\n" * 4000, action="drop_mid_body")])
    with axios_like.create(base_url=server.url, max_retries=0) as api:
        for method in ("iter_bytes", "iter_lines"):
            with api.stream("GET", "/s") as r, pytest.raises(axios_like.RemoteProtocolError):
                for _ in getattr(r, method)():
                    pass
    async with axios_like.create_async(base_url=server.url, max_retries=0) as aapi:
        for method in ("aiter_bytes", "aiter_lines"):
            async with aapi.stream("GET", "/s") as r:
                with pytest.raises(axios_like.RemoteProtocolError):
                    async for _ in getattr(r, method)():
                        pass
    assert server.count("/s") == 4
