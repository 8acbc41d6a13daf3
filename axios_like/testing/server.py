"""A tiny scriptable HTTP/1.1 server on 127.0.0.1 for fault tests on real sockets.

Mock transports cannot reproduce what actually goes wrong on the wire: a server that
hangs up before answering, a TCP reset, a response cut off in the middle of its body,
a reply that arrives too late, a keep-alive connection that is (or is not) reused.
:class:`FlakyServer` produces exactly those situations on a real socket, so the retry
and timeout machinery of ``axios_like`` can be exercised end to end.  It is used by the
test suite, the examples and the demo, and depends on the standard library only::

    with FlakyServer() as server:
        server.script("/flaky", [Reply(503, headers={"Retry-After": "0"}), Reply(200, json={})])
        ...  # point a client at server.url + "/flaky"
        assert server.count("/flaky") == 2

Each path can be given a script (a list of :class:`Reply` objects consumed in order, the
last one repeating forever) or a handler function; any other path echoes the request
back as JSON.  Every request is recorded as a :class:`Seen` before it is answered.

The server is deliberately small and defensive: every connection runs in its own daemon
thread, every socket operation has a timeout, every loop is bounded, delays are
interrupted on shutdown, and :meth:`FlakyServer.close` joins all threads within a bounded
time.  It is not meant to be fast or fully standards compliant; it is meant to be
predictable.
"""

from __future__ import annotations

import contextlib
import email.utils
import http
import json as _json
import socket
import string
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal, Self
from urllib.parse import urlsplit

__all__ = ["Action", "FlakyServer", "Handler", "Reply", "Seen"]

Action = Literal["respond", "drop", "reset", "drop_mid_body", "close_after"]
"""What the server does with a request once it has been read (see :class:`Reply`)."""

_ACTIONS: Final[frozenset[str]] = frozenset(
    {"respond", "drop", "reset", "drop_mid_body", "close_after"}
)

_IO_TIMEOUT: Final = 10.0  # seconds, for every blocking socket operation
_JOIN_TIMEOUT: Final = 5.0  # seconds, total budget for joining threads on close()
_ACCEPT_POLL: Final = 0.05  # seconds, how often the accept loop checks for shutdown
_RECV_SIZE: Final = 65536
_MAX_LINE: Final = 65536  # request line, header line or chunk-size line
_MAX_HEADERS: Final = 256
_MAX_BODY: Final = 64 * 1024 * 1024
_MAX_CHUNKS: Final = 1_000_000
_MAX_REQUESTS_PER_CONNECTION: Final = 100_000
_MAX_LEADING_BLANK_LINES: Final = 8
_NO_BODY_STATUSES: Final[frozenset[int]] = frozenset({204, 304})
_FILLER_BODY: Final = b"x" * 1024  # used by "drop_mid_body" when the reply has no body
_HEXDIGITS: Final = frozenset(string.hexdigits)


class _NotGiven:
    """Type of the sentinel meaning "no JSON payload given" in :class:`Reply`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not given>"


_NOT_GIVEN: Final = _NotGiven()


@dataclass(frozen=True)
class Reply:
    """One scripted answer of the :class:`FlakyServer`.

    ``json``, when given, replaces ``body`` with ``json.dumps(json)`` and implies
    ``Content-Type: application/json``.  ``delay`` is how long to wait (interruptibly)
    after reading the request before acting.  ``action`` selects the behaviour:

    * ``"respond"`` -- a normal response with ``Content-Length``; keep-alive is honoured.
    * ``"drop"`` -- close the connection without sending anything.
    * ``"reset"`` -- close with a TCP RST (``SO_LINGER`` on, zero timeout).
    * ``"drop_mid_body"`` -- send the head announcing the full length, then only the first
      half of the body, then close (a 1 KiB filler body is used if the reply has none).
    * ``"close_after"`` -- respond normally with ``Connection: close``, then close.
    """

    status: int = 200
    headers: Mapping[str, str] | None = None
    body: bytes | str = b""
    json: object = _NOT_GIVEN
    delay: float = 0.0
    action: Action = "respond"

    def __post_init__(self) -> None:
        """Validate the fields early, so a bad script fails where it is written."""
        if not 100 <= self.status <= 999:
            raise ValueError(f"status must be in 100..999, got {self.status!r}")
        if self.delay < 0:
            raise ValueError(f"delay must be >= 0, got {self.delay!r}")
        if self.action not in _ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; expected one of {sorted(_ACTIONS)}")


@dataclass(frozen=True)
class Seen:
    """A request as received by the :class:`FlakyServer`.

    ``path`` excludes the query string, ``target`` is the raw request target, header names
    are lower-cased (repeated headers are joined with ``", "``), ``connection`` is the
    1-based id of the TCP connection and ``time`` is ``time.monotonic()`` at the moment
    the request had been fully received.
    """

    method: str
    path: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int
    time: float


Handler = Callable[[Seen], Reply]
"""A function computing the :class:`Reply` for each request to a path."""


class _Closed(Exception):
    """The peer closed the connection."""


class _BadRequest(Exception):
    """The request could not be parsed."""


@dataclass(frozen=True)
class _Request:
    seen: Seen
    keep_alive: bool
    http10: bool


class _Reader:
    """Buffered reading from a socket, with hard limits."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def _fill(self) -> None:
        chunk = self._sock.recv(_RECV_SIZE)
        if not chunk:
            raise _Closed
        self._buf += chunk

    def readline(self, limit: int = _MAX_LINE) -> bytes:
        """Return one line including its terminator; at most ``limit`` bytes."""
        while True:  # bounded: each _fill() adds >= 1 byte or raises, and limit caps it
            end = self._buf.find(b"\n", 0, limit)
            if end >= 0:
                line = bytes(self._buf[: end + 1])
                del self._buf[: end + 1]
                return line
            if len(self._buf) >= limit:
                raise _BadRequest("line too long")
            self._fill()

    def read_exact(self, size: int) -> bytes:
        """Return exactly ``size`` bytes."""
        while len(self._buf) < size:  # bounded by size
            self._fill()
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data


def _read_chunked(reader: _Reader) -> bytes:
    parts: list[bytes] = []
    total = 0
    for _ in range(_MAX_CHUNKS):
        size_text = reader.readline().split(b";", 1)[0].strip().decode("latin-1")
        if not size_text or not _HEXDIGITS.issuperset(size_text):
            raise _BadRequest(f"bad chunk size {size_text!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > _MAX_BODY:
            raise _BadRequest("body too large")
        parts.append(reader.read_exact(size))
        if reader.readline(limit=3).strip():
            raise _BadRequest("missing CRLF after chunk data")
    else:
        raise _BadRequest("too many chunks")
    for _ in range(_MAX_HEADERS):  # trailers, ignored
        if not reader.readline().strip():
            break
    else:
        raise _BadRequest("too many trailer lines")
    return b"".join(parts)


def _read_request(reader: _Reader, sock: socket.socket, connection: int) -> _Request:
    line = b""
    for _ in range(_MAX_LEADING_BLANK_LINES):
        line = reader.readline().strip()
        if line:
            break
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _BadRequest(f"bad request line {line[:100]!r}")
    method, target, version = parts

    headers: dict[str, str] = {}
    last = ""
    for _ in range(_MAX_HEADERS + 1):
        raw = reader.readline().rstrip(b"\r\n")
        if not raw:
            break
        text = raw.decode("latin-1")
        if text[0] in " \t" and last:  # obsolete line folding
            headers[last] += " " + text.strip()
            continue
        name, sep, value = text.partition(":")
        name = name.strip().lower()
        if not sep or not name:
            raise _BadRequest(f"bad header line {text[:100]!r}")
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
        last = name
    else:
        raise _BadRequest("too many headers")

    if headers.get("expect", "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    if "transfer-encoding" in headers:
        codings = [c.strip().lower() for c in headers["transfer-encoding"].split(",")]
        if codings[-1] != "chunked":
            raise _BadRequest("request body length cannot be determined")
        body = _read_chunked(reader)
    elif "content-length" in headers:
        lengths = {v.strip() for v in headers["content-length"].split(",")}
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise _BadRequest(f"bad Content-Length {headers['content-length']!r}")
        length = int(next(iter(lengths)))
        if length > _MAX_BODY:
            raise _BadRequest("body too large")
        body = reader.read_exact(length)
    else:
        body = b""
    received = time.monotonic()

    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    # HTTP/1.1 connections persist unless closed; HTTP/1.0 ones only on request.
    keep_alive = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens

    path = target.split("?", 1)[0]
    if target.startswith(("http://", "https://")):  # absolute-form target
        path = urlsplit(target).path or "/"
    seen = Seen(
        method=method.upper(),
        path=path,
        target=target,
        headers=headers,
        body=body,
        connection=connection,
        time=received,
    )
    return _Request(seen=seen, keep_alive=keep_alive, http10=version == "HTTP/1.0")


def _payload(reply: Reply) -> tuple[bytes, str | None]:
    """Return the body bytes of ``reply`` and the Content-Type it implies (if any)."""
    if not isinstance(reply.json, _NotGiven):
        return _json.dumps(reply.json).encode("utf-8"), "application/json"
    if isinstance(reply.body, str):
        return reply.body.encode("utf-8"), None
    return bytes(reply.body), None


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _render_head(
    status: int,
    headers: Mapping[str, str],
    *,
    body_length: int,
    content_type: str | None,
    keep_alive: bool,
    http10_client: bool,
) -> bytes:
    present = {name.lower() for name in headers}
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    if "date" not in present:
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
    if content_type is not None and "content-type" not in present:
        lines.append(f"Content-Type: {content_type}")
    if (
        "content-length" not in present
        and "transfer-encoding" not in present
        and status >= 200
        and status not in _NO_BODY_STATUSES
    ):
        lines.append(f"Content-Length: {body_length}")
    if "connection" not in present:
        if not keep_alive:
            lines.append("Connection: close")
        elif http10_client:
            lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _asks_to_close(headers: Mapping[str, str]) -> bool:
    for name, value in headers.items():
        if name.lower() == "connection" and "close" in value.lower():
            return True
    return False


class FlakyServer:
    """A scriptable HTTP/1.1 server on ``127.0.0.1`` that misbehaves on request.

    Binds an ephemeral port and starts serving (in daemon threads) on construction; use it
    as a context manager, or call :meth:`close` when done.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, io_timeout: float = _IO_TIMEOUT
    ) -> None:
        """Bind ``host:port`` (port 0 picks a free port) and start the accept thread."""
        self._io_timeout = io_timeout
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._scripts: dict[str, list[Reply]] = {}
        self._positions: dict[str, int] = {}
        self._handlers: dict[str, Handler] = {}
        self._requests: list[Seen] = []
        self._connections = 0
        self._active: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False

        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, port))
            self._listener.listen(128)
            self._listener.settimeout(_ACCEPT_POLL)
        except BaseException:
            self._listener.close()
            raise
        self._host: str = host
        self._port: int = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"flaky-server-accept-{self._port}", daemon=True
        )
        self._accept_thread.start()

    # -- context manager / lifecycle -------------------------------------------------

    def __enter__(self) -> Self:
        """Return the (already running) server."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server (see :meth:`close`)."""
        self.close()

    def close(self) -> None:
        """Stop accepting, abort open connections and delays, and join all threads.

        Joining is bounded (5 seconds in total); calling ``close()`` twice is harmless.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            for sock in self._active:  # wake threads blocked in recv()/send()
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _JOIN_TIMEOUT
        self._accept_thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._listener.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "serving"
        return f"<FlakyServer {self.url} {state}>"

    # -- addresses ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``"http://127.0.0.1:54321"`` (no trailing slash)."""
        return f"http://{self._host}:{self._port}"

    # -- scripting ---------------------------------------------------------------------

    def script(self, path: str, replies: Iterable[Reply]) -> None:
        """Answer requests to ``path`` with ``replies`` in order; the last one then repeats.

        Replaces any earlier script or handler for ``path`` (the query string is ignored).
        """
        sequence = list(replies)
        if not sequence:
            raise ValueError("script() needs at least one Reply")
        for reply in sequence:
            if not isinstance(reply, Reply):
                raise TypeError(f"expected Reply, got {type(reply).__name__}")
        key = _strip_query(path)
        with self._lock:
            self._handlers.pop(key, None)
            self._scripts[key] = sequence
            self._positions[key] = 0

    def handle(self, path: str, fn: Handler) -> None:
        """Answer every request to ``path`` with ``fn(seen)``.

        ``fn`` runs in the connection's thread (making it thread-safe is the caller's job);
        if it raises, the client gets a 500.  Replaces any earlier script for ``path``.
        """
        key = _strip_query(path)
        with self._lock:
            self._scripts.pop(key, None)
            self._positions.pop(key, None)
            self._handlers[key] = fn

    def reset(self) -> None:
        """Forget all scripts, handlers and recorded requests (the connection count stays)."""
        with self._lock:
            self._scripts.clear()
            self._positions.clear()
            self._handlers.clear()
            self._requests.clear()

    # -- inspection --------------------------------------------------------------------

    @property
    def requests(self) -> list[Seen]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[Seen]:
        """The recorded requests whose path (without query string) is ``path``."""
        key = _strip_query(path)
        return [seen for seen in self.requests if seen.path == key]

    def count(self, path: str) -> int:
        """How many requests to ``path`` have been received."""
        return len(self.requests_for(path))

    @property
    def connections(self) -> int:
        """How many TCP connections have been accepted so far."""
        with self._lock:
            return self._connections

    @property
    def open_connections(self) -> int:
        """How many TCP connections are open now (accepted and not yet closed by either side).

        A connection the client closed is counted until its thread notices: after a
        reply's ``delay``, or at once when it is waiting for the next request.
        """
        with self._lock:
            return len(self._active)

    # -- internals ---------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():  # runs until close()
            try:
                sock, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.wait(_ACCEPT_POLL):
                    break
                continue
            with self._lock:
                if self._stop.is_set():
                    sock.close()
                    break
                self._connections += 1
                connection = self._connections
                self._active.add(sock)
                self._threads = [t for t in self._threads if t.is_alive()]
                thread = threading.Thread(
                    target=self._serve_connection,
                    args=(sock, connection),
                    name=f"flaky-server-conn-{self._port}-{connection}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()

    def _serve_connection(self, sock: socket.socket, connection: int) -> None:
        try:
            sock.settimeout(self._io_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = _Reader(sock)
            for _ in range(_MAX_REQUESTS_PER_CONNECTION):
                if self._stop.is_set():
                    break
                try:
                    request = _read_request(reader, sock, connection)
                except _BadRequest as exc:
                    self._send_bad_request(sock, str(exc))
                    break
                with self._lock:
                    self._requests.append(request.seen)
                reply = self._choose(request.seen)
                if reply.delay > 0 and self._stop.wait(reply.delay):
                    break
                if not self._act(sock, request, reply):
                    break
        except (_Closed, OSError, ValueError):
            pass  # peer went away, timeout, or shutdown: just drop the connection
        finally:
            with self._lock:
                self._active.discard(sock)
            sock.close()

    def _choose(self, seen: Seen) -> Reply:
        with self._lock:
            handler = self._handlers.get(seen.path)
            replies = self._scripts.get(seen.path)
            if replies is not None:
                position = self._positions.get(seen.path, 0)
                self._positions[seen.path] = min(position + 1, len(replies))
                return replies[min(position, len(replies) - 1)]
        if handler is not None:
            try:
                return handler(seen)
            except Exception as exc:
                return Reply(500, body=f"FlakyServer handler raised {exc!r}\n")
        return Reply(
            200,
            json={
                "method": seen.method,
                "path": seen.path,
                "query": seen.target.partition("?")[2],
                "headers": seen.headers,
                "body": seen.body.decode("utf-8", errors="replace"),
            },
        )

    def _act(self, sock: socket.socket, request: _Request, reply: Reply) -> bool:
        """Carry out ``reply``; return whether the connection stays open."""
        if reply.action == "drop":
            return False
        if reply.action == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        body, content_type = _payload(reply)
        if reply.action == "drop_mid_body" and not body:
            body = _FILLER_BODY
        headers = reply.headers or {}
        keep_alive = (
            request.keep_alive and reply.action == "respond" and not _asks_to_close(headers)
        )
        head = _render_head(
            reply.status,
            headers,
            body_length=len(body),
            content_type=content_type,
            keep_alive=keep_alive,
            http10_client=request.http10,
        )
        if request.seen.method == "HEAD" or reply.status in _NO_BODY_STATUSES:
            body = b""
        if reply.action == "drop_mid_body":
            sock.sendall(head + body[: len(body) // 2])
            return False
        sock.sendall(head + body)
        return keep_alive

    def _send_bad_request(self, sock: socket.socket, message: str) -> None:
        body = f"FlakyServer: bad request: {message}\n".encode()
        head = _render_head(
            400,
            {"Content-Type": "text/plain; charset=utf-8"},
            body_length=len(body),
            content_type=None,
            keep_alive=False,
            http10_client=False,
        )
        sock.sendall(head + body)


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0]
