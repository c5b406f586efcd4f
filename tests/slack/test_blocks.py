"""Block Kit rendering: Slack's limits hold for any digest, and feed text can never mention anyone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import Reply, ReplyField, ReplyItem
from bot.models import Alert, Digest, DigestSection, Evidence, Label, SourceLink, StoryLine, Summary
from bot.slack.blocks import (
    CONTEXT_ELEMENTS_MAX,
    HEADER_TEXT_MAX,
    MAX_BLOCKS,
    SECTION_TEXT_MAX,
    RenderLimits,
    SlackMessage,
    clip,
    evidence_text,
    render_alert,
    render_digest,
    render_reply,
    render_summary,
)

LIMITS = RenderLimits()
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> <@U123> <!here|here> <!subteam^S1> & <https://evil.example|click> *bold*"
# The only "<...>" tokens pactwatch itself writes: links to http(s), dates and (opt-in) group mentions.
_OWN_TOKEN = re.compile(r"<(https?://[^|>]+\|[^>]*|!date\^\d+\^[^|>]+\|[^>]+|https?://[^>]+)>")


def texts(block: dict[str, Any]) -> list[str]:
    out = []
    if "text" in block:
        out.append(block["text"]["text"])
    out += [f["text"] for f in block.get("fields", [])]
    out += [e["text"] for e in block.get("elements", [])]
    return out


def assert_within_limits(messages: list[SlackMessage]) -> None:
    for m in messages:
        assert 1 <= len(m.blocks) <= MAX_BLOCKS
        for b in m.blocks:
            if b["type"] == "header":
                assert len(b["text"]["text"]) <= HEADER_TEXT_MAX
                assert b["text"]["type"] == "plain_text"
            if b["type"] == "context":
                assert 1 <= len(b["elements"]) <= CONTEXT_ELEMENTS_MAX
            for t in texts(b):
                assert 0 < len(t) <= SECTION_TEXT_MAX


def assert_no_foreign_tokens(messages: list[SlackMessage]) -> None:
    """Nothing between < and > but the links and dates pactwatch builds. Header blocks are plain_text,
    which Slack never parses for mentions or links (it escapes them itself), so they keep the raw text."""
    for m in messages:
        for t in [m.text, *(t for b in m.blocks if b["type"] != "header" for t in texts(b))]:
            leftover = _OWN_TOKEN.sub("", t)
            assert "<" not in leftover and ">" not in leftover, t


def story(i: int, *, title: str, sources: int = 3, url: str | None = None) -> StoryLine:
    return StoryLine(
        story_id=i,
        title=title,
        url=url or f"https://news.example/{i}?a=1&b=2",
        published=NOW - timedelta(minutes=i),
        sources=tuple(
            SourceLink(name=f"Source {j} & Co", url=f"https://s{j}.example/{i}") for j in range(sources)
        ),
        alerted=i % 7 == 0,
    )


def test_alert_escapes_feed_text_and_links_the_title() -> None:
    alert = Alert(
        article_id=1,
        title=f"Pact {HOSTILE}",
        url="https://news.example/a?x=1&y=<2>",
        source="Agency <@U999>",
        published=NOW,
        lang="en",
        facts=(Label(ref="treaty", title="Treaty & <!everyone>"),),
        evidence=Evidence(terms=("pact",), snippet="the pact <!channel> was signed", highlights=((4, 8),)),
        other_sources=(SourceLink(name="Other <!here>", url="javascript:alert(1)"),),
    )
    [m] = [render_alert(alert, LIMITS)]
    assert_within_limits([m])
    assert_no_foreign_tokens([m])
    first = m.blocks[0]["text"]["text"]
    assert first.startswith("*<https://news.example/a?x=1&amp;y=%3C2%3E|Pact &lt;!channel&gt; &lt;@U123&gt;")
    assert "&amp;" in first
    joined = "\n".join(t for b in m.blocks for t in texts(b))
    assert "the *pact* &lt;!channel&gt; was signed" in joined
    assert "<!date^1793610000^{date_short_pretty} {time}|2026-11-02 09:00 UTC>" in joined
    assert "javascript:" not in joined  # a non-http link is shown as text only
    assert "Other &lt;!here&gt;" in joined
    assert "<!channel>" not in m.text and "<@U123>" not in m.text


def test_alert_mentions_only_a_configured_slack_group() -> None:
    alert = Alert(article_id=1, title="t", url="https://x.example", source="s", published=NOW, lang="en")
    assert render_alert(alert, LIMITS, mention="S0GROUP1").text.startswith("<!subteam^S0GROUP1>")
    assert "<" not in render_alert(alert, LIMITS, mention="123456789012345678").text  # a Discord role id


def test_huge_digest_is_split_within_every_limit_and_loses_no_story() -> None:
    long_title = "Very long headline & <!channel> " * 200  # ~6,400 characters
    sections = tuple(
        DigestSection(
            kind="fact",
            ref=f"f{k}",
            title=f"Fact {k} <@U1> " + "x" * 400,
            stories=tuple(
                story(k * 1000 + i, title=long_title if i % 3 == 0 else f"Story {k}-{i}", sources=12)
                for i in range(120)
            ),
            more=7,
        )
        for k in range(4)
    )
    digest = Digest(
        title="Morning digest " + "T" * 300,
        window_start=NOW - timedelta(days=1),
        window_end=NOW,
        story_count=480,
        article_count=2000,
        sections=sections,
        new_facts=tuple(Label(ref=f"n{i}", title=f"New fact {i} <!here>") for i in range(300)),
    )
    messages = render_digest(digest, LIMITS)
    assert len(messages) > 1
    assert_within_limits(messages)
    assert_no_foreign_tokens(messages)
    all_text = "\n".join(t for m in messages for b in m.blocks for t in texts(b))
    for k in range(4):
        for i in range(120):
            sid = k * 1000 + i
            assert all_text.count(f"https://news.example/{sid}?") == 1, sid
    for i, m in enumerate(messages, start=1):
        assert m.text.endswith(f"(part {i} of {len(messages)})")
        assert len(m.text) <= LIMITS.fallback_max


def test_story_with_a_huge_url_still_fits() -> None:
    s = story(1, title="Headline", url="https://news.example/" + "a&" * 2000, sources=20)
    digest = Digest(
        title="d", window_start=NOW, window_end=NOW, story_count=1, article_count=1,
        sections=(DigestSection(kind="other", ref="other", title="Other", stories=(s,)),),
    )  # fmt: skip
    messages = render_digest(digest, LIMITS)
    assert_within_limits(messages)
    assert "Headline" in "".join(t for m in messages for b in m.blocks for t in texts(b))


def test_summary_and_note_only_digest() -> None:
    summary = Summary(
        title="Held alerts <!channel>", lines=tuple(story(i, title=f"S{i}") for i in range(200))
    )
    messages = render_summary(summary, LIMITS)
    assert_within_limits(messages)
    assert_no_foreign_tokens(messages)
    note = Digest(
        title="Digest", window_start=NOW, window_end=NOW, story_count=0, article_count=0,
        sections=(), note="Nothing new <!here>",
    )  # fmt: skip
    [m] = render_digest(note, LIMITS)
    assert "Nothing new &lt;!here&gt;" in "".join(t for b in m.blocks for t in texts(b))


def test_reply_rendering_escapes_and_caps_blocks() -> None:
    reply = Reply(
        title="Feeds <!channel>",
        body=("line & more",) * 3,
        fields=tuple(ReplyField(name=f"n{i}", value="v" * 5000) for i in range(25)),
        items=tuple(
            ReplyItem(
                title="T <@U1>" * 100, url="https://x.example", ref=f"#{i}", lines=("l",) * 30, time=NOW
            )
            for i in range(200)
        ),
        footer="foot <!here>",
    )
    m = render_reply(reply, LIMITS)
    assert_within_limits([m])
    assert_no_foreign_tokens([m])
    for b in m.blocks:
        assert len(b.get("fields", [])) <= 10
        assert all(len(f["text"]) <= 2000 for f in b.get("fields", []))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.integers(min_value=1, max_value=300))
def test_clip_never_exceeds_and_never_leaves_markup(text: str, limit: int) -> None:
    out = clip(text, limit)
    assert len(out) <= max(limit, 1)
    assert "<" not in out and ">" not in out
    assert re.search(r"&(?!amp;|lt;|gt;)", out) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=5))
def test_evidence_never_leaves_markup(snippet: str, spans: list[tuple[int, int]]) -> None:
    highlights = tuple((min(a, b), max(a, b)) for a, b in spans)
    out = evidence_text(Evidence(terms=(), snippet=snippet, highlights=highlights), 500)
    assert len(out) <= 500
    assert "<" not in out and ">" not in out


def test_invisible_characters_never_reach_slack() -> None:
    from bot.invisible import INVISIBLE

    spoofed = "Treaty \u202eTASS\u202c says\u200b \u2066no\u2069 troops\ufeff"
    alert = Alert(
        article_id=1, title=spoofed, url="https://news.example/a", source="Agency\u200f",
        published=NOW, lang="en", evidence=Evidence(terms=("treaty",), snippet=spoofed, highlights=((0, 6),)),
    )  # fmt: skip
    section = DigestSection(kind="other", ref="other", title="Other", stories=(story(1, title=spoofed),))
    digest = Digest(
        title=spoofed, window_start=NOW, window_end=NOW, story_count=1, article_count=1, sections=(section,)
    )
    messages = [render_alert(alert, LIMITS), *render_digest(digest, LIMITS)]
    rendered = "".join(m.text + repr(m.blocks) for m in messages)
    assert not INVISIBLE & set(rendered)
    assert "Treaty TASS says no troops" in rendered
