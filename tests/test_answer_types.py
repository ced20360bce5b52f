"""What a question asks for, in many languages (qa/answer_types.py)."""

import pytest

from qa import answer_types as t


@pytest.mark.parametrize("question,language,kind", [
    ("How many points did the defense give up?", "en", t.NUMBER),
    ("Wie viele Punkte gab die Verteidigung ab?", "de", t.NUMBER),
    ("¿Cuántos puntos cedió la defensa?", "es", t.NUMBER),
    ("Combien de points la défense a-t-elle concédés ?", "fr", t.NUMBER),
    ("Сколько очков пропустила защита?", "ru", t.NUMBER),
    ("防守丢了多少分？", "zh", t.NUMBER),
    ("When was the city founded?", "en", t.DATE),
    ("In welchem Jahr wurde die Stadt gegründet?", "de", t.DATE),
    ("¿En qué año se fundó la ciudad?", "es", t.DATE),
    ("Когда был основан город?", "ru", t.DATE),
    ("这座城市是什么时候建立的？", "zh", t.DATE),
    ("Who founded the city?", "en", t.PERSON),
    ("¿Quién fundó la ciudad?", "es", t.PERSON),
    ("Кто основал город?", "ru", t.PERSON),
    ("谁建立了这座城市？", "zh", t.PERSON),
    ("Where was Luther born?", "en", t.PLACE),
    ("Où est né Luther ?", "fr", t.PLACE),
    ("What is the name of the stadium?", "en", t.OTHER),
    # a language without its own table is read with every table's words
    ("Quanti punti ha concesso la difesa?", "xx", t.NUMBER),
])
def test_the_kind_asked_for(question, language, kind):
    assert t.asked(question, language) == kind


def test_dates_in_many_languages():
    for text in ("im März wurde", "en marzo de", "в марте", "in the 1880s", "in 1984", "das 16. Jahrhundert"):
        assert t.has_date(text), text
    assert not t.has_date("the team scored 24 points")


def test_numbers_are_amounts_not_years_or_articles():
    assert t.has_number("308 points", "en") and t.has_number("zwölf Wagen", "de")
    assert not t.has_number("It is one of the partners", "en")
    assert not t.has_number("It opened in 2016", "en")


def test_a_person_is_a_name_the_question_does_not_already_hold():
    assert t.holds(t.PERSON, "Rollo", "en", "Who led the Vikings?", sentence=False)
    assert not t.holds(t.PERSON, "He led the Vikings.", "en", "Who led the Vikings?")
    assert t.holds(t.PERSON, "维京人的首领是罗洛。", "zh", "谁领导了维京人？")  # no capitals to tell by



@pytest.mark.parametrize("question, language, words", [
    ("In how many cities will Acme operate?", "en", ("cities",)),
    ("How many registered customers does DiDi have?", "en", ("registered", "customers")),
    ("In wie vielen Städten ist Acme?", "de", ("städten",)),
    ("¿Cuántos habitantes tiene Madrid?", "es", ("habitantes",)),
    ("Who leads Acme?", "en", ()),
    ("How many Panthers defense players were selected?", "en", ("defense",)),  # a name is not what is counted
    ("Combien de villes Acme vise-t-elle ?", "fr", ("villes",)),
    ("In wie vielen Städten ist Acme?", "", ("städten",)),  # a translation: every language's asking words
    ("In wie vielen Städten ist Acme?", "zh", ()),
])
def test_what_a_count_question_counts(question, language, words):
    assert t.counted(question, language) == words


def test_the_kept_month_names_are_babels():
    header, *names = t.MONTH_NAMES.read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert header == t._babel_version()
    assert names == t.month_names()  # else: python -m qa.answer_types


def test_a_kept_month_file_without_names_falls_back_to_babel(tmp_path, monkeypatch):
    empty = tmp_path / "month_names.txt"
    empty.write_text(t._babel_version() + "\n\n\n", encoding="utf-8")
    monkeypatch.setattr(t, "MONTH_NAMES", empty)
    t._months.cache_clear()
    try:
        assert not t.has_date("Who leads DiDi?") and t.has_date("im Oktober")
    finally:
        t._months.cache_clear()
