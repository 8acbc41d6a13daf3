"""The project's own gates: extras, the coverage floor, the generated sync client."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- extras


def test_http2_extra_brings_h2() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert [req.split(">")[0].split("<")[0] for req in extras["http2"]] == ["h2"]
    assert extras["http2"] == ["h2>=3,<5"]  # the range httpx's own http2 extra asks for


def test_http2_extra_is_documented_where_http2_true_is() -> None:
    config = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    [row] = [line for line in config.splitlines() if line.startswith("| `http2` |")]
    assert "axios-like[http2]" in row
    install = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "axios-like[http2]" in install or '".[http2]"' in install


# ---------------------------------------------------------------- coverage floor


def test_coverage_has_a_floor() -> None:
    report = PYPROJECT["tool"]["coverage"]["report"]
    assert report["fail_under"] >= 95
    # the floor bites only if branch coverage of the package is what is measured
    assert PYPROJECT["tool"]["coverage"]["run"]["branch"] is True
    assert "--cov=axios_like" in PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"]


# ---------------------------------------------------------------- generated sync client


def _unasync_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=root,
    )


def test_generated_sync_client_is_up_to_date() -> None:
    done = _unasync_check(ROOT)
    assert done.returncode == 0, (
        f"{done.stdout}{done.stderr}\nEdit axios_like/_async_client.py, then run "
        "python scripts/unasync.py to regenerate axios_like/_sync_client.py"
    )
    assert done.stdout.strip() == "axios_like/_sync_client.py is up to date"


def test_the_staleness_check_catches_a_hand_edit(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "axios_like").mkdir()
    shutil.copy(ROOT / "scripts" / "unasync.py", tmp_path / "scripts")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for name in ("_async_client.py", "_sync_client.py"):
        shutil.copy(ROOT / "axios_like" / name, tmp_path / "axios_like")
    assert _unasync_check(tmp_path).returncode == 0
    sync = tmp_path / "axios_like" / "_sync_client.py"
    sync.write_text(sync.read_text(encoding="utf-8") + "\nHAND_EDIT = 1\n", encoding="utf-8")
    done = _unasync_check(tmp_path)
    assert done.returncode == 1
    assert done.stdout.strip() == (
        "axios_like/_sync_client.py is stale: run python scripts/unasync.py"
    )
