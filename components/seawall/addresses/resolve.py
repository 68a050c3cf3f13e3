"""``seawall resolve`` end to end: read the catalogue and lock, resolve, apply the fail-closed policy, write.

:func:`resolve_lock` computes the next lock and what changed (:func:`resolve_locks` the
next of several locks from one round of DNS); :func:`write_lock` writes it atomically
(:func:`write_locks` several, all or none). Nothing here prints: ``seawall.report.resolve``
shows the outcome and ``seawall.cli.resolve`` decides the exit code.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from seawall.addresses.dns import DEFAULT_CONCURRENCY, Nameserver, ResolveOptions, resolve_all
from seawall.addresses.ipsets import ipsets_from_lock
from seawall.addresses.lock import Lock, default_lock_path, read_lock
from seawall.addresses.merge import (
    Change,
    Policy,
    Problem,
    build_lock,
    diff_locks,
    feed_services,
    load_aws_ranges,
    service_hosts,
)
from seawall.catalog.load import load_catalog
from seawall.errors import UserError


@dataclass(frozen=True)
class ResolveRequest:
    catalog_dir: Path | None = None
    lock: Path | None = None
    products: tuple[str, ...] = ()
    nameservers: tuple[str, ...] = ()
    timeout: float = 2.0
    retries: int = 2
    concurrency: int = DEFAULT_CONCURRENCY
    ip_ranges: Path | None = None
    ip_ranges_services: tuple[str, ...] = ()
    ip_ranges_regions: tuple[str, ...] = ()
    check: bool = False
    max_change: float = 50.0
    force: bool = False
    allow_partial: bool = False
    allow_private: tuple[str, ...] = ()
    json_output: bool = False
    now: str | None = None
    stacks_dir: Path | None = None  # stacks planned against the new lock before it is written


@dataclass(frozen=True)
class ResolveOutcome:
    """The next lock, what changed against the committed one, and every problem that kept an old record."""

    lock_path: Path
    lock: Lock
    text: str
    by_host: list[Change]
    by_service: list[Change]
    problems: list[Problem]
    stale: bool  # the committed file differs from the next lock
    hostnames: int  # how many hostnames were asked of DNS
    answered: int = 0  # how many of them DNS answered with addresses
    unanswered: tuple[tuple[str, str, str], ...] = ()  # (hostname, status, detail) of the others, sorted

    @property
    def failures(self) -> list[Problem]:
        """Problems that block writing (a host in AWS space without --ip-ranges only warns)."""
        return [p for p in self.problems if p.kind != "no-feed"]

    @property
    def nothing_resolved(self) -> bool:
        """DNS gave no address for any name: no resolver reachable, most likely; never a lock to write."""
        return self.hostnames > 0 and self.answered == 0

    def writes(self, request: ResolveRequest) -> bool:
        return (
            not request.check
            and self.stale
            and not self.nothing_resolved  # even --allow-partial: a lock of nothing but kept records says nothing
            and (not self.failures or request.allow_partial)
        )


def resolve_lock(
    request: ResolveRequest, progress: Callable[[int], Callable[[str], None]] | None = None
) -> ResolveOutcome:
    """Resolve every catalogue hostname and merge the answers into the next lock (nothing written).

    The lock is ``request.lock``, else ``ipsets.lock.json`` in the project. ``progress(total)`` is
    called once with the number of names and returns a callback per answered name.
    Raises UserError for bad input.
    """
    return resolve_locks(request, [request.lock or default_lock_path(request.stacks_dir)], progress)[0]


def resolve_locks(
    request: ResolveRequest,
    lock_paths: Sequence[Path],
    progress: Callable[[int], Callable[[str], None]] | None = None,
) -> list[ResolveOutcome]:
    """Resolve every catalogue hostname once and merge the answers into the next lock at each of ``lock_paths``.

    One set of answers for every lock (the same names, asked once, at one time), each merged against
    its own committed records: what it keeps, what ``--max-change`` refuses and the diff are its own.
    Every committed lock is read and validated before DNS is asked. One outcome per path, in order.
    """
    catalog = load_catalog(request.catalog_dir)
    for name in request.products:
        catalog.product(name)
    previous = [read_lock(path) for path in lock_paths]
    policy = _policy(request)
    for committed in previous:
        # The committed lock is input too: a tampered record must not survive as "kept" (fail closed).
        ipsets_from_lock(catalog, committed, policy.allow)
    options = ResolveOptions(
        nameservers=_nameservers(request.nameservers),
        timeout=_positive("--timeout", request.timeout),
        retries=max(0, request.retries),
        concurrency=int(_positive("--concurrency", request.concurrency)),
    )
    feeds = feed_services(catalog)
    users = service_hosts(catalog, request.products or None)
    names = sorted(h for h, services in users.items() if not any(s in feeds for s in services))
    ranges = (
        load_aws_ranges(request.ip_ranges, request.ip_ranges_services, request.ip_ranges_regions)
        if request.ip_ranges
        else None
    )
    if progress is not None and names:
        options.progress = progress(len(names))
    resolutions = asyncio.run(resolve_all(names, options))
    now = request.now or datetime.now(UTC).isoformat(timespec="seconds")
    answered = sum(1 for r in resolutions.values() if r.status == "ok" and r.addresses)
    unanswered = tuple(
        (r.hostname, r.status, r.detail)
        for _, r in sorted(resolutions.items())
        if not (r.status == "ok" and r.addresses)
    )
    outcomes = []
    for lock_path, committed in zip(lock_paths, previous, strict=True):
        lock, problems = build_lock(catalog, committed, resolutions, now, policy, ranges, request.products or None)
        by_host, by_service = diff_locks(committed, lock)
        text = lock.to_text()
        stale = not lock_path.is_file() or lock_path.read_text(encoding="utf-8") != text
        outcomes.append(
            ResolveOutcome(
                lock_path, lock, text, by_host, by_service, problems, stale, len(names), answered, unanswered
            )
        )
    return outcomes


def write_lock(outcome: ResolveOutcome) -> None:
    """Write the next lock; never half-written (a temporary file is renamed over the old one)."""
    write_locks([outcome])


def write_locks(outcomes: Sequence[ResolveOutcome]) -> None:
    """Write each outcome's lock, all or none: every temporary file is written before any is renamed.

    A lock that cannot be written (a directory in its place, no permission) is a UserError naming
    it, and no lock is changed.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for outcome in outcomes:
            path = outcome.lock_path
            temporary = path.with_suffix(".tmp")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary.write_text(outcome.text, encoding="utf-8")
            except OSError as exc:
                raise UserError(
                    str(path),
                    f"cannot write the IP-set lock: {exc.strerror or exc} ({exc.filename}); valid: a path "
                    "you can write; no lock was written",
                ) from None
            staged.append((temporary, path))
    except UserError:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, path in staged:
        temporary.replace(path)


def _policy(request: ResolveRequest) -> Policy:
    if not 0 <= request.max_change <= 100:
        raise UserError("--max-change", f"{request.max_change} is not a percentage; valid: 0–100")
    allow = []
    for text in request.allow_private:
        try:
            allow.append(ipaddress.ip_network(text, strict=True))
        except ValueError:
            raise UserError("--allow-private", f"{text!r} is not a canonical CIDR such as 10.0.0.0/8") from None
    return Policy(max_change=request.max_change / 100, force=request.force, allow=tuple(allow))


def _positive(option: str, value: float) -> float:
    if value <= 0:
        raise UserError(option, f"{value} must be greater than 0")
    return value


def _nameservers(given: tuple[str, ...]) -> tuple[Nameserver, ...]:
    if given:
        out = []
        for text in given:
            try:
                out.append(Nameserver.parse(text))
            except ValueError:
                raise UserError(
                    "--nameserver",
                    f"{text!r} is not valid; valid: an IP address with an optional :PORT, e.g. 192.0.2.53:5353",
                ) from None
        return tuple(out)
    import dns.resolver

    try:
        system = dns.resolver.Resolver()
    except dns.resolver.NoResolverConfiguration:
        raise UserError("--nameserver", "no system resolver is configured; pass --nameserver HOST[:PORT]") from None
    return tuple(Nameserver(str(ns), system.port) for ns in system.nameservers)


__all__ = ["ResolveOutcome", "ResolveRequest", "resolve_lock", "resolve_locks", "write_lock", "write_locks"]
