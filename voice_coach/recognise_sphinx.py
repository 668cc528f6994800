"""PocketSphinx engine: the English model inside the ``pocketsphinx`` wheel, catalogue-biased.

Design (measured in ``tests/benchmarks/bench_speech_in.py``):

- **Main pass**: a trigram language model built at start-up with ``pocketsphinx.lm.ArpaBoLM``
  from the catalogue phrasings (repeated :data:`DOMAIN_WEIGHT` times) plus the
  :data:`COMMON_WORDS` most frequent English words of the wheel's general model, each as a
  one-word sentence. Questions phrased like the catalogue decode almost word for word, while
  other speech falls onto general words instead of being forced onto a catalogue phrase (as a
  pure JSGF grammar does), so the matcher can reject it.
- **Short-command pass**: a one-word clip such as "stop" is easily heard as a common word
  ("stock"); when the main pass hears at most :data:`SHORT_WORDS` words within
  :data:`SHORT_SECONDS` of speech, the same audio is decoded again with a catalogue-only model
  and that text is used.
- **Streaming**: PocketSphinx's ``Endpointer`` (WebRTC-style VAD) cuts the stream into
  utterances; partial hypotheses come every :data:`PARTIAL_EVERY` seconds of speech.

The built model is cached as an ARPA file in the user cache folder, keyed by its content.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .audio import SAMPLE_RATE, SAMPLE_WIDTH
from .errors import ResourceMissing
from .recognise import Transcript, grammar_phrases

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
PARTIAL_EVERY = 0.3
"""Seconds of speech between partial results in :meth:`SphinxRecogniser.stream`."""
FRAME_RATE = 100
"""PocketSphinx feature frames per second."""
FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}


class SphinxRecogniser:
    """Recogniser on PocketSphinx 5 with its embedded en-us model."""

    name = NAME

    def __init__(self, catalogue: Catalogue | None = None, debug: bool = False) -> None:
        try:
            import pocketsphinx
        except ImportError:
            raise ResourceMissing(
                "the pocketsphinx library is not installed; run 'pip install pocketsphinx'"
            ) from None
        self._ps = pocketsphinx
        level = "INFO" if debug else "FATAL"
        phrases = known_phrases(grammar_phrases(catalogue), dictionary_words(pocketsphinx))
        main_lm = cached_lm(corpus(phrases, common_words(pocketsphinx), DOMAIN_WEIGHT))
        short_lm = cached_lm(corpus(phrases, [], 1))
        self._main = pocketsphinx.Decoder(lm=str(main_lm), loglevel=level)
        self._short = pocketsphinx.Decoder(lm=str(short_lm), loglevel=level)
        self._fed = 0

    def transcribe(self, chunks: Iterable[bytes]) -> Transcript:
        """Decode all chunks as one utterance."""
        pcm = b"".join(chunks)
        self._fed = len(pcm)
        return self._final(pcm)

    def stream(self, chunks: Iterable[bytes]) -> Iterator[Transcript]:
        """Cut a continuous stream into utterances with the VAD; partials, then a final each."""
        endpointer = self._ps.Endpointer(sample_rate=SAMPLE_RATE)
        frame_bytes = endpointer.frame_bytes
        pending = b""
        speech: list[bytes] = []
        since_partial = 0
        for chunk in chunks:
            pending += chunk
            while len(pending) >= frame_bytes:
                frame, pending = pending[:frame_bytes], pending[frame_bytes:]
                self._fed += len(frame)
                voiced = endpointer.process(frame)
                if voiced is None:
                    continue
                if not speech:
                    self._main.start_utt()
                speech.append(voiced)
                self._main.process_raw(voiced)
                since_partial += len(voiced)
                if not endpointer.in_speech:
                    yield self._end(b"".join(speech))
                    speech, since_partial = [], 0
                elif since_partial >= PARTIAL_EVERY * SAMPLE_RATE * SAMPLE_WIDTH:
                    since_partial = 0
                    yield self._partial()
        tail = endpointer.end_stream(pending)
        self._fed += len(pending)
        if tail is not None or speech:
            if not speech:
                self._main.start_utt()
            if tail:
                speech.append(tail)
                self._main.process_raw(tail)
            yield self._end(b"".join(speech))

    def reset(self) -> None:
        """Start counting audio afresh; any half-decoded utterance is dropped."""
        for decoder in (self._main, self._short):
            try:
                decoder.end_utt()
            except RuntimeError:
                pass
        self._fed = 0

    # -- internals ------------------------------------------------------------------------

    def _seconds(self) -> float:
        return self._fed / (SAMPLE_RATE * SAMPLE_WIDTH)

    def _partial(self) -> Transcript:
        hyp = self._main.hyp()
        return Transcript(hyp.hypstr if hyp else "", None, NAME, False, self._seconds())

    def _final(self, pcm: bytes) -> Transcript:
        self._main.start_utt()
        self._main.process_raw(pcm, full_utt=True)
        return self._end(pcm)

    def _end(self, pcm: bytes) -> Transcript:
        """Close the main pass's utterance; re-decode short commands catalogue-only."""
        self._main.end_utt()
        text, words, span = _result(self._main)
        if 0 < len(words) <= SHORT_WORDS and span <= SHORT_SECONDS:
            self._short.start_utt()
            self._short.process_raw(pcm, full_utt=True)
            self._short.end_utt()
            short_text, _, _ = _result(self._short)
            if short_text:
                log.debug("short utterance %r re-decoded as %r", text, short_text)
                text = short_text
        return Transcript(text, None, NAME, True, self._seconds())


def _result(decoder: Any) -> tuple[str, list[str], float]:
    """The hypothesis text, its words and the seconds they span."""
    hyp = decoder.hyp()
    if hyp is None:
        return "", [], 0.0
    segs = [s for s in decoder.seg() if s.word not in FILLERS and not s.word.startswith("+")]
    if not segs:
        return "", [], 0.0
    span = (segs[-1].end_frame - segs[0].start_frame) / FRAME_RATE
    return hyp.hypstr.strip(), [s.word for s in segs], span


def dictionary_words(pocketsphinx: Any) -> set[str]:
    """Words of the wheel's pronunciation dictionary (alternates like ``word(2)`` folded)."""
    path = Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))
    with path.open(encoding="utf-8") as f:
        return {line.split(maxsplit=1)[0].split("(")[0] for line in f if line.strip()}


def known_phrases(phrases: list[str], known: set[str]) -> list[str]:
    """Phrases whose every word the dictionary can pronounce (the others are logged)."""
    kept = [p for p in phrases if all(w in known for w in p.split())]
    dropped = sorted({w for p in phrases for w in p.split()} - known)
    if dropped:
        log.debug("no pronunciation for %s; phrases using them left out", dropped)
    return kept


def common_words(pocketsphinx: Any, count: int = COMMON_WORDS) -> list[str]:
    """The ``count`` most probable single words of the wheel's general English model (cached)."""
    path = cache_folder() / f"common-{count}.txt"
    if path.is_file():
        return path.read_text(encoding="utf-8").split()
    model = pocketsphinx.NGramModel.readfile(pocketsphinx.get_model_path("en-us/en-us.lm.bin"))
    words = dictionary_words(pocketsphinx)
    scored = sorted(((model.prob([w]), w) for w in words if w.isalpha()), reverse=True)
    common = [w for _, w in scored[:count]]
    _write_atomic(path, "\n".join(common) + "\n")
    return common


def cache_folder() -> Path:
    """Where built language models are kept."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voice-coach")) / "pocketsphinx"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def corpus(phrases: list[str], common: list[str], weight: int) -> str:
    """Language-model training text: phrases ``weight`` times, then the common words."""
    return "\n".join(phrases * weight + common) + "\n"


def cached_lm(text: str) -> Path:
    """An ARPA trigram model of ``text``, built once and kept in the user cache folder."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    path = cache_folder() / f"lm-{digest}.arpa"
    if path.is_file():
        return path
    from pocketsphinx.lm import ArpaBoLM

    model = ArpaBoLM(text=text, case="lower", add_start=True)
    model.compute()
    buffer = io.StringIO()
    model.write(buffer)
    _write_atomic(path, buffer.getvalue())
    return path
