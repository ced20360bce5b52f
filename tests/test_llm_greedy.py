"""The greedy loop gives exactly what llama-cpp-python's create_completion gives at temperature 0 (on the
translation prompt, the one the model completes freely)."""

import pytest

from conftest import CORPUS

pytestmark = pytest.mark.slow


def test_greedy_matches_create_completion_on_real_prompts(default_models, real_data):
    from string import Template

    from eval.gold import load_gold
    from qa.llm import LlamaCppLLM
    from qa.core.settings import Settings
    from qa.core.languages import LANGUAGE_NAMES

    settings = Settings(paths={"data": real_data, "corpus": CORPUS})
    llm = LlamaCppLLM(default_models["llm"], settings.llm)
    template = Template((settings.paths.prompts / "translate.txt").read_text(encoding="utf-8").rstrip())
    questions = [q for q in load_gold() if not q.turns][:12]
    for q in questions:
        target = "de" if q.language == "en" else "en"
        prompt = template.substitute(source=LANGUAGE_NAMES[q.language], target=LANGUAGE_NAMES[target], text=q.question)
        llm.llm.reset()  # both from an empty cache: a different cached prefix changes the batches evaluated,
        greedy = "".join(llm._greedy(llm._tokens(prompt), 48, ["\n"]))  # and float rounding can flip a near tie
        llm.llm.reset()
        reference = "".join(llm._sampled(prompt, 48, ["\n"]))
        assert greedy == reference, q.question
        assert greedy.strip(), q.question
