"""Benchmark: latency and self-hearing of the hands-free loop (the installed command, in the room).

Method: one shared timeline. An extra stereo null sink ``observer`` is fed by two loopbacks of
equal latency, ``mic.monitor`` (what the coach hears) into the left channel and
``room.monitor`` (what the coach says) into the right, and is recorded once. Onsets and
offsets are found by level (10 ms frames above -40 dBFS; the null sinks are digitally silent).
Error: the 10 ms frame, plus the spread between the two loopbacks' adaptive latencies (a few
ms); both channels see the same loopback delay, so it cancels out of every difference.

Measured:
  (i)   end of the user's question -> first sample of the "heard" earcon, and of the answer;
  (ii)  end of "stop" said during a long answer -> the answer stops (start of the silence
        before the reply to "stop"; the reply's onset when there is no gap: an upper bound);
  (iii) echo tail: how long after the speaker's last sample the microphone still carries the
        coach's voice (coach leaking into the mic at -10 and 0 dB), plus PortAudio's own
        output latency (the loop times ``last_sample_at`` when a block is handed over);
  (iv)  over N turns with the coach leaking at -10 dB, replies to its own voice (must be 0);
  (v)   barge-in: rate at which "stop" (real recordings) is acted on while the coach speaks,
        leaking at -40 and -30 dB, with "stop" 10, 20 and 30 dB louder at the microphone
        than the coach's voice there (loudest 50 ms chunk against the 90th percentile). The
        coach's voice peaks near full scale, so louder leaks would clip the louder "stop".
        Trial n plays the n-th recording (of 11), so use 11 trials to hear every speaker;
  (vi)  the peak resident memory of the coach process over the turns of (i) and (ii).

Run: .venv/bin/python tests/benchmarks/bench_loop_latency.py [--turns 12] [--leak-turns 20]
     [--barge-trials 6] [--barge-leaks=-40,-30] [--barge-margins 10,20,30|native]
     (about 20 minutes with the defaults on a 2-core machine)
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from room import FRAME, MIC_SOURCE, ROOM_SINK, Room, loud_frames  # noqa: E402
from speech import SpeechMaker, chunk_levels, command_files  # noqa: E402
from test_loop_room import (  # noqa: E402
    CAT,
    QUESTION_VOICE,
    RunningCoach,
    rendered,
    say_into_mic,
    seconds_of,
    sleep_until,
)

from voice_coach import earcons  # noqa: E402
from voice_coach.audio import SAMPLE_RATE, read_audio  # noqa: E402
from voice_coach.loop import ECHO_TAIL_SECONDS  # noqa: E402

OBSERVER = "observer"
LOOPBACK_MS = 30
STRETCH = CAT.intent("stretching").answer
STOP_REPLY = CAT.intent("stop").answer
LEAK_QUESTIONS = (
    "set a timer for ten minutes",
    "how long is left on the timer",
    "would a back brace help me",
    "cancel the timer",
    "no thank you",
)
BARGE_LEAKS = (-40.0, -30.0)
"""Coach-to-microphone leaks (dB) of the barge-in trials."""
BARGE_MARGINS = (10.0, 20.0, 30.0)
"""How much louder (dB) than the coach's echo at the microphone "stop" is said."""
STOP_WAIT = 3.0
"""How long after the end of "stop" a reply must appear to count as acted on (s)."""


# -- the observer ----------------------------------------------------------------------------


class Observer:
    """Stereo recording: left = the microphone, right = the speaker, on one clock."""

    def __init__(self, room: Room) -> None:
        self.room = room
        sink = room.pactl(
            "load-module",
            "module-null-sink",
            f"sink_name={OBSERVER}",
            f"rate={SAMPLE_RATE}",
            "channels=2",
            "channel_map=front-left,front-right",
            "format=s16le",
        )
        self.modules = [int(sink)]
        for source, channel in (
            (MIC_SOURCE, "front-left"),
            (f"{ROOM_SINK}.monitor", "front-right"),
        ):
            self.modules.append(
                int(
                    room.pactl(
                        "load-module",
                        "module-loopback",
                        f"source={source}",
                        f"sink={OBSERVER}",
                        f"latency_msec={LOOPBACK_MS}",
                        "channels=1",
                        f"channel_map={channel}",
                        "source_dont_move=true",
                        "sink_dont_move=true",
                    )
                )
            )
        self.path = room.folder / f"observer-{time.monotonic_ns()}.raw"
        self.started = 0.0
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        out = self.path.open("wb")
        self.process = subprocess.Popen(
            [
                "pacat",
                "--record",
                f"--device={OBSERVER}.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={SAMPLE_RATE}",
                "--channels=2",
                "--latency-msec=20",
            ],
            env=self.room.env_full(),
            stdout=out,
        )
        out.close()
        while self.path.stat().st_size == 0:
            time.sleep(0.005)
        self.started = time.monotonic() - LOOPBACK_MS / 1000  # only used to find windows

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        """(microphone, speaker) samples."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait()
        data = self.path.read_bytes()
        stereo = np.frombuffer(data[: len(data) // 4 * 4], dtype="<i2").reshape(-1, 2)
        self.path.unlink()
        return stereo[:, 0].copy(), stereo[:, 1].copy()

    def close(self) -> None:
        for module in reversed(self.modules):
            self.room.pactl("unload-module", str(module))


@dataclass
class Track:
    """One channel of the observer recording, addressed in monotonic seconds."""

    samples: np.ndarray
    started: float
    loud: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.loud = loud_frames(self.samples)

    def frame(self, moment: float) -> int:
        return max(0, int((moment - self.started) * 100))

    def time(self, frame: int) -> float:
        return self.started + frame / 100

    def first_loud(self, start: float, end: float) -> float | None:
        hits = np.flatnonzero(self.loud[self.frame(start) : self.frame(end)])
        return None if not len(hits) else self.time(self.frame(start) + int(hits[0]))

    def last_loud_end(self, start: float, end: float) -> float | None:
        hits = np.flatnonzero(self.loud[self.frame(start) : self.frame(end)])
        return None if not len(hits) else self.time(self.frame(start) + int(hits[-1]) + 1)

    def locate(self, reference: np.ndarray, start: float, end: float) -> float:
        """Where ``reference``'s 10 ms level envelope best matches between two times."""
        ref = _envelope(reference)
        seg = _envelope(self.samples[self.frame(start) * FRAME : self.frame(end) * FRAME])
        if len(seg) <= len(ref):
            return start
        score = np.correlate(seg - seg.mean(), ref - ref.mean(), mode="valid")
        return self.time(self.frame(start) + int(np.argmax(score)))


def echo_delay(mic: Track, speaker: Track, start: float, end: float) -> float:
    """How far the microphone's level envelope lags the speaker's between two times (s)."""
    a = _envelope(speaker.samples[speaker.frame(start) * FRAME : speaker.frame(end) * FRAME])
    b = _envelope(mic.samples[mic.frame(start) * FRAME : mic.frame(end) * FRAME])
    size = min(len(a), len(b))
    a, b = a[:size] - a[:size].mean(), b[:size] - b[:size].mean()
    lags = range(0, 50)  # 0 to 500 ms
    scores = [float(np.dot(a[: size - lag], b[lag:])) for lag in lags]
    return lags[int(np.argmax(scores))] / 100


def _envelope(samples: np.ndarray) -> np.ndarray:
    usable = len(samples) // FRAME * FRAME
    frames = samples[:usable].astype(np.float64).reshape(-1, FRAME)
    return np.sqrt(np.mean(frames**2, axis=1))


# -- measurements ----------------------------------------------------------------------------


def latency_turns(room: Room, folder: Path, speech: SpeechMaker, turns: int) -> dict[str, list]:
    """(i) and (ii): ask, let the answer run 2 s, say "stop"; no leak."""
    question = speech.say("how do I stretch my back", QUESTION_VOICE)
    stops = [speech.say("stop", "flite_slt")]
    coach = RunningCoach(room, folder / "latency")
    observer = Observer(room)
    observer.start()
    marks = []
    for n in range(turns):
        asked = say_into_mic(room, question)
        answered = coach.wait_for("answer", lambda n=n: coach.said().count(STRETCH) > n)
        sleep_until(answered + 2.0)
        stop = say_into_mic(room, stops[n % len(stops)])
        replied = coach.wait_for("stop reply", lambda n=n: coach.said().count(STOP_REPLY) > n)
        marks.append((asked, stop, replied))
        sleep_until(replied + seconds_of(STOP_REPLY) + 1.0)
    mic, speaker = observer.stop()
    observer.close()
    peak_mb = peak_rss_mb(coach.process.pid)
    coach.quit_cleanly()
    heard_mic, spoken = Track(mic, observer.started), Track(speaker, observer.started)
    out: dict[str, list] = {"earcon": [], "answer": [], "stop": [], "peak_mb": [peak_mb]}
    earcon_len = len(earcons.heard()) / SAMPLE_RATE
    for asked, stop, replied in marks:
        end = heard_mic.last_loud_end(asked.start - 0.3, asked.end + 0.3)
        earcon = spoken.first_loud(end, end + 5.0)
        answer = spoken.first_loud(earcon + earcon_len - 0.005, earcon + 5.0)
        out["earcon"].append(earcon - end)
        out["answer"].append(answer - end)
        stop_end = heard_mic.last_loud_end(stop.start - 0.3, stop.end + 0.3)
        reply = spoken.locate(
            rendered(STOP_REPLY), stop.start, replied + 1.0 + 2 * seconds_of(STOP_REPLY)
        )
        quiet = np.flatnonzero(~spoken.loud[spoken.frame(reply - 0.3) : spoken.frame(reply)])
        cut = spoken.time(spoken.frame(reply - 0.3) + int(quiet[0])) if len(quiet) else reply
        out["stop"].append(cut - stop_end)
    return out


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a running process (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def leak_turns(
    room: Room, folder: Path, speech: SpeechMaker, turns: int, leak_db: float
) -> tuple[int, int, int, list[float]]:
    """(iii) and (iv): questions and answers with the coach leaking into the microphone.

    Returns (questions answered, replies to its own voice, questions missed, echo tails).
    """
    coach = RunningCoach(room, folder / f"leak{leak_db:g}")
    room.leak_room_into_mic(leak_db)
    observer = Observer(room)
    observer.start()
    ends: list[float] = []
    replies: list[str] = []
    missed = 0
    for n in range(turns):
        before = len(coach.said())
        say_into_mic(room, speech.say(LEAK_QUESTIONS[n % len(LEAK_QUESTIONS)], QUESTION_VOICE))
        try:
            seen = coach.wait_for("reply", lambda b=before: len(coach.said()) > b, timeout=4.0)
        except BaseException:  # noqa: BLE001 - pytest.fail: the question was not understood
            missed += 1
            continue
        reply = coach.said()[before]
        replies.append(reply)
        ends.append(seen + 0.2 + seconds_of(reply))
        sleep_until(ends[-1] + 1.2)
    time.sleep(1.0)
    said = coach.said()
    mic, speaker = observer.stop()
    observer.close()
    room.stop_leak()
    coach.quit_cleanly()
    heard_mic, spoken = Track(mic, observer.started), Track(speaker, observer.started)
    tails = [echo_delay(heard_mic, spoken, end - 3.0, end + 1.0) for end in ends]
    if len(said) > turns - missed:
        print(f"  leak {leak_db:g} dB: said {said}", file=sys.stderr)
    answered = turns - missed
    return answered, len(said) - answered, missed, tails


def echo_level(leak_db: float) -> float:
    """The coach's answer at the microphone (dBFS): 90th percentile of its voiced chunks."""
    levels = chunk_levels(rendered(STRETCH))
    return float(np.percentile(levels[levels > -60], 90)) + leak_db


def barge_in(
    room: Room, folder: Path, speech: SpeechMaker, leak_db: float, margin_db: float, trials: int
) -> tuple[int, list[float]]:
    """(v): "stop" (real recordings) during the long answer, with the coach leaking.

    Each "stop" is scaled so that its loudest chunk is ``margin_db`` above the coach's echo
    level at the microphone (:func:`echo_level`); with ``margin_db`` NaN it is played as
    recorded (people's own loudness)."""
    stops = command_files("stop") or [speech.say("stop", "flite_slt")]
    if len(stops) == 1:  # not comparable with the figures from real recordings
        print(
            "  no real 'stop' recordings (../shared is absent): flite's 'stop' instead",
            file=sys.stderr,
        )
    question = speech.say("how do I stretch my back", QUESTION_VOICE)
    echo = echo_level(leak_db)
    print(f"  leak {leak_db:g} dB: the coach's echo at the mic is {echo:.1f} dBFS", file=sys.stderr)
    acted, latencies = 0, []
    for n in range(trials):
        stop = stops[n % len(stops)]
        peak = float(chunk_levels(read_audio(stop)).max())
        gain = 0.0 if math.isnan(margin_db) else echo + margin_db - peak
        coach = RunningCoach(room, folder / f"barge{leak_db:g}{margin_db:+g}-{n}")
        room.leak_room_into_mic(leak_db)
        say_into_mic(room, question)
        try:
            said = coach.said
            answered = coach.wait_for("answer", lambda s=said: STRETCH in s(), timeout=6.0)
        except BaseException:  # noqa: BLE001 - the question was misheard: not a barge-in trial
            coach.kill()
            room.stop_leak()
            print(f"  leak {leak_db:g} dB trial {n}: question not answered", file=sys.stderr)
            continue
        sleep_until(answered + 3.0)
        said_stop = say_into_mic(room, stop, gain)
        deadline = said_stop.end + STOP_WAIT
        while time.monotonic() < deadline and STOP_REPLY not in coach.said():
            time.sleep(0.02)
        if STOP_REPLY in coach.said():
            acted += 1
            latencies.append(time.monotonic() - said_stop.end)
        heard = [text for who, text in coach.rows() if who == "heard"]
        margin = peak + gain - echo
        print(f"  leak {leak_db:g} dB, stop +{margin:.0f} dB, trial {n}: {heard}", file=sys.stderr)
        coach.interrupt()
        room.stop_leak()
    return acted, latencies


# -- report ----------------------------------------------------------------------------------


def stats(values: list[float]) -> str:
    if not values:
        return "n/a | n/a | 0"
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return f"{statistics.median(ms):.0f} | {p90:.0f} | {len(ms)}"


def output_latency(room: Room) -> float:
    """PortAudio's reported output latency of the speaker on ``pulse`` (s)."""
    import os

    os.environ.update(room.env())
    from voice_coach.speak import Speaker, SpeechSettings, Voice

    speaker = Speaker(Voice(SpeechSettings(voice="en-us")), device="pulse")
    try:
        return speaker.output_latency
    finally:
        speaker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--leak-turns", type=int, default=20)
    parser.add_argument("--barge-trials", type=int, default=6)
    parser.add_argument(
        "--barge-leaks", default=",".join(f"{x:g}" for x in BARGE_LEAKS), help="dB, comma-separated"
    )
    parser.add_argument(
        "--barge-margins",
        default=",".join(f"{x:g}" for x in BARGE_MARGINS),
        help="dB, comma-separated; 'native': as recorded",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vc-bench-", dir="/tmp"))
    room = Room.start(folder / "room")
    speech = SpeechMaker(folder / "speech")
    try:
        lat = latency_turns(room, folder, speech, args.turns)
        leaks = {db: leak_turns(room, folder, speech, args.leak_turns, db) for db in (-10.0, 0.0)}
        barge = {
            (db, margin): barge_in(room, folder, speech, db, margin, args.barge_trials)
            for db in map(float, args.barge_leaks.split(","))
            for margin in (float(m.replace("native", "nan")) for m in args.barge_margins.split(","))
        }
        out_latency = output_latency(room)
    finally:
        room.stop()
    print("| measure | median ms | p90 ms | n |")
    print("|---|---|---|---|")
    print(f"| (i) end of question -> heard earcon | {stats(lat['earcon'])} |")
    print(f"| (i) end of question -> first answer sample | {stats(lat['answer'])} |")
    print(f"| (ii) end of 'stop' -> answer stops | {stats(lat['stop'])} |")
    for db, (_, _, _, tails) in leaks.items():
        print(
            f"| (iii) echo tail at mic after last speaker sample, leak {db:g} dB | {stats(tails)} |"
        )
    print(
        f"\nPortAudio output latency on pulse: {out_latency * 1000:.0f} ms; "
        f"ECHO_TAIL_SECONDS = {ECHO_TAIL_SECONDS * 1000:.0f} ms"
    )
    if args.turns:
        print(f"Peak resident memory of voice-coach listen: {lat['peak_mb'][0]:.0f} MB")
    print("\n| leak | questions answered | replies to its own voice | questions missed |")
    print("|---|---|---|---|")
    for db, (answered, self_replies, missed, _) in leaks.items():
        print(f"| {db:g} dB | {answered} | {self_replies} | {missed} |")
    print(
        "\n| coach leak | 'stop' louder than the coach's echo at the mic by | 'stop' acted on "
        "| end of stop -> reply logged, median ms |"
    )
    print("|---|---|---|---|")
    for (db, margin), (acted, latencies) in barge.items():
        med = f"{statistics.median(latencies) * 1000:.0f}" if latencies else "n/a"
        louder = "as recorded" if math.isnan(margin) else f"{margin:g} dB"
        print(f"| {db:g} dB | {louder} | {acted}/{args.barge_trials} | {med} |")
    print(f"\ncommand: {' '.join(sys.argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
