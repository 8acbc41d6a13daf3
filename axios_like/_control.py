"""Attempt controllers: the one seam for state that calls share.

A retry budget, a circuit breaker, a rate-limit gate, an adaptive rate limiter
and telemetry all need the same two points of every attempt, so the shells
offer exactly those two, and nothing else:

- ``admit(ticket, now)`` before every send (first attempts, retries, replays):
  the answer is :data:`SEND`, :class:`Wait` (sleep that long, then send) or
  :class:`Refuse` (do not send; the core turns it into the error);
- ``record(ticket, verdict, now)`` after every decision, refusals included.

Rules of this module (and of every controller):

1. Controllers never block and never do I/O on the request path: both calls
   are O(1) and return at once. State that lives elsewhere (Redis) is synced
   in the background. That keeps the generated sync shell a mechanical copy
   of the async one.
2. Controllers hold state *shared between calls*, keyed by ``ticket.origin``.
   What belongs to one call lives in the call: ``ticket.call`` is a small
   per-call scratch space a controller may use (telemetry keeps its span there).
   A value there with a ``close_call(error)`` method is closed by the shells when
   the call ends by an exception that no final verdict told about (:func:`close_call`).
3. Controllers answer; they do not decide. ``decide()`` and ``admitted()`` in
   ``_retry`` turn the answers into the call's next step, so "why was this
   retried (or not)?" is still answered in one file.
4. The order is fixed and documented (:func:`compose`): hedging (its
   ``max_extra_load``), circuit breaker, retry budget, rate-limit gate, adaptive
   rate limiter, then the client's own controllers (telemetry). Admission stops
   at the first refusal; the longest wait wins. Every controller is told every verdict.
5. The clocks are handed in: ``now`` is the shell's monotonic clock.
6. Optionally, ``attach(owner)`` / ``detach(owner)`` (looked up with ``getattr``):
   a client calls them on the controllers it holds when it is created and when
   it closes (``_holding``), never on the request path. Fleet mode's budget and
   breaker use them to run their background sync only while a client holds them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    import httpx

    from ._models import RetryEvent

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


class StopReason(enum.StrEnum):
    """Why the retries of a call stopped: ``RetryError.reason`` is one of these.

    A ``StrEnum``: ``error.reason == "max_retries"`` keeps working.
    """

    #: ``max_retries`` retries were made.
    MAX_RETRIES = "max_retries"
    #: the next wait (or attempt) would end past ``deadline``.
    DEADLINE = "deadline"
    #: the server's ``Retry-After`` asked for longer than ``max_retry_after``.
    MAX_RETRY_AFTER = "max_retry_after"
    #: the retry budget of the origin refused the retry.
    RETRY_BUDGET = "retry_budget"
    #: the circuit breaker of the origin is open.
    CIRCUIT_OPEN = "circuit_open"
    #: the origin's rate limit would hold the attempt past the call's limits.
    RATE_LIMITED = "rate_limited"
    #: hedging: a hedge would pass ``Hedge.max_extra_load``. Never stops a call: the
    #: hedge is not sent and the attempt goes on alone.
    MAX_EXTRA_LOAD = "max_extra_load"

    def __repr__(self) -> str:  # shown as the plain string it equals: 'deadline'
        return repr(self.value)


class AttemptKind(enum.Enum):
    """What an attempt is, for the controllers that treat them differently."""

    FIRST = "first"  #: the call's first attempt
    RETRY = "retry"  #: a retry chosen by ``decide()`` (counts against budgets)
    REPLAY = "replay"  #: a ``Replay`` (token refresh): free, not a retry
    HEDGE = "hedge"  #: a hedged copy sent while an earlier attempt is still out


class Origin(NamedTuple):
    """Scheme, host and port: the key of every piece of shared state.

    >>> str(Origin("https", "api.example.com", 443))
    'https://api.example.com:443'
    """

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


class Ticket(NamedTuple):
    """One attempt, as controllers see it when it is admitted and recorded."""

    #: Whose shared state the attempt touches.
    origin: Origin
    #: The HTTP method, upper case.
    method: str
    #: 1 = the call's first attempt; counts every attempt, replays included.
    attempt: int
    #: First attempt, retry, replay or hedge.
    kind: AttemptKind
    #: The attempt's own request headers (after request interceptors): a
    #: controller may add to them in ``admit`` (``traceparent``), nothing else.
    headers: httpx.Headers
    #: The attempt's config after request interceptors (read it, never write it).
    config: Mapping[str, Any]
    #: Per-call scratch space shared by the call's attempts: key it by controller.
    call: MutableMapping[object, Any]


class Send:
    """Admission: send now (one shared instance, :data:`SEND`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SEND"


SEND: Final = Send()


class Wait(NamedTuple):
    """Admission: sleep ``seconds``, then send (a rate gate or limiter is holding it)."""

    seconds: float
    #: Why, for logs and telemetry: ``"rate limit"``, ``"adaptive rate"``.
    why: str
    #: The reason to stop with if the wait would pass the call's limits.
    stop: StopReason = StopReason.RATE_LIMITED


class Refuse(NamedTuple):
    """Admission: do not send. The core raises the matching error."""

    reason: StopReason
    #: Seconds until the origin may admit again (a breaker's next probe), if known.
    retry_after: float | None = None


Admission = Send | Wait | Refuse


class Failure(enum.Enum):
    """How an attempt's outcome counts for the health of the origin."""

    NONE = "none"  #: a success (or a response the caller accepted)
    TRANSIENT = "transient"  #: what the policy calls transient: network errors, retry_status
    CALLER = "caller"  #: a 4xx or other permanent answer the caller caused: never counts
    LOCAL = "local"  #: the client failed before or without the server (bad config, refused)


class Step(enum.Enum):
    """What the call does after the attempt."""

    DONE = "done"  #: returns the response
    RETRY = "retry"  #: waits, then sends again
    REPLAY = "replay"  #: sends again at once (``Replay``)
    RAISE = "raise"  #: raises the failure as itself (not retryable)
    STOP = "stop"  #: raises ``RetryError`` (a limit stopped the retries)
    REFUSED = "refused"  #: the attempt was not sent (a controller refused it)
    #: a hedged copy the call did not use: another copy answered first (this one was
    #: cancelled, its connection closed: ``Failure.LOCAL``, no status), or it failed
    #: while another copy was still out (its own failure). The call goes on.
    LOST = "lost"


class Verdict(NamedTuple):
    """What became of one attempt: its classified outcome and the call's next step."""

    step: Step
    failure: Failure
    #: The HTTP status received, ``None`` when none arrived.
    status: int | None
    #: What failed, ``None`` on success.
    error: BaseException | None
    #: The history reason: ``"ok"``, ``"status 503"``, ``"connect refused"``...
    reason: str
    #: Why the retries stopped (``Step.STOP`` and ``Step.REFUSED``), else ``None``
    #: (``None`` too for a refused hedge: the call goes on without it).
    stop: StopReason | None
    #: The wait before the next attempt (``Step.RETRY``), else ``None``.
    delay: float | None
    #: Seconds from the admission to the outcome (0 for a refused attempt).
    duration: float
    #: ``Step.RETRY``: the very ``RetryEvent`` that ``on_retry`` and the INFO log get
    #: next, so telemetry can never disagree with them; else ``None``.
    event: RetryEvent | None = None
    #: The response's headers when a response arrived (a status error's too), else
    #: ``None``: what rate-limit controllers read (``RateLimit``, ``Retry-After``).
    headers: httpx.Headers | None = None
    #: The shell's wall clock (epoch seconds) at the outcome, for epoch resets and dates.
    wall: float | None = None

    @property
    def final(self) -> bool:
        """True when this was the call's last attempt.

        Not for a retry, a replay, a hedged copy that lost (``Step.LOST``), nor a
        hedge that was refused (``Step.REFUSED`` with no ``stop``: the call goes on).
        """
        step = self.step
        if step is Step.REFUSED:
            return self.stop is not None
        return step is not Step.RETRY and step is not Step.REPLAY and step is not Step.LOST


@runtime_checkable
class AttemptController(Protocol):
    """What the shells consult before every send and tell after every decision.

    Implement both methods; keep them O(1), non-blocking and free of I/O.

    Example: a controller that counts attempts per origin::

        class Counter:
            def __init__(self) -> None:
                self.sent: dict[Origin, int] = {}

            def admit(self, ticket: Ticket, now: float) -> Admission:
                self.sent[ticket.origin] = self.sent.get(ticket.origin, 0) + 1
                return SEND

            def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
                pass
    """

    def admit(self, ticket: Ticket, now: float) -> Admission:
        """Before the attempt is sent: :data:`SEND`, :class:`Wait` or :class:`Refuse`."""
        ...

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        """After the attempt's outcome was decided (or its admission refused)."""
        ...


#: The config keys whose values are controllers, in the order they are consulted.
CONTROLLER_KEYS: Final = (
    "hedge",
    "circuit_breaker",
    "retry_budget",
    "rate_limit_gate",
    "rate_limiter",
)


def compose(
    config: Mapping[str, Any], extra: tuple[AttemptController, ...] = ()
) -> tuple[AttemptController, ...]:
    """The controllers of one attempt, in the documented order (rule 4)."""
    get = config.get
    found = tuple([c for key in CONTROLLER_KEYS if (c := get(key)) is not None])
    return found + extra if extra else found


def admit_all(controllers: tuple[AttemptController, ...], ticket: Ticket, now: float) -> Admission:
    """Ask each controller in order: the first refusal wins, else the longest wait."""
    answer: Admission = SEND
    for controller in controllers:
        given = controller.admit(ticket, now)
        if isinstance(given, Refuse):
            return given
        if isinstance(given, Wait) and (
            not isinstance(answer, Wait) or given.seconds > answer.seconds
        ):
            answer = given
    return answer


def close_call(scratch: MutableMapping[object, Any] | None, error: BaseException) -> None:
    """The call ended by ``error`` (raised anywhere: an interceptor, ``on_retry``, a
    cancellation, a refusal, a stop): close what controllers keep open in ``ticket.call``.

    A controller that keeps something open per call (telemetry: its spans) stores an
    object with a ``close_call(error)`` method in ``ticket.call``; it must be idempotent
    (a call that ended with a final verdict is closed already).
    """
    if scratch:
        for value in tuple(scratch.values()):
            closer = getattr(value, "close_call", None)
            if closer is not None:
                closer(error)


def record_all(
    controllers: tuple[AttemptController, ...], ticket: Ticket, verdict: Verdict, now: float
) -> None:
    """Tell every controller the verdict (rule 4)."""
    for controller in controllers:
        controller.record(ticket, verdict, now)
