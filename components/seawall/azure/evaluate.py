"""Azure rule evaluation for ``seawall query``: the first matching rule by priority decides."""

from __future__ import annotations

import ipaddress

from seawall.analysis.probes import Answer, Decision, Probe, evaluate
from seawall.azure.render import AzurePeer, AzureRule, AzureSpec
from seawall.netaddr import contains, parse_port_text


def _azure_peer_matches(peer: AzurePeer, probe: Probe) -> bool:
    if peer.kind == "any":
        return True
    if peer.kind == "asgs":
        return (probe.kind == "role") == peer.roles and probe.kind in ("role", "asg") and probe.value in peer.values
    if peer.kind == "service-tag":
        tag = peer.values[0]
        if tag == "Internet":
            # Conservative: Azure's tag excludes the VNet's own space, which seawall cannot
            # see, so every address probe counts as matching (as 0.0.0.0/0 does on AWS).
            # The query never reports DENIED for a flow that might be allowed.
            return probe.kind in ("internet", "cidr")
        return probe.kind == "service-tag" and probe.value == tag
    if probe.kind == "internet":
        return any(ipaddress.ip_network(v).prefixlen == 0 for v in peer.values)
    return probe.kind == "cidr" and any(contains(ipaddress.ip_network(v), probe.value) for v in peer.values)


def _azure_side(spec: AzureSpec, role: str, direction: str, other: Probe, protocol: str, port: int) -> Decision:
    me = Probe("role", role)
    rules: tuple[AzureRule, ...] = next(r.rules for r in spec.roles if r.role == role)
    for rule in sorted((r for r in rules if r.direction == direction), key=lambda r: r.priority):
        if rule.protocol not in ("*", protocol.capitalize()):
            continue
        if not _port_in(rule.destination_port_range, port):
            continue
        src, dst = (other, me) if direction == "Inbound" else (me, other)
        if _azure_peer_matches(rule.source, src) and _azure_peer_matches(rule.destination, dst):
            return Decision(other, rule.access == "Allow", (rule.name,), rule.entries)
    return Decision(other, False, (), ())


def query_azure(
    spec: AzureSpec, src: list[Probe], dst: list[Probe], protocol: str, port: int, reason: str = ""
) -> Answer:
    return evaluate(
        lambda role, way, other: _azure_side(spec, role, way, other, protocol, port),
        ("Outbound", "Inbound"),
        src,
        dst,
        reason,
        "azure",
    )


def _port_in(spec: str, port: int) -> bool:
    first, last = parse_port_text(spec)
    return first <= port <= last
