"""The ONNX Runtime embedder gives the sentence-transformers vectors, so one index serves both."""

import numpy as np
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def both(default_models):
    from index.embed import SentenceTransformerEmbedder
    from index.onnx_embed import OnnxEmbedder
    from qa import models
    from qa.core.settings import Settings

    settings = Settings(paths={"data": ROOT / ".qa"})
    folder = models.embedder_path(settings)
    return SentenceTransformerEmbedder(folder), OnnxEmbedder(folder, models.onnx_file(settings))


def sentences() -> list[str]:
    lines = (ROOT / "tests" / "data" / "sentences_en_de.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][:80] + ["x", "Ä" * 3, "DiDi " * 200]


def test_onnx_vectors_match_torch_for_queries_and_documents(both):
    torch_e, onnx_e = both
    texts = sentences()
    for method in ("encode_queries", "encode_documents"):
        a, b = getattr(torch_e, method)(texts), getattr(onnx_e, method)(texts)
        assert a.shape == b.shape == (len(texts), 384)
        cosines = np.sum(a * b, axis=1)
        assert cosines.min() > 0.99999, (method, texts[int(cosines.argmin())])


def test_onnx_counts_tokens_like_torch(both):
    torch_e, onnx_e = both
    for text in sentences()[:20]:
        assert onnx_e.count_tokens(text) == torch_e.count_tokens(text)


def test_the_assistant_uses_onnx_by_default_and_torch_when_asked(real_data):
    from index.onnx_embed import OnnxEmbedder
    from qa.assistant import Assistant
    from qa.core.settings import Settings

    assert isinstance(Assistant(Settings(paths={"data": real_data})).embedder, OnnxEmbedder)
    torch_one = Assistant(Settings(paths={"data": real_data}, embedder={"backend": "torch"}))
    assert not isinstance(torch_one.embedder, OnnxEmbedder)
    assert torch_one.loaded_index()  # the same index, no mismatch
