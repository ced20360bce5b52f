"""The index type follows the corpus size: exact when small, a calibrated inverted file when large."""

import faiss
import numpy as np

from eval.synthetic import clustered_vectors
from index.vectors import FaissStore, probe_queries, recall_at
from qa.core.settings import VectorSettings


def test_auto_is_exact_up_to_flat_max():
    v = clustered_vectors(3000, dim=32, seed=1)
    assert FaissStore.build(v, VectorSettings(flat_max=5000)).kind == "flat"
    assert FaissStore.build(v, VectorSettings(flat_max=2000)).kind == "ivf"


def test_an_ivf_index_reaches_its_recall_on_new_queries_and_keeps_nprobe(tmp_path):
    v = clustered_vectors(20_000, dim=64, seed=2)
    store = FaissStore.build(v, VectorSettings(kind="ivf", min_recall=0.95))
    assert store.kind == "ivf" and 1 <= store.index.nprobe < store.index.nlist
    queries = probe_queries(v, 300, seed=7)  # not the calibration queries
    exact = faiss.IndexFlatIP(v.shape[1])
    exact.add(v)
    truth = exact.search(queries, 10)[1]
    assert recall_at(store.search(queries, 10)[1], truth) >= 0.95
    store.save(tmp_path / "ivf.faiss")
    loaded = FaissStore.load(tmp_path / "ivf.faiss")
    assert loaded.index.nprobe == store.index.nprobe


def test_recall_counts_shared_neighbours():
    assert recall_at(np.array([[1, 2, 3]]), np.array([[3, 2, 9]])) == 2 / 3
