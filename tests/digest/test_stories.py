"""Stories: wire copies merge, different stories stay apart, measured on the built test set."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Services
from bot.digest.compose import story_inputs
from bot.digest.stories import StoryIndex, normalise_title
from bot.models import FeedSpec
from tests.conftest import FakeClock
from tests.digest.conftest import ingest
from tests.digest.wirecopies import BASE, build_test_set, copies, pairwise, twins


async def test_five_wire_copies_from_five_feeds_make_one_story_with_five_sources(
    svc: Services, clock: FakeClock
) -> None:
    items = copies(1, 5, seed=3, start=clock() - timedelta(hours=1))
    assert len({it.article.feed_url for it in items}) == 5
    assert len({it.article.title for it in items}) > 1 or len({it.article.summary for it in items}) > 1
    await ingest(svc, [it.article for it in items])
    stories = story_inputs(await svc.store.stories_in_window(clock() - timedelta(days=1), None))
    assert len(stories) == 1
    assert sorted(a.article.source for a in stories[0].articles) == sorted(it.article.source for it in items)
    line = stories[0].line(alerted=False)
    assert len(line.sources) == 5


async def test_story_index_survives_a_restart(svc: Services, clock: FakeClock) -> None:
    from bot.digest.clustering import StoryClusterer, params_from

    first, second = copies(5, 2, seed=4, start=clock() - timedelta(hours=1))
    [a1] = await ingest(svc, [first.article])
    # A new process: the index is rebuilt from the store, so the next copy still joins the story.
    fresh = StoryClusterer(svc.store, params_from(svc.settings), clock)
    clock.advance(minutes=10)
    feed = await svc.store.ensure_feed(FeedSpec(url="http://x.example/rss"), clock())
    [(a2, art)] = await svc.store.insert_articles(feed.id, [second.article], now=clock(), seeded=False)
    got = await fresh.assign([(a2, art)])
    stored = await svc.store.get_article(a1)
    assert stored is not None and got[a2] == stored.story_id


def test_different_stories_sharing_many_words_stay_apart() -> None:
    index = StoryIndex()
    pairs = [(3, 4), (5, 6), (1, 2), (7, 8)]  # Lavrov–Choe twice, Kursk twice, treaty twice, bridge vs train
    for n, (a, b) in enumerate(pairs):
        [x] = copies(a, 1, seed=10 + n)
        [y] = copies(b, 1, seed=10 + n)
        sx = index.signature(x.article)
        index.add(2 * n, 100 + 2 * n, x.article, x.article.published, sx)
        assert index.find(y.article, index.signature(y.article)) is None, (BASE[a][0], BASE[b][0])
    # The same frame with other numbers and another weekday (another launch) is another story, even
    # under the same headline.
    [orig] = copies(0, 1, seed=0)
    index.add(99, 999, orig.article, orig.article.published, index.signature(orig.article))
    twin = twins(0, seed=1, truth=0).article
    assert normalise_title(twin.title) == normalise_title(orig.article.title)
    assert index.find(twin, index.signature(twin)) is None


def test_precision_and_recall_on_the_built_test_set() -> None:
    from tests.digest.wirecopies import cluster

    items = build_test_set()
    rounds: dict[int, list] = {}
    for it in items:
        rounds.setdefault(0 if it.truth >= 10_000 else it.truth // len(BASE), []).append(it)
    truth: list[int] = []
    got: list[int] = []
    for r, its in sorted(rounds.items()):
        truth += [it.truth for it in its]
        got += [r * 100_000 + g for g in cluster(its)]
    precision, recall = pairwise(truth, got)
    # Measured 1.000 / 0.976 with the default thresholds; a regression shows here.
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)


def test_normalised_titles_drop_agency_tags_and_publisher() -> None:
    assert normalise_title("(LEAD) N. Korea fires missile - Yonhap", "Yonhap") == "n korea fires missile"
    assert normalise_title("UPDATE 2-Russia, North Korea sign pact") == "russia north korea sign pact"
    assert normalise_title("[속보] 북한 탄도미사일 발사") == "북한 탄도미사일 발사"


def test_languages_are_not_grouped() -> None:
    from bot.models import Article

    index = StoryIndex()
    [en] = copies(2, 1)
    index.add(1, 1, en.article, en.article.published, index.signature(en.article))
    ko = Article(
        **{**{f: getattr(en.article, f) for f in en.article.__slots__}, "lang": "ko", "url": "http://k/1"}
    )
    assert index.find(ko, index.signature(ko)) is None
