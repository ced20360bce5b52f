"""Fits the evidence models of `qa/evidence.py` and writes `qa/calibration.json`.

    python -m eval.fit            # collect (cached in <data>/fit/), fit on xquad half A, check on half B and seed
    python -m eval.fit --recollect

What is fitted, on what, and how it is checked:
- the sentence model: a conditional logit (a softmax over each question's candidate sentences) over their
  features, fitted to make the sentences that hold the gold answer likeliest; fitted on half A of the xquad
  suite (the articles `eval/xquad.py` assigns to it, with their questions) and of the seed suite (its articles
  000 and 002), then scored as R@1 (the first sentence holds the answer) on both halves of both suites;
- the answer model: a logistic regression over the best sentence's features, labelled by whether the
  collection holds the answer (the question is answerable), on the same halves A, with its threshold chosen
  there to minimise the share of answerable questions refused plus `WRONG_COST` times the share of
  unanswerable ones answered; checked the same way;
- the translation cut-off: the least cosine between a short answer and its translation at which the
  translation is shown, from the local model's translations of the suite's gold answers (half A), checked on
  half B.
Nothing here names an article, a question or an answer: the data decide.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval import suites as suite_lib
from eval import xquad as xquad_build
from eval.gold import GoldQuestion
from eval.harness import gold_spans, holds_span
from qa import evidence as ev_lib
from qa.assistant import Assistant
from qa.core.records import Evidence, Turn
from qa.core.settings import load_settings
from qa.followup import rewrite
from qa.models import embedder_identity
from qa.retrieve import Retrieval

# What answering an unanswerable question costs against refusing an answerable one, as shares of each: the
# same, as the targets weigh them (at most 10% of either kind handled wrong).
WRONG_COST = 1.0
COLLECT_VERSION = 4


@dataclass
class Item:
    """One question's retrieval, as the assistant saw it, with the gold labels of its candidates."""

    id: str
    suite: str
    split: str
    answerable: bool
    near: bool
    question: str
    language: str
    translations: list[str]
    evidence: list[dict]
    signals: list[list[float]]
    labels: list[int]
    doc_languages: dict[str, str]
    rarity: dict[str, float]
    doc_published: dict[str, str] = field(default_factory=dict)  # absent from collections made before dates

    def published(self, e: Evidence) -> str:
        """The publication date of an evidence's article, as the assistant passes it to the evidence models."""
        return self.doc_published.get(e.doc_id, "")

    def question_record(self) -> ev_lib.Question:
        return ev_lib.Question.of(self.question, self.language, self.translations, lambda s: self.rarity.get(s, 1.0))

    def retrieval(self) -> Retrieval:
        evidence = tuple(
            Evidence(i + 1, e["doc_id"], e["chunk_id"], e["start"], e["end"], e["text"], e["score"])
            for i, e in enumerate(self.evidence)
        )
        return Retrieval((), evidence, tuple(tuple(s) for s in self.signals))


def collect(suite_name: str, cache: Path) -> list[Item]:
    settings = load_settings()
    suite = suite_lib.suite(suite_name, settings)
    assistant = Assistant(suite_lib.suite_settings(settings, suite))
    assistant.index(suite.corpus)  # no warm_up: it loads the calibration this script is about to replace
    documents = assistant.documents()
    doc_languages = {d: doc.language for d, doc in documents.items()}
    known = _known_translations(cache.parent, suite_name)
    items = []
    for q in suite.questions():
        question = rewrite(q.question, [Turn(t, "") for t in q.turns], q.language) if q.turns else q.question
        language = assistant.question_language(question)
        translations = known.get((question, language))
        if translations is None:
            translations = assistant.translations(question, language)
        r = assistant.retrieve(question, translations)
        labels = _labels(q, r, documents)
        rarity = dict(ev_lib.Question.of(question, language, translations, assistant.retriever.idf).rarity)
        items.append(
            Item(
                q.id,
                suite_name,
                q.split,
                q.answerable,
                "near-topic" in q.tags,
                question,
                language,
                list(translations),
                [
                    {
                        "doc_id": e.doc_id,
                        "chunk_id": e.chunk_id,
                        "start": e.char_start,
                        "end": e.char_end,
                        "text": e.text,
                        "score": e.score,
                    }
                    for e in r.evidence
                ],
                [list(s) for s in r.signals],
                labels,
                {e.doc_id: doc_languages[e.doc_id] for e in r.evidence},
                rarity,
                {e.doc_id: documents[e.doc_id].source.published for e in r.evidence},
            )
        )
    _write(cache, "".join(json.dumps(i.__dict__, ensure_ascii=False) + "\n" for i in items))
    return items


def _known_translations(folder: Path, suite_name: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """Translations an earlier collection of this version made (the local model's are deterministic, and the
    slowest part); bump COLLECT_VERSION when the translation prompt or model changes."""
    known = {}
    for path in folder.glob(f"{suite_name}-v{COLLECT_VERSION}.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            known[(item["question"], item["language"])] = tuple(item["translations"])
    return known


def _labels(q: GoldQuestion, r: Retrieval, documents) -> list[int]:
    if not q.answerable:
        return [0] * len(r.evidence)
    spans = gold_spans(q, documents)
    return [int(holds_span(e.doc_id, e.char_start, e.char_end, spans)) for e in r.evidence]


def load(suite_name: str, data: Path, recollect: bool) -> list[Item]:
    cache = data / "fit" / f"{suite_name}-v{COLLECT_VERSION}.jsonl"
    if cache.is_file() and not recollect:
        return [Item(**json.loads(line)) for line in cache.read_text(encoding="utf-8").splitlines()]
    return collect(suite_name, cache)


def collect_translations(data: Path, recollect: bool) -> list[dict]:
    """The local model's translations of gold answer spans of the xquad suite from one of its languages into
    another (each question's pair drawn with a fixed seed), with their cosine and whether the translation is
    the gold span of the target language; cached."""
    import random

    from eval.matching import FULL, match_fact, token_f1
    from qa.models import load_embedder, load_llm
    from qa.translate import Translator

    cache = data / "fit" / f"translations-v{COLLECT_VERSION}.jsonl"
    if cache.is_file() and not recollect:
        return [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
    settings = load_settings()
    translator = Translator(load_llm(settings, translation=True), settings.paths.prompts)
    embedder = load_embedder(settings)
    rows = []
    for q in suite_lib.suite("xquad", settings).questions():
        if not q.answerable:
            continue
        forms = q.facts[0].by_language
        source, target = random.Random(q.id).sample(list(xquad_build.SPECS["xquad"].question_languages), 2)
        text = forms[source][0]
        translation = translator.translate(text, source, target)
        out = translation.text if translation else ""
        v = embedder.encode_queries([text, out or " "])
        rows.append(
            {
                "id": q.id,
                "split": q.split,
                "source": source,
                "target": target,
                "text": text,
                "translation": out,
                "similarity": float(v[0] @ v[1]),
                "gold": forms[target],
                "right": match_fact(forms[target], out) == FULL or token_f1(forms[target], out) >= 0.5,
            }
        )
    _write(cache, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return rows


def fit_translation(rows: list[dict]) -> float:
    """The least cosine between a span and its translation at which the translation is shown: the cut-off that
    minimises right translations withheld plus WRONG_COST times wrong ones shown."""
    p = np.array([r["similarity"] for r in rows])
    y = np.array([1 if r["right"] else 0 for r in rows])
    return choose_threshold(p, y)


def translation_report(rows: list[dict], cut: float) -> dict:
    shown = [r for r in rows if r["similarity"] >= cut]
    if not rows:
        return {"pairs": 0}
    return {
        "pairs": len(rows),
        "right_among_all": round(_mean([r["right"] for r in rows]) or 0.0, 3),
        "shown": round(len(shown) / len(rows), 3),
        "right_among_shown": round(_mean([r["right"] for r in shown]) or 0, 3),
        "right_withheld": round(_mean([r["right"] and r["similarity"] < cut for r in rows]) or 0.0, 3),
    }


def sentence_rows(items: list[Item]) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    groups: list[tuple[int, int]] = []
    for item in items:
        q = item.question_record()
        rows = ev_lib.sentence_features(
            q, item.retrieval(), lambda e, d=item.doc_languages: d[e.doc_id], item.published
        )
        start = sum(len(x) for x in xs)
        xs.append(rows)
        ys.append(np.array(item.labels))
        groups.append((start, start + len(rows)))
    return np.concatenate(xs), np.concatenate(ys), groups


def fit_logistic(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], c: float = 1.0) -> ev_lib.Logistic:
    """A logistic regression on standardised features, the two classes weighing the same."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit((x - scaler.mean_) / scale, y)
    return ev_lib.Logistic(
        features,
        tuple(float(v) for v in scaler.mean_),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in model.coef_[0]),
        float(model.intercept_[0]),
    )


def fit_conditional_logit(
    x: np.ndarray, y: np.ndarray, groups: list[tuple[int, int]], features: tuple[str, ...], penalty: float = 1.0
) -> ev_lib.Logistic:
    """Weights that make the sentences holding the answer likeliest among the candidates of their question
    (a conditional logit: a softmax over each question's candidates), with an L2 penalty. Questions none of
    whose candidates holds the answer teach nothing here and are left out."""
    from scipy.optimize import minimize

    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    z = (x - mean) / scale
    used = [(a, b) for a, b in groups if y[a:b].any()]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = penalty * float(w @ w), 2 * penalty * w
        for a, b in used:
            s = z[a:b] @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            gold = y[a:b] / y[a:b].sum()
            total -= float(gold @ np.log(p + 1e-12))
            grad = grad - z[a:b].T @ (gold - p)
        return total, grad

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return ev_lib.Logistic(
        features,
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in w),
        0.0,
        among_rows=True,
    )


def ranked(item: Item, calibration: ev_lib.Calibration) -> ev_lib.Ranked:
    q = item.question_record()
    return ev_lib.rank(q, item.retrieval(), calibration, lambda e, d=item.doc_languages: d[e.doc_id], item.published)


def top_is_right(item: Item, r: ev_lib.Ranked) -> bool:
    if not item.answerable or not r.evidence:
        return False
    top = r.evidence[0]
    return any(
        lab and e["start"] == top.char_start and e["doc_id"] == top.doc_id for lab, e in zip(item.labels, item.evidence)
    )


def answer_rows(items: list[Item], sentence: ev_lib.Logistic) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for item in items:
        if not item.evidence:
            continue
        _, features = ev_lib.ranked_by(
            item.question_record(),
            item.retrieval(),
            sentence,
            lambda e, d=item.doc_languages: d[e.doc_id],
            item.published,
        )
        xs.append(features)
        ys.append(int(item.answerable))
    return np.array(xs), np.array(ys)


def choose_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The cut-off that minimises the share of positives rejected plus WRONG_COST times the share of negatives
    accepted (shares, not counts: a user's collection has its own mix of the two)."""
    best, best_cost = 0.5, float("inf")
    n_pos, n_neg = max(1, int(np.sum(y == 1))), max(1, int(np.sum(y == 0)))
    for t in np.unique(np.concatenate([p, [0.0, 1.0]])):
        accepted = p >= t
        cost = float(np.sum(~accepted & (y == 1)) / n_pos + WRONG_COST * np.sum(accepted & (y == 0)) / n_neg)
        if cost < best_cost:
            best, best_cost = float(t), cost
    return best


def report(items: list[Item], calibration: ev_lib.Calibration) -> dict:
    answerable = [i for i in items if i.answerable]
    unanswerable = [i for i in items if not i.answerable and not i.near]
    near = [i for i in items if i.near]
    results = {i.id: ranked(i, calibration) for i in items}
    out: dict[str, float | int | None] = {"questions": len(items)}
    out["candidate_recall"] = _mean([any(i.labels) for i in answerable])
    out["sentence_r1"] = _mean([top_is_right(i, results[i.id]) for i in answerable])
    out["answerable_refused"] = _mean([not results[i.id].answerable for i in answerable])
    out["answered_right"] = _mean([results[i.id].answerable and top_is_right(i, results[i.id]) for i in answerable])
    out["answered_wrong"] = _mean([results[i.id].answerable and not top_is_right(i, results[i.id]) for i in answerable])
    out["unanswerable_refused"] = _mean([not results[i.id].answerable for i in unanswerable])
    out["near_topic_refused"] = _mean([not results[i.id].answerable for i in near])
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}


def _write(path: Path, text: str) -> None:
    """All or nothing: an interrupted run leaves the earlier file, never a truncated one that loads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _mean(values) -> float | None:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recollect", action="store_true", help="ask retrieval again instead of the cache")
    parser.add_argument("--out", type=Path, default=ev_lib.CALIBRATION)
    args = parser.parse_args()
    data = Path(load_settings().paths.data)
    xquad = load("xquad", data, args.recollect)
    seed = load("seed", data, args.recollect)
    fit_on = [i for i in xquad + seed if i.split == "A" and i.evidence]
    held_out = [i for i in xquad if i.split == "B"]

    x, y, groups = sentence_rows(fit_on)
    sentence = fit_conditional_logit(x, y, groups, ev_lib.SENTENCE_FEATURES)
    xa, ya = answer_rows(fit_on, sentence)
    answer = fit_logistic(xa, ya, ev_lib.ANSWER_FEATURES)
    threshold = choose_threshold(answer.probability(xa), ya)
    answer = ev_lib.Logistic(answer.features, answer.mean, answer.scale, answer.weights, answer.bias, threshold)
    meta: dict[str, Any] = {
        "fitted": time.strftime("%Y-%m-%d"),
        "fitted_on": "half A of xquad and of seed",
        "wrong_cost": WRONG_COST,
        "embedder": embedder_identity(load_settings()).to_json(),
        "by": "python -m eval.fit",
    }
    translations = collect_translations(data, args.recollect)
    cut = fit_translation([r for r in translations if r["split"] == "A"])
    meta["translation_min_similarity"] = cut
    calibration = ev_lib.Calibration(sentence, answer, cut, meta)
    meta["checks"] = {
        "xquad half A (fitted)": report([i for i in xquad if i.split == "A"], calibration),
        "xquad half B (held out)": report(held_out, calibration),
        "seed half A (fitted)": report([i for i in seed if i.split == "A"], calibration),
        "seed half B (held out)": report([i for i in seed if i.split == "B"], calibration),
        "translations, half A (fitted)": translation_report([r for r in translations if r["split"] == "A"], cut),
        "translations, half B (held out)": translation_report([r for r in translations if r["split"] == "B"], cut),
    }
    _write(
        args.out,
        json.dumps({"meta": meta, "sentence": sentence.to_json(), "answer": answer.to_json()}, indent=1) + "\n",
    )
    ev_lib._load.cache_clear()
    for name, figures in meta["checks"].items():
        print(f"{name:28} " + "  ".join(f"{k} {v}" for k, v in figures.items()))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
