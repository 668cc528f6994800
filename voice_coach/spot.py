"""Spot barge-in commands (such as "stop") in the raw microphone audio while the coach speaks.

The recogniser hears a command said over the coach's voice badly: its voice-activity detector
and decoder take in the coach's words with it, and its results lag the audio by the
endpointer's window. A keyphrase search (PocketSphinx's keyword spotting, with the wheel's
en-us model) listens for nothing but the phrases the catalogue marks ``spot``, scores each
against the rest of what it hears, and reports one as soon as it is heard. The loop still
acts on a spotted phrase only when it was clearly louder than the coach's voice at the
microphone (``Session.spotted``).

Measured in ``tests/benchmarks/bench_loop_latency.py`` (barge-in trials).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ResourceMissing, not_installed
from .recognise_sphinx import (
    cached_dictionary,
    cached_path,
    dictionary_path,
    dictionary_words,
    write_atomic,
)

if TYPE_CHECKING:
    from .catalogue import Catalogue

log = logging.getLogger(__name__)

SPOT_THRESHOLD = 1e-5
"""Detection threshold of every phrase (PocketSphinx ``kws`` threshold): lower values catch
more commands and more other words; at 1e-10 real "off", "up" and "yes" were heard as "stop"
(*one-off* offline trial)."""


class CommandSpotter:
    """Keyword spotting of the catalogue's ``spot`` phrases in a stream of PCM chunks."""

    def __init__(self, catalogue: Catalogue, debug: bool = False) -> None:
        try:
            import pocketsphinx
        except ImportError:
            missing = not_installed("the pocketsphinx library", "pocketsphinx")
            raise ResourceMissing(missing) from None
        dictionary = dictionary_path(pocketsphinx).read_text(encoding="utf-8")
        self.phrases = spot_phrases(catalogue, dictionary_words(pocketsphinx, dictionary))
        """Phrase -> intent id, for the phrases spotted."""
        words = {w for phrase in self.phrases for w in phrase.split()}
        self._decoder = (
            pocketsphinx.Decoder(
                kws=str(cached_kws(list(self.phrases))),
                dict=str(cached_dictionary(dictionary, words, {}, catalogue.root / "intents")),
                loglevel="INFO" if debug else "FATAL",
            )
            if self.phrases
            else None
        )
        self._listening = False

    def hear(self, chunk: bytes) -> str | None:
        """Feed one chunk; the phrase spotted by the end of it, if any (then start afresh)."""
        if self._decoder is None or not chunk:
            return None
        if not self._listening:
            self._decoder.start_utt()
            self._listening = True
        self._decoder.process_raw(chunk)
        hyp = self._decoder.hyp()
        if hyp is None or not hyp.hypstr.strip():
            return None
        self.rest()
        return hyp.hypstr.strip()

    def rest(self) -> None:
        """Stop listening until the next :meth:`hear` (nothing heard so far is kept)."""
        if self._listening and self._decoder is not None:
            self._listening = False
            self._decoder.end_utt()


def spot_phrases(catalogue: Catalogue, known: set[str]) -> dict[str, str]:
    """The catalogue's ``spot`` phrases (lower case) -> their intent; a phrase with a word
    the pronunciation dictionary lacks cannot be spotted and is left out, with a warning."""
    phrases: dict[str, str] = {}
    for intent in catalogue.intents.values():
        for phrase in intent.spot:
            text = " ".join(phrase.lower().split())
            missing = [w for w in text.split() if w not in known]
            if missing:
                log.warning("cannot spot %r (%s not in the dictionary)", text, ", ".join(missing))
                continue
            phrases[text] = intent.id
    return phrases


def cached_kws(phrases: list[str]) -> Path:
    """A keyphrase file (one ``phrase /threshold/`` per line), kept in the user cache folder."""
    text = "".join(f"{phrase} /{SPOT_THRESHOLD:g}/\n" for phrase in sorted(phrases))
    path = cached_path("kws", text, ".txt")
    if not path.is_file():
        write_atomic(path, text)
    return path
