"""The retry decision for a 503, ours next to urllib3's, httpx-retries' and tenacity's.

ns per decision, no I/O: what each library computes between "a 503 arrived" and
"wait this long, then send again", each with a default-like exponential backoff:

- ``axios_like``: ``_retry.decide(state, error, now)`` -> ``Retry(delay)`` (policy,
  idempotency, ``Retry-After`` lookup, backoff with jitter, history entry);
- ``urllib3``: ``Retry.is_retry()`` + ``Retry.increment()`` (which builds a new frozen
  ``Retry``) + ``get_backoff_time()``, as ``urllib3.connectionpool`` does;
- ``httpx-retries``: ``is_retryable_status_code()`` + ``is_exhausted()`` + ``increment()``
  (a new ``Retry``) + the sleep computation (``Retry-After``, then backoff), as its
  ``RetryTransport`` does;
- ``tenacity``: ``Retrying.iter(retry_state)`` on a failed attempt -> ``DoSleep``
  (retry predicate, stop, wait, statistics). stamina decides through tenacity.

Each case loops ``--iterations`` times per round; a loop doing only the per-iteration
reset is measured in the same round and subtracted. Cases run interleaved for
``--rounds`` rounds; median and min-max are reported.

Run: ``python benchmarks/bench_decision_peers.py`` (``--quick``: a smoke run).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import httpx
from _common import fmt, parse_args, pin_client, print_table, summary, try_import, write_json

import axios_like
from axios_like._config import attempt_copy
from axios_like._outcomes import to_outcome
from axios_like._retry import Retry, RetryState, decide

URL = "https://api.example.com/users/1"
HEADERS = {"content-type": "application/json", "content-length": "27", "server": "nginx"}
TARGET_NS = 1000.0

Loop = Callable[[int], int]


def ours() -> dict[str, Loop]:
    with axios_like.create() as api:
        config = attempt_copy(api.defaults)
    config.update(method="GET", url=URL)
    request = httpx.Request("GET", URL)
    err = to_outcome(httpx.Response(503, headers=HEADERS, request=request), config)
    assert isinstance(err, BaseException)
    state = RetryState(config, start=0.0)
    history = state.history
    step = decide(state, err, 1.0)
    assert isinstance(step, Retry), step
    assert 1.0 <= step.delay <= 1.5, step

    def reset(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
        return time.perf_counter_ns() - t

    def run(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            state.attempt = 0
            state.attempts = 0
            history.clear()
            decide(state, err, 1.0)
        return time.perf_counter_ns() - t

    return {"axios_like": run, "axios_like:reset": reset}


def nothing(n: int) -> int:
    t = time.perf_counter_ns()
    for _ in range(n):
        pass
    return time.perf_counter_ns() - t


def urllib3_case(notes: list[str]) -> dict[str, Loop]:
    urllib3 = try_import("urllib3", "urllib3", notes)
    if urllib3 is None:
        return {}
    from urllib3.util.retry import Retry as U3Retry

    retry = U3Retry(
        total=3, backoff_factor=1.0, backoff_jitter=0.5, status_forcelist=[408, 429, 502, 503, 504]
    )
    response = urllib3.HTTPResponse(body=b"", status=503, headers=HEADERS)
    assert retry.is_retry("GET", 503, False)
    assert retry.increment(method="GET", url=URL, response=response).total == 2

    def run(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            if retry.is_retry("GET", response.status, False):
                retry.increment(method="GET", url=URL, response=response).get_backoff_time()
        return time.perf_counter_ns() - t

    return {f"urllib3 {urllib3.__version__}": run, "urllib3:reset": nothing}


def httpx_retries_case(notes: list[str]) -> dict[str, Loop]:
    mod = try_import("httpx_retries", "httpx-retries", notes)
    if mod is None:
        return {}
    retry = mod.Retry(total=3, backoff_factor=1.0, backoff_jitter=0.5)
    headers = httpx.Headers(HEADERS)
    assert retry.is_retryable_status_code(503)
    assert not retry.is_exhausted()

    def run(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            if retry.is_retryable_status_code(503) and not retry.is_exhausted():
                retry.increment()._calculate_sleep(headers)
        return time.perf_counter_ns() - t

    return {"httpx-retries": run, "httpx-retries:reset": nothing}


def tenacity_case(notes: list[str]) -> dict[str, Loop]:
    tenacity = try_import("tenacity", "tenacity", notes)
    if tenacity is None:
        return {}

    def transient(exc: BaseException) -> bool:
        if isinstance(exc, httpx.HTTPStatusError):
            return exc.response.status_code in {408, 429, 502, 503, 504}
        return isinstance(exc, httpx.TransportError)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(4),
        wait=tenacity.wait_exponential_jitter(initial=1, max=30, jitter=0.5),
        retry=tenacity.retry_if_exception(transient),
        reraise=True,
    )
    request = httpx.Request("GET", URL)
    response = httpx.Response(503, headers=HEADERS, request=request)
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        error = exc
    retrying.begin()  # what Retrying.__call__ does first: sets up its statistics
    state = tenacity.RetryCallState(retrying, None, (), {})
    state.set_exception((type(error), error, error.__traceback__))
    assert isinstance(retrying.iter(state), tenacity.DoSleep)

    def run(n: int) -> int:
        t = time.perf_counter_ns()
        for _ in range(n):
            retrying.iter(state)
        return time.perf_counter_ns() - t

    return {
        f"tenacity {tenacity.__version__}" if hasattr(tenacity, "__version__") else "tenacity": run,
        "tenacity:reset": nothing,
    }


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0],
        lambda p: p.add_argument("--iterations", type=int, default=None),
    )
    rounds = args.rounds or (2 if args.quick else 5)
    n = args.iterations or (2_000 if args.quick else 100_000)
    print(pin_client())
    notes: list[str] = []
    loops: dict[str, Loop] = {
        **ours(),
        **urllib3_case(notes),
        **httpx_retries_case(notes),
        **tenacity_case(notes),
    }
    names = [k for k in loops if not k.endswith(":reset")]
    resets = {
        name: next(
            v for k, v in loops.items() if k.endswith(":reset") and name.startswith(k.split(":")[0])
        )
        for name in names
    }
    for loop in loops.values():
        loop(max(n // 20, 100))  # warm up
    raw: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            raw[name].append((loops[name](n) - resets[name](n)) / n)
    stats = {name: summary(values) for name, values in raw.items()}
    ours_ns = stats["axios_like"]["median"]
    rows = [[name, fmt(s, 0), f"{s['median'] / ours_ns:.1f}"] for name, s in stats.items()]
    print(f"\nretry decision for a 503, ns, {n:,} x {rounds} rounds: median (min-max)")
    print_table(["library", "ns per decision", "x axios_like"], rows)
    verdict = "met" if ours_ns <= TARGET_NS else "NOT met"
    print(f"\ntarget <= {TARGET_NS:.0f} ns per retry decision: {verdict} ({ours_ns:.0f} ns)")
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    write_json(
        "decision_peers",
        {
            "iterations": n,
            "rounds": rounds,
            "unit": "ns per decision (reset loop subtracted)",
            "target_ns": TARGET_NS,
            "target_met": ours_ns <= TARGET_NS,
            "results": stats,
            "notes": list(dict.fromkeys(notes)),
            "python": sys.version.split()[0],
        },
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
