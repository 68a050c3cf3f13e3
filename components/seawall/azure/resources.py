"""Registered Azure NSGs read back as rules (:class:`~seawall.registered.RuleView`) and vendor address sets."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from seawall.azure.limits import ANY_ADDRESS, APPLICATION_SECURITY_GROUP, NETWORK_SECURITY_GROUP
from seawall.netaddr import parse_port_text
from seawall.registered import (
    FarSide,
    ResourceIndex,
    RuleFlow,
    RuleView,
    VendorAddresses,
    description_ids,
    far_side,
)

# The renderer names a vendor-service rule ``…-svc-<service>-ipv4|ipv6``.
SERVICE_RULE = re.compile(r"-svc-(.+)-ipv[46]$")
ROLE_TAG = "seawall:role"
PRODUCT_TAG = "seawall:product"
# The spellings of "every address" that are not CIDRs (Internet, *), in both families; service tags
# are case-insensitive in Azure. 0.0.0.0/0 and ::/0 are read as the CIDRs they are.
EVERY_TAG = frozenset(t.casefold() for t in ANY_ADDRESS if "/" not in t)


def azure_rule_views(index: ResourceIndex) -> Iterator[RuleView]:
    """One view per allow rule and destination port range of every NSG."""
    for flows, prefixes, peers in _allow_rules(index):
        seen = _far_side(prefixes, peers)
        yield from (RuleView.of(flow, seen) for flow in flows)


def azure_rule_flows(index: ResourceIndex) -> Iterator[RuleFlow]:
    """The rules' flows alone (what :func:`azure_rule_views` gives, without the far side's addresses)."""
    for flows, _, _ in _allow_rules(index):
        yield from flows


def _allow_rules(index: ResourceIndex) -> Iterator[tuple[list[RuleFlow], list[str], tuple[str, ...]]]:
    """Each allow rule of every NSG: its flows (one per destination port range), its far side's prefixes and peers."""
    for r in index.resources:
        if r.type != NETWORK_SECURITY_GROUP:
            continue
        raw_tags = r.inputs.get("tags")
        tags: Mapping[str, Any] = raw_tags if isinstance(raw_tags, Mapping) else {}
        for rule in _rules(r.inputs):
            if str(rule.get("access", "")).casefold() == "deny":  # an access unknown until apply may allow
                continue
            inbound = rule.get("direction") == "Inbound"
            side = "source" if inbound else "destination"
            prefixes = side_prefixes(rule, side)
            peers = _peers(rule, side, prefixes, index)
            label = f"{r.name}/{rule.get('name')}"
            protocol = str(rule.get("protocol", "*")).lower()
            ids = description_ids(rule.get("description") or "")
            flows = []
            for ports in port_ranges(rule):
                first, last = _port_range(ports)
                flows.append(
                    RuleFlow(
                        resource=r,
                        label=label,
                        role=tags.get(ROLE_TAG, "?"),
                        direction="in" if inbound else "out",
                        protocol=protocol,
                        first=first,
                        last=last,
                        ports=ports,
                        peers=peers,
                        ids=ids,
                        product=tags.get(PRODUCT_TAG),
                    )
                )
            yield flows, prefixes, peers


def _rules(inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rules = inputs.get("securityRules")
    return [r for r in rules if isinstance(r, Mapping)] if isinstance(rules, list | tuple) else []


def _port_range(ports: str) -> tuple[int, int]:
    try:
        return parse_port_text(ports)
    except ValueError:  # unknown until apply: read as every port, the wider reading
        return 0, 65535


def side_prefixes(rule: Mapping[str, Any], side: str) -> list[str]:
    """A rule side's address prefixes (or service tag), whether written singly or as a list."""
    if rule.get(f"{side}AddressPrefix"):
        return [str(rule[f"{side}AddressPrefix"])]
    value = rule.get(f"{side}AddressPrefixes") or []
    return [value] if isinstance(value, str) else [str(p) for p in value]  # a str: a value unknown in a preview


def port_ranges(rule: Mapping[str, Any]) -> list[str]:
    if rule.get("destinationPortRange"):
        return [str(rule["destinationPortRange"])]
    return [str(p) for p in rule.get("destinationPortRanges") or []] or ["*"]


def _peers(rule: Mapping[str, Any], side: str, prefixes: list[str], index: ResourceIndex) -> tuple[str, ...]:
    match = SERVICE_RULE.search(str(rule.get("name", "")))
    if match:
        return (f"service:{match.group(1)}",)
    asgs = rule.get(f"{side}ApplicationSecurityGroups") or []
    ids = [a.get("id") if isinstance(a, Mapping) else a for a in ([asgs] if isinstance(asgs, str) else asgs)]
    roles = [f"role:{index.tag(APPLICATION_SECURITY_GROUP, i, ROLE_TAG) or i}" for i in ids]
    return (*prefixes, *roles)


def _far_side(prefixes: list[str], peers: tuple[str, ...]) -> FarSide:
    """The rule side's prefixes per family; ``Internet``/``*`` as every address; other tags and ASGs unlisted."""
    networks: list[str] = []
    unlisted = [p for p in peers if p.startswith("role:")]
    for prefix in prefixes:
        if prefix.strip().casefold() in EVERY_TAG:
            networks += ["0.0.0.0/0", "::/0"]
        else:
            networks.append(prefix)  # a tag such as VirtualNetwork does not parse and is unlisted
    return far_side(networks, unlisted)


def azure_vendor_addresses(index: ResourceIndex) -> Iterator[VendorAddresses]:
    """Every vendor-service rule (``…-svc-<service>-ipv4|ipv6``) with its prefixes; the product from the NSG's tag."""
    for r in index.resources:
        if r.type != NETWORK_SECURITY_GROUP:
            continue
        tags = r.inputs.get("tags")
        product = tags.get(PRODUCT_TAG) if isinstance(tags, Mapping) else None
        for rule in _rules(r.inputs):
            match = SERVICE_RULE.search(str(rule.get("name", "")))
            if match and str(rule.get("access", "")).casefold() != "deny":
                side = "source" if rule.get("direction") == "Inbound" else "destination"
                label = f"{r.name}/{rule.get('name')}"
                yield VendorAddresses(r, label, product, match.group(1), tuple(side_prefixes(rule, side)))


def azure_service_sets(index: ResourceIndex) -> Iterator[tuple[str, set[str]]]:
    """(vendor service, the prefixes of its rules) for every seawall vendor-service rule."""
    for r in index.resources:
        if r.type != NETWORK_SECURITY_GROUP:
            continue
        for rule in r.inputs.get("securityRules") or []:
            match = SERVICE_RULE.search(str(rule.get("name", "")))
            if match:
                side = "source" if rule.get("direction") == "Inbound" else "destination"
                yield match.group(1), set(side_prefixes(rule, side))
