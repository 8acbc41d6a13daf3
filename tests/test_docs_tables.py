"""docs/retry.md: its generated tables match the code, and its examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from axios_like import _docs

DASH = "\u2013"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "retry.md"


def _block(text: str, name: str) -> str:
    match = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.DOTALL)
    assert match is not None, f"{name} markers missing"
    return match.group(1)


def test_policy_table_is_current() -> None:
    assert _block(PAGE.read_text(encoding="utf-8"), "policy-table") == _docs.policy_table()


def test_strategy_table_is_current() -> None:
    assert _block(PAGE.read_text(encoding="utf-8"), "strategy-table") == _docs.strategy_table()


def test_render_is_a_fixed_point_of_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert _docs.render(page) == page


def test_policy_table_rows_follow_the_rules() -> None:
    rows = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ")[2:5]
        for line in _docs.policy_table().splitlines()[2:]
    }
    assert rows["`ConnectError` (never sent)"] == ["retried", "retried", "retried"]
    assert rows["`ReadTimeoutError` (may have reached the server)"] == ["retried", "no", "retried"]
    assert rows["status 429 (any method)"] == ["retried", "retried", "retried"]
    assert rows["status 503"] == ["retried", "no", "retried"]
    assert rows["status 400, 401, 403, 404, 405, 406, 409, 410, 422"] == ["no", "no", "no"]


def test_strategy_table_values() -> None:
    lines = _docs.strategy_table().splitlines()
    assert lines[0] == "| strategy | retry 1 | retry 2 | retry 3 | retry 4 | retry 5 | retry 6 |"
    default = "| `ExponentialBackoff()` (the default) | 1-1.5 | 2-3 | 4-6 | 8-12 | 16-24 | 30-45 |"
    assert default.replace("-", DASH) in lines
    assert "| `LinearBackoff()` | 1 | 2 | 3 | 4 | 5 | 6 |" in lines


def test_render_replaces_stale_tables_and_needs_markers() -> None:
    stale = (
        "intro\n<!-- policy-table:start -->\nold\n<!-- policy-table:end -->\nmiddle\n"
        "<!-- strategy-table:start -->\n<!-- strategy-table:end -->\nend\n"
    )
    fresh = _docs.render(stale)
    assert fresh.startswith("intro\n<!-- policy-table:start -->\n| failure |")
    assert _block(fresh, "strategy-table") == _docs.strategy_table()
    assert fresh.endswith("<!-- strategy-table:end -->\nend\n")
    assert _docs.render(fresh) == fresh
    with pytest.raises(ValueError, match="policy-table"):
        _docs.render("no markers here")


def test_command_line_check_and_write(tmp_path: Path) -> None:
    page = PAGE.read_text(encoding="utf-8")
    copy = tmp_path / "retry.md"
    copy.write_text(page.replace(f"| 1{DASH}1.5 |", f"| 1{DASH}9 |"), encoding="utf-8")
    assert _docs.main(["--check", str(copy)]) == 1
    assert _docs.main(["--write", str(copy)]) == 0
    assert copy.read_text(encoding="utf-8") == page
    assert _docs.main(["--check", str(copy)]) == 0
    before = copy.stat().st_mtime_ns
    assert _docs.main(["--write", str(copy)]) == 0  # already current: left untouched
    assert copy.stat().st_mtime_ns == before


def test_module_runs_as_a_script(tmp_path: Path) -> None:
    copy = tmp_path / "retry.md"
    copy.write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "axios_like._docs", "--check", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_module_as_a_script_in_process_exits_with_mains_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, in this process (runpy), so coverage sees the script's last line."""
    import runpy
    import warnings

    stale = tmp_path / "retry.md"
    start = "<!-- policy-table:start -->"
    page = PAGE.read_text(encoding="utf-8")
    assert start in page
    stale.write_text(page.replace(start, f"{start}\n| a stale row |"), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["_docs", "--check", str(stale)])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'axios_like._docs' found in sys.modules")
        with pytest.raises(SystemExit) as done:
            runpy.run_module("axios_like._docs", run_name="__main__")
    assert done.value.code == 1


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.parametrize("marker", ["class FullJitter", "def retry_on"])
def test_offline_examples_run(marker: str) -> None:
    [code] = [block for block in _python_blocks() if marker in block]
    namespace: dict[str, object] = {}
    exec(compile(code, str(PAGE), "exec"), namespace)
    api = namespace["api"]
    api.close()  # type: ignore[attr-defined]


def test_command_line_without_a_page_prints_both_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert _docs.main([]) == 0
    out = capsys.readouterr().out
    assert out == f"{_docs.policy_table()}\n\n{_docs.strategy_table()}\n"


CONFIG_PAGE = PAGE.parent / "config.md"
#: Keys validated but documented elsewhere (none today).
_NOT_IN_THE_TABLE: frozenset[str] = frozenset()


def test_config_page_lists_every_request_key() -> None:
    from axios_like._config import ATTEMPT_KEYS, library_defaults

    text = CONFIG_PAGE.read_text(encoding="utf-8")
    table = text.split("## Request keys", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)? \|", table, re.MULTILINE))
    keys = {k for pair in listed for k in pair if k}
    assert keys == set(ATTEMPT_KEYS) - _NOT_IN_THE_TABLE
    assert set(library_defaults()) <= set(ATTEMPT_KEYS)


def test_config_page_shows_the_retry_after_status_default() -> None:
    from axios_like._config import library_defaults

    text = CONFIG_PAGE.read_text(encoding="utf-8")
    [row] = [line for line in text.splitlines() if line.startswith("| `retry_after_status` |")]
    shown = row.split(" | ")[1].strip("`{}")
    assert {int(s) for s in shown.split(", ")} == library_defaults()["retry_after_status"]


def test_config_table_has_a_row_for_every_default_and_says_the_budget_is_per_client() -> None:
    from axios_like._config import library_defaults

    text = (PAGE.parent / "config.md").read_text(encoding="utf-8")
    rows = {
        key: line
        for line in text.splitlines()
        if line.startswith("| `")
        for key in re.findall(r"`(\w+)`", line.split(" | ")[0])
    }
    assert set(library_defaults()) <= set(rows)
    assert "| a fresh `RetryBudget()` per client |" in rows["retry_budget"]
    assert "| `None` |" in rows["circuit_breaker"]
    assert {"routes", "max_retries_ceiling"} <= set(rows)
