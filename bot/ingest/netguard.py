"""Server-side request forgery guard: which addresses a feed fetch may connect to.

Three layers, so no single trap lets a fetch into the host's network:

- ``check_feed_url`` is the syntactic check for a URL typed in chat: http/https only, no user name or
  password, no address literal outside the global internet, and no odd IPv4 spelling (``2130706433``,
  ``0x7f.1``, ``0177.0.0.1``, ``127.1``) — those are refused with a sentence, never a traceback.
- ``GuardedResolver`` refuses DNS answers that are not allowed, so a hostname that resolves to a private
  address fails with a clear message.
- ``guarded_socket_factory`` checks the address actually connected to, just before ``connect()``. aiohttp
  does not pass IP-literal hosts through a resolver and DNS can change between check and use (rebinding),
  so this is the check that cannot be bypassed. The fetcher also re-runs the URL check on every redirect.

The policy is a predicate over addresses (``AddressPolicy``) so tests can allow 127.0.0.2 and refuse
127.0.0.3 while only loopback exists.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# An IPv4 host written the way inet_aton accepts but a person would not: decimal, hex, octal, short.
_ODD_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class UnsafeURLError(ValueError):
    """A URL the bot refuses to fetch. ``str()`` is one sentence a chat user can read."""


def embedded_ipv4(addr: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4), if any."""
    if isinstance(addr, ipaddress.IPv4Address):
        return None
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64 or addr in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d, deprecated) — ::1 and :: are handled as themselves.
    if int(addr) >> 32 == 0 and int(addr) > 1:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def is_public_address(addr: IPAddress) -> bool:
    """True when ``addr`` is on the global internet: not loopback, private, link-local, CGNAT,
    multicast, unspecified, reserved or documentation — looking inside IPv6 wrappers of IPv4."""
    inner = embedded_ipv4(addr)
    if inner is not None:
        return is_public_address(inner)
    if isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT:
        return False
    if addr.is_multicast or addr.is_unspecified or addr.is_reserved or addr.is_loopback:
        return False
    if addr.is_link_local or addr.is_private:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local:
        return False
    return addr.is_global


def allow_any_address(addr: IPAddress) -> bool:
    return True


def address_policy(allow_private: bool) -> AddressPolicy:
    """The policy the settings ask for: global addresses only, or anything when private networks are
    allowed."""
    return allow_any_address if allow_private else is_public_address


def networks_policy(networks: Iterable[str], *, also_public: bool = True) -> AddressPolicy:
    """A policy allowing the given networks (and, by default, the global internet).

    For self-hosted installs that allow one internal feed server, and for tests that allow 127.0.0.2
    but not 127.0.0.3.
    """
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]

    def allowed(addr: IPAddress) -> bool:
        inner = embedded_ipv4(addr) or addr
        if any(inner in net for net in nets if net.version == inner.version):
            return True
        return also_public and is_public_address(addr)

    return allowed


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """``url`` without its userinfo (``user:password@``), for logs, errors and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))


def _host_refusal(host: str, policy: AddressPolicy) -> str | None:
    """Why ``host`` (a URL's host, brackets removed) is refused, or None."""
    if not host:
        return "The URL has no host name; give a full address such as https://example.com/feed.xml."
    ip = _parse_ip(host)
    if ip is None and _ODD_IPV4.match(host) and not _DOTTED_QUAD.match(host):
        return (
            f"The host {host!r} is an IP address written in an unusual form (decimal, octal, hex or "
            "shortened); use the feed's real host name."
        )
    name = host.rstrip(".").lower()
    if ip is None and (name in _LOCAL_NAMES or name.endswith(".localhost")):
        if policy(ipaddress.IPv4Address("127.0.0.1")):
            return None
        return f"The host {host!r} is this machine; pactwatch only fetches feeds from the public internet."
    if ip is not None and not policy(ip):
        return (
            f"The address {ip} is not on the public internet (private, loopback, link-local or "
            "reserved); pactwatch only fetches feeds from public addresses."
        )
    return None


def check_url(url: str, policy: AddressPolicy) -> SplitResult:
    """Check a URL's scheme and host against ``policy`` without touching the network.

    Raises ``UnsafeURLError`` with one sentence; returns the split URL.
    """
    if any(ch in url for ch in "\x00\r\n\t") or any(ord(ch) < 0x20 for ch in url):
        raise UnsafeURLError("The URL contains control characters; paste the plain feed address.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeURLError(
            "That is not a valid URL; give an address such as https://example.com/feed.xml."
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = scheme or "no scheme"
        raise UnsafeURLError(
            f"Only http:// and https:// feed addresses are accepted ({shown} given); "
            "give an address such as https://example.com/feed.xml."
        )
    if port == 0:
        raise UnsafeURLError("The URL names port 0, which cannot be fetched.")
    host = (parts.hostname or "").strip()
    reason = _host_refusal(host, policy)
    if reason:
        raise UnsafeURLError(reason)
    return parts


def check_feed_url(url: str, *, allow_private: bool) -> str:
    """Check a URL typed in chat and return it normalised (lower-case scheme and host, no fragment).

    Only http and https; no private, loopback or other non-global address literals unless
    ``allow_private``; odd IPv4 spellings are always refused. Hostnames are not resolved here — the
    fetcher's connector checks the addresses they resolve to. Raises ``UnsafeURLError``.
    """
    parts = check_url(url, address_policy(allow_private))
    if "@" in parts.netloc:
        # Never stored, never echoed: the sentence does not repeat the URL.
        raise UnsafeURLError(
            "That address carries a user name or password; pactwatch does not keep credentials given in "
            "chat. Give the feed's address without them, or ask the operator to add it to feeds.toml."
        )
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if parts.port is not None and not (
        (parts.scheme.lower() == "http" and parts.port == 80)
        or (parts.scheme.lower() == "https" and parts.port == 443)
    ):
        netloc = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


async def private_address_of(url: str, *, within: float = 2.0) -> str | None:
    """The first address of ``url``'s host that is not on the public internet (a literal, or what the
    name resolves to within ``within`` seconds), or None. For ``check-config``'s warning; a name that does not
    resolve is not reported here (the poll will say so)."""
    try:
        host = (urlsplit(url).hostname or "").strip()
    except ValueError:
        return None
    if not host:
        return None
    literal = _parse_ip(host)
    if literal is not None:
        return None if is_public_address(literal) else str(literal)
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return "127.0.0.1"
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), within)
    except (OSError, TimeoutError):
        return None
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not is_public_address(addr):
            return str(addr)
    return None


class BlockedAddressError(OSError):
    """A connection refused by the guard; its message is one sentence for the feed's error record."""


def blocked_message(ip: str) -> str:
    return (
        f"The feed's host resolves to {ip}, which is not on the public internet; pactwatch only fetches "
        "from public addresses (set PACTWATCH_ALLOW_PRIVATE_NETWORKS=true for a self-hosted feed)."
    )


class GuardedResolver(AbstractResolver):
    """A resolver that drops answers the policy refuses, and fails when none is left."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        refused: list[str] = []
        for answer in answers:
            ip = _parse_ip(answer["host"])
            if ip is not None and self._policy(ip):
                kept.append(answer)
            else:
                refused.append(answer["host"])
        if not kept:
            raise BlockedAddressError(blocked_message(refused[0] if refused else host))
        return kept

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(policy: AddressPolicy) -> Callable[[Any], socket.socket]:
    """An aiohttp ``socket_factory`` that refuses to create a socket for an address the policy refuses.

    This runs for every connection attempt with the address about to be connected to, IP literals
    included, so it is the last word whatever the resolver said.
    """

    def factory(addr_info: Any) -> socket.socket:
        family, type_, proto, _canon, sockaddr = addr_info
        ip = _parse_ip(str(sockaddr[0]))
        if ip is None or not policy(ip):
            raise BlockedAddressError(blocked_message(str(sockaddr[0])))
        sock = socket.socket(family=family, type=type_, proto=proto)
        sock.setblocking(False)
        return sock

    return factory
