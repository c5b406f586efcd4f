"""The database schema (SQLAlchemy Core). Migrations in ``migrations/versions`` create exactly this;
``tests/store/test_migrations.py`` fails when the two drift apart."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TS = UTCDateTime()

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    # "" for the operator's feeds (they serve everyone); "discord:<guild>" / "slack:<team>" from chat
    sa.Column("tenant", sa.String(100), nullable=False, server_default=""),
    sa.Column("name", sa.String(300), nullable=False, server_default=""),
    sa.Column("language", sa.String(16)),
    sa.Column("interval_s", sa.Integer),
    sa.Column("origin", sa.String(16), nullable=False, server_default="operator"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("etag", sa.String(1024)),
    sa.Column("last_modified", sa.String(256)),
    sa.Column("body_hash", sa.String(100)),
    sa.Column("seeded", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_poll_at", TS),
    sa.Column("last_success_at", TS),
    sa.Column("last_error_at", TS),
    sa.Column("last_error", sa.Text),
    sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_poll_at", TS),
    sa.Column("items_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", TS, nullable=False),
    # Who polls the feed now, and until when: one poll of a feed at a time, across processes.
    sa.Column("poll_owner", sa.String(200)),
    sa.Column("poll_lease_until", TS),
    # When to fetch the items' linked pages: "auto" | "always" | "never"; NULL: the full_text setting.
    sa.Column("full_text", sa.String(8)),
    sa.UniqueConstraint("url", "tenant"),
)

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("lang", sa.String(16), nullable=False, server_default="und"),
    sa.Column("first_seen", TS, nullable=False),
    sa.Column("last_seen", TS, nullable=False),
    sa.Column("signature", sa.LargeBinary),  # MinHash of the first copy
    sa.Index(None, "first_seen"),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("entry_id", sa.String(1024), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("published", TS, nullable=False),
    sa.Column("published_known", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("first_seen", TS, nullable=False),
    sa.Column("lang", sa.String(16), nullable=False),
    sa.Column("source", sa.String(300), nullable=False),
    sa.Column("relevant", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("seeded", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="SET NULL")),
    # The text from the article's page, when it was fetched and said more than the feed ("page").
    sa.Column("body", sa.Text, nullable=False, server_default=""),
    sa.Column("text_source", sa.String(8), nullable=False, server_default="feed"),
    # When the article was put in its story, as a number counted up per assignment batch (``meta``
    # "story_seq"): another process's story index reads the assignments it has not seen yet.
    sa.Column("story_seq", sa.Integer),
    sa.UniqueConstraint("feed_id", "entry_id"),
    sa.Index(None, "first_seen"),
    sa.Index(None, "url"),
    sa.Index(None, "story_id"),
    sa.Index(None, "story_seq"),
)

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # "fact" | "watch" | "relevance"
    sa.Column("ref", sa.String(64), nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),  # JSON of models.Evidence
    # Which text the hit was found in: the feed's ("feed") or the article page's ("page").
    sa.Column("text_source", sa.String(8), nullable=False, server_default="feed"),
    sa.UniqueConstraint("article_id", "kind", "ref"),
    # The fact queries (a fact's latest stories, counts, the trend) look matches up by ref; nothing looks
    # up a watch's or relevance's by ref, and indexing their ~8 rows an article cost more than storing
    # them (benchmarks/bench_poll.py). The queries must say ``FACT_HIT`` for the planner to use it.
    sa.Index(
        "ix_matches_fact_ref",
        "ref",
        sqlite_where=sa.text("kind = 'fact'"),
        postgresql_where=sa.text("kind = 'fact'"),
    ),
)

# ``matches.kind = 'fact'`` written as a literal: a planner uses the partial index only for a condition it
# can see implies the index's, which a bound parameter is not.
FACT_HIT = matches.c.kind == sa.literal_column("'fact'")

watches = sa.Table(
    "watches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("label", sa.String(100), nullable=False, server_default=""),
    sa.Column("alert", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_by", sa.String(100), nullable=False, server_default=""),
    sa.Column("created_at", TS, nullable=False),
    # Set when the watch took more work than its budget on an article: it is no longer matched.
    sa.Column("paused_reason", sa.Text),
    sa.Index(None, "platform", "channel"),
    sa.Index(None, "tenant"),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("tenant", sa.String(100), nullable=False, server_default=""),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("facts", sa.Text),  # JSON list of fact ids; NULL means every fact
    sa.Column("alerts", sa.String(8), nullable=False, server_default="facts"),
    sa.Column("digest_cron", sa.String(100)),  # 5-field crontab, standard day-of-week numbering
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("mention_role", sa.String(100)),
    sa.Column("empty_digest", sa.String(8), nullable=False, server_default="skip"),  # "skip" | "note"
    sa.Column("quiet_start", sa.String(5)),  # "22:00" local time, or NULL
    sa.Column("quiet_end", sa.String(5)),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("paused_reason", sa.Text),
    sa.Column("origin", sa.String(16), nullable=False, server_default="chat"),  # "chat" | "config"
    sa.Column("last_digest_at", TS),  # end of the last digest window sent (or enqueued)
    sa.Column("created_at", TS, nullable=False),
    # When the last held-alert summary went out (or the first held alert started the clock).
    sa.Column("summary_clock_at", TS),
    # The one outbox sender of this channel now, and until when: pacing and order hold across workers.
    sa.Column("sender_owner", sa.String(200)),
    sa.Column("sender_until", TS),
    sa.UniqueConstraint("platform", "channel"),
    sa.Index(None, "tenant"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(16), nullable=False),  # "alert" | "digest" | "summary"
    sa.Column("story_id", sa.Integer),
    sa.Column("payload", sa.Text, nullable=False),  # JSON of models.Payload
    # pending → (claimed: lease_owner/lease_until set) → sent | rejected; "held": over the hourly cap
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("not_before", TS, nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", TS),
    sa.Column("message_id", sa.String(100)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("sent_at", TS),
    sa.Index(None, "status", "not_before"),
    sa.Index(None, "subscription_id", "created_at"),
)

digest_runs = sa.Table(
    "digest_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("scheduled_for", TS, nullable=False),  # the cron fire time this run answers
    sa.Column("window_start", TS, nullable=False),
    sa.Column("window_end", TS, nullable=False),
    sa.Column("delivery_key", sa.String(200)),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("subscription_id", "scheduled_for"),
)

# One row per canonical article URL whose page pactwatch wants: the work still to do (state "pending",
# tried again at next_try_at) survives restarts, and a page is fetched once however many feeds link it.
pages = sa.Table(
    "pages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False, unique=True),
    sa.Column("state", sa.String(8), nullable=False, server_default="pending"),  # pending | done | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_try_at", TS, nullable=False),
    sa.Column("text", sa.Text, nullable=False, server_default=""),  # extracted main text, bounded
    sa.Column("http_status", sa.Integer),
    sa.Column("error", sa.Text),  # why the page gave no text (one sentence)
    sa.Column("created_at", TS, nullable=False),
    sa.Column("fetched_at", TS),
    sa.Index(None, "state", "next_try_at"),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
