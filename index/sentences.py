"""Sentence segmentation with character offsets, by pysbd's per-language rules.

pysbd knows abbreviations such as "u.a." and "z.B." and keeps quotes with their sentence;
its own offsets can drift on repeated text, so offsets are found here by walking the text.
"""

from __future__ import annotations

from functools import lru_cache

from qa.core.records import Span

_PYSBD_LANGUAGES = {
    "en",
    "hi",
    "mr",
    "zh",
    "es",
    "am",
    "ar",
    "hy",
    "bg",
    "ur",
    "ru",
    "pl",
    "fa",
    "nl",
    "da",
    "fr",
    "my",
    "el",
    "it",
    "ja",
    "de",
    "kk",
    "sk",
}


@lru_cache(maxsize=16)
def _segmenter(language: str):
    import pysbd

    return pysbd.Segmenter(language=language if language in _PYSBD_LANGUAGES else "en", clean=False)


def split_sentences(text: str, language: str, offset: int = 0) -> list[Span]:
    """Sentences of `text` as spans (shifted by `offset`), trimmed of surrounding white space.

    Line breaks inside a paragraph region are hard boundaries: headlines and list items are not
    run together with the sentence that follows them.
    """
    spans: list[Span] = []
    line_start = 0
    for line in text.split("\n"):
        if line.strip():
            spans.extend(_split_line(line, language, offset + line_start))
        line_start += len(line) + 1
    return spans


def _split_line(line: str, language: str, offset: int) -> list[Span]:
    spans = []
    cursor = 0
    for piece in _segmenter(language).segment(line):
        stripped = piece.strip()
        if not stripped:
            continue
        start = line.find(stripped, cursor)
        if start < 0:  # pysbd altered the text; fall back to the whole rest of the line
            rest = line[cursor:]
            start = cursor + len(rest) - len(rest.lstrip())
            end = len(line.rstrip())
            if end > start:
                spans.append(Span(offset + start, offset + end))
            return spans
        end = start + len(stripped)
        spans.append(Span(offset + start, offset + end))
        cursor = end
    return spans
