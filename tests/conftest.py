"""Shared fixtures: the virtual room (a private PulseAudio daemon) for device tests.

Under CI (``CI=true``), a test skipped for anything but :data:`SKIPS_ALLOWED_IN_CI` fails:
``.ci/run`` installs every tool and library the tests use, so such a skip is a missing
install step that a green run would hide."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from room import Room, pulseaudio_missing, reinitialise_portaudio

SOCKET_PATH_ROOM = 90
"""Longest room folder path that leaves room for the socket names under it."""
SKIPS_ALLOWED_IN_CI = (
    "English Vosk model",
    "eval-audio",
    "real recordings",
    "real command",
    "has sound cards",
    "libsndfile cannot write",
)
"""Skip reasons that name what no install step can bring: the English Vosk model (it cannot
be downloaded here), the real recordings in ``../shared/eval-audio`` (a clone of the project
does not hold them), a machine with sound cards, and the formats libsndfile was built for."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())


def _fail_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turn a skip into a failure under CI unless its reason is allowed."""
    if not report.skipped or os.environ.get("CI") != "true":
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if any(allowed in reason for allowed in SKIPS_ALLOWED_IN_CI):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under CI, where .ci/run installs everything: {reason}"


@pytest.fixture(scope="session")
def room_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    """One PulseAudio room for the whole session, its env exported to this process.

    Skips when PulseAudio is not installed; a daemon that will not start is an error.
    Exports :meth:`Room.env` (PULSE_SERVER, PULSE_SINK=room, PULSE_SOURCE=mic.monitor,
    PULSE_CLIENTCONFIG) into ``os.environ`` and re-initialises sounddevice so PortAudio
    enumerates the room's devices: no PortAudio stream may be open when it is first requested.
    """
    missing = pulseaudio_missing()
    if missing:
        pytest.skip(f"virtual room unavailable: {missing}")
    folder = tmp_path_factory.mktemp("room")
    if len(str(folder)) > SOCKET_PATH_ROOM:  # unix socket paths are limited to 107 bytes
        folder = Path(tempfile.mkdtemp(prefix="vc-room-", dir="/tmp"))
    room = Room.start(folder)  # a daemon that will not start is an error, not a skip
    saved = {key: os.environ.get(key) for key in room.env()}
    os.environ.update(room.env())
    reinitialise_portaudio()
    try:
        yield room
    finally:
        room.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reinitialise_portaudio()


@pytest.fixture
def room(room_session: Room) -> Iterator[Room]:
    """The session's room, put back to its starting state after the test."""
    room_session.reset()
    yield room_session
    room_session.reset()
