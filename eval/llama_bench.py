"""llama.cpp's own throughput, the references for generation speed through the assistant: `Replay`, the
answer's own tokens decoded again through llama.cpp's C API a moment later, and llama-bench.

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
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.llm import LlamaCppLLM

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
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"llama-cpp-python=={v}",
                "--no-binary",
                ":all:",
                "--no-deps",
                "--quiet",
                "-d",
                str(work),
            ],
            check=True,
        )
    if not src.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
    log("building llama-bench (once; about 10 minutes on 2 cores)…")
    for step in (
        [
            "cmake",
            "-S",
            str(src),
            "-B",
            str(src / "build"),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DLLAMA_CURL=OFF",
            "-DLLAMA_BUILD_SERVER=OFF",
            "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF",
        ],
        ["cmake", "--build", str(src / "build"), "--target", "llama-bench", "-j", str(os.cpu_count() or 1)],
    ):
        done = subprocess.run(step, capture_output=True, text=True)  # compiler warnings only on failure
        if done.returncode:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            raise SystemExit(f"building llama-bench failed: {' '.join(step)}")
    return binary


def run(binary: Path, model: Path, p: int, n: int, d: int, threads: int, repetitions: int, flash: str = "on") -> dict:
    """Prompt (`pp`) and generation (`tg`) tokens per second, median over llama-bench's repetitions."""
    out = subprocess.run(
        [
            str(binary),
            "-m",
            str(model),
            "-p",
            str(p),
            "-n",
            str(n),
            "-d",
            str(d),
            "-t",
            str(threads),
            "-r",
            str(repetitions),
            "-fa",
            flash,
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
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


class Replay:
    """llama.cpp's own speed on the very tokens of an answer, measured a moment after it.

    llama-bench runs random tokens of the same count in another process, seconds away; on this machine, whose
    speed drifts 10–15% within a minute, that pairing is too loose to show a few percent. The replay decodes the
    answer's tokens again through llama.cpp's C API (`llama_decode`, then `llama_synchronize`, as llama-bench
    times them), in its own context on the same loaded model, set up as llama-bench sets up its contexts:
    the evaluated part of the prompt as one batch on top of the reused state, then each generated token alone.
    Nothing of llama-cpp-python's Python stack, our loop, or the pipeline around it is inside the timed windows.
    """

    def __init__(self, llm: LlamaCppLLM):
        import llama_cpp

        self._lib = lib = llama_cpp
        self._llm = llm.llm
        params = lib.llama_context_default_params()
        params.n_ctx = llm.settings.n_ctx
        params.n_batch, params.n_ubatch = 2048, 512
        params.n_threads = params.n_threads_batch = llm.settings.n_threads or os.cpu_count() or 1
        params.flash_attn_type = (
            lib.LLAMA_FLASH_ATTN_TYPE_ENABLED if llm.settings.flash_attn else lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        params.swa_full = False
        self._ctx = lib.llama_init_from_model(self._llm._model.model, params)
        if not self._ctx:
            raise RuntimeError("llama.cpp could not create the replay context")
        self._memory = lib.llama_get_memory(self._ctx)
        self._n_vocab = self._llm.n_vocab()
        self._held: list[int] = []

    def __call__(self, stats) -> dict | None:
        """Replays the answer `stats` (the model's `GenerationStats`) describes, which must be the last one
        its context evaluated. Returns the prompt's and the generation's seconds and whether the replay's
        prompt logits give the answer's first token the logit the answer saw (same tokens, same positions: they
        should; the answer's decoding may be constrained, so its first token need not be the argmax)."""
        import numpy as np

        lib = self._lib
        tokens = [int(t) for t in self._llm.input_ids[: self._llm.n_tokens]]
        depth, n_gen = stats.reused_tokens, stats.generated_tokens
        end = len(tokens) - n_gen
        if end - depth != stats.prompt_tokens or stats.prompt_tokens < 2:
            return None  # not a prompt batch plus single decodes: nothing to compare with
        common = 0
        for a, b in zip(self._held, tokens[:depth]):
            if a != b:
                break
            common += 1
        lib.llama_memory_seq_rm(self._memory, -1, common, -1)
        if common < depth:
            self._decode(tokens[common:depth])
        t0 = time.perf_counter()
        self._decode(tokens[depth:end])
        t1 = time.perf_counter()
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(self._ctx, -1), shape=(self._n_vocab,))
        if n_gen == 0:
            same = True
        elif stats.first_logit is None:
            same = int(logits.argmax()) == tokens[end]
        else:
            same = stats.first_token == tokens[end] and abs(
                float(logits[tokens[end]]) - stats.first_logit
            ) <= 0.01 * max(1.0, abs(stats.first_logit))
        t2 = time.perf_counter()
        for token in tokens[end:]:
            self._decode([token])
        t3 = time.perf_counter()
        self._held = tokens
        return {"prompt_s": t1 - t0, "generate_s": t3 - t2, "same_first_token": same}

    def _decode(self, tokens: list[int]) -> None:
        lib = self._lib
        for i in range(0, len(tokens), 2048):
            part = tokens[i : i + 2048]
            ids = (lib.llama_token * len(part))(*part)  # referenced until decoded
            if lib.llama_decode(self._ctx, lib.llama_batch_get_one(ids, len(part))):
                raise RuntimeError("llama_decode failed in the replay")
        lib.llama_synchronize(self._ctx)

    def close(self) -> None:
        if self._ctx:
            self._lib.llama_free(self._ctx)
            self._ctx = None
