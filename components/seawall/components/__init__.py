"""Pulumi components: thin wrappers that turn rendered specs into resources.

Only this package and the stack program import ``pulumi``.
"""

from seawall.components.aws import AwsFirewall, AwsFirewallArgs, VendorPrefixList, VendorPrefixListArgs
from seawall.components.azure import AzureFirewall, AzureFirewallArgs

__all__ = [
    "AwsFirewall",
    "AwsFirewallArgs",
    "AzureFirewall",
    "AzureFirewallArgs",
    "VendorPrefixList",
    "VendorPrefixListArgs",
]
