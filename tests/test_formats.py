"""Saved web pages, PDFs and front matter become documents: the article's text without the page's furniture,
its source (outlet, author, date, address) and, for a PDF, where each page starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.formats import dateline, extract, reflow
from index.ingest import CatalogEntry, Ingestor
from qa.core.errors import IngestError
from qa.core.records import Evidence, Source
from qa.core.settings import IngestSettings

from conftest import ROOT

NEWS = ROOT / "eval" / "suites" / "news" / "corpus"
LIMITS = (5_000_000, 100_000)

PAGES = {
    "nordpresse-velonord-alpenrad-merger.html": dict(
        title="VeloNord and Alpenrad to merge bike-sharing services",
        source=Source("Nordpresse", "Jonas Albrecht", "2023-03-14",
                      "https://www.nordpresse.example/business/2023/03/14/velonord-alpenrad-merger"),
        kept=["HAMBURG (Nordpresse) – Hamburg-based VeloNord and Munich's Alpenrad said on Tuesday",
              "will operate 48,000 bikes in 31 cities in Germany, Austria and Switzerland",
              "Last year, VeloNord's riders took 9.2 million trips, while Alpenrad counted 4.1 million.",
              '"Together we can offer one app and one subscription from the North Sea to the Alps," Brandt said.'],
        furniture=["We use cookies", "Accept all", "Subscribe", "Opinion", "Related stories", "e-scooters",
                   "Post comment", "Great news for cyclists", "prices will go up", "All rights reserved",
                   "newsletter", "14 March 2023"],
    ),
    "baltic-business-daily-bike-sharing-merger.html": dict(
        title="Bike-sharing rivals VeloNord and Alpenrad join forces",
        source=Source("Baltic Business Daily", "Nordpresse", "2023-03-14",
                      "https://balticbusinessdaily.example/markets/bike-sharing-rivals-join-forces"),
        kept=["said Tuesday they would merge their bike-sharing services",
              "The companies plan to invest €120 million over three years",
              "Last year, VeloNord's riders took 9.2 million trips"],
        furniture=["Your privacy matters", "214 partners", "Log in", "E-paper", "Podcasts", "Advertisement",
                   "Shipping insurance", "Share this article", "Markets at noon", "Most read", "Gdansk", "Terms"],
    ),
    "rhein-courier-nordalp-mobility.html": dict(
        title="Rhein Courier English Edition: Two bike-sharing firms to merge",
        source=Source("rheincourier.example", "", "2023-03-15",
                      "https://www.rheincourier.example/english/economy/bike-merger.html"),
        kept=["HAMBURG – VeloNord, based in Hamburg, and Munich's Alpenrad said on Tuesday",
              "Alpenrad's founder Tobias Kern will become chairman of the supervisory board."],
        furniture=["Front page", "Weather", "Cologne", "Also in Economy", "Bakery chain", "Readers' letters",
                   "Copyright"],
    ),
    "muenchner-abendpost-fahrradverleih-fusion.html": dict(
        title="Fusion: Alpenrad geht mit VeloNord zusammen",
        source=Source("Münchner Abendpost", "Sabine Huber", "2023-03-15",
                      "https://www.abendpost-muenchen.example/wirtschaft/alpenrad-velonord-fusion-1.48213"),
        kept=["Der Münchner Fahrradverleiher Alpenrad und der Hamburger Konkurrent VeloNord legen ihre Geschäfte",
              "wird 48.000 Räder in 29 Städten in Deutschland, Österreich und der Schweiz betreiben.",
              "150 Millionen Euro in neue E-Bikes und Stationen investieren.",
              "danach wechseln alle Abos in die neue Nordalp-App."],
        furniture=["Cookies", "Zustimmen", "Datenschutz", "Abo\n", "0,99 €", "Mehr zum Thema", "Parkzonen",
                   "Kommentare", "Studenten", "Impressum", "Von Sabine Huber"],
    ),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_saved_page_keeps_the_article_and_none_of_its_furniture(name):
    page = extract(NEWS / name, *LIMITS)
    expected = PAGES[name]
    for paragraph in expected["kept"]:
        assert paragraph in page.text
    for furniture in expected["furniture"]:
        assert furniture not in page.text, furniture
    assert page.title == expected["title"]
    assert page.source == expected["source"]
    assert "\n\n" in page.text and "\n\n\n" not in page.text  # one paragraph per block


def test_a_page_without_an_article_is_named(tmp_path):
    path = tmp_path / "login.html"
    path.write_text("<html><head><title>Log in</title></head><body><form><input name=user>"
                    "<button>Log in</button></form></body></html>")
    with pytest.raises(IngestError) as raised:
        extract(path, *LIMITS)
    assert str(raised.value) == (
        f"{path}: no article text found in the page (save the article's page itself (not an index, a login or a "
        "search page), or save its text as .txt)")


PDF = NEWS / "alpine-transport-review-nordalp-one-year-on.pdf"


def test_a_pdf_is_read_page_by_page_in_paragraphs():
    pdf = extract(PDF, *LIMITS)
    assert len(pdf.pages) == 2 and pdf.pages[0] == 0
    first, second = pdf.text[: pdf.pages[1]], pdf.text[pdf.pages[1] :]
    assert ("Nordalp Mobility now operates 52,000 bikes in 34 cities, chief executive Lena Brandt said at the opening "
            "of the company's new workshop in Innsbruck on Monday.") in first  # lines joined, ligatures undone
    assert "Nordalp plans to hire 200 mechanics by the end of the year" in second
    assert "\n\nNot everything went to plan." in first  # paragraphs kept apart
    assert pdf.title == "Nordalp Mobility: one year on"


def test_a_pdf_citation_names_its_page_and_its_dateline_date():
    doc = Ingestor(IngestSettings()).read(PDF, PDF.name)
    assert doc.source.published == "2024-03-19"  # "Innsbruck, 19 March 2024"
    at = doc.text.index("Nordalp plans to hire 200 mechanics")
    sentence = next(s for s in doc.sentences if s.start == at)
    evidence = Evidence(1, doc.doc_id, f"{doc.doc_id}#3", sentence.start, sentence.end,
                        doc.text[sentence.start : sentence.end], 1.0)
    assert evidence.citation(doc).page == 2
    assert Evidence(2, doc.doc_id, "c", 0, 5, doc.text[:5], 1.0).citation(doc).page == 1


def test_front_matter_gives_the_source_and_is_not_text():
    doc = Ingestor(IngestSettings()).read(NEWS / "hamburger-wirtschaftsblatt-brandt-interview.md", "interview.md")
    assert doc.title == "„Eine App von der Nordsee bis zu den Alpen“"
    assert doc.source == Source("Hamburger Wirtschaftsblatt", "Mareike Thiessen", "2023-03-16",
                                "https://www.hh-wirtschaftsblatt.example/unternehmen/brandt-interview")
    assert doc.language == "de" and "outlet:" not in doc.text and "---" not in doc.text


def test_the_catalog_wins_over_what_the_file_says(tmp_path):
    entry = CatalogEntry(title="Own title", outlet="Own outlet", date="2023-03-20")
    doc = Ingestor(IngestSettings()).read(NEWS / "nordpresse-velonord-alpenrad-merger.html", "a.html", entry)
    assert (doc.title, doc.source.outlet, doc.source.published, doc.source.author) == (
        "Own title", "Own outlet", "2023-03-20", "Jonas Albrecht")


@pytest.mark.parametrize("written, iso", [("2023-03-16", "2023-03-16"), ("16. März 2023", "2023-03-16"),
                                          ("March 16, 2023", "2023-03-16"), ("16/03/2023", "2023-03-16")])
def test_front_matter_dates_are_read_in_any_common_form(tmp_path, written, iso):
    path = tmp_path / "a.md"
    path.write_text(f"---\ndate: \"{written}\"\npublisher: Example Post\n---\nA sentence about bikes.\n")
    found = extract(path, *LIMITS)
    assert found.source.published == iso and found.source.outlet == "Example Post"
    assert found.text == "A sentence about bikes.\n"


@pytest.mark.parametrize("front, message", [
    ("date: soon\n", "{path}: date 'soon' is not a date (write it as YYYY-MM-DD)"),
    ("title: [unclosed\n", "{path}: the front matter is not valid YAML"),
    ("- a list\n", "{path}: the front matter is not a list of `key: value` lines"),
])
def test_bad_front_matter_is_named(tmp_path, front, message):
    path = tmp_path / "a.md"
    path.write_text(f"---\n{front}---\nText.\n")
    with pytest.raises(IngestError) as raised:
        extract(path, *LIMITS)
    assert str(raised.value).startswith(message.format(path=path))


def test_reflow_joins_lines_undoes_hyphens_and_drops_page_numbers():
    page = ("The company said on Monday that it would open a new work-\nshop in the spring and hire more\n"
            "mechanics for its growing fleet of electric bikes.\n\nA second paragraph starts here and it\n"
            "ends here.\n\n3\n")
    assert reflow(page) == ("The company said on Monday that it would open a new workshop in the spring and hire "
                            "more mechanics for its growing fleet of electric bikes.\n\n"
                            "A second paragraph starts here and it ends here.")


def test_only_a_full_date_in_a_short_opening_paragraph_is_a_dateline():
    assert dateline(["Innsbruck, 19 March 2024", "Text."], "en") == "2024-03-19"
    assert dateline(["Hamburg, 15.03.2023", "Text."], "de") == "2023-03-15"
    assert dateline(["One year on", "Last year, on Monday, riders took 14 million trips."], "en") == ""
    assert dateline(["The company was founded on 12 May 2016 in a garage in Hamburg by two students who "
                     "wanted cheaper bikes."], "en") == ""


def test_the_parts_a_browser_saves_beside_a_page_are_not_articles(tmp_path):
    from index.ingest import corpus_files

    page = NEWS / "nordpresse-velonord-alpenrad-merger.html"
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "Merger.html").write_bytes(page.read_bytes())
    parts = tmp_path / "saved" / "Merger_files"
    parts.mkdir()
    (parts / "ad-frame.html").write_text("<html><body><p>Buy now</p></body></html>", encoding="utf-8")
    (tmp_path / "notes_files").mkdir()  # a folder that merely ends in _files is read
    (tmp_path / "notes_files" / "note.md").write_text("A note.\n", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path, (".html", ".md"))]
    assert found == ["notes_files/note.md", "saved/Merger.html"]


PAGES_ELSEWHERE = ROOT / "tests" / "data" / "pages"


@pytest.mark.parametrize("name, source, kept, furniture", [
    ("kurier-linked-data.html",  # metadata only in schema.org data, no canonical link
     Source("Kurier Online", "Maria Huber", "2024-11-05", "https://kurier.example/wirtschaft/stadtwerke-preise"),
     ["um durchschnittlich 12 Prozent", "rund 96 Euro mehr im Jahr", "ohne eine Gebühr zu zahlen"],
     ["Cookies", "akzeptieren", "Gaspreise sinken", "Impressum", "Politik"]),
    ("harbour-times-amp.html",  # an AMP page: sidebar menu, an ad inside the article, comments, a newsletter box
     Source("The Harbour Times", "Tom Reed", "2025-02-18", "https://harbourtimes.example/news/port-strike-ends"),
     ["raises wages by 6.5 percent", "About 1,400 containers", "a fair result for a hard week"],
     ["Weather", "Comments", "About time", "morning briefing"]),
])
def test_pages_of_other_layouts_keep_the_article_and_its_source(name, source, kept, furniture):
    page = extract(PAGES_ELSEWHERE / name, *LIMITS)
    assert page.source == source
    assert all(k in page.text for k in kept)
    assert not [f for f in furniture if f in page.text]


def test_an_ad_label_inside_an_article_is_not_a_sentence_of_it():
    document = Ingestor(IngestSettings()).read(PAGES_ELSEWHERE / "harbour-times-amp.html", "amp.html")
    sentences = [document.text[s.start : s.end] for s in document.sentences]
    assert "Advertisement" not in sentences and "The union had asked for 9 percent." in sentences


@pytest.mark.parametrize("block, url", [
    ('{"@graph": null, "@type": "NewsArticle", "url": "https://a.example/x"}', "https://a.example/x"),
    ("[" * 100_000, ""),  # nested past any parser's depth: passed over, the page is still read
    ('[{"@graph": [{"@type": ["NewsArticle"], "mainEntityOfPage": {"@id": "https://b.example/y"}}]}]',
     "https://b.example/y"),
    ('{"@graph": {"@type": "Article", "url": "https://c.example/z"}}', "https://c.example/z"),
    ('{"@type": "Organization", "url": "https://d.example/"}', ""),  # only an article's address counts
    ("{not json", ""),
])
def test_an_address_from_schema_org_data_in_any_shape(block, url):
    from index.formats import _linked_data_url

    assert _linked_data_url(f'<script type="application/ld+json">{block}</script>') == url


def test_the_corpus_listing_skips_hidden_files_asset_folders_and_links_out(tmp_path, caplog):
    import os

    from index.ingest import corpus_files

    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "o.txt").write_text("x")
    (outside / "sub" / "s.txt").write_text("x")
    for rel in ["a.txt", "B.MD", "n/b.txt", "n/m/c.html", ".h/x.txt", "n/.y.txt", "Page.html", "Page_files/f.html",
                "Page_files/deep/g.txt", "n/P.htm", "n/P_files/q.txt", "x.pdf", "y.json", "z_files/ok.txt",
                "folder.txt/inner.txt"]:
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text("x")
    os.symlink(outside / "o.txt", corpus / "link_out.txt")
    os.symlink(corpus / "a.txt", corpus / "n" / "link_in.txt")
    os.symlink(outside / "sub", corpus / "dirlink")
    os.symlink(corpus / "missing.txt", corpus / "broken.txt")
    extensions = (".txt", ".md", ".html", ".htm", ".pdf")
    inside = ["B.MD", "Page.html", "a.txt", "folder.txt/inner.txt", "n/P.htm", "n/b.txt", "n/link_in.txt",
              "n/m/c.html", "x.pdf", "z_files/ok.txt"]
    assert [p.relative_to(corpus).as_posix() for p in corpus_files(corpus, extensions)] == inside
    assert "link_out.txt: skipped, a link to" in caplog.text
    followed = [p.relative_to(corpus).as_posix() for p in corpus_files(corpus, extensions, follow_symlinks=True)]
    assert followed == sorted([*inside, "link_out.txt"])
