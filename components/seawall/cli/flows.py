"""``seawall flows``: the flows a stack opens (the intermediate form) and what stays closed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seawall.cli.common import CatalogDirOption, StacksDirOption, ViewFormat, app, out_console, user_errors, write_json
from seawall.report.flows import flows_json, flows_tables
from seawall.stack import compile_stack


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
        compiled = compile_stack(stack, stacks_dir, catalog_dir)
        if fmt is ViewFormat.json:
            write_json(flows_json(compiled.flows))
        else:
            console = out_console()
            for renderable in flows_tables(compiled.flows):
                console.print(renderable)
