"""Tables of ``docs/retry.md``, rendered from the code that makes the decisions.

The default-policy table asks :func:`axios_like.is_retryable` itself about an
example of every failure, so the page cannot disagree with the engine; the
strategy table calls the built-in strategies with random sources pinned to the
low and high ends of their range. ``tests/test_docs_tables.py`` fails when the
page is stale; rewrite it with::

    python -m axios_like._docs --write docs/retry.md
    python -m axios_like._docs --check docs/retry.md   # exit 1 if stale
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from ._exceptions import (
    HTTPX_MAP,
    REASON_FROM_MESSAGE,
    HTTPStatusError,
    NetworkError,
    TimeoutError,
)
from ._models import Response
from ._retry import (
    ANY_METHOD_STATUS,
    CLIENT_ERRORS,
    DEFAULT_RETRY_STATUS,
    IDEMPOTENT_METHODS,
    NEVER_RETRIED_STATUS,
    RETRY_AFTER_STATUS,
    is_retryable,
)
from ._strategies import (
    DecorrelatedJitter,
    ExponentialBackoff,
    FixedDelay,
    LinearBackoff,
    RetryStrategy,
)

__all__ = ["main", "policy_table", "render", "strategy_table"]

#: Method groups of the policy table's columns, in RFC 9110 order.
_METHOD_ORDER = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE")
_OTHER_METHODS = ("POST", "PATCH", "CONNECT")
_EXAMPLE_URL = "https://api.example.com/x"
_ATTEMPTS = range(1, 7)
_DASH = "\u2013"  # an en dash between the ends of a range


# ---------------------------------------------------------------- default policy


def _config(method: str, key: bool) -> dict[str, Any]:
    headers = httpx.Headers({"Idempotency-Key": "k"} if key else {})
    return {"method": method, "headers": headers, "retry_status": DEFAULT_RETRY_STATUS}


def _status_error(status: int) -> Callable[[dict[str, Any]], BaseException]:
    def make(cfg: dict[str, Any]) -> BaseException:
        raw = httpx.Response(status, request=httpx.Request(cfg["method"], _EXAMPLE_URL))
        return HTTPStatusError(f"status {status}", response=Response(raw, cfg))

    return make


def _cell(
    make: Callable[[dict[str, Any]], BaseException], methods: Sequence[str], key: bool
) -> str:
    answers = {is_retryable(make(_config(m, key))) for m in methods}
    if answers == {True}:
        return "retried"
    return "no" if answers == {False} else "depends"


def _row(label: str, reason: str, make: Callable[[dict[str, Any]], BaseException], ra: str) -> str:
    idempotent = sorted(IDEMPOTENT_METHODS, key=_METHOD_ORDER.index)
    cells = (
        _cell(make, idempotent, key=False),
        _cell(make, _OTHER_METHODS, key=False),
        _cell(make, _OTHER_METHODS, key=True),
    )
    return f"| {label} | {reason} | {' | '.join(cells)} | {ra} |"


def _network_classes() -> list[type[NetworkError]]:
    seen: list[type[NetworkError]] = []
    for _, ours in HTTPX_MAP:
        if (
            issubclass(ours, NetworkError)
            and ours not in (NetworkError, TimeoutError)
            and ours not in seen
        ):
            seen.append(ours)
    # never-sent failures first, then the ones that may have reached the server
    return sorted(seen, key=lambda cls: cls.may_have_reached_server)


def _reasons(cls: type[NetworkError]) -> str:
    """The ``reason`` texts a class can carry (some depend on the OS error message)."""
    reasons = [cls.reason]
    from_message = REASON_FROM_MESSAGE.get(cls)
    if from_message is not None:
        reasons.insert(0, from_message(httpx.TransportError("connection refused / reset by peer")))
    return ", ".join(reasons)


def policy_table() -> str:
    """The default policy as a Markdown table, from ``is_retryable`` and the rules table."""
    idempotent = " ".join(sorted(IDEMPOTENT_METHODS, key=_METHOD_ORDER.index))
    lines = [
        f"| failure | `reason` | {idempotent} | {' '.join(_OTHER_METHODS)}, ... "
        "| same, with `Idempotency-Key` | `Retry-After` |",
        "|---|---|---|---|---|---|",
    ]
    for cls in _network_classes():
        where = "may have reached the server" if cls.may_have_reached_server else "never sent"
        label = f"`{cls.__name__}` ({where})"

        def make(cfg: dict[str, Any], cls: type[NetworkError] = cls) -> BaseException:
            return cls("example", config=cfg)

        lines.append(_row(label, _reasons(cls), make, "-"))
    for status in sorted(DEFAULT_RETRY_STATUS):
        label = f"status {status}" + (" (any method)" if status in ANY_METHOD_STATUS else "")
        ra = "honoured" if status in RETRY_AFTER_STATUS else "ignored"
        lines.append(_row(label, f"status {status}", _status_error(status), ra))
    never = NEVER_RETRIED_STATUS
    rows = {_row("", "", _status_error(s), "-") for s in never}
    assert len(rows) == 1, "the never-retried statuses must all have the same row"
    listed = ", ".join(str(s) for s in never)
    lines.append(_row(f"status {listed}", "status N", _status_error(never[0]), "ignored"))
    others = sorted({500, 501, 505, 418, 499} - DEFAULT_RETRY_STATUS)
    rows = {_row("", "", _status_error(s), "-") for s in others}
    assert len(rows) == 1
    lines.append(
        _row(
            "any other status `validate_status` rejects (500, 501, ...)",
            "status N",
            _status_error(others[0]),
            "ignored",
        )
    )

    def accepted_2xx(cfg: dict[str, Any]) -> BaseException:
        return _status_error(200)({**cfg, "validate_status": lambda status: 200 <= status < 300})

    lines.append(
        _row(
            "a 2xx `validate_status` accepted, failed by a response interceptor",
            "status 200",
            accepted_2xx,
            "ignored",
        )
    )
    names = ", ".join(f"`{cls.__name__}`" for cls in CLIENT_ERRORS)
    lines.append(
        f"| {names} and their subclasses (the client's own errors, a body past its limit) "
        "| bad config, invalid request, `max_content_length` passed "
        "| never, whatever `retry_on` says | never | never | - |"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------- strategies


class _Edge(random.Random):
    """A random source pinned to one end of every range: 0.0 (low) or 1.0 (high)."""

    def __init__(self, edge: float) -> None:
        super().__init__(0)
        self.edge = edge

    def random(self) -> float:
        return self.edge


class _Facts:
    """What a strategy reads from the engine's per-call state."""

    def __init__(self) -> None:
        self.attempt = 0
        self.previous_delay: float | None = None


def _delays(strategy: RetryStrategy) -> list[float]:
    facts = _Facts()
    out = []
    for n in _ATTEMPTS:
        facts.attempt = n
        delay = strategy.delay_for(facts)
        out.append(delay)
        facts.previous_delay = delay
    return out


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def strategy_table() -> str:
    """Each built-in strategy's waits (seconds) before retries 1-6, with SPEC defaults."""
    rows: list[tuple[str, Callable[[random.Random], RetryStrategy]]] = [
        ("`FixedDelay()`", lambda rng: FixedDelay()),
        ("`LinearBackoff()`", lambda rng: LinearBackoff()),
        ("`ExponentialBackoff(jitter=0)`", lambda rng: ExponentialBackoff(jitter=0.0)),
        ("`ExponentialBackoff()` (the default)", lambda rng: ExponentialBackoff(rng=rng)),
        ("`DecorrelatedJitter()`", lambda rng: DecorrelatedJitter(rng=rng)),
    ]
    lines = [
        "| strategy | " + " | ".join(f"retry {n}" for n in _ATTEMPTS) + " |",
        "|---|" + "---|" * len(_ATTEMPTS),
    ]
    for label, build in rows:
        low, high = _delays(build(_Edge(0.0))), _delays(build(_Edge(1.0)))
        cells = [
            _fmt(a) if a == b else f"{_fmt(a)}{_DASH}{_fmt(b)}"
            for a, b in zip(low, high, strict=True)
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the page

#: marker name -> function rendering what goes between its start and end markers.
TABLES: dict[str, Callable[[], str]] = {
    "policy-table": policy_table,
    "strategy-table": strategy_table,
}


def render(page: str) -> str:
    """``page`` with the text between each pair of markers replaced by its fresh table."""
    for name, make in TABLES.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, found, rest = page.partition(start)
        _, found_end, tail = rest.partition(end)
        if not found or not found_end:
            raise ValueError(f"markers {start} ... {end} not found in the page")
        page = f"{head}{start}\n{make()}\n{end}{tail}"
    return page


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m axios_like._docs --write PAGE`` (or ``--check PAGE``, or print the tables)."""
    parser = argparse.ArgumentParser(prog="python -m axios_like._docs", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PAGE", type=Path, help="rewrite the tables in PAGE")
    group.add_argument("--check", metavar="PAGE", type=Path, help="exit 1 if PAGE is stale")
    args = parser.parse_args(argv)
    path: Path | None = args.write or args.check
    if path is None:
        print(policy_table(), strategy_table(), sep="\n\n")
        return 0
    page = path.read_text(encoding="utf-8")
    fresh = render(page)
    if args.check:
        if fresh != page:
            print(f"{path}: tables are stale; run python -m axios_like._docs --write {path}")
            return 1
        return 0
    if fresh != page:
        path.write_text(fresh, encoding="utf-8")
        print(f"{path}: tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
