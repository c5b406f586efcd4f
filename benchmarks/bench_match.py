"""Matching throughput: the compiled matcher against a naive per-query regex baseline, same process.

    .venv/bin/python benchmarks/bench_match.py [--articles N] [--baseline-articles N] [--seed 7] [--repeat 3]

10,000 generated ~1 KB articles in English, Korean and Russian; the fact catalog plus 100, 1,000 and
10,000 generated watches (1–4 terms drawn with Zipf-like frequencies from a three-language vocabulary,
with phrases, NEAR, NOT, wildcards, and about 10% negative-only or language-only queries). The baseline
evaluates every query with its own compiled regular expressions; it is timed on a subset of the articles
and reported per article, so the ratio compares like with like.

Each row is timed ``--repeat`` times, each time with a freshly compiled matcher (so every pass starts with
cold word caches, as the first pass did), and the baseline as often; the best pass of each is reported,
as ``timeit`` does, with the median beside it. On a shared machine a single pass can run a third slower
for reasons that have nothing to do with the code.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.matching import compile_matcher, load_catalog, parse_query
from bot.matching.query import And, Lang, Near, Node, Not, Or, Terms
from bot.models import Article, WatchSpec

ROOT = Path(__file__).resolve().parents[1]


def _words(text: str) -> list[str]:
    return text.split()


VOCAB = {
    "en": _words(
        "Russia North Korea Pyongyang Moscow Kremlin military talks summit treaty missile "
        "troops sanctions Putin Kim ministry official defence cooperation economy trade "
        "energy oil grain border bridge railway Kursk Ukraine war drone artillery shells "
        "exports imports delegation ambassador visit statement agency report government "
        "security council nuclear satellite launch workers tourism agreement partnership "
        "strategic alliance forces soldiers weapons ammunition factory port harbor "
        "Vladivostok Rason Tumen river shipment container vessel flights airline bank "
        "currency ruble won China Japan Seoul Washington election parliament budget "
        "inflation weather football festival company shares market technology research "
        "university students hospital health vaccine "
    ),
    "ko": _words(
        "러시아 북한 평양 모스크바 크렘린 군사 회담 정상회담 조약 미사일 병력 제재 푸틴 "
        "김정은 국방 협력 경제 무역 에너지 석유 국경 다리 철도 "
        "쿠르스크 우크라이나 전쟁 드론 포탄 수출 수입 대표단 대사 방문 성명 통신 보고서 "
        "정부 안보 핵 위성 발사 노동자 관광 협정 동반자 전략 동맹 "
        "군대 병사 무기 탄약 공장 항구 블라디보스토크 나선 두만강 선박 항공 은행 중국 "
        "일본 서울 미국 선거 국회 예산 물가 날씨 축구 축제 기업 주가 "
        "시장 기술 연구 대학 학생 병원 건강 백신 "
    ),
    "ru": _words(
        "Россия России Россией КНДР Пхеньян Пхеньяну Москва Кремль военное сотрудничество "
        "переговоры саммит договор ракеты войска санкции Путин Ким министр оборона "
        "экономика торговля энергия нефть граница мост железная дорога Курская область "
        "Украина война беспилотник снаряды экспорт импорт делегация посол визит заявление "
        "агентство доклад правительство безопасность ядерный спутник запуск рабочие "
        "туризм соглашение партнерство стратегическое союз солдаты оружие боеприпасы "
        "завод порт Владивосток Расон Туманная река контейнер судно рейсы банк рубль "
        "Китай Япония Сеул Вашингтон выборы парламент бюджет инфляция погода футбол "
        "фестиваль компания акции рынок технологии университет студенты больница "
    ),
}
TAIL_WORDS = 20_000  # rare words per language after the common ones: the long tail of a real vocabulary
ZIPF_S = 0.8  # rank-frequency exponent of content words, in articles and in watches
CONTENT_WORDS = 45  # content words drawn per article; the rest is function words
SYLLABLES = {
    "en": _words("ba ko ri ta ne su mo la vi de pe gra stan ton mer cal ling dor ven "),
    "ko": _words("가 나 다 라 마 바 사 아 자 차 카 타 파 하 경 동 민 성 영 정 "),
    "ru": _words("ба ко ри та не су мо ла ви де пе гра стан тон мер кал линг дор вен "),
}


def vocabulary(lang: str) -> list[str]:
    rng = random.Random(lang)
    tail = {"".join(rng.choices(SYLLABLES[lang], k=rng.randint(2, 4))) for _ in range(TAIL_WORDS)}
    return VOCAB[lang] + sorted(tail - set(VOCAB[lang]))


KO_PARTICLES = ["", "", "", "이", "가", "을", "를", "의", "와", "과", "에", "에서", "은", "는"]


FUNCTION_WORDS = {
    "en": _words("the of and to in a is that for on with as by at from it was said has have be "),
    "ko": _words("그 이 및 등 것 수 더 또 위해 대해 따르면 밝혔다 했다 있다 없다 통해 "),
    "ru": _words("и в на с по что не как это из за от для о к его также было будет "),
}


def zipf_weights(n: int, s: float = ZIPF_S) -> list[float]:
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


def make_articles(n: int, rng: random.Random) -> list[Article]:
    vocab = {lang: vocabulary(lang) for lang in VOCAB}
    weights = {lang: zipf_weights(len(words)) for lang, words in vocab.items()}
    now = datetime(2025, 1, 1, tzinfo=UTC)
    articles = []
    for i in range(n):
        lang = ("en", "ko", "ru")[i % 3]
        words, w = vocab[lang], weights[lang]

        content = rng.choices(words, weights=w, k=CONTENT_WORDS)
        filler = FUNCTION_WORDS[lang]

        def sentence(
            k: int, content: list[str] = content, filler: list[str] = filler, lang: str = lang
        ) -> str:
            picked = [rng.choice(content) if rng.random() < 0.45 else rng.choice(filler) for _ in range(k)]
            if lang == "ko":
                picked = [p + rng.choice(KO_PARTICLES) for p in picked]
            return " ".join(picked)

        title = sentence(rng.randint(6, 10)).capitalize()
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < 950:
            parts.append(sentence(rng.randint(8, 16)).capitalize() + ".")
        articles.append(
            Article(
                feed_url="bench",
                entry_id=str(i),
                url=f"https://example.org/{i}",
                title=title,
                summary=" ".join(parts),
                published=now,
                lang=lang,
                source="bench",
            )
        )
    return articles


def make_watches(n: int, rng: random.Random) -> list[WatchSpec]:
    vocab = {lang: vocabulary(lang) for lang in VOCAB}
    pools = [(lang, words, zipf_weights(len(words))) for lang, words in vocab.items()]

    def term() -> str:
        _, words, w = rng.choice(pools)
        word = rng.choices(words, weights=w)[0]
        roll = rng.random()
        if roll < 0.12 and len(word) > 4:
            return word[: max(2, len(word) - 3)] + "*"
        if roll < 0.24:
            other = rng.choices(words, weights=w)[0]
            return f'"{word} {other}"'
        return word

    watches = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.05:
            q = f"NOT {term()}"
        elif roll < 0.10:
            q = rng.choice([f"lang:{rng.choice(['en', 'ko', 'ru'])}", f"lang:ko NOT {term()}"])
        elif roll < 0.20:
            q = f"{term()} NEAR/{rng.randint(2, 8)} {term()}"
        elif roll < 0.35:
            q = f"{term()} OR {term()}" + (f" OR {term()}" if rng.random() < 0.5 else "")
        elif roll < 0.45:
            q = f"{term()} {term()} NOT {term()}"
        else:
            q = " ".join(term() for _ in range(rng.randint(1, 4)))
        watches.append(WatchSpec(id=f"w{i}", query=q))
    return watches


# ---------------------------------------------------------------------------------------------------
# The naive baseline: every query, its own regexes, evaluated on every article
# ---------------------------------------------------------------------------------------------------

Check = Callable[[str, str, str], bool]  # (text, title, lang) -> bool


def naive(node: Node) -> Check:
    if isinstance(node, Terms):
        pattern = re.compile(_terms_regex(node), re.IGNORECASE)
        if node.title_only:
            return lambda text, title, lang: pattern.search(title) is not None
        return lambda text, title, lang: pattern.search(text) is not None
    if isinstance(node, Lang):
        code = node.lang
        return lambda text, title, lang: lang == code
    if isinstance(node, Not):
        child = naive(node.child)
        return lambda text, title, lang: not child(text, title, lang)
    if isinstance(node, And):
        parts = [naive(c) for c in node.children]
        return lambda text, title, lang: all(p(text, title, lang) for p in parts)
    if isinstance(node, Or):
        parts = [naive(c) for c in node.children]
        return lambda text, title, lang: any(p(text, title, lang) for p in parts)
    if isinstance(node, Near):
        a, b = _positional_regex(node.left), _positional_regex(node.right)
        gap = rf"\W+(?:\w+\W+){{0,{node.distance}}}"
        pattern = re.compile(rf"(?:{a}){gap}(?:{b})|(?:{b}){gap}(?:{a})", re.IGNORECASE)
        return lambda text, title, lang: pattern.search(text) is not None
    raise TypeError(node)


def _terms_regex(node: Terms) -> str:
    words = [re.escape(w.text) + (r"\w*" if w.wildcard else r"\w{0,3}") for w in node.words]
    return r"(?<!\w)" + r"\W+".join(words) + r"(?!\w)"


def _positional_regex(node: Node) -> str:
    if isinstance(node, Terms):
        return _terms_regex(node)
    if isinstance(node, Or):
        return "|".join(f"(?:{_positional_regex(c)})" for c in node.children)
    return r"(?!)"  # NEAR of NEAR: not needed for the generated watches


def run(n_articles: int, baseline_articles: int, seed: int, repeat: int = 3) -> None:
    rng = random.Random(seed)
    facts = load_catalog(ROOT / "config" / "facts.toml")
    t0 = time.perf_counter()
    articles = make_articles(n_articles, rng)
    print(
        f"generated {len(articles):,} articles, mean {sum(len(a.text) for a in articles) // len(articles)} "
        f"chars, in {time.perf_counter() - t0:.1f}s"
    )
    print(
        f"{'watches':>8} {'compile s':>10} {'articles/s':>11} {'median':>8} {'baseline/s':>11} "
        f"{'ratio':>7} {'hits/article':>13}"
    )
    for n_watches in (100, 1_000, 10_000):
        watches = make_watches(n_watches, random.Random(seed + n_watches))
        rates, compile_times = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            matcher = compile_matcher(facts, tuple(watches))  # fresh: empty word caches on every pass
            compile_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            hits = 0
            for article in articles:
                hits += len(matcher.match(article).watches)
            rates.append(len(articles) / (time.perf_counter() - t0))
            del matcher

        checks = [naive(parse_query(f.query, max_chars=10_000).root) for f in facts]
        checks += [naive(parse_query(w.query).root) for w in watches]
        subset = articles[: max(3, baseline_articles * 1_000 // max(n_watches, 1_000))]
        base_rates = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            for article in subset:
                text, title, lang = article.text, article.title, article.lang
                _ = [c(text, title, lang) for c in checks]
            base_rates.append(len(subset) / (time.perf_counter() - t0))
        rate, base_rate = max(rates), max(base_rates)
        print(
            f"{n_watches:>8,} {min(compile_times):>10.2f} {rate:>11,.0f} {statistics.median(rates):>8,.0f} "
            f"{base_rate:>11,.1f} {rate / base_rate:>6.1f}x {hits / len(articles):>13.1f}"
        )
    print(
        f"(baseline timed on {baseline_articles} articles up to 1,000 watches, proportionally fewer "
        "above, and reported per article; both single-threaded in this process; best of "
        f"{repeat} passes, each with a fresh matcher, median beside it)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--baseline-articles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="passes per row; the best is reported")
    args = parser.parse_args()
    run(args.articles, args.baseline_articles, args.seed, max(1, args.repeat))


if __name__ == "__main__":
    main()
