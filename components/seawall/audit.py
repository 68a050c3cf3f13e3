"""``seawall audit``: what a deployed AWS stack holds that its plan does not, and the reverse.

The expected state is the AWS specification the stack renders to (the same content
``seawall plan`` declares). The actual state is read from the account with
read-only EC2 calls, every one paginated: the stack's security groups and prefix
lists are found by their ``seawall:stack`` tag, a group's role by ``seawall:role``,
a list's service by ``seawall:service`` and its address family.

Both sides are normalised to content, never ids: a rule is (role, direction,
protocol, ports, peer) where the peer is a CIDR, ``role:<role>`` for a group of the
stack, ``service:<service>-ipv4|ipv6`` for a prefix list of the stack, or the raw
``sg-``/``pl-`` id of anything else. A missing and an extra rule that differ only
in ports (or only in peer) are reported as one change, so one hand edit is one line.

Exit code of :func:`run_audit`: 0 in sync, 1 drift; account errors raise
:class:`~seawall.errors.UserError` (exit 2).
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from seawall.errors import UserError
from seawall.render.aws import AwsPeer, AwsPrefixList, AwsRule, AwsSpec
from seawall.stack import compile_stack, render_aws_stack

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

STACK_TAG = "seawall:stack"
ROLE_TAG = "seawall:role"
SERVICE_TAG = "seawall:service"

# Report order within one role or service.
KINDS = (
    "missing-group",
    "extra-group",
    "missing-rule",
    "extra-rule",
    "changed-ports",
    "changed-peer",
    "missing-prefix-list",
    "extra-prefix-list",
    "prefix-list-entry-added",
    "prefix-list-entry-removed",
    "untagged-group-uses-prefix-list",
)

# A deleted prefix list stays visible for a while in these states; it is gone for the audit.
GONE_STATES = frozenset({"delete-in-progress", "delete-complete"})
# EC2 refuses a filter with too many values (200 is the limit met in practice; the API reference names
# none). A stack has a handful of groups, but a hand-made mess may not.
FILTER_VALUES = 200
# Protocol numbers EC2 may echo back, as the names the plan uses.
PROTOCOL_NAMES = {"-1": "all", "all": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
# Error codes that mean "these credentials may not do this here", not a problem with the stack.
AUTH_CODES = frozenset(
    {
        "AuthFailure",
        "UnauthorizedOperation",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "RequestExpired",
        "OptInRequired",
    }
)
READ_PERMISSIONS = (
    "ec2:DescribeSecurityGroups, ec2:DescribeSecurityGroupRules, "
    "ec2:DescribeManagedPrefixLists, ec2:GetManagedPrefixListEntries"
)


@dataclass(frozen=True, order=True)
class Rule:
    """One rule by content. ``protocol`` is ``all`` for AWS's ``-1`` (then both ports are -1)."""

    role: str
    direction: str  # ingress | egress
    protocol: str
    from_port: int
    to_port: int
    peer: str  # CIDR, role:<role>, service:<service>-<family>, or a raw sg-/pl- id

    @property
    def ports(self) -> str:
        if self.protocol == "all":
            return "all"
        return str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"

    def label(self) -> str:
        if self.protocol == "all":
            return f"{self.direction} all {self.peer}"
        return f"{self.direction} {self.protocol} {self.ports} {self.peer}"


@dataclass(frozen=True)
class Drift:
    """One difference between the plan and the account."""

    kind: str
    detail: str
    role: str | None = None
    service: str | None = None  # a prefix list's key, e.g. kav-update-ipv4
    rule: Rule | None = None  # the account's rule; the planned one for missing-rule
    planned: Rule | None = None  # for changed-ports / changed-peer
    group_id: str | None = None
    rule_id: str | None = None
    prefix_list_id: str | None = None
    cidr: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        scope = (0, self.role or "") if self.service is None else (1, self.service)
        rule = self.rule or Rule("", "", "", 0, 0, "")
        return (*scope, KINDS.index(self.kind), rule, self.cidr or "", self.group_id or "", self.rule_id or "")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.service is not None:
            out["service"] = self.service
        else:
            out["role"] = self.role
        out["detail"] = self.detail
        if self.rule is not None:
            everything = self.rule.protocol == "all"
            out |= {
                "direction": self.rule.direction,
                "protocol": self.rule.protocol,
                "from_port": None if everything else self.rule.from_port,
                "to_port": None if everything else self.rule.to_port,
                "peer": self.rule.peer,
            }
        if self.planned is not None and self.kind == "changed-ports":
            out |= {"planned_from_port": self.planned.from_port, "planned_to_port": self.planned.to_port}
        if self.planned is not None and self.kind == "changed-peer":
            out["planned_peer"] = self.planned.peer
        extras = {
            "group_id": self.group_id,
            "rule_id": self.rule_id,
            "prefix_list_id": self.prefix_list_id,
            "cidr": self.cidr,
        }
        out |= {k: v for k, v in extras.items() if v is not None}
        return out


@dataclass(frozen=True)
class ActualGroup:
    """A security group as the account holds it."""

    id: str
    name: str
    tags: dict[str, str]


@dataclass(frozen=True)
class ActualRule:
    """A rule as ``DescribeSecurityGroupRules`` gives it: one peer."""

    id: str
    group_id: str
    egress: bool
    protocol: str
    from_port: int
    to_port: int
    cidr_ipv4: str | None = None
    cidr_ipv6: str | None = None
    prefix_list_id: str | None = None
    group_ref: str | None = None


@dataclass(frozen=True)
class ActualPrefixList:
    """A customer-managed prefix list and its current entries (normalised CIDRs)."""

    id: str
    name: str
    address_family: str
    tags: dict[str, str]
    entries: frozenset[str]


@dataclass(frozen=True)
class Account:
    """What the account holds for one stack, plus outside groups' rules that use the stack's prefix lists."""

    groups: tuple[ActualGroup, ...]
    rules: tuple[ActualRule, ...]
    prefix_lists: tuple[ActualPrefixList, ...]
    outsiders: tuple[tuple[ActualGroup, ActualRule], ...] = ()


@dataclass
class Report:
    """The audit of one stack in one region; in sync when there is no drift."""

    stack: str
    region: str
    drift: list[Drift] = field(default_factory=list)
    counts: tuple[int, int, int] = (0, 0, 0)  # planned groups, rules, prefix lists

    @property
    def in_sync(self) -> bool:
        return not self.drift

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "in_sync": self.in_sync,
            "drift": [d.to_json() for d in self.drift],
        }


def run_audit(
    stack: str,
    stacks_dir: Path,
    catalog_dir: Path | None,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    json_output: bool,
    console: Console,
    page_size: int | None = None,
) -> int:
    """Compare the deployed AWS stack with its plan; print the report; return 0 in sync, 1 on drift.

    ``region`` defaults to the stack's ``aws:region``. ``page_size`` caps every
    paginated read (tests use it to force several pages). Only read-only EC2 calls
    are made. Raises UserError (exit 2) for bad input and for account errors: no
    credentials, access denied, an unknown region, an unreachable endpoint.
    """
    compiled = compile_stack(stack, stacks_dir, catalog_dir)
    if compiled.config.settings.cloud != "aws":
        raise UserError("--stack", f"{stack} is a {compiled.config.settings.cloud} stack; audit reads AWS stacks only")
    spec = render_aws_stack(compiled)
    region = region or _config_region(compiled.config.provider_config, stack)
    if page_size is not None and page_size < 1:
        raise UserError("page size", f"{page_size} must be at least 1")
    client = _client(region, endpoint_url, profile)
    where = endpoint_url or f"ec2 {region}"
    console.print(f"auditing {stack} in {region} ({where}, read-only) ...", style="dim", markup=False)
    with _aws_errors(region, endpoint_url):
        account = read_account(client, stack, page_size)
    console.print(
        f"read {_count(account.groups, 'security group')}, {_count(account.rules, 'rule')} and "
        f"{_count(account.prefix_lists, 'prefix list')} tagged {STACK_TAG}={stack}",
        style="dim",
        markup=False,
    )
    report = Report(
        stack, region, compare(spec, account), (len(spec.security_groups), len(spec.rules), len(spec.prefix_lists))
    )
    if json_output:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        _print_report(report)
    return 0 if report.in_sync else 1


def _config_region(provider_config: dict[str, Any], stack: str) -> str:
    value = provider_config.get("aws:region")
    if not isinstance(value, str) or not value:
        raise UserError("--region", f"no region: pass --region or set aws:region in Pulumi.{stack}.yaml")
    return value


# --- the account ------------------------------------------------------------------------------------------------


def _client(region: str, endpoint_url: str | None, profile: str | None) -> Any:
    """A read client, after the checks that need no network: profile, credentials, region name."""
    import boto3
    import botocore.config
    import botocore.exceptions

    try:
        session = boto3.session.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound:
        known = ", ".join(sorted(boto3.session.Session().available_profiles)) or "(none)"
        raise UserError("--profile", f"no AWS profile {profile!r}; valid: {known}") from None
    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise UserError("credentials", _one_line(str(exc))) from None
    if credentials is None:
        raise UserError(
            "credentials",
            "no AWS credentials found; use --profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    # Without --endpoint-url a typo would only show as a DNS failure after retries; an
    # endpoint given explicitly (a newer region, an emulator) is taken on trust.
    if endpoint_url is None:
        known_regions = {r for p in session.get_available_partitions() for r in session.get_available_regions("ec2", p)}
        if region not in known_regions:
            near = sorted(r for r in known_regions if r.split("-")[0] == region.split("-")[0]) or sorted(known_regions)
            raise UserError("--region", f"unknown AWS region {region!r}; valid: {', '.join(near)}")
    try:
        return session.client(
            "ec2",
            region_name=region,
            endpoint_url=endpoint_url,
            config=botocore.config.Config(retries={"mode": "standard"}),
        )
    except botocore.exceptions.InvalidRegionError:
        raise UserError("--region", f"{region!r} is not a region name such as eu-west-1") from None
    except ValueError as exc:  # a malformed --endpoint-url
        raise UserError("--endpoint-url", _one_line(str(exc))) from None


@contextmanager
def _aws_errors(region: str, endpoint_url: str | None) -> Iterator[None]:
    """Turn botocore's failures into one-line UserErrors (exit 2) that say what to do."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    where = endpoint_url or f"ec2 {region}"
    try:
        yield
    except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
        raise UserError("credentials", f"{_one_line(str(exc))}; use --profile or AWS_PROFILE") from None
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = _one_line(str(error.get("Message", "")))
        hint = f"; the audit needs read-only {READ_PERMISSIONS}" if code in AUTH_CODES else ""
        raise UserError(where, f"{code} on {exc.operation_name}: {message}{hint}") from None
    except (bx.EndpointConnectionError, bx.ConnectionError, bx.HTTPClientError) as exc:
        raise UserError(
            "--endpoint-url" if endpoint_url else where, f"cannot reach EC2: {_one_line(str(exc))}"
        ) from None
    except bx.BotoCoreError as exc:
        raise UserError(where, _one_line(str(exc))) from None
    except ResponseParserError as exc:  # not a BotoCoreError: an endpoint that is not (or not yet) EC2
        first = _one_line(str(exc)).split(" Further")[0]
        raise UserError(
            "--endpoint-url" if endpoint_url else where,
            f"the endpoint's answer is not an EC2 response ({first}); check --endpoint-url and --region",
        ) from None


def _count(things: Sized | int, noun: str) -> str:
    n = things if isinstance(things, int) else len(things)
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def read_account(client: Any, stack: str, page_size: int | None = None) -> Account:
    """Everything tagged for ``stack``, read with paginated read-only calls (no write API is ever called).

    Outside groups are scanned only when the stack has prefix lists: a rule of theirs
    that references one counts its max entries against that group's quota and keeps
    the list from being replaced or deleted.
    """
    by_stack = [{"Name": f"tag:{STACK_TAG}", "Values": [stack]}]
    groups = [
        _group(g) for g in _items(client, "describe_security_groups", "SecurityGroups", page_size, Filters=by_stack)
    ]
    ids = sorted(g.id for g in groups)
    rules: list[ActualRule] = []
    for start in range(0, len(ids), FILTER_VALUES):
        chunk = ids[start : start + FILTER_VALUES]
        rules += [
            _rule(r)
            for r in _items(
                client,
                "describe_security_group_rules",
                "SecurityGroupRules",
                page_size,
                Filters=[{"Name": "group-id", "Values": chunk}],
            )
        ]
    lists = []
    for pl in _items(client, "describe_managed_prefix_lists", "PrefixLists", page_size, Filters=by_stack):
        if pl.get("State") in GONE_STATES:
            continue
        entries = _items(
            client, "get_managed_prefix_list_entries", "Entries", page_size, PrefixListId=pl["PrefixListId"]
        )
        lists.append(
            ActualPrefixList(
                id=pl["PrefixListId"],
                name=pl.get("PrefixListName", ""),
                address_family=pl.get("AddressFamily", ""),
                tags=_tags(pl),
                entries=frozenset(_cidr(e["Cidr"]) for e in entries),
            )
        )
    outsiders: list[tuple[ActualGroup, ActualRule]] = []
    if lists:
        ours, list_ids = set(ids), {pl.id for pl in lists}
        for raw in _items(client, "describe_security_groups", "SecurityGroups", page_size):
            if raw["GroupId"] in ours:
                continue
            group = _group(raw)
            outsiders += [(group, rule) for rule in _prefix_list_rules(raw) if rule.prefix_list_id in list_ids]
    return Account(tuple(groups), tuple(rules), tuple(lists), tuple(outsiders))


def _items(client: Any, operation: str, key: str, page_size: int | None, **params: Any) -> list[dict[str, Any]]:
    config = {"PageSize": page_size} if page_size else {}
    out: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**params, PaginationConfig=config):
        out += page.get(key, [])
    return out


def _tags(raw: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in raw.get("Tags", [])}


def _group(raw: dict[str, Any]) -> ActualGroup:
    return ActualGroup(raw["GroupId"], raw.get("GroupName", ""), _tags(raw))


def _rule(raw: dict[str, Any]) -> ActualRule:
    return ActualRule(
        id=raw.get("SecurityGroupRuleId", ""),
        group_id=raw["GroupId"],
        egress=bool(raw.get("IsEgress")),
        protocol=str(raw.get("IpProtocol", "-1")),
        from_port=int(raw.get("FromPort", -1)),
        to_port=int(raw.get("ToPort", -1)),
        cidr_ipv4=raw.get("CidrIpv4"),
        cidr_ipv6=raw.get("CidrIpv6"),
        prefix_list_id=raw.get("PrefixListId"),
        group_ref=(raw.get("ReferencedGroupInfo") or {}).get("GroupId"),
    )


def _prefix_list_rules(raw: dict[str, Any]) -> Iterator[ActualRule]:
    """The prefix-list peers of a DescribeSecurityGroups permission set, one rule each."""
    for egress, key in ((False, "IpPermissions"), (True, "IpPermissionsEgress")):
        for perm in raw.get(key, []):
            for pl in perm.get("PrefixListIds", []):
                yield ActualRule(
                    id="",
                    group_id=raw["GroupId"],
                    egress=egress,
                    protocol=str(perm.get("IpProtocol", "-1")),
                    from_port=int(perm.get("FromPort", -1)),
                    to_port=int(perm.get("ToPort", -1)),
                    prefix_list_id=pl["PrefixListId"],
                )


def _cidr(text: str) -> str:
    """One spelling per network (AWS may echo an IPv6 CIDR differently from how it was written)."""
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def _protocol(text: str) -> str:
    return PROTOCOL_NAMES.get(text.lower(), text.lower())


# --- the comparison (pure) --------------------------------------------------------------------------------------


def list_key(service_tag: str, family: str) -> str:
    """``clearswift-seg/kav-update`` + ``IPv4`` → ``kav-update-ipv4``, the key a plan's peer uses."""
    return f"{service_tag.rsplit('/', 1)[-1]}-{family.lower()}"


@dataclass
class _Match:
    """The account's groups and lists matched to the plan's roles and prefix-list keys."""

    groups: dict[str, ActualGroup] = field(default_factory=dict)  # planned role → its group
    lists: dict[str, ActualPrefixList] = field(default_factory=dict)  # planned key → its list
    role_of: dict[str, str] = field(default_factory=dict)  # group id → role, for role:<role> peers
    key_of: dict[str, str] = field(default_factory=dict)  # list id → key, for service:<key> peers
    drift: list[Drift] = field(default_factory=list)  # extra groups and lists


def compare(spec: AwsSpec, account: Account) -> list[Drift]:
    """Every difference between the planned spec and the account, by content, deterministically sorted."""
    match = _Match()
    _match_groups(spec, account, match)
    _match_lists(spec, account, match)
    missing_roles = [sg for sg in spec.security_groups if sg.role not in match.groups]
    missing_lists = [pl for pl in spec.prefix_lists if pl.key not in match.lists]

    # A planned rule that cannot exist because its group or list is missing is folded
    # into that missing-* line: recreating the group or list brings it back.
    gone = {f"role:{sg.role}" for sg in missing_roles} | {f"service:{pl.key}" for pl in missing_lists}
    expected: list[Rule] = []
    folded: Counter[str] = Counter()
    for planned_rule in spec.rules:
        rule = _planned_rule(planned_rule)
        if f"role:{rule.role}" in gone:
            folded[f"role:{rule.role}"] += 1
        elif rule.peer in gone:
            folded[rule.peer] += 1
        else:
            expected.append(rule)

    drift = list(match.drift)
    drift += [
        Drift(
            "missing-group",
            f"no security group tagged {ROLE_TAG}={sg.role} (planned {sg.group_name}; "
            f"{folded[f'role:{sg.role}']} planned rules are on it or reference it)",
            role=sg.role,
        )
        for sg in missing_roles
    ]
    drift += [
        Drift(
            "missing-prefix-list",
            f"no prefix list tagged {SERVICE_TAG}={dict(pl.tags)[SERVICE_TAG]} ({pl.address_family}); planned "
            f"{pl.list_name} with {len(pl.entries)} entries, used by {folded[f'service:{pl.key}']} planned rules",
            service=pl.key,
        )
        for pl in missing_lists
    ]
    drift += _rule_drift(expected, account, match)
    for pl in spec.prefix_lists:
        if (found := match.lists.get(pl.key)) is not None:
            drift += _entry_drift(pl, found)
    drift += _outsider_drift(account, match)
    return sorted(drift, key=Drift.sort_key)


def _match_groups(spec: AwsSpec, account: Account, match: _Match) -> None:
    """One group per role; any other group tagged for the stack is extra (and never stands for a role)."""
    planned = {sg.role: sg for sg in spec.security_groups}
    held = Counter(rule.group_id for rule in account.rules)
    extra: list[tuple[ActualGroup, str]] = []
    for role, candidates in _by(account.groups, lambda g: g.tags.get(ROLE_TAG)).items():
        if role is None:
            extra += [(g, f"has no {ROLE_TAG} tag") for g in candidates]
            continue
        sg = planned.get(role)
        # The group named as planned wins a tie; then the lowest id, so reruns agree.
        first, *rest = sorted(candidates, key=lambda g: (sg is None or g.name != sg.group_name, g.id))
        match.role_of[first.id] = role
        if sg is None:
            extra.append((first, f"role {role!r} is not planned"))
        else:
            match.groups[role] = first
        extra += [(g, f"it is a second group for role {role!r} ({first.id} is the role's)") for g in rest]
    match.drift += [
        Drift(
            "extra-group",
            f"{g.id} ({g.name}) is tagged {STACK_TAG} but {why}; it holds {held[g.id]} rules",
            role=g.tags.get(ROLE_TAG),
            group_id=g.id,
        )
        for g, why in extra
    ]


def _match_lists(spec: AwsSpec, account: Account, match: _Match) -> None:
    """One list per vendor service and address family; any other list tagged for the stack is extra."""
    planned: dict[tuple[str, str], AwsPrefixList] = {
        (dict(pl.tags)[SERVICE_TAG], pl.address_family): pl for pl in spec.prefix_lists
    }

    def ident(p: ActualPrefixList) -> tuple[str, str] | None:
        return (p.tags[SERVICE_TAG], p.address_family) if SERVICE_TAG in p.tags else None

    for found, candidates in _by(account.prefix_lists, ident).items():
        if found is None:
            match.drift += [
                Drift(
                    "extra-prefix-list",
                    f"{p.id} ({p.name}) is tagged {STACK_TAG} but has no {SERVICE_TAG} tag",
                    service=p.name or p.id,
                    prefix_list_id=p.id,
                )
                for p in candidates
            ]
            continue
        pl = planned.get(found)
        key = list_key(*found)
        first, *rest = sorted(candidates, key=lambda p: (pl is None or p.name != pl.list_name, p.id))
        match.key_of[first.id] = key
        if pl is None:
            why = f"{SERVICE_TAG}={found[0]} ({found[1]}) is not planned"
            match.drift.append(
                Drift("extra-prefix-list", f"{first.id} ({first.name}): {why}", service=key, prefix_list_id=first.id)
            )
        else:
            match.lists[pl.key] = first
        match.drift += [
            Drift(
                "extra-prefix-list",
                f"{p.id} ({p.name}): a second list for {key} ({first.id} is the service's)",
                service=key,
                prefix_list_id=p.id,
            )
            for p in rest
        ]


def _rule_drift(expected: list[Rule], account: Account, match: _Match) -> list[Drift]:
    """Rules of the planned groups: missing, extra, and pairs of the two that are one edit."""
    ours = {g.id: role for role, g in match.groups.items()}
    actual: dict[Rule, ActualRule] = {}
    for raw in account.rules:
        if raw.group_id in ours:  # an extra group's rules are summed up in its extra-group line
            actual[_actual_rule(ours[raw.group_id], raw, match)] = raw
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    # One hand-edited port (or peer) is one change, not a missing and an extra line.
    by_ports, missing, extra = _pair(missing, extra, lambda r: (r.role, r.direction, r.protocol, r.peer))
    by_peer, missing, extra = _pair(missing, extra, lambda r: (r.role, r.direction, r.protocol, r.from_port, r.to_port))

    drift = []
    for rule in missing:
        group = match.groups[rule.role]
        drift.append(
            Drift(
                "missing-rule",
                f"planned {rule.label()} is not on {group.id}",
                role=rule.role,
                rule=rule,
                group_id=group.id,
            )
        )
    for rule in extra:
        raw = actual[rule]
        default = rule.direction == "egress" and rule.protocol == "all" and rule.peer in ("0.0.0.0/0", "::/0")
        why = "AWS's default allow-all egress is still on the group" if default else "not planned"
        drift.append(
            Drift(
                "extra-rule",
                f"{raw.id} on {raw.group_id}: {why}",
                role=rule.role,
                rule=rule,
                group_id=raw.group_id,
                rule_id=raw.id,
            )
        )
    for kind, pairs in (("changed-ports", by_ports), ("changed-peer", by_peer)):
        for planned, now in pairs:
            raw = actual[now]
            edit = (
                f"ports {planned.ports} → {now.ports}"
                if kind == "changed-ports"
                else f"peer {planned.peer} → {now.peer}"
            )
            drift.append(
                Drift(
                    kind,
                    f"{raw.id} on {raw.group_id}: {edit}",
                    role=now.role,
                    rule=now,
                    planned=planned,
                    group_id=raw.group_id,
                    rule_id=raw.id,
                )
            )
    return drift


def _outsider_drift(account: Account, match: _Match) -> list[Drift]:
    """Groups outside the stack whose rules use one of its prefix lists."""
    drift = []
    for group, raw in account.outsiders:
        key = match.key_of.get(raw.prefix_list_id or "")
        if key is None:
            continue
        rule = _actual_rule("", raw, match)
        stack = group.tags.get(STACK_TAG)
        tagged = f"has no {STACK_TAG} tag" if stack is None else f"is tagged {STACK_TAG}={stack}"
        drift.append(
            Drift(
                "untagged-group-uses-prefix-list",
                f"{group.id} ({group.name}) {tagged} but its {rule.direction} rule uses {raw.prefix_list_id}; "
                "that counts the list's max entries in the group's rule quota and blocks replacing the list",
                service=key,
                rule=rule,
                group_id=group.id,
                prefix_list_id=raw.prefix_list_id,
            )
        )
    return drift


def _entry_drift(pl: AwsPrefixList, found: ActualPrefixList) -> list[Drift]:
    planned = {_cidr(cidr) for cidr, _ in pl.entries}
    out = [
        Drift(
            "prefix-list-entry-added",
            f"{cidr} is in {found.id} but not planned",
            service=pl.key,
            prefix_list_id=found.id,
            cidr=cidr,
        )
        for cidr in sorted(found.entries - planned)
    ]
    out += [
        Drift(
            "prefix-list-entry-removed",
            f"planned {cidr} is not in {found.id}",
            service=pl.key,
            prefix_list_id=found.id,
            cidr=cidr,
        )
        for cidr in sorted(planned - found.entries)
    ]
    return out


def _by(items: tuple[T, ...], key: Callable[[T], K]) -> dict[K, list[T]]:
    out: dict[K, list[T]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


def _pair(
    missing: list[Rule], extra: list[Rule], same: Callable[[Rule], tuple[Any, ...]]
) -> tuple[list[tuple[Rule, Rule]], list[Rule], list[Rule]]:
    """Pair each missing rule with the first extra rule that agrees on ``same``; deterministic (sorted inputs)."""
    pool: dict[tuple[Any, ...], list[Rule]] = {}
    for rule in sorted(extra):
        pool.setdefault(same(rule), []).append(rule)
    pairs, unpaired = [], []
    for rule in sorted(missing):
        candidates = pool.get(same(rule))
        if candidates:
            pairs.append((rule, candidates.pop(0)))
        else:
            unpaired.append(rule)
    return pairs, unpaired, sorted(r for rest in pool.values() for r in rest)


def _planned_rule(rule: AwsRule) -> Rule:
    protocol = _protocol(rule.ip_protocol)
    ports = (-1, -1) if protocol == "all" else (rule.from_port, rule.to_port)
    return Rule(rule.role, rule.direction, protocol, *ports, _planned_peer(rule.peer))


def _planned_peer(peer: AwsPeer) -> str:
    if peer.kind in ("cidr_ipv4", "cidr_ipv6"):
        return _cidr(peer.value)
    if peer.external:
        return peer.value
    return ("role:" if peer.kind == "security_group" else "service:") + peer.value


def _actual_rule(role: str, raw: ActualRule, match: _Match) -> Rule:
    protocol = _protocol(raw.protocol)
    ports = (-1, -1) if protocol == "all" else (raw.from_port, raw.to_port)
    peer: str
    if raw.cidr_ipv4 or raw.cidr_ipv6:
        peer = _cidr(raw.cidr_ipv4 or raw.cidr_ipv6 or "")
    elif raw.prefix_list_id:
        key = match.key_of.get(raw.prefix_list_id)
        peer = f"service:{key}" if key else raw.prefix_list_id
    elif raw.group_ref:
        ref_role = match.role_of.get(raw.group_ref)
        peer = f"role:{ref_role}" if ref_role else raw.group_ref
    else:
        peer = "(no peer)"
    return Rule(role, "egress" if raw.egress else "ingress", protocol, *ports, peer)


# --- the report for people --------------------------------------------------------------------------------------


def _print_report(report: Report) -> None:
    out = Console(emoji=False, highlight=False)
    groups, rules, lists = report.counts
    if report.in_sync:
        out.print(
            f"{report.stack} in {report.region}: in sync with the plan "
            f"({_count(groups, 'security group')}, {_count(rules, 'rule')}, {_count(lists, 'prefix list')})",
            markup=False,
        )
        return
    table = Table(title=f"seawall audit {report.stack} ({report.region}): {len(report.drift)} differences")
    table.add_column("Kind", no_wrap=True)
    table.add_column("Role / service", no_wrap=True)
    table.add_column("Rule / entry")
    table.add_column("Detail")
    for d in report.drift:
        scope = d.service if d.service is not None else (d.role or "-")
        what = d.rule.label() if d.rule is not None else (d.cidr or "")
        table.add_row(d.kind, scope, what, d.detail)
    out.print(table)
    kinds = Counter(d.kind for d in report.drift)
    out.print(
        ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: KINDS.index(kv[0]))), markup=False
    )
