"""``axios-like request METHOD URL``: one HTTP request with retries, from the shell.

Use it to try the retry engine against a real service before writing code, or
in a script that needs a retrying ``curl``::

    axios-like request GET https://api.example.com/users/1
    axios-like request POST https://api.example.com/orders \\
        --json '{"item": "book"}' -H "Idempotency-Key: 7f3c" --max-retries 5 -v
    axios-like request PUT https://api.example.com/orders/7 --json @order.json
    jq .order export.json | axios-like request POST https://api.example.com/orders --json -

- The response body goes to stdout (JSON pretty-printed); with ``-v`` the
  attempt timeline (one line per attempt: when it started, what came back,
  the wait chosen and why) goes to stderr, secrets redacted.
- Exit status: 0 on success; 1 when the request fails (an HTTP status outside
  200-299, a network error, retries exhausted): the error's message goes to
  stderr, then the error response's body if any; 2 on bad arguments, with a
  message that quotes what was typed (secrets redacted), never an internal name.
  ``--debug`` adds the traceback.
- ``--strategy`` picks the backoff, ``--base`` and ``--max-delay`` set it:
  ``fixed`` waits ``base`` every time, ``linear`` ``base, 2*base, 3*base...``,
  ``exponential`` ``base * 2**n`` plus up to 50% jitter, ``decorrelated``
  AWS decorrelated jitter. The library's defaults apply to what is not given,
  except that ``--max-delay`` below the default base (1 s) without ``--base``
  also lowers the base to it (``-v`` says so): the flag caps the waits. An
  explicit ``--base`` above ``--max-delay`` is an error naming both (exit 2).

This module also holds :class:`Timeline`, the attempt printer shared by ``-v``
and the demo (``python -m axios_like demo``): interceptors stamp and describe
each attempt, the ``on_retry`` hook says what wait the engine chose and why.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn, TextIO
from urllib.parse import urlsplit

import httpx

from ._async_client import AsyncClient
from ._config import ClientConfig, join_url
from ._exceptions import (
    AxiosLikeError,
    ConfigError,
    HTTPStatusError,
    RetryError,
)
from ._instant import is_instant
from ._models import Response, RetryEvent
from ._redact import REDACTED, redact_headers, redact_url
from ._retry import IDEMPOTENT_METHODS, why_not_retried
from ._strategies import (
    DecorrelatedJitter,
    ExponentialBackoff,
    FixedDelay,
    LinearBackoff,
    RetryStrategy,
)
from ._sync_client import Client, create

__all__ = ["STRATEGIES", "Style", "Timeline", "add_arguments", "build_strategy", "main", "run"]

#: One line for ``--help``.
DESCRIPTION: Final = "Send one HTTP request with retries; print the response body."

#: ``--base`` and ``--max-delay`` when not given: the library's defaults for the strategies.
_DEFAULT_BASE: Final = 1.0
_DEFAULT_MAX_DELAY: Final = 30.0

#: ``--strategy`` name -> how to build it from ``--base`` and ``--max-delay``.
STRATEGIES: Final[dict[str, Callable[[float, float], RetryStrategy]]] = {
    "fixed": lambda base, max_delay: FixedDelay(delay=base),
    "linear": lambda base, max_delay: LinearBackoff(base=base, increment=base, max_delay=max_delay),
    "exponential": lambda base, max_delay: ExponentialBackoff(
        base=base, multiplier=2.0, max_delay=max_delay, jitter=0.5
    ),
    "decorrelated": lambda base, max_delay: DecorrelatedJitter(base=base, max_delay=max_delay),
}

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token: method and header names
_MAX_ERROR_BODY: Final = 2000  # characters of an error response's body shown on stderr
_OUTCOME_WIDTH: Final = 24  # "503 Service Unavailable" and a space


# ---------------------------------------------------------------- presentation


class Style:
    """ANSI colours when writing to a terminal (and ``NO_COLOR`` is unset), plain text otherwise.

    Also picks arrows and ticks the stream can encode, so a non-UTF-8 console
    or log file gets ASCII instead of a ``UnicodeEncodeError``.
    """

    def __init__(self, out: TextIO, *, color: bool | None = None) -> None:
        if color is None:
            isatty = getattr(out, "isatty", None)
            color = bool(
                isatty is not None
                and isatty()
                and not os.environ.get("NO_COLOR")
                and os.environ.get("TERM") != "dumb"
            )
        self.color = color
        encoding = getattr(out, "encoding", None) or "ascii"
        try:
            "→✓✗·".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            self.arrow, self.ok, self.fail, self.dot = "->", "+", "x", "-"
        else:
            self.arrow, self.ok, self.fail, self.dot = "→", "✓", "✗", "·"

    def _sgr(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        """Headings."""
        return self._sgr("1", text)

    def dim(self, text: str) -> str:
        """Times and asides."""
        return self._sgr("2", text)

    def green(self, text: str) -> str:
        """Success."""
        return self._sgr("32", text)

    def red(self, text: str) -> str:
        """Failures."""
        return self._sgr("31", text)

    def yellow(self, text: str) -> str:
        """Waits."""
        return self._sgr("33", text)


def _target(config: Mapping[str, Any]) -> str:
    """The path and query of the attempt's URL, query values redacted."""
    url = redact_url(join_url(config.get("base_url"), str(config.get("url", ""))))
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _has_idempotency_key(config: Mapping[str, Any]) -> bool:
    return any(name.lower() == "idempotency-key" for name in config.get("headers") or {})


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def explain_wait(event: RetryEvent) -> str:
    """Why the engine chose ``event.delay``: the server's ``Retry-After`` or the strategy.

    >>> from axios_like import ExponentialBackoff, RetryEvent
    >>> strategy = ExponentialBackoff(base=0.2, jitter=0.5)
    >>> event = RetryEvent(2, 0.5, RuntimeError(), {"retry_strategy": strategy}, "status 503", 0.3)
    >>> explain_wait(event)
    'backoff 0.40s + jitter 0.10s'
    """
    error, config = event.error, event.config
    if "Retry-After" in event.reason and isinstance(error, HTTPStatusError):
        why = f"Retry-After: {error.response.headers.get('retry-after')} (the server's wait)"
    else:
        strategy = config.get("retry_strategy")
        why = strategy.explain(event.attempt, event.delay) if strategy else "no strategy"
    method = str(config.get("method", "")).upper()
    if method and method not in IDEMPOTENT_METHODS and _has_idempotency_key(config):
        why += f", {method} with Idempotency-Key"
    return why


def explain_no_retry(error: BaseException) -> str:
    """Why a failure was raised as itself, without a retry (the core's words).

    >>> explain_no_retry(ConfigError("timeout", "must be > 0"))
    "the client's own error (ConfigError)"
    """
    return why_not_retried(error)


def _explain_stop(error: RetryError) -> str:
    return f"stopped: {error.why}"


@dataclass
class _Row:
    at: float
    method: str
    target: str
    outcome: str
    ok: bool


class Timeline:
    """Print one line per attempt of a call: when it started, what came back, what followed.

    Attach it to a client (two interceptors) and give its :meth:`on_retry` as
    the ``on_retry`` config key; run each call through :meth:`call`. Times are
    seconds since the call started; under ``instant_retries()`` the skipped
    waits are counted, so the timeline reads as it would for real.

    ``indent`` starts every line, ``path_width`` pads the path column,
    ``show_data`` adds the decoded body to the result line, ``show_raised``
    prints the error a call raised (the CLI prints it itself).

    Example::

        timeline = Timeline(sys.stderr)
        api = axios_like.create(base_url=url, on_retry=timeline.on_retry)
        timeline.attach(api)
        outcome = timeline.call(lambda: api.get("/flaky"))  # a Response or the error
    """

    def __init__(
        self,
        out: TextIO,
        *,
        style: Style | None = None,
        indent: str = "    ",
        path_width: int = 10,
        show_data: bool = False,
        show_raised: bool = True,
    ) -> None:
        self.out = out
        self.style = style if style is not None else Style(out)
        self.indent = indent
        self.path_width = path_width
        self.show_data = show_data
        self.show_raised = show_raised
        self._start = time.monotonic()
        self._skipped = 0.0
        self._sent_at = 0.0
        self._pending: _Row | None = None
        self._notes: list[str] = []

    def now(self) -> float:
        """Seconds since the current call started (skipped waits included)."""
        return time.monotonic() - self._start + self._skipped

    def line(self, text: str = "") -> None:
        """Print ``text`` indented (an empty line stays empty)."""
        print(f"{self.indent}{text}" if text else "", file=self.out, flush=True)

    def note(self, text: str) -> None:
        """Add ``text`` to what is printed after the current attempt (a token refresh...)."""
        self._notes.append(text)

    # -- hooks -----------------------------------------------------------------------

    def attach(self, api: Client | AsyncClient) -> None:
        """Register the request and response interceptors that record each attempt.

        Attach before other interceptors, so the response one sees each outcome
        before any handler turns it into something else (a ``Replay``).
        """
        api.interceptors.request.use(self._on_request)
        api.interceptors.response.use(self._on_response, self._on_error)

    def on_retry(self, event: RetryEvent) -> None:
        """The ``on_retry`` hook: print the failed attempt with the wait chosen and why."""
        wait = self.style.yellow(f"{self.style.arrow} wait {event.delay:.2f}s")
        self._flush(f"{wait}  {explain_wait(event)}")
        if is_instant():  # the wait is skipped: count it, so times read as for real
            self._skipped += event.delay

    def _on_request(self, config: dict[str, Any]) -> dict[str, Any]:
        if self._pending is not None:  # sent again with no wait: a Replay
            self._flush(f"{self.style.arrow} replayed at once")
        self._sent_at = self.now()
        return config

    def _on_response(self, response: Response) -> Response:
        outcome = f"{response.status} {response.status_text}".strip()
        self._pending = _Row(
            self._sent_at, response.config["method"], _target(response.config), outcome, True
        )
        return response

    def _on_error(self, error: BaseException) -> NoReturn:
        config: Mapping[str, Any] = getattr(error, "config", None) or {}
        if isinstance(error, HTTPStatusError):
            outcome = f"{error.status} {error.response.status_text}".strip()
        else:
            outcome = getattr(error, "reason", None) or type(error).__name__
        method = str(config.get("method", "?"))
        self._pending = _Row(self._sent_at, method, _target(config), str(outcome), False)
        raise error

    # -- output ----------------------------------------------------------------------

    def _flush(self, verdict: str) -> None:
        if self._notes:
            verdict += f" ({'; '.join(self._notes)})"
            self._notes.clear()
        row, self._pending = self._pending, None
        if row is None:
            self.line(verdict)
            return
        paint = self.style.green if row.ok else self.style.red
        outcome = paint(row.outcome.ljust(_OUTCOME_WIDTH))
        at = self.style.dim(f"+{row.at:.3f}s".rjust(7))
        self.line(f"{at}  {row.method:<6} {row.target:<{self.path_width}}  {outcome} {verdict}")

    def call(self, send: Callable[[], Response]) -> Response | AxiosLikeError:
        """Run ``send()`` (one call of an attached client), print its timeline and result.

        Returns the ``Response``, or the ``AxiosLikeError`` the call raised.
        """
        self._start, self._skipped, self._pending = time.monotonic(), 0.0, None
        self._notes.clear()
        st = self.style
        try:
            response = send()
        except AxiosLikeError as error:
            if isinstance(error, RetryError):
                self._flush(st.red(f"{st.fail} {_explain_stop(error)}"))
                extra = f" (reason={error.reason!r}, attempts={error.attempts})"
            else:
                self._flush(st.red(f"{st.fail} not retried: {explain_no_retry(error)}"))
                extra = ""
            if self.show_raised:
                self.line(f"{st.dot} raised {st.red(type(error).__name__)}{extra}:")
                self.line(f"  {error}")
            return error
        self._flush(st.green(f"{st.ok} done"))
        waited = sum(entry.delay or 0.0 for entry in response.history)
        summary = f"{response.status} {response.status_text}".strip()
        text = (
            f"{st.dot} {st.green(summary)} after {response.attempts} attempt{_s(response.attempts)}"
            f", {waited:.2f}s of waits, {self.now():.2f}s in all"
        )
        if self.show_data and response.raw.content:
            text += f": {_compact(response)}"
        self.line(text)
        return response


def _compact(response: Response) -> str:
    data = response.data
    text = json.dumps(data) if isinstance(data, dict | list) else repr(data)
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------- arguments


def _number(text: str, *, minimum: float, inclusive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if (
        math.isnan(value)
        or math.isinf(value)
        or value < minimum
        or (not inclusive and value == minimum)
    ):
        need = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise argparse.ArgumentTypeError(f"must be a finite number {need}, got {text!r}")
    return value


def _seconds(text: str) -> float:
    return _number(text, minimum=0.0, inclusive=True)


def _positive_seconds(text: str) -> float:
    return _number(text, minimum=0.0, inclusive=False)


def _retries(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    if not _TOKEN.match(name):
        raise argparse.ArgumentTypeError(f"invalid header name {name!r}")
    if any(c in value for c in "\r\n\0"):
        raise argparse.ArgumentTypeError(f"header {name!r}: the value contains a line break")
    if not value.isascii():
        raise argparse.ArgumentTypeError(f"header {name!r}: the value must be ASCII")
    return name, value


def _json_body(text: str) -> object:
    """``--json BODY``: the JSON text, ``@FILE`` to read it from a file, ``-`` (or ``@-``) stdin."""
    if text in ("-", "@-"):
        source, where = sys.stdin.read(), "on stdin"
    elif text.startswith("@"):
        path = text[1:]
        try:
            with open(path, encoding="utf-8") as file:
                source = file.read()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise argparse.ArgumentTypeError(f"cannot read {path!r}: {why}") from None
        where = f"in {path!r}"
    else:
        source, where = text, ""
    try:
        return json.loads(source)
    except ValueError as exc:
        if where:
            raise argparse.ArgumentTypeError(f"invalid JSON {where} ({exc})") from None
        raise argparse.ArgumentTypeError(f"invalid JSON ({exc}): {text[:60]!r}") from None


def _method(text: str) -> str:
    if not _TOKEN.match(text):
        raise argparse.ArgumentTypeError(f"invalid HTTP method {text!r}")
    return text.upper()


def _url(text: str) -> str:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        httpx.URL(text)  # what the request will parse: a bad port, a bad host
    except (ValueError, httpx.InvalidURL) as exc:
        # not argparse's "invalid _url value": the message names what was typed
        raise argparse.ArgumentTypeError(f"invalid URL {_as_typed(text)!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"expected an absolute http:// or https:// URL, got {_as_typed(text)!r}"
        )
    return text


_URL_PASSWORD: Final = re.compile(r"^([A-Za-z][\w+.-]*://[^/?#@:]*:)[^/?#@]*@")
_URL_QUERY_VALUE: Final = re.compile(r"([?&][^=&#]*=)[^&#]*")


def _as_typed(text: str) -> str:
    """A URL as the user typed it, secrets redacted even when it does not parse."""
    shown = redact_url(text)
    if shown != "[unparseable url]":
        return shown
    masked = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return _URL_QUERY_VALUE.sub(lambda m: f"{m.group(1)}{REDACTED}", masked)


def _argument_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """``check``, with any ``ValueError`` turned into a message naming the text typed.

    argparse reports a ``ValueError`` from a type as "invalid <function name>
    value", which leaks an internal name; the checks raise ``ArgumentTypeError``
    themselves, and this is the net under them.
    """

    def checked(text: str) -> Any:
        try:
            return check(text)
        except argparse.ArgumentTypeError:
            raise
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(f"cannot read {text!r}: {exc}") from None

    return checked


def build_strategy(name: str, base: float | None, max_delay: float | None) -> RetryStrategy:
    """The ``RetryStrategy`` for ``--strategy name --base B --max-delay M``.

    ``None`` keeps the library's default for that parameter (1 s, 30 s).

    >>> build_strategy("linear", 0.5, 4.0)
    LinearBackoff(base=0.5, increment=0.5, max_delay=4.0)
    """
    return STRATEGIES[name](
        _DEFAULT_BASE if base is None else base,
        _DEFAULT_MAX_DELAY if max_delay is None else max_delay,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``request`` command's arguments to ``parser``."""
    parser.add_argument(
        "method", metavar="METHOD", type=_argument_type(_method), help="GET, POST, PUT, ..."
    )
    parser.add_argument(
        "url", metavar="URL", type=_argument_type(_url), help="an absolute http(s) URL"
    )
    retry = parser.add_argument_group("retries (the library's defaults apply when not given)")
    retry.add_argument(
        "--max-retries",
        type=_argument_type(_retries),
        metavar="N",
        help="retries after the first attempt (3)",
    )
    retry.add_argument(
        "--strategy",
        choices=sorted(STRATEGIES),
        help="how waits grow (exponential, with jitter)",
    )
    retry.add_argument(
        "--base",
        type=_argument_type(_seconds),
        metavar="SECONDS",
        help="first wait (1.0, or --max-delay when that is smaller)",
    )
    retry.add_argument(
        "--max-delay", type=_argument_type(_seconds), metavar="SECONDS", help="longest wait (30.0)"
    )
    retry.add_argument(
        "--timeout",
        type=_argument_type(_positive_seconds),
        metavar="SECONDS",
        help="per attempt (10.0)",
    )
    retry.add_argument(
        "--deadline",
        type=_argument_type(_positive_seconds),
        metavar="SECONDS",
        help="for the whole call (none)",
    )
    req = parser.add_argument_group("request")
    req.add_argument(
        "-H",
        "--header",
        dest="headers",
        type=_argument_type(_header),
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header (repeatable)",
    )
    body = req.add_mutually_exclusive_group()
    body.add_argument(
        "--json",
        dest="json_body",
        type=_argument_type(_json_body),
        metavar="BODY",
        help="JSON body: the text, @FILE to read a file, or - to read stdin",
    )
    body.add_argument("--data", metavar="BODY", help="body sent as is")
    out = parser.add_argument_group("output")
    out.add_argument("-v", "--verbose", action="store_true", help="the attempt timeline on stderr")
    out.add_argument("--debug", action="store_true", help="a traceback on failure")
    parser.set_defaults(run=run)


def capped_base(args: argparse.Namespace) -> float | None:
    """The base used when ``--base`` is not given but ``--max-delay`` is below the default 1 s.

    ``--max-delay`` caps the waits: ``--max-delay 0.5`` alone starts at 0.5 s rather than
    failing on the default base (1 s) being above the cap. ``None`` when the default applies
    or ``--base`` was given (an explicit ``--base`` above ``--max-delay`` stays an error).
    """
    if args.base is None and args.max_delay is not None and args.max_delay < _DEFAULT_BASE:
        return float(args.max_delay)  # min(1.0, --max-delay)
    return None


def _client_config(args: argparse.Namespace) -> ClientConfig:
    config: ClientConfig = {}
    if args.max_retries is not None:
        config["max_retries"] = args.max_retries
    if args.strategy is not None or args.base is not None or args.max_delay is not None:
        base = args.base if args.base is not None else capped_base(args)
        config["retry_strategy"] = build_strategy(
            args.strategy or "exponential", base, args.max_delay
        )
    if args.timeout is not None:
        config["timeout"] = args.timeout
    if args.deadline is not None:
        config["deadline"] = args.deadline
    return config


def _strategy_flags(args: argparse.Namespace) -> str:
    """The strategy flags as typed, for a message about them (defaults marked)."""

    def flag(name: str, value: float | None, default: float) -> str:
        return f"--{name} {default:g} (the default)" if value is None else f"--{name} {value:g}"

    shown = [f"--strategy {args.strategy}"] if args.strategy is not None else []
    shown.append(flag("base", args.base, _DEFAULT_BASE))
    return " ".join(shown) + f" with {flag('max-delay', args.max_delay, _DEFAULT_MAX_DELAY)}"


def _request_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"headers": httpx.Headers(args.headers)}
    if args.json_body is not None:
        options["json"] = args.json_body
    elif args.data is not None:
        options["content"] = args.data
    return options


def _body_text(response: Response) -> str:
    raw = response.raw
    if "json" in raw.headers.get("content-type", "").lower():
        try:
            value = json.loads(raw.content)
        except ValueError:
            pass
        else:
            return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    return raw.text


def _write_body(response: Response, out: TextIO) -> None:
    if not response.raw.content:
        return
    data = response.data
    buffer = getattr(out, "buffer", None)
    if isinstance(data, bytes) and buffer is not None:  # binary: the bytes, untouched
        out.flush()
        buffer.write(data)
        buffer.flush()
        return
    text = _body_text(response)
    try:
        out.write(text)
    except UnicodeEncodeError:  # a console that cannot show it: escape, never crash
        out.write(text.encode("ascii", "backslashreplace").decode("ascii"))
    if not text.endswith("\n") and out.isatty():
        out.write("\n")
    out.flush()


def _report_error(error: AxiosLikeError, err: TextIO, *, debug: bool) -> None:
    if debug:
        traceback.print_exception(error, file=err)
    print(f"axios-like: {error}", file=err)
    last = error.last_error if isinstance(error, RetryError) else error
    if isinstance(last, HTTPStatusError) and last.response.raw.content:
        text = _body_text(last.response).rstrip("\n")
        if len(text) > _MAX_ERROR_BODY:
            text = f"{text[:_MAX_ERROR_BODY]}... ({len(text) - _MAX_ERROR_BODY} more characters)"
        print(text, file=err)
    err.flush()


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``request`` command; return the exit status (0 or 1)."""
    out, err = sys.stdout, sys.stderr
    timeline = Timeline(err, indent="", path_width=0, show_raised=False) if args.verbose else None
    try:
        config = _client_config(args)
    except ConfigError as exc:  # --base/--max-delay that cannot go together
        print(f"axios-like request: error: {_strategy_flags(args)}: {exc}", file=err)
        return 2
    if timeline is not None:
        config["on_retry"] = timeline.on_retry
    with create(config) as api:  # the argument types only let valid values through
        options = _request_options(args)
        if timeline is not None:
            timeline.attach(api)
            _print_request(timeline, args, api)
            outcome = timeline.call(lambda: api.request(args.method, args.url, **options))
        else:
            try:
                outcome = api.request(args.method, args.url, **options)
            except AxiosLikeError as exc:
                outcome = exc
        if isinstance(outcome, AxiosLikeError):
            _report_error(outcome, err, debug=args.debug)
            return 1
        if timeline is not None:
            for name, value in _redacted(outcome.headers.multi_items()):
                timeline.line(timeline.style.dim(f"< {name}: {value}"))
        _write_body(outcome, out)
    return 0


def _redacted(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header pairs in order, repeated names kept, secret values redacted."""
    return [(name, next(iter(redact_headers([(name, value)]).values()))) for name, value in headers]


def _print_request(timeline: Timeline, args: argparse.Namespace, api: Client) -> None:
    d = api.defaults
    deadline = "none" if d["deadline"] is None else f"{d['deadline']:g}s"
    timeline.line(timeline.style.bold(f"> {args.method} {redact_url(args.url)}"))
    for name, value in _redacted(args.headers):
        timeline.line(timeline.style.dim(f"> {name}: {value}"))
    base = capped_base(args)
    if base is not None:
        timeline.line(
            timeline.style.dim(
                f"> --base not given: {base:g} (the default {_DEFAULT_BASE:g} capped by "
                f"--max-delay {args.max_delay:g})"
            )
        )
    timeline.line(
        timeline.style.dim(
            f"> max_retries={d['max_retries']}, {d['retry_strategy']!r}, "
            f"timeout={d['timeout']}, deadline={deadline}"
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``axios-like request ...`` on its own (``python -m axios_like request`` is the same)."""
    parser = argparse.ArgumentParser(prog="axios-like request", description=DESCRIPTION)
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on bad arguments and --help
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)
