"""The benchmark's reference replays an answer's own tokens through llama.cpp: the same tokens at the same
positions, so its prompt logits choose the answer's first token, and the assistant is left as it was."""

import dataclasses

import pytest

from conftest import CORPUS

pytestmark = pytest.mark.slow


def test_replay_decodes_the_answers_own_tokens(default_models, real_data):
    from eval.llama_bench import Replay
    from qa.assistant import Assistant
    from qa.core.records import ANSWER
    from qa.llm import LlamaCppLLM
    from qa.core.settings import Settings

    settings = Settings(paths={"data": real_data, "corpus": CORPUS},
                        retrieval={"translate_queries": False})
    llm = LlamaCppLLM(default_models["llm"], settings.llm)
    assistant = Assistant(settings, llm=llm)
    replay = Replay(llm)
    try:
        questions = ["Wie viele registrierte Kunden hat DiDi?",  # evidence in the question's language: no translation
                     "Which alliance did Renault-Nissan-Mitsubishi join?"]
        first = {}
        for i, question in enumerate(questions):
            answer = assistant.ask(question)
            first[question] = answer.raw
            stats = next((g for g in answer.generations if g.step == ANSWER), None)
            assert stats is not None, f"{question!r} was answered without the model"
            assert (stats.reused_tokens > 0) == (i > 0), "the second question reuses the instructions' state"
            done = replay(stats)
            assert done is not None
            assert done["same_first_token"], question
            assert done["prompt_s"] > 0 and done["generate_s"] > 0
            assert replay(dataclasses.replace(stats, prompt_tokens=stats.prompt_tokens + 1)) is None
        for question in questions:
            assert assistant.ask(question).raw == first[question]
    finally:
        replay.close()
