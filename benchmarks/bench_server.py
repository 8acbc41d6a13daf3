"""How fast is the benchmark server alone? (It must sustain far more than any client.)

Loads :mod:`benchmarks._server` (pinned to CPU 1) from CPU 0 with the cheapest
clients there are, so the figure is the server's ceiling, not a client's:

- ``raw socket, pipelined``: 8 keep-alive connections, 64 requests written at once,
  64 responses read back, repeated for a fixed time;
- ``raw socket, sequential``: one connection, one request at a time (the latency
  floor a sequential client could ever reach);
- ``wrk`` (64 connections, 1 thread), when the ``wrk`` binary is installed
  (``apt-get install wrk``); skipped with a note otherwise.

Run: ``python benchmarks/bench_server.py`` (``--quick``: a smoke run).
"""

from __future__ import annotations

import re
import selectors
import shutil
import socket
import subprocess
import time

from _common import BenchServer, fmt, parse_args, pin_client, print_table, summary, write_json

REQUEST = b"GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def response_size(server: BenchServer) -> int:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(REQUEST)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, _body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        return len(head) + 4 + length


def pipelined(server: BenchServer, seconds: float, conns: int = 8, depth: int = 64) -> float:
    size = response_size(server)
    batch = REQUEST * depth
    want = size * depth
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(conns)]
    sel = selectors.DefaultSelector()
    got = dict.fromkeys(socks, 0)
    for s in socks:
        s.setblocking(False)
        s.sendall(batch)
        sel.register(s, selectors.EVENT_READ)
    done = 0
    start = time.perf_counter()
    end = start + seconds
    while True:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            got[s] += len(s.recv(1 << 20))
            if got[s] >= want:
                assert got[s] == want, "pipelined responses out of step"
                got[s] = 0
                done += depth
                if time.perf_counter() < end:
                    s.sendall(batch)
                else:
                    sel.unregister(s)
        if not sel.get_map() or time.perf_counter() > end + 5:
            break
    elapsed = time.perf_counter() - start
    for s in socks:
        s.close()
    return done / elapsed


def sequential(server: BenchServer, seconds: float) -> float:
    size = response_size(server)
    done = 0
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            sock.sendall(REQUEST)
            got = 0
            while got < size:
                got += len(sock.recv(65536))
            done += 1
        return done / (time.perf_counter() - start)


def wrk(server: BenchServer, seconds: float) -> float | None:
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "0",
            "wrk",
            "-t1",
            "-c64",
            f"-d{max(1, round(seconds))}s",
            f"{server.url}/ok",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    ).stdout
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    return float(match.group(1)) if match else None


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rounds = args.rounds or (2 if args.quick else 5)
    seconds = 0.5 if args.quick else 2.0
    print(pin_client())
    notes: list[str] = []
    results: dict[str, list[float]] = {"raw socket, pipelined": [], "raw socket, sequential": []}
    with BenchServer() as server:
        for _ in range(rounds):
            results["raw socket, pipelined"].append(pipelined(server, seconds))
            results["raw socket, sequential"].append(sequential(server, seconds))
            rate = wrk(server, seconds)
            if rate is None:
                if not notes:
                    notes.append("skipped wrk: binary not installed (apt-get install wrk)")
                    print(f"note: {notes[-1]}")
            else:
                results.setdefault("wrk -t1 -c64", []).append(rate)
    stats = {name: summary(values) for name, values in results.items()}
    print(f"\nbenchmark server alone, requests/s, median (min-max) of {rounds} rounds")
    print_table(["load", "requests/s"], [[name, fmt(s, 0)] for name, s in stats.items()])
    write_json(
        "server",
        {"rounds": rounds, "seconds": seconds, "rps": stats, "notes": notes},
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
