"""`seawall plan`: the real stack program under Pulumi's mock monitor, as a contract other tools build on."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path
from typing import Any

import pytest
from builders import SHIPPED, STACKS
from conftest import CATALOG_DIR, REPO
from seawall.cli import app
from seawall.preview.plan import Plan, Recorder, plan_stack, run_program
from typer.testing import CliRunner

GOLDEN = REPO / "tests" / "golden"


def plan(stack: str, catalog_dir: Path | None = None) -> Plan:
    return plan_stack(stack, STACKS, catalog_dir)


def by_name(p: Plan) -> dict[str, dict[str, Any]]:
    return {f"{r.type}::{r.name}": r.to_json() for r in p.resources}


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_shipped_stack_plans_cleanly_and_identically_twice(stack: str) -> None:
    first, second = plan(stack).to_text(), plan(stack).to_text()
    assert first == second
    data = json.loads(first)
    assert data["stack"] == stack and set(data) == {"stack", "resources", "outputs", "warnings"}
    keys = [(r["type"], r["name"]) for r in data["resources"]]
    assert keys == sorted(keys) and len(keys) == len(set(keys))


@pytest.mark.parametrize("stack", SHIPPED)
def test_logical_names_are_pinned(stack: str, update_golden: bool) -> None:
    """URNs never move. A new naming scheme must ship with pulumi.Alias-es, then --update-golden."""
    path = GOLDEN / f"{stack}.urns.txt"
    urns = "".join(f"{r.urn}\n" for r in plan(stack).resources)
    if update_golden:
        path.write_text(urns, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == urns


def test_references_between_resources_use_id_placeholders() -> None:
    resources = by_name(plan("dmz-aws"))
    smtp = resources["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::dmz-gateway-in-tcp-25-internet-ipv4"]
    assert smtp["inputs"] == {
        "cidrIpv4": "0.0.0.0/0",
        "description": "tcp/25 from internet: Receive messages using SMTP [seg-smtp-receive]",
        "fromPort": 25,
        "ipProtocol": "tcp",
        "securityGroupId": "${dmz-gateway-sg.id}",
        "tags": {
            "owner": "mail-platform",
            "seawall:entries": "seg-smtp-receive",
            "seawall:product": "clearswift-seg",
            "seawall:role": "gateway",
            "seawall:stack": "dmz-aws",
        },
        "toPort": 25,
    }
    kav = resources[
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::dmz-gateway-out-tcp-80-svc-kav-update-ipv4"
    ]
    assert kav["inputs"]["prefixListId"] == "${dmz-kav-update-ipv4-pl.id}"
    assert smtp["urn"] == (
        "urn:pulumi:dmz-aws::seawall::seawall:index:AwsFirewall$aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
        "::dmz-gateway-in-tcp-25-internet-ipv4"
    )


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_cloud_resource_says_which_stack_and_role_or_service_it_belongs_to(stack: str) -> None:
    for resource in plan(stack).resources:
        if resource.type.startswith("seawall:"):
            continue
        tags = resource.inputs["tags"]
        assert tags["seawall:stack"] == stack
        assert "seawall:role" in tags or "seawall:service" in tags, resource.name
        if "Rule" in resource.type:
            assert tags["seawall:entries"], resource.name


def test_aws_rules_are_standalone_one_peer_resources() -> None:
    p = plan("dmz-aws")
    types = {r.type for r in p.resources}
    assert "aws:ec2/securityGroupRule:SecurityGroupRule" not in types
    for r in p.resources:
        if r.type == "aws:ec2/securityGroup:SecurityGroup":
            assert "ingress" not in r.inputs and "egress" not in r.inputs
        if "SecurityGroup" in r.type and "Rule" in r.type:
            peers = [k for k in ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId") if k in r.inputs]
            assert len(peers) == 1, r.name


def test_azure_rules_are_inline_and_end_with_deny_all() -> None:
    p = plan("dmz-azure")
    assert "azure-native:network:SecurityRule" not in {r.type for r in p.resources}
    nsg = by_name(p)["azure-native:network:NetworkSecurityGroup::dmz-gateway-nsg"]["inputs"]
    rules = nsg["securityRules"]
    assert {(r["name"], r["priority"]) for r in rules if r["access"] == "Deny"} == {
        ("deny-all-inbound", 4096),
        ("deny-all-outbound", 4096),
    }
    peer = next(r for r in rules if r["name"] == "in-tcp-443-role-gateway")
    assert peer["sourceApplicationSecurityGroups"] == [{"id": "${dmz-gateway-asg.id}"}]


def test_outputs_give_ids_per_role_and_vendor_service() -> None:
    # A list per role: a role whose rules need several groups attaches every one of them.
    assert plan("dmz-aws").outputs["securityGroupIds"] == {"gateway": ["${dmz-gateway-sg.id}"]}
    assert plan("mss-distributed-azure").outputs["nsgIds"] == {
        "child": "${mss-distributed-child-nsg.id}",
        "parent": "${mss-distributed-parent-nsg.id}",
    }


def test_warnings_name_unresolved_vendor_services() -> None:
    warnings = plan("dmz-aws").to_json()["warnings"]
    assert {w["entry"] for w in warnings} >= {"seg-ntp", "seg-service-availability"}


def test_inserting_one_catalogue_entry_changes_only_that_entrys_resources(tmp_path: Path) -> None:
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, directory, ignore=shutil.ignore_patterns("__init__.py", "*.json", "__pycache__"))
    seg = directory / "clearswift-seg.yaml"
    new = (
        "  - id: seg-plan-inserted\n    host: gateway\n    direction: outbound\n    protocol: tcp\n    ports: [6514]\n"
        "    peer: {site: syslog-server}\n    scope: internal\n    features: [syslog]\n    purpose: {en: Syslog over TLS}\n"
        "    source: {section: Internal Connections, row: To the central SYSLOG server TCP 514}\n"
    )
    seg.write_text(seg.read_text(encoding="utf-8").replace("  - id: seg-syslog\n", new + "  - id: seg-syslog\n"))
    for stack in ("dmz-aws", "dmz-azure"):
        before, after = by_name(plan(stack)), by_name(plan(stack, directory))
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert changed
        for key in changed:
            assert key not in before or key.startswith("azure-native:network:NetworkSecurityGroup"), key
            assert "seg-plan-inserted" in json.dumps(after[key])
        if stack == "dmz-azure":
            nsg = "azure-native:network:NetworkSecurityGroup::dmz-gateway-nsg"
            old_rules = before[nsg]["inputs"]["securityRules"]
            new_rules = [
                r for r in after[nsg]["inputs"]["securityRules"] if "seg-plan-inserted" not in r["description"]
            ]
            assert sorted(old_rules, key=lambda r: r["name"]) == sorted(new_rules, key=lambda r: r["name"])


def test_the_consumer_example_imports_the_components_with_its_own_vpc_and_provider() -> None:
    program = REPO / "examples" / "consumer" / "__main__.py"
    recorder = Recorder()
    resources, outputs = run_program(
        "dev", {}, lambda: runpy.run_path(str(program), run_name="__main__"), project="mail-platform", recorder=recorder
    )
    groups = [r for r in resources if r.type == "aws:ec2/securityGroup:SecurityGroup"]
    assert [g.inputs["vpcId"] for g in groups] == ["${mail.id}"]
    seawall_children = [r for r in resources if r.type.startswith("aws:") and r.name.startswith(("mail-", "team-"))]
    assert seawall_children and all(
        "pulumi:providers:aws::eu-west-1::" in (recorder.providers[f"{r.type}::{r.name}"] or "")
        for r in seawall_children
    ), "the caller's provider reaches every child"
    # The subnet's CIDR is known only at apply: its rules are named by the peer, and get the subnet's CIDR.
    ingress = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    smtp_in = {r.name: r.inputs for r in resources if r.type == ingress}
    assert smtp_in["mail-gateway-in-tcp-25-internal-mail-servers-cidr-1"]["cidrIpv4"] == "10.20.1.0/24"
    assert outputs["gatewaySecurityGroups"] == ["${mail-gateway-sg.id}"]
    assert outputs["sophosPrefixList"] == "${team-sophos.id}"
    assert any("vendor service ntp denied" in w for w in outputs["warnings"])


def test_plan_formats_for_people_reviewers_and_diagrams() -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(STACKS)], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "role gateway" in table.stdout and "seg-smtp-receive" in table.stdout
    assert "warning" in table.stdout
    md = runner.invoke(app, ["plan", "--stack", "dmz-azure", "--stacks-dir", str(STACKS), "--format", "markdown"])
    assert md.exit_code == 0 and "### Role `gateway`" in md.stdout and "> [!WARNING]" in md.stdout
    mermaid = runner.invoke(
        app, ["plan", "--stack", "mss-distributed-aws", "--stacks-dir", str(STACKS), "--format", "mermaid"]
    )
    assert mermaid.exit_code == 0 and mermaid.stdout.startswith("flowchart LR")
    assert 'n_role_child -->|"tcp/5060 tcp/5432 tcp/15505"| n_role_parent' in mermaid.stdout


def test_a_bad_stack_file_stops_the_plan_with_one_line(tmp_path: Path) -> None:
    text = (
        (STACKS / "Pulumi.dmz-aws.yaml")
        .read_text()
        .replace("seawall:product: clearswift-seg", "seawall:product: clearswift-xyz")
    )
    (tmp_path / "Pulumi.dmz-aws.yaml").write_text(text)
    result = CliRunner().invoke(app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(tmp_path), "--format", "json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "seawall:product" in result.stderr and "'clearswift-xyz' does not fit topology dmz" in result.stderr
