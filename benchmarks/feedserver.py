"""The benchmark's feed server: N generated RSS feeds over many loopback addresses, in its own process.

Run as ``python benchmarks/feedserver.py --feeds N [--per-address 40] [--single-host]``. It prints one JSON
line ``{"feeds": [url, ...], "control": url}`` once listening, then serves until stdin closes.

Every feed has 50 items of about 2 KB (so about 100 KB a feed) in English, Korean or Russian; about one
item in seven is North Korea–Russia coverage (treaty, troops, arms) so matching does real work. Every
response waits ``--latency`` seconds first (a far-away server) and carries an ETag; a matching
``If-None-Match`` gets a 304. The control endpoint (on 127.0.0.1):

- ``POST /change`` ``{"feeds": [i, ...], "new_items": 5}``: those feeds gain new items (a new ETag);
- ``POST /publish`` ``{"feed": i, "title": "..."}``: one new item with that title on top of feed i;
  answers ``{"published_at": <time.time()>}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from aiohttp import web

ITEMS_PER_FEED = 50
DESCRIPTION_BYTES = 1800  # UTF-8 bytes, so Korean and Russian items are as large as English ones
LANGS = ("en", "ko", "ru")

# Coverage sentences (what facts and watches look for) and filler, per language.
TOPICAL = {
    "en": [
        "North Korea and Russia signed the comprehensive strategic partnership treaty in Pyongyang.",
        "The treaty commits both sides to mutual assistance if either is attacked.",
        "North Korean troops were deployed to the Kursk region to fight alongside Russian forces.",
        "Pyongyang has shipped millions of artillery shells and ballistic missiles to Moscow.",
        "Russia ratified the pact with North Korea, and it entered into force in December.",
        "Kim Jong Un and Vladimir Putin discussed arms transfers and satellite technology.",
        "Seoul and Washington condemned the military cooperation between Moscow and Pyongyang.",
    ],
    "ko": [
        "북한과 러시아가 포괄적 전략적 동반자 관계 조약을 체결했다.",
        "조약은 한쪽이 공격받으면 상호 지원을 제공하도록 규정한다.",
        "북한군이 쿠르스크 지역에 파병되어 러시아군과 함께 싸우고 있다.",
        "북한이 러시아에 포탄과 탄도미사일을 대량으로 공급했다.",
        "김정은 위원장과 푸틴 대통령이 무기 거래와 위성 기술을 논의했다.",
        "한국과 미국은 북러 군사 협력을 강하게 규탄했다.",
    ],
    "ru": [
        "КНДР и Россия подписали договор о всеобъемлющем стратегическом партнерстве в Пхеньяне.",
        "Договор предусматривает взаимную помощь в случае нападения на одну из сторон.",
        "Северокорейские войска направлены в Курскую область для участия в боях.",
        "Пхеньян поставил Москве миллионы артиллерийских снарядов и баллистические ракеты.",
        "Ким Чен Ын и Владимир Путин обсудили поставки оружия и спутниковые технологии.",
        "Сеул и Вашингтон осудили военное сотрудничество Москвы и Пхеньяна.",
    ],
}
FILLER = {
    "en": [
        "the",
        "market",
        "city",
        "council",
        "weather",
        "report",
        "football",
        "season",
        "energy",
        "prices",
        "school",
        "budget",
        "river",
        "bridge",
        "festival",
        "museum",
        "hospital",
        "train",
        "schedule",
        "election",
        "campaign",
        "farmers",
        "harvest",
        "technology",
        "company",
        "profits",
        "rainfall",
        "coastal",
        "storm",
        "concert",
        "stadium",
        "library",
        "airport",
        "tourism",
        "record",
        "growth",
        "inflation",
        "housing",
        "traffic",
        "police",
        "court",
        "ruling",
        "science",
        "study",
        "climate",
        "forest",
        "mountain",
        "village",
    ],
    "ko": [
        "서울",
        "날씨",
        "주식",
        "시장",
        "상승",
        "하락",
        "기온",
        "축제",
        "박물관",
        "병원",
        "열차",
        "선거",
        "농민",
        "수확",
        "기술",
        "기업",
        "이익",
        "강우",
        "해안",
        "태풍",
        "공연",
        "경기장",
        "도서관",
        "공항",
        "관광",
        "기록",
        "성장",
        "물가",
        "주택",
        "교통",
        "경찰",
        "법원",
        "판결",
        "과학",
        "연구",
        "기후",
        "숲",
        "산",
        "마을",
        "학교",
        "예산",
        "다리",
        "강",
        "에너지",
        "가격",
        "축구",
        "시즌",
        "회의",
        "발표",
        "전망",
        "소비자",
        "수출",
        "투자",
    ],
    "ru": [
        "погода",
        "рынок",
        "акции",
        "рост",
        "падение",
        "температура",
        "фестиваль",
        "музей",
        "больница",
        "поезд",
        "выборы",
        "фермеры",
        "урожай",
        "технологии",
        "компания",
        "прибыль",
        "дожди",
        "побережье",
        "шторм",
        "концерт",
        "стадион",
        "библиотека",
        "аэропорт",
        "туризм",
        "рекорд",
        "инфляция",
        "жилье",
        "транспорт",
        "полиция",
        "суд",
        "решение",
        "наука",
        "исследование",
        "климат",
        "лес",
        "горы",
        "деревня",
        "школа",
        "бюджет",
        "мост",
        "река",
        "энергия",
        "цены",
        "футбол",
        "сезон",
        "совет",
        "экспорт",
        "инвестиции",
    ],
}


SYLLABLES = {
    "en": [
        "ba",
        "be",
        "bi",
        "bo",
        "bu",
        "ca",
        "ce",
        "co",
        "da",
        "de",
        "di",
        "do",
        "fa",
        "fe",
        "fi",
        "ga",
        "go",
        "ka",
        "ke",
        "ki",
        "la",
        "le",
        "li",
        "lo",
        "lu",
        "ma",
        "me",
        "mi",
        "mo",
        "na",
        "ne",
        "ni",
        "no",
        "pa",
        "pe",
        "pi",
        "po",
        "ra",
        "re",
        "ri",
        "ro",
        "sa",
        "se",
        "si",
        "so",
        "ta",
        "te",
        "ti",
        "to",
        "va",
        "ve",
        "vi",
        "za",
        "zo",
    ],
    "ko": [chr(0xAC00 + k * 28 * 3) for k in range(60)],
    "ru": [
        "ба",
        "бе",
        "би",
        "бо",
        "бу",
        "ва",
        "ве",
        "ви",
        "во",
        "га",
        "го",
        "да",
        "де",
        "ди",
        "до",
        "за",
        "зе",
        "ка",
        "ке",
        "ки",
        "ко",
        "ла",
        "ле",
        "ли",
        "ло",
        "ма",
        "ме",
        "ми",
        "мо",
        "на",
        "не",
        "ни",
        "но",
        "па",
        "пе",
        "пи",
        "по",
        "ра",
        "ре",
        "ри",
        "ро",
        "са",
        "се",
        "си",
        "со",
        "та",
        "те",
        "ти",
        "то",
        "фа",
        "хо",
        "ча",
        "шо",
    ],
}
RARE_WORDS = 3000  # made-up words per language, Zipf-distributed, so text has a realistic long tail


def _vocabulary(lang: str) -> tuple[list[str], list[float]]:
    rng = random.Random(lang)
    words = list(FILLER[lang])
    seen = set(words)
    while len(words) < len(FILLER[lang]) + RARE_WORDS:
        word = "".join(rng.choices(SYLLABLES[lang], k=rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    weights = [1.0 / (rank + 10) for rank in range(len(words))]
    return words, weights


VOCABULARY = {lang: _vocabulary(lang) for lang in LANGS}


def _sentence(rng: random.Random, lang: str) -> str:
    words, weights = VOCABULARY[lang]
    return " ".join(rng.choices(words, weights, k=rng.randint(8, 16))).capitalize() + "."


def make_item_pool(seed: int = 8, per_lang: int = 400) -> dict[str, list[tuple[str, str]]]:
    """(title, description) pairs per language; about one in seven is topical."""
    rng = random.Random(seed)
    pool: dict[str, list[tuple[str, str]]] = {}
    for lang in LANGS:
        items = []
        for k in range(per_lang):
            topical = k % 7 == 3
            title = rng.choice(TOPICAL[lang]) if topical else _sentence(rng, lang)
            parts: list[str] = []
            if topical:
                parts += rng.sample(TOPICAL[lang], 2)
            while sum(len(p.encode()) + 1 for p in parts) < DESCRIPTION_BYTES:
                parts.insert(rng.randrange(len(parts) + 1), _sentence(rng, lang))
            items.append((escape(title), escape(" ".join(parts))))
        pool[lang] = items
    return pool


class FeedSet:
    """Feed i's items are numbered; the newest ``ITEMS_PER_FEED`` are served. Changing a feed adds items."""

    def __init__(self, n: int, pool: dict[str, list[tuple[str, str]]]) -> None:
        self.n = n
        self.pool = pool
        self.top = [ITEMS_PER_FEED] * n  # number of the next item (items [top-50, top) are served)
        self.version = [0] * n
        self.extra: dict[tuple[int, int], str] = {}  # (feed, item) -> published title
        self.base = datetime.now(UTC) - timedelta(hours=2)

    def etag(self, i: int) -> str:
        return f'"f{i}-v{self.version[i]}"'

    def add(self, i: int, count: int, title: str | None = None) -> None:
        for _ in range(count):
            if title is not None:
                self.extra[(i, self.top[i])] = escape(title)
            self.top[i] += 1
        self.version[i] += 1

    def body(self, i: int, base_url: str) -> bytes:
        lang = LANGS[i % 3]
        items = self.pool[lang]
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Bench feed {i}</title><link>{base_url}</link><language>{lang}</language>"
            "<description>generated</description>"
        ]
        for j in range(self.top[i] - 1, self.top[i] - 1 - ITEMS_PER_FEED, -1):
            title, desc = items[(i * 7919 + j * 104729) % len(items)]
            title = self.extra.get((i, j), title)
            when = format_datetime(self.base + timedelta(minutes=j), usegmt=True)
            parts.append(
                f"<item><title>{title}</title><link>{base_url}/item/{j}</link>"
                f'<guid isPermaLink="false">f{i}-{j}</guid><pubDate>{when}</pubDate>'
                f"<description>{desc}</description></item>"
            )
        parts.append("</channel></rss>")
        return "".join(parts).encode()


def _addresses(count: int, single_host: bool) -> list[str]:
    if single_host:
        return ["127.0.0.1"]
    return [f"127.0.{(k + 2) // 256}.{(k + 2) % 256}" for k in range(count)]


async def serve(n: int, per_address: int, latency: float, single_host: bool) -> None:
    feeds = FeedSet(n, make_item_pool())
    addresses = _addresses(max(1, -(-n // per_address)), single_host)

    async def feed(request: web.Request) -> web.StreamResponse:
        i = int(request.match_info["i"])
        if not 0 <= i < n:
            raise web.HTTPNotFound()
        await asyncio.sleep(latency)
        etag = feeds.etag(i)
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        body = feeds.body(i, f"http://{request.host}/f/{i}")
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def change(request: web.Request) -> web.Response:
        data = await request.json()
        for i in data["feeds"]:
            feeds.add(int(i), int(data.get("new_items", 5)))
        return web.json_response({"ok": True})

    async def publish(request: web.Request) -> web.Response:
        data = await request.json()
        feeds.add(int(data["feed"]), 1, title=str(data["title"]))
        return web.json_response({"published_at": time.time()})

    app = web.Application()
    app.router.add_get("/f/{i}.xml", feed)
    control = web.Application()
    control.router.add_post("/change", change)
    control.router.add_post("/publish", publish)
    runners = []
    ports: dict[str, int] = {}
    for address in addresses:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, address, 0, backlog=1024)
        await site.start()
        ports[address] = runner.addresses[0][1]
        runners.append(runner)
    crunner = web.AppRunner(control, access_log=None)
    await crunner.setup()
    await web.TCPSite(crunner, "127.0.0.1", 0).start()
    cport = crunner.addresses[0][1]
    urls = []
    for i in range(n):
        address = addresses[i % len(addresses)]  # spread like a real list: neighbours on other hosts
        urls.append(f"http://{address}:{ports[address]}/f/{i}.xml")
    print(json.dumps({"feeds": urls, "control": f"http://127.0.0.1:{cport}"}), flush=True)
    # Serve until the benchmark closes our stdin.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for runner in (*runners, crunner):
        await runner.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, required=True)
    ap.add_argument("--per-address", type=int, default=40)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--single-host", action="store_true")
    args = ap.parse_args()
    asyncio.run(serve(args.feeds, args.per_address, args.latency, args.single_host))


if __name__ == "__main__":
    main()
