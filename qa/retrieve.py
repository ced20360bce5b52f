"""Hybrid retrieval: dense and BM25 chunk rankings fused by reciprocal rank, then evidence sentences.

The model never sees whole chunks: the sentences of the best chunks are ranked against the
question (their vectors were computed at index time) and the best few become numbered evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.embed import Embedder
from index.lexical import stems
from index.store import LoadedIndex
from qa.records import Evidence, Hit
from qa.settings import RetrievalSettings

LEXICAL_WEIGHT = 0.1  # weight of the share of the question's word stems a sentence contains


@dataclass(frozen=True)
class Retrieval:
    question: str
    hits: tuple[Hit, ...]
    evidence: tuple[Evidence, ...]


def reciprocal_rank_fusion(rankings: dict[str, list[int]], k: int,
                           weights: dict[str, float] | None = None) -> list[tuple[int, float, str]]:
    """(row, fused score, via) best first; `via` says whether dense, lexical or both kinds of ranking found the
    row (a ranking's name starts with its kind: "dense", "lexical:translated", ...)."""
    scores: dict[int, float] = {}
    found: dict[int, set[str]] = {}
    for name, rows in rankings.items():
        weight = (weights or {}).get(name, 1.0)
        for rank, row in enumerate(rows, start=1):
            scores[row] = scores.get(row, 0.0) + weight / (k + rank)
            found.setdefault(row, set()).add(name.split(":")[0])
    order = sorted(scores, key=lambda r: (-scores[r], r))
    via = {r: "both" if len(found[r]) > 1 else next(iter(found[r])) for r in order}
    return [(r, scores[r], via[r]) for r in order]


class Retriever:
    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: RetrievalSettings,
                 instruction_patterns: tuple[str, ...] = ()):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._instructions = [re.compile(p) for p in instruction_patterns]
        self._sentence_row = {
            doc_id: {(s.start, s.end): i for i, s in enumerate(doc.sentences)}
            for doc_id, doc in index.data.documents.items()
        }

    def sentence_vector(self, ev: Evidence) -> np.ndarray:
        rows = self._sentence_row[ev.doc_id]
        return self.index.data.sentence_vectors[ev.doc_id][rows[(ev.char_start, ev.char_end)]]

    def search(self, queries: list[str], vectors: np.ndarray) -> list[Hit]:
        """Fuses a dense and a BM25 ranking for every query; the first query is the question itself, the
        others (translations) weigh `translation_weight`."""
        s = self.settings
        _, ids = self.index.dense.search(vectors, s.k_dense)
        rankings, weights = {}, {}
        for i, text in enumerate(queries):
            tag = "" if i == 0 else f":translated{i}"
            rankings["dense" + tag] = [int(r) for r in ids[i] if r >= 0]
            rankings["lexical" + tag] = [row for row, _ in self.index.lexical.search(text, s.k_lexical)]
            weights["dense" + tag] = weights["lexical" + tag] = 1.0 if i == 0 else s.translation_weight
        fused = reciprocal_rank_fusion(rankings, s.rrf_k, weights)
        chunks = self.index.data.chunks
        return [Hit(chunks[row], score, rank, via) for rank, (row, score, via) in enumerate(fused, start=1)]

    def retrieve(self, question: str, translations: tuple[str, ...] = ()) -> Retrieval:
        if not self.index.data.chunks:
            return Retrieval(question, (), ())
        queries = [question, *translations]
        vectors = self.embedder.encode_queries(queries)
        hits = self.search(queries, vectors)
        return Retrieval(question, tuple(hits), tuple(self.evidence(queries, vectors, hits)))

    def evidence(self, queries: list[str], vectors: np.ndarray, hits: list[Hit]) -> list[Evidence]:
        """Sentences of the best chunks, scored by their best cosine with any query plus a bonus for the
        share of the question's word stems they contain."""
        q_terms = [t for t in (stems(q) for q in queries) if t]
        candidates: dict[tuple[str, int], tuple[float, Hit, int, int]] = {}
        for hit in hits[: self.settings.top_chunks]:
            doc = self.index.data.documents[hit.chunk.doc_id]
            sentence_vectors = self.index.data.sentence_vectors[doc.doc_id]
            rows = self._sentence_row[doc.doc_id]
            for span in hit.chunk.sentences:
                key = (doc.doc_id, span.start)
                if key in candidates:
                    continue
                text = doc.text[span.start : span.end]
                if any(p.search(text) for p in self._instructions):
                    continue  # an instruction to the assistant inside an article is data, never evidence
                s_terms = stems(text)
                overlap = max((len(t & s_terms) / len(t) for t in q_terms), default=0.0)
                cosine = float(np.max(vectors @ sentence_vectors[rows[(span.start, span.end)]]))
                score = cosine + LEXICAL_WEIGHT * overlap
                candidates[key] = (score, hit, span.start, span.end)
        best = sorted(candidates.values(), key=lambda c: -c[0])[: self.settings.max_evidence]
        out = []
        for n, (score, hit, start, end) in enumerate(best, start=1):
            doc = self.index.data.documents[hit.chunk.doc_id]
            out.append(Evidence(n, doc.doc_id, hit.chunk.chunk_id, start, end, doc.text[start:end], score))
        return out
