"""Speech to text: the recogniser interface, the catalogue grammar and engine selection.

Two engines implement :class:`Recogniser`: Vosk (:mod:`voice_coach.recognise_vosk`, the primary
engine when an English Vosk model is installed) and PocketSphinx
(:mod:`voice_coach.recognise_sphinx`, whose English model ships inside its wheel, so it always
works). Both are biased towards what the catalogue can answer and still let other speech through
as free text, so the matcher can reject it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ResourceMissing, UsageError

if TYPE_CHECKING:
    from .catalogue import Catalogue

ENGINES = ("auto", "vosk", "pocketsphinx")
"""Valid values of ``--engine``."""
MIN_ENGLISH_SHARE = 0.5
"""Share of the catalogue's words a Vosk model must know to count as English."""

NUMBER_SAMPLES = {
    "seconds": ("five", "ten", "fifteen", "twenty", "thirty", "sixty"),
    "minutes": ("two", "five", "ten", "fifteen", "twenty", "thirty"),
    "reps": ("two", "three", "four", "five", "ten"),
}
"""Number words put in place of ``{seconds}``/``{minutes}``/``{reps}`` in grammar phrases."""


@dataclass(frozen=True)
class Transcript:
    """What a recogniser heard in one utterance (or so far, for a partial result)."""

    text: str
    """Recognised words, lower case; empty when nothing was heard."""
    confidence: float | None
    """Engine confidence in [0, 1], or None when the engine gives none."""
    engine: str
    """Name of the engine that produced it (``vosk`` or ``pocketsphinx``)."""
    is_final: bool
    """False for a partial result while the person is still speaking."""
    audio_seconds: float
    """Audio fed to the recogniser since the stream (or file) began, in seconds."""


class Recogniser(Protocol):
    """A speech recogniser fed 16 kHz mono int16 PCM chunks."""

    name: str

    def transcribe(self, chunks: Iterable[bytes]) -> Transcript:
        """Decode one utterance (a file): feed all chunks, return the final text."""
        ...

    def stream(self, chunks: Iterable[bytes]) -> Iterator[Transcript]:
        """Decode a continuous stream: partial results, then one final per utterance."""
        ...

    def reset(self) -> None:
        """Forget any half-heard utterance (e.g. after the coach spoke)."""
        ...


def normalise_phrase(text: str) -> str:
    """Lower case, words and apostrophes only, single spaces (recogniser vocabulary form)."""
    text = text.lower().replace("’", "'").replace("-", " ")
    return " ".join(re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text))


def expand_numbers(phrase: str) -> list[str]:
    """The phrase with each number placeholder replaced by each of a few sample number words."""
    for name, words in NUMBER_SAMPLES.items():
        field = "{" + name + "}"
        if field in phrase:
            return [out for word in words for out in expand_numbers(phrase.replace(field, word))]
    return [phrase]


def grammar_phrases(catalogue: Catalogue | None = None) -> list[str]:
    """The catalogue's phrasings, keywords, red-flag examples and wake word, numbers
    expanded and spoken, normalised, deduplicated."""
    if catalogue is None:
        from . import catalogue as catalogue_module

        catalogue = catalogue_module.default()
    seen: dict[str, None] = {}
    language = catalogue.language
    extra = [e for rule in language["red_flags"] for e in rule["examples"]]
    extra.append(catalogue.wake_word)
    phrases = [p for i in catalogue.intents.values() for p in (*i.phrases, *i.keywords)]
    for phrase in phrases + extra:
        for expanded in expand_numbers(phrase):
            text = spoken_numbers(normalise_phrase(expanded), language["numbers"])
            if text:
                seen.setdefault(text)
    return list(seen)


def spoken_numbers(text: str, numbers: dict[str, Any]) -> str:
    """Digits in a phrase as they are said, from the ``[numbers]`` words of language.toml:
    "out of 10" is "out of ten"; a number of three or more digits, such as a phone number,
    is said digit by digit ("call 999" is "call nine nine nine")."""
    units = {value: word for word, value in numbers["units"].items()}
    tens = {value: word for word, value in numbers["tens"].items()}

    def say(match: re.Match[str]) -> str:
        digits = match.group()
        value = int(digits)
        if len(digits) >= 3 or value >= 100:
            return " ".join(units[int(d)] for d in digits)
        if value in units:
            return units[value]
        return tens[value - value % 10] + (f" {units[value % 10]}" if value % 10 else "")

    return re.sub(r"\d+", say, text)


def grammar_words(phrases: Iterable[str]) -> list[str]:
    """The distinct words of some phrases, in first-seen order."""
    return list(dict.fromkeys(word for phrase in phrases for word in phrase.split()))


def select_engine(
    engine: str = "auto",
    model: str | None = None,
    catalogue: Catalogue | None = None,
    debug: bool = False,
) -> Recogniser:
    """Build the recogniser asked for; ``auto`` picks Vosk when an English model is found.

    Says on stderr which engine it uses and why. Raises :class:`UsageError` for an unknown
    engine and :class:`ResourceMissing` when the engine or its model is not there.
    """
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; valid choices: {', '.join(ENGINES)}")
    if model is not None and not str(model).strip():
        raise UsageError("--model needs a Vosk model folder; it was given an empty path")
    if engine == "pocketsphinx":
        if model is not None:
            raise UsageError("--model is for the vosk engine; pocketsphinx uses its built-in model")
        return _sphinx(catalogue, "pocketsphinx (asked for)", debug)
    from . import models

    found = models.find_vosk_model(model)
    if found is None:
        if engine == "vosk":
            raise ResourceMissing(
                "no English Vosk model found; get one with 'voice-coach models download', "
                "or pass --model PATH, or use --engine pocketsphinx"
            )
        return _sphinx(
            catalogue,
            "pocketsphinx (no English Vosk model found; 'voice-coach models download' gets one)",
            debug,
        )
    path = models.validate_vosk_model(found)
    try:
        why = f"vosk ({'asked for; ' if engine == 'vosk' else ''}model {found})"
        return _vosk(path, catalogue, why, debug)
    except NotEnglish as exc:
        if engine == "vosk":
            raise ResourceMissing(
                f"{exc}; pass an English one (voice-coach models download) or use "
                "--engine pocketsphinx"
            ) from None
        print(f"voice-coach: {exc}; using pocketsphinx instead", file=sys.stderr)
        return _sphinx(catalogue, "pocketsphinx (the Vosk model is not English)", debug)
    except ResourceMissing as exc:
        if engine == "vosk" or model is not None or os.environ.get(models.ENV_MODEL, "").strip():
            raise  # a model asked for by name or path must load
        print(f"voice-coach: {exc}; using pocketsphinx instead", file=sys.stderr)
        return _sphinx(catalogue, "pocketsphinx (the Vosk engine could not be used)", debug)


class NotEnglish(ResourceMissing):
    """A Vosk model that knows too few of the catalogue's English words."""


def _sphinx(catalogue: Catalogue | None, why: str, debug: bool) -> Recogniser:
    from .recognise_sphinx import SphinxRecogniser

    recogniser = SphinxRecogniser(catalogue=catalogue, debug=debug)
    print(f"voice-coach: speech engine {why}", file=sys.stderr)
    return recogniser


def _vosk(path: Path, catalogue: Catalogue | None, why: str, debug: bool) -> Recogniser:
    from .recognise_vosk import VoskRecogniser

    recogniser = VoskRecogniser(path, catalogue=catalogue, debug=debug)
    share = recogniser.known_share(grammar_words(grammar_phrases(catalogue)))
    if share is not None and share < MIN_ENGLISH_SHARE:
        raise NotEnglish(
            f"the Vosk model {path} knows {share:.0%} of the coach's English words: "
            "it is not an English model"
        )
    print(f"voice-coach: speech engine {why}", file=sys.stderr)
    return recogniser
