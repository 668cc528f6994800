"""Counting aloud and kitchen-style timers (several at once, by label).

- :func:`count_timeline`: "count to 15" as a one-off timeline (each number starts on its
  second), run by the same :class:`~voice_coach.routine.RoutineRunner` as a routine.
- :class:`Timers`: start / cancel / status / due, on an injected clock. A timer without a
  duration asks for one: the seed gives no duration for ice or heat, so the coach never
  proposes one.

An alarm that falls due mid-routine is said with ``runner.alarm(sentence)``: the routine
pauses while it is said and then carries on where it was; in a hold it is said over the
count instead, so the hold is not made longer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from . import catalogue
from .clock import Clock
from .routine import Cue, Estimate, Timeline, default_estimate, make_timeline, spoken_duration

INTRO_GAP = 0.5
"""Seconds of quiet between a count's introduction and its first number."""
COUNT_MAX = 120
"""Highest number "count to N" goes to (a product setting)."""
TIMER_MIN_SECONDS = 1
"""Shortest timer, seconds."""
TIMER_MAX_SECONDS = 4 * 3600
"""Longest timer, seconds (a product setting)."""


def in_range(seconds: float) -> bool:
    """Whether a timer of ``seconds`` can be set (:data:`TIMER_MIN_SECONDS` to
    :data:`TIMER_MAX_SECONDS`)."""
    return TIMER_MIN_SECONDS <= seconds <= TIMER_MAX_SECONDS


_TASK_COMMON = frozenset(
    {"take", "turn", "put", "off", "the", "and", "your", "yourself", "with", "from", "have"}
)
"""Words of a reminder's task too common to pick it out in "which timer?" ("take your ice
off": "ice" picks it, "take" does not)."""


def _line(key: str, **fields: Any) -> str:
    return catalogue.default().line(key, **fields)


def count_refusal(n: int) -> str | None:
    """The polite refusal when ``n`` cannot be counted to, else None."""
    return _line("routine_count_range", high=COUNT_MAX) if not 1 <= n <= COUNT_MAX else None


def count_timeline(
    n: int, estimate: Estimate | None = None, down: bool = False, intro: str | None = None
) -> Timeline:
    """Count aloud from 1 to ``n`` (from ``n`` to 1 when ``down``), one number a second,
    after ``intro`` when given (the first number comes once it has been said)."""
    if count_refusal(n):
        raise ValueError(f"can count from 1 to {COUNT_MAX}, not to {n}")
    estimate = estimate or default_estimate()
    cues = []
    start = 0.0
    if intro:
        spoken = float(estimate(intro))
        cues.append(Cue(0.0, spoken, 0, intro, "instruction"))
        start = spoken + INTRO_GAP
    numbers = range(n, 0, -1) if down else range(1, n + 1)
    for i, k in enumerate(numbers):
        text = _line("routine_count_number", n=k)
        cues.append(Cue(start + i, float(estimate(text)), i, text, "count"))
    return make_timeline("count", cues)


def duration_from_slots(slots: Mapping[str, Any]) -> float | None:
    """Seconds asked for in understood slots (``seconds`` plus ``minutes``), or None."""
    seconds, minutes = slots.get("seconds"), slots.get("minutes")
    if seconds is None and minutes is None:
        return None
    return float(seconds or 0) + 60.0 * float(minutes or 0)


@dataclass(frozen=True)
class Timer:
    """One running timer."""

    label: str | None
    """Name the person gave it ("ice"), or None."""
    seconds: float
    """Length it was set for, seconds."""
    ends: float
    """Clock time it goes off."""
    task: str | None = None
    """What it reminds the person to do, in the coach's words ("take your ice off"), or None."""

    def ref(self) -> str:
        """How the coach names it in a sentence."""
        if self.task:
            return _line("routine_timer_ref_task", task=self.task)
        if self.label:
            return _line("routine_timer_ref_named", label=self.label)
        return _line("routine_timer_ref", duration=spoken_duration(self.seconds))

    def alarm(self) -> str:
        """The sentence said when it goes off."""
        if self.task:
            return _line("routine_timer_alarm_task", task=self.task)
        if self.label:
            return _line("routine_timer_alarm_named", label=self.label)
        return _line("routine_timer_alarm", duration=spoken_duration(self.seconds))


class Timers:
    """Several timers at once; every method returns the sentence to say."""

    REMINDER = "reminder"
    """The word that picks out a reminder in an answer to "which timer?"."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._timers: list[Timer] = []
        self.asking = False
        """The last :meth:`cancel` asked which timer to cancel."""

    def __len__(self) -> int:
        return len(self._timers)

    @property
    def running(self) -> tuple[Timer, ...]:
        """The running timers, soonest first."""
        return tuple(sorted(self._timers, key=lambda t: t.ends))

    def start(
        self,
        seconds: float | None,
        label: str | None = None,
        task: str | None = None,
        change: str | None = None,
    ) -> str:
        """Start a timer (a label or task already in use is restarted); without seconds, ask
        for them. A reminder's ``task`` is said back instead of its label. ``change``
        "add" adds the seconds to the timer named (or the one set last), "take" takes them
        off it, "set" restarts it with them; with no timer running, a new one is started
        (none for "take")."""
        task = task.strip() if task and task.strip() else None
        label = None if task else label
        target = self._target(label, task) if change and seconds else None
        if target is not None and change in ("add", "take"):
            return self._extend(target, seconds if change == "add" else -seconds)
        if change == "take" and seconds:  # nothing to take time off
            return _line("routine_timer_none")
        if target is not None:
            label, task = target.label, target.task
            self._timers = [t for t in self._timers if t is not target]
        if seconds is None:
            if task:
                return _line("routine_timer_ask_task", task=task)
            if label:
                return _line("routine_timer_ask_named", label=label)
            return _line("routine_timer_ask")
        if not in_range(seconds):
            return _line(
                "routine_timer_range",
                low=spoken_duration(TIMER_MIN_SECONDS),
                high=spoken_duration(TIMER_MAX_SECONDS),
            )
        label = label.strip() if label and label.strip() else None
        if label or task:
            self._timers = [t for t in self._timers if (t.label, t.task) != (label, task)]
        self._timers.append(Timer(label, float(seconds), self.clock.now() + seconds, task))
        duration = spoken_duration(seconds)
        if task:
            return _line("routine_timer_started_task", task=task, duration=duration)
        if label:
            return _line("routine_timer_started_named", label=label, duration=duration)
        return _line("routine_timer_started", duration=duration)

    def _target(self, label: str | None, task: str | None) -> Timer | None:
        """The timer a change is for: the one named, else the one set last."""
        if label or task:
            named = self._named(label) if label else [t for t in self._timers if t.task == task]
            return named[0] if len(named) == 1 else None
        return self._timers[-1] if self._timers else None

    def _extend(self, timer: Timer, seconds: float) -> str:
        """``seconds`` more on ``timer`` (fewer when negative), within the timer limits."""
        longer = replace(timer, seconds=timer.seconds + seconds, ends=timer.ends + seconds)
        left = longer.ends - self.clock.now()
        if not in_range(left):
            return _line(
                "routine_timer_range",
                low=spoken_duration(TIMER_MIN_SECONDS),
                high=spoken_duration(TIMER_MAX_SECONDS),
            )
        self._timers = [longer if t is timer else t for t in self._timers]
        key = "routine_timer_extended" if seconds > 0 else "routine_timer_shortened"
        added = spoken_duration(abs(seconds))
        return _line(key, added=added, ref=timer.ref(), left=spoken_duration(left))

    def cancel(
        self,
        label: str | None = None,
        every: bool = False,
        length: float | None = None,
        task: str | None = None,
    ) -> str:
        """Cancel the timer called ``label``, the reminder to do ``task``, the unnamed one set
        for ``length`` seconds, the only one, or ``every`` one; with several, ask which
        (:attr:`asking` is then set)."""
        self.asking = False
        if not self._timers:
            return _line("routine_timer_none")
        if every and len(self._timers) > 1:
            self._timers = []
            return _line("routine_timer_cancelled_all")
        if label:
            match = self._named(label)
            if not match:
                return _line("routine_timer_unknown", label=label)
            if len(match) > 1:  # two reminders, and "cancel the reminder"
                return self._which()
        elif task:
            match = [t for t in self._timers if t.task == task]
        elif length is not None:
            match = [t for t in self.running if not (t.label or t.task) and t.seconds == length]
        elif len(self._timers) == 1:
            match = list(self._timers)
        else:
            match = []
        if not match:
            return self._which()
        self._timers = [t for t in self._timers if t is not match[0]]
        return _line("routine_timer_cancelled", ref=match[0].ref())

    def _named(self, label: str) -> list[Timer]:
        """The timers called ``label``; else the reminders, for "reminder", or the reminders
        whose task holds that word ("ice": "take your ice off")."""
        word = label.strip()
        named = [t for t in self.running if t.label == word]
        if not named:
            named = [t for t in self.running if t.task and word in (self.REMINDER, *t.task.split())]
        return named

    def _which(self) -> str:
        self.asking = True
        refs = [t.ref() for t in self.running]
        joined = refs[0]
        for ref in refs[1:]:
            joined = _line("routine_timer_or", first=joined, second=ref)
        return _line("routine_timer_which", refs=joined)

    def choices(self) -> dict[str, dict[str, Any]]:
        """What names each running timer in an answer to "which timer?", with the slots
        that cancel it: its label ("ice"), "reminder" for a reminder, or for an unnamed one
        its length as a number (minutes when whole, seconds otherwise: "the 10 minute one")."""
        out: dict[str, dict[str, Any]] = {}
        reminders = [t for t in self.running if t.task]
        for t in self.running:
            if t.task:
                words = [w for w in t.task.split() if len(w) > 2 and w not in _TASK_COMMON]
                if len(reminders) == 1:
                    words.append(self.REMINDER)
                for word in words:
                    out.setdefault(word, {"task": t.task})
            elif t.label:
                out.setdefault(t.label, {"label": t.label})
            else:
                whole = t.seconds % 60 == 0
                number = int(t.seconds // 60) if whole else int(t.seconds)
                out.setdefault(str(number), {"length": t.seconds})
        return out

    def status(self, label: str | None = None) -> str:
        """What is left on the timer called ``label`` when there is one, else on each timer,
        soonest first."""
        if not self._timers:
            return _line("routine_timer_none")
        now = self.clock.now()
        timers = (self._named(label) if label else []) or list(self.running)
        only = len(self.running) == 1 and not (timers[0].label or timers[0].task)
        return " ".join(
            _line(
                "routine_timer_left",
                ref=_line("routine_timer_ref_only") if only else t.ref(),
                left=spoken_duration(t.ends - now),
            )
            for t in timers
        )

    def next_due(self) -> float | None:
        """Clock time of the next alarm, or None."""
        return min((t.ends for t in self._timers), default=None)

    def due(self, now: float | None = None) -> list[str]:
        """Alarm sentences of the timers that have ended (they are removed)."""
        now = self.clock.now() if now is None else now
        ended = [t for t in self.running if t.ends <= now]
        self._timers = [t for t in self._timers if all(t is not e for e in ended)]
        return [t.alarm() for t in ended]
