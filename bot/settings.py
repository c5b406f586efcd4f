"""Settings: one pydantic-settings model, built only by ``load_settings`` (never at import time).

Precedence, highest first: environment (and ``.env``), the TOML settings file, the defaults below.
The TOML file is ``$PACTWATCH_CONFIG`` or ``config/pactwatch.toml`` in the working directory; the feed list
and fact catalog are looked for beside it, then fall back to the copies packaged with pactwatch.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.schedule import check_timezone, parse_digest_schedule

MiB = 1024 * 1024
DEFAULT_CONFIG_PATH = Path("config/pactwatch.toml")


class ConfigurationError(RuntimeError):
    """Settings that cannot work together (e.g. Slack HTTP mode without a signing secret). The message is
    one sentence naming the setting to fix; ``pactwatch run`` prints it and exits 1."""


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class SubscriptionConfig(BaseModel):
    """A subscription declared in the settings file, for headless installs."""

    platform: Literal["discord", "slack", "console"]
    channel: str
    alerts: Literal["off", "facts", "watches", "all"] = "facts"
    digest: str | None = None  # any form bot.schedule accepts ("08:00", "0 8 * * *", …); kept as its crontab
    timezone: str = "UTC"
    facts: list[str] | None = None  # None: every fact
    mention_role: str | None = None

    @field_validator("channel", mode="before")
    @classmethod
    def _channel_as_text(cls, v: object) -> object:
        # A Discord channel id written as a bare TOML integer is still a channel id.
        return str(v) if isinstance(v, int) else v

    @field_validator("digest")
    @classmethod
    def _digest_crontab(cls, v: str | None) -> str | None:
        return None if v is None else parse_digest_schedule(v)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        return check_timezone(v)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PACTWATCH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        case_sensitive=False,
        populate_by_name=True,
    )

    # --- where things live -------------------------------------------------------------------------
    config_path: Path = Field(DEFAULT_CONFIG_PATH, validation_alias=_alias("PACTWATCH_CONFIG"))
    data_dir: Path = Path("data")
    database_url: str | None = Field(None, validation_alias=_alias("database_url", "DATABASE_URL"))
    feeds_file: Path | None = None  # default: feeds.toml beside the settings file, else packaged
    facts_file: Path | None = None  # default: facts.toml beside the settings file, else packaged

    # --- network policy ----------------------------------------------------------------------------
    allow_private_networks: bool = False

    # --- chat platforms (secrets never logged) -----------------------------------------------------
    discord_token: SecretStr | None = Field(None, validation_alias=_alias("discord_token", "DISCORD_TOKEN"))
    discord_api_base: str = Field(
        "https://discord.com/api/v10", validation_alias=_alias("discord_api_base", "DISCORD_API_BASE")
    )
    discord_dev_guild: int | None = None
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=_alias("slack_bot_token", "SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=_alias("slack_app_token", "SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_alias("slack_signing_secret", "SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias=_alias("slack_api_url", "SLACK_API_URL")
    )
    slack_http_port: int | None = Field(
        None, validation_alias=_alias("slack_http_port", "PACTWATCH_SLACK_HTTP_PORT")
    )
    slack_admins: list[str] = Field(default_factory=list)
    slack_http_host: str = "0.0.0.0"  # HTTP mode listens here (on slack_http_port)
    slack_channel_pace_seconds: float = Field(1.0, ge=0)  # minimum gap between two posts to a channel
    slack_rate_limit_retries: int = Field(3, ge=0)  # 429s the Web API client waits out before giving up
    slack_find_sent_limit: int = Field(200, ge=1, le=999)  # recent messages read back to reconcile
    slack_admin_cache_seconds: float = Field(300.0, ge=0)  # how long a users.info admin answer is reused
    slack_title_max_chars: int = Field(300, ge=20, le=2000)  # a headline in a message is cut here
    slack_sources_per_story: int = Field(5, ge=1, le=20)  # sources listed per digest line ("+N more")
    slack_fallback_max_chars: int = Field(3000, ge=100, le=40000)  # the plain-text `text` of a message
    slack_connect_wait_seconds: float = Field(15.0, gt=0)  # Socket Mode: wait this long at start, then go on
    console: Literal["auto", "on", "off"] = "auto"  # auto: on when no chat token is set

    # --- polling -----------------------------------------------------------------------------------
    poll_interval_seconds: int = Field(300, ge=10)
    poll_jitter_seconds: int = Field(30, ge=0)
    # One poll holds its feed this long at most; a process that died mid-poll releases it when it expires.
    poll_lease_seconds: float = Field(300.0, gt=0)
    seed_first_poll: bool = True  # first successful poll of a new feed stores without alerting
    backoff_base_seconds: int = Field(60, ge=1)
    backoff_max_seconds: int = Field(6 * 3600, ge=1)
    retry_after_max_seconds: int = Field(6 * 3600, ge=0)  # a server's Retry-After/max-age is capped here

    # --- fetch limits ------------------------------------------------------------------------------
    fetch_max_bytes: int = Field(10 * MiB, ge=1024)  # after decompression, enforced while streaming
    fetch_connect_timeout_seconds: float = Field(10.0, gt=0)
    fetch_total_timeout_seconds: float = Field(30.0, gt=0)
    fetch_max_redirects: int = Field(5, ge=0)
    fetch_concurrency: int = Field(64, ge=1)
    fetch_per_host_concurrency: int = Field(4, ge=1)
    user_agent: str = "pactwatch/0.1 (+https://github.com/pactwatch/pactwatch; news-monitoring bot)"

    # --- parse limits ------------------------------------------------------------------------------
    parse_workers: int = Field(2, ge=1)
    match_in_workers: bool = True  # match articles in the parser workers (off the event loop, in parallel)
    parse_timeout_seconds: float = Field(20.0, gt=0)
    parse_memory_limit_mb: int = Field(512, ge=64)
    parse_max_entries: int = Field(500, ge=1)
    text_max_chars: int = Field(5000, ge=100)  # summary text kept per article

    # --- full text: the linked article page (bot/pages.py, bot/ingest/page.py) ------------------------
    # When to fetch an item's page: "auto" (short item text that names a side or a watch word), "always",
    # "never". A feed's own ``full_text`` in feeds.toml overrides it.
    full_text: Literal["auto", "always", "never"] = "auto"
    page_short_text_chars: int = Field(600, ge=0)  # "auto": the item's own text is short below this
    page_max_bytes: int = Field(2 * MiB, ge=1024)  # a page's body, after decompression
    page_timeout_seconds: float = Field(15.0, gt=0)  # one page fetch, redirects included
    page_wait_seconds: float = Field(
        3.0, ge=0
    )  # a poll waits this long for its pages, then routes on feed text
    page_concurrency: int = Field(16, ge=1)  # page fetches at once, over all hosts
    page_per_host_concurrency: int = Field(2, ge=1, le=4)  # page fetches at once per host (feeds' limit: 4)
    page_per_host_interval_seconds: float = Field(1.0, ge=0)  # the least time between two page requests
    page_max_attempts: int = Field(4, ge=1)  # tries of a page that fails for a passing reason (5xx, timeout)
    page_retry_seconds: float = Field(120.0, gt=0)  # first retry after a passing failure; doubles per try
    page_text_max_chars: int = Field(20_000, ge=500)  # extracted page text kept and matched per article
    page_resume_batch: int = Field(200, ge=1)  # pending pages taken up per poll round (the rest: next round)
    robots_max_bytes: int = Field(512 * 1024, ge=1024)  # robots.txt read at most (RFC 9309 asks ≥ 500 KiB)
    robots_cache_seconds: float = Field(3600.0, gt=0)  # a host's robots.txt is reused this long
    robots_cache_hosts: int = Field(1024, ge=1)  # hosts whose robots.txt is kept in memory

    # --- storage -----------------------------------------------------------------------------------
    retention_days: int = Field(90, ge=1)
    db_retry_attempts: int = Field(8, ge=1)  # a locked or unreachable database is retried, not fatal

    # --- delivery ----------------------------------------------------------------------------------
    outbox_batch: int = Field(50, ge=1)
    outbox_lease_seconds: float = Field(120.0, gt=0)
    outbox_interval_seconds: float = Field(2.0, gt=0)
    send_timeout_seconds: float = Field(15.0, gt=0)
    send_max_attempts: int = Field(12, ge=1)
    # The shortest wait before a failed send is tried again, whatever Retry-After the platform gave.
    send_retry_min_seconds: float = Field(1.0, gt=0)
    # How long check-config waits for the database to answer.
    check_config_db_seconds: float = Field(5.0, gt=0)
    alert_max_age_hours: float = Field(48.0, gt=0)
    alerts_per_channel_per_hour: int = Field(10, ge=1)

    # --- stories and digests (bot/digest) ----------------------------------------------------------
    story_window_hours: float = Field(72.0, gt=0)  # how far back a new article looks for its copies
    story_index_max_articles: int = Field(20_000, ge=100)  # recent articles kept in memory for that
    story_similarity: float = Field(0.5, gt=0, le=1)  # shingle Jaccard that makes two texts one story
    story_containment: float = Field(0.7, gt=0, le=1)  # or: the shorter text is this much inside the longer
    digest_top_per_section: int = Field(5, ge=1)  # stories listed per section before "and K more"
    digest_first_window_hours: float = Field(24.0, gt=0)  # a channel's first digest looks back this far
    digest_max_stories: int = Field(20_000, ge=1)  # stories read for one digest window
    digest_misfire_grace_seconds: int = Field(6 * 3600, ge=1)  # a digest delayed this long still goes out
    digest_sync_seconds: int = Field(60, ge=5)  # how often schedules are re-read from the database
    summary_interval_minutes: int = Field(60, ge=1)  # held alerts go out as one summary this often

    # --- chat commands -----------------------------------------------------------------------------
    max_watches_per_tenant: int = Field(100, ge=1)
    max_feeds_per_tenant: int = Field(25, ge=1)
    query_max_chars: int = Field(500, ge=10)
    watch_test_days: int = Field(7, ge=1)
    query_max_depth: int = Field(8, ge=1, le=50)  # nesting of parentheses/NOT in one query
    query_max_cost: int = Field(10_000_000_000, ge=1)  # estimated work of one watch query (query_cost)
    watch_work_budget: int = Field(50_000, ge=100)  # span work one watch may do on one article
    watch_label_max_chars: int = Field(80, ge=1, le=100)
    feed_url_max_chars: int = Field(2048, ge=20, le=2048)
    command_arg_max_chars: int = Field(500, ge=10)  # any other free-text command argument
    command_list_max: int = Field(10, ge=1, le=25)  # stories shown by watch test / fact / why
    command_recent_days: int = Field(7, ge=1)  # the window of `facts` match counts
    watch_test_max_articles: int = Field(20_000, ge=100)  # stored articles `watch test` reads at most
    command_user_burst: int = Field(5, ge=1)  # per-user command token bucket: size …
    command_user_per_minute: float = Field(12.0, gt=0)  # … and refill rate
    command_channel_burst: int = Field(15, ge=1)  # per-channel token bucket
    command_channel_per_minute: float = Field(30.0, gt=0)
    discord_channel_pace_seconds: float = Field(1.0, ge=0)  # minimum gap between two posts to a channel
    discord_find_sent_limit: int = Field(50, ge=1, le=100)  # recent messages read back to reconcile
    discord_max_inline_wait_seconds: float = Field(5.0, ge=0)  # longer 429 waits go back to the outbox
    discord_defer_after_seconds: float = Field(2.0, ge=0, lt=3)  # Discord wants an answer within 3 s

    # --- several machines (``pactwatch worker`` / ``pactwatch gateway``, PostgreSQL only) --------------
    worker_concurrency: int = Field(16, ge=1, le=256)  # jobs (feed polls) one worker runs at once
    # How often a worker (whichever takes the periodic job) queues the feeds that are due; divides 60.
    worker_dispatch_seconds: int = Field(5, ge=1, le=60)
    worker_heartbeat_seconds: float = Field(10.0, gt=0)  # how often a worker tells the database it lives
    # A job whose worker has not beaten for this long is stalled (its worker died) and is run again.
    worker_stalled_seconds: float = Field(60.0, gt=0)
    worker_stalled_sweep_seconds: int = Field(15, ge=1, le=60)  # how often stalled jobs are looked for
    worker_upkeep_seconds: int = Field(30, ge=1, le=60)  # stories for seeded backlogs, held-alert summaries
    worker_shutdown_seconds: float = Field(30.0, gt=0)  # on SIGTERM, running polls get this long to end
    worker_job_poll_seconds: float = Field(2.0, gt=0)  # a worker looks for jobs at least this often
    worker_db_pool_size: int = Field(8, ge=2, le=100)  # the job queue's connections per worker
    worker_keep_jobs_hours: int = Field(24, ge=1)  # finished jobs are deleted after this long (retention)
    # A standby gateway tries to become the active one this often.
    gateway_standby_seconds: float = Field(5.0, gt=0)

    # --- health endpoint ---------------------------------------------------------------------------
    health_host: str = "127.0.0.1"
    health_port: int = Field(8080, ge=0, le=65535)  # 0 disables it
    # /healthz answers 503 when the oldest due delivery has waited longer than this (the sender is stuck) …
    health_max_delivery_delay_seconds: float = Field(900.0, gt=0)
    # … or when no feed has polled successfully for this many of its intervals.
    health_feed_failure_intervals: int = Field(3, ge=1)

    # --- logging -----------------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # The same warning or error (same message and subject) is logged at most once per this many seconds.
    log_repeat_window_seconds: float = Field(60.0, ge=0)

    subscriptions: list[SubscriptionConfig] = Field(default_factory=list)

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check_backoff(self) -> Settings:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("backoff_max_seconds must be at least backoff_base_seconds")
        return self

    @model_validator(mode="after")
    def _check_workers(self) -> Settings:
        for name in ("worker_dispatch_seconds", "worker_stalled_sweep_seconds", "worker_upkeep_seconds"):
            if 60 % getattr(self, name):
                raise ValueError(f"{name} must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)")
        if self.worker_stalled_seconds < 2 * self.worker_heartbeat_seconds:
            raise ValueError(
                "worker_stalled_seconds must be at least twice worker_heartbeat_seconds, or live workers' "
                "jobs would be taken for stalled"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_path_from_env()
        toml = TomlConfigSettingsSource(settings_cls, toml_file=path if path.is_file() else None)
        return (init_settings, env_settings, dotenv_settings, toml)

    # --- derived -----------------------------------------------------------------------------------
    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pactwatch.db').resolve()}"

    @property
    def config_dir(self) -> Path:
        return self.config_path.parent

    def resolved_feeds_file(self) -> Path:
        return self.feeds_file or _config_file(self.config_dir, "feeds.toml")

    def resolved_facts_file(self) -> Path:
        return self.facts_file or _config_file(self.config_dir, "facts.toml")

    def secret_values(self) -> list[str]:
        """The configured tokens' values, for redaction."""
        secrets = (self.discord_token, self.slack_bot_token, self.slack_app_token, self.slack_signing_secret)
        return [s.get_secret_value() for s in secrets if s is not None]

    @property
    def console_enabled(self) -> bool:
        if self.console == "auto":
            return self.discord_token is None and self.slack_bot_token is None
        return self.console == "on"


def _config_path_from_env() -> Path:
    raw = os.environ.get("PACTWATCH_CONFIG")
    return Path(raw) if raw else DEFAULT_CONFIG_PATH


def packaged_config_dir() -> Path:
    """The defaults shipped with pactwatch: ``bot/defaults`` in a wheel, ``config/`` in a checkout."""
    packaged = Path(str(resources.files("bot"))) / "defaults"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "config"


def _config_file(config_dir: Path, name: str) -> Path:
    local = config_dir / name
    return local if local.is_file() else packaged_config_dir() / name


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment, ``.env`` and the TOML file. Raises pydantic's
    ``ValidationError`` on bad values; ``describe_validation_error`` turns it into one line per problem."""
    return Settings(**overrides)


def missing_config_file() -> str | None:
    """One sentence when ``PACTWATCH_CONFIG`` names a file that does not exist (the defaults are used)."""
    raw = os.environ.get("PACTWATCH_CONFIG")
    if raw and not Path(raw).is_file():
        return (
            f"PACTWATCH_CONFIG names {raw}, which is not a file, so the defaults are used; create it, or "
            "unset PACTWATCH_CONFIG."
        )
    return None


def describe_validation_error(exc: Exception, source: str) -> list[str]:
    """One line per problem: ``<source>: <key>: <what is wrong>``."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return [f"{source}: {exc}"]
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
        msg = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            msg = "unknown setting; check its spelling against the README's configuration reference"
        elif err.get("type") == "value_error" and "error" in err.get("ctx", {}):
            msg = str(err["ctx"]["error"])  # our validators' own sentence, without pydantic's "Value error, "
        lines.append(f"{source}: {key}: {msg}")
    return lines
