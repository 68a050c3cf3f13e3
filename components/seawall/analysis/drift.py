"""Drift: what a deployed stack holds that its plan does not, and the reverse (pure), on both clouds.

The expected state is the specification the stack renders to (the same content
``seawall plan`` declares); the actual state is what :mod:`seawall.aws.account` or
:mod:`seawall.azure.account` read. Both sides are normalised to content, never ids.

- AWS: a rule is (role, direction, protocol, ports, peer) where the peer is a CIDR,
  ``role:<role>`` for a group of the stack, ``service:<service>-ipv4|ipv6`` for a
  prefix list of the stack, or the raw ``sg-``/``pl-`` id of anything else. A missing
  and an extra rule that differ only in ports (or only in peer) are one change.
- Azure: rules have names, so a planned and a deployed rule of the same name are one
  rule, and whatever differs (access, direction, protocol, ports, addresses, ASGs,
  priority) is one ``changed-…`` line. ASGs of the stack read as ``role:<role>``.

**Broadening** drift lets more through than the plan: an extra allow rule that no
planned rule contains, a change that widens ports, peer or protocol, a vendor
address added to a list, a deleted or shadowed Azure deny-all (Azure's defaults
then allow), a stray group or attached NSG holding rules. Broadening lines come
first and name the policy rules (:mod:`seawall.analysis.policy`) that the account's
rules break, judged the way ``seawall check`` judges a plan.
"""

from __future__ import annotations

import ipaddress
import os
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sized
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from seawall.analysis.policy import RULES, check_resources, parse_levels
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
from seawall.azure import account as az
from seawall.azure.limits import (
    ANY_ADDRESS,
    APPLICATION_SECURITY_GROUP,
    DENY_ALL_PRIORITY,
    NETWORK_SECURITY_GROUP,
    SERVICE_TAGS,
)
from seawall.azure.render import AzurePeer, AzureRule, AzureSpec
from seawall.catalog.load import Catalog
from seawall.errors import UserError
from seawall.netaddr import canonical_cidr, coverage_text, internet_equivalent, network_key, port_text
from seawall.registered import Resource
from seawall.stack import CompiledStack, render_aws_stack, render_azure_stack

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class _Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


R = TypeVar("R", bound=_Named)

# Report order within one role or service (broadening lines come before all others).
KINDS = (
    # AWS groups
    "missing-group",
    "group-outside-vpc",
    "extra-group",
    # Azure NSGs and ASGs
    "missing-nsg",
    "nsg-outside-resource-group",
    "extra-nsg",
    "unattached-nsg",
    "missing-asg",
    "asg-outside-resource-group",
    "extra-asg",
    "missing-deny-all",
    "shadowed-deny-all",
    # rules, both clouds
    "missing-rule",
    "extra-rule",
    "changed-access",
    "changed-direction",
    "changed-protocol",
    "changed-ports",
    "changed-peer",
    "changed-addresses",
    "changed-asgs",
    "changed-priority",
    "changed-rule",
    "renamed-rule",
    # AWS prefix lists
    "missing-prefix-list",
    "extra-prefix-list",
    "prefix-list-entry-added",
    "prefix-list-entry-removed",
    "untagged-group-uses-prefix-list",
)

# Protocol numbers EC2 may echo back, as the names the plan uses.
PROTOCOL_NAMES = {"-1": "all", "all": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
# Azure spells these in any case; one spelling each.
AZ_PROTOCOLS = {p.casefold(): p for p in ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")}
AZ_TAGS = {t.casefold(): t for t in (*SERVICE_TAGS, "AzureLoadBalancer", "VirtualNetwork", "Internet")}
EVERY_ADDRESS = frozenset(a.casefold() for a in ANY_ADDRESS)
# The fields of an Azure rule a change is reported by, most telling first.
AZ_FIELDS = ("access", "direction", "protocol", "ports", "addresses", "asgs", "priority")
# Policy rules that say nothing about what a rule lets through (every hand-made rule cites no entry).
NOT_ABOUT_REACH = ("traceable", "aws-limits", "azure-limits")
DENY_ALL = {"Inbound": "deny-all-inbound", "Outbound": "deny-all-outbound"}
# Azure's default rules, what they let through once a deny-all is gone.
AZURE_DEFAULTS = {
    "Inbound": "Azure's default AllowVnetInBound and AllowAzureLoadBalancerInBound now let the whole virtual "
    "network and the load balancer in on every port",
    "Outbound": "Azure's default AllowInternetOutBound and AllowVnetOutBound now let every port out to the "
    "internet and the virtual network",
}


# --- plain English ---------------------------------------------------------------------------------------------------


def plural(noun: str) -> str:
    """``rule`` → ``rules``, ``entry`` → ``entries``, ``NSG`` → ``NSGs``, ``policy`` → ``policies``."""
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def count(things: Sized | int, noun: str) -> str:
    """``1 rule``, ``3 rules``, ``no rules``."""
    n = things if isinstance(things, int) else len(things)
    if n == 0:
        return f"no {plural(noun)}"
    return f"{n} {noun if n == 1 else plural(noun)}"


def article(word: str) -> str:
    """``an Azure``, ``an AWS``, ``an NSG``, ``a security group``: by how the first letter sounds."""
    first = word.split()[0] if word.split() else word
    acronym = len(first) > 1 and first.isupper()
    vowel = first[:1] in "AEFHILMNORSX" if acronym else first[:1].lower() in "aeiou"
    return f"{'an' if vowel else 'a'} {word}"


CLOUD_NAMES = {"aws": "AWS", "azure": "Azure"}


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
            return f"{what} on {self.role} from {self.peer}{_reach([self.peer])}"
        return f"{what} from {self.role} to {self.peer}{_reach([self.peer])}"

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
        return f"{what} {way.format(near=near, far=self.far.text())}{_reach(self.far.addresses)}"

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


AnyRule = Rule | AzRule


@dataclass(frozen=True)
class Drift:
    """One difference between the plan and the cloud."""

    kind: str
    detail: str
    role: str | None = None
    service: str | None = None  # an AWS prefix list's key, e.g. kav-update-ipv4
    rule: AnyRule | None = None  # the cloud's rule; the planned one for missing-rule
    planned: AnyRule | None = None  # for changed-… lines
    changed: tuple[str, ...] = ()  # the fields a changed-… line changes
    broadening: str | None = None  # what it lets through that the plan does not
    policy: tuple[str, ...] = ()  # policy rules the cloud's state breaks there
    group_id: str | None = None
    rule_id: str | None = None
    prefix_list_id: str | None = None
    cidr: str | None = None
    vpc_id: str | None = None
    nsg_id: str | None = None
    asg_id: str | None = None
    resource_group: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        scope = (0, self.role or "") if self.service is None else (1, self.service)
        rule = self.rule.sort_key() if self.rule is not None else ()
        ids = (self.cidr, self.group_id, self.rule_id, self.prefix_list_id, self.nsg_id, self.asg_id)
        return (self.broadening is None, *scope, KINDS.index(self.kind), rule, *(i or "" for i in ids))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.service is not None:
            out["service"] = self.service
        else:
            out["role"] = self.role
        out["broadening"] = self.broadening
        out["policy"] = list(self.policy)
        out["detail"] = self.detail
        if self.rule is not None:
            out |= self.rule.to_json()
        if self.planned is not None:
            out["changed"] = list(self.changed)
            out["planned"] = self.planned.to_json()
        extras = {
            "group_id": self.group_id,
            "rule_id": self.rule_id,
            "prefix_list_id": self.prefix_list_id,
            "cidr": self.cidr,
            "vpc_id": self.vpc_id,
            "nsg_id": self.nsg_id,
            "asg_id": self.asg_id,
            "resource_group": self.resource_group,
        }
        out |= {k: v for k, v in extras.items() if v is not None}
        return out


@dataclass
class Report:
    """The audit of one stack where it is deployed; in sync when there is no drift.

    Exit codes: 0 in sync, 1 drift, 3 broadening drift (see :attr:`exit_code`).
    """

    stack: str
    cloud: str  # aws | azure
    where: tuple[tuple[str, str | None], ...]  # aws: region, vpc_id; azure: subscription, resource_group
    drift: list[Drift] = field(default_factory=list)
    planned: tuple[tuple[str, int], ...] = ()  # ("security groups", 2), ("rules", 36), …
    notes: tuple[str, ...] = ()  # said once, not drift: what Azure adds, what could not be checked

    @property
    def in_sync(self) -> bool:
        return not self.drift

    @property
    def broadening(self) -> bool:
        return any(d.broadening is not None for d in self.drift)

    @property
    def exit_code(self) -> int:
        return 0 if self.in_sync else 3 if self.broadening else 1

    def location(self) -> str:
        """Where the stack was read, in words: ``eu-west-1 (vpc-…)``, ``resource group rg (subscription …)``."""
        w = dict(self.where)
        if self.cloud == "aws":
            return f"{w['region']}" + (f" ({w['vpc_id']})" if w.get("vpc_id") else "")
        return f"resource group {w['resource_group']} (subscription {w['subscription']})"

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cloud": self.cloud,
            **dict(self.where),
            "in_sync": self.in_sync,
            "broadening": self.broadening,
            "planned": {noun.lower().replace(" ", "_"): n for noun, n in self.planned},
            "drift": [d.to_json() for d in self.drift],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class PolicyInputs:
    """What the policy rules need besides the rules: the catalogue and the stack's settings."""

    catalog: Catalog
    product: str
    internet_egress: tuple[str, ...] = ()
    levels: Mapping[str, str] = field(default_factory=dict)
    allow_private: tuple[str, ...] = ()

    @classmethod
    def of(cls, compiled: CompiledStack) -> PolicyInputs:
        s = compiled.config.settings
        return cls(
            compiled.catalog,
            compiled.flows.product,
            tuple(s.internet_egress),
            dict(s.policy),
            tuple(getattr(s, "allow_private", ())),
        )

    def judge(self, resources: Iterable[Resource]) -> dict[str, tuple[str, ...]]:
        """Resource name → the policy rules its rules break (in the policy's order)."""
        levels = parse_levels(dict(self.levels), "seawall:policy")
        for name in NOT_ABOUT_REACH:
            levels[name] = "disabled"
        found: dict[str, set[str]] = {}
        for v in check_resources(
            resources, self.catalog, self.internet_egress, levels, allow_private=self.allow_private
        ):
            found.setdefault(v.resource, set()).add(v.rule)
        return {name: tuple(r for r in RULES if r in rules) for name, rules in found.items()}


def _protocol(text: str) -> str:
    return PROTOCOL_NAMES.get(text.lower(), text.lower())


def _reach(peers: Iterable[str]) -> str:
    """`` (the whole internet)`` or `` (internet-equivalent: …)`` for far sides that amount to it."""
    nets: dict[int, list[str]] = {4: [], 6: []}
    for peer in peers:
        if peer.casefold() in EVERY_ADDRESS:
            return " (the whole internet)"
        try:
            net = ipaddress.ip_network(peer, strict=False)
        except ValueError:
            continue
        if net.prefixlen == 0:
            return " (the whole internet)"
        nets[net.version].append(str(net))
    wide = [f for f in (4, 6) if nets[f] and internet_equivalent(nets[f], f)]
    return f" (internet-equivalent: {' and '.join(coverage_text(nets[f], f) for f in wide)})" if wide else ""


def _cidr_within(inner: str, outer: str) -> bool:
    try:
        a, b = ipaddress.ip_network(inner, strict=False), ipaddress.ip_network(outer, strict=False)
    except ValueError:
        return False
    return a.version == b.version and a.subnet_of(b)  # type: ignore[arg-type]


def list_key(service_tag: str, family: str) -> str:
    """``clearswift-seg/kav-update`` + ``IPv4`` → ``kav-update-ipv4``, the key a plan's peer uses."""
    return f"{service_tag.rsplit('/', 1)[-1]}-{family.lower()}"


def _by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
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


def _planned_rules(n: int) -> str:
    if n == 0:
        return "no planned rule is on it or references it"
    return (
        f"{count(n, 'planned rule')} {'is' if n == 1 else 'are'} on it or {'references' if n == 1 else 'reference'} it"
    )


def _referenced_by(n: int) -> str:
    if n == 0:
        return "no planned rule references it"
    return f"{count(n, 'planned rule')} {'references' if n == 1 else 'reference'} it"


def _not_compared(n: int) -> str:
    if n == 0:
        return "it holds no rules"
    return f"its {count(n, 'rule')} {'was' if n == 1 else 'were'} not compared"


def _used_by(n: int) -> str:
    return "not used by any planned rule" if n == 0 else f"used by {count(n, 'planned rule')}"


# === AWS ============================================================================================================


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
    drift = [_aws_broadening(d, expected, account, match, spec) for d in drift]
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
    for role, candidates in _by(here, _actual_slot).items():
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
    planned = _by(spec.prefix_lists, lambda pl: (dict(pl.tags)[SERVICE_TAG], str(pl.address_family)))

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


def _aws_within(a: Rule, p: Rule) -> bool:
    """Everything ``a`` lets through, ``p`` lets through too (same role and direction assumed by the caller)."""
    if a.direction != p.direction:
        return False
    if p.protocol != "all" and (a.protocol != p.protocol or not p.from_port <= a.from_port <= a.to_port <= p.to_port):
        return False
    return a.peer == p.peer or _cidr_within(a.peer, p.peer)


def _aws_broadening(d: Drift, expected: Mapping[Rule, Any], account: Account, match: _Match, spec: AwsSpec) -> Drift:
    why: str | None = None
    rule = d.rule
    if d.kind == "extra-rule" and isinstance(rule, Rule):
        if _default_egress(rule):
            why = f"AWS's default allow-all egress lets {rule.sentence().replace(' to ', ' out to ', 1)}"
        elif not any(_aws_within(rule, p) for p in expected if p.role == rule.role):
            why = f"opens {rule.sentence()}"
    elif d.kind in ("changed-ports", "changed-peer") and isinstance(rule, Rule) and isinstance(d.planned, Rule):
        if not _aws_within(rule, d.planned):
            why = f"opens {rule.sentence()}; planned {d.planned.sentence()}"
    elif d.kind == "prefix-list-entry-added" and d.cidr is not None:
        planned = [c for pl in spec.prefix_lists if pl.key == d.service for c, _ in pl.entries]
        if not any(_cidr_within(d.cidr, c) for c in planned):
            why = f"adds {d.cidr}{_reach([d.cidr])} to the addresses every rule using {d.service} lets through"
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

    return [replace(d, policy=_merge(broken, names(d))) if d.broadening else d for d in drift]


def _merge(broken: Mapping[str, tuple[str, ...]], names: Iterable[str]) -> tuple[str, ...]:
    found = {rule for name in names for rule in broken.get(name, ())}
    return tuple(r for r in RULES if r in found)


# === Azure ==========================================================================================================


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
    return all(any(x == y or _cidr_within(x, y) for y in p.addresses) for x in a.addresses)


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
    drift = [_az_broadening(d, planned, match) for d in drift]
    if policy is not None:
        drift = _az_policy(drift, policy, planned, match)
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
                _outside(nsg, spec.stack, account.resource_group) + "; its rules were not compared",
                role=az.tag(nsg.tags, ROLE_TAG),
                nsg_id=nsg.id,
                resource_group=nsg.resource_group,
            )
        )
    for role, asgs in _by(account.asgs, lambda a: az.tag(a.tags, ROLE_TAG)).items():
        wanted = planned[role].asg_name if role in planned else None
        first, extra = _pick(asgs, role, wanted, "ASG")
        if first is not None and role is not None:
            match.asg_roles[first.id.casefold()] = role
            match.asgs[role] = first
        match.drift += [
            Drift("extra-asg", f"{a.name} is tagged {STACK_TAG} but {why}", role=role, asg_id=a.id) for a, why in extra
        ]
    for role, nsgs in _by(account.nsgs, lambda n: az.tag(n.tags, ROLE_TAG)).items():
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
    pool = _by(extra, AzRule.content)
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


def _az_broadening(d: Drift, planned: Mapping[str, list[AzRule]], match: _AzMatch) -> Drift:
    why: str | None = None
    rule = d.rule
    if d.kind == "extra-rule" and isinstance(rule, AzRule):
        allows = [p for p in planned.get(rule.role, []) if p.access == "Allow"]
        if not any(_az_within(rule, p) for p in allows):
            why = f"opens {rule.sentence()}"
    elif d.kind.startswith("changed-") and isinstance(rule, AzRule) and isinstance(d.planned, AzRule):
        if not _az_within(rule, d.planned):
            why = f"{rule.name} now allows {rule.sentence()}"
            if d.planned.access == "Allow":
                why += f"; planned {d.planned.sentence()}"
    elif d.kind == "missing-deny-all" and isinstance(rule, AzRule):
        why = AZURE_DEFAULTS[rule.direction]
    elif d.kind == "shadowed-deny-all" and isinstance(rule, AzRule):
        why = f"{rule.name} opens {rule.sentence()} ahead of {DENY_ALL[rule.direction]}"
    elif d.kind == "extra-nsg":
        nsg = next(n for n in match.extra_nsgs if n.id == d.nsg_id)
        held = [r for r in nsg.rules if r.access.casefold() == "allow"]
        if held and nsg.attached:
            why = f"is attached and holds {count(held, 'allow rule')} the plan does not have"
    return replace(d, broadening=why) if why else d


def _az_policy(
    drift: list[Drift], policy: PolicyInputs, planned: Mapping[str, list[AzRule]], match: _AzMatch
) -> list[Drift]:
    """Name the policy rules the subscription's rules break, on every broadening line (one resource per rule)."""
    described = {(role, p.name): p.description for role, rules in planned.items() for p in rules}
    resources = [
        Resource(APPLICATION_SECURITY_GROUP, f"asg:{role}", "", {"tags": {ROLE_TAG: role}}) for role in match.asgs
    ]
    names: dict[tuple[str, str], str] = {}  # (nsg id, rule name) → resource name

    def add(nsg: az.ActualNsg, role: str, rule: AzRule, description: str) -> None:
        name = f"{nsg.id}/{rule.name}"
        names[(nsg.id, rule.name)] = name
        body = {
            "name": rule.name,
            "priority": rule.priority,
            "direction": rule.direction,
            "access": rule.access,
            "protocol": rule.protocol,
            "destinationPortRanges": list(rule.ports),
            "description": description,
        }
        for end, side in (("source", rule.source), ("destination", rule.destination)):
            body[f"{end}AddressPrefixes"] = list(side.addresses)
            body[f"{end}ApplicationSecurityGroups"] = [
                {"id": f"${{asg:{a.removeprefix('role:')}.id}}" if a.startswith("role:") else a} for a in side.asgs
            ]
        tags = {ROLE_TAG: role, "seawall:product": policy.product}
        resources.append(Resource(NETWORK_SECURITY_GROUP, name, "", {"tags": tags, "securityRules": [body]}))

    for role, nsg in [*match.nsgs.items(), *((az.tag(n.tags, ROLE_TAG) or "?", n) for n in match.extra_nsgs)]:
        for raw in nsg.rules:
            rule = _actual_az(role, raw, match.asg_roles)
            add(nsg, role, rule, described.get((role, rule.name), raw.description))
        for raw in nsg.default_rules:  # Azure's defaults let through what a deleted deny-all no longer stops
            rule = _actual_az(role, raw, match.asg_roles)
            add(nsg, role, replace(rule, name=f"default:{rule.name}"), "")
    broken = policy.judge(resources)

    def lookup(d: Drift) -> list[str]:
        if d.kind == "extra-nsg":
            nsg = next(n for n in match.extra_nsgs if n.id == d.nsg_id)
            return [names[(nsg.id, r.name)] for r in nsg.rules]
        if d.kind == "missing-deny-all" and isinstance(d.rule, AzRule) and d.nsg_id:
            nsg = match.nsgs[d.rule.role]
            return [
                names[(nsg.id, f"default:{r.name}")]
                for r in nsg.default_rules
                if r.direction.casefold() == d.rule.direction.casefold()
            ]
        if isinstance(d.rule, AzRule) and d.nsg_id:
            return [names.get((d.nsg_id, d.rule.name), "")]
        return []

    return [replace(d, policy=_merge(broken, lookup(d))) if d.broadening else d for d in drift]


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
    _check_cloud(compiled, "aws")
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
    _check_cloud(compiled, "azure")
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


def _check_cloud(compiled: CompiledStack, cloud: str) -> None:
    actual = compiled.config.settings.cloud
    if actual != cloud:
        raise UserError(
            "--stack",
            f"{compiled.config.stack} is {article(CLOUD_NAMES.get(actual, actual))} stack, not {article(CLOUD_NAMES[cloud])} one",
        )
