"""parse_and_normalize in-process: refusals, malformed feeds, Google News, URLs, languages, the corpus."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from bot.ingest.normalize import canonical_url, detect_language
from bot.ingest.parse import FeedError, ParsedFeed, declares_entities, parse_and_normalize
from bot.models import FeedSpec
from tests.ingest.ingest_support import corpora_dir, rss

NOW = datetime(2024, 9, 12, 12, 0, tzinfo=UTC)
FEED = FeedSpec(url="https://example.com/feed.xml", name="Example")


def parse(body: bytes, feed: FeedSpec = FEED, content_type: str | None = None) -> ParsedFeed:
    return parse_and_normalize(
        body, feed=feed, content_type=content_type, headers={}, now=NOW, max_entries=500, text_max_chars=5000
    )


def test_rss_entries_normalised() -> None:
    parsed = parse(rss(2, title="Test &amp; feed"))
    assert parsed.title == "Test & feed" and parsed.language == "en" and parsed.warning is None
    first = parsed.articles[0]
    assert first.entry_id == "guid-0"
    assert first.url == "https://example.com/a/0?id=0"
    assert first.summary == "Summary & text 0"
    assert first.published == datetime(2024, 9, 10, 8, 0, tzinfo=UTC) and first.published_known
    assert first.source == "Example" and first.lang == "en" and first.feed_url == FEED.url


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
]>
<rss version="2.0"><channel><title>x</title><item><title>&b;&b;&b;&b;&b;</title></item></channel></rss>"""


def test_entity_declarations_refused_before_parsing() -> None:
    with pytest.raises(FeedError, match="declares its own XML entities"):
        parse(BILLION_LAUGHS)
    utf16 = (
        BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="utf-16"').encode("utf-16")
    )
    assert declares_entities(utf16)
    with pytest.raises(FeedError):
        parse(utf16)
    assert not declares_entities(rss())
    assert not declares_entities(b'<!DOCTYPE rss SYSTEM "x.dtd"><rss/>')


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"not xml at all",
        b"<html><body><h1>Hello</h1></body></html>",
        b"\x00\x01\x02\xff\xfe garbage",
        b"<rss><channel><item><title>unclosed",
        b"<?xml version='1.0' encoding='klingon'?>"
        b"<rss version='2.0'><channel><title>t</title></channel></rss>",
        b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>\xff\xfe\xc3</title>"
        b"<item><title>caf\xe9 \xd0\x9c\xd0\xbe\xd1\x81</title></item></channel></rss>",
        b"<rss version='2.0'><channel>" + b"<item><title>x</title></item>" * 3 + b"</channel></rss>\x00\x00",
        b"<" * 10000,
        b"<a>" * 50000,
    ],
)
def test_malformed_feeds_never_raise_anything_but_feed_error(body: bytes) -> None:
    try:
        parsed = parse(body)
    except FeedError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        for article in parsed.articles:
            assert isinstance(article.title, str)


def test_mixed_encoding_is_read_with_a_warning() -> None:
    body = (
        b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        b"<item><title>caf\xe9 \xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0</title><guid>1</guid></item>"
        b"</channel></rss>"
    )
    parsed = parse(body)
    assert len(parsed.articles) == 1 and "Москва" in parsed.articles[0].title


GOOGLE_NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>
<title>"North Korea Russia" - Google News</title><language>en-US</language>
<item><title>Putin and Kim sign pact - Reuters</title>
<link>https://news.google.com/rss/articles/CBMiabc?oc=5</link>
<guid isPermaLink="false">CBMiabc</guid><pubDate>Wed, 19 Jun 2024 10:00:00 GMT</pubDate>
<description>&lt;a href="https://news.google.com/rss/articles/CBMiabc?oc=5"&gt;
Putin and Kim sign pact&lt;/a&gt;
&amp;nbsp;&amp;nbsp;&lt;font color="#6f6f6f"&gt;Reuters&lt;/font&gt;</description>
<source url="https://www.reuters.com">Reuters</source></item>
<item><title>North Korea - Russia ties deepen - The Korea Times - The Korea Times</title>
<link>https://news.google.com/rss/articles/CBMidef</link><guid>CBMidef</guid>
<source url="https://www.koreatimes.co.kr">The Korea Times</source></item>
</channel></rss>"""


def test_google_news_publisher_and_title() -> None:
    parsed = parse(GOOGLE_NEWS.encode(), FeedSpec(url="https://news.google.com/rss/search?q=x"))
    first, second = parsed.articles
    assert first.title == "Putin and Kim sign pact" and first.source == "Reuters"
    assert first.summary == ""  # only the headline and publisher again
    assert first.entry_id == "CBMiabc"
    assert second.title == "North Korea - Russia ties deepen - The Korea Times"
    assert second.source == "The Korea Times"
    assert not second.published_known and second.published == NOW


def test_google_news_derived_feed_without_source() -> None:
    body = (
        b"<rss version='2.0'><channel><title>Reuters (Direct)</title><item>"
        b"<title>Kim visits Moscow - Reuters</title><link>https://www.reuters.com/x</link>"
        b"<description>Kim visits Moscow  Reuters</description></item></channel></rss>"
    )
    (article,) = parse(body, FeedSpec(url="https://example.com/r.xml")).articles
    assert (article.title, article.source, article.summary) == ("Kim visits Moscow", "Reuters", "")
    assert article.entry_id == "https://www.reuters.com/x"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://Example.com/a?utm_source=x&utm_medium=rss&id=5#frag", "https://example.com/a?id=5"),
        ("HTTP://example.com:80/a?fbclid=1&gclid=2", "http://example.com/a"),
        ("https://example.com/a?b=1&a=2&UTM_Campaign=z", "https://example.com/a?b=1&a=2"),
        ("https://example.com:8443/a?mc_cid=1&mc_eid=2&x=", "https://example.com:8443/a?x="),
        ("https://example.com", "https://example.com/"),
        ("/relative/path?utm_term=x", "https://example.com/relative/path"),
        ("javascript:alert(1)", ""),
        ("data:text/html,hi", ""),
        ("http://[::1", ""),
        ("", ""),
    ],
)
def test_canonical_urls(link: str, expected: str) -> None:
    assert canonical_url(link, base="https://example.com/feed.xml") == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Kim Jong Un meets Putin in Vladivostok", "en"),
        ("김정은 위원장, 푸틴 대통령과 정상회담", "ko"),
        ("NK-Russia 정상회담 개최", "ko"),
        ("Путин и Ким Чен Ын подписали договор", "ru"),
        ("Путин встретился с Kim Jong Un", "ru"),
        ("朝鲜与俄罗斯签署条约", "und"),
        ("1234 !!!", "und"),
        ("", "und"),
    ],
)
def test_language_detection_by_script(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_language_order_entry_then_feedspec_then_feed_then_detected() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ru"><title>t</title><id>f</id>
    <entry xml:lang="ko"><id>1</id><title>Kim</title></entry>
    <entry><id>2</id><title>Kim</title></entry></feed>"""
    a, b = parse(body).articles
    assert (a.lang, b.lang) == ("ko", "ru")
    undeclared = b"<rss version='2.0'><channel><title>t</title><item><title>\xd0\x9f\xd1\x83\xd1\x82\xd0\xb8\xd0\xbd</title></item></channel></rss>"  # noqa: E501
    assert parse(undeclared).articles[0].lang == "ru"
    pinned = FeedSpec(url="https://example.com/f", language="en")
    assert parse(undeclared, pinned).articles[0].lang == "en"


def test_stable_ids_and_entry_limit() -> None:
    body = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><title>only a title</title></item>"
        b"<item><title>with link</title><link>https://example.com/x</link></item>"
        + b"<item><title>more</title></item>" * 10
        + b"</channel></rss>"
    )
    parsed = parse_and_normalize(
        body, feed=FEED, content_type=None, headers={}, now=NOW, max_entries=3, text_max_chars=100
    )
    assert len(parsed.articles) == 3
    first, second, _ = parsed.articles
    assert first.entry_id.startswith("sha256:") and second.entry_id == "https://example.com/x"
    assert parse(body).articles[0].entry_id == first.entry_id  # stable across runs


def test_future_dates_are_not_trusted() -> None:
    body = (
        b"<rss version='2.0'><channel><title>t</title><item><title>x</title>"
        b"<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item></channel></rss>"
    )
    (article,) = parse(body).articles
    assert article.published == NOW and not article.published_known


def test_feedparser_is_never_given_a_file_name() -> None:
    # feedparser.parse(bytes) first tries the bytes as a path; a hostile body must not read local files.
    with pytest.raises(FeedError):
        parse(b"/etc/hostname")


CORPUS = corpora_dir()


@pytest.mark.slow
@pytest.mark.skipif(CORPUS is None, reason="../shared/corpora is not present")
def test_corpus_never_escapes_an_exception() -> None:
    assert CORPUS is not None
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".rss", ".atom"))
    assert files
    counts: Counter[str] = Counter()
    started = time.monotonic()
    for path in files:
        try:
            parsed = parse(path.read_bytes(), FeedSpec(url=path.as_uri()))
        except FeedError:
            counts["refused"] += 1
        else:
            counts["parsed"] += 1
            counts["articles"] += len(parsed.articles)
            for article in parsed.articles:
                assert not re.search(r"<[A-Za-z/!?]", article.title)
                assert article.published.tzinfo is not None
    elapsed = time.monotonic() - started
    print(f"corpus: {len(files)} files, {dict(counts)}, {elapsed:.1f}s")
    assert counts["parsed"] + counts["refused"] == len(files)
    assert counts["parsed"] > len(files) * 0.9
