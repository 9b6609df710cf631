"""Place names for answer types: which countries and US states a text names.

"Which country pardoned 4,000 prisoners?" is answered by a sentence that names a country the
question does not: ``places(text, "country")`` finds the countries a text names (also through
their adjectives, "Canadian" -> Canada, so that "this Sri Lankan leader fled to which country"
does not count Sri Lanka as new), ``places(text, "state")`` the US states. A short list written
for this project (sovereign states, a few territories and the UK's nations), not a gazetteer:
names only, matched case-sensitively on word boundaries.
"""
from __future__ import annotations

import re
from functools import cache, lru_cache

_COUNTRIES = """
Afghanistan Albania Algeria Andorra Angola Argentina Armenia Australia Austria Azerbaijan Bahamas Bahrain
Bangladesh Barbados Belarus Belgium Belize Benin Bhutan Bolivia Bosnia Botswana Brazil Brunei Bulgaria Burundi
Cambodia Cameroon Canada Chad Chile China Colombia Comoros Congo Croatia Cuba Cyprus Czechia Denmark Djibouti
Dominica Ecuador Egypt Eritrea Estonia Eswatini Ethiopia Fiji Finland France Gabon Gambia Georgia Germany Ghana
Greece Grenada Guatemala Guinea Guyana Haiti Honduras Hungary Iceland India Indonesia Iran Iraq Ireland Israel
Italy Jamaica Japan Jordan Kazakhstan Kenya Kiribati Korea Kosovo Kuwait Kyrgyzstan Laos Latvia Lebanon Lesotho
Liberia Libya Liechtenstein Lithuania Luxembourg Madagascar Malawi Malaysia Maldives Mali Malta Mauritania
Mauritius Mexico Micronesia Moldova Monaco Mongolia Montenegro Morocco Mozambique Myanmar Burma Namibia Nauru
Nepal Netherlands Nicaragua Niger Nigeria Norway Oman Pakistan Palau Palestine Panama Paraguay Peru Philippines
Poland Portugal Qatar Romania Russia Rwanda Samoa Senegal Serbia Seychelles Singapore Slovakia Slovenia Somalia
Spain Sudan Suriname Sweden Switzerland Syria Taiwan Tajikistan Tanzania Thailand Togo Tonga Tunisia Turkey
Türkiye Turkmenistan Tuvalu Uganda Ukraine UAE UK Britain England Scotland Wales US USA America Uruguay Uzbekistan
Vanuatu Vatican Venezuela Vietnam Yemen Zambia Zimbabwe Greenland Tibet
|Antigua and Barbuda|Bosnia and Herzegovina|Burkina Faso|Cape Verde|Central African Republic|Costa Rica|Ivory Coast
|Czech Republic|Dominican Republic|East Timor|El Salvador|Equatorial Guinea|Guinea-Bissau|North Korea|South Korea
|Marshall Islands|New Zealand|North Macedonia|Papua New Guinea|Saint Lucia|San Marino|Saudi Arabia|Sierra Leone
|Solomon Islands|South Africa|South Sudan|Sri Lanka|Trinidad and Tobago|United Arab Emirates|United Kingdom
|Great Britain|Northern Ireland|United States|Puerto Rico|Hong Kong|Western Sahara
"""
# adjective -> the country it names ("Canadian" says Canada)
_DEMONYMS = {
    "Afghan": "Afghanistan", "Albanian": "Albania", "Algerian": "Algeria", "American": "US", "Argentine": "Argentina",
    "Argentinian": "Argentina", "Armenian": "Armenia", "Australian": "Australia", "Austrian": "Austria",
    "Bangladeshi": "Bangladesh", "Belarusian": "Belarus", "Belgian": "Belgium", "Bolivian": "Bolivia",
    "Brazilian": "Brazil", "British": "UK", "Bulgarian": "Bulgaria", "Burmese": "Myanmar", "Cambodian": "Cambodia",
    "Canadian": "Canada", "Chilean": "Chile", "Chinese": "China", "Colombian": "Colombia", "Congolese": "Congo",
    "Croatian": "Croatia", "Cuban": "Cuba", "Czech": "Czechia", "Danish": "Denmark", "Dutch": "Netherlands",
    "Egyptian": "Egypt", "English": "England", "Eritrean": "Eritrea", "Estonian": "Estonia", "Ethiopian": "Ethiopia",
    "Filipino": "Philippines", "Finnish": "Finland", "French": "France", "Georgian": "Georgia", "German": "Germany",
    "Ghanaian": "Ghana", "Greek": "Greece", "Guatemalan": "Guatemala", "Haitian": "Haiti", "Honduran": "Honduras",
    "Hungarian": "Hungary", "Icelandic": "Iceland", "Indian": "India", "Indonesian": "Indonesia", "Iranian": "Iran",
    "Iraqi": "Iraq", "Irish": "Ireland", "Israeli": "Israel", "Italian": "Italy", "Jamaican": "Jamaica",
    "Japanese": "Japan", "Jordanian": "Jordan", "Kazakh": "Kazakhstan", "Kenyan": "Kenya", "Korean": "Korea",
    "Kuwaiti": "Kuwait", "Latvian": "Latvia", "Lebanese": "Lebanon", "Libyan": "Libya", "Lithuanian": "Lithuania",
    "Malaysian": "Malaysia", "Maltese": "Malta", "Mexican": "Mexico", "Moldovan": "Moldova", "Mongolian": "Mongolia",
    "Moroccan": "Morocco", "Nepalese": "Nepal", "Nicaraguan": "Nicaragua", "Nigerian": "Nigeria",
    "Norwegian": "Norway", "Pakistani": "Pakistan", "Palestinian": "Palestine", "Panamanian": "Panama",
    "Peruvian": "Peru", "Polish": "Poland", "Portuguese": "Portugal", "Qatari": "Qatar", "Romanian": "Romania",
    "Russian": "Russia", "Rwandan": "Rwanda", "Saudi": "Saudi Arabia", "Scottish": "Scotland", "Senegalese": "Senegal",
    "Serbian": "Serbia", "Singaporean": "Singapore", "Slovak": "Slovakia", "Slovenian": "Slovenia",
    "Somali": "Somalia", "Spanish": "Spain", "Sudanese": "Sudan", "Swedish": "Sweden", "Swiss": "Switzerland",
    "Syrian": "Syria", "Taiwanese": "Taiwan", "Tanzanian": "Tanzania", "Thai": "Thailand", "Tibetan": "Tibet",
    "Tunisian": "Tunisia", "Turkish": "Turkey", "Ugandan": "Uganda", "Ukrainian": "Ukraine", "Uruguayan": "Uruguay",
    "Uzbek": "Uzbekistan", "Venezuelan": "Venezuela", "Vietnamese": "Vietnam", "Welsh": "Wales", "Yemeni": "Yemen",
    "Zambian": "Zambia", "Zimbabwean": "Zimbabwe", "Emirati": "UAE",
}
# names of one country (the text counts one country once)
_SAME = {"United States": "US", "USA": "US", "America": "US", "United Kingdom": "UK", "Britain": "UK",
         "Great Britain": "UK", "Burma": "Myanmar", "Czech Republic": "Czechia", "Türkiye": "Turkey",
         "United Arab Emirates": "UAE", "South Korea": "Korea", "East Timor": "Timor-Leste"}
_US_STATES = """
Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho Illinois
Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota Mississippi Missouri Montana
Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia Washington Wisconsin Wyoming
|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Rhode Island|South Carolina|South Dakota
|West Virginia
"""
KINDS = ("country", "state")


def _names(block: str) -> list[str]:
    """One-word names separated by spaces, then multi-word names each after a "|"."""
    single, *multi = block.split("|")
    return single.split() + [m.strip() for m in multi if m.strip()]


@cache
def _table(kind: str) -> tuple[re.Pattern, dict[str, str]]:
    if kind == "country":
        canon = {n: _SAME.get(n, n) for n in _names(_COUNTRIES)}
        # "Sri Lankan", "South African", "Kenyan": the name and an "n"
        canon.update({n + "n": c for n, c in list(canon.items()) if n.endswith("a")})
        canon.update(_DEMONYMS)
    elif kind == "state":
        canon = {n: n for n in _names(_US_STATES)}
    else:
        raise ValueError(f"unknown place kind {kind!r}; one of {', '.join(KINDS)}")
    alternatives = "|".join(re.escape(n) for n in sorted(canon, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])"), canon


@lru_cache(maxsize=4096)
def places(text: str, kind: str) -> frozenset[str]:
    """The countries (``kind="country"``) or US states (``"state"``) that ``text`` names, by one
    name each: "the United States" and "American" are both ``"US"``. Remembered by text: the
    answerer asks for the question's places once per candidate sentence."""
    pattern, canon = _table(kind)
    return frozenset(canon[m] for m in pattern.findall(text))


def is_demonym(word: str) -> bool:
    """A country's adjective ("Korean", "Brazilian"), not the country's own name."""
    pattern, canon = _table("country")
    return word in canon and word not in set(canon.values()) and pattern.fullmatch(word) is not None
