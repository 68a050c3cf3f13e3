"""Azure: every hard limit seawall knows, the service tags it accepts, and the resource type tokens.

Sources: "Azure subscription and service limits: Networking", the NSG
security-rule REST reference, and pulumi-azure-native's type tokens. Every
module that checks, counts or reads Azure resources imports these names.
"""

from __future__ import annotations

import re

# --- Pulumi type tokens ---
NETWORK_SECURITY_GROUP = "azure-native:network:NetworkSecurityGroup"
APPLICATION_SECURITY_GROUP = "azure-native:network:ApplicationSecurityGroup"
STANDALONE_SECURITY_RULE = "azure-native:network:SecurityRule"

# --- Priorities: 100-4096 per NSG and direction; seawall closes each band with deny-all at 4096 ---
FIRST_PRIORITY = 100
LAST_ALLOW_PRIORITY = 4095
DENY_ALL_PRIORITY = 4096

# --- Rules ---
MAX_RULE_NAME = 80
RULE_NAME = re.compile(r"^\w([\w.-]{0,78}\w)?$")
MAX_DESCRIPTION = 140
MAX_ASGS_PER_RULE = 10
MAX_ASGS_PER_NSG = 100
MAX_SERVICE_TAGS_PER_RULE = 1
MAX_RULES_PER_NSG = 1000
MAX_PREFIXES_PER_NSG = 4000  # source and destination prefixes, each

# Service tags seawall accepts as a site-peer binding (one per rule).
SERVICE_TAGS = frozenset(
    {
        "VirtualNetwork",
        "AzureLoadBalancer",
        "Internet",
        "AzureCloud",
        "AzureMonitor",
        "Storage",
        "Sql",
        "AzureActiveDirectory",
    }
)
# A rule side that stands for every address.
ANY_ADDRESS = frozenset({"*", "Internet", "0.0.0.0/0", "::/0", "Any"})

ASG_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[\w.()-]{1,90}/providers/"
    r"Microsoft\.Network/applicationSecurityGroups/[\w.-]{1,80}$"
)

# A site peer bound to one of these tags is bound to the whole internet: it must be written `internet`.
INTERNET_TAGS = frozenset({"Internet"})

# --- Tags ("Tag resources, resource groups, and subscriptions": limitations) ---
MAX_TAGS_PER_RESOURCE = 50
MAX_TAG_KEY = 512
MAX_TAG_VALUE = 256
TAG_KEY_FORBIDDEN = re.compile(r"[<>%&\\?/]")
# seawall:stack, :role, :topology and :product on an NSG or ASG.
SEAWALL_TAGS_PER_RESOURCE = 4
