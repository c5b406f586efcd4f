"""Story clustering scales with candidate stories, not members: a flood of near-identical copies of one
release costs about the same per item as distinct news. Costs are counted (``StoryIndex.comparisons``),
never timed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.digest.stories import StoryIndex, StoryParams
from bot.models import Article

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
_SYLLABLES = [
    *("ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "da"),
    *("gu", "ri", "zo", "be", "fa", "hu", "ki", "mo", "la", "te"),
]

RELEASE_TITLE = "Norvale Robotics opens assembly plant in Leipzig to build warehouse robots"
RELEASE = (
    "Norvale Robotics said on Tuesday it has opened a new assembly plant in Leipzig that will build "
    "autonomous warehouse robots for retailers across Europe. The plant will employ about 400 people "
    "when it reaches full capacity next year, the company said in a statement. Chief executive Mara "
    "Lindqvist said the site would cut delivery times for European customers and reduce shipping costs. "
    "The company also plans to open a research centre in the city focused on battery technology."
)
# One word of the release changes per copy (an outlet's house style), never a number or a weekday.
_SWAPS = [
    ("opened", "launched"),
    ("build", "make"),
    ("retailers", "retail chains"),
    ("employ", "hire"),
    ("cut", "shorten"),
    ("reduce", "lower"),
    ("plans", "intends"),
    ("focused", "concentrating"),
]
_BOILERPLATE = (
    "About the company: the group designs and sells industrial equipment worldwide. This release "
    "contains forward looking statements that involve risks and uncertainties."
)


def outlet(i: int) -> str:
    """A distinct outlet name without digits (digits would be anchors)."""
    a, rest = divmod(i, len(_SYLLABLES))
    b, c = divmod(rest + a * 7, len(_SYLLABLES))
    name = _SYLLABLES[a % len(_SYLLABLES)] + _SYLLABLES[b % len(_SYLLABLES)] + _SYLLABLES[c]
    return f"{name.capitalize()} {_SYLLABLES[(a + c) % len(_SYLLABLES)].capitalize()}wire"


def flood(n: int) -> list[Article]:
    """``n`` copies of one press release: each outlet prefixes the headline with its name (so no two
    copies share a title), changes one word and appends its own credit line."""
    out = []
    for i in range(n):
        name = outlet(i)
        old, new = _SWAPS[i % len(_SWAPS)]
        body = RELEASE.replace(old, new, 1) + f" Distributed by {name}."
        slug = name.lower().replace(" ", "")
        out.append(
            Article(
                feed_url=f"http://{slug}.example/rss",
                entry_id=f"flood-{i}",
                url=f"http://{slug}.example/norvale-leipzig",
                title=f"{name}: {RELEASE_TITLE}",
                summary=body,
                published=START + timedelta(seconds=i),
                lang="en",
                source=name,
            )
        )
    return out


def lookalikes(n: int, *, seed: int = 5) -> list[Article]:
    """``n`` different releases that share a boilerplate paragraph: close enough for LSH to offer many of
    them as candidates, far below the acceptance thresholds."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(3))

    out = []
    for i in range(n):
        title = " ".join(word() for _ in range(7))
        body = " ".join(word() for _ in range(30)) + ". " + _BOILERPLATE
        out.append(
            Article(
                feed_url="http://wire.example/rss",
                entry_id=f"pr-{i}",
                url=f"http://wire.example/pr/{i}",
                title=title,
                summary=body,
                published=START + timedelta(seconds=i),
                lang="en",
                source="Wire",
            )
        )
    return out


def assign(index: StoryIndex, articles: list[Article]) -> list[int]:
    out = []
    for i, article in enumerate(articles):
        sig = index.signature(article)
        assert sig is not None
        sid = index.find(article, sig)
        if sid is None:
            sid = 1000 + i
        index.add(i, sid, article, article.published, sig)
        out.append(sid)
    return out


def test_a_flood_of_500_near_identical_copies_is_one_story_with_bounded_comparisons() -> None:
    arts = flood(500)
    assert len({a.title for a in arts}) == 500 and len({a.summary for a in arts}) == 500
    params = StoryParams()
    index = StoryIndex(params)
    assert len(set(assign(index, arts))) == 1
    # Each copy is compared with at most one story's representatives: the count per item does not grow
    # with the number of copies (comparing every member would take 500 * 499 / 2 = 124,750).
    assert 0 < index.comparisons <= 500 * params.story_sample, index.comparisons


def test_a_flood_costs_linear_comparisons_twice_the_copies_twice_the_cost() -> None:
    counts = {}
    for n in (500, 1000):
        index = StoryIndex()
        assert len(set(assign(index, flood(n)))) == 1
        counts[n] = index.comparisons
    # Linear in the copies, counted: twice the copies, about twice the comparisons (quadratic would be 4x).
    assert 1.8 * counts[500] <= counts[1000] <= 2.2 * counts[500], counts


def test_500_distinct_lookalike_releases_stay_500_stories_with_bounded_comparisons() -> None:
    arts = lookalikes(500)
    params = StoryParams()
    index = StoryIndex(params)
    assert len(set(assign(index, arts))) == 500
    # Shared boilerplate makes most earlier releases LSH candidates; only ``max_candidates`` stories (one
    # representative each here) are compared per item.
    assert index.comparisons <= 500 * params.max_candidates, index.comparisons


def test_a_copy_still_joins_its_story_during_a_flood_of_other_news() -> None:
    params = StoryParams()
    index = StoryIndex(params)
    first, *rest = flood(301)
    noise = lookalikes(300)
    articles = [first]
    for a, b in zip(noise, rest, strict=True):
        articles += [a, b]
    got = assign(index, articles)
    assert len({got[i] for i in range(0, len(got), 2)}) == 1  # every copy in the release's story
    assert len(set(got)) == 1 + 300
    assert index.comparisons <= len(articles) * params.max_candidates * params.story_sample


def test_representatives_follow_the_window_and_leave_no_buckets_behind() -> None:
    params = StoryParams(story_sample=3, window=timedelta(minutes=10))
    index = StoryIndex(params)
    arts = flood(40)  # one copy a second
    assert len(set(assign(index, arts[:20]))) == 1
    # Once the first copies leave the window, the story is still found through its latest copies.
    index.prune(START + timedelta(minutes=10, seconds=15))
    assert len(index) == 5
    late = arts[30]
    assert index.find(late, index.signature(late)) == 1000
    index.prune(START + timedelta(hours=1))
    assert len(index) == 0
    assert index.find(late, index.signature(late)) is None
    assert all(not table for table in index._tables)
