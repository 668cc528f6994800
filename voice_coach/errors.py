"""Exit codes and the errors that map onto them (one table, used by every command)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from enum import IntEnum

log = logging.getLogger(__name__)


class ExitCode(IntEnum):
    """Process exit codes; the README's table mirrors this."""

    OK = 0
    """Success (also after Ctrl-C and a clean shutdown)."""
    INPUT_FAILED = 1
    """Some inputs could not be processed."""
    USAGE = 2
    """Usage error (bad arguments)."""
    MISSING_RESOURCE = 3
    """A needed resource is missing or unusable: model, audio device, speech library, prompts."""
    INTERRUPTED = 130
    """Ctrl-C or SIGTERM before every input given was processed (128 + SIGINT)."""
    OUTPUT_CLOSED = 141
    """The reader of stdout went away (``| head``), so some results were not delivered
    (128 + SIGPIPE, as the shell reports for other tools)."""


def not_installed(what: str, package: str) -> str:
    """The message for a Python library missing from the coach's environment (Debian's
    system pip refuses to install outside a virtual environment, so plain ``pip install``
    is not the advice)."""
    return (
        f"{what} is not installed; run 'bash .ci/setup' in the voice_coach folder, or "
        f"'pip install {package}' inside the coach's virtual environment"
    )


class CoachError(Exception):
    """An error with a one-line message meant for the user."""

    exit_code: ExitCode = ExitCode.INPUT_FAILED


class InputError(CoachError):
    """One input (a file, a sentence) could not be processed; the rest can go on."""

    exit_code = ExitCode.INPUT_FAILED


class UsageError(CoachError):
    """The command was called wrongly."""

    exit_code = ExitCode.USAGE


class ResourceMissing(CoachError):
    """A model, device, library or data file the command needs is missing or broken."""

    exit_code = ExitCode.MISSING_RESOURCE


class CatalogueError(ResourceMissing):
    """A file in prompts/ is broken or incomplete; the message names the file and entry."""


class _Silencing:
    """Descriptor 2's state for :func:`native_messages_silenced` (shared by every thread)."""

    lock = threading.Lock()
    depth = 0
    """Blocks running now, on any thread; the first saves descriptor 2, the last restores it."""
    saved = -1
    """A copy of descriptor 2 from before the first block."""
    off = False
    """Descriptor 2 is /dev/null for the whole run (:func:`native_messages_off`)."""


def to_devnull(fd: int) -> None:
    """Point descriptor ``fd`` at /dev/null, whether it was open or closed."""
    null = os.open(os.devnull, os.O_WRONLY)
    if null != fd:  # fd was closed and the lowest free: it is /dev/null already
        os.dup2(null, fd)
        os.close(null)


def native_messages_off() -> None:
    """Note that descriptor 2 is /dev/null for the rest of the run (the console script does
    that unless --debug): :func:`native_messages_silenced` has nothing left to do."""
    _Silencing.off = True


@contextlib.contextmanager
def native_messages_silenced() -> Iterator[None]:
    """Silence what C libraries write to stderr while the block runs (Kaldi's option help for
    a model that does not load, mpg123's complaints about a damaged MP3), so the user sees
    our one-line message; with ``--debug`` they are left to show. The descriptor is the
    process's: other threads' stderr is silenced too, so keep the block short. Blocks on
    several threads at once share one silencing."""
    if _Silencing.off or log.isEnabledFor(logging.DEBUG) or sys.stderr is None:
        yield
        return
    if not _silence():
        yield  # stderr closed (2>&-): nothing to silence
        return
    try:
        yield
    finally:
        _unsilence()


def _silence() -> bool:
    """Enter a silencing; False when stderr cannot be silenced."""
    with _Silencing.lock:
        if _Silencing.depth == 0:
            try:
                sys.stderr.flush()
                _Silencing.saved = os.dup(2)
            except (OSError, ValueError):
                return False
            to_devnull(2)
        _Silencing.depth += 1
        return True


def _unsilence() -> None:
    """Leave a silencing; the last one out puts descriptor 2 back."""
    with _Silencing.lock:
        _Silencing.depth -= 1
        if _Silencing.depth == 0:
            os.dup2(_Silencing.saved, 2)
            os.close(_Silencing.saved)


class _Deferral:
    """Ctrl-C and SIGTERM held back while the main thread is inside a C library (see
    :func:`interrupts_deferred`)."""

    depth = 0
    """How many deferring blocks the main thread is in."""
    pending = False
    """A signal came while deferred; it is raised when the outermost block ends."""


def interrupt(_signum: int, _frame: object) -> None:
    """The console script's handler for SIGINT and SIGTERM: KeyboardInterrupt, unless the
    main thread is in a block of :func:`interrupts_deferred`."""
    if _Deferral.depth:
        _Deferral.pending = True
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block ends (when :func:`interrupt` handles
    them). Raised inside a C library's call back into Python (libasound's error handler
    while PortAudio starts), KeyboardInterrupt is printed as ignored and lost; raised while
    a stream opens, it leaves a stream PortAudio cannot close at exit. Keep blocks short:
    the signal waits for them."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are handled in the main thread only
        return
    _Deferral.depth += 1
    try:
        yield
    finally:
        _Deferral.depth -= 1
        if not _Deferral.depth and _Deferral.pending:
            _Deferral.pending = False
            raise KeyboardInterrupt  # also over an error of the block: stopping comes first
