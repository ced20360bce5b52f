"""The XQuAD suites are built as eval/data/xquad/README.md says, from any folder of that format."""

import json

import numpy as np
import pytest

from eval import xquad
from eval.gold import load_gold

LANGS = xquad.LANGUAGES


def fake_xquad(folder, n_articles=6):
    """A tiny parallel XQuAD: article k's paragraph is "Article k in LANG. The answer is ANSWER-LANG."."""
    folder.mkdir(parents=True, exist_ok=True)
    for lang in LANGS:
        data = []
        for k in range(n_articles):
            context = f"Article {k} in {lang}. The answer is A{k}-{lang}."
            start = context.index(f"A{k}-{lang}")
            data.append({"title": f"Title_{k}", "paragraphs": [{"context": context, "qas": [
                {"id": f"q{k}", "question": f"Q{k} in {lang}?",
                 "answers": [{"answer_start": start, "text": f"A{k}-{lang}"}]}]}]})
        (folder / f"xquad-dev.{lang}.json").write_text(json.dumps({"data": data}), encoding="utf-8")
    return folder


def test_the_suite_mixes_languages_leaves_four_articles_out_and_splits_in_halves(tmp_path, monkeypatch):
    monkeypatch.setitem(xquad.SPECS, "xquad", xquad.XquadSuiteSpec(("en", "de", "es")))  # no near-topic file
    source = fake_xquad(tmp_path / "src")
    dest = xquad.build("xquad", tmp_path / "built", source)
    files = sorted(p.name for p in (dest / "corpus").glob("*.txt"))
    assert files == ["00_Title_0.txt", "01_Title_1.txt"]  # 6 articles, the last 4 left out
    assert (dest / "corpus" / "01_Title_1.txt").read_text() == "Title 1\n\nArticle 1 in de. The answer is A1-de.\n"
    assert [xquad.article_language(k) for k in range(10)] == ["en", "de", "en", "de", "es", "de", "en", "de",
                                                              "en", "es"]
    assert [xquad.article_split(k) for k in range(8)] == ["A", "A", "B", "B", "A", "A", "B", "B"]
    gold = load_gold(dest / "gold.jsonl")
    assert [q.answerable for q in gold] == [True, True, False, False, False, False]
    q1 = gold[1]
    assert q1.question == f"Q1 in {q1.language}?" and q1.language in {"en", "de", "es"}
    assert q1.facts[0].by_language["zh"] == ["A1-zh"] and q1.facts[0].native(q1.language) == [f"A1-{q1.language}"]
    assert q1.evidence[0].doc_id == "01_Title_1.txt" and q1.evidence[0].quote == "The answer is A1-de."
    again = xquad.build("xquad", tmp_path / "again", source)
    assert (again / "gold.jsonl").read_text() == (dest / "gold.jsonl").read_text()  # a fixed seed


def test_a_folder_that_is_not_xquad_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="xquad-dev.en.json: missing"):
        xquad.load_source(tmp_path)


def test_the_near_topic_questions_are_about_indexed_articles():
    rows = [json.loads(line) for line in (xquad.NEAR_DIR / "xquad-near.jsonl").read_text().splitlines()]
    assert len(rows) >= 30 and {r["language"] for r in rows} == {"en", "de", "es"}
    assert all(0 <= r["article"] < 20 and r["question"].strip() for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)


def test_the_fit_chooses_the_cut_off_and_recovers_weights():
    from eval.fit import choose_threshold, fit_conditional_logit

    p = np.array([0.1, 0.2, 0.8, 0.9])
    assert choose_threshold(p, np.array([0, 0, 1, 1])) == pytest.approx(0.8)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    groups = [(i, i + 5) for i in range(0, 200, 5)]
    y = np.zeros(200, int)
    for a, b in groups:
        y[a + int(np.argmax(x[a:b, 0]))] = 1  # the answer is the candidate with the largest first feature
    m = fit_conditional_logit(x, y, groups, ("good", "noise"))
    assert m.weights[0] > 1.0 and abs(m.weights[1]) < 0.5 * m.weights[0]
