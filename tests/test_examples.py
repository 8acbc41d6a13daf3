"""Every script in examples/ runs as a user would run it, exits 0 and says what it should.

Each runs in a subprocess (``sys.executable``, 60 s at most; all are started
together) and starts its own
server on 127.0.0.1 when it needs one. ``EXPECTED`` holds, per script, lines its
output must contain; a script missing from it still has to run and exit 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

EXPECTED: dict[str, list[str]] = {
    "quickstart.py": [
        r"GET /users/1 -> 200 \{'id': 1, 'name': 'Ada'\} after 3 attempts",
        r"GET /missing -> 404 \(not retried",
    ],
    "per_request_override.py": [
        r"/flaky +max_retries=5 +-> 200 after 4 attempts",
        r"/slow +timeout=0\.1 +-> ReadTimeoutError",
        r"/down +LinearBackoff +-> max_retries after 4, waits \[0\.01, 0\.03, 0\.05\]",
        r"x-trace=t-42 x-team=None query=api_version=2&page=3",
        r"defaults unchanged",
    ],
    "custom_strategy.py": [
        r"Fibonacci: 6 attempts, waits \[0\.01, 0\.01, 0\.02, 0\.03, 0\.05\]",
        r"Grow /a: 5 attempts, waits \[0\.01, 0\.02, 0\.04, 0\.08\]",
        r"Grow /b: 5 attempts, waits \[0\.01, 0\.02, 0\.04, 0\.08\]",
    ],
    "middleware.py": [
        r"example +-> GET /orders",
        r"axios_like retrying GET http://127\.0\.0\.1:\d+/orders: attempt 1 failed \(status 503\)",
        r"example +<- GET /orders 200 after 3 attempt\(s\)",
        r"GET /orders took \d+ ms",
        r"GET /missing -> 404, not retried",
    ],
    "async_fanout.py": [
        r"\A100 responses in [\d.]+s: 20 needed a retry, peak concurrency (10|[1-9]) \(limit 10\)",
    ],
}


@pytest.fixture(scope="module")
def started() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Start every example at once (they are independent): the module takes as long as one."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = {
        p.name: subprocess.Popen(
            [sys.executable, str(p)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for p in EXAMPLES
    }
    yield procs
    for proc in procs.values():
        if proc.poll() is None:  # a test failed before reading it
            proc.kill()
        proc.communicate()


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, started: dict[str, subprocess.Popen[str]]) -> None:
    proc = started[script.name]
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{script.name} still running after 60 s")
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}:\n{stderr}"
    for pattern in EXPECTED.get(script.name, []):
        assert re.search(pattern, stdout), f"{script.name}: no {pattern!r} in:\n{stdout}"


def test_expectations_name_existing_examples() -> None:
    assert set(EXPECTED) <= {p.name for p in EXAMPLES}


def test_async_fanout_draws_its_progress_bar_only_on_a_terminal(
    started: dict[str, subprocess.Popen[str]],
) -> None:
    """Piped (the module fixture): no ``\\r`` at all. On a pseudo-terminal: the bar."""
    piped = started["async_fanout.py"]
    stdout, _ = piped.communicate(timeout=60)
    assert "\r" not in stdout
    assert stdout.count("\n") == 1  # the summary line alone

    import pty

    leader, follower = pty.openpty()
    chunks: list[bytes] = []
    try:
        with subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "async_fanout.py")],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        ) as proc:
            os.close(follower)
            for _ in range(100_000):  # bounded: reads until the child closes the terminal
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the child exited and the terminal is closed
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            _, stderr = proc.communicate(timeout=60)
            assert proc.returncode == 0, stderr
    finally:
        os.close(leader)
    text = b"".join(chunks).decode()
    assert text.count("\r[") >= 100  # redrawn once per finished request
    assert re.search(r"\[#{30}\] 100/100 done", text)
    assert re.search(r"100 responses in [\d.]+s: 20 needed a retry", text)
