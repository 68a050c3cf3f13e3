"""Hostile files, each read by the real ``seawall`` command in a child process under an address-space limit.

Every row of :data:`HOSTILE` is a file a pull request or a download could hand seawall (the
IP-set lock, a stack's ``*.priorities.json`` pins, ``resolve``'s ``ip-ranges.json``, a stack
file) and the bound it must meet: the exit code (2 and one line naming the file and line and
what would be valid, or 0 for a large file that is valid), the seconds the command may take
and its peak memory, both measured in the child (``boundedrun``), whose address space is
limited (``RLIMIT_AS``) to what the bound allows, so a command that wanted more would end in
a ``MemoryError`` rather than pass slowly. The bounds are generous (a loaded machine is slow);
what they rule out is the cost the issue found: minutes and gigabytes.

Memory: at most :data:`MEMORY_PER_BYTE` times the file's size above what the same command
costs on the shipped files; time: :data:`SECONDS_PER_MIB` per MiB above a fixed allowance.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from boundedrun import Outcome, run_seawall
from conftest import REPO
from seawall.addresses.lock import MAX_HOST_ADDRESSES, MAX_LOCK_BYTES
from seawall.cli import app
from seawall.jsonsource import MAX_DEPTH
from test_lock_trust import KAV, lock_text, realistic_lock
from typer.testing import CliRunner

STACKS = REPO / "stacks"
MiB = 2**20
MEMORY_PER_BYTE = 8  # the bound: at most 8 times the file's size in memory
SECONDS_PER_MIB = 0.5  # "a few seconds per 10 MiB", with room for a loaded machine
FIXED_SECONDS = 10.0  # interpreter, imports and the catalogue, on a slow shared machine
ADDRESS_SPACE = 640 * MiB  # what the command maps before reading anything (about 450 MiB measured)


@dataclass(frozen=True)
class Hostile:
    """A hostile file, the command that reads it, and what the command must answer."""

    id: str
    make: Callable[[Path], tuple[Path, list[str]]]  # tmp dir → (the hostile file, the command's arguments)
    expected: str  # in the one error line (exit 2); "" for a file that is read (exit 0)
    line: int | Callable[[str], int] | None = None  # the line the error names (or how to find it in the file)


# --- the files ---------------------------------------------------------------------------------------------------


def _lock(tmp: Path, text: str) -> tuple[Path, list[str]]:
    path = tmp / "ipsets.lock.json"
    path.write_text(text, encoding="utf-8")
    return path, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(STACKS), "--lock", str(path), "--format", "json"]


def _realistic(edit: Callable[[str], str]) -> Callable[[Path], tuple[Path, list[str]]]:
    return lambda tmp: _lock(tmp, edit(lock_text(realistic_lock())))


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _version_twice(text: str) -> str:
    return text.replace('  "version": 1\n', '  "version": 1,\n  "version": 1\n', 1)


def _host_twice(text: str) -> str:
    """The kav-update host again, at the end of hosts, with an address of its own: the last would win."""
    record = f'    "{KAV}": {{\n      "addresses": ["45.60.99.99/32"], "source": "dns", "status": "ok"\n    }}\n'
    head, sep, rest = text.partition('\n  },\n  "services"')
    return head + ",\n" + record.rstrip("\n") + sep + rest


def _one_host_many_addresses(tmp: Path) -> tuple[Path, list[str]]:
    """The issue's 3.5 million /32s for one host, as many as fit under the cap."""
    count = (MAX_LOCK_BYTES - 200) // len('      "45.255.255.255/32",\n')
    addresses = [f"45.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}/32" for n in range(count)]
    data = {"version": 1, "hosts": {KAV: {"addresses": addresses, "source": "dns", "status": "ok"}}, "services": {}}
    return _lock(tmp, lock_text(data))


def _over_the_cap(tmp: Path) -> tuple[Path, list[str]]:
    """The issue's 64 MiB lock."""
    line = '      "45.60.12.34/32",\n'
    return _lock(tmp, '{\n  "hosts": {\n    "a": {\n      "addresses": [\n' + line * (64 * MiB // len(line)) + "]}}}")


def _many_full_hosts(tmp: Path) -> tuple[Path, list[str]]:
    """As many hosts as fit under the cap, each with a full prefix list's worth of addresses: valid, and read."""
    data = realistic_lock()
    size, n = len(lock_text(data)), 0
    while True:
        first = n * MAX_HOST_ADDRESSES
        addresses = [
            f"45.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}/32" for a in range(first, first + MAX_HOST_ADDRESSES)
        ]
        record = {"addresses": addresses, "source": "dns", "status": "ok"}
        size += len(json.dumps({"hosts": {"h": record}}, indent=2)) + 24  # its text inside the lock, a little over
        if size > MAX_LOCK_BYTES:
            return _lock(tmp, lock_text(data))
        data["hosts"][f"h{n:06d}.example.net"] = record
        n += 1


def _many_small_hosts(tmp: Path, pad: int) -> tuple[Path, list[str]]:
    """As many one-address hosts as fit under the cap, written as tight as JSON allows (the most records per byte)."""
    parts, size, n = ['{"version":1,"services":{},"hosts":{'], 40, 0
    while size < MAX_LOCK_BYTES - 200:
        record = (
            f'"h{n:0{pad}d}":{{"addresses":["45.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}/32"],'
            '"source":"dns","status":"ok"},'
        )
        parts.append(record)
        size, n = size + len(record), n + 1
    parts[-1] = parts[-1].rstrip(",")
    return _lock(tmp, "".join(parts) + "}}")


def _stacks_copy(tmp: Path) -> Path:
    stacks = tmp / "stacks"
    shutil.copytree(STACKS, stacks)
    return stacks


def _pins(content: str) -> Callable[[Path], tuple[Path, list[str]]]:
    def make(tmp: Path) -> tuple[Path, list[str]]:
        stacks = _stacks_copy(tmp)
        path = stacks / "dmz-azure.priorities.json"
        path.write_text(content if content else "", encoding="utf-8")
        return path, ["plan", "--stack", "dmz-azure", "--stacks-dir", str(stacks), "--format", "json"]

    return make


def _pins_edit(edit: Callable[[dict[str, dict[str, dict[str, int]]]], str]) -> Callable[[Path], tuple[Path, list[str]]]:
    shipped = json.loads((STACKS / "dmz-azure.priorities.json").read_text(encoding="utf-8"))
    return _pins(edit(shipped))


def _first_pin(pins: dict[str, dict[str, dict[str, int]]], value: str) -> str:
    text = json.dumps(pins, indent=2, sort_keys=True)
    role = sorted(pins)[0]
    direction = sorted(pins[role])[0]
    name = sorted(pins[role][direction])[0]
    old = f'"{name}": {pins[role][direction][name]}'
    assert old in text
    return text.replace(old, f'"{name}": {value}', 1)


def _ip_ranges(content: str) -> Callable[[Path], tuple[Path, list[str]]]:
    def make(tmp: Path) -> tuple[Path, list[str]]:
        path = tmp / "ip-ranges.json"
        path.write_text(content, encoding="utf-8")
        lock = tmp / "new.lock.json"  # must not be written
        args = ["resolve", "--catalog", str(REPO / "catalog"), "--nameserver", "127.0.0.1", "--ip-ranges", str(path)]
        return path, [*args, "--lock", str(lock)]

    return make


IP_RANGES = {
    "syncToken": "1700000000",
    "createDate": "2026-11-23-00-00-00",
    "prefixes": [{"ip_prefix": "52.94.0.0/22", "region": "eu-west-1", "service": "AMAZON"}],
    "ipv6_prefixes": [],
}


def _stack_file(old: str, new: str) -> Callable[[Path], tuple[Path, list[str]]]:
    def make(tmp: Path) -> tuple[Path, list[str]]:
        stacks = _stacks_copy(tmp)
        path = stacks / "Pulumi.dmz-aws.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return path, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(stacks), "--format", "json"]

    return make


DEEP = f"nesting deeper than {MAX_DEPTH} levels is not accepted"
TWICE = "appears twice in one object; each key may appear once"

HOSTILE: list[Hostile] = [
    # the IP-set lock
    Hostile("lock-nested-100000-deep", lambda t: _lock(t, _deep(100_000)), DEEP, 1),
    Hostile(
        "lock-version-twice",
        _realistic(_version_twice),
        f"key 'version' {TWICE}",
        lambda text: text.splitlines().index('  "version": 1') + 1,
    ),
    Hostile(
        "lock-host-twice",
        _realistic(_host_twice),
        f"key '{KAV}' {TWICE}",
        lambda text: text.splitlines().index(f'    "{KAV}": {{', text.splitlines().index(f'    "{KAV}": {{') + 1) + 1,
    ),
    Hostile(
        "lock-version-1.0",
        _realistic(lambda t: t.replace('"version": 1\n', '"version": 1.0\n')),
        "version 1.0 is not an IP-set lock format; valid: 1",
    ),
    Hostile(
        "lock-negative-ttl",
        _realistic(lambda t: t.replace('"ttl": 300', '"ttl": -300', 1)),
        "ttl: -300 is below 0; valid: whole seconds",
    ),
    Hostile(
        "lock-zone-id",
        _realistic(lambda t: t.replace('"45.60.12.34/32"', '"fe80::1%eth0/128"', 1)),
        "names an IPv6 zone (%eth0), which no firewall rule can hold; valid: fe80::1/128",
    ),
    Hostile("lock-nan", _realistic(lambda t: t.replace('"ttl": 300', '"ttl": NaN', 1)), "NaN is not a JSON number"),
    Hostile("lock-64-MiB", _over_the_cap, f"too large to read; valid: at most {MAX_LOCK_BYTES:,} bytes"),
    Hostile(
        "lock-one-host-millions-of-addresses",
        _one_host_many_addresses,
        f"addresses; valid: at most {MAX_HOST_ADDRESSES} (one prefix list's worth",
    ),
    Hostile("lock-many-hosts-of-1000-addresses", _many_full_hosts, ""),
    Hostile("lock-tightly-packed-hosts", lambda t: _many_small_hosts(t, 1), "more densely packed than any file"),
    Hostile("lock-packed-hosts-at-the-density-limit", lambda t: _many_small_hosts(t, 48), ""),
    # a stack's priority pins
    Hostile("pins-nested-100000-deep", _pins(_deep(100_000)), DEEP, 1),
    Hostile("pins-key-twice", _pins('{\n  "gateway": {},\n  "gateway": {}\n}\n'), f"key 'gateway' {TWICE}", 3),
    Hostile("pins-priority-740.5", _pins_edit(lambda p: _first_pin(p, "740.5")), "740.5 is not a rule priority"),
    Hostile("pins-priority-true", _pins_edit(lambda p: _first_pin(p, "true")), "true is not a rule priority"),
    # resolve's ip-ranges.json
    Hostile("ip-ranges-nested-100000-deep", _ip_ranges(_deep(100_000)), DEEP, 1),
    Hostile(
        "ip-ranges-key-twice",
        _ip_ranges(json.dumps(IP_RANGES, indent=2).replace('"syncToken"', '"prefixes": [],\n  "syncToken"', 1)),
        f"key 'prefixes' {TWICE}",
    ),
    Hostile(
        "ip-ranges-prefix-not-text",
        _ip_ranges(json.dumps({**IP_RANGES, "prefixes": [{"ip_prefix": 5, "region": "x", "service": "AMAZON"}]})),
        "prefixes[0]: not an entry with text ip_prefix, region and service",
    ),
    # a stack file
    Hostile(
        "stack-unknown-tag",
        _stack_file("dns-servers: [192.0.2.53/32]", "dns-servers: !x [192.0.2.53/32]"),
        "YAML tag !x is not accepted",
        12,
    ),
    Hostile(
        "stack-python-tag",
        _stack_file("dns-servers: [192.0.2.53/32]", "dns-servers: !!python/object/apply:os.system [192.0.2.53/32]"),
        "YAML tag !!python/object/apply:os.system is not accepted",
        12,
    ),
]


@pytest.fixture(scope="module")
def baseline() -> dict[str, Outcome]:
    """What each command costs on the shipped files (the bounds are above it)."""
    out = {}
    for stack in ("dmz-aws", "dmz-azure"):
        out[stack] = run_seawall(["plan", "--stack", stack, "--stacks-dir", str(STACKS), "--format", "json"])
        assert out[stack].code == 0, out[stack].stderr
    return out


@pytest.mark.parametrize("case", HOSTILE, ids=[c.id for c in HOSTILE])
def test_a_hostile_file_meets_its_bound(case: Hostile, tmp_path: Path, baseline: dict[str, Outcome]) -> None:
    path, args = case.make(tmp_path)
    size = path.stat().st_size
    outcome = run_seawall(args, limit=ADDRESS_SPACE + MEMORY_PER_BYTE * size)
    shown = f"exit {outcome.code}, {outcome.seconds:.1f} s, {outcome.peak / MiB:.0f} MiB: {outcome.stderr[-600:]}"
    if case.expected:
        assert outcome.one_line_error, shown
        line = case.line(path.read_text(encoding="utf-8")) if callable(case.line) else case.line
        where = f"{path}:{line}: " if line is not None else f"{path}"
        assert outcome.stderr.startswith(f"seawall: error: {where}"), shown
        assert case.expected in outcome.stderr, shown
    else:
        assert outcome.code == 0 and outcome.stderr.count("Traceback") == 0, shown
    base = baseline["dmz-azure" if "dmz-azure" in args else "dmz-aws"]
    assert outcome.seconds <= base.seconds + FIXED_SECONDS + SECONDS_PER_MIB * size / MiB, shown
    assert outcome.peak <= base.peak + MEMORY_PER_BYTE * size + 16 * MiB, shown
    if args[0] == "resolve":
        assert not (tmp_path / "new.lock.json").exists()  # nothing half-written


def test_a_lock_larger_than_the_cap_says_why_the_cap_is_what_it_is(tmp_path: Path) -> None:
    _, args = _over_the_cap(tmp_path)
    outcome = run_seawall(args)
    assert outcome.one_line_error, outcome.stderr
    assert "a lock of every host of a 20,000-entry catalogue is a few MiB" in outcome.stderr


# --- found on the way ----------------------------------------------------------------------------------------------


def test_priorities_without_a_pins_file_says_it_is_missing_and_what_it_would_pin(tmp_path: Path) -> None:
    stacks = _stacks_copy(tmp_path)
    pins = stacks / "dmz-azure.priorities.json"
    pins.unlink()
    result = CliRunner().invoke(app, ["priorities", "--stack", "dmz-azure", "--stacks-dir", str(stacks)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{pins}: missing; it should pin 26 rules (gateway: 6 inbound, 20 outbound); "
        "run seawall priorities --stack dmz-azure --write\n"
    )
    assert "pinned" not in result.stderr


def test_priorities_with_stale_pins_says_stale_once(tmp_path: Path) -> None:
    stacks = _stacks_copy(tmp_path)
    pins = stacks / "dmz-azure.priorities.json"
    pins.write_text("{}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["priorities", "--stack", "dmz-azure", "--stacks-dir", str(stacks)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{pins}: stale; it should pin 26 rules (gateway: ")


def test_a_zone_id_in_a_stack_peer_is_refused(tmp_path: Path) -> None:
    path, args = _stack_file("dns-servers: [192.0.2.53/32]", "dns-servers: [192.0.2.53/32, fe80::1%eth0/128]")(tmp_path)
    outcome = run_seawall(args)
    assert outcome.one_line_error, outcome.stderr
    assert outcome.stderr.startswith(f"seawall: error: {path}:12: ")
    assert "names an IPv6 zone (%eth0)" in outcome.stderr
