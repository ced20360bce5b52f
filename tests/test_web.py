"""The web chat's handlers, with fakes: streaming, clickable citations, follow-ups, uploads, sessions."""

from __future__ import annotations

import re
import threading
import time
from types import SimpleNamespace

import pytest

from index.text import normalise
from qa.web import ChatApp, build, new_session

from conftest import CORPUS, FakeLLM

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CUSTOMERS = "Wie viele registrierte Kunden hat DiDi?"


def run(app: ChatApp, question: str, session: dict, messages: list | None = None):
    steps = list(app.respond(question, messages or [], session))
    _, messages, session = steps[-1]
    return steps, messages, session


def test_an_answer_streams_then_shows_clickable_citations(assistant, fake_llm):
    fake_llm.enqueue("450 Millionen registrierte Kunden")
    steps, messages, session = run(ChatApp(assistant), CUSTOMERS, new_session(assistant.conversation()))
    drafts = [s[1][-1]["content"] for s in steps[1:-1]]
    assert len(drafts) >= 3 and all('class="qa-draft"' in d for d in drafts)
    assert "Millionen" in drafts[-1]
    assert messages[0] == {"role": "user", "content": CUSTOMERS}
    final = messages[-1]["content"]
    assert 'data-mode="composed"' in final and "450 Millionen registrierte Kunden" in final
    assert '<strong class="qa-short">450 Millionen registrierte Kunden</strong> <a href="#" class="qa-cite"' in final
    assert '<a href="#" class="qa-cite" data-key="1:1">[1]</a>' in final
    assert "Renault-Nissan wird Partner der DiDi Auto Alliance" in final  # the source list names the article
    assert re.search(r"total \d+\.\d\d s", final)
    assert session["answers"] == 1 and "1:1" in session["citations"]


def test_clicking_a_citation_shows_the_quote_highlighted_in_its_passage(assistant, fake_llm):
    app = ChatApp(assistant)
    fake_llm.enqueue("450 Millionen registrierte Kunden")
    _, _, session = run(app, CUSTOMERS, new_session(assistant.conversation()))
    panel = app.show_source(session, SimpleNamespace(key="1:1"))
    quote = session["citations"]["1:1"].quote
    assert f"<mark>{quote}</mark>" in panel
    assert "Renault-Nissan wird Partner der DiDi Auto Alliance" in panel and "German" in panel
    assert "characters 550–708" in panel
    assert "Bis Ende 2020 will die Auto Alliance" in panel  # the sentences around it
    assert "Click a citation" in app.show_source(session, SimpleNamespace(key="9:9"))


def test_refused_quoted_and_composed_answers_look_different(assistant, fake_llm):
    app = ChatApp(assistant)
    fake_llm.enqueue("450 Millionen registrierte Kunden")
    _, composed, session = run(app, CUSTOMERS, new_session(assistant.conversation()))
    _, refused, _ = run(app, "Wann wurde Tesla gegründet?", new_session(assistant.conversation()))
    fake_llm.enqueue("mittlerweile")  # no name where a person is asked for: the evidence is quoted instead
    _, quoted, _ = run(app, "Wer sind die Investoren bei DiDi?", new_session(assistant.conversation()))
    assert 'data-mode="composed"' in composed[-1]["content"]
    assert 'data-mode="refused"' in refused[-1]["content"] and "qa-cite" not in refused[-1]["content"]
    assert 'data-mode="quoted"' in quoted[-1]["content"] and "qa-cite" in quoted[-1]["content"]
    for reply, badge in ((composed, "Answer, checked against the sources"), (refused, "Not in the sources"),
                         (quoted, "Quoted from the sources")):
        assert f'<span class="qa-badge">{badge}</span>' in reply[-1]["content"]


def test_each_source_shows_its_outlet_and_date_and_the_badge_stays(news):
    app = ChatApp(news)
    _, reply, _ = run(app, "How many bikes will Nordalp Mobility operate?", new_session(news.conversation()))
    content = reply[-1]["content"]
    assert 'data-mode="refused"' not in content
    assert '<span class="qa-badge">' in content and re.search(r'qa-badge">(Answer|Quoted|Not)', content)
    outlets = re.findall(r'<span class="qa-outlet">— ([^<]+)</span>', content)
    assert outlets and all(re.search(r"\d{4}-\d{2}-\d{2}", o) for o in outlets), outlets


def test_a_follow_up_is_rewritten_and_the_rewrite_is_shown_folded(assistant, fake_llm):
    app = ChatApp(assistant)
    fake_llm.enqueue("450 Millionen registrierte Kunden", "400 Metropolen")
    _, messages, session = run(app, CUSTOMERS, new_session(assistant.conversation()))
    _, messages, session = run(app, "Und in wie vielen Metropolen?", session, messages)
    folded = [m for m in messages if m.get("metadata")]
    assert len(folded) == 1 and folded[0]["metadata"]["title"] == "Follow-up understood as"
    assert "DiDi" in folded[0]["content"] and "Metropolen" in folded[0]["content"]
    assert "DiDi" in fake_llm.history[-1].rsplit("Question:", 1)[1]
    assert '<a href="#" class="qa-cite" data-key="2:1">' in messages[-1]["content"]
    assert set(session["citations"]) == {"1:1", "2:1"}  # earlier answers' citations stay clickable


def test_a_plain_question_is_not_rewritten(assistant, fake_llm):
    _, messages, _ = run(ChatApp(assistant), CUSTOMERS, new_session(assistant.conversation()))
    assert not any(m.get("metadata") for m in messages)


def test_history_is_bounded(assistant, fake_llm):
    app = ChatApp(assistant)
    session, messages = new_session(assistant.conversation()), []
    for _ in range(assistant.settings.chat.history_turns + 3):
        _, messages, session = run(app, CUSTOMERS, session, messages)
    assert len(session["conversation"].turns) == assistant.settings.chat.history_turns
    assert session["answers"] == assistant.settings.chat.history_turns + 3


def test_an_empty_question_does_nothing(assistant, fake_llm):
    steps = list(ChatApp(assistant).respond("   ", [], new_session(assistant.conversation())))
    assert steps == [("", [], new_session(assistant.conversation()))] and fake_llm.history == []


def test_uploaded_articles_are_indexed_and_answered_from(assistant, fake_llm, tmp_path):
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "tesla.md").write_text("# Tesla news\n\nTesla opened a factory in Grünheide in 2022. "
                                     "The factory builds the Model Y for Europe.\n", encoding="utf-8")
    calls = []
    status, cleared = ChatApp(assistant).add_files([str(upload / "tesla.md")],
                                                   progress=lambda *a, **k: calls.append(a))
    assert "**Added:** tesla.md" in status and "1 new" in status and cleared is None
    assert calls  # progress was reported
    assert (assistant.settings.paths.corpus / "tesla.md").read_text(encoding="utf-8").startswith("# Tesla news")
    fake_llm.enqueue("Tesla opened a factory in Grünheide in 2022 [1].")
    answer = assistant.ask("When did Tesla open a factory in Grünheide?")
    assert not answer.refused and answer.citations[0].doc_id == "tesla.md"


@pytest.mark.parametrize("name, content, reason", [
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "looks like a binary file"),
    ("empty.md", b"  \n", "the file is empty"),
    ("latin.txt", bytes(range(0x80, 0x100)) * 4, "encoding could not be detected"),
    ("big.txt", b"A sentence about DiDi. " * 1000, "larger than the limit"),
    ("notes.pdf", b"%PDF-1.4 some text", "not a readable PDF"),
    ("slides.pptx", b"PK\x03\x04", "only .txt, .md, .html, .htm, .pdf files can be added"),
])
def test_a_bad_upload_is_refused_by_name_and_changes_nothing(assistant, tmp_path, name, content, reason):
    assistant = type(assistant)(assistant.settings.model_copy(update={
        "ingest": assistant.settings.ingest.model_copy(update={"max_file_bytes": 10_000})}),
        embedder=assistant.embedder, llm=assistant.llm)
    corpus = assistant.settings.paths.corpus
    before_files = sorted(p.name for p in corpus.iterdir())
    before_manifest = assistant.store.manifest_path.read_bytes()
    bad = tmp_path / name
    bad.write_bytes(content)
    good = tmp_path / "good.txt"
    good.write_text("DiDi opened an office in Berlin. It has ten employees there.\n", encoding="utf-8")
    status, _ = ChatApp(assistant).add_files([str(bad)], progress=lambda *a, **k: None)
    assert f"**Refused** {name}:" in status and reason in status
    assert str(tmp_path) not in status  # the server's temporary path is not shown
    assert sorted(p.name for p in corpus.iterdir()) == before_files
    assert assistant.store.manifest_path.read_bytes() == before_manifest
    status, _ = ChatApp(assistant).add_files([str(bad), str(good)], progress=lambda *a, **k: None)
    assert "**Added:** good.txt" in status and f"**Refused** {name}" in status
    assert name not in {p.name for p in corpus.iterdir()}


def test_too_many_files_at_once_are_refused(assistant, tmp_path):
    app = ChatApp(assistant)
    files = []
    for i in range(assistant.settings.chat.max_upload_files + 1):
        files.append(tmp_path / f"f{i}.txt")
        files[-1].write_text("DiDi is a company.\n", encoding="utf-8")
    status, _ = app.add_files([str(f) for f in files], progress=lambda *a, **k: None)
    assert "Nothing added" in status and not (assistant.settings.paths.corpus / "f0.txt").exists()


class EchoLLM(FakeLLM):
    """Answers with the question's number, slowly, token by token: interleaved answers would mix numbers."""

    name = "echo"

    def __init__(self):
        super().__init__()
        self.active = 0
        self.overlap = False

    def _tokens_of(self, prompt, choose, max_tokens):
        self.active += 1
        self.overlap |= self.active > 1
        try:
            asked = prompt.rsplit("Question:", 1)[1]
            self.enqueue("450 Millionen" if "Kunden" in asked else "400 Metropolen")
            for token in super()._tokens_of(prompt, choose, max_tokens):
                time.sleep(0.01)
                yield token
        finally:
            self.active -= 1


def test_two_sessions_asking_at_once_get_their_own_answers(settings, embedder):
    from qa.assistant import Assistant

    llm = EchoLLM()
    assistant = Assistant(settings, embedder=embedder, llm=llm)
    assistant.index()
    app = ChatApp(assistant)
    results = {}

    def ask(name, question):
        drafts, session = [], new_session(assistant.conversation())
        for _, messages, session in app.respond(question, [], session):
            drafts.append(messages[-1]["content"])
        results[name] = (drafts, messages, session)

    threads = [threading.Thread(target=ask, args=("a", CUSTOMERS)),
               threading.Thread(target=ask, args=("b", "In wie vielen Metropolen ist DiDi aktiv?"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not llm.overlap
    drafts_a, messages_a, session_a = results["a"]
    drafts_b, messages_b, session_b = results["b"]
    drafts_a = [d for d in drafts_a if 'class="qa-draft"' in d]
    drafts_b = [d for d in drafts_b if 'class="qa-draft"' in d]
    assert drafts_a and all("Metropolen" not in d for d in drafts_a) and "450" in messages_a[-1]["content"]
    assert drafts_b and all("Millionen" not in d for d in drafts_b) and "400" in messages_b[-1]["content"]
    assert session_a["conversation"].turns[0].question == CUSTOMERS and len(session_a["conversation"].turns) == 1
    assert session_b["conversation"].turns[0].question.startswith("In wie vielen Metropolen")


def test_the_api_answers_as_json_with_history(assistant, fake_llm):
    fake_llm.enqueue("450 Millionen registrierte Kunden", "400 Metropolen")
    app = ChatApp(assistant)
    first = app.ask_api(CUSTOMERS)
    assert "450 Millionen" in first["answer"] and first["citations"][0]["file"] == "002_2f609247c276f3f8.txt"
    second = app.ask_api("Und in wie vielen Metropolen?", [{"question": CUSTOMERS, "answer": first["answer"]}])
    assert "DiDi" in second["rewritten"]
    text = normalise((CORPUS / second["citations"][0]["file"]).read_text(encoding="utf-8"))
    c = second["citations"][0]
    assert text[c["char_start"] : c["char_end"]] == c["quote"]


def test_the_app_builds_with_one_public_api_endpoint(assistant):
    app = build(assistant)
    public = [d for d in app.config["dependencies"] if d.get("api_visibility", "public") == "public"]
    assert [d["api_name"] for d in public] == ["ask"]


def test_a_busy_port_is_a_clear_error_before_models_load(assistant):
    import socket

    from qa.core.errors import ServeError
    from qa.web import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=f"cannot serve on 127.0.0.1:{port}: Address already in use"):
            serve(assistant, port=port)


def test_the_server_binds_to_loopback_by_default(settings):
    assert settings.chat.host == "127.0.0.1" and settings.chat.port == 7860


def test_the_server_serves_no_file_whatever_the_request(assistant, monkeypatch, tmp_path):
    """The corpus is a boundary, and so is the data folder: no article, log, index file or system file by URL."""
    import socket
    import urllib.error
    import urllib.request

    from qa.web import serve

    monkeypatch.chdir(tmp_path)
    data = assistant.settings.paths.data
    (data / "qa.log").write_text("a log line\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = serve(assistant, port=port)
    try:
        article = assistant.settings.paths.corpus / "000_d8de29d23dcd1c5d.txt"
        targets = ["/etc/passwd", "../../../../etc/passwd", str(data / "qa.log"), str(data / "index" / "manifest.json"),
                   str(article), f"{article.parent.name}/{article.name}", "qa.log"]
        codes = set()
        for target in targets:
            for route in ("/gradio_api/file=", "/gradio_api/file/", "/file=", "/"):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{route}{target}", timeout=10) as r:
                        body = r.read()
                        codes.add(r.status)
                        assert b"root:" not in body and b"a log line" not in body and b"schema_version" not in body
                        assert article.read_bytes()[:60] not in body
                except urllib.error.HTTPError as exc:
                    codes.add(exc.code)
        assert codes <= {403, 404, 200}  # 200 only for the page itself, whose body was checked above
    finally:
        app.close()
