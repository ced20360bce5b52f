"""The citation protocol and the refusal text, defined once for prompts, code and tests.

The model cites evidence as `[n]`; several numbers may share brackets (`[1, 3]`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cite(n: int) -> str:
    return f"[{n}]"


def cited_numbers(text: str) -> list[int]:
    """Citation numbers in order of first appearance."""
    seen: list[int] = []
    for m in CITATION.finditer(text):
        for part in m.group(1).split(","):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def _phrases(prompts_dir: Path = PROMPTS_DIR) -> dict[str, dict[str, str]]:
    return tomllib.loads((prompts_dir / "phrases.toml").read_text(encoding="utf-8"))


def refusals() -> dict[str, str]:
    return _phrases()["refusal"]


def refusal(language: str) -> str:
    texts = refusals()
    return texts.get(language, texts["en"])


def quoted_lead(language: str) -> str:
    texts = _phrases()["quoted"]
    return texts.get(language, texts["en"])


def _in_quotes(text: str) -> str:
    return text if re.search(r"[“”\"„«»]", text) else f"“{text}”"


def quoted(language: str, sentence: str, n: int) -> str:
    """A verbatim quote of an evidence sentence, when no short answer passed its checks."""
    return f"{quoted_lead(language)} {_in_quotes(sentence)} {cite(n)}"


def cite_all(ns: list[int]) -> str:
    return f"[{', '.join(str(n) for n in ns)}]"


def short_answer(claim: str, n: int, sentence: str, also: list[int] | None = None) -> str:
    """A short answer with its citation (and those of other articles that state it too), followed by the sentence
    it rests on, quoted verbatim."""
    return f"{claim.strip()} {cite_all([n, *(also or [])])} — {_in_quotes(sentence)}"


def differing(language: str, reports: Sequence[tuple[str, Sequence[int], str]]) -> str:
    """Two or more reports' figures for one thing, each with its citations ("31 [1, 3] or 29 [2]"; "34 [1], 29 [2]
    or 31 [3]"), followed by the sentences they rest on; `reports`: (figure, citation numbers, the sentence
    quoted) each, the sentence of the first citation."""
    texts = _phrases()["differ"]
    said = [f"{figure.strip()} {cite_all(list(ns))}" for figure, ns, _ in reports]
    comma = "、" if language in ("zh", "ja") else ", "
    text = texts.get(language, texts["en"]).format(a=comma.join(said[:-1]), b=said[-1])
    quotes = " · ".join(f"{_in_quotes(sentence)} {cite(ns[0])}" for _, ns, sentence in reports)
    return f"{text} — {quotes}"


_SHORT = re.compile(r"^(.+?) \[\d+(?:, \d+)*\] — ")
_DIFFERING = re.compile(r"^(.+?) — “")


def short_part(text: str) -> str | None:
    """The short answer of a text `short_answer` made, without its citation and quoted sentence; of a text
    `differing` made, every figure with its citations ("34 [1] or 29 [2], depending on the report")."""
    m = _SHORT.match(text)
    if m:
        return m.group(1)
    m = _DIFFERING.match(text)
    return m.group(1) if m and CITATION.search(m.group(1)) else None


_REFUSAL_VARIANTS = re.compile(
    r"(?i)^\W*(the )?sources? (do(es)?n[’']?t|do(es)? not) (say|mention|tell)|"
    r"^\W*(die )?quellen? (sag(t|en|e)?|nenn(t|en|e)?|erwähn(t|en|e)?) (dazu |das )?nichts|^\W*(i|we) (do not|don[’']?t) know|"
    r"^\W*(keine angabe|not (stated|mentioned|given))"
)


def is_refusal(text: str) -> bool:
    """The refusal in any language, or one of the small variations a model writes ("The source doesn't say.")."""
    flat = " ".join(text.split()).strip().casefold()
    return any(flat.startswith(r.casefold().rstrip(".")) for r in refusals().values()) or bool(
        _REFUSAL_VARIANTS.search(flat)
    )
