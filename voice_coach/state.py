"""Small per-user state: whether the safety notice has been given (XDG state directory)."""

from __future__ import annotations

import sys
from pathlib import Path

from platformdirs import user_state_dir

NOTICE_FILE = "notice-given"


def state_dir() -> Path:
    """The user's state folder for voice-coach (honours ``XDG_STATE_HOME``)."""
    return Path(user_state_dir("voice-coach", appauthor=False))


def first_use() -> bool:
    """True until the safety notice has been recorded as given."""
    return not (state_dir() / NOTICE_FILE).exists()


def record_notice_given() -> None:
    """Remember that the notice was given; a read-only home only costs a repeat notice."""
    try:
        folder = state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / NOTICE_FILE).write_text("The safety notice has been given.\n", encoding="utf-8")
    except OSError as exc:
        print(
            f"voice-coach: cannot record in {state_dir()} that the safety notice was given "
            f"({exc.strerror or exc}); it will be given again next time. Set XDG_STATE_HOME "
            "to a folder you may write to, to avoid this",
            file=sys.stderr,
        )
