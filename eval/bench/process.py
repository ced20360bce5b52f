"""The assistant in a process of its own: `qa ask` from a cold start, and the memory of `qa serve`."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time

from eval.bench import QA, ROOT
from eval.bench.report import Figure, Section, fmt, peak_rss_mb

QUESTION = "How many registered customers does DiDi serve?"


def cold_start(repeats: int) -> Section:
    def run(env: dict) -> tuple[list[float], list[float]]:
        walls, reported = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = subprocess.run(
                [QA, "ask", "--json", QUESTION],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env={**os.environ, **env},
            )
            walls.append(time.perf_counter() - t0)
            reported.append(json.loads(out.stdout)["timings"]["total_s"])
        return walls, reported

    walls, reported = run({})
    torch_walls, _ = run({"QA_EMBEDDER__BACKEND": "torch"})
    ref = statistics.median(torch_walls)
    return Section(
        "Cold start",
        f'`qa ask --json "{QUESTION}"` in a new process: imports, loading both models and the index, then one answer.',
        [
            Figure(
                "process start to printed answer",
                walls,
                "s",
                f"the same with the torch embedder (before): {fmt(ref)} s",
                f"{statistics.median(walls) / ref:.2f}× before",
            ),
            Figure("of which answering (as the answer reports it)", reported, "s"),
        ],
    )


def serve_memory() -> Section:
    import socket

    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [QA, "serve", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
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
    weights = sum(f.stat().st_size for f in models.rglob("*") if f.is_file() and f.suffix in {".gguf", ".onnx"}) / 1e6
    return Section(
        "Memory of `qa serve`",
        "Peak resident memory (VmHWM) of the server process with the default "
        "models, after start-up and after three answers through the API.",
        [
            Figure("after start-up", [after_load], "MB", f"the model files it loads (GGUF, ONNX): {weights:,.0f} MB"),
            Figure("after three answers", [peak], "MB"),
        ],
    )
