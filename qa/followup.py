"""Turning a follow-up question into a standalone one, from the conversation so far.

Deterministic and cheap: a question without a referring word (he, their, er, ihre, …) and that
does not start elliptically ("And …?", "Und …?") is returned unchanged, so plain questions pay
nothing. Otherwise a personal pronoun becomes the person named in the previous turn (the answer
first, then the question), a possessive becomes that name's possessive, and what is still
missing is filled in from the previous question's names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa import answer_types
from qa.core import protocol
from qa.core.records import Turn

_PERSON = {
    "en": r"he|she|him",
    "de": r"er|ihn|ihm",
}
_POSSESSIVE = {
    "en": r"his|her",
    "de": r"sein|seine|seinen|seinem|seiner|seines",
}
_PLURAL = {
    "en": r"they|them|their|theirs|it|its",
    "de": r"sie|ihr|ihre|ihren|ihrem|ihrer|es|deren|dessen",
}
_ELLIPSIS = re.compile(r"(?i)^\s*(and|und|what about|and what about|und was ist mit|was ist mit)\b")
_NAME = re.compile(r"\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*")
_QUESTION_WORDS = {
    "who",
    "what",
    "when",
    "where",
    "which",
    "how",
    "why",
    "whose",
    "wer",
    "was",
    "wann",
    "wo",
    "welche",
    "welcher",
    "welches",
    "wie",
    "warum",
    "wessen",
    "wem",
    "wen",
    "und",
    "and",
    "in",
    "is",
    "are",
    "did",
    "does",
    "do",
    "the",
    "die",
    "der",
    "das",
}


_QUOTED = re.compile(r"“[^”]*”|„[^“”]*[“”]|«[^»]*»|\"[^\"]*\"")


def _names(text: str) -> list[str]:
    """Names in the text's own words: quoted sources are set aside (an answer quotes its evidence)."""
    text = _QUOTED.sub(" ", protocol.CITATION.sub("", text))
    found = []
    for m in _NAME.finditer(text):
        words = [w for w in m.group(0).split() if w.casefold() not in _QUESTION_WORDS]
        if words:
            found.append(" ".join(words))
    return found


def _person(turn: Turn, language: str) -> str | None:
    """The first multi-word name (a person's, most likely) of the turn: in its answer when the question asked
    who, else in its question first ("Welche Position hat Anna Berg?" is about Anna Berg, whatever titles
    the answer names)."""
    texts = (turn.answer, turn.question)
    if answer_types.asked(turn.question, language) != answer_types.PERSON:
        texts = texts[::-1]
    for text in texts:
        multi = [n for n in _names(text) if len(n.split()) >= 2]
        if multi:
            return multi[0]
    return None


def needs_rewrite(question: str, language: str) -> bool:
    lang = language if language in _PERSON else "en"
    words = "|".join([_PERSON[lang], _POSSESSIVE[lang], _PLURAL[lang]])
    return bool(re.search(rf"(?i)\b({words})\b", question) or _ELLIPSIS.search(question))


def rewrite(question: str, history: Sequence[Turn], language: str) -> str:
    if not history or not needs_rewrite(question, language):
        return question
    lang = language if language in _PERSON else "en"
    last = history[-1]
    out = question
    person = _person(last, language)
    if person:
        out, n_person = re.subn(rf"(?i)\b({_PERSON[lang]})\b", person, out)
        possessive = f"{person}'s" if lang == "en" else f"von {person}"
        out, n_poss = re.subn(rf"(?i)\b({_POSSESSIVE[lang]})\b", possessive, out)
        if n_person or n_poss:
            return out
    joiner = " und " if lang == "de" else " and "
    if _ELLIPSIS.search(out):
        subject = joiner.join(_names(last.question))
        out = _ELLIPSIS.sub("", out).strip()
        return f"{out[:1].upper()}{out[1:].rstrip('?')} ({subject})?" if out and subject else question
    # German capitalises every noun, so only English answers are mined for names
    answer_names = [] if lang != "en" or protocol.is_refusal(last.answer) else _names(last.answer)
    subject = joiner.join(answer_names[:3] or _names(last.question))
    if not subject:
        return out
    out = re.sub(rf"(?i)\b({_PLURAL[lang]})\b", subject, out, count=1)
    return out
