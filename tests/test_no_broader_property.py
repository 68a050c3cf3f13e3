"""Property: nothing that enters seawall makes a rule broader than its source can legitimately produce.

Hypothesis generates IP-set locks (any network, any prefix, any address space),
site bindings and internet-equivalence thresholds for the shipped DMZ stack, and
compiles them the way `seawall plan` does. Either seawall refuses with a one-line
UserError, or every rendered rule is justified:

- every vendor prefix-list entry is something its source can produce (a DNS answer is
  one public address; nothing retired) and came from the lock or the documents;
- every group of rules a cloud evaluates together (role, direction, protocol, ports)
  covers less than the internet, unless its peers are the internet by an explicit
  opt-in (an entry whose peer is the internet, a site bound to `internet`, a service in
  seawall:internetEgress).
"""

from __future__ import annotations

import ipaddress
import json
import tempfile
from pathlib import Path

from builders import _CATALOG
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from seawall.addresses.lock import HostRecord, Lock
from seawall.addresses.validate import address_problem
from seawall.errors import UserError
from seawall.netaddr import internet_equivalent
from seawall.stack import compile_config, render_aws_stack, render_azure_stack
from seawall.stackconfig import parse_config

DNS_HOST = "kav-update-8-1.clearswift.net"
SERVICE = "clearswift-seg/kav-update"
RETIRED = set(_CATALOG.products["clearswift-seg"].services["kav-update"].retired_addresses)
DOCUMENTED = {
    name: {str(ipaddress.ip_network(a)) for a in service.addresses}
    for name, service in _CATALOG.products["clearswift-seg"].services.items()
}


@st.composite
def networks(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        prefix = draw(st.sampled_from([0, 1, 2, 4, 8, 11, 16, 24, 30, 32, 32, 32]))
        address = ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1)))
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    prefix = draw(st.sampled_from([0, 1, 8, 32, 48, 64, 128, 128]))
    address = ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1)))
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@st.composite
def narrow(draw: st.DrawFn) -> str:
    """What a careful user or a healthy DNS gives: a /24-/32 (public or not; the checks decide)."""
    address = ipaddress.IPv4Address(draw(st.integers(2**24, 2**32 - 2**28)))
    return str(ipaddress.ip_network(f"{address}/{draw(st.sampled_from([24, 28, 32, 32]))}", strict=False))


@st.composite
def public_host(draw: st.DrawFn) -> str:
    """A single public address, as a DNS answer should be."""
    net = ipaddress.ip_network(f"{ipaddress.IPv4Address(draw(st.integers(2**24, 2**32 - 2**28)))}/32")
    return str(net) if address_problem(net, "dns") is None else "185.155.104.99/32"


special = st.sampled_from(["0.0.0.0/1", "128.0.0.0/1", "10.1.2.3/32", "127.0.0.1/32", "184.72.245.1/32", "::/1"])


def config(admin: list[str], ipv6: bool, threshold: int) -> dict[str, object]:
    return {
        "seawall:topology": "dmz",
        "seawall:cloud": "aws",
        "seawall:product": "clearswift-seg",
        "seawall:features": ["kaspersky", "pmm"],
        "seawall:vpcId": "vpc-0123456789abcdef0",  # Azure renders the same stack in a placeholder resource group
        "seawall:ipv6": ipv6,
        "seawall:internetEquivalent": {"ipv4": threshold},
        "seawall:peers": {
            "internal-mail-servers": ["192.0.2.10/32"],
            "dns-servers": ["192.0.2.53/32"],
            "admin-clients": admin,
            "end-users": ["198.51.100.128/25"],
            "directory-servers": ["192.0.2.30/32"],
        },
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lock_addresses=st.lists(st.one_of(public_host(), public_host(), networks(), special), max_size=6, unique=True),
    admin=st.lists(
        st.one_of(narrow(), narrow(), networks(), special, st.just("internet")), min_size=1, max_size=4, unique=True
    ),
    ipv6=st.booleans(),
    threshold=st.sampled_from([1, 4, 8]),
)
def test_no_input_makes_a_rule_broader_than_its_source(
    lock_addresses: list[str], admin: list[str], ipv6: bool, threshold: int
) -> None:
    lock = Lock(hosts={DNS_HOST: HostRecord(tuple(sorted(lock_addresses)), "ok", "dns", (SERVICE,))})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ipsets.lock.json"
        path.write_text(lock.to_text(), encoding="utf-8")
        try:
            compiled = compile_config(parse_config("prop", config(admin, ipv6, threshold)), _CATALOG, None, path)
            aws = render_aws_stack(compiled)
            azure = render_azure_stack(compiled)
        except UserError as exc:
            assert "\n" not in str(exc)  # refused, in one line: nothing was opened
            event("refused")
            return
    event("planned")
    opted_sites = {"admin-clients"} if "internet" in admin else set()
    lists = {pl.key: pl for pl in aws.prefix_lists}
    for pl in aws.prefix_lists:
        for cidr, _ in pl.entries:
            net = ipaddress.ip_network(cidr)
            assert address_problem(net, "dns") is None, cidr
            from_lock = lock_addresses if pl.service == "kav-update" else []
            assert cidr in DOCUMENTED[pl.service] or cidr in from_lock, cidr  # nothing but its sources
            assert str(net.network_address) not in RETIRED
    groups: dict[tuple[str, str, str, int, int], list[str]] = {}
    for rule in aws.rules:
        justified = all(p == "internet" or p.removeprefix("site:") in opted_sites for p in rule.peers)
        if justified or rule.peer.kind == "security_group" or rule.peer.external:
            continue
        key = (rule.role, rule.direction, rule.ip_protocol, rule.from_port, rule.to_port)
        nets = [c for c, _ in lists[rule.peer.value].entries] if rule.peer.kind == "prefix_list" else [rule.peer.value]
        groups.setdefault(key, []).extend(nets)
    for key, nets in groups.items():
        for version in (4, 6):
            assert not internet_equivalent(nets, version, threshold if version == 4 else None), (key, nets)
    # Azure renders the same flows: its unjustified prefixes obey the same bound.
    for role in azure.roles:
        for rule in role.rules:
            side = rule.source if rule.direction == "Inbound" else rule.destination
            justified = all(p == "internet" or p.removeprefix("site:") in opted_sites for p in rule.peers)
            if rule.access == "Allow" and side.kind == "prefixes" and not justified:
                for version in (4, 6):
                    assert not internet_equivalent(side.values, version, threshold if version == 4 else None)


def test_the_property_sees_refusals_and_acceptances() -> None:
    """The generator reaches both outcomes: a property that only ever refuses would prove nothing."""
    ok = compile_config(parse_config("prop", config(["198.51.100.0/28"], False, 4)), _CATALOG)
    assert ok.flows.flows
    lock = Lock(hosts={DNS_HOST: HostRecord(("0.0.0.0/1",), "ok", "dns", (SERVICE,))})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lock.json"
        path.write_text(json.dumps(json.loads(lock.to_text())))
        try:
            compile_config(parse_config("prop", config(["198.51.100.0/28"], False, 4)), _CATALOG, None, path)
        except UserError as exc:
            assert "DNS answer is a single address" in str(exc)
        else:
            raise AssertionError("a /1 from DNS was accepted")
