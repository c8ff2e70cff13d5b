"""The client address behind reverse proxies (api/client_address.py)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from api.client_address import client_address

PROXIES = [ip_network("127.0.0.1/32"), ip_network("10.1.0.0/16")]


def scope(peer: str, *forwarded: str) -> dict[str, object]:
    return {"client": (peer, 50000),
            "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]}


@pytest.mark.parametrize(("peer", "forwarded", "proxies", "expected"), [
    ("203.0.113.9", (), PROXIES, "203.0.113.9"),  # no proxy at all
    ("203.0.113.9", ("198.51.100.1",), PROXIES, "203.0.113.9"),  # untrusted peer: ignored
    ("127.0.0.1", ("198.51.100.1",), [], "127.0.0.1"),  # no proxy trusted: ignored
    ("127.0.0.1", ("198.51.100.1",), PROXIES, "198.51.100.1"),
    # a client that forges the first entry: the trusted proxy appended the real one
    ("127.0.0.1", ("1.2.3.4, 198.51.100.1",), PROXIES, "198.51.100.1"),
    # two trusted proxies in a row, and the header split over two lines
    ("10.1.0.7", ("198.51.100.1", "10.1.2.3"), PROXIES, "198.51.100.1"),
    ("127.0.0.1", ("198.51.100.1, not-an-address",), PROXIES, "127.0.0.1"),
    ("127.0.0.1", ("10.1.2.3",), PROXIES, "10.1.2.3"),  # only proxies: the farthest
    ("127.0.0.1", ("2001:db8::1",), PROXIES, "2001:db8::1"),
])
def test_client_address(peer: str, forwarded: tuple[str, ...], proxies: list,
                        expected: str) -> None:
    assert client_address(scope(peer, *forwarded), proxies) == expected


def test_no_client_is_unknown() -> None:
    assert client_address({"headers": []}, PROXIES) == "unknown"
