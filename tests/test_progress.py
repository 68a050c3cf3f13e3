"""Progress on long work (issue 18): plans, flows, checks and resolve's stack layout report as they go.

The library reports through an optional ``progress(what, done, total)`` callable; the commands
hand it a bar that draws on stderr only on a terminal. Piped, nothing extra appears on stderr
and stdout is byte for byte what it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dns.asyncquery
import pytest
from conftest import CATALOG_DIR, REPO
from dnszone import dns_server
from rich.console import Console
from seawall.addresses.resolve import ResolveRequest, resolve_lock
from seawall.cli import app
from seawall.preview.plan import plan_stack, prepare_plan
from seawall.stack import fit_stacks, shipped_stacks
from test_resolve import PRODUCT, healthy_zone
from typer.testing import CliRunner

SEAWALL = str(Path(sys.executable).with_name("seawall"))
STACKS = REPO / "stacks"
NOW = "2026-11-23T00:00:00+00:00"
PROGRESS_TEXT = ("loading catalogue", "laying out stacks", "resolving", "\x1b")

Calls = list[tuple[str, int, int]]


def fresh_catalogue(tmp_path: Path) -> Path:
    """A copy of the shipped catalogue: a path of its own, so this process loads (and reports) it anew."""
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__", "*.json"))
    return target


def assert_runs_to_the_end(calls: Calls, label: str) -> None:
    assert calls, "no progress reported"
    assert {what for what, _, _ in calls} == {label}
    totals = {total for _, _, total in calls}
    assert len(totals) == 1 and totals.pop() > 0
    done = [d for _, d, _ in calls]
    assert done == sorted(done), "progress went backwards"
    assert calls[-1][1] == calls[-1][2], "never reached done == total"


# --- the library: prepare_plan and fit_stacks report to a callable ----------------------------------


def test_prepare_plan_reports_the_catalogue_load_to_the_end(tmp_path: Path) -> None:
    catalog = fresh_catalogue(tmp_path)
    calls: Calls = []
    prepared = prepare_plan("dmz-aws", STACKS, catalog, progress=lambda *call: calls.append(call))
    assert_runs_to_the_end(calls, "loading catalogue")
    assert calls[-1][2] == sum(p.stat().st_size for p in catalog.glob("*.yaml"))
    # The callback changes nothing about the compilation.
    assert prepared.compiled.flows == prepare_plan("dmz-aws", STACKS, catalog).compiled.flows


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """The shipped stacks in a project of their own: every one reads ``<tmp>/ipsets.lock.json``."""
    stacks = tmp_path / "project" / "stacks"
    shutil.copytree(STACKS, stacks, ignore=shutil.ignore_patterns("__pycache__"))
    return stacks


def test_fit_stacks_reports_each_stack_laid_out_up_to_the_total(project: Path) -> None:
    lock = project.parent / "ipsets.lock.json"
    with dns_server(healthy_zone()) as (server, _):
        request = ResolveRequest(lock=lock, products=(PRODUCT,), nameservers=(server,), now=NOW, stacks_dir=project)
        outcome = resolve_lock(request)
    calls: Calls = []
    fits = fit_stacks(project, None, lock, outcome.text, lambda *call: calls.append(call))
    stacks = shipped_stacks(project)
    assert_runs_to_the_end(calls, "laying out stacks")
    assert calls == [("laying out stacks", done, len(stacks)) for done in range(len(stacks) + 1)]
    assert [f.stack for f in fits] == stacks and all(f.error is None for f in fits)
    assert fits == fit_stacks(project, None, lock, outcome.text)  # the same answer without a callback
    assert not lock.exists()


def test_fit_stacks_counts_stacks_that_read_another_lock(project: Path, tmp_path: Path) -> None:
    calls: Calls = []
    elsewhere = tmp_path / "elsewhere.lock.json"
    assert fit_stacks(project, None, elsewhere, "{}", lambda *call: calls.append(call)) == []
    assert calls[-1] == ("laying out stacks", len(shipped_stacks(project)), len(shipped_stacks(project)))


# --- the commands hand their preparation a bar ------------------------------------------------------


@contextlib.contextmanager
def recording_bar(calls: Calls) -> Iterator[object]:
    """What ``progress_bar()`` yields on a terminal, minus the drawing."""
    yield lambda *call: calls.append(call)


@pytest.mark.parametrize("command", ["plan", "flows", "check", "conformance"])
def test_each_command_hands_the_catalogue_load_a_bar(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: Calls = []
    # plan, check and conformance prepare through cli.common.prepare_stack_plan; flows draws its own bar.
    for module in (sys.modules["seawall.cli.common"], sys.modules[f"seawall.cli.{command}"]):
        if hasattr(module, "progress_bar"):
            monkeypatch.setattr(module, "progress_bar", lambda: recording_bar(calls))
    args = [command, "--stack", "dmz-aws", "--stacks-dir", str(STACKS), "--catalog", str(fresh_catalogue(tmp_path))]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    assert_runs_to_the_end(calls, "loading catalogue")


def test_resolve_hands_the_stack_layout_a_bar_on_a_terminal_only(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seawall.cli import resolve as cli_resolve

    calls: Calls = []
    monkeypatch.setattr(cli_resolve, "progress_bar", lambda: recording_bar(calls))
    lock = project.parent / "ipsets.lock.json"

    def run(terminal: bool, **options: object) -> int:
        out = io.StringIO()
        with dns_server(healthy_zone()) as (server, _), contextlib.redirect_stdout(out):
            request = ResolveRequest(
                lock=lock,
                products=(PRODUCT,),
                nameservers=(server,),
                now=NOW,
                stacks_dir=project,
                check=True,  # lays out every stack, writes nothing
                **options,  # type: ignore[arg-type]
            )
            return cli_resolve.run_resolve(request, Console(file=out, width=200, force_terminal=terminal))

    run(terminal=False)
    assert calls == []  # a log or a pipe: no bar
    run(terminal=True, json_output=True)
    assert calls == []  # JSON is for programs: no bar
    assert run(terminal=True) == 1  # stale: there is no lock yet
    assert_runs_to_the_end(calls, "laying out stacks")
    assert calls[-1] == ("laying out stacks", 6, 6)
    assert not lock.exists()


# --- piped: stdout byte-identical, nothing extra on stderr -----------------------------------------


def seawall(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([SEAWALL, *args], capture_output=True, text=True, cwd=REPO, env=env, check=False, timeout=300)


def test_a_piped_plan_is_byte_identical_with_nothing_on_stderr() -> None:
    result = seawall("plan", "--stack", "dmz-aws", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == plan_stack("dmz-aws", STACKS).to_text()


@pytest.mark.parametrize(
    ("command", "stderr"),
    [
        ("plan", "planning dmz-aws under the Pulumi mock monitor ...\n"),
        ("flows", ""),
        ("check", ""),
        ("conformance", ""),
    ],
)
def test_piped_commands_show_no_progress(command: str, stderr: str, tmp_path: Path) -> None:
    # A catalogue of its own is loaded afresh (not from a cache), so there is work to report.
    result = seawall(command, "--stack", "dmz-aws", "--catalog", str(fresh_catalogue(tmp_path)))
    assert result.returncode in (0, 1), result.stderr
    assert result.stderr == stderr
    assert not any(text in result.stderr for text in PROGRESS_TEXT)


def test_piped_resolve_shows_no_stack_layout_progress(project: Path) -> None:
    lock = project.parent / "ipsets.lock.json"
    with dns_server(healthy_zone()) as (server, _):
        args = ["--product", PRODUCT, "--nameserver", server, "--stacks-dir", str(project), "--lock", str(lock)]
        result = CliRunner().invoke(app, ["resolve", *args])
    assert result.exit_code == 0, result.output
    assert lock.is_file()
    assert result.stdout.startswith("resolved 14 of 14 hostnames; 14 changed")
    assert not any(text in result.stderr for text in PROGRESS_TEXT)
    assert json.loads(lock.read_text())  # written: every stack fits


# --- issue 18's other part: resolve's default bound -------------------------------------------------


def test_the_default_bound_is_100_queries_and_leaves_the_goal_reachable() -> None:
    from seawall.addresses.dns import DEFAULT_CONCURRENCY, ResolveOptions

    assert DEFAULT_CONCURRENCY == 100
    assert ResolveOptions([]).concurrency == ResolveRequest().concurrency == DEFAULT_CONCURRENCY
    # 513 names, A and AAAA, 50 ms an answer: the floor must leave room under the 1.0 s goal (50 gave 1.05 s).
    assert math.ceil(2 * 513 / DEFAULT_CONCURRENCY) * 0.05 == pytest.approx(0.55)


def test_resolve_puts_the_default_bound_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    from seawall.addresses.dns import Nameserver, ResolveOptions, resolve_all
    from test_speed_shape import _FakeServer

    server = _FakeServer()
    monkeypatch.setattr(dns.asyncquery, "udp_with_fallback", server.query)
    names = [f"host{i}.example" for i in range(150)]
    results = asyncio.run(resolve_all(names, ResolveOptions([Nameserver.parse("192.0.2.53")], timeout=1, retries=0)))
    assert server.most == 100 and len(server.asked) == 300
    assert all(r.status == "ok" for r in results.values())


def test_resolve_help_says_what_concurrency_bounds_and_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["resolve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # as wrapped for the screen
    assert "--concurrency <int> DNS queries in flight at once, across all names (each name asks A and AAAA" in text
    assert "[default: 100]" in text.split("--concurrency", 1)[1].split("--ip-ranges", 1)[0]
    from seawall.cli import resolve as cli_resolve

    asked: list[ResolveRequest] = []

    def run_resolve(request: ResolveRequest, console: Console) -> int:
        asked.append(request)
        return 0

    monkeypatch.setattr(cli_resolve, "run_resolve", run_resolve)
    for extra, bound in (([], 100), (["--concurrency", "8"], 8)):
        assert CliRunner().invoke(app, ["resolve", "--lock", "unused.json", *extra]).exit_code == 0
        assert asked.pop().concurrency == bound
