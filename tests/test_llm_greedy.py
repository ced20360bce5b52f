"""The greedy loop gives exactly what llama-cpp-python's create_completion gives at temperature 0."""

import pytest

from conftest import CORPUS

pytestmark = pytest.mark.slow


def test_greedy_matches_create_completion_on_real_prompts(default_models, real_data):
    from eval.gold import load_gold
    from qa.answer import STOP, PromptBuilder
    from qa.llm import LlamaCppLLM
    from qa.settings import Settings

    settings = Settings(paths={"data": real_data, "corpus": CORPUS})
    llm = LlamaCppLLM(default_models["llm"], settings.llm)
    prompts = PromptBuilder(settings.paths.prompts)
    from qa.assistant import Assistant

    assistant = Assistant(settings, llm=llm)
    questions = [q.question for q in load_gold() if not q.turns][:12]
    for question in questions:
        evidence = assistant.retrieve(question).evidence[:2]
        prompt = prompts.build(list(evidence), question)
        llm.llm.reset()  # both from an empty cache: a different cached prefix changes the batches evaluated,
        greedy = "".join(llm._greedy(llm._tokens(prompt), 96, STOP))  # and float rounding can flip a near tie
        llm.llm.reset()
        reference = "".join(llm._sampled(prompt, 96, STOP))
        assert greedy == reference, question
    assert "".join(llm.stream("Sources:\n[1] DiDi serves 450 million users.\nQuestion: How many users?\nAnswer:",
                              8, ["\n", "Question:"])) != ""
