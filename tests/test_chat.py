"""The terminal chat: follow-ups are rewritten from the conversation, sources follow each answer."""

from qa.cli import chat_loop


def run_chat(assistant, lines):
    out = []
    chat_loop(assistant, lines, out.append)
    return "".join(out)


def test_a_follow_up_uses_the_earlier_turn(assistant, fake_llm):
    fake_llm.enqueue("DiDi bedient 450 Millionen registrierte Kunden [1].", "In über 400 Metropolen [1].")
    text = run_chat(assistant, ["Wie viele registrierte Kunden hat DiDi?", "/rewrite",
                                "Und in wie vielen Metropolen?", "/quit", "never asked"])
    assert "450 Millionen" in text and "Sources:" in text
    assert "(asked as: In wie vielen Metropolen (" in text and "DiDi" in text.split("(asked as:")[1]
    prompt = fake_llm.history[-1]
    assert "DiDi" in prompt.rsplit("Question:", 1)[1]  # the model saw the standalone question
    assert len(fake_llm.history) == 2


def test_new_forgets_the_conversation(assistant, fake_llm):
    text = run_chat(assistant, ["Wie viele registrierte Kunden hat DiDi?", "/new", "/rewrite",
                                "Und in wie vielen Metropolen?"])
    assert "(new conversation)" in text
    assert "(asked as:" not in text  # nothing to rewrite from
