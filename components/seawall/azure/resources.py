"""Registered Azure NSGs read back as rules (:class:`~seawall.registered.RuleView`) and vendor address sets."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from seawall.azure.limits import ANY_ADDRESS, APPLICATION_SECURITY_GROUP, NETWORK_SECURITY_GROUP
from seawall.netaddr import parse_port_text
from seawall.registered import ResourceIndex, RuleView, description_ids

# The renderer names a vendor-service rule ``…-svc-<service>-ipv4|ipv6``.
SERVICE_RULE = re.compile(r"-svc-(.+)-ipv[46]$")
ROLE_TAG = "seawall:role"


def azure_rule_views(index: ResourceIndex) -> Iterator[RuleView]:
    """One view per allow rule and destination port range of every NSG."""
    for r in index.resources:
        if r.type != NETWORK_SECURITY_GROUP:
            continue
        tags = r.inputs.get("tags") or {}
        for rule in r.inputs.get("securityRules") or []:
            if rule.get("access") != "Allow":
                continue
            inbound = rule.get("direction") == "Inbound"
            side = "source" if inbound else "destination"
            prefixes = side_prefixes(rule, side)
            for ports in port_ranges(rule):
                first, last = parse_port_text(ports)
                yield RuleView(
                    resource=r,
                    label=f"{r.name}/{rule.get('name')}",
                    role=tags.get(ROLE_TAG, "?"),
                    direction="in" if inbound else "out",
                    protocol=str(rule.get("protocol", "*")).lower(),
                    first=first,
                    last=last,
                    ports=ports,
                    peer_internet=any(p in ANY_ADDRESS or _is_everything(p) for p in prefixes),
                    peers=_peers(rule, side, prefixes, index),
                    ids=description_ids(rule.get("description") or ""),
                    product=tags.get("seawall:product"),
                )


def side_prefixes(rule: Mapping[str, Any], side: str) -> list[str]:
    """A rule side's address prefixes (or service tag), whether written singly or as a list."""
    if rule.get(f"{side}AddressPrefix"):
        return [str(rule[f"{side}AddressPrefix"])]
    return [str(p) for p in rule.get(f"{side}AddressPrefixes") or []]


def port_ranges(rule: Mapping[str, Any]) -> list[str]:
    if rule.get("destinationPortRange"):
        return [str(rule["destinationPortRange"])]
    return [str(p) for p in rule.get("destinationPortRanges") or []] or ["*"]


def _peers(rule: Mapping[str, Any], side: str, prefixes: list[str], index: ResourceIndex) -> tuple[str, ...]:
    match = SERVICE_RULE.search(str(rule.get("name", "")))
    if match:
        return (f"service:{match.group(1)}",)
    roles = [
        f"role:{index.tag(APPLICATION_SECURITY_GROUP, a.get('id'), ROLE_TAG) or a.get('id')}"
        for a in rule.get(f"{side}ApplicationSecurityGroups") or []
    ]
    return (*prefixes, *roles)


def _is_everything(prefix: str) -> bool:
    try:
        return ipaddress.ip_network(prefix, strict=False).prefixlen == 0
    except ValueError:
        return False


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
