"""The core records that flow ingest → index → retrieve → answer → verify → show.

All are frozen: a step makes new records, it never edits the ones it was given.
Character offsets always index into `Document.text`, the normalised text of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A sentence: [start, end) in its document's text."""

    start: int
    end: int


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: str
    title: str
    language: str
    text: str
    sha256: str
    sentences: tuple[Span, ...] = ()
    regions: tuple[Span, ...] = ()  # the text outside page furniture


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    text: str
    char_start: int
    char_end: int
    language: str
    sentences: tuple[Span, ...]


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int
    via: str  # "dense", "lexical" or "both"


@dataclass(frozen=True)
class Evidence:
    """One numbered sentence shown to the model; `n` is what the model cites."""

    n: int
    doc_id: str
    chunk_id: str
    char_start: int
    char_end: int
    text: str
    score: float

    def citation(self) -> Citation:
        return Citation(self.n, self.doc_id, self.chunk_id, self.char_start, self.char_end, self.text)


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    chunk_id: str
    char_start: int
    char_end: int
    quote: str


@dataclass(frozen=True)
class Timings:
    """Seconds; `first_token_s` and `total_s` count from the question's arrival."""

    rewrite_s: float = 0.0
    translate_s: float = 0.0
    retrieve_s: float = 0.0
    first_token_s: float = 0.0
    generate_s: float = 0.0
    verify_s: float = 0.0
    total_s: float = 0.0


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    language: str
    timings: Timings
    model: dict[str, str] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    mode: str = "composed"  # "composed", "quoted" or "refused"
    raw: str = ""  # what the model wrote, before verification
    rewritten: str = ""  # the standalone question retrieval and the model saw (differs for follow-ups)
    translations: tuple[str, ...] = ()  # the question in the articles' other languages, searched as well
    hits: tuple[Hit, ...] = ()  # the fused chunk ranking the evidence came from
