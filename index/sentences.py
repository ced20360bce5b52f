"""Sentence segmentation with character offsets, by pysbd's per-language rules.

pysbd knows abbreviations such as "u.a." and "z.B." and keeps quotes with their sentence;
its own offsets can drift on repeated text, so offsets are found here by walking the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from qa.core.records import Span

WINDOW_CHARS = 5_000
"""pysbd's time grows faster than its input (0.5 s for 40,000 characters without a full stop; minutes for a
megabyte on one line): a longer line is segmented in windows, each cut after a sentence end or at a space."""

MAX_SENTENCE_CHARS = 2_000
"""A longer stretch without a sentence end (a table or a list run together, text without punctuation) is cut at
spaces into pieces of at most this many characters; the embedder reads only 512 tokens of a text anyway."""

_SENTENCE_END = re.compile(r"[.!?][\"'”’»)\]]*\s|[。！？][\"'”’»)\]」』]*")

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


def split_sentences(text: str, language: str, offset: int = 0, check: Callable[[], None] | None = None) -> list[Span]:
    """Sentences of `text` as spans (shifted by `offset`), trimmed of surrounding white space.

    Line breaks inside a paragraph region are hard boundaries: headlines and list items are not
    run together with the sentence that follows them. `check` is called before each window (a time budget).
    """
    spans: list[Span] = []
    line_start = 0
    for line in text.split("\n"):
        if line.strip():
            for start, end in _windows(line):
                if check:
                    check()
                for span in _split_line(line[start:end], language, offset + line_start + start):
                    spans.extend(_capped(text, span, offset))
        line_start += len(line) + 1
    return spans


def _windows(line: str) -> list[tuple[int, int]]:
    """[start, end) pieces of the line of at most WINDOW_CHARS, each ending after a sentence end where the window's
    second half has one, else at its last space."""
    out, start = [], 0
    while len(line) - start > WINDOW_CHARS:
        window = line[start : start + WINDOW_CHARS]
        ends = [m.end() for m in _SENTENCE_END.finditer(window, WINDOW_CHARS // 2)]
        cut = ends[-1] if ends else window.rfind(" ", WINDOW_CHARS // 2) + 1 or WINDOW_CHARS
        out.append((start, start + cut))
        start += cut
    out.append((start, len(line)))
    return out


def _capped(text: str, span: Span, offset: int) -> list[Span]:
    """The span, or pieces of it of at most MAX_SENTENCE_CHARS cut at spaces (offsets into `text` + `offset`)."""
    pieces, start = [], span.start
    while span.end - start > MAX_SENTENCE_CHARS:
        chunk = text[start - offset : start - offset + MAX_SENTENCE_CHARS]
        cut = chunk.rfind(" ", MAX_SENTENCE_CHARS // 2)
        cut = cut if cut > 0 else MAX_SENTENCE_CHARS
        piece = chunk[:cut].rstrip()
        pieces.append(Span(start, start + len(piece)))
        start += cut
        while start < span.end and text[start - offset].isspace():
            start += 1
    if start < span.end:
        pieces.append(Span(start, span.end))
    return pieces


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
