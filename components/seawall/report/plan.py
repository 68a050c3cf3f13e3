"""Views of a plan: a terminal table, a Markdown review page, a Mermaid flow diagram."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text

from seawall.aws.render import AwsSpec
from seawall.flows import Notice
from seawall.netaddr import port_text
from seawall.preview.plan import Plan
from seawall.report.markdown import cell as _cell


@dataclass(frozen=True)
class RuleRow:
    role: str
    direction: str  # in / out
    protocol: str
    ports: str
    peer: str  # flow endpoints
    target: str  # what the cloud sees (CIDR, prefix list, group, tag)
    entries: tuple[str, ...]
    name: str


def rule_rows(plan: Plan) -> list[RuleRow]:
    rows = []
    if isinstance(plan.spec, AwsSpec):
        for r in plan.spec.rules:
            ports = port_text(r.from_port, r.to_port)
            target = (
                r.peer.value
                if r.peer.kind.startswith("cidr") or r.peer.external
                else f"{r.peer.kind.replace('_', ' ')} {r.peer.value}"
            )
            rows.append(
                RuleRow(
                    r.role,
                    "in" if r.direction == "ingress" else "out",
                    r.ip_protocol,
                    ports,
                    ", ".join(r.peers),
                    target,
                    r.entries,
                    r.name,
                )
            )
    else:
        for role in plan.spec.roles:
            for z in role.rules:
                if z.access != "Allow":
                    continue
                other = z.source if z.direction == "Inbound" else z.destination
                target = ", ".join(other.values) if other.kind != "asgs" else "asg " + ", ".join(other.values)
                rows.append(
                    RuleRow(
                        role.role,
                        "in" if z.direction == "Inbound" else "out",
                        z.protocol.lower(),
                        z.destination_port_range,
                        ", ".join(z.peers),
                        f"{target} (p{z.priority})",
                        z.entries,
                        z.name,
                    )
                )
    return sorted(rows, key=lambda r: (r.role, r.direction, r.protocol, _port_key(r.ports), r.peer, r.target))


@dataclass(frozen=True)
class BudgetRow:
    """One group's use of one quota: what it is, how much is used of how much, and who uses most."""

    group: str
    quota: str
    used: int
    limit: int
    heaviest: str


def budget_rows(plan: Plan) -> list[BudgetRow]:
    """Per security group (AWS) or NSG (Azure): the weight used and available, and the largest consumers."""
    spec = plan.spec
    if isinstance(spec, AwsSpec):
        return [
            BudgetRow(q.group, f"{q.dimension} rules", q.used, q.limit, ", ".join(f"{c} {w}" for c, w in q.consumers))
            for q in spec.quota_use
        ]
    quotas = plan.compiled.config.settings.quotas.azure
    rows = []
    for role in spec.roles:
        allows = [r for r in role.rules if r.access == "Allow"]
        rows.append(BudgetRow(role.nsg_name, "rules", len(role.rules), quotas.rules_per_nsg, ""))
        for side in ("source", "destination"):
            sizes: dict[str, int] = {}
            for rule in allows:
                peer = getattr(rule, side)
                if peer.kind == "prefixes":
                    label = ", ".join(rule.peers)
                    sizes[label] = sizes.get(label, 0) + len(peer.values)
            heaviest = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            rows.append(
                BudgetRow(
                    role.nsg_name,
                    f"{side} prefixes",
                    sum(sizes.values()),
                    quotas.prefixes_per_nsg,
                    ", ".join(f"{c} {w}" for c, w in heaviest),
                )
            )
    return rows


def _headroom(plan: Plan) -> str:
    if not isinstance(plan.spec, AwsSpec) or not plan.spec.prefix_lists:
        return ""
    share, least = plan.spec.headroom
    kept = sum(pl.max_entries - len(pl.entries) for pl in plan.spec.prefix_lists)
    if share == 0:
        return f"vendor prefix lists hold their exact count (no headroom: the quotas leave none); {kept} spare entries"
    return f"vendor prefix lists keep {share:.0%} headroom (at least {least} spare entries): {kept} spare entries"


def _port_key(ports: str) -> int:
    return int(ports.split("-")[0])


def plan_table(plan: Plan) -> Group:
    parts: list[Table | Text] = []
    header = Text(f"{plan.stack}: {len(plan.resources)} resources to create ({_counts(plan)})", style="bold")
    parts.append(header)
    for role in plan.compiled.flows.roles:
        table = Table(title=f"role {role}", title_justify="left")
        for column in ("dir", "proto", "ports", "peer", "rule target", "catalogue ids"):
            table.add_column(column, overflow="fold")
        for row in (r for r in rule_rows(plan) if r.role == role):
            table.add_row(row.direction, row.protocol, row.ports, row.peer, row.target, ", ".join(row.entries))
        parts.append(table)
    budget = Table(title="quota budget (a prefix list counts its max entries)", title_justify="left")
    for column in ("group", "quota", "used", "limit", "largest consumers"):
        budget.add_column(column, overflow="fold")
    for b in budget_rows(plan):
        budget.add_row(b.group, b.quota, str(b.used), str(b.limit), b.heaviest)
    parts.append(budget)
    if _headroom(plan):
        parts.append(Text(_headroom(plan), style="dim"))
    if plan.warnings:
        parts.append(Text(f"{len(plan.warnings)} warning(s):", style="bold yellow"))
        for n in plan.warnings:
            parts.append(Text(f"  ! {n.subject}: {n.text}", style="yellow"))
    closed = [n for n in plan.compiled.flows.notices if not n.warning]
    if closed:
        parts.append(
            Text(
                f"{len(closed)} documented port(s) kept closed on purpose (seawall flows --stack {plan.stack} lists them)",
                style="dim",
            )
        )
    return Group(*parts)


def _counts(plan: Plan) -> str:
    counts = Counter(r.type.split(":")[-1] for r in plan.resources)
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))


def plan_markdown(plan: Plan) -> str:
    flows = plan.compiled.flows
    lines = [
        f"## seawall plan: `{plan.stack}`",
        "",
        f"Topology `{flows.topology}`, product `{flows.product}`, cloud `{plan.compiled.config.settings.cloud}`: "
        f"**{len(plan.resources)} resources** ({_counts(plan)}).",
        "",
    ]
    if plan.warnings:
        lines += ["> [!WARNING]"]
        lines += [f"> - {_subject(n)}: {_cell(n.text)}" for n in plan.warnings]
        lines.append("")
    for role in flows.roles:
        lines += [
            f"### Role `{role}`",
            "",
            "| dir | proto | ports | peer | rule target | catalogue ids |",
            "|---|---|---|---|---|---|",
        ]
        for row in (r for r in rule_rows(plan) if r.role == role):
            ids = ", ".join(f"`{e}`" for e in row.entries)
            lines.append(
                f"| {row.direction} | {row.protocol} | {row.ports} | {_cell(row.peer)} | {_cell(row.target)} | {ids} |"
            )
        lines.append("")
    lines += [
        "<details><summary>Quota budget</summary>",
        "",
        "| group | quota | used | limit | largest consumers |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {b.group} | {b.quota} | {b.used} | {b.limit} | {_cell(b.heaviest)} |" for b in budget_rows(plan)]
    if _headroom(plan):
        lines += ["", _headroom(plan).capitalize() + "."]
    lines += ["", "</details>", ""]
    closed = [n for n in flows.notices if not n.warning]
    if closed:
        lines += ["<details><summary>Documented ports kept closed on purpose</summary>", ""]
        lines += [f"- {_subject(n)} ({n.kind}): {_cell(n.text)}" for n in closed]
        lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _subject(notice: Notice) -> str:
    return " ".join(f"`{part}`" for part in (notice.role, notice.entry) if part) or "`stack`"


def _node(label: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in label)


def plan_mermaid(plan: Plan) -> str:
    """A flowchart of roles and peers with the ports between them (renders on GitHub)."""
    flows = plan.compiled.flows
    edges: dict[tuple[str, str], list[str]] = {}
    for flow in flows.flows:
        edges.setdefault((flow.src.label, flow.dst.label), []).append(f"{flow.protocol}/{flow.ports}")
    lines = ["flowchart LR"]
    labels = sorted({label for pair in edges for label in pair})
    lines.append(f'  subgraph {_node("stack")}["{plan.stack}"]')
    for label in labels:
        if label.startswith("role:"):
            lines.append(f'    {_node(label)}["{label.removeprefix("role:")}"]')
    lines.append("  end")
    for label in labels:
        if label == "internet":
            lines.append(f"  {_node(label)}((internet))")
        elif label.startswith("service:"):
            lines.append(f'  {_node(label)}[/"{label.removeprefix("service:")}"/]')
        elif label.startswith("site:"):
            lines.append(f'  {_node(label)}("{label.removeprefix("site:")}")')
    for (src, dst), ports in sorted(edges.items()):
        lines.append(f'  {_node(src)} -->|"{" ".join(ports)}"| {_node(dst)}')
    return "\n".join(lines) + "\n"
