"""Careless and hostile input, as a table: every bad file, question, setting and damaged index file gets one
clear line (the exact message is asserted) and leaves the index as it was.

Files go through `Assistant.index` (the indexer reports each refused file and keeps going), questions through
`Assistant.ask`, settings through `load_settings`, damaged index files through loading the index.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import KeywordEmbedder

from qa.assistant import Assistant
from qa.core.errors import QAError
from qa.core.settings import load_settings


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], object]  # writes the bad input into the corpus (files) or returns it (questions)
    message: str  # the exact line, with {corpus} for the corpus folder


def write(name: str, data: bytes | str) -> Callable[[Path], object]:
    def make(corpus: Path) -> None:
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")

    return make


FIX = "(fix or remove the file, then run `qa index` again)"
FILES = [
    Case("binary", write("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
         f"{{corpus}}/image.txt: looks like a binary file, not text {FIX}"),
    Case("nul inside", write("nul.txt", b"Text\x00with a NUL byte."),
         f"{{corpus}}/nul.txt: looks like a binary file, not text {FIX}"),
    Case("empty", write("empty.txt", b""), f"{{corpus}}/empty.txt: the file is empty {FIX}"),
    Case("white space only", write("blank.md", " \n\n\t \n"), f"{{corpus}}/blank.md: the file is empty {FIX}"),
    Case("utf-16", write("utf16.txt", "Wer leitet DiDi?".encode("utf-16")),
         f"{{corpus}}/utf16.txt: looks like a binary file, not text {FIX}"),
    Case("undecodable", write("mojibake.txt", bytes(range(128, 256)) * 40),
         f"{{corpus}}/mojibake.txt: not UTF-8, and its encoding could not be detected; save it as UTF-8 {FIX}"),
    Case("too large", write("huge.txt", b"word " * 1_000_001),
         f"{{corpus}}/huge.txt: 5000005 bytes is larger than the limit of 5000000 {FIX}"),
    Case("one endless line", write("line.txt", "lorem ipsum " * 10_000),
         "{corpus}/line.txt: a line of 120,000 characters is not article text (at most 100,000) "
         "(break it into paragraphs, or raise ingest.max_line_chars)"),
    Case("only page furniture", write("ads.txt", "Read more\n\nSubscribe now\n\nAdvertisement\n"),
         f"{{corpus}}/ads.txt: nothing is left once page furniture is removed {FIX}"),
    Case("in a subfolder", write("sub/dir/image.md", b"\x00\x01"),
         f"{{corpus}}/sub/dir/image.md: looks like a binary file, not text {FIX}"),
    Case("name with spaces and umlauts", write("Bericht über Ä.txt", b"\x00"),
         f"{{corpus}}/Bericht über Ä.txt: looks like a binary file, not text {FIX}"),
]

CATALOG_FIX = "(fix or remove the file, then run `qa index` again)"
CATALOG_FIELDS = "title, language, outlet, author, date and url"
CATALOG = [
    Case("catalog not TOML", write("catalog.toml", "[broken"),
         "{corpus}/catalog.toml: not valid TOML (Expected ']' at the end of a table declaration (at end of document)) "
         + CATALOG_FIX),
    Case("catalog unknown field", write("catalog.toml", '["a.txt"]\nrating = 5\n'),
         "{corpus}/catalog.toml: entry ['a.txt'] may only hold " + CATALOG_FIELDS + " " + CATALOG_FIX),
    Case("catalog entry not a table", write("catalog.toml", 'title = "x"\n'),
         "{corpus}/catalog.toml: entry ['title'] may only hold " + CATALOG_FIELDS + " " + CATALOG_FIX),
    Case("catalog date not a date", write("catalog.toml", '["a.txt"]\ndate = "soon"\n'),
         "{corpus}/catalog.toml: entry ['a.txt']: date 'soon' is not a date (write it as YYYY-MM-DD) " + CATALOG_FIX),
    Case("catalog not UTF-8", write("catalog.toml", b"\xff\xfe\x00["),
         "{corpus}/catalog.toml: not valid TOML ('utf-8' codec can't decode byte 0xff in position 0: invalid start "
         "byte) " + CATALOG_FIX),
]

ASK = 'ask something, e.g. "Who leads DiDi?"'
LONG = "ask one short question; the answer is looked up in the articles, not in the question"
QUESTIONS = [
    Case("empty question", lambda _: "", f"the question is empty ({ASK})"),
    Case("blank question", lambda _: " \n\t ", f"the question is empty ({ASK})"),
    Case("100,000 characters", lambda _: "Wie viele Kunden? " * 5_556,
         f"the question has 100,008 characters; at most 1,000 are read ({LONG})"),
    Case("1,001 characters", lambda _: "x" * 1_001, f"the question has 1,001 characters; at most 1,000 are read ({LONG})"),
    Case("a pasted article", lambda corpus: (corpus / "000_d8de29d23dcd1c5d.txt").read_text(encoding="utf-8"),
         f"the question has 2,130 characters; at most 1,000 are read ({LONG})"),
]

CHECK = "(check qa.toml and the QA_* environment variables)"
SETTINGS = [
    Case("qa.toml not TOML", lambda d: (d / "qa.toml").write_text("llm = [broken\n"),
         f"qa.toml is not valid TOML: Invalid value (at line 1, column 8) {CHECK}"),
    Case("qa.toml binary", lambda d: (d / "qa.toml").write_bytes(b"\x00\x01\xff"), f"qa.toml is not UTF-8 text {CHECK}"),
    Case("unknown section", lambda d: (d / "qa.toml").write_text("[nonsense]\nx = 1\n"),
         f"bad setting nonsense: Extra inputs are not permitted {CHECK}"),
    Case("unknown key", lambda d: (d / "qa.toml").write_text("[llm]\nmax_tokenz = 3\n"),
         f"bad setting llm.max_tokenz: Extra inputs are not permitted {CHECK}"),
    Case("wrong type", lambda d: (d / "qa.toml").write_text('[chat]\nport = "high"\n'),
         f"bad setting chat.port: Input should be a valid integer, unable to parse string as an integer {CHECK}"),
    Case("out of range", lambda d: (d / "qa.toml").write_text("[chat]\nport = 70000\n"),
         f"bad setting chat.port: Input should be less than or equal to 65535 {CHECK}"),
    Case("negative limit", lambda d: (d / "qa.toml").write_text("[ingest]\nmax_line_chars = -1\n"),
         f"bad setting ingest.max_line_chars: Input should be greater than 0 {CHECK}"),
    Case("bad environment value", lambda d: {"QA_RETRIEVAL__RRF_K": "zero"},
         f"bad setting retrieval.rrf_k: Input should be a valid integer, unable to parse string as an integer {CHECK}"),
    Case("bad environment boolean", lambda d: {"QA_INGEST__FOLLOW_SYMLINKS": "perhaps"},
         f"bad setting ingest.follow_symlinks: Input should be a valid boolean, unable to interpret input {CHECK}"),
    Case("prompts folder missing", lambda d: {"QA_PATHS__PROMPTS": str(d / "nowhere")},
         "paths.prompts: {dir}/nowhere holds no prompts (no extract.txt) "
         "(point paths.prompts at the project's prompts/ folder)"),
]

REBUILD = "(run `qa index --rebuild`)"
INDEX_FILES = [
    Case("manifest not JSON", lambda i: (i / "manifest.json").write_text("{"),
         "{index}/manifest.json cannot be read: Expecting property name enclosed in double quotes: line 1 column 2 "
         f"(char 1) {REBUILD}"),
    Case("manifest a list", lambda i: (i / "manifest.json").write_text("[]"),
         "{index}/manifest.json has schema version None, this program reads version 1 "
         "(run `qa index --rebuild` to rebuild the index with the configured models)"),
    Case("manifest missing keys", lambda i: (i / "manifest.json").write_text('{"schema_version": 1}'),
         "{index}/manifest.json is damaged: the manifest lacks or misshapes 'documents' " + REBUILD),
    Case("manifest from the future", lambda i: _edit_manifest(i, schema_version=99),
         "{index}/manifest.json has schema version 99, this program reads version 1 "
         "(run `qa index --rebuild` to rebuild the index with the configured models)"),
    Case("another embedder", lambda i: _edit_manifest(i, embedder={"name": "other", "dim": 8, "fingerprint": "x"}),
         "the index was built with embedder other (8 dimensions, fingerprint x), but keyword-fake (256 dimensions, "
         "fingerprint fake) is configured (run `qa index --rebuild` to rebuild the index with the configured models)"),
    Case("vectors garbage", lambda i: _damage(i, "chunk_vectors", b"garbage"),
         "the index at {index} is incomplete or damaged: {detail} " + REBUILD),
    Case("vectors missing", lambda i: _damage(i, "sentence_vectors", None),
         "the index at {index} is incomplete or damaged: {detail} " + REBUILD),
    Case("documents truncated", lambda i: _damage(i, "documents", b'{"doc_id": "x'),
         "the index at {index} is incomplete or damaged: {detail} " + REBUILD),
    Case("chunks empty", lambda i: _damage(i, "chunks", b""),
         "the index at {index} has mismatched file sizes " + REBUILD),
    Case("faiss file garbage", lambda i: _damage(i, "dense", b"\x00" * 64),
         "the index at {index} is incomplete or damaged: {detail} " + REBUILD),
]


def _edit_manifest(index: Path, **fields) -> None:
    path = index / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))


def _damage(index: Path, kind: str, data: bytes | None) -> None:
    name = json.loads((index / "manifest.json").read_text())["files"][kind]
    if data is None:
        (index / name).unlink()
    else:
        (index / name).write_bytes(data)


def snapshot(index: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(index.iterdir()) if p.name != ".lock"}


@pytest.fixture
def indexed(settings, embedder, fake_llm) -> Assistant:
    a = Assistant(settings, embedder=embedder, llm=fake_llm)
    a.index()
    return a


@pytest.mark.parametrize("case", FILES + CATALOG, ids=lambda c: c.name)
def test_a_bad_file_gets_one_line_and_the_index_is_untouched(indexed, settings, case):
    corpus = settings.paths.corpus
    before = snapshot(settings.paths.index_dir)
    case.make(corpus)
    expected = case.message.format(corpus=corpus)
    try:
        report = indexed.index()
    except QAError as exc:  # the catalog is read before any file: the whole run stops
        assert str(exc) == expected
    else:
        assert [m for _, m in report.failed] == [expected]
        assert not report.written
    assert snapshot(settings.paths.index_dir) == before
    assert len(indexed.documents()) == 3


def test_a_link_out_of_the_corpus_is_skipped_with_a_warning(indexed, settings, tmp_path, caplog):
    secret = tmp_path / "secret.txt"
    secret.write_text("The password is swordfish. It opens the vault.", encoding="utf-8")
    (settings.paths.corpus / "passwd.txt").symlink_to(secret)
    before = snapshot(settings.paths.index_dir)
    with caplog.at_level("WARNING", logger="index.ingest"):
        report = indexed.index()
    assert report.failed == [] and not report.written and snapshot(settings.paths.index_dir) == before
    assert f"passwd.txt: skipped, a link to {secret} outside the corpus (set ingest.follow_symlinks to read it)" \
        in caplog.messages
    assert all("swordfish" not in d.text for d in indexed.documents().values())
    inside = settings.paths.corpus / "inside.txt"
    inside.symlink_to(settings.paths.corpus / "000_d8de29d23dcd1c5d.txt")  # a link within the corpus is read
    assert indexed.index().added == ["inside.txt"]


@pytest.mark.parametrize("case", QUESTIONS, ids=lambda c: c.name)
def test_a_bad_question_gets_one_line_and_no_model_sees_it(indexed, settings, fake_llm, case):
    before = snapshot(settings.paths.index_dir)
    question = case.make(settings.paths.corpus)
    with pytest.raises(QAError) as raised:
        indexed.ask(str(question))
    assert str(raised.value) == case.message
    assert fake_llm.history == [] and snapshot(settings.paths.index_dir) == before


@pytest.mark.parametrize("case", SETTINGS, ids=lambda c: c.name)
def test_a_bad_setting_gets_one_line(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("QA_")]:
        monkeypatch.delenv(key)
    made = case.make(tmp_path)  # writes qa.toml, or gives environment variables
    for key, value in (made if isinstance(made, dict) else {}).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(QAError) as raised:
        load_settings()
    assert str(raised.value) == case.message.format(dir=tmp_path)


@pytest.mark.parametrize("case", INDEX_FILES, ids=lambda c: c.name)
def test_a_damaged_index_file_gets_one_line_that_says_to_rebuild(indexed, settings, embedder, fake_llm, case):
    index = settings.paths.index_dir
    case.make(index)
    fresh = Assistant(settings, embedder=embedder, llm=fake_llm)
    with pytest.raises(QAError) as raised:
        fresh.ask("Wie viele Kunden hat DiDi?")
    message = str(raised.value)
    expected = case.message.format(index=index, detail="DETAIL")
    if "{detail}" in case.message:
        head, tail = expected.split("DETAIL")
        assert message.startswith(head) and message.endswith(tail) and "Traceback" not in message
    else:
        assert message == expected
    assert fake_llm.history == []
    assert len(fresh.index(rebuild=True).added) == 3  # and the hint works
    assert fresh.ask("Wie viele Kunden hat DiDi?").question


def test_the_table_is_as_long_as_promised():
    assert len(FILES + CATALOG + QUESTIONS + SETTINGS + INDEX_FILES) + 1 >= 40


class SlowEmbedder(KeywordEmbedder):
    """Each call to embed documents takes one second of a fake clock."""

    def __init__(self, now: list[float]):
        super().__init__()
        self.now = now

    def encode_documents(self, texts):
        self.now[0] += 1.0
        return super().encode_documents(texts)


def _paragraphs(n: int) -> str:
    return "\n\n".join(f"Paragraph {i} says that the fleet grew by {i} cars in the year." for i in range(n))


def test_a_file_over_its_time_budget_is_reported_and_the_others_are_indexed(settings, fake_llm, monkeypatch):
    now = [0.0]
    monkeypatch.setattr("index.budget.clock", lambda: now[0])
    settings = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"max_seconds_per_file": 2.5})}
    )
    a = Assistant(settings, embedder=SlowEmbedder(now), llm=fake_llm)
    corpus = settings.paths.corpus
    (corpus / "long.txt").write_text(_paragraphs(10), encoding="utf-8")
    assert len(a.index().added) == 4  # two calls (passages, sentences): 2 s each
    (corpus / "long.txt").write_text(_paragraphs(600), encoding="utf-8")  # 600 sentences: 3 calls and more
    (corpus / "new.txt").write_text(_paragraphs(3), encoding="utf-8")
    report = a.index()
    assert report.failed == [
        ("long.txt", f"{corpus}/long.txt: not indexed, it needed more than 2.5 s, the time budget for one file "
                     "(split it into smaller files, or raise ingest.max_seconds_per_file)")
    ]
    assert report.added == ["new.txt"] and report.written
    assert "Paragraph 9 says" in a.documents()["long.txt"].text  # the earlier version stays
    assert "Paragraph 599" not in a.documents()["long.txt"].text


def test_the_budget_stops_segmenting_a_long_file(settings, embedder, fake_llm, monkeypatch):
    import index.sentences

    now, windows = [0.0], []
    split_line = index.sentences._split_line

    def slow_split(line, language, offset):  # each window of a line costs 0.1 s
        now[0] += 0.1
        windows.append(line)
        return split_line(line, language, offset)

    monkeypatch.setattr("index.budget.clock", lambda: now[0])
    monkeypatch.setattr(index.sentences, "_split_line", slow_split)
    settings = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"max_seconds_per_file": 5.0})}
    )
    (settings.paths.corpus / "lines.txt").write_text(("word " * 1_500 + "\n") * 100, encoding="utf-8")  # 2 windows a line
    a = Assistant(settings, embedder=embedder, llm=fake_llm)
    report = a.index()
    assert [name for name, _ in report.failed] == ["lines.txt"]
    assert "not indexed, it needed more than 5 s, the time budget for one file" in report.failed[0][1]
    assert sum(w.startswith("word") for w in windows) == 51  # the 51st passed the budget; 149 were never segmented
    assert len(a.documents()) == 3


def test_a_file_that_cannot_be_read_is_named_and_its_earlier_version_stays(indexed, settings, monkeypatch):
    import errno

    corpus = settings.paths.corpus
    target = corpus / "000_d8de29d23dcd1c5d.txt"
    before = indexed.documents()[target.name].text
    target.write_text(before + "\nA new closing line.\n", encoding="utf-8")
    read_bytes = Path.read_bytes

    def locked(self):
        if self.name == target.name:
            raise PermissionError(errno.EACCES, "Permission denied")
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", locked)
    report = indexed.index()
    assert report.failed == [(target.name, f"{target}: cannot read (Permission denied) {FIX}")]
    assert indexed.documents()[target.name].text == before
