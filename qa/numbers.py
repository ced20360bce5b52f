"""Numbers in text, normalised so that "450 Millionen" == "450 million" == "450 millones" == 4.5e8.

Handles digits with either convention of separators ("1.000,5" / "1,000.5"), English and German number
words ("zwölf" = "twelve" = 12), scale words of every language CLDR has long compact formats for ("millones",
"milliards", "mil millones"; German and French "Billion" is 10^12, English "billion" 10^9) and English and
German abbreviations (Tsd., Mio., Mrd., bn), and currencies as ISO codes ("$", "US-Dollar" → USD).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "dozen": 12,
    "a": 1,
    "an": 1,
    "null": 0,
    "eins": 1,
    "ein": 1,
    "eine": 1,
    "einen": 1,
    "einer": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
    "elf": 11,
    "zwölf": 12,
    "dreizehn": 13,
    "vierzehn": 14,
    "fünfzehn": 15,
    "sechzehn": 16,
    "siebzehn": 17,
    "achtzehn": 18,
    "neunzehn": 19,
    "zwanzig": 20,
    "dreißig": 30,
    "vierzig": 40,
    "fünfzig": 50,
    "sechzig": 60,
    "siebzig": 70,
    "achtzig": 80,
    "neunzig": 90,
    "hundert": 100,
    "dutzend": 12,
}
# Articles count as "1" only in front of a scale word ("a million", "eine Million").
_ARTICLES = {"a", "an", "ein", "eine", "einen", "einer"}
# "one" and the articles name no amount on their own ("one of the partners").
WEAK_WORDS = _ARTICLES | {"one", "eins"}

SCALES = {
    "thousand": 1e3,
    "tausend": 1e3,
    "tsd": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "mn": 1e6,
    "mio": 1e6,
    "millionen": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "mrd": 1e9,
    "milliarde": 1e9,
    "milliarden": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "trillions": 1e12,
    "billionen": 1e12,
    "万": 1e4,
    "萬": 1e4,
    "만": 1e4,
    "亿": 1e8,
    "億": 1e8,
    "억": 1e8,
}
_GERMAN_BILLION = 1e12  # "Billion" in German text

CURRENCIES = {
    "usd": "USD",
    "us-dollar": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "$": "USD",
    "us$": "USD",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "€": "EUR",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "pfund": "GBP",
    "£": "GBP",
    "cny": "CNY",
    "rmb": "CNY",
    "yuan": "CNY",
    "renminbi": "CNY",
    "¥": "CNY",
    "jpy": "JPY",
    "yen": "JPY",
}

_TOKEN = re.compile(
    r"US\$|[$€£¥]|\d+(?:[.,'\u202f ]\d{3})*(?:[.,]\d+)?|[万萬亿億만억]|[^\W\d_]+(?:-[^\W\d_]+)?\.?|\S", re.UNICODE
)


@dataclass(frozen=True)
class Quantity:
    value: float
    mantissa: float
    currency: str | None = None
    text: str = ""


def parse_digits(token: str, language: str) -> float | None:
    """'1.000,5' (de) / '1,000.5' (en) → 1000.5; a lone separator followed by three digits is a thousands mark."""
    t = token.replace("\u202f", "").replace("'", "").replace(" ", "")
    if not re.fullmatch(r"\d+(?:[.,]\d+)*", t):
        return None
    decimal, thousands = (",", ".") if language == "de" else (".", ",")
    parts = re.split(r"[.,]", t)
    seps = re.findall(r"[.,]", t)
    if len(seps) == 1 and len(parts[1]) != 3:
        return float(parts[0] + "." + parts[1])
    if len(seps) >= 1 and seps[-1] == decimal and len(parts[-1]) != 3:
        whole = "".join(parts[:-1])
        return float(whole + "." + parts[-1])
    if all(s == seps[0] for s in seps) and all(len(p) == 3 for p in parts[1:]):
        if len(seps) == 1 and seps[0] == decimal and language == "en" and seps[0] == ".":
            return float(t)
        return float("".join(parts))
    try:
        return float(t.replace(thousands, "").replace(decimal, "."))
    except ValueError:
        return None


def _word(token: str) -> str:
    return unicodedata.normalize("NFKC", token).casefold().rstrip(".")


def quantities(text: str, language: str = "en") -> list[Quantity]:
    tokens = _TOKEN.findall(unicodedata.normalize("NFKC", text))
    out: list[Quantity] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        low = _word(tok)
        value = parse_digits(tok, language) if tok[0].isdigit() else None
        if value is None and low in WORDS and (low not in _ARTICLES or _scale(tokens, i + 1, language)):
            value = float(WORDS[low])
        if value is None:
            i += 1
            continue
        currency = CURRENCIES.get(_word(tokens[i - 1])) if i > 0 else None
        mantissa = value
        scale, width = _scale_words(tokens, i + 1, language)
        j = i + 1
        if scale:
            value *= scale
            j += width
            if j < len(tokens) and tokens[j] == ".":
                j += 1
        if j < len(tokens) and currency is None:
            currency = CURRENCIES.get(_word(tokens[j]))
        out.append(Quantity(value, mantissa, currency, " ".join(tokens[i:j])))
        i = j
    return out


def _scale(tokens: list[str], j: int, language: str) -> float | None:
    return _scale_words(tokens, j, language)[0]


def _scale_words(tokens: list[str], j: int, language: str) -> tuple[float | None, int]:
    """The scale that the words from `tokens[j]` name, and how many tokens it takes ("mil millones": two)."""
    if j >= len(tokens):
        return None, 0
    word = _word(tokens[j])
    if word == "billion" and language == "de":
        return _GERMAN_BILLION, 1
    if word in {"m", "b", "k"} and not tokens[j].islower():
        return None, 0
    named = _locale_scales(language)
    if j + 1 < len(tokens) and f"{word} {_word(tokens[j + 1])}" in named:
        return named[f"{word} {_word(tokens[j + 1])}"], 2
    if word in named:  # the language's own reading first: French "billion" is 10^12
        return named[word], 1
    return SCALES.get(word), 1


@lru_cache(maxsize=64)
def _locale_scales(language: str) -> dict[str, float]:
    """The scale words of `language` ("millones", "milliards", "миллиона", "mil millones") from the long compact
    number formats of CLDR that babel ships ("0 millones" for 10^6), casefolded; empty for an unknown one."""
    from babel import Locale, UnknownLocaleError

    try:
        formats = Locale.parse(language).compact_decimal_formats.get("long", {}) if language else {}
    except (ValueError, TypeError, UnknownLocaleError):
        return {}
    out: dict[str, float] = {}
    for by_magnitude in formats.values():
        for magnitude, pattern in by_magnitude.items():
            text = str(getattr(pattern, "pattern", pattern))
            zeros = text.count("0")
            words = " ".join(text.replace("0", " ").replace("'", " ").replace(".", " ").split()).casefold()
            scale = int(magnitude) / 10 ** max(zeros - 1, 0)
            if zeros and words and scale >= 1000 and not words.isdigit():
                out.setdefault(words, scale)
    return out


_GERMAN_NUMBER_WORDS = re.compile(
    r"(?i)\b(eins?|eine[nr]?|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|vierzig|"
    r"fünfzig|hundert|tausend|tsd|mio|millionen|mrd|milliarden?|billionen|dutzend)\b|\d\.\d{3},\d|\d,\d{1,2}\b"
)


def number_language(text: str) -> str:
    """'de' when the text writes its numbers the German way (number words, Mio., a decimal comma), else 'en'.
    Lets short texts such as a fact's accepted form be parsed without knowing their language."""
    return "de" if _GERMAN_NUMBER_WORDS.search(text) else "en"


def say(text: str, language: str, target: str) -> str | None:
    """`text`, when it is one amount with a scale word and nothing else ("450 Millionen", "2,8 millones"), as
    `target` writes it (CLDR's long compact format through babel, or the short one where a language has only
    that: "450 million", "450 миллионов", "4.5亿"); None for anything else, or when no wording reads back as
    the same amount."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import format_compact_decimal

    found = quantities(text, language)
    if len(found) != 1 or found[0].currency or found[0].value == found[0].mantissa:
        return None
    q = found[0]
    if " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text))).rstrip(" .") != q.text.rstrip("."):
        return None
    try:
        formats = Locale.parse(target).compact_decimal_formats
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    kind: Literal["short", "long"] | None = "long" if "long" in formats else "short" if "short" in formats else None
    if kind is None:
        return None
    value = int(q.value) if q.value == int(q.value) else q.value
    for decimals in range(4):  # as few as say it exactly: "450 million", "4.5亿"
        said = format_compact_decimal(value, format_type=kind, locale=target, fraction_digits=decimals)
        back = quantities(said, target)
        if len(back) == 1 and math.isclose(back[0].value, q.value, rel_tol=1e-9):
            return said
    return None


def values(text: str, language: str = "en") -> set[float]:
    return {q.value for q in quantities(text, language)}


def supported(claim: Quantity, evidence: list[Quantity]) -> bool:
    """A number in a claim is supported when the evidence holds the same value, or the claim gives
    just the mantissa of a scaled figure ("450" for "450 Millionen")."""
    for e in evidence:
        if abs(e.value - claim.value) <= 1e-9 * max(1.0, abs(e.value)):
            return True
        if claim.value == claim.mantissa and abs(e.mantissa - claim.value) < 1e-9:
            return True
    return False
