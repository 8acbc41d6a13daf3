"""Telemetry as one attempt controller: spans, ``traceparent`` and metrics.

Rules of this module:

1. It is an ordinary :class:`~axios_like._control.AttemptController`: ``admit``
   starts the attempt's CLIENT span (the call's INTERNAL span first, on the first
   attempt), injects ``traceparent`` into ``ticket.headers`` and makes the span
   current, with HTTP instrumentation suppressed, for the send; ``record`` ends it
   and records the metrics. It always answers ``SEND`` and never blocks.
2. What belongs to one call lives in ``ticket.call[controller]`` (a
   :class:`_CallScope`); the controller holds only the tracer and instruments.
3. Retries are reported from ``Verdict.event``: the very ``RetryEvent`` that
   ``on_retry`` and the INFO log get, so they can never disagree.
4. No span is left open: the final verdict ends the call span, and a call ended by
   an exception (an interceptor, ``on_retry``, a cancellation) is closed by
   ``close_call``, which the shells call on every exception that leaves the call.
5. Nothing secret is recorded: URLs go through ``shown_url``; errors are recorded by
   type (``error.type``), never by message or traceback.
"""

from __future__ import annotations

from typing import Any, Final

from .._control import SEND, Admission, AttemptKind, Step, Ticket, Verdict
from ._otel import ATTEMPT_BUCKETS, BUCKETS, WAIT_BUCKETS, OTel, load
from ._payloads import AttemptInfo, CallInfo, error_type

__all__ = ["METRICS", "TelemetryController"]

#: Every instrument: name -> (kind, unit, description). docs/observability.md lists these.
METRICS: Final = {
    "http.client.request.duration": (
        "histogram",
        "s",
        "Duration of HTTP client requests: one per attempt on the wire, failed ones included.",
    ),
    "axios_like.client.call.duration": (
        "histogram",
        "s",
        "Duration of a whole call: every attempt and every wait.",
    ),
    "axios_like.client.call.attempts": (
        "histogram",
        "{attempt}",
        "Attempts a call made (1 = no retry).",
    ),
    "axios_like.client.retries": ("counter", "{retry}", "Retries made, by error.type."),
    "axios_like.client.retry.wait": (
        "histogram",
        "s",
        "The waits chosen before retries.",
    ),
}

_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.26.0"


class TelemetryController:
    """OpenTelemetry spans and metrics for every attempt of a client's calls.

    Made by :func:`axios_like.otel.instrument`; add it yourself with
    ``api.controllers.add(TelemetryController())`` if you prefer.

    Example::

        from opentelemetry.sdk.trace import TracerProvider

        api = axios_like.create(base_url="https://api.example.com")
        api.controllers.add(TelemetryController(tracer_provider=TracerProvider()))
    """

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from .. import __version__

        otel = load()
        self.otel: OTel = otel
        if tracer_provider is None:
            tracer_provider = otel.trace.get_tracer_provider()
        self.tracer = tracer_provider.get_tracer("axios_like", __version__, _SCHEMA_URL)
        if meter_provider is None:
            from opentelemetry import metrics

            meter_provider = metrics.get_meter_provider()
        meter = meter_provider.get_meter("axios_like", __version__, _SCHEMA_URL)
        made: dict[str, Any] = {}
        buckets = {
            "http.client.request.duration": BUCKETS,
            "axios_like.client.call.duration": BUCKETS,
            "axios_like.client.call.attempts": ATTEMPT_BUCKETS,
            "axios_like.client.retry.wait": WAIT_BUCKETS,
        }
        for name, (kind, unit, description) in METRICS.items():
            if kind == "counter":
                made[name] = meter.create_counter(name, unit, description)
            else:
                made[name] = meter.create_histogram(
                    name, unit, description, explicit_bucket_boundaries_advisory=buckets[name]
                )
        self.attempt_duration = made["http.client.request.duration"]
        self.call_duration = made["axios_like.client.call.duration"]
        self.call_attempts = made["axios_like.client.call.attempts"]
        self.retries = made["axios_like.client.retries"]
        self.retry_wait = made["axios_like.client.retry.wait"]

    def admit(self, ticket: Ticket, now: float) -> Admission:
        """Start the attempt's CLIENT span (and the call's span) and inject ``traceparent``."""
        scope = ticket.call.get(self)
        if scope is None or scope.done:
            scope = ticket.call[self] = _CallScope(self, ticket, now)
        scope.begin(ticket)
        return SEND

    def record(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        """End the attempt's span, record its metrics; at the final verdict, end the call."""
        scope = ticket.call.get(self)
        if scope is None or scope.done:  # refused before this controller was asked
            scope = ticket.call[self] = _CallScope(self, ticket, now)
        scope.end(ticket, verdict, now)


class _CallScope:
    """One call's spans and counts (lives in ``ticket.call``; never shared)."""

    __slots__ = (
        "attempts",
        "call_span",
        "controller",
        "done",
        "first",
        "open",
        "parent",
        "retries",
        "start",
    )

    def __init__(self, controller: TelemetryController, ticket: Ticket, now: float) -> None:
        otel = controller.otel
        self.controller = controller
        self.first = AttemptInfo.start(ticket)
        self.start = now
        self.attempts = 0
        self.retries = 0
        self.done = False
        first = self.first
        self.call_span: Any = controller.tracer.start_span(
            f"axios_like {first.method}",
            kind=otel.SpanKind.INTERNAL,
            attributes={
                "http.request.method": first.method,
                "server.address": first.host,
                "server.port": first.port,
                "url.full": first.url,
            },
        )
        self.parent = otel.trace.set_span_in_context(self.call_span)
        #: The open CLIENT spans by attempt number: (span, context token, info). One,
        #: or more while hedged copies are out (each is ended by its own record).
        self.open: dict[int, tuple[Any, Any, AttemptInfo]] = {}

    def begin(self, ticket: Ticket) -> None:
        otel = self.controller.otel
        if self.open and ticket.kind is not AttemptKind.HEDGE:
            for number in tuple(self.open):  # not told about the last one: close it honestly
                self._end_span(number, None, "axios_like.NotRecorded")
        info = AttemptInfo.start(ticket) if ticket.attempt > 1 else self.first
        span = self.controller.tracer.start_span(
            info.method,
            context=self.parent,
            kind=otel.SpanKind.CLIENT,
            attributes=info.span_attributes(),
        )
        ctx = otel.trace.set_span_in_context(span, self.parent)
        otel.propagate.inject(ticket.headers, context=ctx)
        if otel.suppress_http_key is not None:  # httpx's own instrumentation stays quiet
            ctx = otel.context.set_value(otel.suppress_http_key, True, ctx)
        self.open[ticket.attempt] = (span, otel.context.attach(ctx), info)

    def end(self, ticket: Ticket, verdict: Verdict, now: float) -> None:
        controller = self.controller
        opened = self.open.get(ticket.attempt)
        if verdict.step is not Step.REFUSED:
            self.attempts += 1
        if opened is not None:
            ended = opened[2].end(verdict)
            self._end_span(ticket.attempt, ended, ended.error_type)
            if ended.sent:
                controller.attempt_duration.record(ended.duration, ended.metric_attributes())
        event = verdict.event
        if event is not None:  # Step.RETRY: the RetryEvent on_retry gets next
            self.retries += 1
            kind = error_type(event.error, verdict.status)
            self.call_span.add_event(
                "retry",
                {
                    "axios_like.retry.attempt": event.attempt,
                    "axios_like.retry.delay": event.delay,
                    "axios_like.retry.reason": event.reason,
                    "error.type": kind or "_OTHER",
                },
            )
            attrs = self.first.metric_attributes()
            attrs["error.type"] = kind or "_OTHER"
            controller.retries.add(1, attrs)
            controller.retry_wait.record(event.delay, attrs)
        elif verdict.step is Step.REPLAY:
            self.call_span.add_event("replay", {"axios_like.retry.attempt": ticket.attempt})
        if verdict.final:
            self._finish(verdict, None, now)

    def close_call(self, error: BaseException) -> None:
        """The call ended by ``error`` without a final verdict (or after one: no-op)."""
        if self.done:
            return
        for number in tuple(self.open):
            self._end_span(number, None, error_type(error))
        self._finish(None, error, None)

    def _end_span(self, number: int, info: AttemptInfo | None, kind: str | None) -> None:
        otel = self.controller.otel
        span, token, _ = self.open.pop(number)
        otel.context.detach(token)  # begin() sets the span and its token together
        if info is not None and info.status is not None:
            span.set_attribute("http.response.status_code", info.status)
        if kind is not None:
            span.set_attribute("error.type", kind)
            span.set_status(otel.StatusCode.ERROR, kind)
        span.end()

    def _finish(
        self, verdict: Verdict | None, error: BaseException | None, now: float | None
    ) -> None:
        self.done = True
        controller = self.controller
        duration = 0.0 if now is None else now - self.start
        call = CallInfo.of(
            self.first,
            verdict,
            error,
            attempts=self.attempts,
            retries=self.retries,
            duration=duration,
        )
        span = self.call_span
        span.set_attributes(call.span_attributes())
        if call.error_type is not None:
            span.set_status(controller.otel.StatusCode.ERROR, call.error_type)
        span.end()
        attrs = call.metric_attributes()
        if now is not None:
            controller.call_duration.record(duration, attrs)
        controller.call_attempts.record(call.attempts, attrs)
