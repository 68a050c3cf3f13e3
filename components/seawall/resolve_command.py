"""``seawall resolve`` end to end: read the catalogue and lock, resolve, apply the policy, report, write."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seawall.catalog.load import default_catalog_dir, load_catalog
from seawall.errors import UserError
from seawall.lockfile import (
    LOCK_NAME,
    Change,
    Policy,
    Problem,
    build_lock,
    diff_locks,
    feed_services,
    load_aws_ranges,
    read_lock,
    service_hosts,
)
from seawall.resolve import Nameserver, Resolution, ResolveOptions, resolve_all


@dataclass(frozen=True)
class ResolveRequest:
    catalog_dir: Path | None = None
    lock: Path | None = None
    products: tuple[str, ...] = ()
    nameservers: tuple[str, ...] = ()
    timeout: float = 2.0
    retries: int = 2
    concurrency: int = 50
    ip_ranges: Path | None = None
    ip_ranges_services: tuple[str, ...] = ()
    ip_ranges_regions: tuple[str, ...] = ()
    check: bool = False
    max_change: float = 50.0
    force: bool = False
    allow_partial: bool = False
    allow_private: tuple[str, ...] = ()
    json_output: bool = False
    now: str | None = None


def run_resolve(request: ResolveRequest, console: Console) -> int:
    """Returns the exit code; raises UserError for bad input."""
    catalog = load_catalog(request.catalog_dir)
    for name in request.products:
        catalog.product(name)
    lock_path = request.lock or (request.catalog_dir or default_catalog_dir()) / LOCK_NAME
    previous = read_lock(lock_path)
    policy = _policy(request)
    options = ResolveOptions(
        nameservers=_nameservers(request.nameservers),
        timeout=_positive("--timeout", request.timeout),
        retries=max(0, request.retries),
        concurrency=int(_positive("--concurrency", request.concurrency)),
    )
    feeds = feed_services(catalog)
    users = service_hosts(catalog, request.products or None)
    names = sorted(h for h, services in users.items() if not any(s in feeds for s in services))
    ranges = (
        load_aws_ranges(request.ip_ranges, request.ip_ranges_services, request.ip_ranges_regions)
        if request.ip_ranges
        else None
    )
    resolutions = _resolve_with_progress(names, options, console, quiet=request.json_output)
    now = request.now or datetime.now(UTC).isoformat(timespec="seconds")
    lock, problems = build_lock(catalog, previous, resolutions, now, policy, ranges, request.products or None)
    by_host, by_service = diff_locks(previous, lock)
    failures = [p for p in problems if p.kind not in ("no-feed",)]
    text = lock.to_text()
    stale = not lock_path.is_file() or lock_path.read_text(encoding="utf-8") != text
    if request.json_output:
        _report_json(lock_path, by_host, by_service, problems, stale, request)
    else:
        _report(console, lock_path, by_host, by_service, problems, stale, request, len(names))
    if request.check:
        return 1 if stale or failures else 0
    if failures and not request.allow_partial:
        return 1
    if stale:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = lock_path.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(lock_path)  # never half-written
    return 0


def _policy(request: ResolveRequest) -> Policy:
    if not 0 <= request.max_change <= 100:
        raise UserError("--max-change", f"{request.max_change} is not a percentage; valid: 0–100")
    allow = []
    for text in request.allow_private:
        try:
            allow.append(ipaddress.ip_network(text, strict=True))
        except ValueError:
            raise UserError("--allow-private", f"{text!r} is not a canonical CIDR such as 10.0.0.0/8") from None
    return Policy(max_change=request.max_change / 100, force=request.force, allow=tuple(allow))


def _positive(option: str, value: float) -> float:
    if value <= 0:
        raise UserError(option, f"{value} must be greater than 0")
    return value


def _nameservers(given: tuple[str, ...]) -> tuple[Nameserver, ...]:
    if given:
        out = []
        for text in given:
            try:
                out.append(Nameserver.parse(text))
            except ValueError:
                raise UserError(
                    "--nameserver",
                    f"{text!r} is not valid; valid: an IP address with an optional :PORT, e.g. 192.0.2.53:5353",
                ) from None
        return tuple(out)
    import dns.resolver

    try:
        system = dns.resolver.Resolver()
    except dns.resolver.NoResolverConfiguration:
        raise UserError("--nameserver", "no system resolver is configured; pass --nameserver HOST[:PORT]") from None
    return tuple(Nameserver(str(ns), system.port) for ns in system.nameservers)


def _resolve_with_progress(
    names: list[str], options: ResolveOptions, console: Console, quiet: bool
) -> dict[str, Resolution]:
    if quiet or not names:
        return asyncio.run(resolve_all(names, options))
    with Progress(
        TextColumn("resolving"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task("resolve", total=len(names))
        options.progress = lambda _name: progress.advance(task)
        return asyncio.run(resolve_all(names, options))


def _report(
    console: Console,
    lock_path: Path,
    by_host: list[Change],
    by_service: list[Change],
    problems: list[Problem],
    stale: bool,
    request: ResolveRequest,
    count: int,
) -> None:
    out = Console(file=sys.stdout, emoji=False, highlight=False, soft_wrap=True)
    out.print(f"resolved {count} hostnames; {len(by_host)} changed", markup=False)
    for title, column, changes in (
        ("per vendor service", "service", by_service),
        ("per hostname", "hostname", by_host),
    ):
        if changes:
            table = Table(title=f"address changes {title}")
            for name in (column, "added", "removed"):
                table.add_column(name, overflow="fold")
            for change in changes:
                table.add_row(change.subject, "\n".join(change.added) or "—", "\n".join(change.removed) or "—")
            out.print(table)
    for problem in problems:
        console.print(f"! {problem.subject}: {problem.kind}: {problem.text}", style="yellow", markup=False)
    failures = [p for p in problems if p.kind != "no-feed"]
    if request.check:
        console.print(f"{lock_path}: {'stale' if stale or failures else 'current'}", markup=False)
    elif failures and not request.allow_partial:
        console.print(
            f"{len(failures)} problem(s): {lock_path} not written (last good addresses kept; --allow-partial writes it anyway)",
            markup=False,
        )
    elif stale:
        console.print(f"wrote {lock_path}", markup=False)
    else:
        console.print(f"{lock_path} is current", markup=False)


def _report_json(
    lock_path: Path,
    by_host: list[Change],
    by_service: list[Change],
    problems: list[Problem],
    stale: bool,
    request: ResolveRequest,
) -> None:
    failures = [p for p in problems if p.kind != "no-feed"]
    data = {
        "lock": str(lock_path),
        "stale": stale,
        "written": not request.check and stale and (not failures or request.allow_partial),
        "hosts": [{"hostname": c.subject, "added": list(c.added), "removed": list(c.removed)} for c in by_host],
        "services": [{"service": c.subject, "added": list(c.added), "removed": list(c.removed)} for c in by_service],
        "problems": [{"subject": p.subject, "kind": p.kind, "text": p.text} for p in problems],
    }
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


__all__ = ["ResolveRequest", "run_resolve"]
