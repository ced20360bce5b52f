"""The warm-answer benchmark: every gold question answered in one process, its stages, and the generation speed
through the assistant against llama.cpp (eval/README.md, "Benchmarks")."""

from __future__ import annotations

import statistics
from typing import NamedTuple

from eval.bench.report import Figure, Section, fmt
from eval.metrics import percentile


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
        return [
            Replayed(
                run,
                chunk,
                stats.prompt_tokens,
                stats.generated_tokens,
                stats.wall_first_token_s,
                stats.wall_total_s - stats.wall_first_token_s,
                r["prompt_s"],
                r["generate_s"],
                r["same_first_token"],
            )
        ]

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


def warm_answers(
    assistant, repeats: int, bench=None, replay=None, replay_translation=None, chunks: int = 5
) -> tuple[Section, Section, dict]:
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
            for q in gold[start : start + size]:
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
                shape = (
                    int(statistics.median(prompt_tok[chunk:])),
                    int(statistics.median(gen_tok[chunk:])),
                    int(statistics.median(reused[chunk:])),
                )
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
        floor_note = (
            f"llama-bench's speed for the same tokens (translation and answer, median): "
            f"{fmt(statistics.median(seconds))} s"
        )
    answers = Section(
        "Warm answers",
        f"All {n} gold questions (eval/gold.jsonl; a multi-turn question's earlier turns are asked first and not "
        f"counted), {repeats} runs in one process with models and index loaded. p50/p95 are over the questions of "
        "one run; the spread is over runs.",
        [
            Figure(
                "time to first token, p50",
                p50_first,
                "s",
                "target ≤ 0.5 s",
                f"{statistics.median(p50_first) / 0.5:.2f}× target",
            ),
            Figure("time to first token, p95", [percentile(first, 95)], "s"),
            Figure(
                "checked answer, p50",
                p50_total,
                "s",
                "target ≤ 1.2 s" + (f"; {floor_note}" if floor_note else ""),
                f"{statistics.median(p50_total) / 1.2:.2f}× target",
            ),
            Figure("checked answer, p95", [percentile(total, 95)], "s"),
        ],
    )
    for name, values in stage.items():
        if values:
            answers.figures.append(
                Figure(f"stage: {name}, p50 (p95 {fmt(percentile(values, 95))} s)", [statistics.median(values)], "s")
            )
    throughput = Section(
        "Generation speed through the assistant",
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
        "code path, the translator's own model instance) is replayed too.",
    )
    summary = {
        "first_p50": statistics.median(p50_first),
        "total_p50": statistics.median(p50_total),
        "search_p50": statistics.median(stage["embed+search"]),
    }
    if prompt_tok:
        pp_inside = sum(prompt_tok) / sum(prompt_llama)
        tg_inside = sum(gen_tok) / sum(gen_llama) if sum(gen_llama) else 0.0
        pp_fig = Figure(
            "prompt evaluation", pp_runs, "tokens/s", f"llama.cpp's counters in the same calls: {fmt(pp_inside)}"
        )
        tg_fig = Figure("generation", tg_runs, "tokens/s", f"llama.cpp's counters in the same calls: {fmt(tg_inside)}")
        summary.update(pp=statistics.median(pp_runs), tg=statistics.median(tg_runs))
        ratios: dict[str, list[str]] = {"pp": [], "tg": []}
        if replayed:
            for fig, part, name in ((pp_fig, "prompt", "pp"), (tg_fig, "gen", "tg")):
                passes = [Replayed.ratio(rows, part) for rows in Replayed.groups(replayed, "run")]
                per_chunk = [Replayed.ratio(rows, part) for rows in Replayed.groups(replayed, "chunk")]
                fig.reference = (
                    f"the same tokens replayed: {fmt(Replayed.rate(replayed, part, 'replay'))}; " + fig.reference
                )
                ratios[name].append(
                    f"**{statistics.median(passes):.2f}× the replay** (passes {fmt(min(passes))}–"
                    f"{fmt(max(passes))}; chunks {fmt(min(per_chunk))}–{fmt(max(per_chunk))})"
                )
                summary[f"{name}_replay"] = statistics.median(passes)
        if bench_runs:
            for fig, key, bench_ratios in ((pp_fig, "pp", pp_ratio), (tg_fig, "tg", tg_ratio)):
                ref = [r[key] for r in bench_runs]
                fig.reference += (
                    f"; llama-bench: {fmt(statistics.median(ref))} ({fmt(min(ref))}–{fmt(max(ref))}, {len(ref)} chunks)"
                )
                ratios[key].append(
                    f"{statistics.median(bench_ratios):.2f}× llama-bench "
                    f"({fmt(min(bench_ratios))}–{fmt(max(bench_ratios))})"
                )
            summary.update(pp_ratio=statistics.median(pp_ratio), tg_ratio=statistics.median(tg_ratio))
        pp_fig.ratio, tg_fig.ratio = "; ".join(ratios["pp"]), "; ".join(ratios["tg"])
        throughput.figures += [pp_fig, tg_fig]
        if rp_pp_bench:
            for what, values in (
                ("the replay's prompt evaluation", rp_pp_bench),
                ("the replay's generation", rp_tg_bench),
            ):
                throughput.figures.append(
                    Figure(
                        f"{what} against llama-bench, per chunk",
                        values,
                        "×",
                        "llama-bench in the same chunks (1× is the same speed)",
                    )
                )
        for part, what in (("prompt", "prompt evaluation"), ("gen", "generation")) if translated else ():
            passes = [Replayed.ratio(rows, part) for rows in Replayed.groups(translated, "run")]
            ours = [Replayed.rate(rows, part, "ours") for rows in Replayed.groups(translated, "run")]
            throughput.figures.append(
                Figure(
                    f"the question's translation: {what}",
                    ours,
                    "tokens/s",
                    f"the same tokens replayed: {fmt(Replayed.rate(translated, part, 'replay'))}",
                    f"{statistics.median(passes):.2f}× the replay (passes {fmt(min(passes))}–{fmt(max(passes))})",
                )
            )
        throughput.extra = (
            f"Per answer (median): {statistics.median(prompt_tok):.0f} prompt tokens evaluated, "
            f"{statistics.median(reused):.0f} reused from the previous prompt's state (the instructions and worked "
            f"examples, evaluated once per process), {statistics.median(gen_tok):.0f} decoded after the first token."
        )
        if replayed:
            same = sum(r.same_first_token for r in replayed)
            throughput.extra += (
                f" {len(replayed)} answers were replayed; in {same} of them the replay's prompt "
                "logits gave the answer's first token the logit the answer saw (within 1%), as the "
                "same tokens at the same positions should (the reused state may have been built in "
                "other batches)."
            )
        if bench_runs:
            r = bench_runs[-1]
            throughput.extra += (
                f" The last llama-bench ran `-p {r['p']} -n {r['n']} -d {r['d']} -t {r['threads']} "
                f"-r {r['repetitions']}`."
            )
    return answers, throughput, summary
