"""A catalogue directory of the user's own: what it may hold, and what it says when something is wrong.

Every mistake is one line on stderr naming the file (and the line, where a line means
something), exit code 2; nothing in the directory is skipped without a word.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import CATALOG_DIR, REPO
from seawall.catalog import load_catalog
from seawall.cli import app
from seawall.errors import CatalogError
from typer.testing import CliRunner

PRODUCTS = ("clearswift-seg", "clearswift-sxg", "trendmicro-imss")


def copy_catalog(tmp_path: Path, products: tuple[str, ...] = PRODUCTS) -> Path:
    target = tmp_path / "catalog"
    target.mkdir()
    for product in products:
        shutil.copy(CATALOG_DIR / f"{product}.yaml", target / f"{product}.yaml")
    return target


def cli_error(directory: Path) -> str:
    """The one line ``seawall catalog --catalog DIR`` prints, having exited 2."""
    result = CliRunner().invoke(app, ["catalog", "--catalog", str(directory), "--format", "json"])
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_symlink_loop_is_an_error_naming_it(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    os.symlink("loop.yaml", directory / "loop.yaml")
    line = cli_error(directory)
    assert line.startswith("seawall: error: ") and "loop.yaml: a symbolic link loop" in line, line
    assert "valid: a <product>.yaml file" in line


def test_a_symlink_to_nothing_is_an_error_naming_it(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    os.symlink("gone.yaml", directory / "extra.yaml")
    line = cli_error(directory)
    assert "extra.yaml: a symbolic link to nothing (-> gone.yaml)" in line, line


def test_a_directory_named_like_a_catalogue_file_is_an_error_naming_it(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    (directory / "x.yaml").mkdir()
    line = cli_error(directory)
    assert "x.yaml: a directory, not a catalogue file; valid: a <product>.yaml file" in line, line


def test_a_symlink_to_a_catalogue_file_is_read(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path, ("clearswift-sxg", "trendmicro-imss"))
    os.symlink(CATALOG_DIR / "clearswift-seg.yaml", directory / "clearswift-seg.yaml")
    assert sorted(load_catalog(directory).products) == list(PRODUCTS)


def test_a_file_that_is_not_utf8_names_the_line_not_a_byte_offset(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    path = directory / "clearswift-seg.yaml"
    data = path.read_bytes()
    marker = b"    en: The Clearswift SECURE Email Gateway appliance"
    line = data[: data.index(marker)].count(b"\n") + 1
    path.write_bytes(data.replace(marker, marker + b" caf\xe9", 1))  # Latin-1, as an old editor saves it
    message = cli_error(directory)
    assert f"clearswift-seg.yaml:{line}: not UTF-8: byte 0xe9 at column {len(marker) + 5}" in message, message
    assert "valid: a UTF-8 text file" in message
    assert "position" not in message  # Python's own wording: "can't decode byte 0xe9 in position 1234"


def test_a_one_product_catalogue_loads_and_says_which_cited_documents_are_absent(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path, ("clearswift-seg",))
    catalog = load_catalog(directory)
    product = catalog.products["clearswift-seg"]
    carried = [e for e in product.entries if e.source.product is not None]
    assert [e.id for e in carried] == ["seg-smtp-receive", "seg-smtp-send"]
    assert [(c.entry, c.cited) for c in catalog.unloaded_citations] == [
        ("seg-smtp-receive", "clearswift-sxg"),
        ("seg-smtp-send", "clearswift-sxg"),
    ]
    for entry in carried:
        assert entry.source.product == "clearswift-sxg"  # the entry keeps its citation
        assert catalog.source_document(product, entry) is None  # never the SEG document in its place
        note = catalog.source_note(product, entry)
        assert note is not None and f"{entry.id} carries over a row of the clearswift-sxg document" in note
        assert "does not load" in note
    own = next(e for e in product.entries if e.source.product is None)
    assert catalog.source_document(product, own) == product.document
    assert catalog.source_note(product, own) is None
    result = CliRunner().invoke(app, ["catalog", "--catalog", str(directory), "--format", "json"])
    assert result.exit_code == 0, result.output


def test_the_shipped_catalogue_cites_only_documents_it_loads() -> None:
    """A misspelt source.product would otherwise read as a document that is merely absent."""
    catalog = load_catalog(CATALOG_DIR)
    assert catalog.unloaded_citations == ()
    for product, entry in catalog.entries():
        assert catalog.source_document(product, entry) is not None


def test_an_error_in_a_cited_product_is_still_an_error(tmp_path: Path) -> None:
    """Loading what is there is not leniency: a broken file stops the load with its line."""
    directory = copy_catalog(tmp_path)
    path = directory / "clearswift-sxg.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("ports: [25]", "ports: [0]", 1), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"clearswift-sxg\.yaml:\d+: .*port 0 is out of range"):
        load_catalog(directory)


def test_a_one_product_catalogue_plans_its_stacks_and_refuses_the_others(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path, ("clearswift-seg",))
    runner = CliRunner()
    stacks = ["--stacks-dir", str(REPO / "stacks"), "--format", "json"]
    shipped = runner.invoke(app, ["plan", "--stack", "dmz-aws", *stacks])
    planned = runner.invoke(app, ["plan", "--stack", "dmz-aws", "--catalog", str(directory), *stacks])
    assert planned.exit_code == 0, planned.output
    assert planned.stdout == shipped.stdout  # the SEG stack needs nothing of the other documents
    refused = runner.invoke(app, ["plan", "--stack", "dmz-sxg-aws", "--catalog", str(directory), *stacks])
    assert refused.exit_code == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seawall: error: "), lines
    assert lines[0].endswith(
        "Pulumi.dmz-sxg-aws.yaml:8: seawall:product: 'clearswift-sxg' is not in the catalogue; valid: clearswift-seg"
    )


def test_a_one_product_catalogue_says_where_a_carried_over_row_is_shown(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path, ("clearswift-seg",))
    runner = CliRunner()
    listed = runner.invoke(app, ["catalog", "--catalog", str(directory), "--format", "json"])
    sources = {e["id"]: e["source"] for e in json.loads(listed.stdout)}
    assert sources["seg-smtp-receive"]["product"] == "clearswift-sxg"
    assert sources["seg-smtp-receive"]["document"] is None  # never the SEG document's title in its place
    assert sources["seg-dns"]["document"] == load_catalog(CATALOG_DIR).products["clearswift-seg"].document.title
    page = runner.invoke(app, ["catalog", "--catalog", str(directory), "--format", "markdown"]).stdout
    assert (
        "- `seg-smtp-receive` — ファイアウォール ポート (the clearswift-sxg document, not in this catalogue):" in page
    )
    stack = ["--stack", "dmz-aws", "--stacks-dir", str(REPO / "stacks")]
    report = runner.invoke(app, ["conformance", *stack, "--catalog", str(directory), "--format", "json"])
    assert report.exit_code in (0, 1), report.output  # a verdict, not a traceback
    assert any(
        "clearswift-sxg document" in note and "not in this catalogue" in note
        for note in json.loads(report.stdout)["notes"]
    )
