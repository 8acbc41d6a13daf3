"""The fleet simulation: thousands of client processes under a virtual clock.

A discrete-event simulation (a heap of timed events) with seeded
``random.Random`` streams: no sockets, no sleeps, no threads. Every simulated
call runs the library's real retry core through :mod:`._adapter` (the shell,
mirrored): ``RetryState``, ``decide()``, ``admitted()``, ``verdict()`` and the
attempt controllers through ``admit_all`` / ``record_all`` with real tickets
and verdicts. Each simulated process has its own controllers (per-process
budget and breaker instances, as a real fleet of processes has).

The model, in full:

- **Clients.** ``clients`` processes, each making calls as a Poisson process of
  ``rate`` calls/s (all processes together: one Poisson stream of
  ``clients * rate`` calls/s, each call given to a uniformly chosen process,
  which is the same thing). Config: ``library_defaults()`` with
  ``max_retries=3`` and the default ``ExponentialBackoff`` (1 s base, x2,
  50 % jitter; seeded), ``timeout`` 10 s, GET (idempotent). Each process has
  its own controllers, the default ``RateLimitGate`` included (seeded jitter).
- **Servers.** A healthy attempt takes 10 ms + Exp(mean 10 ms) and succeeds; a
  failing one answers 503 (or 429 ``Retry-After: 2``) after 5 ms. The overload
  scenario instead has a FIFO server (:class:`FifoServer`).
- **Time.** ``warm`` seconds healthy (the budgets fill their windows), a
  ``trigger`` window in which the fault is on, ``post`` seconds after it.

Metrics (computed by :func:`metrics`; base = the nominal ``clients * rate``):

- ``amplification``: attempts put on the wire (first attempts and retries; an
  attempt a controller refused is not sent, so not counted) *during* the
  trigger window, divided by the calls started during it (first attempts,
  sent or refused). Retries of calls started before the window count; retries
  that fall after its end do not.
- ``attempts_per_call``: attempts sent by the calls that started in the
  trigger window, whenever sent, divided by those calls.
- ``peak``: the largest 1-s count of attempts sent, divided by base.
- ``goodput``: the share of the calls started in the trigger window that
  succeeded; ``p99``: the 99th percentile of their latency (start to success
  or final error), in seconds.
- ``recovery``: seconds from the end of the trigger to the start of the first
  1-s bucket from which 5 buckets in a row have attempts within 10 % of base
  and more than 99 % of the calls ending in them succeeding (1-s resolution;
  ``None``: not within the run).
- ``load_after``: mean attempts/s over the 30 s that follow a 30 s recovery
  window after the trigger (trigger end + 30 s to + 60 s), divided by base.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from axios_like._config import library_defaults
from axios_like._control import AttemptController, Origin
from axios_like._exceptions import HTTPStatusError, ReadTimeoutError
from axios_like._models import Response
from axios_like._shaping import RateLimitGate
from axios_like._strategies import ExponentialBackoff

from . import _adapter
from .anchors import ANCHORS

# ---------------------------------------------------------------- shapes, scenarios, rows


@dataclass(frozen=True)
class Shape:
    """``clients`` processes, each making ``rate`` calls/s."""

    clients: int
    rate: float

    @property
    def name(self) -> str:
        return f"{self.clients:,} \N{MULTIPLICATION SIGN} {self.rate:g} req/s"

    @property
    def total(self) -> float:
        return self.clients * self.rate


SHAPES: Final = (Shape(10_000, 0.1), Shape(100, 10.0), Shape(10, 100.0))


@dataclass(frozen=True)
class Timeline:
    """Seconds healthy, seconds of fault, seconds after."""

    warm: float = 20.0
    trigger: float = 30.0
    post: float = 70.0

    @property
    def start(self) -> float:
        return self.warm

    @property
    def end(self) -> float:
        return self.warm + self.trigger

    @property
    def total(self) -> float:
        return self.warm + self.trigger + self.post


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    #: "fault" (503/429 answers), "overload" (FIFO server) or "stacked" (A -> B -> C).
    kind: str = "fault"
    #: Share of attempts that fail while the fault is on.
    fail: float = 1.0
    status: int = 503
    #: The fault is on for the whole run, not just the trigger window.
    steady: bool = False
    #: Number of shards (origins); the fault hits shard 0 only when > 1.
    shards: int = 1
    params: dict[str, float] = field(default_factory=dict)


SCENARIOS: Final = {
    s.key: s
    for s in (
        Scenario("outage", "30 s full outage (every attempt 503)"),
        Scenario("brownout", "50 % brownout for 30 s (half the attempts 503)", fail=0.5),
        Scenario("low", "5 % failures, steady (503)", fail=0.05, steady=True),
        Scenario(
            "overload",
            "overload: FIFO server at 80 % utilisation loses 60 % of its capacity for 30 s",
            kind="overload",
            params={"capacity": 1.25, "drop": 0.6},
        ),
        Scenario("429", "30 s of 429 with Retry-After: 2", status=429),
        Scenario("shard", "one of 4 shards (origins) failing for 30 s (503)", shards=4),
    )
}

STACKED: Final = Scenario(
    "stacked",
    "stacked: A calls B (both axios_like) which calls C; C fails 100 %",
    kind="stacked",
    steady=True,
)


#: A factory of one process's (config overrides, extra controllers); it is given
#: the run's seeded ``random.Random`` for the controllers that draw jitter.
RowFactory = Callable[[random.Random], tuple[dict[str, Any], tuple[Any, ...]]]

NO_BUDGET: Final = "no budget (plain retries, max_retries=3)"
DEFAULT_BUDGET: Final = "axios_like RetryBudget() (default)"
WITH_BREAKER: Final = "axios_like RetryBudget() + CircuitBreaker()"
FLEET: Final = "axios_like fleet mode (Redis lease, 1 s sync)"


#: A fleet row's factory: ``make(rng, fleet)``, ``fleet`` the run's ``fleetmode.FleetSync``.
FleetFactory = Callable[[random.Random, Any], tuple[dict[str, Any], tuple[Any, ...]]]


class FleetRow:
    """A row whose processes share one fleet (``Sim`` calls ``.make(rng, fleet)``)."""

    def __init__(self, make: FleetFactory) -> None:
        self.make = make

    def __call__(self, rng: random.Random) -> tuple[dict[str, Any], tuple[Any, ...]]:
        raise TypeError("a fleet row needs its run's fleet: Sim calls .make(rng, fleet)")


def _axios_rows() -> dict[str, RowFactory]:
    try:
        from axios_like import CircuitBreaker, RetryBudget
    except ImportError:  # the resilience module is not merged yet
        return {}
    table: dict[str, RowFactory] = {
        DEFAULT_BUDGET: lambda rng: ({"retry_budget": RetryBudget()}, ()),
        WITH_BREAKER: lambda rng: (
            {"retry_budget": RetryBudget(), "circuit_breaker": CircuitBreaker(rng=rng)},
            (),
        ),
    }
    try:
        from . import fleetmode  # noqa: F401  (needs redis-py: the axios_like[redis] extra)
    except ImportError:
        return table
    table[FLEET] = FleetRow(lambda rng, fleet: ({"retry_budget": fleet.budget()}, ()))
    return table


def rows() -> dict[str, RowFactory]:
    """Row name -> factory of one process's (config overrides, extra controllers)."""
    table: dict[str, RowFactory] = {NO_BUDGET: lambda rng: ({}, ())}
    table.update(_axios_rows())
    for name, make in ANCHORS.items():
        table[name] = lambda rng, make=make: ({}, make())
    return table


# ---------------------------------------------------------------- outcomes and servers

OK_LATENCY: Final = 0.010  # + Exp(mean 10 ms)
FAIL_LATENCY: Final = 0.005
NET: Final = 0.005  # one way, for the FIFO server


class Outcomes:
    """The outcomes the shell would hand ``decide()``: built once, shared by attempts.

    ``decide()`` only reads them (status, headers, config); sharing them keeps
    a million-attempt run cheap.
    """

    def __init__(self, config: dict[str, Any], retry_after: str = "2") -> None:
        request = httpx.Request("GET", config["url"])
        self.ok = Response(httpx.Response(200, request=request), config)
        self.e503 = _status_error(503, request, config, {})
        self.e429 = _status_error(429, request, config, {"retry-after": retry_after})
        self.timeout = ReadTimeoutError("GET: read timeout (simulated)", config=config)


def _status_error(
    status: int, request: httpx.Request, config: dict[str, Any], headers: dict[str, str]
) -> HTTPStatusError:
    raw = httpx.Response(status, request=request, headers=headers)
    return HTTPStatusError(f"GET failed with status {status}", response=Response(raw, config))


class FaultServer:
    """Answers 503 (or 429) to a share ``fail`` of attempts while the fault is on."""

    def __init__(
        self,
        rng: random.Random,
        outcomes: Outcomes,
        scenario: Scenario,
        start: float,
        end: float,
    ) -> None:
        self.rng = rng
        self.ok = outcomes.ok
        self.error = outcomes.e429 if scenario.status == 429 else outcomes.e503
        self.fail = scenario.fail
        self.start, self.end = (0.0, math.inf) if scenario.steady else (start, end)
        self.shard = 0 if scenario.shards > 1 else None

    def attempt(self, shard: int, now: float) -> tuple[_adapter.Outcome, float]:
        rng = self.rng
        if (
            self.start <= now < self.end
            and (self.shard is None or shard == self.shard)
            and (self.fail >= 1.0 or rng.random() < self.fail)
        ):
            return self.error, FAIL_LATENCY
        return self.ok, OK_LATENCY - 0.010 * math.log(1.0 - rng.random())


class FifoServer:
    """One FIFO queue in front of a server of ``capacity`` requests/s.

    Service takes ``1 / capacity`` s (the capacity at the moment service
    starts). Requests queue without bound. A client gives up ``timeout`` s after
    sending (a timeout, which the policy retries). The server cannot recall
    work: a request whose client gave up *while it was being served* is served
    anyway and wasted. One whose client gave up *before* the server picked it
    up is skipped at no cost when ``skip_abandoned`` (the server sees the closed
    connection); with ``skip_abandoned=False`` it is served anyway.

    FIFO with service times fixed at arrival means each request's fate is
    known when it arrives (nothing behind it can change it), so the queue is
    the single number ``free_at``: when the server is next idle.
    """

    def __init__(
        self,
        outcomes: Outcomes,
        capacity: float,
        reduced: float,
        start: float,
        end: float,
        timeout: float,
        skip_abandoned: bool = True,
    ) -> None:
        self.ok, self.timeout_error = outcomes.ok, outcomes.timeout
        self.capacity, self.reduced = capacity, reduced
        self.start, self.end = start, end
        self.timeout = timeout
        self.skip_abandoned = skip_abandoned
        self.free_at = 0.0
        self.served = 0
        self.wasted = 0
        self.skipped = 0

    def attempt(self, shard: int, now: float) -> tuple[_adapter.Outcome, float]:
        arrives = now + NET
        begin = arrives if arrives > self.free_at else self.free_at
        gives_up = now + self.timeout
        if begin >= gives_up and self.skip_abandoned:
            self.skipped += 1
            return self.timeout_error, self.timeout
        capacity = self.reduced if self.start <= begin < self.end else self.capacity
        self.free_at = done = begin + 1.0 / capacity
        if done + NET > gives_up:
            self.wasted += 1
            return self.timeout_error, self.timeout
        self.served += 1
        return self.ok, done + NET - now


# ---------------------------------------------------------------- the event loop

_RESUME: Final = 0
_ARRIVE: Final = 1
_GIVE_UP: Final = 2
_SYNC: Final = 3


class _Root:
    """A top-level call's record (calls started by the fleet's users)."""

    __slots__ = ("deep", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.deep = 0  # attempts sent at the deepest layer on behalf of this call


class _Call:
    __slots__ = ("gen", "layer", "parent", "root", "shard", "start")

    def __init__(
        self, gen: Any, layer: int, shard: int, start: float, root: _Root, parent: Any
    ) -> None:
        self.gen = gen
        self.layer = layer
        self.shard = shard
        self.start = start
        self.root = root
        self.parent = parent  # the upstream attempt waiting on this call (stacked), or None


class _Upstream:
    """An attempt of layer A waiting on a call of layer B (or on its own timeout)."""

    __slots__ = ("call", "pending")

    def __init__(self, call: _Call) -> None:
        self.call = call
        self.pending = True


class Layer:
    """Processes of one service and what their attempts go to."""

    def __init__(self, processes: list[_adapter.Process], origins: list[Origin]) -> None:
        self.processes = processes
        self.origins = origins
        self.server: FaultServer | FifoServer | None = None  # None: the next layer


class Sim:
    """One run: a shape, a scenario, a row, a seed."""

    def __init__(
        self,
        scenario: Scenario,
        shape: Shape,
        row: str,
        *,
        seed: int = 1,
        timeline: Timeline | None = None,
        skip_abandoned: bool = True,
    ) -> None:
        self.scenario, self.shape, self.row = scenario, shape, row
        self.timeline = timeline = timeline or Timeline()
        key = f"{seed}/{scenario.key}/{shape.clients}x{shape.rate}"
        # Common random numbers: every row of a (scenario, shape) sees the same arrivals.
        self.arrivals = random.Random(zlib.crc32(f"{key}/arrivals".encode()))
        server_rng = random.Random(zlib.crc32(f"{key}/server".encode()))
        jitter_rng = random.Random(zlib.crc32(f"{key}/jitter".encode()))
        # The controllers' own randomness (a breaker's jitter): seeded too.
        controller_rng = random.Random(zlib.crc32(f"{key}/{row}/controllers".encode()))
        # The rate-limit gates' jitter (one gate per process, as each real client has).
        gate_rng = random.Random(zlib.crc32(f"{key}/{row}/gates".encode()))
        self.now = 0.0
        self.heap: list[tuple[float, int, int, Any, Any]] = []
        self.seq = itertools.count()
        self.buckets = nb = math.ceil(timeline.total) + 1
        self.firsts = [0] * nb
        self.done = [0] * nb
        self.ok = [0] * nb
        self.window_calls = 0
        self.window_ok = 0
        self.window_latency: list[float] = []
        self.window_roots: list[_Root] = []
        self.stops: dict[str, int] = {}

        factory = rows()[row]
        depth = 2 if scenario.kind == "stacked" else 1
        self.layers: list[Layer] = []
        #: Fleet mode: one fleet (a simulated Redis) per layer, synced in slots.
        self.fleets: list[Any] = []
        for level in range(depth):
            fleet = None
            if isinstance(factory, FleetRow):
                from .fleetmode import FleetSync

                fleet_rng = random.Random(zlib.crc32(f"{key}/{row}/fleet/{level}".encode()))
                fleet = FleetSync(self.clock, fleet_rng)
                self.fleets.append(fleet)
            n = scenario.shards if level == depth - 1 else 1
            names = [f"shard-{i}.svc" for i in range(n)] if n > 1 else [f"svc-{level + 1}"]
            origins = [Origin("http", host, 80) for host in names]
            base = library_defaults()
            base.update(
                method="GET",
                url=f"http://{names[0]}/items",
                max_retries=3,
                retry_strategy=ExponentialBackoff(
                    base=1.0, multiplier=2.0, max_delay=30.0, jitter=0.5, rng=jitter_rng
                ),
                retry_budget=None,
                circuit_breaker=None,
            )
            processes = []
            for _ in range(shape.clients):
                if isinstance(factory, FleetRow):
                    overrides, extra = factory.make(controller_rng, fleet)
                else:
                    overrides, extra = factory(controller_rng)
                config = dict(base, **overrides)
                if "rate_limit_gate" not in overrides:
                    # Each process has its own gate, as each real client has its own by
                    # default: library_defaults() made one for ``base``, and sharing it
                    # would make the whole fleet one process at clients x rate calls/s.
                    config["rate_limit_gate"] = RateLimitGate(rng=gate_rng)
                processes.append(_adapter.Process(config, tuple(extra)))
            self.layers.append(Layer(processes, origins))
            if level == 0:
                self.outcomes = Outcomes(base)
                self.timeout = float(base["timeout"])
        self.sent = [[0] * nb for _ in self.layers]
        deepest = self.layers[-1]
        outcomes = Outcomes(deepest.processes[0].config)
        self.deep_outcomes = outcomes
        if scenario.kind == "overload":
            base_rate = shape.total
            capacity = scenario.params["capacity"] * base_rate
            self.fifo = FifoServer(
                outcomes,
                capacity,
                capacity * (1.0 - scenario.params["drop"]),
                timeline.start,
                timeline.end,
                self.timeout,
                skip_abandoned,
            )
            deepest.server = self.fifo
        else:
            deepest.server = FaultServer(
                server_rng, outcomes, scenario, timeline.start, timeline.end
            )

    # -- events

    def clock(self) -> float:
        return self.now

    def _push(self, when: float, kind: int, obj: Any, value: Any) -> None:
        heapq.heappush(self.heap, (when, next(self.seq), kind, obj, value))

    def run(self) -> dict[str, Any]:
        total = self.timeline.total
        rate = self.shape.total
        arrivals = self.arrivals
        self._push(arrivals.expovariate(rate), _ARRIVE, None, None)
        if self.fleets:
            self._push(0.0, _SYNC, None, 0)
        heap = self.heap
        pop = heapq.heappop
        step = self._step
        while heap:
            when, _, kind, obj, value = pop(heap)
            if when >= total:
                break
            self.now = when
            if kind == _RESUME:
                step(obj, value)
            elif kind == _ARRIVE:
                self._push(when + arrivals.expovariate(rate), _ARRIVE, None, None)
                self._arrive(when)
            elif kind == _SYNC:
                self._sync(when, value)
            elif obj.pending:  # _GIVE_UP: the upstream attempt timed out first
                obj.pending = False
                step(obj.call, self.outcomes.timeout)
        return metrics(self)

    def _sync(self, now: float, slot: int) -> None:
        """Fleet mode: the processes of one sync slot sync now; the next slot is due."""
        from .fleetmode import SLOTS, SYNC_INTERVAL

        for fleet in self.fleets:
            fleet.tick(slot)
        self._push(now + SYNC_INTERVAL / SLOTS, _SYNC, None, (slot + 1) % SLOTS)

    def _arrive(self, now: float) -> None:
        layer = self.layers[0]
        arrivals = self.arrivals
        processes = layer.processes
        process = processes[int(arrivals.random() * len(processes))]
        shards = self.scenario.shards
        shard = int(arrivals.random() * shards) if shards > 1 and len(self.layers) == 1 else 0
        root = _Root(now)
        self.firsts[int(now)] += 1
        tl = self.timeline
        if tl.start <= now < tl.end:
            self.window_roots.append(root)
        origin = layer.origins[shard if len(layer.origins) > 1 else 0]
        call = _Call(_adapter.call(process, origin, self.clock), 0, shard, now, root, None)
        self._step(call, None)

    def _step(self, call: _Call, value: Any) -> None:
        try:
            asked = call.gen.send(value)
        except StopIteration as stop:
            self._finish(call, stop.value)
            return
        now = self.now
        if asked is not _adapter.SEND_ATTEMPT:
            self._push(now + asked, _RESUME, call, None)
            return
        level = call.layer
        self.sent[level][int(now)] += 1
        layer = self.layers[level]
        if level == len(self.layers) - 1:
            call.root.deep += 1
        server = layer.server
        if server is not None:
            outcome, latency = server.attempt(call.shard, now)
            self._push(now + latency, _RESUME, call, outcome)
            return
        # Stacked: the attempt is a call of the next layer, on a random process of it.
        upstream = _Upstream(call)
        self._push(now + self.timeout, _GIVE_UP, upstream, None)
        below = self.layers[level + 1]
        process = below.processes[int(self.arrivals.random() * len(below.processes))]
        shard = int(self.arrivals.random() * len(below.origins))
        inner = _Call(
            _adapter.call(process, below.origins[shard], self.clock),
            level + 1,
            shard,
            now + NET,
            call.root,
            upstream,
        )
        self._step(inner, None)

    def _finish(self, call: _Call, result: _adapter.Result) -> None:
        now = self.now
        upstream = call.parent
        if upstream is not None:  # B answers A: its result, or a 503 when its call failed
            if upstream.pending:
                upstream.pending = False
                answer = self.outcomes.ok if result.ok else self.outcomes.e503
                self._push(now + NET, _RESUME, upstream.call, answer)
            return
        bucket = int(now)
        if bucket < self.buckets:
            self.done[bucket] += 1
            self.ok[bucket] += result.ok
        if not result.ok:
            self.stops[result.reason or "?"] = self.stops.get(result.reason or "?", 0) + 1
        tl = self.timeline
        if tl.start <= call.start < tl.end:
            self.window_calls += 1
            self.window_ok += result.ok
            self.window_latency.append(now - call.start)


# ---------------------------------------------------------------- metrics


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def metrics(sim: Sim) -> dict[str, Any]:
    """The row's numbers (defined in the module docstring)."""
    tl = sim.timeline
    base = sim.shape.total
    start, end = int(tl.start), int(tl.end)
    sent = sim.sent[-1]  # the deepest layer: what the failing service sees
    window_attempts = sum(sent[start:end])
    window_firsts = sum(sim.firsts[start:end])
    window_deep = sum(root.deep for root in sim.window_roots)
    last = int(tl.total)
    peak = max(sent[:last]) / base
    recovery: float | None = None
    if not sim.scenario.steady:
        run = 0
        for b in range(end, last):
            healthy = abs(sent[b] / base - 1.0) <= 0.10 and (
                sim.done[b] > 0 and sim.ok[b] / sim.done[b] > 0.99
            )
            run = run + 1 if healthy else 0
            if run == 5:
                recovery = float(b - 4 - end)
                break
    after = sent[end + 30 : min(end + 60, last)]
    result: dict[str, Any] = {
        "scenario": sim.scenario.key,
        "shape": sim.shape.name,
        "row": sim.row,
        "amplification": window_attempts / window_firsts if window_firsts else math.nan,
        "attempts_per_call": window_deep / len(sim.window_roots) if sim.window_roots else math.nan,
        "peak": peak,
        "goodput": sim.window_ok / sim.window_calls if sim.window_calls else math.nan,
        "p99": _percentile(sim.window_latency, 0.99),
        "recovery": recovery,
        "load_after": (sum(after) / len(after) / base) if after else math.nan,
        "calls": len(sim.window_roots),
        "stops": dict(sorted(sim.stops.items())),
        "load": [round(n / base, 3) for n in sent[:last]],
    }
    if sim.scenario.kind == "overload":
        fifo = sim.fifo
        result["server"] = {"served": fifo.served, "wasted": fifo.wasted, "skipped": fifo.skipped}
    return result


def run_one(
    scenario: str | Scenario,
    shape: Shape,
    row: str,
    *,
    seed: int = 1,
    timeline: Timeline | None = None,
    skip_abandoned: bool = True,
) -> dict[str, Any]:
    """Simulate one (scenario, shape, row) and return its metrics."""
    if isinstance(scenario, Scenario):
        chosen = scenario
    else:
        chosen = STACKED if scenario == "stacked" else SCENARIOS[scenario]
    sim = Sim(chosen, shape, row, seed=seed, timeline=timeline, skip_abandoned=skip_abandoned)
    return sim.run()


def controllers_of(row: str) -> tuple[dict[str, Any], tuple[AttemptController, ...]]:
    """One process's (config overrides, extra controllers) of a row (for tests)."""
    return rows()[row](random.Random(0))
