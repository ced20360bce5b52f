"""Vector search by inner product on normalised vectors.

`NumpyStore` is the brute-force reference; `FaissStore` must rank the same way (tests compare them).
Small indexes are exact (`IndexFlatIP`). Past `flat_max` vectors the index is an inverted file
(`IndexIVFFlat`, about 4·√n lists) whose `nprobe` is calibrated when it is built: the smallest number of
lists to visit that finds `min_recall` of the exact top 10 for queries near the indexed vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qa.core.settings import VectorSettings


class NumpyStore:
    def __init__(self, vectors: np.ndarray):
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        scores = queries @ self.vectors.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, axis=1), order


def recall_at(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact neighbours (rows of ids) that `found` also returned."""
    hits = sum(len(set(f[f >= 0]) & set(e[e >= 0])) for f, e in zip(found, exact))
    return hits / max(1, sum(int((e >= 0).sum()) for e in exact))


def probe_queries(vectors: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Queries near the indexed vectors (a vector plus noise of comparable size), as a question lands near
    the passage that answers it."""
    rng = np.random.default_rng(seed)
    base = vectors[rng.choice(len(vectors), size=min(n, len(vectors)), replace=False)]
    noisy = base + rng.normal(size=base.shape).astype(np.float32) / np.sqrt(base.shape[1])
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def inverted_lists(n: int, choice: VectorSettings) -> int:
    """How many lists an inverted file of `n` vectors gets; 0 when the index is exact (`flat`)."""
    kind = choice.kind if choice.kind != "auto" else ("ivf" if n > choice.flat_max else "flat")
    return 0 if kind == "flat" or n < 1000 else max(16, int(4 * np.sqrt(n)))


def smallest_nprobe(recall_with: Callable[[int], float], nlist: int, min_recall: float) -> tuple[int, float]:
    """The smallest number of lists to visit whose recall (`recall_with(nprobe)`) reaches `min_recall`, with a
    margin for other queries, and that recall."""
    nprobe, recall = 1, 0.0
    for candidate in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
        nprobe = min(candidate, nlist)
        recall = recall_with(nprobe)
        if recall >= min_recall + 0.02 or candidate >= nlist:
            break
    return nprobe, recall


class FaissStore:
    def __init__(self, index: Any, quantizer: Any = None):
        self.index = index
        self._quantizer = quantizer  # an inverted file points at its quantizer: Python must keep it alive

    @property
    def kind(self) -> str:
        return "ivf" if hasattr(self.index, "nprobe") else "flat"

    @classmethod
    def build(cls, vectors: np.ndarray, choice: VectorSettings = VectorSettings()) -> FaissStore:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        nlist = inverted_lists(n, choice)
        if not nlist:
            flat = faiss.IndexFlatIP(dim)
            if n:
                flat.add(vectors)
            return cls(flat)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        train = vectors if n <= nlist * 64 else vectors[rng.choice(n, size=nlist * 64, replace=False)]
        index.cp.min_points_per_centroid = 1  # a sample of 64 per list is enough; do not warn about it
        index.train(train)
        index.add(vectors)
        store = cls(index, quantizer)
        store.calibrate(vectors, choice.min_recall)
        return store

    def calibrate(self, vectors: np.ndarray, min_recall: float, k: int = 10) -> float:
        """Sets the smallest nprobe whose recall@k against exact search reaches `min_recall`; returns it."""
        import faiss

        queries = probe_queries(vectors, 500)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        _, truth = exact.search(queries, k)

        def recall_with(nprobe: int) -> float:
            self.index.nprobe = nprobe
            return recall_at(self.index.search(queries, k)[1], truth)

        self.index.nprobe, recall = smallest_nprobe(recall_with, self.index.nlist, min_recall)
        return recall

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        import faiss

        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        import faiss

        try:
            faiss.write_index(self.index, str(path))
        except RuntimeError as exc:  # faiss reports a failed write (a full disk) as a RuntimeError
            raise OSError(f"{path}: {str(exc).strip().splitlines()[-1]}") from None

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if k == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
