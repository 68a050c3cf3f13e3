"""`seawall resolve` writes each lock where `seawall plan` reads it: a stack's `seawall:lockFile`, else the default.

Against a real DNS server on loopback (tests/dnszone.py), with the stacks in a project of their own
under ``tmp_path`` (no ``Pulumi.yaml``: the project is the stacks directory's parent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import REPO
from dnszone import dns_server
from seawall.addresses.lock import LOCK_NAME, read_lock
from seawall.cli import app
from seawall.errors import UserError
from seawall.yamlsource import display_path
from test_resolve import healthy_zone
from typer.testing import CliRunner

STACKS = REPO / "stacks"
PRODUCT = "clearswift-seg"
LOCK_A = "locks/a.lock.json"
NTP = "time.clearswift.net"


def stacks_dir(tmp_path: Path, stacks: dict[str, str]) -> Path:
    """``<tmp>/stacks`` holding a copy of the shipped dmz-aws stack per name, each with its extra config lines."""
    directory = tmp_path / "stacks"
    directory.mkdir(exist_ok=True)
    text = (STACKS / "Pulumi.dmz-aws.yaml").read_text(encoding="utf-8")
    assert "  seawall:tags:\n" in text
    for name, extra in stacks.items():
        (directory / f"Pulumi.{name}.yaml").write_text(text.replace("  seawall:tags:\n", f"{extra}  seawall:tags:\n"))
    return directory


def lock_file(path: str) -> str:
    return f"  seawall:lockFile: {path}\n"


def resolve(stacks: Path, server: str, *args: str) -> Result:
    return CliRunner().invoke(
        app,
        [
            "resolve",
            "--product",
            PRODUCT,
            "--nameserver",
            server,
            "--timeout",
            "0.5",
            "--retries",
            "1",
            "--stacks-dir",
            str(stacks),
            *args,
        ],
    )


def plan(stacks: Path, stack: str) -> Result:
    return CliRunner().invoke(app, ["plan", "--stack", stack, "--stacks-dir", str(stacks), "--format", "json"])


def ntp_addresses(lock: Path) -> tuple[str, ...]:
    return read_lock(lock).hosts[NTP].addresses


def test_resolve_writes_the_lock_a_stacks_lockfile_names_and_plan_reads_it(tmp_path: Path) -> None:
    stacks = stacks_dir(tmp_path, {"dmz-aws": lock_file(LOCK_A)})
    assert plan(stacks, "dmz-aws").exit_code == 2  # the named lock does not exist yet
    with dns_server(healthy_zone()) as (server, _):
        result = resolve(stacks, server)
    assert result.exit_code == 0, result.output
    lock = tmp_path / LOCK_A
    assert lock.is_file() and not (tmp_path / LOCK_NAME).exists()
    assert f"wrote {lock}" in result.stderr and "dmz-aws: fits" in result.stdout
    planned = plan(stacks, "dmz-aws")
    assert planned.exit_code == 0, planned.output
    addresses = ntp_addresses(lock)
    assert addresses and all(address in planned.stdout for address in addresses)
    assert "no-lock" not in planned.stdout


def test_stacks_that_read_different_locks_get_each_lock_from_one_round_of_dns(tmp_path: Path) -> None:
    stacks = stacks_dir(tmp_path, {"dmz-aws": lock_file(LOCK_A), "second": "", "third": ""})
    with dns_server(healthy_zone()) as (server, resolver):
        result = resolve(stacks, server, "--format", "json")
    assert result.exit_code == 0, result.output
    assert resolver.queries and set(resolver.queries.values()) == {1}, "every name asked once for both locks"
    views = json.loads(result.stdout)
    a, default = tmp_path / LOCK_A, tmp_path / LOCK_NAME
    assert [v["lock"] for v in views] == sorted([str(a), str(default)])
    stacks_of = {v["lock"]: [s["stack"] for s in v["stacks"]] for v in views}
    assert stacks_of == {str(a): ["dmz-aws"], str(default): ["second", "third"]}
    assert all(v["written"] and all(s["fits"] for s in v["stacks"]) for v in views)
    assert a.read_text() == default.read_text()  # one set of answers, merged into two empty locks
    for stack in ("dmz-aws", "second"):
        assert plan(stacks, stack).exit_code == 0
    with dns_server(healthy_zone()) as (server, _):
        text = resolve(stacks, server)
    assert text.exit_code == 0, text.output
    assert f"{a} (read by dmz-aws):" in text.stdout and f"{default} (read by second, third):" in text.stdout
    assert f"{a} is current" in text.stderr and f"{default} is current" in text.stderr
    problems = [line for line in text.stderr.splitlines() if line.startswith("! ")]
    assert problems and len(problems) == len(set(problems)), "one round of DNS: each problem said once"


def test_each_lock_is_merged_and_refused_on_its_own_terms(tmp_path: Path) -> None:
    stacks = stacks_dir(tmp_path, {"dmz-aws": lock_file(LOCK_A)})
    moved: dict[str, dict[str, Any]] = healthy_zone()
    for host in ("repo.clearswift.net", "rh.repo.clearswift.net"):
        moved[host] = {"a": ["45.99.0.1", "45.99.0.2"]}
    with dns_server(moved) as (server, _):
        assert resolve(stacks, server).exit_code == 0
    a, default = tmp_path / LOCK_A, tmp_path / LOCK_NAME
    committed = a.read_text()
    stacks_dir(tmp_path, {"second": ""})  # a stack that reads the default lock, which does not exist yet
    with dns_server(healthy_zone()) as (server, _):
        result = resolve(stacks, server)
    # a.lock.json's product updates would all change: refused there; the new default lock has nothing to change.
    assert result.exit_code == 1
    assert "clearswift-seg/product-updates: max-change: 100% of its addresses would change" in result.stderr
    assert f"problem(s): {a} not written" in result.stderr and f"wrote {default}" in result.stderr
    assert a.read_text() == committed and default.is_file()


def test_check_is_red_when_any_lock_is_stale_and_writes_none(tmp_path: Path) -> None:
    stacks = stacks_dir(tmp_path, {"dmz-aws": lock_file(LOCK_A), "second": ""})
    with dns_server(healthy_zone()) as (server, _):
        checked = resolve(stacks, server, "--check")
        assert checked.exit_code == 1 and not (tmp_path / LOCK_A).exists() and not (tmp_path / LOCK_NAME).exists()
        assert f"{tmp_path / LOCK_A}: stale" in checked.stderr and f"{tmp_path / LOCK_NAME}: stale" in checked.stderr
        assert resolve(stacks, server).exit_code == 0
        assert resolve(stacks, server, "--check").exit_code == 0


def test_the_lock_option_overrides_the_stacks_lock_and_says_what_it_leaves(tmp_path: Path) -> None:
    stacks = stacks_dir(tmp_path, {"dmz-aws": lock_file(LOCK_A)})
    chosen = tmp_path / "chosen.lock.json"
    with dns_server(healthy_zone()) as (server, _):
        result = resolve(stacks, server, "--lock", str(chosen))
    assert result.exit_code == 0, result.output
    assert chosen.is_file() and not (tmp_path / LOCK_A).exists() and not (tmp_path / LOCK_NAME).exists()
    assert f"note: dmz-aws reads {tmp_path / LOCK_A}; --lock leaves it as it was" in result.stderr
    # plan reads the same file when it is given the same --lock.
    planned = CliRunner().invoke(
        app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "--lock", str(chosen), "--format", "json"]
    )
    assert planned.exit_code == 0, planned.output
    assert all(address in planned.stdout for address in ntp_addresses(chosen))


def test_the_lock_option_naming_the_stacks_lock_writes_it_without_a_note(tmp_path: Path) -> None:
    stacks = stacks_dir(tmp_path, {"dmz-aws": lock_file(LOCK_A)})
    with dns_server(healthy_zone()) as (server, _):
        result = resolve(stacks, server, "--lock", str(tmp_path / "locks" / ".." / LOCK_A))
    assert result.exit_code == 0, result.output
    assert (tmp_path / LOCK_A).is_file() and "note:" not in result.stderr and "dmz-aws: fits" in result.stdout


def test_a_lockfile_that_cannot_be_written_is_one_line_exit_2_before_dns(tmp_path: Path) -> None:
    stacks = stacks_dir(tmp_path, {"dmz-aws": lock_file("zz/ipsets.lock.json"), "second": ""})
    (tmp_path / "zz").write_text("a file where the lock's folder would be\n")
    with dns_server(healthy_zone()) as (server, resolver):
        result = resolve(stacks, server)
        option = resolve(stacks, server, "--lock", str(tmp_path / "zz" / "chosen.json"))
    assert not resolver.queries, "refused before DNS is asked"
    stack_file = stacks / "Pulumi.dmz-aws.yaml"
    line = stack_file.read_text().splitlines().index("  seawall:lockFile: zz/ipsets.lock.json") + 1
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"seawall: error: {display_path(stack_file)}:{line}: seawall:lockFile: {tmp_path / 'zz' / 'ipsets.lock.json'}: "
        f"cannot be written, {tmp_path / 'zz'} is a file; valid: a path under folders\n"
    )
    assert (option.exit_code, option.stdout) == (2, "")
    assert option.stderr.startswith(f"seawall: error: --lock: {tmp_path / 'zz' / 'chosen.json'}: cannot be written")
    assert option.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stacks", "zz"], "no lock written"


def test_a_lock_that_fails_as_it_is_written_leaves_every_lock_as_it_was(tmp_path: Path) -> None:
    from seawall.addresses.resolve import ResolveRequest, resolve_locks, write_locks

    first, second = tmp_path / "a" / LOCK_NAME, tmp_path / "b" / LOCK_NAME
    with dns_server(healthy_zone()) as (server, _):
        request = ResolveRequest(products=(PRODUCT,), nameservers=(server,), timeout=0.5, retries=1)
        outcomes = resolve_locks(request, [first, second])
    (tmp_path / "b").write_text("appeared in the lock's folder's place after the run began\n")
    with pytest.raises(UserError) as raised:
        write_locks(outcomes)
    assert str(raised.value).startswith(f"{second}: cannot write the IP-set lock: ")
    assert str(raised.value).endswith("; no lock was written")
    assert list((tmp_path / "a").iterdir()) == [], "the first lock's temporary file is removed again"
