"""Helpers for the test suites of code that uses ``axios_like``.

``instant_retries()`` makes retries skip their waits while still computing and
reporting them (to ``on_retry``, the log and the history), so a suite that
exercises retry paths never sleeps.

:class:`FlakyServer` (with its :class:`Reply` and :class:`Seen` types, from
:mod:`axios_like.testing.server`) is a scriptable HTTP/1.1 server on 127.0.0.1:
real sockets, for tests of what only a real connection shows.

:class:`FaultTransport` fails on purpose without a socket (connection refused,
reset, timeouts, a body cut half-way, 429/503 with ``Retry-After``, a slow answer),
raising for each fault the same httpx error a real socket gives, and records every
request it saw. :class:`Fault` names the faults.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .._instant import INSTANT
from ._fault import Fault, FaultTransport, RecordedRequest
from .server import FlakyServer, Reply, Seen

__all__ = [
    "Fault",
    "FaultTransport",
    "FlakyServer",
    "RecordedRequest",
    "Reply",
    "Seen",
    "instant_retries",
]


@contextmanager
def instant_retries() -> Iterator[None]:
    """Skip every retry wait, in every client and thread, while the block is open.

    Waits are still computed and reported; the skipped seconds count as
    elapsed time, so a ``deadline`` stops the retries exactly as it would for
    real. Blocks nest; leaving one restores the previous mode.

    Example::

        from axios_like.testing import instant_retries

        def test_flaky_endpoint(api):
            with instant_retries():
                r = api.get("/flaky")      # three 503s then 200: no real waiting
            assert r.attempts == 4
    """
    with INSTANT.lock:
        INSTANT.depth += 1
    try:
        yield
    finally:
        with INSTANT.lock:
            INSTANT.depth -= 1
