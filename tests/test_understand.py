"""Understanding text: accuracy on a separate development set, rejection, red flags, slots."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from voice_coach import catalogue
from voice_coach.dialogue import answer
from voice_coach.recognise import grammar_phrases
from voice_coach.understand import normalise, understand

CAT = catalogue.default()

DEV = tomllib.loads((Path(__file__).parent / "data" / "dev_sentences.toml").read_text())
IN_SCOPE = [
    (intent, text)
    for intent, texts in DEV.items()
    if intent not in ("out_of_scope", "red_flags", "cautions")
    for text in texts
]


def test_dev_set_is_big_enough_and_separate_from_the_catalogue():
    cat = catalogue.load()
    for intent in cat.intents.values():
        need = 10 if intent.kind == "knowledge" else 3
        assert len(DEV[intent.id]) >= need, intent.id
    assert len(DEV["out_of_scope"]) >= 30
    phrasings = {normalise(p) for i in cat.intents.values() for p in i.phrases}
    copied = [t for _, t in IN_SCOPE if normalise(t) in phrasings and len(t.split()) > 2]
    assert not copied, f"dev sentences copied from the catalogue: {copied}"


def test_in_scope_accuracy_is_at_least_95_percent():
    misses = [
        (want, text, understand(text).intent)
        for want, text in IN_SCOPE
        if understand(text).intent != want
    ]
    accuracy = 1 - len(misses) / len(IN_SCOPE)
    print(f"\nin-scope accuracy {accuracy:.1%} ({len(IN_SCOPE) - len(misses)}/{len(IN_SCOPE)})")
    for miss in misses:
        print("  miss:", miss)
    assert accuracy >= 0.95


def test_out_of_scope_rejection_is_at_least_90_percent():
    sentences = DEV["out_of_scope"]
    accepted = [(t, understand(t).intent) for t in sentences if understand(t).intent is not None]
    rejection = 1 - len(accepted) / len(sentences)
    print(f"\nout-of-scope rejection {rejection:.1%}; accepted: {accepted}")
    assert rejection >= 0.90


def test_each_red_flag_rule_is_set_off_by_its_own_examples():
    cat = catalogue.load()
    wrong = [
        (rule["name"], example, understand(example).red_flag)
        for rule in cat.language["red_flags"]
        for example in rule["examples"]
        if understand(example).red_flag != rule["name"]
    ]
    assert not wrong


def test_no_development_red_flag_is_among_the_examples_the_recogniser_learns():
    """The spoken red-flag figures are for sentences the language model has not seen."""
    examples = {e for rule in catalogue.load().language["red_flags"] for e in rule["examples"]}
    assert examples.isdisjoint(DEV["red_flags"])


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I do not know", "unsure"),  # "no" is a word, not the start of "not"
        ("not now", "no"),
        ("no", "no"),
        ("I'm not sure", "unsure"),  # "sure" alone would be a yes
        ("sure", "yes"),
        ("can I do yoga", "not_covered"),  # "please do" must not leave a bare "do" keyword
        ("can I take a pill", "medication"),
        ("what pillow should I use", None),  # "pill" is not a stem of "pillow"
    ],
)
def test_short_keywords_match_whole_words(text, intent):
    assert understand(text).intent == intent


def test_every_keyword_keeps_a_word_that_means_something():
    """A keyword that normalises to nothing or to one stopword ("please do" to "do") would
    match almost any sentence; phrases of stopwords ("what should i do") are specific."""
    from voice_coach.understand import matcher_for

    matcher = matcher_for()
    empty = [
        (intent.id, keyword)
        for intent in catalogue.load().intents.values()
        for keyword in intent.keywords
        if len(words := matcher.normalise(keyword).split()) < 2
        and all(w in matcher.stopwords for w in words)
    ]
    assert not empty


@pytest.mark.parametrize(
    "text",
    [
        "i have chest pains",
        "my chest feels tight",
        "i fell and hurt my back",
        "i had fell this morning and my back hurts",
        "i slipped on the ice and hurt my back",
        "i tripped and landed on my back",
        "i peed myself",
        "i can not move my legs",
        "my legs are paralysed",
        "my bum is numb",
        "i have a temperature",
        "it's not getting any better",
        "my back pain is worse today",
        "set a timer, my leg has gone numb",
    ],
)
def test_red_flags_found_in_review_go_to_see_doctor(text):
    assert understand(text).intent == "see_doctor"


def test_every_red_flag_goes_to_see_doctor():
    wrong = [t for t in DEV["red_flags"] if understand(t).intent != "see_doctor"]
    print(
        f"\nred flags to see_doctor: {len(DEV['red_flags']) - len(wrong)}/{len(DEV['red_flags'])}"
    )
    assert not wrong


@pytest.mark.parametrize(
    "text",
    [
        "my weak back muscles",
        "how do i stretch my left leg gently",
        "should i lie with my legs bent",
        "my back hurts",
        "pull my knee into my chest",
        "put my knee down to the floor",
        "my knees are bent",
        "let both knees go down to one side",
        "how far should my knee go down",
        "should my knee travel across my body",
        "the stretch spreads my knees",
        "i can not lift my knee that high",
        "i fell asleep on my back",
        "the ice pack fell off",
        "i need to pee",
        "is it enough to just rest",
        "is my posture getting worse",
        "pull my knee to my chest",
        "i'm dropping my knee to the side",
        "i drag my knee up to my chest",
        "bring my knee down to my chest, it hurts a bit",
        "the ice pack fell off, should i put it back",
        "the heat pad fell on the floor",
        "i'm crashing out, can i stretch in bed",
        "is heat no better than ice for it",
        "i fell asleep on my back",
        "i fell asleep with my legs up",
        "i fell back asleep this morning",
        "i had fell asleep this morning and my back hurts",
        "should i pull my leg into my chest",
        "it hurts when i pull my knee down into my chest",
        "i'm moving my leg slowly",
        "when i pull my leg in i feel a sharp stretch",
        "the stretch goes into my backside",
        "my thigh is sore from moving furniture",
        "i couldn't get off the loo this morning",
        "i can't get to the toilet because of my back",
        "i have to hold on to get off the toilet",
        "i was asleep on my side with my knees bent",
    ],
)
def test_general_words_are_not_red_flags(text):
    assert understand(text).intent != "see_doctor"


def test_every_catalogue_phrasing_reaches_its_own_intent():
    """Every entry in prompts/ is reachable: each phrasing, with numbers filled in."""
    cat = catalogue.load()
    wrong = []
    for intent in cat.intents.values():
        for phrase in intent.phrases:
            text = phrase.format(seconds=12, minutes=15, reps=3)
            if understand(text).intent != intent.id:
                wrong.append((intent.id, text, understand(text).intent))
    assert not wrong


@pytest.mark.parametrize(
    ("text", "intent", "slots"),
    [
        ("Hold for twelve seconds", "adjust", {"seconds": 12}),
        ("do 3 reps", "adjust", {"reps": 3}),
        ("left side only", "adjust", {"side": "left"}),
        ("both sides please", "adjust", {"side": "both"}),
        ("set a 15 minute timer for ice", "timer_set", {"minutes": 15, "label": "ice"}),
        ("set a timer for thirty seconds", "timer_set", {"seconds": 30}),
        ("set a timer", "timer_set", {}),
        ("set a timer for half an hour", "timer_set", {"minutes": 30}),
        ("set a timer for an hour", "timer_set", {"minutes": 60}),
        ("set a timer for 15 minutes for ice", "timer_set", {"minutes": 15, "label": "ice"}),
        ("set a timer for minus 5 minutes", "timer_set", {"minutes": 5}),  # not "the minus timer"
        ("count down from ten", "count", {"seconds": 10, "order": "down"}),
        ("cancel all timers", "timer_cancel", {"scope": "all"}),
        ("count to fifteen", "count", {"seconds": 15}),
        ("speak up", "speech_adjust", {"direction": "louder"}),
        ("you're talking too fast", "speech_adjust", {"direction": "slower"}),
        ("cancel the heat timer", "timer_cancel", {"label": "heat"}),
        (
            "remind me in 10 minutes to take my ice off",
            "timer_set",
            {"minutes": 10, "task": "take your ice off"},
        ),
        (
            "remind me to take the ice off in half an hour",
            "timer_set",
            {"minutes": 30, "task": "take the ice off"},
        ),
        (
            "in twenty minutes tell me to switch to heat",
            "timer_set",
            {"minutes": 20, "task": "switch to heat"},
        ),
        (
            "set a timer for 5 minutes to turn over",
            "timer_set",
            {"minutes": 5, "task": "turn over"},
        ),
        ("set a timer for 2 to 3 minutes", "timer_set", {"minutes": 3}),
        ("set a timer for one hour and fifteen minutes", "timer_set", {"minutes": 75}),
        ("set a timer for two and a half minutes", "timer_set", {"seconds": 150}),
        ("set a timer to go off in 10 minutes", "timer_set", {"minutes": 10}),
        ("remind me in 10 minutes what to do", "timer_set", {"minutes": 10}),
        ("add a 5 minute timer", "timer_set", {"minutes": 5}),
        (
            "add five more minutes to the ice timer",
            "timer_set",
            {"minutes": 5, "change": "add", "label": "ice"},
        ),
        ("what timers are running", "timer_status", {}),
        ("is my timer still going", "timer_status", {}),
        ("stop all the timers that are running", "timer_cancel", {"scope": "all"}),
        ("this is really worrying me", "scared", {}),
        ("cancel the heat one", "timer_cancel", {"label": "heat"}),
        ("cancel the reminder", "timer_cancel", {"label": "reminder"}),
        ("how long is left on the ice timer", "timer_status", {"label": "ice"}),
        ("set a reminder for 10 minutes", "timer_set", {"minutes": 10}),
        ("I'm done", "stop", {}),  # mid-stretch: the stretch ends, the conversation goes on
        ("start the knee to chest routine", "start_routine", {"routine": "knee-to-chest"}),
        ("how do I stretch my back", "stretching", {}),
    ],
)
def test_slots(text, intent, slots):
    heard = understand(text)
    assert (heard.intent, heard.slots) == (intent, slots)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What's the BEST stretch?!", "what is the best stretch"),
        ("Um, I can't, you know, twenty-five", "i can not 25"),
        ("hold for one hundred seconds", "hold for 100 seconds"),
        ("one moment", "one moment"),
        ("Knee-to-chest", "knee to chest"),
        ("call nine nine nine", "call 999"),  # a phone number, said digit by digit
        ("should I call one one one", "should i call 111"),
        ("five four three two one", "5 4 3 2 one"),  # a countdown is not one
        ("two three seconds", "2 3 seconds"),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("call nine nine nine", "emergency"),
        ("I need to dial nine one one", "emergency"),
        ("should I call one one one", "see_doctor"),
    ],
)
def test_phone_numbers_said_digit_by_digit_as_a_recogniser_writes_them(text, intent):
    assert understand(text).intent == intent


def test_empty_and_garbage_text_is_rejected_with_a_score():
    for text in ("", "   ", "?!", "zzzz qqqq"):
        heard = understand(text)
        assert heard.intent is None and 0.0 <= heard.score <= 100.0


def test_matching_is_a_pure_function_of_text():
    assert understand("should I use ice or heat") == understand("should I use ice or heat")


@pytest.mark.parametrize(
    "text",
    [
        "the pain goes into my leg",
        "pain from my back into my leg",
        "the pain has moved to my leg",
        "shooting pain in my hamstring",
        "sharp pain in my leg when I cough",
        "I fell over",
        "I've had a fall",
        "I took a tumble down the stairs yesterday",
        "I came off my bike",
        "I couldn't make it to the toilet in time",
        "I keep needing to wee but nothing comes out",
        "I wet the bed last night",
        "my private parts feel numb",
        "I've lost feeling in my leg",
        "my foot feels like it's asleep",
        "my toes won't move",
        "my foot keeps slapping the ground when I walk",
        "I'm feeling worse today",
        "I've got a temperature and my back hurts",
        "my leg fell asleep",
        "my foot fell asleep and it will not wake up",
        "I fell asleep, then I fell down the stairs",
    ],
)
def test_red_flags_phrased_as_a_reviewer_did_reach_see_doctor(text):
    assert understand(text).intent == "see_doctor"


@pytest.mark.parametrize(("intent", "texts"), list(DEV["cautions"].items()))
def test_a_caution_word_gets_the_caution_line_instead_of_the_answer(intent, texts):
    """ "I'm on blood thinners, can I take ibuprofen?" is for a pharmacist or a doctor."""
    line = catalogue.default().line(f"caution_{intent}")
    got = [t for t in texts if answer(understand(t)) == line]
    print(f"\n{intent}: {len(got)}/{len(texts)} cautioned")
    assert len(got) >= 0.8 * len(texts), sorted(set(texts) - set(got))
    assert answer(understand("can i take ibuprofen")) != line


@pytest.mark.parametrize(
    ("text", "intents"),
    [
        ("stop and set a timer for 15 minutes", ["stop", "timer_set"]),
        ("stop the stretch and then cancel the timer", ["stop", "timer_cancel"]),
        ("can I take ibuprofen, and should I see a doctor", ["medication", "see_doctor"]),
        ("tell me about posture and what mattress should I get", ["posture", "support"]),
        ("should I use ice and heat", ["ice_heat"]),
        ("hold for 15 seconds and do 3 reps", ["adjust"]),
        ("okay and stop", ["stop"]),
        ("yes and hold for 15 seconds", ["adjust"]),
        ("how do I make coffee and then stop", [None]),
        ("stop and my leg has gone numb", ["see_doctor"]),
    ],
)
def test_two_requests_in_one_sentence_are_both_understood_and_one_stays_one(text, intents):
    heard = understand(text)
    assert [heard.intent, *(more.intent for more in heard.also)] == intents
    if len(intents) > 1:
        assert heard.also[0].slots == understand(text.split(" and ")[-1]).slots


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("ow", "pain_report"),
        ("argh", "pain_report"),
        ("my calf is cramping", "pain_report"),
        ("I have a cramp in my leg", "pain_report"),
        ("my leg is spasming", "pain_report"),
        ("should I put ice on my leg cramp", "pain_report"),
        ("should I put ice on my back, my leg aches too", "ice_heat"),
        ("when should I see a doctor about my leg pain", "see_doctor"),
        ("my hands tingle", "symptom_check"),
        ("I've got a pain in the back of my knee", "pain_report"),
        ("there's a nerve pain", "symptom_check"),
        ("it shoots down", "symptom_check"),
        ("I get a stabbing pain that shoots into my hip", "symptom_check"),
        ("my leg feels heavy", "see_doctor"),
        ("I can't lift my leg", "see_doctor"),
        ("are you a doctor", "help"),
        ("can my husband pull my legs to stretch my back", "traction"),
        ("how long do I keep the brace on", "support"),
        ("now", "no"),
        ("how", None),
        ("is heat helpful", "ice_heat"),
        ("it's getting on my nerves", None),
        ("how long until the ice is done", "timer_status"),
        ("I'm scared, I can't move", "emergency"),
        ("I'm frightened, my leg is numb", "see_doctor"),
        ("I'm scared it hurts so much", "pain_report"),
        ("I'm scared", "scared"),
        (
            "I did not have any pain going down my leg until this morning, now there is",
            "see_doctor",
        ),
        ("I don't have any pain going down my left leg, only my right leg", "see_doctor"),
    ],
)
def test_pain_sounds_leg_pains_and_plain_questions(text, intent):
    """Short pain sounds are pain reports (but "how" and "now" are not); pain in the calf, a
    leg or behind the knee gets the leg question, not the article's answer for a back, unless
    the back is named too; a heavy or weak leg is a red flag; a keyword's stem ("tingl")
    counts its words as known ("tingle")."""
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        (
            "so I was lifting a heavy box out of the car yesterday and something just went in "
            "my lower back and now I was wondering what I should actually be doing about it",
            "overview",
        ),
        ("I went to the shop and bought some milk and then I wondered, ice or heat?", "ice_heat"),
        ("I went to the shop and bought some milk and then I came home and sat down", None),
        (  # "stop" in it: unmatched (which pauses a stretch), not its closing question
            "I went to the shop and bought some milk and then I had to stop on the way home "
            "and what should I be doing about my back",
            None,
        ),
        (  # the last part is no question about the back
            "I went to the shop and bought some milk and then I came home and said hello",
            None,
        ),
        (  # an emergency in the story is answered, not its closing question
            "I've been lying on the bedroom floor for an hour now and I can't get up and what "
            "should I do about my back",
            "emergency",
        ),
        (
            "I want to stop the stretch because it pulls in my lower back and is that normal "
            "and what should I do",
            None,
        ),
        (  # a caution's words: the plain medicine answer would leave the caution out
            "I'm on blood thinners for my heart and I hurt my back lifting a box yesterday and "
            "can I take ibuprofen",
            None,
        ),
        (
            "I've got this tingling feeling and it comes and goes when I sit at my desk and "
            "what should I do about it",
            "symptom_check",
        ),
        ("my dog hurt his back jumping off the sofa yesterday and what should I do about it", None),
    ],
)
def test_a_long_story_is_answered_by_its_closing_question(text, intent):
    assert understand(text).intent == intent


def test_numbness_between_the_legs_gets_the_urgent_line_alone():
    from voice_coach.understand import matcher_for

    matcher = matcher_for()
    text = normalise("numb between my legs")
    said = matcher.red_flag_answer(matcher.red_flag(text), text)
    assert said == CAT.line("red_flag_urgent")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("thanks, what about heat", "ice_heat"),
        ("how do I stretch my back, thank you", "stretching"),
        ("thanks for that, how long should I hold it", "stretching"),
        ("cheers, set a timer for 5 minutes", "timer_set"),
        ("thank you, my leg has gone numb", "see_doctor"),
        ("thank you so much", "thanks"),
        ("that's great, thanks", "thanks"),
        ("thanks for your help", "thanks"),
        ("no thank you", "no"),
        ("yes thanks", "yes"),
        ("thank you, goodbye", "goodbye"),
    ],
)
def test_thanks_around_a_request_leaves_the_request(text, intent):
    """``[requests] courtesy``: thanks said before or after a request is set aside, but a
    bare "great, thanks" or "thanks for your help" is thanks."""
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("I think I'm having a heart attack", "red_flag_chest"),
        ("I can't breathe properly", "red_flag_chest"),
        ("my chest is tight and my left arm hurts", "red_flag_chest"),
        ("I keep wetting myself since this started", "red_flag_urgent"),
        ("I'm numb down there", "red_flag_urgent"),
        ("I can't feel anything when I wipe", "red_flag_urgent"),
        ("I'm 30 weeks pregnant and having back spasms that come and go", "red_flag_pregnancy"),
        ("I'm pregnant, can I take something for my back", "red_flag_pregnancy"),
        ("the pain goes into my groin", "red_flag_leg"),
        ("I can't stand on my right leg", "red_flag_leg"),
        ("my legs won't work", "red_flag_leg"),
        ("my foot feels a bit funny", "red_flag_leg"),
        ("there's blood in my wee", "red_flag_answer"),
        ("my back went when I slipped in the shower", "red_flag_answer"),
        ("I had cancer a few years ago and now my back hurts", "red_flag_answer"),
        ("I've been losing weight without trying and my back aches at night", "red_flag_answer"),
        ("the pain wakes me up at night and it's constant", "red_flag_answer"),
        ("I have osteoporosis", "red_flag_answer"),
        ("I have weak bones", "red_flag_answer"),
        ("I'm having trouble going to the toilet", "red_flag_urgent"),
        ("I can barely walk", "red_flag_leg"),
        ("my legs feel wobbly", "red_flag_leg"),
        ("I've got a burning feeling in my thigh", "red_flag_leg"),
        ("I leaked a bit when I coughed", "red_flag_urgent"),
        ("i cant feel myself when i wipe", "red_flag_urgent"),
        ("i havent been able to pee", "red_flag_urgent"),
        ("the pain is worse at night", "red_flag_answer"),
        ("I leaked a bit when I coughed", "red_flag_urgent"),
        ("I feel hot and shivery and my back hurts", "red_flag_answer"),
        ("I'm on steroids and my back hurts", "red_flag_answer"),
    ],
)
def test_each_kind_of_red_flag_gets_its_own_answer(text, line):
    """A reviewer's sentences: chest pain is for the emergency services, bladder trouble is
    urgent, pregnancy is for a midwife; every answer says to see a medical practitioner."""
    heard = understand(text)
    assert heard.intent == "see_doctor"
    assert answer(heard) == CAT.line(line) and "medical practitioner" in answer(heard)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I can't move at all", "emergency"),
        ("I'm stuck in the bath", "emergency"),
        ("my back is spasming and I feel faint", "emergency"),
        ("I feel dizzy and faint", "emergency"),
        ("I keep fainting", "emergency"),
        ("I fainted earlier today when I got up", "emergency"),  # a keyword is enough
        ("I have been fainting since the spasm started", "emergency"),
        ("i cant get up", "emergency"),
        ("ok im back", "resume"),
        ("the ice pack is leaking", "ice_heat"),
        ("is massage good for back spasms", "not_covered"),
        ("call my wife", "emergency"),
        ("should I call my GP", "see_doctor"),
        ("aah my back's seized", "pain_report"),
        ("my lower back is really sore", "pain_report"),
        ("is it safe to exercise when pregnant", "see_doctor"),  # a midwife's question
        ("I'm sick of this pain", None),
        ("should I use heat at night", "ice_heat"),
        # Walkthrough sentences the red-flag and emergency words must leave alone.
        ("my ice pack leaked when I put it on my back", "ice_heat"),
        ("I have no trouble going to the toilet", None),
        ("I can hardly stand this pain", None),
        ("the heat pad is burning my thigh", "ice_heat"),
        ("is it ok if my knee wobbles a bit in the stretch", "stretching"),
        ("is heat good for pain at night", "ice_heat"),
        ("I'm not dizzy or faint, just sore", "pain_report"),
        ("am I going to be ok", "scared"),
        ("is there anything else", "help"),
        ("tell me more about ice", "ice_heat"),
        ("is there anything else I should know about ice", "ice_heat"),
        ("is this a muscle spasm or something worse", "see_doctor"),
        ("I can't sleep because of the pain", "pain_report"),
        ("I can barely move", "pain_report"),  # a helper's review: all three were missed
        ("I can hardly move this morning", "pain_report"),
        ("this is the worst pain I've ever felt", "pain_report"),
        ("I have a spasm, what should I do", "overview"),
    ],
)
def test_emergencies_and_acute_pain_phrased_as_a_reviewer_did(text, intent):
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("I take warfarin, what can I take", "caution_medication"),
        ("can I take my mum's codeine", "caution_medication"),
        ("is it ok to take diazepam", "caution_medication"),
        ("I'm diabetic, can I take ibuprofen", "caution_medication"),
        ("what about paracetamol and ibuprofen together", "caution_medication"),
        ("can I take paracetamol", "caution_medication"),  # not an anti-inflammatory
        ("is tylenol ok for my back", "caution_medication"),
        ("can I give my son ibuprofen, he's fourteen and hurt his back", "risk_child_medicine"),
        ("my eight year old has a bad back, what should I do", "caution_overview"),
        ("my 12 year old has back pain, what tablets can he take", "risk_child_medicine"),
        ("can I give my 12 year old ibuprofen for his back", "risk_child_medicine"),
        ("can my dog have ibuprofen", "caution_medication"),
        ("I took four ibuprofen an hour ago, can I take more", "caution_medication"),
        ("is twenty minutes of ice ok", "caution_ice_heat"),  # no time is given: not a yes
        ("can I sleep with a heat pad overnight", "caution_ice_heat"),
    ],
)
def test_medicine_questions_with_a_risk_and_a_child_s_back_are_cautioned(text, line):
    said = answer(understand(text))
    assert said.startswith(CAT.line(line))
    pet = said.removeprefix(CAT.line(line)).strip()  # a vet, for a pet only
    assert pet == (CAT.line("pet_medicine") if "dog" in text else "")


@pytest.mark.parametrize(
    "text",
    [
        "I'm a 40 year old man, can I take ibuprofen",
        "does ibuprofen take more than an hour to work",
        "I hurt my back walking my dog, what painkiller should I take",
        "is extra strength ibuprofen ok for a back spasm",
    ],
)
def test_plain_medicine_questions_get_the_plain_answer(text):
    assert answer(understand(text)) == CAT.intent("medication").answer


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("my neck is in spasm what do i do", None),
        ("can i take ibuprofen for my neck spasm", None),
        ("what stretch helps a spasm in my shoulder", None),
        ("is ice good for a neck spasm or just the back", "ice_heat"),
        ("what stretch helps the spasm between my shoulder blades", "stretching"),
        ("why does my spasm hurt when i cough", "causes"),
    ],
)
def test_a_spasm_elsewhere_than_the_back_is_not_answered_as_one_in_it(text, intent):
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("pins and needles in my groin", "see_doctor"),
        ("my bits are numb", "see_doctor"),
        ("my heel is numb", "see_doctor"),
        ("its been getting worse and worse all week", "see_doctor"),
        ("the pain has gotten worse since yesterday", "see_doctor"),
        ("nothing helps the pain at all", "see_doctor"),
        ("ive had a temperature since yesterday", "see_doctor"),
        ("im burning up", "see_doctor"),
        ("i keep dropping my foot", "see_doctor"),
        ("my leg just went from under me", "see_doctor"),
        ("i cant feel the inside of my thigh", "see_doctor"),
        ("my leg keeps going to sleep", "see_doctor"),
        ("my feet feel like theyre on fire", "see_doctor"),
        ("i had chemo last year", "see_doctor"),
        ("im on prednisolone", "see_doctor"),
        ("i peed blood", "see_doctor"),
        ("i got knocked off my bike yesterday", "see_doctor"),
        ("it hurts to breathe", "see_doctor"),
        ("i cant move and my phone is across the room", "emergency"),
        ("ive been on the floor since last night", "emergency"),
        ("i cant reach my phone", "emergency"),
        ("can you ring my daughter", "emergency"),
        ("i feel sick and dizzy", "emergency"),
        # and what must stay as it was
        ("i have no pins and needles in my bum", "symptom_check"),
        ("it got worse when i sat down", None),
        ("is heat much worse than ice", "ice_heat"),
        ("my posture got worse", "posture"),
        ("i cant feel the stretch in my leg", "stretching"),
        ("should i ring my gp", None),
    ],
)
def test_red_flags_and_emergencies_a_walkthrough_found_missing(text, intent):
    assert understand(text).intent == intent


TABLETS = {"minutes": 120, "task": "take your tablets"}


@pytest.mark.parametrize(
    ("text", "intent", "slots"),
    [
        ("hold 15", "adjust", {"seconds": 15}),
        ("hold it for 10", "adjust", {"seconds": 10}),
        ("hold on", "pause", {}),
        ("is ibuprofen safe for cats", "medication", {}),
        ("ok go", "resume", {}),
        ("where was i", "resume", {}),
        ("remind me in 2 hours to take my tablets", "timer_set", TABLETS),
        ("remind me to take my tablets in 2 hours", "timer_set", TABLETS),
    ],
)  # fmt: skip
def test_a_bare_hold_length_and_a_reminder_for_tablets(text, intent, slots):
    heard = understand(text)
    assert (heard.intent, heard.slots) == (intent, slots)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("is yoga good for back spasms", None),
        ("should i get an xray", None),
        ("can i sleep with the heat pad on", "caution_ice_heat"),
        ("is it safe to wear my back brace overnight", "caution_support"),
    ],
)
def test_what_the_article_does_not_cover_is_not_answered_from_it(text, line):
    said = answer(understand(text))
    assert said == (CAT.line(line) if line else CAT.intent("not_covered").answer)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("how do I stop it coming back", "prevention"),
        ("how do i stop it coming dad", None),  # misheard: a question, never the command
        ("how can I stop combat", None),
        ("how do I stop the stretch", "stop"),
        ("how do I stop it", "stop"),
        ("how can I stop talking to you", "stop"),
        ("how do I pause it", "pause"),
        ("stop", "stop"),
    ],
)
def test_a_question_on_how_to_stop_something_is_not_the_stop_command(text, intent):
    """ "Stop" in a how-question is carried out only when the words after "how do I" are the
    command alone ([requests] asked_how)."""
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("my chest feels heavy", "red_flag_chest"),
        ("I feel breathless", "red_flag_chest"),
        ("my heart is racing", "red_flag_chest"),
        ("pain between my shoulder blades and my left arm", "red_flag_chest"),
        ("I couldn't feel the toilet paper", "red_flag_urgent"),
        ("I've got no control down there", "red_flag_urgent"),
        ("I keep leaking", "red_flag_urgent"),
        ("I've had a bit of an accident in my pants", "red_flag_urgent"),
        ("he's wet himself", "red_flag_urgent"),
        ("I'm a bit wobbly on my legs these days", "red_flag_leg"),
        ("he's got pain down his leg", "red_flag_leg"),
        ("I've had a bit of a temperature", "red_flag_answer"),
        ("I feel hot and cold", "red_flag_answer"),
        ("my back is red and hot", "red_flag_answer"),
        ("I'm shaking and cold", "red_flag_answer"),
        ("I'm 80 and I fell", "red_flag_answer"),
        ("I keep falling over", "red_flag_answer"),
        ("I've lost a stone without trying", "red_flag_answer"),
        ("the pain keeps me awake at night", "red_flag_answer"),
        ("the pain is there all the time even when I lie still", "red_flag_answer"),
        ("I'm pregnant, can I use a heat pad", "red_flag_pregnancy"),
        ("I've just had a baby and my back aches", "red_flag_pregnancy"),
        ("I can hardly breathe", "red_flag_chest"),
        ("I'm struggling for breath", "red_flag_chest"),
        ("there's a pain across my chest", "red_flag_chest"),
        ("my heart is beating really fast", "red_flag_chest"),
        ("my back and chest hurt", "red_flag_chest"),
        ("the pain spreads round to my chest", "red_flag_chest"),
        ("I'm gasping for air", "red_flag_chest"),
        ("my heart keeps fluttering", "red_flag_chest"),
        ("I'm expecting, can I use a heat pad", "red_flag_pregnancy"),
        ("I had a c-section last week and my back hurts", "red_flag_pregnancy"),
        ("my back has hurt since my caesarean, can I use heat", "red_flag_pregnancy"),
        # a third review's sentences, each once out of scope or answered with advice
        ("I can't feel when I need to go", "red_flag_urgent"),
        ("I don't know when I need to wee", "red_flag_urgent"),
        ("I can't tell if I need the toilet", "red_flag_urgent"),
        ("I've not been able to go to the toilet", "red_flag_urgent"),
        ("I can't poo", "red_flag_urgent"),
        ("I can't feel myself when I go to the loo", "red_flag_urgent"),
        ("it's numb around my back passage", "red_flag_urgent"),
        ("he can't feel his bottom", "red_flag_urgent"),
        ("she slipped on the ice yesterday and hurt her back", "red_flag_answer"),
        ("I fell out of bed", "red_flag_answer"),
        ("my mum had a fall and now her back hurts", "red_flag_answer"),
        ("my husband fell over last night and hurt his back", "red_flag_answer"),
        ("my mum is 90 and she fell", "red_flag_answer"),
        ("my dad slipped in the bath", "red_flag_answer"),
        ("I missed a step", "red_flag_answer"),
        ("I came down hard on my tailbone", "red_flag_answer"),
        ("I got rear-ended yesterday", "red_flag_answer"),
        ("my husband can't feel his legs", "red_flag_leg"),
        ("he can't move his legs", "red_flag_leg"),
        ("there's a pain going into my bottom and down", "red_flag_leg"),
        ("I've been losing weight", "red_flag_answer"),
        ("I've been sweating a lot at night", "red_flag_answer"),
        ("I'm hot and sweaty and shaking", "red_flag_answer"),
        ("the pain is there all the time", "red_flag_answer"),
        ("it's constant", "red_flag_answer"),
        ("I inject drugs", "red_flag_answer"),
        ("I tripped over the cat yesterday", "red_flag_answer"),
        ("I've had this pain for 6 weeks", "red_flag_answer"),
        ("it's been going on for weeks", "red_flag_answer"),
        ("it hurts constantly", "red_flag_answer"),
        ("the pain never goes away", "red_flag_answer"),
        ("I wake up sweating", "red_flag_answer"),
        ("I'm expecting and my back hurts", "red_flag_pregnancy"),
        # this session's sentences: a number said between the words, or no pain word
        ("I had a c-section 3 weeks ago, can I stretch", "red_flag_pregnancy"),
        ("I had a caesarean three weeks ago", "red_flag_pregnancy"),
        ("had my caesarean a week ago", "red_flag_pregnancy"),
        ("I had a baby 2 weeks ago and my back hurts", "red_flag_pregnancy"),
        ("I've had this for three months", "red_flag_answer"),
        ("I've had it for 2 years", "red_flag_answer"),
    ],
)
def test_red_flags_said_in_everyday_words_get_their_answer(text, line):
    """A second review's sentences, each once missed (most got the out-of-scope line)."""
    heard = understand(text)
    assert heard.intent == "see_doctor" and answer(heard).startswith(CAT.line(line))


@pytest.mark.parametrize(
    "text",
    [
        "I keep falling asleep",
        "I'm not pregnant",
        "is it ok if my knee wobbles a bit in the stretch",
        "my left arm is fine, it's just my back",
        "is ice or heat better for a pulled back, I can't feel the cold",
        "can I alternate hot and cold",
        "is a temperature of 40 degrees ok for the heat pad",
        "my left arm doesn't hurt",
        "I pull my knee with my left arm because my right arm hurts",
        "should I hold my knee tightly with my left arm",
        "I have a crushing pain in my lower back",
        "the ice pack keeps falling off",
        "I am scared of falling over when I stretch",
        "I fell out of the habit of stretching, can I start again",
        "my hot water bottle has been leaking",
        "I read in the paper that numbness is a bad sign",
        "I had a baby ten years ago and my back hurts",
        "I had a c-section ten years ago",
        "I've had this brace for years, is it ok",
        "I've lost a stone on my diet and my back hurts",
        "I'm shivering because the ice pack is cold",
        "the stretch goes down the back of my leg",
        "I lie awake at night worrying",
        "my wife is pregnant and my back hurts from lifting things",
        "I pull my knee to my chest",
        "I'm expecting a call, can you set a timer",
        "I had a c-section ten years ago and my back hurts",
        "I'm able to go to the toilet fine",
        "I need to go to the loo, can you pause",
        "my ice pack slipped on the floor",
        "the ice fell over",
        "my dog fell asleep on my legs",
        "I have a sharp pain at the bottom of my back",
        "I'm losing weight on my diet",
        # a fourth review: each set off a red flag after the third review's new words
        "my phone fell over",
        "the towel slipped on the floor",
        "the book landed on my chest",
        "I tripped over my words",
        "my son fell over at football",
        "I haven't had a fall",
        "I don't inject drugs",
        "I'm expecting my daughter to visit",
        "I'm leaking tears",
        "I haven't had back pain for years",
        "I've used ice for years on sore muscles",
        "my dad had back pain for years",
        "I feel hot and sweaty from the heat pad",
        "I sweat at night because the room is hot",
        # a fourth review's sentences, set off by the rules of this session or the last
        "my daughter had a baby 3 weeks ago and I've been helping, now my back has gone",
        "my sister had a c section 6 weeks ago and I'm looking after her, my back is killing me",
        "our neighbour had a baby 4 weeks ago",
        "I've been sitting at a desk for years, is that why my back hurts",
        "I've been lifting weights for years and now my back spasms",
        "this spasm came on yesterday, I've been fine for months",
        "it's the first time in years my back has hurt",
        "for the last few weeks I've been sleeping on the sofa, could that hurt my back",
    ],
)
def test_everyday_words_near_the_new_red_flags_are_none(text):
    assert understand(text).intent != "see_doctor"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'm not feeling dizzy any more", None),
        ("I'm not feeling faint", None),
        ("I don't feel faint, just sore", "pain_report"),
        ("I'm not lightheaded", None),
        ("I haven't fainted or anything, it's just a spasm", None),
        ("I passed out the ice packs to the kids", "ice_heat"),
        ("I'm stuck between ice and heat, which one", "ice_heat"),
        ("I'm stuck at home with this back, what can I do", "overview"),
        ("I can't stand up for long at work, what posture is best", "posture"),
        ("I'm not going to faint", None),
        ("the codeine makes me a bit dizzy", "medication"),
        ("I slept on the floor all night and my back feels better", None),
        ("my phone screen went black", None),
    ],
)
def test_an_emergency_word_denied_or_in_another_sense_is_no_emergency(text, intent):
    """A fourth review's sentences, each answered with the emergency line ([keyword_ignore])."""
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("my back's been playing up for a couple of weeks", "red_flag_answer"),
        ("my back has been bad for months", "red_flag_answer"),
        ("the spasms have been coming for weeks", "red_flag_answer"),
        ("my wife had a baby 3 weeks ago and her back hurts", "red_flag_pregnancy"),
    ],
)
def test_long_lasting_pain_and_a_carers_news_of_a_birth_are_red_flags(text, line):
    heard = understand(text)
    assert heard.intent == "see_doctor" and answer(heard).startswith(CAT.line(line))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("it hurts to take a deep breath", "red_flag_chest"),
        ("I had a little accident on the way to the bathroom", "red_flag_urgent"),
        ("I'm peeing myself when I cough", "red_flag_urgent"),
        ("I went flying on the wet floor this morning", "red_flag_answer"),
        ("my husband fell off a chair and now his back hurts", "red_flag_answer"),
        ("I feel really hot and clammy", "red_flag_answer"),
        ("I'm 6 weeks postpartum and my back hurts", "red_flag_pregnancy"),
        ("I had my baby 5 weeks ago", "red_flag_pregnancy"),
        ("I had twins 4 weeks ago and my back is sore", "red_flag_pregnancy"),
        ("the painkillers aren't touching it", "red_flag_answer"),
        ("I can't put weight on my leg", "red_flag_leg"),
    ],
)
def test_red_flags_a_fourth_review_found_missed(text, line):
    heard = understand(text)
    assert heard.intent == "see_doctor" and answer(heard).startswith(CAT.line(line))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'm dizzy", "emergency"),
        ("I feel woozy", "emergency"),
        ("the room is spinning", "emergency"),
        ("everything went black for a moment", "emergency"),
        ("I can't get up without help", "emergency"),  # not struck as "can't get up early" is
        ("I told my husband not to call an ambulance but I think I need one", "emergency"),
        ("I was lifting a box and I am not dizzy or anything and what should I do", "overview"),
        ("I've been on the kitchen floor since last night", "emergency"),
        ("don't stop", "resume"),
        ("don't stop, it feels good", None),  # never the stop command
        ("what's the best position to lie in", "support"),
        ("how should I sleep tonight", "support"),
        ("how do I do the knee hug", "stretching"),
        ("can I take something to relax the muscles", "medication"),
        ("what's the first thing I should do", "overview"),
        ("I've done my back in", "pain_report"),
        ("my back is stuck", "pain_report"),
        ("it's twinging a bit", "pain_report"),
        ("should I do core exercises", "prevention"),
        ("I had my baby 20 years ago", None),
        ("the heat pad is not touching it", "ice_heat"),
        ("I went flying to Spain last week and my back hurts", "pain_report"),
        ("the ice pack fell off and now it hurts again", "ice_heat"),
        ("I had my baby a few years ago and my back hurts", "pain_report"),
        ("I had postnatal depression years ago, my back hurts", "pain_report"),
        ("the painkillers are not working yet, it's only been twenty minutes", "medication"),
        ("I can't put any weight on my arm", None),
        ("I need to know if I can make it to the bathroom safely", None),
    ],
)
def test_sentences_a_fourth_review_found_out_of_scope_or_wrong(text, intent):
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("she's pregnant and has back pain", "red_flag_pregnancy_other"),
        ("my girlfriend is expecting and has a bad back", "red_flag_pregnancy_other"),
        ("my wife is pregnant and her back hurts", "red_flag_pregnancy_other"),
        ("my pregnant wife has a bad back", "red_flag_pregnancy_other"),
        ("my pregnant wife's back is sore", "red_flag_pregnancy_other"),
        ("my wife is pregnant and has terrible back pain", "red_flag_pregnancy_other"),
        ("my sister is pregnant and she is in pain", "red_flag_pregnancy_other"),
        ("it burns when I pee", "red_flag_answer"),
        ("I've got flank pain", "red_flag_answer"),
        ("I tumbled down the stairs", "red_flag_answer"),
        ("my 8 year old fell off the trampoline and hurt his back", "red_flag_answer"),
        ("my wife fell over and has a bad back", "red_flag_answer"),
        ("my son fell off a trampoline and has a bad back", "red_flag_answer"),
        ("my wife has back pain after falling off a ladder", "red_flag_answer"),
        ("my husband fell and hurt his back", "red_flag_answer"),
        ("my dad slipped on ice and has a bad back", "red_flag_answer"),
        ("my toddler fell and hurt his back", "red_flag_answer"),
        ("I've lost weight and have a bad back", "red_flag_answer"),
        ("my dad has back pain and he has lost weight", "red_flag_answer"),
        ("I've got a bad back and a temperature", "red_flag_answer"),
        ("I have got backache at night, it wakes me up", "red_flag_answer"),
    ],
)
def test_red_flags_said_of_someone_else_or_with_a_bad_back_are_red_flags(text, line):
    """A diff review: with "a bad back" now a pain report, these got "ease off and rest"."""
    heard = understand(text)
    assert heard.intent == "see_doctor" and answer(heard) == CAT.line(line)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("my wife is pregnant and my back hurts from carrying everything", "pain_report"),
        ("my wife is expecting a baby and my back hurts", "pain_report"),
        ("my wife is expecting me to fix the shelf and my back hurts", "pain_report"),
        ("my daughter is pregnant and I've been helping, my back is in pain", "pain_report"),
        ("my dad fell asleep on the sofa and now his back hurts", "pain_report"),
        ("I don't have a bad back", None),
        ("I used to have a bad back", None),
    ],
)
def test_someone_elses_pregnancy_or_sleep_and_a_past_bad_back_are_no_red_flag(text, intent):
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("I just want to die", "red_flag_crisis"),
        ("the pain is so bad I don't want to live", "red_flag_crisis"),
        ("I can't feel when I wipe", "red_flag_urgent"),
        ("me waterworks aren't right", "red_flag_urgent"),
        ("my waterworks have gone funny", "red_flag_urgent"),
        ("I had a bit of a tumble yesterday and now my back hurts", "red_flag_answer"),
        ("I missed the bottom step and jarred my back", "red_flag_answer"),
        ("could it be my kidneys", "red_flag_answer"),
        ("my tummy hurts", "red_flag_answer"),
        ("there's a lump on my back", "red_flag_answer"),
        ("it's been three weeks and it still hurts", "red_flag_answer"),
    ],
)
def test_red_flags_in_a_fifth_reviews_words(text, line):
    heard = understand(text)
    assert heard.intent == "see_doctor" and answer(heard) == CAT.line(line)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I don't want to die from this, what should I do", "overview"),
        ("I pulled a muscle in my stomach doing sit ups", None),
        ("can I lie on my stomach", None),  # no red flag for the tummy
        ("I have kidney disease, can I take ibuprofen", "medication"),
        ("it's been three weeks since my last spasm", None),
        ("I'm scared it'll go again", "scared"),
        ("will it go again", "prevention"),
        ("it's going again", "pain_report"),
        ("I can't take this anymore", "scared"),
        ("I'm crying", "scared"),
        ("I can't stop crying", "scared"),
        ("my baby is crying", None),
        ("I can't move and my phone is across the room", "emergency"),
        ("my back is very pain", "pain_report"),
        ("please help me, back is spasm", "pain_report"),
        ("me lumbago's playing up", "pain_report"),
        ("my lumbago is playing up again", "pain_report"),
        ("I've ricked my back", "pain_report"),
        ("I've got a crick in my back", "pain_report"),
        ("my back's locked", "pain_report"),
        ("what is good for back pain", "overview"),
        ("give me advice for my back", "overview"),
        ("what exercises can I do to strengthen my back", "prevention"),
        ("is sitting all day bad for my back", "causes"),
        ("is it my age", "causes"),
        ("how do I pick things up safely", "activity"),
        ("should I take time off work", "activity"),
        ("can I do the gardening", "activity"),
        ("is swimming good", "activity"),
        ("how long should I rest", "activity"),
        ("ta", "thanks"),
    ],
)
def test_sentences_a_fifth_review_found_out_of_scope_or_wrong(text, intent):
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "let's end it all here and stop",
        "could I harm myself doing this stretch",
        "I don't want to harm myself more",
        "I was killing myself laughing and my back went",
        "I could kill myself for lifting that box, my back hurts",
        "lifting that wardrobe was suicide for my back",
        "that stretch is suicidal",
        "my back feels a wee bit funny",
        "my back is playing up and I keep needing a wee",
        "I can't feel when I've reached the bottom of the stretch",
        "will ibuprofen hurt my stomach",
        "do painkillers upset my stomach",
        "I have a kidney problem, what painkillers can I take",
        "I have a beer belly and my back hurts",
        "abdominal crunches hurt my back",
        "when I bring my knee up to my stomach it hurts",
        "it's been weeks since I've been to the gym",
        "it's been ages since I had a spasm like this",
        "I've done yoga for years and it's been great",
        "set a timer for 20 minutes so it wakes me up",
        "the baby keeps me up at night",
        "is heat good for pain at night",
        "I've lost weight and my back feels better",
        "I had a tumble dryer delivered and my back hurts",
        "my mum fell ill and lifting her has hurt my back",
        "there's a lump in my mattress and my back hurts",
        "my wife is pregnant so she can't help me, my back hurts",
        "can ibuprofen cause stomach pain",
        "I did too many sit ups and my stomach hurts",
        "it's been ages since I stretched and my back hurts",
        "it's been good for weeks but now it hurts",
        "the duvet keeps falling off the bed and it hurts to reach it",
        "I'm ending it all for today",
        "is suicide squats bad for my back",
        "I want to die of embarrassment",
    ],
)
def test_everyday_words_near_the_fifth_reviews_red_flags_are_none(text):
    """A diff review of the fifth review's rules: each of these was a red flag, some the
    crisis line."""
    assert understand(text).red_flag is None


@pytest.mark.parametrize(
    "text",
    [
        "I can't go on like this",
        "I feel like ending it all",
        "thinking about ending my life",
        "I've been self harming",
        "I don't want to be here anymore",
        "everyone would be better off without me",
        "I keep thinking about hurting myself",
        "I want to hurt myself",
        "I've taken an overdose",
        "I took too many tablets on purpose",
        "I don't want to wake up",
        "I've had enough of life",
    ],
)
def test_a_wish_to_die_or_to_harm_oneself_in_other_words_gets_the_crisis_line(text):
    heard = understand(text)
    assert heard.red_flag == "thoughts of suicide or self-harm"
    assert answer(heard) == CAT.line("red_flag_crisis")


@pytest.mark.parametrize(
    "text",
    [
        "I'm planning to kill myself",
        "I've been cutting myself",
        "I want to take an overdose",
        "I'm thinking of taking an overdose",
        "I'm going to take my life",
        "life isn't worth living anymore",
        # as the recogniser hears "I've got no reason to live"
        "i've got know reason to live",
        # a diff review: these were the medicine answer, or restarted or stopped a stretch
        "I can't go on anymore",
        "I don't want to go on",
        "I want to stop living",
        "I'm going to take all my tablets",
        "I swallowed all my pills",
        "I want to overdose",
        "I want die",
        "I'd rather be dead",
        "I might as well be dead",
        "I hope I die in my sleep",
        "I tried to kill myself",
        "I want to go to sleep and never wake up",
        "I have nothing to live for",
        "I cut my wrists",
        "my daughter has been cutting herself",
        "my husband wants to take his own life",
        # written after the rule, as a held-out check; these four were missed
        "I don't see the point in living anymore",
        "I wish I could just disappear forever",
        "I swallowed a whole bottle of pills",
        "Nobody would miss me if I was gone",
    ],
)
def test_plans_to_die_and_cutting_get_the_crisis_line(text):
    assert understand(text).red_flag == "thoughts of suicide or self-harm"


@pytest.mark.parametrize(
    "text",
    [
        "I want to dye my hair",
        # as the recogniser hears it: "dye" and "die" sound the same
        "i want to die my hair",
        "I could kill myself for forgetting the ice",
        "I cut myself shaving",
        "I was cutting myself a slice of cake",
        "what happens if I take an overdose of ibuprofen",
        "is it dangerous to take an overdose of paracetamol",
        "I don't want to take an overdose by mistake",
        "I'm taking my life back from this back pain",
        "I'm taking my life one day at a time",
        "I'm not going to take an overdose",
        "am I going to overdose if I take two",
        "I keep cutting myself shaving",
        "I've been cutting myself some slack",
        "I'm not planning to kill myself",
        "I don't want to wake up my wife",
        "I don't want to live on painkillers",
        "I'm tired of living with this pain",
        "I can't go on with the stretch",
        "am I harming myself by stretching",
        "I never wake up without pain",
        "can I take all my tablets in the morning",
        "can I take a whole packet of tablets",
        "is there any point in living with this brace",
        "I swallowed a whole ice cube",
    ],
)
def test_dyeing_hair_and_asking_about_an_overdose_are_not_the_crisis_line(text):
    assert understand(text).red_flag is None


@pytest.mark.parametrize(
    "text",
    ["how do I know if I need to go to the doctor", "can I tell if I need to go to hospital"],
)
def test_asking_whether_to_see_a_doctor_is_no_bladder_sign(text):
    heard = understand(text)
    assert heard.red_flag is None and heard.intent == "see_doctor"


def test_an_accident_in_a_car_is_a_fall_not_a_bladder_sign():
    heard = understand("my husband had an accident in his car and hurt his back")
    assert heard.intent == "see_doctor" and answer(heard) == CAT.line("red_flag_answer")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("my helper is here", None),  # "help" is a stem, "helper" no word of it
        ("I am surely going to be ok", None),
    ],
)
def test_stems_and_leg_pain_leave_other_questions_alone(text, intent):
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        (sentence, intent)
        for intent, sentences in CAT.language["also_means"].items()
        for sentence in sentences
    ],
)
def test_every_also_means_sentence_is_its_intent_and_not_in_the_language_model(text, intent):
    assert understand(text).intent == intent
    assert text not in grammar_phrases(CAT)


@pytest.mark.parametrize(
    "text",
    [
        "ow again",
        "argh again",
        "it's spasming again",
        "my back has gone into spasm again",
        "I'm on the floor and my back is in spasm",
        "I'm 82 and my back's gone",
        "it's really bad",
        "I'm crying with the pain",
        "I have a bad back",
        "I can't roll over",
        "I can't get comfortable",
        "my wife has back pain",
        "I've got backache",
    ],
)
def test_pain_felt_now_is_a_pain_report_not_a_repeat_or_prevention(text):
    """A third review: "ow again" mid-stretch was "say that again", and the stretch went on."""
    assert understand(text).intent == "pain_report"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("say that again", "repeat"),
        ("how do I stop it seizing up again", "prevention"),
        ("my neck is in spasm", None),
        ("the weather is bad", None),
    ],
)
def test_questions_and_other_places_are_not_pain_felt_now(text, intent):
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("the doctor said it's a muscle spasm, what can I do", "overview"),
        ("I've seen a doctor and they said rest", None),
        ("when should I see a doctor", "see_doctor"),
    ],
)
def test_a_doctor_already_seen_is_not_the_question_of_when_to_see_one(text, intent):
    """A third review: "the doctor said it's a spasm" got "please see a practitioner if"."""
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I've got pain between my shoulder blades", "pain_report"),
        ("is it too late for ice, it happened three days ago", "ice_heat"),
        ("I've had back pain for years", "see_doctor"),
        ("my back has been hurting for weeks", "see_doctor"),
        ("this keeps happening every few months", "prevention"),
        ("I have not had a spasm for years", None),
        ("I think I pulled something", "pain_report"),
        ("what's the best position to sleep in", "support"),
        ("I'm really worried", "scared"),
        ("I've had this mattress for years, is it good for my back", "support"),
    ],
)
def test_a_third_reviews_back_questions_reach_an_answer(text, intent):
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("okay, what should I do", "overview"),  # was a goodbye: the coach went to sleep
        ("ok that's it", "goodbye"),
        ("that's all", "goodbye"),
        ("okay stop", "stop"),
        ("okay", "yes"),
    ],
)
def test_okay_before_a_request_leaves_the_request_and_a_goodbye_needs_its_words(text, intent):
    assert understand(text).intent == intent


def test_also_means_is_for_the_whole_sentence_and_a_red_flag_comes_first():
    assert understand("are you still there, my leg is numb").intent == "see_doctor"
    assert understand("are you still there").intent == "greeting"


def test_no_keyword_holds_a_filler_word():
    """Fillers are dropped before matching: "so dizzy" would match every "dizzy"."""
    fillers = set(CAT.language["fillers"]["words"])
    held = [k for i in CAT.intents.values() for k in i.keywords if fillers & set(k.split())]
    assert not held, held


def test_no_ignored_phrase_switches_a_keyword_off():
    """A ``[keyword_ignore]`` phrase that is a keyword or lies inside one would strike that
    keyword out of every sentence ("ambulance" would end "call an ambulance")."""
    for intent, phrases in CAT.language.get("keyword_ignore", {}).items():
        keywords = [f" {normalise(k)} " for k in CAT.intents[intent].keywords]
        dead = [p for p in phrases if any(f" {normalise(p)} " in k for k in keywords)]
        assert not dead, f"{intent}: {dead}"


def test_every_phrase_the_rules_match_is_written_as_matching_reads_it():
    """Matching reads normalised text ("ok" is "okay", "just" is dropped, numbers are
    digits), so a phrase written otherwise can never match."""
    lang = CAT.language
    tables = [
        *(p for rule in lang["red_flags"] for g in rule["groups"] for p in g),
        *(p for rule in lang["red_flags"] for p in rule.get("ignore", [])),
        *(p for risk in lang.get("risks", []) for p in risk["words"]),
        *(p for words in lang.get("after_red_flag", {}).values() for p in words),
        *(p for words in lang["leg_denial"].values() for p in words),
        *(p for words in lang.get("cautions", {}).values() for p in words),
        *(p for words in lang.get("routine_talk", {}).values() for p in words),
        *(p for words in lang.get("better", {}).values() for p in words),
        *(p for words in lang.get("also_means", {}).values() for p in words),
        *(p for words in lang.get("keyword_ignore", {}).values() for p in words),
        *lang.get("others", {}).get("openings", []),
        *lang["timer_choice"].get("another", []),
        *lang["timer_choice"].get("repeats", []),
        *lang["requests"].get("asked_how", []),
        *lang["requests"].get("yes_no", []),
    ]
    dead = sorted({p for p in tables if normalise(p) != p})
    assert not dead, f"phrases that matching never sees: {dead}"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("I burnt myself with the hot water bottle", "risk_burn"),
        ("I'm diabetic, can I use a heat pad?", "risk_heat_skin"),
        ("I had a hip replacement, how do I stretch", "risk_stretch"),
    ],
)
def test_ask_says_a_risk_line_as_the_conversation_does(text, line):
    assert answer(understand(text)) == CAT.line(line)


@pytest.mark.parametrize(
    "text",
    [
        "the pain goes to my foot",
        "it travels to my knee",
        "it spreads down to my calf",
        "the pain has gone into my foot",
    ],
)
def test_pain_going_to_the_foot_or_the_knee_is_the_leg_red_flag(text):
    assert (
        understand(text).red_flag
        == "pain shooting or running into the knee, calf, shin, ankle or foot"
    )


@pytest.mark.parametrize(
    "text",
    [
        "I've gone all dizzy",
        "my head is spinning",
        "I'm seeing stars",
        "everything's going black",
        "I think I might black out",
        "my head's swimming",
    ],
)
def test_dizziness_in_other_words_is_the_emergency(text):
    assert understand(text).intent == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "I never get dizzy",
        "can back spasms make you dizzy",
        "dizzy is the name of my dog",
        "I have a black out blind",
        "my toenail has gone black",
        "what happens if I black out",
        "I was seeing stars in the sky last night",
        "my head is spinning with all this info",
        "my head is swimming with questions",
        "my hand goes to my knee, is that right",
        "should my chin go to my knee",
        "it doesn't go to my foot",
        "I'm going to my physio about my knee",
        "the blanket goes down to my feet",
        "the ice pack moved to my knee",
    ],
)
def test_words_near_the_new_dizzy_and_foot_rules_are_neither(text):
    """A regression check of a review's fixes: each of these was an emergency or the leg
    red flag."""
    heard = understand(text)
    assert heard.intent != "emergency" and heard.red_flag is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("my left side is tight", None),  # where it is felt: no side asked for
        ("it's my right side that's bad", None),
        ("just do my left side", "adjust"),
        ("should I carry on taking paracetamol", "medication"),  # not "carry on"
        ("can I keep using the heat pad", "ice_heat"),
    ],
)
def test_a_side_felt_or_a_medicine_carried_on_is_no_command(text, intent):
    assert understand(text).intent == intent
