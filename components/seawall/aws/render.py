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
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from seawall.addresses.ipsets import ServiceAddresses
from seawall.aws.layout import HEADROOM_LEVELS, Item, chunk_networks, consumers, fewest_groups, max_entries, totals
from seawall.aws.limits import (
    EGRESS_RULE,
    INGRESS_RULE,
    MAX_DESCRIPTION,
    MAX_PREFIX_LIST_ENTRIES,
    MAX_RULES_TIMES_GROUPS_PER_ENI,
    MAX_SECURITY_GROUPS_PER_ENI,
    PREFIX_LIST,
    PREFIX_LIST_HEADROOM,
    PREFIX_LIST_MIN_HEADROOM,
    RESERVED_PREFIX_LIST_PREFIX,
    SEAWALL_TAG_KEYS,
    SECURITY_GROUP,
)
from seawall.errors import LimitExceeded, QuotaExceeded
from seawall.flows import Endpoint, Flow, Flows
from seawall.netaddr import port_text
from seawall.stackconfig import AwsQuotas, Binding
from seawall.text import ascii_description, slug

# A vendor list's key: <service>-ipv4|ipv6, with -N when the service is split into several lists.
LIST_KEY_FAMILY = re.compile(r"-ipv([46])(?:-\d+)?$")

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
            return (6,) if LIST_KEY_FAMILY.search(self.value).group(1) == "6" else (4,)  # type: ignore[union-attr]
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
    index: int = 1  # the role's first group is 1; attach all of a role's groups to its interfaces


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
    group: str = ""  # the logical name of the security group that holds it


@dataclass(frozen=True)
class QuotaUse:
    """How much of one group's quota one direction and family uses, and who uses most."""

    group: str  # the group's name, e.g. dmz-gateway-2
    role: str
    dimension: str  # e.g. "egress IPv4"
    used: int
    limit: int
    consumers: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "role": self.role,
            "rules": self.dimension,
            "used": self.used,
            "limit": self.limit,
            "consumers": [{"peer": c, "weight": w} for c, w in self.consumers],
        }


@dataclass(frozen=True)
class AwsSpec:
    stack: str
    vpc_id: str | None
    security_groups: tuple[AwsSecurityGroup, ...]
    prefix_lists: tuple[AwsPrefixList, ...]
    rules: tuple[AwsRule, ...]
    quota_use: tuple[QuotaUse, ...] = field(default=())
    headroom: tuple[float, int] = HEADROOM_LEVELS[0]  # the prefix-list headroom the layout kept

    def groups_of(self, role: str) -> tuple[AwsSecurityGroup, ...]:
        return tuple(sg for sg in self.security_groups if sg.role == role)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "vpcId": self.vpc_id,
            "securityGroups": [_asdict(sg) for sg in self.security_groups],
            "prefixLists": [_asdict(pl) for pl in self.prefix_lists],
            "rules": [_asdict(rule) for rule in self.rules],
            "quotaUse": [q.to_json() for q in self.quota_use],
            "headroom": {"share": self.headroom[0], "atLeast": self.headroom[1]},
        }


def _asdict(obj: Any) -> dict[str, Any]:
    """A dataclass as JSON with the plan's camelCase keys (``max_entries`` → ``maxEntries``)."""
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
        out[_camel(name)] = value
    return out


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def prefix_list_max_entries(count: int, account_max: int = MAX_PREFIX_LIST_ENTRIES) -> int:
    """``max_entries`` with the full headroom: 25 % more, at least 2, capped by the account's maximum."""
    return max_entries(count, (PREFIX_LIST_HEADROOM, PREFIX_LIST_MIN_HEADROOM), account_max)


def render_aws(
    flows: Flows,
    vpc_id: str | None,
    prefix: str,
    quotas: AwsQuotas,
    ipv6: bool = False,
    tags: dict[str, str] | None = None,
) -> AwsSpec:
    """Render a stack's flows as AWS specifications, or raise before anything is declared.

    The layout (how many groups per role, how vendor lists are split, how much headroom
    the lists keep) is the one that needs the fewest groups, then keeps the most headroom.
    """
    stack_tags = dict(tags or {})
    _check_account_quotas(quotas)
    # Splitting lists never lowers the total weight: if even the exact, unsplit count is more than
    # all the groups hold, no layout exists, and none needs to be tried.
    rough = _layout(flows, prefix, quotas, ipv6, stack_tags, HEADROOM_LEVELS[-1], split=False, place=False)
    capacity = quotas.rules_per_security_group * quotas.security_groups_per_eni
    if any(total > capacity for items in rough.items.values() for total in totals(items).values()):
        raise _quota_error(flows, prefix, quotas, ipv6, stack_tags)
    best: tuple[int, int, _Layout] | None = None
    for rank, level in enumerate(HEADROOM_LEVELS):
        layout = _layout(flows, prefix, quotas, ipv6, stack_tags, level)
        if layout.placement is None:
            continue
        used = sum(layout.placement[role][0] for role in flows.roles)
        if best is None or used < best[0]:
            best = (used, rank, layout)
    if best is None:
        raise _quota_error(flows, prefix, quotas, ipv6, stack_tags)
    layout = best[2]
    assert layout.placement is not None
    groups: list[AwsSecurityGroup] = []
    group_of: dict[tuple[str, int], AwsSecurityGroup] = {}
    for role in flows.roles:
        count, _ = layout.placement[role]
        for index in range(1, count + 1):
            sg = _security_group(flows, prefix, role, index, stack_tags)
            groups.append(sg)
            group_of[(role, index)] = sg
    rules = tuple(
        replace(rule, group=group_of[(rule.role, layout.placement[rule.role][1][rule.name] + 1)].name)
        for rule in layout.rules
    )
    usage = _usage(rules, layout, quotas, group_of)
    return AwsSpec(flows.stack, vpc_id, tuple(groups), layout.lists, rules, usage, layout.level)


@dataclass(frozen=True)
class _Layout:
    level: tuple[float, int]
    lists: tuple[AwsPrefixList, ...]
    rules: tuple[AwsRule, ...]
    items: dict[str, tuple[Item, ...]]  # role → its rules as weights
    placement: dict[str, tuple[int, dict[str, int]]] | None  # role → (groups, rule name → group index)
    failed: frozenset[str] = frozenset()  # roles that do not fit


def _layout(
    flows: Flows,
    prefix: str,
    quotas: AwsQuotas,
    ipv6: bool,
    stack_tags: dict[str, str],
    level: tuple[float, int],
    split: bool = True,
    place: bool = True,
) -> _Layout:
    lists = _prefix_lists(flows, prefix, quotas, ipv6, stack_tags, level, split)
    by_service: dict[tuple[str, Family], list[AwsPrefixList]] = {}
    for pl in lists:
        by_service.setdefault((pl.service, pl.address_family), []).append(pl)
    rules = _rules(flows, prefix, ipv6, stack_tags, by_service)
    weights = {pl.key: pl.max_entries for pl in lists}
    items: dict[str, tuple[Item, ...]] = {}
    for role in flows.roles:
        items[role] = tuple(
            Item(r.name, tuple((r.direction, f) for f in r.peer.families), _weight(r, weights), _consumer(r))
            for r in rules
            if r.role == role
        )
    placement: dict[str, tuple[int, dict[str, int]]] = {}
    failed: set[str] = set()
    capacity = quotas.rules_per_security_group * quotas.security_groups_per_eni
    for role, role_items in items.items() if place else ():
        # More weight than all the groups hold cannot be packed: say so without trying.
        too_heavy = any(total > capacity for total in totals(role_items).values())
        found = (
            None
            if too_heavy
            else fewest_groups(role_items, quotas.rules_per_security_group, quotas.security_groups_per_eni)
        )
        if found is None:
            failed.add(role)
        else:
            placement[role] = found
    return _Layout(level, lists, rules, items, None if failed else placement, frozenset(failed))


def _weight(rule: AwsRule, weights: dict[str, int]) -> int:
    return weights[rule.peer.value] if rule.peer.kind == "prefix_list" and not rule.peer.external else 1


def _consumer(rule: AwsRule) -> str:
    return ", ".join(rule.peers)


def _security_group(flows: Flows, prefix: str, role: str, index: int, stack_tags: dict[str, str]) -> AwsSecurityGroup:
    suffix = "" if index == 1 else f"-{index}"
    name = f"{prefix}-{role}{suffix}"
    what = f"seawall {flows.topology} {role} role ({flows.product})" + (f", group {index}" if index > 1 else "")
    own = {
        "seawall:stack": flows.stack,
        "seawall:role": role,
        "seawall:topology": flows.topology,
        "seawall:product": flows.product,
        "Name": name,
    }
    if index > 1:
        own["seawall:group"] = str(index)
    return AwsSecurityGroup(
        role=role,
        name=f"{name}-sg",
        group_name=name,
        description=ascii_description(what, MAX_DESCRIPTION),
        tags=_tags(SECURITY_GROUP, stack_tags, own),
        index=index,
    )


def _rules(
    flows: Flows,
    prefix: str,
    ipv6: bool,
    stack_tags: dict[str, str],
    by_service: dict[tuple[str, Family], list[AwsPrefixList]],
) -> tuple[AwsRule, ...]:
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
                    EGRESS_RULE if direction == "egress" else INGRESS_RULE,
                    stack_tags,
                    {
                        "seawall:stack": flows.stack,
                        "seawall:role": role,
                        "seawall:product": flows.product,
                        "seawall:entries": " ".join(entries)[:256],
                    },
                ),
            )
        )
    return tuple(rules)


def _sort_key(key: tuple[str, Direction, str, int, int, AwsPeer]) -> tuple[Any, ...]:
    role, direction, protocol, first, last, peer = key
    return (role, direction, protocol, first, last, peer.key)


def _tags(kind: str, stack_tags: dict[str, str], own: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The stack's tags plus seawall's ``own`` on a resource of type ``kind``.

    seawall writes only the keys :data:`SEAWALL_TAG_KEYS` declares for the type: the stack file's
    tag limit (50 per resource, less seawall's own) is counted from them and must not fall behind.
    """
    if not own.keys() <= SEAWALL_TAG_KEYS[kind]:
        undeclared = ", ".join(sorted(own.keys() - SEAWALL_TAG_KEYS[kind]))
        raise AssertionError(f"{kind} tags {undeclared} are not in SEAWALL_TAG_KEYS (the tag limit counts them)")
    return tuple(sorted({**stack_tags, **own}.items()))


def _sides(flow: Flow) -> list[tuple[str, Direction, Endpoint]]:
    """The rules a flow needs: egress on a source role, ingress on a destination role."""
    sides: list[tuple[str, Direction, Endpoint]] = []
    if flow.src.kind == "role":
        sides.append((flow.src.name, "egress", flow.dst))
    if flow.dst.kind == "role":
        sides.append((flow.dst.name, "ingress", flow.src))
    return sides


def _aws_peers(
    other: Endpoint, flows: Flows, lists: dict[tuple[str, Family], list[AwsPrefixList]], ipv6: bool
) -> list[AwsPeer]:
    if other.kind == "role":
        return [AwsPeer("security_group", other.name)]
    if other.kind == "internet":
        return _internet(ipv6)
    if other.kind == "service":
        families: tuple[Family, ...] = ("IPv4", "IPv6")
        return [AwsPeer("prefix_list", pl.key) for fam in families for pl in lists.get((other.name, fam), [])]
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
    flows: Flows,
    prefix: str,
    quotas: AwsQuotas,
    ipv6: bool,
    stack_tags: dict[str, str],
    level: tuple[float, int],
    split: bool = True,
) -> tuple[AwsPrefixList, ...]:
    lists = []
    used = {e.name for f in flows.flows for e in (f.src, f.dst) if e.kind == "service"}
    # A list must fit one group, and one list: the smaller of the rule quota and the entries quota.
    limit = min(quotas.rules_per_security_group, quotas.prefix_list_max_entries)
    for service, addresses in flows.services.items():
        if service not in used:
            continue
        pairs: tuple[tuple[Family, int], ...] = (("IPv4", 4), ("IPv6", 6))
        for family, version in pairs:
            networks = addresses.family(version)
            if not networks or (version == 6 and not ipv6):
                continue
            chunks = chunk_networks(networks, limit, level, quotas.prefix_list_max_entries) if split else [networks]
            for number, chunk in enumerate(chunks, start=1):
                part = number if len(chunks) > 1 else None
                lists.append(
                    _prefix_list(
                        flows, prefix, service, family, tuple(chunk), addresses, quotas, stack_tags, level, part
                    )
                )
    return tuple(lists)


def _prefix_list(
    flows: Flows,
    prefix: str,
    service: str,
    family: Literal["IPv4", "IPv6"],
    networks: tuple[str, ...],
    addresses: ServiceAddresses,
    quotas: AwsQuotas,
    stack_tags: dict[str, str],
    level: tuple[float, int],
    part: int | None,
) -> AwsPrefixList:
    suffix = family.lower() + (f"-{part}" if part is not None else "")
    list_name = f"{prefix}-{flows.product}-{service}-{suffix}"
    if list_name.startswith(RESERVED_PREFIX_LIST_PREFIX):
        raise LimitExceeded(
            f"prefix list {list_name}",
            f"names may not start with {RESERVED_PREFIX_LIST_PREFIX}; change seawall:namePrefix",
        )
    return AwsPrefixList(
        key=f"{service}-{suffix}",
        service=service,
        name=f"{prefix}-{service}-{suffix}-pl",
        list_name=list_name,
        address_family=family,
        max_entries=max_entries(len(networks), level, quotas.prefix_list_max_entries),
        entries=tuple((n, ascii_description(f"{service} ({addresses.source})", MAX_DESCRIPTION)) for n in networks),
        tags=_tags(
            PREFIX_LIST,
            stack_tags,
            {"seawall:stack": flows.stack, "seawall:service": f"{flows.product}/{service}", "Name": list_name},
        ),
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


def _usage(
    rules: tuple[AwsRule, ...], layout: _Layout, quotas: AwsQuotas, group_of: dict[tuple[str, int], AwsSecurityGroup]
) -> tuple[QuotaUse, ...]:
    """Per group, direction and family: the weight used, the quota, and the three heaviest peers."""
    by_name = {item.name: item for items in layout.items.values() for item in items}
    per_group: dict[str, list[Item]] = {}
    for rule in rules:
        per_group.setdefault(rule.group, []).append(by_name[rule.name])
    out = []
    for sg in sorted(group_of.values(), key=lambda g: (g.role, g.index)):
        items = per_group.get(sg.name, [])
        for (direction, family), used in sorted(totals(items).items()):
            out.append(
                QuotaUse(
                    sg.group_name,
                    sg.role,
                    f"{direction} IPv{family}",
                    used,
                    quotas.rules_per_security_group,
                    tuple(consumers(items, (direction, family))),
                )
            )
    return tuple(out)


def _quota_error(flows: Flows, prefix: str, quotas: AwsQuotas, ipv6: bool, stack_tags: dict[str, str]) -> QuotaExceeded:
    """Name the role, direction and family, the weight needed and available, who weighs most, and the quota to raise.

    The value to raise is found by laying the stack out again with it, so it is one that works.
    """
    exact = HEADROOM_LEVELS[-1]
    layout = _layout(flows, prefix, quotas, ipv6, stack_tags, exact, split=False, place=False)
    per_group, groups = quotas.rules_per_security_group, quotas.security_groups_per_eni
    heavy = {r for r, items in layout.items.items() if any(t > per_group * groups for t in totals(items).values())}
    failed = heavy or _layout(flows, prefix, quotas, ipv6, stack_tags, exact).failed
    for role, items in layout.items.items():
        if role not in failed:
            continue
        need = totals(items)
        (direction, family), needed = max(need.items(), key=lambda kv: (kv[1], kv[0]))
        heaviest = ", ".join(f"{c} {w}" for c, w in consumers(items, (direction, family)))

        def fits(candidate: AwsQuotas) -> bool:
            return _layout(flows, prefix, candidate, ipv6, stack_tags, exact).placement is not None

        return QuotaExceeded(
            role,
            f"{direction} IPv{family} rules (prefix lists count their max entries) in {groups} security groups of "
            f"{per_group}",
            needed,
            per_group * groups,
            f"heaviest: {heaviest}; {_way_out(quotas, fits, needed)}",
        )
    raise AssertionError("a layout failed but every role fits")  # pragma: no cover


def _way_out(quotas: AwsQuotas, fits: Callable[[AwsQuotas], bool], needed: int) -> str:
    """The smallest raise of one quota that makes the layout fit, by its AWS name and seawall:quotas.aws key."""
    rules_quota = "'Inbound or outbound rules per security group' (L-0EA8095F)"
    groups_quota = "'Security groups per network interface' (L-2AFB9258)"
    per_group, groups = quotas.rules_per_security_group, quotas.security_groups_per_eni
    fewest = max(groups + 1, -(-needed // per_group))  # no fewer groups can hold the weight
    for more in range(fewest, MAX_SECURITY_GROUPS_PER_ENI + 1):
        if needed > MAX_RULES_TIMES_GROUPS_PER_ENI or per_group * more > MAX_RULES_TIMES_GROUPS_PER_ENI:
            break
        if fits(replace(quotas, security_groups_per_eni=more)):
            return f"ask AWS to raise {groups_quota} to {more} and set seawall:quotas.aws.securityGroupsPerEni: {more}"
    least = max(per_group + 10, -(-needed // groups // 10) * 10)
    for rules in range(least, MAX_RULES_TIMES_GROUPS_PER_ENI // groups + 1, 10):
        if needed > MAX_RULES_TIMES_GROUPS_PER_ENI:
            break
        if fits(replace(quotas, rules_per_security_group=rules)):
            return (
                f"ask AWS to raise {rules_quota} to {rules} and set seawall:quotas.aws.rulesPerSecurityGroup: {rules}"
            )
    return (
        f"no quota AWS allows holds these rules on one interface (at most {MAX_RULES_TIMES_GROUPS_PER_ENI:,} rules "
        "across its groups): narrow the addresses (seawall resolve --ip-ranges-region / --ip-ranges-service) "
        "or bind fewer CIDRs"
    )
