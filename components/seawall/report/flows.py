"""Terminal and JSON views of a stack's flows."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from seawall.flows import Flows


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
