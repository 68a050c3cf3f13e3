"""``seawall schema``: the JSON Schema of a catalogue file, or the component package's Pulumi schema."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from seawall.cli.common import app


@app.command("schema")
def schema_command(
    components: Annotated[
        bool,
        typer.Option(
            "--components",
            help="Print the Pulumi package schema of the components instead (committed as schema/seawall.schema.json).",
        ),
    ] = False,
) -> None:
    """Print the JSON Schema of a catalogue file (committed as catalog/catalog.schema.json).

    With --components, print the Pulumi package schema that `pulumi package add` turns into an SDK
    for every language, as Pulumi's analyzer reads it from the components (no Pulumi CLI needed).
    """
    if components:
        from seawall.provider import schema_text

        sys.stdout.write(schema_text())
        return
    from seawall.catalog.schema import catalog_schema_text

    sys.stdout.write(catalog_schema_text())
