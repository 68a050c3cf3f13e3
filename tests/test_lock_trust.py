"""The IP-set lock is input, not truth: a tampered lock is one line naming file:line, exit 2, and no plan.

Every case starts from a realistic lock in exactly the format ``seawall resolve``
writes (one key per line, sorted), changes one thing as a careless or hostile
pull request would, and runs the real command:
``seawall plan --stack dmz-aws --lock <lock> --format json``.

Tests marked ``xfail(strict=True, reason="BUG: …")`` pin library bugs found while
writing them; remove the mark with the fix.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from builders import variant
from click.testing import Result
from conftest import CATALOG_DIR, REPO
from dnszone import dns_server
from seawall.addresses.ipsets import retired_by_host
from seawall.addresses.lock import LOCK_VALID, LockError, parse_lock
from seawall.catalog import load_catalog
from seawall.cli import app
from seawall.netaddr import canonical_networks, sort_networks
from seawall.stack import compile_config
from seawall.yamlsource import display_path
from typer.testing import CliRunner

STACKS = REPO / "stacks"
CATALOG = load_catalog(CATALOG_DIR)
KAV = "kav-update-8-1.clearswift.net"  # SEG and SXG both name it; SEG's change history retires six addresses for it
FEED = "services1.clearswift.net"  # SEG's service-availability: AWS address space (ip-ranges.json)
KAV_ADDRESSES = ["45.60.12.34/32", "45.60.12.35/32"]  # realistic public /32s
RETIRED = "54.254.98.96"  # retired for the kav-update hosts by SEG 4.8, issue 2.3 (22/11/18)
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
NO_LOCK_DIAGNOSTIC = "no such IP-set lock; valid: a lock written by seawall resolve"


# --- a realistic lock, as `seawall resolve` writes it -------------------------------------------------


def host_services() -> dict[str, list[str]]:
    """Every catalogue hostname (all products) → the ``product/service`` names that list it."""
    out: dict[str, list[str]] = {}
    for product_name, product in sorted(CATALOG.products.items()):
        for service_name, service in sorted(product.services.items()):
            for host in service.hostnames:
                out.setdefault(host, []).append(f"{product_name}/{service_name}")
    return dict(sorted(out.items()))


def feed_hostnames() -> set[str]:
    return {h for p in CATALOG.products.values() for s in p.services.values() if s.address_feed for h in s.hostnames}


def realistic_lock() -> dict[str, Any]:
    """Every catalogue host resolved to public addresses of its own; the AWS-space hosts hold AWS prefixes."""
    hosts: dict[str, Any] = {}
    feeds = feed_hostnames()
    for index, (host, services) in enumerate(host_services().items(), start=1):
        if host in feeds:
            hosts[host] = {
                "addresses": ["52.94.0.0/22", "2a05:d070::/40"],
                "cname_chain": [],
                "resolved_at": "2026-11-23T00:00:00+00:00",
                "resolver": "ip-ranges.json: service AMAZON, region eu-west-1",
                "services": services,
                "source": "aws-ip-ranges",
                "status": "ok",
            }
            continue
        addresses = KAV_ADDRESSES if host == KAV else [f"45.33.{index}.10/32", f"45.33.{index}.11/32"]
        hosts[host] = {
            "addresses": list(addresses),
            "cname_chain": [],
            "resolved_at": "2026-11-23T00:00:00+00:00",
            "resolver": "127.0.0.1:53",
            "services": services,
            "source": "dns",
            "status": "ok",
            "ttl": 300,
        }
    services: dict[str, Any] = {}
    for product_name, product in sorted(CATALOG.products.items()):
        for service_name, service in sorted(product.services.items()):
            v4, v6 = canonical_networks(service.addresses)
            services[f"{product_name}/{service_name}"] = {
                "documented": [*v4, *v6],
                "hostnames": list(service.hostnames),
                "retired": list(sort_networks(service.retired_addresses)),
            }
    return {"version": 1, "hosts": hosts, "services": services}


def lock_text(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """1-based line of the first line holding ``needle`` (at or after the first line holding ``after``)."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def in_host(host: str, needle: str) -> Callable[[str], int]:
    """The line of ``needle`` inside the record of ``host`` (its key line is ``"host": {``)."""
    return lambda text: line_of(text, needle, after=f'"{host}": {{')


def top(needle: str) -> Callable[[str], int]:
    return lambda text: line_of(text, needle)


def plan(*args: str, stacks: Path = STACKS) -> Result:
    return CliRunner().invoke(app, ["plan", "--stack", "dmz-aws", "--stacks-dir", str(stacks), *args])


def plan_with_lock(lock: Path, stacks: Path = STACKS) -> Result:
    return plan("--lock", str(lock), "--format", "json", stacks=stacks)


def assert_one_line_error(result: Result, expected: str) -> None:
    """Exit 2, exactly ``seawall: error: <expected>`` on stderr, no traceback, and no plan on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == "", "a refused lock must not produce (part of) a plan"
    assert result.stderr == f"seawall: error: {expected}\n", result.stderr
    assert "Traceback" not in result.output


def prefix_list_entries(plan_json: dict[str, Any], service: str, family: str = "ipv4") -> list[str]:
    """CIDRs of the AWS managed prefix list the plan declares for one vendor service."""
    (resource,) = [
        r for r in plan_json["resources"] if r["type"] == PREFIX_LIST and r["name"] == f"dmz-{service}-{family}-pl"
    ]
    return [entry["cidr"] for entry in resource["inputs"]["entries"]]


def test_the_realistic_lock_is_exactly_what_seawall_writes() -> None:
    """The base of every case is a lock seawall itself would write, so its line numbers are real ones."""
    text = lock_text(realistic_lock())
    assert parse_lock(text, "ipsets.lock.json").to_text() == text


# --- the table of tampered locks -------------------------------------------------------------------------

Mutate = Callable[[dict[str, Any]], None]


def add_address(host: str, address: str) -> Mutate:
    def mutate(lock: dict[str, Any]) -> None:
        lock["hosts"][host]["addresses"].append(address)

    return mutate


def set_field(host: str, key: str, value: Any) -> Mutate:
    def mutate(lock: dict[str, Any]) -> None:
        lock["hosts"][host][key] = value

    return mutate


def set_top(key: str, value: Any) -> Mutate:
    def mutate(lock: dict[str, Any]) -> None:
        lock[key] = value

    return mutate


def rename_field(host: str, old: str, new: str) -> Mutate:
    def mutate(lock: dict[str, Any]) -> None:
        lock["hosts"][host][new] = lock["hosts"][host].pop(old)

    return mutate


def unresolved_with_addresses(lock: dict[str, Any]) -> None:
    lock["hosts"][KAV]["status"] = "unresolved"


def dns_net(address: str, full: int) -> str:
    return f"{address} is a network, but a DNS answer is a single address; valid: /{full}"


def not_public(address: str, why: str) -> str:
    return f"{address} is not public address space: {why}; allow the range explicitly (seawall:allowPrivate)"


K = f"hosts.{KAV}"
F = f"hosts.{FEED}"
WWW = "www.clearswift.com"


def case(
    case_id: str, tamper: Mutate, message: str, offending_line: Callable[[str], int], bug: str | None = None
) -> Any:
    """One row of the table; ``bug`` marks a row the library gets wrong today (strict xfail)."""
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(tamper, message, offending_line, id=case_id, marks=marks)


# (id, tampering, expected message after "file:line: ", where the offending line is)
TAMPERED = [
    case(
        "kav-0.0.0.0/0",
        add_address(KAV, "0.0.0.0/0"),
        f"{K}.addresses[2]: {dns_net('0.0.0.0/0', 32)}",
        in_host(KAV, '"0.0.0.0/0"'),
    ),
    case("kav-::/0", add_address(KAV, "::/0"), f"{K}.addresses[2]: {dns_net('::/0', 128)}", in_host(KAV, '"::/0"')),
    case(
        "kav-10/8",
        add_address(KAV, "10.0.0.0/8"),
        f"{K}.addresses[2]: {dns_net('10.0.0.0/8', 32)}",
        in_host(KAV, '"10.0.0.0/8"'),
    ),
    case(
        "kav-loopback",
        add_address(KAV, "127.0.0.1/32"),
        f"{K}.addresses[2]: {not_public('127.0.0.1/32', 'loopback (127.0.0.0/8)')}",
        in_host(KAV, '"127.0.0.1/32"'),
    ),
    case(
        "kav-16/4",
        add_address(KAV, "16.0.0.0/4"),
        f"{K}.addresses[2]: {dns_net('16.0.0.0/4', 32)}",
        in_host(KAV, '"16.0.0.0/4"'),
    ),
    case(
        "kav-private-/32",
        add_address(KAV, "10.1.2.3/32"),
        f"{K}.addresses[2]: {not_public('10.1.2.3/32', 'private (10.0.0.0/8)')}",
        in_host(KAV, '"10.1.2.3/32"'),
    ),
    case(
        "kav-link-local-ipv6",
        add_address(KAV, "fe80::1/128"),
        f"{K}.addresses[2]: {not_public('fe80::1/128', 'link-local (fe80::/10)')}",
        in_host(KAV, '"fe80::1/128"'),
    ),
    case(
        "dns-host-public-/24",
        add_address(WWW, "185.181.126.0/24"),
        f"hosts.{WWW}.addresses[2]: {dns_net('185.181.126.0/24', 32)}",
        in_host(WWW, '"185.181.126.0/24"'),
    ),
    case(
        "aws-host-/10",
        add_address(FEED, "52.0.0.0/10"),
        f"{F}.addresses[2]: 52.0.0.0/10 is wider than any range AWS publishes (widest: /11 for IPv4)",
        in_host(FEED, '"52.0.0.0/10"'),
    ),
    case(
        "aws-host-ipv6-/31",
        add_address(FEED, "2600:1f00::/31"),
        f"{F}.addresses[2]: 2600:1f00::/31 is wider than any range AWS publishes (widest: /32 for IPv6)",
        in_host(FEED, '"2600:1f00::/31"'),
    ),
    case(
        "aws-host-private-range",
        add_address(FEED, "10.0.0.0/16"),
        f"{F}.addresses[2]: {not_public('10.0.0.0/16', 'private (10.0.0.0/8)')}",
        in_host(FEED, '"10.0.0.0/16"'),
    ),
    case(
        "dns-host-claims-aws-source",
        set_field(KAV, "source", "aws-ip-ranges"),
        f"{K}.source: 'aws-ip-ranges', but the catalogue takes this host's addresses from dns",
        in_host(KAV, '"source"'),
    ),
    case(
        "aws-host-claims-dns-source",
        set_field(FEED, "source", "dns"),
        f"{F}.source: 'dns', but the catalogue takes this host's addresses from aws-ip-ranges",
        in_host(FEED, '"source"'),
    ),
    case(
        "unknown-source",
        set_field(KAV, "source", "magic"),
        f"{K}.source: 'magic'; valid: dns, aws-ip-ranges",
        in_host(KAV, '"source"'),
    ),
    case(
        "retired-address",
        add_address(KAV, f"{RETIRED}/32"),
        f"{K}.addresses[2]: {RETIRED}/32 is an address the vendor's document retires for this host; "
        "it may not come back",
        in_host(KAV, f'"{RETIRED}/32"'),
    ),
    case(
        "host-bits",
        add_address(KAV, "45.60.12.36/24"),
        f"{K}.addresses[2]: '45.60.12.36/24' is not canonical; valid: a network such as 192.0.2.1/32",
        in_host(KAV, '"45.60.12.36/24"'),
    ),
    case(
        "repeated-address",
        add_address(KAV, KAV_ADDRESSES[0]),
        f"{K}.addresses: an address repeats",
        in_host(KAV, '"addresses"'),
    ),
    case(
        "unresolved-with-addresses",
        unresolved_with_addresses,
        f"{K}: an unresolved host holds no addresses; valid: addresses: []",
        in_host(KAV, '"addresses"'),
    ),
    case(
        "unknown-status",
        set_field(KAV, "status", "fine"),
        f"{K}.status: 'fine'; valid: ok, kept, unresolved",
        in_host(KAV, '"status"'),
    ),
    case(
        "unknown-top-level-key",
        set_top("comment", "reviewed by me"),
        "unknown key 'comment'; valid: version, hosts, services",
        top('"comment"'),
    ),
    case(
        "unknown-host-key",
        rename_field(KAV, "addresses", "adresses"),
        f"{K}: unknown key 'adresses'; valid: addresses, status, source, services, cname_chain, ttl, "
        "resolver, resolved_at, note",
        in_host(KAV, '"adresses"'),
    ),
    case(
        "addresses-not-a-list",
        set_field(KAV, "addresses", KAV_ADDRESSES[0]),
        f"{K}.addresses: '{KAV_ADDRESSES[0]}' has the wrong type",
        in_host(KAV, '"addresses"'),
    ),
    case(
        "addresses-not-text",
        set_field(KAV, "addresses", [1]),
        f"{K}.addresses: [1] has the wrong type",
        in_host(KAV, '"addresses"'),
    ),
    case("ttl-as-text", set_field(KAV, "ttl", "300"), f"{K}.ttl: '300' has the wrong type", in_host(KAV, '"ttl"')),
    case("ttl-as-boolean", set_field(KAV, "ttl", True), f"{K}.ttl: True has the wrong type", in_host(KAV, '"ttl"')),
    case(
        "version-2",
        set_top("version", 2),
        "format 2 was written by a newer seawall; this one reads 1",
        top('"version"'),
    ),
    case("version-0", set_top("version", 0), "version 0 is not an IP-set lock format; valid: 1", top('"version"')),
    case(
        "version-as-text",
        set_top("version", "1"),
        "version '1' is not an IP-set lock format; valid: 1",
        top('"version"'),
    ),
    case(
        "version-true",
        set_top("version", True),
        "version True is not an IP-set lock format; valid: 1",
        top('"version"'),
    ),
]


@pytest.mark.parametrize(("tamper", "message", "offending_line"), TAMPERED)
def test_a_tampered_lock_is_refused_with_one_line_naming_the_line(
    tmp_path: Path, tamper: Mutate, message: str, offending_line: Callable[[str], int]
) -> None:
    data = copy.deepcopy(realistic_lock())
    tamper(data)
    text = lock_text(data)
    path = tmp_path / "ipsets.lock.json"
    path.write_text(text, encoding="utf-8")
    assert_one_line_error(plan_with_lock(path), f"{path}:{offending_line(text)}: {message}")


BROKEN_TEXT = [
    # (id, text edit, the offending line's needle)
    ("value-not-json", lambda t: t.replace('"status": "ok"', '"status": ok', 1), '"status": ok'),
    ("truncated", lambda t: t[: len(t) // 2], None),
    ("trailing-comma", lambda t: t.replace('"ttl": 300\n', '"ttl": 300,\n', 1), '"ttl": 300,'),
]


@pytest.mark.parametrize(("edit", "needle"), [pytest.param(e, n, id=i) for i, e, n in BROKEN_TEXT])
def test_a_lock_that_is_not_json_is_refused_at_the_line_of_the_json_error(
    tmp_path: Path, edit: Callable[[str], str], needle: str | None
) -> None:
    text = edit(lock_text(realistic_lock()))
    path = tmp_path / "ipsets.lock.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as parsed:
        json.loads(text)
    if needle is None:  # cut mid-file: the error is at the end
        line = len(text.splitlines())
    elif needle.endswith(","):  # the parser notices a trailing comma at the closing brace on the next line
        line = line_of(text, needle) + 1
    else:
        line = line_of(text, needle)
    assert parsed.value.lineno == line  # the case really breaks where it says
    what = (
        "the JSON ends early (a truncated file?)"
        if needle is None
        else f"not JSON ({parsed.value.msg} at column {parsed.value.colno})"
    )
    assert_one_line_error(plan_with_lock(path), f"{path}:{line}: {what}; valid: {LOCK_VALID}")


def test_an_empty_lock_is_not_an_empty_set_of_addresses(tmp_path: Path) -> None:
    path = tmp_path / "ipsets.lock.json"
    path.write_text("", encoding="utf-8")
    assert_one_line_error(
        plan_with_lock(path),
        f"{path}:1: the file is empty; valid: {LOCK_VALID}",
    )


def test_a_lock_that_is_json_but_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ipsets.lock.json"
    path.write_text("[]\n", encoding="utf-8")
    assert_one_line_error(
        plan_with_lock(path),
        f"{path}:1: not an IP-set lock; valid: {{version, hosts, services}} as seawall resolve writes it",
    )


@pytest.mark.parametrize("key", ["hosts", "services"])
def test_a_top_level_section_of_the_wrong_type_is_refused(tmp_path: Path, key: str) -> None:
    data = realistic_lock()
    data[key] = []
    text = lock_text(data)
    path = tmp_path / "ipsets.lock.json"
    path.write_text(text, encoding="utf-8")
    result = plan_with_lock(path)
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"seawall: error: {path}:"), result.stderr


@pytest.mark.parametrize("key", ["hosts", "services"])
def test_a_top_level_section_of_the_wrong_type_is_named_at_its_line(tmp_path: Path, key: str) -> None:
    data = realistic_lock()
    data[key] = []
    text = lock_text(data)
    path = tmp_path / "ipsets.lock.json"
    path.write_text(text, encoding="utf-8")
    result = plan_with_lock(path)
    line = line_of(text, f'"{key}": []')
    assert result.stderr.startswith(f"seawall: error: {path}:{line}: {key}"), result.stderr


def test_a_directory_named_as_the_lock_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ipsets.lock.json"
    path.mkdir()
    assert_one_line_error(
        plan_with_lock(path), f"{path}: is not a file; valid: an IP-set lock written by seawall resolve"
    )


def test_a_lock_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ipsets.lock.json"
    path.write_bytes(lock_text(realistic_lock()).encode("utf-8").replace(b'"ok"', b'"\xff"', 1))
    result = plan_with_lock(path)
    assert result.exit_code == 2 and result.stdout == ""
    assert re.fullmatch(
        rf"seawall: error: {re.escape(str(path))}:\d+: not UTF-8: byte 0xff \([^\n]+\); valid: {LOCK_VALID}\n",
        result.stderr,
    ), result.stderr


# --- retirements belong to the hostname, across products ------------------------------------------------


SXG_WITH_KASPERSKY = {
    "topology": "dmz",
    "cloud": "aws",
    "product": "clearswift-sxg",
    "vpcId": "vpc-0123456789abcdef0",
    "features": ["kaspersky"],
    "peers": {
        "internal-mail-servers": ["192.0.2.10/32"],
        "dns-servers": ["192.0.2.53/32"],
        "admin-clients": ["198.51.100.0/28"],
    },
}


def test_the_retired_address_is_a_seg_retirement_for_a_hostname_sxg_lists_too() -> None:
    """The premise of the next test: SEG's change history retires an address of a host SXG names too.

    (SXG's own document retires nothing; its catalogue repeats SEG's retirements for the shared
    hostnames, and retired_by_host would refuse them even if it did not.)"""
    sxg, seg = CATALOG.products["clearswift-sxg"], CATALOG.products["clearswift-seg"]
    assert KAV in sxg.services["kav-update"].hostnames
    assert RETIRED in seg.services["kav-update"].retired_addresses
    assert RETIRED in retired_by_host(CATALOG)[KAV]


def test_an_sxg_stack_refuses_an_address_the_seg_document_retires_for_the_same_hostname(tmp_path: Path) -> None:
    data = realistic_lock()
    data["hosts"][KAV]["addresses"].append(f"{RETIRED}/32")
    text = lock_text(data)
    path = tmp_path / "ipsets.lock.json"
    path.write_text(text, encoding="utf-8")
    config = variant(SXG_WITH_KASPERSKY).config
    with pytest.raises(LockError) as refused:
        compile_config(config, CATALOG, None, path, True)
    line = in_host(KAV, f'"{RETIRED}/32"')(text)
    assert str(refused.value) == (
        f"{path}:{line}: {K}.addresses[2]: {RETIRED}/32 is an address the vendor's document retires for this host; "
        "it may not come back"
    )


def test_an_sxg_stack_opens_the_same_lock_without_the_retired_address(tmp_path: Path) -> None:
    """The control: the SXG stack reads the lock, so the refusal above is about the retired address."""
    path = tmp_path / "ipsets.lock.json"
    path.write_text(lock_text(realistic_lock()), encoding="utf-8")
    compiled = compile_config(variant(SXG_WITH_KASPERSKY).config, CATALOG, None, path, True)
    kav = compiled.ipsets.get("clearswift-sxg", "kav-update")
    assert set(KAV_ADDRESSES) <= set(kav.ipv4) and f"{RETIRED}/32" not in kav.ipv4


@pytest.mark.parametrize("spelling", [RETIRED, f"{RETIRED}/255.255.255.255"])
def test_a_retired_address_in_another_spelling_is_still_refused(tmp_path: Path, spelling: str) -> None:
    data = realistic_lock()
    data["hosts"][KAV]["addresses"].append(spelling)
    text = lock_text(data)
    path = tmp_path / "ipsets.lock.json"
    path.write_text(text, encoding="utf-8")
    result = plan_with_lock(path)
    assert result.exit_code == 2 and result.stdout == "", "the retired address was planned"
    line = in_host(KAV, f'"{spelling}"')(text)
    assert result.stderr.startswith(f"seawall: error: {path}:{line}: {K}.addresses[2]: ")
    assert result.stderr.count("\n") == 1


# --- a valid lock plans; named locks must exist; the default may be absent -----------------------------------


def test_a_valid_lock_plans_and_its_addresses_reach_the_kav_update_prefix_list(tmp_path: Path) -> None:
    data = realistic_lock()
    path = tmp_path / "ipsets.lock.json"
    path.write_text(lock_text(data), encoding="utf-8")
    result = plan_with_lock(path)
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    kav_hosts = CATALOG.products["clearswift-seg"].services["kav-update"].hostnames
    documented = CATALOG.products["clearswift-seg"].services["kav-update"].addresses
    expected = {f"{a}/32" for a in documented} | {a for h in kav_hosts for a in data["hosts"][h]["addresses"]}
    entries = prefix_list_entries(planned, "kav-update")
    assert set(KAV_ADDRESSES) <= set(entries) and set(entries) == expected
    assert not any(w["kind"] == "no-lock" for w in planned["warnings"])


def test_a_missing_lock_named_by_the_lock_option_is_an_error_and_no_plan(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ipsets.lock.json"
    result = plan_with_lock(missing)
    assert result.exit_code == 2 and result.stdout == "" and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith(f"{missing}: {NO_LOCK_DIAGNOSTIC}\n"), result.stderr


def test_a_missing_lock_named_by_the_lock_option_is_blamed_on_the_option(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ipsets.lock.json"
    assert_one_line_error(plan_with_lock(missing), f"--lock: {missing}: {NO_LOCK_DIAGNOSTIC}")


def stack_copy(directory: Path, extra: str, stack: str = "dmz-aws") -> Path:
    """A copy of a shipped stack with ``extra`` config lines added (the Azure priority pins kept)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (STACKS / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    assert "  seawall:tags:\n" in text
    (directory / f"Pulumi.{stack}.yaml").write_text(text.replace("  seawall:tags:\n", f"{extra}  seawall:tags:\n"))
    pins = STACKS / f"{stack}.priorities.json"
    if pins.exists():
        shutil.copy(pins, directory / pins.name)
    return directory


def test_a_missing_lock_named_by_the_stack_is_an_error_at_its_line(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path / "stacks", "  seawall:lockFile: locks/ipsets.lock.json\n")
    result = plan("--format", "json", stacks=stacks)
    stack_file = stacks / "Pulumi.dmz-aws.yaml"
    line = line_of(stack_file.read_text(), "seawall:lockFile:")
    assert_one_line_error(
        result,
        f"{display_path(stack_file)}:{line}: seawall:lockFile: {tmp_path / 'locks' / 'ipsets.lock.json'}: "
        f"{NO_LOCK_DIAGNOSTIC}",
    )


def test_a_lock_named_by_the_stack_is_read_relative_to_the_project(tmp_path: Path) -> None:
    stacks = stack_copy(tmp_path / "stacks", "  seawall:lockFile: locks/ipsets.lock.json\n")
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "ipsets.lock.json").write_text(lock_text(realistic_lock()), encoding="utf-8")
    result = plan("--format", "json", stacks=stacks)
    assert result.exit_code == 0, result.output
    assert set(KAV_ADDRESSES) <= set(prefix_list_entries(json.loads(result.stdout), "kav-update"))


COMMANDS = {
    "flows": ["flows"],
    "render": ["render"],
    "check": ["check"],
    "query": ["query", "--from", "gateway", "--to", "service:kav-update", "--port", "80/tcp"],
    "priorities": ["priorities"],
    "audit": ["audit", "--endpoint-url", "http://127.0.0.1:9", "--region", "eu-west-1"],  # loopback only
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_that_reads_the_stacks_lock_refuses_a_tampered_one(tmp_path: Path, command: str) -> None:
    data = realistic_lock()
    data["hosts"][KAV]["addresses"].append("0.0.0.0/0")
    text = lock_text(data)
    (tmp_path / "locks").mkdir()
    lock = tmp_path / "locks" / "ipsets.lock.json"
    lock.write_text(text, encoding="utf-8")
    stacks = stack_copy(tmp_path / "stacks", "  seawall:lockFile: locks/ipsets.lock.json\n")
    result = CliRunner().invoke(app, [*COMMANDS[command], "--stack", "dmz-aws", "--stacks-dir", str(stacks)])
    line = in_host(KAV, '"0.0.0.0/0"')(text)
    assert_one_line_error(result, f"{lock}:{line}: {K}.addresses[2]: {dns_net('0.0.0.0/0', 32)}")


@pytest.mark.parametrize("command", sorted([*COMMANDS, "export"]))
def test_every_command_refuses_a_lock_nested_100000_deep_in_one_line(tmp_path: Path, command: str) -> None:
    """Was a RecursionError traceback and exit 1 (issue 25)."""
    (tmp_path / "locks").mkdir()
    lock = tmp_path / "locks" / "ipsets.lock.json"
    lock.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    stacks = stack_copy(tmp_path / "stacks", "  seawall:lockFile: locks/ipsets.lock.json\n")
    args = ["export", "terraform", "--out", str(tmp_path / "tf")] if command == "export" else COMMANDS[command]
    result = CliRunner().invoke(app, [*args, "--stack", "dmz-aws", "--stacks-dir", str(stacks)])
    assert_one_line_error(
        result, f"{lock}:1: nesting deeper than 64 levels is not accepted; valid: at most 64 levels ({LOCK_VALID})"
    )
    assert not (tmp_path / "tf").exists()


def test_resolve_refuses_to_build_on_a_tampered_committed_lock(catalog_copy: Path) -> None:
    data = realistic_lock()
    data["hosts"][KAV]["addresses"].append("0.0.0.0/0")
    text = lock_text(data)
    lock = catalog_copy / "ipsets.lock.json"
    lock.write_text(text, encoding="utf-8")
    with dns_server(zone_for(dns_hostnames())) as (server, resolver):
        result = resolve_cli(catalog_copy, server)
    line = in_host(KAV, '"0.0.0.0/0"')(text)
    assert result.exit_code == 2 and "Traceback" not in result.output
    # (the transient progress bar leaves an empty line before the error on a non-terminal stderr)
    assert result.stderr.strip() == f"seawall: error: {lock}:{line}: {K}.addresses[2]: {dns_net('0.0.0.0/0', 32)}"
    assert lock.read_text(encoding="utf-8") == text and not resolver.queries, "nothing written, nothing asked"


def test_the_stack_may_allow_a_private_range_that_the_lock_then_uses(tmp_path: Path) -> None:
    data = realistic_lock()
    data["hosts"][KAV]["addresses"] = ["10.1.2.3/32"]
    path = tmp_path / "ipsets.lock.json"
    path.write_text(lock_text(data), encoding="utf-8")
    refused = plan_with_lock(path)  # the shipped stack allows nothing private
    assert refused.exit_code == 2 and "10.1.2.3/32 is not public address space: private" in refused.stderr
    stacks = stack_copy(tmp_path / "stacks", "  seawall:allowPrivate: [10.0.0.0/8]\n")
    result = plan_with_lock(path, stacks)
    assert result.exit_code == 0, result.output
    assert "10.1.2.3/32" in prefix_list_entries(json.loads(result.stdout), "kav-update")


def test_allow_private_covers_only_the_range_it_names(tmp_path: Path) -> None:
    data = realistic_lock()
    data["hosts"][KAV]["addresses"] = ["172.16.0.1/32"]
    path = tmp_path / "ipsets.lock.json"
    text = lock_text(data)
    path.write_text(text, encoding="utf-8")
    stacks = stack_copy(tmp_path / "stacks", "  seawall:allowPrivate: [10.0.0.0/8]\n")
    line = in_host(KAV, '"172.16.0.1/32"')(text)
    assert_one_line_error(
        plan_with_lock(path, stacks),
        f"{path}:{line}: {K}.addresses[0]: {not_public('172.16.0.1/32', 'private (172.16.0.0/12)')}",
    )


def test_without_any_lock_the_plan_says_so_in_a_no_lock_warning(tmp_path: Path) -> None:
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, catalog_dir, ignore=shutil.ignore_patterns("__pycache__", "ipsets.lock.json"))
    result = plan("--catalog", str(catalog_dir), "--format", "json")
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    (no_lock,) = [w for w in warnings if w["kind"] == "no-lock"]
    assert "no IP-set lock" in no_lock["text"] and "documents print" in no_lock["text"]
    # and what the warning means: the kav-update list holds the documented addresses only
    documented = CATALOG.products["clearswift-seg"].services["kav-update"].addresses
    assert set(prefix_list_entries(json.loads(result.stdout), "kav-update")) == {f"{a}/32" for a in documented}


# --- vendor addresses that add up to the internet ------------------------------------------------------------

# 128 AWS-sized /11s of public space: 32.0.0.0/4 when collapsed, a /4's worth (the default threshold)
SIXTEEN_SLASH_8S = [f"{32 + i // 8}.{(i % 8) * 32}.0.0/11" for i in range(128)]
TCP_80_SERVICES = ["apphelp", "kav-update", "product-updates", "rss-feed", "service-availability"]


def internet_sized_lock(tmp_path: Path) -> Path:
    data = realistic_lock()
    for host in sorted(feed_hostnames()):
        data["hosts"][host]["addresses"] = list(SIXTEEN_SLASH_8S)
    path = tmp_path / "ipsets.lock.json"
    path.write_text(lock_text(data), encoding="utf-8")
    return path


def test_aws_ranges_that_add_up_to_the_internet_are_refused_without_an_opt_in(tmp_path: Path) -> None:
    result = plan_with_lock(internet_sized_lock(tmp_path))
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1, result.output
    assert "seawall:internetEgress: tcp/80 to " in result.stderr
    assert "service:service-availability on role gateway: the peers' addresses cover 16.0 /8s of IPv4" in result.stderr


def test_the_internet_egress_opt_in_works_when_every_service_sharing_the_rule_is_listed(tmp_path: Path) -> None:
    lock = internet_sized_lock(tmp_path)
    stacks = stack_copy(tmp_path / "stacks", f"  seawall:internetEgress: [{', '.join(TCP_80_SERVICES)}]\n")
    result = plan_with_lock(lock, stacks)
    assert result.exit_code == 0, result.output
    (opt_in,) = [w for w in json.loads(result.stdout)["warnings"] if w["kind"] == "internet-opt-in"]
    assert "service:service-availability" in opt_in["text"] and "accepted by seawall:internetEgress" in opt_in["text"]


def test_listing_the_internet_sized_service_in_internet_egress_accepts_it_with_a_warning(tmp_path: Path) -> None:
    lock = internet_sized_lock(tmp_path)
    stacks = stack_copy(tmp_path / "stacks", "  seawall:internetEgress: [service-availability]\n")
    result = plan_with_lock(lock, stacks)
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert any(w["kind"] == "internet-opt-in" and "service-availability" in w["text"] for w in warnings)


# --- seawall resolve --product touches that product only ---------------------------------------------------


def dns_hostnames() -> list[str]:
    return sorted(set(host_services()) - feed_hostnames())


def product_hostnames(product: str) -> set[str]:
    return {h for s in CATALOG.products[product].services.values() for h in s.hostnames}


def zone_for(hosts: list[str]) -> dict[str, dict[str, Any]]:
    """Every DNS hostname of every product answers with public addresses of its own."""
    return {host: {"a": [f"45.33.{i}.10", f"45.33.{i}.11"], "ttl": 300} for i, host in enumerate(hosts, start=1)}


def record_blocks(text: str, section: str) -> dict[str, str]:
    """Each record of ``hosts`` or ``services`` as the exact lines it occupies in the file (trailing comma dropped)."""
    data = json.loads(text)
    lines = text.splitlines()
    start = lines.index(f'  "{section}": {{')
    out: dict[str, str] = {}
    for name in data[section]:
        first = next(i for i in range(start, len(lines)) if lines[i] == f"    {json.dumps(name)}: {{")
        last = next(i for i in range(first, len(lines)) if lines[i] in ("    }", "    },"))
        out[name] = "\n".join([*lines[first:last], "    }"])
    return out


def resolve_cli(catalog_dir: Path, server: str, *args: str) -> Result:
    return CliRunner().invoke(
        app,
        [
            "resolve",
            "--catalog",
            str(catalog_dir),
            "--lock",  # the test's own lock, never the project's
            str(catalog_dir / "ipsets.lock.json"),
            "--nameserver",
            server,
            "--timeout",
            "0.5",
            "--retries",
            "1",
            *args,
        ],
    )


@pytest.fixture()
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(
        CATALOG_DIR, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__", "ipsets.lock.json")
    )
    return target


def test_resolving_one_product_leaves_every_other_products_records_byte_identical(catalog_copy: Path) -> None:
    hosts = dns_hostnames()
    zone = zone_for(hosts)
    lock_path = catalog_copy / "ipsets.lock.json"
    with dns_server(zone) as (server, _):
        first = resolve_cli(catalog_copy, server)
    assert first.exit_code == 0, first.output
    before = lock_path.read_text(encoding="utf-8")
    seg = product_hostnames("clearswift-seg")
    others = {h for h in hosts if h not in seg}
    assert others, "the premise: other products have hosts of their own"
    # the world moves: one SEG-only host gains an address (under --max-change), and one SXG-only host changes
    assert "time.clearswift.net" in seg and "bulkmail1.clearswift.net" in others
    zone["time.clearswift.net"]["a"] = [*zone["time.clearswift.net"]["a"], "45.77.0.1"]
    zone["bulkmail1.clearswift.net"]["a"] = ["45.78.0.1"]
    with dns_server(zone) as (server, _):
        result = resolve_cli(catalog_copy, server, "--product", "clearswift-seg")
    assert result.exit_code == 0, result.output
    after = lock_path.read_text(encoding="utf-8")
    assert after != before, "the SEG change was written"
    assert "45.77.0.1/32" in json.loads(after)["hosts"]["time.clearswift.net"]["addresses"]
    old_hosts, new_hosts = record_blocks(before, "hosts"), record_blocks(after, "hosts")
    assert set(new_hosts) == set(old_hosts), "no host record was dropped or added"
    for host in sorted(set(old_hosts) - seg):
        assert new_hosts[host] == old_hosts[host], host
    assert record_blocks(after, "services") == record_blocks(before, "services")


def test_after_resolving_one_product_the_whole_lock_checks_current(catalog_copy: Path) -> None:
    zone = zone_for(dns_hostnames())
    with dns_server(zone) as (server, _):
        assert resolve_cli(catalog_copy, server).exit_code == 0
    zone["time.clearswift.net"]["a"] = [*zone["time.clearswift.net"]["a"], "45.77.0.1"]
    with dns_server(zone) as (server, _):
        assert resolve_cli(catalog_copy, server, "--product", "clearswift-seg").exit_code == 0
        written = (catalog_copy / "ipsets.lock.json").read_text(encoding="utf-8")
        check = resolve_cli(catalog_copy, server, "--check")
    assert check.exit_code == 0, check.output
    assert f"{catalog_copy / 'ipsets.lock.json'}: current" in check.output
    assert (catalog_copy / "ipsets.lock.json").read_text(encoding="utf-8") == written
