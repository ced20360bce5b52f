"""Handing a question to a running `qa serve`: a new process would spend seconds loading the models that the
server already holds. The server is used only when it serves the same index (the same data folder, the same
generation of the index); otherwise, or when none answers within a moment, the caller answers itself."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

from qa.core.errors import RequestError, ServeError
from qa.core.settings import Settings

CONNECT_SECONDS = 0.3  # a loopback server answers /v1/models in milliseconds; nothing is waited for beyond that


def index_identity(data: Path, generation: int) -> str:
    """Names an index by its data folder and generation, without saying where the folder is."""
    return hashlib.sha256(f"{Path(data).resolve()}\n{generation}".encode()).hexdigest()[:16]


def _address(settings: Settings) -> str:
    host = settings.chat.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    return f"http://{host}:{settings.chat.port}"


def _request(url: str, settings: Settings, body: dict | None = None, timeout: float | None = None):
    headers = {"Content-Type": "application/json"}
    if settings.chat.api_key:
        headers["Authorization"] = f"Bearer {settings.chat.api_key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def running_server(settings: Settings, identity: str) -> str | None:
    """The address of a `qa serve` on the configured host and port that serves the index `identity`, if any."""
    address = _address(settings)
    try:
        listed = _request(f"{address}/v1/models", settings, timeout=CONNECT_SECONDS)
    except (OSError, ValueError):
        return None
    models = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(models, list):
        return None
    return address if any(isinstance(m, dict) and m.get("qa_index") == identity for m in models) else None


def ask(address: str, settings: Settings, question: str, scope_fields: dict) -> dict:
    """The `qa ask --json` record of the server's answer; a refused request is a RequestError with its message."""
    body = {"model": "qa", "messages": [{"role": "user", "content": question}], "qa": scope_fields}
    try:
        return _request(f"{address}/v1/chat/completions", settings, body)["qa"]
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read().decode("utf-8"))["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"the server at {address} answered {exc.code}"
        raise RequestError(message, hint="") from None
    except (OSError, ValueError) as exc:
        raise ServeError(
            f"the server at {address} stopped answering ({exc})",
            hint="ask again, or pass --no-server to answer in this process",
        ) from None
