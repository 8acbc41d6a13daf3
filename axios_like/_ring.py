"""A sliding window of two counts: ``BUCKETS`` buckets, with their running sums (core).

The retry budget counts first attempts and retries in one, the circuit breaker
attempts and transient failures, the hedge controller first attempts and hedges.
No clock and no lock: the owner hands in its bucket numbers (``int(now // width)``)
and holds its own lock. O(1) per count; sliding costs one step per bucket passed, at
most ``BUCKETS``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["BUCKETS", "Ring"]

#: Buckets per window: a window slides in tenths of itself.
BUCKETS: Final = 10


class Ring:
    """Counts in ``BUCKETS`` buckets of ``width`` seconds, with their running sums."""

    __slots__ = ("a", "a_sum", "b", "b_sum", "head", "slot")

    def __init__(self, now: float, width: float) -> None:
        self.a = [0] * BUCKETS
        self.b = [0] * BUCKETS
        self.a_sum = 0
        self.b_sum = 0
        #: The newest bucket's number (``now // width``) and its place in the lists.
        self.head = int(now // width)
        self.slot = self.head % BUCKETS

    def advance(self, index: int) -> None:
        """Move the newest bucket to ``index`` (> ``head``), dropping what left the window.

        Callers skip the call when ``index <= head``: a clock behind ``head``
        (threads handing in slightly older ``now`` values) counts in the newest bucket.
        """
        gap = index - self.head
        if gap >= BUCKETS:
            self.clear(index)
            return
        a, b = self.a, self.b
        for step in range(1, gap + 1):
            slot = (self.head + step) % BUCKETS
            self.a_sum -= a[slot]
            self.b_sum -= b[slot]
            a[slot] = b[slot] = 0
        self.head = index
        self.slot = index % BUCKETS

    def clear(self, head: int) -> None:
        self.a = [0] * BUCKETS
        self.b = [0] * BUCKETS
        self.a_sum = self.b_sum = 0
        self.head = head
        self.slot = head % BUCKETS
