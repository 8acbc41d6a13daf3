"""Type-checked only (mypy --strict), never run: the public API as users write it."""

from __future__ import annotations

import httpx

import axios_like
from axios_like import ExponentialBackoff, RequestConfig, Response, RetryEvent


def sync_usage() -> None:
    api = axios_like.create(
        {
            "base_url": "https://api.example.com",
            "headers": {"User-Agent": "billing/1.4"},
            "timeout": 10.0,
            "max_retries": 3,
            "retry_strategy": ExponentialBackoff(base=1.0, multiplier=2.0, max_delay=30.0),
        }
    )
    r: Response = api.get("/users/1", max_retries=5, headers={"X-Trace": "1"})
    status: int = r.status
    print(status, r.data, r.attempts, r.history)

    def add_token(config: RequestConfig) -> RequestConfig:
        config["headers"]["Authorization"] = "Bearer t"
        return config

    handle: int = api.interceptors.request.use(add_token)
    api.interceptors.request.eject(handle)

    def on_retry(event: RetryEvent) -> None:
        print(event.attempt, event.delay, event.reason)

    api.post("/orders", data={"sku": 1}, on_retry=on_retry, timeout=httpx.Timeout(5.0))
    with api.stream("GET", "/big") as streamed:
        for _chunk in streamed.iter_bytes():
            pass
    api.close()


async def async_usage() -> None:
    async with axios_like.create_async(base_url="https://api.example.com") as api:
        r: Response = await api.get("/users/1", deadline=5.0)
        print(r.data)
        async with api.stream("GET", "/big") as streamed:
            async for _line in streamed.aiter_lines():
                pass


async def hedge_usage() -> None:
    hedge = axios_like.Hedge(delay=None, max_hedges=1, max_extra_load=0.05)
    async with axios_like.create_async(base_url="https://api.example.com", hedge=hedge) as api:
        r: Response = await api.get("/search", hedge=axios_like.Hedge(delay=0.05))
        reasons: list[str] = [h.reason for h in r.history]
        print(reasons, r.attempts, hedge.max_hedges, hedge.delay)
        await api.get("/search", hedge=None)


def resilience_usage() -> None:
    budget = axios_like.RetryBudget(ratio=0.1, window=10.0, min_retries=3)
    breaker = axios_like.CircuitBreaker(
        failure_ratio=0.5, min_calls=20, window=10.0, break_for=5.0, max_break_for=60.0
    )
    api = axios_like.create(
        base_url="https://api.example.com",
        retry_budget=budget,
        circuit_breaker=breaker,
        max_retries_ceiling=5,
        routes={"GET /reports/**": {"max_retries": 5}, "/search/*": {"retry_budget": None}},
    )
    left: int = budget.available("https://api.example.com")
    state: str = breaker.state("https://api.example.com")
    wait: float = breaker.retry_after("https://api.example.com")
    try:
        api.get("/users/1", retry_budget=None)
    except axios_like.CircuitOpenError as exc:
        print(exc.origin, exc.retry_after, left, state, wait)
    api.close()
