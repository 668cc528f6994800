"""Load and validate everything the coach says and understands from ``prompts/``.

Schema (TOML, read with tomllib; see ``prompts/README.md`` for the long form):

``prompts/intents/*.toml``
    One table per intent, named by its id (``[stretching]``). Keys:

    - ``kind``: ``"knowledge"`` or ``"control"``.
    - ``answer``: what the coach says (may hold ``{slot}`` fields only via ``slot_answers``).
    - ``phrases``: example phrasings, at least 3. ``{seconds}``, ``{minutes}``, ``{reps}``
      stand for a number.
    - ``keywords`` (optional): words or short phrases that point to this intent.
    - ``slots`` (optional): slot names this intent fills; see :data:`SLOT_NAMES`.
    - ``slot_answers`` (optional): ``"slot"`` or ``"slot+slot"`` -> answer template used
      when exactly those slots (or the largest such set) were heard.
    - ``offer`` (optional): the routine the answer offers to guide ("yes" starts it).

``prompts/lines/*.toml``
    Flat ``key = "sentence"`` tables; keys are unique across files. Exactly the keys of
    :data:`LINE_FIELDS`, each using only the ``{name}`` fields listed for it there.

``prompts/language.toml``
    Normalisation data: contractions, filler words, number words, red-flag rules and
    off-topic words.

``prompts/routines/*.toml``
    Guided routines; read by :mod:`voice_coach.routine`.

Every error names the file, the entry and what is wrong, and is raised as
:class:`~voice_coach.errors.CatalogueError`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import string
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from .errors import CatalogueError

DIRECTIONS = ("louder", "quieter", "slower", "faster")
"""Ways to change the speech (``speech_out_<direction>`` sentences)."""
KINDS = ("knowledge", "control")
MIN_PHRASES = 3
NUMBER_FIELDS = ("seconds", "minutes", "reps")
SLOT_NAMES = (
    "seconds",
    "minutes",
    "reps",
    "side",
    "label",
    "task",
    "change",
    "direction",
    "routine",
    "order",
    "scope",
)
PROMPTS_ENV = "VOICE_COACH_PROMPTS"
CAUTION_PREFIX = "caution_"
"""Lines said instead of an intent's answer when a `[cautions]` word is named."""
PHRASE_FIELDS = ("seconds", "minutes", "reps")
"""The ``{fields}`` a phrase may hold, each standing for a number."""
MORE_PREFIX = "more_"
"""Lines said for "tell me more" or "why?" after the answer of the intent they name."""
RISK_PREFIX = "risk_"
"""Lines a ``[[risks]]`` entry names: said instead of the answers of its intents."""
RED_FLAG_PREFIX = "red_flag_"
"""Lines a ``[[red_flags]]`` rule may name as its ``line`` (said instead of
``red_flag_answer``)."""
WORDS = "a non-empty list of words and phrases"
PHRASES = 'a table of "phrase" = "value"'
NUMBERS = "a table of word = number"
WORD = "a word"
YEARS = "a whole number of years, 1 or more"
LANGUAGE_SCHEMA: dict[str, dict[str, str]] = {
    "numbers": {"units": NUMBERS, "tens": NUMBERS, "hundred?": WORD, "keep_words?": WORDS},
    "stopwords": {"words": WORDS},
    "wake": {"word": WORD},
    "fillers": {"words": WORDS, "phrases?": WORDS},
    "slots": {
        **dict.fromkeys(("seconds", "minutes", "hours", "reps", "not_labels"), WORDS),
        **dict.fromkeys(("direction?", "order?", "scope?", "change?", "task_pronouns?"), PHRASES),
    },
    "leg_denial": dict.fromkeys(
        (
            *("starts", "negations", "unless", "yes", "back", "legs", "denials", "elsewhere"),
            *("pain_denials", "pain_denial_unless", "leg_pain_places", "leg_pain_words"),
            *("conditions?", "unsure?", "acknowledgements?"),
        ),
        WORDS,
    ),
    "timer_choice": {
        "keep": WORDS,
        "corrections?": WORDS,
        "pause?": WORDS,
        "another?": WORDS,
        "repeats?": WORDS,
        "medicines?": WORDS,
    },
    "requests": {
        "joins": WORDS,
        "courtesy": WORDS,
        "asked_how?": WORDS,
        "yes_no?": WORDS,
        "seen_doctor?": WORDS,
        "declines?": WORDS,
        "noted?": WORDS,
    },
    "routine_talk?": dict.fromkeys(
        (
            "what_now?",
            "which_side?",
            "starts?",
            "later?",
            "amount?",
            "fine?",
            "fine_only?",
            "questions?",
            "together?",
            "other_side?",
        ),
        WORDS,
    ),
    "caution_memory?": {"intents": WORDS, "not_alone?": WORDS},
    "after_red_flag?": dict.fromkeys(("wait?", "serious?", "no_doctor?", "meantime?"), WORDS),
    "pets?": {"words": WORDS},
    "better?": {"words": WORDS, "only": WORDS},
    "others?": {
        "openings": WORDS,
        "own?": WORDS,
        "children?": WORDS,
        "own_children?": WORDS,
        "under_age?": YEARS,
    },
    "pain_now?": {"words": WORDS, "instead_of": WORDS, "ignore?": WORDS},
    "off_topic": dict.fromkeys(("words", "back_words", "places", "back_places"), WORDS),
}
"""The tables of ``language.toml`` that hold words (a name ending in ``?`` is optional):
table -> key -> what its value must be. ``contractions``, ``red_flags``, ``cautions``,
``follow_ups``, ``risks``, ``also_means``, ``keyword_ignore`` and ``pronunciations`` are
checked on their own, and ``[pain_now] instead_of`` and ``[caution_memory] intents`` name
intents."""
PHRASE_TABLES = {"contractions": True, "contraction_suffixes": False, "durations": False}
"""Tables of ``language.toml`` that are themselves phrase tables (True: required)."""

_ROUTINE_LINES: dict[str, tuple[str, ...]] = {
    "routine_paused": (),
    "routine_resumed": (),
    "routine_resumed_hold": (),
    "routine_not_paused": (),
    "routine_stopped": (),
    "routine_pain": (),
    "routine_pain_no_leg": (),
    "routine_skip_last": (),
    "routine_last_side": (),
    "routine_status": ("total", "ahead"),
    "routine_status_hold": ("hold", "ahead"),
    "routine_holds_ahead": ("n",),
    "routine_holds_ahead_one": (),
    "routine_holds_ahead_none": (),
    "routine_status_paused": (),
    "routine_status_done": (),
    "routine_adjust_unavailable": (),
    "routine_adjust_what": (),
    "routine_adjust_hold": ("seconds",),
    "routine_adjust_reps": ("reps",),
    "routine_adjust_reps_one": (),
    "routine_adjust_side_one": ("side",),
    "routine_adjust_side_both": (),
    "routine_hold_range": ("low", "high"),
    "routine_reps_range": ("low", "high"),
    "routine_side_options": (),
    **{
        f"routine_duration_{unit}": ("n",)
        for unit in ("second", "seconds", "minute", "minutes", "hour", "hours")
    },
    "routine_duration_join": ("first", "second"),
    "routine_count_number": ("n",),
    "routine_count_range": ("high",),
    "routine_timer_ask": (),
    "routine_timer_ask_named": ("label",),
    "routine_timer_range": ("low", "high"),
    "routine_timer_started": ("duration",),
    "routine_timer_started_named": ("label", "duration"),
    "routine_timer_alarm": ("duration",),
    "routine_timer_alarm_named": ("label",),
    "routine_timer_ref": ("duration",),
    "routine_timer_ref_named": ("label",),
    "routine_timer_ask_task": ("task",),
    "routine_timer_started_task": ("task", "duration"),
    "routine_timer_alarm_task": ("task",),
    "routine_timer_ref_task": ("task",),
    "routine_timer_extended": ("added", "ref", "left"),
    "routine_timer_shortened": ("added", "ref", "left"),
    "routine_timer_cancelled": ("ref",),
    "routine_timer_none": (),
    "routine_timer_cancelled_all": (),
    "routine_timer_which": ("refs",),
    "routine_timer_kept": (),
    "routine_timer_or": ("first", "second"),
    "routine_timer_unknown": ("label",),
    "routine_timer_left": ("ref", "left"),
    "routine_timer_ref_only": (),
}
LINE_FIELDS: dict[str, tuple[str, ...]] = {
    "coach_no_such_routine": (),
    "coach_nothing_paused": (),
    "coach_not_after_pain": (),
    "coach_waiting": (),
    "coach_nothing_running": (),
    "coach_paused_unclear": (),
    "coach_which_side": ("side",),
    "coach_feels_fine": (),
    "coach_stopped_for_advice": (),
    "coach_hold_how": ("low", "high"),
    "coach_still_paused": (),
    "coach_offer_again": (),
    "coach_hold_now": ("seconds",),
    "coach_timers_still_running": (),
    "coach_timer_once": (),
    "coach_timer_medicine": (),
    "coach_medicine_task": ("medicine",),
    "coach_hold_counted": ("seconds",),
    "coach_kept_for_stretch": (),
    "coach_timer_still_running": (),
    "coach_busy": (),
    "safety_notice": (),
    "fallback": (),
    "feeling_better": (),
    "one_knee_at_a_time": (),
    "leg_ask_again": (),
    "pain_report_other": (),
    "symptom_check_other": (),
    "pain_report_child": (),
    "symptom_check_child": (),
    "stretch_child": (),
    "pain_report_pet": (),
    "symptom_check_pet": (),
    "fallback_again": (),
    "fallback_back": (),
    "fallback_short": (),
    "offer_declined": (),
    "offer_unsure": (),
    "offer_thanks": (),
    "nothing_to_repeat": (),
    "more_none": (),
    "timer_no_pause": (),
    "pet_medicine": (),
    "red_flag_answer": (),
    "red_flag_leg": (),
    "symptom_no": (),
    "symptom_elsewhere": (),
    "stretch_after_red_flag": (),
    "ask_in_conversation": (),
    "leg_pain_no": (),
    "after_red_flag_wait": (),
    "after_red_flag_serious": (),
    "after_red_flag_no_doctor": (),
    "after_red_flag_meantime": (),
    "pain_no_leg": (),
    "leg_pain_unsure": (),
    "goodbye_asleep": ("wake_word",),
    "loop_listening": (),
    "loop_mic_lost": (),
    "loop_mic_back": (),
    "check_say_something": (),
    "speech_out_sound_check": (),
    **{f"speech_out_{d}{limit}": () for d in DIRECTIONS for limit in ("", "_limit")},
    **_ROUTINE_LINES,
}
"""Every sentence key the program says -> the ``{fields}`` it fills in. ``lines/*.toml``
must define each of these keys, and no other, using only its fields."""


def prompts_dir() -> Path:
    """The prompts folder: ``$VOICE_COACH_PROMPTS`` if set, else the installed package data."""
    override = os.environ.get(PROMPTS_ENV)
    if override:
        return Path(override)
    return package_data_dir("voice_coach.prompts", "prompts")


def require_prompts(root: Path | None = None) -> Path:
    """``root`` (default: :func:`prompts_dir`); CatalogueError when it is not a folder."""
    root = Path(root) if root is not None else prompts_dir()
    if not root.is_dir():
        raise CatalogueError(
            f"{root}: prompts folder not found; reinstall voice-coach or set "
            f"{PROMPTS_ENV} to a folder holding intents/ and lines/"
        )
    return root


def package_data_dir(package: str, checkout_folder: str) -> Path:
    """Folder of a data-only package shipped in the wheel (or the checkout's top folder)."""
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / checkout_folder


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning any failure into a one-line :class:`CatalogueError`."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise CatalogueError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror or exc}") from None


def line_of(path: Path, entry: str) -> int | None:
    """The line on which table ``[entry]`` or key ``entry =`` starts in ``path``, if found."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"^\s*(\[\s*\"?{re.escape(entry)}\"?\s*\]|\"?{re.escape(entry)}\"?\s*=)")
    for number, text in enumerate(lines, start=1):
        if pattern.match(text):
            return number
    return None


def fail(path: Path, entry: str, problem: str) -> CatalogueError:
    """Build the error for ``entry`` in ``path``, with its line when it can be found."""
    line = line_of(path, entry)
    where = f"{path}:{line}" if line else str(path)
    return CatalogueError(f"{where}: entry '{entry}': {problem}")


def template_fields(text: str) -> set[str]:
    """The ``{name}`` fields of a sentence template; ValueError for bad braces and for fields
    that are not a bare ``{name}`` (``{}``, ``{name:>5}``, ``{name!r}``)."""
    parts = list(string.Formatter().parse(text))
    if any(name == "" or spec or conversion for _, name, spec, conversion in parts):
        raise ValueError("a field is a bare {name}: no {}, {name:...} or {name!r}")
    return {name for _, name, _, _ in parts if name}


@dataclass(frozen=True)
class Intent:
    """One thing a person can ask or tell the coach."""

    id: str
    """Public intent id, e.g. ``stretching``."""
    kind: str
    """``knowledge`` (an answer from the seed) or ``control`` (drives the conversation)."""
    answer: str
    """The default spoken answer."""
    phrases: tuple[str, ...]
    """Example phrasings; ``{seconds}``/``{minutes}``/``{reps}`` stand for a number."""
    keywords: tuple[str, ...] = ()
    """Words or short phrases that point to this intent."""
    slots: tuple[str, ...] = ()
    """Slot names this intent fills (others are never reported for it)."""
    slot_answers: dict[str, str] = field(default_factory=dict)
    """``"slot+slot"`` -> answer template used when those slots were heard."""
    offer: str | None = None
    """Routine the answer offers to guide, if any."""
    spot: tuple[str, ...] = ()
    """Phrases listened for on their own while the coach speaks (keyword spotting), so
    that they cut it off even over its voice."""

    @staticmethod
    def from_dict(intent_id: str, data: Any, path: Path) -> Intent:
        """Validate one ``[intent]`` table."""
        if not isinstance(data, dict):
            raise fail(path, intent_id, "must be a table of keys")
        known = {"kind", "answer", "phrases", "keywords", "slots", "slot_answers", "offer", "spot"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise fail(path, intent_id, f"unknown key(s) {unknown}; valid keys: {sorted(known)}")
        kind = data.get("kind")
        if kind not in KINDS:
            raise fail(path, intent_id, f"'kind' must be one of {list(KINDS)}, not {kind!r}")
        answer = data.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            raise fail(path, intent_id, "'answer' must be a non-empty string")
        phrases = _strings(data.get("phrases"), path, intent_id, "phrases")
        for phrase in phrases:
            bad = sorted(sentence_fields(path, intent_id, phrase) - set(PHRASE_FIELDS))
            if bad:
                raise fail(
                    path,
                    intent_id,
                    f"unknown field {{{bad[0]}}} in phrase {phrase!r}; valid: "
                    + ", ".join(f"{{{f}}}" for f in PHRASE_FIELDS),
                )
        if len(phrases) < MIN_PHRASES:
            raise fail(path, intent_id, f"needs at least {MIN_PHRASES} phrases, has {len(phrases)}")
        keywords = _strings(data.get("keywords", []), path, intent_id, "keywords")
        slots = _strings(data.get("slots", []), path, intent_id, "slots")
        bad = sorted(set(slots) - set(SLOT_NAMES))
        if bad:
            raise fail(path, intent_id, f"unknown slot(s) {bad}; valid slots: {list(SLOT_NAMES)}")
        slot_answers = _slot_answers(data.get("slot_answers", {}), slots, path, intent_id)
        offer = data.get("offer")
        if offer is not None and not isinstance(offer, str):
            raise fail(path, intent_id, "'offer' must be a routine name")
        spot = _strings(data.get("spot", []), path, intent_id, "spot")
        return Intent(
            intent_id,
            kind,
            answer.strip(),
            phrases,
            keywords,
            slots,
            slot_answers,
            offer,
            spot,
        )


def _slot_answers(value: Any, slots: tuple[str, ...], path: Path, intent_id: str) -> dict[str, str]:
    """Validate ``slot_answers``: keys name declared slots, sentences use only those."""
    if not isinstance(value, dict) or not all(
        isinstance(v, str) and v.strip() for v in value.values()
    ):
        raise fail(path, intent_id, "'slot_answers' must map slot names to sentences")
    for key, text in value.items():
        needed = set(key.split("+"))
        if not needed <= set(slots):
            raise fail(
                path,
                intent_id,
                f"slot_answers key '{key}' names slots not in 'slots' {list(slots)}",
            )
        extra = sorted(sentence_fields(path, intent_id, text) - needed)
        if extra:
            raise fail(
                path, intent_id, f"slot_answers '{key}' uses fields {extra} it does not have"
            )
    return dict(value)


def sentence_fields(path: Path, entry: str, text: str) -> set[str]:
    """:func:`template_fields`, with a mistake reported as a CatalogueError for ``entry``."""
    try:
        return template_fields(text)
    except ValueError as exc:
        raise fail(path, entry, f"bad {{field}} in sentence: {exc}") from None


def _strings(value: Any, path: Path, entry: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(path, entry, f"'{key}' must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


@dataclass(frozen=True)
class Catalogue:
    """Everything loaded from ``prompts/``."""

    intents: dict[str, Intent]
    """Intent id -> intent, in file order."""
    lines: dict[str, str]
    """Sentence key -> sentence template, from ``prompts/lines/*.toml``."""
    language: dict[str, Any]
    """Normalisation data from ``prompts/language.toml``."""
    root: Path
    """The folder this was loaded from."""

    def line(self, key: str, **fields: Any) -> str:
        """The sentence ``key``, with its ``{fields}`` filled in."""
        try:
            template = self.lines[key]
        except KeyError:
            raise CatalogueError(
                f"{self.root / 'lines'}: no sentence '{key}' in any lines file"
            ) from None
        return template.format(**fields)

    def intent(self, intent_id: str) -> Intent:
        """The intent with this id (a programming error if it is missing)."""
        return self.intents[intent_id]

    @property
    def wake_word(self) -> str:
        """The word that wakes the coach after "goodbye"."""
        return self.language["wake"]["word"].lower()

    def with_wake_word(self, word: str) -> Catalogue:
        """This catalogue with another wake word (which the recogniser then learns)."""
        return replace(self, language={**self.language, "wake": {"word": word}})


def load(root: Path | None = None) -> Catalogue:
    """Load and validate the catalogue in ``root`` (default: :func:`prompts_dir`)."""
    root = require_prompts(root)
    intents = _load_intents(root)
    lines = _load_lines(root)
    language_path = root / "language.toml"
    language = read_toml(language_path)
    check_language(language_path, language, intents, lines)
    for key in lines:
        topic = key.removeprefix(MORE_PREFIX)
        intent = intents.get(topic)
        if topic != key and key not in LINE_FIELDS and getattr(intent, "kind", "") != "knowledge":
            knowledge = ", ".join(i.id for i in intents.values() if i.kind == "knowledge")
            raise CatalogueError(
                f"{root / 'lines'}: line '{key}' names no knowledge intent; valid: {knowledge}"
            )
    for intent in intents.values():
        if intent.offer is not None and not (root / "routines" / f"{intent.offer}.toml").is_file():
            raise CatalogueError(
                f"intent '{intent.id}': offers routine '{intent.offer}', "
                f"but {root / 'routines' / (intent.offer + '.toml')} is missing"
            )
    return Catalogue(intents, lines, language, root)


def check_language(
    path: Path, language: dict[str, Any], intents: dict[str, Intent], lines: dict[str, str]
) -> None:
    """Check ``language.toml`` (read from ``path``) against the schema in prompts/README.md."""
    if not isinstance(language.get("red_flags"), list):
        raise fail(path, "red_flags", "missing; see prompts/README.md for the schema")
    _check_red_flags(path, language["red_flags"], lines)
    _check_language_tables(path, language)
    _check_cautions(path, language.get("cautions", {}), intents, lines)
    _check_risks(path, language.get("risks", []), intents, lines)
    for name in ("also_means", "keyword_ignore"):
        _check_intent_phrases(path, name, language.get(name, {}), intents)
    _check_intents_named(
        path, "pain_now", language.get("pain_now", {}).get("instead_of", []), intents
    )
    _check_cautions(path, language.get("follow_ups", {}), intents, lines, "follow_ups")
    for intent_id in language.get("caution_memory", {}).get("intents", []):
        if intent_id not in language.get("cautions", {}):
            valid = ", ".join(language.get("cautions", {}))
            raise fail(path, "caution_memory", f"'{intent_id}' has no [cautions]; valid: {valid}")
    try:
        check_wake_word(language["wake"].get("word"))
    except ValueError as exc:
        raise fail(path, "wake", f"'word' {exc}") from None


def check_wake_word(word: Any) -> str:
    """``word`` lower-cased if it is one to three plain words; ValueError otherwise."""
    if not isinstance(word, str) or not re.fullmatch(r"[a-z']+( [a-z']+){0,2}", word.lower()):
        raise ValueError("must be one to three plain words, such as 'coach'")
    return word.lower()


def _check_red_flags(path: Path, rules: Any, lines: dict[str, str]) -> None:
    """Each ``[[red_flags]]`` rule has a name, groups of words and example sentences, and
    the ``line`` it may name is a ``red_flag_`` line of ``lines/``."""
    if not isinstance(rules, list) or not rules:
        raise fail(path, "red_flags", "must be one or more [[red_flags]] tables")
    for number, rule in enumerate(rules, start=1):
        where = _named_entry(path, "red flag", number, rule)
        groups = rule.get("groups")
        if not _strings_list(groups, nested=True):
            raise CatalogueError(f"{where}: 'groups' must be a non-empty list of word lists")
        if not _strings_list(rule.get("examples")):
            raise CatalogueError(f"{where}: 'examples' must list sentences that set it off")
        if "ignore" in rule and not _strings_list(rule["ignore"]):
            raise CatalogueError(f"{where}: 'ignore' must be a non-empty list of phrases")
        _check_line_named(where, rule.get("line", "red_flag_answer"), RED_FLAG_PREFIX, lines)
    used = {rule.get("line") for rule in rules}
    for key in lines:
        if key.startswith(RED_FLAG_PREFIX) and key not in LINE_FIELDS and key not in used:
            raise CatalogueError(f"line '{key}' is named by no [[red_flags]] rule of {path}")


def _named_entry(path: Path, kind: str, number: int, entry: Any) -> str:
    """Where an entry of an array of tables is, for messages; raises when it has no name."""
    name = entry.get("name") if isinstance(entry, dict) else None
    where = f"{path}: {kind} {number} ({name or 'no name'})"
    if not isinstance(name, str) or not name.strip():
        raise CatalogueError(f"{where}: needs a name (a string)")
    return where


def _check_line_named(where: str, line: Any, prefix: str, lines: dict[str, str]) -> None:
    """Raise unless ``line`` is a sentence key of ``lines/`` starting with ``prefix``."""
    if not isinstance(line, str) or not line.startswith(prefix) or line not in lines:
        named = sorted(k for k in lines if k.startswith(prefix))
        raise CatalogueError(f"{where}: 'line' {line!r} is no line; valid: {', '.join(named)}")


def _check_intents_named(path: Path, table: str, named: list[str], intents: dict) -> None:
    """A list of intent ids in ``[table]`` names only intents of the catalogue."""
    unknown = [i for i in named if i not in intents]
    if unknown:
        raise fail(path, table, f"{unknown} are no intents; valid: {', '.join(intents)}")


def _check_intent_phrases(path: Path, name: str, table: Any, intents: dict[str, Intent]) -> None:
    """``[also_means]`` and ``[keyword_ignore]`` map intent ids to lists of phrases."""
    if not isinstance(table, dict):
        raise fail(path, name, "must be a table of intent = [phrases]")
    for intent, phrases in table.items():
        if intent not in intents:
            raise fail(path, name, f"'{intent}' is no intent; valid: {', '.join(intents)}")
        if not _strings_list(phrases):
            raise fail(path, name, f"'{intent}' must be {WORDS}")


def _check_risks(path: Path, risks: Any, intents: dict[str, Intent], lines: dict[str, str]) -> None:
    """Each ``[[risks]]`` entry has a name, the intents it changes, its words and a
    ``risk_`` line (optional: ``ignore``, ``remember``, ``alone``, ``under_age``); every
    ``risk_`` line is named by one."""
    if not isinstance(risks, list):
        raise fail(path, "risks", "must be [[risks]] tables")
    for number, risk in enumerate(risks, start=1):
        where = _named_entry(path, "risk", number, risk)
        if not _strings_list(risk.get("words")):
            raise CatalogueError(f"{where}: 'words' must be {WORDS}")
        named = risk.get("intents")
        unknown = [i for i in named or [] if i not in intents] if _strings_list(named) else [""]
        if unknown:
            raise CatalogueError(
                f"{where}: 'intents' {unknown} unknown; valid: {', '.join(intents)}"
            )
        _check_line_named(where, risk.get("line"), RISK_PREFIX, lines)
        if "ignore" in risk and not _strings_list(risk["ignore"]):
            raise CatalogueError(f"{where}: 'ignore' must be a non-empty list of phrases")
        for flag in ("remember", "alone"):
            if not isinstance(risk.get(flag, False), bool):
                raise CatalogueError(f"{where}: '{flag}' must be true or false")
        age = risk.get("under_age")
        if age is not None and not _valid(YEARS, age):
            raise CatalogueError(f"{where}: 'under_age' must be {YEARS}")
    used = {risk.get("line") for risk in risks}
    for key in lines:
        if key.startswith(RISK_PREFIX) and key not in used:
            raise fail(path, "risks", f"the line '{key}' is named by no [[risks]] entry")


def _check_cautions(
    path: Path,
    cautions: Any,
    intents: dict[str, Intent],
    lines: dict[str, str],
    table: str = "cautions",
) -> None:
    """``[cautions]`` (or ``[follow_ups]``) maps intent ids to words, each with its line
    ``caution_<intent>``."""
    if not isinstance(cautions, dict):
        raise fail(path, table, "must be a table of intent = [words]")
    for intent_id, words in cautions.items():
        if intent_id not in intents:
            raise fail(path, table, f"'{intent_id}' is no intent; valid: {', '.join(intents)}")
        if not _strings_list(words):
            raise fail(path, table, f"'{intent_id}' must be a non-empty list of words")
        if CAUTION_PREFIX + intent_id not in lines:
            raise fail(path, table, f"'{intent_id}' needs a line '{CAUTION_PREFIX}{intent_id}'")
    if table != "cautions":
        return
    for key in lines:
        if key.startswith(CAUTION_PREFIX) and key.removeprefix(CAUTION_PREFIX) not in cautions:
            raise fail(path, table, f"the line '{key}' has no words here")


def _check_language_tables(path: Path, language: dict[str, Any]) -> None:
    """Each table of :data:`LANGUAGE_SCHEMA` and :data:`PHRASE_TABLES` has what it must;
    ``[pronunciations]`` maps words to phones."""
    for name, required in PHRASE_TABLES.items():
        if (required or name in language) and not _valid(PHRASES, language.get(name)):
            raise fail(path, name, f"must be {PHRASES}; see prompts/README.md")
    for name, keys in LANGUAGE_SCHEMA.items():
        table = language.get(name.rstrip("?"))
        if table is None and name.endswith("?"):
            continue
        if not isinstance(table, dict):
            raise fail(path, name.rstrip("?"), "missing; see prompts/README.md for the schema")
        for key, kind in keys.items():
            value = table.get(key.rstrip("?"))
            if (value is not None or not key.endswith("?")) and not _valid(kind, value):
                raise fail(path, name.rstrip("?"), f"'{key.rstrip('?')}' must be {kind}")
    pronunciations = language.get("pronunciations", {})
    if not isinstance(pronunciations, dict):
        raise fail(path, "pronunciations", 'must be a table of word = "PHONES"')
    for word, phones in pronunciations.items():
        if not isinstance(phones, str) or not phones.split() or word != word.lower():
            raise fail(path, "pronunciations", f"'{word}': give a lower-case word = \"PHONES\"")


def _valid(kind: str, value: Any) -> bool:
    """Whether ``value`` is of ``kind`` (:data:`WORDS`, :data:`PHRASES`, ...)."""
    if kind == WORDS:
        return _strings_list(value)
    if kind == WORD:
        return isinstance(value, str) and bool(value.strip())
    if kind == YEARS:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    wanted = int if kind == NUMBERS else str
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(v, wanted) and not isinstance(v, bool) for v in value.values())
    )


def _strings_list(value: Any, nested: bool = False) -> bool:
    """A non-empty list of non-empty strings (of such lists when ``nested``)."""
    if not isinstance(value, list) or not value:
        return False
    if nested:
        return all(_strings_list(item) for item in value)
    return all(isinstance(item, str) and item.strip() for item in value)


@cache
def default() -> Catalogue:
    """The installed catalogue, loaded once per process."""
    return load()


def _toml_files(folder: Path) -> list[Path]:
    try:
        if not folder.is_dir():
            raise CatalogueError(f"{folder}: folder missing from the prompts")
        files = sorted(folder.glob("*.toml"))
        next(os.scandir(folder), None)  # an unreadable folder globs as empty
    except OSError as exc:
        raise CatalogueError(
            f"{folder}: cannot be read ({exc.strerror or exc}); make it readable to you"
        ) from None
    if not files:
        raise CatalogueError(f"{folder}: no .toml files found")
    return files


def _load_intents(root: Path) -> dict[str, Intent]:
    intents: dict[str, Intent] = {}
    for path in _toml_files(root / "intents"):
        for intent_id, data in read_toml(path).items():
            if intent_id in intents:
                raise fail(path, intent_id, "intent id defined twice")
            intents[intent_id] = Intent.from_dict(intent_id, data, path)
    return intents


def _load_lines(root: Path) -> dict[str, str]:
    """Every sentence in ``lines/*.toml``, checked against :data:`LINE_FIELDS`."""
    lines: dict[str, str] = {}
    for path in _toml_files(root / "lines"):
        for key, text in read_toml(path).items():
            if not isinstance(text, str) or not text.strip():
                raise fail(path, key, "must be a non-empty sentence string")
            if key in lines:
                raise fail(path, key, "sentence key defined in two lines files")
            _check_line(path, key, text)
            lines[key] = text.strip()
    missing = sorted(set(LINE_FIELDS) - set(lines))
    if missing:
        raise CatalogueError(
            f"{root / 'lines'}: no sentence '{missing[0]}' in any lines file"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "; add it, see prompts/README.md"
        )
    return lines


def _check_line(path: Path, key: str, text: str) -> None:
    """A known key whose template uses only the fields the program fills in."""
    extra = key.startswith((CAUTION_PREFIX, RED_FLAG_PREFIX, MORE_PREFIX, RISK_PREFIX))
    allowed = LINE_FIELDS.get(key, () if extra else None)
    if allowed is None:
        raise fail(path, key, "unknown sentence key: the program never says it (a typo?)")
    used = sentence_fields(path, key, text)
    for name in sorted(used - set(allowed)):
        valid = ", ".join(f"{{{f}}}" for f in allowed) or "none (write {{ and }} for braces)"
        raise fail(path, key, f"unknown field {{{name}}}; valid fields: {valid}")
