"""Every hard limit of both clouds is checked before anything is declared, with a typed error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from builders import SHIPPED, aws, azure, shipped, variant
from seawall.aws.limits import DESCRIPTION_FORBIDDEN as AWS_DESCRIPTION_CHARS
from seawall.azure.limits import DENY_ALL_PRIORITY, MAX_DESCRIPTION, RULE_NAME
from seawall.azure.render import assign_priorities
from seawall.errors import QuotaExceeded
from seawall.text import ascii_description

BASE: dict[str, Any] = {
    "topology": "dmz",
    "cloud": "aws",
    "product": "clearswift-seg",
    "vpcId": "vpc-0123456789abcdef0",
    "features": ["ldap"],
    "peers": {
        "internal-mail-servers": ["192.0.2.10/32"],
        "dns-servers": ["192.0.2.53/32"],
        "admin-clients": ["198.51.100.0/28"],
        "directory-servers": ["192.0.2.30/32"],
    },
}
# BASE on Azure: each cloud's placement keys (the other cloud's are refused).
AZURE_BASE: dict[str, Any] = {
    **{k: v for k, v in BASE.items() if k != "vpcId"},
    "cloud": "azure",
    "resourceGroupName": "rg",
    "location": "westeurope",
}


def many_hosts(count: int) -> list[str]:
    return [f"10.1.{i // 250}.{i % 250 + 1}/32" for i in range(count)]


def test_aws_rule_quota_counts_per_direction_and_names_the_way_out() -> None:
    # 15 directory servers fit in two groups now; 1,200 need more rules than one interface may hold.
    assert (
        len(aws(variant({**BASE, "peers": {**BASE["peers"], "directory-servers": many_hosts(15)}})).security_groups)
        == 2
    )
    stack = variant({**BASE, "peers": {**BASE["peers"], "directory-servers": many_hosts(1200)}})
    with pytest.raises(QuotaExceeded) as info:
        aws(stack)
    message = str(info.value)
    assert info.value.role == "gateway" and info.value.limit == 60 * 5 and info.value.count > 1000
    assert "egress IPv4" in message and "heaviest: site:directory-servers" in message
    assert "no quota AWS allows holds these rules on one interface" in message


def test_a_raised_aws_quota_lets_the_same_stack_render() -> None:
    quotas = {"aws": {"rulesPerSecurityGroup": 200, "securityGroupsPerEni": 5}}
    stack = variant({**BASE, "peers": {**BASE["peers"], "directory-servers": many_hosts(15)}, "quotas": quotas})
    spec = aws(stack)
    assert max(q.used for q in spec.quota_use if q.dimension == "egress IPv4") > 60
    assert len(spec.security_groups) == 1


def test_prefix_list_rules_count_their_max_entries() -> None:
    spec = aws(shipped("dmz-aws"))
    kav = next(p for p in spec.prefix_lists if p.service == "kav-update")
    assert kav.max_entries == len(kav.entries) + 2 and kav.address_family == "IPv4"
    rules = [
        r
        for r in spec.rules
        if r.role == "gateway" and r.direction == "egress" and r.peer.kind in ("cidr_ipv4", "security_group")
    ]
    weights = sum(p.max_entries for p in spec.prefix_lists)
    used = {(q.group, q.dimension): q.used for q in spec.quota_use}[("dmz-gateway", "egress IPv4")]
    assert used == len(rules) + weights


def test_rules_times_security_groups_per_eni_may_not_exceed_1000() -> None:
    quotas = {"aws": {"rulesPerSecurityGroup": 250, "securityGroupsPerEni": 5}}
    with pytest.raises(QuotaExceeded, match="1,000"):
        aws(variant({**BASE, "quotas": quotas}))


@pytest.mark.parametrize("stack_name", SHIPPED)
def test_aws_descriptions_use_only_the_allowed_characters_and_never_japanese(stack_name: str) -> None:
    stack = shipped(stack_name)
    spec = aws(stack)
    texts = [r.description for r in spec.rules] + [g.description for g in spec.security_groups]
    texts += [d for p in spec.prefix_lists for _, d in p.entries]
    for text in texts:
        assert len(text) <= 255 and not AWS_DESCRIPTION_CHARS.search(text), text
    assert all("[" in r.description for r in spec.rules), "every rule names its catalogue ids"


def test_long_descriptions_are_shortened_but_keep_their_ids() -> None:
    text = ascii_description("x" * 400 + " 受信", 255, ("seg-a", "seg-b"))
    assert len(text) <= 255 and text.endswith("[seg-a seg-b]")


def test_cidrs_are_canonical_one_family_per_rule() -> None:
    spec = aws(variant({**BASE, "peers": {**BASE["peers"], "admin-clients": ["198.51.100.0/28", "2001:db8::/64"]}}))
    ssh = [r for r in spec.rules if r.from_port == 22]
    assert {r.peer.kind for r in ssh} == {"cidr_ipv4", "cidr_ipv6"}


@pytest.mark.parametrize("stack_name", SHIPPED)
def test_azure_rules_keep_names_descriptions_and_priorities_within_limits(stack_name: str) -> None:
    spec = azure(shipped(stack_name))
    for role in spec.roles:
        seen = set()
        for rule in role.rules:
            assert RULE_NAME.match(rule.name) and len(rule.name) <= 80
            assert len(rule.description) <= MAX_DESCRIPTION
            assert 100 <= rule.priority <= 4096
            assert (rule.direction, rule.priority) not in seen
            seen.add((rule.direction, rule.priority))
        denies = {(r.direction, r.priority) for r in role.rules if r.access == "Deny"}
        assert denies == {("Inbound", DENY_ALL_PRIORITY), ("Outbound", DENY_ALL_PRIORITY)}


def test_azure_never_mixes_address_families_in_one_rule() -> None:
    stack = variant({**AZURE_BASE, "peers": {**BASE["peers"], "admin-clients": ["198.51.100.0/28", "2001:db8::/64"]}})
    ssh = [r for role in azure(stack).roles for r in role.rules if r.destination_port_range == "22"]
    assert sorted(r.source.values for r in ssh) == [("198.51.100.0/28",), ("2001:db8::/64",)]


def test_azure_splits_more_than_ten_asgs_across_rules() -> None:
    ids = [
        f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/admins{i}"
        for i in range(12)
    ]
    stack = variant({**AZURE_BASE, "peers": {**BASE["peers"], "admin-clients": ids}})
    ssh = [r for role in azure(stack).roles for r in role.rules if r.destination_port_range == "22"]
    assert sorted(len(r.source.values) for r in ssh) == [2, 10]


def test_azure_rule_quota_per_nsg() -> None:
    stack = variant({**AZURE_BASE, "quotas": {"azure": {"rulesPerNsg": 5}}})
    with pytest.raises(QuotaExceeded, match="NSG rules"):
        azure(stack)


def test_priorities_are_unique_and_ignore_list_order() -> None:
    names = [f"in-tcp-{p}-site-x-ipv4" for p in range(200)]
    forward, backward = assign_priorities(names), assign_priorities(list(reversed(names)))
    assert forward == backward and len(set(forward.values())) == 200


def test_the_word_list_of_the_description_alphabet_is_what_aws_documents() -> None:
    assert AWS_DESCRIPTION_CHARS.pattern == r"[^A-Za-z0-9 ._\-:/()#,@\[\]+=;{}!$*]"
    assert re.sub(AWS_DESCRIPTION_CHARS, "", "a-b_c.d:e/f(g)#,@[]+=;{}!$* ") == "a-b_c.d:e/f(g)#,@[]+=;{}!$* "
