"""Judged in packets, through the real CLI: each case of a change that moves traffic, and each that moves none.

Every row edits a shipped stack's real plan the way a careless contributor (or a hand in the
portal) would, then runs ``seawall diff BASE HEAD --fail-on broadening``: exit 3 when the head
admits a packet the base does not, exit 1 (a change, no broadening) or 0 otherwise.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import CATALOG_DIR, REPO
from seawall.cli import app
from seawall.preview.plan import plan_stack
from typer.testing import CliRunner

NSG = "azure-native:network:NetworkSecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
Plan = dict[str, Any]


@cache
def _plan_text(stack: str) -> str:
    return plan_stack(stack, REPO / "stacks").to_text()


def plan(stack: str) -> Plan:
    data: Plan = json.loads(_plan_text(stack))
    return data


def rules(data: Plan) -> list[dict[str, Any]]:
    nsg = next(r for r in data["resources"] if r["type"] == NSG)
    found: list[dict[str, Any]] = nsg["inputs"]["securityRules"]
    return found


def rule(data: Plan, name: str) -> dict[str, Any]:
    return next(r for r in rules(data) if r["name"] == name)


def ssh_aws(data: Plan) -> dict[str, Any]:
    found: dict[str, Any] = next(
        r for r in data["resources"] if r["type"] == INGRESS and r["inputs"].get("fromPort") == 22
    )
    return found


SSH = "in-tcp-22-site-admin-clients-ipv4"


def delete_deny_out(d: Plan) -> None:
    rules(d).remove(rule(d, "deny-all-outbound"))


def delete_deny_in(d: Plan) -> None:
    rules(d).remove(rule(d, "deny-all-inbound"))


def narrow_deny_in_to_10(d: Plan) -> None:
    rule(d, "deny-all-inbound")["sourceAddressPrefix"] = "10.0.0.0/8"


def narrow_deny_in_to_internet(d: Plan) -> None:
    rule(d, "deny-all-inbound")["sourceAddressPrefix"] = "Internet"


def narrow_deny_in_to_tcp(d: Plan) -> None:
    rule(d, "deny-all-inbound")["protocol"] = "Tcp"


def widen_destination(d: Plan) -> None:
    r = rule(d, SSH)
    del r["destinationApplicationSecurityGroups"]
    r["destinationAddressPrefix"] = "*"


def allow_above_deny(d: Plan) -> None:
    """An allow for 3389 placed before the deny-all: it lets RDP in."""
    rules(d).append(_rdp("Allow", "allow-rdp", 200))


def shadowed_allow(d: Plan) -> None:
    """An extra allow for 3389 below a new higher-priority deny for 3389: nothing new gets through."""
    rules(d).append(_rdp("Deny", "deny-rdp", 150))
    rules(d).append(_rdp("Allow", "allow-rdp", 160))


def _rdp(access: str, name: str, priority: int) -> dict[str, Any]:
    return {
        "access": access,
        "direction": "Inbound",
        "name": name,
        "priority": priority,
        "protocol": "Tcp",
        "sourceAddressPrefix": "Internet",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "destinationPortRange": "3389",
    }


def added_deny(d: Plan) -> None:
    rules(d).append({**_rdp("Deny", "deny-rdp", 150), "destinationPortRange": "22"})


def reorder_and_rename(d: Plan) -> None:
    r = rule(d, SSH)
    r["priority"], r["name"] = 3001, "ssh-from-admins"


def reorder_disjoint(d: Plan) -> None:
    """Swap the priorities of two allows whose packets do not overlap."""
    a, b = rule(d, SSH), rule(d, "in-tcp-80-site-end-users-ipv4")
    a["priority"], b["priority"] = b["priority"], a["priority"]


def aws_nat64(d: Plan) -> None:
    r = ssh_aws(d)
    del r["inputs"]["cidrIpv4"]
    r["inputs"]["cidrIpv6"] = "64:ff9b::/96"


def added(d: Plan, type_: str, name: str, inputs: dict[str, Any]) -> None:
    """A resource added to a dmz-aws plan, as a hand (or another program) would."""
    d["resources"].append(
        {"type": type_, "name": name, "urn": f"urn:pulumi:dmz-aws::seawall::{type_}::{name}", "inputs": inputs}
    )


def aws_unmodelled(d: Plan) -> None:
    rule = {"ruleAction": "allow", "cidrBlock": "0.0.0.0/0", "protocol": "-1"}
    added(d, "aws:ec2/networkAclRule:NetworkAclRule", "open-all", rule)


Edit = Callable[[Plan], None]
# (case, stack, edit, exit with --fail-on broadening, a phrase the output must hold)
CASES: list[tuple[str, str, Edit, int, str]] = [
    ("deleted Azure deny-all-outbound", "dmz-azure", delete_deny_out, 3, "AllowInternetOutBound (Azure default)"),
    ("deleted Azure deny-all-inbound", "dmz-azure", delete_deny_in, 3, "AllowVnetInBound (Azure default)"),
    ("deny-all-inbound narrowed to 10.0.0.0/8", "dmz-azure", narrow_deny_in_to_10, 3, "tag:VirtualNetwork"),
    ("deny-all-inbound narrowed to Internet", "dmz-azure", narrow_deny_in_to_internet, 3, "tag:VirtualNetwork"),
    ("deny-all-inbound narrowed to Tcp", "dmz-azure", narrow_deny_in_to_tcp, 3, "protocols 0-5; protocols 7-255"),
    ("inbound allow's destination widened to *", "dmz-azure", widen_destination, 3, "now admits tcp/22 on gateway (at"),
    ("an allow above the deny-all", "dmz-azure", allow_above_deny, 3, "opens tcp/3389 on gateway from Internet"),
    ("an allow below a higher-priority deny", "dmz-azure", shadowed_allow, 1, "tcp/3389"),
    ("an added deny", "dmz-azure", added_deny, 1, "no longer admits tcp/22"),
    ("a rule renamed and moved", "dmz-azure", reorder_and_rename, 0, "no firewall change"),
    ("disjoint rules reordered", "dmz-azure", reorder_disjoint, 0, "no firewall change"),
    ("NAT64 prefix on SSH", "dmz-aws", aws_nat64, 3, "the whole IPv4 internet (through NAT64)"),
    ("a network ACL rule seawall does not model", "dmz-aws", aws_unmodelled, 3, "cannot judge"),
]


@pytest.mark.parametrize(("case", "stack", "edit", "code", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_diff_judges_packets(tmp_path: Path, case: str, stack: str, edit: Edit, code: int, phrase: str) -> None:
    base, head = plan(stack), plan(stack)
    edit(head)
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "head.json").write_text(json.dumps(head))
    args = ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "-f", "table"]
    result = CliRunner().invoke(app, [*args, "--fail-on", "broadening"])
    assert result.exit_code == code, (case, result.output)
    assert phrase in result.stdout, (case, result.stdout)
    if code == 3:
        assert "BROADENING" in result.stdout
    else:
        assert "BROADENING" not in result.stdout


def test_fail_on_any_sees_a_deleted_deny_all(tmp_path: Path) -> None:
    """The issue's first case: a deleted deny-all-outbound was "No firewall change" and exit 0 with --fail-on any."""
    head = plan("dmz-azure")
    delete_deny_out(head)
    (tmp_path / "base.json").write_text(json.dumps(plan("dmz-azure")))
    (tmp_path / "head.json").write_text(json.dumps(head))
    result = CliRunner().invoke(
        app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "--fail-on", "any"]
    )
    assert result.exit_code == 3 and "No firewall change" not in result.stdout
    assert "> [!CAUTION]" in result.stdout and "| **admitted now** | out | gateway" in result.stdout


def test_a_deleted_deny_all_reads_in_a_line_or_two_and_the_json_keeps_every_hole(tmp_path: Path) -> None:
    """Everything but what the rules allowed is one line per hole; head's own set says it in two lines."""
    head = plan("dmz-azure")
    delete_deny_out(head)
    (tmp_path / "base.json").write_text(json.dumps(plan("dmz-azure")))
    (tmp_path / "head.json").write_text(json.dumps(head))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "-f", "json"])
    data = json.loads(result.stdout)
    assert data["broadening"] == [
        "now admits any protocol from gateway (at every address, any tag but VirtualNetwork, any list, any unknown)"
        " to Internet (the whole internet: the whole IPv4 internet and the whole IPv6 internet),"
        " by dmz-gateway-nsg/AllowInternetOutBound (Azure default)",
        "now admits any protocol from gateway (at any role, any group, tag:VirtualNetwork) to every address,"
        " any role, any group, any tag but AzureLoadBalancer (the whole internet: the whole IPv4 internet and the whole IPv6"
        " internet), by dmz-gateway-nsg/AllowVnetOutBound (Azure default), dmz-gateway-nsg/AllowInternetOutBound"
        " (Azure default); before, it admitted part of this",
    ]
    exact = data["packets"]["broadening"]
    assert len(exact) == 10  # every hole: the ports the NSG allowed to its own peers, now open to the rest
    assert {"protocol": "tcp", "ports": "22"}.items() <= next(x for x in exact if x["ports"] == "22").items()


def test_the_same_unknown_on_both_sides_is_no_change(tmp_path: Path) -> None:
    base, head = plan("dmz-aws"), plan("dmz-aws")
    aws_unmodelled(base)
    aws_unmodelled(head)
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "head.json").write_text(json.dumps(head))
    result = CliRunner().invoke(
        app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "--fail-on", "broadening"]
    )
    assert result.exit_code == 0, result.output


def test_json_lists_the_packets_with_the_rules_responsible(tmp_path: Path) -> None:
    head = plan("dmz-azure")
    narrow_deny_in_to_internet(head)
    (tmp_path / "base.json").write_text(json.dumps(plan("dmz-azure")))
    (tmp_path / "head.json").write_text(json.dumps(head))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "-f", "json"])
    data = json.loads(result.stdout)
    more = data["packets"]["broadening"]
    assert more and all(line["role"] == "gateway" and line["direction"] == "in" for line in more)
    assert any("dmz-gateway-nsg/AllowVnetInBound (Azure default)" in line["rules"] for line in more)
    assert data["packets"]["narrowing"] == []


# --- the compiler: internet-equivalence per port, across rules and families ---


def _stack(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    text = (REPO / "stacks" / "Pulumi.dmz-aws.yaml").read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    (stacks / "Pulumi.dmz-aws.yaml").write_text(text)
    return stacks


def test_overlapping_port_ranges_add_up_to_the_internet(tmp_path: Path) -> None:
    """20–30 from 16.0.0.0/5 and 22 from 24.0.0.0/5: SSH open to a /4's worth of IPv4, refused at plan."""
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, catalog, ignore=shutil.ignore_patterns("__init__.py", "*.json", "__pycache__"))
    seg = catalog / "clearswift-seg.yaml"
    entry = (
        "  - id: seg-wide-range\n    host: gateway\n    direction: inbound\n    protocol: tcp\n    ports: [[20, 30]]\n"
        "    peer: {site: end-users}\n    scope: internal\n    purpose: {en: A wide range}\n"
        "    source: {section: Internal Connections, row: made up for the test}\n"
    )
    seg.write_text(seg.read_text().replace("  - id: seg-syslog\n", entry + "  - id: seg-syslog\n"))
    stacks = _stack(
        tmp_path,
        ("admin-clients: [198.51.100.0/28]", "admin-clients: [24.0.0.0/5]"),
        ("end-users: [198.51.100.128/25]", "end-users: [16.0.0.0/5]"),
    )
    result = CliRunner().invoke(
        app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "--catalog", str(catalog), "-f", "json"]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "tcp/22 from site:admin-clients, site:end-users on role gateway" in result.stderr
    assert "cover 16.0 /8s of IPv4" in result.stderr


def test_a_nat64_prefix_is_the_ipv4_internet(tmp_path: Path) -> None:
    stacks = _stack(tmp_path, ("admin-clients: [198.51.100.0/28]", "admin-clients: [64:ff9b::/96]"))
    result = CliRunner().invoke(app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "-f", "json"])
    assert result.exit_code == 2, result.output
    assert "the whole IPv4 internet (through NAT64)" in result.stderr and result.stderr.count("\n") == 1


def test_check_judges_a_preview_by_what_the_role_admits() -> None:
    """The CrossGuard route (check_resources on registered resources): two rules on 20–30 and 22 are the internet."""
    from seawall.analysis.policy import check_resources
    from seawall.catalog.load import load_catalog
    from seawall.registered import Resource

    data = plan("dmz-aws")
    ssh = ssh_aws(data)
    ssh["inputs"]["cidrIpv4"] = "24.0.0.0/5"
    wide = copy.deepcopy(ssh)
    wide["name"] = "wide-range"
    wide["urn"] = ssh["urn"].replace(ssh["name"], "wide-range")
    wide["inputs"].update(fromPort=20, toPort=30, cidrIpv4="16.0.0.0/5")
    data["resources"].append(wide)
    found = check_resources([Resource.from_json(r) for r in data["resources"]], load_catalog())
    messages = [v.message for v in found if v.rule == "no-management-from-internet"]
    assert any("with the 1 other rule(s) for tcp/22 on gateway it covers 16.0 /8s of IPv4" in m for m in messages)


def test_check_flags_a_deleted_deny_all_through_azures_defaults() -> None:
    from seawall.analysis.policy import check_resources
    from seawall.catalog.load import load_catalog
    from seawall.registered import Resource

    data = plan("dmz-azure")
    delete_deny_out(data)
    found = check_resources([Resource.from_json(r) for r in data["resources"]], load_catalog())
    messages = [v.message for v in found if v.rule == "internet-egress-opted-in"]
    assert any(
        "Azure's default AllowInternetOutBound lets every protocol out to the internet" in m for m in messages
    ), messages


def test_conformance_judges_what_a_role_admits_against_what_its_rows_allow() -> None:
    """A spec whose NSG lost deny-all-inbound: no rule is unjustified, but AllowVnetInBound lets the VNet in."""
    from dataclasses import replace

    from builders import azure, shipped
    from seawall.analysis.conformance import conformance

    compiled = shipped("dmz-azure")
    spec = azure(compiled)
    assert not [u for u in conformance(compiled, {"azure": spec}).unjustified]
    roles = tuple(
        replace(role, rules=tuple(r for r in role.rules if r.name != "deny-all-inbound")) for role in spec.roles
    )
    found = conformance(compiled, {"azure": replace(spec, roles=roles)}).unjustified
    assert found and all(u.role == "gateway" and u.half == "in" for u in found)
    assert any("AllowVnetInBound (Azure default)" in u.rule and "tag:VirtualNetwork" in u.why for u in found)


def test_a_loosened_internet_measure_is_a_warning_in_every_plan_and_a_check_finding(tmp_path: Path) -> None:
    stacks = _stack(tmp_path, ("  seawall:tags:\n", "  seawall:internetEquivalent: {ipv4: 2}\n  seawall:tags:\n"))
    planned = CliRunner().invoke(app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "-f", "json"])
    assert planned.exit_code == 0, planned.output
    warnings = [w["text"] for w in json.loads(planned.stdout)["warnings"]]
    assert any("seawall:internetEquivalent is loosened: only a /2's worth of IPv4 (default /4)" in w for w in warnings)
    checked = CliRunner().invoke(app, ["check", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "-f", "json"])
    assert checked.exit_code == 0, checked.output  # advisory by default: reported, not failed
    found = [v for v in json.loads(checked.stdout)["violations"] if v["rule"] == "internet-measure-default"]
    assert len(found) == 1 and found[0]["level"] == "advisory"
    strict = CliRunner().invoke(
        app,
        ["check", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "--level", "internet-measure-default=mandatory"],
    )
    assert strict.exit_code == 1
    default = CliRunner().invoke(
        app, ["check", "--stack", "dmz-aws", "--stacks-dir", str(REPO / "stacks"), "-f", "json"]
    )
    assert not [v for v in json.loads(default.stdout)["violations"] if v["rule"] == "internet-measure-default"]


def test_a_hostile_pulumi_project_file_is_one_line(tmp_path: Path) -> None:
    """stackConfigDir is read from Pulumi.yaml with the bounded reader: an unknown tag or an alias is refused."""
    import os

    for text in ("name: x\nstackConfigDir: !x stacks\n", "name: &a x\nstackConfigDir: *a\n"):
        (tmp_path / "Pulumi.yaml").write_text(text)
        here = os.getcwd()
        os.chdir(tmp_path)
        try:
            result = CliRunner().invoke(app, ["plan", "--stack", "dmz-aws"])
        finally:
            os.chdir(here)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        assert "Pulumi.yaml" in result.stderr and "Traceback" not in result.output


# --- spellings a hostile review found hiding broadening: each now exit 3 ---


def _none(d: Plan) -> None:
    pass


def _source_ports(ports: str) -> Edit:
    def edit(d: Plan) -> None:
        rule(d, "in-tcp-25-internet")["sourcePortRange"] = ports

    return edit


def _low_source_deny(d: Plan) -> None:
    """A deny of TCP from source ports 0-1023 above everything: real clients use high ports and pass it."""
    rules(d).append({**_rdp("Deny", "deny-low-ports", 100), "destinationPortRange": "*", "sourcePortRange": "0-1023"})


def _low_source_deny_and_ssh(d: Plan) -> None:
    _low_source_deny(d)
    rules(d).append({**_rdp("Allow", "ssh-anywhere", 200), "destinationPortRange": "22"})


def _icmp(from_port: int, to_port: int) -> Edit:
    def edit(d: Plan) -> None:
        r = ssh_aws(d)["inputs"]
        r["ipProtocol"], r["fromPort"], r["toPort"] = "icmp", from_port, to_port

    return edit


def _rule_to_parent(d: Plan) -> None:
    """A child's internet rule attached to the parent's group, its own tags left as they were."""
    r = next(r for r in d["resources"] if r["name"] == "mss-distributed-child-in-tcp-25-internet-ipv4")
    r["inputs"]["securityGroupId"] = "${mss-distributed-parent-sg.id}"


def _versioned_nsg(d: Plan) -> None:
    nsg = next(r for r in d["resources"] if r["type"] == NSG)
    nsg["type"] = "azure-native:network/v20230901:NetworkSecurityGroup"


def _aws_native_ingress(d: Plan) -> None:
    rule = {"groupId": "${dmz-gateway-sg.id}", "ipProtocol": "-1", "cidrIp": "0.0.0.0/0"}
    added(d, "aws-native:ec2:SecurityGroupIngress", "everything", rule)


def _other_type(d: Plan) -> None:
    """A resource of a type seawall neither reads nor lists (a provider's new firewall rule, say)."""
    added(d, "aws:ec2/transitGatewayPolicyTableRule:Allow", "through", {"cidr": "0.0.0.0/0"})


def _mixed(widen: bool) -> Edit:
    """Both clouds' firewalls in one plan (their roles share the name gateway); ``widen``: SSH on AWS from anywhere."""

    def edit(d: Plan) -> None:
        d["resources"] += plan("dmz-azure")["resources"]
        if widen:
            ssh_aws(d)["inputs"]["cidrIpv4"] = "0.0.0.0/0"

    return edit


def _impostor_group(d: Plan) -> None:
    """A new group tagged for role parent, made the peer of the child's database rule: its members are anyone's."""
    parent = next(r for r in d["resources"] if r["name"] == "mss-distributed-parent-sg")
    d["resources"].append({**copy.deepcopy(parent), "name": "impostor-sg", "urn": parent["urn"] + "-impostor"})
    r = next(r for r in d["resources"] if r["name"] == "mss-distributed-child-in-tcp-5432-role-parent")
    r["inputs"]["referencedSecurityGroupId"] = "${impostor-sg.id}"


def _impostor_asg(d: Plan) -> None:
    """A new ASG tagged for role gateway, made the source of an SSH allow (VNet traffic is allowed already)."""
    asg = next(r for r in d["resources"] if r["type"].endswith("ApplicationSecurityGroup"))
    d["resources"].append({**copy.deepcopy(asg), "name": "impostor-asg", "urn": asg["urn"] + "-impostor"})
    rules(d).append(
        {**_rdp("Allow", "ssh-from-peers", 200), "destinationPortRange": "22", "sourceAddressPrefix": None}
        | {"sourceApplicationSecurityGroups": [{"id": "${impostor-asg.id}"}]}
    )


def _decoy_nsg(d: Plan) -> None:
    """Allow-all added to the real NSG, and a second NSG tagged for the role that denies everything."""
    rules(d).append({**_rdp("Allow", "allow-all", 100), "destinationPortRange": "*", "protocol": "*"})
    nsg = next(r for r in d["resources"] if r["type"] == NSG)
    decoy = copy.deepcopy(nsg) | {"name": "decoy-nsg", "urn": nsg["urn"] + "-decoy"}
    decoy["inputs"]["securityRules"] = [
        {**_rdp("Deny", f"deny-{w}", 100), "direction": w, "destinationPortRange": "*", "protocol": "*",
         "sourceAddressPrefix": "*"}
        for w in ("Inbound", "Outbound")
    ]  # fmt: skip
    d["resources"].append(decoy)


def _internet_as_every_address(d: Plan) -> None:
    r = rule(d, "in-tcp-25-internet")
    del r["sourceAddressPrefix"]
    r["sourceAddressPrefixes"] = ["0.0.0.0/0", "::/0"]


def _smtp_from_10(d: Plan) -> None:
    """An allow from 10.0.0.0/8 beside the allow from Internet: outside addresses there were in already."""
    rules(d).append({**rule(d, "in-tcp-25-internet"), "name": "smtp-from-10", "priority": 200,
                     "sourceAddressPrefix": "10.0.0.0/8"})  # fmt: skip


def _asg_rdp(d: Plan) -> None:
    rules(d).append(
        {**_rdp("Allow", "rdp-from-gateways", 160), "sourceAddressPrefix": None}
        | {"sourceApplicationSecurityGroups": [{"id": "${dmz-gateway-asg.id}"}]}
    )


def _deny_10_then_asg_rdp(d: Plan) -> None:
    rules(d).append({**_rdp("Deny", "no-rdp-from-10", 150), "sourceAddressPrefix": "10.0.0.0/8"})
    _asg_rdp(d)


def _second_nsg_allowing_ssh(d: Plan) -> None:
    """A second NSG tagged for the role (a subnet's, say) that lets SSH in from the internet."""
    nsg = next(r for r in d["resources"] if r["type"] == NSG)
    subnet = copy.deepcopy(nsg) | {"name": "subnet-nsg", "urn": nsg["urn"] + "-subnet"}
    subnet["inputs"]["securityRules"] = [{**_rdp("Allow", "ssh", 100), "destinationPortRange": "22"}]
    d["resources"].append(subnet)


def _and_ssh_in_the_real_one(d: Plan) -> None:
    _second_nsg_allowing_ssh(d)
    rules(d).append({**_rdp("Allow", "ssh-from-internet", 100), "destinationPortRange": "22"})


def _azure_cloud_allowed(d: Plan) -> None:
    rules(d).append({**_rdp("Allow", "from-azure-cloud", 160), "sourceAddressPrefix": "AzureCloud"})


def _internet_denied_then_azure_cloud(d: Plan) -> None:
    """Azure's Internet holds its public service tags: a deny of Internet stops AzureCloud too."""
    rules(d).append({**_rdp("Deny", "no-internet", 150)})
    _azure_cloud_allowed(d)


def _parent_denied(priority: int) -> Edit:
    """On the child: a deny from the parent ASG, at ``priority``, and an allow from the child ASG at 160."""

    def edit(d: Plan) -> None:
        nsg = next(r for r in d["resources"] if r["name"] == "mss-distributed-child-nsg")
        group = {"sourceAddressPrefix": None}
        nsg["inputs"]["securityRules"] += [
            {**_rdp("Deny", "no-parent", priority), **group,
             "sourceApplicationSecurityGroups": [{"id": "${mss-distributed-parent-asg.id}"}]},
            {**_rdp("Allow", "from-child", 160), **group,
             "sourceApplicationSecurityGroups": [{"id": "${mss-distributed-child-asg.id}"}]},
        ]  # fmt: skip

    return edit


def _storage(denied: bool) -> Edit:
    def edit(d: Plan) -> None:
        if denied:
            rules(d).append({**_rdp("Deny", "no-storage", 150), "sourceAddressPrefix": "Storage"})
        rules(d).append({**_rdp("Allow", "from-west-europe", 160), "sourceAddressPrefix": "Storage.WestEurope"})

    return edit


# (case, stack, base edit, head edit, exit with --fail-on broadening, a phrase the output must hold)
HIDDEN: list[tuple[str, str, Edit, Edit, int, str]] = [
    ("an allow's source ports widened to *", "dmz-azure", _source_ports("1024-65535"), _none, 3, "cannot judge"),
    (
        "an allow behind a deny of low source ports",
        "dmz-azure",
        _low_source_deny,
        _low_source_deny_and_ssh,
        3,
        "its rules changed around what seawall reads approximately",
    ),
    (
        "the same deny of low source ports, nothing else",
        "dmz-azure",
        _low_source_deny,
        _low_source_deny,
        0,
        "no firewall change",
    ),
    ("ICMP echo-reply widened to every type", "dmz-aws", _icmp(0, 0), _icmp(-1, -1), 3, "ICMP type 0 code 0"),
    ("ICMP echo request (type 8, code 0) is a rule AWS accepts", "dmz-aws", _none, _icmp(8, 0), 3, "icmp"),
    ("a rule moved to another role's group", "mss-distributed-aws", _none, _rule_to_parent, 3, "parent"),
    ("an NSG under a versioned type token", "dmz-azure", _none, _versioned_nsg, 3, "cannot judge"),
    ("a group rule of the Cloud Control provider", "dmz-aws", _none, _aws_native_ingress, 3, "cannot judge"),
    ("a resource of a type seawall does not read", "dmz-aws", _none, _other_type, 3, "does not read"),
    ("the same such resource on both sides", "dmz-aws", _other_type, _other_type, 0, "no firewall change"),
    ("AWS SSH widened in a plan that holds both clouds", "dmz-aws", _mixed(False), _mixed(True), 3, "aws:gateway"),
    ("a new group tagged for a role, made a peer", "mss-distributed-aws", _none, _impostor_group, 3, "impostor-sg"),
    ("the same such group on both sides", "mss-distributed-aws", _impostor_group, _impostor_group, 0, "no firewall"),
    ("a new ASG tagged for a role, made a source", "dmz-azure", _none, _impostor_asg, 3, "impostor-asg"),
    ("an allow-all beside a decoy deny-all NSG of the role", "dmz-azure", _none, _decoy_nsg, 3, "the whole internet"),
    (
        "SSH opened in the real NSG beside another NSG of the role that allows it",
        "dmz-azure",
        _second_nsg_allowing_ssh,
        _and_ssh_in_the_real_one,
        3,
        "now admits tcp/22 on gateway from every IPv4 address but 198.51.100.0/28",
    ),
    (
        "a deny of Internet in front of an allow from AzureCloud, deleted",
        "dmz-azure",
        _internet_denied_then_azure_cloud,
        _azure_cloud_allowed,
        3,
        "now admits tcp/3389 on gateway from tag:AzureCloud",
    ),
    # a member may be in two groups at once: an interface in two ASGs, an address in two service tags
    (
        "a deny from one ASG moved below an allow from another",
        "mss-distributed-azure",
        _parent_denied(150),
        _parent_denied(170),
        3,
        "tcp/3389 on child from members of both role:child and role:parent would newly pass",
    ),
    (
        "the same two ASG rules on both sides",
        "mss-distributed-azure",
        _parent_denied(150),
        _parent_denied(150),
        0,
        "no firewall",
    ),
    (
        "a deny of Storage deleted in front of an allow from Storage.WestEurope",
        "dmz-azure",
        _storage(True),
        _storage(False),
        3,
        "from members of both tag:Storage and tag:Storage.WestEurope",
    ),
    # CIDRs reach the virtual network's members at their addresses; tags and ASGs are not read apart from them
    (
        "Internet rewritten as 0.0.0.0/0 and ::/0",
        "dmz-azure",
        _none,
        _internet_as_every_address,
        3,
        "tcp/25 on gateway from any member of the network, tag:AzureLoadBalancer at any IPv4 or IPv6 address",
    ),
    (
        "an allow from 10.0.0.0/8 beside Internet",
        "dmz-azure",
        _none,
        _smtp_from_10,
        3,
        "at 10.0.0.0/8 would newly pass, by dmz-gateway-nsg/smtp-from-10",
    ),
    (
        "a CIDR deny in front of an allow from an ASG, deleted",
        "dmz-azure",
        _deny_10_then_asg_rdp,
        _asg_rdp,
        3,
        "tcp/3389 on gateway from role:gateway at 10.0.0.0/8",
    ),
    (
        "the same CIDR deny and ASG allow on both sides",
        "dmz-azure",
        _deny_10_then_asg_rdp,
        _deny_10_then_asg_rdp,
        0,
        "no firewall",
    ),
]


@pytest.mark.parametrize(("case", "stack", "before", "after", "code", "phrase"), HIDDEN, ids=[c[0] for c in HIDDEN])
def test_spellings_that_hid_broadening(
    tmp_path: Path, case: str, stack: str, before: Edit, after: Edit, code: int, phrase: str
) -> None:
    base, head = plan(stack), plan(stack)
    before(base)
    after(head)
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "head.json").write_text(json.dumps(head))
    args = ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "-f", "table", "--fail-on", "broadening"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code, (case, result.output)
    assert phrase in result.stdout, (case, result.stdout)


def test_an_icmp_rule_reads_as_a_type_and_code(tmp_path: Path) -> None:
    """AWS ICMP rules carry a type in fromPort and a code in toPort (-1: every one), not a port range."""
    base, head = plan("dmz-aws"), plan("dmz-aws")
    _icmp(8, -1)(head)
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "head.json").write_text(json.dumps(head))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "-f", "table"])
    assert "opens icmp/type 8 on gateway" in result.stdout and "8--1" not in result.stdout, result.stdout


ASG = "azure-native:network:ApplicationSecurityGroup"


def _synthetic(rules_of: dict[str, list[dict[str, Any]]]) -> Plan:
    """A plan of four ASGs (w, x, y, z, tagged as roles) and NSGs for role web."""
    out: list[dict[str, Any]] = [
        {
            "type": ASG,
            "name": f"{r}-asg",
            "urn": f"urn:pulumi:t::s::{ASG}::{r}-asg",
            "inputs": {"tags": {"seawall:role": r}},
        }
        for r in "wxyz"
    ]
    for name, found in rules_of.items():
        out.append(
            {"type": NSG, "name": name, "urn": f"urn:pulumi:t::s::{NSG}::{name}",
             "inputs": {"tags": {"seawall:role": "web"}, "securityRules": found}}
        )  # fmt: skip
    return {"stack": "t", "resources": out, "outputs": {}, "warnings": []}


def _between_asgs(deny_priority: int = 4096) -> list[dict[str, Any]]:
    """Twelve allows, each from one ASG to another on a port of its own, then a deny-all."""
    found = [
        {**_rdp("Allow", f"{a}-to-{b}", 200 + 10 * i + j), "destinationPortRange": str(1000 + 10 * i + j)}
        | {"sourceAddressPrefix": None, "sourceApplicationSecurityGroups": [{"id": f"${{{a}-asg.id}}"}]}
        | {"destinationAddressPrefix": None, "destinationApplicationSecurityGroups": [{"id": f"${{{b}-asg.id}}"}]}
        for i, a in enumerate("wxyz")
        for j, b in enumerate("wxyz")
        if a != b
    ]
    return [*found, {**_rdp("Deny", "deny-all", deny_priority), "destinationPortRange": "*", "protocol": "*"}]


@pytest.mark.parametrize(
    ("case", "base", "head", "code"),
    [
        ("a deny-all's priority moved among rules of four ASGs", {"n": _between_asgs()}, {"n": _between_asgs(4095)}, 0),
        ("one of a role's two NSGs renamed", {"a": _between_asgs(), "b": []}, {"a2": _between_asgs(), "b": []}, 1),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_changes_that_move_nothing_among_many_groups(
    tmp_path: Path, case: str, base: dict[str, Any], head: dict[str, Any], code: int
) -> None:
    """Members of two groups at once, and NSGs in every combination, are judged without false alarms."""
    (tmp_path / "base.json").write_text(json.dumps(_synthetic(base)))
    (tmp_path / "head.json").write_text(json.dumps(_synthetic(head)))
    args = ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "-f", "table", "--fail-on", "broadening"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code, (case, result.output)
    assert "BROADENING" not in result.stdout and "cannot judge" not in result.stdout, (case, result.stdout)
