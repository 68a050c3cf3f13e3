"""The team's rules over registered resources, implemented once.

Two entry points use these functions: ``seawall check --stack`` (on the offline
plan) and the CrossGuard pack in ``policy/`` (on what ``pulumi preview``
registers). Both hand over the same thing: resources as the engine sees them
(type token, logical name, URN, camelCase inputs). References between
resources are ``${name.id}`` in a plan; in a preview they may be unknown, and
each rule then decides from what it can see.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from seawall.catalog.load import Catalog
from seawall.catalog.model import Entry
from seawall.render.text import AWS_DESCRIPTION_CHARS

Level = Literal["advisory", "mandatory", "disabled"]
LEVELS: tuple[Level, ...] = ("advisory", "mandatory", "disabled")

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
NSG = "azure-native:network:NetworkSecurityGroup"
STANDALONE_NSG_RULE = "azure-native:network:SecurityRule"
MANAGEMENT_PORTS = (22, 80, 443, 8445, 8446, 8447)
AZURE_ANY_SOURCE = {"*", "Internet", "0.0.0.0/0", "::/0", "Any"}
AZURE_RULE_NAME = re.compile(r"^\w([\w.-]{0,78}\w)?$")
IDS_IN_DESCRIPTION = re.compile(r"\[([a-z0-9][a-z0-9 -]*?)(?: \+\d+ more)?\]$")
REFERENCE = re.compile(r"^\$\{(.+)\.id\}$")


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Resource:
        return cls(str(data["type"]), str(data["name"]), str(data.get("urn", "")), data.get("inputs") or {})


@dataclass(frozen=True)
class Violation:
    rule: str
    level: Level
    resource: str  # logical name
    urn: str
    message: str


@dataclass(frozen=True)
class Context:
    resources: tuple[Resource, ...]
    catalog: Catalog
    internet_egress: frozenset[str] = frozenset()
    rules_per_security_group: int = 60
    entries: dict[str, Entry] = field(default_factory=dict)

    def by_name(self, type_: str, reference: Any) -> Resource | None:
        """The resource a ``${name.id}`` reference points at (None when unknown or external)."""
        match = REFERENCE.match(reference) if isinstance(reference, str) else None
        if match is None:
            return None
        return next((r for r in self.resources if r.type == type_ and r.name == match.group(1)), None)


Finding = tuple[Resource, str]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    default: Level
    check: Callable[[Context], Iterable[Finding]]


# --- reading rules from either cloud ------------------------------------------------------


@dataclass(frozen=True)
class RuleView:
    """One allow rule, cloud-neutral: direction, protocol, ports, the far side, the ids it cites."""

    resource: Resource
    label: str  # the rule's name
    direction: Literal["in", "out"]
    protocol: str  # tcp | udp | * | -1
    first: int
    last: int
    peer_internet: bool
    peers: tuple[str, ...]
    ids: tuple[str, ...] | None  # None: the rule names no ids
    product: str | None


def rule_views(resources: Iterable[Resource]) -> Iterator[RuleView]:
    for r in resources:
        if r.type in (INGRESS, EGRESS):
            yield _aws_view(r)
        elif r.type == NSG:
            yield from _azure_views(r)


def _aws_view(r: Resource) -> RuleView:
    i = r.inputs
    tags = i.get("tags") or {}
    ids_text = tags.get("seawall:entries")
    peer = i.get("cidrIpv4") or i.get("cidrIpv6") or i.get("prefixListId") or i.get("referencedSecurityGroupId") or ""
    internet = peer in ("0.0.0.0/0", "::/0")
    first, last = i.get("fromPort"), i.get("toPort")
    if i.get("ipProtocol") in ("-1", "all") or first is None:
        first, last = 0, 65535
    return RuleView(
        r,
        r.name,
        "in" if r.type == INGRESS else "out",
        str(i.get("ipProtocol", "")),
        int(first),
        int(last if last is not None else first),
        internet,
        (str(peer),),
        tuple(ids_text.split()) if ids_text else None,
        tags.get("seawall:product"),
    )


def _azure_views(r: Resource) -> Iterator[RuleView]:
    product = (r.inputs.get("tags") or {}).get("seawall:product")
    for rule in r.inputs.get("securityRules") or []:
        if rule.get("access") != "Allow":
            continue
        inbound = rule.get("direction") == "Inbound"
        side = "source" if inbound else "destination"
        prefixes = (
            [rule[f"{side}AddressPrefix"]]
            if rule.get(f"{side}AddressPrefix")
            else list(rule.get(f"{side}AddressPrefixes") or [])
        )
        asgs = [a.get("id", "") for a in rule.get(f"{side}ApplicationSecurityGroups") or []]
        internet = any(p in AZURE_ANY_SOURCE or _is_everything(p) for p in prefixes)
        match = IDS_IN_DESCRIPTION.search(rule.get("description") or "")
        for first, last in _azure_ports(rule):
            yield RuleView(
                r,
                f"{r.name}/{rule.get('name')}",
                "in" if inbound else "out",
                str(rule.get("protocol", "*")).lower(),
                first,
                last,
                internet,
                tuple(prefixes + asgs),
                tuple(match.group(1).split()) if match else None,
                product,
            )


def _azure_ports(rule: Mapping[str, Any]) -> list[tuple[int, int]]:
    ranges = (
        [rule["destinationPortRange"]]
        if rule.get("destinationPortRange")
        else list(rule.get("destinationPortRanges") or [])
    )
    out = []
    for text in ranges:
        if text == "*":
            out.append((0, 65535))
        else:
            first, _, last = str(text).partition("-")
            out.append((int(first), int(last or first)))
    return out


def _is_everything(prefix: str) -> bool:
    try:
        return ipaddress.ip_network(prefix, strict=False).prefixlen == 0
    except ValueError:
        return False


def _covers(view: RuleView, port: int) -> bool:
    return view.first <= port <= view.last


# --- the rules ----------------------------------------------------------------------------


def _internet_entry(entry: Entry, direction: str) -> bool:
    if not any(p.kind == "internet" for p in entry.peer):
        return False
    opens = {"host": {"out"}, "peer": {"in"}, "either": {"in", "out"}}[entry.opener]
    return direction in opens


def internet_ingress_documented(ctx: Context) -> Iterator[Finding]:
    for v in rule_views(ctx.resources):
        if v.direction != "in" or not v.peer_internet:
            continue
        if not v.ids:
            yield v.resource, f"{v.label}: opens {v.protocol}/{_ports(v)} to the internet and names no catalogue entry"
            continue
        bad = [i for i in v.ids if i not in ctx.entries or not _internet_entry(ctx.entries[i], "in")]
        if bad:
            yield (
                v.resource,
                f"{v.label}: ingress from the internet is justified by {', '.join(bad)}, whose peer is not the internet",
            )


def no_management_from_internet(ctx: Context) -> Iterator[Finding]:
    for v in rule_views(ctx.resources):
        if v.direction == "in" and v.peer_internet:
            exposed = [p for p in MANAGEMENT_PORTS if _covers(v, p)]
            if exposed:
                ports = ", ".join(map(str, exposed))
                yield v.resource, f"{v.label}: management/console port(s) {ports} reachable from the internet"


def no_product_internal_ports(ctx: Context) -> Iterator[Finding]:
    local: dict[str, set[int]] = {}
    for name, product in ctx.catalog.products.items():
        local[name] = {
            p for e in product.entries if e.scope == "localhost" for r in e.ports for p in range(r.first, r.last + 1)
        }
    everything = set().union(*local.values()) if local else set()
    for v in rule_views(ctx.resources):
        if v.direction != "in":
            continue
        ports = local.get(v.product or "", everything)
        hits = sorted(p for p in ports if _covers(v, p))
        if hits:
            yield (
                v.resource,
                f"{v.label}: opens product-internal port(s) {', '.join(map(str, hits[:8]))}{' …' if len(hits) > 8 else ''}",
            )


def traceable(ctx: Context) -> Iterator[Finding]:
    for v in rule_views(ctx.resources):
        if not v.ids:
            yield (
                v.resource,
                f"{v.label}: names no catalogue entry (AWS tag seawall:entries, or [ids] at the end of the description)",
            )
            continue
        unknown = [i for i in v.ids if i not in ctx.entries]
        if unknown:
            yield v.resource, f"{v.label}: unknown catalogue id(s) {', '.join(unknown)}"


def internet_egress_opted_in(ctx: Context) -> Iterator[Finding]:
    for v in rule_views(ctx.resources):
        if v.direction != "out" or not v.peer_internet:
            continue
        for i in v.ids or ("(none)",):
            entry = ctx.entries.get(i)
            if entry is not None and _internet_entry(entry, "out"):
                continue
            services = {p.name for p in entry.peer if p.kind == "service"} if entry else set()
            if services & ctx.internet_egress:
                continue
            yield (
                v.resource,
                f"{v.label}: egress to the whole internet for {i} without an opt-in (seawall:internetEgress)",
            )


def aws_limits(ctx: Context) -> Iterator[Finding]:
    usage: dict[tuple[str, str, int], tuple[int, Resource]] = {}
    for r in ctx.resources:
        i = r.inputs
        if r.type == SG:
            if i.get("ingress") or i.get("egress"):
                yield r, "inline ingress/egress: rules must be standalone SecurityGroupIngressRule/EgressRule resources"
            yield from _aws_text(r, str(i.get("description", "")))
        elif r.type == LEGACY_RULE:
            yield r, "aws.ec2.SecurityGroupRule must not be mixed with aws.vpc rules"
        elif r.type == PREFIX_LIST:
            entries = i.get("entries") or []
            max_entries = int(i.get("maxEntries") or 0)
            if not len(entries) <= max_entries <= 1000:
                yield r, f"prefix list needs entries ({len(entries)}) <= maxEntries ({max_entries}) <= 1000"
            if str(i.get("name", "")).startswith("com.amazonaws"):
                yield r, "prefix list names may not start with com.amazonaws"
            list_families = {ipaddress.ip_network(e["cidr"], strict=False).version for e in entries}
            if len(list_families) > 1:
                yield r, "a prefix list holds one address family"
            for e in entries:
                yield from _aws_cidr(r, e["cidr"])
                yield from _aws_text(r, str(e.get("description", "")))
        elif r.type in (INGRESS, EGRESS):
            yield from _aws_text(r, str(i.get("description", "")))
            peers = [k for k in ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId") if i.get(k)]
            if len(peers) != 1:
                yield r, f"a rule needs exactly one peer, found {', '.join(peers) or 'none'}"
            for key in ("cidrIpv4", "cidrIpv6"):
                if i.get(key):
                    yield from _aws_cidr(r, i[key])
            weight = 1
            plist = ctx.by_name(PREFIX_LIST, i.get("prefixListId"))
            if plist is not None:
                weight = int(plist.inputs.get("maxEntries") or 1)
            families: tuple[int, ...] = (6,) if i.get("cidrIpv6") else (4,) if i.get("cidrIpv4") else (4, 6)
            if plist is not None:
                families = (6,) if plist.inputs.get("addressFamily") == "IPv6" else (4,)
            group = str(i.get("securityGroupId", r.name))
            for family in families:
                slot = (group, "ingress" if r.type == INGRESS else "egress", family)
                count, _ = usage.get(slot, (0, r))
                usage[slot] = (count + weight, r)
    for (group, direction, family), (count, example) in sorted(usage.items(), key=lambda kv: kv[0]):
        if count > ctx.rules_per_security_group:
            yield (
                example,
                f"{group}: {count} {direction} IPv{family} rules (prefix lists count maxEntries) exceed {ctx.rules_per_security_group}",
            )


def _aws_text(r: Resource, text: str) -> Iterator[Finding]:
    if len(text) > 255 or AWS_DESCRIPTION_CHARS.search(text):
        yield r, f"description not accepted by AWS (255 chars of a-zA-Z0-9 ._-:/()#,@[]+=;{{}}!$*): {text[:60]!r}"


def _aws_cidr(r: Resource, cidr: str) -> Iterator[Finding]:
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        yield r, f"{cidr!r} is not a canonical CIDR"


def azure_limits(ctx: Context) -> Iterator[Finding]:
    standalone = [r for r in ctx.resources if r.type == STANDALONE_NSG_RULE]
    for r in standalone:
        yield r, "standalone SecurityRule resources must not be mixed with inline NSG securityRules"
    for r in ctx.resources:
        if r.type != NSG:
            continue
        rules = r.inputs.get("securityRules") or []
        if len(rules) > 1000:
            yield r, f"{len(rules)} rules exceed 1,000 per NSG"
        seen: dict[tuple[str, int], str] = {}
        for rule in rules:
            name = str(rule.get("name", ""))
            priority = int(rule.get("priority", 0))
            if not 100 <= priority <= 4096:
                yield r, f"rule {name}: priority {priority} outside 100-4096"
            key = (str(rule.get("direction")), priority)
            if key in seen:
                yield r, f"rules {seen[key]} and {name} share {key[0]} priority {priority}"
            seen[key] = name
            if len(name) > 80 or not AZURE_RULE_NAME.match(name):
                yield r, f"rule name {name!r} breaks Azure's naming rule"
            if len(rule.get("description") or "") > 140:
                yield r, f"rule {name}: description longer than 140 characters"
            for side in ("source", "destination"):
                prefixes = rule.get(f"{side}AddressPrefixes") or []
                versions = {
                    ipaddress.ip_network(p, strict=False).version for p in prefixes if not p[0].isalpha() and p != "*"
                }
                if len(versions) > 1:
                    yield r, f"rule {name}: mixes IPv4 and IPv6 {side} prefixes"
                if len(rule.get(f"{side}ApplicationSecurityGroups") or []) > 10:
                    yield r, f"rule {name}: more than 10 application security groups on the {side}"


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule(
            "internet-ingress-documented",
            "Ingress from the internet only for enabled catalogue entries whose peer is the internet (SMTP 25).",
            "mandatory",
            internet_ingress_documented,
        ),
        Rule(
            "no-management-from-internet",
            "No management or console port (22, 80, 443, 8445-8447) reachable from the internet.",
            "mandatory",
            no_management_from_internet,
        ),
        Rule(
            "no-product-internal-ports",
            "No localhost-scope or product-internal port open anywhere.",
            "mandatory",
            no_product_internal_ports,
        ),
        Rule("traceable", "Every rule names the catalogue entries that justify it.", "mandatory", traceable),
        Rule(
            "internet-egress-opted-in",
            "Egress to the whole internet only for entries whose peer is the internet or services the stack opted in.",
            "mandatory",
            internet_egress_opted_in,
        ),
        Rule(
            "aws-limits",
            "AWS hard limits: rule quota per group (prefix lists weighted), one peer per rule, canonical CIDRs, description alphabet, prefix-list limits, no inline rules.",
            "mandatory",
            aws_limits,
        ),
        Rule(
            "azure-limits",
            "Azure hard limits: priorities, names, descriptions, address families, ASGs per rule, rules per NSG, no standalone rules beside inline ones.",
            "mandatory",
            azure_limits,
        ),
    )
}


def parse_levels(pairs: Mapping[str, str], where: str = "policy levels") -> dict[str, Level]:
    from seawall.errors import UserError

    out: dict[str, Level] = {}
    for rule, level in pairs.items():
        if rule not in RULES:
            raise UserError(where, f"unknown policy rule {rule!r}; valid: {', '.join(RULES)}")
        if level not in LEVELS:
            raise UserError(where, f"{rule}: {level!r} is not a level; valid: {', '.join(LEVELS)}")
        out[rule] = level
    return out


def check_resources(
    resources: Iterable[Resource],
    catalog: Catalog,
    internet_egress: Iterable[str] = (),
    levels: Mapping[str, Level] | None = None,
    rules_per_security_group: int = 60,
) -> list[Violation]:
    """Every violation of every enabled rule, in a stable order."""
    ctx = Context(
        tuple(resources),
        catalog,
        frozenset(internet_egress),
        rules_per_security_group,
        {e.id: e for _, e in catalog.entries()},
    )
    out = []
    for name, rule in RULES.items():
        level = (levels or {}).get(name, rule.default)
        if level == "disabled":
            continue
        for resource, message in rule.check(ctx):
            out.append(Violation(name, level, resource.name, resource.urn, message))
    return sorted(set(out), key=lambda v: (list(RULES).index(v.rule), v.resource, v.message))


def _ports(v: RuleView) -> str:
    return str(v.first) if v.first == v.last else f"{v.first}-{v.last}"
