"""Indexing the bundled corpus: a full re-index in-process against plain `encode` of the same texts, and
re-indexing an unchanged corpus in-process and as `qa index`."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from eval.bench import QA, ROOT
from eval.bench.report import Figure, Section, fmt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from qa.assistant import Assistant


def indexing(assistant: Assistant, repeats: int, plain_st: SentenceTransformer) -> Section:
    from qa.assistant import Assistant

    settings = assistant.settings
    walls, plain, unchanged = [], [], []
    chunks, documents = assistant.chunks(), assistant.documents()
    texts = [c.text for c in chunks] + [d.text[s.start : s.end] for d in documents.values() for s in d.sentences]
    n_chunks = len(chunks)
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            other = Assistant(
                settings.model_copy(update={"paths": settings.paths.model_copy(update={"data": Path(tmp)})}),
                embedder=assistant.embedder,
                embedder_identity=assistant.embedder_identity,
            )
            t0 = time.perf_counter()
            other.index(rebuild=True)
            walls.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            other.index()
            unchanged.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain_st.encode_document(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
        plain.append(time.perf_counter() - t0)
    cli = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([QA, "index"], capture_output=True, check=True, cwd=ROOT)
        cli.append(time.perf_counter() - t0)
    ours = [n_chunks / w for w in walls]
    ref = [n_chunks / p for p in plain]
    return Section(
        "Indexing",
        f"The bundled corpus: {len(documents)} articles, {n_chunks} chunks, "
        f"{len(texts) - n_chunks} sentences (chunks and sentences are both embedded), embedder loaded.",
        [
            Figure(
                "full re-index throughput",
                ours,
                "chunks/s",
                f"plain `encode` of the same {len(texts)} texts: {fmt(statistics.median(ref))} chunks/s",
                f"{statistics.median(ours) / statistics.median(ref):.2f}× plain",
            ),
            Figure("unchanged corpus, in-process", unchanged, "s"),
            Figure(
                "`qa index` on an unchanged corpus, new process",
                cli,
                "s",
                "target < 1 s",
                f"{statistics.median(cli):.2f}× target",
            ),
        ],
    )
