"""Keeps only what the evidence carries.

Each sentence of the model's answer is a claim. A claim is supported by an evidence sentence when
- every number in it is found there (normalised across languages: "450 million" = "450 Millionen"),
- every name in it is found there (tokens with inner capitals or digits such as "DiDi", "EV",
  and, in English, capitalised words after the first), and
- its content words are there, or, when the answer's language differs from the evidence's, the two
  are close in the multilingual embedding space.
A supported claim is cited to the evidence that supports it (the model's own numbers are often off);
an unsupported claim is removed. If nothing is left, the best evidence is quoted verbatim (when
retrieval found it relevant enough) or the assistant refuses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.lexical import stems
from index.sentences import split_sentences
from qa import numbers, protocol
from qa.records import Citation, Evidence

SIMILARITY_MIN = 0.86  # cosine of claim and evidence (e5 scale) for a claim in another language
CONTENT_MIN = 0.7  # share of a claim's content words found in the evidence
CROSS_CONTENT_MIN = 0.5  # the same, for a claim in another language than its evidence
QUOTE_MIN_SCORE = 0.87  # default evidence score an answer's evidence needs (multilingual-e5-small's scale)

_INNER_CAPS = re.compile(r"^\w*[a-z]\w*[A-Z]|^[A-Z]{2,}\w*$|\d")
_QUOTED = re.compile(r"[“\"„«]([^”\"“»]{8,})[”\"“»]")

_QUANTITY_Q = re.compile(r"(?i)\b(how (many|much|large|big|high)|what (number|percentage|share)|wie ?viele?|wie (groß|hoch))\b")
_TIME_Q = re.compile(r"(?i)\b(when|what year|which year|since when|wann|seit wann|in welchem jahr)\b")
_TIME_A = re.compile(
    r"(?i)\b(1\d{3}|20\d{2}|january|february|march|april|may|june|july|august|september|october|november|december|"
    r"januar|februar|märz|mai|juni|juli|oktober|dezember|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|today|yesterday|"
    r"heute|gestern|(this|last|next) (year|month|week)|(diesem|letzten|nächsten) (jahr|monat))\b")
_YEAR = re.compile(r"(1[89]|20)\d\d")  # "in March 2022" does not say how many
_PERSON_Q = re.compile(r"(?i)^\s*(who|whom|wer|wem|wen)\b")


@dataclass(frozen=True)
class Verified:
    text: str
    citations: tuple[Citation, ...]
    mode: str  # "composed", "quoted" or "refused"
    removed: tuple[str, ...] = ()


def names(claim: str, language: str) -> set[str]:
    words = [re.sub(r"['’]s$", "", w) for w in re.findall(r"[^\W_][\w'’-]*", claim)]
    found = set()
    for i, w in enumerate(words):
        if _INNER_CAPS.search(w) and not w.isdigit():
            found.add(w.casefold())
        elif language == "en" and i > 0 and w[0].isupper():
            found.add(w.casefold())
    return found


_WEAK_NUMBERS = {"one", "a", "an", "ein", "eine", "einen", "einer", "eins"}
# Words that say what kind of answer is wanted rather than what it is about.
_ASKING = {"year", "jahr", "month", "monat", "name", "heißt", "number", "zahl", "many", "much", "viel", "viele",
           "wie", "how", "what", "which", "welche", "welcher", "welches", "who", "wer", "when", "wann", "does", "did",
           "have", "has", "had", "haben", "hat", "hatte", "will", "would", "wird", "werden", "wurde", "is", "are",
           "was", "were", "ist", "sind", "war", "waren"}


_FULL_NAME = re.compile(r"(?<=\w )([A-Z][\w-]+(?: [A-Z][\w-]+)+)")


@dataclass(frozen=True)
class Keys:
    """What an answer's evidence must be about. `stems`: for the question and each translation, the stems of
    its content words that are not names nor the kind of answer asked for. `full_names`: names of two words
    or more ("Kevin Chen"), which make evidence about the question even when its asking words were
    translated badly."""

    stems: tuple[frozenset[str], ...]
    full_names: frozenset[str] = frozenset()

    def about(self, text: str) -> bool:
        """The text holds a key stem of the question or of a translation, or one of its full names."""
        if not any(self.stems):
            return True
        found = stems(text)
        if any(k & found for k in self.stems):
            return True
        return self.names_fully(text)

    def names_fully(self, text: str) -> bool:
        folded = text.casefold()
        return any(n in folded for n in self.full_names)

    def coverage(self, text: str) -> float:
        found = stems(text)
        return max((len(k & found) / len(k) for k in self.stems if k), default=0.0)


def question_keys(question: str, language: str, translations: Sequence[str] = ()) -> Keys:
    out = []
    for i, text in enumerate((question, *translations)):
        named = {n[:5] for n in names(text, language if i == 0 else "")}  # a translation's language is unsure
        out.append(frozenset(s for s in stems(text) if s not in named and s not in {a[:5] for a in _ASKING}))
    full = frozenset(m.casefold() for text in (question, *translations) for m in _FULL_NAME.findall(text))
    return Keys(tuple(out), full)


def answers_type(question: str, claim: str, language: str) -> bool:
    """Whether the claim has the kind of thing the question asks for: a number for "how many",
    a date for "when", a name for "who". Questions of other kinds accept any claim."""
    if _QUANTITY_Q.search(question):
        return any((q.value != q.mantissa or q.text.casefold() not in _WEAK_NUMBERS) and not _YEAR.fullmatch(q.text)
                   for q in numbers.quantities(claim, language))
    if _TIME_Q.search(question):
        return bool(_TIME_A.search(claim))
    if _PERSON_Q.search(question):
        asked = {w.casefold() for w in re.findall(r"\w+", question)}
        words = re.findall(r"[^\W\d_][\w'-]*", claim)
        return any(w[0].isupper() and w.casefold() not in asked for w in words[1:] or words[:1])
    return True


def adds_information(question: str, claim: str, language: str) -> bool:
    """Whether the claim says something the question does not (an echo of the question answers nothing)."""
    asked = stems(question) | names(question, language)
    said = stems(claim) | names(claim, language)
    return bool(said - asked) or bool(numbers.quantities(claim, language))


def mentions_question_names(question: str, language: str, text: str) -> bool:
    """When the question names something, evidence for its answer mentions at least one of those names."""
    wanted = names(question, language)
    return not wanted or any(n in text.casefold() for n in wanted)


def missing_names(question: str, language: str, evidence: Sequence[Evidence]) -> set[str]:
    """Names the question asks about that no evidence sentence mentions ("Tesla")."""
    text = " ".join(e.text for e in evidence).casefold()
    return {n for n in names(question, language) if n not in text}


def content_overlap(claim: str, evidence: str) -> float:
    words = stems(claim)
    if not words:
        return 1.0
    return len(words & stems(evidence)) / len(words)


class Verifier:
    def __init__(self, embed: Callable[[list[str]], np.ndarray] | None = None,
                 evidence_vector: Callable[[Evidence], np.ndarray] | None = None, trust_model_refusal: bool = True,
                 min_score: float = QUOTE_MIN_SCORE):
        self.min_score = min_score
        self._embed = embed
        self._evidence_vector = evidence_vector
        self.trust_model_refusal = trust_model_refusal

    def supports(self, claim: str, language: str, ev: Evidence, ev_language: str,
                 claim_vector: Callable[[], np.ndarray | None]) -> bool:
        """`claim_vector` is called only when a claim in another language than its evidence needs it."""
        flat = " ".join(ev.text.split()).casefold()
        if any(" ".join(q.split()).casefold() not in flat for q in _QUOTED.findall(claim)):
            return False
        claim_q = numbers.quantities(claim, language)
        ev_q = numbers.quantities(ev.text, ev_language)
        if not all(numbers.supported(q, ev_q) for q in claim_q):
            return False
        ev_text = ev.text.casefold()
        if not all(n in ev_text for n in names(claim, language)):
            return False
        overlap = content_overlap(claim, ev.text)
        if overlap >= CONTENT_MIN:
            return True
        if self._evidence_vector is None or language == ev_language or overlap < CROSS_CONTENT_MIN:
            return False
        # across languages: close in the multilingual embedding and half the stems shared (names, cognates)
        vector = claim_vector()
        return vector is not None and float(vector @ self._evidence_vector(ev)) >= SIMILARITY_MIN

    def verify(self, question: str, answer: str, language: str, evidence: Sequence[Evidence],
               evidence_language: Callable[[Evidence], str], model_refused: bool,
               claim_language: Callable[[str], str] | None = None, translations: Sequence[str] = (),
               quotable: Sequence[Evidence] = ()) -> Verified:
        """`evidence` is what the model was shown and may cite; `quotable` (default: the same) is all the
        retrieved evidence a verbatim quote may come from when no composed sentence holds."""
        quotable = quotable or evidence
        if missing_names(question, language, quotable):
            return Verified(protocol.refusal(language), (), "refused")
        keys = question_keys(question, language, translations)
        if model_refused or not answer.strip():
            return self.fallback(question, language, quotable, model_refused, keys)
        best = self.best_quotable(question, language, quotable, keys)
        if best is None:
            return Verified(protocol.refusal(language), (), "refused")
        by_n = {e.n: e for e in evidence}
        claims = [answer[s.start : s.end] for s in split_sentences(answer, language)] or [answer]
        bare = [protocol.CITATION.sub("", c).strip() for c in claims]
        # A claim's embedding is computed on first use: most claims are checked without one.
        vectors = [functools.cache(lambda t=text: self._embed([t])[0] if self._embed else None) for text in bare]
        kept, removed, cited_order, translated_quotes = [], [], [], []
        for claim, text, vec in zip(claims, bare, vectors):
            if not re.search(r"\w", text):
                continue
            lang = claim_language(text) if claim_language else language
            if not answers_type(question, text, lang) or not adds_information(question, text, lang):
                removed.append(claim)
                continue
            wanted = [n for n in protocol.cited_numbers(claim) if n in by_n]
            order = wanted + [e.n for e in evidence if e.n not in wanted]
            support = [n for n in order
                       if mentions_question_names(question, language, by_n[n].text)
                       and keys.about(by_n[n].text)
                       and self.supports(text, lang, by_n[n], evidence_language(by_n[n]), vec)]
            if not support:
                removed.append(claim)
                continue
            if best.n not in support:
                # Retrieval ranks evidence better than the model picks it: a claim must rest on the best
                # evidence about the question, or that evidence is quoted instead.
                removed.append(claim)
                continue
            cite = [best.n]
            if lang != language:
                translated_quotes += [n for n in cite if n not in translated_quotes]
                continue
            kept.append(text.rstrip(" .") + " " + "".join(protocol.cite(n) for n in cite) + ".")
            cited_order += [n for n in cite if n not in cited_order]
        if not kept and translated_quotes:
            # Supported, but written in another language than the question's: quote its source instead.
            best = by_n[translated_quotes[0]]
            return Verified(self._quote(language, best), (best.citation(),), "quoted", tuple(removed))
        if not kept:
            fallback = self.fallback(question, language, quotable, False, keys)
            return Verified(fallback.text, fallback.citations, fallback.mode, tuple(removed))
        citations = tuple(by_n[n].citation() for n in cited_order)
        return Verified(" ".join(kept), citations, "composed", tuple(removed))

    def best_quotable(self, question: str, language: str, evidence: Sequence[Evidence],
                      keys: Keys) -> Evidence | None:
        """Of the evidence that is about the question and has the kind of thing it asks for, the one naming
        most of what the question names, then holding most of its key words, then ranked best."""
        asked = names(question, language)
        best, best_key = None, None
        for rank, e in enumerate(evidence):
            # A sentence naming someone the question names in full is relevant whatever its embedding score.
            relevant = e.score >= self.min_score or keys.names_fully(e.text)
            if not (relevant and answers_type(question, e.text, "en")
                    and mentions_question_names(question, language, e.text) and keys.about(e.text)):
                continue
            text = e.text.casefold()
            key = (sum(n in text for n in asked), round(keys.coverage(e.text), 1), -rank)
            if best_key is None or key > best_key:
                best, best_key = e, key
        return best

    def order(self, question: str, language: str, evidence: Sequence[Evidence],
              translations: Sequence[str] = ()) -> tuple[Evidence, ...] | None:
        """The evidence with the best quotable sentence first, renumbered from 1, so that the model is shown
        what an answer may rest on; None when no sentence can carry an answer (the model need not be asked)."""
        if missing_names(question, language, evidence):
            return None
        best = self.best_quotable(question, language, evidence, question_keys(question, language, translations))
        if best is None:
            return None
        ranked = [best] + [e for e in evidence if e is not best]
        return tuple(replace(e, n=i) for i, e in enumerate(ranked, start=1))

    def fallback(self, question: str, language: str, evidence: Sequence[Evidence], model_refused: bool,
                 keys: Keys | None = None) -> Verified:
        """A verbatim quote of the best evidence that is about the question and has what it asks for, else a
        refusal. The model's own refusal is trusted only when `trust_model_refusal` is set."""
        keys = keys if keys is not None else question_keys(question, language)
        best = self.best_quotable(question, language, evidence, keys)
        if (model_refused and self.trust_model_refusal) or best is None:
            return Verified(protocol.refusal(language), (), "refused")
        return Verified(self._quote(language, best), (best.citation(),), "quoted")

    @staticmethod
    def _quote(language: str, ev: Evidence) -> str:
        quote = ev.text if re.search(r"[“”\"„«»]", ev.text) else f"“{ev.text}”"
        return f"{protocol.quoted_lead(language)} {quote} {protocol.cite(ev.n)}"

