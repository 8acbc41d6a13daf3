"""``AsyncClient``: the async shell. ``_sync_client.py`` is generated from this file.

A shell only does I/O: run interceptors and middleware, send through httpx,
close, sleep. Every decision is made by the core (``_request``, ``_outcomes``, ``_retry``).
Edit this file, then run ``python scripts/unasync.py`` to regenerate the sync twin.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
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
from ._hedge import Hedge
from ._hedging import ON_WIRE, Copy, cancel_copies  # unasync: remove
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
    HedgeCopy,
    Raise,
    Retry,
    RetryState,
    admitted,
    decide,
    hedge_refused,
    hedge_round,
    lost,
    may_hedge,
    refused,
)
from ._verbs import AsyncVerbs

__all__ = ["AsyncClient", "AsyncMiddleware", "create_async"]

#: ``async def mw(config, call_next) -> Response``; ``call_next(config)`` runs the rest.
AsyncMiddleware = Callable[
    [RequestConfig, Callable[[RequestConfig], Awaitable[Response]]], Awaitable[Response]
]
Outcome = Response | Replay | BaseException
#: An attempt's controllers and its ticket (``Call.ticket``).
Asked = tuple[tuple[AttemptController, ...], Ticket]


class AsyncClient(AsyncVerbs):
    """An axios-style client over one ``httpx.AsyncClient`` (one connection pool).

    Create it with :func:`axios_like.create_async`. Share it between
    the tasks of one event loop; close it with ``await aclose()`` or ``async with``.

    Example::

        async with axios_like.create_async(base_url="https://api.example.com") as api:
            r = await api.get("/users/1", max_retries=5)
            print(r.status, r.data)
    """

    def __init__(
        self, config: ClientConfig | None = None, /, **kwargs: Unpack[ClientConfig]
    ) -> None:
        defaults, http_kwargs, self._settings = split_client_config(
            {**(config or {}), **kwargs}, is_async=True
        )
        #: The request defaults every call merges its overrides over.
        self.defaults: Defaults = defaults
        # unasync: begin remove
        # httpcore says when a request reaches its connection (the trace extension): a
        # hedged copy is cancelled only from there on (Copy.cancel in _hedging).
        transport = http_kwargs.get("transport")
        self._traced = transport is None or isinstance(transport, httpx.AsyncHTTPTransport)
        # unasync: end remove
        #: ``api.interceptors.request`` / ``.response``: ``use``, ``eject``, ``clear``.
        self.interceptors = Interceptors(allow_async=True)
        self._middleware: MiddlewareStack[AsyncMiddleware] = MiddlewareStack(allow_async=True)
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
            self._http = httpx.AsyncClient(**http_kwargs)
        except BaseException:
            self._holdings.release(self)
            raise

    def _hold(self) -> None:
        """Tell the controllers this client holds now (defaults, routes, ``controllers``)."""
        held = held_controllers(self.defaults, self._settings.routes, self.controllers.items)
        self._holdings.hold(self, held)

    def use(self, middleware: AsyncMiddleware) -> AsyncMiddleware:
        """Add middleware around the whole retry loop; the first added is the outermost.

        Example::

            async def timing(config, call_next):
                start = time.perf_counter()
                try:
                    return await call_next(config)
                finally:
                    print(config["url"], time.perf_counter() - start)

            api.use(timing)
        """
        return self._middleware.add(middleware)

    async def request(
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
        return await self._next(call, 0, call.config)

    @asynccontextmanager
    async def stream(
        self, method: str, url: str | httpx.URL, **config: Unpack[RequestOptions]
    ) -> AsyncIterator[Response]:
        """Send a request and yield its ``Response`` with the body not read yet.

        Retries happen only while opening, before the body is handed over.

        Example::

            async with api.stream("GET", "/big") as r:
                async for chunk in r.aiter_bytes():
                    ...
        """
        call = self._call(method, url, config, stream=True)
        response = await self._next(call, 0, call.config)
        try:
            yield response
        finally:
            await response.raw.aclose()

    def __repr__(self) -> str:
        return client_repr(type(self).__name__, self.defaults, self._settings)

    async def aclose(self) -> None:
        """Close the connection pool; the controllers it holds learn it (``detach``).

        Closing twice is harmless. A ``RedisState`` stops its sync thread when the
        last client holding it closes.
        """
        try:
            await self._http.aclose()
        finally:
            self._holdings.release(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

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
            is_async=True,
            stream=stream,
            settings=self._settings,
            controllers=self.controllers.items,
        )

    async def _next(self, call: Call, index: int, config: Any) -> Response:
        """Middleware ``index`` onwards, then the retry loop: the order of one call."""
        if index == len(call.middleware):
            try:
                return await self._retry_loop(call, config)
            except BaseException as exc:  # telemetry closes its spans; one WARNING on give-up
                close_call(call.scratch, exc)
                log_gave_up(exc)
                raise

        async def call_next(given: Any) -> Response:
            return await self._next(call, index + 1, checked_config(given, config, "middleware"))

        middleware = call.middleware[index]
        return checked_middleware_result(await middleware(config, call_next), middleware)

    async def _retry_loop(self, call: Call, config: dict[str, Any]) -> Response:
        """Attempts until ``decide()`` says done, raise or stop; the controllers are
        asked before each send (``admit``) and told each decision (``record``)."""
        state = retry_state(call, config, time.monotonic())
        kind, last_error = AttemptKind.FIRST, None
        while True:
            chain = call.request_chain
            cfg = await self._run_request_chain(chain, config) if chain else config
            asked = call.ticket(cfg, state.attempts + 1, kind)
            if asked is not None:
                admission = admit_all(*asked, time.monotonic())
                if admission is not SEND:
                    await self._admitted(state, asked, admission, last_error, cfg)
            send = self._send  # send, decide(), record_all(): one attempt
            if may_hedge(state, cfg, stream=call.stream):  # unasync: remove
                send = self._send_hedged  # unasync: remove
            step, outcome, cause, event = await send(call, config, cfg, state, asked)
            if isinstance(step, Done):
                return finish(cast(Response, outcome), state)
            await self._discard(failed_response(outcome, cause))
            if isinstance(step, Retry):
                assert event is not None
                last_error = event.error
                await self._wait(state, step.delay, event, config)
                kind = AttemptKind.RETRY
            elif isinstance(step, Again):
                config = with_meta(config, step.meta)
                kind = AttemptKind.REPLAY
            elif isinstance(step, Raise):
                raise step.error
            else:
                raise step.error from step.error.last_error

    async def _send(
        self,
        call: Call,
        config: dict[str, Any],
        cfg: dict[str, Any],
        state: RetryState,
        asked: Asked | None,
    ) -> tuple[Decision, Outcome, BaseException | None, RetryEvent | None]:
        """One attempt: send it, ``decide()`` what follows, tell the controllers."""
        started = time.monotonic()
        outcome, cause = await self._attempt(call, cfg, state)
        now, wall = time.monotonic(), time.time()
        step = decide(state, outcome, now, cause=cause, now_wall=wall)
        event = told(state, step, outcome, cause, cfg, asked, started, now, wall)
        return step, outcome, cause, event

    # unasync: begin remove
    async def _send_hedged(
        self,
        call: Call,
        config: dict[str, Any],
        cfg: dict[str, Any],
        state: RetryState,
        asked: Asked | None,
    ) -> tuple[Decision, Outcome, BaseException | None, RetryEvent | None]:
        """One attempt and its hedges (``hedge=``, async only): the first good answer wins.

        A copy goes out each ``delay`` while none answered well (at most
        ``max_hedges``), admitted like any attempt (a refused hedge is not sent);
        the losers are cancelled (their connections closed) and told as
        ``Step.LOST``; ``hedge_round()`` decides and writes the history. Each
        hedge runs in its own context, so what a controller makes current in
        ``admit`` (a span) is undone in that copy's ``record``.
        """
        hedge = cast(Hedge, cfg["hedge"])
        # no ticket (the URL does not resolve), or too few answers from the origin yet
        delay = None if asked is None else hedge.delay_for(asked[1].origin)
        if asked is None or delay is None:
            return await self._send(call, config, cfg, state, asked)
        copies = [Copy(cfg, asked, None, self._attempt(call, cfg, state))]
        try:
            winner = await self._race(call, config, state, copies, hedge, delay)
        except BaseException:  # cancelled, or a hedge's interceptor raised: no copy outlives it
            await cancel_copies(copies, self._traced)
            now = time.monotonic()
            for copy in copies:
                copy.tell(lost(copy.outcome, duration=now - copy.started, cause=copy.cause), now)
            raise
        # the losers still out: cancelled, their connections closed
        await cancel_copies(copies, self._traced)
        now, wall = time.monotonic(), time.time()
        chosen = len(copies) - 1 if winner is None else winner
        for index, copy in enumerate(copies):  # the losers first: drained, closed, told
            if index != chosen:
                if copy.outcome is not None:
                    await self._discard(failed_response(copy.outcome, copy.cause))
                loser = lost(copy.outcome, duration=copy.ended - copy.started, cause=copy.cause)
                copy.tell(loser, now)
        copy = copies[chosen]
        results = [HedgeCopy(each.outcome, each.cause) for each in copies]
        try:
            chosen, step = hedge_round(state, results, winner, now, now_wall=wall)
        except BaseException:  # retry_on or a strategy raised: the copy is still told
            copy.tell(lost(copy.outcome, duration=now - copy.started, cause=copy.cause), now)
            raise
        outcome = cast(Outcome, copy.outcome)
        tell = (state, step, outcome, copy.cause, copy.cfg, copy.asked, copy.started, now, wall)
        event = copy.run(told, *tell)
        return step, outcome, copy.cause, event

    async def _race(
        self,
        call: Call,
        config: dict[str, Any],
        state: RetryState,
        copies: list[Copy],
        hedge: Hedge,
        delay: float,
    ) -> int | None:
        """Wait for the copies, adding a hedge each ``delay``: the winner's index, if any."""
        pending = {copies[0].task}
        next_at: float | None = copies[0].started + delay
        while pending:
            timeout = None if next_at is None else max(0.0, next_at - time.monotonic())
            done, pending = await asyncio.wait(
                pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:  # the delay passed with no good answer: one more copy
                last = copies[-1]
                if self._traced and not last.on_wire:
                    # Still waiting for a connection of the pool: the wait is ours, not
                    # the server's, and a copy would only queue behind it (and, in a
                    # burst, add to the queue it is stuck in). The delay starts again
                    # when it reaches its connection (no polling meanwhile).
                    wired = last.wired = asyncio.get_running_loop().create_future()
                    await asyncio.wait({*pending, wired}, return_when=asyncio.FIRST_COMPLETED)
                    next_at = time.monotonic() + delay
                    continue
                copy = await self._hedge_copy(call, config, state, len(copies))
                next_at = None  # refused: the copies out go on alone
                if copy is not None:
                    copies.append(copy)
                    pending.add(copy.task)
                    if len(copies) <= hedge.max_hedges:
                        next_at = copy.started + delay
                continue
            winner = None
            for index, copy in enumerate(copies):
                if copy.task in done:
                    copy.finished()
                    if winner is None and isinstance(copy.outcome, Response):
                        winner = index
            if winner is not None:
                return winner
        return None  # every copy failed

    async def _hedge_copy(
        self, call: Call, config: dict[str, Any], state: RetryState, index: int
    ) -> Copy | None:
        """A hedge: request interceptors, then admitted like any attempt; ``None``: not sent."""
        remaining = state.remaining(time.monotonic())
        # The deadline covers every copy. Not reached by the tests: the first copy's own
        # timeout already ends at the deadline, so a hedge timer firing past it would have
        # to land in the same instant; the guard keeps a hedge from going out then.
        if remaining is not None and remaining <= 0:  # pragma: no cover
            return None
        chain = call.request_chain
        cfg = await self._run_request_chain(chain, config) if chain else attempt_copy(config)
        asked = call.ticket(cfg, state.attempts + index + 1, AttemptKind.HEDGE)
        if asked is None:
            return None
        context = contextvars.copy_context()
        now = time.monotonic()
        admission = context.run(admit_all, *asked, now)
        if admission is not SEND:  # refused, or held (a hedge never waits): not sent
            context.run(record_all, *asked, hedge_refused(admission), now)
            return None
        return Copy(cfg, asked, context, self._attempt(call, cfg, state))

    # unasync: end remove

    async def _admitted(
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
                await asyncio.sleep(seconds)
            return
        record_all(controllers, ticket, refused(step), now)
        if isinstance(step, Raise):
            raise step.error
        raise step.error from step.error.last_error

    async def _attempt(
        self, call: Call, cfg: dict[str, Any], state: RetryState
    ) -> tuple[Outcome, BaseException | None]:
        """One attempt on the wire: send (the body read inside), response interceptors."""
        outcome: Outcome
        try:
            request = build_request(self._http, cfg, state.remaining(time.monotonic()))
            if (on_wire := ON_WIRE.get()) is not None:  # a hedged copy  # unasync: remove
                request.extensions["trace"] = on_wire  # unasync: remove
            raw = await self._http.send(request, **send_kwargs(cfg))
            if not call.stream:
                raw = await self._read(raw, state, cfg)
            outcome = to_outcome(raw, cfg)
        except Exception as exc:  # mapped to our tree; cancellation is not an Exception
            outcome = map_error(exc, cfg)
        if not call.response_chain:
            return outcome, None
        return await self._run_response_chain(call.response_chain, outcome)

    async def _read(
        self, raw: httpx.Response, state: RetryState, cfg: Mapping[str, Any]
    ) -> httpx.Response:
        """Read the body, bounded by the deadline and ``max_content_length`` (``_body``)."""
        try:
            limit = bounded(raw, state, time.monotonic, cfg)
            if limit < 0:
                await raw.aread()
                return raw
            chunks, received = [], 0
            async for chunk in raw.aiter_bytes():
                received += len(chunk)
                count_decoded(received, limit, cfg)
                chunks.append(chunk)
            return with_body(raw, b"".join(chunks))
        finally:
            await raw.aclose()  # a no-op after a full read; closes the connection otherwise

    async def _run_request_chain(
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
                if inspect.isawaitable(result):  # unasync: remove
                    result = await result  # unasync: remove
                cfg = checked_config(result, cfg, f"request interceptor {describe(handler)}")
                error = None
            except Exception as exc:
                error = exc
        if error is not None:
            raise error
        return checked_attempt(cfg, config)

    async def _run_response_chain(
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
                if inspect.isawaitable(result):  # unasync: remove
                    result = await result  # unasync: remove
                outcome = checked_response(result, handler, may_replay=failed)
            except Exception as exc:
                outcome = exc
            if isinstance(outcome, Replay):
                break
        return outcome, cause

    async def _wait(
        self, state: RetryState, delay: float, event: RetryEvent, config: Mapping[str, Any]
    ) -> None:
        hook = config["on_retry"]
        if hook is not None:
            result = hook(event)
            if inspect.isawaitable(result):  # unasync: remove
                await result  # unasync: remove
        seconds = begin_wait(state, delay)
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def _discard(self, raw: httpx.Response | None) -> None:
        """Drain (a little) and close a failed attempt's response so its connection is reused."""
        if raw is None:
            return
        try:
            if not raw.is_stream_consumed:
                received = 0
                async for chunk in raw.aiter_raw():
                    received += len(chunk)
                    if received > DRAIN_LIMIT:
                        break
        except httpx.HTTPError:
            pass
        finally:
            await raw.aclose()


def create_async(
    config: ClientConfig | None = None, /, **kwargs: Unpack[ClientConfig]
) -> AsyncClient:
    """Create an :class:`AsyncClient` from a config dict and/or keyword arguments.

    An unknown key or a bad value raises :class:`~axios_like.ConfigError` naming the key.

    Example::

        api = axios_like.create_async({"base_url": "https://api.example.com", "max_retries": 5})
        r = await api.get("/users/1")
    """
    return AsyncClient(config, **kwargs)
