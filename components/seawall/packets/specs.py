"""Rendered specs (what a stack compiles to, before Pulumi) read into the packet model.

``seawall query`` and ``seawall conformance`` ask the model of a spec the way ``diff`` asks the
model of a plan: the same semantics (a union per role on AWS, first match and Azure's defaults
on Azure), so a verdict never depends on which route the rules took.
"""

from __future__ import annotations

from typing import Any

from seawall.aws.render import AwsRule, AwsSpec
from seawall.azure.render import AzurePeer, AzureRule, AzureSpec
from seawall.packets.admitted import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    Admitted,
    PacketRule,
    anchors,
    azure_prefix,
    box,
    build,
    protocol_ranges,
)
from seawall.packets.space import EVERY_PEER, PeerSet, network_set, subset, symbol, union_sets

_BUILT: dict[int, tuple[AwsSpec | AzureSpec, Admitted]] = {}


def spec_model(spec: AwsSpec | AzureSpec) -> Admitted:
    """The model of a rendered spec, built once per spec (a query or conformance run asks it many times)."""
    found = _BUILT.get(id(spec))
    if found is not None and found[0] is spec:
        return found[1]
    if len(_BUILT) > 32:
        _BUILT.clear()
    model = _build(spec)
    _BUILT[id(spec)] = (spec, model)
    return model


def _build(spec: AwsSpec | AzureSpec) -> Admitted:
    if isinstance(spec, AwsSpec):
        lists = {pl.key: [c for c, _ in pl.entries] for pl in spec.prefix_lists}
        return build("aws", [_aws(rule, lists) for rule in spec.rules])
    rules: list[PacketRule] = []
    for role in spec.roles:
        rules += [_azure(role.role, role.nsg_name, rule) for rule in role.rules]
        rules += anchors(role.nsg_name, role.role)
    return build("azure", rules)


def _aws(rule: AwsRule, lists: dict[str, list[str]]) -> PacketRule:
    peer = rule.peer
    far: PeerSet
    if peer.kind in ("cidr_ipv4", "cidr_ipv6"):
        far = network_set([peer.value])
    elif peer.kind == "prefix_list":
        far = symbol("list", peer.value) if peer.external or peer.value not in lists else network_set(lists[peer.value])
    else:
        far = symbol("group", peer.value) if peer.external else symbol("role", peer.value)
    protocols = protocol_ranges(rule.ip_protocol) or ALL_PROTOCOLS
    ports = ALL_PORTS if rule.ip_protocol in ("-1", "all") else ((rule.from_port, rule.to_port),)
    return PacketRule(
        rule.name,
        rule.role,
        "in" if rule.direction == "ingress" else "out",
        True,
        box(protocols, ports, far),
        ids=rule.entries,
    )


def _side(peer: AzurePeer) -> PeerSet:
    if peer.kind == "any":
        return EVERY_PEER
    if peer.kind == "asgs":
        return union_sets([symbol("role" if peer.roles else "group", v) for v in peer.values])
    parts: list[PeerSet] = []
    cidrs = []
    for value in peer.values:
        tag = azure_prefix(value)
        if tag is None:
            cidrs.append(value)
        else:
            parts.append(tag)
    return union_sets([*parts, network_set(cidrs)])


def _azure(role: str, nsg: str, rule: AzureRule) -> PacketRule:
    inbound = rule.direction == "Inbound"
    source, destination = _side(rule.source), _side(rule.destination)
    text = rule.destination_port_range
    first, _, last = text.partition("-")
    ports = ALL_PORTS if text == "*" else ((int(first), int(last or first)),)
    return PacketRule(
        label=f"{nsg}/{rule.name}",
        role=role,
        direction="in" if inbound else "out",
        allow=rule.access == "Allow",
        box=box(
            protocol_ranges(rule.protocol) or ALL_PROTOCOLS,
            ports,
            source if inbound else destination,
            destination if inbound else source,
        ),
        priority=rule.priority,
        nsg=nsg,
        ids=rule.entries,
    )


def rule_name(label: str, spec: Any) -> str:
    """A decider's label as the spec names the rule (Azure labels carry their NSG's name)."""
    return label.rsplit("/", 1)[-1] if isinstance(spec, AzureSpec) else label


def probe_set(kind: str, value: str) -> PeerSet:
    """A query's probe as a set of peers: a role's members, an address, the IPv4 internet, a tag, an id."""
    if kind == "role":
        return symbol("role", value)
    if kind == "cidr":
        return network_set([value])
    if kind == "internet":
        return network_set(["0.0.0.0/0"])
    if kind == "service-tag":
        return azure_prefix(value) or symbol("tag", value)
    if kind == "prefix-list":
        return symbol("list", value)
    return symbol("group", value)  # sg, asg: an id outside the stack


def decide(
    spec: AwsSpec | AzureSpec, role: str, direction: str, kind: str, value: str, protocol: str, port: int
) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """(admitted, the deciding rules, their catalogue ids): every packet of the probe, or not all of them."""
    found = spec_model(spec).sets.get((role, "in" if direction in ("ingress", "Inbound") else "out"))
    if found is None:
        return False, (), ()
    packets = box(
        protocol_ranges(protocol) or ALL_PROTOCOLS, ((port, port),), probe_set(kind, value), symbol("role", role)
    )
    node = packets.node()
    allowed = subset(node, found.node)
    deciders = found.deciding(node, allow=allowed)
    # The rules that decide the whole probe on their own, when there are such; else every rule that decides part.
    deciders = [d for d in deciders if subset(node, d.node)] or deciders
    names = tuple(dict.fromkeys(rule_name(d.label, spec) for d in deciders))
    return allowed, names, tuple(sorted({i for d in deciders for i in d.ids})) if allowed else ()
