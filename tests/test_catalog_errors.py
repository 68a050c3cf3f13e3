"""Bad catalogue input: one line naming file:line, what is wrong and what is valid; exit 2."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CATALOG_DIR
from seawall.catalog import load_catalog
from seawall.cli import app
from seawall.errors import CatalogError
from typer.testing import CliRunner

SEG = (CATALOG_DIR / "clearswift-seg.yaml").read_text(encoding="utf-8")


def broken_catalog(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    """A copy of the shipped catalogue with one textual change to the SEG file."""
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, target, ignore=shutil.ignore_patterns("__init__.py", "*.json", "__pycache__"))
    assert old in SEG, f"test fixture text not found: {old!r}"
    (target / "clearswift-seg.yaml").write_text(SEG.replace(old, new, count), encoding="utf-8")
    return target


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


CASES = [
    # (what, old text, new text, text marking the expected line, message fragment)
    ("yaml syntax", "  - id: seg-rss-feed\n", "  - id: [seg-rss-feed\n", "  - id: [seg-rss-feed", "YAML syntax error"),
    (
        "unknown key",
        "  - id: seg-ntp\n",
        "  - id: seg-ntp\n    prots: [1]\n",
        "prots:",
        "unknown key 'prots'; valid: direction, features, host, id",
    ),
    (
        "port out of range",
        "ports: [514]",
        "ports: [70000]",
        "ports: [70000]",
        "port 70000 is out of range; valid: 1–65535",
    ),
    ("port not a number", "ports: [514]", "ports: [syslog]", "ports: [syslog]", "port 'syslog' is not a number"),
    ("reversed range", "ports: [514]", "ports: [[600, 514]]", "ports: [[600, 514]]", "reversed"),
    (
        "unknown protocol",
        "protocol: udp\n    ports: [123]",
        "protocol: sctp\n    ports: [123]",
        "protocol: sctp",
        "'sctp' is not valid; valid: 'tcp' or 'udp'",
    ),
    (
        "malformed ip",
        "addresses: [79.125.18.99]",
        "addresses: [79.125.18.999]",
        "79.125.18.999",
        "'79.125.18.999' is not an IP address",
    ),
    (
        "duplicate id",
        "  - id: seg-rss-feed\n",
        "  - id: seg-apphelp\n",
        "  - id: seg-apphelp\n    host: gateway\n    direction: outbound\n    protocol: tcp\n    ports: [80]\n    peer: {service: rss-feed}",
        "duplicate id 'seg-apphelp'",
    ),
    (
        "unknown feature",
        "features: [syslog]\n    purpose",
        "features: [sislog]\n    purpose",
        "features: [sislog]",
        "unknown feature 'sislog'; valid:",
    ),
    (
        "unknown site peer",
        "peer: {site: syslog-server}",
        "peer: {site: syslog-servers}",
        "peer: {site: syslog-servers}",
        "unknown site 'syslog-servers'; valid:",
    ),
    (
        "unknown service",
        "peer: {service: rss-feed}",
        "peer: {service: rss}",
        "peer: {service: rss}",
        "unknown service 'rss'",
    ),
    ("unknown peer word", "peer: {site: syslog-server}", "peer: everyone", "peer: everyone", "unknown peer 'everyone'"),
    (
        "bad direction",
        "direction: outbound\n    protocol: tcp\n    ports: [514]",
        "direction: out\n    protocol: tcp\n    ports: [514]",
        "direction: out\n",
        "'out' is not valid; valid: 'inbound', 'outbound' or 'both'",
    ),
    (
        "in/out without initiator",
        "    initiator: host\n    protocol: [udp, tcp]",
        "    protocol: [udp, tcp]",
        "  - id: seg-dns",
        "needs initiator",
    ),
    (
        "unknown host",
        "  - id: seg-syslog\n    host: gateway",
        "  - id: seg-syslog\n    host: gateway2",
        "host: gateway2",
        "unknown host 'gateway2'; valid: gateway",
    ),
]


@pytest.mark.parametrize(("what", "old", "new", "marker", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_mistake_names_file_line_and_what_is_valid(
    tmp_path: Path, what: str, old: str, new: str, marker: str, fragment: str
) -> None:
    directory = broken_catalog(tmp_path, old, new)
    text = (directory / "clearswift-seg.yaml").read_text(encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    message = str(info.value)
    assert "\n" not in message
    match = re.match(r"^(.+clearswift-seg\.yaml):(\d+): (.+)$", message)
    assert match, message
    expected_line = line_of(text, marker)
    if what == "duplicate id":
        expected_line = line_of(
            text,
            "  - id: seg-apphelp\n    host: gateway\n    direction: outbound\n    protocol: tcp\n    ports: [80]\n    peer: {service: rss-feed}",
        )
    if what == "yaml syntax":  # the parser notices on the next line and cites where the list began
        assert f"at line {expected_line})" in message, message
    else:
        assert int(match.group(2)) == expected_line, message
    assert fragment in message


def test_missing_source_is_an_error(tmp_path: Path) -> None:
    old = "    source:\n      section: Internal Connections\n      row: To the central SYSLOG server TCP 514\n"
    directory = broken_catalog(tmp_path, old, "")
    with pytest.raises(
        CatalogError,
        match=r"clearswift-seg\.yaml:\d+: entries\[\d+\] \(seg-syslog\)\.source: missing required key 'source'",
    ):
        load_catalog(directory)


def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    directory = broken_catalog(tmp_path, "ports: [514]", "ports: [0]")
    result = CliRunner().invoke(app, ["catalog", "--catalog", str(directory), "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "clearswift-seg.yaml:" in lines[0] and "port 0 is out of range" in lines[0]


def test_a_real_process_shows_no_traceback(tmp_path: Path) -> None:
    directory = broken_catalog(tmp_path, "protocol: udp\n    ports: [123]", "protocol: icmp\n    ports: [123]")
    proc = subprocess.run(
        [sys.executable, "-m", "seawall.cli", "catalog", "--catalog", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "'icmp' is not valid" in proc.stderr


def test_unknown_product_lists_the_valid_ones(runner: CliRunner) -> None:
    result = runner.invoke(app, ["catalog", "--product", "clearswift"])
    assert result.exit_code == 2
    assert "unknown product 'clearswift'; valid: clearswift-seg, clearswift-sxg, trendmicro-imss" in result.stderr
