"""Turning a file's bytes into the normalised text every offset points into."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from qa.core.errors import IngestError


def normalise(text: str) -> str:
    """The normalisation citations are measured against: no BOM, `\\n` line ends, Unicode NFKC."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFKC", text)


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Returns (text, encoding). UTF-8 first; another encoding only when it is detected with confidence."""
    if b"\x00" in data[:8192]:
        raise IngestError(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.chaos > 0.2:
        raise IngestError(f"{name}: not UTF-8, and its encoding could not be detected; save it as UTF-8")
    return str(best), best.encoding


def read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(f"{path}: {size} bytes is larger than the limit of {max_bytes}")
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from None


def check_lines(text: str, path: Path, max_line_chars: int) -> None:
    longest = max(len(line) for line in text.split("\n"))
    if longest > max_line_chars:
        raise IngestError(
            f"{path}: a line of {longest:,} characters is not article text (at most {max_line_chars:,})",
            hint="break it into paragraphs, or raise ingest.max_line_chars",
        )
