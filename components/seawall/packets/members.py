"""Where CIDRs meet tags and ASGs: the members of a virtual network have addresses too.

The model (:mod:`seawall.packets.admitted`) reads an Azure peer as either an address outside the
virtual network or a symbol (an ASG's members, ``VirtualNetwork``, a service tag). That is exact
for each kind alone, but a member also *has* an address, and a rule written with a CIDR matches
it: a deny of ``10.0.0.0/8`` stops an ASG's members that sit in 10/8, and ``0.0.0.0/0`` reaches
members that ``Internet`` does not. The plan does not say which addresses the network holds.

Here each end of a packet is either an address outside the network, or a member: a symbol with
an address of its own, which may be any IPv4 or IPv6 address, or one no rule names. A CIDR
matches outside addresses and members whose address is in it; ``Internet`` matches outside
addresses only; a tag or an ASG matches its members whatever their address. Every member address
is one more dimension below the symbol, an interval over IPv4, then IPv6, then "no rule's", so
the same exact set algebra answers the question.

A diff asks it only for Azure roles whose rules changed: the packets head admits and base does
not, here, beyond what the model's own difference already says (its addresses read as every host
there, inside the network or not), are members that pass only because of where their addresses
are. Whether any member has such an address the plan cannot say: seawall reports them as
"cannot judge" with the addresses, never as no change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from seawall.packets.measure import words as peer_words
from seawall.packets.space import (
    FAMILIES,
    V4_TOP,
    V6_TOP,
    Addr,
    Box,
    Node,
    PeerSet,
    Seg,
    Symbols,
    addr,
    box_levels,
    boxes_meet,
    intersection,
    intervals_node,
    merge_ranges,
    pieces,
    union_all,
    union_sets,
)

V6_AT = V4_TOP + 1  # a member's IPv6 address a is the point V6_AT + a
OTHER = V6_AT + V6_TOP + 1  # a member address no rule names
MEMBER_TOP = OTHER
NO_CIDRS = PeerSet()
LOAD_BALANCER = int(ipaddress.IPv4Address("168.63.129.16"))
# Members whose address Azure fixes: the AzureLoadBalancer tag is the platform's 168.63.129.16 (or, as the
# model reads every symbol, an address no rule names).
FIXED = {"tag": {"AzureLoadBalancer": ((LOAD_BALANCER, LOAD_BALANCER), (OTHER, OTHER))}}
EVERY_SYMBOL = PeerSet(symbols=tuple((f, Symbols(True)) for f in FAMILIES))
EVERY_WORDS = {"role": "every ASG", "group": "every group outside the stack", "tag": "every service tag"}
AZURE_FAMILIES = ("role", "group", "tag")


@dataclass(frozen=True)
class Ends:
    """One rule's packets with the CIDRs each end names in its own words (outside addresses and members)."""

    local: PeerSet
    protocols: tuple[tuple[int, int], ...]
    ports: tuple[tuple[int, int], ...]
    peer: PeerSet
    local_cidrs: PeerSet = NO_CIDRS
    peer_cidrs: PeerSet = NO_CIDRS


def _members(cidrs: PeerSet) -> list[tuple[int, int]]:
    return [*cidrs.v4, *((V6_AT + lo, V6_AT + hi) for lo, hi in cidrs.v6)]


def _wrap(node: Node) -> Node:
    """Every member address leads to ``node`` (a member level of its own unless ``node`` is a bool)."""
    return node if isinstance(node, bool) else Seg((0,), (node,))


def end_node(peers: PeerSet, cidrs: PeerSet, inside: Node) -> Node:
    """An end: outside addresses in ``peers``; members of its symbols at any address, others where ``cidrs`` say."""
    at = intervals_node(_members(cidrs), inside, MEMBER_TOP)
    every = _wrap(inside)
    by_family = dict(peers.symbols)
    families: list[tuple[Node, tuple[tuple[str, Node], ...]]] = []
    for family in FAMILIES:
        s = by_family.get(family, Symbols())
        if s.cofinite:
            names = {n: at if n in s.names else every for n in (*s.names, *FIXED.get(family, {}))}
            default = every
        else:
            names = {n: every if n in s.names else at for n in (*s.names, *FIXED.get(family, {}))}
            default = at
        for name, only in FIXED.get(family, {}).items():  # a member whose address is known has no other
            names[name] = intersection(names[name], intervals_node(only, True, MEMBER_TOP))
        families.append((default, tuple(sorted(names.items()))))
    return addr(intervals_node(peers.v4, inside, V4_TOP), intervals_node(peers.v6, inside, V6_TOP), families)


@lru_cache(maxsize=1 << 14)
def ends_node(e: Ends) -> Node:
    return box_levels(
        e.protocols,
        e.ports,
        end_node(e.peer, e.peer_cidrs, True),
        lambda inner: end_node(e.local, e.local_cidrs, inner),
    )


def ends_meet(a: Ends, b: Ends) -> bool:
    """Two rules may share a packet, members' addresses counted (an end naming CIDRs meets any member)."""
    return boxes_meet(_wide(a), _wide(b))


@lru_cache(maxsize=1 << 14)
def _wide(e: Ends) -> Box:
    def reach(ends: PeerSet, cidrs: PeerSet) -> PeerSet:
        return union_sets([ends, EVERY_SYMBOL]) if cidrs.v4 or cidrs.v6 else ends

    return Box(reach(e.local, e.local_cidrs), e.protocols, e.ports, reach(e.peer, e.peer_cidrs))


def lifted(parts: Iterable[tuple[PeerSet, tuple[int, int], tuple[tuple[int, int], ...], PeerSet]]) -> Node:
    """The model's own difference, its addresses read as every host there (members included).

    A part whose addresses are every address reads as "the internet" (outside the network) and
    is not widened: ``Internet`` does not reach members, ``0.0.0.0/0`` does, and that is the news.
    """

    def cidrs(p: PeerSet) -> PeerSet:
        everything = p.v4 == ((0, V4_TOP),) and p.v6 == ((0, V6_TOP),)
        return PeerSet() if everything else PeerSet(p.v4, p.v6)

    return union_all(
        ends_node(Ends(local, (protocols,), ports, peer, cidrs(local), cidrs(peer)))
        for local, protocols, ports, peer in parts
    )


# --- in words -----------------------------------------------------------------------------------------------------


@dataclass
class Side:
    """One end of a set of member packets: outside addresses, and members (which symbols, at which addresses)."""

    v4: list[tuple[int, int]] = field(default_factory=list)  # outside addresses
    v6: list[tuple[int, int]] = field(default_factory=list)
    symbols: dict[str, set[str]] = field(default_factory=dict)
    every: set[str] = field(default_factory=set)  # families all of whose members are in it
    addresses: list[tuple[int, int]] = field(default_factory=list)  # members' own, in the member space

    def read(self, node: Node) -> Iterator[Node]:
        """An end's level: notes what it holds and yields what lies below each part (next level)."""
        if not isinstance(node, Addr):
            if node is not False:
                self.every.update(FAMILIES)
                self.v4.append((0, V4_TOP))
                self.v6.append((0, V6_TOP))
                yield node
            return
        for ranges, value, top in ((self.v4, node.v4, V4_TOP), (self.v6, node.v6, V6_TOP)):
            for lo, hi, below in pieces(value, top):
                if below is not False:
                    ranges.append((lo, hi))
                    yield below
        for family, (default, names) in zip(FAMILIES, node.syms, strict=True):
            if default is not False:
                self.every.add(family)
                yield from self._at(default)
            for name, child in names:
                if child is not False:
                    self.symbols.setdefault(family, set()).add(name)
                    yield from self._at(child)

    def _at(self, member: Node) -> Iterator[Node]:
        """A member level's non-empty parts, noting their addresses (a bool: every address)."""
        if not isinstance(member, Seg):
            yield member
            return
        for lo, hi, value in pieces(member, MEMBER_TOP):
            if value is not False:
                if (lo, hi) != (0, MEMBER_TOP):
                    self.addresses.append((lo, hi))
                yield value

    def words(self) -> str:
        """Who, in Azure's words: outside addresses, then ASGs and tags (prefix lists and unreadable values
        are not Azure's members), at the members' own addresses."""
        outside = PeerSet(merge_ranges(self.v4), merge_ranges(self.v6))
        parts = [] if outside.empty else [peer_words(outside)]
        every = set(self.every)
        if parts == ["every address"] and "tag" in every:  # every address and the public tags: Azure's Internet
            parts, every = ["Internet"], every - {"tag"}
        tags = self.symbols.get("tag", set())
        network = {"role", "group"} <= every and ("tag" in every or "VirtualNetwork" in tags)
        if network:
            parts += ["any member of the network"] + (["every service tag"] if "tag" in every else [])
        else:
            parts += [EVERY_WORDS[f] for f in AZURE_FAMILIES if f in every]
        parts += [
            f"{f}:{n}"
            for f in AZURE_FAMILIES
            for n in sorted(self.symbols.get(f, ()))
            if f not in every and not (network and (f, n) == ("tag", "VirtualNetwork"))
        ]
        who = ", ".join(parts) or "members"
        return f"{who} at {address_words(self.addresses)}" if self.addresses else who


@dataclass(frozen=True)
class Said:
    """One sentence's worth of member packets: these protocols and ports between these ends."""

    local: str
    peer: str
    what: str


def said(node: Node) -> list[Said]:
    """Member packets as sentences: one per port range and its ends, gathered where the ends read alike."""
    found: dict[tuple[str, str], list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    local = Side()
    for below in local.read(node):
        for lo, hi, by_port in pieces(below, 255):
            if by_port is False:
                continue
            for plo, phi, peer_node in pieces(by_port, 65535):
                if peer_node is False:
                    continue
                peer = Side()
                for _ in peer.read(peer_node):
                    pass
                found.setdefault((local.words() if local.addresses else "", peer.words()), []).append(
                    ((lo, hi), (plo, phi))
                )
        local = Side()  # each part of the local level is read on its own
    return [Said(lo, pe, _what(parts)) for (lo, pe), parts in found.items()]


def _what(parts: list[tuple[tuple[int, int], tuple[int, int]]]) -> str:
    """Protocols with their ports: ``tcp/22, 3389; icmp``."""
    by_protocol: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for protocols, port_range in parts:
        by_protocol.setdefault(protocols, []).append(port_range)
    out = []
    for protocols, ranges in sorted(by_protocol.items()):
        name = protocol_name(protocols)
        listed = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in merge_ranges(ranges))
        ported = protocols in ((6, 6), (17, 17)) or (protocols[0] <= 17 and protocols[1] >= 6)
        if not ported or listed == "0-65535":
            out.append(name if not ported or protocols not in ((6, 6), (17, 17)) else f"{name}/all")
        elif protocols in ((6, 6), (17, 17)):
            out.append(f"{name}/{listed}")
        else:
            out.append(f"{name} (TCP/UDP ports {listed})")
    return "; ".join(dict.fromkeys(out))


def protocol_name(protocols: tuple[int, int]) -> str:
    lo, hi = protocols
    names = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
    if (lo, hi) == (0, 255):
        return "any protocol"
    return names.get(lo, f"protocol {lo}") if lo == hi else f"protocols {lo}-{hi}"


def address_words(ranges: list[tuple[int, int]], listed: int = 3) -> str:
    """Member addresses as CIDRs; the point past IPv6 is an address no rule names."""
    merged = merge_ranges(ranges)
    v4 = sum(min(hi, V4_TOP) - lo + 1 for lo, hi in merged if lo <= V4_TOP)
    if v4 > V4_TOP // 2:  # most of IPv4: say what is left out
        return _most(merged, listed)
    return _listed(merged, listed)


def _listed(merged: Sequence[tuple[int, int]], listed: int) -> str:
    parts: list[str] = []
    for lo, hi in merged:
        for a, b, shift in ((lo, min(hi, V4_TOP), 0), (max(lo, V6_AT), min(hi, OTHER - 1), V6_AT)):
            if a > b:
                continue
            make = ipaddress.IPv4Address if shift == 0 else ipaddress.IPv6Address
            parts += [str(n) for n in ipaddress.summarize_address_range(make(a - shift), make(b - shift))]
        if hi == OTHER:
            parts.append("addresses no rule names")
    if len(parts) > listed:
        return f"{', '.join(parts[:listed])} and {len(parts) - listed} more"
    return ", ".join(parts)


def _most(merged: Sequence[tuple[int, int]], listed: int) -> str:
    """Member addresses that are most of IPv4, as what they leave out (of the families they hold)."""
    v6 = any(lo <= OTHER - 1 and hi >= V6_AT for lo, hi in merged)
    gaps = _gaps(merged, 0, V4_TOP) + (_gaps(merged, V6_AT, OTHER - 1) if v6 else [])
    left = _listed(gaps, listed) if gaps else ""
    what = "any IPv4" + (" or IPv6" if v6 else "") + " address"
    return f"{what} but {left}" if left else what


def _gaps(merged: Sequence[tuple[int, int]], first: int, last: int) -> list[tuple[int, int]]:
    """What the sorted, merged ranges leave out of first..last."""
    out, at = [], first
    for lo, hi in merged:
        if hi < first or lo > last:
            continue
        if lo > at:
            out.append((at, lo - 1))
        at = max(at, hi + 1)
    if at <= last:
        out.append((at, last))
    return out
