"""A platform team's program: its own VPC, subnet and provider, and seawall's firewall for a Clearswift gateway.

One call, intent in, resources out. seawall never reads this project's config or
files and never creates a provider: the caller passes them in. ``project_inputs``
reads this project's IP-set lock (``ipsets.lock.json``, written by ``seawall resolve``)
into the ``lock`` input. The internal mail servers' subnet is this program's own
resource, so its CIDR is known only at apply; seawall validates it then, with the
error a plain value would get.
"""

import pulumi
import pulumi_aws as aws
from seawall import AwsFirewall, VendorPrefixList, project_inputs

provider = aws.Provider("eu-west-1", region="eu-west-1")
opts = pulumi.ResourceOptions(provider=provider)
vpc = aws.ec2.Vpc("mail", cidr_block="10.20.0.0/16", opts=opts)
servers = aws.ec2.Subnet("mail-servers", vpc_id=vpc.id, cidr_block="10.20.1.0/24", opts=opts)

firewall = AwsFirewall(
    "mail",
    {
        "topology": "dmz",
        "product": "clearswift-seg",
        "features": ["sophos", "syslog"],
        "name_prefix": "mail",
        "vpc_id": vpc.id,
        "peers": {
            "internal-mail-servers": {"cidrs": [servers.cidr_block]},
            "dns-servers": {"cidrs": ["10.20.0.2/32"]},
            "admin-clients": {"cidrs": ["10.30.0.0/24"]},
            "syslog-server": {"cidrs": ["10.20.1.20/32"]},
        },
        "tags": {"owner": "mail-platform"},
        **project_inputs("aws"),  # {"lock": <the text of ./ipsets.lock.json>} when the project has one
    },
    opts,
)
# The Sophos mirrors as a prefix list of the team's own, for rules of its own.
mirrors = VendorPrefixList(
    "team-sophos", {"product": "clearswift-seg", "service": "sav-update", **project_inputs("aws")}, opts
)

# Every group of the role: attach them all to the gateway's network interfaces,
# e.g. aws.ec2.Instance(..., vpc_security_group_ids=firewall.security_group_ids["gateway"]).
pulumi.export("gatewaySecurityGroups", firewall.security_group_ids["gateway"])
pulumi.export("sophosPrefixList", mirrors.prefix_list_id)
pulumi.export("warnings", firewall.warnings)
