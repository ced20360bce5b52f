"""Query embedding and hybrid search on the bundled corpus, and dense search at scale on synthetic vectors."""

from __future__ import annotations

import os
import statistics
import time
from typing import TYPE_CHECKING

import numpy as np

from eval.bench.report import Figure, Section, fmt
from eval.metrics import percentile

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from qa.assistant import Assistant


def plain_model(assistant: Assistant) -> SentenceTransformer:
    """The reference: the same folder in plain sentence-transformers."""
    from sentence_transformers import SentenceTransformer

    from qa.models import embedder_path, offline

    offline()
    return SentenceTransformer(str(embedder_path(assistant.settings)), device="cpu", local_files_only=True)


def retrieval(assistant: Assistant, repeats: int, plain_st: SentenceTransformer) -> tuple[Section, float]:
    """The section, and the median milliseconds to embed one question alone (for `search_scaling`)."""
    from eval.gold import load_gold

    retriever = assistant.retriever
    embedder = assistant.embedder
    questions = [q.question for q in load_gold()]
    translations = {q: assistant.translations(q, assistant.question_language(q)) for q in questions}
    embed, search, both, plain, single = [], [], [], [], []
    vectors_np = retriever.index.data.chunk_vectors
    assert vectors_np is not None, "a loaded index holds its chunk vectors"
    for _ in range(repeats):
        for q in questions:
            queries = [q, *translations[q]]
            t0 = time.perf_counter()
            vectors = embedder.encode_queries(queries)
            t1 = time.perf_counter()
            hits = retriever.search(queries, vectors)
            retriever.evidence(queries, vectors, hits)
            t2 = time.perf_counter()
            embed.append(t1 - t0)
            search.append(t2 - t1)
            both.append(t2 - t0)
            t0 = time.perf_counter()
            v = plain_st.encode_query(queries, normalize_embeddings=True, convert_to_numpy=True)
            np.argsort(-(v @ vectors_np.T), axis=1)[:, :20]
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            embedder.encode_queries([q])
            single.append(time.perf_counter() - t0)
    ms = lambda xs: [x * 1000 for x in xs]
    ref = statistics.median(plain) * 1000
    embed_ms = statistics.median(ms(single))
    return Section(
        "Query embedding and hybrid search (bundled corpus)",
        f"{len(questions)} gold questions with their translations (two queries each), {repeats} runs. "
        f"Search = FAISS + BM25 for every query, rank fusion, evidence sentences.",
        [
            Figure(
                "embed + search, p50",
                [statistics.median(ms(both))],
                "ms",
                f"target ≤ 30 ms; plain sentence-transformers `encode` + numpy dot product of the same queries: "
                f"{fmt(ref)} ms",
                f"{statistics.median(both) * 1000 / ref:.2f}× plain",
            ),
            Figure("embed + search, p95", [percentile(ms(both), 95)], "ms"),
            Figure("of which embedding, p50", [statistics.median(ms(embed))], "ms"),
            Figure("of which search and evidence, p50", [statistics.median(ms(search))], "ms"),
            Figure("embedding the question alone, p50", [embed_ms], "ms"),
        ],
    ), embed_ms


def search_scaling(sizes: list[int], embed_ms: float, dim: int = 384, queries: int = 200) -> Section:
    import faiss

    from eval.synthetic import clustered_vectors
    from index.vectors import FaissStore, probe_queries, recall_at
    from qa.core.settings import VectorSettings

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    figures = []
    rows = [
        "| chunks | index | build s | memory MB | search p50 ms | search p95 ms | recall@10 | embed + search p50 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n in sizes:
        vectors = clustered_vectors(n, dim, seed=n)
        q = probe_queries(vectors, queries, seed=1)
        truth, exact_p50 = None, 0.0
        for kind in ("flat", "ivf"):  # flat first: it is the truth the approximate index is measured against
            t0 = time.perf_counter()
            store = FaissStore.build(vectors, VectorSettings(kind=kind))
            build = time.perf_counter() - t0
            memory = len(faiss.serialize_index(store.index)) / 1e6
            lat, found_ids = [], []
            for row in q:
                t0 = time.perf_counter()
                _, ids = store.search(row[None, :], 10)
                lat.append((time.perf_counter() - t0) * 1000)
                found_ids.append(ids[0])
            found = np.array(found_ids)
            if truth is None:
                truth, exact_p50 = found, statistics.median(lat)
            recall = recall_at(found, truth)
            label = "exact" if kind == "flat" else f"IVF {store.index.nlist} lists, nprobe {store.index.nprobe}"
            rows.append(
                f"| {n:,} | {label} | {build:.1f} | {memory:,.0f} | {statistics.median(lat):.2f} | "
                f"{percentile(lat, 95):.2f} | {recall:.3f} | {embed_ms + statistics.median(lat):.1f} |"
            )
            if kind == "ivf":
                figures.append(
                    Figure(
                        f"{n:,} chunks: approximate search p50",
                        [statistics.median(lat)],
                        "ms",
                        f"exact: {exact_p50:.2f} ms",
                        f"recall@10 {recall:.3f}",
                    )
                )
            del store
        del vectors
    return Section(
        "Search at scale (synthetic vectors)",
        f"Synthetic unit vectors in clusters (eval/synthetic.py; {dim} dimensions like multilingual-e5-small), "
        f"{queries} single-vector queries near indexed vectors (not those the nprobe was calibrated on), k = 10. "
        'Exact is `IndexFlatIP`; approximate is what `vectors.kind = "auto"` builds past 100k vectors: '
        "`IndexIVFFlat` with its nprobe calibrated at build time for recall@10 ≥ 0.95. "
        "Dense search only: BM25 needs real text.",
        figures,
        "\n".join(rows)
        + f'\n\n"embed + search" adds the median time to embed one query on the bundled corpus ({embed_ms:.1f} ms).',
    )
