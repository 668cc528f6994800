"""Guided routines: loaded from ``prompts/routines/*.toml``, laid out as a timeline, run on a clock.

Routine file schema (also at the top of ``prompts/routines/knee-to-chest.toml``):

- ``name`` (the file name without ``.toml``) and ``title``.
- ``[settings]``: ``hold_seconds`` (int, default hold) inside ``hold_range = [min, max]``;
  ``reps`` (per side) inside ``reps_range``; ``rest_seconds`` (0-120); ``sides`` (side words in
  the order "both" does them, ``[]`` for none); ``count`` = ``"last"`` (count down the last
  ``count_last`` seconds of each hold, the default: quiet while the person settles, then a
  countdown to the release) or ``"every"`` (count down every second that fits after the hold
  cue); ``count_say`` (how a number is said, ``"{n}"``). Product settings, not medical advice.
- ``[[steps]]``: ``id``, ``when`` (``start``, ``each_rep``, ``between_reps``, ``between_sides``,
  ``end``) and ``cues``: each ``{say, kind, wait}`` with ``kind`` ``instruction`` or
  ``transition`` and ``wait`` a number (quiet seconds after the sentence), ``"hold"`` (the hold
  starts with this cue; the next cue comes hold seconds after it starts, with the count between)
  or ``"rest"`` (the next cue comes rest seconds after it starts). Sentences may use ``{side}``
  ``{rep}`` ``{reps}`` ``{seconds}`` ``{rest}``. An optional ``say_one`` is said instead of
  ``say`` when each side has one round ("round 1 of 1" is never said).

Timing rule: a cue's speech never delays the next cue. Durations come from an injected
``estimate(text) -> seconds``; a cue that would run past the next cue is cut short (its
``duration`` is capped and the runner says it with ``max_seconds`` = the gap).

The :class:`RoutineRunner` is poll-based (``next_due()`` / ``advance(now)``) so tests drive it
with a fake clock; :func:`run_realtime` drives it on a real clock.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from . import catalogue
from .catalogue import fail, read_toml
from .clock import Clock
from .errors import UsageError

CUE_KINDS = ("instruction", "transition")
TIMELINE_KINDS = ("instruction", "count", "transition")
WHENS = ("start", "each_rep", "between_reps", "between_sides", "end")
COUNT_MODES = ("last", "every")
SIDE_CHOICES = ("left", "right", "both")
TEMPLATE_FIELDS = {"side", "rep", "reps", "seconds", "rest"}
ROOM_MARGIN = 0.4
"""Seconds of quiet kept after a reply the timeline made room for (repeat, status, adjust)."""
TIME_EPSILON = 1e-6
"""Seconds a jump to a cue lands after its time, so the timeline is past it, not at its edge."""
CUT_WAIT = 0.5
"""Longest wait (s) for a cut-off sentence to leave the device before the next one is queued."""
POLL_SECONDS = 0.05
"""How often the real-time driver looks again while paused (to notice an alarm ending)."""

Estimate = Callable[[str], float]


class SpeakerLike(Protocol):
    """The part of :class:`voice_coach.speak.Speaker` the runner uses."""

    def prepare(self, text: str) -> float: ...
    def say(self, text: str, max_seconds: float | None = None) -> None: ...
    def stop(self) -> None: ...
    def is_speaking(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


# -- routine files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CueTemplate:
    """One sentence of a step, before its fields are filled in."""

    say: str
    """Sentence template (fields ``{side}`` ``{rep}`` ``{reps}`` ``{seconds}`` ``{rest}``)."""
    kind: str
    """``instruction`` or ``transition``."""
    wait: float | str
    """Quiet seconds after the sentence, or ``"hold"`` / ``"rest"``."""
    say_one: str | None = None
    """Said instead of ``say`` when each side has one round ("round 1 of 1" is not said)."""

    def text(self, fields: dict[str, Any]) -> str:
        """The sentence with its fields filled in."""
        one = self.say_one is not None and fields.get("reps") == 1
        return (self.say_one if one else self.say).format(**fields)


@dataclass(frozen=True)
class Step:
    """A group of cues that "skip" jumps over as one."""

    id: str
    """Step name, unique in its routine."""
    when: str
    """Where the step goes in a run: one of :data:`WHENS`."""
    cues: tuple[CueTemplate, ...]
    """The step's sentences, in order."""


@dataclass(frozen=True)
class Settings:
    """Pacing of a routine: product settings with conservative defaults, not medical advice."""

    hold_seconds: int
    """Default hold, seconds."""
    hold_range: tuple[int, int]
    """Allowed holds, seconds (inclusive)."""
    reps: int
    """Default repetitions per side."""
    reps_range: tuple[int, int]
    """Allowed repetitions per side (inclusive)."""
    rest_seconds: float
    """Length of a rest step, seconds."""
    sides: tuple[str, ...]
    """Side words in the order "both" does them; empty when the routine has no sides."""
    count: str = "last"
    """Default count mode: ``last`` or ``every``."""
    count_last: int = 5
    """How many final seconds ``last`` counts down."""
    count_say: str = "{n}"
    """How one number is said."""

    @staticmethod
    def from_dict(data: Any, path: Path) -> Settings:
        """Validate the ``[settings]`` table."""
        if not isinstance(data, dict):
            raise fail(path, "settings", "must be a table")
        hold_range = _int_range(data, "hold_range", 1, 600, path)
        reps_range = _int_range(data, "reps_range", 1, 100, path)
        hold = _int_in(data, "hold_seconds", hold_range, path)
        reps = _int_in(data, "reps", reps_range, path)
        rest = data.get("rest_seconds")
        if isinstance(rest, bool) or not isinstance(rest, int | float) or not 0 <= rest <= 120:
            raise fail(path, "rest_seconds", "must be a number of seconds from 0 to 120")
        sides = data.get("sides", [])
        if not isinstance(sides, list) or not all(s in ("left", "right") for s in sides):
            raise fail(path, "sides", "must be a list of 'left'/'right' (or empty)")
        count = data.get("count", "last")
        if count not in COUNT_MODES:
            raise fail(path, "count", f"must be one of {list(COUNT_MODES)}, not {count!r}")
        count_last = data.get("count_last", 5)
        if not isinstance(count_last, int) or not 1 <= count_last <= 10:
            raise fail(path, "count_last", "must be a whole number from 1 to 10")
        count_say = data.get("count_say", "{n}")
        if not isinstance(count_say, str) or _fields(count_say) != {"n"}:
            raise fail(path, "count_say", "must be a string using the field {n} only")
        unknown = set(data) - {f.name for f in Settings.__dataclass_fields__.values()}
        if unknown:
            raise fail(path, "settings", f"unknown key(s) {sorted(unknown)}")
        return Settings(
            hold, hold_range, reps, reps_range, float(rest), tuple(sides), count, count_last,
            count_say,
        )  # fmt: skip


def _int_range(data: dict, key: str, low: int, high: int, path: Path) -> tuple[int, int]:
    value = data.get(key)
    ok = isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)
    if not ok or not low <= value[0] <= value[1] <= high:
        raise fail(path, key, f"must be [min, max], whole numbers from {low} to {high}")
    return value[0], value[1]


def _int_in(data: dict, key: str, bounds: tuple[int, int], path: Path) -> int:
    value = data.get(key)
    if type(value) is not int or not bounds[0] <= value <= bounds[1]:
        raise fail(path, key, f"must be a whole number from {bounds[0]} to {bounds[1]}")
    return value


def _cue_from_dict(data: Any, path: Path, step_id: str, number: int) -> CueTemplate:
    where = f"cue {number} of step '{step_id}'"
    if not isinstance(data, dict) or set(data) - {"say", "say_one", "kind", "wait"}:
        raise fail(path, step_id, f"{where}: must be a table with say, kind, wait (and say_one)")
    say, kind, wait = data.get("say"), data.get("kind"), data.get("wait", 1.0)
    say_one = data.get("say_one")
    for key, text in (("say", say), ("say_one", say_one)):
        if text is not None or key == "say":
            _check_template(text, path, step_id, f"{where}: '{key}'")
    if kind not in CUE_KINDS:
        raise fail(path, step_id, f"{where}: 'kind' must be one of {list(CUE_KINDS)}")
    number_ok = isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait <= 60
    if not number_ok and wait not in ("hold", "rest"):
        raise fail(path, step_id, f"{where}: 'wait' must be 0-60 seconds, 'hold' or 'rest'")
    wait = wait if isinstance(wait, str) else float(wait)
    return CueTemplate(say.strip(), kind, wait, say_one.strip() if say_one else None)


def _check_template(text: Any, path: Path, step_id: str, where: str) -> None:
    """Raise when a cue's sentence is empty or names a field a cue does not have."""
    if not isinstance(text, str) or not text.strip():
        raise fail(path, step_id, f"{where} must be a non-empty sentence")
    try:
        unknown = catalogue.template_fields(text) - TEMPLATE_FIELDS
    except ValueError as exc:
        raise fail(path, step_id, f"{where}: bad {{field}}: {exc}") from None
    if unknown:
        raise fail(path, step_id, f"{where}: unknown field(s) {sorted(unknown)}; "
                   f"valid: {sorted(TEMPLATE_FIELDS)}")  # fmt: skip


def _step_from_dict(data: Any, path: Path, number: int) -> Step:
    if not isinstance(data, dict):
        raise fail(path, "steps", f"step {number} must be a table")
    step_id = data.get("id")
    if not isinstance(step_id, str) or not step_id.strip():
        raise fail(path, "steps", f"step {number} needs an 'id'")
    when = data.get("when")
    if when not in WHENS:
        raise fail(path, step_id, f"'when' must be one of {list(WHENS)}, not {when!r}")
    cues = data.get("cues")
    if not isinstance(cues, list) or not cues:
        raise fail(path, step_id, "'cues' must be a non-empty list of {say, kind, wait}")
    return Step(
        step_id, when, tuple(_cue_from_dict(c, path, step_id, i) for i, c in enumerate(cues, 1))
    )


@dataclass(frozen=True)
class Routine:
    """A guided routine read from one TOML file."""

    name: str
    """Routine name (the file name without ``.toml``)."""
    title: str
    """Short title for listings."""
    settings: Settings
    """Pacing and bounds."""
    steps: tuple[Step, ...]
    """All steps, in file order."""
    path: Path | None = None
    """The file it came from."""

    @staticmethod
    def from_dict(data: Any, path: Path) -> Routine:
        """Validate a routine file's parsed TOML."""
        if data.get("name") != path.stem:
            raise fail(path, "name", f"must be {path.stem!r}, the file name without .toml")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise fail(path, "title", "must be a non-empty string")
        settings = Settings.from_dict(data.get("settings"), path)
        raw = data.get("steps")
        if not isinstance(raw, list) or not raw:
            raise fail(path, "steps", "needs at least one [[steps]] table")
        steps = tuple(_step_from_dict(s, path, i) for i, s in enumerate(raw, 1))
        ids = [s.id for s in steps]
        if len(set(ids)) != len(ids):
            raise fail(path, "steps", f"step ids must be unique: {ids}")
        if not any(c.wait == "hold" for s in steps if s.when == "each_rep" for c in s.cues):
            raise fail(path, "steps", "an 'each_rep' step needs a cue with wait = \"hold\"")
        unknown = set(data) - {"name", "title", "settings", "steps"}
        if unknown:
            raise fail(path, sorted(unknown)[0], "unknown key; valid: name, title, settings, steps")
        return Routine(path.stem, title.strip(), settings, steps, path)

    def group(self, when: str) -> tuple[Step, ...]:
        """The steps of one ``when`` group, in file order."""
        return tuple(s for s in self.steps if s.when == when)


def routines_dir(root: Path | None = None) -> Path:
    """The routines folder of the prompts; CatalogueError when the prompts folder is missing."""
    return catalogue.require_prompts(root) / "routines"


def routine_names(root: Path | None = None) -> list[str]:
    """Names of the routines available, sorted."""
    folder = routines_dir(root)
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def load_routine(name: str, root: Path | None = None) -> Routine:
    """Load and validate one routine; an unknown name is a :class:`UsageError` listing names."""
    names = routine_names(root)
    if name not in names:
        valid = ", ".join(names) or "none installed"
        raise UsageError(f"unknown routine {name!r}; valid routines: {valid}")
    path = routines_dir(root) / f"{name}.toml"
    return Routine.from_dict(read_toml(path), path)


def load_all(root: Path | None = None) -> list[Routine]:
    """Every routine, validated."""
    return [load_routine(name, root) for name in routine_names(root)]


# -- timeline --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """The choices a run is built with."""

    hold: int
    """Hold length, seconds."""
    reps: int
    """Repetitions per side."""
    sides: tuple[str | None, ...]
    """Sides to do, in order (``(None,)`` when the routine has no sides)."""
    count_mode: str
    """``last`` or ``every``."""


@dataclass(frozen=True)
class Cue:
    """One thing said at one time."""

    at: float
    """Start, seconds from the start of the routine."""
    duration: float
    """Seconds of speech (capped so it ends by the next cue)."""
    step: int
    """Index of the step it belongs to."""
    say: str
    """The sentence."""
    kind: str
    """``instruction``, ``count`` or ``transition``."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``--dry-run --json``."""
        return {
            "at": round(self.at, 3),
            "duration": round(self.duration, 3),
            "step": self.step,
            "say": self.say,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Hold:
    """One hold: from the hold cue's start to the next cue after it."""

    start: float
    """Seconds from the start of the routine."""
    end: float
    """Seconds from the start of the routine."""
    step: int
    """Index of the hold's step."""


@dataclass(frozen=True)
class StepInfo:
    """One step of a laid-out run."""

    index: int
    """Step index (the ``step`` of its cues)."""
    template: Step
    """The routine step it comes from."""
    side: str | None
    """Side it works on (for ``between_sides``: the side coming next)."""
    rep: int
    """Rep number on that side (for ``between_reps``: the rep just done)."""
    start: float
    """Seconds from the start of the routine."""


@dataclass(frozen=True)
class Timeline:
    """Cues anchored to absolute times, plus what the runner needs to control them."""

    routine: str
    """Routine name (or ``count`` for a one-off count)."""
    cues: tuple[Cue, ...]
    """All cues, by time."""
    total_seconds: float
    """End of the last cue, seconds."""
    holds: tuple[Hold, ...] = ()
    """Hold spans, for "how long left"."""
    steps: tuple[StepInfo, ...] = ()
    """The steps (empty for a one-off count)."""
    source: Routine | None = field(default=None, repr=False)
    """The routine, when built from one (needed by ``adjust``)."""
    params: Params | None = None
    """The choices it was built with."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``--dry-run --json``."""
        return {
            "routine": self.routine,
            "total_seconds": round(self.total_seconds, 3),
            "cues": [c.to_dict() for c in self.cues],
        }


def resolve_params(
    routine: Routine,
    hold: int | None = None,
    reps: int | None = None,
    side: str | None = None,
    count_mode: str | None = None,
) -> Params:
    """Check choices against the routine's bounds; out of bounds is a :class:`UsageError`."""
    s = routine.settings
    hold = s.hold_seconds if hold is None else hold
    reps = s.reps if reps is None else reps
    if not s.hold_range[0] <= hold <= s.hold_range[1]:
        raise UsageError(
            f"hold {hold} s is out of range for {routine.name}: allowed {s.hold_range[0]} to "
            f"{s.hold_range[1]} seconds"
        )
    if not s.reps_range[0] <= reps <= s.reps_range[1]:
        raise UsageError(
            f"reps {reps} is out of range for {routine.name}: allowed {s.reps_range[0]} to "
            f"{s.reps_range[1]}"
        )
    mode = count_mode or s.count
    if mode not in COUNT_MODES:
        raise UsageError(f"count mode {mode!r} unknown; valid: {', '.join(COUNT_MODES)}")
    return Params(hold, reps, _sides(routine, side), mode)


def _sides(routine: Routine, side: str | None) -> tuple[str | None, ...]:
    order = routine.settings.sides
    if not order:
        if side not in (None, "both"):
            raise UsageError(f"routine {routine.name} has no sides; leave out --side")
        return (None,)
    if side in (None, "both"):
        return order
    if side not in order:
        raise UsageError(f"side {side!r} unknown; valid: {', '.join((*order, 'both'))}")
    return (side,)


def _planned(when: str, routine: Routine, side: str | None, rep: int) -> list[tuple]:
    return [(step, side, rep) for step in routine.group(when)]


def _side_reps(routine: Routine, side: str | None, first: int, reps: int) -> list[tuple]:
    out: list[tuple] = []
    for rep in range(first, reps + 1):
        if rep > 1:
            out += _planned("between_reps", routine, side, rep - 1)
        out += _planned("each_rep", routine, side, rep)
    return out


def plan_steps(routine: Routine, params: Params) -> list[tuple]:
    """The full run as ``(step, side, rep)`` in order."""
    out = _planned("start", routine, None, 0)
    for number, side in enumerate(params.sides):
        if number:
            out += _planned("between_sides", routine, side, 1)
        out += _side_reps(routine, side, 1, params.reps)
    return out + _planned("end", routine, None, 0)


def _after(group: tuple[Step, ...], step: Step) -> list[Step]:
    return list(group[group.index(step) + 1 :])


def plan_remainder(routine: Routine, params: Params, current: StepInfo, done: set) -> list[tuple]:
    """The steps after ``current`` under new ``params``; sides in ``done`` are not redone."""
    step, side, rep = current.template, current.side, current.rep
    if step.when == "end":
        return [(s, None, 0) for s in _after(routine.group("end"), step)]
    if step.when == "start":
        rest = [(s, None, 0) for s in _after(routine.group("start"), step)]
        return rest + plan_steps(routine, params)[len(routine.group("start")) :]
    out: list[tuple] = []
    if side in params.sides:
        if step.when == "each_rep":
            out += [(s, side, rep) for s in _after(routine.group("each_rep"), step)]
            out += _side_reps(routine, side, rep + 1, params.reps)
        elif step.when == "between_reps" and rep + 1 <= params.reps:
            out += [(s, side, rep) for s in _after(routine.group("between_reps"), step)]
            out += _planned("each_rep", routine, side, rep + 1)
            out += _side_reps(routine, side, rep + 2, params.reps)
        elif step.when == "between_sides":
            out += [(s, side, 1) for s in _after(routine.group("between_sides"), step)]
            out += _side_reps(routine, side, 1, params.reps)
    for other in params.sides:
        if other != side and other not in done:
            out += _planned("between_sides", routine, other, 1)
            out += _side_reps(routine, other, 1, params.reps)
    return out + _planned("end", routine, None, 0)


def plan_leaving(
    routine: Routine, params: Params, current: StepInfo, done: set, leg_up: bool
) -> list[tuple]:
    """The steps after leaving ``current``'s side mid-rep for the sides in ``params``: when
    ``leg_up``, the rep's steps after its hold (the release) and the rest between sides;
    otherwise nothing was done on that side, so the other side starts at once."""
    reps = routine.group("each_rep")
    holds = [s for s in reps if any(c.wait == "hold" for c in s.cues)]
    after = _after(reps, holds[-1]) if holds else []
    out = [(s, current.side, current.rep) for s in after] if leg_up else []
    first = True
    for other in params.sides:
        if other != current.side and other not in done:
            if leg_up or not first:
                out += _planned("between_sides", routine, other, 1)
            out += _side_reps(routine, other, 1, params.reps)
            first = False
    return out + _planned("end", routine, None, 0)


def _count_numbers(hold: float, spoken: float, mode: str, last: int) -> range:
    """Numbers counted down in a hold: each ``k`` is said ``k`` seconds before the hold ends."""
    fits = math.floor(hold - spoken + 1e-9)
    top = fits if mode == "every" else min(last, fits)
    return range(max(top, 0), 0, -1)


def layout(
    routine: Routine,
    params: Params,
    planned: Iterable[tuple],
    estimate: Estimate,
    start: float = 0.0,
    first_index: int = 0,
) -> tuple[list[Cue], list[Hold], list[StepInfo], float]:
    """Place planned steps on the time axis from ``start``; returns cues, holds, steps, end."""
    s = routine.settings
    cues: list[Cue] = []
    holds: list[Hold] = []
    infos: list[StepInfo] = []
    t = start
    for index, (step, side, rep) in enumerate(planned, first_index):
        infos.append(StepInfo(index, step, side, rep, t))
        fields = {"side": side or "", "rep": rep, "reps": params.reps, "seconds": params.hold,
                  "rest": _whole(s.rest_seconds)}  # fmt: skip
        for tmpl in step.cues:
            text = tmpl.text(fields)
            spoken = float(estimate(text))
            cues.append(Cue(t, spoken, index, text, tmpl.kind))
            if tmpl.wait == "hold":
                end = t + params.hold
                for k in _count_numbers(params.hold, spoken, params.count_mode, s.count_last):
                    said = s.count_say.format(n=k)
                    cues.append(Cue(end - k, float(estimate(said)), index, said, "count"))
                holds.append(Hold(t, end, index))
                t = end
            elif tmpl.wait == "rest":
                t += s.rest_seconds
            else:
                t += spoken + float(tmpl.wait)
    return cues, holds, infos, t


def _whole(seconds: float) -> int | float:
    return int(seconds) if float(seconds).is_integer() else seconds


def cap_durations(cues: list[Cue]) -> tuple[Cue, ...]:
    """Cut every cue that would run past the next cue's start (the timing rule)."""
    ordered = sorted(cues, key=lambda c: c.at)
    out = []
    for cue, nxt in zip(ordered, ordered[1:] + [None], strict=True):
        if nxt is not None and cue.at + cue.duration > nxt.at:
            cue = replace(cue, duration=max(0.0, nxt.at - cue.at))
        out.append(cue)
    return tuple(out)


def make_timeline(
    name: str,
    cues: list[Cue],
    holds: Iterable[Hold] = (),
    steps: Iterable[StepInfo] = (),
    source: Routine | None = None,
    params: Params | None = None,
) -> Timeline:
    """Assemble a timeline: cap durations and compute ``total_seconds`` (end of the last cue)."""
    capped = cap_durations(cues)
    total = max((c.at + c.duration for c in capped), default=0.0)
    return Timeline(name, capped, total, tuple(holds), tuple(steps), source, params)


def build_timeline(
    routine: Routine,
    hold: int | None = None,
    reps: int | None = None,
    side: str | None = None,
    count_mode: str | None = None,
    estimate: Estimate | None = None,
) -> Timeline:
    """Lay out a whole run. ``estimate`` gives seconds of speech (real runs: Speaker.prepare)."""
    params = resolve_params(routine, hold, reps, side, count_mode)
    estimate = estimate or default_estimate()
    cues, holds, steps, _ = layout(routine, params, plan_steps(routine, params), estimate)
    return make_timeline(routine.name, cues, holds, steps, routine, params)


def default_estimate() -> Estimate:
    """Speech-rate estimate from the speech-out module (no audio device, no rendering)."""
    from .speak import Voice

    return Voice().estimate_seconds


# -- speaking about time ------------------------------------------------------------------------


def holds_ahead(n: int) -> str:
    """ "2 more holds to come" ("how many more?")."""
    if n <= 1:
        return _line("routine_holds_ahead_one" if n == 1 else "routine_holds_ahead_none")
    return _line("routine_holds_ahead", n=n)


def spoken_duration(seconds: float) -> str:
    """A duration in words from ``prompts/lines/routine.toml``, e.g. "2 minutes and 5 seconds"."""
    cat = catalogue.default()
    total = max(0, int(math.ceil(seconds - 1e-9)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for amount, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if amount:
            key = f"routine_duration_{unit}" if amount == 1 else f"routine_duration_{unit}s"
            parts.append(cat.line(key, n=amount))
    if hours:
        parts = parts[:2]
    if not parts:
        return cat.line("routine_duration_seconds", n=0)
    if len(parts) == 1:
        return parts[0]
    return cat.line("routine_duration_join", first=parts[0], second=parts[1])


# -- runner -------------------------------------------------------------------------------------


class RoutineRunner:
    """Says a timeline's cues on time and obeys pause/resume/stop/repeat/skip/status/adjust.

    Control methods return the sentence to say (or None); say it with :meth:`speak`, which cuts
    what is playing and limits the reply to the time left before the next cue. Decisions:

    - ``pause``/``resume``: the rest of the timeline shifts by exactly the pause length, so a
      hold resumes where it stopped; a cue cut by the pause is not said again.
    - ``repeat`` (the latest instruction or transition, never a count), ``status`` and
      ``adjust``: the rest shifts only as much as their reply needs to finish before the next
      cue (plus :data:`ROOM_MARGIN`); with room to spare nothing moves.
    - ``skip``: the first cue of the next step is said at once (skipping a hold goes to its
      release); skipping the last step ends the routine.
    - ``adjust``: applies from the next step: the current step plays out as planned. ``reps``
      counts reps already done on the current side; ``side`` picks the sides still to do (a
      side already finished is not redone). A ``side`` that drops the current side before
      its rep's hold is over leaves it at once: the rest of the step is not said, the rep's
      release follows when one of its instructions was said, then the other side.
    - ``interject`` (timer alarms): pauses, says the sentence, and resumes when it has been
      said (noticed by ``advance``).

    Thread-safe: the voice loop may call control methods while :func:`run_realtime` drives
    ``advance`` in another thread.
    """

    def __init__(
        self,
        timeline_or_routine: Timeline | Routine,
        speaker: SpeakerLike,
        clock: Clock,
        *,
        hold: int | None = None,
        reps: int | None = None,
        side: str | None = None,
        count_mode: str | None = None,
    ) -> None:
        if isinstance(timeline_or_routine, Routine):
            timeline_or_routine = build_timeline(
                timeline_or_routine, hold, reps, side, count_mode, estimate=speaker.prepare
            )
        self.timeline: Timeline = timeline_or_routine
        """The timeline being run (replaced by ``adjust``)."""
        self.speaker = speaker
        self.clock = clock
        self.wake = threading.Event()
        """Set whenever a control method changes the schedule (the driver waits on it)."""
        self._lock = threading.RLock()
        self._origin = clock.now()
        self._next = 0
        self._paused_at: float | None = None
        self._interjecting = False
        self._stopped = False
        self._last_instruction: Cue | None = None
        self._rewound = False
        """Resumed from a pause in a hold, and the round's first cue not yet said."""
        self._after_hold: str | None = None
        """An answer asked early in a hold and too long for it: said after the next cue
        that is neither a count nor in a hold (the release)."""
        self._cut = False
        """The next cue is one an interruption cut off, to be said again: its step is the
        current one."""
        self._said_at = 0.0
        """Clock time the latest instruction or transition began (a hold's true start)."""

    # -- scheduling --------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once stopped or every cue has been said."""
        return self._stopped or self._next >= len(self.timeline.cues)

    @property
    def paused(self) -> bool:
        """True while paused (by the person or for an alarm)."""
        return self._paused_at is not None

    @property
    def held(self) -> bool:
        """True while paused by the person (not only while an answer or an alarm is said)."""
        return self._paused_at is not None and not self._interjecting

    @property
    def side(self) -> str | None:
        """The side being worked on, else the one coming next (None: no side is left)."""
        with self._lock:
            ahead = self.timeline.steps[self._current_step() :]
            return next((s.side for s in ahead if s.side), None)

    @property
    def stopped(self) -> bool:
        """True once stopped (stop, pain, red flag, skip past the end)."""
        return self._stopped

    def planned_time(self, cue: Cue) -> float:
        """The clock time ``cue`` is (now) due at."""
        return self._origin + cue.at

    def end_time(self) -> float:
        """The clock time the last cue is (now) planned to end."""
        return self._origin + self.timeline.total_seconds

    def next_due(self) -> float | None:
        """Clock time of the next cue; None when paused, stopped or finished."""
        with self._lock:
            if self.done or self.paused:
                return None
            return self._origin + self.timeline.cues[self._next].at

    def advance(self, now: float) -> list[Cue]:
        """Say every cue due at ``now`` (in order); returns them."""
        with self._lock:
            if self._interjecting and not self.speaker.is_speaking():
                self._interjecting = False
                self._resume(now)
            said: list[Cue] = []
            cues = self.timeline.cues
            while not self.done and not self.paused and self._origin + cues[self._next].at <= now:
                cue = cues[self._next]
                self._next += 1
                gap = cues[self._next].at - cue.at if self._next < len(cues) else None
                self._cut = False
                waiting = self._after_hold if cue.kind != "count" else None
                if waiting is not None and self._hold_at(cue.at) is None:
                    self._after_hold = None
                    self.interject(f"{cue.say} {waiting}")  # the release, then the answer
                else:
                    self.speaker.say(cue.say, max_seconds=gap)
                self._rewound = False
                if cue.kind != "count":
                    self._last_instruction = cue
                    self._said_at = now
                said.append(cue)
            return said

    def _timeline_now(self, now: float) -> float:
        return (self._paused_at if self._paused_at is not None else now) - self._origin

    def _changed(self) -> None:
        self.wake.set()

    def _silence(self) -> None:
        """Cut what is playing and wait until it is gone, so a following say() is not dropped."""
        if self.speaker.is_speaking():
            self.speaker.stop()
            self.speaker.wait(CUT_WAIT)

    def _make_room(self, text: str, now: float) -> None:
        """Shift the rest so ``text`` said now ends before the next cue."""
        due = self.next_due()
        if due is None:
            return
        needed = float(self.speaker.prepare(text)) + ROOM_MARGIN
        if needed > due - now:
            self._origin += needed - (due - now)
            self._changed()

    def _past_longest_hold(self, text: str, now: float) -> bool:
        """Whether ``text`` said now, in a hold, would end after the longest hold the
        routine allows (``hold_range``'s top, counted from when the hold began)."""
        hold = self._hold_at(self._timeline_now(now))
        source = self.timeline.source
        if hold is None or source is None:
            return False
        ends = now + float(self.speaker.prepare(text)) + ROOM_MARGIN
        return ends > self._hold_began(hold) + source.settings.hold_range[1]

    def _hold_began(self, hold: Hold) -> float:
        """Clock time ``hold`` began: when its cue was said (replies since may have moved
        the timeline), else when it was planned to."""
        cue = self._last_instruction
        if cue is not None and cue.step == hold.step and cue.at == hold.start:
            return self._said_at
        return self._origin + hold.start

    def _release_first(self, text: str, now: float) -> None:
        """Say ``text`` (an answer too long for the hold) after the hold's release, and let
        the rest of the routine wait until both have been said. Once the hold has lasted
        the routine's shortest hold, it ends now; before that, at its planned end."""
        cues = self.timeline.cues
        step = self._current_step()
        release = next((i for i in range(self._next, len(cues)) if cues[i].step > step), None)
        if release is None:
            self.interject(text)
            return
        hold = self._hold_at(self._timeline_now(now))
        source = self.timeline.source
        held_for = None if hold is None else now - self._hold_began(hold)
        if held_for is not None and source and held_for < source.settings.hold_range[0]:
            waiting = self._after_hold  # "how long do I hold it?" a second in
            self._after_hold = text if waiting is None else f"{waiting} {text}"
            return
        self._next = release + 1
        self._origin = now - cues[release].at - TIME_EPSILON  # past the hold, not at its end
        self._last_instruction = cues[release]
        self._said_at = now
        self._rewound = False
        self.interject(f"{cues[release].say} {text}")

    def _hold_at(self, t: float) -> Hold | None:
        """The hold going on at timeline time ``t``, if any."""
        return next((h for h in self.timeline.holds if h.start <= t < h.end), None)

    def _holding(self, now: float) -> bool:
        """Whether a hold is going on (not paused) at clock time ``now``."""
        return not self.paused and self._hold_at(self._timeline_now(now)) is not None

    def _talk_over_count(self, text: str, now: float) -> None:
        """Leave out the count numbers ``text`` said now would talk over, so a reply in a
        hold does not make the hold longer (only a reply running into the release does)."""
        end = now + float(self.speaker.prepare(text)) + ROOM_MARGIN
        cues = self.timeline.cues
        while (
            self._next < len(cues)
            and cues[self._next].kind == "count"
            and self._origin + cues[self._next].at < end
        ):
            self._next += 1
        self._changed()

    def _current_step(self) -> int:
        cues = self.timeline.cues
        if self._cut and self._next < len(cues):  # the cut cue's step, not the one before
            return cues[self._next].step
        return cues[self._next - 1].step if self._next else 0

    # -- control -----------------------------------------------------------------------------
    def speak(self, text: str | None) -> None:
        """Say a reply now (nothing for None). In a hold it is said over the count, and only
        what runs past the hold's end moves the release, up to the longest hold the routine
        allows; one longer than that is said after the release, which comes at once, or at
        its planned time when asked before the shortest hold (:meth:`_release_first`).
        Elsewhere one too long to end before the next cue (an answer to a question) pauses
        the routine until it has been said, as an alarm does."""
        if not text:
            return
        with self._lock:
            now = self.clock.now()
            if self._holding(now) and self._past_longest_hold(text, now):
                self._release_first(text, now)  # at once, or after the release when early
                return
            if self._holding(now):
                self._talk_over_count(text, now)
                self._make_room(text, now)
            due = self.next_due()
            if due is not None and self.speaker.prepare(text) + ROOM_MARGIN > due - now + 1e-6:
                self.interject(text)
                return
            self._silence()
            self.speaker.say(text, max_seconds=None if due is None else max(0.0, due - now))

    def pause(self) -> str | None:
        """Stop the clock of the routine where it is; the rest waits for ``resume``."""
        with self._lock:
            if self._stopped or self.done:
                return None
            self._interjecting = False
            if self._paused_at is None:
                self._paused_at = self.clock.now()
                self._rewind_cut_cue()  # an instruction cut off is said again on resume
                self._silence()
                self._changed()
            return _line("routine_paused")

    def _resume(self, now: float) -> None:
        if self._paused_at is not None:
            self._origin += now - self._paused_at
            self._paused_at = None
            cues = self.timeline.cues
            if self._next < len(cues) and self._origin + cues[self._next].at < now:
                self._origin = now - cues[self._next].at  # a cut cue again: the rest after it
            self._changed()

    def resume(self) -> str | None:
        """Carry on where the pause left off (remaining cues shift by the pause). Paused by
        the person in a hold, they were told to rest: the rep starts again from its first
        cue, so the knee is drawn up again and held for the whole hold."""
        with self._lock:
            if self._stopped or self.done:
                return _line("routine_status_done")
            if self._paused_at is None:
                return _line("routine_not_paused")
            now = self.clock.now()
            again = self._rep_start() if self.held else None
            self._interjecting = False
            self._resume(now)
            if again is None:
                return _line("routine_resumed")
            line = _line("routine_resumed_hold")
            self._next, self._rewound = again, True
            self._origin = now - self.timeline.cues[again].at
            self._make_room(line, now)
            return line

    def _rep_start(self) -> int | None:
        """The first cue of the rep whose hold the pause is in; None outside a hold."""
        hold = self._hold_at(self._timeline_now(self.clock.now()))
        step = next((s for s in self.timeline.steps if hold and s.index == hold.step), None)
        if step is None:
            return None
        first = next(
            s.index
            for s in self.timeline.steps
            if (s.template.when, s.side, s.rep) == (step.template.when, step.side, step.rep)
        )
        return next(i for i, cue in enumerate(self.timeline.cues) if cue.step == first)

    def stop(self) -> str | None:
        """End the routine."""
        with self._lock:
            if self._stopped:
                return None
            self._end()
            return _line("routine_stopped")

    def _end(self) -> None:
        self._stopped = True
        self._interjecting = False
        self._silence()
        self._changed()

    def pain(self) -> str | None:
        """Stop at once and check in with the person."""
        with self._lock:
            self._end()
            return _line("routine_pain")

    def red_flag(self) -> None:
        """Stop at once; the caller says the red-flag answer from the catalogue."""
        with self._lock:
            self._end()

    @property
    def last_instruction(self) -> Cue | None:
        """The latest instruction said (counts aside), if any."""
        return self._last_instruction

    def repeat(self) -> str | None:
        """The latest instruction again; the rest shifts only if needed for it to finish.
        Paused by the person, the pause's own line (not "hold it there" after "rest")."""
        with self._lock:
            if self._stopped:
                return None
            if self.held:
                return _line("routine_paused")
            if self._rewound:  # not "hold it there": that round starts again
                return _line("routine_resumed_hold")
            cue = self._last_instruction or self.timeline.cues[0]
            self._make_room(cue.say, self.clock.now())
            return cue.say

    def skip(self) -> str | None:
        """Jump to the first cue of the next step (said at once); past the end, finish."""
        with self._lock:
            if self._stopped:
                return None
            current = self._current_step()
            cues = self.timeline.cues
            later = [i for i in range(self._next, len(cues)) if cues[i].step > current]
            if not later:
                self._end()
                return _line("routine_skip_last")
            now = self.clock.now()
            self._paused_at = None
            self._interjecting = False
            self._next = later[0]
            self._origin = now - cues[later[0]].at
            self._silence()
            self._changed()
            return None

    def next_side(self) -> str | None:
        """Jump to the next side ("let's do the other knee"): to the rest before it, or its
        first step. Returns the release to say first when the knee may be up (an
        instruction of the round under way said, its release not yet), "" when the jump
        says all, and a line when there is no other side; None when stopped or before the
        first side."""
        with self._lock:
            current = None if self._stopped or self.done else self._side_step()
            if current is None:
                return None  # no side begun yet (the welcome), or none at all
            target = self._next_side_step(current)
            if target is None:
                return _line("routine_last_side")
            cues = self.timeline.cues
            release = self._release_due(current)
            first = next(i for i, c in enumerate(cues) if c.step == target)
            now = self.clock.now()
            self._paused_at = None
            self._interjecting = False
            self._rewound = self._cut = False
            self._next = first
            self._origin = now - cues[first].at
            if release is not None:  # "what do I do now?" while it is said
                self._last_instruction, self._said_at = release, now
            self._silence()
            self._changed()
            return "" if release is None else release.say

    def _side_step(self) -> int | None:
        """The step under way, or else the one about to begin (a round started again after a
        pause), when it works on a side."""
        steps, cues = self.timeline.steps, self.timeline.cues
        if not steps:
            return None
        current = self._current_step()
        if steps[current].side is None and self._next < len(cues):
            current = cues[self._next].step
        return current if steps[current].side is not None else None

    def _next_side_step(self, current: int) -> int | None:
        """The index of the step where the side after ``current``'s begins (its rest, if
        any)."""
        steps = self.timeline.steps
        if steps[current].template.when == "between_sides":
            return current + 1 if current + 1 < len(steps) else None
        here = steps[current].side
        later = steps[current + 1 :]
        return next((s.index for s in later if s.side and s.side != here), None)

    def _release_due(self, current: int) -> Cue | None:
        """The release cue of ``current``'s round when the knee may be up (one of its
        instructions said, :meth:`_leg_up`, and its release not yet), else None."""
        steps = self.timeline.steps
        info = steps[current]
        if info.template.when != "each_rep" or not self._leg_up(info):
            return None
        rest = [
            c
            for c in self.timeline.cues[self._next :]
            if (steps[c.step].template.when, steps[c.step].side, steps[c.step].rep)
            == ("each_rep", info.side, info.rep)
            and c.kind != "count"
        ]
        return rest[-1] if rest else None

    def status(self) -> str:
        """How long is left in the current hold and in the routine."""
        with self._lock:
            if self.done:
                return _line("routine_status_done")
            now = self.clock.now()
            t = self._timeline_now(now)
            again = self._rep_start() if self.held else None
            if again is not None:  # carrying on starts this round again
                t = self.timeline.cues[again].at
            total = spoken_duration(self.timeline.total_seconds - t)
            ahead = holds_ahead(sum(1 for h in self.timeline.holds if h.start > t))
            hold = self._hold_at(t)
            if hold is not None:
                text = _line("routine_status_hold", hold=spoken_duration(hold.end - t), ahead=ahead)
            else:
                text = _line("routine_status", total=total, ahead=ahead)
            if self.held:  # not while an answer or an alarm holds it
                text = f"{_line('routine_status_paused')} {text}"
            if hold is None:  # in a hold, speak() says it over the count
                self._make_room(text, now)
            return text

    def alarm(self, text: str) -> None:
        """Say a timer's alarm now: over the count in a hold (as :meth:`speak` does, so the
        hold is not made longer), else pausing the routine while it is said."""
        with self._lock:
            now = self.clock.now()
            if self._holding(now):
                self.speak(text)
            else:
                self.interject(text)

    def interject(self, text: str) -> None:
        """Say ``text`` now (an alarm, a long answer), pausing the routine until it has been
        said; an instruction it cuts off is said again after it."""
        with self._lock:
            self._rewind_cut_cue()
            self._silence()
            if not self._stopped and not self.done and self._paused_at is None:
                self._paused_at = self.clock.now()
                self._interjecting = True
            self.speaker.say(text)
            self._changed()

    def _rewind_cut_cue(self) -> None:
        """When the latest cue (not a count number) is still being said, make it the next
        one, so that what cuts it off is followed by it again."""
        cue = self.timeline.cues[self._next - 1] if self._next else None
        if cue is None or cue.kind == "count" or self._stopped:  # the last cue too
            return
        if (
            self.speaker.is_speaking()
            and (self.speaker.current_text or "").strip() == cue.say.strip()
        ):
            self._next -= 1
            self._cut = True

    def adjust(self, slots: Mapping[str, Any]) -> str:
        """Change ``seconds`` (hold), ``reps`` or ``side`` from the next step on."""
        with self._lock:
            tl = self.timeline
            if tl.source is None or tl.params is None:
                return _line("routine_adjust_unavailable")
            if self.done:
                return _line("routine_status_done")
            refusal = check_slots(tl.source, slots)
            if refusal:
                return refusal
            params, reply = _apply_slots(tl.source, tl.params, slots)
            if not reply:
                return _line("routine_adjust_what")
            self._rebuild(params)
            self._make_room(reply, self.clock.now())
            return reply

    def _rebuild(self, params: Params) -> None:
        tl = self.timeline
        assert tl.source is not None
        if self._next == 0:
            rest = plan_steps(tl.source, params)
            cues, holds, steps, _ = layout(tl.source, params, rest, self.speaker.prepare)
            self.timeline = make_timeline(tl.routine, cues, holds, steps, tl.source, params)
            self._changed()
            return
        current = tl.steps[self._current_step()]
        done = {s.side for s in tl.steps[: current.index] if s.side != current.side}
        if self._leaving(current, params):
            rest = plan_leaving(tl.source, params, current, done, self._leg_up(current))
            start = self._timeline_now(self.clock.now())
            kept = list(tl.cues[: self._next])  # the rest of the step is not said
            kept_holds = [h for h in tl.holds if h.step < current.index]
        else:
            rest = plan_remainder(tl.source, params, current, done)
            later = [s.start for s in tl.steps if s.index > current.index]
            start = later[0] if later else tl.total_seconds
            kept = [c for c in tl.cues if c.step <= current.index]
            kept_holds = [h for h in tl.holds if h.step <= current.index]
        cues, holds, steps, _ = layout(
            tl.source, params, rest, self.speaker.prepare, start, current.index + 1
        )
        kept_steps = list(tl.steps[: current.index + 1])
        self.timeline = make_timeline(
            tl.routine, kept + cues, kept_holds + holds, kept_steps + steps, tl.source, params
        )
        self._changed()

    def _leaving(self, current: StepInfo, params: Params) -> bool:
        """Whether ``params`` drop the side of ``current``, a rep not yet past its hold."""
        if current.side is None or current.side in params.sides:
            return False
        source = self.timeline.source
        if source is None or current.template.when != "each_rep":
            return False
        group = source.group("each_rep")
        holds = [i for i, s in enumerate(group) if any(c.wait == "hold" for c in s.cues)]
        return bool(holds) and group.index(current.template) <= holds[-1]

    def _leg_up(self, current: StepInfo) -> bool:
        """Whether an instruction of ``current``'s rep has been said (the leg may be up)."""
        rep_steps = {
            s.index
            for s in self.timeline.steps
            if (s.side, s.rep, s.template.when) == (current.side, current.rep, "each_rep")
        }
        said = self.timeline.cues[: self._next]
        return any(c.step in rep_steps and c.kind == "instruction" for c in said)


def _line(key: str, **fields: Any) -> str:
    return catalogue.default().line(key, **fields)


def check_slots(routine: Routine, slots: Mapping[str, Any]) -> str | None:
    """The polite refusal for the first out-of-bounds slot, if any."""
    s = routine.settings
    hold, reps, side = slots.get("seconds"), slots.get("reps"), slots.get("side")
    if hold is not None and not s.hold_range[0] <= hold <= s.hold_range[1]:
        return _line("routine_hold_range", low=s.hold_range[0], high=s.hold_range[1])
    if reps is not None and not s.reps_range[0] <= reps <= s.reps_range[1]:
        return _line("routine_reps_range", low=s.reps_range[0], high=s.reps_range[1])
    if side is not None and (not s.sides or (side != "both" and side not in s.sides)):
        return _line("routine_side_options")
    return None


def _apply_slots(routine: Routine, params: Params, slots: Mapping[str, Any]) -> tuple[Params, str]:
    if slots.get("seconds") is not None:
        params = replace(params, hold=int(slots["seconds"]))
    if slots.get("reps") is not None:
        params = replace(params, reps=int(slots["reps"]))
    if slots.get("side") is not None:
        params = replace(params, sides=_sides(routine, slots["side"]))
    return params, adjust_reply(slots)


def adjust_reply(slots: Mapping[str, Any]) -> str:
    """What the coach says to a change of hold (``seconds``), ``reps`` or ``side``."""
    replies = []
    if slots.get("seconds") is not None:
        replies.append(_line("routine_adjust_hold", seconds=int(slots["seconds"])))
    if slots.get("reps") is not None:
        reps = int(slots["reps"])
        replies.append(
            _line("routine_adjust_reps_one" if reps == 1 else "routine_adjust_reps", reps=reps)
        )
    side = slots.get("side")
    if side == "both":
        replies.append(_line("routine_adjust_side_both"))
    elif side is not None:
        replies.append(_line("routine_adjust_side_one", side=side))
    return " ".join(replies)


# -- real time ----------------------------------------------------------------------------------


def run_realtime(
    runner: RoutineRunner,
    clock: Clock,
    stop_event: threading.Event | None = None,
    on_cue: Callable[[Cue, float, float], None] | None = None,
    final_wait: float | None = 30.0,
) -> None:
    """Drive ``runner`` until it is done or ``stop_event`` is set.

    Sleeps until the next cue is due or a control method wakes it. ``on_cue(cue, planned,
    actual)`` is called for each cue said (clock times). At the natural end it waits up to
    ``final_wait`` seconds for the last sentence to finish.
    """
    stop_event = stop_event or threading.Event()
    while not runner.done and not stop_event.is_set():
        runner.wake.clear()
        due = runner.next_due()
        now = clock.now()
        if due is None:
            clock.wait(runner.wake, POLL_SECONDS)
            runner.advance(clock.now())
        elif due > now:
            clock.wait(runner.wake, due - now)
        else:
            said = runner.advance(now)
            if on_cue:
                for cue in said:
                    on_cue(cue, runner.planned_time(cue), now)
    if not runner.stopped and not stop_event.is_set():
        runner.speaker.wait(final_wait)


def start_realtime(
    runner: RoutineRunner, clock: Clock, stop_event: threading.Event | None = None
) -> threading.Thread:
    """Run :func:`run_realtime` in a daemon thread (for the voice loop) and return the thread."""
    thread = threading.Thread(
        target=run_realtime, args=(runner, clock, stop_event), name="routine", daemon=True
    )
    thread.start()
    return thread


def _fields(text: str) -> set[str] | None:
    """The fields of a template; None when it is not a valid one."""
    try:
        return catalogue.template_fields(text)
    except ValueError:
        return None
