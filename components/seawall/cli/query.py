"""``seawall query``: is a flow ALLOWED or DENIED by the rendered rules?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seawall.analysis.query import ask, parse_port
from seawall.cli.common import (
    CatalogDirOption,
    Cloud,
    StacksDirOption,
    ViewFormat,
    app,
    user_errors,
    write_json,
    write_lines,
)
from seawall.report.query import answer_json, answer_lines
from seawall.stack import compile_stack


@app.command("query")
def query_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name, e.g. dmz-aws.")],
    source: Annotated[
        str, typer.Option("--from", help="Source: a role, internet, site:NAME, service:NAME or an address.")
    ],
    destination: Annotated[
        str, typer.Option("--to", help="Destination: a role, internet, site:NAME, service:NAME or an address.")
    ],
    port: Annotated[str, typer.Option("--port", help="PORT/PROTOCOL, e.g. 25/tcp.")],
    cloud: Annotated[
        Cloud | None, typer.Option("--cloud", help="Evaluate this cloud's rendering (default: the stack's).")
    ] = None,
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    fmt: Annotated[ViewFormat, typer.Option("--format", "-f")] = ViewFormat.table,
) -> None:
    """Is a flow ALLOWED or DENIED by the rendered rules? Names the rules and catalogue entries that decide.

    Exit code: 0 when allowed on every cloud asked, 1 when denied (or only partly allowed), 2 on bad input.

    \b
    Examples:
      seawall query --stack dmz-aws --from internet --to gateway --port 25/tcp
      seawall query --stack dmz-aws --from internet --to gateway --port 22/tcp --cloud both
      seawall query --stack mss-distributed-aws --from child --to parent --port 5432/tcp
    """
    with user_errors():
        number, protocol = parse_port(port)
        compiled = compile_stack(stack, stacks_dir, catalog_dir)
        clouds: list[str] = [compiled.config.settings.cloud] if cloud is None else [c.value for c in cloud.expand()]
        answers = ask(compiled, clouds, source, destination, protocol, number)
        if fmt is ViewFormat.json:
            write_json(answer_json(source, destination, number, protocol, answers))
        else:
            write_lines(answer_lines(source, destination, number, protocol, answers))
        raise typer.Exit(0 if all(a.verdict == "ALLOWED" for a in answers) else 1)
