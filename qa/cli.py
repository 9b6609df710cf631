"""The ``qa`` command: ingest, ask, stats, delete, compact, serve, eval."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .config import default_location, is_database, settings
from .corroborate import summary
from .errors import QAError
from .progress import Bars

EXAMPLES = """examples:
  qa ingest ~/news/ ./more.jsonl
  qa ask "Who will mediate the Astana talks?"
  qa ask "Who will mediate the Astana talks?" --json --as-of 2017-01-20 --k 8
  qa ask --mode local "Who will mediate the Astana talks?"
  qa verify "Russia, Turkey and Iran will mediate. [1]" --question "Who will mediate the Astana talks?"
  qa stats
  qa delete DOC_ID [DOC_ID ...]
  qa compact
  qa migrate --to postgresql://user@dbhost/news
  qa --store postgresql://user@dbhost/news ask "Who will mediate the Astana talks?"
  qa serve --port 7860
  qa mcp
  qa eval eval/sets/demo.jsonl --corpus demo/articles.jsonl --out eval_out/
"""


def _engine(args):
    from .engine import QA

    return QA(location=args.index or default_location(), judge=getattr(args, "judge", None),
              reader=getattr(args, "reader", None))


def cmd_ingest(args) -> int:
    engine = _engine(args)
    bars = Bars(not args.quiet)
    try:
        report = engine.ingest(args.paths, progress=bars, strict=args.strict, wait=args.wait,
                               on_wait=lambda message: print(message, file=sys.stderr, flush=True))
    finally:
        bars.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
        for origin, dup in report.duplicates:
            print(f"  duplicate: {origin} (same text as {dup})")
        for _, reason in report.failed:
            print(f"  failed: {reason}")
        for i, (path, line, reason) in enumerate(report.skipped):
            if i == 20:
                print(f"  … and {len(report.skipped) - 20} more skipped lines (--json lists them all)")
                break
            print(f"  skipped: {path}:{line}: {reason}")
    nothing_in = report.failed and not (report.added or report.updated or report.unchanged)
    return 1 if nothing_in or report.skipped else 0


def _print_answer(answer) -> None:
    print(answer.text)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.published) if x)
            print(f"  [{c.n}] {c.title or c.doc_id}" + (f" ({meta})" if meta else ""))
            if c.url:
                print(f"      {c.url}")
            print(f"      \"{c.quote}\"  [{c.doc_id} chars {c.start}-{c.end}]")
            if c.copy_of:
                print(f"      (a copy of {c.copy_of}: one outlet with it)")
            for o in c.corroborated_by:
                copy = f", a copy of {o.copy_of}" if o.copy_of else ""
                print(f"      also: {o.source or o.doc_id} ({o.published or 'undated'}{copy}): \"{o.quote}\"  "
                      f"[{o.doc_id} chars {o.start}-{o.end}]")
        if answer.corroboration is not None:
            print(f"\n{summary(answer.corroboration)}")
    elif answer.abstained and answer.passages:
        if answer.judged is False:
            from .judge import REFUSED

            print(f"({REFUSED})")
        print("\nRelated:")
        for p in answer.related:
            snippet = p.text[:160] + ("…" if len(p.text) > 160 else "")
            print(f"  - {p.title or p.doc_id} ({p.published or 'undated'}): {snippet}")


def _print_verification(answer) -> None:
    if answer.draft is None:
        return
    kept = [v for v in answer.verification if v.kept]
    fixed = [v for v in kept if v.corrected]
    gone = [v for v in answer.verification if not v.kept]
    print(f"\nVerification: {len(kept)} sentence(s) supported, {len(fixed)} citation(s) corrected, "
          f"{len(gone)} unsupported sentence(s) removed")
    for v in fixed:
        print(f"  corrected: \"{v['sentence']}\" -> passage {v['passage']}")
    for v in gone:
        print(f"  removed:   \"{v['sentence']}\" ({'; '.join(v['reasons'])})")


def cmd_ask(args) -> int:
    engine = _engine(args)
    streaming = args.mode != "extractive" and not args.json

    def on_token(delta: str) -> None:  # the unverified draft, as the model writes it (stderr)
        sys.stderr.write(delta)
        sys.stderr.flush()

    if streaming:
        sys.stderr.write(f"[{args.mode}] draft, not yet verified: ")
        sys.stderr.flush()
    answer = engine.ask(args.question, k=args.k, as_of=args.as_of, sources=args.source or None,
                        date_from=args.date_from, date_to=args.date_to, retrieval=args.retrieval,
                        mode=args.mode, verify=False if args.no_verify else None,
                        gate=False if args.no_gate else None, drop_unsupported=False if args.show_unsupported else None,
                        on_token=on_token if streaming else None)
    if streaming:
        sys.stderr.write("\n\n" if answer.draft is not None else
                         "(not generated: no passage comes close to answering)\n\n")
        sys.stderr.flush()
    sys.stdout.flush()
    if args.json:
        out = answer.to_dict()
        if args.with_text:  # the texts the offsets index, so any client can check each quote
            out["articles"] = {d: _article_json(engine.article(d), t) for d, t in answer.article_texts.items()}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print_answer(answer)
        _print_verification(answer)
    return 0


def _article_json(article, text: str) -> dict:
    """An article for the JSON output: its metadata and ``text``, the text citation offsets index."""
    return {**{k: v for k, v in article.to_dict().items() if k not in ("text", "original")}, "text": text}


def cmd_show(args) -> int:
    """One article: metadata and the exact text that citation offsets index."""
    a = _engine(args).article(args.doc_id)
    if args.json:
        print(json.dumps(_article_json(a, a.source_text), indent=2, ensure_ascii=False))
    else:
        meta = " · ".join(x for x in (a.source, a.published, a.url) if x)
        print(f"{a.title or a.id}\n{meta}\n\n{a.source_text}")
    return 0


def cmd_verify(args) -> int:
    engine = _engine(args)
    text = sys.stdin.read() if args.answer == "-" else args.answer
    answer = engine.verify_text(text, args.question, k=args.k, as_of=args.as_of,
                                drop_unsupported=not args.show_unsupported)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_answer(answer)
        _print_verification(answer)
    return 0 if not answer.abstained else 3


def cmd_stats(args) -> int:
    engine = _engine(args)
    stats = engine.stats()
    if args.list:
        stats["article_list"] = [{"id": a.id, "title": a.title, "source": a.source, "published": a.published}
                                 for a in sorted(engine.articles(), key=lambda a: a.published, reverse=True)]
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    for k, v in stats.items():
        if k != "article_list":
            print(f"{k:<16} {v}")
    for a in stats.get("article_list", []):
        print(f"  {a['id']:<40} {a['published'] or '----------'}  {a['source']:<18} {a['title'][:60]}")
    return 0


def cmd_delete(args) -> int:
    engine = _engine(args)
    deleted, missing = engine.delete(args.doc_ids)
    print(f"deleted {len(deleted)}: {', '.join(deleted)}")
    if missing:
        print(f"not found {len(missing)}: {', '.join(missing)}")
    return 0


def cmd_compact(args) -> int:
    """Merge the index's vector segments into one (dropping deleted vectors; IVF when large)."""
    from .stores import chunking_of, manifest_of, writer

    index = args.index or default_location()
    m = manifest_of(index)
    if m is None:
        raise QAError(f"{index}: no index here yet; run `qa ingest` first")
    with writer(index, m.model, m.dim, chunking_of(m)) as store:
        report = store.compact()
    if args.json:
        print(json.dumps(report))
    else:
        print(f"segments {report['segments_before']} -> {report['segments_after']} ({report['kind']}), "
              f"{report['vectors']} vectors")
    return 0


def cmd_migrate(args) -> int:
    """Copy the index (--index/--store) into another location, without embedding anything again."""
    from .stores import migrate

    source = args.index or default_location()
    bars = Bars(not args.quiet)
    try:
        report = migrate(source, args.to, progress=bars)
    finally:
        bars.close()
    print(json.dumps(report) if args.json else
          f"copied {report['articles']} articles ({report['chunks']} chunks) from {source} to the new index")
    return 0


def cmd_serve(args) -> int:
    from .app.serving import launch

    launch(args.index or default_location(), args)
    return 0


def cmd_mcp(args) -> int:
    """The MCP tools over stdio, for desktop hosts (Claude Desktop, IDE assistants)."""
    from .server.mcp_tools import main as mcp_main

    mcp_main(args.index or default_location())
    return 0


def cmd_llm_server(args) -> int:
    """An OpenAI-compatible endpoint over the packaged local model (llama-cpp-python's server)."""
    from .llm import LLMError, local_model_path, no_extra_buffers

    try:
        import uvicorn
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings
    except ImportError:
        raise LLMError("qa llm-server needs llama-cpp-python[server]: pip install -e '.[llm]'") from None
    no_extra_buffers()
    path = local_model_path()
    app = create_app(server_settings=ServerSettings(host=args.host, port=args.port),
                     model_settings=[ModelSettings(model=str(path), model_alias=args.model_name, n_ctx=4096,
                                                   n_threads=os.cpu_count() or 2, verbose=False)])
    print(f"OpenAI-compatible endpoint on http://{args.host}:{args.port}/v1, model {args.model_name!r}:\n"
          f"  QA_OPENAI_BASE_URL=http://{args.host}:{args.port}/v1 QA_OPENAI_MODEL={args.model_name} "
          "qa ask --mode openai \"…\"", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_eval(args) -> int:
    from . import evaluation as ev

    return ev.main(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Offline question answering over news articles, "
                                "with citations to the exact sentence.", epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", "--store", dest="index", default=None,
                   help="where the index lives: a folder (default: $QA_STORE, $QA_INDEX_DIR or index_store/; "
                   "for eval: a cache folder keyed by the corpus) or a PostgreSQL address, "
                   "postgresql://user@host/db (schema $QA_PG_SCHEMA, default newsqa)")
    p.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error ($QA_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # the same option after the command too: `qa ingest FILE --index DIR` (SUPPRESS: unset, the global one stands)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--index", "--store", dest="index", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    add_parser = sub.add_parser

    def with_where(*a, **kw):
        return add_parser(*a, parents=[where], **kw)

    sub.add_parser = with_where  # type: ignore[method-assign]  # every subcommand takes --index

    s = sub.add_parser("ingest", help="add or update articles from files and folders")
    s.add_argument("paths", nargs="+", help="files (.txt .md .html .json .jsonl .csv) or folders")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.add_argument("--strict", action="store_true",
                   help="refuse a whole JSONL/CSV file for one malformed line (default: skip the line, report it, "
                        "and exit 1)")
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="how long to wait for another process writing to the index (default: QA_LOCK_TIMEOUT, 60)")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("ask", help="answer a question with citations")
    s.add_argument("question")
    s.add_argument("--k", type=int, default=None, help="passages to retrieve (default 8)")
    s.add_argument("--as-of", dest="as_of", help="the question's date (YYYY-MM-DD): later articles are "
                   "ignored and recent ones favoured")
    s.add_argument("--source", action="append", help="only this source (repeatable)")
    s.add_argument("--from", dest="date_from", help="only articles published on or after this date")
    s.add_argument("--to", dest="date_to", help="only articles published on or before this date")
    s.add_argument("--retrieval", choices=["hybrid", "dense", "lexical"], default="hybrid")
    s.add_argument("--mode", choices=["extractive", "local", "openai"], default="extractive",
                   help="extractive: quote the articles (default); local: the packaged language model "
                   "(needs the [llm] extra); openai: an OpenAI-compatible endpoint (QA_OPENAI_BASE_URL, QA_OPENAI_MODEL)")
    s.add_argument("--no-verify", action="store_true", help="generated modes: show the model's draft unverified")
    s.add_argument("--show-unsupported", action="store_true",
                   help="generated modes: keep unsupported sentences, marked [unsupported], instead of removing them")
    s.add_argument("--no-gate", action="store_true",
                   help="generated modes: generate even when no passage comes close to answering")
    s.add_argument("--judge", choices=["local", "openai"], default=None,
                   help="check a borderline answer with a language model and abstain when it says the passage "
                   "does not answer (default: $QA_JUDGE, else off; docs/answering.md)")
    s.add_argument("--reader", choices=["local", "openai"], default=None,
                   help="in a long article, quote the sentence that holds a language model's short answer "
                   "(default: $QA_READER, else off; docs/answering.md)")
    s.add_argument("--json", action="store_true", help="machine-readable output (schema: README, qa ask --json)")
    s.add_argument("--with-text", action="store_true",
                   help="with --json: also the text of each cited article, the text that start/end index")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("verify", help="check any answer's sentences and [n] citations against the passages "
                       "retrieved for its question (exit 3 when nothing in it is supported)")
    s.add_argument("answer", help="the answer text with [n] citations, or - to read it from stdin")
    s.add_argument("--question", required=True, help="the question it answers (passages are retrieved for it)")
    s.add_argument("--k", type=int, default=5, help="passages numbered [1]..[k] (default 5)")
    s.add_argument("--as-of", dest="as_of")
    s.add_argument("--show-unsupported", action="store_true", help="keep unsupported sentences, marked")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("show", help="one article: metadata and the text that citation offsets index")
    s.add_argument("doc_id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("stats", help="what the index holds")
    s.add_argument("--list", action="store_true", help="also list the articles")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)

    s = sub.add_parser("delete", help="remove articles by id")
    s.add_argument("doc_ids", nargs="+")
    s.set_defaults(func=cmd_delete)

    s = sub.add_parser("compact", help="merge the index's vector segments, dropping deleted vectors "
                       "(also automatic); large indexes get an approximate (IVF) index")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_compact)

    s = sub.add_parser("migrate", help="copy the index into another store (a folder or postgresql://…), "
                       "vectors included (nothing is embedded again)")
    s.add_argument("--to", required=True, help="the empty target: a folder or a postgresql:// address")
    s.add_argument("--json", action="store_true")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_migrate)

    s = sub.add_parser("serve", help="serve the chat page, the /v1 API, OpenAI-compatible chat and MCP (/mcp) from "
                       "one process (127.0.0.1 unless --host; beyond this machine a login and API keys, or "
                       "--insecure for read-only)")
    s.add_argument("--port", type=int, default=7860)
    from .app.serving import add_serving_options

    add_serving_options(s)
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("mcp", help="the MCP tools (search_news, ask_news, get_article, list_sources) over stdio, "
                       "for an MCP host")
    s.set_defaults(func=cmd_mcp)

    s = sub.add_parser("llm-server", help="serve the packaged local model as an OpenAI-compatible endpoint")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--model-name", default="qwen2.5-coder-1.5b-instruct")
    s.set_defaults(func=cmd_llm_server)

    s = sub.add_parser("eval", help="run a question set and measure retrieval, answers, abstention, "
                       "faithfulness")
    s.add_argument("questions", help="questions JSONL (format: docs/evaluation.md)")
    s.add_argument("--corpus", required=True, help="corpus JSONL to index (built once, then reused)")
    s.add_argument("--out", help="write metrics.json, results.jsonl and report.html here")
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--sample", type=int, help="N questions spread over the set, with at least 15%% "
                   "unanswerable ones when the set has them (deterministic)")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--ignore-as-of", action="store_true", help="do not pass the questions' as_of dates")
    s.add_argument("--shift-as-of", type=int, default=0, metavar="DAYS",
                   help="ask every dated question DAYS later (a stress test of the date prior: the "
                   "articles that answer are then DAYS older)")
    s.add_argument("--roundups", type=int, default=0, metavar="N",
                   help="stress test of long, multi-topic articles: join the corpus's short articles of one "
                   "source and day into roundups of up to N paragraphs (the questions' evidence follows)")
    s.add_argument("--chunk-tokens", type=int, metavar="N",
                   help="index the corpus with chunks of at most N word pieces (default: the engine's "
                   "128; an experiment: the index is cached per setting)")
    s.add_argument("--keep-boilerplate", action="store_true",
                   help="index web-page boilerplate lines too (as indexes built before it; an experiment)")
    s.add_argument("--compare", help="also measure baselines, comma-separated: dense,lexical (plain retrievers), windows (plain "
                   "dense MiniLM over 180-word windows of each article), "
                   "lead,passage (the first sentence / whole text of the top passage as the answer)")
    s.add_argument("--baseline", help="metrics.json to compare against; exit 1 on a regression")
    s.add_argument("--tolerance", type=float, default=0.01)
    s.add_argument("--json", action="store_true", help="print metrics.json to stdout")
    s.add_argument("--mode", choices=["extractive", "local", "openai"], default="extractive",
                   help="answer mode to evaluate; generated modes also report the unverified drafts")
    s.add_argument("--no-gate", action="store_true",
                   help="generated modes: generate for every question (the gate is then applied afterwards "
                   "in metrics.json's variants)")
    s.add_argument("--judge", choices=["local", "openai"], default=None,
                   help="check borderline answers with a language model (qa.judge; default: $QA_JUDGE, else off)")
    s.add_argument("--reader", choices=["local", "openai"], default=None,
                   help="choose a long article's sentence by a language model's short answer "
                   "(qa.reader; default: $QA_READER, else off)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    if getattr(args, "index", None) and not is_database(args.index):
        args.index = str(Path(args.index))
    debug = args.debug or settings().debug
    try:
        return args.func(args)
    except QAError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged unless a commit had finished", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a message, not a traceback (unless --debug)
        if debug:
            raise
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        where = f" ({e.filename})" if isinstance(e, OSError) and e.filename else ""
        print(f"error: {e.__class__.__name__}: {reason}{where}; run again with --debug (or QA_DEBUG=1) "
              f"for the traceback", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
