"""Understand: text -> intent, score and slots. Pure, no audio imports.

Steps: :func:`normalise` the text (case, punctuation, contractions, number words,
fillers); apply the safety rule (red flags go to ``see_doctor`` whatever else was
said); score every intent's phrasings with rapidfuzz, helped by its keywords; reject
what scores too low or names a topic outside the seed; fill the intent's slots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import numpy
from rapidfuzz import fuzz, process

from . import catalogue as catalogue_mod
from .catalogue import Catalogue

ACKNOWLEDGEMENTS = ("yes", "no", "unsure")
"""Intents that only answer the coach: never split off as a request of their own."""
HALTS = frozenset({"stop", "pause"})
STARTS = frozenset({"resume", "restart", "start_routine"})
"""Requests that contradict each other: a sentence holding one of each is not cut in two."""
ACCEPT_SCORE = 78.0
"""Lowest phrase similarity (0-100) accepted without a keyword."""
KEYWORD_ACCEPT_SCORE = 40.0
"""Lowest phrase similarity (0-100) accepted when one of the intent's keywords was heard."""
KEYWORD_BONUS = 20.0
"""Points added for each keyword of the intent that was heard (at most two count)."""
MULTIWORD_WEIGHT = 1.25
"""A keyword of several words is more specific, so its bonus is scaled by this."""
UNKNOWN_PENALTY = 25.0
"""Points taken off every intent, scaled by the share of content words the catalogue never
uses: "loosen my childhood" is less about stretching than "loosen my back"."""
NUMBER = "#"
"""Token standing for any number when phrasings are compared."""
PAIN_INTENT = "pain_report"
FEAR_INTENT = "scared"
MORE_INTENT = "more"
URGENT_OVER_FEAR = frozenset({"emergency", "see_doctor", "pain_report", "symptom_check"}) | HALTS
"""What a frightened sentence may also say that is answered instead of the fear ("I'm
crying, stop")."""
STORY_WORDS = 12
"""Words from which an unmatched sentence is taken as a story ending in its question."""
STORY_BLOCKERS = (
    "emergency", "stop", "pause", "pain_report", "symptom_check", "scared", "see_doctor",
)  # fmt: skip
"""Intents whose keywords in a story mean it is not just a question (see
:meth:`Matcher._last_question`)."""
SAFETY_INTENT = "see_doctor"
RED_FLAG_LINE = "red_flag_answer"
"""Said for a red flag whose rule names no ``line`` of its own."""
EMERGENCY_INTENT = "emergency"
LEG_ASKED_ANYWAY = frozenset({"stretching", "medication"})
"""Answers kept with a pain in a leg named: the stretch is about the knee, and a medicine
question may hold a caution ("can I take ibuprofen for my leg pain, I take warfarin")."""
STEM_ENDINGS = frozenset({"", "s", "e", "es", "ed", "d", "ing", "y"})
"""Endings a word may add to a keyword's stem and still count as known to the catalogue."""
GOODBYE_INTENT = "goodbye"
"""Ends the conversation: never the meaning of a yes-or-no question ("is that okay?")."""
"""Someone who cannot get up: like a red flag, it stops a routine and is answered asleep."""


@dataclass(frozen=True)
class Understanding:
    """What a sentence means to the coach."""

    intent: str | None
    """Intent id, or None when the sentence is out of scope."""
    score: float
    """Score of the best candidate, 0-100 (also when rejected)."""
    slots: dict[str, Any] = field(default_factory=dict)
    """Slot values found (only those found appear)."""
    text: str = ""
    """The normalised text that was matched."""
    candidate: str | None = None
    """The best-scoring intent, even when rejected."""
    red_flag: str | None = None
    """Name of the red-flag rule that fired, if any."""
    also: tuple[Understanding, ...] = ()
    """Further requests made in the same sentence, in order ("stop, and set a timer for
    15 minutes": this is ``stop``, ``also`` holds ``timer_set``)."""
    story: str = ""
    """The whole normalised sentence when this is only its closing question (a long story
    that matched nothing as a whole); empty otherwise."""


TASK_WORDS = 8
"""Longest reminder task kept, words ("take the ice off"); a longer one is left out."""
_NOT_A_TASK = r"(?!\d|what\b|which\b|how\b|when\b|where\b|why\b|go off\b|ring\b|remind\b)"
_WHEN = r"(?:\s+(?:in|for|after|every)\s+\d+\s+\w+)?"
TASK_PATTERNS = (
    re.compile(rf"\b(?:remind|tell)\s+me{_WHEN}\s+to\s+{_NOT_A_TASK}(.+)$"),
    re.compile(rf"\b(?:timer|reminder){_WHEN}\s+to\s+{_NOT_A_TASK}(.+)$"),
)
"""Where a reminder's task starts: "remind me (in 10 minutes) to ...", "a timer (for 10
minutes) to ..."; not "a timer to go off in 10 minutes" or "remind me in 10 minutes what to
do"."""
PHONE_DIGITS = 3
"""Digits of the phone numbers the catalogue names (999, 111, 911, 112), said one by one."""
STEM_LETTERS = 4
"""A single word this long or longer matches as a word prefix (a stem, "tingl"); a shorter
one only as itself, so "no" never matches "not" or "now"."""


_HALVES = re.compile(r"\b(\d+) and a half (minute|hour)s?\b")
"""A whole number and a half of a unit, numbers already in digits ("2 and a half minutes")."""


def _half_more(match: re.Match[str]) -> str:
    """ "2 and a half minutes" -> "150 seconds"; "2 and a half hours" -> "150 minutes"."""
    smaller = "seconds" if match.group(2) == "minute" else "minutes"
    return f"{int(match.group(1)) * 60 + 30} {smaller}"


def struck(text: str, ignore: list[re.Pattern[str]]) -> str:
    """``text`` with every phrase of ``ignore`` struck out ("no fever", "I'm not diabetic")."""
    for pattern in ignore:
        text = pattern.sub(" ", text)
    return text


def opening(phrases: list[str]) -> re.Pattern[str]:
    """A pattern for a text that starts with one of ``phrases`` (the longest first)."""
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"^(?:" + "|".join(map(re.escape, ordered)) + r")\b" if ordered else r"(?!)")


LEG_QUESTIONS = ("pain_report", "symptom_check")
"""Intents whose answer asks whether the pain (or the feeling) is in a leg."""
CHILD_SUFFIX = "_child"
"""Ends the key of a leg question's line for a child or a teenager (sends to a doctor)."""
PET_SUFFIX = "_pet"
"""Ends the key of a leg question's line for a pet (sends to a vet)."""
PET_OWNERS = ("my", "our", "the")
"""Words before a pet's name at the start of a sentence about it ("my dog has a bad back")."""
GOODBYE_SCORE = 90.0
"""A goodbye with none of its keywords ("ok that's it") needs at least this score."""
BETTER_INTENTS = (None, "how_long", "pain_report")
"""Intents that a remark that the back is better is mistaken for ("my back feels better" is
near "when will my back feel better", "the pain has eased" names the pain)."""
BETTER_WORDS = 10
"""A remark that the back is better is at most this many words."""
UNITS = (
    r"(?:weeks?|days?|months?|hours?|minutes?|mins?|seconds?|secs?|foot|feet|ft|inch|inches"
    r"|stone|st|kilos?|kgs?|pounds?|lbs?|miles?|cm|metres?|meters?)"
)
"""Units a number may be followed by ("16 weeks", "9 and a half stone")."""
NOT_AN_AGE = (
    r"(?!')(?! (?:\d+|and \d+|(?:and a half )?" + UNITS + r"|point|out|of|on a scale|on the scale"
    r"|into|post|times?|sessions?|rounds?|reps?|sets?|goes|stretches|holds?|knees?|percent|per"
    r"|years?(?! old| of age)|yrs?(?! old))\b)"
)
"""After a number: it is not an age but a count, a size or a score ("i am 16 weeks pregnant",
"i am 5 ft 10", "i am 5'10", "i am 13 stone", "i am 7 out of 10", "i am 2 years into this")."""
CHILD_WORDS = (
    r"(?:son|daughter|child|kid|boy|girl|grandson|granddaughter|grandchild|teen|teenager"
    r"|brother|sister|nephew|niece|cousin)"
)
"""Who a number right after is the age of ("my son, 10, has a bad back")."""
SAID_OF = rf"(?:he is|she is|they are|who is|{CHILD_WORDS}(?: is| who is| aged)?)"
"""What comes before a number that is the age of the person spoken of ("my son is 8")."""
AGES = re.compile(
    r"\b(?:(?:a|an|my|our|his|her) (\d+) (?:years?|yrs?) old"
    rf"|(?:aged|i am|{SAID_OF}) (\d+)" + NOT_AN_AGE + r")\b"
)
"""An age said in a normalised text ("a 12 year old", "my 10 year old", "i am 17", "aged 9",
"he is 12", "my son is 8"; not "since i was 12 years old"): its years."""
PERSON_AGES = re.compile(
    r"(?:^(?:my|our) (\d+) ?(?:years? old|yrs? old|yo)\b"
    rf"|\b{SAID_OF} (\d+)" + NOT_AN_AGE + r"\b)"
)
"""The age of the person a sentence speaks of, by the sentence's start or a pronoun ("my 10
year old has ...", "my son is 8", "she is 14"; not "... our 3 year old keeps her up")."""
ANY_AGE = re.compile(r"\b(?:is|are|aged) (\d+)" + NOT_AN_AGE + r"\b")
"""A number said of someone else that may be their age ("my husband is 50"; not the
speaker's own, "i am 40, can my son take ibuprofen?")."""
OWN_AGE = re.compile(
    r"\bi am (?:only |just |a |an )?(\d+)(?: years? old| yrs? old)?" + NOT_AN_AGE + r"\b"
)
"""The speaker's own age ("i am 15 and my back hurts", "i am only 16")."""
AGED_OPENING = re.compile(r"^(?:my|our) \d+ ?(?:years? old|yrs? old|yo)\b")
"""A text that starts by naming someone by their age ("my 10 year old has a bad back")."""
PRONOUNS = frozenset({"he", "she", "his", "her", "they", "their"})
"""Words that open a sentence about someone named before ("he has a bad back")."""
FOR_SOMEONE = re.compile(
    r"\b(?:guide|help|show|take|talk|walk) (?:him|her|them)\b"
    r"|\b(?:can|could|should|would|will|may) (?:he|she|they)\b|\b(?:for|with) (?:him|her|them)\b"
)
"""A stretch asked for someone named before ("guide him", "can she do it", "for him")."""
CHILD_ASKED = re.compile(
    r"\b(?:can|could|should|would|will|may|for|with) (?:my|our|a|an) (?:\d+ ?(?:years? old|yo)"
    r"|child|kid|kids|children|teenager|teen|toddler|little boy|little girl)\b"
)
"""Something asked for a child named in it ("can my 12 year old do it?")."""


def _years(pattern: re.Pattern[str], text: str) -> list[int]:
    """Every age ``pattern`` finds in the normalised text."""
    return [int(next(g for g in m.groups() if g)) for m in pattern.finditer(text)]


def _age_under(text: str, limit: int | None) -> bool:
    """Whether the normalised text says an age of fewer than ``limit`` years."""
    return limit is not None and any(age < limit for age in _years(AGES, text))


def _age_over(text: str, limit: int | None) -> bool:
    """Whether the normalised text says an age of ``limit`` years or more ("my husband is
    50") and none under it."""
    if limit is None or _age_under(text, limit):
        return False
    return any(age >= limit for age in _years(ANY_AGE, text))


def _after(rest: str) -> str:
    """The rest of a sentence after a clause, without the word that joins them."""
    rest = rest.strip()
    return rest.removeprefix("and ").removeprefix("but ").removeprefix("so ")


def remark(text: str, phrases: list[str], only: list[str], most: int) -> bool:
    """Whether the normalised text is a short remark: at most ``most`` words, naming one of
    ``phrases`` (whole words), every other word one of ``only`` ("oh that feels good";
    not "great, now it's burning", which may be pain)."""
    words = text.split()
    if not words or len(words) > most:
        return False
    padded = f" {text} "
    named = [phrase for phrase in phrases if f" {phrase} " in padded]
    allowed = set(only).union(*(phrase.split() for phrase in named))
    return bool(named) and set(words) <= allowed


def word_pattern(item: str) -> re.Pattern[str]:
    """A phrase or a short word matches whole words; a longer single word as a stem."""
    if " " in item or len(item) < STEM_LETTERS:
        return re.compile(rf"\b{re.escape(item)}\b")
    return re.compile(rf"\b{re.escape(item)}")


class Matcher:
    """Scores normalised text against a catalogue; build once, call many times."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        lang = cat.language
        self._contractions: dict[str, str] = lang["contractions"]
        self._suffixes: dict[str, str] = lang.get("contraction_suffixes", {})
        self._units: dict[str, int] = lang["numbers"]["units"]
        self._tens: dict[str, int] = lang["numbers"]["tens"]
        self._hundred: str = lang["numbers"].get("hundred", "hundred")
        self._keep_words = set(lang["numbers"].get("keep_words", []))
        self._fillers = set(lang["fillers"]["words"])
        self._filler_phrases = [word_pattern(p) for p in lang["fillers"].get("phrases", [])]
        durations = sorted(lang.get("durations", {}).items(), key=lambda item: -len(item[0]))
        self._durations = [(word_pattern(spoken), written) for spoken, written in durations]
        """Spoken durations ("half an hour") and how they are written, longest first."""
        self._slot_words: dict[str, Any] = lang["slots"]
        self._red_flags = [
            (
                rule["name"],
                [[word_pattern(i) for i in group] for group in rule["groups"]],
                [word_pattern(i) for i in sorted(rule.get("ignore", []), key=len, reverse=True)],
            )  # the longest ignored phrase first: "sit ups and my stomach" before "sit ups"
            for rule in lang["red_flags"]
        ]
        self._red_flag_lines = {
            rule["name"]: rule.get("line", RED_FLAG_LINE) for rule in lang["red_flags"]
        }
        self._off_topic = [re.compile(rf"\b{re.escape(w)}\b") for w in lang["off_topic"]["words"]]
        self._back_words = [word_pattern(w) for w in lang["off_topic"]["back_words"]]
        others = lang.get("others", {})
        self._others = opening(others.get("openings", []))
        self._own = [word_pattern(w) for w in others.get("own", [])]
        self._children = [word_pattern(w) for w in others.get("children", [])]
        self._child_age: int | None = others.get("under_age")
        self._own_children = [word_pattern(w) for w in others.get("own_children", [])]
        pain_now = lang.get("pain_now", {})
        self._pain_now_words = [word_pattern(w) for w in pain_now.get("words", [])]
        self._pain_now_ignore = [word_pattern(w) for w in pain_now.get("ignore", [])]
        self._pain_now_over = frozenset(pain_now.get("instead_of", []))
        self._also_means = {
            self.normalise(sentence): intent
            for intent, sentences in lang.get("also_means", {}).items()
            for sentence in sentences
        }
        self._places = [word_pattern(w) for w in lang["off_topic"]["places"]]
        self._back_places = [word_pattern(w) for w in lang["off_topic"]["back_places"]]
        pets = lang.get("pets", {}).get("words", [])
        self._pets = [word_pattern(w) for w in pets]
        self._pet_opening = opening([f"{whose} {pet}" for whose in PET_OWNERS for pet in pets])
        memory = lang.get("caution_memory", {})
        self._memory: list[str] = memory.get("intents", [])
        self._not_alone = [word_pattern(w) for w in memory.get("not_alone", [])]
        self._cautions = {
            intent: [word_pattern(w) for w in words]
            for intent, words in lang.get("cautions", {}).items()
        }
        self._risks = [
            (risk, [word_pattern(w) for w in risk["words"]], [word_pattern(w) for w in ignore])
            for risk in lang.get("risks", [])
            for ignore in [risk.get("ignore", [])]
        ]
        self._follow_ups = {
            intent: [word_pattern(w) for w in words]
            for intent, words in lang.get("follow_ups", {}).items()
        }
        self._unit_words = {
            w for key in ("seconds", "minutes", "hours", "reps") for w in self._slot_words[key]
        }
        time_units = sorted(
            (w for key in ("seconds", "minutes", "hours") for w in self._slot_words[key]),
            key=len,
            reverse=True,
        )
        amount = rf"\d+\s+(?:{'|'.join(map(re.escape, time_units))})"
        self._amount = re.compile(amount)
        """An amount of time, normalised ("15 minutes")."""
        repeats = self.cat.language["timer_choice"].get("repeats", [])
        self._repeats = re.compile(
            rf"\bevery\s+{amount}\b" + "".join(rf"|\b{re.escape(r)}\b" for r in repeats)
        )
        """A timer asked to repeat: "every 4 hours", or one of ``[timer_choice] repeats``."""
        self._task_end = re.compile(rf"\s+(?:in|after|for|every)\s+{amount}$")
        """The time a reminder's task is followed by ("... in 10 minutes")."""
        swaps: dict[str, str] = self._slot_words.get("task_pronouns", {})
        self._task_swaps = swaps
        words = "|".join(re.escape(w) for w in sorted(swaps, key=len, reverse=True))
        self._task_words = re.compile(rf"\b(?:{words})\b") if swaps else None
        """Words of a reminder's task said back otherwise ("my" -> "your")."""
        self.stopwords = frozenset(lang["stopwords"]["words"])
        self._choices: list[str] = []
        self._owners: list[str] = []
        self._contents: list[str] = []
        for intent in cat.intents.values():
            for phrase in intent.phrases:
                self._choices.append(self._for_matching(self.normalise(phrase)))
                self._contents.append(self._content(self._choices[-1]))
                self._owners.append(intent.id)
        self._vocabulary = (
            frozenset(word for text in self._choices for word in text.split())
            | frozenset(
                w
                for i in cat.intents.values()
                for k in i.keywords
                for w in self.normalise(k).split()
            )
            | frozenset(
                w
                for words in lang.get("cautions", {}).values()
                for phrase in words
                for w in self.normalise(phrase).split()
            )
            | frozenset(
                w
                for risk in lang.get("risks", [])
                for phrase in risk["words"]
                for w in self.normalise(phrase).split()
            )
        )
        self._stems = tuple(
            sorted(
                {
                    k
                    for i in cat.intents.values()
                    for k in map(self.normalise, i.keywords)
                    if " " not in k and len(k) >= STEM_LETTERS
                }
            )
        )
        """Single-word keywords, which also match the words they begin ("tingl": "tingle")."""
        self._keywords = {
            i.id: [
                (word_pattern(k), 1.0 if " " not in k else MULTIWORD_WEIGHT)
                for k in map(self.normalise, i.keywords)
            ]
            for i in cat.intents.values()
        }
        self._keyword_ignore = {
            intent: [word_pattern(n) for w in words if (n := self.normalise(w))]
            for intent, words in lang.get("keyword_ignore", {}).items()
        }
        """Per intent, phrases struck out before its keywords are looked for ("not dizzy")."""
        more = cat.intents.get(MORE_INTENT)
        asking = {w for p in (more.phrases if more else ()) for w in self.normalise(p).split()}
        self._topics = {
            i.id: [word_pattern(k) for k in map(self.normalise, i.keywords) if k not in asking]
            for i in cat.intents.values()
            if i.kind == "knowledge"
        }
        """Knowledge intents' keywords other than the words of a request for more ("why")."""
        joins = sorted(lang["requests"]["joins"], key=len, reverse=True)
        self._joins = re.compile(r"\b(?:" + "|".join(map(re.escape, joins)) + r")\b")
        self._leg_pain_groups = [
            [word_pattern(w) for w in lang["leg_denial"][key]]
            for key in ("leg_pain_places", "leg_pain_words")
        ]
        self._caution_words = [p for words in self._cautions.values() for p in words]
        goodbye = cat.intents.get(GOODBYE_INTENT)
        byes = [k for k in map(self.normalise, goodbye.keywords if goodbye else ()) if " " not in k]
        self._bye = re.compile(rf"\b(?:{'|'.join(map(re.escape, byes))})\b" if byes else r"(?!)")
        """A goodbye's own words ("bye"): "is that it, bye" is a goodbye after all."""
        self._question = opening(lang.get("routine_talk", {}).get("questions", []))
        self._better = lang.get("better", {})
        self._seen_doctor = [word_pattern(w) for w in lang["requests"].get("seen_doctor", [])]
        self._asked_how = opening(lang["requests"].get("asked_how", []))
        self._asked_yes_no = opening(lang["requests"].get("yes_no", []))
        courtesy = sorted(lang["requests"]["courtesy"], key=len, reverse=True)
        thanks = "|".join(map(re.escape, courtesy))
        self._courtesy = re.compile(rf"^(?:{thanks})\b(?!\s+for\b)\s*|\s*\b(?:{thanks})$")
        self._routines = {
            path.stem.replace("-", " "): path.stem
            for path in sorted((cat.root / "routines").glob("*.toml"))
        }

    # -- normalisation -------------------------------------------------------------
    def normalise(self, text: str) -> str:
        """Lower-case, expand contractions, drop punctuation and fillers, numbers to digits."""
        text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
        text = re.sub(r"\{(\w+)\}", r" {\1} ", text)
        tokens = []
        for token in re.findall(r"[a-z0-9'.{}]+", text.replace("-", " ")):
            token = token.strip(".'")
            token = self._contractions.get(token, token)
            for suffix, expansion in self._suffixes.items():
                if token.endswith(suffix) and len(token) > len(suffix):
                    token = token[: -len(suffix)] + expansion
                    break
            tokens.extend(token.replace(".", " ").split())
        text = " ".join(tokens)
        for pattern, written in self._durations:
            text = pattern.sub(written, text)
        for pattern in self._filler_phrases:
            text = pattern.sub(" ", text)
        words = [w for w in text.split() if w not in self._fillers]
        return _HALVES.sub(_half_more, " ".join(self._numbers_to_digits(words)))

    def _numbers_to_digits(self, words: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(words):
            digits = self._phone_number(words, i)
            if digits:
                out.append(digits)
                i += len(digits)
                continue
            value, used = self._read_number(words, i)
            if used:
                out.append(str(value))
                i += used
            else:
                out.append(words[i])
                i += 1
        return out

    def _phone_number(self, words: list[str], i: int) -> str:
        """The digits of a number said digit by digit from ``words[i]`` ("nine nine nine" is
        "999"; "one one one" too, though "one" alone is a word), or "" when there is none.
        Exactly :data:`PHONE_DIGITS` digits: a countdown runs on longer."""
        if i > 0 and self._units.get(words[i - 1], 10) < 10:
            return ""
        run = words[i : i + PHONE_DIGITS + 1]
        digits = [self._units.get(w, 10) for w in run]
        if len(run) >= PHONE_DIGITS and all(d < 10 for d in digits[:PHONE_DIGITS]):
            if len(run) == PHONE_DIGITS or digits[PHONE_DIGITS] >= 10:
                return "".join(str(d) for d in digits[:PHONE_DIGITS])
        return ""

    def _read_number(self, words: list[str], i: int) -> tuple[int, int]:
        """Parse a number written in words starting at ``words[i]``; (value, words used)."""
        word = words[i]
        if word.isdigit():
            return int(word), 1
        if word in self._keep_words:
            after = words[i + 1] if i + 1 < len(words) else ""
            if after not in self._unit_words and after != self._hundred:
                return 0, 0
        value, used = 0, 0
        if word in self._units:
            value, used = self._units[word], 1
        elif word in self._tens:
            value, used = self._tens[word], 1
            if (
                i + 1 < len(words)
                and words[i + 1] in self._units
                and self._units[words[i + 1]] < 10
            ):
                value, used = value + self._units[words[i + 1]], 2
        if used and i + used < len(words) and words[i + used] == self._hundred:
            value, used = value * 100, used + 1
        return value, used

    def _content(self, text: str) -> str:
        """The content words of a sentence (stopwords dropped), or all of it if none."""
        words = [w for w in text.split() if w not in self.stopwords]
        return " ".join(words) or text

    def _for_matching(self, text: str) -> str:
        """Replace numbers and number placeholders by one token so values never matter."""
        text = re.sub(r"\{(seconds|minutes|reps)\}", NUMBER, text)
        return re.sub(r"\b\d+\b", NUMBER, text)

    # -- matching ------------------------------------------------------------------
    def red_flag(self, text: str) -> str | None:
        """Name of the first red-flag rule the normalised text satisfies, if any."""
        return next(iter(self.red_flags(text)), None)

    def red_flags(self, text: str) -> list[str]:
        """Names of every red-flag rule the normalised text satisfies."""
        flagged = []
        for name, groups, ignore in self._red_flags:
            rest = struck(text, ignore)  # "no fever", "fell asleep": struck out first
            if all(any(p.search(rest) for p in group) for group in groups):
                flagged.append(name)
        return flagged

    def red_flag_answer(self, rule: str | None, text: str = "", line: str | None = None) -> str:
        """What to say for the red-flag rule named ``rule`` (its ``line``; for None, the
        general red-flag answer, or ``line`` when given) in the normalised ``text``. The
        other rules ``text`` sets off add their own lines ("I'm pregnant and my leg is numb"),
        the general one only when no other is said; one that is also an emergency ("I fell
        down the stairs and I can't get up") gets the emergency answer first."""
        keys = [line or self._red_flag_lines.get(rule or "", RED_FLAG_LINE)]
        for name in self.red_flags(text) if text else []:
            if self._red_flag_lines[name] not in keys:
                keys.append(self._red_flag_lines[name])
        if len(keys) > 1 and RED_FLAG_LINE in keys:
            keys.remove(RED_FLAG_LINE)
        said = " ".join(self.cat.line(key) for key in keys)
        if self.is_emergency(text):
            said = f"{self.cat.intent(EMERGENCY_INTENT).answer} {said}"
        return said

    def caution(self, intent_id: str | None, text: str) -> str | None:
        """The line to say instead of the intent's answer, when the normalised text names
        one of its ``[cautions]`` words ("I'm on blood thinners"); for a medicine, with
        ``pet_medicine`` when a pet (``[pets]``) is named too."""
        if not any(p.search(text) for p in self._cautions.get(intent_id or "", [])):
            return None
        said = self.cat.line(catalogue_mod.CAUTION_PREFIX + str(intent_id))
        pet = intent_id == "medication" and any(p.search(text) for p in self._pets)
        return f"{said} {self.cat.line('pet_medicine')}" if pet else said  # "can my dog"

    def risks(self, text: str) -> list[dict[str, Any]]:
        """The ``[[risks]]`` entries whose words the normalised text names, in file order
        ("I'm diabetic, can I use a heat pad?")."""
        named = []
        for risk, words, ignore in self._risks:
            kept = struck(text, ignore)  # not "I'm not diabetic"
            limit = risk.get("under_age")
            if _age_under(kept, limit):
                named.append(risk)
            elif any(p.search(kept) for p in words) and not _age_over(kept, limit):
                named.append(risk)  # not "my husband is 50, can he take ibuprofen?"
        return named

    def caution_alone(self, text: str) -> tuple[str, str] | None:
        """For a sentence with nothing else understood ("I take warfarin"), the caution line
        and intent of the first ``[caution_memory]`` intent it names (:meth:`caution`);
        None when its only caution words are ``[caution_memory] not_alone`` ("my kids are at
        school") and no child is said to be one (:meth:`about_child`, :meth:`child_age`)."""
        child = self.about_child(text) or self.child_age(text)
        kept = text if child else struck(text, self._not_alone)
        for intent_id in self._memory:
            line = self.caution(intent_id, kept)
            if line is not None:
                return line, intent_id
        return None

    def repeats(self, text: str) -> bool:
        """Whether the normalised text asks for a timer to repeat ("every 4 hours")."""
        return self._repeats.search(text) is not None

    def asks(self, text: str) -> bool:
        """Whether the normalised text starts as a question does (``[routine_talk]
        questions``): "is it better to use ice?" asks, "it's better now" does not."""
        return self._question.match(text) is not None

    def says_better(self, text: str) -> bool:
        """Whether the normalised text says the back is better (``[better] words``), in at
        most :data:`BETTER_WORDS` words, every other one of ``[better] only``, not asking."""
        better = self._better
        said = remark(text, better.get("words", []), better.get("only", []), BETTER_WORDS)
        return said and not self.asks(text)

    def better_remark(self, heard: Understanding) -> bool:
        """Whether a sentence understood as one of :data:`BETTER_INTENTS` (or nothing) is
        really a remark that the back is better (:meth:`says_better`)."""
        return heard.intent in BETTER_INTENTS and self.says_better(heard.text)

    def other_line(
        self, intent_id: str | None, text: str, child_before: bool = False
    ) -> str | None:
        """For a pain report or nerve sign about a pet, the key of the line that sends to a
        vet (``<intent>_pet``); about a child or a teenager (:meth:`about_child`, or someone
        spoken of by a pronoun when ``child_before``: a child was named earlier on), of the
        line that sends to a doctor (``<intent>_child``); about someone else
        (:meth:`about_other`), of the line that asks about their legs (``<intent>_other``);
        else None."""
        if intent_id not in LEG_QUESTIONS:
            return None
        pet = self._pet_opening.match(text)
        if pet and not any(p.search(text, pet.end()) for p in self._own):
            return f"{intent_id}{PET_SUFFIX}"  # "my dog has a bad back", not "... me over"
        other = self.about_other(text)
        pronoun = child_before and other and text.split()[0] in PRONOUNS  # "he has a bad back"
        if self.about_child(text) or pronoun:
            return f"{intent_id}{CHILD_SUFFIX}"
        return f"{intent_id}_other" if other else None

    def about_child(self, text: str) -> bool:
        """Whether the normalised text speaks of a child or a teenager (``[others] children``
        or an age under ``under_age``) as someone else (:meth:`about_other`), or of the
        speaker as one ("i am 15", ``own_children``: "i am a teenager")."""
        if self.own_child(text):
            rest = _after(OWN_AGE.split(text, maxsplit=1)[-1])  # "i am 15 and my mum ..."
            return not self.about_other(rest) or self.about_child(rest)
        if not self.about_other(text):
            return False
        return any(p.search(text) for p in self._children) or self.child_age(text)

    def own_child(self, text: str) -> bool:
        """Whether the speaker says they are a child or a teenager ("i am 15")."""
        limit = self._child_age
        young = limit is not None and any(age < limit for age in _years(OWN_AGE, text))
        return young or any(p.search(text) for p in self._own_children)

    def child_age(self, text: str) -> bool:
        """Whether the normalised text gives the person it speaks of an age under
        ``[others] under_age`` ("my son is 9", "she is 14", "my 10 year old ...")."""
        limit = self._child_age
        return limit is not None and any(age < limit for age in _years(PERSON_AGES, text))

    def asks_for_child(self, text: str) -> bool:
        """Whether the normalised text asks something for a child or a teenager it names
        ("what stretches can my 12 year old do?", "is it safe for my teenager")."""
        return CHILD_ASKED.search(text) is not None

    def stretch_for_someone(self, text: str) -> bool:
        """Whether the normalised text asks a stretch for someone named before ("can you
        guide him through it?", "can she do the stretch?"), not for oneself ("guide me
        through the stretch so I can pick him up")."""
        return FOR_SOMEONE.search(text) is not None

    def risks_for(self, intent_id: str) -> list[dict[str, Any]]:
        """The ``[[risks]]`` entries that change the answer of ``intent_id``."""
        return [risk for risk, _, _ in self._risks if intent_id in risk["intents"]]

    def follow_up(self, intent_id: str, text: str) -> str | None:
        """The ``caution_`` line of ``intent_id`` when the normalised text, a short question
        right after its answer, names one of its ``[follow_ups]`` words ("how long?")."""
        if not any(p.search(text) for p in self._follow_ups.get(intent_id, [])):
            return None
        return self.cat.line(catalogue_mod.CAUTION_PREFIX + intent_id)

    def about_other(self, text: str) -> bool:
        """Whether the normalised text starts by speaking of someone else (``[others]
        openings``: "my wife's back hurts") and not of oneself after it (``own``: "my wife
        told me to ask, my back is killing me"), so a question back is asked of them."""
        own_age = OWN_AGE.match(text)
        if own_age:  # "i am 15 and my mum has a bad back"
            return self.about_other(_after(text[own_age.end() :]))
        start = self._others.match(text) or AGED_OPENING.match(text)
        return start is not None and not any(p.search(text, start.end()) for p in self._own)

    def names_back(self, text: str) -> bool:
        """Whether the normalised text names the back, a spasm or a medicine for it."""
        return any(p.search(text) for p in self._back_words)

    def off_topic(self, text: str) -> bool:
        """True when the text names a topic outside the seed and nothing about the back, or
        another part of the body and not the back itself ("a spasm in my neck")."""
        if any(p.search(text) for p in self._places):
            return not any(p.search(text) for p in self._back_places)
        named = any(p.search(text) for p in self._off_topic)
        return named and not any(p.search(text) for p in self._back_words)

    def scores(self, text: str) -> dict[str, float]:
        """Best phrase similarity per intent plus keyword bonus (may exceed 100)."""
        query = self._for_matching(text)
        whole = process.cdist([query], self._choices, scorer=fuzz.ratio)[0]
        order_free = process.cdist([query], self._choices, scorer=fuzz.token_sort_ratio)[0]
        content = process.cdist(
            [self._content(query)], self._contents, scorer=fuzz.token_sort_ratio
        )[0]
        similarity = (numpy.maximum(whole, order_free) + content) / 2
        best: dict[str, float] = {}
        for owner, score in zip(self._owners, similarity.tolist(), strict=True):
            best[owner] = max(best.get(owner, 0.0), score)
        penalty = UNKNOWN_PENALTY * self.unknown_share(text)
        for intent_id in best:
            best[intent_id] -= penalty
        for intent_id, keywords in self._keywords.items():
            kept = self._keyword_text(intent_id, text)
            bonus = sorted(
                (KEYWORD_BONUS * weight for p, weight in keywords if p.search(kept)), reverse=True
            )[:2]
            if bonus:
                best[intent_id] = best.get(intent_id, 0.0) + sum(bonus)
        return best

    def unknown_share(self, text: str) -> float:
        """Share of the content words that no phrasing or keyword of the catalogue uses (a
        keyword's stem covers the words it begins: "tingl" covers "tingle")."""
        content = [w for w in text.split() if w not in self.stopwords and not w.isdigit()]
        if not content:
            return 0.0
        unknown = [w for w in content if w not in self._vocabulary]
        return sum(not self._stemmed(w) for w in unknown) / len(content)

    def _stemmed(self, word: str) -> bool:
        """Whether ``word`` is a keyword's stem with a plain ending ("tingl": "tingle",
        "tingling"; not "count": "country")."""
        return any(word.startswith(s) and word[len(s) :] in STEM_ENDINGS for s in self._stems)

    def understand(self, text: str) -> Understanding:
        """Match one sentence."""
        norm = self.normalise(text)
        if not norm:
            return Understanding(None, 0.0, {}, norm)
        flag = self.red_flag(norm)
        if flag:
            return Understanding(SAFETY_INTENT, 100.0, {}, norm, SAFETY_INTENT, flag)
        if norm in self._also_means:  # "are you still there": kept out of the language model
            meant = self._also_means[norm]
            return Understanding(meant, 100.0, self.slots(norm, meant), norm, meant)
        rest = self._courtesy.sub("", norm).strip()
        if rest and rest != norm:  # "thanks, what about heat?": the request, when clear
            request = self.understand(rest)
            if request.intent not in (None, *ACKNOWLEDGEMENTS):  # "great, thanks": thanks
                return request
        scores = self.scores(norm)
        if not scores:
            return Understanding(None, 0.0, {}, norm)
        best = max(scores, key=scores.__getitem__)
        if best == FEAR_INTENT:  # "I'm scared, I can't move": what is feared comes first
            feared = self._feared(norm)
            if feared is not None:
                return feared
        if best == MORE_INTENT:  # "tell me more about ice": a question about ice
            best = self._more_about(norm, scores) or best
        if best in HALTS and self.is_emergency(norm):  # "hang on, everything went black"
            best = EMERGENCY_INTENT
        if best in HALTS and not self._halts_when_asked_how(norm, best):
            scores.pop(best)  # "how do I stop it coming back?": a question, not the command
            best = max(scores, key=scores.__getitem__)
        if best == SAFETY_INTENT and any(p.search(norm) for p in self._seen_doctor):
            scores.pop(best)  # "the doctor said it's a spasm, what can I do?": not when to go
            best = max(scores, key=scores.__getitem__)
        if best == GOODBYE_INTENT and self._no_goodbye(norm, scores[best]):
            scores.pop(best)  # "is that okay?" is no goodbye, though it is near "ok that's it"
            best = max(scores, key=scores.__getitem__)
        score = round(min(100.0, max(0.0, scores[best])), 1)
        accepted = self._accept(best, score, norm)
        if (not accepted or best in self._pain_now_over) and self._pain_now(norm):
            return Understanding(PAIN_INTENT, score, {}, norm, best)  # "ow again", "it's bad"
        parts = self._requests(norm, best if accepted else None)
        if parts:
            return replace(parts[0], also=tuple(parts[1:]))
        if not accepted:
            if self._leg_pain(norm):  # "my calf is cramping": is it running down the leg?
                return Understanding(PAIN_INTENT, score, {}, norm, best)
            return self._last_question(norm) or Understanding(None, score, {}, norm, best)
        return Understanding(best, score, self.slots(norm, best), norm, best)

    def _requests(self, text: str, whole: str | None) -> list[Understanding]:
        """Two or more requests in one sentence, each understood alone; empty when the
        sentence is one request (see ``[requests]`` in ``language.toml``)."""
        pieces = [p.strip() for p in self._joins.split(text)]
        if len(pieces) < 2 or not all(pieces) or any(map(self._is_duration, pieces[1:])):
            return []  # "a timer for 1 hour and 15 minutes" is one request
        parts = [self.understand(piece) for piece in pieces]
        intents = [p.intent for p in parts]
        for part in parts:  # "stop and call an ambulance", "I can't move and my phone is ...":
            if part.intent == EMERGENCY_INTENT and part.score >= ACCEPT_SCORE:
                return [part]  # the emergency alone, whatever the rest says
        confident = all(
            p.intent not in (None, *ACKNOWLEDGEMENTS) and p.score >= ACCEPT_SCORE and not p.also
            for p in parts
        )
        if not confident or len(set(intents)) < len(parts):
            return []
        if set(intents) & HALTS and set(intents) & STARTS:  # "stop and carry on": unclear
            return []
        return parts if whole is None or whole in intents else []

    def _is_duration(self, text: str) -> bool:
        """Whether the normalised text is only an amount of time ("15 minutes")."""
        return self._amount.fullmatch(text) is not None

    def _halts_when_asked_how(self, text: str, halt: str) -> bool:
        """False for a question about how to do something that uses a halting command's
        word ("how do I stop it coming back?"); True when the words after ``[requests]
        asked_how`` are that command alone ("how do I stop the stretch?") or none was said."""
        found = self._asked_how.match(text)
        if found is None:
            return True
        rest = text[found.end() :].strip()
        scores = self.scores(rest) if rest else {}
        return (
            bool(scores)
            and max(scores, key=scores.__getitem__) == halt
            and (scores[halt] >= ACCEPT_SCORE)
        )

    def _no_goodbye(self, text: str, score: float) -> bool:
        """A sentence near a goodbye that is none: a yes-or-no question without "bye", or
        one with no goodbye keyword and less than :data:`GOODBYE_SCORE` ("okay, what should
        I do", near "ok that's it": going to sleep on it loses the question)."""
        if self._bye.search(text):
            return False
        if self._asked_yes_no.match(text):
            return True
        return not self._has_keyword(GOODBYE_INTENT, text) and score < GOODBYE_SCORE

    def _pain_now(self, text: str) -> bool:
        """A statement of pain felt now (``[pain_now] words``, not a question, no other part
        of the body named): "ow again", "my back has gone into spasm again"."""
        if self.asks(text) or self.off_topic(text):
            return False
        kept = struck(text, self._pain_now_ignore)  # "I don't have a bad back"
        return any(p.search(kept) for p in self._pain_now_words)

    def _leg_pain(self, text: str) -> bool:
        """Pain named in a part of a leg (``[leg_denial] leg_pain_places``)."""
        return all(any(p.search(text) for p in group) for group in self._leg_pain_groups)

    def _leg_not_back(self, text: str) -> bool:
        """Pain named in a leg and the back not named: a question for the leg, not the
        article's answer for a back ("I have a cramp in my leg")."""
        return self._leg_pain(text) and not any(p.search(text) for p in self._back_places)

    def _feared(self, text: str) -> Understanding | None:
        """What a frightened sentence says besides the fear, when that is urgent (an
        emergency, pain or a nerve sign)."""
        rest = text
        for pattern, _ in self._keywords.get(FEAR_INTENT, []):
            rest = pattern.sub(" ", rest)
        rest = " ".join(rest.split())
        if not rest or rest == text:
            return None
        heard = self.understand(rest)
        if heard.intent in HALTS and not self._has_keyword(heard.intent, text):
            return None  # "I can't stop crying" is no command to stop
        return heard if heard.intent in URGENT_OVER_FEAR else None

    def _more_about(self, text: str, scores: dict[str, float]) -> str | None:
        """The knowledge intent a request for more names by one of its keywords, if any."""
        named = [i for i, patterns in self._topics.items() if any(p.search(text) for p in patterns)]
        return max(named, key=lambda i: scores.get(i, 0.0)) if named else None

    def _last_question(self, text: str) -> Understanding | None:
        """In a long story the question comes last ("I was lifting a box ... and now what
        should I be doing about it"): its last part, when that is clearly a question about
        the back (a knowledge intent) and the story is at least :data:`STORY_WORDS` long.
        An emergency named anywhere in it is answered instead; "stop" or "wait", pain, a
        nerve sign, fear, a topic outside the seed or a caution's words leave it unmatched
        (they say more than the question could carry; unmatched, it pauses a stretch)."""
        pieces = [p.strip() for p in self._joins.split(text) if p.strip()]
        if len(text.split()) < STORY_WORDS or len(pieces) < 2:
            return None
        if self.is_emergency(text):  # "... and I can't get up and what should I do"
            return Understanding(EMERGENCY_INTENT, 0.0, {}, text, EMERGENCY_INTENT, story=text)
        if self._story_says_more(text):
            return None
        last = self.understand(pieces[-1])
        kind = self.cat.intents[last.intent].kind if last.intent in self.cat.intents else None
        return replace(last, story=text) if kind == "knowledge" and not last.also else None

    def _story_says_more(self, text: str) -> bool:
        """Whether a story names something its closing question would leave unanswered."""
        return (
            self.off_topic(text)
            or any(self._has_keyword(i, text) for i in STORY_BLOCKERS)
            or any(p.search(text) for p in self._caution_words)
        )

    def is_emergency(self, text: str) -> bool:
        """True when the normalised text names one of the emergency intent's keywords
        ("I fell down the stairs and I can't get up")."""
        return self._has_keyword(EMERGENCY_INTENT, text)

    def _keyword_text(self, intent_id: str, text: str) -> str:
        """``text`` with the intent's ``[keyword_ignore]`` phrases struck out."""
        return struck(text, self._keyword_ignore.get(intent_id, []))

    def _has_keyword(self, intent_id: str, text: str) -> bool:
        """Whether one of the intent's keywords is in ``text``, ignored phrases left out."""
        kept = self._keyword_text(intent_id, text)
        return any(p.search(kept) for p, _ in self._keywords.get(intent_id, []))

    def _accept(self, intent_id: str, score: float, text: str) -> bool:
        intent = self.cat.intents[intent_id]
        urgent = intent_id in (EMERGENCY_INTENT, SAFETY_INTENT)  # "I've collapsed and hurt …"
        if intent.kind == "knowledge" and not urgent:
            leg = intent_id not in LEG_ASKED_ANYWAY and self._leg_not_back(text)
            if self.off_topic(text) or leg:  # "a cramp in my leg"
                return False
        if score >= ACCEPT_SCORE:
            return True
        has_keyword = self._has_keyword(intent_id, text)
        if has_keyword and intent_id == EMERGENCY_INTENT:  # "I fainted when I got up"
            return True
        return has_keyword and score >= KEYWORD_ACCEPT_SCORE + KEYWORD_BONUS

    # -- slots ---------------------------------------------------------------------
    def slots(self, text: str, intent_id: str) -> dict[str, Any]:
        """The slots of ``intent_id`` found in the normalised text."""
        wanted = self.cat.intents[intent_id].slots
        found: dict[str, Any] = {}
        words = self._slot_words
        numbers = {
            key: self._number_before(text, words[key], more=key != "reps")
            for key in ("seconds", "minutes", "hours", "reps")
        }
        if "seconds" in wanted:
            seconds = numbers["seconds"]
            if seconds is None and intent_id == "count":
                match = re.search(r"\b(?:to|from)\s+(\d+)\b", text)
                seconds = int(match.group(1)) if match else None
            if seconds is None and intent_id == "adjust":  # "hold 15", "hold it for 10"
                match = re.search(r"\bhold(?: it)?(?: for)? (\d+)$", text)
                seconds = int(match.group(1)) if match else None
            if seconds is not None:
                found["seconds"] = seconds
        if "minutes" in wanted:
            minutes = (numbers["minutes"] or 0) + 60 * (numbers["hours"] or 0)
            if numbers["minutes"] is not None or numbers["hours"] is not None:
                found["minutes"] = minutes
        if "reps" in wanted and numbers["reps"] is not None:
            found["reps"] = numbers["reps"]
        if "side" in wanted and (side := self._side(text)):
            found["side"] = side
        if "direction" in wanted and (direction := self._phrase_slot("direction", text)):
            found["direction"] = direction
        for slot in ("order", "scope", "change"):
            if slot in wanted and (value := self._phrase_slot(slot, text)):
                found[slot] = value
        if "task" in wanted and (task := self._task(text)):
            found["task"] = task
        elif "label" in wanted and (label := self._label(text)):
            found["label"] = label
        if "routine" in wanted:
            for spoken, name in self._routines.items():
                if spoken in text:
                    found["routine"] = name
        return found

    @staticmethod
    def _number_before(text: str, units: list[str], more: bool = False) -> int | None:
        """The number said before one of ``units``; with ``more``, also "5 more minutes"."""
        alternatives = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
        extra = r"(?:more\s+|extra\s+)?" if more else ""
        match = re.search(rf"\b(\d+)\s+{extra}(?:{alternatives})\b", text)
        return int(match.group(1)) if match else None

    @staticmethod
    def _side(text: str) -> str | None:
        if re.search(r"\bboth\s+(?:sides|knees|legs)\b|\bboth\b$|^both\b", text):
            return "both"
        match = re.search(
            r"\b(left|right)\s+(?:side|knee|leg|one|only)\b|\bonly\s+(?:the\s+)?(left|right)\b"
            r"|^(left|right)$",
            text,
        )
        if match:
            return next(g for g in match.groups() if g)
        return None

    def _phrase_slot(self, slot: str, text: str) -> str | None:
        """The value of the first of ``slot``'s phrases (language.toml) found in the text."""
        for phrase, value in self._slot_words.get(slot, {}).items():
            if re.search(rf"\b{re.escape(phrase)}\b", text):
                return value
        return None

    def _task(self, text: str) -> str | None:
        """What a reminder is for, said back to the person ("take your ice off"), or None."""
        match = next((m for p in TASK_PATTERNS if (m := p.search(text))), None)
        if match is None:
            return None
        task = self._task_end.sub("", match.group(1))
        if not task or len(task.split()) > TASK_WORDS:
            return None
        if self._task_words is None:
            return task
        return self._task_words.sub(lambda m: self._task_swaps[m.group(0)], task)

    def _label(self, text: str) -> str | None:
        skip = set(self._slot_words["not_labels"])
        for pattern in (
            r"\btimer\s+(?:for|called|named)\s+(?:the\s+|my\s+)?([a-z]+)",
            r"\b([a-z]+)\s+timer\b",
            r"\b(?:cancel|stop|delete|remove)\s+the\s+([a-z]+)\s+one\b",
            r"\b(?:cancel|stop|delete|remove|on|to)\s+(?:the|my)\s+(reminder)\b",
            r"\b(?:minutes?|seconds?|hours?)\s+(?:for|of)\s+(?:the\s+|my\s+)?([a-z]+)",
        ):
            for match in re.finditer(pattern, text):
                word = match.group(1)
                if word not in skip:
                    return word
        return None


@cache
def _default_matcher() -> Matcher:
    return Matcher(catalogue_mod.default())


def matcher_for(cat: Catalogue | None = None) -> Matcher:
    """The matcher for ``cat`` (the installed catalogue's is built once and cached)."""
    return _default_matcher() if cat is None else Matcher(cat)


def understand(text: str, cat: Catalogue | None = None) -> Understanding:
    """Understand one sentence against ``cat`` (default: the installed catalogue)."""
    return matcher_for(cat).understand(text)


def normalise(text: str, cat: Catalogue | None = None) -> str:
    """Normalise one sentence the way the matcher does."""
    return matcher_for(cat).normalise(text)
