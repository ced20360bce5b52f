"""Relative dates in an article ("on Tuesday", "last year", "im Februar", "in the autumn") resolved against the
article's publication date, and written in the asker's language ("14 March 2023", "2022").

News is written relative to its own day: "on Tuesday" in a report of Wednesday 15 March 2023 is 14 March, and
"last year" in March 2024 is 2023. A weekday is the last such day up to the publication day (the next, when
the sentence speaks of the future); a month or a season without a year is the last one (the next, in the
future); other expressions ("last year", "letzte Woche", "yesterday") are read by dateparser with the
publication date as its base. An expression that holds a year needs no resolving.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

DAY, WEEK, MONTH, SEASON, YEAR = "day", "week", "month", "season", "year"

_RELATIVE = {
    "en": r"\b(yesterday|today|tomorrow|(last|this|next|the previous|the coming|the past) (year|month|week)|"
    r"(a|one) (year|month|week) (ago|earlier))\b",
    "de": r"\b(gestern|vorgestern|heute|morgen|übermorgen|(vergangen|vorig|letzt|dies|nächst|kommend)\w* "
    r"(jahr|jahres|monat|monats|woche)|vor einem (jahr|monat))\b",
}
_NORMALISE = {
    "de": (
        (r"\b(vergangen|vorig|letzt)\w*\s+jahr\w*", "letztes Jahr"),
        (r"\b(vergangen|vorig|letzt)\w*\s+monat\w*", "letzten Monat"),
        (r"\b(vergangen|vorig|letzt)\w*\s+woche\b", "letzte Woche"),
        (r"\bdies\w*\s+jahr\w*", "dieses Jahr"),
        (r"\b(nächst|kommend)\w*\s+jahr\w*", "nächstes Jahr"),
    ),
    "en": (
        (r"\bthe (previous|past) (year|month|week)\b", r"last \2"),
        (r"\bthe coming (year|month|week)\b", r"next \1"),
    ),
}
_SEASONS = {
    "en": {"spring": 4, "summer": 7, "autumn": 10, "fall": 10, "winter": 1},
    "de": {"frühjahr": 4, "frühling": 4, "sommer": 7, "herbst": 10, "winter": 1},
}
_FUTURE = {
    "en": r"\b(will|shall|expected|expects?|plans?|planned|scheduled|due to|aims?|intends?|is to|are to|"
    r"to be)\b|'ll\b",
    "de": r"\b(wird|werden|soll|sollen|will|wollen|plant|planen|geplant|erwartet|rechnet|rechnen|künftig|"
    r"voraussichtlich)\b",
}
_CAPITALISED = {"en", "de", "nl"}  # languages that write weekdays and months with a capital
_YEAR = re.compile(r"\b(1[5-9]|20)\d\d\b")
_STARTS = {
    "en": {"yesterday", "today", "tomorrow", "last", "this", "next", "previous", "coming", "past"},
    "de": {
        "gestern",
        "vorgestern",
        "heute",
        "morgen",
        "übermorgen",
        "vergangenen",
        "vergangenes",
        "letzten",
        "letztes",
        "vorigen",
        "voriges",
        "diesem",
        "dieses",
        "nächsten",
        "nächstes",
        "kommenden",
    },
}


@dataclass(frozen=True)
class Resolved:
    """The date an expression means; `period` says how much of it is meant (a day, a month, a year…)."""

    date: dt.date
    period: str


@lru_cache(maxsize=32)
def _weekdays(language: str) -> dict[str, int]:
    from babel.dates import get_day_names

    try:
        names = get_day_names("wide", locale=language)
    except (ValueError, LookupError):
        return {}
    return {name.casefold(): i for i, name in names.items()}


@lru_cache(maxsize=32)
def _months(language: str) -> dict[str, int]:
    from babel.dates import get_month_names

    out: dict[str, int] = {}
    try:
        for context in ("format", "stand-alone"):
            for i, name in get_month_names("wide", context, locale=language).items():
                out[name.casefold()] = i
    except (ValueError, LookupError):
        pass
    return out


def _word(name: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def mentions(text: str, language: str) -> bool:
    """Whether `text` names a date relative to the day it was written: a weekday, a season, or an expression
    such as "last year" (month names are dates anyway)."""
    folded = text.casefold()
    if re.search(_RELATIVE.get(language, "(?!)"), folded):
        return True
    return any(_word(w, folded) for w in [*_weekdays(language), *_SEASONS.get(language, {})])


def find(text: str, language: str) -> str | None:
    """The first expression in `text` that dates relative to the day it was written ("Last year", "am
    Dienstag", "in October"), as written; None when there is none or a year is named."""
    if _YEAR.search(text):
        return None
    names = [*_weekdays(language), *_SEASONS.get(language, {}), *_months(language)]
    patterns = [_RELATIVE.get(language, "(?!)"), *(rf"(?<!\w){re.escape(n)}(?!\w)" for n in names if len(n) > 2)]
    found = [m for p in patterns for m in re.finditer(p, text.casefold())]
    if language in _CAPITALISED:  # "may" the verb is not May the month
        found = [m for m in found if m.re.pattern == patterns[0] or text[m.start()].isupper()]
    if not found:
        return None
    first = min(found, key=lambda m: m.start())
    return text[first.start() : first.end()]


def meant(text: str, language: str, published: str) -> str:
    """ " (…)" with the date the first relative date of `text` means, said in `language`, when its article was
    `published` (YYYY-MM-DD): " (October 2023)" for "in October" in a report of March 2024; "" otherwise."""
    written = find(text, language) if published else None
    resolved = resolve(written, text, language, published) if written else None
    return f" ({say(resolved, language)})" if resolved else ""


def starts(word: str, language: str) -> bool:
    """Whether a short answer may begin with `word` as the start of a relative date."""
    w = word.casefold().strip(",.;:()")
    return w in _STARTS.get(language, set()) or w in _weekdays(language) or w in _SEASONS.get(language, {})


def resolve(expression: str, sentence: str, language: str, published: str) -> Resolved | None:
    """The date `expression` (taken from `sentence`, in `language`) means in an article published on
    `published` (YYYY-MM-DD); None when it holds a year, names no date, or the publication date is unknown."""
    try:
        base = dt.date.fromisoformat(published)
    except ValueError:
        return None
    text = expression.casefold()
    if _YEAR.search(text):
        return None
    future = bool(re.search(_FUTURE.get(language, "(?!)"), sentence.casefold())) or bool(
        re.search(r"\b(next|coming|nächst|kommend)", text)
    )
    for name, weekday in _weekdays(language).items():
        if _word(name, text):
            if future:
                return Resolved(base + dt.timedelta(days=(weekday - base.weekday()) % 7), DAY)
            return Resolved(base - dt.timedelta(days=(base.weekday() - weekday) % 7), DAY)
    for table, period in ((_SEASONS.get(language, {}), SEASON), (_months(language), MONTH)):
        for name, month in table.items():
            if _word(name, text) and not re.search(_RELATIVE.get(language, "(?!)"), text):
                if future:
                    year = base.year if month >= base.month else base.year + 1
                else:
                    year = base.year if month <= base.month else base.year - 1
                return Resolved(dt.date(year, month, 1), period)
    if not re.search(_RELATIVE.get(language, "(?!)"), text):
        return None
    for pattern, replacement in _NORMALISE.get(language, ()):
        text = re.sub(pattern, replacement, text)
    from dateparser.date import DateDataParser

    parser = DateDataParser(
        languages=[language],
        settings={
            "RELATIVE_BASE": dt.datetime.combine(base, dt.time()),
            "PREFER_DATES_FROM": "future" if future else "past",
        },
    )
    found = parser.get_date_data(text)
    if found.date_obj is None or found.period not in (DAY, WEEK, MONTH, YEAR):
        return None
    return Resolved(found.date_obj.date(), found.period)


def say(resolved: Resolved, language: str) -> str:
    """The date in `language`, as precise as it is meant: "14 March 2023", "März 2023", "2022"."""
    from babel.dates import format_date, format_skeleton

    try:
        if resolved.period in (DAY, WEEK):
            return format_date(resolved.date, "long", locale=language)
        if resolved.period == MONTH:
            return format_skeleton("yMMMM", resolved.date, locale=language)
    except (ValueError, LookupError):
        return resolved.date.isoformat()
    return str(resolved.date.year)
