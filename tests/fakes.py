"""Fakes for the hardware seams (microphone, speaker, clock). Each area appends its own."""

from __future__ import annotations

import threading


class FakeClock:
    """A clock that only moves when told to (``advance``, ``sleep``, ``wait`` time out at once)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def now(self) -> float:
        """The fake monotonic time, seconds."""
        return self.t

    def advance(self, seconds: float) -> float:
        """Move time forward; returns the new time."""
        assert seconds >= 0, "time never goes backwards"
        self.t += seconds
        return self.t

    def set(self, t: float) -> None:
        """Jump to clock time ``t`` (not backwards)."""
        self.advance(t - self.t)

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` instead of sleeping."""
        if seconds > 0:
            self.t += seconds

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Return at once: True if ``event`` is set, else advance by ``timeout`` first."""
        if event.is_set():
            return True
        if timeout is None:
            raise AssertionError("FakeClock.wait without a timeout would block forever")
        self.sleep(timeout)
        return event.is_set()


class ClockSpeaker:
    """The Speaker API on a FakeClock: records what is said and "speaks" for a known time.

    A sentence lasts ``seconds_per_word`` per word (or ``durations[text]``), cut at
    ``max_seconds``; ``stop`` ends it at once. ``said`` holds ``(time, text, max_seconds)``.
    """

    def __init__(
        self,
        clock: FakeClock,
        seconds_per_word: float = 0.4,
        durations: dict[str, float] | None = None,
    ) -> None:
        self.clock = clock
        self.seconds_per_word = seconds_per_word
        self.durations = dict(durations or {})
        self.said: list[tuple[float, str, float | None]] = []
        self.stops = 0
        self.until = 0.0
        self.current_text: str | None = None
        self.played: list[object] = []

    def prepare(self, text: str) -> float:
        """Seconds ``text`` takes."""
        return self.durations.get(text, self.seconds_per_word * len(text.split()))

    def say(self, text: str, max_seconds: float | None = None) -> None:
        """Record ``text``; it plays from now (or after what is playing)."""
        assert text and text.strip(), "nothing to say"
        length = self.prepare(text)
        if max_seconds is not None:
            length = min(length, max_seconds)
        self.said.append((self.clock.now(), text, max_seconds))
        self.until = max(self.until, self.clock.now()) + length
        self.current_text = text.strip()

    def play(self, samples: object, rate: int = 16000) -> None:
        """Record an earcon (it takes no time)."""
        self.played.append(samples)

    def stop(self) -> None:
        """Cut what is playing."""
        self.stops += 1
        self.until = self.clock.now()

    def is_speaking(self) -> bool:
        """True until the last sentence has been played."""
        return self.clock.now() < self.until

    def wait(self, timeout: float | None = None) -> bool:
        """Advance the fake clock until speech ends (at most ``timeout``)."""
        left = self.until - self.clock.now()
        if left > 0:
            self.clock.advance(left if timeout is None else min(left, timeout))
        return not self.is_speaking()

    def texts(self) -> list[str]:
        """Everything said, in order."""
        return [text for _, text, _ in self.said]


class FakeSpeaker:
    """The full Speaker API (voice_coach.speak.Speaker) with no device: records, never plays.

    Speech is instant unless a test says otherwise: set ``speaking = True`` to make
    ``is_speaking()`` true (as if a sentence were playing) and ``last_sample_at`` to place the
    echo tail (``time.monotonic()`` seconds; 0.0 = long ago). ``stop()`` ends speaking.
    """

    def __init__(self, seconds_per_word: float = 0.4) -> None:
        self.seconds_per_word = seconds_per_word
        self.said: list[tuple[str, float | None]] = []
        """(text, max_seconds) per say(), in order."""
        self.played: list[tuple[object, int]] = []
        """(samples, rate) per play(), in order."""
        self.stops = 0
        self.closed = False
        self.speaking = False
        self.current_text: str | None = None
        self.last_sample_at = 0.0
        self.first_sample_at = 0.0

    def prepare(self, text: str) -> float:
        """Seconds ``text`` would take."""
        return self.seconds_per_word * len(text.split())

    def say(self, text: str, max_seconds: float | None = None) -> None:
        """Record ``text``; it becomes the current sentence."""
        assert not self.closed, "say() after close()"
        assert text and text.strip(), "nothing to say"
        self.said.append((text, max_seconds))
        self.current_text = text.strip()

    def play(self, samples: object, rate: int = 16000) -> None:
        """Record an earcon."""
        assert not self.closed, "play() after close()"
        self.played.append((samples, rate))

    def stop(self) -> None:
        """Count the stop; speaking ends."""
        self.stops += 1
        self.speaking = False

    def is_speaking(self) -> bool:
        """What the test set in ``speaking``."""
        return self.speaking

    def wait(self, timeout: float | None = None) -> bool:
        """Done at once (speaking ends)."""
        self.speaking = False
        return True

    def close(self) -> None:
        """Mark closed."""
        self.closed = True

    def texts(self) -> list[str]:
        """Everything said, in order."""
        return [text for text, _ in self.said]
