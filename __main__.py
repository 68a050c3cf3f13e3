"""The component package's entry point (PulumiPlugin.yaml): host seawall's components for the Pulumi engine.

The SDK's provider host serves seawall's provider, whose ``Construct`` validates the
inputs as the engine sends them and reports a bad one as one line naming it.
"""

import sys

from seawall.provider import serve

if __name__ == "__main__":
    serve(sys.argv[1:])
