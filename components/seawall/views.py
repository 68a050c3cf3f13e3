"""Terminal and JSON views of flows and query answers."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from seawall.flows import Flows
from seawall.query import Answer


def flows_json(flows: Flows) -> dict[str, Any]:
    return {
        "stack": flows.stack,
        "topology": flows.topology,
        "product": flows.product,
        "roles": list(flows.roles),
        "flows": [
            {
                "from": f.src.label,
                "to": f.dst.label,
                "protocol": f.protocol,
                "ports": f.first_port if f.first_port == f.last_port else [f.first_port, f.last_port],
                "entries": list(f.entries),
            }
            for f in flows.flows
        ],
        "notices": [
            {"kind": n.kind, "role": n.role, "entry": n.entry, "text": n.text, "warning": n.warning}
            for n in flows.notices
        ],
    }


def flows_tables(flows: Flows) -> list[Table]:
    table = Table(title=f"{flows.stack}: flows ({flows.topology}, {flows.product})")
    for column in ("from", "to", "proto", "ports", "entries"):
        table.add_column(column, overflow="fold")
    for f in flows.flows:
        table.add_row(f.src.label, f.dst.label, f.protocol, f.ports, ", ".join(f.entries))
    notices = Table(title="kept closed or needing attention")
    for column in ("", "role", "entry", "why"):
        notices.add_column(column, overflow="fold")
    for n in flows.notices:
        notices.add_row("[bold yellow]warning[/]" if n.warning else n.kind, n.role, n.entry, n.text)
    return [table, notices]


def answer_json(source: str, destination: str, port: int, protocol: str, answers: list[Answer]) -> dict[str, Any]:
    return {
        "from": source,
        "to": destination,
        "port": port,
        "protocol": protocol,
        "answers": [
            {
                "cloud": a.cloud,
                "verdict": a.verdict,
                "reason": a.reason,
                "rules": list(a.rules),
                "entries": list(a.entries),
                "probes": [{"probe": d.probe.label, "allowed": d.allowed, "rules": list(d.rules)} for d in a.decisions],
            }
            for a in answers
        ],
    }


def answer_lines(source: str, destination: str, port: int, protocol: str, answers: list[Answer]) -> list[str]:
    lines = []
    for a in answers:
        lines.append(f"{a.cloud}: {a.verdict}  {source} -> {destination} {port}/{protocol}")
        if a.reason:
            lines.append(f"  {a.reason}")
        for d in a.decisions:
            if d.allowed:
                lines.append(f"  {d.probe.label}: allowed by {', '.join(d.rules)} [{', '.join(d.entries)}]")
            elif d.rules:
                lines.append(f"  {d.probe.label}: denied by {', '.join(d.rules)}")
            else:
                lines.append(f"  {d.probe.label}: no rule allows it")
    return lines
