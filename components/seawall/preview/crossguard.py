"""The CrossGuard side of seawall's policy rules: one StackValidationPolicy per rule.

``policy/__main__.py`` builds a PolicyPack from :func:`policies`; tests call
:func:`validate` with hand-built ``StackValidationArgs`` (constructing a
PolicyPack starts a gRPC server and blocks). Per-rule enforcement levels come
from the pack's config (``pulumi preview --policy-pack policy
--policy-pack-config config.json``), as CrossGuard does for every pack; the
``internet-egress-opted-in`` rule also reads ``internetEgress`` (a list of
vendor services) from its own config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    StackValidationArgs,
    StackValidationPolicy,
)

from seawall.analysis.policy import RULES, Resource, check_resources
from seawall.catalog.load import load_catalog

_LEVELS = {
    "advisory": EnforcementLevel.ADVISORY,
    "mandatory": EnforcementLevel.MANDATORY,
    "disabled": EnforcementLevel.DISABLED,
}


def resources_of(args: StackValidationArgs) -> list[Resource]:
    return [Resource(r.resource_type, r.name, r.urn, dict(r.props)) for r in args.resources]


def validate(rule: str, args: StackValidationArgs, report: Callable[[str, str | None], None]) -> None:
    """Run one seawall rule over the stack's resources and report each violation against its resource."""
    config: dict[str, Any] = dict(args.get_config())
    violations = check_resources(
        resources_of(args),
        load_catalog(),
        internet_egress=config.get("internetEgress", ()),
        levels={name: "disabled" for name in RULES if name != rule},
        rules_per_security_group=int(config.get("rulesPerSecurityGroup", 60)),
    )
    for violation in violations:
        report(violation.message, violation.urn or None)


def _validator(rule: str) -> Callable[[StackValidationArgs, Callable[[str, str | None], None]], None]:
    def run(args: StackValidationArgs, report: Callable[[str, str | None], None]) -> None:
        validate(rule, args, report)

    return run


def policies() -> list[StackValidationPolicy]:
    out = []
    for name, rule in RULES.items():
        schema = None
        if name == "internet-egress-opted-in":
            schema = PolicyConfigSchema(properties={"internetEgress": {"type": "array", "items": {"type": "string"}}})
        elif name == "aws-limits":
            schema = PolicyConfigSchema(
                properties={"rulesPerSecurityGroup": {"type": "integer", "minimum": 1, "maximum": 1000}}
            )
        out.append(
            StackValidationPolicy(
                name=name,
                description=rule.description,
                validate=_validator(name),
                enforcement_level=_LEVELS[rule.default],
                config_schema=schema,
            )
        )
    return out
