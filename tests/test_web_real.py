"""The real `qa serve` with the default models: driven by headless Chromium, called by gradio_client,
and used by two sessions at once. The browser tests save the README's screenshots (docs/chat.png, docs/news.png)."""

from __future__ import annotations

import os
import re
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = ROOT / "docs" / "chat.png"
NEWS_SCREENSHOT = ROOT / "docs" / "news.png"

CUSTOMERS = "How many registered customers does DiDi serve?"
INVESTORS = "Who are its investors?"  # only makes sense after CUSTOMERS
CEO = "Who is DiDi's chief executive?"
PROMISE = "What did he promise the partners?"  # only makes sense after CEO
ELECTRIC = "Wie viele Elektroautos will Renault-Nissan bis 2022 herausbringen?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(base: Path):
    """`qa serve` in its own process over `base`/corpus and `base`/data; yields its address."""
    port = free_port()
    env = {**os.environ, "QA_PATHS__CORPUS": str(base / "corpus"), "QA_PATHS__DATA": str(base / "data"),
           "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    qa = Path(sys.executable).parent / "qa"
    if not (base / "data" / "index").exists():
        subprocess.run([str(qa), "index"], cwd=base, env=env, check=True, capture_output=True, timeout=300)
    proc = subprocess.Popen([str(qa), "serve", "--port", str(port)], cwd=base, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def pump():
        for line in proc.stdout:
            log.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    url, deadline = None, time.monotonic() + 240
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line.startswith("Chat at "):
            url = line.split()[2]
    if url is None:
        proc.kill()
        pytest.fail("qa serve did not start:\n" + "".join(log))
    assert url == f"http://127.0.0.1:{port}/"  # bound to loopback by default
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(real_data, tmp_path_factory):
    """`qa serve` on a copy of the corpus and of the index (uploads must not leak)."""
    base = tmp_path_factory.mktemp("serve")
    shutil.copytree(CORPUS, base / "corpus")
    (base / "data").mkdir()
    shutil.copytree(real_data / "index", base / "data" / "index")
    (base / "data" / "models").symlink_to((real_data / "models").resolve())
    yield from serve(base)


@pytest.fixture(scope="module")
def news_server(real_data, tmp_path_factory):
    """`qa serve` on the news suite's articles (saved pages, a PDF) beside the bundled ones, indexed first."""
    from eval.suites import news_corpus

    base = tmp_path_factory.mktemp("news")
    news_corpus(CORPUS, base / "corpus")
    (base / "data").mkdir()
    (base / "data" / "models").symlink_to((real_data / "models").resolve())
    yield from serve(base)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


DRAFT_WATCH = """() => {
  window.__drafts = [];
  new MutationObserver(() => document.querySelectorAll('#chat .qa-draft')
      .forEach(e => window.__drafts.push(e.innerText)))
    .observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true});
}"""


def open_chat(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(120_000)
    return page


def ask(page, question: str):
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def answers(page):
    return page.locator("#chat .qa-answer")


@pytest.mark.browser
def test_chat_in_the_browser_streams_cites_and_follows_up(server, browser):
    page = open_chat(browser)
    page.goto(server)
    page.locator("#question textarea").wait_for()
    page.evaluate(DRAFT_WATCH)

    ask(page, CUSTOMERS)
    answers(page).nth(0).wait_for()
    drafts = [d for d in page.evaluate("window.__drafts") if d.strip("… ")]
    assert drafts, "no streamed draft was seen before the checked answer"
    assert len(set(drafts)) >= 2  # it grew token by token
    first = answers(page).nth(0)
    assert first.get_attribute("data-mode") == "composed"
    assert "450 million" in first.locator(".qa-text").inner_text()

    first.locator(".qa-text .qa-cite").first.click()
    mark = page.locator("#source-panel mark")
    mark.wait_for()
    assert "450 Millionen registrierte Kunden" in mark.inner_text()
    panel = page.locator("#source-panel").inner_text()
    assert "Renault-Nissan wird Partner der DiDi Auto Alliance" in panel and "German" in panel

    ask(page, INVESTORS)
    answers(page).nth(1).wait_for()
    second = answers(page).nth(1)
    text = second.locator(".qa-text").inner_text()
    assert all(name in text for name in ("Alibaba", "Tencent", "Baidu")), text
    page.get_by_text("Follow-up understood as").click()
    page.get_by_text("Who are DiDi investors?").wait_for()

    second.locator(".qa-text .qa-cite").first.click()
    page.locator("#source-panel .qa-source-meta", has_text="of answer 2").wait_for()
    assert "Alibaba, Tencent und Baidu" in mark.inner_text()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    page.close()


@pytest.mark.browser
def test_two_browser_sessions_at_once_keep_their_own_conversations(server, browser):
    a, b = open_chat(browser), open_chat(browser)
    for page in (a, b):
        page.goto(server)
        page.locator("#question textarea").wait_for()
    ask(a, CEO)
    ask(b, CUSTOMERS)  # queued behind a's answer
    answers(a).nth(0).wait_for()
    answers(b).nth(0).wait_for()
    ask(a, PROMISE)
    ask(b, INVESTORS)
    answers(a).nth(1).wait_for()
    answers(b).nth(1).wait_for()
    chat_a, chat_b = a.locator("#chat").inner_text(), b.locator("#chat").inner_text()
    assert "leasing" in answers(a).nth(1).inner_text() and "Cheng Wei" in chat_a
    assert "Alibaba" in answers(b).nth(1).inner_text()
    assert "Alibaba" not in chat_a and "450" not in chat_a
    assert "Cheng Wei" not in chat_b and "leasing" not in chat_b
    for page in (a, b):
        page.get_by_text("Follow-up understood as").click()
    a.get_by_text("What did Cheng Wei promise the partners?").wait_for()
    b.get_by_text("Who are DiDi investors?").wait_for()
    a.close()
    b.close()


def test_gradio_client_calls_the_ask_endpoint(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]
    first = client.predict(CUSTOMERS, None, api_name="/ask")
    assert first["mode"] == "composed" and "450 million" in first["answer"]
    c = first["citations"][0]
    assert c["file"] == "002_2f609247c276f3f8.txt" and "450 Millionen registrierte Kunden" in c["quote"]
    follow = client.predict(INVESTORS, [{"question": CUSTOMERS, "answer": first["answer"]}], api_name="/ask")
    assert follow["rewritten"] == "Who are DiDi investors?" and "Tencent" in follow["answer"]


def test_two_api_clients_at_once_get_their_own_answers(server):
    from gradio_client import Client

    one, two = Client(server, verbose=False), Client(server, verbose=False)
    jobs = [one.submit(CUSTOMERS, None, api_name="/ask"), two.submit(ELECTRIC, None, api_name="/ask")]
    first, second = (job.result(timeout=300) for job in jobs)
    assert first["question"] == CUSTOMERS and "450" in first["answer"] and first["language"] == "en"
    assert second["question"] == ELECTRIC and second["language"] == "de"
    assert "12" in second["answer"] and "450" not in second["answer"]
    assert "Renault-Nissan plans to release 12 new pure electric models" in second["citations"][0]["quote"]


def test_a_soak_of_8_clients_asking_25_questions_each_gives_no_error_and_no_mixed_answer(server):
    """Every answer names the question it answers and rests on that question's own retrieval; client-side
    latency (queueing for the one model included) is printed. The same soak as `make bench`'s."""
    import statistics

    from eval.bench.process import SOAK_CLIENTS, SOAK_QUESTIONS, at_once, failed, mixed
    from eval.metrics import percentile

    asked = at_once(server)
    assert len(asked) == SOAK_CLIENTS * SOAK_QUESTIONS
    assert failed(asked) == []
    assert mixed(asked) == []
    assert [a.question for a in asked if a.answer and a.answer["rewritten"] != a.question] == []
    by_question: dict[str, set[str]] = {}
    for a in asked:
        by_question.setdefault(a.question, set()).add(a.answer["answer"] if a.answer else "")
    unsteady = {q: sorted(answers) for q, answers in by_question.items() if len(answers) > 1}
    seconds = [a.seconds for a in asked]
    print(f"soak: {SOAK_CLIENTS} clients x {SOAK_QUESTIONS} questions, 0 errors, 0 mixed, "
          f"{len(unsteady)} questions answered differently by different clients; client latency p50 "
          f"{statistics.median(seconds):.2f} s, p95 {percentile(seconds, 95):.2f} s")
    # `unsteady` is reported, not asserted: a different cached prompt prefix may flip a near tie of greedy
    # decoding (tests/test_llm_greedy.py), so the same question may rarely get another answer.


@pytest.mark.browser
def test_articles_uploaded_in_the_browser_are_indexed_and_cited(server, browser, tmp_path):
    good = tmp_path / "tesla_berlin.md"
    good.write_text("# Tesla opens Gigafactory Berlin\n\nTesla opened its factory in Grünheide near Berlin in "
                    "March 2022. The Tesla plant in Grünheide employs 12,000 people and builds the Model Y.\n", encoding="utf-8")
    bad = tmp_path / "photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
    page = open_chat(browser)
    page.goto(server)
    page.get_by_text("Add articles").click()
    page.locator("#upload input[type=file]").set_input_files([str(good), str(bad)])
    status = page.locator("#upload-status")
    status.get_by_text("Added:").wait_for()
    text = status.inner_text()
    assert "tesla_berlin.md" in text and "1 new" in text
    assert "Refused photo.txt: photo.txt: looks like a binary file" in text
    ask(page, "How many people does the Tesla plant in Grünheide employ?")
    answers(page).nth(0).wait_for()
    reply = answers(page).nth(0)
    assert "12,000" in reply.inner_text() and "tesla_berlin.md" in reply.inner_text()
    page.close()


@pytest.mark.browser
def test_outlets_that_disagree_are_shown_with_each_figure_its_outlet_and_its_date(news_server, browser):
    page = open_chat(browser)
    page.goto(news_server)
    page.locator("#question textarea").wait_for()
    ask(page, "In how many cities will Nordalp Mobility operate?")
    answers(page).nth(0).wait_for()
    answer = answers(page).nth(0)
    assert answer.get_attribute("data-mode") == "composed"
    text = answer.locator(".qa-text").inner_text()
    short = text.split(" — ")[0]
    assert short.endswith("depending on the report"), text
    figures = re.findall(r"(\d+)(?: cities)? \((\w+ \d+, \d{4})\) \[(\d+)\]", short)
    assert len(figures) >= 2 and len({f for f, _, _ in figures}) == len(figures), short
    sources = answer.locator(".qa-sources li")
    labels = {}
    for i in range(sources.count()):
        item = sources.nth(i).inner_text()
        n = re.match(r"\[(\d+)\]", item).group(1)
        labels[n] = item
    for figure, day, n in figures:  # each figure's citation names its outlet and that report's date
        outlet = re.search(r"— ([^,]+), (\d{4}-\d{2}-\d{2})", labels[n])
        assert outlet, labels[n]
        assert date.fromisoformat(outlet.group(2)) == datetime.strptime(day, "%B %d, %Y").date()
    german = next(n for n, item in labels.items() if "Münchner Abendpost" in item)
    answer.locator(f".qa-sources .qa-cite[data-key$=':{german}']").click()
    mark = page.locator("#source-panel mark")
    mark.wait_for()
    assert "29 Städten" in mark.inner_text()
    NEWS_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(NEWS_SCREENSHOT))
    page.close()


def test_the_stock_openai_client_gets_cited_answers_streamed_or_not(server):
    import httpx
    from openai import BadRequestError, NotFoundError, OpenAI

    client = OpenAI(base_url=server + "v1", api_key="unused", max_retries=0, timeout=300)
    assert [m.id for m in client.models.list().data] == ["qa", "multilingual-e5-small"]

    done = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": CUSTOMERS}])
    message = done.choices[0].message
    assert "450 million" in message.content and "[1]" in message.content
    (note,) = message.annotations
    assert note.type == "url_citation"
    cited = note.url_citation
    assert message.content[cited.start_index : cited.end_index] == "[1]"
    page = httpx.get(cited.url, timeout=30)
    assert page.status_code == 200 and "<mark>Zu den Investoren bei DiDi" in page.text
    extra = done.model_extra
    assert extra["citations"] == [cited.url]
    quote = extra["search_results"][0]["snippet"]
    assert "450 Millionen registrierte Kunden" in quote and extra["qa"]["citations"][0]["quote"] == quote

    pieces, notes = [], []
    for chunk in client.chat.completions.create(model="qa", stream=True,
                                                messages=[{"role": "user", "content": CUSTOMERS}]):
        delta = chunk.choices[0].delta
        pieces.append(delta.content or "")
        notes += (delta.model_extra or {}).get("annotations") or []
    streamed = "".join(pieces)
    assert streamed == message.content and len(pieces) > 3
    assert [n["url_citation"]["url"] for n in notes] == [cited.url]

    follow = client.chat.completions.create(model="qa", messages=[
        {"role": "user", "content": CUSTOMERS}, {"role": "assistant", "content": message.content},
        {"role": "user", "content": INVESTORS}])
    assert follow.model_extra["qa"]["rewritten"] != INVESTORS and "DiDi" in follow.model_extra["qa"]["rewritten"]
    assert "Alibaba" in follow.choices[0].message.content

    with pytest.raises(NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": CUSTOMERS}])
    assert missing.value.code == "model_not_found"
    with pytest.raises(BadRequestError) as bad:
        client.chat.completions.create(model="qa", messages=[{"role": "assistant", "content": "hello"}])
    assert "last message" in bad.value.message


def test_another_assistant_embeds_its_questions_through_qa_serve(server, real_data):
    """`embedder.backend = "openai"` against the real `qa serve`: the stock client's vectors are the local
    model's, and an assistant asking through the server answers with the cited quote."""
    import numpy as np
    from openai import OpenAI

    from qa import models
    from qa.assistant import Assistant
    from qa.core.settings import Settings

    local = models.load_embedder(Settings(paths={"corpus": CORPUS, "data": real_data}))
    client = OpenAI(base_url=server + "v1", api_key="unused", max_retries=0, timeout=300)
    texts = ["query: How many registered customers does DiDi serve?", "passage: DiDi bedient 450 Millionen Kunden."]
    served = client.embeddings.create(model="multilingual-e5-small", input=texts)  # base64, as the client asks
    vectors = np.array([d.embedding for d in served.data], dtype=np.float32)
    assert float(np.min(np.sum(vectors * local.encode(texts), axis=1))) > 0.99999

    settings = Settings(paths={"corpus": CORPUS, "data": real_data},
                        embedder={"backend": "openai", "base_url": server + "v1"})
    there = Assistant(settings)
    assert there.embedder_identity == local.identity
    asked = there.embedder.encode_queries([CUSTOMERS])  # through the server, with the listed "query: " prompt
    assert float(np.sum(asked * local.encode_queries([CUSTOMERS]))) > 0.99999
    answer = there.ask(CUSTOMERS)
    assert answer.text.startswith("450 million [1]")
    assert "450 Millionen registrierte Kunden" in answer.citations[0].quote

