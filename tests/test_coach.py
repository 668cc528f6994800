"""Carrying out the dialogue: routines, counting, timers and the voice, on a fake clock."""

from __future__ import annotations

import pytest
from fakes import ClockSpeaker, FakeClock

from voice_coach import catalogue
from voice_coach.coach import Coach
from voice_coach.dialogue import TALK, Dialogue
from voice_coach.routine import spoken_duration

CAT = catalogue.load()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def speaker(clock) -> ClockSpeaker:
    return ClockSpeaker(clock)


@pytest.fixture
def coach(clock, speaker) -> Coach:
    """A coach whose routines are advanced by the test (no real-time thread)."""
    return Coach(Dialogue(), speaker, clock, drive=lambda runner, clock, stop: None)


def talk(coach: Coach, text: str) -> str:
    reply = coach.dialogue.handle(text)
    coach.say(reply.text)
    return reply.text


def run_for(coach: Coach, clock: FakeClock, seconds: float) -> None:
    end = clock.now() + seconds
    while clock.now() < end:
        clock.advance(0.1)
        if coach.active():
            coach.runner.advance(clock.now())
        coach.tick()


def run_until_said(coach: Coach, clock: FakeClock, speaker: ClockSpeaker, start: str) -> None:
    """Run the clock until a sentence starting with ``start`` has been said."""
    while not any(text.startswith(start) for text in speaker.texts()):
        run_for(coach, clock, 0.1)


def test_yes_after_the_stretch_answer_runs_the_routine(coach, clock, speaker):
    talk(coach, "how do I stretch my back")
    talk(coach, "yes")
    assert coach.active()
    run_for(coach, clock, 70)
    said = " ".join(speaker.texts())
    assert "right knee" in said and " 5 4 3 2 1 And release." in said


def test_a_nerve_sign_mid_stretch_stops_it_and_asks_where_it_is(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    assert talk(coach, "it's tingling") == CAT.intent("symptom_check").answer
    assert not coach.active() and coach.dialogue.asked_leg


def test_go_on_then_after_putting_off_the_offer_starts_the_stretch(coach):
    talk(coach, "how do I stretch my back")
    talk(coach, "maybe later")
    talk(coach, "ok go on then")
    assert coach.active()


def test_stop_with_only_a_timer_running_keeps_it_and_says_so_and_cancel_it_cancels(coach):
    talk(coach, "set a timer for 20 minutes")
    assert talk(coach, "stop") == CAT.line("coach_timer_still_running")
    assert len(coach.timers) == 1
    talk(coach, "how long is left")
    assert "cancelled" in talk(coach, "cancel it") and len(coach.timers) == 0


def test_stop_with_two_timers_running_speaks_of_both(coach):
    talk(coach, "set an ice timer for 10 minutes")
    talk(coach, "set a heat timer for 20 minutes")
    assert talk(coach, "stop") == CAT.line("coach_timers_still_running")
    assert len(coach.timers) == 2


def test_stop_and_set_a_timer_in_one_sentence_does_both(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    said = talk(coach, "stop the stretch, and set a timer for 10 minutes")
    assert not coach.active() and len(coach.timers) == 1
    assert said.startswith(CAT.line("routine_stopped")) and "10 minutes" in said
    assert talk(coach, "say that again") == said


def test_how_long_is_left_with_only_a_timer_running_gives_the_timer(coach, clock, speaker):
    talk(coach, "set a timer for 10 minutes")
    ref = CAT.line("routine_timer_ref_only")
    assert talk(coach, "how long is left") == CAT.line(
        "routine_timer_left", ref=ref, left="10 minutes"
    )


def test_repeat_after_an_answer_mid_stretch_says_the_answer_then_the_cue(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_for(coach, clock, 3)
    answer = talk(coach, "should I use ice or heat")
    assert answer == CAT.intent("ice_heat").answer
    assert talk(coach, "repeat") == answer
    run_for(coach, clock, 40)  # the stretch goes on: the next instruction is said
    assert talk(coach, "repeat") == coach.runner.last_instruction.say


def test_a_count_asked_for_during_the_stretch_does_not_end_it(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    assert talk(coach, "count to 3") == CAT.line("coach_busy")
    assert coach.active() and coach.runner.timeline.routine != "count"


def test_skip_during_the_stretch_says_the_next_step_not_that_nothing_was_skipped(
    coach, clock, speaker
):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    assert talk(coach, "skip") == ""
    run_for(coach, clock, 0.2)
    assert CAT.intent("skip").answer not in speaker.texts()


def test_hold_for_seconds_before_the_stretch_is_kept_for_it(coach, clock, speaker):
    assert talk(coach, "hold for 15 seconds") == ""
    run_for(coach, clock, 25)
    assert speaker.texts()[0] == CAT.line("coach_hold_counted", seconds=15)  # before the count
    talk(coach, "start the stretch")
    assert {round(h.end - h.start) for h in coach.runner.timeline.holds} == {15}


def test_carry_on_after_a_stretch_stopped_for_pain_says_why_it_does_not(coach, clock):
    """Not "nothing is paused": it hurt, so the stretch is not carried on; asked to start,
    it starts."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    assert talk(coach, "it hurts") == CAT.line("routine_pain") and not coach.active()
    talk(coach, "no")  # the leg question
    assert talk(coach, "carry on") == CAT.line("coach_not_after_pain") and not coach.active()
    talk(coach, "start the stretch")
    assert coach.active()
    coach.runner.stop()
    assert talk(coach, "carry on") != CAT.line("coach_not_after_pain")  # stopped, not hurt


def test_rounds_or_a_side_asked_for_during_a_count_are_kept_for_the_stretch(coach, clock):
    """ "Hold for 10 seconds" counts them; "do one round" or another hold said during that
    count is for the stretch too (a count has no rounds to change, and is not restarted)."""
    talk(coach, "hold for 10 seconds")
    run_for(coach, clock, 2)
    kept = CAT.line("coach_kept_for_stretch")
    assert talk(coach, "do 1 rep") == f"{CAT.line('routine_adjust_reps_one')} {kept}"
    assert (
        talk(coach, "left side only")
        == f"{CAT.line('routine_adjust_side_one', side='left')} {kept}"
    )
    counting = coach.runner
    talk(coach, "hold for 12 seconds")  # not a new count in place of this one
    assert coach.runner is counting and coach.active()
    run_for(coach, clock, 20)
    talk(coach, "start the stretch")
    params = coach.runner.timeline.params
    assert (params.hold, params.reps, params.sides) == (12, 1, ("left",))


@pytest.mark.parametrize("text", ["call an ambulance", "I can't get up off the floor"])
def test_an_emergency_stops_the_stretch(coach, clock, text):
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    assert talk(coach, text) == CAT.intent("emergency").answer and not coach.active()


@pytest.mark.parametrize(
    ("answer", "left"),
    [("no, keep the ice one", ["ice"]), ("not the ice one", ["ice"]), ("neither", ["ice", "heat"])],
)
def test_keeping_one_of_two_timers_cancels_the_other(coach, answer, left):
    two_timers(coach, "set an ice timer for 10 minutes", "set a heat timer for 20 minutes")
    talk(coach, answer)
    assert [t.label for t in coach.timers.running] == left


def test_a_question_answering_which_timer_is_answered_and_cancels_nothing(coach):
    two_timers(coach, "set an ice timer for 10 minutes", "set a heat timer for 20 minutes")
    talk(coach, "how long should i ice for")
    assert len(coach.timers) == 2


def test_cancel_it_just_after_setting_a_timer_cancels_the_timer(coach):
    talk(coach, "set a timer for 5 minutes")
    ref = CAT.line("routine_timer_ref", duration="5 minutes")
    assert talk(coach, "cancel it") == CAT.line("routine_timer_cancelled", ref=ref)
    assert len(coach.timers) == 0


@pytest.mark.parametrize(
    "again", ["another one for 20 minutes", "one more for twenty minutes", "and one for 20 minutes"]
)
def test_another_one_just_after_a_timer_sets_a_second_timer(coach, again):
    talk(coach, "set a timer for 10 minutes")
    assert talk(coach, again) == CAT.line(
        "routine_timer_started", duration=spoken_duration(20 * 60)
    )
    assert sorted(t.seconds for t in coach.timers.running) == [600, 1200]


def test_another_one_with_no_timer_asked_for_is_not_a_timer(coach):
    talk(coach, "how do I stretch my back")
    talk(coach, "another one for 20 minutes")
    assert len(coach.timers) == 0


def test_a_reminder_every_few_hours_is_set_once_and_says_so(coach):
    said = talk(coach, "remind me every 4 hours to stretch")
    started = CAT.line("routine_timer_started_task", duration="4 hours", task="stretch")
    assert said == f"{started} {CAT.line('coach_timer_once')}"
    assert talk(coach, "set a timer for 4 hours") == CAT.line(
        "routine_timer_started", duration="4 hours"
    )  # no "once" when none was asked to repeat


@pytest.mark.parametrize(
    ("asked", "hours", "medicine"),
    [
        ("remind me in 2 hours to take more ibuprofen", 2, "ibuprofen"),
        ("remind me in 4 hours to take 800mg of ibuprofen", 4, "ibuprofen"),
        ("remind me to take my tablets in 3 hours", 3, "tablets"),
    ],
)
def test_a_reminder_to_take_a_medicine_says_no_dose_back_and_to_follow_the_label(
    coach, asked, hours, medicine
):
    """A fourth review: the dose asked for was said back ("to take 800mg of ibuprofen")."""
    task = CAT.line("coach_medicine_task", medicine=medicine)
    started = CAT.line("routine_timer_started_task", duration=f"{hours} hours", task=task)
    assert talk(coach, asked) == f"{started} {CAT.line('coach_timer_medicine')}"
    assert CAT.line("coach_timer_medicine") not in talk(coach, "remind me in 10 minutes to stretch")


def test_reminders_for_the_pharmacy_or_for_everyone_are_not_medicines_nor_repeats(coach):
    """A code review: "pharmacy" was a medicine word and "every" matched "everyone"."""
    for asked in (
        "remind me in 30 minutes to call the pharmacy",
        "remind me in 10 minutes to tell everyone dinner is ready",
    ):
        said = talk(coach, asked)
        assert CAT.line("coach_timer_medicine") not in said
        assert CAT.line("coach_timer_once") not in said


def test_two_medicine_reminders_are_two_timers(coach):
    talk(coach, "remind me in 2 hours to take my ibuprofen")
    talk(coach, "remind me in 3 hours to take my paracetamol")
    assert len(coach.timers) == 2


def test_a_reminder_too_long_is_refused_with_nothing_added(coach):
    said = talk(coach, "remind me every 6 hours to take my tablets")
    assert said == CAT.line("routine_timer_range", low="1 second", high="4 hours")
    assert len(coach.timers) == 0


def test_a_repeat_asked_for_at_the_end_of_a_reminder_is_not_said_back_in_it(coach):
    said = talk(coach, "remind me to stretch every 2 hours")
    started = CAT.line("routine_timer_started_task", duration="2 hours", task="stretch")
    assert said == f"{started} {CAT.line('coach_timer_once')}"


def test_a_hold_too_long_for_the_stretch_is_refused_not_counted(coach, clock, speaker):
    low, high = coach._default_routine().settings.hold_range
    assert high < 90
    refusal = CAT.line("routine_hold_range", low=low, high=high)
    assert talk(coach, "hold for 90 seconds") == refusal
    run_for(coach, clock, 5)
    assert not coach.active() and speaker.texts() == [refusal]  # no count
    talk(coach, "start the stretch")
    assert 90 not in {round(h.end - h.start) for h in coach.runner.timeline.holds}


def test_pause_resume_status_and_stop_during_the_routine(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_for(coach, clock, 15)
    assert talk(coach, "wait") == CAT.line("routine_paused") and coach.runner.paused
    before = len(speaker.said)
    run_for(coach, clock, 30)
    assert len(speaker.said) == before  # nothing said while paused
    assert "left" in talk(coach, "how much longer")
    assert talk(coach, "carry on") == CAT.line("routine_resumed") and not coach.runner.paused
    assert talk(coach, "stop") == CAT.line("routine_stopped") and not coach.active()


def test_a_timer_alarm_pauses_the_routine_politely(coach, clock, speaker):
    talk(coach, "start the stretch")
    assert talk(coach, "set a timer for 5 seconds") == "I've set a timer for 5 seconds."
    run_for(coach, clock, 5.2)
    assert "Your timer for 5 seconds is done." in speaker.texts()
    assert coach.runner.paused  # the routine waits for the alarm to be said
    run_for(coach, clock, 5)
    assert not coach.runner.paused and coach.active()


def test_what_was_that_right_after_an_alarm_in_the_stretch_repeats_the_alarm(coach, clock):
    talk(coach, "start the stretch")
    talk(coach, "set a timer for 5 seconds")
    run_for(coach, clock, 5.2)
    assert talk(coach, "what was that") == "Your timer for 5 seconds is done."


def test_what_was_that_after_an_alarm_repeats_the_alarm(coach, clock):
    talk(coach, "should I use ice or heat")
    talk(coach, "set an ice timer for 5 seconds")
    run_for(coach, clock, 5.2)
    assert talk(coach, "what was that") == CAT.line("routine_timer_alarm_named", label="ice")


def test_pain_stops_the_routine_and_a_yes_about_the_leg_sends_to_a_doctor(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    assert talk(coach, "ouch it hurts") == CAT.line("routine_pain") and not coach.active()
    assert "medical practitioner" in talk(coach, "yes")


def test_pain_in_the_stretch_with_the_legs_said_fine_stops_it_without_the_leg_question(
    coach, clock
):
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    said = talk(coach, "ow that hurts, my legs are fine")
    assert said == CAT.line("routine_pain_no_leg") and not coach.active()
    assert coach.dialogue.asked_leg is None


def test_a_red_flag_stops_the_routine(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    answer = talk(coach, "my leg has gone numb")
    assert not coach.active() and answer == CAT.line("red_flag_leg")


@pytest.mark.parametrize(
    "said", ["stop stop, should I worry", "ouch, should I be worried", "pause, is that bad"]
)
def test_a_command_with_a_question_after_a_red_flag_still_ends_the_stretch(coach, clock, said):
    talk(coach, "my leg has gone numb")
    talk(coach, "start the stretch")
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    assert coach.active()
    talk(coach, said)
    assert not coach.active()


def test_a_risk_named_during_the_stretch_ends_it_with_its_line(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    assert talk(coach, "oh I forgot, I had a hip replacement") == CAT.line("risk_stretch")
    assert not coach.active()


def test_wait_a_bit_pauses_a_stretch_started_after_a_red_flag(coach, clock):
    """Questions after a red flag ("can it wait?") repeat its advice; a pause is a pause."""
    talk(coach, "my leg has gone numb")
    assert talk(coach, "start the stretch") == CAT.line("stretch_after_red_flag")
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    assert talk(coach, "wait a bit") == CAT.line("routine_paused") and coach.runner.paused


def test_preferences_before_the_start_and_refusals_out_of_bounds(coach, clock, speaker):
    assert talk(coach, "do 20 reps") == CAT.line("routine_reps_range", low=1, high=10)
    kept = CAT.line("coach_kept_for_stretch")  # nothing starts yet: says how to start
    assert talk(coach, "let's do three reps") == f"{CAT.line('routine_adjust_reps', reps=3)} {kept}"
    both = CAT.line("routine_adjust_side_both")  # not "the both side"
    assert talk(coach, "both knees") == f"{both} {kept}"
    assert not coach.active()
    talk(coach, "start the stretch")
    assert coach.runner.timeline.to_dict()["cues"][0]["say"]
    assert sum("round 3 of 3" in t for t in _all_cues(coach)) == 2  # both knees, 3 rounds


def _all_cues(coach: Coach) -> list[str]:
    return [cue.say for cue in coach.runner.timeline.cues]


def test_hold_for_seconds_outside_a_routine_counts_aloud(coach, clock, speaker):
    talk(coach, "hold for 12 seconds")
    run_for(coach, clock, 20)
    assert speaker.texts() == [
        CAT.line("coach_hold_counted", seconds=12),
        *(str(n) for n in range(1, 13)),
    ]


def test_start_again_after_stop_runs_the_stretch_again_from_the_beginning(coach, clock, speaker):
    talk(coach, "start the stretch with 12 second holds on the left side")
    run_for(coach, clock, 30)
    talk(coach, "stop")
    assert not coach.active()
    assert talk(coach, "start again") == ""  # not "nothing is paused"
    assert coach.active() and coach.runner.last_instruction is None
    run_for(coach, clock, 0.1)
    assert speaker.texts()[-1] == coach.runner.timeline.cues[0].say
    assert coach.runner.timeline.params.hold == 12  # as asked the first time
    assert coach.runner.timeline.params.sides == ("left",)


def test_carry_on_after_a_finished_stretch_or_a_count_starts_nothing(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_for(coach, clock, 400)
    assert not coach.active()
    assert talk(coach, "carry on") == CAT.line("coach_nothing_paused")
    talk(coach, "count to 3")
    talk(coach, "stop")
    assert talk(coach, "carry on") == CAT.line("coach_nothing_paused")
    assert not coach.active()


def test_start_over_restarts_a_running_stretch_or_starts_one(coach, clock, speaker):
    talk(coach, "start over")
    assert coach.active()
    run_for(coach, clock, 40)
    before = len(speaker.texts())
    talk(coach, "let's do it again")
    run_for(coach, clock, 0.1)
    assert coach.active() and speaker.texts()[before:] == [coach.runner.timeline.cues[0].say]


def test_hold_on_with_nothing_said_or_running_waits_rather_than_pausing(coach, speaker):
    assert talk(coach, "hold on") == CAT.line("coach_waiting")
    assert speaker.stops == 0


@pytest.mark.parametrize("text", ["I can't", "I felt a click", "I can't reach my knee", "no no no"])
def test_something_unclear_during_the_stretch_pauses_it(coach, clock, speaker, text):
    """A groan, "I can't" or a bare "no" mid-stretch may be pain: pause, don't refuse."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    assert talk(coach, text) == CAT.line("coach_paused_unclear")
    assert coach.runner.paused and coach.dialogue.misses == 0
    assert talk(coach, "carry on") == CAT.line("routine_resumed")
    run_for(coach, clock, 3)  # the instruction the pause cut off is said again first
    assert not coach.runner.paused


@pytest.mark.parametrize("text", ["I'm crying", "I can't take this anymore", "this is hopeless"])
def test_distress_during_the_stretch_pauses_it_and_is_answered(coach, clock, text):
    """A review: distress, once not understood (a pause), became the fear answer, and the
    stretch ran on through it."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    assert talk(coach, text) == CAT.intent("scared").answer
    run_for(coach, clock, 30)  # the answer said, the stretch stays paused
    assert coach.runner.paused and coach.runner.held


@pytest.mark.parametrize("text", ["I'm crying, stop", "stop, I'm crying", "I'm scared, stop"])
def test_fear_with_a_stop_ends_the_stretch(coach, clock, text):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    talk(coach, text)
    assert not coach.active()


def test_something_unclear_while_an_answer_is_said_over_the_stretch_pauses_it(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    talk(coach, "what causes back spasms")  # said over the stretch, which waits for it
    assert talk(coach, "I can't") == CAT.line("coach_paused_unclear")
    run_for(coach, clock, 30)
    assert coach.runner.held


@pytest.mark.parametrize("text", ["no I'm fine", "no never mind", "no problem"])
def test_a_no_that_says_more_does_not_pause_the_stretch(coach, clock, text):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    assert talk(coach, text) != CAT.line("coach_paused_unclear")
    assert not coach.runner.held


def test_cancel_it_heard_as_stop_over_an_answer_cuts_it(coach, speaker):
    talk(coach, "set a timer for 10 minutes")
    speaker.say("A long answer being said.")
    stops = speaker.stops
    talk(coach, "cancel it")
    assert len(coach.timers) == 0 and speaker.stops > stops


def test_something_unclear_with_no_stretch_running_is_the_fallback(coach, clock):
    assert talk(coach, "I felt a click") == CAT.line("fallback")
    talk(coach, "count to 10")
    assert talk(coach, "I felt a click") == CAT.line("fallback")  # a count runs on
    run_for(coach, clock, 10)  # once the fallback has been said over it
    assert not coach.runner.paused


def test_what_do_i_do_now_during_the_stretch_is_its_latest_instruction(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    instruction = coach.runner.last_instruction
    assert instruction is not None
    assert talk(coach, "um, what do I do now?") == instruction.say
    assert talk(coach, "what should I do about my back spasm") == CAT.intent("overview").answer


def test_which_knee_during_the_stretch_names_the_side_and_does_not_pause(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    assert talk(coach, "which knee?") == CAT.line("coach_which_side", side="right")
    assert not coach.runner.held  # not taken for pain
    holds = len(coach.runner.timeline.holds)
    for asked in ("is this the right knee?", "is this the left knee?", "which side now"):
        assert talk(coach, asked) == CAT.line("coach_which_side", side="right")
    assert len(coach.runner.timeline.holds) == holds  # a question, not "just the right side"
    assert talk(coach, "what should I do next") == coach.runner.last_instruction.say


@pytest.mark.parametrize(
    "remark",
    [
        "that feels good",
        "oh that's better",
        "mm lovely",
        "feels great",
        "I can feel the stretch",
        "that's a nice stretch",
        "that feels better",
        "my back feels better",
    ],
)
def test_a_remark_that_the_stretch_feels_fine_is_answered_and_it_goes_on(coach, clock, remark):
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    assert talk(coach, remark) == CAT.line("coach_feels_fine")
    assert not coach.runner.paused and coach.dialogue.pending_offer is None


@pytest.mark.parametrize(
    "remark",
    [
        "that doesn't feel good",
        "not so good",
        "good but it hurts",
        "it feels worse",
        "I can feel the stretch in my leg",
        "I felt a click",
        "mm",
        # a fourth review: each was "Good. Keep breathing slowly." and the stretch went on
        "this stretch is agony",
        "good grief that stings",
        "I can feel the stretch, I feel dizzy",
        "great, now it's burning",
        "perfect, it's cramping",
        "feels great, just a bit crampy",
        "easier now, something popped",
        "better, I feel sick",
        "I can feel the stretch, it's a bit much",
        "I can feel the stretch burning",
        "my back feels better, I just feel dizzy",
        "my back's better, my hip is killing me",
        "the pain has gone to my bottom",
        "it's easing, my knee clicked",
    ],
)
def test_a_remark_that_may_be_about_pain_pauses_or_stops_the_stretch(coach, clock, remark):
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    assert talk(coach, remark) != CAT.line("coach_feels_fine")
    assert coach.runner.paused or not coach.active()  # paused, or stopped for pain


@pytest.mark.parametrize("asked", ["how long do I hold it", "how many reps should I do"])
def test_how_long_to_hold_during_the_stretch_is_the_hold_counted_and_no_offer(coach, clock, asked):
    talk(coach, "start the stretch, hold for 14 seconds")
    run_for(coach, clock, 10)
    assert talk(coach, asked) == CAT.line("coach_hold_now", seconds=14)
    assert coach.dialogue.pending_offer is None and coach.active()


def test_only_one_round_during_the_stretch_changes_it_and_does_not_pause(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 10)
    assert talk(coach, "only one round") == CAT.line("routine_adjust_reps_one")
    assert not coach.runner.paused and coach.runner.timeline.params.reps == 1


@pytest.mark.parametrize("again", ["one more time", "again", "repeat that"])
def test_again_just_after_the_stretch_ended_offers_it_again(coach, clock, again):
    """A third review: it said "I haven't said anything yet to repeat"."""
    talk(coach, "start the stretch, one round, left side only")
    run_for(coach, clock, 90)
    assert not coach.active()
    assert talk(coach, again) == CAT.line("coach_offer_again")
    talk(coach, "yes")
    assert coach.active()


def test_again_after_a_question_answered_since_the_stretch_repeats_that_answer(coach, clock):
    talk(coach, "start the stretch, one round, left side only")
    run_for(coach, clock, 90)
    talk(coach, "should I use ice or heat")
    assert talk(coach, "say that again") == CAT.intent("ice_heat").answer


def test_talk_while_an_answer_is_said_over_the_stretch_is_not_taken_for_a_pause(coach, clock):
    """A code review: "okay" said while an answer played over the stretch got "it is paused"."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    talk(coach, "should I use ice or heat")
    assert coach.runner.paused and not coach.runner.held  # the answer is said over it
    assert talk(coach, "okay") == ""
    assert talk(coach, "that feels good") == CAT.line("coach_feels_fine")
    assert not coach.runner.held


def test_say_that_again_after_a_stretch_with_the_same_answer_during_it_repeats_it(coach, clock):
    talk(coach, "should I use ice or heat")
    talk(coach, "start the stretch, one round, left side only")
    run_for(coach, clock, 10)
    talk(coach, "should I use ice or heat")
    run_for(coach, clock, 90)
    assert talk(coach, "say that again") == CAT.intent("ice_heat").answer


def test_ow_again_during_the_stretch_stops_it_and_asks_about_the_legs(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 26)
    assert "legs" in talk(coach, "ow again")
    assert not coach.active() and coach.dialogue.asked_leg


@pytest.mark.parametrize("ack", ["ok", "yep", "got it", "right"])
def test_okay_with_nothing_asked_during_the_stretch_is_heard_and_it_goes_on(coach, clock, ack):
    """A third review: "ok" got "What would you like to know?", "got it" paused it."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    assert talk(coach, ack) == ""
    assert not coach.runner.paused
    talk(coach, "pause")
    assert talk(coach, ack) == CAT.line("coach_still_paused")
    assert coach.runner.paused
    talk(coach, "stop")
    assert talk(coach, ack) == CAT.intent("yes").answer


def test_the_stretching_question_during_the_stretch_is_its_latest_instruction(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    assert talk(coach, "how do I stretch my back") == coach.runner.last_instruction.say
    assert coach.dialogue.pending_offer is None  # not offered again: "yes" starts nothing
    talk(coach, "stop")
    assert talk(coach, "how do I stretch my back") == CAT.intent("stretching").answer
    assert coach.dialogue.pending_offer is not None


def test_a_remark_that_it_feels_fine_while_paused_keeps_it_paused(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    talk(coach, "pause")
    assert talk(coach, "that feels good") == CAT.line("coach_paused_unclear")
    assert coach.runner.paused


def test_a_start_with_rounds_said_during_the_stretch_changes_it_rather_than_restarting(
    coach, clock
):
    talk(coach, "start the stretch")
    run_for(coach, clock, 20)
    runner = coach.runner
    assert talk(coach, "change the routine to one round") == CAT.line("routine_adjust_reps_one")
    assert coach.runner is runner  # the same run, not started again


def test_a_red_flag_during_the_stretch_says_to_lower_the_leg_before_the_advice(
    coach, clock, speaker
):
    talk(coach, "start the stretch")
    run_for(coach, clock, 30)
    before = len(speaker.texts())
    advice = talk(coach, "I feel dizzy and faint")
    assert speaker.texts()[before:] == [CAT.line("coach_stopped_for_advice"), advice]
    assert not coach.active()


def test_goodbye_during_the_stretch_says_to_lower_the_leg_first(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    before = len(speaker.texts())
    assert talk(coach, "goodbye") == CAT.intent("goodbye").answer
    assert speaker.texts()[before:] == [CAT.line("routine_stopped"), CAT.intent("goodbye").answer]
    assert not coach.active()


def test_stop_with_nothing_said_or_running_says_so_but_cutting_an_answer_ends_it(coach, speaker):
    assert talk(coach, "stop") == CAT.line("coach_nothing_running")
    talk(coach, "should I use ice or heat")
    assert speaker.is_speaking() and speaker.stops == 1
    assert talk(coach, "stop") == CAT.intent("stop").answer
    assert speaker.stops == 2


def test_pause_outside_a_routine_cuts_speech_and_resume_says_it_again(coach, clock, speaker):
    assert talk(coach, "resume") == CAT.line("coach_nothing_paused")
    talk(coach, "should I use ice or heat")
    assert speaker.is_speaking()
    talk(coach, "hold on")
    assert speaker.stops == 1
    assert talk(coach, "go on") == CAT.intent("ice_heat").answer


def test_speech_adjust_changes_the_real_voice(clock, speaker):
    from voice_coach.speak import Voice

    voice = Voice()
    coach = Coach(Dialogue(), speaker, clock, voice=voice, drive=lambda *a: None)
    before = voice.settings.volume
    assert talk(coach, "speak up") == CAT.line("speech_out_louder")
    assert voice.settings.volume > before
    slower = voice.settings.rate
    talk(coach, "you're talking too fast")
    assert voice.settings.rate < slower


def two_timers(coach: Coach, first: str, second: str) -> str:
    """Set two timers, ask to cancel one without naming it: the question asked."""
    talk(coach, first)
    talk(coach, second)
    assert len(coach.timers) == 2
    return talk(coach, "cancel the timer")


@pytest.mark.parametrize(
    ("answer", "left"),
    [
        ("the ice one", ["heat"]),
        ("no, the ice one", ["heat"]),
        ("heat", ["ice"]),
        ("cancel the heat timer please", ["ice"]),
        ("both", []),
        ("all of them", []),
    ],
)
def test_the_answer_to_which_timer_cancels_the_one_named(coach, answer, left):
    refs = CAT.line("routine_timer_or", first="the ice timer", second="the heat timer")
    asked = two_timers(coach, "set an ice timer for 10 minutes", "set a heat timer for 20 minutes")
    assert asked == CAT.line("routine_timer_which", refs=refs)
    talk(coach, answer)
    assert [t.label for t in coach.timers.running] == left


def test_a_reminder_is_chosen_by_the_word_reminder(coach):
    two_timers(coach, "remind me in 10 minutes to turn over", "set a timer for 10 minutes")
    said = talk(coach, "the reminder")
    ref = CAT.line("routine_timer_ref_task", task="turn over")
    assert said == CAT.line("routine_timer_cancelled", ref=ref)
    assert [(t.task, t.seconds) for t in coach.timers.running] == [(None, 600)]


def test_the_length_of_a_timer_does_not_pick_a_reminder_of_the_same_length(coach):
    two_timers(coach, "remind me in 10 minutes to turn over", "set a timer for 10 minutes")
    talk(coach, "the ten minute one")
    assert [(t.task, t.seconds) for t in coach.timers.running] == [("turn over", 600)]


def test_an_unnamed_timer_is_chosen_by_its_length(coach):
    two_timers(coach, "set a timer for 10 minutes", "set a timer for 5 minutes")
    said = talk(coach, "the ten minute one")
    ref = CAT.line("routine_timer_ref", duration="10 minutes")
    assert said == CAT.line("routine_timer_cancelled", ref=ref)
    assert [t.seconds for t in coach.timers.running] == [300]


def test_neither_keeps_the_timers_and_the_question_is_only_asked_once(coach):
    two_timers(coach, "set an ice timer for 10 minutes", "set a heat timer for 20 minutes")
    assert talk(coach, "neither") == CAT.line("routine_timer_kept")
    assert talk(coach, "ice") != CAT.line("routine_timer_cancelled", ref="the ice timer")
    assert len(coach.timers) == 2


def test_a_red_flag_answering_which_timer_is_still_a_red_flag(coach):
    two_timers(coach, "set an ice timer for 10 minutes", "set a heat timer for 20 minutes")
    assert coach.dialogue.handle("the ice one, my leg has gone numb").intent == "see_doctor"
    assert len(coach.timers) == 2


def test_do_it_again_after_a_count_counts_again(coach, clock, speaker):
    talk(coach, "count to 3")
    run_for(coach, clock, 5)
    talk(coach, "do it again")
    assert coach.active() and coach.runner.timeline.routine == "count"


def test_start_again_after_the_stretch_has_finished_runs_it_again(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 400)
    assert not coach.active()
    talk(coach, "start again")
    assert coach.active()


def test_carry_on_after_stop_and_a_pain_report_does_not_restart_the_stretch(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    talk(coach, "stop")
    talk(coach, "ouch")
    talk(coach, "no")
    assert talk(coach, "carry on") == CAT.line("coach_nothing_paused")
    assert not coach.active()


def test_cancel_it_during_the_stretch_stops_it_even_with_a_timer_set_before(coach, clock):
    talk(coach, "set a timer for 10 minutes")
    talk(coach, "start the stretch")
    run_for(coach, clock, 3)
    talk(coach, "cancel it")
    assert not coach.active() and len(coach.timers) == 1


def test_close_after_ctrl_c_inside_start(coach, monkeypatch):
    """Ctrl-C inside start() leaves a timer thread that never ran; close() still closes."""
    import threading

    def interrupted(_thread: threading.Thread) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", interrupted)
    with pytest.raises(KeyboardInterrupt):
        coach.start()
    monkeypatch.undo()
    coach.close()


@pytest.mark.parametrize(
    "text", ["is this right?", "am I doing it right", "what now", "is this correct", "is it right"]
)
def test_is_this_right_during_the_stretch_says_the_latest_instruction_and_goes_on(
    coach, clock, text
):
    """Not taken for something gone wrong: the stretch is not paused."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 25)
    latest = coach.runner.last_instruction.say
    reply = coach.dialogue.handle(text)
    assert reply.text == latest and reply.action == TALK  # heard, not "not understood"
    assert coach.active() and not coach.runner.held


def _hold_lengths(speaker: ClockSpeaker) -> list[float]:
    """Seconds from each "hold it there" to the release that follows it."""
    starts = [t for t, text, _ in speaker.said if text.startswith("Hold it there")]
    releases = [t for t, text, _ in speaker.said if text.startswith("And release")]
    return [min(r for r in releases if r > s) - s for s in starts if releases[-1] > s]


@pytest.mark.parametrize(
    ("after", "text", "released", "hold"),
    [
        (1, "should I use ice or heat", False, None),  # fits: said over the count
        (9, "should I use ice or heat", True, 9),  # too long: released at once
        (1, "what causes back spasms", True, 12),  # too long, too early: at the release
    ],
)
def test_an_answer_too_long_for_the_hold_comes_after_the_release(
    coach, clock, speaker, after, text, released, hold
):
    """A review: an answer given in a hold made it last 21 s, longer than the routine's
    longest hold (15 s, the article's most). An answer that fits in that is said over the
    count; a longer one after the release, which then comes at once, or when the hold has
    not yet lasted the shortest hold (5 s), at its planned end."""
    talk(coach, "start the stretch")
    run_until_said(coach, clock, speaker, "Hold it there")
    run_for(coach, clock, after)
    answer = talk(coach, text)
    run_for(coach, clock, 40)
    longest = coach.runner.timeline.source.settings.hold_range[1]
    assert all(length <= longest for length in _hold_lengths(speaker))
    said = speaker.texts()
    release = next(s for s in said if s.startswith("And release"))
    assert (release.endswith(answer)) == released
    assert said.index(release) < said.index("Rest a moment, and breathe out.")
    assert any(s.endswith(answer) for s in said)
    if hold is not None:
        assert _hold_lengths(speaker)[0] == pytest.approx(hold, abs=0.2)


def test_a_short_answer_in_the_hold_is_said_over_the_count(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_until_said(coach, clock, speaker, "Hold it there")
    run_for(coach, clock, 2)
    assert talk(coach, "which knee") == "Your right knee, this round."
    run_for(coach, clock, 20)
    assert _hold_lengths(speaker)[0] == pytest.approx(12, abs=0.2)


@pytest.mark.parametrize(
    ("text", "running", "held", "line"),
    [
        ("the pain goes to my foot", False, False, "red_flag_leg"),
        ("it travels to my knee", False, False, "red_flag_leg"),
        ("I can't carry on", False, False, None),
        ("I don't think I can carry on", False, False, None),
        ("it's pulling on my left side", True, True, "coach_paused_unclear"),
        ("it doesn't hurt", True, False, "coach_feels_fine"),
        ("I'm not in pain", True, False, "coach_feels_fine"),
        ("I don't want to stop", True, False, None),
    ],
)
def test_what_a_review_said_mid_stretch_is_done_as_meant(coach, clock, text, running, held, line):
    """A review of whole guided sessions: "the pain goes to my foot" only paused the
    stretch, "I can't carry on" carried on, "it's pulling on my left side" stretched the
    left side only, and "it doesn't hurt" ended the stretch as a pain report."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 38)
    sides = coach.runner.timeline.params.sides
    said = talk(coach, text)
    assert coach.active() == running
    if running:
        assert coach.runner.held == held and coach.runner.timeline.params.sides == sides
    if line is not None:
        assert said == CAT.line(line)


@pytest.mark.parametrize("text", ["I've gone all dizzy", "my head is spinning", "I'm seeing stars"])
def test_dizziness_in_other_words_stops_the_stretch_for_the_emergency_answer(coach, clock, text):
    talk(coach, "start the stretch")
    run_for(coach, clock, 38)
    assert talk(coach, text) == CAT.intent("emergency").answer
    assert not coach.active()


def test_not_ready_while_paused_stays_paused(coach, clock):
    talk(coach, "start the stretch")
    run_for(coach, clock, 38)
    talk(coach, "pause")
    talk(coach, "I'm not ready yet")
    assert coach.active() and coach.runner.held


def test_a_timer_alarm_that_cuts_off_an_instruction_is_followed_by_it_again(coach, clock, speaker):
    """A review: an alarm cut "Now the right knee, round 1 of 2" and it was never said."""
    talk(coach, "start the stretch")
    run_until_said(coach, clock, speaker, "Now the right knee")
    coach.timers.start(1, "ice")  # goes off while the cue is being said
    run_for(coach, clock, 30)
    said = speaker.texts()
    cue = next(s for s in said if s.startswith("Now the right knee"))
    assert said.count(cue) == 2
    alarm = next(i for i, s in enumerate(said) if "ice" in s.lower() and s != cue)
    assert said.index(cue) < alarm < len(said) - 1 - said[::-1].index(cue)


@pytest.mark.parametrize(("answer", "seconds"), [("8 seconds", 8), ("ten", 10)])
def test_make_the_hold_shorter_asks_how_long_and_a_number_answers(coach, clock, answer, seconds):
    """A review: "make the hold shorter" was not understood, and paused the stretch."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    assert talk(coach, "make the hold shorter") == CAT.line("coach_hold_how", low=5, high=15)
    talk(coach, answer)
    assert coach.runner.timeline.params.hold == seconds and not coach.runner.held


def test_an_instruction_cut_off_by_pause_is_said_again_on_carry_on(coach, clock, speaker):
    """A review: "pause" during "Take your right knee in both hands" and "carry on" went
    straight on to "Gently draw it up", and the cut instruction was never said."""
    talk(coach, "start the stretch")
    cue = "Take your right knee in both hands."
    run_until_said(coach, clock, speaker, cue)
    run_for(coach, clock, 0.5)
    talk(coach, "pause")
    run_for(coach, clock, 20)
    talk(coach, "carry on")
    run_for(coach, clock, 8)
    said = speaker.texts()
    assert said.count(cue) == 2
    last = len(said) - 1 - said[::-1].index(cue)
    assert said.index("Gently draw it up toward your chest.") > last


@pytest.mark.parametrize("text", ["let's do the other knee now", "switch legs", "other side"])
def test_the_other_knee_asked_for_mid_round_releases_and_moves_to_it(coach, clock, speaker, text):
    """A review: "let's do the other knee now" started the whole stretch again."""
    talk(coach, "start the stretch")
    run_until_said(coach, clock, speaker, "Hold it there")
    run_for(coach, clock, 2)
    assert talk(coach, text) == "And release. Lower your leg slowly."
    run_for(coach, clock, 20)
    said = speaker.texts()
    assert "Now the left knee, round 1 of 2." in said
    assert "Now the right knee, round 2 of 2." not in said
    assert coach.runner.side == "left"


def test_the_other_knee_asked_for_on_the_last_side_says_so(coach, clock, speaker):
    talk(coach, "start the stretch")
    run_until_said(coach, clock, speaker, "Now the left knee, round 1 of 2.")
    assert talk(coach, "the other knee") == CAT.line("routine_last_side")
    assert coach.active() and coach.runner.side == "left"


def test_a_pain_score_after_make_the_hold_shorter_is_no_hold(coach, clock):
    """A review: "the pain is about a 7" after the question set 7-second holds."""
    talk(coach, "start the stretch")
    run_for(coach, clock, 5)
    talk(coach, "make the hold shorter")
    talk(coach, "the pain is about a 7")
    assert coach.runner.timeline.params.hold == 12


def test_the_other_knee_asked_for_while_paused_does_not_start_again(coach, clock, speaker):
    """A review: after a pause the runner's step fell back to the welcome, and "let's do
    the other knee" started the whole stretch again."""
    talk(coach, "start the stretch")
    run_until_said(coach, clock, speaker, "Now the right knee, round 1 of 2.")
    run_for(coach, clock, 0.5)
    talk(coach, "pause")
    run_for(coach, clock, 4)
    talk(coach, "let's do the other knee")
    run_for(coach, clock, 20)
    said = speaker.texts()
    assert said.count(coach.runner.timeline.cues[0].say) == 1  # the welcome, once
    assert "Now the left knee, round 1 of 2." in said
