"""Instant mode: the process-wide switch behind ``axios_like.testing.instant_retries()``.

While a block is open, the shells skip every wait (``begin_wait`` returns 0) and
count the skipped seconds as elapsed, so a ``deadline`` stops retries as it would
for real. Nothing here sends or sleeps.
"""

from __future__ import annotations

import threading
from typing import Final

from ._retry import RetryState

__all__ = ["INSTANT", "begin_wait", "is_instant"]


class _InstantMode:
    """Process-wide switch behind ``axios_like.testing.instant_retries()`` (nests)."""

    def __init__(self) -> None:
        self.depth = 0
        self.lock = threading.Lock()


INSTANT: Final = _InstantMode()


def is_instant() -> bool:
    """True while any ``instant_retries()`` block is open (in any thread)."""
    return INSTANT.depth > 0


def begin_wait(state: RetryState, delay: float) -> float:
    """Seconds the shell should really sleep; under instant mode 0, counted as elapsed."""
    if INSTANT.depth > 0:
        state.skipped += delay
        return 0.0
    return delay
