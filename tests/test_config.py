"""Config (SPEC section 1): create(), validation of every key, merge rules, bodies."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

import axios_like
from axios_like._config import (
    HTTPX_CLIENT_KEYS,
    check_body,
    join_url,
    library_defaults,
    merge,
    validate,
)
from axios_like.testing.server import FlakyServer
from tests.conftest import Both


class Recorder:
    """An ``httpx.MockTransport`` handler that keeps every request it gets."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def _raw_names(request: httpx.Request) -> list[str]:
    return [name.decode() for name, _ in request.headers.raw]


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


# ---------------------------------------------------------------- create()


def test_create_accepts_a_dict_and_kwargs_kwargs_win(server: FlakyServer) -> None:
    api = axios_like.create({"base_url": server.url, "timeout": 5, "max_retries": 1}, timeout=7)
    with api:
        assert isinstance(api, axios_like.Client)
        assert (api.defaults["timeout"], api.defaults["max_retries"]) == (7.0, 1)
        r = api.get("/hello")
    assert (r.status, r.data["path"]) == (200, "/hello")


async def test_create_async_accepts_a_dict_and_kwargs(server: FlakyServer) -> None:
    async with axios_like.create_async({"base_url": server.url}, max_retries=2) as api:
        assert isinstance(api, axios_like.AsyncClient)
        assert api.defaults["max_retries"] == 2
        r = await api.get("/hello")
    assert r.data["path"] == "/hello"


def test_create_without_config_has_the_library_defaults() -> None:
    with axios_like.create() as api:
        d = api.defaults
        assert (d["timeout"], d["max_retries"], d["max_retry_after"], d["deadline"]) == (
            10.0,
            3,
            60.0,
            None,
        )
        assert d["retry_status"] == frozenset({408, 429, 502, 503, 504})
        assert d["retry_after_status"] == frozenset({413, 429, 503})
        assert d["retry_on"] is axios_like.is_retryable
        assert isinstance(d["retry_strategy"], axios_like.ExponentialBackoff)
        assert (d["follow_redirects"], d["meta"], d["params"]) == (True, {}, {})
        assert isinstance(d["headers"], httpx.Headers)
        assert len(d["headers"]) == 0
        assert [d["validate_status"](s) for s in (199, 200, 299, 300)] == [
            False,
            True,
            True,
            False,
        ]


# ---------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("max_retry", "max_retries"),
        ("maxRetries", "max_retries"),
        ("timout", "timeout"),
        ("baseURL", "base_url"),
        ("header", "headers"),
        ("retry_stats", "retry_status"),
    ],
)
def test_unknown_key_names_it_and_suggests_the_near_key(given: str, suggested: str) -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        axios_like.create({given: 1})
    assert info.value.key == given
    assert str(info.value).startswith(f"{given}: unknown config key (did you mean {suggested!r}?)")


def test_unknown_key_far_from_any_gets_the_list_of_keys() -> None:
    with pytest.raises(axios_like.ConfigError, match="unknown config key; known keys: auth, ") as i:
        axios_like.create(zzzz=1)  # type: ignore[call-arg]
    assert "did you mean" not in str(i.value)
    assert isinstance(i.value, ValueError)  # ConfigError is also a ValueError


def test_unknown_key_at_create_async_too() -> None:
    with pytest.raises(axios_like.ConfigError, match="did you mean 'max_retries'"):
        axios_like.create_async(max_retires=1)  # type: ignore[call-arg]


# ---------------------------------------------------------------- bad values


def _async_hook(event: object) -> None:  # a plain stand-in; see the async-hook test
    pass


BAD_VALUES: list[tuple[str, Any]] = [
    ("timeout", 0),
    ("timeout", -1),
    ("timeout", -0.5),
    ("timeout", math.nan),
    ("timeout", -math.inf),
    ("timeout", True),
    ("timeout", "10"),
    ("max_retries", -1),
    ("max_retries", True),
    ("max_retries", 1.5),
    ("max_retries", "3"),
    ("max_retries", None),
    ("max_retry_after", -1),
    ("max_retry_after", math.nan),
    ("max_retry_after", "60"),
    ("deadline", 0),
    ("deadline", -5),
    ("deadline", math.nan),
    ("deadline", False),
    ("retry_strategy", "exponential"),
    ("retry_strategy", 2.0),
    ("retry_status", "503"),
    ("retry_status", 503),
    ("retry_status", [503, "504"]),
    ("retry_status", [99]),
    ("retry_status", [600]),
    ("retry_status", [True]),
    ("retry_after_status", "503"),
    ("retry_after_status", 503),
    ("retry_after_status", [503, "429"]),
    ("retry_after_status", [600]),
    ("retry_after_status", [False]),
    ("retry_on", 5),
    ("on_retry", "log"),
    ("validate_status", None),
    ("follow_redirects", 1),
    ("follow_redirects", "yes"),
    ("headers", "X-A: 1"),
    ("headers", {"X-A": 1}),
    ("headers", {1: "a"}),
    ("headers", {"X-Name": "caf\u00e9"}),
    ("params", "a=1"),
    ("meta", ["flag"]),
    ("form", "a=1"),
    ("content", 5),
    ("content", {"a": 1}),
    ("auth", "user:password"),
    ("auth", ("only-user",)),
    ("base_url", 5),
    ("method", ""),
    ("method", 5),
    ("url", b"/x"),
    ("transport", "http"),
    ("limits", 10),
    ("http2", "yes"),
    ("trust_env", 1),
    ("event_hooks", ["hook"]),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_bad_value_is_a_config_error_naming_the_key(key: str, value: Any) -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        axios_like.create({key: value})  # type: ignore[misc]
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")
    assert "must" in str(info.value)


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        axios_like.create(max_retries="x" * 500)  # type: ignore[typeddict-item]
    assert str(info.value).endswith("...")
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("timeout", 3, 3.0),
        ("timeout", None, None),
        ("timeout", math.inf, None),
        ("max_retries", 0, 0),
        ("max_retry_after", 0, 0.0),
        ("deadline", 2, 2.0),
        ("deadline", None, None),
        ("retry_status", [503, 503, 429], frozenset({429, 503})),
        ("retry_status", (), frozenset()),
        ("retry_after_status", [503, 413, 503], frozenset({413, 503})),
        ("retry_after_status", (), frozenset()),
        ("method", "post", "POST"),
        ("base_url", httpx.URL("http://h/api"), "http://h/api"),
        ("on_retry", None, None),
        ("auth", ("user", "pw"), ("user", "pw")),
        ("auth", None, None),
        ("content", None, None),
        ("content", [b"a", b"b"], [b"a", b"b"]),
        ("follow_redirects", False, False),
    ],
)
def test_good_values_are_normalised(key: str, value: Any, stored: Any) -> None:
    assert validate({key: value}, client=False) == {key: stored}


def test_timeout_object_and_callables_are_kept_as_given() -> None:
    timeout = httpx.Timeout(1.0, read=5.0)
    auth = httpx.BasicAuth("u", "p")

    def flow(request: httpx.Request) -> httpx.Request:
        return request

    valid = validate({"timeout": timeout, "auth": auth}, client=False)
    assert valid["timeout"] is timeout
    assert valid["auth"] is auth
    assert validate({"auth": flow}, client=False)["auth"] is flow
    limits = httpx.Limits(max_connections=3)
    assert validate({"limits": limits}, client=True)["limits"] is limits


def test_a_transport_of_the_wrong_flavour_is_a_config_error() -> None:
    with pytest.raises(axios_like.ConfigError, match=r"transport: must be an httpx\.BaseTransport"):
        axios_like.create(transport=httpx.AsyncHTTPTransport())
    with pytest.raises(axios_like.ConfigError, match="AsyncBaseTransport for create_async"):
        axios_like.create_async(transport=httpx.HTTPTransport())


def test_async_hooks_are_refused_by_the_sync_client_only() -> None:
    async def hook(event: axios_like.RetryEvent) -> None:
        pass

    with pytest.raises(axios_like.ConfigError, match="on_retry: is 'async def'"):
        axios_like.create(on_retry=hook)
    api = axios_like.create_async(on_retry=hook)
    assert api.defaults["on_retry"] is hook


def test_a_non_str_key_is_a_config_error() -> None:
    with pytest.raises(axios_like.ConfigError, match="unknown config key"):
        axios_like.create({1: 2})  # type: ignore[dict-item]


# ---------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"a": 1}, "json": {"b": 2}},
        {"data": "x", "content": b"y"},
        {"json": {}, "form": {"a": "1"}},
        {"content": b"x", "form": {"a": "1"}},
        {"files": {"f": b"x"}, "json": {"a": 1}},
        {"files": {"f": b"x"}, "data": "raw"},
        {"files": {"f": b"x"}, "content": b"raw"},
    ],
)
def test_two_bodies_are_a_config_error(body: dict[str, Any]) -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        axios_like.create(body)  # type: ignore[arg-type]
    assert info.value.key in body
    with pytest.raises(axios_like.ConfigError):
        check_body(body)


def test_files_with_form_is_allowed_and_none_bodies_do_not_count() -> None:
    check_body({"files": {"f": b"x"}, "form": {"a": "1"}})
    check_body({"data": None, "json": {"a": 1}, "content": None})
    assert validate({"data": None, "json": [1]}, client=False) == {"data": None, "json": [1]}


# ---------------------------------------------------------------- at the call


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": "3"}, "max_retries"),
        ({"max_retries": False}, "max_retries"),
        ({"retries": 3}, "retries"),
        ({"data": {"a": 1}, "json": {"a": 1}}, "json"),
        ({"files": {"f": b"x"}, "json": {"a": 1}}, "files"),
        ({"headers": {"X": 1}}, "headers"),
        ({"deadline": math.nan}, "deadline"),
    ],
)
async def test_per_request_overrides_are_validated_at_the_call_nothing_sent(
    make_client: Callable[..., Both], overrides: dict[str, Any], key: str
) -> None:
    rec = Recorder()
    api = make_client(transport=httpx.MockTransport(rec), base_url="http://t")
    api.interceptors.request.use(lambda config: pytest.fail("interceptor ran"))
    with pytest.raises(axios_like.ConfigError) as info:
        await api.post("/x", **overrides)
    assert info.value.key == key
    assert rec.requests == []


@pytest.mark.parametrize("key", sorted(HTTPX_CLIENT_KEYS))
async def test_httpx_client_settings_per_request_are_a_config_error(
    make_client: Callable[..., Both], key: str
) -> None:
    rec = Recorder()
    api = make_client(transport=httpx.MockTransport(rec), base_url="http://t")
    with pytest.raises(axios_like.ConfigError, match="httpx client setting: give it to create"):
        await api.get("/x", **{key: None})
    assert rec.requests == []


async def test_bad_method_and_url_at_the_call(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    with pytest.raises(axios_like.ConfigError, match="method: must be an HTTP method"):
        await api.request("", "/x")
    with pytest.raises(axios_like.ConfigError, match="url: must be a string; got int"):
        await api.request("GET", 5)  # type: ignore[arg-type]
    assert server.requests == []


async def test_a_default_body_and_a_request_body_conflict_nothing_sent(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url, json={"default": True})
    with pytest.raises(axios_like.ConfigError, match="cannot be combined") as info:
        await api.post("/x", data="raw")
    assert info.value.config is not None
    assert info.value.config["data"] == "raw"
    assert server.requests == []


async def _chunks() -> AsyncIterator[bytes]:
    yield b"async "
    yield b"body"


@pytest.mark.parametrize("key", ["content", "data"])
def test_the_sync_client_refuses_an_async_body(key: str) -> None:
    rec = Recorder()
    body = _chunks()
    with pytest.raises(
        axios_like.ConfigError, match=f"{key}: is an async iterable, which the sync"
    ):
        axios_like.create({key: body})  # type: ignore[misc]
    api = axios_like.create(transport=httpx.MockTransport(rec), base_url="http://t")
    with api, pytest.raises(axios_like.ConfigError, match="create_async"):
        api.post("/x", **{key: body})
    assert rec.requests == []
    asyncio.run(body.aclose())


@pytest.mark.parametrize("key", ["content", "data"])
async def test_the_async_client_sends_an_async_body(server: FlakyServer, key: str) -> None:
    async with axios_like.create_async(base_url=server.url) as api:
        r = await api.post("/x", **{key: _chunks()})
    assert r.status == 200
    assert server.requests[-1].body == b"async body"


async def test_auth_client_wide_and_per_request(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url, auth=("client", "pw"))
    await api.get("/a")
    await api.get("/b", auth=httpx.BasicAuth("request", "pw"))
    await api.get("/c", auth=None)
    sent = [s.headers.get("authorization") for s in server.requests]
    assert sent == [
        "Basic " + base64.b64encode(b"client:pw").decode(),
        "Basic " + base64.b64encode(b"request:pw").decode(),
        None,
    ]


# ---------------------------------------------------------------- merge rules


async def test_scalars_replace_for_one_call_only(make_client: Callable[..., Both]) -> None:
    rec = Recorder()
    api = make_client(transport=httpx.MockTransport(rec), base_url="http://t", timeout=5)
    r = await api.get("/x", timeout=1, max_retries=0)
    assert (r.config["timeout"], r.config["max_retries"]) == (1.0, 0)
    assert rec.last.extensions["timeout"]["read"] == 1.0
    r = await api.get("/x")
    assert (r.config["timeout"], r.config["max_retries"]) == (5.0, 3)
    assert rec.last.extensions["timeout"]["read"] == 5.0


async def test_headers_merge_case_insensitively_and_keep_capitalisation(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    rec = Recorder()
    api = make_client(
        transport=httpx.MockTransport(rec),
        base_url="http://t",
        headers={"X-Api-Key": "default", "Accept": "application/x-a"},
    )
    await api.get("/x", headers={"x-api-key": "mine", "X-Extra": "e"})
    sent = rec.last.headers
    assert sent.get_list("x-api-key") == ["mine"]
    assert (sent["accept"], sent["x-extra"]) == ("application/x-a", "e")
    names = _raw_names(rec.last)
    assert "x-api-key" in names
    assert "X-Api-Key" not in names
    assert "X-Extra" in names
    assert "Accept" in names
    await api.get("/x")
    assert "X-Api-Key" in _raw_names(rec.last)
    assert "X-Extra" not in _raw_names(rec.last)
    # and on a real socket the server sees the merged values
    real = make_client(base_url=server.url, headers={"X-Api-Key": "default", "X-Keep": "k"})
    await real.get("/echo", headers={"X-API-KEY": "mine"})
    seen = server.requests[-1].headers
    assert (seen["x-api-key"], seen["x-keep"]) == ("mine", "k")


async def test_a_none_header_per_request_removes_a_default(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url, headers={"X-Default": "d", "X-Other": "o"})
    await api.get("/x", headers={"x-default": None})
    assert "x-default" not in server.requests[-1].headers
    assert server.requests[-1].headers["x-other"] == "o"
    await api.get("/x")
    assert server.requests[-1].headers["x-default"] == "d"


async def test_bytes_header_values_are_sent(make_client: Callable[..., Both]) -> None:
    rec = Recorder()
    api = make_client(transport=httpx.MockTransport(rec), base_url="http://t")
    await api.get("/x", headers={"X-Bytes": b"raw-value", "X-Latin": "caf\u00e9".encode("latin-1")})
    assert rec.last.headers["x-bytes"] == "raw-value"
    assert rec.last.headers.get_list("x-latin") == ["caf\u00e9"]  # httpx decodes as latin-1
    assert dict(rec.last.headers.raw)[b"X-Latin"] == b"caf\xe9"
    assert "X-Bytes" in _raw_names(rec.last)


async def test_params_merge_key_by_key(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url, params={"a": "1", "b": "2"})
    await api.get("/x", params={"b": "3", "c": "4"})
    assert sorted(parse_qsl(server.requests[-1].target.partition("?")[2])) == [
        ("a", "1"),
        ("b", "3"),
        ("c", "4"),
    ]
    await api.get("/x")
    assert sorted(parse_qsl(server.requests[-1].target.partition("?")[2])) == [
        ("a", "1"),
        ("b", "2"),
    ]


async def test_meta_merges_key_by_key(make_client: Callable[..., Both]) -> None:
    api = make_client(
        transport=httpx.MockTransport(Recorder()), base_url="http://t", meta={"a": 1, "b": 1}
    )
    r = await api.get("/x", meta={"b": 2, "c": 3})
    assert r.config["meta"] == {"a": 1, "b": 2, "c": 3}
    assert api.client.defaults["meta"] == {"a": 1, "b": 1}


async def test_nothing_one_call_does_reaches_another_call_or_client(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url, headers={"X-Base": "b"})
    other = make_client(base_url=server.url)

    def scribble(config: dict[str, Any]) -> dict[str, Any]:
        config["headers"]["X-Scribbled"] = "1"
        config["params"]["scribbled"] = "1"
        config["meta"]["scribbled"] = True
        return config

    handle = api.interceptors.request.use(scribble)
    r = await api.get("/one", headers={"X-One": "1"}, params={"p": "1"}, meta={"m": 1})
    assert r.config["headers"]["x-scribbled"] == "1"
    api.interceptors.request.eject(handle)

    await api.get("/two")
    await other.get("/three")
    for seen in server.requests[1:]:
        assert "x-one" not in seen.headers
        assert "x-scribbled" not in seen.headers
        assert "?" not in seen.target
    assert server.requests[1].headers["x-base"] == "b"
    assert "x-base" not in server.requests[2].headers
    defaults = api.client.defaults
    assert list(defaults["headers"].items()) == [("x-base", "b")]
    assert (defaults["params"], defaults["meta"]) == ({}, {})
    assert (other.client.defaults["params"], other.client.defaults["meta"]) == ({}, {})
    fresh = library_defaults()
    assert (len(fresh["headers"]), fresh["params"], fresh["meta"]) == (0, {}, {})


async def test_middleware_mutating_its_config_in_place_does_not_reach_defaults(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url, headers={"X-Base": "b"})

    def touch(config: dict[str, Any]) -> None:
        config["headers"]["X-Mw"] = "1"
        config["params"]["mw"] = "1"
        config["meta"]["mw"] = 1
        config["timeout"] = 1.0

    if api.is_async:

        async def amw(config: Any, call_next: Any) -> Any:
            touch(config)
            return await call_next(config)

        api.client.use(amw)
    else:

        def mw(config: Any, call_next: Any) -> Any:
            touch(config)
            return call_next(config)

        api.client.use(mw)  # type: ignore[arg-type]
    for overrides in ({}, {"max_retries": 1}):
        r = await api.get("/x", **overrides)
        assert r.config["headers"]["x-mw"] == "1"
        assert server.requests[-1].target == "/x?mw=1"
    defaults = api.client.defaults
    assert list(defaults["headers"].items()) == [("x-base", "b")]
    assert (defaults["params"], defaults["meta"], defaults["timeout"]) == ({}, {}, 10.0)


def test_merge_does_not_mutate_its_inputs() -> None:
    base = library_defaults()
    base["headers"]["X-A"] = "1"
    overrides = {"headers": {"x-a": None, "X-B": "2"}, "params": {"p": "1"}, "meta": {"m": 1}}
    merged = merge(base, overrides)
    assert list(base["headers"].items()) == [("x-a", "1")]
    assert (base["params"], base["meta"]) == ({}, {})
    assert list(merged["headers"].items()) == [("x-b", "2")]
    assert overrides["headers"] == {"x-a": None, "X-B": "2"}


# ---------------------------------------------------------------- timeout


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (2.5, {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}),
        (None, {"connect": None, "read": None, "write": None, "pool": None}),
        (httpx.Timeout(1.0, read=5.0), {"connect": 1.0, "read": 5.0, "write": 1.0, "pool": 1.0}),
    ],
)
async def test_timeout_accepts_float_none_and_httpx_timeout(
    make_client: Callable[..., Both], given: Any, expected: dict[str, Any]
) -> None:
    rec = Recorder()
    api = make_client(transport=httpx.MockTransport(rec), base_url="http://t")
    await api.get("/x")
    assert rec.last.extensions["timeout"]["read"] == 10.0  # the library default
    await api.get("/x", timeout=given)
    assert rec.last.extensions["timeout"] == expected
    per_client = make_client(transport=httpx.MockTransport(rec), base_url="http://t", timeout=given)
    await per_client.get("/x")
    assert rec.last.extensions["timeout"] == expected


@pytest.mark.parametrize("given", [None, 30.0, httpx.Timeout(30.0, read=None)])
async def test_a_deadline_shrinks_every_part_of_the_attempt_timeout(
    make_client: Callable[..., Both], given: Any
) -> None:
    rec = Recorder()
    api = make_client(transport=httpx.MockTransport(rec), base_url="http://t", deadline=2)
    await api.get("/x", timeout=given)
    parts = rec.last.extensions["timeout"]
    assert set(parts) == {"connect", "read", "write", "pool"}
    assert all(1.0 < value <= 2.0 for value in parts.values()), parts


# ---------------------------------------------------------------- what is sent


#: (body keys, bytes the server receives, its Content-Type)
BODIES: list[tuple[dict[str, Any], bytes, str | None]] = [
    ({"data": {"a": 1, "b": [True, None]}}, b'{"a":1,"b":[true,null]}', "application/json"),
    ({"data": [1, "two"]}, b'[1,"two"]', "application/json"),
    ({"data": "caf\u00e9 text"}, "caf\u00e9 text".encode(), None),
    ({"data": b"\x00\x01raw"}, b"\x00\x01raw", None),
    ({"json": {"z": None}}, b'{"z":null}', "application/json"),
    ({"json": "just a string"}, b'"just a string"', "application/json"),
    ({"content": b"bytes"}, b"bytes", None),
    ({"content": "text"}, b"text", None),
    ({"form": {"a": "1", "b": ["x", "y"]}}, b"a=1&b=x&b=y", "application/x-www-form-urlencoded"),
    ({}, b"", None),
]


async def test_bodies_reach_the_server_as_axios_sends_them(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)  # one client for all cases: creating one is slow
    for body, sent, content_type in BODIES:
        r = await api.post("/echo", **body)
        seen = server.requests[-1]
        got = (seen.method, seen.body, seen.headers.get("content-type"))
        assert got == ("POST", sent, content_type), body
        assert r.data["body"] == sent.decode("utf-8", errors="replace"), body
        if content_type == "application/json":
            assert json.loads(seen.body) == next(iter(body.values()))
    assert len(server.requests) == len(BODIES)


async def test_files_with_form_is_multipart(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    await api.post(
        "/upload", form={"field": "value"}, files={"doc": ("a.txt", b"file-bytes", "text/plain")}
    )
    seen = server.requests[-1]
    ctype = seen.headers["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    boundary = ctype.partition("boundary=")[2].encode()
    parts = seen.body.split(b"--" + boundary)
    assert len(parts) == 4  # preamble, field, file, closing "--"
    assert b'name="field"\r\n\r\nvalue\r\n' in parts[1]
    assert b'name="doc"; filename="a.txt"' in parts[2]
    assert b"file-bytes" in parts[2]
    assert b"Content-Type: text/plain" in parts[2]


async def test_params_go_in_the_query_string(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    r = await api.get("/q", params={"page": 2, "tag": ["a", "b"], "q": "x y"})
    assert server.requests[-1].target == "/q?page=2&tag=a&tag=b&q=x+y"
    assert r.data["query"] == "page=2&tag=a&tag=b&q=x+y"


# ---------------------------------------------------------------- urls


@pytest.mark.parametrize(
    ("base", "url", "joined"),
    [
        ("http://h/api", "users", "http://h/api/users"),
        ("http://h/api/", "/users", "http://h/api/users"),
        ("http://h/api", "", "http://h/api"),
        ("http://h/api", "https://other/x", "https://other/x"),
        ("http://h/api", "//cdn/x", "//cdn/x"),
        (None, "/x", "/x"),
        ("", "/x", "/x"),
    ],
)
def test_join_url_as_axios(base: str | None, url: str, joined: str) -> None:
    assert join_url(base, url) == joined


async def test_url_joins_base_url_and_an_absolute_url_wins(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url + "/api/")
    await api.get("/users")
    await api.get(server.url + "/elsewhere")
    assert [s.path for s in server.requests] == ["/api/users", "/elsewhere"]


@pytest.mark.parametrize("key", ["url", "method"])
def test_url_and_method_are_per_call_not_client_defaults(key: str) -> None:
    with pytest.raises(axios_like.ConfigError, match=rf"^{key}: is given per call"):
        axios_like.create({key: "GET" if key == "method" else "/x"})


async def test_a_relative_url_without_base_url_is_an_invalid_url(
    make_client: Callable[..., Both],
) -> None:
    sent: list[httpx.Request] = []
    api = make_client(
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))
    )
    with pytest.raises(axios_like.InvalidURLError, match="not an absolute URL") as info:
        await api.get("/users?token=s3cret", retry_on=lambda error: True)
    assert "s3cret" not in str(info.value)
    assert info.value.config is not None
    assert info.value.config["url"] == "/users?token=s3cret"
    assert sent == []


async def test_values_set_in_place_by_interceptors_are_validated(
    make_client: Callable[..., Both],
) -> None:
    sent: list[httpx.Request] = []
    api = make_client(
        base_url="https://api.example.com",
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)),
    )

    def bad_timeout(config: dict[str, Any]) -> dict[str, Any]:
        config["timeout"] = "5"
        return config

    def lower_method(config: dict[str, Any]) -> dict[str, Any]:
        config["method"] = "post"
        return config

    handle = api.interceptors.request.use(bad_timeout)
    with pytest.raises(axios_like.ConfigError, match=r"^timeout: must be a positive number"):
        await api.get("/x")
    assert sent == []
    api.interceptors.request.eject(handle)
    api.interceptors.request.use(lower_method)
    r = await api.get("/x")
    assert (r.config["method"], sent[0].method) == ("POST", "POST")
