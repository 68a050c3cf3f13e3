"""Both clouds' registered resources read back as :class:`~seawall.registered.RuleView` s."""

from __future__ import annotations

from collections.abc import Iterable

from seawall.aws.resources import aws_rule_flows, aws_rule_views, aws_service_sets, aws_vendor_addresses
from seawall.azure.resources import azure_rule_flows, azure_rule_views, azure_service_sets, azure_vendor_addresses
from seawall.registered import Resource, ResourceIndex, RuleFlow, RuleView, VendorAddresses


def rule_views(resources: Iterable[Resource] | ResourceIndex) -> list[RuleView]:
    """Every allow rule of both clouds' resources."""
    index = resources if isinstance(resources, ResourceIndex) else ResourceIndex(resources)
    return [*aws_rule_views(index), *azure_rule_views(index)]


def rule_flows(resources: Iterable[Resource] | ResourceIndex) -> list[RuleFlow]:
    """Every allow rule's flows, both clouds, without the far side's addresses (what a diff reads)."""
    index = resources if isinstance(resources, ResourceIndex) else ResourceIndex(resources)
    return [*aws_rule_flows(index), *azure_rule_flows(index)]


def service_sets(resources: Iterable[Resource] | ResourceIndex) -> dict[str, set[str]]:
    """Vendor service → the addresses the registered resources open for it (prefix lists, NSG prefixes)."""
    index = resources if isinstance(resources, ResourceIndex) else ResourceIndex(resources)
    out: dict[str, set[str]] = {}
    for service, addresses in (*aws_service_sets(index), *azure_service_sets(index)):
        out.setdefault(service, set()).update(addresses)
    return out


def vendor_addresses(resources: Iterable[Resource] | ResourceIndex) -> list[VendorAddresses]:
    """Every vendor service's registered addresses: AWS prefix lists, Azure vendor-service rules."""
    index = resources if isinstance(resources, ResourceIndex) else ResourceIndex(resources)
    return [*aws_vendor_addresses(index), *azure_vendor_addresses(index)]
