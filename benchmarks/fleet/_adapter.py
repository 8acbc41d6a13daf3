"""The shell, mirrored: one simulated call, step for step as the real shells run it.

This is the only place the simulation touches the library's retry core. It is
``AsyncClient._retry_loop`` (``axios_like/_async_client.py``) with its I/O
swapped for ``yield``:

- the shell's ``admit_all`` / ``admitted`` / ``record_all(refused(...))`` before
  every send, with a real :class:`~axios_like._control.Ticket`;
- the shell's ``decide(state, outcome, now, now_wall=...)`` after every
  attempt and ``record_all(verdict(...))`` with the real :class:`Verdict`;
- ``begin_wait`` for the wait a ``Retry`` (or a controller's ``Wait``) asks for.

What is left out, because the simulated calls do not have it: request and
response interceptors (none are configured, so ``cfg is config`` and no
``Replay`` can happen), middleware, draining a failed response, and the
``on_retry`` event (``on_retry`` is ``None``; the INFO log it writes decides
nothing).

A call is a generator. It yields :data:`SEND_ATTEMPT` to put an attempt on the
wire (the simulator sends back its outcome: an ``axios_like.Response`` or the
error the shell would have mapped, at the virtual time the outcome arrives), or
a float: seconds to sleep (the simulator resumes it that much later with
``None``). It returns a :class:`Result`. The clock is the simulator's virtual
clock, read through ``clock()`` exactly where the shell reads ``time.monotonic()``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any, Final, NamedTuple

from axios_like._control import (
    SEND,
    AttemptController,
    AttemptKind,
    Origin,
    StopReason,
    Ticket,
    admit_all,
    compose,
    record_all,
)
from axios_like._instant import begin_wait
from axios_like._models import Response
from axios_like._retry import (
    Done,
    Retry,
    RetryState,
    admitted,
    decide,
    refused,
    verdict,
)

#: Yielded by a call: "send this attempt now and send me its outcome".
SEND_ATTEMPT: Final = object()
#: The wall clock at virtual time 0 (``now_wall`` for ``Retry-After`` dates).
WALL_EPOCH: Final = 1_800_000_000.0

Outcome = Response | BaseException
Clock = Callable[[], float]


class Result(NamedTuple):
    """How one simulated call ended."""

    ok: bool
    #: Attempts sent (``RetryState.attempts``: refused attempts are not sent).
    attempts: int
    #: ``RetryError.reason`` of a stopped call, ``"circuit_open"`` for a refused
    #: first attempt, ``"raise"`` for a failure raised as itself, ``None`` on success.
    reason: str | None


class Process:
    """One simulated client process: its config and its own attempt controllers.

    ``config`` is what ``Call`` would hold (library defaults + overrides);
    ``extra`` plays the client's own controllers (``Call.controllers``), after
    the config's ``circuit_breaker`` and ``retry_budget`` in ``compose()`` order.
    """

    __slots__ = ("config", "controllers", "headers", "method")

    def __init__(
        self, config: Mapping[str, Any], extra: tuple[AttemptController, ...] = ()
    ) -> None:
        self.config = config
        self.controllers = compose(config, extra)
        self.headers = config["headers"]
        self.method = config["method"]


def call(
    process: Process, origin: Origin, clock: Clock
) -> Generator[object, Outcome | None, Result]:
    """One call, as ``_retry_loop`` runs it (see the module docstring)."""
    config = process.config
    controllers = process.controllers
    # retry_state(): a replayable body (GET, no body) and no max_retries_ceiling.
    state = RetryState(config, start=clock())
    kind, last_error = AttemptKind.FIRST, None
    scratch: dict[object, Any] = {}  # Call.scratch: per call, shared by its attempts
    ticket: Ticket | None = None
    while True:
        if controllers:  # Call.ticket() returns None without controllers
            ticket = Ticket(
                origin, process.method, state.attempts + 1, kind, process.headers, config, scratch
            )
            admission = admit_all(controllers, ticket, clock())
            if admission is not SEND:  # the shell's _admitted()
                now = clock()
                step = admitted(
                    state, admission, now, last_error=last_error, origin=origin, config=config
                )
                if isinstance(step, float):
                    seconds = begin_wait(state, step)
                    if seconds > 0:
                        yield seconds
                else:
                    record_all(controllers, ticket, refused(step), now)
                    reason = getattr(step.error, "reason", None)
                    return Result(False, state.attempts, str(reason) if reason else "refused")
        started = clock()
        outcome = yield SEND_ATTEMPT
        assert outcome is not None
        now = clock()
        decision = decide(state, outcome, now, now_wall=WALL_EPOCH + now)
        if ticket is not None:
            record_all(controllers, ticket, verdict(decision, outcome, duration=now - started), now)
        if isinstance(decision, Done):
            return Result(True, state.attempts, None)
        if isinstance(decision, Retry):
            last_error = outcome if isinstance(outcome, BaseException) else None
            seconds = begin_wait(state, decision.delay)
            if seconds > 0:
                yield seconds
            kind = AttemptKind.RETRY
            continue
        # Raise (not retryable) or Stop (a limit: max_retries, Retry-After...)
        error = getattr(decision, "error", None)
        reason = getattr(error, "reason", None)
        if isinstance(reason, StopReason):
            return Result(False, state.attempts, str(reason))
        return Result(False, state.attempts, "raise")
