"""One question through the steps, in one place: which evidence is shown, in what order, and what is said.

    question ─► language (names set aside) ─► standalone question (follow-ups) ─► translations
             ─► retrieval (chunks, candidate sentences) ─► ranking and the decision to answer (qa.evidence)
             ─► short answer: the words of the best sentence that answer, chosen by the model (qa.extract),
                translated into the question's language when the sentence is in another (qa.translate)
             ─► checks (qa.verify) ─► Answer

An answer is one of three kinds: `composed` (a short answer in the question's language, checked, followed by
the sentence it rests on, quoted), `quoted` (the sentence alone, when no short answer passes the checks) or
`refused` (the evidence models judge that no sentence answers). The model never writes free text that is
shown: what it chooses is copied from the evidence or translated from such a copy and checked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from index.language import detect_language
from index.lexical import stems
from qa import answer_types, dates, numbers, verify
from qa.core import protocol
from qa.core.records import (
    ANSWER,
    ANSWER_TRANSLATION,
    EVERYTHING,
    QUESTION_TRANSLATION,
    Answer,
    Citation,
    Document,
    Evidence,
    GenerationStats,
    Scope,
    Timings,
    Turn,
)
from qa.core.settings import Settings
from qa.evidence import Calibration, Question, Ranked, answers_without_those_above, rank
from qa.extract import Span, SpanExtractor
from qa.followup import rewrite
from qa.retrieve import Retriever
from qa.translate import Translator

QUESTION_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "ru", "zh", "ja", "pl", "tr", "sv", "da")
MAX_FIGURE_READS = 3  # a bound on the time one answer takes (each read runs the model), not a fitted cut-off
_NAMEISH = re.compile(r"(?<=\w)[\s,]+([A-ZÀ-ÖØ-ÞА-Я][\w'’.-]*|\w*\d\w*)")


Generations = tuple[GenerationStats, ...]


@dataclass(frozen=True)
class Token:
    """A piece of the answer as the model chooses it (before it is checked)."""

    text: str


def set_names_aside(question: str) -> str:
    """The question without its names and numbers (capitalised words after the first, words with digits):
    "Wer leitet Acme Mobility?" is German however English its names."""
    return _NAMEISH.sub(" ", question)


class Pipeline:
    """The steps of answering, over one loaded index and the models; built by `qa.assistant.Assistant`."""

    def __init__(
        self,
        settings: Settings,
        documents: dict[str, Document],
        retriever: Retriever,
        extractor: Callable[[], SpanExtractor],
        translator: Callable[[], Translator | None],
        embed: Callable[[list[str]], np.ndarray],
    ):
        self.settings = settings
        self.documents = documents
        self.retriever = retriever
        self._extractor = extractor
        self._translator = translator
        self.embed = embed
        self.languages = sorted({d.language for d in documents.values()})

    @property
    def calibration(self) -> Calibration:
        return Calibration.load(self.settings.retrieval.calibration)

    # -- the steps ---------------------------------------------------------------------------------
    def question_language(self, question: str) -> str:
        candidates = self.settings.ingest.languages or QUESTION_LANGUAGES
        aside = set_names_aside(question)
        return detect_language(aside if len(aside.split()) >= 2 else question, candidates)

    def doc_language(self, ev: Evidence) -> str:
        return self.documents[ev.doc_id].language

    def published(self, ev: Evidence) -> str:
        """The publication date of the evidence's article (YYYY-MM-DD), "" when unknown."""
        return self.documents[ev.doc_id].source.published

    def dated(self, ev: Evidence) -> bool:
        return bool(self.published(ev))

    def translations(self, question: str, language: str) -> tuple[str, ...]:
        """The question in each other language the index holds articles in (when enabled)."""
        return self._translate_question(question, language)[0]

    def _translate_question(self, question: str, language: str) -> tuple[tuple[str, ...], Generations]:
        translator = self._translator() if self.settings.retrieval.translate_queries else None
        if translator is None:
            return (), ()
        targets = [lang for lang in self.languages if lang != language][:2]
        done = [t for t in (translator.translate(question, language, target) for target in targets) if t]
        texts = tuple(t.text for t in done if t.text and t.text.casefold() != question.casefold())
        return texts, tuple(t.stats.of_step(QUESTION_TRANSLATION) for t in done if t.stats)

    def search(self, question: str, scope: Scope = EVERYTHING) -> tuple[Evidence, ...]:
        """The candidate sentences for a question, best first by the evidence model, without answering."""
        language = self.question_language(question)
        translations, _ = self._translate_question(question, language)
        retrieval = self.retriever.retrieve(question, translations, scope)
        q = Question.of(question, language, translations, self.retriever.idf)
        return rank(q, retrieval, self.calibration, self.doc_language, self.published).evidence

    def run(
        self, question: str, history: Sequence[Turn], model: dict[str, str], scope: Scope = EVERYTHING
    ) -> Iterator[Token | Answer]:
        t0 = time.perf_counter()
        language = self.question_language(question)
        standalone = rewrite(question, history, language)
        t_rewritten = time.perf_counter()
        translations, generations = self._translate_question(standalone, language)
        t_translated = time.perf_counter()
        retrieval = self.retriever.retrieve(standalone, translations, scope)
        q = Question.of(standalone, language, translations, self.retriever.idf)
        ranked = rank(q, retrieval, self.calibration, self.doc_language, self.published)
        t_ranked = time.perf_counter()
        shown = ranked.evidence[: self.settings.retrieval.max_evidence]

        def answer(
            text: str,
            mode: str,
            citations: tuple[Citation, ...],
            first: float | None,
            extracted: float,
            raw: str,
            generations: Generations,
        ) -> Answer:
            """Timings: retrieval includes ranking; generation is the short answer's extraction; the check
            includes its translation."""
            end = time.perf_counter()
            timings = Timings(
                t_rewritten - t0,
                t_translated - t_rewritten,
                t_ranked - t_translated,
                (first or extracted) - t0,
                extracted - t_ranked,
                end - extracted,
                end - t0,
            )
            return Answer(
                question=question,
                text=text,
                citations=citations,
                refused=mode == "refused",
                language=language,
                timings=timings,
                model=model,
                evidence=shown,
                mode=mode,
                raw=raw,
                rewritten=standalone,
                translations=translations,
                hits=retrieval.hits,
                generations=generations,
            )

        if not ranked.answerable:
            yield answer(protocol.refusal(language), "refused", (), None, time.perf_counter(), "", generations)
            return
        best = ranked.evidence[0]
        first, raw = None, ""
        span = None
        if self.settings.llm.compose:
            may_start = self._may_start(q, translations, best)
            stream = self._extractor().stream(best.text, standalone, may_start, self.doc_language(best))
            while True:
                try:
                    piece = next(stream)
                except StopIteration as ended:
                    span, stats = ended.value
                    generations += (stats.of_step(ANSWER),) if stats else ()
                    break
                first = first or time.perf_counter()
                raw += piece
                yield Token(piece)
        extracted = time.perf_counter()
        claim, more = self.short_answer(q, translations, best, span)
        generations += more
        cited: tuple[Citation, ...] = (self.citation(best),)
        if claim is not None and span is not None:
            if q.kind == answer_types.DATE:
                claim = self.dated_claim(claim, span.text, best, q.language)
            agree, differ, more = self.other_reports(q, standalone, translations, ranked, claim, span)
            generations += more
            if differ:
                reports = self._with_dates([([best, *agree], claim), *differ], language)
                text = protocol.differing(language, [(f, [e.n for e in evs], evs[0].text) for evs, f in reports])
                cited += tuple(self.citation(e) for evs, _ in reports for e in evs if e is not best)
            else:
                text = protocol.short_answer(claim, best.n, best.text, [e.n for e in agree])
                cited += tuple(self.citation(e) for e in agree)
            yield answer(text, "composed", cited, first, extracted, raw, generations)
        elif answer_types.holds(q.kind, best.text, self.doc_language(best), standalone, relative=self.dated(best)):
            text = protocol.quoted(language, best.text, best.n)
            if q.kind == answer_types.DATE:
                text += self.dated_quote(best, language)
            yield answer(text, "quoted", cited, first, extracted, raw, generations)
        else:  # a quote that lacks the kind of answer asked for does not answer
            yield answer(protocol.refusal(language), "refused", (), first, extracted, raw, generations)

    def citation(self, ev: Evidence) -> Citation:
        return ev.citation(self.documents[ev.doc_id], [self.documents[d] for d in ev.also])

    # -- several articles, one answer -------------------------------------------------------------
    def other_reports(
        self, q: Question, standalone: str, translations: tuple[str, ...], ranked: Ranked, claim: str, span: Span
    ) -> tuple[list[Evidence], list[tuple[list[Evidence], str]], Generations]:
        """Sentences of other articles (not copies of the best one's) that answer the question too, by the same
        evidence models that decided to answer: those that state the same fact, and, for a number asked for,
        those that give other figures, grouped by figure (each checked like any short answer)."""
        best = ranked.evidence[0]
        copies = self.retriever.index.data.copies
        seen = {copies.get(best.doc_id, best.doc_id)}
        agree: list[Evidence] = []
        differ: list[tuple[list[Evidence], str]] = []
        generations: Generations = ()
        reads = 0
        for i, ev in enumerate(ranked.evidence[: self.settings.retrieval.max_evidence]):
            story = copies.get(ev.doc_id, ev.doc_id)
            if i == 0 or story in seen:
                continue
            if not answers_without_those_above(q, ranked, i, self.calibration, self.doc_language, self.published):
                continue
            seen.add(story)
            if self.states(span.text, self.doc_language(best), ev):
                agree.append(ev)
                continue
            if q.kind != answer_types.NUMBER:
                continue
            same = next((group for group, figure in differ if self.states(figure, q.language, ev)), None)
            if same is not None:
                same.append(ev)
                continue
            if reads >= MAX_FIGURE_READS:
                continue
            reads += 1
            other_span, stats = self._extractor().extract_with_stats(
                ev.text, standalone, self._may_start(q, translations, ev), self.doc_language(ev)
            )
            generations += (stats.of_step(ANSWER),) if stats else ()
            figure, more = self.short_answer(q, translations, ev, other_span)
            generations += more
            if figure is not None and all(
                self._differs(figure, f, q.language) for f in (claim, *(f for _, f in differ))
            ):
                differ.append(([ev], figure))
        return agree, differ, generations

    def states(self, said: str, language: str, ev: Evidence) -> bool:
        """Whether the evidence states what `said` (a short answer in `language`) says: the same numbers, or the
        same words."""
        said_numbers = numbers.quantities(said, language)
        if said_numbers:
            found = numbers.quantities(ev.text, self.doc_language(ev))
            return all(numbers.supported(n, found) for n in said_numbers)
        flat = " ".join(said.split()).casefold()
        return len(flat) > 2 and flat in " ".join(ev.text.split()).casefold()

    def _with_dates(self, reports: list[tuple[list[Evidence], str]], language: str) -> list[tuple[list[Evidence], str]]:
        """Each figure with the dates of the reports that give it, when the reports were published on different
        days: a later report may give a newer figure rather than another one."""
        days = [sorted({self.published(ev) for ev in evs}) for evs, _ in reports]
        if not all(all(d) for d in days) or len({day for d in days for day in d}) == 1:
            return reports

        def said(day: str) -> str:
            return dates.say(dates.Resolved(date.fromisoformat(day), dates.DAY), language)

        return [(evs, f"{figure} ({'; '.join(said(d) for d in ds)})") for (evs, figure), ds in zip(reports, days)]

    @staticmethod
    def _differs(figure: str, claim: str, language: str) -> bool:
        ours = numbers.quantities(claim, language)
        theirs = numbers.quantities(figure, language)
        return bool(ours and theirs) and not any(numbers.supported(n, ours) for n in theirs)

    def dated_quote(self, best: Evidence, language: str) -> str:
        """For a quote that dates relative to its article's day: which date it means (" (last year: 2022)")."""
        written = dates.find(best.text, self.doc_language(best))
        resolved = dates.resolve(written, best.text, self.doc_language(best), self.published(best)) if written else None
        return f" ({written}: {dates.say(resolved, language)})" if written and resolved else ""

    def dated_claim(self, claim: str, span: str, best: Evidence, language: str) -> str:
        """A short answer that dates relative to its article's day ("on Tuesday") with the date it means, in the
        asker's language: "on Tuesday (14 March 2023)"."""
        resolved = dates.resolve(span, best.text, self.doc_language(best), self.published(best))
        if resolved is None:
            return claim
        said = dates.say(resolved, language)
        return claim if said.casefold() in claim.casefold() else f"{claim} ({said})"

    # -- the short answer ------------------------------------------------------------------------
    def short_answer(
        self, q: Question, translations: tuple[str, ...], best: Evidence, span: Span | None
    ) -> tuple[str | None, Generations]:
        """The checked short answer in the question's language, or None, and the model's translation of it if
        one ran. A span that no checked translation renders stays only when it reads the same in every language
        (names, numbers; an amount with a scale word is then written the question's way)."""
        if span is None:
            return None, ()
        ev_language = self.doc_language(best)
        questions = (q.text, *translations)
        names = set().union(*q.names)
        dated = self.dated(best)
        check = verify.check_claim(
            span.text, ev_language, questions, q.kind, best.text, ev_language, names, (span.start, span.end), dated
        )
        if not check.ok:
            return None, ()
        if ev_language == q.language:
            return span.text, ()
        fallback = (
            self._as_it_reads(span.text, ev_language, q, questions, best) if verify.reads_the_same(span.text) else None
        )
        translator = self._translator()
        translation = translator.translate(span.text, ev_language, q.language) if translator is not None else None
        if translation is None:
            return fallback, ()
        ran = (translation.stats.of_step(ANSWER_TRANSLATION),) if translation.stats else ()
        translated = translation.text
        if not translated or translated.casefold() == span.text.casefold():
            return fallback, ran
        vectors = self.embed([span.text, translated])
        similarity = float(vectors[0] @ vectors[1])
        if (
            verify.translation_holds(
                span.text,
                ev_language,
                translated,
                q.language,
                similarity,
                self.calibration.translation_min_similarity,
            )
            and verify.check_claim(
                translated, q.language, questions, q.kind, best.text, ev_language, relative_dates=dated
            ).ok
        ):
            return translated, ran
        return fallback, ran

    @staticmethod
    def _as_it_reads(text: str, language: str, q: Question, questions: tuple[str, ...], best: Evidence) -> str:
        """A span that reads the same in every language, shown when no checked translation renders it; an
        amount with a scale word in it ("37 Millionen") written as the question's language writes it."""
        said = numbers.say(text, language, q.language)
        if said and verify.check_claim(said, q.language, questions, q.kind, best.text, language).ok:
            return said
        return text

    def _may_start(self, q: Question, translations: tuple[str, ...], ev: Evidence) -> Callable[[str], bool] | None:
        """Where in `ev`'s sentence a short answer of the asked kind may begin: a number at a digit or a number
        word (for "how many X", at the number that counts X, see `_counting`); a date also at a month's
        name (and, in a dated article, at the start of a relative date: "last", a weekday); other kinds
        anywhere."""
        language = self.doc_language(ev)
        if q.kind == answer_types.NUMBER:
            return self._counting(q, translations, ev) or _number
        if q.kind == answer_types.DATE:
            dated = self.dated(ev)

            def date_start(rest: str) -> bool:
                word = rest.split(" ", 1)[0]
                return (
                    bool(re.match(r"\W*\d", word))
                    or answer_types.has_date(word)
                    or (dated and dates.starts(word, language))
                )

            return date_start
        return None

    def _counting(self, q: Question, translations: tuple[str, ...], ev: Evidence) -> Callable[[str], bool] | None:
        """For "how many X" and a sentence with several numbers, where the answer may start when a number counts X:
        at a number with X among the three words after it ("48,000 bikes in 31 cities": 31 for "how many cities"),
        X as the question or a translation of it words it (in a sentence in another language, failing that, a key
        word of a translation, which may have lost its "how many"), or at a number whose noun is not after it
        ("the career leader with 136,"); not at a number that counts something else. None when no number can be
        told to count X."""
        counts = tuple(
            dict.fromkeys(
                answer_types.counted(q.text, q.language)
                + tuple(w for t in translations for w in answer_types.counted(t))
            )
        )
        words = " ".join(ev.text.split()).split(" ")
        starts = [i for i, w in enumerate(words) if _number(w)]
        if not counts or len(starts) < 2:
            return None
        after = {i: stems(" ".join(words[i + 1 : i + 4])) for i in starts}
        wanted = stems(" ".join(counts))
        chosen = [i for i in starts if after[i] & wanted]
        if not chosen and self.doc_language(ev) != q.language:  # a translation may word X without "how many"
            worded = set().union(*q.keys[1:])
            chosen = [i for i in starts if after[i] & worded]
        for i in reversed(starts):  # "from 415,000 to 587,000 square kilometres": the range counts X too
            joined = words[i + 1] if i + 2 < len(words) else ""
            if i not in chosen and i + 2 in chosen and joined.isalpha() and joined.islower() and len(joined) <= 3:
                chosen.append(i)
        if not chosen:
            return None
        bare = [  # a number whose noun is elsewhere; not a year ("In 2023, …")
            i
            for i in starts
            if (i == len(words) - 1 or words[i][-1] in ",.;:)") and not answer_types.is_year(words[i].strip(",.;:)"))
        ]
        allowed = {" ".join(words[i : i + 4]) for i in chosen + bare}
        return lambda rest: " ".join(rest.split(" ")[:4]) in allowed


def _number(rest: str) -> bool:
    """Whether `rest` of a sentence starts with a number (digits or a number word)."""
    word = rest.split(" ", 1)[0]
    return bool(re.match(r"\W*\d", word)) or word.casefold().strip(",.;:") in numbers.WORDS
