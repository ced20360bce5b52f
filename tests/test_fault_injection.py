"""kill -9 at random points of indexing: whatever the moment, the index on disk loads, its manifest matches its
stored vectors, it holds one whole generation (the one before or the one being written), and it answers.

`QA_FAULT_RUNS` sets the number of kills (default 12; the long version: 50 or more).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from index.store import IndexStore
from qa.assistant import Assistant

TESTS = Path(__file__).resolve().parent
RUNS = int(os.environ.get("QA_FAULT_RUNS", "12"))

INDEXER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import KeywordEmbedder
from index.builder import IndexBuilder
from index.store import IndexStore
from qa.core.settings import ChunkSettings, IngestSettings

embedder = KeywordEmbedder()
builder = IndexBuilder(IndexStore(Path(sys.argv[1])), IngestSettings(), ChunkSettings(chunk_tokens=60, overlap_tokens=10),
                       embedder.identity, lambda: embedder)
builder.run(Path(sys.argv[2]), rebuild=True)
"""


def corpus_of(folder: Path, source: Path, copies: int) -> set[str]:
    folder.mkdir()
    articles = sorted(source.glob("*.txt"))
    for i in range(copies):
        text = articles[i % len(articles)].read_text(encoding="utf-8")
        (folder / f"{i:03d}.txt").write_text(f"{text}\n\nCopy number {i}.\n", encoding="utf-8")
    return {p.name for p in folder.glob("*.txt")}


def test_kill_9_during_indexing_never_leaves_a_broken_index(tmp_path, corpus, settings, embedder, fake_llm):
    index = settings.paths.index_dir
    small = corpus_of(tmp_path / "small", corpus, 30)
    large = corpus_of(tmp_path / "large", corpus, 31)
    script = tmp_path / "indexer.py"
    script.write_text(INDEXER.format(tests=str(TESTS)), encoding="utf-8")

    def start(folder: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(script), str(index), str(folder)], cwd=TESTS.parent,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    t0 = time.perf_counter()
    first = start(tmp_path / "small")
    assert first.wait(timeout=300) == 0, first.stderr.read().decode() if first.stderr else ""
    whole = time.perf_counter() - t0
    rng = random.Random(0)
    outcomes = {"old": 0, "new": 0}
    for run in range(RUNS):
        folder, expected = (tmp_path / "large", large) if run % 2 == 0 else (tmp_path / "small", small)
        before = set(IndexStore(index).load().data.documents)
        process = start(folder)
        time.sleep(rng.uniform(0.0, whole))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        loaded = IndexStore(index).load()  # raises if the manifest names missing or mismatched files
        documents = set(loaded.data.documents)
        assert documents in (before, expected), f"run {run}: a mixture of two generations"
        assert len(loaded.dense) == len(loaded.data.chunks) == loaded.manifest.chunks
        assert sum(len(v) for v in loaded.data.sentence_vectors.values()) == loaded.manifest.sentences
        outcomes["new" if documents == expected and documents != before else "old"] += 1
    print(f"kill -9 at random points of {RUNS} indexing runs ({whole:.2f} s each): {outcomes}")
    assert sum(outcomes.values()) == RUNS
    assistant = Assistant(settings, embedder=embedder, llm=fake_llm.enqueue("450 Millionen registrierte Kunden"))
    assistant.index()  # an interrupted index is carried on from, incrementally
    assert not assistant.ask("Wie viele registrierte Kunden hat DiDi?").refused


def test_a_full_disk_during_a_write_leaves_the_previous_generation_live(tmp_path, corpus, settings):
    """The file size limit (RLIMIT_FSIZE) stands in for a full disk: the write fails with EFBIG part of the way
    through one of the generation's files."""
    import resource

    index = settings.paths.index_dir
    small = corpus_of(tmp_path / "small", corpus, 30)
    corpus_of(tmp_path / "large", corpus, 31)
    script = tmp_path / "indexer.py"
    script.write_text(INDEXER.format(tests=str(TESTS)), encoding="utf-8")
    run = [sys.executable, str(script), str(index)]
    assert subprocess.run([*run, str(tmp_path / "small")], cwd=TESTS.parent, timeout=300).returncode == 0
    sizes = sorted(p.stat().st_size for p in index.iterdir() if p.suffix in {".jsonl", ".npy", ".faiss"})

    def limited(limit: int):
        def apply() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return apply

    for limit in (1, sizes[0] // 2, sizes[len(sizes) // 2] // 2, sizes[-1] // 2):
        done = subprocess.run([*run, str(tmp_path / "large")], cwd=TESTS.parent, preexec_fn=limited(limit),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode != 0, done.stderr[-300:]
        assert "IndexWriteError" in done.stderr and "the index could not be written" in done.stderr, done.stderr[-300:]
        loaded = IndexStore(index).load()
        assert set(loaded.data.documents) == small
        assert len(loaded.dense) == len(loaded.data.chunks) == loaded.manifest.chunks
        leftovers = {p.name for p in index.iterdir()} - {".lock", "manifest.json", *loaded.manifest.files.values()}
        assert leftovers == set(), f"limit {limit}: half-written files left behind"


UPLOADER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import FakeLLM, KeywordEmbedder, write_test_calibration
from qa.assistant import Assistant
from qa.core.settings import Settings

data = Path(sys.argv[1])
settings = Settings(paths={{"corpus": Path(sys.argv[2]), "data": data}},
                    retrieval={{"translate_queries": False, "calibration": write_test_calibration(data / "c.json")}})
Assistant(settings, embedder=KeywordEmbedder(), llm=FakeLLM()).add_documents([Path(p) for p in sys.argv[3:]])
"""


def test_kill_9_during_an_upload_leaves_whole_files_and_a_whole_index(tmp_path, corpus, settings, embedder,
                                                                       fake_llm):
    """An upload copies each file into the corpus (a temporary file, then a rename) and indexes: killed at any
    point, the corpus holds each uploaded file whole or not at all, and the index loads and answers."""
    Assistant(settings, embedder=embedder, llm=fake_llm).index()
    uploads = tmp_path / "uploads"
    names = sorted(corpus_of(uploads, corpus, 12))
    originals = {n: (uploads / n).read_bytes() for n in names}
    script = tmp_path / "uploader.py"
    script.write_text(UPLOADER.format(tests=str(TESTS)), encoding="utf-8")
    command = [sys.executable, str(script), str(settings.paths.data), str(settings.paths.corpus),
               *(str(uploads / n) for n in names)]
    t0 = time.perf_counter()
    assert subprocess.run(command, cwd=TESTS.parent, timeout=300).returncode == 0
    whole = time.perf_counter() - t0
    rng = random.Random(1)
    for run in range(max(4, RUNS // 2)):
        for n in names:
            (settings.paths.corpus / n).unlink(missing_ok=True)
        Assistant(settings, embedder=embedder, llm=fake_llm).index()
        process = subprocess.Popen(command, cwd=TESTS.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, whole))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        for n in names:
            path = settings.paths.corpus / n
            assert not path.exists() or path.read_bytes() == originals[n], f"run {run}: {n} half copied"
        loaded = IndexStore(settings.paths.index_dir).load()
        assert len(loaded.dense) == len(loaded.data.chunks) == loaded.manifest.chunks
        assistant = Assistant(settings, embedder=embedder, llm=fake_llm)
        report = assistant.index()  # what the upload copied is indexed now; its stray temporary files are never read
        assert report.failed == [] and not any(name.startswith(".") for name in assistant.documents())
        evidence = assistant.retrieve("Wie viele registrierte Kunden hat DiDi?").evidence
        assert any("450 Millionen registrierte Kunden" in e.text for e in evidence)
        assert assistant.ask("Wie viele registrierte Kunden hat DiDi?").text
