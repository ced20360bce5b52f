import pytest

from index.formats import extract
from index.text import decode, normalise


def read_text(path, max_bytes, max_line_chars):
    return extract(path, max_bytes, max_line_chars).text
from qa.core.errors import IngestError


def test_normalise_removes_bom_unifies_line_ends_and_applies_nfkc():
    assert normalise("\ufeffa\r\nb\rc ﬁ\u00a0x") == "a\nb\nc fi x"


def test_utf8_is_read_as_is():
    assert decode("Größe".encode(), "a.txt") == ("Größe", "utf-8")


def test_other_encoding_is_detected(tmp_path):
    text = "Die Kundenbasis ist enorm groß, das Interesse an ausländischen Autos ungebrochen. " * 5
    path = tmp_path / "latin.txt"
    path.write_bytes(text.encode("cp1252"))
    assert read_text(path, 10_000, 100_000) == text
    assert decode(path.read_bytes(), "latin.txt")[1] != "utf-8"


def test_binary_file_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(IngestError, match="image.txt: looks like a binary file"):
        read_text(path, 10_000, 100_000)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.md"
    path.write_text("  \n\n ")
    with pytest.raises(IngestError, match="empty.md: the file is empty"):
        read_text(path, 10_000, 100_000)


def test_too_large_file_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 101)
    with pytest.raises(IngestError, match="big.txt: 101 bytes is larger than the limit of 100"):
        read_text(path, 100, 100_000)


def test_a_line_longer_than_the_limit_is_refused_naming_the_file_and_the_setting(tmp_path):
    path = tmp_path / "dump.txt"
    path.write_text("Headline\n\n" + "word " * 30_000 + "\n")
    with pytest.raises(IngestError, match=r"dump.txt: a line of 150,000 characters is not article text "
                       r"\(at most 100,000\) \(break it into paragraphs, or raise ingest.max_line_chars\)"):
        read_text(path, 1_000_000, 100_000)
    assert read_text(path, 1_000_000, 150_000).startswith("Headline")
