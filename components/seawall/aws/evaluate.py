"""AWS rule evaluation for ``seawall query``: what the role's security groups admit (allow-only, a union)."""

from __future__ import annotations

from seawall.analysis.probes import Answer, Decision, Probe, evaluate
from seawall.aws.render import AwsSpec
from seawall.packets.specs import decide


def _aws_side(spec: AwsSpec, role: str, direction: str, probe: Probe, protocol: str, port: int) -> Decision:
    """Whether every packet of the probe on that protocol and port is admitted, and by which rules."""
    allowed, rules, entries = decide(spec, role, direction, probe.kind, probe.value, protocol, port)
    return Decision(probe, allowed, rules, entries)


def query_aws(spec: AwsSpec, src: list[Probe], dst: list[Probe], protocol: str, port: int, reason: str = "") -> Answer:
    return evaluate(
        lambda role, way, other: _aws_side(spec, role, way, other, protocol, port),
        ("egress", "ingress"),
        src,
        dst,
        reason,
        "aws",
    )
