"""The docs stand alone: no contract outside the repository, no private modules, no network.

A reader has the published pages and the public API, nothing else: a page that
says "SPEC section 3" or "read ``_retry.py``" sends them to something they do
not have (or must not rely on). Snippets a reader may paste use a mock
transport, so they never call the real ``api.example.com``.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests import test_docs_examples as runner

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]

#: The contributors' map of the package: naming the private modules is its purpose.
PRIVATE_MAP_PAGES = {"architecture.md"}

_SPEC = re.compile(r"\bSPEC\b")
_PRIVATE = re.compile(
    r"axios_like[./]_[a-z]\w*"  # axios_like._retry, axios_like/_config.py
    r"|(?<![\w/.])_[a-z]\w*\.py\b"  # _retry.py (benchmarks/_server.py is a repo path, not ours)
)


def _hits(pattern: re.Pattern[str], page: Path) -> list[str]:
    lines = page.read_text("utf-8").splitlines()
    return [
        f"{page.name}:{n}: {line.strip()}"
        for n, line in enumerate(lines, 1)
        if pattern.search(line)
    ]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_page_cites_a_spec_the_reader_does_not_have(page: Path) -> None:
    assert _hits(_SPEC, page) == []


USER_PAGES = [p for p in PAGES if p.name not in PRIVATE_MAP_PAGES]


@pytest.mark.parametrize("page", USER_PAGES, ids=[p.name for p in USER_PAGES])
def test_no_page_sends_the_reader_to_a_private_module(page: Path) -> None:
    assert _hits(_PRIVATE, page) == []


def test_the_patterns_catch_what_they_are_for() -> None:
    bad = [
        "SPEC section 3 is the contract",
        "read `axios_like._retry.decide()`",
        "the rules at the top of `_retry.py`",
        "see axios_like/_config.py",
    ]
    good = ["`benchmarks/_server.py`", "`original._retry = true`", "`on_retry`", "specs"]
    assert all(_SPEC.search(t) or _PRIVATE.search(t) for t in bad)
    assert not any(_SPEC.search(t) or _PRIVATE.search(t) for t in good)


def _offline(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"this snippet, pasted, would call the real {request.url}")


@pytest.mark.parametrize(
    ("page", "marker"),
    [
        ("pipeline.md", None),  # every block of the page, interceptor order included
        ("retry.md", "axios_like.RetryError as exc"),
        ("service-client.md", None),
        ("testing.md", None),
    ],
)
def test_pasted_snippets_use_a_mock_transport(
    page: str, marker: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the docs runner's fake network switched off, the snippets still run."""
    monkeypatch.setattr(runner, "_fake_reply", _offline)
    blocks = runner.extract_blocks((ROOT / "docs" / page).read_text("utf-8"))
    if marker is not None:
        blocks = [b for b in blocks if marker in b.code]
        assert len(blocks) == 1
    assert runner.run_page(blocks, page)


def test_the_site_knows_its_address_and_links_the_repository() -> None:
    config = (ROOT / "mkdocs.yml").read_text("utf-8")
    site = re.search(r"^site_url: (https://\S+/)$", config, re.MULTILINE)
    repo = re.search(r"^repo_url: (https://github\.com/\S+)$", config, re.MULTILINE)
    assert site
    assert repo
    assert re.search(r"^\s+show_bases: false\b", config, re.MULTILINE)  # no "Bases: Verbs"


def test_docstring_examples_are_fenced_for_highlighting() -> None:
    pytest.importorskip("griffe")
    import importlib.util

    spec = importlib.util.spec_from_file_location("griffe_doctest", ROOT / "docs/griffe_doctest.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = "Example::\n\n    api.get('/x')\n        nested()\n\nAfter.\n\n>>> 1 + 1\n2"
    assert module.fence_doctests(text).splitlines() == [
        "Example:",
        "",
        "```python",
        "api.get('/x')",
        "    nested()",
        "",
        "```",
        "After.",
        "",
        "```pycon",
        ">>> 1 + 1",
        "2",
        "```",
    ]
