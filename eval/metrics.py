"""The harness's metrics, all deterministic (definitions in ../shared/docs/eval.md and eval/README.md)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first chunk holding gold evidence is within the top k."""
    return _mean([1.0 if r is not None and r <= k else 0.0 for r in ranks])


def mrr_at(ranks: Sequence[int | None], k: int = 10) -> float:
    return _mean([1.0 / r if r is not None and r <= k else 0.0 for r in ranks])


def ndcg_at(relevance: Sequence[Sequence[int]], n_relevant: Sequence[int], k: int = 10) -> float:
    """Binary-relevance nDCG@k; `relevance[i]` is the 0/1 list of question i's ranked chunks."""
    scores = []
    for rel, total in zip(relevance, n_relevant):
        dcg = sum(r / math.log2(i + 2) for i, r in enumerate(rel[:k]))
        ideal = sum(1 / math.log2(i + 2) for i in range(min(total, k)))
        scores.append(dcg / ideal if ideal else 0.0)
    return _mean(scores)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = p / 100 * (len(ordered) - 1)
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


mean = _mean
