from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.matching import compile_matcher, load_catalog
from bot.matching.engine import CompiledMatcher
from bot.models import Article, Fact

REPO = Path(__file__).resolve().parents[2]


def make_article(title: str, summary: str = "", lang: str = "en") -> Article:
    return Article(
        feed_url="https://example.org/feed",
        entry_id=title,
        url="https://example.org/a",
        title=title,
        summary=summary,
        published=datetime(2024, 6, 19, tzinfo=UTC),
        lang=lang,
        source="test",
    )


@pytest.fixture(scope="session")
def catalog() -> tuple[Fact, ...]:
    return load_catalog(REPO / "config" / "facts.toml")


@pytest.fixture(scope="session")
def catalog_matcher(catalog: tuple[Fact, ...]) -> CompiledMatcher:
    return compile_matcher(catalog, ())
