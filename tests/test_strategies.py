"""Retry strategies: seeded formulas, defaults, bounds, validation, per-call state."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axios_like
from axios_like import (
    ConfigError,
    DecorrelatedJitter,
    ExponentialBackoff,
    FixedDelay,
    LinearBackoff,
    RetryEvent,
    RetryStrategy,
)
from axios_like._config import library_defaults
from axios_like._retry import Retry, RetryState, decide
from axios_like._strategies import _MAX_STEP
from tests.conftest import Both

# ---------------------------------------------------------------- formulas


def test_fixed_delay_is_constant() -> None:
    s = FixedDelay(0.25)
    assert [s.get_delay(n) for n in (1, 2, 3, 100)] == [0.25, 0.25, 0.25, 0.25]


def test_linear_backoff_formula_and_cap() -> None:
    s = LinearBackoff(base=0.5, increment=2.0, max_delay=7.0)
    assert [s.get_delay(n) for n in range(1, 7)] == [0.5, 2.5, 4.5, 6.5, 7.0, 7.0]


def test_exponential_backoff_formula_without_jitter() -> None:
    s = ExponentialBackoff(base=0.5, multiplier=3.0, max_delay=20.0, jitter=0.0)
    assert [s.get_delay(n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 13.5, 20.0]


def test_exponential_backoff_jitter_uses_the_given_rng() -> None:
    s = ExponentialBackoff(
        base=1.0, multiplier=2.0, max_delay=30.0, jitter=0.5, rng=random.Random(42)
    )
    mirror = random.Random(42)
    expected = []
    for n in range(1, 8):
        capped = min(30.0, 2.0 ** (n - 1))
        expected.append(capped + mirror.uniform(0.0, 0.5 * capped))
    assert [s.get_delay(n) for n in range(1, 8)] == expected
    # and the values are really jittered (not just the capped delays)
    assert expected[0] != 1.0


def test_exponential_backoff_same_seed_same_sequence() -> None:
    a = ExponentialBackoff(rng=random.Random(7))
    b = ExponentialBackoff(rng=random.Random(7))
    c = ExponentialBackoff(rng=random.Random(8))
    seq_a = [a.get_delay(n) for n in range(1, 6)]
    assert seq_a == [b.get_delay(n) for n in range(1, 6)]
    assert seq_a != [c.get_delay(n) for n in range(1, 6)]


def test_decorrelated_jitter_formula() -> None:
    s = DecorrelatedJitter(base=0.5, max_delay=4.0, rng=random.Random(3))
    mirror = random.Random(3)
    previous: float | None = None
    for _ in range(12):
        got = s.next_delay(previous)
        prev = 0.5 if previous is None else previous
        assert got == min(4.0, mirror.uniform(0.5, 3.0 * prev))
        previous = got


def test_decorrelated_jitter_get_delay_draws_as_a_first_retry() -> None:
    s = DecorrelatedJitter(base=2.0, max_delay=100.0, rng=random.Random(1))
    mirror = random.Random(1)
    assert [s.get_delay(5) for _ in range(3)] == [mirror.uniform(2.0, 6.0) for _ in range(3)]


def test_decorrelated_jitter_reads_previous_delay_from_state() -> None:
    s = DecorrelatedJitter(base=1.0, max_delay=1000.0, rng=random.Random(5))
    mirror = random.Random(5)

    class Facts:
        attempt = 3
        previous_delay = 10.0

    assert s.delay_for(Facts()) == mirror.uniform(1.0, 30.0)


# ---------------------------------------------------------------- defaults (SPEC section 1)


def test_spec_defaults() -> None:
    assert FixedDelay().delay == 1.0
    lin = LinearBackoff()
    assert (lin.base, lin.increment, lin.max_delay) == (1.0, 1.0, 30.0)
    exp = ExponentialBackoff()
    assert (exp.base, exp.multiplier, exp.max_delay, exp.jitter) == (1.0, 2.0, 30.0, 0.5)
    dec = DecorrelatedJitter()
    assert (dec.base, dec.max_delay) == (1.0, 30.0)


def test_library_default_strategy_is_spec_exponential() -> None:
    strategy = library_defaults()["retry_strategy"]
    assert isinstance(strategy, ExponentialBackoff)
    assert (strategy.base, strategy.multiplier, strategy.max_delay, strategy.jitter) == (
        1.0,
        2.0,
        30.0,
        0.5,
    )


def test_default_exponential_waits_match_spec_ranges() -> None:
    s = ExponentialBackoff(rng=random.Random(0))
    for n, (low, high) in enumerate([(1, 1.5), (2, 3), (4, 6), (8, 12), (16, 24), (30, 45)], 1):
        for _ in range(50):
            assert low <= s.get_delay(n) <= high


def test_repr_shows_parameters_not_rng() -> None:
    assert repr(FixedDelay(2)) == "FixedDelay(delay=2.0)"
    text = repr(ExponentialBackoff(rng=random.Random(1)))
    assert text == "ExponentialBackoff(base=1.0, multiplier=2.0, max_delay=30.0, jitter=0.5)"


# ---------------------------------------------------------------- bounds (hypothesis)

seconds = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)
attempts = st.integers(min_value=1, max_value=10_000)


@given(delay=seconds, attempt=attempts)
def test_fixed_within_bounds(delay: float, attempt: int) -> None:
    assert FixedDelay(delay).get_delay(attempt) == delay


@given(base=seconds, increment=seconds, cap=seconds, attempt=attempts)
def test_linear_within_bounds(base: float, increment: float, cap: float, attempt: int) -> None:
    got = LinearBackoff(base, increment, cap).get_delay(attempt)
    assert 0.0 <= got <= cap
    assert got == min(cap, base + increment * (attempt - 1))


def _power(base: float, multiplier: float, exponent: int) -> float:
    """``base * multiplier ** exponent`` where a float overflow means "very large"."""
    if base == 0.0:
        return 0.0
    try:
        return base * multiplier**exponent
    except OverflowError:
        return math.inf


@given(
    base=seconds,
    multiplier=st.floats(min_value=1e-3, max_value=100.0),
    cap=seconds,
    jitter=st.floats(min_value=0.0, max_value=5.0),
    attempt=attempts,
    seed=st.integers(0, 2**32),
)
def test_exponential_within_bounds(
    base: float, multiplier: float, cap: float, jitter: float, attempt: int, seed: int
) -> None:
    got = ExponentialBackoff(base, multiplier, cap, jitter, rng=random.Random(seed)).get_delay(
        attempt
    )
    low = min(cap, _power(base, multiplier, attempt - 1))
    assert math.isfinite(got)
    assert low * (1 - 1e-9) <= got <= low * (1 + jitter) * (1 + 1e-9) + 1e-300


@given(
    base=seconds,
    cap=seconds,
    previous=st.none() | seconds,
    seed=st.integers(0, 2**32),
)
def test_decorrelated_within_bounds(
    base: float, cap: float, previous: float | None, seed: int
) -> None:
    s = DecorrelatedJitter(base, cap, rng=random.Random(seed))
    got = s.next_delay(previous)
    prev = base if previous is None or previous < base else previous
    assert min(base, cap) <= got <= cap
    assert got <= 3 * prev + 1e-9


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32))
def test_decorrelated_sequence_of_10_000_stays_in_bounds(seed: int) -> None:
    s = DecorrelatedJitter(base=0.5, max_delay=30.0, rng=random.Random(seed))
    previous: float | None = None
    for _ in range(10_000):
        got = s.next_delay(previous)
        assert 0.5 <= got <= 30.0
        assert got <= 3 * (previous or 0.5) * (1 + 1e-12)
        previous = got


@pytest.mark.parametrize(
    "strategy",
    [
        FixedDelay(),
        LinearBackoff(),
        ExponentialBackoff(),
        ExponentialBackoff(multiplier=1.0),
        ExponentialBackoff(multiplier=0.5),
        ExponentialBackoff(base=0.0),
        DecorrelatedJitter(),
    ],
    ids=repr,
)
def test_huge_attempt_numbers_do_not_overflow(strategy: RetryStrategy) -> None:
    for attempt in (10**6, 2**70, _MAX_STEP, _MAX_STEP + 1):
        got = strategy.get_delay(attempt)
        assert math.isfinite(got)
        assert 0.0 <= got <= 45.0


def test_extreme_parameters_do_not_overflow() -> None:
    # max_delay / base and multiplier ** exponent are both beyond float range here
    s = ExponentialBackoff(base=1e-300, multiplier=10.0, max_delay=1e300, jitter=0.0)
    assert s.get_delay(700) == 1e300
    assert s.get_delay(2**70) == 1e300
    tiny = ExponentialBackoff(base=1.0, multiplier=1.0 + 1e-15, max_delay=30.0, jitter=0.0)
    assert tiny.get_delay(2**70) == 30.0


# ---------------------------------------------------------------- validation


BAD_VALUES = [-1, -0.001, float("nan"), float("inf"), float("-inf"), True, False, "1", None]


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda v: FixedDelay(delay=v), "FixedDelay.delay"),
        (lambda v: LinearBackoff(base=v), "LinearBackoff.base"),
        (lambda v: LinearBackoff(increment=v), "LinearBackoff.increment"),
        (lambda v: LinearBackoff(max_delay=v), "LinearBackoff.max_delay"),
        (lambda v: ExponentialBackoff(base=v), "ExponentialBackoff.base"),
        (lambda v: ExponentialBackoff(multiplier=v), "ExponentialBackoff.multiplier"),
        (lambda v: ExponentialBackoff(max_delay=v), "ExponentialBackoff.max_delay"),
        (lambda v: ExponentialBackoff(jitter=v), "ExponentialBackoff.jitter"),
        (lambda v: DecorrelatedJitter(base=v), "DecorrelatedJitter.base"),
        (lambda v: DecorrelatedJitter(max_delay=v), "DecorrelatedJitter.max_delay"),
    ],
)
def test_bad_parameters_are_config_errors_naming_them(
    factory: Callable[[Any], RetryStrategy], name: str
) -> None:
    for value in BAD_VALUES:
        with pytest.raises(ConfigError) as info:
            factory(value)
        assert info.value.key == name, value
        assert str(info.value).startswith(f"{name}: must be "), value


def test_multiplier_zero_is_rejected_but_zero_delays_are_fine() -> None:
    with pytest.raises(ConfigError, match=r"^ExponentialBackoff\.multiplier: .*> 0"):
        ExponentialBackoff(multiplier=0)
    assert FixedDelay(0).get_delay(3) == 0.0
    assert ExponentialBackoff(base=0, jitter=0).get_delay(3) == 0.0
    assert isinstance(ExponentialBackoff(base=2).base, float)


def test_base_class_get_delay_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        RetryStrategy().get_delay(1)


# ---------------------------------------------------------------- through a client


class Steps(RetryStrategy):
    """A user strategy implementing only ``get_delay``."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def get_delay(self, attempt: int) -> float:
        self.seen.append(attempt)
        return attempt / 100


def _status_sequence(statuses: list[int]) -> httpx.MockTransport:
    remaining = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(remaining.pop(0) if len(remaining) > 1 else remaining[0])

    return httpx.MockTransport(handler)


@pytest.mark.usefixtures("instant")
async def test_user_subclass_with_only_get_delay_works_through_client(
    make_client: Callable[..., Both],
) -> None:
    events: list[RetryEvent] = []
    strategy = Steps()
    api = make_client(
        base_url="http://test",
        transport=_status_sequence([503, 503, 503, 200]),
        retry_strategy=strategy,
        on_retry=events.append,
    )
    r = await api.get("/x")
    assert r.status == 200
    assert r.attempts == 4
    assert strategy.seen == [1, 2, 3]
    assert [e.delay for e in events] == [0.01, 0.02, 0.03]
    assert [h.delay for h in r.history] == [0.01, 0.02, 0.03, None]


def _state_for(strategy: RetryStrategy) -> RetryState:
    cfg = library_defaults()
    cfg.update(method="GET", url="https://api.example.com/x", retry_strategy=strategy)
    cfg["max_retries"] = 100
    return RetryState(cfg, start=0.0)


def _refused(cfg: dict[str, Any]) -> BaseException:
    error = axios_like.ConnectError("refused", config=cfg)
    error.reason = "connect refused"
    return error


def test_decorrelated_interleaved_calls_keep_their_own_previous_delay() -> None:
    """Two calls decided alternately with one strategy: each reads its own previous delay."""
    strategy = DecorrelatedJitter(base=1.0, max_delay=1e6, rng=random.Random(11))
    a, b = _state_for(strategy), _state_for(strategy)
    cfg = {"method": "GET", "url": "https://api.example.com/x"}
    delays: dict[str, list[float]] = {"a": [], "b": []}
    for _ in range(20):
        for name, state in (("a", a), ("b", b)):
            step = decide(state, _refused(cfg), 0.0)
            assert isinstance(step, Retry)
            delays[name].append(step.delay)
    for seq in delays.values():
        assert 1.0 <= seq[0] <= 3.0
        for earlier, later in itertools.pairwise(seq):
            assert 1.0 <= later <= 3 * earlier * (1 + 1e-12)
    # the strategy object itself holds nothing per call
    assert set(vars(strategy)) == {"base", "max_delay", "rng"}


@pytest.mark.usefixtures("instant")
async def test_decorrelated_concurrent_async_calls_get_their_own_sequences() -> None:
    strategy = DecorrelatedJitter(base=1.0, max_delay=1e6, rng=random.Random(2))

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the other call run between attempts
        return httpx.Response(503)

    events: dict[str, list[float]] = {}

    def on_retry(event: RetryEvent) -> None:
        events.setdefault(event.config["url"], []).append(event.delay)

    async with axios_like.create_async(
        base_url="http://test",
        transport=httpx.MockTransport(handler),
        retry_strategy=strategy,
        max_retries=12,
        on_retry=on_retry,
        retry_budget=None,  # 4 calls x 12 retries at once: about the strategy, not the budget
    ) as api:
        results = await asyncio.gather(
            *(api.get(f"/{n}") for n in range(4)), return_exceptions=True
        )
    assert all(isinstance(r, axios_like.RetryError) for r in results)
    assert sorted(events) == ["/0", "/1", "/2", "/3"]
    for seq in events.values():
        assert len(seq) == 12
        assert 1.0 <= seq[0] <= 3.0
        for earlier, later in itertools.pairwise(seq):
            assert 1.0 <= later <= 3 * earlier * (1 + 1e-12)


@pytest.mark.usefixtures("instant")
def test_decorrelated_threads_sharing_one_client_get_their_own_sequences() -> None:
    strategy = DecorrelatedJitter(base=1.0, max_delay=1e6)
    barrier = threading.Barrier(4)
    lock = threading.Lock()
    events: dict[str, list[float]] = {}

    def on_retry(event: RetryEvent) -> None:
        with lock:
            events.setdefault(event.config["url"], []).append(event.delay)

    api = axios_like.create(
        base_url="http://test",
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
        retry_strategy=strategy,
        max_retries=30,
        on_retry=on_retry,
        retry_budget=None,  # 4 threads x 30 retries at once: about the strategy, not the budget
    )

    def run(n: int) -> None:
        barrier.wait()
        with pytest.raises(axios_like.RetryError):
            api.get(f"/{n}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    api.close()
    assert sorted(events) == ["/0", "/1", "/2", "/3"]
    for seq in events.values():
        assert len(seq) == 30
        for earlier, later in itertools.pairwise(seq):
            assert 1.0 <= later <= 3 * earlier * (1 + 1e-12)
