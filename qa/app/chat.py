"""The chat tab's handlers: a streamed, cited answer per question (follow-ups keep their context
per browser session), the sources of an earlier turn, and thumbs up/down feedback.

Gradio reads the handlers' annotations (``gr.SelectData``, ``gr.LikeData``) to pass event data,
so this module keeps real annotations (no ``from __future__ import annotations``).
"""
import html
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from ..conversation import Turn
from ..errors import QAError
from ..retrieval import temporal_cue
from .render import answer_notes_html, answer_text_html, close_tags, copy_text, public_message, render_sources

LOG = logging.getLogger("newsqa.app")


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


class Chat:
    """The chat handlers over one engine (``modes``: the answer modes usable here)."""

    def __init__(self, engine, modes: list[str], feedback: FeedbackLog, ask_stream=None):
        self.engine = engine
        self.modes = modes
        self.feedback = feedback
        self.answers_from = ask_stream  # None: the engine's own ask_stream

    def respond(self, message, history, as_of, date_from, date_to, sources, k, mode, show_unsupported,
                session: Session, auto_as_of: str = ""):
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
        mode = mode if mode in self.modes else "extractive"
        as_of = (as_of or "").strip() or None
        if as_of and as_of == (auto_as_of or "").strip() and not temporal_cue(message):
            as_of = None  # the default date serves questions about recent events; a typed date serves all
        try:
            answer = None
            draft = ""
            last = 0.0
            for event in (self.answers_from or self.engine.ask_stream)(message, k=int(k), as_of=as_of,
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
            assert answer is not None  # ask_stream ends with the Answer
            grown = answer_text_html(answer, turn)
            final = grown + answer_notes_html(answer)
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
        words = grown.split(" ") if answer.draft is None else []  # the notes come whole, at the end
        step = max(1, len(words) // 6)  # six updates: it reads as growing, and costs 0.2 s
        for i in range(step, len(words), step):
            history[-1] = {"role": "assistant", "content": close_tags(" ".join(words[:i])) + " ▌"}
            yield history, "", gr.update(), gr.update(), gr.update(), session
            time.sleep(0.03)
        history[-1] = {"role": "assistant", "content": final}
        session.turns.append(Turn(question=message, search_query=answer.search_query, answer=answer.text,
                                  cited_doc_ids=[c.doc_id for c in answer.citations]))
        session.answers.append({"question": message, "answer": answer.text, "abstained": answer.abstained,
                                "citations": [c.to_dict() for c in answer.citations],
                                "sources_html": sources_html, "searched": searched, "copy": copied})
        yield history, "", sources_html, copied, searched, session

    def show_turn(self, session: Session, evt: gr.SelectData):
        """Clicking a message shows the sources of that turn."""
        idx = evt.index if isinstance(evt.index, int) else (evt.index[0] if evt.index else 0)
        turn = int(idx) // 2
        if not session or turn >= len(session.answers):
            return gr.update(), gr.update(), gr.update()
        a = session.answers[turn]
        return a["sources_html"], a["copy"], a["searched"]

    def on_like(self, session: Session, data: gr.LikeData):
        idx = data.index if isinstance(data.index, int) else data.index[0]
        turn = int(idx) // 2
        if not session or turn >= len(session.answers):
            return
        a = session.answers[turn]
        self.feedback.add({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "question": a["question"], "answer": a["answer"],
                      "citations": a["citations"], "vote": "up" if data.liked else "down"})
        gr.Info("Thanks — feedback saved.")

    def clear(self):
        return [], Session(), "<p><i>Sources of the answer appear here.</i></p>", "", ""
