"""The ``seawall`` command line.

Every command exits 0 on success, 2 on a user error (one line on stderr naming
the file:line or config key, no traceback, nothing written); commands that
compare things document their own 1 and 3.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from seawall.catalog.load import load_catalog
from seawall.catalog.schema import catalog_schema_text
from seawall.catalog.views import catalog_json, catalog_markdown, catalog_tables
from seawall.errors import UserError

app = typer.Typer(
    name="seawall",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Mail-security vendor port requirements as AWS and Azure firewalls, traceable to the document rows.",
)

err_console = Console(stderr=True, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into one line on stderr and exit code 2."""
    try:
        yield
    except UserError as exc:
        err_console.print(f"seawall: error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


class CatalogFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class Lang(StrEnum):
    en = "en"
    ja = "ja"


CatalogDirOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Catalogue directory (default: the catalogue shipped with seawall).", show_default=False
    ),
]


def write_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command("catalog")
def catalog_command(
    catalog_dir: CatalogDirOption = None,
    product: Annotated[
        list[str] | None,
        typer.Option(
            "--product", "-p", help="Only this product (repeatable), e.g. clearswift-seg.", show_default=False
        ),
    ] = None,
    fmt: Annotated[CatalogFormat, typer.Option("--format", "-f", help="Output format.")] = CatalogFormat.table,
    lang: Annotated[
        Lang, typer.Option("--lang", help="Language of purposes (ja where the source is Japanese).")
    ] = Lang.en,
) -> None:
    """Show every row of the vendor documents as catalogue entries.

    \b
    Examples:
      seawall catalog
      seawall catalog --product trendmicro-imss --lang ja
      seawall catalog --format json | jq '.[] | select(.ports == [25])'
      seawall catalog --format markdown > docs/catalog.md
    """
    with user_errors():
        catalog = load_catalog(catalog_dir)
        products = sorted(catalog.products)
        for name in product or []:
            catalog.product(name)  # raises with the valid names
        if product:
            products = [p for p in products if p in product]
        if fmt is CatalogFormat.json:
            write_json(catalog_json(catalog, products))
        elif fmt is CatalogFormat.markdown:
            sys.stdout.write(catalog_markdown(catalog, products, lang.value))
        else:
            console = Console()
            for table in catalog_tables(catalog, products, lang.value):
                console.print(table)
                console.print()


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of a catalogue file (committed as catalog/catalog.schema.json)."""
    sys.stdout.write(catalog_schema_text())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
