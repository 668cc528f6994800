"""The test-speech helpers themselves (``tests/speech.py``): how the benchmark's noise is mixed."""

from __future__ import annotations

import numpy as np
import pytest
import speech

from voice_coach import audio


def test_noise_is_mixed_in_from_where_it_sounds() -> None:
    """A recording that starts quiet (the babble's first second) would leave a short question
    clean: the benchmark's noisy files start the noise where it sounds."""
    rng = np.random.default_rng(0)
    noise = np.concatenate(
        [np.zeros(audio.SAMPLE_RATE), rng.normal(0, 3000, 4 * audio.SAMPLE_RATE)]
    )
    noise = noise.astype(np.int16)
    assert speech.sounding_start(noise) == audio.SAMPLE_RATE
    question = (8000 * np.sin(np.arange(audio.SAMPLE_RATE) / 5.0)).astype(np.int16)
    mixed = speech.mix(question, noise, 10).astype(np.float64)
    assert np.std(mixed[:1600] - question[:1600]) > 100  # noise from the first sample on
    old = speech.mix(question, noise, 10, start=0).astype(np.float64)
    assert np.std(old[:1600] - question[:1600]) < 1


def test_the_babble_recording_sounds_from_just_after_its_first_second() -> None:
    """The README gives 1.05 s: before it the recording is nearly silent."""
    babble = [n for n in speech.noise_files() if n.stem == "babble-mix_1"]
    if not babble:
        pytest.skip("needs the real recordings in ../shared/eval-audio/noise")
    assert speech.sounding_start(audio.read_audio(babble[0])) == int(1.05 * audio.SAMPLE_RATE)


def test_a_cache_mixed_the_old_way_is_mixed_again(tmp_path) -> None:  # noqa: ANN001
    stale = tmp_path / "flite_slt" / "snr10_babble-mix_1"
    stale.mkdir(parents=True)
    (stale / "question.wav").write_bytes(b"old")
    clean = tmp_path / "flite_slt" / "question.wav"
    clean.write_bytes(b"clean")
    speech.SpeechMaker(tmp_path)
    assert not stale.exists() and clean.exists()
    stale.mkdir()
    speech.SpeechMaker(tmp_path)  # stamped now: a new mix is kept
    assert stale.exists()
