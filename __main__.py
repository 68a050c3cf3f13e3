"""The component package's entry point (PulumiPlugin.yaml): host seawall's components for the Pulumi engine."""

from pulumi.provider.experimental import component_provider_host
from seawall import __version__
from seawall.provider import PACKAGE, components

if __name__ == "__main__":
    component_provider_host(components(), PACKAGE, version=__version__)
