import numpy as np

from qa import protocol
from qa.records import Evidence
from qa.verify import Verifier, answers_type, names

EV = [
    Evidence(1, "de.txt", "de.txt#0", 0, 100,
             "Zu den Investoren bei DiDi gehören u.a. Alibaba, Tencent und Baidu, DiDi bedient mittlerweile "
             "450 Millionen registrierte Kunden in über 400 Metropolen Chinas.", 0.95),
    Evidence(2, "en.txt", "en.txt#0", 0, 60, "According to Cheng Wei, the CEO of DiDi, the company will grow.", 0.9),
]
LANG = {"de.txt": "de", "en.txt": "en"}


def verify(question, answer, language="en", refused=False, evidence=EV, translations=()):
    return Verifier().verify(question, answer, language, evidence, lambda e: LANG[e.doc_id], refused,
                             translations=translations)


def test_a_supported_claim_is_kept_with_its_citation():
    v = verify("Wie viele Kunden hat DiDi?", "DiDi bedient 450 Millionen registrierte Kunden [1].", "de")
    assert v.mode == "composed"
    assert v.text == "DiDi bedient 450 Millionen registrierte Kunden [1]."
    assert v.citations[0].quote == EV[0].text


def test_a_wrong_citation_is_repaired_to_the_supporting_evidence():
    v = verify("Who is the CEO of DiDi?", "Cheng Wei [1].")
    assert v.text == "Cheng Wei [2]." and [c.n for c in v.citations] == [2]


def test_an_invented_number_is_removed_and_the_evidence_quoted():
    v = verify("How many customers does DiDi have?", "DiDi has 1.5 million customers [1].",
               translations=("Wie viele Kunden hat DiDi?",))
    assert v.mode == "quoted"
    assert v.text.startswith(protocol.quoted_lead("en"))
    assert EV[0].text in v.text and v.text.endswith("[1]")
    assert v.removed == ("DiDi has 1.5 million customers [1].",)


def test_unsupported_sentences_go_and_supported_ones_stay():
    v = verify("Who is the CEO of DiDi?", "Cheng Wei is the CEO of DiDi [2]. He was born in 1983 [2].")
    assert v.text == "Cheng Wei is the CEO of DiDi [2]."


def test_a_name_the_evidence_lacks_refuses():
    v = verify("Who is the CEO of Tesla?", "Cheng Wei [2].")
    assert v.mode == "refused" and v.text == protocol.refusal("en")


def test_an_invented_quote_is_not_supported():
    v = verify("What did Cheng Wei say?", "Cheng Wei said “we will conquer the moon” [2].")
    assert v.mode != "composed"


def test_an_answer_of_the_wrong_kind_is_not_kept():
    v = verify("How many customers does DiDi have?", "DiDi has many customers in China [1].",
               translations=("Wie viele Kunden hat DiDi?",))
    assert v.mode == "quoted"
    assert not answers_type("When was it signed?", "It was signed by Cheng Wei.", "en")
    assert answers_type("Wann wurde es unterschrieben?", "Im Februar.", "de")
    assert answers_type("Who leads DiDi?", "Cheng Wei leads it.", "en")


def test_evidence_about_something_else_is_not_quoted():
    # numbers and the name are there, but nothing about employees, in the question or its translation
    v = verify("How many employees does DiDi have?", "DiDi has 400 employees [1].",
               translations=("Wie viele Mitarbeiter hat DiDi?",))
    assert v.mode == "refused"
    # a claim the evidence supports is still no answer when the evidence is not about the question
    assert verify("In which year was DiDi founded?", "In 2016 [1].",
                  evidence=[Evidence(1, "en.txt", "en.txt#0", 0, 90, "Earlier this year, Didi bought Uber's "
                                     "local operations, in 2016.", 0.95)]).mode == "refused"


def test_one_is_not_an_amount():
    assert not answers_type("How much did they pay?", "It is one of the partners.", "en")
    assert answers_type("How much did they pay?", "They paid one million.", "en")


def test_a_year_is_not_a_count():
    assert not answers_type("How many people does the plant employ?", "It opened in March 2022.", "en")
    assert answers_type("How many people does the plant employ?", "In 2022 it employed 12,000 people.", "en")
    assert answers_type("Wie viele Modelle bis 2022?", "12 neue Modelle bis 2022.", "de")


def test_model_variants_of_the_refusal_are_recognised():
    for text in ["The source doesn't say.", "The sources do not mention it.", "Die Quelle sagt dazu nichts."]:
        assert protocol.is_refusal(text), text
    assert not protocol.is_refusal("The sources say DiDi has 450 million customers.")


def test_model_refusal_and_weak_evidence_refuse_in_the_question_language():
    assert Verifier(trust_model_refusal=True).verify("Wie teuer ist eine Fahrt?", protocol.refusal("en"), "de", EV,
                                                     lambda e: LANG[e.doc_id], True).text == protocol.refusal("de")
    weak = [Evidence(1, "en.txt", "en.txt#0", 0, 10, "Something else entirely.", 0.5)]
    assert verify("What is the price?", "It costs $10 [1].", evidence=weak).mode == "refused"


def test_claims_in_another_language_are_checked_by_embedding_similarity():
    vectors = {"claim": np.array([1.0, 0.0]), 1: np.array([0.95, 0.312])}
    verifier = Verifier(embed=lambda texts: np.stack([vectors["claim"] for _ in texts]),
                        evidence_vector=lambda e: vectors[e.n])
    v = verifier.verify("Who are DiDi's investors?", "The investors of DiDi include Alibaba, Tencent and Baidu [1].",
                        "en", EV[:1], lambda e: "de", False)
    assert v.mode == "composed"


def test_names_are_tokens_with_inner_capitals_and_english_capitalised_words():
    assert names("Who are DiDi's investors like Tencent?", "en") == {"didi", "tencent"}
    assert names("Wer sind die Investoren von DiDi und BMW, laut Angaben?", "de") == {"didi", "bmw"}


def test_evidence_naming_the_full_name_is_about_the_question():
    from qa.verify import question_keys

    keys = question_keys("Which news agency did Kevin Chen speak to?", "en")
    assert keys.full_names == {"kevin chen"} and "kevin" not in keys.stems[0]
    assert keys.about("Didi general manager Kevin Chen told Reuters on Tuesday.")
    assert not keys.about("Didi general manager Chen Wei told Reuters on Tuesday.")
