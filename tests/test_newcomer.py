"""What a new user trips over: checked api.defaults, axios's request(config) form, repr(api)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import axios_like
from axios_like.testing import instant_retries
from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import Both


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


# ---------------------------------------------------------------- api.defaults


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("max_retries", "abc", "an int >= 0"),
        ("retry_strategy", None, "retry_strategy"),
        ("timeout", -1, "timeout"),
        ("retry_status", [999], "100-599"),
        ("max_retyr", 3, "did you mean 'max_retries'"),
        ("transport", httpx.MockTransport(lambda r: httpx.Response(200)), "give it to create()"),
        ("url", "/x", "per call"),
    ],
)
def test_a_bad_write_to_defaults_names_the_key(
    flavour: str, key: str, value: object, words: str
) -> None:
    api = axios_like.create() if flavour == "sync" else axios_like.create_async()
    before = dict(api.defaults)
    with pytest.raises(axios_like.ConfigError) as caught:
        api.defaults[key] = value
    assert caught.value.key == key
    assert words in str(caught.value)
    assert dict(api.defaults) == before  # nothing half-written


def test_every_way_of_writing_defaults_is_checked() -> None:
    api = axios_like.create()
    with pytest.raises(axios_like.ConfigError, match="max_retries"):
        api.defaults.update({"timeout": 5.0, "max_retries": -1})
    assert api.defaults["timeout"] == 10.0  # the good half of a bad update is not applied
    with pytest.raises(axios_like.ConfigError, match="max_retries"):
        api.defaults.update(max_retries="x")
    with pytest.raises(axios_like.ConfigError, match="deadline"):
        api.defaults |= {"deadline": "soon"}
    assert api.defaults.setdefault("max_retries", "x") == 3  # present: returned, not written
    with pytest.raises(axios_like.ConfigError, match="base_url"):
        api.defaults.setdefault("base_url", 5)  # absent: written, so checked
    with pytest.raises(axios_like.ConfigError, match="headers"):
        api.defaults["headers"]["X-Count"] = 3  # type: ignore[assignment]
    with pytest.raises(axios_like.ConfigError, match="ASCII"):
        api.defaults["headers"]["X-Name"] = "café"
    with pytest.raises(axios_like.ConfigError, match="popitem"):
        api.defaults.popitem()
    with pytest.raises(axios_like.ConfigError, match="clear"):
        api.defaults.clear()
    with pytest.raises(axios_like.ConfigError, match="data"):
        api.defaults.update(data={"a": 1}, json={"b": 2})  # two bodies


def test_sync_defaults_refuse_async_hooks() -> None:
    async def hook(event: axios_like.RetryEvent) -> None:
        pass

    with pytest.raises(axios_like.ConfigError, match="async def"):
        axios_like.create().defaults["on_retry"] = hook
    api = axios_like.create_async()
    api.defaults["on_retry"] = hook
    assert api.defaults["on_retry"] is hook


def test_good_writes_apply_and_del_restores_the_library_default(server: FlakyServer) -> None:
    server.script("/d", [Reply(503), Reply(503), Reply(200, json={"ok": True})])
    api = axios_like.create(base_url=server.url)
    api.defaults["max_retries"] = 1
    api.defaults["headers"]["X-Team"] = "billing"
    with instant_retries(), pytest.raises(axios_like.RetryError):
        api.get("/d")
    assert server.count("/d") == 2
    assert server.requests[-1].headers["x-team"] == "billing"
    del api.defaults["max_retries"]
    assert api.defaults["max_retries"] == 3
    api.defaults["headers"]["X-Team"] = None  # type: ignore[assignment]  # None removes
    with instant_retries():
        assert api.get("/d").data == {"ok": True}
    assert "x-team" not in server.requests[-1].headers
    api.defaults["base_url"] = server.url + "/"
    del api.defaults["base_url"]
    assert "base_url" not in api.defaults
    with pytest.raises(KeyError):
        api.defaults.pop("base_url")
    assert api.defaults.pop("base_url", "none") == "none"
    api.close()


def test_headers_written_whole_replace_the_defaults_and_del_empties_them() -> None:
    with axios_like.create(headers={"X-Old": "1"}) as api:
        api.defaults["headers"] = {"X-Team": "billing", "X-Drop": None}  # None: left out
        assert list(api.defaults["headers"].items()) == [("x-team", "billing")]
        api.defaults |= {"timeout": 5.0}
        assert api.defaults["timeout"] == 5.0
        assert del_headers(api) == []
        api.defaults["headers"]["X-After"] = "ok"  # still the checked kind
        with pytest.raises(axios_like.ConfigError, match="headers"):
            api.defaults["headers"]["X-Count"] = 3  # type: ignore[assignment]
        assert list(api.defaults["headers"].items()) == [("x-after", "ok")]


def del_headers(api: axios_like.Client) -> list[tuple[str, str]]:
    del api.defaults["headers"]
    return list(api.defaults["headers"].items())


# ---------------------------------------------------------------- request(config)


async def test_request_takes_axios_config_object(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    api = make_client(base_url=server.url)
    client = api.client

    async def send(*args: Any, **kwargs: Any) -> axios_like.Response:
        result = client.request(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result  # type: ignore[no-any-return]

    r = await send({"method": "POST", "url": "/orders", "data": {"sku": "A-1"}})
    assert r.status == 200
    assert server.requests[-1].method == "POST"
    assert json.loads(server.requests[-1].body) == {"sku": "A-1"}
    r = await send({"url": "/plain"}, headers={"X-Extra": "1"})
    assert server.requests[-1].method == "GET"
    assert server.requests[-1].headers["x-extra"] == "1"
    with pytest.raises(axios_like.ConfigError, match="url: is required"):
        await send({"method": "GET"})
    with pytest.raises(axios_like.ConfigError, match="not both"):
        await send({"url": "/a"}, "/b")
    with pytest.raises(axios_like.ConfigError, match="method"):
        await send({"url": "/a", "method": 1})
    with pytest.raises(axios_like.ConfigError, match="url: is required"):
        await send("GET")
    assert len(server.requests) == 2  # the refused ones sent nothing


# ---------------------------------------------------------------- repr(api)


def test_repr_shows_the_main_settings_redacted() -> None:
    api = axios_like.create(
        base_url="https://user:hunter2@api.example.com/v1?key=s3cret",
        max_retries=5,
        max_retries_ceiling=4,
    )
    shown = repr(api)
    assert shown.startswith("<Client base_url='https://user:[redacted]@api.example.com/v1")
    assert "max_retries=5" in shown
    assert "timeout=10.0" in shown
    assert "max_retries_ceiling=4" in shown
    assert "hunter2" not in shown
    assert "s3cret" not in shown
    assert repr(axios_like.create_async()).startswith("<AsyncClient timeout=10.0 max_retries=3")


# ---------------------------------------------------------------- file bodies


async def test_a_seekable_file_body_is_rewound_for_a_retry_and_a_307(
    make_client: Callable[..., Both], server: FlakyServer, tmp_path: Any
) -> None:
    import io

    payload = b"0123456789" * 10_000  # 100 kB: several chunks
    server.script("/up", [Reply(503), Reply(200, json={})])
    server.script("/moved", [Reply(307, headers={"Location": "/landed"})])
    api = make_client(base_url=server.url)
    body = io.BytesIO(b"skip:" + payload)
    body.seek(5)  # sent from where it was given, not from 0
    with instant_retries():
        r = await api.put("/up", content=body)
    assert r.attempts == 2
    assert [s.body for s in server.requests_for("/up")] == [payload, payload]
    assert body.tell() == 5  # put back where it was
    path = tmp_path / "upload.bin"
    path.write_bytes(payload)
    with path.open("rb") as file:
        r = await api.post("/moved", content=file)
    assert r.status == 200
    assert server.requests_for("/moved")[0].body == payload
    assert server.requests_for("/landed")[0].body == payload
    assert server.requests_for("/landed")[0].headers["content-length"] == str(len(payload))


async def test_a_file_that_cannot_seek_is_never_sent_empty(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    import os

    server.script("/moved", [Reply(307, headers={"Location": "/landed"})])
    api = make_client(base_url=server.url)
    read_end, write_end = os.pipe()
    os.write(write_end, b"piped body")
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert not pipe.seekable()
        with pytest.raises(axios_like.BodyNotReplayableError):
            await api.post("/moved", content=pipe)
    assert server.requests_for("/moved")[0].body == b"piped body"
    assert server.requests_for("/landed") == []  # the redirect was not sent with no body
