"""``seawall diff``: two ``seawall plan --format json`` outputs, compared the way a reviewer thinks.

Flows opened and closed (role, direction, protocol, ports, peer, catalogue ids),
IP-set changes per vendor service, resources the change would replace, and, at
the top, every **broadening**: anything that lets more sources or destinations
through (a new flow, a wider CIDR, a new vendor address). A broadening whose
addresses add up to internet-equivalent (netaddr's share) is called the whole
internet, however it is spelled.

A plan file is input, not truth: :func:`read_plan` checks it against the shape
``seawall plan`` writes, including every value the diff reads, so a malformed
file is one line naming the file and the first thing wrong, never a traceback.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from seawall.analysis.ruleviews import rule_flows, service_sets
from seawall.aws.limits import EGRESS_RULE, ICMP_PROTOCOLS, INGRESS_RULE, LEGACY_RULE, PREFIX_LIST, SECURITY_GROUP
from seawall.azure.limits import (
    ANY_ADDRESS,
    APPLICATION_SECURITY_GROUP,
    NETWORK_SECURITY_GROUP,
    STANDALONE_SECURITY_RULE,
)
from seawall.errors import UserError
from seawall.netaddr import (
    INTERNET_EQUIVALENT_PREFIX,
    Network,
    coverage_text,
    internet_equivalent,
    network_key,
    zone_id_problem,
)
from seawall.packets.admitted import Admitted, Change, Comparison, compare, protocol_ranges
from seawall.packets.admitted import box as packet_box
from seawall.packets.describe import TrafficLine, lines
from seawall.packets.measure import coverage, exposures, internet, words
from seawall.packets.resources import admitted_from
from seawall.packets.space import (
    EVERY_PEER,
    Box,
    Node,
    Slice,
    boxes_meet,
    difference,
    gather,
    intersection,
    network_set,
    slices,
    union_all,
    union_sets,
)
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

# How a flow's peer literally says "every address" (the wording reviewers already know).
EVERYONE = ("0.0.0.0/0", "::/0", "Internet", "*")
# Azure service tags are case-insensitive; any spelling of these is every address of both families.
_EVERY_TAG = frozenset(t.casefold() for t in ANY_ADDRESS if "/" not in t)
_WHOLE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
# A broadening line lists this many peers or addresses, then says how many more (the tables list them all).
LISTED = 4
# Packets no rule explains that take more lines than this are said with head's own set, where that is shorter.
SUMMARY_AT = 2


class FlowKey(NamedTuple):
    """One flow a rule opens: hashed and ordered as the tuple it is (a diff keys 100,000s of them)."""

    role: str
    direction: str  # in | out
    protocol: str
    ports: str
    peer: str

    def sentence(self) -> str:
        if self.direction == "in":
            return f"{self.protocol}/{self.ports} on {self.role} from {self.peer}"
        return f"{self.protocol}/{self.ports} from {self.role} to {self.peer}"

    @property
    def group(self) -> tuple[str, str, str, str]:
        """The rule a peer belongs to: role, direction, protocol, ports."""
        return (self.role, self.direction, self.protocol, self.ports)


@dataclass(frozen=True)
class PlanDiff:
    stack: str
    opened: dict[FlowKey, tuple[str, ...]]
    closed: dict[FlowKey, tuple[str, ...]]
    ipsets: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # service -> (added, removed)
    replaced: list[tuple[str, str, str]]  # (type, name, why)
    broadening: list[str]
    base_stack: str = ""
    head_stack: str = ""
    base_cloud: str | None = None  # aws | azure | aws+azure; None for a plan without cloud resources
    head_cloud: str | None = None
    # Resources deleted or created although the flows they carry do not change: a new layout
    # (a rule moved to another group, a vendor list split in two). (type, name) each.
    relaid: tuple[tuple[str, str, str], ...] = ()  # (created | deleted, type, name)
    # The verdict, in packets: what head admits that base does not (and the reverse), and unknowns.
    admits_more: tuple[TrafficLine, ...] = ()
    admits_less: tuple[TrafficLine, ...] = ()
    unknown_added: tuple[str, ...] = ()
    unknown_removed: tuple[str, ...] = ()
    packets_changed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.closed or self.ipsets or self.replaced or self.relaid or self.packets_changed)

    @property
    def broadens(self) -> bool:
        """Head admits a packet base does not, or holds something the model cannot evaluate that base does not."""
        return bool(self.admits_more or self.unknown_added)

    @property
    def mismatch(self) -> str | None:
        """One line when base and head are different stacks or clouds (compared only when asked explicitly)."""
        clouds_differ = None not in (self.base_cloud, self.head_cloud) and self.base_cloud != self.head_cloud
        if self.base_stack == self.head_stack and not clouds_differ:
            return None
        what = "different stacks" if self.base_stack != self.head_stack else "plans for different clouds"
        return (
            f"base {self.base_stack} ({self.base_cloud or 'no cloud resources'}) and head {self.head_stack} "
            f"({self.head_cloud or 'no cloud resources'}) are {what}, compared anyway (--allow-different-stacks)"
        )


class _Plan:
    """A plan JSON's resources, read back as flows and vendor address sets."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.stack = str(data.get("stack", ""))
        self.cloud = plan_cloud(data)
        self.index = ResourceIndex(Resource.from_json(r) for r in data.get("resources", []))
        self.resources: dict[tuple[str, str], Mapping[str, Any]] = {
            (r.type, r.name): r.inputs for r in self.index.resources
        }

    @cached_property
    def model(self) -> Admitted:
        """What the plan's firewalls admit, built once per plan."""
        return admitted_from(self.index, every_type=True)

    @cached_property
    def _flow_tables(self) -> tuple[dict[FlowKey, tuple[str, ...]], dict[str, set[FlowKey]]]:
        """The plan's rules read once: each flow with the ids citing it, and the flows of each resource."""
        ids: dict[FlowKey, set[str]] = {}
        by_resource: dict[str, set[FlowKey]] = {}
        for view in rule_flows(self.index):
            carried = by_resource.setdefault(view.resource.name, set())
            for peer in view.peers:
                key = FlowKey(view.role, view.direction, view.protocol, view.ports, peer)
                carried.add(key)
                ids.setdefault(key, set()).update(view.ids or ())
        return {k: tuple(sorted(v)) for k, v in ids.items()}, by_resource

    def flows_by_resource(self) -> dict[str, set[FlowKey]]:
        """Logical name of a rule's resource → the flows it carries."""
        return self._flow_tables[1]

    def flows(self) -> dict[FlowKey, tuple[str, ...]]:
        return self._flow_tables[0]

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
    packets = compare(a.model, b.model)
    broadening = _explained(
        packets, _flow_broadening(opened, closed, fa, fb), _ipset_broadening(ipsets, sa, sb), b.model
    )
    broadening += _new_exposures(a.model, b.model, broadening, packets)
    relaid = _relaid(a, b, opened, closed)
    return PlanDiff(
        b.stack or a.stack,
        opened,
        closed,
        ipsets,
        replaced,
        broadening,
        a.stack,
        b.stack,
        a.cloud,
        b.cloud,
        relaid,
        admits_more=tuple(x for c in packets.broadening for x in lines(c)),
        admits_less=tuple(x for c in packets.narrowing for x in lines(c)),
        unknown_added=tuple(u.text for u in packets.unknown_added),
        unknown_removed=tuple(u.text for u in packets.unknown_removed),
        packets_changed=not packets.equal,
    )


def _explained(
    packets: Comparison,
    flow_lines: list[tuple[str, tuple[str, str, str, str]]],
    ipset_lines: list[tuple[str, tuple[str, ...]]],
    head: Admitted | None = None,
) -> list[str]:
    """The broadening lines: rule-level explanations the model confirms, then the packets none explains.

    A rule-level line (a flow opened, a peer widened, an address added) is kept only where head
    admits packets base did not: an allow that a deny shadows, a rename or a reorder moves
    nothing and says nothing here. Packets no kept line accounts for (a deleted or narrowed
    deny, a widened local end) are listed as such; unknowns last.
    """
    more: dict[tuple[str, str], Node] = {(c.role, c.direction): c.node for c in packets.broadening}
    # Each broadened set as boxes once, so that a line is tested against it from ranges alone.
    parts = {key: [_slice_box(p) for p in slices(node)] for key, node in more.items()}
    kept: list[str] = []
    explained: dict[tuple[str, str], list[Box]] = {}
    for text, (role, direction, protocol, ports) in flow_lines:
        group_box = _group_box(protocol, ports)
        if group_box is None or any(boxes_meet(group_box, p) for p in parts.get((role, direction), ())):
            kept.append(text)
            if group_box is not None:
                explained.setdefault((role, direction), []).append(group_box)
    for text, added in ipset_lines:
        try:
            addresses = packet_box(((0, 255),), ((0, 65535),), network_set(added))
        except ValueError:
            kept.append(text)
            continue
        if any(boxes_meet(addresses, p) for found in parts.values() for p in found):
            kept.append(text)
            for key in more:
                explained.setdefault(key, []).append(addresses)
    for change in packets.broadening:
        said = union_all(b.node() for b in gather(explained.get((change.role, change.direction), [])))
        rest = difference(change.node, said)
        if rest is False:
            continue
        found = head.sets.get((change.role, change.direction)) if head is not None else None
        kept += _summarised(change, rest, found.node if found is not None else None)
    kept += [f"cannot judge: {u.text}" for u in packets.unknown_added]
    return kept


def _summarised(change: Change, rest: Node, whole: Node | None) -> list[str]:
    """``now admits`` lines for packets no rule-level line explains; fewer when head's own set says it shorter.

    A deleted deny-all makes the new packets "everything but what the rules allowed", one line per
    hole; the parts of head's set that hold new packets say the same in a line or two, and the
    Traffic table keeps the exact list.
    """

    def said(node: Node) -> list[TrafficLine]:
        return lines(Change(change.role, change.direction, node, change.deciders))

    exact = said(rest)
    if len(exact) > SUMMARY_AT and whole is not None:
        parts = [_slice_box(p).node() for p in slices(whole)]
        new = [part for part in parts if intersection(part, rest) is not False]
        wholly = union_all(part for part in new if difference(part, rest) is False)
        partly = union_all(part for part in new if difference(part, rest) is not False)
        short, shared = said(wholly), said(partly)
        if len(short) + len(shared) < len(exact):
            return [line.sentence("now admits") for line in short] + [
                f"{line.sentence('now admits')}; before, it admitted part of this" for line in shared
            ]
    return [line.sentence("now admits") for line in exact]


def _exposure(node: Node) -> Node:
    """The (local, protocol, port) cells at which a set is the internet, for every peer."""
    return union_all(packet_box((s.protocols,), s.ports, EVERY_PEER, s.local).node() for s in exposures(node))


def _new_exposures(base: Admitted, head: Admitted, said: list[str], packets: Comparison) -> list[str]:
    """Where the whole internet now reaches and did not, however many rules and families it took.

    Only where head admits more can the internet newly reach, so each side is read within the
    ports and protocols of the broadening alone. A rule-level line that already calls its traffic
    the whole internet says it; otherwise one line per slice names what the peers there cover
    together (a /5 on 20-30 and a /5 on 22 are a /4 on 22; a NAT64 prefix is the IPv4 internet).
    """
    if any("(the whole internet" in line for line in said):
        return []
    out = []
    for change in packets.broadening:
        key = (change.role, change.direction)
        region_boxes = [Box(p.local, (p.protocols,), p.ports, EVERY_PEER) for p in slices(change.node)]
        region = union_all(b.node() for b in gather(region_boxes))
        found = head.sets[key]
        if found.boxes is not None and not internet(union_sets([b.peer for b in found.boxes])):
            continue  # every peer of the role together is short of the internet: no port can reach it
        mine = found.within(region, region_boxes)
        theirs = base.sets[key].within(region, region_boxes) if key in base.sets else False
        new = difference(_exposure(mine), _exposure(theirs))
        if new is False:
            continue
        for part in slices(intersection(mine, new)):
            piece = packet_box((part.protocols,), part.ports, part.peer, part.local).node()
            deciding = found.deciding(piece)
            rules = sorted({d.label for d in deciding})
            line = lines(Change(key[0], key[1], piece, tuple(deciding)))[0]
            where = f"{line.what()} {'on' if key[1] == 'in' else 'from'} {key[0]}"
            listed = ", ".join(rules[:LISTED]) + (f" and {len(rules) - LISTED} more" if len(rules) > LISTED else "")
            out.append(
                f"the whole internet now reaches {where}: {_verb(words(part.peer), 'cover')} {coverage(part.peer)}"
                f" (the whole internet), by {listed}"
            )
    return out


def _verb(subject: str, verb: str) -> str:
    """``16.0.0.0/4 covers``, ``16.0.0.0/5, 24.0.0.0/5 cover``."""
    return f"{subject} {verb if ',' in subject or ' and ' in subject else verb + 's'}"


def _slice_box(part: Slice) -> Box:
    return Box(part.local, (part.protocols,), part.ports, part.peer)


@functools.lru_cache(maxsize=1 << 12)
def _group_box(protocol: str, ports: str) -> Box | None:
    """Every packet of one protocol and port range (any peer, any local end); None when unreadable."""
    protocols = protocol_ranges(protocol)
    if protocols is None:
        return None
    if ports in ("all", "*"):
        span = (0, 65535)
    else:
        first, _, last = ports.partition("-")
        if not first.isdigit() or not (last or first).isdigit():
            return None
        span = (int(first), int(last or first))
    return packet_box(protocols, (span,), EVERY_PEER)


LAYOUT_TYPES = frozenset({SECURITY_GROUP, INGRESS_RULE, EGRESS_RULE, PREFIX_LIST, NETWORK_SECURITY_GROUP})


def _relaid(
    a: _Plan, b: _Plan, opened: Mapping[FlowKey, object], closed: Mapping[FlowKey, object]
) -> tuple[tuple[str, str, str], ...]:
    """Firewall resources that come or go while the flows they carry stay: the cost of a new layout."""
    out = []
    for verb, plan, others, changed in (("deleted", a, b, closed), ("created", b, a, opened)):
        carried = plan.flows_by_resource()
        for type_, name in sorted(plan.resources.keys() - others.resources.keys()):
            if type_ not in LAYOUT_TYPES:
                continue
            flows = carried.get(name, set())
            if flows and all(f in changed for f in flows):
                continue  # an opened or closed flow, reported as such
            out.append((verb, type_, name))
    return tuple(out)


def _by_group(keys: Iterable[FlowKey]) -> dict[tuple[str, str, str, str], list[FlowKey]]:
    """Flows per rule (role, direction, protocol, ports), each list in the order given."""
    out: dict[tuple[str, str, str, str], list[FlowKey]] = {}
    for key in keys:
        out.setdefault(key.group, []).append(key)
    return out


def _flow_broadening(
    opened: Mapping[FlowKey, tuple[str, ...]],
    closed: Mapping[FlowKey, tuple[str, ...]],
    before: Mapping[FlowKey, tuple[str, ...]],
    after: Mapping[FlowKey, tuple[str, ...]],
) -> list[tuple[str, tuple[str, str, str, str]]]:
    # Every flow is grouped by its rule once, and each rule's closed peers are indexed once: comparing each
    # opened flow with every closed one made a renumbering of n rules cost n² (9.7 s for 10,000 rules).
    opened_sorted = sorted(opened)
    opened_by_group = _by_group(opened_sorted)
    closed_by_group = _by_group(closed)  # in the order closed flows are listed: "widening" names the first
    after_by_group, before_by_group = _by_group(after), _by_group(before)
    # Peers of one rule that add up to the internet get one line for the lot, where the first of them sorts.
    together: dict[FlowKey, str] = {}
    covered: set[FlowKey] = set()
    for group in sorted(opened_by_group):
        new = opened_by_group[group]
        # A rule whose peers' sizes add up short of the measure cannot reach it (most rules stop here).
        sizes = [_peer_sizes(k.peer) for k in after_by_group.get(group, ())]
        totals = {4: sum(v4 for v4, _ in sizes), 6: sum(v6 for _, v6 in sizes)}
        for version in (4, 6):
            if totals[version] < _MEASURE[version]:
                continue
            if any(_everything(k.peer, version) for k in new):
                continue  # a literal 0.0.0.0/0 or Internet already reads as the whole internet
            members = [k for k in new if _networks([k.peer], version)]
            line = _together(
                members,
                version,
                closed_by_group.get(group, []),
                before_by_group.get(group, []),
                after_by_group.get(group, []),
                after,
            )
            if line:
                together[members[0]] = line
                covered.update(members)
    narrowers: dict[tuple[str, str, str, str], _Narrower] = {}
    out: list[tuple[str, tuple[str, str, str, str]]] = []
    for key in opened_sorted:
        ids = opened[key]
        if key in together:
            out.append((together[key], key.group))
        if key in covered:
            continue
        cite = _cite(ids)
        group_closed = closed_by_group.get(key.group)
        narrower = None
        if group_closed:
            if key.group not in narrowers:
                narrowers[key.group] = _Narrower([c.peer for c in group_closed])
            narrower = narrowers[key.group].first_within(key.peer)
        if key.peer in EVERYONE or _everything(key.peer, 4) or _everything(key.peer, 6):
            verb = "opens" if key.direction == "in" else "opens egress"
            was = f", widening {narrower}" if narrower else ""
            out.append((f"{verb} {key.sentence()} (the whole internet){was}{cite}", key.group))
        elif narrower:
            out.append(
                (f"widens {key.protocol}/{key.ports} on {key.role} from {narrower} to {key.peer}{cite}", key.group)
            )
        else:
            out.append((f"opens {key.sentence()}{cite}", key.group))
    return out


class _Narrower:
    """One rule's closed peers, indexed to answer in log time which is the first (in the order given)
    that an opened peer strictly contains, as ``_within(closed, opened)`` decides."""

    _EVERYONE_WORDS = ("Internet", "*")

    def __init__(self, peers: list[str]) -> None:
        self.peers = peers
        self.index: dict[int, tuple[list[tuple[int, int]], _FirstIndex]] = {}
        if len(peers) == 1:  # most rules: one peer closed, asked directly
            return
        # Any peer but Internet/* lies within Internet or *, addresses or not.
        self.first_not_everyone = next((p for p in peers if p not in self._EVERYONE_WORDS), None)
        rows: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        for order, peer in enumerate(peers):
            parsed = _parsed(peer)
            if parsed is None:
                continue
            net = parsed
            rows[net.version].append((int(net.network_address), net.prefixlen, order))
        for version, found in rows.items():
            if found:
                found.sort()
                self.index[version] = (
                    [(start, length) for start, length, _ in found],
                    _FirstIndex([o for *_, o in found]),
                )

    def first_within(self, outer: str) -> str | None:
        if len(self.peers) == 1:
            return self.peers[0] if _within(self.peers[0], outer) else None
        parsed = _parsed(outer)
        if parsed is None:
            return self.first_not_everyone if outer in self._EVERYONE_WORDS else None
        net = parsed
        if net.version not in self.index:
            return None
        keys, first = self.index[net.version]
        start = int(net.network_address)
        # Aligned networks: one that starts inside ``net`` with a longer prefix lies strictly within it;
        # one that starts where ``net`` does with a prefix no longer than its own is ``net`` or contains it.
        lo = bisect.bisect_left(keys, (start, net.prefixlen + 1))
        hi = bisect.bisect_right(keys, (int(net.broadcast_address), net.max_prefixlen))
        order = first.minimum(lo, hi)
        return None if order is None else self.peers[order]


@functools.lru_cache(maxsize=1 << 16)
def _parsed(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


class _FirstIndex:
    """The smallest of ``values[lo:hi]`` in log time (a segment tree)."""

    def __init__(self, values: list[int]) -> None:
        self.size = len(values)
        self.tree = [0] * self.size + values
        for i in range(self.size - 1, 0, -1):
            self.tree[i] = min(self.tree[2 * i], self.tree[2 * i + 1])

    def minimum(self, lo: int, hi: int) -> int | None:
        best: int | None = None
        lo, hi = lo + self.size, hi + self.size
        while lo < hi:
            if lo & 1:
                best = self.tree[lo] if best is None else min(best, self.tree[lo])
                lo += 1
            if hi & 1:
                hi -= 1
                best = self.tree[hi] if best is None else min(best, self.tree[hi])
            lo, hi = lo // 2, hi // 2
        return best


def _together(
    members: list[FlowKey],
    version: int,
    closed: list[FlowKey],
    before: list[FlowKey],
    after: list[FlowKey],
    after_ids: Mapping[FlowKey, tuple[str, ...]],
) -> str | None:
    """The line for opened peers of one rule and family that reach internet-equivalent, or None.

    ``closed``, ``before`` and ``after`` are the rule's own flows.
    """
    if not members:
        return None
    group = members[0].group
    new = _networks((k.peer for k in members), version)
    head = _networks((k.peer for k in after), version)
    # A sum of sizes short of the measure is a union short of it: most rules stop here, uncollapsed.
    if sum(n.num_addresses for n in head) < _MEASURE[version]:
        return None
    base = _networks((k.peer for k in before), version)
    if internet_equivalent(new, version):
        how = f"{'together they cover' if len(members) > 1 else 'it covers'} {coverage_text(new, version)}"
    elif internet_equivalent(head, version) and not internet_equivalent(base, version):
        how = f"with the rules already open they cover {coverage_text(head, version)}"
    else:
        return None
    union = _Union(head)
    widened = sorted(  # closed peers of the rule that the new union takes in
        (c.peer for c in closed if any(union.holds(n) for n in _networks([c.peer], version))),
        key=_net_key,
    )
    ids = sorted({i for k in members for i in (after_ids.get(k) or ())})
    verb = "opens" if group[1] == "in" else "opens egress"
    sentence = FlowKey(*group, _listed(sorted((k.peer for k in members), key=_net_key))).sentence()
    was = f", widening {_listed(widened)}" if widened else ""
    return f"{verb} {sentence} (the whole internet: {how}){was}{_cite(tuple(ids))}"


class _Union:
    """The addresses a list of networks of one family covers together, as merged ranges."""

    def __init__(self, networks: list[Network]) -> None:
        merged: list[list[int]] = []
        for first, last in sorted((int(n.network_address), int(n.broadcast_address)) for n in networks):
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def holds(self, net: Network) -> bool:
        """``net`` adds no address to the union (what ``union_size([*networks, net]) == union_size(networks)`` says)."""
        at = bisect.bisect_right(self.starts, int(net.network_address)) - 1
        return at >= 0 and int(net.broadcast_address) <= self.ends[at]


def _ipset_broadening(
    ipsets: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]],
    before: Mapping[str, set[str]],
    after: Mapping[str, set[str]],
) -> list[tuple[str, tuple[str, ...]]]:
    out: list[tuple[str, tuple[str, ...]]] = []
    for service, (added, _) in ipsets.items():
        if not added:
            continue
        reached = []
        for version in (4, 6):
            new = _networks(added, version)
            head = _networks(after.get(service, ()), version)
            if not new:
                continue
            if internet_equivalent(new, version):
                reached.append(
                    f"{'together they cover' if len(new) > 1 else 'it covers'} {coverage_text(new, version)}"
                )
            elif internet_equivalent(head, version) and not internet_equivalent(
                _networks(before.get(service, ()), version), version
            ):
                reached.append(f"with its addresses already listed it covers {coverage_text(head, version)}")
        if reached:
            out.append(
                (f"adds {_listed(added)} to vendor service {service} (the whole internet: {'; '.join(reached)})", added)
            )
        else:
            out.append((f"adds {', '.join(added)} to vendor service {service}", added))
    return out


def _cite(ids: tuple[str, ...]) -> str:
    return f" [{', '.join(ids)}]" if ids else " [no catalogue id]"


def _listed(items: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown if len(items) <= LISTED else f"{shown} and {len(items) - LISTED} more"


def _networks(peers: Iterable[str], version: int) -> list[Network]:
    """The peers' networks of one family; a tag meaning every address is that family's /0, other peers nothing."""
    return [net for peer in peers for net in _peer_networks(peer, version)]


@functools.lru_cache(maxsize=1 << 16)
def _peer_networks(peer: str, version: int) -> tuple[Network, ...]:
    # The same peer text is read many times per diff (each rule's union, the whole-internet tests): parse it once.
    if peer.casefold() in _EVERY_TAG:
        return (_WHOLE[version],)
    try:
        net = ipaddress.ip_network(peer, strict=False)
    except ValueError:
        return ()  # role:, service:, a security group, a service tag: not an address list
    return (net,) if net.version == version else ()


@functools.lru_cache(maxsize=1 << 16)
def _everything(peer: str, version: int) -> bool:
    return any(n.prefixlen == 0 for n in _peer_networks(peer, version))


@functools.lru_cache(maxsize=1 << 16)
def _peer_sizes(peer: str) -> tuple[int, int]:
    """How many IPv4 and IPv6 addresses a peer stands for."""
    return (
        sum(n.num_addresses for n in _peer_networks(peer, 4)),
        sum(n.num_addresses for n in _peer_networks(peer, 6)),
    )


# How many addresses of a family are internet-equivalent.
_MEASURE = {4: 2 ** (32 - INTERNET_EQUIVALENT_PREFIX[4]), 6: 2 ** (128 - INTERNET_EQUIVALENT_PREFIX[6])}


def _within(inner: str, outer: str) -> bool:
    """``inner`` lies strictly within ``outer``: what :class:`_Narrower` answers for many pairs at once.

    Kept as the plain statement of the rule; the tests check the index against it.
    """
    a, b = _parsed(inner), _parsed(outer)
    if a is None or b is None:
        return outer in ("Internet", "*") and inner not in ("Internet", "*")
    return a.version == b.version and a != b and a.subnet_of(b)  # type: ignore[arg-type]


# --- Reading a plan file ---------------------------------------------------------------------------

# A seawall plan is kilobytes; a file this large is not one, and is refused before it is read whole.
MAX_PLAN_BYTES = 64 * 2**20
PLAN = "the output of seawall plan --format json"
PLAN_KEYS = ("stack", "resources", "outputs", "warnings")
RESOURCE_KEYS = ("type", "name", "urn", "inputs")
WARNING_KEYS = ("role", "entry", "kind", "text")
# Pulumi's stack names (letters, digits, - _ .), optionally qualified as org/project/stack.
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+){0,2}$")
CLOUDS = (("aws:", "aws"), ("azure-native:", "azure"), ("azure:", "azure"))
# Rule resources the diff does not read: a plan holding one would hide its rules from the review.
UNREAD_RULES = {
    LEGACY_RULE: f"{INGRESS_RULE} and {EGRESS_RULE} resources",
    STANDALONE_SECURITY_RULE: f"securityRules inline in the {NETWORK_SECURITY_GROUP}",
}
AWS_PEERS = ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")
AWS_PROTOCOLS = ("tcp", "udp", "icmp", "icmpv6", "-1", "all")
AZURE_PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")
AZURE_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9.]*$")
PORT_TEXT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def read_plan(path: Path) -> dict[str, Any]:
    """A ``seawall plan --format json`` file; anything else is a one-line error naming the file and what is wrong."""
    where = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise UserError(where, f"cannot read the plan ({exc.strerror or exc}); valid: a file holding {PLAN}") from None
    if len(raw) > MAX_PLAN_BYTES:
        raise UserError(where, f"larger than {MAX_PLAN_BYTES // 2**20} MiB, not a seawall plan; valid: {PLAN}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = raw[min(exc.start, len(raw) - 1)]
        raise UserError(where, f"not UTF-8 text (byte 0x{byte:02x} at offset {exc.start}); valid: {PLAN}") from None
    if not text.strip():
        raise UserError(where, f"empty file; valid: {PLAN}")
    return _check_plan(_parse_json(text, where), where)


class _Duplicates(dict[str, Any]):
    """A JSON object that repeated a key (the later value won); reported with its path by the check."""

    duplicate = ""


class _NotJson(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    marked, seen = _Duplicates(out), set()
    for key, _ in pairs:
        if key in seen:
            marked.duplicate = key
            break
        seen.add(key)
    return marked


def _constant(name: str) -> NoReturn:
    raise _NotJson(f"{name} is not a JSON number")


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        at = f"{where}:{exc.lineno}:{exc.colno}"
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise UserError(
                at, f"the JSON ends early (a truncated file?); valid: the complete {PLAN.removeprefix('the ')}"
            ) from None
        raise UserError(at, f"not valid JSON ({exc.msg}); valid: {PLAN}") from None
    except RecursionError:
        raise UserError(where, f"not valid JSON for seawall (nested too deeply); valid: {PLAN}") from None
    except _NotJson as exc:
        raise UserError(where, f"not valid JSON ({exc}); valid: {PLAN}") from None
    except ValueError:  # Python refuses to convert an integer of thousands of digits
        raise UserError(where, f"not valid JSON for seawall (a number too long to read); valid: {PLAN}") from None


def plan_cloud(data: Mapping[str, Any]) -> str | None:
    """``aws``, ``azure`` (or ``aws+azure``) from the plan's resource types; None when it has no cloud resource."""
    kinds = {r.get("type") for r in data.get("resources") or [] if isinstance(r, Mapping)}
    found = {cloud for kind in kinds if isinstance(kind, str) for prefix, cloud in CLOUDS if kind.startswith(prefix)}
    return "+".join(sorted(found)) or None


def check_comparable(
    base_path: Path, base: Mapping[str, Any], head_path: Path, head: Mapping[str, Any], allow_different: bool
) -> None:
    """Refuse to compare plans of different stacks or clouds unless asked: the diff would be noise, not a review."""
    if allow_different:
        return
    if base.get("stack") != head.get("stack"):
        raise UserError(
            str(head_path),
            f"stack {head.get('stack')!r} is not the stack of {base_path} ({base.get('stack')!r}); valid: two plans "
            "of the same stack, or --allow-different-stacks to compare them anyway",
        )
    base_cloud, head_cloud = plan_cloud(base), plan_cloud(head)
    if base_cloud and head_cloud and base_cloud != head_cloud:
        raise UserError(
            str(head_path),
            f"a plan for {head_cloud} but {base_path} is a plan for {base_cloud} (told by the resource types); "
            "valid: two plans of the same cloud, or --allow-different-stacks to compare them anyway",
        )


class _Checker:
    """The first place a plan's JSON departs from what ``seawall plan`` writes, as a UserError."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, at: str, message: str) -> NoReturn:
        raise UserError(self.where, f"{at}: {message}" if at else message)

    def obj(self, value: Any, at: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(at, "expected an object")
        return value

    def items(self, value: Any, at: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(at, "expected a list")
        return value

    def text(self, value: Any, at: str) -> str:
        if not isinstance(value, str) or not value:
            self.fail(at, "expected a non-empty string" if isinstance(value, str) else "expected a string")
        return value

    def field(self, data: Mapping[str, Any], key: str, at: str) -> str:
        """A required non-empty string."""
        if key not in data:
            self.fail(_key(at, key), "missing")
        return self.text(data[key], _key(at, key))

    def opt_text(self, data: Mapping[str, Any], key: str, at: str) -> None:
        if key in data and not isinstance(data[key], str):
            self.fail(_key(at, key), "expected a string")

    def choice(self, data: Mapping[str, Any], key: str, at: str, valid: tuple[str, ...]) -> str:
        if key not in data:
            self.fail(_key(at, key), f"missing; valid: {', '.join(valid)}")
        value = data[key]
        if value not in valid:
            self.fail(_key(at, key), f"{_shown(value)} is not one of {', '.join(valid)}")
        return str(value)

    def known_keys(self, data: Mapping[str, Any], at: str, valid: tuple[str, ...]) -> None:
        for key in data:
            if key not in valid:
                self.fail(at, f"unknown key {key!r}; valid: {', '.join(valid)}")

    def cidr(self, value: Any, at: str, version: int | None = None, valid: str = "a CIDR such as 192.0.2.0/24") -> None:
        text = self.text(value, at)
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            self.fail(at, f"{_shown(text)} is not an address or CIDR; valid: {valid}")
        if version is not None and net.version != version:
            self.fail(at, f"{text} is an IPv{net.version} network; valid: an IPv{version} CIDR")
        if (zone := zone_id_problem(text)) is not None:
            self.fail(at, zone)
        if str(net) != text:  # one spelling per network, or the same peer would diff against itself
            self.fail(at, f"{text!r} is not a canonical CIDR; valid: {net}")

    def port(self, value: Any, at: str, lowest: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(at, f"{_shown(value)} is not a port number; valid: an integer {lowest}–65535")
        if not lowest <= value <= 65535:
            self.fail(at, f"port {value} is out of range; valid: {lowest}–65535")
        return value

    def port_text(self, value: Any, at: str) -> None:
        valid = "valid: a port 0–65535, a range such as 10024-10026, or *"
        text = self.text(value, at)
        match = PORT_TEXT.match(text)
        if text == "*":
            return
        if not match:
            self.fail(at, f"{_shown(text)} is not a port or port range; {valid}")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last > 65535 or first > last:
            self.fail(at, f"{text} is not a port range; {valid}")


def _key(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_plan(data: Any, where: str) -> dict[str, Any]:
    check = _Checker(where)
    if not isinstance(data, Mapping) or not ({"stack", "resources"} & data.keys()):
        check.fail("", f"not a seawall plan JSON (no stack and resources); valid: {PLAN}")
    _check_duplicates(data, check)
    check.known_keys(data, "", PLAN_KEYS)
    for key in ("stack", "resources"):
        if key not in data:
            check.fail(key, f"missing; valid: a seawall plan has {', '.join(PLAN_KEYS[:-1])} and {PLAN_KEYS[-1]}")
    stack = check.field(data, "stack", "")
    if not STACK_NAME.match(stack):
        check.fail("stack", f"{_shown(stack)} is not a stack name; valid: letters, digits, -, _ and .")
    # outputs and warnings are optional: a preview of a new stack starts from {"stack": ..., "resources": []}
    if "outputs" in data:
        check.obj(data["outputs"], "outputs")
    for n, warning in enumerate(check.items(data.get("warnings", []), "warnings")):
        at = f"warnings[{n}]"
        check.known_keys(check.obj(warning, at), at, WARNING_KEYS)
        for key in WARNING_KEYS:
            check.opt_text(warning, key, at)
    first: dict[tuple[str, str], int] = {}
    for n, resource in enumerate(check.items(data["resources"], "resources")):
        at = f"resources[{n}]"
        check.obj(resource, at)
        check.known_keys(resource, at, RESOURCE_KEYS)
        for key in RESOURCE_KEYS:
            if key not in resource:
                check.fail(_key(at, key), "missing")
        kind, name = check.field(resource, "type", at), check.field(resource, "name", at)
        if not isinstance(resource["urn"], str):
            check.fail(f"{at}.urn", "expected a string")
        if (kind, name) in first:
            check.fail(at, f"a second {kind} named {name!r} (the first is resources[{first[kind, name]}])")
        first[kind, name] = n
        if kind in UNREAD_RULES:
            check.fail(
                f"{at}.type",
                f"{kind} rules are not read by seawall diff, so their changes would not be shown; "
                f"valid: {UNREAD_RULES[kind]}, as seawall plan writes",
            )
        _check_inputs(check, kind, check.obj(resource["inputs"], f"{at}.inputs"), f"{at}.inputs")
    return dict(data)


def _check_duplicates(data: Any, check: _Checker) -> None:
    """The first object (in file order) that repeats a key; iterative, as the JSON may be deeply nested."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, at = stack.pop()
        if isinstance(value, _Duplicates) and value.duplicate:
            check.fail(at, f"key {value.duplicate!r} appears twice; valid: each key once")
        if isinstance(value, Mapping):
            stack.extend((v, _key(at, k)) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((v, f"{at}[{i}]") for i, v in reversed(list(enumerate(value))))


def _check_inputs(check: _Checker, kind: str, inputs: Mapping[str, Any], at: str) -> None:
    """The inputs the diff reads, for the resource types it reads; other resources only need an object."""
    if "tags" in inputs:
        for key, value in check.obj(inputs["tags"], f"{at}.tags").items():
            if not isinstance(value, str):
                check.fail(f"{at}.tags.{key}", "expected a string")
    if kind in (INGRESS_RULE, EGRESS_RULE):
        _check_aws_rule(check, inputs, at)
    elif kind == PREFIX_LIST:
        family = None
        if "addressFamily" in inputs:
            family = 4 if check.choice(inputs, "addressFamily", at, ("IPv4", "IPv6")) == "IPv4" else 6
        for n, entry in enumerate(check.items(inputs.get("entries", []), f"{at}.entries")):
            entry_at = f"{at}.entries[{n}]"
            check.obj(entry, entry_at)
            if "cidr" not in entry:
                check.fail(f"{entry_at}.cidr", "missing")
            check.cidr(entry["cidr"], f"{entry_at}.cidr", family)
            check.opt_text(entry, "description", entry_at)
    elif kind == SECURITY_GROUP:
        for key in ("ingress", "egress"):
            if inputs.get(key):  # inline rules would be invisible to the diff
                check.fail(
                    f"{at}.{key}",
                    f"inline {key} rules are not read by seawall diff; valid: {INGRESS_RULE} and {EGRESS_RULE} "
                    "resources, as seawall plan writes",
                )
    elif kind == NETWORK_SECURITY_GROUP:
        for n, rule in enumerate(check.items(inputs.get("securityRules", []), f"{at}.securityRules")):
            _check_nsg_rule(check, check.obj(rule, f"{at}.securityRules[{n}]"), f"{at}.securityRules[{n}]")


def _check_aws_rule(check: _Checker, inputs: Mapping[str, Any], at: str) -> None:
    protocol = check.field(inputs, "ipProtocol", at)
    if protocol not in AWS_PROTOCOLS and not (protocol.isdigit() and int(protocol) <= 255):
        check.fail(f"{at}.ipProtocol", f"{_shown(protocol)} is not a protocol; valid: {', '.join(AWS_PROTOCOLS)}")
    lowest = 0 if protocol in ("tcp", "udp") else -1  # ICMP uses -1 for "any type"
    ports = [
        check.port(inputs[key], f"{at}.{key}", lowest) for key in ("fromPort", "toPort") if inputs.get(key) is not None
    ]
    if inputs.get("toPort") is not None and inputs.get("fromPort") is None:
        check.fail(f"{at}.fromPort", "missing while toPort is set; valid: both, or neither for every port")
    icmp = protocol in ICMP_PROTOCOLS  # fromPort is the ICMP type, toPort the code; -1: every one
    if len(ports) == 2 and ports[1] < ports[0] and not icmp:
        check.fail(f"{at}.toPort", f"{ports[1]} is below fromPort {ports[0]}; valid: toPort ≥ fromPort")
    if icmp and any(port > 255 for port in ports):
        check.fail(f"{at}.fromPort", "an ICMP type and code are -1 to 255; valid: fromPort type, toPort code")
    peers = [key for key in AWS_PEERS if inputs.get(key) not in (None, "")]
    if len(peers) != 1:
        found = f"{' and '.join(peers)} are both set" if peers else "no peer"
        check.fail(at, f"{found}; valid: exactly one of {', '.join(AWS_PEERS)}")
    peer = peers[0]
    if peer.startswith("cidr"):
        check.cidr(inputs[peer], f"{at}.{peer}", 4 if peer == "cidrIpv4" else 6)
    else:
        check.text(inputs[peer], f"{at}.{peer}")
    for key in ("securityGroupId", "description"):
        check.opt_text(inputs, key, at)


def _check_nsg_rule(check: _Checker, rule: Mapping[str, Any], at: str) -> None:
    check.field(rule, "name", at)
    check.choice(rule, "access", at, ("Allow", "Deny"))
    check.choice(rule, "direction", at, ("Inbound", "Outbound"))
    check.choice(rule, "protocol", at, AZURE_PROTOCOLS)
    check.opt_text(rule, "description", at)
    if "priority" in rule:
        priority = rule["priority"]
        if isinstance(priority, bool) or not isinstance(priority, int) or not 100 <= priority <= 4096:
            check.fail(f"{at}.priority", f"{_shown(priority)} is not a priority; valid: an integer 100–4096")
    for side in ("source", "destination"):
        single, plural, asgs = f"{side}AddressPrefix", f"{side}AddressPrefixes", f"{side}ApplicationSecurityGroups"
        if rule.get(single) is not None and rule.get(plural):
            check.fail(at, f"{single} and {plural} are both set; valid: one of them")
        prefixes = [] if rule.get(single) is None else [(rule[single], f"{at}.{single}")]
        prefixes += [
            (p, f"{at}.{plural}[{n}]") for n, p in enumerate(check.items(rule.get(plural, []), f"{at}.{plural}"))
        ]
        for value, value_at in prefixes:
            if not (isinstance(value, str) and (value == "*" or AZURE_TAG.match(value))):
                check.cidr(value, value_at, valid="a CIDR such as 192.0.2.0/24, * or a service tag such as Internet")
        groups = check.items(rule.get(asgs, []), f"{at}.{asgs}")
        for n, group in enumerate(groups):
            check.field(check.obj(group, f"{at}.{asgs}[{n}]"), "id", f"{at}.{asgs}[{n}]")
        if not prefixes and not groups:  # the diff would see no peer, and the rule would vanish from it
            check.fail(at, f"no {side}; valid: {single}, {plural} or {asgs}")
        range_, ranges = f"{side}PortRange", f"{side}PortRanges"
        if rule.get(range_) is not None and rule.get(ranges):
            check.fail(at, f"{range_} and {ranges} are both set; valid: one of them")
        if rule.get(range_) is not None:
            check.port_text(rule[range_], f"{at}.{range_}")
        for n, value in enumerate(check.items(rule.get(ranges, []), f"{at}.{ranges}")):
            check.port_text(value, f"{at}.{ranges}[{n}]")
