"""The retry engine through the public clients: SPEC section 3 acceptance scenarios.

Transports are ``httpx.MockTransport`` here (exact control over each attempt);
real-socket faults are in ``test_retry_faults.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

import axios_like
from axios_like import (
    ConnectTimeoutError,
    FixedDelay,
    HistoryEntry,
    HTTPStatusError,
    LinearBackoff,
    RetryError,
    RetryEvent,
)
from axios_like._instant import is_instant
from axios_like.testing import instant_retries
from tests.conftest import Both


class Script:
    """A MockTransport handler answering from a list (the last entry repeats), counting calls."""

    def __init__(self, *answers: int | httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            index = min(len(self.requests), len(self.answers)) - 1
        answer = self.answers[index]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, json={"n": len(self.requests)})
        return answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@pytest.fixture
def events() -> list[RetryEvent]:
    return []


# ---------------------------------------------------------------- SPEC acceptance scenarios


@pytest.mark.usefixtures("instant")
async def test_connect_timeout_three_times_then_retry_error(
    make_client: Callable[..., Both], events: list[RetryEvent]
) -> None:
    script = Script(httpx.ConnectTimeout("timed out"))
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    with pytest.raises(RetryError) as info:
        await api.get("/users/1", on_retry=events.append)  # SPEC defaults: 3 retries, 1-2-4 s
    err = info.value
    assert len(script.requests) == 4
    assert (err.attempts, err.reason) == (4, "max_retries")
    assert isinstance(err.__cause__, ConnectTimeoutError)
    assert err.last_error is err.__cause__
    assert str(err) == (
        "GET https://api.example.com/users/1 failed after 4 attempts "
        "(max_retries=3 reached): connect timeout (ConnectTimeoutError)"
    )
    assert [e.attempt for e in events] == [1, 2, 3]
    for event, base in zip(events, (1.0, 2.0, 4.0), strict=True):
        assert base <= event.delay <= base * 1.5
        assert event.reason == "connect timeout"
        assert isinstance(event.error, ConnectTimeoutError)
    assert [h.delay for h in err.history] == [e.delay for e in events] + [None]
    assert [h.attempt for h in err.history] == [1, 2, 3, 4]
    assert err.config is not None
    assert (err.config["method"], err.config["url"]) == ("GET", "/users/1")
    assert {h.status for h in err.history} == {None}


@pytest.mark.usefixtures("instant")
async def test_503_retried_with_backoff(
    make_client: Callable[..., Both], events: list[RetryEvent]
) -> None:
    script = Script(503, 503, 200)
    api = make_client(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=LinearBackoff(base=0.5, increment=0.25, max_delay=5.0),
        on_retry=events.append,
    )
    r = await api.get("/flaky")
    assert (r.status, r.data, r.attempts) == (200, {"n": 3}, 3)
    assert [(e.attempt, e.delay, e.reason) for e in events] == [
        (1, 0.5, "status 503"),
        (2, 0.75, "status 503"),
    ]
    assert all(isinstance(e.error, HTTPStatusError) and e.error.status == 503 for e in events)


@pytest.mark.usefixtures("instant")
async def test_429_retry_after_is_honoured(
    make_client: Callable[..., Both], events: list[RetryEvent]
) -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "2"}), 201)
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    r = await api.post("/orders", data={"sku": 1}, on_retry=events.append)  # 429: any method
    assert (r.status, r.attempts) == (201, 2)
    assert [(e.delay, e.reason) for e in events] == [(2.0, "status 429, Retry-After 2s")]
    assert r.history[0] == HistoryEntry(1, 429, events[0].error, 2.0, "status 429, Retry-After 2s")


@pytest.mark.usefixtures("instant")
async def test_429_without_retry_after_uses_the_backoff(
    make_client: Callable[..., Both], events: list[RetryEvent]
) -> None:
    script = Script(429, 429, 200)
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    r = await api.get("/limited", on_retry=events.append)
    assert r.attempts == 3
    assert [e.reason for e in events] == ["status 429", "status 429"]
    assert 1.0 <= events[0].delay <= 1.5
    assert 2.0 <= events[1].delay <= 3.0


@pytest.mark.usefixtures("instant")
async def test_retry_after_http_date_measured_against_the_date_header(
    make_client: Callable[..., Both], events: list[RetryEvent]
) -> None:
    headers = {  # the server's clock is years off ours: only the difference counts
        "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
        "Retry-After": "Wed, 21 Oct 2015 07:28:03 GMT",
    }
    script = Script(httpx.Response(503, headers=headers), 200)
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    r = await api.get("/x", on_retry=events.append)
    assert r.attempts == 2
    assert [(e.delay, e.reason) for e in events] == [(3.0, "status 503, Retry-After 3s")]


@pytest.mark.usefixtures("instant")
async def test_skipped_waits_count_against_the_deadline(
    make_client: Callable[..., Both], events: list[RetryEvent]
) -> None:
    script = Script(503)
    api = make_client(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=FixedDelay(1.0),
        max_retries=10,
        deadline=2.5,
        on_retry=events.append,
    )
    start = time.monotonic()
    with pytest.raises(RetryError) as info:
        await api.get("/x")
    assert time.monotonic() - start < 2.0  # nothing was slept
    assert (info.value.reason, info.value.attempts) == ("deadline", 3)
    assert str(info.value).endswith("(deadline=2.5s reached): 503 Service Unavailable")
    assert [e.delay for e in events] == [1.0, 1.0]
    assert len(script.requests) == 3


@pytest.mark.usefixtures("instant")
async def test_retry_after_above_max_retry_after_stops_at_once(
    make_client: Callable[..., Both], events: list[RetryEvent]
) -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "3600"}), 200)
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    with pytest.raises(RetryError) as info:
        await api.get("/maint", on_retry=events.append)
    assert info.value.reason == "max_retry_after"
    assert info.value.attempts == 1
    assert len(script.requests) == 1
    assert events == []
    assert isinstance(info.value.__cause__, HTTPStatusError)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 406, 409, 410, 422])
async def test_permanent_statuses_never_retried(
    make_client: Callable[..., Both], status: int
) -> None:
    script = Script(status, 200)
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    with pytest.raises(HTTPStatusError) as info:
        await api.get("/secret")
    assert not isinstance(info.value, RetryError)
    assert info.value.status == status
    assert len(script.requests) == 1  # exactly one request reached the server


async def test_max_retries_zero_raises_failures_as_themselves(
    make_client: Callable[..., Both],
) -> None:
    script = Script(503)
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    with pytest.raises(HTTPStatusError) as info:
        await api.get("/x", max_retries=0)
    assert type(info.value) is HTTPStatusError
    assert len(script.requests) == 1
    script2 = Script(httpx.ConnectTimeout("slow"))
    api2 = make_client(
        base_url="https://api.example.com", transport=script2.transport, max_retries=0
    )
    with pytest.raises(ConnectTimeoutError):
        await api2.get("/x")
    assert len(script2.requests) == 1


@pytest.mark.usefixtures("instant")
async def test_post_503_is_raised_as_itself_but_with_idempotency_key_retried(
    make_client: Callable[..., Both],
) -> None:
    script = Script(503, 503, 200)
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    with pytest.raises(HTTPStatusError) as info:
        await api.post("/pay", data={"amount": 1})
    assert type(info.value) is HTTPStatusError
    assert len(script.requests) == 1
    r = await api.post("/pay", data={"amount": 1}, headers={"Idempotency-Key": "abc"})
    assert (r.status, r.attempts) == (200, 2)
    assert [req.headers.get("idempotency-key") for req in script.requests] == [None, "abc", "abc"]


@pytest.mark.usefixtures("instant")
async def test_response_interceptor_failing_a_2xx_makes_it_retryable(
    make_client: Callable[..., Both],
) -> None:
    """SPEC 2: a response interceptor raising HTTPStatusError makes the response retryable."""
    script = Script(
        httpx.Response(200, json={"status": "busy"}),
        httpx.Response(200, json={"status": "busy"}),
        httpx.Response(200, json={"status": "done"}),
    )
    api = make_client(base_url="https://api.example.com", transport=script.transport)

    def reject_busy(response: axios_like.Response) -> axios_like.Response:
        if response.data["status"] == "busy":
            raise HTTPStatusError("server busy", response=response)
        return response

    api.interceptors.response.use(reject_busy)
    r = await api.get("/job")
    assert (r.data, r.attempts) == ({"status": "done"}, 3)
    assert [h.status for h in r.history] == [200, 200, 200]
    assert len(script.requests) == 3
    # A POST is not replayed: the server said 200, so it did process it.
    script.answers = [httpx.Response(200, json={"status": "busy"})]
    with pytest.raises(HTTPStatusError, match="server busy"):
        await api.post("/job", data={})
    assert len(script.requests) == 4
    # A 4xx the interceptor fails stays permanent even when validate_status accepted it.
    script.answers = [httpx.Response(404, json={"status": "busy"})]
    with pytest.raises(HTTPStatusError):
        await api.get("/job", validate_status=lambda status: True)
    assert len(script.requests) == 5


@pytest.mark.usefixtures("instant")
async def test_per_request_max_retries_override(make_client: Callable[..., Both]) -> None:
    script = Script(503)
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    with pytest.raises(RetryError) as info:
        await api.get("/x", max_retries=5, retry_strategy=FixedDelay(0))
    assert info.value.attempts == 6
    assert len(script.requests) == 6


# ---------------------------------------------------------------- on_retry events


@pytest.mark.usefixtures("instant")
async def test_on_retry_event_fields(make_client: Callable[..., Both]) -> None:
    script = Script(503, 502, 504, 200)
    events: list[RetryEvent] = []
    api = make_client(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=FixedDelay(10.0),
        on_retry=events.append,
        max_retries=5,
    )
    counter = iter(range(1, 100))

    def stamp(config: axios_like.RequestConfig) -> axios_like.RequestConfig:
        config["headers"]["X-Attempt"] = str(next(counter))
        return config

    api.interceptors.request.use(stamp)
    start = time.monotonic()
    r = await api.get("/x")
    real = time.monotonic() - start
    assert r.attempts == 4
    assert [e.attempt for e in events] == [1, 2, 3]
    assert [e.reason for e in events] == ["status 503", "status 502", "status 504"]
    assert [e.delay for e in events] == [10.0, 10.0, 10.0]
    # event.config is the failed attempt's config, after request interceptors
    assert [e.config["headers"]["x-attempt"] for e in events] == ["1", "2", "3"]
    assert [e.error.config is e.config for e in events] == [True, True, True]
    assert r.config["headers"]["x-attempt"] == "4"
    # elapsed counts the skipped waits (10 s each) but no real sleeping happened
    assert real < 5.0
    assert events[0].elapsed < 5.0
    assert 10.0 <= events[1].elapsed < 10.0 + real + 0.01
    assert 20.0 <= events[2].elapsed < 20.0 + real + 0.01
    with pytest.raises(dataclasses.FrozenInstanceError):
        events[0].delay = 0.0  # type: ignore[misc]


@pytest.mark.usefixtures("instant")
async def test_exception_from_on_retry_propagates(make_client: Callable[..., Both]) -> None:
    script = Script(503, 200)

    class Abort(Exception):
        pass

    def on_retry(event: RetryEvent) -> None:
        raise Abort(f"stop at {event.attempt}")

    api = make_client(
        base_url="https://api.example.com", transport=script.transport, on_retry=on_retry
    )
    with pytest.raises(Abort, match="stop at 1"):
        await api.get("/x")
    assert len(script.requests) == 1


@pytest.mark.usefixtures("instant")
async def test_async_on_retry_is_awaited_on_async_client() -> None:
    script = Script(503, 503, 200)
    seen: list[tuple[int, float]] = []

    async def on_retry(event: RetryEvent) -> None:
        seen.append((event.attempt, event.delay))

    async with axios_like.create_async(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=FixedDelay(0.5),
        on_retry=on_retry,
    ) as api:
        r = await api.get("/x")
    assert r.attempts == 3
    assert seen == [(1, 0.5), (2, 0.5)]


@pytest.mark.usefixtures("instant")
async def test_retry_logged_at_info_without_query_values(
    make_client: Callable[..., Both], caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"), 503, 200)
    api = make_client(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=LinearBackoff(0.25, 0.25, 1.0),
    )
    caplog.set_level(logging.INFO, logger="axios_like")
    r = await api.get("/search?token=s3cret&q=private")
    assert r.attempts == 3
    records = [rec for rec in caplog.records if rec.name == "axios_like"]
    assert [rec.levelno for rec in records] == [logging.INFO, logging.INFO]
    messages = [rec.getMessage() for rec in records]
    assert messages == [
        "retrying GET https://api.example.com/search?token=[redacted]&q=[redacted]: "
        "attempt 1 failed (connect refused); waiting 0.250s",
        "retrying GET https://api.example.com/search?token=[redacted]&q=[redacted]: "
        "attempt 2 failed (status 503); waiting 0.500s",
    ]
    assert not any("s3cret" in m or "private" in m for m in messages)


async def test_no_log_and_no_event_without_retries(
    make_client: Callable[..., Both], caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(200)
    events: list[RetryEvent] = []
    api = make_client(base_url="https://api.example.com", transport=script.transport)
    caplog.set_level(logging.INFO, logger="axios_like")
    r = await api.get("/x", on_retry=events.append)
    assert (r.attempts, events) == (1, [])
    assert [rec for rec in caplog.records if rec.name == "axios_like"] == []


# ---------------------------------------------------------------- Response.attempts / history


@pytest.mark.usefixtures("instant")
async def test_response_attempts_and_history_on_success(make_client: Callable[..., Both]) -> None:
    script = Script(httpx.ReadTimeout("slow"), 503, 200)
    api = make_client(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=FixedDelay(0.5),
    )
    r = await api.get("/x")
    assert r.attempts == 3
    assert [(h.attempt, h.status, h.delay, h.reason) for h in r.history] == [
        (1, None, 0.5, "read timeout"),
        (2, 503, 0.5, "status 503"),
        (3, 200, None, "ok"),
    ]
    assert isinstance(r.history[0].error, axios_like.ReadTimeoutError)
    assert isinstance(r.history[1].error, HTTPStatusError)
    assert r.history[2].error is None
    first = await api.get("/x")  # the script now answers 200: one attempt
    assert (first.attempts, first.history) == (1, (HistoryEntry(1, 200, None, None, "ok"),))


# ---------------------------------------------------------------- instant_retries()


def test_instant_retries_nests_and_restores() -> None:
    assert not is_instant()
    with instant_retries():
        assert is_instant()
        with instant_retries():
            assert is_instant()
        assert is_instant()
    assert not is_instant()
    with pytest.raises(RuntimeError), instant_retries():
        raise RuntimeError("boom")
    assert not is_instant()


def test_instant_retries_applies_across_threads() -> None:
    script = Script(503, 200)
    api = axios_like.create(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=FixedDelay(30.0),
    )
    results: list[axios_like.Response] = []
    with instant_retries():
        thread = threading.Thread(target=lambda: results.append(api.get("/x")))
        start = time.monotonic()
        thread.start()
        thread.join(10)
        took = time.monotonic() - start
    api.close()
    assert took < 5.0
    assert [r.attempts for r in results] == [2]
    assert results[0].history[0].delay == 30.0


def test_waits_are_real_outside_instant_retries() -> None:
    script = Script(503, 200)
    with axios_like.create(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=FixedDelay(0.15),
    ) as api:
        with instant_retries():
            pass
        start = time.monotonic()
        r = api.get("/x")
        took = time.monotonic() - start
    assert r.attempts == 2
    assert took >= 0.15


@pytest.fixture
def no_instant() -> Iterator[None]:
    assert not is_instant()
    yield
    assert not is_instant()


@pytest.mark.usefixtures("no_instant")
async def test_real_async_wait_is_slept(make_client: Callable[..., Both]) -> None:
    script = Script(503, 200)
    api = make_client(
        base_url="https://api.example.com",
        transport=script.transport,
        retry_strategy=FixedDelay(0.1),
    )
    start = time.monotonic()
    r = await api.get("/x")
    assert r.attempts == 2
    assert time.monotonic() - start >= 0.1
