"""Text commands: ``ask`` (one stateless question), ``chat`` (a typed conversation), ``intents``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

from . import catalogue, state
from .dialogue import ACTION_INTENTS, Dialogue, answer
from .errors import UsageError
from .understand import understand

CONVERSATION_ONLY = frozenset(ACTION_INTENTS) - {
    "overview",
    "stretching",
    "goodbye",
    "pain_report",
    "symptom_check",
    "see_doctor",
    "emergency",
    "scared",
}
"""Intents that act on a running coach (timers, counts, the routine), which ``ask`` has not."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ask``, ``chat`` and ``intents``."""
    ask = subparsers.add_parser("ask", help="answer one question (stateless)")
    ask.add_argument("text", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.set_defaults(func=run_ask)

    chat = subparsers.add_parser("chat", help="a typed conversation on stdin/stdout")
    chat.add_argument("--no-notice", action="store_true", help="skip the safety notice")
    chat.set_defaults(func=run_chat)

    intents = subparsers.add_parser("intents", help="list what the coach understands")
    intents.add_argument("--json", action="store_true", help="print a JSON list")
    intents.set_defaults(func=run_intents)


MAX_REQUEST_CHARS = 1_000
"""Longest typed request taken (characters): far more than anyone says in one go, while a
line of hundreds of kilobytes would keep the matcher busy for minutes."""


def decodable(text: str) -> str:
    """``text`` (from the command line) with bytes that are not UTF-8 replaced."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def typed(text: str) -> str:
    """A typed request with bytes that are not UTF-8 replaced; UsageError when it is longer
    than :data:`MAX_REQUEST_CHARS`."""
    text = decodable(text)
    if len(text) > MAX_REQUEST_CHARS:
        raise UsageError(
            f"the request has {len(text)} characters; type at most {MAX_REQUEST_CHARS}, "
            "as a few shorter sentences"
        )
    return text


def read_lines() -> Iterator[str]:
    """Lines typed on stdin, stripped, skipping blank ones; bytes that are not UTF-8 are
    replaced, and a line too long is reported on stderr and skipped."""
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            yield typed(line.strip())
        except UsageError as exc:
            print(f"voice-coach: {exc}", file=sys.stderr, flush=True)


def run_ask(args: argparse.Namespace) -> int:
    """Print the answer to one question."""
    if not args.text.strip():
        raise UsageError("nothing to ask: the question is empty; give one, such as 'help'")
    heard = understand(typed(args.text))
    text = answer(heard)
    if {heard.intent, *(p.intent for p in heard.also)} & CONVERSATION_ONLY:
        text = catalogue.default().line("ask_in_conversation")  # no timer would be set
    if args.json:
        result = {
            "intent": heard.intent,
            "score": heard.score,
            "slots": heard.slots,
            "answer": text,
        }
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(text)
    return 0


def run_chat(args: argparse.Namespace) -> int:
    """Converse line by line until "goodbye" or the end of input.

    Routines, counts and timer alarms are printed as they fall due, between the lines typed;
    at the end of input a running routine or count is finished first (Ctrl-C ends it), and
    a paused one is ended.
    """
    from .coach import Coach
    from .speak import PrintSpeaker

    dialogue = Dialogue()
    coach = Coach(dialogue, PrintSpeaker())
    coach.start()
    try:
        if not args.no_notice and state.first_use():
            coach.say(dialogue.notice())
            state.record_notice_given()
        interactive = sys.stdin.isatty()
        if interactive:
            print("> ", end="", file=sys.stderr, flush=True)
        for line in read_lines():
            reply = dialogue.handle(line)
            coach.say(reply.text)
            if reply.intent == "goodbye":
                return 0
            if interactive:
                print("> ", end="", file=sys.stderr, flush=True)
        if not (coach.active() and coach.runner.held):  # a paused one would wait forever
            coach.wait_until_idle()
        return 0
    finally:
        coach.close()


def run_intents(args: argparse.Namespace) -> int:
    """List every intent with one example phrasing."""
    cat = catalogue.default()
    rows = [
        {"intent": i.id, "kind": i.kind, "example": _example(i.phrases[0])}
        for i in cat.intents.values()
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        width = max(len(r["intent"]) for r in rows)
        for row in rows:
            print(f'{row["intent"]:<{width}}  {row["kind"]:<9}  "{row["example"]}"')
    return 0


def _example(phrase: str) -> str:
    """A phrasing with number placeholders filled with a sample value."""
    return phrase.format(seconds=12, minutes=15, reps=3)
