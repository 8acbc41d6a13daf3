"""The pipeline (SPEC section 2): interceptors, middleware, and what each call snapshots."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import axios_like
from axios_like import HTTPStatusError, Response
from axios_like._instant import is_instant
from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import Both

pytestmark = pytest.mark.usefixtures("instant")


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


def add_middleware(
    api: Both,
    before: Callable[[Any], Any] = lambda config: config,
    *,
    times: int = 1,
    after: Callable[[Any], Any] | None = None,
) -> Any:
    """Register a middleware of the right flavour on ``api``.

    ``before(config)`` returns the config to pass on, or a ``Response`` to return
    without calling ``call_next``; ``call_next`` runs ``times`` times; ``after``
    sees the last result.
    """
    if api.is_async:

        async def amw(config: Any, call_next: Any) -> Any:
            given = before(config)
            if isinstance(given, Response):
                return given
            result = None
            for _ in range(times):
                result = await call_next(given)
            return after(result) if after else result

        return api.client.use(amw)

    def mw(config: Any, call_next: Any) -> Any:
        given = before(config)
        if isinstance(given, Response):
            return given
        result = None
        for _ in range(times):
            result = call_next(given)
        return after(result) if after else result

    return api.client.use(mw)  # type: ignore[arg-type]


def fake_response(config: Any, status: int = 200, **kwargs: Any) -> Response:
    request = httpx.Request("GET", "http://cache.invalid/")
    return Response(httpx.Response(status, request=request, **kwargs), config)


# ---------------------------------------------------------------- request interceptors


async def test_request_interceptors_run_in_order_on_a_fresh_copy_every_attempt(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(200)])
    api = make_client(base_url=server.url, headers={"X-Trace": "base"})
    seen: list[tuple[str, str, dict[str, Any]]] = []

    def tag(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def interceptor(config: dict[str, Any]) -> dict[str, Any]:
            seen.append((name, config["headers"]["x-trace"], dict(config["meta"])))
            config["headers"]["X-Trace"] += f"-{name}"
            config["meta"][name] = config["meta"].get(name, 0) + 1
            return config

        return interceptor

    api.interceptors.request.use(tag("a"))
    api.interceptors.request.use(tag("b"))
    r = await api.get("/flaky")
    assert r.attempts == 3
    assert seen == [("a", "base", {}), ("b", "base-a", {"a": 1})] * 3
    assert [s.headers["x-trace"] for s in server.requests] == ["base-a-b"] * 3
    assert r.config["meta"] == {"a": 1, "b": 1}
    assert api.client.defaults["headers"]["x-trace"] == "base"


async def test_request_interceptor_on_rejected_gets_the_earlier_error_and_recovers(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    boom = ValueError("no token")
    got: list[BaseException] = []
    order: list[str] = []

    def fail(config: dict[str, Any]) -> dict[str, Any]:
        order.append("fail")
        raise boom

    def skipped(config: dict[str, Any]) -> dict[str, Any]:
        order.append("skipped")  # an on_fulfilled never runs while an error is pending
        return config

    def recover(error: BaseException) -> dict[str, Any]:
        got.append(error)
        return {"url": "/recovered", "method": "GET", "headers": {"X-Recovered": "yes"}}

    def after(config: dict[str, Any]) -> dict[str, Any]:
        order.append("after")
        assert isinstance(config["headers"], httpx.Headers)
        return config

    api.interceptors.request.use(fail)
    api.interceptors.request.use(skipped)
    api.interceptors.request.use(None, recover)
    api.interceptors.request.use(after, lambda e: pytest.fail("no error pending"))
    r = await api.get("/original", timeout=3)
    assert got == [boom]
    assert order == ["fail", "after"]
    assert (r.status, server.requests[-1].path) == (200, "/recovered")
    assert server.requests[-1].headers["x-recovered"] == "yes"
    assert r.config["timeout"] == 3.0  # keys the new dict left out keep their values


@pytest.mark.parametrize("policy", [{}, {"retry_on": lambda error: True}], ids=["default", "all"])
async def test_an_unrecovered_request_interceptor_error_ends_the_call(
    make_client: Callable[..., Both], server: FlakyServer, policy: dict[str, Any]
) -> None:
    api = make_client(base_url=server.url, max_retries=3, **policy)
    boom = PermissionError("no token")
    calls: list[str] = []

    def fail(config: dict[str, Any]) -> dict[str, Any]:
        calls.append("fail")
        raise boom

    def reraise(error: BaseException) -> dict[str, Any]:
        calls.append("reraise")
        raise error

    api.interceptors.request.use(fail)
    api.interceptors.request.use(None, reraise)
    api.interceptors.response.use(None, lambda e: calls.append("response"))
    with pytest.raises(PermissionError) as info:
        await api.get("/x")
    assert info.value is boom
    assert (calls, server.requests) == (["fail", "reraise"], [])


async def test_a_request_interceptor_must_return_the_config(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)

    def forgot_return(config: dict[str, Any]) -> None:
        config["headers"]["X"] = "1"

    api.interceptors.request.use(forgot_return)
    with pytest.raises(TypeError, match=r"request interceptor .*forgot_return must return"):
        await api.get("/x")
    assert server.requests == []


@pytest.mark.parametrize("in_place", [True, False])
async def test_a_request_interceptor_cannot_set_an_unknown_or_bad_key(
    make_client: Callable[..., Both], server: FlakyServer, in_place: bool
) -> None:
    api = make_client(base_url=server.url)

    def bogus(config: dict[str, Any]) -> dict[str, Any]:
        if in_place:
            config["retries"] = 2
            return config
        return {**config, "retries": 2}

    handle = api.interceptors.request.use(bogus)
    with pytest.raises(axios_like.ConfigError, match=r"retries: unknown config key set by"):
        await api.get("/x")
    api.interceptors.request.eject(handle)
    api.interceptors.request.use(lambda config: {**config, "timeout": -1})
    with pytest.raises(axios_like.ConfigError, match="timeout: must be a positive"):
        await api.get("/x")
    assert server.requests == []


async def test_interceptors_always_see_headers_as_httpx_headers(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    kinds: list[type] = []

    def plain_headers(config: dict[str, Any]) -> dict[str, Any]:
        kinds.append(type(config["headers"]))
        return {**config, "headers": {"X-Plain": "1"}}

    def check(config: dict[str, Any]) -> dict[str, Any]:
        kinds.append(type(config["headers"]))
        assert config["headers"]["x-plain"] == "1"
        config["headers"]["X-Mixed-Case"] = "2"
        return config

    api.interceptors.request.use(plain_headers)
    api.interceptors.request.use(check)
    add_middleware(api, lambda config: {**config, "headers": {"X-From-Mw": "m"}})
    r = await api.get("/x")
    assert kinds == [httpx.Headers, httpx.Headers]
    assert isinstance(r.config["headers"], httpx.Headers)
    assert list(r.config["headers"].raw) == [(b"X-Plain", b"1"), (b"X-Mixed-Case", b"2")]
    assert "x-from-mw" not in server.requests[-1].headers  # plain_headers replaced them


# ---------------------------------------------------------------- response interceptors


async def test_response_interceptors_run_every_attempt_before_the_decision(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/flaky", [Reply(503), Reply(502), Reply(200)])
    api = make_client(base_url=server.url)
    log: list[tuple[str, Any]] = []

    def on_ok(name: str) -> Callable[[Response], Response]:
        def handler(response: Response) -> Response:
            log.append((name, response.status))
            return response

        return handler

    def on_err(name: str) -> Callable[[BaseException], Any]:
        def handler(error: BaseException) -> Any:
            assert isinstance(error, HTTPStatusError)
            log.append((name, error.status))
            raise error

        return handler

    api.interceptors.response.use(on_ok("first"), on_err("first"))
    api.interceptors.response.use(on_ok("second"), on_err("second"))
    r = await api.get("/flaky")
    assert log == [
        ("first", 503),
        ("second", 503),
        ("first", 502),
        ("second", 502),
        ("first", 200),
        ("second", 200),
    ]
    assert r.attempts == 3


async def test_response_on_rejected_gets_an_earlier_interceptors_error(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    boom = RuntimeError("bad payload")
    got: list[BaseException] = []

    def fail(response: Response) -> Response:
        raise boom

    def record(error: BaseException) -> Response:
        got.append(error)
        raise error

    api.interceptors.response.use(fail)
    api.interceptors.response.use(None, record)
    with pytest.raises(RuntimeError) as info:
        await api.get("/x")
    assert info.value is boom
    assert got == [boom]
    assert len(server.requests) == 1  # a RuntimeError is not retried


async def test_response_on_rejected_recovers_a_status_error_with_a_response(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/down", [Reply(503, json={"maintenance": True})])
    api = make_client(base_url=server.url)
    got: list[BaseException] = []

    def accept(error: BaseException) -> Response:
        got.append(error)
        assert isinstance(error, HTTPStatusError)
        return error.response

    api.interceptors.response.use(None, accept)
    r = await api.get("/down")
    assert (r.status, r.data, r.attempts) == (503, {"maintenance": True}, 1)
    assert [h.reason for h in r.history] == ["ok"]
    assert len(got) == 1
    assert server.count("/down") == 1


async def test_response_on_rejected_recovers_a_network_error(
    make_client: Callable[..., Both],
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    api = make_client(transport=httpx.MockTransport(refuse), base_url="http://t", max_retries=0)
    got: list[BaseException] = []

    def offline(error: BaseException) -> Response:
        got.append(error)
        assert isinstance(error, axios_like.NetworkError)
        return fake_response(error.config, json={"cached": True})

    api.interceptors.response.use(None, offline)
    r = await api.get("/x")
    assert (r.status, r.data, r.attempts) == (200, {"cached": True}, 1)
    assert type(got[0]) is axios_like.ConnectError
    assert got[0].reason == "connect refused"


@pytest.mark.parametrize("role", ["on_fulfilled", "on_rejected"])
async def test_a_response_interceptor_returning_something_else_is_a_type_error(
    make_client: Callable[..., Both], server: FlakyServer, role: str
) -> None:
    server.script("/x", [Reply(200 if role == "on_fulfilled" else 404)])
    api = make_client(base_url=server.url)

    def returns_data(value: Any) -> Any:
        return {"not": "a response"}

    if role == "on_fulfilled":
        api.interceptors.response.use(returns_data)
    else:
        api.interceptors.response.use(None, returns_data)
    with pytest.raises(TypeError) as info:
        await api.get("/x")
    message = str(info.value)
    assert "response interceptor" in message
    assert "returns_data" in message
    assert "must return a Response" in message
    assert message.endswith("got dict")
    assert ("axios_like.Replay" in message) is (role == "on_rejected")
    assert server.count("/x") == 1


@pytest.mark.parametrize(
    "policy",
    [
        {"retry_status": [200, 503]},
        {"retry_on": lambda error: isinstance(error, HTTPStatusError)},
    ],
    ids=["retry_status", "retry_on"],
)
async def test_a_status_error_raised_on_a_200_is_retryable(
    make_client: Callable[..., Both], server: FlakyServer, policy: dict[str, Any]
) -> None:
    server.script("/soft", [Reply(200, json={"error": "busy"}), Reply(200, json={"ok": 1})])
    api = make_client(base_url=server.url, **policy)

    def reject_soft_errors(response: Response) -> Response:
        if "error" in response.data:
            raise HTTPStatusError("soft error", response=response)
        return response

    api.interceptors.response.use(reject_soft_errors)
    r = await api.get("/soft")
    assert (r.data, r.attempts, server.count("/soft")) == ({"ok": 1}, 2, 2)
    assert [(h.status, h.reason) for h in r.history] == [(200, "status 200"), (200, "ok")]


async def test_a_status_error_on_a_200_post_is_raised_as_itself(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    # The server said 200, so it processed the POST: the failure is not replayed.
    server.script("/soft", [Reply(200, json={"error": "busy"})])
    api = make_client(base_url=server.url)
    raised: list[HTTPStatusError] = []

    def reject(response: Response) -> Response:
        raised.append(HTTPStatusError("soft error", response=response))
        raise raised[-1]

    api.interceptors.response.use(reject)
    with pytest.raises(HTTPStatusError) as info:
        await api.post("/soft", data={"n": 1})
    assert info.value is raised[0]
    assert info.value.status == 200
    assert server.count("/soft") == 1


def test_this_module_runs_under_instant_retries() -> None:
    assert is_instant()


# ---------------------------------------------------------------- registries


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_use_eject_clear(flavour: str) -> None:
    api = axios_like.create() if flavour == "sync" else axios_like.create_async()
    chain = api.interceptors.request
    first = chain.use(lambda c: c)
    second = chain.use(None, lambda e: None)
    assert (first, second, len(chain)) == (1, 2, 2)
    assert chain.eject(first) is True
    assert chain.eject(first) is False
    assert len(chain) == 1
    third = api.interceptors.response.use(lambda r: r)
    assert third == 1  # each chain numbers its own handlers
    chain.clear()
    assert len(chain) == 0
    assert len(api.interceptors.response) == 1
    assert chain.use(lambda c: c) == 3  # ids are never reused


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_use_refuses_nothing_and_non_callables(flavour: str) -> None:
    api = axios_like.create() if flavour == "sync" else axios_like.create_async()
    for chain in (api.interceptors.request, api.interceptors.response):
        with pytest.raises(TypeError, match="give on_fulfilled, on_rejected or both"):
            chain.use()
        with pytest.raises(TypeError, match="give on_fulfilled, on_rejected or both"):
            chain.use(None, None)
        with pytest.raises(TypeError, match="on_rejected must be callable"):
            chain.use(lambda c: c, "handler")  # type: ignore[arg-type]
        assert len(chain) == 0
    with pytest.raises(TypeError, match="middleware must be callable"):
        api.use("mw")  # type: ignore[arg-type]


def test_the_sync_client_refuses_async_handlers_at_use() -> None:
    api = axios_like.create()

    async def handler(value: Any) -> Any:
        return value

    class AsyncCallable:
        async def __call__(self, value: Any) -> Any:
            return value

    async def middleware(config: Any, call_next: Any) -> Any:
        return await call_next(config)

    for chain in (api.interceptors.request, api.interceptors.response):
        for fn in (handler, AsyncCallable()):
            with pytest.raises(TypeError, match="is 'async def'; the sync Client cannot await"):
                chain.use(fn)
            with pytest.raises(TypeError, match=r"on_rejected .* is 'async def'"):
                chain.use(lambda v: v, fn)
        assert len(chain) == 0
    with pytest.raises(TypeError, match="must be a plain function on this client flavour"):
        api.use(middleware)  # type: ignore[arg-type]


def test_the_async_client_wants_async_middleware() -> None:
    api = axios_like.create_async()

    def middleware(config: Any, call_next: Any) -> Any:
        return call_next(config)

    with pytest.raises(TypeError, match=r"must be 'async def mw\(config, call_next\)'"):
        api.use(middleware)  # type: ignore[arg-type]


async def test_the_async_client_runs_plain_and_async_handlers(server: FlakyServer) -> None:
    server.script("/flaky", [Reply(503), Reply(200)])
    order: list[str] = []

    def plain_request(config: dict[str, Any]) -> dict[str, Any]:
        order.append("plain request")
        return config

    async def async_request(config: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)
        order.append("async request")
        config["headers"]["X-Async"] = "yes"
        return config

    async def async_rejected(error: BaseException) -> Any:
        await asyncio.sleep(0)
        order.append(f"async rejected {getattr(error, 'status', None)}")
        raise error

    def plain_response(response: Response) -> Response:
        order.append("plain response")
        return response

    async with axios_like.create_async(base_url=server.url) as api:
        api.interceptors.request.use(plain_request)
        api.interceptors.request.use(async_request)
        api.interceptors.response.use(plain_response, async_rejected)
        r = await api.get("/flaky")
    assert order == [
        "plain request",
        "async request",
        "async rejected 503",
        "plain request",
        "async request",
        "plain response",
    ]
    assert r.attempts == 2
    assert server.requests[-1].headers["x-async"] == "yes"


# ---------------------------------------------------------------- middleware


async def test_middleware_first_added_is_outermost_and_wraps_the_retry_loop(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(200)])
    api = make_client(base_url=server.url)
    log: list[str] = []

    def enter(name: str) -> Callable[[Any], Any]:
        def before(config: Any) -> Any:
            log.append(f"{name}>")
            return config

        return before

    def leave(name: str) -> Callable[[Any], Any]:
        def after(response: Any) -> Any:
            log.append(f"<{name}")
            return response

        return after

    add_middleware(api, enter("outer"), after=leave("outer"))
    add_middleware(api, enter("inner"), after=leave("inner"))
    api.interceptors.request.use(lambda config: log.append("attempt") or config)
    r = await api.get("/flaky")
    assert log == ["outer>", "inner>", "attempt", "attempt", "attempt", "<inner", "<outer"]
    assert r.attempts == 3
    assert server.count("/flaky") == 3


async def test_middleware_may_change_the_config_it_passes_on(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    seen: list[Any] = []

    def reroute(config: Any) -> Any:
        return {**config, "url": "/v2" + config["url"], "headers": {"X-Version": "2"}}

    add_middleware(api, reroute)
    api.interceptors.request.use(lambda config: seen.append(config["url"]) or config)
    r = await api.get("/users")
    assert seen == ["/v2/users"]
    assert server.requests[-1].path == "/v2/users"
    assert server.requests[-1].headers["x-version"] == "2"
    assert r.config["url"] == "/v2/users"


async def test_middleware_may_short_circuit_with_a_cached_response(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    cached = fake_response({"url": "/cached"}, json={"from": "cache"})
    add_middleware(api, lambda config: cached)
    api.interceptors.request.use(lambda config: pytest.fail("the retry loop ran"))
    r = await api.get("/x")
    assert r is cached
    assert r.data == {"from": "cache"}
    assert server.requests == []


async def test_middleware_may_call_call_next_twice(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/n", [Reply(200, json=1), Reply(200, json=2)])
    api = make_client(base_url=server.url)
    add_middleware(api, times=2)
    r = await api.get("/n")
    assert r.data == 2
    assert server.count("/n") == 2


async def test_middleware_must_return_a_response_and_pass_a_good_config(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    add_middleware(api, after=lambda response: response.data)
    with pytest.raises(TypeError, match=r"middleware .*amw|middleware .*mw"):
        await api.get("/x")
    bad = make_client(base_url=server.url)
    add_middleware(bad, lambda config: {**config, "max_retries": -1})
    with pytest.raises(axios_like.ConfigError, match="max_retries: must be an int >= 0"):
        await bad.get("/x")
    worse = make_client(base_url=server.url)
    add_middleware(worse, lambda config: "GET /x")
    with pytest.raises(TypeError, match=r"middleware must return the request config \(a dict\)"):
        await worse.get("/x")
    assert len(server.requests) == 1


async def test_middleware_sees_every_error_once(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/gone", [Reply(404)])
    api = make_client(base_url=server.url)
    seen: list[BaseException] = []

    if api.is_async:

        async def amw(config: Any, call_next: Any) -> Any:
            try:
                return await call_next(config)
            except HTTPStatusError as exc:
                seen.append(exc)
                raise

        api.client.use(amw)
    else:

        def mw(config: Any, call_next: Any) -> Any:
            try:
                return call_next(config)
            except HTTPStatusError as exc:
                seen.append(exc)
                raise

        api.client.use(mw)  # type: ignore[arg-type]
    with pytest.raises(HTTPStatusError) as info:
        await api.get("/gone")
    assert seen == [info.value]
    assert info.value.status == 404


# ---------------------------------------------------------------- snapshots


async def test_use_during_an_async_call_affects_only_later_calls(server: FlakyServer) -> None:
    server.script("/flaky", [Reply(503), Reply(200)])
    started, release = asyncio.Event(), asyncio.Event()
    late: list[str] = []

    async def gate(config: dict[str, Any]) -> dict[str, Any]:
        if not started.is_set():
            started.set()
            await release.wait()
        return config

    async with axios_like.create_async(base_url=server.url) as api:
        api.interceptors.request.use(gate)
        task = asyncio.create_task(api.get("/flaky"))
        await started.wait()
        api.interceptors.request.use(lambda config: late.append("request") or config)
        api.interceptors.response.use(lambda r: late.append("response") or r)

        async def mw(config: Any, call_next: Any) -> Any:
            late.append("middleware")
            return await call_next(config)

        api.use(mw)
        release.set()
        r = await task
        assert (r.attempts, late) == (2, [])
        await api.get("/later")
    assert late == ["middleware", "request", "response"]


def test_use_during_a_sync_call_in_a_thread_affects_only_later_calls(
    server: FlakyServer,
) -> None:
    server.script("/flaky", [Reply(503), Reply(200)])
    started, release = threading.Event(), threading.Event()
    late: list[str] = []
    results: list[Response] = []

    def gate(config: dict[str, Any]) -> dict[str, Any]:
        if not started.is_set():
            started.set()
            assert release.wait(10)
        return config

    with axios_like.create(base_url=server.url) as api:
        api.interceptors.request.use(gate)
        thread = threading.Thread(target=lambda: results.append(api.get("/flaky")))
        thread.start()
        assert started.wait(10)
        api.interceptors.request.use(lambda config: late.append("request") or config)
        api.interceptors.request.clear()
        api.interceptors.request.use(lambda config: late.append("request") or config)
        api.use(lambda config, call_next: late.append("middleware") or call_next(config))
        release.set()
        thread.join(10)
        assert (results[0].attempts, late) == (2, [])
        api.get("/later")
    assert late == ["middleware", "request"]


# ---------------------------------------------------------------- meta


async def test_meta_is_carried_to_interceptors_responses_and_errors(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/gone", [Reply(404)])
    api = make_client(base_url=server.url, meta={"tenant": "t1"})
    seen: list[dict[str, Any]] = []

    def read_meta(config: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(config["meta"]))
        config["meta"]["stamped"] = True
        return config

    api.interceptors.request.use(read_meta)
    api.interceptors.response.use(lambda r: seen.append(dict(r.config["meta"])) or r)
    r = await api.get("/ok", meta={"trace": 7})
    assert seen == [{"tenant": "t1", "trace": 7}, {"tenant": "t1", "trace": 7, "stamped": True}]
    assert r.config["meta"] == {"tenant": "t1", "trace": 7, "stamped": True}
    with pytest.raises(HTTPStatusError) as info:
        await api.get("/gone", meta={"trace": 8})
    assert info.value.config is not None
    assert info.value.config["meta"] == {"tenant": "t1", "trace": 8, "stamped": True}
    assert api.client.defaults["meta"] == {"tenant": "t1"}


async def test_a_replay_merges_meta_and_runs_the_attempt_again(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/private", [Reply(401), Reply(200, json={"ok": True})])
    api = make_client(base_url=server.url, max_retries=0)
    tokens = iter(["stale", "fresh"])

    def auth(config: dict[str, Any]) -> dict[str, Any]:
        config["headers"]["Authorization"] = f"Bearer {next(tokens)}"
        return config

    def on_401(error: BaseException) -> Any:
        assert isinstance(error, HTTPStatusError)
        assert error.config is not None
        if error.status == 401 and not error.config["meta"].get("replayed"):
            return axios_like.Replay(meta={"replayed": True})
        raise error

    api.interceptors.request.use(auth)
    api.interceptors.response.use(None, on_401)
    r = await api.get("/private")
    assert (r.status, r.attempts, r.config["meta"]) == (200, 2, {"replayed": True})
    assert [s.headers["authorization"] for s in server.requests] == [
        "Bearer stale",
        "Bearer fresh",
    ]
    assert [h.reason for h in r.history] == ["replay", "ok"]


# ---------------------------------------------------------------- Call, driven directly


def test_a_call_asks_no_controllers_when_it_has_none() -> None:
    from axios_like._config import library_defaults
    from axios_like._control import AttemptKind, Origin
    from axios_like._registries import Interceptors
    from axios_like._request import Call

    defaults = library_defaults()
    call = Call(
        defaults,
        "get",
        "https://api.example.com/x",
        {},
        Interceptors(allow_async=False),
        (),
        is_async=False,
    )
    bare = {**call.config, "retry_budget": None, "rate_limit_gate": None}
    assert call.ticket(bare, 1, AttemptKind.FIRST) is None
    assert call.scratch is None  # no scratch made for nobody
    asked = call.ticket(call.config, 1, AttemptKind.FIRST)
    assert asked is not None
    controllers, ticket = asked
    assert controllers == (defaults["retry_budget"], defaults["rate_limit_gate"])
    assert (ticket.origin, ticket.method, ticket.attempt) == (
        Origin("https", "api.example.com", 443),
        "GET",
        1,
    )
    assert ticket.call is call.scratch
    # a URL that does not resolve: no ticket, the attempt fails in build_request as usual
    broken = {**call.config, "url": "http://[::1/x"}
    assert call.ticket(broken, 1, AttemptKind.FIRST) is None


async def test_a_url_that_does_not_parse_fails_as_usual_with_routes(
    make_client: Callable[..., Both],
) -> None:
    api = make_client(routes={"/x": {"timeout": 1.0}})
    with pytest.raises(axios_like.InvalidURLError):
        await api.get("http://[::1/x")
