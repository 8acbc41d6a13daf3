"""The anchors: what other ecosystems ship, as attempt controllers in the same harness.

Each is a faithful model of the published algorithm and its defaults, written
on the library's attempt-controller seam (``admit`` before every send,
``record`` after every decision), per origin, one instance per simulated
process -- exactly how ``RetryBudget`` and ``CircuitBreaker`` are placed -- so
every row of the tables runs through the same ``decide()`` and the same shell.

- :class:`FinagleBudget`: Finagle/Linkerd ``RetryBudget`` (``TokenRetryBudget``
  over a ``WindowedAdder``): every request deposits 1, a retry withdraws
  ``1 / percent_can_retry``, and a reserve of ``min_retries_per_sec * ttl``
  retries is always there. Defaults 20 %, 10/s, ttl 10 s.
- :class:`GrpcThrottle`: gRPC retry throttling (gRFC A6): tokens start at
  ``max_tokens``; a failed attempt takes 1, a success gives ``token_ratio``;
  retries are allowed only while ``tokens > max_tokens / 2``. 10 and 0.1.
- :class:`AwsQuota`: the AWS SDKs' "standard" retry quota (botocore
  ``RetryQuotaChecker``): 500 capacity; a retry costs 5 (10 after a timeout);
  a successful call that never retried gives back 1, one that retried gives
  back what its last retry took.
- :class:`PyBreaker`: a pybreaker-style breaker: ``fail_max`` consecutive
  failures open it for ``reset_timeout``; then the next attempt is a trial
  (half-open): a success closes it, a failure opens it again. 5 and 60 s.
"""

from __future__ import annotations

from typing import Final

from axios_like._control import (
    SEND,
    Admission,
    AttemptKind,
    Failure,
    Origin,
    Refuse,
    Step,
    StopReason,
    Ticket,
    Verdict,
)
from axios_like._exceptions import TimeoutError as AxiosTimeoutError

__all__ = ["ANCHORS", "AwsQuota", "FinagleBudget", "GrpcThrottle", "PyBreaker"]

_REFUSE_BUDGET: Final = Refuse(StopReason.RETRY_BUDGET)


class _Windowed:
    """Finagle's ``WindowedAdder``: a sum over the last ``window`` s, in ``slices`` slices."""

    __slots__ = ("epochs", "slices", "values", "width")

    def __init__(self, window: float, slices: int) -> None:
        self.slices = slices
        self.width = window / slices
        self.values = [0.0] * slices
        self.epochs = [-(10**9)] * slices

    def add(self, amount: float, now: float) -> None:
        epoch = int(now / self.width)
        i = epoch % self.slices
        if self.epochs[i] != epoch:
            self.epochs[i] = epoch
            self.values[i] = 0.0
        self.values[i] += amount

    def sum(self, now: float) -> float:
        epoch = int(now / self.width)
        oldest = epoch - self.slices
        return sum(v for v, e in zip(self.values, self.epochs, strict=True) if e > oldest)


class FinagleBudget:
    """Finagle ``RetryBudget(ttl=10 s, minRetriesPerSec=10, percentCanRetry=0.2)``."""

    def __init__(
        self, ttl: float = 10.0, min_retries_per_sec: float = 10.0, percent_can_retry: float = 0.2
    ) -> None:
        self.ttl = ttl
        self.withdrawal = 1.0 / percent_can_retry
        self.reserve = min_retries_per_sec * ttl * self.withdrawal
        self._counters: dict[Origin, _Windowed] = {}

    def _counter(self, origin: Origin) -> _Windowed:
        counter = self._counters.get(origin)
        if counter is None:
            counter = self._counters[origin] = _Windowed(self.ttl, 10)
        return counter

    def admit(self, ticket: Ticket, now: float) -> Admission:
        counter = self._counter(ticket.origin)
        if ticket.kind is AttemptKind.FIRST:
            counter.add(1.0, now)  # deposit(): once per request entering the retry filter
            return SEND
        if ticket.kind is not AttemptKind.RETRY:
            return SEND
        if counter.sum(now) + self.reserve >= self.withdrawal:  # tryWithdraw()
            counter.add(-self.withdrawal, now)
            return SEND
        return _REFUSE_BUDGET

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        pass


class GrpcThrottle:
    """gRPC retry throttling: ``{"maxTokens": 10, "tokenRatio": 0.1}``."""

    def __init__(self, max_tokens: float = 10.0, token_ratio: float = 0.1) -> None:
        self.max_tokens = max_tokens
        self.token_ratio = token_ratio
        self._tokens: dict[Origin, float] = {}

    def admit(self, ticket: Ticket, now: float) -> Admission:
        if ticket.kind is AttemptKind.RETRY:
            tokens = self._tokens.get(ticket.origin, self.max_tokens)
            if not tokens > self.max_tokens / 2:
                return _REFUSE_BUDGET
        return SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        if verdict.step is Step.REFUSED:
            return
        tokens = self._tokens.get(ticket.origin, self.max_tokens)
        if verdict.failure is Failure.TRANSIENT:  # a retryable status or no response
            tokens = tokens - 1.0 if tokens > 1.0 else 0.0
        elif verdict.failure is Failure.NONE:
            tokens = min(self.max_tokens, tokens + self.token_ratio)
        self._tokens[ticket.origin] = tokens


class AwsQuota:
    """AWS SDK standard retry mode's quota (botocore ``RetryQuotaChecker``)."""

    def __init__(
        self,
        capacity: float = 500.0,
        retry_cost: float = 5.0,
        timeout_cost: float = 10.0,
        no_retry_increment: float = 1.0,
    ) -> None:
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.no_retry_increment = no_retry_increment
        self._left: dict[Origin, float] = {}
        self._timeout_key = (self, "timeout")

    def admit(self, ticket: Ticket, now: float) -> Admission:
        if ticket.kind is not AttemptKind.RETRY:
            return SEND
        cost = self.timeout_cost if ticket.call.get(self._timeout_key) else self.retry_cost
        left = self._left.get(ticket.origin, self.capacity)
        if left < cost:
            return _REFUSE_BUDGET
        self._left[ticket.origin] = left - cost
        ticket.call[self] = cost  # context["retry_quota_capacity"]: the last acquisition
        return SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        if verdict.step is Step.DONE:
            amount = ticket.call.get(self, self.no_retry_increment)
            left = self._left.get(ticket.origin, self.capacity) + amount
            self._left[ticket.origin] = min(self.capacity, left)
        elif verdict.step is not Step.REFUSED:
            ticket.call[self._timeout_key] = isinstance(verdict.error, AxiosTimeoutError)


class PyBreaker:
    """A pybreaker-style breaker: ``CircuitBreaker(fail_max=5, reset_timeout=60)``."""

    def __init__(self, fail_max: int = 5, reset_timeout: float = 60.0) -> None:
        self.fail_max = fail_max
        self.reset_timeout = reset_timeout
        # origin -> [failures in a row, opened_at (None: closed), half_open]
        self._state: dict[Origin, list[float | None]] = {}

    def _of(self, origin: Origin) -> list[float | None]:
        state = self._state.get(origin)
        if state is None:
            state = self._state[origin] = [0.0, None, 0.0]
        return state

    def admit(self, ticket: Ticket, now: float) -> Admission:
        state = self._of(ticket.origin)
        opened_at = state[1]
        if opened_at is None:
            return SEND
        if now - opened_at >= self.reset_timeout:
            state[2] = 1.0  # half-open: this attempt is the trial
            return SEND
        return Refuse(StopReason.CIRCUIT_OPEN, opened_at + self.reset_timeout - now)

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        if verdict.step is Step.REFUSED:
            return
        state = self._of(ticket.origin)
        if verdict.failure is Failure.TRANSIENT:
            failures = (state[0] or 0.0) + 1.0
            state[0] = failures
            if state[2] or failures >= self.fail_max:
                state[1], state[2] = now, 0.0  # (re)open
        elif verdict.failure is Failure.NONE:
            state[0], state[1], state[2] = 0.0, None, 0.0


#: Row name -> a factory of one process's extra controllers.
ANCHORS: Final = {
    "Finagle RetryBudget (20% + 10/s, ttl 10 s)": lambda: (FinagleBudget(),),
    "gRPC retry throttling (10 tokens, 0.1)": lambda: (GrpcThrottle(),),
    "AWS SDK standard retry quota (500; 5, 10 timeout)": lambda: (AwsQuota(),),
    "pybreaker-style breaker (fail_max 5, reset 60 s)": lambda: (PyBreaker(),),
}
