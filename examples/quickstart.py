"""Quickstart: a client with retries against a flaky server this script starts on 127.0.0.1.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import axios_like
from axios_like.testing.server import FlakyServer, Reply


def main() -> None:
    with FlakyServer() as server:
        server.script(
            "/users/1",
            [Reply(503), Reply(503), Reply(200, json={"id": 1, "name": "Ada"})],
        )
        server.script("/missing", [Reply(404, json={"error": "not found"})])

        def show(event: axios_like.RetryEvent) -> None:
            print(f"  attempt {event.attempt} failed ({event.reason}); waiting {event.delay:.2f}s")

        api = axios_like.create(
            base_url=server.url,
            max_retries=3,
            retry_strategy=axios_like.ExponentialBackoff(base=0.1, max_delay=1.0, jitter=0.5),
            on_retry=show,
        )
        with api:
            r = api.get("/users/1")
            print(f"GET /users/1 -> {r.status} {r.data} after {r.attempts} attempts")
            try:
                api.get("/missing")
            except axios_like.HTTPStatusError as exc:
                print(f"GET /missing -> {exc.status} (not retried: {exc.reason})")


if __name__ == "__main__":
    main()
