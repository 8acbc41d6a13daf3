"""``axios-like request``: the command line against a real FlakyServer, in process.

``main([...])`` is called directly (capsys captures stdout/stderr); one test runs
``python -m axios_like`` in a subprocess to prove the entry point.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

import axios_like
from axios_like import _cli
from axios_like.__main__ import main
from axios_like._config import library_defaults, merge
from axios_like._instant import INSTANT
from axios_like._retry import RetryState, retry_error
from axios_like.control import StopReason
from axios_like.testing.server import FlakyServer, Reply

pytestmark = pytest.mark.usefixtures("instant")


@pytest.fixture
def server(module_server: FlakyServer) -> FlakyServer:
    """This module's tests share one server (see conftest), reset per test."""
    return module_server


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ---------------------------------------------------------------- success


def test_success_prints_pretty_json_on_stdout_and_nothing_on_stderr(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/flaky", [Reply(503), Reply(200, json={"id": 1, "tags": ["a"]})])
    assert main(["request", "GET", f"{server.url}/flaky"]) == 0
    out, err = capsys.readouterr()
    assert out == '{\n  "id": 1,\n  "tags": [\n    "a"\n  ]\n}\n'
    assert err == ""
    assert server.count("/flaky") == 2  # retried once, silently


def test_verbose_timeline_on_stderr_shows_each_attempt_and_wait(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(200, json={"ok": True})])
    rc = main(["request", "GET", f"{server.url}/flaky", "-v", "--strategy", "fixed", "--base", "2"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert json.loads(out) == {"ok": True}
    rows = [line.strip() for line in err.splitlines() if line.lstrip().startswith("+")]
    assert len(rows) == 3
    assert "503 Service Unavailable" in rows[0]
    assert "wait 2.00s  fixed delay" in rows[0]
    assert "503 Service Unavailable" in rows[1]
    assert "wait 2.00s" in rows[1]
    assert "200 OK" in rows[2]
    assert "done" in rows[2]
    # times count the waits skipped by instant_retries(): the third attempt starts at ~4 s
    assert 4.0 <= float(rows[2].split("s", 1)[0].lstrip("+")) < 5.0
    assert "200 OK after 3 attempts, 4.00s of waits" in err
    assert "> max_retries=3, FixedDelay(delay=2.0)" in err


def test_verbose_redacts_secrets_but_sends_them(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/me", [Reply(200, headers={"Set-Cookie": "sid=s3cr3t"}, json={})])
    url = f"{server.url}/me?api_key=k3y"
    rc = main(["request", "GET", url, "-v", "-H", "Authorization: Bearer t0ken", "--timeout", "5"])
    err = capsys.readouterr().err
    assert rc == 0
    for secret in ("t0ken", "k3y", "s3cr3t"):
        assert secret not in err
    assert "> Authorization: [redacted]" in err
    assert "timeout=5.0, deadline=none" in err
    assert "/me?api_key=[redacted]" in err
    assert "< set-cookie: [redacted]" in err
    seen = server.requests_for("/me")[0]
    assert seen.headers["authorization"] == "Bearer t0ken"
    assert seen.target == "/me?api_key=k3y"


def test_text_body_is_printed_as_is(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/t", [Reply(200, body="plain\ntext", headers={"Content-Type": "text/plain"})])
    assert main(["request", "GET", f"{server.url}/t"]) == 0
    assert capsys.readouterr().out == "plain\ntext"


def test_invalid_json_with_json_type_is_printed_as_text(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/j", [Reply(200, body="{oops", headers={"Content-Type": "application/json"})])
    assert main(["request", "GET", f"{server.url}/j"]) == 0
    assert capsys.readouterr().out == "{oops"


def test_binary_body_goes_to_stdout_untouched(
    server: FlakyServer, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    blob = b"\x89PNG\r\n\x1a\n\x00\xff"
    server.script("/img", [Reply(200, body=blob, headers={"Content-Type": "image/png"})])
    assert main(["request", "GET", f"{server.url}/img"]) == 0
    assert capsysbinary.readouterr().out == blob


def test_head_prints_nothing(server: FlakyServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["request", "head", f"{server.url}/anything"]) == 0
    assert capsys.readouterr().out == ""
    assert server.requests[0].method == "HEAD"


# ---------------------------------------------------------------- request building


def test_headers_are_parsed_trimmed_and_repeatable(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["-H", "X-Multi:  1 ", "-H", "X-Multi: 2", "-H", "X-Empty:", "-H", "X-Url: a:b"]
    assert main(["request", "GET", f"{server.url}/echo", *args]) == 0
    headers = json.loads(capsys.readouterr().out)["headers"]
    assert headers["x-multi"] == "1, 2"
    assert headers["x-empty"] == ""
    assert headers["x-url"] == "a:b"


def test_json_body_is_sent_as_json(server: FlakyServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["request", "POST", f"{server.url}/echo", "--json", '{"a": [1, 2]}']) == 0
    seen = server.requests_for("/echo")[0]
    assert (seen.method, json.loads(seen.body)) == ("POST", {"a": [1, 2]})
    assert seen.headers["content-type"] == "application/json"


def test_data_body_is_sent_as_is(server: FlakyServer, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--data", "a=1&b=2", "-H", "Content-Type: application/x-www-form-urlencoded"]
    assert main(["request", "PUT", f"{server.url}/echo", *args]) == 0
    seen = server.requests_for("/echo")[0]
    assert (seen.method, seen.body) == ("PUT", b"a=1&b=2")
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fixed", axios_like.FixedDelay(delay=0.5)),
        ("linear", axios_like.LinearBackoff(base=0.5, increment=0.5, max_delay=4.0)),
        ("exponential", axios_like.ExponentialBackoff(base=0.5, max_delay=4.0, jitter=0.5)),
        ("decorrelated", axios_like.DecorrelatedJitter(base=0.5, max_delay=4.0)),
    ],
)
def test_strategy_names_map_to_the_library_classes(
    name: str,
    expected: axios_like.RetryStrategy,
    server: FlakyServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    built = _cli.build_strategy(name, 0.5, 4.0)
    assert type(built) is type(expected)
    assert repr(built) == repr(expected)
    args = ["--strategy", name, "--base", "0.5", "--max-delay", "4", "-v"]
    assert main(["request", "GET", f"{server.url}/x", *args]) == 0
    assert f"> max_retries=3, {expected!r}, timeout=10.0" in capsys.readouterr().err


def test_base_alone_keeps_exponential_and_defaults_stay_the_librarys() -> None:
    assert repr(_cli.build_strategy("exponential", None, None)) == repr(
        axios_like.ExponentialBackoff()
    )
    parser = _cli.argparse.ArgumentParser()
    _cli.add_arguments(parser)
    assert _cli._client_config(parser.parse_args(["GET", "http://h/"])) == {}
    config = _cli._client_config(parser.parse_args(["GET", "http://h/", "--base", "0.3"]))
    assert repr(config["retry_strategy"]) == repr(axios_like.ExponentialBackoff(base=0.3))


@pytest.mark.parametrize(
    ("strategy", "built", "longest"),
    [
        # exponential: base 0.5 capped at 0.5, plus its documented jitter (up to 50% on top)
        ([], "ExponentialBackoff(base=0.5, multiplier=2.0, max_delay=0.5, jitter=0.5)", 0.75),
        (["--strategy", "fixed"], "FixedDelay(delay=0.5)", 0.5),
        (["--strategy", "linear"], "LinearBackoff(base=0.5, increment=0.5, max_delay=0.5)", 0.5),
    ],
)
def test_max_delay_alone_below_the_default_base_caps_the_waits(
    strategy: list[str],
    built: str,
    longest: float,
    server: FlakyServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.script("/flaky", [Reply(503), Reply(503), Reply(503), Reply(200, json={"ok": 1})])
    args = ["request", "GET", f"{server.url}/flaky", "--max-delay", "0.5", *strategy]
    assert main([*args, "-v"]) == 0
    err = capsys.readouterr().err
    assert "> --base not given: 0.5 (the default 1 capped by --max-delay 0.5)" in err
    assert f"> max_retries=3, {built}, timeout=10.0" in err
    waits = [float(w.split("s", 1)[0]) for w in err.split("wait ")[1:]]
    assert len(waits) == 3
    assert all(0.5 <= w <= longest for w in waits), waits
    assert server.count("/flaky") == 4
    # without -v: the same strategy, and nothing on stderr
    parser = _cli.argparse.ArgumentParser()
    _cli.add_arguments(parser)
    assert repr(_cli._client_config(parser.parse_args(args[1:]))["retry_strategy"]) == built
    assert main(args) == 0
    assert capsys.readouterr().err == ""
    assert server.count("/flaky") == 5  # the script's last reply repeats: one more call, 200


@pytest.mark.parametrize(
    ("args", "base"),
    [
        (["--max-delay", "2"], 1.0),  # above the default base: the default stays
        (["--max-delay", "1"], 1.0),
        (["--max-delay", "0"], 0.0),
        (["--base", "0.1", "--max-delay", "0.5"], 0.1),  # given: kept
    ],
)
def test_the_base_is_capped_only_when_not_given_and_above_max_delay(
    args: list[str], base: float, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = _cli.argparse.ArgumentParser()
    _cli.add_arguments(parser)
    parsed = parser.parse_args(["GET", "http://h/", *args])
    assert _cli._client_config(parsed)["retry_strategy"].base == base  # type: ignore[attr-defined]
    said = _cli.capped_base(parsed)
    assert said == (base if args[0] == "--max-delay" and base < 1.0 else None)


# ---------------------------------------------------------------- failures: exit 1


def test_http_error_exits_1_with_message_and_body_on_stderr(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/missing", [Reply(404, json={"error": "no such user"})])
    assert main(["request", "GET", f"{server.url}/missing"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0] == (
        f"axios-like: GET {server.url}/missing failed with status 404 Not Found"
    )
    assert '"error": "no such user"' in err
    assert "Traceback" not in err
    assert server.count("/missing") == 1


def test_long_error_body_is_truncated(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/big", [Reply(500, body="x" * 5000)])
    assert main(["request", "GET", f"{server.url}/big"]) == 1
    err = capsys.readouterr().err
    assert "x" * 2000 + "... (3000 more characters)" in err
    assert "x" * 2001 not in err


def test_retries_exhausted_exit_1_with_retry_error_message(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/down", [Reply(503, body="maintenance")])
    assert main(["request", "GET", f"{server.url}/down", "--max-retries", "2", "-v"]) == 1
    err = capsys.readouterr().err
    assert (
        f"axios-like: GET {server.url}/down failed after 3 attempts (max_retries=2 reached)" in err
    )
    assert "stopped: max_retries=2 reached" in err
    assert err.rstrip().endswith("maintenance")
    assert server.count("/down") == 3


def test_network_error_exit_1_and_debug_adds_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = _closed_port_url()
    assert main(["request", "GET", url, "--max-retries", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"axios-like: GET {url}: ")
    assert "Traceback" not in err
    assert main(["request", "GET", url, "--max-retries", "0", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "axios_like._exceptions.ConnectError" in err


def test_post_dropped_is_not_retried_and_verbose_says_why(
    server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script("/orders", [Reply(action="drop")])
    assert main(["request", "POST", f"{server.url}/orders", "--json", "{}", "-v"]) == 1
    err = capsys.readouterr().err
    assert "connection dropped" in err
    assert "not retried: the POST may have been processed" in err
    assert server.count("/orders") == 1


def test_deadline_stops_retries(server: FlakyServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.script("/slow", [Reply(503)])
    args = ["--deadline", "1", "--strategy", "fixed", "--base", "0.4", "--max-retries", "10", "-v"]
    assert main(["request", "GET", f"{server.url}/slow", *args]) == 1
    err = capsys.readouterr().err
    # attempts at 0, 0.4, 0.8 s; a wait to 1.2 s would end past the deadline
    assert server.count("/slow") == 3
    assert "failed after 3 attempts (deadline=1s reached)" in err
    assert "stopped: deadline=1s reached" in err


# ---------------------------------------------------------------- bad arguments: exit 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-H", "no colon"], "argument -H/--header: expected 'Name: value', got 'no colon'"),
        (["-H", ": value"], "argument -H/--header: expected 'Name: value', got ': value'"),
        (["-H", "Bad Name: v"], "argument -H/--header: invalid header name 'Bad Name'"),
        (["-H", "X-A: a\nb"], "argument -H/--header: header 'X-A': the value contains a line"),
        (["--json", "{'a': 1}"], "argument --json: invalid JSON"),
        (["--json", "{}", "--data", "x"], "argument --data: not allowed with argument --json"),
        (["--max-retries", "-1"], "argument --max-retries: must be >= 0, got '-1'"),
        (["-H", "X-A: caf\u00e9"], "argument -H/--header: header 'X-A': the value must be ASCII"),
        (["--max-retries", "two"], "argument --max-retries: expected a whole number, got 'two'"),
        (["--base", "-0.5"], "argument --base: must be a finite number >= 0, got '-0.5'"),
        (["--max-delay", "nan"], "argument --max-delay: must be a finite number >= 0"),
        (["--timeout", "0"], "argument --timeout: must be a finite number > 0, got '0'"),
        (["--deadline", "soon"], "argument --deadline: expected a number of seconds"),
        (["--strategy", "fibonacci"], "argument --strategy: invalid choice: 'fibonacci'"),
    ],
)
def test_bad_arguments_exit_2_with_a_usage_message(
    args: list[str], message: str, server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["request", "GET", f"{server.url}/x", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: axios-like request")
    assert f"axios-like request: error: {message}" in err
    assert server.requests == []  # nothing was sent


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["request", "GET", "ftp://example.com/x"], "expected an absolute http:// or https:// URL"),
        (["request", "GET", "example.com/x"], "expected an absolute http:// or https:// URL"),
        (["request", "G(T", "http://h/"], "invalid HTTP method 'G(T'"),
        (["request", "GET"], "the following arguments are required: URL"),
        ([], "give a command: demo or request"),
        (["fetch"], "invalid choice: 'fetch'"),
    ],
)
def test_bad_command_lines_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: axios-like")
    assert message in err


def test_version_and_request_main(server: FlakyServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"axios-like {axios_like.__version__}\n"
    assert _cli.main(["GET", "not a url"]) == 2
    assert "usage: axios-like request" in capsys.readouterr().err
    server.script("/t", [Reply(200, body="hi", headers={"Content-Type": "text/plain"})])
    assert _cli.main(["GET", f"{server.url}/t"]) == 0
    assert capsys.readouterr().out == "hi"


# ---------------------------------------------------------------- presentation


def test_style_colours_only_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert _cli.Style(Tty()).red("x") == "\x1b[31mx\x1b[0m"
    assert _cli.Style(io.StringIO()).red("x") == "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert _cli.Style(Tty()).red("x") == "x"


def test_style_falls_back_to_ascii_for_a_stream_that_cannot_encode_arrows() -> None:
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert (_cli.Style(ascii_out).arrow, _cli.Style(ascii_out).ok) == ("->", "+")
    utf8_out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert (_cli.Style(utf8_out).arrow, _cli.Style(utf8_out).ok) == ("→", "✓")


# ---------------------------------------------------------------- the real entry point


def test_python_m_axios_like_request_subprocess(server: FlakyServer) -> None:
    server.script("/users/1", [Reply(200, json={"id": 1, "name": "Ada"})])
    done = subprocess.run(
        [sys.executable, "-m", "axios_like", "request", "GET", f"{server.url}/users/1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"id": 1, "name": "Ada"}


def test_python_m_axios_like_in_process_runs_main_and_exits_with_its_status(
    server: FlakyServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same entry point run in this process (runpy), so coverage sees its last line."""
    import runpy
    import warnings

    server.script("/users/1", [Reply(200, json={"id": 1})])
    monkeypatch.setattr(sys, "argv", ["axios-like", "request", "GET", f"{server.url}/users/1"])
    with warnings.catch_warnings():
        # runpy warns that axios_like.__main__ is imported already (by this module)
        warnings.filterwarnings("ignore", "'axios_like.__main__' found in sys.modules")
        with pytest.raises(SystemExit) as done:
            runpy.run_module("axios_like", run_name="__main__")
    assert done.value.code == 0
    assert json.loads(capsys.readouterr().out) == {"id": 1}


def test_the_argument_type_net_turns_a_value_error_into_a_message_quoting_the_text() -> None:
    checked = _cli._argument_type(int)
    assert checked("12") == 12
    with pytest.raises(_cli.argparse.ArgumentTypeError) as caught:
        checked("twelve")
    assert str(caught.value) == (
        "cannot read 'twelve': invalid literal for int() with base 10: 'twelve'"
    )
    assert caught.value.__cause__ is None


def test_non_ascii_header_value_is_a_config_error_not_a_crash() -> None:
    # httpx encodes str header values as ASCII; a UnicodeEncodeError deep in a call was the bug
    with pytest.raises(axios_like.ConfigError, match="header 'X-A': a str value must be ASCII"):
        axios_like.create(headers={"X-A": "caf\u00e9"})
    with pytest.raises(axios_like.ConfigError, match="must be ASCII"):
        axios_like.create().get("http://127.0.0.1:1/", headers={"X-A": "caf\u00e9"})


# ---------------------------------------------------------------- explanations


def _event(strategy: axios_like.RetryStrategy, **config: object) -> axios_like.RetryEvent:
    cfg = {"retry_strategy": strategy, "method": "GET", "headers": {}, **config}
    return axios_like.RetryEvent(3, 1.25, RuntimeError("x"), cfg, "status 503", 2.0)


@pytest.mark.parametrize(
    ("strategy", "config", "why"),
    [
        (axios_like.ExponentialBackoff(base=0.25, jitter=0.5), {}, "backoff 1.00s + jitter 0.25s"),
        (
            axios_like.ExponentialBackoff(base=0.25, max_delay=0.5),
            {},
            "backoff 0.50s + jitter 0.75s",
        ),
        (axios_like.FixedDelay(1.25), {}, "fixed delay"),
        (axios_like.LinearBackoff(), {}, "linear backoff, retry 3"),
        (axios_like.DecorrelatedJitter(), {}, "decorrelated jitter"),
        (axios_like.ExponentialBackoff(base=0.3125, jitter=0), {"method": "PUT"}, "backoff 1.25s"),
        (
            axios_like.FixedDelay(1.25),
            {"method": "POST", "headers": {"idempotency-key": "k"}},
            "fixed delay, POST with Idempotency-Key",
        ),
    ],
)
def test_explain_wait_names_the_strategy(
    strategy: axios_like.RetryStrategy, config: dict[str, object], why: str
) -> None:
    assert _cli.explain_wait(_event(strategy, **config)) == why


def test_explain_wait_for_a_custom_strategy_names_its_class() -> None:
    class Fib(axios_like.RetryStrategy):
        def get_delay(self, attempt: int) -> float:
            return 1.0

    assert _cli.explain_wait(_event(Fib())) == "Fib"


def _status_error(status: int, method: str, **config: object) -> axios_like.HTTPStatusError:
    request = httpx.Request(method, "http://h/x")
    cfg = {"method": method, "headers": {}, "max_retries": 3, "retry_on": axios_like.is_retryable}
    response = axios_like.Response(httpx.Response(status, request=request), {**cfg, **config})
    return axios_like.HTTPStatusError("failed", response=response)


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (axios_like.ConfigError("timeout", "bad"), "the client's own error (ConfigError)"),
        (_status_error(503, "GET", max_retries=0), "max_retries=0"),
        (_status_error(404, "GET"), "404 is not a transient status"),
        (_status_error(503, "GET", retry_on=lambda e: False), "retry_on said no"),
        (_status_error(503, "GET"), "the request body is a stream that cannot be sent again"),
        (_status_error(503, "POST"), "POST is not idempotent and has no Idempotency-Key"),
        (
            axios_like.ReadError("reset", config={"method": "PATCH", "headers": {}}),
            "the PATCH may have been processed",
        ),
        (ValueError("bug"), "not a transient failure"),
    ],
)
def test_explain_no_retry(error: BaseException, why: str) -> None:
    assert _cli.explain_no_retry(error) == why


@pytest.mark.parametrize(
    ("config", "stop", "retry_after", "text"),
    [
        ({"deadline": 2.5}, StopReason.DEADLINE, None, "stopped: deadline=2.5s reached"),
        ({}, StopReason.DEADLINE, None, "stopped: deadline reached"),
        ({"max_retries": 4}, StopReason.MAX_RETRIES, None, "stopped: max_retries=4 reached"),
        (
            {},
            StopReason.MAX_RETRY_AFTER,
            120.0,
            "stopped: Retry-After 120s above max_retry_after=60s",
        ),
        ({}, StopReason.RETRY_BUDGET, None, "stopped: retry budget of the origin spent"),
        (
            {},
            StopReason.CIRCUIT_OPEN,
            2.0,
            "stopped: circuit breaker open, next probe in 2s",
        ),
    ],
)
def test_explain_stop_shows_the_cores_words(
    config: dict[str, object], stop: StopReason, retry_after: float | None, text: str
) -> None:
    """The CLI renders what the core wrote on the RetryError: it re-derives nothing."""
    cfg = merge(library_defaults(), config)
    state = RetryState(cfg, start=0.0)
    error = retry_error(state, axios_like.ReadError("boom", config=cfg), stop, retry_after)
    assert error.reason == stop
    assert _cli._explain_stop(error) == text
    assert f"({text.removeprefix('stopped: ')})" in str(error)


def test_timeline_real_waits_and_a_note_without_an_attempt(
    server: FlakyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside instant mode the times are the clock's; a verdict with no attempt still prints."""
    monkeypatch.setattr(INSTANT, "depth", 0)  # this one test sleeps its 0.05 s wait for real
    out = io.StringIO()
    timeline = _cli.Timeline(out, style=_cli.Style(out, color=False), indent="")
    server.script("/f", [Reply(503), Reply(200)])
    with axios_like.create(
        base_url=server.url, on_retry=timeline.on_retry, retry_strategy=axios_like.FixedDelay(0.05)
    ) as api:
        timeline.attach(api)
        started = time.monotonic()
        outcome = timeline.call(lambda: api.get("/f"))
        took = time.monotonic() - started
    assert isinstance(outcome, axios_like.Response)
    assert took >= 0.05
    rows = [r.strip() for r in out.getvalue().splitlines() if r.lstrip().startswith("+")]
    assert 0.05 <= float(rows[1].split("s", 1)[0].lstrip("+")) <= took
    timeline.note("hello")
    timeline._flush("verdict")
    assert out.getvalue().splitlines()[-1] == "verdict (hello)"


def test_text_without_final_newline_gets_one_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    raw = httpx.Response(200, text="hi", request=httpx.Request("GET", "http://h/"))
    out = Tty()
    _cli._write_body(axios_like.Response(raw, {}), out)
    assert out.getvalue() == "hi\n"


def test_write_body_escapes_what_the_console_cannot_encode() -> None:
    request = httpx.Request("GET", "http://h/")
    raw = httpx.Response(200, text="caf\u00e9", request=request)
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    _cli._write_body(axios_like.Response(raw, {}), out)
    out.flush()
    assert out.buffer.getvalue() == b"caf\\xe9"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("raised", "status"), [(KeyboardInterrupt, 130), (BrokenPipeError, 141)])
def test_interrupt_and_broken_pipe_exit_quietly(
    raised: type[BaseException],
    status: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def boom(args: object) -> int:
        raise raised

    monkeypatch.setattr(_cli, "run", boom)
    assert main(["request", "GET", "http://h/"]) == status
    assert "Traceback" not in capsys.readouterr().err


# ---------------------------------------------------------------- what the user typed


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "argument URL: invalid URL 'http://[::1': Invalid IPv6 URL"),
        (
            "http://h:abc/",
            "argument URL: invalid URL 'http://h:abc/': Port could not be cast to integer value "
            "as 'abc'",
        ),
        ("http://h:99999/", "argument URL: invalid URL 'http://h:99999/': Port out of range"),
        (
            "http://ann:s3cret@[::1/x",
            "argument URL: invalid URL 'http://ann:[redacted]@[::1/x': Invalid IPv6 URL",
        ),
    ],
)
def test_a_malformed_url_is_named_as_typed_never_by_an_internal_name(
    url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["request", "GET", url]) == 2
    err = capsys.readouterr().err
    assert f"axios-like request: error: {message}" in err
    assert "_url" not in err
    assert "s3cret" not in err


def test_no_argument_type_leaks_its_function_name(capsys: pytest.CaptureFixture[str]) -> None:
    # argparse says "invalid <function name> value" for a ValueError from a type: none may
    leaks = []
    checked = 0
    for action in _cli_actions():
        if action.type is None or not callable(action.type):
            continue
        checked += 1
        for text in ("http://[::1", "\x00", "", "@", "[", "1e999999", "G T"):
            try:
                action.type(text)
            except Exception as exc:
                if type(exc).__name__ != "ArgumentTypeError":
                    leaks.append((action.dest, text, exc))
    assert (
        checked == 9
    )  # METHOD URL --max-retries --base --max-delay --timeout --deadline -H --json
    assert leaks == []


def _cli_actions() -> list[Any]:
    import argparse

    parser = argparse.ArgumentParser()
    _cli.add_arguments(parser)
    return list(parser._actions)


def test_json_from_a_file_with_at(
    server: FlakyServer, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "order.json"
    body.write_text('{"item": "book", "qty": 2}', encoding="utf-8")
    assert main(["request", "POST", f"{server.url}/echo", "--json", f"@{body}"]) == 0
    seen = server.requests_for("/echo")[0]
    assert json.loads(seen.body) == {"item": "book", "qty": 2}
    assert seen.headers["content-type"] == "application/json"


@pytest.mark.parametrize("dash", ["-", "@-"])
def test_json_from_stdin_with_a_dash(
    dash: str, server: FlakyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('[1, {"a": null}]\n'))
    assert main(["request", "PUT", f"{server.url}/echo", "--json", dash]) == 0
    seen = server.requests_for("/echo")[0]
    assert (seen.method, json.loads(seen.body)) == ("PUT", [1, {"a": None}])


def test_json_file_errors_name_the_file(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    assert main(["request", "POST", "http://127.0.0.1:1/", "--json", f"@{missing}"]) == 2
    err = capsys.readouterr().err
    assert f"argument --json: cannot read '{missing}': No such file or directory" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{'a': 1}", encoding="utf-8")
    assert main(["request", "POST", "http://127.0.0.1:1/", "--json", f"@{broken}"]) == 2
    assert f"argument --json: invalid JSON in '{broken}' (Expecting" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("not json"))
    assert main(["request", "POST", "http://127.0.0.1:1/", "--json", "-"]) == 2
    assert "argument --json: invalid JSON on stdin (Expecting value" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--base", "40"],
            "--base 40 with --max-delay 30 (the default): ExponentialBackoff.base: must be <= ",
        ),
        (
            ["--base", "2", "--max-delay", "0.5"],
            "--base 2 with --max-delay 0.5: ExponentialBackoff.base: must be <= max_delay=0.5",
        ),
        (
            ["--strategy", "linear", "--base", "5", "--max-delay", "2"],
            "--strategy linear --base 5 with --max-delay 2: "
            "LinearBackoff.base: must be <= max_delay=2",
        ),
    ],
)
def test_strategy_flags_that_clash_exit_2_naming_the_flags(
    args: list[str], message: str, server: FlakyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["request", "GET", f"{server.url}/x", *args]) == 2
    err = capsys.readouterr().err
    assert f"axios-like request: error: {message}" in err
    assert "Traceback" not in err
    assert server.requests == []
