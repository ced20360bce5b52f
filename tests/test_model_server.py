"""llama-cpp-python's OpenAI-compatible server running the default GGUF answers the seed suite for the assistant
(`llm.backend = "openai"`) exactly as the model run in process does."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest

from eval import harness
from eval import suites as suite_lib
from qa import models
from qa.assistant import Assistant
from qa.core.settings import Settings

from conftest import CORPUS

pytestmark = pytest.mark.slow


def start_server(gguf, log) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port",
           str(port), "--n_ctx", "2048", "--n_threads", "2", "--seed", "0"]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), f"http://127.0.0.1:{port}/v1"


def wait_for(server: subprocess.Popen, base_url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
        assert server.poll() is None, "llama-cpp-python's server stopped; see its log"
    pytest.fail("llama-cpp-python's server did not start in 120 s")


@pytest.fixture(scope="module")
def model_servers(real_data, tmp_path_factory):
    """Two servers of the default GGUF: one for answers, one for translations, as the assistant keeps two
    contexts in process."""
    gguf = models.llm_path(Settings(paths={"data": real_data}))
    log = (tmp_path_factory.mktemp("model_server") / "server.log").open("w")
    started = [start_server(gguf, log) for _ in range(2)]
    try:
        for server, base_url in started:
            wait_for(server, base_url)
        yield [base_url for _, base_url in started]
    finally:
        for server, _ in started:
            server.terminate()
            server.wait(timeout=30)
        log.close()


def answers(settings: Settings) -> dict[str, tuple]:
    suite = suite_lib.suite("seed", settings)
    assistant = Assistant(suite_lib.suite_settings(settings, suite))
    assistant.index(suite.corpus)
    report = harness.run(assistant, suite.questions(), suite="seed")
    return {
        q["id"]: (q["answer"], [(c["doc_id"], c["char_start"], c["char_end"]) for c in q["citations"]])
        for q in report["questions"]
    }


def test_the_seed_suite_through_model_servers_gets_the_in_process_answers(real_data, model_servers):
    here = answers(Settings(paths={"corpus": CORPUS, "data": real_data}))
    answering, translating = model_servers
    there = answers(Settings(paths={"corpus": CORPUS, "data": real_data},
                             llm={"backend": "openai", "base_url": answering, "translation_base_url": translating}))
    assert len(here) >= 40 and there.keys() == here.keys()
    assert sum(bool(c) for _, c in here.values()) >= 30  # most answers are cited answers, not refusals
    assert {q: there[q] for q in here if there[q] != here[q]} == {}
