"""The microphone source and ``voice-coach devices``, through the real virtual room."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from room import Room, aligned_correlation
from speech import EVAL_AUDIO

from voice_coach import cli
from voice_coach.audio import SAMPLE_RATE, SILENCE_DBFS, level_dbfs, read_audio
from voice_coach.errors import ResourceMissing
from voice_coach.microphone import MicrophoneLost, MicrophoneSource, list_devices

EVAL_STOP = EVAL_AUDIO / ("commands/stop")
PROJECT = Path(__file__).resolve().parents[1]
GENEROUS = 30.0
"""Upper bound (s) on waits that take well under a second when things work."""


# -- helpers ---------------------------------------------------------------------------------


def stop_recording_sample() -> np.ndarray:
    """A real human 'stop' (one second)."""
    files = sorted(EVAL_STOP.glob("*.wav")) if EVAL_STOP.is_dir() else []
    if not files:
        pytest.skip(f"real recordings absent: {EVAL_STOP}")
    return read_audio(files[0])


def padded(speech: np.ndarray) -> np.ndarray:
    """``speech`` with half a second of silence on each side, as played into the room."""
    pad = np.zeros(SAMPLE_RATE // 2, dtype=np.int16)
    return np.concatenate([pad, speech, pad])


def record_while(chunks: Iterator[bytes], process: subprocess.Popen, tail: float) -> np.ndarray:
    """Read the microphone until ``process`` has ended, then ``tail`` seconds more."""
    pcm = bytearray()
    tail_bytes = None
    limit = int(GENEROUS * SAMPLE_RATE * 2)
    for chunk in chunks:
        pcm += chunk
        if tail_bytes is None and process.poll() is not None:
            tail_bytes = len(pcm) + int(tail * SAMPLE_RATE) * 2
        if tail_bytes is not None and len(pcm) >= tail_bytes:
            break
        assert len(pcm) < limit, "playback into the microphone never ended"
    return np.frombuffer(bytes(pcm), dtype="<i2")


def run_in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list]:
    """Run ``target`` in a daemon thread; the list receives its result or exception."""
    outcome: list = []

    def body() -> None:
        try:
            outcome.append(target())
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


# -- level_dbfs ------------------------------------------------------------------------------


def test_level_of_silence_and_empty_chunks_is_the_floor() -> None:
    assert level_dbfs(b"") == SILENCE_DBFS
    assert level_dbfs(bytes(3200)) == SILENCE_DBFS
    assert level_dbfs(b"\x01") == SILENCE_DBFS  # a lone odd byte is no sample


def test_level_of_square_waves_follows_amplitude() -> None:
    full = np.tile(np.array([32767, -32768], dtype="<i2"), 800)
    assert level_dbfs(full.tobytes()) == pytest.approx(0.0, abs=0.01)
    half = (full // 2).astype("<i2")
    assert level_dbfs(half.tobytes()) == pytest.approx(-6.02, abs=0.05)
    tenth = (full // 10).astype("<i2")
    assert level_dbfs(tenth.tobytes()) == pytest.approx(-20.0, abs=0.05)


def test_level_of_real_speech_is_plausible() -> None:
    speech = stop_recording_sample()
    level = level_dbfs(speech.tobytes())
    assert -50.0 < level < -3.0


# -- the microphone in the room ---------------------------------------------------------------


def test_speech_said_into_the_room_reaches_the_microphone(room: Room) -> None:
    speech = stop_recording_sample()
    with MicrophoneSource(room.input_device, stall_seconds=GENEROUS) as mic:
        chunks = iter(mic)
        next(chunks)  # the stream is live
        heard = record_while(chunks, room.play_into_mic(padded(speech), wait=False), tail=0.5)
    correlation, segment = aligned_correlation(speech, heard)
    assert correlation > 0.95
    assert level_dbfs(segment.tobytes()) == pytest.approx(level_dbfs(speech.tobytes()), abs=1.0)


def test_a_short_click_reaches_the_microphone_whole(room: Room) -> None:
    click = np.zeros(SAMPLE_RATE // 10, dtype=np.int16)
    click[:160] = 20_000  # 10 ms
    with MicrophoneSource(room.input_device, stall_seconds=GENEROUS) as mic:
        chunks = iter(mic)
        next(chunks)
        heard = record_while(chunks, room.play_into_mic(click, wait=False), tail=0.3)
    assert np.count_nonzero(heard == 20_000) == 160


def test_chunks_have_the_requested_size(room: Room) -> None:
    with MicrophoneSource(room.input_device, frames=400, stall_seconds=GENEROUS) as mic:
        sizes = {len(chunk) for chunk in islice(mic, 5)}
    assert sizes == {400 * 2}


def test_quiet_speech_arrives_quieter_by_the_gain(room: Room) -> None:
    speech = stop_recording_sample()
    with MicrophoneSource(room.input_device, stall_seconds=GENEROUS) as mic:
        chunks = iter(mic)
        next(chunks)
        heard = record_while(
            chunks, room.play_into_mic(padded(speech), -20.0, wait=False), tail=0.5
        )
    correlation, segment = aligned_correlation(speech, heard)
    assert correlation > 0.95
    drop = level_dbfs(speech.tobytes()) - level_dbfs(segment.tobytes())
    assert drop == pytest.approx(20.0, abs=1.0)


def test_speaker_leaks_into_the_microphone_at_the_chosen_level(room: Room) -> None:
    import sounddevice as sd

    speech = stop_recording_sample()
    room.leak_room_into_mic(-10.0)
    with MicrophoneSource(room.input_device, stall_seconds=GENEROUS) as mic:
        chunks = iter(mic)
        next(chunks)
        player, _ = run_in_thread(
            lambda: sd.play(padded(speech), SAMPLE_RATE, device=room.output_device, blocking=True)
        )
        pcm = bytearray()
        end = None  # once the player is done, a second more of audio (as record_while does)
        for chunk in chunks:
            pcm += chunk
            if end is None and not player.is_alive():
                end = len(pcm) + 2 * SAMPLE_RATE
            if end is not None and len(pcm) >= end:
                break
            assert len(pcm) < GENEROUS * SAMPLE_RATE * 2, "playback on the speaker never ended"
    heard = np.frombuffer(bytes(pcm), dtype="<i2")
    correlation, segment = aligned_correlation(speech, heard)
    assert correlation > 0.9
    drop = level_dbfs(speech.tobytes()) - level_dbfs(segment.tobytes())
    assert drop == pytest.approx(10.0, abs=1.5)


def test_room_records_what_the_speaker_plays(room: Room) -> None:
    import sounddevice as sd

    speech = stop_recording_sample()
    room.start_recording()
    sd.play(padded(speech), SAMPLE_RATE, device=room.output_device, blocking=True)
    recorded = room.stop_recording()
    correlation, _ = aligned_correlation(speech, recorded)
    assert correlation > 0.95


def test_unplugging_the_microphone_raises_microphone_lost(room: Room) -> None:
    mic = MicrophoneSource(room.input_device, stall_seconds=GENEROUS)
    chunks = iter(mic)
    next(chunks)
    room.unplug_mic()
    thread, outcome = run_in_thread(lambda: drain_iterator(chunks))
    thread.join(GENEROUS + 5)
    assert outcome, "reading an unplugged microphone did not end"
    assert isinstance(outcome[0], MicrophoneLost), outcome
    assert "'pulse'" in str(outcome[0])
    assert not mic.is_open


def drain_iterator(chunks: Iterator[bytes]) -> object:
    for _ in chunks:
        pass
    return "ended"


def test_reopening_fails_while_unplugged_and_works_once_replugged(room: Room) -> None:
    speech = stop_recording_sample()
    mic = MicrophoneSource(room.input_device, stall_seconds=GENEROUS)
    room.unplug_mic()
    with pytest.raises(ResourceMissing, match="cannot open microphone 'pulse'") as lost:
        mic.open()
    assert "input devices: 0 'pulse'" in str(lost.value)
    assert not mic.is_open
    room.replug_mic()
    with mic:
        chunks = iter(mic)
        next(chunks)
        heard = record_while(chunks, room.play_into_mic(padded(speech), wait=False), tail=0.5)
    assert aligned_correlation(speech, heard)[0] > 0.95, f"overflows: {mic.overflows}"


def test_a_stalled_microphone_trips_the_watchdog(room: Room) -> None:
    mic = MicrophoneSource(room.input_device, stall_seconds=0.5, start_seconds=GENEROUS)
    chunks = iter(mic)
    next(chunks)
    room.freeze_mic()
    thread, outcome = run_in_thread(lambda: drain_iterator(chunks))
    thread.join(GENEROUS)
    assert outcome, "the watchdog did not fire"
    assert isinstance(outcome[0], MicrophoneLost), outcome
    assert "no audio for 0.5 s" in str(outcome[0])
    room.thaw_mic()
    with mic:
        assert len(next(iter(mic))) == mic.frames * 2  # reopens cleanly


def test_close_from_another_thread_ends_iteration(room: Room) -> None:
    mic = MicrophoneSource(room.input_device, stall_seconds=GENEROUS)
    chunks = iter(mic)
    next(chunks)
    thread, outcome = run_in_thread(lambda: drain_iterator(chunks))
    mic.close()
    thread.join(GENEROUS)
    assert outcome == ["ended"]
    mic.close()  # twice is fine


def test_unknown_device_name_lists_the_input_devices(room: Room) -> None:
    with pytest.raises(ResourceMissing) as missing:
        MicrophoneSource("no-such-microphone").open()
    message = str(missing.value)
    assert "'no-such-microphone'" in message
    assert "0 'pulse'" in message and "'default'" in message
    assert "\n" not in message


def test_unknown_device_index_is_resource_missing(room: Room) -> None:
    with pytest.raises(ResourceMissing, match="cannot open microphone 99"):
        MicrophoneSource("99").open()


def test_default_device_is_the_room_microphone(room: Room) -> None:
    speech = stop_recording_sample()
    with MicrophoneSource(stall_seconds=GENEROUS) as mic:
        assert mic.label.startswith("default input")
        chunks = iter(mic)
        next(chunks)
        heard = record_while(chunks, room.play_into_mic(padded(speech), wait=False), tail=0.5)
    assert aligned_correlation(speech, heard)[0] > 0.95


# -- voice-coach devices ---------------------------------------------------------------------


def test_devices_lists_the_room(room: Room, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out
    inputs, _, outputs = out.partition("output devices:")
    assert "pulse (ALSA)" in inputs and "pulse (ALSA)" in outputs
    assert "*" in inputs


def test_devices_json_in_a_subprocess(room: Room) -> None:
    env = {**room.env_full(), "PYTHONPATH": str(PROJECT)}
    proc = subprocess.run(
        [sys.executable, "-m", "voice_coach.cli", "devices", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=GENEROUS * 2,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    devices = {d["name"]: d for d in json.loads(proc.stdout)["devices"]}
    assert devices["pulse"]["inputs"] >= 1 and devices["pulse"]["outputs"] >= 1
    assert any(d["default_input"] for d in devices.values())
    assert [d.name for d in list_devices() if d.is_input] == [
        name for name, d in devices.items() if d["inputs"] > 0
    ]


def test_devices_without_any_input_exits_3(tmp_path: Path) -> None:
    cards = Path("/proc/asound/cards")
    if cards.is_file() and "no soundcards" not in cards.read_text():
        pytest.skip("this machine has sound cards, so it always has an input device")
    conf = tmp_path / "client.conf"
    conf.write_text("autospawn = no\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "PULSE_SERVER": f"unix:{tmp_path}/no-server",
        "PULSE_CLIENTCONFIG": str(conf),
    }

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "voice_coach.cli", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=GENEROUS * 2,
            check=False,
        )

    proc = run("devices")
    assert proc.returncode == 3
    assert "input devices:" in proc.stdout
    assert "no audio input device" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    check = run("check")
    assert check.returncode == 3
    assert "to fix: no microphone found" in check.stdout
    assert check.stderr.strip() == ""  # everything it found out is in the report
    listen = run("listen", "--quiet", "--no-notice")  # no speaker needed: only the microphone
    assert listen.returncode == 3
    assert "voice-coach: no microphone found" in listen.stderr
    assert "plug one in" in listen.stderr and "--input-device" not in listen.stderr


class _NoPortAudio:
    """Import hook: ``import sounddevice`` fails as it does when libportaudio2 is missing."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")


def test_devices_without_portaudio_names_the_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoPortAudio(), *sys.meta_path])
    assert cli.main(["devices"]) == 3
    err = capsys.readouterr().err
    assert "libportaudio2" in err and len(err.strip().splitlines()) == 1


CTRL_C_WHILE_A_STREAM_OPENS = """
import os, signal, sys
from voice_coach import microphone, speak
from voice_coach.errors import interrupt

signal.signal(signal.SIGINT, interrupt)  # as the console script does
for cls in (microphone.MicrophoneSource, speak.Speaker):
    start = cls._start

    def interrupted_start(self, *args, start=start):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while PortAudio opens the stream
        return start(self, *args)

    cls._start = interrupted_start


def streams(kind):  # what the sound server has open for this process
    return subprocess.run(["pactl", "list", "short", kind], capture_output=True, text=True).stdout


import subprocess

try:
    microphone.MicrophoneSource(sys.argv[1]).open()
except KeyboardInterrupt:
    print("recording streams:", repr(streams("source-outputs")), flush=True)
try:
    speak.Speaker(speak.Voice(), device=sys.argv[1])
except KeyboardInterrupt:
    print("playing streams:", repr(streams("sink-inputs")), flush=True)
"""


def test_ctrl_c_while_a_stream_opens_leaves_no_stream_open(room: Room) -> None:
    """The interrupt waits for the stream to open, then closes it: neither the microphone's
    caller nor the speaker's gets an object to close it with."""
    proc = subprocess.run(
        [sys.executable, "-c", CTRL_C_WHILE_A_STREAM_OPENS, room.input_device],
        env={**room.env_full(), "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=GENEROUS * 2,
        check=False,
    )
    assert proc.stdout == "recording streams: ''\nplaying streams: ''\n", proc.stderr
