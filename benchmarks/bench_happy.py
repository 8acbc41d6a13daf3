"""Happy path: sequential GETs, client CPU per request and requests/s, against raw httpx.

One client of each kind sends GETs one after another to the loopback benchmark server
(every response is a 200, so no retry happens; retries are enabled everywhere). Per
contender and round: client CPU microseconds per request (``time.process_time()`` of
this process) and requests per second. Contenders run interleaved, in a rotated order,
for several rounds; every figure is also given as a ratio to raw httpx of the same
flavour (sync or async) in the same round.

Fleet mode: two more rows per flavour give the client the same retry budget and
circuit breaker, once local and once shared through Redis
(``axios_like.redis.RedisState``, default ``sync_interval=1.0``), against a
``redis-server`` the benchmark starts on 127.0.0.1 (the rows are skipped, with a
note, when redis-server or redis-py is missing). ``INFO commandstats`` counts what
Redis was sent while they ran: one ``EVALSHA`` per sync interval, none per request.

Run: ``python benchmarks/bench_happy.py`` (``--quick``: a smoke run; ``--n``, ``--rounds``;
``--only sync|async``: one flavour, printed and not saved; ``--fleet``: only raw httpx,
``axios_like`` and the two fleet mode rows, saved as ``happy_fleet.json``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator
from typing import Any

from _common import (
    BenchServer,
    RedisServer,
    aggregate,
    measure,
    parse_args,
    pin_client,
    print_happy_table,
    rotated,
    write_json,
)
from _contenders import (
    FLEET_ROW,
    LOCAL_ROW,
    async_contenders,
    fleet_async_contenders,
    fleet_sync_contenders,
    sync_contenders,
)

BASELINE = "httpx (raw)"
RETRIES = 3
#: ``--fleet`` keeps these of the usual contenders (and adds the fleet mode rows).
FLEET_BASE = ("httpx (raw)", "axios_like")


class Fleet:
    """The fleet mode rows' Redis and RedisState, and what Redis was sent while they ran."""

    def __init__(self, redis: RedisServer) -> None:
        from axios_like.redis import RedisState

        self.redis = redis
        self.shared = RedisState(redis.url, namespace="bench")
        self.counts: dict[str, Any] = {}

    @contextlib.contextmanager
    def counting(self, flavour: str, calls: list[int]) -> Iterator[None]:
        """Count the commands Redis got meanwhile (the benchmark's own INFO left out)."""
        before, syncs, began = self.redis.commands(), self.shared.syncs, time.monotonic()
        failures = self.shared.failures
        yield
        seconds = time.monotonic() - began
        assert not self.shared.running  # its clients closed: the sync thread stopped
        after = self.redis.commands()
        sent = {
            k: n - before.get(k, 0)
            for k, n in after.items()
            if k not in ("info", "ping") and n > before.get(k, 0)
        }
        scripts = sent.get("evalsha", 0) + sent.get("eval", 0)
        interval = self.shared.sync_interval
        self.counts[flavour] = {
            "seconds": seconds,
            "sync_interval": interval,
            "fleet_requests": calls[0],
            "commands": sent,
            "script_calls": scripts,
            "syncs": self.shared.syncs - syncs,
            "failed_syncs": self.shared.failures - failures,
            # a sync at the thread's start, then one per interval; plus one EVALSHA that
            # found no script (NOSCRIPT) on a fresh Redis
            "script_calls_bound": int(seconds / interval) + 2,
            "script_calls_per_interval": scripts / (seconds / interval),
            "script_calls_per_request": scripts / max(1, calls[0]),
        }
        print(
            f"\nRedis, {flavour}: {sent} in {seconds:.1f} s for {calls[0]:,} fleet mode "
            f"requests: {scripts} script calls = {scripts / (seconds / interval):.2f} per "
            f"sync_interval ({interval:g} s), {scripts / max(1, calls[0]):.5f} per request"
        )

    def close(self) -> None:
        self.shared.close()
        self.redis.close()


def _counted(call: Any, calls: list[int], is_async: bool) -> Any:
    """``call`` counting its requests in ``calls[0]`` (the fleet mode row's)."""
    if is_async:

        async def acall(url: str) -> int:
            calls[0] += 1
            return int(await call(url))

        return acall

    def scall(url: str) -> int:
        calls[0] += 1
        return int(call(url))

    return scall


def _results(samples: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Every row against raw httpx; the fleet mode row also against local mode, per round."""
    results = aggregate(samples, BASELINE, ["cpu_us", "rps"])
    if FLEET_ROW in samples:
        vs_local = aggregate(samples, LOCAL_ROW, ["cpu_us", "rps"])[FLEET_ROW]
        results[FLEET_ROW]["vs_local"] = {
            "cpu_us_ratio": vs_local["cpu_us_ratio"],
            "rps_ratio": vs_local["rps_ratio"],
        }
    return results


def _picked(contenders: list[Any], only: tuple[str, ...] | None) -> tuple[list[Any], list[Any]]:
    """(kept, dropped): ``only`` None keeps them all."""
    if only is None:
        return contenders, []
    return [c for c in contenders if c.name in only], [c for c in contenders if c.name not in only]


def run_sync(
    server: BenchServer,
    url: str,
    n: int,
    rounds: int,
    notes: list[str],
    fleet: Fleet | None = None,
    only: tuple[str, ...] | None = None,
):
    contenders, dropped = _picked(sync_contenders(RETRIES, notes, fast=only is None), only)
    for c in dropped:
        c.close()
    calls = [0]
    # Redis is counted from before the fleet mode clients exist to after they closed
    with fleet.counting("sync", calls) if fleet is not None else contextlib.nullcontext():
        if fleet is not None:
            contenders += fleet_sync_contenders(RETRIES, fleet.shared)
            contenders[-1].call = _counted(contenders[-1].call, calls, is_async=False)
        samples: dict[str, list[dict[str, float]]] = {c.name: [] for c in contenders}
        for r in range(rounds):
            for c in rotated(contenders, r):
                count = max(10, int(n * c.scale))
                for _ in range(max(5, count // 20)):  # warm-up: connections, caches
                    assert c.call(url) == 200
                gc.collect()
                sample: dict[str, float] = {}
                with measure(count, server, sample):
                    for _ in range(count):
                        c.call(url)
                samples[c.name].append(sample)
        for c in contenders:
            c.close()
    return _results(samples), {c.name: max(10, int(n * c.scale)) for c in contenders}


async def run_async(
    server: BenchServer,
    url: str,
    n: int,
    rounds: int,
    notes: list[str],
    fleet: Fleet | None = None,
    only: tuple[str, ...] | None = None,
):
    everyone = await async_contenders(RETRIES, notes, fast=only is None)
    contenders, dropped = _picked(everyone, only)
    for c in dropped:
        await c.close()
    calls = [0]
    with fleet.counting("async", calls) if fleet is not None else contextlib.nullcontext():
        if fleet is not None:
            contenders += await fleet_async_contenders(RETRIES, fleet.shared)
            contenders[-1].call = _counted(contenders[-1].call, calls, is_async=True)
        samples: dict[str, list[dict[str, float]]] = {c.name: [] for c in contenders}
        for r in range(rounds):
            for c in rotated(contenders, r):
                count = max(10, int(n * c.scale))
                for _ in range(max(5, count // 20)):
                    assert await c.call(url) == 200
                gc.collect()
                sample: dict[str, float] = {}
                with measure(count, server, sample):
                    for _ in range(count):
                        await c.call(url)
                samples[c.name].append(sample)
        for c in contenders:
            await c.close()
    return _results(samples), {c.name: max(10, int(n * c.scale)) for c in contenders}


def main() -> None:
    def add(p: Any) -> None:
        p.add_argument("--n", type=int, default=None, help="requests per round")
        p.add_argument("--only", choices=("sync", "async"), help="run one flavour")
        p.add_argument(
            "--fleet",
            action="store_true",
            help="only raw httpx, axios_like and the fleet mode rows (happy_fleet.json)",
        )

    args = parse_args(__doc__.splitlines()[0], add)
    # Many short rounds: on a shared machine the per-round ratio's median is steadier
    # than a few long rounds.
    rounds = args.rounds or (2 if args.quick else 15)
    n = args.n or (40 if args.quick else 500)
    print(pin_client())
    notes: list[str] = []
    only = FLEET_BASE if args.fleet else None
    redis = RedisServer.start(notes)
    if redis is None and args.fleet:  # a skip, not a failure (run_all.py goes on)
        print("skipped: --fleet needs redis-server and redis-py (see the note above)")
        return
    fleet = Fleet(redis) if redis is not None else None
    try:
        with BenchServer() as server:
            url = f"{server.url}/ok"
            sync: Any = {}
            aio: Any = {}
            sync_n: Any = {}
            aio_n: Any = {}
            if args.only != "async":
                sync, sync_n = run_sync(server, url, n, rounds, notes, fleet, only)
                print_happy_table(
                    f"sync, {n} sequential GETs x {rounds} rounds: median (min-max)",
                    sync,
                    BASELINE,
                )
            if args.only != "sync":
                aio, aio_n = asyncio.run(run_async(server, url, n, rounds, notes, fleet, only))
                print_happy_table(
                    f"async, {n} sequential GETs x {rounds} rounds: median (min-max)",
                    aio,
                    BASELINE,
                )
    finally:
        if fleet is not None:
            fleet.close()
    if args.only:  # a partial run: keep the full results file as it is
        return
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    write_json(
        "happy_fleet" if args.fleet else "happy",
        {
            "rounds": rounds,
            "requests_per_round": {"sync": sync_n, "async": aio_n},
            "baseline": BASELINE,
            "sync": sync,
            "async": aio,
            "fleet_row": FLEET_ROW if fleet is not None else None,
            "redis": fleet.counts if fleet is not None else None,
            "notes": list(dict.fromkeys(notes)),
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
