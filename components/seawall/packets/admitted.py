"""*Admitted*: the exact set of packets each role lets through, per direction, for both clouds.

Rules arrive cloud-neutral (:class:`PacketRule`); each cloud's semantics is applied here:

- **AWS**: security groups only allow, so a role admits the union of the allow rules of every
  group it holds.
- **Azure**: within one NSG the first rule by priority that matches decides, followed by the
  platform's default rules (``AllowVnetInBound``, ``AllowAzureLoadBalancerInBound``,
  ``DenyAllInBound``; ``AllowVnetOutBound``, ``AllowInternetOutBound``, ``DenyAllOutBound``).
  Where two NSGs are tagged for one role, the role admits what either admits: a plan does not say
  which subnets or interfaces each is attached to, so a member may sit behind either alone (the
  upper bound; a decoy deny-all NSG must not cancel an allow added to the real one).

Anything the model cannot evaluate is an :class:`Unknown`, carried beside the sets and never
read as "no change" (``seawall diff`` counts an unknown as broadening unless both sides
hold the same one).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import combinations
from typing import Any, Literal

from seawall.packets.measure import PUBLIC_TAGS
from seawall.packets.members import NO_CIDRS, Ends, ends_meet, ends_node, lifted, said
from seawall.packets.space import (
    ALL_ADDRESSES,
    EVERY_PEER,
    Box,
    Hull,
    Node,
    PeerSet,
    Symbols,
    boxes_meet,
    difference,
    gather,
    hull,
    intersection,
    may_touch,
    slices,
    symbol,
    union,
    union_all,
    union_sets,
)

Direction = Literal["in", "out"]
ALL_PROTOCOLS = ((0, 255),)
ALL_PORTS = ((0, 65535),)
PROTOCOL_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "esp": 50, "ah": 51, "icmpv6": 58, "58": 58}

# Azure service tags that stand for addresses or ASGs; other tags are symbols of their own.
VIRTUAL_NETWORK = union_sets(
    [symbol("tag", "VirtualNetwork"), PeerSet(symbols=(("role", Symbols(True)), ("group", Symbols(True))))]
)
AZURE_LOAD_BALANCER = symbol("tag", "AzureLoadBalancer")
# Azure's Internet: the address space outside the virtual network, Azure's own public space included,
# so every service tag but the two that are not public space (Storage, AzureCloud… are inside it).
INTERNET = union_sets([ALL_ADDRESSES, PeerSet(symbols=(("tag", PUBLIC_TAGS),))])
KNOWN_TAGS = {"virtualnetwork": "VirtualNetwork", "azureloadbalancer": "AzureLoadBalancer"}


def azure_prefix(text: str) -> PeerSet | None:
    """``*``, ``Internet``, ``VirtualNetwork``, ``AzureLoadBalancer`` or another tag; None for a CIDR."""
    folded = text.strip().casefold()
    if folded in ("*", "any"):
        return EVERY_PEER
    if folded == "internet":
        return INTERNET
    if folded == "virtualnetwork":
        return VIRTUAL_NETWORK
    if folded == "azureloadbalancer":
        return AZURE_LOAD_BALANCER
    if "/" in folded or ":" in folded or folded[:1].isdigit():
        return None
    return symbol("tag", KNOWN_TAGS.get(folded, text.strip()))


def protocol_ranges(text: str) -> tuple[tuple[int, int], ...] | None:
    """An AWS ``ipProtocol`` or Azure ``protocol`` as protocol numbers; None when it is not one."""
    folded = str(text).strip().casefold()
    if folded in ("-1", "all", "*"):
        return ALL_PROTOCOLS
    if folded in PROTOCOL_NUMBERS:
        n = PROTOCOL_NUMBERS[folded]
        return ((n, n),)
    if folded.isdigit() and int(folded) <= 255:
        return ((int(folded), int(folded)),)
    return None


def box(
    protocols: tuple[tuple[int, int], ...],
    ports: tuple[tuple[int, int], ...],
    peer: PeerSet,
    local: PeerSet = EVERY_PEER,
) -> Box:
    """A rule's packets; its ports bind TCP and UDP only (:meth:`Box.node`)."""
    return Box(local, protocols, ports, peer)


@dataclass(frozen=True)
class PacketRule:
    label: str  # AWS: the rule's logical name or id; Azure: nsg/rule
    role: str
    direction: Direction
    allow: bool
    box: Box
    priority: int | None = None  # Azure only
    nsg: str = ""  # Azure: the NSG whose first-match order the rule takes part in
    ids: tuple[str, ...] = ()  # the catalogue ids the rule cites
    default: bool = False  # one of Azure's default rules
    cidrs: tuple[PeerSet, PeerSet] | None = None  # Azure: the CIDRs the local and far ends name (see members)


RULES_NAMED = 3  # the rules a members' line names before "and N more"
SENTENCES = 3  # the parts of what members newly get that a line says before "and N more"
Within = tuple[Ends, ...] | None  # the rules whose packets a question about members is confined to

# The key of an unknown the model reads approximately (a rule's source ports, an unreadable priority,
# protocol or ports): the same one on both sides does not cancel when the rules around it change.
INEXACT = "inexact::"


@dataclass(frozen=True)
class Unknown:
    """Something that can change what passes and that the model cannot evaluate."""

    role: str | None
    key: str  # identity across two models: the same key on both sides is "the same unknown"
    text: str


class Decider:
    """The packets one rule decides (the first match for Azure), and how.

    AWS rules decide what their box holds; the node is built only when asked, and a cheap test on
    the box (protocols, ports, peer ranges) rules most deciders out before any set is built.
    """

    __slots__ = ("_node", "allow", "box", "default", "ids", "label")

    def __init__(
        self,
        label: str,
        allow: bool,
        ids: tuple[str, ...],
        node: Node | None = None,
        default: bool = False,
        box: Box | None = None,
    ) -> None:
        self.label, self.allow, self.ids, self.default = label, allow, ids, default
        self._node, self.box = node, box

    @property
    def node(self) -> Node:
        if self._node is None:
            assert self.box is not None
            self._node = self.box.node()
        return self._node

    def may_touch(self, hull: Hull | None) -> bool:
        """False when the rule's box cannot meet packets within ``hull`` (then no set needs building)."""
        return self.box is None or hull is None or may_touch(self.box, hull)


class RoleSet:
    """What one role admits in one direction, built when first asked.

    ``signature`` is the content of the rules that decide it: two role sets with the same
    signature admit the same packets, so a diff compares them without building either. AWS
    sets keep their rules' boxes (``boxes``), which lets a diff build only what a change touches.
    """

    def __init__(
        self,
        role: str,
        direction: Direction,
        evaluate: Callable[[], tuple[Node, list[Decider]]],
        signature: Any,
        boxes: tuple[Box, ...] | None = None,
        deciders: list[Decider] | None = None,
        rules: tuple[PacketRule, ...] = (),
    ) -> None:
        self.role, self.direction = role, direction
        self.rules = rules  # Azure: its rules, to name the ones that admit what members_news finds
        self.memo: dict[Any, tuple[Any, Node]] = {}  # members' differences from another side, asked twice
        # Azure: each NSG's own set and its set with members' addresses (a role may be under several)
        self.nsgs: dict[str, tuple[Callable[[], Node], Callable[[Within, Join], Node]]] = {}
        self._evaluate = evaluate
        self._done: tuple[Node, list[Decider]] | None = None
        self.signature = signature
        self.boxes = boxes
        self._deciders = deciders  # known without evaluating (AWS: one per rule, its box)

    def _get(self) -> tuple[Node, list[Decider]]:
        if self._done is None:
            self._done = self._evaluate()
        return self._done

    @property
    def node(self) -> Node:
        return self._get()[0]

    @property
    def deciders(self) -> list[Decider]:
        return self._deciders if self._deciders is not None else self._get()[1]

    def within(self, region: Node, boxes: list[Box]) -> Node:
        """What the role admits inside ``region`` (given as ``boxes`` too); AWS builds only the rules that meet it."""
        if self.boxes is None or self._done is not None:
            return intersection(self.node, region)
        meeting = [b for b in self.boxes if any(boxes_meet(b, r) for r in boxes)]
        return intersection(union_all(b.node() for b in gather(meeting)), region)

    def deciding(self, packets: Node, allow: bool = True, among: Collection[Box] | None = None) -> list[Decider]:
        """The rules that decide some of ``packets`` (allow rules, or deny and default rules).

        A rule known by its box (AWS) is tested against the slices of ``packets`` from ranges alone;
        a first-match rule (Azure) by its decided set. ``among``: the only boxes that can decide
        them (a diff knows the packets one side admits come from the rules the other lacks).
        """
        around = hull(packets)
        parts = [Box(p.local, (p.protocols,), p.ports, p.peer) for p in slices(packets)] if packets is not False else []
        few = len(parts) <= 4  # then the exact test is as cheap as the bounds test
        out = []
        for d in self.deciders:
            if d.allow != allow or (among is not None and d.box not in among):
                continue
            if d.box is not None and d._node is None and len(parts) <= 256:
                if (few or d.may_touch(around)) and any(boxes_meet(d.box, part) for part in parts):
                    out.append(d)
                continue
            if d.may_touch(around) and intersection(d.node, packets) is not False:
                out.append(d)
        return out


@dataclass
class Admitted:
    """What every role admits, per direction, and what could not be evaluated."""

    cloud: str  # aws | azure | "" (no rules)
    sets: dict[tuple[str, Direction], RoleSet]
    unknown: tuple[Unknown, ...] = ()

    def get(self, role: str, direction: Direction) -> Node:
        found = self.sets.get((role, direction))
        return found.node if found else False

    def roles(self) -> list[tuple[str, Direction]]:
        return sorted(self.sets)


def azure_defaults(direction: Direction) -> list[PacketRule]:
    """The rules Azure evaluates after every NSG's own (priorities 65000–65500), as packet rules."""
    every = (ALL_PROTOCOLS, ALL_PORTS)
    if direction == "in":
        made = [
            ("AllowVnetInBound", True, box(*every, VIRTUAL_NETWORK, VIRTUAL_NETWORK)),
            ("AllowAzureLoadBalancerInBound", True, box(*every, AZURE_LOAD_BALANCER, EVERY_PEER)),
            ("DenyAllInBound", False, box(*every, EVERY_PEER, EVERY_PEER)),
        ]
    else:
        made = [
            ("AllowVnetOutBound", True, box(*every, VIRTUAL_NETWORK, VIRTUAL_NETWORK)),
            ("AllowInternetOutBound", True, box(*every, INTERNET, EVERY_PEER)),
            ("DenyAllOutBound", False, box(*every, EVERY_PEER, EVERY_PEER)),
        ]
    return [
        PacketRule(f"{name} (Azure default)", "", direction, allow, b, 65000 + n, default=True)
        for n, (name, allow, b) in enumerate(made)
    ]


def anchors(nsg: str, role: str) -> list[PacketRule]:
    """Rules that match nothing, one per direction: an NSG with no rules of a direction still has Azure's defaults."""
    empty = Box(EVERY_PEER, (), ALL_PORTS, EVERY_PEER)
    return [PacketRule(f"{nsg}/(no rules)", role, d, False, empty, 4097, nsg) for d in ("in", "out")]


def build(cloud: str, rules: Iterable[PacketRule], unknown: Iterable[Unknown] = ()) -> Admitted:
    """The model of one firewall: AWS rules are a union per role, Azure rules a first match per NSG."""
    by_role: dict[tuple[str, Direction], list[PacketRule]] = {}
    for rule in rules:
        by_role.setdefault((rule.role, rule.direction), []).append(rule)
    sets: dict[tuple[str, Direction], RoleSet] = {}
    for (role, direction), found in sorted(by_role.items()):
        if cloud == "azure":
            sets[role, direction] = _azure_role(role, direction, found)
        else:
            allows = [r for r in found if r.allow]
            boxes = tuple(r.box for r in allows)
            sets[role, direction] = RoleSet(
                role,
                direction,
                _union_of(allows),
                ("aws", tuple((r.label, r.ids, r.box) for r in allows)),
                boxes,
                [Decider(r.label, True, r.ids, box=r.box) for r in allows],
            )
    return Admitted(cloud, sets, tuple(sorted(set(unknown), key=lambda u: (u.role or "", u.key))))


def _union_of(allows: list[PacketRule]) -> Callable[[], tuple[Node, list[Decider]]]:
    """AWS: the union of the allow rules, and each rule deciding what its box holds."""

    def evaluate() -> tuple[Node, list[Decider]]:
        node = union_all(b.node() for b in gather(r.box for r in allows))
        return node, [Decider(r.label, True, r.ids, box=r.box) for r in allows]

    return evaluate


def _azure_role(role: str, direction: Direction, rules: list[PacketRule]) -> RoleSet:
    by_nsg: dict[str, list[PacketRule]] = {}
    for rule in rules:
        by_nsg.setdefault(rule.nsg, []).append(rule)

    def evaluate() -> tuple[Node, list[Decider]]:
        node: Node | None = None
        deciders: list[Decider] = []
        for nsg in sorted(by_nsg):
            admitted, decided = _first_match(nsg, direction, by_nsg[nsg])
            deciders += decided
            node = admitted if node is None else union(node, admitted)
        return (node if node is not None else False), deciders

    signature = tuple(
        (
            nsg,
            tuple((r.priority or 0, r.label, r.allow, r.ids, r.box, r.cidrs) for r in sorted(by_nsg[nsg], key=_order)),
        )
        for nsg in sorted(by_nsg)
    )

    found = RoleSet(role, direction, evaluate, ("azure", signature), rules=tuple(rules))
    found.nsgs = {
        nsg: (
            lambda nsg=nsg: _first_match(nsg, direction, by_nsg[nsg])[0],  # type: ignore[misc]
            lambda within=None, join=None, nsg=nsg: _members_first_match(  # type: ignore[misc]
                direction, by_nsg[nsg], within, join
            ),
        )
        for nsg in sorted(by_nsg)
    }
    return found


def _ends(rule: PacketRule) -> Ends:
    local, peer = rule.cidrs or (NO_CIDRS, NO_CIDRS)
    b = rule.box
    return Ends(b.local, b.protocols, b.ports, b.peer, local, peer)


# One NSG's evaluation with members' addresses, by the content of its rules (both sides of a diff, and
# every combination of a role's NSGs, ask for the same ones).
_MEMBERS_EVALUATED: dict[tuple[Any, ...], tuple[Node, tuple[tuple[int, Node], ...]]] = {}


def _members_first_match(
    direction: Direction, rules: list[PacketRule], within: Within = None, join: Join = None
) -> Node:
    return _members_evaluated(direction, rules, within, join)[0]


def _members_deciders(direction: Direction, rules: list[PacketRule], within: Within) -> list[tuple[PacketRule, Node]]:
    """The allow rules (Azure's defaults after the NSG's own) with what each decides, members' addresses counted."""
    chain = [*sorted(rules, key=_order), *azure_defaults(direction)]
    return [(chain[i], node) for i, node in _members_evaluated(direction, rules, within, None)[1]]


def _members_evaluated(
    direction: Direction, rules: list[PacketRule], within: Within, join: Join
) -> tuple[Node, tuple[tuple[int, Node], ...]]:
    """First match with members' addresses: each rule decides what it holds and no earlier rule does.

    ``within``: only the packets of these rules' boxes are asked for (what a change can move), so only
    the rules that meet them take part; the first match of a packet there is the same among them.
    ``join``: members of two groups at once (see :func:`joined`).
    """
    ordered = sorted(rules, key=_order)
    key = (direction, tuple((r.allow, r.box, r.cidrs) for r in ordered), within, join)
    found = _MEMBERS_EVALUATED.get(key)
    if found is not None:
        return found
    region = union_all(ends_node(w) for w in within) if within is not None else True
    inside: dict[Ends, Node] = {}

    def node_of(ends: Ends) -> Node:  # a rule's packets within the region: smaller sets, the same answer there
        found = inside.get(ends)
        if found is None:
            found = inside[ends] = intersection(ends_node(ends), region)
        return found

    earlier = _Earlier(ends_meet, node_of)
    allowed: list[tuple[int, Node]] = []  # by position in the chain: rules of equal content share an entry
    for i, rule in enumerate([*ordered, *azure_defaults(direction)]):
        ends = joined(_ends(rule), join)
        if within is not None and not any(ends_meet(ends, w) for w in within):
            continue
        effective = difference(node_of(ends), earlier.covering(ends))
        earlier.add(ends)
        if rule.allow and effective is not False:
            allowed.append((i, effective))
    result = (union_all(node for _, node in allowed), tuple(allowed))
    if len(_MEMBERS_EVALUATED) > 512:
        _MEMBERS_EVALUATED.clear()
    _MEMBERS_EVALUATED[key] = result
    return result


def _order(rule: PacketRule) -> tuple[int, str]:
    return (rule.priority if rule.priority is not None else 0, rule.label)


# One NSG's evaluation, by the content of its rules: the NSGs a change leaves alone (most of them,
# in a diff of two plans) are evaluated once for both sides.
_EVALUATED: dict[tuple[Any, ...], tuple[Node, list[Decider]]] = {}


def _first_match(nsg: str, direction: Direction, rules: list[PacketRule]) -> tuple[Node, list[Decider]]:
    ordered = sorted(rules, key=lambda r: (r.priority if r.priority is not None else 0, r.label))
    key = (nsg, direction, tuple((r.label, r.allow, r.priority, r.ids, r.box) for r in ordered))
    found = _EVALUATED.get(key)
    if found is not None:
        return found
    allowed: list[Node] = []
    deciders: list[Decider] = []
    earlier = _Earlier()
    for rule in [*ordered, *azure_defaults(direction)]:
        # First match: a rule decides what its box holds and no earlier rule's box does. Only the
        # earlier boxes that meet it matter, and an index by port finds them without building a set.
        effective = difference(rule.box.node(), earlier.covering(rule.box))
        earlier.add(rule.box)
        if effective is False:
            continue
        if rule.allow:
            allowed.append(effective)
        label = rule.label if not rule.default else f"{nsg}/{rule.label}"
        deciders.append(Decider(label, rule.allow, rule.ids, effective, rule.default, box=rule.box))
    if len(_EVALUATED) > 512:
        _EVALUATED.clear()
    _EVALUATED[key] = result = (union_all(allowed), deciders)
    return result


class _Earlier:
    """The boxes of the rules evaluated so far in one NSG, indexed by port, with a running union.

    Boxes are the model's (:class:`Box`) or, for the sets with members' addresses, :class:`Ends`:
    ``meets`` tells whether two may share a packet (exact or wider), ``node`` builds one's set.
    """

    NARROW = 16  # a box on at most this many TCP/UDP ports is indexed by each of them

    def __init__(self, meets: Callable[[Any, Any], bool] = boxes_meet, node: Callable[[Any], Node] = Box.node) -> None:
        self.boxes: list[Any] = []
        self.by_port: dict[int, list[int]] = {}
        self.wide: list[int] = []
        self.union: tuple[int, Node] = (0, False)  # the union of the first n boxes
        self.meets, self.node = meets, node

    @staticmethod
    def _ports(box: Any) -> list[int] | None:
        if not all((lo, hi) in ((6, 6), (17, 17)) for lo, hi in box.protocols):
            return None
        span = sum(hi - lo + 1 for lo, hi in box.ports)
        return [p for lo, hi in box.ports for p in range(lo, hi + 1)] if span <= _Earlier.NARROW else None

    def add(self, box: Any) -> None:
        n = len(self.boxes)
        self.boxes.append(box)
        ports = self._ports(box)
        if ports is None:
            self.wide.append(n)
        else:
            for p in ports:
                self.by_port.setdefault(p, []).append(n)

    def covering(self, box: Any) -> Node:
        """The union of the earlier boxes that meet ``box`` (what it cannot decide any more)."""
        ports = self._ports(box)
        if ports is None:
            candidates: list[int] | set[int] = range(len(self.boxes))  # type: ignore[assignment]
        else:
            candidates = set(self.wide)
            for p in ports:
                candidates.update(self.by_port.get(p, ()))
        meeting = [i for i in sorted(candidates) if self.meets(self.boxes[i], box)]
        if len(meeting) <= 64:
            return union_all(self.node(self.boxes[i]) for i in meeting)
        done, node = self.union
        node = union(node, union_all(self.node(b) for b in self.boxes[done:]))
        self.union = (len(self.boxes), node)
        return node


# --- comparing two models ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """Packets one side admits and the other does not, for one role and direction."""

    role: str
    direction: Direction
    node: Node
    deciders: tuple[Decider, ...]  # the rules of the side that admits them (head for broadening)


@dataclass(frozen=True)
class Comparison:
    broadening: tuple[Change, ...]  # head − base
    narrowing: tuple[Change, ...]  # base − head
    unknown_added: tuple[Unknown, ...]  # unknowns of head that base does not hold
    unknown_removed: tuple[Unknown, ...]

    @property
    def broadens(self) -> bool:
        return bool(self.broadening or self.unknown_added)

    @property
    def equal(self) -> bool:
        return not (self.broadening or self.narrowing or self.unknown_added or self.unknown_removed)


def compare(base: Admitted, head: Admitted) -> Comparison:
    """head − base and base − head per role and direction, exactly; unknowns compared by identity.

    Role sets with the same rules are equal unbuilt; two AWS role sets (unions) are compared
    rule by rule: head − base is the union, over head's rules that base lacks, of each rule
    minus the base rules that meet it, so only what a change touches is built.
    """
    broadening, narrowing = [], []
    changed: list[tuple[str, Direction]] = []  # roles whose rules differ, whatever they admit
    news: list[Unknown] = []  # members that pass only for where their addresses are (Azure)
    for key in sorted(base.sets.keys() | head.sets.keys()):
        sa, sb = base.sets.get(key), head.sets.get(key)
        if sa is not None and sb is not None and sa.signature == sb.signature:
            continue
        changed.append(key)
        # Only the rules one side has and the other lacks can admit what the other does not.
        gained: Collection[Box] | None = None
        lost: Collection[Box] | None = None
        several = _several(sa, sb)
        crowd = sorted({*nsg_alignment(sa, sb)[0].values(), *nsg_alignment(sa, sb)[1].values()})
        if len(crowd) > MOST_NSGS:
            text = (
                f"{key[0]} ({key[1]}): {len(crowd)} NSGs are tagged for the role and its rules changed; seawall "
                f"judges at most {MOST_NSGS} together (which apply to which interface is not in the plan)"
            )
            news.append(Unknown(key[0], f"nsgs::{key[0]}::{key[1]}", text))
        if sa is not None and sb is not None and sa.boxes is not None and sb.boxes is not None:
            (more, gained), (less, lost) = _union_minus(sb.boxes, sa.boxes), _union_minus(sa.boxes, sb.boxes)
        elif several:
            more, less = _behind_some(sb, sa, several), _behind_some(sa, sb, several)
        else:
            a, b = base.get(*key), head.get(*key)
            more, less = (False, False) if a == b else (difference(b, a), difference(a, b))
        if more is not False:
            broadening.append(Change(*key, more, tuple(_responsible(sb, more, gained))))
        news += members_unknowns(sa, sb, more)
        if less is not False:
            narrowing.append(Change(*key, less, tuple(_responsible(sa, less, lost))))
    base_keys = {u.key for u in base.unknown}
    head_keys = {u.key for u in head.unknown}
    added = [u for u in head.unknown if u.key not in base_keys] + news
    # A rule read approximately is exact only while nothing around it changes: an allow read as every
    # source port hides a widening of its ports; a deny read so shadows an allow that real clients pass.
    inexact: dict[str, list[Unknown]] = {}
    for u in head.unknown:
        if u.key.startswith(INEXACT) and u.key in base_keys and u.role is not None:
            inexact.setdefault(u.role, []).append(u)
    # Base read wider than it is (an allow's source ports, an ICMP type) hides what head adds beyond it.
    added += [
        Unknown(u.role, f"was-{u.key}", f"before this change, {u.text}")
        for u in base.unknown
        if u.key.startswith(INEXACT) and u.key not in head_keys
    ]
    for role, direction in changed:
        found = inexact.get(role) or inexact.get(role.rpartition(":")[2])  # aws:gateway in a plan of both clouds
        if found:
            what = "; ".join(u.text for u in found[:2]) + (f" and {len(found) - 2} more" if len(found) > 2 else "")
            text = f"{role} ({direction}): its rules changed around what seawall reads approximately ({what})"
            added.append(Unknown(role, f"changed-around::{role}::{direction}", text))
    return Comparison(
        tuple(broadening),
        tuple(narrowing),
        tuple(added),
        tuple(u for u in base.unknown if u.key not in head_keys),
    )


def _union_minus(mine: tuple[Box, ...], theirs: tuple[Box, ...]) -> tuple[Node, set[Box]]:
    """(∪ mine) − (∪ theirs), building only the boxes of ``mine`` not in ``theirs`` and the ones they meet;
    with those boxes of ``mine`` (the only ones that can admit any of it)."""
    known = set(theirs)
    new = {b: None for b in mine if b not in known}
    if not new:
        return False, set()
    index = _Earlier()
    for b in gather(theirs):  # the same union in fewer boxes: a site's rules on many ports become one
        index.add(b)
    parts = [difference(b.node(), index.covering(b)) for b in gather(new)]
    return union_all(parts), set(new)


MOST_NSGS = 4  # NSGs of one role judged in every combination (2**4 - 1 of them); beyond, their union


def nsg_alignment(one: RoleSet | None, other: RoleSet | None) -> tuple[dict[str, str], dict[str, str]]:
    """Each side's NSG names to names both sides share: a role's one NSG on each side is the same NSG
    whatever its name (as the model reads it), and so is an NSG renamed with the same rules."""
    mine = {n: n for n in (one.nsgs if one is not None else ())}
    theirs = {n: n for n in (other.nsgs if other is not None else ())}
    if one is None or other is None:
        return mine, theirs
    if len(mine) == 1 and len(theirs) == 1:
        key = min(*mine, *theirs)
        return {n: key for n in mine}, {n: key for n in theirs}
    lone_mine: dict[tuple[Any, ...], list[str]] = {}
    lone_theirs: dict[tuple[Any, ...], list[str]] = {}
    for found, keys, lone, others in ((one, mine, lone_mine, theirs), (other, theirs, lone_theirs, mine)):
        for n in sorted(keys):
            if n not in others:
                lone.setdefault(_nsg_content(found, n), []).append(n)
    for content, listed in lone_mine.items():  # paired in name order, one key for both: the same either way round
        for a, b in zip(listed, lone_theirs.get(content, []), strict=False):
            mine[a] = theirs[b] = min(a, b)
    return mine, theirs


def _aligned(one: RoleSet | None, other: RoleSet | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each side's NSGs (their sets) by the names both sides share (:func:`nsg_alignment`)."""
    names = nsg_alignment(one, other)
    return tuple(  # type: ignore[return-value]
        {names[i][n]: found.nsgs[n] for n in found.nsgs} if found is not None else {}
        for i, found in enumerate((one, other))
    )


def _nsg_content(found: RoleSet, nsg: str) -> tuple[Any, ...]:
    return tuple(
        sorted(
            ((r.priority or 0), r.label.partition("/")[2], r.allow, r.box, r.cidrs) for r in found.rules if r.nsg == nsg
        )
    )


def _several(base: RoleSet | None, head: RoleSet | None) -> list[str] | None:
    """The NSG names of an Azure role that has more than one NSG on either side (None: one each, or AWS)."""
    a, b = _aligned(base, head)
    names = sorted({*a, *b})
    sides = [len(x.nsgs) for x in (base, head) if x is not None]
    if not sides or max(sides) < 2 or len(names) > MOST_NSGS:
        return None
    return names


def _behind_some(
    mine: RoleSet | None,
    theirs: RoleSet | None,
    names: list[str],
    members: bool = False,
    within: Within = None,
    join: Join = None,
) -> Node:
    """What a member behind some combination of the role's NSGs gets from ``mine`` and not from ``theirs``.

    The plan does not say which NSGs apply to which interface: a member behind the NSGs S gets what
    every NSG of S admits (on a side that lacks all of S, nothing). The union of the differences over
    every S is exactly what some member could newly get; a difference of unions is not (an allow-all
    NSG on both sides would hide any change to the other).
    """
    out: Node = False
    nsgs = _aligned(mine, theirs)
    for size in range(1, len(names) + 1):
        for chosen in combinations(names, size):
            sets = []
            for found in nsgs:
                parts = [found[n][1](within, join) if members else found[n][0]() for n in chosen if n in found]
                node: Node = False
                for i, part in enumerate(parts):
                    node = part if i == 0 else intersection(node, part)
                sets.append(node)
            out = union(out, difference(sets[0], sets[1]))
    return out


def members_difference(base: RoleSet | None, head: RoleSet | None, join: Join = None) -> Node:
    """Azure, with members' addresses: what some member could get from head and not from base.

    ``join``: for members of two groups at once, at the first group's point (see :func:`joined`).
    """
    if head is None or not head.nsgs:
        return False
    remembered = head.memo.get((id(base), join))
    if remembered is not None and remembered[0] is base:
        return remembered[1]
    found = _members_difference(base, head, join)
    head.memo[(id(base), join)] = (base, found)
    return found


def _members_difference(base: RoleSet | None, head: RoleSet, join: Join) -> Node:
    within = _moved(base, head)
    if within is False:
        return False
    if within is not None and join is not None:
        within = tuple(dict.fromkeys(joined(w, join) for w in within))
    several = _several(base, head)
    if several:
        found = _behind_some(head, base, several, members=True, within=within, join=join)
    else:
        theirs = _members_of(base, within, join) if base is not None else False
        found = difference(_members_of(head, within, join), theirs)
    return found if join is None else intersection(found, _join_point(join))


def _members_of(found: RoleSet, within: Within, join: Join) -> Node:
    """What a role admits with members' addresses: the union of its NSGs' (one NSG, in seawall's plans)."""
    return union_all(evaluate(within, join) for _, evaluate in found.nsgs.values())


def _moved(base: RoleSet | None, head: RoleSet) -> Within | Literal[False]:
    """The rules one side has and the other lacks (only their packets can move); None: every packet can."""
    if base is None:
        return None
    key_head, key_base = nsg_alignment(head, base)
    if set(key_head.values()) != set(key_base.values()):
        return None
    mine, theirs = _ordered(head, key_head), _ordered(base, key_base)
    moved: list[PacketRule] = []
    for nsg in sorted(mine):
        # Rules both sides hold in the same order (a common subsequence) decide their packets alike; the
        # others (added, removed, changed, or moved past one another) are the only ones that can move any.
        a, b = mine[nsg], theirs[nsg]
        kept_a: set[int] = set()
        kept_b: set[int] = set()
        matcher = SequenceMatcher(None, [k for k, _ in a], [k for k, _ in b], autojunk=False)
        for block in matcher.get_matching_blocks():
            kept_a.update(range(block.a, block.a + block.size))
            kept_b.update(range(block.b, block.b + block.size))
        moved += [r for i, (_, r) in enumerate(a) if i not in kept_a]
        moved += [r for i, (_, r) in enumerate(b) if i not in kept_b]
    return tuple(dict.fromkeys(_ends(r) for r in moved)) if moved else False


# Members of two groups at once: an interface in two ASGs, an address in two service tags (Storage and
# Storage.WestEurope, AzureCloud). For a packet of such a member, the first rule matching either decides;
# two groups per end are enough to find every difference (the decisions on both sides come from at most
# two of a member's groups). A join names, per end, (group, other): the point of ``group`` then stands for
# members of both, each rule holding ``other`` holding ``group`` too.
Pair = tuple[tuple[str, str], tuple[str, str]]
Join = tuple[Pair | None, Pair | None] | None  # (local end, far end)
MOST_JOINS = 24  # joins judged per role and direction; beyond, "cannot judge"


def joined(ends: Ends, join: Join) -> Ends:
    """A rule's ends with each joined end's ``group`` added wherever it holds ``other``."""
    if join is None:
        return ends
    local, peer = ends.local, ends.peer
    if join[0] is not None:
        local = _join_end(local, join[0])
    if join[1] is not None:
        peer = _join_end(peer, join[1])
    if local is ends.local and peer is ends.peer:
        return ends
    return Ends(local, ends.protocols, ends.ports, peer, ends.local_cidrs, ends.peer_cidrs)


def _join_end(end: PeerSet, pair: Pair) -> PeerSet:
    (family, name), other = pair
    if _holds(end, *other) and not _holds(end, family, name):
        return union_sets([end, symbol(family, name)])
    return end


def _holds(end: PeerSet, family: str, name: str) -> bool:
    found = dict(end.symbols).get(family)
    return found is not None and ((name not in found.names) if found.cofinite else (name in found.names))


def _join_point(join: Join) -> Node:
    """Packets whose joined ends are their ``group``'s members (at any address)."""
    assert join is not None
    local = symbol(*join[0][0]) if join[0] is not None else EVERY_PEER
    peer = symbol(*join[1][0]) if join[1] is not None else EVERY_PEER
    return ends_node(Ends(local, ALL_PROTOCOLS, ALL_PORTS, peer))


def _joins(base: RoleSet | None, head: RoleSet) -> list[Join] | None:
    """The joins worth judging: per end, two named groups of one kind (ASGs; public service tags) that
    some rule tells apart each way; None when there are more than seawall judges."""
    within = _moved(base, head)
    if within is False:
        return []
    rules = [*head.rules, *(base.rules if base is not None else ()), *azure_defaults(head.direction)]
    ends = [_ends(r) for r in rules]
    per_end: list[list[Pair | None]] = []
    for side in ("local", "peer"):
        sets = [e.local if side == "local" else e.peer for e in ends]
        moving = sets if within is None else [w.local if side == "local" else w.peer for w in within]
        named = sorted(
            {
                (f, n)
                for p in sets
                for f, syms in p.symbols
                for n in syms.names
                if f in ("role", "group") or (f == "tag" and n not in ("VirtualNetwork", "AzureLoadBalancer"))
            }
        )
        # Which rules hold each group, as bits (rule i is bit i), among all rules and among the changed ones.
        held = {g: sum(1 << i for i, p in enumerate(sets) if _holds(p, *g)) for g in named}
        moving_held = {g: sum(1 << i for i, p in enumerate(moving) if _holds(p, *g)) for g in named}
        pairs: list[Pair | None] = [None]
        for a, b in combinations(named, 2):
            if (a[0] == "tag") != (b[0] == "tag"):
                continue  # an ASG's members are not in a public service tag
            # Some rule tells them apart each way, and a changed rule holds exactly one of them: a rule holding
            # both (or neither, matching by address) treats a member of both as a member of either, and the
            # rules no change touches keep their order, so a member of one group alone shows the change.
            if held[a] & ~held[b] and held[b] & ~held[a] and moving_held[a] ^ moving_held[b]:
                pairs.append((a, b))
                if len(pairs) > MOST_JOINS + 1:
                    return None
        per_end.append(pairs)
    joins: list[Join] = [(lo, pe) for lo in per_end[0] for pe in per_end[1] if lo is not None or pe is not None]
    return joins if len(joins) <= MOST_JOINS else None


def _ordered(found: RoleSet, names: dict[str, str]) -> dict[str, list[tuple[tuple[Any, ...], PacketRule]]]:
    """Each NSG's rules (by its shared name) in evaluation order, each by what it is: name, access, packets."""
    out: dict[str, list[tuple[tuple[Any, ...], PacketRule]]] = {}
    for r in sorted(found.rules, key=_order):
        out.setdefault(names.get(r.nsg, r.nsg), []).append(((r.label.partition("/")[2], r.allow, r.box, r.cidrs), r))
    return out


def members_unknowns(base: RoleSet | None, head: RoleSet | None, more: Node) -> list[Unknown]:
    """Azure: what head admits beyond base only for where members' addresses are, or, when nothing else
    about the role is said, for members of two groups at once (those lines would restate it)."""
    found = members_news(base, head, more)
    if found is not None:
        return [found]
    return members_of_two(base, head, more) if more is False else []


def members_news(base: RoleSet | None, head: RoleSet | None, more: Node) -> Unknown | None:
    """Azure: what head admits and base does not only because of where a network member's address is.

    The model reads CIDRs and tags apart; with members' addresses (:mod:`seawall.packets.members`)
    head − base may hold more: members at addresses a CIDR names. What the model's own difference
    already shows (its addresses read as every host there) is not said twice.
    """
    if head is None or not head.nsgs or (base is not None and not base.nsgs):
        return None
    delta = members_difference(base, head)
    if delta is False:
        return None
    shown = lifted((s.local, s.protocols, s.ports, s.peer) for s in slices(more)) if more is not False else False
    news = difference(delta, shown)
    if news is False:
        return None
    sentences = []
    for part in said(news)[:SENTENCES]:
        mine = f"{head.role} ({part.local})" if part.local else head.role
        if head.direction == "in":
            sentences.append(f"{part.what} on {mine} from {part.peer}")
        else:
            sentences.append(f"{part.what} from {mine} to {part.peer}")
    more_said = len(said(news)) - SENTENCES
    allowing = _allowing(base, head, news)
    by = f", by {', '.join(allowing[:RULES_NAMED])}" + (
        f" and {len(allowing) - RULES_NAMED} more" if len(allowing) > RULES_NAMED else ""
    )
    text = (
        f"{head.role} ({head.direction}): {'; '.join(sentences)}"
        + (f" and {more_said} more" if more_said > 0 else "")
        + f" would newly pass{by if allowing else ''}; a CIDR reaches the virtual network's members at those "
        "addresses, and the plan does not say which addresses the network holds"
    )
    return Unknown(head.role, f"members::{head.role}::{head.direction}::{text}", text)


def joined_differences(base: RoleSet | None, head: RoleSet | None) -> dict[Join, Node] | None:
    """Azure: what members of two groups at once could get from head and not from base, per join
    (:func:`joined`); None when there are more joins than seawall judges."""
    if head is None or not head.nsgs or (base is not None and not base.nsgs):
        return {}
    joins = _joins(base, head)
    if joins is None:
        return None
    found = {join: members_difference(base, head, join) for join in joins}
    return {join: node for join, node in found.items() if node is not False}


def members_of_two(base: RoleSet | None, head: RoleSet | None, more: Node) -> list[Unknown]:
    """Azure: what head admits and base does not only for members of two groups at once, beyond what
    members of one already show; "cannot judge" (the plan does not say who belongs to both)."""
    if head is None or base is None or not head.nsgs:
        return []  # a new role: all it admits is shown already
    found = joined_differences(base, head)
    key = f"joined::{head.role}::{head.direction}"
    if found is None:
        text = (
            f"{head.role} ({head.direction}): its changed rules tell apart more than {MOST_JOINS} pairs of groups; "
            "seawall does not judge what members of two at once would get"
        )
        return [Unknown(head.role, key, text)]
    out = []
    single = members_difference(base, head)
    shown = lifted((s.local, s.protocols, s.ports, s.peer) for s in slices(more)) if more is not False else False
    for join, node in sorted(found.items(), key=lambda item: repr(item[0])):
        assert join is not None
        news = difference(difference(node, single), shown)
        if news is False:
            continue
        parts = said(news)
        sentences = []
        for part in parts[:SENTENCES]:
            local, peer = part.local, part.peer
            if join[0] is not None:
                local = _both(local or f"{join[0][0][0]}:{join[0][0][1]}", join[0])
            if join[1] is not None:
                peer = _both(peer, join[1])
            mine = f"{head.role} ({local})" if local else head.role
            way = f"on {mine} from {peer}" if head.direction == "in" else f"from {mine} to {peer}"
            sentences.append(f"{part.what} {way}")
        more_said = f" and {len(parts) - SENTENCES} more" if len(parts) > SENTENCES else ""
        text = (
            f"{head.role} ({head.direction}): {'; '.join(sentences)}{more_said} would newly pass; the plan does not "
            "say which members belong to both groups (an interface in two ASGs, an address in two service tags)"
        )
        out.append(Unknown(head.role, f"{key}::{text}", text))
    return out


def _both(words: str, pair: Pair) -> str:
    """An end's words with the joined group read as the members of both."""
    (f1, n1), (f2, n2) = pair
    return words.replace(f"{f1}:{n1}", f"members of both {f1}:{n1} and {f2}:{n2}", 1)


def _allowing(base: RoleSet | None, head: RoleSet, news: Node) -> list[str]:
    """The allow rules of head that decide some of ``news``: the evaluation that found them says so."""
    within = _moved(base, head)
    out = []
    for nsg, rules in _by_nsg(head.rules).items():
        for rule, decided in _members_deciders(head.direction, rules, within or None):
            if intersection(decided, news) is not False:
                out.append(rule.label if not rule.default else f"{nsg}/{rule.label}")
    return sorted(set(out))


def _by_nsg(rules: Iterable[PacketRule]) -> dict[str, list[PacketRule]]:
    out: dict[str, list[PacketRule]] = {}
    for rule in rules:
        out.setdefault(rule.nsg, []).append(rule)
    return out


def _responsible(found: RoleSet | None, packets: Node, among: Collection[Box] | None = None) -> list[Decider]:
    return [] if found is None else found.deciding(packets, among=among)
