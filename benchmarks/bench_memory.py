"""Memory: 100,000 calls through one client, with retries, show no growth.

One client per flavour makes 100,000 sequential calls to the loopback benchmark
server under ``axios_like.testing.instant_retries()``; every 10th call hits an
endpoint that fails once with 503, so 10% of the calls go through a retry (a failed
response drained and closed, a wait computed and skipped, history kept). After a
warm-up, ``tracemalloc`` traces every allocation; at 10k, 50k and 100k calls the
garbage is collected and the traced memory still allocated is recorded, with the
process's resident set size. Growth between 10k and 100k would be a leak: per-call
state left on the client, an unclosed response, a cache without a bound. The caches
bounded by design (our URL and origin memos, ``re``'s, ``urllib.parse``'s, yarl's) are emptied
before each checkpoint, so that their sawtooth does not read as growth.

Flavours: ``sync`` (httpx's default transport), ``sync-urllib3`` (the sync shell over
``transports.urllib3_transport()``, when urllib3 is installed) and ``async-aiohttp``
(the async shell over ``transports.aiohttp_transport()``, when aiohttp is installed)
by default;
``--flavour async`` adds the async shell over httpx's default transport (tracing
makes that one slow: ~10 minutes for 100k calls here).

Run: ``python benchmarks/bench_memory.py`` (``--quick``: a smoke run; ``--calls``,
``--flavour``).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from _common import BenchServer, parse_args, pin_client, print_table, try_import, write_json

import axios_like
from axios_like.testing import instant_retries

GROWTH_LIMIT_KIB = 64.0  # "no growth": less than this between the first and last checkpoint
#: Below this the bounded caches of the stdlib and httpx (urlsplit's lru_cache, re's
#: pattern cache...) are still filling at the first checkpoint: no verdict.
MIN_CALLS_FOR_VERDICT = 20_000
FLAVOURS = ("sync", "sync-urllib3", "async", "async-aiohttp")
DEFAULT_FLAVOURS = ("sync", "sync-urllib3", "async-aiohttp")
_FILTERS = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<unknown>"),
)


def rss_kib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def clear_bounded_caches() -> None:
    """Empty the caches that are bounded by design before each checkpoint.

    They fill and empty in a sawtooth (our URL memo holds 512 URLs and is cleared when
    full; every 10th call here has a new URL), so where a checkpoint falls in the tooth
    would read as hundreds of KiB of "growth" or "shrinkage". A leak survives this.
    """
    import re
    import urllib.parse

    from axios_like import _urls

    _urls._URLS.clear()
    _urls._ORIGINS.clear()
    re.purge()
    urllib.parse.clear_cache()
    yarl = sys.modules.get("yarl")
    if yarl is not None and hasattr(yarl, "cache_clear"):
        yarl.cache_clear()


class Recorder:
    def __init__(self, checkpoints: list[int]) -> None:
        self.checkpoints = set(checkpoints)
        self.rows: list[dict[str, float]] = []
        self.snapshots: list[tracemalloc.Snapshot] = []
        self.start = time.perf_counter()

    def maybe(self, done: int) -> None:
        if done not in self.checkpoints:
            return
        clear_bounded_caches()
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot().filter_traces(_FILTERS)
        self.snapshots[1:] = [snapshot]  # the first and the latest: all top_growth needs
        self.rows.append(
            {
                "calls": done,
                "traced_kib": current / 1024,
                "rss_kib": rss_kib(),
                "elapsed_s": time.perf_counter() - self.start,
            }
        )

    def top_growth(self, limit: int = 5) -> list[str]:
        if len(self.snapshots) < 2:
            return []
        diff = self.snapshots[-1].compare_to(self.snapshots[0], "lineno")
        return [str(d) for d in diff if d.size_diff > 0][:limit]


def urls(base: str, calls: int) -> Any:
    ids = itertools.count()
    for i in range(1, calls + 1):
        yield i, (f"{base}/flaky/1/{next(ids)}" if i % 10 == 0 else f"{base}/ok")


def run_sync(
    base: str, calls: int, warmup: int, checkpoints: list[int], *, fast: bool = False
) -> Recorder:
    extra: dict[str, Any] = {}
    if fast:
        extra["transport"] = axios_like.transports.urllib3_transport()
    with axios_like.create(max_retries=3, **extra) as api:
        for _, url in urls(base, warmup):
            assert api.get(url).status == 200
        tracemalloc.start()
        rec = Recorder(checkpoints)
        for i, url in urls(base, calls):
            response = api.get(url)
            if response.status != 200:
                raise AssertionError(response)
            rec.maybe(i)
    tracemalloc.stop()
    return rec


async def run_async(
    base: str, calls: int, warmup: int, checkpoints: list[int], *, fast: bool
) -> Recorder:
    extra: dict[str, Any] = {}
    if fast:
        extra["transport"] = axios_like.transports.aiohttp_transport()
    async with axios_like.create_async(max_retries=3, **extra) as api:
        for _, url in urls(base, warmup):
            assert (await api.get(url)).status == 200
        tracemalloc.start()
        rec = Recorder(checkpoints)
        for i, url in urls(base, calls):
            response = await api.get(url)
            if response.status != 200:
                raise AssertionError(response)
            rec.maybe(i)
    tracemalloc.stop()
    return rec


def main() -> None:
    def add(p: Any) -> None:
        p.add_argument("--calls", type=int, default=None)
        p.add_argument("--every", type=int, default=None, help="a checkpoint every N calls")
        p.add_argument("--flavour", choices=FLAVOURS, action="append")

    args = parse_args(__doc__.splitlines()[0], add)
    calls = args.calls or (400 if args.quick else 100_000)
    every = args.every or (calls // 10)  # 100k calls: a sample at every 10k
    checkpoints = list(range(every, calls + 1, every))
    warmup = max(100, calls // 100)
    flavours = list(args.flavour or DEFAULT_FLAVOURS)
    print(pin_client())
    notes: list[str] = []
    if "async-aiohttp" in flavours and try_import("aiohttp", "aiohttp", notes) is None:
        flavours.remove("async-aiohttp")
    if "sync-urllib3" in flavours and try_import("urllib3", "urllib3", notes) is None:
        flavours.remove("sync-urllib3")
    results: dict[str, Any] = {}
    with BenchServer() as server, instant_retries():
        for flavour in flavours:
            if flavour.startswith("sync"):
                rec = run_sync(
                    server.url, calls, warmup, checkpoints, fast=flavour == "sync-urllib3"
                )
            else:
                rec = asyncio.run(
                    run_async(
                        server.url, calls, warmup, checkpoints, fast=flavour == "async-aiohttp"
                    )
                )
            growth = rec.rows[-1]["traced_kib"] - rec.rows[0]["traced_kib"]
            judged = calls >= MIN_CALLS_FOR_VERDICT
            results[flavour] = {
                "checkpoints": rec.rows,
                "growth_kib": growth,
                "no_growth": (growth < GROWTH_LIMIT_KIB) if judged else None,
                "top_growth": rec.top_growth(),
            }
            print(f"\n{flavour}: {calls:,} calls (10% retried once), instant retries")
            print_table(
                ["calls", "traced KiB", "RSS KiB", "elapsed s"],
                [
                    [
                        f"{r['calls']:,}",
                        f"{r['traced_kib']:.1f}",
                        f"{r['rss_kib']:.0f}",
                        f"{r['elapsed_s']:.1f}",
                    ]
                    for r in rec.rows
                ],
            )
            verdict = "no growth" if growth < GROWTH_LIMIT_KIB else "GROWTH"
            if not judged:  # bounded caches (urlsplit, re, ...) are still filling
                verdict = f"no verdict under {MIN_CALLS_FOR_VERDICT:,} calls"
            print(f"{verdict}: {growth:+.1f} KiB traced from {checkpoints[0]:,} to {calls:,} calls")
            for line in rec.top_growth(3):
                print(f"  {line}")
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    write_json(
        "memory",
        {
            "calls": calls,
            "retried_every": 10,
            "growth_limit_kib": GROWTH_LIMIT_KIB,
            "results": results,
            "notes": list(dict.fromkeys(notes)),
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
