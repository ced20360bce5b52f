"""Whether an answer states a gold fact, across English and German.

A form matches in full when its normalised text occurs in the normalised answer, or when it is a
number (with its scale and currency) that the answer states with the same value:
"450 million" matches "450 Millionen", "USD 1 billion" matches "1 Mrd. US-Dollar", "twelve" matches "12".
A partial match (worth 0.5, the TREC-nugget way) is a number whose digits are there without their
scale ("450" for "450 million"), or a name of several words of which some are there ("Cheng").
"""

from __future__ import annotations

import re
import unicodedata

from qa import numbers

FULL, PARTIAL, NONE = 1.0, 0.5, 0.0


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\[\d+(?:\s*,\s*\d+)*\]", " ", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def _contains(haystack: str, needle: str) -> bool:
    return bool(needle) and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


def match_form(form: str, answer: str) -> float:
    norm_answer = normalise_text(answer)
    if _contains(norm_answer, normalise_text(form)):
        return FULL
    wanted = numbers.quantities(form, numbers.number_language(form))
    if wanted:
        stated = numbers.quantities(answer, numbers.number_language(answer))
        for w in wanted:
            same = [s for s in stated if abs(s.value - w.value) <= 1e-9 * max(1.0, abs(w.value))]
            if same and (w.currency is None or any(s.currency in (None, w.currency) for s in same)):
                return FULL
        if any(abs(s.value - w.mantissa) < 1e-9 for w in wanted for s in stated if w.value != w.mantissa):
            return PARTIAL
        return NONE
    words = normalise_text(form).split()
    if len(words) > 1 and any(_contains(norm_answer, w) for w in words if len(w) > 2):
        return PARTIAL
    return NONE


def match_fact(any_of: list[str], answer: str) -> float:
    return max((match_form(f, answer) for f in any_of), default=NONE)
