"""The registries of a client: interceptors, middleware and its own attempt controllers.

Registries are tuples replaced on change, so a call that has started keeps the
snapshot it took and ``use()`` during a call affects only later calls. No I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._config import (
    is_async_callable,
)
from ._control import AttemptController

__all__ = [
    "ControllerRegistry",
    "Handler",
    "InterceptorManager",
    "Interceptors",
    "MiddlewareStack",
    "describe",
]


R = TypeVar("R")
#: An interceptor handler: ``fn(value) -> value`` (sync or async).
Handler = Callable[[Any], Any]


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


class ControllerRegistry:
    """``api.controllers``: attempt controllers of the client itself (telemetry, ...).

    They are consulted after the ones the config names (``circuit_breaker``,
    ``retry_budget``), on every attempt of every later call.

    Example::

        api.controllers.add(my_controller)     # an axios_like AttemptController
        api.controllers.remove(my_controller)
    """

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.items: tuple[AttemptController, ...] = ()
        self._lock = threading.Lock()
        #: Called after an add or remove that changed ``items`` (the client's hold).
        self._on_change = on_change

    def add(self, controller: AttemptController) -> AttemptController:
        """Add ``controller`` (once); returns it."""
        if not isinstance(controller, AttemptController):
            raise TypeError(f"{controller!r} is not an attempt controller (admit/record)")
        with self._lock:
            added = controller not in self.items
            if added:
                self.items = (*self.items, controller)
        if added and self._on_change is not None:
            self._on_change()
        return controller

    def remove(self, controller: AttemptController) -> bool:
        """Remove ``controller``; ``False`` if it was not there."""
        with self._lock:
            kept = tuple(c for c in self.items if c is not controller)
            removed = len(kept) != len(self.items)
            self.items = kept
        if removed and self._on_change is not None:
            self._on_change()
        return removed

    def __len__(self) -> int:
        return len(self.items)
