"""``seawall diff``: two ``seawall plan --format json`` outputs, compared the way a reviewer thinks.

Flows opened and closed (role, direction, protocol, ports, peer, catalogue ids),
IP-set changes per vendor service, resources the change would replace, and, at
the top, every **broadening**: anything that lets more sources or destinations
through (a new flow, a wider CIDR, a new vendor address).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from seawall.ipsets import network_key
from seawall.policy import EGRESS, IDS_IN_DESCRIPTION, INGRESS, NSG, PREFIX_LIST, REFERENCE, SG

ASG = "azure-native:network:ApplicationSecurityGroup"
# Inputs whose change makes the provider replace the resource rather than update it.
REPLACE_ON: dict[str, dict[str, str]] = {
    SG: {"description": "AWS security group descriptions are immutable", "name": "the group name", "vpcId": "the VPC"},
    PREFIX_LIST: {"addressFamily": "the address family"},
    INGRESS: {"securityGroupId": "the security group"},
    EGRESS: {"securityGroupId": "the security group"},
    NSG: {
        "networkSecurityGroupName": "the NSG name",
        "location": "the location",
        "resourceGroupName": "the resource group",
    },
    ASG: {
        "applicationSecurityGroupName": "the ASG name",
        "location": "the location",
        "resourceGroupName": "the resource group",
    },
}
SERVICE_RULE = re.compile(r"-svc-(.+)-ipv[46]$")


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
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.stack = str(data.get("stack", ""))
        self.resources: dict[tuple[str, str], Mapping[str, Any]] = {
            (r["type"], r["name"]): r.get("inputs") or {} for r in data.get("resources", [])
        }

    def ref(self, type_: str, value: Any) -> Mapping[str, Any] | None:
        match = REFERENCE.match(value) if isinstance(value, str) else None
        return self.resources.get((type_, match.group(1))) if match else None

    def tag(self, type_: str, value: Any, key: str) -> str | None:
        target = self.ref(type_, value)
        return None if target is None else (target.get("tags") or {}).get(key)

    def flows(self) -> dict[FlowKey, tuple[str, ...]]:
        out: dict[FlowKey, set[str]] = {}
        for key, ids in self._flows():
            out.setdefault(key, set()).update(ids)
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def _flows(self) -> Iterator[tuple[FlowKey, tuple[str, ...]]]:
        for (type_, _name), i in sorted(self.resources.items()):
            if type_ in (INGRESS, EGRESS):
                tags = i.get("tags") or {}
                role = tags.get("seawall:role") or self.tag(SG, i.get("securityGroupId"), "seawall:role") or "?"
                ports = _ports(i.get("fromPort"), i.get("toPort"), i.get("ipProtocol"))
                yield (
                    FlowKey(
                        role, "in" if type_ == INGRESS else "out", str(i.get("ipProtocol")), ports, self._aws_peer(i)
                    ),
                    tuple((tags.get("seawall:entries") or "").split()),
                )
            elif type_ == NSG:
                role = (i.get("tags") or {}).get("seawall:role", "?")
                for rule in i.get("securityRules") or []:
                    if rule.get("access") != "Allow":
                        continue
                    inbound = rule.get("direction") == "Inbound"
                    ids = _description_ids(rule.get("description") or "")
                    for peer in self._azure_peers(rule, "source" if inbound else "destination"):
                        key = FlowKey(
                            role,
                            "in" if inbound else "out",
                            str(rule.get("protocol", "*")).lower(),
                            str(rule.get("destinationPortRange", "*")),
                            peer,
                        )
                        yield key, ids

    def _aws_peer(self, i: Mapping[str, Any]) -> str:
        for key in ("cidrIpv4", "cidrIpv6"):
            if i.get(key):
                return str(i[key])
        if i.get("prefixListId"):
            service = self.tag(PREFIX_LIST, i["prefixListId"], "seawall:service")
            return f"service:{service.split('/')[-1]}" if service else str(i["prefixListId"])
        role = self.tag(SG, i.get("referencedSecurityGroupId"), "seawall:role")
        return f"role:{role}" if role else str(i.get("referencedSecurityGroupId"))

    def _azure_peers(self, rule: Mapping[str, Any], side: str) -> list[str]:
        match = SERVICE_RULE.search(str(rule.get("name", "")))
        if match:
            return [f"service:{match.group(1)}"]
        prefixes = (
            [rule[f"{side}AddressPrefix"]]
            if rule.get(f"{side}AddressPrefix")
            else list(rule.get(f"{side}AddressPrefixes") or [])
        )
        roles = [
            f"role:{self.tag(ASG, a.get('id'), 'seawall:role') or a.get('id')}"
            for a in rule.get(f"{side}ApplicationSecurityGroups") or []
        ]
        return [str(p) for p in prefixes] + roles

    def service_sets(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for (type_, _), i in self.resources.items():
            if type_ == PREFIX_LIST:
                service = (i.get("tags") or {}).get("seawall:service", "?").split("/")[-1]
                out.setdefault(service, set()).update(e["cidr"] for e in i.get("entries") or [])
            elif type_ == NSG:
                for rule in i.get("securityRules") or []:
                    match = SERVICE_RULE.search(str(rule.get("name", "")))
                    if match:
                        side = "source" if rule.get("direction") == "Inbound" else "destination"
                        values = (
                            [rule[f"{side}AddressPrefix"]]
                            if rule.get(f"{side}AddressPrefix")
                            else rule.get(f"{side}AddressPrefixes") or []
                        )
                        out.setdefault(match.group(1), set()).update(values)
        return out


def _ports(first: Any, last: Any, protocol: Any) -> str:
    if protocol in ("-1", "all") or first is None:
        return "all"
    return str(first) if first == last else f"{first}-{last}"


def _description_ids(text: str) -> tuple[str, ...]:
    match = IDS_IN_DESCRIPTION.search(text)
    return tuple(match.group(1).split()) if match else ()


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


# --- views --------------------------------------------------------------------------------


def diff_json(d: PlanDiff) -> dict[str, Any]:
    def flows(items: Mapping[FlowKey, tuple[str, ...]]) -> list[dict[str, Any]]:
        return [
            {
                "role": k.role,
                "direction": k.direction,
                "protocol": k.protocol,
                "ports": k.ports,
                "peer": k.peer,
                "entries": list(v),
            }
            for k, v in sorted(items.items())
        ]

    return {
        "stack": d.stack,
        "changed": d.changed,
        "broadening": d.broadening,
        "opened": flows(d.opened),
        "closed": flows(d.closed),
        "ipsets": [{"service": s, "added": list(a), "removed": list(r)} for s, (a, r) in d.ipsets.items()],
        "replaced": [{"type": t, "name": n, "why": w} for t, n, w in d.replaced],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def diff_markdown(d: PlanDiff) -> str:
    lines = [f"### seawall diff: `{d.stack}`", ""]
    if not d.changed:
        return "\n".join([*lines, "No firewall change.", ""])
    if d.broadening:
        lines += ["> [!CAUTION]", "> **Broadening**: this change lets more traffic through."]
        lines += [f"> - {_cell(b)}" for b in d.broadening]
        lines.append("")
    if d.opened or d.closed:
        lines += ["| change | dir | role | proto | ports | peer | catalogue ids |", "|---|---|---|---|---|---|---|"]
        for label, items in (("opened", d.opened), ("closed", d.closed)):
            for k, ids in sorted(items.items()):
                cited = ", ".join(f"`{i}`" for i in ids) or "none"
                lines.append(
                    f"| **{label}** | {k.direction} | {k.role} | {k.protocol} | {k.ports} | {_cell(k.peer)} | {cited} |"
                )
        lines.append("")
    if d.ipsets:
        lines += ["**Vendor IP sets**", "", "| service | added | removed |", "|---|---|---|"]
        for service, (added, removed) in d.ipsets.items():
            lines.append(f"| {service} | {'<br>'.join(added) or '—'} | {'<br>'.join(removed) or '—'} |")
        lines.append("")
    if d.replaced:
        lines += ["**Replaced on deploy** (deleted and recreated):", ""]
        lines += [f"- `{t}` `{n}`: {why}" for t, n, why in d.replaced]
        lines.append("")
    return "\n".join(lines)


def diff_text(d: PlanDiff) -> list[str]:
    if not d.changed:
        return [f"{d.stack}: no firewall change"]
    lines = [f"{d.stack}:"]
    lines += [f"  BROADENING: {b}" for b in d.broadening]
    lines += [f"  + {k.sentence()} [{', '.join(v)}]" for k, v in sorted(d.opened.items())]
    lines += [f"  - {k.sentence()} [{', '.join(v)}]" for k, v in sorted(d.closed.items())]
    for service, (added, removed) in d.ipsets.items():
        lines += [f"  ip-set {service}: +{a}" for a in added] + [f"  ip-set {service}: -{r}" for r in removed]
    lines += [f"  replaced: {t} {n}: {w}" for t, n, w in d.replaced]
    return lines
