"""Incremental indexing: unchanged files are skipped, removed files leave, a changed embedder or chunker rebuilds.

A file that cannot be read is reported and skipped; if an earlier version of it was indexed,
that version stays, so a bad edit never loses what was already searchable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.embed import Embedder
from index.ingest import Ingestor, load_catalog, sha256_of
from index.store import IndexData, IndexStore
from qa.core.errors import IndexCorruptError, IndexMismatchError, IngestError
from qa.core.records import EmbedderIdentity, Manifest
from qa.core.settings import ChunkSettings, IngestSettings, VectorSettings

INGEST_VERSION = 1  # bump when ingest or chunking logic changes what an index holds

Progress = Callable[[int, int, str], None]


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    rebuilt: bool = False
    written: bool = False
    chunks: int = 0


def chunker_identity(ingest: IngestSettings, chunking: ChunkSettings, vectors: VectorSettings | None = None) -> dict:
    """What, besides the embedder, decides an index's contents: a change rebuilds it."""
    return {
        "vectors": (vectors or VectorSettings()).model_dump(),
        "ingest_version": INGEST_VERSION,
        "chunk_tokens": chunking.chunk_tokens,
        "overlap_tokens": chunking.overlap_tokens,
        "furniture_patterns": list(ingest.furniture_patterns),
        "furniture_max_words": ingest.furniture_max_words,
        "languages": list(ingest.languages),
    }


class IndexBuilder:
    def __init__(
        self,
        store: IndexStore,
        ingest: IngestSettings,
        chunking: ChunkSettings,
        embedder_identity: EmbedderIdentity,
        get_embedder: Callable[[], Embedder],
    ):
        self.store = store
        self.ingestor = Ingestor(ingest)
        self.chunking = chunking
        self.chunker_id = chunker_identity(ingest, chunking, store.vectors)
        self.embedder_id = embedder_identity
        self._get_embedder = get_embedder

    def _previous(self, rebuild: bool, report: IndexReport) -> IndexData | None:
        if rebuild or not self.store.exists():
            report.rebuilt = True
            return None
        try:
            loaded = self.store.load()
            loaded.check_embedder(self.embedder_id)
        except (IndexMismatchError, IndexCorruptError):
            report.rebuilt = True
            return None
        if loaded.manifest.chunker != self.chunker_id:
            report.rebuilt = True
            return None
        return loaded.data

    def run(self, corpus: Path, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        report = IndexReport()
        catalog = load_catalog(corpus)
        with self.store.lock():
            files = [(path, doc_id, sha256_of(path)) for path, doc_id in self.ingestor.read_corpus(corpus)]
            if not rebuild and self.store.exists():
                manifest = self.store.read_manifest()
                if manifest.embedder == self.embedder_id and manifest.chunker == self.chunker_id:
                    if self._nothing_changed(files, manifest, catalog, report):
                        return report
                    report.unchanged.clear()
            old = self._previous(rebuild, report)
            return self._update(files, old, catalog, report, progress)

    def _nothing_changed(
        self, files: list[tuple[Path, str, str]], manifest: Manifest, catalog, report: IndexReport
    ) -> bool:
        """The cheap check: hashes only, no index or model loaded."""
        indexed = manifest.documents
        for _, doc_id, sha in files:
            info = indexed.get(doc_id)
            if (
                info is None
                or info.sha256 != sha
                or self._catalog_differs(info.title, info.language, catalog.get(doc_id))
            ):
                return False
            report.unchanged.append(doc_id)
        if {doc_id for _, doc_id, _ in files} != set(indexed):
            return False
        report.chunks = manifest.chunks
        return True

    @staticmethod
    def _catalog_differs(title: str, language: str, entry) -> bool:
        """Whether the catalog gives the document another title or language than it was indexed with."""
        if entry is None:
            return False
        return bool((entry.title and entry.title != title) or (entry.language and entry.language != language))

    def _update(
        self,
        files: list[tuple[Path, str, str]],
        old: IndexData | None,
        catalog,
        report: IndexReport,
        progress: Progress | None,
    ) -> IndexReport:
        old = old or IndexData()
        old_docs = old.documents
        todo, keep = [], []
        for path, doc_id, sha in files:
            prev = old_docs.get(doc_id)
            entry = catalog.get(doc_id)
            if prev is not None and prev.sha256 == sha and not self._catalog_differs(prev.title, prev.language, entry):
                keep.append(doc_id)
            else:
                todo.append((path, doc_id))
        present = {doc_id for _, doc_id, _ in files}
        report.removed = sorted(set(old_docs) - present)
        report.unchanged = list(keep)

        data = IndexData()
        vectors: list[np.ndarray] = []
        rows = {c.chunk_id: i for i, c in enumerate(old.chunks)}
        for doc_id in keep:
            self._carry(old, doc_id, rows, data, vectors)
        read = []
        for path, doc_id in todo:
            try:
                read.append(self.ingestor.read(path, doc_id, catalog.get(doc_id)))
            except IngestError as exc:
                report.failed.append((doc_id, str(exc)))
                if doc_id in old_docs:
                    self._carry(old, doc_id, rows, data, vectors)
        if read:  # the embedder loads only when a file was read: a bad file alone is reported at once
            embedder = self._get_embedder()
            # langchain's import costs 0.3 s that an unchanged corpus never needs
            from index.chunking import SentenceChunker

            chunker = SentenceChunker(embedder.count_tokens, self.chunking.chunk_tokens, self.chunking.overlap_tokens)
            for i, doc in enumerate(read):
                doc_id = doc.doc_id
                if progress:
                    progress(i, len(read), doc_id)
                chunks = chunker.chunk_document(doc, doc.regions)
                data.documents[doc_id] = doc
                data.chunks.extend(chunks)
                vectors.append(embedder.encode_documents([c.text for c in chunks]))
                data.sentence_vectors[doc_id] = embedder.encode_documents(
                    [doc.text[s.start : s.end] for s in doc.sentences]
                )
                (report.updated if doc_id in old_docs else report.added).append(doc_id)
        if progress:
            progress(len(read), len(read), "")

        dim = self.embedder_id.dim
        data.chunk_vectors = np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)
        report.chunks = len(data.chunks)
        if report.added or report.updated or report.removed or report.rebuilt:
            self.store.write(data, self.embedder_id, self.chunker_id)
            report.written = True
        return report

    @staticmethod
    def _carry(old: IndexData, doc_id: str, rows: dict[str, int], data: IndexData, vectors: list[np.ndarray]) -> None:
        assert old.chunk_vectors is not None, "an index read from disk has its vectors"
        chunks = [c for c in old.chunks if c.doc_id == doc_id]
        data.documents[doc_id] = old.documents[doc_id]
        data.chunks.extend(chunks)
        vectors.append(old.chunk_vectors[[rows[c.chunk_id] for c in chunks]])
        data.sentence_vectors[doc_id] = old.sentence_vectors[doc_id]
