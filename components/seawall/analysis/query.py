"""``seawall query``: is a flow allowed? Answered from the *rendered* rules, not the flows.

A query names two ends, one of which (or both) is a role of the stack, a
protocol and a port. The other end is a peer name (``internet``,
``site:NAME``, ``service:NAME``, ``role:NAME``) or an address/CIDR. The peer is
turned into probes (its bound CIDRs, group ids, tags, or its addresses) and each
probe is checked against the rules exactly as the cloud evaluates them: any
matching allow rule on AWS (security groups are allow-only); the first matching
rule by priority on Azure.
"""

from __future__ import annotations

import ipaddress

from seawall.analysis.probes import Answer, Probe, ProbeKind
from seawall.aws.evaluate import query_aws
from seawall.azure.evaluate import query_azure
from seawall.errors import UserError
from seawall.stack import CompiledStack, render_aws_stack, render_azure_stack

__all__ = ["Answer", "Probe", "ask", "parse_port", "probes_for", "query_aws", "query_azure"]


def parse_port(text: str) -> tuple[int, str]:
    port_text, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp") or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UserError("--port", f"{text!r} is not valid; valid: PORT/PROTOCOL such as 25/tcp or 53/udp")
    return int(port_text), protocol


def probes_for(compiled: CompiledStack, peer: str) -> tuple[list[Probe], str]:
    """The concrete things a peer name stands for, and a reason when there are none."""
    flows, config = compiled.flows, compiled.config
    if peer in flows.roles or peer.startswith("role:"):
        name = peer.removeprefix("role:")
        if name not in flows.roles:
            raise UserError("--from/--to", f"unknown role {name!r}; valid: {', '.join(flows.roles)}")
        return [Probe("role", name)], ""
    if peer == "internet":
        return [Probe("internet")], ""
    if peer.startswith("site:"):
        name = peer.removeprefix("site:")
        if name not in config.bindings:
            raise UserError(
                "--from/--to",
                f"site peer {name!r} is not bound in this stack; bound: {', '.join(sorted(config.bindings))}",
            )
        kinds: dict[str, ProbeKind] = {
            "cidr": "cidr",
            "sg": "sg",
            "prefix-list": "prefix-list",
            "service-tag": "service-tag",
            "asg": "asg",
            "internet": "internet",
        }
        return [Probe(kinds[b.kind], b.value if b.kind != "internet" else "") for b in config.bindings[name]], ""
    if peer.startswith("service:"):
        name = peer.removeprefix("service:")
        product = compiled.catalog.products[flows.product]
        if name not in product.services:
            raise UserError(
                "--from/--to", f"unknown vendor service {name!r}; valid: {', '.join(sorted(product.services))}"
            )
        addresses = compiled.ipsets.get(flows.product, name)
        if addresses.empty:
            if name in config.settings.internet_egress:
                return [Probe("internet")], ""
            return [], f"vendor service {name} has no addresses, so nothing can allow it"
        return [Probe("cidr", n) for n in (*addresses.ipv4, *addresses.ipv6)], ""
    try:
        return [Probe("cidr", str(ipaddress.ip_network(peer, strict=False)))], ""
    except ValueError:
        raise UserError(
            "--from/--to",
            f"{peer!r} is not a peer; valid: a role ({', '.join(flows.roles)}), internet, site:NAME, service:NAME or an address",
        ) from None


def ask(
    compiled: CompiledStack, clouds: list[str], source: str, destination: str, protocol: str, port: int
) -> list[Answer]:
    """The answer of each cloud's rendering of ``compiled`` for one flow; one end must be a role."""
    roles = compiled.flows.roles
    if source.removeprefix("role:") not in roles and destination.removeprefix("role:") not in roles:
        raise UserError("--from/--to", f"one end must be a role of the stack; roles: {', '.join(roles)}")
    src, why_src = probes_for(compiled, source)
    dst, why_dst = probes_for(compiled, destination)
    reason = why_src or why_dst
    answers = []
    for cloud in clouds:
        if cloud == "aws":
            answers.append(query_aws(render_aws_stack(compiled), src, dst, protocol, port, reason))
        else:
            answers.append(query_azure(render_azure_stack(compiled), src, dst, protocol, port, reason))
    return answers
