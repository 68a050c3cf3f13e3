"""seawall: vendor mail-security port requirements as cloud firewalls.

The pure layers (catalogue, topologies, flows, renderers) import no Pulumi. The
components are exported here too, but loaded only when first used, so that
``import seawall`` stays light for tools that never declare resources.

    from seawall import load_catalog, parse_config, compile_config, render_aws_stack, AwsFirewall
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seawall.catalog import load_catalog
from seawall.flows import compile_flows
from seawall.render.aws import render_aws
from seawall.render.azure import render_azure
from seawall.stack import compile_config, compile_stack, render_aws_stack, render_azure_stack
from seawall.stackconfig import parse_config

if TYPE_CHECKING:
    from seawall.components import (
        AwsFirewall,
        AwsFirewallArgs,
        AzureFirewall,
        AzureFirewallArgs,
        VendorPrefixList,
        VendorPrefixListArgs,
    )

__version__ = "0.1.0"

_COMPONENTS = {
    "AwsFirewall",
    "AwsFirewallArgs",
    "AzureFirewall",
    "AzureFirewallArgs",
    "VendorPrefixList",
    "VendorPrefixListArgs",
}


def __getattr__(name: str) -> Any:
    if name in _COMPONENTS:
        from seawall import components

        return getattr(components, name)
    raise AttributeError(f"module 'seawall' has no attribute {name!r}")


__all__ = [
    "AwsFirewall",
    "AwsFirewallArgs",
    "AzureFirewall",
    "AzureFirewallArgs",
    "VendorPrefixList",
    "VendorPrefixListArgs",
    "compile_config",
    "compile_flows",
    "compile_stack",
    "load_catalog",
    "parse_config",
    "render_aws",
    "render_aws_stack",
    "render_azure",
    "render_azure_stack",
]
