"""Resolving vendor hostnames: concurrent, bounded, with timeouts, retries and CNAME following.

Pure asyncio over dnspython's wire-level queries: UDP first, TCP when the answer
is truncated. CNAMEs are followed (inside one answer, then by new queries) up to
:data:`MAX_CHAIN`, with loops detected. Nothing here decides what is acceptable:
:mod:`seawall.addresses.merge` does (fail closed).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from seawall.netaddr import sort_networks

MAX_CHAIN = 8
# Queries in flight at once (``seawall resolve --concurrency``). Every name asks A and AAAA, so the
# shipped catalogue's ~513 names are ~1,026 queries: at 100 in flight, a resolver adding 50 ms per
# answer needs at least ceil(1026 / 100) x 50 ms = 0.55 s (at 50 it was 1.05 s; bench/resolve).
DEFAULT_CONCURRENCY = 100
Status = Literal["ok", "nxdomain", "nodata", "servfail", "timeout", "cname-loop", "error"]


@dataclass(frozen=True)
class Nameserver:
    address: str
    port: int = 53

    @classmethod
    def parse(cls, text: str) -> Nameserver:
        """``192.0.2.53``, ``192.0.2.53:5353``, ``[2001:db8::53]:5353`` or ``2001:db8::53``."""
        host, port = text, 53
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest.startswith(":"):
                port = int(rest[1:])
        elif text.count(":") == 1:
            host, port_text = text.split(":")
            port = int(port_text)
        ipaddress.ip_address(host)  # raises ValueError for a name: nameservers are addresses
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} out of range")
        return cls(host, port)

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


@dataclass(frozen=True)
class Resolution:
    """What DNS said about one hostname (A and AAAA)."""

    hostname: str
    status: Status
    addresses: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()
    ttl: int | None = None
    resolver: str = ""
    detail: str = ""
    used_tcp: bool = False


@dataclass
class ResolveOptions:
    nameservers: Sequence[Nameserver]
    timeout: float = 2.0
    retries: int = 2
    concurrency: int = DEFAULT_CONCURRENCY
    progress: Callable[[str], None] | None = field(default=None, repr=False)


class _Failure(Exception):
    def __init__(self, status: Status, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


async def resolve_all(hostnames: Sequence[str], options: ResolveOptions) -> dict[str, Resolution]:
    """Resolve every hostname, with at most ``options.concurrency`` queries in flight at once.

    The bound is on queries, not names (``--concurrency``: "queries in flight"): a name's A and
    AAAA questions are asked together, so a slow AAAA never holds a slot idle while A waits.
    """
    gate = asyncio.Semaphore(max(1, options.concurrency))

    async def one(name: str) -> Resolution:
        result = await resolve_host(name, options, gate)
        if options.progress is not None:
            options.progress(name)
        return result

    results = await asyncio.gather(*(one(n) for n in hostnames))
    return {r.hostname: r for r in results}


_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)


async def resolve_host(hostname: str, options: ResolveOptions, gate: asyncio.Semaphore | None = None) -> Resolution:
    """A and AAAA for one name, asked concurrently; ``gate`` bounds the queries in flight (shared across names)."""
    gate = gate or asyncio.Semaphore(max(1, options.concurrency))
    answers = await asyncio.gather(*(_follow(hostname, t, options, gate) for t in _TYPES), return_exceptions=True)
    addresses: set[str] = set()
    chains: list[tuple[str, ...]] = []
    ttls: list[int] = []
    used_tcp = False
    resolver = ""
    statuses: list[_Failure] = []
    for answer in answers:  # in A, AAAA order, as when they were asked one after the other
        if isinstance(answer, _Failure):
            statuses.append(answer)
            continue
        if isinstance(answer, BaseException):
            raise answer
        found, chain, ttl, resolver, tcp = answer
        addresses.update(found)
        chains.append(chain)
        if ttl is not None:
            ttls.append(ttl)
        used_tcp = used_tcp or tcp
    if addresses:
        chain = max(chains, key=len) if chains else ()
        return Resolution(
            hostname, "ok", sort_networks(addresses), chain, min(ttls) if ttls else None, resolver, "", used_tcp
        )
    if statuses:
        worst = statuses[0] if len(statuses) == 1 else min(statuses, key=lambda f: _SEVERITY[f.status])
        return Resolution(hostname, worst.status, detail=worst.detail, resolver=resolver)
    return Resolution(
        hostname,
        "nodata",
        cname_chain=max(chains, key=len) if chains else (),
        resolver=resolver,
        detail="no A or AAAA records",
    )


_SEVERITY: dict[str, int] = {
    "cname-loop": 0,
    "nxdomain": 1,
    "servfail": 2,
    "timeout": 3,
    "error": 4,
    "nodata": 5,
    "ok": 6,
}


async def _follow(
    hostname: str, rdtype: dns.rdatatype.RdataType, options: ResolveOptions, gate: asyncio.Semaphore
) -> tuple[set[str], tuple[str, ...], int | None, str, bool]:
    """Query ``hostname``, following CNAMEs; raise _Failure for NXDOMAIN/SERVFAIL/timeouts/loops."""
    name = dns.name.from_text(hostname)
    seen = {name}
    chain: list[str] = []
    ttl: int | None = None
    used_tcp = False
    server = ""
    for _ in range(MAX_CHAIN + 1):
        async with gate:  # held per query, so a CNAME chase queues behind other names fairly
            response, server, tcp = await _query(name, rdtype, options)
        used_tcp = used_tcp or tcp
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            raise _Failure("nxdomain", f"{name.to_text(True)} does not exist")
        if rcode != dns.rcode.NOERROR:
            raise _Failure("servfail", f"{dns.rcode.to_text(rcode)} from {server}")
        current = name
        # Walk the CNAMEs this answer already contains.
        while True:
            cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                break
            target = cname[0].target
            ttl = cname.ttl if ttl is None else min(ttl, cname.ttl)
            chain.append(target.to_text(True))
            if target in seen or len(chain) > MAX_CHAIN:
                raise _Failure("cname-loop", f"CNAME loop or chain longer than {MAX_CHAIN} at {target.to_text(True)}")
            seen.add(target)
            current = target
        records = response.get_rrset(response.answer, current, dns.rdataclass.IN, rdtype)
        if records is not None:
            ttl = records.ttl if ttl is None else min(ttl, records.ttl)
            return {r.address for r in records}, tuple(chain), ttl, server, used_tcp
        if current == name:
            return set(), tuple(chain), ttl, server, used_tcp  # NOERROR, no data of this type
        name = current  # the answer stopped at a CNAME: ask for its target
    raise _Failure("cname-loop", f"CNAME chain longer than {MAX_CHAIN}")


async def _query(
    name: dns.name.Name, rdtype: dns.rdatatype.RdataType, options: ResolveOptions
) -> tuple[dns.message.Message, str, bool]:
    """One question, every nameserver in turn, ``retries`` extra tries on timeouts and SERVFAIL."""
    last: _Failure = _Failure("error", "no nameserver configured")
    for _attempt in range(options.retries + 1):
        for server in options.nameservers:
            query = dns.message.make_query(name, rdtype)
            try:
                response, tcp = await dns.asyncquery.udp_with_fallback(
                    query, server.address, timeout=options.timeout, port=server.port
                )
            except dns.exception.Timeout:
                last = _Failure("timeout", f"no answer from {server} within {options.timeout:g}s")
                continue
            except (OSError, dns.exception.DNSException) as exc:
                last = _Failure("error", f"{server}: {exc.__class__.__name__}: {exc}")
                continue
            if response.rcode() == dns.rcode.SERVFAIL:
                last = _Failure("servfail", f"SERVFAIL from {server}")
                continue
            return response, str(server), tcp
    raise last
