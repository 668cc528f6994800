"""Audio in: the one audio format of the pipeline, and sources that yield PCM chunks.

Every source yields ``bytes`` chunks of 16 kHz mono signed 16-bit little-endian PCM;
recognisers take any iterable of such chunks and never know where they came from.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError, native_messages_silenced

if TYPE_CHECKING:
    import soundfile

log = logging.getLogger(__name__)

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
SILENCE_DBFS = -120.0
"""Level reported for digital silence or an empty chunk (dBFS)."""

AUDIO_FORMATS = "give a WAV, FLAC, OGG or MP3 recording"
"""What to do about a file that is not audio."""
RECORD_AGAIN = "record it again"
"""What to do about a file without audio in it."""
MIN_FILE_RATE = 4_000
"""Lowest sample rate (Hz) of a file taken as speech; a lower one is a broken header."""
MAX_FILE_RATE = 768_000
"""Highest sample rate (Hz) any recorder writes; a higher one is a broken header."""
MAX_FILE_SECONDS = 300
"""Longest file read (seconds): a spoken request is far shorter, and a longer file would
take minutes and hundreds of megabytes to decode as one utterance."""
COPY_AGAIN = "copy or record it again"
"""What to do about a file cut short."""
_DECLARED_SIZE = re.compile(r"^(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
"""libsndfile's report of a chunk whose header promises more bytes than the file holds."""
_CUT_SIGNS = ("lacks an end-of-stream bit", "Junk after the last page")
"""libsndfile's words for an OGG file cut within or before its last page."""
SHORT_READ = 0.99
"""A file decoding to fewer than this share of the frames its header gives (an MP3 with
a Xing header) is cut short; the slack allows for estimated lengths."""
STDIN = "-"
"""The file name that stands for standard input (``understand -``)."""
PLACEHOLDER_SIZE = 0x7FFF_0000
"""Header sizes from this up (0x7FFFF000 from espeak-ng, 0x7FFFFFFF, 0xFFFFFFFF) are what a
program writing to a pipe puts there: unknown, not a promise."""
_UNFINISHED = re.compile(
    r"^data\s*:\s*0\n(?:\*\*\* Unknown chunk marker|Have \S+ marker)", re.MULTILINE
)
"""libsndfile's report of a WAV whose data size was never written (a recorder stopped
before closing the file): the audio after it is read as chunk markers. A WAV with truly no
audio ends its report there or goes on to a chunk it knows (``LIST``)."""
MAX_PIPED_BYTES = 512 * 1024 * 1024
"""Most bytes read from a pipe or device (``-``, ``/dev/stdin``): far more than
:data:`MAX_FILE_SECONDS` of any recording, and a stream that never ends (``/dev/zero``)
stops here instead of filling the memory."""
PIPE_BLOCK = 1 << 20
"""Bytes read from a pipe at a time (reading the limit at once would reserve it all)."""
MAX_FILE_CHANNELS = 64
"""Most channels of a file taken as a recording (a microphone array's); a header giving more
is damaged (a 1000-channel header would make two channels' bytes 0.002 s of audio)."""
CANCELLED_DB = 10.0
"""When averaging a file's channels leaves the sound this much (dB) quieter than they are on
average, they cancel out (channels in opposite phase: a microphone wired the wrong way
round), or one of many carries the sound alone: the loudest is read alone. Two channels of
one voice never come near it (the same sound: 0 dB; unrelated sounds: -3 dB)."""
_DAMAGED_HEADER = ("SF_INFO struct incomplete", "Channel count is zero")
"""libsndfile's words for a header it cannot use (a rate or channel count of 0)."""


def read_audio(path: str | Path) -> np.ndarray:
    """Read any audio file soundfile can decode, as 16 kHz mono int16 samples.

    ``-`` reads standard input (a file named ``-`` is ``"./-"``, a string: ``Path`` makes it
    ``-`` again); a pipe or device (``/dev/stdin``, ``<(...)``) is read whole first. Channels
    are averaged (unless they cancel out: :data:`CANCELLED_DB`); other rates are resampled
    with soxr. Messages name the file as given. Raises
    :class:`InputError` naming the file when it is missing, a folder, empty, not audio,
    holds no samples, has an impossible sample rate, or is cut short. A cut is found from
    libsndfile's own report of the header (WAV, AIFF: fewer bytes than promised; OGG: no
    end-of-stream page; FLAC: the decoder loses sync) or from fewer samples decoded than
    the header gives (MP3).
    """
    import soundfile

    stdin = str(path) == STDIN
    name = "standard input" if stdin else str(path)  # as given: "./-" stays "./-"
    try:
        source = _piped(sys.stdin.buffer, name) if stdin else _source(Path(path), name)
        with native_messages_silenced(), soundfile.SoundFile(source) as sound:
            _check_header(name, sound)
            mono, frames = _read_mono(name, sound)
            if 0 < frames < SHORT_READ * sound.frames:
                raise InputError(
                    f"{name}: the file is cut short (its header gives {sound.frames} samples, "
                    f"it holds {frames}); {COPY_AGAIN}"
                )
    except PermissionError:
        raise InputError(f"{name}: permission denied; make the file readable to you") from None
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).split(":")[-1].strip().rstrip(".") or "unreadable"
        if any(sign in reason for sign in _DAMAGED_HEADER):
            raise InputError(f"{name}: its header is damaged; {COPY_AGAIN}") from None
        if "File does not exist or is not a regular file" in reason:  # an MP3 tag alone
            reason = "no audio found in it"
        if "lost sync" in reason:
            raise InputError(f"{name}: the audio is damaged or cut short; {COPY_AGAIN}") from None
        raise InputError(f"{name}: not a readable audio file ({reason}); {AUDIO_FORMATS}") from None
    except MemoryError:
        raise InputError(f"{name}: too long to read into memory; cut it shorter") from None
    except OSError as exc:  # a name too long, a folder on the way not searchable, ...
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc}); {COPY_AGAIN}") from None
    if frames == 0:
        raise InputError(f"{name}: the audio file holds no samples; {RECORD_AGAIN}")
    return float_to_int16(mono)


def _source(path: Path, name: str) -> bytes | io.BytesIO:
    """What soundfile opens for ``path`` (called ``name`` in messages): its name for a
    regular file, its bytes otherwise (a pipe's size says nothing and libsndfile cannot seek
    in it)."""
    if not path.exists():
        raise InputError(f"{name}: no such file; check the name and the folder")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not an audio file")
    if not path.is_file():
        with path.open("rb") as stream:
            return _piped(stream, name)
    if path.stat().st_size == 0:
        raise InputError(f"{name}: the file is empty; {RECORD_AGAIN}")
    path.open("rb").close()  # a PermissionError here, not libsndfile's "System error"
    # libsndfile reads the file itself: Ctrl-C during a read through Python callbacks
    # would be swallowed and look like a broken file. Bytes: any name the system allows;
    # "./-", not "-", which libsndfile takes for standard input.
    return os.fsencode(path.absolute() if str(path) == STDIN else path)


def _piped(stream: io.BufferedIOBase, name: str) -> io.BytesIO:
    """All of a stream's bytes, in memory (read by Python, so Ctrl-C stops it), up to
    :data:`MAX_PIPED_BYTES`."""
    data = io.BytesIO()
    while block := stream.read(PIPE_BLOCK):
        data.write(block)
        if data.tell() > MAX_PIPED_BYTES:
            raise InputError(
                f"{name}: more than {MAX_PIPED_BYTES // 2**20} MB came in, far longer than a "
                f"spoken request; give a recording of at most {MAX_FILE_SECONDS // 60} minutes"
            )
    if not data.tell():
        raise InputError(f"{name}: nothing came in; {RECORD_AGAIN}")
    data.seek(0)
    return data


def _read_mono(name: str, sound: soundfile.SoundFile) -> tuple[np.ndarray, int]:
    """The file's samples as one channel (:func:`_read_channel`): the channels averaged, or
    the loudest alone when averaging them cancels the sound out (:data:`CANCELLED_DB`)."""
    mono, frames, power = _read_channel(name, sound)
    loudest = int(np.argmax(power[:-1]))
    if sound.channels > 1 and power[-1] < power[:-1].mean() * 10 ** (-CANCELLED_DB / 10):
        log.info("%s: averaged, its channels are far quieter; reading channel %d", name, loudest)
        sound.seek(0)
        mono, frames, _ = _read_channel(name, sound, loudest)
    return mono, frames


def _read_channel(
    name: str, sound: soundfile.SoundFile, channel: int | None = None
) -> tuple[np.ndarray, int, np.ndarray]:
    """One channel of the file (the average of all when ``channel`` is None), resampled to
    16 kHz a second at a time (a long or many-channel file never sits in memory whole); how
    many frames it held; and the energy of each channel, then of the result.
    :class:`InputError` past :data:`MAX_FILE_SECONDS`."""
    import soxr

    rate = sound.samplerate
    stream = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1)
    parts: list[np.ndarray] = []
    frames = 0
    power = np.zeros(sound.channels + 1)
    while len(block := sound.read(rate, dtype="float32", always_2d=True)):
        frames += len(block)
        if frames > MAX_FILE_SECONDS * rate:
            raise InputError(
                f"{name}: longer than {MAX_FILE_SECONDS // 60} minutes; the coach "
                "understands spoken requests: cut it into shorter files"
            )
        mono = block.mean(axis=1) if channel is None else block[:, channel]
        power[:-1] += np.einsum("ij,ij->j", block, block)  # float32 per block: no copy
        power[-1] += float(np.dot(mono, mono))
        parts.append(mono if stream is None else stream.resample_chunk(mono))
    if stream is not None:
        parts.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), frames, power


def _check_header(name: str, sound: soundfile.SoundFile) -> None:
    """Raise :class:`InputError` when the header gives an impossible rate or channel count,
    or libsndfile reports the file cut short."""
    if sound.channels > MAX_FILE_CHANNELS:
        raise InputError(
            f"{name}: the header gives {sound.channels} channels, more than any recording of "
            f"speech holds (at most {MAX_FILE_CHANNELS}); the file is damaged: {COPY_AGAIN}"
        )
    rate = sound.samplerate
    if rate < MIN_FILE_RATE:
        raise InputError(
            f"{name}: the header gives {rate} Hz, too low for speech (at least "
            f"{MIN_FILE_RATE} Hz); the file is damaged: {COPY_AGAIN}"
        )
    if rate > MAX_FILE_RATE:
        raise InputError(
            f"{name}: the header gives {rate} Hz, more than any recorder writes (at most "
            f"{MAX_FILE_RATE} Hz); the file is damaged: {COPY_AGAIN}"
        )
    report = sound.extra_info
    for declared, present in _DECLARED_SIZE.findall(report):
        if int(present) < int(declared) < PLACEHOLDER_SIZE:
            raise InputError(
                f"{name}: the file is cut short (its header promises {declared} bytes of "
                f"audio, it holds {present}); {COPY_AGAIN}"
            )
    for sign in _CUT_SIGNS:
        if sign in report:
            raise InputError(f"{name}: the file is cut short ({sign}); {COPY_AGAIN}")
    if sound.frames == 0 and _UNFINISHED.search(report):
        raise InputError(
            f"{name}: the WAV header was never finished (it gives no audio, so what follows "
            "it is not read); the recorder stopped before closing the file: repair the "
            f"header (for example 'sox --ignore-length IN OUT') or {RECORD_AGAIN}"
        )


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


def level_dbfs(chunk: bytes) -> float:
    """RMS level of int16 PCM in dB relative to full scale (full-scale square wave = 0)."""
    samples = np.frombuffer(chunk[: len(chunk) // 2 * 2], dtype="<i2")
    if samples.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    if rms == 0.0:
        return SILENCE_DBFS
    return max(20.0 * math.log10(rms / 32768.0), SILENCE_DBFS)
