"""The CrossGuard side of seawall's policy rules: one StackValidationPolicy per rule.

``policy/__main__.py`` builds a PolicyPack from :func:`policies`; tests call
:func:`validate` with hand-built ``StackValidationArgs`` (constructing a
PolicyPack starts a gRPC server and blocks). Per-rule enforcement levels come
from the pack's config (``pulumi preview --policy-pack policy
--policy-pack-config config.json``), as CrossGuard does for every pack; the
``internet-egress-opted-in`` rule also reads ``internetEgress`` (a list of
vendor services) and ``vendor-addresses-plausible`` reads ``allowPrivate`` (a
list of CIDRs) from their own config; the three rules about the internet read
``internetEquivalent`` (``{"ipv4": 4, "ipv6": 8}``: from what prefix length a
union of addresses counts as the internet, as ``seawall:internetEquivalent``).

During a preview some values are unknown until apply (the id of a prefix list
that does not exist yet). They are read as :data:`~seawall.registered.UNKNOWN`
rather than aborting the whole rule, and a reference whose value is unknown (or
a real id) is followed through the engine's property dependencies, so a rule
that uses a seawall prefix list is judged by the list's entries in a preview too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from seawall.analysis.policy import RULES, Resource, check_resources
from seawall.aws.limits import PREFIX_LIST, SECURITY_GROUP
from seawall.catalog.load import load_catalog
from seawall.errors import UserError
from seawall.records import Invalid, parse
from seawall.registered import UNKNOWN
from seawall.stackconfig import InternetEquivalent

_LEVELS = {
    "advisory": EnforcementLevel.ADVISORY,
    "mandatory": EnforcementLevel.MANDATORY,
    "disabled": EnforcementLevel.DISABLED,
}
_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)
# Inputs that hold another resource's id, and the type that id must come from.
_REFERENCES = {
    "prefixListId": PREFIX_LIST,
    "securityGroupId": SECURITY_GROUP,
    "referencedSecurityGroupId": SECURITY_GROUP,
}


def resources_of(args: StackValidationArgs) -> list[Resource]:
    """The stack's resources as plain data, in the plan's shape (``${name.id}`` for references it can follow)."""
    out = []
    for r in args.resources:
        props = _plain(r.props)
        inputs = props if isinstance(props, dict) else {}
        inputs.update(_references(r, inputs))
        out.append(Resource(r.resource_type, r.name, r.urn, inputs))
    return out


def _plain(value: Any) -> Any:
    """Props with CrossGuard's unknown-checking proxies unwrapped; an unknown value becomes UNKNOWN."""
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[str(key)] = _plain(value[key])
            except UnknownValueError:
                out[str(key)] = UNKNOWN
        return out
    if isinstance(value, Sequence):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(_plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def _references(r: PolicyResource, inputs: Mapping[str, Any]) -> dict[str, str]:
    """References the engine can vouch for: the value came from exactly one resource of the expected type."""
    out = {}
    for key, type_ in _REFERENCES.items():
        sources = [d for d in (r.property_dependencies or {}).get(key, []) if d.resource_type == type_]
        if isinstance(inputs.get(key), str) and len(sources) == 1:
            out[key] = f"${{{sources[0].name}.id}}"
    return out


def validate(rule: str, args: StackValidationArgs, report: Callable[[str, str | None], None]) -> None:
    """Run one seawall rule over the stack's resources and report each violation against its resource."""
    config: dict[str, Any] = dict(args.get_config() or {})
    try:
        equivalent = _internet_equivalent(config.get("internetEquivalent"))
        violations = check_resources(
            resources_of(args),
            load_catalog(),
            internet_egress=config.get("internetEgress", ()),
            levels={name: "disabled" for name in RULES if name != rule},
            rules_per_security_group=int(config.get("rulesPerSecurityGroup", 60)),
            allow_private=config.get("allowPrivate", ()),
            internet_prefixes={4: equivalent.ipv4, 6: equivalent.ipv6},
        )
    except UserError as error:  # a bad pack config is a violation, never a silent pass
        report(f"policy config: {error}", None)
        return
    for violation in violations:
        report(violation.message, violation.urn or None)


def _validator(rule: str) -> Callable[[StackValidationArgs, Callable[[str, str | None], None]], None]:
    def run(args: StackValidationArgs, report: Callable[[str, str | None], None]) -> None:
        validate(rule, args, report)

    return run


def _internet_equivalent(raw: Any) -> InternetEquivalent:
    """The pack's ``internetEquivalent``, checked as a stack's ``seawall:internetEquivalent`` is."""
    try:
        return parse(InternetEquivalent, {} if raw is None else raw)
    except Invalid as exc:
        first = exc.errors()[0]
        key = ".".join(["internetEquivalent", *map(str, first["loc"])])
        raise UserError(key, f"{first['input']!r}: {first['msg']}; valid: {INTERNET_EQUIVALENT_FORM}") from None


INTERNET_EQUIVALENT_FORM = '{"ipv4": 1-32, "ipv6": 1-128} (prefix lengths; default {"ipv4": 4, "ipv6": 8})'
_EQUIVALENT_SCHEMA = {
    "type": "object",
    "properties": {
        "ipv4": {"type": "integer", "minimum": 1, "maximum": 32},
        "ipv6": {"type": "integer", "minimum": 1, "maximum": 128},
    },
    "additionalProperties": False,
}
_ABOUT_THE_INTERNET = ("internet-ingress-documented", "no-management-from-internet", "internet-egress-opted-in")


def policies() -> list[StackValidationPolicy]:
    out = []
    for name, rule in RULES.items():
        schema = None
        if name == "internet-egress-opted-in":
            schema = PolicyConfigSchema(
                properties={
                    "internetEgress": {"type": "array", "items": {"type": "string"}},
                    "internetEquivalent": _EQUIVALENT_SCHEMA,
                }
            )
        elif name in _ABOUT_THE_INTERNET:
            schema = PolicyConfigSchema(properties={"internetEquivalent": _EQUIVALENT_SCHEMA})
        elif name == "vendor-addresses-plausible":
            schema = PolicyConfigSchema(properties={"allowPrivate": {"type": "array", "items": {"type": "string"}}})
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
