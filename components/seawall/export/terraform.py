"""``seawall export terraform``: a stack's rendered firewall as Terraform JSON (``*.tf.json``).

Pure: no Pulumi, no network. The export is written from the same :class:`AwsSpec` /
:class:`AzureSpec` the Pulumi components declare, so names, tags, descriptions,
priorities and the rule layout (several groups per role, split vendor lists) are
those of the Pulumi rendering; ``tests/test_export_terraform.py`` compares the two.

- AWS: ``aws_security_group`` per group, one ``aws_vpc_security_group_ingress_rule`` /
  ``…_egress_rule`` per rule (never inline ``ingress``/``egress``, never the legacy
  ``aws_security_group_rule``), ``aws_ec2_managed_prefix_list`` per vendor list.
- Azure: ``azurerm_application_security_group`` and ``azurerm_network_security_group``
  per role, rules inline (never standalone ``azurerm_network_security_rule`` beside them).
- Resource names are the Pulumi logical names (the same semantic keys, never a
  ``count`` index) with ``.`` written as ``_``: Terraform names cannot hold dots.
- Placement (VPC; resource group and location; the AWS region, which only the
  provider block reads) is a variable with a description and a validation;
  ``terraform.tfvars.json`` holds the stack's values. Site peers stay literal: the
  layout and the quota checks were computed for them.
- A root module by default; ``module=True`` leaves out the provider block (and the
  region) and the tfvars, for a caller that passes its own provider and placement.

The exporter owns a fixed set of file names (:data:`EXPORT_FILES`) and nothing else
in the directory, so ``.terraform/``, state and the dependency lock file are never touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seawall.aws import limits as aws_limits
from seawall.aws.render import AwsPeer, AwsSpec
from seawall.azure.render import AzurePeer, AzureRule, AzureSpec
from seawall.errors import LimitExceeded, UserError
from seawall.stack import CompiledStack, render_aws_stack, render_azure_stack

# Terraform resource types the export writes.
AWS_SECURITY_GROUP = "aws_security_group"
AWS_INGRESS_RULE = "aws_vpc_security_group_ingress_rule"
AWS_EGRESS_RULE = "aws_vpc_security_group_egress_rule"
AWS_PREFIX_LIST = "aws_ec2_managed_prefix_list"
AZURE_NSG = "azurerm_network_security_group"
AZURE_ASG = "azurerm_application_security_group"
RESOURCE_TYPES = {
    "aws": (AWS_SECURITY_GROUP, AWS_INGRESS_RULE, AWS_EGRESS_RULE, AWS_PREFIX_LIST),
    "azurerm": (AZURE_ASG, AZURE_NSG),
}

VERSIONS_FILE = "versions.tf.json"
PROVIDERS_FILE = "providers.tf.json"
VARIABLES_FILE = "variables.tf.json"
MAIN_FILE = "main.tf.json"
OUTPUTS_FILE = "outputs.tf.json"
TFVARS_FILE = "terraform.tfvars.json"
EXPORT_FILES = (VERSIONS_FILE, PROVIDERS_FILE, VARIABLES_FILE, MAIN_FILE, OUTPUTS_FILE, TFVARS_FILE)
# What a root module has and a child module leaves to its caller.
ROOT_ONLY_FILES = (PROVIDERS_FILE, TFVARS_FILE)

# The Terraform language of 1.x (its compatibility promise); nothing newer is used.
REQUIRED_TERRAFORM = ">= 1.0"


@dataclass(frozen=True)
class ProviderPin:
    name: str  # the local name: aws, azurerm
    source: str
    version: str  # the required_providers constraint
    checked: tuple[str, ...]  # provider versions whose published schemas the export is tested against


# Majors the export was checked against (tests/fixtures/terraform-schema.json holds those schemas;
# a test fails when a pin admits a major no schema there covers, or excludes a checked version).
PROVIDER_PINS = {
    "aws": ProviderPin("aws", "hashicorp/aws", ">= 5.0, < 7.0", ("5.100.0", "6.25.0")),
    "azurerm": ProviderPin("azurerm", "hashicorp/azurerm", ">= 4.0, < 5.0", ("4.55.0",)),
}

# Terraform identifiers: a letter or underscore, then letters, digits, underscores and hyphens.
TERRAFORM_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# Placement values, checked here and by the variables' validations (RE2 and Python agree on these).
AZURE_RESOURCE_GROUP = r"^[-A-Za-z0-9_.()]{0,89}[-A-Za-z0-9_()]$"
AZURE_LOCATION = r"^[a-z][a-z0-9]*$"


class Expr(str):
    """Template text written as it is (``${var.vpc_id}``); other strings in resources and output values are escaped."""


def _ref(address: str) -> Expr:
    return Expr("${" + address + "}")


@dataclass(frozen=True)
class TerraformExport:
    stack: str
    cloud: str
    files: dict[str, str]  # file name → its text; of EXPORT_FILES, the ones this export has

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Resource type → name → body, as written."""
        return json.loads(self.files[MAIN_FILE]).get("resource", {})  # type: ignore[no-any-return]


def terraform_name(pulumi_name: str) -> str:
    """The Terraform resource name for a Pulumi logical name: the same key, ``.`` written as ``_``."""
    name = pulumi_name.replace(".", "_")
    if not TERRAFORM_IDENTIFIER.match(name):
        raise LimitExceeded(
            f"resource {pulumi_name}",
            "cannot be a Terraform resource name; valid: a letter, then letters, digits, '_', '-' "
            "(change seawall:namePrefix)",
        )
    return name


class _Names:
    """Pulumi names → Terraform names within one resource type; two keys that meet are an error, never a merge."""

    def __init__(self, type_: str) -> None:
        self.type = type_
        self.seen: dict[str, str] = {}

    def __call__(self, pulumi_name: str) -> str:
        name = terraform_name(pulumi_name)
        other = self.seen.setdefault(name, pulumi_name)
        if other != pulumi_name:
            raise LimitExceeded(f"resource {pulumi_name}", f"and {other} are both {self.type}.{name} in Terraform")
        return name

    def ref(self, pulumi_name: str, attribute: str = "id") -> Expr:
        return _ref(f"{self.type}.{self(pulumi_name)}.{attribute}")


def export_terraform(compiled: CompiledStack, module: bool = False) -> TerraformExport:
    """The stack's own cloud as Terraform JSON files (raises the renderer's errors before anything is written).

    ``module``: a child module, without the provider block, the region and the tfvars.
    """
    config = compiled.config
    if config.settings.cloud == "aws":
        spec_aws = render_aws_stack(compiled)
        region = config.provider_config.get("aws:region")
        docs = _aws(spec_aws, region if isinstance(region, str) else None)
        cloud = "aws"
    else:
        spec_azure = render_azure_stack(compiled)
        for key, value, pattern in (
            ("resourceGroupName", config.settings.resource_group_name, AZURE_RESOURCE_GROUP),
            ("location", config.settings.location, AZURE_LOCATION),
        ):
            if value is not None and not re.match(pattern, value):
                raise config.error([key], f"{value!r} cannot be exported to Terraform; valid pattern: {pattern}")
        docs = _azure(spec_azure, config.settings.resource_group_name, config.settings.location)
        cloud = "azurerm"
    what = {
        VERSIONS_FILE: "the Terraform and provider versions the export was checked against",
        PROVIDERS_FILE: "the provider configuration, and on AWS the region it reads "
        "(export with --module to leave both to a calling module)",
        VARIABLES_FILE: "placement, passed in by you",
        MAIN_FILE: "the firewall",
        OUTPUTS_FILE: "the ids to attach, as the Pulumi components export them",
    }
    files = {}
    for name in EXPORT_FILES:
        if module and name in ROOT_ONLY_FILES:
            continue
        doc = docs[name]
        if name in what:
            doc = {
                "//": f"seawall export terraform --stack {compiled.config.stack}: {what[name]}. "
                "Generated: change the stack or the catalogue and export again.",
                **doc,
            }
        files[name] = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return TerraformExport(compiled.config.stack, cloud, files)


def _versions(provider: str) -> dict[str, Any]:
    pin = PROVIDER_PINS[provider]
    return {
        "terraform": {
            "required_version": REQUIRED_TERRAFORM,
            "required_providers": {provider: {"source": pin.source, "version": pin.version}},
        }
    }


def _variable(description: str, condition: str, message: str) -> dict[str, Any]:
    return {
        "type": "string",
        "description": description,
        "validation": [{"condition": Expr("${" + condition + "}"), "error_message": message}],
    }


def _aws(spec: AwsSpec, region: str | None) -> dict[str, dict[str, Any]]:
    groups = _Names(AWS_SECURITY_GROUP)
    lists = _Names(AWS_PREFIX_LIST)
    rules = {"ingress": _Names(AWS_INGRESS_RULE), "egress": _Names(AWS_EGRESS_RULE)}
    resources: dict[str, dict[str, Any]] = {AWS_SECURITY_GROUP: {}}
    for sg in spec.security_groups:
        resources[AWS_SECURITY_GROUP][groups(sg.name)] = {
            "name": sg.group_name,
            "description": sg.description,
            "vpc_id": _ref("var.vpc_id"),
            "revoke_rules_on_delete": True,
            "tags": dict(sg.tags),
        }
    for pl in spec.prefix_lists:
        resources.setdefault(AWS_PREFIX_LIST, {})[lists(pl.name)] = {
            "name": pl.list_name,
            "address_family": pl.address_family,
            "max_entries": pl.max_entries,
            "entry": [{"cidr": cidr, "description": text} for cidr, text in pl.entries],
            "tags": dict(pl.tags),
        }
    # A rule that references a role references its first group: every interface of the role has it.
    first = {sg.role: sg.name for sg in spec.security_groups if sg.index == 1}
    list_of = {pl.key: pl.name for pl in spec.prefix_lists}
    for rule in spec.rules:
        names = rules[rule.direction]
        resources.setdefault(names.type, {})[names(rule.name)] = {
            "security_group_id": groups.ref(rule.group),
            "ip_protocol": rule.ip_protocol,
            "from_port": rule.from_port,
            "to_port": rule.to_port,
            **_aws_peer(rule.peer, groups, lists, first, list_of),
            "description": rule.description,
            "tags": dict(rule.tags),
            # As Pulumi does: a rule that moves to another group exists in the new one before it leaves the old.
            "lifecycle": {"create_before_destroy": True},
        }
    roles = sorted(first)
    outputs = {
        "security_group_ids": {
            "description": "Security group ids per role, first group first: attach every group of a role to "
            "the role's network interfaces (a role whose rules do not fit one group's quota has several).",
            "value": _encode({role: [groups.ref(sg.name) for sg in spec.groups_of(role)] for role in roles}),
        },
        "prefix_list_ids": {
            "description": "Managed prefix-list id per vendor service and address family (e.g. kav-update-ipv4; "
            "a service split into several lists has -1, -2, ...).",
            "value": _encode({pl.key: lists.ref(pl.name) for pl in spec.prefix_lists}),
        },
    }
    regions = ", ".join(f'"{r}"' for r in sorted(aws_limits.REGIONS))
    region_variable = _variable(
        "AWS region of the VPC (the stack's aws:region); one of the regions seawall knows.",
        f"contains([{regions}], var.region)",
        "The region must be an AWS region code that seawall knows, such as eu-west-1.",
    )
    variables = {
        "vpc_id": _variable(
            "VPC of the security groups (the stack's seawall:vpcId), e.g. vpc-0123456789abcdef0.",
            f'can(regex("{aws_limits.VPC_ID_PATTERN}", var.vpc_id))',
            "The vpc_id must be a VPC id: vpc- and 8 or 17 lower-case hexadecimal digits.",
        ),
    }
    tfvars = {k: v for k, v in (("region", region), ("vpc_id", spec.vpc_id)) if v is not None}
    return {
        VERSIONS_FILE: _versions("aws"),
        # The region configures the provider only: it lives beside it, and leaves with it in a child module.
        PROVIDERS_FILE: {"provider": {"aws": {"region": _ref("var.region")}}, "variable": {"region": region_variable}},
        VARIABLES_FILE: {"variable": variables},
        MAIN_FILE: {"resource": _encode(resources)},
        OUTPUTS_FILE: {"output": outputs},
        TFVARS_FILE: tfvars,
    }


def _aws_peer(
    peer: AwsPeer, groups: _Names, lists: _Names, first: dict[str, str], list_of: dict[str, str]
) -> dict[str, Any]:
    if peer.kind == "cidr_ipv4":
        return {"cidr_ipv4": peer.value}
    if peer.kind == "cidr_ipv6":
        return {"cidr_ipv6": peer.value}
    if peer.kind == "prefix_list":
        return {"prefix_list_id": peer.value if peer.external else lists.ref(list_of[peer.value])}
    return {"referenced_security_group_id": peer.value if peer.external else groups.ref(first[peer.value])}


def _azure(spec: AzureSpec, resource_group: str | None, location: str | None) -> dict[str, dict[str, Any]]:
    nsgs = _Names(AZURE_NSG)
    asgs = _Names(AZURE_ASG)
    placement = {"resource_group_name": _ref("var.resource_group_name"), "location": _ref("var.location")}
    asg_of = {role.role: role.asg_name for role in spec.roles}
    resources: dict[str, dict[str, Any]] = {AZURE_ASG: {}, AZURE_NSG: {}}
    for role in spec.roles:
        resources[AZURE_ASG][asgs(role.asg_name)] = {"name": role.asg_name, **placement, "tags": dict(role.tags)}
        resources[AZURE_NSG][nsgs(role.nsg_name)] = {
            "name": role.nsg_name,
            **placement,
            "security_rule": [_azure_rule(rule, asgs, asg_of) for rule in role.rules],
            "tags": dict(role.tags),
        }
    outputs = {
        "nsg_ids": {
            "description": "Network security group id per role: associate it with the role's network interfaces.",
            "value": _encode({role.role: nsgs.ref(role.nsg_name) for role in spec.roles}),
        },
        "asg_ids": {
            "description": "Application security group id per role: put the role's network interfaces in it "
            "(role-to-role rules match on it).",
            "value": _encode({role.role: asgs.ref(role.asg_name) for role in spec.roles}),
        },
    }
    variables = {
        "resource_group_name": _variable(
            "Resource group of the NSGs and ASGs (the stack's seawall:resourceGroupName).",
            f'can(regex("{AZURE_RESOURCE_GROUP}", var.resource_group_name))',
            "The resource_group_name must be 1 to 90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'.",
        ),
        "location": _variable(
            "Azure region of the NSGs and ASGs (the stack's seawall:location), e.g. westeurope.",
            f'can(regex("{AZURE_LOCATION}", var.location))',
            "The location must be an Azure region name in lower case without spaces, such as westeurope.",
        ),
    }
    tfvars = {k: v for k, v in (("resource_group_name", resource_group), ("location", location)) if v is not None}
    return {
        VERSIONS_FILE: _versions("azurerm"),
        # azurerm needs the features block; the subscription comes from ARM_SUBSCRIPTION_ID or the Azure CLI login.
        PROVIDERS_FILE: {"provider": {"azurerm": {"features": [{}]}}},
        VARIABLES_FILE: {"variable": variables},
        MAIN_FILE: {"resource": _encode(resources)},
        OUTPUTS_FILE: {"output": outputs},
        TFVARS_FILE: tfvars,
    }


def _azure_rule(rule: AzureRule, asgs: _Names, asg_of: dict[str, str]) -> dict[str, Any]:
    # The rules are an attribute (a set of objects) in JSON: every field is written, null when unused.
    return {
        "name": rule.name,
        "priority": rule.priority,
        "direction": rule.direction,
        "access": rule.access,
        "protocol": rule.protocol,
        "source_port_range": "*",
        "source_port_ranges": None,
        "destination_port_range": rule.destination_port_range,
        "destination_port_ranges": None,
        **_azure_side(rule.source, "source", asgs, asg_of),
        **_azure_side(rule.destination, "destination", asgs, asg_of),
        "description": rule.description,
    }


def _azure_side(peer: AzurePeer, side: str, asgs: _Names, asg_of: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        f"{side}_address_prefix": None,
        f"{side}_address_prefixes": None,
        f"{side}_application_security_group_ids": None,
    }
    if peer.kind == "any":
        out[f"{side}_address_prefix"] = "*"
    elif peer.kind == "service-tag" or (peer.kind == "prefixes" and len(peer.values) == 1):
        out[f"{side}_address_prefix"] = peer.values[0]
    elif peer.kind == "prefixes":
        out[f"{side}_address_prefixes"] = list(peer.values)
    else:
        out[f"{side}_application_security_group_ids"] = [asgs.ref(asg_of[v]) if peer.roles else v for v in peer.values]
    return out


def _literal(text: str) -> str:
    # Terraform evaluates resource arguments and output values as templates: a literal ${ or %{ is $${ / %%{.
    # (Descriptions of variables and outputs are read literally, so they are written as they are.)
    return text.replace("${", "$${").replace("%{", "%%{")


def _encode(value: Any) -> Any:
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, str):
        return _literal(value)
    if isinstance(value, dict):
        return {_literal(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def stale_files(export: TerraformExport, out: Path) -> list[str]:
    """The export's files missing from ``out`` or different there, and owned files it does not have (to remove)."""
    stale = []
    for name in EXPORT_FILES:
        path = out / name
        try:
            current = path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError):
            current = ""  # unreadable: rewrite it
        if current != export.files.get(name):
            stale.append(name)
    return stale


def check_export(export: TerraformExport, out: Path) -> list[tuple[str, str]]:
    """What keeps ``out`` from being exactly this export: (file name, state), sorted by name.

    States: ``missing`` (the export has it, ``out`` does not), ``stale`` (different there),
    ``extra`` (an export file this export does not have, such as a module's providers file),
    and ``foreign``: any other Terraform file (``*.tf``, ``*.tf.json``) in ``out``, which
    Terraform would load with the export and which could declare rules of its own.
    """
    found: list[tuple[str, str]] = []
    for name in EXPORT_FILES:
        path = out / name
        present = path.is_file()
        if name in export.files and not present:
            found.append((name, "missing"))
        elif name in export.files and _text_of(path) != export.files[name]:
            found.append((name, "stale"))
        elif name not in export.files and (present or path.exists()):
            found.append((name, "extra"))
    if out.is_dir():
        for path in sorted(out.iterdir()):
            if path.name not in EXPORT_FILES and path.name.endswith((".tf", ".tf.json")):
                found.append((path.name, "foreign"))
    return sorted(found)


def _text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # unreadable: not the export


def write_export(export: TerraformExport, out: Path) -> list[str]:
    """Write the files that changed (and remove owned ones the export no longer has); returns their names.

    Everything is written into a temporary directory beside the files first, then renamed into
    place; if a rename fails, the files already replaced are put back. Anything else in ``out``
    (``.terraform/``, state, the dependency lock file, your own files) is left alone.
    """
    if out.exists() and not out.is_dir():
        raise UserError(str(out), "is not a directory; valid: a directory for the export (created when missing)")
    changed = stale_files(export, out)
    if not changed:
        return []
    tmp: Path | None = None
    moved: list[str] = []  # names whose previous file (if any) is kept as <name>.old in tmp
    try:
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".seawall-export-", dir=out))
        for name in changed:
            if name in export.files:
                (tmp / name).write_text(export.files[name], encoding="utf-8")
        for name in changed:
            if (out / name).exists():
                os.replace(out / name, tmp / f"{name}.old")
            moved.append(name)
            if name in export.files:
                os.replace(tmp / name, out / name)
    except OSError as exc:
        # Put back what was there: a half-replaced export would mix two firewalls.
        for name in reversed(moved):
            try:
                if tmp is not None and (tmp / f"{name}.old").exists():
                    os.replace(tmp / f"{name}.old", out / name)
                else:
                    (out / name).unlink(missing_ok=True)
            except OSError:
                pass
        raise UserError(str(out), f"cannot write the export: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return changed
