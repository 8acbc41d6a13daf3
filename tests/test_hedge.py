"""Hedged requests (``hedge=Hedge(...)``, SPEC section 7): the pure parts driven directly,
the async shell against a real loopback server, on the default transport and on
``transports.aiohttp_transport()``."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axios_like
from axios_like import Hedge
from axios_like._control import (
    SEND,
    Admission,
    AttemptKind,
    Failure,
    Origin,
    Refuse,
    Step,
    StopReason,
    Ticket,
    Verdict,
    Wait,
)
from axios_like._hedge import MIN_SAMPLES, LatencyTracker, percentile
from axios_like._models import Response
from axios_like._retry import HedgeCopy as Copy
from axios_like._retry import (
    Retry,
    RetryState,
    Stop,
    hedge_refused,
    hedge_round,
    lost,
    may_hedge,
)
from axios_like.testing import instant_retries
from axios_like.testing.server import FlakyServer, Reply

ORIGIN = Origin("http", "127.0.0.1", 80)
SLOW = 1.0  # seconds: a reply the hedge must beat by far


# ---------------------------------------------------------------- the pure percentile tracker


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=300),
    size=st.integers(1, 64),
    q=st.floats(0.5, 100.0),
)
def test_tracker_is_the_percentile_of_the_last_size_values(
    values: list[float], size: int, q: float
) -> None:
    tracker = LatencyTracker(size=size, q=q, refresh=1)
    for each in values:
        tracker.add(each)
    held = values[-size:]
    assert tracker.count == len(held)
    assert tracker.value() == percentile(held, q)
    ordered = sorted(held)
    value = tracker.value()
    assert value is not None
    # nearest rank: at least q% of the values are <= it, and fewer than q% are below it
    assert sum(v <= value for v in held) >= q / 100 * len(held) - 1e-9
    assert sum(v < value for v in held) < q / 100 * len(held) + 1e-9 or value == ordered[0]


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=200),
    refresh=st.integers(1, 20),
)
def test_tracker_recomputes_at_least_every_refresh_values(
    values: list[float], refresh: int
) -> None:
    tracker = LatencyTracker(size=50, q=95, refresh=refresh)
    seen: list[float] = []
    for value in values:
        tracker.add(value)
        seen.append(value)
        got = tracker.value()
        # stale by fewer than ``refresh`` values: it is the percentile of a recent window
        candidates = {
            percentile(seen[max(0, end - 50) : end], 95)
            for end in range(max(1, len(seen) - refresh + 1), len(seen) + 1)
        }
        assert got in candidates


def test_tracker_empty_and_percentile_examples() -> None:
    assert LatencyTracker(size=3, q=95).value() is None
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0
    assert percentile([3.0, 1.0, 2.0], 1) == 1.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


# ---------------------------------------------------------------- the Hedge controller


def ticket(kind: AttemptKind, attempt: int = 1, call: dict[object, Any] | None = None) -> Ticket:
    return Ticket(ORIGIN, "GET", attempt, kind, httpx.Headers(), {}, {} if call is None else call)


def answered(duration: float, step: Step = Step.DONE, status: int | None = 200) -> Verdict:
    return Verdict(step, Failure.NONE, status, None, "ok", None, None, duration)


def test_no_adaptive_delay_until_min_samples_answers() -> None:
    hedge = Hedge(min_samples=5, samples=10)
    assert hedge.delay_for(ORIGIN) is None
    for i in range(4):
        hedge.record(ticket(AttemptKind.FIRST), answered(0.01 * (i + 1)), 0.0)
    assert hedge.delay_for(ORIGIN) is None
    hedge.record(ticket(AttemptKind.FIRST), answered(0.05), 0.0)
    assert hedge.delay_for(ORIGIN) == 0.05
    assert hedge.latency(ORIGIN) == (5, 0.05)
    assert Hedge().min_samples == MIN_SAMPLES == 50


def test_load_of_an_origin_never_seen_is_nothing() -> None:
    hedge = Hedge()
    assert hedge.load(ORIGIN) == (0, 0)
    assert hedge.admit(ticket(AttemptKind.FIRST), 5.0) is SEND
    assert hedge.admit(ticket(AttemptKind.FIRST), 4.0) is SEND  # a clock behind: newest bucket
    assert hedge.load(ORIGIN) == (2, 0)
    assert hedge.load(Origin("http", "other.test", 80)) == (0, 0)


def test_a_fixed_delay_needs_no_samples() -> None:
    assert Hedge(delay=0.2).delay_for(ORIGIN) == 0.2
    assert Hedge(delay=0).delay_for(ORIGIN) == 0.0


def test_what_the_tracker_learns_from() -> None:
    hedge = Hedge(min_samples=1, samples=10, percentile=100)
    transient = Verdict(Step.RETRY, Failure.TRANSIENT, 503, None, "status 503", None, 1.0, 9.0)
    hedge.record(ticket(AttemptKind.FIRST), transient, 0.0)  # a failure: not a latency
    network = Verdict(Step.RAISE, Failure.TRANSIENT, None, None, "reset", None, None, 9.0)
    hedge.record(ticket(AttemptKind.FIRST), network, 0.0)
    assert hedge.latency(ORIGIN) == (0, None)
    hedge.record(ticket(AttemptKind.FIRST), answered(0.3), 0.0)
    # an attempt cancelled as its hedge answered first: it counts as taking the delay
    # believed then (0.3), not the 0.4 s it had run: it would have run longer still
    hedge.record(ticket(AttemptKind.FIRST), lost(None, duration=0.4), 0.0)
    assert hedge.latency(ORIGIN) == (2, 0.3)
    hedge.record(ticket(AttemptKind.HEDGE, 2), lost(None, duration=0.9), 0.0)  # says nothing
    not_found = Verdict(Step.RAISE, Failure.CALLER, 404, None, "status 404", None, None, 0.2)
    hedge.record(ticket(AttemptKind.FIRST), not_found, 0.0)  # an answer, all the same
    assert hedge.latency(ORIGIN) == (3, 0.3)
    fresh = Hedge(min_samples=1, samples=10)
    fresh.record(ticket(AttemptKind.FIRST), lost(None, duration=0.4), 0.0)  # nothing known yet
    assert fresh.latency(ORIGIN) == (1, 0.4)


def test_hedges_stay_within_max_extra_load_of_first_attempts() -> None:
    hedge = Hedge(max_extra_load=0.1, window=10.0)
    for _ in range(19):
        assert hedge.admit(ticket(AttemptKind.FIRST), 0.0) is SEND
    assert hedge.admit(ticket(AttemptKind.HEDGE, 2), 0.0) is SEND  # 1 <= 0.1 x 19
    refused = hedge.admit(ticket(AttemptKind.HEDGE, 2), 0.0)  # 2 > 1.9
    assert refused == Refuse(StopReason.MAX_EXTRA_LOAD)
    assert hedge.admit(ticket(AttemptKind.FIRST), 0.0) is SEND
    assert hedge.admit(ticket(AttemptKind.HEDGE, 2), 0.0) is SEND  # 2 <= 2.0
    assert hedge.load(ORIGIN) == (20, 2)
    # retries and replays are not counted
    assert hedge.admit(ticket(AttemptKind.RETRY, 2), 0.0) is SEND
    assert hedge.admit(ticket(AttemptKind.REPLAY, 2), 0.0) is SEND
    assert hedge.load(ORIGIN) == (20, 2)
    # the window slides: 11 s later, nothing is left in it
    assert hedge.admit(ticket(AttemptKind.HEDGE, 2), 11.0) == refused
    assert hedge.load(ORIGIN) == (0, 0)
    assert hedge.admit(ticket(AttemptKind.FIRST), 11.5) is SEND
    assert hedge.load(ORIGIN) == (1, 0)


def test_the_window_slides_bucket_by_bucket() -> None:
    hedge = Hedge(max_extra_load=1.0, window=10.0)
    hedge.admit(ticket(AttemptKind.FIRST), 0.5)
    hedge.admit(ticket(AttemptKind.FIRST), 5.5)
    assert hedge.load(ORIGIN) == (2, 0)
    hedge.admit(ticket(AttemptKind.HEDGE, 2), 10.5)  # the bucket of 0.5 left the window
    assert hedge.load(ORIGIN) == (1, 1)
    hedge.admit(ticket(AttemptKind.FIRST), 3.0)  # a clock behind: counted in the newest bucket
    assert hedge.load(ORIGIN) == (2, 1)


def test_a_hedge_refused_later_is_given_back() -> None:
    hedge = Hedge(max_extra_load=1.0)
    call: dict[object, Any] = {}
    first = ticket(AttemptKind.FIRST, 1, call)
    hedge.admit(first, 0.0)
    second = ticket(AttemptKind.HEDGE, 2, call)
    assert hedge.admit(second, 0.0) is SEND
    assert hedge.load(ORIGIN) == (1, 1)
    hedge.record(second, hedge_refused(Refuse(StopReason.RETRY_BUDGET)), 0.0)  # the budget said no
    assert hedge.load(ORIGIN) == (1, 0)
    hedge.record(first, answered(0.01), 0.0)
    assert call == {}
    # a refund after the window moved on is dropped, not taken from a newer bucket
    hedge.admit(second, 0.0)
    hedge.admit(ticket(AttemptKind.FIRST), 20.0)
    hedge.record(second, hedge_refused(Refuse(StopReason.RETRY_BUDGET)), 20.0)
    assert hedge.load(ORIGIN) == (1, 0)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"delay": -1}, "delay"),
        ({"delay": float("nan")}, "delay"),
        ({"delay": "1"}, "delay"),
        ({"max_hedges": 0}, "max_hedges"),
        ({"max_hedges": True}, "max_hedges"),
        ({"max_extra_load": 0}, "max_extra_load"),
        ({"max_extra_load": 1.5}, "max_extra_load"),
        ({"percentile": 0}, "percentile"),
        ({"samples": 0}, "samples"),
        ({"min_samples": 0}, "min_samples"),
        ({"min_samples": 20, "samples": 10}, "min_samples"),
        ({"window": 0}, "window"),
    ],
)
def test_bad_hedge_arguments_name_the_parameter(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        Hedge(**kwargs)
    assert info.value.key == key
    assert f"Hedge({key}=...)" in str(info.value)


def test_hedge_repr() -> None:
    assert repr(Hedge()) == "Hedge(delay=None, max_hedges=1, max_extra_load=0.05)"


# ---------------------------------------------------------------- config: AsyncClient only


def test_the_sync_client_refuses_hedge_everywhere() -> None:
    why = "needs an AsyncClient"
    with pytest.raises(axios_like.ConfigError, match=why) as info:
        axios_like.create(hedge=Hedge())
    assert info.value.key == "hedge"
    with pytest.raises(axios_like.ConfigError, match=why):
        axios_like.create(routes={"GET /search": {"hedge": Hedge()}})
    api = axios_like.create(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with pytest.raises(axios_like.ConfigError, match=why):
        api.get("https://example.test/", hedge=Hedge())
    with pytest.raises(axios_like.ConfigError, match=why):
        api.defaults["hedge"] = Hedge()
    api.get("https://example.test/", hedge=None)  # None is fine: "not hedged"


def test_hedge_takes_a_hedge_object() -> None:
    with pytest.raises(axios_like.ConfigError, match=r"axios_like\.Hedge") as info:
        axios_like.create_async(hedge=0.1)  # type: ignore[arg-type]
    assert info.value.key == "hedge"
    api = axios_like.create_async(hedge=Hedge(), routes={"GET /x": {"hedge": None}})
    assert isinstance(api.defaults["hedge"], Hedge)


def test_the_sync_shell_carries_no_hedging_code() -> None:
    source = (Path(axios_like.__file__).parent / "_sync_client.py").read_text()
    names = ("_send_hedged", "_race", "_hedge_copy", "_hedging", "cancel_copies", "may_hedge")
    for name in (*names, "contextvars", "ON_WIRE"):
        assert name not in source


def test_unasync_removes_a_begin_end_block() -> None:
    import importlib.util

    path = Path(axios_like.__file__).parent.parent / "scripts" / "unasync.py"
    spec = importlib.util.spec_from_file_location("unasync_script", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = (
        '"""doc."""\n'
        "async def kept():\n    await x()\n"
        "    # unasync: begin remove\n"
        "    async def gone():\n        pass\n"
        "    # unasync: end remove\n"
        "async def also_kept():\n    pass\n"
        "# unasync: begin remove\nclass Gone:\n    pass\n# unasync: end remove\n"
    )
    out = module.translate(source)
    assert "gone" not in out
    assert "Gone" not in out
    assert "unasync: " not in out
    assert "def kept():\n    x()\n" in out
    assert "def also_kept():" in out


# ---------------------------------------------------------------- what may be hedged (pure)


def state(replayable: bool = True) -> RetryState:
    return RetryState(
        {
            "max_retries": 3,
            "retry_strategy": axios_like.FixedDelay(0.0),
            "retry_on": None,
            "max_retry_after": 60.0,
            "deadline": None,
        },
        start=0.0,
        replayable=replayable,
    )


@pytest.mark.parametrize(
    ("method", "headers", "body", "hedged"),
    [
        ("GET", {}, {}, True),
        ("HEAD", {}, {}, True),
        ("OPTIONS", {}, {}, True),
        ("PUT", {}, {"json": {"a": 1}}, True),
        ("DELETE", {}, {}, True),
        ("TRACE", {}, {}, True),
        ("POST", {}, {"json": {}}, False),
        ("PATCH", {}, {"data": b"x"}, False),
        ("POST", {"Idempotency-Key": "k1"}, {"data": {"a": 1}}, True),
        ("PUT", {}, {"content": iter([b"x"])}, False),  # a stream cannot go out twice at once
        ("PUT", {}, {"files": {"f": b"x"}}, False),
        ("PUT", {}, {"content": "text"}, True),
    ],
)
def test_may_hedge(
    method: str, headers: dict[str, str], body: dict[str, Any], hedged: bool
) -> None:
    cfg = {"method": method, "headers": httpx.Headers(headers), "hedge": Hedge(), **body}
    assert may_hedge(state(), cfg, stream=False) is hedged


def test_may_hedge_never_streams_replays_or_unhedged_calls() -> None:
    cfg = {"method": "GET", "headers": httpx.Headers(), "hedge": Hedge()}
    assert may_hedge(state(), cfg, stream=True) is False
    replayed = state()
    replayed.replays = 1
    assert may_hedge(replayed, cfg, stream=False) is False
    assert may_hedge(state(replayable=False), cfg, stream=False) is False
    assert may_hedge(state(), {**cfg, "hedge": None}, stream=False) is False


# ---------------------------------------------------------------- a hedged round (pure)


def ok(status: int = 200) -> Response:
    return Response(httpx.Response(status, request=httpx.Request("GET", "http://h/")), {})


def failed(status: int = 503) -> axios_like.HTTPStatusError:
    cfg = {"method": "GET", "headers": httpx.Headers(), "retry_status": {502, 503}}
    response = Response(httpx.Response(status, request=httpx.Request("GET", "http://h/")), cfg)
    return axios_like.HTTPStatusError(f"status {status}", response=response)


def reasons(s: RetryState) -> list[tuple[int, int | None, str]]:
    return [(h.attempt, h.status, h.reason) for h in s.history]


def test_the_hedge_wins() -> None:
    s = state()
    chosen, step = hedge_round(s, [Copy(None), Copy(ok())], 1, 1.0)
    assert chosen == 1
    assert step.__class__.__name__ == "Done"
    assert s.attempts == 2
    assert reasons(s) == [(1, None, "lost to hedge"), (2, 200, "ok")]


def test_the_first_attempt_wins_and_hedges_are_cancelled() -> None:
    s = state()
    chosen, _ = hedge_round(s, [Copy(ok()), Copy(None), Copy(ok(201))], 0, 1.0)
    assert chosen == 0
    assert reasons(s) == [
        (1, 200, "ok"),
        (2, None, "hedge: cancelled"),
        (3, 201, "hedge: ok, not used"),
    ]


def test_a_failed_copy_while_another_answers() -> None:
    s = state()
    error = failed()
    hedge_round(s, [Copy(ok()), Copy(error)], 0, 1.0)
    assert reasons(s) == [(1, 200, "ok"), (2, 503, "hedge: status 503")]
    assert s.history[1].error is error


def test_every_copy_failed_the_last_one_is_decided() -> None:
    s = state()
    first, second = failed(), failed(502)
    chosen, step = hedge_round(s, [Copy(first), Copy(second)], None, 1.0)
    assert chosen == 1
    assert isinstance(step, Retry)
    assert reasons(s) == [(1, 503, "status 503 (hedged)"), (2, 502, "status 502")]
    assert s.history[-1].delay == 0.0
    assert s.attempt == 1


def test_a_stop_after_a_hedged_round_shows_every_copy() -> None:
    s = state()
    s.max_retries = 0
    s.attempt = 0
    s2 = state()
    s2.attempt = 3  # max_retries=3 spent
    _, step = hedge_round(s2, [Copy(failed()), Copy(failed())], None, 1.0)
    assert isinstance(step, Stop)
    assert step.error.attempts == 2
    assert [h.reason for h in step.error.history] == ["status 503 (hedged)", "status 503"]


def test_lost_and_refused_verdicts() -> None:
    cancelled = lost(None, duration=0.25)
    assert (cancelled.step, cancelled.failure, cancelled.status, cancelled.error) == (
        Step.LOST,
        Failure.LOCAL,
        None,
        None,
    )
    assert cancelled.duration == 0.25
    assert not cancelled.final
    error = failed()
    told = lost(error, duration=0.1)
    assert (told.step, told.failure, told.status) == (Step.LOST, Failure.TRANSIENT, 503)
    answer = lost(ok(), duration=0.1)
    assert (answer.step, answer.failure, answer.status) == (Step.LOST, Failure.NONE, 200)
    refused = hedge_refused(Refuse(StopReason.RETRY_BUDGET))
    assert refused.step is Step.REFUSED
    assert refused.stop is None
    assert not refused.final
    assert refused.reason == "hedge not sent: retry_budget"
    held = hedge_refused(Wait(1.0, "rate limit"))
    assert held.reason == "hedge not sent: rate limit"
    # an ordinary refusal still ends the call
    assert Verdict(
        Step.REFUSED, Failure.LOCAL, None, None, "x", StopReason.CIRCUIT_OPEN, None, 0
    ).final


# ---------------------------------------------------------------- on the wire


class Recorder:
    """A controller that writes down what it is asked and told."""

    def __init__(self) -> None:
        self.admitted: list[tuple[int, AttemptKind]] = []
        self.recorded: list[tuple[int, AttemptKind, Step, Failure]] = []

    def admit(self, ticket: Ticket, now: float) -> Admission:
        self.admitted.append((ticket.attempt, ticket.kind))
        return SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        self.recorded.append((ticket.attempt, ticket.kind, verdict.step, verdict.failure))


@pytest.fixture(params=["default", "aiohttp"])
async def api_factory(
    request: pytest.FixtureRequest, server: FlakyServer
) -> AsyncIterator[Callable[..., axios_like.AsyncClient]]:
    """AsyncClients on the loopback server, over the default transport and aiohttp."""
    made: list[axios_like.AsyncClient] = []

    def factory(**config: Any) -> axios_like.AsyncClient:
        if request.param == "aiohttp":
            config.setdefault("transport", axios_like.transports.aiohttp_transport())
        # 0.15 s: a copy sent first reaches the server first, even on a loaded machine
        config.setdefault("hedge", Hedge(delay=0.15, max_extra_load=1.0))
        api = axios_like.create_async(base_url=server.url, **config)
        made.append(api)
        return api

    yield factory
    for api in made:
        await api.aclose()


async def settle(server: FlakyServer, open_connections: int, within: float = SLOW + 2) -> None:
    """Wait until the server holds ``open_connections`` (a cancelled copy's thread notices
    the closed socket only after its reply's delay)."""
    await until(lambda: server.open_connections == open_connections, within)
    assert server.open_connections == open_connections


async def until(done: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``done`` (the server runs in threads: there is no event to await)."""
    end = time.monotonic() + within
    while not done() and time.monotonic() < end:  # noqa: ASYNC110 - see the docstring
        await asyncio.sleep(0.01)


async def test_a_slow_attempt_is_hedged_and_the_hedge_wins(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script(
        "/search", [Reply(200, json={"copy": 1}, delay=SLOW), Reply(200, json={"copy": 2})]
    )
    recorder = Recorder()
    api = api_factory()
    api.controllers.add(recorder)
    start = time.monotonic()
    r = await api.get("/search")
    took = time.monotonic() - start
    assert r.data == {"copy": 2}
    assert took < SLOW / 2
    assert r.attempts == 2
    assert [(h.attempt, h.status, h.reason) for h in r.history] == [
        (1, None, "lost to hedge"),
        (2, 200, "ok"),
    ]
    assert server.count("/search") == 2
    assert recorder.admitted == [(1, AttemptKind.FIRST), (2, AttemptKind.HEDGE)]
    assert recorder.recorded == [
        (1, AttemptKind.FIRST, Step.LOST, Failure.LOCAL),
        (2, AttemptKind.HEDGE, Step.DONE, Failure.NONE),
    ]
    # the loser's connection was closed, the winner's kept for reuse
    await settle(server, 1)
    await api.aclose()
    await settle(server, 0)


async def test_a_fast_answer_is_not_hedged(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    api = api_factory(hedge=Hedge(delay=SLOW, max_extra_load=1.0))
    r = await api.get("/fast")
    assert r.attempts == 1
    assert [h.reason for h in r.history] == ["ok"]
    assert server.count("/fast") == 1


async def test_the_first_attempt_wins_over_its_hedge(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, json=1, delay=0.6), Reply(200, json=2, delay=SLOW)])
    r = await api_factory().get("/x")
    assert r.data == 1
    assert [(h.attempt, h.reason) for h in r.history] == [(1, "ok"), (2, "hedge: cancelled")]
    assert r.attempts == 2


async def test_a_failed_hedge_waits_for_the_first_attempt(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, json=1, delay=0.6), Reply(503)])
    r = await api_factory().get("/x")
    assert r.data == 1
    assert [(h.attempt, h.status, h.reason) for h in r.history] == [
        (1, 200, "ok"),
        (2, 503, "hedge: status 503"),
    ]


async def test_every_copy_failed_then_the_retry_engine_goes_on(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(503, delay=0.6), Reply(503), Reply(200, json="ok")])
    events: list[axios_like.RetryEvent] = []
    with instant_retries():
        r = await api_factory(on_retry=events.append).get("/x")
    assert r.data == "ok"
    assert [(h.attempt, h.status, h.reason) for h in r.history] == [
        (1, 503, "status 503 (hedged)"),
        (2, 503, "status 503"),
        (3, 200, "ok"),
    ]
    assert [e.attempt for e in events] == [1]  # one retry: the copies are one attempt
    assert r.attempts == 3


async def test_post_is_never_hedged_but_an_idempotency_key_is(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/orders", [Reply(201, delay=0.6), Reply(201)])
    api = api_factory()
    r = await api.post("/orders", json={"n": 1})
    assert r.attempts == 1
    assert server.count("/orders") == 1
    server.script("/orders", [Reply(201, delay=SLOW), Reply(201, json="hedge")])
    r = await api.post("/orders", json={"n": 1}, headers={"Idempotency-Key": "k-1"})
    assert r.data == "hedge"
    assert r.attempts == 2


async def test_a_streamed_call_is_not_hedged(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/big", [Reply(200, body=b"first", delay=0.6), Reply(200, body=b"hedge")])
    async with api_factory().stream("GET", "/big") as r:
        assert await r.aread() == b"first"
    assert server.count("/big") == 1


async def test_each_copy_runs_the_request_interceptors(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, delay=SLOW), Reply(200, json="hedge")])
    api = api_factory()
    runs: list[int] = []

    def stamp(config: dict[str, Any]) -> dict[str, Any]:
        runs.append(len(runs) + 1)
        config["headers"]["X-Copy"] = str(len(runs))
        return config

    api.interceptors.request.use(stamp)
    r = await api.get("/x")
    assert runs == [1, 2]
    assert [seen.headers["x-copy"] for seen in server.requests_for("/x")] == ["1", "2"]
    assert r.config["headers"]["X-Copy"] == "2"  # the winner's config


async def test_a_hedge_whose_interceptors_break_its_url_is_not_sent(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, delay=0.3, json="first")])
    api = api_factory()
    runs: list[int] = []

    def second_copy_breaks_the_url(config: dict[str, Any]) -> dict[str, Any]:
        runs.append(len(runs) + 1)
        if len(runs) == 2:  # the hedge's run: its URL no longer resolves
            config["url"] = "http://[::1"
        return config

    api.interceptors.request.use(second_copy_breaks_the_url)
    r = await api.get("/x")
    assert runs == [1, 2]  # the hedge's interceptors ran ...
    assert r.data == "first"  # ... but it was not sent: the first copy went on alone
    assert r.attempts == 1
    assert len(server.requests_for("/x")) == 1


async def test_the_adaptive_delay_waits_for_enough_samples(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    hedge = Hedge(max_extra_load=1.0, min_samples=10, samples=10)
    api = api_factory(hedge=hedge)
    origin = Origin("http", "127.0.0.1", server.port)
    server.script("/x", [Reply(200, delay=0.6)])  # slow, but nothing is known yet
    r = await api.get("/x")
    assert r.attempts == 1
    server.script("/x", [Reply(200)])
    for _ in range(9):
        await api.get("/x")
    count, p95 = hedge.latency(origin)
    assert count == 10
    assert p95 is not None
    assert p95 >= 0.3
    for _ in range(10):
        await api.get("/x")  # fast answers push it out
    count, p95 = hedge.latency(origin)
    assert p95 is not None
    assert p95 < 0.3
    assert hedge.delay_for(origin) == p95
    server.script("/x", [Reply(200, delay=SLOW), Reply(200, json="hedge")])
    r = await api.get("/x")
    assert r.data == "hedge"
    assert r.attempts == 2


async def test_max_extra_load_refuses_the_hedge(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, json=1, delay=0.6), Reply(200, json=2)])
    recorder = Recorder()
    api = api_factory(hedge=Hedge(delay=0.15))  # 0.05 x 1 first attempt: no hedge
    api.controllers.add(recorder)
    r = await api.get("/x")
    assert r.data == 1
    assert r.attempts == 1
    assert server.count("/x") == 1
    assert recorder.admitted == [(1, AttemptKind.FIRST)]  # the hedge stopped at Hedge
    assert recorder.recorded == [
        (2, AttemptKind.HEDGE, Step.REFUSED, Failure.LOCAL),
        (1, AttemptKind.FIRST, Step.DONE, Failure.NONE),
    ]


async def test_the_retry_budget_refuses_the_hedge(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, json=1, delay=0.6), Reply(200, json=2)])
    budget = axios_like.RetryBudget(ratio=0.0, min_retries=0)
    r = await api_factory(retry_budget=budget).get("/x")
    assert r.data == 1
    assert r.attempts == 1
    assert server.count("/x") == 1


async def test_max_hedges_two(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, delay=SLOW), Reply(200, delay=SLOW), Reply(200, json="third")])
    api = api_factory(hedge=Hedge(delay=0.15, max_hedges=2, max_extra_load=1.0))
    await api.get("/warm")  # two first attempts: room for two hedges (max_extra_load=1.0)
    r = await api.get("/x")
    assert r.data == "third"
    assert r.attempts == 3
    assert [h.reason for h in r.history] == ["lost to hedge", "hedge: cancelled", "ok"]
    await settle(server, 1)


async def test_the_deadline_covers_every_copy(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, delay=SLOW)])
    api = api_factory(deadline=0.3, max_retries=0)
    start = time.monotonic()
    with pytest.raises(axios_like.TimeoutError) as info:
        await api.get("/x")
    assert time.monotonic() - start < SLOW * 0.8
    assert server.count("/x") == 2
    assert info.value.config is not None


async def test_cancelling_the_caller_cancels_every_copy(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(200, delay=SLOW)])
    recorder = Recorder()
    api = api_factory()
    api.controllers.add(recorder)
    before = asyncio.all_tasks()
    call = asyncio.create_task(api.get("/x"))
    await until(lambda: server.count("/x") == 2)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert asyncio.all_tasks() == before  # no copy left running
    assert sorted(recorder.recorded) == [
        (1, AttemptKind.FIRST, Step.LOST, Failure.LOCAL),
        (2, AttemptKind.HEDGE, Step.LOST, Failure.LOCAL),
    ]
    await settle(server, 0)


async def test_hedged_calls_are_traced_and_every_span_ends(
    server: FlakyServer,
    api_factory: Callable[..., axios_like.AsyncClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    from axios_like.otel import instrument

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server.script("/x", [Reply(200, delay=SLOW), Reply(200)])
    api = api_factory()
    instrument(api, tracer_provider=provider)
    with caplog.at_level(logging.ERROR):
        r = await api.get("/x")
        assert r.attempts == 2
        server.script("/y", [Reply(200, delay=SLOW)])
        call = asyncio.create_task(api.get("/y"))
        await until(lambda: server.count("/y") == 2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    assert [rec for rec in caplog.records if rec.levelno >= logging.ERROR] == []
    spans = exporter.get_finished_spans()
    client = [s for s in spans if s.kind is SpanKind.CLIENT]
    internal = [s for s in spans if s.kind is SpanKind.INTERNAL]
    assert len(client) == 4
    assert len(internal) == 2
    first_call = internal[0]
    assert first_call.attributes is not None
    assert first_call.attributes["axios_like.attempts"] == 2
    assert all(s.parent is not None for s in client)
    # each copy's span is the parent of its own traceparent
    parents = [seen.headers["traceparent"].split("-")[2] for seen in server.requests_for("/x")]
    ids = {format(s.context.span_id, "016x") for s in client}
    assert set(parents) <= ids
    assert len(set(parents)) == 2


async def test_cancelled_copies_give_their_connections_back(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    """Losers cancelled at every point of their send (waiting for a connection,
    connecting, sending, reading) leave no connection behind in the pool.

    With ``task.cancel()`` instead of a cancel scope, this leaked 1 to 3 connections
    left ACTIVE for good in httpcore's pool (httpcore #1093) out of 300 calls."""
    rng = random.Random(3)
    delays = [0.0, 0.0, 0.0005, 0.001, 0.002, 0.003]
    server.handle("/x", lambda seen: Reply(200, json=1, delay=rng.choice(delays)))
    api = api_factory(
        hedge=Hedge(delay=0.0, max_extra_load=1.0),  # both copies race from the start
        limits=httpx.Limits(max_connections=4),
        timeout=httpx.Timeout(5.0, pool=2.0),
        max_retries=0,
        retry_budget=None,  # hedges spend it as retries do: here every hedge may go
    )
    for _ in range(300):
        r = await api.get("/x")
        assert r.status == 200
    assert server.count("/x") > 360  # most calls sent two copies
    # Test-only look into httpcore's pool (the default transport; aiohttp has none).
    pool = getattr(getattr(api._http, "_transport", None), "_pool", None)
    if pool is not None:
        assert [c for c in pool.connections if not c.is_idle()] == []
        assert len(pool.connections) <= 4
    await until(lambda: server.open_connections <= 4)
    assert server.open_connections <= 4


async def test_copies_waiting_for_the_pool_leave_nothing_behind(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    """Ten callers share three connections, so copies queue for the pool. A copy
    cancelled just as the pool made a connection for it left that connection stuck
    (CONNECTING) for good (httpcore #1093: ~1 per 600 calls here); it is now
    cancelled only once it has reached its connection."""
    rng = random.Random(3)
    delays = [0.0, 0.0, 0.0005, 0.001, 0.002, 0.003]
    server.handle("/x", lambda seen: Reply(200, json=1, delay=rng.choice(delays)))
    api = api_factory(
        hedge=Hedge(delay=0.0, max_extra_load=1.0),
        limits=httpx.Limits(max_connections=3),
        timeout=httpx.Timeout(5.0, pool=3.0),
        max_retries=0,
        retry_budget=None,
    )

    async def caller() -> None:
        for _ in range(120):
            assert (await api.get("/x")).status == 200

    await asyncio.gather(*(caller() for _ in range(10)))
    pool = getattr(getattr(api._http, "_transport", None), "_pool", None)  # test-only look
    if pool is not None:
        assert [c for c in pool.connections if not c.is_idle()] == []


def test_a_first_attempt_refused_later_is_not_counted() -> None:
    hedge = Hedge()
    call: dict[object, Any] = {}
    first = ticket(AttemptKind.FIRST, 1, call)
    hedge.admit(first, 0.0)
    assert hedge.load(ORIGIN) == (1, 0)
    why = StopReason.CIRCUIT_OPEN
    refused = Verdict(Step.REFUSED, Failure.LOCAL, None, None, "x", why, None, 0)
    hedge.record(first, refused, 0.0)  # the breaker said no after Hedge counted it
    assert hedge.load(ORIGIN) == (0, 0)
    assert hedge.latency(ORIGIN) == (0, None)


async def test_a_raising_retry_on_after_a_hedged_round_still_tells_every_copy(
    server: FlakyServer, api_factory: Callable[..., axios_like.AsyncClient]
) -> None:
    server.script("/x", [Reply(503, delay=0.6), Reply(503)])
    recorder = Recorder()

    def retry_on(error: BaseException) -> bool:
        raise ValueError("my policy broke")

    api = api_factory(retry_on=retry_on)
    api.controllers.add(recorder)
    with pytest.raises(ValueError, match="my policy broke"):
        await api.get("/x")
    assert sorted(recorder.recorded) == [
        (1, AttemptKind.FIRST, Step.LOST, Failure.TRANSIENT),
        (2, AttemptKind.HEDGE, Step.LOST, Failure.TRANSIENT),
    ]


async def test_no_hedge_while_the_attempt_waits_for_a_connection(server: FlakyServer) -> None:
    """On httpcore (the default transport) a copy that has not reached a connection yet
    is slow because of the client's own pool: a hedge would only queue behind it."""
    server.script("/slow", [Reply(200, delay=0.5)])
    server.script("/x", [Reply(200, json=1)])
    async with axios_like.create_async(
        base_url=server.url,
        limits=httpx.Limits(max_connections=1),
        hedge=Hedge(delay=0.15, max_extra_load=1.0),
    ) as api:
        holder = asyncio.create_task(api.get("/slow", hedge=None))
        await until(lambda: server.count("/slow") == 1)
        r = await api.get("/x")  # waits ~0.45 s for the only connection
        assert r.attempts == 1
        assert [h.reason for h in r.history] == ["ok"]
        assert server.count("/x") == 1
        await holder
