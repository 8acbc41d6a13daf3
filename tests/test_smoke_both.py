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
