"""Views of ``seawall resolve``: what changed per service and hostname, the problems, and what was written."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from seawall.addresses.resolve import ResolveOutcome, ResolveRequest
from seawall.stack import StackFit


def resolve_json(
    outcome: ResolveOutcome, request: ResolveRequest, fits: Sequence[StackFit] = (), written: bool | None = None
) -> dict[str, Any]:
    return {
        "lock": str(outcome.lock_path),
        "stale": outcome.stale,
        "written": outcome.writes(request) if written is None else written,
        "asked": outcome.hostnames,
        "answered": outcome.answered,
        "nothingResolved": outcome.nothing_resolved,
        "stacks": [{"stack": f.stack, "fits": f.error is None, "error": f.error} for f in fits],
        "hosts": [{"hostname": c.subject, "added": list(c.added), "removed": list(c.removed)} for c in outcome.by_host],
        "services": [
            {"service": c.subject, "added": list(c.added), "removed": list(c.removed)} for c in outcome.by_service
        ],
        "problems": [{"subject": p.subject, "kind": p.kind, "text": p.text} for p in outcome.problems],
    }


def nothing_resolved_text(outcome: ResolveOutcome, request: ResolveRequest) -> str:
    """One line: nothing resolved, why (the answers grouped by kind, with one example each), and what to try."""
    kinds: dict[str, tuple[int, str]] = {}
    for _host, status, detail in outcome.unanswered:
        count, example = kinds.get(status, (0, detail))
        kinds[status] = (count + 1, example)
    why = "; ".join(f"{n} {status}: {example}" for status, (n, example) in sorted(kinds.items()))
    asked = ", ".join(request.nameservers) if request.nameservers else "the system's resolvers"
    verdict = "cannot tell whether it is current" if request.check else "not written"
    unreachable = set(kinds) <= {"timeout", "error"}
    question = "is a resolver reachable from here?" if unreachable else "does this resolver answer for public names?"
    return (
        f"nothing resolved: none of {outcome.hostnames} hostnames got an address from {asked} ({why}); "
        f"{question} try --nameserver HOST[:PORT]; {outcome.lock_path} {verdict}"
    )


def print_resolve(
    outcome: ResolveOutcome,
    request: ResolveRequest,
    console: Console,
    fits: Sequence[StackFit] = (),
    written: bool | None = None,
    out: Console | None = None,
    said: set[str] | None = None,
) -> None:
    """The change tables and each stack's fit on ``out`` (stdout); problems and the verdict on ``console`` (stderr).

    ``said``: problem lines already printed in this run (one round of DNS, several locks), not printed again.
    """
    if outcome.nothing_resolved:
        # One line, not one "failed" line per host and a table of documented addresses as if they were news.
        console.print(nothing_resolved_text(outcome, request), markup=False)
        return
    out = out or Console(file=sys.stdout, emoji=False, highlight=False, soft_wrap=True)
    out.print(
        f"resolved {outcome.answered} of {outcome.hostnames} hostnames; {len(outcome.by_host)} changed", markup=False
    )
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
    for fit in fits:
        out.print(f"{fit.stack}: {'fits' if fit.error is None else 'STOPS PLANNING: ' + fit.error}", markup=False)
    for problem in outcome.problems:
        line = f"! {problem.subject}: {problem.kind}: {problem.text}"
        if said is not None:
            if line in said:
                continue
            said.add(line)
        console.print(line, style="yellow", markup=False)
    failures = outcome.failures
    broken = [f.stack for f in fits if f.error]
    path = outcome.lock_path
    if request.check:
        state = "stale" if outcome.stale or failures else "current"
        console.print(
            f"{path}: {state}" + (f"; it stops {', '.join(broken)} from planning" if broken else ""), markup=False
        )
    elif broken and not request.force and not (failures and not request.allow_partial):
        console.print(
            f"{path} not written: {', '.join(broken)} would stop planning (raise the quotas the message names, "
            "or --force writes it anyway)",
            markup=False,
        )
    elif failures and not request.allow_partial:
        console.print(
            f"{len(failures)} problem(s): {path} not written (last good addresses kept; --allow-partial writes it anyway)",
            markup=False,
        )
    elif outcome.stale and (written if written is not None else True):
        console.print(f"wrote {path}", markup=False)
    else:
        console.print(f"{path} is current", markup=False)


def write_resolve_json(
    outcome: ResolveOutcome, request: ResolveRequest, fits: Sequence[StackFit] = (), written: bool | None = None
) -> None:
    sys.stdout.write(json.dumps(resolve_json(outcome, request, fits, written), indent=2) + "\n")
