"""Retry path: an endpoint that fails twice with 503, then answers 200; zero waits.

Every logical call GETs ``/flaky/2/<fresh id>``: the server answers 503, 503, then 200
for that id, and counts every request it sees. Each library is set up for 2 retries
(3 attempts: ``max_retries=2``, ``Retry(total=2)``, ``stop_after_attempt(3)``,
``attempts=3``) with every wait 0 s, so the figures are the machinery's own cost.

Per library: wall time and client CPU per logical call, the requests the server saw
per logical call (does "2 retries" give 3 attempts everywhere?) and the status the
caller got. The baseline, ``httpx (3 GETs by hand)``, is a plain loop sending the GET
until it is not a 503, at most 3 times: the floor for 3 requests with no retry library.

Run: ``python benchmarks/bench_retry_path.py`` (``--quick``: a smoke run).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections import Counter
from typing import Any

import httpx
from _common import (
    BenchServer,
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
from _contenders import Async, Sync, async_contenders, fast_contenders, sync_contenders

BASELINE = "httpx (3 GETs by hand)"
RETRIES = 2
_ids = itertools.count()


def flaky_url(server: BenchServer) -> str:
    return f"{server.url}/flaky/2/{next(_ids)}"


def outcome(fn: Any) -> str:
    try:
        return str(fn())
    except Exception as exc:  # a library that gives up raises: report what it raised
        return type(exc).__name__


async def aoutcome(coro: Any) -> str:
    try:
        return str(await coro)
    except Exception as exc:
        return type(exc).__name__


def by_hand_sync() -> Sync:
    client = httpx.Client()

    def call(url: str) -> int:
        for _ in range(RETRIES + 1):
            status = client.get(url).status_code
            if status != 503:
                break
        return status

    return Sync(BASELINE, call, client.close)


def by_hand_async() -> Async:
    client = httpx.AsyncClient()

    async def call(url: str) -> int:
        for _ in range(RETRIES + 1):
            status = (await client.get(url)).status_code
            if status != 503:
                break
        return status

    return Async(BASELINE, call, client.aclose)


def finish(samples, statuses, counts):
    out: dict[str, Any] = {}
    for name, rows in samples.items():
        out[name] = {
            "ms_per_call": summary([r["wall_s"] / counts[name] * 1e3 for r in rows]),
            "cpu_us": summary([r["cpu_us"] for r in rows]),
            "cpu_us_ratio": summary(ratios(rows, samples[BASELINE], "cpu_us")),
            "wall_ratio": summary(
                [
                    (r["wall_s"] / counts[name]) / (b["wall_s"] / counts[BASELINE])
                    for r, b in zip(rows, samples[BASELINE], strict=True)
                ]
            ),
            "requests_per_call": summary([r["requests_per_call"] for r in rows]),
            "statuses": dict(statuses[name]),
            "calls_per_round": counts[name],
        }
    return out


def run_sync(server: BenchServer, n: int, rounds: int, notes: list[str]):
    contenders = [
        by_hand_sync(),
        *(
            c
            for c in sync_contenders(RETRIES, notes, zero_wait=True, fast=False)
            if c.name != "httpx (raw)"
        ),
    ]
    samples: dict[str, list[dict[str, float]]] = {c.name: [] for c in contenders}
    statuses: dict[str, Counter[str]] = {c.name: Counter() for c in contenders}
    counts = {c.name: max(5, int(n * c.scale)) for c in contenders}
    for r in range(rounds):
        for c in rotated(contenders, r):
            for _ in range(3):
                outcome(lambda c=c: c.call(flaky_url(server)))
            urls = [flaky_url(server) for _ in range(counts[c.name])]
            gc.collect()
            server.reset()
            sample: dict[str, float] = {}
            with measure(len(urls), server, sample):
                for url in urls:
                    statuses[c.name][outcome(lambda c=c, url=url: c.call(url))] += 1
            sample["requests_per_call"] = server.stats()["requests"] / len(urls)
            samples[c.name].append(sample)
    for c in contenders:
        c.close()
    return finish(samples, statuses, counts)


async def run_async(server: BenchServer, n: int, rounds: int, notes: list[str]):
    contenders = [
        by_hand_async(),
        *(
            c
            for c in await async_contenders(RETRIES, notes, zero_wait=True, fast=False)
            if c.name != "httpx (raw)"
        ),
        *(
            c
            for c in await fast_contenders(RETRIES, notes, zero_wait=True)
            if "(raw)" not in c.name
        ),
    ]
    samples: dict[str, list[dict[str, float]]] = {c.name: [] for c in contenders}
    statuses: dict[str, Counter[str]] = {c.name: Counter() for c in contenders}
    counts = {c.name: max(5, int(n * c.scale)) for c in contenders}
    for r in range(rounds):
        for c in rotated(contenders, r):
            for _ in range(3):
                await aoutcome(c.call(flaky_url(server)))
            urls = [flaky_url(server) for _ in range(counts[c.name])]
            gc.collect()
            server.reset()
            sample: dict[str, float] = {}
            with measure(len(urls), server, sample):
                for url in urls:
                    statuses[c.name][await aoutcome(c.call(url))] += 1
            sample["requests_per_call"] = server.stats()["requests"] / len(urls)
            samples[c.name].append(sample)
    for c in contenders:
        await c.close()
    return finish(samples, statuses, counts)


def show(title: str, results: dict[str, Any]) -> None:
    print(f"\n{title}")
    rows = []
    for name, r in results.items():
        rows.append(
            [
                name,
                fmt(r["ms_per_call"], 2),
                f"{r['wall_ratio']['median']:.2f}",
                fmt(r["cpu_us"], 0),
                f"{r['cpu_us_ratio']['median']:.2f}",
                f"{r['requests_per_call']['median']:.2f}",
                ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items())),
            ]
        )
    print_table(
        ["client", "ms/call", f"x {BASELINE}", "CPU us/call", "CPU x", "requests/call", "outcomes"],
        rows,
    )


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0],
        lambda p: p.add_argument("--n", type=int, default=None, help="logical calls per round"),
    )
    rounds = args.rounds or (2 if args.quick else 5)
    n = args.n or (6 if args.quick else 300)
    print(pin_client())
    notes: list[str] = []
    with BenchServer() as server:
        sync = run_sync(server, n, rounds, notes)
        show(f"sync, {n} calls x {rounds} rounds (503, 503, 200 each): median (min-max)", sync)
        aio = asyncio.run(run_async(server, n, rounds, notes))
        show(f"async, {n} calls x {rounds} rounds (503, 503, 200 each): median (min-max)", aio)
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    write_json(
        "retry_path",
        {
            "rounds": rounds,
            "baseline": BASELINE,
            "retries": RETRIES,
            "sync": sync,
            "async": aio,
            "notes": list(dict.fromkeys(notes)),
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
