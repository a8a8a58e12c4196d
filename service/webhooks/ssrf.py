"""The SSRF guard for webhook URLs: only public internet addresses may receive webhooks.

A webhook URL is chosen by a user, so without a guard the server would make requests on the
user's behalf to its own loopback, to the private network behind it, or to the cloud metadata
service at 169.254.169.254. Use it in three steps::

    scheme, host, port, target = parse_webhook_url(url, allowed_ports=settings.webhook_ports)
    addresses = resolve_safely(host, port, allow_private=False)  # DNS, every address checked
    # connect to addresses[0] (or the next on failure), never to ``host`` again; send
    # ``Host: host`` and, for https, use ``host`` for SNI and certificate checks.

Connecting to a returned address instead of re-resolving ``host`` defeats DNS rebinding (a
name that answers with a public address when checked and a private one when used). Redirects
must not be followed blindly: each ``Location`` is a new URL and goes through both steps again.

Only the ports of ``allowed_ports`` may be named (the scheme's default port counts as named),
whatever ``allow_private`` says: otherwise the delivery log would tell a user which ports of a
third party's host are open.

The address rules are explicit tables rather than ``ipaddress``'s ``is_global``/``is_private``,
whose answers have changed between Python releases. IPv6 forms that embed an IPv4 address
(IPv4-mapped, IPv4-compatible, IPv4-translated, 6to4, NAT64, Teredo) are judged by the IPv4
address they carry, so ``::ffff:127.0.0.1`` is as refused as ``127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeAlias
from urllib.parse import urlsplit

__all__ = [
    "MAX_URL_LENGTH",
    "PortRanges",
    "Resolver",
    "UnsafeUrl",
    "parse_webhook_url",
    "refused_reason",
    "resolve_safely",
]

#: The longest webhook URL accepted, in characters.
MAX_URL_LENGTH = 2000

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PUBLIC_ONLY = "webhooks may only be sent to public internet addresses"

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Inclusive ``(first, last)`` port ranges, as ``Settings.webhook_ports`` gives them.
PortRanges: TypeAlias = Iterable[tuple[int, int]]

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# First match wins, so the more specific ranges come first.
_IPV4_RULES: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), 'unspecified (0.0.0.0/8, "this network")'),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("10.0.0.0/8"), "private (RFC 1918)"),
    (_V4("172.16.0.0/12"), "private (RFC 1918)"),
    (_V4("192.168.0.0/16"), "private (RFC 1918)"),
    (_V4("169.254.0.0/16"), "link-local (incl. cloud metadata 169.254.169.254)"),
    (_V4("100.64.0.0/10"), "carrier-grade NAT (100.64.0.0/10)"),
    (_V4("192.0.0.0/24"), "reserved (IETF protocol assignments 192.0.0.0/24)"),
    (_V4("192.0.2.0/24"), "documentation (192.0.2.0/24)"),
    (_V4("198.51.100.0/24"), "documentation (198.51.100.0/24)"),
    (_V4("203.0.113.0/24"), "documentation (203.0.113.0/24)"),
    (_V4("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"),
    (_V4("192.88.99.0/24"), "reserved (deprecated 6to4 relay anycast 192.88.99.0/24)"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved (240.0.0.0/4)"),
)

# IPv6 ranges refused outright; the forms embedding IPv4 are handled before these.
_IPV6_RULES: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"),
    (_V6("100::/64"), "discard-only (100::/64)"),
    (_V6("2001:db8::/32"), "documentation (2001:db8::/32)"),
    (_V6("3fff::/20"), "documentation (3fff::/20)"),
    (_V6("2001:2::/48"), "benchmarking (2001:2::/48)"),
    (_V6("2001:10::/28"), "reserved (ORCHID 2001:10::/28)"),
    (_V6("2001:20::/28"), "reserved (ORCHIDv2 2001:20::/28)"),
    (_V6("5f00::/16"), "reserved (SRv6 SIDs 5f00::/16)"),
    (_V6("fc00::/7"), "unique local (fc00::/7)"),
    (_V6("fe80::/10"), "link-local (fe80::/10)"),
    (_V6("fec0::/10"), "site-local (fec0::/10, deprecated)"),
    (_V6("ff00::/8"), "multicast"),
)

_IPV4_MAPPED = _V6("::ffff:0:0/96")
_IPV4_TRANSLATED = _V6("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")
_TEREDO = _V6("2001::/32")
_GLOBAL_UNICAST = _V6("2000::/3")

_HOST_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; str(e) says why in one sentence a user can act on."""


class Resolver(Protocol):
    """The shape of :func:`socket.getaddrinfo`, which is the default resolver."""

    def __call__(
        self,
        host: str,
        port: int,
        family: int = ...,
        type: int = ...,
        proto: int = ...,
        flags: int = ...,
    ) -> Sequence[tuple[Any, ...]]:
        """Resolve ``host`` to ``(family, type, proto, canonname, sockaddr)`` tuples."""
        ...


def refused_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address may not receive webhooks, or None if it may."""
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_reason(address)
    return _ipv6_reason(address)


def _ipv4_reason(address: ipaddress.IPv4Address) -> str | None:
    for network, reason in _IPV4_RULES:
        if address in network:
            return reason
    return None


def _embedded(form: str, embedded: ipaddress.IPv4Address) -> str | None:
    """The reason for an IPv6 address carrying ``embedded``, named by how it carries it."""
    reason = _ipv4_reason(embedded)
    return None if reason is None else f"{reason} via {form} {embedded}"


def _ipv6_reason(address: ipaddress.IPv6Address) -> str | None:
    value = int(address)  # ignores any %scope suffix
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value == 0:
        return "unspecified"
    if value == 1:
        return "loopback"
    if address in _IPV4_MAPPED:
        return _embedded("IPv4-mapped", low32)
    if address in _IPV4_TRANSLATED:
        return _embedded("IPv4-translated", low32)
    if address in _IPV4_COMPATIBLE:
        return _embedded("IPv4-compatible", low32)
    if address in _NAT64:
        return _embedded("NAT64", low32)
    if address in _SIX_TO_FOUR:
        return _embedded("6to4", ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF))
    if address in _TEREDO:
        server = ipaddress.IPv4Address((value >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address(~value & 0xFFFFFFFF)
        return _embedded("Teredo server", server) or _embedded("Teredo client", client)
    for network, reason in _IPV6_RULES:
        if address in network:
            return reason
    if address not in _GLOBAL_UNICAST:
        return "reserved (outside global unicast 2000::/3)"
    return None


def parse_webhook_url(url: str, *, allowed_ports: PortRanges) -> tuple[str, str, int, str]:
    """Validate the URL's shape: scheme http or https only, a host, no userinfo (user:pass@), no
    fragment (#...), a port of ``allowed_ports`` (inclusive ``(first, last)`` ranges, as
    ``Settings.webhook_ports`` gives them), length <= 2000. Returns (scheme, host, port,
    path_and_query) with the default port filled in (80/443) and path '/' if empty. Raises
    UnsafeUrl.

    No DNS is done here; pass ``host`` and ``port`` to :func:`resolve_safely`. ``host`` comes back
    lower-cased, an IPv6 literal without its brackets, an internationalised name in its ASCII
    (``xn--``) form.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The webhook URL is longer than {MAX_URL_LENGTH} characters.")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise UnsafeUrl("The webhook URL must not contain spaces or control characters.")
    if "\\" in url:
        raise UnsafeUrl("The webhook URL must not contain a backslash; use / in paths.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # a stray "[", a bad bracketed address, odd Unicode in the host
        raise UnsafeUrl(
            "The webhook URL's host is malformed; check its brackets and characters."
        ) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise UnsafeUrl(f"The webhook URL must start with http:// or https://, not {shown}.")
    if "#" in url:  # also an empty one, which urlsplit does not report
        raise UnsafeUrl(
            "The webhook URL must not contain a fragment (#...), which is never sent; remove it."
        )
    if "@" in parts.netloc:
        raise UnsafeUrl(
            "The webhook URL must not contain a user name or password (user:pass@); remove it."
        )
    host, port_text = _split_netloc(parts.netloc)
    if not host:
        raise UnsafeUrl("The webhook URL has no host; write it like https://example.com/hook.")
    host = _checked_host(host)
    if not port_text:
        port = _DEFAULT_PORTS[scheme]
    elif port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535:
        port = int(port_text)
    else:
        raise UnsafeUrl(
            f"The webhook URL's port must be a number from 1 to 65535, not {port_text!r}."
        )
    _check_port(port, scheme if not port_text else None, tuple(allowed_ports))
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return scheme, host, port, target


def _check_port(port: int, default_of: str | None, allowed: tuple[tuple[int, int], ...]) -> None:
    """UnsafeUrl unless ``port`` is in one of the ``allowed`` ranges; ``default_of`` names the
    scheme whose default port it is when the URL names none."""
    if any(first <= port <= last for first, last in allowed):
        return
    named = f"port {port} (the default of {default_of}://)" if default_of else f"port {port}"
    shown = [str(first) if first == last else f"{first}-{last}" for first, last in allowed]
    choice = f"one of {', '.join(shown)}" if len(shown) != 1 else shown[0]
    raise UnsafeUrl(
        f"The webhook URL's {named} is not allowed; use {choice} (AGENTQ_WEBHOOK_ALLOWED_PORTS)."
    )


def _split_netloc(netloc: str) -> tuple[str, str]:
    """``host[:port]`` or ``[ipv6][:port]`` into host (brackets kept) and port text."""
    if netloc.startswith("["):
        end = netloc.find("]")
        rest = netloc[end + 1 :]
        if end == -1 or (rest and not rest.startswith(":")):
            raise UnsafeUrl("The webhook URL's host is malformed; check its brackets.")
        return netloc[: end + 1], rest[1:]
    host, _, port_text = netloc.partition(":")
    if ":" in port_text:
        raise UnsafeUrl(
            "The webhook URL must write an IPv6 address in brackets, like http://[2001:db8::1]/."
        )
    return host, port_text


def _checked_host(host: str) -> str:
    """The host in canonical form, or UnsafeUrl if it is no valid IP literal or host name."""
    if host.startswith("["):
        return str(_bracketed_ipv6(host))
    name = host.lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UnsafeUrl(f"The webhook host {host!r} is not a valid host name.") from exc
    labels = name.removesuffix(".").split(".")
    if (
        not set(name) <= _HOST_NAME_CHARS
        or len(name) > 253
        or any(not 1 <= len(label) <= 63 for label in labels)
    ):
        raise UnsafeUrl(f"The webhook host {host!r} is not a valid host name.")
    return name


def _bracketed_ipv6(host: str) -> ipaddress.IPv6Address:
    """The address inside ``[...]``, or UnsafeUrl."""
    try:
        return ipaddress.IPv6Address(host[1:-1])
    except ValueError as exc:
        raise UnsafeUrl(
            f"The webhook host {host!r} is malformed, as it is not a valid IPv6 address."
        ) from exc


def _ip_literal(host: str) -> IPAddress | None:
    """The address if ``host`` is an IP literal (IPv6 may be bracketed), else None."""
    if host.startswith("[") and host.endswith("]"):
        return _bracketed_ipv6(host)
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve_safely(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = socket.getaddrinfo
) -> list[str]:
    """Resolve host (an IP literal, including bracketed IPv6, is used as is) and return the
    addresses to connect to, in resolver order, de-duplicated. Raises UnsafeUrl when the name
    does not resolve, or when ANY resolved address is refused (unless allow_private) — an
    attacker controlling DNS must not be able to mix a public and a private address. The caller
    connects to one of the returned addresses (never re-resolves), which defeats DNS rebinding.

    ``allow_private`` skips the address checks altogether; it is for local development and
    tests, and must never come from user input. ``resolver`` has the signature of
    :func:`socket.getaddrinfo` (tests pass a fake one).
    """
    if not 1 <= port <= 65535:
        raise UnsafeUrl(f"The webhook port must be a number from 1 to 65535, not {port}.")
    literal = _ip_literal(host)
    found = [literal] if literal is not None else _resolve(host, port, resolver)
    addresses: list[str] = []
    for address in found:
        reason = None if allow_private else refused_reason(address)
        if reason is not None:
            if literal is not None:
                raise UnsafeUrl(f"The webhook address {address} is {reason}; {_PUBLIC_ONLY}.")
            raise UnsafeUrl(
                f"The webhook host {host!r} resolves to {address}, which is {reason}; "
                f"{_PUBLIC_ONLY}."
            )
        if str(address) not in addresses:
            addresses.append(str(address))
    return addresses


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    """Every address ``resolver`` gives for ``host``, in its order; UnsafeUrl if none."""
    not_found = f"The webhook host {host!r} does not resolve; check the name and its DNS records."
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise UnsafeUrl(not_found) from exc
    found: list[IPAddress] = []
    for info in infos:
        sockaddr = info[4]
        text = sockaddr[0] if isinstance(sockaddr, tuple) and sockaddr else None
        try:  # "" when the answer is no (host, port, ...) tuple: ip_address refuses it
            found.append(ipaddress.ip_address(text if isinstance(text, str) else ""))
        except ValueError as exc:
            raise UnsafeUrl(
                f"The webhook host {host!r} resolves to {sockaddr!r}, which is not an IP address."
            ) from exc
    if not found:
        raise UnsafeUrl(not_found)
    return found
