"""The SSRF guard for webhook URLs (``service.webhooks.ssrf``); no test touches the network."""

from __future__ import annotations

import inspect
import ipaddress
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.settings import Settings
from service.webhooks.ssrf import (
    MAX_URL_LENGTH,
    UnsafeUrl,
    parse_webhook_url,
    refused_reason,
    resolve_safely,
)

#: The ports a webhook URL may name by default (80, 443, 8080, 8443), as the settings give them.
DEFAULT_PORTS = Settings.model_construct().webhook_ports
#: Every port, for the tests of a URL's shape.
ANY_PORT = ((1, 65535),)


def _teredo(server: str, client: str, flags: int = 0x8000, obscured_port: int = 0x63BF) -> str:
    """A Teredo address (2001::/32): prefix, server, flags, port and client (bits inverted)."""
    value = (
        0x2001_0000 << 96
        | int(ipaddress.IPv4Address(server)) << 64
        | flags << 48
        | obscured_port << 32
        | (~int(ipaddress.IPv4Address(client)) & 0xFFFFFFFF)
    )
    return str(ipaddress.IPv6Address(value))


class FakeResolver:
    """Stands in for ``socket.getaddrinfo``: a fixed answer per name, and a record of calls."""

    def __init__(self, answers: dict[str, Sequence[str] | OSError]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls.append((host, port))
        answer = self.answers.get(host, socket.gaierror(socket.EAI_NONAME, "Name not known"))
        if isinstance(answer, OSError):
            raise answer
        infos: list[tuple[Any, ...]] = []
        for text in answer:
            if ":" in text:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (text, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (text, port)))
        return infos


# (address, None if allowed, else a fragment of the reason)
ADDRESSES = [
    # IPv4, allowed: public, and the first address past each refused range.
    ("93.184.216.34", None),
    ("8.8.8.8", None),
    ("1.1.1.1", None),
    ("1.0.0.0", None),
    ("11.0.0.1", None),
    ("9.255.255.255", None),
    ("100.63.255.255", None),
    ("100.128.0.1", None),
    ("126.255.255.255", None),
    ("128.0.0.1", None),
    ("169.253.255.255", None),
    ("169.255.0.1", None),
    ("172.15.255.255", None),
    ("172.32.0.1", None),
    ("192.167.255.255", None),
    ("192.169.0.1", None),
    ("223.255.255.255", None),
    # IPv4, refused.
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private (RFC 1918)"),
    ("10.255.255.255", "private (RFC 1918)"),
    ("172.16.0.1", "private (RFC 1918)"),
    ("172.31.255.255", "private (RFC 1918)"),
    ("192.168.0.1", "private (RFC 1918)"),
    ("192.168.255.255", "private (RFC 1918)"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("100.100.100.200", "carrier-grade NAT"),  # the Alibaba Cloud metadata service
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("254.255.255.255", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.0.170", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("192.88.99.1", "reserved"),
    # IPv6, allowed: public, and public IPv4 addresses embedded in every form.
    ("2606:4700:4700::1111", None),
    ("2001:4860:4860::8888", None),
    ("2a00:1450:4001:82a::200e", None),
    ("::ffff:8.8.8.8", None),
    ("::808:808", None),
    ("64:ff9b::808:808", None),
    ("2002:808:808::1", None),
    (_teredo("65.54.227.120", "8.8.8.8"), None),
    # IPv6, refused: the special ranges.
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("febf:ffff::1", "link-local"),
    ("fc00::1", "unique local"),
    ("fd00::1", "unique local"),
    ("fdff:ffff:ffff:ffff::1", "unique local"),
    ("fd00:ec2::254", "unique local"),  # the AWS metadata service over IPv6
    ("ff02::1", "multicast"),
    ("ff0e::101", "multicast"),
    ("fec0::1", "site-local"),
    ("100::1", "discard-only"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001:2::1", "benchmarking"),
    ("2001:10::1", "ORCHID"),
    ("2001:20::1", "ORCHID"),
    ("5f00::1", "reserved"),
    ("4000::1", "reserved"),
    ("::2:0:0:1", "reserved"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
    # IPv6, refused: a refused IPv4 address embedded.
    ("::ffff:127.0.0.1", "loopback via IPv4-mapped 127.0.0.1"),
    ("::ffff:7f00:1", "loopback via IPv4-mapped 127.0.0.1"),
    ("::ffff:169.254.169.254", "link-local (incl. cloud metadata 169.254.169.254) via IPv4-mapped"),
    ("::ffff:10.0.0.1", "private (RFC 1918) via IPv4-mapped"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("::ffff:0:7f00:1", "loopback via IPv4-translated 127.0.0.1"),
    ("::127.0.0.1", "loopback via IPv4-compatible 127.0.0.1"),
    ("::a9fe:a9fe", "link-local (incl. cloud metadata 169.254.169.254) via IPv4-compatible"),
    ("::c0a8:1", "private (RFC 1918) via IPv4-compatible 192.168.0.1"),
    ("2002:7f00:1::", "loopback via 6to4 127.0.0.1"),
    ("2002:a9fe:a9fe::", "link-local (incl. cloud metadata 169.254.169.254) via 6to4"),
    ("2002:c0a8:101::1", "private (RFC 1918) via 6to4 192.168.1.1"),
    ("2002:6440:1::", "carrier-grade NAT (100.64.0.0/10) via 6to4 100.64.0.1"),
    ("64:ff9b::a9fe:a9fe", "link-local (incl. cloud metadata 169.254.169.254) via NAT64"),
    ("64:ff9b::7f00:1", "loopback via NAT64 127.0.0.1"),
    ("64:ff9b::10.1.2.3", "private (RFC 1918) via NAT64 10.1.2.3"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "documentation (192.0.2.0/24) via Teredo client"),
    (_teredo("65.54.227.120", "127.0.0.1"), "loopback via Teredo client 127.0.0.1"),
    (_teredo("65.54.227.120", "169.254.169.254"), "link-local (incl. cloud metadata"),
    (_teredo("65.54.227.120", "10.0.0.1"), "private (RFC 1918) via Teredo client 10.0.0.1"),
    (_teredo("10.0.0.1", "8.8.8.8"), "private (RFC 1918) via Teredo server 10.0.0.1"),
    (_teredo("127.0.0.1", "8.8.8.8"), "loopback via Teredo server 127.0.0.1"),
]


@pytest.mark.parametrize(("text", "expected"), ADDRESSES, ids=[text for text, _ in ADDRESSES])
def test_each_address_is_allowed_or_refused_for_the_stated_reason(
    text: str, expected: str | None
) -> None:
    reason = refused_reason(ipaddress.ip_address(text))
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        assert expected in reason


def test_the_address_table_covers_at_least_forty_addresses_both_allowed_and_refused() -> None:
    allowed = [text for text, expected in ADDRESSES if expected is None]
    refused = [text for text, expected in ADDRESSES if expected is not None]
    assert len(ADDRESSES) >= 40
    assert len(allowed) >= 10
    assert len(refused) >= 30
    assert len({text for text, _ in ADDRESSES}) == len(ADDRESSES)


def test_the_teredo_helper_builds_the_rfc_4380_example_address() -> None:
    assert _teredo("65.54.227.120", "192.0.2.45") == "2001:0:4136:e378:8000:63bf:3fff:fdd2"


def test_a_refusal_reason_is_short() -> None:
    reasons = [refused_reason(ipaddress.ip_address(text)) for text, _ in ADDRESSES]
    assert all(len(reason) <= 100 for reason in reasons if reason is not None)


@settings(deadline=None)  # a wall-clock limit, which a loaded machine breaks
@given(st.ip_addresses(v=4))
def test_every_address_python_calls_non_global_is_refused(address: ipaddress.IPv4Address) -> None:
    if not address.is_global or address.is_multicast:
        assert refused_reason(address) is not None


@settings(deadline=None)  # a wall-clock limit, which a loaded machine breaks
@given(st.ip_addresses(v=4))
def test_an_embedded_ipv4_address_is_judged_like_the_address_itself(
    address: ipaddress.IPv4Address,
) -> None:
    value = int(address)
    refused = refused_reason(address) is not None
    forms = [
        0xFFFF << 32 | value,  # IPv4-mapped
        0xFFFF << 48 | value,  # IPv4-translated
        0x0064_FF9B << 96 | value,  # NAT64
        0x2002 << 112 | value << 80 | 1,  # 6to4
        int(ipaddress.IPv6Address(_teredo("8.8.8.8", str(address)))),  # Teredo client
        int(ipaddress.IPv6Address(_teredo(str(address), "8.8.8.8"))),  # Teredo server
    ]
    if value > 1:  # :: and ::1 are unspecified and loopback in their own right
        forms.append(value)  # IPv4-compatible
    for form in forms:
        assert (refused_reason(ipaddress.IPv6Address(form)) is not None) == refused, hex(form)


# ---- URL shape ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com", ("https", "example.com", 443, "/")),
        ("http://example.com", ("http", "example.com", 80, "/")),
        ("https://example.com/hooks/agentq", ("https", "example.com", 443, "/hooks/agentq")),
        (
            "HTTPS://Example.COM:8443/a/b?x=1&y=2",
            ("https", "example.com", 8443, "/a/b?x=1&y=2"),
        ),
        ("http://example.com:/", ("http", "example.com", 80, "/")),
        ("http://example.com:0080/", ("http", "example.com", 80, "/")),
        ("http://example.com?x=1", ("http", "example.com", 80, "/?x=1")),
        ("http://example.com.:1/", ("http", "example.com.", 1, "/")),
        ("http://example.com:65535/", ("http", "example.com", 65535, "/")),
        ("http://93.184.216.34/hook", ("http", "93.184.216.34", 80, "/hook")),
        ("http://[::1]/", ("http", "::1", 80, "/")),
        ("https://[2606:4700:4700::1111]:8443/x", ("https", "2606:4700:4700::1111", 8443, "/x")),
        ("https://B\u00fccher.example/", ("https", "xn--bcher-kva.example", 443, "/")),
        ("https://my_host.example/", ("https", "my_host.example", 443, "/")),
    ],
)
def test_a_well_formed_url_is_split_with_defaults_filled_in(
    url: str, expected: tuple[str, str, int, str]
) -> None:
    assert parse_webhook_url(url, allowed_ports=ANY_PORT) == expected


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://example.com/", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://example.com:70/", "http:// or https://"),
        ("//example.com/hook", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("", "http:// or https://"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http://user@example.com/", "user name or password"),
        ("http://:pw@example.com/", "user name or password"),
        ("http://example.com@127.0.0.1/", "user name or password"),
        ("http://user:pw@example.com:8080/", "user name or password"),
        ("http://example.com/hook#frag", "fragment"),
        ("http://example.com/hook#", "fragment"),
        ("http://example.com#", "fragment"),
        ("http://example.com/hook?x=1#", "fragment"),
        ("http://example.com#@127.0.0.1/", "fragment"),
        ("https://example.com:8443/#/route", "fragment"),
        ("http://", "no host"),
        ("http:///hook", "no host"),
        ("http:/hook", "no host"),
        ("http://:8080/", "no host"),
        ("http://example.com:0/", "port"),
        ("http://example.com:70000/", "port"),
        ("http://example.com:65536/", "port"),
        ("http://example.com:-1/", "port"),
        ("http://example.com:+80/", "port"),
        ("http://example.com:8o/", "port"),
        ("http://example.com:\u0668\u0660/", "port"),
        ("http://[::1]x/", "malformed"),
        ("http://[::1/", "malformed"),
        ("http://[not-an-ip]/", "malformed"),
        ("http://[127.0.0.1]/", "malformed"),
        ("http://[v1.fe]/", "malformed"),
        ("http://::1/", "in brackets"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("http://example.com/\n", "spaces or control characters"),
        ("http://exa\tmple.com/", "spaces or control characters"),
        ("http://exa\x00mple.com/", "spaces or control characters"),
        ("http://127.0.0.1\\.example.com/", "backslash"),
        ("http://127.0.0.%31/", "not a valid host name"),
        ("http://exa*mple.com/", "not a valid host name"),
        ("http://a..example.com/", "not a valid host name"),
        ("http://.example.com/", "not a valid host name"),
        (f"http://{'a' * 64}.example.com/", "not a valid host name"),
        (f"http://{'a.' * 130}example/", "not a valid host name"),
        ("https://example.com/" + "a" * (MAX_URL_LENGTH - 19), "longer than 2000 characters"),
    ],
)
def test_a_malformed_or_disallowed_url_is_refused_with_a_reason(url: str, fragment: str) -> None:
    with pytest.raises(UnsafeUrl) as caught:
        parse_webhook_url(url, allowed_ports=ANY_PORT)
    assert fragment in str(caught.value)


def test_a_url_of_exactly_the_maximum_length_is_accepted() -> None:
    url = "https://example.com/" + "a" * (MAX_URL_LENGTH - 20)
    assert len(url) == MAX_URL_LENGTH == 2000
    assert parse_webhook_url(url, allowed_ports=DEFAULT_PORTS)[3] == "/" + "a" * (
        MAX_URL_LENGTH - 20
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "http:///hook",
        "http://example.com:0/",
        "http://::1/",
        "http://[::1/",
        "http://exa mple.com/",
        "https://example.com/" + "a" * 2000,
        "http://example.com/#",
        "http://example.com:22/",
        "http://93.184.215.14:6379/",
        "http://example.com/",
    ],
)
def test_a_refusal_message_is_one_sentence(url: str) -> None:
    with pytest.raises(UnsafeUrl) as caught:
        parse_webhook_url(url, allowed_ports=((443, 443), (8000, 8100)))
    message = str(caught.value)
    assert message.startswith("The webhook ")
    assert message.endswith(".")
    assert ". " not in message


def test_unsafe_url_is_a_value_error() -> None:
    assert issubclass(UnsafeUrl, ValueError)


# ---- Ports --------------------------------------------------------------------------------------


def test_the_default_ports_are_the_web_ports() -> None:
    assert DEFAULT_PORTS == ((80, 80), (443, 443), (8080, 8080), (8443, 8443))


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://93.184.215.14/", 80),
        ("https://93.184.215.14/", 443),
        ("http://93.184.215.14:80/", 80),
        ("https://93.184.215.14:443/", 443),
        ("http://93.184.215.14:8080/", 8080),
        ("https://hooks.example.com:8443/x", 8443),
        ("http://[2606:4700:4700::1111]:8080/", 8080),
        ("http://hooks.example.com:0443/", 443),
    ],
)
def test_a_url_naming_a_default_port_is_accepted(url: str, port: int) -> None:
    assert parse_webhook_url(url, allowed_ports=DEFAULT_PORTS)[2] == port


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14:22/",
        "http://93.184.215.14:6379/",
        "http://93.184.215.14:5432/",
        "http://93.184.215.14:25/",
        "http://93.184.215.14:79/",
        "http://93.184.215.14:81/",
        "https://93.184.215.14:444/",
        "http://93.184.215.14:8081/",
        "http://93.184.215.14:8442/",
        "http://93.184.215.14:65535/",
        "http://93.184.215.14:1/",
        "http://[2606:4700:4700::1111]:22/",
        "http://hooks.example.com:11211/hook?x=1",
    ],
)
def test_a_url_naming_another_port_is_refused_naming_the_port_and_the_allowed_ones(
    url: str,
) -> None:
    port = urlsplit(url).port
    with pytest.raises(UnsafeUrl) as caught:
        parse_webhook_url(url, allowed_ports=DEFAULT_PORTS)
    assert str(caught.value) == (
        f"The webhook URL's port {port} is not allowed; use one of 80, 443, 8080, 8443 "
        "(AGENTQ_WEBHOOK_ALLOWED_PORTS)."
    )


def test_the_scheme_default_port_counts_as_the_port_named() -> None:
    only_https = ((443, 443),)
    assert parse_webhook_url("https://hooks.example.com/", allowed_ports=only_https)[2] == 443
    with pytest.raises(UnsafeUrl) as caught:
        parse_webhook_url("http://hooks.example.com/", allowed_ports=only_https)
    assert str(caught.value) == (
        "The webhook URL's port 80 (the default of http://) is not allowed; "
        "use 443 (AGENTQ_WEBHOOK_ALLOWED_PORTS)."
    )
    with pytest.raises(UnsafeUrl, match="port 80 is not allowed"):
        parse_webhook_url("http://hooks.example.com:80/", allowed_ports=only_https)


TEST_STACK_PORTS = Settings.model_construct(
    webhook_allowed_ports="80,443,8080,8443,9,32768-60999"
).webhook_ports


@pytest.mark.parametrize("port", [9, 80, 443, 8080, 8443, 32768, 40000, 60999])
def test_a_port_in_a_range_or_at_either_end_is_accepted(port: int) -> None:
    url = f"http://127.0.0.1:{port}/hook"
    assert parse_webhook_url(url, allowed_ports=TEST_STACK_PORTS)[2] == port


@pytest.mark.parametrize("port", [8, 10, 22, 6379, 32767, 61000, 65535])
def test_a_port_just_outside_a_range_is_refused(port: int) -> None:
    with pytest.raises(UnsafeUrl) as caught:
        parse_webhook_url(f"http://127.0.0.1:{port}/hook", allowed_ports=TEST_STACK_PORTS)
    assert str(caught.value) == (
        f"The webhook URL's port {port} is not allowed; use one of 80, 443, 8080, 8443, 9, "
        "32768-60999 (AGENTQ_WEBHOOK_ALLOWED_PORTS)."
    )


@settings(deadline=None)  # a wall-clock limit, which a loaded machine breaks
@given(
    port=st.integers(1, 65535),
    ranges=st.lists(
        st.tuples(st.integers(1, 65535), st.integers(0, 2000)).map(
            lambda r: (r[0], min(65535, r[0] + r[1]))
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_a_port_is_accepted_exactly_when_a_range_holds_it(
    port: int, ranges: list[tuple[int, int]]
) -> None:
    url = f"https://hooks.example.com:{port}/"
    if any(first <= port <= last for first, last in ranges):
        assert parse_webhook_url(url, allowed_ports=ranges)[2] == port
    else:
        with pytest.raises(UnsafeUrl, match=f"port {port} is not allowed"):
            parse_webhook_url(url, allowed_ports=ranges)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.215.14:8080/#", "fragment"),
        ("http://93.184.215.14:8080/hook#frag", "fragment"),
        ("http://user:pw@93.184.215.14:8080/", "user name or password"),
        ("http://user@93.184.215.14/", "user name or password"),
    ],
)
def test_an_allowed_port_does_not_excuse_a_fragment_or_userinfo(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl, match=reason):
        parse_webhook_url(url, allowed_ports=DEFAULT_PORTS)


def test_the_fragment_refusal_says_what_to_do() -> None:
    with pytest.raises(UnsafeUrl) as caught:
        parse_webhook_url("https://hooks.example.com/agentq#", allowed_ports=DEFAULT_PORTS)
    assert str(caught.value) == (
        "The webhook URL must not contain a fragment (#...), which is never sent; remove it."
    )


def test_the_port_rule_holds_for_hosts_allow_private_would_let_through() -> None:
    """``allow_private`` is an address rule only: a loopback URL's port is still checked."""
    with pytest.raises(UnsafeUrl, match="port 6379 is not allowed"):
        parse_webhook_url("http://127.0.0.1:6379/", allowed_ports=DEFAULT_PORTS)
    assert "allow_private" not in inspect.signature(parse_webhook_url).parameters


# ---- Resolution ---------------------------------------------------------------------------------


def test_a_name_resolving_to_a_public_address_passes() -> None:
    resolver = FakeResolver({"hooks.example.com": ["93.184.216.34"]})
    addresses = resolve_safely("hooks.example.com", 443, allow_private=False, resolver=resolver)
    assert addresses == ["93.184.216.34"]
    assert resolver.calls == [("hooks.example.com", 443)]


def test_every_public_address_is_returned_in_resolver_order_without_duplicates() -> None:
    resolver = FakeResolver(
        {
            "hooks.example.com": [
                "2606:4700:4700::1111",
                "93.184.216.34",
                "2606:4700:4700::1111",
                "8.8.8.8",
                "93.184.216.34",
            ]
        }
    )
    addresses = resolve_safely("hooks.example.com", 80, allow_private=False, resolver=resolver)
    assert addresses == ["2606:4700:4700::1111", "93.184.216.34", "8.8.8.8"]


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (["93.184.216.34", "10.0.0.5"], "resolves to 10.0.0.5, which is private (RFC 1918)"),
        (["127.0.0.1", "93.184.216.34"], "resolves to 127.0.0.1, which is loopback"),
        (["2606:4700:4700::1111", "::ffff:169.254.169.254"], "cloud metadata"),
        (["8.8.8.8", "fd00::1"], "unique local"),
    ],
)
def test_a_name_resolving_to_a_public_and_a_private_address_is_refused(
    answer: list[str], fragment: str
) -> None:
    resolver = FakeResolver({"rebind.example": answer})
    with pytest.raises(UnsafeUrl) as caught:
        resolve_safely("rebind.example", 443, allow_private=False, resolver=resolver)
    message = str(caught.value)
    assert fragment in message
    assert "'rebind.example'" in message
    assert message.endswith("public internet addresses.")


def test_a_name_that_does_not_resolve_is_refused() -> None:
    resolver = FakeResolver({})
    with pytest.raises(UnsafeUrl, match="does not resolve") as caught:
        resolve_safely("nowhere.invalid", 443, allow_private=False, resolver=resolver)
    assert isinstance(caught.value.__cause__, socket.gaierror)


def test_a_name_with_no_addresses_is_refused() -> None:
    resolver = FakeResolver({"empty.example": []})
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        resolve_safely("empty.example", 443, allow_private=False, resolver=resolver)


def test_a_resolver_answer_that_is_not_an_ip_address_is_refused() -> None:
    def resolver(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("not-an-ip", port))]

    with pytest.raises(UnsafeUrl, match="not an IP address"):
        resolve_safely("odd.example", 443, allow_private=False, resolver=resolver)


def test_allow_private_lets_a_loopback_name_through() -> None:
    resolver = FakeResolver({"localhost": ["127.0.0.1", "::1"]})
    addresses = resolve_safely("localhost", 8080, allow_private=True, resolver=resolver)
    assert addresses == ["127.0.0.1", "::1"]


def test_allow_private_still_refuses_a_name_that_does_not_resolve() -> None:
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        resolve_safely("nowhere.invalid", 80, allow_private=True, resolver=FakeResolver({}))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("8.8.8.8", ["8.8.8.8"]),
        ("2606:4700:4700::1111", ["2606:4700:4700::1111"]),
        ("[2606:4700:4700::1111]", ["2606:4700:4700::1111"]),
        ("[2606:4700:4700:0:0:0:0:1111]", ["2606:4700:4700::1111"]),
    ],
)
def test_a_public_ip_literal_is_used_without_asking_the_resolver(
    host: str, expected: list[str]
) -> None:
    resolver = FakeResolver({})
    assert resolve_safely(host, 443, allow_private=False, resolver=resolver) == expected
    assert resolver.calls == []


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("127.0.0.1", "The webhook address 127.0.0.1 is loopback"),
        ("[::1]", "The webhook address ::1 is loopback"),
        ("::1", "The webhook address ::1 is loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("[::ffff:127.0.0.1]", "loopback via IPv4-mapped 127.0.0.1"),
        ("[fe80::1%25eth0]", "link-local"),
    ],
)
def test_a_refused_ip_literal_is_refused_without_asking_the_resolver(
    host: str, fragment: str
) -> None:
    resolver = FakeResolver({})
    with pytest.raises(UnsafeUrl) as caught:
        resolve_safely(host, 443, allow_private=False, resolver=resolver)
    assert fragment in str(caught.value)
    assert resolver.calls == []


def test_allow_private_lets_a_loopback_literal_through() -> None:
    resolver = FakeResolver({})
    assert resolve_safely("127.0.0.1", 80, allow_private=True, resolver=resolver) == ["127.0.0.1"]
    assert resolve_safely("[::1]", 80, allow_private=True, resolver=resolver) == ["::1"]
    assert resolver.calls == []


def test_a_bracketed_host_that_is_not_ipv6_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="not a valid IPv6 address"):
        resolve_safely("[example.com]", 443, allow_private=True, resolver=FakeResolver({}))


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_a_port_out_of_range_is_refused_before_resolving(port: int) -> None:
    resolver = FakeResolver({"hooks.example.com": ["93.184.216.34"]})
    with pytest.raises(UnsafeUrl, match="port"):
        resolve_safely("hooks.example.com", port, allow_private=False, resolver=resolver)
    assert resolver.calls == []


def test_the_default_resolver_is_getaddrinfo() -> None:
    default = inspect.signature(resolve_safely).parameters["resolver"].default
    assert default is socket.getaddrinfo


# ---- Together -----------------------------------------------------------------------------------


def test_a_bracketed_loopback_url_parses_but_is_refused_at_resolve() -> None:
    _, host, port, _ = parse_webhook_url("http://[::1]/", allowed_ports=DEFAULT_PORTS)
    resolver = FakeResolver({})
    with pytest.raises(UnsafeUrl, match="loopback"):
        resolve_safely(host, port, allow_private=False, resolver=resolver)
    assert resolver.calls == []


def test_a_url_whose_name_points_at_cloud_metadata_is_refused() -> None:
    _, host, port, _ = parse_webhook_url(
        "http://metadata.attacker.example/latest/meta-data/", allowed_ports=DEFAULT_PORTS
    )
    resolver = FakeResolver({"metadata.attacker.example": ["169.254.169.254"]})
    with pytest.raises(UnsafeUrl, match="cloud metadata"):
        resolve_safely(host, port, allow_private=False, resolver=resolver)
    assert resolver.calls == [("metadata.attacker.example", 80)]


def test_a_public_url_yields_the_address_to_connect_to() -> None:
    scheme, host, port, target = parse_webhook_url(
        "https://hooks.example.com/agentq?k=1", allowed_ports=DEFAULT_PORTS
    )
    resolver = FakeResolver({"hooks.example.com": ["93.184.216.34"]})
    addresses = resolve_safely(host, port, allow_private=False, resolver=resolver)
    assert (scheme, host, port, target, addresses) == (
        "https",
        "hooks.example.com",
        443,
        "/agentq?k=1",
        ["93.184.216.34"],
    )
