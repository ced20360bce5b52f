"""Handing a question to a running `qa serve`: a new process would spend seconds loading the models that the
server already holds. The server is used only when it answers as this process would: the same data folder,
the same generation of the index (the one it has loaded) and the same settings, the address and key aside.
When a key is set, the server first proves it holds it (an HMAC of a random challenge), so the key is never sent
to another program listening on the port. Otherwise, or when none answers within a moment, the caller answers
itself."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import urllib.error
import urllib.request
from pathlib import Path

from qa.core.errors import RequestError, ServeError
from qa.core.settings import Settings

CONNECT_SECONDS = 0.3  # a loopback server answers in milliseconds; nothing is waited for beyond that
ANSWER_SECONDS = 600.0  # an answer, queued behind others, from a server that may be busy
_NETWORK = (OSError, ValueError, http.client.HTTPException)


def index_identity(settings: Settings, generation: int) -> str:
    """Names what answers a question: the data folder, the index generation and every setting but where the
    server listens and the keys. A hash, so it says nothing of them."""
    fields = settings.model_dump(mode="json")
    for key in ("host", "port", "api_key"):
        fields["chat"].pop(key, None)
    for section in ("llm", "embedder"):  # a model server's key is this process's to send, not the answer's
        fields[section].pop("api_key", None)
    text = json.dumps(
        {"data": str(Path(settings.paths.data).resolve()), "generation": generation, "settings": fields},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def proof(key: str, nonce: str) -> str:
    """What a server holding `key` answers to the challenge `nonce`."""
    return hmac.new(key.encode(), f"qa-identity\n{nonce}".encode(), hashlib.sha256).hexdigest()


def address_of(settings: Settings) -> str:
    host = settings.chat.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    return f"http://{host}:{settings.chat.port}"


def _request(url: str, key: str = "", body: dict | None = None, timeout: float = ANSWER_SECONDS):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def running_server(settings: Settings, identity: str) -> str | None:
    """The address of a `qa serve` on the configured host and port that answers as `identity` says, if any."""
    address, nonce = address_of(settings), secrets.token_hex(16)
    try:
        reply = _request(f"{address}/qa/identity?nonce={nonce}", timeout=CONNECT_SECONDS)
    except _NETWORK:
        return None
    if not isinstance(reply, dict) or reply.get("index") != identity:
        return None
    key = settings.chat.api_key
    if key and not hmac.compare_digest(str(reply.get("proof", "")), proof(key, nonce)):
        return None
    return address


def ask(address: str, settings: Settings, question: str, scope_fields: dict) -> dict:
    """The `qa ask --json` record of the server's answer; a refused request is a RequestError with its message."""
    body = {"model": "qa", "messages": [{"role": "user", "content": question}], "qa": scope_fields}
    try:
        return _request(f"{address}/v1/chat/completions", settings.chat.api_key, body)["qa"]
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read().decode("utf-8"))["error"]["message"]
        except (*_NETWORK, KeyError, TypeError):
            message = f"the server at {address} answered {exc.code}"
        raise RequestError(message, hint="") from None
    except (*_NETWORK, KeyError, TypeError) as exc:
        raise ServeError(
            f"the server at {address} stopped answering ({exc})",
            hint="ask again, or pass --no-server to answer in this process",
        ) from None
