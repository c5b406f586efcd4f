"""The trend chart: stories per fact per day, as a PNG (matplotlib's Agg canvas, imported lazily and
used without pyplot, so no global state and no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from bot.models import Fact
from bot.store.repo import Store


def trend_series(
    rows: Sequence[tuple[int, str, datetime]], facts: Sequence[Fact], *, days: int, today: date
) -> tuple[list[date], dict[str, list[int]]]:
    """Days (oldest first) and, per fact with any story in them, the number of distinct stories whose
    earliest matching copy was published that day (UTC). Pure."""
    axis = [today - timedelta(days=days - 1 - i) for i in range(days)]
    pos = {d: i for i, d in enumerate(axis)}
    seen: dict[str, list[set[int]]] = {f.id: [set() for _ in axis] for f in facts}
    for story_id, fact_id, published in rows:
        i = pos.get(published.astimezone(UTC).date())
        if i is not None and fact_id in seen:
            seen[fact_id][i].add(story_id)
    series = {f.id: [len(s) for s in seen[f.id]] for f in facts if any(seen[f.id])}
    return axis, series


def render_trend_png(
    axis: Sequence[date], series: dict[str, list[int]], titles: dict[str, str], *, title: str
) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labels = [d.strftime("%m-%d") for d in axis]
    for ref, counts in series.items():
        ax.plot(labels, counts, marker="o", label=titles.get(ref, ref))
    if series:
        ax.legend(loc="upper left", fontsize="small")
    else:
        ax.text(0.5, 0.5, "No stories matched a fact in this period", ha="center", transform=ax.transAxes)
    ax.set_title(title)
    ax.set_ylabel("stories")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(labels) > 10:
        ax.tick_params(axis="x", labelrotation=60, labelsize="small")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


async def render_trend(store: Store, facts: Sequence[Fact], *, now: datetime, days: int) -> bytes:
    """Stories per fact per day over the ``days`` days up to ``now`` (UTC days), as a PNG."""
    import asyncio

    today = now.astimezone(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    rows = await store.fact_story_days(since)
    axis, series = trend_series(rows, facts, days=days, today=today)
    titles = {f.id: f.title for f in facts}
    # Rendering takes a moment of CPU: keep it off the event loop.
    return await asyncio.to_thread(
        render_trend_png, axis, series, titles, title=f"Stories per fact per day, last {days} days"
    )
