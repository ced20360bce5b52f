"""BM25 over chunk texts (bm25s), with one word tokeniser for every language.

Words are runs of letters and digits; runs of Chinese, Japanese or Korean characters, which are written
without spaces, become their overlapping character pairs (the usual unit for searching those scripts).
Stop words are those bm25s ships, of every language it has them for.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]+|\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s import stopwords

    words: set[str] = set()
    for name in dir(stopwords):
        if name.startswith("STOPWORDS_"):
            words |= {w.casefold() for w in getattr(stopwords, name)}
    return frozenset(words)


def tokens(text: str) -> list[str]:
    stop = _stopwords()
    out = []
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if _CJK.match(word):
            out += [word[i : i + 2] for i in range(len(word) - 1)] if len(word) > 1 else [word]
        else:
            out.append(word)
    return [w for w in out if w not in stop]


def stems(text: str) -> set[str]:
    """Five-letter prefixes of the content words: crude, but they also meet across cognates of related
    languages ("investors" / "Investoren" / "inversores", "registered" / "registrierte"). A pair of Chinese,
    Japanese or Korean characters counts as a word."""
    return {w[:5] for w in tokens(text) if (len(w) > 2 or _CJK.match(w)) and not w.isdigit()}


class LexicalIndex:
    def __init__(self, texts: list[str]):
        import bm25s

        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        docs = [tokens(t) or ["∅"] for t in texts]
        if docs:
            self._bm25.index(docs, show_progress=False)

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk row, score) pairs, best first; chunks sharing no term with the query are left out, and so are
        chunks outside `rows` when it is given."""
        q = tokens(query)
        if not q or self.size == 0:
            return []
        scores = self._bm25.get_scores(q)
        if rows is not None:
            kept = np.zeros_like(scores)
            kept[rows] = scores[rows]
            scores = kept
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]
