"""The clients the benchmarks compare, each set up the way its documentation shows.

Every contender makes one *logical call*: a GET of an absolute URL whose body is read,
with retries enabled (``retries`` retries after the first attempt, on a 503 among
other transient failures). ``zero_wait=True`` makes every wait 0 s (the retry-path
benchmark); otherwise each uses its usual exponential backoff (the happy path never
waits). A call returns the final status and raises on a transport failure.

A peer that is not installed is skipped with a note (``pip install -e '.[bench]'``).
Every URL is absolute, so no client pays for merging a ``base_url``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from _common import try_import

import axios_like

TRANSIENT = frozenset({408, 429, 502, 503, 504})


def transient(exc: BaseException) -> bool:
    """The retry predicate given to tenacity and stamina (ours and httpx-retries have one)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in TRANSIENT
    return isinstance(exc, httpx.TransportError)


@dataclass
class Sync:
    name: str
    call: Callable[[str], int]
    close: Callable[[], None]
    scale: float = 1.0  # fraction of the request count it gets (very slow peers get fewer)


@dataclass
class Async:
    name: str
    call: Callable[[str], Awaitable[int]]
    close: Callable[[], Awaitable[None]]
    scale: float = 1.0


def _axios_like_config(retries: int, zero_wait: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"max_retries": retries}
    if zero_wait:
        config["retry_strategy"] = axios_like.FixedDelay(0.0)
    return config


def quiet_stamina(stamina: Any) -> None:
    """stamina logs every retry at WARNING by default (printed when logging is not set
    up); ours logs at INFO, which costs nothing unless enabled. Turn its hooks off so
    both pay the same: nothing."""
    stamina.instrumentation.set_on_retry_hooks([])


# ---------------------------------------------------------------- sync


def sync_contenders(
    retries: int, notes: list[str], *, zero_wait: bool = False, fast: bool = True
) -> list[Sync]:
    """The sync contenders; ``fast`` adds the urllib3-backed ones."""
    out: list[Sync] = []

    raw = httpx.Client()

    def raw_call(url: str) -> int:
        return raw.get(url).status_code

    out.append(Sync("httpx (raw)", raw_call, raw.close))

    api = axios_like.create(_axios_like_config(retries, zero_wait))

    def ours(url: str) -> int:
        return api.get(url).status

    out.append(Sync("axios_like", ours, api.close))

    httpx_retries = try_import("httpx_retries", "httpx-retries", notes)
    if httpx_retries is not None:
        retry = httpx_retries.Retry(total=retries, backoff_factor=0.0 if zero_wait else 0.5)
        hr = httpx.Client(transport=httpx_retries.RetryTransport(retry=retry))

        def hr_call(url: str) -> int:
            return hr.get(url).status_code

        out.append(Sync("httpx-retries", hr_call, hr.close))

    tenacity = try_import("tenacity", "tenacity", notes)
    if tenacity is not None:
        tc = httpx.Client()
        wait = (
            tenacity.wait_none()
            if zero_wait
            else tenacity.wait_exponential_jitter(initial=1, max=30, jitter=0.5)
        )

        @tenacity.retry(
            stop=tenacity.stop_after_attempt(retries + 1),
            wait=wait,
            retry=tenacity.retry_if_exception(transient),
            reraise=True,
        )
        def tc_call(url: str) -> int:
            return tc.get(url).raise_for_status().status_code

        out.append(Sync("httpx + tenacity", tc_call, tc.close))

    stamina = try_import("stamina", "stamina", notes)
    if stamina is not None:
        quiet_stamina(stamina)
        st = httpx.Client()
        waits = {"wait_initial": 0.0, "wait_max": 0.0, "wait_jitter": 0.0} if zero_wait else {}

        @stamina.retry(on=transient, attempts=retries + 1, **waits)
        def st_call(url: str) -> int:
            return st.get(url).raise_for_status().status_code

        out.append(Sync("httpx + stamina", st_call, st.close))

    axios_python = try_import("axios_python", "axios-python", notes)
    if axios_python is not None:
        ap_config: dict[str, Any] = {"max_retries": retries}
        if zero_wait:
            ap_config["retry_strategy"] = axios_python.FixedDelay(0.0)
        ap = axios_python.create(ap_config)

        def ap_call(url: str) -> int:
            return int(ap.get(url).status_code)

        # asyncio.run() and a new connection pool per call: give it fewer calls.
        out.append(Sync("axios-python 0.2.0", ap_call, ap.close, scale=0.1))
    if fast:
        out.extend(fast_sync_contenders(retries, notes, zero_wait=zero_wait))
    return out


def fast_sync_contenders(retries: int, notes: list[str], *, zero_wait: bool) -> list[Sync]:
    """The urllib3-backed contenders: ours, httpx over the same transport, raw urllib3."""
    out: list[Sync] = []
    urllib3 = try_import("urllib3", "urllib3", notes)
    if urllib3 is None:
        return out
    transports = axios_like.transports
    api = axios_like.create(
        _axios_like_config(retries, zero_wait), transport=transports.urllib3_transport()
    )

    def ours(url: str) -> int:
        return api.get(url).status

    out.append(Sync("axios_like + urllib3_transport", ours, api.close))

    hx = httpx.Client(transport=transports.urllib3_transport())

    def hx_call(url: str) -> int:
        return hx.get(url).status_code

    out.append(Sync("httpx + urllib3_transport (raw)", hx_call, hx.close))

    pool = urllib3.PoolManager(retries=urllib3.Retry(total=retries, backoff_factor=0.0))

    def u3_call(url: str) -> int:
        return int(pool.request("GET", url).status)  # preloads (reads) the body

    out.append(Sync("urllib3 (raw)", u3_call, pool.clear))
    return out


# ---------------------------------------------------------------- async


async def async_contenders(
    retries: int, notes: list[str], *, zero_wait: bool = False, fast: bool = True
) -> list[Async]:
    """The async contenders; ``fast`` adds the aiohttp-backed ones."""
    out: list[Async] = []

    raw = httpx.AsyncClient()

    async def raw_call(url: str) -> int:
        return (await raw.get(url)).status_code

    out.append(Async("httpx (raw)", raw_call, raw.aclose))

    api = axios_like.create_async(_axios_like_config(retries, zero_wait))

    async def ours(url: str) -> int:
        return (await api.get(url)).status

    out.append(Async("axios_like", ours, api.aclose))

    httpx_retries = try_import("httpx_retries", "httpx-retries", notes)
    if httpx_retries is not None:
        retry = httpx_retries.Retry(total=retries, backoff_factor=0.0 if zero_wait else 0.5)
        hr = httpx.AsyncClient(transport=httpx_retries.RetryTransport(retry=retry))

        async def hr_call(url: str) -> int:
            return (await hr.get(url)).status_code

        out.append(Async("httpx-retries", hr_call, hr.aclose))

    tenacity = try_import("tenacity", "tenacity", notes)
    if tenacity is not None:
        tc = httpx.AsyncClient()
        wait = (
            tenacity.wait_none()
            if zero_wait
            else tenacity.wait_exponential_jitter(initial=1, max=30, jitter=0.5)
        )

        @tenacity.retry(
            stop=tenacity.stop_after_attempt(retries + 1),
            wait=wait,
            retry=tenacity.retry_if_exception(transient),
            reraise=True,
        )
        async def tc_call(url: str) -> int:
            return (await tc.get(url)).raise_for_status().status_code

        out.append(Async("httpx + tenacity", tc_call, tc.aclose))

    stamina = try_import("stamina", "stamina", notes)
    if stamina is not None:
        quiet_stamina(stamina)
        st = httpx.AsyncClient()
        waits = {"wait_initial": 0.0, "wait_max": 0.0, "wait_jitter": 0.0} if zero_wait else {}

        @stamina.retry(on=transient, attempts=retries + 1, **waits)
        async def st_call(url: str) -> int:
            return (await st.get(url)).raise_for_status().status_code

        out.append(Async("httpx + stamina", st_call, st.aclose))

    axios_python = try_import("axios_python", "axios-python", notes)
    if axios_python is not None:
        ap_config: dict[str, Any] = {"max_retries": retries}
        if zero_wait:
            ap_config["retry_strategy"] = axios_python.FixedDelay(0.0)
        ap = axios_python.create(ap_config)

        async def ap_call(url: str) -> int:
            return int((await ap.async_get(url)).status_code)

        out.append(Async("axios-python 0.2.0", ap_call, ap.aclose))

    if fast:
        out.extend(await fast_contenders(retries, notes, zero_wait=zero_wait))
    return out


async def fast_contenders(retries: int, notes: list[str], *, zero_wait: bool) -> list[Async]:
    """The aiohttp-backed contenders: httpx over httpx-aiohttp, ours, raw aiohttp."""
    out: list[Async] = []
    aiohttp = try_import("aiohttp", "aiohttp", notes)
    if aiohttp is None:
        return out

    transports = axios_like.transports
    api = axios_like.create_async(
        _axios_like_config(retries, zero_wait), transport=transports.aiohttp_transport()
    )

    async def ours(url: str) -> int:
        return (await api.get(url)).status

    out.append(Async("axios_like + aiohttp_transport", ours, api.aclose))

    httpx_aiohttp = try_import("httpx_aiohttp", "httpx-aiohttp", notes)
    if httpx_aiohttp is not None:
        hx = httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())

        async def hx_call(url: str) -> int:
            return (await hx.get(url)).status_code

        out.append(Async("httpx + httpx-aiohttp (raw)", hx_call, hx.aclose))

    holder: dict[str, Any] = {}

    async def aio_call(url: str) -> int:
        session = holder.get("session")
        if session is None:
            session = holder["session"] = aiohttp.ClientSession()
        async with session.get(url) as response:
            await response.read()
            return int(response.status)

    async def aio_close() -> None:
        if "session" in holder:
            await holder.pop("session").close()

    out.append(Async("aiohttp (raw)", aio_call, aio_close))
    return out


def run_async(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


# ---------------------------------------------------------------- fleet mode (Redis)

#: The rows that compare fleet mode with local mode: the same budget and breaker, the
#: second shared through Redis (``axios_like.redis.RedisState``).
LOCAL_ROW = "axios_like, budget + breaker (local)"
FLEET_ROW = "axios_like, budget + breaker (fleet mode, Redis)"


def _fleet_configs(retries: int, shared: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    local = {
        **_axios_like_config(retries, False),
        "retry_budget": axios_like.RetryBudget(),
        "circuit_breaker": axios_like.CircuitBreaker(),
    }
    fleet = {
        **_axios_like_config(retries, False),
        "retry_budget": axios_like.RetryBudget(shared=shared),
        "circuit_breaker": axios_like.CircuitBreaker(shared=shared),
    }
    return local, fleet


def fleet_sync_contenders(retries: int, shared: Any) -> list[Sync]:
    """Local mode and fleet mode, the same budget and breaker (``shared``: a RedisState)."""
    out: list[Sync] = []
    for name, config in zip((LOCAL_ROW, FLEET_ROW), _fleet_configs(retries, shared), strict=True):
        api = axios_like.create(config)

        def call(url: str, api: axios_like.Client = api) -> int:
            return api.get(url).status

        out.append(Sync(name, call, api.close))
    return out


async def fleet_async_contenders(retries: int, shared: Any) -> list[Async]:
    """The async twins of :func:`fleet_sync_contenders`."""
    out: list[Async] = []
    for name, config in zip((LOCAL_ROW, FLEET_ROW), _fleet_configs(retries, shared), strict=True):
        api = axios_like.create_async(config)

        async def call(url: str, api: axios_like.AsyncClient = api) -> int:
            return (await api.get(url)).status

        out.append(Async(name, call, api.aclose))
    return out
