"""Reading a deployed AWS stack from the account: read-only, paginated EC2 calls, one-line errors.

The stack's security groups and prefix lists are found by their ``seawall:stack``
tag, a group's role by ``seawall:role``, a list's service by ``seawall:service``
and its address family. Nothing here compares or prints: :mod:`seawall.aws.drift`
compares, :mod:`seawall.report.audit` shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from math import isfinite
from typing import Any

from seawall.errors import UserError
from seawall.netaddr import canonical_cidr

STACK_TAG = "seawall:stack"
ROLE_TAG = "seawall:role"
SERVICE_TAG = "seawall:service"
GROUP_TAG = "seawall:group"  # a role's second, third, … group carries its index

# A deleted prefix list stays visible for a while in these states; it is gone for the audit.
GONE_STATES = frozenset({"delete-in-progress", "delete-complete"})
# EC2 refuses a filter with too many values (200 is the limit met in practice; the API reference names
# none). A stack has a handful of groups, but a hand-made mess may not.
FILTER_VALUES = 200
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
# A page of DescribeSecurityGroups at its 1,000 groups, each with many rules, is a few MiB.
MAX_ANSWER_BYTES = 64 * 2**20
# What EC2 answers when it throttles (botocore retries these within the bounded tries).
THROTTLE_CODES = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled"})
# botocore waits 60 s to connect and 60 s for each read, several times over: a silent endpoint
# would hang the audit for minutes. These bound it: an endpoint that never answers costs at most
# MAX_ATTEMPTS × (connect + read timeout) per call, plus at most 2**(MAX_ATTEMPTS-1) - 1 s of back-off.
DEFAULT_TIMEOUT = 5.0  # seconds, for the connection and for each read
# Standard mode's own default: throttling keeps its retries, and AWS_MAX_ATTEMPTS or a profile's
# max_attempts may lower the number but never raise it past the bound.
MAX_ATTEMPTS = 3
READ_ACTIONS = (
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeManagedPrefixLists",
    "ec2:GetManagedPrefixListEntries",
)
READ_PERMISSIONS = ", ".join(READ_ACTIONS)
# The least a principal needs (the Describe actions take no resource-level conditions, hence "*").
IAM_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "SeawallAuditReadOnly", "Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": "*"}],
}


@dataclass(frozen=True)
class ActualGroup:
    """A security group as the account holds it."""

    id: str
    name: str
    tags: dict[str, str]
    vpc_id: str | None = None


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


def config_region(provider_config: dict[str, Any], stack: str) -> str:
    value = provider_config.get("aws:region")
    if not isinstance(value, str) or not value:
        raise UserError("--region", f"no region: pass --region or set aws:region in Pulumi.{stack}.yaml")
    return value


# --- the account ---


def worst_case(timeout: float, attempts: int = MAX_ATTEMPTS) -> float:
    """Seconds the audit may wait on an endpoint that never answers, botocore's back-off included.

    Each try waits ``timeout`` to connect and ``timeout`` for an answer; standard mode sleeps a
    random share of 1 s, then 2 s, ... between tries. It is also the deadline of the whole audit.
    """
    return attempts * 2 * timeout + ((1 << (attempts - 1)) - 1)


def connect(region: str, endpoint_url: str | None, profile: str | None, timeout: float | None = None) -> Any:
    """A read client, after the checks that need no network: timeout, profile, credentials, region name.

    ``timeout`` (default :data:`DEFAULT_TIMEOUT`) bounds the connection and each read; a call is
    tried at most :data:`MAX_ATTEMPTS` times.
    """
    import boto3
    import botocore.config
    import botocore.exceptions
    import botocore.session

    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if not (isfinite(timeout) and timeout > 0):
        raise UserError("--timeout", f"{timeout:g} is not a number of seconds above 0; e.g. --timeout 10")
    # Our own botocore session, to read the configured max_attempts before the client overrides it.
    core = botocore.session.get_session()
    try:
        session = boto3.session.Session(botocore_session=core, profile_name=profile)
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
        configured = core.get_config_variable("max_attempts")
    except ValueError as exc:  # AWS_MAX_ATTEMPTS=abc
        raise UserError("max_attempts", f"{_one_line(str(exc))}; AWS_MAX_ATTEMPTS is a whole number") from None
    attempts = min(configured, MAX_ATTEMPTS) if isinstance(configured, int) and configured > 0 else MAX_ATTEMPTS
    config = botocore.config.Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )
    try:
        client = session.client("ec2", region_name=region, endpoint_url=endpoint_url, config=config)
    except botocore.exceptions.InvalidRegionError:
        raise UserError("--region", f"{region!r} is not a region name such as eu-west-1") from None
    except ValueError as exc:  # a malformed --endpoint-url
        raise UserError("--endpoint-url", _one_line(str(exc))) from None
    _bound_answers(client)
    return client


def _bound_answers(client: Any) -> None:
    """Refuse an answer larger than :data:`MAX_ANSWER_BYTES` as it arrives, before botocore holds it all.

    botocore's HTTP session reads a whole body into memory as it receives it. This wraps its
    ``send`` so that it does not: a declared length above the cap is refused at once, any other
    body is read here, counted, and refused past the cap; the connection is closed, not drained.
    """
    endpoint = getattr(client, "_endpoint", None)
    http = getattr(endpoint, "http_session", None)
    if http is None:  # a botocore without these internals: the deadline still bounds the time
        return
    send = http.send

    def bounded_send(request: Any) -> Any:
        streaming = getattr(request, "stream_output", False)
        request.stream_output = True  # botocore leaves the body unread; it is read below
        try:
            response = send(request)
        finally:
            request.stream_output = streaming
        declared = str(response.headers.get("content-length") or "")
        if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            response.raw.close()
            raise NotEc2(f"an answer of {int(declared):,} bytes, more than any EC2 page ({MAX_ANSWER_BYTES:,})")
        if streaming:
            return response
        chunks, seen = [], 0
        for chunk in response.raw.stream(2**16):
            seen += len(chunk)
            if seen > MAX_ANSWER_BYTES:
                response.raw.close()
                raise NotEc2(f"an answer of more than {MAX_ANSWER_BYTES:,} bytes, more than any EC2 page")
            chunks.append(chunk)
        response._content = b"".join(chunks)
        return response

    http.send = bounded_send


@contextmanager
def aws_errors(region: str, endpoint_url: str | None, client: Any = None) -> Iterator[None]:
    """Turn botocore's failures into one-line UserErrors (exit 2) that say what to do.

    ``client`` (from :func:`connect`) lets a timeout say how long and how often it waited.
    """
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    where = endpoint_url or f"ec2 {region}"
    try:
        yield
    except (bx.ReadTimeoutError, bx.ConnectTimeoutError) as exc:  # before their base classes below
        connecting = isinstance(exc, bx.ConnectTimeoutError)
        config = client.meta.config if client is not None else None
        seconds = (config.connect_timeout if connecting else config.read_timeout) if config else None
        tries = (config.retries or {}).get("total_max_attempts") if config else None
        within = f" within {seconds:g} s" if seconds else ""
        times = f" ({_tries(tries)})" if tries else ""
        raise UserError(
            "--endpoint-url" if endpoint_url else where,
            f"{exc.kwargs.get('endpoint_url') or where} "
            f"{'did not accept a connection' if connecting else 'did not answer'}{within}{times}; "
            f"check {'--endpoint-url, ' if endpoint_url else ''}--region and the network, or raise --timeout",
        ) from None
    except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
        raise UserError("credentials", f"{_one_line(str(exc))}; use --profile or AWS_PROFILE") from None
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = _one_line(str(error.get("Message", "")))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        config = client.meta.config if client is not None else None
        tries = (config.retries or {}).get("total_max_attempts") if config else None
        after = f" after {_tries(tries)}" if tries else ""
        hint = f"; the audit needs read-only {READ_PERMISSIONS}" if code in AUTH_CODES else ""
        if code in THROTTLE_CODES:
            hint = f"; still throttled{after}, run it again later"
        elif isinstance(status, int) and status >= 500:
            hint = f"; a failure on the endpoint's side (HTTP {status}){after}, run it again later"
        raise UserError(where, f"{code} on {exc.operation_name}: {message}{hint}") from None
    except (bx.EndpointConnectionError, bx.ConnectionError, bx.HTTPClientError) as exc:
        raise UserError(
            "--endpoint-url" if endpoint_url else where, f"cannot reach EC2: {_one_line(str(exc))}"
        ) from None
    except bx.BotoCoreError as exc:
        raise UserError(where, _one_line(str(exc))) from None
    except (NotEc2, KeyError, TypeError, ValueError, AttributeError) as exc:  # parsed, but not EC2's shape
        raise UserError(
            "--endpoint-url" if endpoint_url else where,
            f"the endpoint's answer is not what EC2 sends ({_one_line(str(exc))[:300]}); "
            f"check {'--endpoint-url and ' if endpoint_url else ''}--region",
        ) from None
    except ResponseParserError as exc:  # not a BotoCoreError: an endpoint that is not (or not yet) EC2
        first = _one_line(str(exc)).split(" Further")[0]
        raise UserError(
            "--endpoint-url" if endpoint_url else where,
            f"the endpoint's answer is not an EC2 response ({first}); check --endpoint-url and --region",
        ) from None


class NotEc2(ValueError):
    """An answer botocore parsed that is not in the shape EC2's API reference gives."""


def _tries(n: int) -> str:
    return f"{n} {'try' if n == 1 else 'tries'}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


Progress = Callable[[str], None]


def read_account(client: Any, stack: str, page_size: int | None = None, progress: Progress | None = None) -> Account:
    """Everything tagged for ``stack``, read with paginated read-only calls (no write API is ever called).

    Outside groups are scanned only when the stack has prefix lists: a rule of theirs
    that references one counts its max entries against that group's quota and keeps
    the list from being replaced or deleted. ``progress`` hears of every page read.
    """
    say = progress or (lambda _line: None)
    by_stack = [{"Name": f"tag:{STACK_TAG}", "Values": [stack]}]

    def items(operation: str, key: str, what: str, **params: Any) -> list[dict[str, Any]]:
        return _items(client, operation, key, page_size, what, say, **params)

    groups = [
        _group(g) for g in items("describe_security_groups", "SecurityGroups", "security groups", Filters=by_stack)
    ]
    ids = sorted(g.id for g in groups)
    rules: list[ActualRule] = []
    for start in range(0, len(ids), FILTER_VALUES):
        chunk = ids[start : start + FILTER_VALUES]
        rules += [
            _rule(r)
            for r in items(
                "describe_security_group_rules",
                "SecurityGroupRules",
                "security group rules",
                Filters=[{"Name": "group-id", "Values": chunk}],
            )
        ]
    lists = []
    for pl in items("describe_managed_prefix_lists", "PrefixLists", "prefix lists", Filters=by_stack):
        if pl.get("State") in GONE_STATES:
            continue
        pl_id = _text(pl, "PrefixListId", "a prefix list")
        entries = items("get_managed_prefix_list_entries", "Entries", f"entries of {pl_id}", PrefixListId=pl_id)
        lists.append(
            ActualPrefixList(
                id=pl_id,
                name=_text(pl, "PrefixListName", pl_id, False),
                address_family=_text(pl, "AddressFamily", pl_id, False),
                tags=_tags(pl),
                entries=frozenset(canonical_cidr(_text(e, "Cidr", f"an entry of {pl_id}")) for e in entries),
            )
        )
    outsiders: list[tuple[ActualGroup, ActualRule]] = []
    if lists:
        ours, list_ids = set(ids), {pl.id for pl in lists}
        for raw in items("describe_security_groups", "SecurityGroups", "every security group of the region"):
            if _text(raw, "GroupId", "a security group") in ours:
                continue
            group = _group(raw)
            outsiders += [(group, rule) for rule in _prefix_list_rules(raw) if rule.prefix_list_id in list_ids]
    return Account(tuple(groups), tuple(rules), tuple(lists), tuple(outsiders))


def _items(
    client: Any, operation: str, key: str, page_size: int | None, what: str, say: Progress, **params: Any
) -> list[dict[str, Any]]:
    config = {"PageSize": page_size} if page_size else {}
    out: list[dict[str, Any]] = []
    for number, page in enumerate(client.get_paginator(operation).paginate(**params, PaginationConfig=config), 1):
        items = page.get(key, []) if isinstance(page, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise NotEc2(f"{operation}: {key} is not a list of items")
        out += items
        say(f"reading {what}: page {number}, {len(out)} so far")
    return out


def _text(raw: dict[str, Any], key: str, what: str, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise NotEc2(f"{what} has {key} {value!r}, not text")
    return value


def _port(raw: dict[str, Any], key: str, what: str) -> int:
    value = raw.get(key, -1)
    if not isinstance(value, int) or isinstance(value, bool) or not -1 <= value <= 65535:
        raise NotEc2(f"{what} has {key} {value!r}, not a port")
    return value


def _tags(raw: dict[str, Any]) -> dict[str, str]:
    tags = raw.get("Tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("Key"), str) for t in tags):
        raise NotEc2(f"Tags {tags!r:.80} are not a list of Key/Value pairs")
    return {t["Key"]: str(t.get("Value", "")) for t in tags}


def _group(raw: dict[str, Any]) -> ActualGroup:
    group_id = _text(raw, "GroupId", "a security group")
    return ActualGroup(group_id, _text(raw, "GroupName", group_id, False), _tags(raw), raw.get("VpcId"))


def _optional(raw: dict[str, Any], key: str, what: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise NotEc2(f"{what} has {key} {value!r}, not text")
    return value


def _rule(raw: dict[str, Any]) -> ActualRule:
    group_id = _text(raw, "GroupId", "a security group rule")
    what = f"rule {raw.get('SecurityGroupRuleId', '?')} of {group_id}"
    referenced = raw.get("ReferencedGroupInfo") or {}
    if not isinstance(referenced, dict):
        raise NotEc2(f"{what} has ReferencedGroupInfo {referenced!r:.80}, not a structure")
    return ActualRule(
        id=_text(raw, "SecurityGroupRuleId", what, False),
        group_id=group_id,
        egress=_flag(raw, "IsEgress", what),
        protocol=_text(raw, "IpProtocol", what, False) or "-1",
        from_port=_port(raw, "FromPort", what),
        to_port=_port(raw, "ToPort", what),
        cidr_ipv4=_optional(raw, "CidrIpv4", what),
        cidr_ipv6=_optional(raw, "CidrIpv6", what),
        prefix_list_id=_optional(raw, "PrefixListId", what),
        group_ref=_optional(referenced, "GroupId", what),
    )


def _flag(raw: dict[str, Any], key: str, what: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise NotEc2(f"{what} has {key} {value!r}, not true or false")
    return value


def _prefix_list_rules(raw: dict[str, Any]) -> Iterator[ActualRule]:
    """The prefix-list peers of a DescribeSecurityGroups permission set, one rule each."""
    group_id = _text(raw, "GroupId", "a security group")
    for egress, key in ((False, "IpPermissions"), (True, "IpPermissionsEgress")):
        perms = raw.get(key, [])
        if not isinstance(perms, list) or not all(isinstance(p, dict) for p in perms):
            raise NotEc2(f"{group_id} has {key} that is not a list of permissions")
        for perm in perms:
            lists = perm.get("PrefixListIds", [])
            if not isinstance(lists, list) or not all(isinstance(p, dict) for p in lists):
                raise NotEc2(f"{group_id} has PrefixListIds that are not a list")
            for pl in lists:
                yield ActualRule(
                    id="",
                    group_id=group_id,
                    egress=egress,
                    protocol=_text(perm, "IpProtocol", group_id, False) or "-1",
                    from_port=_port(perm, "FromPort", group_id),
                    to_port=_port(perm, "ToPort", group_id),
                    prefix_list_id=_text(pl, "PrefixListId", group_id),
                )
