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


def test_a_second_context_on_the_same_weights_answers_as_one_with_its_own(default_models, real_data):
    """The translation context shares the answering model's weights (loaded once); its outputs are those of
    a context with weights of its own, and it outlives the model it borrowed from."""
    import gc
    from string import Template

    from qa.core.languages import LANGUAGE_NAMES
    from qa.core.settings import Settings
    from qa.llm import LlamaCppLLM

    settings = Settings(paths={"data": real_data, "corpus": CORPUS})
    first = LlamaCppLLM(default_models["llm"], settings.llm)
    sharing = LlamaCppLLM(default_models["llm"], settings.llm, alongside=first)
    alone = LlamaCppLLM(default_models["llm"], settings.llm)
    assert sharing.llm._model.model == first.llm._model.model != alone.llm._model.model
    assert sharing.llm._ctx.ctx != first.llm._ctx.ctx

    template = Template((settings.paths.prompts / "translate.txt").read_text(encoding="utf-8").rstrip())
    prompts = [
        template.substitute(source=LANGUAGE_NAMES["en"], target=LANGUAGE_NAMES["de"], text=text)
        for text in ("How many registered customers does DiDi serve?", "Who leads the alliance?")
    ]
    del first
    gc.collect()
    for prompt in prompts:
        texts = ["".join(llm.stream(prompt, 32, ["\n"])) for llm in (sharing, alone)]
        assert texts[0] == texts[1] and texts[0].strip()
        assert sharing._first == alone._first  # the first token's logit, to the bit
