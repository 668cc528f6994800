"""Small per-user state: whether the safety notice has been given (XDG state directory)."""

from __future__ import annotations

import logging
from pathlib import Path

from platformdirs import user_state_dir

NOTICE_FILE = "notice-given"
log = logging.getLogger(__name__)


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
        log.warning("could not record the safety notice in %s: %s", state_dir(), exc)
