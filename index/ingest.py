"""Reads a corpus folder into Documents: extract, normalise, find furniture, detect language, split sentences.

An optional `catalog.toml` in the corpus folder describes files by hand; what it says wins over what a file
says of itself (front matter, a page's metadata):

    ["001_report.txt"]
    title = "Two carmakers to develop mobility services together"
    language = "en"
    outlet = "Reuters"
    author = "Jane Doe"
    date = 2018-03-28
    url = "https://example.com/report"
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from index.budget import FileBudget
from index.formats import FIELDS, dateline, extract_bytes, iso_date
from index.furniture import FurnitureFilter, paragraphs
from index.language import detect_language
from index.sentences import split_sentences
from index.text import read_bytes
from qa.core.errors import IngestError
from qa.core.records import Document, Source
from qa.core.settings import IngestSettings

log = logging.getLogger(__name__)

CATALOG = "catalog.toml"
_TITLE_WORDS = 20


@dataclass(frozen=True)
class CatalogEntry:
    title: str = ""
    language: str = ""
    outlet: str = ""
    author: str = ""
    date: str = ""  # YYYY-MM-DD
    url: str = ""


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
        if not isinstance(fields, dict) or set(fields) - set(FIELDS):
            raise IngestError(f"{path}: entry [{name!r}] may only hold {', '.join(FIELDS[:-1])} and {FIELDS[-1]}")
        date = iso_date(fields.pop("date", None), f"{path}: entry [{name!r}]")
        catalog[name] = CatalogEntry(**{k: str(v) for k, v in fields.items()}, date=date)
    return catalog


def corpus_folder(corpus: Path) -> Path:
    """`corpus`, or an error naming it when it is not a folder."""
    if not corpus.is_dir():
        raise IngestError(f"{corpus}: no such folder", hint="create it and put articles (.txt, .md, .html, .pdf) in it")
    return corpus


def corpus_files(corpus: Path, extensions: tuple[str, ...], follow_symlinks: bool = False) -> list[Path]:
    """The article files under `corpus`, sorted; hidden files and folders are skipped, and so are the folders of a
    saved page's parts, and a link to a file outside the corpus folder unless `follow_symlinks` (the corpus is
    a boundary: a server shows what is in it)."""
    corpus_folder(corpus)
    root = corpus.resolve()
    found = []
    for folder, dirs, entries in _walk(corpus):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not _saved_page_assets(folder / d)]
        for entry in entries:
            name = entry.name
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in extensions:
                continue
            path = folder / name
            if entry.is_symlink():  # only a link can lead out of the corpus: a folder link is never walked
                target = path.resolve()
                if not follow_symlinks and not target.is_relative_to(root):
                    log.warning(
                        "%s: skipped, a link to %s outside the corpus (set ingest.follow_symlinks to read it)",
                        path.relative_to(corpus).as_posix(),
                        target,
                    )
                    continue
            if entry.is_file():
                found.append(path)
    return sorted(found)


def _walk(top: Path) -> Iterator[tuple[Path, list[str], list[os.DirEntry]]]:
    """os.walk's order and pruning (`dirs` may be edited), with the files' directory entries: telling a link or a
    file from them costs no system call, which is most of the time of listing a large corpus."""
    try:
        with os.scandir(top) as it:
            entries = list(it)
    except OSError:
        return
    dirs = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    files = [e for e in entries if not e.is_dir(follow_symlinks=False)]
    yield top, dirs, files
    for d in dirs:
        yield from _walk(top / d)


def _saved_page_assets(folder: Path) -> bool:
    """Whether `folder` holds the scripts, styles and embedded frames a browser saves beside a page
    ("Page_files/" beside "Page.html"): parts of that page, not articles."""
    name = folder.name
    return name.endswith("_files") and any(
        (folder.parent / (name[: -len("_files")] + ext)).is_file() for ext in (".html", ".htm")
    )


def sha256_of(path: Path, entry: CatalogEntry | None = None) -> str:
    """Fingerprints what a document is made from: the file's bytes and, if there is one, its catalog entry."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return fingerprint(data, entry)


def fingerprint(data: bytes, entry: CatalogEntry | None) -> str:
    h = hashlib.sha256(data)
    if entry is not None:
        h.update(json.dumps(asdict(entry), sort_keys=True).encode())
    return h.hexdigest()


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
        check = budget.check if budget else None
        data = read_bytes(path, self.settings.max_file_bytes)
        found = extract_bytes(data, path, self.settings.max_line_chars)
        text = found.text
        regions = self.furniture.kept_regions(text)
        if not regions:
            raise IngestError(f"{path}: nothing is left once page furniture is removed")
        kept = "\n\n".join(text[r.start : r.end] for r in regions)
        given = entry or CatalogEntry()
        language = given.language or found.language or detect_language(kept, self.settings.languages)
        sentences = tuple(s for r in regions for s in split_sentences(text[r.start : r.end], language, r.start, check))
        if not sentences:
            raise IngestError(f"{path}: no sentences found")
        title = (
            given.title or found.title or derive_title(text[regions[0].start :], sentences[0].end - regions[0].start)
        )
        published = given.date or found.source.published
        if not published:
            published = dateline([p.text for p in paragraphs(kept)[:6]], language)
        source = Source(
            outlet=given.outlet or found.source.outlet,
            author=given.author or found.source.author,
            published=published,
            url=given.url or found.source.url,
        )
        return Document(
            doc_id=doc_id,
            path=doc_id,
            title=title,
            language=language,
            text=text,
            sha256=fingerprint(data, entry),
            sentences=sentences,
            regions=tuple(regions),
            source=source,
            pages=found.pages,
        )

    def read_corpus(self, corpus: Path) -> Iterator[tuple[Path, str]]:
        """(file, doc_id) pairs; the doc_id is the path relative to the corpus, with forward slashes."""
        for path in corpus_files(corpus, self.settings.extensions, self.settings.follow_symlinks):
            yield path, path.relative_to(corpus).as_posix()
