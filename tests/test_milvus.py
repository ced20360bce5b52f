"""The Milvus backend (milvus-lite, one file in the index folder) ranks as FAISS and bm25s do, and keeps the
index's promises: identity checks, one generation at a time, nothing embedded again to move an index."""

import json

import numpy as np
import pytest

from index import milvus
from index.builder import IndexBuilder
from index.store import IndexStore
from qa.core.errors import IndexMismatchError, IndexWriteError
from qa.core.settings import ChunkSettings, IngestSettings, VectorSettings

from conftest import KeywordEmbedder
from test_index import CountingFactory

pytest.importorskip("milvus_lite")

MILVUS = VectorSettings(backend="milvus")


def build(root, corpus, vectors=MILVUS, embedder=None):
    factory = CountingFactory(embedder or KeywordEmbedder())
    store = IndexStore(root, vectors)
    b = IndexBuilder(store, IngestSettings(), ChunkSettings(chunk_tokens=60, overlap_tokens=10),
                     factory.embedder.identity, factory)
    return b.run(corpus), store, factory


QUERIES = ["How many registered customers does DiDi serve?", "Renault Nissan Allianz Partner",
           "electric vehicles car sharing", "Wie viele Kunden hat DiDi?", "zzz unknown words"]


def test_milvus_ranks_chunks_as_faiss_and_bm25s_do(tmp_path, corpus):
    _, faiss_store, _ = build(tmp_path / "faiss", corpus, VectorSettings())
    _, milvus_store, _ = build(tmp_path / "milvus", corpus)
    a, b = faiss_store.load(), milvus_store.load()
    assert type(b.dense).__name__ == "MilvusDense" and type(b.lexical).__name__ == "MilvusLexical"
    assert [c.text for c in a.data.chunks] == [c.text for c in b.data.chunks]
    vectors = KeywordEmbedder().encode_queries(QUERIES)
    sa, ia = a.dense.search(vectors, 8)
    sb, ib = b.dense.search(vectors, 8)
    assert (ia == ib).all() and np.allclose(sa, sb, atol=1e-5)
    some = np.arange(0, len(a.data.chunks), 2)
    for q in QUERIES:
        la, lb = a.lexical.search(q, 10), b.lexical.search(q, 10)
        assert [r for r, _ in la] == [r for r, _ in lb], q
        assert np.allclose([s for _, s in la], [s for _, s in lb], rtol=1e-4)
        assert [r for r, _ in a.lexical.search(q, 10, some)] == [r for r, _ in b.lexical.search(q, 10, some)]
    assert b.lexical.search("zzz unknown words", 10) == []


def test_the_words_milvus_indexes_are_ours_exactly():
    text = "Straße 東京都 DiDi's 31.5 million über-clever"
    from index.lexical import tokens

    assert [bytes.fromhex(w[1:]).decode() for w in milvus.words(text).split()] == tokens(text)
    assert milvus.words("the and of") == "x" + "∅".encode().hex()


def test_each_write_is_a_new_collection_and_older_ones_go(tmp_path, corpus):
    root = tmp_path / "idx"
    build(root, corpus)
    first = json.loads((root / "manifest.json").read_text())["files"]["milvus"]
    (corpus / "extra.txt").write_text("Extra\n\nA new article about ride hailing in Berlin.", encoding="utf-8")
    report, store, factory = build(root, corpus)
    assert report.added == ["extra.txt"] and factory.loads == 1
    files = json.loads((root / "manifest.json").read_text())["files"]
    assert files["milvus"] != first and "dense" not in files
    client = milvus.connect(MILVUS, root)
    assert [n for n in client.list_collections() if n.startswith("qa_chunks_")] == [files["milvus"]]
    assert len(store.load().dense) == report.chunks


def test_a_failed_collection_keeps_the_previous_index(tmp_path, corpus, monkeypatch):
    root = tmp_path / "idx"
    build(root, corpus)
    before = (root / "manifest.json").read_text()

    def refuse(*args, **kwargs):
        raise OSError("Milvus collection qa_chunks_1: out of quota")

    monkeypatch.setattr(milvus, "build", refuse)
    (corpus / "extra.txt").write_text("Extra\n\nAnother article.", encoding="utf-8")
    with pytest.raises(IndexWriteError, match="out of quota"):
        build(root, corpus)
    assert (root / "manifest.json").read_text() == before
    assert len(IndexStore(root, MILVUS).load().data.documents) == 3


def test_moving_between_backends_embeds_nothing_again(tmp_path, corpus):
    root = tmp_path / "idx"
    build(root, corpus, VectorSettings())
    with pytest.raises(IndexMismatchError, match="FAISS") as err:
        IndexStore(root, MILVUS).load()
    assert "qa index" in err.value.hint
    report, store, factory = build(root, corpus)
    assert report.written and report.moved and factory.loads == 0 and not report.added
    assert len(store.load().dense) == report.chunks
    assert not list(root.glob("dense-*.faiss"))
    report, store, factory = build(root, corpus, VectorSettings())
    assert report.moved and factory.loads == 0
    assert list(root.glob("dense-*.faiss"))
    client = milvus.connect(MILVUS, root)
    assert not [n for n in client.list_collections() if n.startswith("qa_chunks_")]


def test_the_manifest_never_holds_the_token(tmp_path, corpus):
    root = tmp_path / "idx"
    build(root, corpus, VectorSettings(backend="milvus", token="root:Milvus"))
    assert "Milvus" not in json.dumps(json.loads((root / "manifest.json").read_text())["chunker"])
    assert "root:Milvus" not in (root / "manifest.json").read_text()


def test_a_milvus_lite_index_open_elsewhere_is_named_with_what_to_do(tmp_path, corpus):
    import subprocess
    import sys
    import time

    from milvus_lite.server_manager import server_manager_instance

    root = tmp_path / "idx"
    build(root, corpus)
    server_manager_instance.release_server(str(root / milvus.LITE_FILE))  # this process lets go of it
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time\nfrom pymilvus import MilvusClient\n"
         "MilvusClient(sys.argv[1]).list_collections()\nprint('open', flush=True)\ntime.sleep(60)",
         str(root / milvus.LITE_FILE)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        from qa.core.errors import ConfigError

        start = time.monotonic()
        with pytest.raises(ConfigError, match="another process has this milvus-lite index open") as err:
            milvus.connect(MILVUS, root)
        assert "vectors.uri" in err.value.hint and time.monotonic() - start < 30
    finally:
        holder.kill()
        holder.wait()


def test_an_assistant_answers_from_milvus_and_says_where_it_searches(settings, fake_llm):
    from qa.assistant import Assistant

    on_faiss = Assistant(settings, embedder=KeywordEmbedder(), llm=fake_llm)
    on_faiss.index()
    before = on_faiss.ask("How many registered customers does DiDi serve?")
    moved = settings.model_copy(update={"vectors": MILVUS})
    assistant = Assistant(moved, embedder=KeywordEmbedder(), llm=fake_llm)
    with pytest.raises(IndexMismatchError):
        assistant.ask("How many registered customers does DiDi serve?")
    assert assistant.index().moved
    after = assistant.ask("How many registered customers does DiDi serve?")
    assert after.text == before.text and after.citations == before.citations and after.citations
    assert assistant.info()["indexed"]["search"].startswith("Milvus collection qa_chunks_")


def test_a_large_collection_is_an_inverted_file_calibrated_to_the_recall_asked(tmp_path):
    from index.vectors import NumpyStore, probe_queries, recall_at

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, 32))
    vectors = (centres[rng.integers(0, 40, 3000)] + 0.3 * rng.normal(size=(3000, 32))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    settings = VectorSettings(backend="milvus", kind="ivf", min_recall=0.9)
    client = milvus.connect(settings, tmp_path)
    nprobe = milvus.build(client, "qa_chunks_7", ["a b"] * len(vectors), vectors, settings)
    nlist = int(4 * np.sqrt(3000))
    assert 1 <= nprobe <= nlist
    dense, _ = milvus.open_collection(client, "qa_chunks_7", len(vectors), nprobe)
    queries = probe_queries(vectors, 100, seed=5)
    exact = NumpyStore(vectors).search(queries, 10)[1]
    assert recall_at(dense.search(queries, 10)[1], exact) >= 0.85
    if nprobe > 1:
        dense.nprobe = 1
        assert recall_at(dense.search(queries, 10)[1], exact) < 0.999
