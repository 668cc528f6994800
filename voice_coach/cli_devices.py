"""``voice-coach devices``: list the audio devices PortAudio sees, defaults marked."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .errors import ExitCode, ResourceMissing

if TYPE_CHECKING:
    from .microphone import AudioDevice


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``devices`` command."""
    parser = subparsers.add_parser(
        "devices",
        help="list microphones and speakers",
        description="List the audio input and output devices; '*' marks the defaults. "
        "Pass an index or part of a name to --input-device or --output-device.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the devices; ResourceMissing (exit 3) without PortAudio or without any input."""
    from .microphone import list_devices

    devices = list_devices()
    if args.json:
        print(json.dumps({"devices": [_as_dict(d) for d in devices]}, indent=2))
    else:
        print(_table(devices))
    if not any(d.is_input for d in devices):
        raise ResourceMissing(
            "no audio input device found; connect a microphone and make sure a sound server "
            "can see it (Debian/Ubuntu: 'sudo apt-get install pulseaudio alsa-utils', then "
            "'arecord -l' lists it)"
        )
    return int(ExitCode.OK)


def _as_dict(device: AudioDevice) -> dict[str, object]:
    return {
        "index": device.index,
        "name": device.name,
        "hostapi": device.hostapi,
        "inputs": device.max_input_channels,
        "outputs": device.max_output_channels,
        "default_samplerate": device.default_samplerate,
        "default_input": device.default_input,
        "default_output": device.default_output,
    }


def _table(devices: list[AudioDevice]) -> str:
    """Inputs then outputs, one line each: ``*   1  default (ALSA)  32 ch  44100 Hz``."""
    lines = _section(
        "input devices:", [(d, d.max_input_channels, d.default_input) for d in devices]
    )
    lines += _section(
        "output devices:", [(d, d.max_output_channels, d.default_output) for d in devices]
    )
    return "\n".join([*lines, "(* = default)"])


def _section(title: str, rows: list[tuple[AudioDevice, int, bool]]) -> list[str]:
    """A titled block of the devices with channels in that direction."""
    lines = [title]
    for device, channels, is_default in rows:
        if channels > 0:
            mark = "*" if is_default else " "
            lines.append(
                f"  {mark} {device.index:>3}  {device.name} ({device.hostapi})  "
                f"{channels} ch  {device.default_samplerate:.0f} Hz"
            )
    if len(lines) == 1:
        lines.append("    (none)")
    return lines
