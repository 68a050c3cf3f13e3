"""The ``seawall audit`` report for people (JSON is :meth:`seawall.analysis.drift.Report.to_json`)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from seawall.analysis.drift import KINDS, Report, count


def print_report(report: Report) -> None:
    out = Console(emoji=False, highlight=False)
    groups, rules, lists = report.counts
    if report.in_sync:
        out.print(
            f"{report.stack} in {report.region}: in sync with the plan "
            f"({count(groups, 'security group')}, {count(rules, 'rule')}, {count(lists, 'prefix list')})",
            markup=False,
        )
        return
    table = Table(title=f"seawall audit {report.stack} ({report.region}): {len(report.drift)} differences")
    table.add_column("Kind", no_wrap=True)
    table.add_column("Role / service", no_wrap=True)
    table.add_column("Rule / entry")
    table.add_column("Detail")
    for d in report.drift:
        scope = d.service if d.service is not None else (d.role or "-")
        what = d.rule.label() if d.rule is not None else (d.cidr or "")
        table.add_row(d.kind, scope, what, d.detail)
    out.print(table)
    kinds = Counter(d.kind for d in report.drift)
    out.print(
        ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: KINDS.index(kv[0]))), markup=False
    )
