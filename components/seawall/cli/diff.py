"""``seawall diff``: two plans compared the way a reviewer thinks, broadening first."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seawall.analysis.diff import check_comparable, diff_plans, read_plan
from seawall.cli.common import app, user_errors, write_json, write_lines
from seawall.report.diff import diff_json, diff_markdown, diff_text


class DiffFormat(StrEnum):
    markdown = "markdown"
    json = "json"
    table = "table"


class FailOn(StrEnum):
    broadening = "broadening"
    any = "any"


@app.command("diff")
def diff_command(
    base: Annotated[Path, typer.Argument(help="seawall plan --format json of the base branch.")],
    head: Annotated[Path, typer.Argument(help="seawall plan --format json of the change.")],
    fmt: Annotated[DiffFormat, typer.Option("--format", "-f")] = DiffFormat.markdown,
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Exit 3 on any broadening, or on any change.")
    ] = None,
    allow_different_stacks: Annotated[
        bool,
        typer.Option(
            "--allow-different-stacks",
            help="Compare plans of different stacks or clouds (refused otherwise); the output says so at the top.",
        ),
    ] = False,
) -> None:
    """Which flows a change opens or closes, IP-set changes, replacements, and broadening first.

    Exit 0: no change. 1: changes. 3: --fail-on matched. 2: bad input (a file that is not a
    seawall plan, or plans of different stacks or clouds without --allow-different-stacks).

    \b
    Example:
      seawall plan -s dmz-aws -f json > head.json; git stash; seawall plan -s dmz-aws -f json > base.json
      seawall diff base.json head.json --fail-on broadening
    """
    with user_errors():
        base_plan, head_plan = read_plan(base), read_plan(head)
        check_comparable(base, base_plan, head, head_plan, allow_different_stacks)
        result = diff_plans(base_plan, head_plan)
        if fmt is DiffFormat.json:
            write_json(diff_json(result))
        elif fmt is DiffFormat.markdown:
            sys.stdout.write(diff_markdown(result))
        else:
            write_lines(diff_text(result))
        if (fail_on is FailOn.any and result.changed) or (fail_on is FailOn.broadening and result.broadens):
            raise typer.Exit(3)
        raise typer.Exit(1 if result.changed else 0)
