"""The ``voice-coach`` console script's first code: Ctrl-C while the program is still
loading (about 20 ms of imports) ends it with one line instead of a traceback."""

from __future__ import annotations

import sys

LOADING_INTERRUPTED = 130
"""Exit code of Ctrl-C before the program was ready (``ExitCode.INTERRUPTED``: nothing was
done; ``errors`` is not imported yet)."""


def main() -> int:
    """Load the command line and run it."""
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print("voice-coach: stopped.", file=sys.stderr)
        return LOADING_INTERRUPTED
    return run()
