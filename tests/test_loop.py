"""The hands-free session logic with a fake speaker: never answering itself, barge-in,
earcons, misses, sleep and wake word, microphone faults. The real loop through a real audio
server is in test_loop_room.py."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import pytest
from fakes import FakeSpeaker

from voice_coach import catalogue, earcons
from voice_coach.coach import Coach
from voice_coach.dialogue import Dialogue
from voice_coach.errors import ResourceMissing
from voice_coach.loop import (
    ConversationLog,
    LevelMeter,
    Listener,
    LoggedSpeaker,
    LoopOptions,
    MicBack,
    MicLost,
    Session,
)
from voice_coach.recognise import Transcript

CAT = catalogue.load()


def final(text: str) -> Transcript:
    return Transcript(text, None, "test", True, 0.0)


def partial(text: str) -> Transcript:
    return Transcript(text, None, "test", False, 0.0)


@pytest.fixture
def speaker() -> FakeSpeaker:
    return FakeSpeaker()


@pytest.fixture
def session(speaker) -> Session:
    return Session(Dialogue(), speaker, LoopOptions(echo_tail=0.0))


def test_a_question_in_the_clear_gets_the_heard_earcon_and_the_answer(session, speaker):
    session.handle_event(final("how do I stretch my back"))
    assert speaker.played[0][0].tolist() == earcons.heard().tolist()
    assert speaker.texts() == [CAT.intent("stretching").answer]


def test_a_question_heard_over_the_coach_is_answered_once_it_falls_silent(session, speaker):
    """Not cut off, not a new question at once, not ignored: answered after the sentence."""
    speaker.speaking = True
    speaker.current_text = CAT.intent("ice_heat").answer
    session.handle_event(partial("how do i stretch"))
    session.handle_event(final("how do I stretch my back"))
    session.idle()
    assert speaker.texts() == [] and speaker.stops == 0 and speaker.played == []
    speaker.speaking = False
    session.idle()
    assert speaker.played[0][0].tolist() == earcons.heard().tolist()
    assert speaker.texts() == [CAT.intent("stretching").answer]
    session.idle()
    assert speaker.texts() == [CAT.intent("stretching").answer]  # answered once


def test_an_utterance_that_began_during_speech_is_answered_when_it_ends(session, speaker):
    speaker.speaking = True
    session.handle_event(partial("should i use"))
    speaker.speaking = False
    session.handle_event(final("should I use ice or heat"))
    assert speaker.texts() == [CAT.intent("ice_heat").answer]


def test_only_the_last_question_over_the_coach_is_answered(session, speaker):
    speaker.speaking = True
    speaker.current_text = CAT.line("safety_notice")
    session.handle_event(final("should I use ice or heat"))
    session.handle_event(final("how do I stretch my back"))
    speaker.speaking = False
    session.idle()
    assert speaker.texts() == [CAT.intent("stretching").answer]


def test_a_kept_question_waits_for_whoever_speaks_as_the_coach_ends(session, speaker):
    """Someone already speaking when the coach falls silent is heard out first; what they
    say in the clear replaces the question kept."""
    speaker.speaking = True
    speaker.current_text = CAT.line("safety_notice")
    session.handle_event(final("should I use ice or heat"))
    speaker.speaking = False
    session.handle_event(partial("how do i"))
    session.idle()
    assert speaker.texts() == []
    session.handle_event(final("how do I stretch my back"))
    session.idle()
    assert speaker.texts() == [CAT.intent("stretching").answer]


def test_a_command_over_the_coach_is_never_kept_for_later(session, speaker):
    """Heard louder earlier in the utterance but not as it ended, "stop" does not act; nor
    does it act once the coach has finished (a late stop or skip would hit a later cue)."""
    meter, now = echoing(session, speaker, CAT.line("safety_notice"))
    session.utterance.louder = True  # a partial was louder, more than a second ago
    session.handle_event(final("stop"))
    speaker.speaking = False
    session.idle()
    assert speaker.texts() == [] and speaker.stops == 0


def test_stopwords_alone_beyond_the_coachs_sentence_are_its_echo(session, speaker):
    speaker.speaking = True
    speaker.current_text = CAT.line("fallback_short")
    session.handle_event(final("what I can do"))
    speaker.speaking = False
    session.idle()
    assert speaker.texts() == []


def test_an_answer_to_the_coachs_question_said_over_its_end_is_kept(session, speaker):
    """ "The left one" has no intent, but the coach has just asked about the legs."""
    session.handle_event(final("it hurts"))
    speaker.speaking = True
    speaker.current_text = CAT.intent("pain_report").answer
    session.handle_event(final("the left one"))
    speaker.speaking = False
    session.idle()
    assert speaker.texts()[-1] == CAT.line("red_flag_leg")
    speaker.speaking = True  # no question open now: a sentence with no intent is not kept
    session.handle_event(final("the left one"))
    speaker.speaking = False
    session.idle()
    assert speaker.texts()[-1] == CAT.line("red_flag_leg") and len(speaker.texts()) == 2


def test_a_question_over_a_coach_that_talks_on_is_dropped(session, speaker, monkeypatch):
    monkeypatch.setattr("voice_coach.loop.HELD_SECONDS", 0.0)
    speaker.speaking = True
    speaker.current_text = CAT.line("safety_notice")
    session.handle_event(final("should I use ice or heat"))
    session.idle()
    speaker.speaking = False
    session.idle()
    assert speaker.texts() == []


def test_a_question_in_the_coachs_own_words_is_its_echo(session, speaker):
    speaker.speaking = True
    speaker.current_text = "You can ask me how to stretch your back, or about ice and heat."
    session.handle_event(final("how to stretch your back"))
    session.handle_event(final("ice and heat"))
    speaker.speaking = False
    session.idle()
    assert speaker.texts() == [] and speaker.stops == 0


def test_the_echo_tail_counts_as_the_coach_speaking(speaker):
    session = Session(Dialogue(), speaker, LoopOptions(echo_tail=30.0))
    speaker.last_sample_at = time.monotonic()
    session.handle_event(final("should I use ice or heat"))
    assert speaker.texts() == []


def test_stop_while_speaking_cuts_playback_and_acts_on_a_partial(session, speaker):
    speaker.speaking = True
    speaker.current_text = CAT.intent("overview").answer
    session.handle_event(partial("stop"))
    assert speaker.stops == 1 and speaker.texts() == [CAT.intent("stop").answer]
    session.handle_event(final("stop"))  # the same utterance does not act twice
    assert speaker.stops == 1


@pytest.mark.parametrize(
    "command", ["wait", "how long left", "it hurts", "my leg is numb", "call an ambulance"]
)
def test_other_barge_in_commands_act_while_speaking(session, speaker, command):
    speaker.speaking = True
    speaker.current_text = CAT.intent("overview").answer
    session.handle_event(final(command))
    assert speaker.stops == 1 and len(speaker.texts()) == 1


def coached(speaker) -> tuple[Coach, Session]:  # noqa: ANN001
    """A session whose dialogue a coach carries out (routines not driven by a thread)."""
    dialogue = Dialogue()
    coach = Coach(dialogue, speaker, drive=lambda runner, clock, stop: None)
    return coach, Session(dialogue, speaker, LoopOptions(echo_tail=0.0))


def test_stop_said_over_an_answer_with_a_coach_ends_it_rather_than_finding_nothing(speaker):
    """The coach's stop handler cuts the answer itself, so it knows something was said."""
    _, session = coached(speaker)
    speaker.speaking = True
    speaker.current_text = CAT.intent("overview").answer
    session.handle_event(final("stop"))
    assert speaker.stops == 1 and speaker.texts() == [CAT.intent("stop").answer]


def test_something_unclear_heard_during_the_stretch_pauses_it_aloud(speaker):
    """Not only the earcon: the pause made for a groan is said, on the first miss."""
    coach, session = coached(speaker)
    session.handle_event(final("start the stretch"))
    session.handle_event(final("I felt a click"))
    assert coach.runner.paused
    assert speaker.texts()[-1] == CAT.line("coach_paused_unclear")


@pytest.mark.parametrize(
    ("heard", "line"),
    [("that feels good", "coach_feels_fine"), ("which knee", "coach_which_side")],
)
def test_talk_during_the_stretch_is_answered_with_the_heard_earcon_and_no_pause(
    speaker, heard, line
):
    coach, session = coached(speaker)
    session.handle_event(final("start the stretch"))
    coach.runner.advance(coach.clock.now() + 20)
    session.handle_event(final(heard))
    assert not coach.runner.paused
    assert speaker.texts()[-1] == CAT.line(line, side=coach.runner.side)
    assert speaker.played[-1][0].tolist() == earcons.heard().tolist()


def test_okay_during_the_stretch_is_only_the_heard_earcon(speaker):
    coach, session = coached(speaker)
    session.handle_event(final("start the stretch"))
    coach.runner.advance(coach.clock.now() + 20)
    said = len(speaker.texts())
    session.handle_event(final("okay"))
    assert len(speaker.texts()) == said and not coach.runner.paused
    assert speaker.played[-1][0].tolist() == earcons.heard().tolist()


def test_wait_said_over_an_answer_pauses_it_and_carry_on_says_it_again(speaker):
    """With a coach, "wait" heard over an answer is cut by the coach's pause, which keeps
    the sentence it cut for "carry on" (cutting it first would lose it)."""
    _, session = coached(speaker)
    speaker.speaking = True
    speaker.current_text = CAT.intent("overview").answer
    session.handle_event(final("wait"))
    assert speaker.stops == 1 and not speaker.speaking
    session.handle_event(final("carry on"))
    assert speaker.texts()[-1] == CAT.intent("overview").answer


def test_a_command_word_the_coach_is_saying_itself_is_ignored(session, speaker):
    speaker.speaking = True
    speaker.current_text = "You can say pause or stop at any time."
    for heard in ("stop", "pause", "say pause or stop"):
        session.handle_event(final(heard))
    assert speaker.stops == 0
    speaker.current_text = CAT.line("red_flag_leg")  # its own red-flag words
    session.handle_event(final("pain that shoots down a leg"))
    assert speaker.stops == 0


def test_questions_are_not_barge_in(session, speaker):
    speaker.speaking = True
    speaker.current_text = CAT.intent("overview").answer
    session.handle_event(final("should I wear a back brace"))
    assert speaker.stops == 0 and speaker.texts() == []


def test_one_miss_is_an_earcon_a_second_in_a_row_says_what_can_be_asked(session, speaker):
    session.handle_event(final("what's the weather like"))
    assert speaker.texts() == []
    assert speaker.played[-1][0].tolist() == earcons.not_understood().tolist()
    session.handle_event(final("play some music"))
    assert speaker.texts() == [CAT.line("fallback_again")]
    session.handle_event(final("order a pizza"))
    assert len(speaker.texts()) == 1  # the count starts again


@pytest.mark.parametrize(
    ("asked", "answer", "reply"),
    [
        ("it hurts", "the left one", CAT.line("red_flag_leg")),
        ("it hurts", "a little bit", CAT.line("red_flag_leg")),
        ("should I use ice or heat", "how long for", None),
    ],
)
def test_a_sentence_that_answers_the_coachs_own_question_is_said_at_once(
    session, speaker, asked, answer, reply
):
    """No intent matches "the left one", but it answers "is the pain running down either
    of your legs?": the reply (see a practitioner) is said on the first hearing, with the
    heard earcon, not only the not-understood one."""
    session.handle_event(final(asked))
    said = len(speaker.texts())
    session.handle_event(final(answer))
    assert len(speaker.texts()) == said + 1
    assert speaker.played[-1][0].tolist() == earcons.heard().tolist()
    if reply is not None:
        assert speaker.texts()[-1] == reply
    assert CAT.line("fallback") not in speaker.texts()


def test_goodbye_sleeps_until_the_wake_word(session, speaker):
    session.handle_event(final("goodbye"))
    assert speaker.texts() == [CAT.line("goodbye_asleep", wake_word="coach")]
    session.handle_event(final("should I use ice or heat"))
    assert len(speaker.texts()) == 1
    session.handle_event(final("coach"))
    assert speaker.texts()[-1] == CAT.line("loop_listening")
    session.handle_event(final("should I use ice or heat"))
    assert speaker.texts()[-1] == CAT.intent("ice_heat").answer
    session.handle_event(final("goodbye"))
    session.handle_event(final("coach should I wear a brace"))
    assert speaker.texts()[-1] == CAT.intent("support").answer


@pytest.mark.parametrize(
    ("wake", "without", "with_it"),
    [
        ("jarvis", "should I use ice or heat", "Jarvis, should I use ice or heat?"),
        ("hey there coach", "coach should I use ice or heat", "hey there coach, should I use ice"),
    ],
)
def test_a_wake_word_can_be_required_before_every_request(speaker, wake, without, with_it):
    """Punctuation around it does not matter; one of several words is found as a phrase."""
    options = LoopOptions(wake_word=wake, wake_every_time=True, echo_tail=0.0)
    session = Session(Dialogue(), speaker, options)
    session.handle_event(final(without))
    assert speaker.texts() == []
    session.handle_event(final(with_it))
    assert speaker.texts() == [CAT.intent("ice_heat").answer]


@pytest.mark.parametrize("text", ["my leg has gone numb, jarvis", "jarvis my leg has gone numb"])
def test_a_red_flag_around_the_wake_word_is_answered(speaker, text):
    options = LoopOptions(wake_word="jarvis", wake_every_time=True, echo_tail=0.0)
    session = Session(Dialogue(), speaker, options)
    session.handle_event(final(text))
    assert speaker.texts() == [CAT.line("red_flag_leg")]


@pytest.mark.parametrize("wake_every_time", [False, True])
def test_a_red_flag_is_answered_asleep_or_without_the_wake_word(speaker, wake_every_time):
    options = LoopOptions(wake_word="jarvis", wake_every_time=wake_every_time, echo_tail=0.0)
    session = Session(Dialogue(), speaker, options)
    session.handle_event(final("goodbye" if not wake_every_time else "jarvis goodbye"))
    session.handle_event(final("should I see a doctor"))  # not a red flag: still asleep
    assert len(speaker.texts()) == 1
    session.handle_event(final("my leg has gone numb"))
    assert speaker.texts()[-1] == CAT.line("red_flag_leg")
    session.handle_event(final("I can't get up off the floor"))  # nor is an emergency
    assert speaker.texts()[-1] == CAT.intent("emergency").answer


def test_microphone_faults_are_said_once_and_recovery_is_announced(session, speaker, capsys):
    session.handle_event(MicLost("microphone pulse stopped: no audio for 2 s", 1.0))
    session.handle_event(MicLost("microphone pulse stopped: no audio for 2 s", 2.0))
    session.handle_event(MicLost("cannot open microphone pulse: gone", 4.0))
    assert speaker.texts() == [CAT.line("loop_mic_lost")]
    printed = capsys.readouterr().err.splitlines()  # each new fault once, not each retry
    assert printed == [
        "voice-coach: microphone pulse stopped: no audio for 2 s; retrying until it is back "
        "(next try in 1 s)",
        "voice-coach: cannot open microphone pulse: gone; retrying until it is back (next try "
        "in 4 s)",
    ]
    session.handle_event(MicBack())
    assert speaker.texts()[-1] == CAT.line("loop_mic_back")
    session.handle_event(final("should I use ice or heat"))
    assert speaker.texts()[-1] == CAT.intent("ice_heat").answer


def logged_session(speaker, path: Path) -> Session:  # noqa: ANN001
    """A session logging to ``path``, its speaker wrapped as ``listen --log`` wraps it."""
    conversation = ConversationLog(path)
    return Session(
        Dialogue(),
        LoggedSpeaker(speaker, conversation),
        LoopOptions(echo_tail=0.0),
        conversation=conversation,
    )


def test_the_log_file_holds_what_was_heard_and_said(speaker, tmp_path):
    log = tmp_path / "coach.log"
    session = logged_session(speaker, log)
    session.handle_event(final("should I use ice or heat"))
    rows = [line.split("\t")[1:] for line in log.read_text().splitlines()]
    assert rows == [["heard", "should I use ice or heat"], ["said", CAT.intent("ice_heat").answer]]


def test_the_log_marks_speech_over_the_coach_and_a_command_only_once(speaker, tmp_path):
    log = tmp_path / "coach.log"
    session = logged_session(speaker, log)
    speaker.speaking = True
    speaker.current_text = CAT.line("safety_notice")
    session.handle_event(final("should I wear a back brace"))  # kept for when it is silent
    session.handle_event(final("stop"))  # acted on as a barge-in: the question is dropped
    speaker.speaking = True  # the next answer plays; a new utterance may cut it off too
    session.handle_event(partial("pause"))
    assert speaker.stops == 2
    rows = [line.split("\t")[1:] for line in log.read_text().splitlines()]
    assert rows[:3] == [
        ["ignored", "should I wear a back brace"],
        ["heard", "stop"],
        ["said", CAT.intent("stop").answer],
    ]
    assert rows[3] == ["heard", "pause"]


class FlakyMic:
    """A fake microphone: the first one is lost at once, the next yields a real WAV."""

    opened = 0

    def __init__(self, chunks: list[bytes]) -> None:
        FlakyMic.opened += 1
        self.chunks = chunks if FlakyMic.opened > 1 else None
        self.closed = threading.Event()

    def __iter__(self):
        if self.chunks is None:
            raise ResourceMissing("microphone fake stopped: no audio for 2 s")
        yield from self.chunks
        self.closed.wait(5)

    def close(self) -> None:
        self.closed.set()


def test_the_listener_recovers_a_lost_microphone_and_hears_real_speech(tmp_path):
    """Real PocketSphinx on a real WAV, behind a fake microphone that fails once."""
    from speech import SpeechMaker

    from voice_coach.audio import chunks_of, read_audio
    from voice_coach.recognise import select_engine

    wav = SpeechMaker(tmp_path).say("should I use ice or heat", "flite_slt")
    chunks = list(chunks_of(read_audio(wav)))
    events: queue.Queue = queue.Queue()
    FlakyMic.opened = 0
    listener = Listener(
        lambda: FlakyMic(chunks), select_engine("pocketsphinx"), events, retry_seconds=(0.01,)
    )
    listener.start()
    seen = []
    while not any(isinstance(e, Transcript) and e.is_final and e.text for e in seen):
        seen.append(events.get(timeout=60))
    listener.stop()
    listener.join(timeout=5)
    assert isinstance(seen[0], MicLost) and isinstance(seen[1], MicBack)
    speaker = FakeSpeaker()
    session = Session(Dialogue(), speaker, LoopOptions(echo_tail=0.0))
    for event in seen[2:]:
        session.handle_event(event)
    assert speaker.texts() == [CAT.intent("ice_heat").answer]
    assert not listener.is_alive()


def tone(dbfs: float) -> bytes:
    """A 50 ms microphone chunk of a 440 Hz tone at ``dbfs`` (RMS)."""
    import numpy as np

    amplitude = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    wave = amplitude * np.sin(np.arange(800) * 2 * np.pi * 440 / 16000)
    return wave.astype("<i2").tobytes()


def echoing(session: Session, speaker: FakeSpeaker, sentence: str) -> tuple[LevelMeter, float]:
    """The coach 5 s into saying ``sentence``, its voice at the microphone about -30 dBFS
    for 4 s up to 0.55 s ago (no echo cancellation); the session's meter and the time."""
    meter = LevelMeter()
    session.meter = meter
    now = time.monotonic()
    speaker.speaking = True
    speaker.current_text = sentence
    speaker.first_sample_at = now - 5.0
    for k in range(80):
        meter.add(tone(-30.0), now - 4.5 + k * 0.05)
    return meter, now


def test_while_speaking_a_command_must_be_louder_than_the_coachs_echo(session, speaker):
    """No echo cancellation: the coach's voice at the mic must not trigger commands."""
    from voice_coach.loop import BARGE_IN_MARGIN_DB

    meter, now = echoing(session, speaker, CAT.intent("support").answer)
    meter.add(tone(-30.0 + BARGE_IN_MARGIN_DB / 2), now - 0.3)
    session.handle_event(final("ouch"))
    assert speaker.stops == 0  # heard at echo level: the coach's own voice, misheard
    session.utterance.acted = False
    meter.add(tone(-30.0 + BARGE_IN_MARGIN_DB + 3), now - 0.2)
    session.handle_event(final("stop"))
    assert speaker.stops == 1  # clearly louder than the echo: the person


def test_a_question_over_the_coach_must_be_louder_than_its_echo(session, speaker, tmp_path):
    """Heard at the level of the coach's own voice, a question is its echo misheard."""
    from voice_coach.loop import BARGE_IN_MARGIN_DB

    log = tmp_path / "coach.log"
    session = logged_session(speaker, log)
    meter, now = echoing(session, speaker, CAT.line("safety_notice"))
    meter.add(tone(-30.0 + BARGE_IN_MARGIN_DB / 2), now - 0.3)
    session.handle_event(partial("how do i stretch"))
    session.handle_event(final("how do I stretch my back"))
    meter.add(tone(-30.0 + BARGE_IN_MARGIN_DB + 3), now - 0.2)
    session.handle_event(partial("should i use"))
    session.handle_event(final("should I use ice or heat"))
    speaker.speaking = False
    session.idle()
    assert speaker.texts() == [CAT.intent("ice_heat").answer]
    rows = [line.split("\t")[1:] for line in log.read_text().splitlines()]
    assert rows[:2] == [
        ["ignored", "how do I stretch my back"],
        ["heard", "should I use ice or heat"],
    ]


def test_the_echo_gate_silences_the_coachs_voice_but_keeps_a_louder_words_edges() -> None:
    """While the coach is audible, chunks below the gate level reach the recogniser silent."""
    from voice_coach.loop import GATE_HANG, GATE_HOLD, LevelMeter, gated

    echo, word = tone(-40.0), tone(-20.0)
    heard = [echo] * 5 + [word] * 3 + [echo] * 10
    out = list(gated(heard, LevelMeter(), lambda: -35.0))
    assert len(out) == len(heard) and b"".join(out) != b"".join(heard)
    kept = [c != bytes(len(c)) for c in out]
    first, last = 5 - GATE_HOLD, 5 + 3 + GATE_HANG
    assert kept == [first <= i < last for i in range(len(heard))]
    assert [c for c, k in zip(out, kept, strict=True) if k] == heard[first:last]
    assert list(gated(heard, LevelMeter(), lambda: None)) == heard  # coach silent: no gate


def test_a_spotted_command_acts_once_and_only_over_a_quieter_coach(session, speaker):
    """The keyword spotter's "stop": acted on if louder than the echo, and not a second time
    when the recogniser's own result for the same word comes after it."""
    from voice_coach.loop import BARGE_IN_MARGIN_DB, Spotted

    session.handle_event(Spotted("stop"))  # the coach is silent: nothing to cut off
    assert speaker.stops == 0 and speaker.texts() == []
    meter, now = echoing(session, speaker, "You can say pause or stop at any time.")
    session.handle_event(Spotted("stop"))  # its own "stop" at echo level
    assert speaker.stops == 0
    meter.add(tone(-30.0 + BARGE_IN_MARGIN_DB + 3), now - 0.2)
    session.handle_event(Spotted("stop"))
    assert speaker.stops == 1 and speaker.texts() == [CAT.intent("stop").answer]
    speaker.speaking = True  # the reply to "stop" is playing
    speaker.current_text = CAT.intent("overview").answer
    session.handle_event(partial("stop"))  # the recogniser catches up with the same word
    session.handle_event(final("stop"))
    assert speaker.stops == 1


class FakeSpotter:
    """Hears "stop" in a chunk that is not silent; counts its rests."""

    def __init__(self) -> None:
        self.heard: list[bytes] = []
        self.rests = 0

    def hear(self, chunk: bytes) -> str | None:
        self.heard.append(chunk)
        return "stop" if any(chunk) else None

    def rest(self) -> None:
        self.rests += 1


class ListMic:
    """A fake microphone yielding given chunks, then waiting to be closed."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = threading.Event()

    def __iter__(self):
        yield from self.chunks
        self.closed.wait(5)

    def close(self) -> None:
        self.closed.set()


class QuietRoomMic:
    """A fake microphone hearing silence until it is closed, as a real one in a quiet room."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self):
        while not self.closed.is_set():
            yield bytes(3200)
            self.closed.wait(0.01)

    def close(self) -> None:
        self.closed.set()


def test_a_stop_while_the_microphone_opens_closes_it_and_ends_the_listener():
    """Ctrl-C as the listener opens the microphone: stop() finds no microphone to close, so
    the listener must notice by itself; the recogniser, hearing silence, says nothing that
    would make it look (a microphone left open hung PortAudio at exit)."""
    from voice_coach.recognise import select_engine

    mics: list[QuietRoomMic] = []

    def open_mic() -> QuietRoomMic:
        listener.stop()  # arrives while the microphone opens
        mics.append(QuietRoomMic())
        return mics[-1]

    listener = Listener(open_mic, select_engine("pocketsphinx"), queue.Queue())
    listener.start()
    listener.join(timeout=60)  # bounds a hang only
    assert not listener.is_alive() and len(mics) == 1 and mics[0].closed.is_set()


def test_the_listener_spots_raw_chunks_only_while_the_coach_is_audible():
    """The spotter hears the raw microphone (not the echo gate's silence) while ``spot_now``."""
    from voice_coach.loop import Spotted

    class Deaf:
        def stream(self, chunks):
            for _ in chunks:
                yield from ()

        def reset(self) -> None:
            pass

    word, quiet = tone(-50.0), bytes(1600)
    audible = iter([True, True, False, True])
    spotter = FakeSpotter()
    events: queue.Queue = queue.Queue()
    listener = Listener(
        lambda: ListMic([word, quiet, word, word]),
        Deaf(),
        events,
        gate=lambda: -10.0,  # everything below -10 dBFS reaches the recogniser silenced
        spotter=spotter,
        spot_now=lambda: next(audible, False),
    )
    listener.start()
    spotted = [events.get(timeout=10) for _ in range(2)]
    listener.stop()
    listener.join(timeout=5)
    assert spotted == [Spotted("stop"), Spotted("stop")]
    assert spotter.heard == [word, quiet, word] and spotter.rests == 1
