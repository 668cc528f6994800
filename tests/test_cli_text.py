"""The installed ``voice-coach`` command: ask, chat, intents, help, version, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from voice_coach import catalogue

CAT = catalogue.default()
BIN = Path(sys.executable).parent / "voice-coach"


def run(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    command = [str(BIN) if BIN.exists() else shutil.which("voice-coach"), *args]
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def ask_json(text: str) -> dict:
    result = run("ask", text, "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_ask_stretching():
    data = ask_json("how do I stretch my back")
    assert set(data) == {"intent", "score", "slots", "answer"}
    assert data["intent"] == "stretching" and "knee" in data["answer"]
    assert 0 <= data["score"] <= 100


def test_ask_answers_the_overview_question():
    """An intent the conversation also acts on ("what do I do now?" during the stretch) is
    still answered by ``ask``."""
    out = ask_json("how do I treat a back spasm")
    assert (out["intent"], out["answer"]) == ("overview", CAT.intent("overview").answer)


def test_ask_answers_two_questions_in_one_sentence_in_turn():
    data = ask_json("can I take ibuprofen and should I see a doctor")
    assert data["intent"] == "medication"
    assert data["answer"] == " ".join(
        [CAT.intent("medication").answer, CAT.intent("see_doctor").answer]
    )
    timer = ask_json("what about traction, and set a timer for 5 minutes")
    assert timer["answer"] == CAT.line("ask_in_conversation")  # no timer would be set


def test_ask_out_of_scope_gives_null_and_the_fallback():
    data = ask_json("what is the weather")
    assert data["intent"] is None and data["slots"] == {}
    assert "back" in data["answer"] and 0 <= data["score"] < 100


def test_ask_red_flag():
    data = ask_json("the pain shoots down my leg when I stretch")
    assert data["intent"] == "see_doctor" and data["answer"] == CAT.line("red_flag_leg")
    general = ask_json("when should I see a doctor")  # nothing described: the general answer
    assert general["answer"] == CAT.intent("see_doctor").answer != data["answer"]


@pytest.mark.parametrize("text", ["set a timer for 1 minute", "hold for 90 seconds", "count to 5"])
def test_ask_does_not_claim_to_act(text):
    """`ask` keeps no coach running: "Timer set for 1 minutes." set nothing."""
    data = ask_json(text)
    assert data["intent"] is not None and data["answer"] == CAT.line("ask_in_conversation")


def test_ask_plain_text_never_adds_the_notice(tmp_path):
    result = run("ask", "should I use ice or heat", env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 0 and "ice" in result.stdout
    assert "not medical advice" not in result.stdout and not (tmp_path / "voice-coach").exists()


def test_chat_gives_the_notice_once_per_user(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path)}
    first = run("chat", stdin="should I use ice or heat\ngoodbye\nhelp\n", env=env)
    assert first.returncode == 0
    lines = first.stdout.strip().splitlines()
    assert "not medical advice" in lines[0] and "ice" in lines[1]
    assert lines[-1] == "Take care, and rest well."  # ended on goodbye: "help" unread
    second = run("chat", stdin="help\n", env=env)
    assert "not medical advice" not in second.stdout and second.stdout.strip()
    third = run("chat", "--no-notice", stdin="", env={"XDG_STATE_HOME": str(tmp_path / "x")})
    assert third.returncode == 0 and third.stdout == ""


def test_a_state_folder_that_cannot_be_written_costs_only_a_repeat_notice(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = run("chat", stdin="help\n", env={"XDG_STATE_HOME": str(not_a_folder)})
    assert result.returncode == 0 and "not medical advice" in result.stdout
    assert result.stderr.startswith("voice-coach: cannot record") and "XDG_STATE_HOME" in (
        result.stderr
    )


def test_chat_counts_aloud_and_finishes_the_count_at_end_of_input():
    result = run("chat", "--no-notice", stdin="count to three\n")
    assert result.returncode == 0
    assert result.stdout.split() == ["1", "2", "3"]


@pytest.mark.parametrize("word", ["", "hey there my coach", "coach!"])
def test_a_wake_word_that_is_not_one_to_three_words_is_a_usage_error(word):
    result = run("listen", "--text", "--quiet", "--wake-word", word, stdin="")
    assert result.returncode == 2 and "one to three plain words" in result.stderr


def test_an_empty_question_is_a_usage_error():
    result = run("ask", "  ")
    assert result.returncode == 2 and "nothing to ask" in result.stderr and not result.stdout


def test_intents_lists_every_intent_with_an_example():
    result = run("intents", "--json")
    rows = json.loads(result.stdout)
    from voice_coach import catalogue

    assert [r["intent"] for r in rows] == list(catalogue.default().intents)
    assert all(r["example"] and "{" not in r["example"] for r in rows)


def test_help_version_and_usage_errors():
    assert run("--help").returncode == 0 and "ask" in run("--help").stdout
    assert run("--version").stdout.startswith("voice-coach ")
    bad = run("ask")
    assert bad.returncode == 2 and "usage" in bad.stderr and bad.stdout == ""
    assert run("frobnicate", "x").returncode == 2
    typo = run("lisen")
    assert typo.returncode == 2 and "invalid choice: 'lisen'" in typo.stderr


def test_without_a_command_the_options_are_the_listen_loops():
    # an option value that is also a command name ("chat") is still the option's value
    argv = ("--wake-word", "chat", "--text", "--quiet", "--no-notice", "--debug")
    result = run(*argv, stdin="chat goodbye\n")
    assert result.returncode == 0, result.stderr
    from voice_coach import catalogue

    assert result.stdout.strip() == catalogue.default().line("goodbye_asleep", wake_word="chat")


@pytest.mark.skipif(not shutil.which("git"), reason="git is needed to copy the checkout")
def test_non_editable_install_into_a_clean_venv_answers(tmp_path):
    """`pip install .` (not editable) ships prompts/ and models/ inside the wheel."""
    root = Path(__file__).resolve().parent.parent
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # Reuse this environment's dependencies (after the new venv's own packages).
    import sysconfig

    site = Path(sysconfig.get_paths(vars={"base": str(venv)})["purelib"])
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(root)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    result = subprocess.run(
        [str(venv / "bin" / "voice-coach"), "ask", "should I wear a brace"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "brace" in result.stdout
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import voice_coach.catalogue as c; print(c.prompts_dir())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert str(venv) in where


def test_broken_prompts_stop_chat_and_routines_before_they_start(tmp_path):
    from voice_coach import catalogue

    root = tmp_path / "prompts"
    shutil.copytree(catalogue.prompts_dir(), root)
    path = root / "routines" / "knee-to-chest.toml"
    path.write_text(path.read_text().replace("\n[settings]", "\n[settngs]", 1))
    env = {"VOICE_COACH_PROMPTS": str(root), "XDG_STATE_HOME": str(tmp_path)}
    chat = run("chat", "--no-notice", stdin="how do i stretch my back\nyes\n", env=env)
    assert chat.returncode == 3 and chat.stdout == ""  # refused at start, not at "yes"
    assert str(path) in chat.stderr and len(chat.stderr.strip().splitlines()) == 1
    missing = {"VOICE_COACH_PROMPTS": str(tmp_path / "nowhere")}
    for args in (("routines",), ("routine", "knee-to-chest", "--dry-run")):
        result = run(*args, env=missing)
        assert result.returncode == 3 and "prompts folder not found" in result.stderr


def test_chat_ends_at_the_end_of_input_even_with_the_stretch_paused():
    """Nobody can say "carry on" after the input has ended: the chat must not wait for it."""
    result = run("chat", "--no-notice", stdin="start the stretch\npause\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == CAT.line("routine_paused")


def test_sigterm_stops_a_running_command_like_ctrl_c():
    command = [str(BIN) if BIN.exists() else shutil.which("voice-coach"), "routine"]
    proc = subprocess.Popen(
        [*command, "knee-to-chest", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip()  # running now
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped" in err and "Traceback" not in err


def test_the_log_holds_the_safety_notice_and_the_conversation(tmp_path):
    from voice_coach import catalogue

    log = tmp_path / "coach.log"
    env = {"XDG_STATE_HOME": str(tmp_path)}
    result = run("listen", "--text", "--quiet", "--log", str(log), stdin="goodbye\n", env=env)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t")[1:] for line in log.read_text().splitlines()]
    assert rows[0] == ["said", catalogue.default().line("safety_notice")]
    assert rows[1] == ["heard", "goodbye"] and rows[2][0] == "said"


def test_the_log_holds_a_count_number_by_number(tmp_path):
    """Cues said by a running count (not only answers) are logged as said."""
    log = tmp_path / "coach.log"
    env = {"XDG_STATE_HOME": str(tmp_path)}
    result = run("listen", "--text", "--quiet", "--log", str(log), stdin="count to 3\n", env=env)
    assert result.returncode == 0, result.stderr
    said = [text for who, text in (r.split("\t")[1:] for r in log.read_text().splitlines())]
    assert said[-3:] == ["1", "2", "3"], said


def test_typed_bytes_that_are_not_utf8_and_a_line_too_long_are_skipped_not_fatal():
    command = [str(BIN) if BIN.exists() else shutil.which("voice-coach"), "chat", "--no-notice"]
    typed = b"\xff\xfe\n" + b"ouch " * 400 + b"\nhow do i stretch my back\n"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}  # as in a desktop locale
    result = subprocess.run(command, input=typed, capture_output=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"the request has 1999 characters; type at most 1000" in result.stderr
    assert CAT.intent("stretching").answer.encode() in result.stdout


def test_ask_with_too_long_a_question_is_a_usage_error():
    result = run("ask", "where " * 300)
    assert result.returncode == 2
    assert "type at most 1000" in result.stderr


def test_output_that_cannot_be_written_is_one_line_and_exit_3():
    with open("/dev/full", "w") as full:
        command = [str(BIN) if BIN.exists() else shutil.which("voice-coach"), "ask", "hello"]
        result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "voice-coach: cannot write the output (No space left on device); "
        "free some disk space or send the output elsewhere"
    ]


@pytest.mark.parametrize(("argv", "code"), [(["understand", "a.wav"], 130), (["chat"], 0)])
def test_ctrl_c_leaves_130_only_where_work_was_left_undone(monkeypatch, argv, code):
    from voice_coach import cli

    def interrupted(_argv, console=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run", interrupted)
    assert cli.main(argv) == code


CTRL_C_WHILE_LOADING = """
import importlib.abc, os, signal, sys

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "voice_coach.cli":
            os.kill(os.getpid(), signal.SIGINT)  # arrives while the command line loads
        return None

sys.meta_path.insert(0, CtrlC())
from voice_coach.console import main  # what the console script runs
sys.exit(main())
"""


def test_ctrl_c_while_the_program_loads_is_one_line_not_a_traceback():
    result = subprocess.run(
        [sys.executable, "-c", CTRL_C_WHILE_LOADING, "chat"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (130, "")
    assert result.stderr == "voice-coach: stopped.\n"


def test_the_console_script_runs_the_command_line():
    script = Path(sys.executable).with_name("voice-coach")
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable}: the package is not installed")
    assert "from voice_coach.console import main" in script.read_text()  # ready for Ctrl-C
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout.split()[0]) == (0, "voice-coach")


CTRL_C_INSIDE_A_C_CALLBACK = """
import ctypes, ctypes.util, os, signal, sys
from voice_coach.errors import interrupt, interrupts_deferred

signal.signal(signal.SIGINT, interrupt)  # as the console script does
libc = ctypes.CDLL(ctypes.util.find_library("c"))
COMPARE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
calls = []

def compare(a, b):  # libc calls back into Python, as libasound does while PortAudio starts
    if not calls:
        os.kill(os.getpid(), signal.SIGINT)
    calls.append(1)
    return 0

items = (ctypes.c_int * 8)()
try:
    with interrupts_deferred():
        libc.qsort(items, 8, ctypes.sizeof(ctypes.c_int), COMPARE(compare))
        print("call finished", flush=True)
except KeyboardInterrupt:
    print("interrupted after the call", flush=True)
    sys.exit(130)
print("the interrupt was lost", flush=True)
"""


def test_ctrl_c_inside_a_c_library_callback_waits_for_the_call_instead_of_being_lost():
    result = subprocess.run(
        [sys.executable, "-c", CTRL_C_INSIDE_A_C_CALLBACK],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 130, result.stdout + result.stderr
    assert result.stdout == "call finished\ninterrupted after the call\n"
    assert "Exception ignored" not in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["routine", "knee-to-chest", "--dry-run", "--json"],
        ["say", "--list-voices"],
        ["listen", "--text", "--quiet"],
        ["intents"],
    ],
)
def test_results_with_stdout_closed_exit_3_also_from_speaking_commands(argv):
    """Started with stdout closed (``>&-``), Python drops whatever is printed unseen: so do
    the speaking commands whose options send their results there."""
    result = subprocess.run(
        [sys.executable, "-m", "voice_coach.cli", *argv],
        stdout=None,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(1),
        check=False,
    )
    assert result.returncode == 3
    assert "standard output is closed" in result.stderr and "Traceback" not in result.stderr
