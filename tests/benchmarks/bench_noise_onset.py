"""How much a noise recording's quiet start flatters the noisy sets of ``bench_speech_in``.

The noisy bench files mix each clean question with a noise recording from its first sample
(``speech.mix``). ``babble-mix_1.wav`` is nearly silent for its first second, so a short
question ends before the babble begins. This decodes every noisy in-scope file whole, as
cached and mixed again with the noise started where it first sounds (the first 50 ms within
20 dB of the recording's median level), and prints both accuracies per set.

Run (after ``bench_speech_in.py`` has built its cache):
``PYTHONHASHSEED=0 .venv/bin/python tests/benchmarks/bench_noise_onset.py``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import speech  # noqa: E402

WINDOW = 800
"""Samples per level window (50 ms at 16 kHz)."""
SOUNDING_DB = 20.0
"""A window this close to the recording's median level (dB) is where the noise sounds."""


def sounding_start(noise: np.ndarray) -> int:
    """The first sample of the first window within :data:`SOUNDING_DB` of the median level."""
    usable = len(noise) // WINDOW * WINDOW
    frames = noise[:usable].astype(np.float64).reshape(-1, WINDOW) / 32768.0
    levels = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return int(np.argmax(levels >= np.median(levels) - SOUNDING_DB)) * WINDOW


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
    starts = {stem: sounding_start(n) for stem, n in noises.items()}
    for stem, start in sorted(starts.items()):
        print(f"{stem}: sounds from {start / speech.SAMPLE_RATE:.2f} s", file=sys.stderr)
    rec = SphinxRecogniser()
    table: dict[str, list[int]] = {}
    for row in json.loads(manifest.read_text()):
        path = Path(row["path"])
        mixed = path.parent.name.split("_", 1)
        if not row["set"].startswith("in:") or not mixed[0].startswith("snr"):
            continue
        snr, stem = float(mixed[0][3:]), mixed[1]
        clean = read_audio(path.parent.parent / path.name)
        counts = table.setdefault(row["set"], [0, 0, 0])
        for column, noise in enumerate((noises[stem], noises[stem][starts[stem] :])):
            text = rec.transcribe([speech.mix(clean, noise, snr).tobytes()]).text
            counts[column] += understand(text).intent == row["expected"]
        counts[2] += 1
    print("| set | noise from its first sample (cached) | noise from where it sounds |")
    print("|---|---|---|")
    for name, (cached, sounding, total) in table.items():
        print(f"| {name} | {cached}/{total} | {sounding}/{total} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
