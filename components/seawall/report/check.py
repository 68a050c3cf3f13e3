"""Views of ``seawall check``: JSON for tools, Markdown for the pull-request comment, lines for a terminal."""

from __future__ import annotations

from typing import Any

from seawall.analysis.policy import RULES, CheckResult, Violation


def check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "stack": result.stack,
        "passed": result.passed,
        "violations": [
            {"rule": v.rule, "level": v.level, "resource": v.resource, "urn": v.urn, "message": v.message}
            for v in result.violations
        ],
    }


def subject_and_text(v: Violation) -> tuple[str, str]:
    """What a finding is about and what is wrong, naming the resource once.

    Most rules start their message with the rule's label, which is the resource's name
    (AWS) or ``nsg/rule`` (Azure); the label is then the subject, as it is the more precise.
    """
    for separator in (": ", "/"):
        if v.message.startswith(v.resource + separator):
            subject, _, text = v.message.partition(": ")
            if text:
                return subject, text
    return v.resource, v.message


def check_markdown(result: CheckResult) -> str:
    lines = [f"#### seawall check: `{result.stack}`: {'passed' if result.passed else 'FAILED'}", ""]
    for v in result.violations:
        subject, text = subject_and_text(v)
        lines.append(f"- **{v.level}** `{v.rule}` `{subject}`: {text}")
    if not result.violations:
        lines.append(f"All {len(RULES)} rules pass.")
    return "\n".join(lines) + "\n"


def check_lines(result: CheckResult) -> list[str]:
    lines = [f"{v.level:9} {v.rule}: {': '.join(subject_and_text(v))}" for v in result.violations]
    verdict = "passed" if result.passed else "FAILED"
    lines.append(f"{result.stack}: {verdict} ({len(result.violations)} finding(s), {len(RULES)} rules)")
    return lines
