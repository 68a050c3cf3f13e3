"""`seawall audit` of Azure stacks: the real azure-mgmt-network client against the ARM server of tests/armserver.py.

A stack is deployed from `seawall plan`'s resources (the PUT bodies pulumi-azure-native
sends), each NSG associated with a subnet, then edited by hand the way people do in the
portal. Tokens come from azure-identity's default chain (the App Service managed-identity
endpoint the same loopback server serves), so credentials, paging, throttling and errors
go through the SDK as they would against Azure. Every request is logged: the tests prove
several pages are read and nothing but GET is ever sent.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from armserver import ArmServer, isolate, resource_id, start
from builders import STACKS
from rich.console import Console
from seawall.azure.account import AUDIT_ROLE, MAX_ATTEMPTS, READ_ACTIONS
from seawall.cli import app
from seawall.cli.audit import run_audit
from seawall.errors import UserError
from seawall.preview.plan import PlannedResource, plan_stack
from typer.testing import CliRunner

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
DMZ, MSS = "dmz-azure", "mss-distributed-azure"
GROUP = {DMZ: "rg-mail-dmz", MSS: "rg-mail-mss"}
LOCATION = {DMZ: "westeurope", MSS: "japaneast"}
ASG = "azure-native:network:ApplicationSecurityGroup"
NSG = "azure-native:network:NetworkSecurityGroup"


@cache
def planned(stack: str) -> tuple[PlannedResource, ...]:
    return plan_stack(stack, STACKS).resources


@dataclass
class Deployment:
    """A stack built in the ARM server from its plan; ids by role, and edits by hand."""

    arm: ArmServer
    stack: str
    group: str
    nsgs: dict[str, str] = field(default_factory=dict)  # role → NSG id
    asgs: dict[str, str] = field(default_factory=dict)  # role → ASG id
    vnet: str = ""

    def rules(self, role: str) -> list[dict[str, Any]]:
        return list(self.arm.body(self.nsgs[role])["properties"]["securityRules"])

    def edit(self, role: str, change: Callable[[list[dict[str, Any]]], None]) -> None:
        """Get the NSG, change its rules, PUT it back (what the portal does)."""
        body = self.arm.body(self.nsgs[role])
        change(body["properties"]["securityRules"])
        self.arm.put(self.nsgs[role], body)

    def rule(self, role: str, name: str) -> dict[str, Any]:
        return next(r for r in self.rules(role) if r["name"] == name)

    def set(self, role: str, name: str, **props: Any) -> None:
        def change(rules: list[dict[str, Any]]) -> None:
            target = next(r for r in rules if r["name"] == name)
            for key, value in props.items():
                if value is None:
                    target["properties"].pop(key, None)
                else:
                    target["properties"][key] = value

        self.edit(role, change)

    def add(self, role: str, name: str, **props: Any) -> None:
        self.edit(role, lambda rules: rules.append({"name": name, "properties": props}))

    def remove(self, role: str, name: str) -> None:
        self.edit(role, lambda rules: rules.remove(next(r for r in rules if r["name"] == name)))

    def detach(self, role: str) -> None:
        body = self.arm.body(self.vnet)
        for subnet in body["properties"]["subnets"]:
            if subnet["name"] == role:
                subnet["properties"].pop("networkSecurityGroup")
        self.arm.put(self.vnet, body)


def deploy(arm: ArmServer, stack: str, group: str | None = None) -> Deployment:
    """Create the plan's ASGs and NSGs (inline rules) in the stack's resource group; a subnet per NSG."""
    group = group or GROUP[stack]
    location = LOCATION[stack]
    arm.add_resource_group(SUB, group, location)
    d = Deployment(arm, stack, group)
    ids: dict[str, str] = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("${"):
            return ids[value.removeprefix("${").removesuffix(".id}")]
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    resources = planned(stack)
    for r in (r for r in resources if r.type == ASG):
        rid = resource_id(SUB, group, "applicationSecurityGroups", r.inputs["applicationSecurityGroupName"])
        arm.put(rid, {"location": r.inputs["location"], "tags": dict(r.inputs["tags"])})
        ids[r.name] = d.asgs[r.inputs["tags"]["seawall:role"]] = rid
    for r in (r for r in resources if r.type == NSG):
        rid = resource_id(SUB, group, "networkSecurityGroups", r.inputs["networkSecurityGroupName"])
        rules = [
            {"name": rule["name"], "properties": {k: resolve(v) for k, v in rule.items() if k != "name"}}
            for rule in r.inputs["securityRules"]
        ]
        arm.put(
            rid,
            {"location": r.inputs["location"], "tags": dict(r.inputs["tags"]), "properties": {"securityRules": rules}},
        )
        ids[r.name] = d.nsgs[r.inputs["tags"]["seawall:role"]] = rid
    d.vnet = resource_id(SUB, group, "virtualNetworks", "vnet-mail")
    subnets = [
        {"name": role, "properties": {"addressPrefix": f"10.20.{n}.0/24", "networkSecurityGroup": {"id": nsg}}}
        for n, (role, nsg) in enumerate(sorted(d.nsgs.items()))
    ]
    arm.put(
        d.vnet,
        {
            "location": location,
            "properties": {"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]}, "subnets": subnets},
        },
    )
    return d


@pytest.fixture(scope="module")
def server() -> Iterator[ArmServer]:
    arm = start()
    yield arm
    arm.stop()


@pytest.fixture()
def arm(server: ArmServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ArmServer:
    """An empty subscription; DefaultAzureCredential finds the server's managed-identity endpoint."""
    server.reset()
    isolate(monkeypatch, tmp_path, server)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUB)
    server.add_subscription(SUB)
    return server


Audit = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture()
def audit(arm: ArmServer, capsys: pytest.CaptureFixture[str]) -> Audit:
    """Run the audit with JSON output; return its exit code and report."""

    def run(stack: str = DMZ, **options: Any) -> tuple[int, dict[str, Any]]:
        capsys.readouterr()
        options.setdefault("endpoint_url", arm.endpoint_url)
        code = run_audit(stack, STACKS, None, fmt="json", console=Console(file=io.StringIO()), **options)
        return code, json.loads(capsys.readouterr().out)

    return run


def lines(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(kind, role, rule name, broadening?, policy) of each drift line, in report order."""
    return [
        (d["kind"], d.get("role"), d.get("rule"), d["broadening"] is not None, tuple(d["policy"]))
        for d in report["drift"]
    ]


def run_cli(arm: ArmServer, *args: str) -> Any:
    base = ["audit", "--stacks-dir", str(STACKS), "--endpoint-url", arm.endpoint_url]
    return CliRunner().invoke(app, [*base, *args])


# --- in sync ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [DMZ, MSS])
def test_a_stack_deployed_as_planned_is_in_sync(arm: ArmServer, audit: Audit, stack: str) -> None:
    deploy(arm, stack)
    code, report = audit(stack)
    roles = len({r.inputs["tags"]["seawall:role"] for r in planned(stack) if r.type == NSG})
    rules = sum(len(r.inputs["securityRules"]) for r in planned(stack) if r.type == NSG)
    assert code == 0
    assert report == {
        "stack": stack,
        "cloud": "azure",
        "subscription": SUB,
        "resource_group": GROUP[stack],
        "in_sync": True,
        "broadening": False,
        "planned": {"nsgs": roles, "asgs": roles, "rules": rules},
        "drift": [],
        "notes": [
            "Azure adds 6 default rules to every NSG (AllowAzureLoadBalancerInBound, AllowInternetOutBound, "
            "AllowVnetInBound, AllowVnetOutBound, DenyAllInBound, DenyAllOutBound); seawall does not manage them, "
            "and its deny-all rules at 4096 come before them"
        ],
    }


def test_two_stacks_in_one_subscription_do_not_see_each_other(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, DMZ)
    deploy(arm, MSS)
    assert audit(DMZ)[0] == 0
    assert audit(MSS)[0] == 0


# --- one kind of drift at a time ----------------------------------------------------------------------------------


def test_a_hand_added_rule_is_extra_and_broadening(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.add(
        "gateway",
        "allow-rdp-partner",
        protocol="Tcp",
        access="Allow",
        priority=300,
        direction="Inbound",
        sourcePortRange="*",
        destinationPortRange="3389",
        sourceAddressPrefix="203.0.113.0/24",
        destinationApplicationSecurityGroups=[{"id": d.asgs["gateway"]}],
    )
    code, report = audit()
    assert code == 3 and report["broadening"] is True
    assert lines(report) == [("extra-rule", "gateway", "allow-rdp-partner", True, ())]
    assert report["drift"][0]["broadening"] == "opens Tcp/3389 on gateway from 203.0.113.0/24"
    assert report["drift"][0]["source"] == {"addresses": ["203.0.113.0/24"], "asgs": []}
    assert report["drift"][0]["destination"] == {"addresses": [], "asgs": ["role:gateway"]}


def test_ssh_from_the_internet_names_the_policy_rules_it_breaks(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.set("gateway", "in-tcp-22-site-admin-clients-ipv4", sourceAddressPrefix="Internet")
    code, report = audit()
    assert code == 3
    assert lines(report) == [
        (
            "changed-addresses",
            "gateway",
            "in-tcp-22-site-admin-clients-ipv4",
            True,
            ("internet-ingress-documented", "no-management-from-internet"),
        )
    ]
    line = report["drift"][0]
    assert line["broadening"] == (
        "in-tcp-22-site-admin-clients-ipv4 now allows Tcp/22 on gateway from Internet (the whole internet); "
        "planned Tcp/22 on gateway from 198.51.100.0/28"
    )
    assert line["changed"] == ["addresses"] and line["planned"]["source"]["addresses"] == ["198.51.100.0/28"]


def test_a_hand_added_deny_rule_is_drift_but_not_broadening(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.add(
        "gateway",
        "block-bad-actor",
        protocol="*",
        access="Deny",
        priority=110,
        direction="Inbound",
        sourcePortRange="*",
        destinationPortRange="*",
        sourceAddressPrefix="203.0.113.66",
        destinationAddressPrefix="*",
    )
    code, report = audit()
    assert code == 1 and report["broadening"] is False
    assert lines(report) == [("extra-rule", "gateway", "block-bad-actor", False, ())]


def test_a_removed_rule_is_missing(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.remove("gateway", "in-tcp-25-internet")
    code, report = audit()
    assert code == 1
    assert lines(report) == [("missing-rule", "gateway", "in-tcp-25-internet", False, ())]
    assert report["drift"][0]["source"]["addresses"] == ["Internet"]


def test_a_changed_priority_is_one_change(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.set("gateway", "in-tcp-25-internet", priority=101)
    code, report = audit()
    assert code == 1
    assert lines(report) == [("changed-priority", "gateway", "in-tcp-25-internet", False, ())]
    line = report["drift"][0]
    assert (line["priority"], line["planned"]["priority"], line["changed"]) == (101, 740, ["priority"])
    assert "priority 740 → 101" in line["detail"]


def test_several_fields_of_one_rule_are_one_changed_rule_line(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.set("gateway", "in-tcp-443-site-admin-clients-ipv4", priority=102, destinationPortRange="443-450")
    code, report = audit()
    assert code == 3  # 444-450 were never planned
    assert lines(report) == [("changed-rule", "gateway", "in-tcp-443-site-admin-clients-ipv4", True, ())]
    assert report["drift"][0]["changed"] == ["ports", "priority"]


def test_a_narrower_peer_is_drift_but_not_broadening(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.set("gateway", "in-tcp-22-site-admin-clients-ipv4", sourceAddressPrefix="198.51.100.0/29")
    code, report = audit()
    assert code == 1
    assert lines(report) == [("changed-addresses", "gateway", "in-tcp-22-site-admin-clients-ipv4", False, ())]


@pytest.mark.parametrize(
    ("stack", "role", "direction", "policy"),
    [
        # the virtual network reaches InterScan's internal ports (10024-10026, …) once deny-all-inbound is gone
        (MSS, "child", "inbound", ("no-product-internal-ports",)),
        (DMZ, "gateway", "outbound", ("internet-egress-opted-in",)),
    ],
)
def test_a_deleted_deny_all_is_broadening_azures_defaults_take_over(
    arm: ArmServer, audit: Audit, stack: str, role: str, direction: str, policy: tuple[str, ...]
) -> None:
    d = deploy(arm, stack)
    d.remove(role, f"deny-all-{direction}")
    code, report = audit(stack)
    assert code == 3
    assert lines(report) == [("missing-deny-all", role, f"deny-all-{direction}", True, policy)]
    assert "Azure's default Allow" in report["drift"][0]["broadening"]


def test_an_allow_everything_rule_shadows_the_deny_all(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.add(
        "gateway",
        "temp-debug-allow-all",
        protocol="*",
        access="Allow",
        priority=4000,
        direction="Inbound",
        sourcePortRange="*",
        destinationPortRange="*",
        sourceAddressPrefix="*",
        destinationAddressPrefix="*",
    )
    code, report = audit()
    assert code == 3
    every = ("internet-ingress-documented", "no-management-from-internet")
    assert lines(report) == [
        ("shadowed-deny-all", "gateway", "temp-debug-allow-all", True, every),
        ("extra-rule", "gateway", "temp-debug-allow-all", True, every),
    ]
    assert "allows everything deny-all-inbound (priority 4096) would stop" in report["drift"][0]["detail"]


def test_a_detached_nsg_protects_nothing(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.detach("gateway")
    code, report = audit()
    assert code == 1
    assert lines(report) == [("unattached-nsg", "gateway", None, False, ())]
    assert report["drift"][0]["nsg_id"] == d.nsgs["gateway"]
    assert "not associated with any subnet or network interface" in report["drift"][0]["detail"]


def test_an_nsg_attached_to_a_network_interface_is_attached(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.detach("gateway")
    nic = resource_id(SUB, d.group, "networkInterfaces", "gateway-1-nic")
    arm.put(nic, {"location": "westeurope", "properties": {"networkSecurityGroup": {"id": d.nsgs["gateway"]}}})
    assert audit()[0] == 0


def test_a_deleted_nsg_is_one_missing_nsg_line(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, MSS)
    arm.delete(d.nsgs["parent"])
    code, report = audit(MSS)
    assert code == 1
    assert lines(report) == [("missing-nsg", "parent", None, False, ())]
    assert "planned mss-distributed-parent-nsg with 11 rules" in report["drift"][0]["detail"]


def test_an_nsg_tagged_for_the_stack_in_another_resource_group_is_reported_as_such(
    arm: ArmServer, audit: Audit
) -> None:
    """The whole stack deployed into the wrong resource group: nothing is in sync."""
    d = deploy(arm, DMZ, group="rg-mail-dmz-old")
    arm.add_resource_group(SUB, GROUP[DMZ], "westeurope")
    code, report = audit()
    assert code == 1
    assert lines(report) == [
        ("missing-nsg", "gateway", None, False, ()),
        ("nsg-outside-resource-group", "gateway", None, False, ()),
        ("missing-asg", "gateway", None, False, ()),
        ("asg-outside-resource-group", "gateway", None, False, ()),
    ]
    outside = report["drift"][1]
    assert (outside["nsg_id"], outside["resource_group"]) == (d.nsgs["gateway"], "rg-mail-dmz-old")
    assert "in resource group rg-mail-dmz-old, not the stack's rg-mail-dmz" in outside["detail"]


def test_a_second_nsg_for_a_role_is_extra_and_broadening_when_attached(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    stray = resource_id(SUB, d.group, "networkSecurityGroups", "gateway-hotfix")
    rule = {
        "name": "allow-8080",
        "properties": {
            "protocol": "Tcp",
            "access": "Allow",
            "priority": 200,
            "direction": "Inbound",
            "sourcePortRange": "*",
            "destinationPortRange": "8080",
            "sourceAddressPrefix": "0.0.0.0/0",
            "destinationAddressPrefix": "*",
        },
    }
    tags = {"seawall:stack": DMZ, "seawall:role": "gateway"}
    arm.put(stray, {"location": "westeurope", "tags": tags, "properties": {"securityRules": [rule]}})
    code, report = audit()
    assert code == 1  # not attached: its rules let nothing through yet
    assert lines(report) == [("extra-nsg", "gateway", None, False, ())]
    assert "second NSG for role 'gateway'" in report["drift"][0]["detail"]
    nic = resource_id(SUB, d.group, "networkInterfaces", "gateway-2-nic")
    arm.put(nic, {"location": "westeurope", "properties": {"networkSecurityGroup": {"id": stray}}})
    code, report = audit()
    assert code == 3
    # Judged by what it admits: 8080 from anywhere, and (no outbound rules of its own, so Azure's
    # AllowInternetOutBound decides) everything out to the internet.
    assert lines(report) == [
        ("extra-nsg", "gateway", None, True, ("internet-ingress-documented", "internet-egress-opted-in"))
    ]


def test_asg_references_are_compared_by_role_not_id(arm: ArmServer, audit: Audit) -> None:
    """child→parent on 5432 pointed at the child's own ASG: the destination changed from role:parent to role:child."""
    d = deploy(arm, MSS)
    d.set("child", "out-tcp-5432-role-parent", destinationApplicationSecurityGroups=[{"id": d.asgs["child"]}])
    code, report = audit(MSS)
    assert code == 3
    assert lines(report) == [("changed-asgs", "child", "out-tcp-5432-role-parent", True, ())]
    line = report["drift"][0]
    assert (line["destination"]["asgs"], line["planned"]["destination"]["asgs"]) == (["role:child"], ["role:parent"])


def test_a_renamed_rule_is_one_line_and_not_broadening(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    d.edit("gateway", lambda rules: next(r for r in rules if r["name"] == "in-tcp-25-internet").update(name="smtp-in"))
    code, report = audit()
    assert code == 1
    assert lines(report) == [("renamed-rule", "gateway", "smtp-in", False, ())]
    assert report["drift"][0]["detail"] == "in-tcp-25-internet on dmz-gateway-nsg is named smtp-in"


# --- several at once, pages, reading only -----------------------------------------------------------------------


def test_simultaneous_edits_broadening_first_in_a_stable_order(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, MSS)
    d.remove("child", "in-tcp-25-internet")
    d.set("parent", "in-tcp-8445-site-admin-clients-ipv4", sourceAddressPrefix="Internet")
    d.set("child", "deny-all-outbound", priority=4090)
    code, first = audit(MSS)
    assert code == 3
    assert [(x[0], x[1], x[3]) for x in lines(first)] == [
        ("changed-addresses", "parent", True),
        ("missing-rule", "child", False),
        ("changed-priority", "child", False),
    ]
    assert audit(MSS) == (code, first)


def test_listings_are_read_page_by_page_and_nothing_is_written(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, MSS)
    deploy(arm, DMZ)
    for n in range(5):  # other teams' NSGs in the subscription, for the subscription-wide listing to page through
        arm.add_resource_group(SUB, f"rg-app-{n}", "westeurope")
        arm.put(resource_id(SUB, f"rg-app-{n}", "networkSecurityGroups", f"app-{n}"), {"location": "westeurope"})
    arm.page_size = 2
    arm.requests.clear()
    code, report = audit(MSS)
    assert (code, report["drift"]) == (0, [])
    actions = arm.actions()
    assert actions and {method for method, _ in actions} == {"GET"}, actions
    listings = [r for r in arm.requests if not r.path.startswith("/msi/")]
    assert all(r.query.get("api-version") == "2026-03-01" for r in listings)

    def pages(kind: str, in_group: bool) -> list[str | None]:
        """The skip token of each page read of one listing, in order."""
        return [
            r.query.get("$skiptoken")
            for r in listings
            if r.path.endswith(f"/{kind}") and ("/resourceGroups/" in r.path) == in_group
        ]

    # 2 NSGs and 2 ASGs in the stack's group; 8 NSGs (2 + 1 + 5) and 3 ASGs in the subscription; 2 a page
    assert pages("networkSecurityGroups", True) == [None]
    assert pages("applicationSecurityGroups", True) == [None]
    assert pages("networkSecurityGroups", False) == [None, "2", "4", "6"]
    assert pages("applicationSecurityGroups", False) == [None, "2"]


def test_a_next_link_to_another_host_is_not_followed_with_the_token(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, MSS)
    arm.page_size = 1
    arm.next_link_base = arm.endpoint_url.replace("127.0.0.1", "localhost")  # the same server, another origin
    arm.requests.clear()
    with pytest.raises(UserError, match="its nextLink leads to another host, localhost:"):
        audit(MSS)
    assert len(arm.actions()) == 1  # the first page only


def test_throttling_is_waited_out_as_arm_asks(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, DMZ)
    arm.throttle(MAX_ATTEMPTS - 1, 1)
    arm.requests.clear()
    start = time.monotonic()
    code, _ = audit()
    elapsed = time.monotonic() - start
    assert code == 0
    first = arm.actions()[: MAX_ATTEMPTS + 1]
    assert first[:MAX_ATTEMPTS] == [first[0]] * MAX_ATTEMPTS and first[MAX_ATTEMPTS] != first[0]
    assert elapsed >= (MAX_ATTEMPTS - 1) * 1  # Retry-After: 1, twice


def test_the_provider_is_never_registered_even_when_arm_asks(arm: ArmServer, audit: Audit) -> None:
    """The SDK's default pipeline would POST a registration on this 409; the audit's does not."""
    deploy(arm, DMZ)
    arm.unregister(SUB)
    arm.requests.clear()
    with pytest.raises(UserError, match=r"MissingSubscriptionRegistration \(HTTP 409\) on NetworkSecurityGroups_List"):
        audit()
    assert {method for method, _ in arm.actions()} == {"GET"}


# --- permissions ----------------------------------------------------------------------------------------------------


def test_the_custom_role_in_the_readme_is_enough(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, DMZ)
    arm.grant(f"/subscriptions/{SUB}", AUDIT_ROLE["Actions"])
    assert audit()[0] == 0
    assert AUDIT_ROLE["Actions"] == list(READ_ACTIONS) and not AUDIT_ROLE["DataActions"]


def test_a_principal_without_read_permission_is_told_which(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, DMZ)
    arm.grant(f"/subscriptions/{SUB}", ["Microsoft.Network/applicationSecurityGroups/read"])
    with pytest.raises(UserError) as caught:
        audit()
    message = str(caught.value)
    assert "AuthorizationFailed (HTTP 403) on NetworkSecurityGroups_List" in message
    assert (
        "Microsoft.Network/networkSecurityGroups/read and Microsoft.Network/applicationSecurityGroups/read" in message
    )
    assert "\n" not in message and caught.value.exit_code == 2


def test_a_role_on_the_resource_group_only_audits_it_and_says_what_was_not_looked_for(
    arm: ArmServer, audit: Audit
) -> None:
    deploy(arm, DMZ)
    arm.grant(f"/subscriptions/{SUB}/resourceGroups/{GROUP[DMZ]}", AUDIT_ROLE["Actions"])
    code, report = audit()
    assert code == 0
    assert report["notes"][1].startswith(
        "NSGs and ASGs tagged for the stack outside resource group rg-mail-dmz were not"
    )


# --- errors ---------------------------------------------------------------------------------------------------------


def test_no_credentials_is_one_line(arm: ArmServer, audit: Audit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    # Developer credentials only: the managed-identity probe would leave loopback for 169.254.169.254.
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "dev")
    monkeypatch.setenv("PATH", str(Path(os.environ["HOME"]) / "no-tools"))  # no az, azd or pwsh
    arm.requests.clear()
    with pytest.raises(UserError, match=r"^credentials: no Azure credentials found \(DefaultAzureCredential tried "):
        audit()
    assert arm.actions() == []


def test_no_credentials_through_the_command_is_one_line_on_stderr(
    arm: ArmServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """azure-identity logs every credential it tried; none of that reaches the user's terminal."""
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "dev")
    monkeypatch.setenv("PATH", str(Path(os.environ["HOME"]) / "no-tools"))
    result = run_cli(arm, "--stack", DMZ)
    assert result.exit_code == 2 and result.stdout == ""
    *status, error = result.stderr.splitlines()
    assert [line.split(" in ")[0] for line in status] == ["auditing dmz-azure"]
    assert error.startswith("seawall: error: credentials: no Azure credentials found (DefaultAzureCredential tried ")
    assert error.endswith(
        "run az login, set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or run where a managed identity is available"
    )


def test_a_token_arm_refuses_is_one_line(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, DMZ)
    arm.reject_tokens = True
    with pytest.raises(
        UserError,
        match=r"^credentials: ARM refused the token on NetworkSecurityGroups_List \(InvalidAuthenticationToken\)",
    ):
        audit()


def test_an_unknown_subscription_and_resource_group_name_the_option(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, DMZ)
    with pytest.raises(UserError, match=r"^--subscription: SubscriptionNotFound: The subscription '1"):
        audit(subscription="11111111-1111-1111-1111-111111111111")
    with pytest.raises(UserError, match=r"^--resource-group: ResourceGroupNotFound: Resource group 'rg-typo'"):
        audit(resource_group="rg-typo")
    with pytest.raises(UserError, match=r"^--subscription: 'prod' is not a subscription id"):
        audit(subscription="prod")


def test_without_a_subscription_anywhere_the_error_says_where_to_set_one(
    arm: ArmServer, audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID")
    with pytest.raises(UserError, match="no subscription: pass --subscription, set AZURE_SUBSCRIPTION_ID"):
        audit()


class _HtmlEndpoint(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        data = b"<html><body>It works!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_endpoint_that_is_not_arm_is_one_line(arm: ArmServer, audit: Audit) -> None:
    web = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlEndpoint)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(UserError) as caught:
            audit(endpoint_url=f"http://127.0.0.1:{web.server_address[1]}")
    finally:
        web.shutdown()
        web.server_close()
    assert caught.value.where == "--endpoint-url"
    assert "answer to NetworkSecurityGroups_List is not an ARM response" in str(caught.value)


def test_a_token_is_never_sent_in_clear_text_off_the_machine(arm: ArmServer, audit: Audit) -> None:
    arm.requests.clear()
    with pytest.raises(UserError, match="plain http to another machine; the token would travel in clear text"):
        audit(endpoint_url="http://192.0.2.1:8080")
    assert arm.requests == []


def test_options_of_the_other_cloud_are_refused(arm: ArmServer, audit: Audit) -> None:
    with pytest.raises(UserError, match=r"^--region: dmz-azure is an Azure stack; --region is for AWS stacks"):
        audit(region="eu-west-1")


# --- the command ----------------------------------------------------------------------------------------------------


def test_the_command_exits_0_1_3_and_2(arm: ArmServer) -> None:
    d = deploy(arm, DMZ)
    assert run_cli(arm, "--stack", DMZ).exit_code == 0
    d.set("gateway", "in-tcp-25-internet", priority=101)
    assert run_cli(arm, "--stack", DMZ).exit_code == 1
    d.set("gateway", "in-tcp-22-site-admin-clients-ipv4", sourceAddressPrefix="*")
    assert run_cli(arm, "--stack", DMZ).exit_code == 3
    bad = run_cli(arm, "--stack", DMZ, "--resource-group", "rg-typo")
    assert bad.exit_code == 2 and isinstance(bad.exception, SystemExit)
    assert bad.stdout == "" and bad.stderr.splitlines()[-1].startswith("seawall: error: --resource-group:")
    assert "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) <= 2


def test_the_table_leads_with_broadening_and_is_never_cut_when_piped(arm: ArmServer) -> None:
    d = deploy(arm, DMZ)
    d.set("gateway", "in-tcp-22-site-admin-clients-ipv4", sourceAddressPrefix="Internet")
    d.remove("gateway", "in-tcp-25-internet")
    result = run_cli(arm, "--stack", DMZ)
    assert result.exit_code == 3
    out = result.stdout.splitlines()
    assert out[0] == (
        "BROADENING changed-addresses gateway: in-tcp-22-site-admin-clients-ipv4 now allows Tcp/22 on gateway from "
        "Internet (the whole internet); planned Tcp/22 on gateway from 198.51.100.0/28 "
        "(breaks internet-ingress-documented, no-management-from-internet)"
    )
    nsg = d.nsgs["gateway"].rsplit("/", 1)[1]
    assert any("in-tcp-25-internet: 740 Inbound Allow Tcp/25 from Internet to role:gateway" in line for line in out)
    assert any(f"planned in-tcp-25-internet is not on {nsg}" in line for line in out)
    assert out[-2] == (
        "dmz-azure in resource group rg-mail-dmz (subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590): "
        "2 differences, 1 of them broadening: 1 missing-rule, 1 changed-addresses"
    )
    assert out[-1].startswith("note: Azure adds 6 default rules to every NSG")


def test_markdown_for_a_job_summary(arm: ArmServer) -> None:
    d = deploy(arm, DMZ)
    d.remove("gateway", "deny-all-outbound")
    result = run_cli(arm, "--stack", DMZ, "--format", "markdown")
    assert result.exit_code == 3
    text = result.stdout
    assert text.startswith("### seawall audit: `dmz-azure` in resource group rg-mail-dmz (subscription ")
    assert "> [!CAUTION]\n> **Broadening drift**: the cloud lets through more than the plan.\n" in text
    assert "> - **missing-deny-all** gateway: Azure's default AllowInternetOutBound" in text
    assert "(breaks internet-egress-opted-in)" in text
    assert "| **broadening** | missing-deny-all | gateway |" in text


def test_the_arm_server_answers_the_sdk_as_arm_does_and_refuses_what_arm_would(arm: ArmServer) -> None:
    """The test double itself, driven by the SDK's own client with its default pipeline."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.network import NetworkManagementClient

    deploy(arm, DMZ)
    client = NetworkManagementClient(DefaultAzureCredential(), SUB, base_url=arm.endpoint_url)
    nsgs = client.network_security_groups
    got = nsgs.get(GROUP[DMZ], "dmz-gateway-nsg", enforce_https=False)
    assert got.name == "dmz-gateway-nsg" and got.provisioning_state == "Succeeded"
    assert [r.name for r in got.default_security_rules][:2] == ["AllowVnetInBound", "AllowAzureLoadBalancerInBound"]
    assert got.subnets[0].id.endswith("/virtualNetworks/vnet-mail/subnets/gateway")
    assert got.security_rules[0].destination_application_security_groups[0].id == deploy_ids(arm)["gateway"]
    with pytest.raises(HttpResponseError) as old:
        nsgs.get(GROUP[DMZ], "dmz-gateway-nsg", api_version="2023-09-01", enforce_https=False)
    assert old.value.error is not None and old.value.error.code == "NoRegisteredProviderFound"
    with pytest.raises(ResourceNotFoundError):
        nsgs.get(GROUP[DMZ], "no-such-nsg", enforce_https=False)
    with pytest.raises(HttpResponseError) as wrong_type:
        list(client.virtual_networks.list(GROUP[DMZ], enforce_https=False))  # seeded, never served
    assert wrong_type.value.error is not None and wrong_type.value.error.code == "InvalidResourceType"
    with pytest.raises(HttpResponseError) as write:
        nsgs.begin_delete(GROUP[DMZ], "dmz-gateway-nsg", enforce_https=False).result()
    assert (
        write.value.status_code == 405
        and (
            "DELETE",
            f"/subscriptions/{SUB}/resourceGroups/{GROUP[DMZ]}/providers/Microsoft.Network/networkSecurityGroups/dmz-gateway-nsg",
        )
        in arm.actions()
    )


def deploy_ids(arm: ArmServer) -> dict[str, str]:
    return {"gateway": resource_id(SUB, GROUP[DMZ], "applicationSecurityGroups", "dmz-gateway-asg")}


# --- judged in packets (issue: verdicts from what the NSG admits, not from how a rule is spelled) ---------------


@pytest.mark.parametrize(
    ("change", "admitted"),
    [
        ({"sourceAddressPrefix": "Internet"}, "tag:VirtualNetwork"),  # the virtual network is not "Internet"
        ({"protocol": "Tcp"}, "protocols 0-5; protocols 7-255"),  # everything but TCP falls to AllowVnetInBound
        ({"sourceAddressPrefix": "10.0.0.0/8"}, "tag:AzureLoadBalancer"),
    ],
    ids=["deny-all-inbound narrowed to Internet", "deny-all-inbound narrowed to Tcp", "narrowed to 10.0.0.0/8"],
)
def test_a_narrowed_deny_all_is_broadening(arm: ArmServer, audit: Audit, change: dict[str, str], admitted: str) -> None:
    d = deploy(arm, DMZ)
    d.set("gateway", "deny-all-inbound", **change)
    code, report = audit()
    assert code == 3, report
    first = report["drift"][0]
    assert (first["kind"], first["rule"]) in {
        ("changed-addresses", "deny-all-inbound"),
        ("changed-protocol", "deny-all-inbound"),
    }
    assert first["broadening"].startswith("deny-all-inbound no longer stops what it was planned to")
    assert admitted in first["broadening"] and "AllowVnetInBound" in first["broadening"]


def test_an_allow_below_a_higher_priority_deny_is_drift_not_broadening(arm: ArmServer, audit: Audit) -> None:
    """A new deny for 3389 at 150 and a new allow for 3389 from the internet at 160: RDP stays closed."""
    d = deploy(arm, DMZ)
    rdp = {"protocol": "Tcp", "direction": "Inbound", "sourcePortRange": "*", "destinationPortRange": "3389",
           "sourceAddressPrefix": "Internet", "destinationAddressPrefix": "*"}  # fmt: skip
    d.add("gateway", "deny-rdp", access="Deny", priority=150, **rdp)
    d.add("gateway", "allow-rdp", access="Allow", priority=160, **rdp)
    code, report = audit()
    assert code == 1, report
    assert [(x[0], x[2], x[3]) for x in lines(report)] == [
        ("extra-rule", "deny-rdp", False),
        ("extra-rule", "allow-rdp", False),
    ]


def test_the_same_allow_above_the_deny_is_broadening(arm: ArmServer, audit: Audit) -> None:
    d = deploy(arm, DMZ)
    rdp = {"protocol": "Tcp", "direction": "Inbound", "sourcePortRange": "*", "destinationPortRange": "3389",
           "sourceAddressPrefix": "Internet", "destinationAddressPrefix": "*"}  # fmt: skip
    d.add("gateway", "deny-rdp", access="Deny", priority=170, **rdp)
    d.add("gateway", "allow-rdp", access="Allow", priority=160, **rdp)
    code, report = audit()
    assert code == 3
    assert lines(report)[0] == ("extra-rule", "gateway", "allow-rdp", True, ("internet-ingress-documented",))


def test_a_stray_nsg_in_another_resource_group_is_judged_by_what_it_admits(arm: ArmServer, audit: Audit) -> None:
    deploy(arm, DMZ)
    arm.add_resource_group(SUB, "rg-elsewhere", "westeurope")
    stray = resource_id(SUB, "rg-elsewhere", "networkSecurityGroups", "mail-hotfix")
    rule = {
        "name": "allow-ssh",
        "properties": {"protocol": "Tcp", "access": "Allow", "priority": 200, "direction": "Inbound",
                       "sourcePortRange": "*", "destinationPortRange": "22", "sourceAddressPrefix": "Internet",
                       "destinationAddressPrefix": "*"},
    }  # fmt: skip
    tags = {"seawall:stack": DMZ, "seawall:role": "gateway"}
    arm.put(stray, {"location": "westeurope", "tags": tags, "properties": {"securityRules": [rule]}})
    code, report = audit()
    assert code == 1, report  # not attached: it lets nothing through yet
    nic = resource_id(SUB, "rg-elsewhere", "networkInterfaces", "mail-nic")
    arm.put(nic, {"location": "westeurope", "properties": {"networkSecurityGroup": {"id": stray}}})
    code, report = audit()
    assert code == 3, report
    line = next(x for x in report["drift"] if x["kind"] == "nsg-outside-resource-group")
    assert line["broadening"].startswith("is attached and admits what the plan does not: tcp/22 on gateway")
    assert "no-management-from-internet" in line["policy"]


def test_internet_rewritten_as_every_address_lets_the_networks_members_in(arm: ArmServer, audit: Audit) -> None:
    """``Internet`` is the space outside the virtual network; ``0.0.0.0/0`` is every address, members too."""
    d = deploy(arm, DMZ)
    d.set("gateway", "in-tcp-25-internet", sourceAddressPrefix="0.0.0.0/0")
    code, report = audit()
    assert code == 3, report
    said = [x["broadening"] for x in report["drift"] if x["broadening"]]
    assert any(
        "tcp/25 on gateway from any member of the network, tag:AzureLoadBalancer at any IPv4 address" in b for b in said
    ), said
