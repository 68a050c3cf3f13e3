"""``seawall catalog``: every row of the vendor documents as catalogue entries."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from seawall.catalog.load import load_catalog
from seawall.cli.common import CatalogDirOption, Lang, app, out_console, progress_bar, user_errors, write_json
from seawall.report.catalog import catalog_json, catalog_markdown, catalog_tables


class CatalogFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


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
      seawall catalog --format markdown > docs/reference/catalog.md
    """
    with user_errors():
        with progress_bar() as progress:
            catalog = load_catalog(catalog_dir, progress=progress)
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
            console = out_console()
            for table in catalog_tables(catalog, products, lang.value):
                console.print(table)
                console.print()
