"""Benchmark: how late each routine cue really starts, on the real clock with real speech.

Runs the knee-to-chest routine (reps and hold chosen to last about ``--minutes``) with the real
monotonic clock, pyttsx3 / espeak-ng rendering (``Voice``) and the real ``Speaker`` playing into
a PulseAudio null sink (the virtual room of ``tests/room.py``). For every cue, lateness is the
time the cue's first sample was handed to the device (``Speaker.first_sample_at``, watched by a
1 ms poller) minus its planned time. Prints max / median / p95. Target: every cue within 50 ms,
median under 20 ms.

Run: .venv/bin/python tests/benchmarks/bench_routine.py [--minutes 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from room import Room  # noqa: E402

from voice_coach.clock import MonotonicClock  # noqa: E402
from voice_coach.routine import (  # noqa: E402
    Cue,
    RoutineRunner,
    build_timeline,
    load_routine,
    run_realtime,
)

TARGET_MAX = 0.050
TARGET_MEDIAN = 0.020


def choose(routine, estimate, minutes: float) -> dict:  # type: ignore[no-untyped-def]
    """Reps, hold and side giving a run closest to ``minutes``."""
    s = routine.settings
    options = [
        {"reps": reps, "hold": hold, "side": side}
        for reps in range(s.reps_range[0], s.reps_range[1] + 1)
        for hold in range(10, 16)
        for side in ("left", "both")
    ]
    return min(
        options,
        key=lambda o: abs(
            build_timeline(routine, estimate=estimate, **o).total_seconds - minutes * 60
        ),  # fmt: skip
    )


class StartWatcher(threading.Thread):
    """Polls the speaker every millisecond and records each new sound's first-sample time."""

    def __init__(self, speaker) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.speaker = speaker
        self.starts: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        last = self.speaker.first_sample_at
        while not self.done.is_set():
            now = self.speaker.first_sample_at
            if now != last:
                self.starts.append(now)
                last = now
            time.sleep(0.001)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="about how long to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        room = Room.start(Path(folder))
        try:
            os.environ.update(room.env())
            print(f"room ready in {time.perf_counter() - started:.2f} s", file=sys.stderr)
            return run(args.minutes, room.output_device)
        finally:
            room.stop()


def run(minutes: float, device: str) -> int:
    from voice_coach.speak import Speaker, Voice

    voice = Voice()
    knee = load_routine("knee-to-chest")
    chosen = choose(knee, voice.estimate_seconds, minutes)
    speaker = Speaker(voice, device=device)
    clock = MonotonicClock()
    t0 = time.perf_counter()
    timeline = build_timeline(knee, estimate=speaker.prepare, **chosen)
    render = time.perf_counter() - t0
    print(
        f"routine {chosen}: {len(timeline.cues)} cues, {timeline.total_seconds:.1f} s planned; "
        f"rendered in {render:.2f} s; device latency {speaker.output_latency * 1000:.1f} ms",
        file=sys.stderr,
    )
    watcher = StartWatcher(speaker)
    watcher.start()
    planned: list[tuple[Cue, float]] = []
    woke: list[float] = []

    def on_cue(cue: Cue, at: float, now: float) -> None:
        planned.append((cue, at))
        woke.append(now - at)

    load_before = os.getloadavg()[0]
    runner = RoutineRunner(timeline, speaker, clock)
    run_realtime(runner, clock, on_cue=on_cue)
    time.sleep(0.2)
    watcher.done.set()
    watcher.join()
    speaker.close()
    if len(watcher.starts) != len(planned):
        print(f"saw {len(watcher.starts)} starts for {len(planned)} cues", file=sys.stderr)
        return 1
    late = [start - at for start, (_, at) in zip(watcher.starts, planned, strict=True)]
    by_kind: dict[str, list[float]] = {}
    for (cue, _), value in zip(planned, late, strict=True):
        by_kind.setdefault(cue.kind, []).append(value)
    print(
        f"cues: {len(late)}  duration: {timeline.total_seconds / 60:.2f} min  "
        f"load average before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    print(
        f"scheduler wake-up lateness ms: max {max(woke) * 1000:.1f}  "
        f"median {statistics.median(woke) * 1000:.1f}  p95 {percentile(woke, 95) * 1000:.1f}"
    )
    print(
        f"first-sample lateness ms: max {max(late) * 1000:.1f}  "
        f"median {statistics.median(late) * 1000:.1f}  "
        f"p95 {percentile(late, 95) * 1000:.1f}  min {min(late) * 1000:.1f}"
    )
    for kind, values in sorted(by_kind.items()):
        print(f"  {kind:<11} n={len(values):3d}  max {max(values) * 1000:.1f} ms")
    ok = max(late) <= TARGET_MAX and statistics.median(late) <= TARGET_MEDIAN
    print(f"target (max <= 50 ms, median <= 20 ms): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
