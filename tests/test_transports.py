"""``axios_like.transports.aiohttp_transport()``: the optional fast engine (extra ``fast``).

The whole behavioural suite also runs over it (``AXIOS_LIKE_TEST_TRANSPORT=aiohttp``);
these tests pin what is particular to the transport itself: the missing-extra error,
that aiohttp never retries behind the engine's back, that its errors keep the facts
the retry rules need, and that httpx (not aiohttp) owns headers and cookies.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import httpx
import pytest

import axios_like
from axios_like import ConnectError, ReadError
from axios_like.testing.server import FlakyServer, Reply


def test_missing_extra_is_an_import_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # import aiohttp -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'axios-like\[fast\]'"):
        axios_like.transports.aiohttp_transport()


aiohttp = pytest.importorskip("aiohttp")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


async def test_a_reset_get_with_no_retries_reaches_the_server_once(server: FlakyServer) -> None:
    server.script("/r", [Reply(action="reset"), Reply(200)])
    transport = axios_like.transports.aiohttp_transport()
    async with axios_like.create_async(base_url=server.url, transport=transport) as api:
        with pytest.raises(ReadError) as info:
            await api.get("/r", max_retries=0)
    assert info.value.reason == "connection reset"
    assert server.count("/r") == 1  # aiohttp's own silent retry is off


async def test_refused_is_a_connect_error_so_even_post_is_retried(instant: None) -> None:
    transport = axios_like.transports.aiohttp_transport()
    url = f"http://127.0.0.1:{free_port()}"
    async with axios_like.create_async(base_url=url, transport=transport) as api:
        with pytest.raises(axios_like.RetryError) as info:
            await api.post("/x", data={"a": 1}, max_retries=2)
    assert info.value.attempts == 3
    assert isinstance(info.value.__cause__, ConnectError)
    assert [h.reason for h in info.value.history] == ["connect refused"] * 3


async def test_httpx_owns_headers_and_cookies(server: FlakyServer) -> None:
    server.script("/login", [Reply(200, headers={"Set-Cookie": "sid=abc; Path=/"}, json={})])
    transport = axios_like.transports.aiohttp_transport()
    async with axios_like.create_async(base_url=server.url, transport=transport) as api:
        await api.get("/login")
        r = await api.post("/echo", content=b"raw")
    seen = server.requests_for("/echo")[0]
    assert seen.headers["cookie"] == "sid=abc"  # stored by httpx, sent once
    assert seen.headers["user-agent"].startswith("python-httpx/")
    assert "content-type" not in seen.headers  # aiohttp adds no octet-stream default
    assert (r.status, seen.body) == (200, b"raw")


async def test_a_plain_httpx_client_can_use_it(server: FlakyServer) -> None:
    server.script("/j", [Reply(200, json={"n": 1})])
    transport = axios_like.transports.aiohttp_transport()
    async with httpx.AsyncClient(transport=transport) as client:
        r = await client.get(f"{server.url}/j")
    assert (r.status_code, r.json(), r.http_version) == (200, {"n": 1}, "HTTP/1.1")


async def test_aiohttp_still_has_no_public_switch_for_its_silent_retry() -> None:
    """The transport writes ``ClientSession._retry_connection`` because aiohttp offers no
    public way to stop its own resend of an idempotent request on a broken pooled
    connection (aiohttp 3.10-3.14: neither a ``ClientSession`` argument nor a request
    argument). This fails the day aiohttp changes that: a public switch appears (use it
    instead) or the private attribute goes (the transport would then silently resend)."""
    import inspect

    public = set(inspect.signature(aiohttp.ClientSession.__init__).parameters)
    public |= set(inspect.signature(aiohttp.ClientSession._request).parameters)
    assert not {p for p in public if "retry" in p}, "aiohttp grew a public retry switch"
    assert "_retry_connection" in aiohttp.ClientSession.ATTRS
    transport = axios_like.transports.aiohttp_transport()
    session = transport._open()
    try:
        assert session._retry_connection is False  # the one attribute aiohttp reads
    finally:
        await transport.aclose()


async def test_streamed_bodies_big_bodies_and_credentials_in_the_url(server: FlakyServer) -> None:
    big = bytes(range(256)) * 1000  # 256 000 bytes: streamed chunk by chunk
    server.script("/big", [Reply(200, body=big)])
    transport = axios_like.transports.aiohttp_transport()

    async def parts() -> Any:
        for part in (b"ab", b"cd"):
            yield part

    async with httpx.AsyncClient(transport=transport) as client:
        sent = await client.post(f"{server.url}/up", content=parts())
        got = await client.get(f"{server.url}/big")
        url = server.url.replace("http://", "http://user:pw@")
        auth = await client.get(f"{url}/who", extensions={"sni_hostname": "localhost"})
    up = server.requests_for("/up")[0]
    assert (sent.status_code, up.body, up.headers["transfer-encoding"]) == (200, b"abcd", "chunked")
    assert got.content == big
    who = server.requests_for("/who")[0]
    assert (auth.status_code, who.headers["authorization"]) == (200, "Basic dXNlcjpwdw==")
