"""Stack configuration errors name the config key (and file:line), exit 2, and never widen a rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from builders import variant
from conftest import REPO
from seawall.cli import app
from seawall.errors import ConfigError
from seawall.stackconfig import load_stack_config
from seawall.yamlsource import display_path
from typer.testing import CliRunner

STACK = (REPO / "stacks" / "Pulumi.dmz-aws.yaml").read_text(encoding="utf-8")


def stack_dir(tmp_path: Path, old: str, new: str) -> Path:
    assert old in STACK
    (tmp_path / "Pulumi.dmz-aws.yaml").write_text(STACK.replace(old, new), encoding="utf-8")
    return tmp_path


CASES = [
    (
        "unknown seawall key",
        "  seawall:tags:",
        "  seawall:featurez: [pmm]\n  seawall:tags:",
        "seawall:featurez",
        "unknown key 'featurez'",
    ),
    (
        "host bits",
        "[198.51.100.0/28]",
        "[198.51.100.1/28]",
        "seawall:peers.admin-clients[0]",
        "has host bits set; valid: 198.51.100.0/28",
    ),
    (
        "not an address",
        "[192.0.2.20/32]",
        "[syslog.example]",
        "seawall:peers.syslog-server[0]",
        "is not a valid binding",
    ),
    ("azure id on aws", "[192.0.2.20/32]", "[VirtualNetwork]", "seawall:peers.syslog-server[0]", "is an Azure name"),
    ("unknown feature", "[kaspersky, pmm,", "[kaspersky, pmmm,", "seawall:features[1]", "unknown feature 'pmmm'"),
    (
        "unknown site peer",
        "    syslog-server:",
        "    syslog-servers:",
        "seawall:peers.syslog-servers",
        "unknown site peer 'syslog-servers'",
    ),
    (
        "missing binding",
        "    syslog-server: [192.0.2.20/32]\n",
        "",
        "seawall:peers.syslog-server",
        "needs site peer 'syslog-server'",
    ),
    ("bad cloud", "seawall:cloud: aws", "seawall:cloud: gcp", "seawall:cloud", "'gcp' is not valid"),
    ("bad vpc", "vpc-0123456789abcdef0", "vpc-123", "seawall:vpcId", "malformed"),
    (
        "whole internet by accident",
        "[198.51.100.0/28]",
        "[0.0.0.0/0]",
        "seawall:peers.admin-clients[0]",
        "write 'internet'",
    ),
]


@pytest.mark.parametrize(("what", "old", "new", "key", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_config_errors_name_the_key_and_line(
    tmp_path: Path, what: str, old: str, new: str, key: str, fragment: str
) -> None:
    directory = stack_dir(tmp_path, old, new)
    result = CliRunner().invoke(app, ["flows", "--stack", "dmz-aws", "--stacks-dir", str(directory)])
    assert result.exit_code == 2, result.stdout
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "Pulumi.dmz-aws.yaml:" in line and key in line and fragment in line, line


AZURE_PLACEMENT = "valid on azure: resourceGroupName and location"
# (id, stack, the line after which the key is added, the key's line, the key, the message)
OTHER_CLOUDS_KEYS = [
    (
        "vpcId-on-azure",
        "dmz-azure",
        "  seawall:location: westeurope\n",
        "  seawall:vpcId: vpc-0123456789abcdef0\n",
        "seawall:vpcId",
        f"applies to AWS stacks; this stack's seawall:cloud is azure; {AZURE_PLACEMENT}",
    ),
    (
        "resourceGroupName-on-aws",
        "dmz-aws",
        "  seawall:vpcId: vpc-0123456789abcdef0\n",
        "  seawall:resourceGroupName: rg-mail-dmz\n",
        "seawall:resourceGroupName",
        "applies to Azure stacks; this stack's seawall:cloud is aws; valid on aws: vpcId",
    ),
    (
        "location-on-aws",
        "dmz-aws",
        "  seawall:vpcId: vpc-0123456789abcdef0\n",
        "  seawall:location: westeurope\n",
        "seawall:location",
        "applies to Azure stacks; this stack's seawall:cloud is aws; valid on aws: vpcId",
    ),
]


@pytest.mark.parametrize(
    ("stack", "after", "added", "key", "message"), [pytest.param(*c[1:], id=c[0]) for c in OTHER_CLOUDS_KEYS]
)
def test_a_key_for_the_other_cloud_is_refused_not_ignored(
    tmp_path: Path, stack: str, after: str, added: str, key: str, message: str
) -> None:
    """A stack copied from the other cloud's keeps its placement: plan refuses it instead of reading past it."""
    text = (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    assert after in text
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(text.replace(after, after + added, 1), encoding="utf-8")
    pins = REPO / "stacks" / f"{stack}.priorities.json"
    if pins.exists():
        shutil.copy(pins, tmp_path / pins.name)
    line = path.read_text(encoding="utf-8").splitlines().index(added.rstrip("\n")) + 1
    result = CliRunner().invoke(app, ["plan", "--stack", stack, "--stacks-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    assert result.stderr == f"seawall: error: {display_path(path)}:{line}: {key}: {message}\n"


def test_the_line_number_points_at_the_offending_value(tmp_path: Path) -> None:
    directory = stack_dir(tmp_path, "[198.51.100.0/28]", "[198.51.100.1/28]")
    with pytest.raises(ConfigError) as info:
        config = load_stack_config("dmz-aws", directory)
        del config
    text = (directory / "Pulumi.dmz-aws.yaml").read_text().splitlines()
    line = int(str(info.value).split(":")[1])
    assert "198.51.100.1/28" in text[line - 1]


def test_a_missing_binding_never_widens_a_rule() -> None:
    with pytest.raises(ConfigError, match=r"seawall:peers\.internal-mail-servers: missing; entry seg-smtp-receive"):
        variant(
            {
                "topology": "dmz",
                "cloud": "aws",
                "product": "clearswift-seg",
                "vpcId": "vpc-0123456789abcdef0",
                "peers": {},
            }
        )


def test_unknown_stack_lists_the_shipped_ones() -> None:
    result = CliRunner().invoke(app, ["flows", "--stack", "nope", "--stacks-dir", str(REPO / "stacks")])
    from builders import SHIPPED

    assert result.exit_code == 2 and "no such stack 'nope'; valid: " in result.stderr
    assert all(name in result.stderr for name in SHIPPED)
