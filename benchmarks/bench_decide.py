"""How much does one retry decision cost? ``decide()`` alone, no I/O.

STYLE.md budgets the pure decision at about 1 us: a success should cost little
more than nothing, a retried 503 at most ~1 us. This measures, in ns per call:

- ``success``: ``decide()`` on a 200 (appends the history entry, returns ``DONE``);
- ``503 retried``: ``decide()`` on a 503 that will be retried (policy, ``Retry-After``
  lookup, default ``ExponentialBackoff`` with jitter, history entry, ``Retry``);
- ``502 retried``: the same without the ``Retry-After`` lookup (only 429/503 have one);
- for context: ``RetryState`` creation (once per call) and the part of the 503 case
  spent in httpx looking up the ``Retry-After`` header (``Headers.get_list``);
- calibration: ``dataclasses.replace`` of a small frozen record and urllib3's
  ``Retry.increment()``, which STYLE.md measured at 1.2 us and 4.2 us on its
  reference machine. Their ratio to those figures says how much slower (or busier)
  this machine is, so ``reference-equivalent = measured / slowdown``.

Each case runs ``--iterations`` times per round (default 200,000) with
``time.perf_counter_ns``; the loop's own cost (resetting the state) is measured
as a baseline in the same round and subtracted. Cases are interleaved over
``--rounds`` rounds (default 5) and the median is reported with the min-max spread.
Bounded: the iteration count is scaled down so a run stays under ~15 s in all.

Run: ``python benchmarks/bench_decide.py`` (``--quick``: a smoke run in well under a second).
Writes ``benchmarks/results/decide.json`` (``results/quick/`` for ``--quick``).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
from _common import machine, pin_client, print_table, summary, write_json

import axios_like
from axios_like._config import attempt_copy
from axios_like._models import HistoryEntry, Response
from axios_like._outcomes import to_outcome
from axios_like._retry import (
    DONE,
    Retry,
    RetryState,
    _classified,
    _limit,
    _wait_for,
    decide,
)

TARGET_NS = 1000.0
#: STYLE.md's figures for the calibration cases, measured on its reference machine.
REFERENCE_NS = {
    "calibration: dataclasses.replace": 1200.0,
    "calibration: urllib3 Retry.increment": 4200.0,
}
TIME_BUDGET_S = 12.0
#: The steps of a retried 503's decision, measured alone (names as printed).
BREAKDOWN = (
    "  of 503: classify (status, reason, policy)",
    "  of 503: httpx Retry-After lookup ('retry-after' in headers)",
    "  of 503: the wait without the lookup (status check + strategy)",
    "    of which: ExponentialBackoff.delay_for (jitter)",
    "  of 503: the limits (max_retry_after, deadline)",
    "  of 503: history entry + Retry record",
)
REST = "  of 503: the rest (decide/_failure calls and branches)"
URL = "https://api.example.com/users/1"
HEADERS = {
    "content-type": "application/json",
    "content-length": "27",
    "date": "Wed, 21 Oct 2015 07:28:00 GMT",
    "server": "nginx",
    "x-request-id": "5f0c1e9a",
}


def fixtures() -> tuple[dict[str, Any], Response, BaseException, BaseException]:
    """A merged config as a real call has it, a 200 and a 503 as the shells build them."""
    with axios_like.create(base_url="https://api.example.com") as api:
        config = attempt_copy(api.defaults)  # what a call without overrides runs with
    config.update(method="GET", url="/users/1")
    request = httpx.Request("GET", URL)
    ok = to_outcome(httpx.Response(200, headers=HEADERS, request=request), config)
    err = to_outcome(httpx.Response(503, headers=HEADERS, request=request), config)
    err502 = to_outcome(httpx.Response(502, headers=HEADERS, request=request), config)
    assert isinstance(ok, Response)
    assert isinstance(err, BaseException)
    assert isinstance(err502, BaseException)
    return config, ok, err, err502


def cases(
    config: dict[str, Any], ok: Response, err: BaseException, err502: BaseException
) -> dict[str, Callable[[int], int]]:
    """name -> loop(n) returning elapsed ns. Each loop resets the state as the baseline does."""
    state = RetryState(config, start=0.0)
    history = state.history
    headers = err.response.headers  # type: ignore[attr-defined]

    def baseline(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
        return time.perf_counter_ns() - t

    def success(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            decide(state, ok, 1.0)
        return time.perf_counter_ns() - t

    def retried_503(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            decide(state, err, 1.0)
        return time.perf_counter_ns() - t

    def retried_502(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            decide(state, err502, 1.0)
        return time.perf_counter_ns() - t

    def new_state(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            RetryState(config, start=0.0)
        return time.perf_counter_ns() - t

    def header_lookup(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            "retry-after" in headers  # noqa: B015 - what _retry_after() asks httpx first
        return time.perf_counter_ns() - t

    # The 503 decision's steps, each alone (``_retry._failure`` runs them in this order);
    # what is left of the whole after them is the calls and branches that join them.
    strategy = state.strategy
    entry_values = (1, 503, err, 1.2, "status 503")

    def step_classify(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            _classified(state, err)
        return time.perf_counter_ns() - t

    def step_wait_without_header(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            _wait_for(state, err502, 502, None)  # the Retry-After status check + the strategy
        return time.perf_counter_ns() - t

    def step_strategy(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            strategy.delay_for(state)
        return time.perf_counter_ns() - t

    def step_limits(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            _limit(state, 1.2, False, 1.0)
        return time.perf_counter_ns() - t

    def step_records(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            history.append(tuple.__new__(HistoryEntry, entry_values))
            tuple.__new__(Retry, (1.2, "status 503"))
        return time.perf_counter_ns() - t

    frozen = _Frozen()
    retry = _urllib3_retry()

    def replace_frozen(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            dataclasses.replace(frozen, attempt=1)
        return time.perf_counter_ns() - t

    def urllib3_increment(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            retry.increment(method="GET", url="/users/1")
        return time.perf_counter_ns() - t

    loops = {
        "baseline": baseline,
        "success": success,
        "503 retried": retried_503,
        "502 retried (no Retry-After lookup)": retried_502,
        "RetryState(...) per call": new_state,
        BREAKDOWN[0]: step_classify,
        BREAKDOWN[1]: header_lookup,
        BREAKDOWN[2]: step_wait_without_header,
        BREAKDOWN[3]: step_strategy,
        BREAKDOWN[4]: step_limits,
        BREAKDOWN[5]: step_records,
        "calibration: dataclasses.replace": replace_frozen,
    }
    if retry is not None:
        loops["calibration: urllib3 Retry.increment"] = urllib3_increment
    return loops


@dataclasses.dataclass(frozen=True)
class _Frozen:
    """A small frozen record, as rebuilt per attempt by immutable-state designs."""

    attempt: int = 0
    previous_delay: float = 0.0
    history: tuple[object, ...] = ()
    deadline: float = 0.0
    start: float = 0.0


def _urllib3_retry() -> Any:
    try:
        from urllib3.util.retry import Retry as Urllib3Retry
    except ImportError:  # optional: only a calibration point
        return None
    return Urllib3Retry(total=3)


def check(config: dict[str, Any], ok: Response, err: BaseException) -> None:
    """The measured calls really take the paths they are named after."""
    assert decide(RetryState(config, start=0.0), ok, 1.0) is DONE
    step = decide(RetryState(config, start=0.0), err, 1.0)
    assert isinstance(step, Retry), step
    assert 1.0 <= step.delay <= 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description="ns per decide() call")
    parser.add_argument("--quick", action="store_true", help="a smoke run (tiny counts)")
    parser.add_argument("--iterations", type=int, default=200_000, help="calls per case per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    n = 2_000 if args.quick else args.iterations
    rounds = 3 if args.quick else max(args.rounds, 1)

    pinned = pin_client()
    config, ok, err, err502 = fixtures()
    check(config, ok, err)
    loops = cases(config, ok, err, err502)

    # warm up, then scale n so that the whole run stays inside the time budget
    start = time.perf_counter()
    for loop in loops.values():
        loop(max(n // 20, 100))
    per_call_s = (time.perf_counter() - start) / max(n // 20, 100)
    if not args.quick and per_call_s * n * rounds > TIME_BUDGET_S:
        n = max(10_000, int(TIME_BUDGET_S / (per_call_s * rounds)))

    raw: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):
        for name, loop in loops.items():  # interleaved: drift hits every case alike
            raw[name].append(loop(n) / n)
    base = raw.pop("baseline")
    net = {name: [v - b for v, b in zip(values, base, strict=True)] for name, values in raw.items()}
    # the part of the 503 no step accounts for, round by round (the strategy is inside
    # "the wait without the lookup", so it is not counted twice)
    counted = [name for name in BREAKDOWN if not name.startswith("    of which")]
    net[REST] = [
        total - sum(net[name][i] for name in counted) for i, total in enumerate(net["503 retried"])
    ]
    stats = {name: summary(values) for name, values in net.items()}

    rows = [
        [name, f"{s['median']:.0f}", f"{s['min']:.0f}-{s['max']:.0f}"] for name, s in stats.items()
    ]
    rows.append(["(loop baseline, subtracted)", f"{statistics.median(base):.0f}", ""])
    print(f"decide() cost, ns per call: {n:,} calls x {rounds} rounds ({pinned})\n")
    print_table(["case", "median ns", "min-max"], rows)
    retry_ns = stats["503 retried"]["median"]
    slowdowns = [stats[name]["median"] / ref for name, ref in REFERENCE_NS.items() if name in stats]
    slowdown = statistics.median(slowdowns)
    verdict = "met" if retry_ns <= TARGET_NS else "NOT met"
    print(f"\ntarget <= {TARGET_NS:.0f} ns per retry decision: {verdict} ({retry_ns:.0f} ns)")
    print(
        f"this machine vs STYLE.md's reference: {slowdown:.2f}x slower; reference-equivalent: "
        f"success {stats['success']['median'] / slowdown:.0f} ns, "
        f"503 retried {retry_ns / slowdown:.0f} ns"
    )

    write_json(
        "decide",
        {
            "iterations": n,
            "rounds": rounds,
            "pinned": pinned,
            "unit": "ns per call (loop baseline subtracted)",
            "target_ns_per_retry_decision": TARGET_NS,
            "target_met": retry_ns <= TARGET_NS,
            "slowdown_vs_style_reference": slowdown,
            "reference_equivalent_ns": {
                "success": stats["success"]["median"] / slowdown,
                "503 retried": retry_ns / slowdown,
            },
            "results": {name: {**s, "rounds": net[name]} for name, s in stats.items()},
            "baseline_ns": base,
            "python_machine": machine()["python"],
        },
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
