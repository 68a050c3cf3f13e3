"""Flows, the intermediate form: who may reach whom, on what, and why.

``compile_flows`` is pure. It reads the catalogue, a topology and a stack's
settings and returns every connection the stack opens as a :class:`Flow`
(source, destination, protocol, one port range, and the catalogue entry ids that
justify it), plus :class:`Notice` records for everything it deliberately does
not open: the closed half of a 受信/送信 row on a stateful firewall,
product-internal ports, rows that cannot be rendered, vendor services with no
addresses. Identical flows from several entries merge into one listing every id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from seawall.addresses.ipsets import IpSets, ServiceAddresses
from seawall.catalog.load import Catalog
from seawall.catalog.model import Entry, Peer, PortRange, ProductCatalog
from seawall.netaddr import INTERNET_EQUIVALENT_PREFIX, port_text
from seawall.packets.measure import coverage, internet
from seawall.packets.space import network_set
from seawall.stackconfig import Binding, StackConfig
from seawall.topology import Topology

EndpointKind = Literal["role", "internet", "site", "service"]


@dataclass(frozen=True, order=True)
class Endpoint:
    """One end of a flow: a role of the stack, the internet, a bound site peer or a vendor service."""

    kind: EndpointKind
    name: str = ""

    @property
    def label(self) -> str:
        return self.kind if self.kind == "internet" else f"{self.kind}:{self.name}"


INTERNET = Endpoint("internet")


@dataclass(frozen=True, order=True)
class Flow:
    src: Endpoint
    dst: Endpoint
    protocol: str
    first_port: int
    last_port: int
    entries: tuple[str, ...] = ()

    @property
    def ports(self) -> str:
        return port_text(self.first_port, self.last_port)

    @property
    def key(self) -> tuple[Endpoint, Endpoint, str, int, int]:
        return (self.src, self.dst, self.protocol, self.first_port, self.last_port)


NoticeKind = Literal[
    "closed-half",  # the non-opening half of a 受信/送信 row on a stateful firewall
    "localhost",  # product-internal / localhost ports: never opened
    "not-rendered",  # a row that cannot be a cloud rule (active FTP data)
    "unresolved",  # a vendor service with no addresses: denied
    "internet-opt-in",  # a vendor service opened to the whole internet by explicit opt-in
    "internet-binding",  # a site peer bound to the whole internet
    "no-peer-role",  # a {host: X} peer whose role is not in this stack
    "no-lock",  # no IP-set lock configured: documented addresses only
    "internet-measure",  # seawall:internetEquivalent loosened: a larger union is needed to count as the internet
]
WARNINGS: frozenset[str] = frozenset(
    {"unresolved", "internet-opt-in", "internet-binding", "no-lock", "internet-measure"}
)


@dataclass(frozen=True, order=True)
class Notice:
    kind: NoticeKind
    role: str
    entry: str
    text: str

    @property
    def warning(self) -> bool:
        return self.kind in WARNINGS

    @property
    def subject(self) -> str:
        """``gateway seg-ntp``, or ``stack`` for a notice about the whole stack."""
        return " ".join(part for part in (self.role, self.entry) if part) or "stack"


@dataclass(frozen=True)
class Flows:
    """The compiled intent of one stack."""

    stack: str
    topology: str
    product: str
    cloud: str
    roles: tuple[str, ...]
    flows: tuple[Flow, ...]
    notices: tuple[Notice, ...]
    sites: dict[str, tuple[Binding, ...]] = field(default_factory=dict)
    services: dict[str, ServiceAddresses] = field(default_factory=dict)
    purposes: dict[str, str] = field(default_factory=dict)

    def for_role(self, role: str) -> list[Flow]:
        endpoint = Endpoint("role", role)
        return [f for f in self.flows if endpoint in (f.src, f.dst)]


def stack_product(config: StackConfig, topology: Topology) -> str:
    product = config.settings.product
    if product is None:
        if len(topology.products) == 1:
            return topology.products[0]
        raise config.error(
            ["product"], f"missing; topology {topology.topology} needs one of {', '.join(topology.products)}"
        )
    if product not in topology.products:
        raise config.error(
            ["product"], f"{product!r} does not fit topology {topology.topology}; valid: {', '.join(topology.products)}"
        )
    return product


def compile_flows(catalog: Catalog, topology: Topology, config: StackConfig, ipsets: IpSets) -> Flows:
    """Compute every flow a stack opens, and a notice for everything it keeps closed."""
    settings = config.settings
    name = stack_product(config, topology)
    if name not in catalog.products:  # a catalogue directory may hold only some products
        raise config.error(
            ["product"], f"{name!r} is not in the catalogue; valid: {', '.join(sorted(catalog.products))}"
        )
    product = catalog.products[name]
    _check_settings(config, topology, product)
    roles = topology.roles_for(product.product, settings.roles)
    enabled = set(settings.features)
    merged: dict[tuple[Endpoint, Endpoint, str, int, int], set[str]] = {}
    notices: set[Notice] = set()
    used_sites: set[str] = set()
    used_services: dict[str, ServiceAddresses] = {}
    needed_sites: dict[str, str] = {}
    missing: dict[str, Entry] = {}  # site peers an enabled entry needs but the stack does not bind

    for role_name in roles:
        role = topology.roles[role_name]
        me = Endpoint("role", role_name)
        for entry in (e for e in product.entries if role.runs(e)):
            if not enabled.issuperset(entry.features):
                continue
            if entry.scope == "localhost":
                notices.add(
                    Notice("localhost", role_name, entry.id, f"{_what(entry)} is product-internal: never opened")
                )
                continue
            if entry.not_rendered:
                notices.add(Notice("not-rendered", role_name, entry.id, entry.not_rendered))
                continue
            for peer in entry.peer:
                if not enabled.issuperset(peer.features):
                    continue
                if peer.kind == "site" and peer.name is not None and peer.name not in config.bindings:
                    missing.setdefault(peer.name, entry)
                    continue
                for other in _endpoints(config, topology, product, role_name, roles, entry, peer, ipsets, notices):
                    if other.kind == "site":
                        used_sites.add(other.name)
                        needed_sites.setdefault(other.name, entry.id)
                    if other.kind == "service":
                        used_services[other.name] = ipsets.get(product.product, other.name)
                    for half in _halves(entry):
                        if half not in _opening_halves(entry):
                            notices.add(
                                Notice(
                                    "closed-half",
                                    role_name,
                                    entry.id,
                                    f"{half}bound half of {_what(entry)} with {other.label} stays closed: "
                                    f"the {role.host} only opens these connections (stateful firewall)",
                                )
                            )
                            continue
                        src, dst = (other, me) if half == "in" else (me, other)
                        for protocol in entry.protocol:
                            for ports in entry.ports:
                                merged.setdefault((src, dst, protocol, ports.first, ports.last), set()).add(entry.id)

    _refuse_missing_sites(config, missing)
    flows = tuple(
        sorted(
            Flow(src, dst, proto, first, last, tuple(sorted(ids)))
            for (src, dst, proto, first, last), ids in merged.items()
        )
    )
    notices |= _refuse_internet_equivalent(config, product, flows, ipsets)
    notices |= _loosened_measure(config)
    purposes = {e.id: e.purpose.en for e in product.entries}
    return Flows(
        stack=config.stack,
        topology=topology.topology,
        product=product.product,
        cloud=settings.cloud,
        roles=roles,
        flows=flows,
        notices=tuple(sorted(notices)),
        sites={name: config.bindings[name] for name in sorted(used_sites)},
        services=dict(sorted(used_services.items())),
        purposes=purposes,
    )


def _what(entry: Entry) -> str:
    ports = ",".join(str(p) for p in entry.ports)
    return f"{'/'.join(entry.protocol)}/{ports} ({entry.id})"


def _halves(entry: Entry) -> tuple[str, ...]:
    return {"inbound": ("in",), "outbound": ("out",), "both": ("in", "out")}[entry.direction]


def _opening_halves(entry: Entry) -> tuple[str, ...]:
    return {"host": ("out",), "peer": ("in",), "either": ("in", "out")}[entry.opener]


def _endpoints(
    config: StackConfig,
    topology: Topology,
    product: ProductCatalog,
    role: str,
    roles: tuple[str, ...],
    entry: Entry,
    peer: Peer,
    ipsets: IpSets,
    notices: set[Notice],
) -> list[Endpoint]:
    if peer.kind == "internet":
        return [INTERNET]
    assert peer.name is not None
    if peer.kind == "host":
        targets = topology.peer_roles(role, peer.name, roles)
        if not targets:
            notices.add(Notice("no-peer-role", role, entry.id, f"no {peer.name} role in this stack for {_what(entry)}"))
        return [Endpoint("role", t) for t in targets]
    if peer.kind == "site":
        if any(b.kind == "internet" for b in config.bindings[peer.name]):
            notices.add(
                Notice("internet-binding", role, entry.id, f"site peer {peer.name} is bound to the whole internet")
            )
        return [Endpoint("site", peer.name)]
    # a vendor service
    addresses = ipsets.get(product.product, peer.name)
    opted_in = peer.name in config.settings.internet_egress
    if not addresses.empty:
        return [Endpoint("service", peer.name)]
    if opted_in:
        notices.add(
            Notice(
                "internet-opt-in",
                role,
                entry.id,
                f"vendor service {peer.name} has no addresses; opened to the whole internet by seawall:internetEgress",
            )
        )
        return [INTERNET]
    service = product.services[peer.name]
    why = "the document names no host" if service.no_host_documented else "no addresses in the IP sets yet"
    notices.add(
        Notice(
            "unresolved",
            role,
            entry.id,
            f"vendor service {peer.name} denied: {why} (resolve it, or opt in with seawall:internetEgress)",
        )
    )
    return []


def _refuse_missing_sites(config: StackConfig, missing: dict[str, Entry]) -> None:
    """Every site peer the enabled entries need but the stack does not bind, in one error (never a wider rule).

    The first one the catalogue needs is named as the key; the others follow, so one run shows them all.
    """
    if not missing:
        return
    (name, entry), *others = missing.items()
    also = "; also missing: " + ", ".join(f"{n} (entry {e.id}: {e.purpose.en})" for n, e in others) if others else ""
    raise config.error(
        ["peers", name],
        f"missing; entry {entry.id} ({entry.purpose.en}) needs site peer {name!r} bound to addresses "
        f"(or disable the feature that enables it){also}",
    )


def _peer_networks(config: StackConfig, product: ProductCatalog, ipsets: IpSets, peer: Endpoint) -> list[str]:
    if peer.kind == "site":
        return [b.value for b in config.bindings[peer.name] if b.kind == "cidr"]
    if peer.kind == "service":
        addresses = ipsets.get(product.product, peer.name)
        return [*addresses.ipv4, *addresses.ipv6]
    return []


def _refuse_internet_equivalent(
    config: StackConfig, product: ProductCatalog, flows: tuple[Flow, ...], ipsets: IpSets
) -> set[Notice]:
    """A rule's peers whose addresses add up to the internet are the internet, and need the word for it.

    Peers are grouped as a cloud rule sees them (role, direction, protocol, ports): two site peers
    bound to 0.0.0.0/1 and 128.0.0.0/1 on the same port open the internet as surely as one.
    A vendor service listed in ``seawall:internetEgress`` is an explicit opt-in: a warning, not an error.
    """
    # Per role, way and protocol, then per port: a peer on 20-30 and another on 22 both reach port 22.
    groups: dict[tuple[str, str, str], list[tuple[int, int, Endpoint]]] = {}
    for flow in flows:
        for me, way, other in ((flow.dst, "from", flow.src), (flow.src, "to", flow.dst)):
            if me.kind == "role" and other.kind in ("site", "service"):
                groups.setdefault((me.name, way, flow.protocol), []).append((flow.first_port, flow.last_port, other))
    notices: set[Notice] = set()
    thresholds = config.settings.internet_equivalent
    limits = {4: thresholds.prefix(4), 6: thresholds.prefix(6)}
    opted_in = set(config.settings.internet_egress)
    judged: set[tuple[str, str, str, frozenset[Endpoint]]] = set()
    for (role, way, protocol), spans in sorted(groups.items(), key=lambda item: item[0]):
        for first, last, peers in _by_port(spans):
            if (role, way, protocol, peers) in judged:
                continue
            judged.add((role, way, protocol, peers))
            rule = f"{protocol}/{port_text(first, last)} {way}"
            # A vendor service listed in seawall:internetEgress is accepted as the internet (a warning);
            # every other peer of the rule must stay short of it, alone or together.
            accepted = sorted(p for p in peers if p.kind == "service" and p.name in opted_in)
            others = sorted(p for p in peers if p not in accepted)
            for peer in accepted:
                reach = network_set(_peer_networks(config, product, ipsets, peer))
                if internet(reach, limits):
                    text = f"{rule} {peer.label}: its addresses cover {coverage(reach)}, accepted by seawall:internetEgress"
                    notices.add(Notice("internet-opt-in", role, "", text))
            reach = network_set([n for peer in others for n in _peer_networks(config, product, ipsets, peer)])
            if not internet(reach, limits):
                continue
            names = ", ".join(p.label for p in others)
            site = next((p.name for p in others if p.kind == "site"), None)
            services = [p.name for p in others if p.kind == "service"]
            if site:
                key: list[str | int] = ["peers", site]
                fix = "write 'internet' to bind a site peer to everyone on purpose, or bind narrower networks"
            else:
                key = ["internetEgress"]
                fix = (
                    f"the IP-set lock gives vendor service(s) {', '.join(services)} that much; list the service in "
                    "seawall:internetEgress to accept it, or fix the lock"
                )
            raise config.error(
                key,
                f"{rule} {names} on role {role}: the peers' addresses cover {coverage(reach)}, which is the "
                f"internet (a /{limits[4] if internet(reach, limits, 4) else limits[6]}'s worth or more, "
                f"seawall:internetEquivalent); {fix}",
            )
    return notices


def _loosened_measure(config: StackConfig) -> set[Notice]:
    """A stack that needs more than a /4's worth of IPv4 (or a /8's of IPv6) to call a union the internet says so."""
    measure = config.settings.internet_equivalent
    loose = [
        f"a /{measure.prefix(v)}'s worth of IPv{v} (default /{INTERNET_EQUIVALENT_PREFIX[v]})"
        for v in (4, 6)
        if measure.prefix(v) < INTERNET_EQUIVALENT_PREFIX[v]
    ]
    if not loose:
        return set()
    text = (
        f"seawall:internetEquivalent is loosened: only {' and '.join(loose)} counts as the internet, so wider "
        "peers pass the internet checks"
    )
    return {Notice("internet-measure", "", "", text)}


def _by_port(spans: list[tuple[int, int, Endpoint]]) -> list[tuple[int, int, frozenset[Endpoint]]]:
    """(first, last, the peers reaching every port of it): the port ranges on which the set of peers is constant."""
    events: dict[int, list[tuple[int, Endpoint]]] = {}
    for first, last, peer in spans:
        events.setdefault(first, []).append((1, peer))
        events.setdefault(last + 1, []).append((-1, peer))
    active: dict[Endpoint, int] = {}
    out: list[tuple[int, int, frozenset[Endpoint]]] = []
    cuts = sorted(events)
    for at, nxt in zip(cuts, [*cuts[1:], 65536], strict=True):
        for step, peer in events[at]:
            active[peer] = active.get(peer, 0) + step
            if not active[peer]:
                del active[peer]
        if active and at <= 65535:
            peers = frozenset(active)
            if out and out[-1][2] == peers and out[-1][1] == at - 1:
                out[-1] = (out[-1][0], nxt - 1, peers)
            else:
                out.append((at, nxt - 1, peers))
    return out


def _check_settings(config: StackConfig, topology: Topology, product: ProductCatalog) -> None:
    settings = config.settings
    for index, feature in enumerate(settings.features):
        if feature not in product.features:
            valid = ", ".join(sorted(product.features))
            raise config.error(
                ["features", index], f"unknown feature {feature!r} for {product.product}; valid: {valid}"
            )
    for name in settings.peers:
        if name not in product.site_peers:
            valid = ", ".join(sorted(product.site_peers))
            raise config.error(["peers", name], f"unknown site peer {name!r} for {product.product}; valid: {valid}")
    for index, service in enumerate(settings.internet_egress):
        if service not in product.services:
            valid = ", ".join(sorted(product.services))
            raise config.error(["internetEgress", index], f"unknown vendor service {service!r}; valid: {valid}")
    for index, role in enumerate(settings.roles or ()):
        if role not in topology.roles:
            raise config.error(["roles", index], f"unknown role {role!r}; valid: {', '.join(sorted(topology.roles))}")
        allowed = topology.roles[role].products
        if allowed and product.product not in allowed:
            raise config.error(["roles", index], f"role {role!r} needs product {' or '.join(allowed)}")


__all__ = ["INTERNET", "Endpoint", "Flow", "Flows", "Notice", "PortRange", "compile_flows"]
