"""PocketSphinx engine in noise: intent accuracy per set, via ``transcribe`` or ``stream``.

Run ``tests/benchmarks/bench_speech_in.py`` once first: it renders and mixes the test audio
and writes ``manifest.json`` into its cache folder; this script only decodes that audio.

Run: ``.venv/bin/python tests/benchmarks/bench_sphinx_noise.py [--path stream] [--lead S]
[--denoise auto|on|off] [--removed-db DB] [--sets in:piper_joe:10dB,oov:real] [--failures]``

``--lead S`` gives each file S seconds of its room first, as a microphone that was already
listening hears it (``speech.after_background``: the same noise for a noisy file, a laptop
microphone's hiss for the others, through the whole file); with ``--path transcribe`` the
result is decoded whole.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import speech  # noqa: E402

DENOISE = {"auto": None, "on": True, "off": False}
NOISE_ONLY = "oov:noise"
"""The set of real noise recordings alone (see ``bench_speech_in.NOISE_ONLY``)."""
STREAM_PAD = 0.5
"""Seconds of silence around each real command clip (one second, cut around the word) when
streaming."""


def decode(rec, pcm, path: str, pad: bool = False) -> str:  # noqa: ANN001
    """The text heard in one file: one transcribe, or the finals of a stream joined.

    ``pad``: stream :data:`STREAM_PAD` seconds of silence before and after (for clips cut
    tightly around a word, which a microphone would hear with quiet around them)."""
    from voice_coach.audio import SAMPLE_RATE, chunks_of

    if path == "transcribe":
        return rec.transcribe([pcm.tobytes()]).text
    rec.reset()
    quiet = np.zeros(int(STREAM_PAD * SAMPLE_RATE) if pad else 0, dtype=pcm.dtype)
    heard = rec.stream(chunks_of(np.concatenate([quiet, pcm, quiet])))
    return " ".join(t.text for t in heard if t.is_final and t.text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/voice-coach-bench", help="bench_speech_in cache")
    parser.add_argument("--path", choices=("transcribe", "stream"), default="transcribe")
    parser.add_argument("--lead", type=float, default=0.0, help="seconds of room first")
    parser.add_argument("--denoise", choices=tuple(DENOISE), default="auto")
    parser.add_argument("--removed-db", type=float, help="override REMOVED_DB (dB)")
    parser.add_argument("--sets", default="", help="comma-separated sets (default: all)")
    parser.add_argument("--failures", action="store_true", help="list each miss")
    args = parser.parse_args()
    manifest = Path(args.cache) / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"{manifest} is missing; run tests/benchmarks/bench_speech_in.py first")
    if not speech.mixed_by_this_version(Path(args.cache)):
        raise SystemExit(f"{args.cache} was mixed by an older speech.mix; run bench_speech_in.py")
    from voice_coach import recognise_sphinx
    from voice_coach.audio import SAMPLE_RATE, read_audio
    from voice_coach.recognise_sphinx import SphinxRecogniser
    from voice_coach.understand import understand

    if args.removed_db is not None:
        recognise_sphinx.REMOVED_DB = args.removed_db
    wanted = set(filter(None, args.sets.split(",")))
    rows = [r for r in json.loads(manifest.read_text()) if not wanted or r["set"] in wanted]
    rec = SphinxRecogniser(denoise=DENOISE[args.denoise])
    table: dict[str, list[int]] = {}
    misses: list[str] = []
    seconds = busy = 0.0
    for row in rows:
        pad = row["set"] == "commands:real"
        if args.lead:
            tail = STREAM_PAD if pad else 0.0
            pcm, pad = speech.after_background(Path(row["path"]), args.lead, tail), False
        else:
            pcm = read_audio(row["path"])
        start = time.perf_counter()
        text = decode(rec, pcm, args.path, pad=pad)
        if row["set"] != NOISE_ONLY:  # mostly skipped: it would flatter the real-time factor
            busy += time.perf_counter() - start
            seconds += len(pcm) / SAMPLE_RATE
        intent = understand(text).intent
        right = intent is None if row["set"].startswith("oov") else intent == row["expected"]
        cell = table.setdefault(row["set"], [0, 0])
        cell[0] += right
        cell[1] += 1
        if not right:
            want = row.get("expected")
            misses.append(f"- {row['set']}: want {want} got {intent} <- {text!r} ({row['path']})")
    lead = f", {args.lead:g} s of room first" if args.lead else ""
    print(f"| set ({args.path}{lead}, denoise {args.denoise}) | right |\n|---|---|")
    for name, (right, total) in sorted(table.items()):
        print(f"| {name} | {100 * right / total:.1f}% ({right}/{total}) |")
    print(f"| real-time factor | {busy / seconds:.3f} |")
    if args.failures:
        print("\nMisses\n" + "\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
