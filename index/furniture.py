"""Finds page furniture (ad blocks, calls to action, bylines) in an article's text.

Works on paragraphs (blank-line separated). A paragraph that matches one of the configured
patterns in full is an *anchor*. Ads come as blocks bracketed by a headline and a call to action
("Access deeper industry intelligence" / a promotional sentence / "Find out more"), and only the
call to action is predictable. So from each anchor the block extends, in either direction, over
short paragraphs without quotation up to the nearest headline-like one (short, no final
punctuation) and no further; where no such headline closes it, the block is the anchor alone.
The first paragraph (the title) never belongs to a block. Two neighbouring short paragraphs that
both address the reader ("you") are furniture too.

Nothing is deleted: the result is the list of spans that remain, with offsets into the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.core.records import Span

_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=[ \t]*\n\s*\n|\s*\Z)", re.S)
_HEADLINE_WORDS = 12
# Quotation marks; the right single quote is left out because it is mostly an apostrophe ("Don’t").
_QUOTES = re.compile(r"[\"“”„‚‘«»]")
_READER = re.compile(r"(?i)\b(you|your|yours)\b")


@dataclass(frozen=True)
class Paragraph:
    span: Span
    text: str


def paragraphs(text: str) -> list[Paragraph]:
    return [Paragraph(Span(m.start(), m.end()), m.group(0)) for m in _PARAGRAPH.finditer(text)]


class FurnitureFilter:
    def __init__(self, patterns: Sequence[str], max_words: int = 30):
        try:
            self._patterns = [re.compile(p) for p in patterns]
        except re.error as exc:
            from qa.core.errors import ConfigError

            raise ConfigError(f"bad furniture pattern {exc.pattern!r}: {exc}") from None
        self._max_words = max_words

    def is_anchor(self, paragraph: str) -> bool:
        flat = " ".join(paragraph.split())
        return any(p.fullmatch(flat) for p in self._patterns)

    def _may_join(self, index: int, paragraph: str) -> bool:
        words = paragraph.split()
        return index > 0 and len(words) <= self._max_words and not _QUOTES.search(paragraph)

    @staticmethod
    def is_headline(paragraph: str) -> bool:
        return len(paragraph.split()) <= _HEADLINE_WORDS and not re.search(r"[.!?:;,\"”»)]$", paragraph)

    def furniture(self, paras: list[Paragraph]) -> list[bool]:
        flags = [False] * len(paras)
        joinable = [self._may_join(i, p.text) for i, p in enumerate(paras)]
        anchors = [self.is_anchor(p.text) for p in paras]
        for i, anchor in enumerate(anchors):
            if not anchor:
                continue
            flags[i] = True
            for step in (-1, 1):
                j = i + step
                while 0 <= j < len(paras) and joinable[j]:
                    if self.is_headline(paras[j].text):
                        for k in range(min(i, j), max(i, j) + 1):
                            flags[k] = True
                        break
                    j += step
        # A lone pair of reader-addressing promo lines with no anchor is furniture as well.
        for i in range(len(paras) - 1):
            if all(joinable[k] and _READER.search(paras[k].text) for k in (i, i + 1)):
                flags[i] = flags[i + 1] = True
        return flags

    def kept_regions(self, text: str) -> list[Span]:
        """The spans of `text` outside furniture, each a run of consecutive kept paragraphs."""
        paras = paragraphs(text)
        flags = self.furniture(paras)
        regions: list[Span] = []
        start: int | None = None
        end = 0
        for para, is_furniture in zip(paras, flags):
            if is_furniture:
                if start is not None:
                    regions.append(Span(start, end))
                start = None
                continue
            if start is None:
                start = para.span.start
            end = para.span.end
        if start is not None:
            regions.append(Span(start, end))
        return regions
