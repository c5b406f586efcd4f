"""The health endpoint ``pactwatch run`` serves: ``/healthz`` (JSON) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


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

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


StatusFn = Callable[[], Awaitable[dict[str, Any]]]


async def start_health_server(host: str, port: int, metrics: Metrics, status: StatusFn) -> web.AppRunner:
    """Serve /healthz and /metrics; returns the runner (``await runner.cleanup()`` to stop)."""

    async def healthz(_: web.Request) -> web.Response:
        body = await status()
        code = 200 if body.get("ok", True) else 503
        return web.Response(text=json.dumps(body, default=str), status=code, content_type="application/json")

    async def metrics_view(_: web.Request) -> web.Response:
        body = await status()  # refreshes the gauges
        del body
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
