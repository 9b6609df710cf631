"""The evaluation harness behind ``qa eval`` (docs/evaluation.md):

    datasets.py   question sets and corpora (loading, sampling, shifted dates, roundups, index cache)
    metrics.py    retrieval, answer, abstention and faithfulness metrics; the regression gate
    baselines.py  trivial answers and single retrievers measured in the same run
    report.py     the terminal table and the HTML report
    runner.py     ``qa eval`` itself: run, measure, print, write, gate
"""
from .baselines import (
                        ANSWER_BASELINES,
                        RETRIEVER_BASELINES,
                        baseline_answers,
                        compare_answers,
                        compare_retrievers,
                        gold_in_corpus,
)
from .datasets import (
                        Question,
                        corpus_index_dir,
                        load_chunking_corpora,
                        load_questions,
                        question_set,
                        remap_evidence,
                        roundups,
                        sample_questions,
                        shift_as_of,
)
from .metrics import (
                        answer_words,
                        contains_answer,
                        faithfulness,
                        flatten,
                        normalize_answer,
                        rank_of_gold,
                        regressions,
                        retrieval_metrics,
                        score_answer,
                        summarize,
                        variants,
                        word_stats,
)
from .report import print_table, write_report
from .runner import main, run, span_recall

__all__ = ["ANSWER_BASELINES", "RETRIEVER_BASELINES", "Question", "answer_words", "baseline_answers",
           "compare_answers", "compare_retrievers", "contains_answer", "corpus_index_dir", "faithfulness",
           "flatten", "gold_in_corpus", "load_chunking_corpora", "load_questions", "main", "normalize_answer",
           "print_table", "question_set", "rank_of_gold", "regressions", "remap_evidence", "retrieval_metrics",
           "roundups", "run", "sample_questions", "score_answer", "shift_as_of", "span_recall", "summarize",
           "variants", "word_stats", "write_report"]
