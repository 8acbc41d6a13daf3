"""Turning what an attempt produced into what the retry engine and the caller see.

A received response becomes a :class:`Response` or, when ``validate_status``
rejects it, an ``HTTPStatusError``; an exception from httpx becomes the error in
our tree (``map_error``); a success is stamped with its history (``finish``); a
wait about to start becomes the ``on_retry`` event, logged at INFO (``retry_event``).
No I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import httpx

from ._config import (
    join_url,
    shown_config_url,
)
from ._control import AttemptController, Ticket, record_all
from ._exceptions import (
    AxiosLikeError,
    HTTPStatusError,
    from_httpx,
)
from ._logs import LOGGER, log_attempt
from ._models import Replay, Response, RetryEvent
from ._redact import redact_url
from ._registries import Handler, describe
from ._retry import Decision, Retry, RetryState, verdict

__all__ = [
    "DRAIN_LIMIT",
    "checked_middleware_result",
    "checked_response",
    "failed_response",
    "finish",
    "map_error",
    "retry_event",
    "to_outcome",
]

logger = logging.getLogger("axios_like")


#: How much of a failed attempt's streamed body is read so its connection can be reused.
DRAIN_LIMIT: Final = 64 * 1024


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
        logger.info(
            "retrying %s %s: attempt %d failed (%s); waiting %.3fs",
            config.get("method", "?"),
            shown_config_url(config),
            state.attempt,
            reason,
            delay,
        )
    return event


def told(
    state: RetryState,
    step: Decision,
    outcome: Response | Replay | BaseException,
    cause: BaseException | None,
    cfg: Mapping[str, Any],
    asked: tuple[tuple[AttemptController, ...], Ticket] | None,
    started: float,
    now: float,
    wall: float,
) -> RetryEvent | None:
    """After ``decide()``: the DEBUG line, the retry event (a ``Retry`` step's, the one
    ``on_retry``, the INFO log and telemetry all get) and the verdict every controller
    of the attempt is told. Returns the event."""
    if LOGGER.isEnabledFor(logging.DEBUG):
        log_attempt(cfg, outcome, now - started)
    event = None
    if isinstance(step, Retry):
        last_error = outcome if isinstance(outcome, BaseException) else cause
        assert last_error is not None
        event = retry_event(state, step.delay, step.reason, last_error, now)
    if asked is not None:
        said = verdict(
            step, outcome, duration=now - started, cause=cause, event=event, now_wall=wall
        )
        record_all(*asked, said, now)
    return event
