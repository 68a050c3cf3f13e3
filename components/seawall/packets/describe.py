"""Sets of packets in a reviewer's words: one line per slice, with the rules responsible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seawall.packets.admitted import Change, Decider
from seawall.packets.measure import coverage, internet, words
from seawall.packets.space import EVERY_PEER, Box, PeerSet, Slice, Symbols, boxes_meet, intersection, slices, union_sets

PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 50: "esp", 51: "ah", 58: "icmpv6"}
RULES_LISTED = 3


def protocol_text(protocols: tuple[int, int]) -> str:
    lo, hi = protocols
    if (lo, hi) == (0, 255):
        return "any protocol"
    if lo == hi:
        return PROTOCOL_NAMES.get(lo, f"protocol {lo}")
    return f"protocols {lo}-{hi}"


def ports_text(ports: Sequence[tuple[int, int]]) -> str:
    if tuple(ports) == ((0, 65535),):
        return "all"
    return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports)


@dataclass(frozen=True)
class TrafficLine:
    """One slice of packets a change lets through (or no longer lets through)."""

    role: str
    direction: str
    protocol: str
    ports: str
    peers: str  # in words, listed in full
    local: str | None  # Azure: the local end when it is not just the role's own group
    internet: str | None  # what the peers cover, when they are internet-equivalent
    rules: tuple[str, ...]
    entries: tuple[str, ...]
    sort_protocol: int = 0

    def what(self) -> str:
        if "; " in self.protocol:  # several protocols gathered: each part says its own ports
            return self.protocol
        if self.protocol in ("tcp", "udp") or self.ports != "all":
            return f"{self.protocol}/{self.ports}"
        return self.protocol

    def sentence(self, verb: str = "admits") -> str:
        local = f" (at {self.local})" if self.local else ""
        whole = f" (the whole internet: {self.internet})" if self.internet else ""
        peers = _short(self.peers)
        if self.direction == "in":
            where = f"{self.what()} on {self.role}{local} from {peers}{whole}"
        else:
            where = f"{self.what()} from {self.role}{local} to {peers}{whole}"
        rules = list(self.rules[:RULES_LISTED])
        if len(self.rules) > RULES_LISTED:
            rules.append(f"{len(self.rules) - RULES_LISTED} more")
        by = f", by {', '.join(rules)}" if rules else ""
        cite = f" [{', '.join(self.entries)}]" if self.entries else ""
        return f"{verb} {where}{by}{cite}"

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "direction": self.direction,
            "protocol": self.protocol,
            "ports": self.ports,
            "peers": self.peers,
            "local": self.local,
            "internet": self.internet,
            "rules": list(self.rules),
            "entries": list(self.entries),
        }


def _short(text: str, limit: int = 4) -> str:
    parts = text.split(", ")
    return text if len(parts) <= limit else f"{', '.join(parts[:limit])} and {len(parts) - limit} more"


def lines(change: Change, prefixes: Mapping[int, int] | None = None) -> list[TrafficLine]:
    """A change's packets as lines, the internet-equivalent ones first, then by protocol and port."""
    found = []
    for part in slices(change.node):
        piece = Box(part.local, (part.protocols,), part.ports, part.peer)
        deciders = [
            d
            for d in change.deciders
            if (
                boxes_meet(d.box, piece)
                if d.box is not None and d._node is None
                else intersection(d.node, piece.node()) is not False
            )
        ]
        found.append(_line(change.role, change.direction, part, deciders, prefixes))
    # Slices that differ only in protocol (and ports) read as one line: "protocols 0-5; protocols 7-255".
    gathered: dict[tuple[str | None, str, str | None], list[TrafficLine]] = {}
    for line in found:
        gathered.setdefault((line.local, line.peers, line.internet), []).append(line)
    out = []
    for group in gathered.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        first = group[0]
        out.append(
            TrafficLine(
                first.role,
                first.direction,
                "; ".join(g.what() for g in sorted(group, key=lambda g: g.sort_protocol)),
                "all" if all(g.ports == "all" for g in group) else "several",
                first.peers,
                first.local,
                first.internet,
                tuple(sorted({r for g in group for r in g.rules})),
                tuple(sorted({e for g in group for e in g.entries})),
                min(g.sort_protocol for g in group),
            )
        )
    return sorted(out, key=lambda line: (line.internet is None, line.sort_protocol, line.peers))


def _line(
    role: str, direction: str, part: Slice, deciders: list[Decider], prefixes: Mapping[int, int] | None
) -> TrafficLine:
    local = None if _is_role(part.local, role) else words(part.local, None)
    return TrafficLine(
        role=role,
        direction=direction,
        protocol=protocol_text(part.protocols),
        ports=ports_text(part.ports) if part.protocols[0] <= 17 and part.protocols[1] >= 6 else "all",
        peers=words(part.peer, None),
        local=local,
        internet=coverage(part.peer) if internet(part.peer, prefixes) else None,
        rules=tuple(d.label for d in deciders),
        entries=tuple(sorted({i for d in deciders for i in d.ids})),
        sort_protocol=part.protocols[0],
    )


def _is_role(local: PeerSet, role: str) -> bool:
    return local == EVERY_PEER or local == union_sets([PeerSet(symbols=(("role", Symbols(False, frozenset({role}))),))])
