"""The attempt-controller seam, through both clients on the real loopback server.

A test controller refuses, delays and records; the shells must ask it before
every send (first attempts too) and tell it every decision, in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import axios_like
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
    compose,
)
from axios_like._fleet import BreakerView, Lease
from axios_like.testing import instant_retries
from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import Both

pytestmark = pytest.mark.usefixtures("instant")


class Script:
    """A controller that answers from a list and records everything it is shown."""

    def __init__(self, answers: list[Admission] | None = None) -> None:
        self.answers = list(answers or [])
        self.admitted: list[tuple[int, AttemptKind, str]] = []
        self.verdicts: list[Verdict] = []
        self.origins: set[Origin] = set()

    def admit(self, ticket: Ticket, now: float) -> Admission:
        self.admitted.append((ticket.attempt, ticket.kind, ticket.method))
        self.origins.add(ticket.origin)
        return self.answers.pop(0) if self.answers else SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        self.verdicts.append(verdict)


async def test_every_attempt_is_admitted_and_every_decision_recorded(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(200)])
    ctl = Script()
    api = make_client(base_url=server.url, retry_budget=ctl)
    r = await api.get("/flaky")
    assert r.status == 200
    assert ctl.admitted == [
        (1, AttemptKind.FIRST, "GET"),
        (2, AttemptKind.RETRY, "GET"),
        (3, AttemptKind.RETRY, "GET"),
    ]
    assert [v.step for v in ctl.verdicts] == [Step.RETRY, Step.RETRY, Step.DONE]
    assert [v.failure for v in ctl.verdicts] == [Failure.TRANSIENT, Failure.TRANSIENT, Failure.NONE]
    assert [v.status for v in ctl.verdicts] == [503, 503, 200]
    assert [v.reason for v in ctl.verdicts] == ["status 503", "status 503", "ok"]
    assert ctl.verdicts[0].delay is not None
    assert ctl.verdicts[0].delay > 0
    assert all(v.duration >= 0 for v in ctl.verdicts)
    assert ctl.origins == {Origin("http", "127.0.0.1", server.port)}


async def test_a_refused_first_attempt_is_never_sent(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    ctl = Script([Refuse(StopReason.CIRCUIT_OPEN, 4.0)])
    api = make_client(base_url=server.url, circuit_breaker=ctl)
    with pytest.raises(axios_like.CircuitOpenError) as info:
        await api.get("/x")
    assert server.count("/x") == 0
    assert info.value.retry_after == 4.0
    assert info.value.origin == Origin("http", "127.0.0.1", server.port)
    assert info.value.config is not None
    assert info.value.config["url"] == "/x"
    assert [(v.step, v.stop) for v in ctl.verdicts] == [(Step.REFUSED, StopReason.CIRCUIT_OPEN)]


async def test_a_refused_retry_stops_with_the_reason_and_the_last_error(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/down", [Reply(503)] * 5)
    ctl = Script([SEND, Refuse(StopReason.RETRY_BUDGET)])
    api = make_client(base_url=server.url, retry_budget=ctl)
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/down")
    err = info.value
    assert err.reason == "retry_budget"
    assert err.reason is StopReason.RETRY_BUDGET
    assert err.attempts == 1
    assert isinstance(err.__cause__, axios_like.HTTPStatusError)
    assert err.__cause__.status == 503
    assert "retry budget" in str(err)
    assert server.count("/down") == 1
    assert [h.delay for h in err.history] == [None]  # the refused retry's wait was in vain
    assert [v.step for v in ctl.verdicts] == [Step.RETRY, Step.REFUSED]


async def test_a_wait_delays_the_attempt_and_counts_as_elapsed(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/slow-gate", [Reply(503), Reply(200)])
    ctl = Script([SEND, Wait(7.0, "rate limit")])
    events: list[axios_like.RetryEvent] = []
    api = make_client(base_url=server.url, retry_budget=ctl, on_retry=events.append)
    r = await api.get("/slow-gate", retry_strategy=axios_like.FixedDelay(1.0))
    assert r.status == 200
    assert ctl.admitted[1][1] is AttemptKind.RETRY
    assert len(events) == 1
    assert events[0].delay == 1.0


async def test_a_wait_past_the_deadline_is_a_rate_limited_error(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    ctl = Script([Wait(30.0, "rate limit")])
    api = make_client(base_url=server.url, retry_budget=ctl)
    with pytest.raises(axios_like.RateLimitedError) as info:
        await api.get("/x", deadline=5.0)
    assert info.value.retry_after == 30.0
    assert server.count("/x") == 0


async def test_a_wait_past_the_deadline_on_a_retry_stops_the_call(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/y", [Reply(503)] * 3)
    ctl = Script([SEND, Wait(30.0, "rate limit")])
    api = make_client(base_url=server.url, retry_budget=ctl)
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/y", deadline=5.0, retry_strategy=axios_like.FixedDelay(0.1))
    assert info.value.reason == "rate_limited"
    assert server.count("/y") == 1


async def test_replays_are_admitted_as_replays(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/me", [Reply(401), Reply(200)])
    ctl = Script()
    api = make_client(base_url=server.url, retry_budget=ctl)

    def on_401(error: BaseException) -> Any:
        if getattr(error, "status", None) == 401:
            return axios_like.Replay(meta={"again": True})
        raise error

    api.interceptors.response.use(None, on_401)
    assert (await api.get("/me")).status == 200
    assert [k for _, k, _ in ctl.admitted] == [AttemptKind.FIRST, AttemptKind.REPLAY]
    assert [v.step for v in ctl.verdicts] == [Step.REPLAY, Step.DONE]
    assert ctl.verdicts[0].failure is Failure.CALLER  # a 401 is the caller's, never the server's


async def test_client_controllers_run_after_the_configured_ones(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    order: list[str] = []

    class Named(Script):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def admit(self, ticket: Ticket, now: float) -> Admission:
            order.append(self.name)
            return SEND

    api = make_client(
        base_url=server.url, retry_budget=Named("budget"), circuit_breaker=Named("breaker")
    )
    extra = Named("telemetry")
    api.client.controllers.add(extra)
    api.client.controllers.add(extra)  # once only
    assert len(api.client.controllers) == 1
    await api.get("/ok")
    assert order == ["breaker", "budget", "telemetry"]
    assert api.client.controllers.remove(extra) is True
    assert api.client.controllers.remove(extra) is False
    with pytest.raises(TypeError, match="not an attempt controller"):
        api.client.controllers.add(object())  # type: ignore[arg-type]


def test_compose_order_and_empty() -> None:
    a, b = Script(), Script()
    assert compose({"retry_budget": None, "circuit_breaker": None}) == ()
    assert compose({"retry_budget": a, "circuit_breaker": b}) == (b, a)
    assert compose({"retry_budget": a}, (b,)) == (a, b)


def test_a_controller_key_rejects_what_is_not_one() -> None:
    with pytest.raises(axios_like.ConfigError, match="retry_budget"):
        axios_like.create(retry_budget=3)  # type: ignore[arg-type]
    with pytest.raises(axios_like.ConfigError, match="circuit_breaker"):
        axios_like.create(circuit_breaker="on")  # type: ignore[arg-type]


def test_the_sync_client_does_not_sleep_for_a_wait_under_instant_mode(server: FlakyServer) -> None:
    ctl = Script([Wait(5.0, "rate limit")])
    with axios_like.create(base_url=server.url, retry_budget=ctl) as api, instant_retries():
        start = time.monotonic()
        assert api.get("/ok").status == 200
        assert time.monotonic() - start < 2.0


# ---------------------------------------------------------------- attach / detach


class Held(Script):
    """A controller that also records who attaches and detaches it (the optional pair)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []

    def attach(self, owner: object) -> None:
        self.events.append(("attach", owner))

    def detach(self, owner: object) -> None:
        self.events.append(("detach", owner))


async def test_a_client_attaches_what_it_holds_once_and_detaches_it_when_it_closes(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/ok", [Reply(200)])
    budget, breaker, own, routed = Held(), Held(), Held(), Held()
    api = make_client(
        base_url=server.url,
        retry_budget=budget,
        circuit_breaker=breaker,
        # named twice (a default and a route): held once
        routes={"/slow/**": {"rate_limiter": routed, "retry_budget": budget}},
    )
    client = api.client
    assert budget.events == [("attach", client)]
    assert breaker.events == [("attach", client)]
    assert routed.events == [("attach", client)]
    client.controllers.add(own)
    client.controllers.add(own)  # already there: no second attach
    assert own.events == [("attach", client)]
    assert (await api.get("/ok")).status == 200
    assert len(budget.events) == 1  # never on the request path
    client.controllers.remove(own)
    assert own.events == [("attach", client), ("detach", client)]
    client.controllers.add(own)
    await api.close()
    await api.close()  # closing twice detaches once
    for held in (budget, breaker, routed):
        assert held.events == [("attach", client), ("detach", client)]
    assert own.events[-1] == ("detach", client)
    assert len(own.events) == 4


async def test_a_write_to_defaults_attaches_the_new_controller_and_detaches_the_old(
    make_client: Callable[..., Both],
) -> None:
    old, new, breaker = Held(), Held(), Held()
    api = make_client(retry_budget=old)
    client = api.client
    client.defaults["retry_budget"] = new
    assert old.events == [("attach", client), ("detach", client)]
    assert new.events == [("attach", client)]
    client.defaults.update({"circuit_breaker": breaker, "max_retries": 2})
    assert breaker.events == [("attach", client)]
    client.defaults["timeout"] = 3.0  # not a controller key: nobody is told
    del client.defaults["circuit_breaker"]  # back to the library default (None)
    assert breaker.events == [("attach", client), ("detach", client)]
    client.defaults.pop("retry_budget")  # back to a fresh RetryBudget() of the client's own
    assert new.events == [("attach", client), ("detach", client)]
    assert isinstance(client.defaults["retry_budget"], axios_like.RetryBudget)
    with pytest.raises(axios_like.ConfigError, match="retry_budget"):
        client.defaults["retry_budget"] = "nope"  # a bad write changes nothing
    await api.close()
    client.defaults["retry_budget"] = old  # a closed client holds nothing
    assert old.events == [("attach", client), ("detach", client)]


async def test_a_per_request_controller_is_never_attached(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/ok", [Reply(200)])
    once = Held()
    api = make_client(base_url=server.url)
    assert (await api.get("/ok", retry_budget=once)).status == 200
    assert len(once.admitted) == 1  # it was used...
    await api.close()
    assert once.events == []  # ...but held by no client


async def test_controllers_without_the_pair_and_a_budget_without_shared_state_work(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/ok", [Reply(200)])
    plain = Script()  # no attach / detach: looked up with getattr
    api = make_client(
        base_url=server.url, retry_budget=axios_like.RetryBudget(), circuit_breaker=plain
    )
    assert (await api.get("/ok")).status == 200
    await api.close()
    assert len(plain.admitted) == 1


class Refusing(Held):
    """A controller whose ``attach`` raises (a user's bug, or a state it cannot join)."""

    def attach(self, owner: object) -> None:
        self.events.append(("attach", owner))
        raise RuntimeError("cannot hold it")


class Stubborn(Held):
    """A named controller whose ``detach`` raises (after recording it)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def detach(self, owner: object) -> None:
        self.events.append(("detach", owner))
        raise RuntimeError(f"{self.name} cannot let go")


async def test_a_detach_that_raises_does_not_keep_the_others_attached(
    make_client: Callable[..., Both],
) -> None:
    first, second, fine = Stubborn("first"), Stubborn("second"), Held()
    api = make_client(retry_budget=first, circuit_breaker=second)
    client = api.client
    client.controllers.add(fine)
    with pytest.raises(RuntimeError, match="cannot let go") as caught:
        await api.close()
    for held in (first, second, fine):  # every one detached, whichever raised
        assert held.events == [("attach", client), ("detach", client)]
    # the first to raise is raised; the other is a note on it
    other = second if str(caught.value) == "first cannot let go" else first
    assert str(caught.value) in ("first cannot let go", "second cannot let go")
    assert caught.value.__notes__ == [
        f"and detaching {other!r} raised RuntimeError('{other.name} cannot let go')"
    ]
    await api.close()  # closing again detaches nothing more
    assert len(fine.events) == 2


def _track_httpx(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Client | httpx.AsyncClient]:
    """Every httpx client the clients open from now on (both flavours)."""
    opened: list[httpx.Client | httpx.AsyncClient] = []

    class Tracked(httpx.Client):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            opened.append(self)

    class TrackedAsync(httpx.AsyncClient):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            opened.append(self)

    monkeypatch.setattr(httpx, "Client", Tracked)
    monkeypatch.setattr(httpx, "AsyncClient", TrackedAsync)
    return opened


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_an_attach_that_raises_in_create_leaks_nothing(
    monkeypatch: pytest.MonkeyPatch, server: FlakyServer, is_async: bool
) -> None:
    server.script("/ok", [Reply(200)])
    opened = _track_httpx(monkeypatch)
    make = axios_like.create_async if is_async else axios_like.create
    breaker, budget, gate = Held(), Refusing(), Held()  # attached in this order
    with pytest.raises(RuntimeError, match="cannot hold it"):
        make(
            base_url=server.url,
            circuit_breaker=breaker,
            retry_budget=budget,
            rate_limit_gate=gate,
        )
    # what it attached before the error is detached again; nothing after was told
    assert [event for event, _ in breaker.events] == ["attach", "detach"]
    assert breaker.events[0][1] is breaker.events[1][1]
    assert [event for event, _ in budget.events] == ["attach"]
    assert gate.events == []
    assert opened == []  # no httpx client was opened: none left to leak

    # the same controllers work in a client created without the raising one
    api = make(base_url=server.url, circuit_breaker=breaker, rate_limit_gate=gate)
    assert len(opened) == 1
    client = opened[0]
    if isinstance(api, axios_like.AsyncClient):
        assert (await api.get("/ok")).status == 200
        await api.aclose()
    else:
        assert api.get("/ok").status == 200
        api.close()
    assert client.is_closed
    assert breaker.events[2:] == [("attach", api), ("detach", api)]
    assert gate.events == [("attach", api), ("detach", api)]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_httpx_client_that_fails_to_open_detaches_what_was_attached(
    monkeypatch: pytest.MonkeyPatch, is_async: bool
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise OSError("no certificates here")

    monkeypatch.setattr(httpx, "AsyncClient" if is_async else "Client", refuse)
    budget, breaker = Held(), Held()
    make = axios_like.create_async if is_async else axios_like.create
    with pytest.raises(OSError, match="no certificates here"):
        make(retry_budget=budget, circuit_breaker=breaker)
    for held in (budget, breaker):
        assert [event for event, _ in held.events] == ["attach", "detach"]


def test_a_write_whose_attach_raises_keeps_what_the_client_held(server: FlakyServer) -> None:
    old = Held()
    api = axios_like.create(base_url=server.url, retry_budget=old)
    with pytest.raises(RuntimeError, match="cannot hold it"):
        api.controllers.add(Refusing())
    api.close()
    assert old.events == [("attach", api), ("detach", api)]  # still held until the close


class FakeShared:
    """A shared state (the fleet seam) that records registrations and the hand-overs."""

    sync_interval = 1.0

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def budget_lease(
        self, origin: Origin, lock: Any, ratio: float, window: float, reserve: float
    ) -> Lease:
        return Lease(origin, lock, ratio, window, reserve)

    def breaker_view(self, origin: Origin, lock: Any, apply: Any, break_cap: float) -> BreakerView:
        return BreakerView(origin, lock, apply, break_cap)

    def release(self, item: object) -> None:
        self.events.append(("release", item))

    def renew(self, item: object) -> None:
        self.events.append(("renew", item))

    def attach(self, owner: object) -> None:
        self.events.append(("attach", owner))

    def detach(self, owner: object) -> None:
        self.events.append(("detach", owner))


async def test_a_shared_budget_and_breaker_release_at_their_last_detach_and_renew_at_the_next(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/down", [Reply(503)])
    shared = FakeShared()
    budget = axios_like.RetryBudget(shared=shared)
    breaker = axios_like.CircuitBreaker(shared=shared)
    first = make_client(base_url=server.url, retry_budget=budget, circuit_breaker=breaker)
    second = make_client(base_url=server.url, retry_budget=budget, circuit_breaker=breaker)
    with pytest.raises(axios_like.HTTPStatusError):
        await first.get("/down", max_retries=0)
    origin = Origin("http", "127.0.0.1", server.port)
    lease, view = budget._states[origin].lease, breaker._states[origin].view
    assert lease is not None
    assert view is not None
    shared.events.clear()
    await first.close()  # the second client still holds them: nothing released
    assert [event for event, _ in shared.events] == ["detach", "detach"]
    shared.events.clear()
    await second.close()
    await second.close()  # twice: once
    assert {e for e in shared.events if e[0] != "detach"} == {("release", lease), ("release", view)}
    assert len(shared.events) == 4
    shared.events.clear()
    third = make_client(base_url=server.url, retry_budget=budget)
    assert shared.events == [("renew", lease), ("attach", third.client)]  # before the attach
    await third.close()
    assert shared.events[2:] == [("release", lease), ("detach", third.client)]


class Stuck(Held):
    """A controller whose ``detach`` raises too."""

    def detach(self, owner: object) -> None:
        self.events.append(("detach", owner))
        raise ValueError("cannot let go")


def test_the_attach_error_goes_first_when_undoing_an_attach_raises_too() -> None:
    stuck, refusing = Stuck(), Refusing()
    with pytest.raises(RuntimeError, match="cannot hold it") as caught:
        axios_like.create(circuit_breaker=stuck, retry_budget=refusing)
    assert [event for event, _ in stuck.events] == ["attach", "detach"]
    notes = caught.value.__notes__
    assert len(notes) == 1
    assert "cannot let go" in notes[0]
