"""Fits `ingest.copy_threshold`, the shingle overlap (Jaccard) from which two articles are copies of one story,
and `ingest.passage_threshold`, the overlap of word pairs from which two sentences of such copies are one passage.

Development data: XQuAD's development half (eval/data/xquad), every article in every language. A "story" is
three consecutive paragraphs of an article. Copies are what outlets do to wire copy: a new headline, a sentence
or two dropped, the last paragraph cut, a few words changed or left out, an agency line added. Not copies: two
stories of one article that share a paragraph (a follow-up quoting the first report), and stories of different
articles. For passages: a sentence and the same sentence as the reprint edits it, against the other sentences
of its story. Each threshold is fitted on the articles of half A and checked on half B:

    python -m eval.fit_copies

prints both halves' precision and recall and the fitted values, which `qa/core/settings.py` holds
(tests/test_copies.py checks that they agree).
"""

from __future__ import annotations

import random
import re

from eval.xquad import DATA, LANGUAGES, article_split, load_source
from index.copies import PASSAGE_WORDS, SHINGLE_WORDS, jaccard, shingles

SEED = 0
GRID = [round(0.05 * i, 2) for i in range(1, 20)]
AGENCY = ["(Reporting by staff; editing by the desk)", "(dpa)", "(AFP)", "Copyright: news agency."]


def _sentences(paragraph: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?。])\s*", paragraph) if s.strip()]


def edit(text: str, rng: random.Random) -> str:
    """A few words left out or changed, as a copy editor does."""
    words = []
    for word in text.split(" "):
        roll = rng.random()
        if roll < 0.02:
            continue
        words.append(rng.choice(["new", "the", "also", "now"]) if roll < 0.04 else word)
    return " ".join(words)


def reprint(title: str, paragraphs: list[str], rng: random.Random) -> str:
    """The story as another outlet prints it: edits drawn at random, at the rates wire reprints show."""
    kept = paragraphs[:-1] if len(paragraphs) > 2 and rng.random() < 0.5 else list(paragraphs)
    out = []
    for paragraph in kept:
        sentences = [s for s in _sentences(paragraph) if rng.random() >= 0.1] or _sentences(paragraph)[:1]
        out.append(edit(" ".join(sentences), rng))
    headline = f"{title}: {rng.choice(['what we know', 'latest', 'report', 'update'])}"
    return "\n\n".join([headline, *out, rng.choice(AGENCY)])


def pairs(rng: random.Random) -> list[tuple[str, str, bool, str]]:
    """(text, text, are copies, half) for every article and language."""
    data = load_source(DATA)
    out = []
    for language in LANGUAGES:
        articles = data[language]
        for k, article in enumerate(articles):
            half = article_split(k)
            paragraphs = [p["context"] for p in article["paragraphs"]]
            first, second = paragraphs[:3], paragraphs[2:5]
            title = article["title"]
            story_a = "\n\n".join([title, *first])
            story_b = "\n\n".join([title, *second])
            other = articles[(k + 1 + rng.randrange(len(articles) - 1)) % len(articles)]
            story_c = "\n\n".join([other["title"], *(p["context"] for p in other["paragraphs"][:3])])
            out += [
                (story_a, reprint(title, first, rng), True, half),
                (story_b, reprint(title, second, rng), True, half),
                (story_a, story_b, False, half),
                (story_a, reprint(title, second, rng), False, half),
                (story_a, story_c, False, half),
            ]
    return out


def sentence_pairs(rng: random.Random) -> list[tuple[str, str, bool, str]]:
    """(sentence, sentence, one passage, half): a sentence and its edited reprint; a sentence and another of its
    paragraph."""
    data = load_source(DATA)
    out = []
    for language in LANGUAGES:
        for k, article in enumerate(data[language]):
            for paragraph in article["paragraphs"]:
                sentences = _sentences(paragraph["context"])
                for i, sentence in enumerate(sentences):
                    out.append((sentence, edit(sentence, rng), True, article_split(k)))
                    if len(sentences) > 1:
                        other = sentences[(i + 1 + rng.randrange(len(sentences) - 1)) % len(sentences)]
                        out.append((sentence, other, False, article_split(k)))
    return out


def scores(rows: list[tuple[float, bool]], threshold: float) -> tuple[float, float, float]:
    tp = sum(1 for j, copy in rows if copy and j >= threshold)
    fp = sum(1 for j, copy in rows if not copy and j >= threshold)
    fn = sum(1 for j, copy in rows if copy and j < threshold)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


Fit = tuple[float, dict[str, tuple[float, float, float]]]


def fit() -> Fit:
    """The copy threshold (the middle of the range that scores the best F1 on half A) and each half's
    (precision, recall, F1) at it."""
    return _fit(pairs(random.Random(SEED)), SHINGLE_WORDS)


def fit_passages() -> Fit:
    """The passage threshold, on pairs of word pairs, the same way."""
    return _fit(sentence_pairs(random.Random(SEED)), PASSAGE_WORDS)


def _fit(pairs: list[tuple[str, str, bool, str]], size: int) -> Fit:
    rows: dict[str, list[tuple[float, bool]]] = {"A": [], "B": []}
    for a, b, copy, half in pairs:
        rows[half].append((jaccard(shingles(a, size), shingles(b, size)), copy))
    f1 = {t: scores(rows["A"], t)[2] for t in GRID}
    best = max(f1.values())
    top = [t for t in GRID if f1[t] == best]
    threshold = round((top[0] + top[-1]) / 2, 2)
    return threshold, {half: scores(r, threshold) for half, r in rows.items()}


def main() -> None:
    for name, (threshold, halves) in (("copy_threshold", fit()), ("passage_threshold", fit_passages())):
        for half, (precision, recall, f1) in halves.items():
            print(f"{name}, half {half}: precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}")
        print(f"{name} = {threshold}")


if __name__ == "__main__":
    main()
