"""Embeddings served by `qa serve` (`/v1/embeddings`) and asked for by another assistant
(`embedder.backend = "openai"`), on the fakes: the vectors, the identity an index is matched by, and errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from index.embed_openai import OpenAICompatibleEmbedder
from qa import models
from qa.assistant import Assistant
from qa.core.errors import ConfigError, IndexMismatchError, ModelServerError
from qa.core.records import EmbedderIdentity
from qa.core.settings import EmbedderSettings, Settings
from qa.openai_api import add_routes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def api(assistant) -> TestClient:
    app = FastAPI()
    add_routes(app, assistant, Path(assistant.settings.paths.data))
    return TestClient(app, base_url="http://testserver/v1")


def remote(api: TestClient, **settings) -> OpenAICompatibleEmbedder:
    return OpenAICompatibleEmbedder(EmbedderSettings(backend="openai", base_url="http://testserver/v1", **settings),
                                    http=api)


def test_texts_are_embedded_as_given_in_floats_or_base64(api, embedder):
    texts = ["Who leads DiDi?", "Cheng Wei ist der Gründer von DiDi."]
    floats = api.post("/embeddings", json={"model": "keyword-fake", "input": texts}).json()
    assert floats["model"] == "keyword-fake" and [d["index"] for d in floats["data"]] == [0, 1]
    assert floats["usage"]["prompt_tokens"] == 3 + 7
    np.testing.assert_allclose([d["embedding"] for d in floats["data"]], embedder.encode(texts), atol=1e-7)
    packed = api.post("/embeddings", json={"input": texts[0], "encoding_format": "base64"}).json()
    vector = np.frombuffer(base64.b64decode(packed["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_array_equal(vector, embedder.encode(texts[:1])[0])


@pytest.mark.parametrize("body,status,param", [
    ({"input": []}, 400, "input"),
    ({"input": [[101, 2023]]}, 400, "input"),
    ({"input": ["fine", "  "]}, 400, "input[1]"),
    ({"input": ["x" * 20_001]}, 400, "input[0]"),
    ({"input": ["a"] * 257}, 400, "input"),
    ({"input": "a", "model": "text-embedding-3-small"}, 404, "model"),
    ({"input": "a", "encoding_format": "int8"}, 400, "encoding_format"),
    ({"input": "a", "dimensions": 64}, 400, "dimensions"),
])
def test_a_bad_embeddings_request_gets_an_openai_error_naming_the_field(api, body, status, param):
    response = api.post("/embeddings", json=body)
    assert response.status_code == status
    assert response.json()["error"]["param"] == param


def test_the_server_lists_what_a_client_matches_an_index_by(api, embedder):
    there = remote(api)
    assert there.identity == embedder.identity and there.model == "keyword-fake"
    questions = ["Wer führt DiDi?", "How many customers?"]
    np.testing.assert_allclose(there.encode_queries(questions), embedder.encode_queries(questions), atol=1e-6)
    with pytest.raises(ConfigError, match="tokenizer") as caught:
        there.count_tokens("Indexing needs the tokenizer.")
    assert "embedder.model" in caught.value.hint


def generic_server(embedder, seen: list) -> httpx.MockTransport:
    """An embedding server that is not a `qa serve`: it lists a model by name only."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "e5-small", "object": "model"}]})
        texts = json.loads(request.content)["input"]
        seen.extend(texts)
        data = [{"index": i, "embedding": [float(x) for x in v]} for i, v in enumerate(embedder.encode(texts))]
        return httpx.Response(200, json={"object": "list", "data": data[::-1], "model": "e5-small"})

    return httpx.MockTransport(handle)


def test_another_servers_model_is_named_by_the_server_and_prompted_by_the_settings(embedder):
    seen: list[str] = []
    http = httpx.Client(base_url="http://models.test/v1", transport=generic_server(embedder, seen))
    settings = EmbedderSettings(backend="openai", base_url="http://models.test/v1", query_prompt="query: ")
    there = OpenAICompatibleEmbedder(settings, http=http)
    assert there.identity == EmbedderIdentity("e5-small", 256, "openai:e5-small")
    vectors = there.encode_queries(["Wer führt DiDi?", "Who leads DiDi?"])
    assert seen[-2:] == ["query: Wer führt DiDi?", "query: Who leads DiDi?"]
    np.testing.assert_allclose(vectors, embedder.encode(seen[-2:]), atol=1e-6)  # in order of `index`


def test_an_assistant_asking_through_the_server_answers_as_the_one_beside_the_index(assistant, api, fake_llm):
    question = "How many registered customers does DiDi serve?"
    fake_llm.enqueue("450 Millionen")
    here = assistant.ask(question)
    fake_llm.enqueue("450 Millionen")
    there = Assistant(assistant.settings, embedder=remote(api), llm=fake_llm).ask(question)
    assert there.text == here.text and there.text.startswith("450 million [1]")
    assert [c.char_start for c in there.citations] == [c.char_start for c in here.citations]


def test_an_index_of_another_embedder_is_refused(assistant, embedder, fake_llm):
    http = httpx.Client(base_url="http://models.test/v1", transport=generic_server(embedder, []))
    other = OpenAICompatibleEmbedder(EmbedderSettings(backend="openai", base_url="http://models.test/v1"), http=http)
    with pytest.raises(IndexMismatchError):
        Assistant(assistant.settings, embedder=other, llm=fake_llm).ask("Who leads DiDi?")


def test_an_unreachable_embedding_server_is_named_and_a_missing_address_is_a_settings_error():
    with pytest.raises(ModelServerError, match=r"the embedding server at http://127.0.0.1:9/v1 cannot be reached"):
        OpenAICompatibleEmbedder(EmbedderSettings(backend="openai", base_url="http://127.0.0.1:9/v1"), timeout=2)
    with pytest.raises(ConfigError, match="embedder.base_url"):
        models.load_embedder(Settings(embedder={"backend": "openai"}))


def test_an_index_is_built_through_another_server_and_asked_through_it(tmp_path, corpus, embedder, fake_llm):
    """Chunks cut with the model's tokenizer (here a tokenizer.json of the test data), passages embedded by the
    server with the document prompt, the identity the server's name."""
    from conftest import ROOT, write_test_calibration

    seen: list[str] = []
    http = httpx.Client(base_url="http://models.test/v1", transport=generic_server(embedder, seen))
    settings = EmbedderSettings(backend="openai", base_url="http://models.test/v1", document_prompt="passage: ")
    tokenizer = ROOT / ".qa" / "models" / "multilingual-e5-small" / "tokenizer.json"
    if not tokenizer.is_file():
        pytest.skip("the default embedder is not prepared (make run)")
    there = OpenAICompatibleEmbedder(settings, http=http, tokenizer_folder=tokenizer.parent)
    assert there.count_tokens("Renault-Nissan wird Partner der DiDi Auto Alliance") > 8
    app_settings = Settings(paths={"corpus": corpus, "data": tmp_path / "data"},
                            retrieval={"translate_queries": False,
                                       "calibration": write_test_calibration(tmp_path / "calibration.json")})
    assistant = Assistant(app_settings, embedder=there, llm=fake_llm)
    report = assistant.index()
    assert report.added and any(t.startswith("passage: ") for t in seen)
    fake_llm.enqueue("450 Millionen")
    assert assistant.ask("How many registered customers does DiDi serve?").text.startswith("450 million [1]")


def test_the_server_embeds_the_input_as_given_and_the_client_adds_the_models_prompt(settings, fake_llm):
    from conftest import KeywordEmbedder

    class Prompted(KeywordEmbedder):  # a model that wants "query: " before questions, as e5 does
        def __init__(self):
            super().__init__()
            self.query_prompt = "query: "

        def encode_queries(self, texts):
            return self.encode(["query: " + t for t in texts])

    served = Prompted()
    assistant = Assistant(settings, embedder=served, llm=fake_llm)
    app = FastAPI()
    add_routes(app, assistant, Path(settings.paths.data))
    api = TestClient(app, base_url="http://testserver/v1")
    given = api.post("/embeddings", json={"input": ["query: Wer führt DiDi?"]}).json()["data"][0]["embedding"]
    np.testing.assert_allclose(given, served.encode(["query: Wer führt DiDi?"])[0], atol=1e-7)
    there = remote(api)
    assert there.query_prompt == "query: "
    np.testing.assert_allclose(there.encode_queries(["Wer führt DiDi?"]), served.encode_queries(["Wer führt DiDi?"]),
                               atol=1e-6)


def test_embeddings_need_the_key_json_and_a_body_of_reasonable_size(settings, embedder, fake_llm):
    keyed = settings.model_copy(update={"chat": settings.chat.model_copy(update={"api_key": "s3cret"})})
    app = FastAPI()
    add_routes(app, Assistant(keyed, embedder=embedder, llm=fake_llm), Path(settings.paths.data))
    api = TestClient(app, base_url="http://testserver/v1")
    assert api.post("/embeddings", json={"input": "a"}).status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    assert api.post("/embeddings", json={"input": "a"}, headers=auth).status_code == 200
    assert api.post("/embeddings", content="input=a", headers=auth).status_code == 415
    big = api.post("/embeddings", json={"input": ["x" * 20_000] * 401}, headers=auth)
    assert big.status_code == 413 and "8,000,000 bytes" in big.json()["error"]["message"]


def test_the_model_list_keeps_the_chat_model_when_the_embedder_cannot_load(assistant, monkeypatch):
    from qa.core.errors import ModelMissingError

    def missing():
        raise ModelMissingError("embedding model folder /nowhere does not exist")

    monkeypatch.setattr(assistant, "embedder_card", missing)
    app = FastAPI()
    add_routes(app, assistant, Path(assistant.settings.paths.data))
    listed = TestClient(app).get("/v1/models").json()
    assert [m["id"] for m in listed["data"]] == ["qa"]
