"""PocketSphinx engine (the embedded default), engine selection and the catalogue grammar.

Real engine, real synthetic speech (Piper, flite, espeak-ng) and real human recordings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import speech

from voice_coach import audio, catalogue, recognise
from voice_coach.errors import CatalogueError, ResourceMissing, UsageError
from voice_coach.understand import understand

QUESTIONS = [
    ("how do i stretch my lower back", "stretching"),
    ("is it better to use ice or heat", "ice_heat"),
    ("should i see a doctor about my back", "see_doctor"),
    ("can i take anti inflammatory tablets", "medication"),
    ("what causes a back spasm", "causes"),
    ("stop", "stop"),
    ("pause", "pause"),
    ("carry on", "resume"),
    ("yes please", "yes"),
    ("set a timer for ten minutes", "timer_set"),
]


@pytest.fixture(scope="session")
def maker(tmp_path_factory: pytest.TempPathFactory) -> speech.SpeechMaker:
    return speech.SpeechMaker(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def sphinx() -> recognise.Recogniser:
    from voice_coach.recognise_sphinx import SphinxRecogniser

    return SphinxRecogniser(catalogue=catalogue.default())


def heard(recogniser: recognise.Recogniser, path: Path) -> str | None:
    return understand(recogniser.transcribe(audio.file_chunks(path)).text).intent


def test_grammar_phrases_expand_numbers_and_normalise() -> None:
    phrases = recognise.grammar_phrases(catalogue.default())
    assert "how do i stretch my back" in phrases
    assert "coach" in phrases  # the wake word is learnt too
    assert "jarvis" in recognise.grammar_phrases(catalogue.default().with_wake_word("jarvis"))
    assert "set a timer for ten minutes" in phrases
    assert not any("{" in p or p != p.lower() for p in phrases)
    assert len(phrases) == len(set(phrases))


def test_expand_numbers_gives_each_sample() -> None:
    out = recognise.expand_numbers("do {reps} reps")
    assert out == [f"do {w} reps" for w in recognise.NUMBER_SAMPLES["reps"]]


@pytest.mark.parametrize(
    ("voice", "most_wrong"), [("piper_joe", 1), ("flite_slt", 1), ("espeak", 7)]
)
def test_spoken_questions_reach_their_intent(
    sphinx: recognise.Recogniser, maker: speech.SpeechMaker, voice: str, most_wrong: int
) -> None:
    """Targets: >= 90 % on Piper and flite; the robotic espeak-ng voice is much harder."""
    if voice not in set(speech.voices_available()):
        pytest.skip(f"voice {voice} is not installed")
    results = [(text, want, heard(sphinx, maker.say(text, voice))) for text, want in QUESTIONS]
    wrong = [r for r in results if r[1] != r[2]]
    print(f"{voice}: {len(results) - len(wrong)}/{len(results)} right; wrong: {wrong}")
    assert len(wrong) <= most_wrong, wrong


@pytest.mark.parametrize("voice", ["piper_joe", "flite_slt"])
def test_the_newer_intents_and_two_requests_are_heard_when_spoken(
    sphinx: recognise.Recogniser, maker: speech.SpeechMaker, voice: str
) -> None:
    """An emergency, a greeting, "start over", questions the article does not answer, a
    nerve sign and "stop and set a timer": 9 of 10 per voice in one run."""
    if voice not in set(speech.voices_available()):
        pytest.skip(f"voice {voice} is not installed")
    wrong = []
    for text, want in speech.NEWER_QUESTIONS:
        said = sphinx.transcribe(audio.file_chunks(maker.say(text, voice))).text
        heard_now = understand(said)
        got = (heard_now.intent, *(more.intent for more in heard_now.also))
        if got != want:
            wrong.append((text, said, got))
    print(f"{voice}: {len(speech.NEWER_QUESTIONS) - len(wrong)} right; wrong: {wrong}")
    assert len(wrong) <= 3, wrong


@pytest.mark.parametrize("voice", ["piper_joe", "flite_slt"])
def test_spoken_red_flags_reach_see_doctor(
    sphinx: recognise.Recogniser, maker: speech.SpeechMaker, voice: str
) -> None:
    """The development set's red flags, none among the rules' `examples` that the
    recogniser's language model learns: the README gives the figures of one run. Before the
    red flags' example sentences were in the model, 6 and 7 of the first 21 were heard;
    before every word of the rules was, 35 and 36 of 49 ("my ankle" heard as "my an
    call"). A nerve sign heard without its place is asked about ("symptom_check")."""
    if voice not in set(speech.voices_available()):
        pytest.skip(f"voice {voice} is not installed")
    texts = speech.DEV_RED_FLAGS
    missed = [(t, h) for t in texts if (h := heard(sphinx, maker.say(t, voice))) != "see_doctor"]
    fresh = texts[-speech.FRESH_RED_FLAGS :]
    fresh_heard = len(fresh) - sum(t in fresh for t, _ in missed)
    asked = sum(h == "symptom_check" for _, h in missed)
    print(
        f"{voice}: {len(texts) - len(missed)}/{len(texts)} red flags heard "
        f"({fresh_heard}/{len(fresh)} of those written afresh), {asked} more asked whether "
        f"it is in a leg; missed: {missed}"
    )
    assert len(texts) - len(missed) >= 0.75 * len(texts), missed
    assert len(texts) - len(missed) + asked >= 0.85 * len(texts), missed


@pytest.mark.parametrize("voice", ["piper_joe", "flite_slt"])
def test_the_wake_word_alone_is_heard(
    sphinx: recognise.Recogniser, maker: speech.SpeechMaker, voice: str
) -> None:
    """After "goodbye" the coach waits for "coach"; it was heard as "belt" before the
    recogniser learnt the wake word."""
    if voice not in set(speech.voices_available()):
        pytest.skip(f"voice {voice} is not installed")
    text = sphinx.transcribe(audio.file_chunks(maker.say("coach", voice))).text
    assert text == "coach"


def test_synthetic_out_of_scope_is_rejected(
    sphinx: recognise.Recogniser, maker: speech.SpeechMaker
) -> None:
    results = {t: heard(sphinx, maker.say(t, "flite_slt", "oov_")) for t in speech.OUT_OF_SCOPE}
    accepted = {t: i for t, i in results.items() if i is not None}
    rate = 1 - len(accepted) / len(results)
    print(f"synthetic out-of-scope rejected {rate:.0%}; accepted: {accepted}")
    assert rate >= 0.8


def test_real_out_of_scope_sentences_are_rejected(sphinx: recognise.Recogniser) -> None:
    pairs = [(p, t) for p, t in speech.real_sentences() if understand(t).intent is None]
    if not pairs:
        pytest.skip(f"no real recordings in {speech.EVAL_AUDIO / 'sentences'}")
    accepted = {p.name: i for p, _ in pairs if (i := heard(sphinx, p)) is not None}
    rate = 1 - len(accepted) / len(pairs)
    print(f"real out-of-scope rejected {rate:.0%} of {len(pairs)}; accepted: {accepted}")
    assert rate >= 0.8
    jfk = speech.EVAL_AUDIO / "sentences" / "jfk_inaugural_1961.wav"
    if jfk.is_file():
        assert heard(sphinx, jfk) is None


def streamed(recogniser: recognise.Recogniser, path: Path) -> str | None:
    """The intent of a clip streamed as a microphone hears it, with half a second of quiet
    around it."""
    quiet = np.zeros(audio.SAMPLE_RATE // 2, dtype=np.int16)
    samples = np.concatenate([quiet, audio.read_audio(path), quiet])
    recogniser.reset()
    finals = [t.text for t in recogniser.stream(audio.chunks_of(samples)) if t.is_final]
    return understand(" ".join(finals)).intent


@pytest.mark.parametrize("how", [heard, streamed], ids=["transcribed", "streamed"])
def test_real_command_words_are_recognised(sphinx: recognise.Recogniser, how) -> None:  # noqa: ANN001
    files = [(w, p) for w in ("stop", "yes", "no") for p in speech.command_files(w)]
    if not files:
        pytest.skip(f"no real command recordings in {speech.EVAL_AUDIO / 'commands'}")
    right = {w: 0 for w in ("stop", "yes", "no")}
    for word, path in files:
        right[word] += how(sphinx, path) == word
    rate = sum(right.values()) / len(files)
    print(f"real commands {how.__name__}: {right} of {len(files)} -> {rate:.0%}")
    assert rate >= 0.8


def test_stream_gives_partials_then_one_final_per_utterance(
    sphinx: recognise.Recogniser, maker: speech.SpeechMaker
) -> None:
    first = maker.say("how do i stretch my lower back", "flite_slt")
    second = maker.say("stop", "flite_slt")
    samples = speech.concat([first, second], gap_seconds=1.0)
    sphinx.reset()
    out = list(sphinx.stream(audio.chunks_of(samples)))
    finals = [t for t in out if t.is_final]
    assert [understand(t.text).intent for t in finals] == ["stretching", "stop"]
    assert any(not t.is_final and t.text for t in out)
    assert finals[0].audio_seconds < finals[1].audio_seconds <= len(samples) / audio.SAMPLE_RATE
    assert all(t.engine == "pocketsphinx" and t.confidence is None for t in out)


def test_silence_gives_no_final(sphinx: recognise.Recogniser) -> None:
    sphinx.reset()
    silence = np.zeros(audio.SAMPLE_RATE * 2, dtype=np.int16)
    assert [t for t in sphinx.stream(audio.chunks_of(silence)) if t.is_final] == []
    assert sphinx.transcribe(audio.chunks_of(silence)).text == ""


def test_select_engine_auto_without_english_vosk_uses_pocketsphinx(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from voice_coach import models

    monkeypatch.setattr(models, "find_vosk_model", lambda explicit=None, language="en": None)
    rec = recognise.select_engine("auto")
    assert rec.name == "pocketsphinx"
    assert "pocketsphinx" in capsys.readouterr().err


def test_select_engine_vosk_without_model_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voice_coach import models

    monkeypatch.setattr(models, "find_vosk_model", lambda explicit=None, language="en": None)
    with pytest.raises(ResourceMissing, match="voice-coach models download"):
        recognise.select_engine("vosk")


def test_select_engine_unknown_lists_choices() -> None:
    with pytest.raises(UsageError, match="auto, vosk, pocketsphinx"):
        recognise.select_engine("whisper")


def test_a_cache_folder_that_cannot_be_written_falls_back_to_a_temporary_one(tmp_path):
    """A read-only or misconfigured cache costs a rebuild, not a traceback."""
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    env = {**os.environ, "XDG_CACHE_HOME": str(not_a_folder)}
    code = "from voice_coach.recognise_sphinx import cache_folder; print(cache_folder())"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "cannot write the cache folder" in result.stderr and "XDG_CACHE_HOME" in result.stderr
    assert not result.stdout.strip().startswith(str(not_a_folder))


def test_every_word_of_the_phrasings_can_be_heard() -> None:
    """A phrasing with a word PocketSphinx has no pronunciation for is left out of its
    language model, so "do muscle relaxants help" was heard as "… relax it's …" and
    "call 999" could not be heard at all. Keywords may be word stems ("tingl")."""
    import pocketsphinx

    from voice_coach.recognise_sphinx import dictionary_words

    cat = catalogue.default()
    known = dictionary_words(pocketsphinx) | set(cat.language["pronunciations"])
    stems = {w for i in cat.intents.values() for k in i.keywords for w in k.split()}
    unheard = {w for p in recognise.grammar_phrases(cat) for w in p.split() if w not in known}
    assert unheard - stems <= {"owww"}, f"add to [pronunciations] in language.toml: {unheard}"
    phrases = set(recognise.grammar_phrases(cat))
    assert {"call nine nine nine", "should i call one one one", "out of ten"} <= phrases


def test_every_word_the_red_flags_listen_for_can_be_heard(sphinx: recognise.Recogniser) -> None:
    """The rules' words are in the main pass's model even where no phrasing uses them
    ("calf" and "ankle" are not among the common words); a stem ("tingl")
    brings the words it begins; a digit is heard as its words."""
    import pocketsphinx

    from voice_coach.recognise_sphinx import dictionary_words, red_flag_words

    cat = catalogue.default()
    language = cat.language
    known = dictionary_words(pocketsphinx) | set(language["pronunciations"])
    words = red_flag_words(cat, known)
    items = [i for rule in language["red_flags"] for g in rule["groups"] for i in g]
    for item in items + language["leg_denial"]["leg_pain_places"]:
        for word in item.split():
            if word.isdigit():  # heard as said ("c section 2 weeks": "two"), then read as 2
                said = recognise.spoken_numbers(word, language["numbers"]).split()
                assert all(sphinx._main.lookup_word(w) for w in said), (item, word)  # noqa: SLF001
                continue
            assert word in words or any(w.startswith(word) for w in words), (item, word)
    assert {"calf", "ankle", "ankles", "tingling", "collapsed", "shins", "tumour"} <= set(words)
    assert all(sphinx._main.lookup_word(w) for w in words)  # noqa: SLF001
    assert {"calf", "ankle", "ankles"}.isdisjoint(
        {w for p in recognise.grammar_phrases(cat) for w in p.split()}
    )  # not from the phrasings, so from the rules


def test_numbers_are_spoken_as_people_say_them() -> None:
    numbers = catalogue.default().language["numbers"]
    said = {
        "call 999": "call nine nine nine",
        "dial 112 now": "dial one one two now",
        "out of 10": "out of ten",
        "hold 25 seconds": "hold twenty five seconds",
        "30": "thirty",
        "no numbers": "no numbers",
    }
    assert {text: recognise.spoken_numbers(text, numbers) for text in said} == said


def test_a_pronunciation_with_unknown_phones_names_the_file() -> None:
    from dataclasses import replace

    from voice_coach.errors import CatalogueError
    from voice_coach.recognise_sphinx import SphinxRecogniser

    cat = catalogue.default()
    bad = replace(cat, language={**cat.language, "pronunciations": {"sciatica": "S XQ AE"}})
    with pytest.raises(CatalogueError, match=r"language\.toml.*'sciatica'.*XQ"):
        SphinxRecogniser(catalogue=bad)


def test_a_pronunciation_with_unknown_phones_is_named_and_a_good_one_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice_coach import recognise_sphinx

    monkeypatch.setattr(recognise_sphinx, "cache_folder", lambda: tmp_path)
    text = "back B AE K\nbank B AE NG K\nknee N IY\nknee(2) N EY\n"
    source = tmp_path / "language.toml"
    with pytest.raises(CatalogueError, match="'bak'.*phones the speech model does not have"):
        recognise_sphinx.cached_dictionary(text, {"back"}, {"bak": "B QQ K"}, source)
    path = recognise_sphinx.cached_dictionary(
        text, {"back", "knee", "bak"}, {"bak": "B AE K"}, source
    )
    assert path.read_text() == "back B AE K\nknee N IY\nknee(2) N EY\nbak B AE K\n"
    again = recognise_sphinx.cached_dictionary(
        text, {"back", "knee", "bak"}, {"bak": "B AE K"}, source
    )
    assert again == path
    kept = recognise_sphinx.cached_dictionary(text, {"back"}, {"back": "B AE NG"}, source)
    assert kept.read_text() == "back B AE K\n"  # the dictionary's own pronunciation stays


def test_a_damaged_cache_is_built_anew_and_writers_at_once_do_not_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, maker: speech.SpeechMaker
) -> None:
    from voice_coach import recognise_sphinx
    from voice_coach.recognise_sphinx import SphinxRecogniser

    monkeypatch.setattr(recognise_sphinx, "cache_folder", lambda: tmp_path)
    SphinxRecogniser(denoise=False)
    built = sorted(tmp_path.glob("lm-*.arpa"))
    assert len(built) == 2
    for path in built:
        path.write_text("garbage\n")
    (tmp_path / f"common-{recognise_sphinx.COMMON_WORDS}.txt").write_bytes(b"\xff\xfe")
    question = maker.say("how do i stretch my back", "flite_slt")
    heard = SphinxRecogniser(denoise=False).transcribe(audio.file_chunks(question))
    assert heard.text == "how do i stretch my back"
    assert sorted(tmp_path.glob("lm-*.arpa")) == built
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    script = (
        "import sys; from voice_coach import recognise_sphinx as r; from pathlib import Path\n"
        "for i in range(200): r.write_atomic(Path(sys.argv[1]) / 'same.txt', sys.argv[2] * 5000)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), c], env=env) for c in "ab"
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert (tmp_path / "same.txt").read_text() in ("a" * 5000, "b" * 5000)
