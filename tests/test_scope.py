"""Asking only some articles: by publication date, outlet and language, the same in the CLI, the web app and
its API (qa.core.records.Scope)."""

from __future__ import annotations

import sys

import gradio as gr
import pytest

from qa.core.errors import QAError, ScopeError
from qa.core.records import Document, Scope, Source
from qa.web import ChatApp, new_session

from conftest import ROOT

NEWS = ROOT / "eval" / "suites" / "news" / "corpus"
QUESTION = "How many bikes will Nordalp Mobility operate?"


def doc(published="", outlet="", url="", language="en") -> Document:
    return Document("d", "d", "T", language, "x", "0", source=Source(outlet, "", published, url))


def test_a_scope_admits_by_date_outlet_and_language():
    assert Scope(since="2023-03-01").admits(doc("2023-03-14")) and not Scope(since="2023-03-15").admits(doc("2023-03-14"))
    assert Scope(until="2023-03-14").admits(doc("2023-03-14")) and not Scope(until="2023-03-13").admits(doc("2023-03-14"))
    assert not Scope(since="2000-01-01").admits(doc(""))  # an undated article cannot be said to be since a day
    assert Scope(outlets=("nordpresse",)).admits(doc(outlet="Nordpresse"))
    assert Scope(outlets=("dw.com",)).admits(doc(outlet="DW", url="https://www.dw.com/de/a-1"))
    assert not Scope(outlets=("dw.com",)).admits(doc(outlet="DW", url="https://notdw.com/a"))
    assert Scope(languages=("de",)).admits(doc(language="de")) and not Scope(languages=("de",)).admits(doc())
    assert Scope().admits(doc()) and not Scope()


def test_a_date_that_is_not_one_is_named():
    with pytest.raises(QAError) as raised:
        Scope.of(since="14.03.2023")
    assert str(raised.value) == "since: '14.03.2023' is not a date (write it as YYYY-MM-DD)"


@pytest.mark.parametrize("scope, files", [
    (Scope(outlets=("Münchner Abendpost",)), {"muenchner-abendpost-fahrradverleih-fusion.html"}),
    (Scope(since="2024-01-01"), {"alpine-transport-review-nordalp-one-year-on.pdf"}),
    (Scope(languages=("de",)), {"muenchner-abendpost-fahrradverleih-fusion.html",
                                "hamburger-wirtschaftsblatt-brandt-interview.md"}),
    (Scope(until="2023-03-14", outlets=("nordpresse.example",)), {"nordpresse-velonord-alpenrad-merger.html"}),
])
def test_only_the_admitted_articles_are_searched(news, scope, files):
    retrieval = news.retrieve(QUESTION, scope=scope)
    assert retrieval.evidence and {e.doc_id for e in retrieval.evidence} <= files
    assert {h.chunk.doc_id for h in retrieval.hits} <= files


def test_a_scope_no_article_passes_is_one_line(news):
    with pytest.raises(ScopeError) as raised:
        news.ask(QUESTION, scope=Scope(since="2030-01-01", outlets=("dw.com",)))
    assert str(raised.value) == ("no indexed article is since 2030-01-01, by dw.com (widen the filter; `qa info` lists "
                                 "the indexed articles with their outlets, dates and languages)")


def test_the_cli_the_web_app_and_the_api_take_the_same_filter(news, monkeypatch, capsys):
    from qa import cli

    monkeypatch.setattr(cli, "_assistant", lambda: news)
    monkeypatch.setattr(sys, "argv", ["qa", "ask", "--since", "2030-01-01", QUESTION])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2 and "error: no indexed article is since 2030-01-01" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["qa", "ask", "--since", "2023-13-01", QUESTION])
    with pytest.raises(SystemExit):
        cli.main()
    assert "error: since: '2023-13-01' is not a date (write it as YYYY-MM-DD)" in capsys.readouterr().err

    app = ChatApp(news)
    steps = list(app.respond(QUESTION, [], new_session(news.conversation()), "2030-01-01", "", [], []))
    assert "no indexed article is since 2030-01-01" in steps[-1][1][-1]["content"]
    with pytest.raises(gr.Error) as raised:
        app.ask_api(QUESTION, None, "", "", "Nordpresse")  # type: ignore[arg-type]
    assert raised.value.message == ("outlets: expected a list of texts, got str (see the API's description at "
                                    "/?view=api)")
    shown = app.ask_api(QUESTION, None, "", "", None, ["de"])
    assert all(c["file"].endswith((".html", ".md")) and c["language"] == "de" for c in shown["citations"])
