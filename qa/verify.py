"""Checks of a short answer (a claim) against the evidence sentence it rests on.

A claim is kept only when
- it says something about the question: not an echo of the question's own words, and of the kind asked for
  (a number for "how many", a date for "when", a name for "who"; `qa.answer_types`, many languages);
- every number in it is in the evidence (normalised across languages: "450 million" = "450 Millionen");
- every name and every content word in it is in the evidence (for a claim in the evidence's language), and
  any quoted words are there verbatim;
- who did what holds for a figure: when the question names someone the evidence also names, that name stands
  in the figure's own clause, not only in an aside ("Acme, in which Globex has a stake, has 2.8 million
  members" does not say Globex has them);
- a translated claim says what its source span says: the same numbers, and close in the multilingual
  embedding (the cut-off is fitted by `eval/fit.py`).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from index.lexical import stems
from qa import answer_types, numbers

_INNER_CAPS = re.compile(r"^\w*[a-z]\w*[A-Z]|^[A-Z]{2,}\w*$|\d")
_QUOTED = re.compile(r"[“\"„«]([^”\"“»]{8,})[”\"“»]")
_ASIDE_MARKS = re.compile(r"[,;()\[\]–—]")
# An aside that names what the main clause is about ("The new company, to be called Acme, will …") is no aside.
_NAMING = re.compile(
    r"\b(called|named|known as|namens|genannt|mit dem namen|llamad[oa]s?|denominad[oa]s?|conocid[oa]s? como|"
    r"appelée?s?|nommée?s?|baptisée?s?|chiamat[oaie]|denominat[oaie]|chamad[oa]s?|genaamd|называем\w*|"
    r"под названием)\b"
)


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str = ""


def names(claim: str, language: str) -> set[str]:
    """Names a claim states: tokens with inner capitals or digits ("eBay", "EV", "A380") and, in English,
    capitalised words after the first (other languages capitalise too much or too little to tell)."""
    words = [re.sub(r"['’]s$", "", w) for w in re.findall(r"[^\W_][\w'’-]*", claim)]
    found = set()
    for i, w in enumerate(words):
        if _INNER_CAPS.search(w) and not w.isdigit() or language == "en" and i > 0 and w[0].isupper():
            found.add(w.casefold())
    return found


def says_something(claim: str, questions: tuple[str, ...], language: str) -> bool:
    """The claim holds a word or a number that none of the question's wordings (the question and its
    translations) holds: an echo of the question answers nothing."""
    asked = set().union(*(stems(q) for q in questions)) if questions else set()
    folded = {q.casefold() for q in questions}
    said = stems(claim)
    if said - asked:
        return True
    stated = numbers.quantities(claim, language)
    return any(not any(q.text.casefold() in f for f in folded) for q in stated)


def numbers_supported(claim: str, claim_language: str, evidence: str, evidence_language: str) -> bool:
    ev = numbers.quantities(evidence, evidence_language)
    return all(numbers.supported(q, ev) for q in numbers.quantities(claim, claim_language))


def quotes_verbatim(claim: str, evidence: str) -> bool:
    flat = " ".join(evidence.split()).casefold()
    return all(" ".join(q.split()).casefold() in flat for q in _QUOTED.findall(claim))


def _names_the_subject(aside: str, names: set[str]) -> bool:
    """Whether an aside gives a name of the question as the name of something: a naming word followed by the
    name and nothing else ("…, to be called Acme Mobility, …"), not one that only mentions it ("…, whose
    founder once called Acme a rival, …")."""
    for m in _NAMING.finditer(aside):
        words = re.findall(r"[\w'’.-]+", aside[m.end() :])
        if words and all(w in names for w in words):
            return True
    return False


def relation_holds(question_names: set[str], evidence: str, start: int, end: int) -> bool:
    """Who did what: each name of the question that the evidence mentions stands outside the asides that do
    not hold the answer (segments between two commas, brackets or dashes), unless the aside gives the name of
    what the main clause is about ("…, to be called Acme, …")."""
    folded = evidence.casefold()
    present = {n for n in question_names if n in folded}
    if not present:
        return True
    marks = [m.start() for m in _ASIDE_MARKS.finditer(evidence)]
    kept = []
    cuts = [0, *marks, len(evidence)]
    for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
        enclosed = 0 < i < len(cuts) - 2  # bounded by a mark on both sides
        if enclosed and not (a < end and start < b) and not _names_the_subject(folded[a:b], present):
            continue
        kept.append(folded[a:b])
    main = " ".join(kept)
    return all(n in main for n in present)


def check_claim(
    claim: str,
    claim_language: str,
    questions: tuple[str, ...],
    kind: str,
    evidence: str,
    evidence_language: str,
    question_names: AbstractSet[str] = frozenset(),
    span: tuple[int, int] | None = None,
    relative_dates: bool = False,
) -> Check:
    """Whether a claim in `claim_language` may be stated on the strength of `evidence`; `span` is where in the
    evidence the claim was taken from, when it was. `relative_dates`: the evidence's article is dated, so "on
    Tuesday" is a date."""
    if not re.search(r"\w", claim):
        return Check(False, "empty")
    if not says_something(claim, questions, claim_language):
        return Check(False, "echoes the question")
    if not answer_types.holds(
        kind, claim, claim_language, questions[0] if questions else "", sentence=False, relative=relative_dates
    ):
        return Check(False, f"not a {kind}")
    if not numbers_supported(claim, claim_language, evidence, evidence_language):
        return Check(False, "a number the evidence lacks")
    if claim_language == evidence_language:
        if not all(n in evidence.casefold() for n in names(claim, claim_language)):
            return Check(False, "a name the evidence lacks")
        if stems(claim) - stems(evidence):
            return Check(False, "words the evidence lacks")
    if not quotes_verbatim(claim, evidence):
        return Check(False, "a quote the evidence lacks")
    if (
        span is not None
        and numbers.quantities(claim, claim_language)
        and not relation_holds(set(question_names), evidence, *span)
    ):
        return Check(False, "the question's subject is only in an aside")
    return Check(True)


def reads_the_same(text: str) -> bool:
    """Whether a short answer reads the same in any language written in its script: numbers, and names (every
    word capitalised or holding a digit), such as "1,345,596", "John Elway" or "DVB-T"."""
    words = re.findall(r"[^\W_][\w'’.-]*", text)
    return bool(words) and all(w[0].isupper() or any(c.isdigit() for c in w) for w in words)


def translation_holds(
    source: str, source_language: str, translated: str, target_language: str, similarity: float, min_similarity: float
) -> bool:
    """A translated short answer states what its source does: the same numbers both ways, and the two are
    close in the multilingual embedding."""
    there = numbers.quantities(source, source_language)
    here = numbers.quantities(translated, target_language)
    if not all(numbers.supported(q, there) for q in here) or not all(numbers.supported(q, here) for q in there):
        return False
    return similarity >= min_similarity
