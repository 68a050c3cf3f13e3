"""seawall as a Pulumi component package, for every Pulumi language.

``PulumiPlugin.yaml`` (Python runtime) and ``__main__.py`` at the repository root
make the repository a source-based component package: ``pulumi package add
<repository or path>`` generates an SDK for TypeScript, Go, C#, Java or YAML, whose
calls reach these components through Pulumi's component host
(``component_provider_host``), which builds them with :func:`component_provider`'s
analysis.

The package schema is what Pulumi's own analyzer reads from the components'
annotations and docstrings (:func:`package_schema`, no Pulumi CLI needed). It is
committed as ``schema/seawall.schema.json`` (``seawall schema --components``
prints it) so that a pull request shows every change to the API; a test fails
when the committed copy is stale.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi import ComponentResource
    from pulumi.provider.experimental.component import ComponentProvider

PACKAGE = "seawall"
SCHEMA_FILE = "schema/seawall.schema.json"  # relative to the repository root


def components() -> list[type[ComponentResource]]:
    """The components the package offers: ``seawall:index:AwsFirewall``, ``…:AzureFirewall``, ``…:VendorPrefixList``."""
    from seawall.aws.component import AwsFirewall, VendorPrefixList
    from seawall.azure.component import AzureFirewall

    return [AwsFirewall, AzureFirewall, VendorPrefixList]


def version() -> str:
    from seawall import __version__

    return __version__


def component_provider() -> ComponentProvider:
    """The provider the package runs, as Pulumi's component host builds it (its ``construct`` builds a component)."""
    from pulumi.provider.experimental.component import ComponentProvider

    return ComponentProvider(components(), PACKAGE, version=version())


def package_schema() -> dict[str, Any]:
    """The package schema, from the components' annotations, by the SDK's own analyzer."""
    schema = component_provider().schema
    assert schema is not None
    data: dict[str, Any] = json.loads(schema)
    return data


def schema_text() -> str:
    """The schema as committed: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(package_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
