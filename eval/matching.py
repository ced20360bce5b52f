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


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _tokens(text: str) -> list[str]:
    """Words of the normalised text; Chinese, Japanese and Korean characters count one each."""
    out = []
    for word in normalise_text(text).split():
        out += list(word) if _CJK.search(word) else [word]
    return out


def token_recall(any_of: list[str], answer: str) -> float:
    """SQuAD-style: the share of a form's words that the answer holds (each as often as the form has it), best
    form."""
    from collections import Counter

    said = Counter(_tokens(answer))
    best = 0.0
    for form in any_of:
        wanted = Counter(_tokens(form))
        if wanted:
            best = max(best, sum(min(n, said[w]) for w, n in wanted.items()) / sum(wanted.values()))
    return best


def token_f1(any_of: list[str], text: str) -> float:
    """SQuAD's F1 between the text and its best form: the harmonic mean of the share of the form's words the
    text holds and the share of the text's words the form holds."""
    from collections import Counter

    said = Counter(_tokens(text))
    best = 0.0
    for form in any_of:
        wanted = Counter(_tokens(form))
        common = sum((said & wanted).values())
        if common:
            p, r = common / sum(said.values()), common / sum(wanted.values())
            best = max(best, 2 * p * r / (p + r))
    return best
