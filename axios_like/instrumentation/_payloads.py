"""Frozen, OTel-free records of one attempt and one call, and their attributes.

Rules of this module:

1. Pure: built from a ``Ticket`` and a ``Verdict``; no OpenTelemetry import, no clock.
2. Attributes are the stable HTTP client semantic conventions where one exists;
   our own are under ``axios_like.``. Metric attributes are low-cardinality only:
   no path, no query, no attempt number, no free-text reason.
3. Every URL is shown redacted (``shown_url``: password and every query value,
   ``params=`` values included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .._config import shown_config_url
from .._control import AttemptKind, Step, StopReason, Ticket, Verdict
from .._exceptions import HTTPStatusError, RetryError

__all__ = ["AttemptInfo", "CallInfo", "Outcome", "error_type", "request_url"]

#: Methods the conventions name; any other is reported as ``_OTHER``.
_KNOWN_METHODS: Final = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY"}
)

Attributes = dict[str, str | int | float | bool]


class Outcome:
    """The values of ``axios_like.outcome`` on the call span and call metrics."""

    OK: Final = "ok"  #: the first attempt succeeded
    RECOVERED: Final = "recovered"  #: succeeded after retries or replays
    EXHAUSTED: Final = "exhausted"  #: a limit stopped the retries (``RetryError``)
    NOT_RETRYABLE: Final = "not_retryable"  #: failed with an error that is not retried
    REFUSED: Final = "refused"  #: a controller (circuit breaker, ...) refused to send
    ABORTED: Final = "aborted"  #: an exception ended it (interceptor, on_retry, cancel)


def error_type(error: BaseException | None, status: int | None = None) -> str | None:
    """``error.type``: the status for a rejected status, else the error's class.

    >>> from axios_like import ConnectError
    >>> error_type(ConnectError("refused"))
    'axios_like.ConnectError'
    >>> error_type(None), error_type(ValueError()), error_type(KeyError(), 503)
    (None, 'ValueError', '503')
    """
    if error is None:
        return None
    if status is not None and (isinstance(error, HTTPStatusError) or status >= 400):
        return str(status)
    cls = type(error)
    module = cls.__module__
    if module.startswith("axios_like"):
        return f"axios_like.{cls.__qualname__}"
    if module == "builtins":
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def request_url(ticket: Ticket) -> str:
    """The attempt's URL, ``params=`` included, every secret redacted."""
    cfg = ticket.config
    return shown_config_url(cfg)


def _method(method: str) -> str:
    return method if method in _KNOWN_METHODS else "_OTHER"


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """One attempt, as telemetry reports it (frozen: safe to hand to exporters)."""

    method: str
    scheme: str
    host: str
    port: int
    url: str
    #: 1 = the call's first attempt (span attribute only, never a metric attribute).
    attempt: int
    kind: AttemptKind
    status: int | None = None
    error_type: str | None = None
    #: Seconds on the wire (``Verdict.duration``).
    duration: float = 0.0
    #: Was the attempt sent? (False: a controller refused it.)
    sent: bool = True

    @classmethod
    def start(cls, ticket: Ticket) -> AttemptInfo:
        """What is known before the send."""
        origin = ticket.origin
        return cls(
            _method(ticket.method),
            origin.scheme,
            origin.host,
            origin.port,
            request_url(ticket),
            ticket.attempt,
            ticket.kind,
        )

    def end(self, verdict: Verdict) -> AttemptInfo:
        """This attempt with its outcome."""
        return AttemptInfo(
            self.method,
            self.scheme,
            self.host,
            self.port,
            self.url,
            self.attempt,
            self.kind,
            verdict.status,
            error_type(verdict.error, verdict.status),
            verdict.duration,
            verdict.step is not Step.REFUSED,
        )

    @property
    def resend_count(self) -> int:
        """``http.request.resend_count``: attempts before this one (0 on the first)."""
        return self.attempt - 1

    def span_attributes(self) -> Attributes:
        """The CLIENT span's attributes known at the start."""
        attrs: Attributes = {
            "http.request.method": self.method,
            "server.address": self.host,
            "server.port": self.port,
            "url.full": self.url,
            "url.scheme": self.scheme,
        }
        if self.attempt > 1:
            attrs["http.request.resend_count"] = self.resend_count
        return attrs

    def metric_attributes(self) -> Attributes:
        """``http.client.request.duration``'s attributes (no path, no attempt number)."""
        attrs: Attributes = {
            "http.request.method": self.method,
            "server.address": self.host,
            "server.port": self.port,
            "url.scheme": self.scheme,
        }
        if self.status is not None:
            attrs["http.response.status_code"] = self.status
        if self.error_type is not None:
            attrs["error.type"] = self.error_type
        return attrs


@dataclass(frozen=True, slots=True)
class CallInfo:
    """One call, as telemetry reports it when it ends."""

    method: str
    scheme: str
    host: str
    port: int
    url: str
    attempts: int
    retries: int
    outcome: str
    stop_reason: StopReason | None
    error_type: str | None
    duration: float

    @classmethod
    def of(
        cls,
        first: AttemptInfo,
        verdict: Verdict | None,
        error: BaseException | None,
        *,
        attempts: int,
        retries: int,
        duration: float,
    ) -> CallInfo:
        """The call's record from its final verdict (``None``: ended by ``error``)."""
        if verdict is None:
            outcome, stop, kind = Outcome.ABORTED, None, error_type(error)
        else:
            outcome, stop = _outcome(verdict, attempts), verdict.stop
            kind = error_type(verdict.error, verdict.status)
        return cls(
            first.method,
            first.scheme,
            first.host,
            first.port,
            first.url,
            attempts,
            retries,
            outcome,
            stop,
            kind,
            duration,
        )

    def span_attributes(self) -> Attributes:
        """The INTERNAL call span's attributes at its end."""
        attrs: Attributes = {
            "axios_like.outcome": self.outcome,
            "axios_like.attempts": self.attempts,
        }
        if self.stop_reason is not None:
            attrs["axios_like.stop_reason"] = self.stop_reason.value
        if self.error_type is not None:
            attrs["error.type"] = self.error_type
        return attrs

    def metric_attributes(self) -> Attributes:
        """The call metrics' attributes."""
        attrs: Attributes = {
            "http.request.method": self.method,
            "server.address": self.host,
            "server.port": self.port,
            "url.scheme": self.scheme,
            "axios_like.outcome": self.outcome,
        }
        if self.error_type is not None:
            attrs["error.type"] = self.error_type
        return attrs


def _outcome(verdict: Verdict, attempts: int) -> str:
    step = verdict.step
    if step is Step.DONE:
        return Outcome.OK if attempts == 1 else Outcome.RECOVERED
    if step is Step.STOP or isinstance(verdict.error, RetryError):
        return Outcome.EXHAUSTED
    if step is Step.REFUSED:
        return Outcome.REFUSED
    return Outcome.NOT_RETRYABLE
