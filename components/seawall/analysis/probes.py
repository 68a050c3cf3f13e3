"""What a query asks and answers, for every cloud: probes, decisions, verdicts, and how two sides combine.

A peer name becomes :class:`Probe` s (its CIDRs, group ids, tags or addresses);
each cloud's evaluator (``seawall.aws.evaluate``, ``seawall.azure.evaluate``)
decides one probe against one role's rules; :func:`evaluate` combines both ends
(the sender's egress and the receiver's ingress) into an :class:`Answer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ProbeKind = Literal["role", "cidr", "sg", "prefix-list", "service-tag", "asg", "internet"]
Verdict = Literal["ALLOWED", "DENIED", "PARTIAL"]


@dataclass(frozen=True, order=True)
class Probe:
    kind: ProbeKind
    value: str = ""

    @property
    def label(self) -> str:
        return self.kind if self.kind == "internet" else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Decision:
    probe: Probe
    allowed: bool
    rules: tuple[str, ...]
    entries: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    cloud: str
    verdict: Verdict
    decisions: tuple[Decision, ...]
    reason: str = ""

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(sorted({r for d in self.decisions for r in d.rules}))

    @property
    def entries(self) -> tuple[str, ...]:
        return tuple(sorted({e for d in self.decisions if d.allowed for e in d.entries}))


def _verdict(decisions: list[Decision], reason: str, cloud: str) -> Answer:
    if not decisions:
        return Answer(cloud, "DENIED", (), reason)
    allowed = [d.allowed for d in decisions]
    verdict: Verdict = "ALLOWED" if all(allowed) else "DENIED" if not any(allowed) else "PARTIAL"
    return Answer(cloud, verdict, tuple(decisions), reason)


def evaluate(
    side: Callable[[str, str, Probe], Decision],
    directions: tuple[str, str],
    src: list[Probe],
    dst: list[Probe],
    reason: str,
    cloud: str,
) -> Answer:
    """Every source probe against every destination probe: a role end must allow it on its own side
    (egress/outbound where the role sends, ingress/inbound where it receives)."""
    outbound, inbound = directions
    decisions = []
    for s in src:
        for d in dst:
            sides = []
            if s.kind == "role":
                sides.append(side(s.value, outbound, d))
            if d.kind == "role":
                sides.append(side(d.value, inbound, s))
            decisions.append(_combine(s if d.kind == "role" else d, sides))
    return _verdict(decisions, reason, cloud)


def _combine(probe: Probe, sides: list[Decision]) -> Decision:
    return Decision(
        probe,
        all(side.allowed for side in sides),
        tuple(r for side in sides for r in side.rules),
        tuple(sorted({e for side in sides for e in side.entries})),
    )
