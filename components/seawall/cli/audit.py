"""``seawall audit``: what the AWS account holds that the plan does not, and the reverse (read-only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from seawall.analysis.drift import audit_aws_stack
from seawall.aws.account import DEFAULT_TIMEOUT, MAX_ATTEMPTS, worst_case
from seawall.cli.common import CatalogDirOption, StacksDirOption, ViewFormat, app, err_console, user_errors, write_json
from seawall.report.audit import print_report
from seawall.stack import compile_stack


@app.command("audit")
def audit_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="An AWS stack, e.g. dmz-aws.")],
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region (default: the stack's aws:region).")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Any EC2-compatible endpoint (e.g. a local moto server).")
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile (default: the usual credential chain).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="<seconds>",
            show_default=False,
            help=(
                f"Seconds to wait for EC2 to accept a connection, and again for each answer (default "
                f"{DEFAULT_TIMEOUT:g}). Each EC2 call is tried at most {MAX_ATTEMPTS} times, so an endpoint that never "
                f"answers ends the audit within {worst_case(DEFAULT_TIMEOUT):g} s at the default."
            ),
        ),
    ] = None,
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    fmt: Annotated[ViewFormat, typer.Option("--format", "-f")] = ViewFormat.table,
) -> None:
    """What the AWS account holds that the plan does not, and the reverse (read-only).

    Finds the stack's security groups and prefix lists by their seawall:stack tag and compares
    rules and entries by content. Exit 0 in sync, 1 on drift, 2 on errors (no credentials,
    access denied, unknown region, an endpoint that does not answer within --timeout).
    Throttling is retried in botocore's standard mode, within the same bounded tries.

    \b
    Examples:
      seawall audit --stack dmz-aws
      seawall audit --stack dmz-aws --profile prod --format json
      seawall audit --stack dmz-aws --endpoint-url http://127.0.0.1:5000
      seawall audit --stack dmz-aws --timeout 20   # a slow link
    """
    with user_errors():
        code = run_audit(
            stack,
            stacks_dir,
            catalog_dir,
            region,
            endpoint_url,
            profile,
            fmt is ViewFormat.json,
            err_console,
            timeout=timeout,
        )
        raise typer.Exit(code)


def run_audit(
    stack: str,
    stacks_dir: Path,
    catalog_dir: Path | None,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    json_output: bool,
    console: Console,
    page_size: int | None = None,
    timeout: float | None = None,
) -> int:
    """Audit, print the report (status lines on ``console``); return 0 in sync, 1 on drift. Raises UserError.

    ``timeout`` bounds each connection and read (None: the library's default).
    """
    compiled = compile_stack(stack, stacks_dir, catalog_dir)
    report = audit_aws_stack(
        compiled,
        region,
        endpoint_url,
        profile,
        page_size,
        lambda line: console.print(line, style="dim", markup=False),
        timeout,
    )
    if json_output:
        write_json(report.to_json())
    else:
        print_report(report)
    return 0 if report.in_sync else 1
