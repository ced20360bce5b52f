"""Chunks made of whole sentences, sized in the embedder's tokens, by langchain-text-splitters.

langchain's merge logic (size, overlap) runs over sentences that carry their offsets, so every
chunk is an exact slice of the document's text and knows its sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from langchain_text_splitters import TextSplitter

from qa.core.records import Chunk, Document, Span


class _Sentence(str):
    span: Span


class _Joined(str):
    spans: tuple[Span, ...]


class SentenceChunker(TextSplitter):
    """Merges consecutive sentences into chunks of at most `chunk_tokens` tokens.

    A sentence longer than the budget becomes a chunk of its own (the embedder truncates it).
    """

    def __init__(self, count_tokens: Callable[[str], int], chunk_tokens: int, overlap_tokens: int):
        super().__init__(
            chunk_size=chunk_tokens,
            chunk_overlap=min(overlap_tokens, chunk_tokens // 2),
            length_function=count_tokens,
            strip_whitespace=False,
        )

    def split_text(self, text: str) -> list[str]:
        raise NotImplementedError("SentenceChunker works on sentences with offsets: use chunk_document()")

    def _join_docs(self, docs: list[str], separator: str) -> str | None:
        joined = _Joined(separator.join(docs))
        joined.spans = tuple(d.span for d in docs)  # type: ignore[attr-defined]
        return joined

    def merge(self, text: str, spans: Iterable[Span]) -> list[tuple[Span, ...]]:
        pieces = []
        for span in spans:
            s = _Sentence(text[span.start : span.end])
            s.span = span
            pieces.append(s)
        return [m.spans for m in self._merge_splits(pieces, " ")]  # type: ignore[attr-defined]

    def chunk_document(self, doc: Document, regions: Iterable[Span]) -> list[Chunk]:
        """Chunks never cross a region boundary (regions are separated by removed furniture)."""
        chunks: list[Chunk] = []
        sentences = list(doc.sentences)
        for region in regions:
            inside = [s for s in sentences if region.start <= s.start and s.end <= region.end]
            for spans in self.merge(doc.text, inside):
                start, end = spans[0].start, spans[-1].end
                chunks.append(
                    Chunk(
                        chunk_id=f"{doc.doc_id}#{len(chunks)}",
                        doc_id=doc.doc_id,
                        text=doc.text[start:end],
                        char_start=start,
                        char_end=end,
                        language=doc.language,
                        sentences=spans,
                    )
                )
        return chunks
