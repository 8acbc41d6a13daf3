"""Observability (SPEC section 6): spans, metrics and logs, both clients, real loopback.

Against the OpenTelemetry SDK's in-memory span exporter and metric reader.
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import axios_like
import axios_like.logging as al_logging
from axios_like._control import (
    SEND,
    Admission,
    AttemptKind,
    Failure,
    Origin,
    Refuse,
    Step,
    StopReason,
    Ticket,
    Verdict,
    Wait,
)
from axios_like.instrumentation import AttemptInfo, CallInfo
from axios_like.instrumentation._otel import ATTEMPT_BUCKETS, BUCKETS
from axios_like.otel import METRICS, TelemetryController, instrument, uninstrument
from axios_like.testing.server import FlakyServer, Reply
from tests.conftest import TEST_TRANSPORT, Both

pytestmark = pytest.mark.usefixtures("instant")


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


class Open(SpanProcessor):
    """Tracks spans started and not ended: a leak shows up here."""

    def __init__(self) -> None:
        self.open: dict[int, str] = {}
        self.started = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started += 1
        self.open[span.context.span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        assert span.context is not None
        self.open.pop(span.context.span_id)


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.leaks = Open()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.leaks)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def instrument(self, api: Both) -> TelemetryController:
        return instrument(api.client, self.tracer_provider, self.meter_provider)

    def spans(self, kind: SpanKind | None = None) -> list[ReadableSpan]:
        spans = self.exporter.get_finished_spans()
        return [s for s in spans if kind is None or s.kind is kind]

    def metrics(self) -> dict[str, Metric]:
        data = self.reader.get_metrics_data()
        found: dict[str, Metric] = {}
        if data is None:
            return found
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    found[metric.name] = metric
        return found


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    assert t.leaks.open == {}, f"spans left open: {t.leaks.open}"
    t.tracer_provider.shutdown()
    t.meter_provider.shutdown()


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_503_503_200_gives_three_client_spans_under_one_call_span(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(200, json={"ok": True})])
    api = make_client(base_url=server.url)
    otel.instrument(api)
    events: list[axios_like.RetryEvent] = []
    r = await api.get("/flaky", on_retry=events.append)
    assert (r.status, r.attempts) == (200, 3)

    (call,) = otel.spans(SpanKind.INTERNAL)
    clients = otel.spans(SpanKind.CLIENT)
    assert len(clients) == 3
    assert len(otel.spans()) == 4
    assert call.name == "axios_like GET"
    assert [c.name for c in clients] == ["GET"] * 3
    assert all(c.parent is not None and c.parent.span_id == call.context.span_id for c in clients)
    assert {c.context.trace_id for c in clients} == {call.context.trace_id}
    assert [_attrs(c).get("http.request.resend_count") for c in clients] == [None, 1, 2]
    assert [_attrs(c)["http.response.status_code"] for c in clients] == [503, 503, 200]
    assert [_attrs(c).get("error.type") for c in clients] == ["503", "503", None]
    assert [c.status.status_code for c in clients] == [StatusCode.ERROR] * 2 + [StatusCode.UNSET]
    first = _attrs(clients[0])
    assert first["http.request.method"] == "GET"
    assert first["server.address"] == "127.0.0.1"
    assert first["server.port"] == server.port
    assert first["url.full"] == server.url + "/flaky"
    # the call span starts before its first attempt and ends after its last
    assert call.start_time is not None
    assert call.end_time is not None
    assert call.start_time <= min(c.start_time or 0 for c in clients)
    assert call.end_time >= max(c.end_time or 0 for c in clients)
    assert _attrs(call)["axios_like.outcome"] == "recovered"
    assert _attrs(call)["axios_like.attempts"] == 3
    # one retry event per retry, from the very RetryEvent on_retry got
    retries = [e for e in call.events if e.name == "retry"]
    assert [dict(e.attributes or {}) for e in retries] == [
        {
            "axios_like.retry.attempt": ev.attempt,
            "axios_like.retry.delay": ev.delay,
            "axios_like.retry.reason": ev.reason,
            "error.type": "503",
        }
        for ev in events
    ]
    assert [ev.attempt for ev in events] == [1, 2]
    assert len(retries) == 2

    # every attempt carried its own traceparent: the server saw them
    seen = [s.headers.get("traceparent") for s in server.requests_for("/flaky")]
    want = [f"00-{c.context.trace_id:032x}-{c.context.span_id:016x}-" for c in clients]
    assert len(seen) == 3
    assert len(set(seen)) == 3
    assert all(s is not None and s.startswith(w) for s, w in zip(seen, want, strict=True))


async def test_an_exhausted_call_records_why(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    server.script("/down", [Reply(503)])
    api = make_client(base_url=server.url, max_retries=1)
    otel.instrument(api)
    with pytest.raises(axios_like.RetryError):
        await api.get("/down")
    (call,) = otel.spans(SpanKind.INTERNAL)
    assert _attrs(call)["axios_like.outcome"] == "exhausted"
    assert _attrs(call)["axios_like.stop_reason"] == "max_retries"
    assert _attrs(call)["error.type"] == "503"
    assert call.status.status_code is StatusCode.ERROR
    assert len(otel.spans(SpanKind.CLIENT)) == 2
    assert [e.name for e in call.events] == ["retry"]


async def test_a_not_retryable_failure_is_recorded_as_such(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    server.script("/missing", [Reply(404)])
    api = make_client(base_url=server.url)
    otel.instrument(api)
    with pytest.raises(axios_like.HTTPStatusError):
        await api.get("/missing")
    (call,) = otel.spans(SpanKind.INTERNAL)
    assert _attrs(call)["axios_like.outcome"] == "not_retryable"
    assert "axios_like.stop_reason" not in _attrs(call)
    assert len(otel.spans(SpanKind.CLIENT)) == 1
    assert call.events == ()


async def test_a_network_error_is_typed_on_the_attempt(
    make_client: Callable[..., Both], otel: Telemetry
) -> None:
    with FlakyServer() as gone:
        url = gone.url
    api = make_client(base_url=url, max_retries=1)
    otel.instrument(api)
    with pytest.raises(axios_like.RetryError):
        await api.get("/x")
    clients = otel.spans(SpanKind.CLIENT)
    assert [_attrs(c)["error.type"] for c in clients] == ["axios_like.ConnectError"] * 2
    assert all("http.response.status_code" not in _attrs(c) for c in clients)


def _points(metric: Metric) -> list[Any]:
    return list(metric.data.data_points)


async def test_metrics_have_exactly_the_documented_names_units_and_attributes(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(200)])
    server.script("/other/42", [Reply(200)])
    api = make_client(base_url=server.url)
    otel.instrument(api)
    await api.get("/flaky", params={"id": "7"})
    await api.get("/other/42")
    metrics = otel.metrics()
    assert (
        set(metrics)
        == set(METRICS)
        == {
            "http.client.request.duration",
            "axios_like.client.call.duration",
            "axios_like.client.call.attempts",
            "axios_like.client.retries",
            "axios_like.client.retry.wait",
        }
    )
    assert {name: m.unit for name, m in metrics.items()} == {
        name: unit for name, (_, unit, _) in METRICS.items()
    }
    base = {"http.request.method", "server.address", "server.port", "url.scheme"}
    keys = {name: {frozenset(p.attributes) for p in _points(m)} for name, m in metrics.items()}
    assert keys["http.client.request.duration"] == {
        frozenset(base | {"http.response.status_code", "error.type"}),
        frozenset(base | {"http.response.status_code"}),
    }
    assert keys["axios_like.client.call.duration"] == {frozenset(base | {"axios_like.outcome"})}
    assert keys["axios_like.client.call.attempts"] == {frozenset(base | {"axios_like.outcome"})}
    assert keys["axios_like.client.retries"] == {frozenset(base | {"error.type"})}
    assert keys["axios_like.client.retry.wait"] == {frozenset(base | {"error.type"})}
    # no paths, no attempt numbers: two URLs, three attempts -> the same series
    values = {str(v) for m in metrics.values() for p in _points(m) for v in p.attributes.values()}
    assert not any("/" in v or "flaky" in v or "other" in v for v in values)
    names = {k for sets in keys.values() for ks in sets for k in ks}
    assert not any(k.endswith(("resend_count", "attempt", "url.full", "url.path")) for k in names)
    durations = _points(metrics["http.client.request.duration"])
    assert sum(p.count for p in durations) == 4
    assert all(tuple(p.explicit_bounds) == BUCKETS for p in durations)
    assert all(isinstance(p, HistogramDataPoint) for p in durations)
    attempts = _points(metrics["axios_like.client.call.attempts"])
    assert sorted((p.count, p.sum) for p in attempts) == [(1, 1), (1, 3)]
    assert all(tuple(p.explicit_bounds) == ATTEMPT_BUCKETS for p in attempts)
    outcomes = {p.attributes["axios_like.outcome"] for p in attempts}
    assert outcomes == {"ok", "recovered"}
    (retries,) = _points(metrics["axios_like.client.retries"])
    assert (retries.value, retries.attributes["error.type"]) == (2, "503")
    (waits,) = _points(metrics["axios_like.client.retry.wait"])
    assert waits.count == 2
    assert waits.sum > 0


async def test_uninstrument_stops_spans_metrics_and_traceparent(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    api = make_client(base_url=server.url)
    controller = otel.instrument(api)
    assert api.client.controllers.items == (controller,)
    await api.get("/a")
    assert len(otel.spans()) == 2
    assert uninstrument(api.client) is True
    assert uninstrument(api.client) is False
    assert len(api.client.controllers) == 0
    r = await api.get("/b")
    assert r.status == 200
    assert len(otel.spans()) == 2
    assert "traceparent" not in server.requests_for("/b")[0].headers
    assert "traceparent" in server.requests_for("/a")[0].headers


def test_instrument_twice_replaces_and_rejects_other_objects() -> None:
    api = axios_like.create()
    first = instrument(api, TracerProvider(), MeterProvider())
    second = instrument(api, TracerProvider(), MeterProvider())
    assert api.controllers.items == (second,)
    assert first is not second
    with pytest.raises(TypeError, match="axios_like client"):
        instrument(object())  # type: ignore[arg-type]
    api.close()


class Refuser:
    """Refuses every attempt (as an open circuit breaker would)."""

    def admit(self, ticket: Ticket, now: float) -> Admission:
        return Refuse(StopReason.CIRCUIT_OPEN, retry_after=5.0)

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        pass


async def test_a_refused_first_attempt_leaves_no_span_open(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    api = make_client(base_url=server.url, circuit_breaker=Refuser())
    otel.instrument(api)
    with pytest.raises(axios_like.CircuitOpenError):
        await api.get("/never")
    assert server.count("/never") == 0
    (call,) = otel.spans()
    assert call.kind is SpanKind.INTERNAL
    assert _attrs(call)["axios_like.outcome"] == "refused"
    assert _attrs(call)["axios_like.stop_reason"] == "circuit_open"
    assert _attrs(call)["axios_like.attempts"] == 0
    assert "http.client.request.duration" not in otel.metrics()


async def test_an_interceptor_raising_leaves_no_span_open(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    server.script("/flaky", [Reply(503), Reply(200)])
    api = make_client(base_url=server.url)
    otel.instrument(api)
    seen: list[int] = []

    def second_fails(config: dict[str, Any]) -> dict[str, Any]:
        seen.append(1)
        if len(seen) == 2:
            raise ValueError("interceptor broke")
        return config

    api.interceptors.request.use(second_fails)
    with pytest.raises(ValueError, match="interceptor broke"):
        await api.get("/flaky")
    (call,) = otel.spans(SpanKind.INTERNAL)
    assert _attrs(call)["axios_like.outcome"] == "aborted"
    assert _attrs(call)["error.type"] == "ValueError"
    assert len(otel.spans(SpanKind.CLIENT)) == 1
    assert otel.leaks.started == 2
    # raising on the first attempt: nothing was started at all
    seen.clear()
    seen.append(1)
    with pytest.raises(ValueError):
        await api.get("/flaky")
    assert otel.leaks.started == 2


async def test_on_retry_raising_leaves_no_span_open(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    server.script("/flaky", [Reply(503), Reply(200)])
    api = make_client(base_url=server.url)
    otel.instrument(api)

    def boom(event: axios_like.RetryEvent) -> None:
        raise RuntimeError("hook broke")

    with pytest.raises(RuntimeError, match="hook broke"):
        await api.get("/flaky", on_retry=boom)
    (call,) = otel.spans(SpanKind.INTERNAL)
    assert _attrs(call)["axios_like.outcome"] == "aborted"
    assert [e.name for e in call.events] == ["retry"]


@pytest.fixture
def httpx_instrumented(otel: Telemetry) -> Iterator[None]:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
    )
    try:
        yield
    finally:
        instrumentor.uninstrument()


@pytest.mark.usefixtures("httpx_instrumented")
async def test_httpx_instrumentation_does_not_count_attempts_twice(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    async with httpx.AsyncClient() as raw:  # theirs is really on: a plain call gets a span
        assert (await raw.get(server.url + "/raw")).status_code == 200
    assert [s.name for s in otel.spans()] == ["GET"]
    otel.exporter.clear()

    server.script("/flaky", [Reply(503), Reply(200)])
    api = make_client(base_url=server.url)
    otel.instrument(api)
    await api.get("/flaky")
    spans = otel.spans()
    assert len(spans) == 3
    assert all(s.instrumentation_scope is not None for s in spans)
    assert {s.instrumentation_scope.name for s in spans if s.instrumentation_scope} == {
        "axios_like"
    }
    clients = otel.spans(SpanKind.CLIENT)
    seen = [s.headers["traceparent"] for s in server.requests_for("/flaky")]
    assert [t.split("-")[2] for t in seen] == [f"{c.context.span_id:016x}" for c in clients]
    # nor measured twice: theirs has the raw call only (http.client.duration or, with the
    # stable conventions opted in, http.client.request.duration), ours the two attempts
    counts: dict[tuple[str, str], int] = {}
    data = otel.reader.get_metrics_data()
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name in ("http.client.request.duration", "http.client.duration"):
                    total = sum(p.count for p in metric.data.data_points)
                    counts[sm.scope.name, metric.name] = total
    theirs = {k: v for k, v in counts.items() if k[0] != "axios_like"}
    assert counts["axios_like", "http.client.request.duration"] == 2
    assert len(theirs) == 1
    assert set(theirs.values()) == {1}


def test_import_axios_like_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, httpx, axios_like, axios_like.instrumentation\n"
        "api = axios_like.create(transport=httpx.MockTransport(lambda r: httpx.Response(200)))\n"
        "assert api.get('https://example.com/').status == 200\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_payloads_are_frozen() -> None:
    info = AttemptInfo(
        "GET", "https", "h", 443, "https://h/", 2, axios_like._control.AttemptKind.RETRY
    )
    with pytest.raises(AttributeError):
        info.status = 200  # type: ignore[misc]
    assert info.resend_count == 1
    assert info.span_attributes()["http.request.resend_count"] == 1
    assert "http.request.resend_count" not in info.metric_attributes()
    assert CallInfo.__dataclass_params__.frozen  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the secret canary

CANARY = "CANARY7f3a"
SECRETS = {
    "token": f"tok{CANARY}",
    "cookie": f"ck{CANARY}",
    "password": f"pw{CANARY}",
    "query": f"q{CANARY}",
    "apikey": f"ak{CANARY}",
    "setcookie": f"sc{CANARY}",
}


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.levels: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.levels.add(record.levelno)
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")
        if record.exc_info:
            self.lines.append("".join(traceback.format_exception(*record.exc_info)))


@pytest.fixture
def captured() -> Iterator[Capture]:
    root = logging.getLogger()
    handler = Capture()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    shared = al_logging.install()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
        for name in al_logging.LOGGERS:
            logging.getLogger(name).removeFilter(shared)


def _everything(error: BaseException) -> list[str]:
    shown = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for attr in ("config", "history", "last_error", "response", "request"):
        value = getattr(error, attr, None)
        if value is not None:
            shown += [str(value), repr(value)]
    return shown


async def test_a_secret_canary_never_leaks(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry, captured: Capture
) -> None:
    server.script(
        "/fail", [Reply(503, headers={"Set-Cookie": f"sid={SECRETS['setcookie']}; Path=/"})]
    )
    base = server.url.replace("http://", f"http://user:{SECRETS['password']}@")
    api = make_client(
        base_url=base,
        max_retries=2,
        headers={
            "Authorization": f"Bearer {SECRETS['token']}",
            "Cookie": f"session={SECRETS['cookie']}",
            "X-Api-Key": SECRETS["apikey"],
        },
    )
    otel.instrument(api)
    shown: list[str] = []
    with pytest.raises(axios_like.RetryError) as info:
        await api.get(f"/fail?api_key={SECRETS['query']}", params={"key2": SECRETS["query"]})
    shown += _everything(info.value)
    with FlakyServer() as gone:
        dead = gone.url.replace("http://", f"http://user:{SECRETS['password']}@")
    with pytest.raises(axios_like.RetryError) as info:
        await api.get(dead + f"/x?api_key={SECRETS['query']}", max_retries=1)
    shown += _everything(info.value)

    # the secrets did go out (the test would prove nothing otherwise)
    sent = server.requests_for("/fail")[0]
    assert len(server.requests_for("/fail")) == 3
    assert sent.headers["x-api-key"] == SECRETS["apikey"]
    assert SECRETS["query"] in sent.target
    assert logging.DEBUG in captured.levels
    assert logging.WARNING in captured.levels
    assert any(line.startswith("httpx INFO") for line in captured.lines)
    if not TEST_TRANSPORT:  # httpcore's DEBUG lines exist only over httpx's own transport
        assert any("Set-Cookie" in line for line in captured.lines)
    assert sum("giving up" in line for line in captured.lines) == 2

    shown += captured.lines
    shown += [s.to_json() for s in otel.spans()]
    data = otel.reader.get_metrics_data()
    assert data is not None
    shown.append(data.to_json())
    leaks = [text for text in shown if CANARY in text]
    assert leaks == []
    assert len(otel.spans(SpanKind.CLIENT)) == 5


async def test_logs_debug_per_attempt_and_one_warning_per_give_up(
    server: FlakyServer,
    make_client: Callable[..., Both],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.script("/down", [Reply(503)])
    api = make_client(base_url=server.url, max_retries=2)
    with caplog.at_level(logging.DEBUG, logger="axios_like"), pytest.raises(axios_like.RetryError):
        await api.get("/down", params={"token": "s3cret"})
    ours = [r for r in caplog.records if r.name == "axios_like"]
    debug = [r.getMessage() for r in ours if r.levelno == logging.DEBUG]
    info = [r for r in ours if r.levelno == logging.INFO]
    warnings = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
    url = server.url + "/down?token=[redacted]"
    assert [m.split(" in ")[0] for m in debug] == [f"attempt: GET {url}: status 503"] * 3
    assert all(m.endswith(" ms") for m in debug)
    assert len(info) == 2
    assert len(warnings) == 1
    assert warnings[0].startswith("giving up after 3 attempts (max_retries): GET ")
    assert "s3cret" not in " ".join(r.getMessage() for r in caplog.records)


def test_redact_headers_config_key_and_the_new_defaults() -> None:
    api = axios_like.create(
        headers={"X-Tenant": "acme", "X-Auth-Token": "t", "Api-Key": "k", "Accept": "a"},
        redact_headers=["X-Tenant"],
    )
    shown = repr(api.defaults)
    assert "acme" not in shown
    assert "'X-Auth-Token': '[redacted]'" in shown
    assert "'Api-Key': '[redacted]'" in shown
    assert "'Accept': 'a'" in shown
    assert api.defaults["redact_headers"] == frozenset({"x-tenant"})
    for bad in ("X-Tenant", [1], ["bad:name"], {"a": 1}):
        with pytest.raises(axios_like.ConfigError) as info:
            axios_like.create(redact_headers=bad)
        assert info.value.key == "redact_headers"
    api.close()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            'GET https://u:pw@h/p?api_key=abc&x=1 "HTTP/1.1 200 OK"',
            'GET https://u:[redacted]@h/p?api_key=[redacted]&x=[redacted] "HTTP/1.1 200 OK"',
        ),
        (
            "return_value=(b'HTTP/1.1', 200, [(b'Set-Cookie', b'sid=1'), (b'Via', b'x')])",
            "return_value=(b'HTTP/1.1', 200, [(b'Set-Cookie', b'[redacted]'), (b'Via', b'x')])",
        ),
        ("authorization: Bearer abc", "authorization: [redacted]"),
        ("nothing to see", "nothing to see"),
    ],
)
def test_redacting_filter(text: str, shown: str) -> None:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "%s", (text,), None)
    assert al_logging.RedactingFilter().filter(record) is True
    assert record.getMessage() == shown


async def test_a_replay_after_a_token_refresh_gets_its_own_traceparent(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    server.script("/me", [Reply(401), Reply(200)])
    api = make_client(base_url=server.url)
    otel.instrument(api)

    def on_401(error: Any) -> Any:
        if getattr(error, "status", None) == 401 and not error.config["meta"].get("again"):
            return axios_like.Replay(meta={"again": True})
        raise error

    api.interceptors.response.use(None, on_401)
    r = await api.get("/me")
    assert (r.status, r.attempts) == (200, 2)
    (call,) = otel.spans(SpanKind.INTERNAL)
    clients = otel.spans(SpanKind.CLIENT)
    assert [_attrs(c).get("http.request.resend_count") for c in clients] == [None, 1]
    assert [e.name for e in call.events] == ["replay"]
    assert _attrs(call)["axios_like.outcome"] == "recovered"
    seen = [s.headers["traceparent"].split("-")[2] for s in server.requests_for("/me")]
    assert seen == [f"{c.context.span_id:016x}" for c in clients]


async def test_a_cancelled_call_leaves_no_span_open(server: FlakyServer, otel: Telemetry) -> None:
    import asyncio

    server.script("/slow", [Reply(200, delay=5.0)])
    api = axios_like.create_async(base_url=server.url)
    instrument(api, otel.tracer_provider, otel.meter_provider)
    try:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(api.get("/slow"), 0.2)
    finally:
        await api.aclose()
    (client,) = otel.spans(SpanKind.CLIENT)
    (call,) = otel.spans(SpanKind.INTERNAL)
    assert _attrs(client)["error.type"] == "asyncio.exceptions.CancelledError"
    assert _attrs(call)["axios_like.outcome"] == "aborted"


async def test_params_values_are_shown_redacted_the_same_everywhere(
    server: FlakyServer,
    make_client: Callable[..., Both],
    otel: Telemetry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.script("/down", [Reply(503)])
    api = make_client(base_url=server.url, max_retries=1)
    otel.instrument(api)
    with (
        caplog.at_level(logging.DEBUG, logger="axios_like"),
        pytest.raises(axios_like.RetryError) as info,
    ):
        await api.get("/down?page=2", params={"api_key": "s3cret"})
    shown = f"{server.url}/down?page=[redacted]&api_key=[redacted]"
    ours = [r.getMessage() for r in caplog.records if r.name == "axios_like"]
    assert len(ours) == 4
    assert all(shown in line for line in ours)
    assert shown in str(info.value)
    assert {_attrs(s)["url.full"] for s in otel.spans()} == {shown}
    assert "'params': {'api_key': '[redacted]'}" in repr(info.value.config)
    assert "s3cret" not in " ".join(ours) + str(info.value) + repr(info.value.config)


class Keeper:
    """Keeps every verdict it is told."""

    def __init__(self) -> None:
        self.verdicts: list[Verdict] = []

    def admit(self, ticket: Ticket, now: float) -> Admission:
        return axios_like._control.SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        self.verdicts.append(verdict)


async def test_one_retry_event_object_feeds_on_retry_and_the_controllers(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(200)])
    keeper = Keeper()
    api = make_client(base_url=server.url)
    api.client.controllers.add(keeper)
    events: list[axios_like.RetryEvent] = []
    await api.get("/flaky", on_retry=events.append)
    told = [v.event for v in keeper.verdicts]
    assert len(events) == 2
    assert told[:2] == events
    assert told[2] is None
    assert all(a is b for a, b in zip(told, events, strict=False))
    assert [v.delay for v in keeper.verdicts[:2]] == [e.delay for e in events]


async def test_redact_headers_given_per_request_reaches_the_error_config(
    server: FlakyServer, make_client: Callable[..., Both]
) -> None:
    server.script("/gone", [Reply(404)])
    api = make_client(base_url=server.url)
    with pytest.raises(axios_like.HTTPStatusError) as info:
        await api.get("/gone", headers={"X-Tenant": "acme-secret"}, redact_headers={"x-tenant"})
    assert server.requests_for("/gone")[0].headers["x-tenant"] == "acme-secret"
    shown = repr(info.value.config) + repr(info.value) + str(info.value)
    assert "acme-secret" not in shown
    assert "'X-Tenant': '[redacted]'" in repr(info.value.config)


@pytest.mark.parametrize(
    "module", ["axios_like._redact", "axios_like._logs", "axios_like.instrumentation._payloads"]
)
def test_the_docstring_examples_hold(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


# ---------------------------------------------------------------- the controller's corners


class Waiter:
    """Asks every attempt to wait two minutes: past max_retry_after, so it is refused."""

    def admit(self, ticket: Ticket, now: float) -> Admission:
        return Wait(120.0, "rate limit")

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        pass


async def test_an_attempt_refused_after_its_span_started_ends_it_unsent(
    server: FlakyServer, make_client: Callable[..., Both], otel: Telemetry
) -> None:
    # every controller is asked before a Wait is judged: telemetry (last) started the span
    api = make_client(base_url=server.url, circuit_breaker=Waiter())
    otel.instrument(api)
    with pytest.raises(axios_like.RateLimitedError):
        await api.get("/never")
    assert server.count("/never") == 0
    (client,) = otel.spans(SpanKind.CLIENT)
    assert _attrs(client)["error.type"] == "axios_like.RateLimitedError"
    assert client.status.status_code is StatusCode.ERROR
    (call,) = otel.spans(SpanKind.INTERNAL)
    assert _attrs(call)["axios_like.attempts"] == 0
    assert "http.client.request.duration" not in otel.metrics()  # nothing went on the wire


def _ticket(attempt: int, call: dict[object, Any]) -> Ticket:
    origin = Origin("https", "api.example.com", 443)
    kind = AttemptKind.FIRST if attempt == 1 else AttemptKind.RETRY
    return Ticket(origin, "GET", attempt, kind, httpx.Headers(), {"url": "/x"}, call)


def test_an_attempt_never_recorded_is_ended_when_the_next_one_begins(otel: Telemetry) -> None:
    controller = TelemetryController(otel.tracer_provider, otel.meter_provider)
    call: dict[object, Any] = {}
    assert controller.admit(_ticket(1, call), 0.0) is SEND
    assert controller.admit(_ticket(2, call), 1.0) is SEND  # attempt 1 was never recorded
    (first,) = otel.spans(SpanKind.CLIENT)
    assert _attrs(first)["error.type"] == "axios_like.NotRecorded"
    done = Verdict(Step.DONE, Failure.NONE, 200, None, "ok", None, None, 0.1)
    controller.record(_ticket(2, call), done, 1.1)
    second = otel.spans(SpanKind.CLIENT)[1]
    assert (_attrs(second)["http.response.status_code"], second.status.status_code) == (
        200,
        StatusCode.UNSET,
    )
    assert len(otel.spans(SpanKind.INTERNAL)) == 1


def test_without_providers_the_global_ones_are_used(
    otel: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry import metrics, trace

    monkeypatch.setattr(trace, "get_tracer_provider", lambda: otel.tracer_provider)
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: otel.meter_provider)
    controller = TelemetryController()
    call: dict[object, Any] = {}
    controller.admit(_ticket(1, call), 0.0)
    done = Verdict(Step.DONE, Failure.NONE, 204, None, "ok", None, None, 0.1)
    controller.record(_ticket(1, call), done, 0.1)
    assert [s.kind for s in otel.spans()] == [SpanKind.CLIENT, SpanKind.INTERNAL]
    assert "http.client.request.duration" in otel.metrics()


def test_without_the_suppression_key_http_instrumentation_is_left_alone(
    otel: Telemetry,
) -> None:
    from opentelemetry import context

    controller = TelemetryController(otel.tracer_provider, otel.meter_provider)
    key = controller.otel.suppress_http_key
    assert key is not None  # this OpenTelemetry has it: the attempt suppresses httpx's spans
    call: dict[object, Any] = {}
    controller.admit(_ticket(1, call), 0.0)
    assert context.get_value(key) is True
    controller.record(
        _ticket(1, call), Verdict(Step.DONE, Failure.NONE, 200, None, "ok", None, None, 0.1), 0.1
    )
    assert context.get_value(key) is None  # detached again
    # an OpenTelemetry without the key: nothing is set, the span still is current
    controller.otel = dataclasses.replace(controller.otel, suppress_http_key=None)
    controller.admit(_ticket(1, call), 1.0)
    assert context.get_value(key) is None
    assert trace_api.get_current_span().get_span_context().is_valid
    controller.record(
        _ticket(1, call), Verdict(Step.DONE, Failure.NONE, 200, None, "ok", None, None, 0.1), 1.1
    )
    assert len(otel.spans(SpanKind.CLIENT)) == 2


def test_the_package_loads_the_controller_only_when_asked() -> None:
    import axios_like.instrumentation as instrumentation
    from axios_like.instrumentation import _controller

    assert instrumentation.TelemetryController is _controller.TelemetryController
    assert instrumentation.METRICS is _controller.METRICS
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        instrumentation.Nope  # noqa: B018


def test_a_malformed_log_record_is_kept_as_it_is() -> None:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "%s and %s", ("one",), None)
    assert al_logging.RedactingFilter().filter(record) is True
    assert (record.msg, record.args) == ("%s and %s", ("one",))  # logging reports it later


def test_install_twice_leaves_one_filter_per_logger() -> None:
    name = "axios_like.tests.install"
    logger = logging.getLogger(name)
    first = al_logging.install((name,))
    try:
        second = al_logging.install((name,))
        assert second is not first
        assert logger.filters == [first]
    finally:
        logger.removeFilter(first)
