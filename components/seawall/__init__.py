"""seawall: vendor mail-security port requirements as cloud firewalls.

The pure layers (catalogue, topologies, flows, renderers) import no Pulumi. The
components are exported here too, but loaded only when first used, so that
``import seawall`` stays light for tools that never declare resources.

    from seawall import load_catalog, parse_config, compile_config, render_aws_stack, AwsFirewall
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from seawall.aws.render import render_aws
from seawall.azure.render import render_azure
from seawall.catalog import load_catalog
from seawall.flows import compile_flows
from seawall.stack import compile_config, compile_stack, render_aws_stack, render_azure_stack
from seawall.stackconfig import parse_config

if TYPE_CHECKING:
    from seawall.aws.component import AwsFirewall, AwsFirewallArgs, VendorPrefixList, VendorPrefixListArgs
    from seawall.azure.component import AzureFirewall, AzureFirewallArgs

__version__ = "0.1.0"

# The components import pulumi: each is loaded from its cloud's package on first use.
_COMPONENTS = {
    "AwsFirewall": "seawall.aws.component",
    "AwsFirewallArgs": "seawall.aws.component",
    "VendorPrefixList": "seawall.aws.component",
    "VendorPrefixListArgs": "seawall.aws.component",
    "AzureFirewall": "seawall.azure.component",
    "AzureFirewallArgs": "seawall.azure.component",
}


def __getattr__(name: str) -> Any:
    if name in _COMPONENTS:
        return getattr(import_module(_COMPONENTS[name]), name)
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
