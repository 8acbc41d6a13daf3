"""Which controllers a client holds, so they know when it is created and when it closes.

A budget or breaker in fleet mode runs a background sync thread
(``axios_like.redis.RedisState``); that thread should live exactly as long as
a client holds it. So a client tells each controller it holds, once:

- ``controller.attach(client)`` when the client is created, and when its
  ``api.defaults`` or ``api.controllers`` start naming the controller;
- ``controller.detach(client)`` when the client closes, and when its defaults
  or ``api.controllers`` stop naming it.

Rules of this module:

1. Both methods are optional (looked up with ``getattr``): a user's controller
   needs neither. ``RetryBudget`` and ``CircuitBreaker`` forward them to their
   ``shared`` state.
2. A client holds a controller once, however many places name it (a default,
   routes, ``api.controllers``): one ``attach``, then one ``detach``.
3. Never on the request path: only at create, at close and on writes to
   ``api.defaults`` / ``api.controllers``. Closing twice detaches once.
   An ``attach`` that raises leaves the client holding what it held before
   (the ones attached with it are detached again); ``create()`` then opens
   nothing (the client attaches before it opens its httpx client). A
   ``detach`` that raises does not keep the others attached: every one is
   detached, then the first error is raised (the others as its notes).
4. A per-request override is held by no client: it is never attached.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ._control import CONTROLLER_KEYS
from ._routes import Routes

__all__ = ["Holdings", "held_controllers"]


def held_controllers(
    defaults: Mapping[str, Any], routes: Routes | None, extra: Iterable[object]
) -> list[object]:
    """The controllers a client holds: its defaults', its routes' and ``api.controllers``."""
    layers = [defaults, *(routes.configs() if routes is not None else ())]
    found = [c for layer in layers for key in CONTROLLER_KEYS if (c := layer.get(key)) is not None]
    return [*found, *extra]


def _tell(controller: object, method: str, owner: object) -> None:
    hook = getattr(controller, method, None)
    if callable(hook):
        hook(owner)


def _detach_all(controllers: Iterable[object], owner: object) -> None:
    """Detach every one of ``controllers``, even past one that raises; then raise the first."""
    first: Exception | None = None
    for controller in controllers:
        try:
            _tell(controller, "detach", owner)
        except Exception as exc:
            if first is None:
                first = exc
            else:
                first.add_note(f"and detaching {controller!r} raised {exc!r}")
    if first is not None:
        raise first


class Holdings:
    """The controllers one client holds (by identity) and told so; see the module rules."""

    __slots__ = ("_closed", "_held", "_lock")

    def __init__(self) -> None:
        self._held: dict[int, object] = {}
        self._closed = False
        self._lock = threading.Lock()

    def hold(self, owner: object, controllers: Iterable[object]) -> None:
        """``owner`` now holds exactly ``controllers``: attach the new ones, detach the gone."""
        with self._lock:
            if self._closed:
                return  # a closed client holds nothing
            now = {id(c): c for c in controllers}
            gone = [c for key, c in self._held.items() if key not in now]
            added = [c for key, c in now.items() if key not in self._held]
            attached: list[object] = []
            try:
                for controller in added:
                    _tell(controller, "attach", owner)
                    attached.append(controller)
            except BaseException as exc:
                # An attach raised: the client holds what it held before (those just
                # attached are detached again), and the caller sees the error.
                for controller in reversed(attached):
                    try:
                        _tell(controller, "detach", owner)
                    except Exception as undo:  # the attach error goes first, with a note
                        exc.add_note(f"and detaching {controller!r} again raised {undo!r}")
                raise
            self._held = now
            _detach_all(gone, owner)

    def release(self, owner: object) -> None:
        """``owner`` closed: detach every controller it held (once: later calls do nothing)."""
        with self._lock:
            held, self._held = list(self._held.values()), {}
            self._closed = True
            _detach_all(held, owner)
