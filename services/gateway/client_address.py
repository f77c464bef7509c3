"""The client's address behind trusted reverse proxies (MAVIO_TRUSTED_PROXIES). Pure; no I/O.

``X-Forwarded-For`` is believed only as far as the proxies that appended to it are trusted: starting
from the TCP peer and walking the header right to left, the first address that is not a trusted proxy
is the client. With no trusted proxies (the default) the header is ignored and the peer is the client,
so nobody can choose the address a rate limit counts by sending a header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 16  # a longer chain is not walked further: its leftmost entries are the sender's own words
IPV6_PREFIX = 64  # one IPv6 subscriber usually holds a whole /64


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(addr.version == net.version and addr in net for net in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy, then the nearest untrusted hop.

    ``forwarded_for`` is every ``X-Forwarded-For`` header value, in order. A malformed hop ends the
    walk at the last trusted address (a proxy never writes garbage; a client might).
    """
    if not trusted:  # the default: no header is believed, so nothing needs parsing
        return peer
    current = _address(peer)
    if current is None or not _trusted(current, trusted):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops[-MAX_HOPS:]):
        addr = _address(hop)
        if addr is None:
            break
        current = addr
        if not _trusted(addr, trusted):
            break
    return str(current)


def throttle_subject(address: str) -> str:
    """What the rate limits and the sign-in queue count an address as: an IPv4 address itself, an
    IPv6 address's /64 (one host can take any of its 2**64 addresses, one per guess)."""
    addr = _address(address)
    if addr is None or addr.version == 4:
        return address
    return str(ipaddress.ip_network(f"{addr}/{IPV6_PREFIX}", strict=False))
