"""The evidence models: features, the fitted linear models and the ranking (qa/evidence.py)."""

import json

import numpy as np
import pytest

from qa import evidence as ev
from qa.core.errors import ConfigError
from qa.core.records import Evidence
from qa.retrieve import SIGNALS, Retrieval


def retrieval(*texts, cosines=None):
    evidence = tuple(Evidence(i + 1, "d.txt", "d.txt#0", i * 100, i * 100 + len(t), t, 0.0)
                     for i, t in enumerate(texts))
    cosines = cosines or [0.8] * len(texts)
    signals = tuple(tuple({"cos_question": c, "cos_best": c, "chunk_rank": 1.0}.get(name, 0.0) for name in SIGNALS)
                    for c in cosines)
    return Retrieval((), evidence, signals)


def test_the_question_knows_its_kind_names_and_key_words():
    q = ev.Question.of("How many customers does DiDi serve?", "en", ("Wie viele Kunden bedient DiDi?",))
    assert q.kind == "number"
    assert q.names == (frozenset({"didi"}), frozenset({"kunden", "didi"}))  # German nouns look like names
    assert "custo" in q.keys[0] and "didi" not in q.keys[0]
    assert q.names_share("DiDi serves 450 million customers.") == 1.0
    assert q.keys_share("DiDi serves 450 million customers.") == 1.0


def test_features_say_which_sentence_holds_the_kind_asked_for():
    q = ev.Question.of("How many customers does DiDi serve?", "en")
    r = retrieval("DiDi is a Chinese company.", "DiDi serves 450 million customers.")
    rows = ev.sentence_features(q, r, lambda e: "en")
    number = ev.SENTENCE_FEATURES.index("kind_number")
    assert rows.shape == (2, len(ev.SENTENCE_FEATURES)) and list(rows[:, number]) == [0.0, 1.0]


def test_a_conditional_logit_shares_probability_among_the_candidates():
    m = ev.Logistic(("a", "b"), (0.0, 0.0), (1.0, 1.0), (2.0, 0.0), 0.0, among_rows=True)
    p = m.probability(np.array([[1.0, 5.0], [0.0, 5.0]]))
    assert p.sum() == pytest.approx(1.0) and p[0] > p[1]
    plain = ev.Logistic(("a",), (1.0,), (2.0,), (1.0,), 0.0)
    assert plain.probability(np.array([[1.0]]))[0] == pytest.approx(0.5)


def test_ranking_numbers_the_best_first_and_decides_whether_to_answer():
    q = ev.Question.of("How many customers does DiDi serve?", "en")
    r = retrieval("DiDi is a Chinese company.", "DiDi serves 450 million customers.")
    n = len(ev.SENTENCE_FEATURES)
    sentence = ev.Logistic(ev.SENTENCE_FEATURES, (0.0,) * n, (1.0,) * n,
                           tuple(3.0 if f == "kind_number" else 0.0 for f in ev.SENTENCE_FEATURES), 0.0,
                           among_rows=True)
    k = len(ev.ANSWER_FEATURES)
    answer = ev.Logistic(ev.ANSWER_FEATURES, (0.0,) * k, (1.0,) * k,
                         tuple(10.0 if f == "p_top" else 0.0 for f in ev.ANSWER_FEATURES), -5.0, threshold=0.5)
    ranked = ev.rank(q, r, ev.Calibration(sentence, answer, 1.0, {}), lambda e: "en")
    assert [e.text for e in ranked.evidence][0] == "DiDi serves 450 million customers."
    assert [e.n for e in ranked.evidence] == [1, 2] and ranked.evidence[0].score > 0.9
    assert ranked.answerable and ranked.answer_probability > 0.9


def test_a_calibration_for_other_features_is_a_clear_error(tmp_path):
    path = tmp_path / "calibration.json"
    shipped = json.loads(ev.CALIBRATION.read_text())
    shipped["sentence"]["features"] = ["something", "else"]
    path.write_text(json.dumps(shipped))
    with pytest.raises(ConfigError, match="calibration.json: not a usable calibration.*refit it"):
        ev.Calibration.load(path)


def test_the_shipped_calibration_loads_and_was_checked_on_held_out_data():
    calibration = ev.Calibration.load()
    checks = calibration.meta["checks"]
    assert "xquad half B (held out)" in checks and "seed half B (held out)" in checks
    assert 0.0 < calibration.answer.threshold < 1.0 and calibration.sentence.among_rows
