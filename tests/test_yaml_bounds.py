"""YAML cannot exhaust the machine: alias bombs, merge keys, deep nesting and huge files are one-line errors.

The hostile cases run the CLI in a child process whose address space is capped a
few hundred MB above what it holds after start-up, and which is measured with
tracemalloc: a regression then fails the test (MemoryError, a crash, a timeout)
instead of taking gigabytes from the machine running the suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from conftest import CATALOG_DIR, REPO
from seawall.catalog import load_catalog
from seawall.cli import app
from seawall.errors import UserError
from seawall.stackconfig import load_stack_config
from seawall.topology import available_topologies, load_topology, topology_dir
from seawall.yamlsource import MAX_DEPTH, MAX_YAML_BYTES, read_yaml
from typer.testing import CliRunner

STACKS_DIR = REPO / "stacks"
STACK = (STACKS_DIR / "Pulumi.dmz-aws.yaml").read_text(encoding="utf-8")

# Runs argv[2:] through the CLI twice: once on argv[1]'s harmless twin to load every module the command
# needs, then on the hostile input under a hard address-space cap, measuring time and Python allocations.
CHILD = r"""
import json, resource, sys, time, tracemalloc
from typer.testing import CliRunner
from seawall.cli import app

runner = CliRunner()
runner.invoke(app, json.loads(sys.argv[1]))
with open("/proc/self/statm") as statm:
    mapped = int(statm.read().split()[0]) * resource.getpagesize()
cap = mapped + 512 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
tracemalloc.start()
started = time.perf_counter()
result = runner.invoke(app, sys.argv[2:])
seconds = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"exit": result.exit_code, "output": result.output, "seconds": seconds, "peak": peak,
                  "exception": repr(result.exception) if result.exit_code not in (0, 2) else None}))
"""


def run_isolated(warm: list[str], args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(warm), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def billion_laughs(indent: str = "") -> list[str]:
    """Nine levels of nine aliases over nine strings: 9**10 references (gigabytes once copied) in ten lines."""
    lines = [f'{indent}lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"{indent}lol{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return lines


def one_error_line(output: str, file_name: str) -> tuple[int, str]:
    """The (line, message) of the single `seawall: error: <file>:<line>: <message>` line the CLI printed."""
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    match = re.fullmatch(rf"seawall: error: \S*{re.escape(file_name)}:(\d+): (.+)", lines[0])
    assert match, lines[0]
    return int(match[1]), match[2]


def assert_cheap(result: dict[str, Any]) -> None:
    assert result["exception"] is None, result["exception"]
    assert result["seconds"] < 1.0, f"took {result['seconds']:.2f}s"
    assert result["peak"] < 4 * 2**20, f"allocated {result['peak'] / 2**20:.1f} MiB"


def test_an_alias_bomb_in_a_stack_file_is_refused_within_a_second_and_a_few_mb(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.warm.yaml").write_text("config: []\n", encoding="utf-8")
    text = "config:\n  seawall:topology: dmz\n  seawall:cloud: aws\n" + "\n".join(billion_laughs("  ")) + "\n"
    (tmp_path / "Pulumi.bomb.yaml").write_text(text, encoding="utf-8")
    warm = ["plan", "--stack", "warm", "--stacks-dir", str(tmp_path)]
    result = run_isolated(warm, ["plan", "--stack", "bomb", "--stacks-dir", str(tmp_path)])
    assert_cheap(result)
    assert result["exit"] == 2
    line, message = one_error_line(result["output"], "Pulumi.bomb.yaml")
    assert line == 4  # the first anchor, &a0
    assert message.startswith("YAML anchor &a0: anchors and aliases (&name, *name) are not accepted")


def test_an_alias_bomb_in_a_catalogue_is_refused_within_a_second_and_a_few_mb(tmp_path: Path) -> None:
    warm_dir, bomb_dir = tmp_path / "warm", tmp_path / "bomb"
    warm_dir.mkdir()
    bomb_dir.mkdir()
    (warm_dir / "warm.yaml").write_text("product: [\n", encoding="utf-8")
    text = "product: lol\n" + "\n".join(billion_laughs()) + "\n"
    (bomb_dir / "lol.yaml").write_text(text, encoding="utf-8")
    result = run_isolated(["catalog", "--catalog", str(warm_dir)], ["catalog", "--catalog", str(bomb_dir)])
    assert_cheap(result)
    assert result["exit"] == 2
    line, message = one_error_line(result["output"], "lol.yaml")
    assert line == 2
    assert "anchors and aliases (&name, *name) are not accepted; write the value out" in message


def test_an_alias_bomb_behind_yaml_only_the_round_trip_parser_reads_is_refused_too(tmp_path: Path) -> None:
    # libyaml rejects a sequence as a mapping key and hands the file to ruamel.yaml, which reads it
    (tmp_path / "Pulumi.warm.yaml").write_text("config: []\n", encoding="utf-8")
    text = "config:\n  ? - a\n  : b\n" + "\n".join(billion_laughs("  ")) + "\n"
    (tmp_path / "Pulumi.bomb.yaml").write_text(text, encoding="utf-8")
    warm = ["plan", "--stack", "warm", "--stacks-dir", str(tmp_path)]
    result = run_isolated(warm, ["plan", "--stack", "bomb", "--stacks-dir", str(tmp_path)])
    assert result["exception"] is None, result["exception"]
    assert result["peak"] < 4 * 2**20, f"allocated {result['peak'] / 2**20:.1f} MiB"
    assert result["exit"] == 2
    line, message = one_error_line(result["output"], "Pulumi.bomb.yaml")
    assert line == 4
    assert message.startswith("YAML anchor &a0: anchors and aliases (&name, *name) are not accepted")


@pytest.mark.parametrize(
    "nesting",
    [
        pytest.param(["[" * 500_000 + "]" * 500_000], id="flow"),  # crashed libyaml's composer (SIGSEGV)
        pytest.param([" " * i + f"k{i}:" for i in range(1400)], id="block"),  # ended in a RecursionError traceback
    ],
)
def test_deep_nesting_is_refused_at_its_line_instead_of_crashing(tmp_path: Path, nesting: list[str]) -> None:
    (tmp_path / "Pulumi.warm.yaml").write_text("config: []\n", encoding="utf-8")
    text = "config:\n  nest:\n" + "".join(f"    {line}\n" for line in nesting)
    (tmp_path / "Pulumi.deep.yaml").write_text(text, encoding="utf-8")
    warm = ["plan", "--stack", "warm", "--stacks-dir", str(tmp_path)]
    result = run_isolated(warm, ["plan", "--stack", "deep", "--stacks-dir", str(tmp_path)])
    assert_cheap(result)
    assert result["exit"] == 2
    line, message = one_error_line(result["output"], "Pulumi.deep.yaml")
    assert message == (
        f"nesting deeper than {MAX_DEPTH} levels is not accepted; valid: at most {MAX_DEPTH} levels of mappings and lists"
    )
    # Level 1 is the file's mapping, 2 config's, 3 nest's value: the flow list opens every level on line 3;
    # in the block form k0 starts level 3, so k{MAX_DEPTH - 2} starts the first level too many.
    assert line == (3 if nesting[0].startswith("[") else line_of(text, f" k{MAX_DEPTH - 2}:"))


def flows_error(tmp_path: Path, old: str, new: str) -> tuple[int, str, str]:
    """Run `seawall flows` on the shipped dmz-aws stack with one textual change; (line, message, new text)."""
    assert old in STACK
    text = STACK.replace(old, new)
    (tmp_path / "Pulumi.dmz-aws.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["flows", "--stack", "dmz-aws", "--stacks-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    line, message = one_error_line(result.output, "Pulumi.dmz-aws.yaml")
    return line, message, text


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "marker", "start"),
    [
        (
            "    dns-servers: [192.0.2.53/32]",
            "    dns-servers: &dns [192.0.2.53/32]\n    syslog-server-2: *dns",
            "&dns",
            "YAML anchor &dns:",
        ),
        ("  seawall:cloud: aws", "  seawall:cloud: &cloud aws", "&cloud", "YAML anchor &cloud:"),
    ],
    ids=["anchor-and-alias", "anchor-never-used"],
)
def test_an_innocent_anchor_is_refused_at_its_line(tmp_path: Path, old: str, new: str, marker: str, start: str) -> None:
    line, message, text = flows_error(tmp_path, old, new)
    assert line == line_of(text, marker)
    assert message.startswith(start)
    assert message.endswith("anchors and aliases (&name, *name) are not accepted; write the value out where it is used")


@pytest.mark.parametrize(
    ("new", "marker"),
    [
        ("  seawall:tags:\n    <<: {team: mail}", "<<"),
        ("  seawall:tags: !!merge\n", "!!merge"),
    ],
    ids=["merge-key", "merge-tag"],
)
def test_a_merge_key_is_refused_at_its_line(tmp_path: Path, new: str, marker: str) -> None:
    line, message, text = flows_error(tmp_path, "  seawall:tags:", new)
    assert line == line_of(text, marker)
    assert message == "YAML merge keys ('<<', !!merge) are not accepted; write the merged keys out in the mapping"


def test_an_integer_too_long_to_convert_is_refused_at_its_line(tmp_path: Path) -> None:
    digits = "9" * 5000
    line, message, text = flows_error(tmp_path, "  aws:region: eu-west-1", f"  aws:region: eu-west-1\n  n: {digits}")
    assert line == line_of(text, digits)
    assert message.startswith("an integer of 5000 digits is not accepted; valid: at most")


@pytest.mark.parametrize("where", ["catalogue", "stack"])
def test_an_oversize_file_is_refused_by_its_size_without_being_read(tmp_path: Path, where: str) -> None:
    name = "big.yaml" if where == "catalogue" else "Pulumi.big.yaml"
    with (tmp_path / name).open("wb") as sparse:  # no data blocks: reading it would still cost 32 MiB
        sparse.truncate(MAX_YAML_BYTES + 1)
    args = ["catalog", "--catalog", str(tmp_path)] if where == "catalogue" else ["flows", "--stack", "big"]
    tracemalloc.start()
    try:
        result = CliRunner().invoke(app, [*args, "--stacks-dir", str(tmp_path)] if where == "stack" else args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(rf"seawall: error: \S*{name}: .+", lines[0]), result.output
    assert f"file is {MAX_YAML_BYTES + 1:,} bytes, too large to read; valid: at most " in lines[0]
    if where == "catalogue":
        assert lines[0].endswith(f"valid: at most {MAX_YAML_BYTES:,} bytes (32 MiB)")
    assert peak < 4 * 2**20, f"allocated {peak / 2**20:.1f} MiB: the file was read"


def test_a_file_that_is_not_a_regular_file_is_refused_without_waiting_on_it(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it for reading waits for a writer, forever
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_yaml(fifo)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the blocked reader sees end-of-file and returns
        reader.join(5)
        pytest.fail("read_yaml opened a FIFO and waited for a writer")
    assert isinstance(outcome[0], UserError), outcome
    assert str(outcome[0]) == f"{fifo}: not a regular file; valid: a YAML file"


def test_the_shipped_catalogue_stacks_and_topologies_load_and_read_the_same_by_both_parsers() -> None:
    catalog = load_catalog(CATALOG_DIR)
    assert set(catalog.products) == {p.stem for p in CATALOG_DIR.glob("*.yaml")}
    from builders import SHIPPED

    stacks = [STACKS_DIR / f"Pulumi.{name}.yaml" for name in SHIPPED]  # a user's own stack file is not ours to judge
    assert stacks
    for path in stacks:
        load_stack_config(path.name[len("Pulumi.") : -len(".yaml")], STACKS_DIR)
    for name in available_topologies():
        load_topology(name, catalog)
    for path in [*CATALOG_DIR.glob("*.yaml"), *stacks, *topology_dir().glob("*.yaml")]:
        doc = read_yaml(path)
        assert doc.data == doc.exact().data, path  # the fast reader and the round-trip authority agree
