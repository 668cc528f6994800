"""Live audio in: the microphone as an iterable of 16 kHz mono int16 PCM chunks.

:class:`MicrophoneSource` wraps a ``sounddevice.RawInputStream``; its callback feeds a queue
and iteration reads the queue with a watchdog. When no audio arrives for ``stall_seconds``,
or PortAudio ends the stream (device unplugged, server gone), iteration closes the stream
and raises :class:`MicrophoneLost`. Iterating or calling :meth:`MicrophoneSource.open`
again reopens cleanly, so a caller can retry with back-off.

sounddevice is imported lazily (PortAudio enumerates devices at import) through
:func:`import_sounddevice`, which turns a missing PortAudio into :class:`ResourceMissing`
and sends libasound's own messages ("underrun occurred", which it prints on stderr when
playback starts while the process is busy) to the debug log.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .audio import CHANNELS, DTYPE, SAMPLE_RATE
from .errors import (
    ResourceMissing,
    interrupts_deferred,
    native_messages_silenced,
    not_installed,
)

log = logging.getLogger(__name__)

MIC_FRAMES = 800
"""Frames per microphone chunk: 50 ms at 16 kHz."""
_FINISHED = object()
"""Queue marker: PortAudio ended the stream."""
_CLOSED = object()
"""Queue marker: :meth:`MicrophoneSource.close` was called."""


NO_DEVICES = "none"
"""What :func:`describe` says for an empty list of devices."""


class MicrophoneLost(ResourceMissing):
    """The microphone stopped delivering audio while it was being read."""


@contextlib.contextmanager
def portaudio_call() -> Iterator[None]:
    """Around PortAudio starting, or opening or closing a stream: Ctrl-C waits for the call
    (:func:`~voice_coach.errors.interrupts_deferred`), and what PortAudio and libpulse print
    on stderr ("Expression ... failed", dozens of lines while a device comes and goes) is
    silenced unless --debug (:func:`~voice_coach.errors.native_messages_silenced`)."""
    with interrupts_deferred(), native_messages_silenced():
        yield


def import_sounddevice() -> ModuleType:
    """The sounddevice module; :class:`ResourceMissing` when it or PortAudio is missing."""
    try:
        with portaudio_call():
            _log_alsa_messages()  # before PortAudio starts: it has things to say while it does
            import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is not found
        raise ResourceMissing(
            f"the PortAudio library is missing ({exc}); "
            "install the Debian package libportaudio2 (apt install libportaudio2)"
        ) from None
    except ImportError as exc:
        log.debug("import sounddevice: %s", exc)
        raise ResourceMissing(not_installed("sounddevice", "sounddevice")) from None
    return sounddevice


_ALSA_HANDLER = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
"""libasound's ``snd_lib_error_handler_t`` (its trailing varargs are not read)."""
_alsa_handler: Any = None
"""The installed handler, kept alive for as long as libasound may call it (False: no ALSA)."""


def _log_alsa_messages() -> None:
    """Route libasound's error messages to the debug log (once; no-op without ALSA)."""
    global _alsa_handler
    if _alsa_handler is not None:
        return
    try:
        alsa = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
    except OSError:
        _alsa_handler = False
        return

    def handler(file: bytes, line: int, function: bytes, err: int, fmt: bytes) -> None:
        where = f"{(file or b'').decode(errors='replace')}:{line}"
        text = (fmt or b"").decode(errors="replace")
        name = (function or b"").decode(errors="replace")
        log.debug("ALSA %s (%s) %s [error %d]", where, name, text, err)

    _alsa_handler = _ALSA_HANDLER(handler)
    alsa.snd_lib_error_set_handler(_alsa_handler)


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device as the ``devices`` command shows it."""

    index: int
    """PortAudio device index (valid until PortAudio re-enumerates)."""
    name: str
    """Device name; --input-device and --output-device accept any unique part of it."""
    hostapi: str
    """Host API (ALSA, JACK, OSS...)."""
    max_input_channels: int
    """Input channels; 0 for an output-only device."""
    max_output_channels: int
    """Output channels; 0 for an input-only device."""
    default_samplerate: float
    """The device's preferred rate (Hz); the coach asks for 16 kHz anyway."""
    default_input: bool
    """True for the system's default input device."""
    default_output: bool
    """True for the system's default output device."""

    @property
    def is_input(self) -> bool:
        """True when the device can record."""
        return self.max_input_channels > 0


def list_devices() -> list[AudioDevice]:
    """Every PortAudio device, with the defaults marked."""
    sd = import_sounddevice()
    default_in, default_out = (_as_index(d) for d in sd.default.device)
    hostapis = sd.query_hostapis()
    return [
        AudioDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            hostapi=str(hostapis[info["hostapi"]]["name"]),
            max_input_channels=int(info["max_input_channels"]),
            max_output_channels=int(info["max_output_channels"]),
            default_samplerate=float(info["default_samplerate"]),
            default_input=info["index"] == default_in,
            default_output=info["index"] == default_out,
        )
        for info in sd.query_devices()
    ]


def device_arg(device: str | int | None) -> str | int | None:
    """A device as the user gave it: digits are a PortAudio index, anything else a name."""
    if isinstance(device, str) and device.strip().isdigit():
        return int(device)
    return device


def _as_index(device: object) -> int:
    return device if isinstance(device, int) else -1


def describe_inputs(devices: list[AudioDevice] | None = None) -> str:
    """Input devices on one line (``0 'pulse', 1 'default'``), or ``none``."""
    return describe([d for d in (list_devices() if devices is None else devices) if d.is_input])


def describe(devices: list[AudioDevice]) -> str:
    """Devices on one line (``0 'pulse', 1 'default'``), or ``none``."""
    return ", ".join(f"{d.index} {d.name!r}" for d in devices) or NO_DEVICES


class MicrophoneSource:
    """A microphone yielding PCM chunks (16 kHz mono int16), raising MicrophoneLost on loss."""

    def __init__(
        self,
        device: str | int | None = None,
        frames: int = MIC_FRAMES,
        stall_seconds: float = 2.0,
        start_seconds: float = 5.0,
        max_queued_seconds: float = 10.0,
    ) -> None:
        """Describe the source; nothing is opened until :meth:`open` or iteration.

        ``device``: a PortAudio index, a unique part of a device name, or None for the
        system default input. ``stall_seconds``: longest gap between chunks before the
        microphone counts as lost; ``start_seconds``: the same for the first chunk after
        opening. ``max_queued_seconds``: audio kept for a slow reader; older chunks are
        dropped beyond it.
        """
        self.device = device_arg(device)
        self.frames = frames
        self.stall_seconds = stall_seconds
        self.start_seconds = max(start_seconds, stall_seconds)
        self.dropped_chunks = 0
        """Chunks dropped because the reader fell more than ``max_queued_seconds`` behind."""
        self.overflows = 0
        """Times PortAudio reported lost input (the process did not keep up with the device)."""
        self._max_chunks = max(1, int(max_queued_seconds * SAMPLE_RATE / frames))
        self._lock = threading.Lock()
        self._stream = None
        self._queue: queue.Queue | None = None
        self._label = self._describe_request()

    # -- opening and closing ------------------------------------------------------------

    @property
    def label(self) -> str:
        """The device as named in messages."""
        return self._label

    @property
    def is_open(self) -> bool:
        """True while a stream is open."""
        return self._stream is not None

    def open(self) -> MicrophoneSource:
        """Open and start the stream (no-op when open); ResourceMissing when impossible."""
        sd = import_sounddevice()
        try:
            with self._lock:
                if self._stream is not None:
                    return self
                self._label = self._describe_request()
                chunks: queue.Queue = queue.Queue(maxsize=self._max_chunks)
                with portaudio_call():  # not between opening the stream and keeping it
                    self._stream, self._queue = self._start(sd, chunks), chunks
                log.debug("microphone %s open (%d frames per chunk)", self._label, self.frames)
        except KeyboardInterrupt:  # held back while it opened: the caller gets no source
            self.close()
            raise
        return self

    def _start(self, sd: ModuleType, chunks: queue.Queue) -> Any:
        """Open and start a stream feeding ``chunks``; ResourceMissing when impossible."""
        try:
            stream = sd.RawInputStream(
                samplerate=SAMPLE_RATE,
                channels=CHANNELS,
                dtype=DTYPE,
                blocksize=self.frames,
                device=self.device,
                callback=self._make_callback(chunks),
                finished_callback=self._make_finished(chunks),
            )
        except (sd.PortAudioError, ValueError, TypeError) as exc:
            raise self._open_error(exc) from None
        try:
            stream.start()
        except sd.PortAudioError as exc:
            stream.close(ignore_errors=True)
            raise self._open_error(exc) from None
        return stream

    def close(self) -> None:
        """Stop and close the stream; an iteration in progress ends. Safe to call twice."""
        with self._lock:
            stream, chunks = self._stream, self._queue
            self._stream = self._queue = None
        if chunks is not None:
            _put_dropping_oldest(chunks, _CLOSED)
        if stream is not None:
            try:
                with portaudio_call():
                    stream.close(ignore_errors=True)
            except Exception as exc:  # a dying device may fail in any way
                log.debug("closing microphone %s: %s", self._label, exc)

    def __del__(self) -> None:
        # A running PortAudio stream must not outlive the callbacks it calls.
        try:
            self.close()
        except Exception:  # e.g. at interpreter shutdown
            pass

    def __enter__(self) -> MicrophoneSource:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[bytes]:
        """Yield chunks until :meth:`close`; raise :class:`MicrophoneLost` on loss."""
        self.open()
        chunks = self._queue
        if chunks is None:  # closed by another thread right after opening
            return
        timeout = self.start_seconds
        while True:
            try:
                item = chunks.get(timeout=timeout)
            except queue.Empty:
                self._lost(chunks, f"no audio for {timeout:g} s")
            if item is _CLOSED:
                return
            if item is _FINISHED:
                self._lost(chunks, "the audio stream ended")
            timeout = self.stall_seconds
            yield item

    def _lost(self, chunks: queue.Queue, what: str) -> None:
        """Close the stream that fed ``chunks`` (unless already replaced) and raise."""
        if self._queue is chunks:
            self.close()
        raise MicrophoneLost(
            f"microphone {self._label} stopped: {what}; check that it is plugged in and switched on"
        )

    def _make_callback(self, chunks: queue.Queue) -> Callable[..., None]:
        def callback(indata: object, frames: int, time_info: object, status: object) -> None:
            if status:
                self.overflows += 1
                log.debug("microphone %s: %s", self._label, status)
            if _put_dropping_oldest(chunks, bytes(indata)):
                self.dropped_chunks += 1

        return callback

    def _make_finished(self, chunks: queue.Queue) -> Callable[[], None]:
        def finished() -> None:
            _put_dropping_oldest(chunks, _FINISHED)

        return finished

    # -- messages -------------------------------------------------------------------------

    def _describe_request(self) -> str:
        """``'pulse'``, ``3 ('USB mic')`` or ``default input ('default')`` for messages."""
        if isinstance(self.device, str):
            return repr(self.device)
        try:
            sd = import_sounddevice()
            name = sd.query_devices(self.device, kind="input" if self.device is None else None)
            name = repr(name["name"])
        except Exception:  # only for the message
            name = "(not found)"
        return f"default input {name}" if self.device is None else f"{self.device} {name}"

    def _open_error(self, exc: Exception) -> ResourceMissing:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        inputs = _safe_inputs()
        if inputs == NO_DEVICES:
            return ResourceMissing(
                f"no microphone found (the system lists no input device; {reason}): plug one "
                "in, and check that the sound server (PulseAudio or PipeWire) is running"
            )
        return ResourceMissing(
            f"cannot open microphone {self._label}: {reason}; check that it is plugged in and "
            f"switched on; input devices: {inputs} (--input-device chooses another; see "
            "'voice-coach devices')"
        )


def _put_dropping_oldest(chunks: queue.Queue, item: object) -> bool:
    """Put ``item``, dropping the oldest entry when full; True when something was dropped."""
    try:
        chunks.put_nowait(item)
        return False
    except queue.Full:
        try:
            chunks.get_nowait()
        except queue.Empty:
            pass
        try:
            chunks.put_nowait(item)
        except queue.Full:
            pass
        return True


def _safe_inputs() -> str:
    try:
        return describe_inputs()
    except Exception:  # only for the message
        return "unknown"
