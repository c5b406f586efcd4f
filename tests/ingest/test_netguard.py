"""The SSRF guard: each address class and spelling, redirects to private addresses, and hostnames that
resolve to one. Only loopback exists here, so the policy allows 127.0.0.2 and refuses 127.0.0.3."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.ingest.fetch import Fetcher, Validators
from bot.ingest.netguard import (
    BlockedAddressError,
    UnsafeURLError,
    check_feed_url,
    guarded_socket_factory,
    is_public_address,
    networks_policy,
)
from tests.ingest.ingest_support import FeedServer, make_settings, rss

NO_VALIDATORS = Validators(None, None, None)

REFUSED_LITERALS = {
    "loopback": "http://127.0.0.1/feed",
    "loopback-other": "http://127.8.9.10/feed",
    "private-10": "http://10.0.0.1/feed",
    "private-172": "http://172.16.5.4/feed",
    "private-192": "http://192.168.1.1/feed",
    "link-local/metadata": "http://169.254.169.254/latest/meta-data/",
    "cgnat": "http://100.64.0.1/feed",
    "multicast": "http://224.0.0.1/feed",
    "unspecified": "http://0.0.0.0/feed",
    "reserved": "http://240.0.0.1/feed",
    "broadcast": "http://255.255.255.255/feed",
    "documentation": "http://192.0.2.1/feed",
    "benchmarking": "http://198.18.0.1/feed",
    "ipv6-loopback": "http://[::1]/feed",
    "ipv6-unspecified": "http://[::]/feed",
    "ipv6-link-local": "http://[fe80::1]/feed",
    "ipv6-unique-local": "http://[fd00::1]/feed",
    "ipv6-multicast": "http://[ff02::1]/feed",
    "ipv4-mapped": "http://[::ffff:127.0.0.1]/feed",
    "ipv4-mapped-private": "http://[::ffff:10.0.0.1]/feed",
    "ipv4-mapped-hex": "http://[::ffff:7f00:1]/feed",
    "nat64": "http://[64:ff9b::7f00:1]/feed",
    "nat64-private": "http://[64:ff9b::a00:1]/feed",
    "6to4": "http://[2002:7f00:1::]/feed",
    "6to4-private": "http://[2002:c0a8:101::]/feed",
    "ipv6-documentation": "http://[2001:db8::1]/feed",
}

ODD_SPELLINGS = [
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://0177.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://017700000001/",
    "http://0x7f.0.0.1/",
    "http://127.0.0.1./",
    "http://8.8.8.010/",  # octal component even for a public address
    "http://134744072/",  # 8.8.8.8 in decimal
]


@pytest.mark.parametrize("url", list(REFUSED_LITERALS.values()), ids=list(REFUSED_LITERALS))
def test_non_global_literals_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError) as info:
        check_feed_url(url, allow_private=False)
    message = str(info.value)
    assert "public" in message and "\n" not in message
    assert check_feed_url(url, allow_private=True)  # the operator's switch lifts it


@pytest.mark.parametrize("url", ODD_SPELLINGS)
def test_odd_ipv4_spellings_refused_with_a_sentence(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(UnsafeURLError, match="unusual form"):
            check_feed_url(url, allow_private=allow_private)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/feed",
        "gopher://example.com/",
        "javascript:alert(1)",
        "/etc/passwd",
        "example.com/feed",
        "http://",
        "http://exa mple.com/\n",
        "http://[::1/feed",
        "http://localhost:8080/feed",
        "http://foo.localhost/feed",
        "http://example.com:0/",
        "http://example.com:99999/",
    ],
)
def test_bad_urls_refused_with_a_sentence(url: str) -> None:
    with pytest.raises(UnsafeURLError) as info:
        check_feed_url(url, allow_private=False)
    assert str(info.value).endswith(".")


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@feeds.example.com/nk.xml",
        "https://token@feeds.example.com/nk.xml",
        "https://:hunter2@feeds.example.com/nk.xml",
        "https://feeds.example.com@8.8.8.8/nk.xml",
    ],
)
def test_credentials_in_a_chat_url_are_refused_and_not_echoed(url: str) -> None:
    with pytest.raises(UnsafeURLError) as info:
        check_feed_url(url, allow_private=True)
    message = str(info.value)
    assert "user name or password" in message
    assert "hunter2" not in message and "token" not in message and "feeds.example.com" not in message


def test_public_urls_normalised() -> None:
    assert check_feed_url("HTTPS://Example.COM:443/feed?x=1#top", allow_private=False) == (
        "https://example.com/feed?x=1"
    )
    assert check_feed_url("http://8.8.8.8:8080", allow_private=False) == "http://8.8.8.8:8080/"
    assert (
        check_feed_url("http://[2606:4700::1111]/rss", allow_private=False) == "http://[2606:4700::1111]/rss"
    )


def test_address_classification() -> None:
    assert is_public_address(ipaddress.ip_address("8.8.8.8"))
    assert is_public_address(ipaddress.ip_address("2606:4700::1111"))
    assert is_public_address(ipaddress.ip_address("64:ff9b::808:808"))  # NAT64 of 8.8.8.8
    assert not is_public_address(ipaddress.ip_address("100.127.255.255"))
    assert not is_public_address(ipaddress.ip_address("::127.0.0.1"))  # IPv4-compatible


def test_socket_factory_refuses_before_connect() -> None:
    factory = guarded_socket_factory(networks_policy(["127.0.0.2/32"], also_public=False))
    allowed = factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", 80)))
    allowed.close()
    for addr in (("127.0.0.3", 80), ("::ffff:127.0.0.3", 80, 0, 0)):
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        with pytest.raises(BlockedAddressError, match="not on the public internet"):
            factory((family, socket.SOCK_STREAM, 6, "", addr))


class StaticResolver(AbstractResolver):
    """DNS stand-in: fixed answers per host name (what a hostile DNS server could return)."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.answers:
            raise OSError(f"no such host {host}")
        return [
            ResolveResult(
                hostname=host, host=self.answers[host], port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def two_servers() -> tuple[FeedServer, FeedServer]:
    allowed, private = FeedServer(host="127.0.0.2"), FeedServer(host="127.0.0.3")

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=rss(), content_type="application/xml")

    for server in (allowed, private):
        server.route("/feed", feed)

    async def to_private(request: web.Request) -> web.Response:
        raise web.HTTPFound(private.url("/feed"))

    async def to_private_name(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://internal.test:{private.port}/feed")

    allowed.route("/to-private", to_private)
    allowed.route("/to-private-name", to_private_name)
    await allowed.start()
    await private.start()
    yield allowed, private  # type: ignore[misc]
    await allowed.stop()
    await private.stop()


def _fetcher() -> Fetcher:
    resolver = StaticResolver({"feeds.test": "127.0.0.2", "internal.test": "127.0.0.3"})
    policy = networks_policy(["127.0.0.2/32"], also_public=False)
    return Fetcher(make_settings(allow_private_networks=False), address_policy=policy, resolver=resolver)


async def test_allowed_address_fetches(two_servers: tuple[FeedServer, FeedServer]) -> None:
    allowed, _private = two_servers
    async with _fetcher() as fetcher:
        by_ip = await fetcher.fetch(allowed.url("/feed"), NO_VALIDATORS)
        by_name = await fetcher.fetch(f"http://feeds.test:{allowed.port}/feed", NO_VALIDATORS)
    assert by_ip.status == "ok" and by_name.status == "ok"


async def test_private_literal_refused(two_servers: tuple[FeedServer, FeedServer]) -> None:
    _allowed, private = two_servers
    async with _fetcher() as fetcher:
        result = await fetcher.fetch(private.url("/feed"), NO_VALIDATORS)
    assert result.status == "error" and result.error and "127.0.0.3" in result.error
    assert private.requests == []


async def test_hostname_resolving_to_private_address_refused(
    two_servers: tuple[FeedServer, FeedServer],
) -> None:
    _allowed, private = two_servers
    async with _fetcher() as fetcher:
        result = await fetcher.fetch(f"http://internal.test:{private.port}/feed", NO_VALIDATORS)
    assert result.status == "error" and result.error and "resolves to 127.0.0.3" in result.error
    assert private.requests == []


@pytest.mark.parametrize("path", ["/to-private", "/to-private-name"])
async def test_redirect_to_private_address_refused(
    two_servers: tuple[FeedServer, FeedServer], path: str
) -> None:
    allowed, private = two_servers
    async with _fetcher() as fetcher:
        result = await fetcher.fetch(allowed.url(path), NO_VALIDATORS)
    assert result.status == "error" and result.error and "127.0.0.3" in result.error
    assert len(allowed.requests) == 1 and private.requests == []


async def test_default_policy_refuses_loopback(feed_server: FeedServer) -> None:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=rss())

    feed_server.route("/feed", feed)
    await feed_server.start()
    async with Fetcher(make_settings(allow_private_networks=False)) as fetcher:
        literal = await fetcher.fetch(feed_server.url("/feed"), NO_VALIDATORS)
        named = await fetcher.fetch(f"http://localhost:{feed_server.port}/feed", NO_VALIDATORS)
        odd = await fetcher.fetch(f"http://2130706433:{feed_server.port}/feed", NO_VALIDATORS)
    for result in (literal, named, odd):
        assert result.status == "error" and result.error
    assert feed_server.requests == []
