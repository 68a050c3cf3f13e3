"""The typed model of a vendor catalogue (one YAML file per product).

The model is the boundary: everything past it can trust that ports are in
range, protocols and directions are known, addresses parse, ids are unique and
every reference (host, feature, service, site peer) exists. Provenance
(document, section, the row as written) is mandatory on every entry.

Vocabulary (see DESIGN.md): an entry protects a *host* of the product, is seen
from that host (*direction*), talks to one or more *peers*, may depend on
*features*, and carries its *source* row.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from seawall.netaddr import port_text
from seawall.records import Meta, record

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

Protocol = Literal["tcp", "udp"]
Direction = Literal["inbound", "outbound", "both"]
Scope = Literal["external", "internal", "localhost"]
Initiator = Literal["host", "peer", "either"]
Language = Literal["en", "ja"]
Slug = Annotated[str, Meta(pattern=SLUG, max_length=63)]


# The YAML spellings the before-validators accept, for the published JSON Schema.
_PORT_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 65535}
PORTS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {"anyOf": [_PORT_SCHEMA, {"type": "array", "items": _PORT_SCHEMA, "minItems": 2, "maxItems": 2}]},
}
PROTOCOL_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"enum": ["tcp", "udp"]},
        {"type": "array", "items": {"enum": ["tcp", "udp"]}, "minItems": 1, "maxItems": 2, "uniqueItems": True},
    ]
}
_NAMES: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_PEER_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"enum": ["internet", "localhost"]},
        {
            "type": "object",
            "properties": {
                "service": {"type": "string"},
                "site": {"type": "string"},
                "host": {"type": "string"},
                "kind": {"enum": ["internet", "localhost"]},
                "features": _NAMES,
            },
            "additionalProperties": False,
            "minProperties": 1,
        },
    ]
}
PEERS_SCHEMA: dict[str, Any] = {"anyOf": [_PEER_SCHEMA, {"type": "array", "items": _PEER_SCHEMA, "minItems": 1}]}


# Catalogue records: unknown keys are errors, text is read without surrounding whitespace.
_strict = record(strip=True)


@_strict
@dataclass(frozen=True, kw_only=True)
class Text:
    """A human text in English, with the original Japanese where the source is Japanese."""

    en: Annotated[str, Meta(min_length=1)]
    ja: str | None = None

    def get(self, lang: Language) -> str:
        return (self.ja or self.en) if lang == "ja" else self.en


@_strict
@dataclass(frozen=True, kw_only=True)
class Document:
    """The vendor document a catalogue transcribes."""

    title: Annotated[str, Meta(min_length=1, description="Title as printed on the document.")]
    product_name: Annotated[str, Meta(min_length=1, description="The product the document describes.")]
    version: Annotated[str | None, Meta(description="Product version the document covers.")] = None
    issue: Annotated[str | None, Meta(description="Document issue/revision, if printed.")] = None
    date: Annotated[str | None, Meta(description="Publication date as printed (YYYY-MM).")] = None
    language: Language
    seed: Annotated[str, Meta(min_length=1, description="File name of the transcribed source.")]
    notes: str | None = None


def _check_port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"port {value} is out of range; valid: 1–65535")
    return value


def _port_value(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"port {raw!r} is not a number; valid: an integer 1–65535 or a [from, to] pair")
    return _check_port(raw)


@_strict
@dataclass(frozen=True, kw_only=True)
class PortRange:
    """An inclusive destination-port range; a single port has ``first == last``."""

    first: int
    last: int

    def __post_init__(self) -> None:
        self._after()

    def _after(self) -> None:
        _check_port(self.first)
        _check_port(self.last)
        if self.first > self.last:
            raise ValueError(f"port range [{self.first}, {self.last}] is reversed; valid: [from, to] with from ≤ to")

    def to_json(self) -> int | list[int]:
        return self.first if self.first == self.last else [self.first, self.last]

    def __str__(self) -> str:
        return port_text(self.first, self.last)


def parse_ports(raw: Any) -> tuple[PortRange, ...]:
    """``[25, [10024, 10026]]`` → port ranges. Raises ValueError with a user message."""
    if not isinstance(raw, list) or not raw:
        raise ValueError("ports must be a non-empty list of integers 1–65535 or [from, to] pairs")
    ranges: list[PortRange] = []
    for item in raw:
        if isinstance(item, list):
            if len(item) != 2:
                raise ValueError(f"port range {item!r} must have exactly two ports [from, to]")
            first, last = _port_value(item[0]), _port_value(item[1])
            if first > last:
                raise ValueError(f"port range [{first}, {last}] is reversed; valid: [from, to] with from ≤ to")
            ranges.append(PortRange(first=first, last=last))
        else:
            port = _port_value(item)
            ranges.append(PortRange(first=port, last=port))
    return tuple(ranges)


PeerKind = Literal["internet", "localhost", "service", "site", "host"]


@_strict
@dataclass(frozen=True, kw_only=True)
class Peer:
    """Who is on the other end of an entry.

    Written in YAML as ``internet``, ``localhost``, or a one-key mapping
    ``{service: NAME}`` (a vendor service of this catalogue), ``{site: NAME}``
    (a site peer the deployer binds) or ``{host: NAME}`` (another host of this
    product; the topology says which roles). A mapping may add
    ``features: [...]`` when only that peer depends on a condition.
    """

    kind: PeerKind
    name: str | None = None
    features: tuple[str, ...] = ()

    @staticmethod
    def _before(raw: Any) -> Any:
        if isinstance(raw, str):
            if raw in ("internet", "localhost"):
                return {"kind": raw}
            raise ValueError(
                f"unknown peer {raw!r}; valid: internet, localhost, {{service: NAME}}, {{site: NAME}}, {{host: NAME}}"
            )
        if isinstance(raw, dict) and "kind" not in raw:
            kinds = [k for k in ("service", "site", "host") if k in raw]
            extra = sorted(set(raw) - {"service", "site", "host", "features"})
            if len(kinds) != 1 or extra:
                raise ValueError(
                    f"peer mapping {raw!r} must have exactly one of service, site, host (and optionally features)"
                )
            return {"kind": kinds[0], "name": raw[kinds[0]], "features": raw.get("features", ())}
        return raw

    def label(self) -> str:
        """``internet``, ``localhost``, ``service:NAME``, ``site:NAME`` or ``host:NAME``."""
        return self.kind if self.name is None else f"{self.kind}:{self.name}"


@_strict
@dataclass(frozen=True, kw_only=True)
class Source:
    """Where in the document an entry comes from."""

    product: Annotated[
        str | None,
        Meta(description="The catalogue whose document holds the row, when it is not this one (carried-over rows)."),
    ] = None
    section: Annotated[str, Meta(min_length=1, description="Table or section heading as printed.")]
    row: Annotated[str, Meta(min_length=1, description="The row as written (whitespace normalised).")]


def _protocols(raw: Any) -> Any:
    items = raw if isinstance(raw, list) else [raw]
    if not items or len(set(map(str, items))) != len(items):
        raise ValueError("protocol must be tcp, udp or [tcp, udp] without repeats")
    return tuple(items)


def _peers(raw: Any) -> Any:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ValueError("peer must name at least one peer")
    return tuple(items)


@_strict
@dataclass(frozen=True, kw_only=True)
class Entry:
    """One row (or one purpose of a row) of a vendor port table."""

    id: Slug
    host: str
    direction: Direction
    initiator: Annotated[
        Initiator | None,
        Meta(
            description=(
                "Who opens the connection. Defaults to the peer for inbound and the host for "
                "outbound rows; required for rows written in/out (受信/送信)."
            )
        ),
    ] = None
    protocol: Annotated[tuple[Protocol, ...], Meta(before=_protocols, json_schema=PROTOCOL_SCHEMA)]
    ports: Annotated[tuple[PortRange, ...], Meta(before=parse_ports, json_schema=PORTS_SCHEMA)]
    peer: Annotated[tuple[Peer, ...], Meta(before=_peers, json_schema=PEERS_SCHEMA)]
    scope: Scope
    features: tuple[str, ...] = ()
    purpose: Text
    notes: str | None = None
    not_rendered: Annotated[
        str | None, Meta(description="Why this row can never become a cloud rule (kept for the record).")
    ] = None
    source: Source

    def _after(self) -> None:
        if self.direction == "both" and self.initiator is None:
            raise ValueError(
                "a row written in/out (direction: both) needs initiator: host, peer or either "
                "(who opens the connection decides which half a stateful firewall opens)"
            )
        if (self.direction, self.initiator) in (("inbound", "host"), ("outbound", "peer")):
            raise ValueError(f"an {self.direction} row cannot have initiator {self.initiator}; leave it out")
        local = [p for p in self.peer if p.kind == "localhost"]
        if local and len(local) != len(self.peer):
            raise ValueError("a localhost entry cannot also name other peers")
        if (self.scope == "localhost") != bool(local):
            raise ValueError("scope localhost goes with peer localhost, and only with it")

    @property
    def opener(self) -> Initiator:
        """Who opens the connection, with the direction's default filled in."""
        if self.initiator is not None:
            return self.initiator
        return "peer" if self.direction == "inbound" else "host"


def _address(raw: Any) -> str:
    try:
        return str(ipaddress.ip_address(str(raw)))
    except ValueError:
        raise ValueError(f"{raw!r} is not an IP address; valid: an IPv4 or IPv6 address such as 192.0.2.1") from None


def _hostnames(raw: Any) -> Any:
    if not isinstance(raw, list):
        raise ValueError("hostnames must be a list")
    for name in raw:
        if not isinstance(name, str) or not HOSTNAME.match(name):
            raise ValueError(f"{name!r} is not a lower-case DNS hostname such as repo.clearswift.net")
    if len(set(raw)) != len(raw):
        raise ValueError("hostnames repeat")
    return tuple(raw)


def _addresses(raw: Any) -> Any:
    if not isinstance(raw, list):
        raise ValueError("addresses must be a list")
    return tuple(_address(a) for a in raw)


@_strict
@dataclass(frozen=True, kw_only=True)
class Service:
    """A vendor service: the hostnames and addresses a document gives for it."""

    purpose: Text
    hostnames: Annotated[tuple[str, ...], Meta(before=_hostnames)] = ()
    addresses: Annotated[tuple[str, ...], Meta(before=_addresses, description="IP addresses the document gives.")] = ()
    retired_addresses: Annotated[
        tuple[str, ...], Meta(before=_addresses, description="Addresses the document says are retired.")
    ] = ()
    address_feed: Annotated[
        Literal["aws-ip-ranges"] | None,
        Meta(description="The document points at a published address feed instead of IPs."),
    ] = None
    no_host_documented: Annotated[
        bool, Meta(description="True when the document names no host or address for this service.")
    ] = False
    notes: str | None = None

    def _after(self) -> None:
        has_any = bool(self.hostnames or self.addresses or self.address_feed)
        if self.no_host_documented == has_any:
            raise ValueError(
                "a service names hostnames, addresses or an address_feed, or says no_host_documented: true — not both"
            )


@_strict
@dataclass(frozen=True, kw_only=True)
class Hop:
    """One step of a documented message path."""

    name: Text
    port: Annotated[int | None, Meta(ge=1, le=65535)] = None


@_strict
@dataclass(frozen=True, kw_only=True)
class MessagePath:
    """How a message crosses the product (documentation; only the first hop crosses a firewall)."""

    id: Slug
    when: Text
    features: tuple[str, ...] = ()
    hops: Annotated[tuple[Hop, ...], Meta(min_length=2)]
    source: Source


@_strict
@dataclass(frozen=True, kw_only=True)
class ProductCatalog:
    """One product's catalogue file."""

    product: Slug
    document: Document
    hosts: Annotated[dict[str, Text], Meta(min_length=1)]
    features: dict[str, Text] = field(default_factory=dict)
    site_peers: dict[str, Text] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    message_paths: tuple[MessagePath, ...] = ()
    entries: Annotated[tuple[Entry, ...], Meta(min_length=1)]
