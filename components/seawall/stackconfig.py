"""Stack configuration: the ``seawall:`` keys of ``stacks/Pulumi.<stack>.yaml``.

Read once, validated whole. Every error names the config key (and the file and
line when the config came from a file) and exits 2. An unknown ``seawall:`` key
is an error, never ignored: a typo must not silently drop a binding.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from seawall.aws import limits as aws_limits
from seawall.azure import limits as azure_limits
from seawall.errors import ConfigError
from seawall.yamlsource import YamlDocument, display_path, read_yaml

NAMESPACE = "seawall"
Cloud = Literal["aws", "azure"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class AwsQuotas(_Model):
    """AWS VPC quotas in force for the account (defaults: the AWS defaults)."""

    rules_per_security_group: int = Field(
        default=aws_limits.DEFAULT_RULES_PER_SECURITY_GROUP, ge=1, le=aws_limits.MAX_RULES_PER_SECURITY_GROUP
    )
    security_groups_per_eni: int = Field(
        default=aws_limits.DEFAULT_SECURITY_GROUPS_PER_ENI, ge=1, le=aws_limits.MAX_SECURITY_GROUPS_PER_ENI
    )
    prefix_list_max_entries: int = Field(
        default=aws_limits.MAX_PREFIX_LIST_ENTRIES, ge=1, le=aws_limits.MAX_PREFIX_LIST_ENTRIES
    )


class AzureQuotas(_Model):
    rules_per_nsg: int = Field(default=azure_limits.MAX_RULES_PER_NSG, ge=1, le=azure_limits.MAX_RULES_PER_NSG)
    prefixes_per_nsg: int = Field(default=azure_limits.MAX_PREFIXES_PER_NSG, ge=1, le=azure_limits.MAX_PREFIXES_PER_NSG)


class Quotas(_Model):
    aws: AwsQuotas = AwsQuotas()
    azure: AzureQuotas = AzureQuotas()


class StackSettings(_Model):
    """The validated ``seawall:`` namespace (camelCase keys in the file)."""

    topology: str
    cloud: Cloud
    product: str | None = None
    features: tuple[str, ...] = ()
    roles: tuple[str, ...] | None = Field(default=None, description="Optional roles to add, e.g. [exchange].")
    peers: dict[str, tuple[str, ...]] = {}
    internet_egress: tuple[str, ...] = Field(
        default=(), description="Vendor services with no addresses that may use the whole internet (explicit opt-in)."
    )
    addresses: Literal["documented", "lock"] = Field(
        default="lock",
        description="lock: the reviewed IP-set lock plus documented addresses; documented: only the latter.",
    )
    lock_file: str | None = None
    name_prefix: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,30}$")
    tags: dict[str, str] = {}
    ipv6: bool = False
    quotas: Quotas = Quotas()
    policy: dict[str, Literal["advisory", "mandatory", "disabled"]] = Field(
        default={}, description="Enforcement level per policy rule for seawall check."
    )
    vpc_id: str | None = Field(default=None, pattern=aws_limits.VPC_ID_PATTERN)
    resource_group_name: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Binding:
    """One concrete address a site peer is bound to."""

    kind: Literal["cidr", "sg", "prefix-list", "service-tag", "asg", "internet"]
    value: str

    @property
    def family(self) -> int | None:
        return ipaddress.ip_network(self.value).version if self.kind == "cidr" else None


@dataclass(frozen=True)
class StackConfig:
    """A stack's settings plus where they came from (for error messages)."""

    stack: str
    settings: StackSettings
    bindings: dict[str, tuple[Binding, ...]]
    provider_config: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    document: YamlDocument | None = field(default=None, compare=False, repr=False)

    @property
    def name_prefix(self) -> str:
        return self.settings.name_prefix or self.settings.topology

    def where(self, key: Sequence[str | int]) -> str:
        """``file:line: seawall:key.sub[0]`` (or just the key when there is no file)."""
        label = f"{NAMESPACE}:{key[0]}" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in key[1:])
        if self.document is None or self.path is None:
            return label
        line = self.document.line_of(["config", f"{NAMESPACE}:{key[0]}", *key[1:]])
        return f"{self.path}:{line}: {label}"

    def error(self, key: Sequence[str | int], message: str) -> ConfigError:
        return ConfigError(self.where(key), message)


def stack_file(stacks_dir: Path, stack: str) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def load_stack_config(stack: str, stacks_dir: Path) -> StackConfig:
    """Read and validate ``stacks_dir/Pulumi.<stack>.yaml``."""
    path = stack_file(stacks_dir, stack)
    if not path.is_file():
        valid = ", ".join(sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml")))
        raise ConfigError(str(path), f"no such stack {stack!r}; valid: {valid or '(none)'}")
    doc = read_yaml(path, display_path(path), ConfigError)
    data = doc.data if isinstance(doc.data, dict) else {}
    config = data.get("config")
    if not isinstance(config, dict):
        raise ConfigError(f"{doc.path}:1", "a stack file needs a 'config:' mapping with seawall: keys")
    return parse_config(stack, config, doc.path, doc)


def parse_config(
    stack: str,
    config: Mapping[str, Any],
    path: str | None = None,
    document: YamlDocument | None = None,
    placement: bool = True,
) -> StackConfig:
    """Validate a flat Pulumi config mapping (``{"seawall:topology": "dmz", "aws:region": ...}``).

    ``placement=False`` lets a program that passes its own VPC or resource group to
    the components leave ``vpcId`` / ``resourceGroupName`` / ``location`` out.
    """
    ours: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE:
            ours[name] = value
        else:
            others[key] = value
    probe = StackConfig(stack, StackSettings.model_construct(topology="", cloud="aws"), {}, others, path, document)
    try:
        settings = StackSettings.model_validate(ours)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"]) or ["topology"]
        raise probe.error(loc, _explain(first)) from None
    probe = StackConfig(stack, settings, {}, others, path, document)
    bindings = {
        name: tuple(_binding(probe, settings.cloud, name, index, raw) for index, raw in enumerate(values))
        for name, values in sorted(settings.peers.items())
    }
    for name, values in bindings.items():
        if not values:
            raise probe.error(["peers", name], "is empty; bind at least one address or remove the key")
        seen: dict[Binding, int] = {}
        for index, binding in enumerate(values):
            if binding in seen:
                raise probe.error(["peers", name, index], f"{binding.value} repeats item {seen[binding]}")
            seen[binding] = index
    if placement and settings.cloud == "aws" and settings.vpc_id is None:
        raise probe.error(["vpcId"], "missing; an AWS stack needs the VPC id, e.g. vpc-0123456789abcdef0")
    if placement and settings.cloud == "azure":
        for key in ("resourceGroupName", "location"):
            if getattr(settings, "resource_group_name" if key == "resourceGroupName" else "location") is None:
                raise probe.error([key], "missing; an Azure stack needs resourceGroupName and location")
    return StackConfig(stack, settings, bindings, others, path, document)


def _binding(config: StackConfig, cloud: Cloud, name: str, index: int, raw: str) -> Binding:
    key: list[str | int] = ["peers", name, index]
    if raw == "internet":
        return Binding("internet", raw)
    if aws_limits.SECURITY_GROUP_ID.match(raw) or aws_limits.PREFIX_LIST_ID.match(raw):
        if cloud != "aws":
            raise config.error(key, f"{raw!r} is an AWS id; valid on azure: CIDR, service tag or ASG resource id")
        return Binding("sg" if raw.startswith("sg-") else "prefix-list", raw)
    if raw in azure_limits.SERVICE_TAGS or azure_limits.ASG_ID.match(raw):
        if cloud != "azure":
            raise config.error(key, f"{raw!r} is an Azure name; valid on aws: CIDR, sg-… or pl-… id, internet")
        return Binding("service-tag" if raw in azure_limits.SERVICE_TAGS else "asg", raw)
    try:
        network = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        try:
            network = ipaddress.ip_network(raw, strict=False)
        except ValueError:
            valid = "a CIDR such as 198.51.100.0/28, internet, " + (
                "sg-… or pl-… ids" if cloud == "aws" else "a service tag or an ASG resource id"
            )
            raise config.error(key, f"{raw!r} is not a valid binding; valid: {valid}") from None
        raise config.error(key, f"{raw!r} has host bits set; valid: {network} (the canonical network)") from None
    if "/" not in raw:
        raise config.error(key, f"{raw!r} needs a prefix length; valid: {network}")
    if network.prefixlen == 0:
        raise config.error(key, f"{raw!r} is the whole internet; write 'internet' to bind it on purpose")
    return Binding("cidr", str(network))


def _explain(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        valid = ", ".join(sorted(f.alias or n for n, f in StackSettings.model_fields.items()))
        return f"unknown key {loc[-1]!r}; valid seawall: keys: {valid}"
    if kind == "missing":
        return "missing required key"
    if kind == "literal_error":
        return f"{error.get('input')!r} is not valid; valid: {error['ctx']['expected']}"
    if kind == "string_pattern_mismatch":
        return f"{error.get('input')!r} is malformed; valid pattern: {error['ctx']['pattern']}"
    return str(error["msg"])
