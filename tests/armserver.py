"""A small ARM-compatible server on loopback, for the Azure audit tests only.

No Azure emulator covers networking, so the tests run the real azure-mgmt-network
client (and azure-identity's default credential chain) over HTTP against this.
It implements, for ``Microsoft.Network/networkSecurityGroups`` and
``Microsoft.Network/applicationSecurityGroups``, the *list*, *list all* and *get*
operations of the API version the SDK uses, with the response shapes of Azure's
published REST specification (``network/resource-manager/Microsoft.Network``),
and is strict where ARM is: the path must be one of those operations, the
``api-version`` must be one it serves, the bearer token must be one it issued, the
principal must hold the read action at the scope (``AuthorizationFailed``), the
subscription and resource group must exist. Listings are paged with ``nextLink``
(``page_size`` items a page); ``throttle(n, seconds)`` answers the next ``n``
requests with 429 and ``Retry-After``, as ARM does.

It is read-only over HTTP: any method other than GET is refused (405) and logged,
so a test can prove the client never wrote. State is seeded in-process with
:meth:`ArmServer.put`, which takes the REST specification's PUT bodies (as
pulumi-azure-native sends them) for resource groups, ASGs, NSGs, virtual networks
and network interfaces, validates them as ARM would, and answers GETs with the
read-only fields ARM adds (ids, etags, provisioning state, the NSG's default rules,
and its ``subnets`` and ``networkInterfaces`` back-references).

Faults are injected with :meth:`ArmServer.fault`: for requests whose path matches, the
server answers a given status and body, edits its own answer (a listing whose ``value``
is ``null``, a priority of ``740.5``), sends the body one byte at a time, or never answers.
The token endpoint can misbehave the same way.

Tokens come from an App Service managed-identity endpoint (``/msi/token``) that the
same server serves: point ``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER`` at it and
``DefaultAzureCredential`` gets its token there, never leaving loopback.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

# The api-version azure-mgmt-network sends (its operations' default); nothing else is served.
API_VERSIONS = frozenset({"2026-03-01"})
MSI_API_VERSION = "2019-08-01"
MANAGEMENT_RESOURCE = "https://management.azure.com"
SERVED_TYPES = ("networkSecurityGroups", "applicationSecurityGroups")
SEEDED_TYPES = (*SERVED_TYPES, "virtualNetworks", "networkInterfaces")
READER = ("*/read",)  # the built-in Reader role's actions

_LIST_ALL = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Network/(?P<type>[^/]+)$", re.I)
_LIST = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/(?P<type>[^/]+)$", re.I
)
_GET = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/(?P<type>[^/]+)"
    r"/(?P<name>[^/]+)$",
    re.I,
)
_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/(?P<type>[^/]+)"
    r"/(?P<name>[^/]+)$",
    re.I,
)
_RULE_NAME = re.compile(r"^\w([\w.-]{0,78}\w)?$")
_PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")


class SeedError(ValueError):
    """A seed body ARM would refuse: ``code: message`` as ARM would answer."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    authorized: bool  # carried a token this server issued


@dataclass
class Fault:
    """How the server misbehaves for the requests whose path matches ``path`` (a regex, searched).

    ``""`` matches every ARM request (the token endpoint aside); ``"^/msi/"`` the token endpoint.
    """

    path: str = ""
    status: int = 200
    body: Any = None  # the answer instead of the server's own: a JSON value, or bytes sent as they are
    edit: Callable[[Any], Any] | None = None  # a change to the server's own JSON answer (when it is a 200)
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between the bytes of the body
    silent: bool = False  # accept the request, never answer
    declare_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    times: int | None = None  # how many requests it applies to; None: every one
    seen: int = 0  # how many it has applied to

    def matches(self, path: str) -> bool:
        if self.times is not None and self.seen >= self.times:
            return False
        if self.path == "":
            return not path.startswith("/msi/")
        return re.search(self.path, path) is not None


@dataclass
class _Group:
    name: str
    location: str


@dataclass
class _Subscription:
    groups: dict[str, _Group] = field(default_factory=dict)  # casefolded name → group
    resources: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (type, rg, name) → body
    registered: bool = True


def resource_id(subscription: str, group: str, kind: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/{kind}/{name}"


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _guid(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, text))


# The six rules Azure puts in every NSG (REST: defaultSecurityRules), in the order ARM lists them.
_DEFAULTS = (
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork", "Allow inbound traffic from all VMs in VNET"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*", "Allow inbound traffic from azure load balancer"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "Deny all inbound traffic"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork", "Allow outbound traffic from all VMs to all VMs in VNET"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet", "Allow outbound traffic from all VMs to Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "Deny all outbound traffic"),
)  # fmt: skip


class ArmServer(ThreadingHTTPServer):
    """The server; ``start()`` serves it on 127.0.0.1 at a free port in a daemon thread."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self.identity_header = "seawall-tests"
        self.reset()

    # --- life cycle ---

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (as the audit does past a cap or a deadline) is no server error."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def identity_endpoint(self) -> str:
        return f"{self.endpoint_url}/msi/token"

    def start(self) -> ArmServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # silent faults let go of their connections
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()

    def reset(self) -> None:
        """Forget every subscription, resource, grant and request; one principal with Reader everywhere."""
        with self._lock:
            self.subscriptions: dict[str, _Subscription] = {}
            self.principal = "00000000-0000-0000-0000-0000000000a1"
            self.grants: list[tuple[str, tuple[str, ...]]] = [("/", READER)]
            self.page_size = 100
            self.reject_tokens = False  # as after the principal was deleted: every ARM request is a 401
            self.next_link_base: str | None = None  # another origin for nextLink (a misbehaving endpoint)
            self.requests: list[Request] = []
            self._tokens: dict[str, str] = {}  # token → principal
            self._throttle: list[float] = []  # Retry-After seconds for each of the next requests
            self.faults: list[Fault] = []
            previous = getattr(self, "stopping", None)
            if previous is not None:
                previous.set()  # a silent fault of the last test lets go
            self.stopping = threading.Event()

    # --- what the tests set up ---

    def add_subscription(self, subscription: str) -> None:
        with self._lock:
            self.subscriptions.setdefault(subscription.casefold(), _Subscription())

    def add_resource_group(self, subscription: str, name: str, location: str) -> None:
        """PUT /subscriptions/{s}/resourcegroups/{name} with {"location": …}."""
        self.add_subscription(subscription)
        with self._lock:
            self.subscriptions[subscription.casefold()].groups[name.casefold()] = _Group(name, location)

    def grant(self, scope: str, actions: tuple[str, ...] | list[str]) -> None:
        """Replace the principal's role assignments with one: ``actions`` at ``scope``."""
        with self._lock:
            self.grants = [(scope, tuple(actions))]

    def unregister(self, subscription: str) -> None:
        """The subscription is not registered for Microsoft.Network (ARM answers 409 to every request)."""
        with self._lock:
            self.subscriptions[subscription.casefold()].registered = False

    def fault(self, fault: Fault) -> Fault:
        """Misbehave as ``fault`` says (the first matching fault applies to a request)."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(path):
                    fault.seen += 1
                    return fault
            return None

    def throttle(self, requests: int, seconds: float) -> None:
        with self._lock:
            self._throttle = [seconds] * requests

    def actions(self) -> list[tuple[str, str]]:
        """(method, path) of every ARM request (token requests aside)."""
        with self._lock:
            return [(r.method, r.path) for r in self.requests if not r.path.startswith("/msi/")]

    def put(self, rid: str, body: dict[str, Any]) -> None:
        """Create or replace a resource from its REST PUT body, validated as ARM would (raises SeedError)."""
        match = _ID.match(rid)
        if not match or match["type"] not in SEEDED_TYPES:
            raise SeedError(f"InvalidResourceType: cannot seed {rid}")
        with self._lock:
            sub = self._subscription(match["sub"])
            group = sub.groups.get(match["rg"].casefold())
            if group is None:
                raise SeedError(f"ResourceGroupNotFound: Resource group '{match['rg']}' could not be found.")
            if not isinstance(body.get("location"), str):
                raise SeedError("LocationRequired: The location property is required for this definition.")
            tags = body.get("tags", {})
            if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
                raise SeedError("InvalidTag: tags are a map of strings")
            if match["type"] == "networkSecurityGroups":
                self._check_nsg(match["sub"], body)
            sub.resources[(match["type"], group.name.casefold(), match["name"].casefold())] = {
                "_id": resource_id(match["sub"], group.name, match["type"], match["name"]),
                "_name": match["name"],
                **copy.deepcopy(body),
            }

    def body(self, rid: str) -> dict[str, Any]:
        """A copy of a resource's PUT body, to edit and put back (an ARM PUT replaces the whole resource)."""
        key, sub = self._key(rid)
        with self._lock:
            stored = sub.resources[key]
            return copy.deepcopy({k: v for k, v in stored.items() if not k.startswith("_")})

    def delete(self, rid: str) -> None:
        key, sub = self._key(rid)
        with self._lock:
            del sub.resources[key]

    def _key(self, rid: str) -> tuple[tuple[str, str, str], _Subscription]:
        match = _ID.match(rid)
        assert match, rid
        return (match["type"], match["rg"].casefold(), match["name"].casefold()), self._subscription(match["sub"])

    def _subscription(self, sub: str) -> _Subscription:
        found = self.subscriptions.get(sub.casefold())
        if found is None:
            raise SeedError(f"SubscriptionNotFound: The subscription '{sub}' could not be found.")
        return found

    def _check_nsg(self, subscription: str, body: dict[str, Any]) -> None:
        rules = (body.get("properties") or {}).get("securityRules", [])
        seen: dict[tuple[str, int], str] = {}
        names: set[str] = set()
        for rule in rules:
            name, props = rule.get("name"), rule.get("properties") or {}
            if not isinstance(name, str) or not _RULE_NAME.match(name) or name.casefold() in names:
                raise SeedError(f"InvalidResourceName: security rule name {name!r}")
            names.add(name.casefold())
            for required in ("protocol", "access", "priority", "direction"):
                if required not in props:
                    raise SeedError(f"MissingRequiredProperty: {name}: {required}")
            if props["protocol"] not in _PROTOCOLS or props["access"] not in ("Allow", "Deny"):
                raise SeedError(f"InvalidRequestFormat: {name}: protocol or access")
            if props["direction"] not in ("Inbound", "Outbound"):
                raise SeedError(f"InvalidRequestFormat: {name}: direction")
            priority = props["priority"]
            if not isinstance(priority, int) or not 100 <= priority <= 4096:
                raise SeedError(f"SecurityRuleInvalidPriority: {name}: priority {priority!r} is not in 100-4096")
            if (props["direction"], priority) in seen:
                other = seen[(props["direction"], priority)]
                raise SeedError(f"SecurityRuleConflict: {name} and {other} have the same priority and direction")
            seen[(props["direction"], priority)] = name
            if len(props.get("description") or "") > 140:
                raise SeedError(f"SecurityRuleDescriptionTooLong: {name}")
            for end in ("source", "destination"):
                given = [k for k in (f"{end}AddressPrefix", f"{end}AddressPrefixes", f"{end}ApplicationSecurityGroups")
                         if props.get(k)]  # fmt: skip
                if len(given) != 1:
                    raise SeedError(f"SecurityRuleParameterContainsUnsupportedValue: {name}: {end}: {given}")
                for asg in props.get(f"{end}ApplicationSecurityGroups") or []:
                    match = _ID.match(str(asg.get("id", "")))
                    sub = self._subscription(subscription)
                    if (
                        not match
                        or ("applicationSecurityGroups", match["rg"].casefold(), match["name"].casefold())
                        not in sub.resources
                    ):
                        raise SeedError(f"InvalidResourceReference: {name}: {asg.get('id')} was not found")

    # --- what ARM answers ---

    def issue_token(self) -> str:
        with self._lock:
            token = f"token-{len(self._tokens) + 1}-{uuid.uuid4().hex}"
            self._tokens[token] = self.principal
            return token

    def token_principal(self, token: str) -> str | None:
        with self._lock:
            return self._tokens.get(token)

    def next_throttle(self) -> float | None:
        with self._lock:
            return self._throttle.pop(0) if self._throttle else None

    def allowed(self, action: str, scope: str) -> bool:
        with self._lock:
            for grant_scope, actions in self.grants:
                inside = scope.casefold() == grant_scope.casefold().rstrip("/") or scope.casefold().startswith(
                    grant_scope.casefold().rstrip("/") + "/"
                )
                if inside and any(fnmatch.fnmatch(action.casefold(), a.casefold()) for a in actions):
                    return True
            return False

    def listing(self, sub: _Subscription, kind: str, group: str | None) -> list[dict[str, Any]]:
        with self._lock:
            found = [
                self._render(sub, key, stored)
                for key, stored in sub.resources.items()
                if key[0] == kind and (group is None or key[1] == group.casefold())
            ]
        return sorted(found, key=lambda r: str(r["id"]).casefold())

    def get(self, sub: _Subscription, kind: str, group: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            stored = sub.resources.get((kind, group.casefold(), name.casefold()))
            return None if stored is None else self._render(sub, (kind, group.casefold(), name.casefold()), stored)

    def _render(self, sub: _Subscription, key: tuple[str, str, str], stored: dict[str, Any]) -> dict[str, Any]:
        """The GET shape of the REST specification: the PUT body plus ARM's read-only fields."""
        rid, name = stored["_id"], stored["_name"]
        kind = key[0]
        out: dict[str, Any] = {
            "name": name,
            "id": rid,
            "etag": f'W/"{_guid(rid + json.dumps(stored, sort_keys=True))}"',
            "type": f"Microsoft.Network/{kind}",
            "location": stored["location"],
        }
        if stored.get("tags"):
            out["tags"] = dict(stored["tags"])
        props: dict[str, Any] = {"resourceGuid": _guid(rid), "provisioningState": "Succeeded"}
        if kind == "networkSecurityGroups":
            given = (stored.get("properties") or {}).get("securityRules", [])
            props["securityRules"] = [self._rule(rid, r["name"], r["properties"]) for r in given]
            props["defaultSecurityRules"] = [
                self._rule(
                    rid,
                    n,
                    {
                        "description": d,
                        "protocol": "*",
                        "sourcePortRange": "*",
                        "destinationPortRange": "*",
                        "sourceAddressPrefix": src,
                        "destinationAddressPrefix": dst,
                        "access": access,
                        "priority": priority,
                        "direction": direction,
                    },
                    "defaultSecurityRules",
                )
                for n, priority, direction, access, src, dst, d in _DEFAULTS
            ]
            subnets, nics = self._associations(sub, rid)
            if subnets:
                props["subnets"] = [{"id": s} for s in subnets]
            if nics:
                props["networkInterfaces"] = [{"id": n} for n in nics]
        out["properties"] = props
        return out

    @staticmethod
    def _rule(nsg_id: str, name: str, given: dict[str, Any], collection: str = "securityRules") -> dict[str, Any]:
        props = {"provisioningState": "Succeeded", **copy.deepcopy(given)}
        for key in ("sourcePortRanges", "destinationPortRanges", "sourceAddressPrefixes", "destinationAddressPrefixes"):
            props.setdefault(key, [])  # ARM echoes the list forms empty when the single forms are used
        for end in ("source", "destination"):
            if props.get(f"{end}ApplicationSecurityGroups"):
                props[f"{end}ApplicationSecurityGroups"] = [
                    {"id": a["id"]} for a in props[f"{end}ApplicationSecurityGroups"]
                ]
        kind = "securityRules" if collection == "securityRules" else "defaultSecurityRules"
        rid = f"{nsg_id}/{kind}/{name}"
        return {
            "name": name,
            "id": rid,
            "etag": f'W/"{_guid(rid)}"',
            "type": f"Microsoft.Network/networkSecurityGroups/{kind}",
            "properties": props,
        }

    @staticmethod
    def _associations(sub: _Subscription, nsg_id: str) -> tuple[list[str], list[str]]:
        subnets, nics = [], []
        for (kind, _, _), stored in sorted(sub.resources.items()):
            props = stored.get("properties") or {}
            if kind == "virtualNetworks":
                for subnet in props.get("subnets", []):
                    ref = ((subnet.get("properties") or {}).get("networkSecurityGroup") or {}).get("id", "")
                    if ref.casefold() == nsg_id.casefold():
                        subnets.append(f"{stored['_id']}/subnets/{subnet['name']}")
            elif kind == "networkInterfaces":
                ref = (props.get("networkSecurityGroup") or {}).get("id", "")
                if ref.casefold() == nsg_id.casefold():
                    nics.append(stored["_id"])
        return subnets, nics


class _Handler(BaseHTTPRequestHandler):
    server: ArmServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    _fault: Fault | None = None

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        fault = self._fault
        if fault is not None and fault.edit is not None and status == 200:
            body = fault.edit(copy.deepcopy(body))
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if fault is None or fault.declare_length:
            self.send_header("Content-Length", str(len(data)))
        else:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.send_header("x-ms-request-id", _guid(f"{time.monotonic_ns()}"))
        for k, v in {**(headers or {}), **(fault.headers if fault is not None else {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if fault is not None and fault.trickle:
            for byte in data:
                if self.server.stopping.wait(fault.trickle):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            return
        self.wfile.write(data)

    def _misbehave(self, path: str) -> bool:
        """Answer as a matching fault says; True when it answered (or never will)."""
        fault = self.server.take_fault(path)
        self._fault = fault
        if fault is None:
            return False
        if fault.silent:
            self.server.stopping.wait(600)  # held open, never answered
            self.close_connection = True
            return True
        if fault.body is not None or fault.status != 200:
            self._reply(fault.status, fault.body if fault.body is not None else b"")
            return True
        return False  # an edit or a trickle of the server's own answer

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parts = urlsplit(self.path)
        self._log(parts.path, parts.query)
        self._reply(405, _error("MethodNotAllowed", f"{self.command} is not served here: this server only reads"))

    do_PUT = do_POST = do_PATCH = do_DELETE = _refuse

    def _log(self, path: str, query: str) -> bool:
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        principal = self.server.token_principal(token)
        flat = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        with self.server._lock:
            self.server.requests.append(Request(self.command, path, flat, principal is not None))
        return principal is not None

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        if path == "/msi/token":
            self._log(path, parts.query)
            if self._misbehave(path):
                return None
            return self._token(query)
        authorized = self._log(path, parts.query) and not self.server.reject_tokens
        if authorized and self._misbehave(path):
            return None
        if not authorized:
            missing = "Authorization" not in self.headers
            message = (
                "Authentication failed. The 'Authorization' header is missing."
                if missing
                else "The access token is invalid."
            )
            return self._reply(
                401, _error("AuthenticationFailed" if missing else "InvalidAuthenticationToken", message)
            )
        versions = query.get("api-version", [])
        if not versions:
            return self._reply(
                400,
                _error(
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                ),
            )
        match = _GET.match(path) or _LIST.match(path) or _LIST_ALL.match(path)
        if match is None:
            return self._reply(
                404, _error("NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")
            )
        kind = match["type"]
        if kind not in SERVED_TYPES:
            return self._reply(
                404,
                _error(
                    "InvalidResourceType",
                    f"The resource type '{kind}' could not be found in the namespace 'Microsoft.Network'.",
                ),
            )
        if versions[0] not in API_VERSIONS:
            return self._reply(
                400,
                _error(
                    "NoRegisteredProviderFound",
                    f"No registered resource provider found for API version '{versions[0]}' and type '{kind}'. "
                    f"The supported api-versions are '{', '.join(sorted(API_VERSIONS))}'.",
                ),
            )
        sub = self.server.subscriptions.get(match["sub"].casefold())
        if sub is None:
            return self._reply(
                404, _error("SubscriptionNotFound", f"The subscription '{match['sub']}' could not be found.")
            )
        wait = self.server.next_throttle()
        if wait is not None:
            return self._reply(
                429,
                _error(
                    "SubscriptionRequestsThrottled",
                    f"Number of 'read' requests for subscription '{match['sub']}' exceeded. Please try again after "
                    f"'{wait:g}' seconds after additional tokens are available.",
                ),
                {"Retry-After": f"{wait:g}", "x-ms-ratelimit-remaining-subscription-reads": "0"},
            )
        if not sub.registered:
            return self._reply(
                409,
                _error(
                    "MissingSubscriptionRegistration",
                    "The subscription is not registered to use namespace 'Microsoft.Network'.",
                ),
            )
        group = match.groupdict().get("rg")
        scope = f"/subscriptions/{match['sub']}" + (f"/resourceGroups/{group}" if group else "")
        action = f"Microsoft.Network/{kind}/read"
        if not self.server.allowed(action, scope):
            principal = self.server.principal
            return self._reply(
                403,
                _error(
                    "AuthorizationFailed",
                    f"The client '{principal}' with object id '{principal}' does not have authorization to perform "
                    f"action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, "
                    "please refresh your credentials.",
                ),
            )
        if group is not None and group.casefold() not in sub.groups:
            return self._reply(404, _error("ResourceGroupNotFound", f"Resource group '{group}' could not be found."))
        if "name" in match.groupdict() and match["name"]:
            found = self.server.get(sub, kind, group or "", match["name"])
            if found is None:
                return self._reply(
                    404,
                    _error(
                        "ResourceNotFound",
                        f"The Resource 'Microsoft.Network/{kind}/{match['name']}' under resource group '{group}' was not found.",
                    ),
                )
            return self._reply(200, found)
        items = self.server.listing(sub, kind, group)
        token = query.get("$skiptoken", ["0"])[0]
        if not token.isdigit():
            return self._reply(400, _error("InvalidSkipToken", f"'{token}' is not a skip token of this listing."))
        start, size = int(token), self.server.page_size
        page: dict[str, Any] = {"value": items[start : start + size]}
        if start + size < len(items):
            base = self.server.next_link_base or self.server.endpoint_url
            page["nextLink"] = f"{base}{path}?{urlencode({'api-version': versions[0], '$skiptoken': start + size})}"
        return self._reply(200, page)

    def _token(self, query: dict[str, list[str]]) -> None:
        """App Service's managed-identity endpoint (api-version 2019-08-01)."""
        if self.headers.get("X-IDENTITY-HEADER") != self.server.identity_header:
            return self._reply(401, {"error": "invalid_request", "error_description": "X-IDENTITY-HEADER is wrong"})
        if query.get("api-version") != [MSI_API_VERSION] or not query.get("resource", [""])[0].startswith(
            MANAGEMENT_RESOURCE
        ):
            return self._reply(400, {"error": "invalid_request", "error_description": "api-version or resource"})
        expires = int(time.time()) + 3600
        return self._reply(
            200,
            {
                "access_token": self.server.issue_token(),
                "expires_on": str(expires),
                "resource": query["resource"][0],
                "token_type": "Bearer",
                "client_id": self.server.principal,
            },
        )


def start() -> ArmServer:
    return ArmServer().start()


def isolate(monkeypatch: Any, home: Path, server: ArmServer | None = None) -> None:
    """No Azure setting, cached login, proxy or CLI of this machine leaks in; tokens from ``server`` if given."""
    for name in list(os.environ):
        if name.startswith(("AZURE_", "ARM_", "IDENTITY_", "MSI_", "IMDS_")) or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(home / ".azure"))
    if server is not None:
        monkeypatch.setenv("IDENTITY_ENDPOINT", server.identity_endpoint)
        monkeypatch.setenv("IDENTITY_HEADER", server.identity_header)
