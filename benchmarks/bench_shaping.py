"""Traffic shaping: the rate-limit gate and the adaptive rate limiter, on loopback servers.

Two experiments, each run twice in one process (real time, bounded: a few seconds each):

1. **Gate.** A server enforces a quota of ``Q`` requests per fixed ``W``-second window and
   says so in every answer (``RateLimit: "default";r=..;t=..`` and
   ``RateLimit-Policy: "default";q=Q;w=W``); past the quota it answers 429 with
   ``Retry-After``. ``C`` async tasks send GETs as fast as they can. Counted by the
   server: requests that arrived while the quota was spent (remaining = 0 inside the
   window), i.e. the 429s, overall and in steady state (after the first window). Run with
   the gate (the default) and with ``rate_limit_gate=None`` (the headers not read; the
   retry engine alone, which still honours ``Retry-After``).
2. **Adaptive.** A server admits at most ``R`` requests per second (a token bucket,
   burst ``R/10``) and answers 429 (no headers) above that. ``C`` tasks send as fast as
   they can, with retries (a 0.1 s exponential backoff), for 20 s. Measured: the rate of requests
   reaching the server in the second half of the run, against ``R``, and the 429s, with
   ``rate_limiter=AdaptiveRateLimit()`` and with retries alone.

Run: ``python benchmarks/bench_shaping.py`` (~60 s; ``--quick``: shorter runs, ~20 s, a smoke
run: the adaptive limiter has not settled in 6 s, so its numbers there mean little).
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import parse_args, write_json

import axios_like
from axios_like.testing.server import FlakyServer, Reply, Seen

# ---------------------------------------------------------------- servers


class QuotaServer:
    """``quota`` requests per fixed ``window`` seconds; tells the client in headers."""

    def __init__(self, quota: int, window: float) -> None:
        self.quota, self.window = quota, window
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.index = -1
        self.used = 0
        self.log: list[tuple[float, int]] = []  # (seconds since start, status)

    def __call__(self, seen: Seen) -> Reply:
        with self.lock:
            now = time.monotonic() - self.start
            index = int(now // self.window)
            if index != self.index:
                self.index, self.used = index, 0
            ends = (index + 1) * self.window - now
            t = max(1, math.ceil(ends))
            policy = f'"default";q={self.quota};w={self.window:g}'
            if self.used >= self.quota:
                self.log.append((now, 429))
                return Reply(
                    429,
                    headers={
                        "RateLimit": f'"default";r=0;t={t}',
                        "RateLimit-Policy": policy,
                        "Retry-After": str(t),
                    },
                )
            self.used += 1
            self.log.append((now, 200))
            left = self.quota - self.used
            return Reply(
                200,
                headers={"RateLimit": f'"default";r={left};t={t}', "RateLimit-Policy": policy},
            )


class ThrottleServer:
    """At most ``rate`` requests per second (token bucket, burst ``rate/10``); 429 above."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self.tokens = self.capacity
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.last = self.start
        self.log: list[tuple[float, int]] = []

    def __call__(self, seen: Seen) -> Reply:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                self.log.append((now - self.start, 200))
                return Reply(200)
            self.log.append((now - self.start, 429))
            return Reply(429)


# ---------------------------------------------------------------- clients


async def hammer(
    api: axios_like.AsyncClient, path: str, tasks: int, seconds: float
) -> dict[str, int]:
    """``tasks`` loops of GETs until ``seconds`` pass; what the calls ended with."""
    ends = time.monotonic() + seconds
    outcome = {"ok": 0, "failed": 0}

    async def loop() -> None:
        while time.monotonic() < ends:
            try:
                await api.get(path)
                outcome["ok"] += 1
            except axios_like.AxiosLikeError:
                outcome["failed"] += 1

    await asyncio.gather(*(loop() for _ in range(tasks)))
    return outcome


def run_gate(
    gate: bool, *, quota: int, window: float, tasks: int, seconds: float
) -> dict[str, Any]:
    with FlakyServer() as server:
        quota_server = QuotaServer(quota, window)
        server.handle("/q", quota_server)
        config: dict[str, Any] = {"base_url": server.url, "max_retries": 3, "deadline": 30.0}
        if not gate:
            config["rate_limit_gate"] = None

        async def main() -> dict[str, int]:
            async with axios_like.create_async(config) as api:
                return await hammer(api, "/q", tasks, seconds)

        calls = asyncio.run(main())
        log = list(quota_server.log)
    throttled = [t for t, status in log if status == 429]
    return {
        "gate": gate,
        "requests": len(log),
        "accepted": len(log) - len(throttled),
        "status_429": len(throttled),
        "status_429_steady": sum(1 for t in throttled if t >= window),
        "calls_ok": calls["ok"],
        "calls_failed": calls["failed"],
    }


def run_adaptive(adaptive: bool, *, rate: float, tasks: int, seconds: float) -> dict[str, Any]:
    with FlakyServer() as server:
        throttle = ThrottleServer(rate)
        server.handle("/t", throttle)
        config: dict[str, Any] = {
            "base_url": server.url,
            "max_retries": 3,
            "retry_strategy": axios_like.ExponentialBackoff(base=0.1, max_delay=2.0, jitter=0.5),
        }
        if adaptive:
            config["rate_limiter"] = axios_like.AdaptiveRateLimit()

        async def main() -> dict[str, int]:
            async with axios_like.create_async(config) as api:
                return await hammer(api, "/t", tasks, seconds)

        calls = asyncio.run(main())
        log = list(throttle.log)
    half = seconds / 2
    second_half = [status for t, status in log if half <= t < seconds]
    return {
        "adaptive": adaptive,
        "requests": len(log),
        "status_429": sum(1 for _, status in log if status == 429),
        "send_rate_second_half": round(len(second_half) / (seconds - half), 1),
        "accepted_rate_second_half": round(
            sum(1 for s in second_half if s == 200) / (seconds - half), 1
        ),
        "calls_ok": calls["ok"],
        "calls_failed": calls["failed"],
    }


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    gate_seconds, adaptive_seconds = (4.0, 6.0) if args.quick else (8.0, 20.0)
    quota, window, rate, tasks = 20, 2.0, 100.0, 8

    print(f"gate: quota {quota} per {window:g} s window, {tasks} tasks, {gate_seconds:g} s")
    gate_runs = [
        run_gate(g, quota=quota, window=window, tasks=tasks, seconds=gate_seconds)
        for g in (True, False)
    ]
    print(f"{'headers read':<14} {'sent':>6} {'accepted':>9} {'429':>6} {'429 steady':>11}")
    for run in gate_runs:
        print(
            f"{('yes (gate)' if run['gate'] else 'no'):<14} {run['requests']:>6} "
            f"{run['accepted']:>9} {run['status_429']:>6} {run['status_429_steady']:>11}"
        )
    saved = gate_runs[1]["status_429"] - gate_runs[0]["status_429"]
    print(f"429s saved by reading the headers: {saved}")

    print(f"\nadaptive: server admits {rate:g} req/s, {tasks} tasks, {adaptive_seconds:g} s")
    adaptive_runs = [
        run_adaptive(a, rate=rate, tasks=tasks, seconds=adaptive_seconds) for a in (True, False)
    ]
    print(f"{'client':<22} {'sent':>6} {'429':>6} {'sent/s (2nd half)':>18} {'ok/s':>7}")
    for run in adaptive_runs:
        name = "AdaptiveRateLimit()" if run["adaptive"] else "retries alone"
        print(
            f"{name:<22} {run['requests']:>6} {run['status_429']:>6} "
            f"{run['send_rate_second_half']:>18} {run['accepted_rate_second_half']:>7}"
        )
    with_limiter, alone = adaptive_runs
    error = abs(with_limiter["send_rate_second_half"] - rate) / rate
    fewer = alone["status_429"] / max(1, with_limiter["status_429"])
    print(f"send rate vs the server's: {error:.0%} off; 429s {fewer:.1f}x fewer than retries alone")
    write_json(
        "shaping",
        {
            "gate": {"quota": quota, "window": window, "tasks": tasks, "seconds": gate_seconds},
            "gate_runs": gate_runs,
            "gate_429_saved": saved,
            "adaptive": {"rate": rate, "tasks": tasks, "seconds": adaptive_seconds},
            "adaptive_runs": adaptive_runs,
            "adaptive_rate_error": round(error, 3),
            "adaptive_429_ratio": round(fewer, 1),
        },
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
