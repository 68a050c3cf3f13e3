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

# --- Tags (EC2 "Tag restrictions") ---
MAX_TAGS_PER_RESOURCE = 50
# ipProtocol values whose fromPort/toPort are an ICMP type and code (-1: every one), not ports.
ICMP_PROTOCOLS = frozenset({"icmp", "icmpv6", "1", "58"})
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
RESERVED_TAG_KEY_PREFIX = "aws:"
# The tags seawall itself puts on each type of resource, beside the stack's seawall:tags; aws/render.py
# writes no other (it refuses to). A role's second, third, … security group also carries seawall:group.
SEAWALL_TAG_KEYS: dict[str, frozenset[str]] = {
    SECURITY_GROUP: frozenset(
        {"seawall:stack", "seawall:role", "seawall:topology", "seawall:product", "seawall:group", "Name"}
    ),
    INGRESS_RULE: frozenset({"seawall:stack", "seawall:role", "seawall:product", "seawall:entries"}),
    EGRESS_RULE: frozenset({"seawall:stack", "seawall:role", "seawall:product", "seawall:entries"}),
    PREFIX_LIST: frozenset({"seawall:stack", "seawall:service", "Name"}),
}
# The most of them on one resource, counted against the 50 with the stack's own tags.
SEAWALL_TAGS_PER_RESOURCE = max(len(keys) for keys in SEAWALL_TAG_KEYS.values())

# --- Stack config: the `aws:` keys pulumi-aws reads (its provider configuration), and the regions ---
# tests/test_stack_trust.py compares both lists with the installed pulumi-aws and botocore.
PROVIDER_CONFIG_KEYS = frozenset(
    {
        "accessKey",
        "allowedAccountIds",
        "assumeRoleWithWebIdentity",
        "assumeRoles",
        "customCaBundle",
        "defaultTags",
        "ec2MetadataServiceEndpoint",
        "ec2MetadataServiceEndpointMode",
        "endpoints",
        "forbiddenAccountIds",
        "httpProxy",
        "httpsProxy",
        "ignoreTags",
        "insecure",
        "maxRetries",
        "noProxy",
        "profile",
        "region",
        "retryMode",
        "s3UsEast1RegionalEndpoint",
        "s3UsePathStyle",
        "secretKey",
        "sharedConfigFiles",
        "sharedCredentialsFiles",
        "skipCredentialsValidation",
        "skipMetadataApiCheck",
        "skipRegionValidation",
        "skipRequestingAccountId",
        "stsRegion",
        "tagPolicyCompliance",
        "token",
        "tokenBucketRateLimiterCapacity",
        "useDualstackEndpoint",
        "useFipsEndpoint",
        "userAgents",
    }
)
REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "cn-north-1",
        "cn-northwest-1",
        "eu-central-1",
        "eu-central-2",
        "eu-isoe-west-1",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eusc-de-east-1",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-gov-east-1",
        "us-gov-west-1",
        "us-iso-east-1",
        "us-iso-west-1",
        "us-isob-east-1",
        "us-isob-west-1",
        "us-isof-east-1",
        "us-isof-south-1",
        "us-west-1",
        "us-west-2",
    }
)
