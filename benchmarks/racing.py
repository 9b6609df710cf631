"""What the engine races (corroboration_cost.py, long_scorer_cost.py) share: the eval cache's index of
a corpus, the questions from the command line, and engines taking turns question by question."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def eval_index(corpus: Path) -> Path:
    """The index ``qa eval`` caches for ``corpus`` (built first when it is missing or empty)."""
    from qa.config import ChunkingConfig, settings
    from qa.embeddings import MODEL_NAME
    from qa.engine import QA
    from qa.evaluation.datasets import corpus_index_dir

    index = corpus_index_dir(corpus, Path(settings().eval_cache), ChunkingConfig(), MODEL_NAME)
    engine = QA(location=index)
    if not len(engine.store):
        engine.ingest([corpus])
    return index


def question_args(description: str, dataset: str) -> tuple[argparse.Namespace, Path, list[dict]] | None:
    """--corpus, --questions (default: ``dataset`` in ../shared/data), --limit and --json; the
    parsed arguments, the corpus and the questions (at most --limit; 0 = all), or None (printed
    why) when either file is missing."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(DATA / dataset / "corpus.jsonl"))
    ap.add_argument("--questions", default=str(DATA / dataset / "questions.jsonl"))
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    corpus, qpath = Path(a.corpus), Path(a.questions)
    if not corpus.exists() or not qpath.exists():
        print(f"skipped: needs {corpus} and {qpath}", file=sys.stderr)
        return None
    qs = [json.loads(x) for x in qpath.read_text().splitlines() if x.strip()]
    return a, corpus, qs[: a.limit] if a.limit else qs


def take_turns(engines: dict, questions: list[dict]) -> dict[str, list]:
    """Every engine answers every question, the order swapped every question (so a busy machine, and
    a warm page cache, slow them alike): each engine's answers, in question order."""
    names = list(engines)
    answers: dict[str, list] = {k: [] for k in names}
    for n, q in enumerate(questions):
        for name in (names if n % 2 == 0 else names[::-1]):
            answers[name].append(engines[name].ask(q["question"], as_of=q.get("as_of")))
    return answers
