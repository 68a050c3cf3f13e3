"""The shape of seawall's speed, asserted as behaviour rather than timed.

Timings belong to ``bench/`` (measured side by side, on a noisy machine); these tests
pin what makes them good: what a plan imports, how often the catalogue is read, how many
comparisons a diff makes, how many DNS queries are in flight, that an error's line comes
without a second parse.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from conftest import CATALOG_DIR, REPO
from hypothesis import given, settings
from hypothesis import strategies as st
from seawall import yamlsource
from seawall.addresses import dns as seawall_dns
from seawall.addresses.dns import Nameserver, ResolveOptions, resolve_all
from seawall.analysis import diff as seawall_diff
from seawall.analysis.diff import FlowKey, diff_plans
from seawall.aws.limits import INGRESS_RULE
from seawall.catalog import load_catalog
from seawall.errors import CatalogError, UserError
from seawall.netaddr import union_size

# --- resolve: A and AAAA together, never more queries in flight than the bound ---------------------


class _FakeServer:
    """Answers every A and AAAA after a short wait, counting the queries in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.asked: list[tuple[str, str]] = []

    async def query(self, query: dns.message.Message, where: str, **_: Any) -> tuple[dns.message.Message, bool]:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        question = query.question[0]
        self.asked.append((question.name.to_text(True), dns.rdatatype.to_text(question.rdtype)))
        try:
            await asyncio.sleep(0.01)
        finally:
            self.in_flight -= 1
        response = dns.message.make_response(query)
        address = "192.0.2.1" if question.rdtype == dns.rdatatype.A else "2001:db8::1"
        rrset = response.find_rrset(response.answer, question.name, dns.rdataclass.IN, question.rdtype, create=True)
        rrset.add(dns.rdata.from_text(dns.rdataclass.IN, question.rdtype, address), 300)
        return response, False


def _resolve(monkeypatch: pytest.MonkeyPatch, names: list[str], bound: int) -> tuple[_FakeServer, dict[str, Any]]:
    server = _FakeServer()
    monkeypatch.setattr(dns.asyncquery, "udp_with_fallback", server.query)
    options = ResolveOptions([Nameserver.parse("192.0.2.53")], timeout=1, retries=0, concurrency=bound)
    return server, asyncio.run(resolve_all(names, options))


def test_a_names_a_and_aaaa_questions_are_in_flight_together(monkeypatch: pytest.MonkeyPatch) -> None:
    server, results = _resolve(monkeypatch, ["mail.example"], bound=2)
    assert server.most == 2  # one after the other would never have two in flight
    assert results["mail.example"].addresses == ("192.0.2.1", "2001:db8::1")


def test_the_bound_counts_queries_in_flight_not_names(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"host{i}.example" for i in range(20)]
    server, results = _resolve(monkeypatch, names, bound=5)
    assert server.most == 5
    assert len(server.asked) == 40
    assert all(r.status == "ok" for r in results.values())


def test_the_answer_is_the_same_whichever_type_answers_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing AAAA next to a good A still resolves; both failing reports the worse failure, as before."""
    server = _FakeServer()

    async def query(q: dns.message.Message, where: str, **kw: Any) -> tuple[dns.message.Message, bool]:
        if q.question[0].rdtype == dns.rdatatype.AAAA:
            response = dns.message.make_response(q)
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response, False
        return await server.query(q, where, **kw)

    monkeypatch.setattr(dns.asyncquery, "udp_with_fallback", query)
    options = ResolveOptions([Nameserver.parse("192.0.2.53")], timeout=1, retries=0, concurrency=4)
    result = asyncio.run(seawall_dns.resolve_host("mail.example", options))
    assert result.status == "ok" and result.addresses == ("192.0.2.1",)


# --- diff: work grows with the plans, not with their product --------------------------------------


def _rule(port: int, cidr: str) -> dict[str, Any]:
    name = f"dmz-gateway-in-tcp-{port}-cidr-{cidr.replace('/', '-')}"
    return {
        "type": INGRESS_RULE,
        "name": name,
        "urn": f"urn:pulumi:s::seawall::seawall:index:AwsFirewall${INGRESS_RULE}::{name}",
        "inputs": {
            "cidrIpv4": cidr,
            "description": f"tcp/{port} from site:admin-clients: x [seg-ssh-console]",
            "fromPort": port,
            "toPort": port,
            "ipProtocol": "tcp",
            "securityGroupId": "${dmz-gateway-sg.id}",
            "tags": {"seawall:entries": "seg-ssh-console", "seawall:role": "gateway", "seawall:stack": "s"},
        },
    }


def _plan(rules: list[tuple[int, str]]) -> dict[str, Any]:
    return {"stack": "s", "resources": [_rule(port, cidr) for port, cidr in rules], "outputs": {}, "warnings": []}


def _work(monkeypatch: pytest.MonkeyPatch, base: dict[str, Any], head: dict[str, Any]) -> int:
    """Rule lookups (``FlowKey.group``) plus addresses parsed: the comparisons a diff makes, counted."""
    count = [0]
    group: property = vars(FlowKey)["group"]

    def counted_group(self: FlowKey) -> tuple[str, str, str, str]:
        count[0] += 1
        value: tuple[str, str, str, str] = group.__get__(self)
        return value

    parse = ipaddress.ip_network

    def counted_parse(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return parse(*args, **kwargs)

    for name in ("_peer_networks", "_peer_sizes", "_everything", "_parsed"):
        cache = getattr(seawall_diff, name, None)
        if cache is not None:
            cache.cache_clear()  # parsing is cached across diffs: count from a cold start
    with monkeypatch.context() as patch:
        patch.setattr(FlowKey, "group", property(counted_group))
        patch.setattr(ipaddress, "ip_network", counted_parse)
        diff_plans(base, head)
    return count[0]


def test_renumbering_a_site_across_many_rules_is_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule's site CIDR changes: n flows close, n open, each in a rule of its own."""

    def work(n: int) -> int:
        base = _plan([(1000 + i, "10.1.0.0/24") for i in range(n)])
        head = _plan([(1000 + i, "10.2.0.0/24") for i in range(n)])
        return _work(monkeypatch, base, head)

    small, large = work(300), work(1200)
    assert large <= 4.5 * small, (small, large)  # 4x the rules: linear is 4x, pairwise comparison 16x


def test_renumbering_many_peers_of_one_rule_is_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """One rule (port 443) to n addresses, renumbered to n others: every opened peer meets every closed one."""

    def work(n: int) -> int:
        base = _plan([(443, f"10.1.{i // 250}.{i % 250}/32") for i in range(n)])
        head = _plan([(443, f"10.2.{i // 250}.{i % 250}/32") for i in range(n)])
        return _work(monkeypatch, base, head)

    small, large = work(100), work(400)
    assert large <= 4.5 * small, (small, large)


def test_a_wider_peer_still_names_the_first_closed_peer_it_takes_in() -> None:
    base = _plan([(443, "10.1.0.0/24"), (443, "10.1.1.0/24"), (443, "10.9.0.0/24")])
    head = _plan([(443, "10.1.0.0/16"), (443, "10.9.0.0/24")])
    assert diff_plans(base, head).broadening == [
        "widens tcp/443 on gateway from 10.1.0.0/24 to 10.1.0.0/16 [seg-ssh-console]"
    ]


NETWORKS = st.one_of(
    st.sampled_from(["Internet", "*", "sg-0123", "VirtualNetwork", "0.0.0.0/0", "::/0"]),
    st.builds(
        lambda a, b, n: str(ipaddress.ip_network(f"10.{a}.{b}.0/{n}", strict=False)),
        st.integers(0, 3),
        st.integers(0, 3),
        st.integers(8, 32),
    ),
    st.builds(
        lambda a, n: str(ipaddress.ip_network(f"2001:db8:{a}::/{n}", strict=False)),
        st.integers(0, 3),
        st.integers(32, 64),
    ),
)


@settings(max_examples=300, deadline=None)
@given(closed=st.lists(NETWORKS, max_size=12, unique=True), opened=NETWORKS)
def test_the_indexed_search_finds_what_comparing_every_pair_finds(closed: list[str], opened: str) -> None:
    expected = next((c for c in closed if seawall_diff._within(c, opened)), None)
    assert seawall_diff._Narrower(closed).first_within(opened) == expected


@settings(max_examples=300, deadline=None)
@given(head=st.lists(NETWORKS, max_size=10), peer=NETWORKS)
def test_the_merged_union_holds_what_the_union_size_says_it_holds(head: list[str], peer: str) -> None:
    for version in (4, 6):
        networks = seawall_diff._networks(head, version)
        union = seawall_diff._Union(networks)
        for net in seawall_diff._networks([peer], version):
            assert union.holds(net) == (union_size([*networks, net], version) == union_size(networks, version))


# --- plan: a cold `seawall plan --format json` imports what a plan uses, and reads the catalogue once ---------

PLAN_PROBE = """
import collections, gc, json, sys
import seawall.catalog.load as load
import seawall.preview.plan as preview
reads = collections.Counter()
read_yaml = load.read_yaml
def counted(path, *args, **kwargs):
    reads[path.name] += 1
    return read_yaml(path, *args, **kwargs)
load.read_yaml = counted
collector = {}
run_plan = preview.run_plan
def watched(prepared):
    collector["during"] = gc.isenabled()
    collector["sdk_frozen"] = "pulumi_aws" in sys.modules or "pulumi_azure_native" in sys.modules
    collector["frozen"] = gc.get_freeze_count()
    return run_plan(prepared)
import seawall.cli.plan
seawall.cli.plan.run_plan = watched
sys.argv = ["seawall", "plan", "--stack", sys.argv[1], "--format", "json", "--stacks-dir", sys.argv[2]]
from seawall.cli import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
collector["after"] = gc.isenabled()
print(json.dumps({"modules": sorted(sys.modules), "reads": reads, "collector": collector}), file=sys.stderr)
"""

# Never needed by a plan printed as JSON: DNS (resolve), boto3 (audit), rich (tables), ruamel (error positions),
# schema generation; and each stack needs its own cloud's SDK only.
NOT_FOR_A_PLAN = (
    "dns",
    "boto3",
    "botocore",
    "rich",
    "ruamel",
    "jsonschema",
    "pydantic",  # typer 0.29 brought it back through its option coercion: +50 ms per cold command
    "pydantic_core",
    "seawall.catalog.schema",
    "seawall.provider",
)
OTHER_CLOUD = {"aws": "pulumi_azure_native", "azure": "pulumi_aws"}


@pytest.mark.parametrize("stack", ["dmz-aws", "dmz-azure"])
def test_a_json_plan_imports_only_what_a_plan_uses(stack: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PLAN_PROBE, stack, str(REPO / "stacks")],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert json.loads(done.stdout)["stack"] == stack
    forbidden = (*NOT_FOR_A_PLAN, OTHER_CLOUD[stack.split("-")[-1]])
    loaded = {prefix for name in report["modules"] for prefix in forbidden if (name + ".").startswith(prefix + ".")}
    assert not loaded, f"a JSON plan of {stack} imported {sorted(loaded)}"
    assert report["reads"] and all(n == 1 for n in report["reads"].values()), report["reads"]  # catalogue read once
    # The provider SDK was imported before the program ran and frozen with the other imports; the program's
    # own work runs with the collector on; the exit walks nothing (everything frozen, collector off).
    assert report["collector"]["sdk_frozen"] and report["collector"]["frozen"] > 100_000, report["collector"]
    assert report["collector"]["during"] is True and report["collector"]["after"] is False, report["collector"]


def test_a_command_run_in_another_process_leaves_its_collector_as_it_found_it() -> None:
    from seawall.cli.common import import_for_work

    frozen = gc.get_freeze_count()
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            import_for_work("seawall.aws.component")
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
    assert gc.get_freeze_count() == frozen  # a test's or a program's heap is never frozen


# --- catalogue: an error costs no second parse; lines from the fast reading are the round-trip parser's -------


def _catalogue(tmp_path: Path, copies: int, bad_last: bool = False) -> tuple[Path, int]:
    """The shipped catalogue with the SEG entries copied ``copies`` times; ``bad_last``: port 70000 at the very end.

    Returns the directory and the line of the last ``ports:`` (where the error must point).
    """
    target = tmp_path / "catalog"
    target.mkdir(parents=True)
    for path in CATALOG_DIR.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    head, entries = (CATALOG_DIR / "clearswift-seg.yaml").read_text(encoding="utf-8").split("\nentries:\n", 1)
    entries = entries.rstrip("\n") + "\n"
    text = head + "\nentries:\n" + entries
    text += "".join(re.sub(r"^(  - id: \S+)$", rf"\1-x{n}", entries, flags=re.MULTILINE) for n in range(copies))
    at = text.rindex("ports: [")
    if bad_last:
        text = text[:at] + "ports: [70000" + text[text.index("]", at) :]
    (target / "clearswift-seg.yaml").write_text(text, encoding="utf-8")
    return target, text[:at].count("\n") + 1


def test_a_bad_last_entry_is_positioned_without_the_round_trip_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, line = _catalogue(tmp_path, copies=40, bad_last=True)

    def refuse(*_: Any) -> None:
        raise AssertionError("the round-trip parser ran to find a line the fast reading knew")

    monkeypatch.setattr(yamlsource, "_round_trip", refuse)
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    assert str(info.value).startswith(f"{directory / 'clearswift-seg.yaml'}:{line}: entries[1024] (seg-syslog-x39)")
    assert str(info.value).endswith("port 70000 is out of range; valid: 1–65535")


def test_a_clean_load_never_imports_the_round_trip_parser() -> None:
    probe = (
        "import sys\nfrom pathlib import Path\nfrom seawall.catalog import load_catalog\n"
        f"load_catalog(Path({str(CATALOG_DIR)!r}))\nprint('ruamel' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "False"


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


SHIPPED_YAML = sorted(
    [
        *CATALOG_DIR.glob("*.yaml"),
        *(REPO / "stacks").glob("*.yaml"),
        *(REPO / "components/seawall/topologies").glob("*.yaml"),
    ]
)


@pytest.mark.parametrize("path", SHIPPED_YAML, ids=[p.name for p in SHIPPED_YAML])
def test_every_line_from_the_fast_reading_is_the_round_trip_parsers(path: Path) -> None:
    fast = yamlsource.read_yaml(path)
    assert fast.positions is not None
    exact = yamlsource.YamlDocument(fast.path, fast.text, fast.data, UserError)  # no positions: ruamel's lines
    for loc in _paths(fast.data):
        assert fast.line_of(loc) == exact.line_of(loc), loc


@pytest.mark.parametrize("enabled", [True, False])
def test_a_load_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path, enabled: bool) -> None:
    good, _ = _catalogue(tmp_path / "good", copies=1)
    bad, _ = _catalogue(tmp_path / "bad", copies=1, bad_last=True)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        load_catalog(good)
        assert gc.isenabled() is enabled
        with pytest.raises(CatalogError):
            load_catalog(bad)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_loading_reports_progress_to_the_end_and_nothing_without_a_callback(tmp_path: Path) -> None:
    directory, _ = _catalogue(tmp_path, copies=20)
    calls: list[tuple[str, int, int]] = []
    load_catalog(directory, progress=lambda what, done, total: calls.append((what, done, total)))
    total = sum(p.stat().st_size for p in directory.glob("*.yaml"))
    assert len(calls) > 20  # within the big file too, not only per file
    assert {c[0] for c in calls} == {"loading catalogue"} and {c[2] for c in calls} == {total}
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)  # never backwards
    assert calls[-1][1] == total
