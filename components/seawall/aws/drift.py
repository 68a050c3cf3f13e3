"""Drift on AWS: the planned security groups, rules and prefix lists against the account's (pure comparison).

A rule is (role, direction, protocol, ports, peer) where the peer is a CIDR,
``role:<role>`` for a group of the stack, ``service:<service>-ipv4|ipv6`` for a
prefix list of the stack, or the raw ``sg-``/``pl-`` id of anything else. A missing
and an extra rule that differ only in ports (or only in peer) are one change.
Broadening here: an extra allow rule that no planned rule contains, a change that
widens ports or peer, a vendor address added to a list, a stray group holding rules.
:func:`audit_aws_stack` reads the account (:mod:`seawall.aws.account`) and compares.
What both clouds share (:class:`Drift`, :class:`Report`, the policy inputs, the
wording) is in :mod:`seawall.analysis.drift`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from seawall.analysis.drift import (
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
from seawall.aws.account import (
    GROUP_TAG,
    ROLE_TAG,
    SERVICE_TAG,
    STACK_TAG,
    Account,
    ActualGroup,
    ActualPrefixList,
    ActualRule,
    aws_errors,
    config_region,
    connect,
    read_account,
)
from seawall.aws.limits import EGRESS_RULE, INGRESS_RULE, PREFIX_LIST, SECURITY_GROUP
from seawall.aws.render import AwsPeer, AwsPrefixList, AwsRule, AwsSpec
from seawall.errors import UserError
from seawall.netaddr import canonical_cidr, network_key, port_text
from seawall.packets.admitted import box, protocol_ranges
from seawall.packets.space import Node, difference, intersection, network_set, symbol, union_all
from seawall.registered import Resource
from seawall.stack import CompiledStack, render_aws_stack

# Protocol numbers EC2 may echo back, as the names the plan uses.
PROTOCOL_NAMES = {"-1": "all", "all": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


# --- the rules, by content -----------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Rule:
    """One AWS rule by content. ``protocol`` is ``all`` for AWS's ``-1`` (then both ports are -1)."""

    role: str
    direction: str  # ingress | egress
    protocol: str
    from_port: int
    to_port: int
    peer: str  # CIDR, role:<role>, service:<service>-<family>, or a raw sg-/pl- id

    @property
    def ports(self) -> str:
        if self.protocol == "all":
            return "all"
        return port_text(self.from_port, self.to_port)

    def label(self) -> str:
        if self.protocol == "all":
            return f"{self.direction} all {self.peer}"
        return f"{self.direction} {self.protocol} {self.ports} {self.peer}"

    def sentence(self) -> str:
        what = "every protocol and port" if self.protocol == "all" else f"{self.protocol}/{self.ports}"
        if self.direction == "ingress":
            return f"{what} on {self.role} from {self.peer}{reach_text([self.peer])}"
        return f"{what} from {self.role} to {self.peer}{reach_text([self.peer])}"

    def sort_key(self) -> tuple[Any, ...]:
        return (self.direction, self.protocol, self.from_port, self.to_port, self.peer)

    def to_json(self) -> dict[str, Any]:
        everything = self.protocol == "all"
        return {
            "direction": self.direction,
            "protocol": self.protocol,
            "from_port": None if everything else self.from_port,
            "to_port": None if everything else self.to_port,
            "peer": self.peer,
        }


def _protocol(text: str) -> str:
    return PROTOCOL_NAMES.get(text.lower(), text.lower())


def list_key(service_tag: str, family: str) -> str:
    """``clearswift-seg/kav-update`` + ``IPv4`` → ``kav-update-ipv4``, the key a plan's peer uses."""
    return f"{service_tag.rsplit('/', 1)[-1]}-{family.lower()}"


def _pair(
    missing: list[Rule], extra: list[Rule], same: Callable[[Rule], tuple[Any, ...]]
) -> tuple[list[tuple[Rule, Rule]], list[Rule], list[Rule]]:
    """Pair each missing rule with the first extra rule that agrees on ``same``; deterministic (sorted inputs)."""
    pool: dict[tuple[Any, ...], list[Rule]] = {}
    for rule in sorted(extra):
        pool.setdefault(same(rule), []).append(rule)
    pairs, unpaired = [], []
    for rule in sorted(missing):
        candidates = pool.get(same(rule))
        if candidates:
            pairs.append((rule, candidates.pop(0)))
        else:
            unpaired.append(rule)
    return pairs, unpaired, sorted(r for rest in pool.values() for r in rest)


def _planned_rules(n: int) -> str:
    if n == 0:
        return "no planned rule is on it or references it"
    return (
        f"{count(n, 'planned rule')} {'is' if n == 1 else 'are'} on it or {'references' if n == 1 else 'reference'} it"
    )


def _not_compared(n: int) -> str:
    if n == 0:
        return "it holds no rules"
    return f"its {count(n, 'rule')} {'was' if n == 1 else 'were'} not compared"


def _used_by(n: int) -> str:
    return "not used by any planned rule" if n == 0 else f"used by {count(n, 'planned rule')}"


# --- comparing ------------------------------------------------------------------------------------------------------


@dataclass
class _Match:
    """The account's groups and lists matched to the plan's roles and prefix-list keys."""

    groups: dict[str, ActualGroup] = field(default_factory=dict)  # planned slot → its group
    lists: dict[str, ActualPrefixList] = field(default_factory=dict)  # planned key → its list
    role_of: dict[str, str] = field(default_factory=dict)  # group id → slot, for role:<slot> peers
    key_of: dict[str, str] = field(default_factory=dict)  # list id → key, for service:<key> peers
    extra_groups: list[ActualGroup] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)  # extra and outside groups, extra lists


def compare(spec: AwsSpec, account: Account, policy: PolicyInputs | None = None) -> list[Drift]:
    """Every difference between the planned spec and the account, by content, broadening first, deterministically."""
    match = _Match()
    _match_groups(spec, account, match)
    _match_lists(spec, account, match)
    missing_roles = [sg for sg in spec.security_groups if group_slot(sg.role, sg.index) not in match.groups]
    missing_lists = [pl for pl in spec.prefix_lists if pl.key not in match.lists]

    # A planned rule that cannot exist because its group or list is missing is folded
    # into that missing-* line: recreating the group or list brings it back.
    gone = {f"role:{group_slot(sg.role, sg.index)}" for sg in missing_roles}
    gone |= {f"service:{pl.key}" for pl in missing_lists}
    slots = {sg.name: group_slot(sg.role, sg.index) for sg in spec.security_groups}
    expected: dict[Rule, tuple[str, ...]] = {}  # rule → the catalogue ids that justify it
    folded: Counter[str] = Counter()
    for planned_rule in spec.rules:
        rule = _planned_rule(planned_rule, slots.get(planned_rule.group, planned_rule.role))
        if f"role:{rule.role}" in gone:
            folded[f"role:{rule.role}"] += 1
        elif rule.peer in gone:
            folded[rule.peer] += 1
        else:
            expected[rule] = tuple(sorted(set(expected.get(rule, ())) | set(planned_rule.entries)))

    drift = list(match.drift)
    drift += [
        Drift(
            "missing-group",
            f"no security group tagged {ROLE_TAG}={sg.role}{_index_text(sg.index)}"
            + (f" in {spec.vpc_id}" if spec.vpc_id else "")
            + f" (planned {sg.group_name}; {_planned_rules(folded[f'role:{group_slot(sg.role, sg.index)}'])})",
            role=group_slot(sg.role, sg.index),
        )
        for sg in missing_roles
    ]
    drift += [
        Drift(
            "missing-prefix-list",
            f"no prefix list tagged {SERVICE_TAG}={dict(pl.tags)[SERVICE_TAG]} ({pl.address_family}); planned "
            f"{pl.list_name} with {count(len(pl.entries), 'entry')}, {_used_by(folded[f'service:{pl.key}'])}",
            service=pl.key,
        )
        for pl in missing_lists
    ]
    rule_drift, actual = _rule_drift(list(expected), account, match)
    drift += rule_drift
    for pl in spec.prefix_lists:
        if (found := match.lists.get(pl.key)) is not None:
            drift += _entry_drift(pl, found)
    drift += _outsider_drift(account, match)
    plan_lists = {pl.key: [c for c, _ in pl.entries] for pl in spec.prefix_lists}
    cloud_lists = {key: sorted(found.entries) for key, found in match.lists.items()}
    more = _beyond(_admitted(expected, plan_lists), _admitted(actual, cloud_lists))
    drift = [_aws_broadening(d, more, cloud_lists, spec, account) for d in drift]
    if policy is not None:
        drift = _aws_policy(drift, policy, expected, actual, account, match)
    return sorted(drift, key=Drift.sort_key)


def group_slot(role: str, index: int) -> str:
    """A planned group by meaning: ``gateway`` for a role's first group, ``gateway#2`` for its second."""
    return role if index == 1 else f"{role}#{index}"


def _index_text(index: int) -> str:
    return "" if index == 1 else f", {GROUP_TAG}={index}"


def _actual_slot(group: ActualGroup) -> str | None:
    role = group.tags.get(ROLE_TAG)
    if role is None:
        return None
    index = group.tags.get(GROUP_TAG, "1")
    return group_slot(role, int(index)) if index.isdigit() and int(index) >= 1 else f"{role}#{index}"


def _match_groups(spec: AwsSpec, account: Account, match: _Match) -> None:
    """One group per planned slot (role and index) in the stack's VPC; any other group tagged for the stack is extra."""
    planned = {group_slot(sg.role, sg.index): sg for sg in spec.security_groups}
    held = Counter(rule.group_id for rule in account.rules)
    here = [g for g in account.groups if not spec.vpc_id or g.vpc_id in (None, spec.vpc_id)]
    match.drift += [
        Drift(
            "group-outside-vpc",
            f"{g.id} ({g.name}) is tagged {STACK_TAG}={spec.stack}"
            + (f" and {ROLE_TAG}={g.tags[ROLE_TAG]}" if ROLE_TAG in g.tags else "")
            + f" but is in {g.vpc_id}, not the stack's {spec.vpc_id}; {_not_compared(held[g.id])}",
            role=_actual_slot(g),
            group_id=g.id,
            vpc_id=g.vpc_id,
        )
        for g in account.groups
        if g not in here
    ]
    extra: list[tuple[ActualGroup, str]] = []
    for role, candidates in group_by(here, _actual_slot).items():
        if role is None:
            extra += [(g, f"has no {ROLE_TAG} tag") for g in candidates]
            continue
        sg = planned.get(role)
        # The group named as planned wins a tie; then the lowest id, so reruns agree.
        first, *rest = sorted(candidates, key=lambda g: (sg is None or g.name != sg.group_name, g.id))
        match.role_of[first.id] = role
        if sg is None:
            extra.append((first, f"role {role!r} is not planned"))
        else:
            match.groups[role] = first
        extra += [(g, f"it is a second group for role {role!r} ({first.id} is the role's)") for g in rest]
    match.extra_groups = [g for g, _ in extra]
    match.drift += [
        Drift(
            "extra-group",
            f"{g.id} ({g.name}) is tagged {STACK_TAG} but {why}; it holds {count(held[g.id], 'rule')}",
            role=g.tags.get(ROLE_TAG),
            group_id=g.id,
        )
        for g, why in extra
    ]


def _match_lists(spec: AwsSpec, account: Account, match: _Match) -> None:
    """The planned lists of each vendor service and family; any other list tagged for the stack is extra.

    A service split into several lists (``…-ipv4-1``, ``…-ipv4-2``) has several planned lists
    with one service tag: a list takes the planned list of its name first, then the next free one.
    """
    planned = group_by(spec.prefix_lists, lambda pl: (dict(pl.tags)[SERVICE_TAG], str(pl.address_family)))

    def ident(p: ActualPrefixList) -> tuple[str, str] | None:
        return (p.tags[SERVICE_TAG], p.address_family) if SERVICE_TAG in p.tags else None

    for found, candidates in group_by(account.prefix_lists, ident).items():
        if found is None:
            match.drift += [
                Drift(
                    "extra-prefix-list",
                    f"{p.id} ({p.name}) is tagged {STACK_TAG} but has no {SERVICE_TAG} tag",
                    service=p.name or p.id,
                    prefix_list_id=p.id,
                )
                for p in candidates
            ]
            continue
        free = list(planned.get(found, []))
        key = list_key(*found)
        rest = []
        for p in sorted(candidates, key=lambda p: (p.name not in {pl.list_name for pl in free}, p.id)):
            pl = next((pl for pl in free if pl.list_name == p.name), free[0] if free else None)
            if pl is None:
                rest.append(p)
                continue
            free.remove(pl)
            match.lists[pl.key] = p
            match.key_of[p.id] = pl.key
        if not planned.get(found):
            first, *rest = rest
            match.key_of[first.id] = key
            why = f"{SERVICE_TAG}={found[0]} ({found[1]}) is not planned"
            match.drift.append(
                Drift("extra-prefix-list", f"{first.id} ({first.name}): {why}", service=key, prefix_list_id=first.id)
            )
        owner = ", ".join(match.lists[pl.key].id for pl in planned.get(found, []) if pl.key in match.lists)
        match.drift += [
            Drift(
                "extra-prefix-list",
                f"{p.id} ({p.name}): one list more for {key} than planned ({owner or 'another'} is the service's)",
                service=key,
                prefix_list_id=p.id,
            )
            for p in rest
        ]


def _rule_drift(expected: list[Rule], account: Account, match: _Match) -> tuple[list[Drift], dict[Rule, ActualRule]]:
    """Rules of the planned groups: missing, extra, and pairs of the two that are one edit."""
    ours = {g.id: role for role, g in match.groups.items()}
    actual: dict[Rule, ActualRule] = {}
    for raw in account.rules:
        if raw.group_id in ours:  # an extra group's rules are summed up in its extra-group line
            actual[_actual_rule(ours[raw.group_id], raw, match)] = raw
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    # One hand-edited port (or peer) is one change, not a missing and an extra line.
    by_ports, missing, extra = _pair(missing, extra, lambda r: (r.role, r.direction, r.protocol, r.peer))
    by_peer, missing, extra = _pair(missing, extra, lambda r: (r.role, r.direction, r.protocol, r.from_port, r.to_port))

    drift = []
    for rule in missing:
        group = match.groups[rule.role]
        drift.append(
            Drift(
                "missing-rule",
                f"planned {rule.label()} is not on {group.id}",
                role=rule.role,
                rule=rule,
                group_id=group.id,
            )
        )
    for rule in extra:
        raw = actual[rule]
        why = "AWS's default allow-all egress is still on the group" if _default_egress(rule) else "not planned"
        drift.append(
            Drift(
                "extra-rule",
                f"{raw.id} on {raw.group_id}: {why}",
                role=rule.role,
                rule=rule,
                group_id=raw.group_id,
                rule_id=raw.id,
            )
        )
    for kind, pairs in (("changed-ports", by_ports), ("changed-peer", by_peer)):
        for planned, now in pairs:
            raw = actual[now]
            edit = (
                f"ports {planned.ports} → {now.ports}"
                if kind == "changed-ports"
                else f"peer {planned.peer} → {now.peer}"
            )
            drift.append(
                Drift(
                    kind,
                    f"{raw.id} on {raw.group_id}: {edit}",
                    role=now.role,
                    rule=now,
                    planned=planned,
                    changed=(kind.removeprefix("changed-"),),
                    group_id=raw.group_id,
                    rule_id=raw.id,
                )
            )
    return drift, actual


def _default_egress(rule: Rule) -> bool:
    return rule.direction == "egress" and rule.protocol == "all" and rule.peer in ("0.0.0.0/0", "::/0")


def _outsider_drift(account: Account, match: _Match) -> list[Drift]:
    """Groups outside the stack whose rules use one of its prefix lists."""
    drift = []
    for group, raw in account.outsiders:
        key = match.key_of.get(raw.prefix_list_id or "")
        if key is None:
            continue
        rule = _actual_rule("", raw, match)
        stack = group.tags.get(STACK_TAG)
        tagged = f"has no {STACK_TAG} tag" if stack is None else f"is tagged {STACK_TAG}={stack}"
        drift.append(
            Drift(
                "untagged-group-uses-prefix-list",
                f"{group.id} ({group.name}) {tagged} but its {rule.direction} rule uses {raw.prefix_list_id}; "
                "that counts the list's max entries in the group's rule quota and blocks replacing the list",
                service=key,
                rule=rule,
                group_id=group.id,
                prefix_list_id=raw.prefix_list_id,
            )
        )
    return drift


def _entry_drift(pl: AwsPrefixList, found: ActualPrefixList) -> list[Drift]:
    planned = {canonical_cidr(cidr) for cidr, _ in pl.entries}
    out = [
        Drift(
            "prefix-list-entry-added",
            f"{cidr} is in {found.id} but not planned",
            service=pl.key,
            prefix_list_id=found.id,
            cidr=cidr,
        )
        for cidr in sorted(found.entries - planned, key=network_key)
    ]
    out += [
        Drift(
            "prefix-list-entry-removed",
            f"planned {cidr} is not in {found.id}",
            service=pl.key,
            prefix_list_id=found.id,
            cidr=cidr,
        )
        for cidr in sorted(planned - found.entries, key=network_key)
    ]
    return out


def _planned_rule(rule: AwsRule, slot: str) -> Rule:
    protocol = _protocol(rule.ip_protocol)
    ports = (-1, -1) if protocol == "all" else (rule.from_port, rule.to_port)
    return Rule(slot, rule.direction, protocol, *ports, _planned_peer(rule.peer))


def _planned_peer(peer: AwsPeer) -> str:
    if peer.kind in ("cidr_ipv4", "cidr_ipv6"):
        return canonical_cidr(peer.value)
    if peer.external:
        return peer.value
    return ("role:" if peer.kind == "security_group" else "service:") + peer.value


def _actual_rule(role: str, raw: ActualRule, match: _Match) -> Rule:
    protocol = _protocol(raw.protocol)
    ports = (-1, -1) if protocol == "all" else (raw.from_port, raw.to_port)
    peer: str
    if raw.cidr_ipv4 or raw.cidr_ipv6:
        peer = canonical_cidr(raw.cidr_ipv4 or raw.cidr_ipv6 or "")
    elif raw.prefix_list_id:
        key = match.key_of.get(raw.prefix_list_id)
        peer = f"service:{key}" if key else raw.prefix_list_id
    elif raw.group_ref:
        ref_role = match.role_of.get(raw.group_ref)
        peer = f"role:{ref_role}" if ref_role else raw.group_ref
    else:
        peer = "(no peer)"
    return Rule(role, "egress" if raw.egress else "ingress", protocol, *ports, peer)


# --- AWS broadening ---


def _rule_node(rule: Rule, lists: Mapping[str, Iterable[str]]) -> Node:
    """The packets one rule lets through; a stack's prefix list by its entries, a group of the stack by its role."""
    protocols = protocol_ranges("-1" if rule.protocol == "all" else rule.protocol) or ((0, 255),)
    ports = ((0, 65535),) if rule.protocol == "all" or rule.from_port < 0 else ((rule.from_port, rule.to_port),)
    peer = rule.peer
    if peer.startswith("role:"):
        far = symbol("role", peer.removeprefix("role:").split("#")[0])
    elif peer.startswith("service:"):
        key = peer.removeprefix("service:")
        far = network_set(lists[key]) if key in lists else symbol("list", key)
    else:
        try:
            far = network_set([peer])
        except ValueError:  # an sg-/pl- id outside the stack: its members are unknown, a symbol of its own
            far = symbol("list" if peer.startswith("pl-") else "group", peer)
    return box(protocols, ports, far).node()


def _role_key(rule: Rule) -> tuple[str, str]:
    return (rule.role.split("#")[0], "in" if rule.direction == "ingress" else "out")


def _admitted(rules: Iterable[Rule], lists: Mapping[str, Iterable[str]]) -> dict[tuple[str, str], Node]:
    """Per role (all its groups) and direction, the union of its allow rules: what AWS lets through."""
    nodes: dict[tuple[str, str], list[Node]] = {}
    for rule in rules:
        nodes.setdefault(_role_key(rule), []).append(_rule_node(rule, lists))
    return {key: union_all(found) for key, found in nodes.items()}


def _beyond(plan: Mapping[tuple[str, str], Node], cloud: Mapping[tuple[str, str], Node]) -> dict[tuple[str, str], Node]:
    return {key: more for key, node in cloud.items() if (more := difference(node, plan.get(key, False))) is not False}


def _aws_broadening(
    d: Drift, more: Mapping[tuple[str, str], Node], lists: Mapping[str, Iterable[str]], spec: AwsSpec, account: Account
) -> Drift:
    """A drift line is broadening when the rule it names lets through packets the plan's rules of the role do not.

    Judged on packets, across the role's groups: a hand-made rule that two planned rules cover
    together (20–25 and 26–30, say) widens nothing.
    """
    why: str | None = None
    rule = d.rule
    if d.kind in ("extra-rule", "changed-ports", "changed-peer") and isinstance(rule, Rule):
        beyond = more.get(_role_key(rule), False)
        if beyond is not False and intersection(_rule_node(rule, lists), beyond) is not False:
            if d.kind == "extra-rule" and _default_egress(rule):
                why = f"AWS's default allow-all egress lets {rule.sentence().replace(' to ', ' out to ', 1)}"
            elif d.kind == "extra-rule":
                why = f"opens {rule.sentence()}"
            elif isinstance(d.planned, Rule):
                why = f"opens {rule.sentence()}; planned {d.planned.sentence()}"
    elif d.kind == "prefix-list-entry-added" and d.cidr is not None:
        planned = [c for pl in spec.prefix_lists if pl.key == d.service for c, _ in pl.entries]
        if not any(cidr_within(d.cidr, c) for c in planned):
            why = f"adds {d.cidr}{reach_text([d.cidr])} to the addresses every rule using {d.service} lets through"
    elif d.kind == "extra-group":
        held = [r for r in account.rules if r.group_id == d.group_id]
        if held:
            why = (
                f"holds {count(held, 'rule')} the plan does not have, which let traffic through wherever the "
                "group is attached"
            )
    return replace(d, broadening=why) if why else d


def _aws_policy(
    drift: list[Drift],
    policy: PolicyInputs,
    expected: Mapping[Rule, tuple[str, ...]],
    actual: Mapping[Rule, ActualRule],
    account: Account,
    match: _Match,
) -> list[Drift]:
    """Name the policy rules the account's rules break, on every broadening line."""
    ids_of: dict[str, tuple[str, ...]] = {raw.id: expected.get(rule, ()) for rule, raw in actual.items()}
    for d in drift:  # an edited rule is still the planned one: it keeps citing the planned entries
        if d.planned is not None and d.rule_id and isinstance(d.planned, Rule):
            ids_of[d.rule_id] = expected.get(d.planned, ())
    role_of = {g.id: r for r, g in match.groups.items()} | {g.id: _actual_slot(g) or "?" for g in match.extra_groups}
    resources = [Resource(SECURITY_GROUP, f"sg:{gid}", "", {"tags": {ROLE_TAG: role}}) for gid, role in role_of.items()]
    resources += [
        Resource(
            PREFIX_LIST,
            f"pl:{pl.id}",
            "",
            {"entries": [{"cidr": c} for c in sorted(pl.entries)], "tags": pl.tags, "addressFamily": pl.address_family},
        )
        for pl in account.prefix_lists
    ]
    uses: dict[str, list[str]] = {}  # list id → rules that use it
    for n, raw in enumerate(account.rules):
        if raw.group_id not in role_of:
            continue
        name = f"rule:{raw.id or n}"
        inputs: dict[str, Any] = {
            "ipProtocol": raw.protocol,
            "fromPort": raw.from_port,
            "toPort": raw.to_port,
            "securityGroupId": f"${{sg:{raw.group_id}.id}}",
            "tags": {ROLE_TAG: role_of[raw.group_id], "seawall:product": policy.product}
            | ({"seawall:entries": " ".join(ids_of[raw.id])} if ids_of.get(raw.id) else {}),
        }
        if raw.cidr_ipv4:
            inputs["cidrIpv4"] = raw.cidr_ipv4
        elif raw.cidr_ipv6:
            inputs["cidrIpv6"] = raw.cidr_ipv6
        elif raw.prefix_list_id:
            known = raw.prefix_list_id in {pl.id for pl in account.prefix_lists}
            inputs["prefixListId"] = f"${{pl:{raw.prefix_list_id}.id}}" if known else raw.prefix_list_id
            uses.setdefault(raw.prefix_list_id, []).append(name)
        elif raw.group_ref:
            inputs["referencedSecurityGroupId"] = (
                f"${{sg:{raw.group_ref}.id}}" if raw.group_ref in role_of else raw.group_ref
            )
        resources.append(Resource(INGRESS_RULE if not raw.egress else EGRESS_RULE, name, "", inputs))
    broken = policy.judge(resources)

    def names(d: Drift) -> list[str]:
        if d.kind == "extra-group":
            return [f"rule:{r.id}" for r in account.rules if r.group_id == d.group_id]
        if d.kind == "prefix-list-entry-added" and d.prefix_list_id:
            return [f"pl:{d.prefix_list_id}", *uses.get(d.prefix_list_id, [])]
        return [f"rule:{d.rule_id}"] if d.rule_id else []

    return [replace(d, policy=broken_rules(broken, names(d))) if d.broadening else d for d in drift]


# --- one stack, end to end ---------------------------------------------------------------------------------------


def audit_aws_stack(
    compiled: CompiledStack,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    page_size: int | None = None,
    status: Callable[[str], None] | None = None,
    timeout: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Compare the deployed AWS stack with its plan.

    ``region`` defaults to the stack's ``aws:region``. ``page_size`` caps every
    paginated read (tests use it to force several pages). Only read-only EC2 calls
    are made. Raises UserError (exit 2) for bad input and for account errors: no
    credentials, access denied, an unknown region, an unreachable endpoint, one
    that does not answer within ``timeout`` seconds (default: ``DEFAULT_TIMEOUT``
    of :mod:`seawall.aws.account`). ``status`` receives what is read where and what
    was found; ``progress`` a line per page read.
    """
    stack = compiled.config.stack
    check_cloud(compiled, "aws")
    spec = render_aws_stack(compiled)
    region = region or config_region(compiled.config.provider_config, stack)
    if page_size is not None and page_size < 1:
        raise UserError("page size", f"{page_size} must be at least 1")
    client = connect(region, endpoint_url, profile, timeout)
    say = status or (lambda _line: None)
    say(f"auditing {stack} in {region} ({endpoint_url or f'ec2 {region}'}, read-only) ...")
    with aws_errors(region, endpoint_url, client):
        account = read_account(client, stack, page_size, progress)
    say(
        f"read {count(account.groups, 'security group')}, {count(account.rules, 'rule')} and "
        f"{count(account.prefix_lists, 'prefix list')} tagged {STACK_TAG}={stack}"
    )
    planned = (
        ("security groups", len(spec.security_groups)),
        ("rules", len(spec.rules)),
        ("prefix lists", len(spec.prefix_lists)),
    )
    notes = () if spec.vpc_id else ("the stack names no VPC (seawall:vpcId): groups were not checked against one",)
    drift = compare(spec, account, PolicyInputs.of(compiled))
    return Report(stack, "aws", (("region", region), ("vpc_id", spec.vpc_id)), drift, planned, notes)
