"""The web app's error boundary, walked with a table: every bad question, upload, API call and failure inside
the assistant becomes one line in the page (or in the API's error), and the index is left as it was."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pytest

from qa.core.records import Citation
from qa.web import ChatApp, new_session

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NO_PROGRESS = lambda *a, **k: None  # noqa: E731
LONG = "ask one short question; the answer is looked up in the articles, not in the question"
API = "(see the API's description at /?view=api)"


def snapshot(settings) -> dict[str, bytes]:
    index = settings.paths.index_dir
    corpus = settings.paths.corpus
    files = {f"index/{p.name}": p.read_bytes() for p in index.iterdir() if p.name != ".lock"}
    files.update({f"corpus/{p.name}": p.read_bytes() for p in corpus.iterdir()})
    return files


@dataclass(frozen=True)
class Call:
    name: str
    run: Callable[[ChatApp, Path, pytest.MonkeyPatch], str]  # returns what the page or the API shows
    shown: str  # the exact line, with {data} for the data folder


def ask_page(question: str, setup: Callable | None = None):
    def run(app: ChatApp, tmp: Path, mp: pytest.MonkeyPatch) -> str:
        if setup:
            setup(app, tmp, mp)
        steps = list(app.respond(question, [], new_session(app.assistant.conversation())))
        return steps[-1][1][-1]["content"]

    return run


def ask_api(question: object, history: object = None):
    def run(app: ChatApp, tmp: Path, mp: pytest.MonkeyPatch) -> str:
        with pytest.raises(gr.Error) as raised:
            app.ask_api(question, history)  # type: ignore[arg-type]
        return raised.value.message

    return run


def upload(name: str, data: bytes, setup: Callable | None = None):
    def run(app: ChatApp, tmp: Path, mp: pytest.MonkeyPatch) -> str:
        if setup:
            setup(app, tmp, mp)
        path = tmp / "upload" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        status, _ = app.add_files([str(path)], progress=NO_PROGRESS)
        return status

    return run


def boom(app: ChatApp, tmp: Path, mp: pytest.MonkeyPatch) -> None:
    def fail(*a, **k):
        raise RuntimeError("boom")

    mp.setattr(app.assistant, "ask_stream", fail)
    mp.setattr(app.assistant, "ask", fail)
    mp.setattr(app.assistant, "add_documents", fail)


def damaged_index(app: ChatApp, tmp: Path, mp: pytest.MonkeyPatch) -> None:
    (app.settings.paths.index_dir / "manifest.json").write_text("{")
    app.assistant._index = app.assistant._retriever = app.assistant._pipeline = None


def disk_full(app: ChatApp, tmp: Path, mp: pytest.MonkeyPatch) -> None:
    def copy(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    mp.setattr(shutil, "copyfile", copy)


def error(text: str) -> str:
    return f'<div class="qa-refused"><span class="qa-badge">error</span> {text}</div>'


BUG = "(this is a bug; the details are in {data}/qa.log)"
GOOD = b"DiDi opened an office in Berlin. It has ten employees there.\n"
CALLS = [
    Call("page: 1,001 characters", ask_page("x" * 1_001),
         error(f"the question has 1,001 characters; at most 1,000 are read ({LONG})")),
    Call("page: damaged index", ask_page("Wie viele Kunden hat DiDi?", damaged_index),
         error("{data}/index/manifest.json cannot be read: Expecting property name enclosed in double quotes: "
               "line 1 column 2 (char 1) (run `qa index --rebuild`)")),
    Call("page: a bug inside", ask_page("Wie viele Kunden hat DiDi?", boom), error("unexpected RuntimeError: boom " + BUG)),
    Call("api: question not text", ask_api(5), f"question: expected text, got int {API}"),
    Call("api: question missing", ask_api(None), f"question: expected text, got NoneType {API}"),
    Call("api: empty question", ask_api(" "), 'the question is empty (ask something, e.g. "Who leads DiDi?")'),
    Call("api: question too long", ask_api("y" * 5_000),
         f"the question has 5,000 characters; at most 1,000 are read ({LONG})"),
    Call("api: history not a list", ask_api("Wer?", "earlier"),
         f"history: expected a list of {{{{question, answer}}}} objects, got str {API}"),
    Call("api: history of strings", ask_api("Wer?", ["Wer leitet DiDi?"]),
         f"history[0]: expected a {{{{question, answer}}}} object, got str {API}"),
    Call("api: history with an unknown field", ask_api("Wer?", [{"question": "a", "role": "user"}]),
         f"history[0]: unknown field 'role' (only question and answer) {API}"),
    Call("api: history answer not text", ask_api("Wer?", [{"question": "a", "answer": ["b"]}]),
         f"history[0].answer: expected text, got list {API}"),
    Call("api: a bug inside", lambda app, tmp, mp: (boom(app, tmp, mp), ask_api("Wer?")(app, tmp, mp))[1],
         "unexpected RuntimeError: boom " + BUG),
    Call("upload: binary", upload("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00"),
         "**Refused** image.txt: image.txt: looks like a binary file, not text"),
    Call("upload: hidden name", upload(".hidden.txt", GOOD),
         "**Refused** .hidden.txt: .hidden.txt: a hidden file (its name starts with a dot) is never read"),
    Call("upload: not an article file", upload("notes.docx", b"PK\x03\x04"),
         "**Refused** notes.docx: notes.docx: only .txt, .md, .html, .htm, .pdf files can be added"),
    Call("upload: broken PDF", upload("notes.pdf", b"%PDF-1.4"),
         "**Refused** notes.pdf: notes.pdf: not a readable PDF (Stream has ended unexpectedly)"),
    Call("upload: a page without an article", upload("login.html", b"<html><body><form><input name=u></form></body></html>"),
         "**Refused** login.html: login.html: no article text found in the page"),
    Call("upload: disk full", upload("good.txt", GOOD, disk_full),
         "**Refused** good.txt: good.txt: cannot be saved into the corpus (No space left on device)"),
    Call("upload: a bug inside", upload("good.txt", GOOD, boom), "**Nothing added:** unexpected RuntimeError: boom " + BUG),
]


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
def test_every_failure_is_one_line_in_the_page_and_the_index_is_untouched(
    assistant, tmp_path, monkeypatch, caplog, call
):
    app = ChatApp(assistant)
    before = snapshot(assistant.settings)
    shown = call.run(app, tmp_path, monkeypatch)
    assert shown == call.shown.format(data=assistant.settings.paths.data)
    after = snapshot(assistant.settings)
    if call.name == "page: damaged index":
        after.pop("index/manifest.json"), before.pop("index/manifest.json")
    assert after == before
    logged = [r for r in caplog.records if r.name == "qa.web" and r.levelname == "ERROR"]
    if "bug" in call.name:  # the traceback goes to the log
        assert len(logged) == 1 and logged[0].exc_info and str(logged[0].exc_info[1]) == "boom"
    else:
        assert logged == []


def test_a_citation_to_an_article_removed_since_is_one_line(assistant, fake_llm):
    app = ChatApp(assistant)
    session = new_session(assistant.conversation())
    session["citations"] = {"1:1": Citation(1, "gone.txt", "gone.txt#0", 0, 4, "gone", "Gone", "gone.txt", "en")}
    shown = app.show_source(session, type("Click", (), {"key": "1:1"})())
    assert shown == error("gone.txt is no longer in the index (ask again to cite what the index holds now)")


def test_an_upload_over_its_time_budget_is_named(assistant, tmp_path, monkeypatch):
    now = [0.0]
    monkeypatch.setattr("index.budget.clock", lambda: now[0])
    settings = assistant.settings
    assistant.settings = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"max_seconds_per_file": 0.5})})
    original = assistant.embedder.encode_documents
    monkeypatch.setattr(assistant.embedder, "encode_documents", lambda t: (now.__setitem__(0, now[0] + 1), original(t))[1])
    path = tmp_path / "slow.txt"
    path.write_bytes(GOOD)
    status, _ = ChatApp(assistant).add_files([str(path)], progress=NO_PROGRESS)
    assert status.endswith(
        f"**Not indexed** slow.txt: {settings.paths.corpus}/slow.txt: not indexed, it needed more than 0.5 s, the time "
        "budget for one file (split it into smaller files, or raise ingest.max_seconds_per_file)")
    assert "slow.txt" not in assistant.documents()
