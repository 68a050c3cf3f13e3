"""`seawall diff` inputs: a plan file is checked where it is read, plans of different stacks or clouds are
refused unless asked for, and a broadening that adds up to the internet is called the whole internet."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from seawall.analysis.diff import diff_plans
from seawall.cli import app
from seawall.preview.plan import plan_stack
from typer.testing import CliRunner

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
NSG = "azure-native:network:NetworkSecurityGroup"
PLAN = "the output of seawall plan --format json"
SSH = "in-tcp-22-site-admin-clients"  # the Azure rule that opens SSH to the admin clients

Plan = dict[str, Any]


@cache
def _plan_text(stack: str) -> str:
    return plan_stack(stack, REPO / "stacks").to_text()


def plan(stack: str) -> Plan:
    """A fresh copy of a shipped stack's real plan, to edit."""
    data: Plan = json.loads(_plan_text(stack))
    return data


def find(data: Plan, test: Callable[[dict[str, Any]], bool]) -> tuple[int, dict[str, Any]]:
    """(index, resource) of the one resource that passes ``test``."""
    found = [(n, r) for n, r in enumerate(data["resources"]) if test(r)]
    assert len(found) == 1, f"expected one resource, found {len(found)}"
    return found[0]


def ssh_rule(data: Plan) -> tuple[int, dict[str, Any]]:
    """The AWS rule that opens tcp/22 on the gateway to the admin clients."""
    return find(data, lambda r: r["type"] == INGRESS and r["inputs"].get("fromPort") == 22)


def apphelp_list(data: Plan) -> tuple[int, dict[str, Any]]:
    return find(
        data, lambda r: r["type"] == PREFIX_LIST and r["inputs"]["tags"]["seawall:service"].endswith("/apphelp")
    )


def gateway_nsg(data: Plan) -> tuple[int, dict[str, Any]]:
    return find(data, lambda r: r["type"] == NSG)


def nsg_rule(data: Plan, prefix: str) -> tuple[int, dict[str, Any]]:
    """(index, rule) of the gateway NSG's one rule whose name starts with ``prefix``."""
    rules = gateway_nsg(data)[1]["inputs"]["securityRules"]
    found = [(n, rule) for n, rule in enumerate(rules) if rule["name"].startswith(prefix)]
    assert len(found) == 1
    return found[0]


def where(data: Plan) -> dict[str, str]:
    """Paths the expected errors name, found in the real plan so that a reordered plan keeps the table right."""
    if any(r["type"] == NSG for r in data["resources"]):
        n = gateway_nsg(data)[0]
        return {
            "nsg": f"resources[{n}].inputs",
            "ssh": f"resources[{n}].inputs.securityRules[{nsg_rule(data, SSH)[0]}]",
        }
    return {
        "ssh": f"resources[{ssh_rule(data)[0]}].inputs",
        "pl": f"resources[{apphelp_list(data)[0]}].inputs",
        "sg": f"resources[{find(data, lambda r: r['type'] == SECURITY_GROUP)[0]}].inputs",
        "last": f"resources[{len(data['resources'])}]",
        "warning": f"warnings[{len(data['warnings'])}]",
    }


Edit = Callable[[Plan], str | bytes]


def raw(text: str | bytes) -> Edit:
    return lambda _data: text


def edited(change: Callable[[Plan], object]) -> Edit:
    def apply(data: Plan) -> str:
        change(data)
        return json.dumps(data, indent=2)

    return apply


def ssh_set(key: str, value: Any) -> Edit:
    return edited(lambda d: ssh_rule(d)[1]["inputs"].__setitem__(key, value))


def nsg_ssh_set(key: str, value: Any) -> Edit:
    return edited(lambda d: nsg_rule(d, SSH)[1].__setitem__(key, value))


def add_resource(resource: Any) -> Edit:
    return edited(lambda d: d["resources"].append(resource))


BAD_PLANS: list[tuple[str, str, Edit, str]] = [
    # (case, stack, how the head file is made from the stack's real plan, the error after "seawall: error: ")
    ("empty file", "dmz-aws", raw(""), f"{{head}}: empty file; valid: {PLAN}"),
    ("not JSON", "dmz-aws", raw("stack: dmz-aws\n"), f"{{head}}:1:1: not valid JSON (Expecting value); valid: {PLAN}"),
    (
        "truncated after a bracket",
        "dmz-aws",
        lambda d: "\n".join(json.dumps(d, indent=2).splitlines()[:3]),
        "{head}:3:17: the JSON ends early (a truncated file?); valid: the complete output of seawall plan --format json",
    ),
    (
        "truncated inside a string",
        "dmz-aws",
        raw('{"stack": "dmz-a'),
        "{head}:1:11: the JSON ends early (a truncated file?); valid: the complete output of seawall plan --format json",
    ),
    (
        "NaN is not JSON",
        "dmz-aws",
        ssh_set("fromPort", "@NaN@"),
        f"{{head}}: not valid JSON (NaN is not a JSON number); valid: {PLAN}",
    ),
    (
        "not UTF-8",
        "dmz-aws",
        raw(b'{"stack": "dmz-aws", "resources": [], "warnings": [{"text": "\xe4"}]}'),
        f"{{head}}: not UTF-8 text (byte 0xe4 at offset 61); valid: {PLAN}",
    ),
    (
        "nested too deeply",
        "dmz-aws",
        raw('{"stack": "dmz-aws", "resources": [], "outputs": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"),
        f"{{head}}: not valid JSON for seawall (nested too deeply); valid: {PLAN}",
    ),
    (
        "a JSON list",
        "dmz-aws",
        raw("[1, 2]"),
        f"{{head}}: not a seawall plan JSON (no stack and resources); valid: {PLAN}",
    ),
    (
        "an IP-set lock instead",
        "dmz-aws",
        raw('{"version": 1, "hosts": {}, "services": {}}'),
        f"{{head}}: not a seawall plan JSON (no stack and resources); valid: {PLAN}",
    ),
    (
        "no stack",
        "dmz-aws",
        edited(lambda d: d.pop("stack")),
        "{head}: stack: missing; valid: a seawall plan has stack, resources, outputs and warnings",
    ),
    (
        "stack not a string",
        "dmz-aws",
        edited(lambda d: d.update(stack=["dmz-aws"])),
        "{head}: stack: expected a string",
    ),
    (
        "stack that would write Markdown",
        "dmz-aws",
        edited(lambda d: d.update(stack="dmz`\n> all clear")),
        '{head}: stack: "dmz`\\n> all clear" is not a stack name; valid: letters, digits, -, _ and .',
    ),
    (
        "unknown top-level key",
        "dmz-aws",
        edited(lambda d: d.update(resource=[])),
        "{head}: unknown key 'resource'; valid: stack, resources, outputs, warnings",
    ),
    ("resources not a list", "dmz-aws", edited(lambda d: d.update(resources={})), "{head}: resources: expected a list"),
    ("resource not an object", "dmz-aws", add_resource("sg-1"), "{head}: {last}: expected an object"),
    (
        "inputs not an object",
        "dmz-aws",
        edited(lambda d: d["resources"][3].__setitem__("inputs", [])),
        "{head}: resources[3].inputs: expected an object",
    ),
    (
        "resource without a type",
        "dmz-aws",
        edited(lambda d: d["resources"][0].pop("type")),
        "{head}: resources[0].type: missing",
    ),
    (
        "the same resource twice",
        "dmz-aws",
        edited(lambda d: d["resources"].append(copy.deepcopy(ssh_rule(d)[1]))),
        "{head}: {last}: a second " + INGRESS + " named 'dmz-gateway-in-tcp-22-cidr-198.51.100.0-28' (the first is "
        "{ssh_resource})",
    ),
    (
        "a key written twice",
        "dmz-aws",
        lambda d: json.dumps(d, indent=2).replace(
            '"description": "tcp/22 from site:admin-clients',
            '"description": "", "description": "tcp/22 from site:admin-clients',
        ),
        "{head}: {ssh}: key 'description' appears twice; valid: each key once",
    ),
    (
        "warning not an object",
        "dmz-aws",
        edited(lambda d: d["warnings"].append("x")),
        "{head}: {warning}: expected an object",
    ),
    (
        "port not a number",
        "dmz-aws",
        ssh_set("fromPort", "ssh"),
        '{head}: {ssh}.fromPort: "ssh" is not a port number; valid: an integer 0–65535',
    ),
    (
        "port as a string",
        "dmz-aws",
        ssh_set("toPort", "22"),
        '{head}: {ssh}.toPort: "22" is not a port number; valid: an integer 0–65535',
    ),
    (
        "port not whole",
        "dmz-aws",
        ssh_set("fromPort", 22.5),
        "{head}: {ssh}.fromPort: 22.5 is not a port number; valid: an integer 0–65535",
    ),
    (
        "port too high",
        "dmz-aws",
        ssh_set("toPort", 70000),
        "{head}: {ssh}.toPort: port 70000 is out of range; valid: 0–65535",
    ),
    (
        "ports reversed",
        "dmz-aws",
        edited(lambda d: ssh_rule(d)[1]["inputs"].update(fromPort=30, toPort=20)),
        "{head}: {ssh}.toPort: 20 is below fromPort 30; valid: toPort ≥ fromPort",
    ),
    (
        "protocol unknown",
        "dmz-aws",
        ssh_set("ipProtocol", "tcpp"),
        '{head}: {ssh}.ipProtocol: "tcpp" is not a protocol; valid: tcp, udp, icmp, icmpv6, -1, all',
    ),
    (
        "CIDR that does not parse",
        "dmz-aws",
        ssh_set("cidrIpv4", "198.51.100.0/33"),
        '{head}: {ssh}.cidrIpv4: "198.51.100.0/33" is not an address or CIDR; valid: a CIDR such as 192.0.2.0/24',
    ),
    (
        "CIDR with host bits",
        "dmz-aws",
        ssh_set("cidrIpv4", "198.51.100.1/28"),
        "{head}: {ssh}.cidrIpv4: '198.51.100.1/28' is not a canonical CIDR; valid: 198.51.100.0/28",
    ),
    (
        "IPv6 CIDR as cidrIpv4",
        "dmz-aws",
        ssh_set("cidrIpv4", "::/0"),
        "{head}: {ssh}.cidrIpv4: ::/0 is an IPv6 network; valid: an IPv4 CIDR",
    ),
    (
        "two peers in one rule",
        "dmz-aws",
        ssh_set("prefixListId", "pl-0123456789abcdef0"),
        "{head}: {ssh}: cidrIpv4 and prefixListId are both set; valid: exactly one of cidrIpv4, cidrIpv6, prefixListId, "
        "referencedSecurityGroupId",
    ),
    (
        "rule without a peer",
        "dmz-aws",
        edited(lambda d: ssh_rule(d)[1]["inputs"].pop("cidrIpv4")),
        "{head}: {ssh}: no peer; valid: exactly one of cidrIpv4, cidrIpv6, prefixListId, referencedSecurityGroupId",
    ),
    (
        "tag value not a string",
        "dmz-aws",
        edited(lambda d: ssh_rule(d)[1]["inputs"]["tags"].update({"seawall:role": ["gateway"]})),
        "{head}: {ssh}.tags.seawall:role: expected a string",
    ),
    (
        "prefix-list entry not an object",
        "dmz-aws",
        edited(lambda d: apphelp_list(d)[1]["inputs"]["entries"].append("0.0.0.0/0")),
        "{head}: {pl}.entries[1]: expected an object",
    ),
    (
        "prefix-list CIDR that does not parse",
        "dmz-aws",
        edited(lambda d: apphelp_list(d)[1]["inputs"]["entries"].append({"cidr": "1.2.3"})),
        '{head}: {pl}.entries[1].cidr: "1.2.3" is not an address or CIDR; valid: a CIDR such as 192.0.2.0/24',
    ),
    (
        "IPv6 entry in an IPv4 list",
        "dmz-aws",
        edited(lambda d: apphelp_list(d)[1]["inputs"]["entries"].append({"cidr": "2001:db8::/32"})),
        "{head}: {pl}.entries[1].cidr: 2001:db8::/32 is an IPv6 network; valid: an IPv4 CIDR",
    ),
    (
        "inline security-group rules",
        "dmz-aws",
        edited(lambda d: find(d, lambda r: r["type"] == SECURITY_GROUP)[1]["inputs"].update(ingress=[{"fromPort": 0}])),
        "{head}: {sg}.ingress: inline ingress rules are not read by seawall diff; valid: "
        + INGRESS
        + " and aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule resources, as seawall plan writes",
    ),
    (
        "a rule type the diff does not read",
        "dmz-aws",
        add_resource({"type": "aws:ec2/securityGroupRule:SecurityGroupRule", "name": "all", "urn": "", "inputs": {}}),
        "{head}: {last}.type: aws:ec2/securityGroupRule:SecurityGroupRule rules are not read by seawall diff, so their "
        "changes would not be shown; valid: "
        + INGRESS
        + " and aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule resources, as seawall plan writes",
    ),
    (
        "securityRules not a list",
        "dmz-azure",
        edited(lambda d: gateway_nsg(d)[1]["inputs"].update(securityRules={"name": "x"})),
        "{head}: {nsg}.securityRules: expected a list",
    ),
    (
        "securityRules entry not an object",
        "dmz-azure",
        edited(lambda d: gateway_nsg(d)[1]["inputs"]["securityRules"].insert(0, "allow-all")),
        "{head}: {nsg}.securityRules[0]: expected an object",
    ),
    (
        "Azure port not a number",
        "dmz-azure",
        nsg_ssh_set("destinationPortRange", "ssh"),
        '{head}: {ssh}.destinationPortRange: "ssh" is not a port or port range; valid: a port 0–65535, a range such as '
        "10024-10026, or *",
    ),
    (
        "Azure port as a number",
        "dmz-azure",
        nsg_ssh_set("destinationPortRange", 22),
        "{head}: {ssh}.destinationPortRange: expected a string",
    ),
    (
        "Azure prefix that does not parse",
        "dmz-azure",
        nsg_ssh_set("sourceAddressPrefix", "10.0.0.300/8"),
        '{head}: {ssh}.sourceAddressPrefix: "10.0.0.300/8" is not an address or CIDR; valid: a CIDR such as '
        "192.0.2.0/24, * or a service tag such as Internet",
    ),
    (
        "Azure direction misspelt",
        "dmz-azure",
        nsg_ssh_set("direction", "inbound"),
        '{head}: {ssh}.direction: "inbound" is not one of Inbound, Outbound',
    ),
    (
        "Azure rule without a source",
        "dmz-azure",
        edited(lambda d: nsg_rule(d, SSH)[1].pop("sourceAddressPrefix")),
        "{head}: {ssh}: no source; valid: sourceAddressPrefix, sourceAddressPrefixes or sourceApplicationSecurityGroups",
    ),
    (
        "Azure ASG reference not an object",
        "dmz-azure",
        nsg_ssh_set("destinationApplicationSecurityGroups", ["dmz-gateway-asg"]),
        "{head}: {ssh}.destinationApplicationSecurityGroups[0]: expected an object",
    ),
]


@pytest.mark.parametrize(("stack", "make", "expected"), [c[1:] for c in BAD_PLANS], ids=[c[0] for c in BAD_PLANS])
def test_a_bad_plan_file_is_one_line_naming_the_file_and_the_first_thing_wrong(
    tmp_path: Path, stack: str, make: Edit, expected: str
) -> None:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    base.write_text(_plan_text(stack))
    data = plan(stack)
    paths = where(plan(stack))
    content = make(data)
    if isinstance(content, str):
        content = content.replace('"@NaN@"', "NaN")
    head.write_bytes(content if isinstance(content, bytes) else content.encode())
    ssh_resource = paths["ssh"].removesuffix(".inputs") if stack == "dmz-aws" else ""
    result = CliRunner().invoke(app, ["diff", str(base), str(head)])
    assert result.exit_code == 2, result.output
    assert result.stderr == "seawall: error: " + expected.format(head=head, ssh_resource=ssh_resource, **paths) + "\n"
    assert result.stdout == ""  # nothing half-written


def test_a_bad_base_is_named_as_the_base(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text('{"stack": "dmz-aws", "resources": [}')
    (tmp_path / "head.json").write_text(_plan_text("dmz-aws"))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"seawall: error: {tmp_path / 'base.json'}:1:36: not valid JSON (Expecting value)")


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text(_plan_text("dmz-aws"))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "gone.json")])
    assert result.exit_code == 2 and result.stderr == (
        f"seawall: error: {tmp_path / 'gone.json'}: cannot read the plan (No such file or directory); "
        f"valid: a file holding {PLAN}\n"
    )


@pytest.mark.parametrize("stack", ["dmz-aws", "dmz-azure", "mss-distributed-aws", "mss-distributed-azure"])
def test_every_shipped_plan_and_a_new_stacks_empty_base_are_accepted(tmp_path: Path, stack: str) -> None:
    (tmp_path / "head.json").write_text(_plan_text(stack))
    # what .github/seawall-preview.sh writes as the base of a stack the base branch does not have
    (tmp_path / "base.json").write_text(json.dumps({"stack": stack, "resources": []}))
    same = CliRunner().invoke(app, ["diff", str(tmp_path / "head.json"), str(tmp_path / "head.json")])
    new = CliRunner().invoke(app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "-f", "json"])
    assert (same.exit_code, same.stderr) == (0, "")
    assert (new.exit_code, new.stderr) == (1, "") and json.loads(new.stdout)["mismatch"] is None


# --- different stacks and clouds ---


def _renamed(stack: str, name: str) -> str:
    data = plan(stack)
    data["stack"] = name
    return json.dumps(data)


@pytest.mark.parametrize(
    ("base_text", "head_text", "expected"),
    [
        (
            lambda: _plan_text("dmz-aws"),
            lambda: _plan_text("mss-distributed-aws"),
            "{head}: stack 'mss-distributed-aws' is not the stack of {base} ('dmz-aws'); valid: two plans of the same "
            "stack, or --allow-different-stacks to compare them anyway",
        ),
        (
            lambda: _plan_text("dmz-aws"),
            lambda: _renamed("dmz-azure", "dmz-aws"),  # same name, other cloud
            "{head}: a plan for azure but {base} is a plan for aws (told by the resource types); valid: two plans of "
            "the same cloud, or --allow-different-stacks to compare them anyway",
        ),
    ],
    ids=["different stacks", "different clouds"],
)
def test_plans_of_different_stacks_or_clouds_are_refused(
    tmp_path: Path, base_text: Callable[[], str], head_text: Callable[[], str], expected: str
) -> None:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    base.write_text(base_text())
    head.write_text(head_text())
    result = CliRunner().invoke(app, ["diff", str(base), str(head)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "seawall: error: " + expected.format(base=base, head=head) + "\n"


@pytest.mark.parametrize(
    ("fmt", "first"),
    [
        ("markdown", "### seawall diff: `dmz-aws` → `dmz-azure`\n\n> [!WARNING]\n> Base dmz-aws (aws) and head "),
        ("table", "WARNING: base dmz-aws (aws) and head dmz-azure (azure) are different stacks"),
        ("json", '{\n  "mismatch": "base dmz-aws (aws) and head dmz-azure (azure) are different stacks'),
    ],
)
def test_different_stacks_are_compared_with_the_flag_and_the_output_says_so_first(
    tmp_path: Path, fmt: str, first: str
) -> None:
    (tmp_path / "base.json").write_text(_plan_text("dmz-aws"))
    (tmp_path / "head.json").write_text(_plan_text("dmz-azure"))
    args = ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "-f", fmt, "--allow-different-stacks"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and result.stderr == ""
    assert result.stdout.startswith(first)
    assert "compared anyway (--allow-different-stacks)" in "\n".join(result.stdout.splitlines()[:4])


def test_a_stack_that_moves_cloud_is_compared_with_the_flag(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text(_plan_text("dmz-aws"))
    (tmp_path / "head.json").write_text(_renamed("dmz-azure", "dmz-aws"))
    args = ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "--allow-different-stacks", "-f", "table"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "WARNING: base dmz-aws (aws) and head dmz-aws (azure) are plans for different clouds, compared anyway "
        "(--allow-different-stacks)"
    )


# --- broadening that adds up to the internet ---


def _aws_ssh_from(*cidrs: str, stack: str = "dmz-aws") -> Plan:
    """dmz-aws with the admin clients' SSH rule replaced by one rule per CIDR (as a rebound site peer renders)."""
    data = plan(stack)
    _, ssh = ssh_rule(data)
    data["resources"].remove(ssh)
    for cidr in cidrs:
        rule = copy.deepcopy(ssh)
        key = "cidrIpv6" if ":" in cidr else "cidrIpv4"
        rule["inputs"].pop("cidrIpv4")
        rule["inputs"][key] = cidr
        rule["name"] = f"dmz-gateway-in-tcp-22-cidr-{cidr.replace('/', '-')}"
        data["resources"].append(rule)
    return data


def _apphelp_aws(*cidrs: str) -> Plan:
    data = plan("dmz-aws")
    apphelp_list(data)[1]["inputs"]["entries"] += [{"cidr": c, "description": "apphelp (lock)"} for c in cidrs]
    return data


SIXTEEN_8S = [f"{n}.0.0.0/8" for n in range(16, 32)]


def test_a_site_peer_rebound_to_two_halves_is_the_whole_internet_on_aws() -> None:
    d = diff_plans(plan("dmz-aws"), _aws_ssh_from("0.0.0.0/1", "128.0.0.0/1"))
    assert d.broadening == [
        "opens tcp/22 on gateway from 0.0.0.0/1, 128.0.0.0/1 (the whole internet: together they cover the whole IPv4 "
        "internet), widening 198.51.100.0/28 [seg-ssh-console]"
    ]


def test_a_site_peer_rebound_to_two_halves_is_the_whole_internet_on_azure() -> None:
    head = plan("dmz-azure")
    for prefix in (SSH, "in-tcp-443-site-admin-clients"):
        rule = nsg_rule(head, prefix)[1]
        rule.pop("sourceAddressPrefix")
        rule["sourceAddressPrefixes"] = ["0.0.0.0/1", "128.0.0.0/1"]
    d = diff_plans(plan("dmz-azure"), head)
    assert d.broadening == [
        f"opens tcp/{port} on gateway from 0.0.0.0/1, 128.0.0.0/1 (the whole internet: together they cover the whole "
        f"IPv4 internet), widening 198.51.100.0/28 [{entry}]"
        for port, entry in ((22, "seg-ssh-console"), (443, "seg-management-ui"))
    ]


def test_ipv6_halves_are_the_whole_ipv6_internet() -> None:
    d = diff_plans(plan("dmz-aws"), _aws_ssh_from("198.51.100.0/28", "::/1", "8000::/1"))
    assert d.broadening == [
        "opens tcp/22 on gateway from ::/1, 8000::/1 (the whole internet: together they cover the whole IPv6 internet) "
        "[seg-ssh-console]"
    ]


def test_a_rule_that_completes_an_internet_equivalent_union_is_named_with_what_is_already_open() -> None:
    d = diff_plans(_aws_ssh_from("16.0.0.0/5"), _aws_ssh_from("16.0.0.0/5", "24.0.0.0/5"))
    assert d.broadening == [
        "opens tcp/22 on gateway from 24.0.0.0/5 (the whole internet: with the rules already open they cover "
        "16.0 /8s of IPv4) [seg-ssh-console]"
    ]


def test_a_wide_but_not_internet_equivalent_peer_keeps_the_plain_wording() -> None:
    d = diff_plans(plan("dmz-aws"), _aws_ssh_from(*SIXTEEN_8S[:15]))
    assert len(d.broadening) == 15 and not any("whole internet" in b for b in d.broadening)
    assert d.broadening[0] == "opens tcp/22 on gateway from 16.0.0.0/8 [seg-ssh-console]"


@pytest.mark.parametrize(
    ("cidrs", "expected"),
    [
        (
            ["0.0.0.0/1", "128.0.0.0/1"],
            "adds 0.0.0.0/1, 128.0.0.0/1 to vendor service apphelp (the whole internet: together they cover the whole "
            "IPv4 internet)",
        ),
        (
            SIXTEEN_8S,
            "adds 16.0.0.0/8, 17.0.0.0/8, 18.0.0.0/8, 19.0.0.0/8 and 12 more to vendor service apphelp (the whole "
            "internet: together they cover 16.0 /8s of IPv4)",
        ),
        (SIXTEEN_8S[:15], "adds " + ", ".join(SIXTEEN_8S[:15]) + " to vendor service apphelp"),
    ],
    ids=["two halves", "sixteen /8s", "fifteen /8s: not the internet"],
)
def test_a_vendor_prefix_list_that_grows_to_the_internet_says_so(cidrs: list[str], expected: str) -> None:
    assert diff_plans(plan("dmz-aws"), _apphelp_aws(*cidrs)).broadening == [expected]


def test_an_azure_vendor_rule_that_grows_to_the_internet_says_so() -> None:
    head = plan("dmz-azure")
    rule = nsg_rule(head, "out-tcp-80-svc-apphelp")[1]
    rule.pop("destinationAddressPrefix")
    rule["destinationAddressPrefixes"] = SIXTEEN_8S
    d = diff_plans(plan("dmz-azure"), head)
    assert d.broadening == [
        "adds 16.0.0.0/8, 17.0.0.0/8, 18.0.0.0/8, 19.0.0.0/8 and 12 more to vendor service apphelp (the whole "
        "internet: together they cover 16.0 /8s of IPv4)"
    ]


def test_the_whole_internet_reaches_the_pull_request_comment_and_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text(_plan_text("dmz-aws"))
    (tmp_path / "head.json").write_text(json.dumps(_apphelp_aws("0.0.0.0/1", "128.0.0.0/1")))
    args = ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "--fail-on", "broadening"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3
    assert "> - adds 0.0.0.0/1, 128.0.0.0/1 to vendor service apphelp (the whole internet:" in result.stdout
