"""What a response says about the origin's quota: one pure parser that never raises.

Rules of this module:

1. :func:`parse_rate_limit` is the only reader of rate-limit headers. It is
   pure (no clock: ``now_wall`` is handed in) and never raises, whatever the
   header values are: a value it cannot read is ignored, as if absent.
2. Precedence: ``Retry-After`` > ``RateLimit`` (the IETF httpapi draft, in
   its current and its earlier forms) > legacy ``X-RateLimit-*``. Each fact
   (remaining, reset, limit, window) is taken from the first family that
   states it, so a server that sends ``RateLimit-Remaining`` and
   ``X-RateLimit-Reset`` still gives a full answer.
3. Reset values of the legacy family (and of ``RateLimit-Reset``, which some
   servers fill with a timestamp too) are told apart by size: a value of at
   least ``10**12`` is epoch *milliseconds*, at least ``10**9`` is epoch
   *seconds* (10**9 seconds are 31.7 years, longer than any quota window, and
   every epoch second since September 2001 is above it), anything smaller is
   delta-seconds. Epoch values are turned into seconds from ``now_wall``; a
   reset in the past is 0. An HTTP-date is accepted too.

The forms read (``r``/``t`` and ``q``/``w`` are the draft's parameters)::

    RateLimit: "default";r=50;t=30            # current draft (a structured-field List)
    RateLimit-Policy: "default";q=100;w=60
    RateLimit: limit=100, remaining=50, reset=30   # draft -07 (a Dictionary)
    RateLimit-Limit: 100 / RateLimit-Remaining: 50 / RateLimit-Reset: 30   # drafts -00..-06
    RateLimit-Policy: 100;w=60                # drafts -03..-06
    X-RateLimit-Limit / X-RateLimit-Remaining / X-RateLimit-Reset   # GitHub, Stripe-style
    X-RateLimit-Resource: search              # GitHub's name of the quota (the partition)
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from ._retry import RETRY_AFTER_STATUS, parse_retry_after

__all__ = [
    "EPOCH_MS_THRESHOLD",
    "EPOCH_THRESHOLD",
    "RateLimitInfo",
    "mentions_rate_limit",
    "parse_rate_limit",
]

#: A reset value at least this large is epoch seconds, not delta-seconds (rule 3).
EPOCH_THRESHOLD: Final = 1e9
#: A reset value at least this large is epoch milliseconds (rule 3).
EPOCH_MS_THRESHOLD: Final = 1e12
#: Longer header values are not parsed (a real one is a few dozen characters).
_MAX_VALUE: Final = 4096
#: At most this many list members are read from one field.
_MAX_MEMBERS: Final = 32


class RateLimitInfo(NamedTuple):
    """What one response said about the origin's quota (immutable).

    >>> info = parse_rate_limit({"RateLimit": '"default";r=0;t=30'}, now_wall=0.0)
    >>> info.remaining, info.reset, info.policy, info.source
    (0, 30.0, 'default', 'ratelimit')
    """

    #: Requests left in the current window; ``None`` when not said.
    remaining: int | None
    #: Seconds from the response until the quota is restored; ``None`` when not said.
    reset: float | None
    #: The quota of a window (``q``, ``RateLimit-Limit``, ``X-RateLimit-Limit``).
    limit: int | None
    #: The window's length in seconds (``w``), when the policy says it.
    window: float | None
    #: The name of the policy the numbers belong to (``"default"``), if any.
    policy: str | None
    #: The quota partition (the draft's ``pk``, GitHub's ``X-RateLimit-Resource``).
    partition: str | None
    #: Which family set ``reset``: ``"retry-after"``, ``"ratelimit"`` or ``"x-ratelimit"``.
    source: str


def parse_rate_limit(
    headers: Mapping[str, str] | Any,
    *,
    now_wall: float | None,
    status: int | None = None,
) -> RateLimitInfo | None:
    """The quota a response's headers describe, or ``None`` when they say nothing usable.

    ``headers`` is an ``httpx.Headers`` or any mapping (names compared without
    case); ``now_wall`` is the wall clock in epoch seconds (for epoch resets and
    dates); ``status`` the response's status: ``Retry-After`` counts only on a
    429 or 503 (or when no status is given), and a 429 means the quota is spent.
    Never raises.

    >>> parse_rate_limit({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000060"},
    ...                  now_wall=1700000000.0).reset
    60.0
    >>> parse_rate_limit({"Retry-After": "5", "RateLimit": '"d";r=3;t=9'},
    ...                  now_wall=0.0, status=429)[:2]
    (0, 5.0)
    >>> parse_rate_limit({"RateLimit": "garbage;;=="}, now_wall=0.0) is None
    True
    """
    try:
        if not mentions_rate_limit(headers):
            return None
        return _parse(_Fields(headers), now_wall, status)
    except Exception:  # rule 1: a header can never crash a call (belt and braces)
        return None


def mentions_rate_limit(headers: Mapping[str, str] | Any) -> bool:
    """Does any header name mention a rate limit or ``Retry-After``? (The cheap first look:
    most responses carry neither, and then nothing else is read.)"""
    if hasattr(headers, "raw"):  # httpx.Headers: the names as sent, as bytes
        # One join and one lower() for all names: a third cheaper than a loop over them.
        names = b"\n".join([name for name, _ in headers.raw]).lower()
        return b"rate" in names or b"retry-after" in names
    for name in headers:
        lowered = name.lower() if isinstance(name, str | bytes) else ""
        if isinstance(lowered, bytes):
            lowered = lowered.decode("latin-1")
        if "rate" in lowered or lowered == "retry-after":
            return True
    return False


class _Fields:
    """Case-insensitive, multi-valued access to headers of any mapping type."""

    __slots__ = ("values",)

    def __init__(self, headers: Any) -> None:
        values: dict[str, list[str]] = {}
        items = headers.multi_items() if hasattr(headers, "multi_items") else headers.items()
        for name, value in items:
            if isinstance(name, bytes):
                name = name.decode("latin-1")
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if isinstance(name, str) and isinstance(value, str):
                values.setdefault(name.lower(), []).append(value)
        self.values = values

    def get(self, name: str) -> str | None:
        found = self.values.get(name)
        if not found:
            return None
        joined = ", ".join(found)
        return joined if len(joined) <= _MAX_VALUE else None

    def first(self, *names: str) -> str | None:
        for name in names:
            value = self.get(name)
            if value is not None:
                return value
        return None


class _Facts:
    __slots__ = ("limit", "partition", "policy", "remaining", "reset", "source", "window")

    def __init__(self) -> None:
        self.remaining: int | None = None
        self.reset: float | None = None
        self.limit: int | None = None
        self.window: float | None = None
        self.policy: str | None = None
        self.partition: str | None = None
        self.source = ""


def _parse(fields: _Fields, now_wall: float | None, status: int | None) -> RateLimitInfo | None:
    facts = _Facts()
    _current_draft(fields, facts)
    _earlier_drafts(fields, facts, now_wall)
    _legacy(fields, facts, now_wall)
    after = (
        _retry_after(fields, now_wall) if status is None or status in RETRY_AFTER_STATUS else None
    )
    if after is not None and (status is None or status == 429 or facts.remaining == 0):
        facts.reset, facts.remaining, facts.source = after, 0, "retry-after"
    elif status == 429 and facts.reset is not None:
        facts.remaining = 0  # the server refused: whatever a counter said, it is spent
    if facts.remaining is None and facts.reset is None:
        return None
    return RateLimitInfo(
        facts.remaining,
        facts.reset,
        facts.limit,
        facts.window,
        facts.policy,
        facts.partition,
        facts.source or "ratelimit",
    )


# ---------------------------------------------------------------- the families


def _current_draft(fields: _Fields, facts: _Facts) -> None:
    """``RateLimit: "name";r=..;t=..`` (a List) or ``limit=.., remaining=..`` (a Dictionary)."""
    value = fields.get("ratelimit")
    policies: dict[str, tuple[int | None, float | None]] = {}
    policy_value = fields.get("ratelimit-policy")
    listed = [] if policy_value is None else _sf_list(policy_value)
    for name, params in listed:
        if isinstance(name, str):
            policies[name] = (_count(params.get("q")), _seconds(params.get("w")))
    if value is None:
        # A policy alone (a 429 with Retry-After, say): its quota is the one spent
        # when it is the only one named; with several, which one is not said.
        if len(listed) == 1 and policies:
            ((facts.policy, (facts.limit, facts.window)),) = policies.items()
        return
    candidates: list[tuple[int, float, str | None, dict[str, object]]] = []
    dictionary: dict[str, object] = {}
    for name, params in _sf_list(value):
        if isinstance(name, _DictMember):
            dictionary[name.key] = name.value
            continue
        remaining = _count(params.get("r"))
        if remaining is not None:
            reset = _seconds(params.get("t"))
            candidates.append(
                (remaining, reset or 0.0, name if isinstance(name, str) else None, params)
            )
    if candidates:  # the policy closest to being spent: fewest left, then the longest reset
        remaining, _, name, params = min(candidates, key=lambda c: (c[0], -c[1]))
        facts.remaining = remaining
        facts.reset = _seconds(params.get("t"))
        facts.policy = name
        facts.partition = _partition(params.get("pk"))
        if name is not None and name in policies:
            facts.limit, facts.window = policies[name]
        if facts.reset is not None:
            facts.source = "ratelimit"
        return
    if dictionary:  # draft -07
        facts.remaining = _count(dictionary.get("remaining"))
        facts.limit = _count(dictionary.get("limit"))
        facts.reset = _seconds(dictionary.get("reset"))
        if facts.reset is not None:
            facts.source = "ratelimit"


def _earlier_drafts(fields: _Fields, facts: _Facts, now_wall: float | None) -> None:
    """``RateLimit-Limit/Remaining/Reset`` and ``RateLimit-Policy: 100;w=60`` (drafts -00..-06)."""
    if facts.remaining is None:
        facts.remaining = _count(_first_number(fields.get("ratelimit-remaining")))
    if facts.reset is None:
        reset = _reset(fields.get("ratelimit-reset"), now_wall)
        if reset is not None:
            facts.reset, facts.source = reset, "ratelimit"
    if facts.limit is None:
        facts.limit = _count(_first_number(fields.get("ratelimit-limit")))
    if facts.window is None or facts.limit is None:
        policy = fields.get("ratelimit-policy")
        if policy is not None:
            for item, params in _sf_list(policy):
                if isinstance(item, float):  # "100;w=60": the old numeric form
                    facts.limit = facts.limit if facts.limit is not None else _count(item)
                    facts.window = facts.window or _seconds(params.get("w"))
                    break


def _legacy(fields: _Fields, facts: _Facts, now_wall: float | None) -> None:
    """``X-RateLimit-*`` (and ``X-Rate-Limit-*``), with GitHub's ``X-RateLimit-Resource``."""
    if facts.remaining is None:
        raw = fields.first("x-ratelimit-remaining", "x-rate-limit-remaining")
        facts.remaining = _count(_first_number(raw))
    if facts.reset is None:
        reset = _reset(fields.first("x-ratelimit-reset", "x-rate-limit-reset"), now_wall)
        if reset is not None:
            facts.reset, facts.source = reset, "x-ratelimit"
    if facts.limit is None:
        raw = fields.first("x-ratelimit-limit", "x-rate-limit-limit")
        facts.limit = _count(_first_number(raw))
    if facts.partition is None:
        resource = fields.get("x-ratelimit-resource")
        if resource is not None and _TOKEN_VALUE.fullmatch(resource.strip()):
            facts.partition = resource.strip()


def _retry_after(fields: _Fields, now_wall: float | None) -> float | None:
    value = fields.get("retry-after")
    if value is None:
        return None
    now = _wall(now_wall)
    after = parse_retry_after(value, now=now, date=fields.get("date")) if now else None
    if after is None and now is None and _NUMBER.fullmatch(value.strip()):
        after = parse_retry_after(value, now=datetime(1970, 1, 1, tzinfo=UTC))
    return after if after is not None and math.isfinite(after) else None


# ---------------------------------------------------------------- values


_NUMBER: Final = re.compile(r"[+]?\d{1,20}(?:\.\d{1,9})?")
_TOKEN_VALUE: Final = re.compile(r"[A-Za-z0-9_.:/*+\-]{1,64}")


def _wall(now_wall: float | None) -> datetime | None:
    if now_wall is None or not math.isfinite(now_wall):
        return None
    try:
        return datetime.fromtimestamp(now_wall, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _first_number(value: str | None) -> float | None:
    """The leading number of ``"100"``, ``"100, 100;w=60"`` (draft -03 lists), else ``None``."""
    if value is None:
        return None
    head = value.split(",", 1)[0].split(";", 1)[0].strip()
    return float(head) if _NUMBER.fullmatch(head) else None


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0 or value > 1e15:
        return None
    return int(value)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0 or value > 1e15:
        return None
    return float(value)


def _reset(value: str | None, now_wall: float | None) -> float | None:
    """A reset in delta-seconds, epoch seconds or ms (rule 3), or an HTTP-date."""
    if value is None:
        return None
    text = value.split(",", 1)[0].strip()
    if _NUMBER.fullmatch(text):
        number = float(text)
        if number >= EPOCH_THRESHOLD:
            if now_wall is None or not math.isfinite(now_wall):
                return None
            epoch = number / 1000.0 if number >= EPOCH_MS_THRESHOLD else number
            return max(0.0, epoch - now_wall)
        return number
    now = _wall(now_wall)
    if now is None or not text[:1].isalpha():
        return None
    return parse_retry_after(value, now=now)


def _partition(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.hex() if value else None
    if isinstance(value, str) and value:
        return value[:64]
    return None


# ---------------------------------------------------------------- structured fields (RFC 8941)


class _DictMember(NamedTuple):
    """A ``key=value`` member (the draft -07 Dictionary form)."""

    key: str
    value: object


_KEY: Final = re.compile(r"[A-Za-z*][A-Za-z0-9_\-.*]{0,63}")
_TOKEN: Final = re.compile(r"[A-Za-z*][A-Za-z0-9_\-.:%*/!#$&'+^`|~]{0,255}")
_SF_NUMBER: Final = re.compile(r"-?\d{1,15}(?:\.\d{1,3})?")
_BYTES: Final = re.compile(r":([A-Za-z0-9+/=]{0,1024}):")

Bare = str | float | bytes | bool | None


def _sf_list(text: str) -> list[tuple[Bare | _DictMember, dict[str, object]]]:
    """The members of a List (or Dictionary) field; a member that does not parse is skipped."""
    out: list[tuple[Bare | _DictMember, dict[str, object]]] = []
    for member in _split_members(text)[:_MAX_MEMBERS]:
        parsed = _member(member.strip())
        if parsed is not None:
            out.append(parsed)
    return out


def _split_members(text: str) -> list[str]:
    """Split at top-level commas (not inside a quoted string)."""
    members, start, quoted, escaped = [], 0, False, False
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == ",":
            members.append(text[start:i])
            start = i + 1
    members.append(text[start:])
    return members


def _member(text: str) -> tuple[Bare | _DictMember, dict[str, object]] | None:
    key = _KEY.match(text)
    if key is not None and text[key.end() : key.end() + 1] == "=":  # key=value (Dictionary)
        value, end = _bare(text, key.end() + 1)
        if end < 0:
            return None
        params = _params(text, end)
        return (
            (_DictMember(key.group().lower(), value), params or {}) if params is not None else None
        )
    value, end = _bare(text, 0)
    if end < 0:
        return None
    params = _params(text, end)
    return (value, params) if params is not None else None


def _bare(text: str, at: int) -> tuple[Bare, int]:
    """A bare item at ``at`` and the index after it; index -1 when there is none."""
    if at >= len(text):
        return None, -1
    ch = text[at]
    if ch == '"':
        chars: list[str] = []
        i = at + 1
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
                chars.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                return "".join(chars), i + 1
            if not " " <= c <= "~":
                return None, -1
            chars.append(c)
            i += 1
        return None, -1
    if ch == ":":
        found = _BYTES.match(text, at)
        if found is None:
            return None, -1
        try:
            return base64.b64decode(found.group(1), validate=False), found.end()
        except (ValueError, binascii.Error):
            return None, -1
    if ch == "?":
        if text[at + 1 : at + 2] in ("0", "1"):
            return text[at + 1] == "1", at + 2
        return None, -1
    number = _SF_NUMBER.match(text, at)
    if number is not None:
        return float(number.group()), number.end()
    token = _TOKEN.match(text, at)
    if token is not None:
        return token.group(), token.end()
    return None, -1


def _params(text: str, at: int) -> dict[str, object] | None:
    """``;key=value;flag`` from ``at`` to the end; ``None`` when anything else follows."""
    params: dict[str, object] = {}
    i = at
    while i < len(text):
        while i < len(text) and text[i] == " ":
            i += 1
        if text[i : i + 1] != ";":  # (members come stripped: spaces are never last)
            return None
        i += 1
        while i < len(text) and text[i] == " ":
            i += 1
        key = _KEY.match(text, i)
        if key is None:
            return None
        i = key.end()
        if text[i : i + 1] == "=":
            value, end = _bare(text, i + 1)
            if end < 0:
                return None
            params[key.group().lower()] = value
            i = end
        else:
            params[key.group().lower()] = True
        if len(params) > _MAX_MEMBERS:
            return None
    return params
