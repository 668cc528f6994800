"""A virtual room on a private PulseAudio daemon: a speaker to hear and a microphone to talk into.

Layout (all 16 kHz mono s16le, no resampling on the way to or from the pipeline):

- sink ``room``: the coach's speaker. Tests record what the coach said from ``room.monitor``.
- sink ``mic``: the air in front of the microphone. Tests play the user's speech into it; the
  microphone is its monitor source ``mic.monitor``.

The daemon runs from a private runtime folder, talks on ``unix:<folder>/native`` and has
no autospawn, no D-Bus, no saved state. :meth:`Room.env` is what a process needs to use it:
``PULSE_SERVER`` (the socket), ``PULSE_SINK=room``, ``PULSE_SOURCE=mic.monitor`` and
``PULSE_CLIENTCONFIG`` (``autospawn = no``). With that environment the ALSA device ``pulse``
(and ``default``, which ALSA maps to pulse when a server answers) reaches the room through
libasound2-plugins, so sounddevice uses ``device="pulse"`` for both input and output.

Unplugging the microphone (:meth:`Room.unplug_mic`) kills the streams recording from it
(through the daemon's CLI socket: ``pactl`` cannot kill) and then removes the ``mic`` sink.
Only removing the sink is not enough: PulseAudio (>= 14) moves the streams of a vanished
source to the fallback source, so a reader would silently go on hearing something else. A
killed stream makes PortAudio finish the stream (its ``finished_callback`` runs); opening
``pulse`` again fails ("Unanticipated host error", ALSA "No such entity") until
:meth:`Room.replug_mic`, because ``PULSE_SOURCE`` names the missing source. The fallback
source is a silent null source ``nomic``, never ``room.monitor``: when the default source
changes back, PulseAudio moves the streams of the old default, and recordings of the
speaker must stay where they are. :meth:`Room.freeze_mic` (suspend the ``mic`` sink) leaves
the stream open but delivers no audio: the stalled-driver case.

Both null sinks are loaded with ``norewinds=1``. With rewinds, a stream starting on a
running sink is mixed in by rewriting audio the monitor has already delivered, so the start
of each new sound was lost on the monitor (a 10 ms click vanished), and the first reader of
an idle monitor waited up to 2 s. Recordings and playbacks do not begin or end sample
exact: leave a little silence around the sound that matters.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voice_coach.audio import SAMPLE_RATE, read_audio

ROOM_SINK = "room"
"""Sink the coach's speaker plays into."""
MIC_SINK = "mic"
"""Sink the user's speech is played into; its monitor is the microphone."""
MIC_SOURCE = "mic.monitor"
"""The microphone source."""
NO_MIC_SOURCE = "nomic"
"""Silent source that is the fallback while the microphone is unplugged."""
ALSA_DEVICE = "pulse"
"""sounddevice / PortAudio device name reaching the room (input and output)."""
READY_TIMEOUT = 20.0
"""Longest wait for the daemon or a stream to come up (s); reached only when broken."""
_RAW = ["--raw", "--format=s16le", f"--rate={SAMPLE_RATE}", "--channels=1"]
RECORD_LATENCY_MS = 20
"""Fragment size of room recordings (ms): small, so recordings start and stop promptly."""
LOUD_DBFS = -40.0
"""A 10 ms frame louder than this (RMS) is sound; the null sinks are digitally silent."""
FRAME = SAMPLE_RATE // 100
"""Samples in one 10 ms analysis frame."""
PLAYBACK_LATENCY_MS = 250
"""Buffer of playback into the mic (ms): large, so a CPU-starved test machine adds no gaps."""


class RoomError(RuntimeError):
    """The virtual room could not be set up or driven."""


def pulseaudio_missing() -> str | None:
    """Why a room cannot be made here (a missing binary), or None when it can."""
    for tool in ("pulseaudio", "pactl", "pacat"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (Debian packages pulseaudio, pulseaudio-utils)"
    return None


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, so no daemon is left behind."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _latency(milliseconds: int) -> str:
    return f"--latency-msec={milliseconds}"


def _null_sink_args(name: str, description: str) -> str:
    return (
        f"sink_name={name} rate={SAMPLE_RATE} channels=1 format=s16le norewinds=1 "
        f"sink_properties=device.description={description}"
    )


def _end(process: subprocess.Popen) -> None:
    """Terminate a helper process, killing it if it does not go."""
    process.terminate()
    try:
        process.wait(timeout=READY_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def loud_frames(samples: np.ndarray) -> np.ndarray:
    """True for each 10 ms frame of ``samples`` louder than :data:`LOUD_DBFS`."""
    usable = len(samples) // FRAME * FRAME
    frames = samples[:usable].astype(np.float64).reshape(-1, FRAME) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return rms > 10 ** (LOUD_DBFS / 20)


def pcm_samples(data: bytes) -> np.ndarray:
    """The int16 samples of raw little-endian PCM (a last odd byte, still being written,
    left out)."""
    return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int16)


@dataclass
class Recording:
    """A running ``pacat --record`` of one source into a raw file."""

    process: subprocess.Popen
    path: Path

    def stop(self) -> np.ndarray:
        """Stop recording; the int16 samples recorded."""
        _end(self.process)
        data = self.path.read_bytes()
        return pcm_samples(data)


@dataclass
class Room:
    """A running private PulseAudio daemon with the ``room`` and ``mic`` null sinks."""

    folder: Path
    """Private runtime folder (socket, log, client.conf, recordings)."""
    process: subprocess.Popen
    """The daemon."""
    _leaks: list[int] = field(default_factory=list)
    _recording: Recording | None = None
    _mic_module: int | None = None

    input_device: str = ALSA_DEVICE
    """Device to give sounddevice for the microphone."""
    output_device: str = ALSA_DEVICE
    """Device to give sounddevice for the speaker."""

    # -- life cycle -----------------------------------------------------------------------

    @classmethod
    def start(cls, folder: Path) -> Room:
        """Start a daemon in ``folder`` and wait until it answers; raise RoomError if not."""
        folder = Path(folder)
        if (folder / "native").exists():
            raise RoomError(f"{folder} already holds a PulseAudio socket; use a fresh folder")
        (folder / "runtime").mkdir(parents=True, exist_ok=True)
        (folder / "client.conf").write_text("autospawn = no\n", encoding="utf-8")
        daemon_env = {
            **os.environ,
            "HOME": str(folder),
            "XDG_RUNTIME_DIR": str(folder),
            "XDG_CONFIG_HOME": str(folder / "config"),
            "PULSE_RUNTIME_PATH": str(folder / "runtime"),
            "PULSE_STATE_PATH": str(folder / "state"),
        }
        argv = [
            "pulseaudio",
            "--daemonize=no",
            "--system=no",
            "-n",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            "--realtime=no",
            "--high-priority=no",
            "--log-target=stderr",
            "--disable-shm=yes",
            f"--load=module-native-protocol-unix auth-anonymous=1 socket={folder}/native",
            f"--load=module-cli-protocol-unix socket={folder}/cli",
            f"--load=module-null-sink {_null_sink_args(ROOM_SINK, 'Room')}",
            # The fallback source while the microphone is unplugged. Without it the fallback
            # is room.monitor, and replugging would move every room.monitor reader to the mic.
            f"--load=module-null-source source_name={NO_MIC_SOURCE} rate={SAMPLE_RATE} "
            "channels=1 description=No_microphone",
        ]
        log = (folder / "pulseaudio.log").open("wb")
        process = subprocess.Popen(
            argv,
            env=daemon_env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        log.close()
        room = cls(folder=folder, process=process)
        try:
            room._wait_ready()
            room.pactl("set-default-sink", ROOM_SINK)
            room.replug_mic()
        except BaseException:
            room.stop()
            raise
        return room

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RoomError(f"pulseaudio exited: {self.log_tail()}")
            probe = subprocess.run(
                ["pactl", "info"], env=self.env_full(), capture_output=True, check=False
            )
            if probe.returncode == 0:
                return
            time.sleep(0.05)
        raise RoomError(f"pulseaudio did not answer within {READY_TIMEOUT:g} s: {self.log_tail()}")

    def stop(self) -> None:
        """Stop recordings and the daemon."""
        if self._recording is not None:
            self._recording.stop()
            self._recording = None
        if self.process.poll() is None:
            _end(self.process)

    def reset(self) -> None:
        """Back to the starting state: no leak, no recording, microphone plugged in and awake."""
        self.stop_leak()
        if self._recording is not None:
            self._recording.stop()
            self._recording = None
        if self._mic_module is None:
            self.replug_mic()
        else:
            self.thaw_mic()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the daemon's log, on one line."""
        path = self.folder / "pulseaudio.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no log)"

    # -- environment ----------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Variables a client process needs to reach the room (merge into its environment)."""
        return {
            "PULSE_SERVER": f"unix:{self.folder}/native",
            "PULSE_SINK": ROOM_SINK,
            "PULSE_SOURCE": MIC_SOURCE,
            "PULSE_CLIENTCONFIG": str(self.folder / "client.conf"),
        }

    def env_full(self) -> dict[str, str]:
        """The current environment with :meth:`env` merged in (for subprocesses)."""
        return {**os.environ, **self.env()}

    def pactl(self, *args: str) -> str:
        """Run ``pactl`` against this daemon; its stdout. Raises RoomError on failure."""
        proc = subprocess.run(
            ["pactl", *args], env=self.env_full(), capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RoomError(f"pactl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def _list(self, kind: str) -> list[dict]:
        return json.loads(self.pactl("--format=json", "list", kind) or "[]")

    def _cli(self, command: str) -> str:
        """Send one command to the daemon's CLI socket (what ``pacmd`` does)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(READY_TIMEOUT)
            sock.connect(str(self.folder / "cli"))
            sock.sendall(command.encode() + b"\n")
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
        return reply.decode(errors="replace")

    # -- the microphone -------------------------------------------------------------------

    def play_into_mic(
        self, samples: np.ndarray | str | Path, gain_db: float = 0.0, wait: bool = True
    ) -> subprocess.Popen:
        """Say ``samples`` (16 kHz mono int16, or an audio file) into the microphone.

        Half a second of silence follows the sound. With ``wait`` returns once all has been
        played out; otherwise at once (call ``.wait()`` on the returned process).
        """
        if not isinstance(samples, np.ndarray):
            samples = read_audio(samples)
        scaled = samples.astype(np.float64) * 10 ** (gain_db / 20)
        # Trailing silence fills pacat's prebuffer: PulseAudio drops a stream that ends
        # before its prebuffer was ever full, so a short click would never be heard.
        tail = np.zeros(2 * PLAYBACK_LATENCY_MS * SAMPLE_RATE // 1000)
        pcm = np.clip(np.round(np.concatenate([scaled, tail])), -32768, 32767)
        pcm = pcm.astype("<i2").tobytes()
        process = subprocess.Popen(
            ["pacat", "--playback", f"--device={MIC_SINK}", *_RAW, _latency(PLAYBACK_LATENCY_MS)],
            env=self.env_full(),
            stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdin is not None
        try:
            process.stdin.write(pcm)
        finally:
            process.stdin.close()
        if wait:
            process.wait(timeout=READY_TIMEOUT + len(samples) / SAMPLE_RATE)
        return process

    def leak_room_into_mic(self, gain_db: float = -20.0) -> int:
        """Let the speaker reach the microphone at ``gain_db`` (dB); the loopback module id."""
        module = int(
            self.pactl(
                "load-module",
                "module-loopback",
                f"source={ROOM_SINK}.monitor",
                f"sink={MIC_SINK}",
                "latency_msec=60",
                "source_dont_move=true",
                "sink_dont_move=true",
            ).strip()
        )
        self._leaks.append(module)
        for sink_input in self._list("sink-inputs"):
            if str(sink_input.get("owner_module")) == str(module):
                self.pactl("set-sink-input-volume", str(sink_input["index"]), f"{gain_db:g}dB")
        return module

    def stop_leak(self) -> None:
        """Remove every speaker-to-microphone leak."""
        while self._leaks:
            module = self._leaks.pop()
            try:
                self.pactl("unload-module", str(module))
            except RoomError:
                pass  # already gone with the mic sink

    def unplug_mic(self) -> None:
        """Pull the microphone out: streams on it end, and opening it fails until replugged."""
        self.stop_leak()
        source_index = self._index("sources", MIC_SOURCE)
        for output in self._list("source-outputs"):
            if source_index is not None and str(output.get("source")) == str(source_index):
                self._cli(f"kill-source-output {output['index']}")
        sink_index = self._index("sinks", MIC_SINK)  # speech still being said into the mic
        for sink_input in self._list("sink-inputs"):
            if sink_index is not None and str(sink_input.get("sink")) == str(sink_index):
                self._cli(f"kill-sink-input {sink_input['index']}")
        if self._mic_module is not None:
            self.pactl("unload-module", str(self._mic_module))
            self._mic_module = None

    def replug_mic(self) -> None:
        """Plug the microphone (back) in and make it the default source."""
        if self._mic_module is None:
            self._mic_module = self._load_mic()
        self.pactl("set-default-source", MIC_SOURCE)

    def _load_mic(self) -> int:
        args = _null_sink_args(MIC_SINK, "Microphone").split()
        return int(self.pactl("load-module", "module-null-sink", *args))

    def freeze_mic(self) -> None:
        """The microphone stays connected but delivers no audio (a stalled driver)."""
        self.pactl("suspend-sink", MIC_SINK, "1")

    def thaw_mic(self) -> None:
        """Undo :meth:`freeze_mic`."""
        self.pactl("suspend-sink", MIC_SINK, "0")

    def _index(self, kind: str, name: str) -> int | None:
        """The index of the sink or source called ``name``, or None."""
        for device in self._list(kind):
            if device.get("name") == name:
                return int(device["index"])
        return None

    # -- the speaker ----------------------------------------------------------------------

    def start_recording(self) -> None:
        """Start recording the speaker; returns once the recording is live."""
        if self._recording is not None:
            raise RoomError("already recording the room")
        path = self.folder / f"room-{time.monotonic_ns()}.raw"
        out = path.open("wb")
        process = subprocess.Popen(
            [
                "pacat",
                "--record",
                f"--device={ROOM_SINK}.monitor",
                *_RAW,
                _latency(RECORD_LATENCY_MS),
            ],
            env=self.env_full(),
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        out.close()
        self._recording = Recording(process, path)
        deadline = time.monotonic() + READY_TIMEOUT
        while path.stat().st_size == 0:  # the idle null sink's monitor streams silence
            if process.poll() is not None or time.monotonic() > deadline:
                self._recording = None
                raise RoomError(f"recording {ROOM_SINK}.monitor did not start: {self.log_tail()}")
            time.sleep(0.01)

    def recorded(self, since: int = 0) -> np.ndarray:
        """The int16 samples of the speaker recorded so far from sample ``since`` (the
        recording goes on)."""
        if self._recording is None:
            raise RoomError("not recording the room")
        with self._recording.path.open("rb") as raw:
            raw.seek(2 * since)
            data = raw.read()
        return pcm_samples(data)

    def wait_quiet(
        self, seconds: float, since: int = 0, sound: float = 0.01, timeout: float = READY_TIMEOUT
    ) -> None:
        """Wait until the recording holds ``sound`` seconds of sound after sample ``since``
        and then ``seconds`` of quiet.

        Counted in recorded audio, not on the clock: however late the player or the recorder
        runs, the sound before the quiet is in the recording. Raises RoomError after
        ``timeout`` seconds (the sound never came, or never ended).
        """
        quiet = int(seconds * SAMPLE_RATE)
        self._wait_recorded(
            lambda loud, size: (
                loud.sum() * FRAME >= sound * SAMPLE_RATE
                and size - (since + (int(np.flatnonzero(loud)[-1]) + 1) * FRAME) >= quiet
            ),
            since,
            timeout,
            f"{sound:g} s of sound, then {seconds:g} s of quiet",
        )

    def wait_sound(self, seconds: float, since: int = 0, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the recording holds ``seconds`` of sound after sample ``since``."""
        self._wait_recorded(
            lambda loud, _size: loud.sum() * FRAME >= seconds * SAMPLE_RATE,
            since,
            timeout,
            f"{seconds:g} s of sound",
        )

    def _wait_recorded(self, done, since: int, timeout: float, what: str) -> None:  # noqa: ANN001
        """Poll the recording until ``done(loud frames after since, samples recorded)``."""
        deadline = time.monotonic() + timeout
        while True:
            after = self.recorded(since)  # only what is new: the coach shares the CPU
            loud = loud_frames(after)
            if done(loud, since + len(after)):
                return
            if time.monotonic() > deadline:
                raise RoomError(f"no {what} in the room within {timeout:g} s")
            time.sleep(0.1)

    def stop_recording(self) -> np.ndarray:
        """Stop recording the speaker; the int16 16 kHz samples heard since the start."""
        if self._recording is None:
            raise RoomError("not recording the room")
        recording, self._recording = self._recording, None
        samples = recording.stop()
        recording.path.unlink(missing_ok=True)
        return samples


def aligned_correlation(reference: np.ndarray, recording: np.ndarray) -> tuple[float, np.ndarray]:
    """Pearson correlation of ``reference`` with the best-matching stretch of ``recording``.

    ``recording`` must be longer than ``reference`` (the reference lies wholly inside it);
    returns the correlation and that stretch. Near 1.0 means the sound came through intact.
    """
    if len(recording) <= len(reference):
        raise ValueError("the recording is not longer than the reference")
    ref = reference.astype(np.float64)
    rec = recording.astype(np.float64)
    size = 1 << (len(ref) + len(rec)).bit_length()
    xcorr = np.fft.irfft(np.fft.rfft(rec, size) * np.conj(np.fft.rfft(ref, size)), size)
    lag = int(np.argmax(xcorr[: len(rec) - len(ref) + 1]))
    segment = recording[lag : lag + len(ref)]
    return float(np.corrcoef(segment.astype(np.float64), ref)[0, 1]), segment


def reinitialise_portaudio() -> None:
    """Make an already imported sounddevice enumerate devices again (after env changes)."""
    import sys

    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()
