"""Chunk search in Milvus (`vectors.backend = "milvus"`): the same two rankings as FAISS and bm25s, computed by
a Milvus collection, embedded (milvus-lite, one file) or on a server or cluster.

One collection per index generation, named `<collection>_<generation>`, holds each chunk's row, document,
vector and words. The manifest names the collection only once it is complete, and older generations are
dropped only after that, so the index on disk and in Milvus switch together.

BM25 is Milvus's own full-text search, over the words of `index.lexical.tokens` (each written as its UTF-8
hex, which every Milvus analyzer keeps whole): the same words, stop words and Chinese character pairs as the
in-process index, and the same ranking (Milvus's scores are bm25s's times k1 + 1). Dense search is exact
(`FLAT`, inner product) up to `vectors.flat_max` chunks, an `IVF_FLAT` above.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from index.lexical import tokens
from index.vectors import inverted_lists, probe_queries, recall_at, smallest_nprobe
from qa.core.errors import ConfigError, IndexCorruptError
from qa.core.settings import VectorSettings

LITE_FILE = "milvus.db"
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, so both backends rank alike
MAX_WORDS_CHARS = 65_535  # Milvus's longest VARCHAR
INSERT_BATCH = 1000
_MISSING = "∅"  # a chunk with no words still gets one, as in index.lexical


def uri_of(settings: VectorSettings, root: Path) -> str:
    return settings.uri or str(Path(root) / LITE_FILE)


def connect(settings: VectorSettings, root: Path) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise ConfigError(
            "vectors.backend = milvus needs pymilvus and milvus-lite",
            hint="pip install 'qa-assistant[milvus]' (or set vectors.backend = faiss)",
        ) from None
    uri = uri_of(settings, root)
    if not settings.uri:
        Path(root).mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=uri, token=settings.token)
    except Exception as exc:  # pymilvus raises its own and grpc's errors for an unreachable server
        if not settings.uri and "local milvus" in str(exc):
            raise ConfigError(
                f"{uri}: another process has this milvus-lite index open (milvus-lite serves one process at a time)",
                hint="stop that process (a `qa serve`?), or point vectors.uri at a Milvus server to share the index",
            ) from None
        raise ConfigError(f"vectors.uri: Milvus at {uri} cannot be reached: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "message", "") or exc).strip().splitlines()[0][:300]


def words(text: str) -> str:
    """The text's BM25 words as one string Milvus's analyzer splits back into exactly those words."""
    out, size = [], 0
    for w in tokens(text) or [_MISSING]:
        hexed = "x" + w.encode("utf-8").hex()
        size += len(hexed) + 1
        if size > MAX_WORDS_CHARS:
            break
        out.append(hexed)
    return " ".join(out)


def collection_name(settings: VectorSettings, generation: int) -> str:
    return f"{settings.collection}_{generation}"


def generation_of(settings: VectorSettings, name: str) -> int | None:
    m = re.fullmatch(re.escape(settings.collection) + r"_(\d+)", name)
    return int(m.group(1)) if m else None


def build(client: Any, name: str, texts: list[str], vectors: np.ndarray, settings: VectorSettings) -> int:
    """Creates and fills collection `name`; returns the nprobe its searches use (0: exact search). Raises
    OSError, as a full disk would, when Milvus refuses."""
    from pymilvus import DataType, Function, FunctionType

    n, dim = vectors.shape
    try:
        if client.has_collection(name):
            client.drop_collection(name)
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field(
            "words",
            DataType.VARCHAR,
            max_length=MAX_WORDS_CHARS,
            enable_analyzer=True,
            analyzer_params={"tokenizer": "standard"},
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["words"],
                output_field_names=["sparse"],
            )
        )
        params = client.prepare_index_params()
        nlist = inverted_lists(n, settings)
        params.add_index(
            field_name="dense",
            index_type="IVF_FLAT" if nlist else "FLAT",
            metric_type="IP",
            params={"nlist": nlist} if nlist else {},
        )
        params.add_index(
            field_name="sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
        )
        client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
        for start in range(0, n, INSERT_BATCH):
            rows = [
                {"row": row, "words": words(texts[row]), "dense": vectors[row].tolist()}
                for row in range(start, min(n, start + INSERT_BATCH))
            ]
            client.insert(name, rows)
        client.flush(name)
        client.load_collection(name)
        return _calibrate(MilvusDense(client, name, n), vectors, settings.min_recall, nlist) if nlist else 0
    except Exception as exc:
        raise OSError(f"Milvus collection {name}: {_reason(exc)}") from None


def _calibrate(dense: MilvusDense, vectors: np.ndarray, min_recall: float, nlist: int, k: int = 10) -> int:
    """The smallest nprobe whose recall@k against exact search reaches `min_recall` (as `FaissStore.calibrate`)."""
    queries = probe_queries(vectors, 500)
    truth = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]

    def recall_with(nprobe: int) -> float:
        dense.nprobe = nprobe
        return recall_at(dense.search(queries, k)[1], truth)

    return smallest_nprobe(recall_with, nlist, min_recall)[0]


def drop(client: Any, name: str) -> None:
    """Best effort: a collection left behind is dropped by the next write."""
    try:
        if client.has_collection(name):
            client.drop_collection(name)
    except Exception:
        pass


def drop_other_generations(client: Any, settings: VectorSettings, keep: str) -> None:
    """Best effort, as `drop`: the index has switched already, so nothing here may fail the write."""
    try:
        names = client.list_collections()
    except Exception:
        return
    for name in names:
        if name != keep and generation_of(settings, name) is not None:
            drop(client, name)


def open_collection(client: Any, name: str, chunks: int, nprobe: int) -> tuple[MilvusDense, MilvusLexical]:
    try:
        if not client.has_collection(name):
            raise IndexCorruptError(f"Milvus holds no collection {name}, which the index names")
        client.load_collection(name)
        count = int(client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"])
    except IndexCorruptError:
        raise
    except Exception as exc:
        raise IndexCorruptError(f"Milvus collection {name} cannot be read: {_reason(exc)}") from None
    if count != chunks:
        raise IndexCorruptError(f"Milvus collection {name} holds {count} chunks, the index {chunks}")
    return MilvusDense(client, name, chunks, nprobe), MilvusLexical(client, name, chunks)


def _within(rows: np.ndarray | None) -> str:
    return "" if rows is None else f"row in [{','.join(str(int(r)) for r in rows)}]"


class MilvusDense:
    """Ranks chunks by inner product with each query, as `FaissStore.search` does."""

    def __init__(self, client: Any, name: str, size: int, nprobe: int = 0):
        self.client, self.name, self.size, self.nprobe = client, name, size, nprobe

    def __len__(self) -> int:
        return self.size

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.size)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        ids = np.full((len(queries), k), -1, np.int64)
        if k == 0:
            return scores, ids
        params: dict = {"metric_type": "IP"}
        if self.nprobe:
            params["params"] = {"nprobe": self.nprobe}
        found = self.client.search(
            self.name,
            data=[q.tolist() for q in np.asarray(queries, np.float32)],
            anns_field="dense",
            limit=k,
            search_params=params,
            output_fields=["row"],
        )
        for i, hits in enumerate(found):
            best = sorted((-float(h["distance"]), int(h["row"])) for h in hits)[:k]
            for j, (score, row) in enumerate(best):
                scores[i, j], ids[i, j] = -score, row
        return scores, ids


class MilvusLexical:
    """BM25 over chunk texts, as `LexicalIndex.search` ranks them."""

    def __init__(self, client: Any, name: str, size: int):
        self.client, self.name, self.size = client, name, size

    def search(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        if not tokens(query) or self.size == 0 or (rows is not None and len(rows) == 0):
            return []
        found = self.client.search(
            self.name,
            data=[words(query)],
            anns_field="sparse",
            limit=min(2 * k, 16_384),  # more than k, so that ties at the cut are broken by row as bm25s does
            filter=_within(rows),
            search_params={"metric_type": "BM25"},
            output_fields=["row"],
        )[0]
        # milvus-lite reports BM25 scores negated, a server does not: the magnitude is the score either way
        scored = sorted((-round(abs(float(h["distance"])) / (BM25_K1 + 1), 5), int(h["row"])) for h in found)
        return [(row, -score) for score, row in scored[:k] if score < 0]
