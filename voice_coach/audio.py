"""Audio in: the one audio format of the pipeline, and sources that yield PCM chunks.

Every source yields ``bytes`` chunks of 16 kHz mono signed 16-bit little-endian PCM;
recognisers take any iterable of such chunks and never know where they came from.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import InputError

SAMPLE_RATE = 16_000
"""Samples per second of all pipeline audio (Hz)."""
CHANNELS = 1
"""Mono."""
SAMPLE_WIDTH = 2
"""Bytes per sample (signed 16-bit little-endian)."""
DTYPE = "int16"
"""numpy / sounddevice sample type."""
CHUNK_FRAMES = 1_600
"""Frames per chunk: 100 ms, small enough for low latency."""

AUDIO_FORMATS = "give a WAV, FLAC, OGG or MP3 recording"
"""What to do about a file that is not audio."""
RECORD_AGAIN = "record it again"
"""What to do about a file without audio in it."""


def read_audio(path: str | Path) -> np.ndarray:
    """Read any audio file soundfile can decode, as 16 kHz mono int16 samples.

    Channels are averaged; other rates are resampled with soxr. Raises :class:`InputError`
    naming the file when it is missing, a folder, empty, not audio or holds no samples.
    A file cut short is read as far as libsndfile can decode it: WAV, OGG and MP3 give
    the audio before the cut, while FLAC stops with an InputError ("lost sync").
    """
    import soundfile
    import soxr

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an audio file")
    try:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty; {RECORD_AGAIN}")
        with path.open("rb") as f:  # a PermissionError here, not libsndfile's "System error"
            data, rate = soundfile.read(f, dtype="float32", always_2d=True)
    except PermissionError:
        raise InputError(f"{path}: permission denied; make the file readable to you") from None
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).split(":")[-1].strip().rstrip(".") or "unreadable"
        raise InputError(f"{path}: not a readable audio file ({reason}); {AUDIO_FORMATS}") from None
    if data.shape[0] == 0:
        raise InputError(f"{path}: the audio file holds no samples; {RECORD_AGAIN}")
    mono = data.mean(axis=1)
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
    return float_to_int16(mono)


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """Convert float samples in [-1, 1] to int16, clipping what is outside (NaN becomes 0).

    Scaled by 32768 and rounded, the inverse of how soundfile reads int16 as float, so
    16-bit audio comes back sample for sample.
    """
    clean = np.nan_to_num(np.asarray(samples, dtype=np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(np.round(clean * 32768.0), -32768, 32767).astype(np.int16)


def chunks_of(samples: np.ndarray, frames: int = CHUNK_FRAMES) -> Iterator[bytes]:
    """Split int16 samples into PCM byte chunks of ``frames`` frames (the last may be short)."""
    pcm = np.ascontiguousarray(samples, dtype="<i2")
    for start in range(0, len(pcm), frames):
        yield pcm[start : start + frames].tobytes()


def file_chunks(
    path: str | Path, frames: int = CHUNK_FRAMES, realtime: bool = False
) -> Iterator[bytes]:
    """Yield a file's audio as PCM chunks; with ``realtime`` paced like a live microphone."""
    samples = read_audio(path)
    start = time.monotonic()
    for index, chunk in enumerate(chunks_of(samples, frames)):
        if realtime:
            due = start + index * frames / SAMPLE_RATE
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        yield chunk
