"""Stack config is a trust boundary: every key seawall reads is checked, and nothing widens a rule silently.

Each case edits a copy of a shipped stack and runs the real ``seawall plan``: a
mistake is one line ``file:line: key: what; valid: …`` on stderr, exit 2, no plan
and no "planning …" line. The last two tests keep the static lists of
``seawall.aws.limits`` equal to the installed pulumi-aws and botocore.

Tests marked ``xfail(strict=True, reason="BUG: …")`` pin library bugs found while
writing them; remove the mark with the fix.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from click.testing import Result
from conftest import REPO
from seawall.aws import limits as aws_limits
from seawall.cli import app
from seawall.yamlsource import display_path
from typer.testing import CliRunner

STACKS = REPO / "stacks"
PLANNING = "planning dmz-aws under the Pulumi mock monitor"
INTERNET_HINT = "write 'internet' to bind a site peer to everyone on purpose, or bind narrower networks"


def stack_copy(directory: Path, stack: str, *edits: tuple[str, str]) -> Path:
    """A copy of a shipped stack with text edits applied (each must match); Azure priority pins kept."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (STACKS / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    (directory / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    pins = STACKS / f"{stack}.priorities.json"
    if pins.exists():
        shutil.copy(pins, directory / pins.name)
    return directory


def add_keys(lines: str) -> tuple[str, str]:
    """An edit that adds config lines (two-space indented) just before ``seawall:tags``."""
    return "  seawall:tags:\n", f"{lines}  seawall:tags:\n"


def plan(directory: Path, stack: str = "dmz-aws", fmt: str = "json") -> Result:
    return CliRunner().invoke(app, ["plan", "--stack", stack, "--stacks-dir", str(directory), "--format", fmt])


def where(directory: Path, stack: str, needle: str) -> str:
    """``file:line`` of the first line of the stack file starting with ``needle``, as seawall displays it."""
    path = directory / f"Pulumi.{stack}.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if text.strip().startswith(needle))
    return f"{display_path(path)}:{line}"


def assert_one_line_error(result: Result, expected: str) -> None:
    """Exit 2, exactly ``seawall: error: <expected>`` on stderr, no traceback, no plan, no planning line."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stderr == f"seawall: error: {expected}\n", result.stderr
    assert result.stdout == "" and "Traceback" not in result.output


def planned(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# --- keys outside seawall: that seawall reads ------------------------------------------------------------


def test_a_misspelt_aws_key_is_unknown_and_suggests_the_right_one(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path, "dmz-aws", ("aws:region: eu-west-1", "aws:regoin: eu-west-1"))
    assert_one_line_error(
        plan(stacks),
        f"{where(stacks, 'dmz-aws', 'aws:regoin')}: aws:regoin: unknown key; did you mean aws:region? "
        "valid: the pulumi-aws provider's keys, e.g. aws:region",
    )


def test_a_region_that_does_not_exist_is_an_error_listing_real_ones(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path, "dmz-aws", ("aws:region: eu-west-1", "aws:region: eu-wset-1"))
    result = plan(stacks)
    at = where(stacks, "dmz-aws", "aws:region")
    prefix = f"seawall: error: {at}: aws:region: 'eu-wset-1' is not an AWS region; valid: "
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.startswith(prefix), result.stderr
    listed = result.stderr[len(prefix) :].strip().split(", ")
    assert "eu-west-1" in listed and set(listed) <= aws_limits.REGIONS and result.stderr.count("\n") == 1


# --- repeated list items, booleans, bounds -------------------------------------------------------------------

REPEATS = [
    ("internetEgress", "  seawall:internetEgress: [ksn, ksn]\n", "'ksn' repeats item 0"),
    ("roles", "  seawall:roles: [exchange, exchange]\n", "'exchange' repeats item 0"),
    (
        "allowPrivate",
        "  seawall:allowPrivate: [10.0.0.0/8, 192.168.0.0/16, 10.0.0.0/8]\n",
        "'10.0.0.0/8' repeats item 0",
    ),
]


@pytest.mark.parametrize(("key", "lines", "what"), REPEATS, ids=[r[0] for r in REPEATS])
def test_a_repeated_list_item_is_named(tmp_path: Path, key: str, lines: str, what: str) -> None:
    stacks = stack_copy(tmp_path, "dmz-aws", add_keys(lines))
    index = 2 if key == "allowPrivate" else 1
    assert_one_line_error(
        plan(stacks), f"{where(stacks, 'dmz-aws', f'seawall:{key}:')}: seawall:{key}[{index}]: {what}; list each once"
    )


def test_a_repeated_feature_is_named(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path, "dmz-aws", ("[kaspersky, pmm, ldap,", "[kaspersky, pmm, ldap, pmm,"))
    assert_one_line_error(
        plan(stacks),
        f"{where(stacks, 'dmz-aws', 'seawall:features:')}: seawall:features[3]: 'pmm' repeats item 1; list each once",
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [("yes", "'yes'"), ("1", "1"), ("on", "'on'"), ('"yes"', "'yes'")],
    ids=["yes", "1", "on", "text"],
)
def test_ipv6_must_be_a_yaml_boolean(tmp_path: Path, value: str, shown: str) -> None:
    stacks = stack_copy(tmp_path, "dmz-aws", add_keys(f"  seawall:ipv6: {value}\n"))
    assert_one_line_error(
        plan(stacks),
        f"{where(stacks, 'dmz-aws', 'seawall:ipv6')}: seawall:ipv6: {shown} is not a boolean; "
        "valid: true or false (YAML booleans, not yes/no/1/0)",
    )


def ipv6_internet_rules(plan_json: dict[str, Any]) -> list[str]:
    return sorted(r["name"] for r in plan_json["resources"] if r["inputs"].get("cidrIpv6") == "::/0")


def test_ipv6_true_and_the_text_true_that_pulumi_config_set_stores_plan_the_same(tmp_path: Path) -> None:
    boolean = planned(plan(stack_copy(tmp_path / "bool", "dmz-aws", add_keys("  seawall:ipv6: true\n"))))
    text = planned(plan(stack_copy(tmp_path / "text", "dmz-aws", add_keys('  seawall:ipv6: "true"\n'))))
    default = planned(plan(stack_copy(tmp_path / "default", "dmz-aws")))
    assert boolean == text
    assert ipv6_internet_rules(boolean) and not ipv6_internet_rules(default), "ipv6: true opens ::/0 for SMTP"


def test_allow_private_with_host_bits_is_an_error(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path, "dmz-aws", add_keys("  seawall:allowPrivate: [10.0.0.1/8]\n"))
    assert_one_line_error(
        plan(stacks),
        f"{where(stacks, 'dmz-aws', 'seawall:allowPrivate')}: seawall:allowPrivate[0]: '10.0.0.1/8' is not a "
        "canonical CIDR; valid: a network such as 10.0.0.0/8",
    )


# --- missing site peers, and the order of errors and "planning" -------------------------------------------------


def test_every_unbound_site_peer_is_named_in_one_error(tmp_path: Path) -> None:
    stacks = stack_copy(
        tmp_path,
        "dmz-aws",
        ("    internal-mail-servers: [192.0.2.10/32, 192.0.2.11/32]\n", ""),
        ("    dns-servers: [192.0.2.53/32]\n", ""),
        ("    syslog-server: [192.0.2.20/32]\n", ""),
    )
    result = plan(stacks)
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        f"seawall: error: {where(stacks, 'dmz-aws', 'seawall:peers:')}: seawall:peers.internal-mail-servers: missing; "
        "entry seg-smtp-receive (Receive messages using SMTP) needs site peer 'internal-mail-servers'"
    ), result.stderr
    also = result.stderr.split("; also missing: ", 1)[1]
    assert "dns-servers (entry seg-dns" in also and "syslog-server (entry seg-syslog" in also


def test_a_config_error_is_printed_instead_of_the_planning_line(tmp_path: Path) -> None:
    good = plan(stack_copy(tmp_path / "good", "dmz-aws"), fmt="table")
    assert good.exit_code == 0 and PLANNING in good.stderr, "the premise: a table plan says it is planning"
    stacks = stack_copy(tmp_path / "bad", "dmz-aws", ("aws:region: eu-west-1", "aws:regoin: eu-west-1"))
    bad = plan(stacks, fmt="table")
    assert bad.exit_code == 2 and PLANNING not in bad.output and bad.stdout == ""
    assert bad.stderr.startswith(f"seawall: error: {where(stacks, 'dmz-aws', 'aws:regoin')}: aws:regoin: unknown key")


def test_a_binding_error_found_while_compiling_flows_also_comes_before_planning(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path, "dmz-aws", ("    dns-servers: [192.0.2.53/32]\n", ""))
    result = plan(stacks, fmt="table")
    assert result.exit_code == 2 and PLANNING not in result.output and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "seawall:peers.dns-servers: missing" in result.stderr


# --- tags: seawall's own, and the cloud's limits ----------------------------------------------------------


OWNED = "is set by seawall (audit finds a stack by it); choose another key"
RESERVED = "keys starting with aws: are reserved by AWS"
AZURE_CHARS = "Azure tag names may not contain < > % & \\ ? /"
# (id, stack, the tag line added, the key, the message)
TAG_ERRORS = [
    ("seawall-stack", "dmz-aws", "    seawall:stack: other\n", "seawall:stack", OWNED),
    ("seawall-role", "dmz-aws", "    seawall:role: other\n", "seawall:role", OWNED),
    ("Name", "dmz-aws", "    Name: mail\n", "Name", OWNED),
    ("Name-azure", "dmz-azure", "    Name: mail\n", "Name", OWNED),
    ("key-129", "dmz-aws", f"    {'k' * 129}: v\n", "k" * 129, "key longer than 128 characters"),
    ("value-257", "dmz-aws", f"    team: {'v' * 257}\n", "team", "value longer than 256 characters"),
    ("aws-prefix", "dmz-aws", "    aws:cloudformation:stack-name: x\n", "aws:cloudformation:stack-name", RESERVED),
    ("AWS-prefix", "dmz-aws", "    AWS:owner: x\n", "AWS:owner", RESERVED),
    ("azure-lt", "dmz-azure", "    cost<centre: x\n", "cost<centre", AZURE_CHARS),
    ("azure-slash", "dmz-azure", "    cost/centre: x\n", "cost/centre", AZURE_CHARS),
]


@pytest.mark.parametrize(("stack", "lines", "key", "message"), [pytest.param(*t[1:], id=t[0]) for t in TAG_ERRORS])
def test_a_tag_seawall_owns_or_the_cloud_refuses_is_an_error(
    tmp_path: Path, stack: str, lines: str, key: str, message: str
) -> None:
    stacks = stack_copy(tmp_path, stack, ("    owner: mail-platform\n", f"    owner: mail-platform\n{lines}"))
    needle = lines.strip().split(": ")[0] + ":"
    assert_one_line_error(plan(stacks, stack), f"{where(stacks, stack, needle)}: seawall:tags.{key}: {message}")


def tags_lines(count: int) -> str:
    return "".join(f"    tag{i:02d}: value {i}\n" for i in range(count - 1))  # plus the shipped owner tag


def test_45_tags_on_aws_are_an_error(tmp_path: Path) -> None:
    stacks = stack_copy(
        tmp_path, "dmz-aws", ("    owner: mail-platform\n", f"    owner: mail-platform\n{tags_lines(45)}")
    )
    assert_one_line_error(
        plan(stacks),
        f"{where(stacks, 'dmz-aws', 'seawall:tags:')}: seawall:tags: 45 tags; valid: at most 44 "
        "(aws allows 50 per resource and seawall sets up to 6)",
    )


# A role's rules over several groups: its second, third, … group carries seawall:group too (6 of seawall's tags).
SPLIT_QUOTAS = "  seawall:quotas:\n    aws: {rulesPerSecurityGroup: 3, securityGroupsPerEni: 16}\n"


def test_as_many_tags_as_allowed_and_the_longest_key_and_value_fit_on_every_aws_resource(tmp_path: Path) -> None:
    """At the boundary the check states, every resource seawall declares, split groups included, fits AWS's 50."""
    too_many = stack_copy(
        tmp_path / "probe", "dmz-aws", ("    owner: mail-platform\n", f"    owner: mail-platform\n{tags_lines(50)}")
    )
    stated = re.search(r"valid: at most (\d+) ", plan(too_many).stderr)
    assert stated, "50 stack tags were not refused"
    allowed = int(stated.group(1))

    def with_tags(directory: Path, count: int) -> Path:
        lines = tags_lines(count - 1) + f"    {'k' * 128}: {'v' * 256}\n"
        edit = ("    owner: mail-platform\n", f"    owner: mail-platform\n{lines}")
        return stack_copy(directory, "dmz-aws", add_keys(SPLIT_QUOTAS), edit)

    data = planned(plan(with_tags(tmp_path / "allowed", allowed)))
    tagged = [r for r in data["resources"] if "tags" in r["inputs"]]
    assert any("seawall:group" in r["inputs"]["tags"] for r in tagged), "no role was laid out over several groups"
    over = {r["name"]: len(r["inputs"]["tags"]) for r in tagged if len(r["inputs"]["tags"]) > 50}
    assert not over, f"{allowed} stack tags allowed, but AWS refuses more than 50 tags on {over}"
    assert max(len(r["inputs"]["tags"]) for r in tagged) == aws_limits.MAX_TAGS_PER_RESOURCE
    assert all(r["inputs"]["tags"]["k" * 128] == "v" * 256 for r in tagged)

    result = plan(with_tags(tmp_path / "one-more", allowed + 1))
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1, result.output
    assert f"seawall:tags: {allowed + 1} tags; valid: at most {allowed} (aws allows 50 per resource" in result.stderr


def test_on_azure_seawalls_tags_are_refused_in_any_letter_case(tmp_path: Path) -> None:
    stacks = stack_copy(
        tmp_path, "dmz-azure", ("    owner: mail-platform\n", "    owner: mail-platform\n    Seawall:Stack: other\n")
    )
    result = plan(stacks, "dmz-azure")
    assert result.exit_code == 2 and result.stdout == "", "planned with both seawall:stack and Seawall:Stack"
    assert f"{where(stacks, 'dmz-azure', 'Seawall:Stack')}: seawall:tags.Seawall:Stack: " in result.stderr


# --- bindings that add up to the internet -------------------------------------------------------------------


def test_one_site_peer_bound_to_both_halves_of_ipv4_is_the_whole_internet(tmp_path: Path) -> None:
    stacks = stack_copy(
        tmp_path, "dmz-aws", ("admin-clients: [198.51.100.0/28]", "admin-clients: [0.0.0.0/1, 128.0.0.0/1]")
    )
    assert_one_line_error(
        plan(stacks),
        f"{where(stacks, 'dmz-aws', 'admin-clients:')}: seawall:peers.admin-clients: tcp/22 from site:admin-clients "
        "on role gateway: the peers' addresses cover the whole IPv4 internet, which is the internet "
        f"(a /4's worth or more, seawall:internetEquivalent); {INTERNET_HINT}",
    )


def test_one_site_peer_bound_to_both_halves_of_ipv6_is_the_whole_internet(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path, "dmz-aws", ("admin-clients: [198.51.100.0/28]", "admin-clients: [::/1, 8000::/1]"))
    result = plan(stacks)
    assert result.exit_code == 2 and result.stdout == ""
    assert "seawall:peers.admin-clients: " in result.stderr and "cover the whole IPv6 internet" in result.stderr


def sharing_stack(directory: Path, backup: str, lexical: str) -> Path:
    """dmz-aws plus lexical data: backup-server and lexical-data-server share gateway's egress rule tcp/22."""
    return stack_copy(
        directory,
        "dmz-aws",
        ("sftp-backup, syslog, cluster]", "sftp-backup, syslog, cluster, lexical-data]"),
        (
            "    backup-server: [192.0.2.40/32]\n",
            f"    backup-server: [{backup}]\n    lexical-data-server: [{lexical}]\n",
        ),
    )


def test_two_site_peers_sharing_a_rule_that_together_are_the_internet_are_an_error(tmp_path: Path) -> None:
    stacks = sharing_stack(tmp_path, "0.0.0.0/1", "128.0.0.0/1")
    assert_one_line_error(
        plan(stacks),
        f"{where(stacks, 'dmz-aws', 'backup-server:')}: seawall:peers.backup-server: tcp/22 to site:backup-server, "
        "site:lexical-data-server on role gateway: the peers' addresses cover the whole IPv4 internet, which is "
        f"the internet (a /4's worth or more, seawall:internetEquivalent); {INTERNET_HINT}",
    )


def test_it_is_the_union_that_counts_not_each_peer(tmp_path: Path) -> None:
    """Two /5s are each below the /4 threshold; on one rule they are a /4's worth."""
    assert planned(plan(sharing_stack(tmp_path / "one", "0.0.0.0/5", "192.0.2.50/32")))
    assert planned(plan(sharing_stack(tmp_path / "other", "192.0.2.40/32", "8.0.0.0/5")))
    stacks = sharing_stack(tmp_path / "both", "0.0.0.0/5", "8.0.0.0/5")
    result = plan(stacks)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.startswith(
        f"seawall: error: {where(stacks, 'dmz-aws', 'backup-server:')}: seawall:peers.backup-server: tcp/22 to "
        "site:backup-server, site:lexical-data-server on role gateway: the peers' addresses cover 16.0 /8s of IPv4"
    ), result.stderr


def test_the_internet_equivalent_threshold_is_configurable(tmp_path: Path) -> None:
    wide = ("admin-clients: [198.51.100.0/28]", "admin-clients: [2.0.0.0/7]")
    assert planned(plan(stack_copy(tmp_path / "default", "dmz-aws", wide))), "a /7 is below the default /4"
    stacks = stack_copy(tmp_path / "strict", "dmz-aws", wide, add_keys("  seawall:internetEquivalent: {ipv4: 8}\n"))
    assert_one_line_error(
        plan(stacks),
        f"{where(stacks, 'dmz-aws', 'admin-clients:')}: seawall:peers.admin-clients: tcp/22 from site:admin-clients "
        "on role gateway: the peers' addresses cover 2.0 /8s of IPv4, which is the internet "
        f"(a /8's worth or more, seawall:internetEquivalent); {INTERNET_HINT}",
    )


def test_on_azure_the_internet_service_tag_must_be_written_internet(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path, "dmz-azure", ("admin-clients: [198.51.100.0/28]", "admin-clients: [Internet]"))
    assert_one_line_error(
        plan(stacks, "dmz-azure"),
        f"{where(stacks, 'dmz-azure', 'admin-clients:')}: seawall:peers.admin-clients[0]: 'Internet' is the whole "
        "internet; write 'internet' to bind it on purpose",
    )


def test_on_azure_internet_written_on_purpose_plans_with_a_warning_per_rule(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path, "dmz-azure", ("admin-clients: [198.51.100.0/28]", "admin-clients: [internet]"))
    data = planned(plan(stacks, "dmz-azure"))
    warned = {(w["entry"], w["text"]) for w in data["warnings"] if w["kind"] == "internet-binding"}
    assert warned == {
        ("seg-ssh-console", "site peer admin-clients is bound to the whole internet"),
        ("seg-management-ui", "site peer admin-clients is bound to the whole internet"),
    }
    rules = [
        rule
        for r in data["resources"]
        if r["type"] == "azure-native:network:NetworkSecurityGroup"
        for rule in r["inputs"]["securityRules"]
        if "site-admin-clients" in rule["name"]
    ]
    assert rules and all(rule["sourceAddressPrefix"] == "Internet" for rule in rules)


# --- the static lists stay equal to the installed libraries ---------------------------------------------------


def test_provider_config_keys_are_the_keys_the_installed_pulumi_aws_reads() -> None:
    spec = importlib.util.find_spec("pulumi_aws")
    assert spec is not None and spec.submodule_search_locations
    (package,) = list(spec.submodule_search_locations)
    source = (Path(package) / "config" / "vars.py").read_text(encoding="utf-8")
    keys = set(re.findall(r"__config__\.get(?:_\w+)?\('([^']+)'\)", source))
    assert len(keys) > 20, "the premise: pulumi-aws reads its provider config this way"
    assert keys == aws_limits.PROVIDER_CONFIG_KEYS


def test_regions_are_botocores_ec2_regions_across_every_partition() -> None:
    session = botocore.session.get_session()
    partitions = session.get_available_partitions()
    assert {"aws", "aws-cn", "aws-us-gov"} <= set(partitions)
    regions = {r for partition in partitions for r in session.get_available_regions("ec2", partition)}
    assert regions == aws_limits.REGIONS
