"""Language identification with lingua (ISO 639-1 codes), for documents and questions alike."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    if codes:
        isos = [IsoCode639_1.from_str(c) for c in codes]
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*isos)
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    return builder.with_preloaded_language_models().build() if len(codes) <= 4 and codes else builder.build()


def detect_language(text: str, candidates: Sequence[str] = (), default: str = "en") -> str:
    """Best guess of `text`'s language as a two-letter code; `default` when nothing is recognised."""
    if not text.strip():
        return default
    lang = _detector(tuple(c.lower() for c in candidates)).detect_language_of(text)
    if lang is None:
        return default
    return lang.iso_code_639_1.name.lower()
