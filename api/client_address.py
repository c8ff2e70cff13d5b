"""Who is really calling: the peer's address, or, when the peer is one of the reverse
proxies the settings trust, the address that proxy was called from (X-Forwarded-For).

The header is read from the right: each trusted proxy appends the address it saw, so the
first address from the right that is not a trusted proxy is the client. A header from an
untrusted peer is ignored whole (anyone can send one), and so is a malformed entry."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.types import Scope

Networks = Sequence[IPv4Network | IPv6Network]


def _trusted(address: str, proxies: Networks) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(scope: Scope, proxies: Networks) -> str:
    """The client's address for limits and logs ("unknown" when the server has none)."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded: list[str] = [value.decode("latin-1") for name, value in scope.get("headers") or []
                            if name == b"x-forwarded-for"]
    hops = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            return peer  # a malformed chain proves nothing: the proxy itself is the client
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer
