"""Reading one article page: charsets, main text only, robots.txt, the network policy, the bounds.

A real ``Fetcher`` and ``PageFetcher`` against a loopback site; extraction runs in real parser workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.ingest.fetch import Fetcher
from bot.ingest.page import extract_page
from bot.ingest.pagefetch import ROBOTS_AGENT, PageFetcher
from bot.ingest.workers import ParserPool
from bot.matching import compile_matcher, load_catalog
from bot.pages import want_page
from bot.settings import Settings
from tests.pages.site import Page, Site, article, article_page

KO_BODY = [
    "북한과 러시아는 19일 평양에서 포괄적 전략적 동반자 관계 조약에 서명했다.",
    "조약에 따르면 어느 한쪽이 무력 침공을 받으면 다른 쪽은 지체 없이 군사적 원조를 제공한다.",
    "양국 정상은 회담 뒤 공동 기자회견을 열고 협력 확대 방침을 밝혔다.",
]
RU_BODY = [
    "КНДР и Россия подписали в Пхеньяне договор о всеобъемлющем стратегическом партнерстве.",
    "Согласно договору, в случае вооруженного нападения на одну из сторон другая окажет военную помощь.",
    "Лидеры двух стран провели переговоры и заявили о расширении сотрудничества.",
]


def settings_for(make_settings: Callable[..., Settings], **kw: Any) -> Settings:
    values: dict[str, Any] = {"page_per_host_interval_seconds": 0.0, "page_timeout_seconds": 5.0}
    values.update(kw)
    return make_settings(**values)


async def read(settings: Settings, url: str) -> tuple[Any, Any, PageFetcher]:
    async with Fetcher(settings) as fetcher:
        pages = PageFetcher(fetcher, settings)
        res = await pages.fetch(url)
    text = None
    if res.status == "ok":
        async with ParserPool(settings) as pool:
            text = await pool.extract(res.body, content_type=res.content_type, url=res.final_url)
    return res, text, pages


async def test_euc_kr_declared_only_in_meta(make_settings: Callable[..., Settings], site: Site) -> None:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">'
    site.html("/ko", article_page("북러 조약 서명", KO_BODY, meta=meta), charset="euc-kr")
    res, text, _ = await read(settings_for(make_settings), site.url("/ko"))
    assert res.status == "ok"
    assert text.error is None and text.charset == "cp949"
    assert "포괄적 전략적 동반자 관계 조약" in text.text and "군사적 원조" in text.text


async def test_windows_1251_declared_only_in_meta(make_settings: Callable[..., Settings], site: Site) -> None:
    site.html(
        "/ru", article_page("КНДР и Россия", RU_BODY, meta='<meta charset="windows-1251">'), charset="cp1251"
    )
    res, text, _ = await read(settings_for(make_settings), site.url("/ru"))
    assert res.status == "ok"
    assert "всеобъемлющем стратегическом партнерстве" in text.text and "военную помощь" in text.text


def test_undeclared_charsets_are_detected() -> None:
    for body, charset, phrase in (
        (article_page("북러", KO_BODY, meta="").encode("euc-kr"), "cp949", "군사적 원조"),
        (article_page("КНДР", RU_BODY, meta="").encode("cp1251"), "cp1251", "военную помощь"),
    ):
        text = extract_page(body, content_type="text/html", url="http://site.invalid/a", max_chars=10_000)
        assert phrase in text.text, charset


def test_the_http_charset_wins_over_meta() -> None:
    body = article_page("КНДР", RU_BODY, meta='<meta charset="utf-8">').encode("cp1251")
    text = extract_page(body, content_type="text/html; charset=windows-1251", url="", max_chars=10_000)
    assert text.charset == "cp1251" and "военную помощь" in text.text


def test_sidebar_headlines_give_no_facts() -> None:
    """The article is about the weather; the "most read" and "related" lists name every fact."""
    sidebar = [
        "North Korea and Russia sign comprehensive strategic partnership treaty",
        "Putin: Russia will give military assistance to North Korea if it is attacked",
        "North Korean troops fighting for Russia in Kursk, Seoul says",
    ]
    body = [
        "Heavy rain is expected across the southern provinces on Friday, the weather agency said.",
        "Temperatures will fall by five degrees over the weekend, and farmers were told to protect crops.",
        "The agency said the rainy season would end later than usual this year.",
    ]
    html = article_page("Rain expected across the south", body, sidebar=sidebar)
    text = extract_page(
        html.encode(), content_type="text/html", url="http://site.invalid/w", max_chars=10_000
    )
    assert "Heavy rain" in text.text
    for headline in sidebar:
        assert headline not in text.text
    assert "cookies" not in text.text and "Copyright" not in text.text
    matcher = compile_matcher(load_catalog_default(), ())
    paged = article("Rain expected across the south", "")
    import dataclasses

    result = matcher.match(dataclasses.replace(paged, body=text.text, text_source="page"))
    assert result.facts == () and not result.relevant


def load_catalog_default() -> Any:
    from bot.settings import packaged_config_dir

    return tuple(load_catalog(packaged_config_dir() / "facts.toml"))


async def test_robots_disallow_is_respected(make_settings: Callable[..., Settings], site: Site) -> None:
    site.html("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    site.html("/private/a", article_page("x", KO_BODY))
    site.html("/public/a", article_page("y", KO_BODY))
    settings = settings_for(make_settings)
    async with Fetcher(settings) as fetcher:
        pages = PageFetcher(fetcher, settings)
        refused = await pages.fetch(site.url("/private/a"))
        allowed = await pages.fetch(site.url("/public/a"))
        again = await pages.fetch(site.url("/private/a"))
    assert refused.status == "failed" and "robots.txt" in (refused.error or "")
    assert again.status == "failed"
    assert allowed.status == "ok"
    assert site.count("/private/a") == 0
    assert site.count("/robots.txt") == 1, "robots.txt is cached per host"
    assert all(ua.startswith(ROBOTS_AGENT + "/") and "http" in ua for ua in site.user_agents)


async def test_a_robots_txt_that_names_pactwatch(make_settings: Callable[..., Settings], site: Site) -> None:
    site.html(
        "/robots.txt",
        "User-agent: pactwatch\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
        content_type="text/plain",
    )
    site.html("/a", article_page("x", KO_BODY))
    res, _, _ = await read(settings_for(make_settings), site.url("/a"))
    assert res.status == "failed" and site.count("/a") == 0


async def test_private_address_refused_unless_allowed(
    make_settings: Callable[..., Settings], site: Site
) -> None:
    site.html("/a", article_page("x", KO_BODY))
    res, _, _ = await read(settings_for(make_settings, allow_private_networks=False), site.url("/a"))
    assert res.status == "failed" and "public" in (res.error or "")
    assert site.hits == {}, "nothing was requested, not even robots.txt"


async def test_redirect_to_a_private_address_is_refused(
    make_settings: Callable[..., Settings], site: Site
) -> None:
    from aiohttp import web  # noqa: F401

    settings = settings_for(make_settings, allow_private_networks=False)
    async with Fetcher(settings) as fetcher:
        res = await PageFetcher(fetcher, settings).fetch("http://site.invalid/a")
    assert res.status in ("failed", "retry") and res.body is None


async def test_oversized_slow_and_binary_pages_are_bounded(
    make_settings: Callable[..., Settings], site: Site
) -> None:
    settings = settings_for(make_settings, page_max_bytes=64 * 1024, page_timeout_seconds=0.5)
    site.html("/big", "<html><body><p>" + "word " * 100_000 + "</p></body></html>")
    site.pages["/pdf"] = Page(b"%PDF-1.7\n" + bytes(range(256)) * 100, content_type="application/pdf")
    site.pages["/bin"] = Page(bytes(range(256)) * 100, content_type="text/html")
    site.pages["/slow"] = Page(b"<html></html>", hold=asyncio.Event())
    async with Fetcher(settings) as fetcher:
        pages = PageFetcher(fetcher, settings)
        big, pdf, slow, binary = await asyncio.gather(
            pages.fetch(site.url("/big")),
            pages.fetch(site.url("/pdf")),
            pages.fetch(site.url("/slow")),
            pages.fetch(site.url("/bin")),
        )
    assert big.status == "failed" and "larger than" in (big.error or "")
    assert pdf.status == "failed" and "application/pdf" in (pdf.error or "")
    assert slow.status == "retry", "a slow page is tried again later, not given up"
    assert binary.status == "ok" and binary.body is not None
    text = extract_page(binary.body, content_type="text/html", url="", max_chars=1000)
    assert text.text == "" and text.error


async def test_script_only_and_error_pages_give_no_text(
    make_settings: Callable[..., Settings], site: Site
) -> None:
    site.html(
        "/js", "<html><head><script>window.app()</script></head><body><div id=root></div></body></html>"
    )
    site.pages["/paywall"] = Page(b"<html><body>Subscribe</body></html>", status=402)
    site.pages["/gone"] = Page(b"", status=500)
    settings = settings_for(make_settings)
    js, _, _ = await read(settings, site.url("/js"))
    assert js.status == "ok"
    assert extract_page(js.body, content_type="text/html", url="", max_chars=1000).text == ""
    async with Fetcher(settings) as fetcher:
        pages = PageFetcher(fetcher, settings)
        paywall = await pages.fetch(site.url("/paywall"))
        gone = await pages.fetch(site.url("/gone"))
    assert paywall.status == "failed" and gone.status == "retry"


def test_the_pre_gate() -> None:
    matcher = compile_matcher((), ())
    short = 600

    def wants(title: str, summary: str = "", mode: str = "auto") -> bool:
        return want_page(mode, article(title, summary), short_chars=short, gate=matcher)  # type: ignore[arg-type]

    # Either side named in any form, in English, Korean and Russian.
    for title in (
        "Kim Jong Un visits a factory",
        "Pyongyang warns Seoul",
        "북한 외무성 담화",
        "Путин провел совещание",
        "Kremlin says talks went well",
        "러시아 외무부 발표",
        "КНДР заявила протест",
        "North Korean hackers",
    ):
        assert wants(title), title
    # General news naming neither side is not fetched.
    for title in (
        "Stocks fall in Tokyo and Paris",
        "Rain expected across the south",
        "The company said on Monday",
    ):
        assert not wants(title), title
    assert not wants("Kim Jong Un visits a factory", "x" * short), "a long teaser is enough"
    assert wants("Rain expected across the south", mode="always")
    assert not wants("Kim Jong Un visits a factory", mode="never")
    # A watch's trigger word opens the gate too.
    with_watch = compile_matcher(
        (), (__import__("bot.models").models.WatchSpec("1", "semiconductor* AND export*"),)
    )
    assert want_page("auto", article("Semiconductor exports rise"), short_chars=short, gate=with_watch)
    assert not want_page("auto", article("Semiconductor exports rise"), short_chars=short, gate=matcher)


async def test_google_news_links_are_not_fetched(make_settings: Callable[..., Settings]) -> None:
    """They lead to the publisher only through Google's scripts: the headline is what there is."""
    settings = settings_for(make_settings, allow_private_networks=False)
    async with Fetcher(settings) as fetcher:
        pages = PageFetcher(fetcher, settings)
        res = await pages.fetch(
            "https://news.google.com/rss/articles/CBMiSmh0dHBzOi8vZXhhbXBsZS5pbnZhbGlk?oc=5"
        )
    assert res.status == "failed" and "Google News" in (res.error or "")
    assert pages.requests == 0
