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

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

from qa.core.records import GenerationStats
from qa.core.servers import Server
from qa.core.settings import LLMSettings
from qa.llm import Generation, Scores, ready_to_load

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
        ready_to_load(
            path, hint="the assistant reads the vocabulary of the GGUF the model server runs: set llm.model_path to it"
        )
        import llama_cpp

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
        self.server = Server(
            settings.base_url,
            "llm.base_url",
            "model server",
            settings.api_key,
            hint='start it, or set llm.backend = "llama-cpp" to run the model in this process',
            transport=transport,
            timeout=timeout,
        )
        self.model = settings.remote_model or self.server.json("GET", "/models", read=lambda r: str(r["data"][0]["id"]))
        self.name = self.model
        self._checked = False

    def tokenize(self, text: str) -> list[int]:
        return self.vocab.tokenize(text)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.vocab.detokenize(tokens)

    def stream(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> Generation[str]:
        def pieces() -> Iterator[str]:
            body = self._body(prompt, max_tokens, temperature=self.settings.temperature, stop=list(stop))
            for text in self.server.events("/completions", body, read=lambda e: str(_choice(e).get("text") or "")):
                if text:
                    yield text

        return self._timed(prompt, pieces())

    def constrained(self, prompt: str, choose: Callable[[Scores], int | None], max_tokens: int) -> Generation[int]:
        """A string prompt cannot carry part of a character: a span that stops inside one (a byte token) is sent
        with U+FFFD in its place, and may then go on otherwise than in process."""

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
        """The token of `allowed` that greedy decoding takes after `prompt`, its log-probability, and the most
        likely tokens (`_TOP` of them, by text) with theirs, when the server's list can be trusted (else empty)."""
        if not self._checked:
            self._check_logprobs(prompt)
        text, logprob, top = self._ask(prompt, allowed)
        spelt = [t for t in allowed if _same_text(self.detokenize([t]), text)]
        if len(spelt) == 1:
            return spelt[0], logprob, top
        if len(allowed) == 1:
            return allowed[0], logprob, {}
        # Several allowed tokens spell what the server sent (or none does: part of a character): ask each half.
        half = len(allowed) // 2
        first, second = self.best(prompt, allowed[:half]), self.best(prompt, allowed[half:])
        return (first[0], first[1], {}) if first[1] >= second[1] else (second[0], second[1], {})

    def _ask(self, prompt: str, allowed: Sequence[int]) -> tuple[str, float, dict[str, float]]:
        body = self._body(prompt, 1, temperature=0.0, logprobs=_TOP, logit_bias={str(t): _BIAS for t in allowed})
        text, logprob = "", None
        top: dict[str, float] = {}
        read = lambda event: (str(_choice(event).get("text") or ""), _logprobs(_choice(event)))
        for piece, found in self.server.events("/completions", body, read=read):
            text += piece
            if found is not None:
                logprob, top = found
        if logprob is None:
            raise self.server.error(
                "gave no logprobs",
                hint="the constrained answer needs streamed /v1/completions with logprobs (llama-cpp-python's "
                "server: logits_all, its default)",
            )
        return text, logprob, _trusted(top, text, logprob)

    def _check_logprobs(self, prompt: str) -> None:
        """Once: the log-probability must be the model's, not the biased one (which would be about 0 for any
        token the bias makes certain)."""
        unlikely = self.tokenize(" ☃☃☃")[-1:] or [0]
        _, logprob, _ = self._ask(prompt, unlikely)
        if logprob > -1e-3:
            raise self.server.error(
                "gives log-probabilities after the logit bias",
                hint="the constrained answer needs the model's own log-probabilities (vLLM: logprobs-mode raw_logprobs)",
            )
        self._checked = True

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


def _choice(event: dict[str, Any]) -> dict[str, Any]:
    choices = event["choices"]
    return choices[0] if choices else {}


def _logprobs(choice: dict[str, Any]) -> tuple[float, dict[str, float]] | None:
    """The chosen token's log-probability and the most likely tokens', in the legacy completions shape
    (`token_logprobs`, `top_logprobs`) or the chat shape (`content`: `logprob`, `top_logprobs`)."""
    found = choice.get("logprobs") or {}
    if found.get("token_logprobs"):
        if found["token_logprobs"][0] is None:
            return None
        listed = (found.get("top_logprobs") or [None])[0] or {}
        return float(found["token_logprobs"][0]), {str(k): float(v) for k, v in listed.items()}
    if found.get("content"):
        first = found["content"][0]
        listed = {str(t["token"]): float(t["logprob"]) for t in first.get("top_logprobs") or []}
        return float(first["logprob"]), listed
    return None


def _trusted(top: dict[str, float], text: str, logprob: float) -> dict[str, float]:
    """The list of most likely tokens when it holds the `_TOP` likeliest tokens each under its own text, else
    {}. Servers list them by text, and add the chosen token when it is not among them: so `_TOP` + 1 entries,
    or `_TOP` with the chosen one among them or absent. Two tokens spelt alike leave one entry fewer, which
    looks the same as the chosen token among them only when it is the least likely entry; that case is not
    trusted."""
    if text in top and len(top) == _TOP + 1:
        return top
    if text in top and len(top) == _TOP and any(v < logprob for k, v in top.items() if k != text):
        return top
    if text not in top and len(top) == _TOP:
        return top
    return {}


def _same_text(local: str, sent: str) -> bool:
    return bool(sent) and local == sent


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
        self.top = top or self.top
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
