"""Generate ``axios_like/_sync_client.py`` from ``axios_like/_async_client.py``.

The async shell is the source of truth; the sync shell is a mechanical
translation (as httpcore and hishel do), so the two cannot drift.

    python scripts/unasync.py          # rewrite the sync file
    python scripts/unasync.py --check  # exit 1 if the sync file is stale
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "axios_like" / "_async_client.py"
TARGET = ROOT / "axios_like" / "_sync_client.py"

HEADER = '''"""``Client``: the sync shell. GENERATED from ``_async_client.py``: do not edit.

Edit ``_async_client.py`` and run ``python scripts/unasync.py`` (``scripts/unasync.py``).
A shell only does I/O: run interceptors and middleware, send through httpx,
close, sleep. Every decision is made by the core (``_request``, ``_outcomes``, ``_retry``).
"""
'''

#: (pattern, replacement), applied in order, each as a regular expression.
SUBSTITUTIONS: tuple[tuple[str, str], ...] = (
    (r"\bAsyncClient\b", "Client"),
    (r"\bAsyncVerbs\b", "Verbs"),
    (r"\bAsyncMiddleware\b", "Middleware"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAwaitable\[(\w+)\]", r"\1"),
    (r"\bAwaitable, ", ""),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\bcreate_async\b", "create"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\baiter_raw\b", "iter_raw"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\baread\b", "read"),
    (r"allow_async=True", "allow_async=False"),
    (r"is_async=True", "is_async=False"),
    (r"\bthe tasks of one event loop\b", "threads"),  # docstrings: who may share a client
    (r"^import asyncio\n", ""),
    (r"^import inspect\n", ""),
    # A block between "# unasync: begin remove" and "# unasync: end remove" lines (both
    # included): async-only code such as hedging, which the sync shell must not carry.
    (r"^[ \t]*# unasync: begin remove\n(?:.*\n)*?[ \t]*# unasync: end remove\n", ""),
    (r"^.*# unasync: remove\n", ""),
    (r"^(\s*)result = hook\(event\)\n", r"\1hook(event)\n"),
)


def translate(text: str) -> str:
    """The sync source for the async source ``text`` (before formatting)."""
    _, _, body = text.partition('"""\n')  # drop the module docstring
    for pattern, replacement in SUBSTITUTIONS:
        body = re.sub(pattern, replacement, body, flags=re.MULTILINE)
    return HEADER + body


def render() -> str:
    """The finished sync file: translated, then sorted and formatted by ruff."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "_sync_client.py"
        path.write_text(translate(SOURCE.read_text()))
        ruff = [sys.executable, "-m", "ruff"]
        config = ["--config", str(ROOT / "pyproject.toml")]
        subprocess.run(
            [*ruff, "check", *config, "--fix", "--select", "I,F401", "--quiet", str(path)],
            check=False,
        )
        subprocess.run([*ruff, "format", *config, "--quiet", str(path)], check=True)
        return path.read_text()


def main(argv: list[str]) -> int:
    expected = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != expected:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python scripts/unasync.py")
            return 1
        print(f"{TARGET.relative_to(ROOT)} is up to date")
        return 0
    TARGET.write_text(expected)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
