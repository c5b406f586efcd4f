"""``split_parts`` (the tokenizer's fast path) against the regex it stands for: the same parts, always."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import bot.matching.text as text_module
from bot.matching.text import _SPLIT_RE, split_parts, tokenize

PIECES = st.sampled_from(
    [
        "a", "Korea", "Б", "Россия", "한", "북한이", "1", "2024", "_", "x_y", "é", "e\u0301", "²", "ǅ", "Ⅻ",
        " ", "  ", "\n", "\t", "\u00a0", ",", ".", "'", "’", "don't", "Korea's", "'s", "(", ")", "«", "»",
        "“", "”", "—", "–", "-", "…", "/", "·", "&", "!", "?", ":", ";", "\"", "[", "]", "#", "@", "\x00",
    ]
)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join) | st.text(max_size=60))
@example("")
@example(" ")
@example("North Korea, Russia (AP) — «Пхеньян» 북한이 don't  'quoted' x_y.")
@example("'Korea'")
@example("Korea's")
@example(" lead and trail ")
def test_split_parts_is_the_regex_split(text: str) -> None:
    assert split_parts(text) == _SPLIT_RE.split(text)


def test_tokenize_words_and_spans_through_the_fast_path() -> None:
    text = "“Kim” met Putin, (again) in Pyongyang… 北 don't"
    tokens = tokenize(text)
    assert tokens.raw == ("Kim", "met", "Putin", "again", "in", "Pyongyang", "北", "don't")
    assert [text[s:e] for s, e in tokens.spans] == list(tokens.raw)


def test_split_parts_is_fast_path_for_real_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pieces of ordinary prose go through ``isalnum``, not the regex: count the regex's calls."""
    real = _SPLIT_RE
    calls: list[str] = []

    class Counting:
        def split(self, text: str) -> list[str]:
            calls.append(text)
            return real.split(text)

    monkeypatch.setattr(text_module, "_SPLIT_RE", Counting())
    prose = "Russia and North Korea signed (a) treaty, «Пхеньян», don't stop."
    assert split_parts(prose) == real.split(prose)
    assert calls == ["don't"]  # the one piece with an inner apostrophe
