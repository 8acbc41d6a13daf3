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
