"""The OpenAI-compatible API (qa/openai_api.py) on the fakes: the shapes citations travel in, streaming, the
conversation in `messages`, errors as OpenAI reports them, the bearer token and the passage a link opens."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qa.assistant import Assistant
from qa.openai_api import add_routes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CUSTOMERS = "How many registered customers does DiDi serve?"
QUOTE = ("Zu den Investoren bei DiDi gehören u.a. Alibaba, Tencent und Baidu, DiDi bedient mittlerweile 450 Millionen "
         "registrierte Kunden in über 400 Metropolen Chinas.")


def client_of(assistant: Assistant) -> TestClient:
    app = FastAPI()
    add_routes(app, assistant, Path(assistant.settings.paths.data))
    return TestClient(app)


@pytest.fixture
def api(assistant):
    return client_of(assistant)


def ask(api: TestClient, *messages: dict, **extra):
    return api.post("/v1/chat/completions", json={"model": "qa", "messages": list(messages), **extra})


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def test_the_model_list_names_the_assistant_and_its_embedder(api):
    listed = api.get("/v1/models").json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == ["qa", "keyword-fake"]
    assert listed["data"][1]["qa_embedder"] == {"name": "keyword-fake", "dim": 256, "fingerprint": "fake",
                                                "query_prompt": "", "document_prompt": ""}


def test_an_answer_carries_its_citations_in_every_shape(api, fake_llm):
    fake_llm.enqueue("450 Millionen")
    body = ask(api, {"role": "system", "content": "Answer in pirate speak."}, user(CUSTOMERS)).json()
    assert body["object"] == "chat.completion" and body["model"] == "qa"
    message = body["choices"][0]["message"]
    content = message["content"]
    assert content.startswith("450 ") and "[1]" in content and body["choices"][0]["finish_reason"] == "stop"
    (note,) = message["annotations"]
    cited = note["url_citation"]
    assert note["type"] == "url_citation" and content[cited["start_index"] : cited["end_index"]] == "[1]"
    assert cited["title"] == "Renault-Nissan wird Partner der DiDi Auto Alliance"
    assert body["citations"] == [cited["url"]]
    (result,) = body["search_results"]
    assert result["snippet"] == QUOTE and result["url"] == cited["url"]
    record = body["qa"]["citations"][0]
    assert record["file"] == "002_2f609247c276f3f8.txt" and record["quote"] == QUOTE
    assert body["qa"]["mode"] == "composed"
    page = api.get(urlsplit(cited["url"]).path + "?" + urlsplit(cited["url"]).query)
    assert page.status_code == 200 and f"<mark>{QUOTE}</mark>" in page.text
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] > 0


def test_a_streamed_answer_is_the_checked_text_in_pieces_then_its_citations(api, fake_llm):
    fake_llm.enqueue("450 Millionen")
    with api.stream("POST", "/v1/chat/completions",
                    json={"model": "qa", "messages": [user(CUSTOMERS)], "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: "):] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.startswith("450 ") and len(chunks) > 3
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    (note,) = last["choices"][0]["delta"]["annotations"]
    assert text[note["url_citation"]["start_index"] : note["url_citation"]["end_index"]] == "[1]"
    assert last["search_results"][0]["snippet"] == QUOTE


def test_the_conversation_in_messages_makes_a_follow_up_standalone(api, fake_llm):
    fake_llm.enqueue("450 Millionen", "Alibaba, Tencent und Baidu")
    first = ask(api, user(CUSTOMERS)).json()["choices"][0]["message"]["content"]
    body = ask(api, user(CUSTOMERS), {"role": "assistant", "content": first}, user("Who are its investors?")).json()
    assert body["qa"]["rewritten"] != "Who are its investors?" and "DiDi" in body["qa"]["rewritten"]


@pytest.mark.parametrize("payload, status, param, words", [
    ({"model": "gpt-4o", "messages": [user(CUSTOMERS)]}, 404, "model", "does not exist"),
    ({"messages": [user(CUSTOMERS)]}, 400, "model", "required"),
    ({"model": "qa", "messages": []}, 400, "messages", "non-empty"),
    ({"model": "qa", "messages": [user(CUSTOMERS), {"role": "assistant", "content": "x"}]}, 400, "messages",
     "last message"),
    ({"model": "qa", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, 400,
     "messages[0].content", "only text parts"),
    ({"model": "qa", "messages": [user("   ")]}, 400, None, "empty"),
    ({"model": "qa", "messages": [user(CUSTOMERS)], "n": 2}, 400, "n", "one answer"),
    ({"model": "qa", "messages": [user(CUSTOMERS)], "qa": {"since": "last week"}}, 400, None, "not a date"),
    ({"model": "qa", "messages": [user(CUSTOMERS)], "qa": {"outlet": ["x"]}}, 400, "qa", "unknown field"),
])
def test_a_bad_request_gets_an_openai_error_object(api, payload, status, param, words):
    response = api.post("/v1/chat/completions", json=payload)
    assert response.status_code == status
    error = response.json()["error"]
    assert words in error["message"] and error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_a_body_that_is_not_json_is_an_error_object(api):
    response = api.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not JSON" in response.json()["error"]["message"]


def test_the_scope_travels_in_the_qa_field(api, fake_llm):
    fake_llm.enqueue("450 Millionen")
    body = ask(api, user(CUSTOMERS), qa={"languages": ["en"]}).json()
    assert all(c["language"] == "en" for c in body["qa"]["citations"])


def test_with_an_api_key_only_its_bearer_is_answered(settings, embedder, fake_llm):
    keyed = settings.model_copy(update={"chat": settings.chat.model_copy(update={"api_key": "s3cret"})})
    assistant = Assistant(keyed, embedder=embedder, llm=fake_llm)
    assistant.index()
    api = client_of(assistant)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        response = api.get("/v1/models", headers=headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    assert api.post("/v1/chat/completions", json={}).status_code == 401
    bearer = {"Authorization": "Bearer s3cret"}
    assert api.get("/v1/models", headers=bearer).status_code == 200
    fake_llm.enqueue("450 Millionen")
    body = api.post("/v1/chat/completions", headers=bearer,
                    json={"model": "qa", "messages": [user(CUSTOMERS)]}).json()
    link = urlsplit(body["citations"][0])
    assert "sig=" in link.query
    assert api.get(f"{link.path}?{link.query}").status_code == 200  # a link from an answer opens in a browser
    unsigned = link.query.split("&sig=")[0]
    assert api.get(f"{link.path}?{unsigned}").status_code == 403  # a passage asked for by hand does not
    assert api.get(f"{link.path}?{unsigned.replace('start=550', 'start=0')}&sig={link.query.split('sig=')[1]}"
                   ).status_code == 403


def test_a_server_with_a_key_proves_it_holds_it_without_being_asked_for_it(settings, embedder, fake_llm):
    from qa import client

    keyed = settings.model_copy(update={"chat": settings.chat.model_copy(update={"api_key": "s3cret"})})
    assistant = Assistant(keyed, embedder=embedder, llm=fake_llm)
    assistant.index()
    api = client_of(assistant)
    assert api.get("/qa/identity?nonce=abc").json() == {"index": "", "proof": client.proof("s3cret", "abc")}
    assistant.loaded_index()
    reply = api.get("/qa/identity?nonce=abc").json()
    assert reply["index"] == client.index_identity(keyed, assistant.loaded_generation())
    assert reply["proof"] != client.proof("other", "abc")


def test_a_post_that_is_not_json_is_refused_before_any_model_runs(api, fake_llm):
    response = api.post("/v1/chat/completions", content=json.dumps({"model": "qa", "messages": [user(CUSTOMERS)]}),
                        headers={"content-type": "text/plain"})  # what any web page may send cross-site
    assert response.status_code == 415 and fake_llm.history == []


@pytest.mark.parametrize("query, status", [
    ("file=../../etc/passwd&start=0&end=10", 404),
    ("file=002_2f609247c276f3f8.txt&start=0&end=999999", 400),
    ("file=002_2f609247c276f3f8.txt&start=a&end=b", 400),
    ("file=002_2f609247c276f3f8.txt&start=20&end=10", 400),
])
def test_the_passage_page_shows_only_indexed_text(api, query, status):
    assert api.get(f"/passage?{query}").status_code == status


def test_serving_beyond_this_machine_needs_an_api_key(assistant):
    from qa.core.errors import ServeError
    from qa.web import serve

    with pytest.raises(ServeError, match="reaches other machines") as caught:
        serve(assistant, "0.0.0.0", 0)
    assert "chat.api_key" in caught.value.hint


@pytest.fixture
def running(assistant):
    """The API on the fakes, served by uvicorn on a free loopback port in this process."""
    import socket
    import threading
    import time

    import uvicorn

    app = FastAPI()
    add_routes(app, assistant, Path(assistant.settings.paths.data))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def test_qa_ask_hands_the_question_to_a_running_server_of_the_same_index(assistant, fake_llm, running, tmp_path):
    import os
    import subprocess
    import sys

    fake_llm.enqueue("450 Millionen")
    s = assistant.settings
    assistant.loaded_index()  # a server has loaded its index once it has answered or warmed up
    env = {**os.environ, "QA_PATHS__DATA": str(s.paths.data), "QA_PATHS__CORPUS": str(s.paths.corpus),
           "QA_RETRIEVAL__TRANSLATE_QUERIES": "false", "QA_RETRIEVAL__CALIBRATION": str(s.retrieval.calibration),
           "QA_CHAT__PORT": str(running)}
    cmd = [sys.executable, "-m", "qa.cli", "ask", "How many registered customers does DiDi serve?"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("450 ") and "002_2f609247c276f3f8.txt, chars 550-708" in r.stdout
    assert f"answered by the qa serve at http://127.0.0.1:{running}" in r.stderr
    assert fake_llm.history  # the server's model answered
    other = subprocess.run(cmd, env={**env, "QA_PATHS__DATA": str(tmp_path / "other")}, capture_output=True,
                           text=True, timeout=120)
    assert other.returncode == 2 and "qa index" in other.stderr  # another index is never answered by this server


def test_a_server_with_other_settings_or_without_the_key_is_not_handed_the_question(assistant, running):
    from qa import client

    s = assistant.settings
    assistant.loaded_index()
    here = s.model_copy(update={"chat": s.chat.model_copy(update={"port": running})})
    generation = assistant.loaded_generation()
    assert client.running_server(here, client.index_identity(here, generation)) == f"http://127.0.0.1:{running}"
    changed = here.model_copy(update={"retrieval": here.retrieval.model_copy(update={"max_evidence": 2})})
    assert client.running_server(changed, client.index_identity(changed, generation)) is None
    assert client.running_server(here, client.index_identity(here, generation + 1)) is None  # re-indexed since
    keyed = here.model_copy(update={"chat": here.chat.model_copy(update={"api_key": "s3cret"})})
    # this server cannot prove it holds the key, so the key is never sent to it
    assert client.running_server(keyed, client.index_identity(keyed, generation)) is None


def test_when_too_many_questions_wait_the_next_is_told_to_come_back(assistant, fake_llm, monkeypatch):
    import qa.openai_api

    monkeypatch.setattr(qa.openai_api, "MAX_WAITING", 0)
    response = ask(client_of(assistant), user(CUSTOMERS))
    assert response.status_code == 429 and response.json()["error"]["type"] == "rate_limit_error"
    assert fake_llm.history == []
