"""The health endpoint ``pactwatch run`` serves: ``/healthz`` (JSON) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.models import Alert, Delivery, SendResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """What health needs to know of one enabled feed."""

    name: str
    interval: timedelta
    last_success_at: datetime | None
    created_at: datetime


def problems(
    feeds: Sequence[FeedHealth],
    *,
    now: datetime,
    oldest_due_delivery: datetime | None,
    max_delivery_delay: timedelta,
    feed_failure_intervals: int,
) -> list[str]:
    """Why the service is unhealthy (empty: healthy). Pure.

    - the oldest delivery that is due has waited longer than ``max_delivery_delay`` (the sender is stuck);
    - every feed has gone ``feed_failure_intervals`` of its intervals without a successful poll (the
      network or the fetcher is broken; one dead feed is not the service's problem)."""
    found: list[str] = []
    if oldest_due_delivery is not None and now - oldest_due_delivery > max_delivery_delay:
        waited = int((now - oldest_due_delivery).total_seconds())
        limit = int(max_delivery_delay.total_seconds())
        found.append(f"the oldest due delivery has waited {waited} s (limit {limit} s)")

    def failing(f: FeedHealth) -> bool:
        return now - (f.last_success_at or f.created_at) > f.interval * feed_failure_intervals

    if feeds and all(failing(f) for f in feeds):
        found.append(f"no feed has been polled successfully for {feed_failure_intervals} of its intervals")
    return found


class Metrics:
    """The service's counters, in a registry of their own (no global state, so tests can build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter("pactwatch_polls", "Feed polls attempted", registry=self.registry)
        self.poll_errors = Counter("pactwatch_poll_errors", "Feed polls that failed", registry=self.registry)
        self.articles = Counter("pactwatch_articles", "New articles stored", registry=self.registry)
        self.matches = Counter(
            "pactwatch_matches", "Fact and watch matches", ["kind"], registry=self.registry
        )
        self.deliveries = Counter(
            "pactwatch_deliveries",
            "Delivery attempts by outcome",
            ["platform", "status"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge("pactwatch_outbox_depth", "Deliveries waiting", registry=self.registry)
        self.feeds_failing = Gauge(
            "pactwatch_feeds_failing", "Feeds whose last poll failed", registry=self.registry
        )
        self.alerts = Counter(
            "pactwatch_alerts", "Alerts sent, by platform", ["platform"], registry=self.registry
        )
        self.fetch_seconds = Histogram(
            "pactwatch_fetch_seconds", "Time to fetch one feed", registry=self.registry
        )
        self.parse_seconds = Histogram(
            "pactwatch_parse_seconds", "Time to parse and match one feed", registry=self.registry
        )
        # 1 for this process's role ("run", "worker", "gateway", "gateway-standby"): one process per role.
        self.role = Gauge("pactwatch_role", "This process's role", ["role"], registry=self.registry)
        self.feed_since_success = Gauge(
            "pactwatch_feed_seconds_since_success",
            "Seconds since each feed's last successful poll",
            ["feed"],
            registry=self.registry,
        )

    def count_delivery(self, delivery: Delivery, result: SendResult) -> None:
        """The outbox's ``on_result``: every attempt by platform and outcome, and sent alerts."""
        self.deliveries.labels(delivery.platform, result.status).inc()
        if result.status == "sent" and isinstance(delivery.payload, Alert):
            self.alerts.labels(delivery.platform).inc()

    def set_role(self, role: str) -> None:
        """Report ``role`` as this process's only role."""
        self.role.clear()
        self.role.labels(role).set(1)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


StatusFn = Callable[[], Awaitable[dict[str, Any]]]


async def start_health_server(host: str, port: int, metrics: Metrics, status: StatusFn) -> web.AppRunner:
    """Serve /healthz and /metrics; returns the runner (``await runner.cleanup()`` to stop)."""

    async def healthz(_: web.Request) -> web.Response:
        try:
            body = await status()
        except Exception as exc:  # the database is unreachable (or status itself broke): unhealthy
            log.error(
                "health check failed: %s: %s",
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
            )
            body = {"ok": False, "problems": [f"the database is unreachable ({type(exc).__name__})"]}
        code = 200 if body.get("ok", True) else 503
        return web.Response(text=json.dumps(body, default=str), status=code, content_type="application/json")

    async def metrics_view(_: web.Request) -> web.Response:
        try:
            await status()  # refreshes the gauges
        except Exception:
            log.debug("status failed while rendering metrics", exc_info=True)
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
