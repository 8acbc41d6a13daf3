"""Shared resilience: the retry budget and the circuit breaker (SPEC section 5).

Both are attempt controllers (``_control``): the shells ask them before every
send (``admit``) and tell them every decided outcome (``record``). They keep
state *shared between calls*, per origin, and never decide a call's next step
themselves: ``decide()`` and ``admitted()`` in ``_retry`` do.

Rules of this module:

1. Every ``admit`` and ``record`` is O(1) and does no I/O: a fixed ring of 10
   buckets per origin, one ``threading.Lock`` per object held for a few
   arithmetic operations (never across an ``await``), so one object may be
   shared by threads, tasks and clients at once.
2. Time is the ``now`` the shells hand in (their monotonic clock), unless the
   object was given ``clock=``: then it reads that clock instead, so tests and
   simulations move time without patching. The clock is read by the object
   itself only for the introspection calls (``available``, ``state``) when
   they are not given ``now``.
3. Per-call facts live in the call: a controller marks what it charged or
   the probe it let out in ``ticket.call`` (keyed by the controller), so the
   same call's ``record`` undoes or releases exactly that.
4. Randomness (the breaker's jitter) comes from the ``rng`` it was given.

A simulation or a test drives them directly, with a virtual clock and no sockets:
build a ``Ticket`` per attempt (one ``call`` dict shared by a call's attempts),
``admit(ticket, now)``, then ``record(ticket, verdict, now)`` with the
``Verdict`` of its outcome; ``tests/test_resilience.py`` does so throughout.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Literal

import httpx

from ._control import (
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
)
from ._exceptions import ConfigError
from ._fleet import BreakerView, Holders, Lease, SharedState
from ._ring import BUCKETS as _BUCKETS
from ._ring import Ring

__all__ = ["BreakerState", "CircuitBreaker", "RetryBudget"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: How much slower the reserve refills while the origin's last outcome was a failure.
_SLOW_REFILL: Final = 10.0

_BUDGET_REFUSAL: Final = Refuse(StopReason.RETRY_BUDGET)
# Enum members as module constants: ``Failure.LOCAL`` is an attribute lookup on the
# enum class (~100 ns each on CPython 3.11), a global is ~5 ns; the hot paths use many.
_FIRST: Final = AttemptKind.FIRST
_REPLAY: Final = AttemptKind.REPLAY
_REFUSED: Final = Step.REFUSED
_TRANSIENT: Final = Failure.TRANSIENT
_CALLER: Final = Failure.CALLER
_LOCAL: Final = Failure.LOCAL
_CIRCUIT_OPEN: Final = StopReason.CIRCUIT_OPEN

#: ``"closed"``, ``"open"`` or ``"half_open"``: what :meth:`CircuitBreaker.state` returns.
BreakerState = Literal["closed", "open", "half_open"]


def _origin(where: Origin | str | httpx.URL) -> Origin:
    """The origin of an ``Origin``, a URL string or an ``httpx.URL`` (port made explicit)."""
    if isinstance(where, Origin):
        return where
    url = where if isinstance(where, httpx.URL) else httpx.URL(where)
    if not url.scheme or not url.host:
        raise ValueError(f"{str(where)!r} is not an absolute URL (scheme://host[:port])")
    return Origin(url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 0))


def _number(owner: str, name: str, value: object, *, low: float, high: float | None) -> float:
    """``value`` as a float in ``[low, high]`` (``high=None``: no upper end), else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ConfigError(name, f"{owner}({name}=...) must be a number; got {value!r}")
    if value < low or (high is not None and value > high):
        where = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        raise ConfigError(name, f"{owner}({name}=...) must be {where}; got {value!r}")
    return float(value)


def _positive(owner: str, name: str, value: object) -> float:
    seconds = _number(owner, name, value, low=0.0, high=None)
    if seconds <= 0 or seconds == float("inf"):
        raise ConfigError(name, f"{owner}({name}=...) must be a positive number; got {value!r}")
    return seconds


def _count(owner: str, name: str, value: object, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(name, f"{owner}({name}=...) must be an int >= {low}; got {value!r}")
    return value


def _shared(owner: str, shared: object) -> SharedState | None:
    """``shared`` checked: None (local) or a fleet state such as ``axios_like.redis.RedisState``."""
    if shared is not None and not isinstance(shared, SharedState):
        raise TypeError(
            f"{owner}(shared=...) takes None or a fleet mode state such as "
            f"axios_like.redis.RedisState; got {shared!r}"
        )
    return shared


def _forward(shared: SharedState | None, method: str, owner: object) -> None:
    """Tell ``shared`` that ``owner`` holds it, or no longer does (if it cares: getattr)."""
    hook = getattr(shared, method, None)
    if hook is not None:
        hook(owner)


def _hand(shared: SharedState | None, method: str, items: Iterable[object]) -> None:
    """``release`` or ``renew`` each lease or view at ``shared`` (if it offers it: getattr)."""
    hook = getattr(shared, method, None)
    if hook is not None:
        for item in items:
            hook(item)


class _Held:
    """``attach`` / ``detach`` of a controller whose state fleet mode may share.

    Clients call them when they start and stop holding the controller (``_holding``),
    never on the request path; they are forwarded to ``shared``, whose sync thread
    runs while a client holds it. The first holder renews what the controller
    registered at ``shared`` (its leases or views) and the last one releases it, so
    a controller no client holds is not synced.
    """

    _shared: SharedState | None
    _lock: threading.Lock
    _holders: Holders

    def _registered(self) -> Sequence[object]:
        raise NotImplementedError

    def attach(self, owner: object) -> None:
        """``owner`` (a client) holds this controller from now on: clients call it when
        created and when their defaults start naming it."""
        if self._shared is not None:
            with self._lock:  # the first holder renews what the last one released
                if self._holders.add(owner):
                    _hand(self._shared, "renew", self._registered())
            _forward(self._shared, "attach", owner)

    def detach(self, owner: object) -> None:
        """``owner`` no longer holds this controller (it closed, or its defaults dropped
        it); the last holder's detach releases what it registered (no longer synced)."""
        if self._shared is not None:
            with self._lock:
                if self._holders.remove(owner):
                    _hand(self._shared, "release", self._registered())
            _forward(self._shared, "detach", owner)


# ---------------------------------------------------------------- the retry budget


class _Budget:
    """One origin's budget: first attempts (``ring.a``), retries (``ring.b``), the reserve."""

    __slots__ = ("healthy", "lease", "lone", "lone_retries", "refilled_at", "ring", "tokens")

    def __init__(self, now: float, width: float, tokens: float) -> None:
        self.ring = Ring(now, width)
        self.tokens = tokens
        self.refilled_at = now
        self.healthy = True
        #: The token of the one lone call that may borrow past the reserve, if any.
        self.lone: object | None = None
        #: Fleet mode: the retries the lone call made since it became lone.
        self.lone_retries = 0
        #: Fleet mode: this origin's lease of the fleet's retries (``None``: local).
        self.lease: Lease | None = None


class RetryBudget(_Held):
    """A retry budget per origin: retries may be ``ratio`` of first attempts, plus a reserve.

    On by default (every client gets a ``RetryBudget()`` of its own); give one
    object to several clients to share it, or ``retry_budget=None`` to turn it off.

    - Only retries (and hedged copies) spend; first attempts earn ``ratio`` of a
      retry each; replays (token refresh) are free. A first attempt is never refused.
    - Within the last ``window`` seconds (sliding in tenths), a retry is admitted
      while the retries made stay within ``ratio`` x the first attempts made.
    - Otherwise it may take a token from a reserve of ``min_retries``, which
      refills at ``min_retries`` per ``window`` while the origin's last outcome
      was a success, and ten times slower while it was a failure.
    - A *lone call*, one whose retry found the reserve full (an idle, healthy
      client), keeps all of its ``max_retries``: past the reserve it borrows
      from the refill to come (the reserve goes below zero, and is not full
      again, so no other call is lone, until it is paid back). At most one
      call borrows at a time: a newer lone call takes over.
    - A refused retry stops the call with ``RetryError(reason="retry_budget")``.

    So a quiet, healthy client is never starved (one failing call gets all of
    its ``max_retries``), and in an outage the retries of a window are held to about
    ``ratio`` x its first attempts + ``min_retries``: load grows by about
    ``1 + ratio``, not ``1 + max_retries``.

    Example::

        budget = axios_like.RetryBudget(ratio=0.1, window=10.0, min_retries=3)
        api = axios_like.create(base_url="https://api.example.com", retry_budget=budget)
        budget.available("https://api.example.com")   # 3: the full reserve
    """

    def __init__(
        self,
        ratio: float = 0.1,
        window: float = 10.0,
        min_retries: int = 3,
        *,
        shared: SharedState | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        owner = "RetryBudget"
        self._ratio = _number(owner, "ratio", ratio, low=0.0, high=1.0)
        self._window = _positive(owner, "window", window)
        self._reserve = float(_count(owner, "min_retries", min_retries, low=0))
        self._shared = _shared(owner, shared)
        if clock is not None and not callable(clock):
            raise TypeError(f"RetryBudget(clock=...) must be a callable; got {clock!r}")
        self._clock = clock
        self._width = self._window / _BUCKETS
        #: Reserve tokens per second while the origin is healthy.
        self._rate = self._reserve / self._window
        self._states: dict[Origin, _Budget] = {}
        self._lock = threading.Lock()
        #: The clients holding it (fleet mode: its leases are synced while one does).
        self._holders = Holders()

    @property
    def ratio(self) -> float:
        """Retries allowed per first attempt, within a window."""
        return self._ratio

    @property
    def window(self) -> float:
        """Seconds over which first attempts and retries are counted."""
        return self._window

    @property
    def min_retries(self) -> int:
        """The reserve: retries allowed per window beyond the ratio."""
        return int(self._reserve)

    def _registered(self) -> list[Lease]:
        """The leases fleet mode registered for this budget's origins."""
        return [state.lease for state in self._states.values() if state.lease is not None]

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ratio={self._ratio:g}, window={self._window:g}, "
            f"min_retries={int(self._reserve)})"
        )

    def _state(self, origin: Origin, now: float) -> _Budget:
        state = self._states.get(origin)
        if state is None:
            state = self._states[origin] = _Budget(now, self._width, self._reserve)
            if self._shared is not None:  # registers the lease: no I/O
                state.lease = self._shared.budget_lease(
                    origin, self._lock, self._ratio, self._window, self._reserve
                )
        return state

    def _refill(self, state: _Budget, now: float) -> None:
        elapsed = now - state.refilled_at
        if elapsed > 0:
            rate = self._rate if state.healthy else self._rate / _SLOW_REFILL
            state.tokens = min(self._reserve, state.tokens + elapsed * rate)
            state.refilled_at = now

    def admit(self, ticket: Ticket, now: float) -> Admission:
        """Count a first attempt; admit a retry or hedge from the ratio or the reserve."""
        kind = ticket.kind
        if kind is _REPLAY:
            return SEND
        if self._clock is not None:
            now = self._clock()
        index = int(now // self._width)
        with self._lock:
            state = self._states.get(ticket.origin)
            if state is None:
                state = self._state(ticket.origin, now)
            ring = state.ring
            if index > ring.head:
                ring.advance(index)
            lease = state.lease
            if kind is _FIRST:
                ring.a[ring.slot] += 1
                ring.a_sum += 1
                if lease is not None:
                    lease.firsts += 1
                return SEND
            if lease is not None and lease.live:
                return self._spend_lease(state, lease, ticket, now)
            return self._spend_local(state, lease, ticket, now)

    def _spend_lease(self, state: _Budget, lease: Lease, ticket: Ticket, now: float) -> Admission:
        """Fleet mode (under the lock): a retry spends the lease, else a lone call borrows."""
        ring = state.ring
        before = ticket.call.get(self)
        # The lone call (if this is it) stays lone whatever paid for its last retry.
        lone = before[3] if before is not None and before[3] is state.lone else None
        if lease.tokens >= 1.0:
            lease.tokens -= 1.0
            lease.retries += 1
            ring.b[ring.slot] += 1
            ring.b_sum += 1
            if lone is not None:
                state.lone_retries += 1
            ticket.call[self] = (ticket.attempt, ring.head, False, lone, lease, True)
            return SEND
        # The lease is spent. While the fleet is quiet (no sync within a window found
        # it failing beyond its ratio), the local reserve answers as in local mode,
        # lone call included, so a quiet client is not starved; while it is not,
        # only the lease. A lone call keeps borrowing while the fleet's newest
        # failures, less its own (its first attempt and each retry), are covered:
        # in a fleet meeting an outage, lone calls stop within a sync or two.
        self._refill(state, now)
        if lone is None:
            if not lease.quiet:
                return _BUDGET_REFUSAL
            if state.healthy and ring.b_sum + 1 <= self._ratio * ring.a_sum:
                # A quiet fleet, and here the origin's last outcome a success: this
                # process's own ratio pays, as in local mode (it counts every retry).
                lease.retries += 1
                ring.b[ring.slot] += 1
                ring.b_sum += 1
                ticket.call[self] = (ticket.attempt, ring.head, False, None, lease, False)
                return SEND
            if state.tokens < 1.0:
                return _BUDGET_REFUSAL
            if state.tokens >= self._reserve:  # the reserve was full: an idle client
                lone = state.lone = object()
                state.lone_retries = 0
        elif lease.spare + state.lone_retries + 1 < 0:
            return _BUDGET_REFUSAL
        state.tokens -= 1.0
        if lone is not None:
            state.lone_retries += 1
        lease.retries += 1
        ring.b[ring.slot] += 1
        ring.b_sum += 1
        ticket.call[self] = (ticket.attempt, ring.head, True, lone, lease, False)
        return SEND

    def _spend_local(
        self, state: _Budget, lease: Lease | None, ticket: Ticket, now: float
    ) -> Admission:
        """Local mode (under the lock): the ratio credit first, then the reserve."""
        ring = state.ring
        before = ticket.call.get(self)
        # The lone call (if this is it) stays lone whatever paid for its last retry.
        lone = before[3] if before is not None and before[3] is state.lone else None
        from_reserve = False
        if ring.b_sum + 1 > self._ratio * ring.a_sum:
            self._refill(state, now)
            if lone is None:  # the lone call keeps its retries (it borrows); others:
                if state.tokens < 1.0:
                    return _BUDGET_REFUSAL
                if state.tokens >= self._reserve:  # the reserve was full: an idle client
                    lone = state.lone = object()  # at most one call borrows at a time
            state.tokens -= 1.0
            from_reserve = True
        ring.b[ring.slot] += 1
        ring.b_sum += 1
        if lease is not None:
            lease.retries += 1  # reported to the fleet when it answers again
        ticket.call[self] = (ticket.attempt, ring.head, from_reserve, lone, lease, False)
        return SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        """Learn the origin's health; give back a retry that a later controller refused."""
        failure = verdict.failure
        if verdict.step is _REFUSED:
            charged = ticket.call.pop(self, None)
            if charged is not None and charged[0] == ticket.attempt:
                self._refund(ticket.origin, charged[1], charged[2], charged[4], charged[5])
            return
        if failure is _LOCAL:
            return
        healthy = failure is not _TRANSIENT
        known = self._states.get(ticket.origin)
        if known is not None and known.healthy is healthy:
            if not healthy and known.lease is not None:
                with self._lock:  # fleet mode: the fleet counts transient failures
                    known.lease.failures += 1
            return  # the hot path: no news (read without the lock; a race only settles twice)
        if self._clock is not None:
            now = self._clock()
        with self._lock:
            state = self._state(ticket.origin, now)
            if not healthy and state.lease is not None:
                state.lease.failures += 1
            if state.healthy is not healthy:
                self._refill(state, now)  # what was earned at the old rate
                state.healthy = healthy

    def _refund(
        self, origin: Origin, head: int, from_reserve: bool, lease: Lease | None, leased: bool
    ) -> None:
        with self._lock:
            if lease is not None:
                lease.retries -= 1
                if leased:
                    lease.tokens += 1.0
            state = self._states[origin]
            ring = state.ring
            if ring.head - head < _BUCKETS:  # the bucket charged is still in the window
                ring.b[head % _BUCKETS] -= 1
                ring.b_sum -= 1
            if from_reserve:
                state.tokens = min(self._reserve, state.tokens + 1.0)

    def available(self, origin: Origin | str | httpx.URL, now: float | None = None) -> int:
        """How many retries to ``origin`` would be admitted now (ratio credit + reserve).

        In fleet mode: the lease's tokens, plus, while the fleet is quiet, what this
        process's own budget would admit past them (its ratio credit beyond the lease's
        retries while the origin's last outcome was a success, and its reserve), as
        ``admit`` does.

        >>> RetryBudget().available("https://api.example.com")
        3
        """
        key = _origin(origin)
        if now is None:
            now = (self._clock or time.monotonic)()
        with self._lock:
            state = self._states.get(key)
            if state is None:
                return int(self._reserve)  # never seen: the full reserve (and no state made)
            lease = state.lease if state.lease is not None and state.lease.live else None
            leased = 0 if lease is None else max(0, int(lease.tokens))
            if lease is not None and not lease.quiet:
                return leased  # a noisy fleet: only the lease pays
            ring = state.ring
            index = int(now // self._width)
            if index > ring.head:
                ring.advance(index)
            self._refill(state, now)
            credit = max(0, int(self._ratio * ring.a_sum) - ring.b_sum)
            if lease is not None and not state.healthy:
                credit = 0  # in fleet mode the ratio pays only after a success
            # the lease's retries count in the ratio too: the ratio pays past them only
            return max(leased, credit) + max(0, int(state.tokens))


# ---------------------------------------------------------------- the circuit breaker


class _Breaker:
    """One origin's breaker: attempts (``ring.a``), transient failures (``ring.b``), the break."""

    __slots__ = ("base", "is_open", "probe", "probe_until", "ring", "until", "view")

    def __init__(self, now: float, width: float, base: float) -> None:
        self.ring = Ring(now, width)
        self.is_open = False
        #: When the break ends (half-open from then on).
        self.until = 0.0
        #: The current break length, before jitter: doubles on each failed probe.
        self.base = base
        #: The mark of the probe in flight (identity), ``None`` when there is none.
        self.probe: tuple[Origin, int] | None = None
        #: When a probe in flight is taken for lost (its call was cancelled).
        self.probe_until = 0.0
        #: Fleet mode: this origin's view of the fleet's breaker (``None``: local).
        self.view: BreakerView | None = None


def _breaker_numbers(
    failure_ratio: object,
    min_calls: object,
    window: object,
    break_for: object,
    max_break_for: object,
) -> tuple[float, int, float, float, float]:
    """``CircuitBreaker``'s numbers, checked: each error names the parameter."""
    owner = "CircuitBreaker"
    ratio = _number(owner, "failure_ratio", failure_ratio, low=0.0, high=1.0)
    if ratio == 0:
        raise ConfigError(
            "failure_ratio", f"{owner}(failure_ratio=...) must be above 0; got {failure_ratio!r}"
        )
    calls = _count(owner, "min_calls", min_calls, low=1)
    width = _positive(owner, "window", window)
    base = _positive(owner, "break_for", break_for)
    cap = _positive(owner, "max_break_for", max_break_for)
    if cap < base:
        raise ConfigError(
            "max_break_for",
            f"{owner}(max_break_for=...) must be >= break_for={break_for!r}; got {max_break_for!r}",
        )
    return ratio, calls, width, base, cap


class CircuitBreaker(_Held):
    """A circuit breaker per origin: stop sending to an origin that keeps failing.

    Opt-in (``circuit_breaker=``). Per origin, over the last ``window``
    seconds: once at least ``min_calls`` attempts ended and the share that
    failed transiently (network errors, ``retry_status`` statuses; never a 4xx
    the caller caused) reaches ``failure_ratio``, it opens for ``break_for``
    seconds. Calls then fail at once with ``CircuitOpenError`` (never retried),
    and a retry it refuses stops with ``RetryError(reason="circuit_open")``.

    After the break it is half-open: exactly one probe attempt at a time is let
    through. Its success (or any answer the caller caused, such as a 404: the
    server answered) closes the breaker; its failure opens it again for twice
    the previous break, with ±10% jitter, at most ``max_break_for``. A probe
    whose call was cancelled is taken for lost after ``probe_timeout`` seconds
    (default ``max(break_for, 30)``), and the next caller probes.

    It counts attempts, not time: the waits between retries do not count, and
    attempts that were not sent (refused, bad config) do not count either.

    Example::

        breaker = axios_like.CircuitBreaker(failure_ratio=0.5, min_calls=20, break_for=5.0)
        api = axios_like.create(base_url="https://api.example.com", circuit_breaker=breaker)
        breaker.state("https://api.example.com")      # 'closed'
    """

    def __init__(
        self,
        failure_ratio: float = 0.5,
        min_calls: int = 20,
        window: float = 10.0,
        break_for: float = 5.0,
        max_break_for: float = 60.0,
        *,
        rng: random.Random | None = None,
        shared: SharedState | None = None,
        clock: Callable[[], float] | None = None,
        probe_timeout: float | None = None,
    ) -> None:
        owner = "CircuitBreaker"
        self._ratio, self._min_calls, self._window, self._break_for, self._max_break_for = (
            _breaker_numbers(failure_ratio, min_calls, window, break_for, max_break_for)
        )
        self._probe_timeout = (
            max(self._break_for, 30.0)
            if probe_timeout is None
            else _positive(owner, "probe_timeout", probe_timeout)
        )
        self._shared = _shared(owner, shared)
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(f"CircuitBreaker(rng=...) must be a random.Random; got {rng!r}")
        if clock is not None and not callable(clock):
            raise TypeError(f"CircuitBreaker(clock=...) must be a callable; got {clock!r}")
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        self._width = self._window / _BUCKETS
        self._states: dict[Origin, _Breaker] = {}
        self._lock = threading.Lock()
        #: The clients holding it (fleet mode: its views are synced while one does).
        self._holders = Holders()

    def _registered(self) -> list[BreakerView]:
        """The views fleet mode registered for this breaker's origins."""
        return [state.view for state in self._states.values() if state.view is not None]

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(failure_ratio={self._ratio:g}, min_calls={self._min_calls}, "
            f"window={self._window:g}, break_for={self._break_for:g}, "
            f"max_break_for={self._max_break_for:g})"
        )

    def admit(self, ticket: Ticket, now: float) -> Admission:
        """Send while closed; refuse while open; let one probe out when half-open."""
        state = self._states.get(ticket.origin)
        if state is None or not state.is_open:  # the hot path: no lock
            return SEND
        if self._clock is not None:
            now = self._clock()
        return self._admit_open(state, ticket, now)

    def _admit_open(self, state: _Breaker, ticket: Ticket, now: float) -> Admission:
        """Open or half-open (as read without the lock): decide under the lock."""
        with self._lock:
            if not state.is_open:
                return SEND  # closed meanwhile by another thread's probe
            if now < state.until:
                return Refuse(_CIRCUIT_OPEN, state.until - now)
            if state.probe is not None and now < state.probe_until:
                # The probe's answer is due: a guess of break_for, not the lost-probe timeout.
                return Refuse(_CIRCUIT_OPEN, min(self._break_for, state.probe_until - now))
            view = state.view
            if view is not None and view.live:  # fleet mode: probe only with the fleet's probe
                if not view.probe_held:
                    view.wants_probe = True  # the sync asks for it (SET NX PX), off this path
                    return Refuse(_CIRCUIT_OPEN, self._shared.sync_interval if self._shared else 0)
                view.probing = True
            mark = (ticket.origin, ticket.attempt)  # a fresh tuple: its identity is the probe's
            state.probe = mark
            state.probe_until = now + self._probe_timeout
        ticket.call[self] = mark
        return SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        """Count the attempt's outcome, or settle the probe it was."""
        mark = ticket.call.get(self) if ticket.call else None
        if mark is not None:
            if mark[1] == ticket.attempt:  # the probe is this attempt, not a hedged sibling
                del ticket.call[self]
            else:
                mark = None
        failure = verdict.failure
        if mark is None and (failure is _LOCAL or failure is _CALLER):
            return  # never counts
        if self._clock is not None:
            now = self._clock()
        index = int(now // self._width)
        with self._lock:
            state = self._states.get(ticket.origin)
            if state is None:
                state = self._states[ticket.origin] = _Breaker(now, self._width, self._break_for)
                if self._shared is not None:  # registers the view: no I/O
                    state.view = self._shared.breaker_view(
                        ticket.origin, self._lock, self._apply_fleet, self._max_break_for
                    )
            if mark is not None and mark is state.probe:
                self._settle(state, verdict, now)
            elif state.is_open or failure is _LOCAL or failure is _CALLER:
                return  # an attempt sent before it opened, or one that never counts
            else:
                ring = state.ring
                if index > ring.head:
                    ring.advance(index)
                slot = ring.slot
                ring.a[slot] += 1
                ring.a_sum += 1
                if failure is _TRANSIENT:
                    ring.b[slot] += 1
                    ring.b_sum += 1
                    if ring.a_sum >= self._min_calls and ring.b_sum >= self._ratio * ring.a_sum:
                        state.is_open = True
                        state.base = self._break_for
                        state.until = now + self._break_for
                        state.probe = None
                        if state.view is not None:
                            state.view.publish("open", self._break_for)

    def _settle(self, state: _Breaker, verdict: Verdict, now: float) -> None:
        """The probe's outcome: close, open again for longer, or free the slot (held lock)."""
        state.probe = None
        failure = verdict.failure
        view = state.view
        if verdict.step is _REFUSED or failure is _LOCAL:
            if view is not None:
                view.probing = False  # the sync gives the fleet probe back unless wanted
            return  # never reached the server: the next caller probes
        if failure is _TRANSIENT:
            state.base = min(self._max_break_for, state.base * 2.0)
            jittered = state.base * self._rng.uniform(0.9, 1.1)
            state.until = now + min(self._max_break_for, jittered)
            if view is not None:
                view.publish("open", state.until - now)
            return
        if view is not None:
            view.publish("close", 0.0)
        state.is_open = False
        state.base = self._break_for
        state.ring.clear(int(now // self._width))

    def _apply_fleet(self, origin: Origin, open_for: float, tripped: bool, changes: int) -> None:
        """The sync's news of the fleet breaker: open for ``open_for`` s, half-open, or closed."""
        now = (self._clock or time.monotonic)()
        with self._lock:
            state = self._states.get(origin)
            if state is None or state.view is None or state.view.changes != changes:
                return  # opened or closed here since the sync started: the next sync publishes it
            if open_for > 0:
                state.is_open = True
                state.until = now + open_for
            elif tripped:  # half-open fleet-wide: the probe goes through the fleet's probe key
                if not state.is_open or state.until > now:
                    state.is_open = True
                    state.until = now
            elif state.is_open and state.probe is None:  # another process's probe closed it
                state.is_open = False
                state.base = self._break_for
                state.ring.clear(int(now // self._width))

    def state(self, origin: Origin | str | httpx.URL, now: float | None = None) -> BreakerState:
        """``"closed"``, ``"open"`` or ``"half_open"`` for ``origin`` (an ``Origin`` or a URL).

        >>> CircuitBreaker().state("https://api.example.com")
        'closed'
        """
        state = self._states.get(_origin(origin))
        if state is None or not state.is_open:
            return "closed"
        if now is None:
            now = (self._clock or time.monotonic)()
        return "open" if now < state.until else "half_open"

    def retry_after(self, origin: Origin | str | httpx.URL, now: float | None = None) -> float:
        """Seconds until ``origin`` lets a probe through: 0 when closed or half-open.

        >>> CircuitBreaker().retry_after("https://api.example.com")
        0.0
        """
        state = self._states.get(_origin(origin))
        if state is None or not state.is_open:
            return 0.0
        if now is None:
            now = (self._clock or time.monotonic)()
        return max(0.0, state.until - now)
