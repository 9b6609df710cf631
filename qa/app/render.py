"""What the chat page shows, as pure functions of an Answer: the answer with its [n] links, the
verifier's note, the sources panel with each quoted span marked, and the text to copy.

Untrusted article text, titles and urls are HTML-escaped wherever they are shown, and only
http(s) links are rendered.
"""
import html
import re

from ..corroborate import summary
from ..judge import REFUSED

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
.corroboration { font-size: 0.9em; margin-top: 6px; }
.corroboration .disagree { color: #b35c00; font-weight: 600; }
.corroboration li { margin: 4px 0; }
.corroboration .copy { color: #6a737d; }
@media (max-width: 640px) { .source { padding: 2px 6px; } }
"""


_ABS_FOLDER = re.compile(r"(?<![\w.:/])(?:/[^\s/'\":;,()]+)+/")


def public_message(error) -> str:
    """An error message fit for the page: absolute paths are cut to the file name (the server's
    folders are not the user's business; the log has the full story)."""
    return _ABS_FOLDER.sub("", str(error))


def safe_url(url: str) -> str:
    """The url if it is http(s), else "" (no javascript: or data: links)."""
    u = (url or "").strip()
    return u if re.match(r"^https?://", u, re.I) else ""


def highlight(text: str, lo: int, hi: int, start: int, end: int) -> str:
    lo, hi = min(lo, start), max(hi, end)
    return (html.escape(text[lo:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>"
            + html.escape(text[end:hi]))


def answer_text_html(answer, turn: int) -> str:
    """The answer's own words, escaped, with each [n] a link to its source card (what the page grows)."""
    text = html.escape(answer.text)
    if answer.abstained:
        judged = f" <small>({REFUSED})</small>" if getattr(answer, "judged", None) is False else ""
        return "<b>No answer in the articles.</b> " + text + judged
    text = text.replace("[unsupported]", "<span class='unsupported' title='no passage supports this sentence'>"
                        "[unsupported]</span>")
    return re.sub(r"\[(\d+)\]", lambda m: f'<a class="cite" href="#source-{turn}-{m.group(1)}">[{m.group(1)}]</a>',
                  text)


def answer_notes_html(answer) -> str:
    """What follows the answer: who else reports it, where sources disagree, what was not verified."""
    return corroboration_note(answer) + verification_note(answer)


def _report_item(c, outlet_of: dict[str, str] | None = None) -> str:
    """One report: its outlet, date, title and link, its quote; a copy says whose story it copies."""
    original = (outlet_of or {}).get(c.copy_of, c.copy_of)
    copy = f" <span class='copy'>(a copy of {html.escape(original)}'s report)</span>" if c.copy_of else ""
    url = safe_url(c.url)
    link = (f' · <a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">'
            f'original</a>') if url else ""
    return (f"<li><b>{html.escape(c.source or c.doc_id)}</b> <small>{html.escape(c.published or 'undated')} · "
            f"{html.escape(c.title or c.doc_id)}{link}</small>{copy}<br>“{html.escape(c.quote)}”</li>")


def corroboration_note(answer) -> str:
    """"Reported by N outlets: …" with each other report's quote (expandable), the first and latest
    report, and "Sources disagree: …" with each value's reports, newest first."""
    k = getattr(answer, "corroboration", None)
    if k is None or answer.abstained:
        return ""
    n = len(k.outlets)
    others = [o for c in answer.citations for o in c.corroborated_by]
    disputed = [c for r in (k.conflict.reports if k.conflict else []) for c in r.citations]
    outlet_of = {c.doc_id: c.source or c.doc_id for c in [*answer.citations, *others, *disputed]}
    head = f"Reported by {n} independent outlet{'s' if n != 1 else ''}: {html.escape(', '.join(k.outlets))}"
    when = ""
    if k.first_reported is not None and k.latest_reported is not None and k.first_reported.published:
        when = (f" · first reported {html.escape(k.first_reported.published)} ({html.escape(k.first_reported.source)})"
                + (f", latest {html.escape(k.latest_reported.published)} ({html.escape(k.latest_reported.source)})"
                   if k.latest_reported.published != k.first_reported.published else ""))
    copies = [c for c in [*answer.citations, *others] if c.copy_of]
    if copies:  # counted once, with the outlet whose story they copy
        when += " · " + ("copies: " if len(copies) > 1 else "a copy: ") + ", ".join(
            f"{html.escape(c.source or c.doc_id)} of {html.escape(outlet_of.get(c.copy_of, c.copy_of))}'s report"
            for c in copies)
    body = ""
    if others:
        body = f"<details><summary>{head}{when}</summary><ul>{''.join(_report_item(c, outlet_of) for c in others)}</ul></details>"
    else:
        body = f"<div>{head}{when}</div>"
    if k.conflict is not None:
        items = "".join(
            f"<li><b>{html.escape(r.value)}</b> — {len(r.outlets)} outlet{'s' if len(r.outlets) != 1 else ''}"
            f" ({html.escape(', '.join(r.outlets))}){', ' + html.escape(r.latest_reported) if r.latest_reported else ''}"
            f"<ul>{''.join(_report_item(c, outlet_of) for c in r.citations)}</ul></li>" for r in k.conflict.reports)
        body += (f"<details open><summary class='disagree'>{html.escape(k.conflict.describe())}</summary>"
                 f"<ul>{items}</ul></details>")
    return f"<div class='corroboration'>{body}</div>"


def verification_note(answer) -> str:
    """Generated answers: what the verifier did (sentences kept, citations corrected, removed)."""
    if answer.draft is None:
        return ""
    v = answer.verification
    if not v:
        return f"<div class='verify-note'>{html.escape(answer.mode)} model · not verified</div>"
    kept = sum(1 for x in v if x.kept)
    fixed = sum(1 for x in v if x.kept and x.corrected)
    gone = [x for x in v if not x.kept]
    note = f"{answer.mode} model · verified: {kept} of {len(v)} sentence(s) supported"
    if fixed:
        note += f", {fixed} citation(s) corrected"
    if gone:
        note += f", {len(gone)} unsupported: " + "; ".join(f"“{html.escape(x.sentence[:120])}”" for x in gone)
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
            f"<blockquote>{highlight(text, lo, hi, start, end)}</blockquote>"
            f"<details><summary>Open article</summary><div class='article'>"
            f"{highlight(text, 0, len(text), start, end)}</div></details></div>")
    return "".join(parts)


def copy_text(answer) -> str:
    """Plain text of the answer with its sources, for the clipboard."""
    lines = [answer.text]
    if getattr(answer, "corroboration", None) is not None and not answer.abstained:
        lines.append(summary(answer.corroboration))
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.published) if x)
            lines.append(f"[{c.n}] {c.title or c.doc_id}" + (f" ({meta})" if meta else "") +
                         (f" {safe_url(c.url)}" if safe_url(c.url) else "") + f' — "{c.quote}"')
    return "\n".join(lines)


def close_tags(fragment: str) -> str:
    """Cut a partial answer before an unfinished tag, so streaming never shows raw markup."""
    cut = fragment.rfind("<")
    if cut > fragment.rfind(">"):
        fragment = fragment[:cut]
    opened = fragment.count("<a ") - fragment.count("</a>")
    return fragment + "</a>" * max(0, opened)
