"""The ``pactwatch`` command line. Stdout carries only results; logs and progress go to stderr."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

import click

from bot.models import Fact
from bot.settings import Settings, describe_validation_error, load_settings


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


def _setup_logging(settings: Settings) -> None:
    from bot.logs import configure_logging

    configure_logging(settings.log_level, secrets=settings.secret_values())


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
    from bot.feedlist import FeedListError
    from bot.matching import CatalogError
    from bot.settings import ConfigurationError

    try:
        asyncio.run(run_service(settings))
    except KeyboardInterrupt:
        return
    except (ConfigurationError, FeedListError, CatalogError) as exc:
        for problem in getattr(exc, "problems", None) or [str(exc)]:
            click.echo(problem, err=True)
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
    code = asyncio.run(_poll_once(settings, feeds, as_json, sys.stdout))
    sys.exit(code)


async def _poll_once(settings: Settings, feed_args: tuple[str, ...], as_json: bool, out: TextIO) -> int:
    from bot.app import build_services, sync_operator_feeds
    from bot.feedlist import FeedListError, spec_for_cli

    # Console deliveries go to stderr here: stdout is for the results (and stays valid JSON Lines).
    async with build_services(settings, console_stream=sys.stderr, live=False) as svc:
        if feed_args:
            feeds = [await svc.store.ensure_feed(spec_for_cli(f), svc.clock()) for f in feed_args]
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

        report = await svc.poller.poll_feeds(feeds, progress=advance)
        if bar:
            bar.close()
        for n in report.new:
            a = n.article
            if as_json:
                record = {
                    "id": n.id,
                    "feed": n.feed.url,
                    "title": a.title,
                    "url": a.url,
                    "published": a.published.isoformat(),
                    "lang": a.lang,
                    "relevant": n.match.relevant,
                    "facts": list(n.match.fact_ids),
                    "watches": list(n.match.watch_ids),
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                tags = ",".join(n.match.fact_ids + n.match.watch_ids)
                mark = "*" if n.match.relevant else " "
                out.write(f"{mark} {a.published:%Y-%m-%d %H:%M} [{a.lang}] {a.title} — {a.source}")
                out.write(f" {{{tags}}}\n" if tags else "\n")
                out.write(f"    {a.url}\n")
        out.flush()
        for o in report.errors:
            click.echo(f"feed {o.feed.url}: {o.error}", err=True)
        assert svc.outbox is not None
        await svc.outbox.drain()
    return 0


@main.command()
def facts() -> None:
    """List the fact catalog."""
    catalog = _facts_or_exit(_settings_or_exit())
    for f in catalog:
        click.echo(f"{f.id:<22} [{f.priority}] {f.title}")
        click.echo(f"{'':<22} {f.statement}")


@main.command("check-config")
def check_config() -> None:
    """Validate the settings file, the feed list and the fact catalog; one line per problem."""
    from bot.settings import _config_path_from_env

    problems: list[str] = []
    try:
        settings = load_settings()
    except Exception as exc:
        problems += describe_validation_error(exc, str(_config_path_from_env()))
        settings = None
    if settings is not None:
        problems += _check_files(settings)
    for p in problems:
        click.echo(p)
    if problems:
        sys.exit(1)
    click.echo("configuration OK", err=True)


def _check_files(settings: Settings) -> list[str]:
    from bot.feedlist import FeedListError, load_feed_list
    from bot.matching import CatalogError, load_catalog
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
    problems += check_database_url(settings.db_url)
    problems += _check_subscriptions(settings)
    return problems


def _check_subscriptions(settings: Settings) -> list[str]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problems: list[str] = []
    for i, sub in enumerate(settings.subscriptions):
        where = f"{settings.config_path}: subscriptions[{i}]"
        try:
            ZoneInfo(sub.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"{where}.timezone: unknown time zone {sub.timezone!r}; use an IANA name like Asia/Seoul"
            )
    return problems


@main.command()
@click.argument("source", required=False, default="-", type=click.File("r", encoding="utf-8"))
@click.option(
    "--watch", "watches", multiple=True, metavar="QUERY", help="An ad-hoc watch query (repeatable)."
)
def match(source: TextIO, watches: tuple[str, ...]) -> None:
    """Match JSON Lines articles ({id, title, text, lang?, url?, published?}) from FILE or stdin."""
    from bot.matching.jsonl import run_match

    settings = _settings_or_exit()
    catalog = _facts_or_exit(settings)
    limits = {"query_max_chars": settings.query_max_chars, "query_max_depth": settings.query_max_depth}
    sys.exit(run_match(source, sys.stdout, facts=catalog, watch_queries=list(watches), **limits))


@main.command()
@click.option("--since", default="24h", show_default=True, help="Window length: 90m, 24h, 7d.")
@click.option("--channel", default=None, metavar="PLATFORM:ID", help="As this subscription sees it.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
def digest(since: str, channel: str | None, fmt: str) -> None:
    """Print a digest of the stories stored in the window (it does not post or advance anything)."""
    settings = _settings_or_exit()
    _setup_logging(settings)
    from bot.digest.render import parse_since

    try:
        span = parse_since(since)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    sys.exit(asyncio.run(_print_digest(settings, span, channel, fmt, sys.stdout)))


async def _print_digest(settings: Settings, span: Any, channel: str | None, fmt: str, out: TextIO) -> int:
    from bot.app import build_services
    from bot.digest.clustering import clusterer_for
    from bot.digest.render import render
    from bot.digest.windows import build_digest

    async with build_services(settings, console_stream=sys.stderr, chat=False, live=False) as svc:
        sub = None
        if channel is not None:
            platform, _, chan = channel.partition(":")
            sub = await svc.store.get_subscription(platform, chan) if chan else None
            if sub is None:
                click.echo(
                    f"no subscription for {channel!r}; give --channel as PLATFORM:ID, e.g. discord:1234",
                    err=True,
                )
                return 2
        await clusterer_for(svc).cluster_pending()
        d = await build_digest(svc, start=svc.clock() - span, end=None, sub=sub)
        out.write(render(d, fmt) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    main()
