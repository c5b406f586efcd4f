from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
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


def assert_does_not_leak(
    call: Callable[[], object], *, warmup: int = 200, calls: int = 5000, limit: int = 32_000
) -> None:
    """Call ``call`` ``warmup`` times (caches, free lists), then ``calls`` times, and fail when more than
    ``limit`` bytes are still allocated after them: a reference the compiled code forgot to release."""
    for _ in range(warmup):
        call()
    gc.collect()
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(calls):
            call()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        if not tracing:
            tracemalloc.stop()
    assert grown < limit, f"{grown} bytes kept after {calls:,} calls"
