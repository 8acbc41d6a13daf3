"""The seam between a budget or breaker and a state shared by many processes (fleet mode).

``RetryBudget(shared=...)`` and ``CircuitBreaker(shared=...)`` take any object
with the two methods of :class:`SharedState` (``axios_like.redis.RedisState``
is the one shipped). They return small *local* objects that the request path
reads and updates in O(1) with no I/O; the shared state syncs them in the
background (a lease of retries, a view of the fleet's breaker).

Rules:

1. The request path only touches :class:`Lease` and :class:`BreakerView`
   fields, under the owning budget's or breaker's lock (``lease.lock``). It
   never calls the shared state after the first ``budget_lease`` or
   ``breaker_view`` of an origin (which only registers it, no I/O).
2. ``live`` is False until the first successful sync and whenever the shared
   state is unreachable: the budget and breaker then answer locally, as if
   ``shared`` were None (the fallback).
3. A shared state may also offer ``attach(owner)`` / ``detach(owner)`` (looked
   up with ``getattr``, so it need not): the budget and breaker forward theirs
   to it, which clients call when they are created and when they close
   (``axios_like._holding``). ``RedisState`` runs its sync thread while a holder
   is attached. Never on the request path.
4. A shared state may also offer ``release(item)`` / ``renew(item)`` (getattr
   too), called under the caller's lock with a lease or view it returned: the
   budget or breaker releases them when no client holds it any more (its last
   ``detach``) and renews them when a client holds it again (its next
   ``attach``). A released item is not synced (``live`` is False: local) and
   keeps its counts for the renewal. A shared state must hold leases and views
   weakly: a budget or breaker that is garbage-collected leaves no registration.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ._control import Origin

__all__ = ["BreakerView", "Holders", "Lease", "SharedState"]


class Lease:
    """One budget's lease of fleet retries for one origin, synced in the background.

    The request path adds to ``firsts``, ``retries`` and ``failures`` and
    spends ``tokens`` (when ``live``); the sync reports and resets the counts,
    replaces ``tokens`` with the next grant and sets ``spare`` and ``quiet``,
    all under ``lock``.
    ``retries`` counts the retries made in fallback (local) mode too, so the
    fleet learns of them.
    """

    __slots__ = (
        "__weakref__",
        "failures",
        "firsts",
        "live",
        "lock",
        "origin",
        "quiet",
        "ratio",
        "reserve",
        "retries",
        "spare",
        "tokens",
        "window",
    )

    def __init__(
        self, origin: Origin, lock: threading.Lock, ratio: float, window: float, reserve: float
    ) -> None:
        self.origin = origin
        self.lock = lock
        self.ratio = ratio
        self.window = window
        self.reserve = reserve
        #: True while the fleet answers: retries are spent from ``tokens`` only.
        self.live = False
        self.tokens = 0.0
        #: What the fleet's ratio and reserve cover of its newest transient failures at
        #: the last sync (``ratio`` x first attempts + ``reserve`` - failures, over the
        #: newest 2 tenths of the window): below 0, it fails beyond what the ratio covers.
        self.spare = float("inf")
        #: The fleet is quiet: no sync within the last ``window`` found it failing
        #: beyond the ratio (``spare`` < 0) or its allowance short of ``reserve``.
        #: Only then may a call become lone (borrow from the local reserve).
        self.quiet = True
        #: Counts since the last sync (reported, then reset, by the sync).
        self.firsts = 0
        self.retries = 0
        self.failures = 0


#: What a breaker view's ``apply`` is called with by the sync: seconds the fleet
#: breaker stays open (0: not open), whether it is tripped (open or half-open),
#: and the view's ``changes`` seen when the sync started.
ApplyFleet = Callable[[Origin, float, bool, int], None]


class BreakerView:
    """One breaker's view of the fleet's breaker for one origin.

    The breaker writes ``pending`` (open for N seconds, or close) and
    ``wants_probe`` / ``probing``; the sync publishes them, reads the fleet's
    state back, sets ``probe_held`` and calls ``apply`` (the breaker's own
    method, which takes its lock). Fields are read and written under ``lock``
    (the breaker's).
    """

    __slots__ = (
        "__weakref__",
        "apply",
        "break_cap",
        "changes",
        "live",
        "lock",
        "origin",
        "pending",
        "probe_held",
        "probing",
        "wants_probe",
    )

    def __init__(
        self, origin: Origin, lock: threading.Lock, apply: ApplyFleet, break_cap: float
    ) -> None:
        self.origin = origin
        self.lock = lock
        self.apply = apply
        #: The longest break the breaker can ask for (keys expire after it).
        self.break_cap = break_cap
        self.live = False
        #: ``None``, ``("open", seconds)`` or ``("close", 0.0)``: to publish at the next sync.
        self.pending: tuple[str, float] | None = None
        #: Bumped by every local open or close, so a sync that raced one does not undo it.
        self.changes = 0
        #: A local call waits for a fleet probe; the sync asks for one (SET NX PX).
        self.wants_probe = False
        #: A local probe is in flight: the sync keeps the fleet probe alive.
        self.probing = False
        #: This process holds the fleet's one half-open probe.
        self.probe_held = False

    def publish(self, op: str, seconds: float) -> None:
        """Ask the sync to publish an open (for ``seconds``) or a close (call under the lock)."""
        self.pending = (op, seconds)
        self.changes += 1
        self.wants_probe = self.probing = self.probe_held = False


class Holders:
    """Who holds an object (clients, by identity), counted: first attach, last detach.

    A detach without a matching attach (a second close) does nothing. Not thread-safe:
    call it under the owner's lock.
    """

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}

    def __bool__(self) -> bool:
        return bool(self._counts)

    def add(self, owner: object) -> bool:
        """Count one attach by ``owner``; True if nobody held it before."""
        first = not self._counts
        key = id(owner)
        self._counts[key] = self._counts.get(key, 0) + 1
        return first

    def remove(self, owner: object) -> bool:
        """Count one detach by ``owner``; True if that was the last holder."""
        key = id(owner)
        held = self._counts.get(key, 0)
        if held == 0:
            return False
        if held > 1:
            self._counts[key] = held - 1
            return False
        del self._counts[key]
        return not self._counts


@runtime_checkable
class SharedState(Protocol):
    """What ``shared=`` must offer: a lease per (budget, origin), a view per (breaker, origin).

    Both are called once per origin, under the caller's lock: they must only
    register the object (and may start a background thread), never do I/O.
    """

    @property
    def sync_interval(self) -> float: ...

    def budget_lease(
        self, origin: Origin, lock: threading.Lock, ratio: float, window: float, reserve: float
    ) -> Lease: ...

    def breaker_view(
        self, origin: Origin, lock: threading.Lock, apply: ApplyFleet, break_cap: float
    ) -> BreakerView: ...
