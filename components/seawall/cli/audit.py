"""``seawall audit``: what the cloud holds that the plan does not, and the reverse (read-only), AWS or Azure."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from math import isfinite
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from seawall.analysis.drift import CLOUD_NAMES, Report, article
from seawall.aws import account as aws_account
from seawall.aws.drift import audit_aws_stack
from seawall.azure import account as azure_account
from seawall.azure.drift import audit_azure_stack
from seawall.cli.common import (
    CatalogDirOption,
    StacksDirOption,
    app,
    err_console,
    out_console,
    user_errors,
    write_json,
)
from seawall.deadline import DeadlineExceeded, deadline
from seawall.errors import UserError
from seawall.report.audit import audit_markdown, print_report
from seawall.stack import compile_stack


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


AWS_BOUND = aws_account.worst_case(aws_account.DEFAULT_TIMEOUT)
AZURE_BOUND = azure_account.worst_case(azure_account.DEFAULT_TIMEOUT)


@app.command("audit")
def audit_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="A stack, e.g. dmz-aws or dmz-azure.")],
    region: Annotated[
        str | None, typer.Option("--region", help="AWS: region (default: the stack's aws:region).")
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS: profile (default: the usual credential chain).")
    ] = None,
    subscription: Annotated[
        str | None,
        typer.Option(
            "--subscription",
            help="Azure: subscription id (default: AZURE_SUBSCRIPTION_ID, then the stack's azure-native:subscriptionId).",
        ),
    ] = None,
    resource_group: Annotated[
        str | None,
        typer.Option(
            "--resource-group", help="Azure: resource group (default: the stack's seawall:resourceGroupName)."
        ),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            help=(
                "Any EC2-compatible (AWS) or ARM-compatible (Azure) endpoint, e.g. a local emulator. Azure: the audit "
                "sends it your Azure management token, so it must be Azure's own management endpoint "
                "(https://management.azure.com, .usgovcloudapi.net, .chinacloudapi.cn) or on this machine "
                "(localhost, 127.0.0.1, ::1; plain http only there); anything else needs "
                f"{azure_account.TOKEN_FLAG}. For a local emulator, take the token from it too, so that no real "
                "token is used: set IDENTITY_ENDPOINT to its App Service managed-identity URL and IDENTITY_HEADER "
                "to its secret (otherwise the token of your own login is what the emulator receives)."
            ),
        ),
    ] = None,
    send_token: Annotated[
        bool,
        typer.Option(
            azure_account.TOKEN_FLAG,
            help=(
                "Azure: send your Azure management token to an --endpoint-url that is neither Azure's management "
                "endpoint nor on this machine. The token reads every subscription you may read: only for an "
                "endpoint you trust with it."
            ),
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="<seconds>",
            show_default=False,
            help=(
                f"Seconds to wait for the cloud to accept a connection, and again for each answer (default "
                f"{aws_account.DEFAULT_TIMEOUT:g}). Each request is tried at most {aws_account.MAX_ATTEMPTS} times, "
                f"so an endpoint that never answers ends the audit within {AWS_BOUND:g} s at the default on AWS, "
                f"{AZURE_BOUND:g} s on Azure (which may also ask to wait out throttling, up to "
                f"{azure_account.MAX_RETRY_AFTER:g} s a time). That bound holds for the whole audit, getting the "
                "token included, whatever the endpoint does: one that answers too slowly ends it too."
            ),
        ),
    ] = None,
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    fmt: Annotated[AuditFormat, typer.Option("--format", "-f")] = AuditFormat.table,
) -> None:
    """What the cloud holds that the plan does not, and the reverse (read-only).

    Finds the stack's security groups and prefix lists (AWS) or NSGs and application
    security groups (Azure) by their seawall:stack tag and compares them by content with
    the plan. Broadening drift (anything that lets more through) comes first and names the
    policy rule it breaks. Exit 0 in sync, 1 on drift, 3 on broadening drift, 2 on errors
    (no credentials, access denied, unknown region or subscription, an endpoint that does
    not answer within --timeout). Throttling is retried within the same bounded tries.

    \b
    Examples:
      seawall audit --stack dmz-aws
      seawall audit --stack dmz-aws --profile prod --format json
      seawall audit --stack dmz-azure --subscription 00000000-0000-0000-0000-000000000000
      seawall audit --stack dmz-azure --format markdown >> "$GITHUB_STEP_SUMMARY"
      seawall audit --stack dmz-aws --endpoint-url http://127.0.0.1:5000 --timeout 20
      IDENTITY_ENDPOINT=http://127.0.0.1:8080/msi/token IDENTITY_HEADER=local \\
        seawall audit --stack dmz-azure --endpoint-url http://127.0.0.1:8080
    """
    with user_errors():
        code = run_audit(
            stack,
            stacks_dir,
            catalog_dir,
            region=region,
            profile=profile,
            subscription=subscription,
            resource_group=resource_group,
            endpoint_url=endpoint_url,
            fmt=fmt,
            console=err_console,
            timeout=timeout,
            send_token=send_token,
        )
        raise typer.Exit(code)


def run_audit(
    stack: str,
    stacks_dir: Path,
    catalog_dir: Path | None,
    *,
    region: str | None = None,
    profile: str | None = None,
    subscription: str | None = None,
    resource_group: str | None = None,
    endpoint_url: str | None = None,
    fmt: AuditFormat | str = AuditFormat.table,
    console: Console,
    page_size: int | None = None,
    timeout: float | None = None,
    send_token: bool = False,
) -> int:
    """Audit, print the report on stdout (status lines on ``console``); return 0, 1 or 3. Raises UserError.

    ``page_size`` caps AWS pages (tests use it to force several); ``timeout`` bounds each
    connection and read (None: the library's default). On a terminal ``console`` also
    shows a transient progress line while pages are read.
    """
    compiled = compile_stack(stack, stacks_dir, catalog_dir)
    cloud = compiled.config.settings.cloud
    _refuse_other_cloud(stack, cloud, region=region, profile=profile, subscription=subscription,
                        resource_group=resource_group, page_size=page_size)  # fmt: skip

    def say(line: str) -> None:
        console.print(line, style="dim", markup=False)

    # azure-identity logs each credential it tries to stderr; the one-line error says what matters.
    azure_log = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in azure_log.handlers):
        azure_log.addHandler(logging.NullHandler())
    if send_token and cloud != "azure":
        raise UserError(azure_account.TOKEN_FLAG, f"{stack} is an AWS stack; the flag is for Azure's token")
    module = aws_account if cloud == "aws" else azure_account
    seconds = module.DEFAULT_TIMEOUT if timeout is None else timeout
    # One deadline for the whole audit: the bound --help states holds whatever the endpoint does.
    bound = module.worst_case(seconds) if isfinite(seconds) and seconds > 0 else None
    if endpoint_url:
        where = "--endpoint-url"
    elif cloud == "aws":
        where = f"ec2 {region or compiled.config.provider_config.get('aws:region') or ''}".rstrip()
    else:
        where = azure_account.ARM_ENDPOINT
    with _progress(console) as progress, _whole_audit(bound, where, seconds):
        report: Report
        if cloud == "aws":
            report = audit_aws_stack(compiled, region, endpoint_url, profile, page_size, say, timeout, progress)
        else:
            with azure_account.token_to_any_endpoint(send_token):
                report = audit_azure_stack(compiled, subscription, resource_group, endpoint_url, say, timeout, progress)
    fmt = AuditFormat(fmt)
    if fmt is AuditFormat.json:
        write_json(report.to_json())
    elif fmt is AuditFormat.markdown:
        sys.stdout.write(audit_markdown(report))
    else:
        print_report(report, out_console())
    return report.exit_code


def _refuse_other_cloud(stack: str, cloud: str, **given: object) -> None:
    """An option of the other cloud is a mistake worth one line, not something to ignore."""
    others = {"aws": ("subscription", "resource_group"), "azure": ("region", "profile", "page_size")}[cloud]
    for name in others:
        if given.get(name) is not None:
            option = "--" + name.replace("_", "-")
            raise UserError(
                option,
                f"{stack} is {article(CLOUD_NAMES[cloud])} stack; {option} is for "
                f"{CLOUD_NAMES['azure' if cloud == 'aws' else 'aws']} stacks",
            )


@contextmanager
def _whole_audit(bound: float | None, where: str, timeout: float) -> Iterator[None]:
    """The audit within ``bound`` seconds; past it, one line (a step that knows more says more)."""
    if bound is None:  # an invalid --timeout: connect() says so before any request
        yield
        return
    try:
        with deadline(bound):
            yield
    except DeadlineExceeded:
        raise UserError(
            where,
            f"the audit did not finish within {bound:g} s, the most it waits at --timeout {timeout:g} "
            "(the endpoint answers too slowly or not at all); check the endpoint and the network, or raise --timeout",
        ) from None


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[str], None] | None]:
    """A transient line naming the page being read, on a terminal only (a log gets the status lines alone)."""
    if not console.is_terminal:
        yield None
        return
    with Live(Text("reading ...", style="dim"), console=console, transient=True, auto_refresh=False) as live:
        # Shown as each page arrives: a slow endpoint is visibly slow, a fast one flickers past.
        yield lambda line: live.update(Text(line, style="dim", overflow="ellipsis", no_wrap=True), refresh=True)
