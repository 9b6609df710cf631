"""The chat page: escaping (unit) and a real headless Chromium session (browser)."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ARTIFACTS, DEMO, ROOT, write_jsonl

XSS = {"id": "xss-1", "title": "<img src=x onerror=\"window.__xss=1\">Evil title",
       "source": "evil.example", "url": "javascript:window.__xss=2",
       "published": "2017-01-25",
       "text": "The zebra parade <script>window.__xss=3</script> was held in Quokkaville on Sunday. "
               "Organisers of the zebra parade said <img src=y onerror=\"window.__xss=4\"> forty zebras marched."}


def test_an_abstention_says_when_the_judge_refused_it():
    from qa.app.render import answer_text_html
    from qa.types import Answer

    plain = Answer("q", "The articles don't say.", [], True, [])
    assert "No answer in the articles" in answer_text_html(plain, 0) and "language model" not in answer_text_html(plain, 0)
    refused = Answer("q", "The articles don't say.", [], True, [], judged=False)
    assert "the language model found that its passage does not answer" in answer_text_html(refused, 0)


def test_render_sources_escapes_untrusted_text():
    from qa.app.render import render_sources
    from qa.types import Answer, Chunk, Citation, Passage

    text = XSS["text"]
    s = text.index("Organisers")
    chunk = Chunk(id=0, doc_id="xss-1", start=0, end=len(text), text=text, n_tokens=50)
    p = Passage(chunk=chunk, title=XSS["title"], source="evil.example", url=XSS["url"], published="", score=1, rank=1)
    c = Citation(n=1, doc_id="xss-1", title=XSS["title"], url=XSS["url"], published="", source="evil.example",
                 quote=text[s:], start=s, end=len(text), passage_rank=1)
    answer = Answer("q", "a [1]", [c], False, [p])
    answer.article_texts = {"xss-1": text}
    out = render_sources(answer)
    assert "<script" not in out and "<img" not in out and "javascript:" not in out
    assert "&lt;script&gt;" in out and "&lt;img" in out
    assert "<mark>Organisers" in out


def _eventually(check, message: str, within: float = 60):
    """Poll ``check`` until it is true (no fixed sleeps: as fast as the machine allows)."""
    deadline = time.time() + within
    while not check():
        if time.time() > deadline:
            raise AssertionError(f"{message} (waited {within:g} s)")
        time.sleep(0.05)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _start(idx, feedback):
    env = {**os.environ, "QA_INDEX_DIR": str(idx), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "QA_FEEDBACK_FILE": str(feedback)}
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--index", str(idx), "--port", str(port), "--no-demo"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return _wait_port(port, proc), proc


def _wait_port(port: int, proc: subprocess.Popen, within: float = 120) -> str:
    """Poll until the app accepts connections on ``port``: its url (the process's output if it died)."""
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"http://127.0.0.1:{port}/"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read()) from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the app did not start in {within:g} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("app")
    xss = write_jsonl(base / "xss.jsonl", [XSS])
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "qa.cli", "--index", str(base / "idx"), "ingest", "--quiet", str(DEMO),
                    str(xss)], env=env, check=True, cwd=ROOT, timeout=300, capture_output=True)
    url, proc = _start(base / "idx", base / "feedback.jsonl")
    yield url, base / "feedback.jsonl"
    proc.terminate()
    proc.wait(timeout=20)


def _open(pw, url):
    """A desktop-sized page on ``url`` in a fresh headless Chromium: (browser, page)."""
    b = _launch(pw)
    page = b.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    return b, page


def _launch(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"])


BOTS = "#chat .message.bot, #chat [data-testid='bot']"
USERS = "#chat [data-testid='user']"


def _wait_idle(page):
    """Wait until the previous answer has finished streaming: Gradio ignores a submit while one is pending."""
    page.wait_for_function(
        "sel => ![...document.querySelectorAll(sel)].some(e => e.innerText.includes('\u258c'))",
        arg=BOTS, timeout=90000)
    page.wait_for_function("() => !document.querySelector('#chat .pending, #chat .generating')", timeout=90000)


def _ask(page, question):
    from playwright.sync_api import expect

    _wait_idle(page)
    users = page.locator(USERS)
    before = users.count()
    box = page.locator("#question textarea, #question input").first
    box.fill(question)
    box.press("Enter")
    expect(users).to_have_count(before + 1, timeout=30000)
    expect(users.last).to_contain_text(question[:20])
    return page.locator(BOTS).last


browser = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (make test installs it)")


@pytest.mark.browser
@browser
def test_chat_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    url, feedback = server
    with sync_playwright() as pw:
        b, page = _open(pw, url)
        # 1. ask: a streamed answer with clickable citations
        bot = _ask(page, "Who will mediate the Astana talks?")
        expect(bot).to_contain_text("Turkey", timeout=90000)
        expect(page.locator("#sources .source").first).to_be_visible(timeout=30000)
        expect(page.locator("#searched")).to_contain_text("Searched for: Who will mediate the Astana talks?")
        page.screenshot(path=str(ARTIFACTS / "app-1-answer.png"), full_page=True)
        # 2. click [1]: its source card is targeted and the cited sentence is highlighted
        bot.locator("a.cite").first.click()
        expect(page).to_have_url(re.compile(r"#source-0-1$"))
        card = page.locator("#source-0-1")
        expect(card.locator("mark").first).to_be_visible()
        quote = card.locator("mark").first.inner_text()
        assert "Russia, Turkey and Iran" in quote
        card.locator("summary").click()  # open the whole article, span highlighted
        expect(card.locator(".article mark")).to_have_text(quote)
        page.screenshot(path=str(ARTIFACTS / "app-2-citation-clicked.png"), full_page=True)
        # 3. feedback: thumbs up is saved with the question, answer and citations
        page.locator("#chat button[aria-label='Like']").last.click()
        _eventually(lambda: feedback.exists() and feedback.read_text().strip(), "the feedback was not saved")
        rec = json.loads(feedback.read_text().splitlines()[-1])
        assert rec["vote"] == "up" and rec["question"] == "Who will mediate the Astana talks?" and rec["citations"]
        # the same process serves the API beside the page: the page's quote is the API's article text
        api = page.request.post(url.rstrip("/") + "/v1/ask", data={"question": "Who will mediate the Astana talks?"})
        cited = api.json()["citations"][0]
        text = page.request.get(url.rstrip("/") + f"/v1/articles/{cited['doc_id']}").json()["text"]
        assert text[cited["start"]:cited["end"]] == cited["quote"] == quote
        # 4. a follow-up that only makes sense with the previous turn
        bot = _ask(page, "What did Russia, Turkey and Iran agree on in Astana?")
        expect(bot).to_contain_text("monitor", timeout=90000)
        bot = _ask(page, "When is the next round?")
        expect(bot).to_contain_text("February 15", timeout=90000)
        expect(page.locator("#searched")).to_contain_text("Astana")
        page.screenshot(path=str(ARTIFACTS / "app-3-follow-up.png"), full_page=True)
        # 5. an article with markup and a javascript: url renders as text, runs nothing
        bot = _ask(page, "What happened at the zebra parade in Quokkaville?")
        expect(bot).to_contain_text("zebra", timeout=90000)
        expect(bot).to_contain_text("<img src=y onerror")
        assert bot.locator("img").count() == 0
        expect(bot.locator("a.cite").last).to_be_visible(timeout=30000)
        card = page.locator(bot.locator("a.cite").first.get_attribute("href"))
        expect(card).to_contain_text("<img src=x onerror")
        assert page.evaluate("window.__xss") is None
        assert page.locator("a[href^='javascript']").count() == 0
        page.screenshot(path=str(ARTIFACTS / "app-4-xss-as-text.png"), full_page=True)
        # 6. a disputed toll: who reports it (their quotes expand), and the report that disagrees
        bot = _ask(page, "How many people were killed by the avalanche at the Hotel Rigopiano?")
        expect(bot).to_contain_text("another report says", timeout=90000)
        note = bot.locator(".corroboration")
        expect(note).to_contain_text("Reported by 3 independent outlets", timeout=30000)
        expect(note.locator(".disagree")).to_contain_text("Sources disagree: 29 (3 outlets) against 24")
        expect(note.locator("details").first.locator("li").first).not_to_be_visible()  # quotes fold away
        note.locator("summary").first.click()
        expect(note.locator("details").first).to_contain_text("Adriatic Herald")
        expect(note).to_contain_text("Lakeshore Daily of Mountain Courier's report")  # a copy, counted once
        page.screenshot(path=str(ARTIFACTS / "app-4b-corroboration.png"), full_page=True)
        # 7. abstention looks different and lists related passages
        bot = _ask(page, "What is the capital of France?")
        expect(bot).to_contain_text("don't say", timeout=90000)
        expect(page.locator("#sources .related")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "app-5-abstain.png"), full_page=True)
        # 8. upload a new article in the library and get an answer citing it
        page.get_by_role("tab", name="Library").click()
        new = tmp_path / "ferry.md"
        new.write_text("---\ntitle: Ferry service resumes to Isla Gorrion\nsource: coast.example\n"
                       "published: 2017-01-27\n---\nThe ferry to Isla Gorrion restarted on Friday after a "
                       "three-week strike by the crew. The operator said the crossing takes 47 minutes.\n")
        page.locator("input[type=file]").first.set_input_files(str(new))
        page.get_by_role("button", name="Add to index").click()
        expect(page.get_by_text("added 1")).to_be_visible(timeout=90000)
        expect(page.get_by_text("Ferry service resumes to Isla Gorrion").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "app-6-library-upload.png"), full_page=True)
        page.get_by_role("tab", name="Chat").click()
        bot = _ask(page, "How long does the ferry crossing to Isla Gorrion take?")
        expect(bot).to_contain_text("47 minutes", timeout=90000)
        expect(page.locator("#sources")).to_contain_text("Ferry service resumes to Isla Gorrion")
        page.screenshot(path=str(ARTIFACTS / "app-7-answer-from-upload.png"), full_page=True)
        b.close()


@pytest.mark.browser
@browser
def test_phone_width_and_empty_index(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    url, proc = _start(tmp_path / "empty_idx", tmp_path / "fb.jsonl")
    try:
        with sync_playwright() as pw:
            b = _launch(pw)
            page = b.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            page.goto(url)
            expect(page.get_by_text("The index is empty").first).to_be_visible(timeout=30000)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 400, f"page is {width}px wide at a phone's 390px"
            bot = _ask(page, "Anything?")
            expect(bot).to_contain_text("index is empty", timeout=60000)
            page.screenshot(path=str(ARTIFACTS / "app-8-phone-empty.png"), full_page=True)
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_upload_names_cannot_escape_the_upload_folder():
    from qa.app.library import safe_upload_name

    for bad in ["../../etc/passwd", "..\\..\\win.ini", "/abs/path/x.jsonl", ".hidden.md", "a b;rm -rf.txt", ""]:
        name = safe_upload_name(bad)
        assert "/" not in name and "\\" not in name and not name.startswith(".") and name
    assert safe_upload_name("../../news 1.jsonl") == "news_1.jsonl"


def test_streaming_never_shows_a_half_tag():
    from qa.app.render import close_tags as _close_tags

    assert _close_tags('Russia. <a class="cite" href="#s') == "Russia. "
    assert _close_tags('Russia. <a class="cite" href="#s-1">[1]') == 'Russia. <a class="cite" href="#s-1">[1]</a>'


def test_api_streams_the_answer(server):
    from gradio_client import Client

    url, _ = server
    job = Client(url, verbose=False).submit(message="Who led the Syrian government delegation in Astana?", history=[],
                                            as_of="", date_from="", date_to="", sources=[], k=8, mode="extractive",
                                            api_name="/ask")
    final = job.result(timeout=120)
    updates = job.outputs()
    assert len(updates) >= 3, "the answer should arrive in several updates"
    assert "Bashar al-Jaafari" in final[3]  # the copy text: answer with sources
    assert "Sources:" in final[3]


@pytest.mark.slow
def test_a_long_upload_does_not_block_another_users_question(server, tmp_path):
    from gradio_client import Client, handle_file

    url, _ = server
    big = write_jsonl(tmp_path / "many.jsonl", [
        {"id": f"bulk-{i}", "title": f"Bulletin {i}", "text": " ".join(
            f"Regional bulletin {i} reports item {j} about weather, markets and local council decisions."
            for j in range(12))} for i in range(400)])
    uploader, asker = Client(url, verbose=False), Client(url, verbose=False)
    up = uploader.submit([handle_file(str(big))], "", "newest first", api_name="/upload")

    def embedding():  # the upload has reached its embedding stage
        progress = up.status().progress_data or []
        return any((p.desc or "").startswith("embedding") for p in progress)

    _eventually(embedding, "the upload never reported embedding progress", within=300)
    t = time.time()
    answer = asker.predict(message="Where did Yahya Jammeh go into exile?", history=[], as_of="", date_from="",
                           date_to="", sources=[], k=8, mode="extractive", api_name="/ask")
    asked_in = time.time() - t
    assert "Equatorial Guinea" in answer[3]
    assert not up.done(), f"the upload finished before the question was answered ({asked_in:.1f}s)"
    log = up.result(timeout=600)[0]
    assert "added 400" in log


@pytest.mark.browser
@pytest.mark.llm
@browser
def test_local_model_answer_streams_and_is_verified_in_the_browser(server):
    pytest.importorskip("llama_cpp", reason="the [llm] extra is not installed")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    url, _ = server
    with sync_playwright() as pw:
        b, page = _open(pw, url)
        page.get_by_text("Filters and settings").click()
        page.get_by_label("local", exact=True).check()
        page.evaluate("""() => { window.__drafts = 0; new MutationObserver(() => {
            if (document.querySelector('#chat .draft')) window.__drafts += 1; })
            .observe(document.body, {childList: true, subtree: true, characterData: true}); }""")
        bot = _ask(page, "Who will mediate the Astana talks?")
        expect(bot.locator(".verify-note")).to_contain_text("verified", timeout=180000)
        assert page.evaluate("window.__drafts") > 1  # the unverified draft streamed before the final answer
        expect(bot).to_contain_text("Turkey")
        expect(bot.locator("a.cite").first).to_be_visible()
        card = page.locator(bot.locator("a.cite").first.get_attribute("href"))
        expect(card.locator("mark").first).to_contain_text("Turkey")
        page.screenshot(path=str(ARTIFACTS / "app-9-local-model.png"), full_page=True)
        b.close()
