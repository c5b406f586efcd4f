"""The ``pactwatch`` command line. Stdout carries only results; logs and progress go to stderr."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar
from zoneinfo import ZoneInfo

import click

from bot.models import Fact
from bot.schedule import zone_or_utc
from bot.settings import Settings, describe_validation_error, load_settings

if TYPE_CHECKING:
    from bot.poller import NewArticle

T = TypeVar("T")


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except Exception as exc:
        from bot.settings import _config_path_from_env

        for line in describe_validation_error(exc, str(_config_path_from_env())):
            click.echo(line, err=True)
        sys.exit(1)


def _facts_or_exit(settings: Settings) -> tuple[Fact, ...]:
    from bot.app import load_facts
    from bot.matching import CatalogError

    try:
        return load_facts(settings)
    except CatalogError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        sys.exit(1)


def _run_async(main: Coroutine[Any, Any, T], *, interrupted: int = 130) -> T:
    """Run a command's coroutine; a problem the user can fix (configuration, an unreachable or unusable
    database) becomes one sentence on stderr and exit 1, and Ctrl-C exits at once with ``interrupted``."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.feedlist import FeedListError
    from bot.matching import CatalogError
    from bot.settings import ConfigurationError
    from bot.store.db import describe_db_error

    try:
        return asyncio.run(main)
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit(interrupted)
    except (ConfigurationError, FeedListError, CatalogError) as exc:
        for problem in getattr(exc, "problems", None) or [str(exc)]:
            click.echo(problem, err=True)
        sys.exit(1)
    except (SQLAlchemyError, ConnectionError, TimeoutError, socket.gaierror) as exc:
        click.echo(
            f"pactwatch cannot use its database ({describe_db_error(exc)}); check DATABASE_URL and that "
            "the database is running and writable.",
            err=True,
        )
        sys.exit(1)


def _setup_logging(settings: Settings) -> None:
    from bot.logs import configure_logging

    configure_logging(
        settings.log_level, secrets=settings.secret_values(), repeat_window=settings.log_repeat_window_seconds
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pactwatch")
def main() -> None:
    """pactwatch: North Korea–Russia news monitoring for Discord, Slack and the console."""


@main.command()
def run() -> None:
    """Run the service: poll feeds on schedule, post alerts and digests, answer chat commands."""
    settings = _settings_or_exit()
    _setup_logging(settings)
    from bot.app import run_service
    from bot.settings import missing_config_file

    if missing := missing_config_file():
        logging.getLogger("pactwatch").warning("%s", missing)
    _run_async(run_service(settings), interrupted=0)


@main.command()
def worker() -> None:
    """One of several processes on a PostgreSQL database: polls feeds, sends digests and alerts."""
    settings = _settings_or_exit()
    _setup_logging(settings)
    from bot.cluster.roles import require_postgresql
    from bot.settings import ConfigurationError

    try:
        require_postgresql(settings, "worker")  # before anything loads the job queue
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    from bot.cluster.worker import run_worker

    _run_async(run_worker(settings), interrupted=0)


@main.command()
def gateway() -> None:
    """The chat connection beside workers on PostgreSQL: answers commands (one active, others wait)."""
    settings = _settings_or_exit()
    _setup_logging(settings)
    from bot.cluster.roles import require_postgresql
    from bot.settings import ConfigurationError

    try:
        require_postgresql(settings, "gateway")
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    from bot.cluster.gateway import GatewayLockLost, run_gateway

    try:
        _run_async(run_gateway(settings), interrupted=0)
    except GatewayLockLost as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


@main.command()
@click.option("--once", is_flag=True, required=True, help="Poll every feed once now, then exit.")
@click.option(
    "--feed",
    "feeds",
    multiple=True,
    metavar="URL_OR_PATH",
    help="Poll only this feed (repeatable): an http(s) URL, a file:// URL or a local path.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per new article on stdout.")
def poll(once: bool, feeds: tuple[str, ...], as_json: bool) -> None:
    """Poll once and print each new article with its matches; deliver due alerts."""
    del once
    settings = _settings_or_exit()
    _setup_logging(settings)
    code = _run_async(_poll_once(settings, feeds, as_json, sys.stdout))
    sys.exit(code)


async def _poll_once(settings: Settings, feed_args: tuple[str, ...], as_json: bool, out: TextIO) -> int:
    """One round; returns the exit code: 0, or 1 when a feed failed (each failure named on stderr)."""
    from bot.app import build_services, sync_operator_feeds
    from bot.feedlist import FeedListError, spec_for_cli

    try:
        specs = [spec_for_cli(f) for f in feed_args]
    except FeedListError as exc:
        for p in exc.problems:
            click.echo(p, err=True)
        return 2
    # Console deliveries go to stderr here: stdout is for the results (and stays valid JSON Lines).
    async with build_services(settings, console_stream=sys.stderr, live=False) as svc:
        if specs:
            feeds = [await svc.store.ensure_feed(spec, svc.clock()) for spec in specs]
        else:
            try:
                await sync_operator_feeds(svc)
            except FeedListError as exc:
                for p in exc.problems:
                    click.echo(p, err=True)
                return 1
            feeds = await svc.store.list_feeds()
        bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=len(feeds), unit="feed", file=sys.stderr, leave=False)

        def advance(_outcome: object) -> None:
            if bar is not None:
                bar.update(1)

        # The pages of this poll's articles are read before it prints (and before it exits).
        report = await svc.poller.poll_feeds(feeds, progress=advance, log_failures=False, wait_for_pages=True)
        await svc.pages.drain()
        if bar:
            bar.close()
        console = await svc.store.get_subscription("console", "console")
        zone = zone_or_utc(console.timezone if console else None)
        new = sorted(report.new, key=lambda n: (n.article.published, n.id), reverse=True)
        for n in new:
            out.write(_json_line(n) if as_json else _text_lines(n, zone))
        out.flush()
        for o in report.errors:
            click.echo(f"feed {o.feed.name or o.feed.url}: {o.error}", err=True)
        await svc.outbox.drain()
        await svc.outbox.release()  # a `run` beside it takes its channels at once
    click.echo(report.summary(), err=True)
    return 1 if report.errors else 0


def _json_line(n: NewArticle) -> str:
    a = n.article
    record = {
        "id": n.id,
        "feed": n.feed.url,
        "source": a.source,
        "title": a.title,
        # The text under the title the matcher read, and where it came from ("feed" or "page"): piping
        # these lines into `pactwatch match` gives the same facts.
        "text": a.main_text,
        "text_source": a.text_source,
        "url": a.url,
        "published": a.published.isoformat(),
        "lang": a.lang,
        "relevant": n.match.relevant,
        "facts": list(n.match.fact_ids),
        "watches": list(n.match.watch_ids),
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


def _text_lines(n: NewArticle, zone: ZoneInfo) -> str:
    a = n.article
    tags = ",".join(n.match.fact_ids + n.match.watch_ids)
    mark = "*" if n.match.relevant else " "
    when = a.published.astimezone(zone)
    line = f"{mark} {when:%Y-%m-%d %H:%M} {when.tzname()} [{a.lang}] {a.title} — {a.source}"
    return line + (f" {{{tags}}}" if tags else "") + f"\n    {a.url}\n"


@main.command()
def facts() -> None:
    """List the fact catalog."""
    catalog = _facts_or_exit(_settings_or_exit())
    for f in catalog:
        click.echo(f"{f.id:<22} [{f.priority}] {f.title}")
        click.echo(f"{'':<22} {f.statement}")


@main.command("check-config")
def check_config() -> None:
    """Check everything ``run`` will use: the settings, the feed list, the fact catalog and relevance
    word lists, the database (tried briefly). One line per problem on stdout; exit 1 on any."""
    from bot.settings import _config_path_from_env, missing_config_file

    problems: list[str] = []
    missing = missing_config_file()
    if missing:
        problems.append(missing)
    try:
        settings = load_settings()
    except Exception as exc:
        problems += describe_validation_error(exc, str(_config_path_from_env()))
        settings = None
    warnings: list[str] = []
    if settings is not None:
        problems += _check_files(settings)
        db_problem, warnings = asyncio.run(_check_network(settings))
        if db_problem:
            problems.append(f"DATABASE_URL: {db_problem}")
        _say_what_was_read(settings)
    for p in problems:
        click.echo(p)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    if problems:
        sys.exit(1)
    click.echo("configuration OK", err=True)


def _say_what_was_read(settings: Settings) -> None:
    from bot.settings import packaged_config_dir

    path = settings.config_path
    click.echo(
        f"settings: {path if path.is_file() else 'none (built-in defaults and the environment)'}", err=True
    )
    click.echo(f"feeds: {settings.resolved_feeds_file()}", err=True)
    click.echo(f"facts: {settings.resolved_facts_file()}", err=True)
    click.echo(f"relevance: {packaged_config_dir() / 'relevance.toml'}", err=True)
    click.echo(f"database: {_redacted_db_url(settings.db_url)}", err=True)


def _redacted_db_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable)"


def _check_files(settings: Settings) -> list[str]:
    from bot.feedlist import FeedListError, load_feed_list
    from bot.matching import CatalogError, load_catalog
    from bot.matching.relevance import RelevanceConfigError, default_groups
    from bot.matching.statement import StatementConfigError, default_statement
    from bot.matching.subject import SubjectConfigError, default_subject
    from bot.store.db import check_database_url

    problems: list[str] = []
    try:
        load_feed_list(settings.resolved_feeds_file())
    except FeedListError as exc:
        problems += exc.problems
    try:
        load_catalog(settings.resolved_facts_file())
    except CatalogError as exc:
        problems += exc.problems
    for load_relevance_table in (default_groups, default_subject, default_statement):
        try:
            load_relevance_table()
        except (RelevanceConfigError, SubjectConfigError, StatementConfigError) as exc:
            problems.append(str(exc))
    problems += check_database_url(settings.db_url)
    return problems


async def _check_network(settings: Settings) -> tuple[str | None, list[str]]:
    """The database tried briefly, and a warning per feed on a private address the fetcher will refuse."""
    from bot.feedlist import FeedListError, load_feed_list
    from bot.ingest.netguard import private_address_of
    from bot.store.db import check_database_url, probe_database

    db_problem = None
    if not check_database_url(settings.db_url):
        db_problem = await probe_database(settings.db_url, within=settings.check_config_db_seconds)
    warnings: list[str] = []
    if not settings.allow_private_networks:
        try:
            specs = load_feed_list(settings.resolved_feeds_file())
        except FeedListError:
            specs = []  # already reported
        found = await asyncio.gather(*(private_address_of(spec.url) for spec in specs))
        for spec, addr in zip(specs, found, strict=True):
            if addr is not None:
                where = f"{settings.resolved_feeds_file()}: feed {spec.name or spec.url!r}"
                warnings.append(
                    f"{where} is at {addr}, a private address, which the fetcher refuses; set "
                    "PACTWATCH_ALLOW_PRIVATE_NETWORKS=true to poll it."
                )
    return db_problem, warnings


@main.command()
@click.argument("source", required=False, default="-", type=click.File("r", encoding="utf-8"))
@click.option(
    "--watch", "watches", multiple=True, metavar="QUERY", help="An ad-hoc watch query (repeatable)."
)
def match(source: TextIO, watches: tuple[str, ...]) -> None:
    """Match JSON Lines articles ({id, title, text, lang?, url?, published?}) from FILE or stdin."""
    from bot.matching import WatchLimits
    from bot.matching.jsonl import run_match

    settings = _settings_or_exit()
    catalog = _facts_or_exit(settings)
    limits = WatchLimits.of(settings)
    sys.exit(run_match(source, sys.stdout, facts=catalog, watch_queries=list(watches), limits=limits))


@main.command()
@click.option("--since", default="24h", show_default=True, help="Window length: 90m, 24h, 7d.")
@click.option("--channel", default=None, metavar="PLATFORM:ID", help="As this subscription sees it.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
@click.option("--all", "every_story", is_flag=True, help="List every story (no '… and K more').")
def digest(since: str, channel: str | None, fmt: str, every_story: bool) -> None:
    """Print a digest of the stories stored in the window (it does not post or advance anything)."""
    settings = _settings_or_exit()
    _setup_logging(settings)
    from bot.digest.render import parse_since

    try:
        span = parse_since(since)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    sys.exit(_run_async(_print_digest(settings, span, channel, fmt, sys.stdout, every_story=every_story)))


async def _print_digest(
    settings: Settings, span: Any, channel: str | None, fmt: str, out: TextIO, *, every_story: bool = False
) -> int:
    from bot.app import build_services
    from bot.digest.render import render

    async with build_services(settings, console_stream=sys.stderr, chat=False, live=False) as svc:
        sub = None
        if channel is not None:
            platform, _, chan = channel.partition(":")
            if not platform or not chan:
                click.echo(f"--channel {channel!r} is not PLATFORM:ID; write it like discord:1234.", err=True)
                return 2
            sub = await svc.store.get_subscription(platform, chan)
            if sub is None:
                known = [f"{s.platform}:{s.channel}" for s in await svc.store.list_subscriptions()]
                hint = (
                    f"the subscribed channels are {', '.join(known)}" if known else "no channel has one yet"
                )
                click.echo(f"{channel} has no subscription; {hint}.", err=True)
                return 2
        await svc.clusterer.cluster_pending()
        d = await svc.digests.build(start=svc.clock() - span, end=None, sub=sub, every_story=every_story)
        out.write(render(d, fmt) + "\n")
    return 0


@main.command()
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, help="Days to show.")
@click.option("--timezone", "zone", default="UTC", show_default=True, help="Days start at midnight here.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the PNG.",
)
def trend(days: int, zone: str, out: Path) -> None:
    """Write a chart of stories per fact per day (a facts × days heat map) as a PNG."""
    from bot.schedule import ScheduleError
    from bot.schedule import zone as check_zone

    settings = _settings_or_exit()
    _setup_logging(settings)
    try:
        tz = check_zone(zone)
    except ScheduleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    png = _run_async(_trend_png(settings, days, tz))
    try:
        out.write_bytes(png)
    except OSError as exc:
        click.echo(f"cannot write {out}: {exc.strerror or exc}; give --out a writable file path.", err=True)
        sys.exit(1)
    click.echo(f"wrote {out} ({days} days, {zone})", err=True)


async def _trend_png(settings: Settings, days: int, zone: ZoneInfo) -> bytes:
    from bot.app import build_services

    async with build_services(settings, console_stream=sys.stderr, chat=False, live=False) as svc:
        return await svc.digests.trend_png(days=days, zone=zone)


if __name__ == "__main__":  # pragma: no cover
    main()
