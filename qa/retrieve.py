"""Hybrid retrieval: dense and BM25 chunk rankings fused by reciprocal rank, then evidence sentences.

The model never sees whole chunks: the sentences of the best chunks are ranked against the
question (their vectors were computed at index time) and the best few become numbered evidence.
"""

from __future__ import annotations

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


def reciprocal_rank_fusion(rankings: dict[str, list[int]], k: int) -> list[tuple[int, float, str]]:
    """(row, fused score, via) best first; `via` names the ranking(s) that found the row."""
    scores: dict[int, float] = {}
    found: dict[int, set[str]] = {}
    for name, rows in rankings.items():
        for rank, row in enumerate(rows, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
            found.setdefault(row, set()).add(name)
    order = sorted(scores, key=lambda r: (-scores[r], r))
    via = {r: "both" if len(found[r]) > 1 else next(iter(found[r])) for r in order}
    return [(r, scores[r], via[r]) for r in order]


class Retriever:
    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: RetrievalSettings):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._sentence_row = {
            doc_id: {(s.start, s.end): i for i, s in enumerate(doc.sentences)}
            for doc_id, doc in index.data.documents.items()
        }

    def sentence_vector(self, ev: Evidence) -> np.ndarray:
        rows = self._sentence_row[ev.doc_id]
        return self.index.data.sentence_vectors[ev.doc_id][rows[(ev.char_start, ev.char_end)]]

    def search(self, question: str, query_vector: np.ndarray) -> list[Hit]:
        s = self.settings
        _, ids = self.index.dense.search(query_vector[None, :], s.k_dense)
        dense = [int(i) for i in ids[0] if i >= 0]
        lexical = [row for row, _ in self.index.lexical.search(question, s.k_lexical)]
        fused = reciprocal_rank_fusion({"dense": dense, "lexical": lexical}, s.rrf_k)
        chunks = self.index.data.chunks
        return [Hit(chunks[row], score, rank, via) for rank, (row, score, via) in enumerate(fused, start=1)]

    def retrieve(self, question: str) -> Retrieval:
        if not self.index.data.chunks:
            return Retrieval(question, (), ())
        q = self.embedder.encode_queries([question])[0]
        hits = self.search(question, q)
        return Retrieval(question, tuple(hits), tuple(self.evidence(question, q, hits)))

    def evidence(self, question: str, q: np.ndarray, hits: list[Hit]) -> list[Evidence]:
        q_terms = stems(question)
        candidates: dict[tuple[str, int], tuple[float, Hit, int, int]] = {}
        for hit in hits[: self.settings.top_chunks]:
            doc = self.index.data.documents[hit.chunk.doc_id]
            vectors = self.index.data.sentence_vectors[doc.doc_id]
            rows = self._sentence_row[doc.doc_id]
            for span in hit.chunk.sentences:
                key = (doc.doc_id, span.start)
                if key in candidates:
                    continue
                text = doc.text[span.start : span.end]
                overlap = len(q_terms & stems(text)) / len(q_terms) if q_terms else 0.0
                score = float(vectors[rows[(span.start, span.end)]] @ q) + LEXICAL_WEIGHT * overlap
                candidates[key] = (score, hit, span.start, span.end)
        best = sorted(candidates.values(), key=lambda c: -c[0])[: self.settings.max_evidence]
        out = []
        for n, (score, hit, start, end) in enumerate(best, start=1):
            doc = self.index.data.documents[hit.chunk.doc_id]
            out.append(Evidence(n, doc.doc_id, hit.chunk.chunk_id, start, end, doc.text[start:end], score))
        return out
