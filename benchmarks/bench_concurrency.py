"""Concurrency: 64 async tasks sharing one client, throughput against raw httpx.AsyncClient.

64 tasks share one client of each kind and send GETs to the loopback benchmark server
until the round's request count is reached; throughput is requests / wall time. Every
client keeps its library's default connection limits (httpx: 100 connections, 20 kept
alive; aiohttp: 100). Contenders run interleaved in a rotated order for several
rounds; ratios are to raw ``httpx.AsyncClient`` (and, for the aiohttp-backed ones, to
raw aiohttp) in the same round. The aiohttp-backed clients get 3x the requests per
round, so that each contender runs for a similar time.

Run: ``python benchmarks/bench_concurrency.py`` (``--quick``: a smoke run).
"""

from __future__ import annotations

import asyncio
import gc

from _common import (
    BenchServer,
    aggregate,
    fmt,
    measure,
    parse_args,
    pin_client,
    print_table,
    ratios,
    rotated,
    summary,
    write_json,
)
from _contenders import Async, async_contenders

BASELINE = "httpx (raw)"
AIOHTTP = "aiohttp (raw)"
TASKS = 64
RETRIES = 3
FAST_SCALE = 3.0


async def blast(c: Async, url: str, total: int) -> None:
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while sent < total:
            sent += 1
            status = await c.call(url)
            if status != 200:
                raise AssertionError(f"{c.name}: status {status}")

    await asyncio.gather(*(worker() for _ in range(TASKS)))


async def run(server: BenchServer, url: str, n: int, rounds: int, notes: list[str]):
    contenders = await async_contenders(RETRIES, notes)
    for c in contenders:
        if "aiohttp" in c.name:
            c.scale = FAST_SCALE
    samples: dict[str, list[dict[str, float]]] = {c.name: [] for c in contenders}
    counts = {c.name: max(TASKS, int(n * c.scale)) for c in contenders}
    for c in contenders:  # open the connections once
        await blast(c, url, TASKS)
    for r in range(rounds):
        for c in rotated(contenders, r):
            gc.collect()
            sample: dict[str, float] = {}
            with measure(counts[c.name], server, sample):
                await blast(c, url, counts[c.name])
            samples[c.name].append(sample)
    for c in contenders:
        await c.close()
    results = aggregate(samples, BASELINE, ["rps", "cpu_us"])
    if AIOHTTP in samples:
        for name, rows in samples.items():
            results[name]["rps_ratio_aiohttp"] = summary(ratios(rows, samples[AIOHTTP], "rps"))
    return results, counts


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0],
        lambda p: p.add_argument("--n", type=int, default=None, help="requests per round"),
    )
    rounds = args.rounds or (2 if args.quick else 9)
    n = args.n or (TASKS if args.quick else 600)
    print(pin_client())
    notes: list[str] = []
    with BenchServer() as server:
        results, counts = asyncio.run(run(server, f"{server.url}/ok", n, rounds, notes))
    rows = []
    for name, r in results.items():
        to_aio = r.get("rps_ratio_aiohttp")
        rows.append(
            [
                name,
                fmt(r["rps"], 0),
                f"{r['rps_ratio']['median']:.2f} ({r['rps_ratio']['min']:.2f}-"
                f"{r['rps_ratio']['max']:.2f})",
                ""
                if to_aio is None
                else f"{to_aio['median']:.2f} ({to_aio['min']:.2f}-{to_aio['max']:.2f})",
                fmt(r["cpu_us"], 0),
                f"{r['server_busy']['max'] * 100:.0f}%",
            ]
        )
    print(f"\n{TASKS} tasks, one client each, {rounds} rounds: median (min-max)")
    print_table(
        [
            "client",
            "requests/s",
            "x httpx (raw)",
            "x aiohttp (raw)",
            "CPU us/request",
            "server CPU (max)",
        ],
        rows,
    )
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    write_json(
        "concurrency",
        {
            "rounds": rounds,
            "tasks": TASKS,
            "requests_per_round": counts,
            "baseline": BASELINE,
            "results": results,
            "notes": list(dict.fromkeys(notes)),
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
