"""Fakes for fast tests: a scripted model and a keyword embedder. No model files needed."""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa.core.records import EmbedderIdentity, GenerationStats
from qa.core.settings import Settings
from qa.llm import Generation, LogitScores

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


def write_test_calibration(path: Path) -> Path:
    """Simple hand-set evidence models for the keyword fake embedder, whose scores are not on e5's scale: a
    sentence is as good as the share of the question's rare words it holds, its cosine, its names and the kind
    of answer it holds; an answer is given when the best sentence stands out and holds the question's names."""
    import json

    from qa.evidence import ANSWER_FEATURES, SENTENCE_FEATURES

    def model(features, weights, bias, among_rows=False):
        return {"features": list(features), "mean": [0.0] * len(features), "scale": [1.0] * len(features),
                "weights": [weights.get(f, 0.0) for f in features], "bias": bias, "threshold": 0.5,
                "among_rows": among_rows}

    sentence = {"cos_best": 4.0, "lexical_idf": 6.0, "names": 1.0, "kind_number": 2.0, "kind_date": 2.0,
                "kind_person": 2.0, "kind_place": 2.0}
    answer = {"p_top": 4.0, "names": 3.0, "cos_best": 2.0}
    path.write_text(json.dumps({"meta": {"fitted": "by hand, for tests", "translation_min_similarity": 0.9},
                                "sentence": model(SENTENCE_FEATURES, sentence, 0.0, among_rows=True),
                                "answer": model(ANSWER_FEATURES, answer, -5.2)}), encoding="utf-8")
    return path


class FakeLLM:
    """Replies from a queue (or a default); remembers every prompt it was given. Its tokens are words and
    punctuation marks; under a constraint (`constrained`) it prefers the tokens of its reply, then the end."""

    name = "fake-llm"

    def __init__(self, default: str = ""):
        self.replies: deque[str] = deque()
        self.default = default
        self.history: list[str] = []
        self._ids: dict[str, int] = {}
        self._pieces: list[str] = []

    def enqueue(self, *replies: str) -> FakeLLM:
        self.replies.extend(replies)
        return self

    def _reply(self, prompt: str) -> str:
        self.history.append(prompt)
        return self.replies.popleft() if self.replies else self.default

    def stream(self, prompt: str, max_tokens: int, stop) -> Generation[str]:
        return self._counted(prompt, self._pieces_of(prompt))

    def _pieces_of(self, prompt: str) -> Iterator[str]:
        yield from re.findall(r"\S+\s*|\s+", self._reply(prompt))

    def _counted(self, prompt: str, pieces: Iterator) -> Generation:
        """A generation whose stats count the prompt's tokens and the pieces generated (no time passes)."""

        def run() -> Iterator:
            n = 0
            for piece in pieces:
                n += 1
                yield piece
            generation.stats = GenerationStats(len(self.tokenize(prompt)), 0, n, 0.0, 0.0, 0.0, 0.0)

        generation: Generation = Generation(run())
        return generation

    def tokenize(self, text):
        out = []
        for piece in re.findall(r"\n| ?\[|[\u3400-\u9fff。]| ?[^\s\[\].,;:!?\u3400-\u9fff。]+| ?[.,;:!?\]]| ", text):
            if piece not in self._ids:
                self._ids[piece] = len(self._pieces)
                self._pieces.append(piece)
            out.append(self._ids[piece])
        return out

    def detokenize(self, tokens):
        return "".join(self._pieces[t] for t in tokens)

    def constrained(self, prompt: str, choose, max_tokens: int) -> Generation[int]:
        return self._counted(prompt, self._tokens_of(prompt, choose, max_tokens))

    def _tokens_of(self, prompt: str, choose, max_tokens: int) -> Iterator[int]:
        reply = self._reply(prompt)
        spaced = not re.search(r"[\u3400-\u9fff]", reply)  # Chinese is written without spaces
        wanted = self.tokenize(" " * spaced + reply) if reply.strip() else []
        end = self.tokenize("\n")[0]
        for j in range(max_tokens):
            logits = np.zeros(len(self._pieces), np.float32)
            logits[wanted[j] if j < len(wanted) else end] = 10.0
            token = choose(LogitScores(logits))
            if token is None:
                return
            yield token


class KeywordEmbedder:
    """Bag of words hashed into a small vector: texts sharing words are close, in any language
    only through words they share. Deterministic and instant."""

    def __init__(self, dim: int = 256, name: str = "keyword-fake"):
        self.dim = dim
        self.identity = EmbedderIdentity(name, dim, "fake")
        self.calls = 0
        self.query_prompt = self.document_prompt = ""

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

    encode_documents = encode = encode_queries


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
    scores are not on e5's scale, so the evidence models are simple hand-set ones (tests/data/calibration.json)."""
    return Settings(paths={"corpus": corpus, "data": tmp_path / "data"},
                    retrieval={"translate_queries": False,
                               "calibration": write_test_calibration(tmp_path / "calibration.json")})


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
    from qa.core.settings import Settings

    return prepare_defaults(Settings(paths={"corpus": CORPUS, "data": ROOT / ".qa"}), log=lambda m: None)


@pytest.fixture(scope="session")
def real_data(tmp_path_factory, default_models) -> Path:
    """A data folder with the corpus indexed by the real default embedder, shared by slow tests."""
    from qa.assistant import Assistant

    data = tmp_path_factory.mktemp("real_data")
    (data / "models").symlink_to((ROOT / ".qa" / "models").resolve())
    Assistant(Settings(paths={"corpus": CORPUS, "data": data})).index()
    return data


NEWS_CORPUS = ROOT / "eval" / "suites" / "news" / "corpus"


@pytest.fixture
def news(tmp_path):
    """The news suite's articles (saved pages, a PDF, front matter) indexed with the fakes."""
    from qa.assistant import Assistant

    corpus = tmp_path / "corpus"
    shutil.copytree(NEWS_CORPUS, corpus)
    settings = Settings(paths={"corpus": corpus, "data": tmp_path / "data"},
                        retrieval={"translate_queries": False,
                                   "calibration": write_test_calibration(tmp_path / "calibration.json")})
    assistant = Assistant(settings, embedder=KeywordEmbedder(), llm=FakeLLM())
    assistant.index()
    return assistant
