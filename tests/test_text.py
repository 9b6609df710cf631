from qa.text import content_terms, normalize_text, paragraph_break, sentence_spans, shouting


def test_normalize_collapses_spaces_controls_and_blank_lines():
    raw = "Hello\u00a0 world\x07!\r\n\r\n\r\n\r\nNext   line\ufb01ne "
    assert normalize_text(raw) == "Hello world!\n\nNext linefine"


def test_sentence_spans_are_exact_and_respect_abbreviations():
    text = "Mr. J. Smith met U.S. officials on Jan. 5. He left early. \"Why?\" she asked.\nNew line here"
    spans = sentence_spans(text)
    got = [text[s:e] for s, e in spans]
    assert got == ["Mr. J. Smith met U.S. officials on Jan. 5.", "He left early.", "\"Why?\" she asked.",
                   "New line here"]


def test_sentence_spans_within_a_window_use_article_offsets():
    text = "First one. Second one. Third one."
    spans = sentence_spans(text, 11, len(text))
    assert [text[s:e] for s, e in spans] == ["Second one.", "Third one."]


def test_content_terms_stem_and_drop_stopwords():
    assert content_terms("The talks were mediated by the mediators") == ["talk", "mediat", "mediat"]


def test_shouting_is_mostly_capital_letters():
    assert shouting("SEE MORE UK COLUMN NEWS AT: UK COLUMN.ORG")
    assert shouting("by PAUL FASSA AND JOHN DOE")
    assert not shouting("NASA and the ESA said the FAA approved it.")
    assert not shouting("OK, USA")  # too few letters to tell


def test_a_text_written_one_paragraph_per_line_gets_blank_lines_between_them():
    """Scraped articles often put each paragraph on its own line; a hard-wrapped text (every line
    short) or a text that already has blank lines keeps its line breaks as they are."""
    para = ["The storm reached the coast on Monday, closing roads and schools across three counties "
            "and cutting power to thousands of homes.",
            "Officials said repairs would take a week.",
            "The central bank, meanwhile, raised its main interest rate by half a point, its fourth rise "
            "this year, citing stubborn inflation."]
    text = normalize_text("\n".join(para) + "\n")
    assert text == "\n\n".join(para)
    assert paragraph_break(text, text.index("Officials") - 2, text.index("Officials"))
    wrapped = "The storm reached the coast on Monday,\nclosing roads and schools across three\ncounties."
    assert normalize_text(wrapped) == wrapped
    mixed = para[0] + "\n" + para[1] + "\n\n" + para[2]
    assert normalize_text(mixed) == mixed
