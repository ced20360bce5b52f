"""Builds the XQuAD suites from the benchmark's files, exactly as `eval/data/xquad/README.md` describes.

XQuAD (Artetxe, Ruder and Yogatama, ACL 2020; CC BY-SA 4.0, see eval/data/xquad/) is parallel: every article,
question and answer exists in every language. The suite's corpus mixes languages (one file per article, the
k-th in Spanish when k % 5 == 4, else German when k is odd, else English); the last four articles stay out of
the corpus, so their questions are unanswerable; each question is asked in a language drawn with a fixed seed.
Every language's answer span is an accepted form of the fact; the question's own language's span is what
native recall looks for.

Articles are split into two halves (A: what calibration scripts may fit on; B: held out from any fit),
alternating in pairs so that both halves hold articles in every language.

Near-topic unanswerable questions (written for this project: an indexed article's subject, a fact the
article does not state) come from `eval/suites/<name>-near.jsonl`, keyed by the article's position.
"""

from __future__ import annotations

import hashlib
import json
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.sentences import split_sentences

DATA = Path(__file__).resolve().parent / "data" / "xquad"
LANGUAGES = ("en", "de", "es", "ru", "zh")
LEFT_OUT = 4
SEED = 0
BUILDER_VERSION = 1


@dataclass(frozen=True)
class XquadSuiteSpec:
    """`question_languages` are drawn from for each question; `near` names the file of near-topic questions."""

    question_languages: tuple[str, ...]
    near: str | None = None


SPECS = {
    "xquad": XquadSuiteSpec(("en", "de", "es"), near="xquad-near.jsonl"),
    "xquad-ruzh": XquadSuiteSpec(("ru", "zh")),
}
NEAR_DIR = Path(__file__).resolve().parent / "suites"


def article_language(k: int) -> str:
    if k % 5 == 4:
        return "es"
    return "de" if k % 2 else "en"


def article_split(k: int) -> str:
    return "A" if (k // 2) % 2 == 0 else "B"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _slug_title(title: str) -> str:
    return title.replace("_", " ")


def file_name(k: int, title: str) -> str:
    safe = "".join(c if c.isalnum() else "_" for c in title)[:40]
    return f"{k:02d}_{safe}.txt"


def load_source(source: Path) -> dict[str, list[dict]]:
    out = {}
    for lang in LANGUAGES:
        path = source / f"xquad-dev.{lang}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing (an XQuAD folder holds xquad-dev.<lang>.json for {LANGUAGES})")
        out[lang] = json.loads(path.read_text(encoding="utf-8"))["data"]
    n = {len(v) for v in out.values()}
    if len(n) != 1:
        raise ValueError(f"{source}: the languages hold different numbers of articles")
    return out


def answer_sentence(context: str, start: int, language: str) -> str:
    """The sentence of `context` that holds the answer starting at `start` (NFKC, as the index reads it)."""
    for span in split_sentences(context, language):
        if span.start <= start < span.end:
            return _nfkc(context[span.start : span.end])
    raise ValueError(f"answer offset {start} is in no sentence")


def fingerprint(name: str, source: Path) -> str:
    """What a built suite was made from: the builder, the benchmark's files and the near-topic questions."""
    h = hashlib.sha256(f"{name} v{BUILDER_VERSION}".encode())
    for lang in LANGUAGES:
        h.update((source / f"xquad-dev.{lang}.json").read_bytes())
    near = SPECS[name].near
    if near:
        h.update((NEAR_DIR / near).read_bytes())
    return h.hexdigest()[:16]


def build(name: str, dest: Path, source: Path = DATA) -> Path:
    """Writes `dest/corpus/*.txt` and `dest/gold.jsonl`; returns `dest`."""
    spec = SPECS[name]
    data = load_source(source)
    n_articles = len(data["en"])
    corpus = dest / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.glob("*.txt"):
        old.unlink()
    rng = random.Random(SEED)
    rows = []
    files = {}
    for k in range(n_articles):
        doc_lang = article_language(k)
        article = data[doc_lang][k]
        title = data["en"][k]["title"]
        indexed = k < n_articles - LEFT_OUT
        name_k = file_name(k, title)
        if indexed:
            files[k] = name_k
            body = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
            (corpus / name_k).write_text(f"{_slug_title(title)}\n\n{body}\n", encoding="utf-8")
        for p_i, paragraph in enumerate(article["paragraphs"]):
            for q_i, qa in enumerate(paragraph["qas"]):
                lang = rng.choice(spec.question_languages)
                question = data[lang][k]["paragraphs"][p_i]["qas"][q_i]
                if question["id"] != qa["id"]:
                    raise ValueError(f"question {qa['id']}: the languages are not parallel")
                row = {
                    "id": f"{qa['id']}-{lang}",
                    "question": question["question"],
                    "language": lang,
                    "answerable": indexed,
                    "split": article_split(k),
                }
                if indexed:
                    by_language: dict[str, list[str]] = {}
                    for l2 in LANGUAGES:
                        a = data[l2][k]["paragraphs"][p_i]["qas"][q_i]["answers"][0]
                        by_language.setdefault(l2, [])
                        if _nfkc(a["text"]).strip() not in by_language[l2]:
                            by_language[l2].append(_nfkc(a["text"]).strip())
                    forms = list(dict.fromkeys(f for fs in by_language.values() for f in fs))
                    answer = qa["answers"][0]
                    row["facts"] = [{"kind": "vital", "any_of": forms, "by_language": by_language}]
                    row["evidence"] = [
                        {
                            "doc_id": name_k,
                            "quote": answer_sentence(paragraph["context"], answer["answer_start"], doc_lang),
                        }
                    ]
                rows.append(row)
    if spec.near:
        rows += near_topic_rows(NEAR_DIR / spec.near, files)
    gold = dest / "gold.jsonl"
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (dest / "SOURCE").write_text(fingerprint(name, source) + "\n")
    return dest


def near_topic_rows(path: Path, files: dict[int, str]) -> list[dict]:
    """Near-topic questions: `{"id", "article": k, "language", "question", "missing"}` a line (`missing`: what
    the article says nearby, and why it does not answer); unanswerable by design."""
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        q = json.loads(line)
        k = int(q["article"])
        if k not in files:
            raise ValueError(f"{path}:{i}: article {k} is not in the corpus")
        rows.append(
            {
                "id": q["id"],
                "question": q["question"],
                "language": q["language"],
                "answerable": False,
                "split": article_split(k),
                "tags": ["near-topic"],
                "note": f"about {files[k]}: {q.get('missing', '')}".rstrip(": "),
            }
        )
    return rows


def ensure(name: str, dest: Path, source: Path = DATA) -> Path:
    """Builds the suite unless `dest` already holds one built from the same source by this builder."""
    stamp = dest / "SOURCE"
    fresh = stamp.is_file() and stamp.read_text().strip() == fingerprint(name, source)
    return dest if fresh else build(name, dest, source)
