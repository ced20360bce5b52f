"""The short answer is copied from the evidence sentence under a constraint (qa/extract.py)."""

from qa.extract import SpanExtractor, locate

from conftest import ROOT, FakeLLM

SENTENCE = ("Zu den Investoren bei DiDi gehören u.a. Alibaba, Tencent und Baidu, DiDi bedient mittlerweile "
            "450 Millionen registrierte Kunden in über 400 Metropolen Chinas.")


def extractor(*replies):
    return SpanExtractor(FakeLLM().enqueue(*replies), ROOT / "prompts")


def test_the_answer_is_an_exact_span_of_the_sentence():
    span = extractor("450 Millionen registrierte Kunden").extract(SENTENCE, "Wie viele Kunden hat DiDi?")
    assert span.text == "450 Millionen registrierte Kunden"
    assert SENTENCE[span.start : span.end] == span.text


def test_words_that_are_not_in_the_sentence_cannot_be_written():
    span = extractor("9 Milliarden Kunden").extract(SENTENCE, "Wie viele Kunden hat DiDi?")
    assert span is None or ("9 Milliarden" not in span.text and SENTENCE[span.start : span.end] == span.text)


def test_the_prompt_holds_the_examples_the_sentence_and_the_question():
    llm = FakeLLM().enqueue("Alibaba")
    SpanExtractor(llm, ROOT / "prompts").extract(SENTENCE, "Wer sind die Investoren?")
    assert llm.history[-1].startswith("Source: ")
    assert llm.history[-1].endswith(f"Source: {SENTENCE}\nQuestion: Wer sind die Investoren?\nAnswer:")


def test_where_a_span_may_start_can_be_restricted():
    ex = extractor("Alibaba")
    span = ex.extract(SENTENCE, "Wie viele Kunden?", may_start=lambda word: word[:1].isdigit())
    assert span is not None and span.text[:1].isdigit()


def test_streamed_pieces_make_up_the_span():
    stream = extractor("450 Millionen registrierte Kunden").stream(SENTENCE, "Wie viele Kunden hat DiDi?")
    pieces = []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as done:
            span, _ = done.value
            break
    assert "".join(pieces) == span.text


def test_a_span_keeps_whole_words_whole_quantities_and_drops_the_full_stop():
    assert locate(SENTENCE, "450").text == "450 Millionen"
    assert locate("It may invest nearly USD 1 billion by 2022.", "USD 1").text == "USD 1 billion"
    assert locate("It was founded by Rollo.", "Rol").text == "Rollo"
    assert locate("It was founded by Rollo.", "Rollo.").text == "Rollo"
    assert locate("It was founded by the U.S. Army in 1950.", "the U.S.").text == "the U.S."
    assert locate(SENTENCE, "Tesla") is None


def test_in_chinese_an_answer_may_start_inside_the_sentence():
    sentence = "该公司的注册用户超过450万。"
    span = extractor("450万").extract(sentence, "该公司有多少用户？", may_start=lambda word: word[:1].isdigit())
    assert span is not None and span.text == "450万"
    assert sentence[span.start : span.end] == "450万"


def test_of_two_occurrences_the_span_is_the_one_the_model_copied():
    sentence = "Sixt paid 20 million in 2015, and BMW paid  20 million for the rest."
    second = sentence.index("20 million", 20)
    assert locate(sentence, "20 million").start == sentence.index("20 million")
    flat_second = " ".join(sentence.split()).index("20 million", 20)
    assert locate(sentence, "20 million", at=flat_second).start == second
    span = extractor("20 million for the rest").extract(sentence, "What did BMW pay?")
    assert span.start == second and span.text == "20 million for the rest"


def test_a_number_keeps_the_scale_word_of_the_sentence_language():
    sentence = "La empresa atiende a 450 millones de clientes y factura 1,5 mil millones de euros."
    assert locate(sentence, "450").text == "450"
    assert locate(sentence, "450", language="es").text == "450 millones"
    assert locate(sentence, "1,5", language="es").text == "1,5 mil millones"


def test_a_chinese_amount_keeps_its_scale_character():
    assert locate("该公司的注册用户超过4.5亿。", "4", language="zh").text == "4.5亿"
