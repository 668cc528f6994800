"""``voice-coach routine NAME`` (run a guided routine aloud) and ``voice-coach routines`` (list)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

from .errors import ExitCode, UsageError


def register(subparsers: Any) -> None:
    """Add the ``routine`` and ``routines`` commands."""
    run = subparsers.add_parser(
        "routine",
        help="guide a routine aloud (e.g. knee-to-chest)",
        description="Guide a routine aloud with timed spoken cues. Ctrl-C stops it.",
    )
    run.add_argument("name", metavar="NAME", help="routine name (see `voice-coach routines`)")
    within = "within the routine's range (see `voice-coach routines`)"
    run.add_argument("--hold", type=int, metavar="S", help=f"seconds of each hold, {within}")
    run.add_argument("--reps", type=int, metavar="N", help=f"repetitions per side, {within}")
    run.add_argument("--side", choices=("left", "right", "both"), help="which side (default both)")
    run.add_argument(
        "--count",
        choices=("last", "every"),
        help="count the last seconds of each hold (default) or every second",
    )
    run.add_argument("--dry-run", action="store_true", help="print the cues, do not speak")
    run.add_argument("--json", action="store_true", help="with --dry-run: print JSON")
    run.add_argument("--output-device", metavar="D", help="speaker: index or part of a name")
    run.add_argument(
        "--quiet", action="store_true", help="print each cue with its time instead of speaking"
    )
    run.set_defaults(func=run_routine)
    listing = subparsers.add_parser("routines", help="list the guided routines")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=list_routines)


def run_routine(args: argparse.Namespace) -> int:
    """Run, dry-run or print a routine."""
    from .routine import build_timeline, default_estimate, load_routine, resolve_params

    if args.json and not args.dry_run:
        raise UsageError("--json needs --dry-run (a spoken run prints no JSON)")
    routine = load_routine(args.name)
    resolve_params(routine, args.hold, args.reps, args.side, args.count)
    if args.dry_run:
        timeline = build_timeline(
            routine, args.hold, args.reps, args.side, args.count, estimate=default_estimate()
        )
        if args.json:
            print(json.dumps(timeline.to_dict(), indent=2))
        else:
            for cue in timeline.cues:
                print(f"{cue.at:8.2f}s  {cue.kind:<11}  {cue.say}")
            print(f"{timeline.total_seconds:8.2f}s  end")
        return int(ExitCode.OK)
    return _run_aloud(routine, args)


def _run_aloud(routine: Any, args: argparse.Namespace) -> int:
    from .clock import MonotonicClock
    from .routine import RoutineRunner, build_timeline, run_realtime
    from .speak import PrintSpeaker, Speaker, Voice

    voice = Voice()
    if args.quiet:
        speaker: Any = PrintSpeaker(voice, stream=io.StringIO())
    else:
        speaker = Speaker(voice, device=args.output_device, announce_loss=True)
    clock = MonotonicClock()
    try:
        timeline = build_timeline(
            routine, args.hold, args.reps, args.side, args.count, estimate=speaker.prepare
        )
        runner = RoutineRunner(timeline, speaker, clock)
        start = clock.now()

        def show(cue: Any, _planned: float, actual: float) -> None:
            print(f"{actual - start:8.2f}s  {cue.kind:<11}  {cue.say}", flush=True)

        try:
            run_realtime(runner, clock, on_cue=show if args.quiet else None)
        except KeyboardInterrupt:
            runner.stop()
            print("voice-coach: routine stopped.", file=sys.stderr)
    finally:
        speaker.close()
    return int(ExitCode.OK)


def list_routines(args: argparse.Namespace) -> int:
    """Print the routines with their default pacing."""
    from .routine import load_all

    routines = load_all()
    if args.json:
        rows = [
            {
                "name": r.name,
                "title": r.title,
                "hold_seconds": r.settings.hold_seconds,
                "hold_range": list(r.settings.hold_range),
                "reps": r.settings.reps,
                "reps_range": list(r.settings.reps_range),
                "rest_seconds": r.settings.rest_seconds,
                "sides": list(r.settings.sides),
            }
            for r in routines
        ]
        print(json.dumps(rows, indent=2))
        return int(ExitCode.OK)
    for r in routines:
        s = r.settings
        sides = "/".join(s.sides) or "-"
        print(
            f"{r.name:<16} {r.title}  (hold {s.hold_seconds} s [{s.hold_range[0]}-"
            f"{s.hold_range[1]}], {s.reps} reps [{s.reps_range[0]}-{s.reps_range[1]}], "
            f"rest {s.rest_seconds:g} s, sides {sides})"
        )
    return int(ExitCode.OK)
