"""Reads a corpus folder into Documents: decode, normalise, find furniture, detect language, split sentences.

An optional `catalog.toml` in the corpus folder gives a file's title, language or source by hand:

    ["001_report.txt"]
    title = "Two carmakers to develop mobility services together"
    language = "en"
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.budget import FileBudget
from index.furniture import FurnitureFilter
from index.language import detect_language
from index.sentences import split_sentences
from index.text import read_text
from qa.core.errors import IngestError
from qa.core.records import Document
from qa.core.settings import IngestSettings

log = logging.getLogger(__name__)

CATALOG = "catalog.toml"
_TITLE_WORDS = 20


@dataclass(frozen=True)
class CatalogEntry:
    title: str | None = None
    language: str | None = None
    source: str | None = None


def load_catalog(corpus: Path) -> dict[str, CatalogEntry]:
    path = corpus / CATALOG
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: not valid TOML ({exc})") from None
    catalog = {}
    for name, fields in raw.items():
        if not isinstance(fields, dict) or set(fields) - {"title", "language", "source"}:
            raise IngestError(f"{path}: entry [{name!r}] may only hold title, language and source")
        catalog[name] = CatalogEntry(**fields)
    return catalog


def corpus_files(corpus: Path, extensions: tuple[str, ...], follow_symlinks: bool = False) -> list[Path]:
    """The article files under `corpus`, sorted; hidden files and folders are skipped, and so is a link to a file
    outside the corpus folder unless `follow_symlinks` (the corpus is a boundary: a server shows what is in it)."""
    if not corpus.is_dir():
        raise IngestError(f"{corpus}: no such folder", hint="create it and put .txt or .md articles in it")
    root = corpus.resolve()
    found = []
    for path in corpus.rglob("*"):
        rel = path.relative_to(corpus)
        if any(part.startswith(".") for part in rel.parts) or path.suffix.lower() not in extensions:
            continue
        target = path.resolve()
        if not follow_symlinks and not target.is_relative_to(root):
            log.warning(
                "%s: skipped, a link to %s outside the corpus (set ingest.follow_symlinks to read it)",
                rel.as_posix(),
                target,
            )
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def sha256_of(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from None


def derive_title(text: str, first_sentence_end: int) -> str:
    first_line = text.strip().split("\n", 1)[0].strip()
    if first_line and len(first_line.split()) <= _TITLE_WORDS and not re.search(r"[.!?:;,]$", first_line):
        return first_line.lstrip("#").strip()
    sentence = text[:first_sentence_end].strip()
    words = sentence.split()
    return sentence if len(words) <= 14 else " ".join(words[:14]) + " …"


class Ingestor:
    def __init__(self, settings: IngestSettings):
        self.settings = settings
        self.furniture = FurnitureFilter(settings.furniture_patterns, settings.furniture_max_words)

    def read(
        self, path: Path, doc_id: str, entry: CatalogEntry | None = None, budget: FileBudget | None = None
    ) -> Document:
        entry = entry or CatalogEntry()
        check = budget.check if budget else None
        text, _encoding = read_text(path, self.settings.max_file_bytes, self.settings.max_line_chars)
        regions = self.furniture.kept_regions(text)
        if not regions:
            raise IngestError(f"{path}: nothing is left once page furniture is removed")
        kept = "\n\n".join(text[r.start : r.end] for r in regions)
        language = entry.language or detect_language(kept, self.settings.languages)
        sentences = tuple(s for r in regions for s in split_sentences(text[r.start : r.end], language, r.start, check))
        if not sentences:
            raise IngestError(f"{path}: no sentences found")
        title = entry.title or derive_title(text[regions[0].start :], sentences[0].end - regions[0].start)
        return Document(
            doc_id=doc_id,
            path=doc_id,
            title=title,
            language=language,
            text=text,
            sha256=sha256_of(path),
            sentences=sentences,
            regions=tuple(regions),
        )

    def read_corpus(self, corpus: Path) -> Iterator[tuple[Path, str]]:
        """(file, doc_id) pairs; the doc_id is the path relative to the corpus, with forward slashes."""
        for path in corpus_files(corpus, self.settings.extensions, self.settings.follow_symlinks):
            yield path, path.relative_to(corpus).as_posix()
