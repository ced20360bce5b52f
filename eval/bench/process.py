"""The assistant in a process of its own: `qa ask` from a cold start; `qa serve`'s memory, and many clients at
once (eval/README.md, "Benchmarks")."""

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


SOAK_CLIENTS, SOAK_QUESTIONS = 8, 25


def soak(url: str) -> tuple[list[float], list[float], int, int]:
    """Client-side seconds of the gold questions asked by one client in turn (the reference), then by
    SOAK_CLIENTS clients at once, SOAK_QUESTIONS each; with the errors and the answers naming another question."""
    import threading

    from gradio_client import Client

    from eval.gold import load_gold

    questions = [q.question for q in load_gold() if not q.turns]
    alone: list[float] = []
    together: list[float] = []
    problems = {"errors": 0, "mixed": 0}
    lock = threading.Lock()

    def ask(client: Client, question: str, into: list[float]) -> None:
        t0 = time.perf_counter()
        try:
            answer = client.predict(question, None, api_name="/ask")
        except Exception:  # counted, whatever it is
            answer = None
        with lock:
            into.append(time.perf_counter() - t0)
            problems["errors"] += answer is None
            problems["mixed"] += answer is not None and answer["question"] != question

    single = Client(url, verbose=False)
    for question in questions[:SOAK_QUESTIONS]:
        ask(single, question, alone)

    def client_run(k: int) -> None:
        client = Client(url, verbose=False)
        for i in range(SOAK_QUESTIONS):
            ask(client, questions[(k * 7 + i) % len(questions)], together)

    threads = [threading.Thread(target=client_run, args=(k,)) for k in range(SOAK_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return alone, together, problems["errors"], problems["mixed"]


def serve_memory() -> list[Section]:
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
        alone, together, errors, mixed = soak(f"http://127.0.0.1:{port}/")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    models = ROOT / ".qa" / "models"
    weights = sum(f.stat().st_size for f in models.rglob("*") if f.is_file() and f.suffix in {".gguf", ".onnx"}) / 1e6
    memory = Section(
        "Memory of `qa serve`",
        "Peak resident memory (VmHWM) of the server process with the default "
        "models, after start-up and after three answers through the API.",
        [
            Figure("after start-up", [after_load], "MB", f"the model files it loads (GGUF, ONNX): {weights:,.0f} MB"),
            Figure("after three answers", [peak], "MB"),
        ],
    )
    p95 = sorted(together)[max(0, int(0.95 * len(together)) - 1)]
    reference = f"one client asking {len(alone)} of them in turn: {fmt(statistics.median(alone))} s"
    many = Section(
        "Many clients at once (`qa serve`)",
        f"{SOAK_CLIENTS} gradio clients ask {SOAK_QUESTIONS} gold questions each through the web API at the same "
        f"time; the one model answers one question at a time, so a client waits for the others. Errors: {errors}; "
        f"answers naming another question than the one asked: {mixed}.",
        [
            Figure(
                "client latency, p50",
                together,
                "s",
                reference,
                f"{statistics.median(together) / statistics.median(alone):.1f}× one client",
            ),
            Figure("client latency, p95", [p95], "s"),
        ],
    )
    return [memory, many]
