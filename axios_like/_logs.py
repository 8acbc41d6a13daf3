"""The lines the ``axios_like`` logger writes about attempts and calls (section 6).

Rule: every URL goes through :func:`~axios_like._redact.shown_url` (query values and
``params=`` values redacted alike); errors are named by type, never by a message
that might quote a secret. The shells call these only when the level is enabled.

- DEBUG per attempt: method, redacted URL, status or error, duration;
- INFO per retry: written by ``retry_event`` from the ``RetryEvent`` itself;
- WARNING once when a call gives up with ``RetryError``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from ._config import shown_config_url
from ._exceptions import HTTPStatusError, RetryError
from ._models import Replay, Response

__all__ = ["LOGGER", "attempt_line", "log_attempt", "log_gave_up"]

LOGGER: Final = logging.getLogger("axios_like")
# A library's logger: records go where the application's logging config sends them,
# and nowhere (not to logging's last-resort stderr handler) when it has none.
LOGGER.addHandler(logging.NullHandler())


def attempt_line(
    cfg: Mapping[str, Any], outcome: Response | Replay | BaseException, duration: float
) -> str:
    """The DEBUG line of one attempt.

    >>> cfg = {"method": "GET", "url": "https://h/a", "params": {"k": "s"}}
    >>> attempt_line(cfg, KeyError(), 0.0021)
    'GET https://h/a?k=[redacted]: KeyError in 2.1 ms'
    """
    url = shown_config_url(cfg)
    if isinstance(outcome, Response):
        what = f"status {outcome.raw.status_code}"
    elif isinstance(outcome, HTTPStatusError):
        what = f"status {outcome.status}"
    elif isinstance(outcome, Replay):
        what = "replay"
    else:
        what = type(outcome).__name__
    return f"{cfg.get('method', '?')} {url}: {what} in {duration * 1000:.1f} ms"


def log_attempt(
    cfg: Mapping[str, Any], outcome: Response | Replay | BaseException, duration: float
) -> None:
    """DEBUG: one line per attempt (call it under ``LOGGER.isEnabledFor(DEBUG)``)."""
    LOGGER.debug("attempt: %s", attempt_line(cfg, outcome, duration))


def log_gave_up(error: BaseException) -> None:
    """WARNING, once per call, when it ends with ``RetryError`` (its message is redacted)."""
    if isinstance(error, RetryError) and LOGGER.isEnabledFor(logging.WARNING):
        LOGGER.warning("giving up after %d attempts (%s): %s", error.attempts, error.reason, error)
