"""``voice-coach say``: speak a sentence aloud, or write it to a WAV file (no sound card needed)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .cli_text import decodable
from .errors import ExitCode, UsageError
from .speak import RATE_BOUNDS, VOLUME_BOUNDS

if TYPE_CHECKING:
    from .speak import SpeechSettings, Voice


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``say`` command."""
    parser = subparsers.add_parser(
        "say",
        help="speak a sentence with the coach's voice (or write a WAV file)",
        description="Speak TEXT with the coach's voice; without TEXT, a sound check sentence. "
        "With --out, write a 16 kHz mono WAV file instead (no sound card needed).",
    )
    parser.add_argument("text", nargs="?", help="what to say, in quotes")
    parser.add_argument("--out", metavar="FILE.wav", type=Path, help="write a WAV file")
    parser.add_argument("--rate", type=int, metavar="WPM", help=rate_help())
    low, high = VOLUME_BOUNDS
    parser.add_argument("--volume", type=float, metavar="V", help=f"volume, {low:g} to {high:g}")
    parser.add_argument("--voice", metavar="ID", help="espeak-ng voice id or name (en-us)")
    parser.add_argument(
        "--output-device", metavar="D", help="speaker: index or part of a name (see `devices`)"
    )
    parser.add_argument("--list-voices", action="store_true", help="list the voices and exit")
    parser.set_defaults(func=run)


def rate_help() -> str:
    """Help for ``--rate``, with its bounds."""
    return f"speaking rate, {RATE_BOUNDS[0]} to {RATE_BOUNDS[1]} words per minute"


def run(args: argparse.Namespace) -> int:
    """Speak, write or list; ResourceMissing (exit 3) without espeak-ng or an output device."""
    from . import speak

    if args.list_voices:
        for voice in speak.list_voices():
            print(f"{voice.id}\t{voice.name}\t{','.join(voice.languages)}")
        return int(ExitCode.OK)
    text = None if args.text is None else decodable(args.text)
    if text is not None and not text.strip():
        raise UsageError(
            "nothing to say: the text is empty; give a sentence, or none for a sound check"
        )
    if text is not None and len(text) > speak.MAX_TEXT_CHARS:
        raise UsageError(
            f"the text has {len(text)} characters; 'say' takes at most {speak.MAX_TEXT_CHARS} "
            "at once: split it into several runs"
        )
    if args.out is not None and args.out.suffix.lower() != ".wav":
        raise UsageError(f"{args.out}: 'say --out' writes a WAV file; give a name ending in .wav")
    if args.out is not None and not args.out.parent.is_dir():
        raise UsageError(
            f"{args.out}: the folder {args.out.parent} does not exist; choose another --out"
        )
    voice = speak.Voice(_settings(args))
    if text is None:
        from . import catalogue

        text = catalogue.default().line("speech_out_sound_check")
    if args.out is not None:
        seconds = write_wav(voice, text, args.out)
        print(f"{args.out}\t{seconds:.2f} s")
        return int(ExitCode.OK)
    speaker = speak.Speaker(voice, device=args.output_device)
    try:
        speaker.say(text)
        speaker.wait()
    except KeyboardInterrupt:
        speaker.stop()
        raise
    finally:
        speaker.close()
    return int(ExitCode.OK)


def _settings(args: argparse.Namespace) -> SpeechSettings:
    from .speak import SpeechSettings

    data = {"rate": args.rate, "volume": args.volume, "voice": args.voice}
    return SpeechSettings.from_dict({k: v for k, v in data.items() if v is not None})


def write_wav(voice: Voice, text: str, path: Path) -> float:
    """Render ``text`` into a 16 kHz mono 16-bit WAV at ``path``; its duration (s)."""
    import soundfile

    from .audio import SAMPLE_RATE

    samples = voice.render(text)
    try:
        path.open("wb").close()  # the system's reason, not libsndfile's "System error"
        soundfile.write(os.fsencode(path), samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot write the WAV file ({exc.strerror or exc}); choose another --out"
        ) from None
    except soundfile.LibsndfileError as exc:
        raise UsageError(
            f"{path}: cannot write the WAV file ({exc}); choose another --out"
        ) from None
    return len(samples) / SAMPLE_RATE
