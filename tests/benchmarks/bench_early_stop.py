"""Benchmark: Ctrl-C or SIGTERM in the first second of ``voice-coach listen``.

Starts ``listen`` in the virtual room again and again and signals it at a random moment of
its start (loading, PortAudio starting, espeak-ng warming up, the streams opening). A run is
clean when the process says it stopped and exits within 10 s, with no traceback and no
"Exception ignored"; it hangs when it does not exit; it is lost when it ignores the signal
(still running after 10 s without saying it stopped). Random, so a benchmark, not a test.

Run: .venv/bin/python tests/benchmarks/bench_early_stop.py [--trials 60] [--signal term]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from room import Room  # noqa: E402

COMMAND = [str(Path(sys.executable).with_name("voice-coach")), "listen", "--no-notice"]
WAIT = 10.0
"""Seconds a signalled run has to exit."""


def one_run(env: dict[str, str], signum: int, delay: float) -> tuple[str, str]:
    """Signal one fresh ``listen`` after ``delay`` s; its outcome and stderr."""
    process = subprocess.Popen(
        COMMAND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    time.sleep(delay)
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        return ("hung" if "stopped" in err else "lost"), err
    if process.returncode < 0:
        return "killed before it could answer", err
    clean = "stopped" in err and "Traceback" not in err and "Exception ignored" not in err
    return ("clean" if clean else "untidy"), err


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--signal", choices=("term", "int"), default="term")
    parser.add_argument("--from", dest="start", type=float, default=0.1, help="earliest (s)")
    parser.add_argument("--to", dest="end", type=float, default=1.0, help="latest (s)")
    args = parser.parse_args()
    signum = signal.SIGTERM if args.signal == "term" else signal.SIGINT
    room = Room.start(Path(tempfile.mkdtemp(prefix="bench-early-stop-")))
    env = {**os.environ, **room.env(), "HOME": tempfile.mkdtemp(prefix="bench-home-")}
    rng = random.Random(1)
    counts: dict[str, int] = {}
    try:
        for trial in range(args.trials):
            delay = rng.uniform(args.start, args.end)
            outcome, err = one_run(env, signum, delay)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome != "clean":
                print(f"trial {trial}, {delay:.2f} s: {outcome}: {err.strip()[-300:]!r}")
    finally:
        room.stop()
    print(
        f"SIG{args.signal.upper()} {args.start:g}-{args.end:g} s after start, "
        f"{args.trials} trials: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
