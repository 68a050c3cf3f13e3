"""``seawall conformance``: every row of the vendor's document, what the stack does with it, checked on the plan."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seawall.analysis.conformance import changes, conformance, read_base, stack_specs
from seawall.cli.common import (
    CatalogDirOption,
    Cloud,
    Lang,
    StacksDirOption,
    app,
    prepare_stack_plan,
    user_errors,
    write_json,
    write_lines,
)
from seawall.preview.plan import run_plan
from seawall.report.conformance import (
    conformance_comment,
    conformance_json,
    conformance_lines,
    conformance_markdown,
)


class ConformanceFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    comment = "comment"


@app.command("conformance")
def conformance_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name, e.g. dmz-aws.")],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    lock: Annotated[
        Path | None,
        typer.Option("--lock", help="IP-set lock to read (default: seawall:lockFile or the project's)."),
    ] = None,
    cloud: Annotated[
        Cloud | None,
        typer.Option("--cloud", help="Check this cloud's rendering (default: the stack's own; both adds the other)."),
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="ja shows Japanese rows as the document prints them.")] = Lang.en,
    base: Annotated[
        Path | None,
        typer.Option(
            "--base", help="An earlier `--format json` report of the stack: list the rows whose disposition changed."
        ),
    ] = None,
    fmt: Annotated[
        ConformanceFormat,
        typer.Option("--format", "-f", help="table, json (a contract), markdown (a page) or comment (a pull request)."),
    ] = ConformanceFormat.table,
) -> None:
    """For every row of the vendor's document, what the stack does with it, checked on the rendered plan.

    Dispositions: open, opted in to the internet, denied, closed (stateful reply), off, never open,
    not renderable. Each is checked with the query engine on the rules the stack's program renders.
    Exit 0 when every check passes and every rule is justified by a row, 1 on a violation, 2 on bad input.

    \b
    Examples:
      seawall conformance --stack dmz-aws
      seawall conformance --stack dmz-sxg-aws --lang ja --cloud both
      seawall conformance --stack dmz-aws --format markdown > docs/reference/conformance/dmz-aws.md
      seawall conformance --stack dmz-aws --format json | jq '.rows[] | select(.disposition == "denied") | .label'
    """
    with user_errors():
        earlier = read_base(base, stack) if base is not None else None
        prepared = prepare_stack_plan(stack, stacks_dir, catalog_dir, lock)
        plan = run_plan(prepared)
        compiled = plan.compiled
        clouds = [compiled.config.settings.cloud] if cloud is None else [c.value for c in cloud.expand()]
        report = conformance(compiled, stack_specs(compiled, plan.spec, clouds))
        # An empty base (a new stack, a base branch without this command) has nothing to compare with.
        changed = changes(earlier, report) if earlier else None
        if fmt is ConformanceFormat.json:
            write_json(conformance_json(report, changed if base is not None else None))
        elif fmt is ConformanceFormat.markdown:
            sys.stdout.write(conformance_markdown(report, lang.value))
        elif fmt is ConformanceFormat.comment:
            sys.stdout.write(conformance_comment(report, changed, lang.value))
        else:
            write_lines(conformance_lines(report, lang.value, changed))
        raise typer.Exit(1 if report.violations else 0)
