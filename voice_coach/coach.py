"""The coach's hands: carries out what the dialogue decides (routines, counting, timers, voice).

:class:`Coach` registers a handler for each dialogue action. While a routine or a count
runs, control intents go to its :class:`~voice_coach.routine.RoutineRunner`; otherwise they
get their stateless answer, or a sentence saying there is nothing to act on. Timers tick
in a background thread and their alarms interrupt politely: a running routine pauses for
the alarm and carries on after it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import catalogue, earcons, routine, timers
from .clock import Clock, MonotonicClock
from .dialogue import TALK, UNCLEAR, Dialogue, Handler, Reply
from .understand import remark

log = logging.getLogger(__name__)

TICK_SECONDS = 0.2
"""How often timers are checked (s)."""
FINE_WORDS = 6
"""A remark that the stretch feels fine is at most this many words ("oh that feels good");
a longer sentence not understood pauses it, as it may be about pain."""


class Coach:
    """Carries out dialogue actions on a speaker, with one routine and any timers at a time."""

    def __init__(
        self,
        dialogue: Dialogue,
        speaker: Any,
        clock: Clock | None = None,
        voice: Any = None,
        drive: Any = routine.start_realtime,
    ) -> None:
        self.dialogue = dialogue
        self.cat = dialogue.cat
        self.speaker = speaker
        self.clock = clock or MonotonicClock()
        self.voice = voice
        self.drive = drive
        """Starts driving a runner in real time: ``drive(runner, clock, stop_event)``."""
        self.timers = timers.Timers(self.clock)
        self.runner: routine.RoutineRunner | None = None
        self.routines = {r.name: r for r in routine.load_all(self.cat.root)}
        """The guided routines by name, validated now rather than when one is asked for."""
        self.prefs: dict[str, Any] = {}
        """Hold/reps/side asked for before a routine starts (slot names)."""
        self.interrupted: str | None = None
        """A sentence cut off by "pause" when no routine ran, to say again on "resume"."""
        self.last_run: Callable[[], str | None] | None = None
        """Starts the latest routine (with the slots it was started with) or count again
        ("do it again")."""
        medicines = self.cat.language["timer_choice"].get("medicines", [])
        self._medicines = [(m, re.compile(rf"\b{re.escape(m)}\b")) for m in medicines]
        """Medicines a reminder's task may name ("take my tablets"): its caution, no dose."""
        self._answers_at_start = 0
        """How many replies the dialogue had said when the latest routine started."""
        self.ended_by: str | None = None
        """How the latest stretch was ended: ``"stop"`` ("carry on" then starts it again) or
        ``"pain"`` ("carry on" then says why not); None otherwise."""
        self._answered: tuple[str, object] | None = None
        """A knowledge answer said during a routine, and the instruction it followed."""
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._driver: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        for action, handler in {
            "start_routine": self._start_routine,
            "stop": self._stop_action,
            "pause": self._pause,
            "resume": self._resume,
            "restart": self._restart,
            "repeat": self._repeat,
            "skip": self._skip,
            "routine_status": self._status,
            "adjust": self._adjust,
            "count": self._count,
            "timer_set": self._timer_set,
            "timer_cancel": self._timer_cancel,
            "timer_status": self._timer_status,
            "speech_adjust": self._speech_adjust,
            "pain_report": self._pain,
            "scared": self._scared,
            "symptom_check": self._red_flag,  # stop the stretch; the question is said
            "see_doctor": self._red_flag,
            "emergency": self._red_flag,
            "goodbye": self._goodbye,
            "overview": self._what_now,
            "stretching": self._stretching,
            TALK: self._talk,
            UNCLEAR: self._unclear,
        }.items():
            dialogue.on(action, self._locked(handler))

    # -- speaking ------------------------------------------------------------------
    def active(self) -> bool:
        """True while a routine or a count is running (paused included)."""
        return self.runner is not None and not self.runner.done

    def say(self, text: str) -> None:
        """Say a reply: inside a running routine it is fitted before the next cue."""
        if not text:
            return
        with self._lock:
            if self.active():
                if self._is_answer(text):
                    self._answered = (text, self.runner.last_instruction)
                self.runner.speak(text)
                return
        self.speaker.say(text)

    def _is_answer(self, text: str) -> bool:
        """``text`` is the dialogue's latest answer to a question about the back."""
        intent = self.dialogue.last_intent
        kind = self.cat.intents[intent].kind if intent in self.cat.intents else None
        return text == self.dialogue.last_answer and kind == "knowledge"

    def start(self) -> None:
        """Start the timer thread."""
        self._ticker = threading.Thread(target=self._tick_loop, name="coach-timers", daemon=True)
        self._ticker.start()

    def wait_until_idle(self) -> None:
        """Block until the running routine or count (if any) has ended."""
        driver = self._driver
        if isinstance(driver, threading.Thread):
            driver.join()

    def close(self) -> None:
        """End the routine and the timer thread."""
        self._stop.set()
        with self._lock:
            if self.active():
                self.runner.red_flag()
        for thread in (self._driver, self._ticker):
            # not started when Ctrl-C came inside start(): join() would raise
            if isinstance(thread, threading.Thread) and thread.is_alive():
                thread.join(timeout=2.0)

    def tick(self) -> None:
        """Say the alarm of every timer that has ended."""
        with self._lock:
            alarms = self.timers.due(self.clock.now())
            for alarm in alarms:
                log.info("timer alarm: %s", alarm)
                if self.active():
                    self._answered = (alarm, self.runner.last_instruction)  # for "what was that?"
                    self.runner.alarm(alarm)
                else:
                    self.dialogue.last_answer = alarm
                    self.speaker.play(earcons.alarm())
                    self.speaker.say(alarm)

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - a failed alarm must not end the timers
                # one line (the traceback with --debug): a lost speaker is reported elsewhere
                debug = log.isEnabledFor(logging.DEBUG)
                log.warning("a timer alarm could not be said: %s", exc, exc_info=debug)

    def _locked(self, handler: Handler) -> Handler:
        """``handler`` under the coach's lock; "let's do the other knee" during the stretch
        moves to the other side whatever the request was taken for (a start, a skip, a
        change of side or nothing understood)."""

        def run(reply: Reply) -> str | None:
            with self._lock:
                other = self._other_side(reply)
                return handler(reply) if other is None else other

        return run

    # -- routines ------------------------------------------------------------------
    def _run(self, runner: routine.RoutineRunner) -> None:
        if self.active():
            self.runner.red_flag()
        self.runner, self.ended_by = runner, None
        self._driver = self.drive(runner, self.clock, self._stop)

    def _start_routine(self, reply: Reply) -> str | None:
        spec = self.routines.get(reply.routine) if reply.routine else self._default_routine()
        if spec is None:
            return self.cat.line("coach_no_such_routine")
        change = {k: v for k, v in reply.slots.items() if k in ("seconds", "reps", "side")}
        if change and self.active() and self.runner.timeline.routine == spec.name:
            return self.runner.adjust(change)  # "make the routine one round", mid-stretch
        slots = {**self.prefs, **reply.slots}
        refusal = routine.check_slots(spec, slots)
        if refusal:
            return refusal
        self._begin(spec, slots)
        return ""

    def _begin(self, spec: routine.Routine, slots: dict[str, Any]) -> None:
        hold, reps, side = slots.get("seconds"), slots.get("reps"), slots.get("side")
        self._run(
            routine.RoutineRunner(spec, self.speaker, self.clock, hold=hold, reps=reps, side=side)
        )
        self.last_run = lambda: self._begin(spec, slots)
        self._answers_at_start = self.dialogue.answers

    def _restart(self, reply: Reply) -> str | None:
        """Start the latest routine again from its first cue (or the default one)."""
        if self.last_run is None:
            return self._start_routine(reply)
        said = self.last_run()
        return "" if said is None else said  # the first cue says what is starting

    def _default_routine(self) -> routine.Routine | None:
        """The routine "start the stretch" means: the first by name (None: none installed)."""
        return next(iter(self.routines.values()), None)

    def _count(self, reply: Reply, intro: str | None = None) -> str | None:
        number = reply.slots.get("seconds")
        if number is None:
            return None
        refusal = timers.count_refusal(number)
        if refusal:
            return refusal
        if self.active() and self.runner.timeline.routine != "count":
            return self.cat.line("coach_busy")  # a count would end the stretch unsaid
        down = reply.slots.get("order") == "down"
        timeline = timers.count_timeline(number, self.speaker.prepare, down=down, intro=intro)
        self._run(routine.RoutineRunner(timeline, self.speaker, self.clock))
        self.last_run = lambda: self._count(reply)
        return ""

    def _adjust(self, reply: Reply) -> str | None:
        side = self._which_side(reply)  # "is this the right knee?": a question, no change
        if side is not None:
            return side
        spec = self._default_routine()
        if not reply.slots and "hold" in reply.request.split() and spec is not None:
            low, high = spec.settings.hold_range  # "make the hold shorter": how long, then?
            self.dialogue.asked_hold = True
            return self.cat.line("coach_hold_how", low=low, high=high)
        if self.active() and self.runner.timeline.routine != "count":
            return self.runner.adjust(reply.slots)
        slots = reply.slots  # a count has nothing to change: "do 1 round" is for the stretch
        if set(slots) == {"seconds"} and not self.active():  # "hold for 15 s": count it, keep it
            spec = self._default_routine()
            refusal = None if spec is None else routine.check_slots(spec, slots)
            if refusal:  # no 90-second count of a hold the stretch would refuse
                return refusal
            if spec is None:
                return self._count(reply)
            self.prefs.update(slots)
            return self._count(reply, self.cat.line("coach_hold_counted", seconds=slots["seconds"]))
        spec = self._default_routine()
        if spec is None:
            return self.cat.line("coach_no_such_routine")
        refusal = routine.check_slots(spec, slots)
        if refusal:
            return refusal
        self.prefs.update(slots)
        said = routine.adjust_reply(slots)
        return f"{said} {self.cat.line('coach_kept_for_stretch')}" if said else None

    def _stop_action(self, reply: Reply) -> str | None:
        self.interrupted = None
        if self.active():
            self.ended_by = "stop" if self.runner.timeline.routine != "count" else None
            return self.runner.stop()
        speaking = self.speaker.is_speaking()
        self.speaker.stop()
        if not len(self.timers):
            return None if speaking else self.cat.line("coach_nothing_running")
        if "cancel" in reply.request.split():  # "cancel it": only a timer is running
            return self._timer_cancel(reply)
        several = len(self.timers) > 1
        return self.cat.line(f"coach_timer{'s' if several else ''}_still_running")

    def _pause(self, reply: Reply) -> str | None:
        if self.active():
            return self.runner.pause()
        if not self.speaker.is_speaking():  # "hold on" with nothing said or running
            self.interrupted = None
            return self.cat.line("coach_waiting")
        self.interrupted = self.speaker.current_text
        self.speaker.stop()
        return None

    def _scared(self, reply: Reply) -> str | None:
        """Fear or distress during a stretch ("I'm crying", "I can't cope"): the stretch is
        paused and the answer said; otherwise the answer is said as it is."""
        if self.active() and self.runner.timeline.routine != "count" and not self.runner.held:
            self.runner.pause()
        return None

    def _unclear(self, reply: Reply) -> str | None:
        """Something not understood (or a bare "no") during a stretch may be pain: pause it
        and say how to carry on; otherwise the reply is said as it is."""
        if not self.active() or self.runner.timeline.routine == "count":
            return None
        if not self.runner.held:  # also while an answer is said over it
            self.runner.pause()
        return self.cat.line("coach_paused_unclear")

    def _resume(self, reply: Reply) -> str | None:
        """Carry on: the paused routine, the answer cut off by "pause", the routine ended
        by "stop" (from the beginning), or the one offered lately."""
        if self.active():
            return self.runner.resume()
        text, self.interrupted = self.interrupted, None
        runner = self.runner
        finished = runner is not None and runner.done and not runner.stopped
        again = self.ended_by == "stop" or (finished and "again" in reply.request.split())
        if not text and again and self.last_run is not None:  # "start again", after the end
            return self._restart(reply)
        offered, self.dialogue.recent_offer = self.dialogue.recent_offer, None
        if not text and offered in self.routines:  # "maybe later" ... "go on then"
            return self._start_routine(replace(reply, routine=offered))
        if not text and self.ended_by == "pain":  # not "nothing is paused"
            return self.cat.line("coach_not_after_pain")
        return text or self.cat.line("coach_nothing_paused")

    def _repeat(self, reply: Reply) -> str | None:
        """The answer to a question (or a timer's alarm) said since the latest instruction,
        else that instruction; "again" just after the stretch has ended offers it again."""
        if not self.active():
            return self._offer_again()
        text, after = self._answered or (None, None)
        if text and after is self.runner.last_instruction:
            return text
        return self.runner.repeat()

    def _offer_again(self) -> str | None:
        """ "One more time" when the last thing said was a stretch that ran to its end (no
        answer since it started): offered again rather than "nothing to repeat"."""
        runner = self.runner
        if runner is None or not runner.done or runner.stopped or runner.timeline.source is None:
            return None
        if self.dialogue.answers != self._answers_at_start:  # answered since
            return None
        self.dialogue.pending_offer = runner.timeline.source.name
        return self.cat.line("coach_offer_again")

    def _what_now(self, reply: Reply) -> str | None:
        """ "What do I do now?" during the stretch (``[routine_talk] what_now`` in
        language.toml): its latest instruction rather than the overview of the article."""
        if not self.active() or self.runner.timeline.routine == "count":
            return None
        if not self._is_routine_talk("what_now", reply.request):
            return None
        return self.runner.repeat()

    def _talk(self, reply: Reply) -> str | None:
        """Talk during a running stretch that needs no pause: "okay" with nothing asked (said
        nothing to), "is this right?" (``[routine_talk] what_now``: its latest instruction),
        "which knee?", or a remark that it feels fine (``[routine_talk] fine``, every
        other word of it one of ``fine_only``) or better (``[better]``)."""
        if not self.active() or self.runner.timeline.routine == "count":
            return None
        if reply.intent == "yes":  # "okay" with nothing asked: heard, and it goes on
            return self.cat.line("coach_still_paused") if self.runner.held else ""
        if not self.runner.held and self._is_routine_talk("what_now", reply.request):
            return self.runner.repeat()  # "is this right?": its latest instruction
        side = self._which_side(reply)
        if side is not None or self.runner.held:
            return side
        better = reply.text == self.cat.line("feeling_better")  # "it doesn't hurt"
        fine = better or self._feels_fine(reply.request)
        return self.cat.line("coach_feels_fine") if fine else None

    def _feels_fine(self, request: str) -> bool:
        """Whether the (normalised) ``request`` says the stretch feels fine ("that feels
        good"), in at most :data:`FINE_WORDS` words, each of them a word of such a remark."""
        talk = self.cat.language.get("routine_talk", {})
        return remark(request, talk.get("fine", []), talk.get("fine_only", []), FINE_WORDS)

    def _stretching(self, reply: Reply) -> str | None:
        """The stretching answer asked for during the stretch itself, which it would offer
        again: "how long do I hold it?" gets the hold being counted (``coach_hold_now``), a
        question ("how do I do the stretch?", ``[routine_talk] questions``) the latest
        instruction, a remark ("I can feel the stretch") ``coach_feels_fine``, or pauses it
        when it says more ("I can feel the stretch burning")."""
        if not self.active() or self.runner.timeline.routine == "count":
            return None
        self.dialogue.pending_offer = self.dialogue.recent_offer = None
        params = self.runner.timeline.params
        caution = self.cat.lines.get(catalogue.CAUTION_PREFIX + "stretching")  # follow-ups too
        if caution is not None and reply.text == caution and params is not None:
            return self.cat.line("coach_hold_now", seconds=params.hold)  # "how long do I hold?"
        if reply.text != self.cat.intents["stretching"].answer:  # another caution
            return None
        if self.dialogue.matcher.asks(reply.request):
            return self.runner.repeat()
        if self.runner.held or not self._feels_fine(reply.request):
            return self._unclear(reply)
        return self.cat.line("coach_feels_fine")

    def _which_side(self, reply: Reply) -> str | None:
        """The side being stretched, when the request asks which (``[routine_talk]
        which_side``) during a stretch that has sides."""
        side = self.runner.side if self.active() else None
        if side and self._is_routine_talk("which_side", reply.request):
            return self.cat.line("coach_which_side", side=side)
        return None

    def _other_side(self, reply: Reply) -> str | None:
        """The next side now, when the request asks for it during the stretch ("let's do
        the other knee", ``[routine_talk] other_side``): the release first if the knee may
        be up; None otherwise."""
        if not self.active() or self.runner.timeline.routine == "count":
            return None
        if not self._is_routine_talk("other_side", reply.request):
            return None
        said = self.runner.next_side()  # None: no side begun yet, so its latest instruction
        return self.runner.repeat() if said is None else said

    def _is_routine_talk(self, kind: str, request: str) -> bool:
        """Whether the (normalised) ``request`` is one of ``[routine_talk] <kind>``."""
        return request in self.cat.language.get("routine_talk", {}).get(kind, [])

    def _skip(self, reply: Reply) -> str | None:
        if not self.active():
            return None
        said = self.runner.skip()
        return "" if said is None else said  # skipped: the next step is said at once

    def _status(self, reply: Reply) -> str | None:
        if self.active():
            return self.runner.status()
        return self.timers.status() if len(self.timers) else None  # "how long is left"

    def _pain(self, reply: Reply) -> str | None:
        if not self.active():
            if self.ended_by == "stop":
                self.ended_by = None  # "carry on" no longer restarts the stretch
            return None
        self.ended_by = "pain" if self.runner.timeline.routine != "count" else None
        said = self.runner.pain()
        if self.dialogue.asked_leg is None and said:  # "ow, my leg's fine": no leg question
            return self.cat.line("routine_pain_no_leg")
        return said

    def _red_flag(self, reply: Reply) -> str | None:
        """End a running stretch, saying only to lower the leg first (the advice follows at
        once, not after "rest as long as you like")."""
        self.ended_by = None
        if self.active():
            said = self.runner.stop()
            if said and self.runner.timeline.routine != "count":
                self.speaker.say(self.cat.line("coach_stopped_for_advice"))
        return None

    def _goodbye(self, reply: Reply) -> str | None:
        """End a running stretch first, saying to lower the leg (the goodbye follows)."""
        if self.active():
            said = self.runner.stop()
            if said and self.runner.timeline.routine != "count":
                self.speaker.say(said)
        return None

    # -- timers and voice ----------------------------------------------------------
    def _timer_set(self, reply: Reply) -> str | None:
        """Start (or change) a timer; one asked to repeat ("every 4 hours", ``[timer_choice]
        repeats``) is set once, and ``coach_timer_once`` says so; a reminder to take a
        medicine is for ``coach_medicine_task`` (no dose said back) and ends with
        ``coach_timer_medicine``."""
        slots = reply.slots
        seconds = timers.duration_from_slots(slots)
        task = slots.get("task")
        medicine = next((m for m, p in self._medicines if task and p.search(task)), None)
        if medicine:  # "take 800 mg of ibuprofen": the medicine is said back, not the dose
            task = self.cat.line("coach_medicine_task", medicine=medicine)
        said = self.timers.start(seconds, slots.get("label"), task, slots.get("change"))
        if seconds is None or not timers.in_range(seconds):
            return said  # asked for a duration, or refused
        if self.dialogue.matcher.repeats(reply.request):  # "every 4 hours"
            said = f"{said} {self.cat.line('coach_timer_once')}"
        if medicine:
            said = f"{said} {self.cat.line('coach_timer_medicine')}"
        return said

    def _timer_cancel(self, reply: Reply) -> str | None:
        if not self.active():  # "cancel it" said over an answer, heard as "stop": cut it
            self.speaker.stop()
        slots = reply.slots
        said = self.timers.cancel(
            slots.get("label"), slots.get("scope") == "all", slots.get("length"), slots.get("task")
        )
        self.dialogue.asked_cancel = self.timers.choices() if self.timers.asking else {}
        return said

    def _timer_status(self, reply: Reply) -> str | None:
        return self.timers.status(reply.slots.get("label"))

    def _speech_adjust(self, reply: Reply) -> str | None:
        direction = reply.slots.get("direction")
        if direction is None or self.voice is None:
            return None
        from .speak import adjust

        return adjust(self.voice, direction)
