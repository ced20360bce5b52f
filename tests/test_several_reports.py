"""Several articles, one answer: independent reports that state the same fact are cited together; reports that
give different figures are both named, each with its own citation (qa/pipeline.py, `other_reports`)."""

from __future__ import annotations

import shutil

import pytest

from qa.assistant import Assistant
from qa.core import protocol
from qa.core.settings import Settings

from conftest import FakeLLM, KeywordEmbedder, write_test_calibration

REPORT = "---\noutlet: {outlet}\ndate: {date}\n---\n{sentence}\n"
# Independent reports, written each in its own words (copies of one report are one source: test_copies.py)
NORDPRESSE = ("Radverbund wächst\n\nDer Radverbund Nordalp betreibt Leihräder in {n} Städten. Das teilte das "
              "Unternehmen in Hamburg mit. Die Zentrale bleibt an der Elbe.")
ABENDPOST = ("Neuer Anbieter in München\n\nIn {n} Städten betreibt der Radverbund Nordalp inzwischen Leihräder, "
             "berichtet die Firma. Auch am Marienplatz stehen nun Stationen. Die Preise sollen gleich bleiben.")
LATER = ("Ein Jahr Radverbund\n\nDer Radverbund Nordalp ist nun in {n} Städten mit Leihrädern vertreten, sagte "
         "die Chefin. Neue Werkstätten sind geplant. Die App wird erneuert.")
RANGE = ("Radverbund wächst\n\nDer Radverbund Nordalp wuchs mit 4000 Rädern von 12 auf 31 deutsche Städte. Das "
         "teilte das Unternehmen mit. Die Zentrale bleibt in Hamburg.")
MIXED = ("Radverbund startet\n\nDer Radverbund Nordalp betreibt 4000 Räder in 31 Städten. Das teilte das Unternehmen "
         "mit. Die Zentrale bleibt in Hamburg.")


@pytest.fixture
def reports(tmp_path):
    def make(*articles):
        corpus = tmp_path / "corpus"
        if corpus.exists():
            shutil.rmtree(corpus)
        corpus.mkdir()
        for i, (outlet, date, sentence) in enumerate(articles):
            (corpus / f"{i}.md").write_text(REPORT.format(outlet=outlet, date=date, sentence=sentence),
                                            encoding="utf-8")
        settings = Settings(paths={"corpus": corpus, "data": tmp_path / "data"},
                            retrieval={"translate_queries": False,
                                       "calibration": write_test_calibration(tmp_path / "calibration.json")})
        llm = FakeLLM()
        assistant = Assistant(settings, embedder=KeywordEmbedder(), llm=llm)
        assistant.index(rebuild=True)
        return assistant, llm

    return make


QUESTION = "In wie vielen Städten betreibt der Radverbund Nordalp Leihräder?"


def test_two_reports_with_different_figures_are_both_named_with_their_sources(reports):
    assistant, llm = reports(
        ("Nordpresse", "2023-03-14", NORDPRESSE.format(n=31)),
        ("Abendpost", "2023-03-14", ABENDPOST.format(n=29)),
    )
    llm.enqueue("31", "29")
    answer = assistant.ask(QUESTION)
    assert answer.mode == "composed", answer.text
    first, second = answer.citations
    assert {first.source.outlet, second.source.outlet} == {"Nordpresse", "Abendpost"}
    figures = {c.source.outlet: ("31" if "31" in c.quote else "29") for c in answer.citations}
    a, b = (figures[c.source.outlet] for c in answer.citations)
    assert answer.text.startswith(f"{a} [{first.n}] oder {b} [{second.n}], je nach Bericht — ")
    assert answer.text.endswith(f"“{first.quote}” [{first.n}] · “{second.quote}” [{second.n}]")


def test_reports_of_different_days_give_each_figure_its_date(reports):
    assistant, llm = reports(
        ("Nordpresse", "2023-03-14", NORDPRESSE.format(n=31)),
        ("Alpine Review", "2024-03-19", ABENDPOST.format(n=34)),
    )
    llm.enqueue("31", "34", "34", "31")
    answer = assistant.ask(QUESTION)
    said = {c.source.published: c for c in answer.citations}
    assert set(said) == {"2023-03-14", "2024-03-19"}
    assert "(14. März 2023)" in answer.text and "(19. März 2024)" in answer.text


def test_independent_reports_of_the_same_fact_are_cited_together(reports):
    assistant, llm = reports(
        ("Nordpresse", "2023-03-14", NORDPRESSE.format(n=31)),
        ("Abendpost", "2023-03-15", ABENDPOST.format(n=31)),
    )
    llm.enqueue("31")
    answer = assistant.ask(QUESTION)
    assert answer.text.startswith("31 [1, 2] — ")
    assert {c.source.outlet for c in answer.citations} == {"Nordpresse", "Abendpost"}
    assert len(llm.history) == 1  # agreeing needs no second extraction


def test_a_copy_of_the_same_report_is_never_a_second_source(reports):
    reprint = NORDPRESSE.format(n=31).replace("Radverbund wächst", "Nordalp legt zu")
    assistant, llm = reports(
        ("Nordpresse", "2023-03-14", NORDPRESSE.format(n=31)),
        ("Baltic Daily", "2023-03-14", reprint),
        ("Abendpost", "2023-03-15", ABENDPOST.format(n=31)),
    )
    llm.enqueue("31")
    answer = assistant.ask(QUESTION)
    outlets = [c.source.outlet for c in answer.citations]
    assert len(outlets) == 2 and "Abendpost" in outlets and not {"Nordpresse", "Baltic Daily"} <= set(outlets)
    wire = next(c for c in answer.citations if c.source.outlet != "Abendpost")
    assert [r.source.outlet for r in wire.also] == [({"Nordpresse", "Baltic Daily"} - {wire.source.outlet}).pop()]


def test_three_reports_with_three_figures_name_every_figure_with_its_source(reports):
    assistant, llm = reports(
        ("Nordpresse", "2023-03-14", NORDPRESSE.format(n=31)),
        ("Abendpost", "2023-03-14", ABENDPOST.format(n=29)),
        ("Alpine Review", "2023-03-14", LATER.format(n=34)),
    )
    llm.enqueue("31", "29", "34", "29", "31", "34", "34", "31", "29")
    answer = assistant.ask(QUESTION)
    assert len(answer.citations) == 3
    first, second, third = answer.citations
    figure = {c.n: next(n for n in ("31", "29", "34") if n in c.quote) for c in answer.citations}
    assert answer.text.startswith(f"{figure[first.n]} [{first.n}], {figure[second.n]} [{second.n}] oder "
                                  f"{figure[third.n]} [{third.n}], je nach Bericht — ")
    assert all(f"“{c.quote}” [{c.n}]" in answer.text for c in answer.citations)
    assert protocol.short_part(answer.text) == answer.text.split(" — ")[0]  # shown in bold, scored as the claim


def test_a_report_agreeing_with_another_figure_is_cited_beside_that_figure(reports):
    assistant, llm = reports(
        ("Nordpresse", "2023-03-14", NORDPRESSE.format(n=31)),
        ("Abendpost", "2023-03-14", ABENDPOST.format(n=29)),
        ("Alpine Review", "2023-03-14", LATER.format(n=29)),
    )
    llm.enqueue("31", "29", "31", "29")
    answer = assistant.ask(QUESTION)
    by_figure: dict[str, list[int]] = {}
    for c in answer.citations:
        by_figure.setdefault("31" if "31" in c.quote else "29", []).append(c.n)
    assert sorted(map(len, by_figure.values())) == [1, 2], answer.text
    a, b = (by_figure[f] for f in ("31", "29"))
    assert f"31 [{', '.join(map(str, a))}]" in answer.text and f"29 [{', '.join(map(str, b))}]" in answer.text


def test_how_many_x_starts_the_answer_at_the_number_of_x(reports):
    assistant, llm = reports(("Nordpresse", "2023-03-14", MIXED))
    llm.enqueue("4000")  # the model would take the bikes; the question counts cities
    answer = assistant.ask("In wie vielen Städten betreibt der Radverbund Nordalp seine Räder?")
    assert answer.text.startswith("31 [1] — "), answer.text
    llm.enqueue("31")
    answer = assistant.ask("Wie viele Räder betreibt der Radverbund Nordalp in seinen Städten?")
    assert answer.text.startswith("4000 Räder [1] — ") or answer.text.startswith("4000 [1] — "), answer.text



def test_both_ends_of_a_range_count_what_follows_it(reports):
    assistant, llm = reports(("Nordpresse", "2023-03-14", RANGE))
    llm.enqueue("12")
    answer = assistant.ask("In wie vielen Städten war der Radverbund Nordalp zuerst?")
    assert answer.text.startswith("12 [1] — "), answer.text
