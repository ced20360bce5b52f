"""Synthetic embeddings for search benchmarks: unit vectors in clusters, as real sentence embeddings are
(a uniform random cloud has no neighbourhoods and no approximate index does well on it)."""

from __future__ import annotations

import numpy as np


def clustered_vectors(
    n: int, dim: int = 384, clusters: int | None = None, spread: float = 0.35, seed: int = 0, batch: int = 100_000
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clusters = clusters or max(8, n // 500)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, batch):
        m = min(batch, n - start)
        v = centres[rng.integers(0, clusters, size=m)] + rng.normal(
            scale=spread / np.sqrt(dim) * 4, size=(m, dim)
        ).astype(np.float32)
        out[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out
