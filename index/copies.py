"""Copies of one story: wire copy reprinted by several outlets, an article saved twice, a lightly edited rewrite.

Found at index time by MinHash over word shingles with locality-sensitive hashing (datasketch): articles whose
shingle sets overlap by at least `threshold` (Jaccard, estimated, then confirmed on the signatures) form a group,
and each group has one representative: the earliest published, then the first by name. Search shows one
passage per group and names the others as "also reported by".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np

from qa.core.records import Document

SHINGLE_WORDS = 5
PASSAGE_WORDS = 2  # sentences are short: their shingles are word pairs
NUM_PERM = 128
SCHEME = "affine32"
SIGNATURES = "signatures_v1"  # the index's file of stored signatures; a new name when shingles or hashing change
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")  # a word, or one character of a script written without spaces


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    words = _WORD.findall(text.casefold())
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def article_text(doc: Document) -> str:
    """What the article says: its text without page furniture."""
    return "\n\n".join(doc.text[r.start : r.end] for r in doc.regions) if doc.regions else doc.text


def signatures(documents: Iterable[Document]) -> dict[str, np.ndarray]:
    """doc_id → the MinHash signature of the article's shingles (what `copy_groups` compares; stored with the
    index, so that a document's is computed once)."""
    docs = list(documents)
    if not docs:
        return {}
    from datasketch import MinHash

    found = MinHash.bulk(
        [[s.encode() for s in shingles(article_text(d))] for d in docs], num_perm=NUM_PERM, scheme=SCHEME
    )
    return {d.doc_id: m.hashvalues for d, m in zip(docs, found)}


def copy_groups(
    documents: Mapping[str, Document], threshold: float, known: Mapping[str, np.ndarray] | None = None
) -> dict[str, str]:
    """doc_id → the representative of its group, for every document that has a copy (the representative maps to
    itself); documents without copies are absent. `known`: signatures already computed, by doc_id."""
    if len(documents) < 2:
        return {}
    from datasketch import LeanMinHash, MinHashLSH

    ids = sorted(documents)
    values = dict(known or {})
    values.update(signatures(documents[d] for d in ids if d not in values))
    signatures_ = [LeanMinHash(seed=1, hashvalues=values[d], scheme=SCHEME) for d in ids]
    row = {d: i for i, d in enumerate(ids)}
    lsh = MinHashLSH(threshold=min(threshold, 0.8), num_perm=NUM_PERM)  # candidates; each pair is confirmed below
    parent = {d: d for d in ids}

    def root(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    for doc_id, signature in zip(ids, signatures_):
        for other in lsh.query(signature):
            if signature.jaccard(signatures_[row[other]]) >= threshold:
                parent[root(doc_id)] = root(other)
        lsh.insert(doc_id, signature)
    members: dict[str, list[str]] = {}
    for d in ids:
        members.setdefault(root(d), []).append(d)
    groups = {}
    for group in members.values():
        if len(group) < 2:
            continue
        first = min(group, key=lambda d: (documents[d].source.published or "9999", d))
        groups.update({d: first for d in group})
    return groups


def same_passage(a: str, b: str, threshold: float) -> bool:
    """Whether two sentences of copies of one story are one passage (the same sentence, lightly edited)."""
    return jaccard(shingles(a, PASSAGE_WORDS), shingles(b, PASSAGE_WORDS)) >= threshold
