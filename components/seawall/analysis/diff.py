"""``seawall diff``: two ``seawall plan --format json`` outputs, compared the way a reviewer thinks.

Flows opened and closed (role, direction, protocol, ports, peer, catalogue ids),
IP-set changes per vendor service, resources the change would replace, and, at
the top, every **broadening**: anything that lets more sources or destinations
through (a new flow, a wider CIDR, a new vendor address).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seawall.analysis.ruleviews import rule_views, service_sets
from seawall.aws.limits import EGRESS_RULE, INGRESS_RULE, PREFIX_LIST, SECURITY_GROUP
from seawall.azure.limits import APPLICATION_SECURITY_GROUP, NETWORK_SECURITY_GROUP
from seawall.errors import UserError
from seawall.netaddr import network_key
from seawall.registered import Resource, ResourceIndex

# Inputs whose change makes the provider replace the resource rather than update it.
REPLACE_ON: dict[str, dict[str, str]] = {
    SECURITY_GROUP: {
        "description": "AWS security group descriptions are immutable",
        "name": "the group name",
        "vpcId": "the VPC",
    },
    PREFIX_LIST: {"addressFamily": "the address family"},
    INGRESS_RULE: {"securityGroupId": "the security group"},
    EGRESS_RULE: {"securityGroupId": "the security group"},
    NETWORK_SECURITY_GROUP: {
        "networkSecurityGroupName": "the NSG name",
        "location": "the location",
        "resourceGroupName": "the resource group",
    },
    APPLICATION_SECURITY_GROUP: {
        "applicationSecurityGroupName": "the ASG name",
        "location": "the location",
        "resourceGroupName": "the resource group",
    },
}


@dataclass(frozen=True, order=True)
class FlowKey:
    role: str
    direction: str  # in | out
    protocol: str
    ports: str
    peer: str

    def sentence(self) -> str:
        if self.direction == "in":
            return f"{self.protocol}/{self.ports} on {self.role} from {self.peer}"
        return f"{self.protocol}/{self.ports} from {self.role} to {self.peer}"


@dataclass(frozen=True)
class PlanDiff:
    stack: str
    opened: dict[FlowKey, tuple[str, ...]]
    closed: dict[FlowKey, tuple[str, ...]]
    ipsets: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # service -> (added, removed)
    replaced: list[tuple[str, str, str]]  # (type, name, why)
    broadening: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.closed or self.ipsets or self.replaced)


class _Plan:
    """A plan JSON's resources, read back as flows and vendor address sets."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.stack = str(data.get("stack", ""))
        self.index = ResourceIndex(Resource.from_json(r) for r in data.get("resources", []))
        self.resources: dict[tuple[str, str], Mapping[str, Any]] = {
            (r.type, r.name): r.inputs for r in self.index.resources
        }

    def flows(self) -> dict[FlowKey, tuple[str, ...]]:
        out: dict[FlowKey, set[str]] = {}
        for view in rule_views(self.index):
            for peer in view.peers:
                key = FlowKey(view.role, view.direction, view.protocol, view.ports, peer)
                out.setdefault(key, set()).update(view.ids or ())
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def service_sets(self) -> dict[str, set[str]]:
        return service_sets(self.index)


def _net_key(text: str) -> tuple[int, int, int]:
    try:
        return network_key(text)
    except ValueError:  # a service tag sorts after addresses
        return (9, 0, 0)


def diff_plans(base: Mapping[str, Any], head: Mapping[str, Any]) -> PlanDiff:
    a, b = _Plan(base), _Plan(head)
    fa, fb = a.flows(), b.flows()
    opened = {k: v for k, v in fb.items() if k not in fa}
    closed = {k: v for k, v in fa.items() if k not in fb}
    sa, sb = a.service_sets(), b.service_sets()
    ipsets = {}
    for service in sorted(sa.keys() | sb.keys()):
        added = tuple(sorted(sb.get(service, set()) - sa.get(service, set()), key=_net_key))
        removed = tuple(sorted(sa.get(service, set()) - sb.get(service, set()), key=_net_key))
        if added or removed:
            ipsets[service] = (added, removed)
    replaced = []
    for key in sorted(a.resources.keys() & b.resources.keys()):
        for field_name, why in REPLACE_ON.get(key[0], {}).items():
            if a.resources[key].get(field_name) != b.resources[key].get(field_name):
                replaced.append((key[0], key[1], f"{field_name} changes ({why})"))
    return PlanDiff(b.stack or a.stack, opened, closed, ipsets, replaced, _broadening(opened, closed, ipsets, fa))


def _broadening(
    opened: Mapping[FlowKey, tuple[str, ...]],
    closed: Mapping[FlowKey, tuple[str, ...]],
    ipsets: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]],
    before: Mapping[FlowKey, tuple[str, ...]],
) -> list[str]:
    out = []
    for key, ids in sorted(opened.items()):
        cite = f" [{', '.join(ids)}]" if ids else " [no catalogue id]"
        narrower = [
            c
            for c in closed
            if (c.role, c.direction, c.protocol, c.ports) == (key.role, key.direction, key.protocol, key.ports)
            and _within(c.peer, key.peer)
        ]
        everyone = key.peer in ("0.0.0.0/0", "::/0", "Internet", "*")
        if everyone:
            verb = "opens" if key.direction == "in" else "opens egress"
            was = f", widening {narrower[0].peer}" if narrower else ""
            out.append(f"{verb} {key.sentence()} (the whole internet){was}{cite}")
        elif narrower:
            out.append(f"widens {key.protocol}/{key.ports} on {key.role} from {narrower[0].peer} to {key.peer}{cite}")
        else:
            out.append(f"opens {key.sentence()}{cite}")
    for service, (added, _) in ipsets.items():
        if added:
            out.append(f"adds {', '.join(added)} to vendor service {service}")
    return out


def _within(inner: str, outer: str) -> bool:
    try:
        a, b = ipaddress.ip_network(inner, strict=False), ipaddress.ip_network(outer, strict=False)
    except ValueError:
        return outer in ("Internet", "*") and inner not in ("Internet", "*")
    return a.version == b.version and a != b and a.subnet_of(b)  # type: ignore[arg-type]


def read_plan(path: Path) -> dict[str, Any]:
    """A ``seawall plan --format json`` file; anything else is a one-line error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(str(path), f"not a seawall plan JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise UserError(str(path), "not a seawall plan JSON; valid: the output of seawall plan --format json")
    return data
