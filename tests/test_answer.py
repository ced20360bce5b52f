from qa import protocol
from qa.answer import PromptBuilder, parse_answer
from qa.records import Evidence


def ev(n, text):
    return Evidence(n, "doc.txt", "doc.txt#0", 10 * n, 10 * n + len(text), text, 0.9)


def test_citations_become_records_and_unknown_numbers_are_dropped():
    evidence = [ev(1, "DiDi serves 450 million customers."), ev(2, "Cheng Wei leads DiDi.")]
    parsed = parse_answer("DiDi serves 450 million customers [1][7]. Cheng Wei leads it [2, 9].", evidence)
    assert parsed.text == "DiDi serves 450 million customers [1]. Cheng Wei leads it [2]."
    assert [c.n for c in parsed.citations] == [1, 2]
    assert parsed.citations[0].quote == "DiDi serves 450 million customers."
    assert parsed.dropped == (7, 9)


def test_the_refusal_is_recognised_in_every_language():
    for text in protocol.refusals().values():
        assert parse_answer(text, []).refused
    assert protocol.refusal("de") == "Die Quellen sagen dazu nichts."
    assert protocol.refusal("xx") == protocol.refusal("en")


def test_prompt_holds_examples_numbered_evidence_and_the_question():
    builder = PromptBuilder()
    prompt = builder.build([ev(1, "Seven  bridges\nconnect."), ev(2, "B.")], "Wie viele   Brücken?")
    assert prompt.endswith("Sources:\n[1] Seven bridges connect.\n[2] B.\nQuestion: Wie viele Brücken?\nAnswer:")
    assert protocol.refusal("en") in prompt  # the worked refusal example uses the shared constant
    one = builder.build([ev(1, "A.")], "Q?")
    assert "[2]" not in one  # examples citing a number beyond the evidence are left out
