"""Stories, digests, schedules, the alert policy and the trend chart.

Entry points others call: ``digest_now``, ``trend_png``, ``compose_digest``, ``install`` (wires the
story router and the digest scheduler into the services), and ``cron_trigger`` / ``to_crontab`` (re-exported
from ``bot.schedule``, the one schedule grammar).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.digest.chart import trend_png
from bot.digest.compose import compose_digest
from bot.digest.windows import digest_now
from bot.schedule import ScheduleError, cron_trigger, to_crontab

if TYPE_CHECKING:
    from bot.app import Services

__all__ = [
    "ScheduleError",
    "compose_digest",
    "cron_trigger",
    "digest_now",
    "install",
    "to_crontab",
    "trend_png",
]


def install(svc: Services) -> None:
    """Route new articles through stories and the alert policy, and schedule digests and summaries."""
    from bot.digest.clustering import clusterer_for
    from bot.digest.policy import StoryRouter
    from bot.digest.schedule import DigestScheduler

    router = StoryRouter(
        svc.store,
        svc.facts,
        policy=svc.router.policy,
        matchers=svc.matchers,
        clusterer=clusterer_for(svc),
        alerts_per_hour=svc.settings.alerts_per_channel_per_hour,
    )
    svc.router = router
    svc.poller.router = router
    scheduler = DigestScheduler(svc)
    svc.extras["digest_scheduler"] = scheduler
    hooks: list[Any] = svc.extras.setdefault("scheduler_hooks", [])
    hooks.append(scheduler.install)
