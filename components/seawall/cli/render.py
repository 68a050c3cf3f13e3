"""``seawall render``: the cloud specification a stack renders to, as JSON."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seawall.cli.common import CatalogDirOption, Cloud, StacksDirOption, app, user_errors, write_json
from seawall.stack import compile_stack, render_aws_stack, render_azure_stack


class RenderFormat(StrEnum):
    json = "json"  # the only one today; the option exists so scripts can say what they rely on


@app.command("render")
def render_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name, e.g. dmz-aws.")],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    cloud: Annotated[
        Cloud | None, typer.Option("--cloud", help="Render for this cloud (default: the stack's).")
    ] = None,
    fmt: Annotated[RenderFormat, typer.Option("--format", "-f", help="Output format.")] = RenderFormat.json,
) -> None:
    """Print the cloud specification a stack renders to, as JSON (pure; no Pulumi).

    Every key is camelCase, as in the plan: {"stack", "vpcId", "securityGroups", "prefixLists",
    "rules", "quotaUse", "headroom"} on AWS; {"stack", "resourceGroupName", "location", "roles"}
    on Azure. Tag names are data and keep their spelling (seawall:stack).

    \b
    Examples:
      seawall render --stack dmz-aws
      seawall render --stack dmz-aws --cloud azure --format json | jq '.roles[].rules[].name'
    """
    with user_errors():
        compiled = compile_stack(stack, stacks_dir, catalog_dir)
        target = cloud.value if cloud and cloud is not Cloud.both else compiled.config.settings.cloud
        spec = render_aws_stack(compiled) if target == "aws" else render_azure_stack(compiled)
        write_json(spec.to_json())
