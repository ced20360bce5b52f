"""A cited quote shown in its context: the sentences around it, never past a paragraph break."""

from index.sentences import split_sentences
from qa.present import passage
from qa.core.records import Citation, Document


def doc(text: str) -> Document:
    return Document("d.txt", "d.txt", "Title", "en", text, "0", tuple(split_sentences(text, "en")))


TEXT = ("Heading line.\n\nOne is first. Two is second. Three is cited. Four follows. Five is last. Six is out.\n\n"
        "Another paragraph.")


def cite(text: str, quote: str) -> Citation:
    start = text.index(quote)
    return Citation(1, "d.txt", "c", start, start + len(quote), quote)


def test_the_quote_comes_with_sentences_either_side():
    p = passage(doc(TEXT), cite(TEXT, "Three is cited."), context_sentences=2)
    assert (p.before, p.quote, p.after) == ("One is first. Two is second. ", "Three is cited.",
                                            " Four follows. Five is last.")
    assert TEXT[p.start : p.end] == p.before + p.quote + p.after


def test_the_context_stops_at_a_paragraph_break():
    p = passage(doc(TEXT), cite(TEXT, "One is first."), context_sentences=3)
    assert p.before == "" and "Heading" not in p.after
    p = passage(doc(TEXT), cite(TEXT, "Six is out."), context_sentences=3)
    assert p.after == "" and p.before.startswith("Three is cited.")


def test_no_context_is_just_the_quote():
    p = passage(doc(TEXT), cite(TEXT, "Three is cited."), context_sentences=0)
    assert (p.before, p.after) == ("", "")
