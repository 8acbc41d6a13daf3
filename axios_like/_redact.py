"""Keep secrets out of logs, messages and reprs.

Rule: anything that renders a URL or headers for a human goes through this module.
The values of ``Authorization``, ``Proxy-Authorization``, ``Cookie`` and
``Set-Cookie``, the password of a URL and every query parameter value are shown
as ``[redacted]``; names stay visible because they help debugging.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit, urlunsplit

__all__ = ["REDACTED", "SECRET_HEADERS", "redact_headers", "redact_url"]

REDACTED = "[redacted]"

#: Header names whose values are never shown (compared lower-cased).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def redact_url(url: object) -> str:
    """Return ``url`` as text with the password and every query value redacted.

    >>> redact_url("https://user:pw@example.com/a?token=abc&page=2")
    'https://user:[redacted]@example.com/a?token=[redacted]&page=[redacted]'
    """
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return "[unparseable url]"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{host}" if colon else f"{user}@{host}"
    query = parts.query
    if query:
        query = "&".join(
            f"{name}={REDACTED}" if sep else name
            for name, sep, _value in (field.partition("=") for field in query.split("&"))
        )
    if netloc == parts.netloc and query == parts.query:
        return text
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return a plain dict of ``headers`` with secret values replaced.

    >>> redact_headers([("Authorization", "Bearer abc"), ("Accept", "*/*")])
    {'Authorization': '[redacted]', 'Accept': '*/*'}
    """
    return {
        name: (REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in headers
    }
