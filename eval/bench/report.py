"""Figures and sections, and BENCHMARKS.md written from them."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    """One row of a section's table: the median of `values` and their spread, beside a reference from the same
    run and our figure's ratio to it."""

    what: str
    values: list[float]
    unit: str
    reference: str = ""
    ratio: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        spread = f"{fmt(min(self.values))}–{fmt(max(self.values))}" if len(self.values) > 1 else "–"
        return (
            f"| {self.what} | {fmt(self.median)} {self.unit} | {spread} | {len(self.values)} | "
            f"{self.reference} | {self.ratio} |"
        )


@dataclass(frozen=True)
class Section:
    """A section of BENCHMARKS.md: an introduction, a table of figures, and text or a table of its own after it."""

    title: str
    intro: str = ""
    figures: list[Figure] = field(default_factory=list)
    extra: str = ""


def fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def peak_rss_mb(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        / 1024
        / 1024
    )
    packages = ", ".join(
        f"{p} {version(p)}"
        for p in ("llama-cpp-python", "faiss-cpu", "torch", "sentence-transformers", "bm25s", "gradio")
    )
    return (
        f"- {platform.machine()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GB memory, no GPU\n"
        f"- {platform.system()} {platform.release()}, Python {platform.python_version()}\n- {packages}"
    )


def render(sections: list[Section], started: str, elapsed: float, repeats: int) -> str:
    out = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (eval/bench/) on {started}, in {elapsed / 60:.1f} min, {repeats} runs per "
        "figure unless the n column says otherwise. Timings on these machines are noisy: read the ratios, "
        "which compare figures measured in the same run.",
        "",
        "## Machine",
        "",
        machine(),
        "",
    ]
    for s in sections:
        out += [f"## {s.title}", "", s.intro, ""]
        if s.figures:
            out += ["| figure | median | spread | n | reference | ratio |", "| --- | --- | --- | --- | --- | --- |"]
            out += [f.row() for f in s.figures]
            out.append("")
        if s.extra:
            out += [s.extra, ""]
    return "\n".join(out)


SCALE_BLOCK = ("<!-- bench-scale: written by `make bench-scale` -->", "<!-- /bench-scale -->")


def scale_block(text: str) -> str:
    """The section `make bench-scale` wrote into a BENCHMARKS.md text ("" when there is none)."""
    start, end = SCALE_BLOCK
    if start in text and end in text:
        return start + text.split(start, 1)[1].split(end, 1)[0] + end
    return ""


def write(path: Path, text: str) -> None:
    """`make bench`: BENCHMARKS.md becomes `text`, keeping the section `make bench-scale` wrote."""
    kept = scale_block(_read(path))
    _replace(path, text.rstrip("\n") + "\n\n" + kept + "\n" if kept else text)


def write_scale(path: Path, block: str) -> None:
    """`make bench-scale`: BENCHMARKS.md with its scale section replaced by `block` (or added at the end)."""
    old = _read(path)
    kept = scale_block(old)
    _replace(path, (old.replace(kept, "") if kept else old).rstrip("\n") + "\n\n" + block + "\n")


MILVUS_PART = ("<!-- bench-scale milvus -->", "<!-- /bench-scale milvus -->")


def write_scale_part(path: Path, part: str) -> None:
    """The Milvus part of the scale section replaced by `part` (which starts and ends with `MILVUS_PART`), the
    rest of the section kept; raises ValueError when there is no scale section to put it in."""
    old = _read(path)
    block = scale_block(old)
    if not block:
        raise ValueError(f"{path} has no scale section yet: run `make bench-scale` first")
    start, end = MILVUS_PART
    if start in block and end in block:
        new = block.split(start, 1)[0] + part + block.split(end, 1)[1]
    else:
        new = block.replace(SCALE_BLOCK[1], "\n" + part + "\n" + SCALE_BLOCK[1])
    _replace(path, old.replace(block, new))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _replace(path: Path, text: str) -> None:
    tmp = path.with_suffix(".partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
