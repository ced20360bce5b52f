"""Before and after: the warm answers' figures with the torch embedder (before) and with the defaults (after)."""

from __future__ import annotations

from eval.bench.answers import measure, summary
from eval.bench.report import Section, fmt

BASELINE = {"embedder": {"backend": "torch"}}


def compare(after: dict[str, float], repeats: int) -> Section:
    """The same questions with the torch embedder instead of ONNX Runtime, in the same run."""
    from qa.assistant import Assistant
    from qa.core.settings import load_settings

    base = Assistant(load_settings(**BASELINE))
    before = summary(measure(base, repeats))
    del base
    rows = [
        "| figure | before (`embedder.backend=torch`) | after (defaults) | after / before |",
        "| --- | --- | --- | --- |",
    ]
    for key, label, unit in (
        ("first_p50", "time to first token, p50", "s"),
        ("total_p50", "checked answer, p50", "s"),
        ("search_p50", "embed + search stage, p50", "s"),
        ("pp", "prompt tokens/s", ""),
        ("tg", "generated tokens/s", ""),
    ):
        if key in before and key in after:
            rows.append(
                f"| {label} | {fmt(before[key])} {unit} | {fmt(after[key])} {unit} | {after[key] / before[key]:.2f} |"
            )
    return Section(
        "Before and after",
        "The gold questions answered with the torch embedder (before) and with ONNX Runtime (after), in the same "
        f"run ({repeats} passes each, medians). Greedy decoding without the sampler chain has no switch; see the "
        "throughput ratios.",
        extra="\n".join(rows),
    )
