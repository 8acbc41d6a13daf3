"""``FaultTransport``: an httpx transport that fails on purpose, the way real sockets fail.

Rules of this file:

1. Every fault raises exactly the httpx exception class, message style and cause chain
   that httpx's default transport raises for the same event on a real socket (measured
   on 127.0.0.1, table in ``docs/testing.md``; ``tests/test_fault_transport.py`` proves
   it against the real loopback server). The sync path copies what
   ``httpx.HTTPTransport`` says, the async path what ``httpx.AsyncHTTPTransport`` says:
   they differ (the async messages are often empty).
2. Choosing the fault for a request is pure: :meth:`FaultTransport._choose` reads only
   the script positions and the seed, under the lock. Sleeping and calling the wrapped
   transport happen outside the lock.
3. Timeouts are raised at once, as if the timeout had passed: a test never waits for one.
   Only :meth:`Fault.slow` sleeps, and not under ``instant_retries()``.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import math
import os
import random
import threading
import time
import types
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, Literal

import anyio
import h11
import httpcore
import httpx

from .._instant import is_instant

__all__ = ["Fault", "FaultTransport", "RecordedRequest"]

Kind = Literal[
    "pass",
    "refused",
    "connect_timeout",
    "reset",
    "drop",
    "read_timeout",
    "half_body",
    "slow",
    "status",
]

#: Faults after which the request certainly did not reach the server.
_NOT_SENT: Final[frozenset[str]] = frozenset({"refused", "connect_timeout"})
_FILLER: Final = b"x" * 1024


@dataclass(frozen=True, repr=False)
class Fault:
    """One thing a :class:`FaultTransport` does with a request.

    The faults without parameters are constants; the others are made by factories:

    | step | what it does |
    |---|---|
    | ``Fault.PASS`` | send it on: to the wrapped transport, or answer 200 |
    | ``Fault.REFUSED`` | connection refused (``httpx.ConnectError``) |
    | ``Fault.CONNECT_TIMEOUT`` | connect timeout (``httpx.ConnectTimeout``) |
    | ``Fault.RESET`` | TCP reset before the response (``httpx.ReadError``) |
    | ``Fault.DROP`` | closed without a reply (``httpx.RemoteProtocolError``) |
    | ``Fault.READ_TIMEOUT`` | no answer in time (``httpx.ReadTimeout``) |
    | ``Fault.HALF_BODY`` | a 200 whose body stops half-way (``httpx.RemoteProtocolError``) |
    | ``Fault.half_body(...)`` | the same with your status, headers and body |
    | ``Fault.slow(seconds)`` | ``PASS``, ``seconds`` late (a ``ReadTimeout`` past the timeout) |
    | ``Fault.status(code, ...)`` | an HTTP answer: ``retry_after=``, ``headers=``, ``body=`` |

    Faults are values: equal when their parameters are, hashable (so they can be keys
    of ``rates=``), and their repr is how you write them.

    Example::

        >>> Fault.status(503, retry_after=2)
        Fault.status(503, headers={'Retry-After': '2'})
        >>> Fault.RESET.reaches_server, Fault.REFUSED.reaches_server
        (True, False)
    """

    kind: Kind
    code: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    seconds: float = 0.0

    PASS: ClassVar[Fault]
    REFUSED: ClassVar[Fault]
    CONNECT_TIMEOUT: ClassVar[Fault]
    RESET: ClassVar[Fault]
    DROP: ClassVar[Fault]
    READ_TIMEOUT: ClassVar[Fault]
    HALF_BODY: ClassVar[Fault]

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: float | str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
    ) -> Fault:
        """An HTTP answer with status ``code``; ``retry_after`` sets the ``Retry-After`` header.

        ``retry_after`` is seconds (an ``int``-valued number is written without a
        fraction) or the header's text as is (an HTTP-date, or something malformed to
        test the fallback).

        Example::

            >>> Fault.status(429, retry_after=1.5, body="slow down")
            Fault.status(429, headers={'Retry-After': '1.5'}, body=b'slow down')
        """
        if not isinstance(code, int) or not 100 <= code <= 999:
            raise ValueError(f"status code must be an int in 100..999, got {code!r}")
        items = dict(headers or {})
        if retry_after is not None:
            if isinstance(retry_after, str):
                items["Retry-After"] = retry_after
            elif isinstance(retry_after, int | float) and float(retry_after).is_integer():
                items["Retry-After"] = str(int(retry_after))
            else:
                items["Retry-After"] = repr(float(retry_after))
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return cls("status", code=code, headers=tuple(items.items()), body=data)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer as :attr:`PASS` does, ``seconds`` late.

        It sleeps (``time.sleep`` for a sync client, ``asyncio.sleep`` for an async one),
        except under ``instant_retries()``, where it does not sleep at all. When
        ``seconds`` is more than the request's read timeout it raises
        ``httpx.ReadTimeout`` after the timeout instead, as a real slow server would.

        Example::

            >>> Fault.slow(30)
            Fault.slow(30)
        """
        if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        return cls("slow", seconds=float(seconds))

    @classmethod
    def half_body(
        cls,
        code: int = 200,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = _FILLER,
    ) -> Fault:
        """An answer whose ``Content-Length`` announces ``body`` but only half of it comes.

        The status and headers arrive; reading the body raises
        ``httpx.RemoteProtocolError`` ("peer closed connection without sending complete
        message body ...") after the first ``len(body) // 2`` bytes.

        Example::

            >>> Fault.half_body(body=b"0123456789")
            Fault.half_body(200, body=b'0123456789')
        """
        answer = cls.status(code, headers=headers, body=body)
        if len(answer.body) < 2:
            raise ValueError("half_body needs a body of at least 2 bytes to cut")
        return cls("half_body", code=code, headers=answer.headers, body=answer.body)

    @property
    def reaches_server(self) -> bool:
        """Whether a real request with this fault would have reached the server."""
        return self.kind not in _NOT_SENT

    def __repr__(self) -> str:
        constant = _CONSTANT_NAMES.get(self)
        if constant is not None:
            return f"Fault.{constant}"
        if self.kind == "slow":
            seconds = int(self.seconds) if self.seconds.is_integer() else self.seconds
            return f"Fault.slow({seconds})"
        parts = [str(self.code)]
        if self.headers:
            parts.append(f"headers={dict(self.headers)!r}")
        if self.body and not (self.kind == "half_body" and self.body == _FILLER):
            parts.append(f"body={self.body!r}")
        return f"Fault.{self.kind}({', '.join(parts)})"


Fault.PASS = Fault("pass")
Fault.REFUSED = Fault("refused")
Fault.CONNECT_TIMEOUT = Fault("connect_timeout")
Fault.RESET = Fault("reset")
Fault.DROP = Fault("drop")
Fault.READ_TIMEOUT = Fault("read_timeout")
Fault.HALF_BODY = Fault("half_body", body=_FILLER)

_CONSTANT_NAMES: Final[dict[Fault, str]] = {
    Fault.PASS: "PASS",
    Fault.REFUSED: "REFUSED",
    Fault.CONNECT_TIMEOUT: "CONNECT_TIMEOUT",
    Fault.RESET: "RESET",
    Fault.DROP: "DROP",
    Fault.READ_TIMEOUT: "READ_TIMEOUT",
    Fault.HALF_BODY: "HALF_BODY",
}

#: What a script or rates may name: a Fault, a status code, or an ``httpx.Response``.
Step = Fault | int | httpx.Response


def _as_fault(step: object) -> Fault:
    if isinstance(step, Fault):
        return step
    if isinstance(step, bool):
        raise TypeError(f"a script step must be a Fault, a status code or a Response: {step!r}")
    if isinstance(step, int):
        return Fault.status(step)
    if isinstance(step, httpx.Response):
        return Fault.status(step.status_code, headers=dict(step.headers), body=step.read())
    raise TypeError(
        f"a script step must be a Fault, a status code or an httpx.Response, "
        f"got {type(step).__name__}"
    )


def _as_steps(steps: object, where: str) -> tuple[Fault, ...]:
    if isinstance(steps, str | bytes) or not isinstance(steps, Iterable):
        raise TypeError(f"{where} must be a list of steps, got {type(steps).__name__}")
    faults = tuple(_as_fault(step) for step in steps)
    if not faults:
        raise ValueError(f"{where} needs at least one step")
    return faults


@dataclass(frozen=True)
class RecordedRequest:
    """One request a :class:`FaultTransport` saw, and what it did with it.

    ``attempt`` counts from 1 per ``(method, url)`` (the full URL, query included), so
    the retries of one call are attempts 2, 3, ... ``headers`` is a read-only mapping
    with lower-cased names (repeated headers joined with ``", "``). ``body`` is the bytes
    sent; for a fault that never reaches the server (``REFUSED``, ``CONNECT_TIMEOUT``) a
    streaming body is not read, and ``body`` is ``b""``.

    Example::

        posts = [r for r in transport.requests if r.method == "POST" and r.reached_server]
        assert len(posts) == 1  # the POST was sent exactly once
    """

    method: str
    url: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    attempt: int
    fault: Fault

    @property
    def reached_server(self) -> bool:
        """Whether this request, on a real network, would have reached the server."""
        return self.fault.reaches_server


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, Mapping):
        value = timeout.get("read")
        return float(value) if isinstance(value, int | float) else None
    return None


def _chain(*errors: BaseException) -> BaseException:
    """Link ``errors`` as ``raise a from b``, ``raise b from c``...; return the first."""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


def _refused(request: httpx.Request, *, is_async: bool) -> BaseException:
    text = os.strerror(errno.ECONNREFUSED)
    if is_async:  # anyio tries every address, then says this; the cause keeps the errno
        where = (request.url.host, request.url.port)
        message = "All connection attempts failed"
        return _chain(
            httpx.ConnectError(message, request=request),
            httpcore.ConnectError(message),
            OSError(message),
            ConnectionRefusedError(errno.ECONNREFUSED, f"Connect call failed {where}"),
        )
    message = f"[Errno {errno.ECONNREFUSED}] {text}"
    return _chain(
        httpx.ConnectError(message, request=request),
        httpcore.ConnectError(message),
        ConnectionRefusedError(errno.ECONNREFUSED, text),
    )


def _reset(request: httpx.Request, *, is_async: bool) -> BaseException:
    text = os.strerror(errno.ECONNRESET)
    cause = ConnectionResetError(errno.ECONNRESET, text)
    if is_async:  # anyio wraps the OS error, and httpcore keeps anyio's empty message
        return _chain(
            httpx.ReadError("", request=request),
            httpcore.ReadError(""),
            anyio.BrokenResourceError(),
            cause,
        )
    message = f"[Errno {errno.ECONNRESET}] {text}"
    return _chain(httpx.ReadError(message, request=request), httpcore.ReadError(message), cause)


def _timeout(
    phase: Literal["connect", "read"], request: httpx.Request, *, is_async: bool
) -> BaseException:
    # The async chain really ends in anyio's CancelledError of its cancel scope; a
    # CancelledError is not made up here, where a task could mistake it for its own.
    message = "" if is_async else "timed out"
    if phase == "connect":
        return _chain(
            httpx.ConnectTimeout(message, request=request),
            httpcore.ConnectTimeout(message),
            TimeoutError(message) if message else TimeoutError(),
        )
    return _chain(
        httpx.ReadTimeout(message, request=request),
        httpcore.ReadTimeout(message),
        TimeoutError(message) if message else TimeoutError(),
    )


def _dropped(request: httpx.Request) -> BaseException:
    message = "Server disconnected without sending a response."
    return _chain(
        httpx.RemoteProtocolError(message, request=request), httpcore.RemoteProtocolError(message)
    )


def _cut(request: httpx.Request, received: int, expected: int) -> BaseException:
    message = (
        "peer closed connection without sending complete message body "
        f"(received {received} bytes, expected {expected})"
    )
    return _chain(
        httpx.RemoteProtocolError(message, request=request),
        httpcore.RemoteProtocolError(message),
        h11.RemoteProtocolError(message),
    )


def _raise_for(fault: Fault, request: httpx.Request, *, is_async: bool) -> None:
    """Raise the httpx error of a fault that has no response; return for the others."""
    if fault.kind == "refused":
        raise _refused(request, is_async=is_async)
    if fault.kind == "connect_timeout":
        raise _timeout("connect", request, is_async=is_async)
    if fault.kind == "reset":
        raise _reset(request, is_async=is_async)
    if fault.kind == "drop":
        raise _dropped(request)
    if fault.kind == "read_timeout":
        raise _timeout("read", request, is_async=is_async)


class _HalfBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields the first half of a body, then fails as h11 does when the peer hangs up."""

    def __init__(self, body: bytes, request: httpx.Request) -> None:
        self._part = body[: len(body) // 2]
        self._total = len(body)
        self._request = request

    def _error(self) -> BaseException:
        return _cut(self._request, len(self._part), self._total)

    def __iter__(self) -> Iterator[bytes]:
        yield self._part
        raise self._error()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._part
        raise self._error()


def _answer(fault: Fault, request: httpx.Request) -> httpx.Response:
    """The response of a ``status`` or ``half_body`` fault."""
    headers = list(fault.headers)
    if fault.kind == "half_body":
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("Content-Length", str(len(fault.body))))
        return httpx.Response(fault.code, headers=headers, stream=_HalfBody(fault.body, request))
    return httpx.Response(fault.code, headers=headers, content=fault.body)


class FaultTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport for your own tests that fails on purpose, like a real network.

    One object works with both clients (``transport=`` of ``axios_like.create`` or
    ``create_async``, or of a plain ``httpx.Client`` / ``AsyncClient``). Each fault
    raises the same httpx exception, with the same message style, as httpx's own
    transport gives for that event on a real socket, so the retry rules treat it
    exactly as the real fault (``docs/testing.md`` has the measured table).

    - ``script``: the steps to apply in order, each a :class:`Fault`, a status code
      (``503`` means ``Fault.status(503)``) or an ``httpx.Response``. A list is one
      script shared by every request; a dict ``{path: [...]}`` gives each URL path its
      own script (other paths get ``rates`` or ``PASS``). **The last step of a script
      repeats** once the script is used up, as ``FlakyServer`` does: end it with
      ``Fault.PASS`` (or ``200``) to heal.
    - ``rates``: ``{fault: probability}`` for requests no script covers: each request
      gets at most one of them (probabilities are summed in order; the sum may not pass
      1), else ``PASS``. The draw depends only on ``seed``, the method, the URL and the
      attempt number, so it is the same on every run and in every thread interleaving.
    - ``wrap``: the transport ``PASS`` and ``slow`` send to (a ``MockTransport``, an
      ``HTTPTransport``...); without it they answer ``200`` with an empty body. The
      other faults answer by themselves and do not call it.

    Every request is recorded, in order, in :attr:`requests`. The transport is safe to
    share between threads and tasks.

    Example::

        from axios_like.testing import Fault, FaultTransport, instant_retries

        transport = FaultTransport(script={"/charges": [Fault.RESET, 200, Fault.RESET]})
        api = axios_like.create(base_url="https://billing.test", transport=transport)
        with instant_retries():
            api.get("/charges")                   # reset, retried, then 200
            try:
                api.post("/charges", data={"cents": 5})
            except axios_like.ReadError:
                pass                              # a POST that may have arrived: not replayed
        assert [r.attempt for r in transport.requests] == [1, 2, 1]
    """

    def __init__(
        self,
        script: Sequence[Step] | Mapping[str, Sequence[Step]] | None = None,
        *,
        rates: Mapping[Fault | int, float] | None = None,
        seed: int = 0,
        wrap: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Check the script and rates now, so a mistake fails where it is written."""
        self._shared: tuple[Fault, ...] | None = None
        self._paths: dict[str, tuple[Fault, ...]] = {}
        if isinstance(script, Mapping):
            for path, steps in script.items():
                if not isinstance(path, str) or not path.startswith("/"):
                    raise ValueError(f"script paths must start with '/', got {path!r}")
                self._paths[path] = _as_steps(steps, f"script[{path!r}]")
        elif script is not None:
            self._shared = _as_steps(script, "script")
        self._rates: tuple[tuple[Fault, float], ...] = ()
        if rates is not None:
            if self._shared is not None:
                raise ValueError(
                    "rates= would never apply: a list script covers every request "
                    "(use a dict script for some paths, and rates for the rest)"
                )
            pairs = []
            for step, p in rates.items():
                if not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
                    raise ValueError(f"rates[{step!r}] must be a probability in 0..1, got {p!r}")
                pairs.append((_as_fault(step), float(p)))
            if sum(p for _, p in pairs) > 1.0 + 1e-9:
                raise ValueError(f"rates add up to {sum(p for _, p in pairs):.3g}, more than 1")
            self._rates = tuple(pairs)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self._seed = seed
        self._wrap = wrap
        self._lock = threading.Lock()
        self._positions: dict[str | None, int] = {}
        self._attempts: dict[tuple[str, str], int] = {}
        self._requests: list[RecordedRequest] = []

    def __repr__(self) -> str:
        script = self._shared if self._shared is not None else self._paths or None
        return f"<FaultTransport script={script!r} rates={dict(self._rates) or None!r}>"

    # -- what it saw -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request seen so far, in the order they arrived.

        (A request with a streaming body is recorded once its body has been read.)
        """
        with self._lock:
            return list(self._requests)

    def count(self, path: str | None = None, *, method: str | None = None) -> int:
        """How many requests (to ``path``, with ``method``) reached the server.

        Requests that got ``REFUSED`` or ``CONNECT_TIMEOUT`` are not counted: they were
        never sent. Use :attr:`requests` to see those too.
        """
        return sum(
            1
            for r in self.requests
            if r.reached_server
            and (path is None or r.path == path)
            and (method is None or r.method == method.upper())
        )

    # -- the decision ------------------------------------------------------------------

    def _choose(self, request: httpx.Request) -> tuple[Fault, int]:
        """The fault for ``request`` and its attempt number; the caller holds the lock."""
        method, url, path = request.method, str(request.url), request.url.path
        attempt = self._attempts.get((method, url), 0) + 1
        self._attempts[(method, url)] = attempt
        steps: tuple[Fault, ...] | None = self._shared
        key: str | None = None
        if steps is None and path in self._paths:
            steps, key = self._paths[path], path
        if steps is not None:
            position = self._positions.get(key, 0)
            self._positions[key] = position + 1
            return steps[min(position, len(steps) - 1)], attempt
        if self._rates:
            draw = random.Random(f"{self._seed}:{method}:{url}:{attempt}").random()
            total = 0.0
            for fault, p in self._rates:
                total += p
                if draw < total:
                    return fault, attempt
        return Fault.PASS, attempt

    def _record(self, request: httpx.Request, fault: Fault, attempt: int, body: bytes) -> None:
        headers: dict[str, str] = {}
        for name, value in request.headers.multi_items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        record = RecordedRequest(
            method=request.method,
            url=str(request.url),
            path=request.url.path,
            headers=types.MappingProxyType(headers),
            body=body,
            attempt=attempt,
            fault=fault,
        )
        self._requests.append(record)

    @staticmethod
    def _known_body(request: httpx.Request) -> bytes | None:
        """The body when it is already in memory; ``None`` for a stream not read yet."""
        try:
            return request.content
        except httpx.RequestNotRead:
            return None

    @staticmethod
    def _slow_plan(fault: Fault, request: httpx.Request) -> tuple[float, bool]:
        """Seconds to sleep (0 under instant mode) and whether a read timeout follows."""
        if fault.kind != "slow":
            return 0.0, False
        limit = _read_timeout(request)
        times_out = limit is not None and fault.seconds > limit
        wait = limit if times_out and limit is not None else fault.seconds
        return (0.0 if is_instant() else wait), times_out

    # -- sync --------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Apply the next fault to ``request`` (the sync client calls this)."""
        with self._lock:
            fault, attempt = self._choose(request)
            body = self._known_body(request)
            if body is not None or not fault.reaches_server:
                self._record(request, fault, attempt, body or b"")
        if body is None and fault.reaches_server:  # a streaming body: read it as a socket would
            body = request.read()
            with self._lock:
                self._record(request, fault, attempt, body)
        _raise_for(fault, request, is_async=False)
        wait, times_out = self._slow_plan(fault, request)
        if wait:
            time.sleep(wait)
        if times_out:
            raise _timeout("read", request, is_async=False)
        if fault.kind in ("status", "half_body"):
            return _answer(fault, request)
        if self._wrap is None:
            return httpx.Response(200)
        if not isinstance(self._wrap, httpx.BaseTransport):
            raise TypeError(f"wrap={self._wrap!r} is async only; a sync client cannot use it")
        return self._wrap.handle_request(request)

    def close(self) -> None:
        """Close the wrapped transport, if it is a sync one."""
        if isinstance(self._wrap, httpx.BaseTransport):
            self._wrap.close()

    # -- async -------------------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Apply the next fault to ``request`` (the async client calls this)."""
        with self._lock:
            fault, attempt = self._choose(request)
            body = self._known_body(request)
            if body is not None or not fault.reaches_server:
                self._record(request, fault, attempt, body or b"")
        if body is None and fault.reaches_server:  # a streaming body: read it as a socket would
            body = await request.aread()
            with self._lock:
                self._record(request, fault, attempt, body)
        _raise_for(fault, request, is_async=True)
        wait, times_out = self._slow_plan(fault, request)
        if wait:
            await asyncio.sleep(wait)
        if times_out:
            raise _timeout("read", request, is_async=True)
        if fault.kind in ("status", "half_body"):
            return _answer(fault, request)
        if self._wrap is None:
            return httpx.Response(200)
        if not isinstance(self._wrap, httpx.AsyncBaseTransport):
            raise TypeError(f"wrap={self._wrap!r} is sync only; an async client cannot use it")
        return await self._wrap.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport, if it is an async one."""
        if isinstance(self._wrap, httpx.AsyncBaseTransport):
            await self._wrap.aclose()
