"""Fleet mode in the simulation: ``RedisState`` with its Lua script played in Python.

Each simulated process gets a :class:`SimRedisState`: the library's real
``axios_like.redis.RedisState`` (its ``sync()`` builds the keys and arguments,
reads the reply and fills the real ``Lease`` objects, exactly as in
production), with two things swapped:

- no thread: the simulator calls ``sync()`` itself, once per ``sync_interval``
  (1 s) per process, at a phase of its own (drawn once, uniform), so the
  10,000 processes of the small shape sync 10,000 times a virtual second.
  The syncs are *batched*: processes are grouped by phase into 100 slots of
  10 ms, and one simulator event syncs a slot's processes one after the other
  (so a sync happens up to 10 ms from its process's exact phase);
- no Redis: ``_script`` is :class:`FleetStore` (one per simulation run, the
  fleet's Redis), whose ``__call__`` does what the Lua script ``_SCRIPT`` of
  ``axios_like/redis.py`` does with the same KEYS, ARGV and reply, on dicts,
  at the virtual clock (Redis ``TIME`` in ms). The budget arithmetic is the
  script's line for line (the window buckets, ``allowed = ratio * F +
  reserve - R``, the grant ``allowed / n`` floored to 1 while the allowance
  lasts, capped by what the other live leases leave, rounded down to 3
  decimals; the allowance itself, and the *quiet* bit: no sync found the
  allowance below ``reserve`` within the last window, kept as the ``noisy``
  field of the counts hash). One change of
  algorithm, not of result: the script sums the other members' leases with
  ``HGETALL`` (O(members): 10,000 here, 10^8 operations a virtual second),
  so the store keeps that sum up to date as leases change, and drops expired
  members (``ZREMRANGEBYSCORE``) once per virtual second rather than on
  every call. Breakers are not modelled (the fleet row has no breaker).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from axios_like import RetryBudget
from axios_like.redis import RedisState


class _Budget:
    """One origin's budget keys: ``counts`` (hash), ``leases`` (hash), ``live`` (zset),
    ``seen`` (hash: each member's last report applied, ``seq`` and its three totals)."""

    __slots__ = ("counts", "held", "leases", "live", "seen", "swept")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.leases: dict[str, float] = {}
        self.live: dict[str, int] = {}
        self.seen: dict[str, tuple[int, int, int, int]] = {}
        #: The sum of ``leases`` (kept up to date instead of HGETALL on each call).
        self.held = 0.0
        self.swept = -1


class FleetStore:
    """The fleet's Redis for one run: the Lua script of ``axios_like.redis``, in Python."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.budgets: dict[str, _Budget] = {}
        self.calls = 0

    def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> list[Any]:
        self.calls += 1
        now = math.floor(self.clock() * 1000)  # TIME, in ms
        lease_ttl = int(args[1])
        nb, nk, seq = int(args[3]), int(args[4]), int(args[5])
        if nk:
            raise NotImplementedError("the simulated fleet store models budgets only")
        out: list[Any] = []
        a, k = 6, 0
        for _ in range(nb):
            member = str(args[a])
            tf, tr, tx = int(args[a + 1]), int(args[a + 2]), int(args[a + 3])
            ratio, window, reserve = float(args[a + 4]), int(args[a + 5]), float(args[a + 6])
            f, r, x = tf - int(args[a + 7]), tr - int(args[a + 8]), tx - int(args[a + 9])
            a += 10
            key = keys[k]
            k += 4
            budget = self.budgets.get(key)
            if budget is None:
                budget = self.budgets[key] = _Budget()
            last = budget.seen.get(member)  # a report applied once (numbered, cumulative)
            if last is not None and last[0] >= seq:
                f = r = x = 0
            else:
                if last is not None:
                    f, r, x = tf - last[1], tr - last[2], tx - last[3]
                budget.seen[member] = (seq, tf, tr, tx)
            head = math.floor(now / (window / 10))
            counts = budget.counts
            tag = str(head)
            for kind, v in (("f", f), ("r", r), ("x", x)):
                if v != 0:
                    counts[kind + tag] = counts.get(kind + tag, 0) + v
            big_f = big_r = recent_f = recent_r = recent_x = 0
            noisy = None
            for name in list(counts):
                if name == "noisy":
                    noisy = counts[name]
                    continue
                b = int(name[1:])
                if b <= head - 10:
                    del counts[name]
                    continue
                v = counts[name]
                recent = b >= head - 1
                if name[0] == "f":
                    big_f += v
                    if recent:
                        recent_f += v
                elif name[0] == "r":
                    big_r += v
                    if recent:
                        recent_r += v
                elif recent:
                    recent_x += v
            live = budget.live
            live[member] = now + lease_ttl  # ZADD
            if now // 1000 != budget.swept:  # ZREMRANGEBYSCORE -inf now (once a second)
                budget.swept = now // 1000
                for gone in [m for m, until in live.items() if until <= now]:
                    del live[gone]
                for gone in [m for m in budget.leases if m not in live]:
                    budget.held -= budget.leases.pop(gone)  # HDEL of a dead member's lease
                    budget.seen.pop(gone, None)
            n = len(live)
            own = budget.leases.get(member, 0.0)
            others = budget.held - own
            allowed = ratio * big_f + reserve - big_r
            paced = (ratio * big_f + reserve) * 0.2 - recent_r
            if allowed < paced:
                paced = allowed
            grant = paced / n
            if grant < 1:
                grant = 1.0
            if grant > paced - others:
                grant = paced - others
            if grant < 0:
                grant = 0.0
            grant = math.floor(grant * 1000) / 1000
            budget.leases[member] = grant  # HSET
            budget.held += grant - own
            spare = ratio * recent_f + reserve - recent_x
            if spare < 0 or allowed < reserve:
                counts["noisy"] = noisy = now
            out.append(f"{grant:.3f}")
            out.append(f"{spare:.3f}")
            out.append(0 if noisy is not None and now - noisy < window else 1)
        return out


class SimRedisState(RedisState):
    """``RedisState`` with no thread and no socket: ``sync()`` runs the store's script."""

    def __init__(self, store: FleetStore, sync_interval: float = 1.0) -> None:
        # The URL is parsed, never connected to: every script call goes to the store.
        super().__init__("redis://127.0.0.1:1/0", namespace="sim", sync_interval=sync_interval)
        self._script = store

    def _start(self) -> None:
        """No background thread: the simulator calls ``sync()`` on its schedule."""


#: Seconds between two syncs of a process (``RedisState``'s default).
SYNC_INTERVAL = 1.0
#: Sync slots per sync interval (each slot is one simulator event).
SLOTS = 100


class FleetSync:
    """One run's fleet: the store and every process's state, synced slot by slot."""

    def __init__(self, clock: Callable[[], float], rng: random.Random) -> None:
        self.store = FleetStore(clock)
        self.rng = rng
        self.slots: list[list[SimRedisState]] = [[] for _ in range(SLOTS)]

    def state(self) -> SimRedisState:
        """A new process's shared state, at a phase of its own."""
        state = SimRedisState(self.store, SYNC_INTERVAL)
        self.slots[int(self.rng.random() * SLOTS)].append(state)
        return state

    def budget(self) -> RetryBudget:
        """A new process's default budget in fleet mode."""
        return RetryBudget(shared=self.state())

    def tick(self, slot: int) -> None:
        for state in self.slots[slot]:
            state.sync()
