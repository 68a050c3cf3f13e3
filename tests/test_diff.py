"""`seawall diff`: golden Markdown for the changes reviewers see most, and the exit codes scripts rely on."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from builders import STACKS
from conftest import CATALOG_DIR, REPO
from seawall.addresses.lock import HostRecord, Lock
from seawall.analysis.diff import diff_plans
from seawall.cli import app
from seawall.preview.plan import plan_stack
from seawall.report.diff import diff_markdown
from typer.testing import CliRunner

GOLDEN = REPO / "tests" / "golden"


@cache
def base(stack: str) -> str:
    return plan_stack(stack, STACKS).to_text()


def head_with(
    tmp_path: Path, stack: str, old: str = "", new: str = "", catalog: Path | None = None, lock: Path | None = None
) -> str:
    stacks = tmp_path / "stacks"
    stacks.mkdir(exist_ok=True)
    text = (STACKS / f"Pulumi.{stack}.yaml").read_text()
    assert old in text
    (stacks / f"Pulumi.{stack}.yaml").write_text(text.replace(old, new))
    return plan_stack(stack, stacks, catalog, lock).to_text()


def check_golden(name: str, base_text: str, head_text: str, update: bool) -> str:
    markdown = diff_markdown(diff_plans(json.loads(base_text), json.loads(head_text)))
    path = GOLDEN / f"diff-{name}.md"
    if update:
        path.write_text(markdown, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == markdown, f"{path.name} differs; review, then --update-golden"
    return markdown


def test_a_new_vendor_ip_is_an_ip_set_change_and_a_broadening(tmp_path: Path, update_golden: bool) -> None:
    lock = tmp_path / "ipsets.lock.json"
    record = HostRecord(("45.33.7.7/32",), "ok", "dns", ("clearswift-seg/apphelp",))
    lock.write_text(Lock({"apphelp.clearswift.com": record}, {}).to_text())
    md = check_golden("new-vendor-ip", base("dmz-aws"), head_with(tmp_path, "dmz-aws", lock=lock), update_golden)
    assert "adds 45.33.7.7/32 to vendor service apphelp" in md and "| apphelp | 45.33.7.7/32 | — |" in md


def test_a_new_catalogue_entry_opens_its_flow_with_its_id(tmp_path: Path, update_golden: bool) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, catalog, ignore=shutil.ignore_patterns("__init__.py", "*.json", "__pycache__"))
    seg = catalog / "clearswift-seg.yaml"
    new = (
        "  - id: seg-syslog-tls\n    host: gateway\n    direction: outbound\n    protocol: tcp\n    ports: [6514]\n"
        "    peer: {site: syslog-server}\n    scope: internal\n    features: [syslog]\n    purpose: {en: Syslog over TLS}\n"
        "    source: {section: Internal Connections, row: To the central SYSLOG server TCP 514}\n"
    )
    seg.write_text(seg.read_text().replace("  - id: seg-syslog\n", new + "  - id: seg-syslog\n"))
    md = check_golden("new-entry", base("dmz-aws"), head_with(tmp_path, "dmz-aws", catalog=catalog), update_golden)
    assert "opens tcp/6514 from gateway to 192.0.2.20/32 [seg-syslog-tls]" in md


def test_a_widened_source_is_called_out_at_the_top(tmp_path: Path, update_golden: bool) -> None:
    head = head_with(tmp_path, "dmz-azure", "admin-clients: [198.51.100.0/28]", "admin-clients: [198.51.100.0/24]")
    md = check_golden("widened-source", base("dmz-azure"), head, update_golden)
    assert md.index("[!CAUTION]") < md.index("| change |")
    assert "widens tcp/22 on gateway from 198.51.100.0/28 to 198.51.100.0/24 [seg-ssh-console]" in md


def test_a_removed_rule_closes_flows_and_is_not_broadening(tmp_path: Path, update_golden: bool) -> None:
    head = head_with(tmp_path, "dmz-aws", "ldap, sftp-backup, syslog, cluster", "ldap, sftp-backup, cluster")
    md = check_golden("removed-rule", base("dmz-aws"), head, update_golden)
    assert "[!CAUTION]" not in md and "| **closed** | out | gateway | tcp | 514 | 192.0.2.20/32 | `seg-syslog` |" in md


def test_opening_ssh_to_the_internet_reads_as_such(tmp_path: Path) -> None:
    head = head_with(tmp_path, "dmz-aws", "admin-clients: [198.51.100.0/28]", "admin-clients: [internet]")
    md = diff_markdown(diff_plans(json.loads(base("dmz-aws")), json.loads(head)))
    assert (
        "opens tcp/22 on gateway from 0.0.0.0/0 (the whole internet), widening 198.51.100.0/28 [seg-ssh-console]" in md
    )


def test_a_security_group_description_change_is_a_replacement() -> None:
    data: dict[str, Any] = json.loads(base("dmz-aws"))
    head = json.loads(base("dmz-aws"))
    sg = next(r for r in head["resources"] if r["name"] == "dmz-gateway-sg")
    sg["inputs"]["description"] = "changed"
    md = diff_markdown(diff_plans(data, head))
    assert "`dmz-gateway-sg`: description changes (AWS security group descriptions are immutable)" in md


@pytest.mark.parametrize(("fail_on", "code"), [(None, 1), ("any", 3), ("broadening", 3)])
def test_exit_codes(tmp_path: Path, fail_on: str | None, code: int) -> None:
    (tmp_path / "base.json").write_text(base("dmz-aws"))
    (tmp_path / "head.json").write_text(head_with(tmp_path, "dmz-aws", "[198.51.100.0/28]", "[198.51.100.0/27]"))
    args = ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json")] + (
        ["--fail-on", fail_on] if fail_on else []
    )
    assert CliRunner().invoke(app, args).exit_code == code


def test_no_change_exits_0_even_with_fail_on(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(base("dmz-aws"))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "a.json"), str(tmp_path / "a.json"), "--fail-on", "any"])
    assert result.exit_code == 0 and "No firewall change." in result.stdout


def test_closing_only_does_not_trip_fail_on_broadening(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text(base("dmz-aws"))
    (tmp_path / "head.json").write_text(
        head_with(tmp_path, "dmz-aws", "ldap, sftp-backup, syslog, cluster", "ldap, sftp-backup, cluster")
    )
    result = CliRunner().invoke(
        app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "--fail-on", "broadening", "-f", "json"]
    )
    assert result.exit_code == 1 and json.loads(result.stdout)["broadening"] == []


def test_a_file_that_is_not_a_plan_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[1, 2]")
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "x.json"), str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "not a seawall plan JSON" in result.stderr
