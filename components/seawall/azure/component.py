"""Azure component: a topology's NSGs, application security groups and inline rules."""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi
import pulumi_azure_native.network as network

from seawall.azure.render import AzurePeer, AzureRule, AzureSpec


class AzureFirewallArgs(TypedDict):
    """Arguments of :class:`AzureFirewall`."""

    spec: AzureSpec
    """The rendered specification (``seawall.azure.render.render_azure``); it carries resource group and location."""


class AzureFirewall(pulumi.ComponentResource):
    """A topology's firewall on Azure: one NSG and one application security group per role.

    Rules are inline ``securityRules`` of the NSG (never standalone ``SecurityRule``
    resources beside them). Attach each role's NSG and ASG to its network interfaces.
    """

    nsg_ids: pulumi.Output[dict[str, str]]
    """NSG id per role."""
    asg_ids: pulumi.Output[dict[str, str]]
    """Application security group id per role."""

    def __init__(self, name: str, args: AzureFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("seawall:index:AzureFirewall", name, None, opts)
        spec = args["spec"]
        child = pulumi.ResourceOptions(parent=self)
        asgs = {
            role.role: network.ApplicationSecurityGroup(
                role.asg_name,
                application_security_group_name=role.asg_name,
                resource_group_name=spec.resource_group_name,
                location=spec.location,
                tags=dict(role.tags),
                opts=child,
            )
            for role in spec.roles
        }
        nsgs = {
            role.role: network.NetworkSecurityGroup(
                role.nsg_name,
                network_security_group_name=role.nsg_name,
                resource_group_name=spec.resource_group_name,
                location=spec.location,
                security_rules=[_rule(rule, asgs) for rule in role.rules],
                tags=dict(role.tags),
                opts=child,
            )
            for role in spec.roles
        }
        self.nsg_ids = pulumi.Output.all(**{r: n.id for r, n in nsgs.items()})
        self.asg_ids = pulumi.Output.all(**{r: a.id for r, a in asgs.items()})
        self.register_outputs({"nsgIds": self.nsg_ids, "asgIds": self.asg_ids})


def _side(peer: AzurePeer, prefix: str, asgs: dict[str, network.ApplicationSecurityGroup]) -> dict[str, Any]:
    if peer.kind == "any":
        return {f"{prefix}_address_prefix": "*"}
    if peer.kind == "service-tag":
        return {f"{prefix}_address_prefix": peer.values[0]}
    if peer.kind == "prefixes":
        if len(peer.values) == 1:
            return {f"{prefix}_address_prefix": peer.values[0]}
        return {f"{prefix}_address_prefixes": list(peer.values)}
    ids = [asgs[v].id if peer.roles else v for v in peer.values]
    return {f"{prefix}_application_security_groups": [network.ApplicationSecurityGroupArgs(id=i) for i in ids]}


def _rule(rule: AzureRule, asgs: dict[str, network.ApplicationSecurityGroup]) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=rule.name,
        priority=rule.priority,
        direction=rule.direction,
        access=rule.access,
        protocol=rule.protocol,
        source_port_range="*",
        destination_port_range=rule.destination_port_range,
        description=rule.description,
        **_side(rule.source, "source", asgs),
        **_side(rule.destination, "destination", asgs),
    )
