"""``voice-coach understand FILE...``: recognise recorded speech and say which intent it is."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from .errors import ExitCode, InputError
from .recognise import ENGINES


def register(subparsers: Any) -> None:
    """Add the ``understand`` command."""
    parser = subparsers.add_parser(
        "understand",
        help="recognise speech in audio files and print the intent of each",
        description="Recognise the speech in each audio file and match it to an intent.",
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="audio files (WAV, FLAC, OGG, MP3); - reads standard input",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="speech engine (default: auto = vosk if an English model is installed)",
    )
    parser.add_argument("--model", metavar="PATH", help="Vosk model folder (vosk engine)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Process every file; exit 1 when any failed (the others are still processed), 130
    when Ctrl-C came first."""
    from . import catalogue, recognise

    cat = catalogue.default()
    failed = done = 0
    try:
        recogniser = recognise.select_engine(
            args.engine, args.model, catalogue=cat, debug=getattr(args, "debug", False)
        )
        for name in args.files:
            row = _process(name, recogniser, cat)
            done += 1  # before printing: a Ctrl-C once the row is out leaves it counted
            failed += "error" in row
            _report(args, row)
    except KeyboardInterrupt:
        left = len(args.files) - done
        print(
            f"voice-coach: stopped; {left} of {len(args.files)} files not processed.",
            file=sys.stderr,
        )
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.INPUT_FAILED if failed else ExitCode.OK)


def _process(name: str, recogniser: Any, cat: Any) -> dict[str, Any]:
    """Recognise and understand one file: its row, or ``{"file", "error"}`` when it failed."""
    from . import audio, understand

    try:
        start = time.perf_counter()
        transcript = recogniser.transcribe(audio.file_chunks(name))
        seconds = time.perf_counter() - start
    except InputError as exc:
        return {"file": name, "error": str(exc)}
    result = understand.understand(transcript.text, cat)
    return {
        "file": name,
        "transcript": transcript.text,
        "intent": result.intent,
        "score": round(float(result.score), 1),
        "slots": result.slots,
        "engine": transcript.engine,
        "audio_seconds": round(transcript.audio_seconds, 3),
        "decode_seconds": round(seconds, 3),
    }


def _report(args: argparse.Namespace, row: dict[str, Any]) -> None:
    if "error" in row:
        _error(args, row["file"], row["error"])
    else:
        _print(args, row)


def shown(text: str) -> str:
    """``text`` with the bytes of a file name that are not UTF-8 written as ``\\xNN``, so
    it prints in any locale (and stays valid JSON)."""
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


_CONTROLS = {
    code: f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"
    for code in (*range(32), *range(127, 160), 0x2028, 0x2029)
}
"""Control characters and line separators (a newline in a file name) as ``\\xNN`` or
``\\uNNNN``, so a row stays one line."""


def one_line(text: str) -> str:
    """:func:`shown`, with control characters and line separators escaped (:data:`_CONTROLS`)."""
    return shown(text).translate(_CONTROLS)


def _print(args: argparse.Namespace, row: dict[str, Any]) -> None:
    if args.json:  # JSON escapes control characters itself
        print(json.dumps({**row, "file": shown(row["file"])}, ensure_ascii=False), flush=True)
        return
    row = {**row, "file": one_line(row["file"])}
    if not row["transcript"]:
        print(f"{row['file']}: (no intent) <- nothing heard", flush=True)
        return
    intent = row["intent"] or "(no intent)"
    print(f'{row["file"]}: {intent} ({row["score"]:.0f}) <- "{row["transcript"]}"', flush=True)


def _error(args: argparse.Namespace, name: str, message: str) -> None:
    if args.json:
        row = {"file": shown(name), "error": shown(message)}
        print(json.dumps(row, ensure_ascii=False), flush=True)
    print(f"voice-coach: {one_line(message)}", file=sys.stderr, flush=True)
