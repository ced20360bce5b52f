"""The core records that flow ingest → index → retrieve → answer → verify → show.

All are frozen: a step makes new records, it never edits the ones it was given.
Character offsets always index into `Document.text`, the normalised text of the file.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Span:
    """A sentence: [start, end) in its document's text."""

    start: int
    end: int


@dataclass(frozen=True)
class Source:
    """Who published an article, when and where, as far as its file or the corpus catalog says ("" when
    unknown). `published` is an ISO date, YYYY-MM-DD."""

    outlet: str = ""
    author: str = ""
    published: str = ""
    url: str = ""


@dataclass(frozen=True)
class Document:
    """`text` is what the file says once extracted (a web page's article, a PDF's pages) and normalised;
    `sha256` fingerprints what the document was made from: the file's bytes and its catalog entry."""

    doc_id: str
    path: str
    title: str
    language: str
    text: str
    sha256: str
    sentences: tuple[Span, ...] = ()
    regions: tuple[Span, ...] = ()  # the text outside page furniture
    source: Source = Source()
    pages: tuple[int, ...] = ()  # a PDF's pages: where each one starts in `text`

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding the character at `offset`, for a paged document."""
        return bisect_right(self.pages, offset) if self.pages else None


@dataclass(frozen=True)
class Scope:
    """Which articles a question is asked of: published from `since` to `until` (YYYY-MM-DD, both included; an
    article without a date is then left out), by one of `outlets` (its name or its web address's host), in one of
    `languages`. Empty fields admit every article."""

    since: str = ""
    until: str = ""
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.outlets or self.languages)

    @classmethod
    def of(cls, since: str = "", until: str = "", outlets: Sequence[str] = (), languages: Sequence[str] = ()) -> Scope:
        """A scope from what a person typed; a date that is not YYYY-MM-DD is a RequestError naming it."""
        from datetime import date

        from qa.core.errors import RequestError

        for name, value in (("since", since), ("until", until)):
            try:
                if value:
                    date.fromisoformat(value)
            except ValueError:
                raise RequestError(f"{name}: {value!r} is not a date", hint="write it as YYYY-MM-DD") from None
        clean = tuple(o.strip() for o in outlets if o.strip()), tuple(x.strip().lower() for x in languages if x.strip())
        return cls(since.strip(), until.strip(), *clean)

    def admits(self, doc: Document) -> bool:
        published = doc.source.published
        if (self.since or self.until) and not published:
            return False
        if (self.since and published < self.since) or (self.until and published > self.until):
            return False
        if self.languages and doc.language not in self.languages:
            return False
        return not self.outlets or any(_same_outlet(o, doc.source) for o in self.outlets)

    def describe(self) -> str:
        parts = [f"since {self.since}" if self.since else "", f"until {self.until}" if self.until else ""]
        parts += [f"by {' or '.join(self.outlets)}" if self.outlets else ""]
        parts += [f"in {' or '.join(self.languages)}" if self.languages else ""]
        return ", ".join(p for p in parts if p)


EVERYTHING = Scope()


def _same_outlet(asked: str, source: Source) -> bool:
    """ "DW" names the outlet DW; "dw.com" also the articles whose address is on dw.com or one of its hosts."""
    from urllib.parse import urlsplit

    want = asked.casefold().strip()
    host = (urlsplit(source.url).hostname or "").casefold()
    return want == source.outlet.casefold() or (bool(host) and (host == want or host.endswith("." + want)))


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
    also: tuple[str, ...] = ()  # copies of the article (index.copies) that print this sentence too

    def citation(self, document: Document, copies: Sequence[Document] = ()) -> Citation:
        """`copies`: the documents of `also`."""
        return Citation(
            self.n,
            self.doc_id,
            self.chunk_id,
            self.char_start,
            self.char_end,
            self.text,
            title=document.title,
            file=document.path,
            language=document.language,
            source=document.source,
            page=document.page_at(self.char_start),
            also=tuple(Reprint(d.doc_id, d.title, d.source) for d in copies),
        )


@dataclass(frozen=True)
class Reprint:
    """Another article that prints a cited passage: a copy of the same story by another outlet."""

    doc_id: str
    title: str
    source: Source = Source()


@dataclass(frozen=True)
class Citation:
    """A quote and what a reader needs to find and weigh it: the document's title, file (relative to the
    corpus), language, outlet and date, and the page of a paged document."""

    n: int
    doc_id: str
    chunk_id: str
    char_start: int
    char_end: int
    quote: str
    title: str = ""
    file: str = ""
    language: str = ""
    source: Source = Source()
    page: int | None = None
    also: tuple[Reprint, ...] = ()  # "also reported by"


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
class GenerationStats:
    """One completion, as llama.cpp counted it (`*_ms`) and as the caller waited for it (`wall_*_s`).
    `prompt_tokens` were evaluated; `reused_tokens` came from the previous prompt's state. The first token is
    chosen from the prompt's logits, so the `generated_tokens` decodes all fall after `wall_first_token_s`.
    `step` says what the completion was for (`ANSWER`, `QUESTION_TRANSLATION`, `ANSWER_TRANSLATION`)."""

    prompt_tokens: int
    reused_tokens: int
    generated_tokens: int
    prompt_ms: float
    generate_ms: float
    wall_first_token_s: float
    wall_total_s: float
    first_token: int | None = None  # the first generated token and its logit after the prompt
    first_logit: float | None = None
    step: str = ""

    def of_step(self, step: str) -> GenerationStats:
        return replace(self, step=step)


ANSWER, QUESTION_TRANSLATION, ANSWER_TRANSLATION = "answer", "question translation", "answer translation"


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str = ""


@dataclass(frozen=True)
class Conversation:
    """The turns a follow-up may refer to, at most `keep` of them (older ones are dropped); make one with `of`."""

    turns: tuple[Turn, ...]
    keep: int

    @classmethod
    def of(cls, turns: Sequence[Turn], keep: int) -> Conversation:
        return cls(tuple(turns)[-keep:] if keep > 0 else (), keep)

    def then(self, question: str, answer: str) -> Conversation:
        """The conversation one turn later; `answer` is the answer's text."""
        return Conversation.of((*self.turns, Turn(question, answer)), self.keep)


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
    generations: tuple[GenerationStats, ...] = ()  # every completion the model ran for this answer, in order


@dataclass(frozen=True)
class EmbedderIdentity:
    """What made an index's vectors: a readable name, the dimension and a fingerprint of the model's files.
    An index answers only questions embedded by the same identity."""

    name: str
    dim: int
    fingerprint: str

    def to_json(self) -> dict[str, str | int]:
        return {"name": self.name, "dim": self.dim, "fingerprint": self.fingerprint}

    @classmethod
    def from_json(cls, data: object) -> EmbedderIdentity:
        """Raises ValueError for anything but the shape `to_json` writes."""
        if not isinstance(data, dict):
            raise ValueError(f"an embedder identity is an object, not {type(data).__name__}")
        try:
            return cls(str(data["name"]), int(data["dim"]), str(data["fingerprint"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"an embedder identity needs name, dim and fingerprint ({exc})") from None

    def describe(self) -> str:
        return f"{self.name} ({self.dim} dimensions, fingerprint {self.fingerprint})"


@dataclass(frozen=True)
class IndexedDocument:
    """What the manifest says of one document: enough to tell whether its file changed, and to list it."""

    sha256: str
    title: str
    language: str
    sentences: int
    chunks: int
    source: Source = Source()
    copy_of: str = ""  # the representative of the copies of one story this document belongs to


@dataclass(frozen=True)
class Manifest:
    """An index generation: which files hold it, what made it, and what it holds (`index.store` reads and writes
    it; nothing else touches `manifest.json`)."""

    schema_version: int
    generation: int
    written_at: str
    embedder: EmbedderIdentity
    chunker: Mapping[str, Any]  # the settings that, besides the embedder, decide the contents
    files: Mapping[str, str]
    documents: Mapping[str, IndexedDocument]

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.documents.values())

    @property
    def sentences(self) -> int:
        return sum(d.sentences for d in self.documents.values())
