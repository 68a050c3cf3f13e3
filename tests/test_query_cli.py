"""`seawall query` as scripts use it: verdicts, the deciding rules and entries, exit codes."""

from __future__ import annotations

import json

from conftest import REPO
from seawall.cli import app
from typer.testing import CliRunner

STACKS = str(REPO / "stacks")


def query(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["query", "--stacks-dir", STACKS, *args])
    return result.exit_code, result.stdout, result.stderr


def test_allowed_exits_0_and_names_rule_and_entry() -> None:
    code, out, _ = query("--stack", "dmz-aws", "--from", "internet", "--to", "gateway", "--port", "25/tcp")
    assert code == 0
    assert "aws: ALLOWED" in out and "dmz-gateway-in-tcp-25-internet-ipv4" in out and "seg-smtp-receive" in out


def test_denied_exits_1_on_both_clouds() -> None:
    code, out, _ = query(
        "--stack", "dmz-aws", "--from", "internet", "--to", "gateway", "--port", "22/tcp", "--cloud", "both"
    )
    assert code == 1 and "aws: DENIED" in out and "azure: DENIED" in out and "deny-all-inbound" in out


def test_json_answers_per_cloud() -> None:
    code, out, _ = query(
        "--stack",
        "mss-distributed-azure",
        "--from",
        "child",
        "--to",
        "role:parent",
        "--port",
        "5432/tcp",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert (
        code == 0
        and data["answers"][0]["verdict"] == "ALLOWED"
        and data["answers"][0]["entries"] == ["imss-postgresql"]
    )


def test_roles_print_as_text_not_emoji() -> None:
    _, out, _ = query("--stack", "mss-distributed-aws", "--from", "child", "--to", "parent", "--port", "5432/tcp")
    assert "role:child" in out


def test_bad_port_and_unknown_peer_exit_2() -> None:
    code, _, err = query("--stack", "dmz-aws", "--from", "internet", "--to", "gateway", "--port", "25/icmp")
    assert code == 2 and "--port" in err
    code, _, err = query("--stack", "dmz-aws", "--from", "site:nobody", "--to", "gateway", "--port", "25/tcp")
    assert code == 2 and "not bound" in err
