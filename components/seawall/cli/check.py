"""``seawall check``: a stack's offline plan against seawall's policy rules."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seawall.analysis.policy import Resource, check_stack, parse_level_options
from seawall.cli.common import (
    CatalogDirOption,
    StacksDirOption,
    app,
    prepare_stack_plan,
    user_errors,
    write_json,
    write_lines,
)
from seawall.preview.plan import run_plan
from seawall.report.check import check_json, check_lines, check_markdown


class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command("check")
def check_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name, e.g. dmz-aws.")],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    level: Annotated[
        list[str] | None,
        typer.Option("--level", help="RULE=advisory|mandatory|disabled (repeatable; overrides seawall:policy)."),
    ] = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help="table, json or markdown.")] = CheckFormat.table,
) -> None:
    """Check a stack's offline plan against seawall's policy rules (the same rules as the CrossGuard pack).

    Exit 0 when no mandatory rule is violated (advisory findings are printed), 1 otherwise, 2 on bad input.
    """
    with user_errors():
        overrides = parse_level_options(level or [])
        prepared = prepare_stack_plan(stack, stacks_dir, catalog_dir)
        plan = run_plan(prepared)
        resources = [Resource(r.type, r.name, r.urn, r.inputs) for r in plan.resources]
        result = check_stack(stack, resources, plan.compiled, overrides)
        if fmt is CheckFormat.json:
            write_json(check_json(result))
        elif fmt is CheckFormat.markdown:
            sys.stdout.write(check_markdown(result))
        else:
            write_lines(check_lines(result))
        raise typer.Exit(0 if result.passed else 1)
