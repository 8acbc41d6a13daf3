"""The I/O-free parts of a call, shared by ``Client`` and ``AsyncClient``.

Rules of this module:

1. Nothing here sends, sleeps or awaits. The shells call these functions and do
   the I/O themselves; whatever both shells would otherwise write twice lives here.
2. Registries (interceptors, middleware) are tuples replaced on change, so a
   call that has started keeps the snapshot it took and ``use()`` during a call
   affects only later calls.
3. Per-call state lives in :class:`Call` and :class:`~axios_like._retry.RetryState`,
   created by the call; nothing per call is stored on the client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, TypeVar, cast

import httpx

from ._config import (
    _VALIDATORS,
    ClientSettings,
    ConfigDict,
    attempt_copy,
    check_body,
    is_absolute_url,
    is_async_callable,
    join_url,
    merge,
    validate,
)
from ._control import AttemptController, AttemptKind, Origin, Ticket, compose
from ._exceptions import (
    AxiosLikeError,
    ConfigError,
    HTTPStatusError,
    InvalidRequestError,
    InvalidURLError,
    from_httpx,
)
from ._models import Replay, Response, RetryEvent
from ._redact import redact_url
from ._retry import RetryState
from ._routes import Routes

__all__ = ["Call", "ControllerRegistry", "InterceptorManager", "Interceptors"]

logger = logging.getLogger("axios_like")

R = TypeVar("R")
Handler = Callable[[Any], Any]

_MISSING: Final = object()
#: Keys a request config may hold after request interceptors.
_ATTEMPT_KEYS: Final = frozenset(_VALIDATORS)
#: How much of a failed attempt's streamed body is read so its connection can be reused.
DRAIN_LIMIT: Final = 64 * 1024


# ---------------------------------------------------------------- instant mode


class _InstantMode:
    """Process-wide switch behind ``axios_like.testing.instant_retries()`` (nests)."""

    def __init__(self) -> None:
        self.depth = 0
        self.lock = threading.Lock()


INSTANT: Final = _InstantMode()


def is_instant() -> bool:
    """True while any ``instant_retries()`` block is open (in any thread)."""
    return INSTANT.depth > 0


# ---------------------------------------------------------------- registries


def describe(fn: object) -> str:
    """A handler's name for error messages."""
    return getattr(fn, "__qualname__", None) or repr(fn)


class InterceptorManager:
    """One chain of interceptors (request or response) of one client.

    ``use(on_fulfilled, on_rejected=None)`` adds a pair and returns its id;
    ``eject(id)`` removes it; ``clear()`` removes all. Handlers run in
    registration order on every attempt.

    Example::

        def add_token(config):
            config["headers"]["Authorization"] = f"Bearer {current_token()}"
            return config

        handle = api.interceptors.request.use(add_token)
        api.interceptors.request.eject(handle)
    """

    def __init__(self, kind: str, *, allow_async: bool) -> None:
        self._kind = kind
        self._allow_async = allow_async
        self._next_id = 0
        self._lock = threading.Lock()
        self.handlers: tuple[tuple[int, Handler | None, Handler | None], ...] = ()
        # (handlers, pairs): every call takes a snapshot, so it is built once per change.
        self._snapshot: tuple[tuple[Any, ...], tuple[tuple[Handler | None, Handler | None], ...]]
        self._snapshot = ((), ())

    def use(self, on_fulfilled: Handler | None = None, on_rejected: Handler | None = None) -> int:
        """Add a handler pair; either half may be ``None``. Returns the id for ``eject``."""
        for role, fn in (("on_fulfilled", on_fulfilled), ("on_rejected", on_rejected)):
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"{self._kind} interceptor {role} must be callable; got {fn!r}")
            if not self._allow_async and is_async_callable(fn):
                raise TypeError(
                    f"{self._kind} interceptor {role} {describe(fn)} is 'async def'; the sync "
                    "Client cannot await it: use axios_like.create_async() or a plain function"
                )
        if on_fulfilled is None and on_rejected is None:
            raise TypeError(f"{self._kind} interceptor: give on_fulfilled, on_rejected or both")
        with self._lock:
            self._next_id += 1
            handle = self._next_id
            self.handlers = (*self.handlers, (handle, on_fulfilled, on_rejected))
        return handle

    def eject(self, handle: int) -> bool:
        """Remove the pair ``use()`` returned ``handle`` for; ``False`` if it was not there."""
        with self._lock:
            kept = tuple(h for h in self.handlers if h[0] != handle)
            removed = len(kept) != len(self.handlers)
            self.handlers = kept
        return removed

    def clear(self) -> None:
        """Remove every handler of this chain."""
        with self._lock:
            self.handlers = ()

    def __len__(self) -> int:
        return len(self.handlers)

    def snapshot(self) -> tuple[tuple[Handler | None, Handler | None], ...]:
        """The current chain, as the pairs a call runs."""
        handlers = self.handlers
        cached = self._snapshot
        if cached[0] is not handlers:  # rebuilt only when use/eject/clear replaced the tuple
            cached = self._snapshot = (handlers, tuple((ok, err) for _, ok, err in handlers))
        return cached[1]


class Interceptors:
    """``api.interceptors``: the ``request`` and ``response`` chains."""

    def __init__(self, *, allow_async: bool) -> None:
        self.request = InterceptorManager("request", allow_async=allow_async)
        self.response = InterceptorManager("response", allow_async=allow_async)


class MiddlewareStack(Generic[R]):
    """The middleware of one client, outermost first."""

    def __init__(self, *, allow_async: bool) -> None:
        self._allow_async = allow_async
        self.items: tuple[R, ...] = ()
        self._lock = threading.Lock()

    def add(self, middleware: R) -> R:
        if not callable(middleware):
            raise TypeError(f"middleware must be callable; got {middleware!r}")
        if self._allow_async != is_async_callable(middleware):
            want = "'async def mw(config, call_next)'" if self._allow_async else "a plain function"
            raise TypeError(
                f"middleware {describe(middleware)} must be {want} on this client flavour"
            )
        with self._lock:
            self.items = (*self.items, middleware)
        return middleware


# ---------------------------------------------------------------- one call


class ControllerRegistry:
    """``api.controllers``: attempt controllers of the client itself (telemetry, ...).

    They are consulted after the ones the config names (``circuit_breaker``,
    ``retry_budget``), on every attempt of every later call.

    Example::

        api.controllers.add(my_controller)     # an axios_like AttemptController
        api.controllers.remove(my_controller)
    """

    def __init__(self) -> None:
        self.items: tuple[AttemptController, ...] = ()
        self._lock = threading.Lock()

    def add(self, controller: AttemptController) -> AttemptController:
        """Add ``controller`` (once); returns it."""
        if not isinstance(controller, AttemptController):
            raise TypeError(f"{controller!r} is not an attempt controller (admit/record)")
        with self._lock:
            if controller not in self.items:
                self.items = (*self.items, controller)
        return controller

    def remove(self, controller: AttemptController) -> bool:
        """Remove ``controller``; ``False`` if it was not there."""
        with self._lock:
            kept = tuple(c for c in self.items if c is not controller)
            removed = len(kept) != len(self.items)
            self.items = kept
        return removed

    def __len__(self) -> int:
        return len(self.items)


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
            origin = origin_of(resolved_url(cfg))
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
        unknown = given.keys() - _ATTEMPT_KEYS
        if unknown:
            raise ConfigError(sorted(unknown)[0], f"unknown config key set by {who}")
        given = ConfigDict({**original, **given, **validate(given, client=False)})
    elif not given.keys() <= _ATTEMPT_KEYS:
        key = sorted(given.keys() - _ATTEMPT_KEYS)[0]
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


def checked_middleware_result(result: object, middleware: object) -> Response:
    """Check what a middleware returned: it must be a ``Response``."""
    if isinstance(result, Response):
        return result
    raise TypeError(
        f"middleware {describe(middleware)} must return a Response (what call_next returns); "
        f"got {type(result).__name__}"
    )


def checked_response(result: Any, handler: Handler, *, may_replay: bool) -> Response | Replay:
    """Check what a response interceptor returned."""
    if isinstance(result, Response) or (may_replay and isinstance(result, Replay)):
        return result
    raise TypeError(
        f"response interceptor {describe(handler)} must return a Response"
        f"{' (or axios_like.Replay)' if may_replay else ''}; got {type(result).__name__}"
    )


def with_meta(config: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The call's config with ``meta`` merged in (after a ``Replay``)."""
    return ConfigDict({**config, "meta": {**config["meta"], **meta}})


def is_replayable(config: Mapping[str, Any]) -> bool:
    """False when the body is a one-shot stream (generator, iterator, file stream)."""
    for key in ("content", "data"):
        body = config.get(key)
        if body is not None and not isinstance(body, str | bytes | bytearray | dict | list):
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
    data, json, content, form, files = (
        get("data"),
        get("json"),
        get("content"),
        get("form"),
        get("files"),
    )
    # Most requests have no body: the checks below run only when one is given.
    if data is not None or json is not None or content is not None or form is not None:
        check_body(cfg)
        if data is not None:
            kwargs["json" if isinstance(data, dict | list) else "content"] = data
        for theirs, value in (("json", json), ("content", content), ("data", form)):
            if value is not None:
                kwargs[theirs] = value
    if files is not None:
        check_body(cfg)
        kwargs["files"] = files
    return http.build_request(cfg["method"], resolved_url(cfg), **kwargs)


def resolved_url(cfg: Mapping[str, Any]) -> httpx.URL:
    """The attempt's absolute URL: ``url`` joined to ``base_url``, parsed (memoised)."""
    url = join_url(cfg.get("base_url"), cfg["url"])
    if not url.startswith(("https://", "http://")) and not is_absolute_url(url):
        raise InvalidURLError(
            f"{redact_url(url)!r} is not an absolute URL: give an absolute url, or a base_url "
            "such as 'https://api.example.com' to join it to",
            config=cfg,
        )
    return parsed_url(url)


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: Origins by parsed URL (URLs are immutable and hashable); bounded like ``_URLS``.
_ORIGINS: dict[httpx.URL, Origin] = {}


def origin_of(url: httpx.URL) -> Origin:
    """The (scheme, host, port) that keys shared state; the port is explicit.

    >>> origin_of(httpx.URL("https://api.example.com/x?q=1"))
    Origin(scheme='https', host='api.example.com', port=443)
    """
    origin = _ORIGINS.get(url)
    if origin is None:
        scheme = url.scheme
        origin = Origin(scheme, url.host, url.port or _DEFAULT_PORTS.get(scheme, 0))
        if len(_ORIGINS) >= _URLS_MAX:
            _ORIGINS.clear()
        _ORIGINS[url] = origin
    return origin


#: Parsed URLs by text. httpx parses a ``str`` URL twice per request (~20 us, a tenth
#: of a loopback request's CPU); an ``httpx.URL`` it takes as is. URLs are immutable,
#: so one parse serves every request to the same URL. Bounded: cleared when full.
_URLS: dict[str, httpx.URL] = {}
_URLS_MAX: Final = 512


def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, from the cache when this text was parsed before.

    URLs that may carry secrets (``user:password@``, a query string) are parsed every
    time, never cached: no secret outlives its request in a process-wide cache.
    """
    parsed = _URLS.get(url)
    if parsed is None:
        parsed = httpx.URL(url)
        if "@" not in url and "?" not in url:
            if len(_URLS) >= _URLS_MAX:
                _URLS.clear()
            _URLS[url] = parsed
    return parsed


def send_kwargs(cfg: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client.send`` / ``AsyncClient.send``."""
    kwargs: dict[str, Any] = {"follow_redirects": cfg["follow_redirects"], "stream": stream}
    if cfg["auth"] is not None:
        kwargs["auth"] = cfg["auth"]
    return kwargs


def to_outcome(raw: httpx.Response, cfg: Mapping[str, Any]) -> Response | HTTPStatusError:
    """Wrap a received response; a status ``validate_status`` rejects becomes the error."""
    response = Response(raw, cfg)
    if cfg["validate_status"](raw.status_code):
        return response
    return _status_error(response)


def _status_error(response: Response) -> HTTPStatusError:
    request, raw = response.request, response.raw
    return HTTPStatusError(
        f"{request.method} {redact_url(request.url)} failed with status "
        f"{raw.status_code} {raw.reason_phrase}".rstrip(),
        response=response,
    )


def map_error(exc: Exception, cfg: Mapping[str, Any]) -> BaseException:
    """An exception raised while building, sending or reading, as the caller will see it."""
    if isinstance(exc, httpx.HTTPStatusError):  # raised by a user's httpx event hook
        # Not str(exc): httpx's message shows the URL unredacted (query values, password).
        error: BaseException = _status_error(Response(exc.response, cfg))
        error.__cause__ = exc
        return error
    # httpx.StreamError is a RuntimeError, not an HTTPError: a generator body sent
    # again by a 307 redirect raises StreamConsumed from inside send().
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL | httpx.StreamError):
        url = join_url(cfg.get("base_url"), str(cfg.get("url", "")))
        error = from_httpx(exc, cfg, str(cfg.get("method", "")), url)
        error.__cause__ = exc
        error.__suppress_context__ = True
        return error
    if isinstance(exc, AxiosLikeError) and exc.config is None:
        exc.config = cfg  # e.g. a ConfigError from build_request: every error has .config
    return exc


def failed_response(
    outcome: Response | Replay | BaseException, cause: BaseException | None
) -> httpx.Response | None:
    """The httpx response of a failed attempt, to drain and close before going on."""
    for item in (outcome, cause):
        if isinstance(item, HTTPStatusError):
            return item.response.raw
    return None


def finish(response: Response, state: RetryState) -> Response:
    """Stamp the call's attempts and history on the successful response."""
    response.attempts = state.attempts
    response.history = tuple(state.history)
    return response


def retry_event(
    state: RetryState, delay: float, reason: str, error: BaseException, now: float
) -> RetryEvent:
    """The ``on_retry`` event for the wait about to start, also logged at INFO."""
    config: Mapping[str, Any] = getattr(error, "config", None) or {}
    event = RetryEvent(
        attempt=state.attempt,
        delay=delay,
        error=error,
        config=config,
        reason=reason,
        elapsed=state.elapsed(now),
    )
    if logger.isEnabledFor(logging.INFO):
        url = join_url(config.get("base_url"), str(config.get("url", "")))
        logger.info(
            "retrying %s %s: attempt %d failed (%s); waiting %.3fs",
            config.get("method", "?"),
            redact_url(url),
            state.attempt,
            reason,
            delay,
        )
    return event


def begin_wait(state: RetryState, delay: float) -> float:
    """Seconds the shell should really sleep; under instant mode 0, counted as elapsed."""
    if INSTANT.depth > 0:
        state.skipped += delay
        return 0.0
    return delay
