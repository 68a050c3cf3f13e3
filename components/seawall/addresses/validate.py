"""What an address may be, by where it came from: the rules every entry point applies to addresses it reads.

The lock, ``seawall resolve``, the policy rule ``vendor-addresses-plausible`` and
the stack's site bindings all ask :func:`address_problem`, so a tampered lock, a
hand-written plan and a fresh DNS answer are judged the same way:

- a DNS answer is a single address (``/32``, ``/128``), never a network;
- an AWS ``ip-ranges.json`` prefix is no wider than AWS publishes (IPv4 ``/11``, IPv6 ``/32``);
- every address is public (IANA special-purpose blocks are refused: private, shared,
  loopback, link-local, documentation, benchmarking, multicast, reserved) unless the
  stack allows the range by name (``seawall:allowPrivate``, ``resolve --allow-private``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Literal

from seawall.netaddr import Network

AddressSource = Literal["dns", "aws-ip-ranges", "documented", "any"]

# The widest prefix AWS publishes in ip-ranges.json (checked against a real file by the tests' fixture
# builder): anything wider in an aws-ip-ranges record did not come from AWS.
WIDEST_AWS_PREFIX = {4: 11, 6: 32}

# IANA IPv4 and IPv6 special-purpose address registries, plus multicast and the reserved 240/4:
# none of these is a vendor's public service address.
NON_PUBLIC: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "'this network'"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/127", "unspecified or loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
)
_BLOCKS = tuple((ipaddress.ip_network(n), why) for n, why in NON_PUBLIC)


def non_public_reason(net: Network, allow: Sequence[Network] = ()) -> str | None:
    """Why ``net`` is not public address space (None when it is, or when ``allow`` covers it)."""
    if any(net.version == a.version and net.subnet_of(a) for a in allow):  # type: ignore[arg-type]
        return None
    for block, why in _BLOCKS:
        if block.version == net.version and block.overlaps(net):
            return f"{why} ({block})"
    return None


def address_problem(net: Network, source: AddressSource, allow: Sequence[Network] = ()) -> str | None:
    """One line saying why ``net`` may not come from ``source``; None when it may."""
    full = 32 if net.version == 4 else 128
    if source == "dns" and net.prefixlen != full:
        return f"{net} is a network, but a DNS answer is a single address; valid: /{full}"
    if source == "aws-ip-ranges" and net.prefixlen < WIDEST_AWS_PREFIX[net.version]:
        widest = WIDEST_AWS_PREFIX[net.version]
        return f"{net} is wider than any range AWS publishes (widest: /{widest} for IPv{net.version})"
    reason = non_public_reason(net, allow)
    if reason is not None:
        return f"{net} is not public address space: {reason}; allow the range explicitly (seawall:allowPrivate)"
    return None


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=True) for t in texts)
