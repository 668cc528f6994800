"""The ``voice-coach`` command: a thin argparse front over the pipeline modules.

Results go to stdout, diagnostics to stderr; exit codes are :class:`~voice_coach.errors.ExitCode`.
Each sub-command lives in a ``cli_*`` module exposing ``register(subparsers)``, which adds its
parser and sets ``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import errno
import faulthandler
import importlib
import io
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from . import __version__
from .errors import CoachError, ExitCode, interrupt, native_messages_off, to_devnull

COMMAND_MODULES = (
    "voice_coach.cli_listen",
    "voice_coach.cli_text",
    "voice_coach.cli_speech_in",
    "voice_coach.cli_speech_out",
    "voice_coach.cli_routine",
    "voice_coach.cli_devices",
    "voice_coach.cli_models",
)
DEFAULT_COMMAND = "listen"
INPUT_COMMANDS = frozenset({"understand", "models"})
"""Commands whose Ctrl-C leaves work undone (files, a download): it exits 130, not 0."""
RESULT_COMMANDS = frozenset(
    {"ask", "chat", "check", "intents", "understand", "routines", "devices", "models"}
)
"""Commands whose results are on stdout, so a closed stdout leaves them nowhere to go. The
others speak: ``listen``, ``routine`` and ``say`` work with stdout closed (a launcher may
close it)."""
RESULT_FLAGS = ("dry_run", "list_voices", "quiet")
"""Options that send a speaking command's results to stdout (``routine --dry-run``, ``say
--list-voices``, ``listen --quiet``), as if it were one of :data:`RESULT_COMMANDS`."""
TOP_LEVEL_FLAGS = ("--debug", "-h", "--help", "--version")
"""Options before the command; none takes a value."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="voice-coach",
        description="Offline, hands-free voice coach for back muscle spasms.",
    )
    parser.add_argument("--version", action="version", version=f"voice-coach {__version__}")
    parser.add_argument("--debug", action="store_true", help="log diagnostics to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _argv_with_default(argv: list[str]) -> list[str]:
    """Insert the default command when none was named (``voice-coach`` alone listens).

    The top-level options take no values, so the first other word is the command's place:
    a word there is the command (argparse names an unknown one), an option starts the
    default command's options.
    """
    lead = 0
    while lead < len(argv) and argv[lead] in TOP_LEVEL_FLAGS:
        lead += 1
    if any(a != "--debug" for a in argv[:lead]):  # help or version: nothing to run
        return argv
    if lead < len(argv) and not argv[lead].startswith("-"):
        return argv
    debug = [a for a in argv if a == "--debug"]  # given among the command's options too
    return debug + [DEFAULT_COMMAND] + [a for a in argv if a != "--debug"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    if argv is None:  # the console script: SIGTERM stops it like Ctrl-C does
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, interrupt)
        sys.stderr = _Diagnostics(_open_stderr())
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(words, console=argv is None)
    except KeyboardInterrupt:
        print("voice-coach: stopped.", file=sys.stderr)
        command = next((w for w in _argv_with_default(words) if not w.startswith("-")), "")
        return int(ExitCode.INTERRUPTED if command in INPUT_COMMANDS else ExitCode.OK)
    except BrokenPipeError:
        _drop_stdout()
        return int(ExitCode.OUTPUT_CLOSED)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG):
            raise
        _drop_stdout()
        print(
            f"voice-coach: cannot write the output ({exc.strerror}); "
            "free some disk space or send the output elsewhere",
            file=sys.stderr,
        )
        return int(ExitCode.MISSING_RESOURCE)


def _drop_stdout() -> None:
    """Python would flush stdout again at exit and report the failed write once more."""
    to_devnull(sys.stdout.fileno())


class _Diagnostics(io.TextIOBase):
    """The console script's ``sys.stderr``: a diagnostic that cannot be written (stderr
    closed, or on a full disk) is dropped instead of stopping the command."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "errors", None) or "backslashreplace"

    def keep_native_messages_off(self) -> None:
        """From now on write to a copy of descriptor 2, and send what C libraries write on
        descriptor 2 itself to /dev/null: PortAudio reports a device that went away from its
        own thread ("Expression ... failed"), where no silencing around a call reaches."""
        self.flush()
        try:
            copy = os.dup(2)
        except OSError:
            return
        to_devnull(2)
        self._stream = open(  # noqa: SIM115 - lives as long as the process
            copy, "w", encoding=self.encoding, errors=self.errors, buffering=1
        )
        native_messages_off()
        # A crash in a C library would now end without a word: Python's fault handler still
        # says where (and a hung process aborted shows its threads).
        faulthandler.enable(file=self._stream)


def _open_stderr() -> TextIO:
    """``sys.stderr``, or /dev/null on descriptor 2 when the program was started with it
    closed (left free, the next file or device opened would take it, and C libraries'
    messages would go there)."""
    if sys.stderr is not None:
        return sys.stderr
    try:
        os.fstat(2)
    except OSError:
        to_devnull(2)
    return open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)


def _writes_results(args: argparse.Namespace) -> bool:
    """The command's results go to stdout."""
    return args.command in RESULT_COMMANDS or any(getattr(args, f, False) for f in RESULT_FLAGS)


def _run(argv: list[str], console: bool = False) -> int:
    parser = build_parser()
    args = parser.parse_args(_argv_with_default(argv))
    if console and not args.debug and isinstance(sys.stderr, _Diagnostics):
        sys.stderr.keep_native_messages_off()
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    if sys.stdout is None and _writes_results(args):  # started with stdout closed
        print(
            f"voice-coach: standard output is closed, so the results of '{args.command}' "
            "could not be written; give it a terminal, a file or a pipe",
            file=sys.stderr,
        )
        return ExitCode.MISSING_RESOURCE
    try:
        return int(args.func(args))
    except CoachError as exc:
        print(f"voice-coach: {exc}", file=sys.stderr)
        return int(exc.exit_code)


if __name__ == "__main__":
    sys.exit(main())
