"""Stack configuration errors name the config key (and file:line), exit 2, and never widen a rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import variant
from conftest import REPO
from seawall.cli import app
from seawall.errors import ConfigError
from seawall.stackconfig import load_stack_config
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
