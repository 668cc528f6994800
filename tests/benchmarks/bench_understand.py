"""Benchmark: time to understand one sentence after start-up, and dev-set accuracy.

Run: .venv/bin/python tests/benchmarks/bench_understand.py
"""

from __future__ import annotations

import statistics
import time
import tomllib
from pathlib import Path

from voice_coach.understand import understand

DEV = tomllib.loads((Path(__file__).parent.parent / "data" / "dev_sentences.toml").read_text())


def main() -> None:
    sentences = [t for texts in DEV.values() for t in texts]
    started = time.perf_counter()
    understand("warm up")
    startup = time.perf_counter() - started
    times = []
    for _ in range(5):
        for text in sentences:
            t0 = time.perf_counter()
            understand(text)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    in_scope = [
        (k, t)
        for k, v in DEV.items()
        if k not in ("out_of_scope", "red_flags", "cautions")
        for t in v
    ]
    correct = sum(understand(t).intent == k for k, t in in_scope)
    rejected = sum(understand(t).intent is None for t in DEV["out_of_scope"])
    flagged = sum(understand(t).intent == "see_doctor" for t in DEV["red_flags"])
    print(f"catalogue load + first sentence: {startup * 1000:.1f} ms")
    print(
        f"per sentence over {len(times)} calls: median {statistics.median(times):.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.2f} ms, max {times[-1]:.2f} ms"
    )
    print(f"in-scope accuracy {correct}/{len(in_scope)} = {correct / len(in_scope):.1%}")
    print(
        f"out-of-scope rejected {rejected}/{len(DEV['out_of_scope'])} = "
        f"{rejected / len(DEV['out_of_scope']):.1%}"
    )
    print(f"red flags to see_doctor {flagged}/{len(DEV['red_flags'])}")


if __name__ == "__main__":
    main()
