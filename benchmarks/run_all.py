"""Run every benchmark, then draw the chart and print the tables of docs/performance.md.

Run: ``python benchmarks/run_all.py`` (about 15 minutes on 2 cores; ``--quick``: a
smoke run of every script with tiny counts, under a minute, plus the fleet
simulation's ``--quick`` run).
"""

from __future__ import annotations

import subprocess
import sys
import time

from _common import HERE, parse_args

SCRIPTS = (
    "bench_server.py",
    "bench_happy.py",
    "bench_happy.py --fleet",  # fleet mode vs local mode, more rounds (happy_fleet.json)
    "bench_concurrency.py",
    "bench_layers.py",
    "bench_retry_path.py",
    "bench_decision_peers.py",
    "bench_decide.py",
    "bench_resilience.py",
    "bench_memory.py",
    "bench_shaping.py",
    "bench_hedge.py",
    "bench_profile.py",
)
#: Run by the quick smoke only: the full fleet simulation is its own command
#: (``python benchmarks/fleet/run.py``, several minutes).
QUICK_ONLY = ("fleet/run.py",)


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    extra = ["--quick"] if args.quick else []
    failed = []
    scripts = [*SCRIPTS, *(QUICK_ONLY if args.quick else ()), "report.py"]
    for entry in scripts:
        script, *options = entry.split()
        if not (HERE / script).exists():
            print(f"note: {script} not found, skipped")
            continue
        print(f"\n=== {entry} {' '.join(extra)}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / script), *options, *extra])
        print(f"=== {entry}: exit {code} in {time.perf_counter() - start:.1f} s", flush=True)
        if code:
            failed.append(entry)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
