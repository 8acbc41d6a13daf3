"""``RedactingFilter``: keep secrets out of httpx's and httpcore's own log lines.

axios_like's own logger (``axios_like``) redacts already. httpx and httpcore do not:
httpx's INFO line prints the full URL (``https://user:PASSWORD@host/?api_key=...``)
and httpcore's DEBUG lines print response headers, ``Set-Cookie`` values included.
Install this filter on their loggers (or on a handler) to redact them.

This module is named ``logging``; it imports the standard library's with an
absolute import, as every module of the package does.
"""

from __future__ import annotations

import logging

from ._redact import redact_text

__all__ = ["RedactingFilter", "install"]


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that redacts URL passwords, query values and secret headers.

    It rewrites the record's message (``msg`` with its ``args`` merged in) when that
    message holds a secret, and never drops a record. The headers redacted are the
    built-in list (``Authorization``, ``Cookie``, ``Set-Cookie``, ``X-Api-Key``, ...).

    Example::

        import logging
        from axios_like.logging import RedactingFilter

        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(RedactingFilter())

    A filter on a logger sees only records logged *to that logger*, not those of
    its children (``httpcore.http11``): :func:`install` also covers those, or put
    the filter on your handler instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; always keep it."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


#: The loggers :func:`install` filters: httpx's, httpcore's per-module ones, and
#: urllib3's (``transports.urllib3_transport()``: its DEBUG line shows the query).
LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
)


def install(names: tuple[str, ...] = LOGGERS) -> RedactingFilter:
    """Add one :class:`RedactingFilter` to httpx's and httpcore's loggers; returns it.

    Example::

        import axios_like.logging
        axios_like.logging.install()
    """
    shared = RedactingFilter()
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(shared)
    return shared
