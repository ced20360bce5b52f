"""The warm-answer benchmark's records, one `Sample` per gold question per pass, and the small functions that
turn a list of them into the figures' values (eval/README.md, "Benchmarks")."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

from qa.core.records import GenerationStats, Timings


@dataclass(frozen=True)
class Part:
    """The prompt's evaluation, or the decodes after the first token, of one completion: its tokens, and their
    seconds as the assistant's caller waited (`wall_s`), as llama.cpp's counters say (`counted_s`) and when
    decoded again by the replay (`replay_s`; None when it was not replayed)."""

    tokens: int
    wall_s: float
    counted_s: float
    replay_s: float | None = None


@dataclass(frozen=True)
class Completion:
    """One completion of the model, evaluated after `reused` tokens of the previous prompt's state.
    `same_first_token`: the replay's prompt logits gave the first token the logit the completion saw (None when
    it was not replayed)."""

    prompt: Part
    decodes: Part
    reused: int
    same_first_token: bool | None = None

    @staticmethod
    def of(stats: GenerationStats, replay: dict | None = None) -> Completion:
        """`stats` with what `eval.llama_bench.Replay` returned for it."""
        r = replay or {}
        decodes_s = stats.wall_total_s - stats.wall_first_token_s
        return Completion(
            Part(stats.prompt_tokens, stats.wall_first_token_s, stats.prompt_ms / 1000, r.get("prompt_s")),
            Part(stats.generated_tokens, decodes_s, stats.generate_ms / 1000, r.get("generate_s")),
            stats.reused_tokens,
            r.get("same_first_token"),
        )


@dataclass(frozen=True)
class LlamaBench:
    """llama-bench around one chunk of questions: prompt (`pp`) and generation (`tg`) tokens per second, the mean
    of its runs right before and right after the chunk (after only, while the chunk's shape is unknown), and the
    flags of the run after it."""

    pp: float
    tg: float
    flags: str

    @staticmethod
    def around(after: dict, before: dict | None) -> LlamaBench:
        """From what `eval.llama_bench.bench_for`'s `bench` returned after the chunk and before it."""
        flags = f"-p {after['p']} -n {after['n']} -d {after['d']} -t {after['threads']} -r {after['repetitions']}"
        if before is None:
            return LlamaBench(after["pp"], after["tg"], flags)
        return LlamaBench((after["pp"] + before["pp"]) / 2, (after["tg"] + before["tg"]) / 2, flags)


@dataclass(frozen=True)
class Sample:
    """One gold question answered in one pass (`run`), in the `chunk`-th chunk of the questions: its timings by
    stage, its answer's completion and its last translation's (None when the model did not run), and llama-bench
    around its chunk (None without llama-bench)."""

    run: int
    chunk: int
    timings: Timings
    answer: Completion | None = None
    translation: Completion | None = None
    bench: LlamaBench | None = None

    @property
    def completions(self) -> tuple[Completion, ...]:
        return tuple(c for c in (self.answer, self.translation) if c is not None)


@dataclass(frozen=True)
class Side:
    """The prompt's evaluation or the generation: where a completion and llama-bench hold it."""

    what: str
    of: Callable[[Completion], Part]
    bench: Callable[[LlamaBench], float]


PROMPT = Side("prompt evaluation", lambda c: c.prompt, lambda b: b.pp)
GENERATION = Side("generation", lambda c: c.decodes, lambda b: b.tg)


def by_run(samples: Iterable[Sample]) -> list[list[Sample]]:
    """The samples of each pass, in order."""
    return _groups(samples, lambda s: s.run)


def by_chunk(samples: Iterable[Sample]) -> list[list[Sample]]:
    """The samples of each chunk of each pass, in order."""
    return _groups(samples, lambda s: (s.run, s.chunk))


def _groups(samples: Iterable[Sample], key: Callable[[Sample], Hashable]) -> list[list[Sample]]:
    groups: dict = {}
    for s in samples:
        groups.setdefault(key(s), []).append(s)
    return [groups[k] for k in sorted(groups)]


def answers(samples: Iterable[Sample]) -> list[Completion]:
    return [s.answer for s in samples if s.answer is not None]


def parts(samples: Iterable[Sample], side: Side, translation: bool = False) -> list[Part]:
    """The `side` of each answer (or translation) the model ran for."""
    completions = (s.translation if translation else s.answer for s in samples)
    return [side.of(c) for c in completions if c is not None]


def replayed(parts: Iterable[Part]) -> list[Part]:
    return [p for p in parts if p.replay_s is not None]


def replayed_groups(groups: Iterable[list[Sample]], side: Side, translation: bool = False) -> list[list[Part]]:
    """The replayed parts of each group of samples that has some."""
    return [done for group in groups if (done := replayed(parts(group, side, translation)))]


def ours(parts: Sequence[Part]) -> float:
    """Tokens per second as the assistant's caller waited for them."""
    return _per_second(parts, [p.wall_s for p in parts])


def replay_rate(parts: Sequence[Part]) -> float:
    """Tokens per second of the same tokens replayed."""
    return _per_second(parts, [p.replay_s or 0.0 for p in parts])


def counted(parts: Sequence[Part]) -> float:
    """Tokens per second by llama.cpp's counters in the same calls (0 if they counted no time)."""
    seconds = sum(p.counted_s for p in parts)
    return sum(p.tokens for p in parts) / seconds if seconds else 0.0


def against_replay(parts: Sequence[Part]) -> float:
    """Our speed over the replay's: the same tokens, so the replay's seconds over ours."""
    return ours(parts) / replay_rate(parts)


def _per_second(parts: Sequence[Part], seconds: list[float]) -> float:
    return sum(p.tokens for p in parts) / max(sum(seconds), 1e-9)


def pass_rates(samples: Iterable[Sample], side: Side) -> list[float]:
    """Our tokens per second for the answers of each pass."""
    return [ours(parts(run, side)) for run in by_run(samples)]


def p50_per_run(samples: Iterable[Sample], seconds: Callable[[Timings], float]) -> list[float]:
    return [statistics.median(seconds(s.timings) for s in run) for run in by_run(samples)]


def stages(samples: Sequence[Sample]) -> dict[str, list[float]]:
    """Each stage's seconds, over every sample; the prompt and the generation over those the model answered."""
    timings = [s.timings for s in samples]
    done = answers(samples)
    return {
        "rewrite": [t.rewrite_s for t in timings],
        "translate": [t.translate_s for t in timings],
        "embed+search": [t.retrieve_s for t in timings],
        "prompt": [c.prompt.wall_s for c in done],
        "generate": [c.decodes.wall_s for c in done],
        "verify": [t.verify_s for t in timings],
    }


def shape(samples: Iterable[Sample]) -> tuple[int, int, int]:
    """llama-bench's `-p`, `-n` and `-d` for a chunk: its answers' median prompt, decodes and reused tokens."""
    done = answers(samples)
    return (
        int(statistics.median(c.prompt.tokens for c in done)),
        int(statistics.median(c.decodes.tokens for c in done)),
        int(statistics.median(c.reused for c in done)),
    )


def benched_chunks(samples: Iterable[Sample]) -> list[tuple[list[Sample], LlamaBench]]:
    """Each chunk llama-bench ran around, with its rates."""
    return [(chunk, bench) for chunk in by_chunk(samples) if (bench := chunk[0].bench) is not None]


def floors(samples: Sequence[Sample]) -> list[float]:
    """Per sample, llama-bench's seconds for its tokens (the translation's and the answer's) at its median rates
    over the chunks."""
    benches = [bench for _, bench in benched_chunks(samples)]
    pp = statistics.median(b.pp for b in benches)
    tg = statistics.median(b.tg for b in benches)
    return [sum(c.prompt.tokens / pp + c.decodes.tokens / tg for c in s.completions) for s in samples]
