"""`make bench-scale`: the assistant over an archive of N generated articles (eval/scale.py) beside the seed and
xquad suites' own articles, written into BENCHMARKS.md's "At scale" section.

    python -m eval.bench.scale                  # 10,000 articles
    python -m eval.bench.scale --articles 100000
    python -m eval.bench.scale --articles 300 --no-baseline   # a quick look

Every step that a user runs as a command runs as one, in a new process, timed from outside: the full index,
`qa index` on the unchanged corpus, 100 articles added, the same 100 deleted. The answers run in a process of
their own too, so that its peak memory is an answering process's (the index loaded, both models, the
questions of both suites asked in turn). The suites' scores without the distractors are measured in the same
run (unless --no-baseline) so that the difference is the distractors' alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from eval.bench import ROOT
from eval.bench.report import MILVUS_PART, SCALE_BLOCK, fmt, peak_rss_mb, write_scale, write_scale_part

SUITES = ("seed", "xquad")
ADDED = 100
SHOWN = (
    ("fact_recall_strict", "facts strict"),
    ("recall_at_1", "R@1"),
    ("evidence_r1", "evidence R@1"),
    ("answerable_refused", "answerable refused"),
    ("refusal_unanswerable", "unanswerable refused"),
    ("total_p50_s", "answer p50 s"),
    ("total_p95_s", "answer p95 s"),
)


def _qa(*args: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Runs `qa <args>` in a new process: wall seconds, its peak resident memory in MB, its output."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("qa")), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"qa {' '.join(args)} failed ({proc.returncode}):\n{out}")
    return seconds, usage.ru_maxrss / 1024, out


def _child(*args: str, env: dict[str, str] | None = None) -> dict:
    """This module in a new process (`answers` or `baseline`): its JSON result."""
    proc = subprocess.run(
        [sys.executable, "-m", "eval.bench.scale", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env=env,
    )
    if proc.returncode:
        raise SystemExit(f"eval.bench.scale {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _chunks(out: str) -> int:
    return int(out.rsplit(";", 1)[1].split()[0])


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def corpus_for(articles: int, data: Path) -> Path:
    """The seed and xquad suites' articles and `articles` generated ones, in one folder."""
    from eval import scale
    from eval import suites as suite_lib
    from qa.core.settings import load_settings

    settings = load_settings()
    corpus = data / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name in SUITES:
        source = suite_lib.suite(name, settings).corpus
        for f in sorted(source.iterdir()):
            if f.is_file() and not (corpus / f.name).is_file():
                shutil.copy2(f, corpus / f.name)
    wanted = {p.name for p in scale.generate(corpus, 0, articles)}
    for extra in corpus.glob("scale-*.md"):
        if extra.name not in wanted:
            extra.unlink()
    return corpus


def run(articles: int, baseline: bool, out: Path) -> None:
    from eval import scale

    data = ROOT / ".qa" / "bench" / f"scale-{articles}"
    data.mkdir(parents=True, exist_ok=True)
    models = data / "models"
    if not models.exists():
        models.symlink_to((ROOT / ".qa" / "models").resolve())
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"generating {articles} articles…", file=sys.stderr)
    corpus = corpus_for(articles, data)
    env = {**os.environ, "QA_PATHS__DATA": str(data), "QA_PATHS__CORPUS": str(corpus)}
    n_files = sum(1 for f in corpus.iterdir() if f.suffix in {".txt", ".md"})
    print("full index…", file=sys.stderr)
    index_s, index_mb, output = _qa("index", "--rebuild", env=env)
    chunks = _chunks(output)
    size = _size_mb(data / "index")
    unchanged_s, _, _ = _qa("index", env=env)
    scale.generate(corpus, articles, ADDED)
    add_s, _, _ = _qa("index", env=env)
    for k in range(articles, articles + ADDED):
        (corpus / scale.article(k)[0]).unlink()
    delete_s, _, _ = _qa("index", env=env)
    print("answers over the archive…", file=sys.stderr)
    answers = _child("answers", str(data), str(corpus))
    plain = _child("baseline") if baseline else None
    milvus = milvus_part(data, corpus, env, answers)
    rows = [
        ("articles (generated + the suites' own)", f"{articles:,} + {n_files - articles}"),
        ("chunks", f"{chunks:,}"),
        ("full index (`qa index --rebuild`, new process)", f"{fmt(index_s)} s"),
        ("throughput", f"{fmt(n_files / index_s)} articles/s, {fmt(chunks / index_s)} chunks/s"),
        ("peak memory while indexing", f"{fmt(index_mb)} MB"),
        ("index on disk", f"{fmt(size)} MB"),
        ("`qa index` on the unchanged corpus, new process", f"{fmt(unchanged_s)} s"),
        (f"`qa index` after adding {ADDED} articles", f"{fmt(add_s)} s"),
        (f"`qa index` after deleting those {ADDED}", f"{fmt(delete_s)} s"),
        (
            "peak memory of the answering process (index, both models, the questions of both suites)",
            f"{fmt(answers['peak_mb'])} MB",
        ),
    ]
    table = ["| figure | value |", "| --- | --- |", *(f"| {a} | {b} |" for a, b in rows)]
    scores = _compared("with the distractors", answers, "without", plain)
    block = "\n".join(
        [
            SCALE_BLOCK[0],
            "## At scale",
            "",
            f"Measured {started} by `make bench-scale` (eval/bench/scale.py) with {articles:,} generated articles "
            "(eval/scale.py: sentences of the XQuAD development paragraphs recombined into articles in five "
            "languages, none holding an answer to a suite question) beside the seed and xquad suites' own "
            "articles, in one index. Every figure is one run; timings on this machine are noisy.",
            "",
            *table,
            "",
            "The suites' questions asked over that index, against their own index alone"
            + (" in the same run." if plain else " (not measured in this run: --no-baseline)."),
            "",
            *scores,
            "",
            milvus,
            SCALE_BLOCK[1],
        ]
    )
    write_scale(out, block)
    print(f"wrote the scale section of {out}", file=sys.stderr)


def milvus_part(data: Path, corpus: Path, env: dict[str, str], on_faiss: dict | None = None) -> str:
    """The archive's index moved to Milvus (milvus-lite) and both suites asked over it, against FAISS in the
    same run; the index is moved back to FAISS afterwards."""
    if on_faiss is None:
        _qa("index", env=env)
        on_faiss = _child("answers", str(data), str(corpus))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    to_milvus = {**env, "QA_VECTORS__BACKEND": "milvus"}
    print("moving the index to Milvus…", file=sys.stderr)
    move_s, move_mb, _ = _qa("index", env=to_milvus)
    size = _size_mb(data / "index" / "milvus.db")
    unchanged_s, _, _ = _qa("index", env=to_milvus)
    print("answers over Milvus…", file=sys.stderr)
    on_milvus = _child("answers", str(data), str(corpus), env={**os.environ, "QA_VECTORS__BACKEND": "milvus"})
    back_s, _, _ = _qa("index", env=env)
    rows = [
        ("`qa index` moving the index to Milvus (nothing embedded again)", f"{fmt(move_s)} s, peak {fmt(move_mb)} MB"),
        ("Milvus collection on disk (milvus-lite)", f"{fmt(size)} MB"),
        ("`qa index` on the unchanged corpus, on Milvus", f"{fmt(unchanged_s)} s"),
        ("`qa index` moving it back to FAISS", f"{fmt(back_s)} s"),
        (
            "peak memory of the answering process: Milvus / FAISS",
            f"{fmt(on_milvus['peak_mb'])} / {fmt(on_faiss['peak_mb'])} MB",
        ),
    ]
    scores = _compared("Milvus", on_milvus, "FAISS", on_faiss)
    return "\n".join(
        [
            MILVUS_PART[0],
            "### The same archive on Milvus",
            "",
            f'Measured {started}: the index above moved to Milvus (`vectors.backend = "milvus"`, milvus-lite in '
            "the index folder) by `qa index`, and both suites' questions asked over it, against the same questions "
            "over FAISS in the same run (`python -m eval.bench.scale milvus` redoes this part alone).",
            "",
            "| figure | value |",
            "| --- | --- |",
            *(f"| {a} | {b} |" for a, b in rows),
            "",
            *scores,
            MILVUS_PART[1],
        ]
    )


def _compared(first: str, a: dict, second: str, b: dict | None) -> list[str]:
    """A table of both suites' shown figures in two runs (`b` None: not measured) and their difference."""
    rows = [f"| suite | figure | {first} | {second} | difference |", "| --- | --- | --- | --- | --- |"]
    for suite in SUITES:
        for key, name in SHOWN:
            x = a["suites"][suite].get(key)
            y = b["suites"][suite].get(key) if b else None
            diff = f"{x - y:+.3f}" if x is not None and y is not None else ""
            rows.append(f"| {suite} | {name} | {_v(x)} | {_v(y)} | {diff} |")
    return rows


def _v(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def answers(data: Path, corpus: Path) -> dict:
    """Both suites' questions over the archive's index (already built): their summaries, and this process's
    peak memory."""
    from eval import harness
    from eval import suites as suite_lib
    from qa.assistant import Assistant
    from qa.core.settings import load_settings

    settings = suite_lib.with_data(load_settings(), data, corpus=corpus)
    assistant = Assistant(settings)
    assistant.index(corpus)
    out = {}
    for name in SUITES:
        suite = suite_lib.suite(name, load_settings())
        report = harness.run(assistant, suite.questions(), False, name, suite.copies)
        out[name] = report["summary"]["all"]
    return {"suites": out, "peak_mb": peak_rss_mb()}


def baseline() -> dict:
    """Both suites over their own articles only, as `qa eval` runs them."""
    from eval import harness
    from eval import suites as suite_lib
    from qa.assistant import Assistant
    from qa.core.settings import load_settings

    settings = load_settings()
    out = {}
    for name in SUITES:
        suite = suite_lib.suite(name, settings)
        assistant = Assistant(suite_lib.suite_settings(settings, suite))
        assistant.index(suite.corpus)
        out[name] = harness.run(assistant, suite.questions(), False, name, suite.copies)["summary"]["all"]
        del assistant
    return {"suites": out}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", nargs="?", choices=("all", "answers", "baseline", "milvus"), default="all")
    parser.add_argument("data", nargs="?", type=Path)
    parser.add_argument("corpus", nargs="?", type=Path)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.step == "answers":
        print(json.dumps(answers(args.data, args.corpus)))
    elif args.step == "baseline":
        print(json.dumps(baseline()))
    elif args.step == "milvus":
        data = ROOT / ".qa" / "bench" / f"scale-{args.articles}"
        corpus = corpus_for(args.articles, data)
        env = {**os.environ, "QA_PATHS__DATA": str(data), "QA_PATHS__CORPUS": str(corpus)}
        write_scale_part(args.out, milvus_part(data, corpus, env))
        print(f"wrote the Milvus part of the scale section of {args.out}", file=sys.stderr)
    else:
        run(args.articles, args.baseline, args.out)


if __name__ == "__main__":
    main()
