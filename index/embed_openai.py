"""Query embeddings from an OpenAI-compatible `/v1/embeddings` (a `qa serve`, vLLM, llama.cpp's server, a hosted
API), for assistants that share one embedding server.

The vectors are only as good as the index's match: an index answers only queries embedded by the identity it
records. A `qa serve` lists its embedder's identity and prompts with its models (`qa_embedder`), so an index
built beside the model is asked through the server. Another server's model is identified by its name; its
`query: `-style prompt comes from `embedder.query_prompt`.
"""

from __future__ import annotations

import base64
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from index.onnx_embed import folder_tokenizer
from qa.core.errors import ConfigError
from qa.core.records import EmbedderIdentity
from qa.core.servers import Server
from qa.core.settings import EmbedderSettings

MAX_BATCH = 64


class OpenAICompatibleEmbedder:
    def __init__(
        self,
        settings: EmbedderSettings,
        http: httpx.Client | None = None,
        timeout: float = 60.0,
        tokenizer_folder: Path | None = None,
    ):
        """`tokenizer_folder`: the served model's folder, whose tokenizer.json cuts articles into chunks as the model in
        process would (for `qa index` through the server)."""
        self.server = Server(
            settings.base_url,
            "embedder.base_url",
            "embedding server",
            settings.api_key,
            hint='start it, or set embedder.backend = "auto" to embed in this process',
            http=http,
            timeout=timeout,
        )
        listed = self.server.json("GET", "/models", read=lambda r: [dict(e) for e in r["data"]])
        entry = self._entry(listed, settings.remote_model)
        self.model = str(entry["id"])
        card = entry.get("qa_embedder") or {}
        self.query_prompt: str = _prompt(settings.query_prompt, card.get("query_prompt"))
        self.document_prompt: str = _prompt(settings.document_prompt, card.get("document_prompt"))
        self.dim = 0
        if card:
            self.identity = EmbedderIdentity(str(card["name"]), int(card["dim"]), str(card["fingerprint"]))
        else:
            probe = self._embed(["dimension"])
            self.identity = EmbedderIdentity(self.model, int(probe.shape[1]), f"openai:{self.model}")
        self.dim = self.identity.dim
        self.tokenizer = None
        if tokenizer_folder is not None:
            self.use_tokenizer(tokenizer_folder)

    def use_tokenizer(self, folder: Path) -> None:
        """Cut articles with the tokenizer.json of this folder (the served model's), as the model in process would."""
        self.tokenizer = folder_tokenizer(folder)

    def _entry(self, listed: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
        if wanted:
            for entry in listed:
                if entry.get("id") == wanted:
                    return entry
            raise self.server.error(f"does not list {wanted!r}", hint="check embedder.remote_model")
        for entry in listed:
            if entry.get("qa_embedder"):
                return entry
        if not listed:
            raise self.server.error("lists no model")
        return listed[0]

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is None:
            raise ConfigError(
                "indexing cuts articles with the embedder's own tokenizer, which an embedding server does not share",
                hint="give the model's folder (embedder.model) for its tokenizer.json, or index where the model is",
            )
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.query_prompt + t for t in texts])

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.document_prompt + t for t in texts])

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        for i in range(0, len(texts), MAX_BATCH):
            batch = texts[i : i + MAX_BATCH]
            body = {"model": self.model, "input": batch, "encoding_format": "float"}
            parts.append(self.server.json("POST", "/embeddings", body, read=partial(self._vectors, n=len(batch))))
        vectors = np.concatenate(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def _vectors(self, reply: dict[str, Any], n: int) -> np.ndarray:
        data = sorted(reply["data"], key=lambda d: int(d["index"]))
        vectors = np.array([_vector(d["embedding"]) for d in data], dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != n or (self.dim and vectors.shape[1] != self.dim):
            raise ValueError(f"{n} vectors of {self.dim or 'one'} dimension(s) asked for, {vectors.shape} given")
        return vectors


def _prompt(configured: str | None, listed: Any) -> str:
    return configured if configured is not None else str(listed or "")


def _vector(embedding: Any) -> np.ndarray:
    """A float list, or base64 of little-endian float32 (what the `openai` client asks for by default)."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4")
    return np.asarray(embedding, dtype=np.float32)
