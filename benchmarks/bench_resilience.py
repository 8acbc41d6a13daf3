"""What do the retry budget and the circuit breaker cost a call? ``admit`` + ``record``, no I/O.

The issue's goal: the budget and the breaker add at most 1 us per call, median.
This measures, in ns per ``admit()`` + ``record()`` pair (what the shells call
around every attempt):

- ``budget: first attempt ok``: the happy path of every call (counts the first
  attempt, learns the origin is healthy);
- ``budget: retry (ratio credit)``: a retry admitted from the ratio and its
  failed outcome (ratio 1.0, so the credit never runs out in the loop);
- ``budget: retry refused``: a retry refused when the budget is spent;
- ``breaker: closed, ok`` / ``breaker: closed, 503``: counting an outcome in the
  window (``min_calls`` out of reach, so it stays closed);
- ``breaker: open, refused``: failing fast, and the refusal recorded;
- ``both, composed: first attempt ok``: budget and breaker through the seam's
  ``admit_all`` / ``record_all``, as a call with both on pays them;
- ``per call, default budget, seam included``: what a successful call of a
  default client pays for having a controller at all: ``Call.ticket()`` (compose,
  origin, ``Ticket``), ``admit_all``, ``verdict()``, ``record_all``. Compare it
  with the ``budget: first attempt ok`` row to see the seam's own share.

Each case runs ``--iterations`` times per round (default 200,000) with
``time.perf_counter_ns``; an empty loop is measured as the baseline in the same
round and subtracted. Cases are interleaved over ``--rounds`` rounds (default 5);
the median is reported with the min-max spread. Tickets and verdicts are built
once, outside the loop (the shells build them for every attempt anyway); ``now``
is a constant, so the window never slides (sliding costs one bucket reset per
tenth of a window, not per call).

Run: ``python benchmarks/bench_resilience.py`` (``--quick``: a smoke run, well under a second).
Writes ``benchmarks/results/resilience.json`` (``results/quick/`` for ``--quick``).
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
from axios_like import CircuitBreaker, RetryBudget
from axios_like._control import (
    SEND,
    AttemptKind,
    Failure,
    Origin,
    Refuse,
    Step,
    StopReason,
    Ticket,
    Verdict,
    admit_all,
    record_all,
)
from axios_like._outcomes import to_outcome
from axios_like._request import Call
from axios_like._retry import DONE, verdict

TARGET_NS = 1000.0
#: STYLE.md's figure for the calibration case, measured on its reference machine.
REFERENCE_NS = {"calibration: dataclasses.replace": 1200.0}
TIME_BUDGET_S = 12.0
ORIGIN = Origin("https", "api.example.com", 443)
NOW = 1000.0


def _ticket(kind: AttemptKind, attempt: int) -> Ticket:
    return Ticket(ORIGIN, "GET", attempt, kind, httpx.Headers(), {}, {})


OK = Verdict(Step.DONE, Failure.NONE, 200, None, "ok", None, None, 0.001)
FAILED = Verdict(Step.RETRY, Failure.TRANSIENT, 503, None, "status 503", None, 1.0, 0.001)
REFUSED = Verdict(
    Step.REFUSED, Failure.LOCAL, None, None, "circuit open", StopReason.CIRCUIT_OPEN, None, 0.0
)


def cases() -> dict[str, Callable[[int], int]]:
    """name -> loop(n) returning elapsed ns."""
    first, retry = _ticket(AttemptKind.FIRST, 1), _ticket(AttemptKind.RETRY, 2)

    budget = RetryBudget()
    generous = RetryBudget(ratio=1.0)
    for _ in range(1000):  # earn credit: ratio 1.0 x 1000 first attempts
        generous.admit(first, NOW)
    spent = RetryBudget(min_retries=0)
    closed = CircuitBreaker(min_calls=10**9)
    opened = CircuitBreaker(min_calls=1, break_for=1e9, max_break_for=1e9)
    opened.admit(first, NOW)
    opened.record(first, FAILED, NOW)
    assert opened.state(ORIGIN, NOW) == "open"
    both = (CircuitBreaker(min_calls=10**9), RetryBudget())

    def baseline(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            pass
        return time.perf_counter_ns() - t

    def pair(controller: Any, ticket: Ticket, verdict: Verdict) -> Callable[[int], int]:
        admit, record = controller.admit, controller.record

        def loop(n: int) -> int:
            t = time.perf_counter_ns()
            for _ in range(n):
                admit(ticket, NOW)
                record(ticket, verdict, NOW)
            return time.perf_counter_ns() - t

        return loop

    def generous_retry(n: int) -> int:
        admit, record = generous.admit, generous.record
        t = time.perf_counter_ns()
        for _ in range(n):
            admit(first, NOW)  # keeps the credit level: one first attempt per retry
            admit(retry, NOW)
            record(retry, FAILED, NOW)
        return time.perf_counter_ns() - t

    def generous_first(n: int) -> int:  # subtracted from generous_retry below
        admit = generous.admit
        t = time.perf_counter_ns()
        for _ in range(n):
            admit(first, NOW)
        return time.perf_counter_ns() - t

    frozen = _Frozen()

    def replace_frozen(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            dataclasses.replace(frozen, attempt=1)
        return time.perf_counter_ns() - t

    with axios_like.create(base_url="https://api.example.com") as api:
        call = Call(api.defaults, "GET", "/users/1", {}, api.interceptors, (), is_async=False)
    cfg = call.config
    request = httpx.Request("GET", "https://api.example.com/users/1")
    response = to_outcome(httpx.Response(200, request=request), cfg)

    def per_call(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            asked = call.ticket(cfg, 1, AttemptKind.FIRST)
            assert asked is not None
            admit_all(*asked, NOW)
            record_all(*asked, verdict(DONE, response, duration=0.001), NOW)
        return time.perf_counter_ns() - t

    def composed(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            admit_all(both, first, NOW)
            record_all(both, first, OK, NOW)
        return time.perf_counter_ns() - t

    return {
        "baseline": baseline,
        "budget: first attempt ok": pair(budget, first, OK),
        "budget: retry (ratio credit)": generous_retry,
        "  (its first-attempt admit, subtracted)": generous_first,
        "budget: retry refused": pair(spent, retry, REFUSED),
        "breaker: closed, ok": pair(closed, first, OK),
        "breaker: closed, 503": pair(closed, first, FAILED),
        "breaker: open, refused": pair(opened, first, REFUSED),
        "both, composed: first attempt ok": composed,
        "per call, default budget, seam included": per_call,
        "calibration: dataclasses.replace": replace_frozen,
    }


@dataclasses.dataclass(frozen=True)
class _Frozen:
    """The small frozen record of bench_decide.py's calibration case."""

    attempt: int = 0
    previous_delay: float = 0.0
    history: tuple[object, ...] = ()
    deadline: float = 0.0
    start: float = 0.0


def check() -> None:
    """The measured calls take the paths they are named after."""
    first, retry = _ticket(AttemptKind.FIRST, 1), _ticket(AttemptKind.RETRY, 2)
    spent = RetryBudget(min_retries=0)
    assert spent.admit(retry, NOW) == Refuse(StopReason.RETRY_BUDGET)
    generous = RetryBudget(ratio=1.0, min_retries=0)
    generous.admit(first, NOW)
    assert generous.admit(retry, NOW) is SEND
    assert CircuitBreaker(min_calls=10**9).admit(first, NOW) is SEND


def main() -> int:
    parser = argparse.ArgumentParser(description="ns per admit() + record() pair")
    parser.add_argument("--quick", action="store_true", help="a smoke run (tiny counts)")
    parser.add_argument("--iterations", type=int, default=200_000, help="calls per case per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    n = 2_000 if args.quick else args.iterations
    rounds = 3 if args.quick else max(args.rounds, 1)

    pinned = pin_client()
    check()
    loops = cases()

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
    firsts = net.pop("  (its first-attempt admit, subtracted)")
    net["budget: retry (ratio credit)"] = [
        v - f for v, f in zip(net["budget: retry (ratio credit)"], firsts, strict=True)
    ]
    stats = {name: summary(values) for name, values in net.items()}

    rows = [
        [name, f"{s['median']:.0f}", f"{s['min']:.0f}-{s['max']:.0f}"] for name, s in stats.items()
    ]
    rows.append(["(loop baseline, subtracted)", f"{statistics.median(base):.0f}", ""])
    print(f"budget and breaker cost, ns per admit()+record(): {n:,} x {rounds} rounds ({pinned})\n")
    print_table(["case", "median ns", "min-max"], rows)
    measured = {k: s["median"] for k, s in stats.items() if not k.startswith("calibration")}
    # The target is the controllers' own cost; the composed and per-call rows add the seam.
    worst = max(v for k, v in measured.items() if k.startswith(("budget:", "breaker:")))
    slowdown = statistics.median(stats[k]["median"] / ref for k, ref in REFERENCE_NS.items())
    equivalent = {k: v / slowdown for k, v in measured.items()}
    verdict = "met" if worst <= TARGET_NS else "NOT met"
    print(
        f"\ntarget <= {TARGET_NS:.0f} ns per admit()+record() of one controller: {verdict} "
        f"(worst {worst:.0f} ns)"
    )
    print(
        f"this machine vs STYLE.md's reference: {slowdown:.2f}x slower; reference-equivalent: "
        + ", ".join(f"{k} {v:.0f} ns" for k, v in equivalent.items())
    )

    write_json(
        "resilience",
        {
            "iterations": n,
            "rounds": rounds,
            "pinned": pinned,
            "unit": "ns per admit() + record() pair (loop baseline subtracted)",
            "target_ns": TARGET_NS,
            "target_met": worst <= TARGET_NS,
            "slowdown_vs_style_reference": slowdown,
            "reference_equivalent_ns": equivalent,
            "results": {name: {**s, "rounds": net[name]} for name, s in stats.items()},
            "baseline_ns": base,
            "python_machine": machine()["python"],
        },
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
