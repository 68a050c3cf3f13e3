"""The seawall Pulumi program (Pulumi.yaml: main: stacks/).

Config comes from stacks/Pulumi.<stack>.yaml; everything else is the library.
"""

from pathlib import Path

from seawall.preview.program import run

run(Path(__file__).resolve().parent)
