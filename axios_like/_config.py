"""Config: the typed keys, the library defaults, validation and merging.

Rules of this module:

1. Every config key is listed once, in ``_VALIDATORS``: a key that is not there
   is a :class:`ConfigError`. A validator returns the value to store (normalised:
   headers become ``httpx.Headers``, collections become frozensets) or raises
   ``ConfigError`` naming the key and the value.
2. Validation happens where the user handed the value over: at ``create()`` for
   client defaults, at the call for per-request overrides. Nothing is checked
   again deep inside a request.
3. Merging never mutates its inputs: the client's defaults, the library's
   defaults and other calls can never see what one call or interceptor did.
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import (
    AsyncIterable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    MutableMapping,
)
from typing import Any, Final, Self, TypedDict

import httpx

from ._control import CONTROLLER_KEYS, AttemptController
from ._exceptions import ConfigError
from ._hedge import Hedge
from ._models import RetryEvent
from ._redact import REDACTED, SECRET_HEADERS, redact_headers, redact_url, shown_url
from ._routes import Routes, compile_routes
from ._strategies import ExponentialBackoff, RetryStrategy

__all__ = [
    "ClientConfig",
    "RequestConfig",
    "RequestOptions",
]

#: httpx client settings: accepted by ``create()`` only, passed to ``httpx.Client``.
HTTPX_CLIENT_KEYS: Final = frozenset(
    {"transport", "limits", "verify", "http2", "proxy", "event_hooks", "cookies", "trust_env"}
)
#: Client settings that are not httpx's: given to ``create()`` only, kept off the
#: per-call config (``ClientSettings``).
CLIENT_ONLY_KEYS: Final = frozenset({"routes", "max_retries_ceiling"})
#: The body keys: at most one of the first four; ``files`` alone or with ``form``.
BODY_KEYS: Final = ("data", "json", "content", "form")
_ABSOLUTE_URL = re.compile(r"^([a-z][a-z\d+\-.]*:)?//", re.IGNORECASE)


class RequestOptions(TypedDict, total=False):
    """Per-request settings, accepted by every request method as keyword arguments.

    Any key given here replaces the client's default for this call only;
    ``headers``, ``params`` and ``meta`` merge key by key instead.
    """

    base_url: str
    headers: MutableMapping[str, str]
    params: Mapping[str, Any]
    data: Any
    json: Any
    content: str | bytes | Iterable[bytes] | AsyncIterable[bytes]
    form: Mapping[str, Any]
    files: Any
    timeout: float | httpx.Timeout | None
    max_retries: int
    retry_strategy: RetryStrategy
    retry_status: Collection[int]
    retry_after_status: Collection[int]
    retry_on: Callable[[BaseException], bool]
    max_retry_after: float
    deadline: float | None
    on_retry: Callable[[RetryEvent], Any] | None
    validate_status: Callable[[int], bool]
    follow_redirects: bool
    meta: dict[str, Any]
    auth: httpx.Auth | tuple[str, str] | None
    retry_budget: AttemptController | None
    circuit_breaker: AttemptController | None
    max_content_length: int | None
    max_body_length: int | None
    redact_headers: Collection[str]
    rate_limit_gate: AttemptController | None
    rate_limiter: AttemptController | None
    hedge: Hedge | None


class RequestConfig(RequestOptions, total=False):
    """The config of one request, as interceptors and middleware see it.

    It always has ``method``, ``url`` and ``headers`` (an ``httpx.Headers``).
    """

    url: str
    method: str


class ClientConfig(RequestConfig, total=False):
    """What ``create()`` accepts: every request setting plus httpx client settings."""

    transport: httpx.BaseTransport | httpx.AsyncBaseTransport
    limits: httpx.Limits
    verify: Any
    http2: bool
    proxy: str | httpx.URL | httpx.Proxy | None
    event_hooks: Mapping[str, list[Callable[..., Any]]]
    cookies: Any
    trust_env: bool
    routes: Mapping[str, RequestOptions]
    max_retries_ceiling: int | None


def _default_validate_status(status: int) -> bool:
    """Accept 200-299, as axios does."""
    return 200 <= status < 300


#: Keys whose rejected values may hold secrets (a token in a list of header pairs, a
#: password in a URL): error messages show only the value's type.
_SHOW_TYPE_ONLY: Final = frozenset(
    {"auth", "params", "data", "json", "content", "form", "files", "cookies", "headers"}
    | {"url", "base_url", "proxy"}
)


def _show(key: str, value: object) -> str:
    if key == "headers" and isinstance(value, Mapping):
        return repr(
            {k: (REDACTED if str(k).lower() in SECRET_HEADERS else v) for k, v in value.items()}
        )
    if key in _SHOW_TYPE_ONLY:
        return f"<{type(value).__name__}>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ConfigDict(dict[str, Any]):
    """A request config: a plain ``dict`` whose repr never shows a secret.

    Interceptors, ``Response.config``, ``error.config`` and ``RetryEvent.config``
    are ``ConfigDict``s, so printing or logging one is safe: the values of
    ``Authorization``, ``Proxy-Authorization``, ``Cookie`` and ``Set-Cookie``, URL
    passwords, query values and ``auth`` are redacted, bodies shown by type only.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        extra = self.get("redact_headers") or ()
        return "{" + ", ".join(f"{k!r}: {_shown(k, v, extra)}" for k, v in self.items()) + "}"


def _shown(key: str, value: object, extra: Collection[str] = ()) -> str:
    """How ``ConfigDict`` shows one value (``extra``: the call's ``redact_headers``)."""
    if isinstance(value, httpx.Headers):  # .raw keeps the capitalisation it was given
        return repr(
            redact_headers(
                ((k.decode("latin-1"), v.decode("latin-1")) for k, v in value.raw), extra
            )
        )
    if key == "headers" and isinstance(value, Mapping):
        return repr(redact_headers(((str(k), str(v)) for k, v in value.items()), extra))
    if key in ("url", "base_url") and isinstance(value, str | httpx.URL):
        return repr(redact_url(value))
    if key == "params" and isinstance(value, Mapping):
        return repr(dict.fromkeys(value, REDACTED))
    if key in ("auth", "cookies", "proxy") and value is not None:
        return REDACTED
    if key in BODY_KEYS or key == "files":
        return "None" if value is None else f"<{type(value).__name__}>"
    return repr(value)


def _fail(key: str, need: str, value: object) -> ConfigError:
    return ConfigError(key, f"must be {need}; got {_show(key, value)}")


#: Config keys holding user callables that the client calls (sync Client: no ``async def``).
_HOOK_KEYS: Final = frozenset({"on_retry", "retry_on", "validate_status"})
#: Hooks that must answer at once, on both clients (only ``on_retry`` may be awaited).
_SYNC_ONLY_HOOKS: Final = frozenset({"retry_on", "validate_status"})


def is_async_callable(fn: object) -> bool:
    """True for an ``async def`` function or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _v_str(key: str, value: Any) -> Any:
    if isinstance(value, str | httpx.URL):
        return str(value)
    raise _fail(key, "a string", value)


def _v_method(key: str, value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return value.upper()
    raise _fail(key, "an HTTP method name such as 'GET'", value)


def _v_headers(key: str, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise _fail(key, "a mapping of header names to values", value)
    for name, item in value.items():
        if not isinstance(name, str) or not (item is None or isinstance(item, str | bytes)):
            raise ConfigError(
                key, f"header {name!r} must map a str name to a str value; got {_show(key, value)}"
            )
        if isinstance(item, str) and not item.isascii():  # httpx encodes str values as ASCII
            raise ConfigError(
                key, f"header {name!r}: a str value must be ASCII; pass bytes for other encodings"
            )
    return value


def _v_mapping(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return value
    raise _fail(key, "a mapping", value)


def _v_any(key: str, value: Any) -> Any:
    return value


def _v_content(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):  # iterable, but surely meant as json= or form=
        raise _fail(key, "str, bytes or an (async) iterable of bytes (a dict goes in json=)", value)
    if value is None or isinstance(value, str | bytes | bytearray | Iterable | AsyncIterable):
        return value
    raise _fail(key, "str, bytes or an (async) iterable of bytes", value)


def _v_timeout(key: str, value: Any) -> Any:
    if value is None or isinstance(value, httpx.Timeout):
        return value
    if _is_number(value) and value > 0 and not math.isnan(value):
        return float(value) if not math.isinf(value) else None
    raise _fail(key, "a positive number of seconds, None or httpx.Timeout", value)


def _v_retries(key: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _fail(key, "an int >= 0", value)


def _v_seconds(key: str, value: Any) -> Any:
    if _is_number(value) and value >= 0 and not math.isnan(value):
        return float(value)
    raise _fail(key, "a number of seconds >= 0", value)


def _v_deadline(key: str, value: Any) -> Any:
    if value is None:
        return None
    if _is_number(value) and value > 0 and not math.isnan(value):
        return float(value)
    raise _fail(key, "a positive number of seconds or None", value)


def _v_strategy(key: str, value: Any) -> Any:
    if isinstance(value, RetryStrategy):
        return value
    raise _fail(key, "a RetryStrategy (FixedDelay, LinearBackoff, ExponentialBackoff, ...)", value)


def _v_statuses(key: str, value: Any) -> Any:
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        statuses = frozenset(value)
        if all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses
        ):
            return statuses
    raise _fail(key, "a collection of HTTP status codes (ints 100-599)", value)


def _v_header_names(key: str, value: Any) -> Any:
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        names = tuple(value)
        if all(isinstance(n, str) and n and n.isprintable() and ":" not in n for n in names):
            return frozenset(n.lower() for n in names)
    raise _fail(key, "a collection of header names (strings), added to the built-in list", value)


def _v_callable(key: str, value: Any) -> Any:
    if callable(value):
        return value
    raise _fail(key, "a callable", value)


def _v_optional_callable(key: str, value: Any) -> Any:
    return None if value is None else _v_callable(key, value)


def _v_bool(key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise _fail(key, "True or False", value)


def _v_auth(key: str, value: Any) -> Any:
    if value is None or isinstance(value, httpx.Auth) or callable(value):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return value
    raise _fail(key, "an httpx.Auth, a (user, password) tuple or None", value)


def _v_transport(key: str, value: Any) -> Any:
    if isinstance(value, httpx.BaseTransport | httpx.AsyncBaseTransport):
        return value
    raise _fail(key, "an httpx transport", value)


_CONTROLLER_HINT: Final = {
    "retry_budget": "axios_like.RetryBudget(...)",
    "circuit_breaker": "axios_like.CircuitBreaker(...)",
    "rate_limit_gate": "axios_like.RateLimitGate(...)",
    "rate_limiter": "axios_like.AdaptiveRateLimit(...)",
}


def _v_controller(key: str, value: Any) -> Any:
    if value is None or isinstance(value, AttemptController):
        return value
    need = _CONTROLLER_HINT.get(key, "an attempt controller")
    raise _fail(key, f"{need}, an attempt controller or None", value)


def _v_hedge(key: str, value: Any) -> Any:
    if value is None or isinstance(value, Hedge):
        return value
    raise _fail(key, "an axios_like.Hedge(...) or None", value)


#: Why ``hedge=`` is refused on the sync ``Client`` (at create(), in a route, per request).
NO_SYNC_HEDGE: Final = (
    "needs an AsyncClient (axios_like.create_async()): hedging sends a second copy while "
    "the first is still waiting, and the sync Client runs one attempt at a time per thread"
)


def _v_ceiling(key: str, value: Any) -> Any:
    return None if value is None else _v_retries(key, value)


def _v_byte_limit(key: str, value: Any) -> Any:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise _fail(key, "a number of bytes (an int >= 0) or None for no limit", value)


def _v_limits(key: str, value: Any) -> Any:
    if isinstance(value, httpx.Limits):
        return value
    raise _fail(key, "an httpx.Limits", value)


#: Every per-request key and its validator. Rule 1: nothing else is accepted.
_VALIDATORS: Final[dict[str, Callable[[str, Any], Any]]] = {
    "base_url": _v_str,
    "url": _v_str,
    "method": _v_method,
    "headers": _v_headers,
    "params": _v_mapping,
    "data": _v_any,
    "json": _v_any,
    "content": _v_content,
    "form": _v_mapping,
    "files": _v_any,
    "timeout": _v_timeout,
    "max_retries": _v_retries,
    "retry_strategy": _v_strategy,
    "retry_status": _v_statuses,
    "retry_after_status": _v_statuses,
    "retry_on": _v_callable,
    "max_retry_after": _v_seconds,
    "deadline": _v_deadline,
    "on_retry": _v_optional_callable,
    "validate_status": _v_callable,
    "follow_redirects": _v_bool,
    "meta": _v_mapping,
    "auth": _v_auth,
    "retry_budget": _v_controller,
    "circuit_breaker": _v_controller,
    "max_content_length": _v_byte_limit,
    "max_body_length": _v_byte_limit,
    "redact_headers": _v_header_names,
    "rate_limit_gate": _v_controller,
    "rate_limiter": _v_controller,
    "hedge": _v_hedge,
}

#: Keys a request config may hold (after request interceptors too).
ATTEMPT_KEYS: Final = frozenset(_VALIDATORS)

#: httpx client settings and their validators (client-level only).
_CLIENT_VALIDATORS: Final[dict[str, Callable[[str, Any], Any]]] = {
    "transport": _v_transport,
    "limits": _v_limits,
    "verify": _v_any,
    "http2": _v_bool,
    "proxy": _v_any,
    "event_hooks": _v_mapping,
    "cookies": _v_any,
    "trust_env": _v_bool,
    "routes": _v_mapping,
    "max_retries_ceiling": _v_ceiling,
}


def library_defaults() -> dict[str, Any]:
    """A fresh dict of the library's defaults (a new strategy and retry budget each time)."""
    from ._resilience import RetryBudget  # here: it imports the error tree, as _retry does
    from ._retry import is_retryable  # here, not at the top: _retry imports this module
    from ._shaping import RateLimitGate  # (and _shaping imports _retry)

    return {
        "headers": httpx.Headers(),
        "params": {},
        "meta": {},
        "timeout": 10.0,
        "max_retries": 3,
        "retry_strategy": ExponentialBackoff(base=1.0, multiplier=2.0, max_delay=30.0, jitter=0.5),
        "retry_status": frozenset({408, 429, 502, 503, 504}),
        "retry_after_status": frozenset({413, 429, 503}),
        "retry_on": is_retryable,
        "max_retry_after": 60.0,
        "deadline": None,
        "on_retry": None,
        "validate_status": _default_validate_status,
        "follow_redirects": True,
        "auth": None,
        "retry_budget": RetryBudget(),  # a fresh one per client: create() calls this once
        "circuit_breaker": None,
        "max_content_length": None,
        "max_body_length": None,
        # On by default (SPEC 7: the headers are read); one gate per client, so what
        # one client learns of an origin's quota holds for all its calls.
        "rate_limit_gate": RateLimitGate(),
        "rate_limiter": None,
        "hedge": None,  # opt-in, AsyncClient only
    }


def _unknown(key: str, *, client: bool) -> ConfigError:
    if key in HTTPX_CLIENT_KEYS:
        return ConfigError(
            key, "is an httpx client setting: give it to create(), not to a single request"
        )
    if key in CLIENT_ONLY_KEYS:
        return ConfigError(key, "is a client setting: give it to create(), not to a single request")
    known = sorted(_VALIDATORS) + (sorted(HTTPX_CLIENT_KEYS | CLIENT_ONLY_KEYS) if client else [])
    # Compare without case and underscores ("baseURL", "maxRetries"), then by
    # similarity ("max_retry", "timout"); difflib alone misses the camelCase spellings.
    folded = {k.replace("_", ""): k for k in known}
    wanted = str(key).lower().replace("_", "")
    close = [wanted] if wanted in folded else difflib.get_close_matches(wanted, folded, 1, 0.7)
    hint = f" (did you mean {folded[close[0]]!r}?)" if close else ""
    return ConfigError(key, f"unknown config key{hint}; known keys: {', '.join(known)}")


def validate(config: Mapping[str, Any], *, client: bool, is_async: bool = True) -> dict[str, Any]:
    """Check every key and value of ``config``; return the normalised copy.

    >>> validate({"max_retries": 2}, client=False)
    {'max_retries': 2}
    >>> validate({"max_retry": 2}, client=False)
    Traceback (most recent call last):
    ...
    axios_like.ConfigError: max_retry: unknown config key...
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        check = _VALIDATORS.get(key)
        if check is None and client:
            check = _CLIENT_VALIDATORS.get(key)
        if check is None:
            raise _unknown(key, client=client)
        out[key] = check(key, value)
        if not is_async and key in _HOOK_KEYS and is_async_callable(value):
            raise ConfigError(
                key, "is 'async def', which the sync Client cannot await: use a plain function"
            )
        if not is_async and key == "hedge" and value is not None:
            raise ConfigError(key, NO_SYNC_HEDGE)
        if key in _SYNC_ONLY_HOOKS and is_async_callable(value):
            # Called inside the pure decision (retry_on) or on every response
            # (validate_status): a coroutine there would count as True.
            raise ConfigError(key, "must be a plain function returning a bool, not 'async def'")
        if not is_async and key in ("content", "data") and isinstance(value, AsyncIterable):
            raise ConfigError(
                key,
                "is an async iterable, which the sync Client cannot send: use bytes or a "
                "plain iterator, or axios_like.create_async()",
            )
    check_body(out)
    return out


def check_body(config: Mapping[str, Any]) -> None:
    """Raise ``ConfigError`` if ``config`` gives more than one body."""
    given = [k for k in BODY_KEYS if config.get(k) is not None]
    if len(given) > 1:
        raise ConfigError(
            given[1], f"cannot be combined with {given[0]!r}: give the request one body"
        )
    if config.get("files") is not None and given and given[0] != "form":
        raise ConfigError("files", f"goes alone or with 'form' (multipart); not with {given[0]!r}")


def _update_headers(merged: httpx.Headers, extra: Mapping[str, Any]) -> None:
    for name, value in extra.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, bytes):  # httpx.Headers.__setitem__ takes str only
            merged.pop(name, None)
            merged.update({name.encode(): value})
        else:
            merged[name] = value


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Merge validated ``overrides`` over ``base`` into a new dict.

    Scalars replace; ``headers`` merge case-insensitively (a ``None`` value
    removes a header); ``params`` and ``meta`` merge key by key. The result owns
    its ``headers``, ``params`` and ``meta`` (copies), as ``attempt_copy`` gives.

    >>> m = merge(library_defaults(), {"headers": {"X-A": "1"}, "max_retries": 5})
    >>> m["headers"]["x-a"], m["max_retries"]
    ('1', 5)
    """
    merged = attempt_copy(base)
    for key, value in overrides.items():
        if key == "headers":
            _update_headers(merged["headers"], value)
        elif key in ("params", "meta"):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


class DefaultHeaders(httpx.Headers):
    """``api.defaults["headers"]``: an ``httpx.Headers`` whose writes are checked."""

    def __setitem__(self, key: str, value: str | None) -> None:
        _v_headers("headers", {key: value})
        if value is None:  # as in a config: None removes the header
            self.pop(key, None)
        else:
            super().__setitem__(key, value)


class Defaults(ConfigDict):
    """``api.defaults``: the request defaults of a client, checked on every write.

    Writes are validated like ``create()``'s config, so a bad value is a
    ``ConfigError`` naming the key at once, never a failure deep inside a later
    request. ``del`` (and ``pop``) of a key the library has a default for restores
    that default; other keys (``base_url``, a body) are removed.

    >>> d = Defaults(library_defaults(), is_async=False)
    >>> d["max_retries"] = 5
    >>> d["max_retries"] = "abc"
    Traceback (most recent call last):
    ...
    axios_like.ConfigError: max_retries: must be an int >= 0; got 'abc'
    >>> del d["max_retries"]; d["max_retries"]
    3
    """

    __slots__ = ("_is_async", "_on_change")

    def __init__(self, config: Mapping[str, Any], *, is_async: bool) -> None:
        super().__init__(config)
        self._is_async = is_async
        #: Called after a write that may change the controllers named (the client's hold).
        self._on_change: Callable[[], None] | None = None
        dict.__setitem__(self, "headers", DefaultHeaders(config.get("headers") or {}))

    def watch(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change()`` after every write that sets or drops a controller key."""
        self._on_change = on_change

    def _changed(self, keys: Iterable[str]) -> None:
        if self._on_change is not None and any(k in CONTROLLER_KEYS for k in keys):
            self._on_change()

    def _checked(self, config: Mapping[str, Any]) -> dict[str, Any]:
        for key in ("url", "method"):
            if key in config:
                raise ConfigError(key, "is given per call, not as a client default")
        valid = validate(config, client=False, is_async=self._is_async)
        if "headers" in valid:
            valid["headers"] = DefaultHeaders(
                {k: v for k, v in valid["headers"].items() if v is not None}
            )
        check_body({**self, **valid})
        return valid

    def __setitem__(self, key: str, value: Any) -> None:
        dict.update(self, self._checked({key: value}))
        self._changed((key,))

    def update(self, *args: Any, **kwargs: Any) -> None:
        valid = self._checked(dict(*args, **kwargs))
        dict.update(self, valid)
        self._changed(valid)

    def __ior__(self, other: Any) -> Self:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key not in self:
            if default:
                return default[0]
            raise KeyError(key)
        value = self[key]
        library = library_defaults()
        if key in library:
            dict.__setitem__(self, key, library[key])
            if key == "headers":
                dict.__setitem__(self, key, DefaultHeaders())
        else:
            dict.__delitem__(self, key)
        self._changed((key,))
        return value

    def popitem(self) -> tuple[str, Any]:
        raise ConfigError("defaults", "popitem() would drop an arbitrary key: use del or pop(key)")

    def clear(self) -> None:
        raise ConfigError(
            "defaults", "clear() would drop every default: set or del keys one by one"
        )


class ClientSettings:
    """The client-only layer of config: what no single call may change."""

    __slots__ = ("ceiling", "routes")

    def __init__(self, routes: Routes | None, ceiling: int | None) -> None:
        #: Compiled ``routes`` (``None``: the client has none; matching is skipped).
        self.routes = routes
        #: ``max_retries_ceiling``: clamps ``max_retries`` from every layer.
        self.ceiling = ceiling


def split_client_config(
    config: Mapping[str, Any], *, is_async: bool
) -> tuple[Defaults, dict[str, Any], ClientSettings]:
    """Validate ``create()``'s config: (request defaults, httpx kwargs, client settings)."""
    valid = validate(config, client=True, is_async=is_async)
    for key in ("url", "method"):
        if key in valid:
            raise ConfigError(
                key, "is given per call (api.get(url), api.request(method, url)), not to create()"
            )
    transport = valid.get("transport")
    if transport is not None and not isinstance(
        transport, httpx.AsyncBaseTransport if is_async else httpx.BaseTransport
    ):
        need = "an httpx.AsyncBaseTransport" if is_async else "an httpx.BaseTransport"
        flavour = "create_async()" if is_async else "create()"
        raise _fail("transport", f"{need} for {flavour}", transport)
    httpx_kwargs = {k: valid.pop(k) for k in list(valid) if k in HTTPX_CLIENT_KEYS}
    routes = valid.pop("routes", None)
    compiled = (
        compile_routes(routes, lambda c: validate(c, client=False, is_async=is_async))
        if routes
        else None
    )
    settings = ClientSettings(compiled, valid.pop("max_retries_ceiling", None))
    defaults = Defaults(merge(library_defaults(), valid), is_async=is_async)
    return defaults, httpx_kwargs, settings


def attempt_copy(config: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh copy of a merged config for one attempt's request interceptors.

    The mutable parts (``headers``, ``params``, ``meta``) are copied too, so what
    an interceptor changes never reaches the next attempt or the client.
    """
    fresh = ConfigDict(config)
    fresh["headers"] = config["headers"].copy()
    fresh["params"] = dict(config["params"])
    fresh["meta"] = dict(config["meta"])
    return fresh


def is_absolute_url(url: str) -> bool:
    """True for ``scheme://...`` and protocol-relative ``//host/...`` URLs."""
    return _ABSOLUTE_URL.match(url) is not None


def join_url(base_url: str | None, url: str) -> str:
    """Join as axios does: an absolute ``url`` wins; else ``base_url`` + "/" + ``url``."""
    if not base_url or _ABSOLUTE_URL.match(url):
        return url
    if not url:
        return base_url
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def shown_config_url(cfg: Mapping[str, Any]) -> str:
    """A config's URL for messages and logs: joined, ``params=`` names added, redacted.

    >>> shown_config_url({"base_url": "https://h", "url": "/a", "params": {"key": "s"}})
    'https://h/a?key=[redacted]'
    """
    return shown_url(join_url(cfg.get("base_url"), str(cfg.get("url", ""))), cfg.get("params"))
