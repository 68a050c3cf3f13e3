"""``seawall priorities``: pin Azure NSG rule priorities so that no change renumbers a rule."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from seawall.cli.common import CatalogDirOption, StacksDirOption, app, err_console, user_errors
from seawall.errors import UserError
from seawall.stack import compile_stack, priority_lock_path, priority_lock_text, render_azure_stack, shipped_stacks
from seawall.stackconfig import load_stack_config


@app.command("priorities")
def priorities_command(
    stack: Annotated[list[str], typer.Option("--stack", "-s", help="An Azure stack name (repeatable).")],
    stacks_dir: StacksDirOption = Path("stacks"),
    catalog_dir: CatalogDirOption = None,
    write: Annotated[bool, typer.Option("--write", help="Write stacks/<stack>.priorities.json.")] = False,
) -> None:
    """Pin Azure NSG rule priorities so that no change ever renumbers an existing rule.

    Without --write, checks that each lock is current: exit 0 when it is, 1 when rules
    are unpinned or pinned rules are gone (run again with --write and commit the file).
    Either way it says how many rules are pinned per role and direction. AWS security
    groups have no priorities: an AWS stack is an error (exit 2, nothing written).
    """
    with user_errors():
        # Every stack compiles before any file is written: an error leaves nothing half done.
        compiled = {name: compile_stack(name, stacks_dir, catalog_dir) for name in stack}
        for name, one in compiled.items():
            if one.config.settings.cloud != "azure":
                raise _not_azure(name, stacks_dir)
        specs = {name: render_azure_stack(one) for name, one in compiled.items()}
        stale = []
        for name, spec in specs.items():
            path = priority_lock_path(stacks_dir, name)
            text = priority_lock_text(spec)
            pinned = pinned_text(spec.priorities())
            if write:
                _write_whole(path, text)
                err_console.print(f"wrote {path}: {pinned}", markup=False)
            elif not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
                state = "stale" if path.is_file() else "missing"
                err_console.print(
                    f"{path}: {state}; it should pin {rules_text(spec.priorities())}; "
                    f"run seawall priorities --stack {name} --write",
                    markup=False,
                )
            else:
                err_console.print(f"{path} is current: {pinned}", markup=False)
        raise typer.Exit(1 if stale else 0)


def _not_azure(name: str, stacks_dir: Path) -> UserError:
    azure = []
    for other in shipped_stacks(stacks_dir):
        try:
            if load_stack_config(other, stacks_dir).settings.cloud == "azure":
                azure.append(other)
        except UserError:
            continue  # a broken neighbour is its own problem, not this one's
    return UserError(
        f"--stack {name}",
        "an AWS stack: AWS security-group rules have no priorities, so there is nothing to pin; "
        f"valid: an Azure stack ({', '.join(azure) or f'none in {stacks_dir}'})",
    )


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it: never half-written."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def pinned_text(priorities: Mapping[str, Mapping[str, Mapping[str, int]]]) -> str:
    """``12 rules pinned (gateway: 5 inbound, 7 outbound)``: what a priority lock holds, per role and direction."""
    count, _, roles = rules_text(priorities).partition(" (")
    return f"{count} pinned" + (f" ({roles}" if roles else "")


def rules_text(priorities: Mapping[str, Mapping[str, Mapping[str, int]]]) -> str:
    """``12 rules (gateway: 5 inbound, 7 outbound)``: how many rules, per role and direction."""
    total = sum(len(names) for directions in priorities.values() for names in directions.values())
    roles = "; ".join(
        f"{role}: " + ", ".join(f"{len(names)} {direction.lower()}" for direction, names in sorted(directions.items()))
        for role, directions in sorted(priorities.items())
    )
    return f"{total} rule{'s' if total != 1 else ''}" + (f" ({roles})" if roles else "")
