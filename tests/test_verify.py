"""The checks a short answer must pass before it is shown (qa/verify.py)."""

import pytest

from qa import answer_types
from qa.verify import check_claim, names, reads_the_same, relation_holds, says_something, translation_holds

DE = ("Zu den Investoren bei DiDi gehören u.a. Alibaba, Tencent und Baidu, DiDi bedient mittlerweile "
      "450 Millionen registrierte Kunden in über 400 Metropolen Chinas.")
EN = "According to Cheng Wei, the CEO of DiDi, the company will contribute toward the alliance."
CAR2GO = "Car2go, in which Europcar has a stake, has 2.8 million members worldwide and operates in 26 cities."


def check(claim, question, evidence=DE, claim_language="de", evidence_language="de", span=None, names_=()):
    kind = answer_types.asked(question, claim_language)
    return check_claim(claim, claim_language, (question,), kind, evidence, evidence_language, set(names_), span)


def test_a_span_of_the_evidence_that_answers_passes():
    assert check("450 Millionen registrierte Kunden", "Wie viele Kunden hat DiDi?").ok
    assert check("Cheng Wei", "Who is the CEO of DiDi?", EN, "en", "en").ok


@pytest.mark.parametrize("claim,question,reason", [
    ("DiDi", "Wer leitet DiDi?", "echoes the question"),
    ("registrierte Kunden", "Wie viele Kunden hat DiDi?", "not a number"),
    ("1,5 Millionen Kunden", "Wie viele Kunden hat DiDi?", "a number the evidence lacks"),
    ("BYD", "Wer sind die Investoren?", "a name the evidence lacks"),
    ("Certainly!", "What is the price of oil?", "words the evidence lacks"),
    ("Sie sagten „wir erobern den Mond“", "Was sagten sie?", "words the evidence lacks"),
])
def test_what_the_evidence_does_not_carry_is_refused_with_its_reason(claim, question, reason):
    result = check(claim, question)
    assert not result.ok and result.reason == reason


def test_an_invented_quote_is_caught_even_when_its_words_are_there():
    evidence = "Cheng Wei said the alliance will grow and that partners will be empowered."
    result = check("Cheng Wei said “partners will grow the alliance”", "What did Cheng Wei say?", evidence, "en", "en")
    assert not result.ok and result.reason == "a quote the evidence lacks"


def test_who_did_what_a_name_only_in_an_aside_does_not_own_the_figure():
    start = CAR2GO.index("2.8 million members")
    span = (start, start + len("2.8 million members"))
    assert not relation_holds({"europcar"}, CAR2GO, *span)
    assert relation_holds({"car2go"}, CAR2GO, *span)
    result = check("2.8 million members", "How many members does Europcar have?", CAR2GO, "en", "en", span,
                   {"europcar"})
    assert not result.ok and result.reason == "the question's subject is only in an aside"
    # the answer itself may stand in an aside: "the Broncos, led by Manning, won"
    sentence = "The Broncos, led by Peyton Manning, won the title."
    at = sentence.index("Peyton Manning")
    assert relation_holds({"broncos"}, sentence, at, at + len("Peyton Manning"))


@pytest.mark.parametrize("sentence", [
    "The new company, to be called Acme Mobility, will operate 48,000 bikes in 31 cities.",
    "Das Unternehmen, mit dem Namen Acme Mobility, wird 48.000 Räder betreiben.",
    "La empresa, llamada Acme Mobility, tendrá 48.000 bicicletas.",
])
def test_an_aside_that_names_the_subject_is_no_aside(sentence):
    at = sentence.index("48")
    assert relation_holds({"acme", "mobility"}, sentence, at, at + 6)
    other = sentence.replace("Acme Mobility", "Globex", 1).replace(", to be called", ", in which").replace(
        ", mit dem Namen", ", an dem").replace(", llamada", ", de la que")
    assert not relation_holds({"globex"}, other, at, at + 6)


def test_an_aside_that_only_mentions_the_subject_with_a_naming_word_is_still_an_aside():
    sentence = "Beta, whose founder once called Acme a rival, has 300 employees."
    at = sentence.index("300")
    assert not relation_holds({"acme"}, sentence, at, at + 3)


def test_names_and_echoes():
    assert names("DiDi has 450 million customers, says Cheng Wei", "en") == {"didi", "cheng", "wei"}
    assert names("Die Kunden von DiDi", "de") == {"didi"}  # German capitalises every noun
    assert not says_something("DiDi", ("Who leads DiDi?",), "en")
    assert says_something("12", ("How many models?",), "en")
    assert not says_something("2022", ("How many models by 2022?",), "en")


def test_a_translation_keeps_the_numbers_and_stays_close():
    assert translation_holds("zwölf Wagen", "de", "twelve carriages", "en", 0.97, 0.95)
    assert not translation_holds("zwölf Wagen", "de", "eleven carriages", "en", 0.99, 0.95)
    assert not translation_holds("450 Millionen Kunden", "de", "450 millionaires", "en", 0.99, 0.95)
    assert not translation_holds("zwölf Wagen", "de", "twelve horses", "en", 0.80, 0.95)


def test_what_reads_the_same_in_every_language():
    assert reads_the_same("1,345,596") and reads_the_same("John Elway") and reads_the_same("DVB-T")
    assert not reads_the_same("die Seldschuken") and not reads_the_same("pasture for cattle")
