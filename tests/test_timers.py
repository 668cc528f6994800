"""Counting aloud and timers, on a fake clock; an alarm that falls mid-routine."""

from __future__ import annotations

import re

import pytest
from fakes import ClockSpeaker, FakeClock

from voice_coach import catalogue, routine, timers
from voice_coach.routine import RoutineRunner, build_timeline, load_routine
from voice_coach.timers import Timers


def line(key: str, **fields: object) -> str:
    return catalogue.default().line(key, **fields)


def test_count_to_fifteen_each_number_on_its_second() -> None:
    clock = FakeClock()
    speaker = ClockSpeaker(clock)
    timeline = timers.count_timeline(15, estimate=speaker.prepare)
    assert [c.say for c in timeline.cues] == [str(n) for n in range(1, 16)]
    assert [c.at for c in timeline.cues] == [float(n) for n in range(15)]
    assert {c.kind for c in timeline.cues} == {"count"}
    runner = RoutineRunner(timeline, speaker, clock)
    start = clock.now()
    while (due := runner.next_due()) is not None:
        clock.set(due)
        runner.advance(due)
    assert [(t - start, text) for t, text, _ in speaker.said] == [
        (float(n - 1), str(n)) for n in range(1, 16)
    ]
    assert runner.done
    assert runner.adjust({"seconds": 20}) == line("routine_adjust_unavailable")


def test_count_can_be_paused_without_losing_a_number() -> None:
    clock = FakeClock()
    speaker = ClockSpeaker(clock)
    runner = RoutineRunner(timers.count_timeline(6, speaker.prepare), speaker, clock)
    start = clock.now()
    for _ in range(3):
        due = runner.next_due()
        assert due is not None
        clock.set(due)
        runner.advance(due)
    runner.pause()
    clock.advance(4)
    runner.resume()
    while (due := runner.next_due()) is not None:
        clock.set(due)
        runner.advance(due)
    assert speaker.texts() == ["1", "2", "3", "4", "5", "6"]
    assert [t - start for t, _, _ in speaker.said] == [0, 1, 2, 7, 8, 9]


def test_count_bounds() -> None:
    assert timers.count_refusal(15) is None
    for n in (0, timers.COUNT_MAX + 1):
        assert timers.count_refusal(n) == line("routine_count_range", high=timers.COUNT_MAX)
        with pytest.raises(ValueError):
            timers.count_timeline(n, estimate=len)


def test_a_timer_without_duration_asks_and_proposes_none() -> None:
    t = Timers(FakeClock())
    reply = t.start(None, "ice")
    assert reply == line("routine_timer_ask_named", label="ice")
    assert not re.search(r"\d", reply)
    assert len(t) == 0


def test_a_reminder_says_its_task_when_set_asked_about_and_due() -> None:
    clock = FakeClock()
    t = Timers(clock)
    task = "take your ice off"
    assert t.start(None, task=task) == line("routine_timer_ask_task", task=task)
    assert t.start(60, "ice", task) == line(
        "routine_timer_started_task", task=task, duration="1 minute"
    )
    clock.advance(30)
    ref = line("routine_timer_ref_task", task=task)
    assert t.status() == line("routine_timer_left", ref=ref, left="30 seconds")
    assert t.start(60, task=task) and len(t) == 1  # the same reminder again restarts it
    t.start(60)
    picks = {"task": task}  # "take your ice off": "the ice one", or "the reminder"
    assert t.choices() == {"ice": picks, "reminder": picks, "1": {"length": 60.0}}
    clock.advance(60)
    assert t.due() == [
        line("routine_timer_alarm_task", task=task),
        line("routine_timer_alarm", duration="1 minute"),
    ]
    assert len(t) == 0


def test_a_named_timer_or_the_reminder_is_asked_about_and_cancelled_alone() -> None:
    clock = FakeClock()
    t = Timers(clock)
    t.start(600, "ice")
    t.start(1200, "heat")
    t.start(300, task="turn over")
    ice = line("routine_timer_ref_named", label="ice")
    assert t.status("ice") == line("routine_timer_left", ref=ice, left="10 minutes")
    reminder = line("routine_timer_ref_task", task="turn over")
    assert t.status("reminder") == line("routine_timer_left", ref=reminder, left="5 minutes")
    assert t.cancel("reminder") == line("routine_timer_cancelled", ref=reminder)
    assert t.cancel("reminder") == line("routine_timer_unknown", label="reminder")
    assert len(t.status("toast").split(".")) == 3  # no such timer: every timer is said
    t.start(60, task="drink some water")
    t.start(120, task="turn over")
    said = t.cancel("reminder")  # two reminders: which one?
    assert t.asking and len(t) == 4 and "drink some water" in said and "turn over" in said


def test_time_added_to_a_timer_or_a_new_length_changes_it_in_place() -> None:
    clock = FakeClock()
    t = Timers(clock)
    t.start(600, "ice")
    t.start(60)
    ice = line("routine_timer_ref_named", label="ice")
    assert t.start(300, "ice", change="add") == line(
        "routine_timer_extended", added="5 minutes", ref=ice, left="15 minutes"
    )
    assert t.start(900, change="set") == line("routine_timer_started", duration="15 minutes")
    assert sorted(x.seconds for x in t.running) == [900, 900] and len(t) == 2
    assert t.start(5 * 3600, "ice", change="add") == line(
        "routine_timer_range", low="1 second", high="4 hours"
    )
    assert Timers(clock).start(60, change="add") == line(
        "routine_timer_started", duration="1 minute"
    )
    assert t.start(300, "ice", change="take") == line(
        "routine_timer_shortened", added="5 minutes", ref=ice, left="10 minutes"
    )
    assert t.start(1200, "ice", change="take") == line(
        "routine_timer_range", low="1 second", high="4 hours"
    )
    assert Timers(clock).start(60, change="take") == line("routine_timer_none")


def test_two_timers_status_cancel_and_alarms() -> None:
    clock = FakeClock()
    t = Timers(clock)
    assert t.start(600, "ice") == line(
        "routine_timer_started_named", label="ice", duration="10 minutes"
    )
    assert t.start(90) == line("routine_timer_started", duration="1 minute and 30 seconds")
    assert len(t) == 2
    clock.advance(30)
    plain = line("routine_timer_ref", duration="1 minute and 30 seconds")
    named = line("routine_timer_ref_named", label="ice")
    assert t.status() == " ".join(
        [
            line("routine_timer_left", ref=plain, left="1 minute"),
            line("routine_timer_left", ref=named, left="9 minutes and 30 seconds"),
        ]
    )
    assert t.due() == []
    clock.advance(60)
    assert t.due() == [line("routine_timer_alarm", duration="1 minute and 30 seconds")]
    assert t.due() == []
    assert len(t) == 1
    assert t.next_due() == pytest.approx(clock.now() + 510)
    assert t.cancel("heat") == line("routine_timer_unknown", label="heat")
    assert t.cancel("ice") == line("routine_timer_cancelled", ref=named)
    assert len(t) == 0 and t.next_due() is None
    assert t.cancel() == line("routine_timer_none")
    assert t.status() == line("routine_timer_none")


def test_the_only_timer_is_called_the_timer() -> None:
    """One unnamed timer is "the timer", not "the timer for 10 minutes" again."""
    clock = FakeClock()
    t = Timers(clock)
    t.start(600)
    clock.advance(60)
    only = line("routine_timer_ref_only")
    assert t.status() == line("routine_timer_left", ref=only, left="9 minutes")
    t.start(300, "ice")
    plain = line("routine_timer_ref", duration="10 minutes")
    assert line("routine_timer_left", ref=plain, left="9 minutes") in t.status()


def test_count_down_from_five_each_number_on_its_second() -> None:
    timeline = timers.count_timeline(5, estimate=len, down=True)
    assert [(c.at, c.say) for c in timeline.cues] == [(float(i), str(5 - i)) for i in range(5)]


def test_cancel_every_timer_at_once() -> None:
    t = Timers(FakeClock())
    t.start(60, "ice")
    t.start(120, "heat")
    assert t.cancel(every=True) == line("routine_timer_cancelled_all")
    assert len(t) == 0


def test_cancel_without_label_asks_which_when_several() -> None:
    clock = FakeClock()
    t = Timers(clock)
    t.start(60, "ice")
    t.start(120, "heat")
    reply = t.cancel()
    expected_refs = line("routine_timer_or", first="the ice timer", second="the heat timer")
    assert reply == line("routine_timer_which", refs=expected_refs)
    assert len(t) == 2
    t.cancel("ice")
    assert t.cancel() == line("routine_timer_cancelled", ref="the heat timer")


def test_same_label_restarts_and_bounds_are_polite() -> None:
    clock = FakeClock()
    t = Timers(clock)
    t.start(60, "ice")
    clock.advance(50)
    t.start(60, "ice")
    assert len(t) == 1
    clock.advance(20)
    assert t.due() == []
    refusal = line("routine_timer_range", low="1 second", high="4 hours")
    assert t.start(0) == refusal
    assert t.start(5 * 3600) == refusal
    assert len(t) == 1


def test_two_alarms_at_once() -> None:
    clock = FakeClock()
    t = Timers(clock)
    t.start(30, "ice")
    t.start(20)
    clock.advance(45)
    assert t.due() == [
        line("routine_timer_alarm", duration="20 seconds"),
        line("routine_timer_alarm_named", label="ice"),
    ]


def test_duration_from_slots() -> None:
    assert timers.duration_from_slots({}) is None
    assert timers.duration_from_slots({"minutes": 10}) == 600
    assert timers.duration_from_slots({"minutes": 1, "seconds": 30}) == 90
    assert timers.duration_from_slots({"seconds": 45, "side": "left"}) == 45


def test_alarm_mid_routine_pauses_the_routine_then_resumes() -> None:
    """The loop the voice coach runs: routine cues and timer alarms on one clock."""
    clock = FakeClock()
    speaker = ClockSpeaker(clock)
    knee = load_routine("knee-to-chest")
    timeline = build_timeline(knee, estimate=speaker.prepare)
    runner = RoutineRunner(timeline, speaker, clock)
    start = clock.now()
    t = Timers(clock)
    hold = timeline.holds[0]
    t.start(hold.start + 3, "ice")  # goes off 3 s into the first hold
    alarm = line("routine_timer_alarm_named", label="ice")
    paused_while_alarm: list[bool] = []
    for _ in range(100_000):
        if runner.done:
            break
        due = [d for d in (runner.next_due(), t.next_due()) if d is not None]
        clock.set(max(clock.now(), min(due)) if due else clock.now() + routine.POLL_SECONDS)
        for sentence in t.due():
            runner.interject(sentence)
            paused_while_alarm.append(runner.paused)
        runner.advance(clock.now())
    assert runner.done and paused_while_alarm == [True]
    texts = speaker.texts()
    assert texts.count(alarm) == 1
    assert texts[texts.index(alarm) + 1] == "5"
    release = next(
        time for time, text, _ in speaker.said if text == "And release. Lower your leg slowly."
    )
    assert release - (start + hold.end) == pytest.approx(
        speaker.prepare(alarm), abs=routine.POLL_SECONDS
    )
    counts = [text for text in texts if text.isdigit()]
    assert counts == ["5", "4", "3", "2", "1"] * len(timeline.holds)
