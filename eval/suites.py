"""The evaluation suites: a corpus and its gold questions, scored by the same harness and metrics.

- `seed`: the bundled articles (`corpus/`) and `eval/gold.jsonl`, written by reading them.
- `xquad`: XQuAD's development half as a mixed English/German/Spanish collection with questions in those
  languages, plus near-topic unanswerable questions (eval/xquad.py builds it).
- `xquad-ruzh`: the same collection asked in Russian and Chinese (a stretch suite: reported, not gated).
- `news`: a news collection as people keep one: the bundled articles beside saved web pages, a PDF and front
  matter about one story (a wire story and its reprints, a report that disagrees on figures, a follow-up a year
  later), with questions on dates, agreement, disagreement and copies (eval/suites/news/).

Each suite is indexed in a data folder of its own (`<data>/suites/<name>`), sharing the model cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from eval import xquad
from eval.gold import GOLD, GoldQuestion, load_gold
from index.ingest import CATALOG
from qa.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("seed", "xquad", "xquad-ruzh", "news")
NEWS = ROOT / "eval" / "suites" / "news"
GATED = ("seed", "xquad")


@dataclass(frozen=True)
class Suite:
    name: str
    corpus: Path
    gold: Path
    copies: list[list[str]] = field(default_factory=list)  # groups of articles that are copies of one story

    def questions(self) -> list[GoldQuestion]:
        return load_gold(self.gold)


def suite(name: str, settings: Settings, source: Path | None = None) -> Suite:
    """The named suite, built first when it is made from a benchmark's files (`source`: another XQuAD folder
    in the same format, such as a held-out half)."""
    if name == "seed":
        return Suite("seed", Path(settings.paths.corpus), GOLD)
    if name == "news":
        corpus = news_corpus(Path(settings.paths.corpus), suite_dir(settings, name) / "built" / "corpus")
        copies = json.loads((NEWS / "copies.json").read_text(encoding="utf-8"))
        return Suite("news", corpus, NEWS / "gold.jsonl", list(copies.values()))
    if name not in xquad.SPECS:
        raise ValueError(f"unknown suite {name!r}: choose from {', '.join(NAMES)}")
    dest = xquad.ensure(name, suite_dir(settings, name) / "built", source or xquad.DATA)
    return Suite(name, dest / "corpus", dest / "gold.jsonl")


def news_corpus(bundled: Path, dest: Path) -> Path:
    """The bundled articles and the news suite's own, in one folder, with one catalog (the bundled one and the
    suite's `catalog.toml`); files are copied only when they changed, so an unchanged suite is not re-indexed."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in [*sorted(bundled.iterdir()), *sorted((NEWS / "corpus").iterdir())] if p.is_file()}
    for stale in set(p.name for p in dest.iterdir()) - set(wanted):
        (dest / stale).unlink()
    for name, source in wanted.items():
        target = dest / name
        data = source.read_bytes()
        if name == CATALOG:  # the bundled articles' entries and the suite's own
            data += b"\n" + (NEWS / CATALOG).read_bytes()
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    return dest


def suite_dir(settings: Settings, name: str) -> Path:
    return Path(settings.paths.data) / "suites" / name


def suite_settings(settings: Settings, s: Suite) -> Settings:
    """Settings that index and answer over the suite's corpus, in a data folder of its own; the seed suite
    uses the configured corpus and data folder as they are."""
    if s.name == "seed":
        return settings
    return with_data(settings, suite_dir(settings, s.name), corpus=s.corpus)


def with_data(settings: Settings, data: Path, **paths) -> Settings:
    """`settings` with a data folder of their own (and other `paths`), which shares the model cache."""
    data.mkdir(parents=True, exist_ok=True)
    link = data / "models"
    if not link.exists():
        link.symlink_to(Path(settings.paths.models_dir).resolve())
    return settings.model_copy(update={"paths": settings.paths.model_copy(update={"data": data, **paths})})
