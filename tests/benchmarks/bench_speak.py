"""Benchmark: speech out. Render speed, say() to first sample, stop() to silence.

- render: pyttsx3 / espeak-ng time per new sentence and real-time factor (render s / audio s).
- say -> first sample: from ``say()`` to the first sample handed to the device
  (``Speaker.first_sample_at``), for a new sentence (render included) and a prepared one; the
  device's reported output latency comes on top before it is heard.
- stop -> silence: from ``stop()`` until the speaker has nothing queued (handed-over side), and
  how much audio the room still heard after ``stop()`` (recording of the PulseAudio null sink,
  in samples: cut fade + device buffer).

Run: .venv/bin/python tests/benchmarks/bench_speak.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from room import Room  # noqa: E402

from voice_coach.audio import SAMPLE_RATE  # noqa: E402
from voice_coach.speak import Speaker, Voice  # noqa: E402

SENTENCES = (
    "Lie on your back with both knees bent.",
    "Slowly draw your right knee towards your chest.",
    "Breathe out gently and hold it there.",
    "Now lower it again, nice and slowly.",
    "Take a rest and let your back relax on the floor.",
)
LONG = (
    "Lie on your back with both knees bent. Slowly draw one knee towards your chest, "
    "breathe out gently, and hold it there while your back relaxes."
)


def summary(name: str, values: list[float], unit: str = "ms", scale: float = 1000.0) -> None:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    med, top = statistics.median(values) * scale, max(values) * scale
    print(
        f"{name:<44} median {med:8.4g} {unit}   p95 {p95 * scale:8.4g} {unit}   "
        f"max {top:8.4g} {unit}   n={len(values)}"
    )


def bench_render(runs: int) -> None:
    voice = Voice(cache_size=0)
    voice.render("Warm up.")
    times, factors = [], []
    for run in range(runs):
        for text in SENTENCES:
            start = time.perf_counter()
            samples = voice.render(f"{text} {run}")
            elapsed = time.perf_counter() - start
            times.append(elapsed)
            factors.append(elapsed / (len(samples) / SAMPLE_RATE))
    summary("render time per sentence", times)
    summary("render real-time factor (render s / audio s)", factors, unit="", scale=1.0)


def bench_first_sample(speaker: Speaker, runs: int) -> None:
    new, prepared = [], []
    for run in range(runs):
        for text, out in ((f"Number {run}, here we go.", new), (SENTENCES[run % 5], prepared)):
            if out is prepared:
                speaker.prepare(text)
            speaker.first_sample_at = 0.0
            start = time.monotonic()
            speaker.say(text, max_seconds=0.3)
            speaker.wait(10)
            out.append(speaker.first_sample_at - start)
            time.sleep(0.1)
    summary("say -> first sample (new sentence)", new)
    summary("say -> first sample (prepared)", prepared)
    print(f"{'device output latency (reported)':<44} {speaker.output_latency * 1000:15.4g} ms")


def bench_stop(room: Room, speaker: Speaker, runs: int) -> None:
    reference = speaker.voice.render(LONG)
    handed, heard_after = [], []
    for _ in range(runs):
        room.start_recording()
        speaker.say(LONG)
        while speaker.played_frames < SAMPLE_RATE:
            time.sleep(0.005)
        at_stop = speaker.played_frames
        start = time.monotonic()
        speaker.stop()
        speaker.wait(10)
        handed.append(time.monotonic() - start)
        time.sleep(0.4)
        recording = room.stop_recording()
        lag = align(recording, reference[:SAMPLE_RATE])
        loud = np.nonzero(np.abs(recording.astype(np.int32)) > 200)[0]
        heard_after.append((loud[-1] - lag - at_stop) / SAMPLE_RATE)
    summary("stop -> nothing more handed to device", handed)
    summary("stop -> audio heard past what was handed", heard_after)
    print(
        f"{'(stop -> silence = cut block + this + device latency)':<44} "
        f"{'':>6} {speaker.output_latency * 1000:8.4g} ms latency"
    )


def align(recording: np.ndarray, reference: np.ndarray) -> int:
    n = len(recording) + len(reference)
    corr = np.fft.irfft(
        np.fft.rfft(recording.astype(np.float64), n)
        * np.conj(np.fft.rfft(reference.astype(np.float64), n)),
        n,
    )
    return int(np.argmax(corr[: len(recording)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    bench_render(args.runs)
    room = Room.start(Path(tempfile.mkdtemp(prefix="bench-speak-")))
    try:
        os.environ.update(room.env())
        speaker = Speaker(Voice(), device=room.output_device)
        try:
            bench_first_sample(speaker, args.runs)
            bench_stop(room, speaker, args.runs)
        finally:
            speaker.close()
    finally:
        room.stop()


if __name__ == "__main__":
    main()
