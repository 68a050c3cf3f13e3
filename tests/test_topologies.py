"""The shipped topologies, read like the documents. Every check evaluates the rendered rules."""

from __future__ import annotations

import pytest
from builders import allowed, ask, shipped, variant

CLOUDS = ["aws", "azure"]
DMZ = {"aws": "dmz-aws", "azure": "dmz-azure"}
MSS = {"aws": "mss-distributed-aws", "azure": "mss-distributed-azure"}

DMZ_SXG = {
    "topology": "dmz",
    "product": "clearswift-sxg",
    "roles": ["exchange"],
    "features": ["ftp-backup", "cluster", "pmm", "pmm-full-mode", "ksn"],
    "peers": {
        "internal-mail-servers": ["192.0.2.10/32"],
        "dns-servers": ["192.0.2.53/32"],
        "admin-clients": ["198.51.100.0/28"],
        "end-users": ["198.51.100.128/25"],
        "backup-server": ["192.0.2.40/32"],
        "directory-servers": ["192.0.2.30/32"],
    },
}
# DMZ_SXG on each cloud: its placement keys (the other cloud's are refused).
ON = {
    "aws": {"cloud": "aws", "vpcId": "vpc-0123456789abcdef0"},
    "azure": {"cloud": "azure", "resourceGroupName": "rg", "location": "westeurope"},
}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_smtp_from_the_internet_reaches_the_gateway_on_25_and_nothing_else_does(cloud: str) -> None:
    stack = shipped(DMZ[cloud])
    assert allowed(stack, cloud, "internet", "gateway") == {("tcp", 25)}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_gateway_sends_smtp_to_the_internet_and_the_internal_mail_servers(cloud: str) -> None:
    stack = shipped(DMZ[cloud])
    assert ask(stack, cloud, "gateway", "internet", 25).verdict == "ALLOWED"
    answer = ask(stack, cloud, "gateway", "site:internal-mail-servers", 25)
    assert answer.verdict == "ALLOWED" and answer.entries == ("seg-smtp-send",)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_management_is_reachable_only_from_the_admin_network(cloud: str) -> None:
    stack = shipped(DMZ[cloud])
    for port in (22, 443):
        assert ask(stack, cloud, "site:admin-clients", "gateway", port).verdict == "ALLOWED"
        assert ask(stack, cloud, "internet", "gateway", port).verdict == "DENIED"
        assert ask(stack, cloud, "203.0.113.7", "gateway", port).verdict == "DENIED"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_dns_is_a_client_protocol_so_its_inbound_half_stays_closed_and_says_so(cloud: str) -> None:
    stack = shipped(DMZ[cloud])
    assert ask(stack, cloud, "gateway", "site:dns-servers", 53, "udp").verdict == "ALLOWED"
    assert ask(stack, cloud, "site:dns-servers", "gateway", 53, "udp").verdict == "DENIED"
    closed = [n for n in stack.flows.notices if n.kind == "closed-half" and n.entry == "seg-dns"]
    assert closed and "inbound half" in closed[0].text


@pytest.mark.parametrize("cloud", CLOUDS)
def test_egress_is_tight_only_documented_destinations(cloud: str) -> None:
    stack = shipped(DMZ[cloud])
    assert allowed(stack, cloud, "gateway", "internet") == {("tcp", 25)}
    assert ask(stack, cloud, "gateway", "service:kav-update", 80).verdict == "ALLOWED"
    # Sophos is not enabled, so nothing is rendered for it; its mirrors share the Kaspersky
    # mirrors' four addresses, so the addresses themselves stay reachable on 80 through kav-update.
    answer = ask(stack, cloud, "gateway", "service:sav-update", 80)
    assert answer.verdict == "ALLOWED" and answer.entries == ("seg-av-updates-kaspersky",)
    assert not any("sav-update" in label for flow in stack.flows.flows for label in (flow.src.label, flow.dst.label))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_vendor_services_without_addresses_are_denied_and_reported(cloud: str) -> None:
    stack = shipped(DMZ[cloud])
    answer = ask(stack, cloud, "gateway", "service:ntp", 123, "udp")
    assert answer.verdict == "DENIED" and "no addresses" in answer.reason
    assert any(n.kind == "unresolved" and n.entry == "seg-ntp" and n.warning for n in stack.flows.notices)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_cluster_peers_reach_each_other_on_443(cloud: str) -> None:
    stack = shipped(DMZ[cloud])
    answer = ask(stack, cloud, "gateway", "gateway", 443)
    assert answer.verdict == "ALLOWED" and "seg-peer-communications" in answer.entries


@pytest.mark.parametrize("cloud", CLOUDS)
def test_exchange_interceptors_reach_the_gateway_web_service_and_configuration_store(cloud: str) -> None:
    stack = variant({**DMZ_SXG, **ON[cloud]})
    assert ask(stack, cloud, "exchange", "gateway", 10443).verdict == "ALLOWED"
    assert ask(stack, cloud, "exchange", "gateway", 23955).verdict == "ALLOWED"
    assert ask(stack, cloud, "gateway", "exchange", 23955).verdict == "DENIED"
    assert ask(stack, cloud, "exchange", "exchange", 23953).verdict == "ALLOWED"
    assert allowed(stack, cloud, "internet", "exchange") == set()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_active_ftp_data_on_port_20_is_kept_in_the_record_but_never_opened(cloud: str) -> None:
    stack = variant({**DMZ_SXG, **ON[cloud]})
    assert any(n.kind == "not-rendered" and n.entry == "sxg-backup-ftp-data" for n in stack.flows.notices)
    assert ask(stack, cloud, "site:backup-server", "gateway", 20).verdict == "DENIED"
    assert ask(stack, cloud, "gateway", "site:backup-server", 21).verdict == "ALLOWED"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_kaspersky_ksn_names_no_host_so_it_needs_an_explicit_opt_in(cloud: str) -> None:
    base = {**DMZ_SXG, **ON[cloud]}
    denied = variant(base)
    assert ask(denied, cloud, "gateway", "internet", 443).verdict == "DENIED"
    opted = variant({**base, "internetEgress": ["ksn"]})
    answer = ask(opted, cloud, "gateway", "internet", 443)
    # Azure's first match gives the vendor addresses listed earlier to their own rule; the rest is KSN's.
    assert answer.verdict == "ALLOWED" and "sxg-kaspersky-ksn" in answer.entries
    assert any(n.kind == "internet-opt-in" and n.warning for n in opted.flows.notices)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_mss_children_take_mail_and_the_parent_takes_the_consoles(cloud: str) -> None:
    stack = shipped(MSS[cloud])
    assert allowed(stack, cloud, "internet", "child") == {("tcp", 25)}
    assert allowed(stack, cloud, "internet", "parent") == set()
    assert ask(stack, cloud, "site:admin-clients", "parent", 8445).verdict == "ALLOWED"
    assert ask(stack, cloud, "site:admin-clients", "child", 8445).verdict == "DENIED"
    assert ask(stack, cloud, "site:end-users", "parent", 8446).verdict == "ALLOWED"
    assert ask(stack, cloud, "site:end-users", "child", 110).verdict == "ALLOWED"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_policy_database_and_manager_are_open_between_parent_and_children_both_ways_only(cloud: str) -> None:
    stack = shipped(MSS[cloud])
    for port in (5060, 5432, 15505):
        assert ask(stack, cloud, "child", "parent", port).verdict == "ALLOWED"
        assert ask(stack, cloud, "parent", "child", port).verdict == "ALLOWED"
        assert ask(stack, cloud, "child", "child", port).verdict == "DENIED"
        assert ask(stack, cloud, "internet", "parent", port).verdict == "DENIED"


@pytest.mark.parametrize("stack_name", ["dmz-aws", "dmz-azure", "mss-distributed-aws", "mss-distributed-azure"])
def test_product_internal_ports_are_never_open_from_anywhere(stack_name: str) -> None:
    stack = shipped(stack_name)
    cloud = stack.config.settings.cloud
    internal = (2500, 8005, 8009, 8015, 8442, 8444, 953, 10024, 10025, 10026, 10039)
    sources = ["internet", *(f"site:{s}" for s in stack.config.bindings), *stack.flows.roles]
    for role in stack.flows.roles:
        for source in sources:
            for port in internal:
                assert ask(stack, cloud, source, role, port).verdict == "DENIED", (source, role, port)


def test_the_mss_message_path_only_crosses_the_firewall_on_25() -> None:
    stack = shipped("mss-distributed-aws")
    local = {n.entry for n in stack.flows.notices if n.kind == "localhost"}
    assert {"imss-scan-service", "imss-postfix-delivery", "imss-scan-reprocess"} <= local
