"""What every command shares: the Typer app, one-line errors, the common options and output helpers."""

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


def write_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_lines(lines: list[str]) -> None:
    """Plain lines on stdout, never wrapped or marked up."""
    out = Console(emoji=False, highlight=False, soft_wrap=True)
    for line in lines:
        out.print(line, markup=False)


class Lang(StrEnum):
    en = "en"
    ja = "ja"


class Cloud(StrEnum):
    aws = "aws"
    azure = "azure"
    both = "both"

    def expand(self) -> list[Cloud]:
        return [Cloud.aws, Cloud.azure] if self is Cloud.both else [self]


class ViewFormat(StrEnum):
    table = "table"
    json = "json"


CatalogDirOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Catalogue directory (default: the catalogue shipped with seawall).", show_default=False
    ),
]
StacksDirOption = Annotated[
    Path,
    typer.Option("--stacks-dir", help="Directory holding Pulumi.<stack>.yaml files."),
]
