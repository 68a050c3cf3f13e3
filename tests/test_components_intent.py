"""The components take intent and declare resources: one call from Python, or from any language through the package.

Everything runs under the Pulumi SDK's mock monitor (as ``seawall plan`` does): the
Python call, the package provider's ``construct`` fed camelCase inputs exactly as the
engine hands over a TypeScript or YAML program's (output values, unknowns included),
and the shipped stack program, and each must register the same resources.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from builders import SHIPPED, STACKS, lock_text
from conftest import REPO
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from seawall import AwsFirewall, AzureFirewall, VendorPrefixList
from seawall.cli import app
from seawall.errors import UserError
from seawall.preview.plan import Recorder, plan_stack, run_program
from seawall.project import project_inputs
from seawall.provider import component_provider, package_schema, schema_text
from seawall.stack import StackFiles, compile_stack
from seawall.stackconfig import Binding, load_stack_config
from typer.testing import CliRunner

GOLDEN = REPO / "tests" / "golden"
UNKNOWN = "<unknown until apply>"


# --- running programs under the mocks ---------------------------------------------------------------------------


def registered(program: Callable[[], Any], stack: str = "dev", preview: bool = True) -> list[dict[str, Any]]:
    """Every resource the program registers: type, name, URN and inputs (unknown values shown as UNKNOWN)."""
    resources, _ = run_program(stack, {}, program, project="seawall", recorder=Recorder(), preview=preview)
    return [_known(r.to_json()) for r in resources]


def outputs_of(program: Callable[[], Any], stack: str = "dev") -> dict[str, Any]:
    _, outputs = run_program(stack, {}, program, project="seawall")
    return outputs


def _known(value: Any) -> Any:
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_known(v) for v in value]
    return value


def unknown() -> pulumi.Output[Any]:
    """A value a Python program cannot know until apply (a new resource's id, in preview)."""
    loop = asyncio.get_event_loop()
    value, known = loop.create_future(), loop.create_future()
    value.set_result(None)
    known.set_result(False)
    return pulumi.Output(set(), value, known)


def later(value: Any) -> pulumi.Output[Any]:
    """A value that is an output of another resource: known only at apply, whatever it turns out to be."""
    return pulumi.Output.from_input(value)


# --- the engine's side of construct -------------------------------------------------------------------------------

SIG, OUTPUT_VALUE = rpc._special_sig_key, rpc._special_output_value_sig


def output_value(value: Any = None, known: bool = True, dependencies: tuple[str, ...] = ()) -> dict[str, Any]:
    """An output value as the engine sends it to construct (another language's ``pulumi.Output``)."""
    wire: dict[str, Any] = {SIG: OUTPUT_VALUE}
    if known:
        wire["value"] = value
    if dependencies:
        wire["dependencies"] = list(dependencies)
    return wire


def construct(token: str, name: str, inputs: dict[str, Any]) -> Any:
    """Build a component through the package provider, from inputs as they arrive over the wire."""
    struct = struct_pb2.Struct()
    struct.update(inputs)
    arrived = rpc.deserialize_properties(struct, keep_unknowns=True)
    return component_provider().construct(name, token, arrived, pulumi.ResourceOptions())


# --- arguments equivalent to a shipped stack file -----------------------------------------------------------------

FIELD_OF_KIND = {
    "sg": "security_group_ids",
    "prefix-list": "prefix_list_ids",
    "asg": "application_security_group_ids",
    "service-tag": "service_tags",
}


def typed(bindings: tuple[Binding, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for b in bindings:
        if b.kind == "internet":
            out["internet"] = True
        elif b.kind == "cidr":
            out.setdefault("cidrs" if b.family == 4 else "ipv6_cidrs", []).append(b.value)
        else:
            out.setdefault(FIELD_OF_KIND[b.kind], []).append(b.value)
    return out


def args_of(stack: str) -> tuple[str, str, dict[str, Any]]:
    """(cloud, component name, arguments) that say what ``stacks/Pulumi.<stack>.yaml`` says."""
    config = load_stack_config(stack, STACKS)
    s = config.settings
    args: dict[str, Any] = {"topology": s.topology, "ipv6": s.ipv6, "addresses": s.addresses}
    optional = {
        "product": s.product,
        "features": list(s.features),
        "roles": list(s.roles or ()),
        "internet_egress": list(s.internet_egress),
        "name_prefix": s.name_prefix,
        "tags": dict(s.tags),
        "allow_private": list(s.allow_private),
        "vpc_id": s.vpc_id,
        "resource_group_name": s.resource_group_name,
        "location": s.location,
    }
    args.update({k: v for k, v in optional.items() if v})
    args["peers"] = {name: typed(bindings) for name, bindings in config.bindings.items()}
    args["quotas"] = dataclasses.asdict(getattr(s.quotas, s.cloud))
    args.update(project_inputs(s.cloud, stack=stack, project=REPO))  # the lock and the pins, as inputs
    return s.cloud, config.name_prefix, args


# --- one call: the same resources as the stack program ------------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPED)
def test_one_call_with_a_stacks_intent_registers_exactly_what_the_stack_program_does(stack: str) -> None:
    cloud, name, args = args_of(stack)
    component = AwsFirewall if cloud == "aws" else AzureFirewall
    planned = [r.to_json() for r in plan_stack(stack, STACKS).resources]
    assert registered(lambda: component(name, args), stack=stack, preview=False) == planned


def test_the_outputs_are_a_list_of_groups_per_role_prefix_lists_per_service_and_the_warnings() -> None:
    _, name, args = args_of("dmz-aws")
    args["quotas"] = {"rules_per_security_group": 30}  # too few for one group: the gateway needs two

    def program() -> None:
        firewall = AwsFirewall(name, args)
        pulumi.export("groups", firewall.security_group_ids)
        pulumi.export("lists", firewall.prefix_list_ids)
        pulumi.export("warnings", firewall.warnings)

    out = outputs_of(program)
    assert out["groups"] == {"gateway": ["${dmz-gateway-sg.id}", "${dmz-gateway-2-sg.id}"]}
    assert out["lists"]["kav-update"] == ["${dmz-kav-update-ipv4-pl.id}"]
    assert any(w.startswith("gateway seg-ntp: vendor service ntp denied") for w in out["warnings"])


def test_azure_outputs_nsgs_asgs_and_the_priorities_to_pin() -> None:
    _, name, args = args_of("dmz-azure")

    def program() -> None:
        firewall = AzureFirewall(name, args)
        pulumi.export("nsgs", firewall.nsg_ids)
        pulumi.export("asgs", firewall.asg_ids)
        pulumi.export("priorities", firewall.priorities)

    out = outputs_of(program)
    assert out["nsgs"] == {"gateway": "${dmz-gateway-nsg.id}"}
    assert out["asgs"] == {"gateway": "${dmz-gateway-asg.id}"}
    assert out["priorities"]["gateway"]["Inbound"]["in-tcp-25-internet"] >= 100


# --- values known only at apply -----------------------------------------------------------------------------------


def small(**peers: Any) -> dict[str, Any]:
    """A SEG gateway with four site peers; ``peers`` replaces some of them."""
    return {
        "topology": "dmz",
        "product": "clearswift-seg",
        "features": ["sophos", "syslog"],
        "name_prefix": "mail",
        "vpc_id": "vpc-0123456789abcdef0",
        "peers": {
            "internal-mail-servers": {"cidrs": ["10.20.1.10/32"]},
            "dns-servers": {"cidrs": ["10.20.0.2/32"]},
            "admin-clients": {"cidrs": ["10.30.0.0/24"]},
            "syslog-server": {"cidrs": ["10.20.1.20/32"]},
            **{k.replace("_", "-"): v for k, v in peers.items()},
        },
    }


def by_name(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r["inputs"] for r in resources}


def test_a_value_known_only_at_apply_gets_the_real_value_and_rules_named_by_its_peer() -> None:
    rules = by_name(
        registered(lambda: AwsFirewall("mail", small(admin_clients={"cidrs": [later("10.30.0.0/24")]})), preview=False)
    )
    assert rules["mail-gateway-in-tcp-22-admin-clients-cidr-1"]["cidrIpv4"] == "10.30.0.0/24"
    assert "mail-gateway-in-tcp-22-cidr-10.30.0.0-24" not in rules
    # in preview the value is unknown, and the rule is there all the same, under the same name
    preview = by_name(
        registered(lambda: AwsFirewall("mail", small(admin_clients={"cidrs": [unknown()]})), preview=True)
    )
    assert preview["mail-gateway-in-tcp-22-admin-clients-cidr-1"]["cidrIpv4"] == UNKNOWN


def names(admins: Callable[[], list[Any]]) -> set[str]:
    """Rule names for admin-clients bound to ``admins()`` (called inside the program, where outputs can exist)."""

    def program() -> None:
        AwsFirewall("mail", small(admin_clients={"cidrs": admins()}))

    return {r["name"] for r in registered(program) if "Rule" in r["type"]}


def test_names_of_rules_for_values_known_only_at_apply_ignore_plain_values_but_not_their_order() -> None:
    two = names(lambda: [unknown(), unknown()])
    with_plain = names(lambda: ["10.30.0.0/24", unknown(), "10.31.0.0/24", unknown()])
    assert {n for n in two if "admin-clients" in n} == {
        f"mail-gateway-in-tcp-{port}-admin-clients-cidr-{i}" for port in (22, 443) for i in (1, 2)
    }
    assert {n for n in two if "admin-clients" in n} <= with_plain, "adding plain values renames nothing"
    assert "mail-gateway-in-tcp-22-cidr-10.31.0.0-24" in with_plain, "a plain value is named by its meaning"
    one = names(lambda: [unknown()])
    assert "mail-gateway-in-tcp-22-admin-clients-cidr-2" not in one  # the documented trade-off: removal renames


def fails(program: Callable[[], Any]) -> str:
    with pytest.raises(UserError) as info:
        run_program("dev", {}, program, project="seawall")
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    return text


@pytest.mark.parametrize(
    ("peers", "message"),
    [
        (
            {"admin_clients": {"cidrs": ["10.30.0.1/24"]}},
            "args.peers.admin-clients.cidrs[0]: '10.30.0.1/24' has host bits set; valid: 10.30.0.0/24",
        ),
        (
            {"admin_clients": {"cidrs": ["2001:db8::/64"]}},
            "args.peers.admin-clients.cidrs[0]: '2001:db8::/64' is a network of the other address family; "
            "valid in cidrs: IPv4 networks",
        ),
        (
            {"admin_clients": {"cidrs": ["10.30.0.0/24", "10.30.0.0/24"]}},
            "args.peers.admin-clients.cidrs[1]: 10.30.0.0/24 repeats cidrs[0]",
        ),
        (
            {"admin_clients": {"security_group_ids": ["10.30.0.0/24"]}},
            "args.peers.admin-clients.security_group_ids[0]: '10.30.0.0/24' is a network; valid in "
            "security_group_ids: security group ids",
        ),
        (
            {"admin_clients": {"cidrs": ["0.0.0.0/0"]}},
            "args.peers.admin-clients.cidrs[0]: '0.0.0.0/0' is the whole internet; write 'internet'",
        ),
    ],
)
def test_a_bad_value_fails_with_the_same_line_whether_plain_or_known_only_at_apply(
    peers: dict[str, Any], message: str
) -> None:
    assert message in fails(lambda: AwsFirewall("mail", small(**peers)))

    def deferred() -> None:
        AwsFirewall("mail", small(**{p: {k: [later(v) for v in vs] for k, vs in b.items()} for p, b in peers.items()}))

    assert message in fails(deferred)


def test_a_bad_vpc_id_known_only_at_apply_fails_as_a_plain_one_would() -> None:
    expected = "args.vpc_id: 'subnet-0123456789abcdef0' is malformed; valid pattern: ^vpc-"
    assert expected in fails(lambda: AwsFirewall("mail", {**small(), "vpc_id": "subnet-0123456789abcdef0"}))
    assert expected in fails(lambda: AwsFirewall("mail", {**small(), "vpc_id": later("subnet-0123456789abcdef0")}))
    # the mocks' own made-up ids (${mail.id}) pass, as the real VPC's id would
    registered(lambda: AwsFirewall("mail", {**small(), "vpc_id": later("${mail.id}")}), preview=False)


def test_nothing_with_a_value_that_fails_at_apply_is_created() -> None:
    recorder = Recorder()
    with pytest.raises(UserError):
        run_program(
            "dev",
            {},
            lambda: AwsFirewall("mail", small(admin_clients={"cidrs": [later("10.30.0.1/24")]})),
            project="seawall",
            recorder=recorder,
        )
    assert not [key for key in recorder.inputs if "admin-clients" in key]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"internet_egres": ["ksn"]}, "args.internet_egres: unknown key 'internet_egres'; valid args keys: addresses"),
        ({"features": "sophos"}, "args.features: 'sophos' is not a list; valid: a list such as [a, b]"),
        ({"features": later(["sophos"])}, "args.features: must be known when the program runs"),
        (
            {"peers": {"admin-clients": {"cidrs": later(["10.30.0.0/24"])}}},
            "args.peers.admin-clients.cidrs: the number of values must be known when the program runs",
        ),
        ({"peers": {"admin-clients": {"cidr": ["10.30.0.0/24"]}}}, "args.peers.admin-clients.cidr: unknown key 'cidr'"),
        ({"quotas": {"rules_per_security_group": 0}}, "args.quotas.rules_per_security_group: 0 is too small"),
        ({"product": "clearswift-xyz"}, "args.product: 'clearswift-xyz' does not fit topology dmz"),
        (
            {"peers": {"admin-clients": {"service_tags": ["VirtualNetwork"]}}},
            "args.peers.admin-clients.service_tags: cannot bind a peer on aws; valid on aws: cidrs, ipv6_cidrs",
        ),
    ],
)
def test_bad_arguments_are_one_line_naming_the_argument_and_what_is_valid(args: dict[str, Any], message: str) -> None:
    base = small()
    if "peers" in args:
        base["peers"] = {**base["peers"], **args.pop("peers")}
    assert message in fails(lambda: AwsFirewall("mail", {**base, **args}))


def test_a_quota_too_small_names_the_argument_to_raise_in_the_callers_words() -> None:
    _, name, args = args_of("dmz-aws")
    args["quotas"] = {"rules_per_security_group": 10, "security_groups_per_eni": 2}
    message = fails(lambda: AwsFirewall(name, args))
    assert message.startswith("role gateway: egress IPv4 rules")
    assert message.endswith("(L-2AFB9258) to 4 and set args.quotas.security_groups_per_eni: 4")


def test_a_stack_file_with_a_wrong_type_says_so_in_seawalls_words(tmp_path: Path) -> None:
    text = (STACKS / "Pulumi.dmz-aws.yaml").read_text().replace("seawall:features: [", "seawall:features: x #[")
    (tmp_path / "Pulumi.dmz-aws.yaml").write_text(text)
    result = CliRunner().invoke(app, ["flows", "--stack", "dmz-aws", "--stacks-dir", str(tmp_path)])
    assert result.exit_code == 2 and "Input should be" not in result.stderr
    assert "seawall:features: 'x' is not a list; valid: a list such as [a, b]" in result.stderr


# --- every language: the package -----------------------------------------------------------------------------------

AWS_WIRE = {
    "topology": "dmz",
    "product": "clearswift-seg",
    "features": ["sophos", "syslog"],
    "namePrefix": "mail",
    "vpcId": output_value(known=False, dependencies=("urn:pulumi:dev::seawall::aws:ec2/vpc:Vpc::mail",)),
    "peers": {
        "internal-mail-servers": {"cidrs": ["10.20.1.10/32", output_value(known=False)]},
        "dns-servers": {"cidrs": ["10.20.0.2/32"]},
        "admin-clients": {"cidrs": ["10.30.0.0/24"], "securityGroupIds": [output_value("sg-0123456789abcdef0")]},
        "syslog-server": {"cidrs": [rpc.UNKNOWN]},  # an unknown sent without the output-value envelope
    },
    "quotas": {"rulesPerSecurityGroup": 60},
    "addresses": "documented",
    "tags": {"owner": "mail-platform"},
}


def aws_python_call() -> None:
    AwsFirewall(
        "mail",
        {
            "topology": "dmz",
            "product": "clearswift-seg",
            "features": ["sophos", "syslog"],
            "name_prefix": "mail",
            "vpc_id": unknown(),
            "peers": {
                "internal-mail-servers": {"cidrs": ["10.20.1.10/32", unknown()]},
                "dns-servers": {"cidrs": ["10.20.0.2/32"]},
                "admin-clients": {"cidrs": ["10.30.0.0/24"], "security_group_ids": [later("sg-0123456789abcdef0")]},
                "syslog-server": {"cidrs": [unknown()]},
            },
            "quotas": {"rules_per_security_group": 60},
            "addresses": "documented",
            "tags": {"owner": "mail-platform"},
        },
    )


def test_construct_with_camel_case_inputs_and_unknowns_registers_what_the_python_call_does() -> None:
    through_package = registered(lambda: construct("seawall:index:AwsFirewall", "mail", AWS_WIRE))
    assert through_package == registered(aws_python_call)
    rules = by_name(through_package)
    assert rules["mail-gateway-in-tcp-25-internal-mail-servers-cidr-1"]["cidrIpv4"] == UNKNOWN
    assert rules["mail-gateway-sg"]["vpcId"] == UNKNOWN


def test_construct_returns_the_outputs_under_their_schema_names() -> None:
    state: dict[str, Any] = {}

    def program() -> None:
        result = construct("seawall:index:AwsFirewall", "mail", {**AWS_WIRE, "vpcId": "vpc-0123456789abcdef0"})
        state.update(result.state)

    registered(program)
    assert set(state) == {"securityGroupIds", "prefixListIds", "warnings"}


def test_construct_builds_azure_and_vendor_prefix_lists_too() -> None:
    _, name, args = args_of("dmz-azure")
    wire = {
        "topology": "dmz",
        "product": "clearswift-seg",
        "features": args["features"],
        "resourceGroupName": output_value("rg-mail-dmz"),
        "location": "westeurope",
        "peers": {
            peer: {"cidrs": [*b["cidrs"][:-1], output_value(b["cidrs"][-1])]} for peer, b in args["peers"].items()
        },
        "tags": args["tags"],
        "namePrefix": args["name_prefix"],  # the shipped stack names its prefix
    }

    def python_call() -> None:
        python_args = {
            **args,
            "resource_group_name": later("rg-mail-dmz"),
            "peers": {peer: {"cidrs": [*b["cidrs"][:-1], later(b["cidrs"][-1])]} for peer, b in args["peers"].items()},
        }
        python_args.pop("quotas")
        AzureFirewall(name, python_args)

    through_package = registered(lambda: construct("seawall:index:AzureFirewall", name, wire), preview=False)
    assert through_package == registered(python_call, preview=False)
    plain = {**args, "resource_group_name": "rg-mail-dmz"}
    plain.pop("quotas")
    assert through_package == registered(lambda: AzureFirewall(name, plain), preview=False), "as if all were plain"
    nsg = by_name(through_package)["dmz-gateway-nsg"]
    assert nsg["resourceGroupName"] == "rg-mail-dmz"
    rule = next(r for r in nsg["securityRules"] if r["name"] == "in-tcp-25-site-internal-mail-servers-ipv4")
    assert rule["sourceAddressPrefixes"] == ["192.0.2.10/32", "192.0.2.11/32"]
    plist = {"product": "clearswift-seg", "service": "kav-update", "namePrefix": "team"}
    snake = {"product": "clearswift-seg", "service": "kav-update", "name_prefix": "team"}
    assert registered(lambda: construct("seawall:index:VendorPrefixList", "kav", plist)) == registered(
        lambda: VendorPrefixList("kav", snake)
    )


def test_errors_through_the_package_name_arguments_as_other_languages_spell_them() -> None:
    bad = {**AWS_WIRE, "peers": {**AWS_WIRE["peers"], "admin-clients": {"securityGroupIds": ["10.30.0.0/24"]}}}
    # the SDK's input-property error: the engine shows the property and the reason on one line
    with pytest.raises(pulumi.InputPropertyError) as info:
        registered(lambda: construct("seawall:index:AwsFirewall", "mail", bad))
    assert info.value.property_path == "peers.admin-clients.securityGroupIds[0]"
    assert info.value.reason.startswith("'10.30.0.0/24' is a network; valid in securityGroupIds: security group ids")
    with pytest.raises(pulumi.InputPropertyError) as info:
        registered(lambda: construct("seawall:index:AwsFirewall", "mail", {**AWS_WIRE, "internetEgress": ["ksnn"]}))
    assert info.value.property_path == "internetEgress[0]"
    assert info.value.reason.startswith("unknown vendor service 'ksnn'")


# The lock `seawall resolve` would have written beside the YAML example (fn::readFile reads it there).
EXAMPLE_LOCK = lock_text({"apphelp.clearswift.com": ["79.125.18.100/32"]})


def yaml_program_inputs(resolve: Callable[[str], Any]) -> dict[str, Any]:
    """The firewall's properties in examples/consumer-yaml, each ``${…}`` and ``fn::readFile`` as the engine sends it."""
    program = yaml.safe_load((REPO / "examples" / "consumer-yaml" / "Pulumi.yaml").read_text(encoding="utf-8"))
    (firewall,) = [r for r in program["resources"].values() if r["type"] == "seawall:index:AwsFirewall"]

    def wire(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("${"):
            return resolve(value[2:-1])
        if isinstance(value, dict) and set(value) == {"fn::readFile"}:
            assert value["fn::readFile"] == "./ipsets.lock.json"
            return EXAMPLE_LOCK
        if isinstance(value, dict):
            return {k: wire(v) for k, v in value.items()}
        if isinstance(value, list):
            return [wire(v) for v in value]
        return value

    return wire(firewall["properties"])


def test_the_yaml_examples_firewall_through_construct_equals_the_python_examples() -> None:
    # On `pulumi up` the VPC id and the subnet's CIDR arrive as output values, known by then.
    known = {"mailVpc.id": "vpc-0123456789abcdef0", "mailServers.cidrBlock": "10.20.1.0/24"}
    from_yaml = registered(
        lambda: construct("seawall:index:AwsFirewall", "mail", yaml_program_inputs(lambda r: output_value(known[r]))),
        preview=False,
    )

    def python_call() -> None:
        python_args = {**small(), "tags": {"owner": "mail-platform"}, "vpc_id": later("vpc-0123456789abcdef0")}
        python_args["peers"]["internal-mail-servers"] = {"cidrs": [later("10.20.1.0/24")]}
        AwsFirewall("mail", {**python_args, "lock": EXAMPLE_LOCK})

    assert from_yaml == registered(python_call, preview=False)
    (apphelp,) = [r["inputs"] for r in from_yaml if r["name"] == "mail-apphelp-ipv4-pl" and "entries" in r["inputs"]]
    assert [e["cidr"] for e in apphelp["entries"]] == ["79.125.18.99/32", "79.125.18.100/32"], "the lock was used"
    # and in preview, where both are unknown, the same resources and names
    in_preview = registered(
        lambda: construct("seawall:index:AwsFirewall", "mail", yaml_program_inputs(lambda r: output_value(known=False)))
    )
    assert [r["name"] for r in in_preview] == [r["name"] for r in from_yaml]


def test_the_committed_package_schema_is_what_the_components_say() -> None:
    committed = (REPO / "schema" / "seawall.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "stale: seawall schema --components > schema/seawall.schema.json"
    result = CliRunner().invoke(app, ["schema", "--components"])
    assert result.exit_code == 0 and result.stdout == committed


def test_every_component_argument_and_output_is_documented_in_the_schema() -> None:
    schema = package_schema()
    assert set(schema["resources"]) == {
        "seawall:index:AwsFirewall",
        "seawall:index:AzureFirewall",
        "seawall:index:VendorPrefixList",
    }
    undocumented = [
        f"{token}.{name}"
        for token, resource in schema["resources"].items()
        for section in ("inputProperties", "properties")
        for name, prop in resource[section].items()
        if not prop.get("description")
    ] + [
        f"{token}.{name}"
        for token, kind in schema["types"].items()
        for name, prop in kind.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undocumented == []
    aws = schema["resources"]["seawall:index:AwsFirewall"]
    assert aws["requiredInputs"] == ["topology", "vpcId"]
    peers = schema["types"]["seawall:index:PeerArgs"]["properties"]
    # the number of values is plain, each value may be another resource's output
    assert peers["cidrs"]["plain"] is True and "plain" not in peers["cidrs"]["items"]


def test_the_package_is_hosted_by_pulumis_component_host_with_the_python_runtime() -> None:
    plugin = yaml.safe_load((REPO / "PulumiPlugin.yaml").read_text(encoding="utf-8"))
    assert plugin["runtime"]["name"] == "python"
    entry = (REPO / "__main__.py").read_text(encoding="utf-8")
    assert "serve(sys.argv[1:])" in entry  # seawall.provider.serve: the SDK's provider host (pulumi.provider.main)


# --- files belong to the user's project ---------------------------------------------------------------------------


def project(tmp_path: Path, lock: bool = True) -> Path:
    """A Pulumi project of a user's own: Pulumi.yaml, a stacks/ folder with dmz-aws, maybe a lock."""
    (tmp_path / "Pulumi.yaml").write_text("name: mine\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    shutil.copy(STACKS / "Pulumi.dmz-aws.yaml", tmp_path / "stacks" / "Pulumi.dmz-aws.yaml")
    if lock:
        text = json.dumps({"version": 1, "hosts": {}, "services": {}})
        (tmp_path / "ipsets.lock.json").write_text(text)
    return tmp_path


def test_the_lock_is_the_projects_never_the_packages(tmp_path: Path) -> None:
    root = project(tmp_path)
    stacks = tmp_path / "deeper" / "stacks"  # a stacks folder further down the project
    shutil.copytree(root / "stacks", stacks)
    files = StackFiles("dmz-aws", stacks, catalog_dir=REPO / "catalog")
    config = load_stack_config("dmz-aws", stacks)
    assert files.lock_path(config) == root / "ipsets.lock.json", "found upward from the stacks directory"
    from seawall.addresses.lock import default_lock_path
    from seawall.catalog import default_catalog_dir

    assert default_catalog_dir() not in default_lock_path(root / "stacks").parents


def test_plan_reads_the_projects_lock_and_the_catalog_option_replaces_only_the_catalogue(tmp_path: Path) -> None:
    root = project(tmp_path, lock=False)
    catalog = tmp_path / "my-catalog"
    shutil.copytree(REPO / "catalog", catalog, ignore=shutil.ignore_patterns("__pycache__", "ipsets.lock.json"))
    (catalog / "ipsets.lock.json").write_text("not a lock")  # a lock beside --catalog is not the project's: unread
    (root / "stacks" / "__main__.py").write_text(
        "from pathlib import Path\nimport pulumi\nfrom seawall.preview.program import run\n\n"
        "run(Path(__file__).parent)\npulumi.export('ownProgram', True)\n"
    )
    result = CliRunner().invoke(
        app,
        ["plan", "--stack", "dmz-aws", "--stacks-dir", str(root / "stacks"), "--catalog", str(catalog), "-f", "json"],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["outputs"]["ownProgram"] is True, "the stack's own program runs with --catalog too"
    assert any(w["kind"] == "no-lock" and "in the project" in w["text"] for w in plan["warnings"])
    (root / "ipsets.lock.json").write_text("not a lock either")
    broken = CliRunner().invoke(
        app,
        ["plan", "--stack", "dmz-aws", "--stacks-dir", str(root / "stacks"), "--catalog", str(catalog), "-f", "json"],
    )
    assert broken.exit_code == 2 and str(root / "ipsets.lock.json") in broken.stderr


def test_a_component_opens_no_file_and_project_inputs_reads_the_projects_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, lock=False)
    (root / "ipsets.lock.json").write_text("{}")  # a broken lock where the program runs: the component never opens it
    monkeypatch.chdir(root)

    def program() -> None:
        pulumi.export("warnings", AwsFirewall("mail", small()).warnings)

    warnings = outputs_of(program)["warnings"]
    assert "no IP-set lock given (args.lock): vendor services use only the addresses the documents print" in warnings[0]
    # the helper reads the project's files, and says which one is wrong
    message = fails(lambda: AwsFirewall("mail", {**small(), **project_inputs("aws", project=root)}))
    assert str(root / "ipsets.lock.json") in message
    (root / "ipsets.lock.json").write_text(json.dumps({"version": 1, "hosts": {}, "services": {}}))
    assert project_inputs("aws", project=root) == {"lock": (root / "ipsets.lock.json").read_text()}
    registered(lambda: AwsFirewall("mail", {**small(), **project_inputs("aws", project=root)}))


def test_shipped_stacks_are_named_so_a_users_own_stack_file_is_never_iterated() -> None:
    pinned = sorted(p.name.removesuffix(".urns.txt") for p in GOLDEN.glob("*.urns.txt"))
    assert sorted(SHIPPED) == pinned
    assert all((STACKS / f"Pulumi.{s}.yaml").is_file() for s in SHIPPED)
    compile_stack("dmz-aws", STACKS)  # (builders.SHIPPED is a list, not a glob of stacks/)


def test_resolve_with_another_catalogue_still_writes_the_projects_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dnszone import dns_server
    from seawall.addresses.resolve import ResolveRequest, resolve_lock

    (tmp_path / "project").mkdir()
    root = project(tmp_path / "project", lock=False)
    catalog = tmp_path / "my-catalog"
    shutil.copytree(REPO / "catalog", catalog, ignore=shutil.ignore_patterns("__pycache__", "ipsets.lock.json"))
    monkeypatch.chdir(root)  # the command line's default --stacks-dir is ./stacks
    with dns_server({}) as (server, _):
        outcome = resolve_lock(ResolveRequest(catalog_dir=catalog, nameservers=(server,), timeout=0.2, retries=0))
    assert outcome.lock_path == root / "ipsets.lock.json"
