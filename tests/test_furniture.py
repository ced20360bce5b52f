from index.furniture import FurnitureFilter
from index.text import normalise
from qa.core.settings import IngestSettings

from conftest import CORPUS


def kept_text(text: str) -> str:
    s = IngestSettings()
    regions = FurnitureFilter(s.furniture_patterns, s.furniture_max_words).kept_regions(text)
    return "\n\n".join(text[r.start : r.end] for r in regions)


def test_advertising_blocks_are_removed_and_the_article_kept():
    text = normalise((CORPUS / "001_0f6a77e0f2bd9020.txt").read_text(encoding="utf-8"))
    kept = kept_text(text)
    for ad in ["Access deeper industry intelligence", "Experience unmatched clarity", "Find out more",
               "GlobalData Strategic Intelligence", "US Tariffs are shifting", "Don’t let policy changes",
               "By GlobalData"]:
        assert ad in text and ad not in kept
    for own in ["Renault-Nissan plans to release 12 new pure electric models by 2022.",
                "“It’s not like only we understand the customer. We are open to every form of cooperation.”",
                "Renault-Nissan is one of the few non-Chinese OEMs to take part in the alliance.",
                "Cheng Wei, Didi chief executive, said"]:
        assert own in kept


def test_articles_without_furniture_are_untouched():
    for name in ["000_d8de29d23dcd1c5d.txt", "002_2f609247c276f3f8.txt"]:
        text = normalise((CORPUS / name).read_text(encoding="utf-8"))
        assert kept_text(text) == text.strip()


def test_short_paragraphs_without_an_anchor_survive():
    text = "Title line\n\nShort one.\n\nAnother short one.\n\nA third, also short."
    assert kept_text(text) == text


def test_a_call_to_action_takes_its_block_but_not_quotes_or_long_paragraphs():
    long = "This paragraph is part of the article and it goes on for quite a while " * 3
    text = f"Headline\n\n{long}\n\nPremium insights\n\nRead more\n\n“We said this,” he said.\n\nEnd."
    kept = kept_text(text)
    assert "Premium insights" not in kept and "Read more" not in kept
    assert long.strip() in kept and "“We said this,” he said." in kept
    assert kept.endswith("End.")  # the quote stopped the block


def test_a_short_article_paragraph_next_to_an_anchor_without_headline_survives():
    text = "Titel\n\nEin kurzer Absatz des Artikels.\n\nFind out more\n\nNoch ein kurzer Absatz."
    assert kept_text(text) == "Titel\n\nEin kurzer Absatz des Artikels.\n\nNoch ein kurzer Absatz."


def test_the_pattern_list_is_configurable():
    text = "Titel\n\nEin langer Absatz des Artikels, der weitergeht und weitergeht.\n\nSPONSORED BY ACME"
    s = IngestSettings(furniture_patterns=("SPONSORED BY .*",))
    regions = FurnitureFilter(s.furniture_patterns).kept_regions(text)
    assert [text[r.start : r.end] for r in regions] == ["Titel\n\nEin langer Absatz des Artikels, der weitergeht und weitergeht."]


def test_two_promotional_lines_addressing_the_reader_go_without_an_anchor():
    text = "Title\n\nThe article says something.\n\nAre you ready for the future?\n\nDon't let your rivals win."
    assert kept_text(text) == "Title\n\nThe article says something."
