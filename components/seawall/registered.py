"""Registered resources, read back as rules: the one cloud-neutral view that policy, diff and conformance share.

A :class:`Resource` is what the Pulumi engine (or seawall's offline plan) sees:
type token, logical name, URN and camelCase inputs. References between
resources are ``${name.id}`` in a plan; in a real preview they may be unknown.
Each cloud's reader (``seawall.aws.resources``, ``seawall.azure.resources``)
turns its resources into :class:`RuleView` s; ``seawall.analysis.ruleviews`` reads both.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from seawall.netaddr import internet_equivalent, sort_networks

# How the CrossGuard adapter writes a value that is unknown until apply (a computed id, say).
UNKNOWN = "(unknown until apply)"
# ``${dmz-gateway-sg.id}``: how a plan writes a reference to another resource.
REFERENCE = re.compile(r"^\$\{(.+)\.id\}$")
# ``... [seg-smtp-receive seg-smtp-relay]`` or ``... [a b +3 more]`` at the end of a description.
IDS_IN_DESCRIPTION = re.compile(r"\[([a-z0-9][a-z0-9 -]*?)(?: \+\d+ more)?\]$")


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Resource:
        return cls(str(data["type"]), str(data["name"]), str(data.get("urn", "")), data.get("inputs") or {})


class RuleFlow(NamedTuple):
    """What a rule opens, without the far side's addresses: what a diff of 100,000s of rules reads.

    :class:`RuleView` is this plus the far side sorted into networks (``RuleView.of``).
    """

    resource: Resource
    label: str
    role: str
    direction: Literal["in", "out"]
    protocol: str
    first: int
    last: int
    ports: str
    peers: tuple[str, ...]
    ids: tuple[str, ...] | None
    product: str | None


@dataclass(frozen=True)
class RuleView:
    """One allow rule, cloud-neutral: role, direction, protocol, ports, the far side, the ids it cites."""

    resource: Resource
    label: str  # the rule's name (Azure: nsg/rule)
    role: str  # the seawall:role of the rule's group, or "?"
    direction: Literal["in", "out"]
    protocol: str  # tcp | udp | * | -1 | all
    first: int
    last: int
    ports: str  # as the cloud states them: "25", "10024-10026", "all" (AWS -1), "*" (Azure)
    peer_internet: bool  # the far side is every address
    peers: tuple[str, ...]  # the far side by meaning: a CIDR, role:NAME, service:NAME, a tag, or a raw id
    ids: tuple[str, ...] | None  # the catalogue ids the rule cites; None when it names none
    product: str | None
    # What the cloud will see on the far side, per family, canonical and sorted: a CIDR rule its CIDR, a
    # seawall prefix list its entries, an Azure rule its prefixes, the Internet tag (or *) every address.
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    # Far-side peers whose addresses the resources do not list: a security group or ASG, a service tag
    # other than the internet, an external sg-/pl- id, a value unknown during a preview.
    unlisted: tuple[str, ...] = ()

    @classmethod
    def of(cls, flow: RuleFlow, seen: FarSide) -> RuleView:
        """A rule's flow with what the cloud sees on its far side."""
        return cls(
            **flow._asdict(), peer_internet=seen.internet, ipv4=seen.ipv4, ipv6=seen.ipv6, unlisted=seen.unlisted
        )


@dataclass(frozen=True)
class VendorAddresses:
    """A vendor service's addresses as registered: an AWS prefix list, or an Azure vendor-service rule's prefixes."""

    resource: Resource
    label: str  # the prefix list's logical name, or nsg/rule
    product: str | None  # from the seawall:service (AWS) or seawall:product (Azure) tag
    service: str
    addresses: tuple[str, ...] | None  # as written; None when the resources do not say (unknown in a preview)


@dataclass(frozen=True)
class FarSide:
    """A rule's far side sorted into networks per family and peers that are not address lists."""

    ipv4: tuple[str, ...]
    ipv6: tuple[str, ...]
    unlisted: tuple[str, ...]

    @property
    def internet(self) -> bool:
        """The networks are internet-equivalent in either family (netaddr's share, not only /0)."""
        return _internet(self.ipv4, self.ipv6)


@functools.lru_cache(maxsize=1 << 14)
def _internet(ipv4: tuple[str, ...], ipv6: tuple[str, ...]) -> bool:
    return internet_equivalent(ipv4, 4) or internet_equivalent(ipv6, 6)


@functools.lru_cache(maxsize=1 << 16)
def _parse(text: str) -> tuple[int, str] | None:
    """(version, canonical network) of a CIDR or address, host bits dropped; None when it is not one."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return net.version, str(net)


def far_side(networks: Iterable[str], unlisted: Iterable[str] = ()) -> FarSide:
    """Addresses or CIDRs → canonical networks per family; anything that does not parse is unlisted.

    Host bits are dropped (``strict=False``), the wider reading: a non-canonical CIDR is judged by the
    network the cloud would be asked to open, and the aws-limits rule reports the spelling.
    """
    if isinstance(networks, list | tuple) and len(networks) == 1 and not unlisted:
        return _one_far_side(str(networks[0]))  # most rules: one CIDR, the same in many rules
    return _far_side(networks, unlisted)


@functools.lru_cache(maxsize=1 << 16)
def _one_far_side(text: str) -> FarSide:
    return _far_side((text,), ())


def _far_side(networks: Iterable[str], unlisted: Iterable[str]) -> FarSide:
    v4: set[str] = set()
    v6: set[str] = set()
    other = list(unlisted)
    for text in networks:
        parsed = _parse(str(text))
        if parsed is None:
            other.append(str(text))
            continue
        (v4 if parsed[0] == 4 else v6).add(parsed[1])
    return FarSide(_sorted(v4), _sorted(v6), tuple(sorted(set(other))))


def _sorted(networks: set[str]) -> tuple[str, ...]:
    return tuple(networks) if len(networks) < 2 else sort_networks(networks)


class ResourceIndex:
    """Resources by (type, logical name), to follow ``${name.id}`` references."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources = tuple(resources)
        self._by_key = {(r.type, r.name): r for r in self.resources}
        self.memo: dict[str, Any] = {}  # what readers work out once per index (packets: which group is a role's)

    def ref(self, type_: str, reference: Any) -> Resource | None:
        """The resource a ``${name.id}`` reference points at (None when unknown or external)."""
        name = _referenced(reference) if isinstance(reference, str) else None
        return self._by_key.get((type_, name)) if name is not None else None

    def tag(self, type_: str, reference: Any, key: str) -> str | None:
        target = self.ref(type_, reference)
        tags = None if target is None else target.inputs.get("tags")
        return tags.get(key) if isinstance(tags, Mapping) else None


@functools.lru_cache(maxsize=1 << 12)
def _referenced(reference: str) -> str | None:
    """``dmz-gateway-sg`` from ``${dmz-gateway-sg.id}`` (every rule of a group names it: read once)."""
    match = REFERENCE.match(reference)
    return match.group(1) if match else None


def description_ids(text: str) -> tuple[str, ...] | None:
    match = IDS_IN_DESCRIPTION.search(text)
    return tuple(match.group(1).split()) if match else None
