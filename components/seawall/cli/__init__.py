"""The ``seawall`` command line: one module per command, each the same shape.

A command parses its options, calls the library, hands the result to a view in
``seawall.report`` and sets the exit code; it holds no logic of its own. Every
command exits 0 on success, 2 on a user error (one line on stderr naming the
file:line or config key, no traceback, nothing written); commands that compare
things document their own 1 and 3.
"""

from __future__ import annotations

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
    diff,
    audit,
    priorities,
)

# isort: on
from seawall.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
