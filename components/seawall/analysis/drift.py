"""Drift: what a deployed stack holds that its plan does not, and the reverse (pure): what both clouds share.

The expected state is the specification the stack renders to (the same content
``seawall plan`` declares); the actual state is what :mod:`seawall.aws.account` or
:mod:`seawall.azure.account` read. Both sides are normalised to content, never ids.
Each cloud compares in its own module, :mod:`seawall.aws.drift` and
:mod:`seawall.azure.drift`; this one holds what they share: a :class:`Drift` line,
the :class:`Report` of one stack, the :class:`PolicyInputs` that judge broadening
lines, the plain-English helpers and the address and grouping helpers.

**Broadening** drift lets more through than the plan: an extra allow rule that no
planned rule contains, a change that widens ports, peer or protocol, a vendor
address added to a list, a deleted or shadowed Azure deny-all (Azure's defaults
then allow), a stray group or attached NSG holding rules. Broadening lines come
first and name the policy rules (:mod:`seawall.analysis.policy`) that the account's
rules break, judged the way ``seawall check`` judges a plan.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable, Iterable, Mapping, Sized
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from seawall.analysis.policy import RULES, check_resources, parse_levels
from seawall.azure.limits import ANY_ADDRESS
from seawall.catalog.load import Catalog
from seawall.errors import UserError
from seawall.netaddr import coverage_text, internet_equivalent
from seawall.registered import Resource
from seawall.stack import CompiledStack

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


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
    "admits-more",  # packets the cloud admits beyond the plan that no other line accounts for
    "renamed-rule",
    # AWS prefix lists
    "missing-prefix-list",
    "extra-prefix-list",
    "prefix-list-entry-added",
    "prefix-list-entry-removed",
    "untagged-group-uses-prefix-list",
)
EVERY_ADDRESS = frozenset(a.casefold() for a in ANY_ADDRESS)
# Policy rules that say nothing about what a rule lets through (every hand-made rule cites no entry).
NOT_ABOUT_REACH = ("traceable", "aws-limits", "azure-limits", "internet-measure-default")


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


# --- drift lines and reports --------------------------------------------------------------------------------------


class AnyRule(Protocol):
    """What a drift line needs of its rule: an AWS :class:`seawall.aws.drift.Rule` or an Azure
    :class:`seawall.azure.drift.AzRule`."""

    def label(self) -> str: ...
    def sort_key(self) -> tuple[Any, ...]: ...
    def to_json(self) -> dict[str, Any]: ...


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
    internet_prefixes: Mapping[int, int] | None = None  # seawall:internetEquivalent; None: the default /4 and /8

    @classmethod
    def of(cls, compiled: CompiledStack) -> PolicyInputs:
        s = compiled.config.settings
        return cls(
            compiled.catalog,
            compiled.flows.product,
            tuple(s.internet_egress),
            dict(s.policy),
            tuple(getattr(s, "allow_private", ())),
            {4: s.internet_equivalent.ipv4, 6: s.internet_equivalent.ipv6},
        )

    def judge(self, resources: Iterable[Resource], by: str = "resource") -> dict[str, tuple[str, ...]]:
        """Resource name (or, ``by="label"``, the rule label a finding starts with) → the policy rules broken."""
        levels = parse_levels(dict(self.levels), "seawall:policy")
        for name in NOT_ABOUT_REACH:
            levels[name] = "disabled"
        found: dict[str, set[str]] = {}
        for v in check_resources(
            resources,
            self.catalog,
            self.internet_egress,
            levels,
            allow_private=self.allow_private,
            internet_prefixes=self.internet_prefixes,
        ):
            key = v.resource if by == "resource" else v.message.split(": ", 1)[0]
            found.setdefault(key, set()).add(v.rule)
        return {name: tuple(r for r in RULES if r in rules) for name, rules in found.items()}


# --- shared helpers -----------------------------------------------------------------------------------------------


def reach_text(peers: Iterable[str]) -> str:
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


def cidr_within(inner: str, outer: str) -> bool:
    try:
        a, b = ipaddress.ip_network(inner, strict=False), ipaddress.ip_network(outer, strict=False)
    except ValueError:
        return False
    return a.version == b.version and a.subnet_of(b)  # type: ignore[arg-type]


def group_by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    out: dict[K, list[T]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


def broken_rules(broken: Mapping[str, tuple[str, ...]], names: Iterable[str]) -> tuple[str, ...]:
    found = {rule for name in names for rule in broken.get(name, ())}
    return tuple(r for r in RULES if r in found)


def check_cloud(compiled: CompiledStack, cloud: str) -> None:
    actual = compiled.config.settings.cloud
    if actual != cloud:
        raise UserError(
            "--stack",
            f"{compiled.config.stack} is {article(CLOUD_NAMES.get(actual, actual))} stack, not {article(CLOUD_NAMES[cloud])} one",
        )
