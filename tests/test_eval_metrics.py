import pytest

from eval import harness, metrics
from eval.gold import load_gold
from eval.matching import FULL, NONE, PARTIAL, match_fact, match_form
from index.ingest import Ingestor
from qa.settings import IngestSettings

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


def test_the_shipped_thresholds_are_the_real_gate():
    t = harness.load_thresholds()
    assert t["min"]["fact_recall_strict"] > 0.5 and t["max"]["unsupported_number_rate"] < 0.05


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
