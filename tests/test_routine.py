"""Routines: loading, validation, the timeline, the runner's controls on a fake clock, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fakes import ClockSpeaker, FakeClock

from voice_coach import catalogue, routine
from voice_coach.cli import main
from voice_coach.errors import CatalogueError, UsageError
from voice_coach.routine import Cue, RoutineRunner, build_timeline, load_routine

NAME = "knee-to-chest"
SEED_HOLD = (10.0, 15.0)
"""The seed article's hold: "hold it for 10 to 15 seconds"."""


def words(text: str) -> float:
    """A deterministic speech estimate: 0.4 s per word (the ClockSpeaker's default)."""
    return 0.4 * len(text.split())


@pytest.fixture(scope="module")
def knee() -> routine.Routine:
    return load_routine(NAME)


def hold_text(r: routine.Routine) -> str:
    return next(c.say for s in r.steps for c in s.cues if c.wait == "hold")


def release_text(r: routine.Routine) -> str:
    return next(s.cues[0].say for s in r.steps if s.id == "release")


def line(key: str, **fields: object) -> str:
    return catalogue.default().line(key, **fields)


def run_until(runner: RoutineRunner, clock: FakeClock, t: float) -> list[Cue]:
    """Advance the fake clock to ``t`` like the real-time driver: to each due time, or by
    :data:`routine.POLL_SECONDS` while paused; ``advance`` is called at every stop."""
    said: list[Cue] = []
    while clock.now() < t or (runner.next_due() or t + 1) <= t:
        due = runner.next_due()
        if due is None:
            clock.set(min(t, clock.now() + routine.POLL_SECONDS))
        else:
            clock.set(min(t, max(due, clock.now())))
        said += runner.advance(clock.now())
        if runner.done:
            break
    return said


def run_to_end(runner: RoutineRunner, clock: FakeClock) -> list[Cue]:
    said: list[Cue] = []
    for _ in range(100):
        if runner.done:
            return said
        said += run_until(runner, clock, clock.now() + 60)
    raise AssertionError("the routine did not finish (paused?)")


def make_runner(r: routine.Routine, **kw: object) -> tuple[RoutineRunner, FakeClock, ClockSpeaker]:
    clock = FakeClock()
    speaker = ClockSpeaker(clock)
    timeline = build_timeline(r, estimate=speaker.prepare, **kw)  # type: ignore[arg-type]
    return RoutineRunner(timeline, speaker, clock), clock, speaker


def into_first_hold(
    r: routine.Routine, seconds: float
) -> tuple[RoutineRunner, FakeClock, ClockSpeaker, float]:
    """A runner ``seconds`` into its first hold, and the clock time that hold is planned to
    end."""
    runner, clock, speaker = make_runner(r)
    hold = runner.timeline.holds[0]
    end = clock.now() + hold.end
    run_until(runner, clock, clock.now() + hold.start + seconds)
    return runner, clock, speaker, end


def release_time(runner: RoutineRunner, said: list[Cue], r: routine.Routine) -> float:
    """When the first release among the cues said was planned."""
    return runner.planned_time(next(c for c in said if c.say == release_text(r)))


# -- loading -----------------------------------------------------------------------------------


def test_knee_to_chest_defaults_follow_the_seed(knee: routine.Routine) -> None:
    s = knee.settings
    assert SEED_HOLD[0] <= s.hold_seconds <= SEED_HOLD[1]
    assert s.hold_range[0] <= s.hold_seconds <= s.hold_range[1]
    assert s.sides == ("right", "left")
    assert s.count == "last"
    assert routine.routine_names() == sorted(routine.routine_names())
    assert NAME in routine.routine_names()


def test_unknown_routine_is_a_usage_error_listing_names() -> None:
    with pytest.raises(UsageError, match=f"valid routines: .*{NAME}"):
        load_routine("knee-to-nose")


def copy_routine(tmp_path: Path, text: str, name: str = NAME) -> Path:
    folder = tmp_path / "routines"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return tmp_path


def knee_text() -> str:
    return (routine.routines_dir() / f"{NAME}.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "entry", "problem"),
    [
        ('kind = "instruction", wait = "hold"', 'kind = "instruction", wait = 2', "steps", "hold"),
        ('kind = "transition", wait = 1 }', 'kind = "shout", wait = 1 }', "welcome", "'kind'"),
        ('wait = "rest"', 'wait = "forever"', "rest", "'wait'"),
        ("round {rep} of {reps}", "round {rep} of {total}", "ready", "unknown field"),
        ("round {rep} of {reps}", "round {rep} of {reps!r}", "ready", "a field is a bare"),
        ('say_one = "Now the {side} knee."', 'say_one = "Now the {knee}."', "ready", "say_one"),
        ('say_one = "Now the {side} knee."', 'say_one = " "', "ready", "non-empty"),
        ('name = "knee-to-chest"', 'name = "knees"', "name", "file name"),
        ("hold_seconds = 12", "hold_seconds = 90", "hold_seconds", "from 5 to 15"),
        ("reps_range = [1, 10]", "reps_range = [3, 1]", "reps_range", "[min, max]"),
        ('sides = ["right", "left"]', 'sides = ["up"]', "sides", "left"),
        ('count = "last"', 'count = "odd"', "count", "must be one of"),
    ],
)
def test_broken_routine_file_names_file_entry_and_problem(
    tmp_path: Path, old: str, new: str, entry: str, problem: str
) -> None:
    assert old in knee_text()
    root = copy_routine(tmp_path, knee_text().replace(old, new, 1))
    with pytest.raises(CatalogueError) as info:
        load_routine(NAME, root)
    message = str(info.value)
    assert f"{NAME}.toml" in message
    assert f"entry '{entry}'" in message
    assert problem in message


def test_invalid_toml_is_a_catalogue_error(tmp_path: Path) -> None:
    root = copy_routine(tmp_path, "name = \n")
    with pytest.raises(CatalogueError, match="not valid TOML"):
        load_routine(NAME, root)


SIDELESS = """
name = "breathing"
title = "Slow breaths"
[settings]
hold_seconds = 6
hold_range = [3, 10]
reps = 3
reps_range = [1, 5]
rest_seconds = 2
sides = []
count = "every"
[[steps]]
id = "in"
when = "each_rep"
cues = [
  { say = "Breathe in, round {rep} of {reps}.", kind = "instruction", wait = "hold" },
  { say = "And out.", kind = "instruction", wait = 1 },
]
[[steps]]
id = "pause"
when = "between_reps"
cues = [{ say = "Rest.", kind = "transition", wait = "rest" }]
"""


def test_a_new_routine_needs_no_code(tmp_path: Path) -> None:
    root = copy_routine(tmp_path, SIDELESS, "breathing")
    shutil.copy(routine.routines_dir() / f"{NAME}.toml", tmp_path / "routines")
    assert routine.routine_names(root) == ["breathing", NAME]
    r = load_routine("breathing", root)
    timeline = build_timeline(r, estimate=words)
    assert [c.say for c in timeline.cues if c.kind == "instruction"][::2] == [
        f"Breathe in, round {n} of 3." for n in (1, 2, 3)
    ]
    assert len(timeline.holds) == 3
    with pytest.raises(UsageError, match="no sides"):
        build_timeline(r, side="left", estimate=words)


# -- timeline ----------------------------------------------------------------------------------


def check_holds(timeline: routine.Timeline, r: routine.Routine, low: float, high: float) -> None:
    """Each hold cue is followed by its counts, one second apart, then by the release cue."""
    cues = list(timeline.cues)
    starts = [i for i, c in enumerate(cues) if c.say == hold_text(r)]
    assert starts and len(starts) == len(timeline.holds or starts)
    for i in starts:
        after = cues[i + 1 :]
        counts = [c for c in after[: next(j for j, c in enumerate(after) if c.kind != "count")]]
        release = after[len(counts)]
        assert release.say == release_text(r)
        assert low <= release.at - cues[i].at <= high
        assert [c.say for c in counts] == [str(n) for n in range(len(counts), 0, -1)]
        times = [c.at for c in counts] + [release.at]
        assert all(b - a == pytest.approx(1.0) for a, b in zip(times, times[1:], strict=False))
        assert not counts or counts[0].at >= cues[i].at + cues[i].duration


def test_default_timeline(knee: routine.Routine) -> None:
    timeline = build_timeline(knee, estimate=words)
    text = " ".join(c.say for c in timeline.cues)
    assert "right knee" in text and "left knee" in text
    check_holds(timeline, knee, *SEED_HOLD)
    assert len(timeline.holds) == knee.settings.reps * 2
    assert sum(c.kind == "count" for c in timeline.cues) == 5 * len(timeline.holds)
    last = timeline.cues[-1]
    assert timeline.total_seconds == pytest.approx(last.at + last.duration)
    ats = [c.at for c in timeline.cues]
    assert ats == sorted(ats)
    for cue, nxt in zip(timeline.cues, timeline.cues[1:], strict=False):
        assert cue.at + cue.duration <= nxt.at + 1e-9
    assert {c.kind for c in timeline.cues} == {"instruction", "count", "transition"}


def test_options_change_the_timeline(knee: routine.Routine) -> None:
    timeline = build_timeline(knee, hold=15, reps=3, side="left", estimate=words)
    text = " ".join(c.say for c in timeline.cues)
    assert "left knee" in text and "right knee" not in text
    assert len(timeline.holds) == 3
    check_holds(timeline, knee, 15, 15)
    assert "round 3 of 3" in text


def test_every_second_count(knee: routine.Routine) -> None:
    timeline = build_timeline(knee, count_mode="every", estimate=words)
    check_holds(timeline, knee, 12, 12)
    spoken = words(hold_text(knee))
    counts = [c for c in timeline.cues if c.kind == "count" and c.step == timeline.holds[0].step]
    assert len(counts) == int(12 - spoken)


def test_out_of_bounds_options_name_the_range(knee: routine.Routine) -> None:
    with pytest.raises(UsageError, match="allowed 5 to 15 seconds"):
        build_timeline(knee, hold=4, estimate=words)
    with pytest.raises(UsageError, match="allowed 1 to 10"):
        build_timeline(knee, reps=11, estimate=words)
    with pytest.raises(UsageError, match="side 'up' unknown"):
        build_timeline(knee, side="up", estimate=words)


def test_a_long_cue_is_cut_to_the_gap_before_the_next(knee: routine.Routine) -> None:
    long = {hold_text(knee): 30.0}
    clock = FakeClock()
    speaker = ClockSpeaker(clock, durations=long)
    timeline = build_timeline(knee, estimate=speaker.prepare)
    hold_cue = next(c for c in timeline.cues if c.say == hold_text(knee))
    nxt = timeline.cues[timeline.cues.index(hold_cue) + 1]
    assert nxt.say == release_text(knee)  # no count fits after a 30 s sentence
    assert nxt.at - hold_cue.at == 12
    assert hold_cue.duration == pytest.approx(12.0)
    runner = RoutineRunner(timeline, speaker, clock)
    run_to_end(runner, clock)
    max_seconds = [m for _, text, m in speaker.said if text == hold_text(knee)]
    assert max_seconds and all(m == pytest.approx(12.0) for m in max_seconds)


def test_cap_durations_only_shortens_overlaps() -> None:
    cues = [
        Cue(0, 5, 0, "a", "instruction"),
        Cue(2, 1, 0, "b", "count"),
        Cue(4, 1, 0, "c", "count"),
    ]
    capped = routine.cap_durations(cues)
    assert [c.duration for c in capped] == [2, 1, 1]


# -- runner ------------------------------------------------------------------------------------


def test_runner_says_every_cue_on_time_with_the_gap_as_limit(knee: routine.Routine) -> None:
    runner, clock, speaker = make_runner(knee)
    start = clock.now()
    run_to_end(runner, clock)
    assert runner.done and not runner.stopped
    cues = runner.timeline.cues
    assert speaker.texts() == [c.say for c in cues]
    assert [t - start for t, _, _ in speaker.said] == pytest.approx([c.at for c in cues])
    gaps = [b.at - a.at for a, b in zip(cues, cues[1:], strict=False)] + [None]
    assert [m for _, _, m in speaker.said] == gaps


def hold_cues(runner: RoutineRunner, knee: routine.Routine) -> list[Cue]:
    return [c for c in runner.timeline.cues if c.say == hold_text(knee)]


def test_pause_outside_a_hold_then_resume_shifts_by_the_pause(knee: routine.Routine) -> None:
    runner, clock, speaker = make_runner(knee)
    start = clock.now()
    first_hold = runner.timeline.holds[0]
    planned_end = start + first_hold.end
    run_until(runner, clock, start + first_hold.start - 1.0)
    assert runner.pause() == line("routine_paused")
    assert runner.paused and runner.next_due() is None
    assert run_until(runner, clock, clock.now() + 7) == []
    assert runner.pause() == line("routine_paused")  # pausing twice does not add time
    assert runner.resume() == line("routine_resumed")
    said = run_to_end(runner, clock)
    release = next(c for c in said if c.say == release_text(knee))
    assert runner.planned_time(release) == pytest.approx(planned_end + 7)
    releases = [t for t, text, _ in speaker.said if text == release_text(knee)]
    assert releases[0] == pytest.approx(planned_end + 7)
    counts = [text for _, text, _ in speaker.said if text.isdigit()]
    assert counts == ["5", "4", "3", "2", "1"] * len(runner.timeline.holds)
    assert runner.resume() == line("routine_status_done")


def test_resumed_after_a_pause_in_a_hold_the_rep_starts_again(knee: routine.Routine) -> None:
    """Paused in a hold, the person was told to rest: carrying on draws the knee up again and
    holds it for the whole hold, rather than counting down a hold nobody is holding."""
    runner, clock, speaker = make_runner(knee)
    start = clock.now()
    first_hold = runner.timeline.holds[0]
    run_until(runner, clock, start + first_hold.start + 4.5)
    rep = [c.say for c in runner.timeline.cues if c.at < first_hold.start]
    rep = rep[next(i for i, text in enumerate(rep) if text.startswith("Now the right knee")) :]
    assert runner.pause() == line("routine_paused")
    assert runner.repeat() == line("routine_paused")  # not "hold it there" after "rest"
    clock.advance(20)
    resumed = clock.now()
    assert runner.resume() == line("routine_resumed_hold")
    said = run_to_end(runner, clock)
    assert [c.say for c in said[: len(rep) + 1]] == [*rep, hold_text(knee)]
    hold_cue, release = said[len(rep)], next(c for c in said if c.say == release_text(knee))
    assert runner.planned_time(hold_cue) > resumed
    assert runner.planned_time(release) - runner.planned_time(hold_cue) == pytest.approx(
        first_hold.end - first_hold.start
    )
    counts = [text for _, text, _ in speaker.said if text.isdigit()]
    assert counts == ["5", "4", "3", "2", "1"] * len(runner.timeline.holds)


def test_paused_in_a_hold_how_long_left_counts_the_round_again(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    first_hold = runner.timeline.holds[0]
    run_until(runner, clock, clock.now() + first_hold.start + 4.5)
    runner.pause()
    start = next(c.at for c in runner.timeline.cues if c.step == first_hold.step - 1)
    left = routine.spoken_duration(runner.timeline.total_seconds - start)
    every = routine.holds_ahead(len(runner.timeline.holds))
    expected = line("routine_status", total=left, ahead=every)  # not "8 seconds left in this hold"
    assert runner.status() == f"{line('routine_status_paused')} {expected}"
    runner.resume()
    assert runner.repeat() == line("routine_resumed_hold")  # not "hold it there"
    said = run_until(runner, clock, runner.next_due() + 0.1)
    assert said and runner.repeat() == runner.last_instruction.say != hold_text(knee)


def test_pause_cuts_the_sentence_being_said(knee: routine.Routine) -> None:
    runner, clock, speaker = make_runner(knee)
    run_until(runner, clock, clock.now() + 0.5)
    assert speaker.is_speaking()
    runner.pause()
    assert not speaker.is_speaking() and speaker.stops == 1
    assert runner.resume() == line("routine_resumed")
    assert runner.resume() == line("routine_not_paused")


def test_stop_ends_the_routine(knee: routine.Routine) -> None:
    runner, clock, speaker = make_runner(knee)
    run_until(runner, clock, clock.now() + 30)
    count = len(speaker.said)
    assert runner.stop() == line("routine_stopped")
    assert runner.done and runner.stopped and runner.next_due() is None
    assert run_until(runner, clock, clock.now() + 500) == []
    assert len(speaker.said) == count
    assert runner.stop() is None
    assert runner.status() == line("routine_status_done")


def test_pain_and_red_flag_stop(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, clock.now() + 40)
    assert runner.pain() == line("routine_pain")
    assert runner.stopped
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, clock.now() + 40)
    assert runner.red_flag() is None
    assert runner.stopped and runner.next_due() is None


def test_repeat_with_room_does_not_shift(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    start = clock.now()
    hold = runner.timeline.holds[0]
    run_until(runner, clock, start + hold.start + 3.5)
    due = runner.next_due()
    assert runner.repeat() == hold_text(knee)
    assert runner.next_due() == due


def test_repeat_near_the_next_cue_shifts_just_enough(knee: routine.Routine) -> None:
    runner, clock, speaker = make_runner(knee)
    start = clock.now()
    first = runner.timeline.cues[0]
    run_until(runner, clock, start + runner.timeline.cues[1].at - 0.5)
    due = runner.next_due()
    assert due is not None
    assert runner.repeat() == first.say
    needed = speaker.prepare(first.say) + routine.ROOM_MARGIN
    assert runner.next_due() == pytest.approx(clock.now() + needed)
    assert runner.next_due() - due == pytest.approx(needed - 0.5)  # type: ignore[operator]
    runner.speak(first.say)
    assert speaker.said[-1][1:] == (first.say, pytest.approx(needed))


def test_skip_in_a_hold_goes_to_the_release(knee: routine.Routine) -> None:
    runner, clock, speaker = make_runner(knee)
    hold = runner.timeline.holds[0]
    run_until(runner, clock, clock.now() + hold.start + 2)
    assert runner.skip() is None
    assert runner.next_due() == clock.now()
    said = runner.advance(clock.now())
    assert [c.say for c in said] == [release_text(knee)]
    run_to_end(runner, clock)
    counts = [text for _, text, _ in speaker.said if text.isdigit()]
    assert len(counts) == 5 * (len(runner.timeline.holds) - 1)


def test_skip_in_the_last_step_finishes(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, runner.planned_time(runner.timeline.cues[-1]))
    assert runner.skip() == line("routine_skip_last")
    assert runner.done and runner.stopped


@pytest.mark.parametrize("words", [5, 26])  # ends within the hold; runs past its end
def test_an_answer_in_a_hold_is_said_over_the_count_and_moves_only_what_runs_past_it(
    knee: routine.Routine, words: int
) -> None:
    runner, clock, speaker, end = into_first_hold(knee, 2)
    answer = " ".join(["word"] * words)
    runner.speak(answer)
    assert not runner.paused  # the hold goes on under the answer
    answer_end = clock.now() + speaker.prepare(answer) + routine.ROOM_MARGIN
    said = run_until(runner, clock, clock.now() + 30)
    release = release_time(runner, said, knee)
    assert release == pytest.approx(max(end, answer_end))
    before = [c for c in said if runner.planned_time(c) < release]
    assert all(runner.planned_time(c) >= answer_end for c in before)  # none talked over


def test_an_answer_longer_than_the_longest_hold_is_said_after_the_release_at_once(
    knee: routine.Routine,
) -> None:
    runner, clock, speaker, _ = into_first_hold(knee, 6)  # past the shortest hold (5 s)
    hold = runner.timeline.holds[0]
    answer = " ".join(["word"] * 40)  # 16 s: the hold would last 22 s, longer than 15
    assert 6 + speaker.prepare(answer) > knee.settings.hold_range[1]
    runner.speak(answer)
    assert speaker.said[-1][1] == f"{release_text(knee)} {answer}"
    assert runner.paused and not runner.held  # the rest waits for the answer
    said = run_until(runner, clock, clock.now() + 30)
    assert release_text(knee) not in [c.say for c in said]  # not said twice
    assert said and said[0].step > hold.step


def test_status_while_an_answer_holds_the_routine_does_not_say_paused(
    knee: routine.Routine,
) -> None:
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, clock.now() + 1)
    runner.interject("A long answer to a question, said over the stretch.")
    assert runner.paused and not runner.held
    assert not runner.status().startswith(line("routine_status_paused"))


def test_status_outside_a_hold(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, clock.now() + 1)
    runner.pause()
    left = runner.timeline.total_seconds - 1
    every = routine.holds_ahead(len(runner.timeline.holds))
    expected = line("routine_status", total=routine.spoken_duration(left), ahead=every)
    assert runner.status() == f"{line('routine_status_paused')} {expected}"
    clock.advance(30)
    assert runner.status() == f"{line('routine_status_paused')} {expected}"
    runner.resume()
    rest = next(s for s in runner.timeline.steps if s.template.id == "rest")
    # the first cue, cut off by the pause, is said again: the timeline is back at 0 s
    run_until(runner, clock, clock.now() + rest.start + 1)
    due = runner.next_due()
    left = runner.timeline.total_seconds - (rest.start + 1)
    ahead = routine.holds_ahead(sum(h.start > rest.start + 1 for h in runner.timeline.holds))
    assert runner.status() == line(
        "routine_status", total=routine.spoken_duration(left), ahead=ahead
    )
    assert runner.next_due() == due  # a rest has room for the answer


def test_status_in_a_hold(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    hold = runner.timeline.holds[1]
    run_until(runner, clock, clock.now() + hold.start + 5)
    ahead = routine.holds_ahead(len(runner.timeline.holds) - 2)  # the first two have begun
    assert runner.status() == line("routine_status_hold", hold="7 seconds", ahead=ahead)


def test_status_late_in_a_hold_talks_over_the_count_and_keeps_the_hold_length(
    knee: routine.Routine,
) -> None:
    runner, clock, speaker, end = into_first_hold(knee, 4)  # 8 s left: "5" is due in 3 s
    text = runner.status()
    runner.speak(text)
    said = run_until(runner, clock, end + 1)
    assert release_time(runner, said, knee) == pytest.approx(end)  # the hold is not longer
    counts = [c.say for c in said if c.kind == "count"]
    assert counts and "5" not in counts  # talked over, not said late
    assert speaker.said[-len(said) - 1][1] == text


def test_holds_ahead_counts_in_words() -> None:
    assert routine.holds_ahead(0) == line("routine_holds_ahead_none")
    assert routine.holds_ahead(1) == line("routine_holds_ahead_one")
    assert routine.holds_ahead(3) == line("routine_holds_ahead", n=3)


def test_spoken_duration() -> None:
    d = routine.spoken_duration
    assert d(1) == "1 second"
    assert d(12.2) == "13 seconds"
    assert d(60) == "1 minute"
    assert d(185) == "3 minutes and 5 seconds"
    assert d(3600 + 120 + 5) == "1 hour and 2 minutes"
    assert d(0) == "0 seconds"


def test_adjust_hold_applies_from_the_next_step(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, clock.now() + runner.timeline.steps[1].start + 0.1)  # ready, rep 1
    assert runner.adjust({"seconds": 15}) == line("routine_adjust_hold", seconds=15)
    check_holds(runner.timeline, knee, 15, 15)
    assert "Hold it" in hold_text(knee)
    run_until(runner, clock, clock.now() + runner.timeline.holds[0].start)  # into the hold
    assert runner.adjust({"seconds": 8}) == line("routine_adjust_hold", seconds=8)
    holds = [round(h.end - h.start) for h in runner.timeline.holds]
    assert holds == [15, 8, 8, 8]
    run_to_end(runner, clock)
    assert runner.done and not runner.stopped


def test_adjust_out_of_bounds_is_refused_politely(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, clock.now() + 1)
    before = runner.timeline
    assert runner.adjust({"seconds": 90}) == line("routine_hold_range", low=5, high=15)
    assert runner.adjust({"reps": 0}) == line("routine_reps_range", low=1, high=10)
    assert runner.adjust({"side": "middle"}) == line("routine_side_options")
    assert runner.adjust({"seconds": 15, "reps": 40}) == line("routine_reps_range", low=1, high=10)
    assert runner.adjust({}) == line("routine_adjust_what")
    assert runner.timeline is before


def test_adjust_reps_and_side(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, clock.now() + runner.timeline.steps[1].start + 0.1)  # right, rep 1
    assert runner.adjust({"reps": 3}) == line("routine_adjust_reps", reps=3)
    sides = [s.side for s in runner.timeline.steps if s.template.id == "hold"]
    assert sides == ["right"] * 3 + ["left"] * 3
    assert runner.adjust({"side": "left"}) == line("routine_adjust_side_one", side="left")
    sides = [s.side for s in runner.timeline.steps if s.template.id == "hold"]
    assert sides == ["left"] * 3  # the current step (right, getting ready) is kept, no hold
    run_to_end(runner, clock)
    assert runner.done and not runner.stopped
    check_holds(runner.timeline, knee, *SEED_HOLD)


def switch_side_at(knee: routine.Routine, when: float) -> tuple[list[str], RoutineRunner]:
    """Start, say "left side only" ``when`` seconds into the first right hold (negative:
    before it); the sentences said afterwards up to the first left hold."""
    runner, clock, _ = make_runner(knee)
    start = clock.now()
    run_until(runner, clock, start + runner.timeline.holds[0].start + when)
    assert runner.adjust({"side": "left"}) == line("routine_adjust_side_one", side="left")
    said = run_until(runner, clock, start + runner.timeline.holds[0].start + 0.1)
    assert [s.side for s in runner.timeline.steps if s.template.id == "hold"][-1] == "left"
    return [c.say for c in said], runner


@pytest.mark.parametrize("when", [3.0, -6.0])  # in the hold; while taking the knee
def test_leaving_a_side_in_its_hold_or_drawing_up_releases_it_first(
    knee: routine.Routine, when: float
) -> None:
    said, runner = switch_side_at(knee, when)
    switch = next(c.say for s in knee.steps if s.id == "switch" for c in s.cues)
    assert said[:3] == [release_text(knee), switch, "Now the left knee, round 1 of 2."]
    assert "Gently draw it up toward your chest." not in said[:3]  # the rest is not said
    assert not any(text.isdigit() for text in said)  # the right hold is not counted
    holds = [runner.timeline.steps[h.step].side for h in runner.timeline.holds]
    assert holds == ["left", "left"]  # "how long left" knows of no right hold any more


def test_leaving_a_side_before_any_instruction_goes_straight_to_the_other(
    knee: routine.Routine,
) -> None:
    runner, clock, _ = make_runner(knee)
    run_until(runner, clock, clock.now() + runner.timeline.steps[1].start + 0.1)  # "Now the right"
    runner.adjust({"side": "left"})
    said = [c.say for c in run_until(runner, clock, clock.now() + 8)]
    assert said[:2] == ["Now the left knee, round 1 of 2.", "Take your left knee in both hands."]
    switch = next(c.say for s in knee.steps if s.id == "switch" for c in s.cues)
    assert switch not in said  # nothing was done on the right: no rest, no "good"


def test_adjust_fewer_reps_moves_to_the_other_side(knee: routine.Routine) -> None:
    runner, clock, _ = make_runner(knee, reps=3)
    run_until(runner, clock, clock.now() + runner.timeline.holds[1].start + 1)  # right, rep 2
    assert runner.adjust({"reps": 1}) == line("routine_adjust_reps_one")
    sides = [s.side for s in runner.timeline.steps if s.template.id == "hold"]
    assert sides == ["right", "right", "left"]
    text = [c.say for c in runner.timeline.cues]
    assert "Now the left knee." in text


def test_adjust_before_the_start_rebuilds_everything(knee: routine.Routine) -> None:
    runner, _, _ = make_runner(knee)
    assert runner.adjust({"side": "right", "reps": 1}) == " ".join(
        [line("routine_adjust_reps_one"), line("routine_adjust_side_one", side="right")]
    )
    assert [s.side for s in runner.timeline.steps if s.template.id == "hold"] == ["right"]


def test_an_alarm_in_a_hold_is_said_over_the_count_and_keeps_the_hold_length(
    knee: routine.Routine,
) -> None:
    runner, clock, speaker, end = into_first_hold(knee, 2)
    runner.alarm("The ice timer is done.")
    assert not runner.paused and speaker.said[-1][1] == "The ice timer is done."
    said = run_until(runner, clock, end + 1)
    assert release_time(runner, said, knee) == pytest.approx(end)


def test_alarm_mid_routine_pauses_the_routine(knee: routine.Routine) -> None:
    runner, clock, speaker = make_runner(knee)
    start = clock.now()
    hold = runner.timeline.holds[0]
    run_until(runner, clock, start + hold.start + 3)
    alarm = "The ice timer is done."
    runner.interject(alarm)
    assert runner.paused and speaker.said[-1][1] == alarm
    length = speaker.prepare(alarm)
    assert run_until(runner, clock, clock.now() + length - 0.1) == []  # nothing over the alarm
    run_to_end(runner, clock)
    release = [t for t, text, _ in speaker.said if text == release_text(knee)][0]
    assert release - (start + hold.end) == pytest.approx(length, abs=routine.POLL_SECONDS)
    counts = [text for _, text, _ in speaker.said if text.isdigit()]
    assert counts == ["5", "4", "3", "2", "1"] * len(runner.timeline.holds)


def test_run_realtime_on_a_fake_clock(knee: routine.Routine) -> None:
    runner, clock, speaker = make_runner(knee, reps=1)
    late: list[float] = []
    routine.run_realtime(
        runner, clock, on_cue=lambda c, planned, actual: late.append(actual - planned)
    )
    assert runner.done and speaker.texts() == [c.say for c in runner.timeline.cues]
    assert late and max(late) == pytest.approx(0.0, abs=1e-9)
    assert not speaker.is_speaking()


def test_run_realtime_stops_on_the_event(knee: routine.Routine) -> None:
    import threading

    runner, clock, speaker = make_runner(knee)
    event = threading.Event()

    def on_cue(cue: Cue, _p: float, _a: float) -> None:
        if cue.kind == "count":
            event.set()

    routine.run_realtime(runner, clock, event, on_cue=on_cue)
    assert not runner.done and speaker.said[-1][1] == "5"


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_dry_run_json(capsys: pytest.CaptureFixture[str], knee: routine.Routine) -> None:
    assert main(["routine", NAME, "--dry-run", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"routine", "total_seconds", "cues"}
    assert data["routine"] == NAME
    assert all(set(c) == {"at", "duration", "step", "say", "kind"} for c in data["cues"])
    cues = [Cue(**c) for c in data["cues"]]
    timeline = routine.Timeline(NAME, tuple(cues), data["total_seconds"])
    check_holds(timeline, knee, *SEED_HOLD)
    assert sum(c.say == hold_text(knee) for c in cues) == 2 * knee.settings.reps
    text = " ".join(c.say for c in cues)
    assert "right knee" in text and "left knee" in text
    assert data["total_seconds"] == pytest.approx(cues[-1].at + cues[-1].duration, abs=0.002)
    assert {c.kind for c in cues} == {"instruction", "count", "transition"}


def test_cli_dry_run_text_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routine", NAME, "--dry-run", "--side", "right", "--reps", "1"]) == 0
    out = capsys.readouterr().out
    assert "right knee" in out and "left knee" not in out and out.rstrip().endswith("end")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["routine", "toes", "--dry-run"], f"valid routines: {NAME}"),
        (["routine", NAME, "--dry-run", "--hold", "3"], "allowed 5 to 15 seconds"),
        (["routine", NAME, "--dry-run", "--reps", "12"], "allowed 1 to 10"),
        (["routine", NAME, "--json"], "--json needs --dry-run"),
    ],
)
def test_cli_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_cli_routines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routines", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == routine.routine_names()
    assert rows[0]["hold_range"] == [5, 15]
    assert main(["routines"]) == 0
    assert NAME in capsys.readouterr().out


def test_cli_quiet_run_prints_cues_in_time(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--quiet runs the real driver (on a fake clock here) and prints each cue with its time."""
    import voice_coach.clock

    monkeypatch.setattr(voice_coach.clock, "MonotonicClock", FakeClock)
    argv = ["routine", NAME, "--quiet", "--reps", "1", "--side", "left", "--hold", "5"]
    assert main(argv) == 0
    rows = capsys.readouterr().out.splitlines()
    timeline = build_timeline(load_routine(NAME), hold=5, reps=1, side="left")
    assert [row.split(None, 2)[2] for row in rows] == [c.say for c in timeline.cues]
    stamps = [float(row.split("s", 1)[0]) for row in rows]
    assert stamps == pytest.approx([c.at for c in timeline.cues], abs=0.01)


def test_speak_cuts_what_plays_and_fits_the_reply_before_the_next_cue(
    knee: routine.Routine,
) -> None:
    runner, clock, speaker = make_runner(knee)
    run_until(runner, clock, clock.now() + 0.5)
    assert speaker.is_speaking()
    due = runner.next_due()
    assert due is not None
    runner.speak("Yes.")
    assert speaker.stops == 1
    assert speaker.said[-1] == (clock.now(), "Yes.", pytest.approx(due - clock.now()))
    runner.pause()
    runner.speak(line("routine_paused"))
    assert speaker.said[-1][2] is None  # paused: nothing to make room for
    runner.speak(None)
    assert len(speaker.said) == 3


def test_a_reply_too_long_for_the_gap_pauses_the_routine_until_said(
    knee: routine.Routine,
) -> None:
    """An answer to a question asked mid-stretch is said whole, not cut at the next cue."""
    runner, clock, speaker = make_runner(knee)
    run_until(runner, clock, clock.now() + 0.5)
    answer = catalogue.default().intent("ice_heat").answer
    runner.speak(answer)
    assert speaker.said[-1][1:] == (answer, None) and runner.paused
    clock.advance(speaker.prepare(answer) / 2)
    runner.advance(clock.now())
    assert runner.paused  # still answering: the cues wait
    clock.advance(speaker.prepare(answer) / 2 + 1)
    runner.advance(clock.now())
    assert not runner.paused


def test_one_round_a_side_never_says_round_1_of_1(knee: routine.Routine) -> None:
    """A cue's ``say_one`` is said instead when each side has one round."""
    one = [c.say for c in make_runner(knee, reps=1)[0].timeline.cues]
    two = [c.say for c in make_runner(knee, reps=2)[0].timeline.cues]
    assert "Now the right knee." in one and "Now the left knee." in one
    assert not [s for s in one if "round" in s]
    assert "Now the right knee, round 2 of 2." in two and "Now the right knee." not in two


def _hold_spans(speaker: ClockSpeaker, knee: routine.Routine) -> list[float]:
    """Seconds from each hold cue to the release said after it."""
    hold = next(s.cues[0].say for s in knee.steps if s.id == "hold")
    starts = [t for t, text, _ in speaker.said if text == hold]
    ends = [t for t, text, _ in speaker.said if text.startswith(release_text(knee))]
    return [min(e for e in ends if e > s) - s for s in starts if ends and ends[-1] > s]


def test_two_answers_too_long_for_the_hold_asked_early_are_both_said_after_it(
    knee: routine.Routine,
) -> None:
    """A review: the second answer replaced the first, which was never said."""
    runner, clock, speaker, _ = into_first_hold(knee, 1)
    first, second = "first " + "word " * 40, "second " + "word " * 40
    runner.speak(first)
    clock.advance(1)
    runner.speak(second)
    run_until(runner, clock, clock.now() + 60)
    said = " ".join(text for _, text, _ in speaker.said)
    assert said.count(first.strip()) == 1 and said.count(second.strip()) == 1
    assert _hold_spans(speaker, knee)[0] == pytest.approx(knee.settings.hold_seconds, abs=0.01)


def test_replies_in_a_hold_never_make_it_longer_than_the_longest_hold(
    knee: routine.Routine,
) -> None:
    """A review: a reply moved the timeline, and the limit was measured from it (17 s)."""
    runner, clock, speaker, _ = into_first_hold(knee, 10)
    runner.speak("a " * 10)
    clock.advance(3)
    runner.advance(clock.now())
    runner.speak("b " * 9)
    run_until(runner, clock, clock.now() + 40)
    assert all(span <= knee.settings.hold_range[1] + 0.01 for span in _hold_spans(speaker, knee))


def test_after_an_early_release_the_hold_is_over(knee: routine.Routine) -> None:
    """A review: status said "0 seconds left in this hold", and a pause then restarted the
    round just released."""
    runner, clock, speaker, _ = into_first_hold(knee, 6)
    runner.speak("word " * 40)
    status = runner.status()
    assert status.startswith(line("routine_status", total="", ahead="")[:6])  # not the hold's
    run_until(runner, clock, clock.now() + 17)
    runner.pause()
    clock.advance(3)
    assert runner.resume() == line("routine_resumed")


def test_an_instruction_said_again_after_a_pause_keeps_its_gap_to_the_next(
    knee: routine.Routine,
) -> None:
    runner, clock, speaker = make_runner(knee)
    take = next(c for c in runner.timeline.cues if c.say.startswith("Take your right knee"))
    after = runner.timeline.cues[runner.timeline.cues.index(take) + 1]
    run_until(runner, clock, clock.now() + take.at + 1)
    runner.pause()
    clock.advance(3)
    runner.resume()
    run_until(runner, clock, clock.now() + 10)
    times = {text: t for t, text, _ in speaker.said}
    assert times[after.say] - times[take.say] == pytest.approx(after.at - take.at)


def test_skip_while_paused_in_the_hold_goes_to_the_release(knee: routine.Routine) -> None:
    runner, clock, speaker, _ = into_first_hold(knee, 1)  # "hold it there" still being said
    runner.pause()
    runner.skip()
    said = run_until(runner, clock, clock.now() + 1)
    assert said[0].say == release_text(knee)


def test_repeat_while_the_release_before_the_other_side_is_said_says_it(
    knee: routine.Routine,
) -> None:
    runner, clock, speaker, _ = into_first_hold(knee, 8)
    release = runner.next_side()
    assert release == release_text(knee)
    runner.speak(release)
    assert runner.repeat() == release_text(knee)


def test_an_alarm_over_the_last_cue_is_followed_by_it_again(knee: routine.Routine) -> None:
    """A review: an alarm during "That's the stretch done" cut it, and it was never said."""
    runner, clock, speaker = make_runner(knee)
    last = runner.timeline.cues[-1]
    run_until(runner, clock, clock.now() + last.at + 0.5)
    assert runner.done and speaker.is_speaking()
    runner.alarm("Your ice timer is done.")
    run_until(runner, clock, clock.now() + 10)
    assert [text for _, text, _ in speaker.said].count(last.say) == 2
    assert runner.done
