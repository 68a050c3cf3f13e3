"""Networks and ports as seawall writes them: canonical, sorted, one spelling each.

A leaf module: every layer that prints or compares addresses or port ranges
uses these, so an address sorts and a port range reads the same everywhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def zone_id_problem(text: str) -> str | None:
    """Why ``text`` is no address for a firewall rule when it names an IPv6 zone (``fe80::1%eth0``); else None.

    Python's ``ipaddress`` accepts a scope id and keeps it in the text (``fe80::1%eth0/128``), but a
    zone names an interface of one machine: no cloud rule, prefix list or Terraform file means anything by it.
    """
    if "%" not in text:
        return None
    address, _, rest = text.partition("%")
    zone, _, prefix = rest.partition("/")
    valid = f"{address}/{prefix}" if prefix else address
    return f"{text!r} names an IPv6 zone (%{zone}), which no firewall rule can hold; valid: {valid}, without the zone"


def parse_network(text: str, strict: bool = True) -> Network:
    """``ipaddress.ip_network`` that also refuses a zone id (see :func:`zone_id_problem`). Raises ValueError."""
    problem = zone_id_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return ipaddress.ip_network(text, strict=strict)


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


# A union of peer addresses this large is the internet, whatever it is called: a /4's worth of IPv4
# (16 /8s; AWS's largest regional service is about 1.4 /8s) and a /8's worth of IPv6.
INTERNET_EQUIVALENT_PREFIX = {4: 4, 6: 8}
FAMILY_BITS = {4: 32, 6: 128}


def union_size(networks: Iterable[str | Network], version: int) -> int:
    """How many addresses of one family the networks cover together (overlaps counted once)."""
    nets = [n if not isinstance(n, str) else ipaddress.ip_network(n, strict=False) for n in networks]
    family: list[Any] = [n for n in nets if n.version == version]
    return sum(int(n.num_addresses) for n in ipaddress.collapse_addresses(family))


def internet_equivalent(networks: Iterable[str | Network], version: int, prefix: int | None = None) -> bool:
    """The networks of ``version`` cover at least a /``prefix``'s worth of that family (default: see above)."""
    limit = prefix if prefix is not None else INTERNET_EQUIVALENT_PREFIX[version]
    return bool(union_size(networks, version) >= 2 ** (FAMILY_BITS[version] - limit))


def coverage_text(networks: Iterable[str | Network], version: int) -> str:
    """``2.0 /8s of IPv4`` or ``the whole IPv4 internet``: how much a union covers, in words."""
    size = union_size(networks, version)
    bits = FAMILY_BITS[version]
    if size >= 2**bits:
        return f"the whole IPv{version} internet"
    eighths = size / 2 ** (bits - 8)
    return f"{eighths:.1f} /8s of IPv{version}" if eighths >= 0.1 else f"{size} IPv{version} addresses"
