"""The ``seawall`` command line: one module per command, each the same shape.

A command parses its options, calls the library, hands the result to a view in
``seawall.report`` and sets the exit code; it holds no logic of its own. Every
command exits 0 on success, 2 on a user error (one line on stderr naming the
file:line or config key, no traceback, nothing written); commands that compare
things document their own 1 and 3.
"""

from __future__ import annotations

import gc
import sys
from importlib import import_module
from typing import Annotated, Any

import typer

from seawall.cli import common
from seawall.cli.common import app as _app

# Command name -> module, in the order of `seawall --help`. Importing a module registers its command,
# and each imports the library it drives (pulumi, dnspython, boto3, rich ...): so `seawall plan` imports
# only cli/plan.py, and every command is registered when the command line names none (help, completion).
COMMANDS = {
    "catalog": "catalog",
    "schema": "schema",
    "flows": "flows",
    "render": "render",
    "query": "query",
    "plan": "plan",
    "resolve": "resolve",
    "check": "check",
    "conformance": "conformance",
    "diff": "diff",
    "audit": "audit",
    "priorities": "priorities",
    "export": "export",
}


def register(argv: list[str] | None = None) -> typer.Typer:
    """Register the command ``argv`` names (its first word that is not an option), or every command."""
    named = next((word for word in argv or [] if not word.startswith("-")), None)
    for module in [COMMANDS[named]] if named in COMMANDS else COMMANDS.values():
        import_module(f"seawall.cli.{module}")
    return _app


def __getattr__(name: str) -> Any:
    if name == "app":  # `from seawall.cli import app` (tests, completion): the whole command line
        return register()
    raise AttributeError(f"module 'seawall.cli' has no attribute {name!r}")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"seawall {version('seawall')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("seawall (version unknown: not installed; pip install -e .)")
        raise typer.Exit()


@_app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print seawall's version and exit."),
    ] = False,
) -> None:
    # No docstring: the app's help stays the one given to the Typer app.
    pass


def main() -> None:
    """The ``seawall`` process: one command, then exit.

    Python's cyclic collector is paused while the command and the libraries it drives are
    imported (importing a provider SDK builds a million objects, and the collector walked
    them over and over, finding nothing: ~100 ms of a cold plan), then what was imported is
    frozen (never walked again) and collection resumes for the command's own work, less often
    than Python's default (:data:`seawall.cli.common.WORK_COLLECTION`). At the
    end everything is frozen once more, so the exit skips a last walk over the whole heap
    that frees nothing a finished process needs (~150 ms). A command that imports more
    while it works imports it first with :func:`seawall.cli.common.import_for_work`
    (``seawall plan`` imports its cloud's provider SDK that way). bench/plan gives its floor the same policy.
    """
    common.WHOLE_PROCESS = True
    gc.disable()
    try:
        command = register(sys.argv[1:])
        gc.freeze()
        common.collect_for_work()
        gc.enable()
        command()
    finally:
        gc.disable()
        gc.freeze()


__all__ = ["app", "main"]
