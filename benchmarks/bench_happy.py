"""Happy path: sequential GETs, client CPU per request and requests/s, against raw httpx.

One client of each kind sends GETs one after another to the loopback benchmark server
(every response is a 200, so no retry happens; retries are enabled everywhere). Per
contender and round: client CPU microseconds per request (``time.process_time()`` of
this process) and requests per second. Contenders run interleaved, in a rotated order,
for several rounds; every figure is also given as a ratio to raw httpx of the same
flavour (sync or async) in the same round.

Run: ``python benchmarks/bench_happy.py`` (``--quick``: a smoke run; ``--n``, ``--rounds``;
``--only sync|async``: one flavour, printed and not saved).
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from _common import (
    BenchServer,
    aggregate,
    measure,
    parse_args,
    pin_client,
    print_happy_table,
    rotated,
    write_json,
)
from _contenders import async_contenders, sync_contenders

BASELINE = "httpx (raw)"
RETRIES = 3


def run_sync(server: BenchServer, url: str, n: int, rounds: int, notes: list[str]):
    contenders = sync_contenders(RETRIES, notes)
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
    return aggregate(samples, BASELINE, ["cpu_us", "rps"]), {
        c.name: max(10, int(n * c.scale)) for c in contenders
    }


async def run_async(server: BenchServer, url: str, n: int, rounds: int, notes: list[str]):
    contenders = await async_contenders(RETRIES, notes)
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
    return aggregate(samples, BASELINE, ["cpu_us", "rps"]), {
        c.name: max(10, int(n * c.scale)) for c in contenders
    }


def main() -> None:
    def add(p: Any) -> None:
        p.add_argument("--n", type=int, default=None, help="requests per round")
        p.add_argument("--only", choices=("sync", "async"), help="run one flavour")

    args = parse_args(__doc__.splitlines()[0], add)
    # Many short rounds: on a shared machine the per-round ratio's median is steadier
    # than a few long rounds.
    rounds = args.rounds or (2 if args.quick else 15)
    n = args.n or (40 if args.quick else 500)
    print(pin_client())
    notes: list[str] = []
    with BenchServer() as server:
        url = f"{server.url}/ok"
        sync: Any = {}
        aio: Any = {}
        sync_n: Any = {}
        aio_n: Any = {}
        if args.only != "async":
            sync, sync_n = run_sync(server, url, n, rounds, notes)
            print_happy_table(
                f"sync, {n} sequential GETs x {rounds} rounds: median (min-max)", sync, BASELINE
            )
        if args.only != "sync":
            aio, aio_n = asyncio.run(run_async(server, url, n, rounds, notes))
            print_happy_table(
                f"async, {n} sequential GETs x {rounds} rounds: median (min-max)", aio, BASELINE
            )
        if args.only:  # a partial run: keep the full results file as it is
            return
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    write_json(
        "happy",
        {
            "rounds": rounds,
            "requests_per_round": {"sync": sync_n, "async": aio_n},
            "baseline": BASELINE,
            "sync": sync,
            "async": aio,
            "notes": list(dict.fromkeys(notes)),
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
