"""The pull-request workflow's comment, built by the same script the workflow runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from ruamel.yaml import YAML

SEAWALL = str(Path(sys.executable).with_name("seawall"))


def preview(base: Path, head: Path, out: Path, fail_on: str = "") -> int:
    env = {"PATH": "/usr/bin:/bin", "SEAWALL_FAIL_ON": fail_on} if fail_on else {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        ["bash", str(REPO / ".github" / "seawall-preview.sh"), str(base), SEAWALL, str(head), SEAWALL, str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return proc.returncode


def project_copy(tmp_path: Path, name: str, only: str = "") -> Path:
    """A project with the shipped stacks (or only stack ``only``, to keep a run short)."""
    target = tmp_path / name
    target.mkdir()
    keep = shutil.ignore_patterns("__pycache__")
    if only:
        keep = shutil.ignore_patterns("__pycache__", *(f"*{s}.*" for s in STACKS if s != only))
    shutil.copytree(REPO / "stacks", target / "stacks", ignore=keep)
    return target


STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))


def test_an_unchanged_repository_gets_a_quiet_comment(tmp_path: Path) -> None:
    base, head = project_copy(tmp_path, "base"), project_copy(tmp_path, "head")
    out = tmp_path / "preview.md"
    assert preview(base, head, out) == 0
    text = out.read_text()
    assert text.startswith("<!-- seawall-preview -->")
    for stack in STACKS:
        assert f"### seawall diff: `{stack}`" in text and f"#### seawall check: `{stack}`: passed" in text
        assert f"#### seawall conformance: `{stack}`: conforms" in text
    assert text.count("No firewall change.") == len(STACKS)
    # Conformance: nothing changes disposition, and each stack's rows are collapsed.
    assert text.count("No row changes disposition.") == len(STACKS)
    assert text.count("<details><summary>Row by row: ") == text.count("</details>") == len(STACKS)


def test_a_row_that_changes_disposition_is_listed_in_the_comment(tmp_path: Path) -> None:
    base, head = project_copy(tmp_path, "base", "dmz-aws"), project_copy(tmp_path, "head", "dmz-aws")
    stack = head / "stacks" / "Pulumi.dmz-aws.yaml"
    text = stack.read_text()
    text = text.replace("[kaspersky, pmm,", "[pmm,").replace(
        "  seawall:tags:", "  seawall:internetEgress: [ntp]\n  seawall:tags:"
    )
    stack.write_text(text)
    out = tmp_path / "preview.md"
    assert preview(base, head, out) == 0  # opting in is a broadening, which fails only with SEAWALL_FAIL_ON
    comment = out.read_text()
    changed = comment[comment.index("#### seawall conformance: `dmz-aws`: conforms") : comment.index("<details>")]
    assert changed.splitlines()[2:6] == [
        "Rows that change disposition:",
        "",
        "- `seg-av-updates-kaspersky`: open → off: feature kaspersky is off (seawall:features)",
        "- `seg-ntp`: denied → opted in to the internet: vendor service ntp has no addresses; opened to the whole "
        "internet by seawall:internetEgress",
    ]


def test_a_base_branch_without_the_conformance_command_still_gets_a_comment(tmp_path: Path) -> None:
    base, head = (
        project_copy(tmp_path, "base", "mss-distributed-aws"),
        project_copy(tmp_path, "head", "mss-distributed-aws"),
    )
    old = tmp_path / "old-seawall"  # the base branch's seawall, from before `seawall conformance`
    old.write_text(
        f'#!/bin/sh\n[ "$1" = conformance ] && {{ echo "No such command" >&2; exit 2; }}\nexec {SEAWALL} "$@"\n'
    )
    old.chmod(0o755)
    out = tmp_path / "preview.md"
    proc = subprocess.run(
        ["bash", str(REPO / ".github" / "seawall-preview.sh"), str(base), str(old), str(head), SEAWALL, str(out)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "#### seawall conformance: `mss-distributed-aws`: conforms" in text
    assert "No base report to compare with" in text and "<details><summary>Row by row: 29 rows" in text


def test_a_broadening_change_is_flagged_and_can_fail_the_run(tmp_path: Path) -> None:
    base, head = project_copy(tmp_path, "base", "dmz-aws"), project_copy(tmp_path, "head", "dmz-aws")
    stack = head / "stacks" / "Pulumi.dmz-aws.yaml"
    stack.write_text(stack.read_text().replace("admin-clients: [198.51.100.0/28]", "admin-clients: [internet]"))
    out = tmp_path / "preview.md"
    assert preview(base, head, out) == 1  # policy: management from the internet
    text = out.read_text()
    assert "opens tcp/22 on gateway from 0.0.0.0/0 (the whole internet)" in text
    assert "#### seawall check: `dmz-aws`: FAILED" in text and "no-management-from-internet" in text


def test_the_workflow_runs_the_script_and_the_scheduled_lock_check() -> None:
    workflow = YAML(typ="safe").load((REPO / ".github" / "workflows" / "preview.yml").read_text())
    steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["offline"]["steps"])
    assert "head/.github/seawall-preview.sh" in steps
    assert workflow["jobs"]["ipsets"]["steps"][-1]["run"].endswith("seawall resolve --check")
    assert workflow["jobs"]["pulumi-preview"]["steps"][-1]["with"]["policyPacks"] == "policy"
