"""URLs and origins, resolved once per attempt and memoised (no I/O).

``resolved_url`` joins ``url`` to ``base_url``; ``origin_of`` gives the
(scheme, host, port) that keys every piece of shared state (budgets, breakers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx

from ._config import (
    is_absolute_url,
    join_url,
)
from ._control import Origin
from ._exceptions import (
    InvalidURLError,
)
from ._redact import redact_url

__all__ = ["origin_of", "parsed_url", "resolved_url"]


def resolved_url(cfg: Mapping[str, Any]) -> httpx.URL:
    """The attempt's absolute URL: ``url`` joined to ``base_url``, parsed (memoised)."""
    url = join_url(cfg.get("base_url"), cfg["url"])
    if not url.startswith(("https://", "http://")) and not is_absolute_url(url):
        raise InvalidURLError(
            f"{redact_url(url)!r} is not an absolute URL: give an absolute url, or a base_url "
            "such as 'https://api.example.com' to join it to",
            config=cfg,
        )
    return parsed_url(url)


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


#: Origins by parsed URL (URLs are immutable and hashable); bounded like ``_URLS``.
_ORIGINS: dict[httpx.URL, Origin] = {}


def origin_of(url: httpx.URL) -> Origin:
    """The (scheme, host, port) that keys shared state; the port is explicit.

    >>> origin_of(httpx.URL("https://api.example.com/x?q=1"))
    Origin(scheme='https', host='api.example.com', port=443)
    """
    origin = _ORIGINS.get(url)
    if origin is None:
        scheme = url.scheme
        origin = Origin(scheme, url.host, url.port or _DEFAULT_PORTS.get(scheme, 0))
        if len(_ORIGINS) >= _URLS_MAX:
            _ORIGINS.clear()
        _ORIGINS[url] = origin
    return origin


#: Parsed URLs by text. httpx parses a ``str`` URL twice per request (~20 us, a tenth
#: of a loopback request's CPU); an ``httpx.URL`` it takes as is. URLs are immutable,
#: so one parse serves every request to the same URL. Bounded: cleared when full.
_URLS: dict[str, httpx.URL] = {}


_URLS_MAX: Final = 512


def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, from the cache when this text was parsed before.

    URLs that may carry secrets (``user:password@``, a query string) are parsed every
    time, never cached: no secret outlives its request in a process-wide cache.
    """
    parsed = _URLS.get(url)
    if parsed is None:
        parsed = httpx.URL(url)
        if "@" not in url and "?" not in url:
            if len(_URLS) >= _URLS_MAX:
                _URLS.clear()
            _URLS[url] = parsed
    return parsed
