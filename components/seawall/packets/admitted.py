"""*Admitted*: the exact set of packets each role lets through, per direction, for both clouds.

Rules arrive cloud-neutral (:class:`PacketRule`); each cloud's semantics is applied here:

- **AWS**: security groups only allow, so a role admits the union of the allow rules of every
  group it holds.
- **Azure**: within one NSG the first rule by priority that matches decides, followed by the
  platform's default rules (``AllowVnetInBound``, ``AllowAzureLoadBalancerInBound``,
  ``DenyAllInBound``; ``AllowVnetOutBound``, ``AllowInternetOutBound``, ``DenyAllOutBound``).
  Where two NSGs apply to one role (a subnet's and a NIC's), a packet must pass both.

Anything the model cannot evaluate is an :class:`Unknown`, carried beside the sets and never
read as "no change" (``seawall diff`` counts an unknown as broadening unless both sides
hold the same one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from seawall.packets.space import (
    ALL_ADDRESSES,
    EVERY_PEER,
    Box,
    Node,
    PeerSet,
    Symbols,
    difference,
    intersection,
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
KNOWN_TAGS = {"virtualnetwork": "VirtualNetwork", "azureloadbalancer": "AzureLoadBalancer"}


def azure_prefix(text: str) -> PeerSet | None:
    """``*``, ``Internet``, ``VirtualNetwork``, ``AzureLoadBalancer`` or another tag; None for a CIDR."""
    folded = text.strip().casefold()
    if folded in ("*", "any"):
        return EVERY_PEER
    if folded == "internet":
        return ALL_ADDRESSES
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


@dataclass(frozen=True)
class Unknown:
    """Something that can change what passes and that the model cannot evaluate."""

    role: str | None
    key: str  # identity across two models: the same key on both sides is "the same unknown"
    text: str


@dataclass(frozen=True)
class Decider:
    """The packets one rule decides (the first match for Azure), and how."""

    label: str
    allow: bool
    ids: tuple[str, ...]
    node: Node
    default: bool = False


@dataclass
class RoleSet:
    role: str
    direction: Direction
    node: Node
    deciders: list[Decider] = field(default_factory=list)

    def deciding(self, packets: Node, allow: bool = True) -> list[Decider]:
        """The rules that decide some of ``packets`` (allow rules, or deny and default rules)."""
        return [d for d in self.deciders if d.allow == allow and intersection(d.node, packets) is not False]


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
            ("AllowInternetOutBound", True, box(*every, ALL_ADDRESSES, EVERY_PEER)),
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
            deciders = [Decider(r.label, True, r.ids, r.box.node()) for r in allows]
            sets[role, direction] = RoleSet(role, direction, union_all(d.node for d in deciders), deciders)
    return Admitted(cloud, sets, tuple(sorted(set(unknown), key=lambda u: (u.role or "", u.key))))


def _azure_role(role: str, direction: Direction, rules: list[PacketRule]) -> RoleSet:
    by_nsg: dict[str, list[PacketRule]] = {}
    for rule in rules:
        by_nsg.setdefault(rule.nsg, []).append(rule)
    node: Node | None = None
    deciders: list[Decider] = []
    for nsg in sorted(by_nsg):
        ordered = sorted(by_nsg[nsg], key=lambda r: (r.priority if r.priority is not None else 0, r.label))
        decided: Node = False
        allowed: list[Node] = []
        for rule in [*ordered, *azure_defaults(direction)]:
            effective = difference(rule.box.node(), decided)
            if effective is False:
                continue
            decided = union(decided, effective)
            if rule.allow:
                allowed.append(effective)
            label = rule.label if not rule.default else f"{nsg}/{rule.label}"
            deciders.append(Decider(label, rule.allow, rule.ids, effective, rule.default))
        admitted = union_all(allowed)
        node = admitted if node is None else intersection(node, admitted)
    return RoleSet(role, direction, node if node is not None else False, deciders)


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
    """head − base and base − head per role and direction, exactly; unknowns compared by identity."""
    broadening, narrowing = [], []
    for key in sorted(base.sets.keys() | head.sets.keys()):
        a, b = base.get(*key), head.get(*key)
        if a == b:
            continue
        more, less = difference(b, a), difference(a, b)
        if more is not False:
            broadening.append(Change(*key, more, tuple(_responsible(head.sets.get(key), more))))
        if less is not False:
            narrowing.append(Change(*key, less, tuple(_responsible(base.sets.get(key), less))))
    base_keys = {u.key for u in base.unknown}
    head_keys = {u.key for u in head.unknown}
    return Comparison(
        tuple(broadening),
        tuple(narrowing),
        tuple(u for u in head.unknown if u.key not in base_keys),
        tuple(u for u in base.unknown if u.key not in head_keys),
    )


def _responsible(found: RoleSet | None, packets: Node) -> list[Decider]:
    return [] if found is None else found.deciding(packets)


def admitted_by_role(model: Admitted) -> Mapping[tuple[str, Direction], Node]:
    return {k: v.node for k, v in model.sets.items()}
