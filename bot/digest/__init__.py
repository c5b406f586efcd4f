"""Stories, digests, schedules, the alert policy and the trend chart.

The composition root builds ``StoryClusterer``, ``StoryRouter`` (the poller's router), ``Digests``,
``Summaries`` and ``DigestScheduler``; ``compose_digest`` and ``render`` are pure. Schedules
are parsed by ``bot.schedule``, the one schedule grammar.
"""

from bot.digest.clustering import StoryClusterer
from bot.digest.compose import compose_digest
from bot.digest.policy import StoryRouter
from bot.digest.scheduler import DigestScheduler
from bot.digest.summary import Summaries
from bot.digest.windows import Digests
from bot.schedule import ScheduleError, cron_trigger, to_crontab

__all__ = [
    "DigestScheduler",
    "Digests",
    "ScheduleError",
    "StoryClusterer",
    "StoryRouter",
    "Summaries",
    "compose_digest",
    "cron_trigger",
    "to_crontab",
]
