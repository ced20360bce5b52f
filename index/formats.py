"""Turning a file of any supported kind into the text every offset points into, and what the file says of
its source.

- `.txt`, `.md`: the text as it is; a leading front-matter block (`---` YAML `---`) gives title, language,
  outlet, author, date and url, and is not part of the text.
- `.html`, `.htm`: the article extracted by trafilatura (no navigation, cookie banners, comments, related
  links), one paragraph per block; title, outlet, author, date (htmldate, through trafilatura) and canonical URL
  from the page.
- `.pdf`: the pages' text by pypdf, lines re-flowed into paragraphs; `pages` says where each page starts.

Every refusal names the file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from index.text import check_lines, decode, normalise, read_bytes
from qa.core.errors import IngestError
from qa.core.records import Source

log = logging.getLogger(__name__)

HTML = (".html", ".htm")
PDF = (".pdf",)


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str = ""
    language: str = ""
    source: Source = Source()
    pages: tuple[int, ...] = ()


def extract(path: Path, max_bytes: int, max_line_chars: int) -> Extracted:
    return extract_bytes(read_bytes(path, max_bytes), path, max_line_chars)


def extract_bytes(data: bytes, path: Path, max_line_chars: int) -> Extracted:
    """As `extract`, for the file's bytes already read (`path` says its kind and names it in errors)."""
    suffix = path.suffix.lower()
    if suffix in HTML:
        found = _html(data, path)
    elif suffix in PDF:
        found = _pdf(data, path)
    else:
        found = _text(data, path)
    if not found.text.strip():
        raise IngestError(f"{path}: the file is empty")
    check_lines(found.text, path, max_line_chars)
    return found


# -- plain text ---------------------------------------------------------------------------------------
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)
FIELDS = ("title", "language", "outlet", "author", "date", "url")
_ALIASES = {"published": "date", "publisher": "outlet", "source": "outlet", "site": "outlet", "lang": "language"}


def _text(data: bytes, path: Path) -> Extracted:
    text = normalise(decode(data, str(path))[0])
    match = _FRONT_MATTER.match(text)
    if not match:
        return Extracted(text)
    import yaml

    try:
        fields = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise IngestError(f"{path}: the front matter is not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(fields, dict):
        raise IngestError(f"{path}: the front matter is not a list of `key: value` lines")
    meta = {_ALIASES.get(str(k).lower(), str(k).lower()): v for k, v in fields.items()}
    return Extracted(
        text[match.end() :],
        title=_str(meta.get("title")),
        language=_str(meta.get("language")),
        source=source_of(meta, path),
    )


def source_of(meta: dict, where: object) -> Source:
    """A Source from `outlet`, `author`, `date` and `url` fields; `where` names the file in an error."""
    return Source(
        outlet=_str(meta.get("outlet")),
        author=_str(meta.get("author")),
        published=iso_date(meta.get("date"), where),
        url=_str(meta.get("url")),
    )


def _str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return " ".join(str(value).split())


def iso_date(value: object, where: object) -> str:
    """YYYY-MM-DD from a date, a datetime or a written date in any language dateparser reads ("" for none)."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    else:
        import dateparser

        parsed = dateparser.parse(text, settings={"REQUIRE_PARTS": ["day", "month", "year"]})
        if parsed is not None:
            return parsed.date().isoformat()
    raise IngestError(f"{where}: date {text!r} is not a date (write it as YYYY-MM-DD)")


# -- web pages ----------------------------------------------------------------------------------------
def _html(data: bytes, path: Path) -> Extracted:
    import trafilatura

    html = decode(data, str(path))[0]
    found = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        favor_recall=True,  # a lost paragraph (a standfirst, a teaser) costs an answer; kept furniture is filtered later
        date_extraction_params={"extensive_search": True, "original_date": True},
    )
    body = getattr(found, "text", None) or ""
    if found is None or isinstance(found, dict) or not _ARTICLE.search(body):
        raise IngestError(
            f"{path}: no article text found in the page",
            hint="save the article's page itself (not an index, a login or a search page), or save its text as .txt",
        )
    # trafilatura puts one paragraph (or heading, or list item) per line; a blank line makes each a paragraph
    text = normalise("\n\n".join(line.strip() for line in body.split("\n") if line.strip()))
    url = _str(found.url) or _linked_data_url(html) or _saved_from(html)
    return Extracted(
        text,
        title=_str(found.title),
        source=Source(
            outlet=_str(found.sitename) or _str(found.hostname) or _host(url),
            author=_str(found.author),
            published=_safe_date(found.date, path),
            url=url,
        ),
    )


_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.I)


_ARTICLE = re.compile(r"(?m)\S+\s+\S.*[.!?…。！？][\"'”’»)]*\s*$")
"""A page holds an article when at least one of its blocks is a sentence (two words or more, ending as one);
a login form, a menu or a gallery yields only labels."""


_LINKED_DATA = re.compile(r"<script[^>]*application/ld\+json[^>]*>(.*?)</script>", re.I | re.S)


def _linked_data_url(html: str) -> str:
    """The article's address from the page's schema.org data (`url`, or `mainEntityOfPage`), which many news
    sites give where they give no canonical link. Data that cannot be read is passed over."""
    for block in _LINKED_DATA.findall(html):
        try:
            data = json.loads(block)
        except (ValueError, RecursionError):
            continue
        for item in _linked_items(data):
            if "Article" not in str(item.get("@type", "")):
                continue
            page = item.get("mainEntityOfPage")
            for value in (item.get("url"), page.get("@id") if isinstance(page, dict) else page):
                if isinstance(value, str) and value.startswith(("http://", "https://")):
                    return value
    return ""


def _linked_items(data: object, depth: int = 0) -> list[dict]:
    """The objects of a schema.org block: itself, the items of a list, and those of an `@graph` (a few levels)."""
    if depth > 3:
        return []
    if isinstance(data, list):
        return [item for x in data for item in _linked_items(x, depth + 1)]
    if not isinstance(data, dict):
        return []
    graph = data.get("@graph")
    return [data, *(_linked_items(graph, depth + 1) if isinstance(graph, (list, dict)) else [])]


def _saved_from(html: str) -> str:
    """The address a browser noted when it saved the page ("Save page as…" writes `<!-- saved from url=… -->`)."""
    match = _SAVED_FROM.search(html[:4096])
    return match.group(1) if match and match.group(1).startswith(("http://", "https://")) else ""


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").removeprefix("www.")


def _safe_date(value: object, path: Path) -> str:
    """A page's date as the page gives it; one that cannot be read is left out (the page is still indexed)."""
    try:
        return iso_date(value, path)
    except IngestError:
        log.info("%s: the page's date %r is not a date; left out", path, value)
        return ""


# -- PDF ----------------------------------------------------------------------------------------------
_PAGE_NUMBER = re.compile(r"(?i)^\s*(?:page\s+|seite\s+|-\s*)?\d{1,4}(?:\s*(?:/|of|von)\s*\d{1,4})?\s*-?\s*$")


def _pdf(data: bytes, path: Path) -> Extracted:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise IngestError(f"{path}: the PDF is encrypted", hint="save an unprotected copy, or its text as .txt")
        pages = [_page_text(page) for page in reader.pages]
        info: dict = dict(reader.metadata or {})
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"{path}: not a readable PDF ({exc})") from None
    text, starts = "", []
    for raw in pages:
        page = reflow(normalise(raw))
        if text and page:
            text += "\n\n"
        starts.append(len(text))
        text += page
    if not text.strip():
        raise IngestError(
            f"{path}: the PDF holds no text (scanned pages are images)", hint="run OCR on it, or save its text as .txt"
        )
    return Extracted(
        text,
        title=_str(info.get("/Title")),
        source=Source(author=_str(info.get("/Author"))),
        pages=tuple(starts),
    )


_GAP = re.compile(r"\S {4,}\S")


def _page_text(page) -> str:
    """The page's text with its paragraph breaks: pypdf's layout mode keeps vertical gaps as blank lines, but it
    also puts columns side by side, so a page set in columns is read in plain mode (column after column)."""
    layout = page.extract_text(extraction_mode="layout") or ""
    lines = [line for line in layout.split("\n") if line.strip()]
    if lines and sum(bool(_GAP.search(line.strip())) for line in lines) > 0.3 * len(lines):
        return page.extract_text() or ""
    return layout


def reflow(page: str) -> str:
    """A PDF page's lines joined into paragraphs: a line break inside a paragraph becomes a space (or nothing,
    after a hyphen that splits a word); a blank line or a short line (a heading, a paragraph's last line) ends the
    paragraph. Lines that are only a page number are dropped."""
    lines = [" ".join(line.split()) for line in page.split("\n")]
    lines = [line for line in lines if not line or not _PAGE_NUMBER.match(line)]
    widths = sorted(len(line) for line in lines if line)
    if not widths:
        return ""
    full = widths[int(len(widths) * 0.75)]
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if not current:
            current = line
        elif current.endswith("-") and len(current) > 1 and current[-2].isalpha() and line[:1].islower():
            current = current[:-1] + line
        else:
            current += " " + line
        if len(line) < 0.6 * full:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


def dateline(paragraphs: list[str], language: str) -> str:
    """The date of a dateline ("Innsbruck, 19 March 2024") among an article's first short paragraphs, as
    YYYY-MM-DD; "" when there is none. Only a full date with a four-digit year counts: "last year" or "on
    Monday" in a headline is not a publication date."""
    from dateparser.search import search_dates

    for paragraph in paragraphs[:6]:
        if len(paragraph.split()) > 10 or not re.search(r"\d{4}", paragraph):
            continue
        found = (
            search_dates(paragraph, languages=[language], settings={"REQUIRE_PARTS": ["day", "month", "year"]}) or []
        )
        for written, when in found:
            if re.search(r"\d{4}", written):
                return when.date().isoformat()
    return ""
