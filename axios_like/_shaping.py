"""Traffic shaping controllers: the rate-limit gate and the adaptive rate limiter.

Both are attempt controllers (``_control``): shared by the calls of a client,
keyed by origin, asked before every send and told every verdict. Rules:

1. No I/O, no clock, no sleeping: ``now`` (monotonic) and ``verdict.wall``
   (epoch seconds) are handed in; an attempt that must wait gets a ``Wait``
   and the shell sleeps it (within ``deadline`` and ``max_retry_after``, else
   ``admitted()`` in ``_retry`` turns it into ``RateLimitedError``).
2. Answers are reservations: a ``Wait`` is a promise of a slot (the gate) or a
   token (the limiter), so waiters are released in the order they asked; an
   attempt that is then refused gives its reservation back in ``record``.
3. A short lock guards each controller's state (threads share a sync client);
   nothing is done under it but arithmetic. Header parsing happens outside.
4. State is bounded: at most ``max_origins`` origins (the oldest is dropped).

The pure parts are functions: :func:`release_time` (where the gate puts its
k-th waiter) and :func:`cubic_success` / :func:`cubic_throttle` (the rate curve).
"""

from __future__ import annotations

import random
import threading
from typing import Final

from ._control import SEND, Admission, AttemptKind, Origin, Step, Ticket, Verdict, Wait
from ._ratelimit import RateLimitInfo, parse_rate_limit

__all__ = [
    "AdaptiveRateLimit",
    "RateLimitGate",
    "cubic_success",
    "cubic_throttle",
    "cubic_window",
    "release_time",
]

#: Slots per ``spread`` when the origin did not say its quota: they set the order
#: the waiters wake in, not how many may wake (see :func:`release_time`).
UNKNOWN_CAPACITY: Final = 64
#: Responses whose reset differs by less than this many seconds describe the same
#: window (``t`` is whole seconds, so two answers of one window differ by up to 1 s).
SAME_WINDOW: Final = 1.0
#: Answers without a quota header after which an origin's attempts are no longer
#: counted (until it names a quota): most origins never send one.
QUIET_AFTER: Final = 16
#: Path segments remembered per origin (which partition a path belongs to).
MAX_ROUTES: Final = 256
#: When the origin named no quota, held calls are let out in the order they came,
#: this many times faster than they came (see :meth:`_Bucket.take`).
CATCH_UP: Final = 1.2


def release_time(
    reset_at: float,
    k: int,
    *,
    limit: int | None,
    window: float | None,
    spread: float,
    u: float,
) -> float:
    """When the gate releases its ``k``-th waiter (0-based) of a spent quota (pure).

    The waiters of one window are spread over ``spread`` seconds after
    ``reset_at``. When the origin said its quota, ``limit`` of them per window:
    later ones go to the next windows. Without a ``limit`` no window is
    throttled into rounds: the waiters take :data:`UNKNOWN_CAPACITY` slots of one
    ``spread`` in turn (``k`` and ``k + 64`` wake in the same slot). (The gate
    itself lets the waiters of an origin that named no quota out in a line
    instead, paced by when they came: ``_Bucket.take``.) ``u`` in ``[0, 1)`` is the
    jitter: each waiter lands somewhere in its own slot, so within a window the
    times increase with ``k`` whatever ``u`` is.

    >>> release_time(10.0, 0, limit=4, window=60.0, spread=0.2, u=0.0)
    10.0
    >>> release_time(10.0, 5, limit=4, window=60.0, spread=0.2, u=0.0)
    70.05
    >>> release_time(10.0, 6400, limit=None, window=None, spread=0.2, u=0.5)
    10.0015625
    """
    if not limit:
        return reset_at + (k % UNKNOWN_CAPACITY + u) * spread / UNKNOWN_CAPACITY
    period = window if window else spread
    rounds, slot = divmod(k, limit)
    return reset_at + rounds * max(period, spread) + (slot + u) * spread / limit


class _Bucket:
    """One origin's (one partition's) quota, as the gate believes it."""

    __slots__ = (
        "inflight",
        "last_came",
        "last_out",
        "limit",
        "queued",
        "remaining",
        "reset_at",
        "window",
    )

    def __init__(self) -> None:
        #: Requests the origin will still accept in this window (``None``: unknown).
        self.remaining: int | None = None
        #: Monotonic time the window ends (``None``: unknown).
        self.reset_at: float | None = None
        self.limit: int | None = None
        self.window: float | None = None
        #: Attempts admitted (sent, or promised a slot) and not answered yet: the
        #: server has not counted them in what it says.
        self.inflight = 0
        #: Waiters promised a slot after ``reset_at``.
        self.queued = 0
        #: No quota named: when the last waiter was promised to go out (``None``: no
        #: waiter out of turn), and when it came.
        self.last_out: float | None = None
        self.last_came = 0.0

    def refill(self, now: float) -> None:
        """The window ended: what the waiters promised to the next one leave of it."""
        for _ in range(1000):  # bounded: a window is never shorter than a millisecond here
            if self.reset_at is None or now < self.reset_at:
                return
            if self.limit is not None:
                used = min(self.queued, self.limit)
                self.queued -= used
                self.remaining = self.limit - used
            else:
                self.queued = 0
                self.remaining = None
            if self.window is not None and self.window >= 0.001:
                self.reset_at += self.window
            else:
                self.reset_at = None
        self.reset_at = None

    def take(self, now: float, spread: float, u: float, covered: float = 0.0) -> float:
        """Reserve a send: 0.0 to send now, else the seconds to wait for a slot.

        ``covered``: the time until which the call waits anyway (its own retry wait,
        skipped under ``instant_retries()``): a reset before then holds it no longer.
        """
        if covered > now and self.reset_at is not None and self.reset_at <= covered:
            self.inflight += 1
            return 0.0
        if self.reset_at is not None and now >= self.reset_at:
            self.refill(now)
        if self.limit is None:
            return self._take_unknown(now, spread, u, covered)
        remaining = self.remaining
        if remaining is None or remaining > 0 or self.reset_at is None:
            if remaining is not None and remaining > 0:
                self.remaining = remaining - 1
            self.inflight += 1
            return 0.0
        k = self.queued
        self.queued += 1
        self.inflight += 1  # the server will not have counted it in what it says meanwhile
        at = release_time(
            self.reset_at, k, limit=self.limit, window=self.window, spread=spread, u=u
        )
        return max(0.0, at - max(now, covered))

    def _take_unknown(self, now: float, spread: float, u: float, covered: float) -> float:
        """``take`` when the origin named no quota (a bare 429 with ``Retry-After``).

        Nothing says how many the origin accepts after the reset, nor fewer than
        it was sent, so the waiters are not throttled into rounds: they go out
        in the order they came, :data:`CATCH_UP` times faster than they came
        (their gaps shrunk), the first at the reset. A call that comes while
        they are still going out queues behind them, so the line ends (catches
        up with the clock) instead of a burst; each call is held at most about
        as long as the origin asked. ``u`` jitters each within ``spread`` and
        its own gap, so they keep their order.
        """
        self.inflight += 1
        if covered:  # a retry that waited its own delay (Retry-After, or its backoff)
            return 0.0
        remaining, reset_at, last = self.remaining, self.reset_at, self.last_out
        spent = remaining is not None and remaining <= 0 and reset_at is not None
        gap = (now - self.last_came) / CATCH_UP
        turn = None if last is None or last <= now else last + gap  # (an empty line: None)
        at = max(reset_at if spent and reset_at is not None else now, turn or now)
        if at <= max(now, covered):
            if remaining is not None and remaining > 0:
                self.remaining = remaining - 1
            self.last_out, self.queued = None, 0
            return 0.0
        self.queued += 1
        self.last_out, self.last_came = at, now
        return at + u * min(spread, gap) - max(now, covered)

    def learn(self, info: RateLimitInfo, now: float) -> None:
        """Take in what a response said (rule: the newest window wins; within one, the lowest)."""
        if info.limit is not None:
            self.limit = info.limit
        if info.window is not None:
            self.window = info.window
        if info.remaining is None:
            return
        reset_at = None if info.reset is None else now + info.reset
        estimate = max(0, info.remaining - self.inflight)
        if reset_at is None or self.reset_at is None:
            if reset_at is not None or self.reset_at is None:
                self.remaining, self.reset_at = estimate, reset_at
            else:
                self.remaining = (
                    estimate if self.remaining is None else min(self.remaining, estimate)
                )
        elif reset_at > self.reset_at + SAME_WINDOW:  # a newer window
            self.remaining, self.reset_at = estimate, reset_at
        elif reset_at >= self.reset_at - SAME_WINDOW:  # the same window
            current = self.remaining
            self.remaining = estimate if current is None else min(current, estimate)
            self.reset_at = max(self.reset_at, reset_at)
        # else: an answer from a window already over (it arrived late): ignored


class _Origin:
    __slots__ = ("adopted", "adopter", "partitions", "pending", "quiet", "routes")

    def __init__(self) -> None:
        self.partitions: dict[str | None, _Bucket] = {}
        #: First path segment -> the partition its responses named.
        self.routes: dict[str, str | None] = {}
        #: Attempts out that no bucket counted (sent before any quota was known) ...
        self.pending = 0
        #: ... how many of them the first bucket took in as in flight, and that bucket.
        self.adopted = 0
        self.adopter: _Bucket | None = None
        #: Answers without any quota header in a row, while no quota is known; past
        #: :data:`QUIET_AFTER` the origin is taken as one that sends none (the fast path).
        self.quiet = 0

    def settle_pending(self) -> None:
        """One attempt sent without a bucket was answered."""
        self.pending = max(0, self.pending - 1)
        if self.adopted > 0 and self.adopter is not None:
            self.adopted -= 1
            self.adopter.inflight = max(0, self.adopter.inflight - 1)

    def bucket_for(self, ticket: Ticket) -> _Bucket | None:
        partitions = self.partitions
        if len(partitions) == 1:
            return next(iter(partitions.values()))
        return partitions.get(self.routes.get(_segment(ticket), None))


class _Note:
    """What the gate remembers about one attempt between its admit and its record."""

    __slots__ = ("bucket", "queued")

    def __init__(self, bucket: _Bucket | None, queued: bool) -> None:
        self.bucket = bucket
        #: Promised a slot after the reset (not sent at once).
        self.queued = queued


def _segment(ticket: Ticket) -> str:
    """The first path segment of the attempt's URL (``/search/code`` -> ``search``)."""
    url = str(ticket.config.get("url", ""))
    if "//" in url:
        url = url.split("//", 1)[1]
        url = url[url.find("/") :] if "/" in url else "/"
    elif not url.startswith("/"):
        base = str(ticket.config.get("base_url") or "")
        base_path = base.split("//", 1)[1] if "//" in base else base
        base_path = base_path[base_path.find("/") :] if "/" in base_path else ""
        url = base_path.rstrip("/") + "/" + url
    return url.lstrip("/").split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]


class RateLimitGate:
    """Holds new calls to an origin whose quota is spent, until its reset.

    It reads the quota each response announces (``RateLimit`` /
    ``RateLimit-Policy``, ``RateLimit-*``, ``X-RateLimit-*``; a 429's
    ``Retry-After`` first: see :func:`axios_like.parse_rate_limit`) and counts
    the attempts it lets out meanwhile, so concurrent calls do not overrun it.
    While the quota is spent, each new attempt to the origin (per partition
    where the origin names one) gets a ``Wait`` until the reset: waiters are
    released in the order they came, spread over ``spread`` seconds (at most
    the announced quota per window), so they do not all wake at once. After a
    429 that names no quota (``Retry-After`` alone) they go out in the order
    they came, :data:`CATCH_UP` times faster than they came, and new calls
    queue behind them until the line catches up: no burst, no long queue. A
    retry that waited what its own answer asked is not held again. A wait
    that would pass the call's ``deadline`` or ``max_retry_after`` (all its
    waits counted) raises
    :class:`~axios_like.RateLimitedError` instead (``RetryError`` with reason
    ``"rate_limited"`` for a retry). An origin that sends no such headers is
    never held.

    Every client has one by default (config key ``rate_limit_gate``); pass
    ``rate_limit_gate=None`` to turn it off, or share one instance between
    clients to share what they learn.

    Example::

        gate = axios_like.RateLimitGate(spread=0.5)
        api = axios_like.create(base_url="https://api.example.com", rate_limit_gate=gate)
        other = axios_like.create(base_url="https://api.example.com", rate_limit_gate=gate)
    """

    def __init__(
        self,
        *,
        spread: float = 0.2,
        max_origins: int = 1024,
        rng: random.Random | None = None,
    ) -> None:
        if not spread >= 0:
            raise ValueError(f"spread must be >= 0 seconds; got {spread!r}")
        self.spread = float(spread)
        self.max_origins = max_origins
        self._random = (rng or random.Random()).random
        self._lock = threading.Lock()
        self._origins: dict[Origin, _Origin] = {}

    def __repr__(self) -> str:
        return f"RateLimitGate(spread={self.spread!r})"

    def admit(self, ticket: Ticket, now: float) -> Admission:
        """``SEND`` unless the origin's quota is spent: then a ``Wait`` for a slot."""
        known = self._origins.get(ticket.origin)
        if known is not None and known.quiet >= QUIET_AFTER:  # the fast path: no lock
            return SEND
        call = ticket.call
        # The call's own retry wait counts as passed (rule 1 of _retry: under
        # instant_retries() it was skipped, not slept).
        covered = call.get(self, 0.0) if ticket.kind is AttemptKind.RETRY else 0.0
        with self._lock:
            known = self._origins.get(ticket.origin)
            if known is None:
                known = self._remember(ticket.origin)
            bucket = known.bucket_for(ticket)
            if bucket is None:  # no quota known: send, but count it (the first answer's
                known.pending += 1  # remaining does not include it)
                call[(self, ticket.attempt)] = _Note(None, queued=False)
                return SEND
            seconds = bucket.take(now, self.spread, self._random(), covered)
            call[(self, ticket.attempt)] = _Note(bucket, queued=seconds > 0.0)
        return SEND if seconds == 0.0 else Wait(seconds, "rate limit")

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        """Learn the quota from the response's headers; release the attempt's reservation."""
        call = ticket.call
        note = call.pop((self, ticket.attempt), None)
        if verdict.step is Step.RETRY and verdict.delay:
            call[self] = now + verdict.delay
        if note is not None:
            with self._lock:
                bucket = note.bucket
                if bucket is None:
                    known = self._origins.get(ticket.origin)
                    if known is not None:
                        known.settle_pending()
                else:
                    bucket.inflight = max(0, bucket.inflight - 1)
                    if verdict.step is Step.REFUSED and note.queued:
                        bucket.queued = max(0, bucket.queued - 1)
        headers = verdict.headers
        info = (
            None
            if headers is None
            else parse_rate_limit(headers, now_wall=verdict.wall, status=verdict.status)
        )
        if info is None:
            if note is not None and note.bucket is None and verdict.status is not None:
                with self._lock:
                    known = self._origins.get(ticket.origin)
                    if known is not None and not known.partitions:
                        known.quiet += 1
            return
        with self._lock:
            known = self._origins.get(ticket.origin)
            if known is None:
                known = self._remember(ticket.origin)
            known.quiet = 0
            bucket = known.partitions.get(info.partition)
            if bucket is None:
                bucket = known.partitions[info.partition] = _Bucket()
                if known.adopter is None and known.pending:
                    # The attempts still out were sent uncounted: this quota counts them.
                    bucket.inflight += known.pending
                    known.adopter, known.adopted = bucket, known.pending
            if (info.partition is not None or len(known.partitions) > 1) and len(
                known.routes
            ) < MAX_ROUTES:
                known.routes[_segment(ticket)] = info.partition
            if bucket.reset_at is not None and now >= bucket.reset_at:
                bucket.refill(now)  # first the window that ended (its waiters are owed slots)
            bucket.learn(info, now)

    def _remember(self, origin: Origin) -> _Origin:
        """A new origin's state (under the lock); the oldest is dropped past ``max_origins``."""
        if len(self._origins) >= self.max_origins:
            self._origins.pop(next(iter(self._origins)))
        known = self._origins[origin] = _Origin()
        return known

    def snapshot(self, origin: Origin) -> dict[str | None, tuple[int | None, float | None]]:
        """What the gate believes of ``origin``: partition -> (remaining, reset_at)."""
        with self._lock:
            known = self._origins.get(origin)
            if known is None:
                return {}
            return {name: (b.remaining, b.reset_at) for name, b in known.partitions.items()}


# ---------------------------------------------------------------- adaptive rate limiting


def cubic_window(last_max_rate: float, *, beta: float, scale: float) -> float:
    """Seconds the cubic curve takes to climb back to ``last_max_rate`` after a throttle."""
    return float((max(last_max_rate, 0.0) * (1.0 - beta) / scale) ** (1.0 / 3.0))


def cubic_success(elapsed: float, last_max_rate: float, *, beta: float, scale: float) -> float:
    """The send rate ``elapsed`` seconds after the last throttle (CUBIC recovery, pure).

    It starts at ``beta * last_max_rate`` (where :func:`cubic_throttle` left
    it), flattens out at ``last_max_rate`` after :func:`cubic_window` seconds,
    then probes above it, faster and faster.

    >>> round(cubic_success(0.0, 10.0, beta=0.7, scale=0.4), 6)
    7.0
    >>> w = cubic_window(10.0, beta=0.7, scale=0.4)
    >>> round(cubic_success(w, 10.0, beta=0.7, scale=0.4), 6)
    10.0
    """
    window = cubic_window(last_max_rate, beta=beta, scale=scale)
    return scale * (elapsed - window) ** 3 + last_max_rate


def cubic_throttle(rate: float, *, beta: float) -> float:
    """The send rate after a throttling response: a multiplicative decrease (pure)."""
    return rate * beta


class _Cubic:
    """One origin's send rate and token bucket (the AWS SDK's client rate limiter)."""

    __slots__ = (
        "capacity",
        "count",
        "enabled",
        "fill_rate",
        "first_seen",
        "last_bucket",
        "last_max_rate",
        "last_refill",
        "last_throttle",
        "measured",
        "tokens",
    )

    def __init__(self, now: float, floor: float) -> None:
        self.fill_rate = floor
        self.capacity = 1.0
        self.tokens = 1.0
        self.last_refill: float | None = None
        self.enabled = False
        self.last_max_rate = 0.0
        self.last_throttle = now
        self.measured = 0.0
        self.last_bucket: float | None = None
        self.first_seen = now
        self.count = 0


class AdaptiveRateLimit:
    """Client-side send-rate limiting per origin, like the AWS SDKs' "adaptive" mode.

    Opt in with ``rate_limiter=axios_like.AdaptiveRateLimit()``. It measures
    the rate of responses per origin; on a throttling response (429, or 503
    with ``Retry-After``) it lowers the origin's send rate to ``beta`` times
    what was being sent (multiplicative decrease) and starts a token bucket;
    as calls then succeed the rate recovers on the cubic curve
    (:func:`cubic_success`), never above twice the measured rate, and never
    below ``floor`` requests per second. An attempt that finds the bucket
    empty gets a ``Wait`` for its token (in order); a wait past the call's
    ``deadline`` or ``max_retry_after`` raises ``RateLimitedError``. Until an
    origin throttles, nothing is held.

    ``beta`` is the decrease, ``scale`` the cubic's constant, ``floor`` the lowest
    rate, ``bucket`` and ``smooth`` how the rate is measured (0.5 s buckets, a
    weight of 0.8 for the newest), ``burst`` the seconds of tokens the bucket holds.
    See ``docs/traffic-shaping.md`` for where it differs from the AWS SDK.

    Example::

        limiter = axios_like.AdaptiveRateLimit(floor=1.0)
        api = axios_like.create(base_url="https://api.example.com", rate_limiter=limiter)
        print(limiter.rate(api_origin))   # requests per second allowed now, or None
    """

    def __init__(
        self,
        *,
        beta: float = 0.7,
        scale: float = 0.4,
        floor: float = 0.5,
        smooth: float = 0.8,
        bucket: float = 0.5,
        burst: float = 0.1,
        max_origins: int = 1024,
    ) -> None:
        if not 0.0 < beta < 1.0:
            raise ValueError(f"beta must be between 0 and 1; got {beta!r}")
        if not (scale > 0 and floor > 0 and bucket > 0 and burst > 0 and 0.0 < smooth <= 1.0):
            raise ValueError("scale, floor, bucket and burst must be > 0, smooth in (0, 1]")
        self.beta, self.scale, self.floor = float(beta), float(scale), float(floor)
        self.smooth, self.bucket, self.max_origins = float(smooth), float(bucket), max_origins
        self.burst = float(burst)
        self._lock = threading.Lock()
        self._origins: dict[Origin, _Cubic] = {}

    def __repr__(self) -> str:
        return f"AdaptiveRateLimit(beta={self.beta!r}, floor={self.floor!r})"

    def rate(self, origin: Origin) -> float | None:
        """The send rate allowed to ``origin`` now (``None``: not limited)."""
        with self._lock:
            st = self._origins.get(origin)
            return st.fill_rate if st is not None and st.enabled else None

    def admit(self, ticket: Ticket, now: float) -> Admission:
        """``SEND`` while the origin has a token, else a ``Wait`` for the next one."""
        st = self._origins.get(ticket.origin)
        if st is None or not st.enabled:
            return SEND
        with self._lock:
            self._refill(st, now)
            st.tokens -= 1.0
            seconds = 0.0 if st.tokens >= 0.0 else -st.tokens / st.fill_rate
        # When the token was promised: a throttle of an attempt promised before the last
        # decrease (at the old rate) does not decrease again, even if it went out after.
        ticket.call[(self, ticket.attempt)] = now
        return SEND if seconds <= 0.0 else Wait(seconds, "adaptive rate")

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        """Count the response; lower the rate on throttling, recover it on success."""
        promised = ticket.call.pop((self, ticket.attempt), None)
        if verdict.step is Step.REFUSED:
            if promised is not None:
                with self._lock:
                    st = self._origins.get(ticket.origin)
                    if st is not None:
                        st.tokens += 1.0  # the reserved token was not used (rule 2)
            return
        status = verdict.status
        if status is None:
            return
        headers = verdict.headers
        throttled = status == 429 or (
            status == 503 and headers is not None and bool(headers.get_list("retry-after"))
        )
        with self._lock:
            st = self._origins.get(ticket.origin)
            if st is None:
                if len(self._origins) >= self.max_origins:
                    self._origins.pop(next(iter(self._origins)))
                st = self._origins[ticket.origin] = _Cubic(now, self.floor)
            # One decrease per round trip (as TCP does): a throttle answering an attempt
            # let out before the last decrease says nothing new about the lowered rate.
            asked = now - verdict.duration if promised is None else promised
            if throttled and st.enabled and asked < st.last_throttle:
                self._measure(st, now)
                return
            self._update(st, now, throttled)

    # ------------------------------------------------------------ the AWS algorithm

    def _refill(self, st: _Cubic, now: float) -> None:
        if st.last_refill is not None and now > st.last_refill:
            st.tokens = min(st.capacity, st.tokens + (now - st.last_refill) * st.fill_rate)
        if st.last_refill is None or now > st.last_refill:
            st.last_refill = now

    def _measure(self, st: _Cubic, now: float) -> None:
        # Buckets of ``bucket`` seconds from the first response (the AWS SDK floors them to
        # the clock's half-seconds, so its first bucket may hold a few ms and read too low).
        st.count += 1
        if st.last_bucket is None:
            st.last_bucket = now
        elif now - st.last_bucket >= self.bucket:
            current = st.count / (now - st.last_bucket)
            st.measured = current * self.smooth + st.measured * (1.0 - self.smooth)
            st.count, st.last_bucket = 0, now

    def _update(self, st: _Cubic, now: float, throttled: bool) -> None:
        self._measure(st, now)
        measured = st.measured
        if measured <= 0.0 and st.last_bucket is not None and now - st.last_bucket >= 0.001:
            measured = st.count / (now - st.last_bucket)  # no full bucket yet: the rate so far
        if throttled:
            # The rate at the throttle: the smoothed rate lags a rising one, so the
            # current bucket's own rate counts too once it is a quarter full (the AWS
            # SDK uses the smoothed rate alone, and settles ~20% below the limit).
            last = st.last_bucket
            if last is not None and now - last >= self.bucket / 4 and st.count:
                measured = max(measured, st.count / (now - last))
            rate = min(measured, st.fill_rate) if st.enabled else measured
            st.last_max_rate = rate
            st.last_throttle = now
            new_rate = cubic_throttle(rate, beta=self.beta)
            if not st.enabled:
                st.enabled = True
                st.tokens = 0.0
                st.last_refill = now
        else:
            if not st.enabled:
                return
            elapsed = now - st.last_throttle
            new_rate = cubic_success(elapsed, st.last_max_rate, beta=self.beta, scale=self.scale)
        new_rate = min(new_rate, 2.0 * measured) if measured > 0 else new_rate
        self._refill(st, now)
        st.fill_rate = max(new_rate, self.floor)
        st.capacity = max(new_rate * self.burst, 1.0)
        st.tokens = min(st.tokens, st.capacity)
