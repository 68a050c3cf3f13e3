"""Azure components: a topology's NSGs, application security groups and inline rules.

- :class:`AzureFirewall`: intent in, resources out (``seawall:index:AzureFirewall`` of
  the component package): the arguments are validated like a stack file, compiled
  and rendered here.
- :class:`AzureFirewallFromSpec`: the same resources from a specification rendered
  beforehand (``render_azure``), for Python programs; the shipped stack program uses
  it. Both register as ``seawall:index:AzureFirewall``.

No ``from __future__ import annotations`` here: Pulumi's analyzer reads these
annotations at run time to write the package schema.
"""

from collections.abc import Callable, Mapping
from typing import Any, NotRequired, TypedDict

import pulumi

from seawall.extras import require_extra

with require_extra("azure"):
    import pulumi_azure_native.network as network

from seawall.azure.render import AzurePeer, AzureRule, AzureSpec
from seawall.components import (
    SAME_NAMES,
    AddressSource,
    AzureQuotasArgs,
    Intent,
    Naming,
    PeerArgs,
    duplicate_error,
    read_intent,
)
from seawall.netaddr import sort_networks

FIREWALL = "seawall:index:AzureFirewall"


class AzureFirewallArgs(TypedDict):
    """Arguments of :class:`AzureFirewall`: the vocabulary of a stack file, as arguments."""

    topology: str
    """The deployment topology: ``dmz`` (gateway, optional exchange) or ``mss-distributed`` (parent, child)."""
    resource_group_name: pulumi.Input[str]
    """The resource group of the NSGs and application security groups (required)."""
    location: NotRequired[pulumi.Input[str]]
    """The Azure region, e.g. ``westeurope``; default: the resource group's."""
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
    """Also allow IPv6 (vendors' IPv6 addresses); default false."""
    name_prefix: NotRequired[str]
    """Prefix of every cloud name (``<prefix>-gateway-nsg``); default: the component's name. Unique per resource group."""
    tags: NotRequired[dict[str, str]]
    """Tags for every resource, beside seawall's own ``seawall:*`` tags."""
    addresses: NotRequired[AddressSource]
    """``lock`` (default): the IP-set lock given as ``lock`` plus documented addresses; ``documented``: only the latter."""
    lock: NotRequired[str]
    """The IP-set lock's content: the text of your project's ``ipsets.lock.json`` (``seawall.project_inputs("azure")`` in Python, ``fs.readFileSync(..., "utf8")`` in TypeScript, ``fn::readFile`` in YAML). Without it, only documented addresses, and a warning says so."""
    priorities: NotRequired[str]
    """The priority pins' content: the text of the ``priorities`` output of an earlier run, committed in your project as ``<stack>.priorities.json`` (``seawall.project_inputs("azure")`` in Python, ``fs.readFileSync(..., "utf8")`` in TypeScript, ``fn::readFile`` in YAML); adding or removing a rule then renumbers no other."""
    allow_private: NotRequired[list[str]]
    """Ranges outside public address space that vendor addresses may come from (internal hosts)."""
    quotas: NotRequired[AzureQuotasArgs]
    """Lower per-NSG limits than Azure's, if you want them."""


AZURE_ARG_KEYS = tuple(AzureFirewallArgs.__annotations__)


class AzureFirewall(pulumi.ComponentResource):
    """A mail-security topology's firewall on Azure, from intent: one NSG and one application security group per role.

    Rules are inline ``securityRules`` of the NSG (never standalone ``SecurityRule`` resources
    beside them); every NSG ends with deny-all rules at 4096. Priorities are stable when pinned:
    pass the ``priorities`` output of an earlier run back as the ``priorities`` input.
    """

    nsg_ids: pulumi.Output[dict[str, str]]
    """NSG id per role: associate it with the role's network interfaces (or their subnet)."""
    asg_ids: pulumi.Output[dict[str, str]]
    """Application security group id per role: put the role's network interfaces (IP configurations) in it."""
    priorities: pulumi.Output[dict[str, dict[str, dict[str, int]]]]
    """The allow rules' priorities (role, direction, rule name): commit them as ``<stack>.priorities.json``."""
    warnings: pulumi.Output[list[str]]
    """What the plan warns about: vendor services without addresses (denied), internet opt-ins, no IP-set lock."""

    def __init__(self, name: str, args: AzureFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FIREWALL, name, None, opts)
        intent, spec = read_intent(
            name,
            args,
            "azure",
            AZURE_ARG_KEYS,
            ("resource_group_name", "the resource group's name, e.g. group.name of your resources.ResourceGroup"),
            _check_rules,
        )
        nsgs, asgs = declare_azure(
            self, spec, intent.argument("resource_group_name"), intent.argument("location"), intent, intent.naming
        )
        self.nsg_ids = pulumi.Output.all(**{r: n.id for r, n in nsgs.items()})
        self.asg_ids = pulumi.Output.all(**{r: a.id for r, a in asgs.items()})
        self.priorities = pulumi.Output.from_input(spec.priorities())
        self.warnings = pulumi.Output.from_input(intent.warnings)
        for text in intent.warnings:
            pulumi.log.warn(text, resource=self)
        self.register_outputs(
            {"nsgIds": self.nsg_ids, "asgIds": self.asg_ids, "priorities": self.priorities, "warnings": self.warnings}
        )


def _check_rules(spec: AzureSpec, intent: Intent, real: Mapping[str, Any]) -> None:
    """At apply: a value known only then must not repeat another address of the same rule side."""
    for role in spec.roles:
        for rule in role.rules:
            for side in (rule.source, rule.destination):
                seen: dict[Any, str] = {}
                for text in side.values:
                    value = real.get(text, text)
                    if value in seen:
                        ours, other = (text, seen[value]) if text in real else (seen[value], text)
                        raise duplicate_error(intent, ours, value, rule.name, other)
                    seen[value] = text


class AzureFirewallFromSpecArgs(TypedDict):
    """Arguments of :class:`AzureFirewallFromSpec`."""

    spec: AzureSpec
    """The rendered specification (``seawall.azure.render.render_azure``); it carries resource group and location."""


class AzureFirewallFromSpec(pulumi.ComponentResource):
    """The resources of an Azure specification rendered beforehand (Python only; :class:`AzureFirewall` renders itself).

    Registers as ``seawall:index:AzureFirewall``: the shipped stack program uses it, and its URNs never move.
    """

    nsg_ids: pulumi.Output[dict[str, str]]
    """NSG id per role."""
    asg_ids: pulumi.Output[dict[str, str]]
    """Application security group id per role."""

    def __init__(self, name: str, args: AzureFirewallFromSpecArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FIREWALL, name, None, opts)
        spec = args["spec"]
        nsgs, asgs = declare_azure(self, spec, spec.resource_group_name, spec.location, None)
        self.nsg_ids = pulumi.Output.all(**{r: n.id for r, n in nsgs.items()})
        self.asg_ids = pulumi.Output.all(**{r: a.id for r, a in asgs.items()})
        self.register_outputs({"nsgIds": self.nsg_ids, "asgIds": self.asg_ids})


def declare_azure(
    parent: pulumi.ComponentResource,
    spec: AzureSpec,
    resource_group_name: pulumi.Input[str] | None,
    location: pulumi.Input[str] | None,
    intent: Intent | None,
    naming: Naming = SAME_NAMES,
) -> tuple[dict[str, network.NetworkSecurityGroup], dict[str, network.ApplicationSecurityGroup]]:
    """Declare a specification's ASGs and NSGs (rules inline) as children of ``parent``.

    With an ``intent``, values that stood in for ones known only at apply are replaced by those values.
    ``naming`` turns the spec's names into logical names (the cloud names stay the spec's).
    """
    value: Callable[[str], pulumi.Input[str]] = intent.value if intent is not None else (lambda text: text)
    asgs = {
        role.role: network.ApplicationSecurityGroup(
            naming.logical(role.asg_name),
            application_security_group_name=role.asg_name,
            resource_group_name=resource_group_name,
            location=location,
            tags=dict(role.tags),
            opts=naming.options(role.asg_name, parent),
        )
        for role in spec.roles
    }
    nsgs = {
        role.role: network.NetworkSecurityGroup(
            naming.logical(role.nsg_name),
            network_security_group_name=role.nsg_name,
            resource_group_name=resource_group_name,
            location=location,
            security_rules=[_rule(rule, asgs, value) for rule in role.rules],
            tags=dict(role.tags),
            opts=naming.options(role.nsg_name, parent),
        )
        for role in spec.roles
    }
    return nsgs, asgs


def _side(
    peer: AzurePeer,
    prefix: str,
    asgs: dict[str, network.ApplicationSecurityGroup],
    value: Callable[[str], pulumi.Input[str]],
) -> dict[str, Any]:
    if peer.kind == "any":
        return {f"{prefix}_address_prefix": "*"}
    if peer.kind == "service-tag":
        return {f"{prefix}_address_prefix": peer.values[0]}
    if peer.kind == "prefixes":
        if len(peer.values) == 1:
            return {f"{prefix}_address_prefix": value(peer.values[0])}
        return {f"{prefix}_address_prefixes": _in_order(peer.values, value, sort_networks)}
    key = f"{prefix}_application_security_groups"
    if peer.roles:
        return {key: [network.ApplicationSecurityGroupArgs(id=asgs[v].id) for v in peer.values]}
    ids = _in_order(peer.values, value, sorted)
    if isinstance(ids, pulumi.Output):
        return {key: ids.apply(lambda known: [network.ApplicationSecurityGroupArgs(id=i) for i in known])}
    return {key: [network.ApplicationSecurityGroupArgs(id=i) for i in ids]}


def _in_order(
    values: tuple[str, ...], value: Callable[[str], pulumi.Input[str]], order: Callable[[list[str]], Any]
) -> list[str] | pulumi.Output[list[str]]:
    """The rendered list, or, where values stood in for ones known only at apply, the real ones in the same order."""
    given = [value(v) for v in values]
    plain = [v for v in given if isinstance(v, str)]
    if len(plain) == len(given):
        return plain
    return pulumi.Output.all(*given).apply(lambda known: list(order(known)))


def _rule(
    rule: AzureRule, asgs: dict[str, network.ApplicationSecurityGroup], value: Callable[[str], pulumi.Input[str]]
) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=rule.name,
        priority=rule.priority,
        direction=rule.direction,
        access=rule.access,
        protocol=rule.protocol,
        source_port_range="*",
        destination_port_range=rule.destination_port_range,
        description=rule.description,
        **_side(rule.source, "source", asgs, value),
        **_side(rule.destination, "destination", asgs, value),
    )
