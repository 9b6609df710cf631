"""Offline question answering over news articles, with verified citations.

    from qa import ask, QA
    answer = ask("Who will mediate the Astana talks?")
    engine = QA(index_dir="index_store/")
    answer = engine.ask("...", as_of="2017-01-20", sources=["presstv.ir"])
"""
from .engine import QA, ask, get_engine
from .errors import EmptyIndexError, IndexError_, IndexLockedError, InputError, QAError
from .types import Answer, Article, Chunk, Citation, Passage

__all__ = ["QA", "ask", "get_engine", "Answer", "Article", "Chunk", "Citation", "Passage",
           "QAError", "InputError", "IndexError_", "IndexLockedError", "EmptyIndexError"]
__version__ = "0.1.0"
