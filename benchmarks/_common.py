"""Shared machinery of the benchmark scripts: server process, pinning, rounds, stats, output.

Every script:

- pins itself (the client) to CPU 0 and starts :mod:`benchmarks._server` pinned to CPU 1;
- runs its contenders interleaved (A B C A B C ...) for several rounds, so drift of a
  shared, noisy machine hits every contender alike;
- reports the median and the min-max spread over rounds, and for every contender the
  ratio to the raw-httpx baseline *of the same round*, whose median is the headline;
- prints a table and writes JSON to ``benchmarks/results/`` (``--quick`` runs tiny
  counts and writes to ``benchmarks/results/quick/`` so it never overwrites real figures).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CLIENT_CPU = 0
SERVER_CPU = 1

#: Packages whose versions are written next to every result.
VERSIONED = (
    "axios-like",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "sniffio",
    "aiohttp",
    "httpx-aiohttp",
    "httpx-retries",
    "tenacity",
    "stamina",
    "urllib3",
    "axios-python",
)


# ---------------------------------------------------------------- command line


def parse_args(description: str, add: Callable[[argparse.ArgumentParser], None] | None = None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny counts (a smoke run, < 10 s)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (>= 5)")
    if add is not None:
        add(parser)
    return parser.parse_args()


# ---------------------------------------------------------------- CPUs and processes


def pin_client() -> str:
    """Pin this process to CPU 0 when the machine has two CPUs or more; say what was done."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpus = os.sched_getaffinity(0)
    if len(cpus) < 2 or CLIENT_CPU not in cpus or SERVER_CPU not in cpus:
        return f"not pinned (CPUs available: {sorted(cpus)})"
    os.sched_setaffinity(0, {CLIENT_CPU})
    return f"client on CPU {CLIENT_CPU}, server on CPU {SERVER_CPU}"


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of another process (Linux ``/proc``; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def get_json(port: int, path: str) -> dict[str, int]:
    """GET ``path`` from a benchmark server on 127.0.0.1 (a fresh connection); its JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())  # type: ignore[no-any-return]
    finally:
        conn.close()


def stop(proc: subprocess.Popen[Any]) -> None:
    """Terminate a helper process, killing it if it does not end within 5 s."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class BenchServer:
    """:mod:`benchmarks._server` in its own process, pinned to CPU 1."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_server.py"), "--cpu", str(SERVER_CPU)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.proc.kill()
            raise RuntimeError(f"benchmark server did not start (said {line!r})")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"

    def _get(self, path: str) -> dict[str, int]:
        return get_json(self.port, path)

    def stats(self) -> dict[str, int]:
        """``{"requests": N, "flaky": N}`` counted since the last reset."""
        return self._get("/_stats")

    def reset(self) -> None:
        self._get("/_reset")

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.proc.pid)

    def close(self) -> None:
        stop(self.proc)

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- measuring


class Sample(dict[str, float]):
    """One contender's figures for one round (``cpu_us``, ``rps``, ``server_busy``...)."""


@contextlib.contextmanager
def measure(n: int, server: BenchServer, into: dict[str, float]) -> Iterator[None]:
    """Time the block that sends ``n`` requests: client CPU per request, requests/s,
    and how busy the server's CPU was meanwhile (1.0 = the server was the bottleneck)."""
    server_cpu = server.cpu_seconds()
    cpu = time.process_time()
    wall = time.perf_counter()
    yield
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    server_cpu = server.cpu_seconds() - server_cpu
    into["cpu_us"] = cpu / n * 1e6
    into["rps"] = n / wall
    into["wall_s"] = wall
    into["server_busy"] = server_cpu / wall


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def ratios(samples: list[dict[str, float]], base: list[dict[str, float]], key: str) -> list[float]:
    """Per-round ratio of a contender's figure to the baseline's figure of the same round."""
    return [s[key] / b[key] for s, b in zip(samples, base, strict=True)]


def fmt(stat: dict[str, float], digits: int = 1) -> str:
    """``median (min-max)``."""
    return f"{stat['median']:.{digits}f} ({stat['min']:.{digits}f}-{stat['max']:.{digits}f})"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


# ---------------------------------------------------------------- peers


def try_import(module: str, package: str, notes: list[str]) -> Any | None:
    """Import a peer, or record a note and return ``None`` (a missing peer is skipped)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        note = f"skipped {package}: not installed ({exc}); pip install -e '.[bench]'"
        print(f"note: {note}")
        notes.append(note)
        return None


# ---------------------------------------------------------------- machine and output


def versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in VERSIONED:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions(),
    }


def write_json(name: str, payload: dict[str, Any], *, quick: bool) -> Path:
    folder = RESULTS / "quick" if quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    payload = {
        "benchmark": name,
        "quick": quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    print(f"\nwrote {path.relative_to(HERE.parent)}")
    return path


# ---------------------------------------------------------------- rounds


def rotated(items: Sequence[Any], round_index: int) -> list[Any]:
    """The contenders in another order each round (A B C, B C A, ...): none always first."""
    k = round_index % len(items)
    return [*items[k:], *items[:k]]


def aggregate(
    samples: dict[str, list[dict[str, float]]], baseline: str, keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Median and min-max of each figure, and of its per-round ratio to ``baseline``."""
    out: dict[str, dict[str, Any]] = {}
    base = samples[baseline]
    for name, rows in samples.items():
        entry: dict[str, Any] = {}
        for key in keys:
            entry[key] = summary([r[key] for r in rows])
            entry[f"{key}_ratio"] = summary(ratios(rows, base, key))
        if "server_busy" in rows[0]:
            entry["server_busy"] = summary([r["server_busy"] for r in rows])
        out[name] = entry
    return out


def print_happy_table(title: str, results: dict[str, dict[str, Any]], baseline: str) -> None:
    print(f"\n{title}")
    rows = []
    for name, r in results.items():
        rows.append(
            [
                name,
                fmt(r["cpu_us"], 0),
                f"{r['cpu_us_ratio']['median']:.3f} ({r['cpu_us_ratio']['min']:.2f}-"
                f"{r['cpu_us_ratio']['max']:.2f})",
                fmt(r["rps"], 0),
                f"{r['rps_ratio']['median']:.2f} ({r['rps_ratio']['min']:.2f}-"
                f"{r['rps_ratio']['max']:.2f})",
                f"{r['server_busy']['max'] * 100:.0f}%",
            ]
        )
    print_table(
        [
            "client",
            "CPU us/request",
            f"CPU x {baseline}",
            "requests/s",
            f"req/s x {baseline}",
            "server CPU (max)",
        ],
        rows,
    )


# ---------------------------------------------------------------- Redis (fleet mode rows)

#: What the fleet sync's Lua script runs inside Redis: ``INFO commandstats`` counts
#: those too, so they are left out of the commands the client sent.
IN_SCRIPT = frozenset({
    "time", "hincrby", "hgetall", "hdel", "zadd", "zremrangebyscore", "zcard", "zscore",
    "hset", "pexpire", "get", "set", "del", "pttl", "exists",
})  # fmt: skip


class RedisServer:
    """A ``redis-server`` of its own on 127.0.0.1 (no persistence), pinned to CPU 1.

    ``RedisServer.start(notes)`` returns ``None`` with a note when redis-server or
    redis-py is missing: the fleet mode rows are then skipped, the rest runs.
    """

    def __init__(self, proc: subprocess.Popen[bytes], port: int, redis: Any) -> None:
        self.proc = proc
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        #: One connection for the benchmark's own PING and INFO (its HELLO counted once).
        self._stats = redis.Redis(port=port, socket_timeout=2.0)

    @classmethod
    def start(cls, notes: list[str]) -> RedisServer | None:
        import shutil
        import socket

        if shutil.which("redis-server") is None:
            note = "skipped fleet mode: no redis-server (apt-get install redis-server)"
            print(f"note: {note}")
            notes.append(note)
            return None
        redis = try_import("redis", "redis", notes)
        if redis is None:
            return None
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        proc = subprocess.Popen(
            [
                "redis-server",
                *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > SERVER_CPU:
            with contextlib.suppress(OSError):  # with the benchmark server, off the client's CPU
                os.sched_setaffinity(proc.pid, {SERVER_CPU})
        server = cls(proc, port, redis)
        for _ in range(200):
            with contextlib.suppress(redis.RedisError):
                if server._stats.ping():
                    return server
            time.sleep(0.025)
        server.close()
        raise RuntimeError("redis-server did not start")

    def commands(self) -> dict[str, int]:
        """Calls per command so far (``INFO commandstats``), the script's own left out."""
        stats = self._stats.info("commandstats")
        out = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
        return {k: v for k, v in out.items() if k not in IN_SCRIPT}

    def close(self) -> None:
        self._stats.close()
        stop(self.proc)
