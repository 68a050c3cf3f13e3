"""Views of ``seawall check``: JSON for tools, Markdown for the pull-request comment, lines for a terminal."""

from __future__ import annotations

from typing import Any

from seawall.analysis.policy import RULES, CheckResult


def check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "stack": result.stack,
        "passed": result.passed,
        "violations": [
            {"rule": v.rule, "level": v.level, "resource": v.resource, "urn": v.urn, "message": v.message}
            for v in result.violations
        ],
    }


def check_markdown(result: CheckResult) -> str:
    lines = [f"#### seawall check: `{result.stack}`: {'passed' if result.passed else 'FAILED'}", ""]
    lines += [f"- **{v.level}** `{v.rule}` `{v.resource}`: {v.message}" for v in result.violations]
    if not result.violations:
        lines.append(f"All {len(RULES)} rules pass.")
    return "\n".join(lines) + "\n"


def check_lines(result: CheckResult) -> list[str]:
    lines = [f"{v.level:9} {v.rule}: {v.resource}: {v.message}" for v in result.violations]
    verdict = "passed" if result.passed else "FAILED"
    lines.append(f"{result.stack}: {verdict} ({len(result.violations)} finding(s), {len(RULES)} rules)")
    return lines
