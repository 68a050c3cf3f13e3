"""Install only your cloud: ``seawall[aws]``, ``seawall[azure]``, ``seawall[all]``.

The core (catalogue, flows, renderers, the CLI's pure commands) needs neither
cloud's SDK. A component, or a command, for a cloud whose extra is not installed
stops with one line naming the extra to install, never an ImportError traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import pulumi

from seawall.errors import UserError

ExtraName = Literal["aws", "azure"]

# The top-level modules each extra brings (pyproject.toml's optional-dependencies).
MODULES: dict[str, ExtraName] = {
    "pulumi_aws": "aws",
    "boto3": "aws",
    "botocore": "aws",
    "pulumi_azure_native": "azure",
    "azure": "azure",  # azure-mgmt-network, azure-identity, azure-core
}
_DISTRIBUTION = {
    "pulumi_aws": "pulumi-aws",
    "pulumi_azure_native": "pulumi-azure-native",
    "azure": "azure-mgmt-network",
}


class MissingExtra(UserError, ImportError, pulumi.RunError):
    """A cloud's extra is not installed: one line (exit 2 on the command line, no stack trace in Pulumi)."""

    def __init__(self, extra: ExtraName, module: str) -> None:
        self.extra = extra
        package = _DISTRIBUTION.get(module, module)
        super().__init__(
            f"seawall[{extra}] is not installed",
            f"{package} is missing; install it with: pip install 'seawall[{extra}]' (or seawall[all] for both clouds)",
        )


def missing_extra(exc: ModuleNotFoundError) -> MissingExtra | None:
    """The extra a missing module belongs to, as the error to raise; None for any other module."""
    top = (exc.name or "").split(".")[0]
    extra = MODULES.get(top)
    return MissingExtra(extra, top) if extra is not None else None


@contextmanager
def require_extra(extra: ExtraName) -> Iterator[None]:
    """Imports of one cloud's SDK: a missing one is :class:`MissingExtra`, naming ``seawall[<extra>]``."""
    try:
        yield
    except ModuleNotFoundError as exc:
        error = missing_extra(exc)
        if error is None or error.extra != extra:
            raise
        raise error from None
