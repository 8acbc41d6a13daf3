"""Async fan-out: 100 requests, at most 10 in flight, with a progress line on a terminal.

One ``AsyncClient`` (one connection pool) is shared by 100 tasks; an
``asyncio.Semaphore`` bounds how many run at once. The flaky server this script
starts on 127.0.0.1 answers 503 to the first attempt for every fifth item, so
some calls are retried; retries happen inside a task, while it holds its slot.
The progress bar (redrawn in place with ``\\r``) is shown only when stdout is a
terminal: piped into a file or another program, the output is the summary alone.

Run: python examples/async_fanout.py
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

import axios_like
from axios_like.testing.server import FlakyServer, Reply, Seen

TOTAL = 100
CONCURRENCY = 10


def flaky_items() -> tuple[Counter[str], Callable[[Seen], Reply]]:
    """A handler for /items?id=N: 503 on the first attempt when N is a multiple of 5."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()  # the server runs each connection in its own thread

    def handler(request: Seen) -> Reply:
        item = request.target.partition("id=")[2]
        with lock:
            seen[item] += 1
            first = seen[item] == 1
        if first and int(item) % 5 == 0:
            return Reply(503, delay=0.005)
        return Reply(200, json={"id": int(item)}, delay=0.005)

    return seen, handler


async def main() -> None:
    with FlakyServer() as server:
        seen, handler = flaky_items()
        server.handle("/items", handler)

        limit = asyncio.Semaphore(CONCURRENCY)
        in_flight = peak = done = 0
        on_terminal = sys.stdout.isatty()

        def progress() -> None:
            if not on_terminal:
                return
            bar = "#" * (done * 30 // TOTAL)
            sys.stdout.write(f"\r[{bar:<30}] {done:3d}/{TOTAL} done, {in_flight:2d} in flight")
            sys.stdout.flush()

        async def fetch(api: axios_like.AsyncClient, item: int) -> axios_like.Response:
            nonlocal in_flight, peak, done
            async with limit:
                in_flight += 1
                peak = max(peak, in_flight)
                try:
                    return await api.get("/items", params={"id": item})
                finally:
                    in_flight -= 1
                    done += 1
                    progress()

        start = time.perf_counter()
        async with axios_like.create_async(
            base_url=server.url,
            retry_strategy=axios_like.FixedDelay(0.01),
            # A fifth of the first attempts fail here; the default budget lets a tenth of
            # them retry (plus a reserve of 3), so allow a quarter (docs/resilience.md).
            retry_budget=axios_like.RetryBudget(ratio=0.25),
        ) as api:
            responses = await asyncio.gather(*(fetch(api, i) for i in range(TOTAL)))
        elapsed = time.perf_counter() - start
        if on_terminal:
            print()  # end the progress line

        retried = sum(1 for r in responses if r.attempts > 1)
        assert [r.data["id"] for r in responses] == list(range(TOTAL))
        assert retried == TOTAL // 5
        assert sum(seen.values()) == TOTAL + retried
        assert peak <= CONCURRENCY
        print(
            f"{TOTAL} responses in {elapsed:.2f}s: {retried} needed a retry, "
            f"peak concurrency {peak} (limit {CONCURRENCY}), "
            f"{server.connections} TCP connections"
        )


if __name__ == "__main__":
    asyncio.run(main())
