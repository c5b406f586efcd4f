"""Command replies rendered for Discord: escaped, and within one message's limits however long."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands import Attachment, Reply, ReplyField, ReplyItem
from bot.discord.render import (
    EMBED_CHARS_PER_MESSAGE,
    EMBEDS_PER_MESSAGE,
    embed_chars,
    nonce_for,
    render_alert,
    render_digest,
    render_reply,
)
from bot.models import Evidence


def test_long_reply_fits_one_message_and_says_what_was_left_out() -> None:
    items = tuple(
        ReplyItem(
            title=f"Feed {i} @everyone **bold** " + "x" * 400,
            url=f"https://f.example/{i}",
            ref=f"#{i}",
            lines=("failing (3 in a row): <@&1> boom",),
            evidence=Evidence(terms=("x",), snippet="x" * 900, highlights=((0, 1),)),
            time=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for i in range(200)
    )
    embeds, file = render_reply(
        Reply(
            title="Feeds",
            items=items,
            fields=tuple(ReplyField(f"f{i}", "v") for i in range(40)),
            footer="foot",
        )
    )
    assert file is None
    assert len(embeds) <= EMBEDS_PER_MESSAGE
    assert sum(embed_chars(e) for e in embeds) <= EMBED_CHARS_PER_MESSAGE
    assert len(embeds[0]["fields"]) == 25
    assert "not shown" in embeds[-1]["footer"]["text"]
    text = "".join(e.get("description", "") for e in embeds)
    assert "@everyone" not in text and "**bold**" not in text and "<t:" in text


def test_error_reply_and_attachment() -> None:
    embeds, file = render_reply(
        Reply(title="Chart", attachment=Attachment(filename="t.png", data=b"png"), error=True, body=("Bad.",))
    )
    assert file == ("t.png", b"png")
    assert embeds[0]["image"]["url"] == "attachment://t.png" and embeds[0]["color"] == 0xE74C3C


def test_nonces_are_short_and_distinct_per_part() -> None:
    nonces = {nonce_for("digest:12:2026-11-02T08:00:00+00:00", i) for i in range(50)}
    assert len(nonces) == 50 and all(len(n) <= 25 for n in nonces)


SPOOFED = "Treaty \u202eTASS\u202c says\u200b \u2066no\u2069 troops\ufeff"


def test_invisible_characters_never_reach_discord() -> None:
    from bot.invisible import INVISIBLE
    from bot.models import Alert, Digest, DigestSection, SourceLink, StoryLine

    alert = Alert(
        article_id=1, title=SPOOFED, url="https://news.example/a", source="Agency\u200f",
        published=datetime(2026, 11, 2, tzinfo=UTC), lang="en",
        evidence=Evidence(terms=("treaty",), snippet=SPOOFED, highlights=((0, 6),)),
    )  # fmt: skip
    line = StoryLine(
        story_id=1, title=SPOOFED, url="https://news.example/a", published=alert.published,
        sources=(SourceLink(name="Agency\u202e", url="https://news.example/a"),),
    )  # fmt: skip
    digest = Digest(
        title="d", window_start=alert.published, window_end=alert.published, story_count=1, article_count=1,
        sections=(DigestSection(kind="other", ref="other", title="Other", stories=(line,)),),
    )  # fmt: skip
    parts = render_alert(alert, key="k", mention_role=None) + render_digest(digest, key="d")
    text = repr([(p.content, p.embeds) for p in parts])
    rendered = "".join(str(p.content) + str(p.embeds) for p in parts)
    assert not INVISIBLE & set(rendered), text
    assert "Treaty TASS says no troops" in rendered.replace("\\", "")
