"""Speech out: render sentences with pyttsx3 (espeak-ng) and play them so they can be cut off.

- :class:`SpeechSettings`: rate, volume and voice, with bounded ``louder/quieter/slower/faster``.
- :class:`Voice`: text -> 16 kHz mono int16 samples, through pyttsx3's ``save_to_file`` (never
  its ``say``, which shells out to ``aplay``), with a small LRU cache.
- :class:`Speaker`: plays rendered speech and earcons on a sounddevice output stream in 20 ms
  blocks, so :meth:`Speaker.stop` cuts it within one block.
- :class:`PrintSpeaker`: the same API, printing sentences to stdout (``--quiet``).

pyttsx3 keeps one espeak-ng engine per process. All its calls run on one worker thread
(:class:`_Engine`), so any thread may render. The driver's "Audio saved to ..." message goes
to the debug log, not stdout.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .audio import SAMPLE_RATE, float_to_int16
from .catalogue import DIRECTIONS
from .errors import InputError, ResourceMissing, UsageError, interrupts_deferred
from .microphone import device_arg, import_sounddevice, portaudio_call

log = logging.getLogger(__name__)

RATE_DEFAULT = 150
"""Default speaking rate (words per minute): calm, a little slower than espeak's 175."""
RATE_BOUNDS = (80, 260)
"""Slowest and fastest allowed rate (words per minute)."""
RATE_STEP = 20
"""Change of rate for one "slower" / "faster" (words per minute)."""
VOLUME_DEFAULT = 0.8
"""Default volume (0..1 of espeak-ng's normal amplitude), leaving room for "louder"."""
VOLUME_BOUNDS = (0.2, 1.0)
"""Quietest and loudest allowed volume (0..1)."""
VOLUME_STEP = 0.2
"""Change of volume for one "louder" / "quieter"."""

ESTIMATE_WORD_FACTOR = 0.92
"""espeak-ng's real pace relative to the nominal rate (fitted on the prompts' sentences)."""
ESTIMATE_END_PAUSE = 0.15
"""Silence espeak-ng adds at the end (s); with the factor, estimates fall within -30/+80 %."""
RENDER_TIMEOUT = 30.0
"""Longest wait for one rendering (s); reached only when espeak-ng hangs."""
MAX_TEXT_CHARS = 10_000
"""Longest text rendered at once: espeak-ng crashed the process on 30,000 characters."""
CACHE_SIZE = 64
"""Rendered sentences kept by a :class:`Voice` (the coach repeats itself)."""
BLOCK_FRAMES = 320
"""Frames the speaker hands to the device at a time (20 ms): the granularity of stop()."""
CUT_FADE = 0.01
"""Fade-out at a max_seconds cut or a stop() (s), so the cut does not click."""
REOPEN_SECONDS = 10.0
"""How long a lost output device is tried again before it is reported (s): a sound server
restarting, or a headset reconnecting, is back within a few seconds."""
REOPEN_PAUSE = 0.5
"""Seconds between tries to reopen a lost output device."""
ESPEAK_PACKAGES = "espeak-ng (libespeak-ng1)"
"""Debian packages that provide the speech engine."""
NO_DEVICE_HINT = (
    "connect speakers or headphones, and check `voice-coach devices` and --output-device "
    "(listen and routine can print instead with --quiet; say can write --out FILE.wav)"
)


@dataclass(frozen=True)
class SpeechSettings:
    """How the coach speaks."""

    rate: int = RATE_DEFAULT
    """Speaking rate (words per minute), within :data:`RATE_BOUNDS`."""
    volume: float = VOLUME_DEFAULT
    """Volume, 0..1 of the engine's normal amplitude, within :data:`VOLUME_BOUNDS`."""
    voice: str | None = None
    """espeak-ng voice id or name (``gmw/en-us``, ``en-us``, ``English (America)``); None:
    the engine's default."""

    def __post_init__(self) -> None:
        if not RATE_BOUNDS[0] <= self.rate <= RATE_BOUNDS[1]:
            raise UsageError(
                f"speaking rate {self.rate} is out of range: use {RATE_BOUNDS[0]} to "
                f"{RATE_BOUNDS[1]} words per minute"
            )
        if not VOLUME_BOUNDS[0] - 1e-9 <= self.volume <= VOLUME_BOUNDS[1] + 1e-9:
            raise UsageError(
                f"volume {self.volume:g} is out of range: use {VOLUME_BOUNDS[0]:g} to "
                f"{VOLUME_BOUNDS[1]:g}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeechSettings:
        """Build from a table (``rate``, ``volume``, ``voice``; missing keys keep defaults)."""
        unknown = set(data) - {"rate", "volume", "voice"}
        if unknown:
            raise UsageError(f"unknown speech setting(s): {', '.join(sorted(unknown))}")
        try:
            return cls(
                rate=int(data.get("rate", RATE_DEFAULT)),
                volume=float(data.get("volume", VOLUME_DEFAULT)),
                voice=None if data.get("voice") is None else str(data["voice"]),
            )
        except (TypeError, ValueError) as exc:
            raise UsageError(f"speech settings: {exc}") from None

    def adjusted(self, direction: str) -> SpeechSettings | None:
        """One step ``louder``/``quieter``/``slower``/``faster``; None when already at the bound.

        Raises ValueError for an unknown direction (a programming error).
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}; expected one of {DIRECTIONS}")
        if direction in ("louder", "quieter"):
            step = VOLUME_STEP if direction == "louder" else -VOLUME_STEP
            volume = round(min(max(self.volume + step, VOLUME_BOUNDS[0]), VOLUME_BOUNDS[1]), 3)
            return None if abs(volume - self.volume) < 1e-9 else replace(self, volume=volume)
        step = RATE_STEP if direction == "faster" else -RATE_STEP
        rate = min(max(self.rate + step, RATE_BOUNDS[0]), RATE_BOUNDS[1])
        return None if rate == self.rate else replace(self, rate=rate)


@dataclass(frozen=True)
class VoiceInfo:
    """One installed espeak-ng voice."""

    id: str
    """Identifier to pass as ``voice`` (``gmw/en-us``)."""
    name: str
    """Human name (``English (America)``)."""
    languages: tuple[str, ...] = ()
    """Language codes the voice speaks."""


# -- the engine -----------------------------------------------------------------------------


def _log_print(*args: Any, **_kwargs: Any) -> None:
    """Stands in for ``print`` inside pyttsx3's espeak driver ("Audio saved to ...")."""
    log.debug("pyttsx3: %s", " ".join(str(a) for a in args))


class _Engine:
    """The process's one pyttsx3 engine, used from one worker thread only."""

    _instance: _Engine | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-coach-tts")
        self._folder = tempfile.TemporaryDirectory(prefix="voice-coach-tts-")
        self._errors: list[BaseException] = []
        self._finished = threading.Event()
        """Set by the driver once the WAV file is written (from espeak-ng's thread)."""
        self._cancelled = False
        """The driver reported a cancellation during the current render (its file, if it
        wrote one, may be cut short: espeak-ng can report the cut render as finished too)."""
        self._count = 0
        self._applied: SpeechSettings | None = None
        try:
            with interrupts_deferred():  # the worker is known to the pool once submitted
                started = self._pool.submit(self._init)
            self._engine = started.result()
        except BaseException:  # Ctrl-C too: the warm-up ends before its folder goes (taken
            # from under espeak-ng, its render would fail and be waited for RENDER_TIMEOUT)
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._folder.cleanup()
            raise

    @classmethod
    def get(cls) -> _Engine:
        """The shared engine, started on first use; ResourceMissing when espeak-ng is absent."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _init(self) -> Any:
        try:
            import pyttsx3

            engine = pyttsx3.init()
        except Exception as exc:  # ImportError, OSError, RuntimeError from the espeak binding
            raise ResourceMissing(
                f"speech engine unavailable ({exc}); install the Debian package "
                f"{ESPEAK_PACKAGES} and the Python package pyttsx3"
            ) from None
        engine.connect("error", lambda **kwargs: self._errors.append(kwargs.get("exception")))
        engine.connect("finished-utterance", self._on_finished)
        # The driver prints "Audio saved to <file>" on stdout from espeak-ng's own thread:
        # give its module a print of its own that logs instead (pyttsx3 is pinned to 2.99).
        driver_module = sys.modules.get("pyttsx3.drivers.espeak")
        if driver_module is not None:
            driver_module.print = _log_print  # type: ignore[attr-defined]
        self._espeak = sys.modules.get("pyttsx3.drivers._espeak")
        self.default_voice = str(engine.getProperty("voice") or "")
        # Until its first run the driver queues property changes instead of applying them;
        # one silent render puts it in the state every later render starts from.
        warm_up = Path(self._folder.name) / "warm-up.wav"
        self._save(engine, ".", warm_up)
        warm_up.unlink(missing_ok=True)
        return engine

    def _synchronise(self) -> None:
        """Wait until espeak-ng's command queue is idle.

        espeak-ng applies parameters through its own command queue; set while it still
        finishes the previous message, a new rate is silently dropped, so settle first.
        """
        if self._espeak is not None:
            self._espeak.Synchronize()

    def run(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(engine, *args)`` on the engine's thread; its result."""
        future = self._pool.submit(fn, self._engine, *args)
        try:
            return future.result(timeout=RENDER_TIMEOUT + 5.0)
        except FutureTimeout:
            driver = getattr(self._engine.proxy, "_driver", None)
            if driver is not None:
                driver.endLoop()  # unstick the driver's loop so the next render can run
            raise ResourceMissing(
                f"espeak-ng did not finish rendering within {RENDER_TIMEOUT:g} s; "
                f"check the {ESPEAK_PACKAGES} installation"
            ) from None

    def _on_finished(self, completed: bool = True, **_kwargs: Any) -> None:
        """The driver's "finished-utterance" notification (from espeak-ng's thread or, when
        it cancels, the engine's)."""
        self._cancelled = self._cancelled or not completed
        self._finished.set()

    def _save(self, engine: Any, text: str, path: Path) -> None:
        """Have the driver write ``text`` to the WAV file ``path`` (twice if it was cancelled).

        The driver's ``runAndWait`` calls its ``stop``, which cancels the next render if
        espeak-ng is still winding up the previous one: wait for espeak-ng to be idle first,
        and render again if a cancellation got through all the same.
        """
        for attempt in (1, 2):
            self._synchronise()
            self._finished.clear()
            self._cancelled = False
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            # runAndWait can return before espeak-ng's thread has written the file (on the
            # first call, its queued endLoop ends the loop at once): wait for the driver.
            if not self._finished.wait(RENDER_TIMEOUT):
                raise ResourceMissing(
                    f"espeak-ng did not finish rendering within {RENDER_TIMEOUT:g} s; "
                    f"check the {ESPEAK_PACKAGES} installation"
                )
            self._synchronise()  # any later notification of this render has come in now
            if not self._cancelled:
                return
            log.debug("espeak-ng cancelled rendering %r (attempt %d)", text, attempt)
        raise ResourceMissing(
            f"espeak-ng stopped rendering before the end twice; check the {ESPEAK_PACKAGES} "
            "installation"
        )

    def synthesise(self, text: str, settings: SpeechSettings) -> np.ndarray:
        """Render ``text`` to float32 samples at :data:`SAMPLE_RATE`."""
        return self.run(self._synthesise, text, settings)

    def _synthesise(self, engine: Any, text: str, settings: SpeechSettings) -> np.ndarray:
        import soundfile
        import soxr

        self._count += 1
        path = Path(self._folder.name) / f"render-{self._count}.wav"
        self._errors.clear()
        if settings != self._applied:  # settling costs ~20 ms: only when they change
            self._synchronise()
            engine.setProperty("voice", settings.voice or self.default_voice)
            engine.setProperty("rate", settings.rate)
            engine.setProperty("volume", settings.volume)
            self._applied = settings  # _save settles espeak-ng again before rendering
        self._save(engine, text, path)
        if self._errors:
            raise ResourceMissing(f"espeak-ng failed: {self._errors[0]}")
        try:
            data, rate = soundfile.read(str(path), dtype="float32")
        except (soundfile.LibsndfileError, OSError) as exc:
            raise ResourceMissing(f"espeak-ng produced no audio ({exc})") from None
        finally:
            path.unlink(missing_ok=True)
        if rate != SAMPLE_RATE and len(data):
            data = soxr.resample(data, rate, SAMPLE_RATE, quality="HQ")
        return data

    def voices(self) -> list[VoiceInfo]:
        """The installed voices."""
        return self.run(_list_voices)


def _list_voices(engine: Any) -> list[VoiceInfo]:
    return [
        VoiceInfo(id=v.id, name=v.name, languages=tuple(v.languages or ()))
        for v in engine.getProperty("voices")
    ]


def list_voices() -> list[VoiceInfo]:
    """The espeak-ng voices installed; ResourceMissing when the engine is missing."""
    return _Engine.get().voices()


def resolve_voice(wanted: str) -> str:
    """The voice id for an id, short id (``en-us``) or name; UsageError when unknown."""
    key = wanted.strip().lower()
    voices = list_voices()
    for voice in voices:
        short = voice.id.rsplit("/", 1)[-1]
        if key in (voice.id.lower(), voice.name.lower(), short.lower()):
            return voice.id
    raise UsageError(f"unknown voice {wanted!r}; see `voice-coach say --list-voices`")


class Voice:
    """Text to speech samples with pyttsx3 / espeak-ng (16 kHz mono int16)."""

    def __init__(self, settings: SpeechSettings | None = None, cache_size: int = CACHE_SIZE):
        """Check the voice (a named voice starts the engine; otherwise the first render does)."""
        settings = settings or SpeechSettings()
        if settings.voice is not None:
            settings = replace(settings, voice=resolve_voice(settings.voice))
        self._settings = settings
        self._cache: OrderedDict[tuple[str, SpeechSettings], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def settings(self) -> SpeechSettings:
        """The settings sentences are rendered with."""
        return self._settings

    @settings.setter
    def settings(self, settings: SpeechSettings) -> None:
        if settings.voice is not None and settings.voice != self._settings.voice:
            settings = replace(settings, voice=resolve_voice(settings.voice))
        self._settings = settings

    def check(self) -> None:
        """Start the engine now; ResourceMissing naming the package when espeak-ng is missing."""
        _Engine.get()

    def render(self, text: str) -> np.ndarray:
        """The spoken ``text`` as 16 kHz mono int16 samples (read-only; cached).

        Raises InputError when there is nothing to say or too much at once.
        """
        if not text or not text.strip():
            raise InputError("nothing to say: the text is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"too much to say at once: at most {MAX_TEXT_CHARS} characters")
        key = (text.strip(), self._settings)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        samples = float_to_int16(_Engine.get().synthesise(key[0], key[1]))
        samples.setflags(write=False)
        with self._lock:
            self._cache[key] = samples
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return samples

    def is_cached(self, text: str) -> bool:
        """True when ``text`` is already rendered with the current settings."""
        with self._lock:
            return (text.strip(), self._settings) in self._cache

    def estimate_seconds(self, text: str) -> float:
        """Rough spoken duration of ``text`` from the rate, without rendering (for dry runs)."""
        words = len(text.split())
        if not words:
            return 0.0
        return words * 60.0 / self._settings.rate * ESTIMATE_WORD_FACTOR + ESTIMATE_END_PAUSE


def adjust(voice: Voice, direction: str) -> str:
    """Step ``voice`` louder/quieter/slower/faster; the sentence to say about it.

    At a bound the settings stay as they are and the sentence says so. Raises ValueError for
    an unknown direction.
    """
    from . import catalogue

    changed = voice.settings.adjusted(direction)
    if changed is not None:
        voice.settings = changed
    key = f"speech_out_{direction}" + ("" if changed is not None else "_limit")
    return catalogue.default().line(key)


# -- playback -------------------------------------------------------------------------------


@dataclass
class _Item:
    """One queued sound."""

    samples: np.ndarray
    text: str | None
    pos: int = 0
    fade_of_cut: bool = False
    """The fade-out of a sound cut by stop(): it still counts as that sound."""


@dataclass
class _PlayState:
    """What the audio callback shares with the callers (guarded by Speaker._lock)."""

    queue: deque[_Item] = field(default_factory=deque)
    error: ResourceMissing | None = None


def _fade_out(samples: np.ndarray) -> np.ndarray:
    """``samples`` ramped down to zero (float math, int16 result)."""
    ramp = np.linspace(1.0, 0.0, len(samples), endpoint=True)
    return (samples.astype(np.float32) * ramp).astype(np.int16)


def output_device_info(device: str | int | None) -> dict[str, Any]:
    """sounddevice's description of an output device; ResourceMissing with a hint if none."""
    sd = import_sounddevice()
    try:
        return dict(sd.query_devices(device, "output"))
    except (ValueError, sd.PortAudioError) as exc:
        names = [d["name"] for d in sd.query_devices() if d["max_output_channels"] > 0]
        if device is None or not names:
            raise ResourceMissing(f"no audio output device ({exc}); {NO_DEVICE_HINT}") from None
        raise ResourceMissing(
            f"output device {device!r} not found; available: {', '.join(names)}"
        ) from None


class Speaker:
    """Plays speech and sounds on an output device, in small blocks so it can be cut off.

    ``say`` and ``play`` queue after whatever is playing; call :meth:`stop` first to replace
    it. Device failures raise :class:`ResourceMissing` from the constructor, ``say``, ``play``
    and ``wait``; after a lost device the next ``say``/``play`` tries to reopen it.
    """

    def __init__(
        self, voice: Voice, device: str | int | None = None, announce_loss: bool = False
    ) -> None:
        """``announce_loss``: say on stderr the moment the device goes away (for the long
        runs, ``listen`` and ``routine``; otherwise the next call raises it)."""
        self.voice = voice
        self.device = device_arg(device)
        self.announce_loss = announce_loss
        self.current_text: str | None = None
        """The sentence being spoken, or the last one spoken (for echo checks); None before."""
        self.last_sample_at = 0.0
        """time.monotonic() when the last sound sample was handed to the device."""
        self.first_sample_at = 0.0
        """time.monotonic() when the current (or last) sound's first sample was handed over."""
        self.played_frames = 0
        """Frames of the current (or last) sound handed to the device so far (0 from a say()
        or play() on an idle speaker until its first block goes out)."""
        self._lock = threading.Lock()
        self._state = _PlayState()
        self._idle = threading.Event()
        self._idle.set()
        self._stream: Any = None
        self._closed = False
        voice.check()
        self._open()

    # -- the stream ----------------------------------------------------------------------

    def _open(self) -> None:
        sd = import_sounddevice()
        info = output_device_info(self.device)
        try:
            with portaudio_call():  # not between opening the stream and keeping it
                stream = self._start(sd, info)
                with self._lock:
                    self._state.error = None
                self._stream = stream
        except KeyboardInterrupt:  # held back while it opened: from __init__, no one closes it
            self._close_stream(abort=True)
            raise

    def _start(self, sd: Any, info: dict[str, Any]) -> Any:
        """Open and start the output stream; ResourceMissing when impossible."""
        try:
            stream = sd.OutputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="int16",
                device=self.device,
                blocksize=BLOCK_FRAMES,
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise ResourceMissing(
                f"cannot open output device {info.get('name', self.device)!r} at "
                f"{SAMPLE_RATE} Hz ({exc}); {NO_DEVICE_HINT}"
            ) from None
        return stream

    def _ensure_open(self) -> None:
        with self._lock:
            broken = self._state.error is not None
        if self._closed:
            raise ResourceMissing("the speaker is closed")
        if broken or self._stream is None or not self._stream.active:
            self._close_stream(abort=True)
            self._reopen()

    def _reopen(self) -> None:
        """Open the device again, trying for :data:`REOPEN_SECONDS` (a sound server that is
        restarting comes back within a few seconds)."""
        deadline = time.monotonic() + REOPEN_SECONDS
        while True:
            try:
                self._open()
                return
            except ResourceMissing:
                if time.monotonic() >= deadline:
                    raise
                log.debug("output device not back yet; trying again")
                time.sleep(REOPEN_PAUSE)

    def _close_stream(self, abort: bool) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            with portaudio_call():
                if abort:
                    stream.abort()
                else:
                    stream.stop()
                stream.close()
        except Exception as exc:  # the device may already be gone
            log.debug("closing the output stream: %s", exc)

    def _finished(self) -> None:
        """The stream ended: by close(), or because the device went away."""
        with self._lock:
            cut = bool(self._state.queue)
            lost = cut or self._stream is not None
            if lost:
                self._state.error = ResourceMissing(
                    f"the audio output device stopped ({self._device_name()}); {NO_DEVICE_HINT}"
                )
            self._state.queue.clear()
        if lost and self.announce_loss:  # now, not when the next sentence finds it gone
            print(
                f"voice-coach: the audio output device stopped ({self._device_name()})"
                + ("; what was being said was cut off" if cut else "")
                + f"; it will be reopened (for up to {REOPEN_SECONDS:g} s) before the next "
                "sentence",
                file=sys.stderr,
                flush=True,
            )
        self._idle.set()

    def _device_name(self) -> str:
        return "default" if self.device is None else str(self.device)

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        out = outdata[:, 0]
        now = time.monotonic()
        filled = 0
        with self._lock:
            state = self._state
            while filled < frames and state.queue:
                item = state.queue[0]
                if item.pos == 0 and not item.fade_of_cut:
                    self.first_sample_at = now
                    self.played_frames = 0
                    if item.text is not None:
                        self.current_text = item.text
                count = min(frames - filled, len(item.samples) - item.pos)
                out[filled : filled + count] = item.samples[item.pos : item.pos + count]
                item.pos += count
                self.played_frames += count
                filled += count
                if item.pos >= len(item.samples):
                    state.queue.popleft()
            out[filled:] = 0
            if filled:
                self.last_sample_at = now
            if not state.queue:
                self._idle.set()

    # -- the API ---------------------------------------------------------------------------

    def prepare(self, text: str) -> float:
        """Render and cache ``text``; its spoken duration (s)."""
        return len(self.voice.render(text)) / SAMPLE_RATE

    def say(self, text: str, max_seconds: float | None = None) -> None:
        """Queue ``text`` to be spoken (cut at ``max_seconds``); returns once it is queued.

        Rendering happens here (about 1 % of the spoken duration; prepared sentences are
        instant). Raises InputError for empty text, ResourceMissing for a lost device.
        """
        samples = self.voice.render(text)
        if max_seconds is not None:
            limit = max(0, int(max_seconds * SAMPLE_RATE))
            if limit < len(samples):
                fade = min(limit, int(CUT_FADE * SAMPLE_RATE))
                tail = _fade_out(samples[limit - fade : limit])
                samples = np.concatenate([samples[: limit - fade], tail])
        self._enqueue(_Item(samples=samples, text=text.strip()))

    def play(self, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
        """Queue raw mono audio (an earcon); resampled to 16 kHz if needed."""
        data = np.asarray(samples)
        if data.ndim != 1:
            raise InputError(f"play() takes mono samples, got an array of shape {data.shape}")
        if rate != SAMPLE_RATE:
            import soxr

            data = soxr.resample(data.astype(np.float32) / 32768.0, rate, SAMPLE_RATE)
            data = float_to_int16(data)
        elif data.dtype.kind == "f":
            data = float_to_int16(data)
        else:
            data = data.astype(np.int16)
        if len(data):
            self._enqueue(_Item(samples=data, text=None))

    def _enqueue(self, item: _Item) -> None:
        self._ensure_open()
        with self._lock:
            if not self._state.queue:
                self.played_frames = 0  # a new sound becomes the current one
            self._state.queue.append(item)
            self._idle.clear()

    def stop(self) -> None:
        """Cut off what is playing (within one 20 ms block) and drop what is queued.

        What is being played fades out over :data:`CUT_FADE`; a ``say`` or ``play`` called
        after ``stop`` is queued behind that fade and is played.
        """
        with self._lock:
            queue = self._state.queue
            head = queue[0] if queue else None
            queue.clear()
            if head is not None and head.pos > 0:
                count = min(int(CUT_FADE * SAMPLE_RATE), len(head.samples) - head.pos)
                if count > 0:
                    fade = _fade_out(head.samples[head.pos : head.pos + count])
                    queue.append(_Item(samples=fade, text=None, fade_of_cut=True))
            if not queue:
                self._idle.set()

    def is_speaking(self) -> bool:
        """True while sound is queued or being handed to the device."""
        return not self._idle.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until everything queued was handed to the device; True if so.

        Raises ResourceMissing when the device went away meanwhile.
        """
        done = self._idle.wait(timeout)
        with self._lock:
            error = self._state.error
        if error is not None:
            raise error
        return done

    @property
    def output_latency(self) -> float:
        """The device's output latency (s): how long a handed-over sample takes to be heard."""
        return float(self._stream.latency) if self._stream is not None else 0.0

    def close(self) -> None:
        """Let what was handed to the device play out, then release it."""
        with self._lock:
            self._state.queue.clear()
        self._closed = True
        self._close_stream(abort=False)
        self._idle.set()

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PrintSpeaker:
    """The Speaker API for ``--quiet``: prints each sentence on stdout instead of speaking."""

    def __init__(self, voice: Voice | None = None, stream: TextIO | None = None) -> None:
        self.voice = voice
        self._stream = stream
        self._gone = False
        """The output was closed by its reader: nothing more is printed."""
        self.current_text: str | None = None
        self.last_sample_at = 0.0
        self.first_sample_at = 0.0

    def prepare(self, text: str) -> float:
        """The estimated duration of ``text`` (s); nothing is rendered."""
        if self.voice is not None:
            return self.voice.estimate_seconds(text)
        return len(text.split()) * 60.0 / RATE_DEFAULT

    def say(self, text: str, max_seconds: float | None = None) -> None:
        """Print ``text`` (the whole sentence, whatever ``max_seconds``)."""
        if not text or not text.strip():
            raise InputError("nothing to say: the text is empty")
        self.current_text = text.strip()
        now = time.monotonic()
        self.first_sample_at = self.last_sample_at = now
        if self._gone:
            return
        try:
            print(self.current_text, file=self._stream or sys.stdout, flush=True)
        except BrokenPipeError:  # the reader has gone ("| head"): print nothing more
            self._gone = True

    def play(self, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
        """Earcons are not printed."""

    def stop(self) -> None:
        """Nothing plays, nothing to stop."""

    def is_speaking(self) -> bool:
        """Never speaking: printing is instant."""
        return False

    def wait(self, timeout: float | None = None) -> bool:
        """Always done."""
        return True

    def close(self) -> None:
        """Nothing to release."""


NullSpeaker = PrintSpeaker
"""Alias: the speaker of ``--quiet`` mode."""
