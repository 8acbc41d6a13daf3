"""Where the time goes on the fast transport: each layer added on top of raw aiohttp.

64 tasks share one client and send GETs to the loopback benchmark server, as in
``bench_concurrency.py``; the rungs add one layer at a time:

1. ``aiohttp (raw)``: ``session.get(url)`` + ``read()``;
2. ``transport alone``: ``aiohttp_transport().handle_async_request(request)`` + ``aread()``
   (our transport without an httpx client: aiohttp plus httpx's request/response models);
3. ``httpx.AsyncClient.send``: a prebuilt ``httpx.Request`` sent through the client
   (cookies, auth and redirect machinery, response reading);
4. ``httpx.AsyncClient.get(url)``: what raw httpx users write (adds building the request);
5. ``axios_like``: the whole pipeline (interceptors, retry engine, our ``Response``).

Run: ``python benchmarks/bench_layers.py`` (``--quick``: a smoke run).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _common import (
    BenchServer,
    aggregate,
    fmt,
    measure,
    parse_args,
    pin_client,
    print_table,
    rotated,
    try_import,
    write_json,
)

import axios_like

TASKS = 64
BASELINE = "aiohttp (raw)"


async def blast(call: Callable[[], Awaitable[Any]], total: int) -> None:
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while sent < total:
            sent += 1
            await call()

    await asyncio.gather(*(worker() for _ in range(TASKS)))


async def run(url: str, server: BenchServer, n: int, rounds: int, aiohttp: Any):
    session = aiohttp.ClientSession()

    async def raw() -> None:
        async with session.get(url) as response:
            await response.read()

    transport = axios_like.transports.aiohttp_transport()

    async def alone() -> None:
        response = await transport.handle_async_request(httpx.Request("GET", url))
        await response.aread()
        await response.aclose()

    client = httpx.AsyncClient(transport=axios_like.transports.aiohttp_transport())

    async def send() -> None:
        await client.send(httpx.Request("GET", url))

    async def get() -> None:
        await client.get(url)

    api = axios_like.create_async(transport=axios_like.transports.aiohttp_transport())

    async def ours() -> None:
        await api.get(url)

    rungs = [
        (BASELINE, raw),
        ("transport alone (+ httpx models)", alone),
        ("httpx.AsyncClient.send(request)", send),
        ("httpx.AsyncClient.get(url)", get),
        ("axios_like.get(url)", ours),
    ]
    for _, call in rungs:
        await blast(call, TASKS)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name, _ in rungs}
    for r in range(rounds):
        for name, call in rotated(rungs, r):
            gc.collect()
            sample: dict[str, float] = {}
            with measure(n, server, sample):
                await blast(call, n)
            samples[name].append(sample)
    await session.close()
    await transport.aclose()
    await client.aclose()
    await api.aclose()
    return aggregate(samples, BASELINE, ["rps", "cpu_us"])


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rounds = args.rounds or (2 if args.quick else 5)
    n = TASKS * 2 if args.quick else 3000
    print(pin_client())
    notes: list[str] = []
    aiohttp = try_import("aiohttp", "aiohttp", notes)
    if aiohttp is None:
        write_json("layers", {"notes": notes, "results": {}}, quick=args.quick)
        return
    with BenchServer() as server:
        results = asyncio.run(run(f"{server.url}/ok", server, n, rounds, aiohttp))
    rows = []
    previous = None
    for name, r in results.items():
        step = "" if previous is None else f"{r['cpu_us']['median'] - previous:+.0f}"
        previous = r["cpu_us"]["median"]
        rows.append(
            [name, fmt(r["rps"], 0), f"{r['rps_ratio']['median']:.2f}", fmt(r["cpu_us"], 0), step]
        )
    print(f"\n{TASKS} tasks, {n} requests x {rounds} rounds: median (min-max)")
    print_table(["layer", "requests/s", "x aiohttp (raw)", "CPU us/request", "CPU added"], rows)
    write_json(
        "layers",
        {
            "rounds": rounds,
            "tasks": TASKS,
            "requests_per_round": n,
            "baseline": BASELINE,
            "results": results,
            "notes": notes,
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
