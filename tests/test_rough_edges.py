"""Issue 18's rough edges, each found by trying seawall as a new user would; each test failed before its fix.

Commands run as a user runs them where it matters (a real process, a real pipe); the rest
through Typer's runner, whose stdout and stderr are not terminals, like a pipe's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from conftest import CATALOG_DIR, REPO
from seawall.catalog import load_catalog
from seawall.cli import app
from typer.testing import CliRunner, Result

SEAWALL = str(Path(sys.executable).with_name("seawall"))
STACKS = REPO / "stacks"


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # as in a script: no width given
    env.update(kwargs.pop("env", {}))
    return subprocess.run(
        [SEAWALL, *args], capture_output=True, text=True, cwd=REPO, env=env, check=False, timeout=300, **kwargs
    )


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


# --- 1. piped tables and closed pipes ------------------------------------------------------


def test_piped_tables_use_the_full_width_and_keep_ids_whole() -> None:
    result = run("catalog")
    assert result.returncode == 0, result.stderr
    ids = [entry.id for _, entry in load_catalog(CATALOG_DIR).entries()]
    split = [i for i in ids if not re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", result.stdout)]
    assert not split, f"ids wrapped across lines in piped output: {split[:5]}"
    assert max(len(line) for line in result.stdout.splitlines()) > 80


def test_a_piped_plan_table_keeps_every_catalogue_id_whole() -> None:
    result = run("plan", "--stack", "dmz-aws")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ in ") or line.startswith("│ out ")]
    # One line per rule, its last cell whole catalogue ids (folded at 80 columns, they broke mid-id).
    known = {entry.id for _, entry in load_catalog(CATALOG_DIR).entries()}
    cells = [row.rstrip(" │").rsplit("│", 1)[-1].strip() for row in rows]
    assert rows and all(cell and set(cell.split(", ")) <= known for cell in cells), cells


def into_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader has already gone: what ``seawall … | head`` meets, without the race."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [SEAWALL, *args], stdout=write, stderr=subprocess.PIPE, text=True, cwd=REPO, check=False, timeout=300
        )
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args",
    [
        ("catalog",),
        ("catalog", "--format", "json"),
        ("schema",),
        ("plan", "--stack", "dmz-aws", "--format", "json"),
        ("query", "--stack", "dmz-aws", "--from", "internet", "--to", "gateway", "--port", "22/tcp"),  # DENIED
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_a_closed_pipe_is_a_quiet_exit_0(args: tuple[str, ...]) -> None:
    result = into_closed_pipe(*args)
    assert (result.returncode, result.stderr) == (0, "")


def test_errors_still_exit_2_when_stdout_is_closed() -> None:
    result = into_closed_pipe("plan", "--stack", "no-such-stack")
    assert result.returncode == 2 and result.stderr.startswith("seawall: error: ")


# --- 2. priorities ---------------------------------------------------------------------------


def stacks_copy(tmp_path: Path) -> Path:
    target = tmp_path / "stacks"
    shutil.copytree(STACKS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_priorities_of_an_aws_stack_is_one_line_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path)
    for args in (["--stack", "dmz-aws"], ["--stack", "dmz-azure", "--stack", "dmz-aws", "--write"]):
        before = sorted(p.name for p in stacks.iterdir())
        result = invoke("priorities", *args, "--stacks-dir", str(stacks))
        assert result.exit_code == 2 and result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("seawall: error: --stack dmz-aws: an AWS stack: ") and "no priorities" in line
        assert "valid: an Azure stack (" in line and "dmz-azure" in line
        assert sorted(p.name for p in stacks.iterdir()) == before


def pinned(lock: Path) -> str:
    data: dict[str, dict[str, dict[str, int]]] = json.loads(lock.read_text(encoding="utf-8"))
    total = sum(len(names) for dirs in data.values() for names in dirs.values())
    roles = "; ".join(
        f"{role}: " + ", ".join(f"{len(names)} {d.lower()}" for d, names in sorted(dirs.items()))
        for role, dirs in sorted(data.items())
    )
    return f"{total} rules pinned ({roles})"


def test_priorities_reports_what_it_pins_when_it_checks_and_when_it_writes(tmp_path: Path) -> None:
    stacks = stacks_copy(tmp_path)
    lock = stacks / "dmz-azure.priorities.json"
    checked = invoke("priorities", "--stack", "dmz-azure", "--stacks-dir", str(stacks))
    assert checked.exit_code == 0
    assert checked.stderr.strip() == f"{lock} is current: {pinned(lock)}"
    assert pinned(lock).startswith("26 rules pinned (gateway: 6 inbound, 20 outbound")
    lock.unlink()
    stale = invoke("priorities", "--stack", "dmz-azure", "--stacks-dir", str(stacks))
    assert (
        stale.exit_code == 1
        and ": missing; it should pin 26 rules (gateway" in stale.stderr
        and "--write" in stale.stderr
    )
    written = invoke("priorities", "--stack", "dmz-azure", "--stacks-dir", str(stacks), "--write")
    assert written.exit_code == 0 and written.stderr.strip() == f"wrote {lock}: {pinned(lock)}"


# --- 3. resolve with no DNS -------------------------------------------------------------------


@pytest.fixture()
def deaf_nameserver() -> Iterator[str]:
    """A UDP port on loopback that takes questions and never answers: DNS unreachable, as on a closed network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def resolve(lock: Path, nameserver: str, *extra: str) -> Result:
    return invoke(
        "resolve",
        "--product",
        "clearswift-seg",
        "--lock",
        str(lock),
        "--nameserver",
        nameserver,
        "--timeout",
        "0.2",
        "--retries",
        "0",
        "--stacks-dir",
        str(lock.parent / "no-stacks"),
        *extra,
    )


@pytest.mark.parametrize("extra", [(), ("--allow-partial",), ("--check",)], ids=["plain", "allow-partial", "check"])
def test_resolve_with_no_dns_says_nothing_resolved_and_why_and_writes_nothing(
    tmp_path: Path, deaf_nameserver: str, extra: tuple[str, ...]
) -> None:
    lock = tmp_path / "ipsets.lock.json"
    result = resolve(lock, deaf_nameserver, *extra)
    assert result.exit_code == 1 and not lock.exists()
    assert result.stdout == "", "no 'resolved N hostnames; 0 changed', no table of documented addresses"
    (line,) = result.stderr.splitlines()  # one line, not the progress bar's blank one nor one per host
    assert line.startswith("nothing resolved: none of 14 hostnames got an address from " + deaf_nameserver)
    assert f"14 timeout: no answer from {deaf_nameserver} within 0.2s" in line
    assert line.endswith(f"{lock} {'cannot tell whether it is current' if extra == ('--check',) else 'not written'}")


def test_resolve_json_with_no_dns_says_so_in_the_document(tmp_path: Path, deaf_nameserver: str) -> None:
    lock = tmp_path / "ipsets.lock.json"
    result = resolve(lock, deaf_nameserver, "--format", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and not lock.exists()
    assert (data["asked"], data["answered"], data["nothingResolved"], data["written"]) == (14, 0, True, False)


def test_resolve_draws_no_progress_where_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    from dnszone import dns_server
    from test_resolve import healthy_zone

    lock = tmp_path / "ipsets.lock.json"
    with dns_server(healthy_zone()) as (server, _):
        result = resolve(lock, server)
    assert result.exit_code == 0 and lock.is_file()
    assert result.stderr.splitlines()[0] != "", "a stopped progress bar left a blank line"
    assert "\x1b" not in result.stderr and "resolving" not in result.stderr
    assert result.stdout.startswith("resolved 14 of 14 hostnames; 14 changed")


# --- 4. check names the resource once ------------------------------------------------------------


def management_from_the_internet(tmp_path: Path) -> Path:
    stacks = stacks_copy(tmp_path)
    for name in ("dmz-aws", "dmz-azure"):
        path = stacks / f"Pulumi.{name}.yaml"
        text = path.read_text(encoding="utf-8")
        assert "admin-clients: [198.51.100.0/28]" in text
        path.write_text(text.replace("admin-clients: [198.51.100.0/28]", "admin-clients: [internet]"), encoding="utf-8")
    return stacks


@pytest.mark.parametrize("stack", ["dmz-aws", "dmz-azure"])
def test_check_names_the_resource_once_per_finding(tmp_path: Path, stack: str) -> None:
    stacks = management_from_the_internet(tmp_path)
    found = invoke("check", "--stack", stack, "--stacks-dir", str(stacks), "--format", "json")
    assert found.exit_code == 1
    violations = json.loads(found.stdout)["violations"]
    assert violations
    table = invoke("check", "--stack", stack, "--stacks-dir", str(stacks))
    markdown = invoke("check", "--stack", stack, "--stacks-dir", str(stacks), "--format", "markdown")
    lines = table.stdout.splitlines()[:-1]  # the last line is the verdict
    items = [line for line in markdown.stdout.splitlines() if line.startswith("- ")]
    assert len(lines) == len(items) == len(violations)
    for view in (lines, items):
        for line, v in zip(view, violations, strict=True):
            assert line.count(v["resource"]) == 1, line
            assert v["message"].split(": ", 1)[-1] in line  # what is wrong is still said in full


# --- 5. render --format json: camelCase keys ------------------------------------------------------


def keys(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every key of a JSON document with where it is; tag names are data (``seawall:stack``), not keys."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield path, key
            if key != "tags":
                yield from keys(child, f"{path}.{key}")
    elif isinstance(value, list):
        for child in value:
            yield from keys(child, f"{path}[]")


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_render_json_keys_are_all_camel_case(cloud: str) -> None:
    result = invoke("render", "--stack", "dmz-aws", "--cloud", cloud, "--format", "json")
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)
    wrong = sorted({f"{where}.{key}" for where, key in keys(spec) if not re.fullmatch(r"[a-z][a-zA-Z0-9]*", key)})
    assert not wrong, f"not camelCase: {wrong}"
    assert result.stdout == invoke("render", "--stack", "dmz-aws", "--cloud", cloud).stdout  # json is the default


def test_render_json_uses_the_plans_spelling_of_the_same_inputs() -> None:
    spec = json.loads(invoke("render", "--stack", "dmz-aws").stdout)
    plan = json.loads(invoke("plan", "--stack", "dmz-aws", "--format", "json").stdout)
    planned = {key for r in plan["resources"] for key in r["inputs"]}
    rendered = {key for rule in spec["rules"] for key in rule} | {key for pl in spec["prefixLists"] for key in pl}
    assert {"ipProtocol", "fromPort", "toPort", "maxEntries", "addressFamily"} <= rendered & planned


# --- 6. --version and shell completion -----------------------------------------------------------


def test_version_prints_the_installed_version() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"seawall {version('seawall')}\n", "")


def test_shell_completion_is_offered_and_completes_commands_and_choices() -> None:
    assert "--install-completion" in run("--help").stdout and "--show-completion" in run("--help").stdout
    script = run("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert script.returncode == 0 and "_SEAWALL_COMPLETE" in script.stdout
    words = run(env={"_SEAWALL_COMPLETE": "complete_bash", "COMP_WORDS": "seawall pri", "COMP_CWORD": "1"})
    assert words.stdout.split() == ["priorities"]
    formats = run(env={"_SEAWALL_COMPLETE": "complete_bash", "COMP_WORDS": "seawall plan --format ", "COMP_CWORD": "3"})
    assert formats.stdout.split() == ["table", "json", "markdown", "mermaid"]


# --- 7. provenance tests say why they skip -------------------------------------------------------


def provenance_run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The provenance tests in a checkout that has no ../shared/seeds beside it (a contributor's clone)."""
    repo = tmp_path / "clone"
    (repo / "tests").mkdir(parents=True)
    for name in ("conftest.py", "test_catalog_provenance.py"):
        shutil.copy(REPO / "tests" / name, repo / "tests" / name)
    (repo / "catalog").symlink_to(CATALOG_DIR, target_is_directory=True)
    environ = {k: v for k, v in os.environ.items() if k != "SEAWALL_SEEDS"} | env
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "tests/test_catalog_provenance.py"],
        cwd=repo,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_provenance_tests_say_where_they_looked_and_how_to_point_them_at_the_documents(tmp_path: Path) -> None:
    result = provenance_run(tmp_path)
    assert result.returncode == 0, result.stdout
    seeds = [p.document.seed for p in load_catalog(CATALOG_DIR).products.values()]
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips, result.stdout
    for line in skips:
        assert str(tmp_path / "shared" / "seeds") in line and "SEAWALL_SEEDS=" in line
        assert all(seed in line for seed in seeds)
    assert re.search(r"\b([5-9]|\d{2,}) passed", result.stdout), "the checks that need no document still run"


def test_a_seawall_seeds_that_names_no_documents_fails_rather_than_skips(tmp_path: Path) -> None:
    result = provenance_run(tmp_path, SEAWALL_SEEDS=str(tmp_path / "typo"))
    assert result.returncode == 1 and "SKIPPED" not in result.stdout
    assert f"not in {tmp_path / 'typo'} ($SEAWALL_SEEDS)" in result.stdout


def test_the_default_name_prefix_is_the_stack_so_two_dmz_stacks_in_one_vpc_do_not_collide() -> None:
    from builders import variant
    from seawall.stack import render_aws_stack

    base = {
        "topology": "dmz",
        "cloud": "aws",
        "vpcId": "vpc-0123456789abcdef0",
        "peers": {
            "internal-mail-servers": ["192.0.2.10/32"],
            "dns-servers": ["192.0.2.53/32"],
            "admin-clients": ["198.51.100.0/28"],
        },
    }
    seg = render_aws_stack(variant({**base, "product": "clearswift-seg"}, stack="mail-seg"))
    sxg = render_aws_stack(variant({**base, "product": "clearswift-sxg"}, stack="mail-sxg"))
    seg_names = {sg.group_name for sg in seg.security_groups}
    assert seg_names == {"mail-seg-gateway"}
    assert seg_names.isdisjoint(sg.group_name for sg in sxg.security_groups)
    named = render_aws_stack(variant({**base, "product": "clearswift-seg", "namePrefix": "dmz"}, stack="x"))
    assert {sg.group_name for sg in named.security_groups} == {"dmz-gateway"}
