"""Hedged requests: tail latency against a bimodal loopback server, hedging off and on.

The server (``FlakyServer`` in its own process, pinned to CPU 1) answers each request to
``/bimodal`` after ``FAST`` seconds, or, with probability 5%, after 50 x ``FAST``
(each copy of a request draws anew, as a server's slow path does). One ``AsyncClient``
(CPU 0) starts ``RATE`` GETs per second, open loop (a call starts on time whether or not
earlier ones ended: in a closed loop, hedging would free the callers stuck on slow
answers, raise the request rate and load the client's CPU, and every call would pay for
it); every call's latency is measured.

Contenders, interleaved per round (the order rotates):

- ``off``: no hedging;
- ``hedge``: ``Hedge()`` (adaptive delay: the 95th percentile of the origin's recent
  latencies; ``max_hedges=1``, ``max_extra_load=0.05``);
- ``hedge x2``: ``Hedge(max_hedges=2)``: a call whose first two copies are both slow
  (about 0.25% of calls with one hedge, above the 0.1% that p99.9 looks at) gets a third;
- ``x2, 6%``: ``Hedge(max_hedges=2, max_extra_load=0.06)``: the same, with room for the
  5% of slow first copies plus their slow hedges under the cap;
- ``x2, p94, 8%``: ``Hedge(max_hedges=2, max_extra_load=0.08, percentile=94)``: tuned for
  an origin known to answer 5% of requests slowly: the delay off the edge between the two
  modes (the 94th percentile is a fast answer), and a cap with headroom above the ~6%
  of attempts that outlast it, so the cap does not refuse the hedges of slow answers.

Named with ``--only`` only: ``x2, p94.5, 8%``, the same with the 94.5th percentile.

Each client first sends ``WARMUP`` calls (not measured: the adaptive delay needs 50
answers); then the process's heap is frozen (``gc.freeze()``, as long-running services
do), so full collections scan only what the run makes (one stalls every call in
flight). Reported per contender (median over rounds): p50, p99, p99.9 (ms), extra
requests (requests the server received / calls - 1), hedges the cap refused, the
slowest calls with their history (what the p99.9 is made of), and leaks: connections
the server still holds open once the slow replies are over minus the client pool's
connections (must be 0), connections of the pool not idle (must be 0), and connections
the server still holds after ``aclose()`` (must be 0).

Run: ``python benchmarks/bench_hedge.py`` (3 rounds of 10,000 calls per contender at 250/s,
about 11 minutes; ``--quick``: 1 round of 1,000 calls, about 25 s). ``--fast-ms 10``
sets the fast answer (the slow one stays 50x it); ``--only NAME`` (repeatable) runs
only those contenders and ``off`` (``--only "x2, p94, 8%"``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SERVER_CPU, get_json, parse_args, pin_client, rotated, write_json

import axios_like
from axios_like.control import AttemptKind, Origin, Refuse, Ticket

FAST = 0.002
SLOW_SHARE = 0.05
RATE = 250.0  # calls started per second (open loop), well below what one CPU can send
WARMUP = 500
#: Calls in flight at most. Normally 2 or 3 are; but when the machine (shared) stalls
#: this process for a few seconds, an open loop would start hundreds of calls at once,
#: and httpcore's pool, which scans every queued request against every connection on
#: each event, then burns the CPU it needs to catch up (measured: PoolTimeout with or
#: without hedging under a 4 s stall). Late starts are not counted as latency.
IN_FLIGHT = 64

SERVER = textwrap.dedent(
    """
    import contextlib, os, random, sys, threading
    from axios_like.testing.server import FlakyServer, Reply
    with contextlib.suppress(AttributeError, OSError):  # the client is pinned to the other CPU
        os.sched_setaffinity(0, {{{cpu}}})
    rng, lock, count = random.Random(7), threading.Lock(), [0]
    def bimodal(seen):
        with lock:
            count[0] += 1
            slow = rng.random() < {share}
        return Reply(200, json={{"ok": True}}, delay={slow} if slow else {fast})
    server = FlakyServer()
    def stats(seen):  # the asking connection is not counted as open
        with lock:
            return Reply(200, json={{"requests": count[0], "open": server.open_connections - 1}},
                         headers={{"Connection": "close"}})
    def reset(seen):
        with lock:
            count[0] = 0
        server.reset()
        server.handle("/bimodal", bimodal)
        server.handle("/_stats", stats)
        server.handle("/_reset", reset)
        return Reply(200, json={{}}, headers={{"Connection": "close"}})
    reset(None)
    print(server.port, flush=True)
    sys.stdin.read()
    server.close()
    """
)


class Server:
    """The bimodal ``FlakyServer`` in a subprocess (stdin closed: it stops)."""

    def __init__(self, fast: float) -> None:
        code = SERVER.format(cpu=SERVER_CPU, share=SLOW_SHARE, slow=50 * fast, fast=fast)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> dict[str, int]:
        return get_json(self.port, path)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class CountingHedge(axios_like.Hedge):
    """A ``Hedge`` that counts the hedges its ``max_extra_load`` refused."""

    refused = 0

    def admit(self, ticket: Ticket, now: float) -> Any:
        admission = super().admit(ticket, now)
        if ticket.kind is AttemptKind.HEDGE and isinstance(admission, Refuse):
            self.refused += 1
        return admission


def pool_connections(api: axios_like.AsyncClient) -> tuple[int, int]:
    """(connections, not idle) of the client's httpcore pool.

    Benchmark-only introspection through private attributes (``_http``, ``_transport``,
    ``_pool``): the library itself never reaches into httpx.
    """
    pool = api._http._transport._pool  # type: ignore[attr-defined]
    connections = pool.connections
    return len(connections), sum(1 for c in connections if not c.is_idle())


def percentile_ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index] * 1000


async def run(
    server: Server, name: str, hedge: axios_like.Hedge | None, calls: int, slow: float
) -> dict[str, Any]:
    api = axios_like.create_async(base_url=server.url, hedge=hedge, max_retries=0)
    latencies: list[float] = []
    #: The slowest calls, (latency, the call's history reasons): what they went through.
    slowest: list[tuple[float, list[str]]] = []
    keep = max(1, calls // 1000)  # the calls above p99.9

    room = asyncio.Semaphore(IN_FLIGHT)

    async def call(measure: bool) -> None:
        async with room:
            start = time.perf_counter()
            r = await api.get("/bimodal")
            if measure:
                latency = time.perf_counter() - start
                latencies.append(latency)
                if len(slowest) < keep or latency > slowest[0][0]:
                    entry = (latency, [h.reason for h in r.history])
                    (heapq.heappush if len(slowest) < keep else heapq.heapreplace)(slowest, entry)
        assert r.status == 200

    async def open_loop(count: int, measure: bool) -> None:
        """``count`` calls started at ``RATE`` per second, whether or not earlier ones ended
        (a closed loop would let hedging raise the request rate, and with it the load)."""
        begin = time.perf_counter()
        tasks = []
        for i in range(count):
            wait = begin + i / RATE - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(call(measure)))
        await asyncio.gather(*tasks)

    await open_loop(WARMUP, False)
    server.get("/_reset")
    # What exists now (modules, the client, its pool) is never garbage: out of the
    # collector's scans, as long-running services do. A full collection stalls every
    # call in flight, hedged or not (11-24 ms, 6 in 10,000 calls, in a run that also
    # kept every call's history: docs/traffic-shaping.md).
    gc.collect()
    gc.freeze()
    if isinstance(hedge, CountingHedge):
        hedge.refused = 0
    started = time.perf_counter()
    await open_loop(calls, True)
    seconds = time.perf_counter() - started
    measured = len(latencies)
    origin = Origin("http", "127.0.0.1", server.port)
    delay = None if hedge is None else hedge.delay_for(origin)
    await asyncio.sleep(slow * 2)  # the server's cancelled slow replies end
    requests = server.get("/_stats")["requests"]
    in_pool, busy = pool_connections(api)
    open_before_close = server.get("/_stats")["open"]
    await api.aclose()
    gc.unfreeze()
    await asyncio.sleep(0.2)
    open_after_close = server.get("/_stats")["open"]
    return {
        "name": name,
        "calls": measured,
        "seconds": round(seconds, 2),
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
        "p999_ms": percentile_ms(latencies, 99.9),
        "mean_ms": statistics.fmean(latencies) * 1000,
        "hedge_delay_ms_at_end": None if delay is None else round(delay * 1000, 2),
        "requests": requests,
        "extra_pct": (requests / measured - 1) * 100,
        "refused": hedge.refused if isinstance(hedge, CountingHedge) else 0,
        "slowest": [
            (round(latency * 1000, 2), reasons) for latency, reasons in sorted(slowest)[::-1]
        ],
        "leaked_server_connections": open_before_close - in_pool,
        "pool_connections": in_pool,
        "pool_not_idle": busy,
        "open_after_close": open_after_close,
    }


CONTENDERS: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("off", None),
    ("hedge", {}),
    ("hedge x2", {"max_hedges": 2}),
    ("x2, 6%", {"max_hedges": 2, "max_extra_load": 0.06}),
    ("x2, p94, 8%", {"max_hedges": 2, "max_extra_load": 0.08, "percentile": 94}),
)
#: Run only when named with ``--only``.
EXTRA: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("x2, p94.5, 8%", {"max_hedges": 2, "max_extra_load": 0.08, "percentile": 94.5}),
)
KEYS = ("p50_ms", "p99_ms", "p999_ms", "mean_ms", "extra_pct")


def main() -> int:
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--fast-ms", type=float, default=FAST * 1000, help="fast answer")
        parser.add_argument("--only", action="append", default=None, help="a contender (and off)")

    args = parse_args(__doc__.splitlines()[0], add)
    fast = args.fast_ms / 1000
    if args.only is None:
        contenders = list(CONTENDERS)
    else:
        contenders = [c for c in (*CONTENDERS, *EXTRA) if c[0] in ("off", *args.only)]
    rounds = args.rounds or (1 if args.quick else 3)
    calls = 1000 if args.quick else 10_000
    print(pin_client())
    print(
        f"server: {fast * 1000:g} ms, {SLOW_SHARE:.0%} at {50 * fast * 1000:g} ms; "
        f"{RATE:g} calls/s (open loop), {calls} calls per contender, {rounds} round(s)"
    )
    server = Server(fast)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in contenders}
    try:
        for index in range(rounds):
            for name, kwargs in rotated(contenders, index):
                hedge = None if kwargs is None else CountingHedge(**kwargs)
                result = asyncio.run(run(server, name, hedge, calls, 50 * fast))
                samples[name].append(result)
                print(
                    f"round {index + 1} {name:<9} p50 {result['p50_ms']:6.2f} ms  "
                    f"p99 {result['p99_ms']:7.2f} ms  p99.9 {result['p999_ms']:7.2f} ms  "
                    f"extra {result['extra_pct']:5.2f}%  refused {result['refused']}  "
                    f"leaks {result['leaked_server_connections']}"
                    f"/{result['pool_not_idle']}/{result['open_after_close']}  "
                    f"delay {result['hedge_delay_ms_at_end']} ms",
                    flush=True,
                )
    finally:
        server.close()
    summary: dict[str, dict[str, Any]] = {}
    for name, rows in samples.items():
        entry: dict[str, Any] = {key: statistics.median(r[key] for r in rows) for key in KEYS}
        for leak in ("leaked_server_connections", "pool_not_idle", "open_after_close"):
            entry[leak] = max(r[leak] for r in rows)
        summary[name] = entry
    base = summary["off"]
    print(
        f"\n{'contender':<10} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'extra %':>8} "
        f"{'p99 x':>7} {'p99.9 x':>8} {'leaks':>7}"
    )
    for name, entry in summary.items():
        entry["p99_better"] = base["p99_ms"] / entry["p99_ms"]
        entry["p999_better"] = base["p999_ms"] / entry["p999_ms"]
        leaks = (
            f"{entry['leaked_server_connections']}/{entry['pool_not_idle']}"
            f"/{entry['open_after_close']}"
        )
        print(
            f"{name:<10} {entry['p50_ms']:8.2f} {entry['p99_ms']:8.2f} {entry['p999_ms']:9.2f} "
            f"{entry['extra_pct']:8.2f} {entry['p99_better']:7.1f} {entry['p999_better']:8.1f} "
            f"{leaks:>7}"
        )
    write_json(
        "hedge",
        {
            "server": {"fast_s": fast, "slow_s": 50 * fast, "slow_share": SLOW_SHARE},
            "rate": RATE,
            "calls": calls,
            "warmup": WARMUP,
            "rounds": rounds,
            "summary": summary,
            "samples": samples,
        },
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
