"""Text generation. The assistant needs one thing of a model: stream a completion of a prompt."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from qa.core.errors import DependencyMissingError, ModelMissingError
from qa.core.records import GenerationStats
from qa.core.settings import LLMSettings

T = TypeVar("T")


class Generation(Generic[T]):
    """A completion as it is generated: iterate for its pieces (text, or token ids for `LLM.constrained`);
    once it has ended, `stats` holds how it went (None from a model that does not count)."""

    def __init__(self, pieces: Iterator[T]):
        self._pieces = pieces
        self.stats: GenerationStats | None = None

    def __iter__(self) -> Generation[T]:
        return self

    def __next__(self) -> T:
        return next(self._pieces)


class Scores(Protocol):
    """The model's scores for the next token, asked of a set of tokens at a time: a model served over HTTP
    gives a token's log-probability, never its whole row of logits."""

    def best(self, allowed: Sequence[int]) -> tuple[int, float]:
        """The token of `allowed` the model scores highest (the first of equals), and its log-probability."""
        ...


class LogitScores:
    """`Scores` read from a row of logits."""

    def __init__(self, logits: np.ndarray):
        self.logits = logits
        self._norm: float | None = None

    def best(self, allowed: Sequence[int]) -> tuple[int, float]:
        ids = np.asarray(allowed, dtype=np.int64)
        token = int(ids[int(np.argmax(self.logits[ids]))])
        if self._norm is None:
            top = float(self.logits.max())
            self._norm = top + float(np.log(np.exp(self.logits - top).sum()))
        return token, float(self.logits[token]) - self._norm


@runtime_checkable
class LLM(Protocol):
    name: str

    def stream(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> Generation[str]: ...

    def tokenize(self, text: str) -> list[int]: ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def constrained(self, prompt: str, choose: Callable[[Scores], int | None], max_tokens: int) -> Generation[int]:
        """Decoding where `choose` picks each next token from the model's scores (None ends the completion);
        yields the tokens as they are chosen."""
        ...


class LlamaCppLLM:
    """A local GGUF model run by llama-cpp-python; constructed from a path, never downloaded."""

    llm: Any  # llama_cpp.Llama

    def __init__(self, path: str | Path, settings: LLMSettings, alongside: LlamaCppLLM | None = None):
        """`alongside`: a model of the same file whose weights this one's context shares (loaded once)."""
        path = Path(path)
        ready_to_load(path)
        import llama_cpp

        self.settings = settings
        self.name = path.name
        self.path = path
        self._first: tuple[int, float] | None = None
        self._llama_cpp = llama_cpp
        owner = alongside.llm if alongside is not None and alongside.path == path else None
        try:
            with _sharing(owner):
                self.llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=settings.n_ctx,
                    n_threads=settings.n_threads or os.cpu_count() or 1,
                    seed=settings.seed,
                    flash_attn=settings.flash_attn,
                    verbose=False,
                )
        except ValueError as exc:
            raise ModelMissingError(f"cannot load the language model {path}: {exc}") from None

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.llm.detokenize(list(tokens)).decode("utf-8", errors="replace")

    def constrained(self, prompt: str, choose: Callable[[Scores], int | None], max_tokens: int) -> Generation[int]:
        def tokens(prompt_tokens: list[int]) -> Iterator[int]:
            self._evaluate(prompt_tokens)
            token = 0
            for n in range(max_tokens):
                if n:
                    self.llm.eval([token])
                logits = self._logits()
                chosen = choose(LogitScores(logits))
                if chosen is None:
                    return
                token = chosen
                if n == 0:
                    self._first = (token, float(logits[token]))
                yield token

        return self._timed(prompt, tokens)

    def _evaluate(self, tokens: list[int]) -> None:
        """Evaluates the prompt, reusing the previous prompt's state up to the common prefix, as
        `create_completion` does (the last prompt token is evaluated again for its logits)."""
        llm = self.llm
        common = 0
        for a, b in zip(llm.input_ids[: llm.n_tokens], tokens):
            if a != b:
                break
            common += 1
        llm.n_tokens = min(common, len(tokens) - 1)
        llm.eval(tokens[llm.n_tokens :])

    def _logits(self) -> np.ndarray:
        return np.ctypeslib.as_array(
            self._llama_cpp.llama_get_logits_ith(self.llm._ctx.ctx, -1), shape=(self.llm.n_vocab(),)
        )

    def stream(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> Generation[str]:
        """llama-cpp-python keeps the previous prompt's state and evaluates only what differs after the
        longest common prefix: the fixed instructions and worked examples are evaluated once per context."""
        if self.settings.temperature == 0:
            return self._timed(prompt, lambda tokens: self._greedy(tokens, max_tokens, stop), skip_empty=True)
        return self._timed(prompt, lambda _: self._sampled(prompt, max_tokens, stop), skip_empty=True)

    def _timed(self, prompt: str, run: Callable[[list[int]], Iterator[T]], skip_empty: bool = False) -> Generation[T]:
        """Runs a completion of the prompt's tokens; the generation's `stats` are set when it ends. The
        completion yields "" (or nothing) once the prompt is evaluated; the first item marks the first token's
        time."""

        def pieces() -> Iterator[T]:
            lib, ctx = self._llama_cpp, self.llm.ctx
            lib.llama_perf_context_reset(ctx)
            start, first, self._first = time.perf_counter(), None, None
            n_before = self.llm.n_tokens
            tokens = self._tokens(prompt)
            for item in run(tokens):
                if first is None:
                    first = time.perf_counter()
                if not (skip_empty and item == ""):
                    yield item
            end = time.perf_counter()
            generation.stats = self._stats(lib.llama_perf_context(ctx), len(tokens), n_before, start, first, end)

        generation: Generation[T] = Generation(pieces())
        return generation

    def _stats(
        self, perf, n_tokens: int, n_before: int, start: float, first: float | None, end: float
    ) -> GenerationStats:
        return GenerationStats(
            prompt_tokens=perf.n_p_eval,
            reused_tokens=max(0, n_tokens - perf.n_p_eval) if n_before else 0,
            generated_tokens=perf.n_eval,
            prompt_ms=perf.t_p_eval_ms,
            generate_ms=perf.t_eval_ms,
            wall_first_token_s=(first or end) - start,
            wall_total_s=end - start,
            first_token=self._first[0] if self._first else None,
            first_logit=self._first[1] if self._first else None,
        )

    def _tokens(self, prompt: str) -> list[int]:
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)

    def _greedy(self, tokens: list[int], max_tokens: int, stop: Sequence[str]) -> Iterator[str]:
        """Temperature 0 without llama-cpp-python's sampler chain, which builds a candidate array over Gemma's
        262k-token vocabulary for every token (0.5 ms against 0.03 ms for an argmax of the logits). Reuses the
        previous prompt's state up to the common prefix, as `create_completion` does; the output is the same
        (tests/test_llm_greedy.py)."""
        lib, llm = self._llama_cpp, self.llm
        self._evaluate(tokens)
        yield ""  # the prompt is evaluated: the first token comes from its logits
        vocab = llm._model.vocab
        raw, text, sent, token = b"", "", 0, 0
        for n in range(max_tokens):
            if n:
                llm.eval([token])  # the previous token, whose successor is wanted
            logits = self._logits()
            token = int(logits.argmax())
            if n == 0:
                self._first = (token, float(logits[token]))
            if lib.llama_vocab_is_eog(vocab, token):
                break
            raw += llm.detokenize([token])
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue  # a character split across tokens
            cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
            if cut >= 0:
                yield text[sent:cut]
                return
            held = max((k for s in stop for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
            safe = len(text) - held  # hold back only what may begin a stop string
            if safe > sent:
                yield text[sent:safe]
                sent = safe
        yield text[sent:]

    def _sampled(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> Iterator[str]:
        for part in self.llm.create_completion(
            prompt,
            max_tokens=max_tokens,
            stop=list(stop),
            temperature=self.settings.temperature,
            repeat_penalty=1.0,
            seed=self.settings.seed,
            stream=True,
        ):
            yield part["choices"][0]["text"]  # a stream of chunks, not one completion


_SHARING = threading.Lock()


@contextmanager
def _sharing(owner) -> Iterator[None]:
    """While a `llama_cpp.Llama` is made inside this block, its model is `owner`'s (a `llama_cpp.Llama`, or None
    for a model of its own): llama-cpp-python has no argument for it, so the block stands in for the one call
    that loads the weights (0.3 s and the vocabulary's tables, for a second context on the same file). The
    stand-in keeps `owner` alive and leaves freeing the model to it. Every model is made under one lock, so that
    one made alone in another thread never meets the stand-in."""
    from llama_cpp import _internals

    class Shared:
        def __init__(self, **_: object):
            self.owner = owner

        def __getattr__(self, name: str):
            return getattr(self.owner._model, name)

        def close(self) -> None:
            pass

    with _SHARING:
        if owner is None:
            yield
            return
        loader = _internals.LlamaModel
        _internals.LlamaModel = Shared  # type: ignore[misc,assignment]
        try:
            yield
        finally:
            _internals.LlamaModel = loader  # type: ignore[misc]


def ready_to_load(path: Path, hint: str | None = None) -> None:
    """Checks that `path` is a file and llama-cpp-python can be imported to load it, and silences llama.cpp's
    log; the caller then imports llama_cpp."""
    if not path.is_file():
        raise ModelMissingError(f"language model file {path} does not exist", hint=hint)
    try:
        import llama_cpp
    except ImportError as exc:
        raise DependencyMissingError(f"llama-cpp-python cannot be imported ({exc})") from None
    _silence(llama_cpp)


_LOG_CALLBACK = None


def _silence(llama_cpp) -> None:
    """llama.cpp logs to stderr even with verbose=False; route its log to nowhere, once per process."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is None:
        import ctypes

        _LOG_CALLBACK = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p())
