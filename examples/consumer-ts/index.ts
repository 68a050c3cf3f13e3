// A platform team's TypeScript program using seawall's component package.
//   pulumi package add <this repository>     # generates @pulumi/seawall with AwsFirewall, AzureFirewall, VendorPrefixList
//   seawall resolve                          # writes ./ipsets.lock.json, committed and reviewed
//   pulumi up
// The component opens no file: the program reads the lock (and, on Azure, the priority pins) and passes them in.
import * as fs from "fs";
import * as aws from "@pulumi/aws";
import * as seawall from "@pulumi/seawall";

const vpc = new aws.ec2.Vpc("mail", { cidrBlock: "10.20.0.0/16" });
const servers = new aws.ec2.Subnet("mail-servers", { vpcId: vpc.id, cidrBlock: "10.20.1.0/24" });

const firewall = new seawall.AwsFirewall("mail", {
    topology: "dmz",
    product: "clearswift-seg",
    features: ["sophos", "syslog"],
    vpcId: vpc.id,
    peers: {
        "internal-mail-servers": { cidrs: [servers.cidrBlock] },
        "dns-servers": { cidrs: ["10.20.0.2/32"] },
        "admin-clients": { cidrs: ["10.30.0.0/24"] },
        "syslog-server": { cidrs: ["10.20.1.20/32"] },
    },
    tags: { owner: "mail-platform" },
    lock: fs.readFileSync("ipsets.lock.json", "utf8"),
});

// On Azure, pass the pins committed from an earlier run's `priorities` output as well:
//   priorities: fs.readFileSync("prod.priorities.json", "utf8"),

export const gatewaySecurityGroups = firewall.securityGroupIds.apply(ids => ids["gateway"]);
export const warnings = firewall.warnings;
