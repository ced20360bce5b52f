import pytest

from qa.core.errors import ConfigError
from qa.core.settings import load_settings


def test_defaults_work_offline(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.llm.temperature == 0.0 and s.retrieval.rrf_k == 60
    assert str(s.paths.corpus) == "corpus"


def test_toml_then_environment_override(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qa.toml").write_text("[llm]\nmax_tokens = 50\ncompose = false\n[paths]\ncorpus = 'articles'\n")
    monkeypatch.setenv("QA_LLM__MAX_TOKENS", "70")
    s = load_settings()
    assert s.llm.max_tokens == 70 and s.llm.compose is False and str(s.paths.corpus) == "articles"


def test_a_bad_setting_names_the_field(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QA_CHUNKING__CHUNK_TOKENS", "-5")
    with pytest.raises(ConfigError, match="bad setting chunking.chunk_tokens"):
        load_settings()


def test_an_unknown_setting_is_refused(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qa.toml").write_text("[llm]\nmodel_pth = 'x.gguf'\n")
    with pytest.raises(ConfigError, match="llm.model_pth"):
        load_settings()


def test_a_setting_that_was_removed_says_so_and_what_replaced_it(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qa.toml").write_text("[retrieval]\nmin_evidence_score = 0.87\n")
    with pytest.raises(ConfigError, match=r"retrieval.min_evidence_score no longer exists \(the evidence models"
                                          r".*remove it from qa.toml"):
        load_settings()
