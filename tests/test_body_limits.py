"""The body read is bounded: the deadline covers it, and max_content_length / max_body_length.

A raw socket server in this file trickles, bombs and records, so what is tested is what a
real connection does (a mock transport reads the body before the client sees it).
"""

from __future__ import annotations

import asyncio
import gzip
import io
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import axios_like
from axios_like import transports
from axios_like.testing import instant_retries
from axios_like.testing.server import FlakyServer
from tests.conftest import Both

Handler = Callable[[socket.socket, bytes], None]


@dataclass
class RawServer:
    """One handler per connection; records each request head and whether the client hung up.

    One request per connection: every reply says ``Connection: close``, so a client
    never reuses a connection this server is closing (that race is not under test).
    """

    handler: Handler
    heads: list[bytes] = field(default_factory=list)
    client_closed: list[bool] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        #: Set when a connection's handler has finished (or failed on a closed socket).
        self.finished = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._one, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(5.0)
        with conn:
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            self.heads.append(head)
            length, chunked = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
                chunked |= name.strip().lower() == b"transfer-encoding"
            # A chunked upload is read to its end or until the client gives up on it.
            while len(rest) < length or (chunked and not rest.endswith(b"0\r\n\r\n")):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
            self.bodies.append(rest)
            try:
                self.handler(conn, head)
            except OSError:  # the client hung up while we were sending: what the tests check
                self.client_closed.append(True)
                self.finished.set()
                return
            self.client_closed.append(False)
            self.finished.set()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._accept.join(2)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], RawServer]]:
    made: list[RawServer] = []

    def make(handler: Handler) -> RawServer:
        made.append(RawServer(handler))
        return made[-1]

    yield make
    for server in made:
        server.close()


def trickle(conn: socket.socket, head: bytes) -> None:
    """Headers at once, then one byte every 50 ms of a 200-byte body (10 s in all)."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
        b"Content-Length: 200\r\nContent-Type: text/plain\r\n\r\n"
    )
    for _ in range(200):
        conn.sendall(b"x")
        time.sleep(0.05)


def bomb(conn: socket.socket, head: bytes) -> None:
    """A gzip stream of zeros that never ends on its own: 1 MB decoded per ~1 KB sent.

    Bounded: at most 2,000 blocks (2 GB decoded), so a client that does not stop
    would still end; one that stops at its limit makes the next send fail.
    """
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
        b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    block = b"\0" * 1_000_000
    for _ in range(2000):
        piece = packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH)
        conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        time.sleep(0.002)


def small_gzip(conn: socket.socket, head: bytes) -> None:
    packed = gzip.compress(b"\0" * 100_000)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(packed)}\r\n\r\n".encode()
        + packed
    )


def ok(conn: socket.socket, head: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")


def _flavours() -> list[str]:
    return ["sync", "sync-urllib3", "async", "async-aiohttp"]


async def _get(
    flavour: str, url: str, started: list[float] | None = None, **kw: object
) -> axios_like.Response:
    """GET url/x on a fresh client; ``started`` gets the time the call began (after setup)."""
    started = [] if started is None else started
    if flavour.startswith("sync"):
        sync_extra = {"transport": transports.urllib3_transport()} if "urllib3" in flavour else {}
        with axios_like.create(base_url=url, **sync_extra) as api:  # type: ignore[arg-type]
            started.append(time.monotonic())
            return api.get("/x", **kw)  # type: ignore[arg-type]
    transport = transports.aiohttp_transport() if flavour == "async-aiohttp" else None
    extra = {"transport": transport} if transport is not None else {}
    async with axios_like.create_async(base_url=url, **extra) as aapi:  # type: ignore[arg-type]
        started.append(time.monotonic())
        return await aapi.get("/x", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("flavour", _flavours())
async def test_deadline_bounds_a_trickling_body(
    flavour: str, raw_server: Callable[[Handler], RawServer]
) -> None:
    server = raw_server(trickle)
    started: list[float] = []
    with pytest.raises(axios_like.RetryError) as caught:
        await _get(flavour, server.url, started, deadline=1.0, timeout=5.0)
    took = time.monotonic() - started[0]
    assert 0.9 <= took < 1.2, took
    assert caught.value.reason == "deadline"
    cause = caught.value.__cause__
    assert isinstance(cause, axios_like.ReadTimeoutError)
    assert cause.reason == "deadline"
    assert "deadline=1.0s" in str(cause)
    assert caught.value.attempts == 1
    # The server's connection was closed under it: its next sends fail.
    await asyncio.to_thread(server.finished.wait, 3.0)
    assert server.client_closed == [True]
    assert len(server.heads) == 1  # 0 further attempts


@pytest.mark.parametrize("flavour", _flavours())
async def test_not_retryable_method_raises_the_deadline_timeout_itself(
    flavour: str, raw_server: Callable[[Handler], RawServer]
) -> None:
    server = raw_server(trickle)
    with pytest.raises(axios_like.ReadTimeoutError) as caught:
        await _get(flavour, server.url, deadline=0.4, max_retries=0)
    assert caught.value.reason == "deadline"
    assert len(server.heads) == 1


async def test_stream_deadline_covers_opening_not_the_callers_reads(
    raw_server: Callable[[Handler], RawServer],
) -> None:
    def slow_ten(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\n")
        for _ in range(10):
            conn.sendall(b"y")
            time.sleep(0.05)

    server = raw_server(slow_ten)
    async with axios_like.create_async(base_url=server.url) as api:
        started = time.monotonic()
        async with api.stream("GET", "/x", deadline=0.2) as r:
            body = b"".join([chunk async for chunk in r.raw.aiter_bytes()])
        assert body == b"y" * 10  # read past the deadline: the caller's reads are theirs
        assert time.monotonic() - started > 0.4


@pytest.mark.parametrize("flavour", _flavours())
async def test_gzip_bomb_stops_at_max_content_length(
    flavour: str, raw_server: Callable[[Handler], RawServer]
) -> None:
    server = raw_server(bomb)
    with pytest.raises(axios_like.ContentTooLargeError) as caught:
        await _get(flavour, server.url, max_content_length=1_000_000)
    assert "max_content_length=1000000" in str(caught.value)
    assert len(server.heads) == 1  # never retried
    await asyncio.to_thread(server.finished.wait, 3.0)
    assert server.client_closed == [True]  # stopped part-way, connection closed


@pytest.mark.parametrize("flavour", _flavours())
async def test_a_body_under_the_limit_is_whole_and_keeps_its_headers(
    flavour: str, raw_server: Callable[[Handler], RawServer]
) -> None:
    server = raw_server(small_gzip)
    r = await _get(flavour, server.url, max_content_length=100_000)
    assert r.raw.content == b"\0" * 100_000
    assert r.headers["content-encoding"] == "gzip"


def test_declared_length_above_the_limit_fails_before_reading(
    raw_server: Callable[[Handler], RawServer],
) -> None:
    def big(conn: socket.socket, head: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5000\r\n\r\n" + b"z" * 5000
        )

    server = raw_server(big)
    with axios_like.create(base_url=server.url) as api:
        with pytest.raises(axios_like.ContentTooLargeError, match="Content-Length 5000"):
            api.get("/x", max_content_length=4999)
        assert api.get("/x", max_content_length=5000).raw.content == b"z" * 5000


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_max_body_length(flavour: str, raw_server: Callable[[Handler], RawServer]) -> None:
    server = raw_server(ok)

    def chunks() -> Iterator[bytes]:
        yield b"a" * 600
        yield b"b" * 600

    async def achunks() -> object:
        yield b"a" * 600
        yield b"b" * 600

    with instant_retries():
        if flavour == "sync":
            with axios_like.create(base_url=server.url) as api:
                with pytest.raises(axios_like.BodyTooLargeError, match="1001 bytes"):
                    api.post("/x", content=b"x" * 1001, max_body_length=1000)
                assert api.post("/x", content=b"x" * 1000, max_body_length=1000).data == "ok"
                with pytest.raises(axios_like.BodyTooLargeError, match="streamed"):
                    api.post("/x", content=chunks(), max_body_length=1000)
        else:
            async with axios_like.create_async(base_url=server.url) as aapi:
                with pytest.raises(axios_like.BodyTooLargeError, match="1001 bytes"):
                    await aapi.post("/x", content=b"x" * 1001, max_body_length=1000)
                r = await aapi.post("/x", content=b"x" * 1000, max_body_length=1000)
                assert r.data == "ok"
                with pytest.raises(axios_like.BodyTooLargeError, match="streamed"):
                    await aapi.post("/x", content=achunks(), max_body_length=1000)
    # the too-large known-length body was never sent; the one at the limit was, whole
    assert b"x" * 1000 in server.bodies
    assert all(len(body) != 1001 for body in server.bodies)


def test_limits_are_validated() -> None:
    for bad in (-1, 1.5, "10", True):
        with pytest.raises(axios_like.ConfigError, match="max_content_length"):
            axios_like.create(max_content_length=bad)  # type: ignore[arg-type]
        with pytest.raises(axios_like.ConfigError, match="max_body_length"):
            axios_like.create(max_body_length=bad)  # type: ignore[arg-type]


async def test_a_streamed_body_under_the_limit_goes_whole_and_no_body_is_never_refused(
    make_client: Callable[..., Both], server: FlakyServer
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a" * 600
        yield b"b" * 400

    async def achunks() -> AsyncIterator[bytes]:
        for chunk in chunks():
            yield chunk

    api = make_client(base_url=server.url, max_body_length=1000)
    r = await api.post("/up", content=achunks() if api.is_async else chunks())
    assert r.status == 200
    seen = server.requests_for("/up")
    assert [s.body for s in seen] == [b"a" * 600 + b"b" * 400]
    assert seen[0].headers["transfer-encoding"] == "chunked"  # counted as it went
    assert (await api.get("/none")).status == 200  # no length, no stream: nothing to count
    assert server.requests_for("/none")[0].body == b""


def test_file_kind_answers_none_for_text_files_and_files_it_cannot_read(tmp_path: Path) -> None:
    from axios_like._body import file_kind

    path = tmp_path / "f.txt"
    path.write_text("hello", encoding="utf-8")
    with path.open("rb") as binary:
        assert file_kind(binary) is True
    with path.open(encoding="utf-8") as text:
        assert file_kind(text) is None  # a text file: left to httpx
    closed = path.open("rb")
    closed.close()
    assert file_kind(closed) is None  # read(0) raises ValueError
    assert file_kind(b"bytes") is None
    assert file_kind(io.BytesIO(b"x")) is True
