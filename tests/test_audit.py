"""`seawall audit` against moto in server mode: a stack deployed from its plan, then edited by hand.

The stack is built with boto3 from `seawall plan`'s resources (the same calls the
Pulumi provider makes), so "in sync" also proves the audit reads the plan's content.
It is built in a VPC of moto's, and each test audits a copy of the stack files whose
`seawall:vpcId` names that VPC. The server pages its answers as EC2 does
(tests/motoserver.py) and logs every action.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from builders import STACKS
from conftest import REPO
from motoserver import PagingMotoServer, start
from rich.console import Console
from seawall.aws.account import IAM_POLICY, READ_ACTIONS
from seawall.cli import app
from seawall.cli.audit import run_audit
from seawall.errors import UserError
from seawall.preview.plan import PlannedResource, plan_stack
from typer.testing import CliRunner

DMZ, MSS = "dmz-aws", "mss-distributed-aws"
REGIONS = {DMZ: "eu-west-1", MSS: "ap-northeast-1"}  # aws:region of each stack file
READ_ONLY = ("Describe", "Get")

SG = "aws:ec2/securityGroup:SecurityGroup"
PL = "aws:ec2/managedPrefixList:ManagedPrefixList"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SSH_ADMIN = "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28"


@cache
def planned(stack: str) -> tuple[PlannedResource, ...]:
    return plan_stack(stack, STACKS).resources


def _tag_spec(kind: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}]


@dataclass
class Deployment:
    """A stack built in moto from its plan; ids by logical name, each rule's permission for later edits."""

    ec2: Any
    vpc_id: str
    ids: dict[str, str] = field(default_factory=dict)
    rules: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=dict)  # name → (sg, direction, perm)
    roles: dict[str, str] = field(default_factory=dict)  # role → sg id
    lists: dict[str, str] = field(default_factory=dict)  # service key (kav-update-ipv4) → pl id

    def authorize(self, group_id: str, direction: str, perm: dict[str, Any]) -> None:
        call = (
            self.ec2.authorize_security_group_ingress
            if direction == "ingress"
            else self.ec2.authorize_security_group_egress
        )
        call(GroupId=group_id, IpPermissions=[perm])

    def revoke(self, name: str) -> dict[str, Any]:
        """Revoke a planned rule by its logical name; returns its permission."""
        group_id, direction, perm = self.rules[name]
        call = (
            self.ec2.revoke_security_group_ingress if direction == "ingress" else self.ec2.revoke_security_group_egress
        )
        call(GroupId=group_id, IpPermissions=[perm])
        return perm

    def replace_peer(self, name: str, cidr: str) -> None:
        """A planned CIDR rule edited by hand to another CIDR."""
        group_id, direction, perm = self.rules[name]
        self.revoke(name)
        self.authorize(group_id, direction, {**perm, "IpRanges": [{"CidrIp": cidr}]})

    def rules_referencing(self, resource_id: str) -> list[str]:
        return [name for name, (_, _, perm) in self.rules.items() if resource_id in json.dumps(perm)]

    def group(self, name: str, tags: dict[str, str] | None = None, vpc_id: str | None = None) -> str:
        return str(
            self.ec2.create_security_group(
                GroupName=name,
                Description="by hand",
                VpcId=vpc_id or self.vpc_id,
                **({"TagSpecifications": _tag_spec("security-group", tags)} if tags else {}),
            )["GroupId"]
        )


def deploy(
    ec2: Any,
    stack: str,
    vpc_id: str,
    keep_default_egress: bool = False,
    resources: tuple[PlannedResource, ...] | None = None,
) -> Deployment:
    """Create the plan's prefix lists, groups (in ``vpc_id``) and rules."""
    d = Deployment(ec2, vpc_id)

    def ref(placeholder: str) -> str:
        return d.ids[placeholder.removeprefix("${").removesuffix(".id}")]

    resources = resources or planned(stack)
    for r in (r for r in resources if r.type == PL):
        pl = ec2.create_managed_prefix_list(
            PrefixListName=r.inputs["name"],
            AddressFamily=r.inputs["addressFamily"],
            MaxEntries=r.inputs["maxEntries"],
            Entries=[{"Cidr": e["cidr"], "Description": e["description"]} for e in r.inputs["entries"]],
            TagSpecifications=_tag_spec("prefix-list", r.inputs["tags"]),
        )["PrefixList"]
        d.ids[r.name] = pl["PrefixListId"]
        service = r.inputs["tags"]["seawall:service"].split("/")[1]
        d.lists[f"{service}-{r.inputs['addressFamily'].lower()}"] = pl["PrefixListId"]
    for r in (r for r in resources if r.type == SG):
        group_id = ec2.create_security_group(
            GroupName=r.inputs["name"],
            Description=r.inputs["description"],
            VpcId=d.vpc_id,
            TagSpecifications=_tag_spec("security-group", r.inputs["tags"]),
        )["GroupId"]
        d.ids[r.name] = group_id
        if "seawall:group" not in r.inputs["tags"]:  # a role's first group (the 2nd, 3rd, … carry their index)
            d.roles[r.inputs["tags"]["seawall:role"]] = group_id
        if not keep_default_egress:  # what the Pulumi provider does to every group it creates
            ec2.revoke_security_group_egress(
                GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
            )
    for r in (r for r in resources if r.type in (INGRESS, EGRESS)):
        i = r.inputs
        perm: dict[str, Any] = {"IpProtocol": i["ipProtocol"], "FromPort": i["fromPort"], "ToPort": i["toPort"]}
        if "cidrIpv4" in i:
            perm["IpRanges"] = [{"CidrIp": i["cidrIpv4"]}]
        elif "cidrIpv6" in i:
            perm["Ipv6Ranges"] = [{"CidrIpv6": i["cidrIpv6"]}]
        elif "prefixListId" in i:
            perm["PrefixListIds"] = [{"PrefixListId": ref(i["prefixListId"])}]
        else:
            perm["UserIdGroupPairs"] = [{"GroupId": ref(i["referencedSecurityGroupId"])}]
        direction = "ingress" if r.type == INGRESS else "egress"
        d.rules[r.name] = (ref(i["securityGroupId"]), direction, perm)
        d.authorize(ref(i["securityGroupId"]), direction, perm)
    return d


@dataclass
class World:
    """moto, and a copy of the stack files whose seawall:vpcId can be pointed at moto's VPCs."""

    server: PagingMotoServer
    stacks: Path

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    def ec2(self, region: str) -> Any:
        return boto3.client("ec2", endpoint_url=self.server.endpoint_url, region_name=region)

    def vpc(self, region: str) -> str:
        return str(self.ec2(region).create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])

    def point(self, stack: str, vpc_id: str) -> None:
        """Set the stack's seawall:vpcId."""
        path = self.stacks / f"Pulumi.{stack}.yaml"
        text = re.sub(r"seawall:vpcId: vpc-[0-9a-f]+", f"seawall:vpcId: {vpc_id}", path.read_text())
        path.write_text(text)

    def deploy(
        self,
        stack: str,
        region: str | None = None,
        keep_default_egress: bool = False,
        vpc_id: str | None = None,
        resources: tuple[PlannedResource, ...] | None = None,
    ) -> Deployment:
        """The stack in a new VPC of ``region`` (default: the stack's), and the stack file pointed at it."""
        region = region or REGIONS[stack]
        vpc = vpc_id or self.vpc(region)
        self.point(stack, vpc)
        return deploy(self.ec2(region), stack, vpc, keep_default_egress, resources)


@pytest.fixture(scope="module")
def server() -> Iterator[PagingMotoServer]:
    moto = start()
    yield moto
    moto.stop()


@pytest.fixture()
def aws(server: PagingMotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    """An empty moto and fake credentials; no profile, config file or instance metadata can leak in."""
    server.reset()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # Not a stack's region: the audit must take aws:region from the stack file.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    for path in STACKS.glob("Pulumi.*.yaml"):
        shutil.copy(path, stacks / path.name)
    yield World(server, stacks)
    server.require_auth_after(float("inf"))  # moto's auth switch is process-wide


Audit = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture()
def audit(aws: World, capsys: pytest.CaptureFixture[str]) -> Audit:
    """Run the audit with JSON output; return its exit code and report."""

    def run(stack: str, region: str | None = None, page_size: int | None = None) -> tuple[int, dict[str, Any]]:
        capsys.readouterr()
        status = Console(file=io.StringIO())
        code = run_audit(
            stack,
            aws.stacks,
            None,
            region=region,
            endpoint_url=aws.endpoint_url,
            fmt="json",
            console=status,
            page_size=page_size,
        )
        return code, json.loads(capsys.readouterr().out)

    return run


def drift(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The drift lines without their prose and the rule ids moto makes up."""
    return [{k: v for k, v in d.items() if k not in ("detail", "rule_id", "broadening")} for d in report["drift"]]


def rule(direction: str, protocol: str, ports: tuple[int, int] | None, peer: str) -> dict[str, Any]:
    low, high = ports or (None, None)
    return {"direction": direction, "protocol": protocol, "from_port": low, "to_port": high, "peer": peer}


def tcp(port: int, cidr: str) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}


def cli(aws: World, *args: str) -> Any:
    return CliRunner().invoke(
        app, ["audit", "--stacks-dir", str(aws.stacks), "--endpoint-url", aws.endpoint_url, *args]
    )


# --- in sync ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [DMZ, MSS])
def test_a_stack_deployed_as_planned_is_in_sync(aws: World, audit: Audit, stack: str) -> None:
    d = aws.deploy(stack)
    code, report = audit(stack)
    resources = planned(stack)
    assert (code, report) == (
        0,
        {
            "stack": stack,
            "cloud": "aws",
            "region": REGIONS[stack],
            "vpc_id": d.vpc_id,
            "in_sync": True,
            "broadening": False,
            "planned": {
                "security_groups": sum(r.type == SG for r in resources),
                "rules": sum(r.type in (INGRESS, EGRESS) for r in resources),
                "prefix_lists": sum(r.type == PL for r in resources),
            },
            "drift": [],
            "notes": [],
        },
    )


def test_the_region_comes_from_the_stack_unless_given(aws: World, audit: Audit) -> None:
    aws.deploy(DMZ)
    code, report = audit(DMZ, region="us-east-1")  # nothing of the stack lives there
    assert code == 1 and report["region"] == "us-east-1"
    assert sorted((d["kind"], d.get("role") or d.get("service")) for d in report["drift"]) == [
        ("missing-group", "gateway"),
        ("missing-prefix-list", "apphelp-ipv4"),
        ("missing-prefix-list", "applianceupdate-ipv4"),
        ("missing-prefix-list", "kav-update-ipv4"),
        ("missing-prefix-list", "product-updates-ipv4"),
        ("missing-prefix-list", "rss-feed-ipv4"),
    ]
    # The group's rules are in its line; the lists' users are the group's rules, so none is left for them.
    details = {d.get("role") or d["service"]: d["detail"] for d in report["drift"]}
    assert details["gateway"].endswith("(planned dmz-gateway; 36 planned rules are on it or reference it)")
    assert details["kav-update-ipv4"].endswith("with 4 entries, not used by any planned rule")


def test_stacks_in_one_account_and_region_do_not_see_each_other(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    aws.deploy(MSS, region="eu-west-1", vpc_id=d.vpc_id)  # the same VPC, even
    assert audit(DMZ)[0] == 0
    code, report = audit(MSS, region="eu-west-1")
    assert (code, report["region"], report["drift"]) == (0, "eu-west-1", [])


def test_a_role_laid_out_over_several_groups_and_split_lists_is_in_sync(aws: World, audit: Audit) -> None:
    """Tight quotas: 12 groups for the gateway (seawall:group 2, 3, …) and kav-update split over two lists."""
    stack_file = aws.stacks / f"Pulumi.{DMZ}.yaml"
    quotas = "  seawall:quotas:\n    aws: {rulesPerSecurityGroup: 3, securityGroupsPerEni: 16}\n"
    stack_file.write_text(stack_file.read_text() + quotas)
    shutil.copy(STACKS / "__main__.py", aws.stacks / "__main__.py")
    resources = plan_stack(DMZ, aws.stacks).resources
    lists = sorted(r.inputs["name"] for r in resources if r.type == PL and "kav-update" in r.inputs["name"])
    assert lists == ["dmz-clearswift-seg-kav-update-ipv4-1", "dmz-clearswift-seg-kav-update-ipv4-2"]
    assert sum(r.type == SG for r in resources) > 2
    aws.deploy(DMZ, resources=resources)
    code, report = audit(DMZ)
    assert (code, report["drift"]) == (0, [])
    assert report["planned"]["security_groups"] == sum(r.type == SG for r in resources)


# --- one kind of drift at a time ---------------------------------------------------------------------------------


def test_a_hand_added_rule_is_extra_and_broadening(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    d.authorize(d.roles["gateway"], "ingress", tcp(3389, "203.0.113.0/24"))
    code, report = audit(DMZ)
    assert code == 3 and report["in_sync"] is False and report["broadening"] is True
    assert drift(report) == [
        {
            "kind": "extra-rule",
            "role": "gateway",
            "policy": [],
            **rule("ingress", "tcp", (3389, 3389), "203.0.113.0/24"),
            "group_id": d.roles["gateway"],
        }
    ]
    assert report["drift"][0]["broadening"] == "opens tcp/3389 on gateway from 203.0.113.0/24"


def test_ssh_opened_to_the_internet_heads_the_report_with_the_policy_it_breaks(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    d.revoke("dmz-gateway-out-tcp-514-cidr-192.0.2.20-32")  # other drift, listed after
    d.authorize(d.roles["gateway"], "ingress", tcp(22, "0.0.0.0/0"))
    code, report = audit(DMZ)
    assert code == 3
    assert [(x["kind"], x["peer"], x["policy"]) for x in report["drift"]] == [
        ("extra-rule", "0.0.0.0/0", ["internet-ingress-documented", "no-management-from-internet"]),
        ("missing-rule", "192.0.2.20/32", []),
    ]
    assert report["drift"][0]["broadening"] == "opens tcp/22 on gateway from 0.0.0.0/0 (the whole internet)"
    assert report["drift"][1]["broadening"] is None


def test_a_deleted_rule_is_missing_and_not_broadening(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    d.revoke(SSH_ADMIN)
    code, report = audit(DMZ)
    assert code == 1 and report["broadening"] is False
    assert drift(report) == [
        {
            "kind": "missing-rule",
            "role": "gateway",
            "policy": [],
            **rule("ingress", "tcp", (22, 22), "198.51.100.0/28"),
            "group_id": d.roles["gateway"],
        }
    ]


def test_a_changed_port_is_one_change_not_a_missing_and_an_extra_rule(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    d.revoke(SSH_ADMIN)
    d.authorize(d.roles["gateway"], "ingress", tcp(2222, "198.51.100.0/28"))
    code, report = audit(DMZ)
    assert code == 3  # 2222 was never planned
    assert drift(report) == [
        {
            "kind": "changed-ports",
            "role": "gateway",
            "policy": [],
            **rule("ingress", "tcp", (2222, 2222), "198.51.100.0/28"),
            "changed": ["ports"],
            "planned": rule("ingress", "tcp", (22, 22), "198.51.100.0/28"),
            "group_id": d.roles["gateway"],
        }
    ]
    assert "22 → 2222" in report["drift"][0]["detail"]


def test_a_changed_peer_cidr_is_one_change(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    d.replace_peer("dmz-gateway-out-tcp-514-cidr-192.0.2.20-32", "192.0.2.21/32")
    code, report = audit(DMZ)
    assert code == 3  # syslog to an address nobody planned
    assert drift(report) == [
        {
            "kind": "changed-peer",
            "role": "gateway",
            "policy": [],
            **rule("egress", "tcp", (514, 514), "192.0.2.21/32"),
            "changed": ["peer"],
            "planned": rule("egress", "tcp", (514, 514), "192.0.2.20/32"),
            "group_id": d.roles["gateway"],
        }
    ]


def test_a_narrower_peer_is_drift_but_not_broadening(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    d.replace_peer(SSH_ADMIN, "198.51.100.0/29")
    code, report = audit(DMZ)
    assert code == 1
    assert [(x["kind"], x["broadening"]) for x in report["drift"]] == [("changed-peer", None)]


def test_a_peer_widened_to_an_internet_equivalent_range_is_called_that(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    d.replace_peer(SSH_ADMIN, "0.0.0.0/1")
    code, report = audit(DMZ)
    assert code == 3
    line = report["drift"][0]
    assert line["broadening"] == (
        "opens tcp/22 on gateway from 0.0.0.0/1 (internet-equivalent: 128.0 /8s of IPv4); "
        "planned tcp/22 on gateway from 198.51.100.0/28"
    )
    assert line["policy"] == ["internet-ingress-documented", "no-management-from-internet"]


def test_role_references_are_compared_by_role_not_group_id(aws: World, audit: Audit) -> None:
    """child→parent on 5432 pointed at the child group itself: the peer changed from role:parent to role:child."""
    d = aws.deploy(MSS)
    d.revoke("mss-distributed-child-out-tcp-5432-role-parent")
    child = d.roles["child"]
    d.authorize(
        child,
        "egress",
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": child}]},
    )
    code, report = audit(MSS)
    assert code == 3
    assert drift(report) == [
        {
            "kind": "changed-peer",
            "role": "child",
            "policy": [],
            **rule("egress", "tcp", (5432, 5432), "role:child"),
            "changed": ["peer"],
            "planned": rule("egress", "tcp", (5432, 5432), "role:parent"),
            "group_id": child,
        }
    ]


def test_a_prefix_list_entry_added_by_hand_is_broadening(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    pl = d.lists["kav-update-ipv4"]
    d.ec2.modify_managed_prefix_list(PrefixListId=pl, CurrentVersion=1, AddEntries=[{"Cidr": "203.0.113.7/32"}])
    code, report = audit(DMZ)
    assert code == 3
    assert drift(report) == [
        {
            "kind": "prefix-list-entry-added",
            "service": "kav-update-ipv4",
            "policy": ["vendor-addresses-plausible"],  # a documentation address is no vendor's
            "prefix_list_id": pl,
            "cidr": "203.0.113.7/32",
        }
    ]


def test_a_prefix_list_entry_removed_by_hand(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    pl = d.lists["kav-update-ipv4"]
    d.ec2.modify_managed_prefix_list(PrefixListId=pl, CurrentVersion=1, RemoveEntries=[{"Cidr": "70.33.161.213/32"}])
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "prefix-list-entry-removed",
            "service": "kav-update-ipv4",
            "policy": [],
            "prefix_list_id": pl,
            "cidr": "70.33.161.213/32",
        }
    ]


def test_a_deleted_group_is_one_missing_group_line(aws: World, audit: Audit) -> None:
    """The child's rules that referenced the parent had to go first; they are folded into the one line."""
    d = aws.deploy(MSS)
    parent = d.roles["parent"]
    for name in d.rules_referencing(parent):
        d.revoke(name)
    d.ec2.delete_security_group(GroupId=parent)
    code, report = audit(MSS)
    assert code == 1
    assert drift(report) == [{"kind": "missing-group", "role": "parent", "policy": []}]
    # 9 on the parent, 6 of the child's towards it
    assert report["drift"][0]["detail"] == (
        f"no security group tagged seawall:role=parent in {d.vpc_id} "
        "(planned mss-distributed-parent; 15 planned rules are on it or reference it)"
    )


def test_a_deleted_prefix_list_is_one_missing_prefix_list_line(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    pl = d.lists["kav-update-ipv4"]
    for name in d.rules_referencing(pl):
        d.revoke(name)
    d.ec2.delete_managed_prefix_list(PrefixListId=pl)
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [{"kind": "missing-prefix-list", "service": "kav-update-ipv4", "policy": []}]
    assert report["drift"][0]["detail"].endswith("with 4 entries, used by 1 planned rule")


def test_aws_default_allow_all_egress_left_on_a_group_is_broadening(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ, keep_default_egress=True)
    code, report = audit(DMZ)
    assert code == 3
    assert drift(report) == [
        {
            "kind": "extra-rule",
            "role": "gateway",
            "policy": ["internet-egress-opted-in"],
            **rule("egress", "all", None, "0.0.0.0/0"),
            "group_id": d.roles["gateway"],
        }
    ]
    assert "default allow-all egress" in report["drift"][0]["detail"]
    assert report["drift"][0]["broadening"] == (
        "AWS's default allow-all egress lets every protocol and port from gateway out to 0.0.0.0/0 (the whole internet)"
    )


def test_an_untagged_group_that_uses_the_stacks_prefix_list(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    pl = d.lists["kav-update-ipv4"]
    outsider = d.group("ops-tools")
    d.authorize(
        outsider,
        "egress",
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": pl}]},
    )
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "untagged-group-uses-prefix-list",
            "service": "kav-update-ipv4",
            "policy": [],
            **rule("egress", "tcp", (443, 443), "service:kav-update-ipv4"),
            "group_id": outsider,
            "prefix_list_id": pl,
        }
    ]
    assert "ops-tools" in report["drift"][0]["detail"]


def test_a_group_tagged_for_the_stack_with_a_role_not_planned_is_extra(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    relay = d.group("dmz-relay", {"seawall:stack": DMZ, "seawall:role": "relay"})
    code, report = audit(DMZ)
    assert code == 3  # AWS gave it an allow-all egress rule: wherever it is attached, everything goes out
    assert drift(report) == [
        {"kind": "extra-group", "role": "relay", "policy": ["internet-egress-opted-in"], "group_id": relay}
    ]
    assert (
        report["drift"][0]["detail"]
        == f"{relay} (dmz-relay) is tagged seawall:stack but role 'relay' is not planned; it holds 1 rule"
    )
    d.ec2.revoke_security_group_egress(
        GroupId=relay, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    code, report = audit(DMZ)
    assert code == 1 and report["drift"][0]["detail"].endswith("it holds no rules")


def test_a_group_tagged_for_the_stack_in_another_vpc_is_reported_as_such(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    other_vpc = aws.vpc(REGIONS[DMZ])
    stray = d.group("dmz-gateway", {"seawall:stack": DMZ, "seawall:role": "gateway"}, vpc_id=other_vpc)
    code, report = audit(DMZ)
    assert code == 1  # the gateway group in the stack's VPC is still the role's, and in sync
    assert drift(report) == [
        {"kind": "group-outside-vpc", "role": "gateway", "policy": [], "group_id": stray, "vpc_id": other_vpc}
    ]
    assert report["drift"][0]["detail"] == (
        f"{stray} (dmz-gateway) is tagged seawall:stack={DMZ} and seawall:role=gateway but is in {other_vpc}, "
        f"not the stack's {d.vpc_id}; its 1 rule was not compared"
    )


def test_a_stack_deployed_in_the_wrong_vpc_is_never_in_sync(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    aws.point(DMZ, aws.vpc(REGIONS[DMZ]))  # the stack file says another VPC
    code, report = audit(DMZ)
    assert code == 1
    assert [(x["kind"], x.get("role"), x.get("vpc_id")) for x in report["drift"]] == [
        ("missing-group", "gateway", None),
        ("group-outside-vpc", "gateway", d.vpc_id),
    ]


# --- several at once, pages, reading only -----------------------------------------------------------------------


def test_simultaneous_edits_are_each_reported_once_broadening_first_in_a_stable_order(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    gateway = d.roles["gateway"]
    d.revoke(SSH_ADMIN)  # deleted, and an unrelated rule added:
    d.authorize(gateway, "ingress", tcp(3389, "203.0.113.0/24"))  # no pairing across port and peer
    d.revoke("dmz-gateway-out-tcp-514-cidr-192.0.2.20-32")
    d.authorize(gateway, "egress", tcp(1514, "192.0.2.20/32"))
    d.ec2.modify_managed_prefix_list(
        PrefixListId=d.lists["apphelp-ipv4"], CurrentVersion=1, AddEntries=[{"Cidr": "203.0.113.9/32"}]
    )
    code, first = audit(DMZ)
    assert code == 3
    assert [(x["kind"], x.get("role") or x["service"], x["broadening"] is not None) for x in first["drift"]] == [
        ("extra-rule", "gateway", True),
        ("changed-ports", "gateway", True),
        ("prefix-list-entry-added", "apphelp-ipv4", True),
        ("missing-rule", "gateway", False),
    ]
    assert audit(DMZ) == (code, first)


def test_an_account_larger_than_a_page_is_read_page_by_page_and_never_written(aws: World, audit: Audit) -> None:
    d = aws.deploy(DMZ)
    for n in range(12):  # unrelated groups, each with rules, for the full scan to page through
        group = d.group(f"app-{n}")
        d.authorize(group, "ingress", tcp(8000 + n, "10.1.0.0/16"))
    extras = [d.group(f"dmz-stray-{n}", {"seawall:stack": DMZ, "seawall:role": f"stray{n}"}) for n in range(6)]
    stray_list = d.ec2.create_managed_prefix_list(  # a sixth list of the stack: two pages of lists
        PrefixListName="dmz-clearswift-seg-retired-ipv4",
        AddressFamily="IPv4",
        MaxEntries=2,
        TagSpecifications=_tag_spec("prefix-list", {"seawall:stack": DMZ, "seawall:service": "clearswift-seg/retired"}),
    )["PrefixList"]["PrefixListId"]
    kav = d.lists["kav-update-ipv4"]
    added = [f"203.0.113.{n}/32" for n in (20, 21, 22)]  # 4 planned + 3 = 7 entries: two pages
    d.ec2.modify_managed_prefix_list(PrefixListId=kav, CurrentVersion=1, AddEntries=[{"Cidr": c} for c in added])
    aws.server.log.clear()

    code, report = audit(DMZ, page_size=5)

    assert code == 3
    assert sorted((x["kind"], x.get("cidr") or x.get("group_id") or x["prefix_list_id"]) for x in report["drift"]) == (
        sorted(
            [("extra-group", g) for g in extras]
            + [("extra-prefix-list", stray_list)]
            + [("prefix-list-entry-added", c) for c in added]
        )
    )
    actions = aws.server.log.actions()
    assert actions and all(a.startswith(READ_ONLY) for a in actions), sorted(set(actions))
    pages = {a: [r for r in aws.server.log.requests if r.action == a] for a in set(actions)}
    assert all(r.params.get("MaxResults") == "5" for r in aws.server.log.requests)
    for action in (
        "DescribeSecurityGroupRules",
        "DescribeSecurityGroups",
        "DescribeManagedPrefixLists",
        "GetManagedPrefixListEntries",
    ):
        assert any("NextToken" in r.params for r in pages[action]), f"{action} was read in one page"


# --- the report for people ------------------------------------------------------------------------------------------


def test_the_report_for_people_names_each_difference(aws: World, capsys: pytest.CaptureFixture[str]) -> None:
    d = aws.deploy(DMZ)
    status = io.StringIO()

    def run() -> tuple[int, str]:
        code = run_audit(DMZ, aws.stacks, None, endpoint_url=aws.endpoint_url, console=Console(file=status))
        return code, capsys.readouterr().out

    code, out = run()
    assert code == 0
    assert (
        out
        == f"dmz-aws in eu-west-1 ({d.vpc_id}): in sync with the plan (1 security group, 36 rules, 5 prefix lists)\n"
    )
    d.revoke(SSH_ADMIN)
    d.authorize(d.roles["gateway"], "ingress", tcp(2222, "198.51.100.0/28"))
    code, out = run()
    assert code == 3
    lines = out.splitlines()
    assert lines[0] == (
        "BROADENING changed-ports gateway: opens tcp/2222 on gateway from 198.51.100.0/28; "
        "planned tcp/22 on gateway from 198.51.100.0/28"
    )
    assert lines[-1] == f"dmz-aws in eu-west-1 ({d.vpc_id}): 1 difference, 1 of them broadening: 1 changed-ports"
    assert "eu-west-1" in status.getvalue()  # status lines go to the console given, not stdout
    assert "reading" not in status.getvalue()  # no progress lines where nobody watches


def test_piped_tables_are_never_cut(aws: World) -> None:
    d = aws.deploy(DMZ)
    pl = d.lists["kav-update-ipv4"]
    outsider = d.group("ops-tools-with-a-rather-long-name-that-nobody-would-abbreviate")
    d.authorize(
        outsider,
        "egress",
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": pl}]},
    )
    report = json.loads(cli(aws, "--stack", DMZ, "--format", "json").stdout)
    result = cli(aws, "--stack", DMZ)  # stdout is not a terminal here, as in `| tee`, a CI log or a file
    assert result.exit_code == 1
    detail = report["drift"][0]["detail"]
    assert len(detail) > 200
    assert any(detail in line for line in result.stdout.splitlines()), result.stdout
    assert all(line == line.rstrip() or "│" in line for line in result.stdout.splitlines())


def test_a_progress_line_is_shown_on_a_terminal_only(aws: World) -> None:
    aws.deploy(DMZ)
    terminal = io.StringIO()
    run_audit(
        DMZ,
        aws.stacks,
        None,
        endpoint_url=aws.endpoint_url,
        fmt="json",
        console=Console(file=terminal, force_terminal=True, width=120),
        page_size=5,
    )
    shown = terminal.getvalue()
    assert "reading security group rules: page 2, 10 so far" in shown
    assert "reading entries of pl-" in shown


# --- permissions and errors --------------------------------------------------------------------------------------


def test_the_iam_policy_in_the_readme_is_enough(aws: World, audit: Audit, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.deploy(DMZ)
    iam = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    aws.server.log.clear()
    aws.server.require_auth_after(3)  # the three IAM calls below; after them every request is checked
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="seawall-audit", PolicyDocument=json.dumps(IAM_POLICY))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    assert audit(DMZ)[0] == 0
    assert set(aws.server.log.actions()[-5:]) <= {a.removeprefix("ec2:") for a in READ_ACTIONS}


def test_no_credentials_is_a_user_error(aws: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    aws.server.log.clear()
    with pytest.raises(UserError, match="no AWS credentials") as caught:
        run_audit(DMZ, aws.stacks, None, endpoint_url=aws.endpoint_url, console=Console(file=io.StringIO()))
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)
    assert aws.server.log.actions() == []


def test_an_unknown_profile_is_a_user_error(aws: World) -> None:
    with pytest.raises(UserError, match="--profile: no AWS profile 'nobody'"):
        run_audit(
            DMZ, aws.stacks, None, endpoint_url=aws.endpoint_url, profile="nobody", console=Console(file=io.StringIO())
        )


def test_an_unreachable_endpoint_is_a_user_error(aws: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the standard retries would only make the test slower
    with pytest.raises(UserError, match="cannot reach EC2") as caught:
        run_audit(DMZ, aws.stacks, None, endpoint_url=closed, console=Console(file=io.StringIO()))
    assert caught.value.where == "--endpoint-url" and "\n" not in str(caught.value)


def test_an_unknown_region_is_a_user_error_before_any_call(aws: World) -> None:
    with pytest.raises(UserError, match=r"unknown AWS region 'eu-nowhere-9'; valid: .*eu-west-1"):
        run_audit(DMZ, aws.stacks, None, region="eu-nowhere-9", console=Console(file=io.StringIO()))


def test_credentials_aws_rejects_are_a_user_error(aws: World) -> None:
    aws.deploy(DMZ)
    aws.server.require_auth_after(0)  # moto now checks keys: "testing" is nobody's
    with pytest.raises(UserError, match=r"AuthFailure on DescribeSecurityGroups.*needs read-only ec2:Describe"):
        run_audit(DMZ, aws.stacks, None, endpoint_url=aws.endpoint_url, console=Console(file=io.StringIO()))


def test_a_principal_without_read_permission_is_told_which_permissions(
    aws: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    aws.server.require_auth_after(3)  # the three IAM calls below; after them every request is checked
    iam.create_user(UserName="auditor")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="auditor", PolicyName="too-little", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    # moto says AccessDenied where EC2 says UnauthorizedOperation; both get the same hint.
    with pytest.raises(UserError, match=r"(AccessDenied|UnauthorizedOperation) on DescribeSecurityGroups.*ec2:Get"):
        run_audit(DMZ, aws.stacks, None, endpoint_url=aws.endpoint_url, console=Console(file=io.StringIO()))


def test_options_of_the_other_cloud_are_refused_in_plain_english(aws: World) -> None:
    with pytest.raises(
        UserError, match=r"^--subscription: dmz-aws is an AWS stack; --subscription is for Azure stacks$"
    ):
        run_audit(
            DMZ,
            aws.stacks,
            None,
            subscription="0b1f6471-1bf0-4dda-aec3-cb9272f09590",
            console=Console(file=io.StringIO()),
        )


def test_the_cli_command_exits_0_1_3_2(aws: World) -> None:
    d = aws.deploy(DMZ)
    in_sync = cli(aws, "--stack", DMZ, "--format", "json")
    assert in_sync.exit_code == 0 and json.loads(in_sync.stdout)["in_sync"] is True
    d.revoke(SSH_ADMIN)
    missing = cli(aws, "--stack", DMZ, "--format", "json")
    assert missing.exit_code == 1 and json.loads(missing.stdout)["broadening"] is False
    d.authorize(d.roles["gateway"], "ingress", tcp(3389, "0.0.0.0/0"))
    broadening = cli(aws, "--stack", DMZ, "--format", "markdown")
    assert broadening.exit_code == 3
    assert (
        "> - **extra-rule** gateway: opens tcp/3389 on gateway from 0.0.0.0/0 (the whole internet)" in broadening.stdout
    )
    garbled = cli(aws, "--stack", DMZ, "--region", "eu-nowhere-9")  # moto answers with an HTML error page
    assert garbled.exit_code == 2 and "not an EC2 response" in garbled.stderr
    assert isinstance(garbled.exception, SystemExit) and "Traceback" not in garbled.stderr
    unknown = CliRunner().invoke(
        app, ["audit", "--stack", DMZ, "--stacks-dir", str(aws.stacks), "--region", "eu-nowhere-9"]
    )
    assert unknown.exit_code == 2 and "unknown AWS region 'eu-nowhere-9'" in unknown.stderr


def test_the_example_scheduled_workflow_audits_real_stacks_and_pages_on_broadening() -> None:
    import subprocess

    import yaml

    path = REPO / "docs" / "audit-workflow.yml"
    workflow = yaml.safe_load(path.read_text())
    job = workflow["jobs"]["audit"]
    for item in job["strategy"]["matrix"]["include"]:
        config = yaml.safe_load((STACKS / f"Pulumi.{item['stack']}.yaml").read_text())["config"]
        assert config["seawall:cloud"] == item["cloud"], item
    steps = {step.get("name", ""): step for step in job["steps"]}
    audit_step = steps["Audit ${{ matrix.stack }}"]
    assert 'seawall audit --stack "$STACK" --format markdown' in audit_step["run"]
    assert steps["Open or update the broadening issue"]["if"] == "steps.audit.outputs.code == '3'"
    assert steps["Fail on drift"]["run"] == "exit ${{ steps.audit.outputs.code }}"
    assert workflow["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    actionlint = Path(shutil.which("actionlint") or Path(__import__("sys").executable).with_name("actionlint"))
    if actionlint.exists():
        lint = subprocess.run([str(actionlint), str(path)], capture_output=True, text=True, check=False)
        assert lint.returncode == 0, lint.stdout
