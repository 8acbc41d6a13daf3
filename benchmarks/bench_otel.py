"""OpenTelemetry cost: instrumented (real SDK) vs uninstrumented vs raw httpx, in one run.

Two workloads on the loopback benchmark server, both flavours (sync, async):

- ``happy``: sequential GETs that succeed at once (1 attempt per call);
- ``retry``: calls that get 503, 503, 200 with zero waits (3 attempts per call).

Contenders, interleaved in a rotated order for several rounds: raw httpx,
an uninstrumented axios_like client, and one instrumented with
``axios_like.otel.instrument`` and the real SDK (a ``TracerProvider`` with a
``SimpleSpanProcessor`` into an exporter that drops what it gets, and a
``MeterProvider`` with an in-memory reader). Reported: client CPU us per call, the
ratio to raw httpx of the same round, and the instrumented cost per *attempt*:
(instrumented - uninstrumented CPU per call) / attempts per call, per round.

Run: ``python benchmarks/bench_otel.py`` (``--quick``: a smoke run; ``--n``, ``--rounds``).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import statistics
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from _common import (
    BenchServer,
    fmt,
    measure,
    parse_args,
    pin_client,
    print_table,
    rotated,
    summary,
    write_json,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import axios_like
from axios_like.otel import instrument

RAW, PLAIN, TRACED = "httpx (raw)", "axios_like", "axios_like + OTel SDK"
#: For scale: raw httpx with opentelemetry-instrumentation-httpx on the same SDK
#: (one CLIENT span and one duration per request; no call span, no call metrics).
THEIRS = "httpx + otel-instrumentation-httpx"
NAMES = (RAW, PLAIN, TRACED, THEIRS)


def _instrument_httpx(client: httpx.Client | httpx.AsyncClient, tp: Any, mp: Any) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tp, meter_provider=mp)


class Drop(SpanExporter):
    """Takes every span and drops it: the SDK's work is measured, not an exporter's."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS


def providers() -> tuple[TracerProvider, MeterProvider, Drop]:
    exporter = Drop()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()]), exporter


def config() -> dict[str, Any]:
    return {"max_retries": 3, "retry_strategy": axios_like.FixedDelay(0.0)}


def urls(base: str, workload: str) -> Callable[[], str]:
    if workload == "happy":
        return lambda: base + "/ok"
    ids = itertools.count()
    return lambda: f"{base}/flaky/2/{next(ids)}"


def sync_contenders(tp: TracerProvider, mp: MeterProvider) -> list[tuple[str, Any, Any]]:
    raw, theirs = httpx.Client(), httpx.Client()
    _instrument_httpx(theirs, tp, mp)
    plain = axios_like.create(config())
    traced = axios_like.create(config())
    instrument(traced, tp, mp)

    def by_hand(client: httpx.Client) -> Callable[[str], int]:
        def call(url: str) -> int:
            for _ in range(3):  # raw httpx retries 503 by hand, to send as many requests
                status = client.get(url).status_code
                if status != 503:
                    break
            return status

        return call

    return [
        (RAW, by_hand(raw), raw.close),
        (PLAIN, lambda url: plain.get(url).status, plain.close),
        (TRACED, lambda url: traced.get(url).status, traced.close),
        (THEIRS, by_hand(theirs), theirs.close),
    ]


def async_contenders(
    tp: TracerProvider, mp: MeterProvider
) -> list[tuple[str, Callable[[str], Awaitable[int]], Any]]:
    raw, theirs = httpx.AsyncClient(), httpx.AsyncClient()
    _instrument_httpx(theirs, tp, mp)
    plain = axios_like.create_async(config())
    traced = axios_like.create_async(config())
    instrument(traced, tp, mp)

    def by_hand(client: httpx.AsyncClient) -> Callable[[str], Awaitable[int]]:
        async def call(url: str) -> int:
            for _ in range(3):
                status = (await client.get(url)).status_code
                if status != 503:
                    break
            return status

        return call

    async def plain_call(url: str) -> int:
        return (await plain.get(url)).status

    async def traced_call(url: str) -> int:
        return (await traced.get(url)).status

    return [
        (RAW, by_hand(raw), raw.aclose),
        (PLAIN, plain_call, plain.aclose),
        (TRACED, traced_call, traced.aclose),
        (THEIRS, by_hand(theirs), theirs.aclose),
    ]


def run(flavour: str, workload: str, server: BenchServer, n: int, rounds: int) -> dict[str, Any]:
    tp, mp, exporter = providers()
    next_url = urls(server.url, workload)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in NAMES}
    loop = asyncio.new_event_loop() if flavour == "async" else None
    contenders: list[tuple[str, Any, Any]] = (
        sync_contenders(tp, mp) if loop is None else async_contenders(tp, mp)
    )

    def call(fn: Any, url: str) -> int:
        if loop is None:
            return int(fn(url))
        return int(loop.run_until_complete(fn(url)))

    def batch(fn: Any, count: int) -> None:
        if loop is None:
            for _ in range(count):
                fn(next_url())
            return

        async def many() -> None:
            for _ in range(count):
                await fn(next_url())

        loop.run_until_complete(many())

    for r in range(rounds):
        for name, fn, _ in rotated(contenders, r):
            for _ in range(max(5, n // 20)):
                assert call(fn, next_url()) == 200
            gc.collect()
            sample: dict[str, float] = {}
            with measure(n, server, sample):
                batch(fn, n)
            samples[name].append(sample)
    for _, _, close in contenders:
        result = close()
        if loop is not None and result is not None:
            loop.run_until_complete(result)
    if loop is not None:
        loop.close()
    attempts = 1 if workload == "happy" else 3
    per_attempt = [
        (t["cpu_us"] - p["cpu_us"]) / attempts
        for t, p in zip(samples[TRACED], samples[PLAIN], strict=True)
    ]
    out: dict[str, Any] = {"attempts_per_call": attempts, "spans_exported": exporter.count}
    for name, rows in samples.items():
        out[name] = {
            "cpu_us": summary([s["cpu_us"] for s in rows]),
            "cpu_us_ratio": summary(
                [s["cpu_us"] / b["cpu_us"] for s, b in zip(rows, samples[RAW], strict=True)]
            ),
        }
    out["otel_us_per_attempt"] = summary(per_attempt)
    out["theirs_us_per_request"] = summary(
        [
            (t["cpu_us"] - b["cpu_us"]) / attempts
            for t, b in zip(samples[THEIRS], samples[RAW], strict=True)
        ]
    )
    out["plain_vs_raw_us_per_call"] = summary(
        [p["cpu_us"] - b["cpu_us"] for p, b in zip(samples[PLAIN], samples[RAW], strict=True)]
    )
    tp.shutdown()
    mp.shutdown()
    return out


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], lambda p: p.add_argument("--n", type=int))
    quick = args.quick
    n = args.n or (60 if quick else 2000)
    rounds = args.rounds or (2 if quick else 7)
    pinned = pin_client()
    print(f"{pinned}; {n} calls x {rounds} rounds per contender")
    results: dict[str, Any] = {}
    with BenchServer() as server:
        for flavour in ("sync", "async"):
            for workload in ("happy", "retry"):
                key = f"{flavour}/{workload}"
                results[key] = r = run(flavour, workload, server, n, rounds)
                print(f"\n{key} ({r['attempts_per_call']} attempt(s) per call)")
                rows = [
                    [name, fmt(r[name]["cpu_us"], 0), f"{r[name]['cpu_us_ratio']['median']:.3f}"]
                    for name in NAMES
                ]
                print_table(["client", "CPU us/call", "x raw httpx"], rows)
                print(
                    f"OTel cost per attempt: {fmt(r['otel_us_per_attempt'])} us "
                    f"(otel-instrumentation-httpx per request: {fmt(r['theirs_us_per_request'])}"
                    " us); "
                    f"uninstrumented - raw: {fmt(r['plain_vs_raw_us_per_call'])} us per call"
                )
    medians = [results[k]["otel_us_per_attempt"]["median"] for k in results]
    print(f"\nOTel cost per attempt, median of the four: {statistics.median(medians):.1f} us")
    write_json(
        "otel",
        {"n": n, "rounds": rounds, "pinning": pinned, "results": results},
        quick=quick,
    )


if __name__ == "__main__":
    main()
