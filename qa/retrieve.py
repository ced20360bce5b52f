"""Hybrid retrieval: dense and BM25 chunk rankings fused by reciprocal rank, then candidate evidence sentences.

The model never sees whole chunks: the sentences of the best chunks become candidates, each with the raw
signals `qa.evidence` ranks them by (cosines with the question and its translations, the share of its key
words they hold, plain and weighted by rarity, and the rank of their chunk). Their vectors were computed at
index time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from index.copies import same_passage
from index.embed import Embedder
from index.lexical import stems
from index.store import LoadedIndex
from qa.core.errors import ScopeError
from qa.core.records import EVERYTHING, Evidence, Hit, Scope
from qa.core.settings import RetrievalSettings

_ASKED = re.compile(r"[?？؟][\"'“”‘’»«›)\]]*\s*$")  # a sentence that is a question, quoted or not
LEXICAL_WEIGHT = 0.1  # weight of the share of the question's word stems a sentence contains


SIGNALS = (
    "cos_question",
    "cos_best",
    "lexical",
    "lexical_idf",
    "chunk_rank",
    "cos_prev",
    "cos_next",
    "lexical_prev",
    "lexical_next",
    "cos_window",
    "lexical_window",
)


@dataclass(frozen=True)
class Retrieval:
    """`evidence`: the candidate sentences, best first by a simple score (cosine plus a word bonus);
    `signals[i]`: the raw signals of `evidence[i]`, in the order of `SIGNALS`."""

    hits: tuple[Hit, ...]
    evidence: tuple[Evidence, ...]
    signals: tuple[tuple[float, ...], ...] = ()


def reciprocal_rank_fusion(
    rankings: dict[str, list[int]], k: int, weights: dict[str, float] | None = None
) -> list[tuple[int, float]]:
    """(row, fused score) best first."""
    scores: dict[int, float] = {}
    for name, rows in rankings.items():
        weight = (weights or {}).get(name, 1.0)
        for rank, row in enumerate(rows, start=1):
            scores[row] = scores.get(row, 0.0) + weight / (k + rank)
    return [(r, scores[r]) for r in sorted(scores, key=lambda r: (-scores[r], r))]


class Retriever:
    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        settings: RetrievalSettings,
        instruction_patterns: tuple[str, ...] = (),
    ):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._instructions = [re.compile(p) for p in instruction_patterns]
        self._sentence_row = {
            doc_id: {(s.start, s.end): i for i, s in enumerate(doc.sentences)}
            for doc_id, doc in index.data.documents.items()
        }
        df = Counter(stem for chunk in index.data.chunks for stem in stems(chunk.text))
        n = len(index.data.chunks)
        self._idf = {stem: math.log((n + 1) / (count + 0.5)) for stem, count in df.items()}
        self._unseen_idf = math.log((n + 1) / 0.5)

    def idf(self, stem: str) -> float:
        return self._idf.get(stem, self._unseen_idf)

    def rows(self, scope: Scope) -> np.ndarray | None:
        """The chunk rows of the articles `scope` admits (None: all of them)."""
        if not scope:
            return None
        documents = self.index.data.documents
        admitted = {d for d, doc in documents.items() if scope.admits(doc)}
        if not admitted:
            raise ScopeError(f"no indexed article is {scope.describe()}")
        return np.array([i for i, c in enumerate(self.index.data.chunks) if c.doc_id in admitted], np.int64)

    def _dense(self, vectors: np.ndarray, k: int, rows: np.ndarray | None) -> np.ndarray:
        """The `k` nearest chunk rows per query; within `rows` by exact inner product."""
        if rows is None:
            return self.index.dense.search(vectors, k)[1]
        assert self.index.data.chunk_vectors is not None
        scores = vectors @ self.index.data.chunk_vectors[rows].T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return rows[order]

    def search(self, queries: list[str], vectors: np.ndarray, rows: np.ndarray | None = None) -> list[Hit]:
        """Fuses a dense and a BM25 ranking for every query; the first query is the question itself, the
        others (translations) weigh `translation_weight`. `rows`: the chunks searched (None: all)."""
        s = self.settings
        ids = self._dense(vectors, s.k_dense, rows)
        rankings, weights = {}, {}
        for i, text in enumerate(queries):
            tag = "" if i == 0 else f":translated{i}"
            rankings["dense" + tag] = [int(r) for r in ids[i] if r >= 0]
            rankings["lexical" + tag] = [row for row, _ in self.index.lexical.search(text, s.k_lexical, rows)]
            weights["dense" + tag] = weights["lexical" + tag] = 1.0 if i == 0 else s.translation_weight
        fused = reciprocal_rank_fusion(rankings, s.rrf_k, weights)
        chunks = self.index.data.chunks
        return [Hit(chunks[row], score, rank) for rank, (row, score) in enumerate(fused, start=1)]

    def retrieve(self, question: str, translations: tuple[str, ...] = (), scope: Scope = EVERYTHING) -> Retrieval:
        if not self.index.data.chunks:
            return Retrieval((), ())
        rows = self.rows(scope)
        queries = [question, *translations]
        vectors = self.embedder.encode_queries(queries)
        hits = self.search(queries, vectors, rows)
        evidence, signals = self.evidence(queries, vectors, hits)
        return Retrieval(tuple(hits), evidence, signals)

    def evidence(
        self, queries: list[str], vectors: np.ndarray, hits: list[Hit]
    ) -> tuple[tuple[Evidence, ...], tuple[tuple[float, ...], ...]]:
        """Sentences of the best chunks with their signals, best first by their best cosine with any query
        plus a bonus for the share of the question's word stems they contain."""
        q_terms = [t for t in (stems(q) for q in queries) if t]
        q_weights = [sum(self.idf(s) for s in t) for t in q_terms]

        def lexical(terms: set[str]) -> tuple[float, float]:
            plain = max((len(t & terms) / len(t) for t in q_terms), default=0.0)
            weighted = max((sum(self.idf(x) for x in t & terms) / w for t, w in zip(q_terms, q_weights)), default=0.0)
            return plain, weighted

        found: dict[tuple[str, int], tuple[float, Hit, int, int, tuple[float, ...]]] = {}
        copies = self.index.data.copies
        passages: dict[str, list[tuple[tuple[str, int], str]]] = {}  # a story's sentences found so far
        also: dict[tuple[str, int], list[str]] = {}
        rank = 0
        for hit in hits:
            if rank >= self.settings.top_chunks:
                break
            rank += 1
            doc = self.index.data.documents[hit.chunk.doc_id]
            sentence_vectors = self.index.data.sentence_vectors[doc.doc_id]
            rows = self._sentence_row[doc.doc_id]
            story = copies.get(doc.doc_id)
            new = False
            for span in hit.chunk.sentences:
                key = (doc.doc_id, span.start)
                if key in found:
                    continue
                text = doc.text[span.start : span.end]
                if any(p.search(text) for p in self._instructions):
                    continue  # an instruction to the assistant inside an article is data, never evidence
                if text.strip() == doc.title:
                    continue  # the headline names the topic; the citation shows it anyway
                if _ASKED.search(text):
                    continue  # a question the article asks (an interviewer's, a rhetorical one) answers nothing
                if story is not None:
                    twin = self._twin(text, doc.doc_id, passages.setdefault(story, []))
                    if twin is not None:  # a copy's sentence is the passage already found, not more evidence
                        also.setdefault(twin, []).append(doc.doc_id)
                        continue
                    passages[story].append((key, text))
                new = True
                row = rows[(span.start, span.end)]
                terms = stems(text)
                overlap, weighted = lexical(terms)
                vector = sentence_vectors[row]
                cosines = vectors @ vector
                neighbours: list[tuple[float, float, set[str], np.ndarray | None]] = []
                for other in (row - 1, row + 1):
                    near = doc.sentences[other] if 0 <= other < len(doc.sentences) else None
                    if near is None or "\n\n" in doc.text[min(near.end, span.end) : max(near.start, span.start)]:
                        neighbours.append((0.0, 0.0, set(), None))
                        continue
                    n_terms = stems(doc.text[near.start : near.end])
                    neighbours.append(
                        (
                            float(np.max(vectors @ sentence_vectors[other])),
                            lexical(n_terms)[1],
                            n_terms,
                            sentence_vectors[other],
                        )
                    )
                prev = neighbours[0]
                window = vector + prev[3] if prev[3] is not None else vector
                window = window / (np.linalg.norm(window) or 1.0)
                score = float(np.max(cosines)) + LEXICAL_WEIGHT * overlap
                signals = (
                    float(cosines[0]),
                    float(np.max(cosines)),
                    overlap,
                    weighted,
                    float(rank),
                    prev[0],
                    neighbours[1][0],
                    prev[1],
                    neighbours[1][1],
                    float(np.max(vectors @ window)),
                    lexical(terms | prev[2])[1],
                )
                found[key] = (score, hit, span.start, span.end, signals)
            if story is not None and not new:
                rank -= 1  # a chunk of copies only takes no place among the chunks searched
        best = sorted(found.values(), key=lambda c: -c[0])
        evidence: list[Evidence] = []
        signals_of: list[tuple[float, ...]] = []
        for n, (score, hit, start, end, sig) in enumerate(best, start=1):
            doc = self.index.data.documents[hit.chunk.doc_id]
            twins = tuple(dict.fromkeys(also.get((doc.doc_id, start), ())))
            evidence.append(Evidence(n, doc.doc_id, hit.chunk.chunk_id, start, end, doc.text[start:end], score, twins))
            signals_of.append(sig)
        return tuple(evidence), tuple(signals_of)

    def _twin(self, text: str, doc_id: str, found: list[tuple[tuple[str, int], str]]) -> tuple[str, int] | None:
        """The key of a sentence of another copy of the story that is the same passage as `text`."""
        threshold = self.settings.passage_threshold
        return next((key for key, other in found if key[0] != doc_id and same_passage(text, other, threshold)), None)
