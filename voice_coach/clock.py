"""Clocks: the monotonic time the routine scheduler runs on, behind a small protocol.

Tests inject a fake clock (``tests/fakes.py:FakeClock``) so timed routines run instantly.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds, a way to sleep, and a way to wait for an event with a timeout."""

    def now(self) -> float:
        """Monotonic time in seconds (only differences are meaningful)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Block until ``event`` is set or ``timeout`` seconds pass; True if it was set."""
        ...


class MonotonicClock:
    """The real clock: :func:`time.monotonic`."""

    def now(self) -> float:
        """Monotonic time in seconds."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` (nothing when not positive)."""
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Wait for ``event`` at most ``timeout`` seconds."""
        return event.wait(None if timeout is None else max(0.0, timeout))
