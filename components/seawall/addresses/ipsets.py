"""Vendor services as IP sets: the addresses a stack may open for each service.

A stack chooses where addresses come from: ``documented`` (only the addresses
the vendor document prints) or ``lock`` (the reviewed lock file written by
``seawall resolve``). Programs never query DNS.
"""

from __future__ import annotations

from dataclasses import dataclass

from seawall.addresses.lock import Lock
from seawall.catalog.load import Catalog
from seawall.netaddr import canonical_networks


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
    def documented(cls, catalog: Catalog) -> IpSets:
        """Only the addresses the documents print (retired ones never)."""
        out: dict[str, ServiceAddresses] = {}
        for name, product in catalog.products.items():
            for service_name, service in product.services.items():
                v4, v6 = canonical_networks(service.addresses)
                out[f"{name}/{service_name}"] = ServiceAddresses(v4, v6, "documented")
        return cls(out)


def ipsets_from_lock(catalog: Catalog, lock: Lock) -> IpSets:
    """Service → documented addresses plus the lock's addresses for its hostnames."""
    out: dict[str, ServiceAddresses] = {}
    for product_name, product in catalog.products.items():
        for service_name, service in product.services.items():
            key = f"{product_name}/{service_name}"
            found = {a for h in service.hostnames if (rec := lock.hosts.get(h)) for a in rec.addresses}
            v4, v6 = canonical_networks([*service.addresses, *found])
            out[key] = ServiceAddresses(v4, v6, "lock" if found else "documented")
    return IpSets(out)
