"""Per-route config: ``routes={"[METHOD ]PATTERN": {...}}``, compiled once at ``create()``.

Rules of this module:

1. A key is ``"PATTERN"`` or ``"METHOD PATTERN"``. A pattern starting with ``/``
   is matched against the URL path; one starting with a scheme (``https://``)
   against the whole URL without its query. ``*`` matches within one path
   segment, ``**`` across segments. Anything else is a :class:`ConfigError`.
2. The first pattern that matches, in the order given, wins. Its config sits
   between the client's defaults and the call's overrides
   (defaults < route < request).
3. A client without routes pays nothing: ``Routes.match`` is never called.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._exceptions import ConfigError

__all__ = ["Routes", "compile_routes"]

_METHOD: Final = re.compile(r"^[A-Za-z]+$")
_SCHEME: Final = re.compile(r"^[a-z][a-z\d+\-.]*://", re.IGNORECASE)
#: Keys a route may not set: they are the client's own, or the call's.
_NOT_PER_ROUTE: Final = frozenset({"url", "method", "routes", "max_retries_ceiling"})


def _glob(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", pattern)
    body = "".join(
        ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part) for part in parts
    )
    return re.compile(body + r"\Z")


class Routes:
    """The compiled ``routes`` of one client, in the order given."""

    __slots__ = ("_table",)

    def __init__(
        self, table: tuple[tuple[str | None, bool, re.Pattern[str], dict[str, Any]], ...]
    ) -> None:
        self._table = table

    def match(self, method: str, url: str, path: str) -> dict[str, Any] | None:
        """The config of the first route matching ``method`` and the URL, or ``None``."""
        for want, whole, regex, config in self._table:
            if want is not None and want != method:
                continue
            if regex.match(url if whole else path):
                return config
        return None

    def configs(self) -> tuple[dict[str, Any], ...]:
        """Every route's config, in order (what the client holds: ``_holding``)."""
        return tuple(config for _, _, _, config in self._table)

    def __repr__(self) -> str:
        return f"Routes({len(self._table)} patterns)"


def _parse_key(key: object) -> tuple[str | None, bool, str]:
    """``"[METHOD ]PATTERN"`` as (method or None, whole-URL pattern?, pattern)."""
    if not isinstance(key, str) or not key.strip():
        raise ConfigError("routes", f"a pattern must be a non-empty string; got {key!r}")
    where = f"routes[{key!r}]"
    method, _, pattern = key.strip().rpartition(" ")
    method = method.strip()
    if method and not _METHOD.match(method):
        raise ConfigError(where, f"{method!r} is not an HTTP method name")
    whole = _SCHEME.match(pattern) is not None
    if not (whole or pattern.startswith("/")):
        raise ConfigError(
            where,
            "a pattern starts with '/' (the path) or a scheme such as 'https://' "
            f"(the whole URL); got {pattern!r}",
        )
    if "?" in pattern:
        raise ConfigError(where, "patterns match the URL without its query: drop '?...'")
    return method.upper() or None, whole, pattern


def compile_routes(
    routes: Mapping[object, Any], validate: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> Routes:
    """Check and compile ``routes``; ``validate`` checks each route's config as per-request keys.

    ``routes`` is a mapping already (the ``routes`` key's own validator said so).

    >>> from axios_like._config import validate
    >>> r = compile_routes({"GET /reports/**": {"timeout": 30.0}},
    ...                    lambda c: validate(c, client=False))
    >>> r.match("GET", "https://x/reports/2024/q1", "/reports/2024/q1")
    {'timeout': 30.0}
    >>> r.match("POST", "https://x/reports/1", "/reports/1") is None
    True
    """
    table = []
    for key, config in routes.items():
        method, whole, pattern = _parse_key(key)
        where = f"routes[{key!r}]"
        if not isinstance(config, Mapping):
            raise ConfigError(where, f"must be a config dict; got {type(config).__name__}")
        bad = sorted(set(config) & _NOT_PER_ROUTE)
        if bad:
            raise ConfigError(f"{where}.{bad[0]}", "cannot be set per route")
        try:
            valid = validate(config)
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc.key}", exc.message.partition(": ")[2]) from exc
        table.append((method, whole, _glob(pattern), valid))
    return Routes(tuple(table))
