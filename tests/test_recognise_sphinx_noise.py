"""PocketSphinx engine in real noise: RNNoise suppression and the clean/noisy gate.

Real engine, real synthetic speech mixed with real noise recordings at 10 dB SNR.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import speech

from voice_coach import audio, catalogue
from voice_coach.understand import understand

pytest.importorskip("pyrnnoise", reason="noise suppression needs the pyrnnoise library")

QUESTIONS = [
    ("how do i stretch my lower back", "stretching"),
    ("is it better to use ice or heat", "ice_heat"),
    ("what causes a back spasm", "causes"),
    ("speak more slowly", "speech_adjust"),
    ("hold for twenty seconds", "adjust"),
    ("set a timer for ten minutes", "timer_set"),
    ("should i see a doctor about my back", "see_doctor"),
    ("what painkillers should i take", "medication"),
    ("how can i make my back muscles stronger", "prevention"),
    ("does bad posture cause back pain", "posture"),
]


@pytest.fixture(scope="module")
def maker(tmp_path_factory: pytest.TempPathFactory) -> speech.SpeechMaker:
    return speech.SpeechMaker(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="module")
def noisy(maker: speech.SpeechMaker) -> list[tuple[np.ndarray, str]]:
    """Each question by Piper mixed with a different real noise at 10 dB SNR."""
    noises = speech.noise_files()
    if not noises or "piper_joe" not in set(speech.voices_available()):
        pytest.skip("needs the Piper voice and real noise in eval-audio/noise")
    return [
        (speech.mix(audio.read_audio(maker.say(text, "piper_joe")), audio.read_audio(n), 10), want)
        for (text, want), n in zip(QUESTIONS, noises * 2, strict=False)
    ]


def right(recogniser, samples: list[tuple[np.ndarray, str]]) -> int:  # noqa: ANN001
    return sum(
        understand(recogniser.transcribe(audio.chunks_of(pcm)).text).intent == want
        for pcm, want in samples
    )


def streamed(recogniser, pcm: np.ndarray) -> str:  # noqa: ANN001
    """The finals heard in ``pcm`` streamed as from a microphone, with a second of room after."""
    recogniser.reset()
    tail = pcm[-audio.SAMPLE_RATE :]  # the same noise goes on after the question
    chunks = audio.chunks_of(np.concatenate([pcm, tail]))
    return " ".join(t.text for t in recogniser.stream(chunks) if t.is_final and t.text)


def test_noise_suppression_hears_more_questions_in_noise(noisy) -> None:  # noqa: ANN001
    from voice_coach.recognise_sphinx import SphinxRecogniser

    plain = right(SphinxRecogniser(catalogue.default(), denoise=False), noisy)
    cleaned = right(SphinxRecogniser(catalogue.default(), denoise=True), noisy)
    print(f"10 dB: {plain}/{len(noisy)} without, {cleaned}/{len(noisy)} with noise suppression")
    assert cleaned > plain
    assert cleaned >= 0.6 * len(noisy)


def test_streaming_picks_denoised_audio_in_noise_and_raw_audio_in_quiet(
    noisy,  # noqa: ANN001
    maker: speech.SpeechMaker,
) -> None:
    from voice_coach.recognise_sphinx import SphinxRecogniser

    plain = SphinxRecogniser(catalogue.default(), denoise=False)
    cleaned = SphinxRecogniser(catalogue.default(), denoise=True)
    scores = [
        sum(understand(streamed(rec, pcm)).intent == want for pcm, want in noisy)
        for rec in (plain, cleaned)
    ]
    print(f"10 dB streamed: {scores[0]}/{len(noisy)} without, {scores[1]}/{len(noisy)} with")
    assert scores[1] > scores[0]
    quiet = [(audio.read_audio(maker.say(t, "piper_joe")), want) for t, want in QUESTIONS]
    # Fresh recognisers: when streaming, a decoder's noise estimate and cepstral mean carry
    # over from what it heard before, which differed above.
    heard = [
        sum(understand(streamed(rec, pcm)).intent == want for pcm, want in quiet)
        for rec in (
            SphinxRecogniser(catalogue.default(), denoise=False),
            SphinxRecogniser(catalogue.default(), denoise=True),
        )
    ]
    print(f"quiet streamed: {heard[0]}/{len(quiet)} without, {heard[1]}/{len(quiet)} with")
    # Now and then the denoiser removes enough from a quiet question to have it decoded
    # denoised, which may cost that question: one miss of ten is allowed.
    assert heard[1] >= heard[0] - 1 and min(heard) >= 0.8 * len(quiet)


AFTER = [
    (
        ("can traction help my back", "kitchen-dishes"),
        ("what stretch can i do for my back", "wind"),
    ),
    (("stop", "crowd-cheering"), ("please stop", "wind")),
    (("keep going", "exercise-bike"), ("can you say that again", "kitchen-dishes")),
]
"""Pairs of (question, noise) at 10 dB SNR whose second was heard otherwise after the first,
when the front end's noise estimate and cepstral mean carried over from file to file."""


def test_a_whole_file_is_heard_alike_whatever_was_decoded_before(
    maker: speech.SpeechMaker,
) -> None:
    from voice_coach.recognise_sphinx import SphinxRecogniser

    noises = {n.stem.removesuffix("_1"): n for n in speech.noise_files()}
    if not {noise for pair in AFTER for _, noise in pair} <= set(noises):
        pytest.skip("needs the real noise recordings in eval-audio/noise")

    def pcm(text: str, noise: str) -> np.ndarray:
        return audio.read_audio(maker.noisy(maker.say(text, "piper_joe"), 10, noises[noise]))

    rec = SphinxRecogniser(catalogue.default())
    for first, second in AFTER:
        alone = SphinxRecogniser(catalogue.default()).transcribe(audio.chunks_of(pcm(*second)))
        rec.transcribe(audio.chunks_of(pcm(*first)))
        assert rec.transcribe(audio.chunks_of(pcm(*second))).text == alone.text, second


def test_denoiser_keeps_length_and_quietens_noise() -> None:
    from voice_coach.recognise_sphinx import Denoiser

    noises = speech.noise_files()
    if not noises:
        pytest.skip("no real noise recordings in eval-audio/noise")
    noise = audio.read_audio(next(n for n in noises if "tap" in n.stem or n == noises[-1]))
    noise = noise[: 3 * audio.SAMPLE_RATE]
    denoiser = Denoiser()
    out = b"".join(denoiser.process(c) for c in audio.chunks_of(noise)) + denoiser.flush()
    cleaned = np.frombuffer(out, dtype=np.int16).astype(np.float64)
    assert abs(len(cleaned) - len(noise)) <= 480
    assert np.sqrt(np.mean(cleaned**2)) < 0.5 * np.sqrt(np.mean(noise.astype(np.float64) ** 2))


def test_denoiser_removes_little_from_clean_speech_and_much_from_noisy(
    maker: speech.SpeechMaker,
) -> None:
    from voice_coach.recognise_sphinx import REMOVED_DB, Denoiser, removed_db

    def removed(samples: np.ndarray) -> float:
        denoiser = Denoiser()
        return removed_db(samples.tobytes(), denoiser.process(samples.tobytes()) + denoiser.flush())

    clean = audio.read_audio(maker.say(QUESTIONS[0][0], "piper_joe"))
    assert removed(clean) < REMOVED_DB
    noises = speech.noise_files()
    if not noises:
        pytest.skip("no real noise recordings in eval-audio/noise")
    for noise in noises:
        assert removed(speech.mix(clean, audio.read_audio(noise), 10)) >= REMOVED_DB, noise.name


def test_the_raw_audio_mixed_back_lines_up_with_the_denoised(maker: speech.SpeechMaker) -> None:
    """DENOISER_DELAY is RNNoise's real lag here, so the raw audio added back reinforces the
    denoised speech instead of smearing it."""
    from voice_coach.recognise_sphinx import DENOISER_DELAY, Denoiser, with_raw

    raw = audio.read_audio(maker.say(QUESTIONS[0][0], "piper_joe")).tobytes()
    denoiser = Denoiser()
    clean = denoiser.process(raw) + denoiser.flush()
    x = np.frombuffer(raw, dtype=np.int16).astype(np.float64)
    y = np.frombuffer(clean, dtype=np.int16).astype(np.float64)
    lags = range(0, 2 * DENOISER_DELAY + 1)
    best = max(lags, key=lambda lag: float(np.dot(x[: len(x) - lag], y[lag:])))
    assert abs(best - DENOISER_DELAY) <= 2
    assert with_raw(clean, raw, 0.0) == clean
    mixed = np.frombuffer(with_raw(clean, raw, 0.5), dtype=np.int16).astype(np.float64)
    expected = np.clip(y[DENOISER_DELAY:] + 0.5 * x[:-DENOISER_DELAY], -32768, 32767)
    assert np.allclose(mixed[DENOISER_DELAY:], expected, atol=1)


def test_speech_spans_find_the_question_and_nothing_in_silence(maker: speech.SpeechMaker) -> None:
    import pocketsphinx

    from voice_coach.recognise_sphinx import SPAN_PAD, speech_spans

    assert speech_spans(pocketsphinx, bytes(2 * audio.SAMPLE_RATE * audio.SAMPLE_WIDTH)) == []
    question = audio.read_audio(maker.say(QUESTIONS[0][0], "piper_joe"))
    pcm = np.concatenate([np.zeros(2 * audio.SAMPLE_RATE, np.int16), question])
    spans = speech_spans(pocketsphinx, pcm.tobytes())
    voiced = np.flatnonzero(np.abs(pcm) > 1000) / audio.SAMPLE_RATE
    assert spans, "no speech found in a spoken question"
    assert spans[0][0] <= voiced[0] and spans[-1][1] >= voiced[-1]
    assert spans[0][0] >= 2.0 - SPAN_PAD - 0.3  # not the leading silence


def endpointer_spans(pocketsphinx, pcm: bytes) -> list[tuple[float, float]]:  # noqa: ANN001
    """Speech spans as PocketSphinx's own ``Endpointer`` finds them (widened the same way)."""
    from voice_coach.recognise_sphinx import ENDPOINT_RATIO, ENDPOINT_WINDOW, SPAN_PAD

    endpointer = pocketsphinx.Endpointer(
        window=ENDPOINT_WINDOW, ratio=ENDPOINT_RATIO, sample_rate=audio.SAMPLE_RATE
    )
    size, spans, start = endpointer.frame_bytes, [], None
    for i in range(0, len(pcm) - size + 1, size):
        endpointer.process(pcm[i : i + size])
        if endpointer.in_speech and start is None:
            start = endpointer.speech_start
        elif not endpointer.in_speech and start is not None:
            spans.append((start - SPAN_PAD, endpointer.speech_end + SPAN_PAD))
            start = None
    if start is not None:
        spans.append((start - SPAN_PAD, len(pcm) / audio.SAMPLE_RATE / 2 + SPAN_PAD))
    return spans


def test_speech_spans_are_the_endpointers_decisions(
    noisy: list[tuple[np.ndarray, str]], maker: speech.SpeechMaker
) -> None:
    """``speech_spans`` redoes the endpointer's decisions on its VAD (the endpointer leaks):
    the same spans, to the last bit, on questions with pauses, in noise and on noise alone."""
    import pocketsphinx

    from voice_coach.recognise_sphinx import speech_spans

    pause = np.zeros(audio.SAMPLE_RATE, np.int16)
    said = [audio.read_audio(maker.say(q, "flite_slt")) for q, _ in QUESTIONS[:3]]
    clips = [np.concatenate([pause, said[0], pause, said[1], said[2]])]
    clips += [pcm for pcm, _ in noisy] + [audio.read_audio(n) for n in speech.noise_files()]
    found = 0
    for pcm in clips:
        ours = speech_spans(pocketsphinx, pcm.tobytes())
        assert ours == endpointer_spans(pocketsphinx, pcm.tobytes())
        found += len(ours)
    assert found >= len(clips)


def test_noise_alone_matches_nothing_in_whole_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real noise recordings decoded as whole files: where the voice-activity detector hears
    no speech nothing is decoded, and words decoded away from speech are dropped. Compared
    with the same files decoded word for word (no speech spans), as before the gate."""
    from voice_coach import recognise_sphinx

    noises = [n for n in speech.noise_files() if "babble" not in n.stem]  # babble is speech
    if not noises:
        pytest.skip("no real noise recordings in eval-audio/noise")

    def heard() -> dict[str, str]:
        rec = recognise_sphinx.SphinxRecogniser(catalogue.default(), denoise=True)
        return {n.stem: rec.transcribe(audio.chunks_of(audio.read_audio(n))).text for n in noises}

    gated = heard()

    def everything(_: object, pcm: bytes) -> list[tuple[float, float]]:
        return [(0.0, len(pcm) / (audio.SAMPLE_RATE * audio.SAMPLE_WIDTH))]

    monkeypatch.setattr(recognise_sphinx, "speech_spans", everything)  # every word
    every = heard()
    print(gated, every, sep="\n")
    assert all(set(gated[n].split()) <= set(every[n].split()) for n in gated), (gated, every)
    # Which files come out empty moves a little with the installed libraries' versions
    # (3 of 9 gated against 1 word for word here; 4 or more in earlier installs).
    empty = [sum(text == "" for text in h.values()) for h in (gated, every)]
    assert empty[0] > empty[1], (empty, gated)
    words = [sum(len(text.split()) for text in h.values()) for h in (gated, every)]
    assert words[0] <= 0.6 * words[1], (words, gated, every)  # 19 of 38 here
    matched = [
        sum(understand(text).intent is not None for text in h.values()) for h in (gated, every)
    ]
    assert matched[0] <= 3 and matched[0] <= matched[1], (matched, gated, every)  # 2 and 3 here


@pytest.mark.parametrize("floor", [None, -200.0])
def test_a_faint_recording_is_decoded_word_for_word(
    maker: speech.SpeechMaker, monkeypatch: pytest.MonkeyPatch, floor: float | None
) -> None:
    """A far microphone with no gain: the voice-activity detector hears no speech at a peak
    of -60 dBFS, the decoder does. Without the floor (-200 dBFS) nothing is heard."""
    from voice_coach import recognise_sphinx
    from voice_coach.recognise_sphinx import GATE_FLOOR_DBFS, SphinxRecogniser, peak_dbfs

    if floor is not None:
        monkeypatch.setattr(recognise_sphinx, "GATE_FLOOR_DBFS", floor)
    question = audio.read_audio(maker.say("how do i stretch my back", "flite_slt"))
    gain = 10 ** ((-60 - peak_dbfs(question.tobytes())) / 20)
    faint = np.round(question.astype(np.float64) * gain).astype(np.int16)
    assert peak_dbfs(faint.tobytes()) < GATE_FLOOR_DBFS
    heard = SphinxRecogniser(catalogue.default()).transcribe(audio.chunks_of(faint)).text
    if floor is None:
        assert understand(heard).intent == "stretching", heard
    else:
        assert heard == ""


@pytest.fixture(scope="module")
def across_room(maker: speech.SpeechMaker) -> list[tuple[Path, str]]:
    """Each question by Piper as a microphone across a quiet bedroom hears it (echoes)."""
    pytest.importorskip("pyroomacoustics", reason="the bedroom needs pyroomacoustics")
    if "piper_joe" not in set(speech.voices_available()):
        pytest.skip("needs the Piper voice")
    return [(maker.in_room(maker.say(text, "piper_joe")), want) for text, want in QUESTIONS]


def test_speech_across_a_quiet_room_is_decoded_raw(
    across_room: list[tuple[Path, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """RNNoise takes a room's echoes for noise and wipes out much of the speech; a question
    far louder than the hiss before it is decoded raw, streamed or whole."""
    from voice_coach import recognise_sphinx
    from voice_coach.recognise_sphinx import SphinxRecogniser

    def heard() -> tuple[int, int]:
        rec = SphinxRecogniser(catalogue.default(), denoise=True)
        streamed_right = sum(
            understand(streamed(rec, speech.after_background(path, 2.0))).intent == want
            for path, want in across_room
        )
        rec = SphinxRecogniser(catalogue.default(), denoise=True)
        whole_right = sum(
            understand(rec.transcribe([audio.read_audio(path).tobytes()]).text).intent == want
            for path, want in across_room
        )
        return streamed_right, whole_right

    now = heard()
    monkeypatch.setattr(recognise_sphinx, "QUIET_SNR_DB", float("inf"))
    before = heard()
    print(f"across the room, streamed / whole: {now} raw in quiet, {before} denoised")
    assert all(n >= 0.6 * len(across_room) for n in now)
    assert all(n > b for n, b in zip(now, before, strict=True))


def test_a_question_across_a_quiet_room_is_decoded_from_before_its_start(
    across_room: list[tuple[Path, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The voice-activity detector starts after a word's first, unvoiced sound ("how do i
    stretch my lower back" was heard as "do i stretch ..."); streamed in a quiet room, the
    decoder hears from :data:`QUIET_PREROLL` before. In one run, 9 first words of 10 were
    heard against 7, and no intent was lost (8 of 10 each way)."""
    from voice_coach import recognise_sphinx
    from voice_coach.recognise_sphinx import SphinxRecogniser

    def heard() -> tuple[int, int]:
        """Questions whose first word was heard, and whose intent was."""
        rec = SphinxRecogniser(catalogue.default(), denoise=True)
        texts = [streamed(rec, speech.after_background(path, 2.0)) for path, _ in across_room]
        first = sum(
            t.split()[:1] == path.stem.split("_")[:1]
            for t, (path, _) in zip(texts, across_room, strict=True)
        )
        right = sum(
            understand(t).intent == want for t, (_, want) in zip(texts, across_room, strict=True)
        )
        return first, right

    now = heard()
    monkeypatch.setattr(recognise_sphinx, "QUIET_PREROLL", 0.0)
    before = heard()
    print(f"across the room, streamed (first words, intents): {now}, {before} without")
    assert now[0] > before[0]
    assert now[1] >= before[1]


def test_loudness_against_the_audio_around_speech() -> None:
    from voice_coach.recognise_sphinx import _History, louder_within

    rate, width = audio.SAMPLE_RATE, audio.SAMPLE_WIDTH
    hiss = np.random.default_rng(0).normal(0.0, 30.0, 2 * rate)
    tone = 3000.0 * np.sin(2 * np.pi * 220.0 * np.arange(rate) / rate)
    pcm = np.concatenate([hiss, tone + hiss[:rate]]).astype(np.int16).tobytes()
    expected = 20 * np.log10(np.sqrt(3000.0**2 / 2 + 30.0**2) / 30.0)
    assert louder_within(pcm, [(2.0, 3.0)]) == pytest.approx(expected, abs=0.5)
    assert louder_within(pcm, []) == float("-inf")
    assert louder_within(pcm, [(0.0, 2.8)]) == float("-inf")  # too little outside
    history = _History()
    history.add(pcm, keep=True)
    assert history.louder_since(2 * rate * width) == pytest.approx(expected, abs=0.5)
    assert history.louder_since(rate * width // 4) == float("-inf")  # too little before
    # Another utterance before is not the room: only the audio since it ended counts.
    history.add(pcm, keep=True)  # hiss from 3 s, the tone again from 5 s
    assert history.louder_since(5 * rate * width) < 10.0
    assert history.louder_since(5 * rate * width, 3 * rate * width) == pytest.approx(
        expected, abs=0.5
    )
    assert history.louder_since(5 * rate * width, int(4.6 * rate) * width) == float("-inf")
    # A long wait drops the oldest audio; what is kept still counts.
    for _ in range(6):
        history.add(pcm[: 2 * rate * width], keep=True)  # 12 s more hiss
    history.add(pcm[2 * rate * width :], keep=False)  # the tone again, from 18 s
    end = 18 * rate * width
    assert history.louder_since(end, 3 * rate * width) == pytest.approx(expected, abs=0.5)


def test_the_preroll_skips_digital_silence() -> None:
    """Exact zeros (a stream's padding, a muted source) hold no sound to decode."""
    from voice_coach.recognise_sphinx import _History

    width = audio.SAMPLE_WIDTH
    history = _History()
    history.add(bytes(100 * width) + np.full(50, 7, dtype=np.int16).tobytes(), keep=True)
    assert history.sounding_from(0, 150 * width) == 100 * width
    assert history.sounding_from(120 * width, 150 * width) == 120 * width
    assert history.sounding_from(0, 80 * width) == 80 * width  # all silent: from the end


class _Recorded:
    """A PocketSphinx decoder that keeps a copy of all the audio it is given."""

    def __init__(self, decoder: object) -> None:
        self._decoder = decoder
        self.heard = bytearray()

    def process_raw(self, pcm: bytes, *args: object, **kwargs: object) -> object:
        self.heard += pcm
        return self._decoder.process_raw(pcm, *args, **kwargs)

    def __getattr__(self, name: str) -> object:
        return getattr(self._decoder, name)


def test_a_quiet_utterance_is_heard_whole_from_its_preroll(
    maker: speech.SpeechMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the decoder hears of a quiet question is one piece of the stream, without gaps
    or repeats: the same as without the pre-roll, plus :data:`QUIET_PREROLL` before it."""
    from voice_coach import recognise_sphinx
    from voice_coach.recognise_sphinx import QUIET_PREROLL, SphinxRecogniser

    question = speech.after_background(maker.say("how do i stretch my back", "flite_slt"), 2.0)
    samples = np.concatenate([question, question[: audio.SAMPLE_RATE]])

    def heard() -> bytes:
        rec = SphinxRecogniser(catalogue.default(), denoise=True)
        rec._main = recorded = _Recorded(rec._main)
        finals = [t.text for t in rec.stream(audio.chunks_of(samples)) if t.is_final]
        assert len(finals) == 1 and finals[0], finals
        return bytes(recorded.heard)

    now = heard()
    monkeypatch.setattr(recognise_sphinx, "QUIET_PREROLL", 0.0)
    before = heard()
    stream = samples.tobytes()
    preroll = int(QUIET_PREROLL * audio.SAMPLE_RATE) * audio.SAMPLE_WIDTH
    at = stream.find(before)
    assert at > preroll and len(before) > audio.SAMPLE_RATE * audio.SAMPLE_WIDTH
    assert now == stream[at - preroll : at + len(before)]


def test_digital_silence_is_not_the_room() -> None:
    """While the coach speaks the loop feeds exact zeros (``loop.gated``): the room is judged
    on the rest, and not at all when too little of it is left."""
    from voice_coach.recognise_sphinx import _History

    rate, width = audio.SAMPLE_RATE, audio.SAMPLE_WIDTH
    noise = np.random.default_rng(0).normal(0.0, 300.0, 2 * rate)
    tone = 3000.0 * np.sin(2 * np.pi * 220.0 * np.arange(rate) / rate) + noise[:rate]
    gap = np.zeros(3 * rate)
    history = _History()
    history.add(np.concatenate([noise, gap, tone]).astype(np.int16).tobytes(), True)
    expected = 20 * np.log10(np.sqrt(3000.0**2 / 2 + 300.0**2) / 300.0)  # 17 dB, not 21
    assert history.louder_since(5 * rate * width) == pytest.approx(expected, abs=0.5)
    history.add(np.concatenate([gap, tone]).astype(np.int16).tobytes(), True)  # gated, again
    assert history.louder_since(9 * rate * width, 6 * rate * width) == float("-inf")
