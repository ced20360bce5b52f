"""Steps of the answer pipeline that need no model (qa/pipeline.py)."""

import pytest

from qa.pipeline import set_names_aside


def test_names_and_numbers_are_set_aside_when_telling_the_language():
    assert set_names_aside("Wer leitet DiDi Chuxing seit 2012?").split() == ["Wer", "leitet", "seit", "?"]
    assert set_names_aside("Renault-Nissan-Mitsubishi joined which alliance?").split()[:1] == ["Renault-Nissan-Mitsubishi"]


@pytest.mark.parametrize("question,language", [
    ("Did Renault-Nissan-Mitsubishi join the DiDi Auto Alliance in Beijing?", "en"),
    ("Wer leitet Didi Chuxing?", "de"),
    ("¿Cuántos puntos cedió la defensa de los Carolina Panthers?", "es"),
    ("Сколько очков пропустила защита Panthers?", "ru"),
    ("黑豹队的防守丢了多少分？", "zh"),
])
def test_the_question_language_is_told_by_its_own_words(assistant, question, language):
    assert assistant.question_language(question) == language
