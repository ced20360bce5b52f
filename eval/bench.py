"""`make bench`: how fast the assistant answers on this machine, each figure beside a reference measured in
the same run, written to BENCHMARKS.md.

Every figure is the median over repeated runs with its spread (min–max). References: llama.cpp on the same
model and threads, both replaying each answer's own tokens through its C API a moment later and as its own
`llama-bench` with the same prompt size (built from the llama.cpp that llama-cpp-python vendors; both in
eval/llama_bench.py); plain sentence-transformers `encode` on the same texts; exact FAISS search for
approximate search; the issue's targets where a figure has no natural reference.
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
from typing import NamedTuple

import numpy as np

from eval.metrics import percentile

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


class Replayed(NamedTuple):
    """One answer's speed and its replay's (eval.llama_bench.Replay), both on the same tokens."""

    run: int
    chunk: int
    prompt_tokens: int
    gen_tokens: int
    ours_prompt_s: float
    ours_gen_s: float
    replay_prompt_s: float
    replay_gen_s: float
    same_first_token: bool

    @staticmethod
    def of(run: int, chunk: int, stats, replay) -> list[Replayed]:
        """The completion `stats` (`qa.llm.GenerationStats`) paired with its replay, if `replay` can replay it."""
        r = replay(stats) if replay is not None else None
        if r is None:
            return []
        return [Replayed(run, chunk, stats.prompt_tokens, stats.generated_tokens, stats.wall_first_token_s,
                         stats.wall_total_s - stats.wall_first_token_s, r["prompt_s"], r["generate_s"],
                         r["same_first_token"])]

    @staticmethod
    def rate(rows: list[Replayed], part: str, who: str) -> float:
        """Tokens per second of `part` ("prompt" or "gen") for `who` ("ours" or "replay") over `rows`."""
        tokens = sum(getattr(r, f"{part}_tokens") for r in rows)
        return tokens / max(sum(getattr(r, f"{who}_{part}_s") for r in rows), 1e-9)

    @staticmethod
    def ratio(rows: list[Replayed], part: str) -> float:
        """Our speed over the replay's: the same tokens, so the replay's seconds over ours."""
        return Replayed.rate(rows, part, "ours") / Replayed.rate(rows, part, "replay")

    @staticmethod
    def groups(rows: list[Replayed], by: str) -> list[list[Replayed]]:
        """`rows` per pass (`by="run"`) or per chunk of questions (`by="chunk"`), in order."""
        return [[r for r in rows if getattr(r, by) == k] for k in sorted({getattr(r, by) for r in rows})]


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

    def run(env: dict) -> tuple[list[float], list[float]]:
        walls, reported = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = subprocess.run([qa, "ask", "--json", QUESTION], capture_output=True, text=True, check=True,
                                 cwd=ROOT, env={**os.environ, **env})
            walls.append(time.perf_counter() - t0)
            reported.append(json.loads(out.stdout)["timings"]["total_s"])
        return walls, reported

    walls, reported = run({})
    torch_walls, _ = run({"QA_EMBEDDER__BACKEND": "torch"})
    ref = statistics.median(torch_walls)
    return Section("Cold start", f"`qa ask --json \"{QUESTION}\"` in a new process: imports, loading both models "
                   "and the index, then one answer.", [
                       Figure("process start to printed answer", walls, "s", f"the same with the torch embedder "
                              f"(before): {fmt(ref)} s",
                              f"{statistics.median(walls) / ref:.2f}× before"),
                       Figure("of which answering (as the answer reports it)", reported, "s"),
                   ])


# -- warm answers -----------------------------------------------------------------------------------
def warm_answers(assistant, repeats: int, bench=None, replay=None, replay_translation=None,
                 chunks: int = 5) -> tuple[Section, Section, dict]:
    """`replay(stats)` (eval.llama_bench.Replay) decodes each answer's tokens again through llama.cpp right
    after it: the pair is a second apart; `replay_translation` does the same for the question's translation.
    `bench(p, n, d)` runs llama-bench for a prompt of p tokens at depth d and n generated tokens. It runs right
    before and after every chunk of about 1/`chunks` of the questions, with that chunk's median shape (known
    from the first pass: answers are greedy), and each chunk's speed is compared with the mean of the two:
    this machine's speed drifts by 10–15% within a minute, so a ratio must pair figures measured seconds
    apart."""
    from eval.gold import load_gold
    from qa.core.records import ANSWER

    gold = load_gold()
    assistant.warm_up()
    stage = {k: [] for k in ("rewrite", "translate", "embed+search", "prompt", "generate", "verify")}
    first, total, p50_first, p50_total, floors = [], [], [], [], []
    prompt_tok, prompt_wall, prompt_llama, gen_tok, gen_wall, gen_llama, reused = [], [], [], [], [], [], []
    pp_ratio, tg_ratio, bench_runs, pp_runs, tg_runs = [], [], [], [], []
    replayed: list[Replayed] = []
    translated: list[Replayed] = []
    chunk_no = 0
    rp_pp_bench, rp_tg_bench = [], []
    size = -(-len(gold) // chunks)
    shapes: dict[int, tuple[int, int, int]] = {}
    for run in range(repeats):
        run_first, run_total = [], []
        mark = len(prompt_tok)
        for start in range(0, len(gold), size):
            chunk = len(prompt_tok)
            before = bench(*shapes[start]) if bench is not None and start in shapes else None
            for q in gold[start:start + size]:
                conversation = assistant.conversation()
                for earlier in q.turns:
                    conversation = conversation.then(earlier, assistant.ask(earlier, conversation).text)
                a = assistant.ask(q.question, conversation)
                t = a.timings
                run_first.append(t.first_token_s)
                run_total.append(t.total_s)
                stage["rewrite"].append(t.rewrite_s)
                stage["translate"].append(t.translate_s)
                stage["embed+search"].append(t.retrieve_s)
                stage["verify"].append(t.verify_s)
                g = next((x for x in a.generations if x.step == ANSWER), None)
                floor_tokens = []
                if g is not None:
                    stage["prompt"].append(g.wall_first_token_s)
                    stage["generate"].append(g.wall_total_s - g.wall_first_token_s)
                    prompt_tok.append(g.prompt_tokens)
                    prompt_wall.append(g.wall_first_token_s)
                    prompt_llama.append(g.prompt_ms / 1000)
                    gen_tok.append(g.generated_tokens)
                    gen_wall.append(g.wall_total_s - g.wall_first_token_s)
                    gen_llama.append(g.generate_ms / 1000)
                    reused.append(g.reused_tokens)
                    floor_tokens.append((g.prompt_tokens, g.generated_tokens))
                    replayed += Replayed.of(run, chunk_no, g, replay)
                tr = next((x for x in reversed(a.generations) if x.step != ANSWER), None)
                if tr is not None:
                    floor_tokens.append((tr.prompt_tokens, tr.generated_tokens))
                    translated += Replayed.of(run, chunk_no, tr, replay_translation)
                floors.append(floor_tokens)
            if bench is not None and len(prompt_tok) > chunk:
                shape = (int(statistics.median(prompt_tok[chunk:])), int(statistics.median(gen_tok[chunk:])),
                         int(statistics.median(reused[chunk:])))
                shapes.setdefault(start, shape)
                rates = bench(*shape)
                if before is not None:
                    rates = {**rates, "pp": (rates["pp"] + before["pp"]) / 2, "tg": (rates["tg"] + before["tg"]) / 2}
                bench_runs.append(rates)
                pp_ratio.append(sum(prompt_tok[chunk:]) / max(sum(prompt_wall[chunk:]), 1e-9) / rates["pp"])
                tg_ratio.append(sum(gen_tok[chunk:]) / max(sum(gen_wall[chunk:]), 1e-9) / rates["tg"])
                mine = [r for r in replayed if r.chunk == chunk_no]
                if mine:
                    rp_pp_bench.append(Replayed.rate(mine, "prompt", "replay") / rates["pp"])
                    rp_tg_bench.append(Replayed.rate(mine, "gen", "replay") / rates["tg"])
            chunk_no += 1
        first += run_first
        total += run_total
        pp_runs.append(sum(prompt_tok[mark:]) / max(sum(prompt_wall[mark:]), 1e-9))
        tg_runs.append(sum(gen_tok[mark:]) / max(sum(gen_wall[mark:]), 1e-9))
        p50_first.append(statistics.median(run_first))
        p50_total.append(statistics.median(run_total))
    n = len(gold)
    floor_note = ""
    if bench_runs:
        pp_ref = statistics.median(r["pp"] for r in bench_runs)
        tg_ref = statistics.median(r["tg"] for r in bench_runs)
        seconds = [sum(p / pp_ref + g / tg_ref for p, g in f) for f in floors]
        floor_note = (f"llama-bench's speed for the same tokens (translation and answer, median): "
                      f"{fmt(statistics.median(seconds))} s")
    answers = Section(
        "Warm answers",
        f"All {n} gold questions (eval/gold.jsonl; a multi-turn question's earlier turns are asked first and not "
        f"counted), {repeats} runs in one process with models and index loaded. p50/p95 are over the questions of "
        "one run; the spread is over runs.", [
            Figure("time to first token, p50", p50_first, "s", "target ≤ 0.5 s",
                   f"{statistics.median(p50_first) / 0.5:.2f}× target"),
            Figure("time to first token, p95", [percentile(first, 95)], "s"),
            Figure("checked answer, p50", p50_total, "s", "target ≤ 1.2 s" + (f"; {floor_note}" if floor_note else ""),
                   f"{statistics.median(p50_total) / 1.2:.2f}× target"),
            Figure("checked answer, p95", [percentile(total, 95)], "s"),
        ])
    for name, values in stage.items():
        if values:
            answers.figures.append(Figure(f"stage: {name}, p50 (p95 {fmt(percentile(values, 95))} s)",
                                          [statistics.median(values)], "s"))
    throughput = Section("Generation speed through the assistant",
                         "Tokens per second as the assistant's caller sees them (wall time around "
                         "llama-cpp-python's streaming call): prompt tokens over the time until the first token is "
                         "chosen, then the single-token decodes over the time after it (the first token comes from "
                         "the prompt's logits, so an answer of n+1 tokens is n decodes, as llama-bench's `-n n` "
                         "times n decodes). Two references, both llama.cpp on the same model and threads:\n\n"
                         "- **the same tokens replayed** (eval/llama_bench.py `Replay`): right after each answer, "
                         "its evaluated prompt tokens and its generated tokens are decoded again through llama.cpp's "
                         "C API (`llama_decode` and `llama_synchronize`, as llama-bench times them) in a context set "
                         "up as llama-bench sets up its own, after the same reused prefix (evaluated untimed). "
                         "Each pair is a second apart and holds the same tokens, so the ratio is the replay's "
                         "seconds over ours; it is given per pass (median and spread) and per chunk of about a "
                         "fifth of the questions (spread).\n"
                         "- **llama-bench** (random tokens, another process): it runs right before and after every "
                         "chunk, with that chunk's median prompt size, cache depth and answer length, and each chunk "
                         "is compared with the mean of the two (in the first pass, which learns the shapes: after "
                         "only); the ratio is the median over chunks, with its spread. Its runs are seconds away "
                         "on a machine whose speed drifts, so this pairing is the looser one; two rows compare the "
                         "replay itself with llama-bench in the same chunks. The question's translation (the same "
                         "code path, the translator's own model instance) is replayed too.")
    summary = {"first_p50": statistics.median(p50_first), "total_p50": statistics.median(p50_total),
               "search_p50": statistics.median(stage["embed+search"])}
    if prompt_tok:
        pp_inside = sum(prompt_tok) / sum(prompt_llama)
        tg_inside = sum(gen_tok) / sum(gen_llama) if sum(gen_llama) else 0.0
        pp_fig = Figure("prompt evaluation", pp_runs, "tokens/s", f"llama.cpp's counters in the same calls: "
                        f"{fmt(pp_inside)}")
        tg_fig = Figure("generation", tg_runs, "tokens/s", f"llama.cpp's counters in the same calls: "
                        f"{fmt(tg_inside)}")
        summary.update(pp=statistics.median(pp_runs), tg=statistics.median(tg_runs))
        ratios: dict[str, list[str]] = {"pp": [], "tg": []}
        if replayed:
            for fig, part, name in ((pp_fig, "prompt", "pp"), (tg_fig, "gen", "tg")):
                passes = [Replayed.ratio(rows, part) for rows in Replayed.groups(replayed, "run")]
                per_chunk = [Replayed.ratio(rows, part) for rows in Replayed.groups(replayed, "chunk")]
                fig.reference = (f"the same tokens replayed: {fmt(Replayed.rate(replayed, part, 'replay'))}; "
                                 + fig.reference)
                ratios[name].append(f"**{statistics.median(passes):.2f}× the replay** (passes {fmt(min(passes))}–"
                                    f"{fmt(max(passes))}; chunks {fmt(min(per_chunk))}–{fmt(max(per_chunk))})")
                summary[f"{name}_replay"] = statistics.median(passes)
        if bench_runs:
            for fig, key, bench_ratios in ((pp_fig, "pp", pp_ratio), (tg_fig, "tg", tg_ratio)):
                ref = [r[key] for r in bench_runs]
                fig.reference += (f"; llama-bench: {fmt(statistics.median(ref))} ({fmt(min(ref))}–{fmt(max(ref))}, "
                                  f"{len(ref)} chunks)")
                ratios[key].append(f"{statistics.median(bench_ratios):.2f}× llama-bench "
                                   f"({fmt(min(bench_ratios))}–{fmt(max(bench_ratios))})")
            summary.update(pp_ratio=statistics.median(pp_ratio), tg_ratio=statistics.median(tg_ratio))
        pp_fig.ratio, tg_fig.ratio = "; ".join(ratios["pp"]), "; ".join(ratios["tg"])
        throughput.figures += [pp_fig, tg_fig]
        if rp_pp_bench:
            for what, values in (("the replay's prompt evaluation", rp_pp_bench),
                                 ("the replay's generation", rp_tg_bench)):
                throughput.figures.append(Figure(
                    f"{what} against llama-bench, per chunk", values, "×",
                    "llama-bench in the same chunks (1× is the same speed)"))
        for part, what in (("prompt", "prompt evaluation"), ("gen", "generation")) if translated else ():
            passes = [Replayed.ratio(rows, part) for rows in Replayed.groups(translated, "run")]
            ours = [Replayed.rate(rows, part, "ours") for rows in Replayed.groups(translated, "run")]
            throughput.figures.append(Figure(
                f"the question's translation: {what}", ours, "tokens/s",
                f"the same tokens replayed: {fmt(Replayed.rate(translated, part, 'replay'))}",
                f"{statistics.median(passes):.2f}× the replay (passes {fmt(min(passes))}–{fmt(max(passes))})"))
        throughput.extra = (
            f"Per answer (median): {statistics.median(prompt_tok):.0f} prompt tokens evaluated, "
            f"{statistics.median(reused):.0f} reused from the previous prompt's state (the instructions and worked "
            f"examples, evaluated once per process), {statistics.median(gen_tok):.0f} decoded after the first token.")
        if replayed:
            same = sum(r.same_first_token for r in replayed)
            throughput.extra += (f" {len(replayed)} answers were replayed; in {same} of them the replay's prompt "
                                 "logits gave the answer's first token the logit the answer saw (within 1%), as the "
                                 "same tokens at the same positions should (the reused state may have been built in "
                                 "other batches).")
        if bench_runs:
            r = bench_runs[-1]
            throughput.extra += (f" The last llama-bench ran `-p {r['p']} -n {r['n']} -d {r['d']} -t {r['threads']} "
                                 f"-r {r['repetitions']}`.")
    return answers, throughput, summary



# -- retrieval and indexing --------------------------------------------------------------------------
def plain_model(assistant):
    """The reference: the same folder in plain sentence-transformers."""
    from sentence_transformers import SentenceTransformer

    from qa.models import embedder_path, offline

    offline()
    return SentenceTransformer(str(embedder_path(assistant.settings)), device="cpu", local_files_only=True)


def retrieval(assistant, repeats: int, plain_st) -> tuple[Section, dict]:
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
            v = plain_st.encode_query(queries, normalize_embeddings=True, convert_to_numpy=True)
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
                             f"sentence-transformers `encode` + numpy dot product of the same queries: {fmt(ref)} ms",
                             f"{statistics.median(both) * 1000 / ref:.2f}× plain"),
                      Figure("embed + search, p95", [percentile(ms(both), 95)], "ms"),
                      Figure("of which embedding, p50", [statistics.median(ms(embed))], "ms"),
                      Figure("of which search and evidence, p50", [statistics.median(ms(search))], "ms"),
                  ])
    sec.figures.append(Figure("embedding the question alone, p50", [statistics.median(ms(single))], "ms"))
    return sec, {"embed_ms": statistics.median(ms(single))}


def indexing(assistant, repeats: int, plain_st) -> Section:
    """Re-embeds and writes the bundled corpus in-process, against plain `encode` of the same texts."""
    import tempfile

    from qa.assistant import Assistant

    settings = assistant.settings
    walls, plain, unchanged = [], [], []
    chunks, documents = assistant.chunks(), assistant.documents()
    texts = [c.text for c in chunks] + [d.text[s.start : s.end] for d in documents.values() for s in d.sentences]
    n_chunks = len(chunks)
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
        plain_st.encode_document(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
        plain.append(time.perf_counter() - t0)
    qa = str(Path(sys.executable).parent / "qa")
    cli = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([qa, "index"], capture_output=True, check=True, cwd=ROOT)
        cli.append(time.perf_counter() - t0)
    ours = [n_chunks / w for w in walls]
    ref = [n_chunks / p for p in plain]
    return Section("Indexing", f"The bundled corpus: {len(documents)} articles, {n_chunks} chunks, "
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
    from index.vectors import FaissStore, probe_queries, recall_at
    from qa.core.settings import VectorSettings

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    sec = Section("Search at scale (synthetic vectors)",
                  f"Synthetic unit vectors in clusters (eval/synthetic.py; {dim} dimensions like multilingual-e5-small), "
                  f"{queries} single-vector queries near indexed vectors (not those the nprobe was calibrated on), k = 10. Exact is `IndexFlatIP`; approximate "
                  "is what `vectors.kind = \"auto\"` builds past 100k vectors: `IndexIVFFlat` with its nprobe "
                  "calibrated at build time for recall@10 ≥ 0.95. Dense search only: BM25 needs real text.")
    rows = ["| chunks | index | build s | memory MB | search p50 ms | search p95 ms | recall@10 | "
            "embed + search p50 ms |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in sizes:
        vectors = clustered_vectors(n, dim, seed=n)
        q = probe_queries(vectors, queries, seed=1)
        truth, exact_p50 = None, 0.0
        for kind in ("flat", "ivf"):  # flat first: it is the truth the approximate index is measured against
            t0 = time.perf_counter()
            store = FaissStore.build(vectors, VectorSettings(kind=kind))
            build = time.perf_counter() - t0
            memory = len(faiss.serialize_index(store.index)) / 1e6
            lat, found = [], []
            for row in q:
                t0 = time.perf_counter()
                _, ids = store.search(row[None, :], 10)
                lat.append((time.perf_counter() - t0) * 1000)
                found.append(ids[0])
            found = np.array(found)
            if kind == "flat":
                truth, exact_p50 = found, statistics.median(lat)
            recall = recall_at(found, truth)
            label = "exact" if kind == "flat" else f"IVF {store.index.nlist} lists, nprobe {store.index.nprobe}"
            rows.append(f"| {n:,} | {label} | {build:.1f} | {memory:,.0f} | {statistics.median(lat):.2f} | "
                        f"{percentile(lat, 95):.2f} | {recall:.3f} | {embed_ms + statistics.median(lat):.1f} |")
            if kind == "ivf":
                sec.figures.append(Figure(f"{n:,} chunks: approximate search p50", [statistics.median(lat)], "ms",
                                          f"exact: {exact_p50:.2f} ms",
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
                  {".gguf", ".onnx"}) / 1e6
    return Section("Memory of `qa serve`", "Peak resident memory (VmHWM) of the server process with the default "
                   "models, after start-up and after three answers through the API.", [
                       Figure("after start-up", [after_load], "MB", f"the model files it loads (GGUF, ONNX): {weights:,.0f} MB"),
                       Figure("after three answers", [peak], "MB"),
                   ])


# -- before / after --------------------------------------------------------------------------------
BASELINE = {"embedder": {"backend": "torch"}}


def compare(after: dict, repeats: int) -> Section:
    """The same questions with the torch embedder instead of ONNX Runtime, in the same run."""
    from qa.assistant import Assistant
    from qa.core.settings import load_settings

    base = Assistant(load_settings(**BASELINE))
    _, _, before = warm_answers(base, repeats)
    del base
    rows = ["| figure | before (`embedder.backend=torch`) | after (defaults) | after / before |",
            "| --- | --- | --- | --- |"]
    for key, label, unit in (("first_p50", "time to first token, p50", "s"), ("total_p50", "checked answer, p50", "s"),
                             ("search_p50", "embed + search stage, p50", "s"), ("pp", "prompt tokens/s", ""),
                             ("tg", "generated tokens/s", "")):
        if key in before and key in after:
            rows.append(f"| {label} | {fmt(before[key])} {unit} | {fmt(after[key])} {unit} | "
                        f"{after[key] / before[key]:.2f} |")
    return Section("Before and after", f"The gold questions answered with the torch embedder (before) and with "
                   f"ONNX Runtime (after), in the same run ({repeats} passes each, medians). Greedy decoding without "
                   f"the sampler chain has no switch; see the throughput ratios.", extra="\n".join(rows))


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
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the before/after comparison with the speed settings off")
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t_start = time.perf_counter()
    from qa.assistant import Assistant
    from qa.core.settings import load_settings

    sections = [cold_start(args.repeats)]
    assistant = Assistant(load_settings())
    assistant.index()
    assistant.warm_up()
    bench = None
    if not args.no_llama_bench:
        from eval.llama_bench import bench_for

        bench = bench_for(assistant, log=lambda m: print(m, file=sys.stderr))
    print("warm answers…", file=sys.stderr)
    from eval.llama_bench import Replay

    replays = [Replay(assistant.llm)]
    if assistant.settings.retrieval.translate_queries:
        replays.append(Replay(assistant.translator.llm))
    answers, throughput, after = warm_answers(assistant, args.repeats, bench, *replays)
    for replay in replays:
        replay.close()
    print("retrieval…", file=sys.stderr)
    plain_st = plain_model(assistant)
    search_sec, ctx = retrieval(assistant, args.repeats, plain_st)
    sections += [answers, throughput, search_sec, indexing(assistant, args.repeats, plain_st)]
    del plain_st
    del assistant
    if args.baseline:
        print("baseline…", file=sys.stderr)
        sections.insert(1, compare(after, args.repeats))
    print("search at scale…", file=sys.stderr)
    sections.append(search_scaling([int(s) for s in args.sizes.split(",") if s], ctx["embed_ms"]))
    print("qa serve…", file=sys.stderr)
    sections.append(serve_memory())
    args.out.write_text(render(sections, started, time.perf_counter() - t_start, args.repeats), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
