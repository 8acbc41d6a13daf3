"""OpenTelemetry for a client: ``instrument(api)`` and ``uninstrument(api)`` (SPEC section 6).

Needs the ``otel`` extra (``pip install 'axios-like[otel]'``, which is
``opentelemetry-api`` only); ``import axios_like`` never imports OpenTelemetry,
and a client that is not instrumented makes no OpenTelemetry call at all.

Example::

    import axios_like
    from axios_like.otel import instrument, uninstrument

    api = axios_like.create(base_url="https://api.example.com")
    instrument(api)           # the global tracer and meter providers
    api.get("/users/1")       # 1 INTERNAL span, 1 CLIENT span per attempt, metrics
    uninstrument(api)

See docs/observability.md for the spans, attributes and metric names.
"""

from __future__ import annotations

from typing import Any

from ._async_client import AsyncClient
from ._sync_client import Client
from .instrumentation._controller import METRICS, TelemetryController

__all__ = ["METRICS", "TelemetryController", "instrument", "uninstrument"]


def instrument(
    api: Client | AsyncClient, tracer_provider: Any = None, meter_provider: Any = None
) -> TelemetryController:
    """Trace and measure every later call of ``api``; returns the controller it added.

    ``tracer_provider`` and ``meter_provider`` default to OpenTelemetry's global ones.
    Instrumenting again replaces the earlier controller (new providers win).

    Example::

        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        instrument(api, tracer_provider=provider)
    """
    if not isinstance(api, Client | AsyncClient):
        raise TypeError(f"instrument() takes an axios_like client; got {type(api).__name__}")
    uninstrument(api)
    controller = TelemetryController(tracer_provider, meter_provider)
    api.controllers.add(controller)
    return controller


def uninstrument(api: Client | AsyncClient) -> bool:
    """Stop tracing and measuring ``api``'s later calls; ``False`` if it was not instrumented.

    Example::

        uninstrument(api)
    """
    found = [c for c in api.controllers.items if isinstance(c, TelemetryController)]
    for controller in found:
        api.controllers.remove(controller)
    return bool(found)
