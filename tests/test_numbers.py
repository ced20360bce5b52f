import pytest

from qa.numbers import parse_digits, quantities, supported, values


def vals(text, lang="en"):
    return [(q.value, q.currency) for q in quantities(text, lang)]


@pytest.mark.parametrize("text,lang,expected", [
    ("450 Millionen registrierte Kunden", "de", [(450e6, None)]),
    ("450 million customers", "en", [(450e6, None)]),
    ("USD 1 billion", "en", [(1e9, "USD")]),
    ("1 Mrd. US-Dollar", "de", [(1e9, "USD")]),
    ("eine Billion Euro", "de", [(1e12, "EUR")]),  # German Billion is 10^12
    ("one billion euros", "en", [(1e9, "EUR")]),
    ("twelve pure electric car models", "en", [(12, None)]),
    ("zwölf Modelle", "de", [(12, None)]),
    ("mindestens eine Million Fahrzeuge", "de", [(1e6, None)]),
    ("a million cars", "en", [(1e6, None)]),
    ("5 Tsd. Euro", "de", [(5000, "EUR")]),
    ("3 Mio. Kunden", "de", [(3e6, None)]),
    ("$10", "en", [(10, "USD")]),
    ("forty vehicles", "en", [(40, None)]),
    ("in February", "en", []),
    ("ein Auto", "de", []),
])
def test_quantities(text, lang, expected):
    assert vals(text, lang) == expected


@pytest.mark.parametrize("token,lang,value", [
    ("1.000,5", "de", 1000.5), ("1,000.5", "en", 1000.5), ("1.000", "de", 1000), ("1,000", "en", 1000),
    ("2,5", "de", 2.5), ("2.5", "en", 2.5), ("1.234.567", "de", 1234567), ("2022", "en", 2022),
])
def test_separators_by_language(token, lang, value):
    assert parse_digits(token, lang) == value


def test_same_figure_across_languages_is_supported():
    ev = quantities("DiDi bedient 450 Millionen registrierte Kunden", "de")
    assert supported(quantities("450 million", "en")[0], ev)
    assert supported(quantities("450", "en")[0], ev)  # the mantissa alone
    assert not supported(quantities("1.5 million", "en")[0], ev)
    assert not supported(quantities("45 million", "en")[0], ev)


def test_the_language_of_a_number_is_guessed_from_its_words():
    from qa.numbers import number_language

    assert number_language("eine Billion") == "de"
    assert number_language("450 Millionen") == "de"
    assert number_language("2,5 Prozent") == "de"
    assert number_language("one billion") == "en"
    assert number_language("1,000 cars") == "en"


def test_scale_words_of_other_languages_come_from_cldr():
    assert values("450 millones de clientes", "es") == {4.5e8}
    assert values("1,5 mil millones", "es") == {1.5e9}
    assert values("3 milliards", "fr") == {3e9}
    assert values("2 billions", "fr") == {2e12} and values("2 billion", "en") == {2e9}
    assert values("450 миллионов", "ru") == {4.5e8}
    assert values("450 millones", "xx") == {450.0}


def test_an_amount_with_a_scale_word_is_said_as_the_other_language_writes_it():
    from qa.numbers import say

    assert say("450 Millionen", "de", "es") == "450 millones"
    assert say("450 Millionen", "de", "en") == "450 million"
    assert say("2,8 Millionen", "de", "en") == "2.8 million"
    assert say("1 Million", "de", "es") == "1 millón"
    assert say("3 Mio.", "de", "en") == "3 million"
    assert say("3 milliards", "fr", "en") == "3 billion"
    assert say("450 Millionen", "de", "ru") == "450 миллионов"
    for text in ("450 Millionen Kunden", "rund 450 Millionen", "USD 1 billion", "450"):
        assert say(text, "de", "en") is None, text


def test_chinese_japanese_and_korean_scale_characters_are_scales():
    from qa.numbers import say

    assert values("注册用户超过4.5亿。", "zh") == {4.5e8} and values("1万人", "zh") == {1e4}
    assert values("4.5億人", "ja") == {4.5e8} and values("4억", "ko") == {4e8}
    assert say("450 Millionen", "de", "zh") == "4.5亿" and say("4.5亿", "zh", "en") == "450 million"
