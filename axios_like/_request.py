"""One call and the building of its requests (no I/O).

A :class:`Call` holds what one call runs with: the merged config (defaults <
route < request), snapshots of the registries, the ceiling, and the per-call
scratch space controllers share. The functions below check what interceptors and
middleware hand back, and turn an attempt's config into an ``httpx.Request``.
Per-call state lives here and in :class:`~axios_like._retry.RetryState`, created by
the call; nothing per call is stored on the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final, cast

import httpx

from ._body import FileUpload, check_body_length, file_body, file_kind
from ._config import (
    ATTEMPT_KEYS,
    ClientSettings,
    ConfigDict,
    attempt_copy,
    check_body,
    join_url,
    merge,
    validate,
)
from ._control import AttemptController, AttemptKind, Ticket, compose
from ._exceptions import (
    ConfigError,
    InvalidRequestError,
    InvalidURLError,
)
from ._redact import redact_url
from ._registries import Interceptors
from ._retry import RetryState
from ._routes import Routes
from ._urls import origin_for, parsed_url, resolved_url

__all__ = [
    "Call",
    "attempt_timeout",
    "build_request",
    "checked_attempt",
    "checked_config",
    "is_replayable",
    "retry_state",
    "send_kwargs",
    "with_meta",
]

logger = logging.getLogger("axios_like")


_MISSING: Final = object()


class Call:
    """What one call runs with: the merged config and snapshots of the registries."""

    __slots__ = (
        "ceiling",
        "config",
        "controllers",
        "middleware",
        "request_chain",
        "response_chain",
        "scratch",
        "stream",
    )

    def __init__(
        self,
        defaults: Mapping[str, Any],
        method: str,
        url: str | httpx.URL,
        overrides: Mapping[str, Any],
        interceptors: Interceptors,
        middleware: tuple[Any, ...],
        *,
        is_async: bool,
        stream: bool = False,
        settings: ClientSettings | None = None,
        controllers: tuple[AttemptController, ...] = (),
    ) -> None:
        if not isinstance(method, str) or not method:
            raise ConfigError("method", f"must be an HTTP method name; got {method!r}")
        if not isinstance(url, str | httpx.URL):
            raise ConfigError("url", f"must be a string; got {type(url).__name__}")
        # Either way the call owns its headers/params/meta: nothing it does reaches the client.
        routes = settings.routes if settings is not None else None
        route = _route(routes, defaults, method, url) if routes is not None else None
        if route:  # defaults < route < request (route values were validated at create())
            defaults = merge(defaults, route)
        if overrides:
            config = merge(defaults, validate(overrides, client=False, is_async=is_async))
        else:
            config = attempt_copy(defaults)
        config["method"] = method.upper()
        config["url"] = str(url)
        self.config = config
        self.request_chain = interceptors.request.snapshot()
        self.response_chain = interceptors.response.snapshot()
        self.middleware = middleware
        self.stream = stream
        self.ceiling = settings.ceiling if settings is not None else None
        #: The client's own controllers (``api.controllers``), snapshot at the call's start.
        self.controllers = controllers
        #: Per-call scratch space for controllers (``Ticket.call``), made on first use.
        self.scratch: dict[object, Any] | None = None

    def ticket(
        self, cfg: Mapping[str, Any], attempt: int, kind: AttemptKind
    ) -> tuple[tuple[AttemptController, ...], Ticket] | None:
        """The attempt's controllers and ticket; ``None`` when it has none to ask.

        ``None`` too when the URL does not resolve: the attempt then fails in
        ``build_request`` exactly as it would without controllers.
        """
        controllers = compose(cfg, self.controllers)
        if not controllers:
            return None
        try:
            origin = origin_for(cfg)
        except (InvalidURLError, httpx.InvalidURL):
            return None
        if self.scratch is None:
            self.scratch = {}
        headers = cfg["headers"]
        ticket = Ticket(origin, cfg["method"], attempt, kind, headers, cfg, self.scratch)
        return controllers, ticket


def _route(routes: Routes, defaults: Mapping[str, Any], method: str, url: str | httpx.URL) -> Any:
    """The config of the route matching this call, if any (rule 2 of ``_routes``)."""
    full = join_url(defaults.get("base_url"), str(url))
    try:
        parsed = parsed_url(full)
    except (httpx.InvalidURL, ValueError):
        return None  # the call fails later, in build_request, with the usual error
    whole = str(parsed.copy_with(query=None, fragment=None))
    return routes.match(method.upper(), whole, parsed.path)


def retry_state(call: Call, config: Mapping[str, Any], now: float) -> RetryState:
    """The call's ``RetryState``; says at DEBUG when ``max_retries_ceiling`` clamped it."""
    state = RetryState(config, start=now, replayable=is_replayable(config), ceiling=call.ceiling)
    if state.clamped and logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s: max_retries=%d, clamped to max_retries_ceiling=%d",
            config["method"],
            redact_url(join_url(config.get("base_url"), config["url"])),
            state.asked_retries,
            state.max_retries,
        )
    return state


def checked_config(given: Any, original: Mapping[str, Any], who: str) -> dict[str, Any]:
    """Check a config handed back by middleware or a request interceptor.

    The same object (mutated in place) gets a key check; a new object is
    validated in full, so a wrong value fails here, naming the key. Keys a new
    object leaves out keep their values from ``original`` (as axios falls back to
    its defaults), so ``return {"url": "/other"}`` does not lose the timeout.
    """
    if not isinstance(given, dict):
        raise TypeError(f"{who} must return the request config (a dict); got {type(given)!r}")
    if given is not original:
        unknown = given.keys() - ATTEMPT_KEYS
        if unknown:
            raise ConfigError(sorted(unknown)[0], f"unknown config key set by {who}")
        given = ConfigDict({**original, **given, **validate(given, client=False)})
    elif not given.keys() <= ATTEMPT_KEYS:
        key = sorted(given.keys() - ATTEMPT_KEYS)[0]
        raise ConfigError(key, f"unknown config key set by {who}")
    headers = given.get("headers")
    if not isinstance(headers, httpx.Headers):
        given["headers"] = httpx.Headers(headers or {})
    return cast(dict[str, Any], given)


#: Keys ``attempt_copy`` copies: an interceptor changes copies, never shared values.
_COPIED_KEYS: Final = frozenset({"headers", "params", "meta"})


def checked_attempt(cfg: dict[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the values request interceptors set in place on the attempt's copy.

    Only values that are not the merged config's own objects are checked, so the
    usual interceptor (one header set) costs a few identity checks.
    """
    changed = {
        key: value
        for key, value in cfg.items()
        if key not in _COPIED_KEYS and value is not config.get(key, _MISSING)
    }
    if changed:
        cfg.update(validate(changed, client=False))
    return cfg


def with_meta(config: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The call's config with ``meta`` merged in (after a ``Replay``)."""
    return ConfigDict({**config, "meta": {**config["meta"], **meta}})


def is_replayable(config: Mapping[str, Any]) -> bool:
    """False when the body is a one-shot stream (generator, iterator, a file that cannot seek).

    A seekable binary file is replayable: it is rewound for every send (``FileUpload``).
    """
    for key in ("content", "data"):
        body = config.get(key)
        in_memory = body is None or isinstance(body, str | bytes | bytearray | dict | list)
        if not in_memory and not file_kind(body):  # a stream, or a file that cannot seek
            return False
    return True


def attempt_timeout(timeout: Any, remaining: float | None) -> Any:
    """The attempt's timeout: the configured one, shrunk to what the deadline leaves."""
    if remaining is None:
        return timeout
    remaining = max(remaining, 0.001)
    if timeout is None:
        return remaining
    if isinstance(timeout, httpx.Timeout):
        return httpx.Timeout(
            connect=min(timeout.connect or remaining, remaining),
            read=min(timeout.read or remaining, remaining),
            write=min(timeout.write or remaining, remaining),
            pool=min(timeout.pool or remaining, remaining),
        )
    return min(timeout, remaining)


def build_request(
    http: httpx.Client | httpx.AsyncClient, cfg: Mapping[str, Any], remaining: float | None
) -> httpx.Request:
    """Turn an attempt's config into an ``httpx.Request`` (no I/O)."""
    if http.is_closed:
        raise InvalidRequestError(
            "this client is closed (close()/aclose() or the end of its with block): "
            "create a new one to send requests",
            config=cfg,
        )
    kwargs: dict[str, Any] = {
        "headers": cfg["headers"],
        "timeout": attempt_timeout(cfg["timeout"], remaining),
    }
    if cfg["params"]:
        kwargs["params"] = cfg["params"]
    get = cfg.get
    # Most requests have no body: the checks run only when one is given.
    has_body = get("data") is not None or get("json") is not None or get("content") is not None
    upload = _body_kwargs(cfg, kwargs) if has_body or get("form") or get("files") else None
    request = http.build_request(cfg["method"], resolved_url(cfg), **kwargs)
    if upload is not None:
        _attach(request, upload)
    limit = get("max_body_length")
    if limit is not None:
        check_body_length(request, limit, cfg)
    return request


def _body_kwargs(cfg: Mapping[str, Any], kwargs: dict[str, Any]) -> FileUpload | None:
    """Put the body into httpx's keywords; a file body comes back to be attached."""
    check_body(cfg)
    get = cfg.get
    data = get("data")
    if data is not None:
        kwargs["json" if isinstance(data, dict | list) else "content"] = data
    for theirs, key in (("json", "json"), ("content", "content"), ("data", "form")):
        value = get(key)
        if value is not None:
            kwargs[theirs] = value
    files = get("files")
    if files is not None:
        kwargs["files"] = files
    upload = file_body(kwargs["content"]) if "content" in kwargs else None
    if upload is not None:
        del kwargs["content"]
    return upload


def _attach(request: httpx.Request, upload: FileUpload) -> None:
    """Send a file body through ``upload`` (``Request.stream``, public in httpx)."""
    request.stream = upload
    if upload.length is not None:
        request.headers["Content-Length"] = str(upload.length)
    else:  # httpx put "Content-Length: 0" on the body-less request it built
        request.headers.pop("Content-Length", None)
        request.headers["Transfer-Encoding"] = "chunked"


def send_kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client.send`` / ``AsyncClient.send``.

    Always ``stream=True``: the shells read bodies themselves, bounded (``_body``).
    """
    kwargs: dict[str, Any] = {"follow_redirects": cfg["follow_redirects"], "stream": True}
    if cfg["auth"] is not None:
        kwargs["auth"] = cfg["auth"]
    return kwargs


def call_args(
    method: str | Mapping[str, Any], url: str | httpx.URL | None, config: Mapping[str, Any]
) -> tuple[str, str | httpx.URL, Mapping[str, Any]]:
    """``request(method, url, **config)`` or axios's ``request({"method": ..., "url": ...})``.

    >>> call_args({"method": "POST", "url": "/x", "data": {}}, None, {})
    ('POST', '/x', {'data': {}})
    >>> call_args({"url": "/x"}, None, {"timeout": 1.0})
    ('GET', '/x', {'timeout': 1.0})
    """
    if isinstance(method, Mapping):
        if url is not None:
            raise ConfigError("url", "give it inside the config dict or as an argument, not both")
        given = {**method, **config}
        verb, url = given.pop("method", "GET"), given.pop("url", None)
        if url is None:
            raise ConfigError("url", "is required: api.request({'url': '/path', ...})")
        if not isinstance(verb, str):
            raise ConfigError("method", f"must be a str such as 'GET'; got {verb!r}")
        return verb, url, given
    if url is None:
        raise ConfigError("url", f"is required: api.request({method!r}, '/path')")
    return method, url, config


def client_repr(name: str, defaults: Mapping[str, Any], settings: ClientSettings) -> str:
    """``<Client base_url='https://api.example.com' timeout=10.0 max_retries=3 ...>``, redacted."""
    parts = []
    base = defaults.get("base_url")
    if base:
        parts.append(f"base_url={redact_url(base)!r}")
    for key in ("timeout", "max_retries", "deadline", "retry_budget", "circuit_breaker"):
        parts.append(f"{key}={defaults.get(key)!r}")
    if settings.ceiling is not None:
        parts.append(f"max_retries_ceiling={settings.ceiling}")
    if settings.routes is not None:
        parts.append(f"routes={settings.routes!r}")
    return f"<{name} {' '.join(parts)}>"
