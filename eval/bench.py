"""`make bench`: how fast the assistant answers on this machine, each figure beside a reference measured in
the same run, written to BENCHMARKS.md.

Every figure is the median over repeated runs with its spread (min–max). References: llama.cpp's own
`llama-bench` on the same model, prompt size and threads (built from the llama.cpp that llama-cpp-python
vendors, see eval/llama_bench.py); plain sentence-transformers `encode` on the same texts; exact FAISS search
for approximate search; the issue's targets where a figure has no natural reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How many registered customers does DiDi serve?"


@dataclass
class Figure:
    what: str
    values: list[float]
    unit: str
    reference: str = ""
    ratio: str = ""
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        spread = f"{fmt(min(self.values))}–{fmt(max(self.values))}" if len(self.values) > 1 else "–"
        return (f"| {self.what} | {fmt(self.median)} {self.unit} | {spread} | {len(self.values)} | "
                f"{self.reference} | {self.ratio} |")


@dataclass
class Section:
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


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def peak_rss_mb(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


# -- machine -----------------------------------------------------------------------------------
def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 1024 / 1024
    packages = ", ".join(f"{p} {version(p)}" for p in ("llama-cpp-python", "faiss-cpu", "torch",
                                                        "sentence-transformers", "bm25s", "gradio"))
    return (f"- {platform.machine()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GB memory, no GPU\n"
            f"- {platform.system()} {platform.release()}, Python {platform.python_version()}\n- {packages}")


# -- cold start -----------------------------------------------------------------------------------
def cold_start(repeats: int) -> Section:
    qa = str(Path(sys.executable).parent / "qa")
    walls, reported = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run([qa, "ask", "--json", QUESTION], capture_output=True, text=True, check=True, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
        reported.append(json.loads(out.stdout)["timings"]["total_s"])
    imports = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch, sentence_transformers, llama_cpp, faiss"], check=True)
        imports.append(time.perf_counter() - t0)
    floor = statistics.median(imports)
    return Section("Cold start", f"`qa ask --json \"{QUESTION}\"` in a new process: imports, loading both models "
                   "and the index, then one answer.", [
                       Figure("process start to printed answer", walls, "s", f"importing the libraries alone: "
                              f"{fmt(floor)} s", f"{statistics.median(walls) / floor:.1f}×"),
                       Figure("of which answering (as the answer reports it)", reported, "s"),
                   ])


# -- warm answers -----------------------------------------------------------------------------------
def warm_answers(assistant, repeats: int, rates: dict | None) -> tuple[Section, Section]:
    from eval.gold import load_gold
    from qa.followup import Turn

    gold = load_gold()
    assistant.warm_up()
    stage = {k: [] for k in ("rewrite", "translate", "embed+search", "prompt", "generate", "verify")}
    first, total, p50_first, p50_total, floors = [], [], [], [], []
    prompt_tok, prompt_wall, prompt_llama, gen_tok, gen_wall, gen_llama, reused = [], [], [], [], [], [], []
    for _ in range(repeats):
        run_first, run_total = [], []
        for q in gold:
            history: list[Turn] = []
            for earlier in q.turns:
                history.append(Turn(earlier, assistant.ask(earlier, history).text))
            assistant.llm.last = None
            translator = assistant.translator.llm if assistant.settings.retrieval.translate_queries else None
            if translator is not None:
                translator.last = None
            a = assistant.ask(q.question, history)
            t = a.timings
            run_first.append(t.first_token_s)
            run_total.append(t.total_s)
            stage["rewrite"].append(t.rewrite_s)
            stage["translate"].append(t.translate_s)
            stage["embed+search"].append(t.retrieve_s)
            stage["verify"].append(t.verify_s)
            g = assistant.llm.last
            floor = 0.0
            if g is not None:
                stage["prompt"].append(g.wall_first_token_s)
                stage["generate"].append(g.wall_total_s - g.wall_first_token_s)
                prompt_tok.append(g.prompt_tokens)
                prompt_wall.append(g.wall_first_token_s)
                prompt_llama.append(g.prompt_ms / 1000)
                gen_tok.append(max(0, g.generated_tokens - 1))
                gen_wall.append(g.wall_total_s - g.wall_first_token_s)
                gen_llama.append(g.generate_ms / 1000)
                reused.append(g.reused_tokens)
                if rates:
                    floor += g.prompt_tokens / rates["pp"] + g.generated_tokens / rates["tg"]
            tr = translator.last if translator is not None else None
            if tr is not None and rates:
                floor += tr.prompt_tokens / rates["pp"] + tr.generated_tokens / rates["tg"]
            floors.append(floor)
        first += run_first
        total += run_total
        p50_first.append(statistics.median(run_first))
        p50_total.append(statistics.median(run_total))
    n = len(gold)
    floor_note = (f"llama.cpp alone for the same tokens: {fmt(statistics.median(floors))} s"
                  if rates else "")
    answers = Section(
        "Warm answers",
        f"All {n} gold questions (eval/gold.jsonl; a multi-turn question's earlier turns are asked first and not "
        f"counted), {repeats} runs in one process with models and index loaded. p50/p95 are over the questions of "
        "one run; the spread is over runs.", [
            Figure("time to first token, p50", p50_first, "s", "target ≤ 0.5 s",
                   f"{statistics.median(p50_first) / 0.5:.2f}× target"),
            Figure("time to first token, p95", [pct(first, 95)], "s"),
            Figure("checked answer, p50", p50_total, "s", "target ≤ 1.2 s",
                   f"{statistics.median(p50_total) / 1.2:.2f}× target"),
            Figure("checked answer, p95", [pct(total, 95)], "s", floor_note),
        ])
    for name, values in stage.items():
        if values:
            answers.figures.append(Figure(f"stage: {name}, p50 (p95 {fmt(pct(values, 95))} s)",
                                          [statistics.median(values)], "s"))
    throughput = Section("Generation speed through the assistant",
                         "Tokens per second as the assistant's caller sees them (wall time around "
                         "llama-cpp-python's streaming call), against llama.cpp's own `llama-bench` on the same "
                         "model and threads at the same prompt size, and against llama.cpp's own counters inside "
                         "the same calls.")
    if prompt_tok:
        pp_ours = sum(prompt_tok) / sum(prompt_wall)
        tg_ours = sum(gen_tok) / sum(gen_wall) if sum(gen_wall) else 0.0
        pp_inside = sum(prompt_tok) / sum(prompt_llama)
        tg_inside = sum(gen_tok) / sum(gen_llama) if sum(gen_llama) else 0.0
        pp_fig = Figure("prompt evaluation", [pp_ours], "tokens/s",
                        f"llama.cpp counters in the same calls: {fmt(pp_inside)}")
        tg_fig = Figure("generation", [tg_ours], "tokens/s",
                        f"llama.cpp counters in the same calls: {fmt(tg_inside)}")
        if rates:
            pp_fig.reference += f"; llama-bench: {fmt(rates['pp'])}"
            pp_fig.ratio = f"{pp_ours / rates['pp']:.2f}× llama-bench"
            tg_fig.reference += f"; llama-bench: {fmt(rates['tg'])}"
            tg_fig.ratio = f"{tg_ours / rates['tg']:.2f}× llama-bench"
        throughput.figures += [pp_fig, tg_fig]
        throughput.extra = (
            f"Per answer (median): {statistics.median(prompt_tok):.0f} prompt tokens evaluated, "
            f"{statistics.median(reused):.0f} reused from the previous prompt's state (the instructions and worked "
            f"examples, evaluated once per process), {statistics.median(gen_tok) + 1:.0f} generated.")
        if rates:
            throughput.extra += (f" llama-bench ran `-p {rates['p']} -n {rates['n']} -d {rates['d']} -t "
                                 f"{rates['threads']}` ({rates['repetitions']} repetitions).")
    return answers, throughput


# -- retrieval and indexing --------------------------------------------------------------------------
def retrieval(assistant, repeats: int) -> tuple[Section, dict]:
    from eval.gold import load_gold

    retriever = assistant.retriever
    embedder = assistant.embedder
    questions = [q.question for q in load_gold()]
    translations = {q: assistant.translations(q, assistant.question_language(q)) for q in questions}
    embed, search, both, plain, single = [], [], [], [], []
    vectors_np = retriever.index.data.chunk_vectors
    for _ in range(repeats):
        for q in questions:
            queries = [q, *translations[q]]
            t0 = time.perf_counter()
            vectors = embedder.encode_queries(queries)
            t1 = time.perf_counter()
            hits = retriever.search(queries, vectors)
            retriever.evidence(queries, vectors, hits)
            t2 = time.perf_counter()
            embed.append(t1 - t0)
            search.append(t2 - t1)
            both.append(t2 - t0)
            t0 = time.perf_counter()
            v = embedder.model.encode(queries, normalize_embeddings=True, convert_to_numpy=True)
            np.argsort(-(v @ vectors_np.T), axis=1)[:, :20]
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            embedder.encode_queries([q])
            single.append(time.perf_counter() - t0)
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    ref = statistics.median(plain) * 1000
    sec = Section("Query embedding and hybrid search (bundled corpus)",
                  f"{len(questions)} gold questions with their translations (two queries each), {repeats} runs. "
                  f"Search = FAISS + BM25 for every query, rank fusion, evidence sentences.", [
                      Figure("embed + search, p50", [statistics.median(ms(both))], "ms", f"target ≤ 30 ms; plain "
                             f"`encode` + numpy dot product of the same queries: {fmt(ref)} ms",
                             f"{statistics.median(both) * 1000 / ref:.2f}× plain"),
                      Figure("embed + search, p95", [pct(ms(both), 95)], "ms"),
                      Figure("of which embedding, p50", [statistics.median(ms(embed))], "ms"),
                      Figure("of which search and evidence, p50", [statistics.median(ms(search))], "ms"),
                  ])
    sec.figures.append(Figure("embedding the question alone, p50", [statistics.median(ms(single))], "ms"))
    return sec, {"embed_ms": statistics.median(ms(single))}


def indexing(assistant, repeats: int) -> Section:
    """Re-embeds and writes the bundled corpus in-process, against plain `encode` of the same texts."""
    import tempfile

    from qa.assistant import Assistant

    settings = assistant.settings
    walls, plain, unchanged = [], [], []
    data = assistant.loaded_index().data
    texts = [c.text for c in data.chunks] + [d.text[s.start : s.end] for d in data.documents.values()
                                             for s in d.sentences]
    n_chunks = len(data.chunks)
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            other = Assistant(settings.model_copy(update={"paths": settings.paths.model_copy(
                update={"data": Path(tmp)})}), embedder=assistant.embedder,
                embedder_identity=assistant.embedder_identity)
            t0 = time.perf_counter()
            other.index(rebuild=True)
            walls.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            other.index()
            unchanged.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assistant.embedder.model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
        plain.append(time.perf_counter() - t0)
    qa = str(Path(sys.executable).parent / "qa")
    cli = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([qa, "index"], capture_output=True, check=True, cwd=ROOT)
        cli.append(time.perf_counter() - t0)
    ours = [n_chunks / w for w in walls]
    ref = [n_chunks / p for p in plain]
    return Section("Indexing", f"The bundled corpus: {len(data.documents)} articles, {n_chunks} chunks, "
                   f"{len(texts) - n_chunks} sentences (chunks and sentences are both embedded), embedder loaded.", [
                       Figure("full re-index throughput", ours, "chunks/s", f"plain `encode` of the same {len(texts)} "
                              f"texts: {fmt(statistics.median(ref))} chunks/s",
                              f"{statistics.median(ours) / statistics.median(ref):.2f}× plain"),
                       Figure("unchanged corpus, in-process", unchanged, "s"),
                       Figure("`qa index` on an unchanged corpus, new process", cli, "s", "target < 1 s",
                              f"{statistics.median(cli):.2f}× target"),
                   ])


# -- search at scale ---------------------------------------------------------------------------------
def search_scaling(sizes: list[int], embed_ms: float, dim: int = 384, queries: int = 200) -> Section:
    import faiss

    from eval.synthetic import clustered_vectors
    from index.vectors import FaissStore, VectorIndexChoice, probe_queries, recall_at

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    sec = Section("Search at scale (synthetic vectors)",
                  f"Synthetic unit vectors in clusters (eval/synthetic.py; {dim} dimensions like multilingual-e5-small), "
                  f"{queries} single-vector queries near indexed vectors, k = 10. Exact is `IndexFlatIP`; approximate "
                  "is what `vectors.kind = \"auto\"` builds past 100k vectors: `IndexIVFFlat` with its nprobe "
                  "calibrated at build time for recall@10 ≥ 0.95. Dense search only: BM25 needs real text.")
    rows = ["| chunks | index | build s | memory MB | search p50 ms | search p95 ms | recall@10 | "
            "embed + search p50 ms |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in sizes:
        vectors = clustered_vectors(n, dim, seed=n)
        q = probe_queries(vectors, queries, seed=1)
        truth = None
        for kind in ("flat", "ivf"):
            t0 = time.perf_counter()
            store = FaissStore.build(vectors, VectorIndexChoice(kind=kind))
            build = time.perf_counter() - t0
            memory = len(faiss.serialize_index(store.index)) / 1e6
            lat, found = [], []
            for row in q:
                t0 = time.perf_counter()
                _, ids = store.search(row[None, :], 10)
                lat.append((time.perf_counter() - t0) * 1000)
                found.append(ids[0])
            found = np.array(found)
            if truth is None:
                truth = found
            recall = recall_at(found, truth)
            label = "exact" if kind == "flat" else f"IVF {store.index.nlist} lists, nprobe {store.index.nprobe}"
            rows.append(f"| {n:,} | {label} | {build:.1f} | {memory:,.0f} | {statistics.median(lat):.2f} | "
                        f"{pct(lat, 95):.2f} | {recall:.3f} | {embed_ms + statistics.median(lat):.1f} |")
            if kind == "ivf":
                sec.figures.append(Figure(f"{n:,} chunks: approximate search p50", [statistics.median(lat)], "ms",
                                          f"exact: {rows[-2].split('|')[5].strip()} ms",
                                          f"recall@10 {recall:.3f}"))
            del store
        del vectors
    sec.extra = "\n".join(rows) + (f"\n\n\"embed + search\" adds the median time to embed one query on the bundled "
                                   f"corpus ({embed_ms:.1f} ms).")
    return sec


# -- qa serve memory ----------------------------------------------------------------------------------
def serve_memory() -> Section:
    import socket

    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    qa = str(Path(sys.executable).parent / "qa")
    proc = subprocess.Popen([qa, "serve", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("Chat at"):
                break
        after_load = peak_rss_mb(proc.pid)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for q in (QUESTION, "Wer ist der CEO von DiDi?", "What is the price of a DiDi ride?"):
            client.predict(q, None, api_name="/ask")
        peak = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    models = ROOT / ".qa" / "models"
    weights = sum(f.stat().st_size for f in models.rglob("*") if f.is_file() and f.suffix in
                  {".gguf", ".safetensors", ".bin"}) / 1e6
    return Section("Memory of `qa serve`", "Peak resident memory (VmHWM) of the server process with the default "
                   "models, after start-up and after three answers through the API.", [
                       Figure("after start-up", [after_load], "MB", f"model files on disk: {weights:,.0f} MB"),
                       Figure("after three answers", [peak], "MB"),
                   ])


# -- report ---------------------------------------------------------------------------------------------
def render(sections: list[Section], started: str, elapsed: float, repeats: int) -> str:
    out = ["# Benchmarks", "",
           f"Written by `make bench` (eval/bench.py) on {started}, in {elapsed / 60:.1f} min, {repeats} runs per "
           "figure unless the n column says otherwise. Timings on these machines are noisy: read the ratios, "
           "which compare figures measured in the same run.", "", "## Machine", "", machine(), ""]
    for s in sections:
        out += [f"## {s.title}", "", s.intro, ""]
        if s.figures:
            out += ["| figure | median | spread | n | reference | ratio |", "| --- | --- | --- | --- | --- | --- |"]
            out += [f.row() for f in s.figures]
            out.append("")
        if s.extra:
            out += [s.extra, ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="chunk counts for the search benchmark")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-llama-bench", action="store_true", help="skip building and running llama-bench")
    args = parser.parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t_start = time.perf_counter()
    from qa.assistant import Assistant
    from qa.settings import load_settings

    sections = [cold_start(args.repeats)]
    assistant = Assistant(load_settings())
    assistant.index()
    assistant.warm_up()
    rates = None
    if not args.no_llama_bench:
        from eval.llama_bench import reference_rates

        rates = reference_rates(assistant, log=lambda m: print(m, file=sys.stderr))
    print("warm answers…", file=sys.stderr)
    answers, throughput = warm_answers(assistant, args.repeats, rates)
    print("retrieval…", file=sys.stderr)
    search_sec, ctx = retrieval(assistant, args.repeats)
    sections += [answers, throughput, search_sec, indexing(assistant, args.repeats)]
    del assistant
    print("search at scale…", file=sys.stderr)
    sections.append(search_scaling([int(s) for s in args.sizes.split(",") if s], ctx["embed_ms"]))
    print("qa serve…", file=sys.stderr)
    sections.append(serve_memory())
    args.out.write_text(render(sections, started, time.perf_counter() - t_start, args.repeats), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
