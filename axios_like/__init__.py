"""axios_like: an axios-style HTTP client for Python, built on httpx, with a smart retry engine.

Example::

    import axios_like

    api = axios_like.create(base_url="https://api.example.com", max_retries=3)
    r = api.get("/users/1")
    print(r.status, r.data)
"""

from __future__ import annotations

from . import transports  # noqa: F401 - axios_like.transports.aiohttp_transport()
from ._async_client import AsyncClient, AsyncMiddleware, create_async
from ._config import ClientConfig, RequestConfig, RequestOptions
from ._control import StopReason
from ._exceptions import (
    AxiosLikeError,
    BodyNotReplayableError,
    BodyTooLargeError,
    CircuitOpenError,
    ConfigError,
    ConnectError,
    ConnectTimeoutError,
    ContentTooLargeError,
    DecodingError,
    HTTPStatusError,
    InvalidRequestError,
    InvalidURLError,
    NetworkError,
    PoolTimeoutError,
    ProxyError,
    RateLimitedError,
    ReadError,
    ReadTimeoutError,
    RemoteProtocolError,
    RetryError,
    StreamError,
    TimeoutError,
    TooManyRedirectsError,
    WriteError,
    WriteTimeoutError,
)
from ._hedge import Hedge
from ._models import HistoryEntry, Replay, Response, RetryEvent
from ._ratelimit import RateLimitInfo, parse_rate_limit
from ._registries import InterceptorManager, Interceptors
from ._resilience import CircuitBreaker, RetryBudget
from ._retry import is_retryable
from ._shaping import AdaptiveRateLimit, RateLimitGate
from ._strategies import (
    DecorrelatedJitter,
    ExponentialBackoff,
    FixedDelay,
    LinearBackoff,
    RetryFacts,
    RetryStrategy,
)
from ._sync_client import Client, Middleware, create
from .auth import AuthRefreshError

__version__ = "0.1.0"

__all__ = [
    "AdaptiveRateLimit",
    "AsyncClient",
    "AsyncMiddleware",
    "AuthRefreshError",
    "AxiosLikeError",
    "BodyNotReplayableError",
    "BodyTooLargeError",
    "CircuitBreaker",
    "CircuitOpenError",
    "Client",
    "ClientConfig",
    "ConfigError",
    "ConnectError",
    "ConnectTimeoutError",
    "ContentTooLargeError",
    "DecodingError",
    "DecorrelatedJitter",
    "ExponentialBackoff",
    "FixedDelay",
    "HTTPStatusError",
    "Hedge",
    "HistoryEntry",
    "InterceptorManager",
    "Interceptors",
    "InvalidRequestError",
    "InvalidURLError",
    "LinearBackoff",
    "Middleware",
    "NetworkError",
    "PoolTimeoutError",
    "ProxyError",
    "RateLimitGate",
    "RateLimitInfo",
    "RateLimitedError",
    "ReadError",
    "ReadTimeoutError",
    "RemoteProtocolError",
    "Replay",
    "RequestConfig",
    "RequestOptions",
    "Response",
    "RetryBudget",
    "RetryError",
    "RetryEvent",
    "RetryFacts",
    "RetryStrategy",
    "StopReason",
    "StreamError",
    "TimeoutError",
    "TooManyRedirectsError",
    "WriteError",
    "WriteTimeoutError",
    "create",
    "create_async",
    "is_retryable",
    "parse_rate_limit",
]
