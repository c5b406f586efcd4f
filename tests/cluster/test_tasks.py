"""The job queue's tasks, called as a worker calls them (no worker running): a poll job re-reads its feed
and does nothing when it is no longer due, and takes over a lease a dead worker on another machine left;
the dispatcher queues one poll per due feed, however often it fires."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.models import FeedSpec
from tests.conftest import FakeClock, FeedServer, rss

pytest.importorskip(
    "procrastinate", reason="the cluster extra is not installed: pip install 'pactwatch[cluster]'"
)


async def test_a_poll_job_polls_only_a_due_feed_and_takes_over_a_dead_workers_lease(
    services: Callable[..., Any], pg_url: str, clock: FakeClock, feed_server: FeedServer
) -> None:
    from bot.cluster.tasks import apply_queue_schema, build_app, register_tasks

    feed_server.feeds["/a.xml"] = rss([{"title": "North Korea Russia treaty", "link": "http://x.example/1"}])
    async with services(database_url=pg_url) as svc:
        await apply_queue_schema(svc.store.engine)
        assert not await apply_queue_schema(svc.store.engine), "the job queue's tables are made once"
        app = build_app(svc.settings)
        tasks = register_tasks(app, svc)
        feed = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/a.xml"), name="a"), clock())
        # A worker on another machine died mid-poll: its lease has minutes left.
        dead = "other-host:4242:dead"
        assert await svc.store.claim_feed(feed.id, owner=dead, now=clock(), lease_seconds=300)

        assert await tasks.poll_feed.func(feed_id=feed.id) == "new"
        assert feed_server.hits["/a.xml"] == 1
        polled = await svc.store.get_feed(feed.id)
        assert polled is not None and polled.seeded and polled.next_poll_at is not None
        assert await svc.store.feed_lease_holder(feed.id) is None

        # Queued twice (or run again after its poll ended): the feed is not due, nothing is fetched.
        assert await tasks.poll_feed.func(feed_id=feed.id) == "not due"
        assert feed_server.hits["/a.xml"] == 1
        assert await tasks.poll_feed.func(feed_id=feed.id + 1000) == "gone"

        # The dispatcher queues one poll per due feed, with the feed's queueing lock: never two waiting.
        clock.now = polled.next_poll_at + timedelta(seconds=1)
        async with app.open_async():
            dispatch = app.tasks["pactwatch.dispatch_due_feeds"]
            assert await dispatch.func(timestamp=0) == 1
            assert await dispatch.func(timestamp=1) == 0
            jobs = await app.job_manager.list_jobs_async(task="pactwatch.poll_feed", status="todo")
            assert [(j.queueing_lock, j.lock, j.task_kwargs) for j in jobs] == [
                (f"feed:{feed.id}", f"feed:{feed.id}", {"feed_id": feed.id})
            ]
