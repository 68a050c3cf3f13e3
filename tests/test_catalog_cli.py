"""`seawall catalog` as its users see it: a table, a JSON contract, the reference page."""

from __future__ import annotations

import json

from conftest import CATALOG_DIR, REPO
from seawall.catalog.schema import catalog_schema_text
from seawall.cli import app
from typer.testing import CliRunner

REQUIRED_KEYS = {
    "id", "product", "host", "direction", "protocol", "ports", "peer", "scope", "features",
    "purpose", "source", "hostnames", "addresses", "retired_addresses",
}  # fmt: skip


def catalog_json(runner: CliRunner, *args: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["catalog", "--format", "json", *args])
    assert result.exit_code == 0, result.stderr
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def test_json_has_one_object_per_entry_with_the_contract_keys(runner: CliRunner) -> None:
    data = catalog_json(runner)
    assert len({e["id"] for e in data}) == len(data) > 80
    for entry in data:
        assert entry.keys() >= REQUIRED_KEYS, entry["id"]
        assert isinstance(entry["ports"], list)
        assert all(isinstance(p, int) or (isinstance(p, list) and len(p) == 2) for p in entry["ports"])
        assert isinstance(entry["protocol"], str | list)
        assert isinstance(entry["hostnames"], list)


def test_json_of_the_kaspersky_row_names_its_hosts_and_addresses(runner: CliRunner) -> None:
    (kav,) = [e for e in catalog_json(runner, "--product", "clearswift-seg") if e["id"] == "seg-av-updates-kaspersky"]
    assert kav["ports"] == [80] and kav["protocol"] == "tcp" and kav["direction"] == "outbound"
    assert kav["peer"] == "service:kav-update" and kav["features"] == ["kaspersky"]
    assert kav["hostnames"] == [f"kav-update-8-{n}.clearswift.net" for n in range(1, 5)]
    assert kav["addresses"] == ["185.155.104.24", "70.33.161.213", "185.155.104.25", "70.33.161.214"]
    assert "54.254.98.96" in kav["retired_addresses"]  # type: ignore[operator]
    source = kav["source"]
    assert isinstance(source, dict)
    assert source["issue"] == "2.3" and source["section"] == "External Connections"


def test_a_udp_tcp_row_lists_both_protocols(runner: CliRunner) -> None:
    (dns,) = [e for e in catalog_json(runner, "-p", "clearswift-seg") if e["id"] == "seg-dns"]
    assert sorted(dns["protocol"]) == ["tcp", "udp"]  # type: ignore[arg-type]
    assert dns["direction"] == "both" and dns["initiator"] == "host"


def test_port_ranges_are_pairs(runner: CliRunner) -> None:
    ports = [p for e in catalog_json(runner, "-p", "trendmicro-imss") for p in e["ports"]]  # type: ignore[attr-defined]
    assert all(isinstance(p, int) or (len(p) == 2 and p[0] < p[1]) for p in ports)


def test_the_table_shows_ports_and_purposes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["catalog", "--product", "trendmicro-imss"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "8445" in result.stdout and "imss-admin-console" in result.stdout.replace("\n", "")


def test_lang_ja_shows_the_original_japanese(runner: CliRunner) -> None:
    result = runner.invoke(app, ["catalog", "-p", "clearswift-sxg", "--lang", "ja", "-f", "markdown"])
    assert result.exit_code == 0
    assert "SMTP を使ってメッセージを受信する" in result.stdout


def test_docs_catalog_md_is_generated_from_the_catalogue(runner: CliRunner) -> None:
    result = runner.invoke(app, ["catalog", "--format", "markdown"])
    committed = (REPO / "docs" / "reference" / "catalog.md").read_text(encoding="utf-8")
    assert result.stdout == committed, (
        "docs/reference/catalog.md is stale: seawall catalog --format markdown > docs/reference/catalog.md"
    )


def test_committed_json_schema_is_current() -> None:
    committed = (CATALOG_DIR / "catalog.schema.json").read_text(encoding="utf-8")
    assert committed == catalog_schema_text(), "stale schema: seawall schema > catalog/catalog.schema.json"


def test_every_catalogue_file_validates_against_the_published_schema() -> None:
    import jsonschema
    from ruamel.yaml import YAML

    schema = json.loads(catalog_schema_text())
    for path in sorted(CATALOG_DIR.glob("*.yaml")):
        jsonschema.validate(YAML(typ="safe").load(path.read_text(encoding="utf-8")), schema)
