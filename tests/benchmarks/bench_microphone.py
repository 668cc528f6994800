"""Benchmark: the microphone through the virtual room (PulseAudio null sinks).

Measures room start-up, time to the first chunk after opening, sound-in to chunk-out
latency, and how long MicrophoneSource takes to notice an unplugged or stalled microphone.

Run: .venv/bin/python tests/benchmarks/bench_microphone.py
"""

from __future__ import annotations

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

from voice_coach.microphone import MicrophoneLost, MicrophoneSource  # noqa: E402

RUNS = 5


def first_chunk(room: Room) -> float:
    """Seconds from open() to the first chunk."""
    started = time.perf_counter()
    with MicrophoneSource(room.input_device) as mic:
        next(iter(mic))
        return time.perf_counter() - started


def click_latency(room: Room) -> float:
    """Seconds from starting to play a click into the mic to its chunk being read."""
    click = np.zeros(1600, dtype=np.int16)
    click[:160] = 20000
    with MicrophoneSource(room.input_device) as mic:
        chunks = iter(mic)
        next(chunks)
        started = time.perf_counter()
        player = room.play_into_mic(click, wait=False)
        for chunk in chunks:
            if np.abs(np.frombuffer(chunk, dtype="<i2")).max() > 10000:
                latency = time.perf_counter() - started
                break
        player.wait()
    return latency


def loss_detection(room: Room, freeze: bool) -> float:
    """Seconds from unplugging (or freezing) the mic to MicrophoneLost."""
    mic = MicrophoneSource(room.input_device, stall_seconds=1.0)
    chunks = iter(mic)
    next(chunks)
    started = time.perf_counter()
    room.freeze_mic() if freeze else room.unplug_mic()
    try:
        for _ in chunks:
            pass
    except MicrophoneLost:
        pass
    elapsed = time.perf_counter() - started
    room.reset()
    return elapsed


def report(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"{name:<36} median {statistics.median(ms):7.1f} ms   max {max(ms):7.1f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        room = Room.start(Path(folder))
        print(f"room start-up: {time.perf_counter() - started:.2f} s")
        os.environ.update(room.env())
        try:
            report("open -> first chunk (800 frames)", [first_chunk(room) for _ in range(RUNS)])
            report("sound into mic -> chunk read", [click_latency(room) for _ in range(RUNS)])
            report("unplug -> MicrophoneLost", [loss_detection(room, False) for _ in range(3)])
            report(
                "freeze -> MicrophoneLost (stall 1 s)",
                [loss_detection(room, True) for _ in range(3)],
            )
        finally:
            room.stop()


if __name__ == "__main__":
    main()
