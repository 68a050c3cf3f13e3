"""``render_azure``: flows → one NSG and one application security group per role.

Pure: no Pulumi, no network. Azure's hard limits are checked before any
resource is declared.

Rules are inline ``securityRules`` of the NSG, never standalone ``SecurityRule``
resources (mixing the two makes each update delete the other's rules:
pulumi-azure-native issues #1087 and #3359).

Priorities are stable. Hashing alone cannot promise that (two names can share
a slot, and whoever probes past the other moves when it leaves), so priorities
are pinned in a committed lock per stack (``stacks/<stack>.priorities.json``,
written by ``seawall priorities --write``). A pinned rule keeps its priority for
as long as it exists. A new rule gets its home slot, ``100 + sha256(name) mod
3996``, or the next free one, around the pinned rules; new rules are placed in
order of (home, name), so the result never depends on list order. The band ends with
explicit deny-all rules at 4096 in both directions: Azure's defaults allow all
outbound traffic (AllowInternetOutBound) and all VNet inbound traffic
(AllowVnetInBound), which would open far more than the documents ask for.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from seawall.azure.limits import (
    DENY_ALL_PRIORITY,
    FIRST_PRIORITY,
    LAST_ALLOW_PRIORITY,
    MAX_ASGS_PER_NSG,
    MAX_ASGS_PER_RULE,
    MAX_DESCRIPTION,
    MAX_PREFIXES_PER_NSG,
    MAX_RULE_NAME,
    MAX_RULES_PER_NSG,
    MAX_SERVICE_TAGS_PER_RULE,
    RULE_NAME,
)
from seawall.errors import LimitExceeded, QuotaExceeded, UnsupportedPeer
from seawall.flows import Endpoint, Flow, Flows
from seawall.netaddr import port_text, sort_networks
from seawall.stackconfig import AzureQuotas
from seawall.text import ascii_description, bounded_name, slug

AzDirection = Literal["Inbound", "Outbound"]
PriorityLock = Mapping[str, Mapping[str, Mapping[str, int]]]  # role → direction → rule name → priority


@dataclass(frozen=True, order=True)
class AzurePeer:
    """One side of a rule: address prefixes (one family), one service tag, ASGs, or any."""

    kind: Literal["prefixes", "service-tag", "asgs", "any"]
    values: tuple[str, ...] = ()
    roles: bool = False  # asgs: seawall role names (True) or external ASG ids (False)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "values": list(self.values), "roles": self.roles}


@dataclass(frozen=True)
class AzureRule:
    name: str
    priority: int
    direction: AzDirection
    access: Literal["Allow", "Deny"]
    protocol: Literal["Tcp", "Udp", "*"]
    source: AzurePeer
    destination: AzurePeer
    destination_port_range: str
    description: str
    entries: tuple[str, ...]
    peers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "priority": self.priority,
            "direction": self.direction,
            "access": self.access,
            "protocol": self.protocol,
            "source": self.source.to_json(),
            "destination": self.destination.to_json(),
            "destinationPortRange": self.destination_port_range,
            "description": self.description,
            "entries": list(self.entries),
            "peers": list(self.peers),
        }


@dataclass(frozen=True)
class AzureRoleSpec:
    role: str
    nsg_name: str  # Pulumi logical name of the NSG
    asg_name: str  # Pulumi logical name of the ASG
    rules: tuple[AzureRule, ...]
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AzureSpec:
    stack: str
    resource_group_name: str
    location: str
    roles: tuple[AzureRoleSpec, ...]

    def priorities(self) -> dict[str, dict[str, dict[str, int]]]:
        """The allow-rule priorities, in the shape of the priority lock."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for role in self.roles:
            for rule in role.rules:
                if rule.access == "Allow":
                    out.setdefault(role.role, {}).setdefault(rule.direction, {})[rule.name] = rule.priority
        return {r: {d: dict(sorted(n.items())) for d, n in sorted(v.items())} for r, v in sorted(out.items())}

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resourceGroupName": self.resource_group_name,
            "location": self.location,
            "roles": [
                {
                    "role": r.role,
                    "nsgName": r.nsg_name,
                    "asgName": r.asg_name,
                    "tags": dict(r.tags),
                    "rules": [rule.to_json() for rule in r.rules],
                }
                for r in self.roles
            ],
        }


def render_azure(
    flows: Flows,
    resource_group_name: str,
    location: str,
    prefix: str,
    quotas: AzureQuotas,
    ipv6: bool = False,
    tags: dict[str, str] | None = None,
    pinned: PriorityLock | None = None,
) -> AzureSpec:
    """Render a stack's flows as Azure specifications, or raise before anything is declared.

    ``pinned`` (role → direction → rule name → priority) keeps existing rules where they are.
    """
    roles = []
    for role in flows.roles:
        draft: dict[tuple[AzDirection, str, int, int, AzurePeer], tuple[set[str], set[str], str]] = {}
        for flow in flows.for_role(role):
            for direction, other in _sides(flow, role):
                for peer, key in _azure_peers(other, flows, ipv6):
                    k = (direction, flow.protocol, flow.first_port, flow.last_port, peer)
                    ids, seen_labels, _ = draft.setdefault(k, (set(), set(), key))
                    ids.update(flow.entries)
                    seen_labels.add(other.label)
        own = AzurePeer("asgs", (role,), roles=True)
        unplaced = []
        for (direction, protocol, first, last, peer), (ids, label_set, key) in draft.items():
            ports = port_text(first, last)
            entries = tuple(sorted(ids))
            purpose = "; ".join(dict.fromkeys(flows.purposes.get(i, i) for i in entries))
            way = "from" if direction == "Inbound" else "to"
            name = bounded_name(f"{'in' if direction == 'Inbound' else 'out'}-{protocol}-{ports}-{key}", MAX_RULE_NAME)
            unplaced.append(
                (
                    name,
                    direction,
                    protocol,
                    ports,
                    peer,
                    entries,
                    tuple(sorted(label_set)),
                    ascii_description(
                        f"{protocol}/{ports} {way} {', '.join(sorted(label_set))}: {purpose}", MAX_DESCRIPTION, entries
                    ),
                )
            )
        rules: list[AzureRule] = []
        for direction in ("Inbound", "Outbound"):
            batch = [u for u in unplaced if u[1] == direction]
            priorities = assign_priorities([u[0] for u in batch], (pinned or {}).get(role, {}).get(direction))
            for name, _, protocol, ports, peer, entries, labels, description in batch:
                src, dst = (peer, own) if direction == "Inbound" else (own, peer)
                rules.append(
                    AzureRule(
                        name=name,
                        priority=priorities[name],
                        direction=direction,
                        access="Allow",
                        protocol="Tcp" if protocol == "tcp" else "Udp",
                        source=src,
                        destination=dst,
                        destination_port_range=ports,
                        description=description,
                        entries=entries,
                        peers=labels,
                    )
                )
            rules.append(_deny_all(direction))
        rules.sort(key=lambda r: (r.direction, r.priority))
        _check_limits(role, rules, quotas)
        roles.append(
            AzureRoleSpec(
                role=role,
                nsg_name=f"{prefix}-{role}-nsg",
                asg_name=f"{prefix}-{role}-asg",
                rules=tuple(rules),
                tags=tuple(
                    sorted(
                        {
                            "seawall:stack": flows.stack,
                            "seawall:role": role,
                            "seawall:topology": flows.topology,
                            "seawall:product": flows.product,
                            **(tags or {}),
                        }.items()
                    )
                ),
            )
        )
    return AzureSpec(flows.stack, resource_group_name, location, tuple(roles))


def home_priority(name: str) -> int:
    span = LAST_ALLOW_PRIORITY - FIRST_PRIORITY + 1
    return FIRST_PRIORITY + int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % span


def assign_priorities(names: list[str], pinned: Mapping[str, int] | None = None) -> dict[str, int]:
    """Stable priorities for one NSG direction (see the module docstring)."""
    span = LAST_ALLOW_PRIORITY - FIRST_PRIORITY + 1
    if len(names) > span:
        raise QuotaExceeded("(nsg)", "allow rules in one direction", len(names), span, "split the role")
    taken: set[int] = set()
    out: dict[str, int] = {}
    for name in sorted(n for n in names if pinned and n in pinned):
        slot = pinned[name]  # type: ignore[index]
        if not FIRST_PRIORITY <= slot <= LAST_ALLOW_PRIORITY or slot in taken:
            raise LimitExceeded(
                "priority lock", f"rule {name} is pinned to {slot}, which is out of band or taken twice"
            )
        taken.add(slot)
        out[name] = slot
    for name in sorted((n for n in names if n not in out), key=lambda n: (home_priority(n), n)):
        slot = home_priority(name)
        while slot in taken:
            slot = FIRST_PRIORITY if slot == LAST_ALLOW_PRIORITY else slot + 1
        taken.add(slot)
        out[name] = slot
    return out


def _deny_all(direction: AzDirection) -> AzureRule:
    word = "inbound" if direction == "Inbound" else "outbound"
    return AzureRule(
        name=f"deny-all-{word}",
        priority=DENY_ALL_PRIORITY,
        direction=direction,
        access="Deny",
        protocol="*",
        source=AzurePeer("any"),
        destination=AzurePeer("any"),
        destination_port_range="*",
        description=f"seawall: deny all other {word} traffic (overrides Azure's default allow rules)",
        entries=(),
        peers=(),
    )


def _sides(flow: Flow, role: str) -> list[tuple[AzDirection, Endpoint]]:
    me = Endpoint("role", role)
    sides: list[tuple[AzDirection, Endpoint]] = []
    if flow.src == me:
        sides.append(("Outbound", flow.dst))
    if flow.dst == me:
        sides.append(("Inbound", flow.src))
    return sides


def _azure_peers(other: Endpoint, flows: Flows, ipv6: bool) -> list[tuple[AzurePeer, str]]:
    if other.kind == "role":
        return [(AzurePeer("asgs", (other.name,), roles=True), f"role-{other.name}")]
    if other.kind == "internet":
        return [(AzurePeer("service-tag", ("Internet",)), "internet")]
    if other.kind == "service":
        addresses = flows.services[other.name]
        out = []
        for version in (4, 6):
            nets = addresses.family(version)
            if nets and (version == 4 or ipv6):
                out.append((AzurePeer("prefixes", nets), f"svc-{slug(other.name)}-ipv{version}"))
        return out
    out = []
    bindings = flows.sites[other.name]
    site = slug(other.name)
    for version in (4, 6):
        nets = sort_networks(b.value for b in bindings if b.kind == "cidr" and b.family == version)
        if nets:
            out.append((AzurePeer("prefixes", nets), f"site-{site}-ipv{version}"))
    for binding in bindings:
        if binding.kind == "service-tag":
            out.append((AzurePeer("service-tag", (binding.value,)), f"site-{site}-tag-{slug(binding.value)}"))
        elif binding.kind == "internet":
            out.append((AzurePeer("service-tag", ("Internet",)), f"site-{site}-internet"))
        elif binding.kind not in ("cidr", "asg"):
            raise UnsupportedPeer(
                f"site peer {other.name}", f"{binding.value!r} cannot be expressed in an Azure NSG rule"
            )
    asgs = tuple(sorted(b.value for b in bindings if b.kind == "asg"))
    for start in range(0, len(asgs), MAX_ASGS_PER_RULE):
        chunk = asgs[start : start + MAX_ASGS_PER_RULE]
        out.append(
            (AzurePeer("asgs", chunk), f"site-{site}-asg" + (f"-{start // MAX_ASGS_PER_RULE + 1}" if start else ""))
        )
    return out


def _heaviest(sizes: dict[str, int], top: int = 3) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:top])


def _check_limits(role: str, rules: list[AzureRule], quotas: AzureQuotas) -> None:
    hard = "Azure's limit per NSG cannot be raised"
    if len(rules) > quotas.rules_per_nsg:
        heaviest = _heaviest({", ".join(r.peers) or r.name: 1 for r in rules})
        raise QuotaExceeded(
            role,
            "NSG rules (allow rules plus the two deny-all rules)",
            len(rules),
            quotas.rules_per_nsg,
            f"heaviest: {heaviest}; {hard} ({MAX_RULES_PER_NSG:,}): bind fewer site peers or enable fewer features",
        )
    for end in ("source", "destination"):
        sizes: dict[str, int] = {}
        for rule in rules:
            peer = rule.source if end == "source" else rule.destination
            if peer.kind == "prefixes":
                label = ", ".join(rule.peers) or rule.name
                sizes[label] = sizes.get(label, 0) + len(peer.values)
        count = sum(sizes.values())
        if count > quotas.prefixes_per_nsg:
            raise QuotaExceeded(
                role,
                f"{end} address prefixes in one NSG",
                count,
                quotas.prefixes_per_nsg,
                f"heaviest: {_heaviest(sizes)}; {hard} ({MAX_PREFIXES_PER_NSG:,}): narrow the vendor addresses "
                "(seawall resolve --ip-ranges-region / --ip-ranges-service) or bind fewer CIDRs",
            )
    asgs: set[str] = set()
    for rule in rules:
        if not RULE_NAME.match(rule.name) or len(rule.name) > MAX_RULE_NAME:
            raise LimitExceeded(
                f"role {role}", f"rule name {rule.name!r} breaks Azure's naming rule {RULE_NAME.pattern}"
            )
        if len(rule.description) > MAX_DESCRIPTION:
            raise LimitExceeded(f"role {role}", f"rule {rule.name} description is longer than {MAX_DESCRIPTION}")
        for side in (rule.source, rule.destination):
            if side.kind == "prefixes" and len({ipaddress.ip_network(v).version for v in side.values}) > 1:
                raise LimitExceeded(f"role {role}", f"rule {rule.name} mixes IPv4 and IPv6 prefixes")
            if side.kind == "service-tag" and len(side.values) > MAX_SERVICE_TAGS_PER_RULE:
                raise LimitExceeded(f"role {role}", f"rule {rule.name} has more than one service tag")
            if side.kind == "asgs":
                if len(side.values) > MAX_ASGS_PER_RULE:
                    raise QuotaExceeded(
                        role, f"ASGs in rule {rule.name}", len(side.values), MAX_ASGS_PER_RULE, "split the rule"
                    )
                asgs.update(side.values)
    if len(asgs) > MAX_ASGS_PER_NSG:
        raise QuotaExceeded(role, "ASGs referenced by one NSG", len(asgs), MAX_ASGS_PER_NSG, "bind fewer ASGs")
    seen: dict[tuple[str, int], str] = {}
    for rule in rules:
        key = (rule.direction, rule.priority)
        if key in seen:
            raise LimitExceeded(f"role {role}", f"rules {seen[key]} and {rule.name} share priority {rule.priority}")
        seen[key] = rule.name
