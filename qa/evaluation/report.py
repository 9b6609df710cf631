"""``qa eval``'s output: the table printed to the terminal and the HTML report (with its plots)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .metrics import flatten


def print_table(metrics: dict, compare: dict | None = None, file=sys.stdout,
                answers: dict | None = None) -> None:
    print(f"questions: {metrics['n_questions']} ({metrics['n_answerable']} answerable, "
          f"{metrics['n_unanswerable']} unanswerable)", file=file)
    qs = metrics.get("question_set")
    if qs and (qs["repeated_rows"] or qs["labelled_both_ways"]):
        both = qs["rows_labelled_both_ways"]
        print(f"question set  {qs['distinct']} different questions ({qs['repeated_rows']} rows repeat one); "
              f"{qs['labelled_both_ways']} labelled both answerable and unanswerable ({both['answerable']} + "
              f"{both['unanswerable']} rows, e.g. {', '.join(qs['examples'][:3])}): no answer is right for both",
              file=file)
    for group in ("retrieval", "answer", "abstention", "faithfulness", "latency_ms"):
        vals = "  ".join(f"{k}={v:.3f}" if group != "latency_ms" and "words" not in k else f"{k}={v:.1f}"
                         for k, v in metrics[group].items())
        print(f"{group:<13} {vals}", file=file)
    for name, m in metrics.get("variants", {}).items():
        vals = "  ".join(f"{k}={v:.3f}" for g in ("answer", "abstention", "faithfulness") for k, v in m[g].items())
        print(f"{name:<16} {vals}", file=file)
    if compare:
        print("\nretrieval       hit@1   hit@5  hit@10  mrr@10", file=file)
        rows = {"pipeline": metrics["retrieval"], **compare}
        for name, m in rows.items():
            print(f"{name:<14} {m['hit@1']:.3f}  {m['hit@5']:.3f}  {m['hit@10']:.3f}  {m['mrr@10']:.3f}", file=file)
    if answers:
        print("\nanswers        accuracy  first_citation_gold  mean_words  p95_words", file=file)
        rows = {"pipeline": metrics["answer"], **answers}
        for name, m in rows.items():
            print(f"{name:<14} {m['accuracy']:.3f}     {m['first_citation_gold']:.3f}                "
                  f"{m['mean_words']:>6.1f}     {m['p95_words']:>6.1f}", file=file)
        print("(lead = first sentence of the top passage, passage = the whole top passage; both never abstain)",
              file=file)
    if halves := metrics.get("by_date_half"):
        print("\nby date        questions  from        to          accuracy  correct_rejection  false_abstention  "
              "mean_words", file=file)
        for name, m in halves.items():
            print(f"{name + ' half':<14} {m['n']:>9}  {m['from']:<10}  {m['to']:<10}  {m['accuracy']:.3f}     "
                  f"{m['correct_rejection']:.3f}              {m['false_abstention']:.3f}             "
                  f"{m['mean_words']:>6.1f}", file=file)
    if t := metrics.get("tradeoff"):
        points = [p for p in t["curve"] if p["false_abstention"] <= 0.05]
        best = max(points, key=lambda p: p["correct_rejection"]) if points else None
        print(f"\nabstention     threshold {t['operating_threshold']:.3f}; AUROC answerable vs not "
              f"{t['auroc'] if t['auroc'] is None else round(t['auroc'], 3)}"
              + (f"; at most 0.05 false abstention the curve rejects {best['correct_rejection']:.3f} "
                 f"(threshold {best['threshold']:.2f}; the whole curve: metrics.json tradeoff, report.html)"
                 if best else ""), file=file)
    if j := metrics.get("judge"):
        print(f"\njudge          checked {j['asked']} borderline answers ({j['share']:.1%} of questions); said no to "
              f"{j['said_no']} ({j['said_no_answerable']} of them answerable); {j['ms_p50']:.0f} ms p50, "
              f"{j['ms_p95']:.0f} ms p95 a check", file=file)
    if r := metrics.get("reader"):
        print(f"\nreader         read {r['asked']} long articles ({r['share']:.1%} of questions); its short answer "
              f"held the gold for {r['reply_gold']} of {r['answerable']} answerable; {r['ms_p50']:.0f} ms p50, "
              f"{r['ms_p95']:.0f} ms p95 a reading", file=file)
    for line in corroboration_lines(metrics.get("corroboration") or {}, metrics.get("by_date_half")):
        print(line, file=file)
    if split := metrics.get("gold_in_corpus"):
        print("\nevidence article   n      hit@5  accuracy  first_citation_gold  false_abstention  lead   passage",
              file=file)
        for name, label in (("present", "in the corpus"), ("missing", "not in it")):
            m = split[name]
            print(f"{label:<16} {m['n']:>5}  {m['hit@5']:.3f}  {m['accuracy']:.3f}     {m['first_citation_gold']:.3f}"
                  f"                {m['false_abstention']:.3f}             {m['lead_accuracy']:.3f}  "
                  f"{m['passage_accuracy']:.3f}", file=file)


def corroboration_lines(k: dict, halves: dict | None = None) -> list[str]:
    """The corroboration block of ``qa eval``'s table (metrics.json ``corroboration``, and each date
    half's)."""
    def f(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    def rp(m: dict) -> str:
        return (f"{m['n']:>5}  {m['other_outlets']:>13}  {f(m['recall']):>6}  {m['listed']:>6}  "
                f"{f(m['precision']):>9}")

    out = []
    if "all_answers" in k:
        out += ["\ncorroboration  answers  other_outlets  recall  listed  precision   (questions answered in "
                "articles of 2+ outlets)",
                f"all answered   {rp(k['all_answers'])}", f"correct ones   {rp(k['correct_answers'])}"]
        for name, h in (halves or {}).items():
            if "all_answers" in (hk := h.get("corroboration") or {}):
                out += [f"{name + ' half':<14} {rp(hk['all_answers'])}",
                        f"  correct ones {rp(hk['correct_answers'])}"]
    if fc := k.get("false_conflicts"):
        c = k["corroborated"]
        out.append(f"\nconflicts      {fc['conflicts']} of {fc['answers']} answers report one (false-conflict rate "
                   f"{fc['rate']:.3f}), {fc['revisions']} a revision; {c['with_value']:.3f} give a value, "
                   f"{c['mean_outlets']:.2f} outlets on average")
    if c := k.get("conflict_set"):
        out.append(f"\nconflict set   {c['questions']} questions ({c['altered']} altered, {c['reworded']} reworded); "
                   f"{c['answered_altered']} altered answered; recall {f(c['recall'])}, precision "
                   f"{f(c['precision'])} ({c['reported']} reported)")
        for name, h in (halves or {}).items():
            if hc := (h.get("corroboration") or {}).get("conflict_set"):
                out.append(f"  {name} half: {hc['questions']} questions, recall {f(hc['recall'])}, "
                           f"precision {f(hc['precision'])}")
    return out


# ---- the report --------------------------------------------------------------------------
def _png(fig) -> str:
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def write_report(path: Path, metrics: dict, rows: list[dict], threshold: float, compare: dict | None,
                 answers: dict | None = None) -> None:
    """report.html: metrics, plots (hit@k, confidence by answerability, latency), worst failures."""
    import html

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ans = [r for r in rows if r["answerable"]]
    ks = list(range(1, 11))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(ks, [sum(1 for r in ans if r["gold_rank"] and r["gold_rank"] <= k) / max(1, len(ans)) for k in ks],
            marker="o")
    ax.set(xlabel="k", ylabel="hit@k", title="Retrieval: gold article in the top k", ylim=(0, 1))
    ax.grid(alpha=0.3)
    hit_png = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.2))
    bins = np.linspace(0, 1, 41)
    ax.hist([r["confidence"] for r in rows if r["answerable"]], bins=bins, alpha=0.6, density=True,
            label="answerable")
    ax.hist([r["confidence"] for r in rows if not r["answerable"]], bins=bins, alpha=0.6, density=True,
            label="unanswerable")
    ax.axvline(threshold, color="k", linestyle="--", label=f"abstain below {threshold:.2f}")
    ax.set(xlabel="answer confidence", ylabel="density", title="Confidence by answerability")
    ax.legend()
    conf_png = _png(fig)
    plt.close(fig)

    trade = metrics.get("tradeoff") or {"curve": [], "operating_threshold": threshold}
    curve = trade["curve"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    ax1.plot([p["false_abstention"] for p in curve], [p["correct_rejection"] for p in curve], marker=".")
    op = min(curve, key=lambda p: abs(p["threshold"] - trade["operating_threshold"])) if curve else None
    if op:
        ax1.plot([op["false_abstention"]], [op["correct_rejection"]], "r*", markersize=14,
                 label=f"operating point (threshold {trade['operating_threshold']:.2f})")
    if judged := trade.get("with_judge"):
        ax1.plot([judged["false_abstention"]], [judged["correct_rejection"]], "gD", markersize=9,
                 label="with the judge (borderline answers checked)")
    if op or judged:
        ax1.legend(loc="lower right")
    ax1.set(xlabel="false abstention (answerable questions refused)",
            ylabel="correct rejection (unanswerable refused)", title="Abstention trade-off", xlim=(0, 1), ylim=(0, 1))
    ax1.grid(alpha=0.3)
    tail = [p for p in curve if p.get("answered_accuracy") is not None]
    ax2.plot([p["coverage"] for p in tail], [p["answered_accuracy"] for p in tail], marker=".")
    if tail:
        ax2.plot([tail[0]["coverage"]], [tail[0]["answered_accuracy"]], "r*", markersize=14, label="operating point")
    if judged and judged["answered_accuracy"] is not None:
        ax2.plot([judged["coverage"]], [judged["answered_accuracy"]], "gD", markersize=9, label="with the judge")
    if tail or judged:
        ax2.legend(loc="lower left")
    ax2.set(xlabel="coverage (answerable questions answered)", ylabel="accuracy of those answered",
            title="Accuracy against coverage (thresholds from the operating point up)", xlim=(0, 1), ylim=(0, 1))
    ax2.grid(alpha=0.3)
    trade_png = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist([r["latency_ms"] for r in rows], bins=40)
    ax.set(xlabel="latency (ms)", ylabel="questions", title="Latency per question")
    lat_png = _png(fig)
    plt.close(fig)

    def table(m: dict) -> str:
        def fmt(v) -> str:
            return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))

        cells = []
        for group, vals in m.items():
            if isinstance(vals, dict):
                for k, v in flatten(vals).items() if any(isinstance(x, dict) for x in vals.values()) else vals.items():
                    cells.append(f"<tr><td>{html.escape(group)}</td><td>{html.escape(k)}</td><td>{fmt(v)}</td></tr>")
            else:
                cells.append(f"<tr><td colspan=2>{html.escape(group)}</td><td>{fmt(vals)}</td></tr>")
        return "<table>" + "".join(cells) + "</table>"

    failures = sorted((r for r in ans if not r["correct"]), key=lambda r: (r["gold_rank"] is not None, -r["confidence"]))
    fail_html = []
    for r in failures[:25]:
        retrieved = "".join(
            f"<li><code>{html.escape(p['doc_id'])}</code> ({p['score']:.3f}"
            f"{' <b>gold</b>' if p['doc_id'] in r['gold_doc_ids'] else ''}): {html.escape(p['text'])}</li>"
            for p in r["retrieved"][:5])
        fail_html.append(
            f"<div class=fail><p><b>{html.escape(r['question'])}</b> <small>as_of {html.escape(str(r['as_of']))}"
            f"</small><br>gold: {html.escape(', '.join(r['gold']))} · gold rank: {r['gold_rank']} · confidence "
            f"{r['confidence']:.3f}</p><p>answer: {html.escape(r['answer'])}</p><ol>{retrieved}</ol></div>")
    comp = ""
    if answers:
        comp += ("<h2>Answers compared with trivial baselines</h2><p>lead = the first sentence of the top passage, "
                 "passage = the whole top passage (same retrieval; they never abstain).</p>"
                 + table({"pipeline": {k: v for k, v in metrics["answer"].items() if k in
                                       ("accuracy", "first_citation_gold", "mean_words", "p95_words")}, **answers}))
    if compare:
        comp += "<h2>Retrievers compared</h2>" + table({"pipeline": metrics["retrieval"], **compare})
    lines = corroboration_lines(metrics.get("corroboration") or {})
    corro = ("<h2>Corroboration and conflicts</h2><pre>" + html.escape("\n".join(x.strip("\n") for x in lines))
             + "</pre>") if lines else ""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>qa eval report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:2px 8px}}
img{{max-width:100%;margin:4px}}.fail{{border-top:1px solid #ddd;margin-top:1em}}
.plots{{display:flex;flex-wrap:wrap}}</style></head><body>
<h1>Evaluation report</h1>
<p>{metrics['n_questions']} questions ({metrics['n_answerable']} answerable, {metrics['n_unanswerable']}
unanswerable).</p>{table(metrics)}{comp}
{corro}
<h2>Plots</h2><div class=plots><img alt="hit@k curve" src="{hit_png}"><img alt="confidence by answerability"
src="{conf_png}"><img alt="latency histogram" src="{lat_png}"></div>
<h2>Abstention trade-off</h2><div class=plots><img alt="abstention trade-off" src="{trade_png}"></div>
<h2>Worst failures (answerable, answered wrongly or abstained)</h2>{''.join(fail_html) or '<p>none</p>'}
</body></html>"""
    path.write_text(page, encoding="utf-8")
