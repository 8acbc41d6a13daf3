"""Why was this retried? Everything the retry engine decides is in this file.

Rules (h11 style: if it affects a retry decision, it lives here):

1. ``decide(state, outcome, now, now_wall=...)`` is the only function that
   decides what follows an attempt, and ``admitted()`` the only one that turns
   an attempt controller's answer (``_control``: budget, breaker, rate gates)
   into the call's next step. They are the only writers of :class:`RetryState`
   (but for ``skipped``, the waits that ``begin_wait`` skips under
   ``instant_retries()``). No I/O: no sleeping, no sockets, and no clock --
   both clocks (``now`` monotonic, ``now_wall`` epoch seconds) are handed in
   by the shells, which carry out what is returned.
2. State is per call. ``RetryState`` is created by each call and dropped with
   it; strategies and clients hold none of it, so one client serves any number
   of threads and tasks.
3. The default policy is :func:`is_retryable` (exported): transient failures
   only, with the idempotency rules below. ``retry_on`` replaces it whole,
   except that errors the client raised itself are never retried.
4. Limits turn a retry into a stop, and a stop is a :class:`RetryError`:
   ``max_retries`` exhausted, ``deadline`` reached, ``Retry-After`` above
   ``max_retry_after`` -- and whatever an attempt controller refuses (the retry
   budget, an open circuit breaker). Stop reasons are :class:`StopReason`
   values; messages are rendered from them (``_why``). With ``max_retries=0``
   failures are raised as themselves.
5. A body that can be read only once is never sent again once it may have
   reached the server.

The default policy, as data (the docs table is rendered from these names):
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_tz
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from ._config import shown_config_url
from ._control import (
    Admission,
    Failure,
    Origin,
    Refuse,
    Step,
    StopReason,
    Verdict,
    Wait,
)
from ._exceptions import (
    AxiosLikeError,
    CircuitOpenError,
    ConfigError,
    ContentTooLargeError,
    HTTPStatusError,
    InvalidRequestError,
    NetworkError,
    RateLimitedError,
    RetryError,
)
from ._models import HistoryEntry, Replay, Response, RetryEvent
from ._strategies import RetryStrategy

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ANY_METHOD_STATUS",
    "DEFAULT_RETRY_STATUS",
    "IDEMPOTENT_METHODS",
    "MAX_REPLAYS",
    "NEVER_RETRIED_STATUS",
    "RETRY_AFTER_STATUS",
    "Classified",
    "HedgeCopy",
    "RetryState",
    "admitted",
    "classify",
    "decide",
    "hedge_refused",
    "hedge_round",
    "is_transient",
    "lost",
    "may_hedge",
    "why_not_retried",
    "retry_error",
    "refused",
    "verdict",
    "is_retryable",
    "parse_retry_after",
]

#: Methods that may be replayed after the server may have seen them (RFC 9110 section 9.2.2).
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Statuses retried by default (``retry_status`` replaces this set).
DEFAULT_RETRY_STATUS: Final = frozenset({408, 429, 502, 503, 504})
#: Retried for any method: the server says it did not process the request.
ANY_METHOD_STATUS: Final = frozenset({429})
#: Statuses whose ``Retry-After`` header sets the wait: those RFC 9110 gives it a
#: meaning for (the default of ``retry_after_status``, which replaces this set).
RETRY_AFTER_STATUS: Final = frozenset({413, 429, 503})
#: Permanent failures: never retried by the default policy (not in ``DEFAULT_RETRY_STATUS``).
NEVER_RETRIED_STATUS: Final = (400, 401, 403, 404, 405, 406, 409, 410, 422)
#: Errors the client raised itself: never retried, whatever ``retry_on`` says.
#: Never retried, whatever the policy says: the client's own errors and a body past its limit.
CLIENT_ERRORS: Final = (ConfigError, InvalidRequestError, ContentTooLargeError)
#: How many times one call may be replayed by ``Replay`` (token refresh) before giving up.
MAX_REPLAYS: Final = 3

_NOT_REPLAYABLE_NOTE = (
    "axios_like: not retried because the request body is a stream (a generator or file "
    "stream) that was already sent and cannot be replayed; pass bytes to make it retryable"
)


def _is_idempotent(config: Mapping[str, Any]) -> bool:
    method = config.get("method", "GET")
    if method in IDEMPOTENT_METHODS or str(method).upper() in IDEMPOTENT_METHODS:
        return True
    headers = config.get("headers")
    return headers is not None and any(k.lower() == "idempotency-key" for k in headers)


def is_retryable(error: BaseException) -> bool:
    """The default retry policy: is this failure transient and safe to send again?

    - ``NetworkError`` that cannot have reached the server (refused, connect or
      pool timeout): yes, for any method;
    - ``NetworkError`` that may have reached it (read timeout, reset, dropped
      connection): only for idempotent methods (GET HEAD OPTIONS PUT DELETE
      TRACE) or a request with an ``Idempotency-Key`` header;
    - ``HTTPStatusError`` with a status in ``retry_status`` (default 408, 429,
      502, 503, 504): 429 for any method, the others under the same
      idempotency rule;
    - ``HTTPStatusError`` that a response interceptor raised for a 2xx/3xx
      ``validate_status`` accepted (only the user's check knows it failed): the
      idempotency rule;
    - anything else (400, 401, 403, 404, ..., bad config, a bug): no.

    Extend it rather than rewrite it::

        def retry_on(error: BaseException) -> bool:
            if isinstance(error, axios_like.HTTPStatusError) and error.status == 500:
                return True
            return axios_like.is_retryable(error)

        api = axios_like.create(retry_on=retry_on)
    """
    return _default_policy(error, error.status if isinstance(error, HTTPStatusError) else None)


def _default_policy(error: BaseException, status: int | None) -> bool:
    """:func:`is_retryable` with the status already looked up (``decide()`` has it)."""
    return _policy_says_no(error, status) is None


#: Why the default policy says no (``why_not_retried`` fills in the method and status).
_NOT_TRANSIENT_STATUS: Final = "{status} is not a transient status"
_NOT_IDEMPOTENT: Final = "{method} is not idempotent and has no Idempotency-Key"
_MAY_HAVE_BEEN_PROCESSED: Final = "the {method} may have been processed"
_NOT_TRANSIENT: Final = "not a transient failure"


def _policy_says_no(error: BaseException, status: int | None) -> str | None:
    """``None`` when the default policy retries ``error``; else why not, as a template."""
    config: Mapping[str, Any] = getattr(error, "config", None) or {}
    if status is not None:
        if status in config.get("retry_status", DEFAULT_RETRY_STATUS):
            ok = status in ANY_METHOD_STATUS or _is_idempotent(config)
            return None if ok else _NOT_IDEMPOTENT
        # A response validate_status accepted (a 2xx, say) that a response interceptor
        # raised HTTPStatusError for: only the user's check knows it failed (a "busy" body),
        # so it is treated as transient, under the idempotency rule. 4xx stay permanent.
        if status < 400 and isinstance(error, HTTPStatusError):
            validate_status = config.get("validate_status")
            if not (validate_status and validate_status(status)):
                return _NOT_TRANSIENT_STATUS
            return None if _is_idempotent(config) else _NOT_IDEMPOTENT
        return _NOT_TRANSIENT_STATUS
    if isinstance(error, NetworkError):
        ok = not error.may_have_reached_server or _is_idempotent(config)
        return None if ok else _MAY_HAVE_BEEN_PROCESSED
    return _NOT_TRANSIENT


def why_not_retried(error: BaseException) -> str:
    """Why ``decide()`` raised ``error`` as itself, without a retry, in words.

    Rendered from the same rules the decision uses (the CLI shows it).

    >>> why_not_retried(ConfigError("timeout", "must be > 0"))
    "the client's own error (ConfigError)"
    """
    config: Mapping[str, Any] = getattr(error, "config", None) or {}
    method = str(config.get("method", "")).upper()
    status = error.status if isinstance(error, HTTPStatusError) else None
    if isinstance(error, CLIENT_ERRORS):
        return f"the client's own error ({type(error).__name__})"
    why = _policy_says_no(error, status)
    if why is _NOT_TRANSIENT_STATUS:
        return why.format(status=status)
    if config.get("max_retries") == 0:
        return "max_retries=0"
    retry_on = config.get("retry_on")
    if retry_on is not None and retry_on is not is_retryable:
        return (
            "the request body is a stream that cannot be sent again"
            if retry_on(error)
            else ("retry_on said no")
        )
    if why is None:
        return "the request body is a stream that cannot be sent again"
    return why.format(method=method, status=status)


def parse_retry_after(value: str | None, *, now: datetime, date: str | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or ``None`` if it is unusable.

    Accepts delay-seconds (``"120"``; decimals such as ``"1.5"`` are an
    extension) and an HTTP-date. Delay-seconds are ASCII digits only, as RFC 9110
    defines them: ``"1e3"``, ``"+1"``, ``"1_0"`` or non-ASCII digits are
    unusable, though ``float()`` would take them. A date is measured against
    ``date`` (the response's ``Date`` header) when that parses, so clock skew
    does not matter, else against ``now``; a date in the past means 0. A leap
    second (``:60``) is the next minute's first second, and an RFC 850 date's
    two-digit year is read by RFC 9110's 50-year rule, relative to ``now``.
    Empty, negative, NaN or garbage values give ``None`` (fall back to the
    strategy). Never raises.

    >>> parse_retry_after("3", now=datetime.now(UTC))
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=datetime.now(UTC),
    ...                   date="Wed, 21 Oct 2015 07:28:00 GMT")
    10.0
    >>> parse_retry_after("soon", now=datetime.now(UTC)) is None
    True
    >>> parse_retry_after("1e3", now=datetime.now(UTC)) is None
    True
    """
    if not value:
        return None
    text = value.strip(_OWS)
    if not text:
        return None
    if text[0] in _NUMBER_START:
        if _DELAY_SECONDS.fullmatch(text) is None:
            return None
        return float(text)  # may be inf for a huge value: above any max_retry_after
    when = _parse_http_date(text, now)
    if when is None:
        return None
    reference = _parse_http_date(date, now) if date else None
    return max(0.0, (when - (reference or now)).total_seconds())


#: RFC 9110 optional whitespace (``str.strip()`` would also take NBSP and other Unicode).
_OWS: Final = " \t"
#: A value starting with one of these is read as a number, never as a date.
_NUMBER_START: Final = frozenset("0123456789+-.")
#: delay-seconds = 1*DIGIT (RFC 9110 section 10.2.3), ASCII only; the decimals are ours.
_DELAY_SECONDS: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
#: An explicit four-digit year in a date: only dates without one get the 50-year rule.
_FOUR_DIGIT_YEAR: Final = re.compile(r"(?<![0-9+-])[0-9]{4}(?![0-9])")


def _parse_http_date(text: str, now: datetime) -> datetime | None:
    """An HTTP-date (IMF-fixdate, RFC 850 or asctime; email.utils' leniency) as UTC.

    ``email.utils`` rejects a leap second and reads a two-digit year by its own
    rule (69-99 as 19xx); both are fixed up here, from its parsed fields.
    """
    try:
        fields = parsedate_tz(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if fields is None:
        return None
    year, month, day, hour, minute, second = fields[:6]
    offset = fields[9]
    if _FOUR_DIGIT_YEAR.search(text) is None and 1969 <= year <= 2068:
        year = _fifty_year_rule(year % 100, (month, day, hour, minute, second), now)
    leap = second == 60  # 23:59:60 is 00:00:00 of the next day: add it after building
    try:
        when = datetime(year, month, day, hour, minute, 59 if leap else second, tzinfo=UTC)
        if offset:  # None or 0 ("-0000" dates parse without one): RFC 9110 dates are GMT
            when -= timedelta(seconds=offset)
        if leap:
            when += timedelta(seconds=1)
    except (ValueError, OverflowError):
        return None
    return when


def _fifty_year_rule(yy: int, rest: tuple[int, int, int, int, int], now: datetime) -> int:
    """RFC 9110 section 5.6.7: the latest year ending in ``yy`` not more than 50 years ahead."""
    year = now.year - now.year % 100 + yy + 100
    limit = now.year + 50
    while year > limit or (year == limit and rest > _fields(now)):
        year -= 100
    return year


def _fields(moment: datetime) -> tuple[int, int, int, int, int]:
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return (utc.month, utc.day, utc.hour, utc.minute, utc.second)


class RetryState:
    """Per-call retry state. Created by each call; written only by this module.

    ``attempt`` is the number of the retry being decided (1 = the first retry)
    and is what strategies read; ``attempts`` counts attempts made, replays
    included; ``previous_delay`` is the last wait of this call.
    """

    __slots__ = (
        "asked_retries",
        "attempt",
        "attempts",
        "deadline_at",
        "held",
        "history",
        "max_retries",
        "max_retry_after",
        "previous_delay",
        "replayable",
        "replays",
        "retry_on",
        "skipped",
        "start",
        "strategy",
    )

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        start: float,
        replayable: bool = True,
        ceiling: int | None = None,
    ) -> None:
        self.attempt = 0
        self.attempts = 0
        self.previous_delay: float | None = None
        self.history: list[HistoryEntry] = []
        self.replays = 0
        #: Seconds of waits skipped under ``instant_retries()``; they count as elapsed.
        self.skipped = 0.0
        #: Seconds the controllers' waits held the call so far (``admitted``): at most
        #: ``max_retry_after`` in total.
        self.held = 0.0
        self.start = start
        asked: int = config["max_retries"]
        #: ``max_retries`` as the layers asked for it, before ``max_retries_ceiling``.
        self.asked_retries = asked
        self.max_retries = asked if ceiling is None or asked <= ceiling else ceiling
        self.strategy: RetryStrategy = config["retry_strategy"]
        self.retry_on: Callable[[BaseException], bool] = config["retry_on"] or is_retryable
        self.max_retry_after: float = config["max_retry_after"]
        deadline = config["deadline"]
        self.deadline_at: float | None = None if deadline is None else start + deadline
        self.replayable = replayable

    def elapsed(self, now: float) -> float:
        """Seconds since the first attempt, counting skipped waits."""
        return now + self.skipped - self.start

    def remaining(self, now: float) -> float | None:
        """Seconds left before the deadline (``None``: no deadline)."""
        if self.deadline_at is None:
            return None
        return self.deadline_at - (now + self.skipped)

    @property
    def clamped(self) -> bool:
        """True when ``max_retries_ceiling`` lowered this call's ``max_retries``."""
        return self.max_retries != self.asked_retries


class Retry(NamedTuple):
    """Decision: wait ``delay`` seconds, then send again.

    A ``NamedTuple`` (immutable, built with ``tuple.__new__`` in ``decide``): a
    frozen dataclass costs ~3x more to build, on the path every retry takes.
    """

    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class Stop:
    """Decision: a limit stopped the retries; raise ``error`` (a ``RetryError``)."""

    error: RetryError


@dataclass(frozen=True, slots=True)
class Raise:
    """Decision: the failure is final; raise ``error`` as itself."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class Again:
    """Decision: replay at once (a ``Replay`` from an interceptor); merge ``meta``."""

    meta: Mapping[str, Any]


class Done:
    """Decision: the attempt succeeded; return the response (one shared instance)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DONE"


DONE: Final = Done()

Decision = Done | Retry | Stop | Raise | Again


def _reason(error: BaseException) -> str:
    if isinstance(error, AxiosLikeError):
        return error.reason
    return type(error).__name__


def _status(error: BaseException | None) -> int | None:
    return error.status if isinstance(error, HTTPStatusError) else None


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 1e6 else f"{seconds:.3g}s"


#: Builds a ``NamedTuple`` without its Python-level ``__new__`` (3x cheaper on the hot path).
_entry: Final = tuple.__new__
#: ``"status 503"`` and friends, built once rather than formatted on every decision.
_STATUS_REASONS: Final = {status: f"status {status}" for status in range(100, 600)}


def _retry_after(headers: httpx.Headers, now_wall: float | datetime | None) -> float | None:
    # get_list, not get: httpx's get() raises and catches a KeyError when the header is absent.
    if "retry-after" not in headers:  # a third cheaper than get_list() when absent
        return None
    values = headers.get_list("retry-after")
    date = headers.get("date")
    if isinstance(now_wall, int | float):
        now_wall = datetime.fromtimestamp(now_wall, UTC)
    # No clock handed in (the shells always hand one): measured against _NO_CLOCK.
    return parse_retry_after(", ".join(values), now=now_wall or _NO_CLOCK, date=date)


#: Stands in for a wall clock nobody handed in: dates measured against it are far in
#: the future, so they exceed any ``max_retry_after`` -- never reached by the shells,
#: which always pass ``now_wall``; it keeps the core from reading a clock (rule 1).
_NO_CLOCK: Final = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- the decision, step by step


class Classified(NamedTuple):
    """Step 1 of a decision: what the failure was and whether the policy retries it."""

    status: int | None
    reason: str
    retryable: bool
    transient: bool


def classify(state: RetryState, error: BaseException) -> Classified:
    """The failure's status, history reason, and the policy's answer (pure)."""
    status, reason, retryable = _classified(state, error)
    return _entry(Classified, (status, reason, retryable, is_transient(error, status)))


def _classified(state: RetryState, error: BaseException) -> tuple[int | None, str, bool]:
    """:func:`classify` without ``transient`` (only controllers need it): the hot path."""
    # error.response.raw.status_code is error.status without two property calls
    status = error.response.raw.status_code if isinstance(error, HTTPStatusError) else None
    reason = _reason(error) if status is None else _STATUS_REASONS.get(status) or f"status {status}"
    retry_on = state.retry_on
    if isinstance(error, CLIENT_ERRORS):
        retryable = False  # whatever retry_on would say: it is not even asked
    elif retry_on is is_retryable:
        retryable = _policy_says_no(error, status) is None
    else:
        retryable = retry_on(error)
    return status, reason, retryable


def is_transient(error: BaseException, status: int | None = None) -> bool:
    """Does this failure say the *server* is unhealthy (what breakers count)?

    Network errors and ``retry_status`` statuses do, whatever the method; a 4xx
    the caller caused, a client-side error or a user's own exception does not.
    """
    if status is None and isinstance(error, HTTPStatusError):
        status = error.status
    if status is not None:
        config: Mapping[str, Any] = getattr(error, "config", None) or {}
        return status in config.get("retry_status", DEFAULT_RETRY_STATUS)
    return isinstance(error, NetworkError)


_NO_CONFIG: Final[Mapping[str, Any]] = {}


def _wait_for(
    state: RetryState, error: BaseException, status: int | None, now_wall: float | datetime | None
) -> tuple[float, bool]:
    """Step 2: the wait before the next retry, and whether ``Retry-After`` set it."""
    if isinstance(error, HTTPStatusError) and status in (error.config or _NO_CONFIG).get(
        "retry_after_status", RETRY_AFTER_STATUS
    ):
        after = _retry_after(error.response.headers, now_wall)
        if after is not None:
            return after, True
    wait = float(state.strategy.delay_for(state))
    return (wait if wait > 0.0 else 0.0), False  # negative or NaN from a user strategy


def _limit(state: RetryState, wait: float, retry_after: bool, now: float) -> StopReason | None:
    """Step 3: the per-call limit that stops this retry, if any."""
    if retry_after and wait > state.max_retry_after:
        return StopReason.MAX_RETRY_AFTER
    deadline_at = state.deadline_at
    if deadline_at is not None and wait > deadline_at - (now + state.skipped):
        return StopReason.DEADLINE
    return None


def decide(
    state: RetryState,
    outcome: Response | Replay | BaseException,
    now: float,
    *,
    cause: BaseException | None = None,
    now_wall: float | datetime | None = None,
) -> Decision:
    """Decide what follows an attempt: ``DONE``, ``Retry``, ``Stop``, ``Raise`` or ``Again``.

    ``outcome`` is the attempt's result after response interceptors: a
    ``Response``, a ``Replay`` (then ``cause`` is the error it answered) or the
    error. ``now`` is the monotonic clock, ``now_wall`` the wall clock (epoch
    seconds or a datetime) for ``Retry-After`` dates; the shells pass both.
    """
    state.attempts += 1
    if isinstance(outcome, Response):
        code = outcome.raw.status_code  # == outcome.status, without the property call
        state.history.append(_entry(HistoryEntry, (state.attempts, code, None, None, "ok")))
        return DONE
    if isinstance(outcome, Replay):
        return _replay(state, outcome, cause)
    return _failure(state, outcome, now, now_wall)


def _replay(state: RetryState, outcome: Replay, cause: BaseException | None) -> Decision:
    """A ``Replay`` from a response interceptor: again at once, within MAX_REPLAYS."""
    error = cause if cause is not None else RuntimeError("replay")
    number = state.attempts
    if state.replays >= MAX_REPLAYS:
        error.add_note(f"axios_like: not replayed again after {MAX_REPLAYS} replays")
        state.history.append(HistoryEntry(number, _status(error), error, None, "replay limit"))
        return Raise(error)
    if not state.replayable and getattr(error, "may_have_reached_server", True):
        # Rule 5 holds for replays too: a spent generator would go out as an empty body.
        error.add_note(_NOT_REPLAYABLE_NOTE)
        state.history.append(HistoryEntry(number, _status(error), error, None, _reason(error)))
        return Raise(error)
    state.replays += 1
    state.history.append(HistoryEntry(number, _status(error), error, 0.0, "replay"))
    return Again(outcome.meta)


def _failure(
    state: RetryState, error: BaseException, now: float, now_wall: float | datetime | None
) -> Decision:
    """A failed attempt: classify, then the wait, then the limits (each a step above)."""
    status, reason, retryable = _classified(state, error)
    history, number = state.history, state.attempts
    if not retryable or state.max_retries == 0:
        history.append(_entry(HistoryEntry, (number, status, error, None, reason)))
        return Raise(error)
    if not state.replayable and getattr(error, "may_have_reached_server", True):
        error.add_note(_NOT_REPLAYABLE_NOTE)
        history.append(_entry(HistoryEntry, (number, status, error, None, reason)))
        return Raise(error)
    if state.attempt >= state.max_retries:
        history.append(_entry(HistoryEntry, (number, status, error, None, reason)))
        return Stop(retry_error(state, error, StopReason.MAX_RETRIES))
    state.attempt += 1
    wait, retry_after = _wait_for(state, error, status, now_wall)
    if retry_after:
        reason = f"{reason}, Retry-After {_fmt_seconds(wait)}"
    stop = _limit(state, wait, retry_after, now)
    if stop is not None:
        history.append(_entry(HistoryEntry, (number, status, error, None, reason)))
        return Stop(retry_error(state, error, stop, wait))
    state.previous_delay = wait
    history.append(_entry(HistoryEntry, (number, status, error, wait, reason)))
    return _entry(Retry, (wait, reason))


# ---------------------------------------------------------------- hedged attempts


def may_hedge(state: RetryState, cfg: Mapping[str, Any], *, stream: bool) -> bool:
    """May this attempt be hedged (``hedge=`` set)? The rules, in one place (pure).

    Only an idempotent request (or one with ``Idempotency-Key``: rule 3's test), whose
    body is in memory (copies are sent at the same time: a stream or a file cannot
    be read twice at once), not streamed (its body is handed over unread) and not
    replayed (``Replay``: the call is a token refresh's second try).
    """
    if stream or state.replays or not state.replayable or cfg.get("hedge") is None:
        return False
    if cfg.get("files") is not None:
        return False
    for key in ("content", "data"):
        body = cfg.get(key)
        if body is not None and not isinstance(body, str | bytes | bytearray | dict | list):
            return False
    return _is_idempotent(cfg)


class HedgeCopy(NamedTuple):
    """One copy of a hedged attempt (index 0: the attempt itself, then its hedges)."""

    #: What it produced after response interceptors; ``None``: cancelled before that.
    outcome: Response | Replay | BaseException | None
    #: The error a ``Replay`` answered, as ``decide()`` takes it.
    cause: BaseException | None = None


def hedge_round(
    state: RetryState,
    copies: list[HedgeCopy],
    winner: int | None,
    now: float,
    *,
    now_wall: float | datetime | None = None,
) -> tuple[int, Decision]:
    """Decide a hedged attempt: ``(the copy decided, its decision)``; writes the history.

    ``winner`` is the copy whose good answer came first; ``None`` when no copy
    answered well (then every copy has finished, and the last one is decided, as
    its failure is the call's latest). The decided copy goes through
    :func:`decide`; every other copy gets a history entry of its own, in send
    order (numbers follow the copies), and counts in ``attempts``: it was sent.
    """
    chosen = len(copies) - 1 if winner is None else winner
    for index in range(chosen):
        _lost_entry(state, index, copies[index])
    copy = copies[chosen]
    assert copy.outcome is not None  # the decided copy always finished
    step = decide(state, copy.outcome, now, cause=copy.cause, now_wall=now_wall)
    for index in range(chosen + 1, len(copies)):
        _lost_entry(state, index, copies[index])
    return chosen, step


def _lost_entry(state: RetryState, index: int, copy: HedgeCopy) -> None:
    """The history entry of a copy whose outcome the call does not use."""
    state.attempts += 1
    outcome = copy.outcome
    if outcome is None:
        reason, status, error = ("hedge: cancelled" if index else "lost to hedge"), None, None
    elif isinstance(outcome, Response):
        status, error = outcome.raw.status_code, None
        reason = "hedge: ok, not used" if index else "ok, lost to hedge"
    else:
        error = outcome if isinstance(outcome, BaseException) else copy.cause
        status = _status(error)
        why = _reason(error) if error is not None else "replay"
        reason = f"hedge: {why}" if index else f"{why} (hedged)"
    state.history.append(HistoryEntry(state.attempts, status, error, None, reason))


def lost(
    outcome: Response | Replay | BaseException | None,
    *,
    duration: float,
    cause: BaseException | None = None,
    now_wall: float | None = None,
) -> Verdict:
    """What the controllers are told about a copy the call did not use (``Step.LOST``).

    A copy cancelled before it answered is ``Failure.LOCAL`` with no status and no
    error (it never counts as the server's failure); one that finished is classified
    as any attempt is.
    """
    if outcome is None:
        return Verdict(Step.LOST, Failure.LOCAL, None, None, "cancelled", None, None, duration)
    error = outcome if isinstance(outcome, BaseException) else cause
    as_if: Decision = DONE if isinstance(outcome, Response) or error is None else Raise(error)
    told = verdict(as_if, outcome, duration=duration, cause=cause, now_wall=now_wall)
    return told._replace(step=Step.LOST)


def hedge_refused(admission: Admission) -> Verdict:
    """What the controllers are told about a hedge that was not sent.

    A controller refused it, or asked to wait (a hedge never waits: it would come
    too late). ``stop`` is ``None``: the call goes on without it (``Verdict.final``).
    """
    why = admission.why if isinstance(admission, Wait) else str(getattr(admission, "reason", ""))
    reason = f"hedge not sent: {why}"
    return Verdict(Step.REFUSED, Failure.LOCAL, None, None, reason, None, None, 0.0)


# ---------------------------------------------------------------- controller answers


def admitted(
    state: RetryState,
    admission: Admission,
    now: float,
    *,
    last_error: BaseException | None,
    origin: Origin,
    config: Mapping[str, Any],
) -> float | Stop | Raise:
    """Turn the controllers' answer for the next attempt into the call's step (pure).

    ``SEND`` gives 0.0 (send now); ``Wait`` gives its seconds when they fit the
    call's limits (the deadline, and ``max_retry_after`` for all the waits the
    controllers held the call, counted in ``state.held``); a refusal, or a wait
    that does not fit, stops the call: a ``RetryError`` with the reason when the
    call has already failed (``last_error``), else the error that says why the
    first attempt was not sent.
    """
    if isinstance(admission, Wait):
        remaining = state.remaining(now)
        fits = state.held + admission.seconds <= state.max_retry_after and (
            remaining is None or admission.seconds <= remaining
        )
        if fits:
            state.held += admission.seconds
            return admission.seconds
        refusal = Refuse(admission.stop, admission.seconds)
    elif isinstance(admission, Refuse):
        refusal = admission
    else:
        return 0.0
    if last_error is None:
        return Raise(_refusal_error(refusal, origin, config))
    # The call failed before (``last_error``), so its history has that attempt: the
    # wait that led here was in vain, and the entry says why no retry followed.
    last = state.history[-1]
    refused_why = f"{last.reason}; retry refused: {refusal.reason}"
    state.history[-1] = last._replace(delay=None, reason=refused_why)
    return Stop(retry_error(state, last_error, refusal.reason, refusal.retry_after))


def _refusal_error(refusal: Refuse, origin: Origin, config: Mapping[str, Any]) -> AxiosLikeError:
    after = refusal.retry_after
    if refusal.reason is StopReason.CIRCUIT_OPEN:
        return CircuitOpenError(origin, after, config=config)
    if refusal.reason is StopReason.RATE_LIMITED:
        return RateLimitedError(origin, after, config=config)
    return AxiosLikeError(f"{origin}: not sent ({refusal.reason})", config=config)


def verdict(
    step: Decision,
    outcome: Response | Replay | BaseException,
    *,
    duration: float,
    cause: BaseException | None = None,
    event: RetryEvent | None = None,
    now_wall: float | None = None,
) -> Verdict:
    """What the controllers are told about an attempt that was sent and decided.

    ``event`` is the ``RetryEvent`` of a ``Retry`` step (what ``on_retry`` gets next).
    The verdict carries the response's headers (when one arrived) and ``now_wall``,
    so rate-limit controllers can read the quota the origin announced.
    """
    if isinstance(outcome, Response):
        raw = outcome.raw
        done = (Step.DONE, Failure.NONE, raw.status_code, None, "ok", None, None, duration)
        return _entry(Verdict, (*done, None, raw.headers, now_wall))
    error = outcome if isinstance(outcome, BaseException) else cause
    assert error is not None  # a Replay always answers an error
    status = _status(error)
    headers = error.response.raw.headers if isinstance(error, HTTPStatusError) else None
    if isinstance(error, CLIENT_ERRORS) or not isinstance(error, AxiosLikeError):
        failure = Failure.LOCAL
    else:
        failure = Failure.TRANSIENT if is_transient(error, status) else Failure.CALLER
    how: tuple[Step, str, StopReason | None, float | None]
    if isinstance(step, Retry):
        how = (Step.RETRY, step.reason, None, step.delay)
    elif isinstance(step, Again):
        how = (Step.REPLAY, "replay", None, 0.0)
    elif isinstance(step, Stop):
        how = (Step.STOP, _reason(error), StopReason(step.error.reason), None)
    else:
        how = (Step.RAISE, _reason(error), None, None)
    kind, reason, why, delay = how
    return Verdict(
        kind, failure, status, error, reason, why, delay, duration, event, headers, now_wall
    )


def refused(step: Stop | Raise) -> Verdict:
    """What the controllers are told about an attempt ``admitted()`` did not let out."""
    error = step.error
    why = (
        StopReason(error.reason)
        if isinstance(error, RetryError)
        else _REFUSAL_REASON.get(type(error), StopReason.CIRCUIT_OPEN)
    )
    return Verdict(Step.REFUSED, Failure.LOCAL, None, error, _reason(error), why, None, 0.0)


_REFUSAL_REASON: Final[dict[type[BaseException], StopReason]] = {
    CircuitOpenError: StopReason.CIRCUIT_OPEN,
    RateLimitedError: StopReason.RATE_LIMITED,
}


def retry_error(
    state: RetryState, error: BaseException, stop: StopReason, retry_after: float | None = None
) -> RetryError:
    """The ``RetryError`` for a call whose retries ``stop`` ended; its message says why."""
    config = getattr(error, "config", None)
    cfg = config or {}
    url = shown_config_url(cfg)
    if isinstance(error, HTTPStatusError):
        last = f"{error.status} {error.response.status_text}".rstrip()
    else:
        last = f"{_reason(error)} ({type(error).__name__})"
    n = state.attempts
    tries = f"{n} attempt{'s' if n != 1 else ''}"
    why = _why(state, stop, cfg, retry_after)
    message = f"{cfg.get('method', '')} {url} failed after {tries} ({why}): {last}"
    return RetryError(
        message.strip(),
        reason=stop,
        attempts=n,
        history=tuple(state.history),
        last_error=error,
        config=config,
        why=why,
    )


def _why(
    state: RetryState, stop: StopReason, cfg: Mapping[str, Any], retry_after: float | None
) -> str:
    """The stop reason as the message's words, rendered from the value."""
    if stop is StopReason.MAX_RETRIES:
        if state.clamped:
            return (
                f"max_retries={state.asked_retries}, clamped to "
                f"max_retries_ceiling={state.max_retries}, reached"
            )
        return f"max_retries={state.max_retries} reached"
    if stop is StopReason.DEADLINE:
        deadline = cfg.get("deadline")
        return f"deadline={deadline:g}s reached" if deadline else "deadline reached"
    if stop is StopReason.MAX_RETRY_AFTER:
        return (
            f"Retry-After {_fmt_seconds(retry_after or 0.0)} above "
            f"max_retry_after={_fmt_seconds(state.max_retry_after)}"
        )
    if stop is StopReason.RETRY_BUDGET:
        return "retry budget of the origin spent"
    if stop is StopReason.CIRCUIT_OPEN:
        when = f", next probe in {retry_after:.3g}s" if retry_after else ""
        return f"circuit breaker open{when}"
    wait = f" {retry_after:.3g}s" if retry_after else ""
    if state.held and retry_after and state.held + retry_after > state.max_retry_after:
        return (
            f"rate limited: the origin asked to wait{wait} more after {state.held:.3g}s "
            f"held, past max_retry_after={_fmt_seconds(state.max_retry_after)} in total"
        )
    return f"rate limited: the origin asked to wait{wait}, past the call's limits"
