"""Earcons: short generated tones (no audio files), 16 kHz mono int16, faded so they never click.

- :func:`heard`: a soft rising two-note chime, "I heard you".
- :func:`not_understood`: a soft falling tone, "I did not catch that".
- :func:`alarm`: three gentle beeps, for the end of a timer.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .audio import SAMPLE_RATE, float_to_int16

LEVEL = 0.25
"""Peak amplitude of an earcon (fraction of full scale): softer than speech."""
FADE = 0.012
"""Fade-in and fade-out of every note (s)."""
HEARD_NOTES = ((660.0, 0.055), (880.0, 0.065))
"""Rising chime: (frequency Hz, duration s) per note; ~120 ms in all."""
NOT_UNDERSTOOD_GLIDE = (520.0, 330.0, 0.22)
"""Falling tone: start and end frequency (Hz) and duration (s)."""
ALARM_BEEP = (740.0, 0.15)
"""One alarm beep: frequency (Hz) and duration (s)."""
ALARM_GAP = 0.12
"""Silence between alarm beeps (s)."""
ALARM_BEEPS = 3
"""Beeps in one alarm."""


def _envelope(frames: int, fade: float = FADE) -> np.ndarray:
    """Raised-cosine fade in and out over ``fade`` seconds (shorter for tiny sounds)."""
    ramp = min(int(fade * SAMPLE_RATE), frames // 2)
    env = np.ones(frames)
    if ramp > 0:
        rise = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ramp))
        env[:ramp] = rise
        env[-ramp:] = rise[::-1]
    return env


def _glide(start_hz: float, end_hz: float, seconds: float) -> np.ndarray:
    """A sine sweeping from ``start_hz`` to ``end_hz`` (float, peak 1, faded)."""
    frames = int(seconds * SAMPLE_RATE)
    freq = np.linspace(start_hz, end_hz, frames)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    return np.sin(phase) * _envelope(frames)


def _tone(freq_hz: float, seconds: float) -> np.ndarray:
    return _glide(freq_hz, freq_hz, seconds)


def _finish(signal: np.ndarray) -> np.ndarray:
    samples = float_to_int16(signal * LEVEL)
    samples.setflags(write=False)
    return samples


@cache
def heard() -> np.ndarray:
    """A soft rising two-note chime (~120 ms)."""
    return _finish(np.concatenate([_tone(freq, secs) for freq, secs in HEARD_NOTES]))


@cache
def not_understood() -> np.ndarray:
    """A soft falling tone (~220 ms)."""
    return _finish(_glide(*NOT_UNDERSTOOD_GLIDE))


@cache
def alarm() -> np.ndarray:
    """Three gentle beeps (~0.7 s), for the end of a timer."""
    beep = _tone(*ALARM_BEEP)
    gap = np.zeros(int(ALARM_GAP * SAMPLE_RATE))
    parts = [beep]
    for _ in range(ALARM_BEEPS - 1):
        parts += [gap, beep]
    return _finish(np.concatenate(parts))
