"""Views of ``seawall diff``: Markdown for the pull-request comment, JSON for tools, text for a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seawall.analysis.diff import FlowKey, PlanDiff
from seawall.report.markdown import cell as _cell


def diff_json(d: PlanDiff) -> dict[str, Any]:
    def flows(items: Mapping[FlowKey, tuple[str, ...]]) -> list[dict[str, Any]]:
        return [
            {
                "role": k.role,
                "direction": k.direction,
                "protocol": k.protocol,
                "ports": k.ports,
                "peer": k.peer,
                "entries": list(v),
            }
            for k, v in sorted(items.items())
        ]

    return {
        "mismatch": d.mismatch,  # first: a tool must not miss that two different stacks were compared
        "stack": d.stack,
        "base_stack": d.base_stack,
        "head_stack": d.head_stack,
        "changed": d.changed,
        "broadening": d.broadening,
        "opened": flows(d.opened),
        "closed": flows(d.closed),
        "ipsets": [{"service": s, "added": list(a), "removed": list(r)} for s, (a, r) in d.ipsets.items()],
        "replaced": [{"type": t, "name": n, "why": w} for t, n, w in d.replaced],
        "relaid": [{"change": verb, "type": t, "name": n} for verb, t, n in d.relaid],
        # The verdict in packets: what head admits that base does not, and the reverse.
        "packets": {
            "broadening": [line.to_json() for line in d.admits_more],
            "narrowing": [line.to_json() for line in d.admits_less],
            "unknown_added": list(d.unknown_added),
            "unknown_removed": list(d.unknown_removed),
        },
    }


def diff_markdown(d: PlanDiff) -> str:
    title = f"`{d.base_stack}` → `{d.head_stack}`" if d.base_stack != d.head_stack else f"`{d.stack}`"
    lines = [f"### seawall diff: {title}", ""]
    if d.mismatch:
        lines += ["> [!WARNING]", f"> {_cell(d.mismatch[0].upper() + d.mismatch[1:])}", ""]
    if not d.changed:
        return "\n".join([*lines, "No firewall change.", ""])
    if d.broadening:
        lines += ["> [!CAUTION]", "> **Broadening**: this change lets more traffic through."]
        lines += [f"> - {_cell(b)}" for b in d.broadening]
        lines.append("")
    if d.admits_more or d.admits_less or d.unknown_added or d.unknown_removed:
        lines += ["**Traffic** (what the firewall lets through, before and after):", ""]
        lines += ["| traffic | dir | role | what | peers | rules |", "|---|---|---|---|---|---|"]
        for label, traffic in (("admitted now", d.admits_more), ("no longer admitted", d.admits_less)):
            for t in traffic:
                local = f" (at {t.local})" if t.local else ""
                whole = f" (the whole internet: {t.internet})" if t.internet else ""
                rules = "<br>".join(f"`{r}`" for r in t.rules) or "—"
                lines.append(
                    f"| **{label}** | {t.direction} | {_cell(t.role + local)} | {_cell(t.what())} "
                    f"| {_cell(t.peers + whole)} | {rules} |"
                )
        for label, texts in (("cannot judge (new)", d.unknown_added), ("cannot judge (gone)", d.unknown_removed)):
            lines += [f"| **{label}** | | | | {_cell(text)} | |" for text in texts]
        lines.append("")
    if d.opened or d.closed:
        lines += ["| change | dir | role | proto | ports | peer | catalogue ids |", "|---|---|---|---|---|---|---|"]
        for label, items in (("opened", d.opened), ("closed", d.closed)):
            for k, ids in sorted(items.items()):
                cited = ", ".join(f"`{i}`" for i in ids) or "none"
                lines.append(
                    f"| **{label}** | {k.direction} | {_cell(k.role)} | {k.protocol} | {k.ports} | {_cell(k.peer)} | {cited} |"
                )
        lines.append("")
    if d.ipsets:
        lines += ["**Vendor IP sets**", "", "| service | added | removed |", "|---|---|---|"]
        for service, (added, removed) in d.ipsets.items():
            lines.append(f"| {_cell(service)} | {'<br>'.join(added) or '—'} | {'<br>'.join(removed) or '—'} |")
        lines.append("")
    if d.replaced:
        lines += ["**Replaced on deploy** (deleted and recreated):", ""]
        lines += [f"- `{t}` `{n}`: {why}" for t, n, why in d.replaced]
        lines.append("")
    if d.relaid:
        lines += ["**Laid out anew** (the same flows on other resources: deleted and created on deploy):", ""]
        lines += [f"- {verb} `{t}` `{n}`" for verb, t, n in d.relaid]
        lines.append("")
    return "\n".join(lines)


def diff_text(d: PlanDiff) -> list[str]:
    first = [f"WARNING: {d.mismatch}"] if d.mismatch else []
    if not d.changed:
        return [*first, f"{d.stack}: no firewall change"]
    lines = [*first, f"{d.stack}:"]
    lines += [f"  BROADENING: {b}" for b in d.broadening]
    lines += [f"  {t.sentence('no longer admits')}" for t in d.admits_less]
    lines += [f"  no longer unknown: {u}" for u in d.unknown_removed]
    lines += [f"  + {k.sentence()} [{', '.join(v)}]" for k, v in sorted(d.opened.items())]
    lines += [f"  - {k.sentence()} [{', '.join(v)}]" for k, v in sorted(d.closed.items())]
    for service, (added, removed) in d.ipsets.items():
        lines += [f"  ip-set {service}: +{a}" for a in added] + [f"  ip-set {service}: -{r}" for r in removed]
    lines += [f"  replaced: {t} {n}: {w}" for t, n, w in d.replaced]
    lines += [f"  laid out anew: {verb} {t} {n}" for verb, t, n in d.relaid]
    return lines
