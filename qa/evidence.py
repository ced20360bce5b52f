"""Which sentence answers the question, and whether any does: two small learned models over retrieval's signals.

Each candidate sentence is described by language-independent features (cosines with the question and its
translations, the share of the question's key words and names it holds, the rank of its chunk, whether it
holds the kind of thing asked for, …). A logistic regression turns them into the probability that the
sentence holds the answer; a second one, over the best candidate's features, into the probability that
answering from it is right (the alternative is the refusal). Both are fitted by `eval/fit.py` on half of the
development articles and checked on the other half; their weights live in `qa/calibration.json`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.lexical import stems
from qa import answer_types, dates
from qa.core.records import Evidence
from qa.retrieve import SIGNALS, Retrieval

CALIBRATION = Path(__file__).resolve().parent / "calibration.json"

SENTENCE_FEATURES = (
    "cos_question",
    "cos_best",
    "lexical",
    "lexical_idf",
    "chunk_rank_inv",
    "cos_rank_inv",
    "lexical_rank_inv",
    "cos_gap",
    "lexical_gap",
    "names",
    "kind_number",
    "kind_date",
    "kind_person",
    "kind_place",
    "same_language",
    "length",
    "cos_prev",
    "cos_next",
    "lexical_prev",
    "lexical_next",
    "cos_window",
    "lexical_window",
)
ANSWER_FEATURES = (
    "p_top",
    "p_gap",
    "cos_best",
    "lexical_idf",
    "names",
    "names_anywhere",
    "kind_holds",
    "kind_other",
    "keys_top",
    "keys_anywhere",
    "kind_near_top",
    "keys_idf_top",
    "missing_rare_top",
    "score_top",
)

_NAME_OR_NUMBER = re.compile(r"(?<![\w])([A-ZÀ-ÖØ-ÞА-Я][\w'’-]*[\w]|\d[\d.,]*\d|\d)")


def question_names(text: str) -> set[str]:
    """Names (capitalised words after the first) and numbers a question mentions, casefolded."""
    found = _NAME_OR_NUMBER.findall(text)
    first = re.match(r"\W*([\w'’-]+)", text)
    if first and found and found[0] == first.group(1) and not found[0][0].isdigit():
        found = found[1:]
    return {re.sub(r"['’]s$", "", w).casefold() for w in found}


@dataclass(frozen=True)
class Question:
    """What the features need to know of the question."""

    text: str
    language: str
    kind: str
    names: tuple[frozenset[str], ...]  # of the question and of each translation
    keys: tuple[frozenset[str], ...]  # the word stems of each that are not names
    rarity: tuple[tuple[str, float], ...] = ()  # each key stem's inverse document frequency in the index

    @classmethod
    def of(
        cls, text: str, language: str, translations: Sequence[str] = (), idf: Callable[[str], float] | None = None
    ) -> Question:
        texts = (text, *translations)
        names = tuple(frozenset(question_names(t)) for t in texts)
        keys = tuple(
            frozenset(stems(answer_types.without_asking(t, language if i == 0 else "")) - {n[:5] for n in found})
            for i, (t, found) in enumerate(zip(texts, names))
        )
        rarity = tuple(sorted((k, idf(k)) for k in set().union(*keys))) if idf else ()
        return cls(text, language, answer_types.asked(text, language), names, keys, rarity)

    def keys_rarity(self, text: str) -> tuple[float, float]:
        """For the wording whose key stems the text holds best by rarity: the rarity-weighted share it holds,
        and the rarity of the rarest key stem it lacks relative to the rarest one it has (0 when it lacks
        none)."""
        weight = dict(self.rarity)
        found = stems(text)
        best = (1.0, 0.0)
        scored = []
        for k in self.keys:
            if not k:
                continue
            total = sum(weight.get(x, 1.0) for x in k)
            held = sum(weight.get(x, 1.0) for x in k & found)
            missing = max((weight.get(x, 1.0) for x in k - found), default=0.0)
            scored.append((held / total, -missing / max(max(weight.get(x, 1.0) for x in k), 1e-9)))
        if scored:
            share, neg_missing = max(scored)
            best = (share, -neg_missing)
        return best

    def names_share(self, sentence: str) -> float:
        folded = sentence.casefold()
        shares = [sum(n in folded for n in names) / len(names) for names in self.names if names]
        return max(shares, default=1.0)

    def keys_share(self, text: str) -> float:
        """The largest share of one wording's key stems (not its names) that the text holds."""
        found = stems(text)
        return max((len(k & found) / len(k) for k in self.keys if k), default=1.0)


def _unpublished(ev: Evidence) -> str:
    return ""


def sentence_features(question: Question, retrieval: Retrieval, doc_language, published=_unpublished) -> np.ndarray:
    """One row of `SENTENCE_FEATURES` per candidate of `retrieval`. `published(ev)`: the publication date of the
    evidence's article (YYYY-MM-DD, "" when unknown): a relative date in it is then a date, and the names it
    shares with the question include the date it means ("last year" in 2024 names 2023)."""
    n = len(retrieval.evidence)
    if n == 0:
        return np.zeros((0, len(SENTENCE_FEATURES)), np.float32)
    raw = {name: np.array([s[i] for s in retrieval.signals], np.float64) for i, name in enumerate(SIGNALS)}
    cos_rank = _ranks(raw["cos_best"])
    lex_rank = _ranks(raw["lexical_idf"])
    rows = []
    for i, ev in enumerate(retrieval.evidence):
        kinds = {
            k: float(
                question.kind == k
                and answer_types.holds(k, ev.text, doc_language(ev), question.text, relative=bool(published(ev)))
            )
            for k in (answer_types.NUMBER, answer_types.DATE, answer_types.PERSON, answer_types.PLACE)
        }
        rows.append(
            [
                raw["cos_question"][i],
                raw["cos_best"][i],
                raw["lexical"][i],
                raw["lexical_idf"][i],
                1.0 / raw["chunk_rank"][i],
                1.0 / cos_rank[i],
                1.0 / lex_rank[i],
                raw["cos_best"][i] - raw["cos_best"].max(),
                raw["lexical_idf"][i] - raw["lexical_idf"].max(),
                question.names_share(ev.text + dates.meant(ev.text, doc_language(ev), published(ev))),
                kinds[answer_types.NUMBER],
                kinds[answer_types.DATE],
                kinds[answer_types.PERSON],
                kinds[answer_types.PLACE],
                float(doc_language(ev) == question.language),
                math.log1p(len(ev.text.split())),
                raw["cos_prev"][i],
                raw["cos_next"][i],
                raw["lexical_prev"][i],
                raw["lexical_next"][i],
                raw["cos_window"][i],
                raw["lexical_window"][i],
            ]
        )
    return np.array(rows, np.float32)


def answer_features(
    question: Question,
    ranked: Sequence[Evidence],
    top_row: np.ndarray,
    top_score: float,
    doc_language,
    published=_unpublished,
) -> np.ndarray:
    """`ANSWER_FEATURES` of answering from `ranked[0]` (scores are the sentence model's probabilities;
    `top_score` is its linear score, which unlike a share among the candidates says how good it is alone)."""
    top = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    row = dict(zip(SENTENCE_FEATURES, top_row))
    anywhere = question.names_share(" ".join(e.text for e in ranked))
    holds = question.kind == answer_types.OTHER or answer_types.holds(
        question.kind, top.text, doc_language(top), question.text, relative=bool(published(top))
    )
    near = question.kind == answer_types.OTHER or any(
        answer_types.holds(question.kind, e.text, doc_language(e), question.text, relative=bool(published(e)))
        for e in ranked[:3]
    )
    return np.array(
        [
            top.score,
            top.score - second,
            row["cos_best"],
            row["lexical_idf"],
            row["names"],
            anywhere,
            float(holds),
            float(question.kind == answer_types.OTHER),
            question.keys_share(top.text),
            question.keys_share(" ".join(e.text for e in ranked)),
            float(near),
            *question.keys_rarity(top.text),
            top_score,
        ],
        np.float32,
    )


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


@dataclass(frozen=True)
class Logistic:
    """A fitted linear model over standardised features: a logistic regression (each row's own probability),
    or, when `among_rows`, a conditional logit (the probability that a row is the one, among the rows given
    together, that holds the answer)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    among_rows: bool = False

    def score(self, rows: np.ndarray) -> np.ndarray:
        """The linear score of each row (its log-odds, or its logit among the rows)."""
        return (rows - np.array(self.mean)) / np.array(self.scale) @ np.array(self.weights) + self.bias

    def probability(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros(0)
        z = self.score(rows)
        if self.among_rows:
            e = np.exp(z - z.max())
            return e / e.sum()
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
            "threshold": self.threshold,
            "among_rows": self.among_rows,
        }

    @classmethod
    def from_json(cls, d: dict, expected: tuple[str, ...]) -> Logistic:
        if tuple(d["features"]) != expected:
            raise ValueError(
                f"the calibration's features {d['features']} are not {list(expected)}: refit it "
                "with `python -m eval.fit`"
            )
        return cls(
            tuple(d["features"]),
            tuple(d["mean"]),
            tuple(d["scale"]),
            tuple(d["weights"]),
            d["bias"],
            d.get("threshold", 0.5),
            d.get("among_rows", False),
        )


@dataclass(frozen=True)
class Calibration:
    """The fitted evidence models and the cut-off a translated short answer's cosine must reach (`eval/fit.py`)."""

    sentence: Logistic
    answer: Logistic
    translation_min_similarity: float
    meta: dict

    @classmethod
    def load(cls, path: Path = CALIBRATION) -> Calibration:
        return _load(Path(path))


@lru_cache(maxsize=4)
def _load(path: Path) -> Calibration:
    from qa.core.errors import ConfigError

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(
            Logistic.from_json(raw["sentence"], SENTENCE_FEATURES),
            Logistic.from_json(raw["answer"], ANSWER_FEATURES),
            float(raw["meta"]["translation_min_similarity"]),
            raw["meta"],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: not a usable calibration ({exc})",
            hint="restore qa/calibration.json or refit it with `python -m eval.fit`",
        ) from None


@dataclass(frozen=True)
class Ranked:
    """The candidates best first (`Evidence.score`: the probability that the sentence holds the answer, numbered
    from 1 in that order) and the probability that answering from the first is right; `rows`: the candidates'
    `SENTENCE_FEATURES`, in the same order."""

    evidence: tuple[Evidence, ...]
    answer_probability: float
    answerable: bool
    rows: np.ndarray | None = None


def rank(
    question: Question, retrieval: Retrieval, calibration: Calibration, doc_language, published=_unpublished
) -> Ranked:
    if not retrieval.evidence:
        return Ranked((), 0.0, False)
    ranked, features, rows = _ranked(question, retrieval, calibration.sentence, doc_language, published)
    q = float(calibration.answer.probability(features[None, :])[0])
    return Ranked(ranked, q, q >= calibration.answer.threshold, rows)


def answers_without_those_above(
    question: Question, ranked: Ranked, i: int, calibration: Calibration, doc_language, published=_unpublished
) -> bool:
    """Whether the evidence models would answer from `ranked.evidence[i]` were the candidates above it absent:
    the test a second article's sentence passes to count as answering the question too."""
    assert ranked.rows is not None
    rows = ranked.rows[i:]
    p = calibration.sentence.probability(rows)
    rest = tuple(replace(e, score=float(p[k])) for k, e in enumerate(ranked.evidence[i:]))
    linear = float(calibration.sentence.score(rows[:1])[0])
    features = answer_features(question, rest, rows[0], linear, doc_language, published)
    return float(calibration.answer.probability(features[None, :])[0]) >= calibration.answer.threshold


def ranked_by(
    question: Question, retrieval: Retrieval, sentence: Logistic, doc_language, published=_unpublished
) -> tuple[tuple[Evidence, ...], np.ndarray]:
    """The candidates of `retrieval` (at least one), best first by the `sentence` model, and the
    `ANSWER_FEATURES` of answering from the first."""
    ranked, features, _ = _ranked(question, retrieval, sentence, doc_language, published)
    return ranked, features


def _ranked(
    question: Question, retrieval: Retrieval, sentence: Logistic, doc_language, published
) -> tuple[tuple[Evidence, ...], np.ndarray, np.ndarray]:
    rows = sentence_features(question, retrieval, doc_language, published)
    p = sentence.probability(rows)
    order = np.argsort(-p, kind="stable")
    ranked = tuple(
        replace(e, n=n, score=float(p[i]))
        for n, (i, e) in enumerate(((i, retrieval.evidence[i]) for i in order), start=1)
    )
    features = answer_features(
        question, ranked, rows[order[0]], float(sentence.score(rows[order[:1]])[0]), doc_language, published
    )
    return ranked, features, rows[order]
