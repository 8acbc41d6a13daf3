"""``python -m axios_like demo``: every scenario prints its key lines, fast.

The demo runs with ``--fast`` (``instant_retries()``): the waits are computed,
reported and counted in the timeline's times, but not slept.
"""

from __future__ import annotations

import contextlib
import io
import re
import time

import pytest

from axios_like import _demo
from axios_like.__main__ import main
from axios_like.testing import instant_retries


def _scenarios(output: str) -> dict[int, list[str]]:
    """The lines of each ``[n]`` scenario of the demo's output."""
    found: dict[int, list[str]] = {}
    current = 0
    for line in output.splitlines():
        heading = re.match(r"\[(\d)\] ", line)
        if heading:
            current = int(heading.group(1))
        found.setdefault(current, []).append(line)
    return found


def _rows(lines: list[str]) -> list[str]:
    """The attempt rows (they start with the time, ``+0.000s``)."""
    return [line.strip() for line in lines if line.strip().startswith("+")]


@pytest.fixture(scope="module")
def output() -> str:
    """One fast run of the demo through ``main(["demo", "--fast"])``, stdout captured."""
    buffer = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(buffer):
        assert main(["demo", "--fast"]) == 0
    took = time.monotonic() - started
    # the real waits add up to ~3 s; --fast sleeps none of them
    assert took < 2.0
    return buffer.getvalue()


def test_six_scenarios_in_order_and_a_summary(output: str) -> None:
    headings = re.findall(r"^\[(\d)\] ", output, flags=re.MULTILINE)
    assert headings == ["1", "2", "3", "4", "5", "6"]
    assert re.search(r"^6 scenarios in \d+\.\ds\.", output, flags=re.MULTILINE)
    assert "--fast: waits are computed and counted, not slept" in output
    assert "\x1b[" not in output  # no colours when stdout is not a terminal


def test_backoff_scenario_503_503_200(output: str) -> None:
    rows = _rows(_scenarios(output)[1])
    assert [r.split()[1:4] for r in rows] == [
        ["GET", "/flaky", "503"],
        ["GET", "/flaky", "503"],
        ["GET", "/flaky", "200"],
    ]
    first, second = (float(re.findall(r"wait (\d+\.\d+)s", r)[0]) for r in rows[:2])
    assert 0.2 <= first <= 0.3
    assert 0.4 <= second <= 0.6
    assert "backoff 0.20s + jitter" in rows[0]
    assert "backoff 0.40s + jitter" in rows[1]
    assert rows[2].endswith("done")
    assert any(
        "200 OK after 3 attempts" in line and '"name": "Ada"' in line
        for line in _scenarios(output)[1]
    )


def test_retry_after_scenario(output: str) -> None:
    lines = _scenarios(output)[2]
    rows = _rows(lines)
    assert "429 Too Many Requests" in rows[0]
    assert "wait 1.00s  Retry-After: 1 (the server's wait)" in rows[0]
    # the skipped 1 s wait is counted: the retry shows up one second later
    assert 1.0 <= float(rows[1].split("s", 1)[0].lstrip("+")) < 1.5
    assert "200 OK" in rows[1]


def test_401_is_not_retried(output: str) -> None:
    lines = _scenarios(output)[3]
    rows = _rows(lines)
    assert len(rows) == 1
    assert "401 Unauthorized" in rows[0]
    assert "not retried: 401 is not a transient status" in rows[0]
    assert any("raised HTTPStatusError" in line for line in lines)
    assert any("the server received 1 request" in line for line in lines)


def test_post_replayed_only_with_idempotency_key(output: str) -> None:
    lines = _scenarios(output)[4]
    rows = _rows(lines)
    assert len(rows) == 3
    assert "connection dropped" in rows[0]
    assert "not retried: the POST may have been processed" in rows[0]
    assert any("raised RemoteProtocolError" in line for line in lines)
    assert "connection dropped" in rows[1]
    assert "POST with Idempotency-Key" in rows[1]
    assert "201 Created" in rows[2]
    assert any("the server received 3 POSTs" in line for line in lines)


def test_deadline_cuts_retries_short(output: str) -> None:
    lines = _scenarios(output)[5]
    rows = _rows(lines)
    assert [r.split()[3] for r in rows] == ["503", "503", "503"]
    assert "wait 0.20s" in rows[0]
    assert "wait 0.40s" in rows[1]
    assert "stopped: deadline=1s reached" in rows[2]
    assert any("raised RetryError (reason='deadline', attempts=3)" in line for line in lines)
    assert any("failed after 3 attempts (deadline=1s reached)" in line for line in lines)
    assert any("the next wait (0.80s) would end at" in line for line in lines)


def test_token_refresh_replays_once(output: str) -> None:
    lines = _scenarios(output)[6]
    rows = _rows(lines)
    assert len(rows) == 2
    assert "401 Unauthorized" in rows[0]
    assert "replayed at once (refresh_token() called)" in rows[0]
    assert "200 OK" in rows[1]
    assert any('{"user": "ada"}' in line for line in lines)
    assert "fresh-token" not in output
    assert "expired-token" not in output


def test_demo_main_without_fast_sleeps_unless_instant_retries_is_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with instant_retries():  # the caller's instant mode holds for the demo's clients too
        assert _demo.main([]) == 0
    out = capsys.readouterr().out
    assert "--fast" not in out
    assert "reason='deadline'" in out


def test_demo_main_rejects_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert _demo.main(["--slow"]) == 2
    assert "unrecognized arguments: --slow" in capsys.readouterr().err
