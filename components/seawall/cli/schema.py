"""``seawall schema``: the JSON Schema of a catalogue file."""

from __future__ import annotations

import sys

from seawall.catalog.schema import catalog_schema_text
from seawall.cli.common import app


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of a catalogue file (committed as catalog/catalog.schema.json)."""
    sys.stdout.write(catalog_schema_text())
