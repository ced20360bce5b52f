"""The model-server backend against a fake OpenAI-compatible server: the same spans as the model run in process,
from the same logits, and clear errors when the server fails."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from qa import models
from qa.core.errors import ConfigError, ModelServerError
from qa.core.settings import LLMSettings, Settings
from qa.extract import SpanExtractor
from qa.llm import Generation, LogitScores
from qa.llm_openai import OpenAICompatibleLLM, _ServerScores, _trusted

from conftest import ROOT, FakeLLM

VOCAB_SIZE = 20000


def logits_after(text: str) -> np.ndarray:
    """A fixed, arbitrary model: its logits depend on the whole text so far; the four endings (ids 0-3) are
    often among its most likely tokens."""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    logits = rng.normal(0.0, 3.0, VOCAB_SIZE).astype(np.float32)
    logits[:4] += 7.0
    return logits


class InProcess:
    """The model run in process: `constrained` hands it the logits."""

    name = "in-process"

    def __init__(self, vocab: FakeLLM):
        self.vocab = vocab

    def tokenize(self, text):
        return self.vocab.tokenize(text)

    def detokenize(self, tokens):
        return self.vocab.detokenize(tokens)

    def constrained(self, prompt, choose, max_tokens):
        def tokens() -> Iterator[int]:
            chosen: list[int] = []
            for _ in range(max_tokens):
                token = choose(LogitScores(logits_after(prompt + self.detokenize(chosen))))
                if token is None:
                    return
                chosen.append(token)
                yield token

        return Generation(tokens())


class FakeServer:
    """`/v1/models` and streamed `/v1/completions` as llama-cpp-python's server gives them: greedy over the
    biased logits, `logprobs` from the logits before the bias."""

    def __init__(self, vocab: FakeLLM, reply: str = "Berlin is the capital."):
        self.vocab, self.reply = vocab, reply
        self.bodies: list[dict] = []
        self.fail: int | None = None
        self.logprobs = True
        self.top = 5
        self.after_bias = False
        self.spell = None

    def _text(self, token: int) -> str:
        return self.vocab.detokenize([token]) if token < len(self.vocab._pieces) else f"<unused{token}>"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.fail:
            return httpx.Response(self.fail, text="model crashed")
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "gemma", "object": "model"}]})
        body = json.loads(request.content)
        self.bodies.append(body)
        if "logit_bias" in body:
            raw = logits_after(body["prompt"])
            biased = raw.copy()
            for token, bias in body["logit_bias"].items():
                biased[int(token)] += bias
            token = int(np.argmax(biased))
            if self.after_bias:
                raw = biased
            top = float(raw.max())
            logprob = float(raw[token]) - top - float(np.log(np.exp(raw - top).sum()))
            logprobs = raw - top - float(np.log(np.exp(raw - top).sum()))
            listed = {self._text(int(t)): float(logprobs[t]) for t in np.argsort(-raw)[: self.top]}
            listed[self.vocab.detokenize([token])] = logprob
            chunks = [
                {
                    "text": self.spell(token) if self.spell else self.vocab.detokenize([token]),
                    "logprobs": {"token_logprobs": [logprob], "top_logprobs": [listed]},
                }
            ]
            if not self.logprobs:
                chunks[0]["logprobs"] = None
        else:
            chunks = [{"text": piece} for piece in ("Berlin", " is", " the", " capital", ".")]
        lines = "".join(f"data: {json.dumps({'choices': [c]})}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=lines, headers={"content-type": "text/event-stream"})


def remote(vocab: FakeLLM, server: FakeServer, **settings) -> OpenAICompatibleLLM:
    llm_settings = LLMSettings(backend="openai", base_url="http://models.test/v1", **settings)
    return OpenAICompatibleLLM(llm_settings, vocab, transport=httpx.MockTransport(server))


def _filled_vocab() -> FakeLLM:
    vocab = FakeLLM()
    for ending in ("\n", ".", " [", "["):
        vocab.tokenize(ending)
    return vocab


SENTENCES = [
    ("The company said on Tuesday that it would merge with its rival in 2019.", "When will they merge?"),
    ("Berlin, the capital, has 3.7 million inhabitants, the city said.", "How many people live in Berlin?"),
    ("Nordalp Mobility will operate 34 cities, according to the report.", "How many cities?"),
]


@pytest.mark.parametrize("listed", [5, 0])
@pytest.mark.parametrize("sentence,question", SENTENCES)
def test_the_server_backend_copies_the_span_the_model_run_in_process_copies(sentence, question, listed):
    vocab = _filled_vocab()
    server = FakeServer(vocab)
    server.top = listed
    here = SpanExtractor(InProcess(vocab), ROOT / "prompts")
    there = SpanExtractor(remote(vocab, server), ROOT / "prompts")
    expected = here.extract(sentence, question)
    assert expected is not None and expected.text
    assert there.extract(sentence, question) == expected
    asked = [b for b in server.bodies if "logit_bias" in b]
    assert asked and all(b["max_tokens"] == 1 and b["temperature"] == 0.0 and b["logprobs"] == 5 for b in asked)
    assert all(b["repeat_penalty"] == 1.0 and b["stream"] and b["model"] == "gemma" for b in asked)
    assert all(set(b["logit_bias"].values()) == {100.0} for b in asked)


def test_the_most_likely_tokens_listed_with_an_answer_save_asking_for_the_ending():
    spans, asked = [], []
    for listed in (0, 5):
        vocab = _filled_vocab()
        server = FakeServer(vocab)
        server.top = listed
        spans.append(SpanExtractor(remote(vocab, server), ROOT / "prompts").extract(*SENTENCES[1]))
        asked.append(sum("logit_bias" in b for b in server.bodies))
    assert spans[0] == spans[1] and spans[0] is not None
    assert asked[1] < asked[0]


def test_each_set_gets_the_best_token_and_log_probability_the_logits_give():
    vocab = _filled_vocab()
    server = FakeServer(vocab)
    llm = remote(vocab, server)
    options = llm.tokenize(" the company said it would merge")
    listed = 0
    for n in range(40):
        prompt = f"Question {n}: who?\nAnswer:"
        here, there = LogitScores(logits_after(prompt)), _ServerScores(llm, prompt)
        for allowed in (options, [0, 1, 2, 3]):
            before = len(server.bodies)
            token, logprob = there.best(allowed)
            assert token == here.best(allowed)[0]
            assert logprob == pytest.approx(here.best(allowed)[1], abs=1e-4)
            listed += len(server.bodies) == before
    assert listed > 5


def test_free_text_is_streamed_with_the_stop_strings_and_counted():
    vocab = _filled_vocab()
    server = FakeServer(vocab)
    generation = remote(vocab, server, temperature=0.0).stream("Translate: Berlin", 48, ["\n"])
    assert "".join(generation) == "Berlin is the capital."
    assert server.bodies[-1]["stop"] == ["\n"] and server.bodies[-1]["max_tokens"] == 48
    assert generation.stats is not None and generation.stats.generated_tokens == 5


def test_a_failing_server_is_a_model_server_error_naming_it():
    vocab = _filled_vocab()
    server = FakeServer(vocab)
    llm = remote(vocab, server)
    server.fail = 500
    with pytest.raises(ModelServerError, match=r"http://models.test/v1 answered 500: model crashed"):
        list(llm.stream("Translate: Berlin", 8, ["\n"]))


def test_a_server_without_logprobs_says_what_the_answer_needs():
    vocab = _filled_vocab()
    server = FakeServer(vocab)
    server.logprobs = False
    extractor = SpanExtractor(remote(vocab, server), ROOT / "prompts")
    with pytest.raises(ModelServerError, match="gave no logprobs") as caught:
        extractor.extract(*SENTENCES[0])
    assert "logprobs" in caught.value.hint


def test_an_unreachable_server_is_named_without_its_password_and_with_a_hint():
    settings = LLMSettings(backend="openai", base_url="http://qa:s3cret@127.0.0.1:9/v1")
    with pytest.raises(ModelServerError, match=r"the model server at http://127.0.0.1:9/v1 cannot be reached") as caught:
        OpenAICompatibleLLM(settings, _filled_vocab(), timeout=2.0)
    assert 'llm.backend = "llama-cpp"' in caught.value.hint and "s3cret" not in str(caught.value)


@pytest.mark.parametrize("reply,message", [
    ("data: {not json\n\n", "out of protocol"),
    ('data: {"error": {"message": "context full"}}\n\n', "reported an error"),
    ('data: {"choices": [{"text": "Ber"}]}\n\n', "before its \\[DONE\\]"),
    ('data: {"choices": "none"}\n\ndata: [DONE]\n\n', "out of protocol"),
])
def test_a_reply_out_of_protocol_is_a_model_server_error(reply, message):
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "gemma"}]})
        return httpx.Response(200, text=reply, headers={"content-type": "text/event-stream"})

    llm = OpenAICompatibleLLM(LLMSettings(backend="openai", base_url="http://models.test/v1"), _filled_vocab(),
                              transport=httpx.MockTransport(handle))
    with pytest.raises(ModelServerError, match=message):
        "".join(llm.stream("Translate: Berlin", 8, ["\n"]))


def test_a_server_giving_log_probabilities_after_the_bias_is_refused():
    vocab = _filled_vocab()
    server = FakeServer(vocab)
    server.after_bias = True
    with pytest.raises(ModelServerError, match="after the logit bias"):
        SpanExtractor(remote(vocab, server), ROOT / "prompts").extract(*SENTENCES[0])


def test_tokens_spelt_alike_or_parts_of_a_character_are_told_apart_by_asking_again():
    vocab = _filled_vocab()
    server = FakeServer(vocab)
    llm = remote(vocab, server)
    prompt = "Question: who?\nAnswer:"
    here = LogitScores(logits_after(prompt))
    merge = llm.tokenize(" merge")[0]
    vocab._pieces.append(" merge")  # a second token spelt " merge"
    alike = [merge, len(vocab._pieces) - 1]
    token, logprob, _ = llm.best(prompt, alike)
    assert (token, logprob) == pytest.approx(here.best(alike))
    allowed = llm.tokenize(" the company said it would")
    server.spell = lambda token: ""  # parts of characters, which a server sends as nothing
    token, logprob, _ = llm.best(prompt, allowed)
    assert (token, logprob) == pytest.approx(here.best(allowed))


def test_a_list_of_likeliest_tokens_with_two_spelt_alike_is_not_trusted():
    # true order: A -1, B -1.5, C -2, D -2.5, D' (also "D") -2.6, X -2.7; the chosen E -9 is added
    merged = {"A": -1.0, "B": -1.5, "C": -2.0, "D": -2.6, "E": -9.0}
    assert _trusted(merged, "E", -9.0) == {}
    whole = {"A": -1.0, "B": -1.5, "C": -2.0, "D": -2.5, "X": -2.7, "E": -9.0}
    assert _trusted(whole, "E", -9.0) == whole
    assert _trusted({"A": -1.0, "B": -1.5, "C": -2.0, "D": -2.5, "X": -2.7}, "B", -1.5) != {}
    assert _trusted({"A": -1.0, "B": -1.5, "C": -2.0, "D": -2.5, "X": -2.7}, "X", -2.7) == {}


def test_the_openai_backend_needs_a_base_url():
    settings = Settings(llm=LLMSettings(backend="openai"))
    with pytest.raises(ConfigError, match="llm.base_url"):
        models.load_llm(settings)
