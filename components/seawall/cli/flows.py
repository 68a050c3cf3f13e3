"""``seawall flows``: the flows a stack opens (the intermediate form) and what stays closed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seawall.catalog.load import load_catalog
from seawall.cli.common import (
    CatalogDirOption,
    StacksDirOption,
    ViewFormat,
    app,
    out_console,
    progress_bar,
    user_errors,
    write_json,
)
from seawall.report.flows import flows_json, flows_tables
from seawall.stack import StackFiles, compile_files
from seawall.stackconfig import load_stack_config


@app.command("flows")
def flows_command(
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="Stack name, e.g. dmz-aws (reads stacks/Pulumi.<stack>.yaml).")
    ],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    fmt: Annotated[ViewFormat, typer.Option("--format", "-f")] = ViewFormat.table,
) -> None:
    """Show the flows a stack opens (the intermediate form) and every notice about what stays closed.

    \b
    Examples:
      seawall flows --stack dmz-aws
      seawall flows --stack mss-distributed-azure --format json
    """
    with user_errors():
        config = load_stack_config(stack, stacks_dir)  # the stack's errors before the catalogue's, as before
        with progress_bar() as progress:
            catalog = load_catalog(catalog_dir, progress=progress)
        compiled = compile_files(StackFiles(stack, stacks_dir, catalog_dir), config, catalog)
        if fmt is ViewFormat.json:
            write_json(flows_json(compiled.flows))
        else:
            console = out_console()
            for renderable in flows_tables(compiled.flows):
                console.print(renderable)
