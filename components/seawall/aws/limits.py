"""AWS: every hard limit and default quota seawall knows, and the resource type tokens, in one place.

Sources: the Amazon VPC quotas page ("Security groups", "Managed prefix lists"),
the EC2 API reference for descriptions, and pulumi-aws's type tokens. Every
module that checks, counts or reads AWS resources imports these names.
"""

from __future__ import annotations

import re

# --- Pulumi type tokens of the resources seawall declares (and the one it must never mix in) ---
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"

# --- Security groups ---
# Default quota "Inbound or outbound rules per security group" (L-0EA8095F), counted per
# direction and per address family; a referenced prefix list counts its max entries.
DEFAULT_RULES_PER_SECURITY_GROUP = 60
# Default quota "Security groups per network interface" (L-2AFB9258); AWS allows at most 16.
DEFAULT_SECURITY_GROUPS_PER_ENI = 5
MAX_SECURITY_GROUPS_PER_ENI = 16
# Rules per group × groups per interface may not exceed 1,000.
MAX_RULES_TIMES_GROUPS_PER_ENI = 1000
MAX_RULES_PER_SECURITY_GROUP = 1000

# --- Descriptions (security groups, rules, prefix-list entries) ---
MAX_DESCRIPTION = 255
# The characters EC2 accepts: a-zA-Z0-9, spaces and ._-:/()#,@[]+=;{}!$*
DESCRIPTION_FORBIDDEN = re.compile(r"[^A-Za-z0-9 ._\-:/()#,@\[\]+=;{}!$*]")

# --- Customer-managed prefix lists ---
MAX_PREFIX_LIST_ENTRIES = 1000
RESERVED_PREFIX_LIST_PREFIX = "com.amazonaws"
# Room for a vendor to add addresses without replacing the list: 25% more, at least 2,
# capped by the account's maximum.
PREFIX_LIST_HEADROOM = 0.25
PREFIX_LIST_MIN_HEADROOM = 2

# --- Ids a site peer may be bound to ---
SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
PREFIX_LIST_ID = re.compile(r"^pl-([0-9a-f]{8}|[0-9a-f]{17})$")
VPC_ID_PATTERN = r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$"
