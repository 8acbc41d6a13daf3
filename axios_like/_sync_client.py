"""``Client``: the sync shell. GENERATED from ``_async_client.py``: do not edit.

Edit ``_async_client.py`` and run ``python scripts/unasync.py`` (``scripts/unasync.py``).
A shell only does I/O: run interceptors and middleware, send through httpx,
close, sleep. Every decision is made by the core (``_request``, ``_outcomes``, ``_retry``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self, cast

import httpx
from typing_extensions import Unpack

from ._body import bounded, count_decoded, with_body
from ._config import (
    ClientConfig,
    Defaults,
    RequestConfig,
    RequestOptions,
    attempt_copy,
    split_client_config,
)
from ._control import (
    SEND,
    Admission,
    AttemptController,
    AttemptKind,
    Ticket,
    admit_all,
    close_call,
    record_all,
)
from ._holding import Holdings, held_controllers
from ._instant import begin_wait
from ._logs import log_gave_up
from ._models import Replay, Response, RetryEvent
from ._outcomes import (
    DRAIN_LIMIT,
    checked_middleware_result,
    checked_response,
    failed_response,
    finish,
    map_error,
    to_outcome,
    told,
)
from ._registries import ControllerRegistry, Handler, Interceptors, MiddlewareStack, describe
from ._request import (
    Call,
    build_request,
    call_args,
    checked_attempt,
    checked_config,
    client_repr,
    retry_state,
    send_kwargs,
    with_meta,
)
from ._retry import (
    Again,
    Decision,
    Done,
    Raise,
    Retry,
    RetryState,
    admitted,
    decide,
    refused,
)
from ._verbs import Verbs

__all__ = ["Client", "Middleware", "create"]

#: ``def mw(config, call_next) -> Response``; ``call_next(config)`` runs the rest.
Middleware = Callable[[RequestConfig, Callable[[RequestConfig], Response]], Response]
Outcome = Response | Replay | BaseException
#: An attempt's controllers and its ticket (``Call.ticket``).
Asked = tuple[tuple[AttemptController, ...], Ticket]


class Client(Verbs):
    """An axios-style client over one ``httpx.Client`` (one connection pool).

    Create it with :func:`axios_like.create`. Share it between
    threads; close it with ``close()`` or ``with``.

    Example::

        with axios_like.create(base_url="https://api.example.com") as api:
            r = api.get("/users/1", max_retries=5)
            print(r.status, r.data)
    """

    def __init__(
        self, config: ClientConfig | None = None, /, **kwargs: Unpack[ClientConfig]
    ) -> None:
        defaults, http_kwargs, self._settings = split_client_config(
            {**(config or {}), **kwargs}, is_async=False
        )
        #: The request defaults every call merges its overrides over.
        self.defaults: Defaults = defaults
        #: ``api.interceptors.request`` / ``.response``: ``use``, ``eject``, ``clear``.
        self.interceptors = Interceptors(allow_async=False)
        self._middleware: MiddlewareStack[Middleware] = MiddlewareStack(allow_async=False)
        #: ``api.controllers``: the client's own attempt controllers (telemetry, ...).
        self.controllers = ControllerRegistry(on_change=self._hold)
        # The controllers it holds learn it (attach), and learn when it closes (detach):
        # fleet mode's sync thread lives as long as a client holds it. They learn it
        # before the httpx client opens: an attach that raises leaves nothing open
        # (and detaches what it attached), and an httpx client that fails to open
        # detaches them all.
        self._holdings = Holdings()
        self.defaults.watch(self._hold)
        self._hold()
        try:
            self._http = httpx.Client(**http_kwargs)
        except BaseException:
            self._holdings.release(self)
            raise

    def _hold(self) -> None:
        """Tell the controllers this client holds now (defaults, routes, ``controllers``)."""
        held = held_controllers(self.defaults, self._settings.routes, self.controllers.items)
        self._holdings.hold(self, held)

    def use(self, middleware: Middleware) -> Middleware:
        """Add middleware around the whole retry loop; the first added is the outermost.

        Example::

            def timing(config, call_next):
                start = time.perf_counter()
                try:
                    return call_next(config)
                finally:
                    print(config["url"], time.perf_counter() - start)

            api.use(timing)
        """
        return self._middleware.add(middleware)

    def request(
        self,
        method: str | RequestConfig,
        url: str | httpx.URL | None = None,
        **config: Unpack[RequestOptions],
    ) -> Response:
        """Send a request through the whole pipeline and return its ``Response``.

        Either ``request("POST", "/orders", data={...})`` or axios's config-object
        form, ``request({"method": "POST", "url": "/orders", "data": {...}})``
        (``method`` defaults to ``"GET"``).
        """
        call = self._call(*call_args(method, url, config), stream=False)
        return self._next(call, 0, call.config)

    @contextmanager
    def stream(
        self, method: str, url: str | httpx.URL, **config: Unpack[RequestOptions]
    ) -> Iterator[Response]:
        """Send a request and yield its ``Response`` with the body not read yet.

        Retries happen only while opening, before the body is handed over.

        Example::

            with api.stream("GET", "/big") as r:
                for chunk in r.iter_bytes():
                    ...
        """
        call = self._call(method, url, config, stream=True)
        response = self._next(call, 0, call.config)
        try:
            yield response
        finally:
            response.raw.close()

    def __repr__(self) -> str:
        return client_repr(type(self).__name__, self.defaults, self._settings)

    def close(self) -> None:
        """Close the connection pool; the controllers it holds learn it (``detach``).

        Closing twice is harmless. A ``RedisState`` stops its sync thread when the
        last client holding it closes.
        """
        try:
            self._http.close()
        finally:
            self._holdings.release(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ the call, in order

    def _call(
        self, method: str, url: str | httpx.URL, config: Mapping[str, Any], *, stream: bool
    ) -> Call:
        """Merge this call's config and snapshot the registries (``use()`` later: no effect)."""
        interceptors, middleware = self.interceptors, self._middleware.items
        return Call(
            self.defaults,
            method,
            url,
            config,
            interceptors,
            middleware,
            is_async=False,
            stream=stream,
            settings=self._settings,
            controllers=self.controllers.items,
        )

    def _next(self, call: Call, index: int, config: Any) -> Response:
        """Middleware ``index`` onwards, then the retry loop: the order of one call."""
        if index == len(call.middleware):
            try:
                return self._retry_loop(call, config)
            except BaseException as exc:  # telemetry closes its spans; one WARNING on give-up
                close_call(call.scratch, exc)
                log_gave_up(exc)
                raise

        def call_next(given: Any) -> Response:
            return self._next(call, index + 1, checked_config(given, config, "middleware"))

        middleware = call.middleware[index]
        return checked_middleware_result(middleware(config, call_next), middleware)

    def _retry_loop(self, call: Call, config: dict[str, Any]) -> Response:
        """Attempts until ``decide()`` says done, raise or stop; the controllers are
        asked before each send (``admit``) and told each decision (``record``)."""
        state = retry_state(call, config, time.monotonic())
        kind, last_error = AttemptKind.FIRST, None
        while True:
            chain = call.request_chain
            cfg = self._run_request_chain(chain, config) if chain else config
            asked = call.ticket(cfg, state.attempts + 1, kind)
            if asked is not None:
                admission = admit_all(*asked, time.monotonic())
                if admission is not SEND:
                    self._admitted(state, asked, admission, last_error, cfg)
            send = self._send  # send, decide(), record_all(): one attempt
            step, outcome, cause, event = send(call, config, cfg, state, asked)
            if isinstance(step, Done):
                return finish(cast(Response, outcome), state)
            self._discard(failed_response(outcome, cause))
            if isinstance(step, Retry):
                assert event is not None
                last_error = event.error
                self._wait(state, step.delay, event, config)
                kind = AttemptKind.RETRY
            elif isinstance(step, Again):
                config = with_meta(config, step.meta)
                kind = AttemptKind.REPLAY
            elif isinstance(step, Raise):
                raise step.error
            else:
                raise step.error from step.error.last_error

    def _send(
        self,
        call: Call,
        config: dict[str, Any],
        cfg: dict[str, Any],
        state: RetryState,
        asked: Asked | None,
    ) -> tuple[Decision, Outcome, BaseException | None, RetryEvent | None]:
        """One attempt: send it, ``decide()`` what follows, tell the controllers."""
        started = time.monotonic()
        outcome, cause = self._attempt(call, cfg, state)
        now, wall = time.monotonic(), time.time()
        step = decide(state, outcome, now, cause=cause, now_wall=wall)
        event = told(state, step, outcome, cause, cfg, asked, started, now, wall)
        return step, outcome, cause, event

    def _admitted(
        self,
        state: RetryState,
        asked: Asked,
        admission: Admission,
        last_error: BaseException | None,
        cfg: Mapping[str, Any],
    ) -> None:
        """Carry out a controller's wait, or raise its refusal (decided by ``admitted()``)."""
        controllers, ticket = asked
        now = time.monotonic()
        step = admitted(
            state, admission, now, last_error=last_error, origin=ticket.origin, config=cfg
        )
        if isinstance(step, float):
            seconds = begin_wait(state, step)
            if seconds > 0:
                time.sleep(seconds)
            return
        record_all(controllers, ticket, refused(step), now)
        if isinstance(step, Raise):
            raise step.error
        raise step.error from step.error.last_error

    def _attempt(
        self, call: Call, cfg: dict[str, Any], state: RetryState
    ) -> tuple[Outcome, BaseException | None]:
        """One attempt on the wire: send (the body read inside), response interceptors."""
        outcome: Outcome
        try:
            request = build_request(self._http, cfg, state.remaining(time.monotonic()))
            raw = self._http.send(request, **send_kwargs(cfg))
            if not call.stream:
                raw = self._read(raw, state, cfg)
            outcome = to_outcome(raw, cfg)
        except Exception as exc:  # mapped to our tree; cancellation is not an Exception
            outcome = map_error(exc, cfg)
        if not call.response_chain:
            return outcome, None
        return self._run_response_chain(call.response_chain, outcome)

    def _read(
        self, raw: httpx.Response, state: RetryState, cfg: Mapping[str, Any]
    ) -> httpx.Response:
        """Read the body, bounded by the deadline and ``max_content_length`` (``_body``)."""
        try:
            limit = bounded(raw, state, time.monotonic, cfg)
            if limit < 0:
                raw.read()
                return raw
            chunks, received = [], 0
            for chunk in raw.iter_bytes():
                received += len(chunk)
                count_decoded(received, limit, cfg)
                chunks.append(chunk)
            return with_body(raw, b"".join(chunks))
        finally:
            raw.close()  # a no-op after a full read; closes the connection otherwise

    def _run_request_chain(
        self, chain: tuple[tuple[Handler | None, Handler | None], ...], config: dict[str, Any]
    ) -> dict[str, Any]:
        cfg = attempt_copy(config)
        error: BaseException | None = None
        for on_fulfilled, on_rejected in chain:
            handler = on_fulfilled if error is None else on_rejected
            if handler is None:
                continue
            try:
                result = handler(cfg if error is None else error)
                cfg = checked_config(result, cfg, f"request interceptor {describe(handler)}")
                error = None
            except Exception as exc:
                error = exc
        if error is not None:
            raise error
        return checked_attempt(cfg, config)

    def _run_response_chain(
        self, chain: tuple[tuple[Handler | None, Handler | None], ...], outcome: Outcome
    ) -> tuple[Outcome, BaseException | None]:
        cause: BaseException | None = None
        for on_fulfilled, on_rejected in chain:
            failed = isinstance(outcome, BaseException)
            handler = on_rejected if failed else on_fulfilled
            if handler is None:
                continue
            if failed:
                cause = outcome  # type: ignore[assignment]
            try:
                result = handler(outcome)
                outcome = checked_response(result, handler, may_replay=failed)
            except Exception as exc:
                outcome = exc
            if isinstance(outcome, Replay):
                break
        return outcome, cause

    def _wait(
        self, state: RetryState, delay: float, event: RetryEvent, config: Mapping[str, Any]
    ) -> None:
        hook = config["on_retry"]
        if hook is not None:
            hook(event)
        seconds = begin_wait(state, delay)
        if seconds > 0:
            time.sleep(seconds)

    def _discard(self, raw: httpx.Response | None) -> None:
        """Drain (a little) and close a failed attempt's response so its connection is reused."""
        if raw is None:
            return
        try:
            if not raw.is_stream_consumed:
                received = 0
                for chunk in raw.iter_raw():
                    received += len(chunk)
                    if received > DRAIN_LIMIT:
                        break
        except httpx.HTTPError:
            pass
        finally:
            raw.close()


def create(config: ClientConfig | None = None, /, **kwargs: Unpack[ClientConfig]) -> Client:
    """Create an :class:`Client` from a config dict and/or keyword arguments.

    An unknown key or a bad value raises :class:`~axios_like.ConfigError` naming the key.

    Example::

        api = axios_like.create({"base_url": "https://api.example.com", "max_retries": 5})
        r = api.get("/users/1")
    """
    return Client(config, **kwargs)
