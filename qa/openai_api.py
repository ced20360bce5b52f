"""The OpenAI-compatible HTTP API `qa serve` serves beside the chat: `GET /v1/models`, `POST /v1/chat/completions`
(streamed as server-sent events or not), `POST /v1/embeddings` (the embedder that built the index, for assistants
that embed their questions here), and `GET /passage`, the page a citation's link opens.

The citations are the product, so they travel in every shape clients read: the `[n]` markers in `content`;
`message.annotations` of type `url_citation` (OpenAI's web-search shape: the marker's `start_index`/`end_index`
in `content`, the article's `title`, a `url` that opens the cited passage highlighted); Perplexity's `citations`
(those URLs) and `search_results` (`title`, `url`, `date`, the exact quote as `snippet`); and `qa`, the full
`qa ask --json` record (file, offsets, quote, mode). `messages` is the conversation: the last message is the
question, earlier user/assistant pairs are the turns a follow-up is rewritten from, and system messages are
ignored (the prompts are the assistant's own). Answers are checked before any of their text is sent, so a
streamed answer arrives in pieces of the checked text, never as an unchecked draft.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from qa import client
from qa.assistant import Assistant
from qa.core import protocol
from qa.core.errors import (
    EmptyQuestionError,
    IndexMissingError,
    QAError,
    QuestionTooLongError,
    RequestError,
    ScopeError,
    at_boundary,
)
from qa.core.records import Answer, Citation, Evidence, Scope, Turn
from qa.present import answer_json, source_label

log = logging.getLogger(__name__)

MODEL_ID = "qa"
# Questions that may wait for the one model at once; each holds a worker thread, and the web server's other
# routes need some. A bound on load, not a fitted cut-off.
MAX_WAITING = 16
MAX_EMBED_INPUTS = 256
MAX_EMBED_CHARS = 20_000
MAX_EMBED_BODY = 8_000_000
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_BAD_REQUEST = (RequestError, EmptyQuestionError, QuestionTooLongError, ScopeError)


class ApiError(Exception):
    """An error as OpenAI's API reports it: an HTTP status and an `error` object."""

    def __init__(self, status: int, message: str, kind: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.param, self.code = status, kind, param, code

    def body(self) -> dict:
        return {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": self.code}}

    @classmethod
    def of(cls, exc: QAError) -> ApiError:
        message = f"{exc} ({exc.hint})" if exc.hint else str(exc)
        if isinstance(exc, _BAD_REQUEST):
            return cls(400, message, "invalid_request_error")
        if isinstance(exc, IndexMissingError):
            return cls(503, message, "server_error", code="no_index")
        return cls(500, message, "server_error")


# -- the request -------------------------------------------------------------------------------------------
def _text(content: Any, where: str) -> str:
    """A message's content: a string, or a list of parts of which the text ones count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(400, f"{where}[{i}]: only text parts are read", "invalid_request_error", where)
            texts.append(part["text"])
        return "\n".join(texts)
    if content is None:
        return ""
    raise ApiError(400, f"{where}: expected text or a list of text parts", "invalid_request_error", where)


def parse(body: Any) -> tuple[str, list[Turn], bool, Scope]:
    """The question, the earlier turns, whether to stream, and the articles to search, from a request body."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", "invalid_request_error")
    model = body.get("model")
    if not isinstance(model, str):
        raise ApiError(400, "model: required, the id from /v1/models", "invalid_request_error", "model")
    if model != MODEL_ID:
        raise ApiError(
            404,
            f"The model `{model}` does not exist; this server has `{MODEL_ID}`",
            "invalid_request_error",
            "model",
            "model_not_found",
        )
    if body.get("n", 1) != 1:
        raise ApiError(400, "n: only one answer is given", "invalid_request_error", "n")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream: expected true or false", "invalid_request_error", "stream")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages: a non-empty list is required", "invalid_request_error", "messages")
    said: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ApiError(
                400, f"messages[{i}]: expected an object with a role", "invalid_request_error", f"messages[{i}]"
            )
        role = message["role"]
        if role in ("system", "developer"):
            continue
        if role not in ("user", "assistant"):
            raise ApiError(
                400,
                f"messages[{i}].role: {role!r} is not read (user, assistant, system)",
                "invalid_request_error",
                f"messages[{i}].role",
            )
        said.append((role, _text(message.get("content"), f"messages[{i}].content")))
    if not said or said[-1][0] != "user":
        raise ApiError(
            400, "messages: the last message must be the user's question", "invalid_request_error", "messages"
        )
    turns: list[Turn] = []
    for (role, text), (next_role, next_text) in zip(said, said[1:]):
        if role == "user" and next_role == "assistant":
            turns.append(Turn(text, next_text))
    return said[-1][1], turns, stream, _scope(body.get("qa"))


def parse_embeddings(body: Any, card: dict[str, Any]) -> tuple[list[str], str]:
    """The texts to embed and the encoding of the vectors ("float" or "base64"), from a request body."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", "invalid_request_error")
    model = body.get("model")
    if model is not None and model != card["name"]:
        raise ApiError(
            404,
            f"The model `{model}` does not exist; this server embeds with `{card['name']}`",
            "invalid_request_error",
            "model",
            "model_not_found",
        )
    given = body.get("input")
    texts = [given] if isinstance(given, str) else given
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ApiError(400, "input: a string or a non-empty list of strings", "invalid_request_error", "input")
    if len(texts) > MAX_EMBED_INPUTS:
        raise ApiError(
            400, f"input: at most {MAX_EMBED_INPUTS} texts at once, not {len(texts)}", "invalid_request_error", "input"
        )
    for i, text in enumerate(texts):
        if not text.strip() or len(text) > MAX_EMBED_CHARS:
            raise ApiError(
                400,
                f"input[{i}]: {'empty' if not text.strip() else f'{len(text):,} characters'}; "
                f"1 to {MAX_EMBED_CHARS:,} are embedded",
                "invalid_request_error",
                f"input[{i}]",
            )
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise ApiError(400, "encoding_format: float or base64", "invalid_request_error", "encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != card["dim"]:
        raise ApiError(400, f"dimensions: {card['name']} gives {card['dim']}", "invalid_request_error", "dimensions")
    return texts, encoding


def embedding_list(vectors: np.ndarray, tokens: int, model: str, encoding: str) -> dict:
    def vector(v: np.ndarray) -> list[float] | str:
        if encoding == "base64":
            return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")
        return v.astype(np.float32).tolist()

    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": vector(v)} for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _scope(fields: Any) -> Scope:
    """The articles to search, from the request's `qa` object (`since`, `until`, `outlets`, `languages`)."""
    if fields is None:
        return Scope.of("", "", [], [])
    if not isinstance(fields, dict):
        raise ApiError(400, "qa: expected an object", "invalid_request_error", "qa")
    unknown = set(fields) - {"since", "until", "outlets", "languages"}
    if unknown:
        raise ApiError(400, f"qa: unknown field {sorted(unknown)[0]!r}", "invalid_request_error", "qa")
    for key in ("since", "until"):
        if not isinstance(fields.get(key, ""), str):
            raise ApiError(400, f"qa.{key}: expected YYYY-MM-DD", "invalid_request_error", f"qa.{key}")
    for key in ("outlets", "languages"):
        value = fields.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ApiError(400, f"qa.{key}: expected a list of texts", "invalid_request_error", f"qa.{key}")
    return Scope.of(
        fields.get("since", ""), fields.get("until", ""), fields.get("outlets", []), fields.get("languages", [])
    )


# -- the answer --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Links:
    """Where citations link to: this server's address and, when the API asks for a key, a signature per link
    (a browser opening a passage sends no bearer token; the signature shows the link came from an answer)."""

    base: str
    key: str = ""

    def passage(self, c: Citation) -> str:
        """The stable link that opens a cited passage highlighted: the file and the quote's offsets."""
        fields: dict[str, str | int] = {"file": c.file, "start": c.char_start, "end": c.char_end}
        if self.key:
            fields["sig"] = signature(self.key, c.file, str(c.char_start), str(c.char_end))
        return f"{self.base.rstrip('/')}/passage?" + urlencode(fields, quote_via=quote)


def signature(key: str, file: str, start: str, end: str) -> str:
    return hmac.new(key.encode(), f"{file}\n{start}\n{end}".encode(), hashlib.sha256).hexdigest()[:32]


def url_citations(answer: Answer, links: Links) -> list[dict]:
    """One `url_citation` per citation number of each `[n]` marker in the answer's text."""
    by_n = {c.n: c for c in answer.citations}
    out = []
    for m in protocol.CITATION.finditer(answer.text):
        for part in m.group(1).split(","):
            c = by_n.get(int(part))
            if c is not None:
                out.append(
                    {
                        "type": "url_citation",
                        "url_citation": {
                            "start_index": m.start(),
                            "end_index": m.end(),
                            "title": c.title,
                            "url": links.passage(c),
                        },
                    }
                )
    return out


def search_results(answer: Answer, links: Links) -> list[dict]:
    return [
        {
            "title": c.title,
            "url": links.passage(c),
            "date": c.source.published or None,
            "snippet": c.quote,
            "source": c.source.outlet or None,
        }
        for c in answer.citations
    ]


def usage(answer: Answer) -> dict:
    prompt = sum(g.prompt_tokens for g in answer.generations)
    completion = sum(g.generated_tokens for g in answer.generations)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(answer: Answer, links: Links) -> dict:
    """The `chat.completion` object of an answer."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text,
                    "refusal": None,
                    "annotations": url_citations(answer, links),
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage(answer),
        "citations": [links.passage(c) for c in answer.citations],
        "search_results": search_results(answer, links),
        "qa": answer_json(answer),
    }


def chunks(answer: Answer, links: Links, piece_chars: int = 24) -> Iterator[dict]:
    """The answer as `chat.completion.chunk` objects: the role, the checked text in pieces, then the end with
    the annotations (their indices count in the whole text), the citations and the full record."""
    whole = completion(answer, links)
    head = {k: whole[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> dict:
        return head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]} | extra

    yield chunk({"role": "assistant", "content": ""})
    text = answer.text
    for start in range(0, len(text), piece_chars):
        yield chunk({"content": text[start : start + piece_chars]})
    message = whole["choices"][0]["message"]
    yield chunk(
        {"annotations": message["annotations"]},
        "stop",
        usage=whole["usage"],
        citations=whole["citations"],
        search_results=whole["search_results"],
        qa=whole["qa"],
    )


def sse(events: Iterator[dict]) -> Iterator[str]:
    for event in events:
        yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def models(card: dict[str, Any] | None) -> dict:
    """The assistant (for chat completions) and, when it loads, its embedder (for embeddings, with what a client
    needs to match an index built here: `qa_embedder`)."""
    listed: list[dict[str, Any]] = [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa"}]
    if card is not None:
        listed.append({"id": card["name"], "object": "model", "created": 0, "owned_by": "qa", "qa_embedder": card})
    return {"object": "list", "data": listed}


# -- the passage a link opens --------------------------------------------------------------------------------
def passage_page(assistant: Assistant, file: str, start: str, end: str) -> str:
    """The page a citation's link opens: the article's title and source, and the quote highlighted among the
    sentences around it. Only an indexed article's text is shown, and only at offsets inside it."""
    document = assistant.documents().get(file)
    try:
        a, b = int(start), int(end)
    except ValueError:
        raise ApiError(400, "start and end must be character offsets", "invalid_request_error") from None
    if document is None:
        raise ApiError(404, f"{file} is not in the index", "invalid_request_error", "file")
    if not 0 <= a < b <= len(document.text):
        raise ApiError(400, f"{a}–{b} is not a passage of {file}", "invalid_request_error", "start")
    cited = Evidence(1, file, "", a, b, document.text[a:b], 0.0).citation(document)
    p = assistant.passage(cited)
    label = source_label(p.source, p.page)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(p.title)}</title>"
        "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}"
        "mark{background:#ffe58a}.meta{color:#777;font-size:.85em}</style></head><body>"
        f"<h1>{html.escape(p.title)}</h1>"
        f"<p class='meta'>{html.escape(label + ' · ' if label else '')}{html.escape(p.doc_id)} · characters "
        f"{p.quote_start}–{p.quote_end}</p>"
        f"<p>{html.escape(p.before)}<mark>{html.escape(p.quote)}</mark>{html.escape(p.after)}</p>"
        "</body></html>"
    )


# -- the routes ------------------------------------------------------------------------------------------------
def add_routes(app: FastAPI, assistant: Assistant, data: Path) -> None:
    """Adds the API's routes to the FastAPI app that serves the chat (ahead of the chat's own routes)."""
    key = assistant.settings.chat.api_key
    router = APIRouter()
    waiting = [0]  # answers asked for and not yet given (changed on the event loop only)

    def refused(exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    def authorised(request: Request) -> bool:
        if not key:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {key}".encode())

    def busy() -> ApiError:
        return ApiError(
            429, f"{waiting[0]} requests are waiting for the models; ask again shortly", "rate_limit_error", code="busy"
        )

    def unauthorised() -> JSONResponse:
        return refused(
            ApiError(
                401,
                "Incorrect API key provided: pass chat.api_key as a bearer token",
                "invalid_request_error",
                code="invalid_api_key",
            )
        )

    async def json_body(request: Request) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise ApiError(415, "send the request as application/json", "invalid_request_error")
        try:
            return await request.json()
        except ValueError:
            raise ApiError(400, "the request body is not JSON", "invalid_request_error") from None

    @router.get("/v1/models")
    async def list_models(request: Request):
        if not authorised(request):
            return unauthorised()
        try:
            card = await run_in_threadpool(assistant.embedder_card)
        except Exception as exc:  # the chat model is listed all the same
            at_boundary(exc, data, log)
            card = None
        return JSONResponse(models(card))

    @router.post("/v1/embeddings")
    async def embeddings(request: Request):
        """The texts embedded as given by the embedder that built this index, for assistants that ask through
        this server (`embedder.backend = "openai"`)."""
        if not authorised(request):
            return unauthorised()
        if int(request.headers.get("content-length") or 0) > MAX_EMBED_BODY:
            return refused(ApiError(413, f"the request body is over {MAX_EMBED_BODY:,} bytes", "invalid_request_error"))
        if waiting[0] >= MAX_WAITING:
            return refused(busy())
        waiting[0] += 1
        try:
            card = await run_in_threadpool(assistant.embedder_card)
            texts, encoding = parse_embeddings(await json_body(request), card)

            def embedded() -> dict:
                vectors, tokens = assistant.embed(texts)
                return embedding_list(vectors, tokens, card["name"], encoding)

            return JSONResponse(await run_in_threadpool(embedded))
        except ApiError as exc:
            return refused(exc)
        except Exception as exc:
            return refused(ApiError.of(at_boundary(exc, data, log)))
        finally:
            waiting[0] -= 1

    @router.get("/qa/identity")
    def identity(nonce: str = ""):
        """What a `qa ask` needs to hand this server its question (qa.client): which index and settings answer
        here, and, when a key is set, the proof that this server holds it. Asks for no key, and loads nothing."""
        generation = assistant.loaded_generation()
        return JSONResponse(
            {
                "index": client.index_identity(assistant.settings, generation) if generation is not None else "",
                "proof": client.proof(key, nonce) if key and nonce else "",
            }
        )

    @router.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        if not authorised(request):
            return unauthorised()
        try:
            question, turns, stream, scope = parse(await json_body(request))
        except (ApiError, QAError) as exc:
            return refused(exc if isinstance(exc, ApiError) else ApiError.of(exc))
        links = Links(str(request.base_url), key)
        if waiting[0] >= MAX_WAITING:
            return refused(busy())
        waiting[0] += 1
        try:
            answer = await run_in_threadpool(assistant.ask, question, assistant.conversation(turns), scope)
        except Exception as exc:
            return refused(ApiError.of(at_boundary(exc, data, log)))
        finally:
            waiting[0] -= 1
        if stream:
            return StreamingResponse(sse(chunks(answer, links)), media_type="text/event-stream")
        return JSONResponse(completion(answer, links))

    @router.get("/passage")
    def passage(request: Request, file: str = "", start: str = "", end: str = "", sig: str = ""):
        if key and not (authorised(request) or hmac.compare_digest(sig, signature(key, file, start, end))):
            return HTMLResponse("<p>This link is not signed by this server.</p>", status_code=403)
        try:
            return HTMLResponse(passage_page(assistant, file, start, end))
        except ApiError as exc:
            return HTMLResponse(f"<p>{html.escape(str(exc))}</p>", status_code=exc.status)
        except QAError as exc:
            return HTMLResponse(f"<p>{html.escape(str(exc))}</p>", status_code=ApiError.of(exc).status)

    app.router.routes[:0] = router.routes
