"""FaultTransport: every fault is the real socket's fault, for both clients, GET and POST.

The proof test runs each fault twice, once against a real socket on 127.0.0.1
(``FlakyServer``, a closed port, a listener whose accept queue is full) and once
through ``FaultTransport``, and requires the same outcome: the final error's type,
its cause, ``reason``, message, ``is_retryable``, ``may_have_reached_server``, the
attempts and their history, and how many requests the server saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import axios_like
from axios_like.testing import Fault, FaultTransport, RecordedRequest, instant_retries
from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import Both


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


# ---------------------------------------------------------------- real sockets


def closed_port() -> int:
    """A port nobody listens on: bind one, note it, close it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.contextmanager
def full_accept_queue() -> Iterator[int]:
    """A listener on 127.0.0.1 that never accepts and whose accept queue is full.

    The kernel drops the SYN of any further connection, so connecting times out:
    a real connect timeout without leaving the machine.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(8):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.1)
        try:
            probe.connect(("127.0.0.1", port))
        except TimeoutError:
            pass
        else:  # pragma: no cover - a kernel that queues without limit
            pytest.skip("this kernel accepts past a full accept queue: no real connect timeout")
        finally:
            probe.close()
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# ---------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    name: str
    fault: Fault
    reply: Reply | None  # what FlakyServer does; None: the socket trick named in `name`


CASES = [
    Case("refused", Fault.REFUSED, None),
    Case("connect_timeout", Fault.CONNECT_TIMEOUT, None),
    Case("reset", Fault.RESET, Reply(action="reset")),
    Case("drop", Fault.DROP, Reply(action="drop")),
    Case("read_timeout", Fault.READ_TIMEOUT, Reply(200, delay=3.0)),
    Case("half_body", Fault.HALF_BODY, Reply(200, body=b"x" * 1024, action="drop_mid_body")),
    Case("slow_past_timeout", Fault.slow(3.0), Reply(200, delay=3.0)),
    Case("slow_in_time", Fault.slow(0.01), Reply(200, delay=0.01)),
    Case("503_retry_after", Fault.status(503, retry_after=1), Reply(503, {"Retry-After": "1"})),
    Case("429_retry_after", Fault.status(429, retry_after=2), Reply(429, {"Retry-After": "2"})),
    Case("500", Fault.status(500, body="boom"), Reply(500, body="boom")),
    Case("404", Fault.status(404), Reply(404)),
]

TIMEOUT = 0.2  # seconds: the real timeouts cost this much per attempt


def outcome(exc: BaseException | None, response: axios_like.Response | None, base: str) -> Any:
    """What a test of the user's code could observe, with the base URL taken out."""
    if response is not None:
        return ("ok", response.status, response.attempts, [h.reason for h in response.history])
    assert exc is not None
    inner = exc.last_error if isinstance(exc, axios_like.RetryError) else exc
    history = getattr(exc, "history", ())
    return (
        type(exc).__name__,
        type(inner).__name__,
        type(inner.__cause__).__name__,
        getattr(inner, "reason", None),
        str(inner).replace(base, "<base>"),
        axios_like.is_retryable(inner),
        getattr(inner, "may_have_reached_server", None),
        getattr(exc, "attempts", 1),
        [(h.reason, h.status, h.delay) for h in history],
        getattr(inner, "status", None),
    )


async def run(api: Both, method: str, base: str) -> Any:
    with instant_retries():
        try:
            response = await api.request(method, "/charge", data={"cents": 100})
        except axios_like.AxiosLikeError as exc:
            return outcome(exc, None, base)
    return outcome(None, response, base)


@contextlib.contextmanager
def real_base(case: Case, server: FlakyServer) -> Iterator[str]:
    if case.name == "refused":
        yield f"http://127.0.0.1:{closed_port()}"
    elif case.name == "connect_timeout":
        with full_accept_queue() as port:
            yield f"http://127.0.0.1:{port}"
    else:
        assert case.reply is not None
        server.script("/charge", [case.reply])
        yield server.url


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_each_fault_is_what_a_real_socket_gives(
    case: Case,
    method: str,
    make_client: Callable[..., Both],
    server: FlakyServer,
    request: pytest.FixtureRequest,
) -> None:
    config = {"timeout": TIMEOUT, "max_retries": 1, "retry_strategy": axios_like.FixedDelay(0.5)}
    # The real side is httpx's own transport, whatever AXIOS_LIKE_TEST_TRANSPORT picks:
    # FaultTransport raises what *that* transport raises.
    own = (
        httpx.AsyncHTTPTransport()
        if request.node.callspec.params["make_client"] == "async"
        else httpx.HTTPTransport()
    )
    with real_base(case, server) as base:
        real = await run(make_client(base_url=base, transport=own, **config), method, base)
    seen_by_server = server.count("/charge")

    transport = FaultTransport([case.fault])
    fake_base = "http://billing.test"
    fake = await run(
        make_client(base_url=fake_base, transport=transport, **config), method, fake_base
    )

    assert fake == real
    assert transport.count("/charge") == seen_by_server
    attempts = real[2] if real[0] == "ok" else real[7]
    assert len(transport.requests) == attempts
    assert {r.fault for r in transport.requests} == {case.fault}


def test_the_cases_cover_every_fault_kind() -> None:
    kinds = {c.fault.kind for c in CASES}
    assert kinds == {
        "refused",
        "connect_timeout",
        "reset",
        "drop",
        "read_timeout",
        "half_body",
        "slow",
        "status",
    }


def test_messages_match_httpx_own_transport_exactly() -> None:
    """The raw httpx errors (below axios_like), sync and async, message and cause."""

    def sync_error(client: httpx.Client) -> BaseException:
        with pytest.raises(httpx.TransportError) as info:
            client.get("/charge")
        return info.value

    async def async_error(client: httpx.AsyncClient) -> BaseException:
        with pytest.raises(httpx.TransportError) as info:
            await client.get("/charge")
        return info.value

    def shape(exc: BaseException, base: str) -> list[tuple[str, str]]:
        """The cause chain as (class, message), down to the OS error."""
        chain: list[tuple[str, str]] = []
        item: BaseException | None = exc
        while item is not None and len(chain) < 10:
            if isinstance(item, asyncio.CancelledError):
                break  # anyio's cancel scope under an async timeout: not made up
            name = f"{type(item).__module__}.{type(item).__qualname__}"
            text = re.sub(r"\('127\.0\.0\.1', \d+\)", "<addr>", str(item))
            chain.append((name.replace("h11._util", "h11"), text.replace(base, "<base>")))
            item = item.__cause__ or item.__context__
        return chain

    kw: dict[str, Any] = {"timeout": TIMEOUT}
    with FlakyServer() as server:
        cut = Fault.half_body(body=b"y" * 100)
        for case in [
            *CASES[:2],
            *(c for c in CASES if c.reply is not None and c.reply.action != "respond"),
            Case("read_timeout", Fault.READ_TIMEOUT, Reply(200, delay=2.0)),
            Case("cut", cut, Reply(200, body=b"y" * 100, action="drop_mid_body")),
        ]:
            with real_base(case, server) as base:
                transport = FaultTransport([case.fault])
                with (
                    httpx.Client(base_url=base, **kw) as real_sync,
                    httpx.Client(base_url=base, transport=transport, **kw) as fake_sync,
                ):
                    assert shape(sync_error(fake_sync), base) == shape(sync_error(real_sync), base)

                async def both_async(base: str = base, fault: Fault = case.fault) -> None:
                    async with httpx.AsyncClient(base_url=base, **kw) as real_async:
                        real = shape(await async_error(real_async), base)
                    transport = FaultTransport([fault])
                    async with httpx.AsyncClient(base_url=base, transport=transport, **kw) as fake:
                        assert shape(await async_error(fake), base) == real

                asyncio.run(both_async())


# ---------------------------------------------------------------- scripts


@pytest.mark.usefixtures("instant")
async def test_a_list_script_applies_in_order_to_every_request(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport([503, Fault.RESET, Fault.status(200, body="done"), 418])
    api = make_client(base_url="http://svc.test", transport=transport, max_retries=3)
    r = await api.get("/a")
    assert (r.status, r.attempts) == (200, 3)
    assert [h.reason for h in r.history] == ["status 503", "connection reset", "ok"]
    with pytest.raises(axios_like.HTTPStatusError) as info:
        await api.get("/b")  # the script goes on: 418, then 418 forever (last step repeats)
    assert info.value.status == 418
    with pytest.raises(axios_like.HTTPStatusError):
        await api.get("/c")
    assert [r.fault for r in transport.requests] == [
        Fault.status(503),
        Fault.RESET,
        Fault.status(200, body="done"),
        Fault.status(418),
        Fault.status(418),
    ]
    assert [(r.path, r.attempt) for r in transport.requests] == [
        ("/a", 1),
        ("/a", 2),
        ("/a", 3),
        ("/b", 1),
        ("/c", 1),
    ]


@pytest.mark.usefixtures("instant")
async def test_a_dict_script_is_per_path_and_other_paths_pass(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport({"/a": [503, 201], "/b": [Fault.DROP]})
    api = make_client(base_url="http://svc.test", transport=transport, max_retries=2)
    assert (await api.get("/c")).status == 200  # no script: the default answer
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/b")
    assert [h.reason for h in info.value.history] == ["connection dropped"] * 3
    r = await api.get("/a")
    assert (r.status, r.attempts) == (201, 2)
    assert (await api.get("/a")).status == 201  # the last step repeats
    assert [(r.path, r.fault) for r in transport.requests] == [
        ("/c", Fault.PASS),
        ("/b", Fault.DROP),
        ("/b", Fault.DROP),
        ("/b", Fault.DROP),
        ("/a", Fault.status(503)),
        ("/a", Fault.status(201)),
        ("/a", Fault.status(201)),
    ]


@pytest.mark.usefixtures("instant")
async def test_an_httpx_response_is_a_reusable_step(make_client: Callable[..., Both]) -> None:
    step = httpx.Response(200, json={"id": 7}, headers={"X-From": "script"})
    api = make_client(base_url="http://svc.test", transport=FaultTransport([step]))
    for _ in range(3):
        r = await api.get("/x")
        assert (r.data, r.headers["x-from"]) == ({"id": 7}, "script")


@pytest.mark.usefixtures("instant")
async def test_retry_after_from_a_fault_drives_the_wait(make_client: Callable[..., Both]) -> None:
    transport = FaultTransport(
        [Fault.status(429, retry_after=7), Fault.status(503, retry_after=3), 200]
    )
    api = make_client(base_url="http://svc.test", transport=transport, max_retries=3)
    r = await api.get("/x")
    assert [(h.reason, h.delay) for h in r.history] == [
        ("status 429, Retry-After 7s", 7.0),
        ("status 503, Retry-After 3s", 3.0),
        ("ok", None),
    ]


# ---------------------------------------------------------------- rates


def faults_for(transport: FaultTransport, n: int) -> list[Fault]:
    with httpx.Client(transport=transport) as client:
        for i in range(n):
            with contextlib.suppress(httpx.TransportError):
                client.get(f"http://svc.test/items/{i}").read()
    return [r.fault for r in sorted(transport.requests, key=lambda r: int(r.path.rsplit("/")[-1]))]


def test_rates_are_deterministic_for_a_seed_and_close_to_the_rates() -> None:
    rates: dict[Fault | int, float] = {Fault.RESET: 0.2, 503: 0.1}
    first = faults_for(FaultTransport(rates=rates, seed=42), 1000)
    again = faults_for(FaultTransport(rates=rates, seed=42), 1000)
    other = faults_for(FaultTransport(rates=rates, seed=43), 1000)
    assert first == again
    assert first != other
    resets = first.count(Fault.RESET)
    unavailable = first.count(Fault.status(503))
    assert 150 <= resets <= 250
    assert 60 <= unavailable <= 140
    assert first.count(Fault.PASS) == 1000 - resets - unavailable


def test_rates_do_not_depend_on_the_order_of_requests() -> None:
    rates: dict[Fault | int, float] = {Fault.DROP: 0.5}
    sequential = faults_for(FaultTransport(rates=rates, seed=7), 200)
    transport = FaultTransport(rates=rates, seed=7)
    with httpx.Client(transport=transport) as client:

        def worker(start: int) -> None:
            for i in range(start, 200, 8):
                with contextlib.suppress(httpx.TransportError):
                    client.get(f"http://svc.test/items/{i}")

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    by_path = {r.path: r.fault for r in transport.requests}
    assert [by_path[f"/items/{i}"] for i in range(200)] == sequential


@pytest.mark.usefixtures("instant")
async def test_rates_apply_to_retries_by_attempt_and_beside_a_dict_script(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport({"/scripted": [204]}, rates={Fault.RESET: 1.0})
    api = make_client(base_url="http://svc.test", transport=transport, max_retries=2)
    assert (await api.get("/scripted")).status == 204
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/other")
    assert [h.reason for h in info.value.history] == ["connection reset"] * 3
    assert [r.attempt for r in transport.requests if r.path == "/other"] == [1, 2, 3]


# ---------------------------------------------------------------- recording


@pytest.mark.usefixtures("instant")
async def test_recording_shows_a_post_was_sent_exactly_once(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport({"/orders": [Fault.RESET, 201]})
    api = make_client(base_url="http://shop.test", transport=transport, max_retries=3)
    with pytest.raises(axios_like.ReadError):
        await api.post("/orders", data={"sku": "A-1"}, headers={"X-Trace": "t1"})
    posts = [r for r in transport.requests if r.method == "POST"]
    assert len(posts) == 1
    assert transport.count("/orders", method="post") == 1
    record = posts[0]
    assert isinstance(record, RecordedRequest)
    assert (record.method, record.url, record.path) == (
        "POST",
        "http://shop.test/orders",
        "/orders",
    )
    assert record.body == b'{"sku":"A-1"}'
    assert record.headers["x-trace"] == "t1"
    assert record.headers["content-type"] == "application/json"
    assert (record.attempt, record.fault, record.reached_server) == (1, Fault.RESET, True)
    with pytest.raises(AttributeError):
        record.attempt = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.headers["x-trace"] = "changed"  # type: ignore[index]

    r = await api.post("/orders", data={"sku": "A-1"}, headers={"Idempotency-Key": "k1"})
    assert r.status == 201
    keyed = [r for r in transport.requests if r.headers.get("idempotency-key") == "k1"]
    assert [(k.attempt, k.body) for k in keyed] == [(2, b'{"sku":"A-1"}')]  # attempt counts per URL


@pytest.mark.usefixtures("instant")
async def test_refused_requests_are_recorded_but_not_counted_as_sent(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport([Fault.REFUSED, Fault.CONNECT_TIMEOUT, 200])
    api = make_client(base_url="http://svc.test", transport=transport, max_retries=2)
    r = await api.post("/x", data={"a": 1})  # not sent twice: retried for a POST too
    assert (r.status, r.attempts) == (200, 3)
    assert [(q.attempt, q.reached_server) for q in transport.requests] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    assert transport.count() == 1
    assert transport.count("/x", method="POST") == 1
    assert transport.count("/y") == 0


@pytest.mark.usefixtures("instant")
async def test_a_streaming_body_is_not_read_when_the_request_never_leaves(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport([Fault.REFUSED])
    api = make_client(base_url="http://svc.test", transport=transport, max_retries=0)
    with pytest.raises(axios_like.ConnectError):
        await api.post("/x", data=b"raw bytes")
    assert transport.requests[0].body == b"raw bytes"  # in memory: known without reading


def test_a_streaming_body_stays_unread_when_refused_and_is_read_when_sent() -> None:
    pulled: list[bytes] = []

    def body() -> Iterator[bytes]:
        for part in (b"a", b"b"):
            pulled.append(part)
            yield part

    transport = FaultTransport([Fault.REFUSED, Fault.RESET])
    with httpx.Client(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            client.post("http://svc.test/up", content=body())
        assert pulled == []  # as a real socket: nothing sent
        with pytest.raises(httpx.ReadError):
            client.post("http://svc.test/up", content=body())
    assert pulled == [b"a", b"b"]
    assert [r.body for r in transport.requests] == [b"", b"ab"]


async def test_an_async_streaming_body_is_read_when_sent() -> None:
    async def body() -> AsyncIterator[bytes]:
        for part in (b"a", b"b"):
            yield part

    transport = FaultTransport([Fault.DROP])
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("http://svc.test/up", content=body())
    assert [(r.body, r.attempt) for r in transport.requests] == [(b"ab", 1)]


def test_a_request_without_timeouts_and_a_declared_length() -> None:
    transport = FaultTransport(
        [Fault.slow(0), Fault.half_body(headers={"Content-Length": "10"}, body=b"0123456789")]
    )
    request = httpx.Request("GET", "http://svc.test/")  # built by hand: no timeout extension
    assert transport.handle_request(request).status_code == 200
    response = transport.handle_request(request)
    assert response.headers.get_list("content-length") == ["10"]
    with pytest.raises(httpx.RemoteProtocolError, match=r"received 5 bytes, expected 10"):
        response.read()


def test_the_sync_client_can_share_one_transport_between_threads() -> None:
    transport = FaultTransport([Fault.status(200 + i) for i in range(96)])
    statuses: list[int] = []
    lock = threading.Lock()
    with (
        instant_retries(),
        axios_like.create(
            base_url="http://svc.test",
            transport=transport,
            max_retries=0,
            validate_status=lambda status: True,
        ) as api,
    ):

        def worker(k: int) -> None:
            for i in range(12):
                status = api.get(f"/t{k}/{i}").status
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert sorted(statuses) == list(range(200, 296))  # each step used exactly once
    assert len(transport.requests) == 96
    assert {r.attempt for r in transport.requests} == {1}


# ---------------------------------------------------------------- slow answers


async def test_slow_does_not_sleep_under_instant_retries(make_client: Callable[..., Both]) -> None:
    transport = FaultTransport([Fault.slow(30)])
    api = make_client(base_url="http://svc.test", transport=transport, timeout=60)
    start = time.monotonic()
    with instant_retries():
        r = await api.get("/x")
    elapsed = time.monotonic() - start
    assert r.status == 200
    assert elapsed < 0.5


async def test_slow_past_the_read_timeout_times_out_at_once_under_instant_retries(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport([Fault.slow(30)])
    api = make_client(base_url="http://svc.test", transport=transport, timeout=5, max_retries=2)
    start = time.monotonic()
    with instant_retries(), pytest.raises(axios_like.RetryError) as info:
        await api.get("/x")
    assert time.monotonic() - start < 0.5
    assert [h.reason for h in info.value.history] == ["read timeout"] * 3


async def test_slow_sleeps_for_real_outside_instant_retries(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport([Fault.slow(0.1)])
    api = make_client(base_url="http://svc.test", transport=transport)
    start = time.monotonic()
    r = await api.get("/x")
    elapsed = time.monotonic() - start
    assert r.status == 200
    assert 0.1 <= elapsed < 1.0


async def test_slow_past_the_read_timeout_waits_the_timeout_then_raises(
    make_client: Callable[..., Both],
) -> None:
    transport = FaultTransport([Fault.slow(30)])
    api = make_client(base_url="http://svc.test", transport=transport, timeout=0.1, max_retries=0)
    start = time.monotonic()
    with pytest.raises(axios_like.ReadTimeoutError):
        await api.get("/x")
    assert 0.1 <= time.monotonic() - start < 1.0


async def test_async_slow_lets_other_tasks_run() -> None:
    transport = FaultTransport({"/slow": [Fault.slow(0.2)]})
    async with axios_like.create_async(base_url="http://svc.test", transport=transport) as api:
        start = time.monotonic()
        await asyncio.gather(*(api.get("/slow") for _ in range(5)), api.get("/fast"))
        elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < 0.9  # five 0.2 s sleeps overlap: asyncio.sleep, not time.sleep
    assert transport.count() == 6


# ---------------------------------------------------------------- wrap=


@pytest.mark.usefixtures("instant")
async def test_wrap_passes_through_to_the_wrapped_transport(
    make_client: Callable[..., Both],
) -> None:
    seen: list[tuple[str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.read()))
        return httpx.Response(200, json={"from": "wrapped"})

    transport = FaultTransport(
        [Fault.RESET, Fault.PASS, 503, Fault.slow(0)], wrap=httpx.MockTransport(handler)
    )
    api = make_client(base_url="http://svc.test", transport=transport, max_retries=3)
    r = await api.put("/x", data={"v": 1})
    assert (r.data, r.attempts) == ({"from": "wrapped"}, 2)
    r = await api.put("/x", data={"v": 2})
    assert (r.data, r.attempts) == ({"from": "wrapped"}, 2)  # 503 (answered by itself), slow
    assert seen == [("/x", b'{"v":1}'), ("/x", b'{"v":2}')]


async def test_wrap_a_real_transport_to_the_loopback_server(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/real", [Reply(200, json={"real": True})])
    both = make_client(base_url=server.url, max_retries=0)
    inner: httpx.BaseTransport | httpx.AsyncBaseTransport = (
        httpx.AsyncHTTPTransport() if both.is_async else httpx.HTTPTransport()
    )
    await both.close()
    transport = FaultTransport({"/down": [Fault.DROP]}, wrap=inner)
    api = make_client(base_url=server.url, transport=transport, max_retries=0)
    assert (await api.get("/real")).data == {"real": True}
    with pytest.raises(axios_like.RemoteProtocolError):
        await api.get("/down")
    assert server.count("/real") == 1
    assert server.count("/down") == 0  # the fault answered by itself


def test_wrap_of_the_wrong_flavour_is_a_clear_type_error() -> None:
    class SyncOnly(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200)

    class AsyncOnly(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200)

    async def use_async() -> None:
        async with httpx.AsyncClient(transport=FaultTransport(wrap=SyncOnly())) as client:
            await client.get("http://svc.test/")

    with pytest.raises(TypeError, match="sync only"):
        asyncio.run(use_async())
    with (
        httpx.Client(transport=FaultTransport(wrap=AsyncOnly())) as client,
        pytest.raises(TypeError, match="async only"),
    ):
        client.get("http://svc.test/")


def test_close_and_aclose_reach_the_wrapped_transport() -> None:
    closed: list[str] = []

    class Both_(httpx.BaseTransport, httpx.AsyncBaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200)

        def close(self) -> None:
            closed.append("close")

        async def aclose(self) -> None:
            closed.append("aclose")

    transport = FaultTransport(wrap=Both_())
    transport.close()
    asyncio.run(transport.aclose())
    FaultTransport().close()
    asyncio.run(FaultTransport().aclose())
    assert closed == ["close", "aclose"]


# ---------------------------------------------------------------- the Fault values


def test_faults_are_values_with_readable_reprs() -> None:
    assert Fault.status(503, retry_after=2) == Fault.status(503, headers={"Retry-After": "2"})
    assert hash(Fault.slow(1)) == hash(Fault.slow(1.0))
    assert repr(Fault.RESET) == "Fault.RESET"
    assert repr(Fault.HALF_BODY) == "Fault.HALF_BODY"
    assert repr(Fault.slow(0.5)) == "Fault.slow(0.5)"
    assert (
        repr(Fault.status(429, retry_after=1.5))
        == "Fault.status(429, headers={'Retry-After': '1.5'})"
    )
    assert repr(Fault.status(503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")).startswith(
        "Fault.status(503, headers={'Retry-After': 'Wed"
    )
    assert repr(Fault.half_body(502, body="abcd")) == "Fault.half_body(502, body=b'abcd')"
    assert [f.reaches_server for f in (Fault.REFUSED, Fault.CONNECT_TIMEOUT, Fault.DROP)] == [
        False,
        False,
        True,
    ]
    assert "script=(Fault.RESET,)" in repr(FaultTransport([Fault.RESET]))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: FaultTransport([]), ValueError, "at least one step"),
        (lambda: FaultTransport({"/a": []}), ValueError, "at least one step"),
        (lambda: FaultTransport({"a": [200]}), ValueError, "start with '/'"),
        (lambda: FaultTransport(["503"]), TypeError, "got str"),  # type: ignore[list-item]
        (lambda: FaultTransport([True]), TypeError, "a status code"),
        (lambda: FaultTransport("503"), TypeError, "list of steps"),  # type: ignore[arg-type]
        (lambda: FaultTransport([200], rates={Fault.RESET: 0.1}), ValueError, "never apply"),
        (lambda: FaultTransport(rates={Fault.RESET: 0.7, 503: 0.4}), ValueError, "more than 1"),
        (lambda: FaultTransport(rates={Fault.RESET: -0.1}), ValueError, "probability"),
        (lambda: FaultTransport(seed="x"), TypeError, "seed"),  # type: ignore[arg-type]
        (lambda: Fault.status(99), ValueError, "100..999"),
        (lambda: Fault.slow(-1), ValueError, ">= 0"),
        (lambda: Fault.slow(float("inf")), ValueError, "finite"),
        (lambda: Fault.half_body(body=b"x"), ValueError, "at least 2 bytes"),
    ],
)
def test_mistakes_fail_where_they_are_written(
    make: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        make()


def test_exported_from_axios_like_testing() -> None:
    import axios_like.testing as testing

    assert {"Fault", "FaultTransport", "RecordedRequest"} <= set(testing.__all__)
    assert testing.FaultTransport.__module__ == "axios_like.testing._fault"
    assert isinstance(FaultTransport(), httpx.BaseTransport)
    assert isinstance(FaultTransport(), httpx.AsyncBaseTransport)
