"""Intent in, resources out: what :class:`~seawall.AwsFirewall` and :class:`~seawall.AzureFirewall` share.

A component's arguments are the vocabulary of a stack file (topology, product,
features, site peers, ...) and are validated by the same code,
:func:`seawall.stackconfig.parse_config`, with the same wording: ``args.peers.x``
where a stack file says ``seawall:peers.x``, as the caller spells it (snake_case
from Python, camelCase from other languages through the package). Then the
stack is compiled and rendered exactly as the shipped stack program does.

**Values known only at apply.** The VPC, the resource group and location, and a
site peer's CIDRs, security group, prefix list and ASG ids may be outputs of other
resources (``{"cidrs": [subnet.cidr_block]}``). How many values there are must be
known when the program runs (a list, whose items may be outputs); the values
themselves may be unknown until apply. Such a value takes part in compiling and
rendering as a placeholder of its kind (``cidrs`` are IPv4, ``ipv6_cidrs`` IPv6:
the family decides the rule and its quota, so it cannot wait). At apply, once every
such value is known, the whole compilation runs again with the real values and
must pass: a bad value fails with the error it would have had as a plain value, and
so does a value that would duplicate another rule. Every input that carries one of
these values waits for that check, so nothing is created from a value that fails it.

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

import inspect
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pulumi

from seawall.addresses.lock import LOCK_NAME, PROJECT_FILES, find_project
from seawall.catalog.load import load_catalog
from seawall.errors import UserError
from seawall.stack import (
    CompiledStack,
    compile_config,
    priority_lock_path,
    read_priority_lock,
    render_aws_stack,
    render_azure_stack,
    stack_config_dir,
)
from seawall.stackconfig import (
    NAMESPACE,
    PYTHON_ARGS,
    SCHEMA_ARGS,
    Cloud,
    KeyStyle,
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


class FirewallArgsError(pulumi.RunError):
    """A component argument is wrong: one line naming it and what would be valid (no stack trace in Pulumi)."""


def key_style() -> KeyStyle:
    """camelCase names when the component is built for another language through the package; Python's otherwise."""
    from pulumi.provider.experimental import host

    return SCHEMA_ARGS if host.is_hosting else PYTHON_ARGS


def program_project_dir() -> Path:
    """The running program's Pulumi project, which holds its IP-set lock and pins.

    Pulumi's root directory (where ``Pulumi.yaml`` is), else the one found upward from the current directory.
    """
    root = pulumi.get_root_directory()
    # Under the SDK's mocks the root is a placeholder name: only a directory that holds Pulumi.yaml counts.
    if root and any((Path(root) / name).is_file() for name in PROJECT_FILES):
        return Path(root)
    return find_project(Path.cwd()) or Path.cwd()


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


@dataclass
class Intent:
    """A component's arguments, validated and compiled; values known only at apply stand in as placeholders."""

    cloud: Cloud
    style: KeyStyle
    plain: dict[str, Any]  # the arguments with placeholders, as parse_config reads them
    deferred: list[Deferred]
    compiled: CompiledStack
    project: Path
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


def read_intent(
    stack: str,
    args: Any,
    cloud: Cloud,
    keys: Sequence[str],
    check_rendered: Callable[[Any, "Intent", dict[str, Any]], None],
) -> tuple[Intent, Any]:
    """Validate, compile and render ``args``; returns the intent and the spec (with placeholders).

    ``check_rendered(spec, intent, real)`` runs at apply on the spec with the real values
    substituted: it refuses what a plain value would have been merged into (a duplicate rule).
    Raises :class:`FirewallArgsError` with one line naming the argument.
    """
    style = key_style()
    if not isinstance(args, Mapping):
        raise FirewallArgsError(f"args: {type(args).__name__} is not a mapping; valid: a dict of the arguments")
    plain, deferred = _stand_in(dict(args), style)
    render = render_aws_stack if cloud == "aws" else render_azure_stack
    project = program_project_dir()
    compiled, spec = _compile(stack, cloud, plain, keys, style, project, render)
    intent = Intent(cloud, style, plain, deferred, compiled, project, None, render)
    if deferred:
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
    project: Path,
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
            keys=keys,
            fixed={"cloud": cloud},
        )
        settings = config.settings
        lock = project / settings.lock_file if settings.lock_file else project / LOCK_NAME
        pins = read_priority_lock(priority_lock_path(stack_config_dir(project), stack)) if cloud == "azure" else None
        compiled = compile_config(config, load_catalog(None), pins, lock, bool(settings.lock_file))
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
    """Every value known only at apply, now known: the arguments pass as if they had been plain, or nothing is made."""
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
    _compile(stack, intent.cloud, args, keys, intent.style, intent.project, intent._render)
    check_rendered(spec, intent, real)
    return real


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
