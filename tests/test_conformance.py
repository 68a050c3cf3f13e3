"""`seawall conformance`: every row of the vendor's document, what the stack does with it, proven on the rendered rules.

Also the catalogue corrections a row-by-row reading found (document order, Japanese quotations,
notes that cite the other document, retired addresses that follow the hostname).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from builders import SHIPPED, STACKS, aws, azure, shipped, variant
from conftest import REPO, normalise
from seawall.addresses.ipsets import ipsets_from_lock, retired_by_host
from seawall.addresses.lock import HostRecord, Lock, LockError
from seawall.analysis.conformance import (
    DISPOSITIONS,
    BaseRow,
    Report,
    Row,
    changes,
    conformance,
    read_base,
    stack_specs,
)
from seawall.aws.render import AwsPeer, AwsSpec
from seawall.azure.render import AzurePeer, AzureRule, AzureSpec
from seawall.catalog import Catalog
from seawall.cli import app
from seawall.errors import UserError
from seawall.flows import compile_flows
from seawall.preview.plan import plan_stack
from seawall.report.conformance import change_text, conformance_json, conformance_markdown
from seawall.stack import CompiledStack
from typer.testing import CliRunner

DOCS = REPO / "docs" / "reference" / "conformance"
PAIRS = [("dmz-aws", "dmz-azure"), ("dmz-sxg-aws", "dmz-sxg-azure"), ("mss-distributed-aws", "mss-distributed-azure")]


def report_of(stack: str, clouds: tuple[str, ...] = ()) -> Report:
    compiled = shipped(stack)
    own = aws(compiled) if compiled.config.settings.cloud == "aws" else azure(compiled)
    return conformance(compiled, stack_specs(compiled, own, clouds or (compiled.config.settings.cloud,)))


def row(report: Report, label: str) -> Row:
    return next(r for r in report.rows if r.label == label)


def failing(report: Report) -> dict[str, list[str]]:
    """Row label → the texts of its failed checks."""
    out: dict[str, list[str]] = {}
    for r in report.rows:
        for p in r.parts:
            out.setdefault(r.label, []).extend(c.text for c in p.checks if not c.ok)
    return {k: v for k, v in out.items() if v}


# --- the shipped stacks -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_shipped_stack_conforms_on_both_clouds(stack: str) -> None:
    report = report_of(stack, ("aws", "azure"))
    assert failing(report) == {}
    assert report.unjustified == ()
    assert report.violations == 0


@pytest.mark.parametrize("stack", SHIPPED)
def test_every_entry_of_the_product_is_reported_once_per_half_in_catalogue_order(stack: str) -> None:
    compiled = shipped(stack)
    report = report_of(stack)
    product = compiled.catalog.products[compiled.flows.product]
    expected = [(e.id, h) for e in product.entries for h in (("in", "out") if e.direction == "both" else (None,))]
    got = [(r.entry.id, r.half if r.halves == 2 else None) for r in report.rows]
    assert got == expected


def test_every_disposition_appears_in_a_shipped_stacks_report() -> None:
    seen = {r.disposition for stack in SHIPPED for r in report_of(stack).rows}
    assert seen == set(DISPOSITIONS)


@pytest.mark.parametrize(("aws_stack", "azure_stack"), PAIRS)
def test_aws_and_azure_reports_of_the_same_topology_agree_row_by_row(aws_stack: str, azure_stack: str) -> None:
    def reading(report: Report) -> list[Any]:
        return [
            (r.key, r.disposition, [(p.role, p.peer, p.endpoint, p.disposition, p.why, p.ok) for p in r.parts])
            for r in report.rows
        ]

    assert reading(report_of(aws_stack)) == reading(report_of(azure_stack))
    # And one stack rendered for both clouds reads the same on each.
    both = report_of(aws_stack, ("aws", "azure"))
    assert all(len(p.checks) == 2 and p.ok for r in both.rows for p in r.parts)


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_report_agrees_with_the_flows_and_their_notices(stack: str) -> None:
    """Each notice of the flows IR is the disposition of a part; each flow an open part of its rows."""
    compiled = shipped(stack)
    report = report_of(stack)
    parts = {(r.entry.id, r.half, p.role, p.disposition) for r in report.rows for p in r.parts}
    kinds = {
        "closed-half": "closed-stateful-reply",
        "localhost": "never-open",
        "not-rendered": "not-renderable",
        "unresolved": "denied",
        "internet-opt-in": "opted-in",
        "no-peer-role": "off",
    }
    for notice in compiled.flows.notices:
        if notice.kind in kinds and notice.entry:
            assert any((notice.entry, h, notice.role, kinds[notice.kind]) in parts for h in ("in", "out")), (
                f"{notice.kind} {notice.role} {notice.entry} is not in the report"
            )
    for flow in compiled.flows.flows:
        for entry in flow.entries:
            ends = [(e.name, h) for e, h in ((flow.src, "out"), (flow.dst, "in")) if e.kind == "role"]
            assert any((entry, h, role, d) in parts for role, h in ends for d in ("open", "opted-in")), (
                f"flow {flow.key} of {entry} is open in no row"
            )


# --- what each disposition says, and the check behind it ---------------------------------------------


def test_a_vendor_service_without_addresses_is_denied_with_its_unresolved_hosts() -> None:
    ntp = row(report_of("dmz-aws"), "seg-ntp")
    assert ntp.disposition == "denied"
    assert ntp.parts[0].unresolved == ("time.clearswift.net",)
    assert ntp.reason == "ntp hosts unresolved: time.clearswift.net"
    assert ntp.parts[0].checks[0].text == "no rule covers udp/123 out on gateway"


def test_ksn_is_opted_in_to_the_internet_by_the_stack_key_and_the_query_allows_it() -> None:
    report = report_of("dmz-sxg-aws")
    ksn = row(report, "sxg-kaspersky-ksn (out)")
    assert ksn.disposition == "opted-in"
    assert ksn.parts[0].key == "seawall:internetEgress" and ksn.parts[0].endpoint == "internet"
    assert ksn.parts[0].checks[0].rules == ("sxg-gateway-out-tcp-443-internet-ipv4",)
    # The other half of the 受信/送信 row is the stateful reply: nothing lets the internet in on 443.
    back = row(report, "sxg-kaspersky-ksn (in)")
    assert back.disposition == "closed-stateful-reply"
    assert back.parts[0].checks[0].text.startswith("denied;")


def test_the_inbound_half_of_a_client_row_is_closed_and_denied_by_the_rules() -> None:
    report = report_of("dmz-sxg-azure")
    ldap_in, ldap_out = row(report, "sxg-directory-ldap (in)"), row(report, "sxg-directory-ldap (out)")
    assert (ldap_in.disposition, ldap_out.disposition) == ("closed-stateful-reply", "open")
    assert ldap_in.parts[0].checks[0].text == "denied; no rule covers tcp/389 in on gateway"
    assert ldap_out.parts[0].checks[0].rules == ("out-tcp-389-site-directory-servers-ipv4",)


def test_active_ftp_data_is_not_renderable_with_the_catalogues_reason() -> None:
    data = row(report_of("dmz-sxg-aws"), "sxg-backup-ftp-data (in)")
    assert data.disposition == "not-renderable"
    assert data.reason.startswith("The active-FTP data connection comes from the server's port 20")


def test_product_internal_ports_are_denied_from_every_peer_and_no_rule_covers_them() -> None:
    report = report_of("mss-distributed-aws")
    scan = row(report, "imss-scan-service")
    assert scan.disposition == "never-open"
    assert {p.role for p in scan.parts} == {"child", "parent"}
    # internet, four bound site peers, both roles
    assert all(
        p.checks[0].text == f"denied from all 7 peers; no rule covers tcp/10025 in on {p.role}" for p in scan.parts
    )


def test_off_names_the_feature_or_the_role_and_the_port_stays_open_only_for_other_rows() -> None:
    sophos = row(report_of("dmz-aws"), "seg-av-updates-sophos")
    assert sophos.disposition == "off" and sophos.reason == "feature sophos is off (seawall:features)"
    assert "open only for other rows or peers (seg-apphelp to service:apphelp" in sophos.parts[0].checks[0].text
    no_exchange = variant(
        {
            "topology": "dmz",
            "cloud": "aws",
            "product": "clearswift-sxg",
            "vpcId": "vpc-0123456789abcdef0",
            "peers": {
                "internal-mail-servers": ["192.0.2.10/32"],
                "dns-servers": ["192.0.2.53/32"],
                "admin-clients": ["198.51.100.0/28"],
            },
        }
    )
    report = conformance(no_exchange, {"aws": aws(no_exchange)})
    store = row(report, "sxg-exchange-configuration-store (out)")
    assert store.disposition == "off" and store.reason == "role exchange is not in this stack (seawall:roles)"
    assert store.parts[0].checks[0].text == "no rule cites it"
    assert report.violations == 0


def test_an_open_row_lists_the_rules_that_open_it_and_the_addresses_it_probed() -> None:
    kav = row(report_of("dmz-aws"), "seg-av-updates-kaspersky")
    assert kav.disposition == "open"
    part = kav.parts[0]
    assert part.checks[0].rules == ("dmz-gateway-out-tcp-80-svc-kav-update-ipv4",)
    documented = {"185.155.104.24", "70.33.161.213", "185.155.104.25", "70.33.161.214"}
    assert {ipaddress.ip_network(a.removeprefix("cidr:")) for a in part.addresses} == {
        ipaddress.ip_network(a) for a in documented
    }
    assert part.missing == ()


def test_a_row_that_changes_disposition_is_listed_with_the_reason() -> None:
    """The issue's example: with a lock time.clearswift.net resolves (open); without it NTP is denied."""
    compiled = shipped("dmz-aws")
    lock = Lock(hosts={"time.clearswift.net": HostRecord(("162.159.200.1/32",), "ok", "dns", ("clearswift-seg/ntp",))})
    ipsets = ipsets_from_lock(compiled.catalog, lock)
    flows = compile_flows(compiled.catalog, compiled.topology, compiled.config, ipsets)
    resolved = replace(compiled, ipsets=ipsets, flows=flows)
    before = conformance(resolved, {"aws": aws(resolved)})
    assert row(before, "seg-ntp").disposition == "open" and before.violations == 0
    base = {r.key: BaseRow(r.label, r.disposition) for r in before.rows}
    changed = changes(base, report_of("dmz-aws"))
    assert [change_text(c) for c in changed] == ["`seg-ntp`: open → denied: ntp hosts unresolved: time.clearswift.net"]


# --- injected faults ------------------------------------------------------------------------------------


def with_aws_rule(
    compiled: CompiledStack, role: str, direction: str, port: int, peer: AwsPeer, cites: tuple[str, ...]
) -> AwsSpec:
    spec = aws(compiled)
    model = next(r for r in spec.rules if r.role == role)
    name = f"injected-{role}-{direction}-tcp-{port}"
    extra = replace(
        model, name=name, direction=direction, ip_protocol="tcp", from_port=port, to_port=port, peer=peer, entries=cites
    )  # type: ignore[arg-type]
    return replace(spec, rules=(*spec.rules, extra))


def with_azure_rule(
    compiled: CompiledStack, role: str, port: int, source: AzurePeer, cites: tuple[str, ...]
) -> AzureSpec:
    spec = azure(compiled)
    roles = []
    for r in spec.roles:
        if r.role == role:
            rule = AzureRule(
                name=f"injected-in-tcp-{port}",
                priority=101,
                direction="Inbound",
                access="Allow",
                protocol="Tcp",
                source=source,
                destination=AzurePeer("asgs", (role,), roles=True),
                destination_port_range=str(port),
                description="injected",
                entries=cites,
                peers=(),
            )
            r = replace(r, rules=(rule, *r.rules))
        roles.append(r)
    return replace(spec, roles=tuple(roles))


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_a_rule_opening_a_product_internal_port_is_a_violation(cloud: str) -> None:
    compiled = shipped(f"mss-distributed-{cloud}")
    if cloud == "aws":
        spec: AwsSpec | AzureSpec = with_aws_rule(
            compiled, "child", "ingress", 10025, AwsPeer("cidr_ipv4", "198.51.100.0/28"), ("imss-scan-service",)
        )
    else:
        spec = with_azure_rule(
            compiled, "child", 10025, AzurePeer("prefixes", ("198.51.100.0/28",)), ("imss-scan-service",)
        )
    report = conformance(compiled, {cloud: spec})
    broken = failing(report)
    assert list(broken) == ["imss-scan-service"]
    assert "a product-internal port is never opened" in broken["imss-scan-service"][0]
    assert "allowed by" not in broken["imss-scan-service"][0]
    assert [u.rule for u in report.unjustified] == [next(iter(_injected(spec)))]
    assert report.violations == 2


def _injected(spec: AwsSpec | AzureSpec) -> list[str]:
    if isinstance(spec, AwsSpec):
        return [r.name for r in spec.rules if r.name.startswith("injected")]
    return [r.name for role in spec.roles for r in role.rules if r.name.startswith("injected")]


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_a_documented_flow_removed_from_the_plan_is_a_violation(cloud: str) -> None:
    compiled = shipped(f"dmz-{cloud}")
    if cloud == "aws":
        spec: AwsSpec | AzureSpec = replace(
            aws(compiled),
            rules=tuple(r for r in aws(compiled).rules if r.name != "dmz-gateway-in-tcp-25-internet-ipv4"),
        )
    else:
        az = azure(compiled)
        spec = replace(
            az,
            roles=tuple(
                replace(r, rules=tuple(x for x in r.rules if x.name != "in-tcp-25-internet")) for r in az.roles
            ),
        )
    report = conformance(compiled, {cloud: spec})
    why = "no rule allows internet" if cloud == "aws" else "internet denied by deny-all-inbound"
    assert failing(report) == {"seg-smtp-receive": [f"DENIED at tcp/25: {why}"]}
    assert report.violations == 1


def test_a_rule_for_a_row_the_stack_keeps_off_is_a_violation() -> None:
    compiled = shipped("dmz-aws")
    spec = with_aws_rule(compiled, "gateway", "egress", 443, AwsPeer("cidr_ipv4", "0.0.0.0/0"), ("seg-kaspersky-ksn",))
    report = conformance(compiled, {"aws": spec})
    # Every row the stack keeps off on 443 out is broken by it, and the rule is in the summary.
    assert failing(report) == {
        "seg-kaspersky-ksn": ["injected-gateway-egress-tcp-443 opens tcp/443 out on gateway: no row justifies it"],
        "seg-lexical-data": [
            "injected-gateway-egress-tcp-443 opens tcp/443,22,990 out on gateway: no row justifies it"
        ],
    }
    assert [(u.rule, u.why) for u in report.unjustified] == [
        ("injected-gateway-egress-tcp-443", "cites seg-kaspersky-ksn, which this stack does not open")
    ]


def test_a_rule_wider_than_its_rows_peer_is_unjustified() -> None:
    compiled = shipped("dmz-azure")
    spec = with_azure_rule(compiled, "gateway", 22, AzurePeer("service-tag", ("Internet",)), ("seg-ssh-console",))
    report = conformance(compiled, {"azure": spec})
    assert [(u.rule, u.why) for u in report.unjustified] == [
        ("injected-in-tcp-22", "opens internet, beyond the peers of seg-ssh-console")
    ]


def test_a_documented_vendor_address_missing_from_its_prefix_list_is_a_violation() -> None:
    compiled = shipped("dmz-aws")
    spec = aws(compiled)
    lists = tuple(
        replace(pl, entries=tuple(e for e in pl.entries if e[0] != "70.33.161.213/32"))
        if pl.service == "kav-update"
        else pl
        for pl in spec.prefix_lists
    )
    report = conformance(compiled, {"aws": replace(spec, prefix_lists=lists)})
    kav = row(report, "seg-av-updates-kaspersky")
    assert not kav.ok and kav.parts[0].missing == ("70.33.161.213",)


@pytest.mark.parametrize("fault", ["removed", "added"])
def test_the_command_exits_1_on_an_injected_fault(
    fault: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seawall.cli.conformance as command

    real = command.stack_specs

    def faulty(compiled: CompiledStack, own: Any, clouds: Any) -> Any:
        specs = real(compiled, own, clouds)
        spec = specs["aws"]
        assert isinstance(spec, AwsSpec)
        if fault == "removed":
            return {"aws": replace(spec, rules=tuple(r for r in spec.rules if "in-tcp-25-internet" not in r.name))}
        return {"aws": with_aws_rule(compiled, "child", "ingress", 2500, AwsPeer("cidr_ipv4", "0.0.0.0/0"), ())}

    monkeypatch.setattr(command, "stack_specs", faulty)
    stack = "dmz-aws" if fault == "removed" else "mss-distributed-aws"
    result = runner.invoke(app, ["conformance", "--stack", stack, "--stacks-dir", str(STACKS), "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["summary"]["violations"] >= 1
    bad = [r["label"] for r in data["rows"] if not r["ok"]]
    assert bad == (["seg-smtp-receive"] if fault == "removed" else ["imss-postfix-sender-filter"])


# --- the command, its contract and its pages ------------------------------------------------------------


def cli(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(app, ["conformance", "--stacks-dir", str(STACKS), *args])


def test_json_is_one_object_per_row_and_byte_identical_across_runs(runner: CliRunner) -> None:
    first = cli(runner, "--stack", "dmz-sxg-aws", "--format", "json")
    second = cli(runner, "--stack", "dmz-sxg-aws", "--format", "json")
    assert first.exit_code == 0 and first.output == second.output
    data = json.loads(first.output)
    assert set(data) == {
        "stack",
        "topology",
        "product",
        "roles",
        "clouds",
        "documents",
        "notes",
        "summary",
        "rows",
        "unjustified",
    }
    assert (
        data["summary"]["rows"] == len(data["rows"]) == sum(v for k, v in data["summary"].items() if k in DISPOSITIONS)
    )
    keys = {"entry", "half", "label", "document", "section", "row", "purpose", "host", "direction", "initiator",
            "protocol", "ports", "features", "disposition", "reason", "ok", "parts"}  # fmt: skip
    assert all(set(r) == keys for r in data["rows"])
    part = {
        "role",
        "peer",
        "endpoint",
        "disposition",
        "why",
        "key",
        "addresses",
        "missing",
        "unresolved",
        "ok",
        "checks",
    }
    assert all(set(p) == part for r in data["rows"] for p in r["parts"])
    assert len({(r["entry"], r["half"]) for r in data["rows"]}) == len(data["rows"])


def test_lang_ja_shows_japanese_rows_as_the_document_prints_them(runner: CliRunner) -> None:
    ja = cli(runner, "--stack", "dmz-sxg-azure", "--format", "markdown", "--lang", "ja")
    en = cli(runner, "--stack", "dmz-sxg-azure", "--format", "markdown")
    assert ja.exit_code == en.exit_code == 0
    assert "| 25 TCP 受信 SMTP を使ってメッセージを受信する。 | `sxg-smtp-receive` | tcp/25 | 受信 |" in ja.output
    assert "| Receive messages using SMTP. | `sxg-smtp-receive` | tcp/25 | in |" in en.output


def test_the_table_names_the_verdict_and_every_row(runner: CliRunner) -> None:
    result = cli(runner, "--stack", "mss-distributed-aws")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "mss-distributed-aws: trendmicro-imss (mss-distributed; aws): conforms"
    assert any(re.match(r"^  imss-scan-service +never open +tcp/10025 ", line) for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stack", "nope"], "no such stack 'nope'"),
        (["--stack", "dmz-aws", "--format", "yaml"], "'yaml' is not one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = cli(runner, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"stack": "dmz-aws"}', "no 'rows' list"),
        ('{"stack": "dmz-azure", "rows": []}', "a report of stack 'dmz-azure', not 'dmz-aws'"),
        (
            '{"rows": [{"entry": "seg-ntp", "half": "out", "disposition": "shut"}]}',
            "rows[0].disposition: 'shut'; valid: open",
        ),
        ('{"rows": [{"entry": "seg-ntp", "half": "up", "disposition": "open"}]}', "rows[0].half: 'up'; valid: in, out"),
    ],
)
def test_a_bad_base_report_is_named_with_what_would_be_valid(
    tmp_path: Path, runner: CliRunner, text: str, message: str
) -> None:
    base = tmp_path / "base.json"
    base.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=re.escape(message)):
        read_base(base, "dmz-aws")
    result = cli(runner, "--stack", "dmz-aws", "--base", str(base))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert re.match(rf"seawall: error: {re.escape(str(base))}(:\d+)?: ", result.output)


def test_a_base_report_is_read_boundedly(tmp_path: Path, runner: CliRunner) -> None:
    """Nested 100,000 deep, or a key twice: one line naming the file and line, never a traceback."""
    for text, message in (("[" * 100_000, "nest"), ('{"rows": [], "rows": []}', "twice")):
        base = tmp_path / "base.json"
        base.write_text(text, encoding="utf-8")
        result = cli(runner, "--stack", "dmz-aws", "--base", str(base))
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert message in result.output and "Traceback" not in result.output


def test_the_pull_request_section_lists_changed_rows_and_collapses_the_rest(tmp_path: Path, runner: CliRunner) -> None:
    earlier = json.loads(cli(runner, "--stack", "dmz-aws", "--format", "json").output)
    for r in earlier["rows"]:
        if r["entry"] == "seg-av-updates-sophos":
            r["disposition"] = "open"
    base = tmp_path / "base.json"
    base.write_text(json.dumps(earlier), encoding="utf-8")
    result = cli(runner, "--stack", "dmz-aws", "--format", "comment", "--base", str(base))
    assert result.exit_code == 0
    text = result.output
    assert text.startswith("#### seawall conformance: `dmz-aws`: conforms\n")
    assert "- `seg-av-updates-sophos`: open → off: feature sophos is off (seawall:features)" in text
    assert "<details><summary>Row by row: 27 rows: open 18" in text and text.rstrip().endswith("</details>")
    empty = tmp_path / "empty.json"
    empty.write_text('{"rows": []}', encoding="utf-8")
    quiet = cli(runner, "--stack", "dmz-aws", "--format", "comment", "--base", str(empty)).output
    assert "No base report to compare with" in quiet


# --- the committed pages ---------------------------------------------------------------------------------


def test_there_is_a_committed_report_for_every_shipped_stack() -> None:
    assert sorted(p.stem for p in DOCS.glob("*.md")) == SHIPPED


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_committed_report_is_current(stack: str) -> None:
    """A catalogue or renderer change shows its effect on the evidence in the same pull request."""
    plan = plan_stack(stack, STACKS)
    report = conformance(plan.compiled, {plan.compiled.config.settings.cloud: plan.spec})
    path = DOCS / f"{stack}.md"
    assert path.read_text(encoding="utf-8") == conformance_markdown(report), (
        f"{path.name} is stale: seawall conformance --stack {stack} --format markdown > docs/reference/conformance/{stack}.md"
    )


def test_the_json_contract_matches_the_library(runner: CliRunner) -> None:
    plan = plan_stack("dmz-azure", STACKS)
    report = conformance(plan.compiled, {"azure": plan.spec})
    assert json.loads(cli(runner, "--stack", "dmz-azure", "--format", "json").output) == conformance_json(report)


# --- the catalogue corrections the row-by-row reading found -----------------------------------------------


def _position(text: str, row: str) -> int:
    return normalise(text).find(normalise(row))


def test_catalogue_entries_follow_their_documents_row_order(catalog: Catalog, seeds: dict[str, str]) -> None:
    for name, product in catalog.products.items():
        own = [e for e in product.entries if (e.source.product or name) == name]
        positions = [_position(seeds[name], e.source.row) for e in own]
        assert -1 not in positions
        out_of_order = [
            e.id for e, before, after in zip(own[1:], positions, positions[1:], strict=False) if after < before
        ]
        assert out_of_order == [], f"{name}: entries out of the document's order: {out_of_order}"


def test_japanese_text_is_the_documents_own_words(catalog: Catalog, seeds: dict[str, str]) -> None:
    """A `ja` text is a quotation: every one is in the document it cites (whitespace aside)."""

    def squash(text: str) -> str:
        return re.sub(r"\s+", "", normalise(text))

    quoted = []
    for name, product in catalog.products.items():
        texts = [(f"hosts.{k}", v, name) for k, v in product.hosts.items()]
        texts += [(f"features.{k}", v, name) for k, v in product.features.items()]
        texts += [(f"services.{k}", v.purpose, name) for k, v in product.services.items()]
        texts += [(f"entries.{e.id}", e.purpose, e.source.product or name) for e in product.entries]
        texts += [
            (f"message_paths.{m.id}", t, name)
            for m in product.message_paths
            for t in (m.when, *(h.name for h in m.hops))
        ]
        quoted += [(f"{name}: {where}", t.ja, doc) for where, t, doc in texts if t.ja]
    paraphrased = [where for where, ja, doc in quoted if squash(ja) not in squash(seeds[doc])]
    assert paraphrased == []
    assert len(quoted) > 80


def test_retired_av_addresses_follow_every_host_that_the_documents_name(catalog: Catalog) -> None:
    retired = {"184.72.245.1", "79.125.8.252", "175.41.136.7", "174.129.26.118", "176.34.251.142", "54.254.98.96"}
    by_host = retired_by_host(catalog)
    hosts = [f"kav-update-8-{n}.clearswift.net" for n in range(1, 7)] + [
        f"sav-update-{n}.clearswift.net" for n in range(1, 7)
    ]
    assert {h: by_host[h] for h in hosts} == {h: retired for h in hosts}
    sxg = catalog.products["clearswift-sxg"]
    assert (
        set(sxg.services["kav-update"].retired_addresses)
        == set(sxg.services["sav-update"].retired_addresses)
        == retired
    )


@pytest.mark.parametrize(
    "host", ["kav-update-8-1.clearswift.net", "kav-update-8-6.clearswift.net", "sav-update-5.clearswift.net"]
)
def test_a_lock_that_brings_a_retired_address_back_is_refused_for_either_product(catalog: Catalog, host: str) -> None:
    services = ("clearswift-sxg/kav-update",) if host.startswith("kav") else ("clearswift-sxg/sav-update",)
    lock = Lock(hosts={host: HostRecord(("54.254.98.96/32",), "ok", "dns", services)})
    with pytest.raises(LockError, match="retires for this host"):
        ipsets_from_lock(catalog, lock)


@pytest.mark.parametrize(
    ("entry", "needles"),
    [
        ("seg-apphelp", ["clearswifthelp.clearswift.com"]),
        ("sxg-online-help", ["apphelp.clearswift.com"]),
        ("seg-pmm-directory-tcp", ["full mode", "sxg-pmm-ntlm"]),
        ("seg-pmm-directory-udp", ["full mode", "sxg-pmm-ntlm-netbios-name"]),
        ("sxg-pmm-ntlm-rpc", ["seg-pmm-directory-tcp"]),
        ("sxg-pmm-ntlm-netbios-name", ["seg-pmm-directory-udp"]),
        ("sxg-pmm-ntlm-netbios-session", ["seg-pmm-directory-tcp"]),
        ("sxg-pmm-ntlm-smb", ["seg-pmm-directory-tcp"]),
        ("seg-dns", ["designated DNS server", "sxg-dns-requests-tcp"]),
        ("sxg-dns-requests-tcp", ["unrestricted access to DNS", "seg-dns"]),
        ("sxg-dns-requests-udp", ["unrestricted DNS", "seg-dns"]),
        ("seg-lexical-data", ["443 is in this document only", "sxg-lexical-data-sftp"]),
        ("sxg-lexical-data-sftp", ["HTTPS 443", "seg-lexical-data"]),
        ("sxg-lexical-data-ftps", ["HTTPS 443"]),
    ],
)
def test_contradictions_between_the_documents_cite_each_other(catalog: Catalog, entry: str, needles: list[str]) -> None:
    notes = " ".join(next(e for _, e in catalog.entries() if e.id == entry).notes.split())  # type: ignore[union-attr]
    assert all(n in notes for n in needles), notes


@pytest.mark.parametrize("entry", ["seg-syslog", "seg-lexical-data", "seg-snmp-alerts", "seg-peer-communications"])
def test_a_feature_the_row_does_not_state_says_why_seawall_adds_it(catalog: Catalog, entry: str) -> None:
    found = next(e for _, e in catalog.entries() if e.id == entry)
    notes = " ".join((found.notes or "").split())
    assert f"The row states no condition; seawall makes it the {found.features[0]} feature because" in notes
