"""seawall as a Pulumi component package, for every Pulumi language.

``PulumiPlugin.yaml`` (Python runtime) and ``__main__.py`` at the repository root
make the repository a source-based component package: ``pulumi package add
<repository or path>`` generates an SDK for TypeScript, Go, C#, Java or YAML, whose
calls reach these components through Pulumi's component host
(``component_provider_host``), which builds them with :func:`component_provider`'s
analysis.

``Construct`` goes through :class:`SeawallProvider`: the inputs reach the component as
the engine sent them (camelCase), so that the component's own validation
(:func:`seawall.components.read_intent`) judges them in the wire's spelling, refuses
unknown keys instead of dropping them, and an error reaches the engine as the SDK's
:class:`pulumi.InputPropertyError`: one line naming the property, no Python traceback.

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
    """The provider the package runs (its ``construct`` builds a component from the engine's inputs)."""
    from pulumi.provider.experimental.component import ComponentProvider
    from pulumi.provider.provider import ConstructResult

    # The cloud-name prefixes each program (project, stack) has taken: one Construct call per component,
    # each with a monitor of its own, so the provider remembers them across calls.
    taken: dict[tuple[str, str], dict[tuple[str, str], str]] = {}

    class SeawallProvider(ComponentProvider):
        """Pulumi's component provider, except that seawall validates the inputs itself, as sent.

        The SDK's own mapping drops keys the schema does not know (``namePrefx``, a peer's
        ``cidr``) and wraps every error in a traceback; here the component sees every key,
        and its errors become :class:`pulumi.InputPropertyError`.
        """

        def construct(self, name: str, resource_type: str, inputs: Any, options: Any = None) -> ConstructResult:
            import pulumi
            from pulumi import InputPropertyError

            from seawall.components import HOSTED_PREFIXES, WIRE, FirewallArgsError

            self.validate_resource_type(self._name, resource_type)
            kind = resource_type.rsplit(":", maxsplit=1)[-1]
            token = WIRE.set(True)
            claims = HOSTED_PREFIXES.set(taken.setdefault((pulumi.get_project(), pulumi.get_stack()), {}))
            try:
                component: Any = self._components[kind]  # (name, args, opts), as every seawall component
                instance = component(name, dict(inputs), options)
            except FirewallArgsError as exc:
                raise exc.for_engine() from None
            except InputPropertyError:
                raise
            finally:
                HOSTED_PREFIXES.reset(claims)
                WIRE.reset(token)
            return ConstructResult(instance.urn, self.get_state(instance, self._component_defs[kind]))

    return SeawallProvider(components(), PACKAGE, version=version())


def serve(args: list[str]) -> None:
    """Run the package as a provider plugin: what ``__main__.py`` does when the engine starts it.

    The SDK's provider host (:func:`pulumi.provider.main`) serves :func:`component_provider`'s
    provider over gRPC; ``is_hosting`` is set as Pulumi's component host sets it.
    """
    from pulumi.provider import main
    from pulumi.provider.experimental import host

    host.is_hosting = True
    main(component_provider(), args)


def package_schema() -> dict[str, Any]:
    """The package schema, from the components' annotations, by the SDK's own analyzer."""
    schema = component_provider().schema
    assert schema is not None
    data: dict[str, Any] = json.loads(schema)
    return data


def schema_text() -> str:
    """The schema as committed: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(package_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
