"""Incremental indexing: unchanged files are skipped, removed files leave, a changed embedder or chunker rebuilds.

A file that cannot be read is reported and skipped; if an earlier version of it was indexed,
that version stays, so a bad edit never loses what was already searchable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.budget import FileBudget
from index.copies import copy_groups, signatures
from index.embed import Embedder
from index.ingest import CatalogEntry, Ingestor, load_catalog, sha256_of
from index.store import IndexData, IndexStore
from qa.core.errors import IndexCorruptError, IndexMismatchError, IngestError
from qa.core.records import EmbedderIdentity, Manifest
from qa.core.settings import ChunkSettings, IngestSettings, VectorSettings

INGEST_VERSION = 2  # bump when ingest or chunking logic changes what an index holds

Progress = Callable[[int, int, str], None]


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    rebuilt: bool = False
    moved: bool = False  # to the configured search backend, nothing embedded again
    written: bool = False
    chunks: int = 0


def chunker_identity(ingest: IngestSettings, chunking: ChunkSettings, vectors: VectorSettings | None = None) -> dict:
    """What, besides the embedder, decides an index's contents: a change rebuilds it."""
    return {
        "vectors": (vectors or VectorSettings()).model_dump(include={"kind", "flat_max", "min_recall"}),
        "ingest_version": INGEST_VERSION,
        "chunk_tokens": chunking.chunk_tokens,
        "overlap_tokens": chunking.overlap_tokens,
        "furniture_patterns": list(ingest.furniture_patterns),
        "furniture_max_words": ingest.furniture_max_words,
        "copy_threshold": ingest.copy_threshold,
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
            manifest, data = self.store.load_data()
        except (IndexMismatchError, IndexCorruptError):
            report.rebuilt = True
            return None
        if not self._same_contents(manifest):
            report.rebuilt = True
            return None
        report.moved = not self.store.holds(manifest)
        return data

    def _same_contents(self, manifest: Manifest) -> bool:
        """Whether the index was made by the configured embedder and chunker (if not, it is rebuilt)."""
        return manifest.embedder == self.embedder_id and manifest.chunker == self.chunker_id

    def run(self, corpus: Path, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        report = IndexReport()
        catalog = load_catalog(corpus)
        with self.store.lock():
            files = [
                (path, doc_id, _sha256_or_none(path, catalog.get(doc_id)))
                for path, doc_id in self.ingestor.read_corpus(corpus)
            ]
            if not rebuild and self.store.exists():
                manifest = self.store.read_manifest()
                if self.store.holds(manifest) and self._same_contents(manifest):
                    if self._nothing_changed(files, manifest, report):
                        return report
                    report.unchanged.clear()
            old = self._previous(rebuild, report)
            return self._update(files, old, catalog, report, progress)

    def _nothing_changed(
        self, files: list[tuple[Path, str, str | None]], manifest: Manifest, report: IndexReport
    ) -> bool:
        """The cheap check: hashes only (of the files and their catalog entries), no index or model loaded."""
        indexed = manifest.documents
        for _, doc_id, sha in files:
            info = indexed.get(doc_id)
            if info is None or info.sha256 != sha:
                return False
            report.unchanged.append(doc_id)
        if {doc_id for _, doc_id, _ in files} != set(indexed):
            return False
        report.chunks = manifest.chunks
        return True

    def _update(
        self,
        files: list[tuple[Path, str, str | None]],
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
            if prev is not None and prev.sha256 == sha:
                keep.append(doc_id)
            else:
                todo.append((path, doc_id))
        present = {doc_id for _, doc_id, _ in files}
        report.removed = sorted(set(old_docs) - present)
        report.unchanged = list(keep)

        data = IndexData()
        vectors: list[np.ndarray] = []
        rows: dict[str, list[int]] = {}  # each document's chunks' rows, in order: one pass, not one per document
        for i, c in enumerate(old.chunks):
            rows.setdefault(c.doc_id, []).append(i)
        for doc_id in keep:
            self._carry(old, doc_id, rows, data, vectors)
        read = []
        budget_s = self.ingestor.settings.max_seconds_per_file
        for path, doc_id in todo:
            budget = FileBudget(path, budget_s)
            try:
                with budget:
                    read.append((self.ingestor.read(path, doc_id, catalog.get(doc_id), budget), budget))
            except IngestError as exc:
                self._fail(doc_id, exc, old, rows, data, vectors, report)
        if read:  # the embedder loads only when a file was read: a bad file alone is reported at once
            embedder = self._get_embedder()
            # langchain's import costs 0.3 s that an unchanged corpus never needs
            from index.chunking import SentenceChunker

            chunker = SentenceChunker(embedder.count_tokens, self.chunking.chunk_tokens, self.chunking.overlap_tokens)
            for i, (doc, budget) in enumerate(read):
                doc_id = doc.doc_id
                if progress:
                    progress(i, len(read), doc_id)
                try:
                    with budget:
                        chunks = chunker.chunk_document(doc, doc.regions)
                        budget.check()
                        chunk_vectors = _encode(embedder, [c.text for c in chunks], budget)
                        sentence_vectors = _encode(embedder, [doc.text[s.start : s.end] for s in doc.sentences], budget)
                except IngestError as exc:
                    self._fail(doc_id, exc, old, rows, data, vectors, report)
                    continue
                data.documents[doc_id] = doc
                data.chunks.extend(chunks)
                vectors.append(chunk_vectors)
                data.sentence_vectors[doc_id] = sentence_vectors
                (report.updated if doc_id in old_docs else report.added).append(doc_id)
        if progress:
            progress(len(read), len(read), "")

        data.signatures.update(signatures(doc for d, doc in data.documents.items() if d not in data.signatures))
        data.copies = copy_groups(data.documents, self.ingestor.settings.copy_threshold, data.signatures)
        dim = self.embedder_id.dim
        data.chunk_vectors = np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)
        report.chunks = len(data.chunks)
        if report.added or report.updated or report.removed or report.rebuilt or report.moved:
            self.store.write(data, self.embedder_id, self.chunker_id)
            report.written = True
        return report

    @classmethod
    def _fail(
        cls,
        doc_id: str,
        exc: IngestError,
        old: IndexData,
        rows: dict[str, list[int]],
        data: IndexData,
        vectors: list[np.ndarray],
        report: IndexReport,
    ) -> None:
        """Reports the file; its earlier version, if any, stays searchable."""
        report.failed.append((doc_id, str(exc)))
        if doc_id in old.documents:
            cls._carry(old, doc_id, rows, data, vectors)

    @staticmethod
    def _carry(
        old: IndexData, doc_id: str, rows: dict[str, list[int]], data: IndexData, vectors: list[np.ndarray]
    ) -> None:
        assert old.chunk_vectors is not None, "an index read from disk has its vectors"
        mine = rows.get(doc_id, [])
        data.documents[doc_id] = old.documents[doc_id]
        data.chunks.extend(old.chunks[i] for i in mine)
        vectors.append(old.chunk_vectors[mine])
        data.sentence_vectors[doc_id] = old.sentence_vectors[doc_id]
        if doc_id in old.signatures:
            data.signatures[doc_id] = old.signatures[doc_id]


def _sha256_or_none(path: Path, entry: CatalogEntry | None) -> str | None:
    """None for a file that cannot be read now: it counts as changed, and reading it reports why."""
    try:
        return sha256_of(path, entry)
    except IngestError:
        return None


ENCODE_BATCH = 256


def _encode(embedder: Embedder, texts: list[str], budget: FileBudget) -> np.ndarray:
    """Embeds in slices so that the file's time budget is checked between them."""
    parts = []
    for i in range(0, len(texts), ENCODE_BATCH):
        parts.append(embedder.encode_documents(texts[i : i + ENCODE_BATCH]))
        budget.check()
    return np.concatenate(parts) if parts else embedder.encode_documents([])
