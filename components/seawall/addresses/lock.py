"""The IP-set lock file: reviewed addresses per vendor hostname, committed beside the stacks.

This module is the file format only: its records, reading and writing it. What
may go into a lock, and how a new one is merged from DNS answers and the
documents, is :mod:`seawall.addresses.merge`.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seawall.catalog.load import default_catalog_dir
from seawall.errors import UserError
from seawall.netaddr import sort_networks

LOCK_VERSION = 1
LOCK_NAME = "ipsets.lock.json"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class ServiceRecord:
    hostnames: tuple[str, ...]
    documented: tuple[str, ...]
    retired: tuple[str, ...]


@dataclass(frozen=True)
class Lock:
    hosts: dict[str, HostRecord] = field(default_factory=dict)
    services: dict[str, ServiceRecord] = field(default_factory=dict)

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


def read_lock(path: Path) -> Lock:
    """The committed lock; an absent file is an empty lock (documented addresses only)."""
    if not path.is_file():
        return Lock()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != LOCK_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {LOCK_VERSION}")
        hosts = {name: _host(rec) for name, rec in data["hosts"].items()}
        services = {
            name: ServiceRecord(tuple(r["hostnames"]), tuple(r.get("documented", ())), tuple(r.get("retired", ())))
            for name, r in data["services"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(str(path), f"unreadable IP-set lock ({exc}); regenerate it with seawall resolve") from None
    return Lock(hosts, services)


def _host(rec: dict[str, Any]) -> HostRecord:
    for address in rec["addresses"]:
        ipaddress.ip_network(address, strict=True)
    return HostRecord(
        addresses=tuple(rec["addresses"]),
        status=str(rec["status"]),
        source=str(rec["source"]),
        services=tuple(rec.get("services", ())),
        cname_chain=tuple(rec.get("cname_chain", ())),
        ttl=rec.get("ttl"),
        resolver=str(rec.get("resolver", "")),
        resolved_at=str(rec.get("resolved_at", "")),
        note=str(rec.get("note", "")),
    )


def default_lock_path(catalog_dir: Path | None) -> Path:
    """The lock ``seawall resolve`` writes when none is named: beside the catalogue."""
    return (catalog_dir or default_catalog_dir()) / LOCK_NAME
