"""The warm-answer benchmark's figures, computed from hand-made samples; and its measuring loop on a fake
assistant: one sample per question per pass, llama-bench paired with each chunk."""

from dataclasses import dataclass

import pytest

from eval.bench.answers import answers_section, measure, speed, speed_section, summary, translation_speed
from eval.bench.records import (
    GENERATION,
    PROMPT,
    Completion,
    LlamaBench,
    Part,
    Sample,
    against_replay,
    benched_chunks,
    by_chunk,
    by_run,
    counted,
    floors,
    ours,
    p50_per_run,
    pass_rates,
    replay_rate,
    shape,
    stages,
)
from eval.gold import load_gold
from qa.core.records import ANSWER, ANSWER_TRANSLATION, QUESTION_TRANSLATION, GenerationStats, Timings

FLAGS = "-p 100 -n 10 -d 200 -t 2 -r 5"


def answer(prompt_s: float, replay_s: float | None, tokens: int = 100, reused: int = 200,
           same: bool = True) -> Completion:
    """`tokens` prompt tokens in `prompt_s` (counted 0.25 s), then 10 decodes in 0.125 s (replayed in as long)."""
    if replay_s is None:
        return Completion(Part(tokens, prompt_s, 0.25), Part(10, 0.125, 0.125), reused)
    return Completion(Part(tokens, prompt_s, 0.25, replay_s), Part(10, 0.125, 0.125, 0.125), reused, same)


def samples() -> list[Sample]:
    """Two passes of two chunks; the last chunk's question was refused without the model, so no llama-bench."""
    translation = Completion(Part(100, 0.125, 0.125, 0.0625), Part(20, 0.25, 0.25, 0.25), 0, True)
    return [
        Sample(0, 0, Timings(retrieve_s=0.5, first_token_s=0.25, total_s=1.0), answer(0.5, 0.25), translation,
               LlamaBench(400, 80, "first")),
        Sample(0, 1, Timings(retrieve_s=0.25, first_token_s=0.75, total_s=2.0), answer(0.5, 1.0, same=False),
               bench=LlamaBench(200, 80, "second")),
        Sample(1, 0, Timings(retrieve_s=1.0, first_token_s=0.5, total_s=1.0), answer(0.25, 0.5),
               bench=LlamaBench(800, 80, FLAGS)),
        Sample(1, 1, Timings(retrieve_s=0.0, first_token_s=1.0, total_s=3.0)),
    ]


def test_a_completion_keeps_the_answers_seconds_beside_its_replays():
    stats = GenerationStats(56, 224, 9, prompt_ms=80.0, generate_ms=100.0, wall_first_token_s=0.125,
                            wall_total_s=0.375, step=ANSWER)
    done = Completion.of(stats, {"prompt_s": 0.1, "generate_s": 0.2, "same_first_token": False})
    assert done == Completion(Part(56, 0.125, 0.08, 0.1), Part(9, 0.25, 0.1, 0.2), 224, False)
    assert Completion.of(stats) == Completion(Part(56, 0.125, 0.08), Part(9, 0.25, 0.1), 224, None)


def test_llama_bench_around_a_chunk_is_the_mean_of_its_runs_before_and_after():
    after = {"pp": 600.0, "tg": 90.0, "p": 48, "n": 14, "d": 224, "threads": 2, "repetitions": 5}
    assert LlamaBench.around(after, {**after, "pp": 800.0, "tg": 70.0}) == LlamaBench(
        700.0, 80.0, "-p 48 -n 14 -d 224 -t 2 -r 5")
    assert LlamaBench.around(after, None) == LlamaBench(600.0, 90.0, "-p 48 -n 14 -d 224 -t 2 -r 5")


def test_samples_are_grouped_per_pass_and_per_chunk_in_order():
    a, b, c, d = samples()
    assert by_run([d, a, c, b]) == [[a, b], [d, c]]
    assert by_chunk([d, a, c, b]) == [[a], [b], [c], [d]]
    assert by_chunk([a, Sample(0, 0, Timings()), b]) == [[a, Sample(0, 0, Timings())], [b]]


def test_rates_are_tokens_over_seconds_of_the_whole_group():
    parts = [Part(100, 0.5, 0.25, 0.25), Part(300, 0.5, 0.75, 0.75)]
    assert ours(parts) == 400.0
    assert counted(parts) == 400.0
    assert replay_rate(parts) == 400.0
    assert against_replay([Part(100, 0.5, 0.25, 0.25)]) == 0.5
    assert counted([Part(10, 0.5, 0.0)]) == 0.0
    assert ours([]) == 0.0


def test_per_pass_figures():
    s = samples()
    assert pass_rates(s, PROMPT) == [200.0, 400.0]  # pass 1: its refused question has no prompt
    assert pass_rates(s, GENERATION) == [80.0, 80.0]
    assert p50_per_run(s, lambda t: t.first_token_s) == [0.5, 0.75]
    assert p50_per_run(s, lambda t: t.total_s) == [1.5, 2.0]
    assert summary(s) == {"first_p50": 0.625, "total_p50": 1.75, "search_p50": 0.375, "pp": 300.0, "tg": 80.0}


def test_stages_count_the_models_stages_only_where_it_ran():
    found = stages(samples())
    assert found["embed+search"] == [0.5, 0.25, 1.0, 0.0]
    assert found["prompt"] == [0.5, 0.5, 0.25]
    assert found["generate"] == [0.125, 0.125, 0.125]
    assert list(found) == ["rewrite", "translate", "embed+search", "prompt", "generate", "verify"]


def test_llama_bench_runs_with_the_chunks_median_shape():
    s = [Sample(0, 0, Timings(), answer(0.5, None, tokens=t, reused=r)) for t, r in ((40, 100), (51, 300), (60, 7))]
    assert shape([*s, Sample(0, 0, Timings())]) == (51, 10, 100)


def test_llama_benchs_seconds_for_each_samples_tokens():
    s = samples()
    assert [bench.flags for _, bench in benched_chunks(s)] == ["first", "second", FLAGS]
    # at the median rates 400 and 80 tokens/s: 100/400 + 10/80 for an answer, plus 100/400 + 20/80 for a translation
    assert floors(s) == [0.875, 0.375, 0.375, 0.0]


def test_speed_against_the_replay_per_pass_and_chunk_and_against_llama_bench_per_chunk():
    figure = speed(samples(), PROMPT)
    assert figure.what == "prompt evaluation"
    assert figure.values == [200.0, 400.0]
    assert figure.reference == ("the same tokens replayed: 171; llama.cpp's counters in the same calls: 400; "
                                "llama-bench: 400 (200–800, 3 chunks)")
    # against the replay: pass 0 200/160, pass 1 400/200; chunks 200/400, 200/100, 400/200
    # against llama-bench: 200/400, 200/200, 400/800
    assert figure.ratio == ("**1.62× the replay** (passes 1.25–2.00; chunks 0.500–2.00); "
                            "0.50× llama-bench (0.500–1.00)")


def test_speed_without_replays_or_llama_bench_has_only_the_counters():
    plain = [Sample(0, 0, Timings(), answer(0.5, None)), Sample(1, 0, Timings(), answer(0.25, None))]
    figure = speed(plain, PROMPT)
    assert (figure.values, figure.reference, figure.ratio) == (
        [200.0, 400.0], "llama.cpp's counters in the same calls: 400", "")


def test_the_translations_speed_is_over_the_replayed_ones():
    figure = translation_speed(samples(), PROMPT)
    assert figure is not None
    assert (figure.what, figure.values) == ("the question's translation: prompt evaluation", [800.0])
    assert (figure.reference, figure.ratio) == ("the same tokens replayed: 1,600", "0.50× the replay (passes 0.500–0.500)")
    assert translation_speed(samples()[1:], PROMPT) is None


def test_the_speed_section():
    section = speed_section(samples())
    assert [f.what for f in section.figures] == [
        "prompt evaluation", "generation",
        "the replay's prompt evaluation against llama-bench, per chunk",
        "the replay's generation against llama-bench, per chunk",
        "the question's translation: prompt evaluation", "the question's translation: generation",
    ]
    assert section.figures[2].values == [1.0, 0.5, 0.25]
    assert section.figures[3].values == [1.0, 1.0, 1.0]
    assert section.extra == (
        "Per answer (median): 100 prompt tokens evaluated, 200 reused from the previous prompt's state (the "
        "instructions and worked examples, evaluated once per process), 10 decoded after the first token. 3 answers "
        "were replayed; in 2 of them the replay's prompt logits gave the answer's first token the logit the answer "
        "saw (within 1%), as the same tokens at the same positions should (the reused state may have been built in "
        f"other batches). The last llama-bench ran `{FLAGS}`.")
    refused = speed_section([Sample(0, 0, Timings())])
    assert (refused.figures, refused.extra) == ([], "")


def test_the_warm_answers_section():
    section = answers_section(samples())
    assert section.intro.startswith("All 2 gold questions (")
    assert ", 2 runs in one process" in section.intro
    first, first_p95, total, _ = section.figures[:4]
    assert (first.values, first.ratio) == ([0.5, 0.75], "1.25× target")
    assert first_p95.values == [pytest.approx(0.9625)]
    assert (total.values, total.ratio) == ([1.5, 2.0], "1.46× target")
    assert total.reference == ("target ≤ 1.2 s; llama-bench's speed for the same tokens (translation and answer, "
                               "median): 0.375 s")
    assert [f.what for f in section.figures[4:]][3:5] == ["stage: prompt, p50 (p95 0.500 s)",
                                                          "stage: generate, p50 (p95 0.125 s)"]
    assert section.figures[6].values == [0.375]


@dataclass
class FakeAnswer:
    text: str
    timings: Timings
    generations: tuple[GenerationStats, ...]


class FakeConversation:
    def then(self, question, text):
        return self


class FakeAssistant:
    """Every answer: a question translation, the answer (50 prompt tokens, 200 reused, 9 decodes), an answer
    translation."""

    def __init__(self):
        self.asked = 0

    def warm_up(self):
        pass

    def conversation(self):
        return FakeConversation()

    def ask(self, question, conversation):
        self.asked += 1
        stats = GenerationStats(50, 200, 9, 40.0, 90.0, 0.125, 0.25)
        return FakeAnswer("an answer", Timings(total_s=1.0), (
            stats.of_step(QUESTION_TRANSLATION), stats.of_step(ANSWER),
            GenerationStats(12, 0, 3, 10.0, 20.0, 0.5, 1.0, step=ANSWER_TRANSLATION)))


def test_measure_pairs_llama_bench_with_every_chunk_and_replays_every_completion():
    calls, replayed = [], []

    def bench(p, n, d):
        calls.append((p, n, d))
        return {"pp": 100.0 * len(calls), "tg": 10.0, "p": p, "n": n, "d": d, "threads": 2, "repetitions": 5}

    def replay(stats):
        replayed.append(stats.step)
        return {"prompt_s": 0.5, "generate_s": 0.25, "same_first_token": True}

    fake = FakeAssistant()
    done = measure(fake, 2, bench, replay, replay)
    gold = load_gold()
    assert len(done) == 2 * len(gold)
    assert fake.asked == 2 * sum(1 + len(q.turns) for q in gold)
    assert [(s.run, s.chunk) for s in done[:12:11]] == [(0, 0), (0, 1)]
    assert len(by_chunk(done)) == 10
    # the first pass learns each chunk's shape and runs llama-bench after it; the second runs it before and after
    assert calls == [(50, 9, 200)] * 15
    assert [s.bench.pp for s in by_chunk(done)[0]] == [100.0] * 11
    assert {s.bench.pp for s in by_chunk(done)[5]} == {(600.0 + 700.0) / 2}
    assert replayed == [ANSWER, ANSWER_TRANSLATION] * len(done)
    first = done[0]
    assert first.answer == Completion(Part(50, 0.125, 0.04, 0.5), Part(9, 0.125, 0.09, 0.25), 200, True)
    assert first.translation == Completion(Part(12, 0.5, 0.01, 0.5), Part(3, 0.5, 0.02, 0.25), 0, True)
