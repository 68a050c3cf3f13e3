"""Azure rule evaluation for ``seawall query``: the first matching rule by priority decides, then Azure's defaults."""

from __future__ import annotations

from seawall.analysis.probes import Answer, Decision, Probe, evaluate
from seawall.azure.render import AzureSpec
from seawall.packets.specs import decide


def _azure_side(spec: AzureSpec, role: str, direction: str, other: Probe, protocol: str, port: int) -> Decision:
    """Whether every packet of the probe is admitted at the role's NICs, and which rules decide it.

    ``Internet`` is every address (Azure's tag leaves out the virtual network's own space, which
    seawall cannot see): the query never reports DENIED for a flow that might be allowed.
    """
    allowed, rules, entries = decide(spec, role, direction, other.kind, other.value, protocol, port)
    return Decision(other, allowed, rules, entries)


def query_azure(
    spec: AzureSpec, src: list[Probe], dst: list[Probe], protocol: str, port: int, reason: str = ""
) -> Answer:
    return evaluate(
        lambda role, way, other: _azure_side(spec, role, way, other, protocol, port),
        ("Outbound", "Inbound"),
        src,
        dst,
        reason,
        "azure",
    )
