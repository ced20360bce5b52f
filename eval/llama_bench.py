"""llama.cpp's own throughput, the reference for generation speed through the assistant.

`llama-bench` is built once (about 10 minutes on 2 cores) from the llama.cpp that the installed
llama-cpp-python vendors: its source package comes from PyPI, the one registry these machines reach.
The build lands in `.qa/bench/` (git-ignored) and is reused.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def llama_bench(work: Path, log: Callable[[str], None]) -> Path:
    v = version("llama-cpp-python")
    src = work / f"llama_cpp_python-{v}" / "vendor" / "llama.cpp"
    binary = src / "build" / "bin" / "llama-bench"
    if binary.exists():
        return binary
    work.mkdir(parents=True, exist_ok=True)
    archive = work / f"llama_cpp_python-{v}.tar.gz"
    if not archive.exists():
        log(f"downloading the llama-cpp-python {v} source package from PyPI…")
        subprocess.run([sys.executable, "-m", "pip", "download", f"llama-cpp-python=={v}", "--no-binary", ":all:",
                        "--no-deps", "--quiet", "-d", str(work)], check=True)
    if not src.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
    log("building llama-bench (once; about 10 minutes on 2 cores)…")
    for step in (["cmake", "-S", str(src), "-B", str(src / "build"), "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF",
                  "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF"],
                 ["cmake", "--build", str(src / "build"), "--target", "llama-bench", "-j", str(os.cpu_count() or 1)]):
        done = subprocess.run(step, capture_output=True, text=True)  # compiler warnings only on failure
        if done.returncode:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            raise SystemExit(f"building llama-bench failed: {' '.join(step)}")
    return binary


def run(binary: Path, model: Path, p: int, n: int, d: int, threads: int, repetitions: int, flash: str = "on") -> dict:
    """Prompt (`pp`) and generation (`tg`) tokens per second, median over llama-bench's repetitions."""
    out = subprocess.run([str(binary), "-m", str(model), "-p", str(p), "-n", str(n), "-d", str(d),
                          "-t", str(threads), "-r", str(repetitions), "-fa", flash, "-o", "json"],
                         capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout)
    pp = [r["avg_ts"] for r in rows if r.get("n_prompt", 0) > 0 and r.get("n_gen", 0) == 0]
    tg = [r["avg_ts"] for r in rows if r.get("n_gen", 0) > 0 and r.get("n_prompt", 0) == 0]
    return {"pp": statistics.median(pp), "tg": statistics.median(tg)}


def bench_for(assistant, log: Callable[[str], None], repetitions: int = 5) -> Callable[[int, int, int], dict]:
    """Builds llama-bench if needed; returns `bench(p, n, d)` for the assistant's model and threads."""
    llm = assistant.llm
    threads = assistant.settings.llm.n_threads or os.cpu_count() or 1
    binary = llama_bench(ROOT / ".qa" / "bench", log)
    flash = "on" if assistant.settings.llm.flash_attn else "off"

    def bench(p: int, n: int, d: int) -> dict:
        p, n = max(8, p), max(2, n)
        log(f"llama-bench -p {p} -n {n} -d {d} -t {threads} -fa {flash}")
        rates = run(binary, Path(llm.path), p, n, d, threads, repetitions, flash)
        return {**rates, "p": p, "n": n, "d": d, "threads": threads, "repetitions": repetitions}

    return bench
