"""Type-checked only (mypy --strict), never run: a custom strategy as users write it.

``delay_for(state)`` is typed with the public read-only ``RetryFacts`` protocol, so
an override passes mypy's override check; the state's fields cannot be assigned.
"""

from __future__ import annotations

import random

import axios_like
from axios_like import RetryFacts, RetryStrategy


class CappedDoubling(RetryStrategy):
    """Double the call's previous wait (from ``state``), starting at ``first``."""

    def __init__(self, first: float = 0.5, cap: float = 20.0, *, rng: random.Random | None = None):
        self.first = first
        self.cap = cap
        self.rng = rng or random.Random()

    def get_delay(self, attempt: int) -> float:
        return min(self.cap, self.first * 2.0 ** min(attempt - 1, 60))

    def delay_for(self, state: RetryFacts) -> float:
        attempt: int = state.attempt
        previous: float | None = state.previous_delay
        if previous is None:
            return self.get_delay(attempt)
        return min(self.cap, 2 * previous) * (1 + 0.1 * self.rng.random())


def usage() -> None:
    api = axios_like.create(retry_strategy=CappedDoubling(first=0.25))
    per_call = api.get("/x", retry_strategy=CappedDoubling(cap=5.0))
    print(per_call.attempts)
    api.close()


def facts_are_read_only(state: RetryFacts) -> None:
    state.attempt = 3  # type: ignore[misc]
