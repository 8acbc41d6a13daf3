"""``python -m axios_like demo``: the retry engine at work, in a few seconds, on your machine.

It starts :class:`~axios_like.testing.server.FlakyServer` on 127.0.0.1 (standard
library only, nothing else to install) and sends real requests through a real
``axios_like`` client, one scenario at a time:

1. 503, 503, then 200: retried with exponential backoff and jitter;
2. 429 with ``Retry-After: 1``: the server's wait wins over the backoff;
3. 401: permanent, sent once, raised as ``HTTPStatusError``;
4. a POST whose connection drops after the server read it: not replayed (the
   order may exist), until the same POST carries an ``Idempotency-Key``;
5. ``deadline=``: the whole call's budget stops the retries (``RetryError``,
   reason ``"deadline"``);
6. an expired bearer token: refreshed once by ``BearerTokenRefresh``, the
   request replayed.

Each attempt is one line of a timeline: seconds since the scenario started,
method, path, what came back, then the wait the engine chose and why. The lines
come from the public hooks: two interceptors record each attempt, the
``on_retry`` event brings the wait and its reason, ``Response.history`` /
``RetryError.history`` the totals (:class:`axios_like._cli.Timeline`).

Waits are real and small (0.2 s base, one 1 s ``Retry-After``): about 3 s in
all. ``--fast`` runs the same scenarios under ``instant_retries()``: every wait
is computed and reported but not slept (the times shown still count them).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TextIO

from ._cli import Style, Timeline
from ._exceptions import RetryError
from ._strategies import ExponentialBackoff
from ._sync_client import Client, create
from .auth import BearerTokenRefresh
from .testing import instant_retries
from .testing.server import FlakyServer, Reply, Seen

__all__ = ["DESCRIPTION", "SCENARIOS", "add_arguments", "main", "run"]

#: One line for ``--help``.
DESCRIPTION: Final = "Watch retries happen against a flaky server on 127.0.0.1 (about 3 s)."

BASE: Final = 0.2  # seconds: the first backoff wait of every scenario


class _Demo:
    """What every scenario needs: the server, the timeline, a way to make clients."""

    def __init__(self, server: FlakyServer, out: TextIO, style: Style) -> None:
        self.server = server
        self.out = out
        self.style = style
        self.timeline = Timeline(out, style=style, path_width=8, show_data=True)
        self.rng = random.Random(7)  # the same jitter on every run

    def client(self, **config: Any) -> Client:
        """A client for this server whose attempts are printed on the timeline."""
        config.setdefault(
            "retry_strategy",
            ExponentialBackoff(base=BASE, multiplier=2.0, max_delay=2.0, jitter=0.5, rng=self.rng),
        )
        api = create(base_url=self.server.url, on_retry=self.timeline.on_retry, **config)
        self.timeline.attach(api)
        return api

    def title(self, number: int, text: str, server: str, client: str = "") -> None:
        """The scenario's heading and, dimmed, what the server and the client are set to do."""
        print(file=self.out)
        print(self.style.bold(f"[{number}] {text}"), file=self.out)
        self.say(f"server: {server}")
        if client:
            self.say(f"client: {client}")

    def say(self, text: str) -> None:
        """An aside under the timeline."""
        self.timeline.line(self.style.dim(text))


def _backoff(demo: _Demo) -> None:
    demo.title(
        1,
        "Transient failures are retried, with exponential backoff and jitter",
        "GET /flaky answers 503, 503, then 200",
        f"max_retries=3, ExponentialBackoff(base={BASE}, multiplier=2, jitter=0.5)",
    )
    demo.server.script(
        "/flaky", [Reply(503), Reply(503), Reply(200, json={"id": 1, "name": "Ada"})]
    )
    with demo.client(max_retries=3) as api:
        demo.timeline.call(lambda: api.get("/flaky"))


def _retry_after(demo: _Demo) -> None:
    demo.title(
        2,
        "429 Too Many Requests: the server's Retry-After wins over the backoff",
        "GET /search answers 429 with 'Retry-After: 1', then 200",
        f"the same backoff (base={BASE}s)",
    )
    demo.server.script(
        "/search",
        [Reply(429, headers={"Retry-After": "1"}), Reply(200, json={"results": 3})],
    )
    with demo.client() as api:
        demo.timeline.call(lambda: api.get("/search"))


def _permanent(demo: _Demo) -> None:
    demo.title(
        3,
        "401 Unauthorized is permanent: not retried",
        "GET /admin always answers 401",
        "max_retries=3",
    )
    demo.server.script("/admin", [Reply(401, json={"error": "who are you?"})])
    with demo.client(max_retries=3) as api:
        demo.timeline.call(lambda: api.get("/admin"))
    demo.say(f"the server received {demo.server.count('/admin')} request")


def _idempotency(demo: _Demo) -> None:
    demo.title(
        4,
        "A POST that may have been processed is not sent twice...",
        "reads POST /orders, then drops the connection: was the order saved?",
    )
    demo.server.script(
        "/orders",
        [Reply(action="drop"), Reply(action="drop"), Reply(201, json={"order": 42})],
    )
    with demo.client() as api:
        demo.timeline.call(lambda: api.post("/orders", data={"item": "book"}))
        print(
            demo.style.bold("    ...unless it carries an Idempotency-Key, so a replay is safe"),
            file=demo.out,
        )
        demo.say("client: the same POST with 'Idempotency-Key: order-7f3c'")
        demo.timeline.call(
            lambda: api.post(
                "/orders", data={"item": "book"}, headers={"Idempotency-Key": "order-7f3c"}
            )
        )
    demo.say(
        f"the server received {demo.server.count('/orders')} POSTs: one without the key, "
        "two with the same key (applied once)"
    )


def _deadline(demo: _Demo) -> None:
    demo.title(
        5,
        "deadline= bounds the whole call, waits included",
        "GET /report always answers 503",
        f"deadline=1.0, max_retries=10, ExponentialBackoff(base={BASE}, multiplier=2, jitter=0)",
    )
    demo.server.script("/report", [Reply(503)])
    strategy = ExponentialBackoff(base=BASE, multiplier=2.0, max_delay=2.0, jitter=0.0)
    with demo.client(deadline=1.0, max_retries=10, retry_strategy=strategy) as api:
        outcome = demo.timeline.call(lambda: api.get("/report"))
    # /report always answers 503 to a GET, so the call ends in a RetryError (deadline, or
    # max_retries on a machine too slow to reach it); the check only narrows the type.
    if isinstance(outcome, RetryError):  # pragma: no branch
        wait = strategy.get_delay(outcome.attempts)
        demo.say(
            f"the next wait ({wait:.2f}s) would end at {demo.timeline.now() + wait:.2f}s, "
            "past the deadline: RetryError now, not a useless sleep"
        )


def _token_refresh(demo: _Demo) -> None:
    demo.title(
        6,
        "An expired token is refreshed once, and the request replayed",
        "GET /me answers 401 until the request carries the refreshed token",
        "BearerTokenRefresh(get_token, refresh_token).install(api)",
    )
    tokens = {"access": "expired-token"}

    def me(seen: Seen) -> Reply:
        if seen.headers.get("authorization") == "Bearer fresh-token":
            return Reply(200, json={"user": "ada"})
        return Reply(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def get_token() -> str:
        return tokens["access"]

    def refresh_token() -> None:
        tokens["access"] = "fresh-token"  # a real one would call the token endpoint
        demo.timeline.note("refresh_token() called")

    demo.server.handle("/me", me)
    with demo.client() as api:
        BearerTokenRefresh(get_token, refresh_token).install(api)
        demo.timeline.call(lambda: api.get("/me"))


#: The scenarios, in the order they run.
SCENARIOS: Final[tuple[Callable[[_Demo], None], ...]] = (
    _backoff,
    _retry_after,
    _permanent,
    _idempotency,
    _deadline,
    _token_refresh,
)


def run(*, fast: bool = False, out: TextIO | None = None, color: bool | None = None) -> int:
    """Run every scenario against a fresh ``FlakyServer``, printing to ``out`` (stdout).

    ``fast`` skips the waits (``instant_retries()``); ``color`` forces colours
    on or off (default: on for a terminal, unless ``NO_COLOR`` is set).
    Returns 0 (the exit status).
    """
    out = sys.stdout if out is None else out
    style = Style(out, color=color)
    started = time.monotonic()
    with FlakyServer() as server:
        print(
            style.bold(f"axios_like demo: a real client against a flaky server at {server.url}"),
            file=out,
        )
        print(
            style.dim(
                "one line per attempt: when it started, the request, what came back, "
                "then the wait chosen and why"
                + ("\n(--fast: waits are computed and counted, not slept)" if fast else "")
            ),
            file=out,
        )
        demo = _Demo(server, out, style)
        for scenario in SCENARIOS:
            if fast:
                with instant_retries():
                    scenario(demo)
            else:
                scenario(demo)
    print(file=out)
    print(
        style.bold(f"{len(SCENARIOS)} scenarios in {time.monotonic() - started:.1f}s.")
        + " The code is in axios_like/_demo.py.\n"
        + "Try a real service: axios-like request GET https://example.com -v",
        file=out,
    )
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` command's arguments to ``parser``."""
    parser.add_argument(
        "--fast",
        action="store_true",
        help="skip the waits (computed and shown, not slept)",
    )
    parser.set_defaults(run=lambda args: run(fast=args.fast))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m axios_like demo`` (``argv``: the arguments after ``demo``)."""
    parser = argparse.ArgumentParser(prog="axios-like demo", description=DESCRIPTION)
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on bad arguments and --help
        return exc.code if isinstance(exc.code, int) else 2
    return run(fast=args.fast)
