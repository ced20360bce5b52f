"""Text generation by a model behind an OpenAI-compatible server (llama.cpp's `llama-server`, llama-cpp-python's
server, vLLM), so that several assistants can share one model server.

Only `POST /v1/completions` is used, with what those servers have in common: a string prompt, `temperature`,
`stop`, `logit_bias` and `logprobs`. Free text is one streamed request. Constrained decoding asks one question
per step and per set of tokens: the token greedy decoding takes when every token of the set gets +100 is the
set's best, and the server's `logprobs` give its log-probability, computed before the bias. Prompts are split
into tokens here with the vocabulary of the same GGUF (loaded without its weights), so the spans and the token
ids the bias names are the server's own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

from qa.core.errors import DependencyMissingError, ModelMissingError, ModelServerError
from qa.core.records import GenerationStats
from qa.core.settings import LLMSettings
from qa.llm import Generation, Scores

T = TypeVar("T")
_BIAS = 100.0  # the largest bias OpenAI's API accepts; far above the spread of a model's logits
_TOP = 5  # most likely tokens listed with each answer: OpenAI's limit for completions


class Vocabulary(Protocol):
    def tokenize(self, text: str) -> list[int]: ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...


class GGUFVocabulary:
    """A GGUF's tokenizer, loaded without the model's weights."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise ModelMissingError(
                f"language model file {path} does not exist",
                hint="the assistant reads the vocabulary of the GGUF the model server runs: set llm.model_path to it",
            )
        try:
            import llama_cpp
        except ImportError as exc:
            raise DependencyMissingError(f"llama-cpp-python cannot be imported ({exc})") from None
        from qa.llm import _silence

        _silence(llama_cpp)
        self.llama = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)

    def tokenize(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.llama.detokenize(list(tokens)).decode("utf-8", errors="replace")


class OpenAICompatibleLLM:
    """The `LLM` protocol over HTTP, splitting text with the `vocab` of the model the server runs."""

    def __init__(
        self,
        settings: LLMSettings,
        vocab: Vocabulary,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 300.0,
    ):
        self.settings = settings
        self.vocab = vocab
        self.base_url = settings.base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)
        self.model = settings.remote_model or self._first_model()
        self.name = f"{self.model} at {self.base_url}"

    def _first_model(self) -> str:
        data = self._json("GET", "/models").get("data") or []
        if not data:
            raise ModelServerError(f"the model server at {self.base_url} lists no model")
        return str(data[0]["id"])

    def tokenize(self, text: str) -> list[int]:
        return self.vocab.tokenize(text)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.vocab.detokenize(tokens)

    def stream(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> Generation[str]:
        def pieces() -> Iterator[str]:
            body = self._body(prompt, max_tokens, temperature=self.settings.temperature, stop=list(stop))
            for chunk in self._events(body):
                text = chunk["choices"][0].get("text") or ""
                if text:
                    yield text

        return self._timed(prompt, pieces())

    def constrained(self, prompt: str, choose: Callable[[Scores], int | None], max_tokens: int) -> Generation[int]:
        def tokens() -> Iterator[int]:
            chosen: list[int] = []
            for _ in range(max_tokens):
                token = choose(_ServerScores(self, prompt + self.detokenize(chosen)))
                if token is None:
                    return
                chosen.append(token)
                yield token

        return self._timed(prompt, tokens())

    def best(self, prompt: str, allowed: Sequence[int]) -> tuple[int, float, dict[str, float]]:
        """The token of `allowed` that greedy decoding takes after `prompt`, its log-probability, and the
        server's most likely tokens (`_TOP` of them, by text) with theirs."""
        body = self._body(prompt, 1, temperature=0.0, logprobs=_TOP, logit_bias={str(t): _BIAS for t in allowed})
        text, logprob, top = "", None, {}
        for chunk in self._events(body):
            choice = chunk["choices"][0]
            text += choice.get("text") or ""
            found = choice.get("logprobs") or {}
            if (found.get("token_logprobs") or [None])[0] is not None:
                logprob = float(found["token_logprobs"][0])
                top = {k: float(v) for k, v in ((found.get("top_logprobs") or [None])[0] or {}).items()}
        if logprob is None:
            raise ModelServerError(
                f"the model server at {self.base_url} gave no logprobs",
                hint="the constrained answer needs /v1/completions with logprobs (llama-cpp-python's server: "
                "logits_all, its default)",
            )
        for t in allowed:
            if self.detokenize([t]) == text:
                return t, logprob, top
        for t in allowed:  # a piece of a character, which the server may not send alone
            if text and self.detokenize([t]).strip("\ufffd") == text.strip("\ufffd"):
                return t, logprob, top
        if not text:
            return allowed[0], logprob, top
        raise ModelServerError(
            f"the model server at {self.base_url} chose {text!r}, which no allowed token spells",
            hint="is it running the same GGUF as llm.model_path?",
        )

    def _body(self, prompt: str, max_tokens: int, temperature: float, **extra: Any) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": self.settings.seed,
            "repeat_penalty": 1.0,  # llama-cpp-python's server penalises repeats by default; the local model does not
            "stream": True,  # llama-cpp-python computes logprobs for the whole prompt when not streaming
            **extra,
        }

    def _events(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            with self.http.stream("POST", "/completions", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelServerError(
                        f"the model server at {self.base_url} answered {response.status_code}: {response.text[:300]}"
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    yield json.loads(data)
        except httpx.HTTPError as exc:
            raise ModelServerError(
                f"cannot reach the model server at {self.base_url}: {exc}",
                hint='start it, or set llm.backend = "llama-cpp" to run the model in this process',
            ) from None

    def _json(self, method: str, url: str) -> dict[str, Any]:
        try:
            response = self.http.request(method, url)
        except httpx.HTTPError as exc:
            raise ModelServerError(
                f"cannot reach the model server at {self.base_url}: {exc}",
                hint='start it, or set llm.backend = "llama-cpp" to run the model in this process',
            ) from None
        if response.status_code != 200:
            raise ModelServerError(f"the model server at {self.base_url} answered {response.status_code}")
        return response.json()

    def _timed(self, prompt: str, items: Iterator[T]) -> Generation[T]:
        """The server does not say how long it spent on the prompt: the stats count tokens here and time the
        wait for the first item and for all of them."""

        def pieces() -> Iterator[T]:
            start, first, n = time.perf_counter(), None, 0
            for item in items:
                if first is None:
                    first = time.perf_counter()
                n += 1
                yield item
            end = time.perf_counter()
            first = first or end
            generation.stats = GenerationStats(
                prompt_tokens=len(self.vocab.tokenize(prompt)),
                reused_tokens=0,
                generated_tokens=n,
                prompt_ms=(first - start) * 1000,
                generate_ms=(end - first) * 1000,
                wall_first_token_s=first - start,
                wall_total_s=end - start,
            )

        generation: Generation[T] = Generation(pieces())
        return generation


class _ServerScores:
    """`Scores` after one prompt. A set is asked of the server once; a set whose best token is among the
    most likely tokens an earlier answer listed is answered from that list (a token missing from the list is
    less likely than every token in it), which saves a request at most steps of a constrained answer."""

    def __init__(self, llm: OpenAICompatibleLLM, prompt: str):
        self.llm, self.prompt = llm, prompt
        self.asked: dict[tuple[int, ...], tuple[int, float]] = {}
        self.top: dict[str, float] = {}

    def best(self, allowed: Sequence[int]) -> tuple[int, float]:
        key = tuple(allowed)
        if key not in self.asked:
            self.asked[key] = self._listed(key) or self._ask(key)
        return self.asked[key]

    def _ask(self, allowed: tuple[int, ...]) -> tuple[int, float]:
        token, logprob, top = self.llm.best(self.prompt, allowed)
        if len(top) >= _TOP:  # fewer: tokens spelt alike were merged, so the list cannot be trusted
            self.top = top
        return token, logprob

    def _listed(self, allowed: tuple[int, ...]) -> tuple[int, float] | None:
        if not self.top:
            return None
        floor = sorted(self.top.values(), reverse=True)[_TOP - 1]
        listed = [
            (self.top[text], -i, t) for i, t in enumerate(allowed) if (text := self.llm.detokenize([t])) in self.top
        ]
        if not listed:
            return None
        logprob, _, token = max(listed)
        return (token, logprob) if logprob >= floor else None
