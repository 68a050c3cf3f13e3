"""Views of ``seawall resolve``: what changed per service and hostname, the problems, and what was written."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from seawall.addresses.resolve import ResolveOutcome, ResolveRequest


def resolve_json(outcome: ResolveOutcome, request: ResolveRequest) -> dict[str, Any]:
    return {
        "lock": str(outcome.lock_path),
        "stale": outcome.stale,
        "written": outcome.writes(request),
        "hosts": [{"hostname": c.subject, "added": list(c.added), "removed": list(c.removed)} for c in outcome.by_host],
        "services": [
            {"service": c.subject, "added": list(c.added), "removed": list(c.removed)} for c in outcome.by_service
        ],
        "problems": [{"subject": p.subject, "kind": p.kind, "text": p.text} for p in outcome.problems],
    }


def print_resolve(outcome: ResolveOutcome, request: ResolveRequest, console: Console) -> None:
    """The change tables on stdout; problems and the verdict on ``console`` (stderr)."""
    out = Console(file=sys.stdout, emoji=False, highlight=False, soft_wrap=True)
    out.print(f"resolved {outcome.hostnames} hostnames; {len(outcome.by_host)} changed", markup=False)
    for title, column, changes in (
        ("per vendor service", "service", outcome.by_service),
        ("per hostname", "hostname", outcome.by_host),
    ):
        if changes:
            table = Table(title=f"address changes {title}")
            for name in (column, "added", "removed"):
                table.add_column(name, overflow="fold")
            for change in changes:
                table.add_row(change.subject, "\n".join(change.added) or "—", "\n".join(change.removed) or "—")
            out.print(table)
    for problem in outcome.problems:
        console.print(f"! {problem.subject}: {problem.kind}: {problem.text}", style="yellow", markup=False)
    failures = outcome.failures
    path = outcome.lock_path
    if request.check:
        console.print(f"{path}: {'stale' if outcome.stale or failures else 'current'}", markup=False)
    elif failures and not request.allow_partial:
        console.print(
            f"{len(failures)} problem(s): {path} not written (last good addresses kept; --allow-partial writes it anyway)",
            markup=False,
        )
    elif outcome.stale:
        console.print(f"wrote {path}", markup=False)
    else:
        console.print(f"{path} is current", markup=False)


def write_resolve_json(outcome: ResolveOutcome, request: ResolveRequest) -> None:
    sys.stdout.write(json.dumps(resolve_json(outcome, request), indent=2) + "\n")
