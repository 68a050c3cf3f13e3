"""The ``seawall`` command line: one module per command, each the same shape.

A command parses its options, calls the library, hands the result to a view in
``seawall.report`` and sets the exit code; it holds no logic of its own. Every
command exits 0 on success, 2 on a user error (one line on stderr naming the
file:line or config key, no traceback, nothing written); commands that compare
things document their own 1 and 3.
"""

from __future__ import annotations

from typing import Annotated

import typer

# Importing a command module registers it; the order here is the order of `seawall --help`.
# isort: off
from seawall.cli import (  # noqa: F401
    catalog,
    schema,
    flows,
    render,
    query,
    plan,
    resolve,
    check,
    conformance,
    diff,
    audit,
    priorities,
    export,
)

# isort: on
from seawall.cli.common import app


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"seawall {version('seawall')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("seawall (version unknown: not installed; pip install -e .)")
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print seawall's version and exit."),
    ] = False,
) -> None:
    # No docstring: the app's help stays the one given to the Typer app.
    pass


def main() -> None:
    app()


__all__ = ["app", "main"]
