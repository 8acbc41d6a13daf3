"""The facade runs one behaviour over both flavours."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import Both


@pytest.mark.usefixtures("instant")
async def test_503_then_200(make_client: Callable[..., Both], server: FlakyServer) -> None:
    server.script("/flaky", [Reply(503), Reply(200, json={"ok": True})])
    api = make_client(base_url=server.url)
    r = await api.get("/flaky")
    assert (r.status, r.data, r.attempts) == (200, {"ok": True}, 2)
    assert server.count("/flaky") == 2


@pytest.mark.usefixtures("instant")
async def test_retry_after_status_is_read_per_client_and_per_call(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    import axios_like

    events: list[axios_like.RetryEvent] = []
    server.script("/big", [Reply(413, headers={"Retry-After": "7"}), Reply(200, json={})])
    api = make_client(
        base_url=server.url,
        retry_status={413, 503},
        retry_strategy=axios_like.FixedDelay(0.5),
        on_retry=events.append,
    )
    r = await api.get("/big")
    assert (r.status, r.attempts) == (200, 2)
    server.script("/busy", [Reply(503, headers={"Retry-After": "7"}), Reply(200, json={})])
    r = await api.get("/busy", retry_after_status={429})  # per call: 503's header ignored
    assert (r.status, r.attempts) == (200, 2)
    assert [(e.delay, e.reason) for e in events] == [
        (7.0, "status 413, Retry-After 7s"),
        (0.5, "status 503"),
    ]


async def test_response_url_elapsed_and_raise_for_status(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    import datetime

    import axios_like

    # (redirects: test_responses_errors; the aiohttp transport these also run on has none)
    server.script("/new", [Reply(200, json={"ok": True}, delay=0.05)])
    api = make_client(base_url=server.url)
    r = await api.get("/new", params={"b": "2"})
    assert r.url == r.raw.url
    assert str(r.url) == f"{server.url}/new?b=2"
    assert isinstance(r.elapsed, datetime.timedelta)
    assert r.elapsed.total_seconds() >= 0.05
    assert r.raise_for_status() is r  # a status validate_status accepted: a no-op

    server.script("/broken", [Reply(500, body="boom")])
    r = await api.get("/broken", validate_status=lambda status: True, max_retries=0)
    assert r.status == 500  # validate_status let it through ...
    with pytest.raises(axios_like.HTTPStatusError) as info:
        r.raise_for_status()  # ... raise_for_status() does not
    assert info.value.response is r
    assert (info.value.status, info.value.reason) == (500, "status 500")
    assert (
        str(info.value) == f"GET {server.url}/broken failed with status 500 Internal Server Error"
    )
    assert info.value.config is r.config

    server.script("/moved", [Reply(304)])
    r = await api.get("/moved", validate_status=lambda s: s < 400)
    assert r.status == 304
    with pytest.raises(axios_like.HTTPStatusError):
        r.raise_for_status()  # outside 200-299, as httpx's raise_for_status()
