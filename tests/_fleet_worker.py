"""One process of the fleet test (tests/test_redis.py): 2 clients, one RedisState.

Run as ``python tests/_fleet_worker.py REDIS_URL NAMESPACE SERVER_URL CALLS INTERVAL START``:
waits until ``time.time() >= START``, then a sync client (this thread) and an async
client (another thread) each make CALLS calls to an always-503 server, each client with
its own RetryBudget(ratio=0.1, window=10, min_retries=3) shared through Redis. Prints
one JSON line: calls made, how they ended, the slowest call (s), the syncs made.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

import axios_like
from axios_like.redis import RedisState
from axios_like.testing import instant_retries


def main() -> None:
    redis_url, namespace, server_url = sys.argv[1:4]
    calls, interval, start = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    ends: dict[str, int] = {}
    slowest = [0.0]
    lock = threading.Lock()

    at: list[int] = [0, 0]

    def note(end: str, took: float) -> None:
        with lock:
            ends[end] = ends.get(end, 0) + 1
            at[1] += 1
            if took > slowest[0]:
                slowest[0] = took
                at[0] = at[1]

    def budget(shared: RedisState) -> axios_like.RetryBudget:
        # NAMESPACE "local": the same run with per-client budgets, for comparison
        fleet = None if namespace == "local" else shared
        return axios_like.RetryBudget(ratio=0.1, window=10.0, min_retries=3, shared=fleet)

    with RedisState(redis_url, namespace=namespace, sync_interval=interval) as shared:
        config = {"base_url": server_url, "max_retries": 3, "timeout": 5.0}
        sync_api = axios_like.create(config, retry_budget=budget(shared))
        async_api = axios_like.create_async(config, retry_budget=budget(shared))

        async def run_async() -> None:
            for _ in range(calls):
                began = time.monotonic()
                try:
                    await async_api.get("/down")
                except axios_like.RetryError as exc:
                    note(str(exc.reason), time.monotonic() - began)
                await asyncio.sleep(0.002)
            await async_api.aclose()

        while time.time() < start:
            time.sleep(0.005)
        with instant_retries():
            other = threading.Thread(target=lambda: asyncio.run(run_async()))
            other.start()
            for _ in range(calls):
                began = time.monotonic()
                try:
                    sync_api.get("/down")
                except axios_like.RetryError as exc:
                    note(str(exc.reason), time.monotonic() - began)
                time.sleep(0.002)
            other.join(60)
        sync_api.close()
        syncs = shared.syncs
    print(
        json.dumps(
            {
                "calls": 2 * calls,
                "ends": ends,
                "slowest": slowest[0],
                "syncs": syncs,
                "slowest_at": at[0],
            }
        )
    )


if __name__ == "__main__":
    main()
