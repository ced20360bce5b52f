"""Runs the gold questions through the assistant (the same API as the CLI) and scores every answer.

Retrieval is scored on the fused chunk ranking against the chunks that hold a gold evidence quote
(recomputed from the quotes, so they follow any change of chunking). Answers are scored on facts,
citations, numbers, refusals, language and latency. Everything is deterministic: no judge model.
"""

from __future__ import annotations

import json
import platform
import re
import time
import tomllib
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from eval import metrics
from eval.gold import GOLD, GoldQuestion, load_gold
from eval.matching import FULL, match_fact
from index.lexical import stems
from index.sentences import split_sentences
from qa import numbers, protocol
from qa.assistant import Assistant
from qa.followup import Turn
from qa.records import Answer, Chunk, Hit

EVAL_DIR = Path(__file__).resolve().parent
THRESHOLDS = EVAL_DIR / "thresholds.toml"
K_VALUES = (1, 3, 5)


# -- retrieval -----------------------------------------------------------------------------------
def gold_spans(q: GoldQuestion, documents: dict) -> list[tuple[str, int, int]]:
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


def score_retrieval(q: GoldQuestion, hits: list[Hit], chunks: list[Chunk], documents: dict) -> dict:
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
    if answer.mode != "composed":
        return answer.language == expected
    text = protocol.CITATION.sub("", answer.text)
    if len(re.findall(r"[^\W\d_]{2,}", text)) < 4:
        return True  # too short to be in one language rather than another ("Cheng Wei.", "12.")
    return detect(text, expected) == expected


def score_answer(q: GoldQuestion, answer: Answer, detect) -> dict:
    by_n = {c.n: c for c in answer.citations}
    out: dict = {"refused": answer.refused, "mode": answer.mode,
                 "language_match": language_matches(answer, q.language, detect)}
    if q.answerable and not answer.refused:
        vital = [match_fact(f.any_of, answer.text) for f in q.facts if f.kind == "vital"]
        okay = [match_fact(f.any_of, answer.text) for f in q.facts if f.kind == "okay"]
        out["fact_strict"] = metrics.mean([1.0 if v == FULL else 0.0 for v in vital])
        out["fact_partial"] = metrics.mean(vital)
        out["okay_facts"] = metrics.mean(okay) if okay else None
    elif q.answerable:
        out["fact_strict"] = out["fact_partial"] = 0.0
    if answer.refused:
        return out
    sentences = answer_sentences(answer)
    precise = total = covered = 0
    cited_quotes = [c.quote for c in answer.citations]
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
    evidence_q = [n for quote in cited_quotes for lang in ("en", "de") for n in numbers.quantities(quote, lang)]
    out["numbers"] = len(stated)
    out["unsupported_numbers"] = sum(1 for n in stated if not numbers.supported(n, evidence_q))
    return out


# -- running ---------------------------------------------------------------------------------------
def run(assistant: Assistant, gold: list[GoldQuestion] | None = None, retrieval_only: bool = False) -> dict:
    gold = gold if gold is not None else load_gold()
    index = assistant.loaded_index()
    documents = index.data.documents
    doc_language = {d: doc.language for d, doc in documents.items()}
    rows = []
    if not retrieval_only:
        assistant.warm_up()

    def detect(text: str, default: str) -> str:
        return assistant.text_language(text, default)

    for q in gold:
        row: dict = {"id": q.id, "question": q.question, "language": q.language, "answerable": q.answerable,
                     "direction": q.direction(doc_language), "multi_turn": bool(q.turns)}
        history: list[Turn] = []
        for earlier in q.turns:
            if retrieval_only:
                history.append(Turn(earlier, ""))
            else:
                history.append(Turn(earlier, assistant.ask(earlier, history).text))
        if retrieval_only:
            from qa.followup import rewrite

            standalone = rewrite(q.question, history, q.language)
            t0 = time.perf_counter()
            translations = assistant.translations(standalone, q.language)
            hits = list(assistant.retrieve(standalone, translations).hits)
            row["timings"] = {"retrieve_s": time.perf_counter() - t0}
            row["rewritten"] = standalone
        else:
            answer = assistant.ask(q.question, history)
            hits = list(assistant.retrieve(answer.rewritten, answer.translations).hits)
            row.update({
                "answer": answer.text, "raw": answer.raw, "rewritten": answer.rewritten,
                "translations": list(answer.translations),
                "citations": [asdict(c) for c in answer.citations],
                "timings": asdict(answer.timings),
                "scores": score_answer(q, answer, detect),
            })
        if q.answerable:
            row["retrieval"] = score_retrieval(q, hits, index.data.chunks, documents)
        rows.append(row)
    report = {"meta": meta(assistant, retrieval_only), "questions": rows}
    report["summary"] = summarise(rows, retrieval_only)
    return report


def meta(assistant: Assistant, retrieval_only: bool) -> dict:
    manifest = assistant.loaded_index().manifest
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{platform.machine()}, {_cores()} cores, {_memory_gb()} GB, Python {platform.python_version()}",
        "embedder": manifest["embedder"],
        "llm": None if retrieval_only else getattr(assistant.llm, "name", "?"),
        "retrieval_only": retrieval_only,
        "gold": str(GOLD.name),
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
        out["answerable_refused"] = metrics.mean([1.0 if s["refused"] else 0.0 for s in ans_scores])
    if unanswerable:
        out["refusal_unanswerable"] = metrics.mean([1.0 if s["refused"] else 0.0 for s in unanswerable])
    correct = [(s["refused"] != r["answerable"]) for r, s in zip(rows, scores)]
    out["refusal_accuracy"] = metrics.mean([1.0 if c else 0.0 for c in correct])
    cited = [s for s in scores if s.get("citations")]
    total_citations = sum(s["citations"] for s in cited)
    out["citation_precision"] = (sum(s["citation_precision"] * s["citations"] for s in cited) / total_citations
                                 if total_citations else None)
    coverage = [s["citation_coverage"] for s in scores if s.get("citation_coverage") is not None]
    out["citation_coverage"] = metrics.mean(coverage) if coverage else None
    n_numbers = sum(s.get("numbers", 0) for s in scores)
    out["unsupported_number_rate"] = (sum(s.get("unsupported_numbers", 0) for s in scores) / n_numbers
                                      if n_numbers else 0.0)
    out["language_match"] = metrics.mean([1.0 if s["language_match"] else 0.0 for s in scores])
    out["composed_share"] = metrics.mean([1.0 if s["mode"] == "composed" else 0.0 for s in scores])
    for key in ("first_token_s", "total_s"):
        values = [r["timings"][key] for r in rows]
        out[f"{key[:-2]}_p50_s"] = metrics.percentile(values, 50)
        out[f"{key[:-2]}_p95_s"] = metrics.percentile(values, 95)
    for stage in ("rewrite_s", "translate_s", "retrieve_s", "generate_s", "verify_s"):
        out[f"stage_{stage[:-2]}_p50_ms"] = 1000 * metrics.percentile([r["timings"][stage] for r in rows], 50)
    return out


# -- gate and reports ------------------------------------------------------------------------------
def load_thresholds(path: Path = THRESHOLDS) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def gate(summary: dict, thresholds: dict) -> list[str]:
    """The thresholds that the overall scores miss, as readable lines (empty when all pass)."""
    failures = []
    overall = summary["all"]
    for name, floor in thresholds.get("min", {}).items():
        value = overall.get(name)
        if value is None or value < floor:
            failures.append(f"{name} = {_fmt(value)} is below its threshold {floor}")
    for name, ceiling in thresholds.get("max", {}).items():
        value = overall.get(name)
        if value is None or value > ceiling:
            failures.append(f"{name} = {_fmt(value)} is above its threshold {ceiling}")
    return failures


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


COLUMNS = [
    ("questions", "n"), ("recall_at_1", "R@1"), ("recall_at_5", "R@5"), ("mrr_at_10", "MRR@10"),
    ("ndcg_at_10", "nDCG@10"), ("fact_recall_strict", "facts strict"), ("fact_recall_partial", "facts partial"),
    ("citation_precision", "cit. prec."), ("citation_coverage", "cit. cover"),
    ("unsupported_number_rate", "unsupp. nums"), ("refusal_accuracy", "refusal acc."),
    ("answerable_refused", "answerable refused"), ("refusal_unanswerable", "unanswerable refused"),
    ("language_match", "lang. match"), ("composed_share", "composed"), ("first_token_p50_s", "first token p50 s"),
    ("total_p50_s", "total p50 s"),
    ("total_p95_s", "total p95 s"),
]


def markdown(report: dict) -> str:
    summary = report["summary"]
    m = report["meta"]
    cols = [c for c in COLUMNS if any(c[0] in row for row in summary.values())]
    order = [k for k in ("EN→EN", "EN→DE", "DE→EN", "DE→DE", "multi-turn", "unanswerable", "all") if k in summary]
    lines = [
        f"Measured {m['date']} on {m['machine']}; embedder {m['embedder']['name']}"
        + (f", model {m['llm']}" if m["llm"] else ", retrieval only") + ".",
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
