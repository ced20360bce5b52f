"""The quality gates on the real default models, and proof that they catch a worse pipeline."""

import shutil

import pytest

from eval import harness
from eval import suites as suite_lib
from qa.assistant import Assistant
from qa.core.settings import Settings

from conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow


def run(settings, suite="seed"):
    s = suite_lib.suite(suite, settings)
    assistant = Assistant(suite_lib.suite_settings(settings, s))
    assistant.index(s.corpus)
    report = harness.run(assistant, s.questions(), suite=suite)
    return report, harness.gate(report["summary"], harness.load_thresholds(suite))


_DEFAULT: dict[str, tuple[dict, list[str]]] = {}


def run_default(real_data, suite):
    """The default pipeline's run of a suite, made once for the gate and the backend comparison."""
    if suite not in _DEFAULT:
        _DEFAULT[suite] = run(Settings(paths={"corpus": CORPUS, "data": real_data}), suite)
    return _DEFAULT[suite]


def test_the_pipeline_passes_the_seed_gate(real_data):
    report, failures = run_default(real_data, "seed")
    assert failures == []
    assert len(report["questions"]) >= 40
    assert {"EN→EN", "EN→DE", "DE→EN", "DE→DE", "unanswerable", "multi-turn"} <= set(report["summary"])


def test_the_pipeline_passes_the_xquad_gate(real_data):
    """The whole development half of XQuAD as a mixed en/de/es collection, near-topic questions included."""
    report, failures = run_default(real_data, "xquad")
    assert failures == []
    summary = report["summary"]
    assert summary["all"]["questions"] >= 650 and summary["near-topic"]["questions"] >= 30
    assert {"half A", "half B", "ES→DE", "DE→ES", "EN→EN"} <= set(summary)


def test_a_blind_short_answer_prompt_fails_the_gate(real_data, tmp_path):
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    (prompts / "extract.txt").write_text("Question: $question\nAnswer:")  # no sentence, no worked examples
    report, failures = run(Settings(paths={"corpus": CORPUS, "data": real_data, "prompts": prompts}))
    # The answers still rest on the right sentences (quoted), but fewer short answers pass their checks.
    assert any(f.startswith(("composed_share", "native_recall")) for f in failures), failures


def test_retrieving_fewer_chunks_fails_the_gate(real_data):
    settings = Settings(paths={"corpus": CORPUS, "data": real_data},
                        retrieval={"k_dense": 1, "k_lexical": 1, "top_chunks": 1})
    _, failures = run(settings)
    assert any(f.startswith(("recall_at", "mrr_at", "ndcg_at", "fact_recall")) for f in failures), failures


@pytest.mark.parametrize("suite", ["seed", "xquad"])
def test_the_suites_score_the_same_on_milvus(real_data, suite, tmp_path):
    """The default index moved to Milvus (milvus-lite) without embedding again, then the suite run on it:
    the gate passes and every gated score is within 0.01 of FAISS."""
    pytest.importorskip("milvus_lite")
    default, _ = run_default(real_data, suite)
    data = tmp_path / "data"
    faiss_index = real_data / "index" if suite == "seed" else real_data / "suites" / suite / "index"
    milvus_index = data / "index" if suite == "seed" else data / "suites" / suite / "index"
    shutil.copytree(faiss_index, milvus_index)
    (data / "models").symlink_to(real_data / "models")
    settings = Settings(paths={"corpus": CORPUS, "data": data}, vectors={"backend": "milvus"})
    s = suite_lib.suite(suite, settings)
    assistant = Assistant(suite_lib.suite_settings(settings, s))
    moved = assistant.index(s.corpus)
    assert moved.moved and moved.written and not (moved.added or moved.updated or moved.removed)
    assert (milvus_index / "milvus.db").is_dir() and not list(milvus_index.glob("dense-*"))
    report = harness.run(assistant, s.questions(), suite=suite)
    thresholds = harness.load_thresholds(suite)
    assert harness.gate(report["summary"], thresholds) == []
    gated = {name for table in ("min", "max") for name in thresholds.get(table, {})}
    before, after = default["summary"]["all"], report["summary"]["all"]
    assert gated and {name: (before[name], after[name]) for name in gated if abs(before[name] - after[name]) > 0.01} == {}
