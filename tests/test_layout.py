"""AWS layout under real vendor address counts: groups and prefix lists packed within the quotas.

Locks are built as `seawall resolve` writes them in the real world (tests/realistic.py):
every vendor hostname with 2-4 public addresses, the SEG service-availability hosts
with a real AWS region's published ranges.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from builders import _CATALOG, STACKS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realistic import public_addresses, realistic_lock, write_ip_ranges, write_lock
from seawall.aws.layout import chunk_networks, max_entries
from seawall.aws.render import AwsSpec
from seawall.errors import QuotaExceeded
from seawall.stack import compile_config, compile_stack, render_aws_stack, render_azure_stack
from seawall.stackconfig import AwsQuotas, parse_config


@pytest.fixture(scope="module")
def ranges(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ip_ranges(tmp_path_factory.mktemp("aws") / "ip-ranges.json")


def lock_file(tmp: Path, ranges: Path | None, service: str = "EC2", region: str = "eu-west-1", **kw: object) -> Path:
    return write_lock(realistic_lock(_CATALOG, ranges, service, region, **kw), tmp / f"lock-{service}-{region}.json")  # type: ignore[arg-type]


def within_quotas(spec: AwsSpec, quotas: AwsQuotas) -> None:
    """Every group's weight per direction and family is within the quota; no role has too many groups."""
    weights = {pl.key: pl.max_entries for pl in spec.prefix_lists}
    used: dict[tuple[str, str, int], int] = {}
    for rule in spec.rules:
        weight = weights[rule.peer.value] if rule.peer.kind == "prefix_list" and not rule.peer.external else 1
        for family in rule.peer.families:
            key = (rule.group, rule.direction, family)
            used[key] = used.get(key, 0) + weight
    assert used and max(used.values()) <= quotas.rules_per_security_group, used
    for role in {sg.role for sg in spec.security_groups}:
        assert len(spec.groups_of(role)) <= quotas.security_groups_per_eni
    for pl in spec.prefix_lists:
        assert len(pl.entries) <= pl.max_entries <= min(quotas.prefix_list_max_entries, quotas.rules_per_security_group)


def opened(spec: AwsSpec) -> set[tuple[str, str, str, int, int, str]]:
    """What the rules let through, by network: (role, direction, protocol, from, to, network)."""
    lists = {pl.key: pl for pl in spec.prefix_lists}
    out = set()
    for rule in spec.rules:
        nets = (
            [c for c, _ in lists[rule.peer.value].entries]
            if rule.peer.kind == "prefix_list" and not rule.peer.external
            else [rule.peer.value]
        )
        for net in nets:
            out.add((rule.role, rule.direction, rule.ip_protocol, rule.from_port, rule.to_port, net))
    return out


@pytest.mark.parametrize(("service", "region"), [("EC2", "eu-west-1"), ("AMAZON", "eu-west-1")])
@pytest.mark.parametrize("stack", ["dmz-aws", "dmz-azure"])
def test_the_dmz_stacks_plan_with_real_address_counts_and_default_quotas(
    stack: str, service: str, region: str, ranges: Path, tmp_path: Path
) -> None:
    compiled = compile_stack(stack, STACKS, catalog=_CATALOG, lock=lock_file(tmp_path, ranges, service, region))
    aws = render_aws_stack(compiled)
    within_quotas(aws, AwsQuotas())
    render_azure_stack(compiled)  # Azure's limits hold too
    # The service-availability list (69 or 210 collapsed prefixes) was split, never broadened.
    pieces = [pl for pl in aws.prefix_lists if pl.service == "service-availability"]
    assert len(pieces) > 1
    held = sorted(c for pl in pieces for c, _ in pl.entries)
    assert held == sorted(compiled.ipsets.get("clearswift-seg", "service-availability").ipv4)


def test_a_role_that_needs_more_groups_gets_them_and_every_interface_gets_all(ranges: Path, tmp_path: Path) -> None:
    compiled = compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock_file(tmp_path, ranges))
    spec = render_aws_stack(compiled)
    names = [sg.group_name for sg in spec.groups_of("gateway")]
    assert names[0] == "dmz-gateway" and names[1:] == [f"dmz-gateway-{i}" for i in range(2, len(names) + 1)]
    assert {rule.group for rule in spec.rules} == {sg.name for sg in spec.security_groups}
    extra = [dict(sg.tags).get("seawall:group") for sg in spec.groups_of("gateway")]
    assert extra == [None, *(str(i) for i in range(2, len(names) + 1))]


def test_the_layout_loses_nothing_and_adds_nothing(ranges: Path, tmp_path: Path) -> None:
    """Packed rules open exactly what one unbounded group would: the same (peer, port) pairs."""
    compiled = compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock_file(tmp_path, ranges))
    packed = render_aws_stack(compiled)
    big = AwsQuotas(rules_per_security_group=1000, security_groups_per_eni=1)
    unpacked = render_aws_stack(replace(compiled, config=_with_quotas(compiled.config, big)))
    assert len(unpacked.security_groups) == 1
    assert opened(packed) == opened(unpacked)


def _with_quotas(config, quotas: AwsQuotas):  # type: ignore[no-untyped-def]
    settings = replace(config.settings, quotas=replace(config.settings.quotas, aws=quotas))
    return replace(config, settings=settings)


def test_headroom_shrinks_before_another_group_is_added(ranges: Path, tmp_path: Path) -> None:
    compiled = compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock_file(tmp_path, ranges, "AMAZON"))
    spec = render_aws_stack(compiled)
    full = max_entries(10, (0.25, 2), 1000)
    assert full == 13
    # Five groups (the default quota) hold AMAZON eu-west-1 only with the lists at their exact count.
    assert len(spec.groups_of("gateway")) == 5
    assert spec.headroom == (0.0, 0)
    assert all(pl.max_entries == len(pl.entries) for pl in spec.prefix_lists)


def test_the_extreme_fixture_names_the_quota_to_raise_and_then_fits(ranges: Path, tmp_path: Path) -> None:
    lock = lock_file(tmp_path, ranges, "AMAZON", "us-east-1")
    with pytest.raises(QuotaExceeded) as info:
        render_aws_stack(compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock))
    message = str(info.value)
    assert message.startswith("role gateway: egress IPv4 rules (prefix lists count their max entries) in 5 security")
    assert "needed, limit 300" in message
    assert "heaviest: service:service-availability 517" in message
    found = re.search(
        r"'Security groups per network interface' \(L-2AFB9258\) to (\d+) and set "
        r"seawall:quotas.aws.securityGroupsPerEni: (\d+)$",
        message,
    )
    assert found is not None and found.group(1) == found.group(2), message
    assert "bind fewer CIDRs" not in message  # never a hint that names the wrong cause
    # Declaring the raised quota the message names makes it fit (and one less would not).
    compiled = compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock)
    wanted = int(found.group(1))
    assert 10 <= wanted <= 16  # 586 units need at least 10 groups of 60
    with pytest.raises(QuotaExceeded):
        render_aws_stack(
            replace(compiled, config=_with_quotas(compiled.config, AwsQuotas(security_groups_per_eni=wanted - 1)))
        )
    raised = AwsQuotas(security_groups_per_eni=wanted)
    spec = render_aws_stack(replace(compiled, config=_with_quotas(compiled.config, raised)))
    within_quotas(spec, raised)


def test_a_quota_product_over_1000_rules_per_interface_is_refused() -> None:
    compiled = compile_stack("dmz-aws", STACKS, catalog=_CATALOG)
    bad = AwsQuotas(rules_per_security_group=200, security_groups_per_eni=6)
    with pytest.raises(QuotaExceeded, match="caps the product at 1,000"):
        render_aws_stack(replace(compiled, config=_with_quotas(compiled.config, bad)))


def groups_of_rules(spec: AwsSpec) -> dict[str, str]:
    return {rule.name: rule.group for rule in spec.rules}


def test_one_new_address_changes_one_list_and_moves_nothing(ranges: Path, tmp_path: Path) -> None:
    before = render_aws_stack(compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock_file(tmp_path, ranges)))
    host = "kav-update-8-2.clearswift.net"
    new = public_addresses(host + "/new", 1, set())
    lock = write_lock(realistic_lock(_CATALOG, ranges, extra={host: new}), tmp_path / "more.json")
    after = render_aws_stack(compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock))
    assert groups_of_rules(after) == groups_of_rules(before)
    changed = {pl.key for pl in after.prefix_lists} ^ {pl.key for pl in before.prefix_lists}
    assert changed == set()
    differs = [a.key for a, b in zip(after.prefix_lists, before.prefix_lists, strict=True) if a != b]
    assert differs == ["kav-update-ipv4"]


@pytest.mark.parametrize("host", ["services1.clearswift.net"])
def test_one_new_aws_range_moves_no_other_entry_between_lists(host: str, ranges: Path, tmp_path: Path) -> None:
    """A new range lands in one chunk of a split list; the other chunks keep their entries."""
    del host
    nets = [str(n) for n in ipaddress.ip_network("52.0.0.0/16").subnets(new_prefix=24)][:150]
    level = (0.25, 2)
    before = chunk_networks(nets, 60, level, 1000)
    after = chunk_networks([*nets, "52.1.0.0/24"], 60, level, 1000)
    assert len(before) == len(after)
    moved = [(b, a) for b, a in zip(before, after, strict=True) if set(b) - set(a)]
    assert moved == []
    assert sum(len(set(a) - set(b)) for b, a in zip(before, after, strict=True)) == 1


def test_one_new_catalogue_entry_moves_no_unrelated_rule(ranges: Path, tmp_path: Path) -> None:
    lock = lock_file(tmp_path, ranges)
    base = compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock)
    before = render_aws_stack(base)
    # A new site binding adds one rule (admin-clients gets a second CIDR).
    peers = dict(base.config.document.data["config"]) if base.config.document else {}
    peers["seawall:peers"] = {**peers["seawall:peers"], "admin-clients": ["198.51.100.0/28", "203.0.113.0/28"]}
    config = parse_config("dmz-aws", peers)
    after = render_aws_stack(compile_config(config, _CATALOG, None, lock))
    old, new = groups_of_rules(before), groups_of_rules(after)
    assert {k: new[k] for k in old} == old
    assert len(new) > len(old)


@st.composite
def address_sets(draw: st.DrawFn) -> dict[str, tuple[str, ...]]:
    hosts = ["kav-update-8-1.clearswift.net", "sav-update-5.clearswift.net", "repo.clearswift.net"]
    out = {}
    for host in hosts:
        count = draw(st.integers(0, 120))
        out[host] = public_addresses(host + str(draw(st.integers(0, 3))), count, set())
    return out


def _hosts(catalog_hosts: Iterator[str]) -> set[str]:
    return set(catalog_hosts)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    extra=address_sets(),
    per_group=st.sampled_from([30, 60, 100, 200]),
    groups=st.integers(1, 5),
)
def test_any_address_set_is_packed_within_capacity_and_opens_exactly_the_same(
    extra: dict[str, tuple[str, ...]], per_group: int, groups: int, tmp_path: Path
) -> None:
    lock = write_lock(realistic_lock(_CATALOG, None, extra=extra), tmp_path / "p.json")
    compiled = compile_stack("dmz-aws", STACKS, catalog=_CATALOG, lock=lock)
    quotas = AwsQuotas(rules_per_security_group=per_group, security_groups_per_eni=groups)
    unpacked = render_aws_stack(
        replace(
            compiled,
            config=_with_quotas(compiled.config, AwsQuotas(rules_per_security_group=1000, security_groups_per_eni=1)),
        )
    )
    try:
        spec = render_aws_stack(replace(compiled, config=_with_quotas(compiled.config, quotas)))
    except QuotaExceeded as exc:
        assert "L-0EA8095F" in str(exc) or "L-2AFB9258" in str(exc) or "exceed what one interface" in str(exc)
        return
    within_quotas(spec, quotas)
    assert opened(spec) == opened(unpacked)


SXG = {
    "topology": "dmz",
    "product": "clearswift-sxg",
    "roles": ["exchange"],
    "features": ["kaspersky", "sophos", "pmm", "syslog", "sftp-backup", "cluster", "key-servers"],
    "peers": {
        "internal-mail-servers": ["192.0.2.10/32", "192.0.2.11/32"],
        "dns-servers": ["192.0.2.53/32"],
        "admin-clients": ["198.51.100.0/28"],
        "end-users": ["198.51.100.128/25"],
        "directory-servers": ["192.0.2.30/32", "192.0.2.31/32"],
        "backup-server": ["192.0.2.40/32"],
        "syslog-server": ["192.0.2.20/32"],
        "key-servers": ["192.0.2.60/32"],
    },
}
# Each cloud's placement keys (the other cloud's are refused).
PLACEMENT = {
    "aws": {"vpcId": "vpc-0123456789abcdef0"},
    "azure": {"resourceGroupName": "rg-mail", "location": "westeurope"},
}


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_sxg_gateway_plans_with_every_av_mirror_resolved(cloud: str, ranges: Path, tmp_path: Path) -> None:
    """SXG names 6 kav-update and 6 sav-update mirrors (12 hostnames, 2-4 addresses each) and more."""
    flat = {f"seawall:{k}": v for k, v in {**SXG, "cloud": cloud, **PLACEMENT[cloud]}.items()}
    compiled = compile_config(parse_config("sxg", flat), _CATALOG, None, lock_file(tmp_path, ranges))
    av = (
        compiled.ipsets.get("clearswift-sxg", "kav-update").ipv4
        + compiled.ipsets.get("clearswift-sxg", "sav-update").ipv4
    )
    assert len(av) >= 24
    if cloud == "aws":
        within_quotas(render_aws_stack(compiled), AwsQuotas())
    else:
        render_azure_stack(compiled)


def _project(tmp_path: Path) -> Path:
    """A project of its own: the dmz-aws stack reading a lock beside it, so resolve plans it."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    text = (
        (STACKS / "Pulumi.dmz-aws.yaml")
        .read_text()
        .replace("  seawall:tags:", "  seawall:lockFile: ipsets.lock.json\n  seawall:tags:")
    )
    (stacks / "Pulumi.dmz-aws.yaml").write_text(text)
    return stacks


@pytest.mark.parametrize(("region", "fits"), [("eu-west-1", True), ("us-east-1", False)])
def test_resolve_writes_a_lock_only_when_every_stack_still_fits(
    region: str, fits: bool, ranges: Path, tmp_path: Path
) -> None:
    import contextlib
    import io

    from dnszone import dns_server
    from rich.console import Console
    from seawall.addresses.resolve import ResolveRequest
    from seawall.cli.resolve import run_resolve
    from test_resolve import healthy_zone

    stacks = _project(tmp_path)
    lock = tmp_path / "ipsets.lock.json"

    def run(**options: object) -> tuple[int, str]:
        out = io.StringIO()
        with dns_server(healthy_zone()) as (server, _), contextlib.redirect_stdout(out):
            request = ResolveRequest(
                lock=lock,
                nameservers=(server,),
                timeout=0.5,
                retries=1,
                ip_ranges=ranges,
                ip_ranges_services=("AMAZON",),
                ip_ranges_regions=(region,),
                products=("clearswift-seg",),
                allow_partial=True,
                now="2026-11-23T00:00:00+00:00",
                stacks_dir=stacks,
                **options,  # type: ignore[arg-type]
            )
            code = run_resolve(request, Console(file=out, width=400))
        return code, out.getvalue()

    code, out = run(check=True)
    if fits:
        assert "dmz-aws: fits" in out and code == 1  # stale (no lock yet), but it fits
        code, out = run()
        assert code == 0 and lock.is_file()
        return
    assert "dmz-aws: STOPS PLANNING: role gateway: egress IPv4 rules" in out and "L-2AFB9258" in out
    assert code == 1
    code, out = run()
    assert code == 1 and not lock.exists() and "not written: dmz-aws would stop planning" in out
    code, out = run(force=True)
    assert code == 0 and lock.is_file()  # written on purpose; the stack now fails with the same message
    with pytest.raises(QuotaExceeded, match="L-2AFB9258"):
        render_aws_stack(compile_stack("dmz-aws", stacks, catalog=_CATALOG))


def test_diff_reports_a_new_layout_as_replacements_and_resources_laid_out_anew(ranges: Path, tmp_path: Path) -> None:
    from seawall.analysis.diff import diff_plans
    from seawall.preview.plan import plan_stack
    from seawall.report.diff import diff_markdown

    base = plan_stack("dmz-aws", STACKS).to_json()
    head = plan_stack("dmz-aws", STACKS, lock=lock_file(tmp_path, ranges)).to_json()
    result = diff_plans(base, head)
    created = {(t.split(":")[-1], n) for verb, t, n in result.relaid if verb == "created"}
    assert ("SecurityGroup", "dmz-gateway-2-sg") in created
    assert ("ManagedPrefixList", "dmz-service-availability-ipv4-1-pl") in created
    moved = [n for _, n, why in result.replaced if "securityGroupId" in why]
    assert moved, "rules that move to another group are replaced on deploy, and the diff must say so"
    markdown = diff_markdown(result)
    assert "**Laid out anew**" in markdown and "**Replaced on deploy**" in markdown


# --- the account's list maximum no larger than the rule quota (issue 25) ---------------------------------------------


def _small_quota_stacks(tmp_path: Path) -> Path:
    """The shipped stacks, dmz-aws with a list maximum (3) no larger than the rule quota (3)."""
    import shutil

    stacks = tmp_path / "stacks"
    shutil.copytree(STACKS, stacks)
    path = stacks / "Pulumi.dmz-aws.yaml"
    text = path.read_text(encoding="utf-8")
    quotas = (
        "  seawall:quotas:\n    aws: {rulesPerSecurityGroup: 3, prefixListMaxEntries: 3, securityGroupsPerEni: 16}\n"
    )
    path.write_text(text.replace("  seawall:tags:", quotas + "  seawall:tags:", 1), encoding="utf-8")
    return stacks


def test_vendor_lists_are_split_when_the_list_maximum_is_no_larger_than_the_rule_quota(tmp_path: Path) -> None:
    """Every list holds no more entries than its maxEntries, in plan and in the Terraform export, through the CLI."""
    import json

    from seawall.cli import app
    from typer.testing import CliRunner

    stacks = _small_quota_stacks(tmp_path)
    runner = CliRunner()
    planned = runner.invoke(app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "--format", "json"])
    assert planned.exit_code == 0, planned.stderr
    lists = [
        r for r in json.loads(planned.stdout)["resources"] if r["type"] == "aws:ec2/managedPrefixList:ManagedPrefixList"
    ]
    kav = [pl for pl in lists if "kav-update" in pl["name"]]
    assert len(kav) >= 2, [pl["name"] for pl in lists]  # split: four addresses do not fit a list of three
    for pl in lists:
        assert len(pl["inputs"]["entries"]) <= pl["inputs"]["maxEntries"] <= 3, pl["name"]
    out = tmp_path / "tf"
    exported = runner.invoke(
        app, ["export", "terraform", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.stderr
    resources = json.loads((out / "main.tf.json").read_text(encoding="utf-8"))["resource"][
        "aws_ec2_managed_prefix_list"
    ]
    for name, body in resources.items():
        assert len(body["entry"]) <= body["max_entries"] <= 3, name


def test_a_list_never_holds_more_than_the_account_maximum() -> None:
    networks = [f"45.0.{n >> 8}.{n & 255}/32" for n in range(1001)]
    for level in ((0.25, 2), (0.10, 1), (0.0, 0)):
        chunks = chunk_networks(networks, 1000, level, 1000)
        assert len(chunks) >= 2
        assert all(len(c) <= max_entries(len(c), level, 1000) <= 1000 for c in chunks)
        assert sorted(n for c in chunks for n in c) == sorted(networks)
