"""Relative dates resolved against the article's publication date (qa/dates.py) and said in the answer."""

from __future__ import annotations

import pytest

from qa.dates import Resolved, meant, mentions, resolve, say

TUESDAY_REPORT = "2023-03-14"  # a Tuesday


@pytest.mark.parametrize("expression, sentence, language, published, meant", [
    ("on Tuesday", "VeloNord said on Tuesday they would merge.", "en", "2023-03-14", "2023-03-14"),
    ("am Dienstag", "Das teilten beide Firmen am Dienstag mit.", "de", "2023-03-15", "2023-03-14"),
    ("on Monday", "Brandt said at the opening on Monday.", "en", "2024-03-19", "2024-03-18"),
    ("on Friday", "The board will meet on Friday.", "en", "2023-03-14", "2023-03-17"),
    ("Last year", "Last year, riders took 9.2 million trips.", "en", "2023-03-14", "2022"),
    ("Im vergangenen Jahr", "Im vergangenen Jahr machten wir 61 Millionen Euro Umsatz.", "de", "2023-03-16", "2022"),
    ("in January", "The company opened its first site in Austria in January.", "en", "2024-03-19", "2024-01"),
    ("in October", "The merger closed in October.", "en", "2024-03-19", "2023-10"),
    ("in October", "The merger is expected to close in October.", "en", "2023-03-14", "2023-10"),
    ("im Herbst", "Im Herbst soll alles unter einem Dach sein.", "de", "2023-03-16", "2023"),
    ("yesterday", "He said yesterday.", "en", "2024-03-19", "2024-03-18"),
])
def test_a_relative_date_means_a_date_counted_from_the_articles_day(expression, sentence, language, published,
                                                                      meant):
    resolved = resolve(expression, sentence, language, published)
    assert resolved is not None
    shown = {"day": resolved.date.isoformat(), "month": resolved.date.isoformat()[:7]}.get(
        resolved.period, str(resolved.date.year))
    assert shown == meant


@pytest.mark.parametrize("expression, published", [("in 2016", "2024-03-19"), ("on 14 March 2023", "2024-03-19"),
                                                    ("on Tuesday", ""), ("the company", "2024-03-19")])
def test_nothing_is_resolved_without_a_relative_date_or_a_publication_date(expression, published):
    assert resolve(expression, expression, "en", published) is None


def test_a_resolved_date_is_said_in_the_askers_language_as_precisely_as_it_is_meant():
    import datetime as dt

    assert say(Resolved(dt.date(2023, 3, 14), "day"), "de") == "14. März 2023"
    assert say(Resolved(dt.date(2023, 3, 14), "day"), "en") == "March 14, 2023"
    assert say(Resolved(dt.date(2024, 1, 1), "month"), "de") == "Januar 2024"
    assert say(Resolved(dt.date(2022, 3, 14), "year"), "en") == "2022"


def test_weekdays_seasons_and_relative_words_are_dates_only_as_mentions():
    assert mentions("am Dienstag", "de") and mentions("last year", "en") and mentions("in the autumn", "en")
    assert not mentions("the company said", "en") and not mentions("Herbstmesse", "de")


def test_a_when_answer_from_a_dated_article_says_which_date_it_means(settings, embedder, fake_llm):
    from qa.assistant import Assistant

    (settings.paths.corpus / "busse.md").write_text(
        "---\ndate: 2023-03-15\noutlet: Kellstädter Bote\n---\nNeue Busse für Kellstadt\n\n"
        "Die Stadtwerke Kellstadt teilten am Dienstag mit, dass sie 40 neue Elektrobusse kaufen.\n",
        encoding="utf-8")
    assistant = Assistant(settings, embedder=embedder, llm=fake_llm)
    assistant.index()
    fake_llm.enqueue("am Dienstag")
    answer = assistant.ask("Wann teilten die Stadtwerke Kellstadt mit, dass sie neue Elektrobusse kaufen?")
    assert answer.mode == "composed", answer.text
    assert answer.text.startswith("Dienstag (14. März 2023) [1] — “Die Stadtwerke Kellstadt teilten am Dienstag")
    assert answer.citations[0].source.published == "2023-03-15"


def test_the_relative_date_of_a_quote_is_found_as_written():
    from qa.dates import find

    assert find("Last year, VeloNord's riders took 9.2 million trips.", "en") == "Last year"
    assert find("Das teilten beide Firmen am Dienstag mit.", "de") == "Dienstag"
    assert find("The merger closed in October, after the approval.", "en") == "October"
    assert find("The joint venture may introduce twelve models.", "en") is None  # the verb, not the month
    assert find("In 2016 they merged in May.", "en") is None  # a year is named: nothing to resolve


def test_the_date_a_sentence_means_is_found_for_matching_a_question_only_in_a_dated_article():
    assert meant("Riders took 14.1 million trips last year.", "en", "2024-03-19") == " (2023)"
    assert meant("The merger closed in October.", "en", "2024-03-19") == " (October 2023)"
    assert meant("Riders took 14.1 million trips last year.", "en", "") == ""
    assert meant("Riders took 14.1 million trips in 2023.", "en", "2024-03-19") == ""
