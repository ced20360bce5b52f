from pathlib import Path

from index.chunking import SentenceChunker
from index.ingest import Ingestor
from qa.core.settings import IngestSettings

from conftest import CORPUS


def words(text):
    return len(text.split())


def doc(name):
    return Ingestor(IngestSettings()).read(CORPUS / name, name)


def test_chunks_are_exact_slices_made_of_whole_sentences():
    d = doc("002_2f609247c276f3f8.txt")
    chunks = SentenceChunker(words, 40, 10).chunk_document(d, d.regions)
    assert len(chunks) > 2
    starts = {s.start for s in d.sentences}
    ends = {s.end for s in d.sentences}
    for c in chunks:
        assert c.text == d.text[c.char_start : c.char_end]
        assert c.char_start in starts and c.char_end in ends
        assert c.sentences[0].start == c.char_start and c.sentences[-1].end == c.char_end
        assert words(" ".join(d.text[s.start : s.end] for s in c.sentences)) <= 40 or len(c.sentences) == 1


def test_every_sentence_is_in_some_chunk_and_neighbours_overlap():
    d = doc("000_d8de29d23dcd1c5d.txt")
    chunks = SentenceChunker(words, 60, 30).chunk_document(d, d.regions)
    covered = {s for c in chunks for s in c.sentences}
    assert covered == set(d.sentences)
    assert any(set(a.sentences) & set(b.sentences) for a, b in zip(chunks, chunks[1:]))


def test_chunks_never_cross_removed_furniture():
    d = doc("001_0f6a77e0f2bd9020.txt")
    chunks = SentenceChunker(words, 500, 0).chunk_document(d, d.regions)
    assert len(chunks) == len(d.regions) == 3
    for c in chunks:
        assert "Find out more" not in c.text and "GlobalData" not in c.text


def test_a_sentence_longer_than_the_budget_is_a_chunk_of_its_own():
    d = doc("000_d8de29d23dcd1c5d.txt")
    chunks = SentenceChunker(words, 10, 0).chunk_document(d, d.regions)
    assert all(len(c.sentences) == 1 for c in chunks)
    assert len(chunks) == len(d.sentences)
