"""The core's coverage floor (tests/_core_coverage.py): the list, the report, the wiring."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import _core_coverage

ROOT = Path(__file__).resolve().parent.parent


def test_missing_is_shown_as_coverage_shows_it() -> None:
    statements = [1, 2, 3, 5, 6, 9, 10, 12]
    missing = [3, 5, 6, 10]
    # 3-6 is one run (4 is not a statement); 2->3 goes to a missing line: in the run already;
    # 6->8 starts on one; 9->exit and 12->1 are shown.
    branches = [[2, 3], [6, 8], [9, -1], [12, 1]]
    assert _core_coverage.format_missing(statements, missing, branches) == (
        "3-6, 9->exit, 10, 12->1"
    )
    assert _core_coverage.format_missing([1, 2], [], []) == ""


def _entry(percent: float, missing: list[int], branches: list[list[int]]) -> dict[str, Any]:
    return {
        "summary": {"percent_covered": percent},
        "executed_lines": [1, 2, 3],
        "missing_lines": missing,
        "missing_branches": branches,
    }


def test_shortfalls_name_each_module_under_100_and_each_one_not_measured() -> None:
    report = {
        "files": {
            "axios_like/_full.py": _entry(100.0, [], []),
            "/elsewhere/axios_like/_short.py": _entry(99.5, [4], [[2, -1]]),
        }
    }
    modules = ["axios_like/_full.py", "axios_like/_short.py", "axios_like/_never.py"]
    assert _core_coverage.shortfalls(report, modules) == [
        "axios_like/_short.py: 99.50%, missing 2->exit, 4",
        "axios_like/_never.py: not measured (no test imported it)",
    ]
    assert _core_coverage.shortfalls({"files": {}}, []) == []


def test_the_core_list_names_real_modules_and_holds_the_core_ring() -> None:
    listed = _core_coverage.core_modules(ROOT)
    assert len(set(listed)) == len(listed)  # no repeats
    assert [m for m in listed if not (ROOT / m).is_file()] == []
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    core_ring = re.findall(r"^\| `(axios_like/[\w/]+\.py)` \| core", architecture, re.MULTILINE)
    assert len(core_ring) >= 10
    assert [m for m in core_ring if m not in listed] == []
    assert "[tool.axios_like] coverage_core" in architecture


@pytest.mark.parametrize(
    "plugin",
    [None, SimpleNamespace(cov_controller=None)],
    ids=["no pytest-cov", "--no-cov"],
)
def test_nothing_is_checked_when_coverage_is_off(plugin: object) -> None:
    manager = SimpleNamespace(getplugin=lambda name: plugin)
    session: Any = SimpleNamespace(
        config=SimpleNamespace(pluginmanager=manager, rootpath=ROOT), testsfailed=0
    )
    _core_coverage.check(session)
    assert session.testsfailed == 0


def test_a_pytest_run_with_coverage_fails_naming_the_core_module_under_100(
    tmp_path: Path,
) -> None:
    """End to end, in a tiny project that uses this suite's hook: after pytest-cov."""
    files = {
        "pyproject.toml": """
            [tool.pytest.ini_options]
            addopts = ["-p", "no:cacheprovider", "--cov=pkg", "--cov-branch", "--cov-report="]
            [tool.coverage.run]
            branch = true
            [tool.axios_like]
            coverage_core = ["pkg/core.py", "pkg/full.py"]
        """,
        "pkg/__init__.py": "",
        "pkg/core.py": """
            def sign(x):
                if x < 0:
                    return -1
                return 1
        """,
        "pkg/full.py": """
            def one():
                return 1
        """,
        "conftest.py": "from tests.conftest import pytest_runtestloop  # noqa: F401\n",
        "test_tiny.py": """
            from pkg.core import sign
            from pkg.full import one

            def test_it():
                assert (sign(5), one()) == (1, 1)
        """,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}

    def start(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    # both runs at once: each is mostly a Python start-up
    with start() as on, start("--no-cov") as off:
        on_out, _ = on.communicate(timeout=60)
        off_out, _ = off.communicate(timeout=60)
    assert on.returncode == 1, on_out
    assert "1 passed" in on_out
    problems = on_out.split("core modules below 100% branch coverage", 1)[1]
    assert "pkg/core.py: 66.67%, missing 3" in problems
    assert "pkg/full.py" not in problems
    assert off.returncode == 0, off_out
    assert "1 passed" in off_out
    assert "core modules" not in off_out


def test_a_module_whose_program_is_missing_is_left_out_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.axios_like]\n"
        'coverage_core = ["pkg/a.py", "pkg/b.py"]\n'
        'coverage_core_needs = { "pkg/b.py" = "some-server", "pkg/a.py" = "python3" }\n',
        encoding="utf-8",
    )
    found = {"python3": "/usr/bin/python3", "some-server": None}
    monkeypatch.setattr(_core_coverage.shutil, "which", found.get)
    assert _core_coverage.not_checkable(tmp_path) == {"pkg/b.py": "some-server"}
    found["some-server"] = "/usr/bin/some-server"
    assert _core_coverage.not_checkable(tmp_path) == {}
    (tmp_path / "pyproject.toml").write_text(
        '[tool.axios_like]\ncoverage_core = ["pkg/a.py"]\n', encoding="utf-8"
    )
    assert _core_coverage.not_checkable(tmp_path) == {}


def test_the_project_names_redis_server_for_the_fleet_mode_module() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        needs = tomllib.load(file)["tool"]["axios_like"]["coverage_core_needs"]
    assert needs == {"axios_like/redis.py": "redis-server"}
    assert "axios_like/redis.py" in _core_coverage.core_modules(ROOT)
