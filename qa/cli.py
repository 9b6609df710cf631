"""The ``qa`` command: ingest, ask, stats, delete, serve, eval."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .config import default_index_dir
from .errors import QAError
from .progress import Bars

EXAMPLES = """examples:
  qa ingest ~/news/ ./more.jsonl
  qa ask "Who will mediate the Astana talks?"
  qa ask "Who will mediate the Astana talks?" --json --as-of 2017-01-20 --k 8
  qa stats
  qa delete DOC_ID [DOC_ID ...]
  qa serve --port 7860
  qa eval eval/sets/demo.jsonl --corpus demo/articles.jsonl --out eval_out/
"""


def _engine(args):
    from .engine import QA

    return QA(index_dir=args.index or default_index_dir())


def cmd_ingest(args) -> int:
    engine = _engine(args)
    bars = Bars(not args.quiet)
    try:
        report = engine.ingest(args.paths, progress=bars)
    finally:
        bars.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
        for origin, dup in report.duplicates:
            print(f"  duplicate: {origin} (same text as {dup})")
        for f, reason in report.failed:
            print(f"  failed: {reason}")
    return 1 if report.failed and not (report.added or report.updated or report.unchanged) else 0


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
    elif answer.abstained and answer.passages:
        print("\nRelated:")
        for p in answer.related:
            snippet = p.text[:160] + ("…" if len(p.text) > 160 else "")
            print(f"  - {p.title or p.doc_id} ({p.published or 'undated'}): {snippet}")


def cmd_ask(args) -> int:
    engine = _engine(args)
    answer = engine.ask(args.question, k=args.k, as_of=args.as_of, sources=args.source or None,
                        date_from=args.date_from, date_to=args.date_to, retrieval=args.retrieval)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_answer(answer)
    return 0


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


def cmd_serve(args) -> int:
    from app import launch  # app.py lives at the project root

    launch(index_dir=args.index or default_index_dir(), host=args.host, port=args.port, auth=args.auth)
    return 0


def cmd_eval(args) -> int:
    from . import evaluation as ev

    return ev.main(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Offline question answering over news articles, "
                                "with citations to the exact sentence.", epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", default=None,
                   help="index directory (default: $QA_INDEX_DIR or index_store/; for eval: a cache "
                   "folder keyed by the corpus)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", help="add or update articles from files and folders")
    s.add_argument("paths", nargs="+", help="files (.txt .md .html .json .jsonl .csv) or folders")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
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
    s.add_argument("--json", action="store_true", help="machine-readable output (schema in README)")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("stats", help="what the index holds")
    s.add_argument("--list", action="store_true", help="also list the articles")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)

    s = sub.add_parser("delete", help="remove articles by id")
    s.add_argument("doc_ids", nargs="+")
    s.set_defaults(func=cmd_delete)

    s = sub.add_parser("serve", help="start the chat app")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--auth", help="user:password required to open the app")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("eval", help="run a question set and measure retrieval, answers, abstention, "
                       "faithfulness")
    s.add_argument("questions", help="questions JSONL (see README, Evaluation)")
    s.add_argument("--corpus", required=True, help="corpus JSONL to index (built once, then reused)")
    s.add_argument("--out", help="write metrics.json, results.jsonl and report.html here")
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--ignore-as-of", action="store_true", help="do not pass the questions' as_of dates")
    s.add_argument("--compare", help="also measure plain retrievers: dense,lexical")
    s.add_argument("--baseline", help="metrics.json to compare against; exit 1 on a regression")
    s.add_argument("--tolerance", type=float, default=0.01)
    s.add_argument("--json", action="store_true", help="print metrics.json to stdout")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    if getattr(args, "index", None):
        args.index = str(Path(args.index))
    try:
        return args.func(args)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged unless a commit had finished", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
