"""Language identification with lingua (ISO 639-1 codes), for documents, questions and answers.

With no candidate list every language lingua knows is considered, in its low-accuracy mode
(fast, small, and reliable on whole articles); with a candidate list (questions are short)
the high-accuracy models of just those languages are preloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    if not codes:
        return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()
    isos = [IsoCode639_1.from_str(c) for c in codes]
    if len(isos) == 1:
        isos.append(IsoCode639_1.EN if isos[0] != IsoCode639_1.EN else IsoCode639_1.DE)
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()


def detect_language(text: str, candidates: Sequence[str] = (), default: str = "en", min_confidence: float = 0.0) -> str:
    """Best guess of `text`'s language as a two-letter code; `default` when nothing is recognised
    or the best guess is less sure than `min_confidence`."""
    if not text.strip():
        return default
    detector = _detector(tuple(c.lower() for c in candidates))
    if min_confidence > 0:
        values = detector.compute_language_confidence_values(text)
        if not values or values[0].value < min_confidence:
            return default
        return values[0].language.iso_code_639_1.name.lower()
    lang = detector.detect_language_of(text)
    return default if lang is None else lang.iso_code_639_1.name.lower()
