"""Conformance: for every row of the vendor's port table, what a stack does, checked on the rendered rules.

Every catalogue entry of the stack's product is a row (an entry cites the document row it
transcribes; a row written 受信/送信 is one line per half), in the catalogue's order, which is the
document's. Each row gets a disposition from the stack's settings — open, opted in to the internet,
denied, closed (stateful reply), off, never open, not renderable — per role and peer, and every
disposition gets a check computed from the rendered rules with the query engine, never from the
catalogue:

- an open row's flows are allowed (every port, protocol and address of the peer) and every
  documented address of a vendor service is among them;
- a never-open row's ports are denied from every peer of the stack, and no rule covers them;
- any other row opens nothing that the rest of the plan does not open for another row.

Every allow rule must be justified by an open row: same role, direction, protocol and ports, a far
side within the row's peer, and the row's id among those the rule cites. A failed check is a
violation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from seawall.analysis.query import Answer, Probe, probes_for, query_aws, query_azure
from seawall.aws.render import AwsRule, AwsSpec
from seawall.azure.render import AzurePeer, AzureSpec
from seawall.catalog.model import Document, Entry, Peer, PortRange
from seawall.errors import UserError
from seawall.jsonsource import read_json
from seawall.netaddr import Network, contains, parse_port_text, port_text, sort_networks
from seawall.packets.admitted import INTERNET, azure_prefix, box, protocol_ranges
from seawall.packets.admitted import Change as PacketChange
from seawall.packets.describe import lines as describe
from seawall.packets.space import (
    EVERY_PEER,
    PeerSet,
    difference,
    network_set,
    symbol,
    union_all,
    union_sets,
)
from seawall.packets.specs import rule_name, spec_model
from seawall.stack import CompiledStack, render_aws_stack, render_azure_stack

Disposition = Literal["open", "opted-in", "denied", "closed-stateful-reply", "off", "never-open", "not-renderable"]
# Also the headline order: a row shows the most open of its parts (a row open to one peer is open).
DISPOSITIONS: tuple[Disposition, ...] = (
    "open",
    "opted-in",
    "denied",
    "closed-stateful-reply",
    "off",
    "never-open",
    "not-renderable",
)
LABELS: dict[Disposition, str] = {
    "open": "open",
    "opted-in": "opted in to the internet",
    "denied": "denied",
    "closed-stateful-reply": "closed, stateful reply",
    "off": "off",
    "never-open": "never open",
    "not-renderable": "not renderable",
}
Half = Literal["in", "out"]
Spec = AwsSpec | AzureSpec
# Ranges wider than this are probed at their ends; narrower ones at every port.
PROBE_EVERY_PORT_UP_TO = 16


@dataclass(frozen=True)
class CloudCheck:
    """One cloud's verdict on one part of a row, computed from that cloud's rendered rules."""

    cloud: str
    ok: bool
    rules: tuple[str, ...]  # open: the rules that allow it; otherwise the rules that break it
    text: str


@dataclass(frozen=True)
class Part:
    """What the stack does for one row on one role and one of the row's peers."""

    role: str  # "" when no role of the stack runs the row's host
    peer: str  # the catalogue's peer: internet, site:X, service:X, host:X, localhost
    endpoint: str  # what the stack made of it: internet, site:X, service:X, role:X; "" when nothing
    disposition: Disposition
    why: str
    addresses: tuple[str, ...] = ()  # what was probed for the peer (open rows)
    missing: tuple[str, ...] = ()  # documented addresses the rules do not allow
    unresolved: tuple[str, ...] = ()  # hostnames of a denied vendor service
    key: str = ""  # the stack key that opened it to the internet
    checks: tuple[CloudCheck, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


@dataclass(frozen=True)
class Row:
    """One document row (one purpose of it, one half of a 受信/送信 row) and what the stack does for it."""

    entry: Entry
    document: str  # the product whose document prints the row
    half: Half
    halves: int  # 2 for a row written in/out
    parts: tuple[Part, ...]

    @property
    def disposition(self) -> Disposition:
        return min((p.disposition for p in self.parts), key=DISPOSITIONS.index)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.parts)

    @property
    def key(self) -> tuple[str, str]:
        return (self.entry.id, self.half)

    @property
    def label(self) -> str:
        """``seg-ntp``, or ``sxg-directory-ldap (in)`` for one half of a row written in/out."""
        return self.entry.id if self.halves == 1 else f"{self.entry.id} ({self.half})"

    @property
    def reason(self) -> str:
        """The headline's why, from the first part that has the headline disposition."""
        return next(p.why for p in self.parts if p.disposition == self.disposition)


@dataclass(frozen=True)
class Unjustified:
    """An allow rule of the plan that no open row justifies."""

    cloud: str
    role: str
    rule: str
    half: Half
    protocol: str
    ports: str
    cites: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Report:
    stack: str
    topology: str
    product: str
    roles: tuple[str, ...]
    clouds: tuple[str, ...]
    documents: dict[str, Document]  # product → its document (the stack's, and those rows are carried over from)
    rows: tuple[Row, ...]
    unjustified: tuple[Unjustified, ...]
    notes: tuple[str, ...]  # stack-wide facts a reader needs (no IP-set lock)

    @property
    def summary(self) -> dict[Disposition, int]:
        return {d: sum(1 for r in self.rows if r.disposition == d) for d in DISPOSITIONS}

    @property
    def violations(self) -> int:
        return sum(1 for r in self.rows if not r.ok) + len(self.unjustified)


@dataclass(frozen=True)
class Change:
    """A row whose disposition differs from a base report (or that one of them lacks)."""

    label: str
    before: str  # a disposition, or "" for a new row
    after: str  # a disposition, or "" for a removed row
    why: str


# --- the rendered rules, cloud-neutral -----------------------------------------------------------


@dataclass(frozen=True)
class _Far:
    """The far side of a rule or a peer: networks, the whole internet, roles, or ids seawall cannot list."""

    networks: tuple[Network, ...] = ()
    internet: bool = False
    roles: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    def within(self, others: Sequence[_Far]) -> bool:
        if self.internet and not any(o.internet for o in others):
            return False
        for net in self.networks:
            if not any(o.internet or any(_subnet(net, n) for n in o.networks) for o in others):
                return False
        if not set(self.roles) <= {r for o in others for r in o.roles}:
            return False
        return set(self.ids) <= {i for o in others for i in o.ids}

    @property
    def text(self) -> str:
        parts = (["internet"] if self.internet else []) + [str(n) for n in self.networks]
        return ", ".join([*parts, *(f"role:{r}" for r in self.roles), *self.ids]) or "nothing"


def _subnet(inner: Network, outer: Network) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in sort_networks(values))


@dataclass(frozen=True)
class _Rule:
    cloud: str
    name: str
    role: str
    half: Half
    protocol: str  # tcp | udp | * (every protocol)
    first: int
    last: int
    far: _Far
    cites: tuple[str, ...]
    beyond_role: bool = False  # Azure: the rule's own side is more than the role's ASG

    def covers(self, protocol: str, ports: PortRange) -> bool:
        same = self.protocol in ("*", protocol)
        return same and self.first <= ports.last and ports.first <= self.last

    @property
    def what(self) -> str:
        return f"{self.protocol}/{port_text(self.first, self.last)} {self.half} on {self.role}"


def _aws_rules(spec: AwsSpec) -> list[_Rule]:
    lists = {pl.key: pl for pl in spec.prefix_lists}
    out = []
    for rule in spec.rules:
        out.append(
            _Rule(
                "aws",
                rule.name,
                rule.role,
                "in" if rule.direction == "ingress" else "out",
                "*" if rule.ip_protocol in ("-1", "all") else rule.ip_protocol,
                rule.from_port if rule.from_port >= 0 else 0,
                rule.to_port if rule.to_port >= 0 else 65535,
                _aws_far(rule, lists),
                rule.entries,
            )
        )
    return out


def _aws_far(rule: AwsRule, lists: Mapping[str, Any]) -> _Far:
    peer = rule.peer
    if peer.kind in ("cidr_ipv4", "cidr_ipv6"):
        net = ipaddress.ip_network(peer.value, strict=False)
        return _Far(internet=True) if net.prefixlen == 0 else _Far(networks=(net,))
    if peer.external:
        return _Far(ids=(peer.value,))
    if peer.kind == "prefix_list":
        plist = lists.get(peer.value)
        if plist is None:
            return _Far(ids=(f"prefix list {peer.value} (not declared)",))
        return _Far(networks=_networks(cidr for cidr, _ in plist.entries))
    return _Far(roles=(peer.value,))


def _azure_rules(spec: AzureSpec) -> list[_Rule]:
    out = []
    for role in spec.roles:
        own = AzurePeer("asgs", (role.role,), roles=True)
        for rule in role.rules:
            if rule.access != "Allow":
                continue
            first, last = parse_port_text(rule.destination_port_range)
            inbound = rule.direction == "Inbound"
            far, mine = (rule.source, rule.destination) if inbound else (rule.destination, rule.source)
            out.append(
                _Rule(
                    "azure",
                    rule.name,
                    role.role,
                    "in" if inbound else "out",
                    rule.protocol.lower(),
                    first,
                    last,
                    _azure_far(far),
                    rule.entries,
                    beyond_role=mine != own,
                )
            )
    return out


def _azure_far(peer: AzurePeer) -> _Far:
    if peer.kind == "any":
        return _Far(ids=("* (any address)",))
    if peer.kind == "service-tag":
        return _Far(internet=True) if peer.values == ("Internet",) else _Far(ids=tuple(f"tag:{v}" for v in peer.values))
    if peer.kind == "asgs":
        return _Far(roles=peer.values) if peer.roles else _Far(ids=peer.values)
    nets = _networks(peer.values)
    if any(n.prefixlen == 0 for n in nets):
        return _Far(internet=True)
    return _Far(networks=nets)


def _rules_of(spec: Spec) -> list[_Rule]:
    return _aws_rules(spec) if isinstance(spec, AwsSpec) else _azure_rules(spec)


# --- intent: what the stack means to do with each row ----------------------------------------------


@dataclass(frozen=True)
class _Draft:
    role: str
    peer: str
    endpoint: str
    disposition: Disposition
    why: str
    far: _Far = _Far()
    unresolved: tuple[str, ...] = ()
    key: str = ""


_HALVES: dict[str, tuple[Half, ...]] = {"inbound": ("in",), "outbound": ("out",), "both": ("in", "out")}
# Who opens the connection decides which half a stateful firewall must open.
_OPENING: dict[str, tuple[Half, ...]] = {"host": ("out",), "peer": ("in",), "either": ("in", "out")}


def _halves(entry: Entry) -> tuple[Half, ...]:
    return _HALVES[entry.direction]


def _opening(entry: Entry) -> tuple[Half, ...]:
    return _OPENING[entry.opener]


def _features_off(features: Iterable[str], enabled: set[str]) -> list[str]:
    return [f for f in features if f not in enabled]


def _classify(compiled: CompiledStack, entry: Entry, half: Half) -> list[_Draft]:
    """The parts of one row's half: per role that runs it and per peer, the disposition the stack gives it."""
    topology, flows, settings = compiled.topology, compiled.flows, compiled.config.settings
    runners = [
        name
        for name, role in sorted(topology.roles.items())
        if role.runs(entry) and (not role.products or flows.product in role.products)
    ]
    present = [r for r in runners if r in flows.roles]
    if not present:
        why = (
            f"role {', '.join(runners)} is not in this stack (seawall:roles)"
            if runners
            else f"no role of topology {topology.topology} runs the {entry.host}"
        )
        return [_Draft("", p.label(), "", "off", why) for p in entry.peer]
    enabled = set(settings.features)
    drafts = []
    for role in present:
        for peer in entry.peer:
            drafts += _classify_peer(compiled, entry, half, role, peer, enabled)
    return drafts


def _classify_peer(
    compiled: CompiledStack, entry: Entry, half: Half, role: str, peer: Peer, enabled: set[str]
) -> list[_Draft]:
    label = peer.label()
    if entry.scope == "localhost":
        return [_Draft(role, label, "", "never-open", entry.not_rendered or "product-internal (localhost)")]
    if entry.not_rendered:
        return [
            _Draft(role, label, e, "not-renderable", entry.not_rendered, f) for e, f in _probeable(compiled, role, peer)
        ]
    off = _features_off(entry.features, enabled)
    if off:
        why = f"feature {', '.join(off)} is off (seawall:features)"
        return [_Draft(role, label, e, "off", why, f) for e, f in _probeable(compiled, role, peer)]
    off = _features_off(peer.features, enabled)
    if off:
        why = f"feature {', '.join(off)} is off for this peer (seawall:features)"
        return [_Draft(role, label, e, "off", why, f) for e, f in _probeable(compiled, role, peer)]
    opens = half in _opening(entry)
    closed = f"the {entry.host} opens these connections; a stateful firewall lets the reply back without a rule"
    drafts = []
    for endpoint, far, disposition, why, unresolved, key in _intent(compiled, role, peer):
        if not opens and disposition in ("open", "opted-in", "denied"):
            disposition, why, unresolved, key = "closed-stateful-reply", closed, (), ""
        drafts.append(_Draft(role, label, endpoint, disposition, why, far, unresolved, key))
    return drafts


def _intent(
    compiled: CompiledStack, role: str, peer: Peer
) -> list[tuple[str, _Far, Disposition, str, tuple[str, ...], str]]:
    """(endpoint, far side, disposition, why, unresolved hosts, stack key) of an enabled peer."""
    config, flows = compiled.config, compiled.flows
    if peer.kind == "internet":
        return [("internet", _Far(internet=True), "open", "", (), "")]
    assert peer.name is not None
    if peer.kind == "host":
        targets = compiled.topology.peer_roles(role, peer.name, flows.roles)
        if not targets:
            return [("", _Far(), "off", f"no role for the {peer.name} in this stack (seawall:roles)", (), "")]
        return [(f"role:{t}", _Far(roles=(t,)), "open", "", (), "") for t in targets]
    if peer.kind == "site":
        far = _site_far(compiled, peer.name)
        if far.internet:
            key = f"seawall:peers.{peer.name}"
            return [(f"site:{peer.name}", far, "opted-in", f"bound to the whole internet by {key}", (), key)]
        return [(f"site:{peer.name}", far, "open", "", (), "")]
    addresses = compiled.ipsets.get(flows.product, peer.name)
    service = compiled.catalog.products[flows.product].services[peer.name]
    if addresses.empty and peer.name in config.settings.internet_egress:
        key = "seawall:internetEgress"
        why = f"vendor service {peer.name} has no addresses; opened to the whole internet by {key}"
        return [("internet", _Far(internet=True), "opted-in", why, (), key)]
    if addresses.empty:
        if service.no_host_documented:
            why = f"vendor service {peer.name} has no addresses: the document names no host"
        elif service.address_feed:
            why = f"vendor service {peer.name} has no addresses: {service.address_feed} ranges not in the IP-set lock"
        else:
            why = f"{peer.name} hosts unresolved: {', '.join(service.hostnames)}"
        return [("", _Far(), "denied", why, service.hostnames, "")]
    count = len(addresses.ipv4) + len(addresses.ipv6)
    far = _Far(networks=_networks([*addresses.ipv4, *addresses.ipv6]))
    return [(f"service:{peer.name}", far, "open", f"{count} address(es) ({addresses.source})", (), "")]


def _site_far(compiled: CompiledStack, name: str) -> _Far:
    bindings = compiled.config.bindings.get(name, ())
    internet = any(b.kind == "internet" or (b.kind == "service-tag" and b.value == "Internet") for b in bindings)
    ids = tuple(
        b.value if b.kind != "service-tag" else f"tag:{b.value}" for b in bindings if b.kind not in ("cidr", "internet")
    )
    return _Far(
        networks=_networks(b.value for b in bindings if b.kind == "cidr"),
        internet=internet,
        ids=tuple(i for i in ids if i != "tag:Internet"),
    )


def _probeable(compiled: CompiledStack, role: str, peer: Peer) -> list[tuple[str, _Far]]:
    """The endpoint a query can probe for a peer the stack does not open (one with nothing to probe: "")."""
    if peer.kind == "internet":
        return [("internet", _Far(internet=True))]
    if peer.kind == "localhost" or peer.name is None:
        return [("", _Far())]
    if peer.kind == "host":
        targets = compiled.topology.peer_roles(role, peer.name, compiled.flows.roles)
        return [(f"role:{t}", _Far(roles=(t,))) for t in targets] or [("", _Far())]
    if peer.kind == "site":
        return (
            [(f"site:{peer.name}", _site_far(compiled, peer.name))]
            if peer.name in compiled.config.bindings
            else [("", _Far())]
        )
    addresses = compiled.ipsets.get(compiled.flows.product, peer.name)
    if addresses.empty:
        return [("", _Far())]
    return [(f"service:{peer.name}", _Far(networks=_networks([*addresses.ipv4, *addresses.ipv6])))]


# --- which open rows justify each rule --------------------------------------------------------------


@dataclass(frozen=True)
class _Grant:
    """What one open part allows a rule to be: on this role, this half, within this far side."""

    entry: Entry
    role: str
    half: Half
    far: _Far
    label: str  # ``seg-dns to site:dns-servers``


def _grants(opened: Iterable[tuple[Entry, Half, _Draft]]) -> list[_Grant]:
    """Every open part grants its own side; a part whose peer is a role grants that role's mirrored side too
    (the Exchange rows open the gateway's ingress, peer gateways each other's both ways)."""
    out = []
    for entry, half, draft in opened:
        way = "from" if half == "in" else "to"
        out.append(_Grant(entry, draft.role, half, draft.far, f"{entry.id} {way} {draft.endpoint}"))
        if draft.endpoint.startswith("role:"):
            other: Half = "out" if half == "in" else "in"
            back = "to" if half == "in" else "from"
            peer = draft.endpoint.removeprefix("role:")
            out.append(_Grant(entry, peer, other, _Far(roles=(draft.role,)), f"{entry.id} {back} role:{draft.role}"))
    return out


def _justify(rule: _Rule, grants: Sequence[_Grant]) -> tuple[tuple[str, ...], str]:
    """(the open parts that justify the rule, as ``id to peer`` labels; why not when none does)."""
    if rule.beyond_role:
        return (), f"applies to more than role {rule.role}'s application security group"
    fits = [
        g
        for g in grants
        if g.role == rule.role
        and g.half == rule.half
        and g.entry.id in rule.cites
        and rule.protocol in g.entry.protocol
        and any(p.first <= rule.first and rule.last <= p.last for p in g.entry.ports)
    ]
    if fits and rule.far.within([g.far for g in fits]):
        return tuple(sorted({g.label for g in fits})), ""
    if not rule.cites:
        return (), "cites no catalogue row"
    if not any(g.entry.id in rule.cites for g in grants):
        return (), f"cites {', '.join(rule.cites)}, which this stack does not open"
    if not fits:
        return (), f"no row it cites ({', '.join(rule.cites)}) opens {rule.what}"
    ids = ", ".join(sorted({g.entry.id for g in fits}))
    return (), f"opens {rule.far.text}, beyond the peers of {ids}"


# --- checks on the rendered rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The rendered rules of every cloud asked, and which open rows justify each."""

    specs: Mapping[str, Spec]
    rules: Mapping[str, list[_Rule]]
    justified: Mapping[str, Mapping[tuple[str, str], tuple[tuple[str, ...], str]]]

    def grants_of(self, rule: _Rule) -> tuple[str, ...]:
        return self.justified[rule.cloud][(rule.role, rule.name)][0]


def _sample(ports: PortRange) -> list[int]:
    if ports.last - ports.first < PROBE_EVERY_PORT_UP_TO:
        return list(range(ports.first, ports.last + 1))
    return [ports.first, ports.last]


def _query(spec: Spec, src: list[Probe], dst: list[Probe], protocol: str, port: int) -> Answer:
    if isinstance(spec, AwsSpec):
        return query_aws(spec, src, dst, protocol, port)
    return query_azure(spec, src, dst, protocol, port)


def _probes(compiled: CompiledStack, endpoint: str) -> list[Probe]:
    if endpoint == "internet":
        return [Probe("internet")]
    probes, _ = probes_for(compiled, endpoint)
    if endpoint.startswith("service:") and not compiled.config.settings.ipv6:
        # Without seawall:ipv6 the renderers open no IPv6 vendor address: probing one would prove nothing.
        probes = [p for p in probes if ":" not in p.value]
    return probes


def _ends(half: Half, role: str, others: list[Probe]) -> tuple[list[Probe], list[Probe]]:
    me = [Probe("role", role)]
    return (others, me) if half == "in" else (me, others)


def _check_open(compiled: CompiledStack, plan: _Plan, entry: Entry, half: Half, draft: _Draft) -> Part:
    probes = _probes(compiled, draft.endpoint)
    documented: tuple[str, ...] = ()
    if draft.endpoint.startswith("service:"):
        service = compiled.catalog.products[compiled.flows.product].services[draft.endpoint.removeprefix("service:")]
        documented = tuple(a for a in service.addresses if compiled.config.settings.ipv6 or ":" not in a)
    checks, missing = [], set()
    for cloud, spec in plan.specs.items():
        rules: set[str] = set()
        failure = "" if probes else f"nothing to probe for {draft.endpoint}"
        allowed = {p.value for p in probes}
        for protocol in entry.protocol:
            for ports in entry.ports:
                for port in _sample(ports):
                    answer = _query(spec, *_ends(half, draft.role, probes), protocol, port)
                    rules.update(answer.rules if answer.verdict != "DENIED" else ())
                    allowed &= {d.probe.value for d in answer.decisions if d.allowed}
                    if answer.verdict != "ALLOWED" and not failure:
                        failure = f"{answer.verdict} at {protocol}/{port}: {_denials(answer)}"
        lost = [a for a in documented if not any(contains(ipaddress.ip_network(v), a) for v in allowed)]
        missing.update(lost)
        if lost and not failure:
            failure = f"documented address(es) not allowed: {', '.join(lost)}"
        text = failure or f"allowed by {', '.join(sorted(rules))}"
        checks.append(CloudCheck(cloud, not failure, tuple(sorted(rules)), text))
    return _part(draft, checks, tuple(p.label for p in probes), tuple(sort_networks(missing)))


def _denials(answer: Answer) -> str:
    out = []
    for d in answer.decisions:
        if not d.allowed:
            out.append(
                f"{d.probe.label} denied by {', '.join(d.rules)}" if d.rules else f"no rule allows {d.probe.label}"
            )
    return "; ".join(out) or answer.reason or "no rule allows it"


def _every_peer(compiled: CompiledStack) -> list[str]:
    """Every peer a stack can name: the internet, its bound sites, vendor services with addresses, its roles."""
    product = compiled.catalog.products[compiled.flows.product]
    services = [s for s in sorted(product.services) if not compiled.ipsets.get(product.product, s).empty]
    return [
        "internet",
        *(f"site:{s}" for s in sorted(compiled.config.bindings)),
        *(f"service:{s}" for s in services),
        *(f"role:{r}" for r in compiled.flows.roles),
    ]


def _in_scope(rule: _Rule, entry: Entry, half: Half, draft: _Draft) -> bool:
    """A rule that would open (part of) this row's half: on its role and ports, on a role peer's mirrored side, or
    citing it."""
    if not draft.role:
        return rule.half == half and entry.id in rule.cites
    covers = any(rule.covers(p, rng) for p in entry.protocol for rng in entry.ports)
    if rule.role == draft.role and rule.half == half and (covers or entry.id in rule.cites):
        return True
    peer = draft.endpoint.removeprefix("role:") if draft.endpoint.startswith("role:") else ""
    mirrored = "out" if half == "in" else "in"
    return rule.role == peer and rule.half == mirrored and covers and draft.role in rule.far.roles


def _check_closed(compiled: CompiledStack, plan: _Plan, entry: Entry, half: Half, draft: _Draft) -> Part:
    """Off, denied, closed, never open, not renderable: nothing opens it that no other row justifies."""
    ranges = [(protocol, ports) for protocol in entry.protocol for ports in entry.ports]
    ports = ",".join(str(p) for p in entry.ports)
    what = f"{','.join(entry.protocol)}/{ports} {half} on {draft.role or 'any role'}"
    never = draft.disposition == "never-open"
    checks = []
    for cloud, spec in plan.specs.items():
        scope = [r for r in plan.rules[cloud] if _in_scope(r, entry, half, draft)]
        # A product-internal port is never opened, not even for another row; anything else may be.
        breakers = sorted(r.name for r in scope if never or not plan.grants_of(r))
        heard = ""
        peers = _every_peer(compiled) if never else [draft.endpoint] if draft.endpoint else []
        if draft.role and peers:
            heard = _closed_query(compiled, spec, plan, draft.role, half, peers, ranges, never)
        if breakers:
            why = "a product-internal port is never opened" if never else "no row justifies it"
            checks.append(CloudCheck(cloud, False, tuple(breakers), f"{', '.join(breakers)} opens {what}: {why}"))
            continue
        if not scope:
            scan = f"no rule covers {what}" if draft.role else "no rule cites it"
        else:
            others = sorted({g for r in scope for g in plan.grants_of(r)})
            scan = f"{what} is open only for other rows or peers ({'; '.join(others)})"
        checks.append(CloudCheck(cloud, True, (), "; ".join(t for t in (heard, scan) if t)))
    return _part(draft, checks)


def _closed_query(
    compiled: CompiledStack,
    spec: Spec,
    plan: _Plan,
    role: str,
    half: Half,
    peers: list[str],
    ranges: Sequence[tuple[str, PortRange]],
    never: bool,
) -> str:
    """The query engine's word on a closed part: denied, or allowed only by rules other rows justify."""
    allowed_by: set[str] = set()
    probed = 0
    for peer in peers:
        probes = _probes(compiled, peer)
        probed += bool(probes)
        for protocol, ports in ranges:
            for port in _sample(ports):
                if probes:
                    answer = _query(spec, *_ends(half, role, probes), protocol, port)
                    allowed_by.update(r for d in answer.decisions if d.allowed for r in d.rules)
    if allowed_by:
        grants = sorted({g for r in plan.rules[_cloud(spec)] if r.name in allowed_by for g in plan.grants_of(r)})
        return (
            f"allowed for other rows or peers ({'; '.join(grants)})"
            if grants
            else f"allowed by {', '.join(sorted(allowed_by))}"
        )
    if never:
        return f"denied from all {probed} peers"
    return "denied" if probed else ""


def _cloud(spec: Spec) -> str:
    return "aws" if isinstance(spec, AwsSpec) else "azure"


def _part(
    draft: _Draft, checks: list[CloudCheck], addresses: tuple[str, ...] = (), missing: tuple[str, ...] = ()
) -> Part:
    return Part(
        role=draft.role,
        peer=draft.peer,
        endpoint=draft.endpoint,
        disposition=draft.disposition,
        why=draft.why,
        addresses=addresses,
        missing=missing,
        unresolved=draft.unresolved,
        key=draft.key,
        checks=tuple(checks),
    )


# --- in packets: what each role admits against what its rows allow ---------------------------------


def _far_set(far: _Far) -> PeerSet:
    parts = [network_set(str(n) for n in far.networks), *(symbol("role", r) for r in far.roles)]
    if far.internet:
        parts.append(INTERNET)
    for i in far.ids:
        tag = azure_prefix(i.removeprefix("tag:")) if i.startswith("tag:") else None
        parts.append(tag or symbol("list" if i.startswith("pl-") else "group", i))
    return union_sets(parts)


def _beyond_rows(cloud: str, spec: Spec, grants: Sequence[_Grant], known: Sequence[Unjustified]) -> list[Unjustified]:
    """Packets a role admits that no open row allows, and that no unjustified rule already accounts for.

    The rule-by-rule check above judges each allow; this one judges the sum, the way the cloud does
    (first match, Azure's defaults): a deleted deny-all or a default rule that lets traffic through
    is caught here even though no rule says so.
    """
    model = spec_model(spec)
    out = []
    for (role, half), found in model.sets.items():
        local = symbol("role", role) if cloud == "azure" else EVERY_PEER
        allowed = union_all(
            box(
                _protocols_of(g.entry.protocol), tuple((p.first, p.last) for p in g.entry.ports), _far_set(g.far), local
            ).node()
            for g in grants
            if g.role == role and g.half == half
        )
        flagged = {(u.rule) for u in known if u.cloud == cloud and u.role == role and u.half == half}
        done = union_all(d.node for d in found.deciders if rule_name(d.label, spec) in flagged)
        beyond = difference(difference(found.node, allowed), done)
        if beyond is False:
            continue
        for line in describe(PacketChange(role, half, beyond, tuple(found.deciding(beyond)))):
            out.append(
                Unjustified(
                    cloud,
                    role,
                    ", ".join(rule_name(r, spec) for r in line.rules) or "(no rule)",
                    half,
                    line.protocol,
                    line.ports,
                    line.entries,
                    f"admits {line.peers}{f' (at {line.local})' if line.local else ''}, which no open row allows",
                )
            )
    return out


def _protocols_of(protocols: Iterable[str]) -> tuple[tuple[int, int], ...]:
    found = [r for p in protocols for r in (protocol_ranges(p) or ())]
    return tuple(found) or ((0, 255),)


# --- the report -------------------------------------------------------------------------------------


def stack_specs(compiled: CompiledStack, own: Spec, clouds: Sequence[str]) -> dict[str, Spec]:
    """The specifications to check: the one the stack's program rendered, and others rendered from the same compilation."""
    out: dict[str, Spec] = {}
    for cloud in clouds:
        if cloud == compiled.config.settings.cloud:
            out[cloud] = own
        elif cloud == "aws":
            out[cloud] = render_aws_stack(compiled)
        else:
            out[cloud] = render_azure_stack(compiled)
    return out


def conformance(compiled: CompiledStack, specs: Mapping[str, Spec]) -> Report:
    """Every row of the stack's product document, its disposition, and the check of each on ``specs``."""
    flows = compiled.flows
    product = compiled.catalog.products[flows.product]
    drafts = [(entry, half, _classify(compiled, entry, half)) for entry in product.entries for half in _halves(entry)]
    grants = _grants((e, h, d) for e, h, ds in drafts for d in ds if d.disposition in ("open", "opted-in"))
    rules = {cloud: _rules_of(spec) for cloud, spec in specs.items()}
    justified = {cloud: {(r.role, r.name): _justify(r, grants) for r in rs} for cloud, rs in rules.items()}
    plan = _Plan(specs, rules, justified)
    rows = []
    for entry, half, parts in drafts:
        checked = tuple(
            _check_open(compiled, plan, entry, half, d)
            if d.disposition in ("open", "opted-in")
            else _check_closed(compiled, plan, entry, half, d)
            for d in parts
        )
        rows.append(Row(entry, entry.source.product or product.product, half, len(_halves(entry)), checked))
    unjustified = tuple(
        Unjustified(r.cloud, r.role, r.name, r.half, r.protocol, port_text(r.first, r.last), r.cites, why)
        for cloud, rs in rules.items()
        for r in rs
        for ids, why in [justified[cloud][(r.role, r.name)]]
        if not ids
    )
    unjustified += tuple(u for cloud, spec in specs.items() for u in _beyond_rows(cloud, spec, grants, unjustified))
    cited = sorted({r.document for r in rows})
    loaded = compiled.catalog.products
    documents = {name: loaded[name].document for name in cited if name in loaded}
    # A one-product catalogue still cites the rows it carries over from another product's document.
    absent = {name: sorted({r.entry.id for r in rows if r.document == name}) for name in cited if name not in loaded}
    notes = tuple(n.text for n in flows.notices if n.kind == "no-lock") + tuple(
        f"rows carried over from the {name} document ({', '.join(ids)}) are shown as written: "
        "that document is not in this catalogue"
        for name, ids in absent.items()
    )
    return Report(
        stack=flows.stack,
        topology=flows.topology,
        product=flows.product,
        roles=flows.roles,
        clouds=tuple(specs),
        documents=documents,
        rows=tuple(rows),
        unjustified=unjustified,
        notes=notes,
    )


# --- comparing with an earlier report (the pull-request comment) -----------------------------------


@dataclass(frozen=True)
class BaseRow:
    label: str
    disposition: str


def read_base(path: Path, stack: str) -> dict[tuple[str, str], BaseRow]:
    """Rows of an earlier ``seawall conformance --format json`` of ``stack``; every field is validated."""
    valid = f"valid: the output of seawall conformance --stack {stack} --format json"
    # Bounded and strict (size, depth, repeated keys), like every JSON file seawall reads.
    data, _ = read_json(path, str(path), 64 * 2**20, UserError, valid.removeprefix("valid: "))
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise UserError(str(path), f"not a conformance report: no 'rows' list; {valid}")
    if "stack" in data and data["stack"] != stack:
        raise UserError(str(path), f"a report of stack {data['stack']!r}, not {stack!r}; {valid}")
    out: dict[tuple[str, str], BaseRow] = {}
    for index, row in enumerate(data["rows"]):
        where = f"rows[{index}]"
        if not isinstance(row, dict):
            raise UserError(str(path), f"{where}: not an object; {valid}")
        entry, half, disposition = row.get("entry"), row.get("half"), row.get("disposition")
        if not isinstance(entry, str) or not entry:
            raise UserError(str(path), f"{where}.entry: {entry!r} is not a catalogue id; {valid}")
        if half not in ("in", "out"):
            raise UserError(str(path), f"{where}.half: {half!r}; valid: in, out")
        if disposition not in DISPOSITIONS:
            raise UserError(str(path), f"{where}.disposition: {disposition!r}; valid: {', '.join(DISPOSITIONS)}")
        label = row.get("label") if isinstance(row.get("label"), str) else entry
        out[(entry, half)] = BaseRow(str(label), str(disposition))
    return out


def changes(base: Mapping[tuple[str, str], BaseRow], report: Report) -> list[Change]:
    """Rows whose disposition changed, in document order, then rows the base had and the report lacks."""
    out = []
    for row in report.rows:
        before = base.get(row.key)
        if before is None:
            out.append(Change(row.label, "", row.disposition, row.reason))
        elif before.disposition != row.disposition:
            out.append(Change(row.label, before.disposition, row.disposition, row.reason))
    keys = {row.key for row in report.rows}
    for key, gone in sorted(base.items()):
        if key not in keys:
            out.append(Change(gone.label, gone.disposition, "", "the row is no longer in the catalogue"))
    return out


__all__ = [
    "DISPOSITIONS",
    "LABELS",
    "BaseRow",
    "Change",
    "CloudCheck",
    "Disposition",
    "Part",
    "Report",
    "Row",
    "Unjustified",
    "changes",
    "conformance",
    "read_base",
    "stack_specs",
]
