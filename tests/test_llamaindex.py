"""LlamaIndex with our index (real MiniLM, real llama-index-core): the retriever inside LlamaIndex's
own RetrieverQueryEngine, our query engine's cited Response, and Documents from
SimpleDirectoryReader ingested by QA.ingest."""
import pytest
from llama_index.core import Document, SimpleDirectoryReader
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine

from conftest import DEMO
from qa.engine import QA
from qa.errors import QAError
from qa.llamaindex import NewsQueryEngine, NewsRetriever

ASTANA = "Who will mediate the Astana talks?"


@pytest.fixture(scope="module")
def engine(tmp_path_factory, minilm):
    e = QA(location=tmp_path_factory.mktemp("li") / "idx", embedder=minilm)
    e.ingest([DEMO])
    return e


def test_retriever_nodes_carry_exact_offsets(engine):
    nodes = NewsRetriever(engine, k=4, as_of="2017-01-20").retrieve(ASTANA)
    assert len(nodes) == 4 and nodes[0].score >= nodes[-1].score
    for n in nodes:
        m = n.node.metadata
        assert {"doc_id", "title", "source", "url", "published", "start", "end"} <= set(m)
        assert engine.article(m["doc_id"]).source_text[m["start"]:m["end"]] == n.node.get_content()
        assert m["published"] <= "2017-01-20"
    assert "Russia, Turkey and Iran" in " ".join(n.node.get_content() for n in nodes[:2])
    with pytest.raises(QAError, match="unknown source"):
        NewsRetriever(engine, sources=["nowhere.example"])


def test_retriever_inside_llamaindex_query_engine(engine):
    retriever = NewsRetriever(engine, k=3)
    qe = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = qe.query(ASTANA)
    assert [n.node.node_id for n in response.source_nodes] == [n.node.node_id for n in retriever.retrieve(ASTANA)]
    assert str(response)  # the mock LLM wrote something from our nodes
    assert "doc_id" not in response.source_nodes[0].node.get_content(metadata_mode="llm")  # offsets stay out


def test_query_engine_returns_the_cited_answer(engine):
    qe = NewsQueryEngine(engine, as_of="2017-01-20")
    r = qe.query(ASTANA)
    assert r.response.startswith("Russia, Turkey and Iran will act as mediators. [1]")
    assert r.source_nodes and r.metadata["abstained"] is False
    first = r.source_nodes[0].node.metadata
    assert first["n"] == 1 and engine.article(first["doc_id"]).source_text[
        first["quote_start"]:first["quote_end"]] == first["quote"]
    assert first["quote"] in r.source_nodes[0].node.get_content()  # the passage the quote is from
    off = qe.query("What is the capital of France?")
    assert off.metadata["abstained"] and off.source_nodes == []


def test_documents_from_simple_directory_reader(tmp_path, minilm):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "harbour-vote.txt").write_text("The Port Alder council voted 7 to 2 to repair the harbour wall. "
                                             "Work starts in March.", encoding="utf-8")
    (folder / "ferry.txt").write_text("The Quillby ferry will run twice a day from April.", encoding="utf-8")
    docs = SimpleDirectoryReader(str(folder), filename_as_id=True).load_data()
    e = QA(location=tmp_path / "idx", embedder=minilm)
    report = e.ingest(articles=docs)
    assert len(report.added) == 2
    a = e.ask("How did the Port Alder council vote on the harbour wall?")
    assert not a.abstained and "7 to 2" in a.text and a.citations[0].title == "harbour-vote"
    assert e.ingest(articles=SimpleDirectoryReader(str(folder), filename_as_id=True).load_data()).unchanged
    e.ingest(articles=[Document(text="Glasswater opened a winter market.", id_="gw-1",
                                metadata={"title": "Winter market", "source": "glass.example", "date": "2017-12-01"})])
    art = e.article("gw-1")
    assert (art.title, art.source, art.published) == ("Winter market", "glass.example", "2017-12-01")
    with pytest.raises(QAError, match="document 0 .*no article text.*nothing was indexed"):
        e.ingest(articles=[Document(text="   ", id_="empty")])
