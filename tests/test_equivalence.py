"""For every shipped topology, the AWS and Azure renderings allow exactly the same flows."""

from __future__ import annotations

import pytest
from builders import ask, candidate_ports, peers_of, shipped

PAIRS = [("dmz-aws", "dmz-azure"), ("dmz-sxg-aws", "dmz-sxg-azure"), ("mss-distributed-aws", "mss-distributed-azure")]


@pytest.mark.parametrize(("aws_stack", "azure_stack"), PAIRS)
def test_both_clouds_compile_the_same_flows(aws_stack: str, azure_stack: str) -> None:
    assert shipped(aws_stack).flows.flows == shipped(azure_stack).flows.flows


@pytest.mark.parametrize(("aws_stack", "azure_stack"), PAIRS)
def test_aws_and_azure_allow_exactly_the_same_peer_role_protocol_port_set(aws_stack: str, azure_stack: str) -> None:
    a, z = shipped(aws_stack), shipped(azure_stack)
    verdicts: dict[str, set[tuple[str, str, str, str, int]]] = {"aws": set(), "azure": set()}
    for cloud, stack in (("aws", a), ("azure", z)):
        for role in stack.flows.roles:
            for peer in peers_of(stack):
                for protocol in ("tcp", "udp"):
                    for port in candidate_ports(stack):
                        for source, destination in ((peer, role), (role, peer)):
                            if ask(stack, cloud, source, destination, port, protocol).verdict == "ALLOWED":
                                verdicts[cloud].add((source, destination, role, protocol, port))
    assert verdicts["aws"] == verdicts["azure"]
    assert len(verdicts["aws"]) > 10  # the comparison saw real traffic
