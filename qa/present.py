"""Showing an answer: as text (terminal), as JSON (`qa ask --json`, the web API) and a cited passage in context.

The CLI and the web app both present answers through these functions, so a citation reads the same everywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from qa.core.records import Answer, Citation, Document, Source


@dataclass(frozen=True)
class Passage:
    """A cited quote with the sentences around it: `before + quote + after` is `document.text[start:end]`."""

    doc_id: str
    title: str
    language: str
    before: str
    quote: str
    after: str
    start: int
    end: int
    quote_start: int
    quote_end: int
    source: Source = Source()
    page: int | None = None


def also_label(citation: Citation) -> str:
    """The other outlets that print the cited passage: "also reported by Baltic Business Daily, rheincourier.example"."""
    return _also([r.source.outlet or r.title or r.doc_id for r in citation.also])


def _also(names: list[str]) -> str:
    return f"also reported by {', '.join(dict.fromkeys(names))}" if names else ""


def source_label(source: Source, page: int | None = None) -> str:
    """Who published a cited article and when, and the page, as far as known: "Reuters, 2018-03-28, p. 2"."""
    return ", ".join(part for part in (source.outlet, source.published, f"p. {page}" if page else "") if part)


def passage(document: Document, citation: Citation, context_sentences: int = 2) -> Passage:
    """The quote and up to `context_sentences` sentences either side, never crossing a paragraph break."""
    text = document.text
    spans = document.sentences
    at = next((i for i, s in enumerate(spans) if s.start <= citation.char_start < s.end), None)
    start, end = citation.char_start, citation.char_end
    if at is not None:
        for s in reversed(spans[max(0, at - context_sentences) : at]):
            if "\n\n" in text[s.end : start]:
                break
            start = s.start
        for s in [s for s in spans[at + 1 :] if s.start >= citation.char_end][:context_sentences]:
            if "\n\n" in text[end : s.start]:
                break
            end = s.end
    return Passage(
        doc_id=document.doc_id,
        title=document.title,
        language=document.language,
        before=text[start : citation.char_start],
        quote=text[citation.char_start : citation.char_end],
        after=text[citation.char_end : end],
        start=start,
        end=end,
        quote_start=citation.char_start,
        quote_end=citation.char_end,
        source=document.source,
        page=document.page_at(citation.char_start),
    )


def answer_json(answer: Answer) -> dict:
    """The `qa ask --json` object; `file` is relative to the corpus folder (not `path`, which API clients such as
    gradio_client take for a file to download)."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "mode": answer.mode,
        "language": answer.language,
        "rewritten": answer.rewritten or answer.question,
        "citations": [citation_json(c) for c in answer.citations],
        "timings": {k: round(v, 4) for k, v in asdict(answer.timings).items()},
        "models": answer.model,
    }


def citation_json(c: Citation) -> dict:
    """A citation as `qa ask --json` and the APIs give it."""
    return {
        "n": c.n,
        "file": c.file,
        "title": c.title,
        "language": c.language,
        "outlet": c.source.outlet,
        "author": c.source.author,
        "published": c.source.published,
        "url": c.source.url,
        "page": c.page,
        "also": [
            {"file": r.doc_id, "title": r.title, "outlet": r.source.outlet, "published": r.source.published}
            for r in c.also
        ],
        "char_start": c.char_start,
        "char_end": c.char_end,
        "quote": c.quote,
    }


def format_answer(answer: Answer) -> str:
    return format_record(answer_json(answer))


def format_record(record: dict) -> str:
    """An answer as `qa ask` prints it, from its `qa ask --json` record (which a running server also sends)."""
    text = record["answer"]
    lines = [text]
    if record["citations"]:
        lines += ["", "Sources:"]
        for c in record["citations"]:
            label = source_label(Source(c["outlet"], c["author"], c["published"], c["url"]), c["page"])
            lines.append(
                f"[{c['n']}] {c['title']}{f' — {label}' if label else ''} ({c['language']}, {c['file']}, "
                f"chars {c['char_start']}-{c['char_end']})"
            )
            if c["quote"] not in text:
                lines.append(f"    “{c['quote']}”")
            if c["also"]:
                lines.append("    " + _also([r["outlet"] or r["title"] or r["file"] for r in c["also"]]))
    return "\n".join(lines)
