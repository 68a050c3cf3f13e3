"""AWS components: a topology's security groups, rules and vendor prefix lists."""

from __future__ import annotations

from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from seawall.aws.render import AwsPrefixList, AwsRule, AwsSpec


class VendorPrefixListArgs(TypedDict):
    """Arguments of :class:`VendorPrefixList`."""

    prefix_list: AwsPrefixList
    """The rendered list (``render_aws(...).prefix_lists``): name, family, ``max_entries``, entries, tags."""


class VendorPrefixList(pulumi.ComponentResource):
    """One vendor service's addresses of one family as a customer-managed prefix list."""

    prefix_list_id: pulumi.Output[str]
    """The ``pl-…`` id, for rules of your own."""

    def __init__(self, name: str, args: VendorPrefixListArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("seawall:index:VendorPrefixList", name, None, opts)
        spec = args["prefix_list"]
        plist = aws.ec2.ManagedPrefixList(
            name,  # one child: it takes the component's own name
            name=spec.list_name,
            address_family=spec.address_family,
            max_entries=spec.max_entries,
            entries=[aws.ec2.ManagedPrefixListEntryArgs(cidr=cidr, description=text) for cidr, text in spec.entries],
            tags=dict(spec.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.prefix_list_id = plist.id
        self.register_outputs({"prefixListId": self.prefix_list_id})


class AwsFirewallArgs(TypedDict):
    """Arguments of :class:`AwsFirewall`."""

    spec: AwsSpec
    """The rendered specification (``seawall.aws.render.render_aws``)."""
    vpc_id: NotRequired[pulumi.Input[str]]
    """The VPC of the security groups, e.g. your own ``aws.ec2.Vpc(...).id``; defaults to the spec's ``vpc_id``."""


class AwsFirewall(pulumi.ComponentResource):
    """A topology's firewall on AWS: one security group per role, one rule per peer, one prefix list per vendor service.

    Rules are standalone ``aws.vpc.SecurityGroupIngressRule``/``EgressRule`` resources (never inline),
    so adding or removing one never touches another. Child names come from the spec's semantic keys.
    """

    security_group_ids: pulumi.Output[dict[str, list[str]]]
    """Security group ids per role: attach every one of them to the role's network interfaces.

    A role whose rules do not fit one group's quota gets several (``dmz-gateway``, ``dmz-gateway-2``, …)."""
    prefix_list_ids: pulumi.Output[dict[str, str]]
    """Prefix-list id per vendor service and family (``kav-update-ipv4``)."""

    def __init__(self, name: str, args: AwsFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("seawall:index:AwsFirewall", name, None, opts)
        spec = args["spec"]
        vpc_id = args.get("vpc_id", spec.vpc_id)
        if vpc_id is None:
            raise ValueError("AwsFirewall needs a VPC: pass args['vpc_id'] or render the spec with a vpc_id")
        child = pulumi.ResourceOptions(parent=self)
        groups = {
            sg.name: aws.ec2.SecurityGroup(
                sg.name,
                name=sg.group_name,
                description=sg.description,
                vpc_id=vpc_id,
                revoke_rules_on_delete=True,
                tags=dict(sg.tags),
                opts=child,
            )
            for sg in spec.security_groups
        }
        # A rule that references a role references its first group: every interface of the role has it.
        first = {sg.role: groups[sg.name] for sg in spec.security_groups if sg.index == 1}
        lists = {pl.key: VendorPrefixList(pl.name, {"prefix_list": pl}, child) for pl in spec.prefix_lists}
        for rule in spec.rules:
            _rule(rule, groups, first, lists, child)
        roles = sorted({sg.role for sg in spec.security_groups})
        self.security_group_ids = pulumi.Output.all(
            **{role: pulumi.Output.all(*(groups[sg.name].id for sg in spec.groups_of(role))) for role in roles}
        )
        self.prefix_list_ids = pulumi.Output.all(**{key: pl.prefix_list_id for key, pl in lists.items()})
        self.register_outputs({"securityGroupIds": self.security_group_ids, "prefixListIds": self.prefix_list_ids})


def _rule(
    rule: AwsRule,
    groups: dict[str, aws.ec2.SecurityGroup],
    first: dict[str, aws.ec2.SecurityGroup],
    lists: dict[str, VendorPrefixList],
    opts: pulumi.ResourceOptions,
) -> None:
    peer = rule.peer
    target: dict[str, pulumi.Input[str]] = {}
    if peer.kind == "cidr_ipv4":
        target["cidr_ipv4"] = peer.value
    elif peer.kind == "cidr_ipv6":
        target["cidr_ipv6"] = peer.value
    elif peer.kind == "prefix_list":
        target["prefix_list_id"] = peer.value if peer.external else lists[peer.value].prefix_list_id
    else:
        target["referenced_security_group_id"] = peer.value if peer.external else first[peer.value].id
    resource = aws.vpc.SecurityGroupIngressRule if rule.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
    resource(
        rule.name,
        security_group_id=groups[rule.group].id,
        ip_protocol=rule.ip_protocol,
        from_port=rule.from_port,
        to_port=rule.to_port,
        description=rule.description,
        tags=dict(rule.tags),
        opts=opts,
        **target,
    )
