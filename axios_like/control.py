"""The attempt-controller seam, public: write your own budget, gate or telemetry.

A controller is any object with ``admit(ticket, now)`` (before every send:
:data:`SEND`, :class:`Wait` or :class:`Refuse`) and ``record(ticket, verdict,
now)`` (after every decision). Add one to a client with
``api.controllers.add(controller)``; the built-in ``retry_budget`` and
``circuit_breaker`` are controllers too, consulted first (see :func:`compose`).

Example::

    from axios_like.control import SEND, Admission, Ticket, Verdict

    class CountAttempts:
        def __init__(self) -> None:
            self.sent = 0

        def admit(self, ticket: Ticket, now: float) -> Admission:
            self.sent += 1
            return SEND

        def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
            pass
"""

from __future__ import annotations

from ._control import (
    SEND,
    Admission,
    AttemptController,
    AttemptKind,
    Failure,
    Origin,
    Refuse,
    Send,
    Step,
    StopReason,
    Ticket,
    Verdict,
    Wait,
    compose,
)

__all__ = [
    "SEND",
    "Admission",
    "AttemptController",
    "AttemptKind",
    "Failure",
    "Origin",
    "Refuse",
    "Send",
    "StopReason",
    "Step",
    "Ticket",
    "Verdict",
    "Wait",
    "compose",
]
