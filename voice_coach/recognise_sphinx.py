"""PocketSphinx engine: the English model inside the ``pocketsphinx`` wheel, catalogue-biased.

Design (measured in ``tests/benchmarks/bench_speech_in.py``):

- **Main pass**: a trigram language model built at start-up with ``pocketsphinx.lm.ArpaBoLM``
  from the catalogue phrasings (repeated :data:`DOMAIN_WEIGHT` times) plus the
  :data:`COMMON_WORDS` most frequent English words of the wheel's general model, each as a
  one-word sentence, and so is every word the red-flag rules listen for
  (:func:`red_flag_words`: "calf", "ankle", "tingling" are not common words). Questions
  phrased like the catalogue decode almost word for word, while other speech falls onto
  general words instead of being forced onto a catalogue phrase (as a pure JSGF grammar
  does), so the matcher can reject it.
- **Short-command pass**: a one-word clip such as "stop" is easily heard as a common word
  ("stock"); when the main pass hears at most :data:`SHORT_WORDS` words within
  :data:`SHORT_SECONDS` of speech, the same audio is decoded again with a catalogue-only model
  and that text is used.
- **Noise suppression**: audio goes through RNNoise (``pyrnnoise``, a small recurrent network
  trained on real noise; run at its native 48 kHz via ``soxr``) before the endpointer and the
  decoder, in :meth:`SphinxRecogniser.transcribe` and :meth:`SphinxRecogniser.stream` alike.
  Denoised audio is decoded only when RNNoise made it at least :data:`REMOVED_DB` quieter
  (measured over the utterance and the :data:`NOISE_WINDOW` seconds before it): on clean
  speech RNNoise costs a few points (it blurs short commands and Piper's consonants), while at
  10 dB SNR of real noise it adds 20 to 35 points. Speech far louder than the audio around it
  (:data:`QUIET_SNR_DB`) is decoded raw all the same: heard across a quiet room, its echoes
  are what RNNoise removes, and much of the speech with them. Without ``pyrnnoise`` it is
  skipped. A whole file decoded denoised also gets :data:`RAW_MIX` of its raw audio back
  (fewer denoising artefacts); streaming does not, as it cost rejection of out-of-scope
  speech.
- **Whole files**: :meth:`SphinxRecogniser.transcribe` decodes the file in one pass, then keeps
  only the words whose middle is within :data:`SPAN_PAD` of speech found by the same
  voice-activity detector the stream uses (on the audio the decoder hears: denoised in
  noise, raw in quiet, where RNNoise can wipe out soft speech); a file where it finds none
  is not decoded. A file fainter than :data:`GATE_FLOOR_DBFS` keeps every word. Whether a
  clip is a short command still goes by all the words heard. Noise alone was otherwise
  decoded into words, and 4 of 9 real noise recordings into an intent.
- **Streaming**: PocketSphinx's ``Endpointer`` (WebRTC-style VAD, on the denoised audio) cuts
  the stream into utterances, ending one after :data:`ENDPOINT_WINDOW` of silence; partial
  hypotheses come every :data:`PARTIAL_EVERY` seconds of speech. Whether the decoder hears
  the denoised or the raw audio is decided when the utterance starts, from the seconds
  before it, so the final result needs no second decode.

The built model is cached as an ARPA file in the user cache folder, keyed by its content.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import io
import logging
import os
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import catalogue as catalogue_module
from .audio import SAMPLE_RATE, SAMPLE_WIDTH, level_dbfs
from .errors import CatalogueError, ResourceMissing, not_installed
from .recognise import Transcript, grammar_phrases
from .understand import STEM_LETTERS

if TYPE_CHECKING:
    from .catalogue import Catalogue

log = logging.getLogger(__name__)

NAME = "pocketsphinx"
DOMAIN_WEIGHT = 5
"""Times each catalogue phrase is repeated in the language-model corpus."""
COMMON_WORDS = 5000
"""General English words added as one-word sentences, so off-topic speech has somewhere to go."""
SHORT_WORDS = 2
"""At most this many words heard counts as a short command (re-decoded catalogue-only)."""
SHORT_SECONDS = 1.5
"""At most this much speech (s) counts as a short command."""
SHORT_LEAD = 0.3
"""Seconds of audio before what the decoder heard of a streamed utterance that its
short-command re-decode also hears: the VAD often starts a word after its unvoiced first
sound (the "s" of "stop"). Decoded raw, the utterance already starts :data:`QUIET_PREROLL`
before the VAD's start, so the re-decode hears up to 0.45 s before it."""
PARTIAL_EVERY = 0.1
"""Seconds of speech between partial results in :meth:`SphinxRecogniser.stream`."""
REMOVED_DB = 1.0
"""Audio the denoiser made at least this much quieter (dB) is decoded denoised."""
RAW_MIX = 0.05
"""Share of the raw audio mixed back into denoised audio when a whole file is decoded."""
DENOISER_DELAY = 320
"""Samples by which RNNoise's output (through soxr, 48 kHz and back) lags its input."""
NOISE_WINDOW = 5.0
"""Seconds of audio before a streamed utterance that count when telling noisy from quiet."""
QUIET_SNR_DB = 25.0
"""Speech at least this much louder (dB) than the audio around it was heard in a quiet room:
it is decoded raw, however much the denoiser removes (RNNoise takes a room's echoes for noise
and wipes out much of far-away speech). Streaming compares an utterance's start with the
audio since the last utterance ended; a whole file, the speech the voice-activity detector
finds with the rest."""
QUIET_LEAD = 0.5
"""Seconds of audio besides the speech needed to judge the room by :data:`QUIET_SNR_DB`."""
QUIET_PREROLL = 0.15
"""Seconds before the start the voice-activity detector finds from which an utterance decoded
raw (heard in a quiet room) is decoded: the detector starts after a word's first, unvoiced
sound ("what" was heard as "should i do about my back"), and in a quiet room the audio
before holds only hiss. Denoised utterances start where it says: earlier heard no more."""
ENDPOINT_WINDOW = 0.2
"""Seconds of audio the endpointer judges speech on: an utterance ends once 90 % of this is
silence, after the VAD's own hang-over of about 0.2 s. PocketSphinx's default is 0.3; 0.2
answers 0.1 s sooner and split none of the 60 real recorded sentences of the benchmark."""
ENDPOINT_RATIO = 0.9
"""Share of :data:`ENDPOINT_WINDOW` that must be speech to start an utterance, or silence to
end it (PocketSphinx's default)."""
FRAME_RATE = 100
"""PocketSphinx feature frames per second."""
GATE_FLOOR_DBFS = -40.0
"""A whole file whose loudest raw sample is below this (dBFS) is decoded word for word: the
voice-activity detector misses speech that faint (a far microphone with no gain), which the
decoder still hears. (Measured before noise suppression, which leaves noise alone faint.)"""
SILENCE_DBFS = -80.0
"""A file whose loudest sample is at most this (dBFS, 3 of 32,768) holds silence, not faint
speech: it goes through the voice-activity detector like any other."""
SPAN_PAD = 0.3
"""Seconds around each stretch of speech the voice-activity detector found in a whole file
within which a decoded word's middle must fall for it to be kept: the detector starts a word
after its unvoiced first sound. Words further out were decoded from noise alone."""
FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}


class SphinxRecogniser:
    """Recogniser on PocketSphinx 5 with its embedded en-us model."""

    name = NAME

    def __init__(
        self, catalogue: Catalogue | None = None, debug: bool = False, denoise: bool | None = None
    ) -> None:
        """``denoise``: True needs ``pyrnnoise``, False never, None when it is installed."""
        try:
            import pocketsphinx
        except ImportError:
            missing = not_installed("the pocketsphinx library", "pocketsphinx")
            raise ResourceMissing(missing) from None
        self._ps = pocketsphinx
        cat = catalogue or catalogue_module.default()
        level = "INFO" if debug else "FATAL"
        try:
            self._main, self._short = self._decoders(cat, level)
        except (RuntimeError, UnicodeError, ValueError):  # a cache file damaged: build anew
            clear_cache()
            try:
                self._main, self._short = self._decoders(cat, level)
            except (RuntimeError, UnicodeError, ValueError) as exc:
                raise ResourceMissing(
                    f"PocketSphinx could not start ({exc}); install it again with 'bash .ci/setup'"
                ) from None
        self._fed = 0
        self._denoise = denoise_available() if denoise is None else denoise
        if self._denoise and not denoise_available():
            raise ResourceMissing(not_installed("pyrnnoise, for noise suppression,", "pyrnnoise"))

    def _decoders(self, cat: Catalogue, level: str) -> tuple[Any, Any]:
        """The main and the short-command decoders, from the cached language models and
        dictionary (built when missing)."""
        pocketsphinx = self._ps
        extra = cat.language.get("pronunciations", {})
        dictionary = dictionary_path(pocketsphinx).read_text(encoding="utf-8")
        known = dictionary_words(pocketsphinx, dictionary) | set(extra)
        phrases = known_phrases(grammar_phrases(cat), known)
        unknown = [w for w in cat.wake_word.split() if w not in known]
        if unknown:
            print(
                f"voice-coach: the wake word {cat.wake_word!r} cannot be heard: PocketSphinx "
                f"has no pronunciation for {', '.join(unknown)}; choose another --wake-word",
                file=sys.stderr,
            )
        common = common_words(pocketsphinx)
        common += sorted(set(red_flag_words(cat, known)) - set(common))
        main_lm = cached_lm(corpus(phrases, common, DOMAIN_WEIGHT))
        short_lm = cached_lm(corpus(phrases, [], 1))
        vocabulary = {w for p in phrases for w in p.split()}
        source = cat.root / "language.toml"

        def decoder(lm: Path, words: set[str]) -> Any:
            spoken = cached_dictionary(dictionary, words, extra, source)
            return pocketsphinx.Decoder(lm=str(lm), dict=str(spoken), loglevel=level)

        return decoder(main_lm, vocabulary | set(common)), decoder(short_lm, vocabulary)

    def _cleaner(self) -> Denoiser | None:
        return Denoiser() if self._denoise else None

    def transcribe(self, chunks: Iterable[bytes]) -> Transcript:
        """Decode all chunks as one utterance (denoised when the recording is noisy: the
        denoiser removes enough and the speech is less than :data:`QUIET_SNR_DB` louder than
        the rest), keeping only the words heard in or near speech (see :func:`speech_spans`).
        Nothing carries over from the audio decoded before (see :meth:`_fresh_front_end`)."""
        self._fresh_front_end()
        pcm = b"".join(chunks)
        self._fed = len(pcm)
        faint = SILENCE_DBFS < peak_dbfs(pcm) < GATE_FLOOR_DBFS
        spans = None
        cleaner = self._cleaner()
        if cleaner is not None:
            clean = cleaner.process(pcm) + cleaner.flush()
            if removed_db(pcm, clean) >= REMOVED_DB:
                mixed = with_raw(clean, pcm, RAW_MIX)
                spans = None if faint else speech_spans(self._ps, mixed)
                if spans is None or louder_within(pcm, spans) < QUIET_SNR_DB:
                    pcm = mixed
                else:
                    spans = None  # heard raw: found again on the raw audio
        # Too faint for the voice-activity detector: keep every word. It hears what the
        # decoder hears (in quiet, RNNoise can wipe out soft speech).
        if spans is None and not faint:
            spans = speech_spans(self._ps, pcm)
        if spans == []:
            log.debug("no speech detected in %.1f s of audio", self._seconds())
            return Transcript("", None, NAME, True, self._seconds())
        self._main.start_utt()
        self._main.process_raw(pcm, full_utt=True)
        return self._end(pcm, spans=spans)

    def stream(self, chunks: Iterable[bytes]) -> Iterator[Transcript]:
        """Cut a continuous stream into utterances with the VAD; partials, then a final each.

        With noise suppression on, the VAD always hears denoised audio. When an utterance
        starts, the audio so far (the :data:`NOISE_WINDOW` seconds before it and its first
        moments) decides what the decoder hears: denoised audio in noise, the raw audio when
        the denoiser removed less than :data:`REMOVED_DB` from it (see :func:`removed_db`) or
        when the utterance is :data:`QUIET_SNR_DB` louder than the audio since the last one
        (a loudness rule that holds with noise suppression off too). Audio decoded raw is
        heard from :data:`QUIET_PREROLL` before the utterance's start.
        Deciding then, not at the end, means the final result needs no second decode.
        """
        endpointer = self._ps.Endpointer(
            window=ENDPOINT_WINDOW, ratio=ENDPOINT_RATIO, sample_rate=SAMPLE_RATE
        )
        cleaner = self._cleaner()
        history, cleaned = _History(), _History()
        pending = b""
        speech: list[bytes] = []
        raw_at: int | None = None
        """Byte offset of the raw audio the decoder hears next (None: it hears denoised)."""
        quiet_from = 0
        """Byte offset where the last utterance ended: the room is judged on what follows."""
        lead = b""
        """The :data:`SHORT_LEAD` before the utterance, as the decoder hears it."""
        since_partial = 0
        heard_to = 0
        """Byte offset up to which the decoder has heard the stream."""
        for raw, clean in self._cleaned(chunks, cleaner):
            history.add(raw, keep=not speech)
            cleaned.add(clean, keep=not speech)
            pending += clean
            while len(pending) >= endpointer.frame_bytes:
                frame = pending[: endpointer.frame_bytes]
                pending = pending[endpointer.frame_bytes :]
                voiced = endpointer.process(frame)
                if voiced is None:
                    continue
                if not speech:
                    raw_at, lead = self._start(endpointer, history, cleaned, quiet_from)
                    heard_to = _offset(endpointer.speech_start)
                heard_to += len(voiced)
                if raw_at is not None:
                    voiced, raw_at = history.take(raw_at, heard_to - raw_at), heard_to
                speech.append(voiced)
                self._main.process_raw(voiced)
                since_partial += len(voiced)
                if not endpointer.in_speech:
                    yield self._end(b"".join(speech), lead)
                    speech, since_partial = [], 0
                    quiet_from = _offset(endpointer.speech_end)
                elif since_partial >= PARTIAL_EVERY * SAMPLE_RATE * SAMPLE_WIDTH:
                    since_partial = 0
                    yield self._partial()
        tail = endpointer.end_stream(pending or bytes(endpointer.frame_bytes))  # not empty
        if tail is not None or speech:
            if not speech:
                raw_at, lead = self._start(endpointer, history, cleaned, quiet_from)
                heard_to = _offset(endpointer.speech_start)
            if tail:
                if raw_at is not None:
                    tail = history.take(raw_at, heard_to + len(tail) - raw_at)
                speech.append(tail)
                self._main.process_raw(tail)
            yield self._end(b"".join(speech), lead)

    def reset(self) -> None:
        """Start counting audio afresh; any half-decoded utterance is dropped. The noise and
        level the front end learnt from earlier audio are kept: a new stream is most often
        the same room, and a fresh front end misheard more of a stream's first words."""
        for decoder in (self._main, self._short):
            try:
                decoder.end_utt()
            except RuntimeError:
                pass
        self._fed = 0

    def _fresh_front_end(self) -> None:
        """New feature extraction for both decoders. The old one's noise estimate and
        cepstral mean would carry over, so a file's transcript would depend on the files
        decoded before it."""
        for decoder in (self._main, self._short):
            decoder.reinit_feat()

    # -- internals ------------------------------------------------------------------------

    def _seconds(self) -> float:
        return self._fed / (SAMPLE_RATE * SAMPLE_WIDTH)

    def _partial(self) -> Transcript:
        hyp = self._main.hyp()
        return Transcript(hyp.hypstr if hyp else "", None, NAME, False, self._seconds())

    def _cleaned(
        self, chunks: Iterable[bytes], cleaner: Denoiser | None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Each chunk raw and denoised, counted as fed; the denoiser's rest at the end."""
        for chunk in chunks:
            self._fed += len(chunk)
            yield chunk, cleaner.process(chunk) if cleaner is not None else chunk
        if cleaner is not None:
            yield b"", cleaner.flush()

    def _start(
        self, endpointer: Any, history: _History, cleaned: _History, quiet_from: int
    ) -> tuple[int | None, bytes]:
        """Begin a streamed utterance: the byte offset of its raw audio when it is to be
        decoded raw (heard in quiet; None: as the endpointer hears it, denoised when noise
        suppression is on), and the :data:`SHORT_LEAD` before that.
        ``quiet_from``: where the last utterance ended (its speech is not the room's)."""
        self._main.start_utt()
        start = _offset(endpointer.speech_start)
        quiet = history.louder_since(start, quiet_from) >= QUIET_SNR_DB or (
            self._denoise and removed_db(history.recent(), cleaned.recent()) < REMOVED_DB
        )
        preroll = max(quiet_from, start - _offset(QUIET_PREROLL))
        raw_at = history.sounding_from(preroll, start) if quiet else None
        first = start if raw_at is None else raw_at
        size = min(first, _offset(SHORT_LEAD))
        return raw_at, (history if raw_at is not None else cleaned).take(first - size, size)

    def _end(
        self, pcm: bytes, lead: bytes = b"", spans: list[tuple[float, float]] | None = None
    ) -> Transcript:
        """Close the main pass's utterance; re-decode short commands catalogue-only (hearing
        ``lead``, the audio just before ``pcm``, too). With ``spans`` (seconds into ``pcm``),
        words outside them are dropped."""
        self._main.end_utt()
        _, heard, span = _result(self._main)
        text, words, _ = _result(self._main, spans)
        if words and len(heard) <= SHORT_WORDS and span <= SHORT_SECONDS:
            self._short.start_utt()
            self._short.process_raw(lead + pcm, full_utt=True)
            self._short.end_utt()
            short_text, _, _ = _result(self._short, spans)
            if short_text:
                log.debug("short utterance %r re-decoded as %r", text, short_text)
                text = short_text
        return Transcript(text, None, NAME, True, self._seconds())


class _History:
    """Audio of the current utterance and the :data:`NOISE_WINDOW` (to twice that) before it."""

    def __init__(self) -> None:
        self._audio = bytearray()
        self._dropped = 0
        """Bytes dropped from the front since the stream began."""

    def add(self, chunk: bytes, keep: bool) -> None:
        """Append audio; between utterances (``keep`` true) trim to the window."""
        self._audio += chunk
        limit = int(NOISE_WINDOW * SAMPLE_RATE) * SAMPLE_WIDTH
        if keep and len(self._audio) > 2 * limit:
            cut = len(self._audio) - limit
            del self._audio[:cut]
            self._dropped += cut

    def take(self, offset: int, size: int) -> bytes:
        """``size`` bytes from stream byte ``offset`` on, as far as they are kept."""
        first = max(0, offset - self._dropped)
        return bytes(self._audio[first : first + size])

    def sounding_from(self, offset: int, end: int) -> int:
        """The first stream byte offset from ``offset`` on, before ``end``, whose sample is not
        exactly zero (``end`` when none is): digital silence has no sound to hear."""
        part = np.frombuffer(self.take(offset, max(0, end - offset)), dtype=np.int16)
        sounding = np.flatnonzero(part)
        return offset + int(sounding[0] if sounding.size else part.size) * SAMPLE_WIDTH

    def recent(self) -> bytes:
        """All the audio kept: the noise window and the current utterance."""
        return bytes(self._audio)

    def louder_since(self, offset: int, after: int = 0) -> float:
        """How much louder (dB) the audio from stream byte ``offset`` on is than the audio
        kept between stream byte ``after`` and it; minus infinity with less than
        :data:`QUIET_LEAD` of that. Exact digital silence does not count as the room: the loop
        feeds it while the coach speaks (``loop.gated``), whatever the room's noise."""
        first, cut = max(0, after - self._dropped), max(0, offset - self._dropped)
        if cut >= len(self._audio):
            return float("-inf")
        before = np.frombuffer(bytes(self._audio[first:cut]), dtype=np.int16)
        before = before[before != 0]
        if before.size < QUIET_LEAD * SAMPLE_RATE:
            return float("-inf")
        return level_dbfs(bytes(self._audio[cut:])) - level_dbfs(before.tobytes())


def _offset(seconds: float) -> int:
    return int(seconds * SAMPLE_RATE) * SAMPLE_WIDTH


def with_raw(clean: bytes, raw: bytes, share: float) -> bytes:
    """Denoised audio with ``share`` of the raw audio mixed back in, lined up for the
    denoiser's :data:`DENOISER_DELAY` (an attenuation limit: fewer denoising artefacts)."""
    out = np.frombuffer(clean, dtype=np.int16).astype(np.float32)
    late = np.frombuffer(raw, dtype=np.int16).astype(np.float32)
    late = np.concatenate([np.zeros(DENOISER_DELAY, np.float32), late])[: len(out)]
    return np.clip(out + share * late, -32768, 32767).astype(np.int16).tobytes()


def removed_db(raw: bytes, clean: bytes) -> float:
    """How much quieter (dB) the denoiser made some audio: above :data:`REMOVED_DB`, noisy."""
    energy = [
        np.sum(np.frombuffer(b, dtype=np.int16).astype(np.float64) ** 2) for b in (raw, clean)
    ]
    return float(10 * np.log10((energy[0] + 1.0) / (energy[1] + 1.0)))


class Denoiser:
    """Streaming RNNoise noise suppression of 16 kHz int16 PCM (resampled to 48 kHz and back)."""

    def __init__(self) -> None:
        import soxr
        from pyrnnoise import rnnoise

        self._rnnoise = rnnoise
        self._state = rnnoise.create()
        self._up = soxr.ResampleStream(SAMPLE_RATE, rnnoise.SAMPLE_RATE, 1, dtype="int16")
        self._down = soxr.ResampleStream(rnnoise.SAMPLE_RATE, SAMPLE_RATE, 1, dtype="int16")
        self._pending = np.zeros(0, dtype=np.int16)

    def __del__(self) -> None:
        if getattr(self, "_state", None) is not None:
            self._rnnoise.destroy(self._state)
            self._state = None

    def process(self, pcm: bytes) -> bytes:
        """Denoised audio for ``pcm``; output lags input by a few milliseconds."""
        return self._run(self._up.resample_chunk(np.frombuffer(pcm, dtype=np.int16)), False)

    def flush(self) -> bytes:
        """The rest of the audio, at the end of a stream."""
        up = self._up.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        return self._run(up, True)

    def _run(self, up: np.ndarray, last: bool) -> bytes:
        data = np.concatenate([self._pending, up])
        size = self._rnnoise.FRAME_SIZE
        whole = len(data) if last else len(data) // size * size
        frames = [
            self._rnnoise.process_frame(self._state, data[i : i + size])[0]
            for i in range(0, whole, size)
        ]
        self._pending = data[whole:]
        out = np.concatenate(frames).reshape(-1) if frames else np.zeros(0, dtype=np.int16)
        return self._down.resample_chunk(out.astype(np.int16), last=last).tobytes()


def denoise_available() -> bool:
    """Whether the ``pyrnnoise`` noise suppressor is installed."""
    return importlib.util.find_spec("pyrnnoise") is not None


def _result(
    decoder: Any, spans: list[tuple[float, float]] | None = None
) -> tuple[str, list[str], float]:
    """The hypothesis text, its words and the seconds they span; with ``spans``, only the
    words whose middle falls within one of them."""
    hyp = decoder.hyp()
    if hyp is None:
        return "", [], 0.0
    every = [s for s in decoder.seg() if s.word not in FILLERS and not s.word.startswith("+")]
    segs = every if spans is None else [s for s in every if _overlaps(s, spans)]
    if not segs:
        return "", [], 0.0
    span = (segs[-1].end_frame - segs[0].start_frame) / FRAME_RATE
    text = hyp.hypstr.strip() if len(segs) == len(every) else " ".join(_base(s) for s in segs)
    return text, [s.word for s in segs], span


def _overlaps(seg: Any, spans: list[tuple[float, float]]) -> bool:
    """Whether the middle of a word falls within one of ``spans``."""
    middle = (seg.start_frame + seg.end_frame) / 2 / FRAME_RATE
    return any(first <= middle <= last for first, last in spans)


def _base(seg: Any) -> str:
    """A segment's word without its pronunciation variant ("can(2)" is "can")."""
    return seg.word.split("(")[0]


def louder_within(pcm: bytes, spans: list[tuple[float, float]]) -> float:
    """How much louder (dB) ``pcm`` is within ``spans`` (seconds) than outside them; minus
    infinity with less than :data:`QUIET_LEAD` outside them or no span. Unlike a stream's
    room, digital silence counts: a file silent around its speech was made clean."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    inside = np.zeros(samples.size, dtype=bool)
    for first, last in spans:
        inside[max(0, int(first * SAMPLE_RATE)) : max(0, int(last * SAMPLE_RATE))] = True
    if not inside.any() or np.count_nonzero(~inside) < QUIET_LEAD * SAMPLE_RATE:
        return float("-inf")
    return level_dbfs(samples[inside].tobytes()) - level_dbfs(samples[~inside].tobytes())


def peak_dbfs(pcm: bytes) -> float:
    """The loudest sample of some audio, in dB below full scale."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    peak = int(np.max(np.abs(samples.astype(np.int32)))) if samples.size else 0
    return float(20 * np.log10(max(peak, 1) / 32768))


def speech_spans(pocketsphinx: Any, pcm: bytes) -> list[tuple[float, float]]:
    """Where the voice-activity detector hears speech in ``pcm``: (start, end) in seconds,
    each widened by :data:`SPAN_PAD` on both sides. Empty for noise with no speech in it.

    The same decisions as PocketSphinx's ``Endpointer`` (its VAD, the same window and
    ratio), made here on a ``Vad``: pocketsphinx 5.1.1's Python ``Endpointer`` never frees
    what it allocates, about 14 KB per file (``tests/benchmarks/bench_memory_growth.py``).
    """
    vad = pocketsphinx.Vad(sample_rate=SAMPLE_RATE)
    size, length = vad.frame_bytes, vad.frame_length
    window = int(ENDPOINT_WINDOW / length + 0.5)
    start_frames = int(ENDPOINT_RATIO * window)
    end_frames = int((1.0 - ENDPOINT_RATIO) * window + 0.5)
    queue: deque[bool] = deque(maxlen=window)
    queue_start = 0.0  # seconds: when the oldest frame in the queue began
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for i in range(0, len(pcm) - size + 1, size):
        if len(queue) == window:
            queue_start += length
        queue.append(vad.is_speech(pcm[i : i + size]))
        voiced = sum(queue)
        if start is None and voiced > start_frames:
            start = queue_start
        elif start is not None and voiced < end_frames:
            queue.popleft()
            queue_start += length
            spans.append((start - SPAN_PAD, queue_start + SPAN_PAD))
            start = None
            continue
        if start is not None:  # in speech, the endpointer hands on its oldest frame
            queue.popleft()
            queue_start += length
    if start is not None:
        spans.append((start - SPAN_PAD, len(pcm) / (SAMPLE_RATE * SAMPLE_WIDTH) + SPAN_PAD))
    return spans


def dictionary_path(pocketsphinx: Any) -> Path:
    """The wheel's pronunciation dictionary."""
    return Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))


def dictionary_words(pocketsphinx: Any, text: str | None = None) -> set[str]:
    """Words of the wheel's pronunciation dictionary (alternates like ``word(2)`` folded);
    ``text``: the dictionary, when already read."""
    if text is None:
        text = dictionary_path(pocketsphinx).read_text(encoding="utf-8")
    return {_headword(line) for line in text.splitlines() if line.strip()}


def cached_dictionary(
    text: str, vocabulary: set[str], pronunciations: dict[str, str], source: Path
) -> Path:
    """A dictionary of the ``vocabulary`` words only: their lines of the dictionary ``text``
    and, for words it lacks, the catalogue's ``pronunciations`` (every one of which must use
    the model's phones). Kept in the cache folder.

    Given the whole dictionary (134,000 words), a decoder whose language model knows a few
    thousand starts up to 0.8 s slower and holds tens of MB more."""
    key = "\n".join([text, *sorted(vocabulary), *map(str, sorted(pronunciations.items()))])
    path = cached_path("dict", key, ".dict")
    if path.is_file():  # checked when it was written
        return path
    phones = {p for line in text.splitlines() for p in line.split()[1:]}
    for word, spelling in pronunciations.items():
        bad = sorted(set(spelling.split()) - phones)
        if bad:
            raise CatalogueError(
                f"{source}: pronunciation of '{word}' ({spelling!r}) uses phones the speech "
                f"model does not have ({', '.join(bad)}); write it in the ARPAbet of "
                "PocketSphinx's dictionary"
            )
    lines = [line for line in text.splitlines() if line.strip() and _headword(line) in vocabulary]
    known = {_headword(line) for line in lines}
    lines += [
        f"{w} {spelling}"
        for w, spelling in sorted(pronunciations.items())
        if w in vocabulary - known
    ]
    write_atomic(path, "".join(f"{line}\n" for line in lines))
    return path


def _headword(line: str) -> str:
    """The word a dictionary line spells, without its variant number ("can(2)" is "can")."""
    return line.split(maxsplit=1)[0].split("(")[0]


def known_phrases(phrases: list[str], known: set[str]) -> list[str]:
    """Phrases whose every word the dictionary can pronounce (the others are logged)."""
    kept = [p for p in phrases if all(w in known for w in p.split())]
    dropped = sorted({w for p in phrases for w in p.split()} - known)
    if dropped:
        log.debug("no pronunciation for %s; phrases using them left out", dropped)
    return kept


def red_flag_words(cat: Catalogue, known: set[str]) -> list[str]:
    """Every word of the red-flag rules and of the leg-pain places that the dictionary
    ``known`` can pronounce, sorted; a stem the rules match as a word's start ("tingl")
    stands for every known word it begins ("tingle", "tingling" ...)."""
    language = cat.language
    items = [i for rule in language["red_flags"] for g in rule["groups"] for i in g]
    items += language.get("leg_denial", {}).get("leg_pain_places", [])
    words = {w for item in items for w in item.split() if w in known}
    stems = tuple(i for i in items if i not in known and " " not in i and len(i) >= STEM_LETTERS)
    if stems:  # one pass over the dictionary: it holds 134,000 words
        words.update(k for k in known if k.startswith(stems) and k.isalpha())
    return sorted(words)


def common_words(pocketsphinx: Any, count: int = COMMON_WORDS) -> list[str]:
    """The ``count`` most probable single words of the wheel's general English model (cached)."""
    path = cache_folder() / f"common-{count}.txt"
    if path.is_file():
        return path.read_text(encoding="utf-8").split()
    model = pocketsphinx.NGramModel.readfile(pocketsphinx.get_model_path("en-us/en-us.lm.bin"))
    words = dictionary_words(pocketsphinx)
    scored = sorted(((model.prob([w]), w) for w in words if w.isalpha()), reverse=True)
    common = [w for _, w in scored[:count]]
    write_atomic(path, "\n".join(common) + "\n")
    return common


@cache
def cache_folder() -> Path:
    """Where built language models are kept: the user cache folder, or a temporary folder
    for this run (with a warning) when that cannot be written."""
    from platformdirs import user_cache_dir

    folder = Path(user_cache_dir("voice-coach")) / "pocketsphinx"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return folder
    except OSError as exc:
        fallback = Path(tempfile.mkdtemp(prefix="voice-coach-cache-"))
        atexit.register(shutil.rmtree, fallback, ignore_errors=True)
        print(
            f"voice-coach: cannot write the cache folder {folder} ({exc.strerror or exc}); "
            f"using {fallback} for this run. Set XDG_CACHE_HOME to a folder you may write "
            "to, to keep the built models between runs",
            file=sys.stderr,
        )
        return fallback


def write_atomic(path: Path, text: str) -> None:
    """Write a text file whole or not at all (readers never see half of it, and processes
    writing it at once each use their own temporary file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as tmp:
        tmp.write(text)
    Path(tmp.name).replace(path)


def clear_cache() -> None:
    """Remove the built language models, dictionaries and word lists (they are built anew)."""
    for pattern in ("lm-*.arpa", "dict-*.dict", "common-*.txt"):
        for path in cache_folder().glob(pattern):
            path.unlink(missing_ok=True)


def corpus(phrases: list[str], common: list[str], weight: int) -> str:
    """Language-model training text: phrases ``weight`` times, then the common words."""
    return "\n".join(phrases * weight + common) + "\n"


def cached_path(kind: str, key: str, suffix: str) -> Path:
    """Where a file built from ``key`` is kept in the cache folder (named by its content)."""
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
    return cache_folder() / f"{kind}-{digest}{suffix}"


def cached_lm(text: str) -> Path:
    """An ARPA trigram model of ``text``, built once and kept in the user cache folder."""
    path = cached_path("lm", text, ".arpa")
    if path.is_file():
        return path
    from pocketsphinx.lm import ArpaBoLM

    model = ArpaBoLM(text=text, case="lower", add_start=True)
    model.compute()
    buffer = io.StringIO()
    model.write(buffer)
    write_atomic(path, buffer.getvalue())
    return path
