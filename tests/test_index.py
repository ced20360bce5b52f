import json

import numpy as np
import pytest

from index.builder import IndexBuilder
from index.store import IndexStore
from index.vectors import FaissStore, NumpyStore
from qa.core.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError
from qa.core.records import EmbedderIdentity
from qa.core.settings import ChunkSettings, IngestSettings

from conftest import KeywordEmbedder


class CountingFactory:
    def __init__(self, embedder):
        self.embedder, self.loads = embedder, 0

    def __call__(self):
        self.loads += 1
        return self.embedder


def builder(root, embedder, chunk_tokens=60):
    factory = CountingFactory(embedder)
    b = IndexBuilder(IndexStore(root), IngestSettings(), ChunkSettings(chunk_tokens=chunk_tokens, overlap_tokens=10),
                     embedder.identity, factory)
    return b, factory


def test_first_run_indexes_everything_with_a_manifest(tmp_path, corpus):
    b, _ = builder(tmp_path / "idx", KeywordEmbedder())
    report = b.run(corpus)
    assert sorted(report.added) == ["000_d8de29d23dcd1c5d.txt", "001_0f6a77e0f2bd9020.txt", "002_2f609247c276f3f8.txt"]
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert manifest["embedder"] == {"name": "keyword-fake", "dim": 256, "fingerprint": "fake"}
    assert manifest["chunker"]["chunk_tokens"] == 60
    assert manifest["documents"]["002_2f609247c276f3f8.txt"]["language"] == "de"
    assert manifest["documents"]["002_2f609247c276f3f8.txt"]["title"] == "Renault-Nissan wird Partner der DiDi Auto Alliance"
    import hashlib
    import json as json_
    entry = {"title": "Renault-Nissan-Mitsubishi team up with DiDi Chuxing for the D-Alliance", "language": "en",
             "outlet": "", "author": "", "date": "", "url": ""}  # the file and its catalog entry
    expected = hashlib.sha256((corpus / "000_d8de29d23dcd1c5d.txt").read_bytes())
    expected.update(json_.dumps(entry, sort_keys=True).encode())
    assert manifest["documents"]["000_d8de29d23dcd1c5d.txt"]["sha256"] == expected.hexdigest()
    loaded = IndexStore(tmp_path / "idx").load()
    assert len(loaded.dense) == len(loaded.data.chunks) == manifest["counts"]["chunks"]


def test_unchanged_corpus_is_skipped_without_loading_the_embedder(tmp_path, corpus):
    b, factory = builder(tmp_path / "idx", KeywordEmbedder())
    b.run(corpus)
    gen = json.loads((tmp_path / "idx" / "manifest.json").read_text())["generation"]
    b2, factory2 = builder(tmp_path / "idx", KeywordEmbedder())
    report = b2.run(corpus)
    assert report.written is False and len(report.unchanged) == 3
    assert factory2.loads == 0
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["generation"] == gen


def test_changed_file_is_reembedded_and_removed_file_leaves(tmp_path, corpus):
    emb = KeywordEmbedder()
    b, _ = builder(tmp_path / "idx", emb)
    b.run(corpus)
    (corpus / "000_d8de29d23dcd1c5d.txt").write_text("A new headline\n\nThe alliance now plans ninety cars.\n")
    (corpus / "001_0f6a77e0f2bd9020.txt").unlink()
    calls = emb.calls
    report = b.run(corpus)
    assert report.updated == ["000_d8de29d23dcd1c5d.txt"] and report.removed == ["001_0f6a77e0f2bd9020.txt"]
    assert report.unchanged == ["002_2f609247c276f3f8.txt"]
    assert emb.calls - calls == 2  # chunks and sentences of the one changed file
    loaded = IndexStore(tmp_path / "idx").load()
    assert set(loaded.data.documents) == {"000_d8de29d23dcd1c5d.txt", "002_2f609247c276f3f8.txt"}
    assert any("ninety cars" in c.text for c in loaded.data.chunks)
    # carried vectors still belong to their chunks
    fresh = KeywordEmbedder().encode_documents([c.text for c in loaded.data.chunks])
    assert np.allclose(fresh, loaded.data.chunk_vectors, atol=1e-6)


def test_changed_chunker_or_embedder_rebuilds(tmp_path, corpus):
    b, _ = builder(tmp_path / "idx", KeywordEmbedder())
    b.run(corpus)
    b2, _ = builder(tmp_path / "idx", KeywordEmbedder(), chunk_tokens=30)
    assert b2.run(corpus).rebuilt
    b3, _ = builder(tmp_path / "idx", KeywordEmbedder(dim=128, name="other"))
    report = b3.run(corpus)
    assert report.rebuilt and len(report.added) == 3


def test_loading_with_another_embedder_is_a_clear_error(tmp_path, corpus):
    b, _ = builder(tmp_path / "idx", KeywordEmbedder())
    b.run(corpus)
    loaded = IndexStore(tmp_path / "idx").load()
    with pytest.raises(IndexMismatchError, match="built with embedder keyword-fake .*but other"):
        loaded.check_embedder(EmbedderIdentity("other", 384, "x"))


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissingError, match="no index at"):
        IndexStore(tmp_path / "nothing").load()


def test_a_crash_while_writing_leaves_the_previous_index_usable(tmp_path, corpus, monkeypatch):
    b, _ = builder(tmp_path / "idx", KeywordEmbedder())
    b.run(corpus)
    before = IndexStore(tmp_path / "idx").load()
    (corpus / "new.txt").write_text("Headline\n\nA brand new article about trains.\n")

    def crash(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(FaissStore, "save", crash)
    files = sorted(p.name for p in (tmp_path / "idx").iterdir())
    with pytest.raises(IndexWriteError, match=r"idx: the index could not be written \(disk full\); the previous one is "
                       r"kept \(free disk space \(or make the folder writable\) and run `qa index` again\)"):
        b.run(corpus)
    after = IndexStore(tmp_path / "idx").load()
    assert set(after.data.documents) == set(before.data.documents)
    assert len(after.data.chunks) == len(before.data.chunks)
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == files  # the half-written generation is gone


def test_damaged_data_file_is_reported(tmp_path, corpus):
    b, _ = builder(tmp_path / "idx", KeywordEmbedder())
    b.run(corpus)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    (tmp_path / "idx" / manifest["files"]["chunk_vectors"]).write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="incomplete or damaged"):
        IndexStore(tmp_path / "idx").load()


@pytest.mark.parametrize("shape, message", [
    ([], "version None"),
    ({"schema_version": 1}, "is damaged: the manifest lacks or misshapes 'documents'"),
    ({"schema_version": 1, "generation": 1, "written_at": "", "embedder": "x", "chunker": {}, "files": {},
      "documents": {}}, "is damaged: an embedder identity is an object, not str"),
])
def test_a_manifest_of_the_wrong_shape_is_named(tmp_path, corpus, shape, message):
    b, _ = builder(tmp_path / "idx", KeywordEmbedder())
    b.run(corpus)
    (tmp_path / "idx" / "manifest.json").write_text(json.dumps(shape))
    with pytest.raises((IndexCorruptError, IndexMismatchError), match=f"manifest.json .*{message}"):
        IndexStore(tmp_path / "idx").load()


def test_a_bad_file_is_reported_and_its_indexed_version_kept(tmp_path, corpus):
    b, _ = builder(tmp_path / "idx", KeywordEmbedder())
    b.run(corpus)
    (corpus / "002_2f609247c276f3f8.txt").write_bytes(b"\x00\x01binary now")
    (corpus / "empty.txt").write_text("")
    report = b.run(corpus)
    messages = dict(report.failed)
    assert "looks like a binary file" in messages["002_2f609247c276f3f8.txt"]
    assert "empty.txt: the file is empty" in messages["empty.txt"]
    loaded = IndexStore(tmp_path / "idx").load()
    assert "450 Millionen" in loaded.data.documents["002_2f609247c276f3f8.txt"].text
    assert "empty.txt" not in loaded.data.documents


def test_a_two_megabyte_line_is_refused_at_once_and_the_other_files_are_indexed(tmp_path, corpus):
    (corpus / "one-line.txt").write_text("lorem ipsum dolor sit amet " * 80_000)
    b, embedder = builder(tmp_path / "idx", KeywordEmbedder())
    report = b.run(corpus)
    assert dict(report.failed)["one-line.txt"].endswith(
        "one-line.txt: a line of 2,160,000 characters is not article text (at most 100,000) "
        "(break it into paragraphs, or raise ingest.max_line_chars)")
    assert len(report.added) == 3 and "one-line.txt" not in IndexStore(tmp_path / "idx").load().data.documents


def test_faiss_ranks_like_the_numpy_reference():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.1 * rng.normal(size=(20, 32)).astype(np.float32)
    s1, i1 = NumpyStore(vectors).search(queries, 10)
    s2, i2 = FaissStore.build(vectors).search(queries, 10)
    assert (i1 == i2).all()
    assert np.allclose(s1, s2, atol=1e-5)
