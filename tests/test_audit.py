"""`seawall audit` against moto in server mode: a stack deployed from its plan, then edited by hand.

The stack is built with boto3 from `seawall plan`'s resources (the same calls the
Pulumi provider makes), so "in sync" also proves the audit reads the plan's content.
The server pages its answers as EC2 does (tests/motoserver.py) and logs every action.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
import pytest
from builders import STACKS
from motoserver import PagingMotoServer, start
from rich.console import Console
from seawall.cli.audit import run_audit
from seawall.errors import UserError
from seawall.preview.plan import PlannedResource, plan_stack

DMZ, MSS = "dmz-aws", "mss-distributed-aws"
REGIONS = {DMZ: "eu-west-1", MSS: "ap-northeast-1"}  # aws:region of each stack file
READ_ONLY = ("Describe", "Get")

SG = "aws:ec2/securityGroup:SecurityGroup"
PL = "aws:ec2/managedPrefixList:ManagedPrefixList"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


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

    def rules_referencing(self, resource_id: str) -> list[str]:
        return [name for name, (_, _, perm) in self.rules.items() if resource_id in json.dumps(perm)]


def deploy(ec2: Any, stack: str, keep_default_egress: bool = False) -> Deployment:
    """Create the plan's prefix lists, groups (in a VPC of moto's; the stack's vpcId is set aside) and rules."""
    d = Deployment(ec2, ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])

    def ref(placeholder: str) -> str:
        return d.ids[placeholder.removeprefix("${").removesuffix(".id}")]

    resources = planned(stack)
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
        d.ids[r.name] = d.roles[r.inputs["tags"]["seawall:role"]] = group_id
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


@pytest.fixture(scope="module")
def server() -> Iterator[PagingMotoServer]:
    moto = start()
    yield moto
    moto.stop()


@pytest.fixture()
def aws(server: PagingMotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[PagingMotoServer]:
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
    yield server
    server.require_auth_after(float("inf"))  # moto's auth switch is process-wide


def ec2(server: PagingMotoServer, stack: str) -> Any:
    return boto3.client("ec2", endpoint_url=server.endpoint_url, region_name=REGIONS[stack])


Audit = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture()
def audit(aws: PagingMotoServer, capsys: pytest.CaptureFixture[str]) -> Audit:
    """Run the audit with JSON output; return its exit code and report."""

    def run(stack: str, region: str | None = None, page_size: int | None = None) -> tuple[int, dict[str, Any]]:
        capsys.readouterr()
        status = Console(file=io.StringIO())
        code = run_audit(stack, STACKS, None, region, aws.endpoint_url, None, True, status, page_size)
        return code, json.loads(capsys.readouterr().out)

    return run


def drift(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The drift lines without their prose and the rule ids moto makes up."""
    return [{k: v for k, v in d.items() if k not in ("detail", "rule_id")} for d in report["drift"]]


def rule(direction: str, protocol: str, ports: tuple[int, int] | None, peer: str) -> dict[str, Any]:
    low, high = ports or (None, None)
    return {"direction": direction, "protocol": protocol, "from_port": low, "to_port": high, "peer": peer}


def tcp(port: int, cidr: str) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}


# --- in sync ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [DMZ, MSS])
def test_a_stack_deployed_as_planned_is_in_sync(aws: PagingMotoServer, audit: Audit, stack: str) -> None:
    deploy(ec2(aws, stack), stack)
    code, report = audit(stack)
    assert (code, report) == (0, {"stack": stack, "region": REGIONS[stack], "in_sync": True, "drift": []})


def test_the_region_comes_from_the_stack_unless_given(aws: PagingMotoServer, audit: Audit) -> None:
    deploy(ec2(aws, DMZ), DMZ)
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


def test_stacks_in_one_account_and_region_do_not_see_each_other(aws: PagingMotoServer, audit: Audit) -> None:
    client = ec2(aws, DMZ)
    deploy(client, DMZ)
    deploy(client, MSS)  # in eu-west-1 too
    assert audit(DMZ)[0] == 0
    assert audit(MSS, region="eu-west-1") == (
        0,
        {"stack": MSS, "region": "eu-west-1", "in_sync": True, "drift": []},
    )


# --- one kind of drift at a time ---------------------------------------------------------------------------------


def test_a_hand_added_rule_is_extra(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    d.authorize(d.roles["gateway"], "ingress", tcp(3389, "203.0.113.0/24"))
    code, report = audit(DMZ)
    assert code == 1 and report["in_sync"] is False
    assert drift(report) == [
        {
            "kind": "extra-rule",
            "role": "gateway",
            **rule("ingress", "tcp", (3389, 3389), "203.0.113.0/24"),
            "group_id": d.roles["gateway"],
        }
    ]


def test_a_deleted_rule_is_missing(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    d.revoke("dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "missing-rule",
            "role": "gateway",
            **rule("ingress", "tcp", (22, 22), "198.51.100.0/28"),
            "group_id": d.roles["gateway"],
        }
    ]


def test_a_changed_port_is_one_change_not_a_missing_and_an_extra_rule(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    d.revoke("dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")
    d.authorize(d.roles["gateway"], "ingress", tcp(2222, "198.51.100.0/28"))
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "changed-ports",
            "role": "gateway",
            **rule("ingress", "tcp", (2222, 2222), "198.51.100.0/28"),
            "planned_from_port": 22,
            "planned_to_port": 22,
            "group_id": d.roles["gateway"],
        }
    ]
    assert "22 → 2222" in report["drift"][0]["detail"]


def test_a_changed_peer_cidr_is_one_change(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    d.revoke("dmz-gateway-out-tcp-514-cidr-192.0.2.20-32")
    d.authorize(d.roles["gateway"], "egress", tcp(514, "192.0.2.21/32"))
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "changed-peer",
            "role": "gateway",
            **rule("egress", "tcp", (514, 514), "192.0.2.21/32"),
            "planned_peer": "192.0.2.20/32",
            "group_id": d.roles["gateway"],
        }
    ]


def test_role_references_are_compared_by_role_not_group_id(aws: PagingMotoServer, audit: Audit) -> None:
    """child→parent on 5432 pointed at the child group itself: the peer changed from role:parent to role:child."""
    d = deploy(ec2(aws, MSS), MSS)
    d.revoke("mss-distributed-child-out-tcp-5432-role-parent")
    child = d.roles["child"]
    d.authorize(
        child,
        "egress",
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": child}]},
    )
    code, report = audit(MSS)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "changed-peer",
            "role": "child",
            **rule("egress", "tcp", (5432, 5432), "role:child"),
            "planned_peer": "role:parent",
            "group_id": child,
        }
    ]


def test_a_prefix_list_entry_added_by_hand(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    pl = d.lists["kav-update-ipv4"]
    d.ec2.modify_managed_prefix_list(PrefixListId=pl, CurrentVersion=1, AddEntries=[{"Cidr": "203.0.113.7/32"}])
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "prefix-list-entry-added",
            "service": "kav-update-ipv4",
            "prefix_list_id": pl,
            "cidr": "203.0.113.7/32",
        }
    ]


def test_a_prefix_list_entry_removed_by_hand(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    pl = d.lists["kav-update-ipv4"]
    d.ec2.modify_managed_prefix_list(PrefixListId=pl, CurrentVersion=1, RemoveEntries=[{"Cidr": "70.33.161.213/32"}])
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "prefix-list-entry-removed",
            "service": "kav-update-ipv4",
            "prefix_list_id": pl,
            "cidr": "70.33.161.213/32",
        }
    ]


def test_a_deleted_group_is_one_missing_group_line(aws: PagingMotoServer, audit: Audit) -> None:
    """The child's rules that referenced the parent had to go first; they are folded into the one line."""
    d = deploy(ec2(aws, MSS), MSS)
    parent = d.roles["parent"]
    for name in d.rules_referencing(parent):
        d.revoke(name)
    d.ec2.delete_security_group(GroupId=parent)
    code, report = audit(MSS)
    assert code == 1
    assert drift(report) == [{"kind": "missing-group", "role": "parent"}]
    assert "15 planned rules" in report["drift"][0]["detail"]  # 9 on the parent, 6 of the child's towards it


def test_a_deleted_prefix_list_is_one_missing_prefix_list_line(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    pl = d.lists["kav-update-ipv4"]
    for name in d.rules_referencing(pl):
        d.revoke(name)
    d.ec2.delete_managed_prefix_list(PrefixListId=pl)
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [{"kind": "missing-prefix-list", "service": "kav-update-ipv4"}]


def test_aws_default_allow_all_egress_left_on_a_group_is_an_extra_rule(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ, keep_default_egress=True)
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [
        {
            "kind": "extra-rule",
            "role": "gateway",
            **rule("egress", "all", None, "0.0.0.0/0"),
            "group_id": d.roles["gateway"],
        }
    ]
    assert "default allow-all egress" in report["drift"][0]["detail"]


def test_an_untagged_group_that_uses_the_stacks_prefix_list(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    pl = d.lists["kav-update-ipv4"]
    outsider = d.ec2.create_security_group(GroupName="ops-tools", Description="by hand", VpcId=d.vpc_id)["GroupId"]
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
            **rule("egress", "tcp", (443, 443), "service:kav-update-ipv4"),
            "group_id": outsider,
            "prefix_list_id": pl,
        }
    ]
    assert "ops-tools" in report["drift"][0]["detail"]


def test_a_group_tagged_for_the_stack_with_a_role_not_planned_is_extra(aws: PagingMotoServer, audit: Audit) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    relay = d.ec2.create_security_group(
        GroupName="dmz-relay",
        Description="by hand",
        VpcId=d.vpc_id,
        TagSpecifications=_tag_spec("security-group", {"seawall:stack": DMZ, "seawall:role": "relay"}),
    )["GroupId"]
    code, report = audit(DMZ)
    assert code == 1
    assert drift(report) == [{"kind": "extra-group", "role": "relay", "group_id": relay}]


# --- several at once, pages, reading only -----------------------------------------------------------------------


def test_simultaneous_edits_are_each_reported_once_in_a_stable_order(
    aws: PagingMotoServer, audit: Audit, capsys: pytest.CaptureFixture[str]
) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    gateway = d.roles["gateway"]
    d.revoke("dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")  # deleted, and an unrelated rule added:
    d.authorize(gateway, "ingress", tcp(3389, "203.0.113.0/24"))  # no pairing across port and peer
    d.revoke("dmz-gateway-out-tcp-514-cidr-192.0.2.20-32")
    d.authorize(gateway, "egress", tcp(1514, "192.0.2.20/32"))
    d.ec2.modify_managed_prefix_list(
        PrefixListId=d.lists["apphelp-ipv4"], CurrentVersion=1, AddEntries=[{"Cidr": "203.0.113.9/32"}]
    )
    code, first = audit(DMZ)
    assert code == 1
    assert [(x["kind"], x.get("role") or x["service"]) for x in first["drift"]] == [
        ("missing-rule", "gateway"),
        ("extra-rule", "gateway"),
        ("changed-ports", "gateway"),
        ("prefix-list-entry-added", "apphelp-ipv4"),
    ]
    assert audit(DMZ) == (code, first)


def test_an_account_larger_than_a_page_is_read_page_by_page_and_never_written(
    aws: PagingMotoServer, audit: Audit
) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    for n in range(12):  # unrelated groups, each with rules, for the full scan to page through
        group = d.ec2.create_security_group(GroupName=f"app-{n}", Description="other team", VpcId=d.vpc_id)["GroupId"]
        d.authorize(group, "ingress", tcp(8000 + n, "10.1.0.0/16"))
    extras = []
    for n in range(6):  # more groups tagged for the stack than one page holds
        extras.append(
            d.ec2.create_security_group(
                GroupName=f"dmz-stray-{n}",
                Description="left behind",
                VpcId=d.vpc_id,
                TagSpecifications=_tag_spec("security-group", {"seawall:stack": DMZ, "seawall:role": f"stray{n}"}),
            )["GroupId"]
        )
    stray_list = d.ec2.create_managed_prefix_list(  # a sixth list of the stack: two pages of lists
        PrefixListName="dmz-clearswift-seg-retired-ipv4",
        AddressFamily="IPv4",
        MaxEntries=2,
        TagSpecifications=_tag_spec("prefix-list", {"seawall:stack": DMZ, "seawall:service": "clearswift-seg/retired"}),
    )["PrefixList"]["PrefixListId"]
    kav = d.lists["kav-update-ipv4"]
    added = [f"203.0.113.{n}/32" for n in (20, 21, 22)]  # 4 planned + 3 = 7 entries: two pages
    d.ec2.modify_managed_prefix_list(PrefixListId=kav, CurrentVersion=1, AddEntries=[{"Cidr": c} for c in added])
    aws.log.clear()

    code, report = audit(DMZ, page_size=5)

    assert code == 1
    assert sorted((x["kind"], x.get("cidr") or x.get("group_id") or x["prefix_list_id"]) for x in report["drift"]) == (
        sorted(
            [("extra-group", g) for g in extras]
            + [("extra-prefix-list", stray_list)]
            + [("prefix-list-entry-added", c) for c in added]
        )
    )
    actions = aws.log.actions()
    assert actions and all(a.startswith(READ_ONLY) for a in actions), sorted(set(actions))
    pages = {a: [r for r in aws.log.requests if r.action == a] for a in set(actions)}
    assert all(r.params.get("MaxResults") == "5" for r in aws.log.requests)
    # 36 rules in the stack's groups, 7 groups tagged for it, 6 lists, 7 entries in one list, 20 groups in all
    for action in (
        "DescribeSecurityGroupRules",
        "DescribeSecurityGroups",
        "DescribeManagedPrefixLists",
        "GetManagedPrefixListEntries",
    ):
        assert any("NextToken" in r.params for r in pages[action]), f"{action} was read in one page"


def test_the_report_for_people_names_each_difference(aws: PagingMotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    d = deploy(ec2(aws, DMZ), DMZ)
    status = io.StringIO()

    def run() -> tuple[int, str]:
        code = run_audit(DMZ, STACKS, None, None, aws.endpoint_url, None, False, Console(file=status), None)
        return code, capsys.readouterr().out

    code, out = run()
    assert code == 0 and "in sync" in out and "36 rules" in out
    d.revoke("dmz-gateway-in-tcp-22-cidr-198.51.100.0-28")
    d.authorize(d.roles["gateway"], "ingress", tcp(2222, "198.51.100.0/28"))
    code, out = run()
    assert code == 1
    assert "changed-ports" in out and "2222" in out and "1 changed-ports" in out
    assert "eu-west-1" in status.getvalue()  # status lines go to the console given, not stdout


# --- errors ------------------------------------------------------------------------------------------------------


def test_no_credentials_is_a_user_error(aws: PagingMotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    aws.log.clear()
    with pytest.raises(UserError, match="no AWS credentials") as caught:
        run_audit(DMZ, STACKS, None, None, aws.endpoint_url, None, True, Console(file=io.StringIO()))
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)
    assert aws.log.actions() == []


def test_an_unknown_profile_is_a_user_error(aws: PagingMotoServer) -> None:
    with pytest.raises(UserError, match="--profile: no AWS profile 'nobody'"):
        run_audit(DMZ, STACKS, None, None, aws.endpoint_url, "nobody", True, Console(file=io.StringIO()))


def test_an_unreachable_endpoint_is_a_user_error(aws: PagingMotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the standard retries would only make the test slower
    with pytest.raises(UserError, match="cannot reach EC2") as caught:
        run_audit(DMZ, STACKS, None, None, closed, None, True, Console(file=io.StringIO()))
    assert caught.value.where == "--endpoint-url" and "\n" not in str(caught.value)


def test_an_unknown_region_is_a_user_error_before_any_call(aws: PagingMotoServer) -> None:
    with pytest.raises(UserError, match=r"unknown AWS region 'eu-nowhere-9'; valid: .*eu-west-1"):
        run_audit(DMZ, STACKS, None, "eu-nowhere-9", None, None, True, Console(file=io.StringIO()))


def test_credentials_aws_rejects_are_a_user_error(aws: PagingMotoServer) -> None:
    deploy(ec2(aws, DMZ), DMZ)
    aws.require_auth_after(0)  # moto now checks keys: "testing" is nobody's
    with pytest.raises(UserError, match=r"AuthFailure on DescribeSecurityGroups.*needs read-only ec2:Describe"):
        run_audit(DMZ, STACKS, None, None, aws.endpoint_url, None, True, Console(file=io.StringIO()))


def test_a_principal_without_read_permission_is_told_which_permissions(
    aws: PagingMotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    aws.require_auth_after(3)  # the three IAM calls below; after them every request is checked
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
        run_audit(DMZ, STACKS, None, None, aws.endpoint_url, None, True, Console(file=io.StringIO()))


def test_an_azure_stack_cannot_be_audited(aws: PagingMotoServer) -> None:
    with pytest.raises(UserError, match="azure stack; audit reads AWS stacks only"):
        run_audit("dmz-azure", STACKS, None, None, aws.endpoint_url, None, True, Console(file=io.StringIO()))


def test_the_cli_command_exits_0_1_2(aws: PagingMotoServer) -> None:
    from seawall.cli import app
    from typer.testing import CliRunner

    deploy(ec2(aws, DMZ), DMZ)
    base = ["audit", "--stack", DMZ, "--stacks-dir", str(STACKS), "--endpoint-url", aws.endpoint_url]
    in_sync = CliRunner().invoke(app, [*base, "--format", "json"])
    assert in_sync.exit_code == 0 and json.loads(in_sync.stdout)["in_sync"] is True
    client = ec2(aws, DMZ)
    group = client.describe_security_groups(Filters=[{"Name": "tag:seawall:role", "Values": ["gateway"]}])[
        "SecurityGroups"
    ][0]
    client.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    drift = CliRunner().invoke(app, [*base, "--format", "json"])
    assert drift.exit_code == 1 and any(d["kind"] == "extra-rule" for d in json.loads(drift.stdout)["drift"])
    garbled = CliRunner().invoke(app, [*base, "--region", "eu-nowhere-9"])  # moto answers with an HTML error page
    assert garbled.exit_code == 2 and "not an EC2 response" in garbled.stderr
    assert isinstance(garbled.exception, SystemExit) and "Traceback" not in garbled.stderr
    unknown = CliRunner().invoke(
        app, ["audit", "--stack", DMZ, "--stacks-dir", str(STACKS), "--region", "eu-nowhere-9"]
    )
    assert unknown.exit_code == 2 and "unknown AWS region 'eu-nowhere-9'" in unknown.stderr
