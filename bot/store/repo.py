"""The store: every read and write the bot makes, as async methods over SQLAlchemy Core.

``Store`` combines one mixin per domain over one engine (``bot.store.base.StoreBase``): feeds, articles
and matches, watches and subscriptions, the outbox, stories and digests. SQLite and PostgreSQL are both
first-class: inserts that may collide use the dialect's ``ON CONFLICT DO NOTHING``; the outbox claim uses
``FOR UPDATE SKIP LOCKED`` on PostgreSQL and SQLite's single-writer lock, so two processes never claim the
same delivery.

This module is where the rest of the bot imports the store and its row types from.
"""

from __future__ import annotations

from bot.store.articles import ArticlesMixin
from bot.store.base import QuotaError
from bot.store.feeds import FeedsMixin, UnchangedPoll
from bot.store.outbox import OutboxMixin
from bot.store.pages import PageRow, PagesMixin
from bot.store.rows import (
    EVIDENCE_ADAPTER,
    FeedRow,
    MatchedArticle,
    PlannedDelivery,
    StoredArticle,
    SubscriptionRow,
    WatchRow,
)
from bot.store.stories import StoriesMixin, StoryAssignment
from bot.store.watches import WatchesMixin

__all__ = [
    "EVIDENCE_ADAPTER",
    "FeedRow",
    "MatchedArticle",
    "PageRow",
    "PlannedDelivery",
    "QuotaError",
    "Store",
    "StoredArticle",
    "StoryAssignment",
    "SubscriptionRow",
    "UnchangedPoll",
    "WatchRow",
]


class Store(ArticlesMixin, FeedsMixin, WatchesMixin, OutboxMixin, StoriesMixin, PagesMixin):
    """The database behind pactwatch. Build with ``await Store.open(url)``; close with ``await close()``."""
