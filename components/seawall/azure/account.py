"""Reading a deployed Azure stack: the NSGs and application security groups tagged for it, read-only.

The stack's NSGs and ASGs are found by their ``seawall:stack`` tag, a role's by
``seawall:role``, with azure-mgmt-network's client and azure-identity's default
credential chain. Every listing is paginated (``nextLink``) and every request is
retried by the SDK's ``RetryPolicy`` (throttling answered with 429 and
``Retry-After`` included) within bounded tries and timeouts.

Only GET requests leave the process. The client's pipeline is the SDK's own minus
``ARMAutoResourceProviderRegistrationPolicy``, which answers a 409
``MissingSubscriptionRegistration`` by POSTing a provider registration (a write),
and a last policy refuses any other method before it reaches the network.

Nothing here compares or prints: :mod:`seawall.azure.drift` compares,
:mod:`seawall.report.audit` shows.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from math import isfinite
from typing import Any, TypeVar
from urllib.parse import urlsplit

from seawall.deadline import DeadlineExceeded
from seawall.errors import UserError
from seawall.jsonsource import is_int, parse_json

STACK_TAG = "seawall:stack"
ROLE_TAG = "seawall:role"

ARM_ENDPOINT = "https://management.azure.com"
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
# Azure's own management endpoints (public, US Government, China): the hosts a management token is for.
ARM_HOSTS = ("management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn")
TOKEN_FLAG = "--send-token-to-endpoint"
# The same bounds as the AWS audit: seconds for the connection and for each read, tries per request.
DEFAULT_TIMEOUT = 5.0
MAX_ATTEMPTS = 3
# ARM's Retry-After is honoured up to this many seconds; a longer wait ends the audit with one line
# (a scheduled job runs again later) instead of sleeping for as long as the server asks.
MAX_RETRY_AFTER = 10.0
# A listing longer than this many pages is not an NSG listing (or the endpoint loops).
MAX_PAGES = 1000
READ_ACTIONS = (
    "Microsoft.Network/networkSecurityGroups/read",
    "Microsoft.Network/applicationSecurityGroups/read",
)
# The least a principal needs, as a custom role (az role definition create --role-definition @role.json).
AUDIT_ROLE: dict[str, Any] = {
    "Name": "seawall audit reader",
    "IsCustom": True,
    "Description": "Read network security groups and application security groups for seawall audit.",
    "Actions": list(READ_ACTIONS),
    "NotActions": [],
    "DataActions": [],
    "NotDataActions": [],
    "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000"],
}
SUBSCRIPTION_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
RESOURCE_GROUP_OF = re.compile(r"^/subscriptions/[^/]+/resourceGroups/([^/]+)/", re.IGNORECASE)
PERMISSIONS_HINT = (
    f"the audit needs read-only {' and '.join(READ_ACTIONS)} (the Reader role, or the custom role in the README)"
)
Progress = Callable[[str], None]
T = TypeVar("T")


@dataclass(frozen=True)
class ActualSecurityRule:
    """One security rule as ARM gives it; prefixes and ASG ids as written."""

    name: str
    priority: int
    direction: str
    access: str
    protocol: str
    source_prefixes: tuple[str, ...] = ()
    source_asgs: tuple[str, ...] = ()
    destination_prefixes: tuple[str, ...] = ()
    destination_asgs: tuple[str, ...] = ()
    source_ports: tuple[str, ...] = ("*",)
    destination_ports: tuple[str, ...] = ("*",)
    description: str = ""


@dataclass(frozen=True)
class ActualNsg:
    id: str
    name: str
    resource_group: str
    tags: dict[str, str]
    rules: tuple[ActualSecurityRule, ...]
    default_rules: tuple[ActualSecurityRule, ...]
    subnets: tuple[str, ...]
    network_interfaces: tuple[str, ...]

    @property
    def attached(self) -> bool:
        return bool(self.subnets or self.network_interfaces)


@dataclass(frozen=True)
class ActualAsg:
    id: str
    name: str
    resource_group: str
    tags: dict[str, str]


R = TypeVar("R", ActualNsg, ActualAsg)


@dataclass(frozen=True)
class AzureAccount:
    """What the subscription holds for one stack: in its resource group, and tagged for it elsewhere."""

    subscription: str
    resource_group: str
    nsgs: tuple[ActualNsg, ...]
    asgs: tuple[ActualAsg, ...]
    outside_nsgs: tuple[ActualNsg, ...] = ()
    outside_asgs: tuple[ActualAsg, ...] = ()
    # False when the principal may read the resource group but not list the whole subscription.
    outside_checked: bool = True


@dataclass(frozen=True)
class AzureClient:
    """A read-only client and what its errors need to say."""

    network: Any  # azure.mgmt.network.NetworkManagementClient
    credential: Any
    subscription: str
    endpoint: str
    explicit_endpoint: bool
    timeout: float
    options: dict[str, Any]  # per-call keywords
    scope: str = MANAGEMENT_SCOPE  # the token's audience: the Azure cloud the endpoint belongs to


def tag(tags: Mapping[str, str] | None, key: str) -> str | None:
    """A tag's value; Azure tag names are case-insensitive."""
    for name, value in (tags or {}).items():
        if name.casefold() == key.casefold():
            return value
    return None


def config_subscription(
    option: str | None, env: Mapping[str, str], provider_config: Mapping[str, Any], stack: str
) -> str:
    """--subscription, else AZURE_SUBSCRIPTION_ID, else the stack's azure-native:subscriptionId."""
    value: Any = option or env.get("AZURE_SUBSCRIPTION_ID") or provider_config.get("azure-native:subscriptionId")
    if not value:
        raise UserError(
            "--subscription",
            f"no subscription: pass --subscription, set AZURE_SUBSCRIPTION_ID, or set azure-native:subscriptionId "
            f"in Pulumi.{stack}.yaml",
        )
    if not isinstance(value, str) or not SUBSCRIPTION_ID.match(value):
        raise UserError(
            "--subscription",
            f"{value!r} is not a subscription id; valid: a UUID such as 00000000-0000-0000-0000-000000000000",
        )
    return value.lower()


def worst_case(timeout: float, attempts: int = MAX_ATTEMPTS) -> float:
    """Seconds the audit may take against an endpoint that never answers, throttling waits included.

    It is also the deadline of the whole audit (token included): an endpoint that answers,
    but too slowly to ever finish, ends it as surely as one that never answers.
    """
    return attempts * 2 * timeout + (attempts - 1) * MAX_RETRY_AFTER


class Throttled(Exception):
    """ARM asked to wait longer than :data:`MAX_RETRY_AFTER`; ``asked`` is its Retry-After as sent."""

    def __init__(self, seconds: float, asked: str = "") -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.asked = asked


_TOKEN_ANYWHERE: ContextVar[bool] = ContextVar("seawall_token_anywhere", default=False)


@contextmanager
def token_to_any_endpoint(allowed: bool) -> Iterator[None]:
    """Within the block, :func:`connect` sends the user's management token to whatever endpoint it is given."""
    reset = _TOKEN_ANYWHERE.set(allowed)
    try:
        yield
    finally:
        _TOKEN_ANYWHERE.reset(reset)


class WriteRefused(Exception):
    """A request other than GET was about to leave the process."""


def connect(subscription: str, endpoint_url: str | None, timeout: float | None = None) -> AzureClient:
    """A read-only client, after the checks that need no network: timeout, endpoint, credential chain.

    ``timeout`` (default :data:`DEFAULT_TIMEOUT`) bounds the connection and each read; a request is
    tried at most :data:`MAX_ATTEMPTS` times.
    """
    from azure.core.pipeline import policies
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy
    from azure.mgmt.network import NetworkManagementClient

    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if not (isfinite(timeout) and timeout > 0):
        raise UserError("--timeout", f"{timeout:g} is not a number of seconds above 0; e.g. --timeout 10")
    endpoint = (endpoint_url or ARM_ENDPOINT).rstrip("/")
    options: dict[str, Any] = {}
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError("--endpoint-url", f"{endpoint_url!r} is not a URL such as https://management.azure.com")
    host = parts.hostname.casefold()
    scope = f"https://{host}/.default" if host in ARM_HOSTS else MANAGEMENT_SCOPE
    if parts.scheme == "http":
        # A bearer token in clear text is acceptable only when it never leaves the machine.
        if not _loopback(parts.hostname):
            raise UserError(
                "--endpoint-url",
                f"{endpoint_url} is plain http to another machine; the token would travel in clear text "
                "(use https, or http only on loopback)",
            )
        options["enforce_https"] = False
    if not (host in ARM_HOSTS or _loopback(host) or _TOKEN_ANYWHERE.get()):
        # The token is the user's: it opens every subscription they may read, so it goes only to Azure.
        raise UserError(
            "--endpoint-url",
            f"{endpoint_url} is neither Azure's management endpoint ({', '.join(ARM_HOSTS)}) nor on this machine, "
            f"and the audit would send it your Azure management token; pass {TOKEN_FLAG} if you trust it with "
            "the token",
        )
    try:
        credential = DefaultAzureCredential()
    except ValueError as exc:  # AZURE_TOKEN_CREDENTIALS names no credential
        raise UserError("credentials", _one_line(str(exc))) from None
    pipeline = [
        policies.RequestIdPolicy(),
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker="seawall-audit"),
        policies.ProxyPolicy(),
        policies.ContentDecodePolicy(),
        policies.RedirectPolicy(),
        _bounded_retry(timeout),
        ARMChallengeAuthenticationPolicy(credential, scope),
        policies.CustomHookPolicy(),
        policies.NetworkTraceLoggingPolicy(),
        policies.DistributedTracingPolicy(),
        policies.SensitiveHeaderCleanupPolicy(),
        ARMHttpLoggingPolicy(),
        _read_only(),
        _arm_shaped(),  # first to see each answer: nothing the SDK reads leniently gets past it
    ]
    network = NetworkManagementClient(
        credential,
        subscription,
        base_url=endpoint,
        policies=pipeline,
        transport=_bounded_transport(timeout),
        connection_timeout=timeout,
        read_timeout=timeout,
    )
    return AzureClient(network, credential, subscription, endpoint, endpoint_url is not None, timeout, options, scope)


def _bounded_transport(timeout: float) -> Any:
    """The SDK's requests transport, refusing an answer larger than :data:`MAX_ANSWER_CHARS` as it arrives.

    A response hook runs before requests reads the body: it refuses a declared length above
    the cap and counts what is read of any other, so an endpoint cannot fill memory first.
    """
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    def cap(response: Any, *_args: Any, **_kwargs: Any) -> Any:
        declared = str(response.headers.get("Content-Length") or "")
        if declared.isdigit() and int(declared) > MAX_ANSWER_CHARS:
            raise NotArm(f"an answer of {int(declared):,} bytes, more than any ARM page ({MAX_ANSWER_CHARS:,})")
        raw, read, seen = response.raw, response.raw.read, [0]

        def bounded(*args: Any, **kwargs: Any) -> Any:
            data = read(*args, **kwargs)
            seen[0] += len(data or b"")
            if seen[0] > MAX_ANSWER_CHARS:
                raise NotArm(f"an answer of more than {MAX_ANSWER_CHARS:,} bytes, more than any ARM page")
            return data

        raw.read = bounded
        return response

    session = requests.Session()
    session.hooks["response"].append(cap)
    return RequestsTransport(session=session, session_owner=True, connection_timeout=timeout, read_timeout=timeout)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bounded_retry(timeout: float) -> Any:
    """The SDK's retry policy, bounded: MAX_ATTEMPTS tries, and a Retry-After above MAX_RETRY_AFTER not slept through."""
    from azure.core.pipeline.policies import RetryPolicy

    class BoundedRetry(RetryPolicy[Any, Any]):
        def get_retry_after(self, response: Any) -> float | None:
            asked = str(response.http_response.headers.get("Retry-After") or "").strip()
            try:
                wait: float | None = super().get_retry_after(response)
            except (ValueError, TypeError, OverflowError):  # neither seconds nor an HTTP-date
                wait = None
            if wait is not None and wait > MAX_RETRY_AFTER:
                raise Throttled(wait, asked)
            return wait

    retries = MAX_ATTEMPTS - 1
    return BoundedRetry(
        retry_total=retries,
        retry_connect=retries,
        retry_read=retries,
        retry_status=retries,
        timeout=worst_case(timeout),
    )


def _read_only() -> Any:
    """Refuses any request but GET: the audit never writes, whatever a policy before this one wants."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class ReadOnly(SansIOHTTPPolicy[Any, Any]):
        def on_request(self, request: Any) -> None:
            method = request.http_request.method
            if method != "GET":
                raise WriteRefused(f"{method} {request.http_request.url}")

    return ReadOnly()


# --- what ARM answers ---

# The list operations the audit calls (and the nextLink pages of each).
_LISTING = re.compile(r"/providers/Microsoft\.Network/(networkSecurityGroups|applicationSecurityGroups)/?$", re.I)
MAX_ANSWER_CHARS = 64 * 2**20  # one page of 1,000 NSGs of 1,000 rules is about this; ARM pages far smaller
_RULE_TEXT = ("direction", "access", "protocol")
_RULE_ONE = ("sourceAddressPrefix", "destinationAddressPrefix", "sourcePortRange", "destinationPortRange")
_RULE_MANY = ("sourceAddressPrefixes", "destinationAddressPrefixes", "sourcePortRanges", "destinationPortRanges")
_RULE_IDS = ("sourceApplicationSecurityGroups", "destinationApplicationSecurityGroups")


class _NotArmAnswer(UserError):
    """Raised by the strict JSON reader; turned into :class:`NotArm`."""


def _arm_shaped() -> Any:
    """Checks each listing page as ARM's REST specification shapes it, before the SDK reads it leniently.

    The SDK turns ``{"value": null}`` or ``{}`` into an empty listing and ``740.5`` into the priority
    740; an audit that believed them would report drift that is not there, or miss drift that is.
    """
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class ArmShaped(SansIOHTTPPolicy[Any, Any]):
        def on_response(self, request: Any, response: Any) -> None:
            answer = response.http_response
            if answer.status_code != 200 or not _LISTING.search(urlsplit(request.http_request.url).path):
                return
            body = answer.body()
            if len(body) > MAX_ANSWER_CHARS:
                raise NotArm(f"a page of {len(body):,} bytes, more than any ARM page")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise NotArm("its body is not UTF-8") from None
            kind = _LISTING.search(urlsplit(request.http_request.url).path).group(1)  # type: ignore[union-attr]
            check_listing(text, kind)

    return ArmShaped()


def check_listing(text: str, kind: str) -> None:
    """Raise :class:`NotArm` unless ``text`` is a page of a list operation of ``kind`` as ARM sends it."""
    try:
        page = parse_json(text, "the answer", _NotArmAnswer, "JSON as ARM sends it")
    except _NotArmAnswer as exc:
        raise NotArm(exc.message) from None
    if not isinstance(page, dict) or "value" not in page:
        raise NotArm(f"a listing is an object with a 'value' list, not {_kind(page)}")
    items, link = page["value"], page.get("nextLink")
    if not isinstance(items, list):
        raise NotArm(f"its 'value' is {_kind(items)}, not a list")
    if link is not None and not isinstance(link, str):
        raise NotArm(f"its nextLink is {_kind(link)}, not a URL")
    for index, item in enumerate(items):
        what = f"value[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("name"), str):
            raise NotArm(f"{what} is {_kind(item)}, not a resource with a text id and name")
        tags = item.get("tags")
        if tags is not None and not (isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values())):
            raise NotArm(f"{what} ({item['name']}) has tags {_kind(tags)}, not a mapping of text")
        props = item.get("properties", {})
        if not isinstance(props, dict):
            raise NotArm(f"{what} ({item['name']}) has properties {_kind(props)}, not an object")
        if kind.casefold() == "networksecuritygroups":
            _check_nsg_properties(props, item["name"])


def _check_nsg_properties(props: dict[str, Any], nsg: str) -> None:
    for key in ("subnets", "networkInterfaces"):
        _check_refs(props.get(key), f"{nsg} {key}")
    for key in ("securityRules", "defaultSecurityRules"):
        rules = props.get(key, [])
        if not isinstance(rules, list):
            raise NotArm(f"{nsg} {key} is {_kind(rules)}, not a list")
        for index, rule in enumerate(rules):
            if not isinstance(rule, dict) or not isinstance(rule.get("name"), str):
                raise NotArm(f"{nsg} {key}[{index}] is {_kind(rule)}, not a rule with a text name")
            what = f"{nsg}/{rule['name']}"
            inner = rule.get("properties")
            if not isinstance(inner, dict):
                raise NotArm(f"{what} has properties {_kind(inner)}, not an object")
            priority = inner.get("priority")
            if not is_int(priority):  # 740.5 and true are not priorities (the SDK would read 740 and 1)
                raise NotArm(f"{what} has priority {_kind(priority)}, not an integer")
            for name in _RULE_TEXT:
                if not isinstance(inner.get(name), str):
                    raise NotArm(f"{what} has {name} {_kind(inner.get(name))}, not text")
            for name in _RULE_ONE:
                if inner.get(name) is not None and not isinstance(inner[name], str):
                    raise NotArm(f"{what} has {name} {_kind(inner[name])}, not text")
            for name in _RULE_MANY:
                value = inner.get(name)
                if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                    raise NotArm(f"{what} has {name} {_kind(value)}, not a list of text")
            for name in _RULE_IDS:
                _check_refs(inner.get(name), f"{what} {name}")


def _check_refs(value: Any, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, dict) and isinstance(v.get("id"), str) for v in value):
        raise NotArm(f"{what} is {_kind(value)}, not a list of references with a text id")


def _kind(value: Any) -> str:
    """A value as a message shows it: short, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return f"the text {value[:40]!r}" + ("..." if len(value) > 40 else "")
    if isinstance(value, list):
        return f"a list of {len(value)}" if value else "an empty list"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    return type(value).__name__


# --- errors ---


@contextmanager
def token_answers() -> Iterator[list[int]]:
    """The HTTP status of every answer a credential's token endpoint gives within the block.

    azure-identity does not say why a managed-identity endpoint gave no token (a 500 reads as
    "configuration not found"); its pipeline's logging does, so the block listens to it.
    """
    import logging

    statuses: list[int] = []
    logger = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")

    class Listen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found = re.match(r"Response status: (\d{3})", record.getMessage())
            if found:
                statuses.append(int(found.group(1)))

    handler, level = Listen(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield statuses
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@contextmanager
def azure_errors(client: AzureClient, operation: str, token_statuses: list[int] | None = None) -> Iterator[None]:
    """Turn the SDK's and the credential chain's failures into one-line UserErrors (exit 2)."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        DecodeError,
        DeserializationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceRequestTimeoutError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    where = "--endpoint-url" if client.explicit_endpoint else client.endpoint
    tries = f"{MAX_ATTEMPTS} {'try' if MAX_ATTEMPTS == 1 else 'tries'}"
    check = "check --endpoint-url and the network" if client.explicit_endpoint else "check the network"
    try:
        yield
    except DeadlineExceeded as exc:
        bound = f"{exc.seconds:g} s, the most the audit waits at --timeout {client.timeout:g}"
        what = "the token endpoint" if operation == "getting a token" else client.endpoint
        raise UserError(
            "credentials" if operation == "getting a token" else where,
            f"{what} did not finish {operation} within {bound} (it answers too slowly or not at all); "
            f"{check}, or raise --timeout",
        ) from None
    except Throttled as exc:
        raise UserError(
            client.endpoint,
            f"ARM throttled {operation} and asks to wait {_wait_text(exc)}, longer than the audit waits "
            f"({MAX_RETRY_AFTER:g} s); run it again later",
        ) from None
    except WriteRefused as exc:  # a bug or a changed SDK: say so rather than write
        raise UserError(where, f"refused to send {exc} during {operation}: the audit only reads") from None
    except ClientAuthenticationError as exc:
        if exc.response is None:  # the credential chain, before any request reached ARM
            failed = [status for status in token_statuses or () if status >= 400]
            if failed:
                raise UserError(
                    "credentials",
                    f"the managed-identity token endpoint answered HTTP {failed[-1]} "
                    f"({len(failed)} {'try' if len(failed) == 1 else 'tries'}): the identity is there but its "
                    "endpoint failed; run it again later",
                ) from None
            raise UserError("credentials", _credential_problem(str(exc.message or exc))) from None
        raise UserError(
            "credentials", f"ARM refused the token on {operation} ({_code(exc)}): {_message(exc)}"
        ) from None
    except (ServiceRequestTimeoutError, ServiceResponseTimeoutError) as exc:
        connecting = isinstance(exc, ServiceRequestTimeoutError)
        did = "did not accept a connection" if connecting else "did not answer"
        raise UserError(
            where, f"{client.endpoint} {did} within {client.timeout:g} s ({tries}); {check}, or raise --timeout"
        ) from None
    except (DecodeError, DeserializationError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(
            where, f"the endpoint's answer to {operation} is not an ARM response ({_first(exc)}); {check}"
        ) from None
    except HttpResponseError as exc:
        status, code, message = exc.status_code, _code(exc), _message(exc)
        if exc.error is None:  # no ARM error body: an HTML page, a proxy, another service
            raise UserError(
                where,
                f"the endpoint's answer to {operation} is not an ARM response (HTTP {status} {exc.reason or ''})".rstrip(),
            ) from None
        if code == "SubscriptionNotFound":
            raise UserError("--subscription", f"{code}: {message}") from None
        if code == "ResourceGroupNotFound":
            raise UserError(
                "--resource-group", f"{code}: {message}; check --resource-group or seawall:resourceGroupName"
            ) from None
        if status == 403:
            raise UserError(
                "permissions", f"{code} (HTTP {status}) on {operation}: {message}; {PERMISSIONS_HINT}"
            ) from None
        if status == 429:
            raise UserError(
                client.endpoint,
                f"{code} (HTTP {status}) on {operation}: {message}; still throttled after {tries}, run it again later",
            ) from None
        if status is not None and status >= 500:
            raise UserError(
                client.endpoint,
                f"{code} (HTTP {status}) on {operation}: {message}; a failure on the endpoint's side after {tries}, "
                "run it again later",
            ) from None
        raise UserError(where, f"{code} (HTTP {status}) on {operation}: {message}") from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise UserError(where, f"cannot reach ARM at {client.endpoint}: {_first(exc)}; {check}") from None
    except AzureError as exc:
        raise UserError(where, f"{operation}: {_first(exc)}") from None


def _wait_text(exc: Throttled) -> str:
    """``600 s``, or for an HTTP-date ``until Fri, 01 Jan 2038 00:00:00 GMT (about 11 years)``."""
    try:
        float(exc.asked)
    except ValueError:
        if exc.asked:
            return f"until {exc.asked} ({_duration(exc.seconds)} from now)"
    return f"{exc.seconds:g} s"


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"about {seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _credential_problem(text: str) -> str:
    if "failed to retrieve a token from the included credentials" in text:
        tried = re.findall(r"^\s*(\w+Credential):", text, re.MULTILINE)
        return (
            f"no Azure credentials found (DefaultAzureCredential tried {', '.join(tried) or 'every credential'}); "
            "run az login, set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or run where a managed "
            "identity is available"
        )
    return _one_line(text)


def _code(exc: Any) -> str:
    return str(getattr(exc.error, "code", None) or "Unknown")


def _message(exc: Any) -> str:
    return _one_line(str(getattr(exc.error, "message", None) or exc.reason or ""))


def _first(exc: BaseException) -> str:
    return _one_line(str(exc).split("\n")[0])[:300]


def _one_line(text: str) -> str:
    return " ".join(text.split())


class NotArm(ValueError):
    """An answer that parses as JSON but is not in the shape ARM's REST specification gives."""


# --- the subscription ---


def read_account(
    client: AzureClient, stack: str, resource_group: str, progress: Progress | None = None
) -> AzureAccount:
    """The stack's NSGs and ASGs in ``resource_group``, and those tagged for it anywhere else in the subscription.

    Raises UserError (exit 2) for credentials, permissions, an unknown subscription or
    resource group, and an endpoint that does not answer as ARM. When the principal may
    read the resource group but not list the subscription, resources elsewhere are not
    checked and the account says so (``outside_checked``).
    """
    from azure.core.exceptions import HttpResponseError

    say = progress or (lambda _line: None)
    ops, opts = client.network, client.options

    def listed(
        operation: str, what: str, pager: Any, parse: Callable[[Any], T], optional: bool = False
    ) -> list[T] | None:
        """Every item, parsed where errors are caught; None for a listing the principal may not read (optional)."""
        with azure_errors(client, operation):
            try:
                return [parse(item) for item in _pages(pager, what, client.endpoint, say)]
            except HttpResponseError as exc:
                if optional and exc.status_code == 403:
                    return None
                raise

    with token_answers() as statuses, azure_errors(client, "getting a token", statuses):
        client.credential.get_token(client.scope)
    nsgs = ops.network_security_groups
    asgs = ops.application_security_groups
    here = f"in resource group {resource_group}"
    in_group = (
        _tagged(
            listed("NetworkSecurityGroups_List", f"NSGs {here}", nsgs.list(resource_group, **opts), _nsg) or [], stack
        ),
        _tagged(
            listed("ApplicationSecurityGroups_List", f"ASGs {here}", asgs.list(resource_group, **opts), _asg) or [],
            stack,
        ),
    )
    every_nsg = listed(
        "NetworkSecurityGroups_ListAll", "NSGs of the subscription", nsgs.list_all(**opts), _nsg, optional=True
    )
    every_asg = (
        None
        if every_nsg is None
        else listed("ApplicationSecurityGroups_ListAll", "ASGs of the subscription", asgs.list_all(**opts), _asg, True)
    )
    if every_nsg is None or every_asg is None:
        return AzureAccount(client.subscription, resource_group, *in_group, outside_checked=False)
    key = resource_group.casefold()
    outside_nsgs = tuple(n for n in _tagged(every_nsg, stack) if n.resource_group.casefold() != key)
    outside_asgs = tuple(a for a in _tagged(every_asg, stack) if a.resource_group.casefold() != key)
    return AzureAccount(client.subscription, resource_group, *in_group, outside_nsgs, outside_asgs)


def _tagged(items: Iterable[R], stack: str) -> tuple[R, ...]:
    return tuple(sorted((i for i in items if tag(i.tags, STACK_TAG) == stack), key=lambda i: i.id.casefold()))


def _pages(pager: Any, what: str, endpoint: str, say: Progress) -> list[Any]:
    """Every item of a paged listing; a nextLink must stay on the endpoint (it carries the token) and not loop."""
    pages = pager.by_page()
    out: list[Any] = []
    seen: set[str] = set()
    host = urlsplit(endpoint).netloc.casefold()
    for number, page in enumerate(pages, 1):
        out += list(page)
        say(f"reading {what}: page {number}, {len(out)} so far")
        link = pages.continuation_token
        if not link:
            break
        if urlsplit(link).netloc.casefold() != host:
            raise NotArm(f"its nextLink leads to another host, {urlsplit(link).netloc}")
        if link in seen or number >= MAX_PAGES:
            raise NotArm(f"its nextLink repeats or runs past {MAX_PAGES} pages")
        seen.add(link)
    return out


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise NotArm(f"{what} is {value!r}, not text")
    return value


def _texts(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise NotArm(f"{what} is {value!r}, not a list")
    return tuple(_text(v, what) for v in value)


def _ids(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise NotArm(f"{what} is {value!r}, not a list")
    return tuple(_text(getattr(v, "id", None), f"{what} id") for v in value)


def _tags(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NotArm(f"{what} tags are {value!r}, not a mapping")
    return {str(k): str(v) for k, v in value.items()}


def _resource_group(resource_id: str) -> str:
    match = RESOURCE_GROUP_OF.match(resource_id)
    if match is None:
        raise NotArm(f"{resource_id!r} is not a resource id")
    return match.group(1)


def _nsg(raw: Any) -> ActualNsg:
    nsg_id = _text(raw.id, "an NSG's id")
    name = _text(raw.name, f"the name of {nsg_id}")
    rules = tuple(_rule(r, name) for r in raw.security_rules or [])
    defaults = tuple(_rule(r, name) for r in raw.default_security_rules or [])
    return ActualNsg(
        nsg_id,
        name,
        _resource_group(nsg_id),
        _tags(raw.tags, nsg_id),
        rules,
        defaults,
        _ids(raw.subnets, f"subnets of {name}"),
        _ids(raw.network_interfaces, f"networkInterfaces of {name}"),
    )


def _asg(raw: Any) -> ActualAsg:
    asg_id = _text(raw.id, "an ASG's id")
    return ActualAsg(asg_id, _text(raw.name, f"the name of {asg_id}"), _resource_group(asg_id), _tags(raw.tags, asg_id))


def _side(single: Any, many: Any, what: str) -> tuple[str, ...]:
    return (_text(single, what),) if single else _texts(many, what)


def _rule(raw: Any, nsg: str) -> ActualSecurityRule:
    name = _text(raw.name, f"a security rule of {nsg}")
    what = f"{nsg}/{name}"
    priority = raw.priority
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise NotArm(f"{what} has priority {priority!r}")
    return ActualSecurityRule(
        name=name,
        priority=priority,
        direction=_text(raw.direction, f"{what} direction"),
        access=_text(raw.access, f"{what} access"),
        protocol=_text(raw.protocol, f"{what} protocol"),
        source_prefixes=_side(raw.source_address_prefix, raw.source_address_prefixes, f"{what} source"),
        source_asgs=_ids(raw.source_application_security_groups, f"{what} source ASGs"),
        destination_prefixes=_side(
            raw.destination_address_prefix, raw.destination_address_prefixes, f"{what} destination"
        ),
        destination_asgs=_ids(raw.destination_application_security_groups, f"{what} destination ASGs"),
        source_ports=_side(raw.source_port_range, raw.source_port_ranges, f"{what} source ports") or ("*",),
        destination_ports=_side(raw.destination_port_range, raw.destination_port_ranges, f"{what} ports") or ("*",),
        description=raw.description if isinstance(raw.description, str) else "",
    )
