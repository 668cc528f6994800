"""The hands-free commands: ``listen`` (the default) and ``check`` (a set-up check)."""

from __future__ import annotations

import argparse
import contextlib
import queue
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import catalogue, state
from .cli_speech_out import rate_help
from .cli_text import read_lines
from .errors import ExitCode, ResourceMissing, UsageError

CHECK_LISTEN_SECONDS = 8.0
"""How long ``check`` waits for the person to say something (s)."""
NEAR = "within about a metre of your head"
"""Where ``check`` says the microphone should be: across a bedroom the recogniser misses 2 to
4 requests in 10 streamed (README, Performance: "Speech in")."""
QUIET_DBFS = -45.0
"""Below this peak level (dBFS) ``check`` calls the microphone too quiet."""


def _audio_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-device", metavar="D", help="microphone: index or part of a name")
    parser.add_argument("--output-device", metavar="D", help="speaker: index or part of a name")
    parser.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "vosk", "pocketsphinx"),
        help="speech recogniser (default: auto)",
    )
    parser.add_argument("--model", metavar="PATH", help="Vosk model folder")
    parser.add_argument("--voice", metavar="ID", help="espeak-ng voice (see: say --list-voices)")
    parser.add_argument("--rate", type=int, metavar="WPM", help=rate_help())


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``listen`` and ``check``."""
    listen = subparsers.add_parser("listen", help="listen and answer aloud (the default command)")
    _audio_options(listen)
    listen.add_argument(
        "--text",
        action="store_true",
        help="type requests on stdin instead of speaking; answers are spoken",
    )
    listen.add_argument("--quiet", action="store_true", help="print answers instead of speaking")
    listen.add_argument(
        "--wake-word",
        type=_wake_word,
        metavar="WORD",
        help="require WORD before every request (default: only after goodbye, "
        "with the word 'coach')",
    )
    listen.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="append what was heard, said and ignored (heard over the coach) to FILE",
    )
    listen.add_argument("--no-notice", action="store_true", help="skip the safety notice")
    listen.set_defaults(func=run_listen)

    check = subparsers.add_parser("check", help="one-minute set-up check before lying down")
    _audio_options(check)
    check.set_defaults(func=run_check)


def _voice_and_speaker(args: argparse.Namespace, quiet: bool = False) -> tuple[Any, Any]:
    from .speak import PrintSpeaker, Speaker, SpeechSettings, Voice

    settings = SpeechSettings(
        voice=args.voice, **({"rate": args.rate} if args.rate is not None else {})
    )
    voice = Voice(settings)
    if quiet:
        return voice, PrintSpeaker(voice)
    return voice, Speaker(voice, device=args.output_device, announce_loss=True)


def run_listen(args: argparse.Namespace) -> int:
    """The hands-free loop until Ctrl-C."""
    from .coach import Coach
    from .dialogue import Dialogue
    from .loop import ConversationLog, Listener, LoggedSpeaker, LoopOptions, Session, run

    cat = catalogue.default()
    if args.wake_word:
        cat = cat.with_wake_word(args.wake_word)
    _check_log_file(args.log)
    dialogue = Dialogue()
    voice, speaker = _voice_and_speaker(args, quiet=args.quiet)
    conversation = ConversationLog(args.log)
    speaker = LoggedSpeaker(speaker, conversation)  # answers, cues and alarms alike
    coach = Coach(dialogue, speaker, voice=voice)
    options = LoopOptions(
        wake_word=cat.wake_word,
        wake_every_time=args.wake_word is not None,
    )
    session = Session(dialogue, speaker, options, say=coach.say, conversation=conversation)
    try:
        if args.text:
            return _typed(session, coach, args, dialogue)
        recogniser, open_mic = _hearing(args, cat)
        coach.start()
        _notice(args, session, dialogue)
        events: queue.Queue = queue.Queue()
        listener = Listener(
            open_mic,
            recogniser,
            events,
            gate=session.gate_level,
            spotter=_spotter(cat, args.debug),
            spot_now=session.coach_audible,
        )
        print("voice-coach: listening (Ctrl-C to quit)", file=sys.stderr, flush=True)
        code = run(session, listener, events)
    except KeyboardInterrupt:
        code = int(ExitCode.OK)
    finally:
        coach.close()
        speaker.stop()
        speaker.close()
    print("voice-coach: stopped.", file=sys.stderr)
    return code


def _wake_word(value: str) -> str:
    """``--wake-word``: one to three plain words."""
    try:
        return catalogue.check_wake_word(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} {exc}") from None


def _check_log_file(path: Path | None) -> None:
    """Fail now (exit 2) if ``--log`` cannot be appended to, not at the first thing heard."""
    if path is None:
        return
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot write the log file {path} ({exc.strerror}): choose a file in a folder "
            "that exists and that you may write to"
        ) from None


def _hearing(args: argparse.Namespace, cat: catalogue.Catalogue) -> tuple[Any, Any]:
    """The recogniser and a microphone factory; fails now (exit 3) if no microphone opens."""
    from .microphone import MicrophoneSource
    from .recognise import select_engine

    recogniser = select_engine(args.engine, args.model, cat, debug=args.debug)

    def open_mic() -> MicrophoneSource:
        return MicrophoneSource(args.input_device).open()

    open_mic().close()
    return recogniser, open_mic


def _spotter(cat: catalogue.Catalogue, debug: bool) -> Any:
    """The keyword spotter for commands said over the coach, or None when it cannot run."""
    from .spot import CommandSpotter

    try:
        return CommandSpotter(cat, debug=debug)
    except ResourceMissing as exc:
        print(
            f"voice-coach: {exc}; 'stop' is then heard less well over the coach's voice",
            file=sys.stderr,
        )
        return None


def _notice(args: argparse.Namespace, session: Any, dialogue: Any) -> None:
    if not args.no_notice and state.first_use():
        session.speak(dialogue.notice())
        state.record_notice_given()


def _typed(session: Any, coach: Any, args: argparse.Namespace, dialogue: Any) -> int:
    """``--text``: requests typed on stdin go through the same session; answers are spoken."""
    coach.start()
    _notice(args, session, dialogue)
    for line in read_lines():
        session.request(line)
    coach.wait_until_idle()
    coach.speaker.wait(60.0)
    return int(ExitCode.OK)


def run_check(args: argparse.Namespace) -> int:
    """Devices, a test sentence, a spoken test: says plainly what to fix."""
    from .audio import level_dbfs
    from .microphone import MicrophoneSource
    from .recognise import select_engine
    from .understand import understand

    cat = catalogue.default()
    problems: list[str] = []
    _report_devices(args, problems)
    if problems:  # no sound test without devices; the speech engine can still be checked
        return _verdict_without_sound(args, cat, problems)
    try:
        _, speaker = _voice_and_speaker(args)
    except ResourceMissing as exc:  # listed, but it would not open
        problems.append(str(exc))
        return _verdict_without_sound(args, cat, problems)
    try:
        # Everything that takes time comes before the spoken prompt, and the microphone
        # opens as soon as it ends: what is said right after it is heard (on a busy machine
        # loading the recogniser after it took seconds).
        recogniser = select_engine(args.engine, args.model, cat, debug=args.debug)
        speaker.say(cat.line("speech_out_sound_check"))
        speaker.say(cat.line("check_say_something"))
        speaker.wait(30.0)
        with MicrophoneSource(args.input_device) as mic:
            print("speaker: played a test sentence (did you hear it?)")
            print(f"say something now, for example: {cat.intent('stretching').phrases[0]}")
            peak, text = _listen_once(mic, recogniser, level_dbfs)
    except ResourceMissing as exc:
        problems.append(str(exc))
        return _verdict(problems)
    finally:
        speaker.close()
    print(f"input level: peak {peak:.0f} dBFS")
    heard = understand(text) if text else None
    print(f"heard: {text!r}" + (f" -> {heard.intent}" if heard else ""))
    if peak < QUIET_DBFS:
        problems.append(
            f"the microphone is very quiet (peak {peak:.0f} dBFS): move it closer, "
            "or raise its input volume in the system's sound settings"
        )
    elif not text:
        problems.append(
            "nothing was recognised: speak a little louder and more slowly, keep the "
            f"microphone {NEAR}, and check that the right microphone is chosen (--input-device)"
        )
    elif heard is not None and heard.intent is None:
        problems.append(
            f"{text!r} was not understood: say the example from where you will lie, with the "
            f"microphone {NEAR} (across a room, echoes make the coach mishear)"
        )
    return _verdict(problems)


def _report_devices(args: argparse.Namespace, problems: list[str]) -> None:
    from .microphone import describe, list_devices

    try:
        devices = list_devices()
    except ResourceMissing as exc:
        problems.append(str(exc))
        return
    inputs = [d for d in devices if d.is_input]
    outputs = [d for d in devices if d.max_output_channels > 0]
    for kind, chosen, found in (
        ("microphone", args.input_device, inputs),
        ("speaker", args.output_device, outputs),
    ):
        if not found:
            problems.append(f"no {kind} found: connect one, then check `voice-coach devices`")
            continue
        use = _pick(chosen, "input" if kind == "microphone" else "output")
        if use is None:
            problems.append(f"{kind} {chosen!r} not found; available: {describe(found)}")
            continue
        print(f"{kind}: {use}")


def _pick(chosen: str | None, kind: str) -> str | None:
    """The name of the device ``chosen`` (index or part of a name; None: the default), as
    sounddevice resolves it for ``kind`` ("input" or "output"); None when none matches."""
    from .microphone import device_arg, import_sounddevice

    sd = import_sounddevice()
    try:
        return str(sd.query_devices(device_arg(chosen), kind)["name"])
    except (ValueError, sd.PortAudioError):  # no such device, or several match
        return None


def _listen_once(mic: Any, recogniser: Any, level: Any) -> tuple[float, str]:
    """Peak level and the first final transcript within :data:`CHECK_LISTEN_SECONDS` of
    audio (counted in audio, not on the clock: a slow recogniser still hears all of it)."""
    from .audio import SAMPLE_RATE, SAMPLE_WIDTH

    peak = -120.0
    left = int(CHECK_LISTEN_SECONDS * SAMPLE_RATE) * SAMPLE_WIDTH

    def chunks() -> Iterator[bytes]:
        nonlocal peak, left
        for chunk in mic:
            peak = max(peak, level(chunk))
            yield chunk
            left -= len(chunk)
            if left <= 0:
                return

    text = ""
    try:
        for transcript in recogniser.stream(chunks()):
            if transcript.is_final and transcript.text:
                text = transcript.text
                break
    finally:
        mic.close()
    return peak, text


def _verdict_without_sound(
    args: argparse.Namespace, cat: catalogue.Catalogue, problems: list[str]
) -> int:
    """The verdict when no sound test can run: the speech engine is still checked."""
    from .recognise import select_engine

    try:
        with contextlib.redirect_stderr(sys.stdout):  # which engine: part of the report
            select_engine(args.engine, args.model, cat, debug=args.debug)
    except (ResourceMissing, UsageError) as exc:
        problems.append(str(exc))
    return _verdict(problems)


def _verdict(problems: list[str]) -> int:
    if not problems:
        print("all good: start voice-coach, lie down and talk to it.")
        return int(ExitCode.OK)
    for problem in problems:
        print(f"to fix: {problem}")
    return int(ExitCode.MISSING_RESOURCE)
