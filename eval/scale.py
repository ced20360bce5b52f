"""Distractor articles for the scale benchmark (`make bench-scale`): news-like articles in five languages,
recombined from the sentences of the XQuAD development paragraphs (eval/data/xquad/, CC BY-SA 4.0: the
generated text is derived from it and carries the same licence).

Article k is made from k and the seed alone, so a corpus of N articles is the first N of any larger one, and
"100 more" are articles N … N+99. Each article is 5 to 12 sentences of one language drawn at random, in
paragraphs of two to four, with an invented outlet, a date between 2015 and 2025 and a headline from its
first sentence, in front matter as saved articles carry it.

No sentence that holds the answer to any XQuAD question (in any language) is used: the distractors are on the
suites' own subjects, so they test that the right article still wins, but they never answer a suite question
themselves (which would turn a retrieval test into a test of which copy of the fact is cited). That leaves
about 900 sentences, so at scale every sentence recurs in many articles: the articles differ as wholes (no two
are copies), their sentences do not. The benchmark measures time, memory and whether the suites' own articles
still win; it says nothing about how a real archive's vocabulary grows.
"""

from __future__ import annotations

import argparse
import random
import unicodedata
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from eval import xquad
from index.sentences import split_sentences

SEED = 17
# The share of each language among the articles: English and German most, as in the bundled collection.
LANGUAGE_WEIGHTS = {"en": 0.3, "de": 0.25, "es": 0.2, "ru": 0.15, "zh": 0.1}
OUTLETS = (
    "Daily Ledger",
    "Morning Courier",
    "Rundschau am Abend",
    "Nordkurier Digital",
    "El Observador",
    "Diario del Puerto",
    "Вечерний вестник",
    "Деловая неделя",
    "晨报",
    "The Weekly Record",
    "Wirtschaftsspiegel",
    "Crónica Semanal",
)
FIRST_DAY, DAYS = date(2015, 1, 1), 11 * 365


@lru_cache(maxsize=2)
def sentence_pool(source: Path = xquad.DATA) -> dict[str, list[str]]:
    """For each language, the sentences of the XQuAD paragraphs that hold no answer and read as sentences."""
    data = xquad.load_source(source)
    pool: dict[str, list[str]] = {}
    for lang, articles in data.items():
        kept: list[str] = []
        for article in articles:
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                answers = [
                    (a["answer_start"], a["answer_start"] + len(a["text"]))
                    for qa in paragraph["qas"]
                    for a in qa["answers"]
                ]
                for span in split_sentences(context, lang):
                    if not any(span.start < end and start < span.end for start, end in answers):
                        text = unicodedata.normalize("NFKC", context[span.start : span.end]).strip()
                        if _reads_as_sentence(text, lang):
                            kept.append(text)
        pool[lang] = list(dict.fromkeys(kept))
    return pool


def _reads_as_sentence(text: str, lang: str) -> bool:
    """Not a fragment the splitter left (a formula's "2 in der …", a heading): long enough, starting as a
    sentence does."""
    if lang == "zh":
        return len(text) >= 12
    return len(text.split()) >= 6 and (text[0].isupper() or text[0] in '"«„“¿¡')


def article(k: int, pool: dict[str, list[str]] | None = None) -> tuple[str, str]:
    """The file name and text (front matter and body) of article `k`."""
    pool = pool or sentence_pool()
    rng = random.Random(SEED * 1_000_003 + k)
    lang = rng.choices(list(LANGUAGE_WEIGHTS), weights=list(LANGUAGE_WEIGHTS.values()))[0]
    sentences = rng.sample(pool[lang], rng.randint(5, 12))
    body = sentences
    paragraphs, i = [], 0
    while i < len(body):
        n = rng.randint(2, 4)
        paragraphs.append(("" if lang == "zh" else " ").join(body[i : i + n]))
        i += n
    words = body[0].split()
    headline = body[0][:40] if lang == "zh" else " ".join(words[: min(len(words), rng.randint(6, 10))]).rstrip(",;:")
    published = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
    front = "\n".join(
        [
            "---",
            f"title: {_quoted(headline)}",
            f"outlet: {_quoted(rng.choice(OUTLETS))}",
            f"date: {published.isoformat()}",
            f"language: {lang}",
            "---",
        ]
    )
    return f"scale-{k:06d}.md", front + "\n\n" + "\n\n".join(paragraphs) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate(out: Path, first: int, count: int) -> list[Path]:
    """Writes articles `first` … `first + count - 1` into `out` (unchanged files are not rewritten)."""
    out.mkdir(parents=True, exist_ok=True)
    pool = sentence_pool()
    paths = []
    for k in range(first, first + count):
        name, text = article(k, pool)
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=0)
    args = parser.parse_args(argv)
    paths = generate(args.out, args.first, args.articles)
    print(f"{len(paths)} articles in {args.out}")


if __name__ == "__main__":
    main()
