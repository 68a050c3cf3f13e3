"""``python -m seawall.cli``: the same as the ``seawall`` command."""

from seawall.cli import main

main()
