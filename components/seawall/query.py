"""``seawall query``: is a flow allowed? Answered from the *rendered* rules, not the flows.

A query names two ends, one of which (or both) is a role of the stack, a
protocol and a port. The other end is a peer name (``internet``,
``site:NAME``, ``service:NAME``, ``role:NAME``) or an address/CIDR. The peer is
turned into probes (its bound CIDRs, group ids, tags, or its addresses) and each
probe is checked against the rules exactly as the cloud evaluates them: any
matching allow rule on AWS (security groups are allow-only); the first matching
rule by priority on Azure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from seawall.errors import UserError
from seawall.render.aws import AwsRule, AwsSpec
from seawall.render.azure import AzurePeer, AzureRule, AzureSpec
from seawall.stack import CompiledStack

ProbeKind = Literal["role", "cidr", "sg", "prefix-list", "service-tag", "asg", "internet"]
Verdict = Literal["ALLOWED", "DENIED", "PARTIAL"]


@dataclass(frozen=True, order=True)
class Probe:
    kind: ProbeKind
    value: str = ""

    @property
    def label(self) -> str:
        return self.kind if self.kind == "internet" else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Decision:
    probe: Probe
    allowed: bool
    rules: tuple[str, ...]
    entries: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    cloud: str
    verdict: Verdict
    decisions: tuple[Decision, ...]
    reason: str = ""

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(sorted({r for d in self.decisions for r in d.rules}))

    @property
    def entries(self) -> tuple[str, ...]:
        return tuple(sorted({e for d in self.decisions if d.allowed for e in d.entries}))


def parse_port(text: str) -> tuple[int, str]:
    port_text, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp") or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UserError("--port", f"{text!r} is not valid; valid: PORT/PROTOCOL such as 25/tcp or 53/udp")
    return int(port_text), protocol


def probes_for(compiled: CompiledStack, peer: str) -> tuple[list[Probe], str]:
    """The concrete things a peer name stands for, and a reason when there are none."""
    flows, config = compiled.flows, compiled.config
    if peer in flows.roles or peer.startswith("role:"):
        name = peer.removeprefix("role:")
        if name not in flows.roles:
            raise UserError("--from/--to", f"unknown role {name!r}; valid: {', '.join(flows.roles)}")
        return [Probe("role", name)], ""
    if peer == "internet":
        return [Probe("internet")], ""
    if peer.startswith("site:"):
        name = peer.removeprefix("site:")
        if name not in config.bindings:
            raise UserError(
                "--from/--to",
                f"site peer {name!r} is not bound in this stack; bound: {', '.join(sorted(config.bindings))}",
            )
        kinds: dict[str, ProbeKind] = {
            "cidr": "cidr",
            "sg": "sg",
            "prefix-list": "prefix-list",
            "service-tag": "service-tag",
            "asg": "asg",
            "internet": "internet",
        }
        return [Probe(kinds[b.kind], b.value if b.kind != "internet" else "") for b in config.bindings[name]], ""
    if peer.startswith("service:"):
        name = peer.removeprefix("service:")
        product = compiled.catalog.products[flows.product]
        if name not in product.services:
            raise UserError(
                "--from/--to", f"unknown vendor service {name!r}; valid: {', '.join(sorted(product.services))}"
            )
        addresses = compiled.ipsets.get(flows.product, name)
        if addresses.empty:
            if name in config.settings.internet_egress:
                return [Probe("internet")], ""
            return [], f"vendor service {name} has no addresses, so nothing can allow it"
        return [Probe("cidr", n) for n in (*addresses.ipv4, *addresses.ipv6)], ""
    try:
        return [Probe("cidr", str(ipaddress.ip_network(peer, strict=False)))], ""
    except ValueError:
        raise UserError(
            "--from/--to",
            f"{peer!r} is not a peer; valid: a role ({', '.join(flows.roles)}), internet, site:NAME, service:NAME or an address",
        ) from None


def _verdict(decisions: list[Decision], reason: str, cloud: str) -> Answer:
    if not decisions:
        return Answer(cloud, "DENIED", (), reason)
    allowed = [d.allowed for d in decisions]
    verdict: Verdict = "ALLOWED" if all(allowed) else "DENIED" if not any(allowed) else "PARTIAL"
    return Answer(cloud, verdict, tuple(decisions), reason)


# --- AWS --------------------------------------------------------------------------------


def _aws_matches(rule: AwsRule, probe: Probe, spec: AwsSpec) -> bool:
    peer = rule.peer
    if peer.kind in ("cidr_ipv4", "cidr_ipv6"):
        net = ipaddress.ip_network(peer.value)
        if probe.kind == "internet":
            return net.prefixlen == 0 and net.version == 4
        return probe.kind == "cidr" and _contains(net, probe.value)
    if peer.kind == "prefix_list":
        if peer.external:
            return probe.kind == "prefix-list" and probe.value == peer.value
        plist = next(p for p in spec.prefix_lists if p.key == peer.value)
        return probe.kind == "cidr" and any(_contains(ipaddress.ip_network(c), probe.value) for c, _ in plist.entries)
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


def _evaluate(
    side: Callable[[str, str, Probe], Decision],
    directions: tuple[str, str],
    src: list[Probe],
    dst: list[Probe],
    reason: str,
    cloud: str,
) -> Answer:
    """Every source probe against every destination probe: a role end must allow it on its own side
    (egress/outbound where the role sends, ingress/inbound where it receives)."""
    outbound, inbound = directions
    decisions = []
    for s in src:
        for d in dst:
            sides = []
            if s.kind == "role":
                sides.append(side(s.value, outbound, d))
            if d.kind == "role":
                sides.append(side(d.value, inbound, s))
            decisions.append(_combine(s if d.kind == "role" else d, sides))
    return _verdict(decisions, reason, cloud)


def query_aws(spec: AwsSpec, src: list[Probe], dst: list[Probe], protocol: str, port: int, reason: str = "") -> Answer:
    return _evaluate(
        lambda role, way, other: _aws_side(spec, role, way, other, protocol, port),
        ("egress", "ingress"),
        src,
        dst,
        reason,
        "aws",
    )


def _combine(probe: Probe, sides: list[Decision]) -> Decision:
    return Decision(
        probe,
        all(side.allowed for side in sides),
        tuple(r for side in sides for r in side.rules),
        tuple(sorted({e for side in sides for e in side.entries})),
    )


# --- Azure ------------------------------------------------------------------------------


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
    return probe.kind == "cidr" and any(_contains(ipaddress.ip_network(v), probe.value) for v in peer.values)


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
    return _evaluate(
        lambda role, way, other: _azure_side(spec, role, way, other, protocol, port),
        ("Outbound", "Inbound"),
        src,
        dst,
        reason,
        "azure",
    )


def _port_in(spec: str, port: int) -> bool:
    if spec == "*":
        return True
    first, _, last = spec.partition("-")
    return int(first) <= port <= int(last or first)


def _contains(outer: ipaddress.IPv4Network | ipaddress.IPv6Network, inner: str) -> bool:
    net = ipaddress.ip_network(inner)
    return net.version == outer.version and net.subnet_of(outer)  # type: ignore[arg-type]
