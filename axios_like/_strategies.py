"""Retry strategies: how long to wait before retry number ``attempt``.

Rules of this module:

1. A strategy is shared by every request of a client and by threads and tasks at
   once, so it holds **no per-request state**: only its parameters and a random
   source.
2. The user-facing hook is ``get_delay(attempt)`` (1 = the first retry). The
   engine calls ``delay_for(state)``, which defaults to
   ``get_delay(state.attempt)``; :class:`DecorrelatedJitter` overrides it to read
   the previous delay from the per-call state.
3. Randomness comes from the ``random.Random`` given as ``rng`` (seed it in tests).
4. Parameters are checked at construction: negative, NaN or infinite values are
   a :class:`ConfigError` naming the parameter, and so is a combination that can
   only be a mistake (a ``base`` above ``max_delay``, a ``multiplier`` below 1, a
   ``jitter`` above 1); the message names both parameters.
5. What a strategy may read from the engine is :class:`RetryFacts`, a public
   read-only protocol: overrides of ``delay_for`` are typed with it.
"""

from __future__ import annotations

import math
import random
from typing import Protocol, runtime_checkable

from ._exceptions import ConfigError

__all__ = [
    "DecorrelatedJitter",
    "ExponentialBackoff",
    "FixedDelay",
    "LinearBackoff",
    "RetryFacts",
    "RetryStrategy",
]

#: Retry numbers above this are treated as this one (the delay is capped long before).
_MAX_STEP = 2**53


@runtime_checkable
class RetryFacts(Protocol):
    """What a strategy may read from the engine's per-call state (read-only).

    The engine hands its state to :meth:`RetryStrategy.delay_for`; type an
    override's parameter with this protocol. ``attempt`` is the number of the
    retry being decided (1 = the first retry); ``previous_delay`` is this
    call's last wait in seconds (``None`` before the first; a ``Retry-After``
    wait counts). Example::

        class Doubling(axios_like.RetryStrategy):
            def get_delay(self, attempt: int) -> float:
                return min(30.0, 0.5 * 2.0 ** min(attempt - 1, 60))

            def delay_for(self, state: axios_like.RetryFacts) -> float:
                if state.previous_delay is None:
                    return self.get_delay(state.attempt)
                return min(30.0, 2 * state.previous_delay)
    """

    @property
    def attempt(self) -> int:
        """The number of the retry being decided: 1 = the first retry."""
        ...

    @property
    def previous_delay(self) -> float | None:
        """This call's last wait in seconds; ``None`` before its first retry."""
        ...


def _at_most_max_delay(owner: str, base: float, max_delay: float) -> None:
    if base > max_delay:
        raise ConfigError(
            f"{owner}.base",
            f"must be <= max_delay={max_delay:g}, which caps every wait; got {base:g}: "
            "raise max_delay, or use FixedDelay for a constant wait",
        )


def _check(owner: str, name: str, value: float, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{owner}.{name}", f"must be a number; got {value!r}")
    if math.isnan(value) or math.isinf(value) or value < 0 or (positive and value == 0):
        need = "a finite number > 0" if positive else "a finite number >= 0"
        raise ConfigError(f"{owner}.{name}", f"must be {need}; got {value!r}")
    return float(value)


class RetryStrategy:
    """Base class for retry strategies: subclass it and implement ``get_delay``.

    ``get_delay(attempt)`` returns the seconds to wait before retry number
    ``attempt`` (1 = the first retry). It must not keep per-request state on
    ``self``: one strategy serves every request of a client at once.

    Example::

        class Fibonacci(axios_like.RetryStrategy):
            def get_delay(self, attempt: int) -> float:
                a, b = 0.5, 0.5
                for _ in range(min(attempt, 40) - 1):
                    a, b = b, a + b
                return min(a, 20.0)

        api = axios_like.create(retry_strategy=Fibonacci())
    """

    def get_delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-indexed)."""
        raise NotImplementedError

    def delay_for(self, state: RetryFacts) -> float:
        """The engine's entry point; override to use per-call facts from ``state``."""
        return self.get_delay(state.attempt)

    def explain(self, attempt: int, delay: float) -> str:
        """Why retry ``attempt`` waits ``delay`` seconds, in words (the CLI prints it).

        Override it to explain your own strategy; the default names the class.
        """
        return type(self).__name__

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and k != "rng"
        )
        return f"{type(self).__name__}({params})"


class FixedDelay(RetryStrategy):
    """The same wait before every retry.

    >>> FixedDelay(0.5).get_delay(1), FixedDelay(0.5).get_delay(7)
    (0.5, 0.5)
    """

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = _check("FixedDelay", "delay", delay)

    def get_delay(self, attempt: int) -> float:
        return self.delay

    def explain(self, attempt: int, delay: float) -> str:
        return "fixed delay"


class LinearBackoff(RetryStrategy):
    """Waits of ``base + increment * (attempt - 1)``, capped at ``max_delay``.

    >>> s = LinearBackoff(base=1.0, increment=2.0, max_delay=6.0)
    >>> [s.get_delay(n) for n in (1, 2, 3, 4)]
    [1.0, 3.0, 5.0, 6.0]
    """

    def __init__(self, base: float = 1.0, increment: float = 1.0, max_delay: float = 30.0) -> None:
        self.base = _check("LinearBackoff", "base", base)
        self.increment = _check("LinearBackoff", "increment", increment)
        self.max_delay = _check("LinearBackoff", "max_delay", max_delay)
        _at_most_max_delay("LinearBackoff", self.base, self.max_delay)

    def get_delay(self, attempt: int) -> float:
        step = min(attempt, _MAX_STEP) - 1
        return min(self.max_delay, self.base + self.increment * step)

    def explain(self, attempt: int, delay: float) -> str:
        return f"linear backoff, retry {attempt}"


class ExponentialBackoff(RetryStrategy):
    """Waits of ``base * multiplier ** (attempt - 1)``, capped at ``max_delay``, plus jitter.

    The jitter adds ``uniform(0, jitter * delay)`` on top of the capped delay, so
    with the defaults the waits fall in [1, 1.5], [2, 3], [4, 6], ... and never
    above ``max_delay * (1 + jitter)``. Large attempt numbers never overflow: the
    exponent is capped before exponentiating.

    >>> import random
    >>> s = ExponentialBackoff(base=1.0, multiplier=2.0, max_delay=30.0, jitter=0.0)
    >>> [s.get_delay(n) for n in (1, 2, 3, 4, 5, 6, 10_000)]
    [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    """

    def __init__(
        self,
        base: float = 1.0,
        multiplier: float = 2.0,
        max_delay: float = 30.0,
        jitter: float = 0.5,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.base = _check("ExponentialBackoff", "base", base)
        self.multiplier = _check("ExponentialBackoff", "multiplier", multiplier, positive=True)
        self.max_delay = _check("ExponentialBackoff", "max_delay", max_delay)
        self.jitter = _check("ExponentialBackoff", "jitter", jitter)
        if self.multiplier < 1.0:
            raise ConfigError(
                "ExponentialBackoff.multiplier",
                f"must be >= 1 (below 1 each wait is shorter than the last); got {multiplier!r}",
            )
        if self.jitter > 1.0:
            raise ConfigError(
                "ExponentialBackoff.jitter",
                f"must be between 0 and 1, a fraction of each wait; got {jitter!r}",
            )
        _at_most_max_delay("ExponentialBackoff", self.base, self.max_delay)
        self.rng = rng if rng is not None else random.Random()
        # The first exponent at which the cap is reached; beyond it the result is
        # the cap, so exponentiating further (and overflowing) is never needed.
        if self.multiplier > 1.0 and self.base > 0.0 and self.max_delay > self.base:
            # Logs of each side: max_delay / base itself may overflow to inf.
            span = (math.log(self.max_delay) - math.log(self.base)) / math.log(self.multiplier)
            self._max_exp = math.ceil(span) + 1
        else:
            self._max_exp = 1 if self.multiplier > 1.0 else _MAX_STEP

    def _capped(self, attempt: int) -> float:
        """The wait before jitter: ``base * multiplier ** (attempt - 1)``, at most ``max_delay``."""
        exp = attempt - 1 if attempt <= self._max_exp else self._max_exp
        try:
            delay = self.base * self.multiplier**exp
        except OverflowError:  # multiplier**exp beyond float range: long past the cap
            return self.max_delay
        return self.max_delay if delay > self.max_delay else delay

    def explain(self, attempt: int, delay: float) -> str:
        """The capped backoff and the jitter drawn on top of it.

        >>> ExponentialBackoff(base=0.2, jitter=0.5).explain(2, 0.5)
        'backoff 0.40s + jitter 0.10s'
        """
        nominal = self._capped(attempt)
        jitter = delay - nominal
        return f"backoff {nominal:.2f}s" + (f" + jitter {jitter:.2f}s" if jitter > 5e-3 else "")

    def get_delay(self, attempt: int) -> float:
        delay = self._capped(attempt)
        if self.jitter:
            # == rng.uniform(0, jitter * delay), bit for bit, without its call overhead
            delay += self.jitter * delay * self.rng.random()
        return delay


class DecorrelatedJitter(RetryStrategy):
    """AWS "decorrelated jitter": ``min(max_delay, uniform(base, 3 * previous))``.

    ``previous`` is the wait before the previous retry of *the same call* (``base``
    for the first retry); the engine keeps it in the per-call state, so one
    strategy object can serve any number of concurrent calls.

    >>> import random
    >>> s = DecorrelatedJitter(base=1.0, max_delay=30.0, rng=random.Random(7))
    >>> 1.0 <= s.get_delay(1) <= 3.0
    True
    """

    def __init__(
        self, base: float = 1.0, max_delay: float = 30.0, *, rng: random.Random | None = None
    ) -> None:
        self.base = _check("DecorrelatedJitter", "base", base)
        self.max_delay = _check("DecorrelatedJitter", "max_delay", max_delay)
        _at_most_max_delay("DecorrelatedJitter", self.base, self.max_delay)
        self.rng = rng if rng is not None else random.Random()

    def next_delay(self, previous: float | None) -> float:
        """The wait that follows a wait of ``previous`` seconds (``None``: the first)."""
        prev = self.base if previous is None or previous < self.base else previous
        return min(self.max_delay, self.rng.uniform(self.base, 3.0 * prev))

    def get_delay(self, attempt: int) -> float:
        """Without per-call facts every retry is drawn as the first one."""
        return self.next_delay(None)

    def explain(self, attempt: int, delay: float) -> str:
        return "decorrelated jitter"

    def delay_for(self, state: RetryFacts) -> float:
        return self.next_delay(state.previous_delay)
