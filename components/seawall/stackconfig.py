"""Stack configuration: the ``seawall:`` keys of ``stacks/Pulumi.<stack>.yaml``.

Read once, validated whole. Every error names the config key (and the file and
line when the config came from a file) and exits 2. An unknown ``seawall:`` key
is an error, never ignored: a typo must not silently drop a binding.

The components' arguments (``AwsFirewall(name, args)``) are validated here too,
by :func:`parse_config` with another :class:`KeyStyle`: the same checks and the
same wording, with ``args.peers.x`` where a stack file says ``seawall:peers.x``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

from seawall.aws import limits as aws_limits
from seawall.azure import limits as azure_limits
from seawall.errors import ConfigError
from seawall.netaddr import INTERNET_EQUIVALENT_PREFIX, zone_id_problem
from seawall.records import Invalid, Meta, fields_given, is_record, keys, parse, record, to_camel, to_snake
from seawall.yamlsource import MAX_STACK_FILE_BYTES, YamlDocument, display_path, read_yaml

NAMESPACE = "seawall"
Cloud = Literal["aws", "azure"]


_model = record(camel=True)  # camelCase keys, as Pulumi config writes them; snake_case accepted too


@_model
@dataclass(frozen=True, kw_only=True)
class AwsQuotas:
    """AWS VPC quotas in force for the account (defaults: the AWS defaults)."""

    rules_per_security_group: Annotated[
        int,
        Meta(
            ge=1,
            le=aws_limits.MAX_RULES_PER_SECURITY_GROUP,
            description="Your account's 'Inbound or outbound rules per security group' (L-0EA8095F), per direction "
            "and family; a prefix list counts its max entries.",
        ),
    ] = aws_limits.DEFAULT_RULES_PER_SECURITY_GROUP
    security_groups_per_eni: Annotated[
        int,
        Meta(
            ge=1,
            le=aws_limits.MAX_SECURITY_GROUPS_PER_ENI,
            description="Your account's 'Security groups per network interface' (L-2AFB9258): how many groups one "
            "role's rules may be spread over (at most 16).",
        ),
    ] = aws_limits.DEFAULT_SECURITY_GROUPS_PER_ENI
    prefix_list_max_entries: Annotated[
        int,
        Meta(
            ge=1,
            le=aws_limits.MAX_PREFIX_LIST_ENTRIES,
            description="The most entries one vendor prefix list may have; a vendor service with more addresses is "
            "split into several lists.",
        ),
    ] = aws_limits.MAX_PREFIX_LIST_ENTRIES


@_model
@dataclass(frozen=True, kw_only=True)
class AzureQuotas:
    rules_per_nsg: Annotated[
        int,
        Meta(
            ge=1,
            le=azure_limits.MAX_RULES_PER_NSG,
            description="The most rules in one role's NSG, the two deny-all rules included; lower it below Azure's "
            "1,000 if you want (it cannot be raised).",
        ),
    ] = azure_limits.MAX_RULES_PER_NSG
    prefixes_per_nsg: Annotated[
        int,
        Meta(
            ge=1,
            le=azure_limits.MAX_PREFIXES_PER_NSG,
            description="The most source prefixes, and separately destination prefixes, in one role's NSG; lower it "
            "below Azure's 4,000 if you want.",
        ),
    ] = azure_limits.MAX_PREFIXES_PER_NSG


@_model
@dataclass(frozen=True, kw_only=True)
class InternetEquivalent:
    """How large a union of a rule's peer addresses may be before it counts as the internet (a prefix length)."""

    ipv4: Annotated[
        int,
        Meta(
            ge=1,
            le=32,
            description="A role's peers on one port whose IPv4 addresses cover a /N's worth (N: this value) are the "
            "internet, refused unless opted in; N below 4 warns.",
        ),
    ] = INTERNET_EQUIVALENT_PREFIX[4]
    ipv6: Annotated[
        int,
        Meta(
            ge=1,
            le=128,
            description="A role's peers on one port whose IPv6 addresses cover a /N's worth (N: this value) are the "
            "internet, refused unless opted in; N below 8 warns.",
        ),
    ] = INTERNET_EQUIVALENT_PREFIX[6]

    def prefix(self, version: int) -> int:
        return self.ipv4 if version == 4 else self.ipv6


@_model
@dataclass(frozen=True, kw_only=True)
class Quotas:
    aws: AwsQuotas = AwsQuotas()
    azure: AzureQuotas = AzureQuotas()


@_model
@dataclass(frozen=True, kw_only=True)
class PeerAddresses:
    """A site peer's addresses by kind, as the components take them: each list holds one kind only."""

    cidrs: tuple[str, ...] = ()
    ipv6_cidrs: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    prefix_list_ids: tuple[str, ...] = ()
    application_security_group_ids: tuple[str, ...] = ()
    service_tags: tuple[str, ...] = ()
    internet: bool = False


BindingKind = Literal["cidr", "sg", "prefix-list", "service-tag", "asg", "internet"]
# What each PeerAddresses list holds: the binding kind, the address family for CIDRs, and how to say it.
PEER_KINDS: dict[str, tuple[BindingKind, int | None, str]] = {
    "cidrs": ("cidr", 4, "IPv4 networks such as 198.51.100.0/28 (IPv6 ones go in ipv6_cidrs)"),
    "ipv6_cidrs": ("cidr", 6, "IPv6 networks such as 2001:db8::/64"),
    "security_group_ids": ("sg", None, "security group ids such as sg-0123456789abcdef0"),
    "prefix_list_ids": ("prefix-list", None, "managed prefix list ids such as pl-0123456789abcdef0"),
    "application_security_group_ids": ("asg", None, "application security group resource ids"),
    "service_tags": ("service-tag", None, "Azure service tags such as VirtualNetwork"),
}
PEER_FIELDS: dict[str, tuple[str, ...]] = {
    "aws": ("cidrs", "ipv6_cidrs", "security_group_ids", "prefix_list_ids", "internet"),
    "azure": ("cidrs", "ipv6_cidrs", "application_security_group_ids", "service_tags", "internet"),
}


def _pulumi_boolean(raw: Any) -> Any:
    # `pulumi config set seawall:ipv6 true` stores the text "true"; yes/on/1 stay errors.
    return {"true": True, "false": False}.get(raw, raw) if isinstance(raw, str) else raw


@_model
@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """The validated ``seawall:`` namespace (camelCase keys in the file)."""

    topology: Annotated[
        str,
        Meta(
            description="The shipped topology to deploy, ``dmz`` or ``mss-distributed``: it fixes the roles and the "
            "products that fit."
        ),
    ]
    cloud: Annotated[
        Cloud,
        Meta(
            description="The cloud to deploy to: ``aws`` (security groups, prefix lists) or ``azure`` (NSGs, "
            "application security groups)."
        ),
    ]
    product: Annotated[
        str | None,
        Meta(
            description="The vendor product whose catalogue rows apply, one the topology takes; may be left out when "
            "the topology takes only one."
        ),
    ] = None
    features: Annotated[
        tuple[str, ...],
        Meta(
            description="Conditions the vendor document states this deployment meets (e.g. kaspersky); a row that "
            "needs features opens only when all are listed."
        ),
    ] = ()
    roles: Annotated[tuple[str, ...] | None, Meta(description="Optional roles to add, e.g. [exchange].")] = None
    peers: Annotated[
        dict[str, Any],
        Meta(description="Site peer -> a list of addresses (stack files), or addresses by kind (PeerAddresses)."),
    ] = field(default_factory=dict)
    internet_egress: Annotated[
        tuple[str, ...],
        Meta(description="Vendor services with no addresses that may use the whole internet (explicit opt-in)."),
    ] = ()
    addresses: Annotated[
        Literal["documented", "lock"],
        Meta(description="lock: the reviewed IP-set lock plus documented addresses; documented: only the latter."),
    ] = "lock"
    lock_file: Annotated[
        str | None,
        Meta(
            description="The IP-set lock, relative to the project, instead of ipsets.lock.json; must exist. "
            "``--lock`` overrides it; unused when addresses is documented."
        ),
    ] = None
    allow_private: Annotated[
        tuple[str, ...],
        Meta(description="Ranges outside public address space that vendor addresses may come from (internal hosts)."),
    ] = ()
    internet_equivalent: InternetEquivalent = InternetEquivalent()
    name_prefix: Annotated[
        str | None,
        Meta(
            pattern=r"^[a-z][a-z0-9-]{0,30}$",
            description="Prefix of every cloud name (``<prefix>-gateway``, ``<prefix>-gateway-nsg``); default: the "
            "stack's name, lower-cased. Unique per VPC or resource group.",
        ),
    ] = None
    tags: Annotated[
        dict[str, str],
        Meta(
            description="Tags added to every cloud resource seawall creates, beside its own ``seawall:*`` tags (and "
            "``Name`` on AWS); those keys are refused."
        ),
    ] = field(default_factory=dict)
    ipv6: Annotated[
        bool,
        Meta(
            before=_pulumi_boolean,
            description="Also open IPv6: vendors' IPv6 addresses and, on AWS, ``::/0`` beside ``0.0.0.0/0``. Site "
            "IPv6 CIDRs are opened either way.",
        ),
    ] = False
    quotas: Quotas = Quotas()
    policy: Annotated[
        dict[str, Literal["advisory", "mandatory", "disabled"]],
        Meta(description="Enforcement level per policy rule for seawall check."),
    ] = field(default_factory=dict)
    vpc_id: Annotated[
        str | None,
        Meta(
            pattern=aws_limits.VPC_ID_PATTERN,
            description="AWS: the VPC the security groups are created in (``vpc-…``); required when cloud is aws, "
            "refused when it is azure.",
        ),
    ] = None
    resource_group_name: Annotated[
        str | None,
        Meta(
            description="Azure: the resource group the NSGs and application security groups go in (seawall does not "
            "create it); required when cloud is azure, refused when it is aws."
        ),
    ] = None
    location: Annotated[
        str | None,
        Meta(
            description="Azure: the region of the NSGs and application security groups, e.g. westeurope; required "
            "when cloud is azure, refused when it is aws."
        ),
    ] = None


# Every key a stack file's seawall: namespace may hold, as a stack file spells it.
_SETTING_NAMES = frozenset(to_camel(f.name) for f in fields(StackSettings))
# camelCase -> Python name of every key, nested ones included (to_snake makes ipv6Cidrs "ipv_6_cidrs").
_PYTHON_NAMES = {
    to_camel(name): name
    for model in (StackSettings, Quotas, AwsQuotas, AzureQuotas, InternetEquivalent, PeerAddresses)
    for name in (f.name for f in fields(model))
}


@dataclass(frozen=True)
class Binding:
    """One concrete address a site peer is bound to."""

    kind: BindingKind
    value: str

    @property
    def family(self) -> int | None:
        return ipaddress.ip_network(self.value).version if self.kind == "cidr" else None


@dataclass(frozen=True)
class KeyStyle:
    """How errors name a key: ``seawall:peers.x`` in a stack file, ``args.peers.x`` for a component's arguments.

    Keys are named as the reader wrote them: camelCase in stack files and in the
    package schema (TypeScript, YAML, ...), snake_case for a Python caller.
    """

    prefix: str
    snake: bool = False
    flat_quotas: bool = False  # a component takes its own cloud's quotas: args.quotas.x, not quotas.aws.x

    def field(self, name: str) -> str:
        camel = to_camel(name)
        return _PYTHON_NAMES.get(camel, to_snake(camel)) if self.snake else camel

    def label(self, key: Sequence[str | int]) -> str:
        """``seawall:quotas.aws.rulesPerSecurityGroup``; peer names and tag keys are left as written."""
        head = to_camel(str(key[0]))
        if head == "quotas" and self.flat_quotas and len(key) > 1:
            key = [key[0], *key[2:]]
        fields = {"quotas": {0, 1, 2}, "internetEquivalent": {0, 1}, "peers": {0, 2}}.get(head, {0})
        parts = [
            f"[{k}]" if isinstance(k, int) else ("." if i else "") + (self.field(k) if i in fields else k)
            for i, k in enumerate(key)
        ]
        return self.prefix + "".join(parts)

    def translate(self, message: str) -> str:
        """A message that names a stack-file key (``set seawall:quotas.aws.securityGroupsPerEni``) in this style."""
        if self.prefix == FILE_KEYS.prefix:
            return message

        def swap(match: re.Match[str]) -> str:
            path = match.group(1).split(".")
            return self.label(path) if to_camel(path[0]) in _SETTING_NAMES else match.group(0)

        return _KEY_MENTION.sub(swap, message)


FILE_KEYS = KeyStyle(f"{NAMESPACE}:")
PYTHON_ARGS = KeyStyle("args.", snake=True, flat_quotas=True)
SCHEMA_ARGS = KeyStyle("args.", flat_quotas=True)
_KEY_MENTION = re.compile(rf"\b{NAMESPACE}:([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*)")


def default_name_prefix(stack: str) -> str:
    """A stack name as a name prefix (``^[a-z][a-z0-9-]{0,30}$``): lower-case, other characters as ``-``."""
    text = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", stack.lower())).strip("-")
    if not text[:1].isalpha():
        text = f"s-{text}".rstrip("-")
    return text[:31].rstrip("-")


@dataclass(frozen=True)
class StackConfig:
    """A stack's settings plus where they came from (for error messages)."""

    stack: str
    settings: StackSettings
    bindings: dict[str, tuple[Binding, ...]]
    provider_config: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    document: YamlDocument | None = field(default=None, compare=False, repr=False)
    style: KeyStyle = field(default=FILE_KEYS, compare=False)

    @property
    def name_prefix(self) -> str:
        """``seawall:namePrefix``, else the stack's own name: two stacks of one topology in one VPC
        (a SEG and an SXG DMZ) must not collide on group names."""
        return self.settings.name_prefix or default_name_prefix(self.stack)

    def where(self, key: Sequence[str | int], namespace: str = NAMESPACE) -> str:
        """``file:line: seawall:key.sub[0]`` (or just the key when there is no file)."""
        if namespace == NAMESPACE:
            label = self.style.label(key)
        else:
            label = f"{namespace}:{key[0]}" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in key[1:])
        if self.document is None or self.path is None:
            return label
        line = self.document.line_of(["config", f"{namespace}:{key[0]}", *key[1:]])
        return f"{self.path}:{line}: {label}"

    def error(self, key: Sequence[str | int], message: str, namespace: str = NAMESPACE) -> ConfigError:
        return ConfigError(self.where(key, namespace), self.style.translate(message))


def stack_file(stacks_dir: Path, stack: str) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def load_stack_config(stack: str, stacks_dir: Path) -> StackConfig:
    """Read and validate ``stacks_dir/Pulumi.<stack>.yaml``."""
    path = stack_file(stacks_dir, stack)
    if not path.is_file():
        valid = ", ".join(sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml")))
        raise ConfigError(str(path), f"no such stack {stack!r}; valid: {valid or '(none)'}")
    doc = read_yaml(path, display_path(path), ConfigError, max_bytes=MAX_STACK_FILE_BYTES)
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
    style: KeyStyle = FILE_KEYS,
    keys: Sequence[str] | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> StackConfig:
    """Validate a flat Pulumi config mapping (``{"seawall:topology": "dmz", "aws:region": ...}``).

    ``placement=False`` lets a program that passes its own VPC or resource group to
    the components leave ``vpcId`` / ``resourceGroupName`` / ``location`` out.
    ``style`` names keys in errors; ``keys`` narrows the accepted ``seawall:`` keys
    (a component takes fewer than a stack file), any other being unknown; ``fixed``
    settings are the caller's own (a component's cloud), never the user's.
    """
    ours: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE:
            ours[name] = value
        else:
            others[key] = value
    probe = StackConfig(stack, StackSettings(topology="", cloud="aws"), {}, others, path, document, style)
    if keys is not None:
        allowed = {to_camel(k) for k in keys}
        for name in ours:
            if to_camel(name) not in allowed:
                valid = ", ".join(sorted(style.field(k) for k in allowed))
                raise probe.error([name], f"unknown key {name!r}; valid {style.prefix.rstrip(':.')} keys: {valid}")
    ours.update(fixed or {})
    try:
        settings = parse(StackSettings, ours)
    except Invalid as exc:
        first = exc.errors()[0]
        loc = list(first["loc"]) or ["topology"]
        raise probe.error(loc, _explain(first, style)) from None
    probe = StackConfig(stack, settings, {}, others, path, document, style)
    _check_cloud_keys(probe, settings, ours)
    _check_provider_config(probe, others)
    _check_lists(probe, settings)
    _check_tags(probe, settings)
    bindings = {name: _peer_bindings(probe, settings.cloud, name, raw) for name, raw in sorted(settings.peers.items())}
    if placement and settings.cloud == "aws" and settings.vpc_id is None:
        raise probe.error(["vpcId"], "missing; an AWS stack needs the VPC id, e.g. vpc-0123456789abcdef0")
    if placement and settings.cloud == "azure":
        for key in ("resourceGroupName", "location"):
            if getattr(settings, "resource_group_name" if key == "resourceGroupName" else "location") is None:
                raise probe.error([key], "missing; an Azure stack needs resourceGroupName and location")
    return StackConfig(stack, settings, bindings, others, path, document, style)


def _peer_bindings(config: StackConfig, cloud: Cloud, name: str, raw: Any) -> tuple[Binding, ...]:
    """One site peer's bindings: a list of addresses (stack files) or addresses by kind (components, stack files)."""
    located: list[tuple[list[str | int], Binding]] = []
    if isinstance(raw, Mapping):
        try:
            typed = parse(PeerAddresses, raw)
        except Invalid as exc:
            first = exc.errors()[0]
            raise config.error(["peers", name, *first["loc"]], _explain(first, config.style, PeerAddresses)) from None
        allowed = PEER_FIELDS[cloud]
        for given in sorted(fields_given(PeerAddresses, raw)):
            if given not in allowed:
                valid = ", ".join(config.style.field(f) for f in allowed)
                raise config.error(["peers", name, given], f"cannot bind a peer on {cloud}; valid on {cloud}: {valid}")
        for kind in PEER_KINDS:
            for index, text in enumerate(getattr(typed, kind)):
                key: list[str | int] = ["peers", name, kind, index]
                located.append((key, _typed_binding(config, cloud, key, kind, text)))
        if typed.internet:
            located.append((["peers", name, "internet"], Binding("internet", "internet")))
    elif isinstance(raw, list | tuple):
        for index, text in enumerate(raw):
            key = ["peers", name, index]
            if not isinstance(text, str):
                raise config.error(key, f"{_shown(text)} is not an address; valid: {_binding_forms(cloud)}")
            located.append((key, _binding(config, cloud, key, text)))
    else:
        example = "{cidrs: [198.51.100.0/28]}" if config.style is not FILE_KEYS else "[198.51.100.0/28]"
        raise config.error(["peers", name], f"{_shown(raw)} is not a list of addresses; valid: e.g. {example}")
    if not located:
        raise config.error(["peers", name], "is empty; bind at least one address or remove the key")
    seen: dict[Binding, list[str | int]] = {}
    for key, binding in located:
        if binding in seen:
            earlier = seen[binding]
            # A stack file's list says "item 0"; addresses by kind say which list: "cidrs[0]".
            tail = config.style.label(earlier)[len(config.style.label(["peers", name])) :].lstrip(".")
            what = f"item {earlier[-1]}" if isinstance(earlier[2], int) else tail
            raise config.error(key, f"{binding.value} repeats {what}")
        seen[binding] = key
    return tuple(binding for _, binding in located)


def _typed_binding(config: StackConfig, cloud: Cloud, key: list[str | int], kind: str, raw: str) -> Binding:
    """A value of one PeerAddresses list: valid as a binding, and of the kind the list holds."""
    binding = _binding(config, cloud, key, raw)
    want, family, described = PEER_KINDS[kind]
    if binding.kind != want or (family is not None and binding.family != family):
        hint = f"; bind everyone with {config.style.field('internet')}: true" if binding.kind == "internet" else ""
        described = described.replace("ipv6_cidrs", config.style.field("ipv6_cidrs"))
        what = "a network of the other address family" if want == "cidr" == binding.kind else _KIND_TEXT[binding.kind]
        raise config.error(key, f"{raw!r} is {what}; valid in {config.style.field(kind)}: {described}{hint}")
    return binding


_KIND_TEXT: dict[str, str] = {
    "cidr": "a network",
    "sg": "a security group id",
    "prefix-list": "a prefix list id",
    "service-tag": "a service tag",
    "asg": "an application security group id",
    "internet": "the whole internet",
}


def _binding_forms(cloud: Cloud) -> str:
    return "a CIDR such as 198.51.100.0/28, internet, " + (
        "sg-… or pl-… ids" if cloud == "aws" else "a service tag or an ASG resource id"
    )


# The keys that place resources in one cloud, and that cloud: set on the other cloud's stack, they are a mistake.
_PLACEMENT_CLOUD: dict[str, Cloud] = {"vpcId": "aws", "resourceGroupName": "azure", "location": "azure"}
_CLOUD_NAMES: dict[Cloud, str] = {"aws": "AWS", "azure": "Azure"}


def _check_cloud_keys(config: StackConfig, settings: StackSettings, given: Mapping[str, Any]) -> None:
    """A placement key of the other cloud (a stack copied from the other cloud's) is refused, never ignored."""
    for name in given:
        cloud = _PLACEMENT_CLOUD.get(to_camel(name))
        if cloud is None or cloud == settings.cloud:
            continue
        valid = " and ".join(config.style.field(k) for k, c in _PLACEMENT_CLOUD.items() if c == settings.cloud)
        raise config.error(
            [name],
            f"applies to {_CLOUD_NAMES[cloud]} stacks; this stack's {NAMESPACE}:cloud is {settings.cloud}; "
            f"valid on {settings.cloud}: {valid}",
        )


def _check_provider_config(config: StackConfig, others: Mapping[str, Any]) -> None:
    """The keys outside ``seawall:`` that seawall reads are validated too: a typo must not pick another region."""
    for key, value in others.items():
        namespace, _, name = key.partition(":")
        if namespace != "aws":
            continue
        if name not in aws_limits.PROVIDER_CONFIG_KEYS:
            near = sorted(k for k in aws_limits.PROVIDER_CONFIG_KEYS if k[:3].lower() == name[:3].lower())
            hint = f"did you mean aws:{near[0]}? " if near else ""
            raise config.error(
                [name], f"unknown key; {hint}valid: the pulumi-aws provider's keys, e.g. aws:region", "aws"
            )
        if name == "region" and value not in aws_limits.REGIONS:
            near = sorted(r for r in aws_limits.REGIONS if str(value).split("-")[0] == r.split("-")[0])
            valid = ", ".join(near or sorted(aws_limits.REGIONS))
            raise config.error([name], f"{value!r} is not an AWS region; valid: {valid}", "aws")


def _check_lists(config: StackConfig, settings: StackSettings) -> None:
    """A repeated item is a mistake (a typo for another item, most often): say which."""
    lists: dict[str, tuple[str, ...]] = {
        "features": settings.features,
        "roles": settings.roles or (),
        "internetEgress": settings.internet_egress,
        "allowPrivate": settings.allow_private,
    }
    for key, items in lists.items():
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            if item in first:
                raise config.error([key, index], f"{item!r} repeats item {first[item]}; list each once")
            first[item] = index
    for index, text in enumerate(settings.allow_private):
        if (zone := zone_id_problem(text)) is not None:
            raise config.error(["allowPrivate", index], zone)
        try:
            ipaddress.ip_network(text, strict=True)
        except ValueError:
            raise config.error(
                ["allowPrivate", index], f"{text!r} is not a canonical CIDR; valid: a network such as 10.0.0.0/8"
            ) from None


def _check_tags(config: StackConfig, settings: StackSettings) -> None:
    """seawall's own tags (``seawall:*``, ``Name``) are how audit finds a stack: a stack may not set them."""
    limits = aws_limits if settings.cloud == "aws" else azure_limits
    room = limits.MAX_TAGS_PER_RESOURCE - limits.SEAWALL_TAGS_PER_RESOURCE
    if len(settings.tags) > room:
        raise config.error(
            ["tags"],
            f"{len(settings.tags)} tags; valid: at most {room} ({settings.cloud} allows "
            f"{limits.MAX_TAGS_PER_RESOURCE} per resource and seawall sets up to {limits.SEAWALL_TAGS_PER_RESOURCE})",
        )
    for key, value in settings.tags.items():
        # Azure tag names are case-insensitive: Seawall:Stack is seawall:stack there.
        folded = key.lower() if settings.cloud == "azure" else key
        if folded.startswith(f"{NAMESPACE}:") or key == "Name":
            raise config.error(["tags", key], "is set by seawall (audit finds a stack by it); choose another key")
        if not key.strip():
            raise config.error(["tags", key], "an empty tag key; valid: a name such as owner")
        if len(key) > limits.MAX_TAG_KEY:
            raise config.error(["tags", key], f"key longer than {limits.MAX_TAG_KEY} characters")
        if len(value) > limits.MAX_TAG_VALUE:
            raise config.error(["tags", key], f"value longer than {limits.MAX_TAG_VALUE} characters")
        if settings.cloud == "aws" and key.lower().startswith(aws_limits.RESERVED_TAG_KEY_PREFIX):
            raise config.error(["tags", key], "keys starting with aws: are reserved by AWS")
        if settings.cloud == "azure" and azure_limits.TAG_KEY_FORBIDDEN.search(key):
            raise config.error(["tags", key], "Azure tag names may not contain < > % & \\ ? /")


def _binding(config: StackConfig, cloud: Cloud, key: list[str | int], raw: str) -> Binding:
    if raw == "internet":
        return Binding("internet", raw)
    if aws_limits.SECURITY_GROUP_ID.match(raw) or aws_limits.PREFIX_LIST_ID.match(raw):
        if cloud != "aws":
            raise config.error(key, f"{raw!r} is an AWS id; valid on azure: CIDR, service tag or ASG resource id")
        return Binding("sg" if raw.startswith("sg-") else "prefix-list", raw)
    if raw in azure_limits.INTERNET_TAGS:
        raise config.error(key, f"{raw!r} is the whole internet; write 'internet' to bind it on purpose")
    if raw in azure_limits.SERVICE_TAGS or azure_limits.ASG_ID.match(raw):
        if cloud != "azure":
            raise config.error(key, f"{raw!r} is an Azure name; valid on aws: CIDR, sg-… or pl-… id, internet")
        return Binding("service-tag" if raw in azure_limits.SERVICE_TAGS else "asg", raw)
    if (zone := zone_id_problem(raw)) is not None:
        raise config.error(key, zone)
    try:
        network = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        try:
            network = ipaddress.ip_network(raw, strict=False)
        except ValueError:
            raise config.error(key, f"{raw!r} is not a valid binding; valid: {_binding_forms(cloud)}") from None
        raise config.error(key, f"{raw!r} has host bits set; valid: {network} (the canonical network)") from None
    if "/" not in raw:
        raise config.error(key, f"{raw!r} needs a prefix length; valid: {network}")
    if network.prefixlen == 0:
        raise config.error(key, f"{raw!r} is the whole internet; write 'internet' to bind it on purpose")
    return Binding("cidr", str(network))


def _explain(error: Any, style: KeyStyle = FILE_KEYS, model: type[Any] | None = None) -> str:
    """A validation problem in seawall's words: what was given and what would be valid."""
    kind = error["type"]
    loc = error["loc"]
    given = _shown(error.get("input"))
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        owner = model or _model_at(loc[:-1])
        valid = ", ".join(sorted(style.field(n) for n in keys(owner)))
        where = f"{style.prefix.rstrip(':.')} keys" if owner is StackSettings else "keys here"
        return f"unknown key {loc[-1]!r}; valid {where}: {valid}"
    if kind == "missing":
        return "missing required key"
    if kind == "duplicate_key":
        return f"written twice, as {ctx['other']} and {loc[-1]}; write the setting once"
    if kind == "literal_error":
        return f"{given} is not valid; valid: {ctx['expected']}"
    if kind == "string_pattern_mismatch":
        return f"{given} is malformed; valid pattern: {ctx['pattern']}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{given} is not a boolean; valid: true or false (YAML booleans, not yes/no/1/0)"
    if kind in ("list_type", "tuple_type", "set_type", "iterable_type"):
        return f"{given} is not a list; valid: a list such as [a, b] (one item is still a list: [a])"
    if kind in ("string_type", "string_unicode"):
        return f"{given} is not text; valid: a string"
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        if "ge" in ctx and "le" in ctx:
            return f"{given} is not a whole number; valid: an integer from {ctx['ge']} to {ctx['le']}"
        return f"{given} is not a whole number; valid: an integer such as 60"
    if kind == "greater_than_equal":
        return f"{given} is too small; valid: {ctx['ge']} or more"
    if kind == "less_than_equal":
        return f"{given} is too large; valid: at most {ctx['le']}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return f"{given} is not a mapping; valid: keys with values, such as {{key: value}}"
    return f"{given} is not valid here ({error['msg']})"


def _model_at(loc: Sequence[Any]) -> type[Any]:
    """The record that owns the keys at ``loc`` (for the list of valid keys)."""
    model: type[Any] = StackSettings
    for part in loc:
        found = next((k.annotation for k in keys(model).values() if part in (k.name, k.alias)), None)
        if found is None or not is_record(found):
            break
        model = found
    return model


def _shown(value: Any, limit: int = 60) -> str:
    """A value as the error shows it: its repr, shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
