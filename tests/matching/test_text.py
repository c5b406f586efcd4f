from __future__ import annotations

from bot.matching import compile_matcher
from bot.matching.text import normalize, token_keys, tokenize, word_key
from bot.models import WatchSpec
from tests.matching.conftest import make_article


def hits(query: str, title: str, summary: str = "", lang: str = "en") -> bool:
    matcher = compile_matcher((), (WatchSpec("w", query),))
    return matcher.match(make_article(title, summary, lang)).watch_ids == ("w",)


def test_nfkc_and_casefold() -> None:
    assert normalize("ＫＮＤＲ") == "kndr"
    assert normalize("STRASSE") == normalize("straße")
    assert hits("kursk", "ＫＵＲＳＫ offensive")


def test_english_inflections_share_a_key() -> None:
    assert word_key("treaties") == word_key("treaty")
    assert hits("troop", "Troops were sent")
    assert not hits("troop", "Troupe performs in Moscow")


def test_russian_inflections_match() -> None:
    for form in ("Россия", "России", "Россией", "Россию"):
        assert hits("Россия", f"{form} и мир", lang="ru"), form
    for form in ("Пхеньян", "Пхеньяну", "Пхеньяном", "Пхеньяне"):
        assert hits("Пхеньян", f"визит в {form}", lang="ru"), form
    assert hits('"Северная Корея"', "поставки Северной Кореи", lang="ru")
    assert hits("Кореи", "Корея и Япония", lang="ru")
    assert not hits("Кореи", "корм для скота", lang="ru")


def test_korean_particles_are_stripped_from_article_words() -> None:
    assert "러시아" in token_keys("러시아와의")
    assert "북한" in token_keys("북한이")
    for form in ("러시아", "러시아와", "러시아가", "러시아의", "러시아에서는"):
        assert hits("러시아", f"{form} 협력", lang="ko"), form
    assert not hits("러시아", "러시아어 교육", lang="ko")  # a different word, not a particle
    assert hits("러시아*", "러시아어 교육", lang="ko")


def test_query_word_ending_like_a_particle_keeps_its_meaning() -> None:
    assert hits("회의", "회의가 열렸다", lang="ko")
    assert not hits("회의", "회가 열렸다", lang="ko")


def test_tokenize_offsets_soft_joints_and_sentences() -> None:
    toks = tokenize("North Korea-Russia ties. China, Russia")
    assert toks.raw == ("North", "Korea", "Russia", "ties", "China", "Russia")
    assert toks.spans[2] == (12, 18)
    assert toks.soft[2] is True  # hyphen keeps the phrase
    assert toks.soft[5] is False  # comma breaks it
    assert toks.sentence == (0, 0, 0, 0, 1, 1)


def test_abbreviation_does_not_end_a_sentence() -> None:
    assert len(set(tokenize("U.S. and Russia talk").sentence)) == 1


def test_every_dash_keeps_a_phrase() -> None:
    # Hyphen, en dash, em dash (U+2014), horizontal bar (U+2015), minus sign (U+2212), with or without spaces.
    for dash in ("-", "\u2013", " \u2013 ", "\u2014", " \u2014 ", " \u2015 ", " \u2212 "):
        assert hits('"москва пхеньян"', f"Рейс Москва{dash}Пхеньян", lang="ru"), repr(dash)
        assert tokenize(f"Москва{dash}Пхеньян").soft == (False, True), repr(dash)
    assert not hits('"москва пхеньян"', "Рейс Москва, Пхеньян", lang="ru")
    assert not hits('"москва пхеньян"', "Рейс Москва. Пхеньян", lang="ru")
