"""The fail-closed merge: a new IP-set lock from DNS answers, an AWS ``ip-ranges.json`` and the documents.

``seawall resolve`` builds a new lock here; stacks read only the lock. Fail closed:

- a failed, empty or timed-out answer keeps the last good addresses (status ``kept``);
- answers outside public address space (private, loopback, link-local, multicast,
  reserved, documentation) are refused unless allow-listed, and the last good kept;
- a documented retired address that comes back is refused and flagged;
- a service whose addresses change by more than ``max_change`` is refused unless forced.

A host's record changes only when what DNS says about it changes (addresses,
CNAME chain, status), so the TTL and time of an unchanged answer do not churn the
file and a pull request shows exactly which addresses moved.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawall.addresses.ipsets import retired_by_host
from seawall.addresses.lock import MAX_HOST_ADDRESSES, HostRecord, Lock, ServiceRecord
from seawall.addresses.validate import WIDEST_AWS_PREFIX, address_problem
from seawall.aws.limits import MAX_PREFIX_LIST_ENTRIES
from seawall.catalog.load import Catalog
from seawall.errors import UserError
from seawall.jsonsource import read_json
from seawall.netaddr import canonical_networks, sort_networks, zone_id_problem

if TYPE_CHECKING:  # the DNS client is needed only by seawall resolve, never by a plan
    from seawall.addresses.dns import Resolution


# --- building a new lock -------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    subject: str  # a hostname or product/service
    kind: str  # failed | refused | retired | max-change | no-feed | feed-too-large
    text: str


@dataclass(frozen=True)
class Policy:
    max_change: float = 0.5
    force: bool = False
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True)
class AwsRanges:
    """Prefixes from an ``ip-ranges.json`` after filtering by service and region."""

    prefixes: tuple[str, ...]
    description: str


def service_hosts(catalog: Catalog, products: Sequence[str] | None = None) -> dict[str, list[str]]:
    """hostname → the product/service names that use it (hosts of services named by DNS)."""
    out: dict[str, list[str]] = {}
    for product_name in sorted(catalog.products):
        if products and product_name not in products:
            continue
        for service_name, service in catalog.products[product_name].services.items():
            for host in service.hostnames:
                out.setdefault(host, []).append(f"{product_name}/{service_name}")
    return out


def feed_services(catalog: Catalog) -> set[str]:
    return {
        f"{p}/{s}" for p, product in catalog.products.items() for s, svc in product.services.items() if svc.address_feed
    }


MAX_IP_RANGES_BYTES = 32 * 2**20
IP_RANGES_VALID = "AWS's ip-ranges.json ({prefixes: [{ip_prefix, region, service}], ipv6_prefixes: [...]})"


def load_aws_ranges(path: Path, services: Sequence[str], regions: Sequence[str]) -> AwsRanges:
    """Filter ``ip-ranges.json`` by service and region, then collapse adjacent prefixes.

    The file is read boundedly and strictly (:mod:`seawall.jsonsource`) and every entry's
    shape is checked: a download is input like any other.
    """
    shown = str(path)
    data, _ = read_json(
        path, shown, MAX_IP_RANGES_BYTES, UserError, IP_RANGES_VALID, "AWS publishes a file of a few MiB"
    )
    if not isinstance(data, dict) or not isinstance(data.get("prefixes"), list):
        raise UserError(shown, f"not an AWS ip-ranges.json file (no 'prefixes' list); valid: {IP_RANGES_VALID}")
    v4 = _feed_prefixes(data, "prefixes", "ip_prefix", services, regions, shown)
    v6 = _feed_prefixes(data, "ipv6_prefixes", "ipv6_prefix", services, regions, shown)
    try:
        nets4 = list(ipaddress.collapse_addresses(ipaddress.IPv4Network(x) for x in v4))
        nets6 = list(ipaddress.collapse_addresses(ipaddress.IPv6Network(x) for x in v6))
    except ValueError as exc:
        raise UserError(shown, f"not an AWS ip-ranges.json file ({exc}); valid: {IP_RANGES_VALID}") from None
    # The feed is input too: a prefix wider than AWS publishes, or outside public space, did not come from AWS.
    for text in (*v4, *v6):
        problem = address_problem(ipaddress.ip_network(text), "aws-ip-ranges")
        if problem:
            raise UserError(str(path), f"refused: {problem}")
    # Collapsing adjacent prefixes is exact, but may join two into one wider than AWS publishes, which
    # the lock reader (rightly) refuses: keep collapsed networks at AWS's widest prefix or narrower.
    nets4 = [n for net in nets4 for n in _no_wider(net, WIDEST_AWS_PREFIX[4])]
    nets6 = [n for net in nets6 for n in _no_wider(net, WIDEST_AWS_PREFIX[6])]
    prefixes = tuple(str(n) for n in (*nets4, *nets6))
    what = f"service {'/'.join(services) or 'any'}, region {'/'.join(regions) or 'any'}"
    return AwsRanges(prefixes, what)


def _feed_prefixes(
    data: dict[str, Any], section: str, key: str, services: Sequence[str], regions: Sequence[str], shown: str
) -> list[str]:
    entries = data.get(section, [])
    if not isinstance(entries, list):
        raise UserError(shown, f"{section}: {type(entries).__name__}, not a list; valid: {IP_RANGES_VALID}")
    out: list[str] = []
    for index, entry in enumerate(entries):
        ok = isinstance(entry, dict) and isinstance(entry.get(key), str)
        ok = ok and all(isinstance(entry.get(k, ""), str) for k in ("region", "service"))
        if not ok:
            raise UserError(
                shown, f"{section}[{index}]: not an entry with text {key}, region and service; valid: {IP_RANGES_VALID}"
            )
        if _keep(entry, services, regions):
            problem = zone_id_problem(entry[key])
            if problem is not None:
                raise UserError(shown, f"{section}[{index}]: {problem}")
            out.append(entry[key])
    return out


def _no_wider(net: Any, widest: int) -> list[Any]:
    return [net] if net.prefixlen >= widest else list(net.subnets(new_prefix=widest))


def _keep(prefix: dict[str, Any], services: Sequence[str], regions: Sequence[str]) -> bool:
    return (not services or prefix.get("service") in services) and (not regions or prefix.get("region") in regions)


def build_lock(
    catalog: Catalog,
    previous: Lock,
    resolutions: dict[str, Resolution],
    now: str,
    policy: Policy,
    aws_ranges: AwsRanges | None = None,
    products: Sequence[str] | None = None,
) -> tuple[Lock, list[Problem]]:
    """The next lock, and every problem that kept an old record in place."""
    problems: list[Problem] = []
    users = service_hosts(catalog, products)  # the hosts this run resolves
    every_user = service_hosts(catalog)  # a record lists every service naming its host, whichever product asked
    feeds = feed_services(catalog)
    retired = retired_by_host(catalog)  # a retirement belongs to the hostname, across products
    hosts: dict[str, HostRecord] = {h: r for h, r in previous.hosts.items() if not products or h not in users}
    for host in sorted(users):
        services = every_user[host]
        prev = previous.hosts.get(host)
        if any(s in feeds for s in services):
            record, problem = _from_feed(host, services, prev, aws_ranges, now)
        else:
            record, problem = _from_dns(
                host, services, prev, resolutions.get(host), now, policy, retired.get(host, set())
            )
        hosts[host] = record
        if problem:
            problems.append(problem)
    hosts, change_problems = _limit_change(previous, hosts, users, policy)
    problems += change_problems
    services_out: dict[str, ServiceRecord] = {}
    for p, product in sorted(catalog.products.items()):
        for s, svc in sorted(product.services.items()):
            v4, v6 = canonical_networks(svc.addresses)
            services_out[f"{p}/{s}"] = ServiceRecord(svc.hostnames, (*v4, *v6), sort_networks(svc.retired_addresses))
    return Lock(dict(sorted(hosts.items())), services_out), problems


def _kept(host: str, services: Sequence[str], prev: HostRecord | None, source: str, note: str) -> HostRecord:
    if prev is not None and prev.addresses:
        return replace(prev, status="kept", note=note, services=tuple(services))
    return HostRecord((), "unresolved", source, tuple(services), note=note)


def _from_dns(
    host: str,
    services: Sequence[str],
    prev: HostRecord | None,
    answer: Resolution | None,
    now: str,
    policy: Policy,
    retired: set[str],
) -> tuple[HostRecord, Problem | None]:
    if answer is None or answer.status != "ok" or not answer.addresses:
        why = f"{answer.status}: {answer.detail}" if answer else "not resolved"
        return _kept(host, services, prev, "dns", why), Problem(host, "failed", why)
    if len(answer.addresses) > MAX_HOST_ADDRESSES:  # the lock reader refuses a record this large
        why = f"{len(answer.addresses)} addresses, more than a host may hold ({MAX_HOST_ADDRESSES})"
        return _kept(host, services, prev, "dns", why), Problem(host, "refused", why)
    refused = [a for a in answer.addresses if not _acceptable(a, policy)]
    if refused:
        why = f"refused non-public answers {', '.join(refused)}"
        return _kept(host, services, prev, "dns", why), Problem(host, "refused", why)
    back = sorted(a for a in answer.addresses if a in retired)
    if back:
        why = f"documented retired address(es) {', '.join(back)} came back"
        return _kept(host, services, prev, "dns", why), Problem(host, "retired", why)
    addresses = tuple(f"{a}/{32 if ':' not in a else 128}" for a in answer.addresses)
    fresh = HostRecord(addresses, "ok", "dns", tuple(services), answer.cname_chain, answer.ttl, answer.resolver, now)
    if (
        prev is not None
        and prev.status == "ok"
        and (prev.addresses, prev.cname_chain) == (fresh.addresses, fresh.cname_chain)
    ):
        return replace(prev, services=tuple(services)), None  # unchanged: keep the record byte for byte
    return fresh, None


def _from_feed(
    host: str, services: Sequence[str], prev: HostRecord | None, ranges: AwsRanges | None, now: str
) -> tuple[HostRecord, Problem | None]:
    if ranges is None:
        why = "lives in AWS address space: pass --ip-ranges ip-ranges.json (with --ip-ranges-region)"
        return _kept(host, services, prev, "aws-ip-ranges", why), Problem(host, "no-feed", why)
    if not ranges.prefixes:
        why = f"no AWS prefixes match {ranges.description}"
        return _kept(host, services, prev, "aws-ip-ranges", why), Problem(host, "failed", why)
    if len(ranges.prefixes) > MAX_PREFIX_LIST_ENTRIES:
        why = f"{len(ranges.prefixes)} AWS prefixes for {ranges.description} exceed a prefix list's {MAX_PREFIX_LIST_ENTRIES} entries; narrow --ip-ranges-region"
        return _kept(host, services, prev, "aws-ip-ranges", why), Problem(host, "feed-too-large", why)
    fresh = HostRecord(
        ranges.prefixes, "ok", "aws-ip-ranges", tuple(services), resolver=ranges.description, resolved_at=now
    )
    if prev is not None and prev.status == "ok" and prev.addresses == fresh.addresses:
        return replace(prev, services=tuple(services)), None
    return fresh, None


def _acceptable(address: str, policy: Policy) -> bool:
    """The same rule the lock reader applies: public address space unless allowed by name."""
    return address_problem(ipaddress.ip_network(address), "dns", policy.allow) is None


def _limit_change(
    previous: Lock, hosts: dict[str, HostRecord], users: dict[str, list[str]], policy: Policy
) -> tuple[dict[str, HostRecord], list[Problem]]:
    """Refuse a service whose address set moves by more than policy.max_change (unless forced)."""
    if policy.force:
        return hosts, []
    by_service: dict[str, list[str]] = {}
    for host, services in users.items():
        for service in services:
            by_service.setdefault(service, []).append(host)
    problems = []
    result = dict(hosts)
    for service, names in sorted(by_service.items()):
        old = {a for h in names if (r := previous.hosts.get(h)) for a in r.addresses}
        new = {a for h in names for a in hosts[h].addresses}
        if not old or old == new:
            continue
        moved = len(old ^ new) / len(old | new)  # 100% when every address is replaced
        if moved > policy.max_change:
            for h in names:
                prev = previous.hosts.get(h)
                if prev is not None:
                    result[h] = replace(prev, services=hosts[h].services)
            problems.append(
                Problem(
                    service,
                    "max-change",
                    f"{moved:.0%} of its addresses would change (limit {policy.max_change:.0%}); review and rerun with --force",
                )
            )
    return result, problems


# --- what changed ------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    subject: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


def diff_locks(old: Lock, new: Lock) -> tuple[list[Change], list[Change]]:
    """Added/removed addresses per hostname and per service (documented addresses included)."""
    by_host = []
    for host in sorted(old.hosts.keys() | new.hosts.keys()):
        a = set(old.hosts[host].addresses) if host in old.hosts else set()
        b = set(new.hosts[host].addresses) if host in new.hosts else set()
        if a != b:
            by_host.append(Change(host, sort_networks(b - a), sort_networks(a - b)))
    by_service = []
    for service in sorted(old.services.keys() | new.services.keys()):
        a = set(_all(old, service))
        b = set(_all(new, service))
        if a != b:
            by_service.append(Change(service, sort_networks(b - a), sort_networks(a - b)))
    return by_host, by_service


def _all(lock: Lock, service: str) -> Iterable[str]:
    record = lock.services.get(service)
    documented = record.documented if record else ()
    return (*documented, *lock.service_addresses(service))
