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

- it reports the first attempts, retries and transient failures since the
  last sync, and gets a new lease back: the fleet's allowance over the
  window (``ratio`` x the fleet's first attempts + ``min_retries`` - the
  fleet's retries), paced (the retries of the newest 2 tenths of the window
  stay within 2 tenths of it), split among the live leases (at least 1 each
  while it lasts), never more than what the other live leases leave; the
  unused part of the old lease goes back (the new lease replaces it). With
  it come the *spare* (``ratio`` x the newest first attempts +
  ``min_retries`` - the newest failures) and whether the fleet is *quiet*:
  no sync within a ``window`` found the spare below 0 or the allowance below
  ``min_retries`` (the script keeps the last time one did, ``noisy``). While
  the fleet is quiet, an empty lease lets the process's own budget answer
  (its ratio, its reserve, a lone call); while it is not, only the lease
  pays, and a lone call keeps borrowing only while the spare plus its own
  failures stays at or above 0;
- it publishes a breaker that opened here (``SET open PX break``), reads the
  fleet's breaker back, and, when a local call waits for a half-open probe,
  takes the fleet's one probe (``SET probe NX PX``), kept alive while the
  probe is in flight; a dead process's probe expires after 3 sync intervals.

Every key is hash-tagged ``{namespace}`` (one namespace is one Redis Cluster
slot) and expires. If Redis is down, slow or partitioned, the sync times out
after ``timeout`` (0.2 s) in the background, the budgets and breakers fall
back to their local state (one WARNING on the ``axios_like`` logger), and
they rejoin the fleet when Redis answers again (one INFO).
"""

from __future__ import annotations

import inspect
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
from ._fleet import ApplyFleet, BreakerView, Lease

__all__ = ["RedisState"]

logger = logging.getLogger("axios_like")

#: A lease (and a process's membership of a budget) lives this many sync intervals.
_LEASE_LIFE: Final = 3.0
#: The fleet probe lives this many sync intervals unless its owner renews it.
_PROBE_LIFE: Final = 3.0

# One call per sync: every budget's report and lease, every breaker's publish and read.
# KEYS: 3 per budget (window counts, leases, live members), then 3 per breaker
# (open, tripped, probe). ARGV: owner, lease ttl ms, probe ttl ms, #budgets, #breakers,
# then 7 per budget (member, firsts, retries, failures, ratio, window ms, reserve) and
# 4 per breaker (op 0/1 open/2 close, open ms, wants probe 0/1, tripped ttl ms).
# Reply: 3 per budget (the grant, the spare, quiet 0/1), then 3 per breaker
# (open ms left, tripped 0/1, probe taken 0/1).
_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local owner = ARGV[1]
local lease_ttl = tonumber(ARGV[2])
local probe_ttl = tonumber(ARGV[3])
local nb = tonumber(ARGV[4])
local nk = tonumber(ARGV[5])
local out = {}
local a = 6
local k = 1
for i = 1, nb do
  local member = ARGV[a]
  local f = tonumber(ARGV[a + 1])
  local r = tonumber(ARGV[a + 2])
  local x = tonumber(ARGV[a + 3])
  local ratio = tonumber(ARGV[a + 4])
  local window = tonumber(ARGV[a + 5])
  local reserve = tonumber(ARGV[a + 6])
  a = a + 7
  local win, leases, live = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  k = k + 3
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


class RedisState:
    """The fleet's shared budget and breaker state in Redis: give it as ``shared=``.

    ``RetryBudget(shared=state)`` and ``CircuitBreaker(shared=state)`` then
    share their state with every process using the same Redis and
    ``namespace``, synced once per ``sync_interval`` seconds in a background
    daemon thread (started on first use) with one Lua script call; nothing
    touches Redis on the request path. ``timeout`` bounds each sync's socket
    operations. Until the first sync, and while Redis is unreachable, the
    budget and breaker answer locally.

    Clients do not tell their controllers when they close, so stop the thread
    with :meth:`close` (or ``with RedisState(...) as shared:``); otherwise it
    is a daemon thread, stopped at interpreter exit. After ``close()`` the
    budgets and breakers that use it work locally.

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
        self._redis: Any = _redis.Redis.from_url(
            url,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
            **_NO_SETINFO,
        )
        self._script: Any = self._redis.register_script(_SCRIPT)
        #: This process (this object) in the fleet: lease members and the probe holder.
        self._owner = f"{uuid.uuid4().hex[:12]}"
        self._lock = threading.Lock()
        self._leases: list[tuple[Lease, str, list[str]]] = []
        self._views: list[tuple[BreakerView, list[str]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = False
        self._warned = False
        self._ready = threading.Event()
        #: Script calls that answered, and syncs that failed (for tests and metrics).
        self.syncs = 0
        self.failures = 0
        self._finalizer = weakref.finalize(self, self._stop.set)

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
        with self._lock:
            member = f"{self._owner}/{len(self._leases)}"
            self._leases.append((lease, member, [base + "counts", base + "leases", base + "live"]))
            self._start()
        return lease

    def breaker_view(
        self, origin: Origin, lock: threading.Lock, apply: ApplyFleet, break_cap: float
    ) -> BreakerView:
        """Register a breaker's view of ``origin`` (no I/O); the sync keeps it current."""
        view = BreakerView(origin, lock, apply, break_cap)
        base = f"{{{self._namespace}}}:breaker:{_origin_key(origin)}:"
        with self._lock:
            self._views.append((view, [base + "open", base + "tripped", base + "probe"]))
            self._start()
        return view

    # ------------------------------------------------ the background sync

    def _start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(
                target=self._run, name=f"axios_like-redis-{self._namespace}", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the sync thread (bounded wait) and close the connection; controllers go local."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self._interval + 4 * self._timeout + 1.0)
        self._fall_back()
        self._redis.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.sync()
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def sync(self) -> bool:
        """One sync now (the thread calls it every ``sync_interval``); True if Redis answered.

        Never raises for Redis errors: a failure is the local fallback.
        """
        with self._lock:
            leases = list(self._leases)
            views = list(self._views)
        if not leases and not views:
            return self._live
        life = round(self._interval * _LEASE_LIFE * 1000)
        keys: list[str] = []
        args: list[object] = [self._owner, life, round(self._interval * _PROBE_LIFE * 1000)]
        args += [len(leases), len(views)]
        reported: list[tuple[int, int, int]] = []
        for lease, member, lease_keys in leases:
            with lease.lock:
                firsts, retries, failures = lease.firsts, lease.retries, lease.failures
                lease.firsts = lease.retries = lease.failures = 0
            reported.append((firsts, retries, failures))
            keys += lease_keys
            args += [member, firsts, retries, failures, repr(lease.ratio)]
            args += [round(lease.window * 1000), repr(lease.reserve)]
        taken: list[tuple[tuple[str, float] | None, int]] = []
        for view, view_keys in views:
            with view.lock:
                pending, changes = view.pending, view.changes
                view.pending = None
                want = view.wants_probe or view.probing
                view.wants_probe = False
            taken.append((pending, changes))
            op, seconds = (
                (0, 0.0) if pending is None else (1 if pending[0] == "open" else 2, pending[1])
            )
            keys += view_keys
            trip_life = round((view.break_cap * 2 + self._interval * _LEASE_LIFE) * 1000)
            args += [op, round(seconds * 1000), int(want), trip_life]
        try:
            reply = self._script(keys=keys, args=args)
        except (_redis.RedisError, OSError) as exc:
            self._failed(leases, reported, views, taken, exc)
            return False
        self.syncs += 1
        for i, (lease, _, _) in enumerate(leases):
            grant, spare, quiet = reply[3 * i : 3 * i + 3]
            with lease.lock:
                # what was spent while the script ran comes out of the new lease
                lease.tokens = float(grant) - lease.retries
                lease.spare = float(spare)
                lease.quiet = bool(int(quiet))
                lease.live = True
        at = 3 * len(leases)
        for (view, _), (_, changes) in zip(views, taken, strict=True):
            open_ms, tripped, got = (int(x) for x in reply[at : at + 3])
            at += 3
            with view.lock:
                view.live = True
                if view.changes == changes:
                    view.probe_held = bool(got)
            view.apply(view.origin, open_ms / 1000, bool(tripped), changes)
        if not self._live:
            self._live = True
            if self._warned:
                logger.info("axios_like: Redis answers again: fleet mode resumes (%s)", self)
            self._warned = False
        self._ready.set()
        return True

    def _failed(
        self,
        leases: list[tuple[Lease, str, list[str]]],
        reported: list[tuple[int, int, int]],
        views: list[tuple[BreakerView, list[str]]],
        taken: list[tuple[tuple[str, float] | None, int]],
        exc: BaseException,
    ) -> None:
        self.failures += 1
        for (lease, _, _), (firsts, retries, failures) in zip(leases, reported, strict=True):
            with lease.lock:  # report them at the next sync that answers
                lease.firsts += firsts
                lease.retries += retries
                lease.failures += failures
        for (view, _), (pending, _) in zip(views, taken, strict=True):
            with view.lock:
                if view.pending is None:
                    view.pending = pending
        self._fall_back()
        if not self._warned and not self._stop.is_set():
            self._warned = True
            logger.warning(
                "axios_like: Redis does not answer (%s: %s): retry budgets and circuit "
                "breakers work locally until it does (%s)",
                type(exc).__name__,
                exc,
                self,
            )

    def _fall_back(self) -> None:
        self._live = False
        with self._lock:
            leases = [lease for lease, _, _ in self._leases]
            views = [view for view, _ in self._views]
        for lease in leases:
            with lease.lock:
                lease.live = False
        for view in views:
            with view.lock:
                view.live = False
                view.probe_held = False
