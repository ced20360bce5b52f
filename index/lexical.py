"""BM25 over chunk texts (bm25s), with one word tokeniser for every language."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

    return frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_GERMAN)


def tokens(text: str) -> list[str]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    stop = _stopwords()
    return [w for w in words if w not in stop]


def stems(text: str) -> set[str]:
    """Five-letter prefixes of the content words: crude, but they also meet across English and German
    cognates ("investors" / "Investoren", "registered" / "registrierte")."""
    return {w[:5] for w in tokens(text) if len(w) > 2 and not w.isdigit()}


class LexicalIndex:
    def __init__(self, texts: list[str]):
        import bm25s

        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        docs = [tokens(t) or ["∅"] for t in texts]
        if docs:
            self._bm25.index(docs, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk row, score) pairs, best first; chunks sharing no term with the query are left out."""
        q = tokens(query)
        if not q or self.size == 0:
            return []
        scores = self._bm25.get_scores(q)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]
