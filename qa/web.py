"""`qa serve`: the chat in the browser, over the same `Assistant` as the CLI and the eval harness.

Each browser tab has its own conversation (a `gr.State`); all tabs share one assistant, whose lock makes
them queue for the model. Gradio's queue (one concurrency group for answering and indexing) shows a
waiting tab its place instead of blocking a worker.
"""

from __future__ import annotations

import html
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from qa import openai_api
from qa.assistant import Assistant, Token
from qa.core import protocol
from qa.core.errors import QAError, ServeError, at_boundary
from qa.core.languages import LANGUAGE_NAMES
from qa.core.records import Answer, Conversation, Scope
from qa.core.requests import api_history, api_list, api_question, api_text
from qa.present import Passage, also_label, answer_json, source_label

log = logging.getLogger(__name__)

GROUP = "assistant"
MODES = {
    "composed": ("qa-composed", "Answer, checked against the sources"),
    "quoted": ("qa-quoted", "Quoted from the sources"),
    "refused": ("qa-refused", "Not in the sources"),
}
EMPTY_PANEL = (
    '<div class="qa-source qa-empty">Click a citation such as <b>[1]</b> in an answer to see '
    "the passage it quotes.</div>"
)

CSS = """
.qa-badge { display:inline-block; font-size:0.75em; padding:1px 7px; border-radius:9px; margin-bottom:4px; }
.qa-composed .qa-badge { background:#e3f2e1; color:#1d5e20; }
.qa-quoted .qa-badge { background:#e4ecf7; color:#1b3f73; }
.qa-quoted .qa-text { font-style:italic; }
.qa-refused .qa-badge { background:#f1f1f1; color:#555; }
.qa-refused .qa-text { color:#666; }
.qa-draft { opacity:0.55; }
.qa-cite { font-weight:600; color:#1b3f73; cursor:pointer; }
.qa-sources { font-size:0.85em; margin:6px 0 0; padding-left:1.1em; }
.qa-lang { color:#888; }
.qa-outlet { color:#555; }
.qa-also { font-size:0.9em; color:#777; }
.qa-cite.qa-selected { background:#ffe58a; }
a.qa-cite { text-decoration:none; }
.qa-timings { font-size:0.72em; color:#888; margin-top:4px; }
.qa-source { font-size:0.95em; line-height:1.5; }
.qa-source-title { font-weight:600; font-size:1.05em; }
.qa-source-meta { font-size:0.8em; color:#777; margin:2px 0 8px; }
.qa-source mark { background:#ffe58a; padding:0 1px; }
.qa-empty { color:#777; }
"""

# The source panel listens for clicks on citations anywhere in the page (they live inside the chat's
# messages) and hands the citation's key to the server as the panel's own click event.
CITATION_CLICKS = """
window.__qaCite = trigger;
if (!window.__qaCiteListening) {
  window.__qaCiteListening = true;
  document.addEventListener('click', (ev) => {
    const cite = ev.target.closest && ev.target.closest('.qa-cite[data-key]');
    if (!cite) return;
    ev.preventDefault();
    document.querySelectorAll('.qa-cite.qa-selected').forEach(e => e.classList.remove('qa-selected'));
    cite.classList.add('qa-selected');
    window.__qaCite('click', {key: cite.dataset.key});
  });
}
"""


def new_session(conversation: Conversation) -> dict:
    return {"conversation": conversation, "citations": {}, "answers": 0}


class ChatApp:
    """The event handlers, separate from the layout so that tests can call them without a browser."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.settings = assistant.settings

    def error(self, exc: Exception) -> QAError:
        return at_boundary(exc, Path(self.settings.paths.data), log)

    # -- answering -----------------------------------------------------------------------
    def respond(
        self,
        message: str,
        messages: list[dict],
        session: dict,
        since: str = "",
        until: str = "",
        outlets: list[str] | None = None,
        languages: list[str] | None = None,
    ) -> Iterator[tuple[str, list, dict]]:
        question = " ".join((message or "").split())
        if not question:
            yield "", messages, session
            return
        messages = [*messages, {"role": "user", "content": question}]
        pending = {"role": "assistant", "content": '<span class="qa-draft">…</span>'}
        yield "", [*messages, pending], session
        draft, answer = "", None
        try:
            scope = Scope.of(since or "", until or "", outlets or (), languages or ())
            for event in self.assistant.ask_stream(question, session["conversation"], scope):
                if isinstance(event, Token):
                    draft += event.text
                    pending = {"role": "assistant", "content": f'<span class="qa-draft">{html.escape(draft)}</span>'}
                    yield "", [*messages, pending], session
                else:
                    answer = event
        except Exception as exc:
            yield "", [*messages, {"role": "assistant", "content": error_html(self.error(exc))}], session
            return
        assert answer is not None
        session = dict(session)
        session["answers"] += 1
        number = session["answers"]
        session["citations"] = {**session["citations"], **{f"{number}:{c.n}": c for c in answer.citations}}
        session["conversation"] = session["conversation"].then(question, answer.text)
        if answer.rewritten and answer.rewritten != answer.question:
            messages.append(
                {
                    "role": "assistant",
                    "content": html.escape(answer.rewritten),
                    "metadata": {"title": "Follow-up understood as", "status": "done"},
                }
            )
        reply = {"role": "assistant", "content": answer_html(answer, number)}
        yield "", [*messages, reply], session

    def show_source(self, session: dict, evt: gr.EventData) -> str:
        key = str(getattr(evt, "key", "") or "")
        citation = session["citations"].get(key)
        if citation is None:
            return EMPTY_PANEL
        try:
            passage = self.assistant.passage(citation)
            return passage_html(passage, citation.n, key.split(":")[0], also_label(citation))
        except Exception as exc:
            return error_html(self.error(exc))

    def new_conversation(self) -> tuple[list, dict, str]:
        return [], new_session(self.assistant.conversation()), EMPTY_PANEL

    # -- documents -------------------------------------------------------------------------
    def add_files(self, files: list[str] | None, progress=gr.Progress()) -> tuple[str, None]:
        paths = [Path(f) for f in files or []]
        if not paths:
            return "", None
        limit = self.settings.chat.max_upload_files
        if len(paths) > limit:
            return f"**Nothing added:** at most {limit} files at a time.", None

        def report_progress(done: int, total: int, name: str) -> None:
            progress((done, max(total, 1)), desc=f"indexing {name}".strip())

        try:
            report = self.assistant.add_documents(paths, progress=report_progress)
        except Exception as exc:
            return f"**Nothing added:** {html.escape(str(self.error(exc)))}", None
        lines = []
        if report.saved:
            idx = report.index
            lines.append(
                f"**Added:** {', '.join(report.saved)}"
                + (f" ({len(idx.added)} new, {len(idx.updated)} updated; {idx.chunks} passages indexed)" if idx else "")
            )
        for name, reason in report.refused:
            lines.append(f"**Refused** {html.escape(name)}: {html.escape(reason)}")
        for name, reason in report.index.failed if report.index else []:
            lines.append(f"**Not indexed** {html.escape(name)}: {html.escape(reason)}")
        return "\n\n".join(lines), None

    # -- API ---------------------------------------------------------------------------------
    def ask_api(
        self,
        question: str,
        history: list[dict] | None = None,
        since: str = "",
        until: str = "",
        outlets: list[str] | None = None,
        languages: list[str] | None = None,
    ) -> dict:
        """Answer a question with citations. `history`: earlier turns as {"question", "answer"} objects; `since`,
        `until` (YYYY-MM-DD), `outlets` and `languages` limit the articles searched."""
        try:
            scope = Scope.of(
                api_text("since", since),
                api_text("until", until),
                api_list("outlets", outlets),
                api_list("languages", languages),
            )
            conversation = self.assistant.conversation(api_history(history))
            answer = self.assistant.ask(api_question(question), conversation, scope)
        except Exception as exc:
            raise gr.Error(str(self.error(exc))) from None
        return answer_json(answer)


# -- rendering -----------------------------------------------------------------------------
def answer_html(answer: Answer, number: int) -> str:
    """The checked answer: a badge for how it was made, the text with clickable citations, the sources and
    the time each stage took."""
    css, label = MODES.get(answer.mode, MODES["composed"])

    def cite(n: int, text: str) -> str:
        return f'<a href="#" class="qa-cite" data-key="{number}:{n}">{text}</a>'

    text = html.escape(answer.text)
    short = protocol.short_part(answer.text) if answer.mode == "composed" else None
    if short:  # the short answer stands out from the sentence it rests on
        text = f'<strong class="qa-short">{html.escape(short)}</strong>' + text[len(html.escape(short)) :]
    for c in answer.citations:
        text = text.replace(f"[{c.n}]", cite(c.n, f"[{c.n}]"))
    sources = "".join(
        f"<li>{cite(c.n, f'[{c.n}]')} {html.escape(c.title)} "
        + (f'<span class="qa-outlet">— {html.escape(who)}</span> ' if (who := source_label(c.source, c.page)) else "")
        + f'<span class="qa-lang">({html.escape(c.file)}, {c.language})</span>'
        + (f'<div class="qa-also">{html.escape(also_label(c))}</div>' if c.also else "")
        + "</li>"
        for c in answer.citations
    )
    t = answer.timings
    stages = [
        ("follow-up", t.rewrite_s),
        ("translate", t.translate_s),
        ("search", t.retrieve_s),
        ("first token", t.first_token_s),
        ("generate", t.generate_s),
        ("check", t.verify_s),
    ]
    timings = " · ".join(
        [f"{name} {seconds:.2f} s" for name, seconds in stages if seconds >= 0.005] + [f"total {t.total_s:.2f} s"]
    )
    return (
        f'<div class="qa-answer {css}" data-mode="{answer.mode}"><span class="qa-badge">{label}</span>'
        f'<div class="qa-text">{text}</div>'
        + (f'<ul class="qa-sources">{sources}</ul>' if sources else "")
        + f'<div class="qa-timings">{timings}</div></div>'
    )


def passage_html(p: Passage, n: int, answer_number: str, also: str = "") -> str:
    language = LANGUAGE_NAMES.get(p.language, p.language)
    label = source_label(p.source, p.page)
    meta = f"{html.escape(label)} · " if label else ""
    if p.source.url.startswith(("https://", "http://")):
        meta += f'<a href="{html.escape(p.source.url)}" target="_blank" rel="noopener noreferrer">original</a> · '
    return (
        f'<div class="qa-source"><div class="qa-source-title">{html.escape(p.title)}</div>'
        f'<div class="qa-source-meta">{meta}{language} · {html.escape(p.doc_id)} · characters '
        f"{p.quote_start}–{p.quote_end} · [{n}] of answer {html.escape(answer_number)}</div>"
        + (f'<div class="qa-also">{html.escape(also)}</div>' if also else "")
        + f"<p>{html.escape(p.before)}<mark>{html.escape(p.quote)}</mark>{html.escape(p.after)}</p></div>"
    )


def error_html(exc: QAError) -> str:
    return f'<div class="qa-refused"><span class="qa-badge">error</span> {html.escape(str(exc))}</div>'


# -- layout ---------------------------------------------------------------------------------
def build(assistant: Assistant) -> gr.Blocks:
    handlers = ChatApp(assistant)
    exts = list(assistant.settings.ingest.extensions)
    documents = assistant.documents() if assistant.store.exists() else {}
    outlet_choices = sorted({d.source.outlet for d in documents.values() if d.source.outlet}, key=str.casefold)
    language_choices = sorted({d.language for d in documents.values()})
    with gr.Blocks(title="Ask your articles", analytics_enabled=False) as app:
        session = gr.State(new_session(assistant.conversation()))
        gr.Markdown(
            "### Ask your articles\nAnswers come only from the indexed articles, each claim checked "
            "against the passage it cites. Ask in any language."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    elem_id="chat",
                    height=540,
                    label="Conversation",
                    sanitize_html=False,
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder="Ask, for example, “Who is the CEO of DiDi?”",
                )
                with gr.Row():
                    box = gr.Textbox(
                        elem_id="question",
                        show_label=False,
                        scale=6,
                        autofocus=True,
                        placeholder="Your question…",
                        submit_btn="Ask",
                    )
                    new = gr.Button("New conversation", scale=1, size="sm", elem_id="new-conversation")
                with gr.Accordion("Limit the sources", open=False, elem_id="limit-sources"):
                    with gr.Row():
                        since = gr.Textbox(label="Published since", placeholder="YYYY-MM-DD", elem_id="since")
                        until = gr.Textbox(label="Published until", placeholder="YYYY-MM-DD", elem_id="until")
                    with gr.Row():
                        outlets = gr.Dropdown(
                            outlet_choices,
                            multiselect=True,
                            allow_custom_value=True,
                            label="Outlets",
                            elem_id="outlets",
                        )
                        languages = gr.Dropdown(
                            language_choices, multiselect=True, label="Languages", elem_id="languages"
                        )
            with gr.Column(scale=2):
                source = gr.HTML(EMPTY_PANEL, elem_id="source-panel", label="Source", js_on_load=CITATION_CLICKS)
                with gr.Accordion(f"Add articles ({', '.join(exts)})", open=False, elem_id="add-articles"):
                    files = gr.File(file_count="multiple", file_types=exts, label="Upload", elem_id="upload")
                    status = gr.Markdown(elem_id="upload-status")
        box.submit(
            handlers.respond,
            [box, chat, session, since, until, outlets, languages],
            [box, chat, session],
            concurrency_id=GROUP,
            concurrency_limit=1,
            api_visibility="private",
        )
        source.click(handlers.show_source, [session], [source], queue=False, api_visibility="private")
        new.click(handlers.new_conversation, None, [chat, session, source], queue=False, api_visibility="private")
        files.upload(
            handlers.add_files,
            [files],
            [status, files],
            concurrency_id=GROUP,
            concurrency_limit=1,
            api_visibility="private",
        )
        gr.api(handlers.ask_api, api_name="ask", concurrency_id=GROUP, concurrency_limit=1)
    return app


def serve(assistant: Assistant, host: str | None = None, port: int | None = None) -> gr.Blocks:
    """Builds the index if there is none, loads the models, and starts serving in the background;
    `app.local_url` is the address, `app.block_thread()` waits until interrupted."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # launch() reads it, not only Blocks
    settings = assistant.settings
    host = host or settings.chat.host
    port = port if port is not None else settings.chat.port
    if host not in openai_api.LOOPBACK and not settings.chat.api_key:
        raise ServeError(
            f"serving on {host} reaches other machines, and the API would answer anyone",
            hint="set chat.api_key (QA_CHAT__API_KEY) to a secret: API clients send it as a bearer token, the "
            "browser chat asks for it as the password of the user qa",
        )
    check_port(host, port)  # before minutes of model loading, not after
    if not assistant.store.exists():
        assistant.index()
    assistant.warm_up()
    app = build(assistant)
    app.queue(default_concurrency_limit=1)
    try:
        app.launch(
            server_name=host,
            server_port=port,
            css=CSS,
            max_file_size=settings.ingest.max_file_bytes,
            show_error=True,
            auth=("qa", settings.chat.api_key) if settings.chat.api_key else None,
            quiet=True,
            prevent_thread_lock=True,
            inbrowser=False,
        )
    except OSError as exc:
        raise ServeError(f"cannot serve on {host}:{port}: {exc}") from None
    openai_api.add_routes(app.server_app, assistant, Path(settings.paths.data))
    return app


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ServeError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
