"""`qa mcp`: the assistant as an MCP server over stdio (the official `mcp` SDK), for editors and agents.

Tools: `ask` (a checked answer with its citations, as `qa ask --json` gives it), `search` (the sentences that
best answer a question, with their sources, nothing generated), `list_documents` and `add_documents` (files on
this machine, checked and indexed as the web app's uploads are). Each indexed article is a resource,
`qa://documents/<file>`, whose text is the one citation offsets point into. A failure is a tool error whose
message names the field or file, as the other faces say it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.mcpserver.resources import FunctionResource

from qa.assistant import Assistant
from qa.core.errors import at_boundary
from qa.core.records import Document, Scope
from qa.core.requests import api_history
from qa.present import answer_json, citation_json

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Answers questions from the user's own collection of news articles. Every answer cites the exact passages "
    "it rests on (file, character offsets, quote); when the articles do not hold the answer it says so. Ask in "
    "any language; `search` finds passages without answering."
)


def document_uri(doc_id: str) -> str:
    return "qa://documents/" + quote(doc_id, safe="")


def document_json(doc_id: str, d: Document) -> dict:
    return {
        "file": doc_id,
        "uri": document_uri(doc_id),
        "title": d.title,
        "language": d.language,
        "outlet": d.source.outlet,
        "author": d.source.author,
        "published": d.source.published,
        "url": d.source.url,
    }


def build(assistant: Assistant) -> MCPServer:
    server: MCPServer = MCPServer(name="qa", instructions=INSTRUCTIONS)
    data = Path(assistant.settings.paths.data)
    registered: set[str] = set()

    def failure(exc: Exception) -> ToolError:
        error = at_boundary(exc, data, log)
        return ToolError(f"{error} ({error.hint})" if error.hint else str(error))

    def text_of(doc_id: str) -> str:
        document = assistant.documents().get(doc_id)
        if document is None:
            raise ResourceNotFoundError(f"{doc_id} is no longer in the index")
        return document.text

    def register_documents() -> None:
        if not assistant.store.exists():
            return
        for doc_id, document in assistant.documents().items():
            if doc_id in registered:
                continue
            registered.add(doc_id)
            server.add_resource(
                FunctionResource(
                    uri=document_uri(doc_id),
                    name=doc_id,
                    title=document.title,
                    mime_type="text/plain",
                    description=", ".join(
                        x for x in (document.source.outlet, document.source.published, document.language) if x
                    ),
                    fn=lambda doc_id=doc_id: text_of(doc_id),
                )
            )

    @server.tool(
        description="Answer a question from the articles, with citations to the exact passages (or the "
        "refusal when they do not say). history: earlier turns as {question, answer}; since, "
        "until (YYYY-MM-DD), outlets and languages limit the articles searched."
    )
    def ask(
        question: str,
        history: list[dict[str, str]] | None = None,
        since: str = "",
        until: str = "",
        outlets: list[str] | None = None,
        languages: list[str] | None = None,
    ) -> dict[str, Any]:
        try:
            scope = Scope.of(since, until, outlets or [], languages or [])
            return answer_json(assistant.ask(question, assistant.conversation(api_history(history)), scope))
        except Exception as exc:
            raise failure(exc) from None

    @server.tool(
        description="The sentences of the articles that best answer a question, best first, each with "
        "its source (file, offsets, outlet, date) and the probability that it holds the "
        "answer; nothing is generated."
    )
    def search(
        query: str,
        limit: int = 5,
        since: str = "",
        until: str = "",
        outlets: list[str] | None = None,
        languages: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        try:
            scope = Scope.of(since, until, outlets or [], languages or [])
            return [citation_json(c) | {"score": round(p, 4)} for c, p in assistant.search(query, scope, limit)]
        except Exception as exc:
            raise failure(exc) from None

    @server.tool(
        description="The indexed articles: file, title, language, outlet, date, address and the resource "
        "URI of each one's text."
    )
    def list_documents() -> list[dict[str, Any]]:
        try:
            return [document_json(doc_id, d) for doc_id, d in sorted(assistant.documents().items())]
        except Exception as exc:
            raise failure(exc) from None

    @server.tool(
        description="Add article files of this machine (.txt, .md, .html, .htm, .pdf) to the collection: "
        "each is checked, copied into the corpus and indexed; a refused file changes nothing."
    )
    def add_documents(paths: list[str]) -> dict[str, Any]:
        try:
            report = assistant.add_documents([Path(p).expanduser() for p in paths])
        except Exception as exc:
            raise failure(exc) from None
        register_documents()
        return {
            "added": report.saved,
            "refused": [{"file": n, "reason": r} for n, r in report.refused],
            "not_indexed": [{"file": n, "reason": r} for n, r in (report.index.failed if report.index else [])],
        }

    register_documents()
    return server


def serve_stdio(assistant: Assistant) -> None:
    """Answers MCP requests on stdin/stdout until the client closes them."""
    if not assistant.store.exists():
        assistant.index()
    assistant.warm_up()
    build(assistant).run("stdio")
