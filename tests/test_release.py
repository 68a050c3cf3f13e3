"""A release a platform team can pin: one version, a changelog, a clean build, a wheel that works alone.

The build and its checks are ``tools/build-release``, the script the release workflow runs on a
version tag; the wheel it makes is installed into a fresh virtual environment (not editable, no
checkout on the path) and plans a stack of a scratch project.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import seawall
from conftest import REPO
from ruamel.yaml import YAML

BUILD_RELEASE = REPO / "tools" / "build-release"
CHANGELOG = REPO / "CHANGELOG.md"
RELEASE_WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
KINDS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def run_build_release(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD_RELEASE), *args], capture_output=True, text=True, cwd=REPO, check=False
    )


# --- the version and the changelog ------------------------------------------------------------------------------


def test_the_version_has_one_source() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "seawall.__version__"}
    from importlib.metadata import version

    assert version("seawall") == seawall.__version__


def test_the_changelog_keeps_a_changelog_and_has_a_dated_section_for_the_version() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    sections = re.findall(r"^## \[(.+?)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert sections[0] == ("Unreleased", ""), "the first section is [Unreleased]"
    released = [(name, date) for name, date in sections[1:]]
    assert all(date for _, date in released), "every released version has a date"
    assert (seawall.__version__, released[0][1]) == released[0], "the newest release is the package's version"
    versions = [tuple(int(part) for part in name.split(".")) for name, _ in released]
    assert versions == sorted(versions, reverse=True), "newest first"
    kinds = set(re.findall(r"^### (.+)$", text, re.M))
    assert kinds <= KINDS, f"Keep a Changelog's kinds only, not {kinds - KINDS}"


def test_a_tag_that_is_not_the_version_is_refused() -> None:
    wrong = run_build_release("--tag", "v99.0.0", "--no-build")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == (
        f"build-release: error: tag 'v99.0.0' does not name the package's version {seawall.__version__}; "
        f"valid: v{seawall.__version__}"
    )
    right = run_build_release("--tag", f"v{seawall.__version__}", "--no-build")
    assert (right.returncode, right.stderr) == (0, "")


# --- the workflow ------------------------------------------------------------------------------------------------


def test_the_release_workflow_runs_on_version_tags_and_publishes_with_no_stored_token() -> None:
    workflow = YAML(typ="safe").load(RELEASE_WORKFLOW.read_text(encoding="utf-8"))
    assert workflow["on"]["push"]["tags"] == ["v*.*.*"]
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    runs = [step.get("run", "") for step in build["steps"]]
    assert any('tools/build-release --tag "$GITHUB_REF_NAME"' in run for run in runs)
    assert publish["needs"] == "build" and publish["permissions"] == {"id-token": "write"}
    (upload,) = [s for s in publish["steps"] if str(s.get("uses", "")).startswith("pypa/gh-action-pypi-publish@")]
    assert "with" not in upload, "trusted publishing: no password or token input"
    assert "secrets." not in RELEASE_WORKFLOW.read_text(encoding="utf-8")


# --- the build and the wheel -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = run_build_release("--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_the_build_makes_a_wheel_and_an_sdist_without_warnings_that_twine_accepts(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert names == [f"seawall-{seawall.__version__}-py3-none-any.whl", f"seawall-{seawall.__version__}.tar.gz"]
    with zipfile.ZipFile(dist / names[0]) as wheel:
        files = set(wheel.namelist())
    assert {"seawall/topologies/dmz.yaml", "seawall/topologies/mss-distributed.yaml", "seawall/py.typed"} <= files
    assert {"seawall/vendors/clearswift-seg.yaml", "seawall/vendors/catalog.schema.json"} <= files


SCRATCH_STACK = """\
config:
  aws:region: eu-west-1
  seawall:topology: dmz
  seawall:cloud: aws
  seawall:product: clearswift-seg
  seawall:features: [sophos]
  seawall:vpcId: vpc-0123456789abcdef0
  seawall:peers:
    internal-mail-servers: [10.20.1.0/24]
    admin-clients: [10.30.0.0/24]
    dns-servers: [10.20.0.2/32]
"""


def test_the_wheel_alone_plans_a_stack_of_a_scratch_project(dist: Path, tmp_path: Path) -> None:
    """What a platform team does with a pinned release: no checkout, no editable install, its own project."""
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = Parser().parsestr(archive.read(f"seawall-{seawall.__version__}.dist-info/METADATA").decode())
    extras = metadata.get_all("Provides-Extra") or []
    requirement = f"seawall[aws] @ {wheel.as_uri()}" if "aws" in extras else str(wheel)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    install = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(REPO / "requirements.lock"),
            requirement,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    project = tmp_path / "my-firewall"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: my-firewall\nruntime: python\nstackConfigDir: stacks\n")
    (project / "stacks" / "Pulumi.edge.yaml").write_text(SCRATCH_STACK)
    seawall_bin = str(venv / "bin" / "seawall")

    version = subprocess.run([seawall_bin, "--version"], capture_output=True, text=True, cwd=project, env=env)
    assert version.stdout.strip() == f"seawall {seawall.__version__}"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import seawall; print(seawall.__file__)"],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), "the installed wheel, not the checkout, is what ran"

    plan = subprocess.run(
        [seawall_bin, "plan", "--stack", "edge", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        check=False,
    )
    assert plan.returncode == 0, plan.stderr
    resources = json.loads(plan.stdout)["resources"]
    ingress = [
        r["inputs"] for r in resources if r["type"] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    ]
    smtp = [r for r in ingress if r.get("fromPort") == 25 and r.get("cidrIpv4") == "0.0.0.0/0"]
    assert smtp, "SMTP from the internet reaches the scratch project's gateway on 25/tcp"
    ssh = [r for r in ingress if r.get("fromPort") == 22]
    assert [r.get("cidrIpv4") for r in ssh] == ["10.30.0.0/24"], "SSH only from the admin clients the stack binds"
