"""Hedged requests (``hedge=Hedge(...)``, ``AsyncClient`` only): the shared, pure part.

"The Tail at Scale" (Dean and Barroso, 2013): when an idempotent request has not
answered within a high percentile of the usual latency, send a second copy; take
whichever answers first. A few percent more requests cut the tail a lot.

:class:`Hedge` is an attempt controller (``_control``), so hedges go through the
same seam as every attempt: the shell sends an ``AttemptKind.HEDGE`` ticket
through ``admit_all`` (retry budget, breaker, rate gates, this object), and a
refused hedge is simply not sent. What a ``Hedge`` keeps per origin:

- the latencies of recent answers (a :class:`LatencyTracker`), whose percentile
  is the default hedge delay (:meth:`Hedge.delay_for`);
- first attempts and hedges over a sliding window, so hedges stay within
  ``max_extra_load`` x first attempts (its ``admit`` refuses the rest).

Rules of this module:

1. No clock and no I/O: time is the ``now`` the shell hands to ``admit`` and
   ``record``; latencies are the ``Verdict.duration`` the shell measured.
2. O(1) per ``admit`` and ``record`` (amortised: the percentile is recomputed,
   a sort of at most ``samples`` floats, at most once per ``samples // 20``
   answers), under one ``threading.Lock`` per object, never held across an await.
3. Per-call facts (which hedge was charged) live in ``ticket.call``.
4. What to hedge, and when, is decided in the core (``_retry.may_hedge`` and
   ``_retry.hedge_round``); the async shell only races the copies.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Final

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
from ._ring import BUCKETS as _BUCKETS
from ._ring import Ring

__all__ = ["MIN_SAMPLES", "Hedge", "LatencyTracker", "percentile"]

#: Answers from an origin needed before its percentile is trusted: until then a
#: ``Hedge`` without a fixed ``delay`` does not hedge at all.
MIN_SAMPLES: Final = 50
_HEDGE: Final = AttemptKind.HEDGE
_FIRST: Final = AttemptKind.FIRST
_REFUSED: Final = Step.REFUSED
_LOST: Final = Step.LOST
_REFUSAL: Final = Refuse(StopReason.MAX_EXTRA_LOAD)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of ``values`` (not empty), 0 < q <= 100.

    >>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50)
    3.0
    >>> percentile([1.0, 2.0, 3.0, 4.0], 95)
    4.0
    """
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


class LatencyTracker:
    """The ``q``-th percentile of the last ``size`` latencies recorded (pure, not locked).

    A ring of ``size`` floats; the percentile is recomputed lazily, when asked and
    at least ``refresh`` values arrived since the last computation (so a record
    costs O(1) and the sort is amortised over ``refresh`` records).

    >>> t = LatencyTracker(size=4, q=50, refresh=1)
    >>> for x in (0.1, 0.2, 0.3, 0.4, 0.5):
    ...     t.add(x)
    >>> t.count, t.value()
    (4, 0.3)
    """

    __slots__ = ("_cached", "_next", "_stale", "_values", "count", "q", "refresh", "size")

    def __init__(self, size: int, q: float, refresh: int = 1) -> None:
        self.size = size
        self.q = q
        self.refresh = max(1, refresh)
        self._values: list[float] = []
        self._next = 0
        #: Values recorded so far, at most ``size`` (those the percentile is taken over).
        self.count = 0
        self._cached: float | None = None
        self._stale = 0

    def add(self, seconds: float) -> None:
        """Record one latency, dropping the oldest once ``size`` are held."""
        if len(self._values) < self.size:
            self._values.append(seconds)
            self.count += 1
        else:
            self._values[self._next] = seconds
            self._next = (self._next + 1) % self.size
        self._stale += 1

    def value(self) -> float | None:
        """The percentile of the values held (``None`` when there are none)."""
        if not self._values:
            return None
        if self._cached is None or self._stale >= self.refresh:
            self._cached = percentile(self._values, self.q)
            self._stale = 0
        return self._cached


class _OriginState:
    __slots__ = ("tracker", "window")

    def __init__(self, tracker: LatencyTracker, window: Ring) -> None:
        self.tracker = tracker
        self.window = window


def _check(name: str, ok: bool, need: str, value: object) -> None:
    if not ok:
        raise ConfigError(name, f"Hedge({name}=...) must be {need}; got {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


class Hedge:
    """Hedged requests: send a second copy of a slow idempotent request (``AsyncClient``).

    When an attempt of an idempotent request (GET HEAD OPTIONS PUT DELETE TRACE,
    or one with an ``Idempotency-Key``) has not answered within ``delay``, a copy
    is sent (at most ``max_hedges`` copies per attempt, each ``delay`` after the
    last); the first good answer wins and the others are cancelled, their
    connections closed. ``delay=None`` (the default) adapts: the ``percentile``-th
    percentile (95) of the latencies of the last ``samples`` (200) answers from that
    origin; until ``min_samples`` (50) answers were seen, nothing is hedged.

    Hedges count against the retry budget (they are admitted like retries) and
    against ``max_extra_load``: per origin, over the last ``window`` seconds, hedges
    stay within ``max_extra_load`` x first attempts. A hedge that would pass either
    is not sent; the attempt goes on alone. The ``deadline`` covers every copy.

    Not hedged: other methods, a body that cannot be replayed (a stream, a file),
    ``stream()`` calls (the body is handed over unread, so there is no "first good
    answer" to pick before the caller reads), and a call once it was replayed
    (``Replay``). The sync ``Client`` cannot hedge (``ConfigError``).

    Share one object between clients to share what it learns of each origin.

    Example::

        api = axios_like.create_async(base_url="https://api.example.com",
                                      hedge=axios_like.Hedge(max_extra_load=0.05))
        r = await api.get("/search", params={"q": "tail"})
        [h.reason for h in r.history]        # ['ok'], or ['lost to hedge', 'ok']
    """

    def __init__(
        self,
        delay: float | None = None,
        max_hedges: int = 1,
        max_extra_load: float = 0.05,
        *,
        percentile: float = 95.0,
        min_samples: int = MIN_SAMPLES,
        samples: int = 200,
        window: float = 10.0,
    ) -> None:
        _check(
            "delay",
            delay is None or (_is_number(delay) and 0 <= delay < math.inf),
            "None (adaptive) or a number of seconds >= 0",
            delay,
        )
        _check(
            "max_hedges",
            isinstance(max_hedges, int) and not isinstance(max_hedges, bool) and max_hedges >= 1,
            "an int >= 1",
            max_hedges,
        )
        _check(
            "max_extra_load",
            _is_number(max_extra_load) and 0 < max_extra_load <= 1,
            "a fraction in (0, 1] (0.05: hedges add at most 5% to the first attempts)",
            max_extra_load,
        )
        _check(
            "percentile",
            _is_number(percentile) and 0 < percentile <= 100,
            "a percentile in (0, 100]",
            percentile,
        )
        _check(
            "samples",
            isinstance(samples, int) and not isinstance(samples, bool) and samples >= 1,
            "an int >= 1",
            samples,
        )
        _check(
            "min_samples",
            isinstance(min_samples, int)
            and not isinstance(min_samples, bool)
            and 1 <= min_samples <= samples,
            f"an int in [1, samples={samples!r}]",
            min_samples,
        )
        _check(
            "window",
            _is_number(window) and 0 < window < math.inf,
            "a positive number of seconds",
            window,
        )
        self.delay = None if delay is None else float(delay)
        self.max_hedges = max_hedges
        self.max_extra_load = float(max_extra_load)
        self.percentile = float(percentile)
        self.min_samples = min_samples
        self.samples = samples
        self.window = float(window)
        self._width = self.window / _BUCKETS
        self._refresh = max(1, samples // 20)
        self._states: dict[Origin, _OriginState] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Hedge(delay={self.delay!r}, max_hedges={self.max_hedges}, "
            f"max_extra_load={self.max_extra_load:g})"
        )

    def _state(self, origin: Origin, now: float) -> _OriginState:
        state = self._states.get(origin)
        if state is None:
            tracker = LatencyTracker(self.samples, self.percentile, self._refresh)
            state = self._states[origin] = _OriginState(tracker, Ring(now, self._width))
        return state

    # ---------------------------------------------------------- what the shell asks

    def delay_for(self, origin: Origin) -> float | None:
        """Seconds to wait before hedging an attempt to ``origin``; ``None``: do not hedge.

        The fixed ``delay`` when one was given, else the percentile of the origin's
        recent latencies once ``min_samples`` answers were seen.
        """
        if self.delay is not None:
            return self.delay
        state = self._states.get(origin)
        if state is None:
            return None
        with self._lock:
            tracker = state.tracker
            return tracker.value() if tracker.count >= self.min_samples else None

    def latency(self, origin: Origin) -> tuple[int, float | None]:
        """``(answers held, their percentile)`` for ``origin``: what ``delay_for`` reads."""
        state = self._states.get(origin)
        if state is None:
            return 0, None
        with self._lock:
            return state.tracker.count, state.tracker.value()

    def load(self, origin: Origin) -> tuple[int, int]:
        """``(first attempts, hedges)`` to ``origin`` in the current window."""
        state = self._states.get(origin)
        if state is None:
            return 0, 0
        with self._lock:
            window = state.window
            return window.a_sum, window.b_sum

    # ---------------------------------------------------------- the controller seam

    def admit(self, ticket: Ticket, now: float) -> Admission:
        """Count a first attempt; admit a hedge only within ``max_extra_load``."""
        kind = ticket.kind
        if kind is not _FIRST and kind is not _HEDGE:
            return SEND
        index = int(now // self._width)
        with self._lock:
            window = self._state(ticket.origin, now).window
            if index > window.head:  # a clock behind ``head`` counts in the newest bucket
                window.advance(index)
            slot = window.slot
            if kind is _FIRST:  # ring.a: first attempts, ring.b: hedges
                window.a[slot] += 1
                window.a_sum += 1
            elif window.b_sum + 1 > self.max_extra_load * window.a_sum:
                return _REFUSAL
            else:
                window.b[slot] += 1
                window.b_sum += 1
        ticket.call[(self, ticket.attempt)] = (kind, window.head)
        return SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        """Learn the latency of an answer; give back a count whose attempt was not sent."""
        charged = ticket.call.pop((self, ticket.attempt), None) if ticket.call else None
        step = verdict.step
        if step is _REFUSED:
            if charged is not None:
                self._uncount(ticket.origin, *charged)
            return
        if verdict.status is not None and verdict.failure is not Failure.TRANSIENT:
            with self._lock:  # an answer (a 404 too): its latency
                self._state(ticket.origin, now).tracker.add(verdict.duration)
        elif step is _LOST and verdict.status is None and verdict.error is None:
            if ticket.kind is _HEDGE:
                return  # a hedge cut short by an earlier copy's answer: it says nothing
            # An attempt cancelled because its hedge answered first would have taken
            # longer than the hedge delay: it counts as taking the delay (a lower bound,
            # and what was believed to be the percentile), so hedging neither hides the
            # slow answers from the percentile nor, recording the elapsed time instead,
            # drags it up a hedge's latency each round.
            with self._lock:
                tracker = self._state(ticket.origin, now).tracker
                current = tracker.value()
                duration = verdict.duration
                tracker.add(duration if current is None or current > duration else current)

    def _uncount(self, origin: Origin, kind: AttemptKind, head: int) -> None:
        with self._lock:
            window = self._states[origin].window
            if window.head - head >= _BUCKETS:
                return  # the bucket charged has left the window
            slot = head % _BUCKETS
            if kind is _FIRST:
                window.a[slot] -= 1
                window.a_sum -= 1
            else:
                window.b[slot] -= 1
                window.b_sum -= 1
