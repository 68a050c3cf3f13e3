"""AWS rule evaluation for ``seawall query``: security groups allow when any rule matches (allow-only)."""

from __future__ import annotations

import ipaddress

from seawall.analysis.probes import Answer, Decision, Probe, evaluate
from seawall.aws.render import AwsRule, AwsSpec
from seawall.netaddr import contains

# --- AWS --------------------------------------------------------------------------------


def _aws_matches(rule: AwsRule, probe: Probe, spec: AwsSpec) -> bool:
    peer = rule.peer
    if peer.kind in ("cidr_ipv4", "cidr_ipv6"):
        net = ipaddress.ip_network(peer.value)
        if probe.kind == "internet":
            return net.prefixlen == 0 and net.version == 4
        return probe.kind == "cidr" and contains(net, probe.value)
    if peer.kind == "prefix_list":
        if peer.external:
            return probe.kind == "prefix-list" and probe.value == peer.value
        plist = next(p for p in spec.prefix_lists if p.key == peer.value)
        return probe.kind == "cidr" and any(contains(ipaddress.ip_network(c), probe.value) for c, _ in plist.entries)
    if peer.external:
        return probe.kind == "sg" and probe.value == peer.value
    return probe.kind == "role" and probe.value == peer.value


def _aws_side(spec: AwsSpec, role: str, direction: str, probe: Probe, protocol: str, port: int) -> Decision:
    hits = [
        r
        for r in spec.rules
        if r.role == role
        and r.direction == direction
        and r.ip_protocol == protocol
        and r.from_port <= port <= r.to_port
        and _aws_matches(r, probe, spec)
    ]
    return Decision(probe, bool(hits), tuple(r.name for r in hits), tuple(sorted({e for r in hits for e in r.entries})))


def query_aws(spec: AwsSpec, src: list[Probe], dst: list[Probe], protocol: str, port: int, reason: str = "") -> Answer:
    return evaluate(
        lambda role, way, other: _aws_side(spec, role, way, other, protocol, port),
        ("egress", "ingress"),
        src,
        dst,
        reason,
        "aws",
    )
