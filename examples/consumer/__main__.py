"""A platform team's program: its own VPC and provider, seawall's firewall for a Clearswift gateway.

seawall never reads this project's config and never creates a provider: the
caller passes both in.
"""

import pulumi
import pulumi_aws as aws
from seawall import AwsFirewall, VendorPrefixList, compile_config, load_catalog, parse_config, render_aws_stack

provider = aws.Provider("eu-west-1", region="eu-west-1")
vpc = aws.ec2.Vpc("mail", cidr_block="10.20.0.0/16", opts=pulumi.ResourceOptions(provider=provider))

settings = parse_config(
    pulumi.get_stack(),
    {
        "seawall:topology": "dmz",
        "seawall:cloud": "aws",
        "seawall:product": "clearswift-seg",
        "seawall:features": ["sophos", "syslog"],
        "seawall:namePrefix": "mail",
        "seawall:peers": {
            "internal-mail-servers": ["10.20.1.10/32"],
            "dns-servers": ["10.20.0.2/32"],
            "admin-clients": ["10.30.0.0/24"],
            "syslog-server": ["10.20.1.20/32"],
        },
    },
    placement=False,  # the VPC comes from this program, below
)
spec = render_aws_stack(compile_config(settings, load_catalog()))
firewall = AwsFirewall("mail", {"spec": spec, "vpc_id": vpc.id}, pulumi.ResourceOptions(provider=provider))
# The stack's own prefix list for the Sophos mirrors, for rules of the team's own.
sophos = next(p for p in spec.prefix_lists if p.service == "sav-update")
mirrors = VendorPrefixList("team-sophos", {"prefix_list": sophos}, pulumi.ResourceOptions(provider=provider))

# Every group of the role: attach them all to the gateway's network interfaces.
pulumi.export("gatewaySecurityGroups", firewall.security_group_ids["gateway"])
pulumi.export("sophosPrefixList", mirrors.prefix_list_id)
