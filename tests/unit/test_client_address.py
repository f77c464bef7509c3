"""The client's address behind trusted proxies (``services.gateway.client_address``), including
hostile ``X-Forwarded-For`` values (property tests)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.client_address import client_address, parse_networks, throttle_subject

PROXIES = parse_networks(["10.0.0.0/8", "::1"])


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("203.0.113.9", ["1.2.3.4"], ()) == "203.0.113.9"


def test_an_untrusted_peer_is_the_client_whatever_it_sends() -> None:
    assert client_address("203.0.113.9", ["1.2.3.4"], PROXIES) == "203.0.113.9"


def test_the_nearest_untrusted_hop_is_the_client() -> None:
    assert client_address("10.0.0.5", ["6.6.6.6, 198.51.100.7, 10.1.1.1"], PROXIES) == "198.51.100.7"
    assert client_address("::1", ["198.51.100.7"], PROXIES) == "198.51.100.7"
    assert client_address("10.0.0.5", ["[2001:db8::1]:443"], PROXIES) == "2001:db8::1"
    assert client_address("10.0.0.5", ["198.51.100.7:5000"], PROXIES) == "198.51.100.7"


def test_throttles_count_an_ipv6_address_as_its_64() -> None:
    """One host can take any address of its /64, one per guess: the throttles count the /64."""
    assert throttle_subject("2001:db8:1:2:aaaa::1") == throttle_subject("2001:db8:1:2:ffff::9")
    assert throttle_subject("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert throttle_subject("2001:db8:1:3::1") != throttle_subject("2001:db8:1:2::1")
    assert throttle_subject("198.51.100.7") == "198.51.100.7"
    assert throttle_subject("") == "" and throttle_subject("not-an-ip") == "not-an-ip"


def test_garbage_stops_the_walk_at_the_last_trusted_address() -> None:
    assert client_address("10.0.0.5", ["not-an-ip"], PROXIES) == "10.0.0.5"
    assert client_address("10.0.0.5", ["1.1.1.1, garbage, 10.0.0.9"], PROXIES) == "10.0.0.9"


def test_only_trusted_hops_give_the_leftmost() -> None:
    assert client_address("10.0.0.5", ["10.2.2.2, 10.3.3.3"], PROXIES) == "10.2.2.2"


@given(st.lists(st.text(max_size=60), max_size=5), st.sampled_from(["10.0.0.5", "203.0.113.9", "::1", "x"]))
def test_any_header_gives_the_peer_or_a_parsed_address(values: list[str], peer: str) -> None:
    got = client_address(peer, values, PROXIES)
    assert got == peer or got in ",".join(values) or got.replace(":", "") in ",".join(values).replace(":", "")
    if peer == "203.0.113.9":
        assert got == peer  # an untrusted peer can never choose its address
