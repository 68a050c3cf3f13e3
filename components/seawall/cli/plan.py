"""``seawall plan``: what ``pulumi preview`` would create, offline."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seawall.cli.common import (
    CatalogDirOption,
    StacksDirOption,
    app,
    err_console,
    out_console,
    prepare_stack_plan,
    user_errors,
)
from seawall.preview.plan import run_plan


class PlanFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    mermaid = "mermaid"


@app.command("plan")
def plan_command(
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="Stack name, e.g. dmz-aws (reads stacks/Pulumi.<stack>.yaml).")
    ],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    lock: Annotated[
        Path | None,
        typer.Option(
            "--lock",
            help="IP-set lock to read (default: seawall:lockFile, else ipsets.lock.json in the Pulumi project).",
        ),
    ] = None,
    fmt: Annotated[
        PlanFormat,
        typer.Option(
            "--format", "-f", help="table for people, json for tools, markdown for reviews, mermaid for a diagram."
        ),
    ] = PlanFormat.table,
) -> None:
    """Show offline what `pulumi preview` would create: runs the real stack program under Pulumi's mock monitor.

    No Pulumi CLI, no credentials, no network. The JSON is byte-identical across runs:
    {"stack", "resources": [{"type", "name", "urn", "inputs"}], "outputs", "warnings"}; a resource's
    id is the placeholder ${<logical name>.id}.

    \b
    Examples:
      seawall plan --stack dmz-aws
      seawall plan --stack dmz-azure --format json > plan.json
      seawall plan --stack mss-distributed-aws --format mermaid
    """
    with user_errors():
        prepared = prepare_stack_plan(stack, stacks_dir, catalog_dir, lock)  # config errors before any "planning"
        if fmt is PlanFormat.table:
            err_console.print(f"planning {stack} under the Pulumi mock monitor ...", style="dim")
        plan = run_plan(prepared)
        if fmt is PlanFormat.json:
            sys.stdout.write(plan.to_text())
            return
        from seawall.report.plan import plan_markdown, plan_mermaid, plan_table  # rich: not on the JSON path

        if fmt is PlanFormat.markdown:
            sys.stdout.write(plan_markdown(plan))
        elif fmt is PlanFormat.mermaid:
            sys.stdout.write(plan_mermaid(plan))
        else:
            out_console().print(plan_table(plan))
