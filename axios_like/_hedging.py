"""The copies of a hedged attempt (``hedge=``): async only, I/O, used by ``AsyncClient``.

The shell (``_async_client``) races the copies (``_send_hedged``); this module holds
what one copy is: its task, its context (a hedge's controllers see their own
``admit``/``record`` pair), and the way it is cancelled. What follows a round is
decided in the core (``_retry.hedge_round``), and when to hedge by ``_hedge.Hedge``.
The sync ``Client`` never hedges, so nothing here has a sync twin.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

import anyio

from ._control import AttemptController, Ticket, Verdict, record_all
from ._models import Replay, Response

__all__ = ["ON_WIRE", "Copy", "cancel_copies"]

Outcome = Response | Replay | BaseException
#: An attempt's controllers and its ticket (``Call.ticket``).
Asked = tuple[tuple[AttemptController, ...], Ticket]

_T = TypeVar("_T")
#: The trace extension of a hedged copy's request (``_Copy._trace``), set in its task's context.
ON_WIRE: contextvars.ContextVar[Callable[[str, Mapping[str, Any]], Awaitable[None]] | None] = (
    contextvars.ContextVar("axios_like_on_wire", default=None)
)


class Copy:
    """One copy of a hedged attempt: its config, ticket, context and task (per call)."""

    __slots__ = (
        "asked",
        "cancel_pending",
        "cause",
        "cfg",
        "context",
        "ended",
        "on_wire",
        "outcome",
        "scope",
        "started",
        "task",
        "wired",
    )

    def __init__(
        self,
        cfg: dict[str, Any],
        asked: Asked,
        context: contextvars.Context | None,
        attempt: Coroutine[Any, Any, tuple[Outcome, BaseException | None]],
    ) -> None:
        self.cfg, self.asked, self.context = cfg, asked, context
        self.started = time.monotonic()
        #: Has the request reached its connection (httpcore's first trace event)?
        self.on_wire = False
        #: Cancel it once it does (``_cancel`` found it still waiting for the pool).
        self.cancel_pending = False
        #: Set when it does, if the race is waiting for that (``_race``).
        self.wired: asyncio.Future[None] | None = None
        task_context = contextvars.copy_context() if context is None else context
        task_context.run(ON_WIRE.set, self._trace)
        # Cancelled through an anyio cancel scope, not task.cancel(): httpcore shields its
        # connection clean-up from anyio cancellation only, and a task.cancel() landing in
        # that clean-up leaves the connection ACTIVE in the pool for good (httpcore #1093,
        # #961; measured: 62 of 600 cancelled requests leaked; none through a scope).
        self.scope = anyio.CancelScope()
        self.task = asyncio.get_running_loop().create_task(
            _in_scope(self.scope, attempt), context=task_context
        )
        self.outcome: Outcome | None = None
        self.cause: BaseException | None = None
        self.ended = self.started

    async def _trace(self, name: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace extension: the first event means the request has its connection."""
        if not self.on_wire:
            self.on_wire = True
            if self.cancel_pending:
                self.scope.cancel()
            if self.wired is not None and not self.wired.done():
                self.wired.set_result(None)

    def cancel(self, traced: bool) -> None:
        """Cancel the copy: at once, or (httpcore) once it has reached its connection.

        httpcore leaves a connection it has just made for a request in its pool for
        good when the request is cancelled before using it (httpcore #1093: measured,
        one stuck connection per ~600 hedged calls racing for 3 connections), so a copy
        still waiting for the pool is cancelled only once it is inside the connection,
        whose own clean-up closes it; a wait bounded by the pool timeout.
        """
        if self.on_wire or not traced:
            self.scope.cancel()
        else:
            self.cancel_pending = True

    def finished(self) -> None:
        """Take the finished task's result (none when its scope cancelled it first)."""
        self.ended = time.monotonic()
        result = self.task.result()
        if result is not None:
            self.outcome, self.cause = result

    def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Call ``fn`` in this copy's context (a hedge's own; the call's for the first)."""
        return fn(*args) if self.context is None else self.context.run(fn, *args)

    def tell(self, told: Verdict, now: float) -> None:
        """Tell every controller of this copy ``told``, in the copy's context."""
        self.run(record_all, *self.asked, told, now)


async def _in_scope(
    scope: anyio.CancelScope, attempt: Coroutine[Any, Any, tuple[Outcome, BaseException | None]]
) -> tuple[Outcome, BaseException | None] | None:
    """Run one copy's attempt inside ``scope``; ``None`` when the scope cancelled it."""
    with scope:
        return await attempt
    return None


async def cancel_copies(copies: list[Copy], traced: bool) -> None:
    """Cancel the copies still out and wait until they are gone (connections closed)."""
    out = [copy for copy in copies if not copy.task.done()]
    for copy in out:
        copy.cancel(traced)
    if out:
        await asyncio.wait([copy.task for copy in out])
    for copy in out:
        copy.finished()  # it may have answered as it was cancelled: its answer is kept
