"""Every ```python block of the docs and the README runs, so the docs cannot rot.

Each page's blocks run in order in one namespace (a later block may use names an
earlier one defined) and one event loop: top-level ``await`` is allowed. A block
preceded by the line ``<!-- no-run -->`` is skipped (use it only for what truly
cannot run: a fragment, a third-party library that is not installed).

A block preceded by ``<!-- file: NAME.py -->`` is a file of the reader's project (a
module, a pytest file): it is not run in the page's namespace; instead the page's
files are written to a fresh directory and pytest runs there in a subprocess, with
warnings as errors, and every ``test_*`` function in them must pass. The page's
other blocks may import its (non-test) files: they are on ``sys.path`` while it runs.

There is no network here, so ``axios_like.create`` and ``create_async`` are patched
for the page: a client created without ``transport=`` gets :class:`DocsTransport`,
which answers every request to a host other than 127.0.0.1/localhost with
``200 {"ok": true, "method": ..., "path": ...}``, sends loopback requests (a
``FlakyServer`` started by the page) over real sockets, and hands everything to a
real transport while respx is mocking, so respx examples see their routes called.
Clients the page leaves open are closed at its end.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.util
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import axios_like

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
NO_RUN = "<!-- no-run -->"
_FILE = re.compile(r"^<!--\s*file:\s*(?P<name>[\w\-]+\.py)\s*-->$")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it starts (1-based line of its fence) and its code."""

    line: int
    code: str
    run: bool
    file: str | None = None  # a file of the reader's project, run by pytest


def extract_blocks(text: str) -> list[Block]:
    """The ```python (or ```py) blocks of a markdown text, in order.

    A block whose fence line is preceded (blank lines aside) by ``<!-- no-run -->``
    is returned with ``run=False``; by ``<!-- file: NAME.py -->``, with ``run=False``
    and ``file=NAME.py``. Indented fences (inside list items or admonitions) are
    de-indented.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        lang = m["info"].strip().split(" ")[0].lstrip(".{").lower() if m["info"].strip() else ""
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and not close.strip(fence[0]):
                break
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        if lang not in ("python", "py", "python3"):
            continue
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = lines[before].strip() if before >= 0 else ""
        file = m_file["name"] if (m_file := _FILE.match(marker)) else None
        run = marker != NO_RUN and file is None
        blocks.append(Block(start + 1, "\n".join(body) + "\n", run, file))
    return blocks


# ---------------------------------------------------------------- the fake network


def _fake_reply(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"ok": True, "method": request.method, "path": request.url.path}
    )


def _respx_active() -> bool:
    try:
        from respx.mocks import Mocker
    except ImportError:  # pragma: no cover - respx is in the dev extra
        return False
    return any(mocker.routers for mocker in Mocker.registry.values())


class DocsTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Loopback and respx-mocked requests go to a real transport; the rest get a fake 200."""

    def __init__(self) -> None:
        self._sync: httpx.HTTPTransport | None = None
        self._async: httpx.AsyncHTTPTransport | None = None

    @staticmethod
    def _real(request: httpx.Request) -> bool:
        return request.url.host in _LOOPBACK or _respx_active()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self._real(request):
            return _fake_reply(request)
        if self._sync is None:
            self._sync = httpx.HTTPTransport()
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._real(request):
            return _fake_reply(request)
        if self._async is None:
            self._async = httpx.AsyncHTTPTransport()
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()


def _patched(
    factory: Callable[..., Any], made: list[Any]
) -> Callable[..., Any]:  # the same signature as create()/create_async()
    def create(config: Any = None, /, **kwargs: Any) -> Any:
        if "transport" not in (config or {}) and "transport" not in kwargs:
            kwargs["transport"] = DocsTransport()
        client = factory(config, **kwargs)
        made.append(client)
        return client

    create.__doc__ = factory.__doc__
    return create


def run_page(blocks: list[Block], name: str) -> dict[str, Any]:
    """Run ``blocks`` in order in one namespace and one event loop; return the namespace.

    A failing block raises ``AssertionError`` naming the page and the block's line.
    """
    namespace: dict[str, Any] = {"__name__": f"docs_{Path(name).stem.replace('-', '_')}"}
    with _page_files(blocks):
        return _run_blocks(blocks, name, namespace)


@contextlib.contextmanager
def _page_files(blocks: list[Block]) -> Iterator[None]:
    """The page's ``file:`` blocks as importable modules while its other blocks run."""
    files = [b for b in blocks if b.file is not None and not b.file.startswith("test_")]
    if not files:
        yield
        return
    with tempfile.TemporaryDirectory() as where:
        for block in files:
            assert block.file is not None
            (Path(where) / block.file).write_text(block.code, "utf-8")
        sys.path.insert(0, where)
        try:
            yield
        finally:
            sys.path.remove(where)
            for block in files:
                assert block.file is not None
                sys.modules.pop(block.file.removesuffix(".py"), None)


def _run_blocks(blocks: list[Block], name: str, namespace: dict[str, Any]) -> dict[str, Any]:
    made: list[Any] = []
    originals = (axios_like.create, axios_like.create_async)
    axios_like.create = _patched(originals[0], made)  # type: ignore[assignment]
    axios_like.create_async = _patched(originals[1], made)  # type: ignore[assignment]
    loggers = [logging.getLogger(), logging.getLogger("axios_like")]
    saved = [(lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    loop = asyncio.new_event_loop()
    try:
        for block in blocks:
            if not block.run:
                continue
            try:
                code = compile(
                    block.code,
                    f"{name}:{block.line}",
                    "exec",
                    flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                    dont_inherit=True,
                )
                result = eval(code, namespace)  # a coroutine when the block awaits
                if asyncio.iscoroutine(result):
                    loop.run_until_complete(result)
            except Exception as exc:
                raise AssertionError(
                    f"{name}, code block at line {block.line} failed: {type(exc).__name__}: {exc}"
                ) from exc
    finally:
        axios_like.create, axios_like.create_async = originals  # type: ignore[assignment]
        for lg, (level, handlers, propagate) in zip(loggers, saved, strict=True):
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate
        for client in made:
            if isinstance(client, axios_like.AsyncClient):
                loop.run_until_complete(client.aclose())
            else:
                client.close()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return namespace


def _pages_with_code() -> Iterator[Any]:
    for page in PAGES:
        if page.exists() and any(b.run for b in extract_blocks(page.read_text("utf-8"))):
            yield pytest.param(page, id=str(page.relative_to(ROOT)))


@pytest.mark.parametrize("page", list(_pages_with_code()))
def test_page_examples_run(page: Path) -> None:
    blocks = extract_blocks(page.read_text("utf-8"))
    namespace = run_page(blocks, str(page.relative_to(ROOT)))
    assert namespace  # the page ran to its end


def _pages_with_files() -> Iterator[Any]:
    for page in PAGES:
        if page.exists() and any(b.file for b in extract_blocks(page.read_text("utf-8"))):
            yield pytest.param(page, id=str(page.relative_to(ROOT)))


_PYTEST_INI = """\
[pytest]
filterwarnings =
    error
asyncio_default_fixture_loop_scope = function
"""


def run_files(blocks: list[Block], where: Path) -> tuple[int, int, str]:
    """Write the file blocks to ``where``, run pytest there; (tests defined, passed, output)."""
    defined = 0
    for block in blocks:
        if block.file is None:
            continue
        target = where / block.file
        assert not target.exists(), f"{block.file} is given twice"
        target.write_text(block.code, "utf-8")
        if block.file.startswith("test_"):
            defined += len(re.findall(r"^(?:async )?def test_\w+", block.code, re.MULTILINE))
    (where / "pytest.ini").write_text(_PYTEST_INI, "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(where)])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    found = re.search(r"(\d+) passed", output)
    passed = int(found[1]) if found and done.returncode == 0 else 0
    return defined, passed, output


@pytest.mark.parametrize("page", list(_pages_with_files()))
def test_page_files_pass_pytest(page: Path, tmp_path: Path) -> None:
    defined, passed, output = run_files(extract_blocks(page.read_text("utf-8")), tmp_path)
    assert defined > 0, "a page with files but no test_ function in a test_*.py file"
    assert passed == defined, output
    assert not re.search(r"\d+ (skipped|xfailed|xpassed|warnings?)\b", output), output


# ---------------------------------------------------------------- the runner itself

_SAMPLE = """\
# Title

```python
x = 1
```

Some text.

<!-- no-run -->
```python
raise RuntimeError("never run")
```

- a list item:

    ```py
    y = x + 1
    ```

```js
not python at all
```

```python
import asyncio
await asyncio.sleep(0)
z = y * 10
```
"""


def test_extract_blocks_finds_python_in_order_and_honours_no_run() -> None:
    blocks = extract_blocks(_SAMPLE)
    assert [(b.line, b.run) for b in blocks] == [(3, True), (10, False), (16, True), (24, True)]
    assert blocks[2].code == "y = x + 1\n"


def test_file_blocks_are_not_run_in_the_page_but_by_pytest(tmp_path: Path) -> None:
    text = (
        "<!-- file: shop.py -->\n```python\ndef price() -> int:\n    return 3\n```\n\n"
        "<!-- file: test_shop.py -->\n```python\nimport shop\n\n\n"
        "def test_price():\n    assert shop.price() == 3\n\n\n"
        "def test_fails():\n    assert shop.price() == 4\n```\n"
    )
    blocks = extract_blocks(text)
    assert [(b.file, b.run) for b in blocks] == [("shop.py", False), ("test_shop.py", False)]
    assert run_page(blocks, "files.md")  # nothing runs in the page namespace
    defined, passed, output = run_files(blocks, tmp_path)
    assert (defined, passed) == (2, 0)  # one test fails: the run does not count as passed
    assert "1 failed, 1 passed" in output


def test_run_page_shares_one_namespace_and_allows_top_level_await() -> None:
    namespace = run_page(extract_blocks(_SAMPLE), "sample.md")
    assert (namespace["x"], namespace["y"], namespace["z"]) == (1, 2, 20)


def test_run_page_reports_the_failing_block() -> None:
    blocks = extract_blocks("```python\nok = 1\n```\n\n```python\nassert ok == 2\n```\n")
    with pytest.raises(AssertionError, match=r"page\.md, code block at line 5 failed"):
        run_page(blocks, "page.md")


def test_fake_network_answers_json_and_restores_create() -> None:
    code = (
        "import axios_like\n"
        "api = axios_like.create(base_url='https://api.example.com')\n"
        "r = api.post('/orders', data={'sku': 1})\n"
        "aapi = axios_like.create_async(base_url='https://api.example.com')\n"
        "ar = await aapi.get('/users/1')\n"
    )
    original = axios_like.create
    namespace = run_page([Block(1, code, True)], "fake.md")
    assert namespace["r"].data == {"ok": True, "method": "POST", "path": "/orders"}
    assert namespace["ar"].data == {"ok": True, "method": "GET", "path": "/users/1"}
    assert axios_like.create is original


def test_every_docs_page_is_in_the_nav() -> None:
    nav = set(re.findall(r"([\w\-/]+\.md)", (ROOT / "mkdocs.yml").read_text("utf-8")))
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages - nav == set()
    assert nav - pages == set()


@pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="matplotlib (docs extra) not installed"
)
def test_strategy_plot_script_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "strategies.png"
    done = subprocess.run(
        [sys.executable, str(DOCS / "gen_strategy_plot.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000
