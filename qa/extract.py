"""The short answer: the words of the evidence sentence that answer the question, chosen by the local model
under a constraint that it can only copy a contiguous span of that sentence.

The model sees worked examples (`prompts/extract_examples.toml`), the sentence and the question, then writes
the answer token by token; at each step only the tokens that continue a span of the sentence (or end the
answer) are allowed, and the most likely of them is taken. The first token must start a word. The answer ends
where the whole answer, its ending included, is likeliest along that path. Whatever the model prefers, the
result is an exact substring of the evidence, so it can never state what the evidence does not.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import numpy as np

from qa import numbers
from qa.core.records import GenerationStats
from qa.llm import LLM, Scores

_ENDINGS = ("\n", ".", " [", "[")
# Scripts written without spaces between words (Chinese, Japanese): any character may start or end a word.
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Span:
    text: str
    start: int  # offsets into the evidence sentence
    end: int


class SpanExtractor:
    def __init__(self, llm: LLM, prompts_dir: Path, max_tokens: int = 24):
        self.llm = llm
        self.max_tokens = max_tokens
        folder = Path(prompts_dir)
        self.template = Template((folder / "extract.txt").read_text(encoding="utf-8").rstrip())
        raw = tomllib.loads((folder / "extract_examples.toml").read_text(encoding="utf-8"))
        self.examples = "\n\n".join(
            f"Source: {e['source']}\nQuestion: {e['question']}\nAnswer: {e['answer']}" for e in raw["example"]
        )
        self._endings: set[int] | None = None

    def prompt(self, sentence: str, question: str) -> str:
        return self.template.substitute(
            examples=self.examples, evidence=" ".join(sentence.split()), question=" ".join(question.split())
        )

    def endings(self) -> set[int]:
        if self._endings is None:
            self._endings = {t for e in _ENDINGS for t in self.llm.tokenize(e)[:1]}
        return self._endings

    def extract(self, sentence: str, question: str, may_start=None, language: str = "") -> Span | None:
        """The span of `sentence` the model answers with, or None when it would rather not copy anything.
        `may_start(rest)` says whether a span may begin where `rest` of the sentence begins (default: anywhere)."""
        return self.extract_with_stats(sentence, question, may_start, language)[0]

    def extract_with_stats(
        self, sentence: str, question: str, may_start=None, language: str = ""
    ) -> tuple[Span | None, GenerationStats | None]:
        """As `extract`, with how the model's generation went (None when it did not run)."""
        stream = self.stream(sentence, question, may_start, language)
        while True:
            try:
                next(stream)
            except StopIteration as done:
                return done.value

    def stream(
        self, sentence: str, question: str, may_start=None, language: str = ""
    ) -> Generator[str, None, tuple[Span | None, GenerationStats | None]]:
        """As `extract`, yielding the answer's text piece by piece as the model chooses it; returns the span and
        how the model's generation went (None when it did not run)."""
        flat = " ".join(sentence.split())
        tokens = self.llm.tokenize(" " + flat)
        pieces = [self.llm.detokenize([t]) for t in tokens]
        offsets, at = [], -1  # each token's start in `flat` (the leading space is at -1)
        for p in pieces:
            offsets.append(at)
            at += len(p)

        def word_start(i: int) -> int | None:
            """Where token i starts a word in `flat`, if it does."""
            piece = pieces[i]
            if piece.startswith(" "):
                return offsets[i] + 1
            at = offsets[i]
            if piece and at > 0 and (_SPACELESS.match(piece[0]) or _SPACELESS.match(flat[at - 1])):
                return at
            return None

        begins = {i: word_start(i) for i in range(len(pieces))}
        starts = [i for i, at in begins.items() if at is not None and (may_start is None or may_start(flat[at:]))]
        if not starts:
            return None, None
        endings = sorted(self.endings())
        chosen: list[int] = []
        live: list[int] = []  # positions in `tokens` the next token may take
        path = [0.0]  # log-probability of the tokens chosen so far
        stops: list[float] = []  # log-probability of the whole answer ending after 1, 2, … tokens

        def choose(scores: Scores) -> int | None:
            nonlocal live
            candidates = [i for i in live if i < len(tokens)] if chosen else starts
            if candidates:
                token, logprob = scores.best(list(dict.fromkeys(tokens[i] for i in candidates)))
            if chosen:
                end = scores.best(endings)[1]
                stops.append(path[-1] + end)
                if not candidates or end > logprob:
                    return None
            elif not candidates:
                return None
            best = next(i for i in candidates if tokens[i] == token)
            live = [i + 1 for i in candidates if tokens[i] == token]
            chosen.append(best)
            path.append(path[-1] + logprob)
            return token

        out = []
        generation = self.llm.constrained(self.prompt(sentence, question), choose, self.max_tokens)
        for token in generation:
            out.append(token)
            yield pieces[chosen[-1]] if len(out) > 1 else pieces[chosen[-1]].lstrip()
        if not out:
            return None, generation.stats
        # The greedy path ends where ending is likelier than going on; the answer ends where the whole answer,
        # ending included, is likeliest along that path (a copy running on to the sentence's end is unlikely
        # as a whole even when each next word is likely).
        length = 1 + int(np.argmax(stops)) if stops else len(out)
        span = locate(sentence, self.llm.detokenize(out[:length]), at=begins[chosen[0]], language=language)
        return span, generation.stats


def _whole_quantities(sentence: str, start: int, end: int, language: str = "") -> int:
    """Where a span must end so as not to cut a quantity in two ("450" of "450 Millionen", "1" of "1 billion
    dollars", "450" of "450 millones"): a number at its end takes the scale words and currency that follow it,
    read as English, German and the sentence's `language`."""
    found = []
    for lang in dict.fromkeys(("en", "de", language)):
        if lang:
            found += numbers.quantities(sentence[start:], lang)
    for q in found:
        pattern = r"\s*".join(re.escape(t) for t in q.text.split())
        for m in re.finditer(pattern, sentence[start:]):
            a, b = start + m.start(), start + m.end()
            if a < end < b:
                end = b
    return end


def locate(sentence: str, text: str, at: int | None = None, language: str = "") -> Span | None:
    """`text` (words separated by single spaces) found in `sentence`, trimmed of trailing commas and the like,
    and of the sentence's own full stop. Where it occurs more than once, the occurrence that starts nearest
    to `at`, an offset into the sentence with its runs of white space made single spaces (as the model saw
    it); else the first."""
    text = text.strip().rstrip(",;:")
    if not text:
        return None
    pattern = r"\s+".join(re.escape(w) for w in text.split())
    found = list(re.finditer(pattern, sentence))
    if not found:
        return None
    m = found[0] if at is None else min(found, key=lambda f: abs(_flat_offset(sentence, f.start()) - at))
    end = m.end()
    while (
        end < len(sentence)
        and (sentence[end].isalnum() and sentence[end - 1].isalnum())
        and not (_SPACELESS.match(sentence[end]) or _SPACELESS.match(sentence[end - 1]))
    ):
        end += 1  # a span never ends inside a word
    end = _whole_quantities(sentence, m.start(), end, language)
    if end == len(sentence.rstrip()) and sentence[end - 1 : end] in ".!?。！？" and end - 1 > m.start():
        end -= 1
    return Span(sentence[m.start() : end], m.start(), end)


def _flat_offset(sentence: str, i: int) -> int:
    """Offset `i` of `sentence` in `" ".join(sentence.split())`."""
    before = sentence[:i]
    return len(" ".join(before.split())) + (1 if before.strip() and before[-1].isspace() else 0)
