"""The retry core driven directly: no server, no event loop, no clock.

Table-driven cases of (method, outcome, headers, state, policy) -> decision, as
urllib3's ``test_retry.py`` and h11's ``test_state.py`` do.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import axios_like
from axios_like import (
    ConfigError,
    ExponentialBackoff,
    FixedDelay,
    HistoryEntry,
    HTTPStatusError,
    InvalidRequestError,
    InvalidURLError,
    LinearBackoff,
    NetworkError,
    Replay,
    RetryError,
)
from axios_like._config import library_defaults
from axios_like._instant import begin_wait
from axios_like._models import Response
from axios_like._outcomes import map_error, to_outcome
from axios_like._retry import (
    ANY_METHOD_STATUS,
    DEFAULT_RETRY_STATUS,
    DONE,
    IDEMPOTENT_METHODS,
    MAX_REPLAYS,
    NEVER_RETRIED_STATUS,
    RETRY_AFTER_STATUS,
    Again,
    Raise,
    Retry,
    RetryState,
    Stop,
    decide,
    is_retryable,
    parse_retry_after,
)
from axios_like.testing import instant_retries

URL = "https://api.example.com/x"
NOW_WALL = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)

# ---------------------------------------------------------------- builders


def make_config(method: str = "GET", **overrides: Any) -> dict[str, Any]:
    """A merged request config as the shells hand it to the core."""
    cfg = library_defaults()
    cfg.update(base_url="https://api.example.com", url="/x", method=method)
    cfg["retry_strategy"] = FixedDelay(0.5)
    headers = overrides.pop("headers", None)
    if headers:
        cfg["headers"] = httpx.Headers(headers)
    cfg.update(overrides)
    return cfg


def make_state(cfg: Mapping[str, Any], **kwargs: Any) -> RetryState:
    return RetryState(cfg, start=kwargs.pop("start", 0.0), **kwargs)


def status_error(
    status: int, cfg: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> HTTPStatusError:
    raw = httpx.Response(status, headers=headers or {}, request=httpx.Request(cfg["method"], URL))
    outcome = to_outcome(raw, cfg)
    assert isinstance(outcome, HTTPStatusError)
    return outcome


def ok_response(cfg: Mapping[str, Any], status: int = 200) -> Response:
    outcome = to_outcome(httpx.Response(status, request=httpx.Request(cfg["method"], URL)), cfg)
    assert isinstance(outcome, Response)
    return outcome


#: httpx failures by kind, as the shells map them.
HTTPX_FAILURES: dict[str, Exception] = {
    "connect refused": httpx.ConnectError("[Errno 111] Connection refused"),
    "connect timeout": httpx.ConnectTimeout("timed out"),
    "pool timeout": httpx.PoolTimeout("timed out"),
    "read timeout": httpx.ReadTimeout("timed out"),
    "write timeout": httpx.WriteTimeout("timed out"),
    "connection reset": httpx.ReadError("[Errno 104] Connection reset by peer"),
    "connection dropped": httpx.RemoteProtocolError("Server disconnected"),
    "write error": httpx.WriteError("broken pipe"),
}
NEVER_SENT = ("connect refused", "connect timeout", "pool timeout")
MAY_HAVE_REACHED = tuple(k for k in HTTPX_FAILURES if k not in NEVER_SENT)


def network_error(kind: str, cfg: Mapping[str, Any]) -> BaseException:
    error = map_error(HTTPX_FAILURES[kind], cfg)
    assert isinstance(error, NetworkError)
    assert error.reason == kind
    return error


def outcome_for(kind: str | int, cfg: Mapping[str, Any]) -> BaseException:
    return status_error(kind, cfg) if isinstance(kind, int) else network_error(kind, cfg)


def first_decision(
    method: str, kind: str | int, headers: Mapping[str, str] | None = None, **policy: Any
) -> Any:
    cfg = make_config(method, headers=headers, **policy)
    return decide(make_state(cfg), outcome_for(kind, cfg), 0.0, now_wall=NOW_WALL)


# ---------------------------------------------------------------- the rules table

ALL_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", "POST", "PATCH")


def expected_retry(method: str, kind: str | int, idempotency_key: bool = False) -> bool:
    """SPEC section 3, written independently of the code under test."""
    safe = method in {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"} or idempotency_key
    if isinstance(kind, int):
        if kind not in {408, 429, 502, 503, 504}:
            return False
        return kind == 429 or safe
    return kind in NEVER_SENT or safe


KINDS = (*HTTPX_FAILURES, 408, 429, 500, 502, 503, 504, *NEVER_RETRIED_STATUS)


@pytest.mark.parametrize("kind", KINDS)
def test_default_policy_table(kind: str | int) -> None:
    reason = f"status {kind}" if isinstance(kind, int) else kind
    got, want = {}, {}
    for method in ALL_METHODS:
        step = first_decision(method, kind)
        got[method] = (type(step).__name__, getattr(step, "delay", None), step_reason(step))
        expected = (
            ("Retry", 0.5, reason) if expected_retry(method, kind) else ("Raise", None, reason)
        )
        want[method] = expected
    assert got == want


def step_reason(step: Any) -> str:
    return step.reason if isinstance(step, Retry) else step.error.reason


@pytest.mark.parametrize("kind", [*MAY_HAVE_REACHED, 408, 502, 503, 504])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_idempotency_key_makes_any_method_retryable(method: str, kind: str | int) -> None:
    assert isinstance(first_decision(method, kind), Raise)
    for header in ("Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"):
        step = first_decision(method, kind, headers={header: "k-1"})
        assert isinstance(step, Retry), header


def test_rules_table_constants_match_spec() -> None:
    assert set(IDEMPOTENT_METHODS) == {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}
    assert set(DEFAULT_RETRY_STATUS) == {408, 429, 502, 503, 504}
    assert set(ANY_METHOD_STATUS) == {429}
    assert set(RETRY_AFTER_STATUS) == {413, 429, 503}  # issue 16: RFC 9110 gives 413 one too
    assert set(NEVER_RETRIED_STATUS) == {400, 401, 403, 404, 405, 406, 409, 410, 422}
    assert not DEFAULT_RETRY_STATUS & set(NEVER_RETRIED_STATUS)


def test_lowercase_method_in_config_is_still_idempotent() -> None:
    cfg = make_config("get")
    assert is_retryable(network_error("read timeout", cfg)) is True


def test_is_retryable_on_errors_without_config() -> None:
    assert is_retryable(ValueError("bug")) is False
    assert is_retryable(axios_like.ConnectError("refused")) is True


# ---------------------------------------------------------------- client errors, retry_on/status


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("timeout", "must be positive"),
        InvalidRequestError("cannot build"),
        InvalidURLError("bad url"),
        axios_like.BodyNotReplayableError("stream consumed"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_client_errors_are_never_retried_even_if_retry_on_says_so(error: Exception) -> None:
    calls: list[BaseException] = []

    def retry_on(exc: BaseException) -> bool:
        calls.append(exc)
        return True

    state = make_state(make_config(retry_on=retry_on))
    step = decide(state, error, 0.0)
    assert step == Raise(error)
    assert calls == []  # retry_on is not even asked
    assert state.history == [HistoryEntry(1, None, error, None, error.reason)]


def test_unusual_status_codes_have_a_reason_too() -> None:
    step = first_decision("GET", 799)
    assert isinstance(step, Raise)
    assert step.error.reason == "status 799"
    assert step_reason(first_decision("GET", 503, retry_status=frozenset({599}))) == "status 503"


def test_other_exceptions_are_not_retried_by_default() -> None:
    error = ZeroDivisionError("bug in an interceptor")
    step = decide(make_state(make_config()), error, 0.0)
    assert step == Raise(error)


def test_retry_on_replaces_the_decision_whole() -> None:
    seen: list[BaseException] = []

    def retry_on(exc: BaseException) -> bool:
        seen.append(exc)
        return isinstance(exc, HTTPStatusError) and exc.status == 500

    # 500 on POST: retried, idempotency rules and retry_status included in the replacement
    step = first_decision("POST", 500, retry_on=retry_on)
    assert isinstance(step, Retry)
    # 503 on GET: default would retry, retry_on says no
    assert isinstance(first_decision("GET", 503, retry_on=retry_on), Raise)
    # a read timeout on POST could be retried if the user says so
    assert isinstance(first_decision("POST", "read timeout", retry_on=lambda e: True), Retry)
    assert [type(e).__name__ for e in seen] == ["HTTPStatusError", "HTTPStatusError"]


def test_retry_on_can_extend_the_exported_default() -> None:
    def retry_on(exc: BaseException) -> bool:
        if isinstance(exc, HTTPStatusError) and exc.status == 500:
            return True
        return axios_like.is_retryable(exc)

    assert isinstance(first_decision("GET", 500, retry_on=retry_on), Retry)
    assert isinstance(first_decision("GET", 503, retry_on=retry_on), Retry)
    assert isinstance(first_decision("POST", 503, retry_on=retry_on), Raise)


def test_retry_status_replaces_the_set() -> None:
    policy = {"retry_status": frozenset({500})}
    assert isinstance(first_decision("GET", 500, **policy), Retry)
    assert isinstance(first_decision("GET", 503, **policy), Raise)
    assert isinstance(first_decision("POST", 429, **policy), Raise)
    # network failures do not depend on retry_status
    assert isinstance(first_decision("GET", "read timeout", **policy), Retry)


def test_retry_status_empty_turns_off_status_retries() -> None:
    assert isinstance(first_decision("GET", 503, retry_status=frozenset()), Raise)


# ---------------------------------------------------------------- limits


def test_max_retries_zero_raises_the_failure_itself() -> None:
    cfg = make_config(max_retries=0)
    error = status_error(503, cfg)
    state = make_state(cfg)
    step = decide(state, error, 0.0)
    assert step == Raise(error)
    assert not isinstance(step.error, RetryError)
    assert state.history == [HistoryEntry(1, 503, error, None, "status 503")]


def run_until_stop(
    cfg: Mapping[str, Any], make_error: Any, *, now_step: float = 0.0
) -> tuple[Stop, RetryState, list[BaseException], list[Retry]]:
    state = make_state(cfg)
    errors: list[BaseException] = []
    retries: list[Retry] = []
    for n in range(50):
        error = make_error()
        errors.append(error)
        step = decide(state, error, n * now_step, now_wall=NOW_WALL)
        if not isinstance(step, Retry):
            assert isinstance(step, Stop), step
            return step, state, errors, retries
        retries.append(step)
    raise AssertionError("never stopped")


def test_exhaustion_stops_with_retry_error() -> None:
    cfg = make_config(max_retries=3, retry_strategy=LinearBackoff(0.1, 0.1, 1.0))
    stop, state, errors, retries = run_until_stop(cfg, lambda: status_error(503, cfg))
    err = stop.error
    assert isinstance(err, RetryError)
    assert err.reason == "max_retries"
    assert err.attempts == 4
    assert str(err) == (
        "GET https://api.example.com/x failed after 4 attempts "
        "(max_retries=3 reached): 503 Service Unavailable"
    )
    assert err.last_error is errors[-1]
    assert err.config is cfg
    assert [r.delay for r in retries] == pytest.approx([0.1, 0.2, 0.3])
    assert err.history == tuple(state.history)
    assert [tuple(h[:2]) + tuple(h[3:]) for h in err.history] == [
        (1, 503, pytest.approx(0.1), "status 503"),
        (2, 503, pytest.approx(0.2), "status 503"),
        (3, 503, pytest.approx(0.3), "status 503"),
        (4, 503, None, "status 503"),
    ]
    assert [h.error for h in err.history] == errors
    assert all(isinstance(h, HistoryEntry) for h in err.history)


def test_retry_error_cause_is_set_by_the_shell_raise() -> None:
    cfg = make_config(max_retries=1)
    stop, *_ = run_until_stop(cfg, lambda: network_error("connect refused", cfg))
    with pytest.raises(RetryError) as info:
        raise stop.error from stop.error.last_error
    assert info.value.__cause__ is info.value.last_error
    assert str(info.value) == (
        "GET https://api.example.com/x failed after 2 attempts "
        "(max_retries=1 reached): connect refused (ConnectError)"
    )


def test_retry_error_message_redacts_query_values_and_single_attempt_grammar() -> None:
    cfg = make_config(url="/x?token=s3cret", deadline=0.25, retry_strategy=FixedDelay(1.0))
    stop, *_ = run_until_stop(cfg, lambda: status_error(502, cfg))
    assert stop.error.reason == "deadline"
    assert str(stop.error) == (
        "GET https://api.example.com/x?token=[redacted] failed after 1 attempt "
        "(deadline=0.25s reached): 502 Bad Gateway"
    )
    assert "s3cret" not in str(stop.error)


# ---------------------------------------------------------------- Retry-After


def retry_after_decision(
    value: str | None,
    *,
    status: int = 503,
    method: str = "GET",
    date: str | None = None,
    now_wall: datetime = NOW_WALL,
    **policy: Any,
) -> Any:
    cfg = make_config(method, **policy)
    headers = {}
    if value is not None:
        headers["Retry-After"] = value
    if date is not None:
        headers["Date"] = date
    return decide(make_state(cfg), status_error(status, cfg, headers), 0.0, now_wall=now_wall)


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


@pytest.mark.parametrize(
    ("value", "delay", "reason"),
    [
        ("2", 2.0, "status 503, Retry-After 2s"),
        ("  7 ", 7.0, "status 503, Retry-After 7s"),
        ("1.5", 1.5, "status 503, Retry-After 1.5s"),
        ("0", 0.0, "status 503, Retry-After 0s"),
        ("60", 60.0, "status 503, Retry-After 60s"),
    ],
)
def test_retry_after_seconds_sets_the_wait(value: str, delay: float, reason: str) -> None:
    step = retry_after_decision(value)
    assert step == Retry(delay, reason)


def test_retry_after_zero_is_a_zero_wait_not_a_stop() -> None:
    step = retry_after_decision("0", max_retry_after=0.0)
    assert step == Retry(0.0, "status 503, Retry-After 0s")


def test_retry_after_on_429_for_post() -> None:
    step = retry_after_decision("3", status=429, method="POST")
    assert step == Retry(3.0, "status 429, Retry-After 3s")


def test_retry_after_http_date_is_measured_against_the_date_header() -> None:
    server_now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)  # server clock far from ours
    step = retry_after_decision(
        http_date(server_now + timedelta(seconds=10)), date=http_date(server_now)
    )
    assert step == Retry(10.0, "status 503, Retry-After 10s")


def test_retry_after_http_date_without_date_header_uses_now_wall() -> None:
    step = retry_after_decision(http_date(NOW_WALL + timedelta(seconds=5)))
    assert step == Retry(5.0, "status 503, Retry-After 5s")


def test_retry_after_http_date_with_unparseable_date_header_uses_now_wall() -> None:
    step = retry_after_decision(http_date(NOW_WALL + timedelta(seconds=4)), date="yesterday")
    assert step == Retry(4.0, "status 503, Retry-After 4s")


def test_retry_after_http_date_in_the_past_means_zero() -> None:
    step = retry_after_decision(http_date(NOW_WALL - timedelta(hours=3)))
    assert step == Retry(0.0, "status 503, Retry-After 0s")


def test_retry_after_above_max_retry_after_stops_at_once() -> None:
    cfg = make_config(max_retry_after=60.0)
    state = make_state(cfg)
    error = status_error(429, cfg, {"Retry-After": "120"})
    step = decide(state, error, 0.0, now_wall=NOW_WALL)
    assert isinstance(step, Stop)
    assert step.error.reason == "max_retry_after"
    assert step.error.attempts == 1
    assert step.error.last_error is error
    assert str(step.error) == (
        "GET https://api.example.com/x failed after 1 attempt "
        "(Retry-After 120s above max_retry_after=60s): 429 Too Many Requests"
    )
    assert state.history == [HistoryEntry(1, 429, error, None, "status 429, Retry-After 120s")]


def test_retry_after_date_above_max_retry_after_stops() -> None:
    step = retry_after_decision(http_date(NOW_WALL + timedelta(minutes=5)), max_retry_after=60.0)
    assert isinstance(step, Stop)
    assert step.error.reason == "max_retry_after"


@pytest.mark.parametrize(
    "value", ["", "   ", "soon", "-5", "-0.5", "nan", "-nan", "1 2", "Mon, 99 Foo 2015", "\x00"]
)
def test_unusable_retry_after_falls_back_to_the_strategy(value: str) -> None:
    step = retry_after_decision(value, retry_strategy=FixedDelay(0.75))
    assert step == Retry(0.75, "status 503")


def test_retry_after_is_read_on_413_by_default() -> None:
    # 413 is not retried by default; once retry_status lets it through, its Retry-After counts
    step = retry_after_decision(
        "4", status=413, retry_status={413}, retry_strategy=FixedDelay(0.25)
    )
    assert step == Retry(4.0, "status 413, Retry-After 4s")
    assert frozenset({413, 429, 503}) == RETRY_AFTER_STATUS


def test_retry_after_status_narrows_where_retry_after_is_read() -> None:
    step = retry_after_decision("30", retry_after_status={429}, retry_strategy=FixedDelay(0.25))
    assert step == Retry(0.25, "status 503")
    step = retry_after_decision("3", status=429, retry_after_status={429})
    assert step == Retry(3.0, "status 429, Retry-After 3s")


def test_retry_after_status_widens_where_retry_after_is_read() -> None:
    step = retry_after_decision("5", status=502, retry_after_status={502, 503})
    assert step == Retry(5.0, "status 502, Retry-After 5s")
    # empty: the header is never read, the strategy always decides
    step = retry_after_decision("5", retry_after_status=frozenset(), retry_strategy=FixedDelay(1))
    assert step == Retry(1.0, "status 503")


@pytest.mark.parametrize("status", [408, 502, 504])
def test_retry_after_is_ignored_on_other_statuses(status: int) -> None:
    step = retry_after_decision("30", status=status, retry_strategy=FixedDelay(0.25))
    assert step == Retry(0.25, f"status {status}")


def test_retry_after_used_by_decorrelated_jitter_as_previous_delay() -> None:
    cfg = make_config(retry_strategy=axios_like.DecorrelatedJitter(base=1.0, max_delay=1000.0))
    state = make_state(cfg)
    assert decide(state, status_error(503, cfg, {"Retry-After": "2"}), 0.0).delay == 2.0
    assert state.previous_delay == 2.0
    step = decide(state, status_error(502, cfg), 0.0)
    assert 1.0 <= step.delay <= 6.0


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("120", None, 120.0),
        ("0", None, 0.0),
        ("1.5", None, 1.5),
        (" 7\t", None, 7.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", None, 10.0),
        ("Wednesday, 21-Oct-15 07:28:30 GMT", None, 30.0),  # RFC 850, obsolete but valid
        ("Wed Oct 21 07:28:20 2015", None, 20.0),  # asctime, naive: GMT
        ("Wed, 21 Oct 2015 07:28:10 +0100", None, 0.0),  # an hour earlier: past
        (None, None, None),
        ("", None, None),
        ("-1", None, None),
        ("NaN", None, None),
        ("garbage", None, None),
    ],
)
def test_parse_retry_after_cases(value: str | None, date: str | None, expected: Any) -> None:
    assert parse_retry_after(value, now=NOW_WALL, date=date) == expected


@pytest.mark.parametrize(
    "value",
    # RFC 9110 delay-seconds are ASCII digits (plus our documented decimals), nothing else:
    # what float() or str.isdigit() would also take is garbage here.
    [
        "1e999",
        "1e3",
        "1E3",
        "+1",
        "1_0",
        "\u0665",
        "\u0661\u0662",
        "\uff15",
        "inf",
        "Infinity",
        ".5",
        "5.",
        "1.2.3",
        "0x10",
        "\u00a05",
        "5\u00a0",
        "1 2",
        "1,5",
        "-0",
        "- 1",
    ],
)
def test_parse_retry_after_accepts_only_ascii_delay_seconds(value: str) -> None:
    assert parse_retry_after(value, now=NOW_WALL) is None


@pytest.mark.parametrize("value", ["1e999", "1e3", "+1", "1_0", "\u0665"])
def test_non_rfc_numbers_fall_back_to_the_strategy(value: str) -> None:
    cfg = make_config(retry_strategy=FixedDelay(0.75))
    # as sent on the wire: UTF-8 bytes, which httpx decodes back to the same text
    error = status_error(503, cfg, {"Retry-After": value.encode()})  # type: ignore[dict-item]
    assert error.response.headers["retry-after"] == value
    step = decide(make_state(cfg), error, 0.0, now_wall=NOW_WALL)
    assert step == Retry(0.75, "status 503")


def test_leap_second_means_the_next_minute() -> None:
    now = datetime(1994, 11, 6, 8, 49, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:60 GMT", now=now) == 60.0
    assert parse_retry_after("Sunday, 06-Nov-94 08:49:60 GMT", now=now) == 60.0
    assert parse_retry_after("Sun Nov  6 08:49:60 1994", now=now) == 60.0
    # the end of a year: 23:59:60 on 31 December is midnight of the next year
    new_year = datetime(2016, 12, 31, 23, 59, 0, tzinfo=UTC)
    assert parse_retry_after("Sat, 31 Dec 2016 23:59:60 GMT", now=new_year) == 60.0
    # a leap second in the Date header too: 10 s between the two
    assert (
        parse_retry_after(
            "Sun, 06 Nov 1994 08:50:10 GMT", now=now, date="Sun, 06 Nov 1994 08:49:60 GMT"
        )
        == 10.0
    )
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:61 GMT", now=now) is None


@pytest.mark.parametrize(
    ("now_year", "two_digits", "year"),
    [
        (2026, "75", 2075),  # 49 years ahead: not "more than 50", so 2075 (email.utils: 1975)
        (2026, "69", 2069),  # email.utils: 1969
        (2026, "77", 1977),  # 51 years ahead would be more than 50: the last 77 in the past
        (2026, "26", 2026),
        (2026, "25", 2025),
        (2015, "15", 2015),
        (2015, "94", 1994),
        (2080, "29", 2129),
        (2080, "30", 2030),  # 2130 would be 50 years and 30 s ahead: more than 50
        (2080, "31", 2031),
        (2180, "79", 2179),
    ],
)
def test_rfc850_two_digit_years_follow_the_50_year_rule(
    now_year: int, two_digits: str, year: int
) -> None:
    now = datetime(now_year, 6, 1, 12, 0, 0, tzinfo=UTC)
    when = datetime(year, 6, 1, 12, 0, 30, tzinfo=UTC)
    value = f"{when:%A}, 01-Jun-{two_digits} 12:00:30 GMT"
    expected = max(0.0, (when - now).total_seconds())
    assert parse_retry_after(value, now=now) == expected


def test_a_date_parser_that_raises_means_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    # email.utils has raised IndexError on odd input in some CPython releases
    def broken(text: str) -> None:
        raise IndexError(text)

    monkeypatch.setattr("axios_like._retry.parsedate_tz", broken)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=NOW_WALL) is None


def test_two_digit_year_with_a_numeric_zone_gets_the_rule_too() -> None:
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    # an obsolete RFC 1123 form; "+0100" is a zone, not a year
    got = parse_retry_after("Thu, 01 Jun 69 13:00:30 +0100", now=now)
    assert got == (datetime(2069, 6, 1, 12, 0, 30, tzinfo=UTC) - now).total_seconds()


def test_rfc850_year_seen_by_the_engine_uses_now_wall() -> None:
    # Handed the last minute of 2068 as the wall clock, "01-Jan-69" is a minute away, not
    # a date in 1969 (email.utils' reading) that would mean "retry at once".
    now = datetime(2068, 12, 31, 23, 59, 0, tzinfo=UTC)
    step = retry_after_decision("Tuesday, 01-Jan-69 00:00:00 GMT", now_wall=now)
    assert step == Retry(60.0, "status 503, Retry-After 60s")


# ---------------------------------------------------------------- deadline


def test_deadline_allows_waits_that_end_before_it() -> None:
    cfg = make_config(deadline=2.0, retry_strategy=FixedDelay(1.0))
    state = make_state(cfg, start=100.0)
    assert decide(state, status_error(503, cfg), 100.5) == Retry(1.0, "status 503")
    assert state.remaining(100.5) == 1.5


def test_deadline_stops_a_wait_that_would_end_past_it() -> None:
    cfg = make_config(deadline=2.0, retry_strategy=FixedDelay(1.0))
    state = make_state(cfg, start=100.0)
    error = status_error(503, cfg)
    step = decide(state, error, 101.5)
    assert isinstance(step, Stop)
    assert step.error.reason == "deadline"
    assert step.error.attempts == 1
    assert step.error.last_error is error
    assert state.history[-1] == HistoryEntry(1, 503, error, None, "status 503")


def test_deadline_shorter_than_first_backoff_stops_after_one_attempt() -> None:
    cfg = make_config(deadline=0.5, retry_strategy=FixedDelay(1.0))
    step = decide(make_state(cfg), network_error("connect refused", cfg), 0.01)
    assert isinstance(step, Stop)
    assert (step.error.reason, step.error.attempts) == ("deadline", 1)


def test_deadline_applies_to_retry_after_waits_too() -> None:
    cfg = make_config(deadline=5.0)
    step = decide(make_state(cfg), status_error(429, cfg, {"Retry-After": "10"}), 0.0)
    assert isinstance(step, Stop)
    assert step.error.reason == "deadline"


def test_skipped_waits_count_against_the_deadline() -> None:
    cfg = make_config(deadline=2.5, retry_strategy=FixedDelay(1.0), max_retries=10)
    state = make_state(cfg)
    steps = []
    with instant_retries():
        for _ in range(10):
            step = decide(state, status_error(503, cfg), 0.0)  # the real clock never moves
            steps.append(step)
            if not isinstance(step, Retry):
                break
            assert begin_wait(state, step.delay) == 0.0
    assert [type(s).__name__ for s in steps] == ["Retry", "Retry", "Stop"]
    assert state.skipped == 2.0
    assert state.elapsed(0.0) == 2.0
    assert steps[-1].error.reason == "deadline"
    assert steps[-1].error.attempts == 3


def test_without_instant_mode_begin_wait_returns_the_delay() -> None:
    state = make_state(make_config())
    assert begin_wait(state, 1.25) == 1.25
    assert state.skipped == 0.0


def test_max_retries_reported_when_both_limits_stop() -> None:
    cfg = make_config(max_retries=1, deadline=10.0, retry_strategy=FixedDelay(5.0))
    state = make_state(cfg)
    assert decide(state, network_error("connect refused", cfg), 0.0) == Retry(
        5.0, "connect refused"
    )
    step = decide(state, network_error("connect refused", cfg), 9.0)  # 5 s wait > 1 s left
    assert isinstance(step, Stop)
    assert step.error.reason == "max_retries"


# ---------------------------------------------------------------- bodies that cannot be replayed


@pytest.mark.parametrize("kind", [503, 502, "read timeout", "connection reset", "write error"])
def test_non_replayable_body_is_not_sent_again_once_it_may_have_reached(
    kind: str | int,
) -> None:
    cfg = make_config("PUT")
    error = outcome_for(kind, cfg)
    state = make_state(cfg, replayable=False)
    step = decide(state, error, 0.0)
    assert step == Raise(error)
    notes = getattr(error, "__notes__", [])
    assert len(notes) == 1
    assert "cannot be replayed" in notes[0]
    assert state.history == [HistoryEntry(1, error_status(error), error, None, error.reason)]


def error_status(error: BaseException) -> int | None:
    return error.status if isinstance(error, HTTPStatusError) else None


@pytest.mark.parametrize("kind", NEVER_SENT)
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_non_replayable_body_still_retried_when_never_sent(kind: str, method: str) -> None:
    cfg = make_config(method)
    error = network_error(kind, cfg)
    assert isinstance(decide(make_state(cfg, replayable=False), error, 0.0), Retry)
    assert not getattr(error, "__notes__", None)


def test_non_replayable_note_not_added_when_not_retryable_anyway() -> None:
    for kind, policy in ((404, {}), (503, {"max_retries": 0})):
        cfg = make_config("PUT", **policy)
        error = outcome_for(kind, cfg)
        assert decide(make_state(cfg, replayable=False), error, 0.0) == Raise(error)
        assert not getattr(error, "__notes__", None)


def test_non_replayable_body_is_not_replayed_by_a_replay() -> None:
    cfg = make_config("PUT")
    cause = status_error(401, cfg)
    state = make_state(cfg, replayable=False)
    step = decide(state, Replay(meta={"refreshed": True}), 0.0, cause=cause)
    assert step == Raise(cause)
    assert any("cannot be replayed" in n for n in cause.__notes__)


# ---------------------------------------------------------------- Replay


def test_replay_goes_again_at_once_and_does_not_count_as_a_retry() -> None:
    cfg = make_config(max_retries=0)
    state = make_state(cfg)
    cause = status_error(401, cfg)
    step = decide(state, Replay(meta={"refreshed": True}), 0.0, cause=cause)
    assert step == Again({"refreshed": True})
    assert (state.attempts, state.attempt, state.replays) == (1, 0, 1)
    assert decide(state, ok_response(cfg), 0.0) is DONE
    assert state.history == [
        HistoryEntry(1, 401, cause, 0.0, "replay"),
        HistoryEntry(2, 200, None, None, "ok"),
    ]


def test_replay_limit() -> None:
    cfg = make_config()
    state = make_state(cfg)
    causes = [status_error(401, cfg) for _ in range(MAX_REPLAYS + 1)]
    steps = [decide(state, Replay(), 0.0, cause=c) for c in causes]
    assert [type(s) for s in steps] == [Again] * MAX_REPLAYS + [Raise]
    assert steps[-1].error is causes[-1]
    assert f"after {MAX_REPLAYS} replays" in causes[-1].__notes__[0]
    assert [h.reason for h in state.history] == ["replay"] * MAX_REPLAYS + ["replay limit"]
    assert state.history[-1].delay is None


def test_replay_without_cause_has_a_placeholder_error() -> None:
    state = make_state(make_config())
    assert isinstance(decide(state, Replay(), 0.0), Again)
    assert isinstance(state.history[0].error, RuntimeError)


# ---------------------------------------------------------------- history and state


def test_history_of_a_call_that_succeeds() -> None:
    cfg = make_config(retry_strategy=LinearBackoff(1.0, 1.0, 10.0))
    state = make_state(cfg)
    e1 = network_error("connect refused", cfg)
    e2 = status_error(503, cfg)
    assert decide(state, e1, 0.0) == Retry(1.0, "connect refused")
    assert decide(state, e2, 0.0) == Retry(2.0, "status 503")
    assert decide(state, ok_response(cfg), 0.0) is DONE
    assert state.history == [
        HistoryEntry(attempt=1, status=None, error=e1, delay=1.0, reason="connect refused"),
        HistoryEntry(attempt=2, status=503, error=e2, delay=2.0, reason="status 503"),
        HistoryEntry(attempt=3, status=200, error=None, delay=None, reason="ok"),
    ]
    assert (state.attempts, state.attempt, state.previous_delay) == (3, 2, 2.0)


def test_state_reads_policy_from_config() -> None:
    strategy = ExponentialBackoff()
    cfg = make_config(max_retries=7, retry_strategy=strategy, max_retry_after=5.0, deadline=9.0)
    state = make_state(cfg, start=10.0)
    assert (state.max_retries, state.strategy, state.max_retry_after) == (7, strategy, 5.0)
    assert state.retry_on is is_retryable
    assert state.deadline_at == 19.0
    assert state.remaining(12.0) == 7.0
    assert make_state(make_config()).remaining(12.0) is None


def test_negative_strategy_delay_is_clamped_to_zero() -> None:
    class Negative(axios_like.RetryStrategy):
        def get_delay(self, attempt: int) -> float:
            return -3.0

    cfg = make_config(retry_strategy=Negative())
    assert decide(make_state(cfg), status_error(503, cfg), 0.0) == Retry(0.0, "status 503")


def test_done_is_a_shared_singleton() -> None:
    cfg = make_config()
    assert decide(make_state(cfg), ok_response(cfg), 0.0) is DONE
    assert repr(DONE) == "DONE"


# ---------------------------------------------------------------- hypothesis

header_names = st.sampled_from(
    ["Retry-After", "Date", "Content-Type", "X-Request-Id", "Idempotency-Keys", "Idempotency"]
)
header_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40
).map(str.strip)
http_dates = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
).map(http_date)


@given(value=st.none() | st.text() | http_dates, date=st.none() | st.text() | http_dates)
def test_parse_retry_after_never_raises(value: str | None, date: str | None) -> None:
    got = parse_retry_after(value, now=NOW_WALL, date=date)
    assert got is None or (isinstance(got, float) and not math.isnan(got) and got >= 0)


@given(
    seconds=st.integers(min_value=0, max_value=10**9),
    wall=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
)
def test_parse_retry_after_dates_round_trip(seconds: int, wall: datetime) -> None:
    assert parse_retry_after(str(seconds), now=wall) == float(seconds)
    later = wall.replace(microsecond=0) + timedelta(seconds=seconds % 100_000)
    assert parse_retry_after(http_date(later), now=wall.replace(microsecond=0)) == float(
        seconds % 100_000
    )


@given(
    method=st.sampled_from(["POST", "PATCH", "CONNECT", "LOCK", "post"]),
    kind=st.sampled_from([*MAY_HAVE_REACHED, 408, 500, 502, 503, 504, 400, 409]),
    headers=st.dictionaries(header_names, header_values, max_size=4),
    max_retries=st.integers(0, 5),
    previous_attempts=st.integers(0, 5),
)
def test_non_idempotent_never_retried_after_may_have_reached(
    method: str,
    kind: str | int,
    headers: dict[str, str],
    max_retries: int,
    previous_attempts: int,
) -> None:
    cfg = make_config(method, headers=headers, max_retries=max_retries)
    state = make_state(cfg)
    for _ in range(min(previous_attempts, max_retries)):  # a few never-sent failures first
        decide(state, network_error("connect refused", cfg), 0.0)
    if isinstance(kind, int):
        error: BaseException = status_error(kind, cfg, headers)
    else:
        error = network_error(kind, cfg)
    step = decide(state, error, 0.0, now_wall=NOW_WALL)
    # not retried, and not a RetryError either: raised as itself
    assert step == Raise(error)


# ---------------------------------------------------------------- the core does no I/O

CORE_MODULES = (
    "_config",
    "_strategies",
    "_retry",
    "_models",
    "_exceptions",
    "_redact",
    "_control",
    "_routes",
    "_instant",
    "_registries",
    "_holding",
    "_urls",
    "_request",
    "_outcomes",
    "_ratelimit",
    "_shaping",
    "_ring",
    "_hedge",
)
FORBIDDEN_MODULES = {"time", "asyncio", "socket", "selectors", "httpcore"}
FORBIDDEN_HTTPX_NAMES = {
    "HTTPTransport",
    "AsyncHTTPTransport",
    "MockTransport",
    "WSGITransport",
    "ASGITransport",
}


def forbidden_uses(source: str) -> list[str]:
    """Imports of I/O modules and uses of concrete httpx transports in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in FORBIDDEN_MODULES or alias.name.startswith("httpx._transports"):
                    found.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            root = node.module.split(".")[0]
            if root in FORBIDDEN_MODULES or node.module.startswith("httpx._transports"):
                found.append(f"from {node.module} import ...")
            elif root == "httpx":
                found.extend(
                    f"from httpx import {a.name}"
                    for a in node.names
                    if a.name in FORBIDDEN_HTTPX_NAMES
                )
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_HTTPX_NAMES:
            found.append(f"httpx.{node.attr}")
    return found


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_no_io(module: str) -> None:
    path = Path(axios_like.__file__).parent / f"{module}.py"
    assert forbidden_uses(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import time",
        "import asyncio.tasks",
        "from socket import create_connection",
        "from time import monotonic as clock",
        "from httpx import HTTPTransport",
        "import httpx\nt = httpx.AsyncHTTPTransport()",
        "from httpx._transports.default import HTTPTransport",
        "def f():\n    import time\n    return time.time()",
    ],
)
def test_the_io_check_catches(source: str) -> None:
    assert forbidden_uses(source) != []


def test_the_io_check_allows_what_the_core_needs() -> None:
    assert (
        forbidden_uses("import math\nimport httpx\nfrom datetime import UTC\nx = httpx.Headers()")
        == []
    )


# ---------------------------------------------------------------- the steps, one by one


def test_classify_says_status_reason_policy_and_health() -> None:
    from axios_like._retry import Classified, classify

    cfg = make_config("POST")
    state = make_state(cfg)
    assert classify(state, status_error(503, cfg)) == Classified(503, "status 503", False, True)
    assert classify(state, status_error(429, cfg)) == Classified(429, "status 429", True, True)
    assert classify(state, status_error(404, cfg)) == Classified(404, "status 404", False, False)
    refused = network_error("connect refused", cfg)
    assert classify(state, refused) == Classified(None, "connect refused", True, True)
    assert classify(state, ValueError("mine")) == Classified(None, "ValueError", False, False)


def test_is_transient_reads_the_status_of_an_error_and_its_own_retry_status() -> None:
    from axios_like._retry import is_transient

    cfg = make_config()
    assert is_transient(status_error(503, cfg)) is True
    assert is_transient(status_error(500, cfg)) is False  # not in the default retry_status
    assert is_transient(status_error(500, make_config(retry_status={500}))) is True
    assert is_transient(network_error("read timeout", cfg)) is True
    assert is_transient(RuntimeError("mine")) is False


def test_admitted_turns_send_into_no_wait_and_a_refusal_of_any_reason_into_its_error() -> None:
    from axios_like._control import SEND, Origin, Refuse, StopReason
    from axios_like._retry import admitted

    cfg = make_config()
    origin = Origin("https", "api.example.com", 443)
    state = make_state(cfg)
    assert admitted(state, SEND, 0.0, last_error=None, origin=origin, config=cfg) == 0.0
    assert repr(SEND) == "SEND"
    # a refusal by a controller of the client's own (api.controllers) on a first attempt
    step = admitted(
        state, Refuse(StopReason.RETRY_BUDGET), 0.0, last_error=None, origin=origin, config=cfg
    )
    assert isinstance(step, Raise)
    assert type(step.error) is axios_like.AxiosLikeError
    assert str(step.error) == "https://api.example.com:443: not sent (retry_budget)"
    assert step.error.config is cfg


def test_admitted_holds_a_call_at_most_max_retry_after_in_total_across_its_waits() -> None:
    from axios_like._control import Origin, StopReason, Wait
    from axios_like._retry import admitted

    cfg = make_config(max_retry_after=10.0)
    origin = Origin("https", "api.example.com", 443)
    state = make_state(cfg)
    first = admitted(
        state, Wait(6.0, "rate limit"), 0.0, last_error=None, origin=origin, config=cfg
    )
    assert first == 6.0
    assert state.held == 6.0
    error = status_error(429, cfg, {"Retry-After": "2"})
    state.attempts = 1
    state.history.append(HistoryEntry(1, 429, error, 2.0, "status 429, Retry-After 2s"))
    # 6 s more would fit max_retry_after alone, not with the 6 s already held.
    step = admitted(
        state, Wait(6.0, "rate limit"), 8.0, last_error=error, origin=origin, config=cfg
    )
    assert isinstance(step, Stop)
    assert step.error.reason is StopReason.RATE_LIMITED
    assert "wait 6s more after 6s held, past max_retry_after=10s in total" in str(step.error)
    assert state.held == 6.0
    # What still fits is let through, and counted.
    again = make_state(cfg)
    waits = [Wait(4.0, "rate limit"), Wait(4.0, "rate limit"), Wait(2.0, "rate limit")]
    got = [admitted(again, w, 0.0, last_error=error, origin=origin, config=cfg) for w in waits]
    assert got == [4.0, 4.0, 2.0]
    assert again.held == 10.0
