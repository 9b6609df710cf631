"""Offline question answering over news articles, with verified citations.

    from qa import ask, QA
    answer = ask("Who will mediate the Astana talks?")
    engine = QA(location="index_store/")          # a folder, or postgresql://...
    answer = engine.ask("...", as_of="2017-01-20", sources=["presstv.ir"])
"""
from .engine import QA, ask, get_engine
from .errors import EmptyIndexError, IndexError_, IndexLockedError, InputError, QAError
from .types import Answer, AnswerMode, Article, Chunk, Citation, Filters, Passage, Query, RetrievalMode, Retrieved, Turn, Verdict

__all__ = ["QA", "ask", "get_engine", "Answer", "AnswerMode", "Article", "Chunk", "Citation", "Filters", "Passage",
           "Query", "Retrieved", "RetrievalMode", "Turn", "Verdict",
           "QAError", "InputError", "IndexError_", "IndexLockedError", "EmptyIndexError"]
__version__ = "0.1.0"
