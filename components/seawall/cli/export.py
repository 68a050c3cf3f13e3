"""``seawall export terraform``: the stack's rendered firewall as Terraform JSON, for Terraform and OpenTofu users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seawall.cli.common import CatalogDirOption, StacksDirOption, app, err_console, user_errors
from seawall.export.terraform import TerraformExport, check_export, export_terraform, write_export
from seawall.stack import compile_stack

export_app = typer.Typer(
    name="export",
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Export a stack's rendered firewall for another deployment engine.",
)
app.add_typer(export_app)


@export_app.command("terraform")
def terraform_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name, e.g. dmz-aws.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the export (created when missing).")],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    lock: Annotated[
        Path | None,
        typer.Option("--lock", help="IP-set lock to read (default: the one seawall plan reads for the stack)."),
    ] = None,
    module: Annotated[
        bool,
        typer.Option(
            "--module", help="A child module: no provider block, no region, no tfvars (the caller passes them)."
        ),
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 when the export in --out is not current.")
    ] = False,
) -> None:
    """Write the stack's firewall as Terraform JSON (*.tf.json), deterministic and sorted.

    The files are versions, providers, variables, main, outputs (.tf.json) and
    terraform.tfvars.json (--module leaves out providers and tfvars); nothing else in
    --out is touched. Resource names are the Pulumi logical names ('.' written as '_').
    With --check, exit 1 when a file is missing or differs, or when --out holds any other
    *.tf or *.tf.json file, which Terraform would load with the export (run it in CI to
    keep a committed export current and alone).

    \b
    Examples:
      seawall export terraform --stack dmz-aws --out infra/dmz-aws
      seawall export terraform --stack dmz-aws --out infra/dmz-aws --check
      seawall export terraform --stack dmz-azure --out modules/mail-firewall --module
    """
    with user_errors():
        export = export_terraform(compile_stack(stack, stacks_dir, catalog_dir, lock=lock), module=module)
        if check:
            again = f"seawall export terraform --stack {stack} --out {out}" + (" --module" if module else "")
            found = check_export(export, out)
            said = {
                "missing": f"missing; run {again}",
                "stale": f"stale; run {again}",
                "extra": f"stale, not part of this export; run {again} (it removes the file)",
                "foreign": (
                    "not written by seawall, yet Terraform loads it with the export and it could declare rules "
                    "of its own; move it out of --out (or keep your own Terraform in another module)"
                ),
            }
            for name, state in found:
                err_console.print(f"{out / name}: {said[state]}", markup=False)
            raise typer.Exit(1 if found else 0)
        changed = write_export(export, out)
        parts = []
        if wrote := [n for n in changed if n in export.files]:
            parts.append(f"wrote {', '.join(wrote)}")
        if removed := [n for n in changed if n not in export.files]:
            parts.append(f"removed {', '.join(removed)}")
        what = "; ".join(parts) or "unchanged"
        err_console.print(f"{out}: {what} ({export.cloud}, {_count(export)} resources)", markup=False)


def _count(export: TerraformExport) -> int:
    return sum(len(bodies) for bodies in export.resources.values())
