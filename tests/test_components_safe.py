"""Components any Pulumi program can use safely (issue #24).

A platform team's program differs from this repository's: several firewalls in one
program, its own project files, another language. Under the SDK's mock monitor (and
the package's ``construct``, fed inputs as the engine sends them) each case below gets
either the right resources or one line naming the argument.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
import pytest
from builders import SHIPPED, STACKS, lock_text
from conftest import REPO
from pulumi.runtime import mocks
from seawall import AwsFirewall, AzureFirewall, VendorPrefixList
from seawall.cli import app
from seawall.errors import UserError
from seawall.preview.plan import Recorder, plan_stack, run_program
from seawall.project import project_inputs
from test_components_intent import construct, later, output_value, small
from typer.testing import CliRunner

# The shipped stacks' URNs before this change (seawall 4e6484c), kept apart from the golden files,
# which are regenerated when a plan changes on purpose: an upgrade is judged against what was deployed.
BEFORE = REPO / "tests" / "fixtures" / "urns-before-24"

# --- every registration, duplicates included ------------------------------------------------------------------------


class Registered:
    """What one program registered, in order: URN, type, name, inputs and the URNs its aliases stand for."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def urns(self) -> list[str]:
        return [r["urn"] for r in self.rows]

    def of_type(self, suffix: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["type"].endswith(suffix)]

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in self.rows}


@contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registered]:
    """Record every RegisterResource the mock monitor answers (the monitor's own table keeps one per URN)."""
    seen = Registered()
    original = mocks.MockMonitor.RegisterResource

    def register(self: mocks.MockMonitor, request: Any) -> Any:
        response = original(self, request)
        aliases = []
        for alias in request.aliases:
            if alias.urn:
                aliases.append(alias.urn)
                continue
            spec = alias.spec
            parent = spec.parentUrn or request.parent
            aliases.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        inputs = dict(mocks.rpc.deserialize_properties(request.object)) if request.custom else {}
        seen.rows.append(
            {
                "urn": response.urn.replace("::pulumi:pulumi:Stack$", "::", 1),
                "type": request.type,
                "name": request.name,
                "inputs": inputs,
                "aliases": [a.replace("::pulumi:pulumi:Stack$", "::", 1) for a in aliases],
                "renamed_from": [  # aliases that keep the type and change the name (a provider's own change types)
                    a.replace("::pulumi:pulumi:Stack$", "::", 1)
                    for a in aliases
                    if a.rsplit("::", 1)[0] == response.urn.rsplit("::", 1)[0]
                ],
            }
        )
        return response

    monkeypatch.setattr(mocks.MockMonitor, "RegisterResource", register)
    try:
        yield seen
    finally:
        monkeypatch.setattr(mocks.MockMonitor, "RegisterResource", original)


def run(program: Callable[[], Any], stack: str = "dev", preview: bool = False) -> None:
    run_program(stack, {}, program, project="seawall", recorder=Recorder(), preview=preview)


def fails(program: Callable[[], Any]) -> str:
    with pytest.raises(UserError) as info:
        run(program)
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def wire_fails(token: str, inputs: dict[str, Any]) -> pulumi.InputPropertyError:
    """Construct's error, as the SDK's provider server hands it to the engine."""
    with pytest.raises(pulumi.InputPropertyError) as info:
        run(lambda: construct(token, "mail", inputs))
    assert "\n" not in info.value.reason and "Traceback" not in info.value.reason
    return info.value


def azure_small(**changes: Any) -> dict[str, Any]:
    """A SEG gateway on Azure, as ``small()`` is on AWS."""
    args = {k: v for k, v in small().items() if k not in ("vpc_id", "name_prefix")}
    return {**args, "resource_group_name": "rg-mail", "location": "westeurope", **changes}


# --- names ------------------------------------------------------------------------------------------------------------

CLOUD_NAMES = {
    "aws:ec2/securityGroup:SecurityGroup": "name",
    "aws:ec2/managedPrefixList:ManagedPrefixList": "name",
    "azure-native:network:NetworkSecurityGroup": "networkSecurityGroupName",
    "azure-native:network:ApplicationSecurityGroup": "applicationSecurityGroupName",
}


def test_two_firewalls_per_cloud_in_one_program_share_no_urn_and_no_cloud_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def program() -> None:
        args = {k: v for k, v in small().items() if k != "name_prefix"}  # the defaults, as a team would
        AwsFirewall("mail-a", args)
        AwsFirewall("mail-b", args)
        AzureFirewall("mail-a", azure_small())
        AzureFirewall("mail-b", azure_small())
        VendorPrefixList("sophos-a", {"product": "clearswift-seg", "service": "sav-update"})
        VendorPrefixList("sophos-b", {"product": "clearswift-seg", "service": "sav-update"})

    with recording(monkeypatch) as seen:
        run(program)
    urns = seen.urns()
    assert len(urns) > 50
    assert sorted(u for u in set(urns) if urns.count(u) > 1) == []
    for type_, key in CLOUD_NAMES.items():
        names = [r["inputs"][key] for r in seen.of_type(type_)]
        assert len(names) >= 2, type_
        assert sorted(n for n in set(names) if names.count(n) > 1) == [], type_
    rows = seen.by_name()
    # children are named from their component's name, and so is every cloud name by default
    assert rows["mail-a-gateway-sg"]["inputs"]["name"] == "mail-a-gateway"
    assert rows["mail-b-gateway-nsg"]["inputs"]["networkSecurityGroupName"] == "mail-b-gateway-nsg"
    assert rows["sophos-b"]["inputs"]["name"] == "sophos-b-clearswift-seg-sav-update-ipv4"


def test_two_firewalls_given_one_name_prefix_stop_with_one_line() -> None:
    def program() -> None:
        AwsFirewall("mail-a", small())
        AwsFirewall("mail-b", small())  # both name_prefix "mail": two groups named mail-gateway in one VPC

    message = fails(program)
    assert message.startswith("args.name_prefix: 'mail' already names the cloud resources of 'mail-a' in this program")


def test_upgrading_the_shipped_stacks_replaces_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every URN of the plans before this change is a URN of the new plan, or one of its aliases."""
    assert sorted(p.name for p in BEFORE.iterdir()) == sorted(f"{s}.urns.txt" for s in SHIPPED)
    for stack in SHIPPED:
        before = set((BEFORE / f"{stack}.urns.txt").read_text(encoding="utf-8").split())
        with recording(monkeypatch) as seen:
            plan = plan_stack(stack, STACKS)
        after = {r.urn for r in plan.resources}
        aliased = {a for row in seen.rows for a in row["aliases"]}
        assert len(after) == len(plan.resources) == len(before), stack
        assert before - after - aliased == set(), f"{stack}: these would be deleted and created again"
        new = [row for row in seen.rows if row["urn"] in after - before]
        assert all(set(row["aliases"]) & before for row in new), f"{stack}: created without an alias"


def children(seen: Registered) -> dict[str, dict[str, Any]]:
    """The firewall's children by URN (the component's own URN carries its name; its children's do not)."""
    return {r["urn"]: r for r in seen.rows if "AwsFirewall$" in r["urn"]}


@pytest.mark.parametrize(
    ("name_prefix", "old_prefix"),
    [
        ("mail", "mail"),  # a prefix of its own: the cloud names stay, the logical names follow the component
        (None, "prod"),  # the old default prefix was the stack's name
    ],
)
def test_a_team_upgrading_keeps_every_child_through_an_alias(
    name_prefix: str | None, old_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = {k: v for k, v in small().items() if k != "name_prefix"}
    if name_prefix:
        args["name_prefix"] = name_prefix
    # Before, children were named <prefix>-...: what this version registers for a firewall named like its prefix.
    with recording(monkeypatch) as old:
        run(lambda: AwsFirewall(old_prefix, {**args, "name_prefix": old_prefix}), stack="prod")
    with recording(monkeypatch) as new:
        run(lambda: AwsFirewall("mail-a", args), stack="prod")
    old_children, new_children = children(old), children(new)
    assert len(old_children) == len(new_children) >= 20
    for urn, row in new_children.items():
        assert urn.endswith("::mail-a" + urn.split("::")[-1].removeprefix("mail-a")), urn
        (alias,) = row["renamed_from"]
        assert alias in old_children, f"{urn} has no alias to a child of the old plan"
    assert {a for row in new_children.values() for a in row["renamed_from"]} == set(old_children)


# --- inputs, not files ------------------------------------------------------------------------------------------------

APPHELP = "apphelp.clearswift.com"


def test_the_lock_arrives_as_an_input_and_a_lock_where_the_program_runs_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy = lock_text({APPHELP: ["52.16.0.1/32"]})
    (tmp_path / "Pulumi.yaml").write_text("name: plugin\nruntime: python\n")
    (tmp_path / "ipsets.lock.json").write_text(decoy)  # e.g. the plugin's own directory
    monkeypatch.chdir(tmp_path)
    given = lock_text({APPHELP: ["79.125.18.100/32"]})

    def entries(register: Callable[[], Any]) -> list[str]:
        with recording(monkeypatch) as seen:
            run(register)
        (plist,) = [r for r in seen.of_type("ManagedPrefixList") if "apphelp" in r["name"]]
        return [e["cidr"] for e in plist["inputs"]["entries"]]

    assert entries(lambda: AwsFirewall("mail", {**small(), "lock": given})) == ["79.125.18.99/32", "79.125.18.100/32"]
    wire = {"topology": "dmz", "product": "clearswift-seg", "features": ["sophos", "syslog"], "namePrefix": "mail"}
    wire |= {"vpcId": "vpc-0123456789abcdef0", "lock": given, "peers": small()["peers"]}
    assert entries(lambda: construct("seawall:index:AwsFirewall", "mail", wire)) == [
        "79.125.18.99/32",
        "79.125.18.100/32",
    ]
    assert entries(lambda: AwsFirewall("mail", small())) == ["79.125.18.99/32"], "no lock given: documented only"
    # a lock that is not one is refused as the file would be, named by the argument
    message = fails(lambda: AwsFirewall("mail", {**small(), "lock": '{"version": 1}'}))
    assert message.startswith("args.lock")


def test_priority_pins_arrive_as_an_input_through_both_routes() -> None:
    pins = (STACKS / "dmz-azure.priorities.json").read_text(encoding="utf-8")
    assert project_inputs("azure", stack="dmz-azure", project=REPO)["priorities"] == pins, "the file's text"
    moved = json.loads(pins)
    moved["gateway"]["Inbound"]["in-tcp-25-internet"] = 4000

    def priority(register: Callable[[], Any]) -> int:
        seen = Recorder()
        run_program("dev", {}, register, project="seawall", recorder=seen)
        nsg = next(v for k, v in seen.inputs.items() if k.endswith("NetworkSecurityGroup::mail-gateway-nsg"))
        return int(next(r["priority"] for r in nsg["securityRules"] if r["name"] == "in-tcp-25-internet"))

    # the file's text (readFileSync, fn::readFile, project_inputs), or from Python its mapping
    assert priority(lambda: AzureFirewall("mail", azure_small(priorities=json.dumps(moved)))) == 4000
    assert priority(lambda: AzureFirewall("mail", azure_small(priorities=moved))) == 4000
    wire = {k: v for k, v in azure_small().items() if k not in ("resource_group_name",)}
    wire |= {"resourceGroupName": "rg-mail", "priorities": json.dumps(moved, indent=2)}
    assert priority(lambda: construct("seawall:index:AzureFirewall", "mail", wire)) == 4000
    assert priority(lambda: AzureFirewall("mail", azure_small())) != 4000
    bad = {"gateway": {"Inbound": {"in-tcp-25-internet": 740.0}}}
    assert fails(lambda: AzureFirewall("mail", azure_small(priorities=json.dumps(bad)))).startswith(
        "args.priorities.gateway.Inbound.in-tcp-25-internet: 740.0 is not a priority; valid: an integer from 100 to 4096"
    )
    repeated = '{"gateway": {"Inbound": {"in-tcp-25-internet": 300, "in-tcp-25-internet": 301}}}'
    assert fails(lambda: AzureFirewall("mail", azure_small(priorities=repeated))).startswith("args.priorities:1:")


# --- one validation, two routes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"namePrefix": "mail"},
            "args.namePrefix: camelCase is how other languages spell it; in Python write name_prefix",
        ),
        (  # an output under the other spelling is a spelling mistake, not a value known too late
            {"vpcId": "OUTPUT"},
            "args.vpcId: camelCase is how other languages spell it; in Python write vpc_id",
        ),
        (
            {"peers": {"admin-clients": {"securityGroupIds": ["sg-0123456789abcdef0"]}}},
            "args.peers.admin-clients.securityGroupIds: camelCase is how other languages spell it; "
            "in Python write security_group_ids",
        ),
        ({"vpc_id": None}, "args.vpc_id: missing required argument; valid: the VPC's id"),
        ({"namePrefx": "mail"}, "args.namePrefx: unknown key 'namePrefx'; valid args keys: addresses"),
        (
            {"lock_file": "ipsets.lock.json"},
            "args.lock_file: a component opens no file; pass the lock's content as lock",
        ),
    ],
)
def test_python_arguments_in_the_wrong_spelling_or_missing_are_one_line(change: dict[str, Any], message: str) -> None:
    def program() -> None:
        args = {k: v for k, v in small().items() if not (k == "vpc_id" and "vpcId" in change)}
        given = {k: (later("vpc-0123456789abcdef0") if v == "OUTPUT" else v) for k, v in change.items()}
        if "peers" in given:
            given["peers"] = {**args["peers"], **given["peers"]}
        AwsFirewall("mail", {**args, **given})

    assert fails(program).startswith(message)
    without = {k: v for k, v in small().items() if k != "vpc_id"}
    assert fails(lambda: AwsFirewall("mail", without)).startswith("args.vpc_id: missing required argument")
    group = {k: v for k, v in azure_small().items() if k != "resource_group_name"}
    assert fails(lambda: AzureFirewall("mail", group)).startswith("args.resource_group_name: missing required argument")


WIRE = {
    "topology": "dmz",
    "product": "clearswift-seg",
    "features": ["sophos", "syslog"],
    "namePrefix": "mail",
    "vpcId": "vpc-0123456789abcdef0",
    "peers": small()["peers"],
}


@pytest.mark.parametrize(
    ("token", "change", "path", "reason"),
    [
        (
            "AwsFirewall",
            {"name_prefix": "mail"},
            "name_prefix",
            "snake_case is Python's spelling; write namePrefix",
        ),
        ("AwsFirewall", {"namePrefx": "mail"}, "namePrefx", "unknown key 'namePrefx'; valid args keys: addresses"),
        (
            "AwsFirewall",
            {"peers": {"admin-clients": {"cidr": ["10.30.0.0/24"]}}},
            "peers.admin-clients.cidr",
            "unknown key 'cidr'; valid keys here: cidrs, internet, ipv6Cidrs, prefixListIds, securityGroupIds",
        ),
        ("AwsFirewall", {"vpcId": None}, "vpcId", "missing required argument; valid: the VPC's id"),
        (
            "AwsFirewall",
            {"quotas": {"rules_per_security_group": 60}},
            "quotas.rules_per_security_group",
            "snake_case is Python's spelling; write rulesPerSecurityGroup",
        ),
        ("AzureFirewall", {"vpcId": None}, "resourceGroupName", "missing required argument"),
        ("VendorPrefixList", {}, "service", "unknown vendor service ''"),
    ],
)
def test_construct_refuses_the_same_cases_with_the_sdks_input_property_error(
    token: str, change: dict[str, Any], path: str, reason: str
) -> None:
    inputs: dict[str, Any] = {k: v for k, v in WIRE.items() if k != "namePrefix" or "namePrefx" not in change}
    if token == "VendorPrefixList":
        inputs = {"product": "clearswift-seg"}
    if "peers" in change:
        change = {"peers": {**WIRE["peers"], **change["peers"]}}
    inputs |= {k: v for k, v in change.items() if v is not None}
    for key in [k for k, v in change.items() if v is None]:
        inputs.pop(key)
    error = wire_fails(f"seawall:index:{token}", inputs)
    assert error.property_path == path
    assert error.reason.startswith(reason)


def test_values_known_only_at_apply_are_written_canonically_like_plain_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    odd = {"cidrs": ["10.31.0.0/0.0.0.255"], "ipv6_cidrs": ["2001:DB8::/32"]}

    def rules(register: Callable[[], Any]) -> set[str]:
        with recording(monkeypatch) as seen:
            run(register)
        return {
            r["inputs"].get("cidrIpv4") or r["inputs"].get("cidrIpv6")
            for r in seen.of_type("SecurityGroupIngressRule")
            if "admin-clients" in r["name"]
            or r["inputs"].get("cidrIpv4", "").startswith("10.31")
            or r["inputs"].get("cidrIpv6", "").startswith("2001:")
        }

    plain = rules(lambda: AwsFirewall("mail", {**small(admin_clients=odd), "ipv6": True}))
    assert plain == {"10.31.0.0/24", "2001:db8::/32"}

    def deferred() -> None:
        given = {kind: [later(v) for v in values] for kind, values in odd.items()}
        AwsFirewall("mail", {**small(admin_clients=given), "ipv6": True})

    assert rules(deferred) == plain
    wire = {**WIRE, "ipv6": True, "peers": {**WIRE["peers"], "admin-clients": {}}}
    wire["peers"]["admin-clients"] = {
        "cidrs": [output_value("10.31.0.0/0.0.0.255")],
        "ipv6Cidrs": [output_value("2001:DB8::/32")],
    }
    assert rules(lambda: construct("seawall:index:AwsFirewall", "mail", wire)) == plain


def test_a_value_failing_at_apply_through_construct_is_the_sdks_input_property_error() -> None:
    wire = {**WIRE, "peers": {**WIRE["peers"], "admin-clients": {"cidrs": [output_value("10.30.0.1/24")]}}}
    error = wire_fails("seawall:index:AwsFirewall", wire)
    assert error.property_path == "peers.admin-clients.cidrs[0]"
    assert error.reason.startswith("'10.30.0.1/24' has host bits set; valid: 10.30.0.0/24")


def test_a_failed_check_leaves_no_unread_futures_behind(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    for _ in range(2):
        fails(lambda: AwsFirewall("mail", small(admin_clients={"cidrs": [later("10.30.0.1/24")]})))
    gc.collect()
    run(lambda: AwsFirewall("mail", small()))  # a later program in the same process
    gc.collect()
    assert [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()] == []


# --- install only your cloud --------------------------------------------------------------------------------------------


def test_a_missing_cloud_extra_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from seawall.extras import MissingExtra

    for module in [m for m in sys.modules if m == "seawall.aws.component"]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "pulumi_aws", None)  # as if seawall[aws] were not installed
    with pytest.raises(MissingExtra) as info:
        from seawall.aws.component import AwsFirewall as _  # noqa: F401
    assert str(info.value) == (
        "seawall[aws] is not installed: pulumi-aws is missing; install it with: pip install 'seawall[aws]' "
        "(or seawall[all] for both clouds)"
    )
    assert isinstance(info.value, pulumi.RunError), "a Pulumi program shows it as one line"
    result = CliRunner().invoke(app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(STACKS)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"seawall: error: {info.value}"]


def test_the_extras_split_the_clouds_and_dev_pulls_both() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for sdk in ("pulumi-aws", "pulumi-azure-native", "boto3", "azure-mgmt-network", "azure-identity"):
        assert sdk not in core, sdk
    assert any(d.startswith("pulumi-aws") for d in extras["aws"])
    assert any(d.startswith("pulumi-azure-native") for d in extras["azure"])
    assert extras["all"] == ["seawall[aws,azure]"] and "seawall[all]" in extras["dev"]


# --- the command line finds stacks as Pulumi does ------------------------------------------------------------------------


def test_the_cli_reads_stack_config_dir_from_the_projects_pulumi_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: mine\nruntime: python\nstackConfigDir: config/stacks\n")
    (tmp_path / "config" / "stacks").mkdir(parents=True)
    text = (STACKS / "Pulumi.dmz-aws.yaml").read_text(encoding="utf-8")
    (tmp_path / "config" / "stacks" / "Pulumi.dmz-aws.yaml").write_text(text)
    (tmp_path / "app").mkdir()
    monkeypatch.chdir(tmp_path / "app")  # below the project, as Pulumi allows
    result = CliRunner().invoke(app, ["flows", "--stack", "dmz-aws"])
    assert result.exit_code == 0, result.output
    # --stacks-dir, when given, is the one read
    other = CliRunner().invoke(app, ["flows", "--stack", "dmz-aws", "--stacks-dir", str(tmp_path / "nowhere")])
    assert other.exit_code == 2 and "nowhere/Pulumi.dmz-aws.yaml: no such stack" in other.stderr


def test_the_typescript_example_passes_schema_inputs_and_the_lock_read_by_readfilesync() -> None:
    import re

    from seawall.provider import package_schema

    text = (REPO / "examples" / "consumer-ts" / "index.ts").read_text(encoding="utf-8")
    inputs = package_schema()["resources"]["seawall:index:AwsFirewall"]["inputProperties"]
    call = text.split('new seawall.AwsFirewall("mail", {', 1)[1].split("\n});", 1)[0]
    keys = re.findall(r"^    (\w+):", call, re.M)
    assert "lock" in keys and set(keys) <= set(inputs), sorted(set(keys) - set(inputs))
    assert 'lock: fs.readFileSync("ipsets.lock.json", "utf8")' in call


@pytest.mark.parametrize(("stack", "absent"), [("dmz-aws", "azure"), ("dmz-azure", "aws")])
def test_one_clouds_install_plans_its_stacks_without_the_other_clouds_sdk(stack: str, absent: str) -> None:
    import subprocess

    from seawall.extras import MODULES

    blocked = [module for module, extra in MODULES.items() if extra == absent]
    script = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None  # as if seawall[" + absent + "] were not installed\n"
        "from seawall.cli import main\n"
        f"sys.argv = ['seawall', 'plan', '--stack', {stack!r}, '--format', 'json']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stack"] == stack


def test_the_stack_program_on_its_own_reads_the_projects_lock_and_pins(tmp_path: Path) -> None:
    """`pulumi up` runs stacks/__main__.py with no plan around it: it reads the project's files as a component's inputs."""
    import shutil

    from seawall.preview import program as stack_program
    from seawall.preview.plan import config_strings, prepare_plan

    (tmp_path / "Pulumi.yaml").write_text("name: seawall\nruntime: python\nstackConfigDir: stacks\n")
    stacks = tmp_path / "stacks"
    shutil.copytree(STACKS, stacks, ignore=shutil.ignore_patterns("__pycache__"))
    pins = json.loads((stacks / "dmz-azure.priorities.json").read_text(encoding="utf-8"))
    pins["gateway"]["Inbound"]["in-tcp-25-internet"] = 4000
    (stacks / "dmz-azure.priorities.json").write_text(json.dumps(pins))
    (tmp_path / "ipsets.lock.json").write_text(lock_text({APPHELP: ["79.125.18.100/32"]}))

    def program_of(stack: str) -> dict[str, Any]:
        config = config_strings(prepare_plan(stack, stacks).raw_config)
        resources, _ = run_program(stack, config, lambda: stack_program.run(stacks), project="seawall")
        return {f"{r.type}::{r.name}": r.inputs for r in resources}

    aws = program_of("dmz-aws")
    entries = aws["aws:ec2/managedPrefixList:ManagedPrefixList::dmz-apphelp-ipv4-pl"]["entries"]
    assert [e["cidr"] for e in entries] == ["79.125.18.99/32", "79.125.18.100/32"]
    nsg = program_of("dmz-azure")["azure-native:network:NetworkSecurityGroup::dmz-gateway-nsg"]
    assert next(r["priority"] for r in nsg["securityRules"] if r["name"] == "in-tcp-25-internet") == 4000
