"""The segment BM25 index against bm25s (the oracle), merging, and its files."""
import bm25s
import numpy as np
import Stemmer

from qa.lexical import LexicalSegment, idf, lexical_terms

DOCS = [
    "Talks on Syria will be held in Astana next week.",
    "Russia, Turkey and Iran will mediate the talks in Astana.",
    "Roger Federer won the Australian Open, beating Rafael Nadal.",
    "An avalanche buried a hotel in Abruzzo; rescuers reached it after two days.",
    "The hotel avalanche in Abruzzo killed twenty-nine people.",
    "Nadal and Federer met in a final for the first time since 2011.",
]


def _weights(bodies, query):
    terms = lexical_terms([query])[0]
    df = {t: sum(t in set(b) for b in bodies) for t in terms}
    return {t: idf(len(bodies), d) for t, d in df.items() if d}


def test_one_segment_scores_like_bm25s():
    bodies = lexical_terms(DOCS)
    seg = LexicalSegment.build(bodies)
    oracle = bm25s.BM25()  # defaults: lucene, k1 = 1.5, b = 0.75
    oracle.index(bm25s.tokenize(DOCS, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False),
                 show_progress=False)
    for query in ("avalanche hotel Abruzzo", "Federer Nadal final", "talks in Astana"):
        ours = dict(seg.scores(_weights(bodies, query), None, len(DOCS)))
        docs, scores = oracle.retrieve(lexical_terms([query]), k=len(DOCS), show_progress=False)
        theirs = {int(d): float(s) for d, s in zip(docs[0], scores[0]) if s > 0}
        assert ours.keys() == theirs.keys()
        assert all(abs(ours[d] - theirs[d]) < 1e-4 for d in ours)


def test_allowed_mask_and_top_n():
    bodies = lexical_terms(DOCS)
    seg = LexicalSegment.build(bodies)
    w = _weights(bodies, "Federer Nadal avalanche hotel")
    top2 = seg.scores(w, None, 2)
    assert len(top2) == 2 and top2[0][1] >= top2[1][1]
    allowed = np.zeros(len(DOCS), bool)
    allowed[[3, 4]] = True
    assert {p for p, _ in seg.scores(w, allowed, 10)} == {3, 4}


def test_merge_equals_building_from_the_kept_documents(tmp_path):
    bodies = lexical_terms(DOCS)
    a, b = LexicalSegment.build(bodies[:3]), LexicalSegment.build(bodies[3:])
    keep_a, keep_b = np.array([True, False, True]), np.array([True, True, False])
    merged = LexicalSegment.merge([(a, keep_a), (b, keep_b)])
    kept = [bodies[0], bodies[2], bodies[3], bodies[4]]
    direct = LexicalSegment.build(kept)
    for name in ("vocab", "indptr", "rows", "tf", "lengths"):
        assert np.array_equal(getattr(merged, name), getattr(direct, name)), name
    assert np.allclose(merged.tfc, direct.tfc)
    # scored with the index-wide average length, two segments rank as the merged one does
    avg = float(np.mean(direct.lengths))
    w = _weights(kept, "hotel avalanche Federer")
    parts = {p: s for p, s in a.scores(w, keep_a, 9, avg)} | {p + 3: s for p, s in b.scores(w, keep_b, 9, avg)}
    remap = {0: 0, 2: 1, 3: 2, 4: 3}  # kept positions of a and b -> positions in the merged segment
    assert {remap[p]: round(s, 5) for p, s in parts.items()} == {p: round(s, 5) for p, s in merged.scores(w, None, 9, avg)}
    merged.save(tmp_path / "seg.lex")
    loaded = LexicalSegment.load(tmp_path / "seg.lex")
    assert isinstance(loaded.rows, np.memmap)
    w = _weights(kept, "hotel avalanche")
    assert loaded.scores(w, None, 5) == direct.scores(w, None, 5)


def test_a_query_over_a_huge_index_leaves_out_its_most_common_terms(monkeypatch):
    from qa.stores import rows

    df = {"said": 700_000, "year": 300_000, "astana": 900, "talk": 40_000}
    assert rows.affordable_terms(list(df), df) == ["astana", "talk"]  # 40,900 + 300,000 would pass 300,000
    monkeypatch.setenv("QA_LEXICAL_POSTINGS", "10")
    assert rows.affordable_terms(list(df), df) == ["astana"]  # the rarest always stays
    assert rows.affordable_terms(["unknown"], df) == []


def test_top_n_equals_a_full_scan_on_a_larger_random_segment():
    """scores() picks the top n among the positions the postings touched; it must equal scoring
    every position and sorting (ties by position), with and without a mask, for small n."""
    rng = np.random.default_rng(5)
    vocab = [f"w{i}" for i in range(300)]
    bodies = [list(rng.choice(vocab, size=int(rng.integers(3, 40)), p=None)) for _ in range(2000)]
    seg = LexicalSegment.build(bodies)
    avg = float(np.mean([len(b) for b in bodies]))
    for trial in range(30):
        terms = list(dict.fromkeys(rng.choice(vocab, size=int(rng.integers(1, 7)))))
        w = {t: idf(len(bodies), sum(t in set(b) for b in bodies)) for t in terms}
        allowed = rng.random(len(bodies)) < 0.3 if trial % 2 else None
        full = np.zeros(len(bodies))
        for p, b in enumerate(bodies):
            for t in set(b) & set(terms):
                tf = b.count(t)
                full[p] += w[t] * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * len(b) / avg))
        if allowed is not None:
            full[~allowed] = 0
        order = [int(p) for p in np.argsort(-full, kind="stable") if full[p] > 0]
        for n in (1, 5, 60):
            got = seg.scores(w, allowed, n, avg)
            assert len(got) == len(order[:n])  # ties may come in another order: compare the scores
            assert np.allclose([s for _, s in got], full[order[:n]], atol=1e-4)
