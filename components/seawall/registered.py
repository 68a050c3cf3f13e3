"""Registered resources, read back as rules: the one cloud-neutral view that policy, diff and conformance share.

A :class:`Resource` is what the Pulumi engine (or seawall's offline plan) sees:
type token, logical name, URN and camelCase inputs. References between
resources are ``${name.id}`` in a plan; in a real preview they may be unknown.
Each cloud's reader (``seawall.aws.resources``, ``seawall.azure.resources``)
turns its resources into :class:`RuleView` s; ``seawall.analysis.ruleviews`` reads both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

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


class ResourceIndex:
    """Resources by (type, logical name), to follow ``${name.id}`` references."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources = tuple(resources)
        self._by_key = {(r.type, r.name): r for r in self.resources}

    def ref(self, type_: str, reference: Any) -> Resource | None:
        """The resource a ``${name.id}`` reference points at (None when unknown or external)."""
        match = REFERENCE.match(reference) if isinstance(reference, str) else None
        return self._by_key.get((type_, match.group(1))) if match else None

    def tag(self, type_: str, reference: Any, key: str) -> str | None:
        target = self.ref(type_, reference)
        return None if target is None else (target.inputs.get("tags") or {}).get(key)


def description_ids(text: str) -> tuple[str, ...] | None:
    match = IDS_IN_DESCRIPTION.search(text)
    return tuple(match.group(1).split()) if match else None
