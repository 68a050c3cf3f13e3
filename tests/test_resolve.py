"""`seawall resolve` against a real DNS server on loopback, with injected faults. Fail closed throughout."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CATALOG_DIR, REPO
from dnszone import dns_server
from rich.console import Console
from seawall.addresses.lock import read_lock
from seawall.addresses.resolve import ResolveRequest
from seawall.catalog import load_catalog
from seawall.cli import app
from seawall.cli.resolve import run_resolve
from typer.testing import CliRunner

PRODUCT = "clearswift-seg"  # 16 DNS hostnames, documented and retired addresses, an AWS-ranges service


def seg_hosts() -> list[str]:
    catalog = load_catalog(CATALOG_DIR)
    product = catalog.products[PRODUCT]
    return sorted(h for s in product.services.values() if not s.address_feed for h in s.hostnames)


def healthy_zone() -> dict[str, dict[str, Any]]:
    """Every SEG hostname answers with public addresses of its own."""
    return {host: {"a": [f"45.33.{i}.10", f"45.33.{i}.11"], "ttl": 300} for i, host in enumerate(seg_hosts(), start=1)}


@pytest.fixture()
def catalog_dir(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(
        CATALOG_DIR, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__", "ipsets.lock.json")
    )
    return target


def resolve(catalog_dir: Path, server: str, **options: Any) -> tuple[int, str]:
    out = io.StringIO()
    request = ResolveRequest(
        catalog_dir=catalog_dir,
        lock=options.pop("lock", catalog_dir / "ipsets.lock.json"),  # never the project's own lock
        products=(PRODUCT,),
        nameservers=(server,),
        timeout=options.pop("timeout", 0.5),
        retries=options.pop("retries", 1),
        now=options.pop("now", "2026-11-23T00:00:00+00:00"),
        **options,
    )
    with contextlib.redirect_stdout(out):  # the diff goes to stdout, problems and status to the console
        code = run_resolve(request, Console(file=out, width=200))
    return code, out.getvalue()


def lock_of(catalog_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((catalog_dir / "ipsets.lock.json").read_text())
    return data


@pytest.fixture()
def healthy() -> Iterator[tuple[str, Any]]:
    with dns_server(healthy_zone()) as server:
        yield server


def test_a_clean_run_writes_a_sorted_lock_with_chain_ttl_resolver_and_time(catalog_dir: Path) -> None:
    zone = healthy_zone()
    zone["apphelp.clearswift.com"] = {"cname": "help.cdn.example", "ttl": 60}
    zone["help.cdn.example"] = {"a": ["45.40.0.2", "45.40.0.1"], "aaaa": ["2600:3c00::5"], "ttl": 120}
    with dns_server(zone) as (server, _):
        code, _ = resolve(catalog_dir, server, allow_partial=True)
    assert code == 0
    host = lock_of(catalog_dir)["hosts"]["apphelp.clearswift.com"]
    assert host["addresses"] == ["45.40.0.1/32", "45.40.0.2/32", "2600:3c00::5/128"]
    assert host["status"] == "ok" and host["source"] == "dns"
    assert host["cname_chain"] == ["help.cdn.example"] and host["ttl"] == 60
    assert host["resolver"] == server and host["resolved_at"] == "2026-11-23T00:00:00+00:00"
    services = lock_of(catalog_dir)["services"]
    assert services["clearswift-seg/kav-update"]["documented"] == [
        "70.33.161.213/32", "70.33.161.214/32", "185.155.104.24/32", "185.155.104.25/32",
    ]  # fmt: skip
    assert "54.254.98.96" in services["clearswift-seg/kav-update"]["retired"]


def test_an_unchanged_world_leaves_the_lock_byte_identical(catalog_dir: Path) -> None:
    zone = healthy_zone()
    with dns_server(zone) as (server, _):
        assert resolve(catalog_dir, server, allow_partial=True)[0] == 0
        first = (catalog_dir / "ipsets.lock.json").read_text()
        for entry in zone.values():
            entry["ttl"] = 17  # caches count TTLs down; that is not a change
    with dns_server(zone) as (server, _):
        code, out = resolve(catalog_dir, server, allow_partial=True, now="2026-12-01T00:00:00+00:00")
    assert code == 0 and "is current" in out
    assert (catalog_dir / "ipsets.lock.json").read_text() == first


def test_nxdomain_keeps_the_last_good_addresses_and_writes_nothing(catalog_dir: Path) -> None:
    with dns_server(healthy_zone()) as (server, _):
        resolve(catalog_dir, server, allow_partial=True)
    before = (catalog_dir / "ipsets.lock.json").read_text()
    zone = healthy_zone()
    del zone["rh.repo.clearswift.net"]
    with dns_server(zone) as (server, _):
        code, out = resolve(catalog_dir, server)
    assert code == 1 and "rh.repo.clearswift.net: failed: nxdomain" in out and "not written" in out
    assert (catalog_dir / "ipsets.lock.json").read_text() == before
    with dns_server(zone) as (server, _):
        code, _ = resolve(catalog_dir, server, allow_partial=True)
    host = lock_of(catalog_dir)["hosts"]["rh.repo.clearswift.net"]
    assert (
        code == 0
        and host["status"] == "kept"
        and host["addresses"] == json.loads(before)["hosts"]["rh.repo.clearswift.net"]["addresses"]
    )


def test_servfail_is_retried_then_reported(catalog_dir: Path) -> None:
    zone = healthy_zone()
    zone["www.clearswift.com"] = {"rcode": "SERVFAIL"}
    with dns_server(zone) as (server, resolver):
        code, out = resolve(catalog_dir, server, retries=2)
    assert code == 1 and "www.clearswift.com: failed: servfail" in out
    assert resolver.queries[("www.clearswift.com", "A", "udp")] == 3


def test_a_silent_server_times_out_within_the_bound(catalog_dir: Path) -> None:
    import time

    zone = healthy_zone()
    zone["time.clearswift.net"] = {"silent": True}
    started = time.monotonic()
    with dns_server(zone) as (server, _):
        code, out = resolve(catalog_dir, server, timeout=0.3, retries=1)
    assert code == 1 and "time.clearswift.net: failed: timeout" in out
    assert time.monotonic() - started < 5  # 2 types x 2 tries x 0.3 s, run concurrently with the rest


def test_truncated_udp_answers_are_asked_again_over_tcp(catalog_dir: Path) -> None:
    zone = healthy_zone()
    zone["www.clearswift.com"] = {"a": [f"45.50.{i // 250}.{i % 250 + 1}" for i in range(120)]}  # far above 512 bytes
    with dns_server(zone) as (server, resolver):
        code, _ = resolve(catalog_dir, server, allow_partial=True, force=True)
    assert code == 0 and len(lock_of(catalog_dir)["hosts"]["www.clearswift.com"]["addresses"]) == 120
    assert resolver.queries[("www.clearswift.com", "A", "tcp")] == 1


def test_cname_loops_fail_and_keep_nothing_new(catalog_dir: Path) -> None:
    zone = healthy_zone()
    zone["services1.clearswift.net"] = zone.pop("apphelp.clearswift.com")  # unrelated; keep the zone full
    zone["apphelp.clearswift.com"] = {"cname": "loop.example"}
    zone["loop.example"] = {"cname": "apphelp.clearswift.com"}
    with dns_server(zone) as (server, _):
        code, out = resolve(catalog_dir, server)
    assert code == 1 and "apphelp.clearswift.com: failed: cname-loop" in out


def test_ipv6_only_hosts_resolve(catalog_dir: Path) -> None:
    zone = healthy_zone()
    zone["time.clearswift.net"] = {"aaaa": ["2600:3c00::123"]}
    with dns_server(zone) as (server, _):
        assert resolve(catalog_dir, server, allow_partial=True)[0] == 0
    assert lock_of(catalog_dir)["hosts"]["time.clearswift.net"]["addresses"] == ["2600:3c00::123/128"]


def test_private_answers_are_refused_unless_allow_listed(catalog_dir: Path) -> None:
    zone = healthy_zone()
    zone["repo.clearswift.net"] = {"a": ["10.1.2.3", "45.33.99.1"]}
    with dns_server(zone) as (server, _):
        code, out = resolve(catalog_dir, server)
        assert code == 1 and "repo.clearswift.net: refused: refused non-public answers 10.1.2.3" in out
        code, _ = resolve(catalog_dir, server, allow_private=("10.0.0.0/8",))
    assert code == 0 and "10.1.2.3/32" in lock_of(catalog_dir)["hosts"]["repo.clearswift.net"]["addresses"]


@pytest.mark.parametrize("bogon", ["127.0.0.1", "169.254.1.1", "224.0.0.1", "192.0.2.1", "240.0.0.1", "fe80::1"])
def test_every_kind_of_non_public_answer_is_refused(catalog_dir: Path, bogon: str) -> None:
    zone = healthy_zone()
    zone["repo.clearswift.net"] = {"aaaa" if ":" in bogon else "a": [bogon]}
    with dns_server(zone) as (server, _):
        code, out = resolve(catalog_dir, server)
    assert code == 1 and f"refused non-public answers {bogon}" in out


def test_a_documented_retired_address_that_comes_back_is_flagged(catalog_dir: Path) -> None:
    zone = healthy_zone()
    zone["kav-update-8-2.clearswift.net"] = {"a": ["54.254.98.96"]}
    with dns_server(zone) as (server, _):
        code, out = resolve(catalog_dir, server)
    assert (
        code == 1
        and "kav-update-8-2.clearswift.net: retired: documented retired address(es) 54.254.98.96 came back" in out
    )


def test_a_large_change_needs_force(catalog_dir: Path) -> None:
    with dns_server(healthy_zone()) as (server, _):
        resolve(catalog_dir, server, allow_partial=True)
    moved = healthy_zone()
    for host in ("repo.clearswift.net", "rh.repo.clearswift.net"):
        moved[host] = {"a": ["45.99.0.1", "45.99.0.2"]}
    with dns_server(moved) as (server, _):
        code, out = resolve(catalog_dir, server)
        assert code == 1 and "clearswift-seg/product-updates: max-change: 100% of its addresses would change" in out
        assert resolve(catalog_dir, server, force=True)[0] == 0
    assert lock_of(catalog_dir)["hosts"]["repo.clearswift.net"]["addresses"] == ["45.99.0.1/32", "45.99.0.2/32"]


def test_check_changes_nothing_and_exits_1_when_stale(catalog_dir: Path) -> None:
    zone = healthy_zone()
    with dns_server(zone) as (server, _):
        assert resolve(catalog_dir, server, check=True)[0] == 1
        assert not (catalog_dir / "ipsets.lock.json").exists()
        resolve(catalog_dir, server, allow_partial=True)
        assert resolve(catalog_dir, server, check=True)[0] == 0


def test_the_diff_names_added_and_removed_addresses_per_host_and_service(catalog_dir: Path) -> None:
    with dns_server(healthy_zone()) as (server, _):
        resolve(catalog_dir, server, allow_partial=True)
    zone = healthy_zone()
    zone["www.clearswift.com"]["a"] = [*zone["www.clearswift.com"]["a"], "45.77.0.1"]  # one of three: under 50%
    with dns_server(zone) as (server, _):
        code, out = resolve(catalog_dir, server, allow_partial=True, json_output=False)
    assert code == 0 and "45.77.0.1/32" in out and "clearswift-seg/rss-feed" in out and "www.clearswift.com" in out


def test_aws_ip_ranges_are_filtered_collapsed_and_bounded(catalog_dir: Path, tmp_path: Path) -> None:
    feed = {
        "prefixes": [
            {"ip_prefix": "52.94.0.0/24", "region": "eu-west-1", "service": "AMAZON"},
            {"ip_prefix": "52.94.1.0/24", "region": "eu-west-1", "service": "AMAZON"},
            {"ip_prefix": "3.5.0.0/16", "region": "us-east-1", "service": "AMAZON"},
        ],
        "ipv6_prefixes": [],
    }
    path = tmp_path / "ip-ranges.json"
    path.write_text(json.dumps(feed))
    with dns_server(healthy_zone()) as (server, _):
        code, _ = resolve(catalog_dir, server, ip_ranges=path, ip_ranges_regions=("eu-west-1",))
    host = lock_of(catalog_dir)["hosts"]["services1.clearswift.net"]
    assert code == 0 and host["addresses"] == ["52.94.0.0/23"] and host["source"] == "aws-ip-ranges"
    feed["prefixes"] = [
        {"ip_prefix": f"{i // 256 + 20}.{i % 256}.0.0/16", "region": "x", "service": "AMAZON"}  # public space
        for i in range(0, 2002, 2)
    ]
    path.write_text(json.dumps(feed))
    with dns_server(healthy_zone()) as (server, _):
        code, out = resolve(catalog_dir, server, ip_ranges=path)
    assert code == 1 and "exceed a prefix list's 1000 entries" in out


def test_stacks_open_the_locked_addresses_and_never_the_failed_ones(catalog_dir: Path) -> None:
    from builders import variant
    from seawall.stack import compile_config, render_aws_stack

    with dns_server(healthy_zone()) as (server, _):
        resolve(catalog_dir, server, allow_partial=True)
    config = variant(
        {
            "topology": "dmz",
            "cloud": "aws",
            "product": "clearswift-seg",
            "vpcId": "vpc-0123456789abcdef0",
            "peers": {
                "internal-mail-servers": ["192.0.2.10/32"],
                "dns-servers": ["192.0.2.53/32"],
                "admin-clients": ["198.51.100.0/28"],
            },
        }
    ).config
    compiled = compile_config(config, load_catalog(catalog_dir), None, catalog_dir / "ipsets.lock.json")
    spec = render_aws_stack(compiled)
    ntp = next(p for p in spec.prefix_lists if p.service == "ntp")
    lock = read_lock(catalog_dir / "ipsets.lock.json")
    assert [c for c, _ in ntp.entries] == list(lock.hosts["time.clearswift.net"].addresses)
    assert not any(n.entry == "seg-ntp" and n.kind == "unresolved" for n in compiled.flows.notices)
    assert any(n.entry == "seg-service-availability" and n.kind == "unresolved" for n in compiled.flows.notices)


def test_the_cli_reports_bad_input_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["resolve", "--nameserver", "dns.example", "--catalog", str(REPO / "catalog")])
    assert result.exit_code == 2 and "--nameserver" in result.stderr and "Traceback" not in result.stderr
