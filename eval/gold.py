"""The gold questions (eval/gold.jsonl), read and checked at the edge with pydantic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

GOLD = Path(__file__).resolve().parent / "gold.jsonl"


class Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["vital", "okay"] = Field(description="vital facts decide strict recall; okay facts are extras")
    any_of: list[str] = Field(min_length=1, description="accepted forms, in any language")
    by_language: dict[str, list[str]] = Field(
        {},
        description="the forms in each language, where known; the question's own language's forms are "
        "what native recall looks for (without them, every form counts)",
    )

    def native(self, language: str) -> list[str]:
        """The forms that state the fact in `language`."""
        return self.by_language.get(language) or ([] if self.by_language else self.any_of)


class EvidenceQuote(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    doc_id: str = Field(description="the article's path relative to the corpus")
    quote: str = Field(min_length=1, description="an exact substring of the article's normalised text")


class Figure(BaseModel):
    """One outlet's figure where outlets disagree: the answer must state it and cite one of `doc_ids` for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    any_of: list[str] = Field(min_length=1)
    doc_ids: list[str] = Field(min_length=1, description="the articles that give this figure")


class GoldQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    question: str
    language: str = Field(description="the question's language, ISO 639-1")
    answerable: bool
    facts: list[Fact] = []
    evidence: list[EvidenceQuote] = Field([], description="alternatives: any one of them holds the answer")
    turns: list[str] = Field([], description="earlier questions of the conversation, asked first")
    split: str = Field(
        "",
        description="the half of the articles the question belongs to (A: fitted on, B: held "
        "out), for suites whose weights are fitted",
    )
    tags: list[str] = Field([], description="e.g. near-topic: unanswerable, about an article that is indexed")
    figures: list[Figure] = Field([], description="where outlets disagree: every figure, each with its own source")
    min_sources: int = Field(
        0, ge=0, description="where several independent articles state the fact: how many the answer should cite"
    )
    note: str = ""

    def direction(self, doc_language: dict[str, str]) -> str:
        """EN→DE means an English question whose evidence is in German; unanswerable ones are EN→∅."""
        target = doc_language.get(self.evidence[0].doc_id, "?") if self.evidence else "∅"
        return f"{self.language.upper()}→{target.upper()}"


def load_gold(path: Path = GOLD) -> list[GoldQuestion]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(GoldQuestion(**json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}:{i}: {exc}") from None
    ids = [r.id for r in rows]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate ids")
    return rows
