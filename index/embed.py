"""Sentence embeddings: queries and documents are two explicit calls (e5 wants `query: ` / `passage: `)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from qa.core.errors import DependencyMissingError, ModelMissingError
from qa.core.records import EmbedderIdentity


@runtime_checkable
class Embedder(Protocol):
    identity: EmbedderIdentity
    dim: int
    query_prompt: str
    document_prompt: str

    def count_tokens(self, text: str) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """The texts as given, without a prompt (what an embedding server is asked for)."""
        ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_documents(self, texts: list[str]) -> np.ndarray: ...


def _fingerprint(folder: Path) -> str:
    """Identifies the weights without reading them all: config files in full, weight files by size."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        h.update(path.relative_to(folder).as_posix().encode())
        if path.suffix in {".json", ".txt", ".model"} and path.stat().st_size < 50_000_000:
            h.update(path.read_bytes())
        else:
            h.update(str(path.stat().st_size).encode())
    return h.hexdigest()[:16]


def display_name(folder: Path) -> str:
    """A readable name: the folder's, its package's for a generic `model` folder, or `owner/name` for a
    snapshot in the Hugging Face cache."""
    folder = folder.resolve() if folder.exists() else folder
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        return folder.parent.parent.name.removeprefix("models--").replace("--", "/")
    if folder.name in {"model", "models"}:
        return folder.parent.name
    return folder.name


def folder_identity(folder: Path) -> EmbedderIdentity:
    """Name, dimension and fingerprint of a sentence-transformers folder, read without loading it."""
    import json

    modules = folder / "modules.json"
    if not modules.is_file():
        raise ModelMissingError(
            f"embedding model folder {folder} does not exist or is not a sentence-transformers model (no modules.json)"
        )
    dim = None
    for module in json.loads(modules.read_text()):
        config = folder / module.get("path", "") / "config.json"
        if module.get("type", "").endswith("Pooling") and config.is_file():
            dim = json.loads(config.read_text()).get("word_embedding_dimension")
    if dim is None:
        raise ModelMissingError(f"embedding model folder {folder} has no pooling layer to tell its dimension")
    return EmbedderIdentity(display_name(folder), int(dim), _fingerprint(folder))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model folder; loading never downloads (`local_files_only`, and `qa.models.offline`)."""

    def __init__(self, model: str | Path, batch_size: int = 16, identity: EmbedderIdentity | None = None):
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise DependencyMissingError(f"sentence-transformers cannot be imported ({exc})") from None
        hf_logging.disable_progress_bar()
        path = Path(model)
        if not path.is_dir():
            raise ModelMissingError(f"embedding model folder {path} does not exist")
        try:
            self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelMissingError(f"cannot load the embedding model from {path}: {exc}") from None
        self.batch_size = batch_size
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ModelMissingError(f"the embedding model in {path} does not say its dimension")
        self.dim = int(dim)
        self.identity = identity or folder_identity(path)
        prompts = self.model.prompts or {}
        self.query_prompt: str = prompts.get("query") or ""
        self.document_prompt: str = prompts.get("document") or prompts.get("passage") or ""

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _encode(self, fn, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = fn(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encode(self.model.encode, texts)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(self.model.encode_query, texts)

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(self.model.encode_document, texts)
