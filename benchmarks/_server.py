"""A fast loopback HTTP/1.1 server for the benchmarks (standard library only).

It must never be the bottleneck, so it is as small as a server can be: one
process, one thread, non-blocking sockets on ``selectors`` (epoll), keep-alive
and pipelining, every response pre-built as bytes. It runs in its own process,
pinned to CPU 1 while the benchmark client is pinned to CPU 0
(``os.sched_setaffinity``), so client and server never share a core.

Routes (every request is counted; ``/_stats`` and ``/_reset`` are not):

- ``/flaky/<fails>/<id>``: the first ``<fails>`` requests for that id get 503,
  then 200 -- a fresh ``<id>`` per logical call gives "503, 503, 200".
- ``/_stats``: ``{"requests": N, "flaky": N}`` as JSON; ``/_reset`` zeroes them.
- anything else: ``200`` with a small JSON body.

Run by :class:`benchmarks._common.BenchServer`; by hand::

    python benchmarks/_server.py --port 8080 --cpu 1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import signal
import socket
import sys

OK_BODY = b'{"ok":true,"items":[1,2,3],"name":"axios_like benchmark"}'


def _response(status: int, reason: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Server: bench\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{extra}"
        "\r\n"
    )
    return head.encode("ascii") + body


OK = _response(200, "OK", OK_BODY)
UNAVAILABLE = _response(503, "Service Unavailable", b'{"error":"try again"}')
BAD = _response(400, "Bad Request", b"{}", "Connection: close\r\n")


class Server:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sel = selectors.DefaultSelector()
        self.requests = 0
        self.flaky_requests = 0
        self.flaky: dict[bytes, int] = {}
        self.buffers: dict[socket.socket, bytearray] = {}
        self.pending: dict[socket.socket, bytes] = {}

    def route(self, target: bytes) -> bytes:
        if target.startswith(b"/_"):
            if target.startswith(b"/_reset"):
                self.requests = self.flaky_requests = 0
                self.flaky.clear()
            stats = {"requests": self.requests, "flaky": self.flaky_requests}
            return _response(200, "OK", json.dumps(stats).encode())
        self.requests += 1
        if target.startswith(b"/flaky/"):
            self.flaky_requests += 1
            parts = target.split(b"?", 1)[0].split(b"/")
            try:
                fails = int(parts[2])
            except (IndexError, ValueError):
                return BAD
            key = parts[3] if len(parts) > 3 else b""
            seen = self.flaky.get(key, 0) + 1
            if seen > fails:
                self.flaky.pop(key, None)
                return OK
            self.flaky[key] = seen
            return UNAVAILABLE
        return OK

    def handle(self, conn: socket.socket, data: bytes) -> bool:
        """Feed received bytes; answer every complete request. False = close."""
        buf = self.buffers[conn]
        buf += data
        out: list[bytes] = []
        close = False
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(buf[:end])
            line_end = head.find(b"\r\n")
            request_line = head if line_end < 0 else head[:line_end]
            parts = request_line.split(b" ")
            if len(parts) != 3:
                out.append(BAD)
                close = True
                break
            lower = head.lower()
            length = 0
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else None].strip() or 0)
            total = end + 4 + length
            if len(buf) < total:
                break
            del buf[:total]
            out.append(self.route(parts[1]))
            if b"\r\nconnection: close" in lower:
                close = True
                break
        if out:
            self.send(conn, b"".join(out))
        return not close

    def send(self, conn: socket.socket, payload: bytes) -> None:
        pending = self.pending.get(conn, b"") + payload
        try:
            sent = conn.send(pending)
        except BlockingIOError:
            sent = 0
        rest = pending[sent:]
        if rest:
            self.pending[conn] = rest
            self.sel.modify(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
        elif conn in self.pending:
            del self.pending[conn]
            self.sel.modify(conn, selectors.EVENT_READ)

    def drop(self, conn: socket.socket) -> None:
        self.sel.unregister(conn)
        self.buffers.pop(conn, None)
        self.pending.pop(conn, None)
        conn.close()

    def serve(self) -> None:
        self.sock.setblocking(False)
        self.sel.register(self.sock, selectors.EVENT_READ)
        while True:
            for key, events in self.sel.select():
                if key.fileobj is self.sock:
                    while True:
                        try:
                            conn, _ = self.sock.accept()
                        except BlockingIOError:
                            break
                        conn.setblocking(False)
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        self.buffers[conn] = bytearray()
                        self.sel.register(conn, selectors.EVENT_READ)
                    continue
                conn = key.fileobj  # type: ignore[assignment]
                assert isinstance(conn, socket.socket)
                if events & selectors.EVENT_WRITE:
                    self.send(conn, b"")
                if events & selectors.EVENT_READ:
                    try:
                        data = conn.recv(262144)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data or not self.handle(conn, data):
                        self.drop(conn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=1, help="CPU to pin to (-1: do not pin)")
    args = parser.parse_args()
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        cpus = os.sched_getaffinity(0)
        if args.cpu in cpus and len(cpus) > 1:
            os.sched_setaffinity(0, {args.cpu})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    print(sock.getsockname()[1], flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        Server(sock).serve()


if __name__ == "__main__":
    main()
