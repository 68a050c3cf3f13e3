"""``seawall priorities``: pin Azure NSG rule priorities so that no change renumbers a rule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seawall.cli.common import CatalogDirOption, StacksDirOption, app, err_console, user_errors
from seawall.stack import compile_stack, priority_lock_path, priority_lock_text, render_azure_stack


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
    with user_errors():
        stale = []
        for name in stack:
            compiled = compile_stack(name, stacks_dir, catalog_dir)
            path = priority_lock_path(stacks_dir, name)
            text = priority_lock_text(render_azure_stack(compiled))
            if write:
                path.write_text(text, encoding="utf-8")
                err_console.print(f"wrote {path}", markup=False)
            elif not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
                err_console.print(f"{path}: stale; run seawall priorities --stack {name} --write", markup=False)
        raise typer.Exit(1 if stale else 0)
