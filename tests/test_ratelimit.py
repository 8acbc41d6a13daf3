"""The rate-limit header parser: every form it reads, its precedence, and a fuzz corpus."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axios_like
from axios_like._ratelimit import (
    EPOCH_MS_THRESHOLD,
    EPOCH_THRESHOLD,
    _Fields,
    _parse,
    mentions_rate_limit,
    parse_rate_limit,
)

NOW = 1_700_000_000.0


def test_current_draft_list_with_policy() -> None:
    info = parse_rate_limit(
        {"RateLimit": '"default";r=50;t=30', "RateLimit-Policy": '"default";q=100;w=60'},
        now_wall=NOW,
    )
    assert info == axios_like.RateLimitInfo(50, 30.0, 100, 60.0, "default", None, "ratelimit")


def test_several_policies_the_closest_to_spent_wins() -> None:
    info = parse_rate_limit(
        {
            "RateLimit": '"burst";r=5;t=1, "day";r=0;t=3600',
            "RateLimit-Policy": '"burst";q=10;w=1, "day";q=1000;w=86400',
        },
        now_wall=NOW,
    )
    assert info is not None
    assert (info.remaining, info.reset, info.limit, info.window, info.policy) == (
        0,
        3600.0,
        1000,
        86400.0,
        "day",
    )


def test_token_policy_names_partition_key_and_split_fields() -> None:
    headers = httpx.Headers([("RateLimit", "api;r=3"), ("RateLimit", "other;r=9;t=2;pk=:YWJj:")])
    info = parse_rate_limit(headers, now_wall=NOW)
    assert info is not None
    assert (info.remaining, info.reset, info.policy, info.partition) == (3, None, "api", None)
    only = parse_rate_limit({"ratelimit": '"p";r=0;t=4;pk=:YWJj:'}, now_wall=NOW)
    assert only is not None
    assert only.partition == b"abc".hex()


def test_draft_07_dictionary_form() -> None:
    info = parse_rate_limit({"RateLimit": "limit=100, remaining=0, reset=7"}, now_wall=NOW)
    assert info is not None
    assert (info.remaining, info.reset, info.limit, info.source) == (0, 7.0, 100, "ratelimit")


def test_earlier_drafts_three_fields_and_numeric_policy() -> None:
    info = parse_rate_limit(
        {
            "RateLimit-Limit": "100, 100;w=60",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": "9",
            "RateLimit-Policy": "100;w=60",
        },
        now_wall=NOW,
    )
    assert info == axios_like.RateLimitInfo(0, 9.0, 100, 60.0, None, None, "ratelimit")


@pytest.mark.parametrize(
    ("reset", "expected"),
    [
        ("30", 30.0),  # delta-seconds
        ("0", 0.0),
        (str(int(NOW) + 45), 45.0),  # epoch seconds (GitHub)
        (str(int(NOW * 1000) + 5000), 5.0),  # epoch milliseconds
        (str(int(NOW) - 100), 0.0),  # an epoch in the past: now
        (str(int(EPOCH_THRESHOLD) - 1), EPOCH_THRESHOLD - 1),  # just below: still a delta
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),  # an HTTP-date (NOW is 22:13:20)
    ],
)
def test_legacy_reset_delta_or_epoch(reset: str, expected: float) -> None:
    info = parse_rate_limit(
        {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        now_wall=NOW,
    )
    assert info is not None
    assert (info.remaining, info.limit, info.source) == (0, 60, "x-ratelimit")
    assert info.reset == pytest.approx(expected)


def test_thresholds_are_documented_values() -> None:
    assert (EPOCH_THRESHOLD, EPOCH_MS_THRESHOLD) == (1e9, 1e12)


def test_epoch_reset_without_a_wall_clock_is_unknown() -> None:
    info = parse_rate_limit(
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 5)}, now_wall=None
    )
    assert info is not None
    assert (info.remaining, info.reset) == (0, None)


def test_github_resource_is_the_partition() -> None:
    info = parse_rate_limit(
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "10", "X-RateLimit-Resource": "search"},
        now_wall=NOW,
    )
    assert info is not None
    assert info.partition == "search"


def test_precedence_retry_after_then_ratelimit_then_legacy() -> None:
    both = {
        "RateLimit": '"d";r=0;t=20',
        "X-RateLimit-Remaining": "7",
        "X-RateLimit-Reset": "99",
        "X-RateLimit-Limit": "10",
    }
    info = parse_rate_limit(both, now_wall=NOW, status=200)
    assert info is not None
    # RateLimit's remaining and reset win; the legacy limit fills what RateLimit left out.
    assert (info.remaining, info.reset, info.limit, info.source) == (0, 20.0, 10, "ratelimit")
    after = parse_rate_limit({**both, "Retry-After": "3"}, now_wall=NOW, status=429)
    assert after is not None
    assert (after.remaining, after.reset, after.source) == (
        0,
        3.0,
        "retry-after",
    )


def test_retry_after_counts_only_on_429_and_503() -> None:
    assert parse_rate_limit({"Retry-After": "3"}, now_wall=NOW, status=200) is None
    info = parse_rate_limit({"Retry-After": "3"}, now_wall=NOW, status=429)
    assert info is not None
    assert (info.remaining, info.reset) == (0, 3.0)
    # A 503 with Retry-After alone says "overloaded", not "quota spent".
    assert parse_rate_limit({"Retry-After": "3"}, now_wall=NOW, status=503) is None
    spent = parse_rate_limit(
        {"Retry-After": "3", "RateLimit": '"d";r=0;t=30'}, now_wall=NOW, status=503
    )
    assert spent is not None
    assert (spent.remaining, spent.reset) == (0, 3.0)
    dated = parse_rate_limit(
        {"Retry-After": "Tue, 14 Nov 2023 22:13:30 GMT", "Date": "Tue, 14 Nov 2023 22:13:20 GMT"},
        now_wall=NOW,
        status=429,
    )
    assert dated is not None
    assert dated.reset == 10.0


def test_a_429_marks_the_quota_spent() -> None:
    info = parse_rate_limit({"RateLimit": '"d";r=4;t=8'}, now_wall=NOW, status=429)
    assert info is not None
    assert (info.remaining, info.reset) == (0, 8.0)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "application/json"},
        {"RateLimit": ""},
        {"RateLimit": "garbage;;=="},
        {"RateLimit": '"unterminated;r=1'},
        {"RateLimit": '"d";r=-1;t=5'},
        {"RateLimit": '"d";r=1e400'},
        {"X-RateLimit-Remaining": "many"},
        {"X-RateLimit-Remaining": "nan", "X-RateLimit-Reset": "inf"},
        {"RateLimit-Reset": "-3"},
        {"RateLimit": "x" * 10_000},
    ],
)
def test_unusable_values_are_ignored(headers: dict[str, str]) -> None:
    assert parse_rate_limit(headers, now_wall=NOW) is None


def test_huge_counts_and_odd_mappings_never_raise() -> None:
    assert parse_rate_limit({"X-RateLimit-Remaining": "9" * 5000}, now_wall=NOW) is None
    assert parse_rate_limit({b"x-ratelimit-remaining": b"2"}, now_wall=NOW) == (
        axios_like.RateLimitInfo(2, None, None, None, None, None, "ratelimit")
    )
    assert parse_rate_limit({"X-RateLimit-Reset": "10"}, now_wall=float("nan")) is not None
    assert parse_rate_limit(object(), now_wall=NOW) is None  # not even a mapping


# ---------------------------------------------------------------- fuzz: 0 crashes

NAMES = st.sampled_from(
    [
        "RateLimit",
        "RateLimit-Policy",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Resource",
        "X-Rate-Limit-Reset",
        "Retry-After",
        "Date",
    ]
)
#: Values built from the grammar's own pieces, so the fuzz reaches deep into the parser.
PIECES = st.sampled_from(
    [
        '"default"',
        "default",
        ";r=",
        ";t=",
        ";q=",
        ";w=",
        ";pk=",
        ":YWJj:",
        ":",
        "?1",
        "=",
        ",",
        ";",
        " ",
        '"',
        "\\",
        "-",
        ".",
        "1",
        "0",
        "1e9",
        "1700000000",
        "limit=",
        "remaining=",
        "reset=",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "nan",
        "inf",
        "İ",
        "\x00",
        "\x7f",
    ]
)
VALUES = st.one_of(
    st.text(max_size=80),
    st.lists(PIECES, max_size=16).map("".join),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(NAMES, VALUES), max_size=6),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    st.one_of(st.none(), st.sampled_from([200, 429, 503]), st.integers()),
)
def test_fuzz_never_raises_and_answers_are_sane(
    pairs: list[tuple[str, str]], now_wall: float | None, status: int | None
) -> None:
    for headers in (dict(pairs), pairs_to_httpx(pairs)):
        # The parser proper, without parse_rate_limit's last-resort ``except``: the
        # safety net must never be what keeps a value from crashing.
        if mentions_rate_limit(headers):
            _parse(_Fields(headers), now_wall, status)
        info = parse_rate_limit(headers, now_wall=now_wall, status=status)
        if info is None:
            continue
        assert info.remaining is None or info.remaining >= 0
        assert info.reset is None or info.reset >= 0
        assert info.limit is None or info.limit >= 0
        assert info.source in ("retry-after", "ratelimit", "x-ratelimit")


def pairs_to_httpx(pairs: list[tuple[str, str]]) -> httpx.Headers | dict[str, str]:
    try:
        return httpx.Headers(pairs)
    except (UnicodeEncodeError, ValueError):  # httpx refuses some values: a dict then
        return dict(pairs)


# ---------------------------------------------------------------- structured-field details


def test_an_escaped_quote_in_a_quoted_name_neither_ends_it_nor_splits_at_its_comma() -> None:
    info = parse_rate_limit({"RateLimit": '"a\\"b,c";r=1;t=5, "d";r=2;t=5'}, now_wall=NOW)
    assert info is not None
    assert (info.policy, info.remaining, info.reset) == ('a"b,c', 1, 5.0)


def test_parameters_spaces_flags_booleans_and_their_limit() -> None:
    def read(value: str) -> tuple[int | None, float | None] | None:
        info = parse_rate_limit({"RateLimit": value}, now_wall=NOW)
        return None if info is None else (info.remaining, info.reset)

    assert read('"d"; r=3;  t=4') == (3, 4.0)  # spaces after ';' are skipped
    assert read('"d" ;r=3;t=4') == (3, 4.0)  # and before it
    assert read('"d";r=3;t=4;burst') == (3, 4.0)  # a flag (no value) is read as true
    assert read('"d";r=3;t=4;x=?1;y=?0') == (3, 4.0)  # booleans
    assert read('"d";r=3;t=4;x=?2') is None  # not a boolean: the member is dropped
    assert read('"d";r=3;t=') is None  # a parameter without its value: dropped
    assert read('"d";r=3;t=4 x') is None  # anything but ';' after a parameter: dropped
    assert read('"d";r=3;t=4;=1') is None  # a parameter without a key: dropped
    thirty = "".join(f";p{i}=1" for i in range(30))
    assert read(f'"d";r=3;t=4{thirty}') == (3, 4.0)  # 32 parameters: read
    assert read(f'"d";r=3;t=4{thirty};p30=1') is None  # 33: dropped


def test_a_negative_reset_is_unknown_and_a_string_partition_is_kept() -> None:
    info = parse_rate_limit({"RateLimit": '"d";r=3;t=-5;pk="search"'}, now_wall=NOW)
    assert info == axios_like.RateLimitInfo(3, None, None, None, "d", "search", "ratelimit")
    long = parse_rate_limit({"RateLimit": f'"d";r=0;t=1;pk="{"k" * 80}"'}, now_wall=NOW)
    assert long is not None
    assert long.partition == "k" * 64
    # a byte sequence that is not base64 (bad padding): the member is dropped
    assert parse_rate_limit({"RateLimit": '"d";r=0;t=1;pk=:abc:'}, now_wall=NOW) is None


def test_draft_07_dictionary_without_a_reset() -> None:
    info = parse_rate_limit({"RateLimit": "limit=100, remaining=5"}, now_wall=NOW)
    assert info == axios_like.RateLimitInfo(5, None, 100, None, None, None, "ratelimit")


def test_a_mapping_with_values_that_are_not_text_skips_them() -> None:
    headers = {"X-RateLimit-Remaining": 5, "X-RateLimit-Reset": "10"}
    info = parse_rate_limit(headers, now_wall=NOW)
    assert info == axios_like.RateLimitInfo(None, 10.0, None, None, None, None, "x-ratelimit")


@pytest.mark.parametrize(
    "member",
    [
        '"a\x01b";r=1;t=5',  # a control character in a string
        '"d";r=1;t=5;pk=:YWJj',  # a byte sequence never closed
        '"d";r=1;t=5;pk=%',  # no bare item starts with '%'
        "limit=",  # a dictionary member without its value
    ],
)
def test_a_member_that_does_not_parse_is_dropped_and_the_rest_read(member: str) -> None:
    info = parse_rate_limit({"RateLimit": f'{member}, "ok";r=7;t=9'}, now_wall=NOW)
    assert info is not None
    assert (info.policy, info.remaining, info.reset) == ("ok", 7, 9.0)


def test_policies_that_are_not_named_or_not_numeric_are_passed_over() -> None:
    # current draft: a numeric policy member has no name to match a RateLimit member by
    info = parse_rate_limit(
        {"RateLimit": '"d";r=1;t=2', "RateLimit-Policy": '100;w=60, "d";q=10;w=30'},
        now_wall=NOW,
    )
    assert info is not None
    assert (info.limit, info.window) == (10, 30.0)
    # earlier drafts: a lone named policy is the quota; beside a numeric one, the
    # numeric form says it (the named one is not matched to anything)
    named = parse_rate_limit(
        {"RateLimit-Remaining": "5", "RateLimit-Policy": '"d";q=10;w=30'}, now_wall=NOW
    )
    assert named == axios_like.RateLimitInfo(5, None, 10, 30.0, "d", None, "ratelimit")
    both = parse_rate_limit(
        {"RateLimit-Remaining": "5", "RateLimit-Policy": '"d";q=10, 100;w=60'}, now_wall=NOW
    )
    assert both is not None
    assert (both.limit, both.window) == (100, 60.0)


def test_a_429_naming_one_policy_but_no_ratelimit_field_spends_that_quota() -> None:
    # The server advertises its quota and answers a 429 with Retry-After only: the
    # gate learns the quota (so it releases held calls a quota per window), not only
    # the reset.
    lone = {"Retry-After": "5", "RateLimit-Policy": '"default";q=100;w=60'}
    info = parse_rate_limit(lone, now_wall=NOW, status=429)
    assert info == axios_like.RateLimitInfo(0, 5.0, 100, 60.0, "default", None, "retry-after")
    # a 200 that names the policy alone says nothing of what is left: nothing to gate
    assert parse_rate_limit({"RateLimit-Policy": '"default";q=100;w=60'}, now_wall=NOW) is None
    # two policies and no RateLimit field: which one was spent is not said
    two = {"Retry-After": "5", "RateLimit-Policy": '"burst";q=10;w=1, "day";q=1000;w=86400'}
    info = parse_rate_limit(two, now_wall=NOW, status=429)
    assert info == axios_like.RateLimitInfo(0, 5.0, None, None, None, None, "retry-after")


@pytest.mark.parametrize("wall", [None, float("nan"), 1e20])
def test_retry_after_seconds_need_no_usable_wall_clock(wall: float | None) -> None:
    info = parse_rate_limit({"Retry-After": "5"}, now_wall=wall, status=429)
    assert info == axios_like.RateLimitInfo(0, 5.0, None, None, None, None, "retry-after")
    # a date needs one
    date = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    assert parse_rate_limit(date, now_wall=wall, status=429) is None
