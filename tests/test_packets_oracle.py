"""The packet model, proven against an SMT solver.

Hypothesis writes firewalls for both clouds the way plans and previews register them (AWS rules
with CIDRs of both families, prefix lists and referenced groups; Azure NSGs with priorities,
allows and denies, service tags, ASGs on both ends, overlapping ranges, a role under two NSGs, which
admits what either admits: the plan does not say where each is attached).
The oracle reads the same resources on its own, straight from their fields, into z3 formulas over
one symbolic packet (local end, protocol, port, peer), with Azure's first match and default rules
written out. For every pair of firewalls the model's answers to "equal?", "subset?" and "what does
head admit that base does not?" must be the solver's; a witness from either side must be a packet
the other side agrees on.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seawall.packets.admitted import Admitted, compare, joined_differences, members_difference, nsg_alignment
from seawall.packets.members import LOAD_BALANCER, MEMBER_TOP, V6_AT, end_node
from seawall.packets.members import OTHER as OTHER_MEMBER
from seawall.packets.resources import admitted_from
from seawall.packets.space import (
    FAMILIES,
    V4_TOP,
    V6_TOP,
    Node,
    PeerSet,
    Symbols,
    addr,
    box_levels,
    contains,
    difference,
    intervals_node,
    network_set,
    slices,
    subset,
    symbol,
)
from seawall.registered import Resource

z3 = pytest.importorskip("z3")

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
NSG = "azure-native:network:NetworkSecurityGroup"
ASG = "azure-native:network:ApplicationSecurityGroup"
ROLES = ("web", "db")
OTHER = "__other__"  # a name no rule mentions, one per symbol family

EXAMPLES = int(
    os.environ.get("ORACLE_EXAMPLES", "1000")
)  # per test; three tests of two clouds: 3,000 pairs of firewalls judged by the solver per run


def resource(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "name": name, "urn": f"urn:pulumi:t::p::{type_}::{name}", "inputs": inputs}


# --- strategies: addresses that overlap often ----------------------------------------------------------------------

# Few bases and many prefix lengths, so that generated networks nest and overlap.
V4_BASES = (0, 0x0A000000, 0x0A0A0000, 0x0A0A0A00, 0xC0000200, 0x40000000, 0x80000000)
V6_BASES = (0, 0x2001_0DB8 << 96, 0x0064_FF9B << 96, 0x2002 << 112)


@st.composite
def v4_cidr(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(V4_BASES)) + draw(st.sampled_from((0, 0x100, 0x10000, 0x1000000)))
    length = draw(st.sampled_from((0, 1, 2, 4, 8, 16, 23, 24, 25, 32)))
    return str(ipaddress.ip_network(f"{ipaddress.IPv4Address(base & V4_TOP)}/{length}", strict=False))


@st.composite
def v6_cidr(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(V6_BASES))
    length = draw(st.sampled_from((0, 1, 16, 32, 96, 128)))
    return str(ipaddress.ip_network(f"{ipaddress.IPv6Address(base & V6_TOP)}/{length}", strict=False))


cidrs = st.one_of(v4_cidr(), v4_cidr(), v6_cidr())
ports = st.one_of(
    st.sampled_from([(22, 22), (25, 25), (80, 80), (20, 30), (0, 65535), (1000, 2000), (443, 443)]),
    st.tuples(st.integers(0, 100), st.integers(0, 100)).map(lambda t: (min(t), max(t))),
)


# --- AWS ---------------------------------------------------------------------------------------------------------


@st.composite
def aws_firewall(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = [resource(SG, f"{role}-sg", {"tags": {"seawall:role": role}}) for role in ROLES]
    lists = draw(st.lists(st.lists(v4_cidr(), min_size=1, max_size=3), max_size=2))
    for n, entries in enumerate(lists):
        out.append(
            resource(PREFIX_LIST, f"pl{n}", {"addressFamily": "IPv4", "entries": [{"cidr": c} for c in entries]})
        )
    count = draw(st.integers(0, 7))
    for n in range(count):
        role = draw(st.sampled_from(ROLES))
        kind = draw(st.sampled_from(("cidr", "cidr", "cidr", "list", "group", "external-group", "external-list")))
        inputs: dict[str, Any] = {"securityGroupId": f"${{{role}-sg.id}}"}
        if kind == "cidr":
            cidr = draw(cidrs)
            inputs["cidrIpv6" if ":" in cidr else "cidrIpv4"] = cidr
        elif kind == "list" and lists:
            inputs["prefixListId"] = f"${{pl{draw(st.integers(0, len(lists) - 1))}.id}}"
        elif kind == "group":
            inputs["referencedSecurityGroupId"] = f"${{{draw(st.sampled_from(ROLES))}-sg.id}}"
        elif kind == "external-list":
            inputs["prefixListId"] = draw(st.sampled_from(("pl-0aaa", "pl-0bbb")))
        else:
            inputs["referencedSecurityGroupId"] = draw(st.sampled_from(("sg-0aaa", "sg-0bbb")))
        protocol = draw(st.sampled_from(("tcp", "udp", "-1", "icmp")))
        inputs["ipProtocol"] = protocol
        if protocol in ("tcp", "udp"):
            inputs["fromPort"], inputs["toPort"] = draw(ports)
        elif protocol == "icmp":
            inputs["fromPort"], inputs["toPort"] = -1, -1
        out.append(resource(draw(st.sampled_from((INGRESS, EGRESS))), f"rule{n}", inputs))
    return out


# --- Azure -------------------------------------------------------------------------------------------------------

AZURE_TAGS = ("*", "Internet", "VirtualNetwork", "AzureLoadBalancer", "Storage")
NOT_PUBLIC = ("VirtualNetwork", "AzureLoadBalancer")  # the tags Azure's Internet does not hold


@st.composite
def azure_side(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(("tag", "cidrs", "asg", "asg", "external-asg")))
    if kind == "tag":
        return {"AddressPrefix": draw(st.sampled_from(AZURE_TAGS))}
    if kind == "cidrs":
        return {"AddressPrefixes": draw(st.lists(cidrs, min_size=1, max_size=3))}
    if kind == "asg":
        return {"ApplicationSecurityGroups": [{"id": f"${{{draw(st.sampled_from(ROLES))}-asg.id}}"}]}
    return {"ApplicationSecurityGroups": [{"id": "/subscriptions/s/asg/partner"}]}


@st.composite
def azure_firewall(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = [resource(ASG, f"{role}-asg", {"tags": {"seawall:role": role}}) for role in ROLES]
    nsgs = draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=3))  # a role may have two NSGs
    for n, role in enumerate(nsgs):
        count = draw(st.integers(0, 6))
        priorities = draw(st.lists(st.integers(100, 130), min_size=count, max_size=count, unique=True))
        rules = []
        for m, priority in enumerate(priorities):
            rule: dict[str, Any] = {
                "name": f"r{m}",
                "priority": priority,
                "direction": draw(st.sampled_from(("Inbound", "Outbound"))),
                "access": draw(st.sampled_from(("Allow", "Allow", "Deny"))),
                "protocol": draw(st.sampled_from(("Tcp", "Udp", "*", "Icmp"))),
                "sourcePortRange": "*",
            }
            low, high = draw(ports)
            rule["destinationPortRange"] = (
                "*" if (low, high) == (0, 65535) else f"{low}-{high}" if low != high else str(low)
            )
            for end in ("source", "destination"):
                rule.update({f"{end}{k}": v for k, v in draw(azure_side()).items()})
            rules.append(rule)
        out.append(resource(NSG, f"nsg{n}", {"tags": {"seawall:role": role}, "securityRules": rules}))
    return out


# --- the oracle: the same resources, read independently into z3 ----------------------------------------------------


@dataclass
class Packet:
    """One symbolic packet: each end is an IPv4 address, an IPv6 address or a member (a symbol with an
    address of its own: IPv4, IPv6, or one no rule names)."""

    lk: Any
    l4: Any
    l6: Any
    ls: Any
    lmk: Any
    lm4: Any
    lm6: Any
    pk: Any
    p4: Any
    p6: Any
    ps: Any
    pmk: Any
    pm4: Any
    pm6: Any
    proto: Any
    port: Any
    ls2: Any  # a second group the member at each end is in (-1: none)
    ps2: Any


def category(symbol: tuple[str, str]) -> str | None:
    """Groups a member can be in two of at once: ASGs (an interface in two), public service tags (an address
    in two: Storage and Storage.WestEurope). An ASG's members are not in a public tag."""
    family, name = symbol
    if family in ("role", "group"):
        return "asg"
    return "tag" if family == "tag" and name not in NOT_PUBLIC else None


class Oracle:
    def __init__(self, symbols: list[tuple[str, str]]) -> None:
        self.symbols = sorted(set(symbols) | {(f, OTHER) for f in FAMILIES})
        self.p = Packet(
            z3.Int("lk"), z3.BitVec("l4", 32), z3.BitVec("l6", 128), z3.Int("ls"),
            z3.Int("lmk"), z3.BitVec("lm4", 32), z3.BitVec("lm6", 128),
            z3.Int("pk"), z3.BitVec("p4", 32), z3.BitVec("p6", 128), z3.Int("ps"),
            z3.Int("pmk"), z3.BitVec("pm4", 32), z3.BitVec("pm6", 128),
            z3.Int("proto"), z3.Int("port"), z3.Int("ls2"), z3.Int("ps2"),
        )  # fmt: skip
        p = self.p
        n = len(self.symbols)
        both = [
            (i, j)
            for i, a in enumerate(self.symbols)
            for j, b in enumerate(self.symbols)
            if i != j and category(a) is not None and category(a) == category(b)
        ]
        self.domain = z3.And(
            p.lk >= 0, p.lk <= 2, p.pk >= 0, p.pk <= 2, p.ls >= 0, p.ls < n, p.ps >= 0, p.ps < n,
            p.lmk >= 0, p.lmk <= 2, p.pmk >= 0, p.pmk <= 2,
            p.proto >= 0, p.proto <= 255, p.port >= 0, p.port <= 65535,
            *(z3.Or(s2 == -1, z3.And(k == 2, z3.Or([z3.And(s1 == i, s2 == j) for i, j in both])))
              for k, s1, s2 in ((p.lk, p.ls, p.ls2), (p.pk, p.ps, p.ps2))),
            # the AzureLoadBalancer tag is the platform's one address (or, as every symbol, one no rule names)
            *(z3.Implies(z3.And(k == 2, s1 == self.symbols.index(("tag", "AzureLoadBalancer"))),
                         z3.Or(mk == 2, z3.And(mk == 0, m4 == LOAD_BALANCER)))
              for k, s1, mk, m4 in ((p.lk, p.ls, p.lmk, p.lm4), (p.pk, p.ps, p.pmk, p.pm4))),
        )  # fmt: skip

    def end(self, local: bool) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
        p = self.p
        return (p.lk, p.l4, p.l6, p.ls, p.lmk, p.lm4, p.lm6) if local else (p.pk, p.p4, p.p6, p.ps, p.pmk, p.pm4, p.pm6)

    def cidr(self, text: str, local: bool) -> Any:
        """An address outside the network in the CIDR, or a member whose own address is in it."""
        kind, a4, a6, _, mk, m4, m6 = self.end(local)
        net = ipaddress.ip_network(text, strict=False)
        bits, var, member, want = (32, a4, m4, 0) if net.version == 4 else (128, a6, m6, 1)
        mask = ((1 << bits) - 1) ^ ((1 << (bits - net.prefixlen)) - 1)
        outside = z3.And(kind == want, var & mask == int(net.network_address))
        return z3.Or(outside, z3.And(kind == 2, mk == want, member & mask == int(net.network_address)))

    def sym(self, family: str, name: str, local: bool) -> Any:
        kind, _, _, s, *_ = self.end(local)
        s2 = self.p.ls2 if local else self.p.ps2
        i = self.symbols.index((family, name))
        return z3.And(kind == 2, z3.Or(s == i, s2 == i))

    def family(self, family: str, local: bool) -> Any:
        kind, _, _, s, *_ = self.end(local)
        s2 = self.p.ls2 if local else self.p.ps2
        members = [i for i, (f, _) in enumerate(self.symbols) if f == family]
        return z3.And(kind == 2, z3.Or([x == i for i in members for x in (s, s2)]))

    def tag(self, text: str, local: bool) -> Any:
        kind = self.end(local)[0]
        folded = text.casefold()
        if folded == "*":
            return z3.BoolVal(True)
        if folded == "internet":  # outside the network, Azure's public service tags included
            public = [self.sym("tag", n, local) for f, n in self.symbols if f == "tag" and n not in NOT_PUBLIC]
            return z3.Or(kind == 0, kind == 1, *public)
        if folded == "virtualnetwork":
            return z3.Or(
                self.sym("tag", "VirtualNetwork", local), self.family("role", local), self.family("group", local)
            )
        if folded == "azureloadbalancer":
            return self.sym("tag", "AzureLoadBalancer", local)
        return self.sym("tag", text, local)

    def ports(self, low: int, high: int) -> Any:
        p = self.p
        return z3.Or(z3.And(p.proto != 6, p.proto != 17), z3.And(p.port >= low, p.port <= high))

    def protocol(self, text: str) -> Any:
        numbers = {"tcp": 6, "udp": 17, "icmp": 1}
        folded = text.casefold()
        return z3.BoolVal(True) if folded in ("*", "-1") else self.p.proto == numbers[folded]


def roles_of(resources: list[dict[str, Any]], type_: str) -> dict[str, str]:
    """``${name.id}`` of each tagged resource of a type → its role."""
    return {f"${{{r['name']}.id}}": r["inputs"]["tags"]["seawall:role"] for r in resources if r["type"] == type_}


def aws_formulas(o: Oracle, resources: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    groups = roles_of(resources, SG)
    lists = {f"${{{r['name']}.id}}": r["inputs"]["entries"] for r in resources if r["type"] == PREFIX_LIST}
    out: dict[tuple[str, str], list[Any]] = {}
    for r in resources:
        if r["type"] not in (INGRESS, EGRESS):
            continue
        i = r["inputs"]
        if "cidrIpv4" in i or "cidrIpv6" in i:
            peer = o.cidr(i.get("cidrIpv4") or i["cidrIpv6"], local=False)
        elif i.get("prefixListId") in lists:
            peer = z3.Or([o.cidr(e["cidr"], local=False) for e in lists[i["prefixListId"]]])
        elif "prefixListId" in i:
            peer = o.sym("list", i["prefixListId"], local=False)
        elif i["referencedSecurityGroupId"] in groups:
            peer = o.sym("role", groups[i["referencedSecurityGroupId"]], local=False)
        else:
            peer = o.sym("group", i["referencedSecurityGroupId"], local=False)
        ported = i["ipProtocol"] in ("tcp", "udp")
        match = z3.And(o.protocol(i["ipProtocol"]), o.ports(i["fromPort"], i["toPort"]) if ported else True, peer)
        key = (groups[i["securityGroupId"]], "in" if r["type"] == INGRESS else "out")
        out.setdefault(key, []).append(match)
    return {k: z3.Or(v) for k, v in out.items()}


def azure_formulas(o: Oracle, resources: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    asgs = roles_of(resources, ASG)

    def side(rule: dict[str, Any], end: str, local: bool) -> Any:
        parts = []
        if f"{end}AddressPrefix" in rule:
            parts.append(o.tag(rule[f"{end}AddressPrefix"], local))
        for cidr in rule.get(f"{end}AddressPrefixes", []):
            parts.append(o.cidr(cidr, local))
        for asg in rule.get(f"{end}ApplicationSecurityGroups", []):
            ref = asg["id"]
            parts.append(o.sym("role", asgs[ref], local) if ref in asgs else o.sym("group", ref, local))
        return z3.Or(parts)

    def match(rule: dict[str, Any]) -> Any:
        inbound = rule["direction"] == "Inbound"
        text = rule["destinationPortRange"]
        low, high = (0, 65535) if text == "*" else (int(text.split("-")[0]), int(text.split("-")[-1]))
        return z3.And(
            o.protocol(rule["protocol"]),
            o.ports(low, high),
            side(rule, "source", local=not inbound),
            side(rule, "destination", local=inbound),
        )

    vnet = {"in": ("VirtualNetwork", "VirtualNetwork"), "out": ("VirtualNetwork", "VirtualNetwork")}
    per_role: dict[tuple[str, str], dict[str, Any]] = {}
    for r in resources:
        if r["type"] != NSG:
            continue
        role = r["inputs"]["tags"]["seawall:role"]
        for direction, word in (("in", "Inbound"), ("out", "Outbound")):
            ordered = sorted(
                (x for x in r["inputs"]["securityRules"] if x["direction"] == word), key=lambda x: x["priority"]
            )
            chain = [(match(x), x["access"] == "Allow") for x in ordered]
            src, dst = vnet[direction]
            chain.append((z3.And(o.tag(src, local=direction == "out"), o.tag(dst, local=direction == "in")), True))
            if direction == "in":
                chain.append((o.tag("AzureLoadBalancer", local=False), True))
            else:
                chain.append((o.tag("Internet", local=False), True))
            admitted: Any = z3.BoolVal(False)  # DenyAll… at 65500: nothing after it
            for condition, allow in reversed(chain):
                admitted = z3.If(condition, z3.BoolVal(allow), admitted)
            per_role.setdefault((role, direction), {})[r["name"]] = admitted
    return per_role  # type: ignore[return-value]


def behind(per_nsg: dict[str, Any], single: bool) -> Any:
    """A member behind some of its role's NSGs (which ones is a free choice, ``att_<name>``): every one it is
    behind admits the packet. With one NSG on each side, the two are the role's one NSG, renamed or not."""
    if not per_nsg:
        return z3.BoolVal(False)
    if single:
        return z3.And(z3.Bool("att_the_role"), *per_nsg.values())
    chosen = [z3.Bool(f"att_{n}") for n in per_nsg]
    return z3.And(z3.Or(chosen), *(z3.Implies(c, f) for c, f in zip(chosen, per_nsg.values(), strict=True)))


def symbols_in(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = [("tag", "VirtualNetwork"), ("tag", "AzureLoadBalancer"), ("tag", "Storage")]
    found += [("role", role) for role in ROLES]
    found += [("group", g) for g in ("sg-0aaa", "sg-0bbb", "/subscriptions/s/asg/partner")]
    found += [("list", pl) for pl in ("pl-0aaa", "pl-0bbb")]
    return found


# --- comparing the two -------------------------------------------------------------------------------------------


def model(resources: list[dict[str, Any]]) -> Admitted:
    return admitted_from([Resource.from_json(r) for r in resources])


End = tuple[int, int, int, tuple[str, str], int, int]  # kind, IPv4, IPv6, symbol, member kind, member address


def concrete(peers: PeerSet) -> End:
    """One member of a model's set (a symbol of the model is a member at an address no rule names)."""
    if peers.v4:
        return 0, peers.v4[0][0], 0, ("role", OTHER), 2, 0
    if peers.v6:
        return 1, 0, peers.v6[0][0], ("role", OTHER), 2, 0
    for family, s in peers.symbols:
        if s.cofinite:
            return 2, 0, 0, (family, OTHER), 2, 0
        if s.names:
            return 2, 0, 0, (family, sorted(s.names)[0]), 2, 0
    raise AssertionError("an empty set has no member")


def as_set(end: End) -> PeerSet:
    """The model's point for an end: an address, or the symbol (a member's address is not the model's)."""
    kind, a4, a6, name, _, _ = end
    if kind == 0:
        return network_set([str(ipaddress.IPv4Address(a4))])
    if kind == 1:
        return network_set([str(ipaddress.IPv6Address(a6))])
    return symbol(*name)


def member_address(end: End) -> PeerSet | None:
    """A member's own address as a model point (None when it is one no rule names)."""
    kind, _, _, _, mk, m = end
    if kind != 2 or mk == 2:
        return None
    return network_set([str(ipaddress.IPv4Address(m) if mk == 0 else ipaddress.IPv6Address(m))])


def pair_point(end: End, inside: Node) -> Node:
    """An end as a point of the members' space (seawall.packets.members)."""
    kind, a4, a6, (family, name), mk, m = end
    if kind in (0, 1):
        return end_node(network_set([str(ipaddress.IPv4Address(a4) if kind == 0 else ipaddress.IPv6Address(a6))]),
                        PeerSet(), inside)  # fmt: skip
    at = OTHER_MEMBER if mk == 2 else m if mk == 0 else V6_AT + m
    member = intervals_node([(at, at)], inside, MEMBER_TOP)
    return addr(False, False, [(False, ((name, member),) if f == family else ()) for f in FAMILIES])


def pair_contains(node: Node, local: End, proto: int, port: int, peer: End) -> bool:
    packet = box_levels(((proto, proto),), ((port, port),), pair_point(peer, True), lambda i: pair_point(local, i))
    return subset(packet, node)


def seconds(o: Oracle, w: Any) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """The second group of the witness's member at each end (None: in one only)."""
    found = [int(w.eval(x, model_completion=True).as_long()) for x in (o.p.ls2, o.p.ps2)]
    return (o.symbols[found[0]] if found[0] >= 0 else None, o.symbols[found[1]] if found[1] >= 0 else None)


def named(end: End, name: tuple[str, str]) -> End:
    return (end[0], end[1], end[2], name, end[4], end[5])


def witness(o: Oracle, w: Any) -> tuple[End, int, int, End]:
    p = o.p

    def val(x: Any) -> int:
        return int(w.eval(x, model_completion=True).as_long())

    def end(k: Any, a4: Any, a6: Any, s: Any, mk: Any, m4: Any, m6: Any) -> End:
        member_kind = val(mk)
        return val(k), val(a4), val(a6), o.symbols[val(s)], member_kind, val(m4) if member_kind == 0 else val(m6)

    local = end(p.lk, p.l4, p.l6, p.ls, p.lmk, p.lm4, p.lm6)
    peer = end(p.pk, p.p4, p.p6, p.ps, p.pmk, p.pm4, p.pm6)
    return local, val(p.proto), val(p.port), peer


def possible(o: Oracle, formula: Any, packet: tuple[End, int, int, End]) -> bool:
    """Some choice of the NSGs a member is behind makes the formula hold for this packet."""
    p = o.p
    local, proto, port, peer = packet
    values = []
    for (k, a4, a6, s, mk, m4, m6), end in (((p.lk, p.l4, p.l6, p.ls, p.lmk, p.lm4, p.lm6), local),
                                             ((p.pk, p.p4, p.p6, p.ps, p.pmk, p.pm4, p.pm6), peer)):  # fmt: skip
        kind, v4, v6, name, member_kind, member = end
        values += [
            (k, z3.IntVal(kind)), (a4, z3.BitVecVal(v4, 32)), (a6, z3.BitVecVal(v6, 128)),
            (s, z3.IntVal(o.symbols.index(name))), (mk, z3.IntVal(member_kind)),
            (m4, z3.BitVecVal(member if member_kind == 0 else 0, 32)),
            (m6, z3.BitVecVal(member if member_kind == 1 else 0, 128)),
        ]  # fmt: skip
    values += [(p.proto, z3.IntVal(proto)), (p.port, z3.IntVal(port)), (p.ls2, z3.IntVal(-1)), (p.ps2, z3.IntVal(-1))]
    solver = z3.Solver()
    solver.add(z3.substitute(formula, *values))
    return bool(solver.check() == z3.sat)


def agree(
    base: list[dict[str, Any]],
    head: list[dict[str, Any]],
    formulas: Callable[[Oracle, list[dict[str, Any]]], dict[tuple[str, str], Any]],
) -> None:
    """Per role and direction, the model's answers against the solver's.

    The solver chooses every packet's ends freely: an address, or a member of one group or of two at
    once, at an address of its own, behind any combination of its role's NSGs. AWS: the model's own
    sets (a union of allows: a member the head lets in and the base not shows as one of its groups or
    as its address in the model's difference). Azure: the difference with members' addresses
    (``members_difference``) and, for members of two groups, per join (``joined_differences``) must
    be exactly the solver's, and the diff's verdict (broadening, or "cannot judge" with the members)
    must be there exactly when the solver finds a packet.
    """
    o = Oracle(symbols_in(base) + symbols_in(head))
    fa, fb = formulas(o, base), formulas(o, head)
    ma, mb = model(base), model(head)
    azure = formulas is azure_formulas
    verdict = compare(ma, mb)
    for key in sorted(fa.keys() | fb.keys()):
        na, nb = ma.get(*key), mb.get(*key)
        joins: dict[Any, Node] = {}
        back: dict[Any, Node] = {}
        if azure:
            sa, sb = ma.sets.get(key), mb.sets.get(key)
            # Which NSG is which across the two sides is the model's reading (a role's one NSG, or an NSG
            # renamed with the same rules, is the same NSG); the solver judges the packets.
            names_a, names_b = nsg_alignment(sa, sb)
            per_a = {names_a.get(n, n): f for n, f in fa.get(key, {}).items()}
            per_b = {names_b.get(n, n): f for n, f in fb.get(key, {}).items()}
            single = len(per_a) <= 1 and len(per_b) <= 1
            a, b = behind(per_a, single), behind(per_b, single)
            extra, fewer = members_difference(sa, sb), members_difference(sb, sa)
            if sa is not None and sb is not None:
                found, found_back = joined_differences(sa, sb), joined_differences(sb, sa)
                assert found is not None and found_back is not None
                joins, back = found, found_back
        else:
            a, b = fa.get(key, z3.BoolVal(False)), fb.get(key, z3.BoolVal(False))
            extra, fewer = difference(nb, na), difference(na, nb)
        solver = z3.Solver()
        solver.add(o.domain, b, z3.Not(a))
        more = solver.check() == z3.sat
        assert (extra is not False or bool(joins)) == more, (key, "head − base", base, head)
        said = any((c.role, c.direction) == key for c in verdict.broadening) or any(
            u.key.startswith((f"members::{key[0]}::{key[1]}::", f"joined::{key[0]}::{key[1]}"))
            for u in verdict.unknown_added
        )
        assert said == more, (key, "the diff's verdict", base, head)
        if more:  # the solver's witness is in the difference
            w = solver.model()
            local, proto, port, peer = witness(o, w)
            second = seconds(o, w)
            ends = []  # per end: (join of the end or None, the end as the model's point)
            for end, also in ((local, second[0]), (peer, second[1])):
                if also is None:
                    ends.append([(None, end)])
                else:
                    pair = tuple(sorted([end[3], also]))
                    ends.append([(None, end), (None, named(end, also)), (pair, named(end, pair[0]))])
            if azure:
                assert any(
                    pair_contains(
                        extra if (jl, jp) == (None, None) else joins.get((jl, jp), False), lo, proto, port, pe
                    )
                    for jl, lo in ends[0]
                    for jp, pe in ends[1]
                ), (key, base, head)
            else:  # a member: one of its groups or its own address is in the model's difference
                points = [(as_set(lo), as_set(pe)) for _, lo in ends[0] for _, pe in ends[1]]
                if member_address(peer) is not None:
                    points.append((as_set(local), member_address(peer)))
                assert any(contains(nb, lo, proto, port, pe) and not contains(na, lo, proto, port, pe)
                           for lo, pe in points), (key, base, head)  # fmt: skip
        shown = next((c.node for c in verdict.broadening if (c.role, c.direction) == key), False)
        if shown is not False:  # and the diff's own witness is one the solver accepts
            part = slices(shown)[0]
            packet = (concrete(part.local), part.protocols[0], part.ports[0][0], concrete(part.peer))
            assert possible(o, z3.And(b, z3.Not(a)), packet), (key, packet)
        solver = z3.Solver()
        solver.add(o.domain, a != b)
        same = extra is False and fewer is False and not joins and not back
        assert same == (solver.check() == z3.unsat), (key, "equal", base, head)
        solver = z3.Solver()
        solver.add(o.domain, a, z3.Not(b))
        assert (fewer is False and not back) == (solver.check() == z3.unsat), (key, "subset", base, head)


ORACLE = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@ORACLE
@given(aws_firewall(), aws_firewall())
def test_aws_answers_agree_with_the_solver(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> None:
    agree(base, head, aws_formulas)


@ORACLE
@given(azure_firewall(), azure_firewall())
def test_azure_answers_agree_with_the_solver(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> None:
    agree(base, head, azure_formulas)


@ORACLE
@given(azure_firewall(), st.data())
def test_azure_small_edits_agree_with_the_solver(base: list[dict[str, Any]], data: st.DataObject) -> None:
    """Head is base with one rule moved, flipped or deleted: the edits reviewers see, near-equal sets."""
    import copy

    head = copy.deepcopy(base)
    nsgs = [r for r in head if r["type"] == NSG and r["inputs"]["securityRules"]]
    if nsgs:
        rules = data.draw(st.sampled_from(nsgs))["inputs"]["securityRules"]
        rule = data.draw(st.sampled_from(rules))
        edit = data.draw(st.sampled_from(("flip", "delete", "move", "any-protocol")))
        if edit == "flip":
            rule["access"] = "Deny" if rule["access"] == "Allow" else "Allow"
        elif edit == "delete":
            rules.remove(rule)
        elif edit == "move":
            taken = {r["priority"] for r in rules}
            rule["priority"] = data.draw(st.integers(100, 140).filter(lambda n: n not in taken))
        else:
            rule["protocol"] = "*"
    agree(base, head, azure_formulas)


def test_the_oracle_can_tell_a_difference() -> None:
    """The oracle is not vacuous: a deny-all removed is a difference to it and to the model."""
    base = [
        resource(ASG, "web-asg", {"tags": {"seawall:role": "web"}}),
        resource(
            NSG,
            "nsg0",
            {
                "tags": {"seawall:role": "web"},
                "securityRules": [
                    {"name": "deny", "priority": 4096, "direction": "Inbound", "access": "Deny", "protocol": "*",
                     "sourcePortRange": "*", "destinationPortRange": "*", "sourceAddressPrefix": "*",
                     "destinationAddressPrefix": "*"},
                ],
            },
        ),
    ]  # fmt: skip
    head = [base[0], resource(NSG, "nsg0", {"tags": {"seawall:role": "web"}, "securityRules": []})]
    o = Oracle(symbols_in(base))
    a = behind(azure_formulas(o, base)[("web", "in")], single=True)
    b = behind(azure_formulas(o, head)[("web", "in")], single=True)
    solver = z3.Solver()
    solver.add(o.domain, b, z3.Not(a))
    assert solver.check() == z3.sat
    assert difference(model(head).get("web", "in"), model(base).get("web", "in")) is not False
    assert Symbols(True) == Symbols(True, frozenset())
