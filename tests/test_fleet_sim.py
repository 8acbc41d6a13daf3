"""A small subset of the fleet simulation (benchmarks/fleet/), run in the suite.

The full run is ``python benchmarks/fleet/run.py``; these runs use short
timelines and the 10 x 100 req/s shape so the whole module stays within seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import coverage
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from fleet import run, sim  # noqa: E402
from fleet._adapter import SEND_ATTEMPT, Process, Result, call  # noqa: E402
from fleet.anchors import AwsQuota, FinagleBudget, GrpcThrottle, PyBreaker  # noqa: E402

from axios_like._config import library_defaults  # noqa: E402
from axios_like._control import Origin  # noqa: E402


@pytest.fixture(autouse=True)
def _untraced() -> Iterator[None]:
    """Run without coverage's tracer: these runs replay the core hundreds of thousands of
    times (24 s of CPU under tracing, 8 s without), and the core's own tests cover it."""
    cov = coverage.Coverage.current()
    if cov is None:  # --no-cov
        yield
        return
    cov.stop()
    try:
        yield
    finally:
        cov.start()


LARGE = sim.Shape(10, 100.0)
SHORT = sim.Timeline(warm=2.0, trigger=30.0, post=12.0)
#: A tenth of the rate: the dynamics scale with it (the FIFO capacity is relative to base).
SMALL = sim.Shape(10, 10.0)
HEALTHY = sim.Scenario("healthy", "no faults", fail=0.0)
DOWN = sim.Scenario("down", "100 % failures, the whole run", steady=True)


def _has_budget() -> bool:
    return sim.DEFAULT_BUDGET in sim.rows()


def test_without_failures_amplification_is_exactly_one() -> None:
    r = sim.run_one(HEALTHY, LARGE, sim.NO_BUDGET, timeline=sim.Timeline(5.0, 10.0, 10.0))
    assert r["amplification"] == 1.0
    assert r["attempts_per_call"] == 1.0
    assert r["goodput"] == 1.0
    assert r["stops"] == {}
    assert r["recovery"] == 0.0
    assert 9_000 < r["calls"] < 11_000  # 1000 calls/s for 10 s, Poisson
    assert r["p99"] < 0.1  # 10 ms + Exp(10 ms)


def test_no_budget_outage_is_the_four_attempts_of_three_retries() -> None:
    r = sim.run_one("outage", LARGE, sim.NO_BUDGET, timeline=SHORT)
    # Every call in the window makes its 4 attempts, but those started in its
    # last seconds, whose later retries land after the outage and succeed.
    assert 3.7 < r["attempts_per_call"] < 4.0
    # Retries after the window's end are not counted: 1 + (30 - 1.25)/30 +
    # (30 - 3.75)/30 + (30 - 8.75)/30 = 3.54 for the mean backoffs.
    assert 3.45 < r["amplification"] < 3.65
    assert 3.9 < r["peak"] < 4.4
    assert set(r["stops"]) == {"max_retries"}


def test_no_budget_steady_failure_is_exactly_four() -> None:
    r = sim.run_one(DOWN, SMALL, sim.NO_BUDGET, timeline=sim.Timeline(15.0, 20.0, 12.0))
    assert r["attempts_per_call"] == 4.0
    assert 3.8 < r["amplification"] < 4.2
    assert r["goodput"] == 0.0


def test_stacked_no_budget_is_sixteen_per_call() -> None:
    shape = sim.Shape(2, 10.0)
    r = sim.run_one("stacked", shape, sim.NO_BUDGET, timeline=sim.Timeline(50.0, 5.0, 50.0))
    assert r["attempts_per_call"] == 16.0  # 4 attempts at A, each a call of 4 at B
    assert 12.0 < r["amplification"] < 20.0  # 100 calls in the window: Poisson noise


@pytest.mark.skipif(not _has_budget(), reason="RetryBudget not merged yet")
def test_default_budget_holds_the_outage() -> None:
    r = sim.run_one("outage", LARGE, sim.DEFAULT_BUDGET, timeline=sim.Timeline(20.0, 30.0, 10.0))
    # Measured 1.0x; the target is 1.15x. Bound with margin.
    assert r["amplification"] < 1.2
    assert r["peak"] < 2.5


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    row = sim.DEFAULT_BUDGET if _has_budget() else "gRPC retry throttling (10 tokens, 0.1)"
    timeline = sim.Timeline(5.0, 10.0, 10.0)
    shape = sim.Shape(20, 20.0)
    first = sim.run_one("brownout", shape, row, timeline=timeline, seed=3)
    again = sim.run_one("brownout", shape, row, timeline=timeline, seed=3)
    other = sim.run_one("brownout", shape, row, timeline=timeline, seed=4)
    assert first == again
    assert first["load"] != other["load"]


def test_fifo_server_at_80_percent_has_no_timeouts_and_small_waits() -> None:
    healthy = sim.Scenario("fifo", "no drop", kind="overload", params={"capacity": 1.25, "drop": 0})
    r = sim.run_one(healthy, sim.Shape(10, 100.0), sim.NO_BUDGET, timeline=sim.Timeline(2, 8, 5))
    assert r["amplification"] == 1.0
    assert r["server"]["wasted"] == r["server"]["skipped"] == 0
    assert r["p99"] < 0.05  # M/D/1 at rho 0.8: waits of a few ms, 10 ms of network


def test_overload_without_budget_never_recovers() -> None:
    r = sim.run_one("overload", SMALL, sim.NO_BUDGET, timeline=sim.Timeline(5.0, 30.0, 35.0))
    assert r["recovery"] is None
    assert r["load_after"] > 3.0
    assert r["server"]["skipped"] > 0


# ---------------------------------------------------------------- adapter and anchors


ORIGIN = Origin("http", "svc", 80)


def _process(*extra: object) -> Process:
    config = library_defaults()
    config.update(method="GET", url="http://svc/items", max_retries=3, retry_budget=None)
    return Process(config, extra)  # type: ignore[arg-type]


def _drive(
    process: Process, outcomes: list[object], start: float = 0.0
) -> tuple[Result, list[object]]:
    """Run one call by hand: the outcomes in order; returns the result and what it asked."""
    now = [start]
    gen = call(process, ORIGIN, lambda: now[0])
    asked: list[object] = []
    value: object = None
    feed = iter(outcomes)
    for _ in range(20):
        try:
            msg = gen.send(value)  # type: ignore[arg-type]
        except StopIteration as stop:
            return stop.value, asked
        asked.append(msg)
        if msg is SEND_ATTEMPT:
            value = next(feed)
        else:
            now[0] += float(msg)  # type: ignore[arg-type]
            value = None
    raise AssertionError("call did not end")


def test_adapter_runs_the_real_decide() -> None:
    process = _process()
    out = sim.Outcomes(process.config)  # type: ignore[arg-type]
    result, asked = _drive(process, [out.e503, out.e503, out.e503, out.ok])
    assert result == Result(True, 4, None)
    sends = [a for a in asked if a is SEND_ATTEMPT]
    waits = [a for a in asked if a is not SEND_ATTEMPT]
    assert len(sends) == 4
    assert [1.0 <= waits[0] <= 1.5, 2.0 <= waits[1] <= 3.0, 4.0 <= waits[2] <= 6.0] == [True] * 3
    result, _ = _drive(process, [out.e503] * 4)
    assert result == Result(False, 4, "max_retries")
    result, asked = _drive(process, [out.e429, out.ok])
    assert result.ok
    assert asked[1] == 2.0  # Retry-After: 2


def test_grpc_throttle_refuses_retries_at_half_tokens() -> None:
    process = _process(GrpcThrottle())
    out = sim.Outcomes(process.config)  # type: ignore[arg-type]
    # tokens 10 -> 9 -> 8 -> 7 -> 6: all 3 retries allowed (6 > 5)
    assert _drive(process, [out.e503] * 4)[0] == Result(False, 4, "max_retries")
    # 6 -> 5: the retry is refused (5 is not > 5)
    assert _drive(process, [out.e503] * 4)[0] == Result(False, 1, "retry_budget")


def test_finagle_reserve_and_aws_quota_allow_a_lone_failing_call() -> None:
    for controller in (FinagleBudget(), AwsQuota()):
        process = _process(controller)
        out = sim.Outcomes(process.config)  # type: ignore[arg-type]
        assert _drive(process, [out.e503] * 3 + [out.ok])[0] == Result(True, 4, None)


def test_aws_quota_runs_dry_after_100_retries() -> None:
    quota = AwsQuota()
    process = _process(quota)
    out = sim.Outcomes(process.config)  # type: ignore[arg-type]
    retries = 0
    for _ in range(40):
        retries += _drive(process, [out.e503] * 4)[0].attempts - 1
    assert retries == 100  # 500 / 5


def test_pybreaker_opens_after_five_failures_and_probes_after_reset() -> None:
    breaker = PyBreaker()
    process = _process(breaker)
    out = sim.Outcomes(process.config)  # type: ignore[arg-type]
    assert _drive(process, [out.e503] * 4)[0].attempts == 4
    result, _ = _drive(process, [out.e503] * 4)
    assert result == Result(False, 1, "circuit_open")  # failure 5 opened it: no retry
    result, _ = _drive(process, [out.ok], start=30.0)
    assert result == Result(False, 0, "circuit open")  # first attempt refused: CircuitOpenError
    result, _ = _drive(process, [out.ok], start=70.0)  # past reset_timeout: the trial
    assert result == Result(True, 1, None)
    assert _drive(process, [out.ok], start=71.0)[0] == Result(True, 1, None)  # closed


def test_docs_markers_are_replaced(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"# T\n\nintro\n\n{run.BEGIN}\nold\n{run.END}\n\nafter\n")
    assert run.update_docs(page, "| new | table |\n")
    assert page.read_text() == f"# T\n\nintro\n\n{run.BEGIN}\n| new | table |\n{run.END}\n\nafter\n"
    plain = tmp_path / "plain.md"
    plain.write_text("# no markers\n")
    assert not run.update_docs(plain, "x")
    assert plain.read_text() == "# no markers\n"


# ---------------------------------------------------------------- fleet mode


def _has_fleet() -> bool:
    return sim.FLEET in sim.rows()


@pytest.mark.skipif(not _has_fleet(), reason="fleet mode needs redis-py (the redis extra)")
def test_fleet_mode_holds_the_outage_to_the_ratio_with_a_smooth_peak() -> None:
    r = sim.run_one("outage", LARGE, sim.FLEET, timeline=sim.Timeline(12.0, 15.0, 8.0))
    # Measured 1.07x and a peak of 1.2x (full run); issue 12's targets: 1.10x and 1.3x.
    assert r["amplification"] <= 1.10
    assert r["peak"] <= 1.3
    assert r["recovery"] is not None
    assert r["recovery"] <= 5


@pytest.mark.skipif(not _has_fleet(), reason="fleet mode needs redis-py (the redis extra)")
def test_fleet_mode_bounds_many_small_processes_where_a_budget_each_cannot() -> None:
    shape = sim.Shape(500, 0.2)  # 100 calls/s: each process makes ~4 calls in the outage
    timeline = sim.Timeline(12.0, 20.0, 5.0)
    local = sim.run_one("outage", shape, sim.DEFAULT_BUDGET, timeline=timeline)
    fleet = sim.run_one("outage", shape, sim.FLEET, timeline=timeline)
    assert local["amplification"] > 1.3  # the lone-call rule, per process
    assert fleet["amplification"] <= 1.10  # a quiet fleet's rule: no lone calls in an outage
    assert fleet["peak"] <= 1.3


@pytest.mark.skipif(not _has_fleet(), reason="fleet mode needs redis-py (the redis extra)")
def test_fleet_mode_keeps_goodput_at_five_percent_failures() -> None:
    r = sim.run_one("low", SMALL, sim.FLEET, timeline=sim.Timeline(5.0, 30.0, 5.0))
    assert r["goodput"] >= 0.999  # a quiet fleet: the local ratio and reserve answer


@pytest.mark.skipif(not _has_fleet(), reason="fleet mode needs redis-py (the redis extra)")
def test_the_fleet_store_plays_the_scripts_arithmetic() -> None:
    from fleet.fleetmode import FleetStore

    now = [100.0]
    store = FleetStore(lambda: now[0])
    keys = ["c", "l", "z", "s"]
    totals: dict[str, tuple[int, int, int]] = {}
    seq = [0]

    def sync(member: str, f: int, r: int, x: int) -> list[object]:
        # reports are cumulative and numbered, as RedisState sends them (none acked yet)
        tf, tr, tx = totals.get(member, (0, 0, 0))
        totals[member] = sent = (tf + f, tr + r, tx + x)
        seq[0] += 1
        args = ["o", 3000, 3000, 1, 0, seq[0], member, *sent, "0.1", 10000, "3.0", 0, 0, 0]
        return store(keys, args)

    # 20 first attempts: allowance 0.1 x 20 + 3 = 5; paced to 2 tenths: 1 to lease
    assert sync("a", 20, 0, 0) == ["1.000", "5.000", 1]
    # the same report again (a sync that timed out but ran): counted once
    assert store(keys, ["o", 3000, 3000, 1, 0, 1, "a", 20, 0, 0, "0.1", 10000, "3.0", 0, 0, 0]) == [
        "1.000",
        "5.000",
        1,
    ]
    # a second member: the pace is leased to "a" already
    assert sync("b", 0, 0, 0) == ["0.000", "5.000", 1]
    now[0] = 100.5
    assert sync("a", 0, 1, 10) == ["0.000", "-5.000", 0]  # failing beyond the ratio: noisy
    now[0] = 109.0
    assert sync("b", 0, 0, 0)[2] == 0  # noisy within a window of the last noisy sync
    now[0] = 111.0
    # 10 s later: quiet, counts aged out; the pace, 3 x 0.2, is less than a whole token
    assert sync("b", 0, 0, 0) == ["0.600", "3.000", 1]
    with pytest.raises(NotImplementedError):
        store(keys, ["o", 3000, 3000, 0, 1, 1, 0, 0, 0, 0])


def test_429_each_process_has_its_own_gate_and_no_call_is_held_long() -> None:
    """Regression: the processes shared one RateLimitGate (library_defaults() made one
    for the shared base config), and a bare 429 queued calls in rounds of 64 per 0.2 s:
    p99 ~70 s and a 46 s drain at 1.2-1.3 x base after the server was healthy again."""
    s = sim.Sim(
        sim.SCENARIOS["429"], LARGE, sim.DEFAULT_BUDGET, timeline=sim.Timeline(2.0, 20.0, 35.0)
    )
    gates = {id(p.config["rate_limit_gate"]) for p in s.layers[0].processes}
    assert len(gates) == LARGE.clients
    r = s.run()
    assert r["p99"] < 10.0  # held ~2 s per call at most, plus its own retry waits
    assert r["recovery"] is not None
    assert r["recovery"] <= 14.0  # the held line catches up at 1.2 x: ~12 s
    assert r["load_after"] < 1.1
    assert max(r["load"][22 + 3 :]) < 1.3  # the line goes out at 1.2 x base, no burst
    assert set(r["stops"]) <= {"max_retries", "retry_budget"}  # none "rate limited"
