"""What kind of answer a question asks for, and whether a text holds one, in many languages.

A question asks for a number ("how many", "wie viele", "cuántos", "combien", "сколько", "多少"), a date
("when", "wann", "cuándo", "quand", "когда", "何时"), a person ("who", "wer", "quién", "qui", "кто", "谁"), a
place ("where", "wo", "dónde", "où", "где", "哪里") or something else. The question words of each language
are a small table (`_ASKS`); a language missing from it falls back to every language's words at once, which
is how a question in an unexpected language still gets a kind. Month names come from the CLDR data that
babel ships for every locale.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from qa import dates, numbers

NUMBER, DATE, PERSON, PLACE, OTHER = "number", "date", "person", "place", "other"

# Per language: (kind, pattern) in order; the first that matches decides. Patterns match casefolded text.
_ASKS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (DATE, r"\b(when|what year|which year|what date|what decade|what century|since when|how long ago)\b"),
        (
            NUMBER,
            r"\b(how (many|much|large|big|high|long|far|old|tall|often)|what (number|percentage|share|"
            r"amount|proportion)|what percent)\b",
        ),
        (PERSON, r"\b(who|whom|whose)\b"),
        (
            PLACE,
            r"\b(where|what (city|country|place)|in which (city|"
            r"country))\b",
        ),
    ),
    "de": (
        (
            DATE,
            r"\b(wann|seit wann|in welchem jahr|welches jahr|welchem jahrhundert|welchem jahrzehnt|"
            r"an welchem tag)\b",
        ),
        (NUMBER, r"\b(wie ?viele?n?|wie (groß|hoch|lange|weit|alt|oft)|welcher anteil|wie viel prozent)\b"),
        (PERSON, r"\b(wer|wem|wen|wessen)\b"),
        (PLACE, r"\b(wo|wohin|woher|in welcher stadt|in welchem land)\b"),
    ),
    "es": (
        (DATE, r"(\bcuándo\b|\ben qué (año|fecha|siglo|década)\b|\bqué año\b|\bdesde cuándo\b)"),
        (NUMBER, r"(\bcuánt[oa]s?\b|\bqué (porcentaje|cantidad|número)\b)"),
        (PERSON, r"(\bquién(es)?\b|\ba quién\b|\bde quién\b)"),
        (
            PLACE,
            r"(\bdónde\b|\badónde\b|\ben qué "
            r"(ciudad|país)\b)",
        ),
    ),
    "fr": (
        (DATE, r"(\bquand\b|\ben quelle année\b|\bquelle année\b|\bdepuis quand\b)"),
        (NUMBER, r"(\bcombien\b|\bquel (pourcentage|nombre)\b)"),
        (PERSON, r"(\bqui\b)"),
        (PLACE, r"(\boù\b|\bdans quelle ville\b|\bdans quel pays\b)"),
    ),
    "it": (
        (DATE, r"\b(quando|in che anno|in quale anno)\b"),
        (NUMBER, r"\b(quant[ioae]|che percentuale)\b"),
        (PERSON, r"\b(chi)\b"),
        (PLACE, r"\b(dove)\b"),
    ),
    "pt": (
        (DATE, r"\b(quando|em que ano|em qual ano)\b"),
        (NUMBER, r"\b(quant[oa]s?|que percentagem)\b"),
        (PERSON, r"\b(quem)\b"),
        (PLACE, r"\b(onde)\b"),
    ),
    "nl": (
        (DATE, r"\b(wanneer|in welk jaar|sinds wanneer)\b"),
        (NUMBER, r"\b(hoeveel|hoe (groot|hoog|lang))\b"),
        (PERSON, r"\b(wie)\b"),
        (PLACE, r"\b(waar)\b"),
    ),
    "ru": (
        (DATE, r"(когда|в каком году|в каком веке|какого числа)"),
        (NUMBER, r"(сколько|какой процент|какова доля)"),
        (PERSON, r"(^|\s)(кто|кого|кому|кем|чей|чья|чьи)(\s|$|\?)"),
        (PLACE, r"(где|куда|откуда|в каком городе)"),
    ),
    "zh": (
        (DATE, r"(何时|什么时候|哪一年|哪年|几年|何年|哪个世纪|哪天)"),
        (NUMBER, r"(多少|几个|几名|几次|多大|多高|多长|多久)"),
        (PERSON, r"(谁)"),
        (PLACE, r"(哪里|哪儿|何处|在哪)"),
    ),
}

# Per language: the words that ask for a count of something named right after them ("how many cities").
_COUNTS = {
    "en": r"\bhow many\b",
    "de": r"\bwie ?viele[nrs]?\b",
    "es": r"\bcuánt[oa]s\b",
    "fr": r"\bcombien\b(?: de\b| d'|)",
    "it": r"\bquant[ie]\b",
    "pt": r"\bquant[oa]s\b",
    "nl": r"\bhoeveel\b",
    "ru": r"сколько",
}

_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)")
_DECADE = re.compile(
    r"(?<!\d)1?[0-9]{2,3}0s\b|\b[0-9]{3}0er\b|\b(1[0-9]|20|[1-9])(th|st|nd|rd|\.)? (century|jahrhundert)"
    r"|siglo [ivxlc]+|世纪|年|月|日",
    re.IGNORECASE,
)
_INFLECTED = re.compile(r"[\u0370-\u052f]")  # Greek and Cyrillic month names decline
_CASED = re.compile(r"[A-Za-zÀ-ÿА-я]")
_NAME = re.compile(r"(?<![\w])[A-ZÀ-ÖØ-ÞĀ-ſА-Я][\w'’-]+")


@lru_cache(maxsize=32)
def _compiled(language: str) -> tuple[tuple[str, re.Pattern], ...]:
    table = _ASKS.get(language)
    if table is None:
        table = tuple(pair for lang in _ASKS for pair in _ASKS[lang])
    return tuple((kind, re.compile(p)) for kind, p in table)


def asked(question: str, language: str) -> str:
    """The kind of answer the question asks for."""
    folded = " ".join(question.casefold().split())
    for kind, pattern in _compiled(language):
        if pattern.search(folded):
            return kind
    return OTHER


def counted(question: str, language: str = "") -> tuple[str, ...]:
    """What a count question counts: "In how many cities will …" → ("cities",): the content words among the
    two after the asking words, casefolded, less names; empty for other questions. Without a `language` (a
    translation's), every language's asking words are tried."""
    from index.lexical import tokens

    folded = question.casefold()
    for lang in [language] if language in _COUNTS else [] if language else list(_COUNTS):
        m = re.search(_COUNTS[lang], folded)
        if m is not None:
            same_offsets = len(question) == len(folded)  # casefolding may lengthen ("ß" → "ss")
            words = (question if same_offsets else folded)[m.end() :].split()[:2]
            if lang != "de":  # a capitalised word is a name ("How many Panthers players"); German capitalises nouns
                words = [w for w in words if not w[:1].isupper()]
            return tuple(tokens(" ".join(words)))
    return ()


def without_asking(question: str, language: str) -> str:
    """The question without its asking words ("how many", "wie viele", "cuántos", "多少"), which say what kind
    of answer is wanted rather than what it is about."""
    folded = " ".join(question.casefold().split())
    for _, pattern in _compiled(language):
        folded = pattern.sub(" ", folded)
    return re.sub(
        r"\b(what|which|welche[rsmn]?|was|qué|cuál(es)?|quel(le)?s?|quale?|что|какой|какая|какие|什么|哪)\b",
        " ",
        folded,
    )


MONTH_NAMES = Path(__file__).resolve().parent / "month_names.txt"


def month_names() -> list[str]:
    """Month names (wide and abbreviated) of every locale babel knows, casefolded, as regular expressions
    (a declining name takes its endings), longest first. Reading them takes babel half a second, so they are
    kept in `month_names.txt` (written by `python -m qa.answer_types`, checked against babel by a test)."""
    from babel import Locale, localedata
    from babel.dates import get_month_names

    names: set[str] = set()
    for code in localedata.locale_identifiers():
        if "_" in code:
            continue
        try:
            locale = Locale.parse(code)
        except (ValueError, TypeError):
            continue
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for name in get_month_names(width, context, locale).values():
                    name = name.casefold().rstrip(".")
                    if len(name) >= 3:
                        names.add(re.escape(name))
                    if len(name) >= 5 and _INFLECTED.match(name):  # "марта" → "марте", "марту"
                        names.add(re.escape(name[:-1]) + r"\w{0,2}")
    return sorted(names, key=lambda n: (-len(n), n))


def _babel_version() -> str:
    from importlib.metadata import version

    return f"babel {version('babel')}"


@lru_cache(maxsize=1)
def _months() -> re.Pattern:
    try:
        header, *lines = MONTH_NAMES.read_text(encoding="utf-8").split("\n")
    except OSError:
        header, lines = "", []
    names = [n for n in lines if n.strip()]
    if header.strip() != _babel_version() or not names:
        names = month_names()
    return re.compile(rf"(?<!\w)({'|'.join(names)})(?!\w)")


def has_date(text: str, language: str = "", relative: bool = False) -> bool:
    """A year, a decade or a month; with `relative` (the text is from an article whose publication date is
    known), also a date relative to that day ("on Tuesday", "last year")."""
    if _YEAR.search(text) or _DECADE.search(text) or _months().search(text.casefold()):
        return True
    return relative and dates.mentions(text, language)


def is_year(text: str) -> bool:
    return bool(_YEAR.fullmatch(text))


def has_number(text: str, language: str) -> bool:
    """A count or an amount: a number that is not a year and not a bare article ("one of", "ein")."""
    for q in numbers.quantities(text, language):
        if _YEAR.fullmatch(q.text):
            continue
        if q.value == q.mantissa and q.text.casefold() in numbers.WEAK_WORDS:
            continue
        return True
    return bool(re.search(r"\d", _YEAR.sub("", text)))


def names_in(text: str, sentence: bool = True) -> list[str]:
    """Capitalised words (scripts with capitals only); in a `sentence`, not its first word."""
    words = _NAME.findall(text)
    first = re.match(r"\W*([\w'’-]+)", text)
    if sentence and first and words and words[0] == first.group(1):
        words = words[1:]
    return words


def holds(
    kind: str, text: str, language: str, question: str = "", sentence: bool = True, relative: bool = False
) -> bool:
    """Whether `text` (a `sentence`, or else a short answer) holds something of the kind asked for (a person or
    place: a name the question does not already name; other kinds: anything). `relative`: see `has_date`."""
    if kind == NUMBER:
        return has_number(text, language)
    if kind == DATE:
        return has_date(text, language, relative)
    if kind in (PERSON, PLACE):
        if not _CASED.search(text):
            return True  # a script without capitals (Chinese, Japanese, …) shows no names this way
        asked_words = {w.casefold() for w in re.findall(r"\w+", question)}
        return any(w.casefold() not in asked_words for w in names_in(text, sentence))
    return True


if __name__ == "__main__":
    MONTH_NAMES.write_text("\n".join([_babel_version(), *month_names()]) + "\n", encoding="utf-8")
    print(f"wrote {MONTH_NAMES}")
