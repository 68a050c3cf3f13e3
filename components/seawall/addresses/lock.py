"""The IP-set lock file: reviewed addresses per vendor hostname, committed in the user's project.

This module is the file format only: its records, reading and writing it. What
may go into a lock, and how a new one is merged from DNS answers and the
documents, is :mod:`seawall.addresses.merge`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seawall.errors import UserError
from seawall.jsonsource import is_int, parse_json, read_json
from seawall.netaddr import sort_networks, zone_id_problem

LOCK_VERSION = 1
LOCK_NAME = "ipsets.lock.json"


@dataclass(frozen=True, slots=True)  # slots: a lock may hold many records, each should cost little
class HostRecord:
    addresses: tuple[str, ...]
    status: str  # ok | kept | unresolved
    source: str  # dns | aws-ip-ranges
    services: tuple[str, ...]
    cname_chain: tuple[str, ...] = ()
    ttl: int | None = None
    resolver: str = ""
    resolved_at: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    hostnames: tuple[str, ...]
    documented: tuple[str, ...]
    retired: tuple[str, ...]


@dataclass(frozen=True)
class Lock:
    hosts: dict[str, HostRecord] = field(default_factory=dict)
    services: dict[str, ServiceRecord] = field(default_factory=dict)
    origin: str = field(default="", compare=False)  # the file it was read from, for errors
    text: str = field(default="", compare=False, repr=False)

    def where(self, *needles: str) -> str:
        """``file:line`` of the first needle (then the next after it) in the lock's text."""
        return _Where(self.origin, self.text)(*needles)

    def to_text(self) -> str:
        data = {
            "version": LOCK_VERSION,
            "hosts": {name: _record_json(asdict(rec)) for name, rec in sorted(self.hosts.items())},
            "services": {name: _record_json(asdict(rec)) for name, rec in sorted(self.services.items())},
        }
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def service_addresses(self, service: str) -> tuple[str, ...]:
        """DNS/feed addresses of a service's hosts (documented ones excluded)."""
        record = self.services.get(service)
        if record is None:
            return ()
        found = {a for h in record.hostnames if (rec := self.hosts.get(h)) for a in rec.addresses}
        return sort_networks(found)


def _record_json(data: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items() if v not in ("", None)}


# Every key the format defines, and its type; anything else is not a lock this seawall wrote.
_HOST_KEYS: dict[str, tuple[type, ...]] = {
    "addresses": (list,),
    "status": (str,),
    "source": (str,),
    "services": (list,),
    "cname_chain": (list,),
    "ttl": (int,),
    "resolver": (str,),
    "resolved_at": (str,),
    "note": (str,),
}
_HOST_REQUIRED = ("addresses", "status", "source")
_SERVICE_KEYS = ("hostnames", "documented", "retired")
STATUSES = ("ok", "kept", "unresolved")
SOURCES = ("dns", "aws-ip-ranges")
_STATUS = {s: s for s in STATUSES}
_SOURCE = {s: s for s in SOURCES}
MAX_LOCK_BYTES = 32 * 2**20
# Why the cap is what it is, said in the error for a larger file: reading costs time and memory in
# proportion to the size, and a real lock is far smaller (every catalogue host with its addresses).
LOCK_CAP_REASON = (
    "a lock of every host of a 20,000-entry catalogue is a few MiB, and reading one costs about "
    "8 times its size in memory"
)
# A host's addresses fill at most one prefix list: seawall resolve refuses a DNS answer or an AWS
# feed with more, so a record that holds more was not written by it (and would cost a plan dearly).
MAX_HOST_ADDRESSES = 1000
LOCK_VALID = "an IP-set lock written by seawall resolve"
# The spelling seawall writes for an IPv4 address (no leading zeros): canonical without parsing it.
_CANONICAL_V4_HOST = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                                r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/32")  # fmt: skip


class LockError(UserError):
    """An IP-set lock that is not what ``seawall resolve`` writes: refused, never read as empty."""


def read_lock(path: Path) -> Lock:
    """The lock at ``path``, its shape validated; an absent file is an empty lock (``resolve`` starts from it).

    Whether an absent lock is acceptable is the caller's decision (a lock a stack names must exist).
    The file is read boundedly and strictly (:mod:`seawall.jsonsource`): at most
    :data:`MAX_LOCK_BYTES`, nesting, repeated keys and numbers checked.
    """
    if not path.exists() and not path.is_symlink():
        return Lock()
    shown = str(path)
    if path.is_dir():
        raise LockError(shown, f"is not a file; valid: {LOCK_VALID}")
    data, text = read_json(path, shown, MAX_LOCK_BYTES, LockError, LOCK_VALID, LOCK_CAP_REASON)
    return _lock(data, text, shown)


def parse_lock(text: str, shown: str) -> Lock:
    if len(text) > MAX_LOCK_BYTES:
        raise LockError(shown, f"{len(text):,} characters, larger than any lock ({MAX_LOCK_BYTES:,} bytes at most)")
    return _lock(parse_json(text, shown, LockError, LOCK_VALID), text, shown)


def _lock(data: Any, text: str, shown: str) -> Lock:
    where = _Where(shown, text)
    if not isinstance(data, dict):
        raise LockError(where(), "not an IP-set lock; valid: {version, hosts, services} as seawall resolve writes it")
    version = data.get("version")
    if is_int(version) and version > LOCK_VERSION:
        raise LockError(
            where.top("version"), f"format {version} was written by a newer seawall; this one reads {LOCK_VERSION}"
        )
    if not is_int(version) or version != LOCK_VERSION:  # JSON true and 1.0 are not the integer 1
        raise LockError(
            where.top("version"), f"version {version!r} is not an IP-set lock format; valid: {LOCK_VERSION}"
        )
    unknown = sorted(set(data) - {"version", "hosts", "services"})
    if unknown:
        raise LockError(where.top(unknown[0]), f"unknown key {unknown[0]!r}; valid: version, hosts, services")
    sections: dict[str, dict[str, Any]] = {}
    for name in ("hosts", "services"):
        value = data.get(name)
        if not isinstance(value, dict):
            raise LockError(where.top(name), f"{name}: expected an object, got {type(value).__name__}")
        sections[name] = value
    # Each parsed record is dropped as its record is built, so the two never all exist at once.
    hosts = {name: _host(name, sections["hosts"].pop(name), where) for name in list(sections["hosts"])}
    services = {name: _service(name, sections["services"].pop(name), where) for name in list(sections["services"])}
    return Lock(hosts, services, shown, text)


class _Where:
    """``file:line`` of a key in the lock text (the lock is written one key per line)."""

    def __init__(self, shown: str, text: str) -> None:
        self.shown, self.text = shown, text

    def top(self, key: str) -> str:
        """``file:line`` of a top-level key (the same word may also appear inside a record)."""
        depth, index, text = 0, 0, self.text
        while index < len(text):
            char = text[index]
            if char == '"':
                end = index + 1
                while end < len(text) and text[end] != '"':
                    end += 2 if text[end] == "\\" else 1
                if depth == 1 and text[index + 1 : end] == key and text[end + 1 :].lstrip().startswith(":"):
                    return f"{self.shown}:{text.count(chr(10), 0, index) + 1}"
                index = end + 1
                continue
            depth += 1 if char in "{[" else -1 if char in "}]" else 0
            index += 1
        return f"{self.shown}:1"

    def __call__(self, *needles: str) -> str:
        pos = 0
        for needle in needles:
            found = self.text.find(needle, pos)
            if found < 0:
                break
            pos = found
        return f"{self.shown}:{self.text.count(chr(10), 0, pos) + 1}"


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _host(name: str, rec: Any, where: _Where) -> HostRecord:
    key = f'"{name}"'
    label = f"hosts.{name}"
    if not isinstance(rec, dict):
        raise LockError(where(key), f"{label}: expected an object")
    for field_name in sorted(rec):
        if field_name not in _HOST_KEYS:
            raise LockError(
                where(key, f'"{field_name}"'),
                f"{label}: unknown key {field_name!r}; valid: {', '.join(_HOST_KEYS)}",
            )
        expected = _HOST_KEYS[field_name]
        value = rec[field_name]
        if field_name == "ttl" and is_int(value) and value < 0:  # 1.0 and true have the wrong type below
            raise LockError(where(key, '"ttl"'), f"{label}.ttl: {value} is below 0; valid: whole seconds, such as 300")
        if field_name == "ttl" and not is_int(value):
            raise LockError(where(key, '"ttl"'), f"{label}.ttl: {value!r} has the wrong type")
        if not isinstance(value, expected) or (list in expected and not _strings(value)):
            shown = repr(value) if not isinstance(value, list) or len(value) <= 8 else f"a list of {len(value)} items"
            raise LockError(where(key, f'"{field_name}"'), f"{label}.{field_name}: {shown} has the wrong type")
    for field_name in _HOST_REQUIRED:
        if field_name not in rec:
            raise LockError(where(key), f"{label}: missing {field_name!r}")
    status, source = _STATUS.get(rec["status"]), _SOURCE.get(rec["source"])  # one shared string each
    if status is None:
        raise LockError(where(key, '"status"'), f"{label}.status: {rec['status']!r}; valid: {', '.join(STATUSES)}")
    if source is None:
        raise LockError(where(key, '"source"'), f"{label}.source: {rec['source']!r}; valid: {', '.join(SOURCES)}")
    addresses = rec["addresses"]
    if len(addresses) > MAX_HOST_ADDRESSES:
        raise LockError(
            where(key, '"addresses"'),
            f"{label}.addresses: {len(addresses):,} addresses; valid: at most {MAX_HOST_ADDRESSES} "
            "(one prefix list's worth, the most seawall resolve writes for a host)",
        )
    for index, text in enumerate(addresses):
        if _CANONICAL_V4_HOST.fullmatch(text):
            continue  # the common case, decided without building a network
        zone = zone_id_problem(text)
        if zone is not None:
            raise LockError(where(key, f'"{text}"'), f"{label}.addresses[{index}]: {zone}")
        try:
            canonical = str(ipaddress.ip_network(text, strict=True))
        except ValueError:
            canonical = ""
        # One spelling per network (54.254.98.96/32, never 54.254.98.96 or a netmask): a retired
        # address or a repeat written another way must not slip past a comparison of text.
        if canonical != text:
            valid = canonical or "a network such as 192.0.2.1/32"
            raise LockError(
                where(key, f'"{text}"'), f"{label}.addresses[{index}]: {text!r} is not canonical; valid: {valid}"
            )
    if len(set(addresses)) != len(addresses):
        raise LockError(where(key, '"addresses"'), f"{label}.addresses: an address repeats")
    if rec["status"] == "unresolved" and addresses:
        raise LockError(
            where(key, '"addresses"'), f"{label}: an unresolved host holds no addresses; valid: addresses: []"
        )
    return HostRecord(
        addresses=tuple(addresses),
        status=status,
        source=source,
        services=tuple(rec.get("services", ())),
        cname_chain=tuple(rec.get("cname_chain", ())),
        ttl=rec.get("ttl"),
        resolver=rec.get("resolver", ""),
        resolved_at=rec.get("resolved_at", ""),
        note=rec.get("note", ""),
    )


def _service(name: str, rec: Any, where: _Where) -> ServiceRecord:
    key = f'"{name}"'
    if not isinstance(rec, dict) or set(rec) - set(_SERVICE_KEYS) or "hostnames" not in rec:
        raise LockError(where('"services"', key), f"services.{name}: valid: {{{', '.join(_SERVICE_KEYS)}}}")
    for field_name in _SERVICE_KEYS:
        if field_name in rec and not _strings(rec[field_name]):
            raise LockError(where('"services"', key), f"services.{name}.{field_name}: expected a list of text")
    return ServiceRecord(tuple(rec["hostnames"]), tuple(rec.get("documented", ())), tuple(rec.get("retired", ())))


# A Pulumi project is the directory holding one of these.
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
DEFAULT_STACKS_DIR = Path("stacks")


def find_project(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``Pulumi.yaml``, if any."""
    here = start.resolve()
    for directory in (here, *here.parents):
        if any((directory / name).is_file() for name in PROJECT_FILES):
            return directory
    return None


def project_dir(stacks_dir: Path = DEFAULT_STACKS_DIR) -> Path:
    """The user's project, which holds the IP-set lock: never the installed package.

    The Pulumi project (the directory holding ``Pulumi.yaml``) found upward from the
    stacks directory; without one, the stacks directory's parent, which for the
    command line's default ``--stacks-dir stacks`` is the current directory.
    """
    return find_project(stacks_dir) or stacks_dir.resolve().parent


def default_lock_path(stacks_dir: Path | None = None) -> Path:
    """The lock stacks read and ``seawall resolve`` writes when none is named: ``ipsets.lock.json`` in the project.

    Never beside the catalogue: ``--catalog`` replaces the catalogue and nothing else, and a lock
    beside the packaged catalogue would sit inside the installed package, where no one can commit it.
    """
    return project_dir(stacks_dir or DEFAULT_STACKS_DIR) / LOCK_NAME
