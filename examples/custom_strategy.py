"""Custom retry strategies: subclass RetryStrategy.

Two strategies, against a flaky server this script starts on 127.0.0.1:

- ``Fibonacci`` implements the user hook, ``get_delay(attempt)``;
- ``Grow`` overrides the engine hook, ``delay_for(state)``, to read the call's previous
  wait from the engine's per-call state. It keeps nothing per request on ``self``, so
  one object serves concurrent calls: two threads below get the same waits each.

Delays are in hundredths of a second so the script finishes at once.

Run: python examples/custom_strategy.py
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import axios_like
from axios_like.testing.server import FlakyServer, Reply


class Fibonacci(axios_like.RetryStrategy):
    """Waits of unit * 1, 1, 2, 3, 5, 8, ... capped at ``max_delay``."""

    def __init__(self, unit: float = 1.0, max_delay: float = 30.0) -> None:
        self.unit = unit
        self.max_delay = max_delay

    def get_delay(self, attempt: int) -> float:
        a, b = 1, 1
        for _ in range(min(attempt, 60) - 1):  # bounded: attempt 10,000 costs nothing
            a, b = b, a + b
        return min(self.unit * a, self.max_delay)


class Grow(axios_like.RetryStrategy):
    """Each wait is ``factor`` times this call's previous wait (``first`` for the first)."""

    def __init__(self, first: float = 0.5, factor: float = 1.5, max_delay: float = 30.0) -> None:
        self.first = first
        self.factor = factor
        self.max_delay = max_delay

    def get_delay(self, attempt: int) -> float:
        # Without per-call facts (someone calling the strategy directly): like delay_for.
        return min(self.max_delay, self.first * self.factor ** (min(attempt, 200) - 1))

    def delay_for(self, state: Any) -> float:
        # state.previous_delay is this call's last wait (None before its first retry).
        previous: float | None = state.previous_delay
        if previous is None:
            return self.first
        return min(self.max_delay, previous * self.factor)


def main() -> None:
    with FlakyServer() as server:
        server.script("/fib", [Reply(503)] * 5 + [Reply(200, json={"ok": True})])
        for path in ("/a", "/b"):
            server.script(path, [Reply(502)] * 4 + [Reply(200, json={"path": path})])

        waits: dict[str, list[float]] = {"/fib": [], "/a": [], "/b": []}
        lock = threading.Lock()

        def record(event: axios_like.RetryEvent) -> None:
            with lock:
                waits[event.config["url"]].append(round(event.delay, 4))

        # Three calls that each fail 4-5 times within milliseconds: more than the default
        # retry budget allows one client (docs/resilience.md), so this demo turns it off.
        api = axios_like.create(
            base_url=server.url, max_retries=6, on_retry=record, retry_budget=None
        )
        with api:
            r = api.get("/fib", retry_strategy=Fibonacci(unit=0.01, max_delay=0.05))
            print(f"Fibonacci: {r.attempts} attempts, waits {waits['/fib']}")
            assert waits["/fib"] == [0.01, 0.01, 0.02, 0.03, 0.05]

            grow = Grow(first=0.01, factor=2.0)  # one object shared by two concurrent calls
            with ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(lambda p: api.get(p, retry_strategy=grow), ["/a", "/b"]))
            for path, response in zip(["/a", "/b"], results, strict=True):
                print(f"Grow {path}: {response.attempts} attempts, waits {waits[path]}")
            assert waits["/a"] == waits["/b"] == [0.01, 0.02, 0.04, 0.08]
            print("both calls got their own sequence from one shared strategy object")


if __name__ == "__main__":
    main()
