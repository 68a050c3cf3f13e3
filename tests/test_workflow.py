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


def project_copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    target.mkdir()
    shutil.copytree(REPO / "stacks", target / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_an_unchanged_repository_gets_a_quiet_comment(tmp_path: Path) -> None:
    base, head = project_copy(tmp_path, "base"), project_copy(tmp_path, "head")
    out = tmp_path / "preview.md"
    assert preview(base, head, out) == 0
    text = out.read_text()
    assert text.startswith("<!-- seawall-preview -->")
    for stack in ("dmz-aws", "dmz-azure", "mss-distributed-aws", "mss-distributed-azure"):
        assert f"### seawall diff: `{stack}`" in text and f"#### seawall check: `{stack}`: passed" in text
    assert text.count("No firewall change.") == 4


def test_a_broadening_change_is_flagged_and_can_fail_the_run(tmp_path: Path) -> None:
    base, head = project_copy(tmp_path, "base"), project_copy(tmp_path, "head")
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
