"""Vendor services as IP sets: the addresses a stack may open for each service.

A stack chooses where addresses come from: ``documented`` (only the addresses
the vendor document prints) or ``lock`` (the reviewed lock file written by
``seawall resolve``). Programs never query DNS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from seawall.catalog.load import Catalog


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


def network_key(text: str) -> tuple[int, int, int]:
    """Sort key for an address or CIDR: IPv4 before IPv6, then numerically, then by prefix length."""
    net = ipaddress.ip_network(text, strict=False)
    return (net.version, int(net.network_address), net.prefixlen)


def sort_networks(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(items, key=network_key))


def canonical_networks(addresses: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Addresses or CIDRs → (IPv4 networks, IPv6 networks), canonical and sorted."""
    nets = sort_networks({str(ipaddress.ip_network(a, strict=False)) for a in addresses})
    return tuple(n for n in nets if ":" not in n), tuple(n for n in nets if ":" in n)


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
