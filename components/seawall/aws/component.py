"""AWS components: a topology's security groups, rules and vendor prefix lists.

- :class:`AwsFirewall`: intent in, resources out. Topology, product, features and
  site peers as arguments, validated like a stack file, compiled and rendered here.
  It is the ``seawall:index:AwsFirewall`` of the component package (every language).
- :class:`VendorPrefixList`: one vendor service's addresses as a managed prefix list.
- :class:`AwsFirewallFromSpec` / :class:`VendorPrefixListFromSpec`: the same resources
  from a specification rendered beforehand (``render_aws``), for Python programs that
  render themselves; the shipped stack program uses them. They register under the
  same type tokens, so a stack's URNs do not depend on which front end built it.

No ``from __future__ import annotations`` here: the package's schema is read from
these annotations at run time by Pulumi's analyzer.
"""

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any, Literal, NotRequired, TypedDict

import pulumi

from seawall.extras import require_extra

with require_extra("aws"):
    import pulumi_aws as aws

from seawall.addresses.ipsets import IpSets, ipsets_from_lock
from seawall.aws.limits import MAX_DESCRIPTION, MAX_PREFIX_LIST_ENTRIES, RESERVED_PREFIX_LIST_PREFIX
from seawall.aws.render import AwsPrefixList, AwsRule, AwsSpec, prefix_list_max_entries
from seawall.catalog.load import load_catalog
from seawall.components import (
    SAME_NAMES,
    AddressSource,
    AwsQuotasArgs,
    FirewallArgsError,
    Intent,
    Naming,
    PeerArgs,
    duplicate_error,
    key_style,
    lock_input,
    normalise_args,
    read_intent,
    renamed,
)
from seawall.errors import UserError
from seawall.stackconfig import default_name_prefix
from seawall.text import ascii_description

FIREWALL = "seawall:index:AwsFirewall"
PREFIX_LIST = "seawall:index:VendorPrefixList"


class AwsFirewallArgs(TypedDict):
    """Arguments of :class:`AwsFirewall`: the vocabulary of a stack file, as arguments."""

    topology: str
    """The deployment topology: ``dmz`` (gateway, optional exchange) or ``mss-distributed`` (parent, child)."""
    vpc_id: pulumi.Input[str]
    """The VPC of the security groups, e.g. your ``aws.ec2.Vpc(...).id`` (required)."""
    product: NotRequired[str]
    """The vendor product: ``clearswift-seg``, ``clearswift-sxg`` or ``trendmicro-imss`` (needed where the topology takes several)."""
    features: NotRequired[list[str]]
    """Conditions the vendor documents state that your deployment meets, e.g. ``["kaspersky", "syslog"]``."""
    roles: NotRequired[list[str]]
    """Optional roles to add, e.g. ``["exchange"]`` (SXG only)."""
    peers: NotRequired[dict[str, PeerArgs]]
    """Every site peer the enabled entries need, bound to its addresses by kind: ``{"admin-clients": {"cidrs": [...]}}``."""
    internet_egress: NotRequired[list[str]]
    """Vendor services without addresses that may use the whole internet (an explicit, reported opt-in)."""
    ipv6: NotRequired[bool]
    """Also open ``::/0`` and vendors' IPv6 addresses; default false."""
    name_prefix: NotRequired[str]
    """Prefix of every cloud name (``<prefix>-gateway``); default: the component's name. Unique per VPC."""
    tags: NotRequired[dict[str, str]]
    """Tags for every resource, beside seawall's own ``seawall:*`` tags."""
    addresses: NotRequired[AddressSource]
    """``lock`` (default): the IP-set lock given as ``lock`` plus documented addresses; ``documented``: only the latter."""
    lock: NotRequired[str]
    """The IP-set lock's content: the text of your project's ``ipsets.lock.json`` (``seawall.project_inputs("aws")`` in Python, ``fs.readFileSync(..., "utf8")`` in TypeScript, ``fn::readFile`` in YAML). Without it, only documented addresses, and a warning says so."""
    allow_private: NotRequired[list[str]]
    """Ranges outside public address space that vendor addresses may come from (internal hosts)."""
    quotas: NotRequired[AwsQuotasArgs]
    """The account's VPC quotas, when raised above AWS's defaults."""


AWS_ARG_KEYS = tuple(AwsFirewallArgs.__annotations__)


class AwsFirewall(pulumi.ComponentResource):
    """A mail-security topology's firewall on AWS, from intent: security groups, one-peer rules, vendor prefix lists.

    Rules are standalone ``aws.vpc.SecurityGroupIngressRule`` / ``EgressRule`` resources
    (never inline), so adding or removing one never touches another; child names come
    from meaning (role, direction, protocol, ports, peer). Bad arguments stop the
    program with one line naming the argument.
    """

    security_group_ids: pulumi.Output[dict[str, list[str]]]
    """Security group ids per role: attach every one of them to the role's network interfaces.

    A role whose rules do not fit one group's quota gets several (``dmz-gateway``, ``dmz-gateway-2``, ...)."""
    prefix_list_ids: pulumi.Output[dict[str, list[str]]]
    """Managed prefix list ids per vendor service (each family, and each part of a split list), for rules of your own."""
    warnings: pulumi.Output[list[str]]
    """What the plan warns about: vendor services without addresses (denied), internet opt-ins, no IP-set lock."""

    def __init__(self, name: str, args: AwsFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FIREWALL, name, None, opts)
        intent, spec = read_intent(
            name, args, "aws", AWS_ARG_KEYS, ("vpc_id", "the VPC's id, e.g. vpc.id of your aws.ec2.Vpc"), _check_rules
        )
        groups, lists = declare_aws(self, spec, intent.argument("vpc_id"), intent, intent.naming)
        self.security_group_ids = _group_ids(spec, groups)
        by_service: dict[str, list[pulumi.Output[str]]] = {}
        for pl in spec.prefix_lists:
            by_service.setdefault(pl.service, []).append(lists[pl.key].prefix_list_id)
        self.prefix_list_ids = _mapping(
            {service: pulumi.Output.all(*ids) for service, ids in sorted(by_service.items())}
        )
        self.warnings = pulumi.Output.from_input(intent.warnings)
        for text in intent.warnings:
            pulumi.log.warn(text, resource=self)
        self.register_outputs(
            {
                "securityGroupIds": self.security_group_ids,
                "prefixListIds": self.prefix_list_ids,
                "warnings": self.warnings,
            }
        )


def _check_rules(spec: AwsSpec, intent: Intent, real: Mapping[str, Any]) -> None:
    """At apply: a value known only then must not repeat another peer of the same rule (AWS refuses duplicates)."""
    seen: dict[tuple[Any, ...], str] = {}
    for rule in spec.rules:
        value = real.get(rule.peer.value, rule.peer.value)
        key = (rule.group, rule.direction, rule.ip_protocol, rule.from_port, rule.to_port, rule.peer.kind, value)
        if key in seen:
            # One of the two stood in for a value known only at apply: plain ones are merged when rendering.
            ours, other = (rule.peer.value, seen[key]) if rule.peer.value in real else (seen[key], rule.peer.value)
            raise duplicate_error(intent, ours, value, rule.name, other)
        seen[key] = rule.peer.value


class VendorPrefixListArgs(TypedDict):
    """Arguments of :class:`VendorPrefixList`."""

    product: str
    """The vendor product whose catalogue names the service: ``clearswift-seg``, ``clearswift-sxg``, ``trendmicro-imss``."""
    service: str
    """The vendor service, e.g. ``kav-update`` (``seawall catalog`` lists them)."""
    ipv6: NotRequired[bool]
    """The service's IPv6 addresses instead of its IPv4 ones; default false."""
    name_prefix: NotRequired[str]
    """Prefix of the list's name (``<prefix>-<product>-<service>-ipv4``); default: the component's name."""
    tags: NotRequired[dict[str, str]]
    """Tags for the list, beside seawall's own."""
    addresses: NotRequired[AddressSource]
    """``lock`` (default): the IP-set lock given as ``lock`` plus documented addresses; ``documented``: only the latter."""
    lock: NotRequired[str]
    """The IP-set lock's content (the text of ``ipsets.lock.json``), as for ``AwsFirewall``; without it, documented only."""
    allow_private: NotRequired[list[str]]
    """Ranges outside public address space that the service's addresses may come from."""
    max_entries: NotRequired[int]
    """The account's most entries per prefix list (the list keeps headroom below it); default 1000."""


class VendorPrefixList(pulumi.ComponentResource):
    """One vendor service's addresses of one family as a customer-managed prefix list, for rules of your own."""

    prefix_list_id: pulumi.Output[str]
    """The ``pl-…`` id, for rules of your own."""
    cidrs: pulumi.Output[list[str]]
    """The addresses in the list."""

    def __init__(self, name: str, args: VendorPrefixListArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PREFIX_LIST, name, None, opts)
        spec = vendor_prefix_list(name, args)
        plist = _prefix_list(self, name, spec)
        self.prefix_list_id = plist.id
        self.cidrs = pulumi.Output.from_input([cidr for cidr, _ in spec.entries])
        self.register_outputs({"prefixListId": self.prefix_list_id, "cidrs": self.cidrs})


def vendor_prefix_list(name: str, args: VendorPrefixListArgs) -> AwsPrefixList:
    """The rendered list of one vendor service, or one line naming the argument that is wrong."""
    style = key_style()
    given = normalise_args(args, tuple(VendorPrefixListArgs.__annotations__), None, style)
    for key, value in given.items():
        if key != "lock" and isinstance(value, pulumi.Output):
            raise FirewallArgsError(f"{style.label([key])}: must be known when the program runs; pass a plain value")
    lock = lock_input(given.get("lock"), style)
    try:
        catalog = load_catalog(None)
        product = catalog.product(str(given["product"]))
    except KeyError:
        raise FirewallArgsError(f"{style.label(['product'])}: missing required argument") from None
    except UserError as exc:
        raise FirewallArgsError(f"{style.label(['product'])}: {exc.message}") from None
    service = str(given.get("service", ""))
    if service not in product.services:
        valid = ", ".join(sorted(product.services))
        raise FirewallArgsError(f"{style.label(['service'])}: unknown vendor service {service!r}; valid: {valid}")
    source = AddressSource(given.get("addresses", AddressSource.LOCK))
    allow = tuple(given.get("allow_private", ()))
    try:
        networks = tuple(ipaddress.ip_network(text) for text in allow)
    except ValueError as exc:
        raise FirewallArgsError(
            f"{style.label(['allow_private'])}: {exc}; valid: networks such as 10.0.0.0/8"
        ) from None
    try:
        if source is AddressSource.LOCK and lock is not None:
            ipsets = ipsets_from_lock(catalog, lock, networks)
        else:
            ipsets = IpSets.documented(catalog, networks)
    except UserError as exc:
        raise FirewallArgsError(str(exc)) from None
    version = 6 if given.get("ipv6", False) else 4
    found = ipsets.get(product.product, service).family(version)
    if not found:
        raise FirewallArgsError(
            f"{style.label(['service'])}: {service} has no IPv{version} addresses to list (denied, never the internet); "
            "run seawall resolve, or choose another service or family"
        )
    limit = int(given.get("max_entries", MAX_PREFIX_LIST_ENTRIES))
    if not 1 <= limit <= MAX_PREFIX_LIST_ENTRIES or len(found) > limit:
        raise FirewallArgsError(
            f"{style.label(['max_entries'])}: {len(found)} addresses need at most {limit} entries; "
            f"valid: {len(found)} to {MAX_PREFIX_LIST_ENTRIES}"
        )
    prefix = str(given.get("name_prefix") or default_name_prefix(name))
    family: Literal["IPv4", "IPv6"] = "IPv6" if version == 6 else "IPv4"
    list_name = f"{prefix}-{product.product}-{service}-{family.lower()}"
    if list_name.startswith(RESERVED_PREFIX_LIST_PREFIX):
        raise FirewallArgsError(
            f"{style.label(['name_prefix'])}: names may not start with {RESERVED_PREFIX_LIST_PREFIX}"
        )
    source_text = ipsets.get(product.product, service).source
    tags = {
        **{str(k): str(v) for k, v in dict(given.get("tags", {})).items()},
        "seawall:service": f"{product.product}/{service}",
        "Name": list_name,
    }
    return AwsPrefixList(
        key=f"{service}-{family.lower()}",
        service=service,
        name=name,
        list_name=list_name,
        address_family=family,
        max_entries=prefix_list_max_entries(len(found), limit),
        entries=tuple((n, ascii_description(f"{service} ({source_text})", MAX_DESCRIPTION)) for n in found),
        tags=tuple(sorted(tags.items())),
    )


class AwsFirewallFromSpecArgs(TypedDict):
    """Arguments of :class:`AwsFirewallFromSpec`."""

    spec: AwsSpec
    """The rendered specification (``seawall.aws.render.render_aws``)."""
    vpc_id: NotRequired[pulumi.Input[str]]
    """The VPC of the security groups, e.g. your own ``aws.ec2.Vpc(...).id``; defaults to the spec's ``vpc_id``."""


class AwsFirewallFromSpec(pulumi.ComponentResource):
    """The resources of an AWS specification rendered beforehand (Python only; :class:`AwsFirewall` renders itself).

    Registers as ``seawall:index:AwsFirewall``: the shipped stack program uses it, and its URNs never move.
    """

    security_group_ids: pulumi.Output[dict[str, list[str]]]
    """Security group ids per role: attach every one of them to the role's network interfaces."""
    prefix_list_ids: pulumi.Output[dict[str, str]]
    """Prefix-list id per vendor service and family (``kav-update-ipv4``)."""

    def __init__(self, name: str, args: AwsFirewallFromSpecArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FIREWALL, name, None, opts)
        spec = args["spec"]
        vpc_id = args.get("vpc_id", spec.vpc_id)
        if vpc_id is None:
            raise FirewallArgsError("args.vpc_id: missing; pass the VPC or render the spec with a vpc_id")
        groups, lists = declare_aws(self, spec, vpc_id, None)
        self.security_group_ids = _group_ids(spec, groups)
        self.prefix_list_ids = _mapping({key: pl.prefix_list_id for key, pl in lists.items()})
        self.register_outputs({"securityGroupIds": self.security_group_ids, "prefixListIds": self.prefix_list_ids})


class VendorPrefixListFromSpecArgs(TypedDict):
    """Arguments of :class:`VendorPrefixListFromSpec`."""

    prefix_list: AwsPrefixList
    """The rendered list (``render_aws(...).prefix_lists``): name, family, ``max_entries``, entries, tags."""


class VendorPrefixListFromSpec(pulumi.ComponentResource):
    """One rendered vendor prefix list (Python only); registers as ``seawall:index:VendorPrefixList``."""

    prefix_list_id: pulumi.Output[str]
    """The ``pl-…`` id, for rules of your own."""

    def __init__(
        self,
        name: str,
        args: VendorPrefixListFromSpecArgs,
        opts: pulumi.ResourceOptions | None = None,
        aliases: list[pulumi.Alias] | None = None,
    ) -> None:
        super().__init__(PREFIX_LIST, name, None, opts)
        self.prefix_list_id = _prefix_list(self, name, args["prefix_list"], aliases).id
        self.register_outputs({"prefixListId": self.prefix_list_id})


def _prefix_list(
    parent: pulumi.ComponentResource, name: str, spec: AwsPrefixList, aliases: list[pulumi.Alias] | None = None
) -> aws.ec2.ManagedPrefixList:
    return aws.ec2.ManagedPrefixList(
        name,  # one child: it takes the component's own name (and its aliases)
        name=spec.list_name,
        address_family=spec.address_family,
        max_entries=spec.max_entries,
        entries=[aws.ec2.ManagedPrefixListEntryArgs(cidr=cidr, description=text) for cidr, text in spec.entries],
        tags=dict(spec.tags),
        opts=pulumi.ResourceOptions(parent=parent, aliases=aliases or None),
    )


def declare_aws(
    parent: pulumi.ComponentResource,
    spec: AwsSpec,
    vpc_id: pulumi.Input[str] | None,
    intent: Intent | None,
    naming: Naming = SAME_NAMES,
) -> tuple[dict[str, aws.ec2.SecurityGroup], dict[str, VendorPrefixListFromSpec]]:
    """Declare a specification's groups, prefix lists and rules as children of ``parent``.

    With an ``intent``, values that stood in for ones known only at apply are replaced by
    those values (checked first) and their rules named by the value's name. ``naming`` turns
    the spec's names into the children's logical names (with aliases to the names they had).
    """
    groups = {
        sg.name: aws.ec2.SecurityGroup(
            naming.logical(sg.name),
            name=sg.group_name,
            description=sg.description,
            vpc_id=vpc_id,
            revoke_rules_on_delete=True,
            tags=dict(sg.tags),
            opts=naming.options(sg.name, parent),
        )
        for sg in spec.security_groups
    }
    # A rule that references a role references its first group: every interface of the role has it.
    first = {sg.role: groups[sg.name] for sg in spec.security_groups if sg.index == 1}
    lists = {
        pl.key: VendorPrefixListFromSpec(
            naming.logical(pl.name), {"prefix_list": pl}, naming.options(pl.name, parent), naming.aliases(pl.name)
        )
        for pl in spec.prefix_lists
    }
    value: Callable[[str], pulumi.Input[str]] = intent.value if intent is not None else (lambda text: text)
    for rule in spec.rules:
        name = renamed(rule.name, rule.peer.key, rule.peer.value, intent) if intent is not None else rule.name
        _rule(rule, naming.logical(name), groups, first, lists, value, naming.options(name, parent))
    return groups, lists


def _group_ids(spec: AwsSpec, groups: dict[str, aws.ec2.SecurityGroup]) -> pulumi.Output[dict[str, list[str]]]:
    roles = sorted({sg.role for sg in spec.security_groups})
    return pulumi.Output.all(
        **{role: pulumi.Output.all(*(groups[sg.name].id for sg in spec.groups_of(role))) for role in roles}
    )


def _rule(
    rule: AwsRule,
    name: str,
    groups: dict[str, aws.ec2.SecurityGroup],
    first: dict[str, aws.ec2.SecurityGroup],
    lists: dict[str, VendorPrefixListFromSpec],
    value: Callable[[str], pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    peer = rule.peer
    target: dict[str, pulumi.Input[str]] = {}
    if peer.kind == "cidr_ipv4":
        target["cidr_ipv4"] = value(peer.value)
    elif peer.kind == "cidr_ipv6":
        target["cidr_ipv6"] = value(peer.value)
    elif peer.kind == "prefix_list":
        target["prefix_list_id"] = value(peer.value) if peer.external else lists[peer.value].prefix_list_id
    else:
        target["referenced_security_group_id"] = value(peer.value) if peer.external else first[peer.value].id
    resource = aws.vpc.SecurityGroupIngressRule if rule.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
    return resource(
        name,
        security_group_id=groups[rule.group].id,
        ip_protocol=rule.ip_protocol,
        from_port=rule.from_port,
        to_port=rule.to_port,
        description=rule.description,
        tags=dict(rule.tags),
        opts=opts,
        **target,
    )


def _mapping(values: dict[str, Any]) -> pulumi.Output[Any]:
    """``Output.all(**values)``, but ``{}`` when there is nothing (``Output.all()`` of nothing is a list)."""
    return pulumi.Output.all(**values) if values else pulumi.Output.from_input({})
