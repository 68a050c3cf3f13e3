"""Views of ``seawall conformance``: JSON for tools, a Markdown page, the pull-request section, terminal lines."""

from __future__ import annotations

from typing import Any

from seawall.analysis.conformance import DISPOSITIONS, LABELS, Change, Disposition, Part, Report, Row
from seawall.catalog.model import Document, Language
from seawall.report.markdown import cell

HALF_WORDS: dict[Language, dict[str, str]] = {"en": {"in": "in", "out": "out"}, "ja": {"in": "受信", "out": "送信"}}
LEGEND: tuple[tuple[Disposition, str], ...] = (
    ("open", "the rules that open it on each cloud allow it, for every peer address, port and protocol"),
    ("opted-in", "a vendor service without addresses, or a site peer, opened to the whole internet by a stack key"),
    ("denied", "a vendor service with no addresses yet: nothing is opened until its hosts are resolved"),
    ("closed-stateful-reply", "the half of a 受信/送信 (in/out) row the host never opens; the reply needs no rule"),
    ("off", "a feature or role the stack does not enable"),
    ("never-open", "product-internal or localhost: denied from every peer, and no rule covers the port"),
    ("not-renderable", "a row no cloud rule can express, with the catalogue's reason"),
)


# --- JSON ----------------------------------------------------------------------------------------------


def conformance_json(report: Report, changed: list[Change] | None = None) -> dict[str, Any]:
    """The documented contract: one object per row (per half of a row written in/out), in document order."""
    out: dict[str, Any] = {
        "stack": report.stack,
        "topology": report.topology,
        "product": report.product,
        "roles": list(report.roles),
        "clouds": list(report.clouds),
        "documents": {name: _document_json(doc) for name, doc in report.documents.items()},
        "notes": list(report.notes),
        "summary": {
            "rows": len(report.rows),
            **{d: n for d, n in report.summary.items()},
            "unjustified": len(report.unjustified),
            "violations": report.violations,
        },
        "rows": [_row_json(row) for row in report.rows],
        "unjustified": [
            {
                "cloud": u.cloud,
                "role": u.role,
                "rule": u.rule,
                "half": u.half,
                "protocol": u.protocol,
                "ports": u.ports,
                "cites": list(u.cites),
                "why": u.why,
            }
            for u in report.unjustified
        ],
    }
    if changed is not None:
        out["changes"] = [{"row": c.label, "before": c.before, "after": c.after, "why": c.why} for c in changed]
    return out


def _document_json(doc: Document) -> dict[str, Any]:
    return {
        "title": doc.title,
        "product_name": doc.product_name,
        "version": doc.version,
        "issue": doc.issue,
        "date": doc.date,
        "language": doc.language,
    }


def _row_json(row: Row) -> dict[str, Any]:
    e = row.entry
    return {
        "entry": e.id,
        "half": row.half,
        "label": row.label,
        "document": row.document,
        "section": e.source.section,
        "row": e.source.row,
        "purpose": {"en": e.purpose.en, "ja": e.purpose.ja},
        "host": e.host,
        "direction": e.direction,
        "initiator": e.opener,
        "protocol": list(e.protocol),
        "ports": [p.to_json() for p in e.ports],
        "features": list(e.features),
        "disposition": row.disposition,
        "reason": row.reason,
        "ok": row.ok,
        "parts": [_part_json(p) for p in row.parts],
    }


def _part_json(part: Part) -> dict[str, Any]:
    return {
        "role": part.role,
        "peer": part.peer,
        "endpoint": part.endpoint,
        "disposition": part.disposition,
        "why": part.why,
        "key": part.key,
        "addresses": list(part.addresses),
        "missing": list(part.missing),
        "unresolved": list(part.unresolved),
        "ok": part.ok,
        "checks": [{"cloud": c.cloud, "ok": c.ok, "rules": list(c.rules), "text": c.text} for c in part.checks],
    }


# --- text pieces every view shares ---------------------------------------------------------------------


def row_text(row: Row, documents: dict[str, Document], lang: Language) -> str:
    """The row as the document prints it; a Japanese row in English is its purpose, under ``--lang en``."""
    doc = documents.get(row.document)  # None: a carried-over row whose document is not loaded
    if doc is not None and doc.language == "ja" and lang == "en":
        return row.entry.purpose.en
    return row.entry.source.row


def ports_text(row: Row) -> str:
    return f"{','.join(row.entry.protocol)}/{','.join(str(p) for p in row.entry.ports)}"


def part_text(part: Part, half: str, clouds: tuple[str, ...]) -> str:
    """``gateway ← site:dns-servers: open. aws: allowed by …`` (the cloud is named when several are checked)."""
    arrow = "←" if half == "in" else "→"
    who = f"{part.role} {arrow} {part.endpoint or part.peer}" if part.role else part.peer
    if part.endpoint and part.endpoint != part.peer:
        who += f" ({part.peer})"
    what = LABELS[part.disposition] + (f": {part.why.rstrip('.')}" if part.why else "")
    checks = "; ".join(
        ("" if len(clouds) == 1 else f"{c.cloud}: ") + ("" if c.ok else "VIOLATION: ") + c.text for c in part.checks
    )
    missing = f" Documented addresses missing: {', '.join(part.missing)}." if part.missing else ""
    return f"{who}: {what}. Check: {checks}.{missing}"


def summary_text(report: Report) -> str:
    counts = ", ".join(f"{LABELS[d]} {n}" for d, n in report.summary.items() if n)
    return f"{len(report.rows)} rows: {counts}"


def verdict_text(report: Report) -> str:
    return "conforms" if not report.violations else f"{report.violations} violation(s)"


def change_text(change: Change) -> str:
    names: dict[str, str] = {str(d): label for d, label in LABELS.items()}
    before = names.get(change.before, change.before) if change.before else "(new row)"
    after = names.get(change.after, change.after) if change.after else "(removed)"
    return f"`{change.label}`: {before} → {after}: {change.why}"


def _document_line(doc: Document) -> str:
    facts = [f for f in (f"version {doc.version}" if doc.version else "", f"issue {doc.issue}" if doc.issue else "")]
    facts.append(doc.date or "")
    extra = ", ".join(f for f in facts if f)
    return f"*{doc.title}* ({doc.product_name}{', ' + extra if extra else ''})"


# --- Markdown -----------------------------------------------------------------------------------------


def conformance_markdown(report: Report, lang: Language = "en") -> str:
    """The page ``docs/conformance/<stack>.md``: header, summary, legend, then every row by document section."""
    own = report.documents[report.product]
    clouds = " and ".join(report.clouds)
    lines = [
        f"# Conformance of `{report.stack}` to its vendor document",
        "",
        f"<!-- Generated by: seawall conformance --stack {report.stack} --format markdown. Do not edit; "
        "a test keeps it current. -->",
        "",
        f"Every row of {_document_line(own)} and what stack `{report.stack}` (topology `{report.topology}`, "
        f"roles {', '.join(report.roles)}) does with it, checked on the rendered {clouds} rules with the query "
        "engine, not read from the catalogue.",
        "",
    ]
    lines += [f"> {note}" for note in report.notes]
    lines += ([""] if report.notes else []) + _summary_table(report) + [""]
    lines += [f"- **{LABELS[d]}**: {text}" for d, text in LEGEND] + [""]
    lines += _rows_markdown(report, lang, level="##")
    return "\n".join(lines).rstrip("\n") + "\n"


def conformance_comment(report: Report, changed: list[Change] | None, lang: Language = "en") -> str:
    """The stack's section of the pull-request comment: verdict, rows that change disposition, the rows collapsed."""
    lines = [f"#### seawall conformance: `{report.stack}`: {verdict_text(report)}", ""]
    if changed is None:
        lines.append("No base report to compare with (a new stack, or a base branch without `seawall conformance`).")
    elif not changed:
        lines.append("No row changes disposition.")
    else:
        lines += ["Rows that change disposition:", ""] + [f"- {change_text(c)}" for c in changed]
    for u in report.unjustified:
        lines.append(f"- **VIOLATION** {u.cloud} rule `{u.rule}` ({u.role}): no row justifies it: {u.why}")
    lines += ["", f"<details><summary>Row by row: {cell(summary_text(report))}</summary>", ""]
    lines += _rows_markdown(report, lang, level="#####")
    lines += ["</details>", ""]
    return "\n".join(lines)


def _summary_table(report: Report) -> list[str]:
    lines = ["| disposition | rows |", "|---|---:|"]
    lines += [f"| {LABELS[d]} | {n} |" for d, n in report.summary.items()]
    lines += [f"| **all rows** | {len(report.rows)} |", ""]
    lines.append(
        f"Rules in the plan that no row justifies: **{len(report.unjustified)}**. Violations: **{report.violations}**."
    )
    for u in report.unjustified:
        lines.append(f"- **VIOLATION** {u.cloud} rule `{u.rule}` ({u.role}, {u.half} {u.protocol}/{u.ports}): {u.why}")
    return lines


def _rows_markdown(report: Report, lang: Language, level: str) -> list[str]:
    lines: list[str] = []
    section: tuple[str, str] | None = None
    for row in report.rows:
        here = (row.document, row.entry.source.section)
        if here != section:
            section = here
            title = row.entry.source.section
            if row.document != report.product:
                doc = report.documents.get(row.document)
                if doc is None:
                    title += f" — carried over from the {row.document} document (not in this catalogue)"
                else:
                    title += f" — carried over from the {doc.product_name} document, *{doc.title}*"
            lines += ["", f"{level} {title}", "", "| row | entry | ports | half | disposition | evidence |"]
            lines.append("|---|---|---|---|---|---|")
        words = HALF_WORDS[lang]
        flag = "" if row.ok else " **VIOLATION**"
        evidence = "<br>".join(cell(part_text(p, row.half, report.clouds)) for p in row.parts)
        lines.append(
            f"| {cell(row_text(row, report.documents, lang))} | `{row.entry.id}` | {ports_text(row)} | "
            f"{words[row.half]} | **{LABELS[row.disposition]}**{flag} | {evidence} |"
        )
    return [*lines, ""]


# --- terminal -----------------------------------------------------------------------------------------


def conformance_lines(report: Report, lang: Language = "en", changed: list[Change] | None = None) -> list[str]:
    lines = [
        f"{report.stack}: {report.product} ({report.topology}; {', '.join(report.clouds)}): {verdict_text(report)}",
        summary_text(report) + f"; rules no row justifies: {len(report.unjustified)}",
        *report.notes,
    ]
    if changed:
        lines += ["", "rows that change disposition:"] + [f"  {change_text(c)}" for c in changed]
    section = None
    width = max((len(r.label) for r in report.rows), default=0)
    for row in report.rows:
        if (row.document, row.entry.source.section) != section:
            section = (row.document, row.entry.source.section)
            lines += ["", row.entry.source.section + ("" if row.document == report.product else f" ({row.document})")]
        flag = "" if row.ok else "  VIOLATION"
        lines.append(
            f"  {row.label:{width}}  {LABELS[row.disposition]:{_WIDEST}}  {ports_text(row):14} "
            f"{row_text(row, report.documents, lang)}{flag}"
        )
        lines += [f"      {part_text(p, row.half, report.clouds)}" for p in row.parts]
    for u in report.unjustified:
        lines.append(f"VIOLATION: {u.cloud} rule {u.rule} ({u.role}): no row justifies it: {u.why}")
    return lines


_WIDEST = max(len(label) for label in LABELS.values())

__all__ = [
    "DISPOSITIONS",
    "change_text",
    "conformance_comment",
    "conformance_json",
    "conformance_lines",
    "conformance_markdown",
    "part_text",
    "row_text",
]
