"""Runs the gold questions through the assistant (the same API as the CLI) and scores every answer.

Retrieval is scored on the fused chunk ranking against the chunks that hold a gold evidence quote
(recomputed from the quotes, so they follow any change of chunking). Answers are scored on facts,
citations, numbers, refusals, language and latency. Everything is deterministic: no judge model.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import re
import time
import tomllib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from eval import metrics
from eval.gold import GoldQuestion, load_gold
from eval.matching import FULL, match_fact, token_recall
from index.lexical import stems
from index.sentences import split_sentences
from qa import numbers
from qa.assistant import Assistant
from qa.core import protocol
from qa.core.records import Answer, Chunk, Document, Hit

EVAL_DIR = Path(__file__).resolve().parent
THRESHOLDS = EVAL_DIR / "thresholds.toml"
K_VALUES = (1, 3, 5)


# -- retrieval -----------------------------------------------------------------------------------
def gold_spans(q: GoldQuestion, documents: Mapping[str, Document]) -> list[tuple[str, int, int]]:
    spans = []
    for ev in q.evidence:
        doc = documents.get(ev.doc_id)
        start = doc.text.find(ev.quote) if doc else -1
        if start < 0:
            raise ValueError(f"gold {q.id}: evidence quote not found in {ev.doc_id}: {ev.quote[:60]!r}")
        spans.append((ev.doc_id, start, start + len(ev.quote)))
    return spans


def holds_gold(chunk: Chunk, spans: list[tuple[str, int, int]]) -> bool:
    """A chunk holds a quote when it contains at least half of it (quotes may straddle two chunks)."""
    for doc_id, start, end in spans:
        if chunk.doc_id == doc_id:
            overlap = min(end, chunk.char_end) - max(start, chunk.char_start)
            if overlap >= 0.5 * (end - start):
                return True
    return False


def score_retrieval(q: GoldQuestion, hits: Sequence[Hit], chunks: Sequence[Chunk], documents: Mapping) -> dict:
    spans = gold_spans(q, documents)
    relevance = [1 if holds_gold(h.chunk, spans) else 0 for h in hits[:10]]
    first = next((i + 1 for i, r in enumerate(relevance) if r), None)
    if first is None:
        first = next((i + 1 for i, h in enumerate(hits) if holds_gold(h.chunk, spans)), None)
    n_relevant = sum(1 for c in chunks if holds_gold(c, spans))
    return {"first_rank": first, "relevance": relevance, "n_relevant": n_relevant}


# -- answers -------------------------------------------------------------------------------------
def answer_sentences(answer: Answer) -> list[str]:
    if answer.mode != "composed":
        return [answer.text]
    return [answer.text[s.start : s.end] for s in split_sentences(answer.text, answer.language)] or [answer.text]


def citation_is_precise(sentence: str, quote: str, q: GoldQuestion) -> bool:
    """The cited passage carries the sentence: the gold fact the sentence states, or else its numbers and
    most of its content words."""
    stated = [f for f in q.facts if match_fact(f.any_of, sentence) == FULL]
    if stated:
        return any(match_fact(f.any_of, quote) == FULL for f in stated)
    bare = protocol.CITATION.sub("", sentence)
    quote_q = numbers.quantities(quote, "en") + numbers.quantities(quote, "de")
    if not all(numbers.supported(n, quote_q) for n in numbers.quantities(bare, numbers.number_language(bare))):
        return False
    words = stems(bare)
    return not words or len(words & stems(quote)) / len(words) >= 0.5


def language_matches(answer: Answer, expected: str, detect) -> bool:
    """The answer's own words (quotes of the sources aside) are in the question's language."""
    if answer.mode != "composed":
        return answer.language == expected
    text = answer.text
    for c in answer.citations:
        text = text.replace(c.quote, " ")
    text = protocol.CITATION.sub("", text).replace("—", " ")
    if len(re.findall(r"[^\W\d_]{2,}", text)) < 4:
        return True  # too short to be in one language rather than another ("Cheng Wei.", "12.")
    return detect(text, expected) == expected


def outside_foreign_quotes(answer: Answer, language: str, doc_language: dict[str, str]) -> str:
    """The answer's text without the verbatim quotes of sources in another language than the question's: what
    a reader who only knows the question's language can read in it."""
    text = answer.text
    for c in answer.citations:
        if doc_language.get(c.doc_id, language) != language:
            text = text.replace(c.quote, " ")
    return text


def holds_span(doc_id: str, start: int, end: int, spans: list[tuple[str, int, int]]) -> bool:
    """A sentence holds a gold quote when they overlap by at least half of the shorter of the two."""
    return any(d == doc_id and min(end, e) - max(start, s) >= 0.5 * min(end - start, e - s) for d, s, e in spans)


def score_answer(
    q: GoldQuestion,
    answer: Answer,
    detect,
    doc_language: dict[str, str] | None = None,
    documents: Mapping[str, Document] | None = None,
    copies: Sequence[Sequence[str]] = (),
) -> dict:
    by_n = {c.n: c for c in answer.citations}
    doc_language = doc_language or {}
    out: dict = {
        "refused": answer.refused,
        "mode": answer.mode,
        "language_match": language_matches(answer, q.language, detect),
    }
    vital_facts = [f for f in q.facts if f.kind == "vital"]
    if q.answerable and not answer.refused:
        vital = [match_fact(f.any_of, answer.text) for f in vital_facts]
        okay = [match_fact(f.any_of, answer.text) for f in q.facts if f.kind == "okay"]
        native_text = outside_foreign_quotes(answer, q.language, doc_language)
        out["fact_strict"] = metrics.mean([1.0 if v == FULL else 0.0 for v in vital])
        out["fact_partial"] = metrics.mean(vital)
        out["fact_tokens"] = metrics.mean([token_recall(f.any_of, answer.text) for f in vital_facts])
        out["native"] = metrics.mean(
            [1.0 if match_fact(f.native(q.language), native_text) == FULL else 0.0 for f in vital_facts]
        )
        out["okay_facts"] = metrics.mean(okay) if okay else None
    elif q.answerable:
        out["fact_strict"] = out["fact_partial"] = out["fact_tokens"] = out["native"] = 0.0
    if answer.mode == "quoted":
        out["wrong_quote"] = not q.answerable or out["fact_strict"] < 1.0
    short = protocol.short_part(answer.text) if answer.mode == "composed" else None
    if q.answerable and short is not None:
        out["short_holds"] = all(match_fact(f.any_of, short) == FULL for f in vital_facts)
    if q.answerable and documents is not None:
        spans = gold_spans(q, documents)
        top = answer.evidence[0] if answer.evidence else None
        out["evidence_r1"] = bool(top and holds_span(top.doc_id, top.char_start, top.char_end, spans))
        first = answer.hits[0].chunk.text if answer.hits else ""
        out["first_chunk_strict"] = metrics.mean(
            [1.0 if match_fact(f.any_of, first) == FULL else 0.0 for f in vital_facts]
        )
    if answer.refused:
        return out
    out.update(score_sources(q, answer, copies))
    sentences = answer_sentences(answer)
    precise = total = covered = 0
    for sentence in sentences:
        ns = [n for n in protocol.cited_numbers(sentence) if n in by_n]
        covered += bool(ns)
        for n in ns:
            total += 1
            precise += citation_is_precise(sentence, by_n[n].quote, q)
    out["citations"] = total
    out["citation_precision"] = precise / total if total else None
    out["citation_coverage"] = covered / len(sentences) if sentences else None
    text = protocol.CITATION.sub("", answer.text)
    stated = numbers.quantities(text, numbers.number_language(text))
    evidence_q = [
        n
        for c in answer.citations
        for lang in dict.fromkeys(("en", "de", (doc_language or {}).get(c.doc_id, "en")))
        for n in numbers.quantities(c.quote, lang)
    ]
    out["numbers"] = len(stated)
    out["unsupported_numbers"] = sum(1 for n in stated if not numbers.supported(n, evidence_q))
    return out


def score_sources(q: GoldQuestion, answer: Answer, copies: Sequence[Sequence[str]]) -> dict:
    """How an answer uses several articles: copies of one story cited as separate support, independent articles
    cited where they agree (`min_sources`), each figure with its own source where they disagree (`figures`)."""
    story = {doc: i for i, group in enumerate(copies) for doc in group}
    shown = {c.n for c in answer.citations if f"[{c.n}]" in answer.text}
    cited = {c.doc_id for c in answer.citations if c.n in shown}
    out: dict = {"copies_cited": any(sum(doc in cited for doc in group) > 1 for group in copies)}
    independent = {story.get(doc, doc) for doc in cited}
    if q.min_sources:
        out["agreement_cited"] = len(independent) >= q.min_sources
    if q.figures:
        out["figures_sourced"] = all(
            match_fact(f.any_of, answer.text) == FULL
            and any(
                c.doc_id in f.doc_ids and c.n in shown and match_fact(f.any_of, c.quote) == FULL
                for c in answer.citations
            )
            for f in q.figures
        )
    return out


# -- running ---------------------------------------------------------------------------------------
def run(
    assistant: Assistant,
    gold: list[GoldQuestion] | None = None,
    retrieval_only: bool = False,
    suite: str = "seed",
    copies: Sequence[Sequence[str]] = (),
) -> dict:
    gold = gold if gold is not None else load_gold()
    documents = assistant.documents()
    doc_language = {d: doc.language for d, doc in documents.items()}
    rows = []
    if not retrieval_only:
        assistant.warm_up()

    def detect(text: str, default: str) -> str:
        return assistant.text_language(text, default)

    for q in gold:
        row: dict = {
            "id": q.id,
            "question": q.question,
            "language": q.language,
            "answerable": q.answerable,
            "direction": q.direction(doc_language),
            "multi_turn": bool(q.turns),
            "split": q.split,
            "tags": list(q.tags),
        }
        conversation = assistant.conversation()
        for earlier in q.turns:
            said = "" if retrieval_only else assistant.ask(earlier, conversation).text
            conversation = conversation.then(earlier, said)
        if retrieval_only:
            from qa.followup import rewrite

            standalone = rewrite(q.question, conversation.turns, q.language)
            t0 = time.perf_counter()
            translations = assistant.translations(standalone, q.language)
            hits = list(assistant.retrieve(standalone, translations).hits)
            row["timings"] = {"retrieve_s": time.perf_counter() - t0}
            row["rewritten"] = standalone
        else:
            answer = assistant.ask(q.question, conversation)
            hits = list(answer.hits)
            row.update(
                {
                    "answer": answer.text,
                    "raw": answer.raw,
                    "rewritten": answer.rewritten,
                    "translations": list(answer.translations),
                    "detected_language": answer.language,
                    "citations": [asdict(c) for c in answer.citations],
                    "evidence": [e.text for e in answer.evidence[:3]],
                    "timings": asdict(answer.timings),
                    "scores": score_answer(q, answer, detect, doc_language, documents, copies),
                }
            )
        if q.answerable:
            row["retrieval"] = score_retrieval(q, hits, assistant.chunks(), documents)
        rows.append(row)
    report = {"meta": meta(assistant, retrieval_only, suite), "questions": rows}
    report["summary"] = summarise(rows, retrieval_only)
    return report


def sample(questions: list[GoldQuestion], n: int) -> list[GoldQuestion]:
    """A fixed sample of about `n` questions, in the same proportions of answerable, unanswerable and near-topic
    questions as the whole suite (each group ordered by a hash of the id, so the sample never changes)."""
    if n <= 0 or n >= len(questions):
        return questions
    groups: dict[str, list[GoldQuestion]] = defaultdict(list)
    for q in questions:
        groups["near" if "near-topic" in q.tags else str(q.answerable)].append(q)
    keep = set()
    for members in groups.values():
        ordered = sorted(members, key=lambda q: hashlib.sha1(q.id.encode()).hexdigest())
        keep |= {q.id for q in ordered[: max(1, round(len(members) * n / len(questions)))]}
    return [q for q in questions if q.id in keep]


def meta(assistant: Assistant, retrieval_only: bool, suite: str = "seed") -> dict:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{platform.machine()}, {_cores()} cores, {_memory_gb()} GB, Python {platform.python_version()}",
        "embedder": assistant.embedder_identity.to_json(),
        "llm": None if retrieval_only else assistant.llm.name,
        "retrieval_only": retrieval_only,
        "suite": suite,
    }


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _memory_gb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return 0


def summarise(rows: list[dict], retrieval_only: bool) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["direction"] if r["answerable"] else "unanswerable"].append(r)
        groups["all"].append(r)
        if r["multi_turn"]:
            groups["multi-turn"].append(r)
        if "near-topic" in r.get("tags", ()):
            groups["near-topic"].append(r)
        if r.get("split"):
            groups[f"half {r['split']}"].append(r)
        for tag in ("when", "agreement", "disagreement", "copies"):
            if tag in r.get("tags", ()):
                groups[tag].append(r)
    return {name: aggregate(members, retrieval_only) for name, members in sorted(groups.items())}


def aggregate(rows: list[dict], retrieval_only: bool) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    ret = [r["retrieval"] for r in answerable]
    out: dict = {"questions": len(rows)}
    if ret:
        ranks = [x["first_rank"] for x in ret]
        for k in K_VALUES:
            out[f"recall_at_{k}"] = metrics.recall_at(ranks, k)
        out["mrr_at_10"] = metrics.mrr_at(ranks, 10)
        out["ndcg_at_10"] = metrics.ndcg_at([x["relevance"] for x in ret], [x["n_relevant"] for x in ret], 10)
    out["retrieve_p50_ms"] = 1000 * metrics.percentile([r["timings"]["retrieve_s"] for r in rows], 50)
    if retrieval_only:
        return out
    scores = [r["scores"] for r in rows]
    ans_scores = [r["scores"] for r in answerable]
    unanswerable = [r["scores"] for r in rows if not r["answerable"]]
    if ans_scores:
        out["fact_recall_strict"] = metrics.mean([s["fact_strict"] for s in ans_scores])
        out["fact_recall_partial"] = metrics.mean([s["fact_partial"] for s in ans_scores])
        out["fact_recall_tokens"] = metrics.mean([s["fact_tokens"] for s in ans_scores])
        out["native_recall"] = metrics.mean([s["native"] for s in ans_scores])
        out["answerable_refused"] = metrics.mean([1.0 if s["refused"] else 0.0 for s in ans_scores])
        ranked = [s["evidence_r1"] for s in ans_scores if "evidence_r1" in s]
        out["evidence_r1"] = metrics.mean([1.0 if r else 0.0 for r in ranked]) if ranked else None
        short = [s["short_holds"] for s in ans_scores if "short_holds" in s]
        out["short_answer_recall"] = metrics.mean([1.0 if h else 0.0 for h in short]) if short else None
        first = [s["first_chunk_strict"] for s in ans_scores if "first_chunk_strict" in s]
        out["first_chunk_recall"] = metrics.mean(first) if first else None
    if unanswerable:
        out["refusal_unanswerable"] = metrics.mean([1.0 if s["refused"] else 0.0 for s in unanswerable])
    correct = [(s["refused"] != r["answerable"]) for r, s in zip(rows, scores)]
    out["refusal_accuracy"] = metrics.mean([1.0 if c else 0.0 for c in correct])
    cited = [s for s in scores if s.get("citations")]
    total_citations = sum(s["citations"] for s in cited)
    out["citation_precision"] = (
        sum(s["citation_precision"] * s["citations"] for s in cited) / total_citations if total_citations else None
    )
    coverage = [s["citation_coverage"] for s in scores if s.get("citation_coverage") is not None]
    out["citation_coverage"] = metrics.mean(coverage) if coverage else None
    n_numbers = sum(s.get("numbers", 0) for s in scores)
    out["unsupported_number_rate"] = (
        sum(s.get("unsupported_numbers", 0) for s in scores) / n_numbers if n_numbers else 0.0
    )
    out["language_match"] = metrics.mean([1.0 if s["language_match"] else 0.0 for s in scores])
    for mode in ("composed", "quoted", "refused"):
        out[f"{mode}_share"] = metrics.mean([1.0 if s["mode"] == mode else 0.0 for s in scores])
    for key, name in (
        ("copies_cited", "copies_cited_rate"),
        ("agreement_cited", "agreement_cited"),
        ("figures_sourced", "figures_sourced"),
    ):
        values = [1.0 if s[key] else 0.0 for s in scores if key in s]
        if values:
            out[name] = metrics.mean(values)
    quoted = [s["wrong_quote"] for s in scores if "wrong_quote" in s]
    out["wrong_quote_rate"] = metrics.mean([1.0 if w else 0.0 for w in quoted]) if quoted else 0.0
    for key in ("first_token_s", "total_s"):
        values = [r["timings"][key] for r in rows]
        out[f"{key[:-2]}_p50_s"] = metrics.percentile(values, 50)
        out[f"{key[:-2]}_p95_s"] = metrics.percentile(values, 95)
    for stage in ("rewrite_s", "translate_s", "retrieve_s", "generate_s", "verify_s"):
        out[f"stage_{stage[:-2]}_p50_ms"] = 1000 * metrics.percentile([r["timings"][stage] for r in rows], 50)
    return out


# -- gate and reports ------------------------------------------------------------------------------
def load_thresholds(suite: str = "seed", path: Path = THRESHOLDS) -> dict:
    """The suite's gate: `min` and `max` tables, and tables for groups of its questions; empty when not gated."""
    return tomllib.loads(path.read_text(encoding="utf-8")).get(suite, {})


def gate(summary: dict, thresholds: dict) -> list[str]:
    """The thresholds that the scores miss, as readable lines (empty when all pass). `thresholds` holds a suite's
    `min` and `max` tables for the overall scores, and optionally tables for one group (`[xquad.near-topic]`)."""
    failures = []
    for group, table in thresholds.items():
        if group in {"min", "max"} or not isinstance(table, dict):
            continue
        failures += [f"{group}: {line}" for line in gate({"all": summary.get(group, {})}, table)]
    overall = summary["all"]
    for name, floor in thresholds.get("min", {}).items():
        value = overall.get(name)
        if value is None or math.isnan(value) or value < floor:
            failures.append(f"{name} = {_fmt(value)} is below its threshold {floor}")
    for name, ceiling in thresholds.get("max", {}).items():
        value = overall.get(name)
        if value is None or math.isnan(value) or value > ceiling:
            failures.append(f"{name} = {_fmt(value)} is above its threshold {ceiling}")
    return failures


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


COLUMNS = [
    ("questions", "n"),
    ("recall_at_1", "R@1"),
    ("recall_at_5", "R@5"),
    ("mrr_at_10", "MRR@10"),
    ("evidence_r1", "evidence R@1"),
    ("fact_recall_strict", "facts strict"),
    ("native_recall", "native"),
    ("fact_recall_tokens", "fact tokens"),
    ("short_answer_recall", "short holds"),
    ("first_chunk_recall", "first chunk"),
    ("citation_precision", "cit. prec."),
    ("unsupported_number_rate", "unsupp. nums"),
    ("refusal_accuracy", "refusal acc."),
    ("answerable_refused", "answerable refused"),
    ("refusal_unanswerable", "unanswerable refused"),
    ("wrong_quote_rate", "wrong quotes"),
    ("figures_sourced", "both figures"),
    ("agreement_cited", "sources agree"),
    ("copies_cited_rate", "copies cited"),
    ("language_match", "lang. match"),
    ("composed_share", "composed"),
    ("quoted_share", "quoted"),
    ("total_p50_s", "total p50 s"),
    ("total_p95_s", "total p95 s"),
]


def markdown(report: dict) -> str:
    summary = report["summary"]
    m = report["meta"]
    cols = [c for c in COLUMNS if any(c[0] in row for row in summary.values())]
    directions = sorted(k for k in summary if "→" in k)
    order = directions + [
        k for k in ("multi-turn", "unanswerable", "near-topic", "half A", "half B", "all") if k in summary
    ]
    lines = [
        f"Suite {m.get('suite', 'seed')}, measured {m['date']} on {m['machine']}; embedder {m['embedder']['name']}"
        + (f", model {m['llm']}" if m["llm"] else ", retrieval only")
        + ".",
        "",
        "| direction | " + " | ".join(label for _, label in cols) + " |",
        "| --- | " + " | ".join("---" for _ in cols) + " |",
    ]
    for name in order:
        row = summary[name]
        lines.append(f"| {name} | " + " | ".join(_fmt(row.get(key)) for key, _ in cols) + " |")
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "report.json"
    md = out_dir / "summary.md"
    js.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    md.write_text(markdown(report), encoding="utf-8")
    return js, md
