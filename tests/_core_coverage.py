"""The core's coverage floor: every module on the core list at 100% branch coverage.

``tests/conftest.py`` runs :func:`check` after the tests, once pytest-cov has
stopped and combined its data, and fails the run (exit status 1) naming each core
module under 100% with its missing lines and branches, as coverage prints them.
Nothing is checked when coverage is off (``--no-cov``, or pytest-cov absent).

The list is ``[tool.axios_like] coverage_core`` in ``pyproject.toml``, its one
home; ``docs/architecture.md`` says which modules are on it and why.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

__all__ = ["check", "core_modules", "format_missing", "not_checkable", "shortfalls"]

#: Where the list lives (a path relative to the root of the repository).
LIST_HOME = "pyproject.toml [tool.axios_like] coverage_core"


def core_modules(root: Path) -> list[str]:
    """The core list: paths relative to ``root``, as written in ``pyproject.toml``."""
    with (root / "pyproject.toml").open("rb") as file:
        data = tomllib.load(file)
    return [str(path) for path in data["tool"]["axios_like"]["coverage_core"]]


def not_checkable(root: Path) -> dict[str, str]:
    """Core modules whose tests need a program this machine lacks, and that program.

    ``[tool.axios_like] coverage_core_needs`` maps a module to the program its tests
    start (``redis.py``: a real ``redis-server``). Without the program those tests
    skip, so the module cannot be measured here: it is left out of the check, and
    said so, rather than failing a fresh machine. ``.ci/run`` installs the programs,
    so CI always checks every module.
    """
    with (root / "pyproject.toml").open("rb") as file:
        data = tomllib.load(file)
    needs: dict[str, str] = data["tool"]["axios_like"].get("coverage_core_needs", {})
    return {module: program for module, program in needs.items() if shutil.which(program) is None}


def format_missing(
    statements: Iterable[int],
    missing_lines: Iterable[int],
    missing_branches: Iterable[Sequence[int]],
) -> str:
    """Coverage's own "Missing" column: runs of missing statements (``"20-22"``: a run
    spans lines that are not statements), then each branch not taken (``"30->exit"``,
    ``"41->38"``) from a line that ran to a line that ran (others are in the runs)."""
    missing = set(missing_lines)
    shown: list[tuple[int, str]] = []
    first = last = 0
    for line in sorted(set(statements) | missing):
        if line in missing:
            first, last = first or line, line
        elif first:
            shown.append((first, str(first) if first == last else f"{first}-{last}"))
            first = 0
    if first:
        shown.append((first, str(first) if first == last else f"{first}-{last}"))
    for source, target in sorted(tuple(arc) for arc in missing_branches):
        if source not in missing and target not in missing:
            shown.append((source, f"{source}->{target if target > 0 else 'exit'}"))
    return ", ".join(text for _, text in sorted(shown))


def _entry(files: Mapping[str, Any], module: str) -> Any:
    """The report's entry for ``module``: coverage names a file relative to the directory
    it started in, or absolute; either way the name ends with the module's path."""
    for name, entry in files.items():
        name = name.replace(os.sep, "/")
        if name == module or name.endswith(f"/{module}"):
            return entry
    return None


def shortfalls(report: Mapping[str, Any], modules: Sequence[str]) -> list[str]:
    """One line per core module below 100% in coverage's JSON ``report`` (or not in it)."""
    files = report.get("files", {})
    out = []
    for module in modules:
        entry = _entry(files, module)
        if entry is None:
            out.append(f"{module}: not measured (no test imported it)")
            continue
        percent = float(entry["summary"]["percent_covered"])
        if percent < 100.0:
            missing = format_missing(
                entry["executed_lines"],
                entry["missing_lines"],
                entry.get("missing_branches", []),
            )
            out.append(f"{module}: {percent:.2f}%, missing {missing}")
    return out


def _json_report(cov: Any, root: Path, modules: Sequence[str]) -> dict[str, Any]:
    """Coverage's own JSON report of the core modules (its public API, no private data)."""
    from coverage.exceptions import NoDataError

    morfs = [str(root / module) for module in modules if (root / module).exists()]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "core.json"
        try:
            cov.json_report(morfs=morfs, outfile=str(out), ignore_errors=True)
        except NoDataError:
            return {"files": {}}
        report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


def check(session: pytest.Session) -> None:
    """Fail the run if a core module is below 100% (only when pytest-cov measured it)."""
    config = session.config
    # pytest-cov's plugin has a controller only while it measures: none under --no-cov
    # (tests/test_core_coverage.py runs both ways, so a pytest-cov upgrade cannot make this
    # check pass silently).
    controller = getattr(config.pluginmanager.getplugin("_cov"), "cov_controller", None)
    if controller is None:
        return  # coverage is off: --no-cov, or pytest-cov not measuring
    if config.option.collectonly or getattr(config, "workerinput", None) is not None:
        return
    root = config.rootpath
    skipped = not_checkable(root)
    modules = [module for module in core_modules(root) if module not in skipped]
    problems = shortfalls(_json_report(controller.cov, root, modules), modules)
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        for module, program in skipped.items():
            reporter.write(
                f"\nCore coverage: {module} not checked: its tests need `{program}`, "
                "which is not installed here (.ci/run installs it).\n",
                yellow=True,
            )
    if not problems:
        if reporter is not None:
            reporter.write(f"\nCore coverage: {len(modules)} modules at 100% ({LIST_HOME}).\n")
        return
    if reporter is not None:
        reporter.write(
            f"\nERROR: core modules below 100% branch coverage ({LIST_HOME}):\n",
            red=True,
            bold=True,
        )
        for line in problems:
            reporter.write(f"  {line}\n", red=True)
    session.testsfailed += 1  # exit status 1, as pytest-cov's fail_under does
