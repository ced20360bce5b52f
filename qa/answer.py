"""The prompt (from the files in prompts/) and turning the model's text into an answer with citations."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template

from qa import protocol
from qa.records import Citation, Evidence

STOP = ["\n", "Question:", "Sources:"]


@dataclass(frozen=True)
class Example:
    question: str
    sources: tuple[str, ...]
    answer: str


def _numbered(lines: list[str]) -> str:
    return "\n".join(f"{protocol.cite(i)} {' '.join(text.split())}" for i, text in enumerate(lines, start=1))


class PromptBuilder:
    def __init__(self, prompts_dir: Path = protocol.PROMPTS_DIR):
        self.dir = Path(prompts_dir)
        self.template = Template((self.dir / "answer.txt").read_text(encoding="utf-8").rstrip())
        self.example_template = Template((self.dir / "example.txt").read_text(encoding="utf-8"))
        raw = tomllib.loads((self.dir / "examples.toml").read_text(encoding="utf-8"))
        self.examples = [Example(e["question"], tuple(e["sources"]), e["answer"]) for e in raw.get("example", [])]
        self._refusals = {f"refusal_{k}": v for k, v in protocol.refusals().items()}
        self._examples: dict[int, str] = {}

    def _examples_text(self, n_evidence: int) -> str:
        blocks = []
        for ex in self.examples:
            if any(n > n_evidence for n in protocol.cited_numbers(ex.answer)):
                continue
            answer = Template(ex.answer).safe_substitute(self._refusals)
            blocks.append(self.example_template.substitute(
                evidence=_numbered(list(ex.sources[:n_evidence])), question=ex.question, answer=answer).strip())
        return "\n\n".join(blocks)

    def build(self, evidence: list[Evidence], question: str) -> str:
        if len(evidence) not in self._examples:
            self._examples[len(evidence)] = self._examples_text(len(evidence))
        return self.template.substitute(
            self._refusals,
            examples=self._examples[len(evidence)],
            evidence=_numbered([e.text for e in evidence]),
            question=" ".join(question.split()),
        )


@dataclass(frozen=True)
class Parsed:
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    dropped: tuple[int, ...]


def parse_answer(raw: str, evidence: list[Evidence] | tuple[Evidence, ...]) -> Parsed:
    """Keeps citations to evidence the model was given; any other number is dropped from the text."""
    text = " ".join(raw.split()).strip()
    by_n = {e.n: e for e in evidence}
    cited = protocol.cited_numbers(text)
    dropped = tuple(n for n in cited if n not in by_n)
    text = protocol.keep_citations(text, set(by_n))
    if protocol.is_refusal(text):
        return Parsed(text, (), True, dropped)
    citations = tuple(by_n[n].citation() for n in cited if n in by_n)
    return Parsed(text, citations, False, dropped)
