"""Helpers for tests that build stacks: shipped ones, and variants made from config mappings."""

from __future__ import annotations

from typing import Any

from conftest import REPO
from seawall.analysis.query import Answer, probes_for, query_aws, query_azure
from seawall.aws.render import AwsSpec
from seawall.azure.render import AzureSpec
from seawall.catalog import Catalog, load_catalog
from seawall.stack import CompiledStack, compile_config, compile_stack, render_aws_stack, render_azure_stack
from seawall.stackconfig import parse_config

STACKS = REPO / "stacks"
# The stacks this repository ships, by name: a user's own Pulumi.<stack>.yaml in stacks/ is not one of
# them, so it never breaks the suite (tests/test_components_intent.py checks this list against the golden files).
SHIPPED = [
    "dmz-aws",
    "dmz-azure",
    "dmz-sxg-aws",
    "dmz-sxg-azure",
    "mss-distributed-aws",
    "mss-distributed-azure",
]
_CATALOG = load_catalog(REPO / "catalog")


def shipped(stack: str) -> CompiledStack:
    return compile_stack(stack, STACKS, catalog=_CATALOG)


def variant(config: dict[str, Any], catalog: Catalog | None = None, stack: str = "test") -> CompiledStack:
    """A stack from a config mapping written with short keys (``topology`` → ``seawall:topology``)."""
    flat = {k if ":" in k else f"seawall:{k}": v for k, v in config.items()}
    return compile_config(parse_config(stack, flat), catalog or _CATALOG)


# Renderings of a compiled stack, by the stack object (kept alive beside its rendering, so its id is never reused):
# the renderers are pure, and the equivalence test asks thousands of questions of each stack.
_RENDERED: dict[tuple[int, str], tuple[CompiledStack, AwsSpec | AzureSpec]] = {}


def aws(compiled: CompiledStack) -> AwsSpec:
    found = _RENDERED.get((id(compiled), "aws"))
    if found is None:
        found = _RENDERED[(id(compiled), "aws")] = (compiled, render_aws_stack(compiled))
    spec = found[1]
    assert isinstance(spec, AwsSpec)
    return spec


def azure(compiled: CompiledStack) -> AzureSpec:
    found = _RENDERED.get((id(compiled), "azure"))
    if found is None:
        found = _RENDERED[(id(compiled), "azure")] = (compiled, render_azure_stack(compiled))
    spec = found[1]
    assert isinstance(spec, AzureSpec)
    return spec


def ask(compiled: CompiledStack, cloud: str, source: str, destination: str, port: int, protocol: str = "tcp") -> Answer:
    src, why_src = probes_for(compiled, source)
    dst, why_dst = probes_for(compiled, destination)
    if cloud == "aws":
        return query_aws(aws(compiled), src, dst, protocol, port, why_src or why_dst)
    return query_azure(azure(compiled), src, dst, protocol, port, why_src or why_dst)


def candidate_ports(compiled: CompiledStack) -> list[int]:
    """Every port where the allowed set can change (rule edges ±1), plus the extremes.

    Rules allow unions of ranges, so checking these ports decides "and nothing else".
    """
    ports = {1, 65535}
    for flow in compiled.flows.flows:
        ports |= {flow.first_port - 1, flow.first_port, flow.last_port, flow.last_port + 1}
    return sorted(p for p in ports if 1 <= p <= 65535)


def allowed(compiled: CompiledStack, cloud: str, source: str, destination: str) -> set[tuple[str, int]]:
    """(protocol, port) pairs the rendered rules allow between two ends, over the candidate ports."""
    out = set()
    for protocol in ("tcp", "udp"):
        for port in candidate_ports(compiled):
            if ask(compiled, cloud, source, destination, port, protocol).verdict == "ALLOWED":
                out.add((protocol, port))
    return out


def peers_of(compiled: CompiledStack) -> list[str]:
    product = compiled.catalog.products[compiled.flows.product]
    return (
        ["internet"]
        + [f"site:{s}" for s in sorted(compiled.config.bindings)]
        + [f"service:{s}" for s in sorted(product.services)]
        + list(compiled.flows.roles)
    )


def lock_text(addresses: dict[str, list[str]]) -> str:
    """An IP-set lock as ``seawall resolve`` writes it, with ``addresses`` for some catalogue hostnames."""
    import json

    from seawall.netaddr import sort_networks

    services: dict[str, Any] = {}
    owners: dict[str, list[str]] = {}
    for product_name, product in sorted(_CATALOG.products.items()):
        for service_name, service in sorted(product.services.items()):
            key = f"{product_name}/{service_name}"
            services[key] = {
                "documented": list(sort_networks(service.addresses)),
                "hostnames": list(service.hostnames),
                "retired": list(sort_networks(service.retired_addresses)),
            }
            for host in service.hostnames:
                owners.setdefault(host, []).append(key)
    hosts = {
        host: {
            "addresses": found,
            "resolved_at": "2026-11-23T00:00:00+00:00",
            "resolver": "127.0.0.1:53",
            "services": owners[host],
            "source": "dns",
            "status": "ok",
            "ttl": 300,
        }
        for host, found in sorted(addresses.items())
    }
    return json.dumps({"version": 1, "hosts": hosts, "services": services}, indent=2, sort_keys=True) + "\n"
