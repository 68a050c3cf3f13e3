"""Registered AWS resources read back as rules (:class:`~seawall.registered.RuleView`) and vendor address sets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from seawall.aws.limits import EGRESS_RULE, ICMP_PROTOCOLS, INGRESS_RULE, PREFIX_LIST, SECURITY_GROUP
from seawall.netaddr import port_text
from seawall.registered import FarSide, Resource, ResourceIndex, RuleFlow, RuleView, VendorAddresses, far_side

SERVICE_TAG = "seawall:service"
ROLE_TAG = "seawall:role"
PEER_KEYS = ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")


def aws_rule_views(index: ResourceIndex) -> Iterator[RuleView]:
    for r in index.resources:
        if r.type in (INGRESS_RULE, EGRESS_RULE):
            yield RuleView.of(_flow(r, index), _far_side(r.inputs, index))


def aws_rule_flows(index: ResourceIndex) -> Iterator[RuleFlow]:
    """The rules' flows alone (what :func:`aws_rule_views` gives, without the far side's addresses)."""
    for r in index.resources:
        if r.type in (INGRESS_RULE, EGRESS_RULE):
            yield _flow(r, index)


def _flow(r: Resource, index: ResourceIndex) -> RuleFlow:
    i = r.inputs
    raw_tags = i.get("tags")
    tags: Mapping[str, Any] = raw_tags if isinstance(raw_tags, Mapping) else {}
    ids_text = tags.get("seawall:entries")
    ports = _port_range(i)
    everything = ports is None
    first, last = ports or (0, 65535)
    # The group the rule is attached to decides whose rule it is; the rule's own tag only when the group is not known.
    role = index.tag(SECURITY_GROUP, i.get("securityGroupId"), ROLE_TAG) or tags.get(ROLE_TAG) or "?"
    return RuleFlow(
        resource=r,
        label=r.name,
        role=role,
        direction="in" if r.type == INGRESS_RULE else "out",
        protocol=str(i.get("ipProtocol", "")),
        first=first,
        last=last,
        ports="all" if everything else _ports_text(str(i.get("ipProtocol", "")), first, last),
        peers=(_peer(i, index),),
        ids=tuple(ids_text.split()) if ids_text else None,
        product=tags.get("seawall:product"),
    )


def _ports_text(protocol: str, first: int, last: int) -> str:
    """Ports as AWS means them: for ICMP, fromPort is a type and toPort a code (-1: every one)."""
    if protocol.casefold() not in ICMP_PROTOCOLS:
        return port_text(first, last)
    if first == -1:
        return "all"
    return f"type {first}" + ("" if last == -1 else f" code {last}")


def _port_range(i: Mapping[str, Any]) -> tuple[int, int] | None:
    """(first, last); None for every port: protocol -1, no ports, or ports unknown until apply (the wider reading)."""
    if i.get("ipProtocol") in ("-1", "all"):
        return None
    try:
        first = int(i["fromPort"])
        return first, int(i["toPort"]) if i.get("toPort") is not None else first
    except (KeyError, TypeError, ValueError):
        return None


def _far_side(i: Mapping[str, Any], index: ResourceIndex) -> FarSide:
    """What the cloud sees: the CIDR, or the entries of a seawall prefix list the rule references.

    Every peer key present counts (AWS refuses a rule with two, and aws-limits reports it; until
    then the wider reading is the safe one). A list or group outside the resources is unlisted.
    """
    networks: list[str] = []
    unlisted: list[str] = []
    for key in PEER_KEYS:
        value = i.get(key)
        if not value:
            continue
        if key.startswith("cidr"):
            networks.append(str(value))
        elif key == "prefixListId" and (plist := index.ref(PREFIX_LIST, value)) is not None:
            entries = plist.inputs.get("entries")
            if isinstance(entries, list | tuple):
                networks += [str(e.get("cidr")) if isinstance(e, Mapping) else str(e) for e in entries]
            else:  # not known until the list exists: nothing to judge it by
                unlisted.append(str(value))
        else:
            role = index.tag(SECURITY_GROUP, value, ROLE_TAG) if key == "referencedSecurityGroupId" else None
            unlisted.append(f"role:{role}" if role else str(value))
    return far_side(networks, unlisted)


def _peer(i: Mapping[str, Any], index: ResourceIndex) -> str:
    """The far side by meaning: a CIDR, ``service:NAME`` for a seawall list, ``role:NAME`` for a seawall group."""
    for key in ("cidrIpv4", "cidrIpv6"):
        if i.get(key):
            return str(i[key])
    if i.get("prefixListId"):
        service = index.tag(PREFIX_LIST, i["prefixListId"], SERVICE_TAG)
        return f"service:{service.split('/')[-1]}" if service else str(i["prefixListId"])
    role = index.tag(SECURITY_GROUP, i.get("referencedSecurityGroupId"), ROLE_TAG)
    return f"role:{role}" if role else str(i.get("referencedSecurityGroupId"))


def aws_vendor_addresses(index: ResourceIndex) -> Iterator[VendorAddresses]:
    """Every prefix list tagged ``seawall:service`` (``product/service``), with its entries as written."""
    for r in index.resources:
        if r.type != PREFIX_LIST:
            continue
        tags = r.inputs.get("tags")
        tag = tags.get(SERVICE_TAG) if isinstance(tags, Mapping) else None
        if not tag:
            continue
        product, _, service = str(tag).rpartition("/")
        entries = r.inputs.get("entries")
        addresses = (
            tuple(str(e.get("cidr")) if isinstance(e, Mapping) else str(e) for e in entries)
            if isinstance(entries, list | tuple)
            else None
        )
        yield VendorAddresses(r, r.name, product or None, service, addresses)


def aws_service_sets(index: ResourceIndex) -> Iterator[tuple[str, set[str]]]:
    """(vendor service, the CIDRs of its prefix list) for every seawall prefix list."""
    for r in index.resources:
        if r.type == PREFIX_LIST:
            service = (r.inputs.get("tags") or {}).get(SERVICE_TAG, "?").split("/")[-1]
            yield service, {e["cidr"] for e in r.inputs.get("entries") or []}
