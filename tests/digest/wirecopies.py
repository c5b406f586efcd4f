"""A test set for story clustering: wire copies with light rewrites, and different stories sharing words.

How it is built (deterministic, seeded):
- BASE holds hand-written news items in the style of Yonhap/TASS/Reuters copy about North Korea–Russia
  relations. Several are deliberately close to each other (same actors and vocabulary, different event):
  two missile launches days apart, treaty signing vs. ratification, two Lavrov–Choe meetings, troops in
  Kursk vs. troops' casualties, a rail link vs. a road bridge. These are the hard negatives.
- ``copies`` makes, per base item, N republications from different feeds, each with 1–3 random light
  rewrites: sentences reordered, a dateline/byline added, the headline changed (an alternative headline,
  an agency tag, or a " - Publisher" suffix), only the lead kept (truncated RSS summaries), a few words
  swapped for synonyms, a closing "(Reporting by …)" line.
- ``twins`` makes template twins: the same frame with the numbers and weekday changed (a different event
  reported with the same boilerplate).

``python -m tests.digest.wirecopies`` prints pairwise precision/recall of ``StoryIndex`` on it.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from bot.models import Article

BASE: list[tuple[str, list[str], list[str]]] = [
    (
        "North Korea fires ballistic missile into East Sea",
        [
            "North Korea fired a short-range ballistic missile into the East Sea on Monday morning, "
            "South Korea's Joint Chiefs of Staff said.",
            "The missile was launched from the Sunan area of Pyongyang at around 7:40 a.m. and flew about "
            "350 kilometers before splashing down.",
            "It was the North's fifth ballistic missile launch this year and came a day after Pyongyang "
            "denounced joint drills by Seoul and Washington.",
            "Japan's defense ministry said the missile fell outside its exclusive economic zone.",
        ],
        [
            "N. Korea launches short-range ballistic missile: JCS",
            "North Korea test-fires missile, Seoul says",
        ],
    ),
    (
        "Putin and Kim sign comprehensive strategic partnership treaty in Pyongyang",
        [
            "Russian President Vladimir Putin and North Korean leader Kim Jong Un signed a comprehensive "
            "strategic partnership treaty in Pyongyang on Wednesday.",
            "The pact includes a mutual defense clause obliging each side to provide military assistance "
            "if the other is attacked.",
            "Kim called the agreement the strongest treaty in the history of the two countries' relations.",
            "Putin's visit was his first to North Korea in 24 years.",
        ],
        ["Russia, North Korea sign mutual defence pact during Putin visit", "Putin, Kim ink defense treaty"],
    ),
    (
        "Russian parliament ratifies treaty with North Korea",
        [
            "Russia's State Duma on Thursday unanimously ratified the comprehensive strategic partnership "
            "treaty with North Korea.",
            "The treaty, signed by Vladimir Putin and Kim Jong Un in Pyongyang in June, includes a mutual "
            "defense clause.",
            "Deputy Foreign Minister Andrei Rudenko told lawmakers the pact was not directed against third "
            "countries.",
            "The Federation Council is expected to approve the ratification next week.",
        ],
        ["State Duma ratifies Russia–North Korea partnership treaty", "Duma approves pact with Pyongyang"],
    ),
    (
        "Lavrov meets North Korean foreign minister Choe Son Hui in Moscow",
        [
            "Russian Foreign Minister Sergei Lavrov held talks with North Korean Foreign Minister Choe Son "
            "Hui in Moscow on Friday.",
            "The ministers discussed the situation on the Korean Peninsula and preparations for further "
            "high-level contacts.",
            "Lavrov said Moscow highly values Pyongyang's support for its position on Ukraine.",
            "Choe arrived in Russia on Tuesday for a week-long visit that includes meetings in Kazan.",
        ],
        ["Lavrov, Choe Son Hui hold talks in Moscow", "Russia's Lavrov hosts North Korean FM"],
    ),
    (
        "Lavrov visits Wonsan for talks with Choe Son Hui",
        [
            "Russian Foreign Minister Sergei Lavrov arrived in the North Korean resort city of Wonsan on "
            "Saturday for talks with Foreign Minister Choe Son Hui.",
            "The two ministers discussed implementing the strategic partnership treaty and cooperation in "
            "tourism.",
            "Lavrov praised the new Kalma beach resort and said Russian tourists would travel there.",
            "It is Lavrov's second trip to North Korea in a year.",
        ],
        ["Lavrov in Wonsan for talks with North Korea's Choe", "Russian FM visits North Korean resort"],
    ),
    (
        "North Korean troops deployed to Russia's Kursk region, Seoul says",
        [
            "North Korean troops have been deployed to Russia's Kursk region to fight against Ukrainian "
            "forces, South Korea's spy agency said on Wednesday.",
            "The National Intelligence Service said about 11,000 soldiers had been sent to Russia since "
            "October, most of them to the front line in Kursk.",
            "The agency said the troops were receiving training in drone warfare and Russian military "
            "terminology.",
            "Moscow and Pyongyang have not officially confirmed the deployment.",
        ],
        ["NIS: N. Korean soldiers sent to Kursk front", "Spy agency says North Korean troops in Kursk"],
    ),
    (
        "North Korean casualties in Kursk rise, spy agency says",
        [
            "About 300 North Korean soldiers have been killed and 2,700 wounded fighting in Russia's "
            "Kursk region, South Korea's spy agency said on Monday.",
            "The National Intelligence Service told lawmakers the high casualties were due to a lack of "
            "understanding of modern drone warfare.",
            "Two North Korean soldiers captured by Ukrainian forces are being questioned in Kyiv.",
            "Pyongyang has not commented on the losses.",
        ],
        ["NIS: 300 North Korean troops killed in Kursk", "North Korean losses mount in Kursk"],
    ),
    (
        "Russia and North Korea begin building road bridge across Tumen River",
        [
            "Russia and North Korea held a ceremony on Wednesday to begin construction of a road bridge "
            "across the Tumen River.",
            "The 1 kilometer bridge will be the first road link between the two countries and is due to "
            "open by the end of next year.",
            "Russian Prime Minister Mikhail Mishustin said the bridge would boost trade and tourism.",
            "The only existing crossing is a rail bridge built in 1959.",
        ],
        ["Construction starts on Russia–North Korea road bridge", "Tumen River road bridge work begins"],
    ),
    (
        "Passenger train service between Moscow and Pyongyang resumes",
        [
            "Direct passenger train service between Moscow and Pyongyang resumed on Thursday after a "
            "five-year suspension.",
            "The train will run twice a month and take about eight days to cover the 10,000 kilometer route "
            "through the Tumen River rail bridge.",
            "Russian Railways said tickets were available to tourists and officials.",
            "Service was suspended in 2020 because of the COVID-19 pandemic.",
        ],
        ["Moscow–Pyongyang train resumes after five years", "Direct rail link to Pyongyang restored"],
    ),
    (
        "Shoigu meets Kim Jong Un in Pyongyang",
        [
            "Russian Security Council Secretary Sergei Shoigu met North Korean leader Kim Jong Un in "
            "Pyongyang on Tuesday, the Korean Central News Agency reported.",
            "They discussed the implementation of the agreements reached at the summit and the situation "
            "around Ukraine.",
            "Shoigu conveyed Putin's gratitude for North Korea's help in liberating the Kursk region.",
            "It was Shoigu's third visit to Pyongyang since June.",
        ],
        ["Kim Jong Un receives Shoigu, KCNA says", "Russia's Shoigu in Pyongyang for talks with Kim"],
    ),
    (
        "UN panel report details North Korean arms shipments to Russia",
        [
            "A report by a group of 11 countries monitoring UN sanctions said North Korea has shipped "
            "millions of artillery shells and dozens of ballistic missiles to Russia.",
            "The Multilateral Sanctions Monitoring Team said the transfers violated Security Council "
            "resolutions.",
            "Russia in return supplied air defense systems, refined petroleum and electronic warfare "
            "equipment, the report said.",
            "Moscow rejected the findings as baseless.",
        ],
        [
            "Sanctions monitors detail North Korea–Russia arms trade",
            "Report: Pyongyang sent shells to Moscow",
        ],
    ),
    (
        "Russia's Lavrov says North Korea's nuclear issue is closed",
        [
            "Russian Foreign Minister Sergei Lavrov said on Thursday that the issue of North Korea's "
            "denuclearization is closed for Moscow.",
            "Lavrov said Russia understands the logic of Pyongyang's reliance on nuclear weapons.",
            "The remarks mark a departure from Russia's previous support for denuclearization of the Korean "
            "Peninsula.",
            "Seoul's foreign ministry expressed regret over the statement.",
        ],
        [
            "Lavrov: denuclearization of N. Korea 'closed issue'",
            "Russia drops call for Korean denuclearization",
        ],
    ),
]

OUTLETS = ["Yonhap", "Reuters", "TASS", "AP", "Korea Herald", "NK News", "Kyodo", "RIA", "AFP", "Interfax"]
BYLINES = [
    "SEOUL, Nov. 2 (Yonhap) --",
    "MOSCOW, Nov 2 (Reuters) -",
    "MOSCOW, November 2. /TASS/.",
    "By Staff Reporter",
]
SYNONYMS = {
    "said": "told reporters",
    "Monday": "Monday morning",
    "North Korean": "N. Korean",
    "North Korea": "N. Korea",
    "discussed": "talked about",
    "about": "around",
    "Russian": "Russia's",
}
TWIN_FRAMES = [
    i
    for i, (_, sents, _) in enumerate(BASE)
    if any(d in " ".join(sents) for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"))
    and any(ch.isdigit() for ch in " ".join(sents))
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclasses.dataclass(frozen=True)
class Item:
    truth: int  # which real-world story this is
    article: Article


def _rewrite(rng: random.Random, story: int, outlet: str) -> tuple[str, str]:
    headline, sentences, alternatives = BASE[story]
    sents = list(sentences)
    title = headline
    ops = rng.sample(["reorder", "byline", "headline", "lead", "synonyms", "credit"], k=rng.randint(1, 3))
    if "reorder" in ops:
        rest = sents[1:]
        rng.shuffle(rest)
        sents = [sents[0], *rest] if rng.random() < 0.7 else [*rest, sents[0]]
    if "lead" in ops:
        sents = sents[: rng.randint(2, 3)]
    if "synonyms" in ops:
        keys = rng.sample(sorted(SYNONYMS), k=3)
        sents = [_swap(s, keys) for s in sents]
    body = " ".join(sents)
    if "byline" in ops:
        body = f"{rng.choice(BYLINES)} {body}"
    if "credit" in ops:
        body += " (Reporting by Staff; Editing by Desk)"
    if "headline" in ops:
        choice = rng.random()
        if choice < 0.5:
            title = rng.choice(alternatives)
        elif choice < 0.75:
            title = f"(LEAD) {headline}"
        else:
            title = f"{headline} - {outlet}"
    return title, body


def _swap(sentence: str, keys: list[str]) -> str:
    for k in keys:
        sentence = sentence.replace(k, SYNONYMS[k])
    return sentence


def copies(story: int, n: int, *, seed: int = 0, start: datetime | None = None) -> list[Item]:
    """``n`` republications of BASE[story] by different outlets, each lightly rewritten."""
    rng = random.Random(seed * 1000 + story)
    start = start or datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    outlets = rng.sample(OUTLETS, k=n)
    out = []
    for i, outlet in enumerate(outlets):
        title, body = _rewrite(rng, story, outlet)
        out.append(
            Item(
                story,
                Article(
                    feed_url=f"http://{outlet.lower().replace(' ', '')}.example/rss",
                    entry_id=f"{story}-{i}-{seed}",
                    url=f"http://{outlet.lower().replace(' ', '')}.example/{story}/{seed}/{i}",
                    title=title,
                    summary=body,
                    published=start + timedelta(minutes=7 * i),
                    lang="en",
                    source=outlet,
                ),
            )
        )
    return out


def twins(story: int, *, seed: int = 0, truth: int) -> Item:
    """A different event told with BASE[story]'s frame: other numbers and another weekday."""
    rng = random.Random(seed * 7919 + story)
    headline, sentences, _ = BASE[story]
    body = " ".join(sentences)
    for day in WEEKDAYS:
        if day in body:
            body = body.replace(day, rng.choice([d for d in WEEKDAYS if d not in body]))
            break
    words = body.split(" ")
    words = [str(int(w) + rng.randint(1, 9)) if w.isdigit() else w for w in words]
    body = " ".join(words)
    return Item(
        truth,
        Article(
            feed_url="http://twin.example/rss",
            entry_id=f"twin-{story}-{seed}",
            url=f"http://twin.example/{story}/{seed}",
            title=headline,
            summary=body,
            published=datetime(2026, 11, 5, 8, 0, tzinfo=UTC),
            lang="en",
            source="Twin Daily",
        ),
    )


def build_test_set(*, per_story: int = 6, seeds: int = 3) -> list[Item]:
    """Every base story in ``seeds`` independent rounds of ``per_story`` copies, plus template twins for
    the stories whose frame has numbers or a weekday. Rounds use distinct truths (each round is a new
    event), and each twin is its own event."""
    items: list[Item] = []
    truth = 0
    for seed in range(seeds):
        for story in range(len(BASE)):
            for it in copies(story, per_story, seed=seed):
                items.append(Item(truth, it.article))
            truth += 1
    # Twins only for round 0 (a twin must stay apart from its frame and from every copy), and only of
    # frames with a weekday and a number: a copy that differs from another in a single slot is, in wire
    # practice, more often a correction of the same story than a new event (we merge those).
    for story in TWIN_FRAMES:
        items.append(twins(story, seed=1, truth=10_000 + story))
    return items


def cluster(items: list[Item], params: object = None) -> list[int]:
    """Assign stories with a fresh StoryIndex; returns the story id per item."""
    from bot.digest.stories import StoryIndex, StoryParams

    index = StoryIndex(params if isinstance(params, StoryParams) else None)
    out: list[int] = []
    next_id = 1
    for i, it in enumerate(items):
        sig = index.signature(it.article)
        sid = index.find(it.article, sig)
        if sid is None:
            sid, next_id = next_id, next_id + 1
        index.add(i, sid, it.article, it.article.published, sig)
        out.append(sid)
    return out


def pairwise(truth: list[int], got: list[int]) -> tuple[float, float]:
    """Pairwise precision and recall: over all item pairs, same-story predictions vs. the truth."""
    tp = fp = fn = 0
    for i in range(len(truth)):
        for j in range(i + 1, len(truth)):
            same_t, same_g = truth[i] == truth[j], got[i] == got[j]
            tp += same_t and same_g
            fp += same_g and not same_t
            fn += same_t and not same_g
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def main() -> None:
    from bot.digest.stories import StoryParams

    items = build_test_set()
    # Rounds reuse the same base text; cluster each round apart (a real week never repeats a story
    # verbatim), plus the twins against round 0.
    rounds: dict[int, list[Item]] = {}
    for it in items:
        rounds.setdefault(0 if it.truth >= 10_000 else it.truth // len(BASE), []).append(it)
    print(f"{len(items)} items, {len({it.truth for it in items})} true stories")
    for thr in (0.3, 0.4, 0.5, 0.6, 0.7):
        for cont in (0.7, 0.8, 1.01):
            for anchor in (thr, 0.85):
                p = StoryParams(threshold=thr, containment=cont, anchor_threshold=anchor)
                truth: list[int] = []
                got: list[int] = []
                for r, its in sorted(rounds.items()):
                    ids = cluster(its, p)
                    truth += [it.truth for it in its]
                    got += [r * 100_000 + g for g in ids]
                prec, rec = pairwise(truth, got)
                print(
                    f"threshold={thr:.1f} containment={cont:.2f} anchor={anchor:.2f}: "
                    f"P={prec:.3f} R={rec:.3f}"
                )


if __name__ == "__main__":
    main()
