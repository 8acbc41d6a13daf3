"""Middleware: a timing and a logging middleware around the whole retry loop.

``api.use(mw)`` adds ``def mw(config, call_next) -> Response``; the first added is the
outermost. Middleware wraps the *whole* call, so the timing below covers every attempt
and every wait, and the logging middleware sees one result per call, while the
``axios_like`` logger reports each retry inside it. The script starts its own flaky
server on 127.0.0.1.

Run: python examples/middleware.py
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import axios_like
from axios_like import RequestConfig, Response
from axios_like.testing.server import FlakyServer, Reply

log = logging.getLogger("example")
CallNext = Callable[[RequestConfig], Response]


#: (method, url, milliseconds) of every call, as measured by ``timing``.
TIMINGS: list[tuple[str, str, float]] = []


def timing(config: RequestConfig, call_next: CallNext) -> Response:
    """Measure the whole call, retries and waits included (failures too)."""
    start = time.perf_counter()
    try:
        return call_next(config)
    finally:
        elapsed_ms = (time.perf_counter() - start) * 1000
        TIMINGS.append((config["method"], config["url"], elapsed_ms))
        log.info("   %s %s took %.0f ms", config["method"], config["url"], elapsed_ms)


def logging_middleware(config: RequestConfig, call_next: CallNext) -> Response:
    """One line per call: what was asked, and how it ended."""
    log.info("-> %s %s", config["method"], config["url"])
    try:
        response = call_next(config)
    except axios_like.AxiosLikeError as exc:
        log.warning("<- %s %s failed: %s", config["method"], config["url"], exc)
        raise
    log.info(
        "<- %s %s %d after %d attempt(s)",
        config["method"],
        config["url"],
        response.status,
        response.attempts,
    )
    return response


def main() -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)-10s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # keep httpx's own lines out

    with FlakyServer() as server:
        server.script("/orders", [Reply(503), Reply(502), Reply(200, json=[{"id": 1}])])
        server.script("/missing", [Reply(404)])

        api = axios_like.create(
            base_url=server.url, retry_strategy=axios_like.FixedDelay(0.05), max_retries=3
        )
        api.use(timing)  # outermost: its time includes the logging middleware
        api.use(logging_middleware)
        with api:
            r = api.get("/orders")
            print(f"GET /orders -> {r.status} {r.data}")
            assert r.attempts == 3
            assert TIMINGS[-1][2] >= 100

            try:
                api.get("/missing")
            except axios_like.HTTPStatusError as exc:
                print(f"GET /missing -> {exc.status}, not retried")
            assert [t[1] for t in TIMINGS] == ["/orders", "/missing"]


if __name__ == "__main__":
    main()
