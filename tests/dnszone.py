"""A real DNS server on loopback for tests and benchmarks (dnslib, UDP and TCP on one port).

Zone entries say what each name answers, including faults:

    {"a": ["203.0.113.9"], "aaaa": [...], "cname": "target.example", "ttl": 300,
     "rcode": "NXDOMAIN" | "SERVFAIL", "silent": True, "truncate_udp": True}

Names not in the zone answer NXDOMAIN. ``latency`` delays every answer.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import DNSError, DNSHandler, DNSLogger, DNSServer

Zone = dict[str, dict[str, Any]]


class ZoneResolver:
    def __init__(self, zone: Zone, latency: float = 0.0) -> None:
        self.zone = {k.rstrip(".").lower(): v for k, v in zone.items()}
        self.latency = latency
        self.queries: Counter[tuple[str, str, str]] = Counter()  # (name, type, protocol)
        self._lock = threading.Lock()

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self._lock:
            self.queries[(name, qtype, handler.protocol)] += 1
        if self.latency:
            time.sleep(self.latency)
        reply = request.reply()
        entry = self.zone.get(name)
        if entry is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if entry.get("silent"):
            raise DNSError("silent by design")  # the handler sends nothing: the client times out
        if entry.get("rcode"):
            reply.header.rcode = getattr(RCODE, entry["rcode"])
            return reply
        if entry.get("truncate_udp") and handler.protocol == "udp":
            reply.header.tc = 1
            return reply
        seen: set[str] = set()
        current = name
        while current in self.zone and current not in seen:
            seen.add(current)
            record = self.zone[current]
            ttl = int(record.get("ttl", 300))
            if record.get("cname"):
                target = record["cname"].rstrip(".").lower()
                reply.add_answer(RR(current, QTYPE.CNAME, rdata=CNAME(target), ttl=ttl))
                if record.get("stop_chain"):
                    break
                current = target
                continue
            for address in record.get("a", []) if qtype == "A" else record.get("aaaa", []) if qtype == "AAAA" else []:
                rtype, rdata = (QTYPE.A, A(address)) if qtype == "A" else (QTYPE.AAAA, AAAA(address))
                reply.add_answer(RR(current, rtype, rdata=rdata, ttl=ttl))
            break
        return reply


class ClassicHandler(DNSHandler):
    """Answers over UDP are cut at 512 bytes with TC set, as RFC 1035 servers do without EDNS."""

    udplen = 512


@contextmanager
def dns_server(zone: Zone, latency: float = 0.0) -> Iterator[tuple[str, ZoneResolver]]:
    """Start UDP and TCP servers on one loopback port; yield ("127.0.0.1:PORT", resolver)."""
    resolver = ZoneResolver(zone, latency)
    quiet = DNSLogger(log="-request,-reply,-truncated,-error", prefix=False)
    for _ in range(20):
        udp = DNSServer(resolver, address="127.0.0.1", port=0, logger=quiet, handler=ClassicHandler)
        port = udp.server.server_address[1]
        try:
            tcp = DNSServer(resolver, address="127.0.0.1", port=port, tcp=True, logger=quiet, handler=ClassicHandler)
        except OSError:
            udp.server.server_close()
            continue
        break
    else:
        raise RuntimeError("no free loopback port for UDP and TCP")
    udp.start_thread()
    tcp.start_thread()
    try:
        yield f"127.0.0.1:{port}", resolver
    finally:
        udp.stop()
        tcp.stop()
        udp.server.server_close()
        tcp.server.server_close()
