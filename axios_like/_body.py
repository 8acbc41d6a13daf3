"""The one bounded read of a response body: the call's deadline and ``max_content_length``.

httpx bounds each socket read by the read timeout, not the whole body: a server
that trickles a byte every second holds a call for as long as it likes. So the
shells never let httpx read a body for them (they send with ``stream=True``);
every non-streamed body is read through :class:`BoundedStream`, which

- checks the call's remaining time after every chunk that arrives from the
  network and, once the deadline has passed, raises ``ReadTimeoutError`` with
  ``reason == "deadline"`` (the shell then closes the response, and with it
  the connection: a half-read connection is never returned to the pool);
- counts the *decoded* bytes against ``max_content_length`` when one is set,
  so a gzip bomb stops at the limit, not at the end of memory.

Nothing here reads a clock: the shell hands in its monotonic clock. The read
loop itself (``for``/``async for``) is the shell's, a few lines in each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Final

import httpx

from ._config import shown_config_url
from ._exceptions import BodyTooLargeError, ContentTooLargeError, ReadTimeoutError
from ._retry import RetryState

__all__ = [
    "BoundedStream",
    "FileUpload",
    "bounded",
    "file_body",
    "file_kind",
    "check_body_length",
    "check_declared_length",
    "count_decoded",
    "with_body",
]

#: ``max_content_length`` when none is set.
UNLIMITED: Final = -1


class BoundedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response's network stream that raises once the call's deadline has passed."""

    def __init__(
        self,
        stream: httpx.SyncByteStream | httpx.AsyncByteStream,
        state: RetryState,
        clock: Callable[[], float],
        cfg: Mapping[str, Any],
    ) -> None:
        self._stream = stream
        self._state = state
        self._clock = clock
        self._cfg = cfg

    def _check(self) -> None:
        remaining = self._state.remaining(self._clock())
        if remaining is not None and remaining <= 0:
            raise _deadline_error(self._cfg)

    def __iter__(self) -> Iterator[bytes]:
        assert isinstance(self._stream, httpx.SyncByteStream)
        for chunk in self._stream:
            self._check()
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        assert isinstance(self._stream, httpx.AsyncByteStream)
        async for chunk in self._stream:
            self._check()
            yield chunk

    def close(self) -> None:
        assert isinstance(self._stream, httpx.SyncByteStream)
        self._stream.close()

    async def aclose(self) -> None:
        assert isinstance(self._stream, httpx.AsyncByteStream)
        await self._stream.aclose()


def bounded(
    raw: httpx.Response, state: RetryState, clock: Callable[[], float], cfg: Mapping[str, Any]
) -> int:
    """Put the deadline check under ``raw``'s body; return the decoded-byte limit (or -1).

    ``Response.stream`` is the public attribute httpx reads the body from.
    Without a deadline the stream is left as it is (nothing to check).
    """
    if state.deadline_at is not None:
        raw.stream = BoundedStream(raw.stream, state, clock, cfg)
    limit: int | None = cfg.get("max_content_length")
    if limit is None:
        return UNLIMITED
    check_declared_length(raw, limit, cfg)
    return limit


def check_declared_length(raw: httpx.Response, limit: int, cfg: Mapping[str, Any]) -> None:
    """Fail before reading when an unencoded body's ``Content-Length`` is already too big."""
    declared = raw.headers.get("content-length")
    unencoded = "content-encoding" not in raw.headers
    if declared is not None and unencoded and declared.isdigit() and int(declared) > limit:
        raise _too_large(cfg, limit, f"Content-Length {declared}")


def count_decoded(received: int, limit: int, cfg: Mapping[str, Any]) -> None:
    """Raise once the decoded bytes read so far pass ``limit``."""
    if received > limit:
        raise _too_large(cfg, limit, f"more than {limit} decoded bytes")


def with_body(raw: httpx.Response, body: bytes) -> httpx.Response:
    """``raw`` as a read response holding ``body`` (its decoded content), headers as received.

    Used only when ``max_content_length`` is set: httpx has no public way to hand a
    response the content read from it in chunks, so a new one is made. It is given
    the headers without their ``Content-Encoding`` (``body`` is already decoded),
    then the received headers are put back.
    """
    headers = raw.headers
    plain = httpx.Headers([(k, v) for k, v in headers.multi_items() if k != "content-encoding"])
    done = httpx.Response(
        raw.status_code,
        headers=plain,
        content=body,
        request=raw.request,
        extensions=raw.extensions,
        history=raw.history,
        default_encoding=raw.default_encoding,
    )
    done.headers = headers
    done.elapsed = raw.elapsed
    done.next_request = raw.next_request
    return done


class _CappedUpload(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A streamed request body (no ``Content-Length``) that stops at ``max_body_length``."""

    def __init__(
        self,
        stream: httpx.SyncByteStream | httpx.AsyncByteStream,
        limit: int,
        cfg: Mapping[str, Any],
    ) -> None:
        self._stream, self._limit, self._cfg, self._sent = stream, limit, cfg, 0

    def _count(self, chunk: bytes) -> bytes:
        self._sent += len(chunk)
        if self._sent > self._limit:
            raise _body_too_large(self._cfg, self._limit, f"more than {self._limit} bytes streamed")
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        assert isinstance(self._stream, httpx.SyncByteStream)
        for chunk in self._stream:
            yield self._count(chunk)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        assert isinstance(self._stream, httpx.AsyncByteStream)
        async for chunk in self._stream:
            yield self._count(chunk)


def check_body_length(request: httpx.Request, limit: int, cfg: Mapping[str, Any]) -> None:
    """Refuse a request body above ``max_body_length`` before it is sent.

    A body of known length is checked here, before any I/O; a streamed one
    (chunked) is counted as it goes and stopped at the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if declared.isdigit() and int(declared) > limit:
            raise _body_too_large(cfg, limit, f"{declared} bytes")
    elif "transfer-encoding" in request.headers:
        request.stream = _CappedUpload(request.stream, limit, cfg)


class FileUpload(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A file body that can be sent again (a retry, a 307/308 redirect) when it is seekable.

    A seekable binary file is read from the position it had when it was given,
    every time the body is sent, and put back there afterwards, so the next
    attempt finds it where the first did. A file that cannot seek (a pipe) is
    sent once; a second send raises ``httpx.StreamConsumed``, which the client
    reports as ``BodyNotReplayableError``: never a silently empty body.
    """

    def __init__(self, file: Any, *, seekable: bool) -> None:
        self._file = file
        self._sent = False
        self.start: int | None = file.tell() if seekable else None
        #: Bytes from the start position to the end (``None`` when it cannot seek).
        self.length: int | None = None
        if self.start is not None:
            self.length = file.seek(0, 2) - self.start
            file.seek(self.start)

    def _chunks(self) -> Iterator[bytes]:
        if self.start is None:
            if self._sent:
                raise httpx.StreamConsumed()
            self._sent = True
        else:
            self._file.seek(self.start)
        try:
            while chunk := self._file.read(65536):
                yield chunk
        finally:
            if self.start is not None:
                self._file.seek(self.start)

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk


def file_kind(body: object) -> bool | None:
    """For a binary file object: can it seek? ``None`` when ``body`` is not one."""
    read = getattr(body, "read", None)
    if read is None or isinstance(body, str | bytes | bytearray) or not callable(read):
        return None
    try:
        if not isinstance(read(0), bytes):
            return None  # a text file: left to httpx, as before
        return bool(body.seekable()) if hasattr(body, "seekable") else False
    except (OSError, ValueError):
        return None


def file_body(body: object) -> FileUpload | None:
    """A :class:`FileUpload` for a binary file object given as a body, else ``None``."""
    seekable = file_kind(body)
    return None if seekable is None else FileUpload(body, seekable=seekable)


def _body_too_large(cfg: Mapping[str, Any], limit: int, what: str) -> BodyTooLargeError:
    return BodyTooLargeError(
        f"{_where(cfg)}: the request body is larger than max_body_length={limit} ({what}); "
        "nothing more was sent",
        config=cfg,
    )


def _where(cfg: Mapping[str, Any]) -> str:
    return f"{cfg.get('method', '')} {shown_config_url(cfg)}".strip()


def _deadline_error(cfg: Mapping[str, Any]) -> ReadTimeoutError:
    error = ReadTimeoutError(
        f"{_where(cfg)}: deadline={cfg.get('deadline')}s passed while reading the response body",
        config=cfg,
    )
    error.reason = "deadline"
    return error


def _too_large(cfg: Mapping[str, Any], limit: int, what: str) -> ContentTooLargeError:
    return ContentTooLargeError(
        f"{_where(cfg)}: the response body is larger than max_content_length={limit} ({what})",
        config=cfg,
    )
