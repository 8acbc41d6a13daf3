"""The ``axios-like`` command (also ``python -m axios_like``).

- ``axios-like demo [--fast]``: the retry engine in action against a flaky
  server started on 127.0.0.1 (see :mod:`axios_like._demo`);
- ``axios-like request METHOD URL [options]``: one request with retries, the
  body on stdout (see :mod:`axios_like._cli`);
- ``axios-like --version``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence

from . import __version__, _cli, _demo

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axios-like",
        description="An axios-style HTTP client for Python with a smart retry engine.",
    )
    parser.add_argument("--version", action="version", version=f"axios-like {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _demo.add_arguments(
        commands.add_parser("demo", help=_demo.DESCRIPTION, description=_demo.DESCRIPTION)
    )
    _cli.add_arguments(
        commands.add_parser("request", help=_cli.DESCRIPTION, description=_cli.DESCRIPTION)
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    0: success; 1: the request failed; 2: bad arguments (with a usage message).

    >>> main(["--version"])  # doctest: +SKIP
    axios-like 0.1.0
    0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on bad arguments, --help and --version
        return exc.code if isinstance(exc.code, int) else 2
    if not hasattr(args, "run"):
        parser.print_usage(sys.stderr)
        print("axios-like: error: give a command: demo or request", file=sys.stderr)
        return 2
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("axios-like: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `axios-like ... | head`: the reader left; exit quietly
        _silence_stdout()
        return 141
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


if __name__ == "__main__":
    sys.exit(main())
