"""Intent in, resources out: what :class:`~seawall.AwsFirewall` and :class:`~seawall.AzureFirewall` share.

A component's arguments are the vocabulary of a stack file (topology, product,
features, site peers, ...) and are validated by the same code,
:func:`seawall.stackconfig.parse_config`, with the same wording: ``args.peers.x``
where a stack file says ``seawall:peers.x``. Then the stack is compiled and
rendered exactly as the shipped stack program does.

**One validation, two routes.** A Python call and ``Construct`` (every other
language, through the component package) go through :func:`read_intent`, each in
its own spelling: snake_case keys from Python, camelCase on the wire. The other
spelling is refused with a hint, an unknown key is refused, and the required
placement (``vpc_id`` / ``resource_group_name``) must be there. Through
``Construct`` an error is the SDK's :class:`pulumi.InputPropertyError`, which the
engine shows as one line naming the property.

**Self-contained.** A component opens no file: what it needs from the user's
project (the IP-set lock's content, Azure's priority pins) arrives as the inputs
``lock`` and ``priorities``; :func:`seawall.project_inputs` reads them for a
Python program, ``readFileSync`` / ``fn::readFile`` for the others.

**Names.** Child logical names derive from the component's own name
(``<name>-gateway-sg``), cloud names from ``name_prefix``, whose default is the
component's name: two firewalls in one program never collide. A child that had
another logical name before (the prefix, or the stack's name as the old default
prefix) carries an alias to it, so an upgrade renames nothing in Pulumi's state.

**Values known only at apply.** The VPC, the resource group and location, and a
site peer's CIDRs, security group, prefix list and ASG ids may be outputs of other
resources (``{"cidrs": [subnet.cidr_block]}``). How many values there are must be
known when the program runs (a list, whose items may be outputs); the values
themselves may be unknown until apply. Such a value takes part in compiling and
rendering as a placeholder of its kind (``cidrs`` are IPv4, ``ipv6_cidrs`` IPv6:
the family decides the rule and its quota, so it cannot wait). At apply, once every
such value is known, the whole compilation runs again with the real values and
must pass: a bad value fails with the error it would have had as a plain value, and
so does a value that would duplicate another rule; a good one is written in its
canonical form, as a plain one is. Every input that carries one of these values
waits for that check, so nothing is created from a value that fails it.

**Names of their rules.** Child names come from meaning, never from positions:
a rule for a plain CIDR is named by the CIDR (``...-cidr-10.20.1.0-24``). A value
unknown until apply has no meaning yet, and a name must be fixed when the program
runs (preview and update must agree), so its rules are named by the site peer, the
kind and the value's place among that peer's values of that kind that are *known
only at apply*: ``dmz-gateway-in-tcp-22-admin-clients-cidr-1``. Plain values do not
count, so adding or removing them never renames these rules; reordering or removing
values known only at apply does (Pulumi replaces those rules). To name a rule by its
address, pass the address as a plain string. Azure names rules by peer, so there an
unknown value never affects a name.
"""

import asyncio
import inspect
import ipaddress
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, NotRequired, TypedDict, TypeGuard

import pulumi

from seawall.addresses.lock import MAX_LOCK_BYTES, Lock, parse_lock
from seawall.catalog.load import load_catalog
from seawall.errors import UserError
from seawall.records import to_camel
from seawall.stack import CompiledStack, compile_config, render_aws_stack, render_azure_stack
from seawall.stackconfig import (
    NAMESPACE,
    PEER_FIELDS,
    PYTHON_ARGS,
    SCHEMA_ARGS,
    Cloud,
    KeyStyle,
    default_name_prefix,
    parse_config,
)


class AddressSource(StrEnum):
    """Where vendor services' addresses come from."""

    LOCK = "lock"
    """The reviewed IP-set lock (``seawall resolve``) plus the addresses the documents print."""
    DOCUMENTED = "documented"
    """Only the addresses the vendor documents print."""


class PeerArgs(TypedDict):
    """A site peer's addresses, by kind (the peers a catalogue entry needs: ``admin-clients``, ``dns-servers``, ...).

    Each list holds one kind. Its items may be outputs of other resources, but the
    number of items must be known when the program runs.
    """

    cidrs: NotRequired[list[pulumi.Input[str]]]
    """IPv4 networks, canonical (``10.20.1.0/24``), e.g. ``[subnet.cidr_block]``."""
    ipv6_cidrs: NotRequired[list[pulumi.Input[str]]]
    """IPv6 networks, canonical (``2001:db8::/64``)."""
    security_group_ids: NotRequired[list[pulumi.Input[str]]]
    """AWS: security groups whose members are the peer (``sg-…``), e.g. ``[bastion.id]``."""
    prefix_list_ids: NotRequired[list[pulumi.Input[str]]]
    """AWS: managed prefix lists that hold the peer's addresses (``pl-…``)."""
    application_security_group_ids: NotRequired[list[pulumi.Input[str]]]
    """Azure: application security groups whose members are the peer (resource ids)."""
    service_tags: NotRequired[list[str]]
    """Azure: service tags such as ``VirtualNetwork`` (the whole internet is ``internet: true``, never a tag)."""
    internet: NotRequired[bool]
    """``true`` binds the peer to the whole internet, on purpose; a plan warns about it."""


class AwsQuotasArgs(TypedDict):
    """AWS VPC quotas in force for the account; each defaults to AWS's default."""

    rules_per_security_group: NotRequired[int]
    """'Inbound or outbound rules per security group' (L-0EA8095F); default 60."""
    security_groups_per_eni: NotRequired[int]
    """'Security groups per network interface' (L-2AFB9258); default 5, at most 16."""
    prefix_list_max_entries: NotRequired[int]
    """The most entries a customer-managed prefix list may have; default 1000."""


class AzureQuotasArgs(TypedDict):
    """Azure limits per network security group, lowered on purpose (they cannot be raised)."""

    rules_per_nsg: NotRequired[int]
    """Rules per NSG; default and most 1000."""
    prefixes_per_nsg: NotRequired[int]
    """Source (and, separately, destination) address prefixes per NSG; default and most 4000."""


# Argument keys that may carry values known only at apply, and where in a peer they may.
PLACEMENT_KEYS = ("vpc_id", "resource_group_name", "location")
DEFERRABLE_PEER_KINDS = (
    "cidrs",
    "ipv6_cidrs",
    "security_group_ids",
    "prefix_list_ids",
    "application_security_group_ids",
)
# Resource ids the cloud assigns: under the SDK's mocks they are the mocks' ids and are not checked at apply.
ID_KINDS = ("vpc_id", "security_group_ids", "prefix_list_ids", "application_security_group_ids")
# How a rule for a value known only at apply is named: <peer>-<this>-<n>.
_NAME_KIND = {
    "cidrs": "cidr",
    "ipv6_cidrs": "ipv6-cidr",
    "security_group_ids": "sg",
    "prefix_list_ids": "pl",
    "application_security_group_ids": "asg",
}


# Set while the component package builds a component for another language (``Construct``).
WIRE: ContextVar[bool] = ContextVar("seawall_wire", default=False)


class FirewallArgsError(pulumi.RunError):
    """A component argument is wrong: one line naming it and what would be valid (no stack trace in Pulumi).

    ``path`` is the argument as the caller spells it without ``args.`` (``peers.admin-clients.cidrs[0]``),
    ``reason`` the rest of the line: through ``Construct`` they become the SDK's :class:`pulumi.InputPropertyError`.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if path is None:
            head, sep, rest = message.partition(": ")
            path, message = (head, rest) if sep and head.startswith("args.") and " " not in head else ("", message)
        elif message.startswith(f"args.{path}: "):
            message = message[len(f"args.{path}: ") :]
        self.path = path.removeprefix("args.")
        self.reason = message

    def for_engine(self) -> pulumi.InputPropertyError:
        """The error as ``Construct`` hands it to the engine: the property and one line of reason."""
        return pulumi.InputPropertyError(self.path or "args", self.reason)


def key_style() -> KeyStyle:
    """camelCase names when the component is built for another language through the package; Python's otherwise."""
    from pulumi.provider.experimental import host

    return SCHEMA_ARGS if WIRE.get() or host.is_hosting else PYTHON_ARGS


# --- the arguments' keys, in each route's spelling -----------------------------------------------------------------

# Keys of nested arguments whose names seawall defines (peer names, tag keys and roles are the user's own).
_NESTED: dict[str, tuple[str, ...]] = {
    "peers.*": tuple(PeerArgs.__annotations__),
    "quotas.aws": tuple(AwsQuotasArgs.__annotations__),
    "quotas.azure": tuple(AzureQuotasArgs.__annotations__),
}
_INTEGER_KEYS = frozenset(
    (*AwsQuotasArgs.__annotations__, *AzureQuotasArgs.__annotations__, "max_entries")
)  # JSON numbers arrive as floats on the wire


def _spelled(
    key: str, known: Sequence[str], style: KeyStyle, where: list[str | int], shown: Sequence[str] | None = None
) -> str:
    """The Python name of ``key``, given in the caller's spelling; any other spelling is one line naming it.

    ``shown`` narrows the valid keys an unknown key's message lists (a peer's kinds on this cloud).
    """
    own = {(k if style.snake else to_camel(k)): k for k in known}
    if key in own:
        return own[key]
    other = {(to_camel(k) if style.snake else k): k for k in known}
    label = f"{style.label(where)}.{key}" if where else f"{style.prefix}{key}"  # as the caller wrote it
    if key in other:
        name = other[key]
        if style.snake:
            raise FirewallArgsError(f"{label}: camelCase is how other languages spell it; in Python write {name}")
        raise FirewallArgsError(f"{label}: snake_case is Python's spelling; write {to_camel(name)}")
    valid = ", ".join(sorted(k for k, name in own.items() if shown is None or name in shown))
    here = "args keys" if not where else "keys here"
    raise FirewallArgsError(f"{label}: unknown key {key!r}; valid {here}: {valid}")


def normalise_args(args: Any, known: Sequence[str], cloud: Cloud | None, style: KeyStyle) -> dict[str, Any]:
    """The arguments with Python names, whichever route they came by; ``None`` is left out like a missing key.

    Refuses a key of the other route's spelling (with the right one), an unknown key, and a
    mapping where a mapping of seawall's keys belongs. Whole numbers that the wire carries as
    floats (``60.0``) become integers.
    """
    if not isinstance(args, Mapping):
        raise FirewallArgsError(f"args: {type(args).__name__} is not a mapping; valid: a dict of the arguments")
    out: dict[str, Any] = {}
    for key, value in args.items():
        if key in ("lock_file", "lockFile"):
            raise FirewallArgsError(
                f"{style.prefix}{key}: a component opens no file; pass the lock's content as {style.field('lock')} "
                "(Python: seawall.project_inputs; TypeScript: readFileSync; YAML: fn::readFile)"
            )
        name = _spelled(str(key), known, style, [])
        if value is None:
            continue
        if name == "quotas" and isinstance(value, Mapping) and cloud is not None:
            value = _nested(value, _NESTED[f"quotas.{cloud}"], style, [name])
        elif name == "peers" and isinstance(value, Mapping):
            value = {
                peer: _nested(binding, _NESTED["peers.*"], style, [name, str(peer)], PEER_FIELDS.get(cloud or ""))
                if isinstance(binding, Mapping)
                else binding
                for peer, binding in value.items()
            }
        elif name in _INTEGER_KEYS and not style.snake:
            value = _whole(value)
        out[name] = value
    return out


def _nested(
    value: Mapping[Any, Any],
    known: Sequence[str],
    style: KeyStyle,
    where: list[str | int],
    shown: Sequence[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = _spelled(str(key), known, style, where, shown)
        if item is None:
            continue
        out[name] = _whole(item) if name in _INTEGER_KEYS and not style.snake else item
    return out


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def require(args: Mapping[str, Any], key: str, valid: str, style: KeyStyle) -> None:
    """A required argument: absent or ``None`` is one line saying what to pass."""
    if args.get(key) is None:
        raise FirewallArgsError(f"{style.label([key])}: missing required argument; valid: {valid}")


# --- inputs instead of files ----------------------------------------------------------------------------------------


def lock_input(value: Any, style: KeyStyle) -> Lock | None:
    """The ``lock`` input: the IP-set lock's text (``seawall resolve`` writes it), validated as a file would be."""
    if value is None:
        return None
    label = style.label(["lock"])
    if _is_deferred(value):
        raise FirewallArgsError(
            f"{label}: must be known when the program runs (it decides the rules); pass the file's text"
        )
    if not isinstance(value, str):
        raise FirewallArgsError(
            f"{label}: {type(value).__name__} is not text; valid: the lock file's content "
            "(seawall.project_inputs(), readFileSync(..., 'utf8'), fn::readFile)"
        )
    if len(value.encode("utf-8")) > MAX_LOCK_BYTES:
        raise FirewallArgsError(f"{label}: larger than any lock seawall writes ({MAX_LOCK_BYTES:,} bytes at most)")
    try:
        return parse_lock(value, label)
    except UserError as exc:
        raise FirewallArgsError(str(exc), "lock") from None


PriorityPins = dict[str, dict[str, dict[str, int]]]
_DIRECTIONS = ("Inbound", "Outbound")


def priorities_input(value: Any, style: KeyStyle) -> PriorityPins | None:
    """The ``priorities`` input: the pins file's text (``<stack>.priorities.json``), or from Python its mapping.

    ``{role: {Inbound|Outbound: {rule name: priority}}}``, as the ``priorities`` output gives it; read
    and checked as the file would be (bounded JSON, integer priorities from 100 to 4096).
    """
    from seawall.azure.pins import HIGHEST_PRIORITY, LOWEST_PRIORITY, MAX_PINS_BYTES, PINS_VALID
    from seawall.jsonsource import parse_json

    if value is None:
        return None
    label = style.label(["priorities"])
    if _is_deferred(value):
        raise FirewallArgsError(f"{label}: must be known when the program runs; pass the pins file's text")
    if isinstance(value, str):
        if len(value.encode("utf-8")) > MAX_PINS_BYTES:
            raise FirewallArgsError(f"{label}: larger than any pins file ({MAX_PINS_BYTES:,} bytes at most)")
        try:
            value = parse_json(value, label, UserError, PINS_VALID)
        except UserError as exc:
            raise FirewallArgsError(str(exc), "priorities") from None
    valid = f"the pins file's text, {PINS_VALID}"
    out: PriorityPins = {}
    if not isinstance(value, Mapping):
        raise FirewallArgsError(f"{label}: not pins; valid: {valid}")
    for role, directions in value.items():
        where: list[str | int] = ["priorities", str(role)]
        if not isinstance(directions, Mapping):
            raise FirewallArgsError(f"{style.label(where)}: not a mapping; valid: {valid}")
        out[str(role)] = {}
        for direction, names in directions.items():
            if direction not in _DIRECTIONS:
                raise FirewallArgsError(
                    f"{style.label([*where, str(direction)])}: unknown direction {direction!r}; valid: Inbound, Outbound"
                )
            if not isinstance(names, Mapping):
                raise FirewallArgsError(f"{style.label([*where, direction])}: not a mapping; valid: {valid}")
            pins: dict[str, int] = {}
            for rule, priority in names.items():
                if not _priority(priority) or not LOWEST_PRIORITY <= priority <= HIGHEST_PRIORITY:
                    raise FirewallArgsError(
                        f"{style.label([*where, direction, str(rule)])}: {priority!r} is not a priority; "
                        f"valid: an integer from {LOWEST_PRIORITY} to {HIGHEST_PRIORITY}"
                    )
                pins[str(rule)] = priority
            out[str(role)][str(direction)] = pins
    return out


def _priority(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _placeholder(kind: str, number: int) -> str:
    """A stand-in of ``kind`` that no real argument is (zero-network addresses, all-zero ids), numbered from 1."""
    if kind == "cidrs":
        return f"0.0.{number // 256}.{number % 256}/32"
    if kind == "ipv6_cidrs":
        return f"100::{number:x}/128"  # the discard-only prefix
    if kind == "security_group_ids":
        return f"sg-{number:017x}"
    if kind == "prefix_list_ids":
        return f"pl-{number:017x}"
    if kind == "application_security_group_ids":
        return (
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/seawall-pending/providers/"
            f"Microsoft.Network/applicationSecurityGroups/pending-{number}"
        )
    if kind == "vpc_id":
        return f"vpc-{number:017x}"
    return f"pending-{number}"


def _is_deferred(value: Any) -> bool:
    return isinstance(value, pulumi.Output | pulumi.output.Unknown) or inspect.isawaitable(value)


def _as_output(value: Any) -> pulumi.Output[Any]:
    """An output of the value; the package hands a bare unknown over as ``Unknown``, which becomes an unknown output."""
    return pulumi.Output.from_input(value)


@dataclass
class Deferred:
    """One value known only at apply: where it was given and what stands in for it until then."""

    placeholder: str
    kind: str  # the argument kind: cidrs, security_group_ids, ..., vpc_id
    key: list[str | int]  # e.g. ["peers", "admin-clients", "cidrs", 0]
    name: str  # what its rules are named by, e.g. admin-clients-cidr-1
    output: pulumi.Output[Any]


@dataclass(frozen=True)
class Naming:
    """How a component names its children: logical names from its own name, with aliases to the names they had.

    The renderer names every child ``<prefix>-<meaning>`` (``prefix`` the cloud names' prefix);
    the child's logical name is ``<component name>-<meaning>``. Before, it was
    ``<old prefix>-<meaning>``; where that differs, the child carries an alias to it.
    """

    component: str
    prefix: str
    old_prefix: str | None = None

    def logical(self, rendered: str) -> str:
        return self.component + rendered[len(self.prefix) :] if rendered.startswith(self.prefix) else rendered

    def aliases(self, rendered: str) -> list[pulumi.Alias]:
        if self.old_prefix is None or not rendered.startswith(self.prefix):
            return []
        old = self.old_prefix + rendered[len(self.prefix) :]
        return [] if old == self.logical(rendered) else [pulumi.Alias(name=old)]

    def options(self, rendered: str, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, aliases=self.aliases(rendered) or None)


SAME_NAMES = Naming("", "")


def quiet_copies() -> None:
    """One failed check is one error: its copies in the outputs that waited for it are not logged again.

    A value that fails its check at apply fails every input that waited for it, and so
    every output of those resources; Python would log each unread one as "Future exception
    was never retrieved" (hundreds per firewall, in later tests' logs or after the engine's
    error). The run reports the check's error once; the event loop's handler drops only the
    copies of that very error (marked ``seawall_checked``) and passes everything else on.
    """
    loop = asyncio.get_event_loop()
    if loop in _QUIET_LOOPS:
        return
    _QUIET_LOOPS.add(loop)
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if getattr(context.get("exception"), "seawall_checked", False) and "never retrieved" in str(
            context.get("message", "")
        ):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


_QUIET_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


@dataclass
class Intent:
    """A component's arguments, validated and compiled; values known only at apply stand in as placeholders."""

    cloud: Cloud
    style: KeyStyle
    plain: dict[str, Any]  # the arguments with placeholders, as parse_config reads them
    deferred: list[Deferred]
    compiled: CompiledStack
    naming: Naming
    lock: Lock | None = None
    priorities: PriorityPins | None = None
    checked: pulumi.Output[dict[str, Any]] | None = None  # placeholder -> real value, once every one is valid
    _render: Callable[[CompiledStack], Any] = field(default=render_aws_stack, repr=False)

    @property
    def warnings(self) -> list[str]:
        return [
            self.style.translate(f"{n.subject}: {n.text}") if n.subject else self.style.translate(n.text)
            for n in self.compiled.flows.notices
            if n.warning
        ]

    def value(self, text: str) -> pulumi.Input[str]:
        """A rendered value as the resource gets it: the real value (checked at apply) where it stood in for one."""
        if self.checked is None or not any(d.placeholder == text for d in self.deferred):
            return text
        return self.checked.apply(lambda real: real[text])

    def argument(self, key: str) -> pulumi.Input[str] | None:
        """A placement argument (``vpc_id``, ``resource_group_name``, ``location``) as resources get it."""
        text = self.plain.get(key)
        return None if text is None else self.value(text)

    def name_of(self, text: str) -> str | None:
        """What a rule for this value is named by, if the value is known only at apply."""
        return next((d.name for d in self.deferred if d.placeholder == text), None)


# The cloud-name prefixes taken in the running program, per cloud (kept per monitor: one program each).
_TAKEN: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], str]] = weakref.WeakKeyDictionary()
# In the component package's provider process the engine sends each component in a Construct call of
# its own, with a monitor of its own: the provider keeps the prefixes its program has taken, and says where.
HOSTED_PREFIXES: ContextVar[dict[tuple[str, str], str] | None] = ContextVar("seawall_hosted_prefixes", default=None)


def claim_prefix(cloud: str, prefix: str, component: str, style: KeyStyle) -> None:
    """Two components of one program may not share a cloud-name prefix: their groups would have one name."""
    from pulumi.runtime.settings import get_monitor

    taken = HOSTED_PREFIXES.get()
    if taken is None:
        try:
            taken = _TAKEN.setdefault(get_monitor(), {})
        except TypeError:  # a monitor that cannot be weakly referenced: nothing to compare with
            return
    other = taken.get((cloud, prefix))
    if other is not None and other != component:
        raise FirewallArgsError(
            f"{style.label(['name_prefix'])}: {prefix!r} already names the cloud resources of {other!r} in this "
            "program (their security groups, NSGs and prefix lists would share names); give each firewall its own"
        )
    taken[(cloud, prefix)] = component


def read_intent(
    name: str,
    args: Any,
    cloud: Cloud,
    keys: Sequence[str],
    required: tuple[str, str],
    check_rendered: Callable[[Any, "Intent", dict[str, Any]], None],
) -> tuple[Intent, Any]:
    """Validate, compile and render ``args`` of the component ``name``; returns the intent and the spec.

    The one validation of both routes (see the module). ``required`` is the placement argument
    and what would be valid for it. ``check_rendered(spec, intent, real)`` runs at apply on the
    spec with the real values substituted: it refuses what a plain value would have been merged
    into (a duplicate rule). Raises :class:`FirewallArgsError` with one line naming the argument.
    """
    stack = pulumi.get_stack()
    style = key_style()
    given = normalise_args(args, keys, cloud, style)
    require(given, required[0], required[1], style)
    lock = lock_input(given.pop("lock", None), style)
    priorities = priorities_input(given.pop("priorities", None), style)
    old_prefix = given.get("name_prefix") if isinstance(given.get("name_prefix"), str) else default_name_prefix(stack)
    given.setdefault("name_prefix", default_name_prefix(name))
    plain, deferred = _stand_in(given, style)
    render = render_aws_stack if cloud == "aws" else render_azure_stack
    compiled, spec = _compile(stack, cloud, plain, keys, style, lock, priorities, render)
    prefix = compiled.config.name_prefix
    claim_prefix(cloud, prefix, name, style)
    naming = Naming(name, prefix, old_prefix)
    intent = Intent(cloud, style, plain, deferred, compiled, naming, lock, priorities, None, render)
    if deferred:
        quiet_copies()
        intent.checked = pulumi.Output.all(*(d.output for d in deferred)).apply(
            lambda reals: _check_at_apply(stack, intent, keys, spec, list(reals), check_rendered)
        )
    return intent, spec


def _compile(
    stack: str,
    cloud: Cloud,
    plain: dict[str, Any],
    keys: Sequence[str],
    style: KeyStyle,
    lock: Lock | None,
    priorities: PriorityPins | None,
    render: Callable[[CompiledStack], Any],
) -> tuple[CompiledStack, Any]:
    try:
        # A component takes its own cloud's quotas; a stack file keeps both clouds' under quotas.aws / quotas.azure.
        nested = {k: {cloud: v} if k == "quotas" and isinstance(v, Mapping) else v for k, v in plain.items()}
        config = parse_config(
            stack,
            {f"{NAMESPACE}:{k}": v for k, v in nested.items()},
            placement=False,
            style=style,
            keys=[k for k in keys if k not in ("lock", "priorities")],
            fixed={"cloud": cloud},
        )
        no_lock = style.translate(
            f"no IP-set lock given ({style.label(['lock'])}): vendor services use only the addresses the documents "
            f"print (pass the lock's content as {style.field('lock')}, or set {style.field('addresses')}: "
            "documented to say so)"
        )
        compiled = compile_config(config, load_catalog(None), priorities, None, False, None, lock, no_lock)
        return compiled, render(compiled)
    except UserError as exc:
        raise FirewallArgsError(style.translate(str(exc))) from None


def _stand_in(args: dict[str, Any], style: KeyStyle) -> tuple[dict[str, Any], list[Deferred]]:
    """The arguments with every value known only at apply replaced by a placeholder of its kind.

    Anything else must be plain when the program runs: how many rules and groups there are,
    and their names, are decided then.
    """
    deferred: list[Deferred] = []
    taken = _plain_strings(args)
    counter = iter(range(1, 1 << 30))

    def stand_in(kind: str, key: list[str | int], value: Any, name: str) -> str:
        while (text := _placeholder(kind, next(counter))) in taken:
            pass
        deferred.append(Deferred(text, kind, key, name, _as_output(value)))
        return text

    out: dict[str, Any] = {}
    for arg, value in args.items():
        if arg in PLACEMENT_KEYS and _is_deferred(value):
            out[arg] = stand_in(arg, [arg], value, arg)
        elif arg == "peers" and isinstance(value, Mapping):
            out[arg] = {
                peer: _peer_stand_in(peer, binding, style, stand_in) if isinstance(binding, Mapping) else binding
                for peer, binding in value.items()
            }
            _refuse_deferred([arg], out[arg], style)
        else:
            out[arg] = _plain(value)
            _refuse_deferred([arg], out[arg], style)
    return out, deferred


def _peer_stand_in(
    peer: str, binding: Mapping[str, Any], style: KeyStyle, stand_in: Callable[[str, list[str | int], Any, str], str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, values in binding.items():
        if kind in DEFERRABLE_PEER_KINDS and isinstance(values, list | tuple):
            ordinal = 0
            items: list[Any] = []
            for index, item in enumerate(values):
                if _is_deferred(item):
                    ordinal += 1
                    name = f"{peer}-{_NAME_KIND[kind]}-{ordinal}"
                    items.append(stand_in(kind, ["peers", peer, kind, index], item, name))
                else:
                    items.append(item)
            out[kind] = items
        else:
            out[kind] = _plain(values)
    return out


def _plain(value: Any) -> Any:
    """Enum members as their values (the package hands enums over as members)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _refuse_deferred(key: list[str | int], value: Any, style: KeyStyle) -> None:
    """A value that decides how many rules there are, or their names, must be known when the program runs."""
    if _is_deferred(value):
        what = (
            "the number of values must be known when the program runs; pass a list whose items may be outputs"
            if key[-1] in DEFERRABLE_PEER_KINDS or key == ["peers"] or (key[0] == "peers" and len(key) == 2)
            else "must be known when the program runs; pass a plain value, not an output"
        )
        raise FirewallArgsError(f"{style.label(key)}: {what}")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _refuse_deferred([*key, str(k)], v, style)
    elif isinstance(value, list | tuple):
        for index, v in enumerate(value):
            _refuse_deferred([*key, index], v, style)


def _plain_strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, Mapping):
        return {s for v in value.values() for s in _plain_strings(v)}
    if isinstance(value, list | tuple):
        return {s for v in value for s in _plain_strings(v)}
    return set()


def _check_at_apply(
    stack: str,
    intent: Intent,
    keys: Sequence[str],
    spec: Any,
    reals: list[Any],
    check_rendered: Callable[[Any, Intent, dict[str, Any]], None],
) -> dict[str, Any]:
    """Every value known only at apply, now known: the arguments pass as if they had been plain, or nothing is made.

    Returns placeholder -> the value as a plain one would be written (a network in its canonical form).
    Through ``Construct`` a failure is the SDK's input-property error, as it would have been when the program ran.
    """
    real = {d.placeholder: value for d, value in zip(intent.deferred, reals, strict=True)}
    # Under the SDK's mocks (unit tests, seawall plan) a resource's id is the mocks' own (``${vpc.id}``):
    # it stays checked as its placeholder. Anything shaped like an address or a cloud id is checked as given.
    mocked = _under_mocks()
    args = _substitute(
        intent.plain,
        {
            d.placeholder: real[d.placeholder]
            for d in intent.deferred
            if not (mocked and d.kind in ID_KINDS and _mock_id(real[d.placeholder]))
        },
    )
    try:
        _compile(stack, intent.cloud, args, keys, intent.style, intent.lock, intent.priorities, intent._render)
        canonical = {d.placeholder: _canonical(d.kind, real[d.placeholder]) for d in intent.deferred}
        check_rendered(spec, intent, canonical)
    except FirewallArgsError as exc:
        error: Exception = exc if intent.style.snake else exc.for_engine()
        error.seawall_checked = True  # type: ignore[attr-defined]  # (see quiet_copies)
        raise error from None
    return canonical


def _canonical(kind: str, value: Any) -> Any:
    """A checked value as a plain one is written: ``10.31.0.0/0.0.0.255`` is ``10.31.0.0/24``, IPv6 in lower case."""
    if kind in ("cidrs", "ipv6_cidrs") and isinstance(value, str):
        return str(ipaddress.ip_network(value, strict=True))
    return value


_CLOUD_ID = re.compile(r"^([a-z]+-[0-9a-f]+|/subscriptions/.*)$")


def _mock_id(value: Any) -> bool:
    """A made-up id of the SDK's mocks: text that is neither a network nor shaped like any cloud's id."""
    if not isinstance(value, str) or _CLOUD_ID.match(value):
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return True
    return False


def _under_mocks() -> bool:
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.settings import get_monitor

    return isinstance(get_monitor(), MockMonitor)


def _substitute(value: Any, real: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return real.get(value, value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, real) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_substitute(v, real) for v in value]
    return value


def duplicate_error(intent: Intent, placeholder: str, value: Any, rule: str, other: str) -> FirewallArgsError:
    """A value known only at apply that repeats another address of one rule (plain values are merged instead)."""
    (where,) = [d for d in intent.deferred if d.placeholder == placeholder]
    return FirewallArgsError(
        f"{intent.style.label(where.key)}: {value!r} is already in rule {rule} (as {label_of(intent, other)}); "
        "bind each address once per rule (seawall merges plain values, but not one known only at apply)"
    )


def label_of(intent: Intent, text: str) -> str:
    """How an address of the spec is named in an error: its argument if it stood in for one, else itself."""
    found = [d for d in intent.deferred if d.placeholder == text]
    return intent.style.label(found[0].key) if found else repr(text)


def renamed(name: str, key: str, value: str, intent: Intent) -> str:
    """A rule name whose peer is a value known only at apply: the peer's key part replaced by the value's name."""
    label = intent.name_of(value)
    if label is None or not name.endswith(key):
        return name
    return name[: len(name) - len(key)] + label
