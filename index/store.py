"""The index on disk: a manifest naming one generation of data files.

Every write makes a new generation (files suffixed with its number), then replaces
`manifest.json` atomically; only then are older generations deleted. A crash at any point
leaves a manifest that names complete files, so the previous index stays usable.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from index import milvus
from index.copies import NUM_PERM, SIGNATURES
from index.lexical import LexicalIndex
from index.vectors import FaissStore
from qa.core.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError, QAError
from qa.core.records import Chunk, Document, EmbedderIdentity, IndexedDocument, Manifest, Source, Span
from qa.core.settings import VectorSettings

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class IndexData:
    """Everything an index holds, in memory. Sentence vectors are stored per document, in sentence order."""

    documents: dict[str, Document] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    chunk_vectors: np.ndarray | None = None
    sentence_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    copies: dict[str, str] = field(default_factory=dict)  # doc_id → its group's representative (index.copies)
    signatures: dict[str, np.ndarray] = field(default_factory=dict)  # doc_id → its MinHash (index.copies)


class DenseSearch(Protocol):
    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


class LexicalSearch(Protocol):
    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]: ...


@dataclass
class LoadedIndex:
    """`dense` and `lexical` rank chunk rows: FAISS and bm25s in this process, or a Milvus collection."""

    manifest: Manifest
    data: IndexData
    dense: DenseSearch
    lexical: LexicalSearch

    def check_embedder(self, identity: EmbedderIdentity) -> None:
        built = self.manifest.embedder
        if built != identity:
            raise IndexMismatchError(
                f"the index was built with embedder {built.describe()}, but {identity.describe()} is configured"
            )


def manifest_json(m: Manifest) -> dict:
    """The manifest as `manifest.json` holds it (and `qa info --json` shows it)."""
    return {
        "schema_version": m.schema_version,
        "generation": m.generation,
        "written_at": m.written_at,
        "embedder": m.embedder.to_json(),
        "chunker": dict(m.chunker),
        "files": dict(m.files),
        "documents": {doc_id: dict(vars(d), source=dict(vars(d.source))) for doc_id, d in m.documents.items()},
        "counts": {"documents": len(m.documents), "chunks": m.chunks, "sentences": m.sentences},
    }


def _manifest_from_json(raw: object) -> Manifest:
    """Raises ValueError for anything but the shape `manifest_json` writes."""
    if not isinstance(raw, dict):
        raise ValueError(f"the manifest is a JSON object, not {type(raw).__name__}")
    try:
        documents = {
            str(k): IndexedDocument(
                str(d["sha256"]),
                str(d["title"]),
                str(d["language"]),
                int(d["sentences"]),
                int(d["chunks"]),
                _source_from_json(d.get("source")),
                str(d.get("copy_of", "")),
            )
            for k, d in raw["documents"].items()
        }
        files = {str(k): str(v) for k, v in raw["files"].items()}
        if not isinstance(raw["chunker"], dict):
            raise TypeError("chunker is not an object")
        return Manifest(
            int(raw["schema_version"]),
            int(raw["generation"]),
            str(raw["written_at"]),
            EmbedderIdentity.from_json(raw["embedder"]),
            raw["chunker"],
            files,
            documents,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"the manifest lacks or misshapes {exc}") from None


def _doc_to_json(doc: Document) -> dict:
    return {
        "doc_id": doc.doc_id,
        "path": doc.path,
        "title": doc.title,
        "language": doc.language,
        "sha256": doc.sha256,
        "text": doc.text,
        "sentences": [[s.start, s.end] for s in doc.sentences],
        "regions": [[r.start, r.end] for r in doc.regions],
        "source": dict(vars(doc.source)),
        "pages": list(doc.pages),
    }


def _source_from_json(d: object) -> Source:
    if d is None:
        return Source()
    if not isinstance(d, dict):
        raise TypeError("source is not an object")
    return Source(**{k: str(d.get(k, "")) for k in ("outlet", "author", "published", "url")})


def _doc_from_json(d: dict) -> Document:
    return Document(
        doc_id=d["doc_id"],
        path=d["path"],
        title=d["title"],
        language=d["language"],
        text=d["text"],
        sha256=d["sha256"],
        sentences=tuple(Span(*s) for s in d["sentences"]),
        regions=tuple(Span(*r) for r in d["regions"]),
        source=_source_from_json(d.get("source")),
        pages=tuple(int(p) for p in d.get("pages", ())),
    )


def _chunk_to_json(c: Chunk) -> dict:
    return {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "char_start": c.char_start,
        "char_end": c.char_end,
        "sentences": [[s.start, s.end] for s in c.sentences],
    }


def _chunk_from_json(d: dict, docs: dict[str, Document]) -> Chunk:
    doc = docs[d["doc_id"]]
    return Chunk(
        chunk_id=d["chunk_id"],
        doc_id=d["doc_id"],
        text=doc.text[d["char_start"] : d["char_end"]],
        char_start=d["char_start"],
        char_end=d["char_end"],
        language=doc.language,
        sentences=tuple(Span(*s) for s in d["sentences"]),
    )


def _fsync_write(path: Path, payload: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexStore:
    def __init__(self, root: Path, vectors: VectorSettings = VectorSettings()):
        self.root = Path(root)
        self.vectors = vectors

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> Manifest:
        if not self.exists():
            raise IndexMissingError(f"no index at {self.root}")
        try:
            raw = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(f"{self.manifest_path} cannot be read: {exc}") from None
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version != SCHEMA_VERSION:
            raise IndexMismatchError(
                f"{self.manifest_path} has schema version {version}, this program reads version {SCHEMA_VERSION}"
            )
        try:
            return _manifest_from_json(raw)
        except ValueError as exc:
            raise IndexCorruptError(f"{self.manifest_path} is damaged: {exc}") from None

    def load(self) -> LoadedIndex:
        manifest, data = self.load_data()
        chunks = len(data.chunks)
        if not self.holds(manifest):
            raise IndexMismatchError(
                f"the index at {self.root} is searched by {engine_of(manifest)}, but {_configured(self.vectors)} "
                "is configured",
                hint="run `qa index` to move it (nothing is embedded again)",
            )
        if "milvus" in manifest.files:
            return LoadedIndex(manifest, data, *self._open_milvus(manifest, chunks))
        try:
            dense = FaissStore.load(self.root / manifest.files["dense"])
        except (OSError, KeyError, RuntimeError) as exc:
            raise IndexCorruptError(f"the index at {self.root} is incomplete or damaged: {exc}") from None
        if len(dense) != chunks:
            raise IndexCorruptError(f"the index at {self.root} has mismatched file sizes")
        return LoadedIndex(manifest, data, dense, LexicalIndex([c.text for c in data.chunks]))

    def load_data(self) -> tuple[Manifest, IndexData]:
        """What the index holds, without the means to search it (enough to update it)."""
        manifest = self.read_manifest()
        files = {k: self.root / v for k, v in manifest.files.items()}
        try:
            with open(files["documents"], encoding="utf-8") as fh:
                docs = [_doc_from_json(json.loads(line)) for line in fh]
            documents = {d.doc_id: d for d in docs}
            with open(files["chunks"], encoding="utf-8") as fh:
                chunks = [_chunk_from_json(json.loads(line), documents) for line in fh]
            chunk_vectors = np.load(files["chunk_vectors"])
            flat = np.load(files["sentence_vectors"])
        except (OSError, KeyError, TypeError, ValueError, json.JSONDecodeError, RuntimeError) as exc:
            raise IndexCorruptError(f"the index at {self.root} is incomplete or damaged: {exc}") from None
        sentence_vectors, row = {}, 0
        for doc in docs:
            n = len(doc.sentences)
            sentence_vectors[doc.doc_id] = flat[row : row + n]
            row += n
        if row != len(flat) or len(chunks) != len(chunk_vectors):
            raise IndexCorruptError(f"the index at {self.root} has mismatched file sizes")
        copies = {d: info.copy_of for d, info in manifest.documents.items() if info.copy_of}
        return manifest, IndexData(
            documents, chunks, chunk_vectors, sentence_vectors, copies, self._signatures(files, docs)
        )

    @staticmethod
    def _signatures(files: dict[str, Path], docs: list[Document]) -> dict[str, np.ndarray]:
        """The stored MinHash signatures by doc_id; none when they are missing or unreadable (they are only a
        cache: `index.copies` computes what is not there)."""
        try:
            stored = np.load(files[SIGNATURES])
        except (OSError, KeyError, ValueError):
            return {}
        if stored.shape != (len(docs), NUM_PERM):
            return {}
        return {doc.doc_id: stored[i] for i, doc in enumerate(docs)}

    def _open_milvus(self, manifest: Manifest, chunks: int) -> tuple[DenseSearch, LexicalSearch]:
        client = milvus.connect(self.vectors, self.root)
        return milvus.open_collection(client, manifest.files["milvus"], chunks, int(manifest.files["milvus_nprobe"]))

    def holds(self, manifest: Manifest) -> bool:
        """Whether the index is searched where the settings say (FAISS here, or this Milvus collection)."""
        if self.vectors.backend == "faiss":
            return "dense" in manifest.files
        name = manifest.files.get("milvus", "")
        return (
            manifest.files.get("milvus_uri") == self.vectors.uri
            and milvus.generation_of(self.vectors, name) == manifest.generation
        )

    @contextmanager
    def lock(self):
        """One writer at a time."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def write(self, data: IndexData, embedder: EmbedderIdentity, chunker: dict) -> Manifest:
        """Writes a new generation and switches the manifest to it; returns the new manifest. A damaged or
        outdated manifest is replaced (its generation's files are removed with the others)."""
        self.root.mkdir(parents=True, exist_ok=True)
        dim = embedder.dim
        old: Manifest | None = None
        if self.exists():
            try:
                old = self.read_manifest()
            except QAError:
                old = None
        gen = max(old.generation if old else 0, int(time.time() * 1000)) + 1
        docs = [data.documents[k] for k in sorted(data.documents)]
        files = {
            "documents": f"documents-{gen}.jsonl",
            "chunks": f"chunks-{gen}.jsonl",
            "chunk_vectors": f"chunk_vectors-{gen}.npy",
            "sentence_vectors": f"sentence_vectors-{gen}.npy",
            SIGNATURES: f"signatures-{gen}.npy",
        }
        client = milvus.connect(self.vectors, self.root) if self.vectors.backend == "milvus" else None
        collection = milvus.collection_name(self.vectors, gen)  # this generation's, if on Milvus
        if client is None:
            files["dense"] = f"dense-{gen}.faiss"
        p = {k: self.root / v for k, v in files.items()}
        tmp = self.root / f"{MANIFEST}.{gen}.tmp"
        try:
            _fsync_write(
                p["documents"],
                "".join(json.dumps(_doc_to_json(d), ensure_ascii=False) + "\n" for d in docs).encode("utf-8"),
            )
            _fsync_write(p["chunks"], "".join(json.dumps(_chunk_to_json(c)) + "\n" for c in data.chunks).encode())
            chunk_vectors = (
                data.chunk_vectors if data.chunk_vectors is not None else np.zeros((0, dim), np.float32)
            ).astype(np.float32)
            _fsync_save(p["chunk_vectors"], chunk_vectors)
            parts = [data.sentence_vectors[d.doc_id] for d in docs]
            flat = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, dim), np.float32)
            _fsync_save(p["sentence_vectors"], flat)
            known = [data.signatures.get(d.doc_id) for d in docs]
            if any(v is None for v in known):  # no stored signatures to keep (an index from an older version)
                known = []
            _fsync_save(p[SIGNATURES], np.array(known, np.uint32).reshape(len(known), NUM_PERM))
            if client is None:
                FaissStore.build(chunk_vectors, self.vectors).save(p["dense"])
            else:
                nprobe = milvus.build(client, collection, [c.text for c in data.chunks], chunk_vectors, self.vectors)
                files |= {"milvus": collection, "milvus_uri": self.vectors.uri, "milvus_nprobe": str(nprobe)}
            per_doc = Counter(c.doc_id for c in data.chunks)
            manifest = Manifest(
                schema_version=SCHEMA_VERSION,
                generation=gen,
                written_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                embedder=embedder,
                chunker=chunker,
                files=files,
                documents={
                    d.doc_id: IndexedDocument(
                        d.sha256,
                        d.title,
                        d.language,
                        len(d.sentences),
                        per_doc[d.doc_id],
                        d.source,
                        data.copies.get(d.doc_id, ""),
                    )
                    for d in docs
                },
            )
            _fsync_write(tmp, json.dumps(manifest_json(manifest), indent=2, ensure_ascii=False).encode("utf-8"))
            os.replace(tmp, self.manifest_path)
        except OSError as exc:  # a full disk, a read-only folder
            for path in [*p.values(), tmp]:
                path.unlink(missing_ok=True)
            if client is not None:
                milvus.drop(client, collection)
            raise IndexWriteError(
                f"{self.root}: the index could not be written ({exc}); the previous one is kept"
            ) from None
        _fsync_dir(self.root)
        self._remove_other_generations(set(files.values()))
        if client is not None:
            milvus.drop_other_generations(client, self.vectors, collection)
        if old is not None and "milvus" in old.files:
            self._drop_milvus_of(old)
        return manifest

    def _drop_milvus_of(self, old: Manifest) -> None:
        """Moved off Milvus (or to another one): the collections it held for this index go."""
        was = self.vectors.model_copy(update={"uri": old.files.get("milvus_uri", "")})
        try:
            client = milvus.connect(was, self.root)
        except QAError:
            return  # a server gone away keeps what it held; nothing here depends on it
        milvus.drop(client, old.files["milvus"])

    def _remove_other_generations(self, keep: set[str]) -> None:
        for path in self.root.iterdir():
            if path.name in keep or path.name in {MANIFEST, ".lock"}:
                continue
            if path.name.split("-")[0] in {
                "documents",
                "chunks",
                "chunk_vectors",
                "sentence_vectors",
                "signatures",
                "dense",
            } or path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)


def engine_of(manifest: Manifest) -> str:
    """Where the index is searched, for a reader."""
    if "milvus" in manifest.files:
        return f"Milvus collection {manifest.files['milvus']} at {manifest.files.get('milvus_uri') or 'milvus-lite'}"
    return "FAISS"


def _configured(vectors: VectorSettings) -> str:
    return "FAISS" if vectors.backend == "faiss" else f"Milvus ({vectors.uri or 'milvus-lite'})"
