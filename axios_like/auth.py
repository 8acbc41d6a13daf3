"""Bearer token refresh for one client: :class:`BearerTokenRefresh`.

A client per service, a bearer token that expires: every attempt must carry
the current token, and a ``401`` must refresh the token once and send the
request again. :class:`BearerTokenRefresh` does that with two interceptors::

    auth = BearerTokenRefresh(get_token=store.get, refresh_token=store.refresh).install(api)

Rules of this module (the state lives in the helper, never on a call):

1. The request interceptor reads ``get_token()`` on every attempt (retries and
   replays included) and stamps the attempt's ``meta`` with the refresh
   *generation* it read the token under (how many refreshes had finished).
2. On a ``401`` the response interceptor takes the helper's lock (one per
   helper: ``threading.Lock`` on ``Client``, ``asyncio.Lock`` on
   ``AsyncClient``) and decides, under it:

   - a refresh finished since this request read its token: share its outcome
     (replay if it succeeded, raise :class:`AuthRefreshError` if it failed);
   - else the token changed since it was sent (someone else refreshed it): replay;
   - else this request is the leader: call ``refresh_token()`` once, record the
     outcome (next generation), replay.

   Requests that were in flight with the stale token therefore cause exactly
   one ``refresh_token()`` call, and all of them get its outcome: a failure is
   not retried by every waiting request one after the other (a thundering herd
   against a failing token endpoint). A request sent *after* a failed refresh
   tries again, so one failure does not poison the client.
3. A request is replayed at most once for auth (a private ``meta`` key marks it):
   a second ``401`` is raised as the ``HTTPStatusError`` it is. Replays do not
   count against ``max_retries``; the retry engine never retries a 401 itself.
4. A ``401`` received while this helper is refreshing, *in the refresh's own
   context* (``refresh_token()`` calling the same client), is raised as itself
   instead of waiting for the lock the refresh holds: no deadlock.
5. Each flow is written once, as a generator (:meth:`_rejected_flow`,
   :meth:`_authorize_flow`) in the manner of httpx's ``Auth.auth_flow``: it
   yields which user function it needs and is sent the result. Two short
   drivers run it, ``_run`` for ``Client`` (an awaitable result is a
   ``TypeError``) and ``_arun`` for ``AsyncClient`` (awaited); they and the
   lock are all that differ between the clients.
6. Secrets: the token is never logged, never put in a message or a repr, and
   never stored here (``get_token()`` is the only source of truth).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, Self, TypeVar

from ._async_client import AsyncClient
from ._config import is_async_callable, join_url
from ._exceptions import AxiosLikeError, HTTPStatusError
from ._models import Replay
from ._redact import redact_url
from ._sync_client import Client

__all__ = ["AuthRefreshError", "BearerTokenRefresh"]

logger = logging.getLogger("axios_like.auth")

#: ``meta`` key (private): the request was already replayed after a 401.
REPLAYED_KEY: Final = "axios_like.auth:replayed"
#: ``meta`` key (private): the refresh generation the attempt read its token under.
GENERATION_KEY: Final = "axios_like.auth:generation"

_REPLAY: Final = Replay(meta=MappingProxyType({REPLAYED_KEY: True}))
#: The helpers refreshing in the current context (thread or task): their 401s pass through.
_REFRESHING: contextvars.ContextVar[tuple[BearerTokenRefresh, ...]] = contextvars.ContextVar(
    "axios_like_auth_refreshing", default=()
)
_INSTALL_LOCK: Final = threading.Lock()

_T = TypeVar("_T")


class _Call(Enum):
    """What a flow asks its driver to call (the value is the function's name)."""

    GET_TOKEN = "get_token"
    REFRESH_TOKEN = "refresh_token"


#: A flow: yields the calls it needs, is sent their results, returns its answer.
_Flow = Generator[_Call, object, _T]

#: ``get_token``: returns the current token, or ``None`` when there is none yet.
TokenGetter = Callable[[], str | Awaitable[str | None] | None]
#: ``refresh_token``: obtains a new token and stores it where ``get_token`` reads it.
TokenRefresher = Callable[[], object]


class AuthRefreshError(AxiosLikeError):
    """Refreshing the bearer token after a 401 failed.

    ``__cause__`` is what ``refresh_token()`` raised; ``config`` the config of the
    request that got the 401. Every request waiting for the same refresh gets
    its own ``AuthRefreshError`` with the same ``__cause__``. Not retried.

    Example::

        try:
            api.get("/me")
        except axios_like.AuthRefreshError as exc:
            log.error("login again: %r", exc.__cause__)
    """

    reason = "auth refresh failed"


class BearerTokenRefresh:
    """Keep one client's bearer token fresh: ``Authorization`` on every attempt, refresh on 401.

    ``get_token()`` returns the current token (or ``None``: no token yet, the
    request goes without ``Authorization`` and its 401 triggers the first
    refresh). ``refresh_token()`` obtains a new token and stores it where
    ``get_token()`` finds it; its return value is ignored. On ``AsyncClient``
    either may be ``async def``; on ``Client`` both must be plain functions.

    ``install(api)`` adds a request interceptor (sets ``Authorization: Bearer
    <token>`` from ``get_token()`` on every attempt) and a response interceptor
    (on a 401: one ``refresh_token()`` for all requests that failed with the
    same stale token, then one replay of each). ``uninstall(api)`` removes them.
    A helper serves one client, and a client takes one helper.

    ``refreshes`` counts the ``refresh_token()`` calls made.

    Example::

        import axios_like
        from axios_like.auth import BearerTokenRefresh

        tokens = {"access": load_cached_token()}

        def get_token() -> str | None:
            return tokens["access"]

        def refresh_token() -> None:
            r = login_api.post("/oauth/token", form={"grant_type": "refresh_token", ...})
            tokens["access"] = r.data["access_token"]

        api = axios_like.create(base_url="https://api.example.com")
        auth = BearerTokenRefresh(get_token, refresh_token).install(api)
        api.get("/me")              # 401 -> refresh once -> replayed with the new token
        auth.uninstall(api)
    """

    def __init__(self, get_token: TokenGetter, refresh_token: TokenRefresher) -> None:
        for name, fn in (("get_token", get_token), ("refresh_token", refresh_token)):
            if not callable(fn):
                raise TypeError(f"BearerTokenRefresh: {name} must be callable; got {type(fn)!r}")
        self._get_token = get_token
        self._refresh_token = refresh_token
        self._client: weakref.ref[Client | AsyncClient] | None = None
        self._handles: tuple[int, int] = (0, 0)
        #: Refreshes finished (success or failure); attempts are stamped with it.
        self._generation = 0
        #: What the last finished refresh raised, ``None`` if it succeeded.
        self._failure: BaseException | None = None
        self._refreshes = 0
        self._lock = threading.Lock()
        self._alock: asyncio.Lock | None = None
        self._alock_loop: asyncio.AbstractEventLoop | None = None

    @property
    def refreshes(self) -> int:
        """How many times ``refresh_token()`` has been called (successes and failures)."""
        return self._refreshes

    def __repr__(self) -> str:
        client = self._client() if self._client is not None else None
        where = f"installed on {type(client).__name__}" if client is not None else "not installed"
        return f"<BearerTokenRefresh {where}, refreshes={self._refreshes}>"

    # ------------------------------------------------------------ install / uninstall

    def install(self, api: Client | AsyncClient) -> Self:
        """Add the two interceptors to ``api`` and return the helper.

        Raises ``TypeError`` for an ``async def`` function on a sync ``Client``
        (or something that is not a client), ``RuntimeError`` if this helper is
        already installed or ``api`` already has a ``BearerTokenRefresh``.
        """
        if isinstance(api, AsyncClient):
            on_request: Callable[[Any], Any] = self._aauthorize
            on_rejected: Callable[[Any], Any] = self._aon_rejected
        elif isinstance(api, Client):
            for name, fn in (
                ("get_token", self._get_token),
                ("refresh_token", self._refresh_token),
            ):
                if is_async_callable(fn):
                    raise TypeError(
                        f"BearerTokenRefresh: {name} is 'async def'; the sync Client cannot "
                        "await it: use a plain function, or axios_like.create_async()"
                    )
            on_request, on_rejected = self._authorize, self._on_rejected
        else:
            raise TypeError(
                f"BearerTokenRefresh.install() needs an axios_like Client or AsyncClient; "
                f"got {type(api).__name__}"
            )
        with _INSTALL_LOCK:
            if self._installed_on() is not None:
                raise RuntimeError(
                    "this BearerTokenRefresh is already installed on a client; one helper per "
                    "client: uninstall() it first or create another helper"
                )
            if _has_helper(api):
                raise RuntimeError(
                    "this client already has a BearerTokenRefresh installed; "
                    "uninstall() that one first"
                )
            request_id = api.interceptors.request.use(on_request)
            response_id = api.interceptors.response.use(None, on_rejected)
            self._handles = (request_id, response_id)
            self._client = weakref.ref(api)
        return self

    def uninstall(self, api: Client | AsyncClient) -> None:
        """Remove the two interceptors from ``api`` (calls in flight finish with them).

        Raises ``RuntimeError`` if the helper is not installed on ``api``.
        """
        with _INSTALL_LOCK:
            if self._installed_on() is not api:
                raise RuntimeError("this BearerTokenRefresh is not installed on that client")
            api.interceptors.request.eject(self._handles[0])
            api.interceptors.response.eject(self._handles[1])
            self._client = None

    def _installed_on(self) -> Client | AsyncClient | None:
        return self._client() if self._client is not None else None

    # ------------------------------------------------------------ the flows, written once
    #
    # As httpx's Auth.auth_flow: each flow is a generator that yields the user function
    # it needs called (_Call) and gets its result sent back in (or its exception thrown
    # in). It never calls get_token()/refresh_token() itself, so it cannot tell threads
    # from tasks; the two drivers below (_run, _arun) do the calling, the awaiting and
    # the locking. Hand-written twins drifted (the sync 401 path once lacked the
    # awaitable check of the sync request path); a flow cannot.

    def _authorize_flow(self, config: dict[str, Any]) -> _Flow[dict[str, Any]]:
        """Request interceptor: ``Authorization`` from the current token (rule 1)."""
        token = yield _Call.GET_TOKEN
        return self._stamp(config, token)

    def _rejected_flow(self, error: HTTPStatusError) -> _Flow[Replay]:
        """Response interceptor, run by a driver under the helper's lock (rule 2)."""
        shared = self._shared_outcome(error)
        if shared is not None:
            return shared
        token = yield _Call.GET_TOKEN
        if self._token_changed(error, _checked_token(token)):
            return _REPLAY
        with self._refresh(error):
            yield _Call.REFRESH_TOKEN
        return _REPLAY

    # ------------------------------------------------------------ Client (threads)

    def _authorize(self, config: dict[str, Any]) -> dict[str, Any]:
        return self._run(self._authorize_flow(config))

    def _on_rejected(self, failure: BaseException) -> Replay:
        error = self._unauthorized(failure)
        with self._lock, self._refreshing_here():
            return self._run(self._rejected_flow(error))

    def _run(self, flow: _Flow[_T]) -> _T:
        """Drive ``flow`` on ``Client``: call what it asks for; an awaitable is a TypeError."""
        try:
            call = next(flow)
            while True:
                try:
                    result = self._function(call)()
                    if inspect.isawaitable(result):
                        _close(result)
                        raise TypeError(
                            f"BearerTokenRefresh: {call.value}() returned an awaitable; "
                            "the sync Client cannot await it"
                        )
                except Exception as exc:
                    call = flow.throw(exc)
                else:
                    call = flow.send(result)
        except StopIteration as done:
            value: _T = done.value
            return value
        finally:
            flow.close()  # a BaseException (cancelled, interrupted) left it suspended

    # ------------------------------------------------------------ AsyncClient (tasks)

    async def _aauthorize(self, config: dict[str, Any]) -> dict[str, Any]:
        return await self._arun(self._authorize_flow(config))

    async def _aon_rejected(self, failure: BaseException) -> Replay:
        error = self._unauthorized(failure)
        async with self._async_lock():
            with self._refreshing_here():
                return await self._arun(self._rejected_flow(error))

    async def _arun(self, flow: _Flow[_T]) -> _T:
        """Drive ``flow`` on ``AsyncClient``: call what it asks for, awaiting an awaitable."""
        try:
            call = next(flow)
            while True:
                try:
                    result = await _maybe_await(self._function(call)())
                except Exception as exc:  # not CancelledError: a cancelled call just ends
                    call = flow.throw(exc)
                else:
                    call = flow.send(result)
        except StopIteration as done:
            value: _T = done.value
            return value
        finally:
            flow.close()  # a BaseException (cancelled, interrupted) left it suspended

    def _function(self, call: _Call) -> Callable[[], object]:
        return self._get_token if call is _Call.GET_TOKEN else self._refresh_token

    def _async_lock(self) -> asyncio.Lock:
        """The helper's asyncio lock, created lazily in (and for) the running loop."""
        loop = asyncio.get_running_loop()
        if self._alock is None or self._alock_loop is not loop:
            self._alock, self._alock_loop = asyncio.Lock(), loop
        return self._alock

    # ------------------------------------------------------------ shared, no I/O

    def _stamp(self, config: dict[str, Any], token: object) -> dict[str, Any]:
        """Set (or remove) ``Authorization`` and record the generation the token was read under."""
        value = _bearer(_checked_token(token))
        if value is None:
            config["headers"].pop("authorization", None)
        else:
            config["headers"]["Authorization"] = value
        # Read after get_token(): if a refresh finishes in between, the stamp is
        # the new generation and the token comparison catches the stale token.
        config.setdefault("meta", {})[GENERATION_KEY] = self._generation
        return config

    def _unauthorized(self, error: BaseException) -> HTTPStatusError:
        """``error`` if it is a 401 this helper handles; else raise it as it is."""
        if not isinstance(error, HTTPStatusError) or error.status != 401:
            raise error
        if _meta(error).get(REPLAYED_KEY):
            error.add_note(
                "axios_like.auth: still 401 after the token was refreshed; not replayed again"
            )
            raise error
        if self in _REFRESHING.get():
            raise error  # a 401 inside our own refresh_token(): waiting would deadlock
        return error

    def _shared_outcome(self, error: HTTPStatusError) -> Replay | None:
        """Under the lock: the outcome of a refresh that finished after the token was read."""
        stamp = _meta(error).get(GENERATION_KEY)
        if stamp is None or stamp == self._generation:
            return None
        if self._failure is not None:
            raise self._error(error) from self._failure
        logger.debug("auth: %s: token already refreshed, replaying", _where(error))
        return _REPLAY

    def _token_changed(self, error: HTTPStatusError, current: str | None) -> bool:
        """Under the lock: was the request sent with another token than the current one?"""
        headers = (error.config or {}).get("headers") or error.request.headers
        sent: str | None = headers.get("authorization")
        changed = sent != _bearer(current)
        if changed:
            logger.debug("auth: %s: token changed since it was sent, replaying", _where(error))
        return changed

    @contextmanager
    def _refreshing_here(self) -> Iterator[None]:
        """Mark this context as inside the helper's lock (see rule 4)."""
        reset = _REFRESHING.set((*_REFRESHING.get(), self))
        try:
            yield
        finally:
            _REFRESHING.reset(reset)

    @contextmanager
    def _refresh(self, error: HTTPStatusError) -> Iterator[None]:
        """Around the ``refresh_token()`` call: count, log, record the outcome for waiters."""
        self._refreshes += 1
        logger.info("auth: %s got 401; refreshing the token", _where(error))
        try:
            yield
        except Exception as exc:  # cancellation is not recorded: a waiter becomes the leader
            self._failure = exc
            self._generation += 1
            logger.warning("auth: refreshing the token failed (%s)", type(exc).__name__)
            raise self._error(error) from exc
        self._failure = None
        self._generation += 1
        logger.info("auth: token refreshed (refresh #%d); replaying", self._refreshes)

    def _error(self, error: HTTPStatusError) -> AuthRefreshError:
        cause = type(self._failure).__name__
        return AuthRefreshError(
            f"{_where(error)} got 401 and refreshing the token failed: refresh_token() raised "
            f"{cause} (see __cause__)",
            config=error.config,
        )


# ---------------------------------------------------------------- helpers


def _bearer(token: str | None) -> str | None:
    return None if token is None else f"Bearer {token}"


def _checked_token(token: object) -> str | None:
    """``get_token()``'s result, checked without ever showing it."""
    if token is None:
        return None
    if not isinstance(token, str):
        raise TypeError(
            f"BearerTokenRefresh: get_token() must return a str or None; got {type(token).__name__}"
        )
    # httpx/h11 would reject these with a message quoting the header value (the token).
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in token):
        raise ValueError(
            "BearerTokenRefresh: get_token() returned a token with control characters "
            "(not allowed in a header; the token is not shown)"
        )
    return token


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _close(value: object) -> None:
    close = getattr(value, "close", None)
    if callable(close):
        close()


def _meta(error: AxiosLikeError) -> Mapping[str, Any]:
    meta = (error.config or {}).get("meta")
    return meta if isinstance(meta, Mapping) else {}


def _where(error: AxiosLikeError) -> str:
    cfg = error.config or {}
    url = join_url(cfg.get("base_url"), str(cfg.get("url", "")))
    return f"{cfg.get('method', '?')} {redact_url(url)}"


def _has_helper(api: Client | AsyncClient) -> bool:
    chains = (api.interceptors.request.handlers, api.interceptors.response.handlers)
    return any(
        isinstance(getattr(fn, "__self__", None), BearerTokenRefresh)
        for chain in chains
        for _, on_fulfilled, on_rejected in chain
        for fn in (on_fulfilled, on_rejected)
    )
