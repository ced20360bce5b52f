from index.text import normalise
from qa import protocol
from qa.assistant import Assistant, Token
from qa.present import answer_json
from qa.records import Answer

from conftest import CORPUS


def test_a_cited_answer_points_at_the_exact_passage(assistant, fake_llm):
    fake_llm.enqueue("DiDi bedient 450 Millionen registrierte Kunden [1].")
    answer = assistant.ask("Wie viele registrierte Kunden hat DiDi?")
    assert answer.mode == "composed" and not answer.refused
    assert "450 Millionen" in answer.text
    c = answer.citations[0]
    assert c.doc_id == "002_2f609247c276f3f8.txt"
    original = normalise((CORPUS / c.doc_id).read_text(encoding="utf-8"))
    assert original[c.char_start : c.char_end] == c.quote
    assert "450 Millionen registrierte Kunden" in c.quote


def test_the_model_sees_the_best_evidence_and_the_question(assistant, fake_llm):
    assistant.ask("Wie viele registrierte Kunden hat DiDi?")
    prompt = fake_llm.history[-1]
    assert prompt.rstrip().endswith("Question: Wie viele registrierte Kunden hat DiDi?\nAnswer:")
    tail = prompt.rsplit("Sources:\n", 1)[1]
    assert "[1] Zu den Investoren bei DiDi" in tail
    assert "[3]" not in tail  # two evidence sentences by default


def test_a_citation_number_never_given_is_dropped(assistant, fake_llm):
    fake_llm.enqueue("DiDi bedient 450 Millionen registrierte Kunden [1] [5].")
    answer = assistant.ask("Wie viele registrierte Kunden hat DiDi?")
    assert "[5]" not in answer.text
    assert [c.n for c in answer.citations] == [1]


def test_tokens_stream_before_the_checked_answer(assistant, fake_llm):
    fake_llm.enqueue("DiDi bedient 450 Millionen registrierte Kunden [1].")
    events = list(assistant.ask_stream("Wie viele registrierte Kunden hat DiDi?"))
    assert all(isinstance(e, Token) for e in events[:-1]) and len(events) > 3
    assert isinstance(events[-1], Answer)
    assert "".join(e.text for e in events[:-1]) == events[-1].raw


def test_a_refusing_model_gives_the_refusal_in_the_question_language(assistant, fake_llm):
    fake_llm.enqueue(protocol.refusal("en"))
    answer = assistant.ask("Wie teuer ist eine Fahrt mit DiDi?")
    assert answer.refused and answer.mode == "refused"
    assert answer.text == protocol.refusal("de") and answer.citations == ()


def test_an_empty_index_refuses_without_asking_the_model(settings, embedder, fake_llm, tmp_path):
    empty = tmp_path / "empty_corpus"
    empty.mkdir()
    a = Assistant(settings, embedder=embedder, llm=fake_llm)
    a.index(empty)
    answer = a.ask("Who leads DiDi?")
    assert answer.refused and fake_llm.history == []


def test_json_output_has_the_documented_shape(assistant, fake_llm):
    fake_llm.enqueue("DiDi bedient 450 Millionen registrierte Kunden [1].")
    answer = assistant.ask("Wie viele registrierte Kunden hat DiDi?")
    data = answer_json(answer, assistant.loaded_index().data.documents)
    assert set(data) >= {"question", "answer", "refused", "language", "citations", "timings", "models"}
    assert set(data["timings"]) >= {"retrieve_s", "generate_s", "total_s"}
    c = data["citations"][0]
    assert set(c) >= {"n", "file", "title", "char_start", "char_end", "quote"}
    assert c["file"] == "002_2f609247c276f3f8.txt" and c["title"] == "Renault-Nissan wird Partner der DiDi Auto Alliance"
    text = normalise((CORPUS / c["file"]).read_text(encoding="utf-8"))
    assert text[c["char_start"] : c["char_end"]] == c["quote"]
    assert data["language"] == "de"


def test_info_describes_the_index(assistant):
    info = assistant.info()
    assert info["indexed"]["counts"]["documents"] == 3
    assert info["indexed"]["documents"]["002_2f609247c276f3f8.txt"]["language"] == "de"


def test_evidence_is_packed_to_the_token_budget(settings, embedder, fake_llm):
    tight = settings.model_copy(update={"llm": settings.llm.model_copy(update={"evidence_tokens": 10})})
    a = Assistant(tight, embedder=embedder, llm=fake_llm)
    a.index()
    a.ask("Wie viele registrierte Kunden hat DiDi?")
    tail = fake_llm.history[-1].rsplit("Sources:\n", 1)[1]
    assert "[1] Zu den Investoren bei DiDi" in tail and "[2]" not in tail  # the best one always, no more


def test_an_empty_question_is_a_clear_error_for_every_caller(assistant, fake_llm):
    import pytest

    from qa.errors import EmptyQuestionError
    from qa.web import ChatApp

    with pytest.raises(EmptyQuestionError, match="the question is empty"):
        assistant.ask(" \n ")
    with pytest.raises(Exception, match="the question is empty"):  # gr.Error for API clients
        ChatApp(assistant).ask_api("   ")
    assert fake_llm.history == []
