"""Run the fleet simulation and write its tables (issue 11).

Run: ``python benchmarks/fleet/run.py [--quick] [--update-docs] [--jobs N] [--seed S]``
(``--from-json``: no simulation, re-render the tables from the saved ``fleet.json``).

The full run (every scenario x shape x row, about 140 runs of ~140,000 calls
each, on all CPUs) writes ``benchmarks/fleet/results/fleet.json`` and
``fleet.md``; ``--update-docs`` also puts ``fleet.md`` between the
``<!-- fleet:begin -->`` and ``<!-- fleet:end -->`` lines of
``docs/resilience.md``. ``--quick`` (a smoke run: a tenth of the clients at the
same per-client rates, a shorter timeline) writes to ``results/quick/`` and
never touches the docs.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if __package__ in (None, ""):  # run as a script: make ``fleet`` importable
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(ROOT))

from fleet import sim  # noqa: E402

RESULTS = HERE / "results"
DOCS_PAGE = ROOT / "docs" / "resilience.md"
BEGIN, END = "<!-- fleet:begin -->", "<!-- fleet:end -->"
X = "\N{MULTIPLICATION SIGN}"

#: The stacked scenario's clock: C fails from t=0; the window is steady state (an
#: unbudgeted call chain A -> B -> C lasts up to ~45 s).
STACKED_TIMELINE = sim.Timeline(warm=50.0, trigger=30.0, post=50.0)
QUICK_TIMELINE = sim.Timeline(warm=10.0, trigger=20.0, post=35.0)
QUICK_STACKED_TIMELINE = sim.Timeline(warm=45.0, trigger=5.0, post=45.0)
#: Rows of the stacked scenario, and of the overload sensitivity run.
AXIOS_ROWS = (sim.NO_BUDGET, sim.DEFAULT_BUDGET, sim.WITH_BREAKER)
SENSITIVITY_ROWS = (sim.NO_BUDGET, sim.DEFAULT_BUDGET)


def jobs(quick: bool) -> list[dict[str, Any]]:
    """Every run, longest first (so the pool ends together)."""
    shapes = sim.SHAPES
    if quick:
        shapes = tuple(sim.Shape(max(1, s.clients // 10), s.rate) for s in shapes)
    timeline = QUICK_TIMELINE if quick else sim.Timeline()
    stacked = QUICK_STACKED_TIMELINE if quick else STACKED_TIMELINE
    rows = list(sim.rows())
    axios_rows = [r for r in AXIOS_ROWS if r in rows]
    out: list[dict[str, Any]] = []
    for shape in shapes:
        for row in axios_rows:
            # The stacked runs are the long ones: two shapes are enough for a smoke.
            if not (quick and shape == shapes[1]):
                out.append({"scenario": "stacked", "shape": shape, "row": row, "timeline": stacked})
            if row not in SENSITIVITY_ROWS:
                continue
            out.append(
                {
                    "scenario": "overload",
                    "shape": shape,
                    "row": row,
                    "timeline": timeline,
                    "skip_abandoned": False,
                }
            )
    for key in ("overload", *(k for k in sim.SCENARIOS if k != "overload")):
        for shape in shapes:
            for row in rows:
                out.append({"scenario": key, "shape": shape, "row": row, "timeline": timeline})
    return out


def _run(job: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    result = sim.run_one(
        job["scenario"],
        job["shape"],
        job["row"],
        seed=job["seed"],
        timeline=job["timeline"],
        skip_abandoned=job.get("skip_abandoned", True),
    )
    if not job.get("skip_abandoned", True):
        result["scenario"] = "overload-serve-abandoned"
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def run_all(quick: bool, seed: int, workers: int) -> list[dict[str, Any]]:
    todo = jobs(quick)
    for job in todo:
        job["seed"] = seed
    if workers <= 1:
        return [_run(job) for job in todo]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_run, todo))


# ---------------------------------------------------------------- tables


def _x(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}{X}"


def _num(value: float | None, fmt: str, none: str) -> str:
    if value is None:
        return none
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return format(value, fmt)


def _goodput(value: float) -> str:
    return "1.0000" if value >= 1.0 else f"{value:.4f}"


SCENARIO_TITLES = {
    **{key: s.title for key, s in sim.SCENARIOS.items()},
    "stacked": sim.STACKED.title,
    "overload-serve-abandoned": (
        "overload, sensitivity: the server also serves requests whose client already gave up"
    ),
}


def find(
    results: Iterable[dict[str, Any]], scenario: str, row: str, shape: str
) -> dict[str, Any] | None:
    for r in results:
        if r["scenario"] == scenario and r["row"] == row and r["shape"] == shape:
            return r
    return None


def targets(results: Sequence[dict[str, Any]], break_for: float | None) -> list[list[str]]:
    """The issue's numbers to reach: target, measured, met?"""
    shapes = list(dict.fromkeys(r["shape"] for r in results))
    small, large = shapes[0], shapes[-1]
    lines: list[list[str]] = []

    def line(
        what: str,
        scenario: str,
        row: str,
        key: str,
        among: list[str],
        ok: Callable[[float], bool] | None,
        fmt: str,
    ) -> None:
        found = [find(results, scenario, row, shape) for shape in among]
        measured = [None if r is None else r[key] for r in found]
        shown = ", ".join(
            "not run" if r is None else _num(m, fmt, "never")
            for r, m in zip(found, measured, strict=True)
        )
        if ok is None or any(r is None for r in found):
            verdict = "n/a"
        else:
            met = all(m is not None and ok(m) for m in measured)
            verdict = "met" if met else "**not met**"
        lines.append([what, shown, verdict])

    d, b = sim.DEFAULT_BUDGET, sim.WITH_BREAKER
    grpc = find(results, "outage", "gRPC retry throttling (10 tokens, 0.1)", small)
    grpc_x = _x(grpc["amplification"]) if grpc else "not run"
    line(
        f"default budget, 30 s outage, {small}: amplification ≤ 1.5{X} (gRPC: {grpc_x})",
        "outage", d, "amplification", [small], lambda v: v <= 1.5, ".2f",
    )  # fmt: skip
    line(
        f"default budget, 30 s outage, {large}: amplification ≤ 1.15{X}",
        "outage", d, "amplification", [large], lambda v: v <= 1.15, ".2f",
    )  # fmt: skip
    line(
        "default budget, overload: recovery ≤ 10 s, every shape (s)",
        "overload", d, "recovery", shapes, lambda v: v <= 10, ".0f",
    )  # fmt: skip
    line(
        "default budget, 5 % failures: goodput ≥ 0.999, every shape",
        "low", d, "goodput", shapes, lambda v: v >= 0.999, ".4f",
    )  # fmt: skip
    limit = None if break_for is None else break_for + 1
    line(
        f"budget + breaker, 30 s outage: recovery ≤ break_for + 1 s "
        f"(= {_num(limit, 'g', '?')} s), every shape (s)",
        "outage", b, "recovery", shapes, None if limit is None else (lambda v: v <= limit), ".0f",
    )  # fmt: skip
    line(
        f"default budget, stacked A → B → C at 100 % failure: ≤ 1.25{X}, every shape",
        "stacked", d, "amplification", shapes, lambda v: v <= 1.25, ".2f",
    )  # fmt: skip
    f = sim.FLEET
    for scenario in FLEET_SCENARIOS:
        line(
            f"fleet mode, {scenario}: amplification ≤ 1.10{X}, every shape",
            scenario, f, "amplification", shapes, lambda v: v <= 1.10, ".2f",
        )  # fmt: skip
        line(
            f"fleet mode, {scenario}: 1-s peak ≤ 1.3{X}, every shape",
            scenario, f, "peak", shapes, lambda v: v <= 1.3, ".2f",
        )  # fmt: skip
    return lines


#: The scenarios with a fault window, where issue 12's fleet targets apply.
FLEET_SCENARIOS = ("outage", "brownout", "overload", "429", "shard")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


DEFINITIONS = """\
The model: each client process makes calls as a Poisson process, with
`library_defaults()` and `max_retries=3` (the default `ExponentialBackoff`:
1 s, x2, 50 % jitter; `timeout` 10 s; GET), and has its own controllers (one
budget, breaker and default `RateLimitGate` per process, as a real fleet of
processes has).
Every call runs the library's real `decide()`, `admitted()`, `verdict()` and
`admit_all`/`record_all` under a virtual clock (`benchmarks/fleet/_adapter.py`
mirrors the client's retry loop step for step). A healthy attempt takes 10 ms + Exp(10 ms);
a failing one answers in 5 ms. The overload server is one FIFO queue with a
capacity of 1.25 x base (80 % utilisation) that drops to 0.5 x base for 30 s;
a client gives up after its 10 s timeout (a retried timeout); the server
wastes work on requests whose client gave up while they were served, and
skips at no cost those whose client had already gone (the sensitivity table
serves them too). The anchors are modelled as attempt controllers in
`benchmarks/fleet/anchors.py`. The fleet-mode row gives every process a
default `RetryBudget(shared=...)` whose shared state is the library's real
`RedisState` without its thread, with the Lua script played in Python on one
simulated Redis per run (`benchmarks/fleet/fleetmode.py`): each process
syncs once a second at a phase of its own (batched in 100 slots of 10 ms);
the row has no breaker (the fleet breaker is not modelled) and does not run
the stacked scenario.

How to read the tables (base = the fleet's nominal first-attempt rate, clients times rate:
1000 calls/s in every shape of the full run):

- **amplification**: attempts put on the wire during the trigger window (first
  attempts and retries; attempts a budget or breaker refused were not sent and
  do not count) divided by the calls started during it. Retries that fall
  after the window's end are not counted; **attempts/call** counts every
  attempt of the calls that started in the window, whenever it was sent.
- **peak**: the largest 1-s count of attempts sent, over the whole run, / base.
- **goodput**: share of the calls started in the trigger window that
  succeeded; **p99**: their 99th-percentile latency (to success or final error).
- **recovery**: seconds from the end of the trigger until the first of 5
  consecutive 1-s buckets whose load is within 10 % of base and in which more
  than 99 % of the calls ending succeed (1-s resolution; "never" = not within
  the run's {post:g} s after the trigger).
- **load after**: mean load from 30 s to 60 s after the trigger ended, / base.
- Stacked: C fails 100 % for the whole run; the window is {s_start:g}-{s_end:g} s in (steady
  state); amplification is attempts at C / calls into A.
"""


def notes(results: Sequence[dict[str, Any]], quick: bool) -> list[str]:
    """What bounds a per-process budget: computed from the shapes, not fitted."""
    timeline = QUICK_TIMELINE if quick else sim.Timeline()
    shapes = list(dict.fromkeys(r["shape"] for r in results))
    out = []
    for shape in (
        (sim.Shape(max(1, s.clients // 10), s.rate) for s in sim.SHAPES) if quick else sim.SHAPES
    ):
        if shape.name not in shapes:
            continue
        calls = shape.rate * timeline.trigger
        if calls > 10:
            continue
        floor = 1.0 + 3.0 / calls
        out.append(
            f"Note: a process of the {shape.name} shape makes about {calls:g} calls in the "
            f"{timeline.trigger:g} s window. A budget that lets a lone failing call on an idle "
            f"client keep its 3 retries (so that a quiet client is never starved) grants "
            f"the first failing call of each process 3 retries, so a per-process budget "
            f"cannot go below about 1 + 3 / {calls:g} = {floor:.2f}{X} over this window, "
            f"whatever its ratio; only state shared across processes (fleet mode) can."
        )
        out.append("")
        # The overload: the same retries, each after a 10 s timeout, land after the drop.
        span = 3 * 10.0 + 1.25 + 2.5 + 5.0  # three timeouts and the mean backoffs
        extra = shape.clients * 3 / span / shape.total
        capacity = sim.SCENARIOS["overload"].params["capacity"]
        out.append(
            f"In the overload, those 3 retries of each process's first failing call go out "
            f"over about {span:.0f} s after its first attempt times out (three 10 s timeouts "
            f"and the mean backoffs, 1.25, 2.5 and 5 s): {shape.clients:,} processes {X} 3 "
            f"retries over {span:.0f} s add about {extra:.2f}{X} base, so the load stays above "
            f"the server's {capacity:g}{X} capacity, and its queue full, until they are spent, "
            f"well after the capacity is back: a per-process budget cannot recover this shape "
            f"within 10 s either (the hypothesis of a reserve that does not refill within a "
            f"window of a failure was measured: 52 to 61 s over three seeds, and it cost the "
            f"5 % failures goodput of the 100 {X} 10 req/s shape: 0.9988 on seed 2)."
        )
        out.append("")
    return out


def breaker_note(break_for: float | None, trigger: float) -> list[str]:
    """Why the breaker's recovery target cannot hold for this outage: the doubling break."""
    if break_for is None:
        return []
    cap = _default("max_break_for")
    brk = at = break_for
    while at < trigger:  # the jitter-free probe times of a breaker opened at 0
        brk = min(cap or brk * 2, brk * 2)
        at += brk
    return [
        f"Note: with the breaker, the break doubles after each failed probe "
        f"({break_for:g}, {2 * break_for:g}, {4 * break_for:g} s ..., each ±10 %). A "
        f"breaker that opened as the {trigger:g} s outage began probes again about "
        f"{at:g} s later, so it stays open about {at - trigger:g} s after the outage ends, "
        f"plus the seconds it took to open, ± {0.1 * at:.1f} s of jitter; the recovery "
        f"metric waits for the last process's breaker to close. Recovery within "
        f"break_for + 1 s cannot hold for this outage while breaks double (docs/resilience.md, "
        f'"How long recovery takes after an outage").',
        "",
    ]


def definitions(quick: bool) -> str:
    """The metric definitions, with this run's timeline."""
    timeline = QUICK_TIMELINE if quick else sim.Timeline()
    stacked = QUICK_STACKED_TIMELINE if quick else STACKED_TIMELINE
    return DEFINITIONS.format(post=timeline.post, s_start=stacked.start, s_end=stacked.end)


def render(results: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "<!-- generated by benchmarks/fleet/run.py: do not edit by hand -->",
        "",
        f"Fleet simulation, seed {meta['seed']}"
        + (" (**--quick**: a tenth of the clients, short timeline)" if meta["quick"] else "")
        + f": {meta['runs']} runs, {meta['seconds']:.0f} s on {meta['cpus']} CPUs, "
        f"axios_like {meta['axios_like']}, Python {meta['python']}.",
        "",
        "**Targets**",
        "",
    ]
    lines += _table(["target", "measured", ""], targets(results, meta.get("break_for")))
    timeline = QUICK_TIMELINE if meta["quick"] else sim.Timeline()
    lines += ["", *notes(results, meta["quick"])]
    lines += [*breaker_note(meta.get("break_for"), timeline.trigger), definitions(meta["quick"])]
    header = [
        "row",
        "shape",
        "amplification",
        "attempts/call",
        "peak",
        "goodput",
        "p99 (s)",
        "recovery (s)",
        "load after",
    ]
    order = list(dict.fromkeys(r["scenario"] for r in results))
    preferred = [*sim.SCENARIOS, "overload-serve-abandoned", "stacked"]
    order = [s for s in preferred if s in order] + [s for s in order if s not in preferred]
    for scenario in order:
        lines += [f"**{SCENARIO_TITLES.get(scenario, scenario)}**", ""]
        body = []
        for r in results:
            if r["scenario"] != scenario:
                continue
            body.append(
                [
                    r["row"],
                    r["shape"],
                    _x(r["amplification"]),
                    _num(r["attempts_per_call"], ".2f", "n/a"),
                    _x(r["peak"], 1),
                    _goodput(r["goodput"]),
                    _num(r["p99"], ".1f", "n/a"),
                    "n/a"
                    if scenario in ("low", "stacked")
                    else _num(r["recovery"], ".0f", "never"),
                    "n/a" if scenario == "stacked" else _x(r["load_after"]),
                ]
            )
        lines += _table(header, body)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _sort_key(r: dict[str, Any], rows: list[str], shapes: list[str]) -> tuple[int, int]:
    row = rows.index(r["row"]) if r["row"] in rows else len(rows)
    shape = shapes.index(r["shape"]) if r["shape"] in shapes else len(shapes)
    return row, shape


def update_docs(page: Path, text: str) -> bool:
    """Put ``text`` between the marker lines of ``page``; False when the markers are missing."""
    content = page.read_text()
    begin, end = content.find(BEGIN), content.find(END)
    if begin < 0 or end < begin:
        return False
    head = content[: begin + len(BEGIN)]
    page.write_text(head + "\n" + text.rstrip() + "\n" + content[end:])
    return True


def _default(name: str) -> float | None:
    """A default of ``CircuitBreaker``, from its signature."""
    try:
        from axios_like import CircuitBreaker
    except ImportError:
        return None
    default = inspect.signature(CircuitBreaker).parameters[name].default
    return float(default) if isinstance(default, int | float) else None


def _break_for() -> float | None:
    """``CircuitBreaker``'s default ``break_for``, from its signature."""
    return _default("break_for")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (well under 30 s)")
    parser.add_argument("--update-docs", action="store_true", help="write docs/resilience.md")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--from-json", action="store_true", help="no simulation: re-render the saved fleet.json"
    )
    args = parser.parse_args(argv)
    if args.quick and args.update_docs:
        parser.error("--update-docs takes the full run's numbers: drop --quick")
    import axios_like

    out = RESULTS / "quick" if args.quick else RESULTS
    if args.from_json:
        saved = json.loads((out / "fleet.json").read_text())
        meta, results = saved["meta"], saved["results"]
        elapsed = meta["seconds"]
    else:
        started = time.perf_counter()
        results = run_all(args.quick, args.seed, max(1, args.jobs))
        elapsed = time.perf_counter() - started
        rows = list(sim.rows())
        shapes = list(dict.fromkeys(r["shape"] for r in results))
        results.sort(key=lambda r: _sort_key(r, rows, shapes))
        meta = {
            "seed": args.seed,
            "quick": args.quick,
            "runs": len(results),
            "seconds": elapsed,
            "cpus": max(1, args.jobs),
            "axios_like": getattr(axios_like, "__version__", "?"),
            "python": platform.python_version(),
            "break_for": _break_for(),
            "definitions": definitions(args.quick),
        }
    text = render(results, meta)
    out.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in results)
    meta_text = json.dumps(meta, indent=1, ensure_ascii=False)
    (out / "fleet.json").write_text(f'{{"meta": {meta_text},\n"results": [\n{lines}\n]}}\n')
    (out / "fleet.md").write_text(text)
    print(text)
    print(f"wrote {out / 'fleet.json'} and {out / 'fleet.md'} (simulated in {elapsed:.1f} s)")
    if args.update_docs:
        if not DOCS_PAGE.exists() or not update_docs(DOCS_PAGE, text):
            print(f"error: {DOCS_PAGE} has no {BEGIN} ... {END} markers", file=sys.stderr)
            return 1
        print(f"updated {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
