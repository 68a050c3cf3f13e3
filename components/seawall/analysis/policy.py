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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from seawall.addresses.validate import AddressSource, address_problem
from seawall.analysis.ruleviews import rule_views, vendor_addresses
from seawall.aws import limits as aws
from seawall.aws.limits import (
    DESCRIPTION_FORBIDDEN,
    EGRESS_RULE,
    INGRESS_RULE,
    LEGACY_RULE,
    PREFIX_LIST,
    SECURITY_GROUP,
)
from seawall.azure import limits as azure
from seawall.azure.limits import NETWORK_SECURITY_GROUP, STANDALONE_SECURITY_RULE
from seawall.catalog.load import Catalog
from seawall.catalog.model import Entry, Service
from seawall.errors import UserError
from seawall.netaddr import INTERNET_EQUIVALENT_PREFIX, Network, coverage_text, internet_equivalent, port_text
from seawall.packets.admitted import INTERNET, box, protocol_ranges
from seawall.packets.describe import ports_text, protocol_text
from seawall.packets.measure import coverage, internet
from seawall.packets.resources import admitted_from, carries_rules
from seawall.packets.space import (
    Node,
    PeerSet,
    intersection,
    merge_ranges,
    network_set,
    slices,
    union_sets,
)
from seawall.registered import UNKNOWN, Resource, ResourceIndex, RuleView, VendorAddresses
from seawall.stack import CompiledStack
from seawall.text import slug

__all__ = [
    "LEVELS",
    "RULES",
    "CheckResult",
    "Level",
    "Resource",
    "Rule",
    "Violation",
    "check_resources",
    "check_stack",
    "parse_level_options",
    "parse_levels",
]

Level = Literal["advisory", "mandatory", "disabled"]
LEVELS: tuple[Level, ...] = ("advisory", "mandatory", "disabled")
MANAGEMENT_PORTS = (22, 80, 443, 8445, 8446, 8447)
# How a rule writes "every address" itself; any other far side that is internet-equivalent gets its coverage spelled out.
EVERYWHERE = frozenset({"0.0.0.0/0", "::/0", "internet", "*", "any"})


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
    rules_per_security_group: int = aws.DEFAULT_RULES_PER_SECURITY_GROUP
    entries: dict[str, Entry] = field(default_factory=dict)
    index: ResourceIndex = field(default_factory=lambda: ResourceIndex(()))
    views: tuple[RuleView, ...] = ()
    allow_private: tuple[Network, ...] = ()
    vendor: tuple[VendorAddresses, ...] = ()
    # The stack's seawall:internetEquivalent (a prefix length per family): a union at least that large is the internet.
    prefixes: Mapping[int, int] = field(default_factory=lambda: dict(INTERNET_EQUIVALENT_PREFIX))
    # Rules through which the model says the internet gets through (keyed by id() of the view), with why
    # when the rule does not say "internet" by itself (see _exposed).
    exposed: dict[int, str] = field(default_factory=dict)
    # What Azure's default allow rules decide in each NSG (nothing while a deny-all comes first):
    # (NSG, direction, default rule, the packets it lets through).
    defaults: tuple[tuple[Resource, str, str, Node], ...] = ()

    def internet(self, v: RuleView) -> bool:
        """The cloud will let the whole internet through this rule (alone, or with the role's other rules).

        Judged on what the role admits at each port: a rule that a deny shadows lets nothing
        through, and rules on different port ranges add up where their ports meet.
        """
        return id(v) in self.exposed

    def reach(self, v: RuleView) -> str:
        """Why a rule that does not say "internet" counts as the internet: what its addresses cover."""
        if self.exposed.get(id(v)):
            return self.exposed[id(v)]
        if all(p.casefold() in EVERYWHERE for p in v.peers):
            return ""
        covers = _coverage(v.ipv4, v.ipv6, self.prefixes)
        return f"; {', '.join(v.peers)} {'covers' if len(v.peers) == 1 else 'cover'} {covers}"


def _equivalent(v: RuleView, prefixes: Mapping[int, int]) -> bool:
    """The rule's far side is the internet by the stack's measure (``0.0.0.0/0`` and ``Internet`` are, at any)."""
    return internet_equivalent(v.ipv4, 4, prefixes[4]) or internet_equivalent(v.ipv6, 6, prefixes[6])


Finding = tuple[Resource, str]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    default: Level
    check: Callable[[Context], Iterable[Finding]]


def _covers(view: RuleView, port: int) -> bool:
    return view.first <= port <= view.last


# --- the rules ----------------------------------------------------------------------------


def _internet_entry(entry: Entry, direction: str) -> bool:
    if not any(p.kind == "internet" for p in entry.peer):
        return False
    opens = {"host": {"out"}, "peer": {"in"}, "either": {"in", "out"}}[entry.opener]
    return direction in opens


def internet_ingress_documented(ctx: Context) -> Iterator[Finding]:
    for v in ctx.views:
        if v.direction != "in" or not ctx.internet(v):
            continue
        if not v.ids:
            yield (
                v.resource,
                f"{v.label}: opens {v.protocol}/{_ports(v)} to the internet and names no catalogue entry{ctx.reach(v)}",
            )
            continue
        bad = [i for i in v.ids if i not in ctx.entries or not _internet_entry(ctx.entries[i], "in")]
        if bad:
            yield (
                v.resource,
                f"{v.label}: ingress from the internet is justified by {', '.join(bad)}, whose peer is not the internet"
                + ctx.reach(v),
            )
    yield from _default_exposure(ctx, "in")


def _default_exposure(ctx: Context, direction: str) -> Iterator[Finding]:
    """Internet traffic that only Azure's default rules admit: the NSG lost (or narrowed) its deny-all."""
    for nsg, way, default, node in ctx.defaults:
        if way != direction:
            continue
        wide = [p for p in slices(node) if internet(p.peer, ctx.prefixes)]
        if wide:
            merged = merge_ranges([p.protocols for p in wide])
            what = "every protocol" if merged == ((0, 255),) else ", ".join(protocol_text(r) for r in merged)
            yield (
                nsg,
                f"{nsg.name}: Azure's default {default} lets {what} {'in from' if direction == 'in' else 'out to'} "
                f"the internet; valid: a deny-all-{'inbound' if direction == 'in' else 'outbound'} rule ending the "
                "NSG's band",
            )


def no_management_from_internet(ctx: Context) -> Iterator[Finding]:
    for v in ctx.views:
        if v.direction == "in" and ctx.internet(v):
            exposed = [p for p in MANAGEMENT_PORTS if _covers(v, p)]
            if exposed:
                ports = ", ".join(map(str, exposed))
                yield (
                    v.resource,
                    f"{v.label}: management/console port(s) {ports} reachable from the internet{ctx.reach(v)}",
                )


def no_product_internal_ports(ctx: Context) -> Iterator[Finding]:
    local: dict[str, set[int]] = {}
    for name, product in ctx.catalog.products.items():
        local[name] = {
            p for e in product.entries if e.scope == "localhost" for r in e.ports for p in range(r.first, r.last + 1)
        }
    everything = set().union(*local.values()) if local else set()
    for v in ctx.views:
        if v.direction != "in":
            continue
        ports = local.get(v.product or "", everything)
        hits = sorted(p for p in ports if _covers(v, p))
        if hits:
            yield (
                v.resource,
                f"{v.label}: opens product-internal port(s) {', '.join(map(str, hits[:8]))}{' …' if len(hits) > 8 else ''}",
            )
    for nsg, way, default, node in ctx.defaults:
        if way != "in":
            continue
        tags = nsg.inputs.get("tags")
        product_name = str(tags.get("seawall:product", "")) if isinstance(tags, Mapping) else ""
        ports = local.get(product_name, everything)
        opened = {
            p
            for part in slices(node)
            if part.protocols[0] <= 17 and part.protocols[1] >= 6
            for lo, hi in part.ports
            for p in ports
            if lo <= p <= hi
        }
        if opened:
            hits = sorted(opened)
            yield (
                nsg,
                f"{nsg.name}: Azure's default {default} opens product-internal port(s) "
                f"{', '.join(map(str, hits[:8]))}{' …' if len(hits) > 8 else ''}",
            )


def traceable(ctx: Context) -> Iterator[Finding]:
    for v in ctx.views:
        if not v.ids:
            yield (
                v.resource,
                f"{v.label}: names no catalogue entry (AWS tag seawall:entries, or [ids] at the end of the description)",
            )
            continue
        unknown = [i for i in v.ids if i not in ctx.entries]
        if unknown:
            yield v.resource, f"{v.label}: unknown catalogue id(s) {', '.join(unknown)}"


def rules_judged(ctx: Context) -> Iterator[Finding]:
    """Resources that can add allow rules seawall does not read: every other verdict is blind to them."""
    reported = (LEGACY_RULE, STANDALONE_SECURITY_RULE)  # aws-limits and azure-limits name these already
    for r in ctx.resources:
        if r.type not in reported and carries_rules(r):
            yield (
                r,
                f"{r.type} {r.name} can add allow rules and seawall does not read this type, so what it opens "
                "cannot be judged; write the rules as aws.vpc SecurityGroupIngressRule/EgressRule or "
                "azure-native:network:NetworkSecurityGroup securityRules",
            )


def internet_egress_opted_in(ctx: Context) -> Iterator[Finding]:
    for v in ctx.views:
        if v.direction != "out" or not ctx.internet(v):
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
                f"{v.label}: egress to the whole internet for {i} without an opt-in (seawall:internetEgress)"
                + ctx.reach(v),
            )
    yield from _default_exposure(ctx, "out")


def internet_measure_default(ctx: Context) -> Iterator[Finding]:
    """One finding, on the first firewall resource, when the measure of "the internet" is looser than the default."""
    loose = [v for v in (4, 6) if ctx.prefixes[v] < INTERNET_EQUIVALENT_PREFIX[v]]
    first = next((r for r in ctx.resources if r.type in (aws.SECURITY_GROUP, NETWORK_SECURITY_GROUP)), None)
    if loose and first is not None:
        said = " and ".join(
            f"a /{ctx.prefixes[v]}'s worth of IPv{v} (default /{INTERNET_EQUIVALENT_PREFIX[v]})" for v in loose
        )
        yield first, f"seawall:internetEquivalent is loosened: only {said} counts as the internet"


def vendor_addresses_plausible(ctx: Context) -> Iterator[Finding]:
    """Vendor prefix lists and vendor-service rule prefixes hold only what the lock validation would accept."""
    retired = _retired_by_host(ctx.catalog)
    for va in ctx.vendor:
        name = f"{va.product}/{va.service}" if va.product else va.service
        service = _service(ctx.catalog, va.product, va.service)
        if service is None:
            why = (
                f"{name} is not a vendor service of the catalogue"
                if va.product
                else f"service {name} names no product (AWS: seawall:service product/service; Azure: the NSG's seawall:product)"
            )
            yield va.resource, f"{va.label}: {why}, so its addresses cannot be judged"
            continue
        if va.addresses is None:
            yield va.resource, f"{va.label}: {name}: the addresses are not known, so they cannot be judged"
            continue
        gone = _retired(retired, service, name)
        for text in va.addresses:
            problem = _implausible(text, service, gone, ctx.allow_private)
            if problem:
                yield va.resource, f"{va.label}: {name}: {problem}"


def _implausible(
    text: str, service: Service, retired: Mapping[str, set[str]], allow: tuple[Network, ...]
) -> str | None:
    """Why one registered address of ``service`` would not get past the lock validation (None when it would)."""
    if text == UNKNOWN:
        return "an address is unknown until apply, so it cannot be judged"
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        if text.strip().isalpha() or text.strip() == "*":
            return f"{text!r} is a service tag, not an address: it stands for far more than a vendor's hosts"
        return f"{text!r} is not an IP address or network"
    address = str(net.network_address) if net.prefixlen == net.max_prefixlen else None
    if service.no_host_documented:
        return f"{net}: the document names no host or address for this service, so nothing can come from it"
    documented = address is not None and address in service.addresses
    if not documented and not service.hostnames and service.address_feed is None:
        return f"{net} is not an address the document gives, and the service has no hostname to resolve"
    source: AddressSource = (
        "documented" if documented else "aws-ip-ranges" if service.address_feed == "aws-ip-ranges" else "dns"
    )
    problem = address_problem(net, source, allow)
    if problem is None and address is not None and address in retired:
        listed = ", ".join(sorted(retired[address]))
        return f"{address} is documented as retired ({listed}); a retired address never comes back"
    return problem


def _service(catalog: Catalog, product: str | None, name: str) -> Service | None:
    """The catalogue's service; Azure rule names carry the service as a slug of its name."""
    entry = catalog.products.get(product) if product else None
    if entry is None:
        return None
    return entry.services.get(name) or next((s for n, s in entry.services.items() if slug(n) == name), None)


def _retired_by_host(catalog: Catalog) -> dict[str, dict[str, set[str]]]:
    """hostname → retired address → the product/service entries that list it: a host's history spans products."""
    out: dict[str, dict[str, set[str]]] = {}
    for product, cat in catalog.products.items():
        for name, service in cat.services.items():
            for host in service.hostnames:
                for address in service.retired_addresses:
                    out.setdefault(host, {}).setdefault(address, set()).add(f"{product}/{name}")
    return out


def _retired(by_host: Mapping[str, Mapping[str, set[str]]], service: Service, name: str) -> dict[str, set[str]]:
    """The retired addresses of a service: its own and those of every service that names one of its hosts."""
    out: dict[str, set[str]] = {a: {name} for a in service.retired_addresses}
    for host in service.hostnames:
        for address, who in by_host.get(host, {}).items():
            out.setdefault(address, set()).update(who)
    return out


def aws_limits(ctx: Context) -> Iterator[Finding]:
    usage: dict[tuple[str, str, int], tuple[int, Resource]] = {}
    for r in ctx.resources:
        i = r.inputs
        if r.type == SECURITY_GROUP:
            if i.get("ingress") or i.get("egress"):
                yield r, "inline ingress/egress: rules must be standalone SecurityGroupIngressRule/EgressRule resources"
            yield from _aws_text(r, str(i.get("description", "")))
        elif r.type == LEGACY_RULE:
            yield r, "aws.ec2.SecurityGroupRule must not be mixed with aws.vpc rules"
        elif r.type == PREFIX_LIST:
            raw_entries = i.get("entries") or []
            entries = list(raw_entries) if isinstance(raw_entries, list | tuple) else []  # unknown: see plausible
            max_entries = _number(i.get("maxEntries") or 0)
            if max_entries is None:
                yield r, "maxEntries is not known until apply, so the prefix-list limits cannot be checked"
            elif not len(entries) <= max_entries <= aws.MAX_PREFIX_LIST_ENTRIES:
                yield (
                    r,
                    f"prefix list needs entries ({len(entries)}) <= maxEntries ({max_entries}) <= {aws.MAX_PREFIX_LIST_ENTRIES}",
                )
            if str(i.get("name", "")).startswith(aws.RESERVED_PREFIX_LIST_PREFIX):
                yield r, "prefix list names may not start with com.amazonaws"
            cidrs = [str(e.get("cidr")) if isinstance(e, Mapping) else str(e) for e in entries]
            list_families = {n.version for c in cidrs if (n := _network(c)) is not None}
            if len(list_families) > 1:
                yield r, "a prefix list holds one address family"
            for e, cidr in zip(entries, cidrs, strict=True):
                yield from _aws_cidr(r, cidr)
                yield from _aws_text(r, str(e.get("description", "")) if isinstance(e, Mapping) else "")
        elif r.type in (INGRESS_RULE, EGRESS_RULE):
            yield from _aws_text(r, str(i.get("description", "")))
            peers = [k for k in ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId") if i.get(k)]
            if len(peers) != 1:
                yield r, f"a rule needs exactly one peer, found {', '.join(peers) or 'none'}"
            for key in ("cidrIpv4", "cidrIpv6"):
                if i.get(key):
                    yield from _aws_cidr(r, i[key])
            weight = 1
            plist = ctx.index.ref(PREFIX_LIST, i.get("prefixListId"))
            if plist is not None:
                weight = _number(plist.inputs.get("maxEntries") or 1) or 1  # unknown: reported on the list
            families: tuple[int, ...] = (6,) if i.get("cidrIpv6") else (4,) if i.get("cidrIpv4") else (4, 6)
            if plist is not None:
                families = (6,) if plist.inputs.get("addressFamily") == "IPv6" else (4,)
            group = str(i.get("securityGroupId", r.name))
            for family in families:
                slot = (group, "ingress" if r.type == INGRESS_RULE else "egress", family)
                count, _ = usage.get(slot, (0, r))
                usage[slot] = (count + weight, r)
    for (group, direction, family), (count, example) in sorted(usage.items(), key=lambda kv: kv[0]):
        if count > ctx.rules_per_security_group:
            yield (
                example,
                f"{group}: {count} {direction} IPv{family} rules (prefix lists count maxEntries) exceed {ctx.rules_per_security_group}",
            )


def _aws_text(r: Resource, text: str) -> Iterator[Finding]:
    if len(text) > aws.MAX_DESCRIPTION or DESCRIPTION_FORBIDDEN.search(text):
        yield r, f"description not accepted by AWS (255 chars of a-zA-Z0-9 ._-:/()#,@[]+=;{{}}!$*): {text[:60]!r}"


def _aws_cidr(r: Resource, cidr: str) -> Iterator[Finding]:
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        yield r, f"{cidr!r} is not a canonical CIDR"


def azure_limits(ctx: Context) -> Iterator[Finding]:
    standalone = [r for r in ctx.resources if r.type == STANDALONE_SECURITY_RULE]
    for r in standalone:
        yield r, "standalone SecurityRule resources must not be mixed with inline NSG securityRules"
    for r in ctx.resources:
        if r.type != NETWORK_SECURITY_GROUP:
            continue
        raw_rules = r.inputs.get("securityRules") or []
        if not isinstance(raw_rules, list | tuple):
            yield r, "securityRules are not known until apply, so the NSG's rules cannot be checked"
            continue
        rules = [rule for rule in raw_rules if isinstance(rule, Mapping)]
        if len(rules) > azure.MAX_RULES_PER_NSG:
            yield r, f"{len(rules)} rules exceed {azure.MAX_RULES_PER_NSG:,} per NSG"
        seen: dict[tuple[str, int], str] = {}
        for rule in rules:
            name = str(rule.get("name", ""))
            priority = _number(rule.get("priority", 0))
            if priority is None:
                yield r, f"rule {name}: priority not known until apply, so it cannot be checked"
                continue
            if not azure.FIRST_PRIORITY <= priority <= azure.DENY_ALL_PRIORITY:
                yield (
                    r,
                    (f"rule {name}: priority {priority} outside {azure.FIRST_PRIORITY}-{azure.DENY_ALL_PRIORITY}"),
                )
            key = (str(rule.get("direction")), priority)
            if key in seen:
                yield r, f"rules {seen[key]} and {name} share {key[0]} priority {priority}"
            seen[key] = name
            if len(name) > azure.MAX_RULE_NAME or not azure.RULE_NAME.match(name):
                yield r, f"rule name {name!r} breaks Azure's naming rule"
            if len(rule.get("description") or "") > azure.MAX_DESCRIPTION:
                yield r, f"rule {name}: description longer than {azure.MAX_DESCRIPTION} characters"
            for side in ("source", "destination"):
                prefixes = rule.get(f"{side}AddressPrefixes") or []
                versions = {n.version for p in prefixes if (n := _network(p)) is not None}  # tags have no family
                if len(versions) > 1:
                    yield r, f"rule {name}: mixes IPv4 and IPv6 {side} prefixes"
                asgs = rule.get(f"{side}ApplicationSecurityGroups") or []
                if isinstance(asgs, list | tuple) and len(asgs) > azure.MAX_ASGS_PER_RULE:
                    yield (
                        r,
                        (f"rule {name}: more than {azure.MAX_ASGS_PER_RULE} application security groups on the {side}"),
                    )


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
            "rules-judged",
            "Every resource that can add allow rules is of a type seawall reads (another provider's or API version's security group or rule, an Azure Virtual Network Manager admin rule, a default security group with rules cannot be judged).",
            "mandatory",
            rules_judged,
        ),
        Rule(
            "internet-egress-opted-in",
            "Egress to the whole internet only for entries whose peer is the internet or services the stack opted in.",
            "mandatory",
            internet_egress_opted_in,
        ),
        Rule(
            "vendor-addresses-plausible",
            "Vendor prefix lists and vendor-service rule prefixes hold only what the IP-set lock validation accepts: single addresses for DNS hosts, no wider than AWS publishes for ip-ranges services, public address space unless allowed, no retired address.",
            "mandatory",
            vendor_addresses_plausible,
        ),
        Rule(
            "internet-measure-default",
            "The stack judges 'the internet' by at least the default measure (a /4's worth of IPv4, a /8's of IPv6); a loosened seawall:internetEquivalent is reported.",
            "advisory",
            internet_measure_default,
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
    rules_per_security_group: int = aws.DEFAULT_RULES_PER_SECURITY_GROUP,
    allow_private: Iterable[str] = (),
    internet_prefixes: Mapping[int, int] | None = None,
) -> list[Violation]:
    """Every violation of every enabled rule, in a stable order.

    ``allow_private``: CIDRs outside public address space that vendor addresses may come from
    (``seawall:allowPrivate``; the CrossGuard pack's ``allowPrivate``). ``internet_prefixes``:
    from what size a union of addresses counts as the internet, a prefix length per family
    (``seawall:internetEquivalent``, the pack's ``internetEquivalent``; default /4 and /8).
    """
    prefixes = {**INTERNET_EQUIVALENT_PREFIX, **(internet_prefixes or {})}
    index = ResourceIndex(resources)
    views = tuple(rule_views(index))
    exposed, defaults = _exposed(index, views, prefixes)
    ctx = Context(
        index.resources,
        catalog,
        frozenset(internet_egress),
        rules_per_security_group,
        {e.id: e for _, e in catalog.entries()},
        index,
        views,
        _allowed(allow_private),
        tuple(vendor_addresses(index)),
        prefixes,
        exposed,
        defaults,
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
    return port_text(v.first, v.last)


def _number(value: Any) -> int | None:
    """An integer input; None when it is not one (unknown until apply in a preview)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _network(text: Any) -> Network | None:
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None


def _allowed(texts: Iterable[str]) -> tuple[Network, ...]:
    out = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(str(text), strict=True))
        except ValueError:
            raise UserError("allowPrivate", f"{text!r} is not a network; valid: a CIDR such as 10.0.0.0/8") from None
    return tuple(out)


def _coverage(ipv4: Iterable[str], ipv6: Iterable[str], prefixes: Mapping[int, int]) -> str:
    nets = {4: tuple(ipv4), 6: tuple(ipv6)}
    wide = [f for f in (4, 6) if internet_equivalent(nets[f], f, prefixes[f])] or [f for f in (4, 6) if nets[f]]
    return " and ".join(coverage_text(nets[f], f) for f in wide)


def _view_peers(v: RuleView) -> PeerSet:
    parts = [network_set([*v.ipv4, *v.ipv6])]
    if v.peer_internet and not (v.ipv4 or v.ipv6):
        parts.append(INTERNET)
    return union_sets(parts)


def _view_box(v: RuleView) -> Node:
    protocols = protocol_ranges(v.protocol) or ((0, 255),)
    return box(protocols, ((v.first, v.last),), _view_peers(v)).node()


def _exposed(
    index: ResourceIndex, views: Iterable[RuleView], prefixes: Mapping[int, int]
) -> tuple[dict[int, str], tuple[tuple[Resource, str, str, Node], ...]]:
    """Rules through which the internet gets in (or out), judged on what each role admits at each port.

    A slice of the role's admitted packets (protocol, ports) whose peers are internet-equivalent
    exposes the rules that admit part of it: a rule that is the internet by itself (0.0.0.0/0,
    Internet, a NAT64 prefix) is named alone; where no single rule is, every rule of the slice is,
    with what they cover together. Slices only Azure's default rules admit are returned apart.
    """
    model = admitted_from(index)
    by_role: dict[tuple[str, str], list[RuleView]] = {}
    for v in views:
        by_role.setdefault((v.role, v.direction), []).append(v)
    out: dict[int, str] = {}
    defaults: list[tuple[Resource, str, str, Node]] = []
    nsgs = {r.name: r for r in index.resources}
    for (role, direction), found in model.sets.items():
        members = by_role.get((role, direction), [])
        boxes = {id(v): _view_box(v) for v in members}
        alone = {id(v) for v in members if internet(_view_peers(v), prefixes)}
        for part in slices(found.node):
            if not internet(part.peer, prefixes):
                continue
            piece = box((part.protocols,), part.ports, part.peer, part.local).node()
            inside = [v for v in members if intersection(boxes[id(v)], piece) is not False]
            culprits = [v for v in inside if id(v) in alone] or [v for v in inside if v.ipv4 or v.ipv6]
            together = not any(id(v) in alone for v in inside)
            for v in culprits:
                if together and len(culprits) > 1:
                    what = protocol_text(part.protocols)
                    if part.protocols[0] <= 17 <= part.protocols[1] or part.protocols[0] <= 6 <= part.protocols[1]:
                        what += "/" + ports_text(part.ports)
                    where = f"{what} {'on' if direction == 'in' else 'from'} {role}"
                    text = f"; with the {len(culprits) - 1} other rule(s) for {where} it covers {coverage(part.peer)}"
                elif _embedded_only(v, prefixes):
                    text = f"; {', '.join(v.peers)} {'covers' if len(v.peers) == 1 else 'cover'} {coverage(_view_peers(v))}"
                else:
                    text = out.get(id(v), "")
                out.setdefault(id(v), text)
        for d in found.deciders:
            nsg_name, _, default = d.label.rpartition("/")
            if d.default and d.allow and nsg_name in nsgs:
                defaults.append((nsgs[nsg_name], direction, default.removesuffix(" (Azure default)"), d.node))
    return out, tuple(defaults)


def _embedded_only(v: RuleView, prefixes: Mapping[int, int]) -> bool:
    """The rule is the internet only through IPv4 its IPv6 prefixes carry (NAT64, mapped, 6to4, Teredo)."""
    return not _equivalent(v, prefixes) and internet(_view_peers(v), prefixes)


def parse_level_options(items: Iterable[str]) -> dict[str, str]:
    """``--level RULE=LEVEL`` options as a mapping (validated by :func:`parse_levels`)."""

    out = {}
    for item in items:
        rule, sep, value = item.partition("=")
        if not sep:
            raise UserError("--level", f"{item!r} is not RULE=LEVEL; rules: {', '.join(RULES)}")
        out[rule] = value
    return out


@dataclass(frozen=True)
class CheckResult:
    stack: str
    violations: list[Violation]

    @property
    def passed(self) -> bool:
        """No mandatory rule failed (advisory findings do not fail a check)."""
        return not any(v.level == "mandatory" for v in self.violations)


def check_stack(
    stack: str, resources: Iterable[Resource], compiled: CompiledStack, overrides: Mapping[str, str]
) -> CheckResult:
    """A stack's registered resources against every rule, at the stack's levels (``seawall:policy``) and overrides."""
    settings = compiled.config.settings
    levels = {**parse_levels(dict(settings.policy), "seawall:policy"), **parse_levels(overrides, "--level")}
    violations = check_resources(
        resources,
        compiled.catalog,
        settings.internet_egress,
        levels,
        settings.quotas.aws.rules_per_security_group,
        getattr(settings, "allow_private", ()),
        {4: settings.internet_equivalent.ipv4, 6: settings.internet_equivalent.ipv6},
    )
    return CheckResult(stack, violations)
