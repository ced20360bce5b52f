import pytest

from eval import harness, metrics
from eval.gold import load_gold
from eval.matching import FULL, NONE, PARTIAL, match_fact, match_form
from index.ingest import Ingestor
from qa.core.settings import IngestSettings

from conftest import CORPUS


@pytest.mark.parametrize("form,answer,score", [
    ("450 million", "DiDi hat 450 Millionen registrierte Kunden [1].", FULL),
    ("450 Millionen", "It serves 450 million customers.", FULL),
    ("USD 1 billion", "Sie investiert 1 Mrd. US-Dollar.", FULL),  # currency and scale, order-free
    ("1 Mrd. US-Dollar", "nearly $1 billion", FULL),
    ("USD 1 billion", "1 billion euros", NONE),  # a different currency is not the fact
    ("twelve", "Es sind zwölf Modelle.", FULL),
    ("12", "twelve pure electric car models", FULL),
    ("eine Billion", "one trillion", FULL),  # German Billion = 10^12
    ("eine Billion", "one billion", NONE),
    ("450 million", "about 450 customers", PARTIAL),  # the digits without their scale
    ("Cheng Wei", "Cheng Wei [1].", FULL),
    ("Cheng Wei", "Mr Cheng said so.", PARTIAL),
    ("DriveNow", "DriveNow und Car2Go", FULL),
    ("Uber", "Ubers", NONE),  # whole words only
    ("Car2Go", "car2go", FULL),  # case and punctuation do not matter
    ("February", "In February [1].", FULL),
])
def test_fact_forms(form, answer, score):
    assert match_form(form, answer) == score


def test_a_fact_takes_its_best_form():
    assert match_fact(["Februar", "February"], "in February") == FULL


def test_retrieval_metrics_on_a_toy_ranking():
    ranks = [1, 3, None, 2]
    assert metrics.recall_at(ranks, 1) == 0.25
    assert metrics.recall_at(ranks, 3) == 0.75
    assert metrics.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert metrics.ndcg_at([[1, 0, 0], [0, 0, 1]], [1, 1], 10) == pytest.approx((1 + 0.5) / 2)
    assert metrics.percentile([1, 2, 3, 4, 5], 50) == 3 and metrics.percentile([1, 2], 95) == pytest.approx(1.95)


def test_the_gate_names_what_misses():
    summary = {"all": {"fact_recall_strict": 0.5, "unsupported_number_rate": 0.1, "language_match": 1.0}}
    failures = harness.gate(summary, {"min": {"fact_recall_strict": 0.6, "language_match": 0.9},
                                      "max": {"unsupported_number_rate": 0.02}})
    assert failures == ["fact_recall_strict = 0.500 is below its threshold 0.6",
                        "unsupported_number_rate = 0.100 is above its threshold 0.02"]


def test_a_score_that_could_not_be_measured_misses_its_gate():
    failures = harness.gate({"all": {"fact_recall_strict": float("nan")}}, {"min": {"fact_recall_strict": 0.6},
                                                                          "max": {"answerable_refused": 0.1}})
    assert failures == ["fact_recall_strict = nan is below its threshold 0.6",
                        "answerable_refused = n/a is above its threshold 0.1"]


def test_the_shipped_thresholds_are_the_real_gate():
    t = harness.load_thresholds()
    assert t["min"]["fact_recall_strict"] > 0.5 and t["max"]["unsupported_number_rate"] < 0.05
    assert harness.load_thresholds("no such suite") == {}


def test_gold_data_covers_all_directions_with_exact_quotes():
    gold = load_gold()
    ingest = Ingestor(IngestSettings())
    docs = {doc_id: ingest.read(path, doc_id) for path, doc_id in ingest.read_corpus(CORPUS)}
    languages = {d: doc.language for d, doc in docs.items()}
    directions = [q.direction(languages) for q in gold]
    assert len(gold) >= 40
    for d in ("EN→EN", "EN→DE", "DE→EN", "DE→DE"):
        assert directions.count(d) >= 8, d
    assert sum(not q.answerable for q in gold) >= 8
    assert sum(bool(q.turns) for q in gold) >= 5
    for q in gold:
        assert q.answerable == bool(q.evidence) == bool(q.facts), q.id
        if q.answerable:
            assert len(harness.gold_spans(q, docs)) == len(q.evidence)  # a quote not found raises
            assert any(f.kind == "vital" for f in q.facts), q.id


def _answer(text, mode="composed", citations=(), language="en"):
    from qa.core.records import Answer, Citation, Timings

    cites = tuple(Citation(i + 1, doc, f"{doc}#0", 0, len(q), q) for i, (doc, q) in enumerate(citations))
    return Answer("q", text, cites, mode == "refused", language, Timings(), mode=mode)


def _gold(forms_by_language, language="en", answerable=True):
    from eval.gold import GoldQuestion

    forms = [f for fs in forms_by_language.values() for f in fs]
    return GoldQuestion(id="x", question="q", language=language, answerable=answerable,
                        facts=[{"kind": "vital", "any_of": forms, "by_language": forms_by_language}] if answerable else [])


def test_native_recall_needs_the_fact_in_the_askers_language_outside_foreign_quotes():
    gold = _gold({"en": ["pasture for cattle"], "de": ["Weidefläche für Rinder"]})
    quote = "Das meiste Land dient als Weidefläche für Rinder."
    languages = {"de.txt": "de", "en.txt": "en"}
    foreign = _answer(f"The sources say: “{quote}” [1]", "quoted", [("de.txt", quote)])
    scores = harness.score_answer(gold, foreign, lambda t, d: d, languages)
    assert scores["fact_strict"] == 1.0 and scores["native"] == 0.0 and scores["wrong_quote"] is False
    translated = _answer(f"pasture for cattle [1] — “{quote}”", "composed", [("de.txt", quote)])
    scores = harness.score_answer(gold, translated, lambda t, d: d, languages)
    assert scores["native"] == 1.0 and scores["short_holds"] is True
    vague = _answer(f"land [1] — “{quote}”", "composed", [("de.txt", quote)])
    scores = harness.score_answer(gold, vague, lambda t, d: d, languages)
    assert scores["fact_strict"] == 1.0 and scores["short_holds"] is False and scores["native"] == 0.0
    same = _answer("The sources say: “Most land is pasture for cattle.” [1]", "quoted",
                   [("en.txt", "Most land is pasture for cattle.")])
    assert harness.score_answer(gold, same, lambda t, d: d, languages)["native"] == 1.0


def test_a_quote_that_does_not_hold_the_fact_is_a_wrong_quote():
    gold = _gold({"en": ["1984"]})
    quote = _answer("The sources say: “The bakery is on Hill Street.” [1]", "quoted", [("en.txt", "The bakery")])
    assert harness.score_answer(gold, quote, lambda t, d: d, {"en.txt": "en"})["wrong_quote"] is True
    unanswerable = _gold({}, answerable=False)
    assert harness.score_answer(unanswerable, quote, lambda t, d: d, {"en.txt": "en"})["wrong_quote"] is True


def test_the_language_of_an_answer_is_that_of_its_own_words_not_of_its_quote():
    quote = "Der Zug ist blau und hat zwölf Wagen und fährt jeden Abend."
    answer = _answer(f"twelve carriages on the night train [1] — “{quote}”", "composed", [("de.txt", quote)])
    detect = lambda text, default: "de" if "Zug" in text else "en"  # noqa: E731
    assert harness.language_matches(answer, "en", detect)


def test_token_recall_and_f1_are_squad_style():
    from eval.matching import token_f1, token_recall

    assert token_recall(["the Denver Broncos"], "Broncos of Denver") == pytest.approx(2 / 3)
    assert token_f1(["Denver Broncos"], "the Denver Broncos won") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert token_recall(["北京大学"], "他在北京工作") == 0.5  # one character a word in Chinese


def test_a_fixed_sample_keeps_the_groups_proportions():
    from eval.gold import GoldQuestion

    qs = [GoldQuestion(id=f"a{i}", question="q", language="en", answerable=True,
                       facts=[{"kind": "vital", "any_of": ["x"]}]) for i in range(80)]
    qs += [GoldQuestion(id=f"u{i}", question="q", language="en", answerable=False) for i in range(20)]
    qs += [GoldQuestion(id=f"n{i}", question="q", language="en", answerable=False, tags=["near-topic"])
           for i in range(10)]
    s = harness.sample(qs, 55)
    assert s == harness.sample(qs, 55) and len(s) == 55
    assert sum(q.answerable for q in s) == 40 and sum("near-topic" in q.tags for q in s) == 5


def test_a_group_of_questions_can_have_its_own_gate():
    summary = {"all": {"fact_recall_strict": 0.8}, "near-topic": {"refusal_unanswerable": 0.5}}
    failures = harness.gate(summary, {"min": {"fact_recall_strict": 0.7},
                                      "near-topic": {"min": {"refusal_unanswerable": 0.8}}})
    assert failures == ["near-topic: refusal_unanswerable = 0.500 is below its threshold 0.8"]


def test_every_gated_suite_has_a_gate():
    from eval.suites import GATED

    for name in GATED:
        t = harness.load_thresholds(name)
        assert t["min"]["fact_recall_strict"] > 0.4, name


def test_a_figure_is_checked_against_the_quote_read_in_its_own_language():
    gold = _gold({"en": ["30 million"], "es": ["30 millones"]})
    quote = "Los acuerdos incluyen tarifas anuales de 30 millones de libras."
    answer = _answer(f"30 million [1] — “{quote}”", "composed", [("es.txt", quote)])
    assert harness.score_answer(gold, answer, lambda t, d: d, {"es.txt": "es"})["unsupported_numbers"] == 0
    wrong = _answer(f"40 million [1] — “{quote}”", "composed", [("es.txt", quote)])
    assert harness.score_answer(gold, wrong, lambda t, d: d, {"es.txt": "es"})["unsupported_numbers"] == 1


def test_sources_copies_agreement_and_disagreement_are_scored():
    from eval.gold import GoldQuestion

    copies = [["wire.html", "reprint.html"]]
    q = GoldQuestion(id="x", question="In how many cities?", language="en", answerable=True,
                     figures=[{"any_of": ["31"], "doc_ids": ["wire.html", "reprint.html"]},
                              {"any_of": ["29"], "doc_ids": ["munich.html"]}], min_sources=2)
    both = _answer("31 [1] or 29 [2] cities, depending on the report.",
                   citations=(("wire.html", "in 31 cities"), ("munich.html", "in 29 Städten")))
    assert harness.score_sources(q, both, copies) == {
        "copies_cited": False, "agreement_cited": True, "figures_sourced": True}
    one = _answer("31 cities [1][2].", citations=(("wire.html", "in 31 cities"),
                                                   ("reprint.html", "in 31 cities")))
    assert harness.score_sources(q, one, copies) == {
        "copies_cited": True, "agreement_cited": False, "figures_sourced": False}
    unsourced = _answer("31 or 29 cities [1].", citations=(("wire.html", "in 31 cities"),))
    assert harness.score_sources(q, unsourced, copies)["figures_sourced"] is False  # 29 has no source of its own


def test_the_news_suite_quotes_its_articles_exactly_and_names_real_copies():
    import json

    from eval.suites import NEWS

    ingestor = Ingestor(IngestSettings())
    texts = {p.name: ingestor.read(p, p.name).text for p in [*(NEWS / "corpus").iterdir(), *CORPUS.glob("*.txt")]}
    questions = load_gold(NEWS / "gold.jsonl")
    for q in questions:
        for e in q.evidence:
            assert e.quote in texts[e.doc_id], (q.id, e.quote)
        for f in q.figures:
            assert all(d in texts for d in f.doc_ids)
    for group in json.loads((NEWS / "copies.json").read_text()).values():
        assert len(group) >= 2 and all(d in texts for d in group)
    tags = {t for q in questions for t in q.tags}
    assert {"when", "agreement", "disagreement", "copies", "near-topic"} <= tags
    assert {q.language for q in questions} == {"en", "de"}
