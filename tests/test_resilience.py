"""The retry budget and the circuit breaker (SPEC section 5).

Three layers: the controllers driven directly with tickets and an injected
clock; properties over any sequence of events (hypothesis, and real threads);
both clients on the real loopback server.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axios_like
from axios_like import CircuitBreaker, RetryBudget
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
from axios_like.testing import instant_retries
from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import Both

SVC = Origin("http", "svc", 80)
FIRST, RETRY, REPLAY, HEDGE = (
    AttemptKind.FIRST,
    AttemptKind.RETRY,
    AttemptKind.REPLAY,
    AttemptKind.HEDGE,
)
OK, FAIL, CALLER, LOCAL = Failure.NONE, Failure.TRANSIENT, Failure.CALLER, Failure.LOCAL


def ticket(
    kind: AttemptKind = FIRST,
    attempt: int = 1,
    call: dict[object, Any] | None = None,
    origin: Origin = SVC,
) -> Ticket:
    return Ticket(origin, "GET", attempt, kind, httpx.Headers(), {}, {} if call is None else call)


def verdict(failure: Failure, step: Step | None = None, stop: StopReason | None = None) -> Verdict:
    if step is None:
        step = Step.DONE if failure is OK else Step.RETRY
    status = {OK: 200, FAIL: 503, CALLER: 404, LOCAL: None}[failure]
    return Verdict(step, failure, status, None, "r", stop, None, 0.0)


REFUSED = Verdict(Step.REFUSED, LOCAL, None, None, "refused", StopReason.RATE_LIMITED, None, 0.0)


class Clock:
    """A hand-moved clock for ``clock=``."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def one_call(budget: RetryBudget, now: float, retries: int, origin: Origin = SVC) -> int:
    """A call that fails every attempt: how many of its ``retries`` the budget admits."""
    call: dict[object, Any] = {}
    assert budget.admit(ticket(FIRST, 1, call, origin), now) is SEND
    budget.record(ticket(FIRST, 1, call, origin), verdict(FAIL), now)
    for attempt in range(2, retries + 2):
        t = ticket(RETRY, attempt, call, origin)
        if budget.admit(t, now) is not SEND:
            return attempt - 2
        budget.record(t, verdict(FAIL), now)
    return retries


# ---------------------------------------------------------------- the budget, directly


def test_a_lone_call_on_an_idle_client_gets_all_its_retries() -> None:
    assert one_call(RetryBudget(), 0.0, 3) == 3
    assert one_call(RetryBudget(), 0.0, 8) == 8  # past the reserve it borrows
    assert one_call(RetryBudget(min_retries=0), 0.0, 3) == 0  # no reserve: ratio only


def test_a_second_failing_call_in_the_same_window_is_held_to_the_ratio() -> None:
    budget = RetryBudget()
    assert one_call(budget, 0.0, 3) == 3
    assert budget.available(SVC, 0.0) == 0
    assert one_call(budget, 0.1, 3) == 0
    refused = budget.admit(ticket(RETRY, 2), 0.1)
    assert refused == Refuse(StopReason.RETRY_BUDGET)


def test_sustained_failure_is_held_to_ratio_of_first_attempts_plus_reserve() -> None:
    budget = RetryBudget(ratio=0.1, window=10.0, min_retries=3)
    retries = sum(one_call(budget, 0.0, 3) for _ in range(200))
    assert retries == 20  # 200 x 0.1, the 3 of the reserve included
    budget = RetryBudget(ratio=0.5, window=10.0, min_retries=3)
    assert sum(one_call(budget, 0.0, 3) for _ in range(100)) == 50


def test_first_attempts_age_out_of_the_window() -> None:
    budget = RetryBudget(ratio=0.5, window=10.0, min_retries=0)
    for _ in range(10):
        budget.admit(ticket(FIRST), 0.0)
    assert budget.available(SVC, 0.5) == 5
    assert budget.available(SVC, 9.5) == 5  # still within the ten buckets
    assert budget.available(SVC, 10.0) == 0  # the first bucket left the window
    for _ in range(4):
        budget.admit(ticket(FIRST), 13.0)
    assert budget.available(SVC, 14.0) == 2
    assert budget.available(SVC, 13.5) == 2  # a clock behind the newest bucket counts in it
    assert budget.available(SVC, 100.0) == 0  # far later: everything aged out at once


def test_replays_are_free_and_hedges_spend() -> None:
    budget = RetryBudget(ratio=0.0, min_retries=2)
    for _ in range(5):
        assert budget.admit(ticket(REPLAY, 2), 0.0) is SEND
    assert budget.available(SVC, 0.0) == 2
    call: dict[object, Any] = {}
    assert budget.admit(ticket(HEDGE, 2, call), 0.0) is SEND
    assert budget.available(SVC, 0.0) < 2


def test_the_reserve_refills_per_window_when_healthy_and_ten_times_slower_when_failing() -> None:
    budget = RetryBudget(ratio=0.0, window=10.0, min_retries=3)
    assert one_call(budget, 0.0, 3) == 3  # spent; its last outcome a failure
    assert budget.available(SVC, 10.0) == 0  # 0.3 tokens in 10 s while failing
    assert budget.available(SVC, 34.0) == 1  # 1.02 tokens after 34 s
    budget.record(ticket(FIRST), verdict(OK), 34.0)  # healthy from now on
    assert budget.available(SVC, 34.0 + 10 / 3 * 1.5) == 2  # 1.02 + 1.5 tokens
    assert budget.available(SVC, 1000.0) == 3  # never above the reserve
    budget.record(ticket(FIRST), verdict(CALLER), 1000.0)  # a 404 is a healthy answer
    budget.record(ticket(FIRST), verdict(LOCAL), 1000.0)  # a local failure says nothing
    assert budget.available(SVC, 1000.0) == 3


def test_a_lone_call_borrows_and_the_debt_is_paid_back_before_another_is_lone() -> None:
    def borrowed() -> RetryBudget:
        budget = RetryBudget(ratio=0.0, window=10.0, min_retries=3)
        assert one_call(budget, 0.0, 6) == 6  # 3 from the reserve, 3 borrowed
        assert budget.available(SVC, 0.0) == 0
        budget.record(ticket(FIRST), verdict(OK), 0.0)  # healthy: 0.3 tokens a second
        return budget

    budget = borrowed()
    assert budget.available(SVC, 19.0) == 2  # -3 + 5.7: not full, so not lone
    assert one_call(budget, 19.0, 4) == 2
    budget = borrowed()
    assert budget.available(SVC, 20.0) == 3  # paid back and full again
    assert one_call(budget, 20.0, 4) == 4


def test_only_one_call_borrows_at_a_time() -> None:
    budget = RetryBudget(ratio=0.0, window=10.0, min_retries=3)
    a: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, a), 0.0)
    assert budget.admit(ticket(RETRY, 2, a), 0.0) is SEND  # a: lone, reserve 3 -> 2
    budget.record(ticket(FIRST), verdict(OK), 0.0)
    b: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, b), 4.0)
    assert budget.admit(ticket(RETRY, 2, b), 4.0) is SEND  # refilled to 3: b is lone now
    for attempt in range(3, 6):
        assert budget.admit(ticket(RETRY, attempt, b), 4.0) is SEND
    # a lost its lone status to b: it may no longer borrow
    assert budget.admit(ticket(RETRY, 3, a), 4.0) == Refuse(StopReason.RETRY_BUDGET)


def test_a_lone_call_stays_lone_when_the_ratio_pays_for_one_of_its_retries() -> None:
    budget = RetryBudget(ratio=0.5, window=10.0, min_retries=1)
    call: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, call), 0.0)
    assert budget.admit(ticket(RETRY, 2, call), 0.0) is SEND  # the reserve, full: lone
    budget.admit(ticket(FIRST), 0.0)
    budget.admit(ticket(FIRST), 0.0)
    budget.admit(ticket(FIRST), 0.0)  # 4 first attempts: credit for 2 retries
    assert budget.admit(ticket(RETRY, 3, call), 0.0) is SEND  # the ratio pays
    for attempt in range(4, 8):
        assert budget.admit(ticket(RETRY, attempt, call), 0.0) is SEND  # borrowing
    other: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, other), 0.0)
    assert budget.admit(ticket(RETRY, 2, other), 0.0) == Refuse(StopReason.RETRY_BUDGET)


def test_a_retry_a_later_controller_refused_is_given_back() -> None:
    budget = RetryBudget(ratio=0.5, window=10.0, min_retries=1)
    for _ in range(2):
        budget.admit(ticket(FIRST), 0.0)
    call: dict[object, Any] = {}
    assert budget.available(SVC, 0.0) == 2  # 1 from the ratio, 1 reserve
    budget.admit(ticket(RETRY, 2, call), 0.0)  # from the ratio
    budget.record(ticket(RETRY, 2, call), REFUSED, 0.0)
    assert budget.available(SVC, 0.0) == 2
    budget.admit(ticket(RETRY, 2, call), 0.0)  # ratio
    budget.admit(ticket(RETRY, 3, call), 0.0)  # reserve
    assert budget.available(SVC, 0.0) == 0
    budget.record(ticket(RETRY, 3, call), REFUSED, 0.0)
    assert budget.available(SVC, 0.0) == 1  # the reserve token back
    budget.record(ticket(RETRY, 3, call), REFUSED, 0.0)  # nothing charged any more
    budget.record(ticket(RETRY, 9, {budget: (2, 0, False, None)}), REFUSED, 0.0)  # other attempt
    assert budget.available(SVC, 0.0) == 1
    # a charge whose bucket left the window gives back only what it took from the reserve
    late: dict[object, Any] = {}
    budget.admit(ticket(RETRY, 2, late), 0.0)  # the reserve's last token
    budget.admit(ticket(FIRST), 20.0)
    budget.record(ticket(RETRY, 2, late), REFUSED, 20.0)
    assert budget.available(SVC, 20.0) == 1


def test_budget_state_is_per_origin() -> None:
    budget = RetryBudget()
    other = Origin("https", "other", 443)
    assert one_call(budget, 0.0, 3) == 3
    assert one_call(budget, 0.0, 3, origin=other) == 3
    assert budget.available("https://other/x?y=1", 0.0) == 0
    assert budget.available(httpx.URL("http://fresh:8080"), 0.0) == 3


def test_budget_introspection_and_clock() -> None:
    clock = Clock(0.0)
    budget = RetryBudget(ratio=0.25, window=4.0, min_retries=2, clock=clock)
    assert (budget.ratio, budget.window, budget.min_retries) == (0.25, 4.0, 2)
    assert repr(budget) == "RetryBudget(ratio=0.25, window=4, min_retries=2)"
    assert one_call(budget, 999.0, 2) == 2  # the clock, not the now handed in
    clock.now = 4 * 10 * 2  # the slow refill of 2 tokens: 10 windows
    assert budget.available(SVC) == 2
    assert RetryBudget().available("http://idle") == 3  # no clock: the monotonic one


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"ratio": 1.5}, "ratio"),
        ({"ratio": -0.1}, "ratio"),
        ({"ratio": "0.1"}, "ratio"),
        ({"ratio": True}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"window": 0}, "window"),
        ({"window": float("inf")}, "window"),
        ({"min_retries": -1}, "min_retries"),
        ({"min_retries": 2.5}, "min_retries"),
        ({"min_retries": True}, "min_retries"),
    ],
)
def test_budget_parameters_are_validated(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        RetryBudget(**kwargs)
    assert info.value.key == key
    assert isinstance(info.value, ValueError)
    assert f"RetryBudget({key}=...)" in str(info.value)


def test_shared_and_clock_must_be_what_they_say() -> None:
    with pytest.raises(TypeError, match="fleet mode"):
        RetryBudget(shared=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fleet mode"):
        CircuitBreaker(shared="redis://x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock"):
        RetryBudget(clock=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock"):
        CircuitBreaker(clock=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"random\.Random"):
        CircuitBreaker(rng=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="absolute URL"):
        RetryBudget().available("/relative")


# ---------------------------------------------------------------- the breaker, directly


def trip(breaker: CircuitBreaker, now: float, n: int, origin: Origin = SVC) -> None:
    for _ in range(n):
        t = ticket(FIRST, 1, {}, origin)
        assert breaker.admit(t, now) is SEND
        breaker.record(t, verdict(FAIL), now)


def test_breaker_opens_at_the_failure_ratio_once_min_calls_ended() -> None:
    breaker = CircuitBreaker(failure_ratio=0.5, min_calls=10, break_for=5.0)
    for _ in range(5):
        breaker.record(ticket(), verdict(OK), 0.0)
    trip(breaker, 0.0, 4)
    assert breaker.state(SVC, 0.0) == "closed"  # 4 of 9: too few calls, too few failures
    trip(breaker, 0.0, 1)
    assert breaker.state(SVC, 0.0) == "open"  # 5 of 10
    assert breaker.admit(ticket(), 1.0) == Refuse(StopReason.CIRCUIT_OPEN, 4.0)
    assert breaker.retry_after(SVC, 1.0) == 4.0
    assert breaker.state(SVC, 5.0) == "half_open"
    assert breaker.retry_after(SVC, 5.0) == 0.0


def test_caller_and_local_failures_never_count() -> None:
    breaker = CircuitBreaker(failure_ratio=0.5, min_calls=4)
    for failure in (CALLER, LOCAL, CALLER, LOCAL, CALLER):
        breaker.record(ticket(), verdict(failure), 0.0)
    breaker.record(ticket(), REFUSED, 0.0)
    trip(breaker, 0.0, 3)
    assert breaker.state(SVC, 0.0) == "closed"  # 3 counted attempts, below min_calls
    trip(breaker, 0.0, 1)
    assert breaker.state(SVC, 0.0) == "open"


def test_breaker_counts_within_its_window_only() -> None:
    breaker = CircuitBreaker(failure_ratio=0.5, min_calls=4, window=10.0)
    trip(breaker, 0.0, 3)
    trip(breaker, 10.0, 1)  # the first three left the window
    assert breaker.state(SVC, 10.0) == "closed"
    trip(breaker, 11.0, 3)
    assert breaker.state(SVC, 11.0) == "open"


def test_one_probe_when_half_open_then_success_closes() -> None:
    breaker = CircuitBreaker(min_calls=2, break_for=5.0)
    trip(breaker, 0.0, 2)
    probe = ticket(FIRST, 1, {})
    assert breaker.admit(probe, 5.0) is SEND
    assert breaker.admit(ticket(), 5.0) == Refuse(StopReason.CIRCUIT_OPEN, 5.0)  # in flight
    assert breaker.state(SVC, 5.0) == "half_open"
    breaker.record(probe, verdict(OK), 5.5)
    assert breaker.state(SVC, 5.5) == "closed"
    assert breaker.admit(ticket(), 5.5) is SEND
    trip(breaker, 6.0, 1)
    assert breaker.state(SVC, 6.0) == "closed"  # the counts started afresh on closing


def test_a_failed_probe_doubles_the_break_with_jitter_up_to_max_break_for() -> None:
    breaker = CircuitBreaker(min_calls=1, break_for=5.0, max_break_for=30.0, rng=random.Random(7))
    trip(breaker, 0.0, 1)
    now, breaks = 5.0, []
    for _ in range(5):
        probe = ticket(FIRST, 1, {})
        assert breaker.admit(probe, now) is SEND
        breaker.record(probe, verdict(FAIL), now)
        wait = breaker.retry_after(SVC, now)
        breaks.append(wait)
        assert breaker.admit(ticket(), now + wait - 0.01) != SEND
        now += wait
    assert 9.0 <= breaks[0] <= 11.0
    assert 18.0 <= breaks[1] <= 22.0
    assert all(27.0 <= b <= 30.0 for b in breaks[2:])  # capped at max_break_for
    probe = ticket(FIRST, 1, {})
    assert breaker.admit(probe, now) is SEND
    breaker.record(probe, verdict(OK), now)
    trip(breaker, now, 1)
    assert breaker.retry_after(SVC, now) == 5.0  # closed, it starts again from break_for


def test_a_probe_answered_by_the_caller_closes_and_one_not_sent_frees_the_slot() -> None:
    breaker = CircuitBreaker(min_calls=1, break_for=1.0)
    trip(breaker, 0.0, 1)
    for not_sent in (REFUSED, verdict(LOCAL, Step.RAISE)):
        probe = ticket(FIRST, 1, {})
        assert breaker.admit(probe, 1.0) is SEND
        breaker.record(probe, not_sent, 1.0)
        assert breaker.state(SVC, 1.0) == "half_open"
    probe = ticket(FIRST, 1, {})
    assert breaker.admit(probe, 1.0) is SEND
    breaker.record(probe, verdict(CALLER, Step.RAISE), 1.0)  # a 404: the server answered
    assert breaker.state(SVC, 1.0) == "closed"


def test_a_lost_probe_is_released_after_probe_timeout() -> None:
    breaker = CircuitBreaker(min_calls=1, break_for=5.0)
    trip(breaker, 0.0, 1)
    lost = ticket(FIRST, 1, {})
    assert breaker.admit(lost, 5.0) is SEND  # its call is cancelled: never recorded
    assert breaker.admit(ticket(), 34.9) != SEND
    second = ticket(FIRST, 1, {})
    assert breaker.admit(second, 35.0) is SEND  # max(break_for, 30) later
    breaker.record(lost, verdict(FAIL), 35.1)  # the lost one turns up: not the probe any more
    assert breaker.state(SVC, 35.1) == "half_open"
    breaker.record(second, verdict(OK), 35.2)
    assert breaker.state(SVC, 35.2) == "closed"
    short = CircuitBreaker(min_calls=1, break_for=1.0, probe_timeout=2.0)
    trip(short, 0.0, 1)
    assert short.admit(ticket(FIRST, 1, {}), 1.0) is SEND
    assert short.admit(ticket(), 1.5) == Refuse(StopReason.CIRCUIT_OPEN, 1.0)  # break_for
    late = short.admit(ticket(), 2.9)
    assert isinstance(late, Refuse)
    assert late.retry_after == pytest.approx(0.1)  # the lost-probe timeout is sooner
    assert short.admit(ticket(FIRST, 1, {}), 3.0) is SEND


def test_attempts_sent_before_it_opened_do_not_count_while_open() -> None:
    breaker = CircuitBreaker(min_calls=2, break_for=5.0)
    straggler = ticket(FIRST, 1, {})
    assert breaker.admit(straggler, 0.0) is SEND
    trip(breaker, 0.0, 2)
    breaker.record(straggler, verdict(OK), 0.5)
    assert breaker.state(SVC, 0.5) == "open"
    assert breaker.retry_after(SVC, 0.5) == 4.5


def test_breaker_closed_by_another_thread_while_this_one_waits_for_the_lock() -> None:
    # admit() reads "open" without the lock; the clock it then reads closes the breaker
    # (as another thread's probe would), so the check under the lock sees "closed".
    now = [0.0]
    probe_box: list[Ticket] = []

    def clock() -> float:
        if probe_box:
            breaker.record(probe_box.pop(), verdict(OK), now[0])
        return now[0]

    breaker = CircuitBreaker(min_calls=1, break_for=1.0, clock=clock)
    trip(breaker, 0.0, 1)
    now[0] = 1.0
    probe = ticket(FIRST, 1, {})
    assert breaker.admit(probe, 0.0) is SEND
    probe_box.append(probe)
    assert breaker.admit(ticket(), 0.0) is SEND  # closed in between: sent, not a probe
    assert breaker.state(SVC) == "closed"


def test_breaker_introspection_defaults() -> None:
    breaker = CircuitBreaker()
    assert breaker.state("https://api.example.com") == "closed"
    assert breaker.retry_after("https://api.example.com") == 0.0
    assert repr(breaker) == (
        "CircuitBreaker(failure_ratio=0.5, min_calls=20, window=10, break_for=5, max_break_for=60)"
    )
    fast = CircuitBreaker(min_calls=1, break_for=1000.0, max_break_for=1000.0)
    trip(fast, time.monotonic(), 1)
    assert fast.state(SVC) == "open"  # no now, no clock: the monotonic clock
    assert 990.0 < fast.retry_after(SVC) <= 1000.0


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"failure_ratio": 0}, "failure_ratio"),
        ({"failure_ratio": 1.01}, "failure_ratio"),
        ({"min_calls": 0}, "min_calls"),
        ({"window": -1}, "window"),
        ({"break_for": 0}, "break_for"),
        ({"max_break_for": 1.0}, "max_break_for"),
        ({"probe_timeout": 0}, "probe_timeout"),
    ],
)
def test_breaker_parameters_are_validated(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        CircuitBreaker(**kwargs)
    assert info.value.key == key


# ---------------------------------------------------------------- properties

events = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=4.0),  # time passing before the event
        st.sampled_from(["first", "retry", "retry", "ok"]),
        st.integers(min_value=0, max_value=7),  # which call a retry belongs to
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(
    ops=events,
    ratio=st.sampled_from([0.0, 0.1, 0.2, 0.5]),
    reserve=st.integers(min_value=0, max_value=4),
)
def test_budget_never_admits_more_than_its_bound_over_any_window(
    ops: list[tuple[float, str, int]], ratio: float, reserve: int
) -> None:
    """Over any ten consecutive tenths of a window, the retries admitted are at most
    ``ratio`` x the first attempts of those and the window before, plus 2 x
    ``min_retries`` (the reserve held and its refill), plus the retries of the one
    call that may borrow (at most ``max_retries``, here 6)."""
    window, max_retries = 10.0, 6
    budget = RetryBudget(ratio=ratio, window=window, min_retries=reserve)
    now = 0.0
    calls: list[tuple[dict[object, Any], list[int]]] = []
    firsts: list[float] = []
    retries: list[float] = []
    for dt, op, which in ops:
        now += dt
        if op == "first" or not calls:
            call: dict[object, Any] = {}
            budget.admit(ticket(FIRST, 1, call), now)
            budget.record(ticket(FIRST, 1, call), verdict(FAIL), now)
            calls.append((call, [1]))
            firsts.append(now)
        elif op == "ok":
            budget.record(ticket(FIRST), verdict(OK), now)
        else:
            call, attempts = calls[which % len(calls)]
            if attempts[0] > max_retries:
                continue
            t = ticket(RETRY, attempts[0] + 1, call)
            if budget.admit(t, now) is SEND:
                attempts[0] += 1
                retries.append(now)
                budget.record(t, verdict(FAIL), now)
    width = window / 10
    last = int(now // width) + 1
    for start in range(last + 1):
        lo, hi = start * width, (start + 10) * width
        made = sum(lo <= t < hi for t in retries)
        earned = sum(lo - window <= t < hi for t in firsts)
        assert made <= ratio * earned + 2 * reserve + max_retries


@settings(max_examples=150, deadline=None)
@given(ops=events, retries=st.integers(min_value=1, max_value=12))
def test_a_lone_call_on_a_rested_client_always_gets_its_retries(
    ops: list[tuple[float, str, int]], retries: int
) -> None:
    """Whatever came before, after a rest long enough to repay any debt (calls of up to
    6 retries) at the slow refill rate, one failing call gets every retry it asks for."""
    budget = RetryBudget()
    now = 0.0
    for dt, op, which in ops:
        now += dt
        if op == "ok":
            budget.record(ticket(FIRST), verdict(OK), now)
        else:
            one_call(budget, now, which % 7)
    rest = budget.window * 10 * (budget.min_retries + 6) / budget.min_retries
    assert one_call(budget, now + rest, retries) == retries


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=3.0),
            st.sampled_from(["admit", "admit", "ok", "fail", "caller", "local"]),
            st.integers(min_value=0, max_value=30),
        ),
        max_size=300,
    )
)
def test_the_breaker_never_lets_two_probes_out_at_once(
    ops: list[tuple[float, str, int]],
) -> None:
    breaker = CircuitBreaker(
        failure_ratio=0.5, min_calls=3, window=10.0, break_for=1.0, max_break_for=8.0,
        rng=random.Random(0), probe_timeout=1e9,
    )  # fmt: skip
    now = 0.0
    out: list[Ticket] = []
    for dt, op, which in ops:
        now += dt
        if op == "admit":
            t = ticket(FIRST, 1, {})
            if breaker.admit(t, now) is SEND:
                out.append(t)
        elif out:
            t = out.pop(which % len(out))
            failure = {"ok": OK, "fail": FAIL, "caller": CALLER, "local": LOCAL}[op]
            breaker.record(t, verdict(failure), now)
        assert sum(1 for t in out if breaker in t.call) <= 1
        if any(breaker in t.call for t in out):
            assert breaker.state(SVC, now) == "half_open"


def test_the_breaker_never_lets_two_probes_out_at_once_under_threads() -> None:
    ticks = itertools.count()
    lock = threading.Lock()

    def clock() -> float:
        with lock:
            return next(ticks) * 1e-4  # every read moves time on a little

    breaker = CircuitBreaker(
        min_calls=5, break_for=0.01, max_break_for=0.05, clock=clock, probe_timeout=1e9
    )
    in_flight, most, probes = [0], [0], [0]
    barrier = threading.Barrier(8)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(400):
            t = ticket(FIRST, 1, {})
            if breaker.admit(t, 0.0) is not SEND:
                continue
            probe = breaker in t.call
            if probe:
                with lock:
                    in_flight[0] += 1
                    probes[0] += 1
                    most[0] = max(most[0], in_flight[0])
                    in_flight[0] -= 1  # before record(), which frees the slot
            breaker.record(t, verdict(FAIL if rng.random() < 0.7 else OK), 0.0)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not any(th.is_alive() for th in threads)
    assert probes[0] > 5  # the breaker opened and probed many times
    assert most[0] == 1


def test_budget_is_exact_under_threads() -> None:
    budget = RetryBudget(ratio=0.1, min_retries=3, clock=lambda: 0.0)
    barrier = threading.Barrier(8)
    admitted = [0]
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        for _ in range(100):
            got = one_call(budget, 0.0, 3)
            with lock:
                admitted[0] += got

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    # 800 first attempts: 80 retries from the ratio, the 3 of the reserve among them,
    # plus what the one lone call borrowed while the others had not earned any yet.
    assert 80 <= admitted[0] <= 80 + 3


# ---------------------------------------------------------------- both clients, real server


@pytest.mark.usefixtures("instant")
async def test_seed_scenario_succeeds_with_the_default_budget(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(503), Reply(200)])
    api = make_client(base_url=server.url)
    budget = api.client.defaults["retry_budget"]
    assert isinstance(budget, RetryBudget)
    r = await api.get("/flaky")
    assert (r.status, r.attempts) == (200, 4)
    assert [h.reason for h in r.history] == ["status 503"] * 3 + ["ok"]


def test_every_client_gets_a_fresh_default_budget() -> None:
    a, b = axios_like.create(), axios_like.create_async()
    assert isinstance(a.defaults["retry_budget"], RetryBudget)
    assert a.defaults["retry_budget"] is not b.defaults["retry_budget"]
    assert a.defaults["circuit_breaker"] is None
    a.close()


@pytest.mark.usefixtures("instant")
async def test_200_calls_to_an_always_failing_origin_send_at_most_calls_x_1_1_plus_3(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/down", [Reply(503)])
    api = make_client(base_url=server.url, max_retries=3)
    reasons: dict[str, int] = {}
    for _ in range(200):
        with pytest.raises(axios_like.RetryError) as info:
            await api.get("/down")
        reasons[info.value.reason] = reasons.get(info.value.reason, 0) + 1
    sent = server.count("/down")
    # The documented bound (docs/resilience.md): calls x (1 + ratio) + min_retries.
    assert 200 + 3 <= sent <= 200 * 1.1 + 3
    assert reasons["retry_budget"] >= 200 - 24
    assert reasons.get("max_retries", 0) == 1  # the first, lone call used all its retries


@pytest.mark.usefixtures("instant")
async def test_a_refused_retry_says_why_in_reason_and_history(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/down", [Reply(503)])
    api = make_client(base_url=server.url, retry_budget=RetryBudget(min_retries=0))
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/down")
    err = info.value
    assert err.reason is StopReason.RETRY_BUDGET
    assert err.attempts == 1
    assert [(h.reason, h.delay) for h in err.history] == [
        ("status 503; retry refused: retry_budget", None)
    ]
    assert isinstance(err.__cause__, axios_like.HTTPStatusError)
    assert "retry budget of the origin spent" in str(err)


@pytest.mark.usefixtures("instant")
async def test_one_budget_shared_by_two_clients_is_one_budget(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/down", [Reply(503)])
    budget = RetryBudget(clock=lambda: 0.0)
    a = make_client(base_url=server.url, retry_budget=budget)
    b = make_client(base_url=server.url, retry_budget=budget)
    with pytest.raises(axios_like.RetryError) as first:
        await a.get("/down")
    assert (first.value.reason, first.value.attempts) == ("max_retries", 4)
    assert budget.available(server.url) == 0
    with pytest.raises(axios_like.RetryError) as second:
        await b.get("/down")
    assert (second.value.reason, second.value.attempts) == ("retry_budget", 1)
    alone = make_client(base_url=server.url)  # its own default budget: untouched
    with pytest.raises(axios_like.RetryError) as third:
        await alone.get("/down")
    assert third.value.attempts == 4
    assert server.count("/down") == 4 + 1 + 4


@pytest.mark.usefixtures("instant")
async def test_a_route_or_a_call_can_turn_the_budget_off(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/down", [Reply(503)])
    server.script("/free/x", [Reply(503)])
    budget = RetryBudget(min_retries=0)
    api = make_client(
        base_url=server.url, retry_budget=budget, routes={"/free/**": {"retry_budget": None}}
    )
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/free/x")
    assert info.value.attempts == 4
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/down", retry_budget=None)
    assert info.value.attempts == 4
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/down")
    assert (info.value.attempts, info.value.reason) == (1, "retry_budget")


def breaker_client(
    make_client: Callable[..., Both], server: FlakyServer, clock: Clock, **kwargs: Any
) -> tuple[Both, CircuitBreaker]:
    breaker = CircuitBreaker(min_calls=4, break_for=5.0, clock=clock, rng=random.Random(1))
    return make_client(base_url=server.url, circuit_breaker=breaker, **kwargs), breaker


@pytest.mark.usefixtures("instant")
async def test_breaker_opens_fails_fast_and_is_never_retried(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/dep", [Reply(503)])
    clock = Clock(100.0)
    api, breaker = breaker_client(
        make_client, server, clock, retry_budget=None, retry_on=lambda error: True, max_retries=5
    )
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/dep")  # attempt 4 trips it: the call's 4th retry is refused
    assert info.value.reason is StopReason.CIRCUIT_OPEN
    assert info.value.attempts == 4
    assert info.value.history[-1].reason == "status 503; retry refused: circuit_open"
    assert "circuit breaker open, next probe in 5s" in str(info.value)
    assert breaker.state(server.url) == "open"
    for _ in range(3):
        with pytest.raises(axios_like.CircuitOpenError) as refused:
            await api.get("/dep")
        assert refused.value.retry_after == 5.0
        assert refused.value.origin == Origin("http", "127.0.0.1", server.port)
    assert server.count("/dep") == 4  # nothing sent while open, nothing retried
    clock.now += 2.0
    with pytest.raises(axios_like.CircuitOpenError) as later:
        await api.get("/dep")
    assert later.value.retry_after == 3.0


@pytest.mark.usefixtures("instant")
async def test_half_open_lets_exactly_one_probe_through_20_concurrent_async_callers(
    server: FlakyServer,
) -> None:
    clock = Clock(0.0)
    breaker = CircuitBreaker(min_calls=4, break_for=5.0, clock=clock)
    async with axios_like.create_async(
        base_url=server.url, circuit_breaker=breaker, max_retries=0
    ) as api:
        server.script("/dep", [Reply(503)] * 4 + [Reply(200, delay=0.3)])
        for _ in range(4):
            with pytest.raises(axios_like.HTTPStatusError):
                await api.get("/dep")
        assert breaker.state(server.url) == "open"
        clock.now = 5.0
        results = await asyncio.gather(
            *(api.get("/dep") for _ in range(20)), return_exceptions=True
        )
        ok = [r for r in results if isinstance(r, axios_like.Response)]
        refused = [r for r in results if isinstance(r, axios_like.CircuitOpenError)]
        assert (len(ok), len(refused)) == (1, 19)
        assert server.count("/dep") == 5  # exactly one probe
        assert breaker.state(server.url) == "closed"
        assert (await api.get("/dep")).status == 200  # closed again: calls flow


def test_half_open_lets_exactly_one_probe_through_20_threads(server: FlakyServer) -> None:
    clock = Clock(0.0)
    breaker = CircuitBreaker(min_calls=4, break_for=5.0, clock=clock)
    server.script("/dep", [Reply(503)] * 4 + [Reply(200, delay=0.5)])
    results: list[object] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)
    with (
        instant_retries(),
        axios_like.create(base_url=server.url, circuit_breaker=breaker, max_retries=0) as api,
    ):
        for _ in range(4):
            with pytest.raises(axios_like.HTTPStatusError):
                api.get("/dep")
        clock.now = 5.0

        def worker() -> None:
            barrier.wait()
            try:
                outcome: object = api.get("/dep")
            except axios_like.AxiosLikeError as exc:
                outcome = exc
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert len(results) == 20
        assert sum(isinstance(r, axios_like.Response) for r in results) == 1
        assert sum(isinstance(r, axios_like.CircuitOpenError) for r in results) == 19
        assert server.count("/dep") == 5
        assert breaker.state(server.url) == "closed"


@pytest.mark.usefixtures("instant")
async def test_a_failed_probe_opens_again_for_longer_then_a_good_one_closes(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/dep", [Reply(503)] * 5 + [Reply(200)])
    clock = Clock(0.0)
    api, breaker = breaker_client(make_client, server, clock, max_retries=0)
    for _ in range(4):
        with pytest.raises(axios_like.HTTPStatusError):
            await api.get("/dep")
    clock.now = 5.0
    with pytest.raises(axios_like.HTTPStatusError):
        await api.get("/dep")  # the probe fails
    assert breaker.state(server.url) == "open"
    assert 9.0 <= breaker.retry_after(server.url) <= 11.0
    clock.now += breaker.retry_after(server.url)
    assert (await api.get("/dep")).status == 200
    assert breaker.state(server.url) == "closed"
    assert server.count("/dep") == 6


@pytest.mark.usefixtures("instant")
async def test_caller_errors_never_open_the_breaker(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/missing", [Reply(404)])
    clock = Clock(0.0)
    api, breaker = breaker_client(make_client, server, clock)
    for _ in range(30):
        with pytest.raises(axios_like.HTTPStatusError):
            await api.get("/missing")
    assert breaker.state(server.url) == "closed"
    assert server.count("/missing") == 30


async def test_a_cancelled_probe_cannot_wedge_half_open(server: FlakyServer) -> None:
    clock = Clock(0.0)
    breaker = CircuitBreaker(min_calls=4, break_for=5.0, clock=clock)
    server.script("/dep", [Reply(503)] * 4 + [Reply(200, delay=2.0), Reply(200)])
    async with axios_like.create_async(
        base_url=server.url, circuit_breaker=breaker, max_retries=0
    ) as api:
        for _ in range(4):
            with pytest.raises(axios_like.HTTPStatusError):
                await api.get("/dep")
        clock.now = 5.0
        probe = asyncio.ensure_future(api.get("/dep"))
        for _ in range(200):  # bounded: until the probe is on the wire
            if server.count("/dep") == 5:
                break
            await asyncio.sleep(0.005)
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        with pytest.raises(axios_like.CircuitOpenError):
            await api.get("/dep")  # the lost probe still holds the slot ...
        clock.now = 5.0 + 30.0  # ... until probe_timeout: max(break_for, 30 s)
        assert (await api.get("/dep")).status == 200
        assert breaker.state(server.url) == "closed"


def test_a_hedged_sibling_of_the_probe_does_not_settle_it() -> None:
    breaker = CircuitBreaker(min_calls=2, break_for=5.0)
    trip(breaker, 0.0, 2)
    call: dict[object, Any] = {}
    probe = ticket(FIRST, 1, call)
    assert breaker.admit(probe, 5.0) is SEND  # the half-open probe: attempt 1
    sibling = ticket(AttemptKind.HEDGE, 2, call)  # its hedge shares the call's scratch
    breaker.record(sibling, verdict(OK), 5.2)  # answered first: not the probe
    assert breaker.state(SVC, 5.2) == "half_open"  # still waiting for the probe itself
    assert call[breaker] == (SVC, 1)
    breaker.record(probe, verdict(OK), 5.3)
    assert breaker.state(SVC, 5.3) == "closed"
    assert breaker not in call


class _HoldOnce:
    """A controller that holds the first attempt ``seconds``, then sends."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.asked = 0

    def admit(self, ticket: Ticket, now: float) -> Admission:
        self.asked += 1
        return Wait(self.seconds, "rate limit") if self.asked == 1 else SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        pass


async def test_a_controller_wait_is_slept_for_real_outside_instant_mode(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/held", [Reply(200)])
    holder = _HoldOnce(0.05)
    api = make_client(base_url=server.url, rate_limiter=holder)
    started = time.monotonic()
    r = await api.get("/held")
    assert r.status == 200
    assert holder.asked == 1
    assert time.monotonic() - started >= 0.05  # slept, not skipped: no instant_retries()
