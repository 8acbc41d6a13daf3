"""Profiles: where a request's CPU goes, by package, on the two fast engines.

- ``sync-urllib3``: sequential GETs through ``axios_like.create(transport=
  transports.urllib3_transport())``;
- ``async-aiohttp-64``: 64 tasks sharing ``axios_like.create_async(transport=
  transports.aiohttp_transport())``, as in ``bench_concurrency.py``.

Each runs under ``cProfile`` against the loopback benchmark server. The report
attributes every function's *own* time (``tottime``) to the package that defines it
(``axios_like``, ``httpx``, ``httpcore``, ``urllib3``, ``aiohttp``, ``http.client``,
``asyncio``, other stdlib, builtins) and prints microseconds per request for each;
the full ``pstats`` listing (top functions by own time and by cumulative time) is
saved as text under ``benchmarks/results/profile_<name>.txt``. The timer is the
wall clock: ``socket I/O`` includes the time blocked waiting for the server.

First, without a profiler, the sync stack is measured one layer at a time (client
CPU per request, medians over interleaved rounds, as a ratio to raw httpx): raw
urllib3, our transport alone, httpx's own transport alone, ``httpx.Client`` over a
``MockTransport`` (httpx's request/response model and client logic with no I/O), then
the full clients. It shows which part of the cost is httpx's model, which no
transport can remove. cProfile slows
everything down roughly twofold, evenly enough that the *shares* are what to read.

Run: ``python benchmarks/bench_profile.py`` (``--quick``: a smoke run; ``--n``).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import statistics
import time
from collections import defaultdict
from typing import Any

from _common import RESULTS, BenchServer, parse_args, pin_client, print_table, write_json

import axios_like

TASKS = 64
GROUPS = (
    ("axios_like", "/axios_like/"),
    ("httpx", "/httpx/"),
    ("httpcore", "/httpcore/"),
    ("urllib3", "/urllib3/"),
    ("aiohttp", "/aiohttp/"),
    ("multidict/yarl", "/multidict/"),
    ("multidict/yarl", "/yarl/"),
    ("http.client", "/http/client.py"),
    ("asyncio", "/asyncio/"),
    ("ssl/socket/selectors", "/socket.py"),
    ("ssl/socket/selectors", "/selectors.py"),
    ("ssl/socket/selectors", "/ssl.py"),
)


def group_of(filename: str, function: str) -> str:
    if filename == "~":  # a builtin: name it by what it is a method of
        if "socket" in function or "recv" in function or "send" in function:
            return "socket I/O (builtin)"
        if "select" in function or "poll" in function:
            return "socket I/O (builtin)"
        return "builtins"
    for name, marker in GROUPS:
        if marker in filename:
            return name
    return "other stdlib / python"


def by_group(stats: pstats.Stats, requests: int) -> list[tuple[str, float, float]]:
    totals: dict[str, float] = defaultdict(float)
    raw: Any = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        totals[group_of(filename, function)] += tottime
    whole = sum(totals.values()) or 1.0
    return sorted(
        ((g, t / requests * 1e6, t / whole) for g, t in totals.items()),
        key=lambda row: -row[1],
    )


def listing(stats: pstats.Stats, top: int = 40) -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def profile_sync(url: str, n: int) -> cProfile.Profile:
    transport = axios_like.transports.urllib3_transport()
    with axios_like.create(max_retries=3, transport=transport) as api:
        for _ in range(max(20, n // 20)):
            assert api.get(url).status == 200
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            api.get(url)
        prof.disable()
    return prof


async def profile_async(url: str, n: int) -> cProfile.Profile:
    transport = axios_like.transports.aiohttp_transport()
    async with axios_like.create_async(max_retries=3, transport=transport) as api:

        async def blast(total: int) -> None:
            sent = 0

            async def worker() -> None:
                nonlocal sent
                while sent < total:
                    sent += 1
                    assert (await api.get(url)).status == 200

            await asyncio.gather(*(worker() for _ in range(TASKS)))

        await blast(max(TASKS, n // 20))
        prof = cProfile.Profile()
        prof.enable()
        await blast(n)
        prof.disable()
    return prof


def sync_layers(url: str, n: int, rounds: int) -> dict[str, float]:
    """Client CPU us/request of each sync layer (medians over interleaved rounds)."""
    import httpx
    import urllib3

    pool = urllib3.PoolManager()
    ours = axios_like.transports.urllib3_transport()
    theirs = httpx.HTTPTransport()
    request = httpx.Request("GET", url)

    def through(transport: httpx.BaseTransport) -> Any:
        def call() -> None:
            response = transport.handle_request(request)
            response.read()
            response.close()

        return call

    def canned(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"ok")

    raw = httpx.Client()
    mock = httpx.Client(transport=httpx.MockTransport(canned))
    hx3 = httpx.Client(transport=axios_like.transports.urllib3_transport())
    api = axios_like.create(max_retries=3)
    api3 = axios_like.create(max_retries=3, transport=axios_like.transports.urllib3_transport())
    cases: dict[str, Any] = {
        "urllib3 (raw) PoolManager.request": lambda: pool.request("GET", url),
        "urllib3_transport().handle_request": through(ours),
        "httpx.HTTPTransport().handle_request": through(theirs),
        "httpx.Client over MockTransport (no I/O)": lambda: mock.get(url),
        "httpx (raw)": lambda: raw.get(url),
        "httpx + urllib3_transport": lambda: hx3.get(url),
        "axios_like": lambda: api.get(url),
        "axios_like + urllib3_transport": lambda: api3.get(url),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            call = cases[name]
            for _ in range(max(10, n // 20)):
                call()
            started = time.process_time()
            for _ in range(n):
                call()
            samples[name].append((time.process_time() - started) / n * 1e6)
    for client in (raw, mock, hx3, api, api3):
        client.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    def add(p: Any) -> None:
        p.add_argument("--n", type=int, default=None, help="requests per profile")

    args = parse_args(__doc__.splitlines()[0], add)
    n = args.n or (200 if args.quick else 20_000)
    print(pin_client())
    results: dict[str, Any] = {}
    folder = RESULTS / "quick" if args.quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    rounds = args.rounds or (2 if args.quick else 7)
    with BenchServer() as server:
        url = f"{server.url}/ok"
        layers = sync_layers(url, max(20, n // 10), rounds)
        base = layers["httpx (raw)"]
        print(f"\nsync layers: client CPU per request, median of {rounds} interleaved rounds")
        print_table(
            ["layer", "CPU us/request", "x httpx (raw)"],
            [[name, f"{us:.1f}", f"{us / base:.3f}"] for name, us in layers.items()],
        )
        results["sync-layers"] = {"rounds": rounds, "cpu_us": layers}
        profiles = {"sync-urllib3": profile_sync(url, n)}
        try:
            import aiohttp  # noqa: F401
        except ImportError:
            print("note: aiohttp is not installed: no async profile")
        else:
            profiles["async-aiohttp-64"] = asyncio.run(profile_async(url, n))
    for name, prof in profiles.items():
        stats = pstats.Stats(prof)
        rows = by_group(stats, n)
        results[name] = {"requests": n, "us_per_request_by_package": {g: us for g, us, _ in rows}}
        print(f"\n{name}: {n:,} requests under cProfile, own time by package")
        print_table(
            ["package", "us/request", "share"],
            [[g, f"{us:.1f}", f"{share:.0%}"] for g, us, share in rows],
        )
        total = sum(us for _, us, _ in rows)
        print(f"total {total:.1f} us/request (profiled)")
        path = folder / f"profile_{name}.txt"
        head = "\n".join(f"{g:24} {us:8.1f} us/request {s:5.0%}" for g, us, s in rows)
        path.write_text(f"{name}: {n} requests\n{head}\n\n{listing(stats)}")
        print(f"wrote {path.relative_to(RESULTS.parent.parent)}")
    write_json("profile", {"results": results}, quick=args.quick)


if __name__ == "__main__":
    main()
