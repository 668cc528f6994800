"""The prompts/ catalogue: complete, valid, reachable; broken files give one clear error."""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from voice_coach import catalogue
from voice_coach.catalogue import SLOT_NAMES, template_fields
from voice_coach.dialogue import Dialogue
from voice_coach.errors import CatalogueError, ExitCode

KNOWLEDGE = (
    "overview",
    "ice_heat",
    "posture",
    "support",
    "traction",
    "stretching",
    "medication",
    "prevention",
    "causes",
    "see_doctor",
    "emergency",
    "how_long",
    "activity",
    "not_covered",
)
CONTROL = (
    "start_routine",
    "stop",
    "pause",
    "resume",
    "restart",
    "repeat",
    "more",
    "skip",
    "routine_status",
    "adjust",
    "speech_adjust",
    "pain_report",
    "symptom_check",
    "help",
    "yes",
    "no",
    "unsure",
    "greeting",
    "thanks",
    "scared",
    "goodbye",
    "count",
    "timer_set",
    "timer_cancel",
    "timer_status",
)


@pytest.fixture(scope="module")
def cat() -> catalogue.Catalogue:
    return catalogue.load()


def test_every_public_intent_id_is_present_with_its_kind(cat):
    assert set(cat.intents) == set(KNOWLEDGE) | set(CONTROL)
    assert all(cat.intents[i].kind == "knowledge" for i in KNOWLEDGE)
    assert all(cat.intents[i].kind == "control" for i in CONTROL)


def test_every_intent_has_enough_phrasings_and_an_answer(cat):
    for intent in cat.intents.values():
        assert len(intent.phrases) >= (8 if intent.kind == "knowledge" else 3), intent.id
        assert intent.answer.endswith((".", "?")), intent.id


def test_answers_carry_the_seed_facts(cat):
    assert "medical practitioner" in cat.intent("see_doctor").answer
    assert "supervision of a medical practitioner" in cat.intent("traction").answer
    stretch = cat.intent("stretching").answer
    for fact in ("flat on your back", "knee", "chest", "ten to fifteen seconds", "other knee"):
        assert fact in stretch
    assert stretch.endswith("?") and cat.intent("stretching").offer == "knee-to-chest"
    ice = cat.intent("ice_heat").answer
    assert ice.index("ice") < ice.index("heat") and "swelling" in ice


def test_no_answer_names_a_dose_or_a_treatment_duration(cat):
    """The seed gives no dose and no icing time; the only duration is the stretch hold."""
    import re

    for intent in cat.intents.values():
        texts = [intent.answer, *intent.slot_answers.values()]
        for text in texts:
            assert not re.search(r"\b(mg|milligram|tablets? a day|times a day)\b", text), intent.id
            if intent.id != "stretching":
                assert not re.search(r"\b(minutes?|hours?)\b", text) or "{" in text, intent.id


def test_slot_templates_use_only_declared_slots(cat):
    for intent in cat.intents.values():
        assert set(intent.slots) <= set(SLOT_NAMES)
        for key, text in intent.slot_answers.items():
            assert template_fields(text) <= set(key.split("+"))


def test_lines_the_dialogue_needs_exist(cat):
    assert "not medical advice" in cat.line("safety_notice")
    assert "medical practitioner" in cat.line("safety_notice")


def test_every_red_flag_answer_says_to_see_a_medical_practitioner(cat):
    keys = [key for key in cat.lines if key.startswith(catalogue.RED_FLAG_PREFIX)]
    assert len(keys) >= 5  # the general answer and the rules' own lines
    for key in keys + ["leg_pain_no", "leg_pain_unsure", "symptom_no"]:
        assert "see a medical practitioner" in cat.line(key), key
    assert "see a medical practitioner" in cat.intent("symptom_check").answer
    assert "medical practitioner" in cat.line("stretch_after_red_flag")


def _line_calls() -> list[tuple[str, set[str], str]]:
    """Every ``….line("key", field=…)`` / ``_line("key", …)`` call in the package with a
    literal key: (key, the fields it passes, where)."""
    calls = []
    for path in sorted(Path(catalogue.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            key = node.args[0]
            if name in ("line", "_line") and isinstance(key, ast.Constant):
                fields = {k.arg for k in node.keywords if k.arg}
                calls.append((key.value, fields, f"{path.name}:{node.lineno}"))
    return calls


def test_every_sentence_the_code_says_is_declared_with_the_fields_it_gets(cat):
    calls = _line_calls()
    assert len(calls) > 40
    wrong = [
        (key, sorted(fields), where)
        for key, fields, where in calls
        if key not in catalogue.LINE_FIELDS or fields != set(catalogue.LINE_FIELDS[key])
    ]
    assert not wrong, f"calls not matching LINE_FIELDS: {wrong}"
    for key, fields in catalogue.LINE_FIELDS.items():  # every declared field can be filled
        assert "{" not in cat.line(key, **dict.fromkeys(fields, "x"))


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        (
            "routine",
            "{duration}.",
            "{duraton}.",
            r"unknown field \{duraton\}; valid fields: \{duration\}",
        ),
        ("dialogue", 'fallback = "Sorry,', 'fallback = "Sorry {name},', "valid fields: none"),
        ("dialogue", "fallback_again =", "fallback_agian =", "unknown sentence key"),
        ("dialogue", "offer_declined =", "# offer_declined =", "no sentence 'offer_declined'"),
        ("dialogue", "{wake_word}", "{wake_word", "bad {field}"),
        ("dialogue", 'fallback = "Sorry,', 'fallback = "Sorry {},', "a field is a bare"),
        ("dialogue", "{wake_word}", "{wake_word!r}", "a field is a bare"),
    ],
)
def test_sentence_mistakes_are_refused_at_load(tmp_path, file, old, new, problem):
    root = _copy(tmp_path)
    path = root / "lines" / f"{file}.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(CatalogueError, match=problem) as err:
        catalogue.load(root)
    assert str(path.parent) in str(err.value)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(catalogue.prompts_dir(), root)
    return root


def test_broken_toml_names_file_and_line(tmp_path):
    root = _copy(tmp_path)
    path = root / "intents" / "knowledge.toml"
    path.write_text(path.read_text() + "\n[broken\n")
    with pytest.raises(CatalogueError) as err:
        catalogue.load(root)
    assert str(path) in str(err.value) and "line" in str(err.value)
    assert err.value.exit_code == ExitCode.MISSING_RESOURCE


def test_incomplete_entry_names_file_entry_line_and_problem(tmp_path):
    root = _copy(tmp_path)
    path = root / "intents" / "control.toml"
    path.write_text(path.read_text() + '\n[extra]\nkind = "control"\nphrases = ["a", "b", "c"]\n')
    with pytest.raises(CatalogueError) as err:
        catalogue.load(root)
    message = str(err.value)
    assert f"{path}:" in message and "'extra'" in message and "'answer'" in message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('kind = "chatter"\nanswer = "Hi."\nphrases = ["a", "b", "c"]', "'kind' must be one of"),
        ('kind = "control"\nanswer = "Hi."\nphrases = ["a"]', "at least 3 phrases"),
        (
            'kind = "control"\nanswer = "Hi."\nphrases = ["a", "b", "c"]\nslots = ["colour"]',
            "valid slots",
        ),
        (
            'kind = "control"\nanswer = "Hi."\nphrases = ["a", "b", "c"]\nslots = ["reps"]\n'
            'slot_answers.reps = "{seconds} s."',
            "does not have",
        ),
        ('kind = "control"\nanswer = "Hi."\nphrases = ["a", "b", "c"]\nvoice = "x"', "valid keys"),
        (
            'kind = "control"\nanswer = "Hi."\nphrases = ["a", "b", "c"]\nspot = "stop"',
            "'spot' must be a list",
        ),
    ],
)
def test_each_schema_rule_is_enforced(tmp_path, body, problem):
    root = _copy(tmp_path)
    (root / "intents" / "zz.toml").write_text(f"[extra]\n{body}\n")
    with pytest.raises(CatalogueError, match=problem):
        catalogue.load(root)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('name = "sciatica"', 'name = ""', "needs a name"),
        ('groups = [["sciatic"]]', "groups = []", "'groups' must be"),
        ('groups = [["sciatic"]]', "groups = [[]]", "'groups' must be"),
        ('examples = ["i think i have sciatica"]', "examples = []", "'examples' must"),
        ('legs = ["leg", ', 'legs = [1, "leg", ', "'legs' must be"),
        ('sciatica = "S AY AE T IH K AH"', "sciatica = 3", "'sciatica': give a lower-case"),
        (
            'ignore = ["i fell asleep", "i fell back asleep", "slipped',
            'ignore = [1, "slipped',
            "'ignore' must",
        ),
        ('\nmedication = ["codeine"', '\nmedicine = ["allergic"', "'medicine' is no intent"),
        ('\nmedication = ["codeine"', '\nposture = ["allergic"', "needs a line 'caution_posture'"),
        ('\nmedication = ["codeine", ', "\nmedication = [", None),
        ('joins = ["and then", ', "joins = [3, ", "'joins' must be a non-empty list"),
        (
            'line = "red_flag_chest"',
            'line = "red_flag_chset"',
            "'line' 'red_flag_chset' is no line",
        ),
        (
            'line = "red_flag_pregnancy"',
            'line = "red_flag_leg"',
            "'red_flag_pregnancy' is named by no",
        ),
        ('line = "risk_burn"', 'line = "risk_brun"', "'line' 'risk_brun' is no line"),
        ('line = "risk_burn"', 'line = "risk_stretch"', "'risk_burn' is named by no"),
        (
            'intents = ["ice_heat"]\nwords = ["a burn"',
            'intents = ["icing"]\nwords = ["a burn"',
            "'icing'",
        ),
        ('words = ["a burn", ', "words = [2, ", "'words' must be"),
        ("remember = true", 'remember = "yes"', "'remember' must be true or false"),
        ("alone = false\nline", "alone = 0\nline", "'alone' must be true or false"),
        ('instead_of = ["repeat"', 'instead_of = ["repeet"', "are no intents"),
        ('greeting = ["are you still', 'greting = ["are you still', "'greting' is no intent"),
        ('greeting = ["are you still', "greeting = 3 #", "'greeting' must be"),
        ("under_age = 18", "under_age = 0", "'under_age' must be a whole number"),
        ("under_age = 18", 'under_age = "18"', "'under_age' must be a whole number"),
        ("under_age = 18\n\n# A statement", "under_age = true\n\n#", "'under_age' must be a whole"),
        ('name = "a burn from heat or cold"', 'name = ""', "needs a name"),
    ],
)
def test_red_flags_denials_and_pronunciations_are_checked_at_load(tmp_path, old, new, problem):
    """A rule with no groups would make every sentence a red flag."""
    root = _copy(tmp_path)
    path = root / "language.toml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    if problem is None:  # a control: the edit alone keeps the catalogue valid
        catalogue.load(root)
        return
    with pytest.raises(CatalogueError, match=problem) as err:
        catalogue.load(root)
    assert str(path) in str(err.value)


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    root = _copy(tmp_path)
    (root / "lines" / "zz.toml").write_bytes(b"\xff\xfe = 1\n")
    with pytest.raises(CatalogueError, match="zz.toml: not UTF-8"):
        catalogue.load(root)


def test_duplicate_intent_and_line_keys_are_refused(tmp_path):
    root = _copy(tmp_path)
    (root / "intents" / "zz.toml").write_text(
        '[stop]\nkind = "control"\nanswer = "Hi."\nphrases = ["a", "b", "c"]\n'
    )
    with pytest.raises(CatalogueError, match="defined twice"):
        catalogue.load(root)
    (root / "intents" / "zz.toml").unlink()
    (root / "lines" / "zz.toml").write_text('fallback = "Again."\n')
    with pytest.raises(CatalogueError, match="two lines files"):
        catalogue.load(root)


def test_missing_folder_and_missing_offered_routine(tmp_path):
    with pytest.raises(CatalogueError, match="prompts folder not found"):
        catalogue.load(tmp_path / "nowhere")
    root = _copy(tmp_path)
    (root / "routines" / "knee-to-chest.toml").unlink()
    with pytest.raises(CatalogueError, match="knee-to-chest"):
        catalogue.load(root)


def test_broken_prompts_give_one_line_and_exit_3_from_the_cli(tmp_path, monkeypatch, capsys):
    from voice_coach import cli

    root = _copy(tmp_path)
    (root / "lines" / "dialogue.toml").write_text("fallback = \n")
    monkeypatch.setenv("VOICE_COACH_PROMPTS", str(root))
    catalogue.default.cache_clear()
    from voice_coach import understand

    understand._default_matcher.cache_clear()
    try:
        code = cli.main(["ask", "hello"])
    finally:
        catalogue.default.cache_clear()
        understand._default_matcher.cache_clear()
    err = capsys.readouterr().err
    assert code == ExitCode.MISSING_RESOURCE
    assert str(root / "lines" / "dialogue.toml") in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


LANGUAGE = tomllib.loads((catalogue.prompts_dir() / "language.toml").read_text())
ENTRIES = [(table, None) for table in LANGUAGE] + [
    (table, key)
    for table, value in LANGUAGE.items()
    if isinstance(value, dict) and table not in catalogue.PHRASE_TABLES
    for key in value
]
SAID = [
    "how do i stretch my back",
    "i can't get up and my leg is numb",
    "remind me in 10 minutes to take my ice off",
    "cancel all timers",
    "speak up please",
    "count down from ten",
    "um what do i do now",
    "thanks, what about heat",
    "hold for twenty seconds, two rounds",
    "stop and set a timer for half an hour",
]


@pytest.mark.parametrize(("change"), ["left out", "of the wrong type"])
@pytest.mark.parametrize(("table", "key"), ENTRIES)
def test_every_language_entry_is_checked_at_load_or_can_be_left_out(table, key, change):
    """A broken language.toml is refused naming the file and the table; whatever passes the
    check runs: the matcher and the dialogue read nothing the check let through broken."""
    cat = catalogue.default()
    language = {k: dict(v) if isinstance(v, dict) else v for k, v in LANGUAGE.items()}
    holder = language if key is None else language[table]
    if change == "left out":
        del holder[key or table]
    else:  # a number where words are due, words where a number is
        holder[key or table] = "5" if isinstance(holder[key or table], int) else 5
    path = cat.root / "language.toml"
    try:
        catalogue.check_language(path, language, cat.intents, cat.lines)
    except CatalogueError as err:
        assert f"{path}:" in str(err)
        assert f"'{table}'" in str(err)
        return
    assert change == "left out", "a value of the wrong type was let through"
    broken = replace(cat, language=language)
    talk = Dialogue(broken)
    for text in SAID:
        talk.handle(text)


@pytest.mark.parametrize("key", ["more_stop", "more_nothing"])
def test_a_more_line_must_name_a_knowledge_intent(tmp_path, key):
    root = _copy(tmp_path)
    (root / "lines" / "zz.toml").write_text(f'{key} = "More."\n')
    with pytest.raises(CatalogueError, match=f"'{key}' names no knowledge intent; valid: overview"):
        catalogue.load(root)


@pytest.mark.parametrize(
    ("phrase", "problem"),
    [("how do i {treat a back spasm", "bad {field}"), ("how do i {foo} it", "unknown field {foo}")],
)
def test_a_phrase_with_a_field_the_program_cannot_fill_is_refused(tmp_path, phrase, problem):
    root = _copy(tmp_path)
    path = root / "intents" / "knowledge.toml"
    text = path.read_text()
    assert '"how do i treat a back spasm",' in text
    path.write_text(text.replace('"how do i treat a back spasm",', f'"{phrase}",', 1))
    with pytest.raises(CatalogueError, match=re.escape(problem)) as err:
        catalogue.load(root)
    assert f"{path}:" in str(err.value)
