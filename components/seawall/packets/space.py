"""Sets of packets, exact and canonical: the algebra every traffic verdict is computed with.

A packet, as a firewall judges it, is a point in four dimensions, in this order:

1. **local**: the end the firewall protects (an Azure rule's destination for inbound, its
   source for outbound; AWS rules always mean the group's own members);
2. **protocol**: an IP protocol number 0–255 (``tcp`` 6, ``udp`` 17, ``*`` all);
3. **port**: the destination port 0–65535 (every port for protocols without ports);
4. **peer**: the far end.

Both address dimensions are an :class:`Addr`: IPv4 addresses, IPv6 addresses and *symbols*,
far ends that are not address lists (an Azure ASG or service tag, an AWS security group, a
prefix list or value the model cannot see into). Symbols live in a few families; a set of
symbols is, per family, finite (these names) or cofinite (every name but these), so
``VirtualNetwork`` (every ASG of the network) and ``*`` (everything) are exact sets too.

A set is a tree of piecewise functions, one level per dimension: an interval level is a
:class:`Seg` (sorted breakpoints, each piece mapped to the next level), an address level an
:class:`Addr`; ``True`` and ``False`` stand for "everything below" and "nothing below".
Adjacent pieces with equal children are merged and constant nodes collapse to a bool, so
**equal sets are equal trees**: equality is ``==``, subset is ``a - b is False``, and the
difference of two firewalls is itself a set that can be listed, measured and queried.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Union

V4_TOP = 2**32 - 1
V6_TOP = 2**128 - 1
PROTOCOL_TOP = 255
PORT_TOP = 65535
# Symbol families: a seawall role's group (AWS security group or Azure ASG, by its role tag), a
# group outside seawall's resources (members unknown), an Azure service tag other than the
# ones that mean addresses, a prefix list outside the plan, a value the model cannot read.
FAMILIES = ("role", "group", "tag", "list", "unknown")

Node = Union[bool, "Seg", "Addr"]


class Seg:
    """A piecewise function over ``0..top``: ``vals[i]`` holds from ``starts[i]`` to the next start - 1."""

    __slots__ = ("_hash", "starts", "vals")

    def __init__(self, starts: tuple[int, ...], vals: tuple[Node, ...]) -> None:
        self.starts = starts
        self.vals = vals
        self._hash = hash((starts, vals))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Seg)
            and self._hash == other._hash
            and self.starts == other.starts
            and self.vals == other.vals
        )

    def __repr__(self) -> str:
        return f"Seg({list(zip(self.starts, self.vals, strict=True))})"


Names = tuple[tuple[str, Node], ...]
Family = tuple[Node, Names]  # (the value of every name not listed, (name, value) for the exceptions)


class Addr:
    """A function over addresses and symbols: IPv4 pieces, IPv6 pieces and, per family, named exceptions."""

    __slots__ = ("_hash", "syms", "v4", "v6")

    def __init__(self, v4: Node, v6: Node, syms: tuple[Family, ...]) -> None:
        self.v4 = v4
        self.v6 = v6
        self.syms = syms
        self._hash = hash((v4, v6, syms))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Addr)
            and self._hash == other._hash
            and self.v4 == other.v4
            and self.v6 == other.v6
            and self.syms == other.syms
        )

    def __repr__(self) -> str:
        return f"Addr(v4={self.v4!r}, v6={self.v6!r}, syms={self.syms!r})"


# --- building nodes, canonical by construction ------------------------------------------------------------------------


def seg(starts: Iterable[int], vals: Iterable[Node]) -> Node:
    """A canonical Seg: equal neighbours merged, a single constant piece collapsed to its bool."""
    out_s: list[int] = []
    out_v: list[Node] = []
    for s, v in zip(starts, vals, strict=True):
        if out_v and out_v[-1] == v:
            continue
        out_s.append(s)
        out_v.append(v)
    if len(out_v) == 1 and isinstance(out_v[0], bool):
        return out_v[0]
    return Seg(tuple(out_s), tuple(out_v))


def addr(v4: Node, v6: Node, syms: Iterable[Family]) -> Node:
    fams: list[Family] = []
    for default, names in syms:
        fams.append((default, tuple((n, v) for n, v in names if v != default)))
    if isinstance(v4, bool) and v4 == v6 and all(d is v4 and not n for d, n in fams):
        return v4
    return Addr(v4, v6, tuple(fams))


def intervals_node(ranges: Iterable[tuple[int, int]], inside: Node, top: int) -> Node:
    """``inside`` over the union of the inclusive ranges, ``False`` elsewhere."""
    merged = merge_ranges(list(ranges))
    starts: list[int] = [0]
    vals: list[Node] = [False]
    for lo, hi in merged:
        if starts[-1] == lo:
            vals[-1] = inside
        else:
            starts.append(lo)
            vals.append(inside)
        if hi < top:
            starts.append(hi + 1)
            vals.append(False)
    return seg(starts, vals)


@dataclass(frozen=True)
class Symbols:
    """A set of symbols of one family: ``names`` (finite), or every name but ``names`` (cofinite)."""

    cofinite: bool = False
    names: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PeerSet:
    """A set of addresses and symbols, as rules write them and verdicts list them."""

    v4: tuple[tuple[int, int], ...] = ()
    v6: tuple[tuple[int, int], ...] = ()
    symbols: tuple[tuple[str, Symbols], ...] = ()  # (family, set) for the families that hold any

    def __hash__(self) -> int:  # cached: sets key the dictionaries that gather boxes
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            found = hash((self.v4, self.v6, self.symbols))
            object.__setattr__(self, "_hash", found)
        return found

    def node(self, inside: Node = True) -> Node:
        by_family = dict(self.symbols)
        fams: list[Family] = []
        for family in FAMILIES:
            s = by_family.get(family, Symbols())
            default: Node = inside if s.cofinite else False
            other: Node = False if s.cofinite else inside
            fams.append((default, tuple((n, other) for n in sorted(s.names))))
        return addr(intervals_node(self.v4, inside, V4_TOP), intervals_node(self.v6, inside, V6_TOP), fams)

    @property
    def empty(self) -> bool:
        return not (self.v4 or self.v6 or any(s.cofinite or s.names for _, s in self.symbols))


ALL_ADDRESSES = PeerSet(((0, V4_TOP),), ((0, V6_TOP),))
EVERY_PEER = PeerSet(((0, V4_TOP),), ((0, V6_TOP),), tuple((f, Symbols(True)) for f in FAMILIES))


def symbol(family: str, name: str) -> PeerSet:
    return PeerSet(symbols=((family, Symbols(False, frozenset({name}))),))


@lru_cache(maxsize=1 << 16)
def cidr_range(text: str) -> tuple[int, int, int]:
    """(version, first, last) of a CIDR or address, host bits dropped; raises ValueError. Parsed once per text."""
    net = ipaddress.ip_network(text, strict=False)
    return net.version, int(net.network_address), int(net.broadcast_address)


def network_set(texts: Iterable[str]) -> PeerSet:
    """CIDRs or addresses as a set (host bits dropped: the network the cloud would open)."""
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for text in texts:
        version, lo, hi = cidr_range(text)
        (v4 if version == 4 else v6).append((lo, hi))
    return PeerSet(merge_ranges(v4), merge_ranges(v6))


def union_sets(sets: Iterable[PeerSet]) -> PeerSet:
    listed = sets if isinstance(sets, list | tuple) else list(sets)
    if len(listed) == 1:
        return listed[0]
    return _union_sets(listed)


def _union_sets(sets: Iterable[PeerSet]) -> PeerSet:
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    fams: dict[str, Symbols] = {}
    for s in sets:
        v4 += s.v4
        v6 += s.v6
        for family, syms in s.symbols:
            have = fams.get(family, Symbols())
            if have.cofinite and syms.cofinite:
                fams[family] = Symbols(True, have.names & syms.names)
            elif have.cofinite or syms.cofinite:
                co, fin = (have, syms) if have.cofinite else (syms, have)
                fams[family] = Symbols(True, co.names - fin.names)
            else:
                fams[family] = Symbols(False, have.names | syms.names)
    return PeerSet(merge_ranges(v4), merge_ranges(v6), tuple(sorted(fams.items())))


def merge_ranges(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Inclusive ranges sorted, with overlapping and adjacent ones joined."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


@dataclass(frozen=True)
class Box:
    """One rule's packets: local × protocols × ports × peer."""

    local: PeerSet
    protocols: tuple[tuple[int, int], ...]
    ports: tuple[tuple[int, int], ...]
    peer: PeerSet
    _node: list[Node] = field(default_factory=list, compare=False, repr=False)

    def node(self) -> Node:
        """Ports bind TCP and UDP only: the box's other protocols hold every port (ICMP has no ports)."""
        if not self._node:
            self._node.append(box_levels(self.protocols, self.ports, self.peer.node(), self.local.node))
        return self._node[0]


def box_levels(
    protocols: tuple[tuple[int, int], ...],
    ports: tuple[tuple[int, int], ...],
    peer: Node,
    local: Callable[[Node], Node],
) -> Node:
    """local × protocols × ports × peer, the peer level and the local level made by the caller."""
    ported = intervals_node(ports, peer, PORT_TOP)
    every = intervals_node(((0, PORT_TOP),), peer, PORT_TOP)
    starts: list[int] = [0]
    vals: list[Node] = [False]
    for lo, hi in merge_ranges(list(protocols)):
        for a, b in _split_ported(lo, hi):
            if starts[-1] == a:
                vals[-1] = ported if a in PORTED else every
            else:
                starts.append(a)
                vals.append(ported if a in PORTED else every)
            if b < PROTOCOL_TOP:
                starts.append(b + 1)
                vals.append(False)
    inner = seg(starts, vals)
    return local(inner) if inner is not False else False


PORTED = frozenset({6, 17})  # the protocols whose packets carry ports: TCP and UDP


def _split_ported(lo: int, hi: int) -> list[tuple[int, int]]:
    """A protocol range cut so that TCP (6) and UDP (17) stand alone."""
    cuts = sorted({lo, hi + 1, *(p for q in PORTED if lo <= q <= hi for p in (q, q + 1))})
    return [(a, b - 1) for a, b in pairwise(cuts)]


def may_touch(box: Box, around: Hull) -> bool:
    """A cheap necessary condition for a box to meet a set whose packets lie within ``around``."""
    if not _overlaps(merge_ranges(list(box.protocols)), around.protocols):
        return False
    only_ported = all((lo, hi) in ((6, 6), (17, 17)) for lo, hi in box.protocols)
    if only_ported and not _overlaps(merge_ranges(list(box.ports)), around.ports):
        return False
    peer = box.peer
    return (
        _overlaps(peer.v4, around.v4)
        or _overlaps(peer.v6, around.v6)
        or (around.symbols and any(s.cofinite or s.names for _, s in peer.symbols))
    )


def _sets_meet(a: PeerSet, b: PeerSet) -> bool:
    if _overlaps(a.v4, b.v4) or _overlaps(a.v6, b.v6):
        return True
    theirs = dict(b.symbols)
    for family, mine in a.symbols:
        other = theirs.get(family)
        if other is None:
            continue
        if mine.cofinite and other.cofinite:
            return True
        if mine.cofinite or other.cofinite:
            finite, co = (other, mine) if mine.cofinite else (mine, other)
            if finite.names - co.names:
                return True
        elif mine.names & other.names:
            return True
    return False


def boxes_meet(a: Box, b: Box) -> bool:
    """Two boxes share a packet: exact, from their ranges (ports bind TCP and UDP only)."""
    single = len(a.protocols) == 1 and a.protocols == b.protocols and a.protocols[0] in ((6, 6), (17, 17))
    if single and len(a.ports) == 1 and len(b.ports) == 1:  # the common case: one protocol, one port range each
        (alo, ahi), (blo, bhi) = a.ports[0], b.ports[0]
        if ahi < blo or bhi < alo:
            return False
        return _sets_meet(a.peer, b.peer) and _sets_meet(a.local, b.local)
    common = _intersect(merge_ranges(list(a.protocols)), merge_ranges(list(b.protocols)))
    if not common:
        return False
    if not all((lo, hi) in ((6, 6), (17, 17)) for lo, hi in _split_all(common)):
        pass  # a protocol without ports is shared: every port of it is in both
    elif not _overlaps(merge_ranges(list(a.ports)), merge_ranges(list(b.ports))):
        return False
    return _sets_meet(a.peer, b.peer) and _sets_meet(a.local, b.local)


def _intersect(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _split_all(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [piece for lo, hi in ranges for piece in _split_ported(lo, hi)]


def _overlaps(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> bool:
    """Two sorted lists of inclusive ranges share a point."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False


@dataclass(frozen=True)
class Hull:
    """Bounds of a set: its protocols, ports and peer ranges (symbols: whether it holds any)."""

    protocols: tuple[tuple[int, int], ...]
    ports: tuple[tuple[int, int], ...]
    v4: tuple[tuple[int, int], ...]
    v6: tuple[tuple[int, int], ...]
    symbols: bool


def hull(node: Node) -> Hull | None:
    """The bounds of a set (None for the empty set's, or one too large to be worth bounding)."""
    if node is False:
        return None
    parts = slices(node) if not isinstance(node, bool) else []
    if node is True or len(parts) > 64:
        return Hull(((0, PROTOCOL_TOP),), ((0, PORT_TOP),), ((0, V4_TOP),), ((0, V6_TOP),), True)
    return Hull(
        merge_ranges([p.protocols for p in parts]),
        merge_ranges([r for p in parts for r in p.ports]),
        merge_ranges([r for p in parts for r in p.peer.v4]),
        merge_ranges([r for p in parts for r in p.peer.v6]),
        any(s.cofinite or s.names for p in parts for _, s in p.peer.symbols),
    )


def gather(boxes: Iterable[Box]) -> list[Box]:
    """Boxes that admit the same union, fewer of them: peers merged where protocols and ports agree,
    then ports merged where protocols and peers agree (one rule per CIDR, one rule per port, alike)."""
    by_ports: dict[tuple[PeerSet, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]], list[PeerSet]] = {}
    for b in boxes:
        by_ports.setdefault((b.local, b.protocols, b.ports), []).append(b.peer)
    by_peer: dict[tuple[PeerSet, tuple[tuple[int, int], ...], PeerSet], list[tuple[int, int]]] = {}
    for (local, protocols, ports), peers in by_ports.items():
        by_peer.setdefault((local, protocols, union_sets(peers)), []).extend(ports)
    return [Box(local, protocols, merge_ranges(ports), peer) for (local, protocols, peer), ports in by_peer.items()]


# --- set operations ---------------------------------------------------------------------------------------------------


def union(a: Node, b: Node) -> Node:
    return _apply(a, b, 0)


def intersection(a: Node, b: Node) -> Node:
    return _apply(a, b, 1)


def difference(a: Node, b: Node) -> Node:
    return _apply(a, b, 2)


def subset(a: Node, b: Node) -> bool:
    return difference(a, b) is False


def union_all(nodes: Iterable[Node]) -> Node:
    """The union of many sets, combined pairwise so that no set is merged into a large one more than log n times."""
    items: list[Node] = [n for n in nodes if n is not False]
    while len(items) > 1:
        items = [union(items[i], items[i + 1]) if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0] if items else False


_BOOL: tuple[Callable[[bool, bool], bool], ...] = (
    lambda x, y: x or y,
    lambda x, y: x and y,
    lambda x, y: x and not y,
)


@lru_cache(maxsize=1 << 16)
def _apply(a: Node, b: Node, op: int) -> Node:
    if isinstance(a, bool) and isinstance(b, bool):
        return _BOOL[op](a, b)
    if op == 0:
        if a is True or b is False:
            return a
        if b is True or a is False:
            return b
    elif op == 1:
        if a is False or b is True:
            return a
        if b is False or a is True:
            return b
    else:
        if a is False or b is True:
            return False
        if b is False:
            return a
    if a == b:
        return False if op == 2 else a
    if isinstance(a, Seg) or isinstance(b, Seg):
        return _apply_seg(_as_seg(a), _as_seg(b), op)
    return _apply_addr(_as_addr(a), _as_addr(b), op)


def _as_seg(n: Node) -> Seg:
    return n if isinstance(n, Seg) else Seg((0,), (n,))


def _as_addr(n: Node) -> Addr:
    if isinstance(n, Addr):
        return n
    assert isinstance(n, bool)
    return Addr(n, n, tuple((n, ()) for _ in FAMILIES))


def _apply_seg(a: Seg, b: Seg, op: int) -> Node:
    sa, va, sb, vb = a.starts, a.vals, b.starts, b.vals
    i = j = 0
    starts: list[int] = []
    vals: list[Node] = []
    na, nb = len(sa), len(sb)
    while i < na or j < nb:
        if j >= nb or (i < na and sa[i] < sb[j]):
            s = sa[i]
            i += 1
        elif i >= na or sb[j] < sa[i]:
            s = sb[j]
            j += 1
        else:
            s = sa[i]
            i += 1
            j += 1
        starts.append(s)
        vals.append(_apply(va[i - 1], vb[j - 1], op))
    return seg(starts, vals)


def _apply_addr(a: Addr, b: Addr, op: int) -> Node:
    fams: list[Family] = []
    for (da, na), (db, nb) in zip(a.syms, b.syms, strict=True):
        ma, mb = dict(na), dict(nb)
        names = sorted(ma.keys() | mb.keys())
        fams.append((_apply(da, db, op), tuple((n, _apply(ma.get(n, da), mb.get(n, db), op)) for n in names)))
    return addr(_apply(a.v4, b.v4, op), _apply(a.v6, b.v6, op), fams)


# --- reading a set back ------------------------------------------------------------------------------------------------


def pieces(node: Node, top: int) -> Iterator[tuple[int, int, Node]]:
    """(first, last, child) of an interval level, the constant node as one piece."""
    if isinstance(node, Seg):
        ends = [*node.starts[1:], top + 1]
        for s, e, v in zip(node.starts, ends, node.vals, strict=True):
            yield s, e - 1, v
    else:
        yield 0, top, node


def regions(node: Node) -> list[tuple[PeerSet, Node]]:
    """An address level as (region, child) pairs, one per distinct child (``False`` left out)."""
    if not isinstance(node, Addr):
        return [] if node is False else [(EVERY_PEER, node)]
    v4: dict[Node, list[tuple[int, int]]] = {}
    v6: dict[Node, list[tuple[int, int]]] = {}
    cofinite: dict[Node, dict[str, frozenset[str]]] = {}  # child → family → the names its default leaves out
    named: dict[Node, dict[str, set[str]]] = {}  # child → family → names mapped to it
    for ranges, value, top in ((v4, node.v4, V4_TOP), (v6, node.v6, V6_TOP)):
        for lo, hi, child in pieces(value, top):
            if child is not False:
                ranges.setdefault(child, []).append((lo, hi))
    for family, (default, names) in zip(FAMILIES, node.syms, strict=True):
        if default is not False:
            cofinite.setdefault(default, {})[family] = frozenset(n for n, _ in names)
        for name, child in names:
            if child is not False:
                named.setdefault(child, {}).setdefault(family, set()).add(name)
    out = []
    for child in dict.fromkeys([*v4, *v6, *cofinite, *named]):
        syms: list[tuple[str, Symbols]] = []
        for family in FAMILIES:
            mine = frozenset(named.get(child, {}).get(family, ()))
            if family in cofinite.get(child, {}):
                syms.append((family, Symbols(True, cofinite[child][family] - mine)))
            elif mine:
                syms.append((family, Symbols(False, mine)))
        out.append((PeerSet(tuple(v4.get(child, ())), tuple(v6.get(child, ())), tuple(syms)), child))
    return out


@dataclass(frozen=True)
class Slice:
    """A maximal part of a set: these local ends, protocols and ports admit exactly these peers."""

    local: PeerSet
    protocols: tuple[int, int]
    ports: tuple[tuple[int, int], ...]
    peer: PeerSet


def slices(node: Node) -> list[Slice]:
    """The set listed as slices; ports with equal peers are gathered into one slice."""
    out: list[Slice] = []
    for local, below in regions(node):
        for p_lo, p_hi, by_port in pieces(below, PROTOCOL_TOP):
            if by_port is False:
                continue
            gathered: dict[Node, list[tuple[int, int]]] = {}
            for lo, hi, peer in pieces(by_port, PORT_TOP):
                if peer is not False:
                    gathered.setdefault(peer, []).append((lo, hi))
            for peer, ports in gathered.items():
                for region, leaf in regions(peer):
                    if leaf is True:
                        out.append(Slice(local, (p_lo, p_hi), tuple(ports), region))
    return out


def contains(node: Node, local: PeerSet, protocol: int, port: int, peer: PeerSet) -> bool:
    """Every packet of the box (local × protocol × port × peer) is in the set."""
    box = Box(local, ((protocol, protocol),), ((port, port),), peer).node()
    return subset(box, node)
