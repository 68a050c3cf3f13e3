"""Drift on Azure: the planned NSGs, ASGs and security rules against the subscription's (pure comparison).

Rules have names, so a planned and a deployed rule of the same name are one rule,
and whatever differs (access, direction, protocol, ports, addresses, ASGs,
priority) is one ``changed-…`` line; the same rule under another name is one
``renamed-rule`` line. ASGs of the stack read as ``role:<role>``. Broadening here:
an extra allow rule that no planned rule contains, a change that widens what a rule
lets through, a deleted or shadowed deny-all (Azure's defaults then allow), an
attached stray NSG holding allow rules. :func:`audit_azure_stack` reads the
subscription (:mod:`seawall.azure.account`) and compares. What both clouds share
(:class:`Drift`, :class:`Report`, the policy inputs, the wording) is in
:mod:`seawall.analysis.drift`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from seawall.analysis.drift import (
    EVERY_ADDRESS,
    Drift,
    PolicyInputs,
    Report,
    broken_rules,
    check_cloud,
    cidr_within,
    count,
    group_by,
    reach_text,
)
from seawall.azure import account as az
from seawall.azure.account import ROLE_TAG, STACK_TAG
from seawall.azure.limits import (
    APPLICATION_SECURITY_GROUP,
    DENY_ALL_PRIORITY,
    NETWORK_SECURITY_GROUP,
    SERVICE_TAGS,
)
from seawall.azure.render import AzurePeer, AzureRule, AzureSpec
from seawall.errors import UserError
from seawall.netaddr import canonical_cidr, internet_equivalent, network_key
from seawall.packets.admitted import (
    Admitted,
    Change,
    Direction,
    PacketRule,
    Unknown,
    anchors,
    build,
    members_unknowns,
)
from seawall.packets.describe import lines as describe
from seawall.packets.resources import azure_rule
from seawall.packets.space import Node, PeerSet, difference, intersection, symbol, union_all
from seawall.registered import Resource
from seawall.stack import CompiledStack, render_azure_stack


class _Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


R = TypeVar("R", bound=_Named)


# Azure spells these in any case; one spelling each.
AZ_PROTOCOLS = {p.casefold(): p for p in ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")}
AZ_TAGS = {t.casefold(): t for t in (*SERVICE_TAGS, "AzureLoadBalancer", "VirtualNetwork", "Internet")}
# The fields of an Azure rule a change is reported by, most telling first.
AZ_FIELDS = ("access", "direction", "protocol", "ports", "addresses", "asgs", "priority")
DENY_ALL = {"Inbound": "deny-all-inbound", "Outbound": "deny-all-outbound"}
# Azure's default rules, what they let through once a deny-all is gone.
AZURE_DEFAULTS = {
    "Inbound": "Azure's default AllowVnetInBound and AllowAzureLoadBalancerInBound now let the whole virtual "
    "network and the load balancer in on every port",
    "Outbound": "Azure's default AllowInternetOutBound and AllowVnetOutBound now let every port out to the "
    "internet and the virtual network",
}


# --- the rules, by content -----------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class AzSide:
    """One side of an Azure rule: addresses (CIDRs, service tags, ``*``) and ASGs (``role:<role>`` or an id)."""

    addresses: tuple[str, ...] = ()
    asgs: tuple[str, ...] = ()

    def text(self) -> str:
        return ", ".join((*self.addresses, *self.asgs)) or "(nothing)"

    def to_json(self) -> dict[str, Any]:
        return {"addresses": list(self.addresses), "asgs": list(self.asgs)}


@dataclass(frozen=True, order=True)
class AzRule:
    """One Azure security rule by content, with its name."""

    role: str
    direction: str  # Inbound | Outbound
    priority: int
    name: str
    access: str  # Allow | Deny
    protocol: str  # Tcp | Udp | Icmp | Esp | Ah | *
    source: AzSide
    destination: AzSide
    ports: tuple[str, ...]  # destination port ranges, "*" for all
    source_ports: tuple[str, ...] = ("*",)
    description: str = field(default="", compare=False)

    def content(self) -> tuple[Any, ...]:
        """Everything but the name: what the cloud evaluates."""
        return (self.direction, self.priority, self.access, self.protocol, self.source, self.destination,
                self.ports, self.source_ports)  # fmt: skip

    def field_value(self, name: str) -> Any:
        return {
            "access": self.access,
            "direction": self.direction,
            "protocol": self.protocol,
            "ports": (self.ports, self.source_ports),
            "addresses": (self.source.addresses, self.destination.addresses),
            "asgs": (self.source.asgs, self.destination.asgs),
            "priority": self.priority,
        }[name]

    @property
    def far(self) -> AzSide:
        return self.source if self.direction == "Inbound" else self.destination

    @property
    def near(self) -> AzSide:
        return self.destination if self.direction == "Inbound" else self.source

    def ports_text(self) -> str:
        text = ",".join(self.ports)
        return text if self.source_ports == ("*",) else f"{text} (source ports {','.join(self.source_ports)})"

    def what(self, everything: str = "all") -> str:
        """``Tcp/443``, or ``everything`` for any protocol on any port."""
        return (
            everything
            if (self.protocol, self.ports, self.source_ports) == ("*", ("*",), ("*",))
            else (f"{self.protocol}/{self.ports_text()}")
        )

    def label(self) -> str:
        return (
            f"{self.name}: {self.priority} {self.direction} {self.access} {self.what()} "
            f"from {self.source.text()} to {self.destination.text()}"
        )

    def sentence(self) -> str:
        near = self.role if self.near == AzSide(asgs=(f"role:{self.role}",)) else self.near.text()
        what = self.what("every protocol and port")
        way = "on {near} from {far}" if self.direction == "Inbound" else "from {near} to {far}"
        return f"{what} {way.format(near=near, far=self.far.text())}{reach_text(self.far.addresses)}"

    def sort_key(self) -> tuple[Any, ...]:
        return (self.direction, self.priority, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.name,
            "priority": self.priority,
            "direction": self.direction,
            "access": self.access,
            "protocol": self.protocol,
            "ports": list(self.ports),
            "source_ports": list(self.source_ports),
            "source": self.source.to_json(),
            "destination": self.destination.to_json(),
        }


def _referenced_by(n: int) -> str:
    if n == 0:
        return "no planned rule references it"
    return f"{count(n, 'planned rule')} {'references' if n == 1 else 'reference'} it"


# --- comparing ------------------------------------------------------------------------------------------------------


def _az_ports(ports: Iterable[str]) -> tuple[str, ...]:
    out = {"*" if p.strip() in ("*", "0-65535") else p.strip() for p in ports}
    return ("*",) if "*" in out or not out else tuple(sorted(out, key=lambda p: _range(p)))


def _range(text: str) -> tuple[int, int]:
    if text == "*":
        return (0, 65535)
    first, _, last = text.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        return (0, 65535)  # unreadable: the wider reading


def _az_address(text: str) -> str:
    value = text.strip()
    if value.casefold() in ("*", "any"):
        return "*"
    if value.casefold() in AZ_TAGS:
        return AZ_TAGS[value.casefold()]
    return canonical_cidr(value)


def _address_key(text: str) -> tuple[Any, ...]:
    try:
        return (0, *network_key(text))
    except ValueError:
        return (1, text)


def _az_side(addresses: Iterable[str], asgs: Iterable[str], asg_roles: Mapping[str, str]) -> AzSide:
    return AzSide(
        tuple(sorted({_az_address(a) for a in addresses}, key=_address_key)),
        tuple(sorted({f"role:{asg_roles[i.casefold()]}" if i.casefold() in asg_roles else i.casefold() for i in asgs})),
    )


def _planned_side(peer: AzurePeer) -> AzSide:
    if peer.kind == "any":
        return AzSide(("*",))
    if peer.kind in ("service-tag", "prefixes"):
        return AzSide(tuple(sorted({_az_address(v) for v in peer.values}, key=_address_key)))
    return AzSide(asgs=tuple(sorted(f"role:{v}" if peer.roles else v.casefold() for v in peer.values)))


def _planned_az(role: str, rule: AzureRule) -> AzRule:
    return AzRule(
        role,
        rule.direction,
        rule.priority,
        rule.name,
        rule.access,
        AZ_PROTOCOLS.get(rule.protocol.casefold(), rule.protocol),
        _planned_side(rule.source),
        _planned_side(rule.destination),
        _az_ports([rule.destination_port_range]),
        ("*",),
        rule.description,
    )


def _actual_az(role: str, rule: az.ActualSecurityRule, asg_roles: Mapping[str, str]) -> AzRule:
    return AzRule(
        role,
        {"inbound": "Inbound", "outbound": "Outbound"}.get(rule.direction.casefold(), rule.direction),
        rule.priority,
        rule.name,
        {"allow": "Allow", "deny": "Deny"}.get(rule.access.casefold(), rule.access),
        AZ_PROTOCOLS.get(rule.protocol.casefold(), rule.protocol),
        _az_side(rule.source_prefixes, rule.source_asgs, asg_roles),
        _az_side(rule.destination_prefixes, rule.destination_asgs, asg_roles),
        _az_ports(rule.destination_ports),
        _az_ports(rule.source_ports),
        rule.description,
    )


def _az_within(a: AzRule, p: AzRule) -> bool:
    """Everything ``a`` lets through, ``p`` lets through too (a deny lets nothing through)."""
    if a.access != "Allow":
        return True
    if p.access != "Allow" or a.direction != p.direction:
        return False
    if p.protocol != "*" and a.protocol != p.protocol:
        return False
    return (
        _ranges_within(a.ports, p.ports)
        and _ranges_within(a.source_ports, p.source_ports)
        and _side_within(a.source, p.source)
        and _side_within(a.destination, p.destination)
    )


def _ranges_within(inner: Iterable[str], outer: Iterable[str]) -> bool:
    spans = [_range(p) for p in outer]
    return all(any(lo <= a_lo and a_hi <= hi for lo, hi in spans) for a_lo, a_hi in map(_range, inner))


def _side_within(a: AzSide, p: AzSide) -> bool:
    if "*" in p.addresses:
        return True
    if not set(a.asgs) <= set(p.asgs):
        return False
    return all(any(x == y or cidr_within(x, y) for y in p.addresses) for x in a.addresses)


def _shadows(a: AzRule) -> bool:
    """An allow rule that lets through everything a deny-all of its direction would stop."""
    own = AzSide(asgs=(f"role:{a.role}",))
    far_everything = any(x.casefold() in EVERY_ADDRESS for x in a.far.addresses) or (
        internet_equivalent([x for x in a.far.addresses if ":" not in x and "." in x], 4)
    )
    near_everything = "*" in a.near.addresses or a.near in (own, AzSide(("VirtualNetwork",)))
    return (
        a.access == "Allow"
        and a.protocol == "*"
        and _ranges_within(["*"], a.ports)
        and _ranges_within(["*"], a.source_ports)
        and far_everything
        and near_everything
    )


@dataclass
class _AzMatch:
    nsgs: dict[str, az.ActualNsg] = field(default_factory=dict)  # role → its NSG
    asgs: dict[str, az.ActualAsg] = field(default_factory=dict)  # role → its ASG
    asg_roles: dict[str, str] = field(default_factory=dict)  # ASG id (casefolded) → role, for role:<role>
    extra_nsgs: list[az.ActualNsg] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)


def compare_azure(spec: AzureSpec, account: az.AzureAccount, policy: PolicyInputs | None = None) -> list[Drift]:
    """Every difference between the planned NSGs, ASGs and rules and the subscription's, broadening first."""
    match = _AzMatch()
    _match_azure(spec, account, match)
    drift = list(match.drift)
    missing_asgs = {r.role for r in spec.roles if r.role not in match.asgs}
    planned = {r.role: [_planned_az(r.role, rule) for rule in r.rules] for r in spec.roles}
    # Rules that cannot exist as planned because their NSG or an ASG they name is missing are
    # folded into that missing-* line; recreating it brings them back.
    folded: Counter[str] = Counter()
    for role_spec in spec.roles:
        role = role_spec.role
        if role not in match.nsgs:
            drift.append(
                Drift(
                    "missing-nsg",
                    f"no NSG tagged {ROLE_TAG}={role} in resource group {account.resource_group} "
                    f"(planned {role_spec.nsg_name} with {count(planned[role], 'rule')})",
                    role=role,
                )
            )
            continue
        for rule in planned[role]:
            named = {a.removeprefix("role:") for a in (*rule.source.asgs, *rule.destination.asgs)}
            for gone in sorted(named & missing_asgs)[:1]:
                folded[gone] += 1
    drift += [
        Drift(
            "missing-asg",
            f"no application security group tagged {ROLE_TAG}={r.role} in resource group {account.resource_group} "
            f"(planned {r.asg_name}; {_referenced_by(folded[r.role])})",
            role=r.role,
        )
        for r in spec.roles
        if r.role in missing_asgs
    ]
    for role_spec in spec.roles:
        nsg = match.nsgs.get(role_spec.role)
        if nsg is None:
            continue
        expected = [
            r
            for r in planned[role_spec.role]
            if not {a.removeprefix("role:") for a in (*r.source.asgs, *r.destination.asgs)} & missing_asgs
        ]
        actual = [_actual_az(role_spec.role, r, match.asg_roles) for r in nsg.rules]
        drift += _az_rule_drift(role_spec.role, nsg, expected, actual)
        if not nsg.attached:
            drift.append(
                Drift(
                    "unattached-nsg",
                    f"{nsg.name} is not associated with any subnet or network interface: its rules protect "
                    "nothing (attach it to the role's subnet or network interfaces)",
                    role=role_spec.role,
                    nsg_id=nsg.id,
                )
            )
    packets = _AzPackets.of(spec, planned, match, account.outside_nsgs, account.outside_asgs)
    drift = [_az_broadening(d, planned, match, packets) for d in drift]
    drift += packets.unexplained(drift)
    if policy is not None:
        drift = _az_policy(drift, policy, planned, match, account.outside_nsgs)
    return sorted(drift, key=Drift.sort_key)


def azure_notes(account: az.AzureAccount) -> tuple[str, ...]:
    notes = []
    defaults = sorted({r.name for n in account.nsgs for r in n.default_rules})
    if defaults:
        notes.append(
            f"Azure adds {count(len(defaults), 'default rule')} to every NSG ({', '.join(defaults)}); seawall does "
            f"not manage them, and its deny-all rules at {DENY_ALL_PRIORITY} come before them"
        )
    if not account.outside_checked:
        notes.append(
            f"NSGs and ASGs tagged for the stack outside resource group {account.resource_group} were not looked "
            f"for: listing the subscription's needs {' and '.join(az.READ_ACTIONS)} at subscription scope"
        )
    return tuple(notes)


def _match_azure(spec: AzureSpec, account: az.AzureAccount, match: _AzMatch) -> None:
    """One NSG and one ASG per planned role in the resource group; others tagged for the stack are extra or outside."""
    planned = {r.role: r for r in spec.roles}
    for asg in account.outside_asgs:
        match.drift.append(
            Drift(
                "asg-outside-resource-group",
                _outside(asg, spec.stack, account.resource_group),
                role=az.tag(asg.tags, ROLE_TAG),
                asg_id=asg.id,
                resource_group=asg.resource_group,
            )
        )
    for nsg in account.outside_nsgs:
        match.drift.append(
            Drift(
                "nsg-outside-resource-group",
                _outside(nsg, spec.stack, account.resource_group)
                + ("; it is attached, so it is judged by what it admits" if nsg.attached else "; it is not attached"),
                role=az.tag(nsg.tags, ROLE_TAG),
                nsg_id=nsg.id,
                resource_group=nsg.resource_group,
            )
        )
    for role, asgs in group_by(account.asgs, lambda a: az.tag(a.tags, ROLE_TAG)).items():
        wanted = planned[role].asg_name if role in planned else None
        first, extra = _pick(asgs, role, wanted, "ASG")
        if first is not None and role is not None:
            match.asg_roles[first.id.casefold()] = role
            match.asgs[role] = first
        match.drift += [
            Drift("extra-asg", f"{a.name} is tagged {STACK_TAG} but {why}", role=role, asg_id=a.id) for a, why in extra
        ]
    for role, nsgs in group_by(account.nsgs, lambda n: az.tag(n.tags, ROLE_TAG)).items():
        wanted = planned[role].nsg_name if role in planned else None
        chosen, extra_nsgs = _pick(nsgs, role, wanted, "NSG")
        if chosen is not None and role is not None:
            match.nsgs[role] = chosen
        for n, why in extra_nsgs:
            match.extra_nsgs.append(n)
            attached = "attached" if n.attached else "not attached to anything"
            match.drift.append(
                Drift(
                    "extra-nsg",
                    f"{n.name} is tagged {STACK_TAG} but {why}; it holds {count(len(n.rules), 'rule')} and is {attached}",
                    role=role,
                    nsg_id=n.id,
                )
            )


def _outside(resource: az.ActualNsg | az.ActualAsg, stack: str, group: str) -> str:
    return (
        f"{resource.name} is tagged {STACK_TAG}={stack} but is in resource group {resource.resource_group}, "
        f"not the stack's {group}"
    )


def _pick(candidates: list[R], role: str | None, wanted: str | None, word: str) -> tuple[R | None, list[tuple[R, str]]]:
    """The planned role's resource (the one named as planned, then the lowest id) and the others, with why."""
    if role is None:
        return None, [(c, f"has no {ROLE_TAG} tag") for c in candidates]
    first, *rest = sorted(candidates, key=lambda c: (c.name != wanted, c.id.casefold()))
    extra: list[tuple[R, str]] = [
        (c, f"it is a second {word} for role {role!r} ({first.name} is the role's)") for c in rest
    ]
    if wanted is None:
        return None, [(first, f"role {role!r} is not planned"), *extra]
    return first, extra


def _az_rule_drift(role: str, nsg: az.ActualNsg, expected: list[AzRule], actual: list[AzRule]) -> list[Drift]:
    """One NSG's rules by name: changed, renamed, missing (a deny-all said so), extra, and a shadowed deny-all."""
    by_name = {a.name: a for a in actual}
    want = {p.name: p for p in expected}
    drift: list[Drift] = []
    for name in sorted(want.keys() & by_name.keys()):
        p, a = want[name], by_name[name]
        changed = tuple(f for f in AZ_FIELDS if p.field_value(f) != a.field_value(f))
        if not changed:
            continue
        edits = "; ".join(_edit(f, p, a) for f in changed)
        drift.append(
            Drift(
                f"changed-{changed[0]}" if len(changed) == 1 else "changed-rule",
                f"{name} on {nsg.name}: {edits}",
                role=role,
                rule=a,
                planned=p,
                changed=changed,
                nsg_id=nsg.id,
            )
        )
    missing = [want[n] for n in sorted(want.keys() - by_name.keys())]
    extra = [by_name[n] for n in sorted(by_name.keys() - want.keys())]
    # The same rule under another name: one line, not a missing and an extra one.
    pool = group_by(extra, AzRule.content)
    for p in list(missing):
        same = pool.get(p.content())
        if same:
            a = same.pop(0)
            missing.remove(p)
            extra.remove(a)
            drift.append(
                Drift(
                    "renamed-rule",
                    f"{p.name} on {nsg.name} is named {a.name}",
                    role=role,
                    rule=a,
                    planned=p,
                    changed=("name",),
                    nsg_id=nsg.id,
                )
            )
    for p in missing:
        deny_all = p.name == DENY_ALL.get(p.direction) and p.access == "Deny"
        drift.append(
            Drift(
                "missing-deny-all" if deny_all else "missing-rule",
                f"planned {p.name} is not on {nsg.name}" + (f": {AZURE_DEFAULTS[p.direction]}" if deny_all else ""),
                role=role,
                rule=p,
                nsg_id=nsg.id,
            )
        )
    for a in extra:
        drift.append(Drift("extra-rule", f"{a.name} on {nsg.name}: not planned", role=role, rule=a, nsg_id=nsg.id))
    for direction, name in DENY_ALL.items():
        deny = by_name.get(name)
        if deny is None or deny.access != "Deny" or deny.direction != direction:
            continue
        for a in sorted(actual, key=AzRule.sort_key):
            if a.direction == direction and a.priority < deny.priority and _shadows(a):
                drift.append(
                    Drift(
                        "shadowed-deny-all",
                        f"{a.name} (priority {a.priority}) on {nsg.name} allows everything {name} "
                        f"(priority {deny.priority}) would stop",
                        role=role,
                        rule=a,
                        nsg_id=nsg.id,
                    )
                )
                break
    return drift


def _edit(name: str, p: AzRule, a: AzRule) -> str:
    if name == "ports":
        return f"ports {p.ports_text()} → {a.ports_text()}"
    if name in ("addresses", "asgs"):
        parts = []
        for end, ps, as_ in (("source", p.source, a.source), ("destination", p.destination, a.destination)):
            before, after = getattr(ps, name), getattr(as_, name)
            if before != after:
                parts.append(f"{end} {', '.join(before) or '(none)'} → {', '.join(after) or '(none)'}")
        return "; ".join(parts)
    return f"{name} {p.field_value(name)} → {a.field_value(name)}"


@dataclass
class _AzPackets:
    """What the plan and the subscription admit, per role and direction, and what the cloud admits beyond the plan."""

    plan: Admitted
    cloud: Admitted
    more: Mapping[tuple[str, Direction], Node]  # cloud − plan
    extra: Mapping[str, tuple[Admitted, Mapping[tuple[str, Direction], Node]]]  # stray NSG id → its model, beyond plan
    plan_nsgs: dict[str, str] = field(default_factory=dict)  # role → planned NSG name
    explained: list[tuple[str, Direction, Node]] = field(default_factory=list)
    # Members the cloud lets through only for where their addresses are (a CIDR where the plan has a tag)
    members: list[Unknown] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        spec: AzureSpec,
        planned: Mapping[str, list[AzRule]],
        match: _AzMatch,
        outside: Iterable[az.ActualNsg] = (),
        outside_asgs: Iterable[az.ActualAsg] = (),
    ) -> _AzPackets:
        unknown: list[Unknown] = []
        names = {r.role: r.nsg_name for r in spec.roles}
        plan = build(
            "azure",
            [
                *(_packet(names[role], rule, unknown) for role, rules in planned.items() for rule in rules),
                *(a for role, name in names.items() for a in anchors(name, role)),
            ],
        )
        cloud_rules = []
        for role, nsg in match.nsgs.items():
            cloud_rules += [_packet(nsg.name, _actual_az(role, r, match.asg_roles), unknown) for r in nsg.rules]
            cloud_rules += anchors(nsg.name, role)
        cloud = build("azure", cloud_rules)
        more = {
            key: node for key in cloud.roles() if (node := difference(cloud.get(*key), plan.get(*key))) is not False
        }
        extra = {}
        # A stray NSG (a second one for a role, or one in another resource group) that is attached
        # somewhere is judged by what it admits, its own rules and then Azure's defaults.
        # Its ASG references mean roles by the ASGs' tags, wherever those ASGs are.
        roles = {a.id.casefold(): r for a in outside_asgs if (r := az.tag(a.tags, ROLE_TAG))} | match.asg_roles
        for nsg in [*match.extra_nsgs, *outside]:
            if not nsg.attached:
                continue
            role = az.tag(nsg.tags, ROLE_TAG) or "?"
            rules = [_packet(nsg.name, _actual_az(role, r, roles), []) for r in nsg.rules]
            model = build("azure", [*rules, *anchors(nsg.name, role)])
            beyond = {
                key: node for key in model.roles() if (node := difference(model.get(*key), plan.get(*key))) is not False
            }
            extra[nsg.id] = (model, beyond)
        members = [
            found
            for key in cloud.roles()
            for found in members_unknowns(plan.sets.get(key), cloud.sets[key], more.get(key, False))
        ]
        return cls(plan, cloud, more, extra, names, members=members)

    def opened_by(self, role: str, direction: str, nsg: str, name: str) -> Node:
        """Packets beyond the plan that the subscription's rule ``name`` decides (it lets them through)."""
        return self._decided(self.cloud, role, direction, f"{nsg}/{name}", True)

    def released_by(self, role: str, direction: str, nsg: str, name: str) -> Node:
        """Packets beyond the plan that the planned deny ``name`` would have stopped."""
        return self._decided(self.plan, role, direction, f"{nsg}/{name}", False)

    def _decided(self, model: Admitted, role: str, direction: str, label: str, allow: bool) -> Node:
        key = (role, _way(direction))
        found, more = model.sets.get(key), self.more.get(key, False)
        if found is None or more is False:
            return False
        hit = union_all(intersection(d.node, more) for d in found.deciders if d.label == label and d.allow == allow)
        if hit is not False:
            self.explained.append((role, key[1], hit))
        return hit

    def unexplained(self, drift: list[Drift]) -> list[Drift]:
        """Broadening no drift line accounts for, as lines of its own (exact, never dropped)."""
        out = []
        for (role, direction), node in sorted(self.more.items(), key=lambda item: item[0]):
            done = union_all(n for r, d, n in self.explained if (r, d) == (role, direction))
            rest = difference(node, done)
            if rest is False:
                continue
            found = self.cloud.sets[(role, direction)]
            for line in describe(Change(role, direction, rest, tuple(found.deciding(rest)))):
                out.append(
                    Drift(
                        "admits-more",
                        line.sentence("the subscription admits"),
                        role=role,
                        broadening=line.sentence("admits"),
                    )
                )
        for news in self.members:
            text = f"the subscription admits what the plan does not: {news.text}"
            out.append(Drift("admits-more", text, role=news.role, broadening=news.text))
        return out


def _way(direction: str) -> Direction:
    return "in" if direction.casefold() in ("inbound", "in") else "out"


def _packet(nsg: str, rule: AzRule, unknown: list[Unknown]) -> PacketRule:
    """An Azure rule by content as a packet rule (ASGs of the stack as role symbols)."""
    return azure_rule(nsg, rule.role, arm_body(rule, rule.description, lambda a: a), _asg_peer, unknown)


def arm_body(rule: AzRule, description: str, asg_id: Callable[[str], str]) -> dict[str, Any]:
    """A rule by content in ARM's camelCase properties, each ASG written by ``asg_id`` (``role:<role>`` or an id)."""
    body: dict[str, Any] = {
        "name": rule.name,
        "priority": rule.priority,
        "direction": rule.direction,
        "access": rule.access,
        "protocol": rule.protocol,
        "destinationPortRanges": list(rule.ports),
        "sourcePortRanges": list(rule.source_ports),
        "description": description,
    }
    for end, side in (("source", rule.source), ("destination", rule.destination)):
        body[f"{end}AddressPrefixes"] = list(side.addresses)
        body[f"{end}ApplicationSecurityGroups"] = [{"id": asg_id(a)} for a in side.asgs]
    return body


def _asg_reference(asg: str) -> str:
    """``role:<role>`` as a reference to the stand-in ASG resource the policy check is given; an id as it is."""
    return f"${{asg:{asg.removeprefix('role:')}.id}}" if asg.startswith("role:") else asg


def _asg_peer(ref: Any, label: str, unknown: list[Unknown]) -> PeerSet | None:
    """``role:<role>`` (the stack's ASG of a role) as its role's members; another ASG is outside (None)."""
    return symbol("role", ref.removeprefix("role:")) if isinstance(ref, str) and ref.startswith("role:") else None


def _packets_text(role: str, direction: str, node: Node, model: Admitted) -> str:
    found = model.sets.get((role, _way(direction)))
    deciders = tuple(found.deciding(node)) if found else ()
    found_lines = describe(Change(role, _way(direction), node, deciders))
    shown = "; ".join(line.sentence("lets through").removeprefix("lets through ") for line in found_lines[:3])
    more = f" and {len(found_lines) - 3} more" if len(found_lines) > 3 else ""
    return shown + more


def _az_broadening(d: Drift, planned: Mapping[str, list[AzRule]], match: _AzMatch, packets: _AzPackets) -> Drift:
    """A drift line is broadening when the subscription admits, through it, packets the plan does not.

    Judged on packets: an extra allow that a higher-priority deny shadows lets nothing new through;
    a deny-all narrowed to ``Internet`` (or to ``Tcp``) lets the virtual network in through Azure's
    defaults, and that is broadening.
    """
    why: str | None = None
    rule = d.rule
    nsg = match.nsgs.get(d.role or "")
    nsg_name = nsg.name if nsg is not None else ""
    planned_nsg = packets.plan_nsgs
    if d.kind in ("extra-rule", "shadowed-deny-all") and isinstance(rule, AzRule) and rule.access == "Allow":
        hit = packets.opened_by(rule.role, rule.direction, nsg_name, rule.name)
        if hit is not False:
            why = (
                f"opens {rule.sentence()}"
                if d.kind == "extra-rule"
                else f"{rule.name} opens {rule.sentence()} ahead of {DENY_ALL[rule.direction]}"
            )
    elif d.kind.startswith("changed-") and isinstance(rule, AzRule) and isinstance(d.planned, AzRule):
        opened = packets.opened_by(rule.role, rule.direction, nsg_name, rule.name) if rule.access == "Allow" else False
        released = (
            packets.released_by(
                d.planned.role, d.planned.direction, planned_nsg.get(d.planned.role, ""), d.planned.name
            )
            if d.planned.access == "Deny"
            else False
        )
        if opened is not False:
            why = f"{rule.name} now allows {rule.sentence()}"
            if d.planned.access == "Allow":
                why += f"; planned {d.planned.sentence()}"
        elif released is not False:
            why = f"{rule.name} no longer stops what it was planned to: it now lets through " + _packets_text(
                rule.role, rule.direction, released, packets.cloud
            ).replace("admits ", "admits ", 1)
    elif d.kind in ("missing-deny-all", "missing-rule") and isinstance(rule, AzRule) and rule.access == "Deny":
        released = packets.released_by(rule.role, rule.direction, planned_nsg.get(rule.role, ""), rule.name)
        if released is not False:
            why = (
                AZURE_DEFAULTS[rule.direction]
                if d.kind == "missing-deny-all"
                else (
                    f"{rule.name} is gone: the subscription now lets through "
                    + _packets_text(rule.role, rule.direction, released, packets.cloud)
                )
            )
    elif d.kind in ("extra-nsg", "nsg-outside-resource-group") and d.nsg_id is not None and d.nsg_id in packets.extra:
        model, beyond = packets.extra[d.nsg_id]
        if beyond:
            (role, direction), node = sorted(beyond.items(), key=lambda item: item[0])[0]
            why = f"is attached and admits what the plan does not: {_packets_text(role, direction, node, model)}"
    return replace(d, broadening=why) if why else d


def _az_policy(
    drift: list[Drift],
    policy: PolicyInputs,
    planned: Mapping[str, list[AzRule]],
    match: _AzMatch,
    outside: Iterable[az.ActualNsg] = (),
) -> list[Drift]:
    """Name the policy rules the subscription's rules break, on every broadening line.

    Each NSG is judged whole, as the cloud evaluates it (first match, then Azure's defaults), so a
    rule that a deny shadows breaks nothing; a finding names its rule (``<nsg id>/<rule>``) or,
    for what only Azure's defaults let through, the NSG.
    """
    described = {(role, p.name): p.description for role, rules in planned.items() for p in rules}
    resources = [
        Resource(APPLICATION_SECURITY_GROUP, f"asg:{role}", "", {"tags": {ROLE_TAG: role}}) for role in match.asgs
    ]
    chosen = [(role, nsg, role) for role, nsg in match.nsgs.items()]
    stray_nsgs = [*match.extra_nsgs, *(n for n in outside if n.attached and n not in match.extra_nsgs)]
    # A stray NSG is judged on its own (its rules and Azure's defaults), not as a second NSG on the role's NICs.
    strays = [(az.tag(n.tags, ROLE_TAG) or "?", n, f"{az.tag(n.tags, ROLE_TAG) or '?'}@{n.name}") for n in stray_nsgs]
    for role, nsg, judged_as in [*chosen, *strays]:
        bodies = []
        for raw in nsg.rules:
            rule = _actual_az(role, raw, match.asg_roles)
            bodies.append(arm_body(rule, described.get((role, rule.name), raw.description), _asg_reference))
        tags = {ROLE_TAG: judged_as, "seawall:product": policy.product}
        resources.append(Resource(NETWORK_SECURITY_GROUP, nsg.id, "", {"tags": tags, "securityRules": bodies}))
    broken = policy.judge(resources, by="label")

    def lookup(d: Drift) -> list[str]:
        if d.kind in ("extra-nsg", "nsg-outside-resource-group"):
            nsg = next((n for n in stray_nsgs if n.id == d.nsg_id), None)
            if nsg is None:  # outside the resource group and attached to nothing: not judged
                return []
            return [nsg.id, *(f"{nsg.id}/{r.name}" for r in nsg.rules)]
        if d.kind in ("missing-deny-all", "admits-more") and d.role in match.nsgs:
            nsg = match.nsgs[d.role]
            return [nsg.id, *(f"{nsg.id}/{r.name}" for r in nsg.rules)] if d.kind == "admits-more" else [nsg.id]
        if isinstance(d.rule, AzRule) and d.nsg_id:
            return [f"{d.nsg_id}/{d.rule.name}", d.nsg_id] if d.rule.access == "Deny" else [f"{d.nsg_id}/{d.rule.name}"]
        return []

    return [replace(d, policy=broken_rules(broken, lookup(d))) if d.broadening else d for d in drift]


# --- one stack, end to end ---------------------------------------------------------------------------------------


def audit_azure_stack(
    compiled: CompiledStack,
    subscription: str | None,
    resource_group: str | None,
    endpoint_url: str | None,
    status: Callable[[str], None] | None = None,
    timeout: float | None = None,
    progress: Callable[[str], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> Report:
    """Compare the deployed Azure stack with its plan.

    ``subscription`` defaults to ``AZURE_SUBSCRIPTION_ID`` (from ``env``, default the process
    environment), then the stack's ``azure-native:subscriptionId``; ``resource_group`` to the
    stack's ``seawall:resourceGroupName``. Credentials come from azure-identity's default
    chain. Only GET requests are sent. Raises UserError (exit 2) as :func:`audit_aws_stack` does.
    """
    stack = compiled.config.stack
    check_cloud(compiled, "azure")
    spec = render_azure_stack(compiled)
    sub = az.config_subscription(
        subscription, os.environ if env is None else env, compiled.config.provider_config, stack
    )
    group = resource_group or compiled.config.settings.resource_group_name
    if not group:
        raise UserError(
            "--resource-group",
            f"no resource group: pass --resource-group or set seawall:resourceGroupName in Pulumi.{stack}.yaml",
        )
    client = az.connect(sub, endpoint_url, timeout)
    say = status or (lambda _line: None)
    say(f"auditing {stack} in resource group {group} of subscription {sub} ({client.endpoint}, read-only) ...")
    account = az.read_account(client, stack, group, progress)
    rules = sum(len(n.rules) for n in account.nsgs)
    say(
        f"read {count(account.nsgs, 'NSG')} with {count(rules, 'rule')} and {count(account.asgs, 'ASG')} "
        f"tagged {STACK_TAG}={stack} in {group}"
    )
    planned = (
        ("NSGs", len(spec.roles)),
        ("ASGs", len(spec.roles)),
        ("rules", sum(len(r.rules) for r in spec.roles)),
    )
    drift = compare_azure(spec, account, PolicyInputs.of(compiled))
    where = (("subscription", sub), ("resource_group", group))
    return Report(stack, "azure", where, drift, planned, azure_notes(account))
