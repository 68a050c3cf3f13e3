"""Registered AWS resources read back as rules (:class:`~seawall.registered.RuleView`) and vendor address sets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from seawall.aws.limits import EGRESS_RULE, INGRESS_RULE, PREFIX_LIST, SECURITY_GROUP
from seawall.netaddr import port_text
from seawall.registered import Resource, ResourceIndex, RuleView

SERVICE_TAG = "seawall:service"
ROLE_TAG = "seawall:role"
EVERYWHERE = ("0.0.0.0/0", "::/0")


def aws_rule_views(index: ResourceIndex) -> Iterator[RuleView]:
    for r in index.resources:
        if r.type in (INGRESS_RULE, EGRESS_RULE):
            yield _view(r, index)


def _view(r: Resource, index: ResourceIndex) -> RuleView:
    i = r.inputs
    tags = i.get("tags") or {}
    ids_text = tags.get("seawall:entries")
    raw_peer = i.get("cidrIpv4") or i.get("cidrIpv6") or i.get("prefixListId") or i.get("referencedSecurityGroupId")
    everything = i.get("ipProtocol") in ("-1", "all") or i.get("fromPort") is None
    first = 0 if everything else int(i["fromPort"])
    last = 65535 if everything else int(i["toPort"] if i.get("toPort") is not None else first)
    role = tags.get(ROLE_TAG) or index.tag(SECURITY_GROUP, i.get("securityGroupId"), ROLE_TAG) or "?"
    return RuleView(
        resource=r,
        label=r.name,
        role=role,
        direction="in" if r.type == INGRESS_RULE else "out",
        protocol=str(i.get("ipProtocol", "")),
        first=first,
        last=last,
        ports="all" if everything else port_text(first, last),
        peer_internet=raw_peer in EVERYWHERE,
        peers=(_peer(i, index),),
        ids=tuple(ids_text.split()) if ids_text else None,
        product=tags.get("seawall:product"),
    )


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


def aws_service_sets(index: ResourceIndex) -> Iterator[tuple[str, set[str]]]:
    """(vendor service, the CIDRs of its prefix list) for every seawall prefix list."""
    for r in index.resources:
        if r.type == PREFIX_LIST:
            service = (r.inputs.get("tags") or {}).get(SERVICE_TAG, "?").split("/")[-1]
            yield service, {e["cidr"] for e in r.inputs.get("entries") or []}
