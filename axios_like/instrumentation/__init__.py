"""Telemetry for ``axios_like`` clients, in the manner of stamina's ``instrumentation``.

- :class:`TelemetryController`: OpenTelemetry spans, ``traceparent`` and metrics as
  one attempt controller (``api.controllers``); :func:`axios_like.otel.instrument`
  makes and adds one.
- :class:`AttemptInfo`, :class:`CallInfo`: the frozen, OTel-free records of an
  attempt and a call that spans and metrics are built from.

Importing this package does not import OpenTelemetry; making a
``TelemetryController`` does (the ``otel`` extra: ``opentelemetry-api``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._payloads import AttemptInfo, CallInfo, Outcome, error_type

if TYPE_CHECKING:
    from ._controller import METRICS, TelemetryController

__all__ = ["METRICS", "AttemptInfo", "CallInfo", "Outcome", "TelemetryController", "error_type"]


def __getattr__(name: str) -> Any:
    if name in ("TelemetryController", "METRICS"):  # loads the OTel parts only when asked
        from . import _controller

        return getattr(_controller, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
