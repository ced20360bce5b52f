"""`make bench`: every benchmark in turn, written to BENCHMARKS.md."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eval.bench import ROOT
from eval.bench.answers import warm_answers
from eval.bench.baseline import compare
from eval.bench.indexing import indexing
from eval.bench.process import cold_start, serve_memory
from eval.bench.report import render, write
from eval.bench.search import plain_model, retrieval, search_scaling
from qa.llm import LLM, LlamaCppLLM


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m eval.bench",
        description="How fast the assistant answers on this machine, each figure "
        "beside a reference measured in the same run (written to BENCHMARKS.md).",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="chunk counts for the search benchmark")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-llama-bench", action="store_true", help="skip building and running llama-bench")
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the before/after comparison with the speed settings off",
    )
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t_start = time.perf_counter()
    from eval.llama_bench import Replay, bench_for
    from qa.assistant import Assistant
    from qa.core.settings import load_settings

    sections = [cold_start(args.repeats)]
    assistant = Assistant(load_settings())
    assistant.index()
    assistant.warm_up()
    bench = None
    if not args.no_llama_bench:
        bench = bench_for(assistant, log=lambda m: print(m, file=sys.stderr))
    print("warm answers…", file=sys.stderr)
    replay = Replay(llama_cpp(assistant.llm))
    translating = assistant.settings.retrieval.translate_queries
    replay_translation = Replay(llama_cpp(assistant.translator.llm)) if translating else None
    answers, throughput, after = warm_answers(assistant, args.repeats, bench, replay, replay_translation)
    for r in (replay, replay_translation):
        if r is not None:
            r.close()
    print("retrieval…", file=sys.stderr)
    plain_st = plain_model(assistant)
    search_sec, embed_ms = retrieval(assistant, args.repeats, plain_st)
    sections += [answers, throughput, search_sec, indexing(assistant, args.repeats, plain_st)]
    del plain_st
    del assistant
    if args.baseline:
        print("baseline…", file=sys.stderr)
        sections.insert(1, compare(after, args.repeats))
    print("search at scale…", file=sys.stderr)
    sections.append(search_scaling([int(s) for s in args.sizes.split(",") if s], embed_ms))
    print("qa serve…", file=sys.stderr)
    sections += serve_memory()
    write(args.out, render(sections, started, time.perf_counter() - t_start, args.repeats))
    print(f"wrote {args.out}", file=sys.stderr)


def llama_cpp(llm: LLM) -> LlamaCppLLM:
    """The replays decode through llama.cpp's C API: they need the model llama-cpp-python runs."""
    if not isinstance(llm, LlamaCppLLM):
        raise SystemExit(f"the benchmark replays answers through llama.cpp; {llm.name} is not run by it")
    return llm


if __name__ == "__main__":
    main()
