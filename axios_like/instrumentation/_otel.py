"""Lazy OpenTelemetry loading, in the manner of stamina's ``instrumentation._otel``.

Nothing here runs at import time: ``import axios_like`` never imports
``opentelemetry``. :func:`load` imports the API the first time a client is
instrumented and raises a clear ``ImportError`` when the ``otel`` extra is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = ["BUCKETS", "OTel", "load"]

#: The stable HTTP semantic conventions' buckets for ``http.client.request.duration``.
BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
#: Buckets of the per-call attempt count.
ATTEMPT_BUCKETS: Final = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 16.0)
#: Buckets of the retry waits (seconds): backoffs run from milliseconds to a minute.
WAIT_BUCKETS: Final = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class OTel:
    """The OpenTelemetry API pieces telemetry uses, imported once."""

    trace: Any
    context: Any
    propagate: Any
    SpanKind: Any
    StatusCode: Any
    #: The context key opentelemetry-instrumentation-httpx (and every HTTP
    #: instrumentation) honours: ``suppress_http_instrumentation()`` sets it.
    suppress_http_key: str | None


_LOADED: list[OTel] = []


def load() -> OTel:
    """Import the OpenTelemetry API (once); ``ImportError`` names the extra to install."""
    if _LOADED:
        return _LOADED[0]
    try:
        from opentelemetry import context, propagate, trace
        from opentelemetry.trace import SpanKind, StatusCode
    except ImportError as exc:  # pragma: no cover - the test suite installs it
        raise ImportError(
            "axios_like.otel needs the OpenTelemetry API: pip install 'axios-like[otel]'"
        ) from exc
    key = getattr(context, "_SUPPRESS_HTTP_INSTRUMENTATION_KEY", None)
    loaded = OTel(trace, context, propagate, SpanKind, StatusCode, key)
    _LOADED.append(loaded)
    return loaded
