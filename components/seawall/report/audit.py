"""Views of ``seawall audit``: a table for people, Markdown for an issue or a job summary, JSON for tools.

The JSON is :meth:`seawall.analysis.drift.Report.to_json` (documented in the README).
Broadening drift comes first in every view. Cells fold rather than end in an
ellipsis, so an id is never cut: on a terminal long cells wrap, and piped output
(the command's console then has no width limit) keeps every row on one line.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from seawall.analysis.drift import KINDS, Drift, Report, count
from seawall.report.markdown import cell


def _scope(d: Drift) -> str:
    return d.service if d.service is not None else (d.role or "-")


def _what(d: Drift) -> str:
    return d.rule.label() if d.rule is not None else (d.cidr or "")


def _breaks(d: Drift) -> str:
    return f" (breaks {', '.join(d.policy)})" if d.policy else ""


def planned_text(report: Report) -> str:
    """``1 security group, 36 rules, 5 prefix lists``."""
    return ", ".join(count(n, noun.removesuffix("s")) for noun, n in report.planned)


def summary(report: Report) -> str:
    """``3 differences, 2 of them broadening: 1 extra-rule, …`` or the in-sync sentence."""
    if report.in_sync:
        return f"{report.stack} in {report.location()}: in sync with the plan ({planned_text(report)})"
    kinds = Counter(d.kind for d in report.drift)
    broad = sum(1 for d in report.drift if d.broadening)
    head = count(report.drift, "difference") + (f", {broad} of them broadening" if broad else "")
    listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: KINDS.index(kv[0])))
    return f"{report.stack} in {report.location()}: {head}: {listed}"


def print_report(report: Report, out: Console) -> None:
    """The table view on ``out`` (the command gives stdout's console: never wrapped when piped)."""
    if report.in_sync:
        out.print(summary(report), markup=False, soft_wrap=True)
    else:
        for d in report.drift:
            if d.broadening:
                out.print(f"BROADENING {d.kind} {_scope(d)}: {d.broadening}{_breaks(d)}", markup=False, soft_wrap=True)
        out.print(f"seawall audit {report.stack} in {report.location()}", markup=False, soft_wrap=True)
        table = Table()
        for header in ("Kind", "Role / service", "Rule / entry", "Detail"):
            table.add_column(header, overflow="fold")
        for d in report.drift:
            style = "bold red" if d.broadening else None
            table.add_row(d.kind, _scope(d), _what(d), d.detail, style=style)
        out.print(table)
        out.print(summary(report), markup=False, soft_wrap=True)
    for note in report.notes:
        out.print(f"note: {note}", markup=False, soft_wrap=True)


def audit_markdown(report: Report) -> str:
    lines = [f"### seawall audit: `{report.stack}` in {cell(report.location())}", ""]
    if report.in_sync:
        lines += [f"In sync with the plan ({planned_text(report)}).", ""]
    else:
        broad = [d for d in report.drift if d.broadening]
        if broad:
            lines += ["> [!CAUTION]", "> **Broadening drift**: the cloud lets through more than the plan."]
            lines += [f"> - **{d.kind}** {cell(_scope(d))}: {cell((d.broadening or '') + _breaks(d))}" for d in broad]
            lines.append("")
        lines += ["| | kind | role / service | rule / entry | detail |", "|---|---|---|---|---|"]
        for d in report.drift:
            mark = "**broadening**" if d.broadening else ""
            lines.append(f"| {mark} | {d.kind} | {cell(_scope(d))} | {cell(_what(d))} | {cell(d.detail)} |")
        lines += ["", cell(summary(report).split(": ", 1)[1]), ""]
    if report.notes:
        lines += ["> [!NOTE]", *(f"> - {cell(n)}" for n in report.notes), ""]
    return "\n".join(lines)
