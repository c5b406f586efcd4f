"""Property tests for the HTML → text normaliser: never raises, no markup left, idempotent."""

from __future__ import annotations

import html
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.ingest.normalize import canonical_url, detect_language, html_to_text

TAGS = st.sampled_from(
    [
        "<b>",
        "</b>",
        "<p>",
        "</p>",
        "<br>",
        "<br/>",
        "<div>",
        "</div>",
        "<script>",
        "</script>",
        "<style>",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<a href='x'>",
        "</a>",
        "<plaintext>",
        "<textarea>",
        "<title>",
        "<",
        ">",
        "</",
        "<!",
        "<?",
        "&",
        ";",
        "#",
        "&amp;",
        "&lt;",
        "&gt;",
        "&#x3c;",
        "&#60;",
        "&nbsp;",
        "&not",
        "&amp;lt;b&amp;gt;",
        "&#0;",
        "&#xD800;",
        "\x00",
        "\r",
        "\x85",
        "\u2028",
        "\ufeff",
        "\x1c",
        "\x0b",
        "\x9f",
        "\ud800",
        "\uffff",
        "\u200b",
        "\t\n",
        " ",
    ]
)
MARKUP = st.lists(st.one_of(TAGS, st.text(max_size=8)), max_size=40).map("".join)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
TAG_LIKE = re.compile(r"<[A-Za-z/!?]")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(MARKUP, st.text()))
@example("&amp;amp;amp;amp;amp;lt;b&amp;amp;amp;amp;amp;gt;")
@example("<plaintext><b>x</b>&notit;")
@example("</3 <3 a&b AT&T")
@example("plain\x1ctext\x0bwith \x9fcontrols\ud800 and \ufeffmarks\u200b")
def test_html_to_text_properties(markup: str) -> None:
    text = html_to_text(markup)
    assert isinstance(text, str)
    assert not TAG_LIKE.search(text), text
    assert html.unescape(text) == text, text
    assert not CONTROL.search(text), text
    assert text == text.strip() and "  " not in text
    assert html_to_text(text) == text


@settings(max_examples=200, deadline=None)
@given(st.one_of(MARKUP, st.text()), st.integers(min_value=100, max_value=300))
def test_html_to_text_respects_max_chars(markup: str, max_chars: int) -> None:
    assert len(html_to_text(markup, max_chars=max_chars)) <= max_chars


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_detect_language_and_canonical_url_never_raise(text: str) -> None:
    assert detect_language(text) in {"en", "ko", "ru", "und"}
    url = canonical_url(text, base="https://example.com/")
    assert url == "" or url.startswith(("http://", "https://"))
