"""Responses and errors (SPEC section 4): fields, decoding, the error tree, redaction, respx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

import axios_like
from axios_like import HTTPStatusError, Response
from axios_like import _exceptions as errors
from axios_like._config import validate
from axios_like._exceptions import from_httpx
from axios_like._models import decode_body
from axios_like._redact import REDACTED, redact_headers, redact_url
from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import Both


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


def raising(exc: BaseException) -> httpx.MockTransport:
    """A transport whose every request raises ``exc``."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


# ---------------------------------------------------------------- Response


async def test_response_fields(make_client: Callable[..., Both], server: FlakyServer) -> None:
    server.script(
        "/user",
        [Reply(201, headers={"X-Request-Id": "r1"}, json={"id": 1, "name": "Ada"})],
    )
    api = make_client(base_url=server.url)
    r = await api.post("/user", data={"name": "Ada"}, headers={"X-Mine": "m"})
    assert (r.status, r.status_text) == (201, "Created")
    assert r.headers["x-request-id"] == "r1"
    assert r.headers["X-REQUEST-ID"] == "r1"
    assert r.data == {"id": 1, "name": "Ada"}
    assert r.json() == r.data
    assert r.text == '{"id": 1, "name": "Ada"}'
    assert r.content == r.text.encode()
    assert isinstance(r.raw, httpx.Response)
    assert r.raw.status_code == 201
    assert isinstance(r.request, httpx.Request)
    assert (r.request.method, r.request.url) == ("POST", httpx.URL(server.url + "/user"))
    assert r.request.headers["x-mine"] == "m"
    assert (r.config["method"], r.config["url"], r.config["data"]) == (
        "POST",
        "/user",
        {"name": "Ada"},
    )
    assert r.attempts == 1
    assert len(r.history) == 1
    assert (r.history[0].attempt, r.history[0].status, r.history[0].reason) == (1, 201, "ok")
    assert repr(r) == "<Response [201 Created]>"


@pytest.mark.usefixtures("instant")
async def test_response_config_and_request_are_the_final_attempts(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(200)])
    api = make_client(base_url=server.url)
    numbers = iter(range(1, 10))
    api.interceptors.request.use(
        lambda config: config["headers"].update({"X-Attempt": str(next(numbers))}) or config
    )
    r = await api.get("/flaky")
    assert r.attempts == 3
    assert r.config["headers"]["x-attempt"] == "3"
    assert r.request.headers["x-attempt"] == "3"
    assert [h.status for h in r.history] == [503, 503, 200]


@pytest.mark.parametrize(
    ("content_type", "body", "data"),
    [
        ("application/json", b'{"a": [1, 2]}', {"a": [1, 2]}),
        ("application/problem+json; charset=utf-8", b'{"title": "x"}', {"title": "x"}),
        ("application/json", b"", ""),
        ("application/json", b"not json", "not json"),
        ("text/plain; charset=utf-8", "h\u00e9".encode(), "h\u00e9"),
        ("text/html", b"<p>hi</p>", "<p>hi</p>"),
        ("application/xml", b"<a/>", "<a/>"),
        ("application/octet-stream", b"\x00\x01\xff", b"\x00\x01\xff"),
        ("image/png", b"\x89PNG", b"\x89PNG"),
        ("application/octet-stream", b"plain ascii", b"plain ascii"),
        (None, b"utf-8 text \xc3\xa9", "utf-8 text \u00e9"),
        (None, b"\xff\xfe\x00 not utf-8", b"\xff\xfe\x00 not utf-8"),
        (None, b"", ""),
    ],
)
async def test_data_is_decoded_the_axios_way(
    make_client: Callable[..., Both],
    server: FlakyServer,
    content_type: str | None,
    body: bytes,
    data: Any,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    server.script("/body", [Reply(200, headers=headers, body=body)])
    api = make_client(base_url=server.url)
    r = await api.get("/body")
    assert r.headers.get("content-type") == content_type
    assert r.data == data
    assert type(r.data) is type(data)
    assert r.data is r.data  # decoded once
    assert decode_body(httpx.Response(200, headers=headers, content=body)) == data


async def test_validate_status_decides_what_is_an_error(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/missing", [Reply(404, json={"error": "nope"})])
    server.script("/ok", [Reply(200)])
    lenient = make_client(base_url=server.url, validate_status=lambda status: status < 500)
    r = await lenient.get("/missing")
    assert (r.status, r.data) == (404, {"error": "nope"})
    strict = make_client(base_url=server.url)
    with pytest.raises(HTTPStatusError):
        await strict.get("/ok", validate_status=lambda status: status == 201)
    assert (await strict.get("/missing", validate_status=lambda s: True)).status == 404


async def test_http_status_error_fields(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/gone", [Reply(410, json={"why": "deleted"})])
    api = make_client(base_url=server.url, headers={"X-Client": "c"})
    with pytest.raises(HTTPStatusError) as info:
        await api.delete("/gone")
    error = info.value
    assert (error.status, error.response.status, error.response.data) == (
        410,
        410,
        {"why": "deleted"},
    )
    assert error.request is error.response.request
    assert error.request.method == "DELETE"
    assert error.config is error.response.config
    assert error.config["url"] == "/gone"
    assert error.config["headers"]["x-client"] == "c"
    assert error.reason == "status 410"
    assert str(error) == f"DELETE {server.url}/gone failed with status 410 Gone"
    assert isinstance(error, axios_like.AxiosLikeError)
    assert error.__cause__ is None


def test_http_status_error_raised_by_hand_takes_the_response_config() -> None:
    raw = httpx.Response(200, request=httpx.Request("GET", "http://h/x"))
    response = Response(raw, {"url": "/x", "meta": {"k": 1}})
    error = HTTPStatusError("soft error", response=response)
    assert (error.status, error.config, error.request) == (200, response.config, raw.request)
    assert str(error) == "soft error"
    assert error.message == "soft error"


# ---------------------------------------------------------------- the error tree


def _req() -> httpx.Request:
    return httpx.Request("GET", "http://h/x")


#: (httpx exception, our class, may_have_reached_server or None when not a NetworkError, reason)
MAPPING: list[tuple[Exception, type[errors.AxiosLikeError], bool | None, str]] = [
    (
        httpx.ConnectTimeout("t", request=_req()),
        errors.ConnectTimeoutError,
        False,
        "connect timeout",
    ),
    (httpx.ReadTimeout("t", request=_req()), errors.ReadTimeoutError, True, "read timeout"),
    (httpx.WriteTimeout("t", request=_req()), errors.WriteTimeoutError, True, "write timeout"),
    (httpx.PoolTimeout("t", request=_req()), errors.PoolTimeoutError, False, "pool timeout"),
    (httpx.TimeoutException("t", request=_req()), errors.TimeoutError, True, "timeout"),
    (
        httpx.ConnectError("[Errno 111] Connection refused", request=_req()),
        errors.ConnectError,
        False,
        "connect refused",
    ),
    (
        httpx.ConnectError("[Errno -2] Name or service not known", request=_req()),
        errors.ConnectError,
        False,
        "connect error",
    ),
    (
        httpx.ReadError("[Errno 104] Connection reset by peer", request=_req()),
        errors.ReadError,
        True,
        "connection reset",
    ),
    (httpx.ReadError("", request=_req()), errors.ReadError, True, "read error"),
    (httpx.WriteError("broken pipe", request=_req()), errors.WriteError, True, "write error"),
    (httpx.CloseError("c", request=_req()), errors.NetworkError, True, "network error"),
    (httpx.NetworkError("n", request=_req()), errors.NetworkError, True, "network error"),
    (
        httpx.RemoteProtocolError("Server disconnected", request=_req()),
        errors.RemoteProtocolError,
        True,
        "connection dropped",
    ),
    (httpx.ProtocolError("p", request=_req()), errors.NetworkError, True, "network error"),
    (httpx.ProxyError("407", request=_req()), errors.ProxyError, False, "proxy error"),
    (httpx.TransportError("t", request=_req()), errors.NetworkError, True, "network error"),
    (
        httpx.UnsupportedProtocol("unsupported protocol 'ftp://'", request=_req()),
        errors.InvalidURLError,
        None,
        "invalid url",
    ),
    (
        httpx.LocalProtocolError("Illegal header value", request=_req()),
        errors.InvalidRequestError,
        None,
        "invalid request",
    ),
    (
        httpx.TooManyRedirects("Exceeded", request=_req()),
        errors.TooManyRedirectsError,
        None,
        "too many redirects",
    ),
    (httpx.DecodingError("bad gzip", request=_req()), errors.DecodingError, None, "decoding error"),
    (httpx.RequestError("r", request=_req()), errors.AxiosLikeError, None, "error"),
    (httpx.InvalidURL("Invalid port: 'x'"), errors.InvalidURLError, None, "invalid url"),
    (httpx.StreamConsumed(), errors.BodyNotReplayableError, None, "body not replayable"),
    (httpx.StreamClosed(), errors.StreamError, None, "stream error"),
    (httpx.ResponseNotRead(), errors.StreamError, None, "stream error"),
    (httpx.RequestNotRead(), errors.StreamError, None, "stream error"),
    (httpx.HTTPError("h"), errors.AxiosLikeError, None, "error"),
]


@pytest.mark.parametrize(
    ("exc", "ours", "reached", "reason"), MAPPING, ids=[type(m[0]).__name__ for m in MAPPING]
)
def test_from_httpx_maps_every_httpx_error(
    exc: Exception, ours: type[errors.AxiosLikeError], reached: bool | None, reason: str
) -> None:
    config = {"method": "GET", "url": "/x"}
    error = from_httpx(exc, config, "GET", "http://h/x?token=secret")
    assert type(error) is ours
    assert error.reason == reason
    assert error.config is config
    assert str(error) == f"GET http://h/x?token={REDACTED}: {str(exc) or type(exc).__name__}"
    if reached is None:
        assert not isinstance(error, errors.NetworkError)
    else:
        assert isinstance(error, errors.NetworkError)
        assert error.may_have_reached_server is reached
    assert isinstance(error, errors.TimeoutError) is isinstance(exc, httpx.TimeoutException)
    bare = from_httpx(exc, None)
    assert (type(bare), bare.config) == (ours, None)
    assert str(bare) == (str(exc) or type(exc).__name__)


def _chained(outer: Exception, *inner: BaseException) -> Exception:
    """``outer`` whose ``__cause__`` chain runs through ``inner`` (as anyio raises them)."""
    link: BaseException = outer
    for item in inner:
        link.__cause__ = item
        link = item
    return outer


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (
            _chained(
                httpx.ConnectError("All connection attempts failed"),
                OSError("All connection attempts failed"),
                ConnectionRefusedError(111, "Connect call failed"),
            ),
            "connect refused",
        ),
        (
            _chained(
                httpx.ConnectError("All connection attempts failed"),
                ExceptionGroup("attempts", [OSError("other"), ConnectionRefusedError(111, "x")]),
            ),
            "connect refused",
        ),
        (
            _chained(httpx.ConnectError("All connection attempts failed"), OSError("unreachable")),
            "connect error",
        ),
        (_chained(httpx.ReadError(""), ConnectionResetError(104, "x")), "connection reset"),
        (_chained(httpx.ReadError(""), BrokenPipeError(32, "x")), "read error"),
    ],
)
def test_reasons_are_found_along_the_cause_chain(exc: httpx.HTTPError, reason: str) -> None:
    assert from_httpx(exc, None).reason == reason


def test_a_cyclic_cause_chain_does_not_hang() -> None:
    outer, inner = httpx.ConnectError("a"), OSError("b")
    outer.__cause__, inner.__context__ = inner, outer
    assert from_httpx(outer, None).reason == "connect error"
    deep = httpx.ReadError("")
    link: BaseException = deep
    for _ in range(100):
        link.__cause__ = OSError("link")
        link = link.__cause__
    link.__cause__ = ConnectionResetError(104, "too deep to look at")
    assert from_httpx(deep, None).reason == "read error"


def test_from_httpx_maps_a_foreign_exception_to_the_base_class() -> None:
    error = from_httpx(ValueError("odd"), None)
    assert (type(error), error.reason, str(error)) == (errors.AxiosLikeError, "error", "odd")


def test_every_mapped_class_is_in_the_tree() -> None:
    for _, ours in errors.HTTPX_MAP:
        assert issubclass(ours, axios_like.AxiosLikeError)
        assert getattr(axios_like, ours.__name__) is ours
    assert issubclass(axios_like.TimeoutError, axios_like.NetworkError)
    assert issubclass(axios_like.ConfigError, ValueError)
    assert axios_like.TimeoutError is not __builtins__["TimeoutError"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("exc", "ours", "reached", "reason"),
    [m for m in MAPPING if not isinstance(m[0], httpx.InvalidURL)],
    ids=[type(m[0]).__name__ for m in MAPPING if not isinstance(m[0], httpx.InvalidURL)],
)
async def test_errors_raised_by_a_transport_are_mapped_and_chained(
    make_client: Callable[..., Both],
    exc: Exception,
    ours: type[errors.AxiosLikeError],
    reached: bool | None,
    reason: str,
) -> None:
    api = make_client(transport=raising(exc), base_url="http://t", max_retries=0)
    with pytest.raises(axios_like.AxiosLikeError) as info:
        await api.get("/x", params={"q": "secret"}, meta={"m": 1})
    error = info.value
    assert type(error) is ours
    assert error.reason == reason
    assert error.__cause__ is exc
    assert error.config is not None
    assert (error.config["method"], error.config["url"], error.config["meta"]) == (
        "GET",
        "/x",
        {"m": 1},
    )
    assert str(error).startswith("GET http://t/x: ")
    assert "secret" not in str(error)
    assert "secret" not in repr(error)


async def test_an_invalid_url_is_an_invalid_url_error_with_config(
    make_client: Callable[..., Both],
) -> None:
    api = make_client(max_retries=3, retry_on=lambda error: True)
    for url in ("http://host:port/x", "ftp://host/x"):
        with pytest.raises(axios_like.InvalidURLError) as info:
            await api.get(url)
        assert info.value.config is not None
        assert info.value.config["url"] == url
        assert isinstance(info.value.__cause__, httpx.InvalidURL | httpx.UnsupportedProtocol)


async def test_an_httpx_status_error_from_an_event_hook_is_ours_and_redacted(
    make_client: Callable[..., Both],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, request=request)

    raised: list[httpx.HTTPStatusError] = []

    def hook(response: httpx.Response) -> None:
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raised.append(exc)
            raise

    async def ahook(response: httpx.Response) -> None:
        hook(response)

    api = make_client(
        transport=httpx.MockTransport(handler),
        base_url="http://user:pw@t",
        validate_status=lambda status: True,
        event_hooks={"response": [hook]},
    )
    if api.is_async:
        await api.close()
        api = make_client(
            transport=httpx.MockTransport(handler),
            base_url="http://user:pw@t",
            validate_status=lambda status: True,
            event_hooks={"response": [ahook]},
        )
    with pytest.raises(HTTPStatusError) as info:
        await api.get("/x", params={"token": "abc"})
    error = info.value
    assert error.__cause__ is raised[0]
    assert error.status == 404
    assert (
        str(error)
        == f"GET http://user:{REDACTED}@t/x?token={REDACTED} failed with status 404 Not Found"
    )
    assert "pw" not in str(error)
    assert "abc" not in str(error)
    assert error.config is not None
    assert error.config["url"] == "/x"


async def test_a_generator_body_sent_again_by_a_redirect_is_not_replayable(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    server.script("/moved", [Reply(307, headers={"Location": "/new"})])
    api = make_client(base_url=server.url)

    def body() -> Iterator[bytes]:
        yield b"once"

    async def abody() -> Any:
        yield b"once"

    with pytest.raises(axios_like.BodyNotReplayableError) as info:
        await api.post("/moved", content=abody() if api.is_async else body())
    assert isinstance(info.value.__cause__, httpx.StreamConsumed)
    assert info.value.config is not None
    assert info.value.config["url"] == "/moved"
    assert server.count("/moved") == 1
    assert server.count("/new") == 0


# ---------------------------------------------------------------- cancellation


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, asyncio.CancelledError])
@pytest.mark.parametrize("where", ["transport", "request interceptor", "response interceptor"])
async def test_cancellation_passes_through_unwrapped(
    make_client: Callable[..., Both],
    server: FlakyServer,
    exc_type: type[BaseException],
    where: str,
) -> None:
    exc = exc_type()
    transport = raising(exc) if where == "transport" else None
    config: dict[str, Any] = {"base_url": server.url, "max_retries": 3}
    if transport is not None:
        config["transport"] = transport
    api = make_client(config, retry_on=lambda error: True)
    seen: list[BaseException] = []

    def throw(value: Any) -> Any:
        raise exc

    if where == "request interceptor":
        api.interceptors.request.use(throw)
        api.interceptors.request.use(None, lambda e: seen.append(e))
    elif where == "response interceptor":
        api.interceptors.response.use(throw)
    if where != "response interceptor":
        api.interceptors.response.use(None, lambda e: seen.append(e))
    with pytest.raises(exc_type) as info:
        await api.get("/x")
    assert info.value is exc
    assert seen == []
    assert server.count("/x") == (1 if where == "response interceptor" else 0)


# ---------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://user:pw@example.com/a?token=abc&page=2",
            "https://user:[redacted]@example.com/a?token=[redacted]&page=[redacted]",
        ),
        ("https://token@example.com/a", "https://token@example.com/a"),
        ("https://example.com/a?flag&k=", "https://example.com/a?flag&k=[redacted]"),
        ("https://example.com/a#frag", "https://example.com/a#frag"),
        ("/relative?q=1", "/relative?q=[redacted]"),
        ("http://[::1/x", "[unparseable url]"),
        (httpx.URL("http://u:p@h/?a=1"), "http://u:[redacted]@h/?a=[redacted]"),
    ],
)
def test_redact_url(url: Any, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_headers() -> None:
    shown = redact_headers(
        [
            ("Authorization", "Bearer abc"),
            ("proxy-authorization", "Basic xyz"),
            ("Cookie", "sid=1"),
            ("SET-COOKIE", "sid=2"),
            ("Accept", "*/*"),
        ]
    )
    assert shown == {
        "Authorization": REDACTED,
        "proxy-authorization": REDACTED,
        "Cookie": REDACTED,
        "SET-COOKIE": REDACTED,
        "Accept": "*/*",
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer SECRET", "X-Bad": 1},
        {"Cookie": "sid=SECRET", "Set-Cookie": "SECRET", "X-Bad": 1},
        {"Proxy-Authorization": "SECRET", 2: "x"},
        [("Authorization", "Bearer SECRET")],
        "Authorization: Bearer SECRET",
    ],
)
def test_config_errors_never_show_secret_headers(headers: Any) -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        axios_like.create(headers=headers)
    assert "SECRET" not in str(info.value)
    assert "SECRET" not in repr(info.value)
    with pytest.raises(axios_like.ConfigError) as info:
        validate({"headers": headers}, client=False)
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("base_url", b"https://user:SECRET@h/"),
        ("url", b"https://h/?token=SECRET"),
        ("auth", "user:SECRET"),
        ("params", "token=SECRET"),
        ("content", {"password": "SECRET"}),
    ],
)
def test_config_errors_never_show_values_that_may_hold_secrets(key: str, value: Any) -> None:
    with pytest.raises(axios_like.ConfigError) as info:
        validate({key: value}, client=False)
    assert info.value.key == key
    assert "SECRET" not in str(info.value)


@pytest.mark.usefixtures("instant")
async def test_errors_logs_and_reprs_never_show_secrets(
    make_client: Callable[..., Both],
    server: FlakyServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.script("/busy", [Reply(503)])
    base = server.url.replace("http://", "http://user:PASSWORD@")
    api = make_client(
        base_url=base,
        headers={"Authorization": "Bearer TOKEN", "Cookie": "sid=COOKIE"},
        max_retries=1,
    )
    caplog.set_level(logging.INFO, logger="axios_like")
    seen: list[object] = []
    api.interceptors.request.use(lambda config: seen.append(config) or config)
    with pytest.raises(axios_like.RetryError) as info:
        await api.get(
            "/busy?api_key=KEY",
            params={"page": "KEY"},
            auth=("user", "KEY"),
            on_retry=seen.append,
            json={"password": "KEY"},
        )
    retry_error = info.value
    cause = retry_error.__cause__
    assert isinstance(cause, HTTPStatusError)
    # httpx turns the URL's user:password into Basic auth, which wins over the header
    assert server.requests[-1].headers["authorization"].startswith("Basic ")
    assert server.requests[-1].headers["cookie"] == "sid=COOKIE"
    texts = [
        str(retry_error),
        repr(retry_error),
        str(cause),
        repr(cause),
        repr(cause.response),
        caplog.text,
        *(str(h.error) for h in retry_error.history),
        # configs print safely: what interceptors get, errors carry and events hold
        repr(retry_error.config),
        str(cause.config),
        repr(cause.response.config),
        *(repr(item) for item in seen),
        *(repr(getattr(item, "config", None)) for item in seen),
    ]
    assert len(seen) == 3  # two attempts' configs, one on_retry event
    assert "'Cookie': '[redacted]'" in repr(retry_error.config)
    assert "'json': <dict>" in repr(retry_error.config)
    assert "api_key=[redacted]" in str(retry_error)
    assert ":[redacted]@" in str(retry_error)
    assert "retrying GET" in caplog.text
    for text in texts:
        for secret in ("PASSWORD", "TOKEN", "COOKIE", "KEY"):
            assert secret not in text, (secret, text)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_network_error_messages_redact_the_url(flavour: str) -> None:
    exc = httpx.ConnectError("[Errno 111] Connection refused")
    create = axios_like.create if flavour == "sync" else axios_like.create_async
    api = create(transport=raising(exc), base_url="http://u:PW@h", max_retries=0)
    if isinstance(api, axios_like.AsyncClient):
        with pytest.raises(axios_like.ConnectError) as info:
            asyncio.run(api.get("/x", params={"sig": "SIG"}))
    else:
        with api, pytest.raises(axios_like.ConnectError) as info:
            api.get("/x", params={"sig": "SIG"})
    assert str(info.value) == (f"GET http://u:{REDACTED}@h/x: [Errno 111] Connection refused")
    assert "SIG" not in repr(info.value)


# ---------------------------------------------------------------- respx


def test_respx_routes_the_sync_client() -> None:
    with respx.mock(base_url="https://api.example.com", assert_all_called=True) as mock:
        route = mock.get("/users/1").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json={"id": 1})]
        )
        with axios_like.create(base_url="https://api.example.com") as api:
            from axios_like.testing import instant_retries

            with instant_retries():
                r = api.get("/users/1", headers={"X-T": "1"})
    assert (r.status, r.data, r.attempts) == (200, {"id": 1}, 2)
    assert route.call_count == 2
    assert route.calls.last.request.headers["x-t"] == "1"


async def test_respx_routes_the_async_client() -> None:
    with respx.mock(base_url="https://api.example.com", assert_all_called=True) as mock:
        mock.post("/items", json={"name": "x"}).mock(return_value=httpx.Response(201, json={}))
        mock.get("/boom").mock(side_effect=httpx.ConnectError("refused"))
        async with axios_like.create_async(base_url="https://api.example.com") as api:
            r = await api.post("/items", data={"name": "x"})
            with pytest.raises(axios_like.ConnectError) as info:
                await api.get("/boom", max_retries=0)
    assert r.status == 201
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_config_dict_repr_redacts_a_plain_headers_mapping() -> None:
    from axios_like._config import ConfigDict

    config = ConfigDict(
        headers={"Set-Cookie": "sid=SECRET", "Accept": "*/*"},
        auth=None,
        data=None,
        content=b"SECRET",
        proxy="http://user:SECRET@proxy:3128",
        max_retries=2,
    )
    text = repr(config)
    assert "SECRET" not in text
    assert text == (
        "{'headers': {'Set-Cookie': '[redacted]', 'Accept': '*/*'}, 'auth': None, "
        "'data': None, 'content': <bytes>, 'proxy': [redacted], 'max_retries': 2}"
    )
    assert config == dict(config)  # still a plain dict to every other eye
