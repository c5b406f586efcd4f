"""Real feeds and the seed article, when the shared corpora sit beside the repository."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from bot.matching import is_relevant
from bot.matching.engine import CompiledMatcher
from tests.matching.conftest import REPO, make_article

CORPORA = Path(os.environ.get("PACTWATCH_CORPORA", REPO / ".." / "shared" / "corpora"))
SEED = CORPORA.parent / "seed" / "treaty-summit-article.txt"
FEEDS = CORPORA / "real-feeds"

# Headlines judged North Korea–Russia coverage after reading every item of these feeds.
EXPECTED_RELEVANT = {
    "Opening of North Korea-Russia road bridge likely delayed, US think tank says",
    "Russia's Putin meets North Korea's top diplomat in Kremlin",
    "EXCLUSIVE: North Korean missile unit deploys in Russia for Ukraine war, Kyiv says",
    "Ukraine's Zelenskiy says up to 50,000 North Korean troops to be deployed in Russia",
    "What we know about North Korean forces joining Russia's war against Ukraine",
    "Lavrov says Russia, North Korea fighting for 'new, righteous' world order",
    "North Korea's Kim, Russia's Putin reaffirm ties on Korean Liberation Day",
    "Putin says Russia, North Korea coordinating on regional security, KCNA reports",
    # Not listed in SOURCES.md, but about North Korean troops for Russia's war:
    "North Korea's Kim Yo Jong denies Zelenskiy's claim on additional troops deployment",
}


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text or "")).strip()


@pytest.mark.skipif(not FEEDS.is_dir(), reason="shared corpora not present")
def test_real_feeds() -> None:
    feedparser = pytest.importorskip("feedparser")
    found: set[str] = set()
    for path in sorted(FEEDS.glob("*.xml")):
        lang = "ko" if "korean" in path.name else "ru" if "_ru_" in path.name else "en"
        for entry in feedparser.parse(str(path)).entries:
            title = re.sub(r" - Reuters$", "", _plain(entry.get("title", "")))
            relevant, _ = is_relevant(make_article(title, _plain(entry.get("summary", "")), lang))
            if relevant:
                found.add(title)
    assert found == EXPECTED_RELEVANT


@pytest.mark.skipif(not SEED.is_file(), reason="seed article not present")
def test_seed_article_is_relevant_and_reports_the_first_eight_facts(catalog_matcher: CompiledMatcher) -> None:
    title, _, body = SEED.read_text(encoding="utf-8").partition("\n")
    result = catalog_matcher.match(make_article(title, body))
    assert result.relevant
    assert result.fact_ids[:8] == (
        "treaty_signed", "mutual_defense", "defensive_nature", "military_cooperation",
        "sanctions_resistance", "replaces_old_treaties", "other_partnerships", "ushakov_statement",
    )
