"""``seawall resolve``: vendor hostnames into the reviewed IP-set lock."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seawall.addresses.dns import DEFAULT_CONCURRENCY
from seawall.addresses.resolve import ResolveOutcome, ResolveRequest, resolve_lock, write_lock
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
from seawall.report.resolve import nothing_resolved_text, print_resolve, write_resolve_json
from seawall.stack import StackFit, fit_stacks


def run_resolve(request: ResolveRequest, console: Console) -> int:
    """Resolve, plan the stacks against the result, report, and (unless something stops it) write; the exit code.

    ``console`` takes the progress bar, problems and the verdict (stderr); the tables go to stdout.
    """
    outcome = resolve_lock(request) if request.json_output else _with_progress(request, console)
    if outcome.nothing_resolved:
        # No answer at all says nothing about the vendors and everything about this machine's DNS.
        if request.json_output:
            write_resolve_json(outcome, request, [], False)
            console.print(nothing_resolved_text(outcome, request), markup=False)
        else:
            print_resolve(outcome, request, console, [], False, out_console())
        return 1
    stacks_dir = request.stacks_dir
    fits: list[StackFit] = []
    if stacks_dir is not None and stacks_dir.is_dir() and (outcome.stale or request.check):
        # The same rule as the resolving bar: JSON, a log or a pipe gets none.
        bar = progress_bar() if console.is_terminal and not request.json_output else nullcontext(None)
        with bar as progress:
            fits = fit_stacks(stacks_dir, request.catalog_dir, outcome.lock_path, outcome.text, progress)
    broken = [f for f in fits if f.error]
    written = outcome.writes(request) and (not broken or request.force)
    if request.json_output:
        write_resolve_json(outcome, request, fits, written)
    else:
        print_resolve(outcome, request, console, fits, written, out_console())
    if request.check:
        return 1 if outcome.stale or outcome.failures or broken else 0
    if outcome.failures and not request.allow_partial:
        return 1
    if written:
        write_lock(outcome)
    return 1 if broken and not request.force else 0


def _with_progress(request: ResolveRequest, console: Console) -> ResolveOutcome:
    if not console.is_terminal:
        return resolve_lock(request)  # a log or a pipe gets no bar (not even the blank line a stopped one leaves)
    with Progress(
        TextColumn("resolving"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as progress:

        def start(total: int):  # type: ignore[no-untyped-def]
            task = progress.add_task("resolve", total=total)
            return lambda _name: progress.advance(task)

        return resolve_lock(request, start)


@app.command("resolve")
def resolve_command(
    catalog_dir: CatalogDirOption = None,
    lock: Annotated[
        Path | None, typer.Option("--lock", help="Lock file (default: ipsets.lock.json in the Pulumi project).")
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
            help="Stacks planned against the new lock before it is written, if present (default: stackConfigDir "
            "of the Pulumi project here, else ./stacks).",
            callback=stacks_dir_default,
            show_default=False,
        ),
    ] = Path("stacks"),
) -> None:
    """Resolve every catalogue hostname into the reviewed IP-set lock that stacks read.

    Fails closed: a failed, empty, private or retired answer never replaces the last good
    addresses. Exit 0: lock written or already current. 1: some hosts failed (nothing written
    unless --allow-partial) or, with --check, the lock is stale. 2: bad input.

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
