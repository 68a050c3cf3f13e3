"""Every policy rule, passing and failing, through `seawall check`'s library call and through CrossGuard."""

from __future__ import annotations

import copy
import subprocess
import sys
from functools import cache
from typing import Any

import pytest
from builders import STACKS
from conftest import CATALOG_DIR
from pulumi_policy import PolicyResource, PolicyResourceOptions, StackValidationArgs, StackValidationPolicy
from seawall.analysis.policy import RULES, Resource, check_resources
from seawall.catalog import load_catalog
from seawall.cli import app
from seawall.preview.crossguard import policies, validate
from seawall.preview.plan import plan_stack
from typer.testing import CliRunner

CATALOG = load_catalog(CATALOG_DIR)


@cache
def planned(stack: str) -> tuple[Resource, ...]:
    return tuple(Resource(r.type, r.name, r.urn, r.inputs) for r in plan_stack(stack, STACKS).resources)


def mutable(stack: str) -> list[dict[str, Any]]:
    return [
        {"type": r.type, "name": r.name, "urn": r.urn, "inputs": copy.deepcopy(dict(r.inputs))} for r in planned(stack)
    ]


def violations(resources: list[dict[str, Any]], rule: str, **kwargs: Any) -> list[str]:
    found = check_resources([Resource.from_json(r) for r in resources], CATALOG, **kwargs)
    return [v.message for v in found if v.rule == rule]


def find(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in resources if r["name"] == name)


def nsg_rule(resources: list[dict[str, Any]], nsg: str, rule: str) -> dict[str, Any]:
    rules: list[dict[str, Any]] = find(resources, nsg)["inputs"]["securityRules"]
    return next(r for r in rules if r["name"] == rule)


@pytest.mark.parametrize("stack", ["dmz-aws", "dmz-azure", "mss-distributed-aws", "mss-distributed-azure"])
@pytest.mark.parametrize("rule", list(RULES))
def test_every_shipped_stack_passes_every_rule(stack: str, rule: str) -> None:
    assert violations(mutable(stack), rule) == []


def test_ingress_from_the_internet_needs_an_internet_entry_aws() -> None:
    resources = mutable("dmz-aws")
    ssh = find(resources, "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")
    ssh["inputs"]["cidrIpv4"] = "0.0.0.0/0"
    assert violations(resources, "internet-ingress-documented") == [
        "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28: ingress from the internet is justified by seg-ssh-console, whose peer is not the internet"
    ]


def test_ingress_from_the_internet_needs_an_internet_entry_azure() -> None:
    resources = mutable("mss-distributed-azure")
    rule = nsg_rule(resources, "mss-distributed-parent-nsg", "in-tcp-8445-site-admin-clients-ipv4")
    rule["sourceAddressPrefix"] = "Internet"
    assert any("imss-admin-console" in m for m in violations(resources, "internet-ingress-documented"))
    assert violations(resources, "no-management-from-internet") == [
        "mss-distributed-parent-nsg/in-tcp-8445-site-admin-clients-ipv4: management/console port(s) 8445 reachable from the internet"
    ]


def test_management_ports_never_face_the_internet_even_with_a_plausible_id() -> None:
    resources = mutable("dmz-aws")
    smtp = find(resources, "dmz-gateway-in-tcp-25-internet-ipv4")
    smtp["inputs"]["fromPort"], smtp["inputs"]["toPort"] = 20, 30  # still cites seg-smtp-receive
    assert violations(resources, "no-management-from-internet") == [
        "dmz-gateway-in-tcp-25-internet-ipv4: management/console port(s) 22 reachable from the internet"
    ]
    assert violations(resources, "internet-ingress-documented") == []  # the id is right; the port range is not


def test_product_internal_ports_are_never_opened() -> None:
    resources = mutable("mss-distributed-aws")
    rule = find(resources, "mss-distributed-parent-in-tcp-8445-cidr-198.51.100.0-28")
    rule["inputs"]["fromPort"], rule["inputs"]["toPort"] = 10024, 10026
    assert violations(resources, "no-product-internal-ports") == [
        "mss-distributed-parent-in-tcp-8445-cidr-198.51.100.0-28: opens product-internal port(s) 10024, 10025, 10026"
    ]


def test_every_rule_traces_to_catalogue_ids() -> None:
    resources = mutable("dmz-aws")
    find(resources, "dmz-gateway-out-tcp-514-cidr-192.0.2.20-32")["inputs"]["tags"].pop("seawall:entries")
    find(resources, "dmz-gateway-out-tcp-22-cidr-192.0.2.40-32")["inputs"]["tags"]["seawall:entries"] = (
        "seg-nonexistent"
    )
    found = violations(resources, "traceable")
    assert any("514" in m and "names no catalogue entry" in m for m in found)
    assert any("unknown catalogue id(s) seg-nonexistent" in m for m in found)
    azure = mutable("dmz-azure")
    nsg_rule(azure, "dmz-gateway-nsg", "in-tcp-22-site-admin-clients-ipv4")["description"] = "ssh"
    assert violations(azure, "traceable") == [
        "dmz-gateway-nsg/in-tcp-22-site-admin-clients-ipv4: names no catalogue entry (AWS tag seawall:entries, or [ids] at the end of the description)"
    ]


def test_internet_egress_needs_an_internet_entry_or_an_opt_in() -> None:
    resources = mutable("dmz-aws")
    syslog = find(resources, "dmz-gateway-out-tcp-514-cidr-192.0.2.20-32")
    syslog["inputs"]["cidrIpv4"] = "0.0.0.0/0"
    assert violations(resources, "internet-egress-opted-in") == [
        "dmz-gateway-out-tcp-514-cidr-192.0.2.20-32: egress to the whole internet for seg-syslog without an opt-in (seawall:internetEgress)"
    ]
    ksn = find(resources, "dmz-gateway-out-tcp-514-cidr-192.0.2.20-32")
    ksn["inputs"]["tags"]["seawall:entries"] = "seg-kaspersky-ksn"
    assert violations(resources, "internet-egress-opted-in") != []
    assert violations(resources, "internet-egress-opted-in", internet_egress=["ksn"]) == []


def test_aws_limits() -> None:
    resources = mutable("dmz-aws")
    find(resources, "dmz-gateway-sg")["inputs"]["ingress"] = [{"fromPort": 1}]
    rule = find(resources, "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")
    rule["inputs"]["cidrIpv4"] = "198.51.100.1/28"
    rule["inputs"]["description"] = "SSH für Admins"
    kav = find(resources, "dmz-kav-update-ipv4-pl")
    kav["inputs"]["maxEntries"] = 2
    found = violations(resources, "aws-limits")
    assert any("inline ingress/egress" in m for m in found)
    assert any("'198.51.100.1/28' is not a canonical CIDR" in m for m in found)
    assert any("description not accepted by AWS" in m for m in found)
    assert any("entries (4) <= maxEntries (2)" in m for m in found)
    assert violations(mutable("dmz-aws"), "aws-limits", rules_per_security_group=40) == [
        "${dmz-gateway-sg.id}: 46 egress IPv4 rules (prefix lists count maxEntries) exceed 40"
    ]


def test_azure_limits() -> None:
    resources = mutable("dmz-azure")
    rules = find(resources, "dmz-gateway-nsg")["inputs"]["securityRules"]
    rules[0]["priority"] = rules[1]["priority"] if rules[1]["direction"] == rules[0]["direction"] else 5000
    rules[2]["name"] = "bad name!"
    rules[3]["sourceAddressPrefixes"] = ["192.0.2.0/24", "2001:db8::/32"]
    resources.append({"type": "azure-native:network:SecurityRule", "name": "extra", "urn": "", "inputs": {}})
    found = violations(resources, "azure-limits")
    assert any("share" in m or "outside 100-4096" in m for m in found)
    assert any("'bad name!'" in m for m in found)
    assert any("mixes IPv4 and IPv6" in m for m in found)
    assert any("standalone SecurityRule" in m for m in found)


def _extra(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "name": name, "urn": f"urn:pulumi:s::p::{type_}::{name}", "inputs": inputs}


def test_a_project_resource_that_adds_rules_seawall_does_not_read_cannot_pass() -> None:
    """Judged by what a type's token says it is, not by a list: a newer API version or another provider's group
    rule is found; attachments, associations, an emptied default group and unrelated types are not findings."""
    open_all = {"ipProtocol": "-1", "cidrIp": "0.0.0.0/0", "groupId": "${dmz-gateway-sg.id}"}
    blind = [
        _extra("aws-native:ec2:SecurityGroupIngress", "everything", open_all),
        _extra("azure-native:network/v20240101:SecurityRule", "v-rule", {"access": "Allow"}),
        _extra(
            "azure-native:network/v20230901:NetworkSecurityGroup", "v-nsg", {"securityRules": [{"access": "Allow"}]}
        ),
        _extra("azure:network/networkSecurityRule:NetworkSecurityRule", "classic", {"access": "Allow"}),
        _extra("azure-native:network:AdminRule", "always-allow", {"access": "AlwaysAllow"}),
        _extra("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", {"ingress": [{"protocol": "-1"}]}),
        _extra("aws-native:ec2:SecurityGroup", "native-sg", {"securityGroupIngress": [{"ipProtocol": "-1"}]}),
        _extra("azure-native:network:SecurityUserRule", "user-rule", {"access": "Allow"}),
        _extra("azure-native:network:DefaultUserRule", "default-user-rule", {}),
        _extra("aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "entry", {"cidr": "0.0.0.0/0"}),
    ]
    harmless = [
        _extra("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "emptied", {"vpcId": "vpc-1"}),
        _extra("aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment", "a", {}),
        _extra("aws:vpc/securityGroupVpcAssociation:SecurityGroupVpcAssociation", "b", {}),
        _extra("aws:s3/bucket:Bucket", "logs", {}),
        _extra("azure-native:network/v20230901:NetworkSecurityGroup", "no-rules", {"securityRules": []}),
    ]
    found = violations(mutable("dmz-aws") + blind + harmless, "rules-judged")
    assert len(found) == len(blind), found
    for extra in blind:
        assert any(f"{extra['type']} {extra['name']} can add allow rules" in m for m in found), extra
    assert RULES["rules-judged"].default == "mandatory"


def test_levels_make_a_rule_advisory_or_disable_it(tmp_path: Any) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    text = (
        (STACKS / "Pulumi.dmz-aws.yaml")
        .read_text()
        .replace("admin-clients: [198.51.100.0/28]", "admin-clients: [internet]")
    )
    (stacks / "Pulumi.dmz-aws.yaml").write_text(text)
    runner = CliRunner()
    failed = runner.invoke(app, ["check", "--stack", "dmz-aws", "--stacks-dir", str(stacks)])
    assert failed.exit_code == 1 and "no-management-from-internet" in failed.stdout
    softer = runner.invoke(
        app,
        [
            "check",
            "--stack",
            "dmz-aws",
            "--stacks-dir",
            str(stacks),
            "--level",
            "no-management-from-internet=advisory",
            "--level",
            "internet-ingress-documented=disabled",
        ],
    )
    assert softer.exit_code == 0 and "advisory" in softer.stdout and "internet-ingress-documented" not in softer.stdout
    bad = runner.invoke(app, ["check", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "--level", "nope=advisory"])
    assert bad.exit_code == 2 and "unknown policy rule 'nope'" in bad.stderr


def crossguard_args(resources: list[dict[str, Any]], config: dict[str, Any] | None = None) -> StackValidationArgs:
    opts = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,
        additional_secret_outputs=[],
    )  # type: ignore[call-arg]
    items = [PolicyResource(r["type"], r["inputs"], r["urn"], r["name"], opts, None, None, [], {}) for r in resources]
    return StackValidationArgs(items, config)


def test_the_crossguard_pack_runs_the_same_rules() -> None:
    assert [p.name for p in policies()] == list(RULES)
    assert all(isinstance(p, StackValidationPolicy) for p in policies())
    resources = mutable("dmz-aws")
    reports: list[tuple[str, str | None]] = []
    validate("no-management-from-internet", crossguard_args(resources), lambda m, urn=None: reports.append((m, urn)))
    assert reports == []
    find(resources, "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")["inputs"]["cidrIpv4"] = "0.0.0.0/0"
    validate("no-management-from-internet", crossguard_args(resources), lambda m, urn=None: reports.append((m, urn)))
    assert (
        len(reports) == 1 and reports[0][1] and reports[0][1].endswith("::dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")
    )


def test_crossguard_reads_the_opt_in_from_the_pack_config() -> None:
    resources = mutable("dmz-aws")
    rule = find(resources, "dmz-gateway-out-tcp-514-cidr-192.0.2.20-32")
    rule["inputs"]["cidrIpv4"] = "0.0.0.0/0"
    rule["inputs"]["tags"]["seawall:entries"] = "seg-kaspersky-ksn"
    reports: list[str] = []
    validate("internet-egress-opted-in", crossguard_args(resources), lambda m, urn=None: reports.append(m))
    validate(
        "internet-egress-opted-in",
        crossguard_args(resources, {"internetEgress": ["ksn"]}),
        lambda m, urn=None: reports.append(m),
    )
    assert len(reports) == 1


def test_the_pack_is_a_thin_program() -> None:
    """policy/__main__.py only builds the pack from the library (running it would start a server)."""
    from conftest import REPO

    text = (REPO / "policy" / "__main__.py").read_text()
    assert 'PolicyPack(name="seawall", policies=policies())' in text and text.count("\n") < 12
    assert (REPO / "policy" / "PulumiPolicy.yaml").read_text().startswith("runtime: python")


def test_plan_exits_without_noise_on_stderr() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "seawall.cli",
            "plan",
            "--stack",
            "dmz-aws",
            "--stacks-dir",
            str(STACKS),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stderr == ""


def test_the_stacks_internet_equivalent_threshold_is_the_policys_both_ways(tmp_path: Any) -> None:
    """A /12 on the SSH console is a site's network at the default /4; a stack that says /16 makes it the internet."""
    from seawall.analysis.policy import check_stack

    def checked(extra: str) -> list[str]:
        stacks = tmp_path / extra.replace(" ", "").replace(":", "")[-20:]
        stacks.mkdir()
        text = (STACKS / "Pulumi.dmz-aws.yaml").read_text()
        (stacks / "Pulumi.dmz-aws.yaml").write_text(text.rstrip("\n") + extra)
        planned_here = plan_stack("dmz-aws", stacks)
        resources = [Resource(r.type, r.name, r.urn, copy.deepcopy(dict(r.inputs))) for r in planned_here.resources]
        ssh = next(r for r in resources if r.name == "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")
        ssh.inputs["cidrIpv4"] = "100.64.0.0/12"
        return [v.rule for v in check_stack("dmz-aws", resources, planned_here.compiled, {}).violations]

    assert checked("\n") == []
    assert checked("\n  seawall:internetEquivalent: {ipv4: 16}\n") == [
        "internet-ingress-documented",
        "no-management-from-internet",
    ]


def test_crossguard_reads_the_internet_equivalent_threshold_and_refuses_a_bad_one() -> None:
    resources = mutable("dmz-aws")
    find(resources, "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")["inputs"]["cidrIpv4"] = "100.64.0.0/12"
    reports: list[str] = []
    rule = "no-management-from-internet"
    validate(rule, crossguard_args(resources), lambda m, urn=None: reports.append(m))
    assert reports == []
    validate(
        rule, crossguard_args(resources, {"internetEquivalent": {"ipv4": 16}}), lambda m, urn=None: reports.append(m)
    )
    assert len(reports) == 1 and "covers" in reports[0]
    validate(
        rule, crossguard_args(resources, {"internetEquivalent": {"ipv4": 0}}), lambda m, urn=None: reports.append(m)
    )
    assert reports[-1].startswith("policy config: internetEquivalent.ipv4:"), reports[-1]
    assert 'valid: {"ipv4": 1-32' in reports[-1]


def test_audit_judges_drift_by_the_stacks_threshold_too() -> None:
    from dataclasses import replace

    from builders import shipped
    from seawall.analysis.drift import PolicyInputs
    from seawall.stackconfig import InternetEquivalent

    compiled = shipped("dmz-aws")
    settings = replace(compiled.config.settings, internet_equivalent=InternetEquivalent(ipv4=16))
    tight = replace(compiled, config=replace(compiled.config, settings=settings))
    resources = [Resource.from_json(r) for r in mutable("dmz-aws")]
    name = "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28"
    next(r for r in resources if r.name == name).inputs["cidrIpv4"] = "100.64.0.0/12"
    assert "no-management-from-internet" in PolicyInputs.of(tight).judge(resources)[name]
    assert name not in PolicyInputs.of(compiled).judge(resources)
