"""Dialogue: turn an understood sentence into the coach's reply, keeping conversation state.

The same :class:`Dialogue` serves ``voice-coach chat`` and the hands-free loop. What a
reply *does* beyond words (start a routine, pause it, set a timer, change the voice) is
named by :attr:`Reply.action`; the caller may register a handler for an action with
:meth:`Dialogue.on`, whose sentence then replaces the stateless answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import catalogue as catalogue_mod
from . import understand as understand_mod
from .catalogue import Catalogue, Intent
from .understand import PAIN_INTENT, STARTS, Understanding

ACTION_INTENTS = (
    "start_routine",
    "stop",
    "pause",
    "resume",
    "restart",
    "repeat",
    "skip",
    "routine_status",
    "adjust",
    "speech_adjust",
    "count",
    "timer_set",
    "timer_cancel",
    "timer_status",
    "goodbye",
    "pain_report",
    "symptom_check",
    "see_doctor",
    "emergency",
    "overview",
    "stretching",
    "scared",
)
"""Intents whose reply may carry an action the caller carries out ("overview": "what do I
do now?" during the stretch is about the stretch; "stretching": so is "I can feel the
stretch"; "scared": fear or distress pauses it)."""
ANSWERS = ("yes", "no", "unsure", "thanks")
"""Intents that only answer the coach."""
BARE_NO = frozenset({"no", "nope", "nah", "noo", "nooo"})
"""Words of a bare "no" ("no no no"), which mid-stretch may be pain (not "no, I'm fine")."""
UNCLEAR = "unclear"
"""The action of a reply to something not understood, or a bare "no" with nothing asked:
the caller may pause a running stretch for it (it may be pain), saying so instead."""
TALK = "routine_talk"
"""The action of talk during a stretch that needs no pause ("which knee?", "that feels
good", "okay" with nothing asked), tried before :data:`UNCLEAR` and the plain "yes" answer;
its handler returns the answer ("" for nothing to say), or None."""

Handler = Callable[["Reply"], "str | None"]
"""Carries out a reply's action; returns the sentence to say instead, or None to keep it."""


HOLD_ANSWER = re.compile(
    r"(?:(?:about|around|maybe|just|only|make it|let us say|say|erm|um|uh|okay|ok)\s+)*"
    r"(\d+)(?:\s+(?:seconds?|secs?|please|then|thanks|thank you))*"
)
"""A number alone, answering how long each hold should be ("8", "about 10 seconds")."""


@dataclass(frozen=True)
class Reply:
    """What the coach says back, and what it means to do."""

    text: str
    """The sentence to say."""
    intent: str | None
    """The intent understood (None when out of scope)."""
    slots: dict[str, Any] = field(default_factory=dict)
    """Slots heard with it."""
    action: str | None = None
    """An intent id from :data:`ACTION_INTENTS` for the caller to carry out, if any."""
    routine: str | None = None
    """The routine to start, for ``start_routine``."""
    request: str = ""
    """The normalised sentence (or part of one) this replies to."""


def stateless_answer(intent: Intent, slots: dict[str, Any]) -> str:
    """The intent's answer, using the slot answer for the largest set of heard slots."""
    best_key, best_size = None, 0
    for key in intent.slot_answers:
        needed = set(key.split("+"))
        if needed <= set(slots) and len(needed) > best_size:
            best_key, best_size = key, len(needed)
    if best_key is None:
        return intent.answer
    text = intent.slot_answers[best_key].format(**slots)
    return text[0].upper() + text[1:]


def said_alone(risks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``[[risks]]`` entries whose line is said for their words alone (not those with
    ``alone = false``: "my kids are at school")."""
    return [r for r in risks if r.get("alone", True)]


def answer(understanding: Understanding, cat: Catalogue | None = None) -> str:
    """The stateless answer to an understood sentence (what ``voice-coach ask`` says)."""
    matcher = understand_mod.matcher_for(cat)
    cat = matcher.cat
    if understanding.red_flag is not None:
        return matcher.red_flag_answer(understanding.red_flag, understanding.text)
    risks = matcher.risks(understanding.text)
    if matcher.better_remark(understanding):  # "my back feels better"
        return cat.line("feeling_better")
    if understanding.intent is None:
        alone = said_alone(risks)
        if alone:
            return cat.line(alone[0]["line"])
        caution = matcher.caution_alone(understanding.text)  # "I take warfarin"
        return caution[0] if caution else cat.line("fallback")
    said = []
    for heard in (understanding, *understanding.also):
        risk = next((r for r in matcher.risks_for(heard.intent) if r in risks), None)
        caution = cat.line(risk["line"]) if risk else matcher.caution(heard.intent, heard.text)
        young = matcher.about_child(heard.text) or matcher.asks_for_child(heard.text)
        if heard.intent in CHILD_STRETCH_INTENTS and young:
            said.append(cat.line("stretch_child"))  # "I'm 15, what stretches can I do?"
            continue
        other = matcher.other_line(heard.intent, heard.text)  # "my wife's back hurts"
        plain = (
            cat.line(other) if other else stateless_answer(cat.intent(heard.intent), heard.slots)
        )
        said.append(caution or plain)
    return " ".join(said)


KEEP_QUESTIONS = ("pause", "resume")
"""Requests after which a question the coach asked is still open (as after "repeat")."""
FALLBACKS = ("fallback", "fallback_again", "fallback_short")
"""What a first, a second and any later miss in a row get."""
CORRECTION_WORDS = 6
"""A "no" with a number of at most this many words, right after a timer, corrects it."""
FOLLOW_UP_WORDS = 8
"""A question of at most this many words may be about the last answer ("how long for?")."""
GENERAL_WORDS = 3
"""Understood as the general "how long will it last", a question of at most this many words
("how long for?") may still be about the last answer."""
TIMER_INTENTS = ("timer_set", "timer_status", "timer_cancel")
"""After these, "cancel it" means the timer."""
STRETCH_INTENTS = ("start_routine", "resume", "restart", "adjust")
"""Requests that start or shape a stretch ("hold for 15 seconds" counts a hold)."""
CHILD_STRETCH_INTENTS = (*STRETCH_INTENTS, "stretching")
"""Requests and questions answered with ``stretch_child`` for a child or a teenager."""
CHOICE_WORDS = 4
"""An answer to "which timer?" that is understood as another request is taken as a choice
only up to this many words ("the ten minute one")."""

LEG_LINE = "red_flag_leg"
"""What a yes to the leg question gets ("the left one", "a little")."""
NOT_REPEATED = ("repeat", "speech_adjust")
"""Replies that "say that again" does not repeat: after "slower", the answer before it."""
RED_FLAG_AGAIN = ("wait", "serious")
"""Kinds of ``[after_red_flag]`` question answered with the red-flag answer said again."""
AFTER_RED_FLAG_INTENTS = (
    None,
    "pause",
    "stop",
    "see_doctor",
    "scared",
    "unsure",
    "how_long",
    "overview",
    "yes",
    "no",
)
"""What a question after a red flag ("can it wait?") may be matched as; another request in
it ("set a timer while I wait") is answered as that request."""
URGENT_LINES = ("red_flag_chest", "red_flag_urgent", "red_flag_crisis")
"""Red-flag lines after which every ``[after_red_flag]`` question gets the answer again:
"what do I do in the meantime?" must not soften "phone the emergency services"."""
SIDES = frozenset({"left", "right", "one"})
"""Words of an answer to the leg question that name one leg only ("the left one is fine")."""
LEG_QUESTIONS = understand_mod.LEG_QUESTIONS
LEG_ANSWERS = (
    None, "yes", "no", "unsure", "adjust", "pain_report", "symptom_check", "thanks", "scared",
)  # fmt: skip
"""What an answer to the leg question may be understood as ("the left one" names a side,
"yes it hurts" is a pain report, "it's tingling" a symptom, "a little, thanks" thanks,
"yes, I'm scared" fear); anything else ("stop", a question) is handled as usual."""


class Dialogue:
    """Conversation state: pending offers and questions, the last answer, misses in a row."""

    def __init__(self, cat: Catalogue | None = None) -> None:
        self.cat = cat or catalogue_mod.default()
        self.matcher = understand_mod.matcher_for(None if cat is None else cat)
        self.pending_offer: str | None = None
        """Routine the coach has just offered to guide ("yes" starts it)."""
        self.recent_offer: str | None = None
        """The latest routine offered, until it starts or another request is answered: a
        "yes" after "no thanks" or a miss, or "go on then" with nothing paused, starts it."""
        self.declined = False
        """The last request declined the offer: a miss after it forgets the offer."""
        self.asked_leg: str | None = None
        """The coach has just asked whether the pain (``pain_report``) or a feeling
        (``symptom_check``) is in a leg: the intent that asked."""
        self.asked_about = ""
        """The sentence that led to the latest answer ("I feel numb"), read together with
        the answer to the leg question ("down below")."""
        self.last_request: str | None = None
        """The intent of the latest request handled (also when nothing was said)."""
        self.asked_timer: dict[str, str] | None = None
        """The coach has just asked how long a timer should run: the slots that name it
        (``label`` or ``task``; empty for none)."""
        self.asked_hold = False
        """The coach has just asked how many seconds each hold should last ("make the hold
        shorter"): a number alone answers it."""
        self.timer_set: dict[str, str] | None = None
        """A timer was set by the latest request: the slots that name it, so that "no, make
        it 15 minutes" said next changes it."""
        self.asked_cancel: dict[str, dict[str, Any]] = {}
        """The coach has just asked which timer to cancel: the word naming each one ("ice",
        "10" for the ten-minute one) and the slots that cancel it."""
        self.last_answer: str | None = None
        self.last_intent: str | None = None
        """The intent of :attr:`last_answer`."""
        self.misses: int = 0
        self.red_flagged: bool = False
        """A red flag was heard in this conversation."""
        self.red_flag_said: str | None = None
        """The latest red-flag (or emergency) answer, said again to "can it wait?"
        (``[after_red_flag]``)."""
        self.red_flag_urgent: bool = False
        """That answer sends to the emergency services or says "today" (:data:`URGENT_LINES`)."""
        self.cautioned: bool = False
        """The first request to stretch after it got the advice to have it checked."""
        self.kept_cautions: set[str] = set()
        """Intents of ``[caution_memory]`` whose caution words were named in this
        conversation ("I take warfarin" ... "can I take ibuprofen?")."""
        self._memory: list[str] = self.cat.language.get("caution_memory", {}).get("intents", [])
        self.young_speaker: bool = False
        """The speaker said they are a child or a teenager ("I'm 15")."""
        self.child_named: bool = False
        """A child or a teenager was spoken of in this conversation ("my son is 9"): "he",
        "she" or "them" later on is taken to be them."""
        self.kept_risks: set[str] = set()
        """Names of ``[[risks]]`` (with ``remember``) named in this conversation, whose line
        the first later request for one of their intents gets ("I had back surgery" ...
        "start the stretch")."""
        self.risks_said: set[str] = set()
        """Names of kept risks whose line was said: asking again is answered as usual."""
        leg = self.cat.language["leg_denial"]
        self._leg_yes = [understand_mod.word_pattern(w) for w in leg["yes"]]
        self._leg_back = [understand_mod.word_pattern(w) for w in leg["back"]]
        self._leg_legs = [understand_mod.word_pattern(w) for w in leg["legs"]]
        self._leg_when = [understand_mod.word_pattern(w) for w in leg.get("conditions", [])]
        self._after_red_flag_words = {
            kind: [understand_mod.word_pattern(p) for p in phrases]
            for kind, phrases in self.cat.language.get("after_red_flag", {}).items()
        }
        self._denied = [understand_mod.word_pattern(w) for w in leg["denials"]]
        self._pain_denied = [understand_mod.word_pattern(w) for w in leg["pain_denials"]]
        self._denial_unless = [understand_mod.word_pattern(w) for w in leg["pain_denial_unless"]]
        self._elsewhere = frozenset(leg["elsewhere"])
        self._another = [
            understand_mod.word_pattern(w)
            for w in self.cat.language["timer_choice"].get("another", [])
        ]
        self._keep = [
            understand_mod.word_pattern(w) for w in self.cat.language["timer_choice"]["keep"]
        ]
        self._declines = understand_mod.opening(self.cat.language["requests"].get("declines", []))
        self._noted = frozenset(self.cat.language["requests"].get("noted", []))
        self.answers = 0
        """How many replies have been said (for "say that again" just after a stretch)."""
        self.leg_asked_again = False
        """Whether the leg question was asked again after an answer that was only "okay"."""
        self.handlers: dict[str, Handler] = {}

    def on(self, action: str, handler: Handler) -> None:
        """Register the code that carries out ``action`` (an intent id, :data:`UNCLEAR` or
        :data:`TALK`)."""
        if action not in (*ACTION_INTENTS, UNCLEAR, TALK):
            valid = ", ".join((*ACTION_INTENTS, UNCLEAR, TALK))
            raise ValueError(f"unknown action {action!r}; valid: {valid}")
        self.handlers[action] = handler

    def notice(self) -> str:
        """The safety notice."""
        return self.cat.line("safety_notice")

    def handle(self, text: str) -> Reply:
        """Understand one sentence and reply to it."""
        return self.respond(self.matcher.understand(text))

    def respond(self, heard: Understanding) -> Reply:
        """Reply to an understood sentence, updating the state; several requests in it
        ("stop, and set a timer") are carried out in turn and their sentences joined."""
        heard = self._slower_repeat(heard)
        reply = self._carry_out(heard)
        asked = self._questions()
        for more in heard.also:
            after = self._carry_out(more)
            now = self._questions().items()
            asked = {k: asked[k] if v is None or v == {} else v for k, v in now}
            text = " ".join(t for t in (reply.text, after.text) if t)
            reply = replace(after, text=text)
        self._ask(asked)  # "ouch, and stop": the leg question is still open
        if reply.intent not in NOT_REPEATED and reply.text:
            self.last_answer, self.last_intent = reply.text, reply.intent
            self.answers += 1
        return reply

    def _slower_repeat(self, heard: Understanding) -> Understanding:
        """ "Say that again, slower": the change of speech first, then the repeat."""
        if heard.intent != "repeat" or heard.red_flag is not None:
            return heard
        direction = self.matcher.slots(heard.text, "speech_adjust").get("direction")
        if direction is None:
            return heard
        change = {"direction": direction}
        return replace(heard, intent="speech_adjust", slots=change, also=(heard, *heard.also))

    def awaiting_answer(self) -> bool:
        """True while a question the coach asked or an offer it made is open, or just after
        a timer was set (a correction may follow: "no, make it 15")."""
        return any(self._questions().values())

    def _questions(self) -> dict[str, Any]:
        """The questions the coach has asked and not yet had answered."""
        keys = (
            "pending_offer",
            "asked_leg",
            "asked_timer",
            "asked_hold",
            "asked_cancel",
            "timer_set",
        )
        return {key: getattr(self, key) for key in keys}

    def _ask(self, questions: dict[str, Any]) -> None:
        for key, value in questions.items():
            setattr(self, key, value)

    def _carry_out(self, heard: Understanding) -> Reply:
        asked = self._questions()
        reply = replace(self._reply(heard), request=heard.text)
        self.last_request = reply.intent
        if reply.intent in KEEP_QUESTIONS:
            self._ask(asked)  # "hang on, my phone's ringing": the question waits
        plain_yes = reply.intent == "yes" and reply.text == self.cat.intent("yes").answer
        talk = self.handlers.get(TALK) if reply.action == UNCLEAR or plain_yes else None
        answered = talk(reply) if talk is not None else None
        if answered is not None:  # "which knee?", "okay": answered, and the stretch goes on
            self.misses = 0
            return replace(reply, text=answered, action=TALK)
        handler = self.handlers.get(reply.action or "")
        if handler is not None:
            said = handler(reply)
            if said is not None and reply.action == UNCLEAR:  # the stretch was paused for it
                self.misses = 0
                reply = replace(reply, text=said, intent="pause")
            elif said is not None:
                reply = replace(reply, text=said)
        return reply

    def _reply(self, heard: Understanding) -> Reply:
        if heard.intent == "repeat" and heard.red_flag is None:  # questions stay open
            self.misses = 0
            text = self.last_answer or self.cat.line("nothing_to_repeat")
            return Reply(text, "repeat", action="repeat")
        intent = heard.intent
        risks = self.matcher.risks(heard.text)  # kept even when a red flag is answered
        self.kept_risks.update(r["name"] for r in risks if r.get("remember"))
        named = [i for i in self._memory if self.matcher.caution(i, heard.text)]
        self.kept_cautions.update(named)  # "I'm pregnant and ..." ... "can I take ibuprofen?"
        if self.matcher.about_child(heard.text) or self.matcher.child_age(heard.text):
            self.child_named = True
        if self.matcher.own_child(heard.text):  # "I'm 15": every stretch asked is theirs
            self.young_speaker = True
        offer, self.pending_offer = self.pending_offer, None
        asked_leg, self.asked_leg = self.asked_leg, None
        asked_about = self.asked_about
        asked_timer, self.asked_timer = self.asked_timer, None
        asked_hold, self.asked_hold = self.asked_hold, False
        timer_set, self.timer_set = self.timer_set, None
        asked_cancel, self.asked_cancel = self.asked_cancel, {}
        if asked_cancel and heard.red_flag is None:
            choice = self._cancel_choice(heard, asked_cancel)
            if choice is not None:
                return choice
        if timer_set is not None and heard.red_flag is None:
            heard = self._timer_correction(heard, timer_set)
            intent = heard.intent
        if heard.red_flag is None:
            heard = self._another_timer(heard)  # "another one for 20 minutes"
            intent = heard.intent
        if asked_hold:
            heard = self._hold_answer(heard)
            intent = heard.intent
        if asked_timer is not None:
            heard = self._timer_answer(heard, asked_timer)
            intent = heard.intent
            if intent is None:
                self.asked_timer = asked_timer  # still waiting for a duration
                unsaid = self.matcher.caution("ice_heat", heard.text)  # "how long should it be?"
                if unsaid is not None:
                    return Reply(unsaid, "ice_heat")
        if asked_leg:
            answered = self._leg_answer(heard, asked_leg, asked_about)
            if answered is not None:
                return answered
        if heard.red_flag is not None:
            return self._red_flag(heard.red_flag, heard.text)
        after = self._after_red_flag(heard)
        if after is not None:
            return after
        follow_up = self._follow_up(heard)
        if follow_up is not None:
            return follow_up
        if (
            intent in (None, "adjust")
            and not heard.slots
            and self._names_routine_talk("amount", heard.text)
        ):  # "how many reps should I do?": what the article says of holds, and no more
            intent = "stretching"
        alone = said_alone(risks)
        if intent is None and alone:  # "I have diabetes, can I use a heat pad?"
            self.misses = 0
            self.risks_said.update(r["name"] for r in alone)
            return self._risk_reply(self.cat.line(alone[0]["line"]), None)
        alone_caution = self.matcher.caution_alone(heard.text) if intent is None else None
        if alone_caution is not None:  # "I take warfarin": what it means for the advice
            self.misses = 0
            return Reply(*alone_caution)
        if self.matcher.better_remark(heard):
            self.misses = 0
            return Reply(
                self.cat.line("feeling_better"), None, action=TALK
            )  # or "good" mid-stretch
        if intent == "more":
            return self._more()
        if intent is None and self._denies_leg_pain(heard.text):
            return Reply(self.cat.line("leg_pain_no"), None)  # "no pain down my leg, ok?"
        if intent is None:
            self.misses += 1
            if self.declined:  # "no thanks" ... "what's the weather" ... "yes": no stretch
                self.recent_offer = None
            line = FALLBACKS[min(self.misses, len(FALLBACKS)) - 1]
            if line == FALLBACKS[0] and self.matcher.names_back(heard.text):
                line = "fallback_back"  # "I pulled something in my back": not "only back spasms"
            return Reply(self.cat.line(line), None, action=UNCLEAR)
        self.misses = 0
        self.declined = False
        if intent == "stretching" and self._names_routine_talk("starts", heard.text):
            intent = "start_routine"  # "can we do the stretch?": a start, not a question
        if offer is None and intent == "yes":  # "no thanks" ... "actually, yes"
            offer = self.recent_offer
        if self._caution_first(intent, offer):
            return Reply(self.cat.line("stretch_after_red_flag"), intent)
        if self._child_stretch(intent, heard.text):  # "can you guide him through it?"
            return self._risk_reply(self.cat.line("stretch_child"), intent)
        risk = self._risk_line(intent if intent != "yes" or not offer else "start_routine", risks)
        if risk is not None:  # "I'm diabetic, can I use a heat pad?"
            return self._risk_reply(risk, intent)
        if intent in STARTS - {"resume"} and self._names_routine_talk("later", heard.text):
            later = self.matcher.caution("stretching", heard.text)  # "again tomorrow?"
            if later is not None:
                return Reply(later, "stretching")
        if intent in ("timer_set", "timer_cancel") and self._pauses_timer(heard):
            return Reply(self.cat.line("timer_no_pause"), intent)  # not a cancel, nor a new one
        if intent == "stop" and self.last_request in TIMER_INTENTS and "cancel" in heard.text:
            intent = "timer_cancel"  # "cancel it", just after setting or checking a timer
        if intent == "adjust" and self._names_routine_talk("together", heard.text):
            return Reply(self.cat.line("one_knee_at_a_time"), intent)  # "both knees together?"
        if offer and intent == "yes" and heard.text in self._noted:  # "I see": no consent
            self.pending_offer = offer
            return Reply(self.cat.line("offer_unsure"), intent)
        if offer and intent in ("yes", "adjust", "resume"):  # "just the left side", "ready"
            slots = self.matcher.slots(heard.text, "start_routine")
            slots.pop("routine", None)
            return self._start(offer, slots)
        if intent == "adjust" and self._names_routine_talk("starts", heard.text):
            slots = self.matcher.slots(heard.text, "start_routine")  # "start it, one round"
            return self._start(slots.pop("routine", self._default_routine()), slots)
        rest = self._after_no(heard.text) if intent == "no" else None
        if offer and intent == "no":
            self.declined = True
        if rest is not None:  # "no thanks, what about heat?": declined, and the question
            return self._reply(rest)
        if offer and intent == "no":
            return Reply(self.cat.line("offer_declined"), intent)
        if intent == "no" and set(heard.text.split()) <= BARE_NO:  # "no, no!" mid-stretch
            return Reply(stateless_answer(self.cat.intent(intent), {}), intent, action=UNCLEAR)
        if offer and intent == "unsure":
            self.pending_offer = offer  # a later "yes" still starts it
            return Reply(self.cat.line("offer_unsure"), intent)
        if offer and intent == "thanks":  # neither a yes nor a no: the offer stays open
            self.pending_offer = offer
            return Reply(self.cat.line("offer_thanks"), intent)
        if intent == "start_routine":
            return self._start(heard.slots.get("routine") or self._default_routine(), heard.slots)
        spec = self.cat.intent(intent)
        text = self.matcher.caution(intent, heard.text) or self._kept_caution(intent)
        text = text or stateless_answer(spec, heard.slots)
        self.pending_offer = spec.offer
        if intent != "resume":  # "go on then", with nothing paused, may still start it
            self.recent_offer = spec.offer
        if intent == understand_mod.EMERGENCY_INTENT:  # "can it wait?" gets it again
            self.red_flag_said, self.red_flag_urgent = text, True
            self.red_flagged, self.cautioned = True, False  # no stretch before it is checked
            self.pending_offer = self.recent_offer = None
        self.asked_leg = intent if intent in LEG_QUESTIONS else None
        self.leg_asked_again = False  # a new question: "okay" to it is asked again
        self.asked_about = heard.text
        if intent == PAIN_INTENT and self._denies_leg_pain(heard.text):
            self.asked_leg, text = None, self.cat.line("pain_no_leg")  # "… my leg is fine"
        if intent == "symptom_check":
            said = self._symptom_placed(heard.text)
            if said is not None:  # "my arm is numb", "my leg isn't numb": no question
                self.asked_leg = None
                return Reply(said, intent, action=intent)
        other = self.matcher.other_line(intent, heard.text, self.child_named)
        if other and text == spec.answer:  # "my wife's back hurts": their legs
            text = self.cat.line(other)
        named = {k: v for k, v in heard.slots.items() if k in ("label", "task")}
        if intent == "timer_set" and not {"minutes", "seconds"} & set(heard.slots):
            self.asked_timer = named
        elif intent == "timer_set":
            self.timer_set = named
        action = intent if intent in ACTION_INTENTS else None
        return Reply(text, intent, heard.slots, action)

    def _follow_up(self, heard: Understanding) -> Reply | None:
        """A short question about the last answer ("how long?" after the stretching
        answer): that intent's ``caution_`` line, when the question names one of its
        ``[follow_ups]`` words. Only a question that means nothing on its own, or the
        general "how long" in at most :data:`GENERAL_WORDS` words, is taken so."""
        last, words = self.last_intent, len(heard.text.split())
        alone = heard.intent is None and words <= FOLLOW_UP_WORDS
        if not alone and not (heard.intent == "how_long" and words <= GENERAL_WORDS):
            return None
        if last not in self.cat.intents or self.cat.intents[last].kind != "knowledge":
            return None
        text = self.matcher.follow_up(last, heard.text)
        if text is None:
            return None
        self.misses = 0
        self.pending_offer = self.recent_offer = self.cat.intents[last].offer
        return Reply(text, last)

    def _kept_caution(self, intent: str) -> str | None:
        """The caution line of ``intent`` when its words were named earlier on."""
        if intent not in self.kept_cautions:
            return None
        return self.cat.line(catalogue_mod.CAUTION_PREFIX + intent)

    def _more(self) -> Reply:
        """ "Tell me more" or "why?" after a knowledge answer: its ``more_`` line once, then
        (or when it has none) that there is no more; with no such answer, what to ask."""
        self.misses = 0
        last = self.last_intent
        if last not in self.cat.intents or self.cat.intents[last].kind != "knowledge":
            return Reply(self.cat.intent("more").answer, "more")
        key = catalogue_mod.MORE_PREFIX + last
        if key not in self.cat.lines or self.last_answer == self.cat.line(key):
            return Reply(self.cat.line("more_none"), last)
        self.pending_offer = self.recent_offer = self.cat.intents[last].offer
        return Reply(self.cat.line(key), last)

    def _red_flag(self, rule: str | None, said: str, line: str | None = None) -> Reply:
        """The answer to the red flag of ``rule`` (a rule's name; or the sentence ``line``)
        in the sentence ``said``; one that is also an emergency ("I fell and I can't get up")
        gets that answer first."""
        self.red_flagged, self.cautioned = True, False  # each red flag: warn again
        self.recent_offer = None
        text = self.red_flag_said = self.matcher.red_flag_answer(rule, said, line)
        urgent = any(self.cat.line(key) in text for key in URGENT_LINES)
        self.red_flag_urgent = urgent or self.matcher.is_emergency(said)
        return Reply(text, understand_mod.SAFETY_INTENT, action=understand_mod.SAFETY_INTENT)

    def _after_red_flag(self, heard: Understanding) -> Reply | None:
        """After a red flag, "can it wait?", "is it serious?", "I can't get to a doctor" or
        "what do I do in the meantime?": its ``after_red_flag_<kind>`` line, followed for
        :data:`RED_FLAG_AGAIN` (or any kind, after an urgent one) by the red-flag answer
        again; None for anything else. A running stretch is ended, as for the red flag, so
        "stop, should I worry?" still stops it; an emergency is answered as one."""
        text = heard.text
        if self.red_flag_said is None or heard.intent not in AFTER_RED_FLAG_INTENTS:
            return None  # "set a timer while I wait", "is it dangerous to use heat": asked
        for kind, patterns in self._after_red_flag_words.items():
            if any(p.search(text) for p in patterns):
                kind = kind if kind in RED_FLAG_AGAIN or not self.red_flag_urgent else "wait"
                said = self.cat.line(f"after_red_flag_{kind}")
                if kind in RED_FLAG_AGAIN:
                    said = f"{said} {self.red_flag_said}"
                safety = understand_mod.SAFETY_INTENT
                return Reply(said, safety, action=safety)
        return None

    def _risk_reply(self, line: str, intent: str | None) -> Reply:
        """A ``[[risks]]`` line: no offer stays open ("okay" must not start the stretch),
        and a running stretch is ended as for a red flag ("I forgot, I had a hip
        replacement")."""
        self.recent_offer = None
        safety = understand_mod.SAFETY_INTENT
        return Reply(line, intent, action=safety)

    def _risk_line(self, intent: str, named: list[dict[str, Any]]) -> str | None:
        """The line of the first ``[[risks]]`` entry for ``intent`` named now, or kept from
        earlier and not yet said; None when none applies."""
        for risk in self.matcher.risks_for(intent):
            kept = risk["name"] in self.kept_risks and risk["name"] not in self.risks_said
            if risk in named or kept:
                self.risks_said.add(risk["name"])
                return self.cat.line(risk["line"])
        return None

    def _caution_first(self, intent: str, offer: str | None) -> bool:
        """After a red flag, whether this is the first request to stretch (or to carry on),
        which gets the advice to have it checked first."""
        stretch = intent in STRETCH_INTENTS or bool(self.cat.intent(intent).offer)
        if not self.red_flagged or self.cautioned or not (stretch or (offer and intent == "yes")):
            return False
        self.cautioned = True
        return True

    def _child_stretch(self, intent: str, text: str) -> bool:
        """Whether a stretch is asked for a child or a teenager ("I'm 15, what stretches can
        I do?", "can you guide him through it?" after "my son is 9"): the article does not
        cover children."""
        if intent not in CHILD_STRETCH_INTENTS:
            return False
        matcher = self.matcher
        if self.young_speaker or matcher.about_child(text) or matcher.asks_for_child(text):
            return True
        if matcher.about_other(text):  # "my husband has a bad back too, can he do it?"
            return False
        return self.child_named and matcher.stretch_for_someone(text)

    def _leg_answer(self, heard: Understanding, asked: str, about: str) -> Reply | None:
        """The reply to an answer to the leg question that ``asked`` (an intent) put after
        the sentence ``about``; None when the answer is another request. The two are read
        together for red flags: "I feel numb" ... "down below" is one."""
        together = f"{about} {heard.text}"
        flag = heard.red_flag or self.matcher.red_flag(together)
        if flag is not None:
            return self._red_flag(flag, together)
        if heard.story:  # the whole story answers the question, not its closing question
            heard = Understanding(None, heard.score, {}, heard.story)
        acknowledged = heard.text in self.cat.language["leg_denial"].get("acknowledgements", [])
        if acknowledged and not self.leg_asked_again:  # "okay": not a yes, nor a no
            self.asked_leg, self.asked_about, self.leg_asked_again = asked, about, True
            return Reply(self.cat.line("leg_ask_again"), "unsure")
        self.leg_asked_again = False
        young = self.matcher.child_age(heard.text) or self.matcher.own_child(heard.text)
        if young and heard.intent in (None, "no", "yes", "unsure"):  # "she's 14", "no, I'm 15"
            self.child_named = True
            self.asked_leg, self.asked_about = asked, about
            return Reply(self.cat.line(f"{asked}{understand_mod.CHILD_SUFFIX}"), asked)
        verdict = self._leg_verdict(heard)
        if verdict == "yes":
            return self._red_flag(None, heard.text, LEG_LINE)
        if verdict in ("no", "unsure") and asked == "symptom_check":  # "no, it's my arm"
            return Reply(self.cat.line("symptom_no"), verdict)
        if verdict in ("no", "unsure"):
            return Reply(self.cat.line(f"leg_pain_{verdict}"), verdict)
        if heard.intent in STRETCH_INTENTS and not self._child_stretch(heard.intent, heard.text):
            self.asked_leg, self.asked_about = asked, about  # "do it again": not before an answer
            return Reply(self.last_answer or self.cat.intent(asked).answer, asked)
        return None

    def _denies_leg_pain(self, text: str) -> bool:
        """ "No pain down my leg": a denial, with nothing after it that takes it back ("until")."""
        found = [m for p in self._pain_denied if (m := p.search(text))]
        if not found:  # what comes before a denial does not take it back ("…, but my leg is fine")
            return False
        first = min(found, key=lambda m: m.start())
        if self._leg_besides(text, first):  # "my left leg hurts, the right leg is fine"
            return False
        return not any(p.search(text, first.start()) for p in self._denial_unless)

    def _leg_besides(self, text: str, denial: re.Match[str]) -> bool:
        """Whether a part of a leg is named besides the one a denial is about: before it,
        or after it once the leg it names is passed ("no pain down my leg, it's my hip")."""
        if any(p.search(text[: denial.start()]) for p in self._leg_legs):
            return True
        after = text[denial.end() :].split()
        if not any(p.search(denial.group(0)) for p in self._leg_legs):
            own = next((i for i, w in enumerate(after[:3]) if self._names_leg(w)), None)
            after = after if own is None else after[own + 1 :]
        return any(self._names_leg(w) for w in after)

    def _names_leg(self, word: str) -> bool:
        return any(p.match(word) for p in self._leg_legs)

    def _symptom_placed(self, text: str) -> str | None:
        """For a nerve sign named with its place outside the legs ("my arm is numb") or
        denied ("my leg isn't numb"), what to say instead of asking where it is."""
        if any(p.search(text) for p in self._denied):
            return self.cat.line("symptom_no")
        if self._elsewhere.intersection(text.split()):
            return self.cat.line("symptom_elsewhere")
        return None

    def _leg_verdict(self, heard: Understanding) -> str | None:
        """An answer to "is the pain running down either of your legs?": "no", "yes" (a
        red flag: "the left one", "a little", "down to my knee"), "unsure", or None for
        another request ("stop", a question) to be handled as usual. A symptom that the
        red-flag rules still see once their `ignore` phrases are struck out is a yes."""
        if heard.red_flag is not None:
            return "yes"
        rule = self.cat.language["leg_denial"]
        back_only = any(p.search(heard.text) for p in self._leg_back) and not any(
            p.search(heard.text) for p in self._leg_legs
        )
        if not back_only and any(p.search(heard.text) for p in self._leg_when):
            return "yes"  # "only when I walk": when it runs down, not another question
        legs = any(p.search(heard.text) for p in self._leg_legs)
        if heard.intent in understand_mod.HALTS and legs:
            return "yes"  # "it stops at my knee": no command
        if heard.intent not in LEG_ANSWERS:
            return None
        words = heard.text.split()
        hedged = any(w in rule["unless"] for w in words)
        hedged = hedged or any(p in heard.text for p in rule.get("unsure", []))  # "not sure"
        said_no = bool(words) and words[0] in rule["starts"]
        said_no = said_no or any(w in rule["negations"] for w in words)
        one_side = any(w in SIDES for w in words) and (legs or "one" in words)
        one_side = one_side and not {"both", "legs"} & set(words)  # "not right now": no side
        if heard.intent not in ("unsure", "yes") and said_no and not hedged:
            return "unsure" if one_side else "no"  # "the left leg is fine": and the right?
        if heard.intent == "yes" or (
            not back_only and any(p.search(heard.text) for p in self._leg_yes)
        ):
            return "yes"
        return "unsure"

    def _timer_answer(self, heard: Understanding, named: dict[str, str]) -> Understanding:
        """After "how long should the timer run?", a duration ("15 minutes") sets it."""
        if heard.red_flag is not None:
            return heard
        slots = self.matcher.slots(heard.text, "timer_set")
        numbers = re.findall(r"\b\d+\b", heard.text)
        if len(numbers) == 1 and heard.intent in (None, "unsure", "yes"):
            slots["minutes"] = int(numbers[0])  # "fifteen", "about ten", "twenty I guess":
        if not {"minutes", "seconds"} & set(slots):  # minutes, as the question suggests first
            return heard
        if not {"label", "task"} & set(slots):
            slots |= named
        return Understanding("timer_set", 100.0, slots, heard.text, "timer_set")

    def _hold_answer(self, heard: Understanding) -> Understanding:
        """After "how many seconds would you like each hold to be?", a number alone ("8",
        "ten seconds") sets the hold."""
        number = HOLD_ANSWER.fullmatch(heard.text)
        if heard.red_flag is not None or number is None:
            return heard  # not "the pain is about a 7"
        return Understanding("adjust", 100.0, {"seconds": int(number[1])}, heard.text, "adjust")

    def _pauses_timer(self, heard: Understanding) -> bool:
        """Whether a timer request asks to pause one (``[timer_choice] pause``) and gives no
        length ("a timer to hold my knee for 20 seconds" is a new one)."""
        if {"minutes", "seconds"} & set(heard.slots):
            return False
        words = self.cat.language["timer_choice"].get("pause", [])
        return any(w in heard.text.split() for w in words)

    def _after_no(self, text: str) -> Understanding | None:
        """What follows a "no" that declines an offer (``[requests] declines``: "no thanks,
        what about heat?"), when that is understood as a request of its own (not another
        yes, no or thanks)."""
        match = self._declines.match(text)
        rest = text[match.end() :].strip() if match else ""
        if not rest:
            return None
        heard = self.matcher.understand(rest)
        return heard if heard.intent not in (None, *ANSWERS) else None

    def _names_routine_talk(self, kind: str, text: str) -> bool:
        """Whether the normalised text names one of ``[routine_talk] <kind>``."""
        words = self.cat.language.get("routine_talk", {}).get(kind, [])
        return any(re.search(rf"\b{re.escape(w)}\b", text) for w in words)

    def _timer_correction(self, heard: Understanding, named: dict[str, str]) -> Understanding:
        """Just after a timer was set, "no, make it 15 minutes" (``change``: set) or a number
        after one of ``[timer_choice] corrections`` ("no, fifteen not fifty") changes it; a
        bare number ("make that twenty") is minutes, as the timer question takes it."""
        if heard.intent == "timer_set":
            return heard
        slots = self.matcher.slots(heard.text, "timer_set")
        leads = self.cat.language["timer_choice"].get("corrections", [])
        short = len(heard.text.split()) <= CORRECTION_WORDS  # "no, 15 not 50", not a story
        corrected = short and any(heard.text.startswith(f"{lead} ") for lead in leads)
        if slots.get("change") != "set" and not corrected:
            return heard
        if not {"minutes", "seconds"} & set(slots):
            number = re.search(r"(?<!not )\b(\d+)\b", heard.text)
            if number is None:
                return heard
            slots["minutes"] = int(number.group(1))
        slots["change"] = "set"
        return Understanding("timer_set", 100.0, named | slots, heard.text, "timer_set")

    def _another_timer(self, heard: Understanding) -> Understanding:
        """After a timer request, "another one for 20 minutes" (one of ``[timer_choice]
        another``, a duration, at most :data:`CORRECTION_WORDS` words and nothing else
        understood) sets a new timer."""
        if heard.intent is not None or self.last_intent not in TIMER_INTENTS:
            return heard
        if len(heard.text.split()) > CORRECTION_WORDS + 2:
            return heard
        if not any(p.search(heard.text) for p in self._another):
            return heard
        slots = self.matcher.slots(heard.text, "timer_set")
        if not {"minutes", "seconds"} & set(slots):
            return heard
        slots.pop("change", None)  # a new timer, not a change to the last one
        return Understanding("timer_set", 100.0, slots, heard.text, "timer_set")

    def _cancel_choice(
        self, heard: Understanding, choices: dict[str, dict[str, Any]]
    ) -> Reply | None:
        """After "which timer should I cancel?": "the ice one", "both", "neither", or "not
        the ice one" (of two: the other). A longer sentence that is some other request
        ("how long should I ice for") is handled as usual."""
        words = heard.text.split()
        named = [word for word in choices if word in words]
        kept = any(p.search(heard.text) for p in self._keep)
        other = heard.intent not in (None, "timer_cancel", "no") and len(words) > CHOICE_WORDS
        if other and not (kept and named):  # "no, keep the ice one" is a choice all the same
            return None
        if kept and len(named) == 1 and len(choices) == 2:  # "no, keep the ice one"
            other = next(word for word in choices if word != named[0])
            return Reply("", "timer_cancel", choices[other], "timer_cancel")
        if kept:
            return Reply(self.cat.line("routine_timer_kept"), "no")
        if named:
            return Reply("", "timer_cancel", choices[named[0]], "timer_cancel")
        if self.matcher.slots(heard.text, "timer_cancel").get("scope") == "all":
            return Reply("", "timer_cancel", {"scope": "all"}, "timer_cancel")
        return None

    def _start(self, routine: str, slots: dict[str, Any]) -> Reply:
        self.recent_offer = None
        text = stateless_answer(self.cat.intent("start_routine"), slots)
        return Reply(text, "start_routine", slots, "start_routine", routine)

    def _default_routine(self) -> str:
        offers = [i.offer for i in self.cat.intents.values() if i.offer]
        return offers[0] if offers else ""
