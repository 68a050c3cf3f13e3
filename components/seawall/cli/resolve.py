"""``seawall resolve``: vendor hostnames into the reviewed IP-set lock."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seawall.addresses.dns import DEFAULT_CONCURRENCY
from seawall.addresses.lock import default_lock_path
from seawall.addresses.resolve import ResolveOutcome, ResolveRequest, resolve_locks, write_locks
from seawall.cli.common import (
    CatalogDirOption,
    ViewFormat,
    app,
    err_console,
    out_console,
    progress_bar,
    stacks_dir_default,
    user_errors,
)
from seawall.errors import UserError
from seawall.report.resolve import nothing_resolved_text, print_resolve, resolve_json, write_resolve_json
from seawall.stack import StackFiles, StackFit, fit_stacks, shipped_stacks
from seawall.stackconfig import load_stack_config


@dataclass
class LockReaders:
    """One lock the stacks read: the path as first spelled, who names it (for errors), the stacks that read it."""

    path: Path
    where: str  # ``file:line: seawall:lockFile`` of the first stack naming it; the path itself for the default
    stacks: list[str] = field(default_factory=list)


def lock_readers(stacks_dir: Path | None, catalog_dir: Path | None) -> dict[Path, LockReaders]:
    """Which lock each stack of ``stacks_dir`` reads, as ``seawall plan`` finds it without ``--lock``.

    ``seawall:lockFile`` relative to the project, else ``ipsets.lock.json`` in the project; a stack
    with ``seawall:addresses: documented`` reads none. Keyed by the resolved path (two spellings of
    one file are one lock), the stacks in name order. A stack file that does not load names no
    lock; laying out the stacks reports its error.
    """
    readers: dict[Path, LockReaders] = {}
    if stacks_dir is None or not stacks_dir.is_dir():
        return readers
    for stack in shipped_stacks(stacks_dir):
        try:
            config = load_stack_config(stack, stacks_dir)
        except UserError:
            continue
        if config.settings.addresses != "lock":
            continue
        path = StackFiles(stack, stacks_dir, catalog_dir).lock_path(config)
        where = config.where(["lockFile"]) if config.settings.lock_file else str(path)
        readers.setdefault(path.resolve(), LockReaders(path, where)).stacks.append(stack)
    return readers


def refuse_unwritable(path: Path, where: str) -> None:
    """A lock that could not be written is bad input, said before DNS is asked: a file where a folder must be."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UserError(where, f"{path}: cannot be written, {folder} is a file; valid: a path under folders")


def run_resolve(request: ResolveRequest, console: Console) -> int:
    """Resolve, plan the stacks against the result, report, and (unless something stops it) write; the exit code.

    The locks written are where the stacks read them (``--lock`` overrides, one file): each lock
    some stack reads, from one round of DNS, else the default. Each is merged, checked and written
    on its own terms (its committed records, the stacks that read it), all checked before any is
    written. ``console`` takes the progress bar, problems and the verdict (stderr); the tables go to stdout.
    """
    readers = lock_readers(request.stacks_dir, request.catalog_dir)
    if request.lock is not None:
        named = [(request.lock, "--lock")]
    else:
        default = default_lock_path(request.stacks_dir)
        named = sorted((r.path, r.where) for r in readers.values()) or [(default, str(default))]
    if not request.check:
        for path, where in named:
            refuse_unwritable(path, where)
    paths = [path for path, _ in named]
    outcomes = resolve_locks(request, paths) if request.json_output else _with_progress(request, paths, console)
    several = len(outcomes) > 1
    if outcomes[0].nothing_resolved:  # one round of DNS: all or none resolved nothing
        # No answer at all says nothing about the vendors and everything about this machine's DNS.
        if request.json_output:
            _write_json([(o, [], False) for o in outcomes], request)
        for outcome in outcomes:
            if request.json_output:
                console.print(nothing_resolved_text(outcome, request), markup=False)
            else:
                print_resolve(outcome, request, console, [], False, out_console())
        _note_unwritten(readers, request, console)
        return 1
    stacks_dir = request.stacks_dir
    reports: list[tuple[ResolveOutcome, list[StackFit], bool]] = []
    for outcome in outcomes:
        fits: list[StackFit] = []
        if stacks_dir is not None and stacks_dir.is_dir() and (outcome.stale or request.check):
            # The same rule as the resolving bar: JSON, a log or a pipe gets none.
            bar = progress_bar() if console.is_terminal and not request.json_output else nullcontext(None)
            with bar as progress:
                fits = fit_stacks(stacks_dir, request.catalog_dir, outcome.lock_path, outcome.text, progress)
        broken = [f for f in fits if f.error]
        reports.append((outcome, fits, outcome.writes(request) and (not broken or request.force)))
    if request.json_output:
        _write_json(reports, request)
    else:
        out = out_console()
        said: set[str] = set()  # one round of DNS: a problem is said once, not once per lock
        for outcome, fits, written in reports:
            if several:
                read_by = readers[outcome.lock_path.resolve()].stacks
                out.print(f"{outcome.lock_path} (read by {', '.join(read_by)}):", markup=False)
            print_resolve(outcome, request, console, fits, written, out, said)
    _note_unwritten(readers, request, console)
    broken_any = any(f.error for _, fits, _ in reports for f in fits)
    if request.check:
        return 1 if any(o.stale or o.failures for o in outcomes) or broken_any else 0
    write_locks([outcome for outcome, _, written in reports if written])
    failed = any(o.failures for o in outcomes) and not request.allow_partial
    return 1 if failed or (broken_any and not request.force) else 0


def _write_json(reports: list[tuple[ResolveOutcome, list[StackFit], bool]], request: ResolveRequest) -> None:
    """One lock: its object, as always. Several: an array of them, in the order of their paths."""
    if len(reports) == 1:
        outcome, fits, written = reports[0]
        write_resolve_json(outcome, request, fits, written)
        return
    views = [resolve_json(outcome, request, fits, written) for outcome, fits, written in reports]
    sys.stdout.write(json.dumps(views, indent=2) + "\n")


def _note_unwritten(readers: dict[Path, LockReaders], request: ResolveRequest, console: Console) -> None:
    """With ``--lock``, one line per other lock that stacks read: this run leaves it as it was."""
    if request.lock is None:
        return
    chosen = request.lock.resolve()
    for key, lock in sorted(readers.items()):
        if key != chosen:
            verb = "reads" if len(lock.stacks) == 1 else "read"
            console.print(
                f"note: {', '.join(lock.stacks)} {verb} {lock.path}; --lock leaves it as it was", markup=False
            )


def _with_progress(request: ResolveRequest, paths: list[Path], console: Console) -> list[ResolveOutcome]:
    if not console.is_terminal:
        # A log or a pipe gets no bar (not even the blank line a stopped one leaves).
        return resolve_locks(request, paths)
    with Progress(
        TextColumn("resolving"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as progress:

        def start(total: int):  # type: ignore[no-untyped-def]
            task = progress.add_task("resolve", total=total)
            return lambda _name: progress.advance(task)

        return resolve_locks(request, paths, start)


@app.command("resolve")
def resolve_command(
    catalog_dir: CatalogDirOption = None,
    lock: Annotated[
        Path | None,
        typer.Option(
            "--lock",
            help="Lock file to write, the only one (default: where the stacks read it: each seawall:lockFile, "
            "else ipsets.lock.json in the Pulumi project).",
        ),
    ] = None,
    product: Annotated[
        list[str] | None, typer.Option("--product", "-p", help="Only this product's hosts (repeatable).")
    ] = None,
    nameserver: Annotated[
        list[str] | None,
        typer.Option("--nameserver", "-n", help="HOST[:PORT] to ask (repeatable; default: the system's resolvers)."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per query.")] = 2.0,
    retries: Annotated[int, typer.Option("--retries", help="Extra tries per query on timeouts and SERVFAIL.")] = 2,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            help="DNS queries in flight at once, across all names (each name asks A and AAAA: two queries); "
            "lower it for a resolver that rate-limits.",
        ),
    ] = DEFAULT_CONCURRENCY,
    ip_ranges: Annotated[
        Path | None, typer.Option("--ip-ranges", help="An AWS ip-ranges.json for hosts in AWS address space.")
    ] = None,
    ip_ranges_service: Annotated[
        list[str] | None,
        typer.Option("--ip-ranges-service", help="Keep these AWS services (repeatable; default: all)."),
    ] = None,
    ip_ranges_region: Annotated[
        list[str] | None, typer.Option("--ip-ranges-region", help="Keep these AWS regions (repeatable; default: all).")
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 when the lock is stale.")] = False,
    max_change: Annotated[
        float, typer.Option("--max-change", help="Refuse a service whose addresses change by more than PCT %.")
    ] = 50.0,
    force: Annotated[
        bool,
        typer.Option("--force", help="Accept changes above --max-change, and a lock that stops a stack from planning."),
    ] = False,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial", help="Write the lock even if some hosts failed (their last good addresses are kept)."
        ),
    ] = False,
    allow_private: Annotated[
        list[str] | None,
        typer.Option("--allow-private", help="Accept answers in this CIDR (internal hosts; repeatable)."),
    ] = None,
    fmt: Annotated[ViewFormat, typer.Option("--format", "-f")] = ViewFormat.table,
    stacks_dir: Annotated[
        Path,
        typer.Option(
            "--stacks-dir",
            help="Stacks whose locks are written, each planned against its new lock first, if present "
            "(default: stackConfigDir of the Pulumi project here, else ./stacks).",
            callback=stacks_dir_default,
            show_default=False,
        ),
    ] = Path("stacks"),
) -> None:
    """Resolve every catalogue hostname into the reviewed IP-set lock that stacks read.

    Each lock is written where seawall plan reads it: for every stack in --stacks-dir, its
    seawall:lockFile (relative to the project), else ipsets.lock.json in the Pulumi project;
    several locks take one round of DNS. --lock writes that one file instead.

    Fails closed: a failed, empty, private or retired answer never replaces the last good
    addresses. Exit 0: every lock written or already current. 1: some hosts failed (nothing written
    unless --allow-partial) or, with --check, a lock is stale. 2: bad input.

    \b
    Examples:
      seawall resolve
      seawall resolve --check                     # a scheduled CI job
      seawall resolve --ip-ranges ip-ranges.json --ip-ranges-region eu-west-1
      seawall resolve --nameserver 192.0.2.53 --nameserver 192.0.2.54:5353
    """
    with user_errors():
        request = ResolveRequest(
            catalog_dir=catalog_dir,
            lock=lock,
            products=tuple(product or ()),
            nameservers=tuple(nameserver or ()),
            timeout=timeout,
            retries=retries,
            concurrency=concurrency,
            ip_ranges=ip_ranges,
            ip_ranges_services=tuple(ip_ranges_service or ()),
            ip_ranges_regions=tuple(ip_ranges_region or ()),
            check=check,
            max_change=max_change,
            force=force,
            allow_partial=allow_partial,
            allow_private=tuple(allow_private or ()),
            json_output=fmt is ViewFormat.json,
            stacks_dir=stacks_dir,
        )
        raise typer.Exit(run_resolve(request, err_console))
