"""Networks and ports as seawall writes them: canonical, sorted, one spelling each.

A leaf module: every layer that prints or compares addresses or port ranges
uses these, so an address sorts and a port range reads the same everywhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def network_key(text: str) -> tuple[int, int, int]:
    """Sort key for an address or CIDR: IPv4 before IPv6, then numerically, then by prefix length."""
    net = ipaddress.ip_network(text, strict=False)
    return (net.version, int(net.network_address), net.prefixlen)


def sort_networks(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(items, key=network_key))


def canonical_networks(addresses: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Addresses or CIDRs → (IPv4 networks, IPv6 networks), canonical and sorted."""
    nets = sort_networks({str(ipaddress.ip_network(a, strict=False)) for a in addresses})
    return tuple(n for n in nets if ":" not in n), tuple(n for n in nets if ":" in n)


def contains(outer: Network, inner: str) -> bool:
    """``inner`` (an address or CIDR) lies within ``outer``, in the same family."""
    net = ipaddress.ip_network(inner)
    return net.version == outer.version and net.subnet_of(outer)  # type: ignore[arg-type]


def port_text(first: int, last: int) -> str:
    """``25`` for a single port, ``10024-10026`` for a range: how every view writes ports."""
    return str(first) if first == last else f"{first}-{last}"


def parse_port_text(text: str) -> tuple[int, int]:
    """``25`` or ``10024-10026`` → (first, last); ``*`` is every port. Raises ValueError."""
    if text == "*":
        return 0, 65535
    first, _, last = text.partition("-")
    return int(first), int(last or first)


def canonical_cidr(text: str) -> str:
    """One spelling per network (a cloud may echo an IPv6 CIDR differently from how it was written)."""
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text
