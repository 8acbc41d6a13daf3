"""Bearer token refresh (SPEC 2, "Auth token refresh") against the real loopback server."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import axios_like
from axios_like.auth import GENERATION_KEY, REPLAYED_KEY, AuthRefreshError, BearerTokenRefresh
from axios_like.testing.server import FlakyServer, Reply, Seen
from tests.conftest import Both


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


OLD = "old-SECRET-4f1c9e"
NEW = "new-SECRET-8b2d7a"
ROOT = Path(__file__).resolve().parent.parent


class TokenEndpoint:
    """Handler accepting only ``Bearer <valid>``; records every ``Authorization`` it sees.

    ``gate``: stale-token requests are held until that many have arrived, so they are
    all in flight with the stale token at once. ``then``: the replies to valid-token
    requests, in order (the last repeats; default 200).
    """

    def __init__(self, valid: str, *, gate: int = 0, then: list[Reply] | None = None) -> None:
        self.valid = valid
        self.seen: list[str | None] = []
        self._then = then or [Reply(200, json={"ok": True})]
        self._gate = gate
        self._stale = 0
        self._open = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, seen: Seen) -> Reply:
        auth = seen.headers.get("authorization")
        with self._lock:
            self.seen.append(auth)
            if auth == f"Bearer {self.valid}":
                return self._then.pop(0) if len(self._then) > 1 else self._then[0]
            self._stale += 1
            if self._stale >= self._gate:
                self._open.set()
        if not self._open.wait(10):
            raise RuntimeError("gate: not all stale requests arrived")
        return Reply(401, json={"error": "invalid_token"})


class Tokens:
    """A token store: ``get`` / ``refresh`` (sync), ``aget`` / ``arefresh`` (async)."""

    def __init__(self, current: str | None = OLD, new: str = NEW) -> None:
        self.current = current
        self.new = new
        self.refreshes = 0
        self.fail: BaseException | None = None
        self.pause = 0.0

    def get(self) -> str | None:
        return self.current

    def refresh(self) -> None:
        self.refreshes += 1
        time.sleep(self.pause)  # let the other threads queue on the helper's lock
        if self.fail is not None:
            raise self.fail
        self.current = self.new

    async def aget(self) -> str | None:
        return self.current

    async def arefresh(self) -> None:
        self.refreshes += 1
        await asyncio.sleep(self.pause)  # let the other tasks queue on the helper's lock
        if self.fail is not None:
            raise self.fail
        self.current = self.new


def install(api: Both, tokens: Tokens) -> BearerTokenRefresh:
    return BearerTokenRefresh(tokens.get, tokens.refresh).install(api.client)


# ---------------------------------------------------------------- single flight


async def test_50_concurrent_async_calls_with_a_stale_token_refresh_once(
    server: FlakyServer,
) -> None:
    endpoint = TokenEndpoint(NEW, gate=50)
    server.handle("/me", endpoint)
    tokens = Tokens()
    tokens.pause = 0.01
    async with axios_like.create_async(base_url=server.url) as api:
        auth = BearerTokenRefresh(tokens.aget, tokens.arefresh).install(api)
        calls = [api.get("/me") for _ in range(50)]
        results = await asyncio.wait_for(asyncio.gather(*calls), timeout=20)
    assert (tokens.refreshes, auth.refreshes) == (1, 1)
    assert [r.status for r in results] == [200] * 50
    assert {r.attempts for r in results} == {2}
    assert {r.request.headers["authorization"] for r in results} == {f"Bearer {NEW}"}
    assert Counter(endpoint.seen) == {f"Bearer {OLD}": 50, f"Bearer {NEW}": 50}


def test_8_threads_on_the_sync_client_refresh_once(server: FlakyServer) -> None:
    endpoint = TokenEndpoint(NEW, gate=8)
    server.handle("/me", endpoint)
    tokens = Tokens()
    tokens.pause = 0.02
    with axios_like.create(base_url=server.url) as api:
        auth = BearerTokenRefresh(tokens.get, tokens.refresh).install(api)
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(api.get, "/me") for _ in range(8)]
            results = [f.result(timeout=20) for f in futures]
    assert (tokens.refreshes, auth.refreshes) == (1, 1)
    assert [(r.status, r.attempts) for r in results] == [(200, 2)] * 8
    assert Counter(endpoint.seen) == {f"Bearer {OLD}": 8, f"Bearer {NEW}": 8}


async def test_token_is_read_on_every_attempt(
    make_client: Callable[..., Both], server: FlakyServer, instant: None
) -> None:
    server.script("/echo", [Reply(503), Reply(503), Reply(200)])
    issued = iter(["t1", "t2", "t3"])
    api = make_client(base_url=server.url, max_retries=3)
    BearerTokenRefresh(lambda: next(issued), lambda: None).install(api.client)
    r = await api.get("/echo")
    assert r.attempts == 3
    seen = [s.headers["authorization"] for s in server.requests_for("/echo")]
    assert seen == ["Bearer t1", "Bearer t2", "Bearer t3"]
    assert r.config["meta"][GENERATION_KEY] == 0


async def test_no_token_yet_sends_no_header_and_the_401_logs_in(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    endpoint = TokenEndpoint(NEW)
    server.handle("/me", endpoint)
    tokens = Tokens(current=None)
    api = make_client(base_url=server.url, headers={"Authorization": "Basic stale"})
    install(api, tokens)
    r = await api.get("/me")
    assert (r.status, tokens.refreshes) == (200, 1)
    assert endpoint.seen == [None, f"Bearer {NEW}"]


async def test_token_changed_elsewhere_is_replayed_without_a_refresh(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    tokens = Tokens()
    endpoint = TokenEndpoint(NEW)

    def rotate_then_answer(seen: Seen) -> Reply:
        tokens.current = NEW  # another process refreshed the shared store meanwhile
        return endpoint(seen)

    server.handle("/me", rotate_then_answer)
    api = make_client(base_url=server.url)
    auth = install(api, tokens)
    r = await api.get("/me")
    assert (r.status, r.attempts, tokens.refreshes, auth.refreshes) == (200, 2, 0, 0)
    assert endpoint.seen == [f"Bearer {OLD}", f"Bearer {NEW}"]


# ---------------------------------------------------------------- at most one replay


async def test_a_second_401_is_raised_not_replayed_again(
    make_client: Callable[..., Both], server: FlakyServer, instant: None
) -> None:
    endpoint = TokenEndpoint("never-valid")
    server.handle("/me", endpoint)
    tokens = Tokens()
    api = make_client(base_url=server.url, max_retries=3)
    auth = install(api, tokens)
    with pytest.raises(axios_like.HTTPStatusError) as info:
        await api.get("/me")
    assert type(info.value) is axios_like.HTTPStatusError  # not a RetryError: 401 not retried
    assert info.value.status == 401
    assert (server.count("/me"), tokens.refreshes, auth.refreshes) == (2, 1, 1)
    assert endpoint.seen == [f"Bearer {OLD}", f"Bearer {NEW}"]
    assert info.value.config is not None
    assert info.value.config["meta"][REPLAYED_KEY] is True
    assert any("not replayed again" in note for note in info.value.__notes__)


async def test_401_then_503_is_retried_and_max_retries_counts_only_the_503(
    make_client: Callable[..., Both], server: FlakyServer, instant: None
) -> None:
    endpoint = TokenEndpoint(NEW, then=[Reply(503), Reply(200, json={"ok": True})])
    server.handle("/c", endpoint)
    tokens = Tokens()
    events: list[axios_like.RetryEvent] = []
    api = make_client(base_url=server.url, max_retries=1, on_retry=events.append)
    install(api, tokens)
    r = await api.get("/c")
    assert (r.status, r.data, r.attempts, tokens.refreshes) == (200, {"ok": True}, 3, 1)
    assert [(h.status, h.reason) for h in r.history] == [
        (401, "replay"),
        (503, "status 503"),
        (200, "ok"),
    ]
    assert [(e.attempt, e.reason) for e in events] == [(1, "status 503")]
    assert endpoint.seen == [f"Bearer {OLD}", f"Bearer {NEW}", f"Bearer {NEW}"]


async def test_other_errors_pass_through_untouched(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/gone", [Reply(403)])
    tokens = Tokens()
    api = make_client(base_url=server.url)
    install(api, tokens)
    with pytest.raises(axios_like.HTTPStatusError) as info:
        await api.get("/gone")
    assert (info.value.status, server.count("/gone"), tokens.refreshes) == (403, 1, 0)


# ---------------------------------------------------------------- refresh failure


async def test_refresh_failure_fails_all_waiting_async_calls_at_once(
    server: FlakyServer,
) -> None:
    endpoint = TokenEndpoint(NEW, gate=20)
    server.handle("/me", endpoint)
    tokens = Tokens()
    tokens.pause = 0.01
    boom = RuntimeError("token endpoint down")
    tokens.fail = boom
    async with axios_like.create_async(base_url=server.url) as api:
        auth = BearerTokenRefresh(tokens.aget, tokens.arefresh).install(api)
        started = time.monotonic()
        calls = [api.get("/me") for _ in range(20)]
        results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)
        elapsed = time.monotonic() - started
        assert tokens.refreshes == 1  # the waiters share the failure, no herd of retries
        assert all(isinstance(e, AuthRefreshError) for e in results)
        assert {id(e.__cause__) for e in results if isinstance(e, BaseException)} == {id(boom)}
        assert len({id(e) for e in results}) == 20  # each call has its own error
        assert elapsed < 5
        assert Counter(endpoint.seen) == {f"Bearer {OLD}": 20}  # none replayed

        # A request sent after the failure tries the refresh again: no poisoned client.
        tokens.fail = None
        r = await api.get("/me")
        assert (r.status, tokens.refreshes, auth.refreshes) == (200, 2, 2)


def test_refresh_failure_fails_all_waiting_threads(server: FlakyServer) -> None:
    endpoint = TokenEndpoint(NEW, gate=8)
    server.handle("/me", endpoint)
    tokens = Tokens()
    tokens.pause = 0.02
    tokens.fail = boom = ConnectionError("token endpoint down")
    with axios_like.create(base_url=server.url) as api:
        BearerTokenRefresh(tokens.get, tokens.refresh).install(api)
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(api.get, "/me") for _ in range(8)]
            errors = [f.exception(timeout=10) for f in futures]
    assert tokens.refreshes == 1
    assert all(isinstance(e, AuthRefreshError) and e.__cause__ is boom for e in errors)
    assert server.count("/me") == 8


async def test_refresh_error_is_chained_clear_and_not_retried(
    make_client: Callable[..., Both], server: FlakyServer, instant: None
) -> None:
    server.handle("/me", TokenEndpoint(NEW))
    tokens = Tokens()
    tokens.fail = boom = ValueError("refresh token revoked")
    api = make_client(base_url=server.url, max_retries=3)
    install(api, tokens)
    with pytest.raises(AuthRefreshError) as info:
        await api.get("/me")
    err = info.value
    assert isinstance(err, axios_like.AxiosLikeError)
    assert err.__cause__ is boom
    assert err.reason == "auth refresh failed"
    assert str(err) == (
        f"GET {server.url}/me got 401 and refreshing the token failed: "
        "refresh_token() raised ValueError (see __cause__)"
    )
    assert err.config is not None
    assert err.config["url"] == "/me"
    assert (server.count("/me"), tokens.refreshes) == (1, 1)


async def test_cancelled_leader_does_not_strand_the_waiters(server: FlakyServer) -> None:
    server.handle("/me", TokenEndpoint(NEW, gate=3))
    tokens = Tokens()
    never, leading = asyncio.Event(), asyncio.Event()
    leader: list[asyncio.Task[Any]] = []

    async def refresh() -> None:
        tokens.refreshes += 1
        if tokens.refreshes == 1:
            task = asyncio.current_task()
            assert task is not None
            leader.append(task)
            leading.set()
            await never.wait()  # hangs until cancelled
        tokens.current = NEW

    async with axios_like.create_async(base_url=server.url) as api:
        BearerTokenRefresh(tokens.aget, refresh).install(api)
        tasks = [asyncio.create_task(api.get("/me")) for _ in range(3)]
        await asyncio.wait_for(leading.wait(), 10)
        leader[0].cancel()
        done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    assert sum(isinstance(d, asyncio.CancelledError) for d in done) == 1
    assert [d.status for d in done if isinstance(d, axios_like.Response)] == [200, 200]
    assert tokens.refreshes == 2  # a waiter took over the refresh


async def test_refresh_through_the_same_client_does_not_deadlock(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.handle("/me", TokenEndpoint(NEW))
    server.script("/token", [Reply(401, json={"error": "invalid_grant"})])
    store = {"token": OLD}
    api = make_client(base_url=server.url)
    client = api.client
    if isinstance(client, axios_like.AsyncClient):

        async def arefresh() -> None:
            store["token"] = (await client.post("/token")).data["access_token"]

        BearerTokenRefresh(lambda: store["token"], arefresh).install(client)
    else:
        sync_client = client

        def refresh() -> None:
            store["token"] = sync_client.post("/token").data["access_token"]

        BearerTokenRefresh(lambda: store["token"], refresh).install(client)

    # The token endpoint's own 401 is raised as itself inside refresh_token().
    with pytest.raises(AuthRefreshError) as info:
        await asyncio.wait_for(api.get("/me"), 10)
    assert isinstance(info.value.__cause__, axios_like.HTTPStatusError)
    assert info.value.__cause__.status == 401
    server.script("/token", [Reply(200, json={"access_token": NEW})])
    r = await api.get("/me")
    assert (r.status, store["token"]) == (200, NEW)


# ---------------------------------------------------------------- secrets


def _rendered(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(getattr(exc, "config", ""))


async def test_the_token_never_reaches_logs_messages_or_reprs(
    make_client: Callable[..., Both],
    server: FlakyServer,
    instant: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.handle("/r", TokenEndpoint(NEW, then=[Reply(503), Reply(200, json={"ok": True})]))
    tokens = Tokens()
    events: list[axios_like.RetryEvent] = []
    api = make_client(base_url=server.url, max_retries=2, on_retry=events.append)
    auth = install(api, tokens)
    r = await api.get("/r")
    assert (r.status, r.attempts, len(events), tokens.refreshes) == (200, 3, 1, 1)
    assert "refreshing the token" in caplog.text  # the helper logs, without the token
    assert "retrying GET" in caplog.text
    shown = caplog.text + repr(auth) + repr(r.config) + repr(events) + repr(r.request.headers)
    assert "SECRET" not in shown
    assert repr(auth).startswith("<BearerTokenRefresh installed on ")

    # The errors a caller can get: a second 401, a failed refresh, retries exhausted.
    server.handle("/always401", TokenEndpoint("never-valid"))
    with pytest.raises(axios_like.HTTPStatusError) as second:
        await api.get("/always401")
    tokens.current, tokens.fail = OLD, RuntimeError("down")
    with pytest.raises(AuthRefreshError) as failed:
        await api.get("/r")
    tokens.current, tokens.fail = OLD, None
    server.handle("/r503", TokenEndpoint(NEW, then=[Reply(503)]))
    with pytest.raises(axios_like.RetryError) as exhausted:
        await api.get("/r503")
    for info in (second, failed, exhausted):
        assert "SECRET" not in _rendered(info.value)
    assert "SECRET" not in caplog.text


async def test_bad_tokens_fail_without_showing_the_token(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    value: list[Any] = ["line1-SECRET\r\nX-Injected: 1"]
    BearerTokenRefresh(lambda: value[0], lambda: None).install(api.client)
    with pytest.raises(ValueError, match="control characters") as info:
        await api.get("/echo")
    assert "SECRET" not in str(info.value)
    value[0] = 12345
    with pytest.raises(TypeError, match="must return a str or None; got int"):
        await api.get("/echo")
    assert server.count("/echo") == 0


# ---------------------------------------------------------------- install / uninstall


def test_install_rules_and_uninstall(server: FlakyServer) -> None:
    tokens = Tokens()
    with axios_like.create(base_url=server.url) as api, axios_like.create() as other:
        auth = BearerTokenRefresh(tokens.get, tokens.refresh)
        assert repr(auth) == "<BearerTokenRefresh not installed, refreshes=0>"
        assert auth.install(api) is auth
        assert (len(api.interceptors.request), len(api.interceptors.response)) == (1, 1)
        with pytest.raises(RuntimeError, match="already installed"):
            auth.install(api)
        with pytest.raises(RuntimeError, match="already installed"):
            auth.install(other)
        with pytest.raises(RuntimeError, match="client already has a BearerTokenRefresh"):
            BearerTokenRefresh(tokens.get, tokens.refresh).install(api)
        with pytest.raises(RuntimeError, match="not installed on that client"):
            auth.uninstall(other)
        assert api.get("/echo").data["headers"]["authorization"] == f"Bearer {OLD}"

        auth.uninstall(api)
        assert (len(api.interceptors.request), len(api.interceptors.response)) == (0, 0)
        assert "authorization" not in api.get("/echo").data["headers"]
        assert auth.install(other) is auth  # free again once uninstalled


def test_async_functions_on_the_sync_client_are_a_type_error_at_install() -> None:
    tokens = Tokens()
    with axios_like.create() as api:
        with pytest.raises(TypeError, match="get_token is 'async def'"):
            BearerTokenRefresh(tokens.aget, tokens.refresh).install(api)
        with pytest.raises(TypeError, match="refresh_token is 'async def'"):
            BearerTokenRefresh(tokens.get, tokens.arefresh).install(api)
        assert len(api.interceptors.request) == 0
    with pytest.raises(TypeError, match="needs an axios_like Client or AsyncClient"):
        BearerTokenRefresh(tokens.get, tokens.refresh).install(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="get_token must be callable"):
        BearerTokenRefresh("token", tokens.refresh)  # type: ignore[arg-type]


def test_awaitables_returned_to_the_sync_client_are_a_type_error(server: FlakyServer) -> None:
    server.handle("/me", TokenEndpoint(NEW))
    tokens = Tokens()
    with axios_like.create(base_url=server.url) as api:
        auth = BearerTokenRefresh(lambda: tokens.aget(), tokens.refresh).install(api)
        with pytest.raises(TypeError, match="get_token\\(\\) returned an awaitable"):
            api.get("/me")
        assert server.count("/me") == 0
        auth.uninstall(api)
        BearerTokenRefresh(tokens.get, lambda: tokens.arefresh()).install(api)
        with pytest.raises(AuthRefreshError) as info:
            api.get("/me")
    assert isinstance(info.value.__cause__, TypeError)
    assert "refresh_token() returned an awaitable" in str(info.value.__cause__)
    assert tokens.refreshes == 0  # the coroutine was closed, never run (and no warning)


def test_an_awaitable_from_get_token_under_the_lock_is_the_same_type_error(
    server: FlakyServer,
) -> None:
    # The drift between the hand-written twins: the sync on_rejected re-read the token
    # under the lock without the awaitable check the request interceptor makes, so a
    # get_token() returning a coroutine there failed with "must return a str or None;
    # got coroutine" and left the coroutine unclosed ("never awaited").
    server.handle("/me", TokenEndpoint(NEW))
    tokens = Tokens()
    reads: list[str] = []

    def get_token() -> Any:
        reads.append("read")
        return tokens.current if len(reads) == 1 else tokens.aget()

    with axios_like.create(base_url=server.url) as api:
        auth = BearerTokenRefresh(get_token, tokens.refresh).install(api)
        with pytest.raises(TypeError) as info:
            api.get("/me")
    assert str(info.value) == (
        "BearerTokenRefresh: get_token() returned an awaitable; the sync Client cannot await it"
    )
    assert (len(reads), server.count("/me"), tokens.refreshes, auth.refreshes) == (2, 1, 0, 0)


def test_the_flow_is_written_once_and_stepped_by_hand() -> None:
    # httpx's Auth.auth_flow style: the 401 flow yields what it needs called; the sync and
    # async shells only call it (and await it) and send the result back in.
    import httpx

    from axios_like._models import Response
    from axios_like.auth import _Call

    auth = BearerTokenRefresh(lambda: OLD, lambda: None)
    request = httpx.Request("GET", "http://h/me", headers={"Authorization": f"Bearer {OLD}"})
    config = {"method": "GET", "url": "http://h/me", "headers": request.headers, "meta": {}}
    config["meta"][GENERATION_KEY] = 0
    error = axios_like.HTTPStatusError(
        "401", response=Response(httpx.Response(401, request=request), config)
    )
    flow = auth._rejected_flow(error)
    assert next(flow) is _Call.GET_TOKEN  # re-read the token under the lock
    assert flow.send(OLD) is _Call.REFRESH_TOKEN  # unchanged: this call is the leader
    with pytest.raises(StopIteration) as done:
        flow.send(None)
    assert done.value.value.meta == {REPLAYED_KEY: True}
    assert (auth.refreshes, auth._generation) == (1, 1)

    # another call that read the token before that refresh finished (generation 0)
    with pytest.raises(StopIteration) as done:
        next(auth._rejected_flow(error))  # shares its outcome: replay, nothing to call
    assert done.value.value.meta == {REPLAYED_KEY: True}

    config["meta"][GENERATION_KEY] = 1  # read after it
    flow = auth._rejected_flow(error)
    assert next(flow) is _Call.GET_TOKEN
    with pytest.raises(StopIteration) as done:
        flow.send(NEW)  # changed since it was sent: replay without a refresh
    assert auth.refreshes == 1

    flow = auth._rejected_flow(error)
    next(flow)
    assert flow.send(OLD) is _Call.REFRESH_TOKEN
    with pytest.raises(AuthRefreshError) as failed:
        flow.throw(RuntimeError("token endpoint down"))  # what the driver does on a failure
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert (auth.refreshes, auth._generation) == (2, 2)

    flow = auth._authorize_flow({"headers": httpx.Headers(), "meta": {}})
    assert next(flow) is _Call.GET_TOKEN
    with pytest.raises(StopIteration) as done:
        flow.send(NEW)
    assert done.value.value["headers"]["authorization"] == f"Bearer {NEW}"
    assert done.value.value["meta"][GENERATION_KEY] == 2


# ---------------------------------------------------------------- do it yourself (docs)


async def test_do_it_yourself_pattern_from_the_docs(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    endpoint = TokenEndpoint(NEW)
    server.handle("/me", endpoint)
    store = {"token": OLD}
    refreshes: list[int] = []

    def add_token(config: axios_like.RequestConfig) -> axios_like.RequestConfig:
        config["headers"]["Authorization"] = f"Bearer {store['token']}"
        return config

    def refresh_on_401(error: Exception) -> axios_like.Replay:
        if (
            isinstance(error, axios_like.HTTPStatusError)
            and error.status == 401
            and not error.config["meta"].get("token_refreshed")  # type: ignore[index]
        ):
            refreshes.append(1)
            store["token"] = NEW
            return axios_like.Replay(meta={"token_refreshed": True})
        raise error

    api = make_client(base_url=server.url)
    api.interceptors.request.use(add_token)
    api.interceptors.response.use(None, refresh_on_401)
    r = await api.get("/me")
    assert (r.status, r.attempts, len(refreshes)) == (200, 2, 1)
    assert endpoint.seen == [f"Bearer {OLD}", f"Bearer {NEW}"]

    endpoint.valid = "never-valid"
    with pytest.raises(axios_like.HTTPStatusError) as info:
        await api.get("/me")
    assert (info.value.status, server.count("/me"), len(refreshes)) == (401, 4, 2)


# ---------------------------------------------------------------- the example


def test_example_auth_refresh_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "auth_refresh.py")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "10 calls -> 10 x 200" in lines
    assert "refresh_token() called 1 time" in lines
    assert "server saw 10 requests with the expired token, 10 with the new one" in lines
    assert not any("SECRET" in line for line in lines)
