"""Drift: what a deployed stack holds that its plan does not, and the reverse (pure).

The expected state is the AWS specification the stack renders to (the same content
``seawall plan`` declares); the actual state is what :mod:`seawall.aws.account` read.
Both sides are normalised to content, never ids: a rule is (role, direction,
protocol, ports, peer) where the peer is a CIDR, ``role:<role>`` for a group of the
stack, ``service:<service>-ipv4|ipv6`` for a prefix list of the stack, or the raw
``sg-``/``pl-`` id of anything else. A missing and an extra rule that differ only
in ports (or only in peer) are reported as one change, so one hand edit is one line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sized
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
from seawall.aws.render import AwsPeer, AwsPrefixList, AwsRule, AwsSpec
from seawall.errors import UserError
from seawall.netaddr import canonical_cidr, port_text
from seawall.stack import CompiledStack, render_aws_stack

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

# Report order within one role or service.
KINDS = (
    "missing-group",
    "extra-group",
    "missing-rule",
    "extra-rule",
    "changed-ports",
    "changed-peer",
    "missing-prefix-list",
    "extra-prefix-list",
    "prefix-list-entry-added",
    "prefix-list-entry-removed",
    "untagged-group-uses-prefix-list",
)

# Protocol numbers EC2 may echo back, as the names the plan uses.
PROTOCOL_NAMES = {"-1": "all", "all": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


@dataclass(frozen=True, order=True)
class Rule:
    """One rule by content. ``protocol`` is ``all`` for AWS's ``-1`` (then both ports are -1)."""

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


@dataclass(frozen=True)
class Drift:
    """One difference between the plan and the account."""

    kind: str
    detail: str
    role: str | None = None
    service: str | None = None  # a prefix list's key, e.g. kav-update-ipv4
    rule: Rule | None = None  # the account's rule; the planned one for missing-rule
    planned: Rule | None = None  # for changed-ports / changed-peer
    group_id: str | None = None
    rule_id: str | None = None
    prefix_list_id: str | None = None
    cidr: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        scope = (0, self.role or "") if self.service is None else (1, self.service)
        rule = self.rule or Rule("", "", "", 0, 0, "")
        return (*scope, KINDS.index(self.kind), rule, self.cidr or "", self.group_id or "", self.rule_id or "")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.service is not None:
            out["service"] = self.service
        else:
            out["role"] = self.role
        out["detail"] = self.detail
        if self.rule is not None:
            everything = self.rule.protocol == "all"
            out |= {
                "direction": self.rule.direction,
                "protocol": self.rule.protocol,
                "from_port": None if everything else self.rule.from_port,
                "to_port": None if everything else self.rule.to_port,
                "peer": self.rule.peer,
            }
        if self.planned is not None and self.kind == "changed-ports":
            out |= {"planned_from_port": self.planned.from_port, "planned_to_port": self.planned.to_port}
        if self.planned is not None and self.kind == "changed-peer":
            out["planned_peer"] = self.planned.peer
        extras = {
            "group_id": self.group_id,
            "rule_id": self.rule_id,
            "prefix_list_id": self.prefix_list_id,
            "cidr": self.cidr,
        }
        out |= {k: v for k, v in extras.items() if v is not None}
        return out


@dataclass
class Report:
    """The audit of one stack in one region; in sync when there is no drift."""

    stack: str
    region: str
    drift: list[Drift] = field(default_factory=list)
    counts: tuple[int, int, int] = (0, 0, 0)  # planned groups, rules, prefix lists

    @property
    def in_sync(self) -> bool:
        return not self.drift

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "in_sync": self.in_sync,
            "drift": [d.to_json() for d in self.drift],
        }


def _protocol(text: str) -> str:
    return PROTOCOL_NAMES.get(text.lower(), text.lower())


def list_key(service_tag: str, family: str) -> str:
    """``clearswift-seg/kav-update`` + ``IPv4`` → ``kav-update-ipv4``, the key a plan's peer uses."""
    return f"{service_tag.rsplit('/', 1)[-1]}-{family.lower()}"


@dataclass
class _Match:
    """The account's groups and lists matched to the plan's roles and prefix-list keys."""

    groups: dict[str, ActualGroup] = field(default_factory=dict)  # planned role → its group
    lists: dict[str, ActualPrefixList] = field(default_factory=dict)  # planned key → its list
    role_of: dict[str, str] = field(default_factory=dict)  # group id → role, for role:<role> peers
    key_of: dict[str, str] = field(default_factory=dict)  # list id → key, for service:<key> peers
    drift: list[Drift] = field(default_factory=list)  # extra groups and lists


def compare(spec: AwsSpec, account: Account) -> list[Drift]:
    """Every difference between the planned spec and the account, by content, deterministically sorted."""
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
    expected: list[Rule] = []
    folded: Counter[str] = Counter()
    for planned_rule in spec.rules:
        rule = _planned_rule(planned_rule, slots.get(planned_rule.group, planned_rule.role))
        if f"role:{rule.role}" in gone:
            folded[f"role:{rule.role}"] += 1
        elif rule.peer in gone:
            folded[rule.peer] += 1
        else:
            expected.append(rule)

    drift = list(match.drift)
    drift += [
        Drift(
            "missing-group",
            f"no security group tagged {ROLE_TAG}={sg.role}{_index_text(sg.index)} (planned {sg.group_name}; "
            f"{folded[f'role:{group_slot(sg.role, sg.index)}']} planned rules are on it or reference it)",
            role=group_slot(sg.role, sg.index),
        )
        for sg in missing_roles
    ]
    drift += [
        Drift(
            "missing-prefix-list",
            f"no prefix list tagged {SERVICE_TAG}={dict(pl.tags)[SERVICE_TAG]} ({pl.address_family}); planned "
            f"{pl.list_name} with {len(pl.entries)} entries, used by {folded[f'service:{pl.key}']} planned rules",
            service=pl.key,
        )
        for pl in missing_lists
    ]
    drift += _rule_drift(expected, account, match)
    for pl in spec.prefix_lists:
        if (found := match.lists.get(pl.key)) is not None:
            drift += _entry_drift(pl, found)
    drift += _outsider_drift(account, match)
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
    """One group per planned slot (role and index); any other group tagged for the stack is extra."""
    planned = {group_slot(sg.role, sg.index): sg for sg in spec.security_groups}
    held = Counter(rule.group_id for rule in account.rules)
    extra: list[tuple[ActualGroup, str]] = []
    for role, candidates in _by(account.groups, _actual_slot).items():
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
    match.drift += [
        Drift(
            "extra-group",
            f"{g.id} ({g.name}) is tagged {STACK_TAG} but {why}; it holds {held[g.id]} rules",
            role=g.tags.get(ROLE_TAG),
            group_id=g.id,
        )
        for g, why in extra
    ]


def _match_lists(spec: AwsSpec, account: Account, match: _Match) -> None:
    """One list per vendor service and address family; any other list tagged for the stack is extra."""
    planned: dict[tuple[str, str], AwsPrefixList] = {
        (dict(pl.tags)[SERVICE_TAG], pl.address_family): pl for pl in spec.prefix_lists
    }

    def ident(p: ActualPrefixList) -> tuple[str, str] | None:
        return (p.tags[SERVICE_TAG], p.address_family) if SERVICE_TAG in p.tags else None

    for found, candidates in _by(account.prefix_lists, ident).items():
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
        pl = planned.get(found)
        key = list_key(*found)
        first, *rest = sorted(candidates, key=lambda p: (pl is None or p.name != pl.list_name, p.id))
        match.key_of[first.id] = key
        if pl is None:
            why = f"{SERVICE_TAG}={found[0]} ({found[1]}) is not planned"
            match.drift.append(
                Drift("extra-prefix-list", f"{first.id} ({first.name}): {why}", service=key, prefix_list_id=first.id)
            )
        else:
            match.lists[pl.key] = first
        match.drift += [
            Drift(
                "extra-prefix-list",
                f"{p.id} ({p.name}): a second list for {key} ({first.id} is the service's)",
                service=key,
                prefix_list_id=p.id,
            )
            for p in rest
        ]


def _rule_drift(expected: list[Rule], account: Account, match: _Match) -> list[Drift]:
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
        default = rule.direction == "egress" and rule.protocol == "all" and rule.peer in ("0.0.0.0/0", "::/0")
        why = "AWS's default allow-all egress is still on the group" if default else "not planned"
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
                    group_id=raw.group_id,
                    rule_id=raw.id,
                )
            )
    return drift


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
        for cidr in sorted(found.entries - planned)
    ]
    out += [
        Drift(
            "prefix-list-entry-removed",
            f"planned {cidr} is not in {found.id}",
            service=pl.key,
            prefix_list_id=found.id,
            cidr=cidr,
        )
        for cidr in sorted(planned - found.entries)
    ]
    return out


def _by(items: tuple[T, ...], key: Callable[[T], K]) -> dict[K, list[T]]:
    out: dict[K, list[T]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


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


# --- one stack, end to end ---------------------------------------------------------------------------------------


def audit_aws_stack(
    compiled: CompiledStack,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    page_size: int | None = None,
    status: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> Report:
    """Compare the deployed AWS stack with its plan.

    ``region`` defaults to the stack's ``aws:region``. ``page_size`` caps every
    paginated read (tests use it to force several pages). Only read-only EC2 calls
    are made. Raises UserError (exit 2) for bad input and for account errors: no
    credentials, access denied, an unknown region, an unreachable endpoint, one
    that does not answer within ``timeout`` seconds (default: ``DEFAULT_TIMEOUT``
    of :mod:`seawall.aws.account`). ``status`` receives the progress lines (what is
    read where, what was found).
    """
    stack = compiled.config.stack
    if compiled.config.settings.cloud != "aws":
        raise UserError("--stack", f"{stack} is a {compiled.config.settings.cloud} stack; audit reads AWS stacks only")
    spec = render_aws_stack(compiled)
    region = region or config_region(compiled.config.provider_config, stack)
    if page_size is not None and page_size < 1:
        raise UserError("page size", f"{page_size} must be at least 1")
    client = connect(region, endpoint_url, profile, timeout)
    say = status or (lambda _line: None)
    say(f"auditing {stack} in {region} ({endpoint_url or f'ec2 {region}'}, read-only) ...")
    with aws_errors(region, endpoint_url, client):
        account = read_account(client, stack, page_size)
    say(
        f"read {count(account.groups, 'security group')}, {count(account.rules, 'rule')} and "
        f"{count(account.prefix_lists, 'prefix list')} tagged {STACK_TAG}={stack}"
    )
    counts = (len(spec.security_groups), len(spec.rules), len(spec.prefix_lists))
    return Report(stack, region, compare(spec, account), counts)


def count(things: Sized | int, noun: str) -> str:
    """``1 rule``, ``3 rules``."""
    n = things if isinstance(things, int) else len(things)
    return f"{n} {noun}{'' if n == 1 else 's'}"
