"""The evaluation harness behind ``qa eval`` (docs/evaluation.md):

    datasets.py   question sets and corpora (loading, sampling, shifted dates, roundups, index cache)
    metrics.py    retrieval, answer, abstention and faithfulness metrics; the regression gate
    baselines.py  trivial answers and single retrievers measured in the same run
    report.py     the terminal table and the HTML report
    runner.py     ``qa eval`` itself: run, measure, print, write, gate
"""
from .datasets import Question, corpus_index_dir, load_questions
from .metrics import contains_answer, rank_of_gold, retrieval_metrics, summarize
from .runner import main, run

# the harness's entry points; the pieces are imported from their modules
__all__ = ["Question", "contains_answer", "corpus_index_dir", "load_questions", "main", "rank_of_gold",
           "retrieval_metrics", "run", "summarize"]
