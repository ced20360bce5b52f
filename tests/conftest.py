"""Fakes for fast tests: a scripted model and a keyword embedder. No model files needed."""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections import deque
from pathlib import Path

import numpy as np
import pytest

from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


class FakeLLM:
    """Replies from a queue (or a default); remembers every prompt it was given."""

    name = "fake-llm"

    def __init__(self, default: str = "The sources don't say."):
        self.replies: deque[str] = deque()
        self.default = default
        self.history: list[str] = []

    def enqueue(self, *replies: str) -> FakeLLM:
        self.replies.extend(replies)
        return self

    def stream(self, prompt, max_tokens, stop):
        self.history.append(prompt)
        reply = self.replies.popleft() if self.replies else self.default
        for piece in re.findall(r"\S+\s*|\s+", reply):
            yield piece


class KeywordEmbedder:
    """Bag of words hashed into a small vector: texts sharing words are close, in any language
    only through words they share. Deterministic and instant."""

    def __init__(self, dim: int = 256, name: str = "keyword-fake"):
        self.dim = dim
        self.identity = {"name": name, "dim": dim, "fingerprint": "fake"}
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for w in re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()):
            if len(w) > 2:
                v[hash_word(w) % self.dim] += 1.0
        v[0] += 0.01
        return v / np.linalg.norm(v)

    def encode_queries(self, texts):
        self.calls += 1
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    encode_documents = encode_queries


def hash_word(word: str) -> int:
    h = 2166136261
    for b in word.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


@pytest.fixture
def corpus(tmp_path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture
def settings(tmp_path, corpus) -> Settings:
    """Query translation is off: each fake reply then answers exactly one question. The keyword embedder's
    scores are not on e5's scale, so the evidence score floor is off too."""
    return Settings(paths={"corpus": corpus, "data": tmp_path / "data"},
                    retrieval={"translate_queries": False, "min_evidence_score": 0.0})


@pytest.fixture
def fake_llm() -> FakeLLM:
    return FakeLLM()


@pytest.fixture
def embedder() -> KeywordEmbedder:
    return KeywordEmbedder()


@pytest.fixture
def assistant(settings, embedder, fake_llm):
    from qa.assistant import Assistant

    a = Assistant(settings, embedder=embedder, llm=fake_llm)
    a.index()
    return a


@pytest.fixture(scope="session")
def default_models():
    """The real default models, prepared once into the project's model cache (as `make run` does)."""
    from qa.models import prepare_defaults
    from qa.settings import Settings

    return prepare_defaults(Settings(paths={"corpus": CORPUS, "data": ROOT / ".qa"}), log=lambda m: None)


@pytest.fixture(scope="session")
def real_data(tmp_path_factory, default_models) -> Path:
    """A data folder with the corpus indexed by the real default embedder, shared by slow tests."""
    from qa.assistant import Assistant

    data = tmp_path_factory.mktemp("real_data")
    (data / "models").symlink_to((ROOT / ".qa" / "models").resolve())
    Assistant(Settings(paths={"corpus": CORPUS, "data": data})).index()
    return data
