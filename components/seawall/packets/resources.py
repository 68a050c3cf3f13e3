"""Registered resources (a plan's, a preview's) read into packet rules and unknowns, for both clouds."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from seawall.aws.account import GROUP_TAG
from seawall.aws.limits import EGRESS_RULE, ICMP_PROTOCOLS, INGRESS_RULE, PREFIX_LIST, SECURITY_GROUP
from seawall.azure.limits import APPLICATION_SECURITY_GROUP, NETWORK_SECURITY_GROUP
from seawall.packets.admitted import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    INEXACT,
    Admitted,
    PacketRule,
    Unknown,
    anchors,
    azure_prefix,
    box,
    build,
    protocol_ranges,
)
from seawall.packets.space import EVERY_PEER, PeerSet, cidr_range, network_set, symbol, union_sets
from seawall.registered import Resource, ResourceIndex, description_ids

ROLE_TAG = "seawall:role"

# Resource types that change what passes and that the model does not read: a plan holding one is
# judged as unknown, never as "no change". Prefixes end with "/" or ":" to match a module.
UNMODELLED = (
    "aws:ec2/securityGroupRule:",
    "aws:ec2/networkAcl",
    "aws:ec2/defaultNetworkAcl:",
    "aws:ec2/defaultSecurityGroup:",
    "aws:ec2/networkInterfaceSecurityGroupAttachment:",
    "aws:ec2/managedPrefixListEntry:",
    "aws:ec2/vpcEndpoint:",
    "aws:networkfirewall/",
    "azure-native:network:SecurityRule",
    "azure-native:network:Subnet",
    "azure-native:network:NetworkInterface",
    "azure-native:network:AzureFirewall",
    "azure-native:network:FirewallPolicy",
    "azure-native:network:VirtualNetwork",
    "azure-native:network:AdminRule",  # Azure Virtual Network Manager: evaluated before NSGs, can always-allow
    "azure-native:network:SecurityAdminConfiguration",
    "azure-native:network:AdminRuleCollection",
    "azure:network/",
    "aws:ec2/networkInterface:",  # its securityGroups attach groups to interfaces
    "aws:ec2/securityGroupAssociation:",
    "aws:vpc/securityGroupVpcAssociation:",
    "aws-native:ec2:",  # the Cloud Control provider's groups, rules, ACLs
    "azure-native:network/",  # a versioned token (network/v20230901) seawall did not read as its own
)


READ_TYPES = frozenset(
    {INGRESS_RULE, EGRESS_RULE, SECURITY_GROUP, PREFIX_LIST, NETWORK_SECURITY_GROUP, APPLICATION_SECURITY_GROUP}
)
# What a seawall plan holds besides the resources the model reads: components, Pulumi's own.
HARMLESS = ("seawall:index:", "pulumi:")


# Words in a type token that say its resources carry allow rules (security groups and their rules under
# any provider or API version, NSG rules, Azure Virtual Network Manager admin and user rules, which can
# always-allow, and prefix-list entries declared apart from their list, which widen every rule using it).
RULE_WORDS = (
    "securitygroup",
    "securityrule",
    "adminrule",
    "securityadmin",
    "securityuser",
    "userrule",
    "prefixlistentry",
)
# ...unless the token says it only attaches or associates a group.
ATTACH_WORDS = ("association", "attachment")


def carries_rules(r: Resource) -> bool:
    """The resource can add allow rules and seawall does not read them: a whole project's ``check`` cannot judge it.

    Judged by the type token's words, not a list, so another provider's or a newer API version's group
    or rule type is caught too; attachments and associations move members, not rules. A group type
    whose inline rule lists are empty adds none (the default security group emptied, say).
    """
    if r.type in READ_TYPES:
        return False
    name = r.type.rpartition(":")[2].casefold()
    module = r.type.casefold()
    if any(w in module for w in ATTACH_WORDS) or not any(w in module for w in RULE_WORDS):
        return False
    if name.endswith(("securitygroup", "networksecuritygroup")) and "securityrules" not in r.inputs:
        inline = [r.inputs.get(k) for k in ("ingress", "egress", "securityGroupIngress", "securityGroupEgress")]
        return any(x not in (None, [], ()) for x in inline) or _unknown_inline(r)
    return True


def _unknown_inline(r: Resource) -> bool:
    """A group type seawall does not read whose inputs name rules under keys it does not know."""
    return any("rule" in k.casefold() and v not in (None, [], ()) for k, v in r.inputs.items())


def admitted_from(resources: Iterable[Resource] | ResourceIndex, every_type: bool = False) -> Admitted:
    """The model of a plan's (or a preview's) firewall resources, AWS and Azure alike.

    ``every_type``: a resource of a type seawall neither reads nor knows to be harmless is an unknown
    (a diff of two plans: a plan holds seawall's resources, and anything else in it may change what
    passes). Without it only the known traffic-affecting types are (a whole project's preview).
    """
    index = resources if isinstance(resources, ResourceIndex) else ResourceIndex(resources)
    rules: list[PacketRule] = []
    unknown: list[Unknown] = []
    clouds: set[str] = set()
    for r in index.resources:
        if r.type in (INGRESS_RULE, EGRESS_RULE):
            clouds.add("aws")
            rules.append(_aws_rule(r, index, unknown))
        elif r.type == SECURITY_GROUP:
            clouds.add("aws")
            for key in ("ingress", "egress"):
                if r.inputs.get(key):
                    unknown.append(_unmodelled(r, f"inline {key} rules on security group {r.name}"))
        elif r.type == NETWORK_SECURITY_GROUP:
            clouds.add("azure")
            rules += _azure_rules(r, index, unknown)
        elif r.type.startswith(UNMODELLED):
            unknown.append(_unmodelled(r, f"{r.type} {r.name} can change what passes; seawall does not model it"))
        elif every_type and r.type not in READ_TYPES and not r.type.startswith(HARMLESS):
            unknown.append(
                _unmodelled(r, f"{r.type} {r.name} is a type seawall does not read; it may change what passes")
            )
    if len(clouds) > 1:  # two firewalls: a role of each cloud is its own (aws:gateway, azure:gateway)
        aws = build("aws", [x for x in rules if not x.nsg], unknown)
        azure = build("azure", [x for x in rules if x.nsg])
        sets = {
            (f"{cloud}:{role}", d): found
            for cloud, m in (("aws", aws), ("azure", azure))
            for (role, d), found in m.sets.items()
        }
        for (role, _), found in sets.items():
            found.role = role
        return Admitted("aws+azure", sets, aws.unknown)
    return build(next(iter(clouds), ""), rules, unknown)


def _unmodelled(r: Resource, text: str) -> Unknown:
    digest = json.dumps(r.inputs, sort_keys=True, default=str)
    return Unknown(None, f"{r.type}::{r.name}::{digest}", text)


def _content(inputs: Mapping[str, Any], leave: tuple[str, ...]) -> str:
    """A rule's content without what does not change what passes (its name, description, tags)."""
    return json.dumps({k: v for k, v in inputs.items() if k not in leave}, sort_keys=True, default=str)


def _tags(r: Resource) -> Mapping[str, Any]:
    tags = r.inputs.get("tags")
    return tags if isinstance(tags, Mapping) else {}


# --- AWS --------------------------------------------------------------------------------------------------------------


def _aws_rule(r: Resource, index: ResourceIndex, unknown: list[Unknown]) -> PacketRule:
    i = r.inputs
    tags = _tags(r)
    # The group the rule is attached to decides whose rule it is; the rule's own tag only when the group is not known.
    role = str(index.tag(SECURITY_GROUP, i.get("securityGroupId"), ROLE_TAG) or tags.get(ROLE_TAG) or "?")
    protocols = protocol_ranges(str(i.get("ipProtocol", "")))
    if protocols is None:
        unknown.append(
            Unknown(role, f"{INEXACT}protocol::{r.name}::{i.get('ipProtocol')}", f"{r.name}: protocol unreadable")
        )
        protocols = ALL_PROTOCOLS
    if str(i.get("ipProtocol", "")).casefold() in ICMP_PROTOCOLS and i.get("fromPort") not in (None, -1):
        # fromPort/toPort are an ICMP type and code; the model reads every ICMP packet, wider on either side.
        what = f"ICMP type {i.get('fromPort')} code {i.get('toPort')}"
        key = f"{INEXACT}icmp::{role}::{r.type}::{_content(i, ('tags', 'description'))}"  # a rename is the same rule
        unknown.append(Unknown(role, key, f"{r.name}: {what} is not modelled (read as every type)"))
    ports = _aws_ports(i)
    if ports is None:
        unknown.append(
            Unknown(role, f"{INEXACT}ports::{r.name}::{i.get('fromPort')}-{i.get('toPort')}", f"{r.name}: ports")
        )
        ports = ALL_PORTS
    peer = _aws_peer(r, index, role, unknown)
    ids_text = tags.get("seawall:entries")
    return PacketRule(
        label=r.name,
        role=role,
        direction="in" if r.type == INGRESS_RULE else "out",
        allow=True,
        box=box(protocols, ports, peer),
        ids=tuple(str(ids_text).split()) if ids_text else (),
    )


def _aws_ports(i: Mapping[str, Any]) -> tuple[tuple[int, int], ...] | None:
    if str(i.get("ipProtocol", "")).casefold() in ("-1", "all"):
        return ALL_PORTS
    first, last = i.get("fromPort"), i.get("toPort")
    if first is None and last is None:
        return ALL_PORTS
    try:
        lo = int(first)  # type: ignore[arg-type]
        hi = int(last) if last is not None else lo
    except (TypeError, ValueError):
        return None  # unknown until apply: every port, and an unknown
    if lo == -1 or str(i.get("ipProtocol", "")).casefold() in ICMP_PROTOCOLS:
        return ALL_PORTS  # ICMP: type and code, read as every one (an inexact unknown says so)
    return ((max(lo, 0), min(hi, 65535)),) if lo <= hi else None


def _aws_peer(r: Resource, index: ResourceIndex, role: str, unknown: list[Unknown]) -> PeerSet:
    """Every peer key present counts (AWS refuses two, aws-limits reports it; the wider reading until then)."""
    parts: list[PeerSet] = []
    for key in ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"):
        value = r.inputs.get(key)
        if value in (None, ""):
            continue
        if key.startswith("cidr"):
            parts.append(_networks([str(value)], r.name, role, unknown))
        elif key == "prefixListId":
            plist = index.ref(PREFIX_LIST, value)
            entries = plist.inputs.get("entries") if plist is not None else None
            if isinstance(entries, list | tuple):
                texts = [str(e.get("cidr")) if isinstance(e, Mapping) else str(e) for e in entries]
                parts.append(_networks(texts, r.name, role, unknown))
            else:
                parts.append(_outside("list", str(value), r.name, role, unknown))
        else:
            parts.append(_group_peer(index, SECURITY_GROUP, value, r.name, role, unknown))
    return union_sets(parts) if parts else _outside("unknown", "(no peer)", r.name, role, unknown)


def _canonical(index: ResourceIndex, type_: str, reference: Any) -> str | None:
    """The role a referenced group or ASG stands for: only the role's own group, the one resource of
    the type tagged for it (an AWS split group aside). Another group tagged for the role is not its
    members: seawall never references one, and whatever is attached to it is unknown."""
    target = index.ref(type_, reference)
    if target is None:
        return None
    role = _tags(target).get(ROLE_TAG)
    if not role or GROUP_TAG in _tags(target):
        return None
    return str(role) if _claimants(index, type_).get(str(role)) == [target.name] else None


def _claimants(index: ResourceIndex, type_: str) -> dict[str, list[str]]:
    """Role → the resources of a type that claim to be its group (read once per index)."""
    found: dict[str, list[str]] | None = index.memo.get(f"claimants::{type_}")
    if found is None:
        found = {}
        for r in index.resources:
            tags = _tags(r)
            if r.type == type_ and tags.get(ROLE_TAG) and GROUP_TAG not in tags:
                found.setdefault(str(tags[ROLE_TAG]), []).append(r.name)
        index.memo[f"claimants::{type_}"] = found
    return found


def _group_peer(
    index: ResourceIndex, type_: str, reference: Any, label: str, role: str, unknown: list[Unknown]
) -> PeerSet:
    """A referenced group (AWS security group, Azure ASG): its role's members when it is the role's own
    group; else a symbol of its own whose members are unknown (a group of the plan tagged for a role it
    is not the group of, or one outside the plan)."""
    found = _canonical(index, type_, reference)
    if found:
        return symbol("role", found)
    target = index.ref(type_, reference)
    if target is None:
        return _outside("group", str(reference), label, role, unknown)
    claimed = _tags(target).get(ROLE_TAG)
    others = sorted(_claimants(index, type_).get(str(claimed), [])) if claimed else []
    if not claimed:
        what = f"{target.name} has no role"
    elif GROUP_TAG in _tags(target):
        what = f"{target.name} is a quota split of role {claimed}, which seawall never references"
    elif len(others) > 1:
        what = f"{target.name} is one of {len(others)} tagged for role {claimed} ({', '.join(others)}): which is its own is not known"
    else:
        what = f"{target.name} is tagged for role {claimed} but is not its group"
    unknown.append(
        Unknown(role, f"group::{target.type}::{target.name}", f"{label}: group {what}; its members are unknown")
    )
    return symbol("group", target.name)


def _outside(family: str, value: str, label: str, role: str, unknown: list[Unknown]) -> PeerSet:
    """A far side whose members the plan does not list: a symbol, and an unknown."""
    if not _known_id(value):
        family, value = "unknown", f"{label}:{value}"
    what = {"list": "prefix list", "group": "security group", "unknown": "value"}[family]
    unknown.append(
        Unknown(role, f"{family}::{value}", f"{label}: {what} {value} is outside the plan; its members are unknown")
    )
    return symbol(family, value)


def _known_id(value: str) -> bool:
    return value.startswith(("sg-", "pl-", "/subscriptions/"))


def _networks(texts: Iterable[str], label: str, role: str, unknown: list[Unknown]) -> PeerSet:
    good: list[str] = []
    parts: list[PeerSet] = []
    texts = list(texts)
    if len(texts) == 1:  # the common case: one CIDR, the same text in many rules, read once
        found = _one_network(texts[0].strip())
        if found is not None:
            return found
    for text in texts:
        try:
            cidr_range(text.strip())
            good.append(text.strip())
        except ValueError:
            parts.append(_outside("unknown", text, label, role, unknown))
    return union_sets([network_set(good), *parts])


@lru_cache(maxsize=1 << 16)
def _one_network(text: str) -> PeerSet | None:
    try:
        return network_set([text])
    except ValueError:
        return None


# --- Azure ------------------------------------------------------------------------------------------------------------


def _azure_rules(r: Resource, index: ResourceIndex, unknown: list[Unknown]) -> Iterator[PacketRule]:
    role = str(_tags(r).get(ROLE_TAG, "?"))
    raw = r.inputs.get("securityRules")
    rules = [x for x in raw if isinstance(x, Mapping)] if isinstance(raw, list | tuple) else []
    if raw is not None and not isinstance(raw, list | tuple):
        unknown.append(Unknown(role, f"{INEXACT}rules::{r.name}::{raw}", f"{r.name}: securityRules unknown"))
    for rule in rules:
        yield azure_rule(
            r.name,
            role,
            rule,
            lambda ref, label, u: _group_peer(index, APPLICATION_SECURITY_GROUP, ref, label, role, u),
            unknown,
        )
    yield from anchors(r.name, role)  # an NSG with no rules of a direction still has Azure's defaults


def azure_rule(
    nsg: str,
    role: str,
    rule: Mapping[str, Any],
    asg_peer: Any,
    unknown: list[Unknown],
) -> PacketRule:
    """One NSG security rule (ARM's camelCase properties) as a packet rule; ``asg_peer(id, label, unknown)``
    is an ASG's peer set (None: a group outside what is read, its members unknown)."""
    label = f"{nsg}/{rule.get('name')}"
    inbound = str(rule.get("direction", "")).casefold() == "inbound"
    access = str(rule.get("access", "")).casefold()
    if access not in ("allow", "deny"):
        unknown.append(Unknown(role, f"{INEXACT}access::{label}::{rule.get('access')}", f"{label}: access unknown"))
    priority = rule.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int):
        unknown.append(Unknown(role, f"{INEXACT}priority::{label}::{priority}", f"{label}: priority unknown"))
        priority = None
    protocols = protocol_ranges(str(rule.get("protocol", "*")))
    if protocols is None:
        unknown.append(
            Unknown(role, f"{INEXACT}protocol::{label}::{rule.get('protocol')}", f"{label}: protocol unknown")
        )
        protocols = ALL_PROTOCOLS
    source_ports = _port_texts(rule, "source")
    if source_ports != ["*"]:  # read as every source port: wider for head, and for base too, which hides
        unknown.append(
            Unknown(
                role,
                f"{INEXACT}sourceports::{nsg}::{_content(rule, ('name', 'description'))}",  # a rename is the same rule
                f"{label}: source ports {', '.join(source_ports)} are not modelled (read as every source port)",
            )
        )
    ports: list[tuple[int, int]] = []
    for text in _port_texts(rule, "destination"):
        parsed = _port(text)
        if parsed is None:
            unknown.append(
                Unknown(role, f"{INEXACT}ports::{label}::{text}", f"{label}: destination ports {text!r} unknown")
            )
            parsed = (0, 65535)
        ports.append(parsed)
    source, source_cidrs = _azure_side(rule, "source", label, role, asg_peer, unknown)
    destination, destination_cidrs = _azure_side(rule, "destination", label, role, asg_peer, unknown)
    description = rule.get("description")
    return PacketRule(
        label=label,
        role=role,
        direction="in" if inbound else "out",
        allow=access != "deny",  # an access unknown until apply may allow: the wider reading
        box=box(protocols, tuple(ports), source if inbound else destination, destination if inbound else source),
        priority=priority,
        nsg=nsg,
        ids=description_ids(description) or () if isinstance(description, str) else (),
        cidrs=(destination_cidrs, source_cidrs) if inbound else (source_cidrs, destination_cidrs),
    )


def _port_texts(rule: Mapping[str, Any], side: str) -> list[str]:
    single, plural = rule.get(f"{side}PortRange"), rule.get(f"{side}PortRanges")
    if single not in (None, ""):
        return [str(single)]
    if isinstance(plural, list | tuple) and plural:
        return [str(p) for p in plural]
    if isinstance(plural, str) and plural:
        return [plural]
    return ["*"]


def _port(text: str) -> tuple[int, int] | None:
    text = text.strip()
    if text == "*":
        return (0, 65535)
    first, _, last = text.partition("-")
    if not first.isdigit() or not (last or first).isdigit():
        return None
    lo, hi = int(first), int(last or first)
    return (lo, hi) if lo <= hi <= 65535 else None


def _azure_side(
    rule: Mapping[str, Any], side: str, label: str, role: str, asg_peer: Any, unknown: list[Unknown]
) -> tuple[PeerSet, PeerSet]:
    """An end as a set, and the CIDRs it names (which reach the network's members at those addresses too)."""
    parts: list[PeerSet] = []
    named = PeerSet()
    single, plural = rule.get(f"{side}AddressPrefix"), rule.get(f"{side}AddressPrefixes")
    texts = [str(single)] if single not in (None, "") else []
    if isinstance(plural, list | tuple):
        texts += [str(p) for p in plural]
    elif isinstance(plural, str) and plural:
        texts.append(plural)
    cidrs = []
    for text in texts:
        tag = azure_prefix(text)
        if tag is not None:
            parts.append(tag)
        else:
            cidrs.append(text)
    if cidrs:
        parts.append(_networks(cidrs, label, role, unknown))
        named = PeerSet(parts[-1].v4, parts[-1].v6)
    asgs = rule.get(f"{side}ApplicationSecurityGroups") or []
    for asg in [asgs] if isinstance(asgs, str) else asgs:
        ref = asg.get("id") if isinstance(asg, Mapping) else asg
        found = asg_peer(ref, label, unknown)
        parts.append(found if found is not None else _outside("group", str(ref), label, role, unknown))
    found = union_sets(parts) if parts else PeerSet()
    if found.empty and not texts and not asgs:
        return EVERY_PEER, named  # Azure requires a side; one left out is read as any (the wider reading)
    return found, named
