"""The one-way rule between layers (pyproject.toml, [tool.importlinter]) holds, and a break of it is caught."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_import_contracts_are_kept():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_an_index_module_importing_the_assistant_breaks_the_contract(tmp_path):
    for part in ("qa", "index", "eval"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "index" / "text.py", "a", encoding="utf-8") as fh:
        fh.write("\nimport qa.assistant  # noqa\n")
    done = lint(tmp_path)
    assert done.returncode == 1
    assert "One way: faces, harness, assistant, steps, index, kernel BROKEN" in done.stdout
    assert "index.text -> qa.assistant" in done.stdout


def test_every_module_of_the_assistant_has_its_layer():
    """A new module must be placed in a layer, or the contract says nothing about it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    named = {m.strip() for layer in config["contracts"][0]["layers"] for m in layer.replace(":", "|").split("|")}
    modules = {f"qa.{p.stem}" for p in (ROOT / "qa").glob("*.py") if p.stem != "__init__"}
    modules |= {f"qa.{p.parent.name}" for p in (ROOT / "qa").glob("*/__init__.py")}
    assert modules - named == set()
    assert {"index", "qa.core", "eval"} <= named


def test_the_fakes_implement_the_whole_protocols():
    """Tests run the assistant on fakes: a fake that lacks a member the assistant uses would test another API."""
    from conftest import FakeLLM, KeywordEmbedder
    from index.embed import Embedder
    from qa.llm import LLM, Generation

    llm, embedder = FakeLLM("450 Millionen"), KeywordEmbedder()
    assert isinstance(llm, LLM) and isinstance(embedder, Embedder)
    generation = llm.stream("Question: how many?", 8, ["\n"])
    assert isinstance(generation, Generation) and generation.stats is None
    assert "".join(generation) == "450 Millionen"
    assert generation.stats is not None and generation.stats.generated_tokens == 2
