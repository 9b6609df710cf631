"""Countries and US states that a text names (qa/places.py), for "which country" questions."""
import pytest
from qa.places import places


def test_countries_by_name_adjective_and_other_name():
    text = ("Officials of the United States and Britain met their Sri Lankan and Kenyan counterparts; "
            "South Africa, the Philippines and Papua New Guinea sent observers.")
    assert places(text, "country") == {"US", "UK", "Sri Lanka", "Kenya", "South Africa", "Philippines",
                                       "Papua New Guinea"}
    assert places("American and US officials", "country") == {"US"}  # one country, two names


def test_names_are_whole_words_with_their_case():
    assert places("Indiana Jones and a chadwick", "country") == set()  # not India, not Chad
    assert places("a turkey dinner in us", "country") == set()
    assert places("Guinea-Bissau", "country") == {"Guinea-Bissau"}  # not Guinea


def test_us_states():
    assert places("From New York to Washington and West Virginia", "state") == {"New York", "Washington",
                                                                                  "West Virginia"}
    assert places("Virginia", "state") == {"Virginia"}
    with pytest.raises(ValueError):
        places("Paris", "city")
