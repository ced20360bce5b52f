"""Text generation. The assistant needs one thing of a model: stream a completion of a prompt."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from qa.errors import DependencyMissingError, ModelMissingError
from qa.settings import LLMSettings


class LLM(Protocol):
    name: str

    def stream(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> Iterator[str]: ...


class LlamaCppLLM:
    """A local GGUF model run by llama-cpp-python; constructed from a path, never downloaded."""

    def __init__(self, path: str | Path, settings: LLMSettings):
        os.environ["HF_HUB_OFFLINE"] = "1"
        path = Path(path)
        if not path.is_file():
            raise ModelMissingError(f"language model file {path} does not exist")
        try:
            import llama_cpp
        except ImportError as exc:
            raise DependencyMissingError(f"llama-cpp-python cannot be imported ({exc})") from None
        _silence(llama_cpp)
        self.settings = settings
        self.name = path.name
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_threads=settings.n_threads or os.cpu_count() or 1,
                seed=settings.seed,
                verbose=False,
            )
        except ValueError as exc:
            raise ModelMissingError(f"cannot load the language model {path}: {exc}") from None

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False))

    def stream(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> Iterator[str]:
        for part in self.llm.create_completion(
            prompt,
            max_tokens=max_tokens,
            stop=list(stop),
            temperature=self.settings.temperature,
            repeat_penalty=1.0,
            seed=self.settings.seed,
            stream=True,
        ):
            text = part["choices"][0]["text"]
            if text:
                yield text


_LOG_CALLBACK = None


def _silence(llama_cpp) -> None:
    """llama.cpp logs to stderr even with verbose=False; route its log to nowhere, once per process."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is None:
        import ctypes

        _LOG_CALLBACK = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p())
