from qa.core.records import Turn
from qa.followup import needs_rewrite, rewrite


def test_plain_questions_are_left_alone():
    history = [Turn("Who is DiDi's chief executive?", "Cheng Wei [1].")]
    assert rewrite("How many customers does DiDi have?", history, "en") == "How many customers does DiDi have?"
    assert not needs_rewrite("Wie viele Kunden hat DiDi?", "de")


def test_a_pronoun_becomes_the_person_named_before():
    history = [Turn("Who is DiDi's chief executive?", "Cheng Wei [1].")]
    assert rewrite("What did he say DiDi would offer?", history, "en") == "What did Cheng Wei say DiDi would offer?"
    history_de = [Turn("Wer ist der Chef von DiDi?", "Cheng Wei [1].")]
    assert rewrite("Was will er schaffen?", history_de, "de") == "Was will Cheng Wei schaffen?"


def test_their_becomes_the_names_of_the_previous_answer():
    history = [Turn("Which German carmakers merge their services?", "Daimler and BMW [1].")]
    assert rewrite("What are their offers called?", history, "en") == "What are Daimler and BMW offers called?"


def test_an_elliptical_follow_up_takes_the_previous_subject():
    history = [Turn("Wie viele registrierte Kunden hat DiDi?", "450 Millionen [1].")]
    assert "DiDi" in rewrite("Und in wie vielen Metropolen?", history, "de")


def test_without_history_nothing_changes():
    assert rewrite("What did he say?", [], "en") == "What did he say?"


def test_names_in_the_quoted_evidence_of_an_answer_are_not_the_subject():
    answer = "450 million registered customers [1] — “Zu den Investoren bei DiDi gehören u.a. Alibaba und Tencent.”"
    turn = Turn("How many registered customers does DiDi serve?", answer)
    assert rewrite("Who are its investors?", [turn], "en") == "Who are DiDi investors?"


def test_he_is_the_person_the_question_named_unless_it_asked_who():
    turn = Turn("Welche Position hat Ogi Redzic?", "Senior VP of Mobility [1] — “Ogi Redzic, Senior VP of Mobility”")
    assert rewrite("What did he call China?", [turn], "en") == "What did Ogi Redzic call China?"
    asked_who = Turn("Who is the CEO of DiDi?", "Cheng Wei [1] — “According to Cheng Wei, the CEO of DiDi”")
    assert rewrite("What did he promise?", [asked_who], "en") == "What did Cheng Wei promise?"


def test_the_earlier_question_is_read_in_the_language_of_the_conversation():
    turn = Turn("What is the Chi brand of Ogi Redzic?", "The Chi brand belongs to Jean Dupont.")  # Italian "chi": who
    assert rewrite("How old is he?", [turn], "en") == "How old is Ogi Redzic?"
