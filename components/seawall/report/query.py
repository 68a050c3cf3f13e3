"""Terminal and JSON views of ``seawall query`` answers."""

from __future__ import annotations

from typing import Any

from seawall.analysis.probes import Answer


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
