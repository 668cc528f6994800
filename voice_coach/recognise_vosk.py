"""Vosk engine (vosk 0.3.45): a free-form pass and a catalogue-grammar pass on the same audio.

- **Free pass**: the model's own language model; it also decides where an utterance ends
  (Kaldi's endpointer, configured in the model's ``conf/model.conf``).
- **Grammar pass** (models with a dynamic graph, ``graph/HCLr.fst`` + ``graph/Gr.fst``): a
  recogniser restricted to the catalogue's phrasings, keeping only words the model knows
  (``Model.vosk_model_find_word`` returns -1 for unknown words), plus ``[unk]``.
- **Choice**: the grammar text is used when it holds no ``[unk]`` and its mean word confidence
  is at least :data:`GRAMMAR_MIN_CONFIDENCE`; otherwise the free text, so paraphrases and
  off-topic speech reach the matcher as heard (and off-topic speech is rejected there).

Per-word confidences need ``SetWords(True)`` with ``SetMaxAlternatives(0)``: in 0.3.45 any
alternatives replace them with one unscaled total, so neither pass asks for alternatives.

**End-of-speech silence**: Vosk 0.3.45 has no runtime endpointer setting; pass
``trailing_silence`` to work on a shadow copy of the model (symlinks, in the user cache folder)
whose ``conf/model.conf`` has ``--endpoint.rule2/3/4.min-trailing-silence`` set to 1x, 2x and
4x that value. Shorter means faster answers but cuts off people who pause mid-sentence; the
model default is 0.5 s (rule 2).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .audio import SAMPLE_RATE, SAMPLE_WIDTH
from .errors import ResourceMissing, native_messages_silenced, not_installed
from .recognise import Transcript, grammar_phrases

if TYPE_CHECKING:
    from .catalogue import Catalogue

log = logging.getLogger(__name__)

NAME = "vosk"
REPLACE_MODEL = (
    "delete that folder, then run 'voice-coach models download' again, or give another "
    "model with --model"
)
"""What to do about a model folder Vosk cannot use (a download keeps a folder already there)."""
UNK = "[unk]"
GRAMMAR_MIN_CONFIDENCE = 0.6
"""Mean word confidence (0-1) the grammar pass needs for its text to be used."""
SILENCE_RULES = {"rule2": 1.0, "rule3": 2.0, "rule4": 4.0}
"""Endpoint rules rewritten by ``trailing_silence``, with their multiple of it."""


class VoskRecogniser:
    """Recogniser on a Vosk model folder, biased to the catalogue when the model allows it."""

    name = NAME

    def __init__(
        self,
        model_path: str | Path,
        catalogue: Catalogue | None = None,
        debug: bool = False,
        phrases: list[str] | None = None,
        trailing_silence: float | None = None,
    ) -> None:
        vosk = _import_vosk()
        vosk.SetLogLevel(0 if debug else -2)
        path = Path(model_path)
        if trailing_silence is not None:
            path = endpoint_copy(path, trailing_silence)
        try:
            with native_messages_silenced():
                self.model = vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception
            raise ResourceMissing(
                f"{model_path}: Vosk could not load this model ({exc}); {REPLACE_MODEL}"
            ) from None
        self._vosk = vosk
        wanted = phrases if phrases is not None else grammar_phrases(catalogue)
        self.grammar = self.known_phrases(wanted) if has_dynamic_graph(path) else []
        self._unk = [UNK] if self.model.vosk_model_find_word(UNK) != -1 else []
        self._fed = 0
        self._free: Any = None
        self._grammar: Any = None
        try:
            self.reset()
        except Exception as exc:  # a damaged graph loads, but gives no recogniser
            raise ResourceMissing(
                f"{model_path}: Vosk could not start recognising with this model ({exc}); "
                + REPLACE_MODEL
            ) from None

    def known_phrases(self, phrases: Iterable[str]) -> list[str]:
        """The phrases whose every word the model knows."""
        return [
            p
            for p in phrases
            if p.split() and all(self.model.vosk_model_find_word(w) != -1 for w in p.split())
        ]

    def known_share(self, words: Iterable[str]) -> float | None:
        """The share (0-1) of ``words`` the model knows; None when it has no word table."""
        words = list(words)
        if not words or self.model.vosk_model_find_word("<eps>") == -1:
            return None
        return sum(self.model.vosk_model_find_word(w) != -1 for w in words) / len(words)

    def reset(self) -> None:
        """Fresh recognisers (drops any half-heard utterance) and audio count."""
        self._free = self._recogniser(None)
        self._grammar = self._recogniser(self.grammar) if self.grammar else None
        self._fed = 0

    def transcribe(self, chunks: Iterable[bytes]) -> Transcript:
        """Decode a file: every utterance in it, joined."""
        self.reset()
        finals = [t for t in self.stream(chunks) if t.is_final]
        texts = [t.text for t in finals if t.text]
        scores = [t.confidence for t in finals if t.text and t.confidence is not None]
        confidence = sum(scores) / len(scores) if scores else None
        return Transcript(" ".join(texts), confidence, NAME, True, self._seconds())

    def stream(self, chunks: Iterable[bytes]) -> Iterator[Transcript]:
        """Partial results while speech goes on, one final at each end of speech."""
        last_partial = ""
        for chunk in chunks:
            if not chunk:
                continue
            self._fed += len(chunk)
            grammar_done = self._grammar.AcceptWaveform(chunk) if self._grammar else False
            if self._free.AcceptWaveform(chunk):
                free = json.loads(self._free.Result())
                yield self._choose(free, self._grammar_result(grammar_done))
                last_partial = ""
                continue
            partial = json.loads(self._free.PartialResult()).get("partial", "")
            if partial and partial != last_partial:
                last_partial = partial
                yield Transcript(partial, None, NAME, False, self._seconds())
        free = json.loads(self._free.FinalResult())
        grammar = json.loads(self._grammar.FinalResult()) if self._grammar else None
        if free.get("text") or (grammar and grammar.get("text")):
            yield self._choose(free, grammar)

    # -- internals ------------------------------------------------------------------------

    def _recogniser(self, grammar: list[str] | None) -> Any:
        if grammar is None:
            rec = self._vosk.KaldiRecognizer(self.model, SAMPLE_RATE)
        else:
            rec = self._vosk.KaldiRecognizer(
                self.model, SAMPLE_RATE, json.dumps([*grammar, *self._unk], ensure_ascii=False)
            )
        rec.SetMaxAlternatives(0)
        rec.SetWords(True)
        return rec

    def _grammar_result(self, done: bool) -> dict | None:
        """The grammar pass's result for the utterance the free pass just closed."""
        if self._grammar is None:
            return None
        result = json.loads(self._grammar.Result() if done else self._grammar.FinalResult())
        return result

    def _choose(self, free: dict, grammar: dict | None) -> Transcript:
        text, confidence = _text_and_confidence(free)
        if grammar is not None:
            g_text, g_conf = _text_and_confidence(grammar)
            usable = g_text and UNK not in g_text.split()
            if usable and g_conf is not None and g_conf >= GRAMMAR_MIN_CONFIDENCE:
                log.debug("grammar %r (%.2f) chosen over free %r", g_text, g_conf, text)
                text, confidence = g_text, g_conf
        text = " ".join(w for w in text.split() if w != UNK)
        return Transcript(text, confidence, NAME, True, self._seconds())

    def _seconds(self) -> float:
        return self._fed / (SAMPLE_RATE * SAMPLE_WIDTH)


def _text_and_confidence(result: dict) -> tuple[str, float | None]:
    """Text and mean word confidence of one Vosk result."""
    words = result.get("result") or []
    scores = [w["conf"] for w in words if "conf" in w]
    return result.get("text", "").strip(), (sum(scores) / len(scores) if scores else None)


def _import_vosk() -> Any:
    try:
        import vosk
    except ImportError:
        raise ResourceMissing(not_installed("the vosk library", "vosk")) from None
    return vosk


def has_dynamic_graph(path: Path) -> bool:
    """True when the model can take a runtime grammar (lookahead graph HCLr + Gr)."""
    graph = Path(path) / "graph"
    return (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()


def endpoint_copy(model: Path, trailing_silence: float) -> Path:
    """A shadow of ``model`` (symlinks) whose endpoint rules wait ``trailing_silence`` s."""
    from platformdirs import user_cache_dir

    model = Path(model).resolve()
    conf = (model / "conf" / "model.conf").read_text(encoding="utf-8")
    for rule, factor in SILENCE_RULES.items():
        option = f"--endpoint.{rule}.min-trailing-silence"
        line = f"{option}={trailing_silence * factor:g}"
        pattern = re.compile(rf"^{re.escape(option)}=.*$", re.MULTILINE)
        conf = pattern.sub(line, conf) if pattern.search(conf) else conf.rstrip() + f"\n{line}\n"
    key = hashlib.sha1(f"{model}\n{conf}".encode()).hexdigest()[:16]
    shadow = Path(user_cache_dir("voice-coach")) / "vosk-endpoint" / f"{model.name}-{key}"
    if not (shadow / "conf" / "model.conf").is_file():
        (shadow / "conf").mkdir(parents=True, exist_ok=True)
        for entry in model.iterdir():
            if entry.name != "conf" and not (shadow / entry.name).exists():
                (shadow / entry.name).symlink_to(entry)
        for entry in (model / "conf").iterdir():
            if entry.name != "model.conf" and not (shadow / "conf" / entry.name).exists():
                (shadow / "conf" / entry.name).symlink_to(entry)
        (shadow / "conf" / "model.conf").write_text(conf, encoding="utf-8")
    return shadow
