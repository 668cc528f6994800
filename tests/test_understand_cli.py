"""``voice-coach understand``: real files through the real PocketSphinx engine and matcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import speech

ROOT = Path(__file__).resolve().parents[1]


def cli_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("VOICE_COACH_VOSK_MODEL", "PYTHONUNBUFFERED"):  # a user's shell has neither
        env.pop(name, None)
    return env


CLI = [sys.executable, "-m", "voice_coach.cli", "understand"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env()
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli-speech")
    maker = speech.SpeechMaker(folder)
    corrupt = folder / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    return {
        "stretch": maker.say("how do i stretch my back", "piper_joe"),
        "oov": maker.say("the quick brown fox jumps over the lazy dog", "flite_slt", "oov_"),
        "corrupt": corrupt,
    }


def test_json_lines_intent_null_and_error(files: dict[str, Path]) -> None:
    proc = run_cli(
        "--engine", "pocketsphinx", "--json",
        str(files["stretch"]), str(files["corrupt"]), str(files["oov"]),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(files[k]) for k in ("stretch", "corrupt", "oov")]
    stretch, corrupt, oov = rows
    assert stretch["intent"] == "stretching"
    assert stretch["engine"] == "pocketsphinx"
    assert set(stretch) == {
        "file", "transcript", "intent", "score", "slots", "engine",
        "audio_seconds", "decode_seconds",
    }  # fmt: skip
    assert stretch["audio_seconds"] > 1.0
    assert corrupt["error"].startswith(str(files["corrupt"]))
    assert oov["intent"] is None
    assert "pocketsphinx" in proc.stderr


def test_readable_output_and_exit_zero(files: dict[str, Path]) -> None:
    proc = run_cli("--engine", "pocketsphinx", str(files["stretch"]))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{files['stretch']}: stretching")


def test_a_file_with_no_speech_says_nothing_was_heard(tmp_path: Path) -> None:
    silent = speech.write_wav(tmp_path / "silence.wav", np.zeros(2 * 16000, dtype=np.int16))
    proc = run_cli("--engine", "pocketsphinx", str(silent))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{silent}: (no intent) <- nothing heard\n"
    proc = run_cli("--engine", "pocketsphinx", "--json", str(silent))
    row = json.loads(proc.stdout)
    assert row["transcript"] == "" and row["intent"] is None


def test_a_recording_piped_in_as_dash_is_understood(files: dict[str, Path]) -> None:
    """``flite ... -o /dev/stdout | voice-coach understand -``: "-" is standard input."""
    data = files["stretch"].read_bytes()
    proc = subprocess.run(
        [*CLI, "--engine", "pocketsphinx", "--json", "-", str(files["oov"])],
        input=data, capture_output=True, env=cli_env(), cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    piped, oov = (json.loads(line) for line in proc.stdout.decode().splitlines())
    assert piped["file"] == "-" and piped["intent"] == "stretching"
    assert oov["intent"] is None


def test_nothing_piped_in_is_an_error_naming_standard_input(files: dict[str, Path]) -> None:
    proc = subprocess.run(
        [*CLI, "--engine", "pocketsphinx", "-", str(files["stretch"])],
        input=b"", capture_output=True, env=cli_env(), cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert b"standard input: nothing came in" in proc.stderr
    assert proc.stdout.decode().startswith(f"{files['stretch']}: stretching")


def test_vosk_without_model_exits_3(files: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("--engine", "vosk", "--model", str(tmp_path / "nowhere"), str(files["stretch"]))
    assert proc.returncode == 3
    assert "nowhere" in proc.stderr and proc.stderr.count("\n") == 1


def test_unknown_engine_is_usage_error(files: dict[str, Path]) -> None:
    proc = run_cli("--engine", "whisper", str(files["stretch"]))
    assert proc.returncode == 2
    assert "pocketsphinx" in proc.stderr


def test_an_empty_model_path_is_a_usage_error_not_ignored(files: dict[str, Path]) -> None:
    """``--model "$MODEL"`` with the variable unset: say so, rather than pick another."""
    proc = run_cli("--model", "", str(files["stretch"]))
    assert proc.returncode == 2 and "--model needs a Vosk model folder" in proc.stderr


def test_output_closed_early_exits_141_without_a_traceback(tmp_path: Path) -> None:
    """``understand ... | head -1``: the reader leaves; no "Exception ignored" at exit."""
    missing = [str(tmp_path / f"missing_{i:04d}.wav") for i in range(1500)]  # > a pipe's buffer
    proc = subprocess.Popen(
        [*CLI, "--json", *missing],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["file"] == missing[0]
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "Exception ignored" not in err


def test_ctrl_c_before_every_file_is_done_exits_130(files: dict[str, Path], tmp_path: Path) -> None:
    # A minute of speech, decoded in seconds (silence would be skipped in no time).
    question = speech.read_audio(files["stretch"])
    minute = tmp_path / "a_minute_of_questions.wav"
    speech.write_wav(minute, np.tile(question, 60 * 16_000 // len(question) + 1))
    proc = subprocess.Popen(
        [
            *CLI,
            "--engine",
            "pocketsphinx",
            str(files["stretch"]),
            str(minute),
            str(files["stretch"]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert "stretching" in proc.stdout.readline()  # the first file is done; the minute starts
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "2 of 3 files not processed" in err and "Traceback" not in err


def test_a_file_name_that_is_not_utf8_is_processed_and_printed_as_valid_json(
    files: dict[str, Path], tmp_path: Path
) -> None:
    odd = os.fsencode(tmp_path) + b"/ask\xff.wav"
    Path(os.fsdecode(odd)).write_bytes(files["stretch"].read_bytes())
    env = {**cli_env(), "PYTHONIOENCODING": "utf-8:strict"}  # as in a desktop locale
    command = [*map(os.fsencode, CLI), b"--engine", b"pocketsphinx", b"--json", odd, b"nope\xff"]
    proc = subprocess.run(command, capture_output=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 1, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert rows[0]["file"].endswith("ask\\xff.wav") and rows[0]["intent"] == "stretching"
    assert rows[1] == {
        "file": "nope\\xff",
        "error": "nope\\xff: no such file; check the name and the folder",
    }


def test_a_file_name_with_a_newline_stays_on_one_line(
    files: dict[str, Path], tmp_path: Path
) -> None:
    odd = tmp_path / "ask\nme.wav"
    odd.write_bytes(files["stretch"].read_bytes())
    proc = run_cli("--engine", "pocketsphinx", str(odd), str(tmp_path / "no\nfile.wav"))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == [
        f'{tmp_path}/ask\\x0ame.wav: stretching (100) <- "how do i stretch my back"'
    ]
    assert f"{tmp_path}/no\\x0afile.wav: no such file" in proc.stderr.splitlines()[-1]
    rows = [json.loads(line) for line in run_cli("--json", str(odd)).stdout.splitlines()]
    assert rows[0]["file"] == str(odd)  # JSON keeps the name as it is


def run_with_closed(fd: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``understand`` started with descriptor ``fd`` closed (``>&-`` or ``2>&-``)."""
    return subprocess.run(
        [*CLI, *args],
        stdout=None if fd == 1 else subprocess.PIPE,
        stderr=None if fd == 2 else subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=300,
        preexec_fn=lambda: os.close(fd),
        check=False,
    )


def test_results_with_stdout_closed_exit_3_and_say_why(files: dict[str, Path]) -> None:
    """Started with stdout closed, Python would drop every result unseen."""
    proc = run_with_closed(1, "--engine", "pocketsphinx", str(files["stretch"]))
    assert proc.returncode == 3
    assert "standard output is closed" in proc.stderr and "Traceback" not in proc.stderr


def test_results_with_stderr_closed_still_come_out(files: dict[str, Path]) -> None:
    """Nothing fails for it, and the diagnostics (Python's print falls back to stdout when
    stderr is None) do not end up among the results."""
    proc = run_with_closed(2, "--engine", "pocketsphinx", "--json", str(files["stretch"]))
    assert proc.returncode == 0
    assert [json.loads(line)["intent"] for line in proc.stdout.splitlines()] == ["stretching"]


def test_results_with_stderr_on_a_full_disk_still_come_out(files: dict[str, Path]) -> None:
    """A diagnostic that cannot be written (``2>/dev/full``) does not stop the command."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*CLI, "--engine", "pocketsphinx", "--json", str(files["stretch"])],
            stdout=subprocess.PIPE,
            stderr=full,
            text=True,
            env=cli_env(),
            cwd=ROOT,
            timeout=300,
            check=False,
        )
    assert proc.returncode == 0
    assert [json.loads(line)["intent"] for line in proc.stdout.splitlines()] == ["stretching"]
