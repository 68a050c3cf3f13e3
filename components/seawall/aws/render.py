"""``render_aws``: flows → security groups, one-peer rules and customer-managed prefix lists.

Pure: no Pulumi, no network. Every AWS hard limit seawall knows is checked here,
before any resource is declared; breaking one raises a typed error that names the
role, the count, the limit and the way out.

- One security group per role; egress is tight (only documented flows; the
  provider removes AWS's default allow-all egress).
- One ``aws.vpc.SecurityGroupIngressRule`` / ``SecurityGroupEgressRule`` per
  peer: a CIDR, a prefix list or a referenced security group. No inline rules.
- One customer-managed prefix list per vendor service and address family, sized
  with headroom; a rule that references it counts ``max_entries`` rules.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from seawall.addresses.ipsets import ServiceAddresses
from seawall.aws.limits import (
    MAX_DESCRIPTION,
    MAX_PREFIX_LIST_ENTRIES,
    MAX_RULES_TIMES_GROUPS_PER_ENI,
    MAX_SECURITY_GROUPS_PER_ENI,
    PREFIX_LIST_HEADROOM,
    PREFIX_LIST_MIN_HEADROOM,
    RESERVED_PREFIX_LIST_PREFIX,
)
from seawall.errors import LimitExceeded, QuotaExceeded
from seawall.flows import Endpoint, Flow, Flows
from seawall.netaddr import port_text
from seawall.stackconfig import AwsQuotas, Binding
from seawall.text import ascii_description, slug

PeerKind = Literal["cidr_ipv4", "cidr_ipv6", "prefix_list", "security_group"]
Direction = Literal["ingress", "egress"]
Family = Literal["IPv4", "IPv6"]


@dataclass(frozen=True, order=True)
class AwsPeer:
    """The single peer of a rule. ``prefix_list``/``security_group`` values are seawall keys or external ids."""

    kind: PeerKind
    value: str
    external: bool = False  # an id the user gave (sg-…, pl-…), not a resource seawall declares

    @property
    def key(self) -> str:
        if self.kind in ("cidr_ipv4", "cidr_ipv6"):
            return (
                "internet-" + ("ipv4" if self.kind == "cidr_ipv4" else "ipv6")
                if _is_default(self.value)
                else "cidr-" + slug(self.value.replace("/", "-"))
            )
        if self.external:
            return self.value
        return ("role-" if self.kind == "security_group" else "svc-") + self.value

    @property
    def families(self) -> tuple[int, ...]:
        if self.kind == "cidr_ipv4":
            return (4,)
        if self.kind == "cidr_ipv6":
            return (6,)
        if self.kind == "prefix_list" and not self.external:
            return (6,) if self.value.endswith("-ipv6") else (4,)
        return (4, 6)  # a referenced group or an external list may hold either family


def _is_default(cidr: str) -> bool:
    return ipaddress.ip_network(cidr).prefixlen == 0


@dataclass(frozen=True)
class AwsSecurityGroup:
    role: str
    name: str  # Pulumi logical name
    group_name: str
    description: str
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AwsPrefixList:
    key: str  # service-family, e.g. kav-update-ipv4
    service: str
    name: str
    list_name: str
    address_family: Literal["IPv4", "IPv6"]
    max_entries: int
    entries: tuple[tuple[str, str], ...]  # (cidr, description)
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AwsRule:
    name: str
    role: str
    direction: Direction
    ip_protocol: str
    from_port: int
    to_port: int
    peer: AwsPeer
    description: str
    entries: tuple[str, ...]
    peers: tuple[str, ...]  # the flow endpoints this rule serves (site:…, service:…, internet, role:…)
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AwsSpec:
    stack: str
    vpc_id: str | None
    security_groups: tuple[AwsSecurityGroup, ...]
    prefix_lists: tuple[AwsPrefixList, ...]
    rules: tuple[AwsRule, ...]
    quota_use: tuple[tuple[str, str, int, int], ...] = field(default=())  # (role, direction/family, used, limit)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "vpcId": self.vpc_id,
            "securityGroups": [_asdict(sg) for sg in self.security_groups],
            "prefixLists": [_asdict(pl) for pl in self.prefix_lists],
            "rules": [_asdict(rule) for rule in self.rules],
            "quotaUse": [{"role": r, "rules": k, "used": u, "limit": lim} for r, k, u, lim in self.quota_use],
        }


def _asdict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__dataclass_fields__:
        value = getattr(obj, name)
        if isinstance(value, AwsPeer):
            value = {"kind": value.kind, "value": value.value, "external": value.external}
        elif name == "tags":
            value = dict(value)
        elif name == "entries" and value and isinstance(value[0], tuple):
            value = [{"cidr": c, "description": d} for c, d in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def prefix_list_max_entries(count: int, account_max: int = MAX_PREFIX_LIST_ENTRIES) -> int:
    headroom = max(PREFIX_LIST_MIN_HEADROOM, math.ceil(count * PREFIX_LIST_HEADROOM))
    return min(account_max, count + headroom)


def render_aws(
    flows: Flows,
    vpc_id: str | None,
    prefix: str,
    quotas: AwsQuotas,
    ipv6: bool = False,
    tags: dict[str, str] | None = None,
) -> AwsSpec:
    """Render a stack's flows as AWS specifications, or raise before anything is declared."""
    base_tags = {"seawall:stack": flows.stack, **(tags or {})}
    _check_account_quotas(quotas)
    groups = tuple(
        AwsSecurityGroup(
            role=role,
            name=f"{prefix}-{role}-sg",
            group_name=f"{prefix}-{role}",
            description=ascii_description(f"seawall {flows.topology} {role} role ({flows.product})", MAX_DESCRIPTION),
            tags=_tags(
                base_tags,
                {
                    "seawall:role": role,
                    "seawall:topology": flows.topology,
                    "seawall:product": flows.product,
                    "Name": f"{prefix}-{role}",
                },
            ),
        )
        for role in flows.roles
    )
    prefix_lists = _prefix_lists(flows, prefix, quotas, ipv6, base_tags)
    by_service = {(pl.service, pl.address_family): pl for pl in prefix_lists}

    merged: dict[tuple[str, Direction, str, int, int, AwsPeer], tuple[set[str], set[str]]] = {}
    for flow in flows.flows:
        for role, direction, other in _sides(flow):
            for peer in _aws_peers(other, flows, by_service, ipv6):
                key = (role, direction, flow.protocol, flow.first_port, flow.last_port, peer)
                ids, labels = merged.setdefault(key, (set(), set()))
                ids.update(flow.entries)
                labels.add(other.label)

    rules = []
    for (role, direction, protocol, first, last, peer), (ids, labels) in sorted(
        merged.items(), key=lambda kv: _sort_key(kv[0])
    ):
        entries = tuple(sorted(ids))
        ports = port_text(first, last)
        way = "from" if direction == "ingress" else "to"
        purpose = "; ".join(dict.fromkeys(flows.purposes.get(i, i) for i in entries))
        rules.append(
            AwsRule(
                name=f"{prefix}-{role}-{'in' if direction == 'ingress' else 'out'}-{protocol}-{ports}-{peer.key}",
                role=role,
                direction=direction,
                ip_protocol=protocol,
                from_port=first,
                to_port=last,
                peer=peer,
                description=ascii_description(
                    f"{protocol}/{ports} {way} {', '.join(sorted(labels))}: {purpose}", MAX_DESCRIPTION, entries
                ),
                entries=entries,
                peers=tuple(sorted(labels)),
                tags=_tags(
                    base_tags,
                    {
                        "seawall:role": role,
                        "seawall:product": flows.product,
                        "seawall:entries": " ".join(entries)[:256],
                    },
                ),
            )
        )
    spec = AwsSpec(flows.stack, vpc_id, groups, prefix_lists, tuple(rules))
    return AwsSpec(spec.stack, vpc_id, groups, prefix_lists, spec.rules, _check_rule_quotas(spec, quotas))


def _sort_key(key: tuple[str, Direction, str, int, int, AwsPeer]) -> tuple[Any, ...]:
    role, direction, protocol, first, last, peer = key
    return (role, direction, protocol, first, last, peer.key)


def _tags(base: dict[str, str], extra: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({**base, **extra}.items()))


def _sides(flow: Flow) -> list[tuple[str, Direction, Endpoint]]:
    """The rules a flow needs: egress on a source role, ingress on a destination role."""
    sides: list[tuple[str, Direction, Endpoint]] = []
    if flow.src.kind == "role":
        sides.append((flow.src.name, "egress", flow.dst))
    if flow.dst.kind == "role":
        sides.append((flow.dst.name, "ingress", flow.src))
    return sides


def _aws_peers(
    other: Endpoint, flows: Flows, lists: dict[tuple[str, Family], AwsPrefixList], ipv6: bool
) -> list[AwsPeer]:
    if other.kind == "role":
        return [AwsPeer("security_group", other.name)]
    if other.kind == "internet":
        return _internet(ipv6)
    if other.kind == "service":
        families: tuple[Family, ...] = ("IPv4", "IPv6")
        return [AwsPeer("prefix_list", pl.key) for fam in families if (pl := lists.get((other.name, fam)))]
    peers: list[AwsPeer] = []
    for binding in flows.sites[other.name]:
        peers += _binding_peers(binding, ipv6)
    return peers


def _internet(ipv6: bool) -> list[AwsPeer]:
    return [AwsPeer("cidr_ipv4", "0.0.0.0/0")] + ([AwsPeer("cidr_ipv6", "::/0")] if ipv6 else [])


def _binding_peers(binding: Binding, ipv6: bool) -> list[AwsPeer]:
    if binding.kind == "internet":
        return _internet(ipv6)
    if binding.kind == "cidr":
        return [AwsPeer("cidr_ipv4" if binding.family == 4 else "cidr_ipv6", binding.value)]
    if binding.kind == "sg":
        return [AwsPeer("security_group", binding.value, external=True)]
    return [AwsPeer("prefix_list", binding.value, external=True)]


def _prefix_lists(
    flows: Flows, prefix: str, quotas: AwsQuotas, ipv6: bool, base_tags: dict[str, str]
) -> tuple[AwsPrefixList, ...]:
    lists = []
    used = {e.name for f in flows.flows for e in (f.src, f.dst) if e.kind == "service"}
    for service, addresses in flows.services.items():
        if service not in used:
            continue
        pairs: tuple[tuple[Family, int], ...] = (("IPv4", 4), ("IPv6", 6))
        for family, version in pairs:
            networks = addresses.family(version)
            if not networks or (version == 6 and not ipv6):
                continue
            lists.append(_prefix_list(flows, prefix, service, family, networks, addresses, quotas, base_tags))
    return tuple(lists)


def _prefix_list(
    flows: Flows,
    prefix: str,
    service: str,
    family: Literal["IPv4", "IPv6"],
    networks: tuple[str, ...],
    addresses: ServiceAddresses,
    quotas: AwsQuotas,
    base_tags: dict[str, str],
) -> AwsPrefixList:
    suffix = family.lower()
    list_name = f"{prefix}-{flows.product}-{service}-{suffix}"
    if list_name.startswith(RESERVED_PREFIX_LIST_PREFIX):
        raise LimitExceeded(
            f"prefix list {list_name}",
            f"names may not start with {RESERVED_PREFIX_LIST_PREFIX}; change seawall:namePrefix",
        )
    if len(networks) > quotas.prefix_list_max_entries:
        raise QuotaExceeded(
            f"service {service}",
            f"{family} prefix-list entries",
            len(networks),
            quotas.prefix_list_max_entries,
            "collapse the addresses (seawall resolve --ip-ranges filters by service and region) or split the service",
        )
    return AwsPrefixList(
        key=f"{service}-{suffix}",
        service=service,
        name=f"{prefix}-{service}-{suffix}-pl",
        list_name=list_name,
        address_family=family,
        max_entries=prefix_list_max_entries(len(networks), quotas.prefix_list_max_entries),
        entries=tuple((n, ascii_description(f"{service} ({addresses.source})", MAX_DESCRIPTION)) for n in networks),
        tags=_tags(base_tags, {"seawall:service": f"{flows.product}/{service}", "Name": list_name}),
    )


def _check_account_quotas(quotas: AwsQuotas) -> None:
    if quotas.security_groups_per_eni > MAX_SECURITY_GROUPS_PER_ENI:
        raise QuotaExceeded(
            "(all)",
            "security groups per network interface",
            quotas.security_groups_per_eni,
            MAX_SECURITY_GROUPS_PER_ENI,
            "AWS allows at most 16",
        )
    product = quotas.rules_per_security_group * quotas.security_groups_per_eni
    if product > MAX_RULES_TIMES_GROUPS_PER_ENI:
        raise QuotaExceeded(
            "(all)",
            "rules per security group x security groups per network interface",
            product,
            MAX_RULES_TIMES_GROUPS_PER_ENI,
            "AWS caps the product at 1,000: lower seawall:quotas.aws.securityGroupsPerEni or rulesPerSecurityGroup",
        )


def _check_rule_quotas(spec: AwsSpec, quotas: AwsQuotas) -> tuple[tuple[str, str, int, int], ...]:
    """Count rules per role, direction and family; a prefix-list rule counts its max_entries."""
    weights = {pl.key: pl.max_entries for pl in spec.prefix_lists}
    usage: dict[tuple[str, str], int] = {}
    for rule in spec.rules:
        weight = weights[rule.peer.value] if rule.peer.kind == "prefix_list" and not rule.peer.external else 1
        for family in rule.peer.families:
            key = (rule.role, f"{rule.direction} IPv{family}")
            usage[key] = usage.get(key, 0) + weight
    limit = quotas.rules_per_security_group
    for (role, what), used in sorted(usage.items()):
        if used > limit:
            raise QuotaExceeded(
                role,
                f"{what} rules (prefix lists count their max entries)",
                used,
                limit,
                "ask AWS to raise 'Inbound or outbound rules per security group' and set "
                "seawall:quotas.aws.rulesPerSecurityGroup, or bind fewer CIDRs per site peer",
            )
    return tuple((role, what, used, limit) for (role, what), used in sorted(usage.items()))
