"""How much of the internet a set of peers is, and how a set reads in words.

IPv6 ranges that carry IPv4 addresses count as the IPv4 space they carry when the
question is "is this the internet?": a rule open to ``64:ff9b::/96`` (NAT64) reaches
every IPv4 host through the translator, whatever its family says.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from seawall.netaddr import INTERNET_EQUIVALENT_PREFIX
from seawall.packets.space import FAMILIES, V4_TOP, Node, PeerSet, Slice, Symbols, slices

V4_SPACE = 2**32
PUBLIC_TAGS = Symbols(True, frozenset({"VirtualNetwork", "AzureLoadBalancer"}))  # the tags Azure's Internet holds
MASK32 = 0xFFFFFFFF

# (name, first, last, how the IPv4 address is carried): "low" = the last 32 bits (RFC 4291 mapped,
# RFC 6052 NAT64), "6to4" = bits 16–47 (RFC 3056), "teredo" = the last 32 bits inverted (RFC 4380).
EMBEDDED: tuple[tuple[str, int, int, str], ...] = tuple(
    (name, int(net.network_address), int(net.broadcast_address), how)
    for name, net, how in (
        ("IPv4-mapped", ipaddress.ip_network("::ffff:0:0/96"), "low"),
        ("IPv4-compatible", ipaddress.ip_network("::/96"), "low"),
        ("NAT64", ipaddress.ip_network("64:ff9b::/96"), "low"),
        ("6to4", ipaddress.ip_network("2002::/16"), "6to4"),
        ("Teredo", ipaddress.ip_network("2001::/32"), "teredo"),
    )
)


def carried_v4(v6: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The IPv4 ranges that IPv6 ranges carry through mapping, NAT64, 6to4 or Teredo (any overlap counts)."""
    out: list[tuple[int, int]] = []
    for lo, hi in v6:
        for _, first, last, how in EMBEDDED:
            a, b = max(lo, first), min(hi, last)
            if a > b:
                continue
            if how == "low":
                out.append((a - first, b - first))
            elif how == "6to4":
                out.append(((a >> 80) & MASK32, (b >> 80) & MASK32))
            elif b - a >= MASK32 or (a >> 32) != (b >> 32):  # teredo: a whole cycle of the client bits
                out.append((0, V4_TOP))
            else:
                out.append(((b & MASK32) ^ MASK32, (a & MASK32) ^ MASK32))
    return out


def size(ranges: Iterable[tuple[int, int]]) -> int:
    total, end = 0, -1
    for lo, hi in sorted(ranges):
        lo = max(lo, end + 1)
        if hi >= lo:
            total += hi - lo + 1
            end = hi
    return total


def v4_reach(peer: PeerSet) -> int:
    """IPv4 addresses the set reaches: its IPv4 ranges and the IPv4 its IPv6 ranges carry."""
    return size([*peer.v4, *carried_v4(peer.v6)])


def internet(peer: PeerSet, prefixes: Mapping[int, int] | None = None, family: int | None = None) -> bool:
    """The set is the internet by the measure (default: a /4's worth of IPv4 or a /8's worth of IPv6).

    IPv4 counts the IPv4 space IPv6 prefixes carry (mapped, NAT64, 6to4, Teredo); ``family`` asks of one only.
    """
    limit = {**INTERNET_EQUIVALENT_PREFIX, **(prefixes or {})}
    v4 = family != 6 and v4_reach(peer) >= 2 ** (32 - limit[4])
    return v4 or (family != 4 and size(peer.v6) >= 2 ** (128 - limit[6]))


def coverage(peer: PeerSet) -> str:
    """``the whole IPv4 internet``, ``1.0 /8s of IPv4``, ``… (through NAT64)``: what the set covers.

    The family a set names comes first; IPv4 reached only through IPv6 prefixes says so.
    """
    direct, reach = size(peer.v4), v4_reach(peer)
    v4_text = ""
    if reach:
        via = ""
        if direct < 2 ** (32 - INTERNET_EQUIVALENT_PREFIX[4]) <= reach:
            names = sorted({n for n, first, last, _ in EMBEDDED for lo, hi in peer.v6 if lo <= last and hi >= first})
            via = f" (through {', '.join(names)})"
        v4_text = _amount(reach, 32, 4) + via
    v6_text = _amount(size(peer.v6), 128, 6) if peer.v6 and (size(peer.v6) >= 2**96 or not reach) else ""
    parts = [v4_text, v6_text] if direct else [v6_text, v4_text]
    return " and ".join(p for p in parts if p) or "no addresses"


def _amount(n: int, bits: int, version: int) -> str:
    if n >= 2**bits:
        return f"the whole IPv{version} internet"
    eighths = n / 2 ** (bits - 8)
    return f"{eighths:.1f} /8s of IPv{version}" if eighths >= 0.1 else f"{n} IPv{version} addresses"


# --- words --------------------------------------------------------------------------------------------------------------

LISTED = 4


def cidrs(ranges: Iterable[tuple[int, int]], version: int) -> list[str]:
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    out: list[str] = []
    for lo, hi in ranges:
        out += [str(n) for n in ipaddress.summarize_address_range(cls(lo), cls(hi))]
    return out


def symbol_words(symbols: Iterable[tuple[str, Symbols]]) -> list[str]:
    out = []
    for family, s in symbols:
        if s.cofinite:
            but = f" but {', '.join(sorted(s.names))}" if s.names else ""
            out.append(f"any {family}{but}")
        else:
            out += [f"{family}:{n}" for n in sorted(s.names)]
    return out


COMPLEMENT_LISTED = 8


def _family_words(ranges: tuple[tuple[int, int], ...], version: int) -> list[str]:
    """A family's ranges as CIDRs, or as ``every IPv4 address but …`` when that is shorter."""
    top = V4_TOP if version == 4 else 2**128 - 1
    if ranges == ((0, top),):
        return [f"every IPv{version} address"]
    listed = cidrs(ranges, version)
    if size(ranges) * 2 > top:
        gaps, start = [], 0
        for lo, hi in ranges:
            if lo > start:
                gaps.append((start, lo - 1))
            start = hi + 1
        if start <= top:
            gaps.append((start, top))
        but = cidrs(gaps, version)
        if len(but) < len(listed) and len(but) <= COMPLEMENT_LISTED:
            return [f"every IPv{version} address but {' '.join(but)}"]
    return listed


def words(peer: PeerSet, listed: int | None = LISTED) -> str:
    """A set in reviewers' words: ``every address``, CIDRs, ``role:gateway``, ``tag:VirtualNetwork``…"""
    symbols = peer.symbols
    if peer.v4 == ((0, V4_TOP),) and peer.v6 == ((0, 2**128 - 1),):
        parts = ["every address"]
        if all(s.cofinite and not s.names for _, s in peer.symbols) and len(peer.symbols) == len(FAMILIES):
            return "anything (*)"
        if dict(symbols).get("tag") == PUBLIC_TAGS:  # Azure's Internet: every address and Azure's public tags
            parts = ["Internet"]
            symbols = tuple((f, s) for f, s in symbols if f != "tag")
    else:
        parts = _family_words(peer.v4, 4) + _family_words(peer.v6, 6)
    parts += symbol_words(symbols)
    if listed is not None and len(parts) > listed:
        return f"{', '.join(parts[:listed])} and {len(parts) - listed} more"
    return ", ".join(parts) or "nothing"


def exposures(node: Node, prefixes: Mapping[int, int] | None = None) -> list[Slice]:
    """Where a set is the internet: its slices whose peers are internet-equivalent."""
    return [s for s in slices(node) if internet(s.peer, prefixes)]
