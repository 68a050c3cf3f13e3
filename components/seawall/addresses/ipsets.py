"""Vendor services as IP sets: the addresses a stack may open for each service.

A stack chooses where addresses come from: ``documented`` (only the addresses
the vendor document prints) or ``lock`` (the reviewed lock file written by
``seawall resolve``). Programs never query DNS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from seawall.addresses.lock import HostRecord, Lock, LockError
from seawall.addresses.validate import AddressSource, address_problem
from seawall.catalog.load import Catalog
from seawall.errors import CatalogError
from seawall.netaddr import Network, canonical_networks


@dataclass(frozen=True)
class ServiceAddresses:
    """Canonical, sorted, deduplicated networks of one vendor service, per family."""

    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    source: str = "documented"

    @property
    def empty(self) -> bool:
        return not (self.ipv4 or self.ipv6)

    def family(self, version: int) -> tuple[str, ...]:
        return self.ipv4 if version == 4 else self.ipv6


@dataclass(frozen=True)
class IpSets:
    """Service name (``product/service``) → addresses."""

    services: dict[str, ServiceAddresses]

    def get(self, product: str, service: str) -> ServiceAddresses:
        return self.services.get(f"{product}/{service}", ServiceAddresses())

    @classmethod
    def documented(cls, catalog: Catalog, allow: Sequence[Network] = ()) -> IpSets:
        """Only the addresses the documents print (retired ones never)."""
        return ipsets_from_lock(catalog, Lock(), allow)


def retired_by_host(catalog: Catalog) -> dict[str, set[str]]:
    """Hostname → every address a document retires for a service naming it, across products.

    The SEG 4.8 change history retires AV-update addresses of hostnames that SXG's
    services name too: a retirement belongs to the hostname, not to one product.
    """
    out: dict[str, set[str]] = {}
    for product in catalog.products.values():
        for service in product.services.values():
            for host in service.hostnames:
                out.setdefault(host, set()).update(service.retired_addresses)
    return out


def feed_hosts(catalog: Catalog) -> set[str]:
    """Hostnames that a document places in a published address feed (AWS ip-ranges) rather than DNS."""
    return {
        host
        for product in catalog.products.values()
        for service in product.services.values()
        if service.address_feed
        for host in service.hostnames
    }


def ipsets_from_lock(catalog: Catalog, lock: Lock, allow: Sequence[Network] = ()) -> IpSets:
    """Service → documented addresses plus the lock's addresses for its hostnames, every one validated.

    The lock is input, not truth (a pull request can edit it): each address must be
    what its source can produce (a DNS answer is one address; an AWS range no wider
    than AWS publishes), public unless ``allow`` covers it, and never an address the
    documents retire for that host. The first that is not is a :class:`LockError`.
    """
    retired = retired_by_host(catalog)
    feeds = feed_hosts(catalog)
    checked: set[str] = set()
    out: dict[str, ServiceAddresses] = {}
    for product_name, product in catalog.products.items():
        for service_name, service in product.services.items():
            for address in service.addresses:
                net = ipaddress.ip_network(address)
                problem = address_problem(net, "documented", allow)
                if problem:
                    where = f"{catalog.paths.get(product_name, product_name)}: services.{service_name}.addresses"
                    raise CatalogError(where, problem)
            found: set[str] = set()
            for host in service.hostnames:
                record = lock.hosts.get(host)
                if record is None:
                    continue
                if host not in checked:
                    _check_record(lock, host, record, "aws-ip-ranges" if host in feeds else "dns", retired, allow)
                    checked.add(host)
                found.update(record.addresses)
            v4, v6 = canonical_networks([*service.addresses, *found])
            out[f"{product_name}/{service_name}"] = ServiceAddresses(v4, v6, "lock" if found else "documented")
    return IpSets(out)


def _check_record(
    lock: Lock,
    host: str,
    record: HostRecord,
    source: AddressSource,
    retired: dict[str, set[str]],
    allow: Sequence[Network],
) -> None:
    label = f"hosts.{host}"
    if record.source != source:
        raise LockError(
            lock.where(f'"{host}"', '"source"'),
            f"{label}.source: {record.source!r}, but the catalogue takes this host's addresses from {source}",
        )
    gone = {str(ipaddress.ip_network(a)) for a in retired.get(host, ())}
    for index, text in enumerate(record.addresses):
        net = ipaddress.ip_network(text)
        problem = address_problem(net, source, allow)
        if problem is None and text in gone:
            problem = f"{text} is an address the vendor's document retires for this host; it may not come back"
        if problem:
            raise LockError(lock.where(f'"{host}"', f'"{text}"'), f"{label}.addresses[{index}]: {problem}")
