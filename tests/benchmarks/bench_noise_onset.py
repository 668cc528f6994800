"""How much a noise recording's quiet start flattered the noisy sets of ``bench_speech_in``.

Up to ``speech.MIX_VERSION`` 1 the noisy bench files mixed each clean question with its
noise from the recording's first sample. ``babble-mix_1.wav`` is nearly silent for its first
second, so a short question ended before the babble began. This decodes every noisy
in-scope file whole, mixed both ways: from the first sample (the old way) and from where the
noise first sounds (``speech.sounding_start``, what the benchmark does now), and prints both
accuracies per set.

Run (after ``bench_speech_in.py`` has built its cache):
``PYTHONHASHSEED=0 .venv/bin/python tests/benchmarks/bench_noise_onset.py``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import speech  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/voice-coach-bench", help="bench_speech_in cache")
    args = parser.parse_args()
    manifest = Path(args.cache) / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"{manifest} is missing; run tests/benchmarks/bench_speech_in.py first")
    from voice_coach.audio import read_audio
    from voice_coach.recognise_sphinx import SphinxRecogniser
    from voice_coach.understand import understand

    noises = {n.stem: read_audio(n) for n in speech.noise_files()}
    for stem, noise in sorted(noises.items()):
        start = speech.sounding_start(noise) / speech.SAMPLE_RATE
        print(f"{stem}: sounds from {start:.2f} s", file=sys.stderr)
    rec = SphinxRecogniser()
    table: dict[str, list[int]] = {}
    for row in json.loads(manifest.read_text()):
        path = Path(row["path"])
        mixed = speech.MIXED_FOLDER.fullmatch(path.parent.name)
        if not row["set"].startswith("in:") or not mixed:
            continue
        snr, noise = float(mixed[1]), noises[mixed[2]]
        clean = read_audio(path.parent.parent / path.name)
        counts = table.setdefault(row["set"], [0, 0, 0])
        for column, start in enumerate((0, None)):
            text = rec.transcribe([speech.mix(clean, noise, snr, start).tobytes()]).text
            counts[column] += understand(text).intent == row["expected"]
        counts[2] += 1
    print("| set | noise from its first sample (before) | noise from where it sounds (now) |")
    print("|---|---|---|")
    for name, (first, sounding, total) in table.items():
        print(f"| {name} | {first}/{total} | {sounding}/{total} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
