"""``seawall render``: the cloud specification a stack renders to, as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seawall.cli.common import CatalogDirOption, Cloud, StacksDirOption, app, user_errors, write_json
from seawall.stack import compile_stack, render_aws_stack, render_azure_stack


@app.command("render")
def render_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name, e.g. dmz-aws.")],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    cloud: Annotated[
        Cloud | None, typer.Option("--cloud", help="Render for this cloud (default: the stack's).")
    ] = None,
) -> None:
    """Print the cloud specification a stack renders to, as JSON (pure; no Pulumi)."""
    with user_errors():
        compiled = compile_stack(stack, stacks_dir, catalog_dir)
        target = cloud.value if cloud and cloud is not Cloud.both else compiled.config.settings.cloud
        spec = render_aws_stack(compiled) if target == "aws" else render_azure_stack(compiled)
        write_json(spec.to_json())
