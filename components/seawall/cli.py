"""The ``seawall`` command line.

Every command exits 0 on success, 2 on a user error (one line on stderr naming
the file:line or config key, no traceback, nothing written); commands that
compare things document their own 1 and 3.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from seawall.catalog.load import load_catalog
from seawall.catalog.schema import catalog_schema_text
from seawall.catalog.views import catalog_json, catalog_markdown, catalog_tables
from seawall.errors import UserError

app = typer.Typer(
    name="seawall",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Mail-security vendor port requirements as AWS and Azure firewalls, traceable to the document rows.",
)

err_console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into one line on stderr and exit code 2."""
    try:
        yield
    except UserError as exc:
        err_console.print(f"seawall: error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


class CatalogFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class Lang(StrEnum):
    en = "en"
    ja = "ja"


CatalogDirOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Catalogue directory (default: the catalogue shipped with seawall).", show_default=False
    ),
]


def write_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command("catalog")
def catalog_command(
    catalog_dir: CatalogDirOption = None,
    product: Annotated[
        list[str] | None,
        typer.Option(
            "--product", "-p", help="Only this product (repeatable), e.g. clearswift-seg.", show_default=False
        ),
    ] = None,
    fmt: Annotated[CatalogFormat, typer.Option("--format", "-f", help="Output format.")] = CatalogFormat.table,
    lang: Annotated[
        Lang, typer.Option("--lang", help="Language of purposes (ja where the source is Japanese).")
    ] = Lang.en,
) -> None:
    """Show every row of the vendor documents as catalogue entries.

    \b
    Examples:
      seawall catalog
      seawall catalog --product trendmicro-imss --lang ja
      seawall catalog --format json | jq '.[] | select(.ports == [25])'
      seawall catalog --format markdown > docs/catalog.md
    """
    with user_errors():
        catalog = load_catalog(catalog_dir)
        products = sorted(catalog.products)
        for name in product or []:
            catalog.product(name)  # raises with the valid names
        if product:
            products = [p for p in products if p in product]
        if fmt is CatalogFormat.json:
            write_json(catalog_json(catalog, products))
        elif fmt is CatalogFormat.markdown:
            sys.stdout.write(catalog_markdown(catalog, products, lang.value))
        else:
            console = Console(emoji=False)
            for table in catalog_tables(catalog, products, lang.value):
                console.print(table)
                console.print()


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of a catalogue file (committed as catalog/catalog.schema.json)."""
    sys.stdout.write(catalog_schema_text())


StacksDirOption = Annotated[
    Path,
    typer.Option("--stacks-dir", help="Directory holding Pulumi.<stack>.yaml files."),
]


class Cloud(StrEnum):
    aws = "aws"
    azure = "azure"
    both = "both"


class ViewFormat(StrEnum):
    table = "table"
    json = "json"


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
    from seawall.stack import compile_stack
    from seawall.views import flows_json, flows_tables

    with user_errors():
        compiled = compile_stack(stack, stacks_dir, catalog_dir)
        if fmt is ViewFormat.json:
            write_json(flows_json(compiled.flows))
        else:
            console = Console(emoji=False)
            for renderable in flows_tables(compiled.flows):
                console.print(renderable)


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
    from seawall.stack import compile_stack, render_aws_stack, render_azure_stack

    with user_errors():
        compiled = compile_stack(stack, stacks_dir, catalog_dir)
        target = cloud.value if cloud and cloud is not Cloud.both else compiled.config.settings.cloud
        spec = render_aws_stack(compiled) if target == "aws" else render_azure_stack(compiled)
        write_json(spec.to_json())


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
    from seawall.query import parse_port, probes_for, query_aws, query_azure
    from seawall.stack import compile_stack, render_aws_stack, render_azure_stack
    from seawall.views import answer_json, answer_lines

    with user_errors():
        number, protocol = parse_port(port)
        compiled = compile_stack(stack, stacks_dir, catalog_dir)
        roles = compiled.flows.roles
        if source.removeprefix("role:") not in roles and destination.removeprefix("role:") not in roles:
            raise UserError("--from/--to", f"one end must be a role of the stack; roles: {', '.join(roles)}")
        src, why_src = probes_for(compiled, source)
        dst, why_dst = probes_for(compiled, destination)
        reason = why_src or why_dst
        clouds = (
            [compiled.config.settings.cloud]
            if cloud is None
            else ["aws", "azure"]
            if cloud is Cloud.both
            else [cloud.value]
        )
        answers = []
        for name in clouds:
            if name == "aws":
                answers.append(query_aws(render_aws_stack(compiled), src, dst, protocol, number, reason))
            else:
                answers.append(query_azure(render_azure_stack(compiled), src, dst, protocol, number, reason))
        if fmt is ViewFormat.json:
            write_json(answer_json(source, destination, number, protocol, answers))
        else:
            for line in answer_lines(source, destination, number, protocol, answers):
                Console(highlight=False, emoji=False).print(line, markup=False, soft_wrap=True)
        raise typer.Exit(0 if all(a.verdict == "ALLOWED" for a in answers) else 1)


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
        typer.Option("--lock", help="IP-set lock to read (default: seawall:lockFile or <catalog>/ipsets.lock.json)."),
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
    from seawall.plan import plan_stack
    from seawall.plan_views import plan_markdown, plan_mermaid, plan_table

    with user_errors():
        if fmt is PlanFormat.table:
            err_console.print(f"planning {stack} under the Pulumi mock monitor ...", style="dim")
        plan = plan_stack(stack, stacks_dir, catalog_dir, lock)
        if fmt is PlanFormat.json:
            sys.stdout.write(plan.to_text())
        elif fmt is PlanFormat.markdown:
            sys.stdout.write(plan_markdown(plan))
        elif fmt is PlanFormat.mermaid:
            sys.stdout.write(plan_mermaid(plan))
        else:
            Console(emoji=False).print(plan_table(plan))


@app.command("resolve")
def resolve_command(
    catalog_dir: CatalogDirOption = None,
    lock: Annotated[
        Path | None, typer.Option("--lock", help="Lock file (default: <catalog>/ipsets.lock.json).")
    ] = None,
    product: Annotated[
        list[str] | None, typer.Option("--product", "-p", help="Only this product's hosts (repeatable).")
    ] = None,
    nameserver: Annotated[
        list[str] | None,
        typer.Option("--nameserver", "-n", help="HOST[:PORT] to ask (repeatable; default: the system's resolvers)."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per query.")] = 2.0,
    retries: Annotated[int, typer.Option("--retries", help="Extra tries per query on timeouts and SERVFAIL.")] = 2,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Queries in flight at once.")] = 50,
    ip_ranges: Annotated[
        Path | None, typer.Option("--ip-ranges", help="An AWS ip-ranges.json for hosts in AWS address space.")
    ] = None,
    ip_ranges_service: Annotated[
        list[str] | None,
        typer.Option("--ip-ranges-service", help="Keep these AWS services (repeatable; default: all)."),
    ] = None,
    ip_ranges_region: Annotated[
        list[str] | None, typer.Option("--ip-ranges-region", help="Keep these AWS regions (repeatable; default: all).")
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 when the lock is stale.")] = False,
    max_change: Annotated[
        float, typer.Option("--max-change", help="Refuse a service whose addresses change by more than PCT %.")
    ] = 50.0,
    force: Annotated[bool, typer.Option("--force", help="Accept changes above --max-change.")] = False,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial", help="Write the lock even if some hosts failed (their last good addresses are kept)."
        ),
    ] = False,
    allow_private: Annotated[
        list[str] | None,
        typer.Option("--allow-private", help="Accept answers in this CIDR (internal hosts; repeatable)."),
    ] = None,
    fmt: Annotated[ViewFormat, typer.Option("--format", "-f")] = ViewFormat.table,
) -> None:
    """Resolve every catalogue hostname into the reviewed IP-set lock that stacks read.

    Fails closed: a failed, empty, private or retired answer never replaces the last good
    addresses. Exit 0: lock written or already current. 1: some hosts failed (nothing written
    unless --allow-partial) or, with --check, the lock is stale. 2: bad input.

    \b
    Examples:
      seawall resolve
      seawall resolve --check                     # a scheduled CI job
      seawall resolve --ip-ranges ip-ranges.json --ip-ranges-region eu-west-1
      seawall resolve --nameserver 192.0.2.53 --nameserver 192.0.2.54:5353
    """
    from seawall.resolve_command import ResolveRequest, run_resolve

    with user_errors():
        request = ResolveRequest(
            catalog_dir=catalog_dir,
            lock=lock,
            products=tuple(product or ()),
            nameservers=tuple(nameserver or ()),
            timeout=timeout,
            retries=retries,
            concurrency=concurrency,
            ip_ranges=ip_ranges,
            ip_ranges_services=tuple(ip_ranges_service or ()),
            ip_ranges_regions=tuple(ip_ranges_region or ()),
            check=check,
            max_change=max_change,
            force=force,
            allow_partial=allow_partial,
            allow_private=tuple(allow_private or ()),
            json_output=fmt is ViewFormat.json,
        )
        raise typer.Exit(run_resolve(request, err_console))


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
    from seawall.plan import plan_stack
    from seawall.policy import RULES, Resource, check_resources, parse_levels

    with user_errors():
        overrides = {}
        for item in level or []:
            rule, sep, value = item.partition("=")
            if not sep:
                raise UserError("--level", f"{item!r} is not RULE=LEVEL; rules: {', '.join(RULES)}")
            overrides[rule] = value
        plan = plan_stack(stack, stacks_dir, catalog_dir)
        settings = plan.compiled.config.settings
        levels = {**parse_levels(dict(settings.policy), "seawall:policy"), **parse_levels(overrides, "--level")}
        resources = [Resource(r.type, r.name, r.urn, r.inputs) for r in plan.resources]
        violations = check_resources(
            resources,
            plan.compiled.catalog,
            settings.internet_egress,
            levels,
            settings.quotas.aws.rules_per_security_group,
        )
        failed = any(v.level == "mandatory" for v in violations)
        if fmt is CheckFormat.json:
            write_json(
                {
                    "stack": stack,
                    "passed": not failed,
                    "violations": [
                        {"rule": v.rule, "level": v.level, "resource": v.resource, "urn": v.urn, "message": v.message}
                        for v in violations
                    ],
                }
            )
        elif fmt is CheckFormat.markdown:
            sys.stdout.write(f"#### seawall check: `{stack}`: {'passed' if not failed else 'FAILED'}\n\n")
            for v in violations:
                sys.stdout.write(f"- **{v.level}** `{v.rule}` `{v.resource}`: {v.message}\n")
            if not violations:
                sys.stdout.write(f"All {len(RULES)} rules pass.\n")
        else:
            out = Console(emoji=False, highlight=False, soft_wrap=True)
            for v in violations:
                out.print(f"{v.level:9} {v.rule}: {v.resource}: {v.message}", markup=False)
            out.print(
                f"{stack}: {'passed' if not failed else 'FAILED'} ({len(violations)} finding(s), {len(RULES)} rules)",
                markup=False,
            )
        raise typer.Exit(1 if failed else 0)


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
) -> None:
    """Which flows a change opens or closes, IP-set changes, replacements, and broadening first.

    Exit 0: no change. 1: changes. 3: --fail-on matched. 2: bad input.

    \b
    Example:
      seawall plan -s dmz-aws -f json > head.json; git stash; seawall plan -s dmz-aws -f json > base.json
      seawall diff base.json head.json --fail-on broadening
    """
    from seawall.diff import diff_json, diff_markdown, diff_plans, diff_text

    with user_errors():
        result = diff_plans(_read_plan(base), _read_plan(head))
        if fmt is DiffFormat.json:
            write_json(diff_json(result))
        elif fmt is DiffFormat.markdown:
            sys.stdout.write(diff_markdown(result))
        else:
            for line in diff_text(result):
                Console(emoji=False, highlight=False, soft_wrap=True).print(line, markup=False)
        if (fail_on is FailOn.any and result.changed) or (fail_on is FailOn.broadening and result.broadening):
            raise typer.Exit(3)
        raise typer.Exit(1 if result.changed else 0)


def _read_plan(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(str(path), f"not a seawall plan JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise UserError(str(path), "not a seawall plan JSON; valid: the output of seawall plan --format json")
    return data


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
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    fmt: Annotated[ViewFormat, typer.Option("--format", "-f")] = ViewFormat.table,
) -> None:
    """What the AWS account holds that the plan does not, and the reverse (read-only).

    Finds the stack's security groups and prefix lists by their seawall:stack tag and compares
    rules and entries by content. Exit 0 in sync, 1 on drift, 2 on errors (no credentials,
    access denied, unknown region). Throttling is retried in botocore's standard mode.

    \b
    Examples:
      seawall audit --stack dmz-aws
      seawall audit --stack dmz-aws --profile prod --format json
      seawall audit --stack dmz-aws --endpoint-url http://127.0.0.1:5000
    """
    from seawall.audit import run_audit

    with user_errors():
        code = run_audit(
            stack, stacks_dir, catalog_dir, region, endpoint_url, profile, fmt is ViewFormat.json, err_console
        )
        raise typer.Exit(code)


@app.command("priorities")
def priorities_command(
    stack: Annotated[list[str], typer.Option("--stack", "-s", help="Stack name (repeatable).")],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    write: Annotated[bool, typer.Option("--write", help="Write stacks/<stack>.priorities.json.")] = False,
) -> None:
    """Pin Azure NSG rule priorities so that no change ever renumbers an existing rule.

    Without --write, checks that each lock is current: exit 0 when it is, 1 when rules
    are unpinned or pinned rules are gone (run again with --write and commit the file).
    """
    from seawall.stack import compile_stack, priority_lock_path, render_azure_stack

    with user_errors():
        stale = []
        for name in stack:
            compiled = compile_stack(name, stacks_dir, catalog_dir)
            current = render_azure_stack(compiled).priorities()
            path = priority_lock_path(stacks_dir, name)
            text = json.dumps(current, indent=2, sort_keys=True) + "\n"
            if write:
                path.write_text(text, encoding="utf-8")
                err_console.print(f"wrote {path}", markup=False)
            elif not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
                err_console.print(f"{path}: stale; run seawall priorities --stack {name} --write", markup=False)
        raise typer.Exit(1 if stale else 0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
