"""The budget's fleet-mode path (SPEC section 5, "Fleet mode"), driven directly.

A hand-made ``SharedState`` hands out real ``Lease`` objects, and the test plays
the sync: it sets what the Lua script of ``axios_like.redis`` would return
(``tokens``, ``spare``, ``quiet``, ``live``). No Redis here: tests/test_redis.py
runs the script itself against a real redis-server.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axios_like import CircuitBreaker, RetryBudget
from axios_like._control import SEND, Origin, Refuse, Step, StopReason
from axios_like._fleet import ApplyFleet, BreakerView, Holders, Lease, SharedState
from tests.test_resilience import FAIL, FIRST, LOCAL, OK, RETRY, SVC, ticket, verdict
from tests.test_resilience import REFUSED as REFUSED_VERDICT

REFUSED = Refuse(StopReason.RETRY_BUDGET)


class FakeShared:
    """A ``SharedState`` whose leases the test fills, as a sync would."""

    def __init__(self) -> None:
        self.leases: list[Lease] = []
        self.views: list[BreakerView] = []

    @property
    def sync_interval(self) -> float:
        return 1.0

    def budget_lease(
        self, origin: Origin, lock: threading.Lock, ratio: float, window: float, reserve: float
    ) -> Lease:
        lease = Lease(origin, lock, ratio, window, reserve)
        self.leases.append(lease)
        return lease

    def breaker_view(
        self, origin: Origin, lock: threading.Lock, apply: ApplyFleet, break_cap: float
    ) -> BreakerView:
        view = BreakerView(origin, lock, apply, break_cap)
        self.views.append(view)
        return view


def fleet_budget(**sync: Any) -> tuple[RetryBudget, Lease]:
    """A default budget in fleet mode, its lease live with what ``sync`` sets."""
    shared = FakeShared()
    assert isinstance(shared, SharedState)
    budget = RetryBudget(shared=shared)
    budget.admit(ticket(FIRST, 1, {}), 0.0)  # registers the lease
    (lease,) = shared.leases
    lease.live = True
    lease.firsts = lease.retries = 0
    for name, value in sync.items():
        setattr(lease, name, value)
    return budget, lease


def failing_call(budget: RetryBudget, now: float, retries: int, call: dict[object, Any]) -> int:
    """A call whose every attempt fails: how many of ``retries`` the budget admits."""
    budget.admit(ticket(FIRST, 1, call), now)
    budget.record(ticket(FIRST, 1, call), verdict(FAIL), now)
    for attempt in range(2, retries + 2):
        t = ticket(RETRY, attempt, call)
        if budget.admit(t, now) is not SEND:
            return attempt - 2
        budget.record(t, verdict(FAIL), now)
    return retries


def test_a_lone_call_in_a_quiet_fleet_gets_all_its_retries() -> None:
    budget, lease = fleet_budget(tokens=0.0, spare=3.6, quiet=True)
    assert failing_call(budget, 0.0, 3, {}) == 3  # the local reserve, full: lone
    assert lease.retries == 3  # reported to the fleet at the next sync
    assert lease.failures == 4  # its four failed attempts, too
    budget, _ = fleet_budget(tokens=0.0, spare=3.6, quiet=True)
    assert failing_call(budget, 0.0, 6, {}) == 6  # past the reserve it borrows


def test_a_lone_call_keeps_borrowing_while_its_own_failures_explain_the_fleets() -> None:
    budget, lease = fleet_budget(tokens=0.0, spare=3.6, quiet=True)
    call: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, call), 0.0)
    budget.record(ticket(FIRST, 1, call), verdict(FAIL), 0.0)
    assert budget.admit(ticket(RETRY, 2, call), 1.0) is SEND  # lone
    budget.record(ticket(RETRY, 2, call), verdict(FAIL), 1.0)
    # the next sync: its two failures made the quiet fleet noisy (3.6 - 2 - 2 < 0)
    lease.spare, lease.quiet = 3.6 - 2 - 2.0, False
    assert budget.admit(ticket(RETRY, 3, call), 3.0) is SEND  # -0.4 + 2 own >= 0
    # a fleet failing beyond its ratio, not because of this call: no more
    lease.spare = -50.0
    assert budget.admit(ticket(RETRY, 4, call), 7.0) == REFUSED


def test_in_a_noisy_fleet_no_call_becomes_lone() -> None:
    budget, lease = fleet_budget(tokens=0.0, spare=-20.0, quiet=False)
    assert budget.available(SVC, 0.0) == 0  # what the lease holds
    assert failing_call(budget, 0.0, 3, {}) == 0  # the local reserve is full, unused
    lease.spare, lease.quiet = 3.6, True  # a window later the fleet is quiet again
    assert failing_call(budget, 10.0, 3, {}) == 3


def test_the_lease_pays_first_and_a_lone_call_stays_lone_when_it_does() -> None:
    budget, lease = fleet_budget(tokens=1.0, spare=3.6, quiet=True)
    call: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, call), 0.0)
    budget.record(ticket(FIRST, 1, call), verdict(FAIL), 0.0)
    assert budget.admit(ticket(RETRY, 2, call), 0.0) is SEND  # the lease's token
    assert lease.tokens == 0.0
    assert budget.admit(ticket(RETRY, 3, call), 0.0) is SEND  # lone: the local reserve
    lease.tokens = 1.0  # the next sync grants one more
    assert budget.admit(ticket(RETRY, 4, call), 0.0) is SEND  # the lease pays...
    lease.spare, lease.quiet = -1.0, False
    assert budget.admit(ticket(RETRY, 5, call), 0.0) is SEND  # ...and it is still lone
    assert lease.retries == 4


def test_in_a_quiet_fleet_a_second_call_spends_the_reserve_left_without_becoming_lone() -> None:
    budget, lease = fleet_budget(tokens=0.0, spare=3.6, quiet=True)
    state = budget._states[SVC]
    lone_call: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, lone_call), 0.0)
    budget.record(ticket(FIRST, 1, lone_call), verdict(FAIL), 0.0)
    assert budget.admit(ticket(RETRY, 2, lone_call), 0.0) is SEND  # the reserve was full: lone
    lone = state.lone
    assert lone is not None
    assert (state.tokens, state.lone_retries) == (2.0, 1)
    other: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, other), 0.0)
    budget.record(ticket(FIRST, 1, other), verdict(FAIL), 0.0)
    assert budget.admit(ticket(RETRY, 2, other), 0.0) is SEND  # what is left of the reserve
    assert state.lone is lone  # the reserve was not full: the other call is not lone
    assert (state.tokens, state.lone_retries, lease.retries) == (1.0, 1, 2)
    assert other[budget][2:4] == (True, None)  # charged to the reserve, not lone
    assert budget.admit(ticket(RETRY, 3, other), 0.0) is SEND  # the reserve's last token
    assert budget.admit(ticket(RETRY, 4, other), 0.0) == REFUSED  # and no borrowing
    assert budget.admit(ticket(RETRY, 3, lone_call), 0.0) is SEND  # the lone call borrows
    assert (state.tokens, state.lone_retries, lease.retries) == (-1.0, 2, 4)


def test_a_quiet_fleet_and_a_healthy_origin_let_the_local_ratio_pay() -> None:
    budget, lease = fleet_budget(tokens=0.0, spare=50.0, quiet=True)
    for _ in range(29):  # 30 first attempts with the registering one: credit for 3 retries
        budget.admit(ticket(FIRST, 1, {}), 0.0)
    budget.record(ticket(FIRST), verdict(OK), 0.0)  # the origin's last outcome: a success
    admitted = 0
    for _ in range(3):
        call: dict[object, Any] = {budget: (1, 0, False, None, lease, False)}
        if budget.admit(ticket(RETRY, 2, call), 0.1) is SEND:
            admitted += 1
    assert admitted == 3
    # the lease holds 0, the ratio is spent, the reserve is full: a quiet fleet lets it pay
    assert budget.available(SVC, 0.1) == 3
    state = budget._states[SVC]
    assert state.tokens == 3.0  # the ratio paid: the reserve is untouched
    # after a failure (the last outcome) the ratio no longer pays in fleet mode
    budget.record(ticket(FIRST), verdict(FAIL), 0.2)
    budget.admit(ticket(FIRST, 1, {}), 0.2)
    assert budget.admit(ticket(RETRY, 2, {}), 0.2) is SEND  # the reserve, full: lone
    assert state.tokens == 2.0


@pytest.mark.parametrize(
    ("tokens", "quiet", "last", "firsts", "expected"),
    [
        (2.0, False, OK, 30, 2),  # a noisy fleet: the lease alone
        (0.0, False, OK, 30, 0),
        # quiet: the lease, the ratio past what the lease paid (it counts there too: 3 - 2),
        # the reserve's 3
        (2.0, True, OK, 30, 2 + 1 + 3),
        (1.5, True, OK, 10, 1 + 0 + 3),
        (0.0, True, OK, 30, 0 + 3 + 3),
        (0.0, True, FAIL, 30, 3),  # the last outcome a failure: no ratio, the reserve
    ],
)
def test_available_in_fleet_mode_is_what_admit_then_admits(
    tokens: float, quiet: bool, last: Any, firsts: int, expected: int
) -> None:
    budget, _ = fleet_budget(tokens=tokens, spare=50.0, quiet=quiet)
    for _ in range(firsts - 1):  # with the registering one
        budget.admit(ticket(FIRST, 1, {}), 0.0)
    budget.record(ticket(FIRST), verdict(last), 0.0)
    assert budget.available(SVC, 0.1) == expected
    admitted = 0
    for _ in range(100):  # bounded: one retry each of distinct calls, until refused
        if budget.admit(ticket(RETRY, 2, {}), 0.1) is not SEND:
            break
        admitted += 1
    assert admitted == expected
    assert budget.available(SVC, 0.1) == 0


def test_fleet_mode_counts_transient_failures_only() -> None:
    budget, lease = fleet_budget(tokens=0.0, spare=3.6, quiet=True)
    for failure in (FAIL, FAIL, OK, FAIL):
        budget.record(ticket(FIRST), verdict(failure), 0.0)
    assert lease.failures == 3
    assert lease.firsts == 0  # record() does not count first attempts: admit() does
    budget.admit(ticket(FIRST, 1, {}), 0.0)
    assert lease.firsts == 1


def test_a_lease_not_live_answers_locally() -> None:
    budget, lease = fleet_budget(tokens=0.0, spare=-100.0, quiet=False)
    lease.live = False  # before the first sync, or Redis unreachable
    assert failing_call(budget, 0.0, 3, {}) == 3  # the local budget: a lone call
    assert lease.retries == 3  # reported when the fleet answers again


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=2.0),
            st.sampled_from(["call", "retry", "retry", "ok", "sync"]),
            st.integers(min_value=0, max_value=5),
        ),
        max_size=200,
    )
)
def test_a_noisy_fleet_never_admits_more_retries_than_its_leases(
    ops: list[tuple[float, str, int]],
) -> None:
    """Whatever the calls, successes and syncs: while the fleet is not quiet, the
    retries admitted are at most the tokens the syncs granted (no local reserve,
    no lone call), and each admitted retry is reported to the fleet."""
    budget, lease = fleet_budget(tokens=0.0, spare=-1.0, quiet=False)
    now, granted, admitted = 0.0, 0.0, 0
    calls: list[tuple[dict[object, Any], list[int]]] = []
    for dt, op, n in ops:
        now += dt
        if op == "sync":
            lease.tokens = float(n)  # the new grant replaces the old lease
            lease.retries = 0
            granted += n
        elif op == "ok":
            budget.record(ticket(FIRST), verdict(OK), now)
        elif op == "call" or not calls:
            call: dict[object, Any] = {}
            budget.admit(ticket(FIRST, 1, call), now)
            budget.record(ticket(FIRST, 1, call), verdict(FAIL), now)
            calls.append((call, [1]))
        else:
            call, attempts = calls[n % len(calls)]
            t = ticket(RETRY, attempts[0] + 1, call)
            if budget.admit(t, now) is SEND:
                attempts[0] += 1
                admitted += 1
                budget.record(t, verdict(FAIL), now)
    assert admitted <= granted
    assert budget._states[SVC].tokens == 3.0  # the local reserve was never touched


# ---------------------------------------------------------------- the seam's edges


def test_a_shared_state_without_the_optional_hooks_is_held_and_let_go_locally() -> None:
    """``attach``/``detach``/``release``/``renew`` are optional (looked up with getattr):
    a state without them is never called for them, and its leases and views stay as
    its sync left them (here: live) through every holder coming and going."""
    shared = FakeShared()
    assert not hasattr(shared, "attach")
    assert not hasattr(shared, "release")
    budget = RetryBudget(shared=shared)
    breaker = CircuitBreaker(min_calls=1, shared=shared)
    budget.admit(ticket(FIRST, 1, {}), 0.0)  # registers the lease
    breaker.record(ticket(FIRST, 1, {}), verdict(OK), 0.0)  # registers the view
    (lease,) = shared.leases
    (view,) = shared.views
    lease.live = view.live = True
    first, second = object(), object()
    for controller in (budget, breaker):
        controller.attach(first)  # the first holder: "renew" is handed nothing (no hook)
        controller.attach(second)
        controller.detach(first)
        controller.detach(second)  # the last holder: "release" is handed nothing either
        controller.detach(second)  # a second close: nothing
    assert (lease.live, view.live) == (True, True)
    assert not budget._holders
    assert not breaker._holders


def test_holders_count_attaches_per_owner_and_only_the_last_detach_lets_go() -> None:
    holders = Holders()
    a, b = object(), object()
    assert not holders
    assert holders.add(a) is True  # nobody held it before
    assert holders.add(a) is False
    assert holders.add(b) is False
    assert holders
    assert holders.remove(b) is False  # a still holds it (twice)
    assert holders.remove(a) is False
    assert holders.remove(b) is False  # b let go already: nothing
    assert holders
    assert holders.remove(a) is True  # the last holder
    assert not holders
    assert holders.remove(a) is False  # a second close: nothing


def test_a_leased_retry_a_later_controller_refused_goes_back_to_the_lease() -> None:
    budget, lease = fleet_budget(tokens=1.0, spare=3.6, quiet=True)
    state = budget._states[SVC]
    call: dict[object, Any] = {}
    budget.admit(ticket(FIRST, 1, call), 0.0)
    budget.record(ticket(FIRST, 1, call), verdict(FAIL), 0.0)
    retry = ticket(RETRY, 2, call)
    assert budget.admit(retry, 0.0) is SEND  # the lease's token pays
    assert (lease.tokens, lease.retries, state.ring.b_sum) == (0.0, 1, 1)
    budget.record(retry, REFUSED_VERDICT, 0.0)  # e.g. the rate limiter refused it: not sent
    assert (lease.tokens, lease.retries, state.ring.b_sum) == (1.0, 0, 0)  # all given back
    lease.tokens = 0.0  # the next sync grants nothing: the local reserve pays (lone)
    retry = ticket(RETRY, 2, call)
    assert budget.admit(retry, 0.0) is SEND
    assert (lease.tokens, lease.retries, state.tokens) == (0.0, 1, 2.0)
    budget.record(retry, REFUSED_VERDICT, 0.0)
    # the reserve's token goes back to the reserve, not to the lease; the fleet is not told
    assert (lease.tokens, lease.retries, state.tokens, state.ring.b_sum) == (0.0, 0, 3.0, 0)


# ---------------------------------------------------------------- the breaker's fleet probe


def fleet_breaker() -> tuple[CircuitBreaker, BreakerView, FakeShared]:
    """A breaker (min_calls=1, break_for=5) in fleet mode, tripped at 0: its view live."""
    shared = FakeShared()
    breaker = CircuitBreaker(min_calls=1, break_for=5.0, max_break_for=60.0, shared=shared)
    t = ticket(FIRST, 1, {})
    assert breaker.admit(t, 0.0) is SEND
    breaker.record(t, verdict(FAIL), 0.0)
    (view,) = shared.views
    assert view.pending == ("open", 5.0)  # published for the next sync
    assert view.changes == 1
    view.pending = None  # the sync took it
    view.live = True
    return breaker, view, shared


def test_a_fleet_probe_is_asked_for_then_held_and_a_failed_one_publishes_the_longer_break() -> None:
    breaker, view, _ = fleet_breaker()
    probe = ticket(FIRST, 1, {})
    # half-open here, but the fleet's probe is not held: ask the sync for it, refuse for now
    assert breaker.admit(probe, 5.0) == Refuse(StopReason.CIRCUIT_OPEN, 1.0)  # sync_interval
    assert (view.wants_probe, view.probing) == (True, False)
    view.wants_probe, view.probe_held = False, True  # the sync got the fleet's probe
    assert breaker.admit(probe, 5.0) is SEND
    assert view.probing is True  # the sync keeps the fleet probe alive meanwhile
    breaker.record(probe, verdict(FAIL), 5.0)
    assert view.pending is not None
    op, seconds = view.pending
    assert op == "open"
    assert 9.0 <= seconds <= 11.0  # twice break_for, jittered: what the breaker waits here
    assert seconds == breaker.retry_after(SVC, 5.0)
    assert (view.probing, view.probe_held, view.changes) == (False, False, 2)


def test_a_fleet_probe_that_was_never_sent_gives_the_fleet_probe_back() -> None:
    breaker, view, _ = fleet_breaker()
    view.probe_held = True
    for not_sent in (REFUSED_VERDICT, verdict(LOCAL, Step.RAISE)):
        probe = ticket(FIRST, 1, {})
        assert breaker.admit(probe, 5.0) is SEND
        assert view.probing is True
        breaker.record(probe, not_sent, 5.0)
        # the slot is free again, nothing is published: the sync returns the fleet probe
        assert (view.probing, view.pending, view.changes) == (False, None, 1)
        assert breaker.state(SVC, 5.0) == "half_open"
    view.probe_held = False  # the sync gave it back
    assert breaker.admit(ticket(FIRST, 1, {}), 5.0) == Refuse(StopReason.CIRCUIT_OPEN, 1.0)
    assert view.wants_probe is True


def test_the_syncs_news_of_the_fleet_is_ignored_when_stale_or_unknown() -> None:
    breaker, view, _ = fleet_breaker()
    until = breaker._states[SVC].until
    # an answer from a sync that started before the local open (changes 0 < 1): ignored
    view.apply(SVC, 0.0, False, 0)
    assert (breaker.state(SVC, 1.0), breaker._states[SVC].until) == ("open", until)
    # an origin this breaker never saw: nothing is made for it
    other = Origin("https", "other", 443)
    view.apply(other, 30.0, True, 1)
    assert other not in breaker._states
    assert breaker.state(other, 1.0) == "closed"
    # the same news, current: the fleet closed it (another process's probe succeeded)
    view.apply(SVC, 0.0, False, 1)
    assert breaker.state(SVC, 1.0) == "closed"
