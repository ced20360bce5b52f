"""`qa mcp` (qa/mcp_server.py): the tools and resources an MCP client sees, in process on the fakes, and the
real `qa mcp` over stdio with the default models, driven by the `mcp` SDK's own client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from qa.mcp_server import build, document_uri

from conftest import CORPUS, ROOT

QUOTE = ("Zu den Investoren bei DiDi gehören u.a. Alibaba, Tencent und Baidu, DiDi bedient mittlerweile 450 Millionen "
         "registrierte Kunden in über 400 Metropolen Chinas.")


def call(server, tool: str, arguments: dict):
    async def run():
        async with Client(server) as client:
            return await client.call_tool(tool, arguments)

    return anyio.run(run)


def structured(result):
    assert not result.is_error, result.content
    content = result.structured_content
    return content.get("result", content) if isinstance(content, dict) and set(content) == {"result"} else content


def test_the_tools_and_the_documents_are_listed(assistant):
    async def run():
        async with Client(build(assistant)) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            resources = (await client.list_resources()).resources
            text = await client.read_resource(document_uri("002_2f609247c276f3f8.txt"))
            return tools, resources, text

    tools, resources, text = anyio.run(run)
    assert tools == {"ask", "search", "list_documents", "add_documents"}
    assert {str(r.uri) for r in resources} == {document_uri(p.name) for p in CORPUS.glob("*.txt")}
    assert QUOTE in text.contents[0].text


def test_ask_gives_a_cited_answer(assistant, fake_llm):
    fake_llm.enqueue("450 Millionen")
    answer = structured(call(build(assistant), "ask", {"question": "How many registered customers does DiDi serve?"}))
    assert answer["mode"] == "composed" and answer["answer"].startswith("450 ")
    (cited,) = answer["citations"]
    assert cited["file"] == "002_2f609247c276f3f8.txt" and cited["quote"] == QUOTE


def test_search_gives_sentences_with_their_sources(assistant, fake_llm):
    found = structured(call(build(assistant), "search", {"query": "Wie viele registrierte Kunden hat DiDi?",
                                                         "limit": 3}))
    assert 1 <= len(found) <= 3 and found[0]["quote"] == QUOTE
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)
    assert fake_llm.history == []  # nothing generated


def test_a_bad_call_is_a_tool_error_naming_the_field(assistant):
    result = call(build(assistant), "ask", {"question": "Who leads DiDi?", "since": "yesterday"})
    assert result.is_error and "since: 'yesterday' is not a date" in result.content[0].text


def test_documents_are_added_and_become_resources(assistant, tmp_path):
    new = tmp_path / "tesla.md"
    new.write_text("# Tesla news\n\nTesla opened a factory in Grünheide in 2022. It builds cars.\n", encoding="utf-8")
    bad = tmp_path / "notes.exe"
    bad.write_bytes(b"MZ\x00\x01")
    server = build(assistant)
    report = structured(call(server, "add_documents", {"paths": [str(new), str(bad)]}))
    assert report["added"] == ["tesla.md"] and report["refused"][0]["file"] == "notes.exe"
    listed = structured(call(server, "list_documents", {}))
    assert "tesla.md" in {d["file"] for d in listed}

    async def read():
        async with Client(server) as client:
            return await client.read_resource(document_uri("tesla.md"))

    assert "Grünheide" in anyio.run(read).contents[0].text


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_real_qa_mcp_over_stdio_answers_with_citations_and_searches(real_data):
    env = {**os.environ, "QA_PATHS__CORPUS": str(CORPUS), "QA_PATHS__DATA": str(real_data), "HF_HUB_OFFLINE": "1"}
    qa = Path(sys.executable).parent / "qa"
    params = StdioServerParameters(command=str(qa), args=["mcp"], env=env, cwd=str(ROOT))

    async def run():
        async with Client(params, read_timeout_seconds=300) as client:
            asked = await client.call_tool("ask", {"question": "How many registered customers does DiDi serve?"})
            found = await client.call_tool("search", {"query": "Wer sind die Investoren von DiDi?", "limit": 3})
            return asked, found

    asked, found = anyio.run(run)
    answer = structured(asked)
    assert "450 million" in answer["answer"] and "[1]" in answer["answer"]
    assert "450 Millionen registrierte Kunden" in answer["citations"][0]["quote"]
    sentences = structured(found)
    assert any("Alibaba, Tencent und Baidu" in s["quote"] for s in sentences)
    assert json.dumps(sentences)  # plain JSON for any client
