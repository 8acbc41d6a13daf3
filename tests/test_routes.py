"""Per-route config and the max_retries ceiling (SPEC section 5), on both clients."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

import axios_like
from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import Both

pytestmark = pytest.mark.usefixtures("instant")


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


ROUTES = {
    "POST /v1/orders": {"max_retries": 0},
    "GET /reports/**": {"max_retries": 5, "headers": {"X-Route": "reports"}},
    "/items/*": {"max_retries": 1},
}


async def test_first_matching_route_supplies_config(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/reports/2024/q1", [Reply(503)] * 5 + [Reply(200)])
    api = make_client(base_url=server.url, routes=ROUTES, max_retries=1)
    r = await api.get("/reports/2024/q1")
    assert r.attempts == 6  # the route's max_retries=5, not the client's 1
    assert server.requests_for("/reports/2024/q1")[0].headers["x-route"] == "reports"


async def test_request_overrides_beat_the_route(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/reports/x", [Reply(503)] * 5)
    api = make_client(base_url=server.url, routes=ROUTES)
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/reports/x", max_retries=2)
    assert info.value.attempts == 3


async def test_method_and_single_segment_globs(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/v1/orders", [Reply(503), Reply(201)])
    server.script("/items/a/b", [Reply(503)] * 4 + [Reply(200)])
    server.script("/items/a", [Reply(503)] * 4)
    # Four failing calls in a row: about route matching, so no budget in the way.
    api = make_client(base_url=server.url, routes=ROUTES, max_retries=4, retry_budget=None)
    # POST /v1/orders: max_retries=0, so the 503 is raised as itself
    with pytest.raises(axios_like.HTTPStatusError):
        await api.post("/v1/orders", headers={"Idempotency-Key": "k"})
    # PUT /v1/orders matches no route (method given): the client's 4 retries
    assert (await api.put("/v1/orders")).status == 201
    # "/items/*" matches one segment only: /items/a/b keeps the client's 4
    assert (await api.get("/items/a/b")).attempts == 5
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/items/a")
    assert info.value.attempts == 2


async def test_whole_url_patterns(server: FlakyServer, make_client: Callable[..., Both]) -> None:
    server.script("/s", [Reply(503)] * 3)
    api = make_client(routes={f"{server.url}/*": {"max_retries": 0}}, max_retries=3)
    with pytest.raises(axios_like.HTTPStatusError):
        await api.get(f"{server.url}/s?q=1")
    assert server.count("/s") == 1


async def test_ceiling_clamps_every_layer(
    server: FlakyServer, make_client: Callable[..., Both], caplog: pytest.LogCaptureFixture
) -> None:
    server.script("/c", [Reply(503)] * 20)
    api = make_client(base_url=server.url, max_retries_ceiling=2, routes={"/c": {"max_retries": 8}})
    with (
        caplog.at_level(logging.DEBUG, logger="axios_like"),
        pytest.raises(axios_like.RetryError) as info,
    ):
        await api.get("/c", max_retries=10)
    assert info.value.attempts == 3
    assert "max_retries=10, clamped to max_retries_ceiling=2" in str(info.value)
    assert info.value.reason == "max_retries"
    assert any("clamped to max_retries_ceiling=2" in r.getMessage() for r in caplog.records)


async def test_below_the_ceiling_nothing_is_said(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/d", [Reply(503)] * 5)
    api = make_client(base_url=server.url, max_retries_ceiling=5, max_retries=1)
    with pytest.raises(axios_like.RetryError) as info:
        await api.get("/d")
    assert "(max_retries=1 reached)" in str(info.value)


@pytest.mark.parametrize(
    ("routes", "match"),
    [
        ({"v1/orders": {}}, "starts with '/'"),
        ({"GE-T /x": {}}, "not an HTTP method"),
        ({"/x?y=1": {}}, "without its query"),
        ({"/x": {"max_retry": 1}}, r"routes\['/x'\]\.max_retry"),
        ({"/x": {"timeout": -1}}, r"routes\['/x'\]\.timeout"),
        ({"/x": {"transport": None}}, "httpx client setting"),
        ({"/x": {"max_retries_ceiling": 3}}, "cannot be set per route"),
        ({"/x": 3}, "must be a config dict"),
        ({"": {}}, "non-empty string"),
        (["/x"], "routes: must be a mapping"),
    ],
)
def test_bad_routes_are_config_errors_at_create(routes: object, match: str) -> None:
    with pytest.raises(axios_like.ConfigError, match=match):
        axios_like.create(routes=routes)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["routes", "max_retries_ceiling"])
async def test_client_only_keys_are_refused_per_request(
    key: str, make_client: Callable[..., Both]
) -> None:
    api = make_client()
    with pytest.raises(axios_like.ConfigError, match="client setting"):
        await api.get("http://127.0.0.1:9/x", **{key: {}})


def test_bad_ceiling() -> None:
    with pytest.raises(axios_like.ConfigError, match="max_retries_ceiling"):
        axios_like.create(max_retries_ceiling=-1)


def test_repr_counts_the_routes() -> None:
    api = axios_like.create(routes={"GET /a/*": {"timeout": 1.0}, "/b/**": {"max_retries": 0}})
    try:
        assert repr(api).endswith(" routes=Routes(2 patterns)>")
        with axios_like.create(routes={}) as bare:
            assert "routes=" not in repr(bare)  # none: not shown
    finally:
        api.close()
