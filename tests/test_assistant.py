import pytest

from index.text import normalise
from qa.core import protocol
from qa.assistant import Assistant, Token
from qa.core.records import EmbedderIdentity
from qa.present import answer_json
from qa.core.records import Answer

from conftest import CORPUS

CUSTOMERS = "Wie viele registrierte Kunden hat DiDi?"
SENTENCE = ("Zu den Investoren bei DiDi gehören u.a. Alibaba, Tencent und Baidu, DiDi bedient mittlerweile "
            "450 Millionen registrierte Kunden in über 400 Metropolen Chinas.")


def test_a_short_answer_is_followed_by_the_exact_passage_it_rests_on(assistant, fake_llm):
    fake_llm.enqueue("450 Millionen registrierte Kunden")
    answer = assistant.ask(CUSTOMERS)
    assert answer.mode == "composed" and not answer.refused
    assert answer.text == f"450 Millionen registrierte Kunden [1] — “{SENTENCE}”"
    c = answer.citations[0]
    assert c.doc_id == "002_2f609247c276f3f8.txt" and c.quote == SENTENCE
    original = normalise((CORPUS / c.doc_id).read_text(encoding="utf-8"))
    assert original[c.char_start : c.char_end] == c.quote
    assert answer.evidence[0].text == SENTENCE and answer.hits


def test_the_model_sees_the_best_sentence_and_the_question(assistant, fake_llm):
    assistant.ask(CUSTOMERS)
    assert fake_llm.history[-1].endswith(f"Source: {SENTENCE}\nQuestion: {CUSTOMERS}\nAnswer:")


def test_words_the_sentence_does_not_hold_are_never_the_answer(assistant, fake_llm):
    fake_llm.enqueue("9 Milliarden registrierte Kunden")
    answer = assistant.ask(CUSTOMERS)
    assert "9 Milliarden" not in answer.text and not answer.refused
    assert answer.citations[0].quote == SENTENCE


def test_a_number_asked_for_starts_at_a_number_whatever_the_model_prefers(assistant, fake_llm):
    fake_llm.enqueue("Alibaba, Tencent und Baidu")
    answer = assistant.ask(CUSTOMERS)
    assert answer.mode == "composed" and answer.text.startswith("450 Millionen")


@pytest.mark.parametrize("question,said", [
    ("How many registered customers does DiDi have?", "450 million"),
    ("¿Cuántos clientes registrados tiene DiDi?", "450 millones"),
])
def test_an_amount_the_model_leaves_untranslated_is_written_as_the_question_language_writes_it(
        assistant, fake_llm, question, said):
    fake_llm.enqueue("450 Millionen", "450 Millionen")  # the span, then a "translation" that copies it
    answer = assistant.ask(question)
    assert answer.mode == "composed" and answer.text == f"{said} [1] — “{SENTENCE}”"
    assert len(fake_llm.history) == 2


def test_a_short_answer_of_the_wrong_kind_falls_back_to_the_quote(assistant, fake_llm):
    fake_llm.enqueue("mittlerweile")  # no name, where a person is asked for
    answer = assistant.ask("Wer sind die Investoren bei DiDi?")
    assert answer.mode == "quoted"
    assert answer.text == f"{protocol.quoted_lead('de')} “{SENTENCE}” [1]"


def test_tokens_stream_before_the_checked_answer(assistant, fake_llm):
    fake_llm.enqueue("450 Millionen registrierte Kunden")
    events = list(assistant.ask_stream(CUSTOMERS))
    assert all(isinstance(e, Token) for e in events[:-1]) and len(events) >= 4
    assert isinstance(events[-1], Answer)
    assert "".join(e.text for e in events[:-1]) == events[-1].raw == "450 Millionen registrierte Kunden"


def test_an_answer_carries_every_generation_the_model_ran_for_it(settings, embedder, fake_llm):
    translating = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(
        update={"translate_queries": True})})
    a = Assistant(translating, embedder=embedder, llm=fake_llm)
    a.index()
    fake_llm.enqueue("How many registered customers does DiDi have?", "450 Millionen registrierte Kunden")
    answer = a.ask(CUSTOMERS)
    assert answer.translations == ("How many registered customers does DiDi have?",)
    assert [g.step for g in answer.generations] == ["question translation", "answer"]
    translation, span = answer.generations
    assert translation.generated_tokens == 7 and span.generated_tokens == 4
    assert span.prompt_tokens == len(fake_llm.tokenize(fake_llm.history[-1]))


def test_a_question_the_sources_do_not_answer_is_refused_in_its_language(assistant, fake_llm):
    answer = assistant.ask("Wie teuer ist eine Fahrt mit dem Tesla Roadster?")
    assert answer.refused and answer.mode == "refused"
    assert answer.text == protocol.refusal("de") and answer.citations == ()
    assert fake_llm.history == []  # refused before the model is asked


def test_an_empty_index_refuses_without_asking_the_model(settings, embedder, fake_llm, tmp_path):
    empty = tmp_path / "empty_corpus"
    empty.mkdir()
    a = Assistant(settings, embedder=embedder, llm=fake_llm)
    a.index(empty)
    answer = a.ask("Who leads DiDi?")
    assert answer.refused and fake_llm.history == []


def test_quote_only_mode_never_asks_the_model(settings, embedder, fake_llm):
    quoting = settings.model_copy(update={"llm": settings.llm.model_copy(update={"compose": False})})
    a = Assistant(quoting, embedder=embedder, llm=fake_llm)
    a.index()
    answer = a.ask(CUSTOMERS)
    assert answer.mode == "quoted" and SENTENCE in answer.text and fake_llm.history == []


def test_json_output_has_the_documented_shape(assistant, fake_llm):
    fake_llm.enqueue("450 Millionen registrierte Kunden")
    answer = assistant.ask(CUSTOMERS)
    data = answer_json(answer)
    assert set(data) >= {"question", "answer", "refused", "language", "citations", "timings", "models"}
    assert set(data["timings"]) >= {"retrieve_s", "generate_s", "total_s"}
    c = data["citations"][0]
    assert set(c) >= {"n", "file", "title", "char_start", "char_end", "quote"}
    assert c["file"] == "002_2f609247c276f3f8.txt" and c["title"] == "Renault-Nissan wird Partner der DiDi Auto Alliance"
    assert c["language"] == "de" and answer.citations[0].title == c["title"]
    text = normalise((CORPUS / c["file"]).read_text(encoding="utf-8"))
    assert text[c["char_start"] : c["char_end"]] == c["quote"]
    assert data["language"] == "de"


def test_info_describes_the_index(assistant):
    info = assistant.info()
    assert info["indexed"]["counts"]["documents"] == 3
    assert info["indexed"]["documents"]["002_2f609247c276f3f8.txt"]["language"] == "de"
    assert info["indexed"]["search"] == "FAISS"


def test_an_empty_question_is_a_clear_error_for_every_caller(assistant, fake_llm):
    import pytest

    from qa.core.errors import EmptyQuestionError
    from qa.web import ChatApp

    with pytest.raises(EmptyQuestionError, match="the question is empty"):
        assistant.ask(" \n ")
    with pytest.raises(Exception, match="the question is empty"):  # gr.Error for API clients
        ChatApp(assistant).ask_api("   ")
    assert fake_llm.history == []


def test_retrieval_and_language_detection_never_load_the_answering_model(settings, embedder, monkeypatch):
    from qa import models

    def no_model(_settings):
        raise AssertionError("the answering model was loaded")

    monkeypatch.setattr(models, "load_llm", no_model)
    a = Assistant(settings, embedder=embedder)
    a.index()
    language = a.question_language(CUSTOMERS)
    assert language == "de"
    assert a.translations(CUSTOMERS, language) == ()
    assert a.retrieve(CUSTOMERS).evidence


def _with_fitted_embedder(settings, identity, path):
    import json

    raw = json.loads(settings.retrieval.calibration.read_text(encoding="utf-8"))
    raw["meta"]["embedder"] = identity.to_json()
    path.write_text(json.dumps(raw), encoding="utf-8")
    return settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"calibration": path})})


def test_evidence_models_fitted_for_another_embedder_are_named_in_a_warning(settings, embedder, fake_llm,
                                                                             tmp_path, caplog):
    other = EmbedderIdentity("some-other-embedder", 384, "0123456789abcdef")
    a = Assistant(_with_fitted_embedder(settings, other, tmp_path / "c.json"), embedder=embedder, llm=fake_llm)
    a.index()
    with caplog.at_level("WARNING", logger="qa.assistant"):
        a.ask(CUSTOMERS)
    assert ("fitted for the embedder some-other-embedder (384 dimensions, fingerprint 0123456789abcdef)"
            in caplog.text)
    assert "refit with `make fit`" in caplog.text


def test_evidence_models_fitted_for_this_embedder_warn_of_nothing(settings, embedder, fake_llm, tmp_path,
                                                                  caplog):
    a = Assistant(_with_fitted_embedder(settings, embedder.identity, tmp_path / "c.json"), embedder=embedder,
                  llm=fake_llm)
    a.index()
    with caplog.at_level("WARNING", logger="qa.assistant"):
        a.ask(CUSTOMERS)
    assert "fitted for the embedder" not in caplog.text
