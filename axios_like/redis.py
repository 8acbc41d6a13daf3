"""Fleet mode: one retry budget and one circuit breaker for many processes, through Redis.

Install the extra: ``pip install "axios_like[redis]"`` (redis-py). Then::

    from axios_like.redis import RedisState
    shared = RedisState("redis://localhost:6379/0", namespace="billing")
    api = axios_like.create(retry_budget=axios_like.RetryBudget(ratio=0.1, shared=shared),
                            circuit_breaker=axios_like.CircuitBreaker(shared=shared))

Redis is never on the request path. Each budget holds a *lease* of the
fleet's retries per origin, and each breaker a *view* of the fleet's breaker
(``axios_like._fleet``): the request path reads and updates them in O(1).
One daemon thread per ``RedisState`` (serving sync and async clients alike)
syncs them once per ``sync_interval`` with ONE server-side Lua script call
(EVALSHA), using the Redis server's clock (``TIME``), never the clients':

- it reports the first attempts, retries and transient failures
  (cumulative, numbered: a report that timed out here but that Redis ran
  later is not counted twice), and gets a new lease back: the fleet's
  allowance over the window (``ratio`` x the fleet's first attempts +
  ``min_retries`` - the fleet's retries), paced (the retries of the newest 2
  tenths of the window stay within 2 tenths of it), split among the live
  leases (at least 1 each while it lasts), never more than what the other
  live leases leave; the unused part of the old lease goes back (the new
  lease replaces it). With it come the *spare* (``ratio`` x the newest first
  attempts + ``min_retries`` - the newest failures) and whether the fleet is
  *quiet*: no sync within a ``window`` found the spare below 0 or the
  allowance below ``min_retries`` (the script keeps the last time one did,
  ``noisy``). While the fleet is quiet, an empty lease lets the process's own
  budget answer (its ratio, its reserve, a lone call); while it is not, only
  the lease pays, and a lone call keeps borrowing only while the spare plus
  its own failures stays at or above 0;
- it publishes a breaker that opened here (``SET open PX break``), reads the
  fleet's breaker back, and, when a local call waits for a half-open probe,
  takes the fleet's one probe (``SET probe NX PX``), kept alive while the
  probe is in flight; a dead process's probe expires after 3 sync intervals.

The thread runs while a client holds the state: clients ``attach`` the
budgets and breakers they hold when created and ``detach`` them when they
close (``axios_like._holding``); the last ``detach`` tells the thread to
stop and returns at once (the thread ends after its sync in flight, closing
its own connection), and the next client starts a new one (which waits for
the old thread's last sync: one sync at a time). A budget or breaker whose
last client closed releases its leases or views (no longer in the script
call) and renews them when a client holds it again; the state holds them
weakly, so one that is garbage-collected leaves no registration either.

Every key is hash-tagged ``{namespace}`` (one namespace is one Redis Cluster
slot) and expires. If Redis is down, slow or partitioned, the sync times out
after ``timeout`` (0.2 s) in the background, the budgets and breakers fall
back to their local state (one WARNING on the ``axios_like`` logger), and
they rejoin the fleet when Redis answers again (one INFO).
"""

from __future__ import annotations

import inspect
import itertools
import logging
import threading
import time
import uuid
import weakref
from types import TracebackType
from typing import Any, Final, Self

try:
    import redis as _redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError('axios_like.redis needs redis-py: pip install "axios_like[redis]"') from exc

from ._control import Origin
from ._fleet import ApplyFleet, BreakerView, Holders, Lease

__all__ = ["RedisState"]

logger = logging.getLogger("axios_like")

#: A lease (and a process's membership of a budget) lives this many sync intervals.
_LEASE_LIFE: Final = 3.0
#: The fleet probe lives this many sync intervals unless its owner renews it.
_PROBE_LIFE: Final = 3.0

# One call per sync: every budget's report and lease, every breaker's publish and read.
# KEYS: 4 per budget (window counts, leases, live members, reports seen), then 3 per
# breaker (open, tripped, probe). ARGV: owner, lease ttl ms, probe ttl ms, #budgets,
# #breakers, the sync's sequence number, then 10 per budget (member, firsts, retries,
# failures, ratio, window ms, reserve, firsts acked, retries acked, failures acked) and
# 4 per breaker (op 0/1 open/2 close, open ms, wants probe 0/1, tripped ttl ms).
# Reply: 3 per budget (the grant, the spare, quiet 0/1), then 3 per breaker
# (open ms left, tripped 0/1, probe taken 0/1).
#
# A budget's firsts, retries and failures are cumulative (all ever taken from its lease), with
# the part the last sync that answered applied (acked). A call that timed out here may
# still run in Redis later (paused, not dead: its EVALSHA waits in the socket), and the
# next sync reports the same counts again: so each member's last applied report
# ("seq firsts retries failures") is kept in the reports-seen hash, and a report counts only what
# it adds to that one (an older or repeated report adds nothing). Without a report seen
# (the first, or Redis restarted empty) it counts what is not acked.
_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local owner = ARGV[1]
local lease_ttl = tonumber(ARGV[2])
local probe_ttl = tonumber(ARGV[3])
local nb = tonumber(ARGV[4])
local nk = tonumber(ARGV[5])
local seq = tonumber(ARGV[6])
local out = {}
local a = 7
local k = 1
for i = 1, nb do
  local member = ARGV[a]
  local tf = tonumber(ARGV[a + 1])
  local tr = tonumber(ARGV[a + 2])
  local tx = tonumber(ARGV[a + 3])
  local ratio = tonumber(ARGV[a + 4])
  local window = tonumber(ARGV[a + 5])
  local reserve = tonumber(ARGV[a + 6])
  local f = tf - tonumber(ARGV[a + 7])
  local r = tr - tonumber(ARGV[a + 8])
  local x = tx - tonumber(ARGV[a + 9])
  a = a + 10
  local win, leases, live, seen = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  k = k + 4
  local last = redis.call('HGET', seen, member)
  local s, lf, lr, lx
  if last then
    s, lf, lr, lx = string.match(last, '^(%d+) (%-?%d+) (%-?%d+) (%-?%d+)$')
  end
  if s and tonumber(s) >= seq then
    f, r, x = 0, 0, 0
  else
    if s then f, r, x = tf - tonumber(lf), tr - tonumber(lr), tx - tonumber(lx) end
    redis.call('HSET', seen, member, string.format('%d %d %d %d', seq, tf, tr, tx))
  end
  local head = math.floor(now / (window / 10))
  local tag = string.format('%d', head)
  if f ~= 0 then redis.call('HINCRBY', win, 'f' .. tag, f) end
  if r ~= 0 then redis.call('HINCRBY', win, 'r' .. tag, r) end
  if x ~= 0 then redis.call('HINCRBY', win, 'x' .. tag, x) end
  -- F, R: first attempts and retries in the window; FN, RN, XN: first attempts,
  -- retries and transient failures in the newest 2 buckets (the last 1-2 tenths)
  local F, R, FN, RN, XN, noisy = 0, 0, 0, 0, 0, nil
  local fields = redis.call('HGETALL', win)
  for j = 1, #fields, 2 do
    local name = fields[j]
    if name == 'noisy' then
      noisy = tonumber(fields[j + 1])
    else
      local b = tonumber(string.sub(name, 2))
      if b <= head - 10 then
        redis.call('HDEL', win, name)
      else
        local v = tonumber(fields[j + 1])
        local kind = string.sub(name, 1, 1)
        local recent = b >= head - 1
        if kind == 'f' then
          F = F + v
          if recent then FN = FN + v end
        elseif kind == 'r' then
          R = R + v
          if recent then RN = RN + v end
        elseif recent then
          XN = XN + v
        end
      end
    end
  end
  redis.call('ZADD', live, now + lease_ttl, member)
  redis.call('ZREMRANGEBYSCORE', live, '-inf', now)
  local n = redis.call('ZCARD', live)
  local others = 0
  local held = redis.call('HGETALL', leases)
  for j = 1, #held, 2 do
    if held[j] ~= member then
      if redis.call('ZSCORE', live, held[j]) then
        others = others + tonumber(held[j + 1])
      else
        redis.call('HDEL', leases, held[j])
        redis.call('HDEL', seen, held[j])
      end
    end
  end
  local allowed = ratio * F + reserve - R
  -- paced: the retries of the newest 2 buckets stay within 2 tenths of the allowance
  local budget = (ratio * F + reserve) * 0.2 - RN
  if allowed < budget then budget = allowed end
  local grant = budget / n
  if grant < 1 then grant = 1 end
  if grant > budget - others then grant = budget - others end
  if grant < 0 then grant = 0 end
  grant = math.floor(grant * 1000) / 1000
  redis.call('HSET', leases, member, string.format('%.3f', grant))
  -- spare: what the ratio and the reserve cover of the newest failures; below 0
  -- (failing beyond the ratio) or an allowance short of its reserve: noisy
  local spare = ratio * FN + reserve - XN
  if spare < 0 or allowed < reserve then
    redis.call('HSET', win, 'noisy', now)
    noisy = now
  end
  local keep = math.ceil(window * 2 + lease_ttl)
  redis.call('PEXPIRE', win, keep)
  redis.call('PEXPIRE', leases, keep)
  redis.call('PEXPIRE', live, keep)
  redis.call('PEXPIRE', seen, keep)
  out[#out + 1] = string.format('%.3f', grant)
  out[#out + 1] = string.format('%.3f', spare)
  if noisy and now - noisy < window then out[#out + 1] = 0 else out[#out + 1] = 1 end
end
for i = 1, nk do
  local op = tonumber(ARGV[a])
  local ms = tonumber(ARGV[a + 1])
  local want = tonumber(ARGV[a + 2])
  local trip_ttl = tonumber(ARGV[a + 3])
  a = a + 4
  local open, trip, probe = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  k = k + 3
  local holder = redis.call('GET', probe)
  local mine = holder == owner
  if op == 1 then
    redis.call('SET', open, owner, 'PX', math.max(1, math.ceil(ms)))
    redis.call('SET', trip, owner, 'PX', trip_ttl)
    if mine then redis.call('DEL', probe) end
    mine = false
  elseif op == 2 and (mine or not holder) then
    redis.call('DEL', open, trip, probe)
    mine = false
  end
  local pttl = redis.call('PTTL', open)
  local tripped = redis.call('EXISTS', trip)
  local got = 0
  if tripped == 1 and pttl < 0 and want == 1 then
    if mine then
      redis.call('PEXPIRE', probe, probe_ttl)
      got = 1
    elseif redis.call('SET', probe, owner, 'NX', 'PX', probe_ttl) then
      got = 1
    end
  elseif mine then
    redis.call('DEL', probe)
  end
  if pttl < 0 then pttl = 0 end
  out[#out + 1] = pttl
  out[#out + 1] = tripped
  out[#out + 1] = got
end
return out
"""


#: No CLIENT SETINFO on connect (one command less per connection): redis-py 7+ spells it
#: ``driver_info=None``, older versions ``lib_name=None, lib_version=None``.
_NO_SETINFO: Final[dict[str, None]] = (
    {"driver_info": None}
    if "driver_info" in inspect.signature(_redis.Redis.__init__).parameters
    else {"lib_name": None, "lib_version": None}
)


def _origin_key(origin: Origin) -> str:
    return f"{origin.scheme}://{origin.host}:{origin.port}"


class _Entry:
    """One registered lease or view: its keys, whether it is synced, what was reported."""

    __slots__ = ("acked", "acked_seq", "active", "keys", "member", "sent")

    def __init__(self, member: str, keys: list[str]) -> None:
        self.member = member
        self.keys = keys
        #: Synced (False: released by its budget or breaker until renewed).
        self.active = True
        #: A lease's firsts, retries and failures ever taken by a sync, and the part that
        #: the sync numbered ``acked_seq`` (the newest that answered) applied. Under the
        #: lease's lock.
        self.sent = (0, 0, 0)
        self.acked = (0, 0, 0)
        self.acked_seq = 0


class RedisState:
    """The fleet's shared budget and breaker state in Redis: give it as ``shared=``.

    ``RetryBudget(shared=state)`` and ``CircuitBreaker(shared=state)`` then
    share their state with every process using the same Redis and
    ``namespace``, synced once per ``sync_interval`` seconds in a background
    daemon thread (started on first use) with one Lua script call; nothing
    touches Redis on the request path. ``timeout`` bounds each sync's socket
    operations. Until the first sync, and while Redis is unreachable, the
    budget and breaker answer locally.

    The thread's life follows the clients that hold it: a client created with
    a budget or breaker using this state (as a default, in a route or in
    ``api.controllers``) holds it (:meth:`attach`) until it closes
    (:meth:`detach`). When the last holder closes, the thread is told to stop
    (nothing waits: ``aclose()`` never blocks the event loop) and ends after
    its sync in flight, closing its connection; the budgets and breakers work
    locally until a client holding it is created again, which starts a new thread.
    Only what clients hold is synced: a budget or breaker whose last client
    closed is released (:meth:`release`, :attr:`registered`).
    A state used only through per-request overrides is held by no client: its
    thread (a daemon thread) runs until :meth:`close` (or the end of a
    ``with RedisState(...) as shared:`` block) or interpreter exit. After
    ``close()`` nothing starts it again and the budgets and breakers work locally.

    Example::

        from axios_like.redis import RedisState
        with RedisState("redis://localhost:6379/0", namespace="billing") as shared:
            budget = axios_like.RetryBudget(ratio=0.1, shared=shared)
            api = axios_like.create(retry_budget=budget,
                                    circuit_breaker=axios_like.CircuitBreaker(shared=shared))
    """

    def __init__(
        self,
        url: str,
        namespace: str = "axios_like",
        sync_interval: float = 1.0,
        *,
        timeout: float = 0.2,
    ) -> None:
        if not isinstance(url, str) or not url:
            raise TypeError(f"RedisState(url=...) must be a redis:// URL; got {url!r}")
        if not isinstance(namespace, str) or not namespace or "{" in namespace or "}" in namespace:
            raise ValueError(
                f"RedisState(namespace=...) must be a non-empty string without braces; "
                f"got {namespace!r}"
            )
        for name, value in (("sync_interval", sync_interval), ("timeout", timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"RedisState({name}=...) must be a positive number; got {value!r}")
        self._namespace = namespace
        self._interval = float(sync_interval)
        self._timeout = float(timeout)
        self._url = url
        #: One sync's socket operations are bounded by ``timeout``; no retries.
        self._options: dict[str, Any] = {
            "socket_timeout": self._timeout,
            "socket_connect_timeout": self._timeout,
            "retry": Retry(NoBackoff(), 0),
            "health_check_interval": 0,
            **_NO_SETINFO,
        }
        #: The connection of :meth:`sync` called by hand; each thread run makes its own.
        self._redis: Any = self._connect()
        self._script: Any = self._redis.register_script(_SCRIPT)
        #: This process (this object) in the fleet: lease members and the probe holder.
        self._owner = f"{uuid.uuid4().hex[:12]}"
        self._lock = threading.Lock()
        #: The registered leases and views, held weakly: a budget or breaker that is
        #: garbage-collected takes its registrations with it.
        self._leases: weakref.WeakKeyDictionary[Lease, _Entry] = weakref.WeakKeyDictionary()
        self._views: weakref.WeakKeyDictionary[BreakerView, _Entry] = weakref.WeakKeyDictionary()
        self._members = itertools.count()
        #: Numbers every script call (Redis applies a member's reports in this order).
        self._seq = 0
        #: Set by close() (and at interpreter exit): no thread starts again.
        self._closed = threading.Event()
        #: The newest thread and its run's own stop event (each run has its own, so a
        #: thread still finishing its last sync never takes a new run's event), and
        #: every thread started that may still be winding down.
        self._thread: threading.Thread | None = None
        self._run_stop: threading.Event | None = None
        self._threads: list[threading.Thread] = []
        #: Holders (clients) by id, with how many of their controllers attached.
        self._holders = Holders()
        self._live = False
        self._warned = False
        self._ready = threading.Event()
        #: Script calls that answered, and syncs that failed (for tests and metrics).
        self.syncs = 0
        self.failures = 0
        self._finalizer = weakref.finalize(self, self._closed.set)

    def __repr__(self) -> str:
        return (
            f"RedisState(namespace={self._namespace!r}, sync_interval={self._interval:g}, "
            f"live={self._live})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def sync_interval(self) -> float:
        """Seconds between two syncs of this process with Redis."""
        return self._interval

    @property
    def namespace(self) -> str:
        """The fleet's name: every key is ``{namespace}:...``."""
        return self._namespace

    @property
    def live(self) -> bool:
        """True while the last sync answered (fleet mode); False: local fallback."""
        return self._live

    @property
    def running(self) -> bool:
        """True while the background sync thread runs (see :meth:`attach`)."""
        return self._run_stop is not None

    @property
    def registered(self) -> int:
        """Leases and views synced now (each is one budget's or breaker's origin)."""
        with self._lock:
            return sum(e.active for e in self._leases.values()) + sum(
                e.active for e in self._views.values()
            )

    def wait_ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a first successful sync (startup, tests); True if so."""
        return self._ready.wait(timeout)

    # ------------------------------------------------ the seam (called under the caller's lock)

    def budget_lease(
        self, origin: Origin, lock: threading.Lock, ratio: float, window: float, reserve: float
    ) -> Lease:
        """Register a budget's lease for ``origin`` (no I/O); the sync fills it."""
        lease = Lease(origin, lock, ratio, window, reserve)
        base = f"{{{self._namespace}}}:budget:{_origin_key(origin)}:"
        keys = [base + "counts", base + "leases", base + "live", base + "seen"]
        with self._lock:
            self._leases[lease] = _Entry(f"{self._owner}/{next(self._members)}", keys)
            self._start()
        return lease

    def breaker_view(
        self, origin: Origin, lock: threading.Lock, apply: ApplyFleet, break_cap: float
    ) -> BreakerView:
        """Register a breaker's view of ``origin`` (no I/O); the sync keeps it current."""
        view = BreakerView(origin, lock, apply, break_cap)
        base = f"{{{self._namespace}}}:breaker:{_origin_key(origin)}:"
        keys = [base + "open", base + "tripped", base + "probe"]
        with self._lock:
            self._views[view] = _Entry(f"{self._owner}/{next(self._members)}", keys)
            self._start()
        return view

    def release(self, item: Lease | BreakerView) -> None:
        """Stop syncing a lease or view (no I/O; under its lock): its budget or breaker
        lost its last holder. It answers locally; its counts since the last sync stay
        on it, reported if it is renewed (dropped with it if it never is)."""
        with self._lock:
            entry = self._entry(item)
            if entry is None or not entry.active:
                return
            entry.active = False
        item.live = False
        if isinstance(item, BreakerView):
            item.probe_held = False

    def renew(self, item: Lease | BreakerView) -> None:
        """Sync a released lease or view again (no I/O; under its lock): a holder is back."""
        with self._lock:
            entry = self._entry(item)
            if entry is None or entry.active:
                return
            entry.active = True
            self._start()

    def _entry(self, item: Lease | BreakerView) -> _Entry | None:
        if isinstance(item, Lease):
            return self._leases.get(item)
        return self._views.get(item)

    # ------------------------------------------------ the background sync

    def attach(self, owner: object) -> None:
        """``owner`` (a client) holds this state: the sync thread runs while one does.

        Called (through the budget or breaker) when a client is created, and when a
        client's defaults start naming a budget or breaker that uses this state. No
        I/O: it (re)starts the thread only if a budget or breaker registered an
        origin already (else the first registration starts it, as without holders).
        """
        with self._lock:
            if self._closed.is_set():
                return
            self._holders.add(owner)
            if any(e.active for e in (*self._leases.values(), *self._views.values())):
                self._start()

    def detach(self, owner: object) -> None:
        """``owner`` no longer holds this state; the last holder's detach stops the thread.

        It never waits: it tells the thread to stop, and the thread ends by itself
        after its sync in flight (within ``timeout``), closing its own connection;
        the budgets and breakers answer locally from now on (the answer of that
        last sync is not applied). A detach without a matching attach (a second
        close) does nothing.
        """
        with self._lock:
            if not self._holders.remove(owner):
                return
            stop, self._run_stop = self._run_stop, None
        if stop is not None:
            stop.set()
            self._fall_back()

    def _start(self) -> None:
        """Start a sync thread unless one runs or the state is closed (under ``_lock``).

        A thread of a stopped run may still be in its last sync: the new thread
        waits for it before its first sync, so one sync runs at a time.
        """
        if self._run_stop is not None or self._closed.is_set():
            return
        stop = self._run_stop = threading.Event()
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        self._thread = threading.Thread(
            target=self._run,
            args=(stop, list(self._threads)),
            name=f"axios_like-redis-{self._namespace}",
            daemon=True,
        )
        self._threads.append(self._thread)
        self._thread.start()

    def _connect(self) -> Any:
        """A Redis client (no I/O yet): one per thread run, closed when the run ends."""
        return _redis.Redis.from_url(self._url, **self._options)

    def close(self) -> None:
        """Stop the sync thread (bounded wait) and close the connection; controllers go local.

        For good: no holder starts it again. Closing twice is harmless. The only
        call that waits for the thread (at most ``4 x timeout + 1`` s in all).
        """
        self._closed.set()
        with self._lock:
            stop, self._run_stop = self._run_stop, None
            threads = list(self._threads)
        if stop is not None:
            stop.set()
        deadline = time.monotonic() + 4 * self._timeout + 1.0
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        self._fall_back()
        self._redis.close()

    def _run(self, stop: threading.Event, before: list[threading.Thread]) -> None:
        for thread in before:  # a stopped run's thread ends within one sync's timeout
            while thread.is_alive() and not stop.is_set() and not self._closed.is_set():
                thread.join(self._timeout)
        if stop.is_set() or self._closed.is_set():
            return  # stopped while it waited: it never synced
        connection = self._connect()
        try:
            while not stop.is_set() and not self._closed.is_set():
                started = time.monotonic()
                self._sync(connection, stop)
                stop.wait(max(0.0, self._interval - (time.monotonic() - started)))
        finally:
            connection.close()

    def sync(self) -> bool:
        """One sync now (the thread does one every ``sync_interval``); True if Redis answered.

        Never raises for Redis errors: a failure is the local fallback.
        """
        return self._sync(self._redis, self._closed)

    def _sync(self, connection: Any, stop: threading.Event) -> bool:
        with self._lock:
            leases = [(lease, entry) for lease, entry in self._leases.items() if entry.active]
            views = [(view, entry) for view, entry in self._views.items() if entry.active]
            if not leases and not views:
                return self._live
            self._seq += 1
            seq = self._seq
        life = round(self._interval * _LEASE_LIFE * 1000)
        keys: list[str] = []
        args: list[object] = [self._owner, life, round(self._interval * _PROBE_LIFE * 1000)]
        args += [len(leases), len(views), seq]
        reported: list[tuple[int, int, int]] = []
        for lease, entry in leases:
            with lease.lock:  # cumulative: a sync that fails keeps nothing to give back
                firsts, retries, failures = entry.sent
                sent = entry.sent = (
                    firsts + lease.firsts,
                    retries + lease.retries,
                    failures + lease.failures,
                )
                lease.firsts = lease.retries = lease.failures = 0
                acked = entry.acked
            reported.append(sent)
            keys += entry.keys
            args += [entry.member, *sent, repr(lease.ratio), round(lease.window * 1000)]
            args += [repr(lease.reserve), *acked]
        taken: list[tuple[tuple[str, float] | None, int]] = []
        for view, entry in views:
            with view.lock:
                pending, changes = view.pending, view.changes
                view.pending = None
                want = view.wants_probe or view.probing
                view.wants_probe = False
            taken.append((pending, changes))
            op, seconds = (
                (0, 0.0) if pending is None else (1 if pending[0] == "open" else 2, pending[1])
            )
            keys += entry.keys
            trip_life = round((view.break_cap * 2 + self._interval * _LEASE_LIFE) * 1000)
            args += [op, round(seconds * 1000), int(want), trip_life]
        try:
            reply = self._script(keys=keys, args=args, client=connection)
        except (_redis.RedisError, OSError) as exc:
            self._failed(views, taken, exc, stop)
            return False
        self.syncs += 1
        # A stopped run's last answer (its last holder detached) or a released lease's
        # is not applied: they answer locally. Checked under each lock that detach and
        # release hold (stop is set before the fallback), so no answer comes after them.
        for i, ((lease, entry), sent) in enumerate(zip(leases, reported, strict=True)):
            grant, spare, quiet = reply[3 * i : 3 * i + 3]
            with lease.lock:
                if seq > entry.acked_seq:
                    entry.acked, entry.acked_seq = sent, seq
                if entry.active and not stop.is_set():
                    # what was spent while the script ran comes out of the new lease
                    lease.tokens = float(grant) - lease.retries
                    lease.spare = float(spare)
                    lease.quiet = bool(int(quiet))
                    lease.live = True
        at = 3 * len(leases)
        for (view, entry), (_, changes) in zip(views, taken, strict=True):
            open_ms, tripped, got = (int(x) for x in reply[at : at + 3])
            at += 3
            with view.lock:
                if not entry.active or stop.is_set():
                    continue
                view.live = True
                if view.changes == changes:
                    view.probe_held = bool(got)
            view.apply(view.origin, open_ms / 1000, bool(tripped), changes)
        with self._lock:
            if stop.is_set():
                return True
            revived, self._live = not self._live, True
        if revived:
            if self._warned:
                logger.info("axios_like: Redis answers again: fleet mode resumes (%s)", self)
            self._warned = False
        self._ready.set()
        return True

    def _failed(
        self,
        views: list[tuple[BreakerView, _Entry]],
        taken: list[tuple[tuple[str, float] | None, int]],
        exc: BaseException,
        stop: threading.Event,
    ) -> None:
        self.failures += 1
        # A lease's counts stay in its entry (cumulative): the next sync reports them.
        for (view, _), (pending, _) in zip(views, taken, strict=True):
            with view.lock:
                if view.pending is None:
                    view.pending = pending
        self._fall_back()
        if not self._warned and not stop.is_set():
            self._warned = True
            logger.warning(
                "axios_like: Redis does not answer (%s: %s): retry budgets and circuit "
                "breakers work locally until it does (%s)",
                type(exc).__name__,
                exc,
                self,
            )

    def _fall_back(self) -> None:
        with self._lock:
            self._live = False
            leases = list(self._leases)
            views = list(self._views)
        for lease in leases:
            with lease.lock:
                lease.live = False
        for view in views:
            with view.lock:
                view.live = False
                view.probe_held = False
