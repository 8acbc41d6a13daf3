"""Keep secrets out of logs, messages and reprs.

Rule: anything that renders a URL or headers for a human goes through this module.
The values of ``Authorization``, ``Proxy-Authorization``, ``Cookie``,
``Set-Cookie``, ``X-Api-Key``, ``X-Auth-Token`` and ``Api-Key`` (plus the names a
call's ``redact_headers`` adds), the password of a URL and every query parameter
value (``params=`` values too) are shown as ``[redacted]``; names stay visible
because they help debugging.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Final
from urllib.parse import SplitResult, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "redact_headers",
    "redact_text",
    "redact_url",
    "shown_url",
]

REDACTED = "[redacted]"

#: Header names whose values are never shown (compared lower-cased).
SECRET_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
        "api-key",
    }
)


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


def redact_headers(
    headers: Iterable[tuple[str, str]], extra: Collection[str] = ()
) -> dict[str, str]:
    """Return a plain dict of ``headers`` with secret values replaced.

    ``extra`` holds more lower-cased names to redact (a call's ``redact_headers``).

    >>> redact_headers([("Authorization", "Bearer abc"), ("Accept", "*/*")])
    {'Authorization': '[redacted]', 'Accept': '*/*'}
    >>> redact_headers([("X-Tenant", "acme")], extra={"x-tenant"})
    {'X-Tenant': '[redacted]'}
    """
    return {
        name: (REDACTED if name.lower() in SECRET_HEADERS or name.lower() in extra else value)
        for name, value in headers
    }


def shown_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """The URL a request goes to, ``params=`` names appended, every value redacted.

    The same text whether a value came in the URL or in ``params=``:

    >>> shown_url("https://h/a?x=1", {"api_key": "s3cret"})
    'https://h/a?x=[redacted]&api_key=[redacted]'
    """
    if params:
        extra = "&".join(f"{name}=" for name in params)
        url = f"{url}{'&' if '?' in url else '?'}{extra}"
    return redact_url(url)


# Free text (other libraries' log lines): a URL's password, query values, secret headers.
_URL_PASSWORD: Final = re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^/\s:@'\"]*:)[^@\s/'\"]*@")
_QUERY_VALUE: Final = re.compile(r"([?&][^=&\s#'\"?]+=)[^&\s#'\">]*")
_SECRET_NAMES: Final = "|".join(re.escape(name) for name in sorted(SECRET_HEADERS))
# httpcore prints header lists as (b'Set-Cookie', b'sid=abc') pairs.
_HEADER_PAIR: Final = re.compile(
    rf"(?i)(\(b?['\"](?:{_SECRET_NAMES})['\"],\s*b?)(['\"])(?:(?!\2).)*\2"
)
# ... and "Set-Cookie: sid=abc" lines.
_HEADER_LINE: Final = re.compile(rf"(?im)(\b(?:{_SECRET_NAMES}):[ \t]*)[^\r\n]+")


def redact_text(text: str) -> str:
    """Redact URL passwords, query values and secret header values in free text.

    >>> redact_text("HTTP Request: GET https://u:pw@h/x?api_key=abc")
    'HTTP Request: GET https://u:[redacted]@h/x?api_key=[redacted]'
    >>> redact_text("headers=[(b'Set-Cookie', b'sid=abc'), (b'Accept', b'*/*')]")
    "headers=[(b'Set-Cookie', b'[redacted]'), (b'Accept', b'*/*')]"
    """
    if "=" not in text and "@" not in text and ":" not in text:
        return text
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    text = _QUERY_VALUE.sub(rf"\1{REDACTED}", text)
    text = _HEADER_PAIR.sub(rf"\1\2{REDACTED}\2", text)
    return _HEADER_LINE.sub(rf"\1{REDACTED}", text)
