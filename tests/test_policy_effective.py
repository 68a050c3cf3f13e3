"""Policy sees what the cloud will see: rules judged by their effective addresses, and vendor addresses checked.

Each test plans a shipped stack, tampers with the plan as a hand-edited lock or a
hand-written plan would, and asserts the exact findings of `seawall check`'s
library call and of the CrossGuard pack.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
from conftest import CATALOG_DIR, REPO
from pulumi_policy import PolicyResource, PolicyResourceOptions, StackValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy
from seawall.analysis.policy import RULES, Resource, check_resources, check_stack
from seawall.analysis.ruleviews import rule_views
from seawall.aws.limits import EGRESS_RULE, INGRESS_RULE, PREFIX_LIST, SECURITY_GROUP
from seawall.catalog import load_catalog
from seawall.preview.crossguard import validate
from seawall.preview.plan import plan_stack
from seawall.registered import REFERENCE

CATALOG = load_catalog(CATALOG_DIR)
STACKS = REPO / "stacks"
SHIPPED = ["dmz-aws", "dmz-azure", "mss-distributed-aws", "mss-distributed-azure"]

KAV_LIST = "dmz-kav-update-ipv4-pl"
KAV_RULE = "dmz-gateway-out-tcp-80-svc-kav-update-ipv4"
NSG = "dmz-gateway-nsg"
KAV_NSG_RULE = "out-tcp-80-svc-kav-update-ipv4"
SSH_RULE = "dmz-gateway-in-tcp-22-cidr-198.51.100.0-28"
SSH_NSG_RULE = "in-tcp-22-site-admin-clients-ipv4"
EGRESS = "internet-egress-opted-in"
PLAUSIBLE = "vendor-addresses-plausible"
DNS_NETWORK = "is a network, but a DNS answer is a single address; valid: /32"

Finding = tuple[str, str, str]  # (rule, resource, message)


@cache
def _planned(stack: str) -> tuple[Resource, ...]:
    return tuple(Resource(r.type, r.name, r.urn, r.inputs) for r in plan_stack(stack, STACKS).resources)


def plan(stack: str) -> list[dict[str, Any]]:
    """A stack's plan as editable JSON-like resources."""
    return [
        {"type": r.type, "name": r.name, "urn": r.urn, "inputs": copy.deepcopy(dict(r.inputs))} for r in _planned(stack)
    ]


def findings(resources: list[dict[str, Any]], **kwargs: Any) -> list[Finding]:
    found = check_resources([Resource.from_json(r) for r in resources], CATALOG, **kwargs)
    return [(v.rule, v.resource, v.message) for v in found]


def find(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in resources if r["name"] == name)


def nsg_rule(resources: list[dict[str, Any]], nsg: str, rule: str) -> dict[str, Any]:
    rules: list[dict[str, Any]] = find(resources, nsg)["inputs"]["securityRules"]
    return next(r for r in rules if r["name"] == rule)


def set_kav_list(resources: list[dict[str, Any]], cidrs: list[str]) -> None:
    """What a tampered lock puts into the kav-update prefix list."""
    find(resources, KAV_LIST)["inputs"]["entries"] = [{"cidr": c, "description": "kav-update (lock)"} for c in cidrs]


def set_kav_nsg_rule(resources: list[dict[str, Any]], prefixes: list[str]) -> None:
    """What a tampered lock puts into the Azure kav-update rule."""
    rule = nsg_rule(resources, NSG, KAV_NSG_RULE)
    rule.pop("destinationAddressPrefix", None)
    rule["destinationAddressPrefixes"] = prefixes


def aws_egress(coverage: str) -> Finding:
    return (
        EGRESS,
        KAV_RULE,
        f"{KAV_RULE}: egress to the whole internet for seg-av-updates-kaspersky without an opt-in "
        f"(seawall:internetEgress); service:kav-update covers {coverage}",
    )


def azure_egress(coverage: str) -> Finding:
    return (
        EGRESS,
        NSG,
        f"{NSG}/{KAV_NSG_RULE}: egress to the whole internet for seg-av-updates-kaspersky without an opt-in "
        f"(seawall:internetEgress); service:kav-update covers {coverage}",
    )


def vendor(where: str, resource: str, problem: str) -> Finding:
    return (PLAUSIBLE, resource, f"{where}: clearswift-seg/kav-update: {problem}")


# (case, the entries a tampered lock writes, the vendor-addresses-plausible problems, and what the rule that
# uses the list now covers when it is internet-equivalent: internet-egress-opted-in must fire then).
TAMPERED: list[tuple[str, list[str], list[str], str | None]] = [
    ("everything", ["0.0.0.0/0"], [f"0.0.0.0/0 {DNS_NETWORK}"], "the whole IPv4 internet"),
    (
        "everything-v6",
        ["::/0"],
        ["::/0 is a network, but a DNS answer is a single address; valid: /128"],
        "the whole IPv6 internet",
    ),
    ("private-net", ["10.0.0.0/8"], [f"10.0.0.0/8 {DNS_NETWORK}"], None),
    (
        "loopback",
        ["127.0.0.1/32"],
        [
            "127.0.0.1/32 is not public address space: loopback (127.0.0.0/8); "
            "allow the range explicitly (seawall:allowPrivate)"
        ],
        None,
    ),
    ("a-sixteenth", ["16.0.0.0/4"], [f"16.0.0.0/4 {DNS_NETWORK}"], "16.0 /8s of IPv4"),
    (
        "two-halves",
        ["0.0.0.0/1", "128.0.0.0/1"],
        [f"0.0.0.0/1 {DNS_NETWORK}", f"128.0.0.0/1 {DNS_NETWORK}"],
        "the whole IPv4 internet",
    ),
    (
        "retired",
        ["185.155.104.24/32", "184.72.245.1/32"],
        [
            "184.72.245.1 is documented as retired (clearswift-seg/kav-update, clearswift-sxg/kav-update); a retired address never comes back"
        ],
        None,
    ),
]


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_shipped_stacks_pass_every_rule_including_their_documented_vendor_addresses(stack: str) -> None:
    assert PLAUSIBLE in RULES and RULES[PLAUSIBLE].default == "mandatory"
    assert findings(plan(stack)) == []


def test_the_shipped_vendor_lists_are_judged_by_their_documented_entries() -> None:
    """The shipped stacks pass because their entries are plausible, not because the rule sees nothing."""
    views = {v.label: v for v in rule_views([Resource.from_json(r) for r in plan("dmz-aws")])}
    kav = views[KAV_RULE]
    assert kav.ipv4 == ("70.33.161.213/32", "70.33.161.214/32", "185.155.104.24/32", "185.155.104.25/32")
    assert kav.ipv6 == () and kav.unlisted == () and not kav.peer_internet
    smtp = views["dmz-gateway-in-tcp-25-internet-ipv4"]
    assert smtp.ipv4 == ("0.0.0.0/0",) and smtp.peer_internet


@pytest.mark.parametrize(("case", "entries", "problems", "coverage"), TAMPERED, ids=[t[0] for t in TAMPERED])
def test_a_tampered_vendor_prefix_list_fails_the_check_aws(
    case: str, entries: list[str], problems: list[str], coverage: str | None
) -> None:
    resources = plan("dmz-aws")
    set_kav_list(resources, entries)
    expected = [vendor(KAV_LIST, KAV_LIST, p) for p in problems]
    if coverage:
        expected.insert(0, aws_egress(coverage))
    assert findings(resources) == expected


@pytest.mark.parametrize(("case", "entries", "problems", "coverage"), TAMPERED, ids=[t[0] for t in TAMPERED])
def test_a_tampered_vendor_rule_fails_the_check_azure(
    case: str, entries: list[str], problems: list[str], coverage: str | None
) -> None:
    resources = plan("dmz-azure")
    set_kav_nsg_rule(resources, entries)
    where = f"{NSG}/{KAV_NSG_RULE}"
    expected = [vendor(where, NSG, p) for p in problems]
    if coverage:
        expected.insert(0, azure_egress(coverage))
    assert findings(resources) == expected


def test_the_internet_tag_in_a_vendor_rule_is_every_address_and_no_vendor_address() -> None:
    resources = plan("dmz-azure")
    set_kav_nsg_rule(resources, ["internet"])  # Azure reads service tags case-insensitively
    where = f"{NSG}/{KAV_NSG_RULE}"
    assert findings(resources) == [
        azure_egress("the whole IPv4 internet and the whole IPv6 internet"),
        vendor(where, NSG, "'internet' is a service tag, not an address: it stands for far more than a vendor's hosts"),
    ]


def test_allowed_private_ranges_come_from_the_caller_and_nothing_else_is_widened() -> None:
    resources = plan("dmz-aws")
    set_kav_list(resources, ["10.1.2.3/32", "10.1.2.0/24"])
    private = "10.1.2.3/32 is not public address space: private (10.0.0.0/8); allow the range explicitly (seawall:allowPrivate)"
    assert findings(resources) == [
        vendor(KAV_LIST, KAV_LIST, f"10.1.2.0/24 {DNS_NETWORK}"),
        vendor(KAV_LIST, KAV_LIST, private),
    ]
    # Allowing the range accepts the single address; a network is still not a DNS answer.
    assert findings(resources, allow_private=["10.0.0.0/8"]) == [
        vendor(KAV_LIST, KAV_LIST, f"10.1.2.0/24 {DNS_NETWORK}")
    ]
    assert findings(resources, allow_private=["10.9.0.0/16"]) == findings(resources)


def test_check_stack_reads_allow_private_from_the_stack(tmp_path: Any) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    text = (STACKS / "Pulumi.dmz-aws.yaml").read_text()
    (stacks / "Pulumi.dmz-aws.yaml").write_text(text.rstrip("\n") + "\n  seawall:allowPrivate: [10.0.0.0/8]\n")
    planned = plan_stack("dmz-aws", stacks)
    resources = [Resource(r.type, r.name, r.urn, copy.deepcopy(dict(r.inputs))) for r in planned.resources]
    kav = next(r for r in resources if r.name == KAV_LIST)
    kav.inputs["entries"] = [{"cidr": "10.1.2.3/32", "description": "internal mirror"}]
    assert check_stack("dmz-aws", resources, planned.compiled, {}).violations == []
    kav.inputs["entries"] = [{"cidr": "172.16.0.1/32", "description": "not allowed"}]
    result = check_stack("dmz-aws", resources, planned.compiled, {})
    assert not result.passed and [v.rule for v in result.violations] == [PLAUSIBLE]


def test_a_retired_address_is_refused_for_every_service_that_names_the_host() -> None:
    """SXG's kav-update names SEG's hosts; SEG's change history retires their old addresses for both."""
    resources = plan("dmz-aws")
    kav = find(resources, KAV_LIST)
    kav["inputs"]["tags"]["seawall:service"] = "clearswift-sxg/kav-update"
    set_kav_list(resources, ["184.72.245.1/32", "203.0.114.1/32"])
    assert findings(resources) == [
        (
            PLAUSIBLE,
            KAV_LIST,
            f"{KAV_LIST}: clearswift-sxg/kav-update: 184.72.245.1 is documented as retired "
            "(clearswift-seg/kav-update, clearswift-sxg/kav-update); a retired address never comes back",
        )
    ]


def test_an_aws_ip_ranges_service_takes_prefixes_no_wider_than_aws_publishes() -> None:
    resources = plan("dmz-aws")
    feed = copy.deepcopy(find(resources, KAV_LIST))
    feed["name"] = "dmz-service-availability-ipv4-pl"
    feed["inputs"]["tags"]["seawall:service"] = "clearswift-seg/service-availability"
    feed["inputs"]["entries"] = [{"cidr": c, "description": "ip-ranges"} for c in ("3.5.0.0/16", "16.0.0.0/4")]
    resources.append(feed)
    assert findings(resources) == [
        (
            PLAUSIBLE,
            feed["name"],
            f"{feed['name']}: clearswift-seg/service-availability: 16.0.0.0/4 is wider than any range AWS publishes "
            "(widest: /11 for IPv4)",
        )
    ]


def test_a_vendor_list_of_an_unknown_service_or_a_service_with_no_host_is_refused() -> None:
    resources = plan("dmz-aws")
    find(resources, KAV_LIST)["inputs"]["tags"]["seawall:service"] = "clearswift-seg/ksn"
    find(resources, "dmz-rss-feed-ipv4-pl")["inputs"]["tags"]["seawall:service"] = "clearswift-seg/nonexistent"
    assert findings(resources) == [
        (
            PLAUSIBLE,
            KAV_LIST,
            f"{KAV_LIST}: clearswift-seg/ksn: {ip}: the document names no host or address for this service, "
            "so nothing can come from it",
        )
        for ip in ("185.155.104.24/32", "185.155.104.25/32", "70.33.161.213/32", "70.33.161.214/32")  # text order
    ] + [
        (
            PLAUSIBLE,
            "dmz-rss-feed-ipv4-pl",
            "dmz-rss-feed-ipv4-pl: clearswift-seg/nonexistent is not a vendor service of the catalogue, "
            "so its addresses cannot be judged",
        )
    ]


def _ssh_from(resources: list[dict[str, Any]], cidrs: list[str]) -> list[str]:
    """The admin-clients SSH rule rebound to ``cidrs``, one AWS rule per CIDR as the renderer writes them."""
    template = find(resources, SSH_RULE)
    resources.remove(template)
    names = []
    for cidr in cidrs:
        rule = copy.deepcopy(template)
        rule["name"] = f"dmz-gateway-in-tcp-22-cidr-{cidr.replace('/', '-')}"
        rule["inputs"]["cidrIpv4"] = cidr
        resources.append(rule)
        names.append(rule["name"])
    return names


def test_a_site_pair_of_halves_on_a_management_port_is_the_internet_aws() -> None:
    resources = plan("dmz-aws")
    low, high = _ssh_from(resources, ["0.0.0.0/1", "128.0.0.0/1"])
    assert findings(resources) == [
        (
            "internet-ingress-documented",
            name,
            f"{name}: ingress from the internet is justified by seg-ssh-console, whose peer is not the internet; "
            f"{cidr} covers 128.0 /8s of IPv4",
        )
        for name, cidr in ((low, "0.0.0.0/1"), (high, "128.0.0.0/1"))
    ] + [
        (
            "no-management-from-internet",
            name,
            f"{name}: management/console port(s) 22 reachable from the internet; {cidr} covers 128.0 /8s of IPv4",
        )
        for name, cidr in ((low, "0.0.0.0/1"), (high, "128.0.0.0/1"))
    ]


def test_a_site_pair_of_halves_on_a_management_port_is_the_internet_azure() -> None:
    resources = plan("dmz-azure")
    rule = nsg_rule(resources, NSG, SSH_NSG_RULE)
    rule.pop("sourceAddressPrefix")
    rule["sourceAddressPrefixes"] = ["0.0.0.0/1", "128.0.0.0/1"]
    where = f"{NSG}/{SSH_NSG_RULE}"
    assert findings(resources) == [
        (
            "internet-ingress-documented",
            NSG,
            f"{where}: ingress from the internet is justified by seg-ssh-console, whose peer is not the internet; "
            "0.0.0.0/1, 128.0.0.0/1 cover the whole IPv4 internet",
        ),
        (
            "no-management-from-internet",
            NSG,
            f"{where}: management/console port(s) 22 reachable from the internet; "
            "0.0.0.0/1, 128.0.0.0/1 cover the whole IPv4 internet",
        ),
    ]


def test_aws_rules_that_are_the_internet_only_together_are_caught_together() -> None:
    """AWS writes one rule per CIDR: two /5s on SSH are a /4's worth of the internet, as one Azure rule would be."""
    resources = plan("dmz-aws")
    names = _ssh_from(resources, ["0.0.0.0/5", "8.0.0.0/5"])
    together = "; with the 1 other rule(s) for tcp/22 on gateway it covers 16.0 /8s of IPv4"
    assert findings(resources) == [
        (
            "internet-ingress-documented",
            n,
            f"{n}: ingress from the internet is justified by seg-ssh-console, whose peer is not the internet{together}",
        )
        for n in names
    ] + [
        ("no-management-from-internet", n, f"{n}: management/console port(s) 22 reachable from the internet{together}")
        for n in names
    ]
    assert findings(resources[:-1]) == []  # one /5 alone is a wide site, not the internet


def test_an_external_or_unknown_reference_is_not_the_internet_by_itself() -> None:
    resources = plan("dmz-aws")
    find(resources, KAV_RULE)["inputs"]["prefixListId"] = "pl-0123456789abcdef0"
    find(resources, SSH_RULE)["inputs"].pop("cidrIpv4")
    find(resources, SSH_RULE)["inputs"]["referencedSecurityGroupId"] = "sg-0123456789abcdef0"
    views = {v.label: v for v in rule_views([Resource.from_json(r) for r in resources])}
    assert views[KAV_RULE].unlisted == ("pl-0123456789abcdef0",) and not views[KAV_RULE].peer_internet
    assert views[SSH_RULE].unlisted == ("sg-0123456789abcdef0",) and not views[SSH_RULE].peer_internet
    assert findings(resources) == []


# --- CrossGuard ---------------------------------------------------------------------------------


def crossguard_args(
    resources: list[dict[str, Any]],
    config: dict[str, Any] | None = None,
    depends: dict[str, dict[str, str]] | None = None,
) -> StackValidationArgs:
    """Args as the engine sends them: props behind CrossGuard's unknown-checking proxy; ``depends`` names, per
    rule and property, the security group or prefix list the value came from (the engine's property dependencies).
    """
    opts = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,  # type: ignore[arg-type]  # the engine sends none
        additional_secret_outputs=[],
    )
    items = [
        PolicyResource(r["type"], unknown_checking_proxy(r["inputs"]), r["urn"], r["name"], opts, None, None, [], {})
        for r in resources
    ]
    sources = {i.name: i for i in items if i.resource_type in (PREFIX_LIST, SECURITY_GROUP)}
    for item in items:
        if item.resource_type in (INGRESS_RULE, EGRESS_RULE):
            for prop, source in (depends or {}).get(item.name, {}).items():
                item.property_dependencies[prop] = [sources[source]]
    return StackValidationArgs(items, config or {})


def crossguard(rule: str, args: StackValidationArgs) -> list[str]:
    reports: list[str] = []
    validate(rule, args, lambda message, urn=None: reports.append(message))
    return reports


def messages(found: list[Finding], rule: str) -> list[str]:
    return [m for r, _, m in found if r == rule]


@pytest.mark.parametrize("stack", ["dmz-aws", "dmz-azure"])
def test_crossguard_reports_the_same_as_check(stack: str) -> None:
    resources = plan(stack)
    if stack == "dmz-aws":
        set_kav_list(resources, ["0.0.0.0/1", "128.0.0.0/1", "127.0.0.1/32"])
    else:
        set_kav_nsg_rule(resources, ["0.0.0.0/1", "128.0.0.0/1", "127.0.0.1/32"])
    found = findings(resources)
    assert len(messages(found, PLAUSIBLE)) == 3 and len(messages(found, EGRESS)) == 1
    for rule in RULES:
        assert crossguard(rule, crossguard_args(resources)) == messages(found, rule)


def as_first_preview(resources: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Every ``${name.id}`` becomes unknown, as in a first ``pulumi preview``; returns the engine's dependencies."""
    depends: dict[str, dict[str, str]] = {}

    def unknown(value: Any, owner: str, key: str | None) -> Any:
        if isinstance(value, dict):
            return {k: unknown(v, owner, None) for k, v in value.items()}
        if isinstance(value, list):
            return [unknown(v, owner, None) for v in value]
        match = REFERENCE.match(value) if isinstance(value, str) else None
        if match is None:
            return value
        if key is not None:
            depends.setdefault(owner, {})[key] = match.group(1)
        return UNKNOWN_STRING_VALUE

    for r in resources:
        r["inputs"] = {k: unknown(v, r["name"], k) for k, v in r["inputs"].items()}
    return depends


@pytest.mark.parametrize("stack", SHIPPED)
def test_crossguard_judges_a_first_preview_as_the_plan(stack: str) -> None:
    """Ids are unknown before the first apply; every rule still runs, passes the shipped stack, and catches tampering."""
    resources = plan(stack)
    depends = as_first_preview(resources)
    for rule in RULES:
        assert crossguard(rule, crossguard_args(resources, depends=depends)) == [], rule
    if stack == "dmz-aws":
        set_kav_list(resources, ["0.0.0.0/0"])
        assert crossguard(EGRESS, crossguard_args(resources, depends=depends)) == [
            aws_egress("the whole IPv4 internet")[2]
        ]


def test_crossguard_follows_an_unknown_prefix_list_id_to_the_list_in_a_preview() -> None:
    """In a real preview a new list's id is unknown; the engine's property dependency names the list."""
    resources = plan("dmz-aws")
    set_kav_list(resources, ["0.0.0.0/0"])
    rule = find(resources, KAV_RULE)
    rule["inputs"]["prefixListId"] = UNKNOWN_STRING_VALUE
    rule["inputs"]["securityGroupId"] = UNKNOWN_STRING_VALUE
    depends = {KAV_RULE: {"prefixListId": KAV_LIST, "securityGroupId": "dmz-gateway-sg"}}
    assert crossguard(EGRESS, crossguard_args(resources, depends=depends)) == [aws_egress("the whole IPv4 internet")[2]]
    # Without the dependency the id is an unknown reference: not the internet by itself (the list is still refused).
    assert crossguard(EGRESS, crossguard_args(resources)) == []
    assert crossguard(PLAUSIBLE, crossguard_args(resources)) == [
        f"{KAV_LIST}: clearswift-seg/kav-update: 0.0.0.0/0 {DNS_NETWORK}"
    ]


def test_crossguard_never_passes_entries_it_cannot_see() -> None:
    resources = plan("dmz-aws")
    find(resources, KAV_LIST)["inputs"]["entries"] = [{"cidr": UNKNOWN_STRING_VALUE, "description": "x"}]
    assert crossguard(PLAUSIBLE, crossguard_args(resources)) == [
        f"{KAV_LIST}: clearswift-seg/kav-update: an address is unknown until apply, so it cannot be judged"
    ]
    find(resources, KAV_LIST)["inputs"]["entries"] = UNKNOWN_STRING_VALUE
    assert crossguard(PLAUSIBLE, crossguard_args(resources)) == [
        f"{KAV_LIST}: clearswift-seg/kav-update: the addresses are not known, so they cannot be judged"
    ]


def test_crossguard_reads_allow_private_from_the_rule_config() -> None:
    resources = plan("dmz-aws")
    set_kav_list(resources, ["10.1.2.3/32"])
    assert len(crossguard(PLAUSIBLE, crossguard_args(resources))) == 1
    assert crossguard(PLAUSIBLE, crossguard_args(resources, {"allowPrivate": ["10.0.0.0/8"]})) == []
    assert crossguard(PLAUSIBLE, crossguard_args(resources, {"allowPrivate": ["10.0.0.1/8"]})) == [
        "policy config: allowPrivate: '10.0.0.1/8' is not a network; valid: a CIDR such as 10.0.0.0/8"
    ]
