"""The assistant in a process of its own: `qa ask` from a cold start; `qa serve`'s memory, and many clients at
once (eval/README.md, "Benchmarks")."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from dataclasses import dataclass

from eval.bench import QA, ROOT
from eval.bench.report import Figure, Section, fmt, peak_rss_mb
from eval.metrics import percentile

QUESTION = "How many registered customers does DiDi serve?"


def cold_start(repeats: int) -> Section:
    def run(env: dict) -> tuple[list[float], list[float]]:
        walls, reported = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = subprocess.run(
                [QA, "ask", "--json", "--no-server", QUESTION],
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
        f'`qa ask --json --no-server "{QUESTION}"` in a new process: imports, loading both models and the index, '
        "then one answer.",
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


@dataclass(frozen=True)
class Asked:
    """One question through the web API, as its client saw it: the answer (None when the call failed) and the
    seconds it waited."""

    question: str
    answer: dict | None
    seconds: float


def gold_questions() -> list[str]:
    from eval.gold import load_gold

    return [q.question for q in load_gold() if not q.turns]


def ask(client, question: str) -> Asked:
    t0 = time.perf_counter()
    try:
        answer = client.predict(question, None, api_name="/ask")
    except Exception:  # counted, whatever it is
        answer = None
    return Asked(question, answer, time.perf_counter() - t0)


def in_turn(url: str, n: int = SOAK_QUESTIONS) -> list[Asked]:
    """The first `n` gold questions asked by one client, one after another."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    return [ask(client, question) for question in gold_questions()[:n]]


def at_once(url: str, clients: int = SOAK_CLIENTS, per_client: int = SOAK_QUESTIONS) -> list[Asked]:
    """`clients` gradio clients asking `per_client` gold questions each, all at the same time (each starts at its
    own place in the list)."""
    import threading

    from gradio_client import Client

    questions = gold_questions()
    asked: list[Asked] = []
    lock = threading.Lock()

    def run(k: int) -> None:
        client = Client(url, verbose=False)
        for i in range(per_client):
            one = ask(client, questions[(k * 7 + i) % len(questions)])
            with lock:
                asked.append(one)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return asked


def failed(asked: list[Asked]) -> list[Asked]:
    return [a for a in asked if a.answer is None]


def mixed(asked: list[Asked]) -> list[Asked]:
    """Answers that name another question than the one asked."""
    return [a for a in asked if a.answer is not None and a.answer["question"] != a.question]


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
        url = f"http://127.0.0.1:{port}/"
        handed = handed_over(port)
        alone, together = [a.seconds for a in in_turn(url)], at_once(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    models = ROOT / ".qa" / "models"
    weights = (
        sum(f.stat().st_size for f in models.rglob("*") if f.is_file() and f.suffix in {".gguf", ".onnx", ".npy"}) / 1e6
    )
    memory = Section(
        "Memory of `qa serve`",
        "Peak resident memory (VmHWM) of the server process with the default "
        "models, after start-up and after three answers through the API.",
        [
            Figure("after start-up", [after_load], "MB", f"the model files it loads (GGUF, ONNX): {weights:,.0f} MB"),
            Figure("after three answers", [peak], "MB"),
        ],
    )
    seconds = [a.seconds for a in together]
    reference = f"one client asking {len(alone)} of them in turn: {fmt(statistics.median(alone))} s"
    many = Section(
        "Many clients at once (`qa serve`)",
        f"{SOAK_CLIENTS} gradio clients ask {SOAK_QUESTIONS} gold questions each through the web API at the same "
        f"time; the one model answers one question at a time, so a client waits for the others. Errors: "
        f"{len(failed(together))}; answers naming another question than the one asked: {len(mixed(together))}.",
        [
            Figure(
                "client latency, p50",
                seconds,
                "s",
                reference,
                f"{statistics.median(seconds) / statistics.median(alone):.1f}× one client",
            ),
            Figure("client latency, p95", [percentile(seconds, 95)], "s"),
        ],
    )
    cold = Section(
        "`qa ask` while `qa serve` is up",
        "`qa ask --json` of five gold questions, each in a new process, while a `qa serve` of the same index and "
        "settings runs: the question is handed to the server, which holds the models (the cold start above is "
        "`--no-server`).",
        [Figure("process start to printed answer", handed, "s")],
    )
    return [memory, many, cold]


def handed_over(port: int, repeats: int = 5) -> list[float]:
    """Seconds from starting `qa ask` to its answer, handed to the server on `port`; a different gold question
    each time, so that the server's prompt cache holds no more than the fixed part of the prompt."""
    walls = []
    for question in gold_questions()[10 : 10 + repeats]:
        t0 = time.perf_counter()
        out = subprocess.run(
            [QA, "ask", "--json", question],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "QA_CHAT__PORT": str(port)},
        )
        walls.append(time.perf_counter() - t0)
        assert "answered by the qa serve" in out.stderr, out.stderr  # not a cold start in disguise
        json.loads(out.stdout)
    return walls
