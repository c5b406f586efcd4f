"""The trend chart: stories per fact per day, as a PNG (matplotlib's Agg canvas, imported lazily and
used without pyplot, so no global state and no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.models import Fact
from bot.store.repo import Store


def trend_series(
    rows: Sequence[tuple[int, str, datetime]],
    facts: Sequence[Fact],
    *,
    days: int,
    today: date,
    zone: tzinfo = UTC,
) -> tuple[list[date], dict[str, list[int]]]:
    """Days (oldest first, ending ``today``, in ``zone``) and, per fact in catalog order, the number of
    distinct stories whose earliest matching copy was published that day. Pure."""
    axis = [today - timedelta(days=days - 1 - i) for i in range(days)]
    pos = {d: i for i, d in enumerate(axis)}
    seen: dict[str, list[set[int]]] = {f.id: [set() for _ in axis] for f in facts}
    for story_id, fact_id, published in rows:
        i = pos.get(published.astimezone(zone).date())
        if i is not None and fact_id in seen:
            seen[fact_id][i].add(story_id)
    return axis, {f.id: [len(s) for s in seen[f.id]] for f in facts}


def render_trend_png(
    axis: Sequence[date],
    series: dict[str, list[int]],
    titles: dict[str, str],
    *,
    title: str,
    zone_name: str = "UTC",
) -> bytes:
    """A facts × days heat map: one row per fact, one column per day, the count in each non-empty cell."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    refs = list(series)
    counts = [series[r] for r in refs]
    peak = max((n for row in counts for n in row), default=0)
    # Room for the fact titles on the left, then a column per day.
    fig = Figure(figsize=(max(8.0, 4.5 + 0.3 * len(axis)), 1.4 + 0.38 * max(len(refs), 1)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if refs:
        image = ax.imshow(counts, aspect="auto", cmap="Blues", vmin=0, vmax=max(peak, 1))
        for y, row in enumerate(counts):
            for x, n in enumerate(row):
                if n:
                    dark = n > 0.6 * max(peak, 1)
                    ax.text(x, y, str(n), ha="center", va="center", fontsize="x-small",
                            color="white" if dark else "black")  # fmt: skip
        ax.set_yticks(range(len(refs)), [titles.get(r, r) for r in refs], fontsize="small")
        if peak:
            bar = fig.colorbar(image, ax=ax, label="stories", fraction=0.03, pad=0.01)
            bar.locator = MaxNLocator(integer=True)
            bar.update_ticks()
    if not peak:
        ax.text(0.5, 0.5, "No stories matched a fact in this period", ha="center", va="center",
                transform=ax.transAxes, bbox={"facecolor": "white", "edgecolor": "grey"})  # fmt: skip
    ax.set_xticks(range(len(axis)), [d.strftime("%m-%d") for d in axis], fontsize="small")
    if len(axis) > 10:
        ax.tick_params(axis="x", labelrotation=60)
    ax.set_xlabel(f"day ({zone_name})")
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


async def render_trend(
    store: Store, facts: Sequence[Fact], *, now: datetime, days: int, zone: ZoneInfo | None = None
) -> bytes:
    """Stories per fact per day over the ``days`` days up to ``now`` (days in ``zone``, UTC when None),
    as a PNG."""
    import asyncio

    zone = zone or ZoneInfo("UTC")
    today = now.astimezone(zone).date()
    since = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=zone)
    rows = await store.fact_story_days(since.astimezone(UTC))
    axis, series = trend_series(rows, facts, days=days, today=today, zone=zone)
    titles = {f.id: f.title for f in facts}
    # Rendering takes a moment of CPU: keep it off the event loop.
    return await asyncio.to_thread(
        render_trend_png,
        axis,
        series,
        titles,
        title=f"Stories per fact per day, last {days} days",
        zone_name=zone.key,
    )
