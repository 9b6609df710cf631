"""Make a conflict set from a real question set and its corpus (issue: corroboration and conflicts).

For each chosen answerable question whose one evidence article states the gold answer, the script
adds a copy of that article attributed to another (made-up) outlet:

- **altered** (every other question): the gold answer replaced by one of the question's wrong
  choices -- a number, name, place or date of the same kind -- so the copy *conflicts*;
- **reworded**: the value kept, the wording changed (sentences reordered, words swapped for
  synonyms, a lead-in added), so the copy *corroborates* and must not be called a conflict.

It writes ``corpus.jsonl`` (the whole original corpus plus the copies) and ``questions.jsonl`` (the
chosen questions, each labelled ``"conflict": {"doc_id": copy, "value": changed value or null}``)
into ``--out``, to be measured with ``qa eval OUT/questions.jsonl --corpus OUT/corpus.jsonl``:
conflict detection precision and recall are in metrics.json under ``corroboration.conflict_set``.

Nothing it writes belongs in the repository: it is made from ../shared data at run time.

    python eval/make_conflict_set.py ../shared/data/news-dev --out eval_out/conflict-set
"""
from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

OUTLETS = ["Harbor Ledger", "Northgate Post", "Valley Courier", "Metro Dispatch", "Lakeside Herald",
           "Summit Gazette", "Riverside Times", "Eastport Chronicle"]
SYNONYMS = {"said": "stated", "says": "states", "announced": "declared", "people": "persons",
            "began": "started", "begin": "start", "killed": "left dead", "after": "following",
            "about": "around", "big": "large", "large": "big", "also": "as well", "told": "informed",
            "show": "indicate", "shows": "indicates", "help": "assist", "major": "significant",
            "first": "initial", "new": "fresh", "country": "nation", "company": "firm"}


def _word(text: str, value: str) -> re.Pattern | None:
    p = re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")
    return p if p.search(text) else None


def reword(text: str, value: str) -> str:
    """The same facts in other words: synonyms, the sentences of each paragraph in another order, a
    lead-in. The value stays as written."""
    keep = "\x00"
    body = text.replace(value, keep)
    body = re.sub(r"\b(" + "|".join(SYNONYMS) + r")\b", lambda m: SYNONYMS[m.group(1)], body)
    paragraphs = []
    for para in body.split("\n\n"):
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z\"\u201c])", para.strip())
        if len(sentences) > 1:
            sentences = sentences[1:] + sentences[:1]
        paragraphs.append(" ".join(sentences))
    return "According to reports, " + "\n\n".join(paragraphs).replace(keep, value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="a folder with questions.jsonl and corpus.jsonl (e.g. ../shared/data/news-dev)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=300, help="questions to label (half altered, half reworded)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    data = Path(args.data)
    corpus = [json.loads(line) for line in open(data / "corpus.jsonl", encoding="utf-8") if line.strip()]
    by_id = {a["id"]: a for a in corpus}
    questions = [json.loads(line) for line in open(data / "questions.jsonl", encoding="utf-8") if line.strip()]
    usable = []
    for q in questions:
        ev = [e["doc_id"] for e in q.get("evidence") or [] if e["doc_id"] in by_id]
        if not q.get("answerable") or len(ev) != 1 or not q.get("answers"):
            continue
        text = by_id[ev[0]]["text"]
        gold = next((g for g in q["answers"] if _word(text, g)), None)
        others = [c for c in q.get("choices") or [] if c != gold and gold and c.lower() not in text.lower()
                  and gold.lower() not in c.lower() and c.lower() not in gold.lower()]
        if gold and others:
            usable.append((q, ev[0], gold, others))
    rng = random.Random(args.seed)
    rng.shuffle(usable)
    chosen = usable[: args.n]
    copies, labelled = [], []
    for i, (q, doc_id, gold, others) in enumerate(chosen):
        a = by_id[doc_id]
        copy_id = f"copy-{i:04d}-{doc_id}"
        if i % 2 == 0:
            value = others[0]
            text = _word(a["text"], gold).sub(value, a["text"])
        else:
            value = None
            text = reword(a["text"], gold)
        outlet = OUTLETS[i % len(OUTLETS)]
        copies.append({**a, "id": copy_id, "source": outlet, "text": text,
                       "url": f"https://{outlet.lower().replace(' ', '')}.example/{copy_id}",
                       "title": a.get("title") or ""})
        labelled.append({**q, "conflict": {"doc_id": copy_id, "value": value, "original": doc_id}})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for a in corpus + copies:
            f.write(json.dumps(a, ensure_ascii=False) + "\n")
    with open(out / "questions.jsonl", "w", encoding="utf-8") as f:
        for q in labelled:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    altered = sum(1 for q in labelled if q["conflict"]["value"] is not None)
    print(f"{len(labelled)} questions ({altered} altered copies, {len(labelled) - altered} reworded) of "
          f"{len(usable)} usable; {len(corpus) + len(copies)} articles -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
