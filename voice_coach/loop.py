"""The hands-free loop: listen → recognise → understand → dialogue → speak, until Ctrl-C.

Threads: a *listener* reads the microphone and runs the recogniser, posting partial and
final transcripts (and microphone faults) to a queue; the main thread takes them one by
one, so the dialogue state is only touched there. Speech is non-blocking, so the main
thread keeps hearing partial results while the coach talks: that is the barge-in
detector. What is heard while the coach speaks (and during the measured echo tail after
it) is never taken as a new question; only the commands in :data:`BARGE_IN` act on it,
and only when the words heard are not simply the coach's own sentence coming back. With no
echo cancellation, the listener also passes what is quieter than the coach's voice at the
microphone on as silence while the coach is audible (:func:`gated`), so that a louder
command is heard as an utterance of its own, and a keyword spotter
(:class:`voice_coach.spot.CommandSpotter`) listens to the raw microphone for the catalogue's
``spot`` phrases ("stop"), reporting them as :class:`Spotted` as soon as they are heard.
"""

from __future__ import annotations

import logging
import queue
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import earcons
from .audio import level_dbfs
from .catalogue import Catalogue
from .dialogue import TALK, UNCLEAR, Dialogue, Reply
from .errors import ResourceMissing
from .recognise import Recogniser, Transcript
from .understand import EMERGENCY_INTENT, Understanding

log = logging.getLogger(__name__)

BARGE_IN = (
    "stop",
    "pause",
    "resume",
    "repeat",
    "skip",
    "routine_status",
    "pain_report",
    "symptom_check",
    "see_doctor",
    "emergency",
)
"""Intents that act while the coach is speaking or counting."""
ECHO_TAIL_SECONDS = 0.35
"""How long after the last sample played the room may still carry the coach's voice (s).

Measured by ``tests/benchmarks/bench_loop_latency.py`` (see the README); kept above it."""
BARGE_IN_MARGIN_DB = 6.0
"""While the coach speaks, a command only counts when the microphone's peak level over the
last :data:`BARGE_IN_WINDOW` seconds is this much above the coach's own voice there (its
90th-percentile level since the sentence began, or over :data:`ECHO_HISTORY`). Without
echo cancellation the coach's voice coming back is otherwise misheard as commands."""
ECHO_GATE_DB = 3.0
"""While the coach is audible, microphone chunks quieter than its voice there (the level
:data:`BARGE_IN_MARGIN_DB` is measured against) plus this much reach the recogniser as
silence. The coach's voice alone then rarely opens an utterance, and a louder command
("stop") stands alone as a short utterance instead of being decoded inside one long
utterance with the coach's words."""
GATE_HOLD = 2
"""Chunks (50 ms each) held back while the gate is shut, released unchanged before a loud one."""
GATE_HANG = 4
"""Chunks passed unchanged after one that reached the gate level."""
GATE_QUIET_DBFS = -60.0
"""No gate while the coach's voice reaches the microphone below this (dBFS): nothing to hide."""
BARGE_IN_WINDOW = 1.0
"""Seconds of microphone level that a barge-in command is judged on."""
ECHO_HISTORY = 4.0
"""At least this many seconds before the command window give the coach's echo level."""
SPOT_REPEAT_SECONDS = 2.0
"""After a spotted command acted, the recogniser's own result for the same words within this
long (s) is not acted on again."""
HELD_SECONDS = 30.0
"""A question heard over the coach (see :meth:`Session.final`) is answered when the coach
falls silent, unless it is still talking this long (s) after the question ended."""
RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0)
"""Back-off between attempts to reopen a lost microphone (s); the last one repeats."""


class Microphone(Protocol):
    """A PCM chunk source that can be closed (see :mod:`voice_coach.microphone`)."""

    def __iter__(self) -> Iterator[bytes]: ...  # noqa: D105

    def close(self) -> None: ...  # noqa: D102


class Speaker(Protocol):
    """What the loop needs of :class:`voice_coach.speak.Speaker`."""

    current_text: str | None
    last_sample_at: float

    def say(self, text: str, max_seconds: float | None = None) -> None: ...  # noqa: D102

    def play(self, samples: Any, rate: int = 16000) -> None: ...  # noqa: D102

    def stop(self) -> None: ...  # noqa: D102

    def is_speaking(self) -> bool: ...  # noqa: D102


@dataclass(frozen=True)
class MicLost:
    """The listener lost the microphone; it retries by itself."""

    message: str
    retry_in: float


@dataclass(frozen=True)
class MicBack:
    """The listener has the microphone again."""


@dataclass(frozen=True)
class Spotted:
    """The keyword spotter heard one of its phrases while the coach was audible."""

    text: str


class Spotter(Protocol):
    """What the listener needs of :class:`voice_coach.spot.CommandSpotter`."""

    def hear(self, chunk: bytes) -> str | None: ...  # noqa: D102

    def rest(self) -> None: ...  # noqa: D102


@dataclass
class LoopOptions:
    """Settings of one hands-free session."""

    wake_word: str = "coach"
    """Word that wakes the coach after goodbye."""
    wake_every_time: bool = False
    """Require the wake word before every request (``--wake-word``)."""
    echo_tail: float = ECHO_TAIL_SECONDS
    """Seconds after playback during which what is heard is the coach's own voice."""
    retry_seconds: tuple[float, ...] = RETRY_SECONDS


@dataclass
class _Utterance:
    """What the main thread knows of the utterance being heard."""

    overlapped: bool = False
    """Some of it was heard while the coach spoke (or during the echo tail)."""
    acted: bool = False
    """A barge-in command already acted on it."""
    louder: bool = False
    """Some of it was clearly louder than the coach's voice at the microphone."""
    partials: list[str] = field(default_factory=list)


class LevelMeter:
    """Recent microphone levels (dBFS per chunk, with their time), shared between threads."""

    def __init__(self, keep_seconds: float = 120.0) -> None:
        self.keep_seconds = keep_seconds
        self._levels: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def add(self, chunk: bytes, now: float | None = None) -> float:
        """Record the level of one chunk (heard at ``now``, default: the monotonic time)."""
        now = time.monotonic() if now is None else now
        level = level_dbfs(chunk)
        with self._lock:
            self._levels.append((now, level))
            while self._levels and self._levels[0][0] < now - self.keep_seconds:
                self._levels.popleft()
        return level

    def levels(self, start: float, end: float) -> list[float]:
        """The levels recorded between two monotonic times."""
        with self._lock:
            return [level for t, level in self._levels if start <= t <= end]


def gated(
    chunks: Iterable[bytes], meter: LevelMeter, floor: Callable[[], float | None]
) -> Iterator[bytes]:
    """Chunks metered, then passed on as silence while quieter than ``floor()`` (dBFS).

    Around a chunk that reaches the floor, the :data:`GATE_HOLD` chunks before it (held back
    while the gate is shut) and the :data:`GATE_HANG` after it pass unchanged, so a word keeps
    its quieter edges (the "s" of "stop"). With ``floor()`` None everything passes, at once
    (chunks still held then are silenced).
    """
    held: deque[bytes] = deque()
    hang = 0
    for chunk in chunks:
        level = meter.add(chunk)
        limit = floor()
        if limit is None or level >= limit:  # the gate opens: the held edge, if a sound
            yield from (c if limit is not None else bytes(len(c)) for c in held)
            held.clear()
            hang = 0 if limit is None else GATE_HANG
            yield chunk
        elif hang:
            hang -= 1
            yield chunk
        else:
            held.append(chunk)
            if len(held) > GATE_HOLD:
                yield bytes(len(held.popleft()))
    yield from (bytes(len(c)) for c in held)


class Listener(threading.Thread):
    """Reads the microphone through the recogniser and posts events; reopens on faults."""

    def __init__(
        self,
        open_mic: Callable[[], Microphone],
        recogniser: Recogniser,
        events: queue.Queue,
        retry_seconds: tuple[float, ...] = RETRY_SECONDS,
        gate: Callable[[], float | None] = lambda: None,
        spotter: Spotter | None = None,
        spot_now: Callable[[], bool] = lambda: False,
    ) -> None:
        """``gate``: the current level (dBFS) below which chunks are passed on as silence,
        or None for no gate (:meth:`Session.gate_level`); ``spotter`` hears the raw chunks
        while ``spot_now()`` (:meth:`Session.coach_audible`)."""
        super().__init__(name="voice-coach-listener", daemon=True)
        self.open_mic = open_mic
        self.recogniser = recogniser
        self.events = events
        self.retry_seconds = retry_seconds
        self.gate = gate
        self.spotter = spotter
        self.spot_now = spot_now
        self.stopping = threading.Event()
        self.meter = LevelMeter()
        """Levels of what the microphone hears, for the barge-in check."""
        self._mic: Microphone | None = None

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                self._mic = self.open_mic()
                if self.stopping.is_set():  # stop() came while it opened: it closed no mic
                    return
                if failures:
                    self.events.put(MicBack())
                failures = 0
                heard = gated(self._spotting(self._mic), self.meter, self.gate)
                for transcript in self.recogniser.stream(heard):
                    if self.stopping.is_set():
                        return
                    self.events.put(transcript)
                if self.stopping.is_set():
                    return
                raise ResourceMissing("the microphone stream ended")
            except Exception as exc:  # noqa: BLE001 - a deaf coach must say so and retry
                if self.stopping.is_set():
                    return
                if not isinstance(exc, ResourceMissing):  # a recogniser bug: say it, go on
                    log.debug("listening failed", exc_info=True)
                    exc = ResourceMissing(f"listening failed ({type(exc).__name__}: {exc})")
                delay = self.retry_seconds[min(failures, len(self.retry_seconds) - 1)]
                failures += 1
                self.events.put(MicLost(str(exc), delay))
                self._reset_recogniser()
                self.stopping.wait(delay)
            finally:
                self._close_mic()

    def _spotting(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The chunks, each passed on first (so it is metered before any command it ends is
        reported), then given to the spotter while ``spot_now()``."""
        for chunk in chunks:
            if self.stopping.is_set():  # the recogniser may hear silence for a long time
                return
            yield chunk
            if self.spotter is None:
                continue
            if not self.spot_now():
                self.spotter.rest()
            elif (phrase := self.spotter.hear(chunk)) is not None:
                self.events.put(Spotted(phrase))

    def _reset_recogniser(self) -> None:
        try:
            self.recogniser.reset()
        except Exception:  # noqa: BLE001 - the next utterance starts afresh anyway
            log.debug("resetting the recogniser failed", exc_info=True)

    def _close_mic(self) -> None:
        mic, self._mic = self._mic, None
        if mic is not None:
            try:
                mic.close()
            except Exception:  # noqa: BLE001 - closing a broken device must not kill the loop
                log.debug("closing the microphone failed", exc_info=True)

    def stop(self) -> None:
        """Ask the thread to end and unblock it."""
        self.stopping.set()
        self._close_mic()


class ConversationLog:
    """Appends what was heard and said to a text file (``--log``): one row each,
    ``time<TAB>heard|ignored|said<TAB>text``. With no file it writes nothing."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, who: str, text: str) -> None:
        """Append one row (from any thread)."""
        if self.path is None:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as f:
                f.write(f"{stamp}\t{who}\t{text}\n")
        except OSError as exc:  # a full disk or a removed folder must not end the session
            log.warning("cannot write the log file %s: %s", self.path, exc)


class LoggedSpeaker:
    """A speaker that logs every sentence it is given: answers, routine cues and alarms."""

    def __init__(self, speaker: Speaker, conversation: ConversationLog) -> None:
        self._speaker = speaker
        self._log = conversation

    def say(self, text: str, max_seconds: float | None = None) -> None:
        """Log ``text`` as said, then say it."""
        self._log.write("said", text)
        self._speaker.say(text, max_seconds=max_seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._speaker, name)


class Session:
    """One hands-free conversation: consumes listener events, answers aloud."""

    def __init__(
        self,
        dialogue: Dialogue,
        speaker: Speaker,
        options: LoopOptions | None = None,
        say: Callable[[str], None] | None = None,
        conversation: ConversationLog | None = None,
    ) -> None:
        """``conversation``: where heard speech is logged; give ``speaker`` as a
        :class:`LoggedSpeaker` on the same log to log what is said."""
        self.dialogue = dialogue
        self.say = say or speaker.say
        """Says a reply (the coach fits it into a running routine)."""
        self.cat: Catalogue = dialogue.cat
        self.matcher = dialogue.matcher
        self.speaker = speaker
        self.options = options or LoopOptions()
        self.conversation = conversation or ConversationLog()
        self.asleep = False
        self.awake_for_one = False
        self.meter: LevelMeter | None = None
        """The listener's microphone levels (None: commands are not checked for loudness)."""
        self.utterance = _Utterance()
        self._mic_fault: str | None = None
        """The microphone fault last printed; None while the microphone works."""
        self._spotted: tuple[str | None, float] = (None, float("-inf"))
        """The intent a spotted command last acted on, and when (monotonic s)."""
        self._commands: dict[str | None, tuple[frozenset[str], tuple[str, ...]]] = {}
        self._held: tuple[str, float] | None = None
        """A question heard over the coach, and when (monotonic s); answered when it is
        silent."""

    # -- events --------------------------------------------------------------------
    def handle_event(self, event: object) -> None:
        """Act on one listener event."""
        if isinstance(event, MicLost):
            self.utterance = _Utterance()  # what was being heard is gone
            self._mic_lost(event)
        elif isinstance(event, MicBack):
            self._mic_fault = None
            self.speak(self.cat.line("loop_mic_back"))
        elif isinstance(event, Spotted):
            self.spotted(event.text)
        elif isinstance(event, Transcript):
            if event.is_final:
                self.final(event.text)
            else:
                self.partial(event.text)
        self.idle()

    def coach_audible(self) -> bool:
        """True while the coach speaks and for the echo tail after."""
        if self.speaker.is_speaking():
            return True
        return time.monotonic() < self.speaker.last_sample_at + self.options.echo_tail

    def idle(self) -> None:
        """Answer a question heard over the coach once it is silent and nobody is speaking
        (or drop it when it has waited :data:`HELD_SECONDS`); called after each event and
        when there are none."""
        if self._held is None or self.coach_audible() or self.utterance.partials:
            if self._held is not None and time.monotonic() > self._held[1] + HELD_SECONDS:
                self._drop_held()
            return
        text, self._held = self._held[0], None
        self.request(text)

    def partial(self, text: str) -> None:
        """A partial result: only barge-in commands act on it."""
        if self.coach_audible():
            self.utterance.overlapped = True
        if self.utterance.overlapped and not self.utterance.louder:
            self.utterance.louder = self._louder_than_echo()
        if text:
            self.utterance.partials.append(text)
        if text and self.utterance.overlapped and not self.utterance.acted:
            self._barge_in(text)

    def spotted(self, text: str) -> None:
        """A command the spotter heard: acts while the coach is audible, if clearly louder
        than the coach's voice (its own "stop" coming back is not)."""
        if self.utterance.acted or not self.coach_audible():
            return
        heard = self.matcher.understand(text)
        louder = self._louder_than_echo()
        log.debug("spotted %r (%s), louder than the echo: %s", text, heard.intent, louder)
        if heard.intent in BARGE_IN and louder:
            self._spotted = (heard.intent, time.monotonic())
            self._act(text, heard)

    def final(self, text: str) -> None:
        """A final result: a new request, unless it overlapped the coach's voice.

        Speech over the coach's voice acts at once only as a barge-in command. A question
        heard over it is answered once the coach falls silent (a person who asks during the
        safety notice is not ignored): see :meth:`_hold`. Anything else heard then is
        logged as ``ignored``; a request heard in the clear replaces a question kept.
        """
        overlapped = self.utterance.overlapped or self.coach_audible()
        text = text.strip()
        if text and overlapped and not self.utterance.acted and not self._barge_in(text):
            if not self._hold(text):
                self._log("ignored", text)
        self.utterance = _Utterance()
        if text and not overlapped:
            self._drop_held()
            self.request(text)

    def request(self, text: str) -> None:
        """A request heard in the clear (or typed): wake-word rules, then understand and
        answer."""
        self._log("heard", text)
        request = self._after_wake_word(text)
        heard = self.matcher.understand(text)
        urgent = heard.red_flag is not None or heard.intent == EMERGENCY_INTENT
        if not urgent:  # a red flag or an emergency is answered asleep or before the wake word
            if request is None:
                return
            if not request:
                self.speaker.play(earcons.heard())
                self.speak(self.cat.line("loop_listening"))
                return
            if request != text:
                heard = self.matcher.understand(request)
        if heard.intent is None:
            self._missed(heard)
            return
        self.speaker.play(earcons.heard())
        self._answer(heard)

    # -- internals -----------------------------------------------------------------
    def _after_wake_word(self, text: str) -> str | None:
        """The request without its wake word; None when it must be ignored."""
        words = re.findall(r"[\w']+", text.lower())
        wake = self.options.wake_word.lower().split()
        at = next(
            (i for i in range(len(words) - len(wake) + 1) if words[i : i + len(wake)] == wake),
            None,
        )
        rest = " ".join(words[at + len(wake) :]) if at is not None else text
        if self.asleep or self.options.wake_every_time:
            if at is None:
                if self.awake_for_one:
                    self.awake_for_one = False
                    return text
                return None
            self.asleep = False
            self.awake_for_one = not rest
            return rest
        return rest if at is not None else text

    def _missed(self, heard: Understanding) -> None:
        """A sentence no intent matched. It may still answer the coach's own question ("the
        left one" to "is the pain running down either of your legs?", "twenty" to "how
        long?"): the dialogue's reply is then said as any answer is. Otherwise a first miss
        is only the earcon; the dialogue's second miss in a row is said, and so is the pause
        of a stretch it made (a groan heard in it may be pain)."""
        reply = self.dialogue.respond(heard)
        if reply.action != UNCLEAR:
            self.speaker.play(earcons.heard())
            self._say_reply(reply)
            return
        self.speaker.play(earcons.not_understood())
        if self.dialogue.misses >= 2 or reply.intent == "pause":
            self.speak(reply.text)
            self.dialogue.misses = 0

    def _answer(self, heard: Understanding) -> None:
        self._say_reply(self.dialogue.respond(heard))

    def _say_reply(self, reply: Reply) -> None:
        if reply.action == TALK and not reply.text:  # "okay" mid-stretch: heard, no more
            self.speaker.play(earcons.heard())
            return
        if reply.intent == "goodbye":
            self.asleep = True
            self.speak(self.cat.line("goodbye_asleep", wake_word=self.options.wake_word))
            return
        self.speak(reply.text)

    def _barge_in(self, text: str) -> bool:
        """Act on a command heard over the coach; True if it was (or already had been)."""
        heard = self.matcher.understand(text)
        if heard.intent not in BARGE_IN or self._is_echo(heard) or not self._louder_than_echo():
            return False
        intent, when = self._spotted
        if heard.intent == intent and time.monotonic() < when + SPOT_REPEAT_SECONDS:
            self.utterance.acted = True  # the recogniser caught up with the spotter
            return True
        self._act(text, heard)
        return True

    def _hold(self, text: str) -> bool:
        """Keep a request heard over the coach for when it is silent; True if it was kept
        (it replaces one kept before). Only when it was clearly louder than the coach's
        voice, some content word of it is not the coach's own, and it is a question
        (:meth:`_is_echo`), or, with no intent, an answer while the coach waits for one
        ("the left one" over the end of "is the pain running down either of your legs?").
        Commands (:data:`BARGE_IN`) act at once or not at all."""
        louder = self.utterance.louder or self._louder_than_echo()
        heard = self.matcher.understand(text)
        if heard.intent in BARGE_IN or not louder or not self._beyond_coach(heard)[1]:
            return False
        if heard.intent is None and not self.dialogue.awaiting_answer():
            return False
        if heard.intent is not None and self._is_echo(heard):
            return False
        self._drop_held()
        self._held = (text, time.monotonic())
        log.info("held until the coach is silent: %r -> %s", text, heard.intent)
        return True

    def _drop_held(self) -> None:
        if self._held is not None:
            self._log("ignored", self._held[0])
            self._held = None

    def _act(self, text: str, heard: Understanding) -> None:
        """Cut the coach off and act on a command heard over it (a question kept for
        later is dropped: the command came after it)."""
        self.utterance.acted = True
        self._drop_held()
        log.info("barge-in: %r -> %s", text, heard.intent)
        self._log("heard", text)
        if heard.intent not in ("pause", "stop") or heard.intent not in self.dialogue.handlers:
            self.speaker.stop()  # pause and stop handlers cut it themselves, knowing it spoke
        self._answer(heard)

    def _louder_than_echo(self) -> bool:
        """True when the microphone heard something clearly louder than the coach's voice."""
        if self.meter is None:
            return True
        now = time.monotonic()
        recent = self.meter.levels(now - BARGE_IN_WINDOW, now)
        if not recent:
            return False
        echo = self._echo_level(now)
        return echo is None or max(recent) >= echo + BARGE_IN_MARGIN_DB

    def _echo_level(self, now: float) -> float | None:
        """The coach's voice at the microphone (dBFS): the 90th percentile of the levels
        heard from the sentence's start (or :data:`ECHO_HISTORY` before) until
        :data:`BARGE_IN_WINDOW` ago; None when nothing was heard then."""
        if self.meter is None:
            return None
        start = min(self.speaker.first_sample_at, now - ECHO_HISTORY)
        before = self.meter.levels(start, now - BARGE_IN_WINDOW)
        return sorted(before)[int(0.9 * (len(before) - 1))] if before else None

    def gate_level(self) -> float | None:
        """While the coach is audible, the level (dBFS) below which what the microphone hears
        is passed to the recogniser as silence (see :data:`ECHO_GATE_DB`); None otherwise.

        Called from the listener thread."""
        if not self.coach_audible():
            return None
        echo = self._echo_level(time.monotonic())
        return None if echo is None or echo < GATE_QUIET_DBFS else echo + ECHO_GATE_DB

    def _is_echo(self, heard: Understanding) -> bool:
        """True unless the words heard beyond the coach's own sentence are the command's words.

        The coach's voice coming back through the room is often misheard as other words
        ("the best way to keep" as "youth wait a keep", which matches "pause"). So the words
        of the sentence being said are set aside, and a command only counts when what is left
        holds one of the command's keywords and every content word left is a word of its
        phrasings or keywords ("minute" alone is not "give me a minute"). A red flag ("my leg
        is numb") counts whenever some word of it is not the coach's own.
        """
        rest, left = self._beyond_coach(heard)
        content = [w for w in heard.text.split() if w not in self.matcher.stopwords]
        if not left:
            return bool(content)
        if heard.red_flag is not None or heard.intent == EMERGENCY_INTENT:
            return False
        words, keywords = self._command_words(heard.intent)
        spoken = f" {' '.join(rest)} "
        has_keyword = any(f" {k} " in spoken for k in keywords)
        return not (has_keyword and all(w in words for w in left))

    def _beyond_coach(self, heard: Understanding) -> tuple[list[str], list[str]]:
        """The words heard that the coach's current sentence does not have, and the content
        words among them."""
        sentence = self.speaker.current_text or ""
        said = set(self.matcher.normalise(sentence).split()) if sentence else set()
        rest = [w for w in heard.text.split() if w not in said]
        return rest, [w for w in rest if w not in self.matcher.stopwords]

    def _command_words(self, intent_id: str | None) -> tuple[frozenset[str], tuple[str, ...]]:
        """An intent's words (of its phrasings and keywords) and its keywords, normalised."""
        if intent_id not in self._commands:
            intent = self.cat.intent(intent_id) if intent_id else None
            keywords = tuple(self.matcher.normalise(k) for k in intent.keywords) if intent else ()
            texts = [*intent.phrases, *keywords] if intent else []
            words = frozenset(w for text in texts for w in self.matcher.normalise(text).split())
            self._commands[intent_id] = (words, keywords)
        return self._commands[intent_id]

    def _mic_lost(self, event: MicLost) -> None:
        """Say the loss once; print it when it is new (the retries every few seconds would
        repeat the same line for as long as the microphone is away)."""
        if event.message == self._mic_fault:
            log.debug("%s; trying again in %g s", event.message, event.retry_in)
        else:
            print(
                f"voice-coach: {event.message}; retrying until it is back (next try in "
                f"{event.retry_in:g} s)",
                flush=True,
                file=sys.stderr,
            )
        if self._mic_fault is None:
            self.speak(self.cat.line("loop_mic_lost"))
        self._mic_fault = event.message

    def speak(self, text: str) -> None:
        """Say ``text`` through the coach."""
        if text:
            self.say(text)

    def _log(self, who: str, text: str) -> None:
        self.conversation.write(who, text)


def run(
    session: Session,
    listener: Listener,
    events: queue.Queue,
) -> int:
    """Drive a session until Ctrl-C (or SIGTERM); returns exit code 0 after a clean shutdown.

    In the main thread, SIGINT and SIGTERM only set a flag that the loop checks between
    events, so no KeyboardInterrupt can land inside the dialogue or a library call (where it
    could be swallowed or leave a lock held) and the shutdown below always runs.
    """
    session.meter = listener.meter
    stopping = threading.Event()
    previous = _catch_signals(lambda *_: stopping.set())
    listener.start()
    try:
        while not stopping.is_set():
            try:
                event = events.get(timeout=0.1)
            except queue.Empty:
                session.idle()
                continue
            session.handle_event(event)
        return 0
    except KeyboardInterrupt:  # outside the main thread, or before the handlers were set
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        listener.stop()
        session.speaker.stop()
        listener.join(timeout=2.0)


def _catch_signals(handler: Callable[..., None]) -> dict[int, Any]:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only); the handlers replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}


__all__ = [
    "BARGE_IN",
    "LevelMeter",
    "Listener",
    "LoopOptions",
    "MicBack",
    "MicLost",
    "Session",
    "Spotted",
    "run",
]
