"""seawall: vendor mail-security port requirements as cloud firewalls.

The pure layers (catalogue, topologies, flows, renderers) import no Pulumi. What is
exported here is loaded only when first used, so that ``import seawall`` costs
nothing and a tool pays only for the layers it uses.

    from seawall import AwsFirewall        # intent in, resources out: AwsFirewall("mail", {"topology": "dmz", ...})
    from seawall import project_inputs     # the project's lock and pins as inputs: {**args, **project_inputs("aws")}
    from seawall import load_catalog, parse_config, compile_config, render_aws_stack, AwsFirewallFromSpec
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seawall.aws.component import (
        AwsFirewall,
        AwsFirewallArgs,
        AwsFirewallFromSpec,
        AwsFirewallFromSpecArgs,
        VendorPrefixList,
        VendorPrefixListArgs,
        VendorPrefixListFromSpec,
        VendorPrefixListFromSpecArgs,
    )
    from seawall.aws.render import render_aws
    from seawall.azure.component import (
        AzureFirewall,
        AzureFirewallArgs,
        AzureFirewallFromSpec,
        AzureFirewallFromSpecArgs,
    )
    from seawall.azure.render import render_azure
    from seawall.catalog import load_catalog
    from seawall.components import AddressSource, AwsQuotasArgs, AzureQuotasArgs, FirewallArgsError, PeerArgs
    from seawall.extras import MissingExtra
    from seawall.flows import compile_flows
    from seawall.project import project_inputs
    from seawall.stack import compile_config, compile_stack, render_aws_stack, render_azure_stack
    from seawall.stackconfig import parse_config

__version__ = "0.1.0"

# Everything is loaded on first use: the components import pulumi, and a command that imports
# one module of the package (seawall plan of an AWS stack needs no Azure renderer) pays for no other.
_EXPORTS = {
    "render_aws": "seawall.aws.render",
    "render_azure": "seawall.azure.render",
    "load_catalog": "seawall.catalog",
    "compile_flows": "seawall.flows",
    **dict.fromkeys(("compile_config", "compile_stack", "render_aws_stack", "render_azure_stack"), "seawall.stack"),
    "parse_config": "seawall.stackconfig",
    "project_inputs": "seawall.project",
    "MissingExtra": "seawall.extras",
    **dict.fromkeys(
        (
            "AwsFirewall",
            "AwsFirewallArgs",
            "AwsFirewallFromSpec",
            "AwsFirewallFromSpecArgs",
            "VendorPrefixList",
            "VendorPrefixListArgs",
            "VendorPrefixListFromSpec",
            "VendorPrefixListFromSpecArgs",
        ),
        "seawall.aws.component",
    ),
    **dict.fromkeys(
        ("AzureFirewall", "AzureFirewallArgs", "AzureFirewallFromSpec", "AzureFirewallFromSpecArgs"),
        "seawall.azure.component",
    ),
    **dict.fromkeys(
        ("AddressSource", "AwsQuotasArgs", "AzureQuotasArgs", "FirewallArgsError", "PeerArgs"), "seawall.components"
    ),
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'seawall' has no attribute {name!r}")


__all__ = [
    "AddressSource",
    "AwsFirewall",
    "AwsFirewallArgs",
    "AwsFirewallFromSpec",
    "AwsFirewallFromSpecArgs",
    "AwsQuotasArgs",
    "AzureFirewall",
    "AzureFirewallArgs",
    "AzureFirewallFromSpec",
    "AzureFirewallFromSpecArgs",
    "AzureQuotasArgs",
    "FirewallArgsError",
    "MissingExtra",
    "PeerArgs",
    "VendorPrefixList",
    "VendorPrefixListArgs",
    "VendorPrefixListFromSpec",
    "VendorPrefixListFromSpecArgs",
    "compile_config",
    "compile_flows",
    "compile_stack",
    "load_catalog",
    "parse_config",
    "project_inputs",
    "render_aws",
    "render_aws_stack",
    "render_azure",
    "render_azure_stack",
]
