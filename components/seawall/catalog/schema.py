"""The JSON Schema of a catalogue file, generated from the model.

``catalog/catalog.schema.json`` is this function's output; a test fails when the
committed file is stale. Editors that understand JSON Schema (VS Code's YAML
extension, for one) can validate catalogue files as they are typed.
"""

from __future__ import annotations

import json
from typing import Any

from seawall.catalog.model import ProductCatalog
from seawall.records import json_schema

SCHEMA_ID = "https://seawall.dev/schema/catalog.schema.json"


def catalog_schema() -> dict[str, Any]:
    schema = json_schema(ProductCatalog)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def catalog_schema_text() -> str:
    return json.dumps(catalog_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
