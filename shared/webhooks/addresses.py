"""Which addresses a webhook may be delivered to (SSRF rule): in production only public ones.

``refusal(address)`` says why an address is not public (loopback, private, link-local, CGNAT, multicast,
cloud metadata, reserved, unspecified, the 6to4 relay anycast ``192.88.99.0/24``, local-use NAT64
``64:ff9b:1::/48``, the IETF protocol assignments ``2001::/23`` (Teredo included), and anything else
not globally routable (``not ip.is_global``); IPv4, IPv6, and IPv4 inside IPv6 — mapped
``::ffff:a.b.c.d``, translated ``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``), or
None for a public one. Used at delivery time on the
address actually connected to (``services.webhooks.sender``) and may be used at save time
(``host_refusal`` for a URL's literal host).
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.169.254/32", "cloud metadata"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
_V6_RANGES: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fd00:ec2::254/128", "cloud metadata"),  # before the private range that holds it
    ("fc00::/7", "private"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
    ("100::/64", "discard"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("2001::/23", "IETF protocol assignment"),  # Teredo, benchmarking, ORCHID, ...
    ("2001:db8::/32", "documentation"),
)
_V4 = tuple((ipaddress.IPv4Network(net), why) for net, why in _V4_RANGES)
_V6 = tuple((ipaddress.IPv6Network(net), why) for net, why in _V6_RANGES)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT's IPv4-translated addresses


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: mapped, translated, 6to4, NAT64 or IPv4-compatible
    (``::a.b.c.d``)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _TRANSLATED or (int(address) >> 32 == 0 and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address | str) -> str | None:
    """Why ``address`` is not a public address (e.g. ``"loopback"``), or None when it is."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "link-local"
        inner = _embedded_v4(ip)
        if inner is not None:
            why = refusal(inner)
            return f"{why} (IPv4 inside IPv6)" if why else None
        return next((why for net, why in _V6 if ip in net), None) or _not_global(ip)
    return next((why for net, why in _V4 if ip in net), None) or _not_global(ip)


def _not_global(ip: Address) -> str | None:
    """The rest of IANA's special-purpose registries, as far as this Python knows them."""
    return None if ip.is_global else "not globally routable"


def host_refusal(host: str) -> str | None:
    """For a URL's host: why its literal address is not public; None for a public address or a name
    (a name is checked when it is resolved, at delivery)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return (
            "loopback"
            if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost")
            else None
        )
    return refusal(ip)
