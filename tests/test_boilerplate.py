"""Web-page boilerplate: which lines are page furniture, and that chunks leave them out."""
import json

import pytest

from conftest import SHARED, needs_shared
from qa import boilerplate
from qa.chunking import chunk_article
from qa.config import ChunkingConfig
from qa.loaders import make_article

# written for these tests, in the forms news sites print them
FURNITURE = [
    "London CNN —",
    "New York CNN Business —",
    "Video Ad Feedback Lawmakers react to the vote 02:14 - Source: CNN",
    "How relevant is this ad to you?",
    "Get the Morning Brief newsletter. Sign up here to get it every Tuesday.",
    "Stay in the conversation on politics: Sign up for the Capitol Notes newsletter",
    "RELATED: Council votes to close the old bridge",
    "READ MORE:Why the harbour flooded twice this spring",
    "Read moreWhy the harbour flooded twice this spring",
    "HARBOUR FLOODS AGAIN:What the new sea wall will cost",
    "More: Five things to know about the ferry strike",
    "Follow Dana Reyes on Twitter @danareyes.",
    "Contact Sam Ortiz at (555) 010-2233 or sortiz@example.com.",
    "Contributing: The Associated Press",
    "Staff and wire reports",
    "This story has been updated with additional details.",
    "– Alex Moreau",
    "We will use the details you have shared to manage your newsletter subscription.",
    "If you wish to object to the use of your data in this way, please tick here.",
    "Prices were accurate at the time this article was published but may change over time.",
    "►Ferry strike: Five things commuters need to know this week",
    "► Harbour walk:Where to eat along the new sea wall",
]
STORY = [
    "The council voted 7-2 to close the old bridge, the mayor said on Tuesday.",
    "She said she had signed up for the Navy Reserve in 1994 and served eight years.",
    "The newsletter provided updates on workers across the plant for three decades.",
    "Voters can follow the count on the county's website, officials said.",
    "DUNN: I always liked the way he carried himself on the field.",
    "►Heavy snow was forecast to return to the pass on Wednesday.",  # a bullet of the story
    "► The Harbour Gazette: “Council closes the old bridge after a 7-2 vote”",  # a front page quoted
    "SIGNED: Nine years, $360 million with the Yankees, Dec. 7.",
    "WINNER: “The Quiet Harbour”",
    "SEN. JANE DOE: We will vote on the bill tomorrow.",
    "UPDATE: Police said 12 people were taken to hospital.",
    "Maryland",
    "• Population: 6,177,224",
    "The ferry company said it would subscribe to the new safety code within a month.",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_page_furniture_is_boilerplate(line):
    assert boilerplate.is_boilerplate(line)


@pytest.mark.parametrize("line", STORY)
def test_lines_of_the_story_are_kept(line):
    assert not boilerplate.is_boilerplate(line)


def test_lines_gives_exact_offsets():
    text = "London CNN —\n\nThe council voted to close the bridge.\nRELATED: Council votes to close the old bridge\nEnd."
    spans = boilerplate.lines(text)
    assert [text[s:e] for s, e in spans] == ["London CNN —", "RELATED: Council votes to close the old bridge"]


def test_a_story_paragraph_loses_only_its_sign_off():
    # a one-paragraph article is its story: only the closing sign-up sentence is furniture
    story = ("A man in Ohio balanced a garden rake on his chin for two hours and ten minutes on Saturday, "
             "beating the old record by eleven minutes. The record still has to be checked by the judges.")
    text = story + " For more odd and unexpected news, sign up to the Harbour Tales newsletter."
    assert boilerplate.is_boilerplate(text)  # as a whole line it matches a sign-up pattern
    assert [text[s:e] for s, e in boilerplate.lines(text)] == [
        "For more odd and unexpected news, sign up to the Harbour Tales newsletter."]
    # a reporter's bio with a contact line, and a widget's short caption, go whole
    bio = "Dana Reyes covers the statehouse and politics for the Gazette. Reach her at dreyes@example.com."
    widget = "Get the Morning Brief newsletter. Sign up here to get it every Tuesday."
    text = f"{story}\n{bio}\n{widget}"
    assert [text[s:e] for s, e in boilerplate.lines(text)] == [bio, widget]


def test_only_boilerplate_before_a_chunk_means_it_opens_the_article():
    text = "London CNN —\n\nThe council met."
    assert boilerplate.opens_article(text, 0)
    assert boilerplate.opens_article(text, text.index("The"))
    text = "The council met.\n\nIt voted."
    assert not boilerplate.opens_article(text, text.index("It"))
    assert not boilerplate.opens_article("\n\nIt voted.", 2)
    text = "RELATED: Council votes to close the old bridge\n" * 20 + "The council met."
    assert not boilerplate.opens_article(text, text.index("The"))  # beyond LEAD_PREFIX


def _article(text):
    return make_article({"id": "x", "title": "Bridge vote", "text": text}, "test", "x")


def test_chunks_leave_boilerplate_out_and_keep_exact_offsets(fake_embedder):
    story = [f"Council member {i} said the bridge vote was about safety and cost." for i in range(12)]
    text = "\n\n".join(["Harbourton CNN —", *story[:6], "Video Ad Feedback Bridge vote explained 01:12 - Source: CNN",
                       *story[6:], "Follow Dana Reyes on Twitter @danareyes.", "Contributing: The Associated Press"])
    a = _article(text)
    chunks = chunk_article(a, fake_embedder, ChunkingConfig(max_tokens=60, overlap_tokens=20))
    joined = " ".join(c.text for c in chunks)
    for line in ("CNN —", "Video Ad Feedback", "Twitter", "Contributing"):
        assert line not in joined
    for s in story:
        assert s in joined
    for c in chunks:
        assert a.text[c.start:c.end] == c.text
    # no chunk spans the ad line, and overlap is not carried across it
    ad = a.text.index("Video Ad Feedback")
    assert all(c.end <= ad or c.start > ad for c in chunks)


def test_keeping_boilerplate_is_the_old_chunking(fake_embedder):
    text = "Harbourton CNN —\n\nThe council voted to close the bridge.\n\nRELATED: Council votes to close the old bridge"
    a = _article(text)
    old = chunk_article(a, fake_embedder, ChunkingConfig(drop_boilerplate=False))
    new = chunk_article(a, fake_embedder, ChunkingConfig())
    assert old[0].start == 0 and "RELATED" in old[-1].text
    assert [c.text for c in new] == ["The council voted to close the bridge."]


@needs_shared("news-fullarticles-dev")
def test_real_web_articles_lose_their_furniture_not_their_news():
    """On 1,000 of news-fullarticles-dev's web articles: boilerplate is a small share of the text, and
    it is almost never a line that holds a question's gold answer."""
    from qa.text import normalize_text

    folder = SHARED / "news-fullarticles-dev"
    arts = {}
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:1000]:
        r = json.loads(line)
        arts[r["id"]] = normalize_text(r["text"])
    total = sum(len(t) for t in arts.values())
    dropped = sum(e - s for t in arts.values() for s, e in boilerplate.lines(t))
    assert 0.003 < dropped / total < 0.03
    held = lost = 0
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        for ev in q["evidence"]:
            text = arts.get(ev[0] if isinstance(ev, list) else ev["doc_id"])
            if not text:
                continue
            for ans in q["answers"]:
                at = text.find(ans)
                if at >= 0:
                    held += 1
                    lost += any(s <= at < e for s, e in boilerplate.lines(text))
    assert held > 50 and lost <= 0.02 * held


@needs_shared("news-dev", "corpus.jsonl")
def test_short_news_paragraphs_keep_their_news():
    """news-dev's one-paragraph articles, some closing with a sign-up line: no gold answer of an
    evidence article falls in what is left out (it did when a whole paragraph was judged as one line)."""
    folder = SHARED / "news-dev"
    arts = {json.loads(line)["id"]: json.loads(line)["text"]
            for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()}
    signed_off = held = lost = 0
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        for ev in q["evidence"]:
            text = arts.get(ev["doc_id"])
            if not text:
                continue
            spans = boilerplate.lines(text)
            signed_off += any("newsletter" in text[s:e] for s, e in spans)
            for ans in q["answers"]:
                at = text.find(ans)
                if at >= 0:
                    held += 1
                    lost += any(s <= at < e for s, e in spans)
    assert signed_off >= 5 and held > 1000 and lost == 0


def test_an_index_from_before_keeps_its_chunking_for_new_articles():
    """An index whose manifest predates drop_boilerplate goes on keeping boilerplate (one rule per index)."""
    from types import SimpleNamespace

    from qa.stores.manifest import chunking_of

    assert chunking_of(SimpleNamespace(chunking={"max_tokens": 128})).drop_boilerplate is False
    assert chunking_of(SimpleNamespace(chunking={"max_tokens": 128, "drop_boilerplate": True})).drop_boilerplate
