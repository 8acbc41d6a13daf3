"""A griffe extension for the API reference: show the docstrings' examples as code.

The package's docstrings hold doctest blocks (``>>> ...`` lines) and reST-style
literal blocks (``Example::`` followed by an indented block). Rendered as Markdown,
a doctest becomes a paragraph (and ``[a]\\n[b]`` even a reference link), so this
extension fences each doctest block as ``pycon``, turns ``Example::`` into
``Example:`` and fences the indented block after it as ``python`` (so both are
highlighted), and
Sphinx roles such as ``:class:`Client``` into code. Loaded by ``mkdocs.yml``
(``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

#: Sphinx roles (``:class:`~axios_like.Client```) -> Markdown code (```Client```).
_ROLE = re.compile(r":(?:class|func|meth|attr|exc|mod|data|obj):`~?(?:[\w.]+\.)?([^`.]+)`")


def fence_doctests(text: str) -> str:
    """Fence every doctest run and every ``::`` literal block, so both are highlighted.

    A doctest run (a ``>>>`` line to the next blank line) becomes a ``pycon`` fence;
    the indented block after a line ending in ``::`` becomes a ``python`` fence
    (``pycon`` when it starts with ``>>>``), dedented to the ``::`` line, which itself
    ends in a single ``:``.

    >>> fence_doctests("Text.\\n\\n>>> 1 + 1\\n2\\n\\nMore.")
    'Text.\\n\\n```pycon\\n>>> 1 + 1\\n2\\n```\\n\\nMore.'
    >>> fence_doctests("Example::\\n\\n    x = 1\\n\\nMore.")
    'Example:\\n\\n```python\\nx = 1\\n\\n```\\nMore.'
    """
    out: list[str] = []
    in_doctest = in_fence = False
    indent = ""
    literal: int | None = None  # indentation of the "::" line whose literal block we are in
    body: int | None = None  # indentation of that block's first line, once it is fenced
    for line in text.splitlines():
        stripped = line.strip()
        width = len(line) - len(line.lstrip())
        if literal is not None and stripped and width <= literal:
            if body is not None:
                out.append(" " * literal + "```")
            literal = body = None  # the literal block ended: back to text
        if literal is not None:
            if stripped and body is None:
                body = width
                language = "pycon" if stripped.startswith(">>>") else "python"
                out.append(" " * literal + f"```{language}")
            if body is None or not stripped:
                out.append("")
            else:
                cut = min(body, width)
                out.append(" " * literal + line[cut:])
            continue
        if stripped.startswith("```"):
            in_fence = not in_fence
        if not in_fence and not in_doctest and stripped.startswith(">>>"):
            indent = line[:width]
            out.append(f"{indent}```pycon")
            in_doctest = True
        elif in_doctest and not stripped:
            out.append(f"{indent}```")
            in_doctest = False
        if not in_doctest and not in_fence and line.rstrip().endswith("::"):
            line = line.rstrip()[:-1]  # reST "Example::" -> "Example:"
            literal = width
        out.append(line)
    if in_doctest:
        out.append(f"{indent}```")
    if literal is not None and body is not None:
        out.append(" " * literal + "```")
    return "\n".join(out)


class FenceDoctests(griffe.Extension):
    """Rewrite each docstring once the object tree is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(r"`\1`", fence_doctests(obj.docstring.value))
