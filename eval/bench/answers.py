"""Warm answers: every gold question answered in one process, one `Sample` each per pass, then the sections
"Warm answers" and "Generation speed through the assistant" from the samples. Why the speed is paired with
replays and with llama-bench per chunk of questions: eval/README.md, "Benchmarks"."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from eval.bench.records import (
    GENERATION,
    PROMPT,
    Completion,
    LlamaBench,
    Sample,
    Side,
    against_replay,
    answers,
    benched_chunks,
    by_chunk,
    by_run,
    counted,
    floors,
    ours,
    p50_per_run,
    parts,
    pass_rates,
    replay_rate,
    replayed,
    replayed_groups,
    shape,
    stages,
)
from eval.bench.report import Figure, Section, fmt
from eval.metrics import percentile
from qa.core.records import ANSWER, GenerationStats

if TYPE_CHECKING:
    from eval.gold import GoldQuestion
    from qa.assistant import Assistant

Bench = Callable[[int, int, int], dict]
Replay = Callable[[GenerationStats], dict | None]

SPEED_INTRO = (
    "Tokens per second as the assistant's caller sees them (wall time around llama-cpp-python's streaming call): "
    "prompt tokens over the time until the first token is chosen, then the single-token decodes over the time "
    "after it (the first token comes from the prompt's logits, so an answer of n+1 tokens is n decodes, as "
    "llama-bench's `-n n` times n decodes). Two references, both llama.cpp on the same model and threads:\n\n"
    "- **the same tokens replayed** (eval/llama_bench.py `Replay`): right after each answer, its evaluated prompt "
    "tokens and its generated tokens are decoded again through llama.cpp's C API (`llama_decode` and "
    "`llama_synchronize`, as llama-bench times them) in a context set up as llama-bench sets up its own, after the "
    "same reused prefix (evaluated untimed). Each pair is a second apart and holds the same tokens, so the ratio "
    "is the replay's seconds over ours; it is given per pass (median and spread) and per chunk of about a fifth "
    "of the questions (spread).\n"
    "- **llama-bench** (random tokens, another process): it runs right before and after every chunk, with that "
    "chunk's median prompt size, cache depth and answer length, and each chunk is compared with the mean of the "
    "two (in the first pass, which learns the shapes: after only); the ratio is the median over chunks, with its "
    "spread. Its runs are seconds away on a machine whose speed drifts, so this pairing is the looser one; two "
    "rows compare the replay itself with llama-bench in the same chunks. The question's translation (the same "
    "code path, the translator's own model instance) is replayed too."
)


def measure(
    assistant: Assistant,
    repeats: int,
    bench: Bench | None = None,
    replay: Replay | None = None,
    replay_translation: Replay | None = None,
    chunks: int = 5,
) -> list[Sample]:
    """Every gold question, `repeats` passes, in `chunks` chunks a pass. `replay` replays each answer right after
    it, `replay_translation` its last translation; `bench(p, n, d)` runs llama-bench right before and after each
    chunk with the chunk's shape (known from the first pass: answers are greedy)."""
    from eval.gold import load_gold

    gold = load_gold()
    assistant.warm_up()
    size = -(-len(gold) // chunks)
    shapes: dict[int, tuple[int, int, int]] = {}
    samples: list[Sample] = []
    for run in range(repeats):
        for chunk, start in enumerate(range(0, len(gold), size)):
            before = bench(*shapes[chunk]) if bench is not None and chunk in shapes else None
            done = [ask(assistant, q, run, chunk, replay, replay_translation) for q in gold[start : start + size]]
            if bench is not None and answers(done):
                now = shape(done)
                shapes.setdefault(chunk, now)
                around = LlamaBench.around(bench(*now), before)
                done = [replace(s, bench=around) for s in done]
            samples += done
    return samples


def ask(
    assistant: Assistant,
    question: GoldQuestion,
    run: int,
    chunk: int,
    replay: Replay | None,
    replay_translation: Replay | None,
) -> Sample:
    """The question after its earlier turns (asked, not measured), and the replays of its completions."""
    conversation = assistant.conversation()
    for earlier in question.turns:
        conversation = conversation.then(earlier, assistant.ask(earlier, conversation).text)
    a = assistant.ask(question.question, conversation)
    answer = next((g for g in a.generations if g.step == ANSWER), None)
    translation = next((g for g in reversed(a.generations) if g.step != ANSWER), None)
    return Sample(run, chunk, a.timings, completion(answer, replay), completion(translation, replay_translation))


def completion(stats: GenerationStats | None, replay: Replay | None) -> Completion | None:
    if stats is None:
        return None
    return Completion.of(stats, replay(stats) if replay is not None else None)


def warm_answers(
    assistant: Assistant,
    repeats: int,
    bench: Bench | None = None,
    replay: Replay | None = None,
    replay_translation: Replay | None = None,
) -> tuple[Section, Section, dict[str, float]]:
    """The two sections, and the `summary` that the before/after comparison reads."""
    samples = measure(assistant, repeats, bench, replay, replay_translation)
    return answers_section(samples), speed_section(samples), summary(samples)


def summary(samples: list[Sample]) -> dict[str, float]:
    """The medians that the before/after table compares."""
    medians = {
        "first_p50": statistics.median(p50_per_run(samples, lambda t: t.first_token_s)),
        "total_p50": statistics.median(p50_per_run(samples, lambda t: t.total_s)),
        "search_p50": statistics.median(s.timings.retrieve_s for s in samples),
    }
    if answers(samples):
        medians.update(
            pp=statistics.median(pass_rates(samples, PROMPT)), tg=statistics.median(pass_rates(samples, GENERATION))
        )
    return medians


def answers_section(samples: list[Sample]) -> Section:
    runs = by_run(samples)
    first = p50_per_run(samples, lambda t: t.first_token_s)
    total = p50_per_run(samples, lambda t: t.total_s)
    total_reference = "target ≤ 1.2 s"
    if benched_chunks(samples):
        total_reference += (
            "; llama-bench's speed for the same tokens (translation and answer, median): "
            f"{fmt(statistics.median(floors(samples)))} s"
        )
    figures = [
        Figure(
            "time to first token, p50", first, "s", "target ≤ 0.5 s", f"{statistics.median(first) / 0.5:.2f}× target"
        ),
        Figure("time to first token, p95", [percentile([s.timings.first_token_s for s in samples], 95)], "s"),
        Figure("checked answer, p50", total, "s", total_reference, f"{statistics.median(total) / 1.2:.2f}× target"),
        Figure("checked answer, p95", [percentile([s.timings.total_s for s in samples], 95)], "s"),
    ]
    figures += [
        Figure(f"stage: {name}, p50 (p95 {fmt(percentile(values, 95))} s)", [statistics.median(values)], "s")
        for name, values in stages(samples).items()
        if values
    ]
    return Section(
        "Warm answers",
        f"All {len(runs[0])} gold questions (eval/gold.jsonl; a multi-turn question's earlier turns are asked first "
        f"and not counted), {len(runs)} runs in one process with models and index loaded. p50/p95 are over the "
        "questions of one run; the spread is over runs.",
        figures,
    )


def speed_section(samples: list[Sample]) -> Section:
    title = "Generation speed through the assistant"
    done = answers(samples)
    if not done:
        return Section(title, SPEED_INTRO)
    sides = (PROMPT, GENERATION)
    figures = [speed(samples, side) for side in sides]
    figures += [f for side in sides if (f := replay_against_bench(samples, side)) is not None]
    figures += [f for side in sides if (f := translation_speed(samples, side)) is not None]
    extra = (
        f"Per answer (median): {statistics.median(c.prompt.tokens for c in done):.0f} prompt tokens evaluated, "
        f"{statistics.median(c.reused for c in done):.0f} reused from the previous prompt's state (the instructions "
        "and worked examples, evaluated once per process), "
        f"{statistics.median(c.decodes.tokens for c in done):.0f} decoded after the first token."
    )
    replays = [c.same_first_token for c in done if c.same_first_token is not None]
    if replays:
        extra += (
            f" {len(replays)} answers were replayed; in {sum(replays)} of them the replay's prompt logits gave the "
            "answer's first token the logit the answer saw (within 1%), as the same tokens at the same positions "
            "should (the reused state may have been built in other batches)."
        )
    benched = benched_chunks(samples)
    if benched:
        extra += f" The last llama-bench ran `{benched[-1][1].flags}`."
    return Section(title, SPEED_INTRO, figures, extra)


def speed(samples: list[Sample], side: Side) -> Figure:
    """Our speed per pass, beside the replay's, llama.cpp's counters' and llama-bench's."""
    all_parts = parts(samples, side)
    references = [f"llama.cpp's counters in the same calls: {fmt(counted(all_parts))}"]
    ratios = []
    if replayed(all_parts):
        passes = [against_replay(p) for p in replayed_groups(by_run(samples), side)]
        chunks = [against_replay(p) for p in replayed_groups(by_chunk(samples), side)]
        references.insert(0, f"the same tokens replayed: {fmt(replay_rate(replayed(all_parts)))}")
        ratios.append(
            f"**{statistics.median(passes):.2f}× the replay** (passes {spread(passes)}; chunks {spread(chunks)})"
        )
    benched = benched_chunks(samples)
    if benched:
        rates = [side.bench(bench) for _, bench in benched]
        against = [ours(parts(chunk, side)) / side.bench(bench) for chunk, bench in benched]
        references.append(f"llama-bench: {fmt(statistics.median(rates))} ({spread(rates)}, {len(rates)} chunks)")
        ratios.append(f"{statistics.median(against):.2f}× llama-bench ({spread(against)})")
    return Figure(side.what, pass_rates(samples, side), "tokens/s", "; ".join(references), "; ".join(ratios))


def replay_against_bench(samples: list[Sample], side: Side) -> Figure | None:
    """The replay's speed over llama-bench's in each chunk both ran in."""
    values = [
        replay_rate(done) / side.bench(bench)
        for chunk, bench in benched_chunks(samples)
        if (done := replayed(parts(chunk, side)))
    ]
    if not values:
        return None
    return Figure(
        f"the replay's {side.what} against llama-bench, per chunk",
        values,
        "×",
        "llama-bench in the same chunks (1× is the same speed)",
    )


def translation_speed(samples: list[Sample], side: Side) -> Figure | None:
    """The replayed translations' speed per pass, beside their replays'."""
    per_pass = replayed_groups(by_run(samples), side, translation=True)
    if not per_pass:
        return None
    passes = [against_replay(p) for p in per_pass]
    return Figure(
        f"the question's translation: {side.what}",
        [ours(p) for p in per_pass],
        "tokens/s",
        f"the same tokens replayed: {fmt(replay_rate(replayed(parts(samples, side, translation=True))))}",
        f"{statistics.median(passes):.2f}× the replay (passes {spread(passes)})",
    )


def spread(values: list[float]) -> str:
    return f"{fmt(min(values))}–{fmt(max(values))}"
